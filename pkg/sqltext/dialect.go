package sqltext

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Dialect turns on the gate's MySQL-to-MariaDB mapping and records what it
// changed. The mapping applies only to a dump whose header says it comes
// from MySQL (see Source) loaded into MariaDB, and only to what MariaDB
// cannot run as MySQL would have: it is a stage of the gate, before the
// checks, and every statement it rewrites is then checked like any other.
// See docs/mysql.md for the table of constructs.
//
// A Dialect records one dump: give each load its own. It is not safe for
// concurrent use; read it once the gate is done.
type Dialect struct {
	// Strict maps nothing: a MySQL dump that needs mapping is refused at
	// the first statement that does.
	Strict bool

	source  Source
	mysql   bool
	changes []Change
}

// Change is one kind of change the mapping made, and how often.
type Change struct {
	Action string // "mapped" or "dropped"
	What   string // "collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci", "GTID_PURGED", ...
	N      int
}

// String reads "mapped 12 collations utf8mb4_0900_ai_ci ->
// utf8mb4_uca1400_nopad_ai_ci" or "dropped 1 GTID_PURGED".
func (c Change) String() string { return fmt.Sprintf("%s %d %s", c.Action, c.N, c.What) }

// Changes returns what the mapping changed, in the order first met; none
// for a dump that needed nothing, or that is not MySQL's.
func (d *Dialect) Changes() []Change { return append([]Change(nil), d.changes...) }

// Source returns where the dump says it comes from, once the gate has
// read its first statement.
func (d *Dialect) Source() Source { return d.source }

// Mapped reports whether the dump was read as MySQL's (its header says so
// and the server is MariaDB).
func (d *Dialect) Mapped() bool { return d.mysql }

func (d *Dialect) count(action, what string) {
	for i := range d.changes {
		if d.changes[i].Action == action && d.changes[i].What == what {
			d.changes[i].N++
			return
		}
	}
	d.changes = append(d.changes, Change{Action: action, What: what, N: 1})
}

// The statements of a MySQL dump that describe the source server, not the
// data: its GTID state (written by mysqldump's --set-gtid-purged=AUTO/ON,
// on one line or over several) and the binary log switch around it.
var (
	gtidPurged = regexp.MustCompile(`(?i)^SET\s+@@GLOBAL\s*\.\s*GTID_PURGED\s*=\s*(?:/\*!80000\s*'\+'\s*\*/\s*)?'[0-9a-f:,\-\s]*'$`)
	logBinSave = regexp.MustCompile(`(?i)^SET\s+@MYSQLDUMP_TEMP_LOG_BIN\s*=\s*@@SESSION\s*\.\s*SQL_LOG_BIN$`)
	logBinSet  = regexp.MustCompile(`(?i)^SET\s+@@SESSION\s*\.\s*SQL_LOG_BIN\s*=\s*(?:0|@MYSQLDUMP_TEMP_LOG_BIN)$`)
)

// edit replaces stmt[s:e] with text.
type edit struct {
	s, e int
	text string
}

// mapMySQL is the mapping stage: it returns the statement to check (stmt
// itself when nothing changed), or drop when the statement is not to run
// at all.
func (g *Gate) mapMySQL(stmt []byte) (out []byte, drop string, r *refusal) {
	d := g.dialect
	if hasPrefixFold(stmt, "INSERT") || hasPrefixFold(stmt, "REPLACE") {
		// Rows: nothing of MySQL's dialect that MariaDB reads differently
		// is in what the dump programs write there, and the gate reads
		// every byte of them.
		return stmt, "", nil
	}
	if hasPrefixFold(stmt, "SET") && len(stmt) < 1<<20 {
		switch {
		case gtidPurged.Match(stmt):
			if d.Strict {
				return nil, "", g.strict("MySQL's GTID state (SET @@GLOBAL.GTID_PURGED)")
			}
			d.count("dropped", "GTID_PURGED")
			return nil, "GTID_PURGED", nil
		case !d.Strict && (logBinSave.Match(stmt) || logBinSet.Match(stmt)):
			d.count("dropped", "SQL_LOG_BIN")
			return nil, "SQL_LOG_BIN", nil
		}
	}
	var edits []edit
	set := hasPrefixFold(stmt, "SET")
	b := stmt
	for i := 0; i < len(b); {
		c := b[i]
		switch {
		case c == '\'' || c == '"':
			e, ok := stringEnd(b, i)
			if !ok {
				return stmt, "", nil // the gate says what is wrong
			}
			if set && e-i > 2 {
				if to, ok, r := g.collation(string(b[i+1 : e-1])); r != nil {
					return nil, "", r
				} else if ok {
					edits = append(edits, edit{i + 1, e - 1, to})
				}
			}
			i = e
		case c == '`':
			k := bytes.IndexByte(b[i+1:], '`')
			if k < 0 {
				return stmt, "", nil
			}
			i += k + 2
		case c == '#' || (c == '-' && i+1 < len(b) && b[i+1] == '-' && (i+2 == len(b) || isCommentDash(b[i+2]))):
			k := bytes.IndexByte(b[i:], '\n')
			if k < 0 {
				k = len(b) - i
			}
			i += k
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			next, e, r := g.mapComment(b, i)
			if r != nil {
				return nil, "", r
			}
			if e != nil {
				edits = append(edits, *e)
			}
			i = next
		case isWordByte(c):
			j := i
			for j < len(b) && isWordByte(b[j]) {
				j++
			}
			if j-i > 10 && bytes.Contains(b[i:j], []byte("0900")) {
				to, ok, r := g.collation(string(b[i:j]))
				if r != nil {
					return nil, "", r
				}
				if ok {
					edits = append(edits, edit{i, j, to})
				}
			}
			i = j
		default:
			i++
		}
	}
	if len(edits) == 0 {
		return stmt, "", nil
	}
	out = make([]byte, 0, len(stmt)+16*len(edits))
	at := 0
	for _, e := range edits {
		out = append(append(out, stmt[at:e.s]...), e.text...)
		at = e.e
	}
	return append(out, stmt[at:]...), "", nil
}

// mapComment reads the comment at b[i] ("/*"). It returns where to go on:
// into the comment when MariaDB runs its text (which may hold collations
// to map), past it when not. A MySQL conditional comment that MySQL ran
// and MariaDB skips is judged by its text: dropped when harmless, run
// when MariaDB has the same clause, refused otherwise.
func (g *Gate) mapComment(b []byte, i int) (next int, e *edit, r *refusal) {
	j := i + 2
	maria := false
	if j+1 < len(b) && b[j] == 'M' && b[j+1] == '!' {
		maria = true
		j++
	}
	end := func() int {
		k := bytes.Index(b[i+2:], []byte("*/"))
		if k < 0 {
			return len(b)
		}
		return i + 2 + k + 2
	}
	if j >= len(b) || b[j] != '!' {
		return end(), nil, nil
	}
	j++
	ds := j
	for j < len(b) && j-ds < 6 && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j-ds < 5 {
		return j, nil, nil // runs whatever the version
	}
	n, _ := strconv.Atoi(string(b[ds:j]))
	if g.ver.runs(n, maria) {
		return j, nil, nil
	}
	src, _ := g.dialect.source.Version()
	if maria || j-ds != 5 || n > src.N {
		// MySQL skipped it too (or it is MariaDB's own).
		return end(), nil, nil
	}
	stop := end()
	body := b[j:max(j, stop-2)]
	norm := strings.ToUpper(strings.Join(strings.Fields(string(body)), " "))
	what := fmt.Sprintf("/*!%05d %s */", n, norm)
	switch {
	case norm == "DEFAULT ENCRYPTION='N'" || norm == "ENCRYPTION='N'":
		if g.dialect.Strict {
			return 0, nil, g.strict(what)
		}
		g.dialect.count("dropped", "ENCRYPTION='N'")
		return stop, nil, nil
	case strings.HasPrefix(norm, "ANALYZE TABLE ") && strings.Contains(norm, " UPDATE HISTOGRAM ON "):
		if g.dialect.Strict {
			return 0, nil, g.strict(what)
		}
		g.dialect.count("dropped", "column statistics (ANALYZE TABLE ... UPDATE HISTOGRAM)")
		return stop, nil, nil
	case n == 80023 && norm == "INVISIBLE":
		if g.dialect.Strict {
			return 0, nil, g.strict(what)
		}
		g.dialect.count("mapped", "invisible columns /*!80023 INVISIBLE */ -> INVISIBLE")
		return stop, &edit{i, stop, " INVISIBLE "}, nil
	case n == 80000 && norm == "INVISIBLE" && g.ver.N >= 100600:
		if g.dialect.Strict {
			return 0, nil, g.strict(what)
		}
		g.dialect.count("mapped", "invisible indexes /*!80000 INVISIBLE */ -> IGNORED")
		return stop, &edit{i, stop, " IGNORED "}, nil
	}
	if len(what) > 70 {
		what = what[:60] + "... */"
	}
	return 0, nil, &refusal{kind: "MySQL dialect", reason: fmt.Sprintf(
		"%s ran %s, which MariaDB skips, and the restore has no safe equivalent for it (see docs/mysql.md)",
		g.dialect.source, what)}
}

// strict refuses something the mapping would have changed.
func (g *Gate) strict(what string) *refusal {
	return &refusal{kind: "MySQL dialect", reason: fmt.Sprintf("%s: MariaDB cannot run it as MySQL did, and strict mode maps nothing", what)}
}

// collation maps a MySQL 8 collation (utf8mb4_0900_ai_ci,
// utf8mb4_de_pb_0900_as_cs, ...) that the server lacks to the nearest it
// has. ok is false for any other name, and for one the server has.
func (g *Gate) collation(name string) (to string, ok bool, r *refusal) {
	lower := strings.ToLower(name)
	rest, ok := strings.CutPrefix(lower, "utf8mb4_")
	if !ok || len(lower) > 64 {
		return "", false, nil
	}
	lang, suffix, has := strings.Cut(rest, "0900_")
	if !has || (lang != "" && !strings.HasSuffix(lang, "_")) {
		return "", false, nil
	}
	lang = strings.TrimSuffix(lang, "_")
	if g.collations[lower] {
		// The server has it by that name (MariaDB 11.4.5 on): loaded as
		// written, as the mariadb client's load would.
		return "", false, nil
	}
	cands, note := collationCandidates(lang, suffix)
	if cands == nil {
		return "", false, &refusal{kind: "MySQL dialect", reason: fmt.Sprintf("collation %s: not one the restore can map", lower)}
	}
	if g.dialect.Strict {
		return "", false, g.strict("collation " + lower)
	}
	for _, c := range cands {
		if g.collations == nil || g.collations[c] {
			g.dialect.count("mapped", "collations "+lower+" -> "+c+note)
			return c, true, nil
		}
	}
	return "", false, &refusal{kind: "MySQL dialect", reason: fmt.Sprintf("collation %s: the server has none of %s", lower, strings.Join(cands, ", "))}
}

// mariaLanguages are MariaDB's UCA 14.0 tailorings of MySQL's 0900
// language codes, as MariaDB 11.4.5 aliases them.
var mariaLanguages = map[string]string{
	"de_pb": "german2", "is": "icelandic", "lv": "latvian", "ro": "romanian", "sl": "slovenian",
	"pl": "polish", "et": "estonian", "es": "spanish", "es_trad": "spanish2", "sv": "swedish",
	"tr": "turkish", "cs": "czech", "da": "danish", "lt": "lithuanian", "sk": "slovak",
	"la": "roman", "eo": "esperanto", "hu": "hungarian", "hr": "croatian", "vi": "vietnamese",
}

// mysqlOnlyLanguages are MySQL's 0900 tailorings MariaDB has none of: they
// get the root order.
var mysqlOnlyLanguages = wordSet("ja zh ru bs bg gl mn nb nn sr_latn yo")

// collationCandidates lists MariaDB collations for a MySQL 0900 one, best
// first: the NO PAD UCA 14.0 collation (MariaDB 10.10 on; 0900 collations
// are NO PAD), then the NO PAD UCA 5.2 or binary one of older servers.
// note says when the language's own order is lost.
func collationCandidates(lang, suffix string) (cands []string, note string) {
	var strength, old string
	switch suffix {
	case "ai_ci":
		strength, old = "ai_ci", "utf8mb4_unicode_520_nopad_ci"
	case "as_ci":
		strength, old = "as_ci", "utf8mb4_unicode_520_nopad_ci"
	case "as_cs", "as_cs_ks":
		strength, old = "as_cs", "utf8mb4_nopad_bin"
	case "bin":
		if lang != "" {
			return nil, ""
		}
		return []string{"utf8mb4_nopad_bin"}, ""
	default:
		return nil, ""
	}
	root := "utf8mb4_uca1400_nopad_" + strength
	switch {
	case lang == "":
		return []string{root, old}, ""
	case mariaLanguages[lang] != "":
		return []string{"utf8mb4_uca1400_" + mariaLanguages[lang] + "_nopad_" + strength, root, old}, ""
	case mysqlOnlyLanguages[lang]:
		return []string{root, old}, " (no " + lang + " order in MariaDB)"
	}
	return nil, ""
}

// hasPrefixFold reports whether b starts with the word w, in any case.
func hasPrefixFold(b []byte, w string) bool {
	return len(b) > len(w) && bytes.EqualFold(b[:len(w)], []byte(w)) && !isWordByte(b[len(w)])
}

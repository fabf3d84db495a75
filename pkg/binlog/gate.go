package binlog

import (
	"errors"
	"fmt"
	"strings"

	"github.com/backupd/backupd/pkg/sqltext"
)

// action is what replay does with a statement of the log.
type action int

const (
	run      action = iota // replayed
	skip                   // not replayed: it changes nothing of the database's content
	refuse                 // replay stops before its transaction
	begin                  // BEGIN, START TRANSACTION
	commit                 // COMMIT
	rollback               // ROLLBACK
)

// judgement is the gate's decision on one statement.
type judgement struct {
	act    action
	kind   string // "insert", "create table", "grant", ...
	reason string // why it is skipped or refused
	text   []byte // the statement to run: DEFINER clauses taken out
}

// statementGate decides which statements of QUERY events run.
type statementGate struct {
	own string // the recovered database, as the source server names it
	// foreign reports names that must not qualify anything in a
	// statement that runs: the target server's other databases, the
	// system databases, and the source's name when the target's differs.
	foreign func(string) bool
	// foreignNames are the names foreign reports, for the backup gate's
	// rules (the system databases are foreign to it always).
	foreignNames []string
}

// programKinds are the stored programs: their text may hold a compound
// body, whose ";"s the backup gate's rules read.
var programKinds = map[string]bool{"create procedure": true, "create function": true, "create trigger": true, "create event": true}

// definitionKinds are the other statements held to the backup gate's
// rules for definitions.
var definitionKinds = map[string]bool{"create view": true, "create table": true, "alter table": true}

// judge decides on q, read with the session's sql_mode.
func (g statementGate) judge(q Query, sqlMode uint64) judgement {
	toks, ok := lex(q.Text, sqlMode)
	if !ok {
		return judgement{act: refuse, kind: "statement", reason: "it cannot be read safely (an unclosed quote or comment, or a comment inside a conditional comment)"}
	}
	if len(toks) == 0 {
		return judgement{act: skip, kind: "comment"}
	}
	if j, ok := control(toks); ok {
		return j
	}
	namesOwn := false
	for _, n := range qualifiers(toks) {
		if strings.EqualFold(n, g.own) {
			namesOwn = true
		}
	}
	switch {
	case q.DB == g.own:
	case strings.EqualFold(q.DB, g.own):
		return judgement{act: refuse, kind: "statement", reason: fmt.Sprintf("it runs in database %s, which differs from %s only in case", sqltext.Ident(q.DB), sqltext.Ident(g.own))}
	case !namesOwn:
		return judgement{act: skip, kind: "statement", reason: "it is another database's (" + dbName(q.DB) + ")"}
	case q.DB != "":
		return judgement{act: refuse, kind: "statement", reason: fmt.Sprintf("it runs in database %s and names %s", sqltext.Ident(q.DB), sqltext.Ident(g.own))}
	}
	// A statement that runs, or one the gate skips as harmless.
	j := classify(toks)
	if j.act != run {
		return j
	}
	if q.Code != 0 {
		return judgement{act: refuse, kind: j.kind, reason: fmt.Sprintf("it failed on the server with error %d", q.Code)}
	}
	for _, n := range qualifiers(toks) {
		if g.foreign(n) {
			return judgement{act: refuse, kind: j.kind, reason: "it names database " + sqltext.Ident(n) + ", not the one recovered"}
		}
	}
	for _, t := range toks {
		if t.kind != tokWord {
			continue
		}
		if why, ok := deniedWords[strings.ToUpper(t.text)]; ok {
			return judgement{act: refuse, kind: j.kind, reason: fmt.Sprintf("%s: %s", strings.ToUpper(t.text), why)}
		}
	}
	if q.hasCharset && !clientCharset(q.Charset) {
		return judgement{act: refuse, kind: j.kind, reason: fmt.Sprintf("it was written in character set number %d, in which a quote or backslash can end a character: the gate does not read it as the server does", q.Charset)}
	}
	program := programKinds[j.kind]
	if p := clientProblem(q.Text, sqlMode, program); p != "" {
		return judgement{act: refuse, kind: j.kind, reason: p}
	}
	if program || definitionKinds[j.kind] {
		// The backup gate's rules for definitions and bodies: the object
		// runs later, as whoever its definer becomes.
		if _, err := sqltext.CheckDefinition(q.Text, g.own, sqltext.GateOptions{Foreign: g.foreignNames}); err != nil {
			var re *sqltext.RefusedError
			reason := err.Error()
			if errors.As(err, &re) {
				reason = re.Reason
			}
			return judgement{act: refuse, kind: j.kind, reason: reason}
		}
	}
	j.text = q.Text
	if strings.HasPrefix(j.kind, "create ") || strings.HasPrefix(j.kind, "alter ") {
		j.text = []byte(sqltext.StripDefiner(string(q.Text)))
		// An object made to run as another account is refused when its
		// DEFINER could not be taken out (ALTER ... DEFINER=, a form
		// StripDefiner does not know).
		if left, ok := lex(j.text, sqlMode); !ok || hasDefiner(left) {
			return judgement{act: refuse, kind: j.kind, reason: "it names a DEFINER replay cannot take out"}
		}
	}
	return j
}

func dbName(db string) string {
	if db == "" {
		return "no database"
	}
	return "database " + sqltext.Ident(db)
}

func word(toks []token, i int) string {
	if i < len(toks) && toks[i].kind == tokWord {
		return strings.ToUpper(toks[i].text)
	}
	return ""
}

// control recognises transaction control.
func control(toks []token) (judgement, bool) {
	w0, w1 := word(toks, 0), word(toks, 1)
	only := func(n int) bool {
		// Words after n may only be WORK or a ';'.
		for _, t := range toks[n:] {
			if !(t.kind == tokPunct && t.text == ";" || t.kind == tokWord && strings.EqualFold(t.text, "WORK")) {
				return false
			}
		}
		return true
	}
	switch {
	case w0 == "BEGIN" && only(1), w0 == "START" && w1 == "TRANSACTION" && only(2):
		return judgement{act: begin, kind: "begin"}, true
	case w0 == "COMMIT" && only(1):
		return judgement{act: commit, kind: "commit"}, true
	case w0 == "ROLLBACK" && only(1):
		return judgement{act: rollback, kind: "rollback"}, true
	case w0 == "XA":
		return judgement{act: refuse, kind: "xa", reason: "XA transactions are not replayed"}, true
	}
	return judgement{}, false
}

// deniedWords are refused as bare words anywhere in a statement that runs
// (a quoted name or a string holding them is not a word): they reach the
// files of the server or of the replaying machine, other servers, or
// plugins.
var deniedWords = map[string]string{
	"OUTFILE": "it writes a file", "DUMPFILE": "it writes a file", "INFILE": "it reads a file",
	"LOAD_FILE": "it reads a file", "DIRECTORY": "it keeps data outside the server's own files",
	"CONNECTION": "it reaches another server", "SONAME": "it loads a server plugin",
}

// objects that CREATE, ALTER and DROP may name and replay runs.
var runObjects = map[string]bool{
	"TABLE": true, "INDEX": true, "VIEW": true, "TRIGGER": true, "PROCEDURE": true,
	"FUNCTION": true, "EVENT": true, "SEQUENCE": true,
}

// harmless are the statements that change no database's content, which
// replay skips: privileges, accounts and maintenance.
var harmless = map[string]bool{
	"GRANT": true, "REVOKE": true, "FLUSH": true, "ANALYZE": true, "OPTIMIZE": true,
	"REPAIR": true, "CHECK": true, "CHECKSUM": true, "INSTALL": true, "UNINSTALL": true,
}

// accountObjects are what CREATE, ALTER, DROP and RENAME name that is not
// in a database: replay skips them.
var accountObjects = map[string]bool{"USER": true, "ROLE": true}

// classify decides on a statement of the recovered database by its
// leading words.
func classify(toks []token) judgement {
	w0 := word(toks, 0)
	switch w0 {
	case "INSERT", "REPLACE", "UPDATE", "DELETE", "WITH":
		return judgement{act: run, kind: strings.ToLower(w0)}
	case "SAVEPOINT", "RELEASE":
		return judgement{act: run, kind: "savepoint"}
	case "ROLLBACK":
		if word(toks, 1) == "TO" {
			return judgement{act: run, kind: "savepoint"}
		}
	case "TRUNCATE":
		return judgement{act: run, kind: "truncate table"}
	case "RENAME":
		if accountObjects[word(toks, 1)] {
			return judgement{act: skip, kind: "rename user", reason: "accounts are not in the database"}
		}
		if word(toks, 1) == "TABLE" {
			return judgement{act: run, kind: "rename table"}
		}
	case "SET":
		if word(toks, 1) == "PASSWORD" {
			return judgement{act: skip, kind: "set password", reason: "accounts are not in the database"}
		}
	case "CREATE", "ALTER", "DROP":
		obj, ok := object(toks[1:])
		verb := strings.ToLower(w0)
		switch {
		case !ok:
		case runObjects[obj]:
			return judgement{act: run, kind: verb + " " + strings.ToLower(obj)}
		case accountObjects[obj]:
			return judgement{act: skip, kind: verb + " " + strings.ToLower(obj), reason: "accounts are not in the database"}
		case obj == "DATABASE" || obj == "SCHEMA":
			if w0 == "ALTER" {
				return judgement{act: skip, kind: "alter database", reason: "the database's own options are the target's"}
			}
			return judgement{act: refuse, kind: verb + " database", reason: "it creates or drops a database"}
		}
		return judgement{act: refuse, kind: verb + " " + strings.ToLower(obj), reason: "replay does not run it"}
	default:
		if harmless[w0] {
			return judgement{act: skip, kind: strings.ToLower(w0), reason: "it changes no data"}
		}
	}
	return judgement{act: refuse, kind: strings.ToLower(w0), reason: "replay does not run it"}
}

// object finds what a CREATE, ALTER or DROP names, past its modifiers: OR
// REPLACE, TEMPORARY, UNIQUE, ONLINE, IF [NOT] EXISTS, ALGORITHM=...,
// DEFINER=..., SQL SECURITY ..., AGGREGATE.
func object(toks []token) (string, bool) {
	for i := 0; i < len(toks); i++ {
		w := word(toks, i)
		switch w {
		case "":
			return "", false
		case "OR", "REPLACE", "TEMPORARY", "UNIQUE", "FULLTEXT", "SPATIAL", "ONLINE", "OFFLINE", "IGNORE", "AGGREGATE", "IF", "NOT", "EXISTS":
			continue
		case "ALGORITHM", "DEFINER", "SQL":
			// ALGORITHM = x; DEFINER = user@host (or CURRENT_USER[()]);
			// SQL SECURITY x. Skip to the next word that starts an object
			// or modifier.
			i = skipClause(toks, i)
			continue
		}
		return w, true
	}
	return "", false
}

// skipClause skips ALGORITHM=x, DEFINER=u@h and SQL SECURITY x from i and
// returns the index of their last token.
func skipClause(toks []token, i int) int {
	switch word(toks, i) {
	case "SQL":
		return i + 2
	case "ALGORITHM":
		return i + 2 // '=' and the word
	}
	// DEFINER '=' user ['@' host] | CURRENT_USER ['(' ')']
	j := i + 2
	if j+1 < len(toks) && toks[j+1].kind == tokPunct && toks[j+1].text == "(" {
		return j + 2
	}
	if j+1 < len(toks) && toks[j+1].kind == tokPunct && toks[j+1].text == "@" {
		return j + 2
	}
	return j
}

// hasDefiner reports whether toks hold DEFINER = (a clause, not a word in
// a string or a name).
func hasDefiner(toks []token) bool {
	for i := 0; i+1 < len(toks); i++ {
		if word(toks, i) == "DEFINER" && toks[i+1].kind == tokPunct && toks[i+1].text == "=" {
			return true
		}
	}
	return false
}

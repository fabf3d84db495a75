package sqltext

import (
	"bytes"
	"fmt"
	"strings"
)

// clientCharsets are the character sets a dump may set for the client:
// those in which every byte below 0x80 is the ASCII character, so that a
// quote or a backslash is never the second byte of a character, and the
// gate reads strings as the server does. (gbk, big5, sjis, cp932 and
// gb18030 are not: in them 0x5c can end a character. Nor is swe7, whose
// letters include [ ] ^ { } ~.) Outside quotes, bytes from 0x80 up are
// read as the server reads them only in some of these (see nameBytes).
var clientCharsets = wordSet("armscii8 ascii binary cp1250 cp1251 cp1256 cp1257 cp850 cp852 cp866 dec8 eucjpms euckr gb2312 geostd8 greek hebrew hp8 keybcs2 koi8r koi8u latin1 latin2 latin5 latin7 macce macroman tis620 ujis utf8 utf8mb3 utf8mb4")

// sqlModes are the sql_mode flags a dump may set: all but those that
// change how statements are read (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, and
// the combinations that include them or change the grammar: ANSI, ORACLE,
// MSSQL, DB2, POSTGRESQL, MAXDB, MYSQL323, MYSQL40).
var sqlModes = wordSet("REAL_AS_FLOAT PIPES_AS_CONCAT IGNORE_SPACE IGNORE_BAD_TABLE_OPTIONS ONLY_FULL_GROUP_BY NO_UNSIGNED_SUBTRACTION NO_DIR_IN_CREATE NO_AUTO_VALUE_ON_ZERO STRICT_TRANS_TABLES STRICT_ALL_TABLES NO_ZERO_IN_DATE NO_ZERO_DATE ALLOW_INVALID_DATES ERROR_FOR_DIVISION_BY_ZERO TRADITIONAL NO_AUTO_CREATE_USER HIGH_NOT_PRECEDENCE NO_ENGINE_SUBSTITUTION PAD_CHAR_TO_FULL_LENGTH EMPTY_STRING_IS_NULL SIMULTANEOUS_ASSIGNMENT TIME_ROUND_FRACTIONAL NO_FIELD_OPTIONS NO_KEY_OPTIONS NO_TABLE_OPTIONS")

// engines are the storage engines a table may use: those that keep their
// data in the server's own files (not CONNECT, FEDERATED, SPIDER, MERGE or
// S3, which reach files, servers or tables elsewhere).
var engines = wordSet("innodb myisam aria memory heap csv archive blackhole sequence")

// sessionVars are the session variables a dump may set and save, and
// whether setting them is skipped (the loaders set sql_log_bin themselves
// where they may; a dump's autocommit switch is dropped along with its
// COMMITs). mariadb-dump 11 writes note_verbosity where 10.x wrote
// sql_notes, and saves autocommit around each table's rows
// ("SET @OLD_AUTOCOMMIT=@@AUTOCOMMIT, @@AUTOCOMMIT=0").
var sessionVars = map[string]bool{
	"character_set_client": false, "character_set_results": false, "character_set_connection": false,
	"collation_connection": false, "time_zone": false, "sql_mode": false,
	"foreign_key_checks": false, "unique_checks": false, "sql_quote_show_create": false,
	"sql_notes": false, "note_verbosity": false, "sql_log_bin": true, "autocommit": true,
}

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// set reads a SET statement: session settings from sessionVars, NAMES and
// CHARACTER SET, and user variables that save a session variable
// ("SET @OLD_SQL_MODE=@@SQL_MODE").
func (p *parser) set() (Statement, *refusal) {
	settings, skips := 0, 0
	for {
		skip, r := p.assignment()
		if r != nil {
			return Statement{}, r
		}
		if skip {
			skips++
		} else {
			settings++
		}
		t := p.next()
		if t.kind == tEOF {
			break
		}
		if !p.lx.isP(t, ',') {
			return Statement{}, p.refuse("unexpected %q", p.lx.text(t))
		}
	}
	switch {
	case skips > 0 && settings > 0:
		return Statement{}, p.refuse("sql_log_bin or autocommit set together with other settings")
	case skips > 0:
		return Statement{Class: ClassSkip, Kind: "session setting"}, nil
	}
	return Statement{Class: ClassSession, Kind: "session setting"}, nil
}

// assignment reads one assignment of a SET statement.
func (p *parser) assignment() (skip bool, r *refusal) {
	lx := p.lx
	t := p.next()
	var name string
	switch {
	case lx.isP(t, '@'):
		n := lx.next()
		if lx.isP(n, '@') && n.s == t.e {
			scope, v, r := p.sysvar()
			if r != nil {
				return false, r
			}
			if scope == "GLOBAL" {
				return false, p.globalRefusal(v)
			}
			name = v
			break
		}
		if n.s != t.e || (n.kind != tWord && n.kind != tIdent && n.kind != tString) {
			return false, p.refuse("a user variable without a name")
		}
		uv := userVarName(lx, n)
		if r := p.assign(); r != nil {
			return false, r
		}
		// The value must be a session variable read: the dump saves the
		// settings it changes, to put them back at its end.
		a := lx.next()
		b := lx.next()
		if !lx.isP(a, '@') || !lx.isP(b, '@') || b.s != a.e {
			return false, p.refuse("a user variable set to something other than a session variable")
		}
		scope, v, r := p.sysvar()
		if r != nil {
			return false, r
		}
		skip, ok := sessionVars[strings.ToLower(v)]
		if !ok || scope == "GLOBAL" {
			return false, p.refuse("a user variable set from %s, which dumps do not save", v)
		}
		if strings.EqualFold(v, "character_set_client") {
			p.saves[uv] = p.cs
		} else {
			p.saves[uv] = ""
		}
		// A copy of a skipped setting is skipped with it: nothing reads
		// it but the dump's own skipped restore of that setting.
		return skip, nil
	case t.kind == tWord:
		u := lx.upper(t)
		if u == "SESSION" || u == "LOCAL" {
			t = p.next()
			u = lx.upper(t)
		}
		switch u {
		case "GLOBAL":
			v, _ := lx.name(lx.peek())
			return false, p.globalRefusal(v)
		case "NAMES":
			cs, r := p.charsetValue(false)
			if r != nil {
				return false, r
			}
			p.cs = cs
			if p.optWord("COLLATE") {
				return false, p.collationValue()
			}
			return false, nil
		case "CHARACTER":
			if _, r := p.expectWord("SET"); r != nil {
				return false, r
			}
			fallthrough
		case "CHARSET":
			cs, r := p.charsetValue(false)
			p.cs = cs
			return false, r
		case "PASSWORD":
			return false, &refusal{kind: "SET PASSWORD", reason: "dumps do not set passwords"}
		}
		name = string(lx.text(t))
	default:
		return false, p.refuse("not a setting")
	}
	v := strings.ToLower(name)
	skip, ok := sessionVars[v]
	if !ok {
		return false, p.refuse("SET %s: not a session setting dumps write", name)
	}
	if r := p.assign(); r != nil {
		return false, r
	}
	switch v {
	case "character_set_client":
		cs, r := p.charsetValue(false)
		p.cs = cs
		return skip, r
	case "character_set_connection":
		_, r := p.charsetValue(false)
		return skip, r
	case "character_set_results":
		_, r := p.charsetValue(true)
		return skip, r
	case "collation_connection":
		return skip, p.collationValue()
	case "time_zone":
		t := lx.next()
		if t.kind == tString || lx.is(t, "DEFAULT") || lx.is(t, "SYSTEM") {
			return skip, nil
		}
		return skip, p.userVar(t)
	case "sql_mode":
		t := lx.next()
		if t.kind == tString {
			for _, f := range strings.Split(lx.stringValue(t), ",") {
				if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !sqlModes[f] {
					return skip, p.refuse("sql_mode %s changes how statements are read, or is not what dumps set", f)
				}
			}
			return skip, nil
		}
		if lx.is(t, "DEFAULT") {
			return skip, nil
		}
		return skip, p.userVar(t)
	}
	// The switches.
	t = lx.next()
	switch lx.upper(t) {
	case "0", "1", "ON", "OFF", "DEFAULT":
		return skip, nil
	}
	return skip, p.userVar(t)
}

// globalRefusal refuses a SET of a global variable. mysqldump writes one
// for MySQL's GTID state ("SET @@GLOBAL.GTID_PURGED=..."), which the
// MySQL 8.0 dialect mapping will take out here.
func (p *parser) globalRefusal(name string) *refusal {
	if strings.EqualFold(name, "gtid_purged") {
		return &refusal{kind: "SET GLOBAL", reason: "MySQL's GTID state (SET @@GLOBAL.GTID_PURGED) is for a MySQL replica, not this server"}
	}
	return &refusal{kind: "SET GLOBAL", reason: "a dump changes no server-wide setting"}
}

// sysvar reads a system variable after "@@": [GLOBAL.|SESSION.|LOCAL.]name.
func (p *parser) sysvar() (scope, name string, r *refusal) {
	lx := p.lx
	t := lx.next()
	if u := lx.upper(t); u == "GLOBAL" || u == "SESSION" || u == "LOCAL" {
		s := lx.save()
		if lx.isP(lx.next(), '.') {
			scope = u
			t = lx.next()
		} else {
			lx.restore(s)
		}
	}
	n, ok := lx.name(t)
	if !ok {
		return "", "", p.refuse("expected a variable name after @@")
	}
	return scope, n, nil
}

// assign reads "=" or ":=".
func (p *parser) assign() *refusal {
	t := p.lx.next()
	if p.lx.isP(t, '=') {
		return nil
	}
	if p.lx.isP(t, ':') {
		if e := p.lx.next(); p.lx.isP(e, '=') && e.s == t.e {
			return nil
		}
	}
	return p.refuse("expected =")
}

// userVar accepts a user variable ("@saved_cs_client") starting at t.
func (p *parser) userVar(t tok) *refusal {
	_, r := p.userVarAt(t)
	return r
}

// userVarAt reads a user variable starting at t and returns its name.
func (p *parser) userVarAt(t tok) (string, *refusal) {
	lx := p.lx
	if lx.isP(t, '@') {
		if n := lx.next(); n.s == t.e && (n.kind == tWord || n.kind == tIdent || n.kind == tString) {
			return userVarName(lx, n), nil
		}
	}
	return "", p.refuse("unexpected value %q", lx.text(t))
}

// userVarName returns the name of a user variable from its token after
// "@", in lower case: user variables are named without regard to case.
func userVarName(lx *lexer, t tok) string {
	if t.kind == tString {
		return strings.ToLower(lx.stringValue(t))
	}
	n, _ := lx.name(t)
	return strings.ToLower(n)
}

// nameValue reads the value of a character set or collation setting: a
// string, a word or an identifier, lower-cased, with its token. Anything
// else must be a user variable: done is then true, with userVarAt's
// verdict, and v the variable's name.
func (p *parser) nameValue() (t tok, v string, done bool, r *refusal) {
	lx := p.lx
	t = lx.next()
	switch t.kind {
	case tString:
		v = lx.stringValue(t)
	case tWord, tIdent:
		v, _ = lx.name(t)
	default:
		v, r = p.userVarAt(t)
		return t, v, true, r
	}
	return t, strings.ToLower(v), false, nil
}

// charsetValue reads a client character set from clientCharsets, DEFAULT,
// or a user variable, and returns it: the value a user variable saved
// (see parser.saves), or "" when the gate does not know it (DEFAULT is the
// server's, a variable it did not see saved).
func (p *parser) charsetValue(null bool) (string, *refusal) {
	t, v, done, r := p.nameValue()
	if done {
		if r != nil {
			return "", r
		}
		if cs, ok := p.saves[v]; ok {
			return cs, nil
		}
		return p.g.saved[v], nil
	}
	switch {
	case clientCharsets[v]:
		return v, nil
	case t.kind == tWord && v == "default", null && t.kind == tWord && v == "null":
		return "", nil
	}
	return "", p.refuse("character set %s: the gate could not read statements in it as the server does", v)
}

// collationValue reads a collation of one of clientCharsets.
func (p *parser) collationValue() *refusal {
	_, v, done, r := p.nameValue()
	if done {
		return r
	}
	cs, _, _ := strings.Cut(v, "_")
	if clientCharsets[cs] || v == "default" {
		return nil
	}
	return p.refuse("collation %s: not of a character set the gate reads", v)
}

// rows reads the rows of an INSERT after VALUES: parenthesised lists of
// literals (strings with an optional character set introducer, numbers,
// NULL, hex and bit values), which is all the dump programs write. It
// works on the bytes directly, as it reads nearly all of a dump.
func (p *parser) rows() *refusal {
	lx := p.lx
	b := lx.b
	regions := lx.regions
	i := lx.i
	// blank skips blanks and comments, and reports whether anything is
	// left.
	blank := func() bool {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
			i++
		}
		if i < len(b) && (b[i] == '(' || b[i] == ',' || b[i] == ')' || b[i] == '\'') {
			return true
		}
		lx.i = i
		ok := lx.skipBlank()
		i = lx.i
		return ok && lx.regions == regions
	}
	bad := func(what string) *refusal {
		if lx.err != nil {
			return p.refuse("%v", lx.err)
		}
		if lx.regions != regions {
			return p.refuse("a conditional comment inside row data")
		}
		return p.refuse("%s at byte %d of the statement", what, i)
	}
	for {
		if !blank() || b[i] != '(' {
			return bad("expected ( to start a row")
		}
		i++
		for {
			if !blank() {
				return bad("a row ends early")
			}
			e := literalEnd(b, i)
			if e < 0 {
				return bad("row data other than a literal value")
			}
			i = e
			if !blank() {
				return bad("a row ends early")
			}
			if b[i] == ')' {
				i++
				break
			}
			if b[i] != ',' {
				return bad("expected , or ) in a row")
			}
			i++
		}
		if !blank() {
			if lx.err != nil || lx.regions != regions {
				return bad("")
			}
			if lx.inCond {
				return p.refuse("unclosed conditional comment")
			}
			lx.i = len(b)
			return nil
		}
		if b[i] != ',' {
			return bad("expected , between rows")
		}
		i++
	}
}

// literalEnd returns the end of the literal value at b[i], or -1.
func literalEnd(b []byte, i int) int {
	c := b[i]
	next := func(j int) byte {
		if j < len(b) {
			return b[j]
		}
		return 0
	}
	switch {
	case c == '\'' || c == '"':
		if e, ok := stringEnd(b, i); ok {
			return e
		}
		return -1
	case c == '_':
		// A character set introducer: _binary '...', _utf8mb4 0x....
		j := i + 1
		for j < len(b) && isWordByte(b[j]) {
			j++
		}
		if !clientCharsets[strings.ToLower(string(b[i+1:j]))] {
			return -1
		}
		for j < len(b) && isSpace(b[j]) {
			j++
		}
		switch d := next(j); {
		case d == '\'' || d == '"' || d == '0' || ((d == 'x' || d == 'X' || d == 'b' || d == 'B') && next(j+1) == '\''):
			return literalEnd(b, j)
		}
		return -1
	case (c == 'N' || c == 'n') && next(i+1) == '\'':
		if e, ok := stringEnd(b, i+1); ok {
			return e
		}
		return -1
	case (c == 'X' || c == 'x') && next(i+1) == '\'':
		j := i + 2
		for j < len(b) && isHex(b[j]) {
			j++
		}
		if next(j) != '\'' {
			return -1
		}
		return j + 1
	case (c == 'B' || c == 'b') && next(i+1) == '\'':
		j := i + 2
		for j < len(b) && (b[j] == '0' || b[j] == '1') {
			j++
		}
		if next(j) != '\'' {
			return -1
		}
		return j + 1
	case c == '0' && (next(i+1) == 'x' || next(i+1) == 'X'):
		j := i + 2
		for j < len(b) && isHex(b[j]) {
			j++
		}
		if j == i+2 || isWordByte(next(j)) {
			return -1
		}
		return j
	case c == '0' && next(i+1) == 'b':
		j := i + 2
		for j < len(b) && (b[j] == '0' || b[j] == '1') {
			j++
		}
		if j == i+2 || isWordByte(next(j)) {
			return -1
		}
		return j
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		j := i
		if c == '-' || c == '+' {
			j++
		}
		digits := 0
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
			digits++
		}
		if next(j) == '.' {
			j++
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
				digits++
			}
		}
		if digits == 0 {
			return -1
		}
		if e := next(j); e == 'e' || e == 'E' {
			j++
			if s := next(j); s == '-' || s == '+' {
				j++
			}
			k := j
			for j < len(b) && b[j] >= '0' && b[j] <= '9' {
				j++
			}
			if j == k {
				return -1
			}
		}
		if isWordByte(next(j)) || next(j) == '.' {
			return -1
		}
		return j
	case c == 'N' || c == 'n':
		if len(b)-i >= 4 && bytes.EqualFold(b[i:i+4], []byte("NULL")) && !isWordByte(next(i+4)) {
			return i + 4
		}
	}
	return -1
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

// The kinds of text scan reads.
const (
	// modeTable is the rest of a table or sequence definition: every
	// qualified name must name the dump's own database, and nothing may
	// read other tables or reach outside the server's own files.
	modeTable = iota
	// modeBody is the rest of a view, trigger, routine or event: SQL that
	// runs later, with the loading user's privileges.
	modeBody
)

// deniedWords are refused anywhere in a definition or body: they write or
// read files, reach other servers, change users, privileges or the
// server, run SQL built at run time, which the gate cannot read, or name
// databases as bare words (SHOW ... FROM db).
var deniedWords = wordSet("OUTFILE DUMPFILE INFILE LOAD LOAD_FILE SONAME GRANT REVOKE PREPARE EXECUTE DEALLOCATE SHUTDOWN KILL INSTALL UNINSTALL FLUSH PURGE BINLOG HANDLER GLOBAL CONNECTION DIRECTORY MASTER SLAVE REPLICATION RESET IMPORT DISCARD IDENTIFIED SHOW")

// tableWords are words after which a qualified name is a table, a
// sequence or a stored object (a routine, view, trigger or event), not a
// column.
var tableWords = wordSet("FROM JOIN STRAIGHT_JOIN INTO UPDATE TABLE TABLES CALL TRUNCATE REPLACE REFERENCES FOR NEXTVAL LASTVAL SETVAL INSERT DELETE TO LOCK VIEW TRIGGER PROCEDURE FUNCTION EVENT SEQUENCE")

// exprWords end a list of tables: a qualified name after them is a column
// (or, followed by "(", a routine).
var exprWords = wordSet("WHERE ON USING SET VALUES VALUE SELECT GROUP ORDER HAVING LIMIT WINDOW RETURNING DO THEN ELSE BEGIN END RETURN WHEN DECLARE")

// scan reads the rest of a statement: table definitions and the bodies of
// views, triggers, routines and events.
//
// Everywhere: the words of deniedWords; USER, ROLE, DATABASE, SCHEMA,
// SERVER, PASSWORD after CREATE, DROP, ALTER, RENAME or SET; DEFINER =; an
// ENGINE other than those of engines; a backslash outside a string; a name
// of more than two parts.
// In table definitions: any qualified name but the dump's own database's,
// SELECT, and variables. In bodies, a two-part name "x.y" may be a table
// of database x or column y of table x. It is read as a table, and refused
// unless x is the dump's own database, after a word that introduces one
// (tableWords: FROM, JOIN, INTO, UPDATE, CALL, INSERT, TO, ... and ON in
// CREATE INDEX), in a list of them, inside parentheses that open such a
// list, and when "(" follows it (a stored function). Anywhere else it is
// refused when x is a system database or one of GateOptions.Foreign. The
// dump's own database is cut out of every name.
func (p *parser) scan(mode int) *refusal {
	lx := p.lx
	var prev string
	var prevTok tok
	tableCtx := false
	// outer holds the context of each open parenthesis, to go back to at
	// its ")".
	var outer []bool
	// index says a CREATE or DROP INDEX is read: its ON names a table.
	index := false
	// table says the next token alone is read as a table: what follows
	// DESCRIBE, EXPLAIN or DESC ("DESC db.t" describes it; "ORDER BY a
	// DESC, t.b" goes on with columns).
	table := false
	// BEGIN ... END blocks and CASE ... END: a ";" ends a statement of a
	// compound body inside them, and anywhere else would end the
	// statement itself, which the mariadb client's connection (multi
	// statements on) would then take for two.
	depth, cases := 0, 0
	for {
		t := lx.next()
		before := prevTok
		prevTok = t
		one := table
		table = false
		switch t.kind {
		case tEOF:
			return nil
		case tString:
			continue
		case tPunct:
			switch lx.b[t.s] {
			case '\\':
				return p.refuse("a backslash outside a string")
			case '@':
				if mode == modeTable {
					return p.refuse("a variable in a table definition")
				}
			case ';':
				if depth == 0 {
					return p.refuse("two statements in one (a ; outside BEGIN ... END)")
				}
				tableCtx, outer, index = false, outer[:0], false
			case '(':
				outer = append(outer, tableCtx)
				// "FROM (t1, t2)" and "NEXTVAL(s)" hold tables; "t (a, b)"
				// and "f(x)" hold columns and values.
				tableCtx = tableCtx && (prev != "" && tableWords[prev] || lx.isP(before, ',') || lx.isP(before, '('))
			case ')':
				if n := len(outer); n > 0 {
					tableCtx, outer = outer[n-1], outer[:n-1]
				}
			case '=':
				if prev == "DEFINER" {
					return p.refuse("a DEFINER clause inside a body")
				}
			}
			prev = ""
			continue
		}
		if t.kind == tWord {
			u := lx.upper(t)
			if deniedWords[u] {
				return p.refuse("%s in a %s", u, modeName(mode))
			}
			switch u {
			case "USER", "ROLE", "DATABASE", "SCHEMA", "SERVER", "PASSWORD":
				switch prev {
				case "CREATE", "DROP", "ALTER", "RENAME", "SET":
					return p.refuse("%s %s in a %s", prev, u, modeName(mode))
				}
			case "SELECT":
				if mode == modeTable {
					return p.refuse("SELECT in a table definition")
				}
			case "BEGIN":
				depth++
			case "CASE":
				if prev != "END" {
					cases++
				}
			case "END":
				switch lx.upper(lx.peek()) {
				case "IF", "LOOP", "WHILE", "REPEAT", "FOR":
				case "CASE":
					cases--
				default:
					if cases > 0 {
						cases--
					} else {
						depth--
					}
				}
			case "ENGINE":
				if r := p.engine(); r != nil {
					return r
				}
				prev = ""
				continue
			case "INDEX", "KEY":
				switch prev {
				case "CREATE", "DROP", "UNIQUE", "FULLTEXT", "SPATIAL", "REPLACE":
					index = true
				case "CACHE":
					tableCtx = true
				}
			}
			switch {
			case u == "DESCRIBE" || u == "DESC" || u == "EXPLAIN":
				table = true
			case u == "UPDATE" && prev == "KEY":
				// ON DUPLICATE KEY UPDATE: columns follow.
				tableCtx = false
			case tableWords[u]:
				tableCtx = true
			case u == "ON" && index:
				tableCtx, index = true, false
			case exprWords[u]:
				tableCtx = false
			}
			prev = u
			if isNumberWord(lx.text(t)) {
				continue
			}
		} else {
			prev = ""
		}
		if r := p.chain(t, mode, tableCtx || one); r != nil {
			return r
		}
	}
}

func modeName(mode int) string {
	if mode == modeTable {
		return "table definition"
	}
	return "view, trigger, routine or event"
}

// isNumberWord reports whether a word is the start of a number the server
// reads as one, which a following "." continues: digits, or digits and an
// exponent ("1e5"). "1e" alone is a name to the server ("1e.t" is table t
// of database 1e).
func isNumberWord(b []byte) bool {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return false
	}
	for i, c := range b {
		if c < '0' || c > '9' {
			return (c == 'e' || c == 'E') && isNumber(b[i+1:])
		}
	}
	return true
}

// engine reads the value of ENGINE [=] name.
func (p *parser) engine() *refusal {
	lx := p.lx
	t := lx.next()
	if lx.isP(t, '=') {
		t = lx.next()
	}
	var v string
	switch t.kind {
	case tString:
		v = lx.stringValue(t)
	case tWord, tIdent:
		v, _ = lx.name(t)
	default:
		return p.refuse("ENGINE without a name")
	}
	if !engines[strings.ToLower(v)] {
		return p.refuse("ENGINE=%s reaches outside the server's own tables, or is not one dumps use", v)
	}
	return nil
}

// chain checks a name that may be qualified, starting with t.
func (p *parser) chain(t tok, mode int, tableCtx bool) *refusal {
	lx := p.lx
	s := lx.save()
	dot := lx.next()
	if !lx.isP(dot, '.') {
		lx.restore(s)
		return nil
	}
	parts := 1
	for {
		n := lx.next()
		if n.kind != tWord && n.kind != tIdent && !lx.isP(n, '*') {
			return p.refuse("unexpected %q after a dot", lx.text(n))
		}
		parts++
		s := lx.save()
		if lx.isP(n, '*') || !lx.isP(lx.next(), '.') {
			lx.restore(s)
			break
		}
	}
	first, _ := lx.name(t)
	// A name is rewritten only when it is read whole and means the same
	// without its qualifier. Three parts ("db.t.c", a column) are refused
	// whatever db is: "own.app.users" without "own." would name table
	// users of database app wherever the server reads a table, which the
	// gate cannot always tell.
	if parts > 2 {
		return p.refuseDB("a name of %d parts starting with %s, which the gate does not read", parts, Ident(first))
	}
	if p.ownOK && first == p.own {
		return p.cut(t, dot)
	}
	// "x.y(" calls routine y of database x.
	routine := lx.isP(lx.peek(), '(')
	if mode == modeTable || tableCtx || routine {
		if !p.ownOK {
			return p.refuseDB("names database %s, and the dump's header names no database of its own", Ident(first))
		}
		return p.refuseDB("names database %s, not the dump's own %s", Ident(first), Ident(p.own))
	}
	if p.g.foreign[strings.ToLower(first)] {
		return p.refuseDB("names database %s", Ident(first))
	}
	return nil
}

// ClientDelimiter returns a delimiter for sending stmt, a statement the
// gate let through, to the mariadb command-line client: one that does not
// occur in it. It fails when the client would not read the statement as the
// server does: a backslash outside strings (a client command), a line
// starting with DELIMITER, a "--" followed by a control character (a
// comment for the server, not for the client), or a statement that does
// not end outside quotes and comments. The client is to get
// "DELIMITER d\n" + stmt + "\n" + d + "\n".
func ClientDelimiter(stmt []byte) (string, error) {
	if err := clientReadable(stmt); err != nil {
		return "", err
	}
	for _, d := range []string{";", ";;", "$$", "//"} {
		if !bytes.Contains(stmt, []byte(d)) {
			return d, nil
		}
	}
	for n := 0; ; n++ {
		d := "$$" + strings.Repeat("$", n%4) + string(rune('a'+n%26)) + "$$"
		if n >= 104 {
			d = "$$" + strings.Repeat("z", n) + "$$"
		}
		if !bytes.Contains(stmt, []byte(d)) {
			return d, nil
		}
	}
}

// clientReadable checks a statement the way the mariadb client splits
// text: quotes, comments, conditional comments as code.
func clientReadable(b []byte) error {
	bad := func(what string) error {
		return &RefusedError{Kind: "statement", Reason: what + ": the mariadb client would read it differently from the server", Prefix: quotePrefix(b, 60)}
	}
	lineStart := true
	for i := 0; i < len(b); {
		c := b[i]
		if lineStart {
			j := i
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if len(b)-j >= 9 && bytes.EqualFold(b[j:j+9], []byte("delimiter")) {
				return bad("a line starting with DELIMITER")
			}
			lineStart = false
		}
		switch {
		case c == '\n':
			lineStart = true
			i++
		case c == '\'' || c == '"':
			e, ok := stringEnd(b, i)
			if !ok {
				return bad("an unclosed string")
			}
			i = e
		case c == '`':
			k := bytes.IndexByte(b[i+1:], '`')
			if k < 0 {
				return bad("an unclosed quoted name")
			}
			i += k + 2
		case c == '\\':
			return bad("a backslash outside a string")
		case c == '#' || (c == '-' && i+1 < len(b) && b[i+1] == '-' && (i+2 == len(b) || isCommentDash(b[i+2]))):
			if c == '-' && i+2 < len(b) && !isSpace(b[i+2]) {
				return bad("a comment the client does not see")
			}
			k := bytes.IndexByte(b[i:], '\n')
			if k < 0 {
				// The newline before the delimiter ends it.
				k = len(b) - i
			}
			i += k
		case c == '/' && i+1 < len(b) && b[i+1] == '*':
			if i+2 < len(b) && (b[i+2] == '!' || (b[i+2] == 'M' && i+3 < len(b) && b[i+3] == '!')) {
				i += 2
				continue
			}
			k := bytes.Index(b[i+2:], []byte("*/"))
			if k < 0 {
				return bad("an unclosed comment")
			}
			i += 2 + k + 2
		default:
			i++
		}
	}
	return nil
}

// CheckSQLMode fails when the server's sql_mode changes how statements are
// read (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, or a mode that includes them):
// the gate reads statements the way the server does under the default
// modes, and a dump's statements before its own SET SQL_MODE run under the
// server's.
func CheckSQLMode(mode string) error {
	for _, f := range strings.Split(mode, ",") {
		if f = strings.ToUpper(strings.TrimSpace(f)); f != "" && !sqlModes[f] {
			return fmt.Errorf("the server's sql_mode has %s, under which statements read differently; remove it from the server's sql_mode to restore", f)
		}
	}
	return nil
}

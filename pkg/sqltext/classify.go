package sqltext

import (
	"bytes"
	"strings"
)

// Class says what a statement of a dump is for, and so where a loader runs it.
type Class int

// The classes of statement.
const (
	ClassOther       Class = iota // anything else: waits for everything before it, then runs alone
	ClassSession                  // a session setting: replayed on every connection
	ClassData                     // rows of one table (INSERT/REPLACE ... VALUES, SETVAL)
	ClassTable                    // a table definition (DROP/CREATE/ALTER TABLE)
	ClassDisableKeys              // ALTER TABLE ... DISABLE KEYS
	ClassEnableKeys               // ALTER TABLE ... ENABLE KEYS
	ClassObject                   // a view, trigger, routine, event or database options
	ClassSkip                     // not to be run (LOCK TABLES, COMMIT, CREATE DATABASE, ...)
	ClassUse                      // USE; Table names the database
)

// Statement is what Classify found out about a statement.
type Statement struct {
	Class   Class
	Kind    string // what the statement does, for messages: "insert into `t`", "view", ...
	Table   string // the table (or, for USE, the database)
	Create  bool   // CREATE TABLE
	Rewrite []byte // the statement to run instead, when not nil
}

// Classify looks at the first words of a statement. views holds the names
// seen in view statements: mysqldump makes a stand-in table for each view
// early and drops it just before creating the view, and those table
// statements must stay in order with the view's.
func Classify(stmt []byte, views map[string]bool) Statement {
	lx := lexer{b: stmt}
	other := Statement{Class: ClassOther, Kind: "statement"}
	first := lx.next()
	if first.kind != tokWord {
		return other
	}
	switch first.upper() {
	case "SET":
		t := lx.next()
		if t.is('@') {
			if !lx.next().is('@') {
				return Statement{Class: ClassSession, Kind: "session setting"} // a user variable
			}
			t = lx.next()
			if u := t.upper(); u == "SESSION" || u == "LOCAL" {
				lx.next() // .
				t = lx.next()
			}
		} else if u := t.upper(); u == "SESSION" || u == "LOCAL" {
			t = lx.next()
		}
		switch t.upper() {
		case "GLOBAL", "PASSWORD", "ROLE", "DEFAULT", "STATEMENT":
			return other
		case "SQL_LOG_BIN":
			// The load sets it itself, where the user may.
			return Statement{Class: ClassSkip}
		case "AUTOCOMMIT":
			// --no-autocommit dumps: each data statement commits on its own
			// here, so the COMMITs that go with it are dropped too.
			return Statement{Class: ClassSkip}
		}
		return Statement{Class: ClassSession, Kind: "session setting"}
	case "INSERT", "REPLACE":
		t := lx.next()
		for t.kind == tokWord {
			u := t.upper()
			if u != "LOW_PRIORITY" && u != "DELAYED" && u != "HIGH_PRIORITY" && u != "IGNORE" && u != "INTO" {
				break
			}
			t = lx.next()
		}
		name, ok := lx.name(t)
		if !ok {
			return other
		}
		t = lx.next()
		if t.is('(') {
			if !lx.skipParens() {
				return other
			}
			t = lx.next()
		}
		if u := t.upper(); u != "VALUES" && u != "VALUE" {
			// INSERT ... SELECT reads other tables: keep it in order.
			return other
		}
		return Statement{Class: ClassData, Kind: "insert into " + Ident(name), Table: name}
	case "SELECT":
		// mariadb-dump restores a sequence's position with SELECT SETVAL.
		if lx.next().upper() == "SETVAL" && lx.next().is('(') {
			if name, ok := lx.name(lx.next()); ok {
				return Statement{Class: ClassData, Kind: "setval of " + Ident(name), Table: name}
			}
		}
		return other
	case "LOCK", "UNLOCK":
		if u := lx.next().upper(); u == "TABLES" || u == "TABLE" {
			return Statement{Class: ClassSkip}
		}
		return other
	case "COMMIT":
		return Statement{Class: ClassSkip}
	case "START":
		if lx.next().upper() == "TRANSACTION" {
			return Statement{Class: ClassSkip}
		}
		return other
	case "BEGIN":
		// BEGIN NOT ATOMIC is a compound statement, not a transaction.
		if t := lx.next(); t.kind == tokEOF || t.upper() == "WORK" {
			return Statement{Class: ClassSkip}
		}
		return other
	case "USE":
		if name, ok := lx.name(lx.next()); ok {
			return Statement{Class: ClassUse, Table: name}
		}
		return other
	case "CREATE", "ALTER", "DROP":
		return classifyDDL(first.upper(), &lx, stmt, views)
	}
	return other
}

func classifyDDL(verb string, lx *lexer, stmt []byte, views map[string]bool) Statement {
	other := Statement{Class: ClassOther, Kind: "statement"}
	t := lx.skipDefinition()
	switch u := t.upper(); u {
	case "TABLE", "SEQUENCE":
		t = lx.next()
		if verb == "DROP" || verb == "CREATE" {
			t = lx.skipIfExists(t)
		}
		name, ok := lx.name(t)
		if !ok {
			return other
		}
		if verb == "DROP" {
			if next := lx.next(); next.is(',') {
				return other
			}
		}
		kind := strings.ToLower(verb) + " " + strings.ToLower(u) + " " + Ident(name)
		if views[name] {
			return Statement{Class: ClassObject, Kind: kind}
		}
		if verb == "ALTER" {
			if w := lx.next().upper(); (w == "DISABLE" || w == "ENABLE") && lx.next().upper() == "KEYS" {
				if w == "DISABLE" {
					return Statement{Class: ClassDisableKeys, Kind: kind, Table: name}
				}
				return Statement{Class: ClassEnableKeys, Kind: kind, Table: name}
			}
		}
		return Statement{Class: ClassTable, Kind: kind, Table: name, Create: verb == "CREATE"}
	case "VIEW":
		t = lx.skipIfExists(lx.next())
		for {
			name, ok := lx.name(t)
			if !ok {
				break
			}
			views[name] = true
			if verb != "DROP" {
				break
			}
			if t = lx.next(); !t.is(',') {
				break
			}
			t = lx.next()
		}
		return Statement{Class: ClassObject, Kind: "view"}
	case "TRIGGER":
		return Statement{Class: ClassObject, Kind: "trigger"}
	case "PROCEDURE", "FUNCTION":
		return Statement{Class: ClassObject, Kind: "routine"}
	case "EVENT":
		return Statement{Class: ClassObject, Kind: "event"}
	case "DATABASE", "SCHEMA":
		if verb != "ALTER" {
			return Statement{Class: ClassSkip}
		}
		// Dump programs switch the database's collation around routines
		// made under another one. The statement names the dumped
		// database; the load's own is the current one, which ALTER
		// DATABASE changes when it names none.
		at := lx.i
		n := lx.next()
		if _, ok := lx.name(n); !ok || n.upper() == "CHARACTER" || n.upper() == "COLLATE" || n.upper() == "DEFAULT" || n.upper() == "CHARSET" {
			return Statement{Class: ClassObject, Kind: "database options"}
		}
		rewrite := append(append([]byte(nil), stmt[:at]...), stmt[lx.i:]...)
		return Statement{Class: ClassObject, Kind: "database options", Rewrite: rewrite}
	}
	return other
}

// The kinds of token the lexer returns.
const (
	tokEOF = iota
	tokWord
	tokIdent  // a backtick-quoted identifier, unquoted
	tokString // a quoted string, with its quotes
	tokPunct
)

type token struct {
	kind int
	text []byte
}

func (t token) upper() string {
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(string(t.text))
}

func (t token) is(c byte) bool { return t.kind == tokPunct && t.text[0] == c }

// lexer reads the first tokens of a statement, taking comments as blanks
// and the markers of conditional comments ("/*!50003", "*/") as nothing,
// so that "/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003 TRIGGER" reads
// as CREATE DEFINER = ... TRIGGER.
type lexer struct {
	b []byte
	i int
}

func (lx *lexer) next() token {
	b := lx.b
	for lx.i < len(b) {
		c := b[lx.i]
		switch {
		case isSpace(c):
			lx.i++
		case c == '#' || (c == '-' && lx.i+1 < len(b) && b[lx.i+1] == '-' && (lx.i+2 == len(b) || isCommentDash(b[lx.i+2]))):
			k := bytes.IndexByte(b[lx.i:], '\n')
			if k < 0 {
				lx.i = len(b)
			} else {
				lx.i += k + 1
			}
		case c == '*' && lx.i+1 < len(b) && b[lx.i+1] == '/':
			lx.i += 2
		case c == '/' && lx.i+1 < len(b) && b[lx.i+1] == '*':
			if cond, _, _ := conditionalVersion(b[lx.i:], true); cond {
				lx.i += 2
				if b[lx.i] == 'M' {
					lx.i++
				}
				lx.i++
				for lx.i < len(b) && b[lx.i] >= '0' && b[lx.i] <= '9' {
					lx.i++
				}
				continue
			}
			k := bytes.Index(b[lx.i+2:], []byte("*/"))
			if k < 0 {
				lx.i = len(b)
			} else {
				lx.i += 2 + k + 2
			}
		default:
			return lx.token()
		}
	}
	return token{kind: tokEOF}
}

func (lx *lexer) token() token {
	b := lx.b
	start := lx.i
	c := b[start]
	switch {
	case isWordByte(c):
		for lx.i < len(b) && isWordByte(b[lx.i]) {
			lx.i++
		}
		return token{kind: tokWord, text: b[start:lx.i]}
	case c == '`':
		var name []byte
		lx.i++
		for lx.i < len(b) {
			k := bytes.IndexByte(b[lx.i:], '`')
			if k < 0 {
				lx.i = len(b)
				break
			}
			name = append(name, b[lx.i:lx.i+k]...)
			lx.i += k + 1
			if lx.i < len(b) && b[lx.i] == '`' {
				name = append(name, '`')
				lx.i++
				continue
			}
			break
		}
		return token{kind: tokIdent, text: name}
	case c == '\'' || c == '"':
		lx.i++
		for lx.i < len(b) {
			switch b[lx.i] {
			case '\\':
				lx.i += 2
				continue
			case c:
				lx.i++
				if lx.i < len(b) && b[lx.i] == c {
					lx.i++
					continue
				}
				return token{kind: tokString, text: b[start:min(lx.i, len(b))]}
			}
			lx.i++
		}
		lx.i = min(lx.i, len(b))
		return token{kind: tokString, text: b[start:]}
	}
	lx.i++
	return token{kind: tokPunct, text: b[start:lx.i]}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// name reads a table name starting with t, "t" or "db.t", and returns the
// table part.
func (lx *lexer) name(t token) (string, bool) {
	if t.kind != tokWord && t.kind != tokIdent {
		return "", false
	}
	name := string(t.text)
	at := lx.i
	if dot := lx.next(); dot.is('.') {
		if t2 := lx.next(); t2.kind == tokWord || t2.kind == tokIdent {
			return string(t2.text), true
		}
		return "", false
	}
	lx.i = at
	return name, true
}

// skipParens skips a parenthesised list after its opening parenthesis.
func (lx *lexer) skipParens() bool {
	depth := 1
	for {
		t := lx.next()
		switch {
		case t.kind == tokEOF:
			return false
		case t.is('('):
			depth++
		case t.is(')'):
			if depth--; depth == 0 {
				return true
			}
		}
	}
}

// skipIfExists skips "IF [NOT] EXISTS" starting with t and returns the
// token after it.
func (lx *lexer) skipIfExists(t token) token {
	if t.upper() != "IF" {
		return t
	}
	t = lx.next()
	if t.upper() == "NOT" {
		t = lx.next()
	}
	if t.upper() == "EXISTS" {
		t = lx.next()
	}
	return t
}

// skipDefinition skips what may stand between CREATE, ALTER or DROP and the
// kind of object: OR REPLACE, ALGORITHM=..., DEFINER=..., SQL SECURITY ...,
// TEMPORARY and the like. It returns the token naming the kind.
func (lx *lexer) skipDefinition() token {
	for {
		t := lx.next()
		switch t.upper() {
		case "OR":
			lx.next() // REPLACE
		case "ALGORITHM":
			if e := lx.next(); e.is('=') {
				lx.next()
			}
		case "DEFINER":
			if e := lx.next(); e.is('=') {
				u := lx.next()
				at := lx.i
				switch n := lx.next(); {
				case n.is('@'):
					lx.next()
				case n.is('(') && u.upper() == "CURRENT_USER":
					lx.next() // )
				default:
					lx.i = at
				}
			}
		case "SQL":
			lx.next() // SECURITY
			lx.next() // DEFINER or INVOKER
		case "ONLINE", "OFFLINE", "IGNORE", "AGGREGATE", "DEFINITIONS":
		default:
			return t
		}
	}
}

// Ident quotes a name as an SQL identifier.
func Ident(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// Qualified quotes db.name.
func Qualified(db, name string) string { return Ident(db) + "." + Ident(name) }

// Literal quotes a string as an SQL string literal.
func Literal(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(s) + "'"
}

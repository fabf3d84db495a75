package sqltext

// The gate's reading of the rest of a table definition and of the bodies of
// views, triggers, routines and events: denied words, engines, and the
// qualified names that could reach another database.

import "strings"

// engines are the storage engines a table may use: those that keep their
// data in the server's own files (not CONNECT, FEDERATED, SPIDER, MERGE or
// S3, which reach files, servers or tables elsewhere).
var engines = wordSet("innodb myisam aria memory heap csv archive blackhole sequence")

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

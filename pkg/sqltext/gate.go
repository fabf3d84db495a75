package sqltext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Class says what a statement of a dump is for, and so where a loader runs it.
type Class int

// The classes of statement.
const (
	ClassOther       Class = iota // a statement that waits for everything before it, then runs alone (DROP TABLE of several tables)
	ClassSession                  // a session setting: replayed on every connection
	ClassData                     // rows of one table (INSERT/REPLACE ... VALUES, SETVAL)
	ClassTable                    // a table definition (DROP/CREATE/ALTER TABLE)
	ClassDisableKeys              // ALTER TABLE ... DISABLE KEYS
	ClassEnableKeys               // ALTER TABLE ... ENABLE KEYS
	ClassObject                   // a view, trigger, routine, event or database options
	ClassSkip                     // not to be run (LOCK TABLES, COMMIT, USE of the dump's own database, ...)
)

// Statement is a statement the gate let through.
type Statement struct {
	Class  Class
	Kind   string // what the statement does, for messages: "insert into `t`", "view", ...
	Table  string // the table or sequence of a table or data statement
	Create bool   // CREATE TABLE or CREATE SEQUENCE
	// SQL is the statement to run: the dump's text, with the dump's own
	// database name and DEFINER clauses taken out. Unless Owned, it is
	// valid until the next call of Gate.Next.
	SQL []byte
	// Owned means SQL is the caller's to keep: nothing writes to it again
	// (large statements, see Splitter.Owned, and rewritten ones).
	Owned bool
	Line  int64 // where the statement starts in the dump
}

// GateOptions tell the gate how the server reads statements and which
// databases they must not name.
type GateOptions struct {
	// Server is the version of the server the statements go to, which
	// decides which conditional comments are code. Zero means MariaDB
	// 10.11.0.
	Server ServerVersion
	// Foreign names databases that routine, trigger, view and event bodies
	// must not name (the server's other databases, as far as the loading
	// user sees them). The system databases are always foreign.
	Foreign []string
	// Dialect, when not nil, maps a MySQL dump's dialect to MariaDB's
	// before the checks, and records what it changed (see Dialect). Nil
	// reads every dump as it is.
	Dialect *Dialect
	// Whole refuses what is not a whole database: rows or a sequence
	// position for a table the dump does not create before them (a
	// data-only dump), and views without any table (an export of views).
	// The loaders set it; without it each statement is judged alone.
	Whole bool
	// Collations are the server's collation names, in lower case, for
	// the mapping of MySQL's (SHOW COLLATION). Nil assumes the server has
	// the best candidate.
	Collations map[string]bool
}

// ErrRefused is wrapped by every RefusedError.
var ErrRefused = errors.New("statement refused")

// ErrDatabaseStatement is wrapped by the refusals of statements that name
// another database than the dump's own: USE, CREATE or DROP DATABASE, and
// qualified names (a dump made with --databases or --all-databases, or a
// crafted one).
var ErrDatabaseStatement = errors.New("dump names databases other than its own (made with --all-databases?)")

// RefusedError is a statement the gate did not let through. Nothing of it
// has run.
type RefusedError struct {
	Line   int64  // where the statement starts in the dump
	Kind   string // what the statement is: "USE", "CREATE USER", "SET GLOBAL", "LOAD DATA", ...
	Reason string
	Prefix string // the start of the statement, quoted
	db     bool
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("refused statement at line %d: %s: %s (%s)", e.Line, e.Kind, e.Reason, e.Prefix)
}

// Unwrap returns ErrRefused, and ErrDatabaseStatement for a statement that
// names another database.
func (e *RefusedError) Unwrap() []error {
	if e.db {
		return []error{ErrRefused, ErrDatabaseStatement}
	}
	return []error{ErrRefused}
}

// Gate reads the statements of one mysqldump or mariadb-dump stream from a
// Splitter and lets through only what such a dump of ONE database writes,
// read the way the server will read it: comments are blanks, conditional
// comments are code when the server's version runs them, quotes are
// quotes. Anything else is refused with a *RefusedError before it runs, and
// the dump with it. See docs/statement-gate.md for the rules.
//
// The dump's own database is the one its header names ("-- Host: ...
// Database: NAME", as both dump programs write it before the first
// statement). Names qualified with it are let through with the qualifier
// taken out, so that they apply to the database being loaded; with no
// header, a qualified name is refused. DEFINER clauses are taken out of
// views, triggers, routines and events, which then belong to the loading
// user.
type Gate struct {
	sp         *Splitter
	ver        ServerVersion
	foreign    map[string]bool
	views      map[string]bool
	tables     map[string]bool // tables and sequences the dump creates
	dialect    *Dialect
	collations map[string]bool
	begun      bool
	mysql      bool // map MySQL's dialect
	whole      bool
	// cs is the client character set the server reads the next statement
	// in: utf8mb4, as the loaders connect, until the dump sets another;
	// "" when the gate cannot know it. saved holds the user variables
	// that saved it ("SET @saved_cs_client = @@character_set_client").
	cs    string
	saved map[string]string
	own   string // the database of CheckDefinition
}

// NewGate returns a gate over the statements of sp.
func NewGate(sp *Splitter, opts GateOptions) *Gate {
	g := &Gate{sp: sp, ver: opts.Server, foreign: map[string]bool{}, views: map[string]bool{}, tables: map[string]bool{},
		dialect: opts.Dialect, collations: opts.Collations, whole: opts.Whole, cs: "utf8mb4", saved: map[string]string{}}
	if g.ver.N == 0 {
		g.ver = ServerVersion{N: 101100, MariaDB: true}
	}
	for _, d := range []string{"mysql", "information_schema", "performance_schema", "sys"} {
		g.foreign[d] = true
	}
	for _, d := range opts.Foreign {
		g.foreign[strings.ToLower(d)] = true
	}
	return g
}

// Database returns the dump's own database, as its header names it, and
// whether it named one.
func (g *Gate) Database() (string, bool) { return g.sp.Database() }

// Next returns the next statement, or io.EOF at the end of the dump. A
// statement refused is a *RefusedError; the splitter's errors (a truncated
// dump) come back as they are.
func (g *Gate) Next() (Statement, error) {
	stmt, err := g.sp.Next()
	if errors.Is(err, io.EOF) {
		if r := g.atEnd(); r != nil {
			return Statement{}, &RefusedError{Line: g.sp.Line(), Kind: r.kind, Reason: r.reason}
		}
	}
	if err != nil {
		return Statement{}, err
	}
	line, owned := g.sp.Line(), g.sp.Owned()
	if !g.begun {
		g.begun = true
		if r := g.begin(); r != nil {
			return Statement{}, &RefusedError{Line: line, Kind: r.kind, Reason: r.reason, Prefix: quotePrefix(stmt, 60)}
		}
	}
	if g.mysql {
		out, drop, r := g.mapMySQL(stmt)
		if r != nil {
			return Statement{}, &RefusedError{Line: line, Kind: r.kind, Reason: r.reason, Prefix: quotePrefix(stmt, 60)}
		}
		if drop != "" {
			return Statement{Class: ClassSkip, Kind: "MySQL " + drop, Line: line}, nil
		}
		if len(out) != len(stmt) || &out[0] != &stmt[0] {
			stmt, owned = out, true
		}
	}
	return g.check(stmt, owned, line)
}

// CheckDefinition reads stmt, one CREATE or ALTER of a table, or CREATE of
// a view, trigger, routine or event of database own, by the rules the
// gate holds a dump's definitions to (see docs/statement-gate.md): a table
// definition may name no other database, read no other table and keep its
// data nowhere but in the server's own files; a body may run no SQL built
// at run time, touch no file, account, privilege or server setting, and
// name no system database nor one of opts.Foreign; a ";" outside BEGIN ...
// END is refused. It returns the statement as the gate would let it
// through (DEFINER clauses and own's qualifier taken out), or a
// *RefusedError. It reads the statement alone: GateOptions.Whole and
// Dialect are not used.
func CheckDefinition(stmt []byte, own string, opts GateOptions) (Statement, error) {
	opts.Whole, opts.Dialect = false, nil
	g := NewGate(nil, opts)
	g.own = own
	lx := newLexer(stmt, g.ver)
	t := lx.next()
	if w := lx.upper(t); t.kind != tWord || w != "CREATE" && w != "ALTER" {
		return Statement{}, &RefusedError{Kind: "statement", Reason: "not a definition", Prefix: quotePrefix(stmt, 60)}
	}
	st, err := g.check(stmt, true, 0)
	if err != nil {
		return Statement{}, err
	}
	if st.Class != ClassTable && st.Class != ClassObject || strings.HasPrefix(st.Kind, "alter") && st.Class != ClassTable {
		return Statement{}, &RefusedError{Kind: st.Kind, Reason: "not a definition of a table, view, trigger, routine or event", Prefix: quotePrefix(stmt, 60)}
	}
	return st, nil
}

// systemDatabases are the server's own: a dump of one is not a database to
// restore.
var systemDatabases = wordSet("mysql information_schema performance_schema sys")

// begin looks at the header, which the splitter has read by the first
// statement: the dump's own database and where it comes from.
func (g *Gate) begin() *refusal {
	if db, ok := g.sp.Database(); ok && systemDatabases[strings.ToLower(db)] {
		return &refusal{kind: "dump", reason: fmt.Sprintf("a dump of the system database %s (users, grants, server state) is not an application database to restore", Ident(db)), db: true}
	}
	if g.dialect == nil {
		return nil
	}
	g.dialect.source = g.sp.Source()
	if _, ok := g.dialect.source.Version(); ok && g.ver.MariaDB {
		g.mysql = true
		g.dialect.mysql = true
	}
	return nil
}

// atEnd checks the dump as a whole at its end: a dump that defines views
// but no table is an export of views that needs its tables from elsewhere.
func (g *Gate) atEnd() *refusal {
	if !g.whole || len(g.views) == 0 {
		return nil
	}
	for t := range g.tables {
		if !g.views[t] {
			return nil
		}
	}
	return &refusal{kind: "dump", reason: "it defines views but no table: an export of views alone needs the tables from another file"}
}

// check reads one statement; owned says whether stmt is the caller's to
// keep.
func (g *Gate) check(stmt []byte, owned bool, line int64) (Statement, error) {
	p := &parser{g: g, lx: newLexer(stmt, g.ver), cs: g.cs, saves: map[string]string{}}
	p.lx.cs = g.cs
	if g.sp != nil {
		p.own, p.ownOK = g.sp.Database()
	} else {
		p.own, p.ownOK = g.own, true
	}
	st, r := p.statement()
	if p.lx.err != nil {
		r = &refusal{kind: p.kind(), reason: p.lx.err.Error()}
	}
	if r != nil {
		return Statement{}, &RefusedError{Line: line, Kind: r.kind, Reason: r.reason, Prefix: quotePrefix(stmt, 60), db: r.db}
	}
	// The statement runs: so do the settings it makes.
	g.cs = p.cs
	for v, cs := range p.saves {
		if cs == "" {
			delete(g.saved, v)
		} else {
			g.saved[v] = cs
		}
	}
	st.Line = line
	st.SQL, st.Owned = stmt, owned
	if len(p.cuts) > 0 {
		out := make([]byte, 0, len(stmt))
		at := 0
		for _, c := range p.cuts {
			out = append(out, stmt[at:c[0]]...)
			at = c[1]
		}
		st.SQL, st.Owned = append(out, stmt[at:]...), true
	}
	return st, nil
}

// quotePrefix quotes the first n bytes of a statement, cut on a rune
// boundary.
func quotePrefix(b []byte, n int) string {
	if len(b) <= n {
		return strconv.Quote(string(b))
	}
	for n > 0 && !utf8.RuneStart(b[n]) {
		n--
	}
	return strconv.Quote(string(b[:n])) + "..."
}

// refusal is why a statement is refused.
type refusal struct {
	kind, reason string
	db           bool
}

// parser reads one statement.
type parser struct {
	g     *Gate
	lx    *lexer
	own   string
	ownOK bool
	cuts  [][2]int // byte ranges to take out, in order
	first []tok    // the first words, for the kind of a refused statement
	// cs is the client character set after the statement (a SET may
	// change it), and saves the user variables it sets: to the character
	// set they save, or "" for anything else.
	cs    string
	saves map[string]string
}

func (p *parser) next() tok {
	t := p.lx.next()
	if len(p.first) < 2 && t.kind == tWord {
		p.first = append(p.first, t)
	}
	return t
}

// kind names a statement by its first words: "GRANT", "CREATE USER".
func (p *parser) kind() string {
	if len(p.first) == 0 || p.lx.b[p.first[0].s] >= '0' && p.lx.b[p.first[0].s] <= '9' {
		return "statement"
	}
	k := p.lx.upper(p.first[0])
	switch k {
	case "CREATE", "DROP", "ALTER", "LOAD", "CHANGE", "SET", "INSTALL", "UNINSTALL", "RENAME",
		"START", "STOP", "RESET", "SHOW", "LOCK", "FLUSH", "INSERT", "REPLACE":
		if len(p.first) > 1 {
			k += " " + p.lx.upper(p.first[1])
		}
	}
	return k
}

func (p *parser) refuse(format string, a ...any) *refusal {
	return &refusal{kind: p.kind(), reason: fmt.Sprintf(format, a...)}
}

func (p *parser) refuseDB(format string, a ...any) *refusal {
	r := p.refuse(format, a...)
	r.db = true
	return r
}

// cut takes bytes s to e out of the statement; they must lie in one
// conditional comment, or outside any.
func (p *parser) cut(a, b tok) *refusal {
	if a.region != b.region {
		return p.refuse("a name or clause split across conditional comments")
	}
	p.cuts = append(p.cuts, [2]int{a.s, b.e})
	return nil
}

// end expects the end of the statement.
func (p *parser) end() *refusal {
	if t := p.next(); t.kind != tEOF {
		return p.refuse("unexpected %q", p.lx.text(t))
	}
	return nil
}

// expectWord reads one of the words kws.
func (p *parser) expectWord(kws ...string) (string, *refusal) {
	t := p.next()
	for _, k := range kws {
		if p.lx.is(t, k) {
			return k, nil
		}
	}
	return "", p.refuse("expected %s, found %q", strings.Join(kws, " or "), p.lx.text(t))
}

// optWord reads kw if it comes next.
func (p *parser) optWord(kw string) bool {
	s := p.lx.save()
	if p.lx.is(p.lx.next(), kw) {
		return true
	}
	p.lx.restore(s)
	return false
}

// ifExists skips "IF EXISTS" (or "IF NOT EXISTS" when not).
func (p *parser) ifExists(not bool) *refusal {
	if !p.optWord("IF") {
		return nil
	}
	if not {
		if _, r := p.expectWord("NOT"); r != nil {
			return r
		}
	}
	_, r := p.expectWord("EXISTS")
	return r
}

// statement reads a whole statement.
func (p *parser) statement() (Statement, *refusal) {
	t := p.next()
	switch {
	case t.kind == tEOF:
		// Only comments (a conditional comment this server skips).
		return Statement{Class: ClassSkip, Kind: "comment"}, nil
	case p.lx.isP(t, '\\'):
		return Statement{}, &refusal{kind: "client command", reason: "client commands are not SQL and dumps do not write them"}
	case t.kind != tWord:
		return Statement{}, p.refuse("not a statement a dump writes")
	}
	if c := p.lx.peek(); p.lx.isP(c, ':') && c.s == t.e {
		return Statement{}, &refusal{kind: "not SQL", reason: "a line of text such as the dump program's messages (" +
			string(p.lx.text(t)) + ": ...), which belong to its stderr, not in the dump file"}
	}
	switch p.lx.upper(t) {
	case "SET":
		return p.set()
	case "INSERT", "REPLACE":
		return p.insert()
	case "SELECT", "DO":
		return p.setval()
	case "LOCK":
		return p.lock()
	case "UNLOCK":
		if _, r := p.expectWord("TABLES", "TABLE"); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassSkip, Kind: "unlock tables"}, p.end()
	case "COMMIT", "BEGIN":
		p.optWord("WORK")
		return Statement{Class: ClassSkip, Kind: "transaction"}, p.end()
	case "START":
		if _, r := p.expectWord("TRANSACTION"); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassSkip, Kind: "transaction"}, p.end()
	case "USE":
		name, ok := p.lx.name(p.next())
		if !ok {
			return Statement{}, p.refuse("USE without a database")
		}
		if r := p.ownDatabase(name, "USE"); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassSkip, Kind: "use"}, p.end()
	case "CREATE", "DROP", "ALTER":
		return p.ddl(p.lx.upper(t))
	}
	p.next() // for the kind
	return Statement{}, p.refuse("not a statement a dump of one database writes")
}

// ownDatabase accepts a database name only when it is the dump's own.
func (p *parser) ownDatabase(name, what string) *refusal {
	if !p.ownOK {
		return p.refuseDB("%s %s, and the dump's header names no database of its own", what, Ident(name))
	}
	if name != p.own {
		return p.refuseDB("%s %s: not the dump's own database %s; a dump of several databases cannot be restored into one", what, Ident(name), Ident(p.own))
	}
	return nil
}

// objectName reads the name of a table or object of the dump: unqualified,
// or qualified with the dump's own database, which is cut out.
func (p *parser) objectName(t tok) (string, *refusal) {
	n1, ok := p.lx.name(t)
	if !ok {
		return "", p.refuse("expected a name, found %q", p.lx.text(t))
	}
	s := p.lx.save()
	dot := p.lx.next()
	if !p.lx.isP(dot, '.') {
		p.lx.restore(s)
		return n1, nil
	}
	n2, ok := p.lx.name(p.lx.next())
	if !ok {
		return "", p.refuse("expected a name after %s.", Ident(n1))
	}
	// The qualifier is taken out only of a name read whole: without the
	// first part, "own.other.t" would name a table of database other.
	if p.lx.isP(p.lx.peek(), '.') {
		return "", p.refuseDB("a name of more than two parts (%s.%s. ...), which no dump writes", Ident(n1), Ident(n2))
	}
	if r := p.ownDatabase(n1, "names database"); r != nil {
		return "", r
	}
	return n2, p.cut(t, dot)
}

// names reads a list of object names.
func (p *parser) names() ([]string, *refusal) {
	var out []string
	for {
		n, r := p.objectName(p.next())
		if r != nil {
			return nil, r
		}
		out = append(out, n)
		s := p.lx.save()
		if !p.lx.isP(p.lx.next(), ',') {
			p.lx.restore(s)
			return out, nil
		}
	}
}

// insert reads INSERT or REPLACE ... VALUES of literal rows.
func (p *parser) insert() (Statement, *refusal) {
	replace := p.lx.upper(p.first[0]) == "REPLACE"
	t := p.next()
	for {
		u := p.lx.upper(t)
		if u != "LOW_PRIORITY" && u != "DELAYED" && u != "HIGH_PRIORITY" && u != "IGNORE" && u != "INTO" {
			break
		}
		if u == "IGNORE" && replace {
			return Statement{}, p.refuse("REPLACE IGNORE: no dump program writes it")
		}
		t = p.next()
	}
	name, r := p.objectName(t)
	if r != nil {
		return Statement{}, r
	}
	if p.g.whole && !p.g.tables[name] {
		return Statement{}, p.refuse("rows for %s, which the dump does not create: a data-only dump (--no-create-info) needs its tables from elsewhere", Ident(name))
	}
	t = p.next()
	if p.lx.isP(t, '(') {
		for {
			c := p.next()
			if c.kind != tWord && c.kind != tIdent {
				return Statement{}, p.refuse("expected a column name, found %q", p.lx.text(c))
			}
			t = p.next()
			if p.lx.isP(t, ')') {
				break
			}
			if !p.lx.isP(t, ',') {
				return Statement{}, p.refuse("expected , or ) in the column list, found %q", p.lx.text(t))
			}
		}
		t = p.next()
	}
	if u := p.lx.upper(t); u != "VALUES" && u != "VALUE" {
		return Statement{}, p.refuse("rows other than VALUES lists (found %q)", p.lx.text(t))
	}
	if r := p.rows(); r != nil {
		return Statement{}, r
	}
	return Statement{Class: ClassData, Kind: "insert into " + Ident(name), Table: name}, nil
}

// setval reads SELECT SETVAL(seq, n, n[, n]) or DO SETVAL(...), which the
// dump programs write for a sequence's position.
func (p *parser) setval() (Statement, *refusal) {
	if _, r := p.expectWord("SETVAL"); r != nil {
		return Statement{}, r
	}
	if !p.lx.isP(p.next(), '(') {
		return Statement{}, p.refuse("expected SETVAL(")
	}
	name, r := p.objectName(p.next())
	if r != nil {
		return Statement{}, r
	}
	if p.g.whole && !p.g.tables[name] {
		return Statement{}, p.refuse("the position of sequence %s, which the dump does not create", Ident(name))
	}
	for n := 0; ; n++ {
		t := p.next()
		if p.lx.isP(t, ')') && n >= 2 {
			break
		}
		if !p.lx.isP(t, ',') || n >= 3 {
			return Statement{}, p.refuse("SETVAL takes a sequence and two or three numbers")
		}
		v := p.next()
		if p.lx.isP(v, '-') {
			v = p.next()
		}
		if !isNumber(p.lx.text(v)) || v.kind != tWord {
			return Statement{}, p.refuse("SETVAL takes numbers, found %q", p.lx.text(v))
		}
	}
	if r := p.end(); r != nil {
		return Statement{}, r
	}
	return Statement{Class: ClassData, Kind: "setval of " + Ident(name), Table: name}, nil
}

// isNumber reports whether a word is an unsigned integer.
func isNumber(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// lock reads LOCK TABLES; the loaders skip it.
func (p *parser) lock() (Statement, *refusal) {
	if _, r := p.expectWord("TABLES", "TABLE"); r != nil {
		return Statement{}, r
	}
	for {
		if _, r := p.objectName(p.next()); r != nil {
			return Statement{}, r
		}
		t := p.next()
		if p.lx.is(t, "AS") {
			t = p.next()
		}
		if u := p.lx.upper(t); u != "READ" && u != "WRITE" && u != "LOW_PRIORITY" {
			if t.kind != tWord && t.kind != tIdent {
				return Statement{}, p.refuse("expected a lock type, found %q", p.lx.text(t))
			}
			t = p.next() // an alias
		}
		switch p.lx.upper(t) {
		case "READ":
			p.optWord("LOCAL")
		case "LOW_PRIORITY":
			if _, r := p.expectWord("WRITE"); r != nil {
				return Statement{}, r
			}
		case "WRITE":
			p.optWord("CONCURRENT")
		default:
			return Statement{}, p.refuse("expected READ or WRITE, found %q", p.lx.text(t))
		}
		t = p.next()
		if t.kind == tEOF {
			return Statement{Class: ClassSkip, Kind: "lock tables"}, nil
		}
		if !p.lx.isP(t, ',') {
			return Statement{}, p.refuse("unexpected %q", p.lx.text(t))
		}
	}
}

// ddl reads CREATE, DROP and ALTER statements.
func (p *parser) ddl(verb string) (Statement, *refusal) {
	var definer, view bool
	t := p.next()
loop:
	for {
		switch p.lx.upper(t) {
		case "OR":
			if _, r := p.expectWord("REPLACE"); r != nil || verb != "CREATE" {
				return Statement{}, p.refuse("unexpected OR")
			}
		case "ALGORITHM":
			view = true
			s := p.lx.save()
			if !p.lx.isP(p.lx.next(), '=') {
				p.lx.restore(s)
			}
			if p.next().kind != tWord {
				return Statement{}, p.refuse("ALGORITHM without a value")
			}
		case "DEFINER":
			if verb != "CREATE" {
				return Statement{}, p.refuse("DEFINER outside CREATE")
			}
			if r := p.definer(t); r != nil {
				return Statement{}, r
			}
			definer = true
		case "SQL":
			view = true
			if _, r := p.expectWord("SECURITY"); r != nil {
				return Statement{}, r
			}
			if _, r := p.expectWord("DEFINER", "INVOKER"); r != nil {
				return Statement{}, r
			}
		case "ONLINE", "IGNORE":
			if verb != "ALTER" {
				return Statement{}, p.refuse("unexpected %q", p.lx.text(t))
			}
		case "AGGREGATE":
			if verb != "CREATE" {
				return Statement{}, p.refuse("unexpected AGGREGATE")
			}
		default:
			break loop
		}
		t = p.next()
	}
	what := p.lx.upper(t)
	if t.kind == tWord {
		p.first = []tok{p.first[0], t}
	}
	switch what {
	case "TABLE", "SEQUENCE", "DATABASE", "SCHEMA":
		if definer || view {
			return Statement{}, p.refuse("DEFINER, ALGORITHM or SQL SECURITY on a %s", strings.ToLower(what))
		}
	case "VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT":
		if view && what != "VIEW" {
			return Statement{}, p.refuse("ALGORITHM or SQL SECURITY on a %s", strings.ToLower(what))
		}
	}
	switch what {
	case "TABLE", "SEQUENCE":
		return p.table(verb, what)
	case "VIEW":
		return p.view(verb)
	case "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT":
		return p.program(verb, what)
	case "DATABASE", "SCHEMA":
		return p.database(verb)
	}
	return Statement{}, p.refuse("not a statement a dump of one database writes")
}

// definer reads a DEFINER clause starting at t and cuts it out.
func (p *parser) definer(t tok) *refusal {
	last := t
	s := p.lx.save()
	if e := p.lx.next(); !p.lx.isP(e, '=') {
		p.lx.restore(s)
	} else {
		last = e
	}
	u := p.lx.next()
	if p.lx.is(u, "CURRENT_USER") {
		last = u
		s := p.lx.save()
		if p.lx.isP(p.lx.next(), '(') {
			if c := p.lx.next(); !p.lx.isP(c, ')') {
				return p.refuse("a DEFINER clause the gate cannot read")
			} else {
				last = c
			}
		} else {
			p.lx.restore(s)
		}
		return p.cutSpan(t, last)
	}
	if u.kind != tWord && u.kind != tIdent && u.kind != tString {
		return p.refuse("a DEFINER clause the gate cannot read")
	}
	last = u
	s = p.lx.save()
	if at := p.lx.next(); p.lx.isP(at, '@') {
		h := p.lx.next()
		if h.kind != tWord && h.kind != tIdent && h.kind != tString {
			return p.refuse("a DEFINER clause the gate cannot read")
		}
		last = h
	} else {
		p.lx.restore(s)
	}
	return p.cutSpan(t, last)
}

// cutSpan cuts from the start of a to the end of b, which must lie in the
// same conditional comment (or outside any) with nothing between them in
// another.
func (p *parser) cutSpan(a, b tok) *refusal {
	if a.region != b.region || (a.region != 0 && bytes.Contains(p.lx.b[a.s:b.e], []byte("*/"))) {
		return p.refuse("a clause split across conditional comments")
	}
	p.cuts = append(p.cuts, [2]int{a.s, b.e})
	return nil
}

// table reads CREATE, DROP and ALTER of a table or sequence.
func (p *parser) table(verb, what string) (Statement, *refusal) {
	noun := strings.ToLower(what)
	switch verb {
	case "DROP":
		names, r := p.dropNames(what == "TABLE")
		if r != nil {
			return Statement{}, r
		}
		if r := p.end(); r != nil {
			return Statement{}, r
		}
		if len(names) > 1 {
			return Statement{Class: ClassOther, Kind: "drop " + noun}, nil
		}
		return p.tableStatement("drop", noun, names[0], false), nil
	case "CREATE":
		if r := p.ifExists(true); r != nil {
			return Statement{}, r
		}
		name, r := p.objectName(p.next())
		if r != nil {
			return Statement{}, r
		}
		if r := p.scan(modeTable); r != nil {
			return Statement{}, r
		}
		return p.tableStatement("create", noun, name, true), nil
	}
	// ALTER
	if what != "TABLE" {
		return Statement{}, p.refuse("not a statement a dump writes")
	}
	name, r := p.objectName(p.next())
	if r != nil {
		return Statement{}, r
	}
	s := p.lx.save()
	if w := p.lx.upper(p.lx.next()); w == "DISABLE" || w == "ENABLE" {
		if p.lx.is(p.lx.next(), "KEYS") && p.lx.next().kind == tEOF {
			st := p.tableStatement("alter", noun, name, false)
			if st.Class == ClassTable {
				st.Class = ClassEnableKeys
				if w == "DISABLE" {
					st.Class = ClassDisableKeys
				}
			}
			return st, nil
		}
	}
	p.lx.restore(s)
	if r := p.scan(modeTable); r != nil {
		return Statement{}, r
	}
	return p.tableStatement("alter", noun, name, false), nil
}

// tableStatement classifies a statement about a table. mysqldump makes a
// stand-in table for each view early and drops it just before creating
// the view: once a name is known as a view, its table statements stay in
// order with the view's.
func (p *parser) tableStatement(verb, noun, name string, create bool) Statement {
	kind := verb + " " + noun + " " + Ident(name)
	if create {
		p.g.tables[name] = true
	}
	if p.g.views[name] {
		return Statement{Class: ClassObject, Kind: kind}
	}
	return Statement{Class: ClassTable, Kind: kind, Table: name, Create: create}
}

// dropNames reads what follows DROP TABLE, SEQUENCE or VIEW: IF EXISTS,
// the names, and with restrict a RESTRICT or CASCADE.
func (p *parser) dropNames(restrict bool) ([]string, *refusal) {
	if r := p.ifExists(false); r != nil {
		return nil, r
	}
	names, r := p.names()
	if r != nil {
		return nil, r
	}
	if restrict && !p.optWord("RESTRICT") {
		p.optWord("CASCADE")
	}
	return names, nil
}

// view reads CREATE and DROP VIEW.
func (p *parser) view(verb string) (Statement, *refusal) {
	switch verb {
	case "DROP":
		names, r := p.dropNames(true)
		if r != nil {
			return Statement{}, r
		}
		for _, n := range names {
			p.g.views[n] = true
		}
		return Statement{Class: ClassObject, Kind: "view"}, p.end()
	case "CREATE":
		if r := p.ifExists(true); r != nil {
			return Statement{}, r
		}
		name, r := p.objectName(p.next())
		if r != nil {
			return Statement{}, r
		}
		p.g.views[name] = true
		if r := p.scan(modeBody); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassObject, Kind: "view"}, nil
	}
	return Statement{}, p.refuse("not a statement a dump writes")
}

// program reads CREATE and DROP of a trigger, routine or event.
func (p *parser) program(verb, what string) (Statement, *refusal) {
	kind := map[string]string{"TRIGGER": "trigger", "PROCEDURE": "routine", "FUNCTION": "routine", "EVENT": "event"}[what]
	switch verb {
	case "DROP":
		if r := p.ifExists(false); r != nil {
			return Statement{}, r
		}
		if _, r := p.objectName(p.next()); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassObject, Kind: kind}, p.end()
	case "CREATE":
		if r := p.ifExists(true); r != nil {
			return Statement{}, r
		}
		if _, r := p.objectName(p.next()); r != nil {
			return Statement{}, r
		}
		if what == "TRIGGER" {
			if _, r := p.expectWord("BEFORE", "AFTER"); r != nil {
				return Statement{}, r
			}
			if _, r := p.expectWord("INSERT", "UPDATE", "DELETE"); r != nil {
				return Statement{}, r
			}
			if _, r := p.expectWord("ON"); r != nil {
				return Statement{}, r
			}
			if _, r := p.objectName(p.next()); r != nil {
				return Statement{}, r
			}
			for _, w := range []string{"FOR", "EACH", "ROW"} {
				if _, r := p.expectWord(w); r != nil {
					return Statement{}, r
				}
			}
			if p.optWord("FOLLOWS") || p.optWord("PRECEDES") {
				if _, r := p.objectName(p.next()); r != nil {
					return Statement{}, r
				}
			}
		}
		if r := p.scan(modeBody); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassObject, Kind: kind}, nil
	}
	return Statement{}, p.refuse("not a statement a dump writes")
}

// database reads CREATE, DROP and ALTER DATABASE. Creating or dropping the
// dump's own database is skipped (the load goes into its own database);
// ALTER DATABASE of the character set or collation, which dump programs
// write around routines, applies to the database being loaded.
func (p *parser) database(verb string) (Statement, *refusal) {
	switch verb {
	case "CREATE", "DROP":
		if r := p.ifExists(verb == "CREATE"); r != nil {
			return Statement{}, r
		}
		name, ok := p.lx.name(p.next())
		if !ok {
			return Statement{}, p.refuse("expected a database name")
		}
		if r := p.ownDatabase(name, strings.ToLower(verb)+" database"); r != nil {
			return Statement{}, r
		}
		return Statement{Class: ClassSkip, Kind: strings.ToLower(verb) + " database"}, nil
	}
	t := p.next()
	if u := p.lx.upper(t); u != "CHARACTER" && u != "CHARSET" && u != "COLLATE" && u != "DEFAULT" {
		name, ok := p.lx.name(t)
		if !ok {
			return Statement{}, p.refuse("expected a database name")
		}
		if r := p.ownDatabase(name, "alter database"); r != nil {
			return Statement{}, r
		}
		if r := p.cut(t, t); r != nil {
			return Statement{}, r
		}
		t = p.next()
	}
	seen := false
	for t.kind != tEOF {
		switch p.lx.upper(t) {
		case "DEFAULT":
		case "CHARACTER":
			if _, r := p.expectWord("SET"); r != nil {
				return Statement{}, r
			}
			fallthrough
		case "CHARSET", "COLLATE":
			v := p.next()
			if p.lx.isP(v, '=') {
				v = p.next()
			}
			if _, ok := p.lx.name(v); !ok && v.kind != tString {
				return Statement{}, p.refuse("expected a character set or collation")
			}
			seen = true
		default:
			return Statement{}, p.refuse("ALTER DATABASE other than of its character set or collation")
		}
		t = p.next()
	}
	if !seen {
		return Statement{}, p.refuse("ALTER DATABASE without a character set or collation")
	}
	return Statement{Class: ClassObject, Kind: "database options"}, nil
}

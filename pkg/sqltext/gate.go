package sqltext

import (
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
	// Text is the rows of a data statement of the plain shape as LOAD
	// DATA text, written in the pass that read it, with GateOptions.LoadText;
	// nil otherwise.
	Text *LoadText
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
	// LoadText writes the rows of each data statement of the plain shape
	// the dump programs write as LOAD DATA text (Statement.Text) in the
	// same pass that splits and gates it (datapass.go).
	LoadText bool

	// noPass reads data statements the usual way, for the tests that
	// compare the pass with it.
	noPass bool
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
	if sp != nil && !opts.noPass {
		sp.data = &dataPass{write: opts.LoadText}
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
	if d := g.sp.data; d != nil && d.done != nil && (!g.whole || g.tables[d.done.table]) {
		// Read whole by the pass, as the parser would read it (insert);
		// a table the dump does not create is for the parser to refuse.
		return Statement{Class: ClassData, Kind: "insert into " + Ident(d.done.table), Table: d.done.table,
			SQL: stmt, Owned: owned, Line: line, Text: d.done.text}, nil
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

package sqltext

// The gate's parser: its tools (tokens, refusals, cuts), a statement read by
// its first word, names and the dump's own database, and the statements the
// loaders skip (LOCK TABLES, USE, COMMIT).

import (
	"fmt"
	"strings"
)

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

func wordSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

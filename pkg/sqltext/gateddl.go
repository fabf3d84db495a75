package sqltext

// The gate's reading of definitions: CREATE, DROP and ALTER of tables,
// sequences, views, triggers, routines, events and the dump's own database,
// and the DEFINER clauses it cuts out.

import (
	"bytes"
	"strings"
)

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
			if p.g.whole && !p.g.tables[name] {
				// A data-only dump's, before its rows: refused as they
				// would be, before the server runs it on a missing table.
				return Statement{}, p.refuse("the keys of %s, which the dump does not create: a data-only dump (--no-create-info) needs its tables from elsewhere", Ident(name))
			}
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

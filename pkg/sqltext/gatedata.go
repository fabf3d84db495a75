package sqltext

// The gate's reading of data statements: INSERT and REPLACE ... VALUES of
// literal rows, and a sequence's SETVAL.

import (
	"bytes"
	"strings"
)

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

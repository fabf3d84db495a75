package fakedrive

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// query is a parsed files.list q expression.
//
// The subset understood is what rclone sends, and a little more:
//
//	'ID' in parents
//	name = 'x'   name != 'x'   name contains 'x'   (= ignores case, as Drive's does)
//	mimeType = 'x'   mimeType != 'x'   mimeType contains 'x'
//	trashed = true|false   starred = true|false   sharedWithMe = true|false
//	modifiedTime|createdTime  =, !=, <, <=, >, >=  'RFC 3339 time'
//	properties has { key='k' and value='v' }
//	and, or, not, parentheses
//
// Anything else is an "Invalid Value" error, as from Google, so that a
// change in what rclone sends shows up as a failing test.
type query struct {
	eval    func(*Server, *entry) bool
	parents []string // IDs named in "'ID' in parents" terms
}

type token struct {
	kind string // "str", "word", "op", "(", ")", "{", "}"
	text string
}

func lex(q string) ([]token, error) {
	var out []token
	rs := []rune(q)
	for i := 0; i < len(rs); {
		c := rs[i]
		switch {
		case unicode.IsSpace(c):
			i++
		case c == '(' || c == ')' || c == '{' || c == '}':
			out = append(out, token{kind: string(c)})
			i++
		case c == '\'':
			var b strings.Builder
			i++
			for {
				if i >= len(rs) {
					return nil, fmt.Errorf("unterminated string")
				}
				if rs[i] == '\\' && i+1 < len(rs) {
					b.WriteRune(rs[i+1])
					i += 2
					continue
				}
				if rs[i] == '\'' {
					i++
					break
				}
				b.WriteRune(rs[i])
				i++
			}
			out = append(out, token{kind: "str", text: b.String()})
		case c == '=' || c == '!' || c == '<' || c == '>':
			j := i + 1
			if j < len(rs) && rs[j] == '=' {
				j++
			}
			op := string(rs[i:j])
			if op == "!" {
				return nil, fmt.Errorf("unexpected '!'")
			}
			out = append(out, token{kind: "op", text: op})
			i = j
		case unicode.IsLetter(c) || unicode.IsDigit(c) || c == '_' || c == '.' || c == '-' || c == ':':
			j := i
			for j < len(rs) && (unicode.IsLetter(rs[j]) || unicode.IsDigit(rs[j]) || strings.ContainsRune("_.-:", rs[j])) {
				j++
			}
			out = append(out, token{kind: "word", text: string(rs[i:j])})
			i = j
		default:
			return nil, fmt.Errorf("unexpected %q", c)
		}
	}
	return out, nil
}

type parser struct {
	toks    []token
	pos     int
	parents []string
}

func parseQuery(q string) (*query, error) {
	toks, err := lex(q)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.pos].text+p.toks[p.pos].kind)
	}
	return &query{eval: e, parents: p.parents}, nil
}

type pred = func(*Server, *entry) bool

func (p *parser) peekWord(w string) bool {
	return p.pos < len(p.toks) && p.toks[p.pos].kind == "word" && strings.EqualFold(p.toks[p.pos].text, w)
}

func (p *parser) next() (token, error) {
	if p.pos >= len(p.toks) {
		return token{}, fmt.Errorf("unexpected end of query")
	}
	t := p.toks[p.pos]
	p.pos++
	return t, nil
}

func (p *parser) expect(kind, text string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if t.kind != kind || (text != "" && !strings.EqualFold(t.text, text)) {
		return fmt.Errorf("expected %s %s, got %q", kind, text, t.text)
	}
	return nil
}

func (p *parser) or() (pred, error) {
	l, err := p.and()
	if err != nil {
		return nil, err
	}
	for p.peekWord("or") {
		p.pos++
		r, err := p.and()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(s *Server, e *entry) bool { return a(s, e) || b(s, e) }
	}
	return l, nil
}

func (p *parser) and() (pred, error) {
	l, err := p.not()
	if err != nil {
		return nil, err
	}
	for p.peekWord("and") {
		p.pos++
		r, err := p.not()
		if err != nil {
			return nil, err
		}
		a, b := l, r
		l = func(s *Server, e *entry) bool { return a(s, e) && b(s, e) }
	}
	return l, nil
}

func (p *parser) not() (pred, error) {
	if p.peekWord("not") {
		p.pos++
		x, err := p.not()
		if err != nil {
			return nil, err
		}
		return func(s *Server, e *entry) bool { return !x(s, e) }, nil
	}
	if p.pos < len(p.toks) && p.toks[p.pos].kind == "(" {
		p.pos++
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		return x, p.expect(")", "")
	}
	return p.term()
}

func (p *parser) term() (pred, error) {
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if t.kind == "str" {
		if err := p.expect("word", "in"); err != nil {
			return nil, err
		}
		if err := p.expect("word", "parents"); err != nil {
			return nil, err
		}
		id := t.text
		p.parents = append(p.parents, id)
		return func(_ *Server, e *entry) bool { return slices.Contains(e.f.Parents, id) }, nil
	}
	if t.kind != "word" {
		return nil, fmt.Errorf("unexpected %q", t.kind)
	}
	field := t.text
	if field == "properties" {
		return p.properties()
	}
	opTok, err := p.next()
	if err != nil {
		return nil, err
	}
	op := opTok.text
	if opTok.kind == "word" && strings.EqualFold(op, "contains") {
		op = "contains"
	} else if opTok.kind != "op" {
		return nil, fmt.Errorf("expected an operator after %s", field)
	}
	val, err := p.next()
	if err != nil {
		return nil, err
	}
	switch field {
	case "name", "mimeType":
		if val.kind != "str" {
			return nil, fmt.Errorf("%s needs a string", field)
		}
		get := func(e *entry) string { return e.f.Name }
		if field == "mimeType" {
			get = func(e *entry) string { return e.f.MimeType }
		}
		v := val.text
		switch op {
		case "=":
			if field == "name" {
				return func(_ *Server, e *entry) bool { return strings.EqualFold(get(e), v) }, nil
			}
			return func(_ *Server, e *entry) bool { return get(e) == v }, nil
		case "!=":
			return func(_ *Server, e *entry) bool { return get(e) != v }, nil
		case "contains":
			return func(_ *Server, e *entry) bool { return strings.Contains(strings.ToLower(get(e)), strings.ToLower(v)) }, nil
		}
	case "trashed", "starred", "sharedWithMe":
		if val.kind != "word" || (val.text != "true" && val.text != "false") || (op != "=" && op != "!=") {
			return nil, fmt.Errorf("%s needs = or != and true or false", field)
		}
		want := (val.text == "true") == (op == "=")
		get := func(_ *Server, e *entry) bool { return e.f.Trashed }
		switch field {
		case "starred":
			get = func(_ *Server, e *entry) bool { return e.f.Starred }
		case "sharedWithMe":
			// The fake has no sharing: nothing is shared with anyone.
			get = func(*Server, *entry) bool { return false }
		}
		return func(s *Server, e *entry) bool { return get(s, e) == want }, nil
	case "modifiedTime", "createdTime":
		if val.kind != "str" {
			return nil, fmt.Errorf("%s needs a string", field)
		}
		ref, err := parseQueryTime(val.text)
		if err != nil {
			return nil, err
		}
		get := func(e *entry) string { return e.f.ModifiedTime }
		if field == "createdTime" {
			get = func(e *entry) string { return e.f.CreatedTime }
		}
		cmp := map[string]func(int) bool{
			"=": func(c int) bool { return c == 0 }, "!=": func(c int) bool { return c != 0 },
			"<": func(c int) bool { return c < 0 }, "<=": func(c int) bool { return c <= 0 },
			">": func(c int) bool { return c > 0 }, ">=": func(c int) bool { return c >= 0 },
		}[op]
		if cmp == nil {
			return nil, fmt.Errorf("bad operator %q for %s", op, field)
		}
		return func(_ *Server, e *entry) bool {
			t, err := time.Parse(time.RFC3339Nano, get(e))
			return err == nil && cmp(t.Compare(ref))
		}, nil
	}
	return nil, fmt.Errorf("unsupported term %s %s", field, op)
}

func parseQueryTime(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad time %q", v)
}

// properties parses "has { key='k' and value='v' }".
func (p *parser) properties() (pred, error) {
	if err := p.expect("word", "has"); err != nil {
		return nil, err
	}
	if err := p.expect("{", ""); err != nil {
		return nil, err
	}
	var key, value string
	for i, want := range []string{"key", "value"} {
		if i == 1 {
			if err := p.expect("word", "and"); err != nil {
				return nil, err
			}
		}
		if err := p.expect("word", want); err != nil {
			return nil, err
		}
		if err := p.expect("op", "="); err != nil {
			return nil, err
		}
		t, err := p.next()
		if err != nil || t.kind != "str" {
			return nil, fmt.Errorf("properties has needs string %s", want)
		}
		if i == 0 {
			key = t.text
		} else {
			value = t.text
		}
	}
	if err := p.expect("}", ""); err != nil {
		return nil, err
	}
	return func(_ *Server, e *entry) bool { v, ok := e.f.Properties[key]; return ok && v == value }, nil
}

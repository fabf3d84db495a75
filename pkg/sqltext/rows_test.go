package sqltext

import (
	"bytes"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestReadInsert(t *testing.T) {
	for _, c := range []struct {
		stmt    string
		ok      bool
		replace bool
		table   string
		columns []string
	}{
		{"INSERT INTO `t` VALUES (1),(2)", true, false, "t", nil},
		{"insert  into\n`a``b` VALUES\n(1)", true, false, "a`b", nil},
		{"REPLACE INTO `t` (`a`, `b``c`) VALUES (1,2)", true, true, "t", []string{"a", "b`c"}},
		{"INSERT INTO `t` (`a`,`b`) VALUES(1,2)", true, false, "t", []string{"a", "b"}},
		{"INSERT IGNORE INTO `t` VALUES (1)", false, false, "", nil},
		{"INSERT LOW_PRIORITY INTO `t` VALUES (1)", false, false, "", nil},
		{"INSERT INTO t VALUES (1)", false, false, "", nil},
		{"INSERT INTO `t` VALUE (1)", false, false, "", nil},
		{"INSERT INTO `t` /* c */ VALUES (1)", false, false, "", nil},
		{"INSERT INTO `t` (a) VALUES (1)", false, false, "", nil},
		{"INSERT INTO `t` () VALUES (1)", false, false, "", nil},
		{"INSERT INTO `` VALUES (1)", false, false, "", nil},
		{"INSERT INTO `t VALUES (1)", false, false, "", nil},
		{"INSERT INTO `t` VALUES", false, false, "", nil},
		{"INSERTINTO `t` VALUES (1)", false, false, "", nil},
		{"SELECT SETVAL(`s`, 1, 0, 0)", false, false, "", nil},
	} {
		in, ok := ReadInsert([]byte(c.stmt))
		if ok != c.ok {
			t.Errorf("%q: ok %v, want %v", c.stmt, ok, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if in.Replace != c.replace || in.Table != c.table || !reflect.DeepEqual(in.Columns, c.columns) || in.Values[0] != '(' {
			t.Errorf("%q: %+v", c.stmt, in)
		}
	}
}

func TestReadDropIfExists(t *testing.T) {
	for stmt, want := range map[string]string{
		"DROP TABLE IF EXISTS `t`":           "t",
		"drop table if exists\n`a``b`  \n":   "a`b",
		"DROP TABLE IF EXISTS `a`,`b`":       "",
		"DROP TABLE `t`":                     "",
		"DROP TABLE IF EXISTS t":             "",
		"DROP TEMPORARY TABLE IF EXISTS `t`": "",
		"DROP TABLE IF EXISTS `t` CASCADE":   "",
		"DROP TABLE IF EXISTS /* c */ `t`":   "",
		"DROP VIEW IF EXISTS `t`":            "",
		"DROP TABLE IF EXISTS `t":            "",
	} {
		got, ok := ReadDropIfExists([]byte(stmt))
		if got != want || ok != (want != "") {
			t.Errorf("%q: %q, %v; want %q", stmt, got, ok, want)
		}
	}
}

func TestAppendLoadText(t *testing.T) {
	N, T, B, O := FieldNumber, FieldText, FieldBinary, FieldOther
	for _, c := range []struct {
		values string
		kinds  []FieldKind
		want   string // "" for refused
	}{
		{`(1,'a'),(2,'b')`, []FieldKind{N, T}, "1\ta\n2\tb\n"},
		{"(1 , 'a' )\n,\n( -2.5e-3,NULL)", []FieldKind{N, T}, "1\ta\n-2.5e-3\t\\N\n"},
		{`('NULL',NULL,'\N','\\N','')`, []FieldKind{T, T, T, T, T}, "NULL\t\\N\tN\t\\\\N\t\n"},
		{`('a\%b\_c','\\%')`, []FieldKind{T, T}, "a\\\\%b\\\\_c\t\\\\%\n"},
		{`('t\tn\nr\rz\Zb\b0\0q\'d\"x\y')`, []FieldKind{T}, "t\\tn\\nr\rz\x1ab\b0\\0q'd\"xy\n"},
		{"('raw\ttab\nnl\x00nul')", []FieldKind{T}, "raw\\ttab\\nnl\\0nul\n"},
		{`('it''s',"d""q",'mix"''')`, []FieldKind{T, T, T}, "it's\td\"q\tmix\"'\n"},
		{`(_binary 'a\0b',_binary'c',0x00ff5c,X'0a09',0xabc,x'')`, []FieldKind{B, B, B, B, B, B}, "a\\0b\tc\t\\0\xff\\\\\t\\n\\t\t\\n\xbc\t\n"},
		{`('12','1e3',.5,+7)`, []FieldKind{N, N, N, N}, "12\t1e3\t.5\t+7\n"},
		{`(NULL)`, []FieldKind{O}, "\\N\n"},
		// Refused: a value its column does not take exactly.
		{`(1)`, []FieldKind{T}, ""},
		{`(0x41)`, []FieldKind{N}, ""},
		{`(0x41)`, []FieldKind{T}, ""},
		{`(_binary 'a')`, []FieldKind{T}, ""},
		{`(_utf8mb4 'a')`, []FieldKind{T}, ""},
		{`(_binary0x41)`, []FieldKind{B}, ""},
		{`(_binary 0b101)`, []FieldKind{B}, ""},
		{`(_binary 0123)`, []FieldKind{B}, ""},
		{`(N'a')`, []FieldKind{T}, ""},
		{`(b'101')`, []FieldKind{O}, ""},
		{`('a')`, []FieldKind{O}, ""},
		{`(X'abc')`, []FieldKind{B}, ""},
		{`(TRUE)`, []FieldKind{N}, ""},
		{`(DEFAULT)`, []FieldKind{N}, ""},
		{`(1e)`, []FieldKind{N}, ""},
		{`(1.2.3)`, []FieldKind{N}, ""},
		{`(1x)`, []FieldKind{N}, ""},
		{`(-)`, []FieldKind{N}, ""},
		// Refused: shapes.
		{`('')`, []FieldKind{T}, ""},
		{`(1,2)`, []FieldKind{N}, ""},
		{`(1)`, []FieldKind{N, N}, ""},
		{`(1),`, []FieldKind{N}, ""},
		{`(1);`, []FieldKind{N}, ""},
		{`(1) (2)`, []FieldKind{N}, ""},
		{`(1 /* c */)`, []FieldKind{N}, ""},
		{"(1\t)", []FieldKind{N}, ""},
		{`('unclosed)`, []FieldKind{T}, ""},
		{`('a\`, []FieldKind{T}, ""},
		{`(1`, []FieldKind{N}, ""},
		{``, []FieldKind{N}, ""},
		{`(1)`, nil, ""},
	} {
		got, rows, ok := AppendLoadText([]byte("keep:"), []byte(c.values), c.kinds)
		if c.want == "" {
			if ok {
				t.Errorf("%q: took it as %q, want refused", c.values, got)
			}
			continue
		}
		if !ok || string(got) != "keep:"+c.want || rows != strings.Count(c.want, "\n") {
			t.Errorf("%q: %q, %d rows, %v; want %q", c.values, got, rows, ok, c.want)
		}
	}
}

// loadUnescape is what LOAD DATA reads for a backslash and a letter.
var loadUnescape = map[byte]byte{'0': 0, 'b': '\b', 'n': '\n', 'r': '\r', 't': '\t', 'Z': 0x1a}

// readLoadText reads LOAD DATA text back as the server does with the
// options loader uses: nil for \N.
func readLoadText(t *testing.T, text []byte) [][]*string {
	var rows [][]*string
	var row []*string
	var field []byte
	null := false
	i := 0
	end := func() {
		if null {
			row = append(row, nil)
		} else {
			s := string(field)
			row = append(row, &s)
		}
		field, null = nil, false
	}
	for i < len(text) {
		c := text[i]
		switch c {
		case '\\':
			if i+1 >= len(text) {
				t.Fatalf("text ends in a backslash: %q", text)
			}
			e := text[i+1]
			if e == 'N' {
				if len(field) != 0 || (i+2 < len(text) && text[i+2] != '\t' && text[i+2] != '\n') {
					t.Fatalf("\\N inside a field: %q", text)
				}
				null = true
			} else if v, ok := loadUnescape[e]; ok {
				field = append(field, v)
			} else {
				field = append(field, e)
			}
			i += 2
		case '\t':
			end()
			i++
		case '\n':
			end()
			rows = append(rows, row)
			row = nil
			i++
		default:
			field = append(field, c)
			i++
		}
	}
	if len(field) != 0 || row != nil {
		t.Fatalf("text does not end with a line: %q", text)
	}
	return rows
}

// sqlValue is the value the server gives a literal the gate let through,
// written here from the server's rules: nil for NULL.
func sqlValue(lit []byte) (*string, bool) {
	s := string(lit)
	switch {
	case strings.EqualFold(s, "NULL"):
		return nil, true
	case strings.HasPrefix(strings.ToLower(s), "_binary"):
		rest := strings.TrimLeft(s[7:], " ")
		return sqlValue([]byte(rest))
	case strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X"):
		h := s[2:]
		if len(h)%2 == 1 {
			h = "0" + h
		}
		return unhexString(h)
	case len(s) >= 3 && (s[0] == 'x' || s[0] == 'X') && s[1] == '\'':
		return unhexString(s[2 : len(s)-1])
	case s[0] == '\'' || s[0] == '"':
		q := s[0]
		var out []byte
		for i := 1; i < len(s)-1; i++ {
			c := s[i]
			if c == q {
				i++ // a doubled quote
				out = append(out, q)
				continue
			}
			if c != '\\' {
				out = append(out, c)
				continue
			}
			i++
			switch e := s[i]; e {
			case 'n':
				out = append(out, '\n')
			case 't':
				out = append(out, '\t')
			case 'r':
				out = append(out, '\r')
			case '0':
				out = append(out, 0)
			case 'b':
				out = append(out, '\b')
			case 'Z':
				out = append(out, 0x1a)
			case '%', '_':
				out = append(out, '\\', e)
			default:
				out = append(out, e)
			}
		}
		v := string(out)
		return &v, true
	}
	return &s, true
}

func unhexString(h string) (*string, bool) {
	var out []byte
	for i := 0; i+1 < len(h); i += 2 {
		out = append(out, unhex(h[i])<<4|unhex(h[i+1]))
	}
	v := string(out)
	return &v, true
}

// FuzzAppendLoadText checks that what AppendLoadText takes, LOAD DATA
// reads back as the values the server gives the literals: same rows, same
// fields, same bytes, NULL where NULL.
func FuzzAppendLoadText(f *testing.F) {
	for _, s := range []string{
		`(1,'a'),(2,'b')`, `('a\%b\_c','\\%',NULL,'NULL')`, `('t\tn\nr\rz\Zb\b0\0q\'d\"x\y')`,
		"('raw\ttab\nnl\x00nul')", `('it''s',"d""q",'mix"''')`, `(_binary 'a\0b',0x00ff5c,X'0a09',0xabc)`,
		`(-1.5e-3,+2,.5,'7')`, "(1 , 'a' )\n,\n( 2,NULL)", `('\N','\\N')`, `(_binary 0b101,_binary 0123)`,
	} {
		f.Add([]byte(s), []byte{1, 2, 3})
	}
	f.Fuzz(func(t *testing.T, values, kindBytes []byte) {
		if len(kindBytes) == 0 || len(kindBytes) > 8 {
			return
		}
		kinds := make([]FieldKind, len(kindBytes))
		for i, k := range kindBytes {
			kinds[i] = FieldKind(k % 4)
		}
		text, rows, ok := AppendLoadText(nil, values, kinds)
		if !ok {
			return
		}
		// Read the rows as the gate does: it must have let them through.
		g := NewGate(NewSplitter(bytes.NewReader(append([]byte("INSERT INTO t VALUES "), append(values, ";\n"...)...))), GateOptions{Server: maria1011})
		st, err := g.Next()
		if err != nil || st.Class != ClassData {
			t.Fatalf("AppendLoadText took rows the gate refuses (%v): %q", err, values)
		}
		got := readLoadText(t, text)
		if len(got) != rows {
			t.Fatalf("%d rows reported, %d in the text %q", rows, len(got), text)
		}
		// The literals, cut as the gate cuts them.
		var want [][]*string
		b := values
		i := 0
		skip := func() {
			for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == ',' || b[i] == '(') {
				i++
			}
		}
		var row []*string
		for {
			skip()
			if i >= len(b) {
				break
			}
			if b[i] == ')' {
				want = append(want, row)
				row = nil
				i++
				continue
			}
			e := literalEnd(b, i)
			if e < 0 {
				t.Fatalf("no literal at %d of %q", i, values)
			}
			v, _ := sqlValue(b[i:e])
			row = append(row, v)
			i = e
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("rows %q\nread back as %s\nwant        %s", values, show(got), show(want))
		}
	})
}

func show(rows [][]*string) string {
	var b strings.Builder
	for _, r := range rows {
		for _, f := range r {
			if f == nil {
				b.WriteString("NULL ")
			} else {
				b.WriteString(strconv.Quote(*f) + " ")
			}
		}
		b.WriteString("| ")
	}
	return b.String()
}

package sqltext

// A data statement read in one pass: the splitter, at the start of a
// statement of the plain shape the dump programs write (INSERT INTO `t`
// [(`a`, ...)] VALUES (...),(...); or REPLACE INTO), reads its rows value
// by value, and in the same pass finds where it ends, checks each value as
// the gate's reading of rows does (gatedata.go), and, when asked, writes
// the rows as LOAD DATA text (rows.go). Anything off that shape (a
// comment, a blank other than space and newline, a value the gate
// refuses, another delimiter, a row over passMaxRow, the end of the
// stream) ends the pass: the statement is then read again from its start
// the usual way, split by scanCode and judged by the gate's parser, which
// decides. The pass lets through only statements the parser lets through,
// with the same text, class, table and line; FuzzDataPass holds it to that.

import "bytes"

const (
	// passMaxRow is the longest row the pass reads: a row is read again
	// from its start when the buffer ran out inside it (once at least a
	// sixteenth of the splitter's initial buffer more is read, see
	// Splitter.fill), so a longer one is left to the usual way.
	passMaxRow = 256 << 10
	// passMaxText is the most LOAD DATA text kept for one statement; the
	// text of a longer statement is not written in the pass (the loader
	// writes it itself into a buffer sized for it).
	passMaxText = 8 << 20
	// passMinText is the capacity a statement's text starts with.
	passMinText = 64 << 10
)

// The outcomes of Splitter.scanData.
const (
	passDone = iota // the statement ends here: read whole
	passMore        // the buffer ran out: go on from the last whole row
	passOff         // not for the pass: read the statement the usual way
)

// LoadText is the rows of a data statement as the text LOAD DATA reads
// (see AppendLoadText), written in the pass that split and gated the
// statement (GateOptions.LoadText).
type LoadText struct {
	Replace bool     // REPLACE INTO
	Columns []string // the statement's column list; nil when it has none
	Text    []byte   // the rows, a line each; the caller's to keep
	Rows    int
	// kinds holds, for each value of a row, the kinds of literal
	// (litNull, ...) it held in some row.
	kinds []uint8
}

// Fits reports whether the text gives columns of the given kinds, in the
// order of a row's values, the values the statement's literals give them:
// the same number of values, and no value a column does not take exactly
// (see FieldKind).
func (t *LoadText) Fits(kinds []FieldKind) bool {
	if len(kinds) != len(t.kinds) {
		return false
	}
	for i, k := range kinds {
		if int(k) >= len(takes) || t.kinds[i]&^takes[k] != 0 {
			return false
		}
	}
	return true
}

// dataPass is the state of the pass over one statement, kept between
// calls while the buffer is filled.
type dataPass struct {
	write bool // write LOAD DATA text

	at      int // where to go on, from the statement's start: 0 before the prefix, else a row's "("
	table   string
	columns []string
	replace bool
	text    []byte // nil when no text is written for the statement
	rows    int
	width   int // values in a row; -1 when rows differ
	kinds   []uint8
	// textAt and rowsAt are len(text) and rows at the row at "at", to go
	// back to when the buffer runs out in a row.
	textAt, rowsAt int
	textCap        int // the length of the last statement's text

	// done is what the pass read of the statement returned last; nil when
	// that statement was read the usual way.
	done *passed
}

// passed is a data statement the pass read whole.
type passed struct {
	table string
	text  *LoadText // nil when no text was written
}

// reset readies the pass for a new statement.
func (d *dataPass) reset() {
	d.at, d.table, d.columns, d.replace = 0, "", nil, false
	d.text, d.rows, d.width, d.kinds = nil, 0, 0, d.kinds[:0]
	d.textAt, d.rowsAt = 0, 0
}

// scanData reads the data statement at s.start in one pass (see above).
func (s *Splitter) scanData() ([]byte, int) {
	d := s.data
	b := s.buf[s.start:s.end]
	i := d.at
	if i == 0 {
		var st int
		if i, st = d.prefix(b); st != passDone {
			if st == passMore && len(b) > passMaxRow {
				st = passOff
			}
			return nil, st
		}
		d.at = i
		if d.write {
			d.text = make([]byte, 0, max(passMinText, d.textCap+d.textCap/8))
		}
	} else if d.text != nil {
		d.text = d.text[:d.textAt]
	}
	d.rows = d.rowsAt
	for {
		// A row starts at b[i] == '('.
		lineAt := len(d.text)
		i++
		values := 0
		for {
			for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
				i++
			}
			if i >= len(b) {
				return nil, d.more(b)
			}
			if values > 0 && d.text != nil {
				d.text = append(d.text, '\t')
			}
			var e int
			var lit uint8
			ok := false
			if d.text != nil {
				d.text, e, lit, ok = appendLiteral(d.text, b, i)
			}
			if !ok {
				// Not written (a literal the text cannot hold, or no
				// text): the gate's reading decides whether it is one.
				if e = literalEnd(b, i); e < 0 {
					if cut(b, i) {
						return nil, d.more(b)
					}
					return nil, passOff
				}
				d.text, lit = nil, 0
			}
			if e >= len(b) {
				// A number or a word may go on in the next read.
				return nil, d.more(b)
			}
			if values < len(d.kinds) {
				d.kinds[values] |= lit
			} else {
				d.kinds = append(d.kinds, lit)
			}
			values++
			i = e
			for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
				i++
			}
			if i >= len(b) {
				return nil, d.more(b)
			}
			if b[i] == ')' {
				i++
				break
			}
			if b[i] != ',' {
				return nil, passOff
			}
			i++
		}
		switch {
		case d.rows == 0 && d.width == 0:
			d.width = values
		case values != d.width:
			d.width = -1
		}
		if d.text != nil {
			if len(d.text) == lineAt {
				// One empty string: LOAD DATA would read an empty line.
				d.text = nil
			} else {
				d.text = append(d.text, '\n')
			}
		}
		d.rows++
		for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
			i++
		}
		if i >= len(b) {
			return nil, d.more(b)
		}
		switch b[i] {
		case ',':
			i++
			for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
				i++
			}
			if i >= len(b) {
				return nil, d.more(b)
			}
			if b[i] != '(' {
				return nil, passOff
			}
			if len(d.text) > passMaxText {
				d.text = nil
			}
			d.at, d.textAt, d.rowsAt = i, len(d.text), d.rows
		case ';':
			return s.passEmit(i), passDone
		default:
			return nil, passOff
		}
	}
}

// more goes back to the last whole row, to read on from there once more
// is buffered; a row longer than passMaxRow ends the pass.
func (d *dataPass) more(b []byte) int {
	if len(b)-d.at > passMaxRow {
		return passOff
	}
	return passMore
}

// cut reports whether the literal at b[i], which literalEnd did not take,
// may be one cut short by the end of the buffer: a string not closed in
// it, or anything else near its end.
func cut(b []byte, i int) bool {
	j := i
	switch c := b[j]; {
	case c == '_':
		for j++; j < len(b) && isWordByte(b[j]); j++ {
		}
		for j < len(b) && isSpace(b[j]) {
			j++
		}
	case (c == 'N' || c == 'n' || c == 'X' || c == 'x' || c == 'B' || c == 'b') && j+1 < len(b) && b[j+1] == '\'':
		j++
	}
	if j < len(b) && (b[j] == '\'' || b[j] == '"') {
		_, closed := stringEnd(b, j)
		return !closed
	}
	return len(b)-j < 64
}

// passEmit returns the statement that ends at the delimiter at s.start+i,
// read whole by the pass.
func (s *Splitter) passEmit(i int) []byte {
	d := s.data
	p := &passed{table: d.table}
	if d.text != nil && d.width > 0 && d.rows > 0 {
		p.text = &LoadText{Replace: d.replace, Columns: d.columns, Text: d.text, Rows: d.rows, kinds: append([]uint8(nil), d.kinds...)}
		d.textCap = len(d.text)
	}
	stmt := s.emit(s.start+i, s.start+i+1)
	d.reset()
	d.done = p
	return stmt
}

// prefix reads INSERT INTO `t` [(`a`, ...)] VALUES, or REPLACE INTO, with
// spaces and newlines between the words, up to the first row's "(", and
// returns where it is.
func (d *dataPass) prefix(b []byte) (int, int) {
	i := 0
	d.columns, d.replace = nil, false
	// word reads the word w, in any case, and the blanks after it;
	// blanks are required after it unless it is followed by one of then.
	word := func(w string, then string) int {
		if len(b)-i <= len(w) {
			return passMore
		}
		if !bytes.EqualFold(b[i:i+len(w)], []byte(w)) {
			return passOff
		}
		j := i + len(w)
		if c := b[j]; c != ' ' && c != '\n' && bytes.IndexByte([]byte(then), c) < 0 {
			return passOff
		}
		for j < len(b) && (b[j] == ' ' || b[j] == '\n') {
			j++
		}
		if j >= len(b) {
			return passMore
		}
		i = j
		return passDone
	}
	// ident reads a backtick-quoted name and the blanks after it.
	ident := func() (string, int) {
		if b[i] != '`' {
			return "", passOff
		}
		var name []byte
		k := i + 1
		for {
			n := bytes.IndexByte(b[k:], '`')
			if n < 0 {
				return "", passMore
			}
			name = append(name, b[k:k+n]...)
			k += n + 1
			if k >= len(b) {
				return "", passMore
			}
			if b[k] != '`' {
				break
			}
			name = append(name, '`')
			k++
		}
		if len(name) == 0 {
			return "", passOff
		}
		for k < len(b) && (b[k] == ' ' || b[k] == '\n') {
			k++
		}
		if k >= len(b) {
			return "", passMore
		}
		i = k
		return string(name), passDone
	}
	if len(b) < 1 {
		return 0, passMore
	}
	st := passOff
	switch b[0] {
	case 'I', 'i':
		st = word("INSERT", "")
	case 'R', 'r':
		st = word("REPLACE", "")
		d.replace = true
	}
	if st != passDone {
		return 0, st
	}
	if st = word("INTO", "`"); st != passDone {
		return 0, st
	}
	var name string
	if name, st = ident(); st != passDone {
		return 0, st
	}
	d.table = name
	if b[i] == '(' {
		i++
		for {
			for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
				i++
			}
			if i >= len(b) {
				return 0, passMore
			}
			var c string
			if c, st = ident(); st != passDone {
				return 0, st
			}
			d.columns = append(d.columns, c)
			if b[i] == ')' {
				i++
				break
			}
			if b[i] != ',' {
				return 0, passOff
			}
			i++
		}
		for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
			i++
		}
		if i >= len(b) {
			return 0, passMore
		}
	}
	if st = word("VALUES", "("); st != passDone {
		return 0, st
	}
	if b[i] != '(' {
		return 0, passOff
	}
	return i, passDone
}

package sqltext

import "bytes"

// Insert is a plain INSERT INTO or REPLACE INTO ... VALUES statement, as
// ReadInsert cuts it for LOAD DATA.
type Insert struct {
	Replace bool
	Table   string   // the table, as the statement names it (unqualified)
	Columns []string // the statement's column list; nil when it has none
	Values  []byte   // the rows: the text from the first "(" to the end
}

// ReadDropIfExists reports the table of a statement that is exactly DROP
// TABLE IF EXISTS `t` (any case, spaces and newlines between the words),
// as the dump programs write it before each table's definition.
func ReadDropIfExists(stmt []byte) (string, bool) {
	b := stmt
	i := 0
	for _, w := range []string{"DROP", "TABLE", "IF", "EXISTS"} {
		var ok bool
		if i, ok = readWord(b, i, w); !ok {
			return "", false
		}
	}
	name, end, ok := readIdent(b, i)
	if !ok {
		return "", false
	}
	for end < len(b) && (b[end] == ' ' || b[end] == '\n') {
		end++
	}
	if end != len(b) {
		return "", false
	}
	return name, true
}

// readWord reads the word w, in any case, at or after spaces and
// newlines from b[i], and returns the index after it.
func readWord(b []byte, i int, w string) (int, bool) {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
		i++
	}
	if len(b)-i <= len(w) || !bytes.EqualFold(b[i:i+len(w)], []byte(w)) || isWordByte(b[i+len(w)]) {
		return i, false
	}
	return i + len(w), true
}

// readIdent reads the backtick-quoted name at or after blanks from b[i],
// and returns it and the index after it.
func readIdent(b []byte, i int) (string, int, bool) {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
		i++
	}
	if i >= len(b) || b[i] != '`' {
		return "", i, false
	}
	var name []byte
	k := i + 1
	for {
		n := bytes.IndexByte(b[k:], '`')
		if n < 0 {
			return "", i, false
		}
		name = append(name, b[k:k+n]...)
		k += n + 1
		if k < len(b) && b[k] == '`' {
			name = append(name, '`')
			k++
			continue
		}
		break
	}
	return string(name), k, len(name) > 0
}

// ReadInsert cuts a data statement the gate has let through into its
// parts, when it has the plain shape the dump programs write:
// INSERT INTO `t` [(`a`, ...)] VALUES (...),... or REPLACE INTO, with
// nothing but spaces and newlines between the words, and no modifier
// (IGNORE, LOW_PRIORITY, ...). Anything else reports false, and the
// statement runs as it is.
func ReadInsert(stmt []byte) (Insert, bool) {
	var in Insert
	b := stmt
	i := 0
	word := func(w string) bool {
		end, ok := readWord(b, i, w)
		if ok {
			i = end
		}
		return ok
	}
	blank := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
			i++
		}
	}
	ident := func() (string, bool) {
		name, end, ok := readIdent(b, i)
		if ok {
			i = end
		}
		return name, ok
	}
	switch {
	case word("INSERT"):
	case word("REPLACE"):
		in.Replace = true
	default:
		return in, false
	}
	if !word("INTO") {
		return in, false
	}
	var ok bool
	if in.Table, ok = ident(); !ok {
		return in, false
	}
	blank()
	if i < len(b) && b[i] == '(' {
		i++
		for {
			c, ok := ident()
			if !ok {
				return in, false
			}
			in.Columns = append(in.Columns, c)
			blank()
			if i < len(b) && b[i] == ')' {
				i++
				break
			}
			if i >= len(b) || b[i] != ',' {
				return in, false
			}
			i++
		}
	}
	if !word("VALUES") {
		return in, false
	}
	blank()
	if i >= len(b) || b[i] != '(' {
		return in, false
	}
	in.Values = b[i:]
	return in, true
}

// FieldKind says which literal values a column takes from LOAD DATA text
// exactly as it takes them from an INSERT: the server stores a LOAD DATA
// field the way it stores a string literal, so a value converts only
// where the literal, read as a string, gives the column the same value.
type FieldKind uint8

// The kinds of column for AppendLoadText.
const (
	// FieldOther has no exact text form (BIT, YEAR, spatial types, types
	// of plugins): a statement with a value for it runs as it is.
	FieldOther FieldKind = iota
	// FieldNumber is an integer, DECIMAL, FLOAT or DOUBLE column: it takes
	// numbers, strings and NULL.
	FieldNumber
	// FieldText is a character, temporal, ENUM or SET column: it takes
	// strings (without an introducer) and NULL. A bare number is not
	// taken: 1e3 is "1000" to a VARCHAR, and 20240101 a date.
	FieldText
	// FieldBinary is a BINARY, VARBINARY or BLOB column: it takes strings,
	// _binary strings, hexadecimal literals and NULL, as bytes.
	FieldBinary
)

// AppendLoadText appends the rows of an Insert's Values to dst as the text
// LOAD DATA reads with FIELDS TERMINATED BY '\t' ESCAPED BY '\\' LINES
// TERMINATED BY '\n' (no enclosing character): each string's value,
// unescaped as the server reads the literal and escaped again for LOAD
// DATA, numbers as written, NULL as \N. kinds gives each field's column,
// in the order of the rows' values. It reports false, and dst is to be
// discarded, when the rows hold anything it cannot write exactly: a value
// its column's kind does not take, a row of another length, a comment or
// any blank but space and newline between values, a row that would be an
// empty line. Strings are read with backslash escapes (the gate refuses
// the sql_mode that turns them off), and the caller loads the text in the
// character set the statement's strings were in.
func AppendLoadText(dst, values []byte, kinds []FieldKind) (out []byte, rows int, ok bool) {
	b := values
	i := 0
	blank := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\n') {
			i++
		}
	}
	if len(kinds) == 0 {
		return dst, 0, false
	}
	for {
		blank()
		if i >= len(b) || b[i] != '(' {
			return dst, rows, false
		}
		i++
		lineStart := len(dst)
		for f := 0; ; f++ {
			if f >= len(kinds) {
				return dst, rows, false
			}
			if f > 0 {
				dst = append(dst, '\t')
			}
			blank()
			var good bool
			dst, i, good = appendValue(dst, b, i, kinds[f])
			if !good {
				return dst, rows, false
			}
			blank()
			if i >= len(b) {
				return dst, rows, false
			}
			if b[i] == ')' {
				if f != len(kinds)-1 {
					return dst, rows, false
				}
				i++
				break
			}
			if b[i] != ',' {
				return dst, rows, false
			}
			i++
		}
		if len(dst) == lineStart {
			// One empty string: LOAD DATA would read an empty line.
			return dst, rows, false
		}
		dst = append(dst, '\n')
		rows++
		blank()
		if i >= len(b) {
			return dst, rows, true
		}
		if b[i] != ',' {
			return dst, rows, false
		}
		i++
	}
}

// The kinds of literal a LOAD DATA field is written from, as bits: which
// of them a column takes decides whether the text gives it the value the
// literal gives it (see takes).
const (
	litNull   uint8 = 1 << iota // NULL
	litString                   // a quoted string without an introducer
	litNumber                   // a decimal number
	litBinary                   // a _binary string or a hexadecimal literal
)

// takes are the kinds of literal a column of each FieldKind takes from
// LOAD DATA text exactly as from the INSERT.
var takes = [...]uint8{
	FieldOther:  litNull,
	FieldNumber: litNull | litString | litNumber,
	FieldText:   litNull | litString,
	FieldBinary: litNull | litString | litBinary,
}

// appendValue writes the literal at b[i] as a LOAD DATA field for a column
// of kind k, and returns the index after it.
func appendValue(dst, b []byte, i int, k FieldKind) ([]byte, int, bool) {
	dst, e, lit, ok := appendLiteral(dst, b, i)
	if !ok || takes[k]&lit == 0 {
		return dst, i, false
	}
	return dst, e, true
}

// appendLiteral writes the literal at b[i] as a LOAD DATA field, and
// returns the index after it and its kind; ok is false for a literal the
// text cannot hold exactly whatever the column (N'...', b'...', an
// introducer other than _binary, ...). The text does not depend on the
// column: only whether the column takes it does.
func appendLiteral(dst, b []byte, i int) (out []byte, end int, lit uint8, ok bool) {
	if i >= len(b) {
		return dst, i, 0, false
	}
	c := b[i]
	next := func(j int) byte {
		if j < len(b) {
			return b[j]
		}
		return 0
	}
	switch {
	case c == '\'' || c == '"':
		dst, end, ok = appendString(dst, b, i)
		return dst, end, litString, ok
	case c == 'N' || c == 'n':
		if len(b)-i >= 4 && bytes.EqualFold(b[i:i+4], []byte("NULL")) && !isWordByte(next(i+4)) {
			return append(dst, '\\', 'N'), i + 4, litNull, true
		}
		return dst, i, 0, false
	case c == '_':
		if len(b)-i < 7 || !bytes.EqualFold(b[i:i+7], []byte("_binary")) {
			return dst, i, 0, false
		}
		j := i + 7
		for j < len(b) && b[j] == ' ' {
			j++
		}
		if j == i+7 && next(j) != '\'' && next(j) != '"' {
			return dst, i, 0, false
		}
		switch next(j) {
		case '\'', '"':
			dst, end, ok = appendString(dst, b, j)
		case '0', 'x', 'X':
			dst, end, ok = appendHex(dst, b, j)
		}
		return dst, end, litBinary, ok
	case c == '0' && (next(i+1) == 'x' || next(i+1) == 'X'), (c == 'x' || c == 'X') && next(i+1) == '\'':
		dst, end, ok = appendHex(dst, b, i)
		return dst, end, litBinary, ok
	case c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'):
		e := numberEnd(b, i)
		if e < 0 {
			return dst, i, 0, false
		}
		return append(dst, b[i:e]...), e, litNumber, true
	}
	return dst, i, 0, false
}

// numberEnd returns the end of the decimal number at b[i] (an optional
// sign, digits with an optional point, an optional exponent), or -1.
func numberEnd(b []byte, i int) int {
	j := i
	if b[j] == '-' || b[j] == '+' {
		j++
	}
	digits := 0
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
		digits++
	}
	if j < len(b) && b[j] == '.' {
		j++
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
			digits++
		}
	}
	if digits == 0 {
		return -1
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '-' || b[j] == '+') {
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
	if j < len(b) && (isWordByte(b[j]) || b[j] == '.') {
		return -1
	}
	return j
}

// loadEscape is what LOAD DATA text needs for a byte of a value: 0 for
// none, else the letter after the backslash.
var loadEscape = [256]byte{'\\': '\\', '\t': 't', '\n': 'n', 0: '0'}

// stopSingle and stopDouble are the bytes that end a run of plain bytes
// in a string quoted with ' or ": its quote, a backslash, and the bytes
// LOAD DATA text escapes.
var stopSingle, stopDouble = stops('\''), stops('"')

func stops(q byte) (t [256]bool) {
	for c, e := range loadEscape {
		t[c] = e != 0
	}
	t[q], t['\\'] = true, true
	return t
}

// appendString writes the value of the string literal at b[i] (quoted
// with ' or ", backslash escapes and doubled quotes read as the server
// reads them) as a LOAD DATA field.
func appendString(dst, b []byte, i int) ([]byte, int, bool) {
	q := b[i]
	stop := &stopSingle
	if q == '"' {
		stop = &stopDouble
	}
	j := i + 1
	for {
		// Copy the run of plain bytes.
		k := j
		for k < len(b) && !stop[b[k]] {
			k++
		}
		dst = append(dst, b[j:k]...)
		j = k
		if j >= len(b) {
			return dst, j, false
		}
		switch c := b[j]; {
		case c == q:
			if j+1 < len(b) && b[j+1] == q {
				dst = append(dst, q)
				j += 2
				continue
			}
			return dst, j + 1, true
		case c == '\\':
			if j+1 >= len(b) {
				return dst, j, false
			}
			var v byte
			switch e := b[j+1]; e {
			case 'n':
				v = '\n'
			case 't':
				v = '\t'
			case 'r':
				v = '\r'
			case '0':
				v = 0
			case 'b':
				v = '\b'
			case 'Z':
				v = 0x1a
			case '%', '_':
				// Outside a pattern the server keeps the backslash.
				dst = append(dst, '\\', '\\', e)
				j += 2
				continue
			default:
				v = e
			}
			if x := loadEscape[v]; x != 0 {
				dst = append(dst, '\\', x)
			} else {
				dst = append(dst, v)
			}
			j += 2
		default:
			dst = append(dst, '\\', loadEscape[c])
			j++
		}
	}
}

// appendHex writes the bytes of a hexadecimal literal (0x... or X'...')
// at b[i] as a LOAD DATA field.
func appendHex(dst, b []byte, i int) ([]byte, int, bool) {
	var digits []byte
	var end int
	if b[i] == '0' {
		if next := i + 1; next >= len(b) || (b[next] != 'x' && b[next] != 'X') {
			// 0b101 after _binary is bits, 0123 a number.
			return dst, i, false
		}
		j := i + 2
		for j < len(b) && isHex(b[j]) {
			j++
		}
		if j == i+2 || (j < len(b) && isWordByte(b[j])) {
			return dst, i, false
		}
		digits, end = b[i+2:j], j
	} else {
		j := i + 2
		for j < len(b) && isHex(b[j]) {
			j++
		}
		if j >= len(b) || b[j] != '\'' || (j-i-2)%2 != 0 {
			return dst, i, false
		}
		digits, end = b[i+2:j], j+1
	}
	if len(digits)%2 == 1 {
		// 0xabc is 0x0abc.
		dst = appendByte(dst, unhex(digits[0]))
		digits = digits[1:]
	}
	for k := 0; k < len(digits); k += 2 {
		dst = appendByte(dst, unhex(digits[k])<<4|unhex(digits[k+1]))
	}
	return dst, end, true
}

func appendByte(dst []byte, v byte) []byte {
	if x := loadEscape[v]; x != 0 {
		return append(dst, '\\', x)
	}
	return append(dst, v)
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

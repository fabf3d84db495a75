package sqltext

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// Splitter cuts the SQL text of a dump into statements the way the mariadb
// command-line client does, so that each one can be sent to the server on
// its own.
//
// It understands what mysqldump and mariadb-dump write: DELIMITER lines,
// quoted strings with backslash escapes and doubled quotes, backtick
// identifiers, "--", "#" and "/* */" comments, and conditional comments
// ("/*!40101 ... */"), which are code and are kept. Comments and blank lines
// before a statement are dropped, and so is mariadb-dump's sandbox-mode
// marker ("/*M!999999\- enable the sandbox mode */"), which no server
// executes. Comments inside a statement are kept and sent as written.
//
// DELIMITER is recognised only where a statement starts, which is the only
// place dump programs write it. Other client commands ("\g", "source") are
// not interpreted.
//
// Memory is bounded by the largest statement: the splitter holds one
// statement and a read buffer, and refuses a statement longer than
// MaxStatement.
type Splitter struct {
	// MaxStatement is the longest statement accepted, in bytes; a longer one
	// is an error rather than unbounded memory. Zero means 1 GiB, the
	// largest max_allowed_packet a server accepts.
	MaxStatement int
	// BytesRead, when not nil, counts the bytes read from the stream.
	BytesRead *atomic.Int64
	// Grew, when not nil, is called each time the buffer has grown past
	// 16 MiB, once the old one is no longer referenced: a caller that
	// must bound its memory can hand the old buffer back to the system
	// there (debug.FreeOSMemory), before the next one is allocated.
	Grew func()
	// Keep hands every statement over with the buffer that holds it (see
	// Owned), so that a caller that keeps statements needs no copies:
	// the splitter reads on into a new buffer whenever the one it has is
	// full, and never writes to a buffer it returned a statement from.
	Keep bool

	r       io.Reader
	buf     []byte
	start   int // first byte of the current statement
	pos     int // next byte to look at
	end     int // end of the data in buf
	state   int
	quote   byte
	delim   []byte
	special [256]bool
	eof     bool
	err     error // a read error other than io.EOF
	line    int64 // line number of buf[start]
	stmtAt  int64 // line number where the statement last returned began

	data    *dataPass // data statements read in one pass (datapass.go); nil for none
	size    int       // the buffer's initial size
	owned   bool      // the statement returned last is the caller's
	started bool      // a statement has been returned
	db      string    // the database the header names
	dbKnown bool
	source  Source // the server (or dump program) the header names
}

// Splitter states between two calls to scan.
const (
	stStart  = iota // before a statement: skipping blanks and comments
	stCode          // in a statement, outside quotes and comments
	stString        // in a quoted string or identifier; quote is the quote
	stBlock         // in a /* */ comment inside a statement
	stLine          // in a -- or # comment inside a statement
	stData          // in a data statement read in one pass (datapass.go)
)

// neverVersion is the version in a conditional comment that no server
// reaches; mariadb-dump uses it for its client-only sandbox marker.
const neverVersion = 999999

const (
	splitReadSize = 256 << 10
	splitMinBuf   = 1 << 20
	maxStatement  = 1 << 30
	// A statement this long is handed over with the buffer that holds it
	// (see Owned), so that a caller keeping it needs no copy.
	handOver = 1 << 20
	// Beyond this the buffer grows by a quarter at a time, not twice.
	slowGrowth = 16 << 20
	// keepBuffers is how many times its initial buffer the buffers are
	// that a Splitter that keeps every statement reads into (4 MiB): each
	// new one takes over the start of the statement that did not fit in
	// the last.
	keepBuffers = 4
)

// NewSplitter returns a splitter reading SQL text from r. The delimiter
// starts as ";".
func NewSplitter(r io.Reader) *Splitter { return newSplitterSize(r, splitMinBuf) }

// newSplitterSize starts with a buffer of size bytes, which grows as
// statements need.
func newSplitterSize(r io.Reader, size int) *Splitter {
	s := &Splitter{r: r, buf: make([]byte, size), size: size, line: 1}
	s.setDelimiter([]byte(";"))
	return s
}

func (s *Splitter) setDelimiter(d []byte) {
	s.delim = append([]byte(nil), d...)
	s.special = [256]bool{}
	for _, c := range []byte("'\"`-#/") {
		s.special[c] = true
	}
	s.special[s.delim[0]] = true
}

// Line returns the line number (from 1) where the statement returned last by
// Next began.
func (s *Splitter) Line() int64 { return s.stmtAt }

// Database returns the database the dump's header names, and whether it
// names one: both dump programs write "-- Host: HOST    Database: NAME"
// among the comments before the first statement. A comment after the first
// statement is not the header and is ignored.
func (s *Splitter) Database() (string, bool) { return s.db, s.dbKnown }

// Source returns what the dump's header says about where it comes from
// (see Source); the zero Source when it says nothing. Like Database, it is
// read only from the comments before the first statement.
func (s *Splitter) Source() Source { return s.source }

// header reads a comment line before the first statement.
func (s *Splitter) header(line []byte) {
	if s.started {
		return
	}
	s.source.read(trimRight(line))
	if s.dbKnown {
		return
	}
	rest, ok := bytes.CutPrefix(line, []byte("-- Host: "))
	if !ok {
		return
	}
	_, name, ok := bytes.Cut(rest, []byte("    Database: "))
	if !ok {
		return
	}
	name = trimRight(name)
	if len(name) > 0 {
		s.db, s.dbKnown = string(name), true
	}
}

// Owned reports whether the statement Next returned last is the caller's
// to keep: a statement of 1 MiB or more, or any statement with Keep, is
// handed over with the buffer that holds it, which the splitter never
// writes again (it reads on into a new one). A shorter statement is valid
// only until the next call.
func (s *Splitter) Owned() bool { return s.owned }

// Delimiter returns the delimiter in force.
func (s *Splitter) Delimiter() string { return string(s.delim) }

// ErrStatementTooLong is returned by Next for a statement longer than
// MaxStatement, which is most often a stream that is not SQL or an unclosed
// quote.
var ErrStatementTooLong = errors.New("statement too long")

// Next returns the next statement, without its delimiter and the comments
// before it, and with trailing blanks trimmed. The slice is valid until the
// next call. At the end of the stream it returns io.EOF; a stream that ends
// inside a quoted string or a comment is an error, since that is a
// truncated dump.
func (s *Splitter) Next() ([]byte, error) {
	if s.data != nil {
		s.data.done = nil
	}
	for {
		stmt, ok, err := s.scan()
		if err != nil {
			return nil, err
		}
		if ok {
			if len(stmt) == 0 {
				continue
			}
			return stmt, nil
		}
		if s.eof {
			if s.err != nil {
				return nil, s.err
			}
			return nil, io.EOF
		}
		if err := s.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more data, keeping buf[start:end] and making room as needed.
func (s *Splitter) fill() error {
	limit := s.MaxStatement
	if limit <= 0 {
		limit = maxStatement
	}
	if s.end-s.start > limit {
		return fmt.Errorf("statement at line %d: %w (over %d bytes)", s.line, ErrStatementTooLong, limit)
	}
	chunk := min(splitReadSize, len(s.buf)/2)
	if s.Keep && len(s.buf)-s.end < chunk && s.started {
		// The statements returned keep this buffer: the one being read
		// moves to a new one.
		rest := s.end - s.start
		size := max(keepBuffers*s.size, rest+splitReadSize)
		if rest+chunk > len(s.buf) {
			size = max(size, 2*len(s.buf))
			if len(s.buf) >= slowGrowth {
				size = max(rest+splitReadSize, len(s.buf)+len(s.buf)/4)
			}
		}
		nb := make([]byte, size)
		s.end = copy(nb, s.buf[s.start:s.end])
		s.pos -= s.start
		s.start = 0
		s.buf = nb
		if size > slowGrowth && s.Grew != nil {
			s.Grew()
		}
	}
	if len(s.buf)-s.end < chunk {
		if s.start > 0 {
			n := copy(s.buf, s.buf[s.start:s.end])
			s.pos -= s.start
			s.end = n
			s.start = 0
		}
		if len(s.buf)-s.end < chunk {
			// Twice the size while small; a quarter more once large,
			// so that the buffer is never much longer than the
			// statement it holds.
			size := 2 * len(s.buf)
			if len(s.buf) >= slowGrowth {
				size = len(s.buf) + len(s.buf)/4
			}
			nb := make([]byte, max(size, s.end+chunk))
			copy(nb, s.buf[:s.end])
			s.buf = nb
			if len(nb) > slowGrowth && s.Grew != nil {
				s.Grew()
			}
		}
	}
	// Reading at most a few chunks at a time leaves little in the buffer
	// behind a statement that is handed over. A data statement read in one
	// pass reads its last row again from its start after each read: it
	// waits for a sixteenth of the initial buffer (64 KiB) at least.
	at, want := s.end, 1
	if s.state == stData {
		want = max(1, s.size/16)
	}
	for s.end-at < want && !s.eof {
		n, err := s.r.Read(s.buf[s.end:min(len(s.buf), s.end+4*splitReadSize)])
		s.end += n
		if s.BytesRead != nil {
			s.BytesRead.Add(int64(n))
		}
		if err != nil {
			s.eof = true
			if !errors.Is(err, io.EOF) {
				s.err = fmt.Errorf("read dump: %w", err)
			}
		}
		if s.end == len(s.buf) {
			break
		}
	}
	return nil
}

// setStart moves the start of the statement forward to p, counting lines.
func (s *Splitter) setStart(p int) {
	s.line += int64(bytes.Count(s.buf[s.start:p], []byte{'\n'}))
	s.start = p
	s.pos = p
}

// emit ends the current statement at p (exclusive) with the delimiter
// after it ending at next.
func (s *Splitter) emit(p, next int) []byte {
	stmt := trimRight(s.buf[s.start:p])
	s.stmtAt = s.line
	s.started = s.started || len(stmt) > 0
	s.state = stStart
	s.setStart(next)
	if s.Keep {
		s.owned = true
		return stmt[:len(stmt):len(stmt)]
	}
	s.owned = len(stmt) >= handOver
	if s.owned {
		// The statement keeps the buffer; what follows it goes to a new
		// one.
		rest := s.buf[s.start:s.end]
		nb := make([]byte, max(s.size, len(rest)+splitReadSize))
		s.end = copy(nb, rest)
		s.pos -= s.start
		s.start = 0
		s.buf = nb
		stmt = stmt[:len(stmt):len(stmt)]
	}
	return stmt
}

func trimRight(b []byte) []byte {
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// isCommentDash reports whether the byte after "--" makes it a comment,
// as the server decides: whitespace or a control character.
func isCommentDash(c byte) bool { return c <= ' ' || c == 0x7f }

// scan looks for the end of the current statement in the buffered data. It
// returns ok with the statement, or !ok when it needs more data (or, at the
// end of the stream, when nothing is left).
func (s *Splitter) scan() (stmt []byte, ok bool, err error) {
	for {
		switch s.state {
		case stStart:
			done, err := s.scanStart()
			if err != nil || done {
				return nil, false, err
			}
		case stData:
			stmt, st := s.scanData()
			switch {
			case st == passDone:
				return stmt, true, nil
			case st == passMore && !s.eof:
				return nil, false, nil
			}
			// Read the statement again the usual way.
			s.data.reset()
			s.state = stCode
			s.pos = s.start
		case stCode:
			stmt, ok, more := s.scanCode()
			if ok {
				return stmt, true, nil
			}
			if more {
				if s.eof && s.state == stCode {
					if s.err != nil {
						return nil, false, nil
					}
					// The last statement may lack its delimiter; the client
					// runs it all the same.
					return s.emit(s.end, s.end), true, nil
				}
				if s.eof {
					// Inside a string or comment: the cases below say so.
					continue
				}
				return nil, false, nil
			}
		case stString:
			if !s.scanString() {
				if s.eof {
					return nil, false, s.truncated(fmt.Sprintf("inside a %c-quoted string", s.quote))
				}
				return nil, false, nil
			}
		case stBlock:
			k := bytes.Index(s.buf[s.pos:s.end], []byte("*/"))
			if k < 0 {
				if s.eof {
					return nil, false, s.truncated("inside a comment")
				}
				s.pos = max(s.pos, s.end-1)
				return nil, false, nil
			}
			s.pos += k + 2
			s.state = stCode
		case stLine:
			k := bytes.IndexByte(s.buf[s.pos:s.end], '\n')
			if k < 0 {
				s.pos = s.end
				if s.eof {
					if s.err != nil {
						return nil, false, nil
					}
					return s.emit(s.end, s.end), true, nil
				}
				return nil, false, nil
			}
			s.pos += k + 1
			s.state = stCode
		}
	}
}

func (s *Splitter) truncated(where string) error {
	if s.err != nil {
		return s.err
	}
	return fmt.Errorf("dump ends %s (statement at line %d): %w", where, s.line, io.ErrUnexpectedEOF)
}

// scanStart skips blanks, comments and DELIMITER lines before a statement.
// It returns done when it needs more data or the stream has ended, and
// leaves the state at stCode when a statement begins.
func (s *Splitter) scanStart() (done bool, err error) {
	for {
		b := s.buf[:s.end]
		p := s.pos
		for p < len(b) && isSpace(b[p]) {
			p++
		}
		s.setStart(p)
		if p == len(b) {
			return true, nil
		}
		// need reports whether fewer than n bytes are buffered at p while
		// more may come.
		need := func(n int) bool { return len(b)-p < n && !s.eof }
		switch c := b[p]; {
		case c == '#' || c == '-':
			if c == '-' {
				if need(3) {
					return true, nil
				}
				if !(len(b)-p >= 2 && b[p+1] == '-' && (len(b)-p == 2 || isCommentDash(b[p+2]))) {
					s.state = stCode
					return false, nil
				}
			}
			k := bytes.IndexByte(b[p:], '\n')
			if k < 0 {
				if !s.eof {
					return true, nil
				}
				s.header(b[p:])
				s.setStart(len(b))
				return true, nil
			}
			s.header(b[p : p+k])
			s.setStart(p + k + 1)
		case c == '/':
			if need(2) {
				return true, nil
			}
			if len(b)-p < 2 || b[p+1] != '*' {
				s.state = stCode
				return false, nil
			}
			if cond, v, more := conditionalVersion(b[p:], s.eof); more {
				return true, nil
			} else if cond && v < neverVersion {
				s.state = stCode
				return false, nil
			}
			k := bytes.Index(b[p+2:], []byte("*/"))
			if k < 0 {
				if !s.eof {
					return true, nil
				}
				return true, s.truncated("inside a comment")
			}
			s.setStart(p + 2 + k + 2)
		case c == 'd' || c == 'D':
			const kw = "delimiter"
			if need(len(kw) + 1) {
				return true, nil
			}
			if len(b)-p <= len(kw) || !bytes.EqualFold(b[p:p+len(kw)], []byte(kw)) || (b[p+len(kw)] != ' ' && b[p+len(kw)] != '\t') {
				s.state = stCode
				return false, nil
			}
			k := bytes.IndexByte(b[p:], '\n')
			if k < 0 {
				if !s.eof {
					return true, nil
				}
				k = len(b) - p
			}
			d, err := delimiterArg(b[p+len(kw) : p+k])
			if err != nil {
				return true, fmt.Errorf("line %d: %w", s.line, err)
			}
			s.setDelimiter(d)
			s.setStart(p + k)
		default:
			s.state = stCode
			if s.data != nil && len(s.delim) == 1 && s.delim[0] == ';' && (c|0x20 == 'i' || c|0x20 == 'r') {
				s.state = stData
			}
			return false, nil
		}
	}
}

// conditionalVersion reads the start of a comment at the start of b: cond
// tells a conditional comment ("/*!40101", "/*M!100101") from a plain one,
// and v is its version (0 when it has none, so that it always runs). more
// asks for more data.
func conditionalVersion(b []byte, eof bool) (cond bool, v int, more bool) {
	i := 2
	if len(b) > i && b[i] == 'M' {
		i++
	}
	if len(b) <= i {
		return false, 0, !eof
	}
	if b[i] != '!' {
		return false, 0, false
	}
	i++
	digits := 0
	for ; len(b) > i && b[i] >= '0' && b[i] <= '9' && digits < 6; i++ {
		v = v*10 + int(b[i]-'0')
		digits++
	}
	if len(b) <= i && digits < 6 && !eof {
		return false, 0, true
	}
	return true, v, false
}

// delimiterArg parses the argument of a DELIMITER line as the client does:
// the first word, or a quoted string.
func delimiterArg(arg []byte) ([]byte, error) {
	arg = bytes.TrimLeft(arg, " \t")
	arg = trimRight(arg)
	if len(arg) == 0 {
		return nil, errors.New("DELIMITER without a delimiter")
	}
	var d []byte
	if q := arg[0]; q == '\'' || q == '"' || q == '`' {
		k := bytes.IndexByte(arg[1:], q)
		if k < 0 {
			d = arg[1:]
		} else {
			d = arg[1 : 1+k]
		}
	} else {
		d = arg
		if k := bytes.IndexAny(arg, " \t"); k >= 0 {
			d = arg[:k]
		}
	}
	if len(d) == 0 || bytes.IndexByte(d, '\\') >= 0 {
		return nil, fmt.Errorf("DELIMITER %q: not a usable delimiter", arg)
	}
	return d, nil
}

// scanCode scans statement text outside quotes and comments. It returns ok
// with the statement at its delimiter, or more when the buffer ran out (the
// state and position are saved).
func (s *Splitter) scanCode() (stmt []byte, ok, more bool) {
	b := s.buf[:s.end]
	p := s.pos
	d := s.delim
	sp := &s.special
	for {
		for p < len(b) && !sp[b[p]] {
			p++
		}
		if p >= len(b) {
			s.pos = len(b)
			return nil, false, true
		}
		c := b[p]
		if c == d[0] {
			if len(b)-p < len(d) && !s.eof {
				s.pos = p
				return nil, false, true
			}
			if bytes.HasPrefix(b[p:], d) {
				return s.emit(p, p+len(d)), true, false
			}
		}
		switch c {
		case '\'', '"', '`':
			s.quote = c
			s.pos = p + 1
			if !s.scanString() {
				s.state = stString
				return nil, false, true
			}
			p = s.pos
		case '-':
			if len(b)-p < 3 && !s.eof {
				s.pos = p
				return nil, false, true
			}
			if len(b)-p >= 2 && b[p+1] == '-' && (len(b)-p == 2 || isCommentDash(b[p+2])) {
				k := bytes.IndexByte(b[p:], '\n')
				if k < 0 {
					s.state = stLine
					s.pos = len(b)
					return nil, false, true
				}
				p += k + 1
			} else {
				p++
			}
		case '#':
			k := bytes.IndexByte(b[p:], '\n')
			if k < 0 {
				s.state = stLine
				s.pos = len(b)
				return nil, false, true
			}
			p += k + 1
		case '/':
			if len(b)-p < 4 && !s.eof {
				s.pos = p
				return nil, false, true
			}
			if len(b)-p < 2 || b[p+1] != '*' {
				p++
				break
			}
			if rest := b[p+2:]; bytes.HasPrefix(rest, []byte("!")) || bytes.HasPrefix(rest, []byte("M!")) {
				// A conditional comment is code: its text runs, and the
				// closing "*/" is harmless outside a plain comment.
				p += 2
				break
			}
			k := bytes.Index(b[p+2:], []byte("*/"))
			if k < 0 {
				s.state = stBlock
				s.pos = p + 2
				return nil, false, true
			}
			p += 2 + k + 2
		default:
			p++
		}
	}
}

// scanString scans a quoted string or identifier from s.pos. It returns
// true with s.pos after the closing quote, or false with s.pos where to go
// on when more data comes. A doubled quote is read as a closing quote and a
// new opening one, which comes to the same. Backslash escapes apply in
// strings, not in backtick identifiers.
func (s *Splitter) scanString() bool {
	b := s.buf[:s.end]
	q := s.quote
	p := s.pos
	if q == '`' {
		k := bytes.IndexByte(b[p:], q)
		if k < 0 {
			s.pos = len(b)
			return false
		}
		s.pos = p + k + 1
		s.state = stCode
		return true
	}
	// qi caches the next quote at or after p, so that strings full of
	// backslashes stay linear.
	qi := -1
	for {
		if p > len(b) {
			// A backslash was the last byte: the escaped byte is yet to come.
			s.pos = p
			return false
		}
		if qi < p {
			k := bytes.IndexByte(b[p:], q)
			if k < 0 {
				qi = len(b)
			} else {
				qi = p + k
			}
		}
		k := bytes.IndexByte(b[p:qi], '\\')
		if k < 0 {
			if qi == len(b) {
				s.pos = len(b)
				return false
			}
			s.pos = qi + 1
			s.state = stCode
			return true
		}
		p += k + 2
	}
}

package sqltext

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// lineHead is how much of a line the filters look at. Every clause they act
// on sits at the start of a line, and a DEFINER clause is at most a few
// hundred bytes (user and host names are short), so a line longer than this
// is passed on after its head without being held in memory.
const lineHead = 4096

// StripDefiners returns the SQL text of r with the DEFINER clauses that
// mysqldump and mariadb-dump write for views, triggers, routines and events
// removed, so that a user without SUPER can load a dump whose objects were
// defined by users that do not exist locally. The objects then belong to the
// loading user (DEFINER defaults to CURRENT_USER); SQL SECURITY is kept.
//
// The forms removed are the ones the dump tools write at the start of a line:
//
//	/*!50003 CREATE*/ /*!50017 DEFINER=`u`@`h`*/ /*!50003 TRIGGER ...   (triggers)
//	/*!50106 CREATE*/ /*!50117 DEFINER=`u`@`h`*/ /*!50106 EVENT ...     (events)
//	/*!50013 DEFINER=`u`@`h` SQL SECURITY DEFINER */                    (views)
//	CREATE DEFINER=`u`@`h` PROCEDURE ...  (and FUNCTION, and the forms SHOW CREATE prints)
//
// Row data is never rewritten: lines that start an INSERT or REPLACE, and
// lines that start with "(" (mariadb-dump puts each row of an extended
// INSERT on its own line), are passed through without being scanned, and
// the dump tools escape newlines inside strings, so a row never starts a
// line of its own. Memory use is bounded whatever the line lengths.
func StripDefiners(r io.Reader) io.Reader {
	return newLineFilter(r, func(head []byte) ([]byte, error) {
		return stripDefinerHead(head), nil
	})
}

// StripDefiner removes the DEFINER clause from one CREATE statement, in the
// dump forms StripDefiners handles or as SHOW CREATE VIEW, TRIGGER,
// PROCEDURE, FUNCTION or EVENT prints it ("CREATE ALGORITHM=UNDEFINED
// DEFINER=`u`@`h` SQL SECURITY DEFINER VIEW ..."). Other text is returned
// unchanged.
func StripDefiner(stmt string) string {
	return string(stripDefinerHead([]byte(stmt)))
}

// ErrDatabaseStatement means a dump creates, drops or switches databases
// (it was made with --databases or --all-databases), so it cannot be loaded
// into a database of the restorer's choosing.
var ErrDatabaseStatement = errors.New("dump names databases (made with --databases or --all-databases?)")

// SingleDatabase returns the SQL text of r made to stay in the database the
// client is connected to. The dump tools name the dumped database in one
// kind of statement even without --databases: around a trigger, routine or
// event defined under another database collation they write "ALTER
// DATABASE `prod` CHARACTER SET ... ;". The name is taken out of those, so
// that they apply to the database being loaded (the default database).
//
// It fails with an error wrapping ErrDatabaseStatement at the first line
// outside row data and outside DELIMITER blocks that starts a USE, CREATE
// DATABASE or DROP DATABASE statement (also as SCHEMA, and inside a
// version comment): a dump made with --databases would write outside the
// staging database.
func SingleDatabase(r io.Reader) io.Reader {
	// Inside a DELIMITER block (the body of a routine, trigger or event) a
	// line is not the start of a statement of the dump itself.
	inBlock := false
	return newLineFilter(r, func(head []byte) ([]byte, error) {
		if out, ok := unnameAlterDatabase(head); ok {
			return out, nil
		}
		if j, ok := keyword(head, 0, "DELIMITER"); ok {
			inBlock = string(bytes.TrimSpace(head[j:])) != ";"
			return head, nil
		}
		if !inBlock && namesDatabase(head) {
			line := head
			if i := bytes.IndexByte(line, '\n'); i >= 0 {
				line = line[:i]
			}
			if len(line) > 80 {
				line = line[:80]
			}
			return nil, fmt.Errorf("%w: %q", ErrDatabaseStatement, line)
		}
		return head, nil
	})
}

// lineFilter hands the head of every line that is not row data to fn and
// writes what fn returns in its place; the rest of a long line is copied
// through as it streams.
type lineFilter struct {
	br      *bufio.Reader
	fn      func(head []byte) ([]byte, error)
	out     []byte // bytes ready for Read
	buf     []byte // owns out when it holds a rewritten head
	midLine bool   // the current line's head is done: copy through to '\n'
	err     error
}

func newLineFilter(r io.Reader, fn func(head []byte) ([]byte, error)) *lineFilter {
	return &lineFilter{br: bufio.NewReaderSize(r, 64<<10), fn: fn}
}

func (f *lineFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		if f.midLine {
			// ReadSlice hands out the reader's own buffer: no copy, and it
			// stays valid until out is drained and the reader is used again.
			chunk, err := f.br.ReadSlice('\n')
			if len(chunk) > 0 && chunk[len(chunk)-1] == '\n' {
				f.midLine = false
			}
			f.out = chunk
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				f.err = err
			}
			continue
		}
		head, err := f.br.Peek(lineHead)
		if err != nil && !errors.Is(err, io.EOF) {
			f.err = err
			continue
		}
		if len(head) == 0 {
			f.err = io.EOF
			continue
		}
		if isRowData(head) {
			f.midLine = true
			continue
		}
		n := bytes.IndexByte(head, '\n')
		if n >= 0 {
			head = head[:n+1]
		}
		out, ferr := f.fn(head)
		if ferr != nil {
			f.err = ferr
			continue
		}
		f.buf = append(f.buf[:0], out...)
		f.out = f.buf
		if _, err := f.br.Discard(len(head)); err != nil {
			f.err = err
		}
		// A line longer than the head goes on unscanned.
		f.midLine = n < 0
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// isRowData reports whether a line holds table rows: the start of an INSERT
// or REPLACE, or a row of an extended INSERT on a line of its own.
func isRowData(line []byte) bool {
	return bytes.HasPrefix(line, []byte("INSERT ")) ||
		bytes.HasPrefix(line, []byte("REPLACE ")) ||
		bytes.HasPrefix(line, []byte("("))
}

// stripDefinerHead removes one DEFINER clause at the start of a line (see
// StripDefiners for the forms). A head that does not match a form exactly
// is returned as it is.
func stripDefinerHead(line []byte) []byte {
	i := 0
	// "/*!50003 CREATE*/ " before a trigger's or event's DEFINER comment.
	if j, ok := versionOpen(line, i); ok {
		if k, ok := keyword(line, j, "CREATE"); ok && hasAt(line, k, "*/") {
			i = skipSpace(line, k+2)
		}
	}
	// "/*!50017 DEFINER=...*/ " or "/*!50013 DEFINER=... SQL SECURITY ...".
	if j, ok := versionOpen(line, i); ok {
		if start, end, ok := definerClause(line, j); ok {
			if hasAt(line, end, "*/") {
				// The whole comment goes, with the blank after it.
				return splice(line, i, skipOneSpace(line, end+2))
			}
			if end < len(line) && isSpace(line[end]) {
				return splice(line, start, skipOneSpace(line, end))
			}
			return line
		}
		// "/*!50001 CREATE ALGORITHM=... DEFINER=..." on one line.
		i = j
	}
	// "CREATE [OR REPLACE] [ALGORITHM=x] DEFINER=... " as routines are dumped
	// and as SHOW CREATE prints every kind of object.
	j, ok := keyword(line, skipSpace(line, i), "CREATE")
	if !ok {
		return line
	}
	j = skipSpace(line, j)
	if k, ok := keyword(line, j, "OR"); ok {
		if k, ok = keyword(line, skipSpace(line, k), "REPLACE"); !ok {
			return line
		}
		j = skipSpace(line, k)
	}
	if k, ok := keyword(line, j, "ALGORITHM"); ok {
		k = skipSpace(line, k)
		if !hasAt(line, k, "=") {
			return line
		}
		k = skipSpace(line, k+1)
		for k < len(line) && isWordByte(line[k]) {
			k++
		}
		j = skipSpace(line, k)
	}
	start, end, ok := definerClause(line, j)
	if !ok || end >= len(line) || !isSpace(line[end]) {
		return line
	}
	return splice(line, start, skipOneSpace(line, end))
}

// definerClause matches "DEFINER = user[@host]" at i and returns its span.
func definerClause(line []byte, i int) (start, end int, ok bool) {
	j, ok := keyword(line, i, "DEFINER")
	if !ok {
		return 0, 0, false
	}
	j = skipSpace(line, j)
	if !hasAt(line, j, "=") {
		return 0, 0, false
	}
	j = skipSpace(line, j+1)
	if k, ok := keyword(line, j, "CURRENT_USER"); ok {
		if hasAt(line, k, "()") {
			k += 2
		}
		return i, k, true
	}
	j, ok = userPart(line, j)
	if !ok {
		return 0, 0, false
	}
	if hasAt(line, j, "@") {
		if j, ok = userPart(line, j+1); !ok {
			return 0, 0, false
		}
	}
	return i, j, true
}

// userPart matches a user or host name: quoted with backticks, single or
// double quotes (doubled quotes and backslash escapes inside), or bare.
func userPart(line []byte, i int) (int, bool) {
	if i >= len(line) {
		return 0, false
	}
	switch q := line[i]; q {
	case '`', '\'', '"':
		for j := i + 1; j < len(line); j++ {
			switch {
			case line[j] == '\\' && q != '`':
				j++
			case line[j] == q:
				if j+1 < len(line) && line[j+1] == q {
					j++
					continue
				}
				return j + 1, true
			}
		}
		return 0, false
	}
	j := i
	for j < len(line) && (isWordByte(line[j]) || line[j] == '.' || line[j] == '%' || line[j] == '-') {
		j++
	}
	return j, j > i
}

// versionOpen matches "/*!NNNNN " or "/*M!NNNNNN " at i and returns the
// index after the blank.
func versionOpen(line []byte, i int) (int, bool) {
	if !hasAt(line, i, "/*") {
		return 0, false
	}
	j := i + 2
	if hasAt(line, j, "M") {
		j++
	}
	if !hasAt(line, j, "!") {
		return 0, false
	}
	j++
	d := j
	for j < len(line) && line[j] >= '0' && line[j] <= '9' {
		j++
	}
	if j-d < 5 || j-d > 6 || j >= len(line) || line[j] != ' ' {
		return 0, false
	}
	return j + 1, true
}

// keyword matches the word kw (any case) at i, not followed by a word byte.
func keyword(line []byte, i int, kw string) (int, bool) {
	j := i + len(kw)
	if j > len(line) || !bytes.EqualFold(line[i:j], []byte(kw)) {
		return 0, false
	}
	if j < len(line) && isWordByte(line[j]) {
		return 0, false
	}
	return j, true
}

func hasAt(line []byte, i int, s string) bool {
	return i <= len(line) && bytes.HasPrefix(line[i:], []byte(s))
}

func skipSpace(line []byte, i int) int {
	for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		i++
	}
	return i
}

func skipOneSpace(line []byte, i int) int {
	if i < len(line) && (line[i] == ' ' || line[i] == '\t') {
		return i + 1
	}
	return i
}

// splice returns line without line[from:to].
func splice(line []byte, from, to int) []byte {
	out := make([]byte, 0, len(line)-(to-from))
	out = append(out, line[:from]...)
	return append(out, line[to:]...)
}

// unnameAlterDatabase rewrites "ALTER DATABASE `name` CHARACTER SET ..."
// at the start of a line to "ALTER DATABASE CHARACTER SET ...".
func unnameAlterDatabase(line []byte) ([]byte, bool) {
	i := 0
	if j, ok := versionOpen(line, i); ok {
		i = j
	}
	j, ok := keyword(line, i, "ALTER")
	if !ok {
		return nil, false
	}
	j = skipSpace(line, j)
	k, ok := keyword(line, j, "DATABASE")
	if !ok {
		if k, ok = keyword(line, j, "SCHEMA"); !ok {
			return nil, false
		}
	}
	start := skipSpace(line, k)
	if start == k || start >= len(line) {
		return nil, false
	}
	for _, kw := range []string{"CHARACTER", "CHARSET", "COLLATE", "DEFAULT", "COMMENT"} {
		if _, ok := keyword(line, start, kw); ok {
			return nil, false // no name: it already applies to the default database
		}
	}
	end, ok := identifier(line, start)
	if !ok || end >= len(line) || (line[end] != ' ' && line[end] != '\t') {
		return nil, false
	}
	return splice(line, start, end+1), true
}

// identifier matches a backtick-quoted or bare identifier at i.
func identifier(line []byte, i int) (int, bool) {
	if i < len(line) && line[i] == '`' {
		return userPart(line, i)
	}
	j := i
	for j < len(line) && isWordByte(line[j]) {
		j++
	}
	return j, j > i
}

// namesDatabase reports whether a line starts a statement that switches,
// creates or drops a database, possibly inside a version comment.
func namesDatabase(line []byte) bool {
	i := 0
	if j, ok := versionOpen(line, i); ok {
		i = j
	}
	if _, ok := keyword(line, i, "USE"); ok {
		return true
	}
	for _, verb := range []string{"CREATE", "DROP"} {
		if j, ok := keyword(line, i, verb); ok {
			j = skipSpace(line, j)
			if _, ok := keyword(line, j, "DATABASE"); ok {
				return true
			}
			if _, ok := keyword(line, j, "SCHEMA"); ok {
				return true
			}
		}
	}
	return false
}

package dump

import "bytes"

// createTable starts every table definition mysqldump and mariadb-dump
// write. They escape newlines inside data, so a line that starts with it is
// always a statement, never row data.
const createTable = "CREATE TABLE "

// TableCounter is a writer that counts the lines of a dump's text that start
// a table definition, as the text streams past, keeping no more than the
// current line's first bytes. Views are not counted: the tools write their
// placeholders as CREATE VIEW (or inside /*!50001 ... */ comments).
type TableCounter struct {
	N int64 // table definitions seen so far
	// col is how much of createTable the current line has matched; -1
	// once the line cannot match.
	col int
}

// Write counts; it never fails.
func (t *TableCounter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		if t.col < 0 {
			i := bytes.IndexByte(p, '\n')
			if i < 0 {
				return n, nil
			}
			p, t.col = p[i+1:], 0
			continue
		}
		b := p[0]
		p = p[1:]
		switch {
		case b == '\n':
			t.col = 0
		case b == createTable[t.col]:
			t.col++
			if t.col == len(createTable) {
				t.N++
				t.col = -1
			}
		default:
			t.col = -1
		}
	}
	return n, nil
}

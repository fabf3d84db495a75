package loader

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-sql-driver/mysql"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// A data statement of the plain shape (INSERT INTO `t` [(cols)] VALUES
// ..., or REPLACE INTO) runs as LOAD DATA LOCAL INFILE fed from memory:
// the server stores a LOAD DATA field the way it stores a string literal,
// with much less work per row than reading an INSERT. The statement's
// rows are written as LOAD DATA text (sqltext.AppendLoadText) only where
// that gives every column the same value: each column's kind is read from
// information_schema, and a value its kind does not take, a column of a
// kind with no exact text form, or a session whose strings would read
// differently keeps the statement as it is. The text reaches the server
// through a reader registered with the Go driver for this one statement,
// never through a file: the driver serves no file (AllowAllFiles is off,
// no file is registered), and the gate still refuses LOAD DATA in a dump.
//
// Each LOAD DATA runs in a transaction of its own, and commits only when
// the server reports no warning and no note: LOAD DATA LOCAL turns errors
// into warnings (a duplicate key skips the row) and a note may mean a
// value was adjusted. Otherwise it is rolled back and the dump's own
// statement runs instead, with the dump's own outcome.

// defaultTextMin is the smallest data statement loaded as LOAD DATA: a
// small statement gains less than the extra round trips cost.
const defaultTextMin = 16 << 10

// textCharsets are the client character sets in which LOAD DATA reads
// the text as the server reads the statement's strings: a backslash, tab
// or newline byte is always that character.
var textCharsets = map[string]bool{"utf8mb4": true, "utf8mb3": true, "utf8": true, "latin1": true, "ascii": true}

// readerSeq numbers the readers registered with the driver.
var readerSeq atomic.Int64

// column is one column of a table, as LOAD DATA needs it.
type column struct {
	name      string
	kind      sqltext.FieldKind
	typ       string // information_schema's DATA_TYPE, lower case
	charset   string // its CHARACTER_SET_NAME, lower case; "" for none
	generated bool
	invisible bool
}

// tableDef is one definition of a table: its columns, read once, on first
// use, after the definition has run.
type tableDef struct {
	mu      sync.Mutex
	read    bool
	columns []column // nil when they could not be read
}

// session is what a connection's session settings mean for LOAD DATA,
// read again whenever the dump's settings have changed.
type session struct {
	at      int    // the number of the dump's settings applied when read
	charset string // the client character set, "" when LOAD DATA text would read differently
}

// get returns the table's columns, reading them on c the first time.
func (d *tableDef) get(ctx context.Context, c *sql.Conn, table string) []column {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.read {
		return d.columns
	}
	d.read = true
	rows, err := c.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, IFNULL(CHARACTER_SET_NAME, ''), EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", table)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var cols []column
	for rows.Next() {
		var name, typ, charset, extra string
		if err := rows.Scan(&name, &typ, &charset, &extra); err != nil {
			return nil
		}
		extra = strings.ToUpper(extra)
		typ, charset = strings.ToLower(typ), strings.ToLower(charset)
		cols = append(cols, column{name: name, kind: fieldKind(typ, charset), typ: typ, charset: charset,
			generated: strings.Contains(extra, "GENERATED") || strings.Contains(extra, "PERSISTENT"),
			invisible: strings.Contains(extra, "INVISIBLE")})
	}
	if rows.Err() != nil {
		return nil
	}
	d.columns = cols
	return cols
}

// fieldKind is the kind of a column of information_schema's DATA_TYPE typ.
func fieldKind(typ, charset string) sqltext.FieldKind {
	switch typ {
	case "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double":
		return sqltext.FieldNumber
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		if charset == "" || charset == "binary" {
			return sqltext.FieldOther
		}
		return sqltext.FieldText
	case "date", "datetime", "timestamp", "time", "uuid", "inet4", "inet6":
		return sqltext.FieldText
	case "binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob":
		return sqltext.FieldBinary
	}
	return sqltext.FieldOther
}

// plan returns the LOAD DATA statement and its kinds for the columns an
// INSERT gives values to, or false.
func plan(in sqltext.Insert, cols []column, charset, reader string) (string, []sqltext.FieldKind, bool) {
	if len(cols) == 0 {
		return "", nil, false
	}
	var named []column // the columns the statement gives values to, in order
	if in.Columns == nil {
		for _, c := range cols {
			if c.invisible {
				continue
			}
			if c.generated {
				return "", nil, false
			}
			named = append(named, c)
		}
	} else {
		seen := map[string]bool{}
		for _, n := range in.Columns {
			key := strings.ToLower(n)
			if seen[key] {
				return "", nil, false
			}
			seen[key] = true
			var found *column
			for i := range cols {
				if strings.EqualFold(cols[i].name, n) {
					found = &cols[i]
					break
				}
			}
			if found == nil || found.generated {
				return "", nil, false
			}
			named = append(named, *found)
		}
	}
	var b strings.Builder
	b.WriteString("LOAD DATA LOCAL INFILE ")
	b.WriteString(sqltext.Literal("Reader::" + reader))
	if in.Replace {
		b.WriteString(" REPLACE")
	}
	b.WriteString(" INTO TABLE ")
	b.WriteString(sqltext.Ident(in.Table))
	b.WriteString(" CHARACTER SET ")
	if asBytes(named, charset) {
		b.WriteString("binary")
	} else {
		b.WriteString(charset)
	}
	b.WriteString(" FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (")
	kinds := make([]sqltext.FieldKind, len(named))
	for i, c := range named {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(sqltext.Ident(c.name))
		kinds[i] = c.kind
	}
	b.WriteByte(')')
	return b.String(), kinds, true
}

// asBytes reports whether LOAD DATA may read the text of the columns named
// as bytes (CHARACTER SET binary) rather than in the session's
// character set: the server then reads each byte as it comes instead of
// asking the character set about every one (a fifth of its reading), and
// stores the same values. That holds for numbers, binary strings, dates and
// times, and character columns in the session's own character set, whose
// bytes are stored unconverted either way, and checked the same way: a
// byte sequence the column's character set does not allow is a warning,
// and the statement runs as the dump wrote it. It does not hold for a
// character column in another character set (its text is converted from
// the session's), ENUM and SET (a string of bytes is converted before it
// is looked up), UUID and INET (a string of bytes is their binary form),
// or any other type.
func asBytes(named []column, session string) bool {
	for _, c := range named {
		switch c.typ {
		case "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double",
			"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
			"date", "datetime", "timestamp", "time":
		case "char", "varchar", "tinytext", "text", "mediumtext", "longtext":
			if c.kind != sqltext.FieldText || !strings.EqualFold(c.charset, session) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// sessionCharset returns the character set LOAD DATA text is read in on
// c, or "" when the session's strings would read differently from it.
func (l *loader) sessionCharset(ctx context.Context, c *lconn) (string, error) {
	if c.sess != nil && c.sess.at == c.applied {
		return c.sess.charset, nil
	}
	var client, connection, mode string
	if err := c.c.QueryRowContext(ctx, "SELECT @@character_set_client, @@character_set_connection, @@sql_mode").Scan(&client, &connection, &mode); err != nil {
		return "", err
	}
	s := &session{at: c.applied}
	mode = strings.ToUpper(mode)
	if client == connection && textCharsets[strings.ToLower(client)] &&
		!strings.Contains(mode, "NO_BACKSLASH_ESCAPES") && !strings.Contains(mode, "EMPTY_STRING_IS_NULL") {
		s.charset = client
	}
	c.sess = s
	return s.charset, nil
}

// loadText runs the data statement it as LOAD DATA where it can; done is
// false when the statement is still to run as it is. The text is the one
// the gate wrote in the pass that read the statement (it.text); a
// statement without one (too large for the pass) has its text written
// here.
func (l *loader) loadText(ctx context.Context, c *lconn, it *item) (done bool, err error) {
	if l.noText.Load() || it.def == nil || len(it.sql) < l.textMin {
		return false, nil
	}
	// The dump's session settings first: they decide how strings read.
	if err := l.exec(ctx, c, &item{session: it.session}); err != nil {
		return false, err
	}
	in := sqltext.Insert{Table: it.name}
	if it.text != nil {
		in.Replace, in.Columns = it.text.Replace, it.text.Columns
	} else {
		var ok bool
		if in, ok = sqltext.ReadInsert(unsafeBytes(it.sql)); !ok {
			return false, nil
		}
	}
	charset, err := l.sessionCharset(ctx, c)
	if err != nil {
		return false, l.fail(ctx, it.kind, it.line, it.sql, err)
	}
	if charset == "" {
		return false, nil
	}
	cols := it.def.get(ctx, c.c, in.Table)
	name := fmt.Sprintf("backupd-%d", readerSeq.Add(1))
	stmt, kinds, ok := plan(in, cols, charset, name)
	if !ok {
		return false, nil
	}
	var text []byte
	if it.text != nil {
		if !it.text.Fits(kinds) {
			return false, nil
		}
		text = it.text.Text
	} else {
		// The text is about as long as the rows: a buffer of that size
		// up front leaves no outgrown copies behind for a large
		// statement.
		var rows int
		text, rows, ok = sqltext.AppendLoadText(make([]byte, 0, len(in.Values)+len(in.Values)/8+64), in.Values, kinds)
		if !ok || rows == 0 {
			return false, nil
		}
	}
	mysql.RegisterReaderHandler(name, func() io.Reader { return bytes.NewReader(text) })
	done, err = l.runText(ctx, c, it, stmt)
	mysql.DeregisterReaderHandler(name)
	it.text = nil
	if !done && cap(text) > maxKeptBuffer {
		// The dump's statement runs next, and the driver copies it: the
		// text goes back to the system first.
		text = nil
		debug.FreeOSMemory()
	}
	return done, err
}

// runText runs the LOAD DATA statement stmt for the data statement it;
// done is false when it rolled back and the statement is still to run.
func (l *loader) runText(ctx context.Context, c *lconn, it *item, stmt string) (done bool, err error) {
	for attempt := 1; ; attempt++ {
		ok, err := l.loadOnce(ctx, c, stmt)
		if err == nil {
			if ok {
				l.statements.Add(1)
				l.texts.Add(1)
				if l.executed != nil {
					l.executed.Add(int64(len(it.sql)))
				}
			}
			return ok, nil
		}
		if ctx.Err() != nil {
			return false, context.Cause(ctx)
		}
		if !mariadb.IsServerError(err) {
			return false, l.fail(ctx, it.kind, it.line, it.sql, err)
		}
		switch code := mariadb.Code(err); {
		case code == mariadb.ErLockDeadlock && attempt < 3:
			l.log.Warn("deadlock; running the statement again", "statement", it.kind, "line", it.line, "attempt", attempt)
			continue
		case code == erNotAllowedCommand || code == erLoadInfileDisabled:
			if !l.noText.Swap(true) {
				l.log.Info("loading rows as INSERT statements: the server does not take LOAD DATA LOCAL (local_infile is off)", "err", err)
			}
		default:
			l.log.Debug("LOAD DATA refused; running the dump's statement", "statement", it.kind, "line", it.line, "err", err)
		}
		return false, nil
	}
}

// Error numbers of a server that does not take LOAD DATA LOCAL.
const (
	erNotAllowedCommand  = 1148
	erLoadInfileDisabled = 4166
)

// rollbackTimeout bounds the ROLLBACK after a cancelled LOAD DATA.
const rollbackTimeout = 30 * time.Second

// unsafeBytes returns the bytes of s without a copy, for reading only.
func unsafeBytes(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// maxKeptBuffer is the largest text that waits for the garbage collector
// when the dump's statement runs after it: a larger one is handed back to
// the system first.
const maxKeptBuffer = 4 << 20

// loadOnce runs one LOAD DATA in a transaction of its own and commits it
// when the server reports no warning; ok is false when it rolled back.
func (l *loader) loadOnce(ctx context.Context, c *lconn, stmt string) (ok bool, err error) {
	if _, err := c.c.ExecContext(ctx, "START TRANSACTION"); err != nil {
		return false, err
	}
	defer func() {
		if !ok {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
			defer cancel()
			if _, rerr := c.c.ExecContext(rctx, "ROLLBACK"); rerr != nil && err == nil {
				err = rerr
			}
		}
	}()
	if _, err := c.c.ExecContext(ctx, stmt); err != nil {
		return false, err
	}
	var warnings int
	if err := c.c.QueryRowContext(ctx, "SELECT @@warning_count").Scan(&warnings); err != nil {
		return false, err
	}
	if warnings != 0 {
		if l.log.Enabled(ctx, slog.LevelDebug) {
			l.log.Debug("LOAD DATA gave warnings; running the dump's statement instead", "warnings", warnings, "first", firstWarning(ctx, c.c))
		}
		return false, nil
	}
	if _, err := c.c.ExecContext(ctx, "COMMIT"); err != nil {
		return false, err
	}
	return true, nil
}

// firstWarning returns the first warning of the last statement on c.
func firstWarning(ctx context.Context, c *sql.Conn) string {
	var level, msg string
	var code int
	if err := c.QueryRowContext(ctx, "SHOW WARNINGS LIMIT 1").Scan(&level, &code, &msg); err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%s %d: %s", level, code, msg)
}

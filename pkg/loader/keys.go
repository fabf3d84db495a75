package loader

import (
	"bytes"
	"context"

	"github.com/backupd/backupd/pkg/sqltext"
)

// An InnoDB table's plain secondary indexes may be taken out of its CREATE
// TABLE and added by one ALTER TABLE once its rows are in (see
// sqltext.DeferKeys): InnoDB builds an index added to a full table by
// sorting, which costs less than keeping it in order row by row. But the
// ALTER TABLE costs about as much as creating the table again, which a
// small table does not win back: on a database of thousands of small
// tables it would double the time spent on definitions. So the definition
// is held back while the table's first rows are read, and its indexes
// wait only if those rows reach KeysMin; otherwise, at the first statement
// of another kind, it runs as written. The rows read meanwhile (at most
// KeysMin and one statement) are held in memory outside the queue.

// defaultKeysMin is the size of rows from which a table's indexes wait.
const defaultKeysMin = 8 << 20

// held is a table definition held back, and what was read after it.
type held struct {
	name      string // the table's
	t         *tableState
	create    *item   // the definition as written
	createSQL string  // without the indexes that may wait
	alter     string  // the ALTER TABLE that adds them
	ctl       []*item // DISABLE KEYS and the like, after the definition
	rows      []heldRows
	bytes     int64
}

type heldRows struct {
	st      sqltext.Statement // SQL owned
	session []sessionStmt
}

// holdTable holds back a CREATE TABLE whose indexes may wait (it), and
// reports whether it did.
func (l *loader) holdTable(st sqltext.Statement, it *item, t *tableState) bool {
	if l.asWritten || !st.Create || st.Class != sqltext.ClassTable {
		return false
	}
	create, alter, ok := sqltext.DeferKeys(st.SQL, l.version)
	if !ok {
		return false
	}
	l.hold = &held{name: st.Table, t: t, create: it, createSQL: string(create), alter: alter}
	return true
}

// holdNext takes a statement read while a definition is held: the table's
// DISABLE KEYS and rows are held with it (the rows up to KeysMin, which
// decides), session settings and skipped statements go their usual way,
// and anything else first releases the definition as written. taken
// reports a statement held.
func (l *loader) holdNext(ctx context.Context, st sqltext.Statement) (taken bool, err error) {
	h := l.hold
	switch {
	case st.Class == sqltext.ClassSession || st.Class == sqltext.ClassSkip:
		return false, nil
	case st.Class == sqltext.ClassDisableKeys && st.Table == h.name:
		if h.t.innodb {
			l.stats.Skipped++
			return true, nil
		}
		h.ctl = append(h.ctl, &item{sql: sqlString(st), kind: st.Kind, line: st.Line, session: l.snapshot(), waitFor: h.t, waitN: h.t.sent})
		return true, nil
	case st.Class == sqltext.ClassData && st.Table == h.name:
		if !st.Owned {
			st.SQL = bytes.Clone(st.SQL)
			st.Owned = true
		}
		h.rows = append(h.rows, heldRows{st, l.snapshot()})
		h.bytes += int64(len(st.SQL))
		if h.bytes >= l.keysMin {
			return true, l.release(ctx, true)
		}
		return true, nil
	}
	return false, l.release(ctx, false)
}

// release sends the held definition, without the indexes that may wait
// when later is true (they are added once the rows are in, flushKeys),
// then what was held after it.
func (l *loader) release(ctx context.Context, later bool) error {
	h := l.hold
	if h == nil {
		return nil
	}
	l.hold = nil
	if later {
		h.create.sql = h.createSQL
		l.keysTaken = true
		l.laterKeys = append(l.laterKeys, &item{sql: h.alter, kind: "indexes of " + sqltext.Ident(h.name), line: h.create.line, table: h.t, keys: true})
	}
	if err := l.sendDef(ctx, h.t, h.create); err != nil {
		return err
	}
	for _, it := range h.ctl {
		if err := l.sendDef(ctx, h.t, it); err != nil {
			return err
		}
	}
	for _, r := range h.rows {
		if err := l.sendRows(ctx, r.st, r.session); err != nil {
			return err
		}
	}
	return nil
}

// waitForKeys has a definition with a foreign key wait until the indexes
// taken out so far are back: a foreign key needs an index on the columns
// it references when it is made (though not when the referenced table is
// made after it).
func (l *loader) waitForKeys(st sqltext.Statement, it *item) {
	if l.keysTaken && bytes.Contains(bytes.ToUpper(st.SQL), []byte("REFERENCES")) {
		it.waitAll = l.sent
	}
}

// flushKeys queues the ALTER TABLE of every table whose indexes wait: each
// runs on a data connection once the rows sent for its table are in, while
// the next tables load. The dispatcher calls it when a table's rows end
// (ENABLE KEYS, the next definition) and before every barrier.
func (l *loader) flushKeys(ctx context.Context) error {
	for _, it := range l.laterKeys {
		t := it.table
		it.session = l.snapshot()
		it.ready = t.ready
		it.waitFor = t
		it.waitN = t.sent
		t.sent++
		l.sent++
		select {
		case l.data <- it:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	l.laterKeys = nil
	return nil
}

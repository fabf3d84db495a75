package loader

import (
	"bytes"
	"context"

	"github.com/backupd/backupd/pkg/sqltext"
)

// keysLater takes the plain secondary indexes out of an InnoDB table's
// CREATE TABLE (it), to be added by one ALTER TABLE once the table's rows
// are in (see sqltext.DeferKeys and flushKeys). A foreign key needs an
// index on the columns it references when it is made (though not when
// the referenced table is made after it): a definition with REFERENCES
// waits until the indexes taken out so far are back.
func (l *loader) keysLater(st sqltext.Statement, it *item, t *tableState) {
	if l.asWritten {
		return
	}
	if bytes.Contains(bytes.ToUpper(st.SQL), []byte("REFERENCES")) {
		if l.keysTaken {
			it.waitAll = l.sent
		}
		return
	}
	if !st.Create {
		return
	}
	create, alter, ok := sqltext.DeferKeys(st.SQL, l.version)
	if !ok {
		return
	}
	it.sql = string(create)
	l.keysTaken = true
	l.laterKeys = append(l.laterKeys, &item{sql: alter, kind: "indexes of " + sqltext.Ident(st.Table), line: st.Line, table: t, keys: true})
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

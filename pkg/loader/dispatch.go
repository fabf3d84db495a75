package loader

// The dispatcher: reads the gated statements in dump order and hands each
// to the connection where it runs (see Load), with the session settings in
// force and what it must wait for; the barriers before statements that run
// alone and at the end.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"unsafe"

	"github.com/backupd/backupd/pkg/sqltext"
)

// sessionStmt is a session setting of the dump, replayed on every
// connection.
type sessionStmt struct {
	sql  string
	line int64
}

// item is one statement on its way to a connection.
type item struct {
	sql     string
	kind    string // for error messages
	line    int64
	session []sessionStmt // the settings in force at this statement

	// Data statements.
	table  *tableState
	name   string            // the table's
	text   *sqltext.LoadText // the rows as LOAD DATA text, when the gate wrote them
	def    *tableDef         // the table's definition in force
	ready  <-chan struct{}   // closed when the table's definition has run
	weight int64

	// Control statements.
	waitFor *tableState // wait until waitN of its data statements are done
	waitN   int64
	waitAll int64         // wait until this many data statements of all tables are done
	keys    bool          // adds the indexes taken out of a table's definition
	done    chan struct{} // closed when the statement has run
}

// tableState follows one table's data statements.
type tableState struct {
	sent  int64           // data statements sent (dispatcher only)
	done  counter         // data statements done
	ready <-chan struct{} // closed when the table's data may run
	empty bool            // the next data statement is the first since a definition
	def   *tableDef       // the definition in force, nil before one was read
	ctl   chan *item      // the control connection of its definitions
	// innodb: the definition in force is an InnoDB table's, whose DISABLE
	// KEYS and ENABLE KEYS do nothing and are skipped.
	innodb bool
}

func (l *loader) table(name string) *tableState {
	t := l.tables[name]
	if t == nil {
		t = &tableState{empty: true, ctl: l.ctls[l.next%len(l.ctls)]}
		l.next++
		l.tables[name] = t
	}
	return t
}

// snapshot returns the session settings read so far; later settings are
// appended beyond its capacity, so it never changes.
func (l *loader) snapshot() []sessionStmt {
	return l.session[:len(l.session):len(l.session)]
}

// dispatch reads the statements through the gate and hands each to its
// connection. A statement the gate refuses stops the load before it runs.
func (l *loader) dispatch(ctx context.Context, gate statements) error {
	for {
		st, err := gate.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("load dump: %w", err)
		}
		if l.hold != nil {
			taken, err := l.holdNext(ctx, st)
			if err != nil {
				return err
			}
			if taken {
				continue
			}
		}
		line := st.Line
		switch st.Class {
		case sqltext.ClassSession:
			l.session = append(l.session, sessionStmt{sqlString(st), line})
		case sqltext.ClassSkip:
			l.stats.Skipped++
		case sqltext.ClassData:
			if err := l.sendRows(ctx, st, l.snapshot()); err != nil {
				return err
			}
		case sqltext.ClassTable, sqltext.ClassDisableKeys:
			if l.noDrop(st) {
				l.stats.Skipped++
				continue
			}
			if st.Class == sqltext.ClassTable {
				if err := l.flushKeys(ctx); err != nil {
					return err
				}
			}
			t := l.table(st.Table)
			if st.Class == sqltext.ClassTable {
				t.innodb = st.Create && !l.asWritten && sqltext.IsInnoDB(st.SQL, l.version)
			} else if t.innodb {
				// DISABLE KEYS, which InnoDB ignores.
				l.stats.Skipped++
				continue
			}
			it := &item{sql: sqlString(st), kind: st.Kind, line: line, session: l.snapshot(), waitFor: t, waitN: t.sent}
			if st.Create {
				l.stats.Tables++
			}
			if l.holdTable(st, it, t) {
				continue
			}
			l.waitForKeys(st, it)
			if err := l.sendDef(ctx, t, it); err != nil {
				return err
			}
		case sqltext.ClassEnableKeys:
			if err := l.flushKeys(ctx); err != nil {
				return err
			}
			t := l.table(st.Table)
			if t.innodb {
				l.stats.Skipped++
				continue
			}
			l.enableKeys = append(l.enableKeys, &item{sql: sqlString(st), kind: st.Kind, line: line, session: l.snapshot(), waitFor: t})
		case sqltext.ClassObject:
			l.stats.Objects++
			l.deferred = append(l.deferred, &item{sql: sqlString(st), kind: st.Kind, line: line, session: l.snapshot()})
		default:
			if err := l.barrier(ctx); err != nil {
				return err
			}
			obj, err := l.objConn(ctx)
			if err != nil {
				return err
			}
			if err := l.exec(ctx, obj, &item{sql: sqlString(st), kind: st.Kind, line: line, session: l.snapshot()}); err != nil {
				return err
			}
		}
	}
	return l.barrier(ctx)
}

// noDrop reports a DROP TABLE IF EXISTS that has nothing to drop: the
// database was empty when the load started and the load has not met the
// table. The dump programs write one before every table's definition, and
// the server syncs its files for each even when there is no table; the
// restore always loads into a database it has just made.
func (l *loader) noDrop(st sqltext.Statement) bool {
	if !l.empty || st.Class != sqltext.ClassTable || st.Create || l.asWritten {
		return false
	}
	name, ok := sqltext.ReadDropIfExists(st.SQL)
	if !ok {
		return false
	}
	_, seen := l.tables[name]
	return !seen
}

// sendDef queues a table definition (or DISABLE KEYS) for the control
// connection: the table's data that follows waits for it.
func (l *loader) sendDef(ctx context.Context, t *tableState, it *item) error {
	done := make(chan struct{})
	it.done = done
	t.ready = done
	t.empty = true
	t.def = &tableDef{}
	select {
	case t.ctl <- it:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// sendRows queues a data statement, read under the session settings
// session. A statement as large as the queue runs alone: the next one is
// read only once it has run, so that no more than it and the driver's copy
// of it are held.
func (l *loader) sendRows(ctx context.Context, st sqltext.Statement, session []sessionStmt) error {
	big, err := l.sendData(ctx, st, session)
	if err != nil {
		return err
	}
	if big {
		if err := l.sem.Acquire(ctx, l.budget); err != nil {
			return context.Cause(ctx)
		}
		l.sem.Release(l.budget)
		debug.FreeOSMemory()
	}
	return nil
}

// sendData queues a data statement for the workers. Its weight in the
// queue is its size twice over, for the driver copies it into a packet of
// its own; big reports a statement that takes the whole queue.
func (l *loader) sendData(ctx context.Context, st sqltext.Statement, session []sessionStmt) (big bool, err error) {
	t := l.table(st.Table)
	it := &item{sql: sqlString(st), kind: st.Kind, line: st.Line, session: session, table: t, def: t.def, ready: t.ready,
		name: st.Table, text: st.Text}
	if t.empty {
		// The first INSERT into an empty table, with unique and foreign
		// key checks off, takes InnoDB's bulk path and locks the whole
		// table; a concurrent INSERT into the same table would deadlock
		// with it. The table's other statements wait for it.
		done := make(chan struct{})
		it.done = done
		t.ready = done
		t.empty = false
	}
	it.weight = min(2*int64(len(it.sql)), l.budget)
	big = it.weight == l.budget
	if big {
		// What the splitter's buffer grew through goes back to the
		// system before the driver copies the statement.
		debug.FreeOSMemory()
	}
	if err := l.sem.Acquire(ctx, it.weight); err != nil {
		return false, context.Cause(ctx)
	}
	t.sent++
	l.sent++
	select {
	case l.data <- it:
	case <-ctx.Done():
		return false, context.Cause(ctx)
	}
	return big, nil
}

// sqlString returns the statement as a string, without a copy when the
// statement is the caller's (large statements): the gate and the splitter
// never write to it again, so it cannot change under the string.
func sqlString(st sqltext.Statement) string {
	if st.Owned && len(st.SQL) > 0 {
		return unsafe.String(unsafe.SliceData(st.SQL), len(st.SQL))
	}
	return string(st.SQL)
}

// barrier waits until every statement read so far has run: table
// definitions, data, the ENABLE KEYS held back, and then the objects held
// back, which it runs on the object connection (opened here if needed).
func (l *loader) barrier(ctx context.Context) error {
	if err := l.release(ctx, false); err != nil {
		return err
	}
	if err := l.flushKeys(ctx); err != nil {
		return err
	}
	for _, it := range l.enableKeys {
		it.waitN = it.waitFor.sent
		select {
		case it.waitFor.ctl <- it:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	l.enableKeys = nil
	for _, ch := range l.ctls {
		done := make(chan struct{})
		select {
		case ch <- &item{done: done}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		select {
		case <-done:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	if err := l.allDone.wait(ctx, l.sent); err != nil {
		return err
	}
	if len(l.deferred) == 0 {
		return nil
	}
	obj, err := l.objConn(ctx)
	if err != nil {
		return err
	}
	for _, it := range l.deferred {
		if err := l.exec(ctx, obj, it); err != nil {
			return err
		}
	}
	l.deferred = nil
	return nil
}

// objConn returns the connection for objects and other statements, opening
// it on first use. (exec brings its session settings up to date before
// each statement it runs there.)
func (l *loader) objConn(ctx context.Context) (*lconn, error) {
	if l.obj == nil {
		c, err := l.open(ctx)
		if err != nil {
			return nil, err
		}
		l.obj = c
	}
	return l.obj, nil
}

// Package loader runs the SQL text of one mysqldump or mariadb-dump stream
// into a database: Load (and Parallel) over several connections of the Go
// driver, Client through the mariadb command-line client.
package loader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// Options tune Load. The zero value is ready to use.
type Options struct {
	// Parallel is the number of connections that run data statements.
	// Zero means the number of CPUs, and at least 2.
	Parallel int
	// QueueBytes bounds the statements read ahead of the server, in bytes;
	// zero means 64 MiB. A single statement larger than that still runs,
	// alone.
	QueueBytes int64
	// Log receives debug lines about settings and a summary; nil discards.
	Log *slog.Logger
	// Raw, when not nil, counts the SQL bytes read from the stream.
	Raw *atomic.Int64
	// Executed, when not nil, counts the SQL bytes of the statements the
	// server has run.
	Executed *atomic.Int64
	// Rules are the gate's (see Rules).
	Rules Rules
	// AsWritten runs every statement as the dump wrote it: rows as
	// INSERTs, never as LOAD DATA (see loaddata.go), and each table with
	// its indexes (see sqltext.DeferKeys).
	AsWritten bool
	// TextMin is the size from which a data statement may run as LOAD
	// DATA; zero means 16 KiB.
	TextMin int
	// KeysMin is the size of rows a table's first data statements must
	// reach for its secondary indexes to be built after the rows; zero
	// means 8 MiB (see keys.go).
	KeysMin int64
}

// Stats describes a finished load.
type Stats struct {
	Bytes      int64 // SQL bytes read
	Statements int64 // statements run, not counting session settings replayed on each connection
	Inserts    int64 // data statements
	Texts      int64 // data statements run as LOAD DATA
	Keys       int64 // tables whose secondary indexes were built after their rows
	Tables     int64 // CREATE TABLE statements
	Objects    int64 // statements about views, triggers, routines and events
	Skipped    int64 // LOCK/UNLOCK TABLES, USE, CREATE/DROP DATABASE, COMMIT and the like
	Parallel   int
	Duration   time.Duration
}

// StatementError is a statement of the dump that the server refused.
type StatementError struct {
	Kind   string // what the statement does: "insert into `t`", "view", ...
	Line   int64  // where the statement starts in the dump
	Prefix string // the start of the statement, quoted
	Err    error  // the server's error
}

func (e *StatementError) Error() string {
	return fmt.Sprintf("load dump: %s at line %d (%s): %v", e.Kind, e.Line, e.Prefix, e.Err)
}

func (e *StatementError) Unwrap() error { return e.Err }

// Load runs the SQL text of one mysqldump or mariadb-dump stream (of a
// single database) into conn.Database over several connections, and
// returns when everything has run or at the first error.
//
// Every statement goes through sqltext.Gate first, which reads it as this
// server will and refuses, before it runs, anything a dump of one
// database does not write (other databases, users and grants, global
// settings, files, ...); the load then fails with a *sqltext.RefusedError.
// The gate takes the dump's own database name and DEFINER clauses out of
// what it lets through, and classifies it:
//   - session settings (SET ...) are replayed, in dump order, on every
//     connection before the next statement that connection runs, so each
//     statement sees the settings the dump meant for it;
//   - table definitions (DROP/CREATE/ALTER TABLE) run on up to four
//     control connections (twice Parallel), each table's in dump order on
//     one of them, and a table's data waits for its definition;
//   - data (INSERT/REPLACE ... VALUES, SETVAL) is spread over Parallel
//     connections, each statement in its own transaction, plain INSERTs as
//     LOAD DATA (loaddata.go); the plain secondary indexes of large InnoDB
//     tables are built after their rows (keys.go);
//   - LOCK TABLES/UNLOCK TABLES, COMMIT, USE and CREATE/DROP DATABASE of the
//     dump's own database are skipped: the load always goes into
//     conn.Database. ALTER TABLE ... ENABLE KEYS is run once all data is in;
//   - views, triggers, routines and events (and ALTER DATABASE, which
//     dump programs write around routines) run after all data, in dump
//     order, on one connection. Triggers thus never fire on loaded rows;
//   - a DROP TABLE of several tables waits for everything before it, then
//     runs on its own.
//
// Every connection runs with foreign_key_checks and unique_checks off,
// and, where the user may, sql_log_bin off; innodb_flush_log_at_trx_commit
// is set to 2 for the load and put back afterwards where the user may set
// it. Load does not create or empty the database, and on error leaves what
// it loaded so far.
func Load(ctx context.Context, r io.Reader, conn mariadb.Conn, opts Options) (Stats, error) {
	start := time.Now()
	if conn.Database == "" {
		return Stats{}, errors.New("load dump: no database named")
	}
	n := opts.Parallel
	if n <= 0 {
		n = max(runtime.NumCPU(), 2)
	}
	budget := opts.QueueBytes
	if budget <= 0 {
		budget = 64 << 20
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	db, err := conn.OpenDB(log, true)
	if err != nil {
		return Stats{}, fmt.Errorf("load dump: %w", err)
	}
	defer db.Close()
	// The data connections, the control connections, the object
	// connection and one for the pool's own queries.
	nctl := min(2*n, controlConns)
	db.SetMaxOpenConns(n + nctl + 2)
	db.SetMaxIdleConns(n + nctl + 2)

	l := &loader{
		db:       db,
		log:      log,
		budget:   budget,
		sem:      semaphore.NewWeighted(budget),
		executed: opts.Executed,
		data:     make(chan *item, 2*n),
		tables:   map[string]*tableState{},
		views:    map[string]bool{},
		binlog:   true,
		textMin:  opts.TextMin,
	}
	if l.textMin <= 0 {
		l.textMin = defaultTextMin
	}
	l.keysMin = opts.KeysMin
	if l.keysMin <= 0 {
		l.keysMin = defaultKeysMin
	}
	l.noText.Store(opts.AsWritten)
	l.asWritten = opts.AsWritten
	l.stats.Parallel = n

	undo := l.tuneServer(ctx)
	defer undo()

	srv, err := askServer(ctx, db, conn, opts.Rules)
	if err != nil {
		return l.stats, err
	}
	l.version = srv.version
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()").Scan(&tables); err != nil {
		return l.stats, fmt.Errorf("load dump: list tables of %s: %w", conn.Database, err)
	}
	l.empty = tables == 0
	// Definitions run on several connections: each costs the server a
	// few syncs of its files, which the connections overlap, on one core
	// as well.
	ctlConns := make([]*lconn, nctl)
	for i := range ctlConns {
		if ctlConns[i], err = l.open(ctx); err != nil {
			return l.stats, err
		}
		defer ctlConns[i].close()
		l.ctls = append(l.ctls, make(chan *item, 16))
	}
	workers := make([]*lconn, n)
	for i := range workers {
		if workers[i], err = l.open(ctx); err != nil {
			return l.stats, err
		}
		defer workers[i].close()
	}

	read := opts.Raw
	if read == nil {
		read = new(atomic.Int64)
	}
	before := read.Load()
	gate := srv.gate(r, read, opts.Rules)

	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error { return l.work(gctx, w) })
	}
	for i, c := range ctlConns {
		g.Go(func() error { return l.control(gctx, c, l.ctls[i]) })
	}
	g.Go(func() error {
		defer close(l.data)
		defer func() {
			for _, ch := range l.ctls {
				close(ch)
			}
		}()
		return l.dispatch(gctx, gate)
	})
	err = g.Wait()
	if l.obj != nil {
		l.obj.close()
	}
	l.stats.Bytes = read.Load() - before
	l.stats.Statements = l.statements.Load()
	l.stats.Inserts = l.inserts.Load()
	l.stats.Texts = l.texts.Load()
	l.stats.Keys = l.keys.Load()
	l.stats.Duration = time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !isStatementError(err) {
			return l.stats, fmt.Errorf("load dump: %w", context.Cause(ctx))
		}
		return l.stats, err
	}
	log.Info("dump loaded", "database", conn.Database, "bytes", l.stats.Bytes, "statements", l.stats.Statements,
		"inserts", l.stats.Inserts, "as_load_data", l.stats.Texts, "keys_after_rows", l.stats.Keys, "tables", l.stats.Tables, "objects", l.stats.Objects,
		"parallel", n, "duration", l.stats.Duration.Round(time.Millisecond).String())
	return l.stats, nil
}

// controlConns is the most connections that run table definitions: twice
// Parallel, up to this.
const controlConns = 4

func isStatementError(err error) bool {
	var se *StatementError
	return errors.As(err, &se)
}

// loader is the state of one Load.
type loader struct {
	db        *sql.DB
	log       *slog.Logger
	budget    int64
	sem       *semaphore.Weighted
	executed  *atomic.Int64
	binlog    bool        // try to turn sql_log_bin off on new connections
	textMin   int         // the smallest data statement run as LOAD DATA
	noText    atomic.Bool // run every data statement as it is
	asWritten bool
	version   sqltext.ServerVersion

	data chan *item   // data statements, to the workers
	ctls []chan *item // table definitions, to the control connections
	next int          // the control connection of the next new table

	// Owned by the dispatcher.
	session    []sessionStmt
	tables     map[string]*tableState
	views      map[string]bool
	sent       int64   // data statements sent
	enableKeys []*item // ENABLE KEYS, run once the data is in
	laterKeys  []*item // indexes taken out of CREATE TABLE, added once the table's rows are in
	keysTaken  bool    // some table's indexes were taken out
	empty      bool    // the database had no table when the load started
	keysMin    int64   // the rows a table must have for its indexes to wait
	hold       *held   // a table definition held back until its rows say whether its indexes wait
	deferred   []*item // objects, run after all data
	obj        *lconn  // the connection for objects and other statements

	allDone    counter // data statements done
	statements atomic.Int64
	inserts    atomic.Int64
	texts      atomic.Int64
	keys       atomic.Int64
	stats      Stats
}

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
	def    *tableDef       // the table's definition in force
	ready  <-chan struct{} // closed when the table's definition has run
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

// counter counts finished statements and lets others wait for a count.
type counter struct {
	mu      sync.Mutex
	n       int64
	waiters []waiter
}

type waiter struct {
	n  int64
	ch chan struct{}
}

func (c *counter) add() {
	c.mu.Lock()
	c.n++
	w := c.waiters[:0]
	for _, x := range c.waiters {
		if c.n >= x.n {
			close(x.ch)
		} else {
			w = append(w, x)
		}
	}
	c.waiters = w
	c.mu.Unlock()
}

// wait returns when the count reaches n, or with ctx's error.
func (c *counter) wait(ctx context.Context, n int64) error {
	c.mu.Lock()
	if c.n >= n {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	c.waiters = append(c.waiters, waiter{n, ch})
	c.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// lconn is one connection with the session settings it has applied.
type lconn struct {
	c       *sql.Conn
	applied int
	sess    *session // what the settings applied mean for LOAD DATA
	buf     []byte   // LOAD DATA text, kept for the next statement
}

func (c *lconn) close() { _ = c.c.Close() }

// open takes a new connection and readies it for loading.
func (l *loader) open(ctx context.Context) (*lconn, error) {
	c, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("load dump: connect: %w", err)
	}
	// The dump's header turns these off too; doing it here covers dumps
	// without a header, and the parallel load needs it: a child table's
	// rows may arrive before its parent's.
	if _, err := c.ExecContext(ctx, "SET SESSION foreign_key_checks = 0, unique_checks = 0"); err != nil {
		c.Close()
		return nil, fmt.Errorf("load dump: session settings: %w", err)
	}
	if l.binlog {
		if _, err := c.ExecContext(ctx, "SET SESSION sql_log_bin = 0"); err != nil {
			if !mariadb.IsServerError(err) {
				c.Close()
				return nil, fmt.Errorf("load dump: session settings: %w", err)
			}
			l.binlog = false
			l.log.Debug("loading with the binary log on: not allowed to turn it off", "err", err)
		}
	}
	return &lconn{c: c}, nil
}

// tuneServer makes commits cheaper for the load where the user may, and
// returns the function that puts the server back.
func (l *loader) tuneServer(ctx context.Context) func() {
	return RelaxCommits(ctx, l.db, l.log, "the load")
}

// RelaxCommits sets innodb_flush_log_at_trx_commit to 2 (the redo log
// written at each commit, flushed once a second) where it is 1 and the
// user may set it, for work that is redone whole if the server crashes
// (for is what, in the log); it returns the function that puts it back,
// even after ctx ends.
func RelaxCommits(ctx context.Context, db *sql.DB, log *slog.Logger, what string) func() {
	var flush int
	if err := db.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit").Scan(&flush); err != nil {
		log.Debug("innodb_flush_log_at_trx_commit unknown; left alone", "err", err)
		return func() {}
	}
	if flush != 1 {
		return func() {}
	}
	if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_flush_log_at_trx_commit = 2"); err != nil {
		log.Debug("innodb_flush_log_at_trx_commit left at 1: not allowed to change it", "err", err)
		return func() {}
	}
	log.Debug("innodb_flush_log_at_trx_commit set to 2 for " + what)
	return func() {
		// Put the setting back even when the work was cancelled.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "SET GLOBAL innodb_flush_log_at_trx_commit = 1"); err != nil {
			log.Warn("could not put innodb_flush_log_at_trx_commit back to 1", "err", err)
		}
	}
}

// exec runs it on c, after the session settings c has not seen yet.
func (l *loader) exec(ctx context.Context, c *lconn, it *item) error {
	for c.applied < len(it.session) {
		s := it.session[c.applied]
		if _, err := c.c.ExecContext(ctx, s.sql); err != nil {
			return l.fail(ctx, "session setting", s.line, s.sql, err)
		}
		c.applied++
	}
	if it.sql == "" {
		return nil
	}
	for attempt := 1; ; attempt++ {
		_, err := c.c.ExecContext(ctx, it.sql)
		if err == nil {
			break
		}
		// A data statement runs in a transaction of its own, so a deadlock
		// victim, rolled back whole, can run again.
		if it.table != nil && attempt < 3 && mariadb.Code(err) == mariadb.ErLockDeadlock {
			l.log.Warn("deadlock; running the statement again", "statement", it.kind, "line", it.line, "attempt", attempt)
			continue
		}
		return l.fail(ctx, it.kind, it.line, it.sql, err)
	}
	l.statements.Add(1)
	if l.executed != nil {
		l.executed.Add(int64(len(it.sql)))
	}
	return nil
}

// fail names a failed statement; an error caused by the load being
// cancelled is returned as is.
func (l *loader) fail(ctx context.Context, kind string, line int64, stmt string, err error) error {
	if ctx.Err() != nil {
		return context.Cause(ctx)
	}
	return &StatementError{Kind: kind, Line: line, Prefix: prefix(stmt, 60), Err: err}
}

// prefix quotes the first n bytes of a statement, cut on a rune boundary.
func prefix(s string, n int) string {
	if len(s) <= n {
		return strconv.Quote(s)
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "..."
}

// work runs data statements until the queue closes.
func (l *loader) work(ctx context.Context, c *lconn) error {
	for {
		var it *item
		select {
		case it = <-l.data:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if it == nil {
			return nil
		}
		if it.ready != nil {
			select {
			case <-it.ready:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		if it.waitFor != nil {
			if err := it.waitFor.done.wait(ctx, it.waitN); err != nil {
				return err
			}
		}
		done, err := l.loadText(ctx, c, it)
		if err != nil {
			return err
		}
		if !done {
			if err := l.exec(ctx, c, it); err != nil {
				return err
			}
		}
		if it.done != nil {
			close(it.done)
		}
		if it.keys {
			l.keys.Add(1)
		} else {
			l.inserts.Add(1)
		}
		it.table.done.add()
		l.allDone.add()
		l.sem.Release(it.weight)
	}
}

// control runs the table definitions of ch in dump order until it closes.
func (l *loader) control(ctx context.Context, c *lconn, ch <-chan *item) error {
	for {
		var it *item
		select {
		case it = <-ch:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		if it == nil {
			return nil
		}
		if it.waitFor != nil {
			if err := it.waitFor.done.wait(ctx, it.waitN); err != nil {
				return err
			}
		}
		if it.waitAll > 0 {
			if err := l.allDone.wait(ctx, it.waitAll); err != nil {
				return err
			}
		}
		if err := l.exec(ctx, c, it); err != nil {
			return err
		}
		if it.done != nil {
			close(it.done)
		}
	}
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
	it := &item{sql: sqlString(st), kind: st.Kind, line: st.Line, session: session, table: t, def: t.def, ready: t.ready}
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

package dump

import (
	"bytes"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"
)

// LoadOptions tune Load. The zero value is ready to use.
type LoadOptions struct {
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
}

// LoadStats describes a finished load.
type LoadStats struct {
	Bytes      int64 // SQL bytes read
	Statements int64 // statements run, not counting session settings replayed on each connection
	Inserts    int64 // data statements
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
// The statements are classified as they are read:
//   - session settings (SET ...) are replayed, in dump order, on every
//     connection before the next statement that connection runs, so each
//     statement sees the settings the dump meant for it;
//   - table definitions (DROP/CREATE/ALTER TABLE) run in dump order on one
//     control connection, and a table's data waits for its definition;
//   - data (INSERT/REPLACE ... VALUES) is spread over Parallel connections,
//     each statement in its own transaction;
//   - LOCK TABLES/UNLOCK TABLES are dropped, ALTER TABLE ... ENABLE KEYS is
//     run once all data is in;
//   - views, triggers, routines and events (and ALTER DATABASE, which
//     dump programs write around routines) run after all data, in dump
//     order, on one connection. Triggers thus never fire on loaded rows;
//   - CREATE/DROP DATABASE and USE are skipped: the load always goes into
//     conn.Database. A second USE naming another database is an error, as
//     a dump of several databases cannot be loaded into one.
//   - any other statement (CALL, UPDATE, SELECT ...) waits for everything
//     before it, then runs on its own.
//
// Every connection runs with foreign_key_checks and unique_checks off,
// and, where the user may, sql_log_bin off; innodb_flush_log_at_trx_commit
// is set to 2 for the load and put back afterwards where the user may set
// it. Load does not create or empty the database, and on error leaves what
// it loaded so far.
func Load(ctx context.Context, r io.Reader, conn Conn, opts LoadOptions) (LoadStats, error) {
	start := time.Now()
	if conn.Database == "" {
		return LoadStats{}, errors.New("load dump: no database named")
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
	connector, err := newConnector(conn, log)
	if err != nil {
		return LoadStats{}, fmt.Errorf("load dump: %w", err)
	}
	db := sql.OpenDB(connector)
	defer db.Close()
	db.SetMaxOpenConns(n + 3)
	db.SetMaxIdleConns(n + 3)

	l := &loader{
		db:       db,
		log:      log,
		budget:   budget,
		sem:      semaphore.NewWeighted(budget),
		executed: opts.Executed,
		data:     make(chan *item, 2*n),
		ctl:      make(chan *item, 16),
		tables:   map[string]*tableState{},
		views:    map[string]bool{},
		binlog:   true,
	}
	l.stats.Parallel = n

	undo := l.tuneServer(ctx)
	defer undo()

	var maxPacket int
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&maxPacket); err != nil {
		return l.stats, fmt.Errorf("load dump: connect to %s: %w", conn, err)
	}
	ctlConn, err := l.open(ctx)
	if err != nil {
		return l.stats, err
	}
	defer ctlConn.close()
	workers := make([]*lconn, n)
	for i := range workers {
		if workers[i], err = l.open(ctx); err != nil {
			return l.stats, err
		}
		defer workers[i].close()
	}

	sp := NewSplitter(r)
	sp.MaxStatement = maxPacket
	read := opts.Raw
	if read == nil {
		read = new(atomic.Int64)
	}
	before := read.Load()
	sp.Read = read

	g, gctx := errgroup.WithContext(ctx)
	for _, w := range workers {
		g.Go(func() error { return l.work(gctx, w) })
	}
	g.Go(func() error { return l.control(gctx, ctlConn) })
	g.Go(func() error {
		defer close(l.data)
		defer close(l.ctl)
		return l.dispatch(gctx, sp)
	})
	err = g.Wait()
	if l.obj != nil {
		l.obj.close()
	}
	l.stats.Bytes = read.Load() - before
	l.stats.Statements = l.statements.Load()
	l.stats.Inserts = l.inserts.Load()
	l.stats.Duration = time.Since(start)
	if err != nil {
		if ctx.Err() != nil && !isStatementError(err) {
			return l.stats, fmt.Errorf("load dump: %w", context.Cause(ctx))
		}
		return l.stats, err
	}
	log.Info("dump loaded", "database", conn.Database, "bytes", l.stats.Bytes, "statements", l.stats.Statements,
		"inserts", l.stats.Inserts, "tables", l.stats.Tables, "objects", l.stats.Objects,
		"parallel", n, "duration", l.stats.Duration.Round(time.Millisecond).String())
	return l.stats, nil
}

func isStatementError(err error) bool {
	var se *StatementError
	return errors.As(err, &se)
}

func newConnector(c Conn, log *slog.Logger) (driver.Connector, error) {
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password
	if c.Socket != "" {
		cfg.Net = "unix"
		cfg.Addr = c.Socket
	} else {
		host, port := c.Host, c.Port
		if host == "" {
			host = "localhost"
		}
		if port == 0 {
			port = 3306
		}
		cfg.Net = "tcp"
		cfg.Addr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	cfg.DBName = c.Database
	// Zero asks the server for its max_allowed_packet, so that the longest
	// statement the server takes can be sent.
	cfg.MaxAllowedPacket = 0
	cfg.MultiStatements = false
	cfg.InterpolateParams = false
	cfg.Timeout = 30 * time.Second
	cfg.Logger = driverLogger{log}
	return mysql.NewConnector(cfg)
}

type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Print(v ...any) { d.log.Debug("mysql driver: " + fmt.Sprint(v...)) }

// loader is the state of one Load.
type loader struct {
	db       *sql.DB
	log      *slog.Logger
	budget   int64
	sem      *semaphore.Weighted
	executed *atomic.Int64
	binlog   bool // try to turn sql_log_bin off on new connections

	data chan *item // data statements, to the workers
	ctl  chan *item // table definitions, to the control connection

	// Owned by the dispatcher.
	session    []sessionStmt
	tables     map[string]*tableState
	views      map[string]bool
	sent       int64   // data statements sent
	enableKeys []*item // ENABLE KEYS, run once the data is in
	deferred   []*item // objects, run after all data
	obj        *lconn  // the connection for objects and other statements
	database   string  // the database named by the first USE

	allDone    counter // data statements done
	statements atomic.Int64
	inserts    atomic.Int64
	stats      LoadStats
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
	ready  <-chan struct{} // closed when the table's definition has run
	weight int64

	// Control statements.
	waitFor *tableState // wait until waitN of its data statements are done
	waitN   int64
	done    chan struct{} // closed when the statement has run
}

// tableState follows one table's data statements.
type tableState struct {
	sent  int64           // data statements sent (dispatcher only)
	done  counter         // data statements done
	ready <-chan struct{} // closed when the table's data may run
	empty bool            // the next data statement is the first since a definition
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
			if !isServerError(err) {
				c.Close()
				return nil, fmt.Errorf("load dump: session settings: %w", err)
			}
			l.binlog = false
			l.log.Debug("loading with the binary log on: not allowed to turn it off", "err", err)
		}
	}
	return &lconn{c: c}, nil
}

// errDeadlock is ER_LOCK_DEADLOCK.
const errDeadlock = 1213

func isServerError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me)
}

// tuneServer makes commits cheaper for the load where the user may, and
// returns the function that puts the server back.
func (l *loader) tuneServer(ctx context.Context) func() {
	var flush int
	if err := l.db.QueryRowContext(ctx, "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit").Scan(&flush); err != nil {
		l.log.Debug("innodb_flush_log_at_trx_commit unknown; left alone", "err", err)
		return func() {}
	}
	if flush != 1 {
		return func() {}
	}
	if _, err := l.db.ExecContext(ctx, "SET GLOBAL innodb_flush_log_at_trx_commit = 2"); err != nil {
		l.log.Debug("innodb_flush_log_at_trx_commit left at 1: not allowed to change it", "err", err)
		return func() {}
	}
	l.log.Debug("innodb_flush_log_at_trx_commit set to 2 for the load")
	return func() {
		// Put the setting back even when the load was cancelled.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, err := l.db.ExecContext(ctx, "SET GLOBAL innodb_flush_log_at_trx_commit = 1"); err != nil {
			l.log.Warn("could not put innodb_flush_log_at_trx_commit back to 1", "err", err)
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
		var me *mysql.MySQLError
		if it.table != nil && attempt < 3 && errors.As(err, &me) && me.Number == errDeadlock {
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
		if err := l.exec(ctx, c, it); err != nil {
			return err
		}
		if it.done != nil {
			close(it.done)
		}
		l.inserts.Add(1)
		it.table.done.add()
		l.allDone.add()
		l.sem.Release(it.weight)
	}
}

// control runs table definitions in dump order until the queue closes.
func (l *loader) control(ctx context.Context, c *lconn) error {
	for {
		var it *item
		select {
		case it = <-l.ctl:
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
		t = &tableState{empty: true}
		l.tables[name] = t
	}
	return t
}

// snapshot returns the session settings read so far; later settings are
// appended beyond its capacity, so it never changes.
func (l *loader) snapshot() []sessionStmt {
	return l.session[:len(l.session):len(l.session)]
}

// dispatch reads the statements and hands each to its connection.
func (l *loader) dispatch(ctx context.Context, sp *Splitter) error {
	for {
		stmt, err := sp.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("load dump: %w", err)
		}
		line := sp.Line()
		st := classify(stmt, l.views)
		switch st.class {
		case classSession:
			l.session = append(l.session, sessionStmt{string(stmt), line})
		case classSkip:
			l.stats.Skipped++
		case classUse:
			l.stats.Skipped++
			if l.database == "" {
				l.database = st.table
			} else if st.table != l.database {
				return fmt.Errorf("load dump: line %d: USE %q after USE %q: a dump of several databases cannot be loaded into one", line, st.table, l.database)
			}
		case classData:
			t := l.table(st.table)
			it := &item{sql: string(stmt), kind: st.kind, line: line, session: l.snapshot(), table: t, ready: t.ready}
			if t.empty {
				// The first INSERT into an empty table, with unique and
				// foreign key checks off, takes InnoDB's bulk path and
				// locks the whole table; a concurrent INSERT into the
				// same table would deadlock with it. The table's other
				// statements wait for it.
				done := make(chan struct{})
				it.done = done
				t.ready = done
				t.empty = false
			}
			it.weight = min(int64(len(it.sql)), l.budget)
			if err := l.sem.Acquire(ctx, it.weight); err != nil {
				return context.Cause(ctx)
			}
			t.sent++
			l.sent++
			select {
			case l.data <- it:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		case classTable, classDisableKeys:
			t := l.table(st.table)
			done := make(chan struct{})
			it := &item{sql: string(stmt), kind: st.kind, line: line, session: l.snapshot(), waitFor: t, waitN: t.sent, done: done}
			t.ready = done
			t.empty = true
			if st.create {
				l.stats.Tables++
			}
			select {
			case l.ctl <- it:
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		case classEnableKeys:
			l.enableKeys = append(l.enableKeys, &item{sql: string(stmt), kind: st.kind, line: line, session: l.snapshot(), waitFor: l.table(st.table)})
		case classObject:
			l.stats.Objects++
			sql := string(stmt)
			if st.rewrite != nil {
				sql = string(st.rewrite)
			}
			l.deferred = append(l.deferred, &item{sql: sql, kind: st.kind, line: line, session: l.snapshot()})
		case classOther:
			if err := l.barrier(ctx); err != nil {
				return err
			}
			obj, err := l.objConn(ctx)
			if err != nil {
				return err
			}
			if err := l.exec(ctx, obj, &item{sql: string(stmt), kind: st.kind, line: line, session: l.snapshot()}); err != nil {
				return err
			}
		}
	}
	return l.barrier(ctx)
}

// barrier waits until every statement read so far has run: table
// definitions, data, the ENABLE KEYS held back, and then the objects held
// back, which it runs on the object connection (opened here if needed).
func (l *loader) barrier(ctx context.Context) error {
	for _, it := range l.enableKeys {
		it.waitN = it.waitFor.sent
		select {
		case l.ctl <- it:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	l.enableKeys = nil
	done := make(chan struct{})
	select {
	case l.ctl <- &item{done: done}:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return context.Cause(ctx)
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
// it on first use. It replays the session settings from the start, in
// step with the statements it runs.
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

// stmtClass says where a statement runs.
type stmtClass int

const (
	classOther       stmtClass = iota // waits for everything before it, then runs alone
	classSession                      // replayed on every connection
	classData                         // spread over the workers
	classTable                        // in order on the control connection
	classDisableKeys                  // like classTable
	classEnableKeys                   // once the table's data is in
	classObject                       // after all data, in order
	classSkip                         // not run
	classUse                          // not run; checked
)

// stmtInfo is what classify found out about a statement.
type stmtInfo struct {
	class   stmtClass
	kind    string // for error messages
	table   string // the table (or, for USE, the database)
	create  bool   // CREATE TABLE
	rewrite []byte // the statement to run instead, when not nil
}

// classify looks at the first words of a statement. views holds the names
// seen in view statements: mysqldump makes a stand-in table for each view
// early and drops it just before creating the view, and those table
// statements must stay in order with the view's.
func classify(stmt []byte, views map[string]bool) stmtInfo {
	lx := lexer{b: stmt}
	other := stmtInfo{class: classOther, kind: "statement"}
	first := lx.next()
	if first.kind != tokWord {
		return other
	}
	switch first.upper() {
	case "SET":
		t := lx.next()
		if t.is('@') {
			if !lx.next().is('@') {
				return stmtInfo{class: classSession, kind: "session setting"} // a user variable
			}
			t = lx.next()
			if u := t.upper(); u == "SESSION" || u == "LOCAL" {
				lx.next() // .
				t = lx.next()
			}
		} else if u := t.upper(); u == "SESSION" || u == "LOCAL" {
			t = lx.next()
		}
		switch t.upper() {
		case "GLOBAL", "PASSWORD", "ROLE", "DEFAULT", "STATEMENT":
			return other
		case "SQL_LOG_BIN":
			// The load sets it itself, where the user may.
			return stmtInfo{class: classSkip}
		case "AUTOCOMMIT":
			// --no-autocommit dumps: each data statement commits on its own
			// here, so the COMMITs that go with it are dropped too.
			return stmtInfo{class: classSkip}
		}
		return stmtInfo{class: classSession, kind: "session setting"}
	case "INSERT", "REPLACE":
		t := lx.next()
		for t.kind == tokWord {
			u := t.upper()
			if u != "LOW_PRIORITY" && u != "DELAYED" && u != "HIGH_PRIORITY" && u != "IGNORE" && u != "INTO" {
				break
			}
			t = lx.next()
		}
		name, ok := lx.name(t)
		if !ok {
			return other
		}
		t = lx.next()
		if t.is('(') {
			if !lx.skipParens() {
				return other
			}
			t = lx.next()
		}
		if u := t.upper(); u != "VALUES" && u != "VALUE" {
			// INSERT ... SELECT reads other tables: keep it in order.
			return other
		}
		return stmtInfo{class: classData, kind: "insert into " + quoteName(name), table: name}
	case "SELECT":
		// mariadb-dump restores a sequence's position with SELECT SETVAL.
		if lx.next().upper() == "SETVAL" && lx.next().is('(') {
			if name, ok := lx.name(lx.next()); ok {
				return stmtInfo{class: classData, kind: "setval of " + quoteName(name), table: name}
			}
		}
		return other
	case "LOCK", "UNLOCK":
		if u := lx.next().upper(); u == "TABLES" || u == "TABLE" {
			return stmtInfo{class: classSkip}
		}
		return other
	case "COMMIT":
		return stmtInfo{class: classSkip}
	case "START":
		if lx.next().upper() == "TRANSACTION" {
			return stmtInfo{class: classSkip}
		}
		return other
	case "BEGIN":
		// BEGIN NOT ATOMIC is a compound statement, not a transaction.
		if t := lx.next(); t.kind == tokEOF || t.upper() == "WORK" {
			return stmtInfo{class: classSkip}
		}
		return other
	case "USE":
		if name, ok := lx.name(lx.next()); ok {
			return stmtInfo{class: classUse, table: name}
		}
		return other
	case "CREATE", "ALTER", "DROP":
		return classifyDDL(first.upper(), &lx, stmt, views)
	}
	return other
}

func classifyDDL(verb string, lx *lexer, stmt []byte, views map[string]bool) stmtInfo {
	other := stmtInfo{class: classOther, kind: "statement"}
	t := lx.skipDefinition()
	switch u := t.upper(); u {
	case "TABLE", "SEQUENCE":
		t = lx.next()
		if verb == "DROP" || verb == "CREATE" {
			t = lx.skipIfExists(t)
		}
		name, ok := lx.name(t)
		if !ok {
			return other
		}
		if verb == "DROP" {
			if next := lx.next(); next.is(',') {
				return other
			}
		}
		kind := strings.ToLower(verb) + " " + strings.ToLower(u) + " " + quoteName(name)
		if views[name] {
			return stmtInfo{class: classObject, kind: kind}
		}
		if verb == "ALTER" {
			if w := lx.next().upper(); (w == "DISABLE" || w == "ENABLE") && lx.next().upper() == "KEYS" {
				if w == "DISABLE" {
					return stmtInfo{class: classDisableKeys, kind: kind, table: name}
				}
				return stmtInfo{class: classEnableKeys, kind: kind, table: name}
			}
		}
		return stmtInfo{class: classTable, kind: kind, table: name, create: verb == "CREATE"}
	case "VIEW":
		t = lx.skipIfExists(lx.next())
		for {
			name, ok := lx.name(t)
			if !ok {
				break
			}
			views[name] = true
			if verb != "DROP" {
				break
			}
			if t = lx.next(); !t.is(',') {
				break
			}
			t = lx.next()
		}
		return stmtInfo{class: classObject, kind: "view"}
	case "TRIGGER":
		return stmtInfo{class: classObject, kind: "trigger"}
	case "PROCEDURE", "FUNCTION":
		return stmtInfo{class: classObject, kind: "routine"}
	case "EVENT":
		return stmtInfo{class: classObject, kind: "event"}
	case "DATABASE", "SCHEMA":
		if verb != "ALTER" {
			return stmtInfo{class: classSkip}
		}
		// Dump programs switch the database's collation around routines
		// made under another one. The statement names the dumped
		// database; the load's own is the current one, which ALTER
		// DATABASE changes when it names none.
		at := lx.i
		n := lx.next()
		if _, ok := lx.name(n); !ok || n.upper() == "CHARACTER" || n.upper() == "COLLATE" || n.upper() == "DEFAULT" || n.upper() == "CHARSET" {
			return stmtInfo{class: classObject, kind: "database options"}
		}
		rewrite := append(append([]byte(nil), stmt[:at]...), stmt[lx.i:]...)
		return stmtInfo{class: classObject, kind: "database options", rewrite: rewrite}
	}
	return other
}

func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// The kinds of token the lexer returns.
const (
	tokEOF = iota
	tokWord
	tokIdent  // a backtick-quoted identifier, unquoted
	tokString // a quoted string, with its quotes
	tokPunct
)

type token struct {
	kind int
	text []byte
}

func (t token) upper() string {
	if t.kind != tokWord {
		return ""
	}
	return strings.ToUpper(string(t.text))
}

func (t token) is(c byte) bool { return t.kind == tokPunct && t.text[0] == c }

// lexer reads the first tokens of a statement, taking comments as blanks
// and the markers of conditional comments ("/*!50003", "*/") as nothing,
// so that "/*!50003 CREATE*/ /*!50017 DEFINER=...*/ /*!50003 TRIGGER" reads
// as CREATE DEFINER = ... TRIGGER.
type lexer struct {
	b []byte
	i int
}

func (lx *lexer) next() token {
	b := lx.b
	for lx.i < len(b) {
		c := b[lx.i]
		switch {
		case isSpace(c):
			lx.i++
		case c == '#' || (c == '-' && lx.i+1 < len(b) && b[lx.i+1] == '-' && (lx.i+2 == len(b) || isCommentDash(b[lx.i+2]))):
			k := bytes.IndexByte(b[lx.i:], '\n')
			if k < 0 {
				lx.i = len(b)
			} else {
				lx.i += k + 1
			}
		case c == '*' && lx.i+1 < len(b) && b[lx.i+1] == '/':
			lx.i += 2
		case c == '/' && lx.i+1 < len(b) && b[lx.i+1] == '*':
			if cond, _, _ := conditionalVersion(b[lx.i:], true); cond {
				lx.i += 2
				if b[lx.i] == 'M' {
					lx.i++
				}
				lx.i++
				for lx.i < len(b) && b[lx.i] >= '0' && b[lx.i] <= '9' {
					lx.i++
				}
				continue
			}
			k := bytes.Index(b[lx.i+2:], []byte("*/"))
			if k < 0 {
				lx.i = len(b)
			} else {
				lx.i += 2 + k + 2
			}
		default:
			return lx.token()
		}
	}
	return token{kind: tokEOF}
}

func (lx *lexer) token() token {
	b := lx.b
	start := lx.i
	c := b[start]
	switch {
	case isWordByte(c):
		for lx.i < len(b) && isWordByte(b[lx.i]) {
			lx.i++
		}
		return token{kind: tokWord, text: b[start:lx.i]}
	case c == '`':
		var name []byte
		lx.i++
		for lx.i < len(b) {
			k := bytes.IndexByte(b[lx.i:], '`')
			if k < 0 {
				lx.i = len(b)
				break
			}
			name = append(name, b[lx.i:lx.i+k]...)
			lx.i += k + 1
			if lx.i < len(b) && b[lx.i] == '`' {
				name = append(name, '`')
				lx.i++
				continue
			}
			break
		}
		return token{kind: tokIdent, text: name}
	case c == '\'' || c == '"':
		lx.i++
		for lx.i < len(b) {
			switch b[lx.i] {
			case '\\':
				lx.i += 2
				continue
			case c:
				lx.i++
				if lx.i < len(b) && b[lx.i] == c {
					lx.i++
					continue
				}
				return token{kind: tokString, text: b[start:min(lx.i, len(b))]}
			}
			lx.i++
		}
		lx.i = min(lx.i, len(b))
		return token{kind: tokString, text: b[start:]}
	}
	lx.i++
	return token{kind: tokPunct, text: b[start:lx.i]}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

// name reads a table name starting with t, "t" or "db.t", and returns the
// table part.
func (lx *lexer) name(t token) (string, bool) {
	if t.kind != tokWord && t.kind != tokIdent {
		return "", false
	}
	name := string(t.text)
	at := lx.i
	if dot := lx.next(); dot.is('.') {
		if t2 := lx.next(); t2.kind == tokWord || t2.kind == tokIdent {
			return string(t2.text), true
		}
		return "", false
	}
	lx.i = at
	return name, true
}

// skipParens skips a parenthesised list after its opening parenthesis.
func (lx *lexer) skipParens() bool {
	depth := 1
	for {
		t := lx.next()
		switch {
		case t.kind == tokEOF:
			return false
		case t.is('('):
			depth++
		case t.is(')'):
			if depth--; depth == 0 {
				return true
			}
		}
	}
}

// skipIfExists skips "IF [NOT] EXISTS" starting with t and returns the
// token after it.
func (lx *lexer) skipIfExists(t token) token {
	if t.upper() != "IF" {
		return t
	}
	t = lx.next()
	if t.upper() == "NOT" {
		t = lx.next()
	}
	if t.upper() == "EXISTS" {
		t = lx.next()
	}
	return t
}

// skipDefinition skips what may stand between CREATE, ALTER or DROP and the
// kind of object: OR REPLACE, ALGORITHM=..., DEFINER=..., SQL SECURITY ...,
// TEMPORARY and the like. It returns the token naming the kind.
func (lx *lexer) skipDefinition() token {
	for {
		t := lx.next()
		switch t.upper() {
		case "OR":
			lx.next() // REPLACE
		case "ALGORITHM":
			if e := lx.next(); e.is('=') {
				lx.next()
			}
		case "DEFINER":
			if e := lx.next(); e.is('=') {
				u := lx.next()
				at := lx.i
				switch n := lx.next(); {
				case n.is('@'):
					lx.next()
				case n.is('(') && u.upper() == "CURRENT_USER":
					lx.next() // )
				default:
					lx.i = at
				}
			}
		case "SQL":
			lx.next() // SECURITY
			lx.next() // DEFINER or INVOKER
		case "ONLINE", "OFFLINE", "IGNORE", "AGGREGATE", "DEFINITIONS":
		default:
			return t
		}
	}
}

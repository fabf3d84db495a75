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
	"sync/atomic"
	"time"

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
	gate := srv.gate(r, read, opts.Rules, true)

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

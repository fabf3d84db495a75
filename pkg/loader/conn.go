package loader

// A loader's connections: opening one ready for loading, the server
// setting tuned for the load, and running a statement after the session
// settings the connection has not seen yet.

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/backupd/backupd/internal/mariadb"
)

// lconn is one connection with the session settings it has applied.
type lconn struct {
	c       *sql.Conn
	applied int
	sess    *session // what the settings applied mean for LOAD DATA
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
			l.log.Debug("sql_log_bin left as it is for the load: not allowed to change it (it matters only where the server writes a binary log)", "err", err)
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

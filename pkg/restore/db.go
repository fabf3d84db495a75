package restore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/go-sql-driver/mysql"
)

// openDB returns a pool for c without selecting a database, so that the
// target can be created when it is missing. The password stays in memory.
func openDB(c mariadb.Conn, log *slog.Logger) (*sql.DB, error) {
	db, err := c.OpenDB(log, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// AccessDeniedGrace is how long a refused account (error 1045) counts as
// "the server is not ready yet": a server that runs its initialisation
// scripts (the official images' entrypoint, a boot script that creates the
// app's account after starting the server) answers on its socket before
// the account exists. After it, a refusal is a wrong setting.
const AccessDeniedGrace = 5 * time.Second

// waitForDB pings the server until it answers or wait has passed, backing
// off from a quarter of a second to five seconds between tries. Only
// errors that mean "not up yet" are waited out: a refused connection, a
// missing socket, a dropped handshake, too many connections, and a refused
// account during AccessDeniedGrace. Anything else (a wrong password after
// the grace, an unknown host, a host the account is not allowed from)
// fails at once, naming the setting to fix.
func waitForDB(ctx context.Context, db *sql.DB, c mariadb.Conn, wait time.Duration, log *slog.Logger) error {
	start := time.Now()
	delay := 250 * time.Millisecond
	lastLog := time.Time{}
	for {
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := db.PingContext(pctx)
		cancel()
		if err == nil {
			if time.Since(start) > time.Second {
				log.Info("database is up", "after", time.Since(start).Round(100*time.Millisecond))
			}
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("wait for database: %w", context.Cause(ctx))
		}
		waited := time.Since(start)
		if !notUpYet(err, waited) {
			return connectError(c, err)
		}
		if waited+delay > wait {
			_, addr := c.Addr()
			return fmt.Errorf("the database at %s did not answer within %v: %w; is the server running? check DB_SOCKET, or DB_HOST and DB_PORT, and --wait",
				addr, wait, err)
		}
		if time.Since(lastLog) >= 10*time.Second {
			log.Info("waiting for the database", "conn", c.String(), "waited", waited.Round(time.Second), "err", err)
			lastLog = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for database: %w", context.Cause(ctx))
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// notUpYet reports whether a failed ping may only mean that the server is
// still starting.
func notUpYet(err error, waited time.Duration) bool {
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return dns.IsTemporary
	}
	if !mariadb.IsServerError(err) {
		return true // refused, no socket yet, handshake dropped, timed out
	}
	switch mariadb.Code(err) {
	case mariadb.ErAccessDenied:
		return waited < AccessDeniedGrace
	case errTooManyConnections, errTooManyUserConnections, errServerShutdown:
		return true
	}
	return false
}

const errTooManyUserConnections = 1203

// connectError names what to fix when the server refuses to let the
// restore in.
func connectError(c mariadb.Conn, err error) error {
	_, addr := c.Addr()
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Errorf("cannot find the database host %q: %w; check DB_HOST, or set DB_SOCKET", dns.Name, err)
	case mariadb.Code(err) == mariadb.ErAccessDenied:
		return fmt.Errorf("the database at %s refused the account %q: %w; check DB_USERNAME and DB_PASSWORD (or DB_PASSWORD_FILE)",
			addr, c.User, err)
	case mariadb.Code(err) == errHostNotPrivileged:
		return fmt.Errorf("the database at %s does not let %q connect from this host: %w; connect over DB_SOCKET, or create the account for this host",
			addr, c.User, err)
	}
	return fmt.Errorf("connect to the database at %s as %q: %w", addr, c.User, err)
}

const errHostNotPrivileged = 1130

// machineFault reports whether a load error comes from the machine (the
// server went away or ran out of disk or memory, the account was refused)
// rather than from what the dump asked for, so that trying the next backup
// would only fail the same way. Privilege errors are not among them: the
// grants were checked before the load, so such an error means the dump
// reached beyond its database or its station (see Restorer.load).
func machineFault(err error) bool {
	if errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var te *mariadb.ToolError
	if errors.As(err, &te) && (te.Unreachable() || strings.HasPrefix(te.State, "signal:")) {
		// A client tool that lost the server, or was killed (the kernel's
		// out-of-memory killer, say).
		return true
	}
	switch mariadb.Code(err) {
	case mariadb.ErDiskFull, mariadb.ErRecordFileFull, mariadb.ErOutOfResources, mariadb.ErAccessDenied,
		errOutOfMemory, errOutOfSortMemory, errStorageEngine, errTooManyConnections, errServerShutdown,
		errCantCreateThread, errConnectionKilled, mariadb.ErLockWaitTimeout:
		return true
	}
	return false
}

// Server error numbers that say the machine is in trouble.
const (
	errStorageEngine      = 1030 // "Got error 28 from storage engine": disk full
	errOutOfMemory        = 1037
	errOutOfSortMemory    = 1038
	errTooManyConnections = 1040
	errServerShutdown     = 1053
	errCantCreateThread   = 1135
	errConnectionKilled   = 1927
)

func accessDenied(err error) bool {
	switch mariadb.Code(err) {
	case mariadb.ErDBAccessDenied, mariadb.ErAccessDenied, mariadb.ErTableAccessDenied, mariadb.ErSpecificAccess:
		return true
	}
	return false
}

// grantPattern quotes a database name for GRANT, escaping the wildcards
// "_" and "%" so that the grant covers that one database.
func grantPattern(db string) string {
	return sqltext.Ident(strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`).Replace(db))
}

// currentUser returns the account the server matched, quoted for GRANT:
// 'app'@'localhost'.
func currentUser(ctx context.Context, q querier) string {
	var u string
	if err := q.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&u); err != nil || u == "" {
		return "'<user>'@'<host>'"
	}
	i := strings.LastIndexByte(u, '@')
	if i < 0 {
		return sqltext.Literal(u)
	}
	return sqltext.Literal(u[:i]) + "@" + sqltext.Literal(u[i+1:])
}

// querier is what *sql.DB and *sql.Conn share.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// grantHint is the GRANT statement that gives the current user what the
// restore needs on db.
func grantHint(ctx context.Context, q querier, db string) string {
	return fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s;", grantPattern(db), currentUser(ctx, q))
}

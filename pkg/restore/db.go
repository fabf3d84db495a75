package restore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupd/backupd/pkg/dump"
)

// MariaDB error numbers the restore tells apart.
const (
	erDBAccessDenied    = 1044 // access denied for user to database
	erAccessDenied      = 1045 // bad user or password
	erTableAccessDenied = 1142 // command denied on a table
	erSpecificAccess    = 1227 // needs SUPER or similar
	erDiskFull          = 1021 // disk full, waiting for someone to free space
	erRecordFileFull    = 1114 // the table is full
	erOutOfResources    = 1041 // out of memory
)

// openDB returns a pool for conn without selecting a database, so that the
// target can be created when it is missing. The password stays in memory.
func openDB(c dump.Conn) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password
	if c.Socket != "" {
		cfg.Net, cfg.Addr = "unix", c.Socket
	} else {
		host, port := c.Host, c.Port
		if host == "" {
			host = "127.0.0.1"
		}
		if port == 0 {
			port = 3306
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(host, strconv.Itoa(port))
	}
	cfg.Timeout = 10 * time.Second
	cfg.InterpolateParams = true
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	db := sql.OpenDB(conn)
	db.SetMaxOpenConns(4)
	db.SetConnMaxIdleTime(time.Minute)
	return db, nil
}

// driverLogger sends the driver's own messages (dropped connections and
// the like) to the restore's log at debug level.
type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Print(v ...any) {
	d.log.Debug(strings.TrimSpace(fmt.Sprint(v...)), "component", "mysql-driver")
}

// waitForDB pings the server until it answers or wait has passed, backing
// off from a quarter of a second to five seconds between tries. Every
// error counts as "not up yet": while a MariaDB container initialises, the
// server can refuse the app's user for a while before it is really ready.
func waitForDB(ctx context.Context, db *sql.DB, c dump.Conn, wait time.Duration, log *slog.Logger) error {
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
		if waited+delay > wait {
			return fmt.Errorf("database %s did not answer within %v: %w", c.String(), wait, err)
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

// errCode returns the MariaDB error number of err, 0 when it has none.
func errCode(err error) uint16 {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Number
	}
	return 0
}

// notTheBackup reports whether a load error comes from the local server or
// the restore user's rights rather than from the backup's content, so that
// trying the next backup would only fail the same way.
func notTheBackup(err error) bool {
	if accessDenied(err) || errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) {
		return true
	}
	var ce *ClientError
	code := errCode(err)
	if errors.As(err, &ce) {
		code = uint16(ce.Code)
	}
	switch code {
	case erDBAccessDenied, erAccessDenied, erTableAccessDenied, erSpecificAccess, erDiskFull, erRecordFileFull, erOutOfResources:
		return true
	}
	return false
}

func accessDenied(err error) bool {
	switch errCode(err) {
	case erDBAccessDenied, erAccessDenied, erTableAccessDenied, erSpecificAccess:
		return true
	}
	return false
}

// ident quotes a name as an SQL identifier.
func ident(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// qualified quotes db.name.
func qualified(db, name string) string { return ident(db) + "." + ident(name) }

// literal quotes a string as an SQL string literal.
func literal(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(s) + "'"
}

// grantPattern quotes a database name for GRANT, escaping the wildcards
// "_" and "%" so that the grant covers that one database.
func grantPattern(db string) string {
	return ident(strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`).Replace(db))
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
		return literal(u)
	}
	return literal(u[:i]) + "@" + literal(u[i+1:])
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

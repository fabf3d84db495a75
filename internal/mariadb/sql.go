package mariadb

import (
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Server error numbers that callers tell apart.
const (
	ErDiskFull          = 1021 // disk full, waiting for someone to free space
	ErOutOfResources    = 1041 // out of memory
	ErDBAccessDenied    = 1044 // access denied for user to database
	ErAccessDenied      = 1045 // bad user or password
	ErBadDB             = 1049 // unknown database
	ErRecordFileFull    = 1114 // the table is full
	ErTableAccessDenied = 1142 // command denied on a table
	ErLockDeadlock      = 1213 // deadlock; the transaction was rolled back
	ErSpecificAccess    = 1227 // needs SUPER or similar
	ErLockWaitTimeout   = 1205 // lock wait timeout
)

// DefaultHost is the server's host when Conn names neither host nor socket.
const DefaultHost = "127.0.0.1"

// DefaultPort is the server's port when Conn names none.
const DefaultPort = 3306

// Code returns the error number of err: a server error from the Go driver,
// or the number a client tool reported. It is 0 when err carries none.
func Code(err error) int {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return int(me.Number)
	}
	var te *ToolError
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// IsServerError reports whether err is an error the server sent (as
// opposed to a lost or refused connection).
func IsServerError(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me)
}

// Addr returns the network and address the driver dials for c.
func (c Conn) Addr() (network, addr string) {
	if c.Socket != "" {
		return "unix", c.Socket
	}
	host, port := c.Host, c.Port
	if host == "" {
		host = DefaultHost
	}
	if port == 0 {
		port = DefaultPort
	}
	return "tcp", net.JoinHostPort(host, strconv.Itoa(port))
}

// OpenDB returns a connection pool for c. With useDatabase, every
// connection selects c.Database; without, none is selected (so that a
// missing database can be created). The driver never reads local files
// (LOAD DATA LOCAL is refused), runs one statement per call, sends
// statements up to the server's max_allowed_packet, and logs its own
// messages to log at debug level.
func (c Conn) OpenDB(log *slog.Logger, useDatabase bool) (*sql.DB, error) {
	cfg := mysql.NewConfig()
	cfg.User = c.User
	cfg.Passwd = c.Password
	cfg.Net, cfg.Addr = c.Addr()
	if useDatabase {
		cfg.DBName = c.Database
	}
	cfg.Timeout = 10 * time.Second
	cfg.InterpolateParams = true
	cfg.MultiStatements = false
	cfg.AllowAllFiles = false
	// Zero asks the server for its max_allowed_packet, so that the longest
	// statement the server takes can be sent.
	cfg.MaxAllowedPacket = 0
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = driverLogger{log}
	if err := cfg.Apply(mysql.Charset("utf8mb4", "utf8mb4_general_ci")); err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("database settings: %w", err)
	}
	return sql.OpenDB(conn), nil
}

// driverLogger sends the driver's own messages (dropped connections and
// the like) to a log at debug level.
type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Print(v ...any) {
	d.log.Debug(strings.TrimSpace(fmt.Sprint(v...)), "component", "mysql-driver")
}

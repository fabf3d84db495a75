package mariadb

import (
	"context"
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
// missing database can be created). Over TCP, connections are encrypted
// as c.TLS says (see TLSMode). The driver never reads local files
// (LOAD DATA LOCAL is refused), runs one statement per call, sends
// statements up to the server's max_allowed_packet, and logs its own
// messages to log at debug level.
func (c Conn) OpenDB(log *slog.Logger, useDatabase bool) (*sql.DB, error) {
	db, _, err := c.openDB(log, useDatabase)
	return db, err
}

// openDB is OpenDB that also gives where the certificates its connections
// are shown are recorded.
func (c Conn) openDB(log *slog.Logger, useDatabase bool) (*sql.DB, *peer, error) {
	p := &peer{}
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
		return nil, nil, fmt.Errorf("database settings: %w", err)
	}
	tlsCfg, fallback, err := c.driverTLS(p)
	if err != nil {
		return nil, nil, err
	}
	cfg.TLS, cfg.AllowFallbackToPlaintext = tlsCfg, fallback
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("database settings: %w", err)
	}
	return sql.OpenDB(conn), p, nil
}

// one opens a single connection to the server for a few questions; done
// closes it.
func (c Conn) one(ctx context.Context, log *slog.Logger) (conn *sql.Conn, p *peer, done func(), err error) {
	db, p, err := c.openDB(log, false)
	if err != nil {
		return nil, nil, nil, err
	}
	db.SetMaxOpenConns(1)
	conn, err = db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, nil, nil, fmt.Errorf("connect to %s: %w", c, err)
	}
	return conn, p, func() { conn.Close(); db.Close() }, nil
}

// driverLogger sends the driver's own messages (dropped connections and
// the like) to a log at debug level.
type driverLogger struct{ log *slog.Logger }

func (d driverLogger) Print(v ...any) {
	d.log.Debug(strings.TrimSpace(fmt.Sprint(v...)), "component", "mysql-driver")
}

// Server is a database server's flavour and version, and how a connection
// to it was encrypted.
type Server struct {
	Version string // SELECT @@version: "8.0.36", "10.11.19-MariaDB-0+deb12u1"
	Comment string // SELECT @@version_comment: "MySQL Community Server - GPL", "Debian 12"
	// GTIDMode is MySQL's @@GLOBAL.gtid_mode ("ON", "OFF", ...); "" on
	// MariaDB, which has no such setting.
	GTIDMode string
	// Cipher is the TLS cipher of the connection that asked, "" when it
	// was not encrypted; Fingerprint is its certificate's (Fingerprint).
	Cipher      string
	Fingerprint string
}

// MariaDB reports whether the server is MariaDB, which always has
// "MariaDB" in its version (@@version_comment is the distribution's to
// choose).
func (s Server) MariaDB() bool { return strings.Contains(s.Version, "MariaDB") }

// Name names the server by flavour and version: "MySQL 8.0.36", "MariaDB
// 10.11.19".
func (s Server) Name() string {
	v, _, _ := strings.Cut(s.Version, "-")
	if s.MariaDB() {
		return "MariaDB " + v
	}
	return "MySQL " + v
}

// Ask connects to the server once and asks its flavour and version, and
// how the connection was encrypted. The certificate's fingerprint is what
// the client tools then pin (Conn.TLSPin).
func (c Conn) Ask(ctx context.Context, log *slog.Logger) (Server, error) {
	var s Server
	conn, p, done, err := c.one(ctx, log)
	if err != nil {
		return s, err
	}
	defer done()
	if err := conn.QueryRowContext(ctx, "SELECT @@version, @@version_comment").Scan(&s.Version, &s.Comment); err != nil {
		return s, fmt.Errorf("ask %s its version: %w", c, err)
	}
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &s.Cipher); err != nil {
		return s, fmt.Errorf("ask %s how the connection is encrypted: %w", c, err)
	}
	if s.Cipher != "" {
		s.Fingerprint = p.get()
	}
	if !s.MariaDB() {
		if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_mode").Scan(&s.GTIDMode); err != nil {
			return s, fmt.Errorf("ask %s its gtid_mode: %w", c, err)
		}
	}
	return s, nil
}

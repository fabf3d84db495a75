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

// Session is a pool of at most one connection to the server, opened once
// for the questions a run asks around a dump: the server's version (Ask)
// and what the database holds, before the dump and after it. Its
// connection stays open between them, so that a run makes one connection
// (and one TLS handshake) of its own, not one per question; one the server
// closed while it was idle is replaced at the next question, with the same
// settings. The caller closes it.
type Session struct {
	// DB is the pool; it never holds more than one connection.
	DB   *sql.DB
	conn Conn
	peer *peer
}

// Session opens a Session for c (no database selected, TLS as c.TLS says).
// It connects at the first question.
func (c Conn) Session(log *slog.Logger) (*Session, error) {
	db, p, err := c.openDB(log, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	return &Session{DB: db, conn: c, peer: p}, nil
}

// Close closes the session's connection.
func (s *Session) Close() error { return s.DB.Close() }

// Ask connects to the server once and asks its flavour and version, and
// how the connection was encrypted. The certificate's fingerprint is what
// the client tools then pin (Conn.TLSPin).
func (c Conn) Ask(ctx context.Context, log *slog.Logger) (Server, error) {
	s, err := c.Session(log)
	if err != nil {
		return Server{}, err
	}
	defer s.Close()
	return s.Ask(ctx)
}

// Ask asks the server its flavour and version, and how the session's
// connection was encrypted (see Conn.Ask).
func (s *Session) Ask(ctx context.Context) (Server, error) {
	var srv Server
	c := s.conn
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return srv, fmt.Errorf("connect to %s: %w", c, err)
	}
	defer conn.Close()
	if err := conn.QueryRowContext(ctx, "SELECT @@version, @@version_comment").Scan(&srv.Version, &srv.Comment); err != nil {
		return srv, fmt.Errorf("ask %s its version: %w", c, err)
	}
	var name string
	if err := conn.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &srv.Cipher); err != nil {
		return srv, fmt.Errorf("ask %s how the connection is encrypted: %w", c, err)
	}
	if srv.Cipher != "" {
		srv.Fingerprint = s.peer.get()
	}
	if !srv.MariaDB() {
		if err := conn.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_mode").Scan(&srv.GTIDMode); err != nil {
			return srv, fmt.Errorf("ask %s its gtid_mode: %w", c, err)
		}
	}
	return srv, nil
}

package mariadb

import (
	"context"
	"crypto/tls"
	"database/sql"
	"fmt"
	"log/slog"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// BinlogSource is what a server says of its binary log.
type BinlogSource struct {
	// Enabled is @@log_bin.
	Enabled bool
	// Identity names the server in segment names and backup metadata:
	// MySQL's @@server_uuid, "id<@@server_id>" on MariaDB (which has no
	// server UUID).
	Identity string
	// ServerID is @@server_id.
	ServerID uint32
	MariaDB  bool
	Version  string
	// Format is @@binlog_format ("ROW", "MIXED", "STATEMENT").
	Format string
	// Compressed: the server compresses what it logs (MySQL's
	// binlog_transaction_compression, MariaDB's log_bin_compress).
	Compressed bool
	// File and Offset are where the log ends now (SHOW BINARY LOG STATUS,
	// SHOW MASTER STATUS); "" when the account may not ask (it needs
	// REPLICATION CLIENT, MariaDB's BINLOG MONITOR).
	File   string
	Offset uint64
	// GTIDExecuted is MySQL's @@gtid_executed, MariaDB's
	// @@gtid_binlog_pos.
	GTIDExecuted string
}

// Binlog asks the server about its binary log.
func (c Conn) Binlog(ctx context.Context, log *slog.Logger) (BinlogSource, error) {
	var s BinlogSource
	conn, _, done, err := c.one(ctx, log)
	if err != nil {
		return s, err
	}
	defer done()
	var logBin int
	if err := conn.QueryRowContext(ctx, "SELECT @@version, @@log_bin, @@server_id").Scan(&s.Version, &logBin, &s.ServerID); err != nil {
		return s, fmt.Errorf("ask %s about its binary log: %w", c, err)
	}
	s.Enabled, s.MariaDB = logBin == 1, strings.Contains(s.Version, "MariaDB")
	if s.MariaDB {
		s.Identity = "id" + strconv.FormatUint(uint64(s.ServerID), 10)
		var zip int
		err = conn.QueryRowContext(ctx, "SELECT @@binlog_format, @@log_bin_compress, @@gtid_binlog_pos").Scan(&s.Format, &zip, &s.GTIDExecuted)
		s.Compressed = zip == 1
	} else {
		var zip int
		err = conn.QueryRowContext(ctx, "SELECT @@server_uuid, @@binlog_format, @@gtid_executed").Scan(&s.Identity, &s.Format, &s.GTIDExecuted)
		if err == nil {
			// MySQL 8.0.20 on.
			if qerr := conn.QueryRowContext(ctx, "SELECT @@binlog_transaction_compression").Scan(&zip); qerr == nil {
				s.Compressed = zip == 1
			}
		}
	}
	if err != nil {
		return s, fmt.Errorf("ask %s about its binary log: %w", c, err)
	}
	if !s.Enabled {
		return s, nil
	}
	file, off, err := logStatus(ctx, conn)
	switch {
	case Code(err) == ErSpecificAccess:
		// Without REPLICATION CLIENT the position is not known here.
	case err != nil:
		return s, fmt.Errorf("ask %s where its binary log ends: %w", c, err)
	default:
		s.File, s.Offset = file, off
	}
	return s, nil
}

// logStatus runs SHOW BINARY LOG STATUS (MySQL 8.2 on), else SHOW MASTER
// STATUS (MariaDB, older MySQL).
func logStatus(ctx context.Context, conn *sql.Conn) (string, uint64, error) {
	rows, err := conn.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	if Code(err) == 1064 { // syntax: not this server's statement
		rows, err = conn.QueryContext(ctx, "SHOW MASTER STATUS")
	}
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, err
	}
	if !rows.Next() {
		return "", 0, fmt.Errorf("no binary log status: %w", rows.Err())
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return "", 0, err
	}
	if len(vals) < 2 {
		return "", 0, fmt.Errorf("binary log status has %d columns", len(vals))
	}
	off, err := strconv.ParseUint(vals[1].String, 10, 64)
	if err != nil {
		return "", 0, fmt.Errorf("binary log status position %q: %w", vals[1].String, err)
	}
	return vals[0].String, off, rows.Err()
}

// ReplicaTLS is the TLS configuration of a replication connection to c,
// as c.TLS says and as the driver's connections have it (nil over a
// socket or with TLSOff); fallback says that a server offering no TLS is
// reached without (TLSPrefer).
func (c Conn) ReplicaTLS() (cfg *tls.Config, fallback bool, err error) {
	return c.driverTLS(&peer{})
}

// FindBinlogTool finds the program that turns the binary log of a server
// family into statements: for MySQL, Oracle's mysqlbinlog 8.0 or later;
// for MariaDB, mariadb-binlog (or MariaDB's mysqlbinlog). One family's
// tool cannot read the other's log, so a tool of the other family is an
// error naming what was found. program, when not "", is the tool to check
// instead of PATH's.
func FindBinlogTool(ctx context.Context, mariaDB bool, program string) (string, error) {
	names := []string{"mysqlbinlog"}
	want := "MySQL's mysqlbinlog 8.0 or later"
	if mariaDB {
		names, want = []string{"mariadb-binlog", "mysqlbinlog"}, "MariaDB's mariadb-binlog"
	}
	if program != "" {
		names = []string{program}
	}
	var found []string
	for _, n := range names {
		p, err := FindTool(n)
		if err != nil {
			continue
		}
		t, _ := ToolVersion(ctx, p)
		// MariaDB 10's tools print "Ver 3.5" without their product.
		maria := t.MariaDB || strings.Contains(t.Line, "mariadb-binlog")
		if mariaDB == maria && (mariaDB || t.Major >= 8) {
			return p, nil
		}
		found = append(found, fmt.Sprintf("%s (%s)", p, strings.TrimSpace(t.Line)))
	}
	if len(found) > 0 {
		return "", fmt.Errorf("the binary log needs %s; found only %s", want, strings.Join(found, ", "))
	}
	return "", fmt.Errorf("the binary log needs %s: none on PATH", want)
}

// FindClient finds the command-line client for a server family: its own
// (mysql for MySQL, mariadb for MariaDB) first, else the other's.
// program, when not "", is used as it is.
func FindClient(ctx context.Context, mariaDB bool, program string) (string, error) {
	if program != "" {
		return program, nil
	}
	if !mariaDB {
		if p, err := FindTool("mysql"); err == nil {
			if t, _ := ToolVersion(ctx, p); !t.MariaDB && t.Major >= 8 {
				return p, nil
			}
		}
	}
	return FindTool("mariadb", "mysql")
}

// LocalCommand prepares program to run with args on local input only,
// without connection settings: --no-defaults first, so that no option
// file is read; ChildEnv; a process group of its own. For a client tool
// that connects to a server, use Conn.Command.
func LocalCommand(ctx context.Context, program string, args ...string) *Cmd {
	cmd := exec.CommandContext(ctx, program, append([]string{"--no-defaults"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = ChildEnv()
	tail := &Tail{Max: 8192}
	cmd.Stderr = tail
	return &Cmd{Cmd: cmd, Name: programName(program), Stderr: tail}
}

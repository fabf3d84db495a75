package loader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync/atomic"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// server is what a loader asks the server before it reads a dump: how the
// server will read statements, and which databases the dump must not
// name.
type server struct {
	version   sqltext.ServerVersion
	maxPacket int
	foreign   []string // the databases the user sees, but the one loaded into
}

// askServer asks db (a connection pool on conn) what the gate needs.
func askServer(ctx context.Context, db *sql.DB, conn mariadb.Conn) (server, error) {
	var s server
	var version, mode string
	if err := db.QueryRowContext(ctx, "SELECT VERSION(), @@max_allowed_packet, @@SESSION.sql_mode").Scan(&version, &s.maxPacket, &mode); err != nil {
		return s, fmt.Errorf("load dump: connect to %s: %w", conn, err)
	}
	v, err := sqltext.ParseServerVersion(version)
	if err != nil {
		return s, fmt.Errorf("load dump: %w", err)
	}
	s.version = v
	if err := sqltext.CheckSQLMode(mode); err != nil {
		return s, fmt.Errorf("load dump: %w", err)
	}
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return s, fmt.Errorf("load dump: list databases: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return s, fmt.Errorf("load dump: list databases: %w", err)
		}
		if name != conn.Database {
			s.foreign = append(s.foreign, name)
		}
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("load dump: list databases: %w", err)
	}
	return s, nil
}

// statements is the statement gate as the loaders read it.
type statements struct {
	*sqltext.Gate
	maxPacket int
}

// Next returns the next statement the gate lets through. A statement over
// the server's max_allowed_packet says which server setting to raise: a
// backup holding rows that large is not corrupt, but this server cannot
// load it as configured.
func (g statements) Next() (sqltext.Statement, error) {
	st, err := g.Gate.Next()
	if errors.Is(err, sqltext.ErrStatementTooLong) {
		err = fmt.Errorf("%w: the server's max_allowed_packet is %d bytes; if the backup is good, raise it in the server's configuration ([mysqld] max_allowed_packet = 1G) and restart it", err, g.maxPacket)
	}
	return st, err
}

// gate puts the statement gate in front of r.
func (s server) gate(r io.Reader, read *atomic.Int64) statements {
	sp := sqltext.NewSplitter(r)
	sp.MaxStatement = s.maxPacket
	sp.BytesRead = read
	// A statement of tens of MiB grows the buffer in steps: each old
	// buffer goes back to the system at once, so that the memory held is
	// never much more than twice the statement.
	sp.Grew = debug.FreeOSMemory
	return statements{sqltext.NewGate(sp, sqltext.GateOptions{Server: s.version, Foreign: s.foreign}), s.maxPacket}
}

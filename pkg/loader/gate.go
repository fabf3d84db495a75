package loader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// server is what a loader asks the server before it reads a dump: how the
// server will read statements, and which databases the dump must not
// name.
type server struct {
	version    sqltext.ServerVersion
	maxPacket  int
	foreign    []string        // the databases the user sees, the one loaded into too
	collations map[string]bool // for the MySQL mapping; nil when not asked
}

// Rules tighten and widen what the gate lets through, beyond what a dump
// of one database may write (the restore sets them; the zero value is the
// gate's default).
type Rules struct {
	// Dialect, when not nil, maps a MySQL dump's dialect to MariaDB's
	// and records what it changed (sqltext.Dialect).
	Dialect *sqltext.Dialect
	// Whole refuses a dump that is not a whole database: a data-only
	// dump, or views without tables (sqltext.GateOptions.Whole).
	Whole bool
	// Reserved are databases no statement or body may name, whether the
	// loading user sees them or not (yet): the restore's target and
	// workspaces. They are added to sqltext.GateOptions.Foreign.
	Reserved []string
}

// RuleLoader is a Loader whose gate takes Rules. Both loaders are.
type RuleLoader interface {
	Loader
	LoadWith(ctx context.Context, r io.Reader, conn mariadb.Conn, rules Rules) error
}

var (
	_ RuleLoader = Client{}
	_ RuleLoader = Parallel{}
)

// askServer asks db (a connection pool on conn) what the gate needs; the
// server's collations only when rules need them.
func askServer(ctx context.Context, db *sql.DB, conn mariadb.Conn, rules Rules) (server, error) {
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
		// The database loaded into too: a body that names it is restored
		// elsewhere (the restore's staging database is the next
		// restore's too), and the dump's own name is taken out before.
		s.foreign = append(s.foreign, name)
	}
	if err := rows.Err(); err != nil {
		return s, fmt.Errorf("load dump: list databases: %w", err)
	}
	if rules.Dialect != nil && s.version.MariaDB {
		if s.collations, err = collations(ctx, db); err != nil {
			return s, fmt.Errorf("load dump: list collations: %w", err)
		}
	}
	return s, nil
}

// collations lists the server's utf8mb4 collations. MariaDB 10.10 and
// later list the UCA 14.0 ones without their character set in SHOW
// COLLATION ("uca1400_nopad_ai_ci"); their full names
// ("utf8mb4_uca1400_nopad_ai_ci") are in FULL_COLLATION_NAME, which older
// servers do not have.
func collations(ctx context.Context, db *sql.DB) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT FULL_COLLATION_NAME FROM information_schema.COLLATION_CHARACTER_SET_APPLICABILITY WHERE CHARACTER_SET_NAME = 'utf8mb4'")
	if mariadb.Code(err) == 1054 { // no such column: before 10.10
		rows, err = db.QueryContext(ctx, "SELECT COLLATION_NAME FROM information_schema.COLLATIONS WHERE CHARACTER_SET_NAME = 'utf8mb4'")
	}
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out[strings.ToLower(name)] = true
	}
	return out, rows.Err()
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
func (s server) gate(r io.Reader, read *atomic.Int64, rules Rules) statements {
	sp := sqltext.NewSplitter(r)
	sp.MaxStatement = s.maxPacket
	sp.BytesRead = read
	// A statement of tens of MiB grows the buffer in steps: each old
	// buffer goes back to the system at once, so that the memory held is
	// never much more than twice the statement.
	sp.Grew = debug.FreeOSMemory
	return statements{sqltext.NewGate(sp, sqltext.GateOptions{Server: s.version, Foreign: slices.Concat(s.foreign, rules.Reserved),
		Dialect: rules.Dialect, Collations: s.collations, Whole: rules.Whole}), s.maxPacket}
}

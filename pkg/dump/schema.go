package dump

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync/atomic"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// RestoreServer is the server the restore loads into, as the yesterday
// image holds it (Debian 13's default-mysql-server, MariaDB 11.8): the
// version the schema check reads a dump for.
var RestoreServer = sqltext.ServerVersion{N: 110800, MariaDB: true}

// SchemaCheck is what CheckSchema found.
type SchemaCheck struct {
	Pairing    Pairing
	Conn       mariadb.Conn // the connection as the dump made it (its pinned certificate)
	Bytes      int64        // SQL the schema dump wrote
	Statements int          // statements the gate let through
	// Refused is the first statement the restore's gate refused, nil when
	// it let the whole schema through.
	Refused *sqltext.RefusedError
	// Inventory is what information_schema shows the dump account,
	// Dumped what the schema dump holds, and Gap what a backup would
	// miss: a *PrivilegeError (the account cannot see or read part of
	// the database; the dump tool may then fail before Dumped is
	// counted) or an *IncompleteError; nil when it holds everything.
	Inventory Inventory
	Dumped    Objects
	Gap       error
}

// CheckSchema dumps the database's schema (every object, no rows) with the
// options a backup uses, and reads it through the restore's statement
// gate as RestoreServer would, MySQL's dialect mapped: a pairing of tool
// and server that writes something the restore refuses is found at backup
// time, not at the restore. It also compares the schema with what
// information_schema shows the dump account (SchemaCheck.Gap). An error is
// a dump that failed; a refusal and a gap are in the result.
func (d *Dumper) CheckSchema(ctx context.Context) (SchemaCheck, error) {
	var sc SchemaCheck
	log := d.logger()
	prog, err := d.program()
	if err != nil {
		return sc, err
	}
	pair, conn, err := Pair(ctx, d.Conn, prog, log)
	sc.Pairing, sc.Conn = pair, conn
	if err != nil {
		return sc, err
	}
	sc.Inventory, err = TakeInventory(ctx, conn, pair.Server, log)
	if err != nil {
		return sc, fmt.Errorf("schema dump: %w", err)
	}
	sc.Gap = sc.Inventory.Problem(conn.Database)
	args := append(append(append([]string(nil), Flags...), pair.Flags...),
		"--max-allowed-packet="+strconv.FormatInt(d.packet(), 10), "--no-data", "--", conn.Database)
	cmd, err := conn.Command(ctx, d.TempDir, prog, args...)
	if err != nil {
		return sc, err
	}
	defer cmd.Close()
	stdout, err := cmd.Cmd.StdoutPipe()
	if err != nil {
		return sc, fmt.Errorf("schema dump: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return sc, err
	}
	var raw atomic.Int64
	tail := &mariadb.Tail{Max: 256}
	objects := &ObjectCounter{}
	g := sqltext.NewGate(sqltext.NewSplitter(&observer{r: stdout, n: &raw, seen: []io.Writer{tail, objects}}),
		sqltext.GateOptions{Server: RestoreServer, Dialect: &sqltext.Dialect{}})
	var gateErr error
	for {
		_, err := g.Next()
		if err != nil {
			gateErr = err
			break
		}
		sc.Statements++
	}
	var refused *sqltext.RefusedError
	if errors.As(gateErr, &refused) {
		sc.Refused = refused
	}
	// The rest of the schema is read and thrown away, so that the tool
	// exits on its own and its status counts.
	_, _ = io.Copy(io.Discard, &observer{r: stdout, n: &raw, seen: []io.Writer{tail, objects}})
	waitErr := cmd.Wait()
	sc.Bytes = raw.Load()
	sc.Dumped = objects.Objects
	if sc.Gap == nil && waitErr == nil {
		sc.Gap = compareObjects(conn.Database, sc.Dumped, sc.Inventory.Objects)
	}
	switch {
	case waitErr != nil:
		return sc, waitErr
	case !HasTrailer(tail.Bytes()):
		return sc, ErrNoTrailer
	case gateErr != nil && !errors.Is(gateErr, io.EOF) && refused == nil:
		return sc, fmt.Errorf("read the schema dump: %w", gateErr)
	}
	return sc, nil
}

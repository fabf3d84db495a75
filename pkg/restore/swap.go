package restore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/sqltext"
)

// swapper moves a loaded staging database into the target. The old tables
// go to a third database, the attic, in the same RENAME TABLE statement
// that brings the new ones in: InnoDB keeps foreign key names unique per
// database, so the old and new copies of a named constraint can only trade
// places through a database that holds neither.
type swapper struct {
	target, staging, attic string
	log                    *slog.Logger
	// begin, when set, runs on the swap's connection once both databases
	// have been read and before the first change to either: it journals
	// the swap and withdraws the banner. An error stops the swap there.
	begin func(ctx context.Context, conn *sql.Conn, prev, next schema) error
}

// swapError is a failure at or after the point where the target started to
// change. RolledBack says whether the target was put back as it was.
type swapError struct {
	err        error
	rolledBack bool
	rollback   error // why putting it back failed
}

func (e *swapError) Error() string {
	if e.rolledBack {
		return fmt.Sprintf("%v (the previous database was put back)", e.err)
	}
	return fmt.Sprintf("%v; putting the previous database back failed too: %v", e.err, e.rollback)
}

func (e *swapError) Unwrap() error { return e.err }

// swap replaces the target's tables, views, triggers, routines and events
// with the staging database's. It returns the number of tables moved in.
//
// Everything that can fail for reasons of the dump has already happened
// in staging: every object was created there by the same user, so creating
// it again in the target can only fail for reasons of the server (a lost
// connection, a full disk, a revoked privilege). For those, every step
// after the first change to the target has an undo: the old objects'
// definitions are read before anything changes, and the old tables wait in
// the attic until the new database is complete.
func (s swapper) swap(ctx context.Context, db *sql.DB) (int, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, fmt.Errorf("swap: %w", err)
	}
	defer conn.Close()
	// An app holding a table open must make the swap fail, not hang it
	// for the server's default of a day.
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 60"); err != nil {
		return 0, fmt.Errorf("swap: %w", err)
	}

	next, err := capture(ctx, conn, s.staging)
	if err != nil {
		return 0, fmt.Errorf("read the loaded database: %w", err)
	}
	prev, err := capture(ctx, conn, s.target)
	if err != nil {
		return 0, fmt.Errorf("read the database to replace: %w", err)
	}
	for _, o := range concat(prev.views, prev.triggers) {
		if o.create == "" {
			return 0, fmt.Errorf("read the database to replace: the definition of %s is hidden from this user", o)
		}
	}
	for _, o := range concat(next.routines, next.events) {
		if o.create == "" {
			return 0, fmt.Errorf("read the loaded database: the definition of %s is hidden from this user", o)
		}
	}
	if s.begin != nil {
		if err := s.begin(ctx, conn, prev, next); err != nil {
			return 0, err
		}
	}
	s.log.Info("swapping in the restored database",
		"tables", len(next.tables), "objects", next.objects(), "replacing_tables", len(prev.tables), "replacing_objects", prev.objects())

	// A trigger cannot move to another database with its table, so the new
	// tables leave theirs behind (the definitions are kept).
	for _, o := range next.triggers {
		if err := drop(ctx, conn, s.staging, o); err != nil {
			return 0, err
		}
	}

	checkpoint("swap")
	// From here on the target changes. The old triggers cannot go to the
	// attic with their tables either: they are dropped just before the
	// rename, and recreated if it fails. The old views stay (see
	// viewsInTheWay): the app's reads of them never find them missing.
	if err := s.dropAll(ctx, conn, s.target, concat(prev.triggers, viewsInTheWay(prev, next))); err != nil {
		return 0, s.undoBeforeRename(ctx, db, prev, err)
	}
	checkpoint("dropped")
	var moves []string
	for _, t := range prev.tables {
		moves = append(moves, sqltext.Qualified(s.target, t)+" TO "+sqltext.Qualified(s.attic, t))
	}
	for _, t := range next.tables {
		moves = append(moves, sqltext.Qualified(s.staging, t)+" TO "+sqltext.Qualified(s.target, t))
	}
	if len(moves) > 0 {
		// One statement: the server renames all tables or none.
		if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(moves, ", ")); err != nil {
			return 0, s.undoBeforeRename(ctx, db, prev, fmt.Errorf("rename tables into %s: %w", s.target, err))
		}
	}

	checkpoint("renamed")
	if err := s.complete(ctx, conn, prev, next); err != nil {
		return 0, s.undoAfterRename(ctx, db, prev, next, err)
	}
	return len(next.tables), nil
}

// complete creates the new objects in the target, which now holds the new
// tables, and removes old views, routines and events the dump does not
// have. Every object is created with CREATE OR REPLACE, which the server
// runs as one change: a reader finds the old definition or the new one,
// never none.
func (s swapper) complete(ctx context.Context, conn *sql.Conn, prev, next schema) error {
	if _, err := conn.ExecContext(ctx, "USE "+sqltext.Ident(s.target)); err != nil {
		return fmt.Errorf("use %s: %w", s.target, err)
	}
	if err := createViews(ctx, conn, next.views); err != nil {
		return err
	}
	for _, list := range [][]object{next.triggers, next.routines, next.events} {
		for _, o := range list {
			if err := create(ctx, conn, o); err != nil {
				return err
			}
		}
	}
	keep := map[string]bool{}
	for _, o := range concat(next.routines, next.events) {
		keep[o.key()] = true
	}
	for _, o := range concat(prev.routines, prev.events) {
		if !keep[o.key()] {
			if err := drop(ctx, conn, s.target, o); err != nil {
				return err
			}
		}
	}
	return s.dropAll(ctx, conn, s.target, viewsGone(prev, next))
}

func (s swapper) dropAll(ctx context.Context, conn *sql.Conn, db string, objs []object) error {
	for _, o := range objs {
		if err := drop(ctx, conn, db, o); err != nil {
			return err
		}
	}
	return nil
}

// undoContext outlives a cancelled restore: a signal must not leave the
// target half-swapped.
func undoContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
}

// undoBeforeRename puts back the old triggers and views after the tables
// stayed where they were.
func (s swapper) undoBeforeRename(ctx context.Context, db *sql.DB, prev schema, cause error) error {
	ctx, cancel := undoContext(ctx)
	defer cancel()
	s.log.Warn("swap failed before the tables moved; restoring the previous views and triggers", "err", cause)
	err := s.withConn(ctx, db, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, "USE "+sqltext.Ident(s.target)); err != nil {
			return err
		}
		return s.recreate(ctx, conn, prev, false)
	})
	if err != nil {
		return &swapError{err: cause, rollback: err}
	}
	return &swapError{err: cause, rolledBack: true}
}

// undoAfterRename puts the old tables and objects back after the new
// tables had moved in.
func (s swapper) undoAfterRename(ctx context.Context, db *sql.DB, prev, next schema, cause error) error {
	ctx, cancel := undoContext(ctx)
	defer cancel()
	s.log.Warn("swap failed after the tables moved; putting the previous database back", "err", cause)
	err := s.withConn(ctx, db, func(conn *sql.Conn) error {
		if _, err := conn.ExecContext(ctx, "USE "+sqltext.Ident(s.target)); err != nil {
			return err
		}
		// Whatever views and triggers the target has now are new ones, and
		// new triggers would keep the new tables from leaving.
		cur, err := capture(ctx, conn, s.target)
		if err != nil {
			return err
		}
		if err := s.dropAll(ctx, conn, s.target, concat(cur.triggers, cur.views)); err != nil {
			return err
		}
		var moves []string
		for _, t := range next.tables {
			moves = append(moves, sqltext.Qualified(s.target, t)+" TO "+sqltext.Qualified(s.staging, t))
		}
		for _, t := range prev.tables {
			moves = append(moves, sqltext.Qualified(s.attic, t)+" TO "+sqltext.Qualified(s.target, t))
		}
		if len(moves) > 0 {
			if _, err := conn.ExecContext(ctx, "RENAME TABLE "+strings.Join(moves, ", ")); err != nil {
				return fmt.Errorf("rename the previous tables back: %w", err)
			}
		}
		// New routines and events the old database did not have go; the
		// old ones are created again over the new ones of the same name.
		had := map[string]bool{}
		for _, o := range concat(prev.routines, prev.events) {
			had[o.key()] = true
		}
		present := map[string]bool{}
		for _, o := range concat(cur.routines, cur.events) {
			present[o.key()] = true
			if !had[o.key()] {
				if err := drop(ctx, conn, s.target, o); err != nil {
					return err
				}
			}
		}
		replaced := map[string]bool{}
		for _, o := range concat(next.routines, next.events) {
			replaced[o.key()] = true
		}
		var errs []error
		for _, o := range concat(prev.routines, prev.events) {
			if o.create == "" && (replaced[o.key()] || !present[o.key()]) {
				errs = append(errs, fmt.Errorf("cannot put back %s: its definition is hidden from this user", o))
			}
		}
		return errors.Join(append(errs, s.recreate(ctx, conn, prev, true))...)
	})
	if err != nil {
		return &swapError{err: cause, rollback: err}
	}
	return &swapError{err: cause, rolledBack: true}
}

// recreate creates prev's views and triggers in the target again, and with
// routines its routines and events too. Routines whose bodies the server
// hides from this user are skipped: the caller reports those it touched.
func (s swapper) recreate(ctx context.Context, conn *sql.Conn, prev schema, routines bool) error {
	var errs []error
	if routines {
		for _, o := range concat(prev.routines, prev.events) {
			if o.create == "" {
				continue
			}
			if err := create(ctx, conn, o); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := createViews(ctx, conn, prev.views); err != nil {
		errs = append(errs, err)
	}
	for _, o := range prev.triggers {
		if err := create(ctx, conn, o); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// concat returns a new slice holding the objects of all lists.
func concat(lists ...[]object) []object {
	var out []object
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func (s swapper) withConn(ctx context.Context, db *sql.DB, f func(*sql.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "SET SESSION lock_wait_timeout = 60"); err != nil {
		return err
	}
	return f(conn)
}

package restore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/backupd/backupd/pkg/sqltext"
)

// namedLock takes a server-wide named lock (GET_LOCK) for restores of target, so that a
// restore at boot and a scheduled one never share a staging database. The
// lock lives as long as the connection that holds it: a crashed restore
// cannot leave it behind, though the server may end a killed run's session
// a moment after its process died, so a lock held is waited for a few
// seconds (lockWait) before the run reports another restore running.
// lockWait is how long a restore waits for the lock of its database.
const lockWait = 5 * time.Second

func namedLock(ctx context.Context, db *sql.DB, target string) (unlock func(), err error) {
	name := "yesterday-restore " + target
	if len(name) > 64 {
		sum := sha256.Sum256([]byte(target))
		name = "yesterday-restore " + hex.EncodeToString(sum[:16])
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, ?)", name, lockWait.Seconds()).Scan(&got); err != nil {
		conn.Close()
		return nil, fmt.Errorf("lock %s: %w", target, err)
	}
	if got.Int64 != 1 {
		conn.Close()
		return nil, fmt.Errorf("restore %s: %w", target, ErrRestoreRunning)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_, _ = conn.ExecContext(ctx, "DO RELEASE_LOCK(?)", name)
		conn.Close()
	}, nil
}

// ensureTarget creates the target database when it is missing.
func ensureTarget(ctx context.Context, db *sql.DB, target string) error {
	_, err := db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+sqltext.Ident(target)+" CHARACTER SET utf8mb4")
	if accessDenied(err) {
		return fmt.Errorf("create database %s: %w; the restore user needs all privileges on it: %s",
			target, err, grantHint(ctx, db, target))
	}
	if err != nil {
		return fmt.Errorf("create database %s: %w", target, err)
	}
	return nil
}

// workspace is the staging database and the attic of one restore. Both
// carry a comment naming their role and target, so that a leftover of a
// crashed run is recognised and dropped, and a database of someone else's
// that happens to have the name is never touched.
type workspace struct {
	db                     *sql.DB
	target, staging, attic string
	log                    *slog.Logger
	keep                   bool            // a failed swap left data there: do not drop
	created                map[string]bool // the databases this restore made
}

func (w *workspace) marker(role string) string {
	return "yesterday-restore " + role + " for " + w.target
}

// prepare makes the staging database and the attic exist and be empty,
// with the target's character set and collation (the default of routines
// and views created in them), or utf8mb4 when the target does not exist
// yet: it is created only for the swap.
func (w *workspace) prepare(ctx context.Context) error {
	cs, coll := "utf8mb4", ""
	err := w.db.QueryRowContext(ctx,
		"SELECT default_character_set_name, default_collation_name FROM information_schema.schemata WHERE schema_name = ?",
		w.target).Scan(&cs, &coll)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("read settings of database %s: %w", w.target, err)
	}
	for _, d := range []struct{ name, role string }{{w.staging, "staging"}, {w.attic, "attic"}} {
		if err := w.fresh(ctx, d.name, d.role, cs, coll); err != nil {
			return err
		}
	}
	return nil
}

// ours reports whether database name exists and carries the marker of
// role; a database of that name that is not a workspace is an error.
func (w *workspace) ours(ctx context.Context, name, role string) (bool, error) {
	var comment string
	err := w.db.QueryRowContext(ctx,
		"SELECT schema_comment FROM information_schema.schemata WHERE schema_name = ?", name).Scan(&comment)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look for database %s: %w", name, err)
	case comment != w.marker(role):
		return false, fmt.Errorf("database %s exists and is not a workspace of this restore (its comment is %q, not %q): drop it or choose another staging database",
			name, comment, w.marker(role))
	}
	return true, nil
}

// adopt makes cleanup drop the workspaces an earlier run left, once they
// have served a recovery.
func (w *workspace) adopt() {
	if w.created == nil {
		w.created = map[string]bool{}
	}
	w.created[w.staging], w.created[w.attic] = true, true
}

func (w *workspace) fresh(ctx context.Context, name, role, cs, coll string) error {
	exists, err := w.ours(ctx, name, role)
	if err != nil {
		return err
	}
	if exists {
		w.log.Debug("dropping the workspace of an earlier attempt", "database", name)
		if _, err := w.db.ExecContext(ctx, "DROP DATABASE "+sqltext.Ident(name)); err != nil {
			return fmt.Errorf("drop old workspace %s: %w", name, err)
		}
	}
	collate := ""
	if coll != "" {
		collate = " COLLATE " + sqltext.Literal(coll)
	}
	_, err = w.db.ExecContext(ctx, "CREATE DATABASE "+sqltext.Ident(name)+
		" CHARACTER SET "+sqltext.Literal(cs)+collate+" COMMENT "+sqltext.Literal(w.marker(role)))
	if accessDenied(err) {
		return fmt.Errorf("create workspace database %s: %w; the restore user needs all privileges on it: %s",
			name, err, grantHint(ctx, w.db, name))
	}
	if err != nil {
		return fmt.Errorf("create workspace database %s: %w", name, err)
	}
	if w.created == nil {
		w.created = map[string]bool{}
	}
	w.created[name] = true
	return nil
}

// cleanup drops the staging database and the attic, even when ctx is
// cancelled, unless a failed swap left the only copy of some tables there.
func (w *workspace) cleanup(ctx context.Context) {
	if w.keep {
		w.log.Error("keeping the workspace databases and the swap journal: the next run finishes or undoes the swap from them",
			"staging", w.staging, "attic", w.attic)
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for _, name := range []string{w.staging, w.attic} {
		if !w.created[name] {
			continue
		}
		if _, err := w.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+sqltext.Ident(name)); err != nil {
			w.log.Warn("could not drop a workspace database; the next restore drops it", "database", name, "err", err)
		}
	}
}

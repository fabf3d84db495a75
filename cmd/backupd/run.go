package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/lock"
	"github.com/backupd/backupd/pkg/storage"
)

// newJob is the one way a backup is set up, by "now" and by the daemon
// alike: the dump of the configured database streamed into store under the
// current time's name.
// Its shape is judged against the recent backups in the same store.
func newJob(st cli.Settings, store *storage.Store, shape backup.ShapePolicy, counters *dump.Counters, log *slog.Logger) backup.Job {
	return backup.Job{
		Dumper:   &dump.Dumper{Program: st.Mysqldump, Conn: st.Conn, MaxAllowedPacket: st.MaxAllowedPacket, Log: log},
		Store:    store,
		Codec:    st.Codec(),
		Time:     time.Now(),
		Counters: counters,
		History:  store,
		Shape:    shape,
		Log:      log,
	}
}

// acquire takes the lock at path for command ("backupd now"), waiting up
// to wait for it. A lock held elsewhere is an error matching lock.ErrLocked,
// which the exit table turns into cli.ExitLocked; without a wait it says
// how to wait.
func acquire(ctx context.Context, log *slog.Logger, path, command string, wait time.Duration) (*lock.Lock, error) {
	held, err := lock.TryAcquire(path, command)
	if errors.Is(err, lock.ErrLocked) && wait > 0 {
		log.Info("waiting for the running backup to finish", "lock", err.Error(), "wait", wait.String())
		held, err = lock.Acquire(ctx, path, command, wait, time.Second)
	}
	if errors.Is(err, lock.ErrLocked) && wait == 0 {
		err = fmt.Errorf("%w; to wait for it instead, give --wait or BACKUPD_LOCK_WAIT (such as --wait 15m)", err)
	}
	return held, err
}

// listBackups opens the configured remote and sorts what it holds into
// backups, partial uploads and foreign files.
func listBackups(ctx context.Context, st cli.Settings, log *slog.Logger) (*storage.Store, catalog.Listing, error) {
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return nil, catalog.Listing{}, err
	}
	// A folder that does not exist is a mistyped setting, not an empty
	// remote.
	entries, err := store.ListFolder(ctx)
	if errors.Is(err, storage.ErrNoFolder) {
		return nil, catalog.Listing{}, err
	}
	if err != nil {
		return nil, catalog.Listing{}, fmt.Errorf("list backups in %s: %w", store, err)
	}
	return store, st.Codec().Scan(entries, time.Now()), nil
}

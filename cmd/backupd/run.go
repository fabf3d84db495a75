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
func newJob(st cli.Settings, store *storage.Store, counters *dump.Counters, log *slog.Logger) backup.Job {
	return backup.Job{
		Dumper:   &dump.Dumper{Program: st.Mysqldump, Conn: st.Conn, Log: log},
		Store:    store,
		Codec:    st.Codec(),
		Time:     time.Now(),
		Counters: counters,
		Log:      log,
	}
}

// lockFlags are the settings of the lock that keeps backups to one at a
// time across processes.
type lockFlags struct {
	set        *cli.Set
	file, wait *cli.Setting
}

// addLockFlags declares --lock-file, and --wait when withWait.
func addLockFlags(set *cli.Set, withWait bool) *lockFlags {
	l := &lockFlags{set: set}
	l.file = set.String("lock-file", []string{"BACKUPD_LOCK_FILE"}, lock.DefaultPath,
		"lock file shared by every backupd on the machine, so that only one backup runs at a time; default "+lock.DefaultPath)
	if withWait {
		l.wait = set.String("wait", []string{"BACKUPD_LOCK_WAIT"}, "",
			"if another backup holds the lock, wait up to this long (e.g. 10m) instead of failing at once")
	}
	return l
}

func (l *lockFlags) path() (string, error) {
	return l.set.Required(l.file, "lock file")
}

// acquire takes the lock for command ("backupd now"), waiting as --wait
// says. A lock held elsewhere is an error matching lock.ErrLocked, which
// main turns into exit status cli.ExitLocked.
func (l *lockFlags) acquire(ctx context.Context, log *slog.Logger, command string) (*lock.Lock, error) {
	path, err := l.path()
	if err != nil {
		return nil, err
	}
	var wait time.Duration
	if l.wait != nil {
		if wait, err = l.set.Duration(l.wait); err != nil {
			return nil, err
		}
	}
	held, err := lock.TryAcquire(path, command)
	if errors.Is(err, lock.ErrLocked) && wait > 0 {
		log.Info("waiting for the running backup to finish", "lock", err.Error(), "wait", wait.String())
		held, err = lock.Acquire(ctx, path, command, wait, time.Second)
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
	entries, err := store.List(ctx)
	if err != nil {
		return nil, catalog.Listing{}, fmt.Errorf("list backups: %w", err)
	}
	return store, st.Codec().Scan(entries, time.Now()), nil
}

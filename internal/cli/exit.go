package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/lock"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/storage"
)

// Exit statuses of backupd and yesterday-restore.
const (
	ExitOK          = 0
	ExitFailure     = 1  // the operation failed; the message says why
	ExitUsage       = 2  // bad or missing setting; nothing ran
	ExitNoBackup    = 3  // no backup to restore or verify
	ExitPruneFailed = 4  // the backup was published, but retention failed
	ExitLocked      = 11 // another backup or restore holds the lock
)

// ErrNoBackup means there is no backup to act on: the remote holds none,
// or none of the given name. It maps to ExitNoBackup, as does
// selector.ErrNoBackup.
var ErrNoBackup = errors.New("no backup")

// exitStatuses is the one table from errors to exit statuses for both
// programs; the first row that matches wins, and an error no row matches
// is ExitFailure.
var exitStatuses = []struct {
	status int
	match  func(error) bool
}{
	{ExitOK, func(err error) bool { return err == nil || errors.Is(err, ErrHelp) }},
	{ExitUsage, func(err error) bool {
		var se *storage.SettingError
		var ke *restore.KeyError
		return IsUsage(err) || errors.As(err, &se) || errors.Is(err, storage.ErrNoFolder) || errors.As(err, &ke)
	}},
	{ExitLocked, func(err error) bool {
		return errors.Is(err, lock.ErrLocked) || errors.Is(err, restore.ErrRestoreRunning)
	}},
	{ExitNoBackup, func(err error) bool { return errors.Is(err, ErrNoBackup) || errors.Is(err, selector.ErrNoBackup) }},
	{ExitPruneFailed, func(err error) bool { var pe *backup.PruneError; return errors.As(err, &pe) }},
}

// ExitStatus maps err to the program's exit status.
func ExitStatus(err error) int {
	for _, row := range exitStatuses {
		if row.match(err) {
			return row.status
		}
	}
	return ExitFailure
}

// Exit writes err as one line after prefix ("backupd now") on w, unless it
// is nil or ErrHelp, and returns the exit status for it.
func Exit(w io.Writer, prefix string, err error) int {
	status := ExitStatus(err)
	if status != ExitOK {
		fmt.Fprintf(w, "%s: %v\n", prefix, err)
	}
	return status
}

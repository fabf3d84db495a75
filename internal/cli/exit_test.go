package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/lock"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/selector"
)

func TestExitStatus(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want int
	}{
		{"success", nil, ExitOK},
		{"help", ErrHelp, ExitOK},
		{"usage", fmt.Errorf("x: %w", Usagef("missing database name")), ExitUsage},
		{"backup lock", fmt.Errorf("x: %w", lock.ErrLocked), ExitLocked},
		{"restore lock", fmt.Errorf("x: %w", restore.ErrRestoreRunning), ExitLocked},
		{"keys that open no backup", fmt.Errorf("restore: %w", &restore.KeyError{Identity: true}), ExitUsage},
		{"no backup to verify", fmt.Errorf("x: %w", ErrNoBackup), ExitNoBackup},
		{"no backup to restore", fmt.Errorf("x: %w", selector.ErrNoBackup), ExitNoBackup},
		{"prune after a published backup", fmt.Errorf("now: %w", &backup.PruneError{Backup: "db-backup-20250101-000000.sql.zst", Err: os.ErrPermission}), ExitPruneFailed},
		{"anything else", os.ErrPermission, ExitFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ExitStatus(tc.err); got != tc.want {
				t.Errorf("ExitStatus(%v) = %d, want %d", tc.err, got, tc.want)
			}
		})
	}
}

func TestExitWritesOneLine(t *testing.T) {
	var b bytes.Buffer
	if got := Exit(&b, "backupd now", errors.New("dump failed")); got != ExitFailure {
		t.Errorf("Exit = %d, want %d", got, ExitFailure)
	}
	if got, want := b.String(), "backupd now: dump failed\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
	b.Reset()
	if got := Exit(&b, "backupd", ErrHelp); got != ExitOK || b.Len() != 0 {
		t.Errorf("Exit(ErrHelp) = %d and wrote %q; want %d and nothing", got, b.String(), ExitOK)
	}
}

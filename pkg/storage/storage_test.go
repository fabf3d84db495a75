package storage_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/storage"
)

// The consumers declare the small interfaces they need; the Store must
// satisfy each of them.
var (
	_ backup.Putter     = (*storage.Store)(nil)
	_ backup.PruneStore = (*storage.Store)(nil)
	_ restore.Store     = (*storage.Store)(nil)
)

func TestConformanceLocal(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(context.Background(), t.TempDir()+"/backups", nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		s, err := storage.Open(context.Background(), ":memory:"+t.Name(), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestConformanceDrive(t *testing.T) {
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	ctx := p.Context(context.Background())
	storagetest.Run(t, func(t *testing.T) *storage.Store {
		folder := p.NewFolder(p.DriveID, t.Name())
		s, err := storage.Open(ctx, storage.DriveRemote("gdrive", folder), nil)
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestOpenConfiguredRemote checks that any remote configured through
// RCLONE_CONFIG_<NAME>_* variables opens through rclone's own lookup.
func TestOpenConfiguredRemote(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("RCLONE_CONFIG_OFFSITE_TYPE", "local")
	s, err := storage.Open(context.Background(), "offsite:"+dir+"/db", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "offsite:"+dir+"/db"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if _, err := s.Put(context.Background(), "db-backup-20250101-000000.sql.zst", strings.NewReader("x"), func() (map[string]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "db", "db-backup-20250101-000000.sql.zst")); err != nil {
		t.Errorf("backup not where the remote points: %v", err)
	}
}

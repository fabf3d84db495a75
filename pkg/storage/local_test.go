package storage_test

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// TestLocalPrivateModes: a backup holds the whole database, so a local
// remote keeps it 0600 in a 0700 folder whatever the umask, from the first
// byte of the partial upload on. The folder is created by the upload, or
// was there already with looser modes.
func TestLocalPrivateModes(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)

	for _, existing := range []bool{false, true} {
		name := "created"
		if existing {
			name = "existing"
		}
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backups")
			if existing {
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			s, err := storage.Open(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			backup := "db-backup-20250101-000000.sql.zst"
			pr, pw := io.Pipe()
			checked := make(chan struct{})
			go func() {
				// Half the stream, then look at the partial while the
				// upload waits for the rest.
				payload := storagetest.Payload(4<<20, 1)
				_, _ = pw.Write(payload[:2<<20])
				partial := filepath.Join(dir, backup+catalog.PartialSuffix)
				waitFor(t, partial)
				checkMode(t, partial, 0o600)
				checkMode(t, dir, 0o700)
				close(checked)
				_, _ = pw.Write(payload[2<<20:])
				pw.Close()
			}()
			if _, err := s.Put(context.Background(), backup, pr, func() (map[string]string, error) { return nil, nil }); err != nil {
				t.Fatal(err)
			}
			<-checked
			checkMode(t, filepath.Join(dir, backup), 0o600)
			checkMode(t, dir, 0o700)
		})
	}
}

// waitFor waits until the upload has created p; rclone reads ahead of
// what it writes, so the file may lag behind the stream.
func waitFor(t *testing.T, p string) {
	for i := 0; i < 1000; i++ {
		if _, err := os.Lstat(p); err == nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func checkMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	st, err := os.Lstat(p)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("%s has mode %o, want %o", filepath.Base(p), got, want)
	}
}

// TestLocalPartialSymlink: a link planted at the partial's name is not
// followed.
func TestLocalPartialSymlink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	backup := "db-backup-20250101-000000.sql.zst"
	if err := os.Symlink(target, filepath.Join(dir, backup+catalog.PartialSuffix)); err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = s.Put(context.Background(), backup, strings.NewReader("data"), func() (map[string]string, error) { return nil, nil })
	if b, _ := os.ReadFile(target); string(b) != "keep" {
		t.Errorf("the upload wrote through a symlink: %q", b)
	}
}

package storage_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/backupd/backupd/pkg/storage"
)

// TestListDuringAnUpload lists a local folder while another writer keeps
// giving a partial upload its metadata (extended attributes, one by one, as
// publishing does): a listing must not fail on what changes under it.
func TestListDuringAnUpload(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(dir, "db-backup-20250101-000000.sql.zst.partial")
	if err := os.WriteFile(partial, []byte("upload"), 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			name := fmt.Sprintf("user.backupd-test-%d", i%24)
			if i%24 == 0 {
				for j := range 24 {
					_ = unix.Removexattr(partial, fmt.Sprintf("user.backupd-test-%d", j))
				}
			}
			if err := unix.Setxattr(partial, name, []byte("a value of some length, as the metadata are"), 0); err != nil {
				t.Errorf("setxattr: %v", err)
				return
			}
		}
	}()
	deadline := time.Now().Add(2 * time.Second)
	var listErr error
	for time.Now().Before(deadline) && listErr == nil {
		_, listErr = s.List(context.Background())
	}
	close(stop)
	wg.Wait()
	if listErr != nil {
		t.Fatalf("list while an upload is written: %v", listErr)
	}
}

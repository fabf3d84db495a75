package storage_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// TestEveryRequestIsCounted: the count of requests equals what the fake
// Drive and the fake S3 served, the token fetch, retries and refused
// calls included.
func TestEveryRequestIsCounted(t *testing.T) {
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	// One retried call: rclone's pacer tries again after a 503.
	p.SetFault(fakedrive.Times(1, fakedrive.Op(fakedrive.OpFilesList), fakedrive.ServerError(503)))
	s3 := fakes3.New(t)
	s3.NewBucket("copy")
	before := storage.Requests()

	ctx := p.Context(context.Background())
	d, err := storage.Open(ctx, storage.DriveRemote("gdrive", p.FolderID), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := storage.New(s3.Fs(context.Background(), "copy", ""), nil)
	data := storagetest.Payload(storagetest.Big, 1)
	for _, s := range []*storage.Store{d, c} {
		_, err := s.Put(ctx, "db-backup-20250101-000000.sql.zst", bytes.NewReader(data), func() (map[string]string, error) {
			return catalog.Meta(storagetest.SHA256(data), int64(len(data))), nil
		})
		if err != nil {
			t.Fatalf("Put on %s: %v", s, err)
		}
		if _, err := s.List(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "db-backup-20250101-000000.sql.zst"); err != nil {
			t.Fatal(err)
		}
	}
	served := len(p.Requests()) + len(s3.Calls())
	if got := storage.Requests() - before; got != int64(served) {
		t.Errorf("counted %d requests, the fakes served %d (Drive %d, S3 %d)", got, served, len(p.Requests()), len(s3.Calls()))
	}
}

package storage_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/rclone/rclone/fs"

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

// TestAFailingSmallUploadIsTriedLowLevelRetriesTimes: rclone uploads a
// small stream (a claim, the record of a blocked retention, a small dump)
// in one request, and retries it at two levels (its pacer, and Rcat's own
// loop); against a Drive that refuses every upload with 503 the requests
// still stop at low_level_retries, as docs/daemon.md says.
func TestAFailingSmallUploadIsTriedLowLevelRetriesTimes(t *testing.T) {
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	p.SetFault(func(c fakedrive.Call) *fakedrive.Fault {
		if c.Op == fakedrive.OpUploadMultipart {
			return fakedrive.ServerError(503)
		}
		return nil
	})
	ctx, ci := fs.AddConfig(p.Context(context.Background()))
	ci.LowLevelRetries = 3 // the pacer sleeps 1 s, then 2 s, between tries
	s, err := storage.Open(ctx, storage.DriveRemote("gdrive", p.FolderID), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Put(ctx, "db-backup-20250101-000000.sql.zst", bytes.NewReader([]byte("small")), func() (map[string]string, error) { return nil, nil })
	if err == nil {
		t.Fatal("Put succeeded against a Drive that refuses every upload")
	}
	if got := p.Count(fakedrive.OpUploadMultipart); got != 3 {
		t.Errorf("%d upload requests, want 3 (low_level_retries)", got)
	}
}

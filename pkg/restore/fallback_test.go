package restore

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/storage"
)

// brokenStore is a primary whose opens fail, or whose reads fail after
// cut bytes: a remote that breaks down, not a bad backup.
type brokenStore struct {
	Store
	openFails bool
	cut       int64
	opens     int
}

var errConnReset = errors.New("connection reset by peer")

func (b *brokenStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	b.opens++
	if b.openFails {
		return nil, errConnReset
	}
	rc, err := b.Store.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{io.MultiReader(io.LimitReader(rc, b.cut), errReader{errConnReset}), rc}, nil
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// TestRestoreFallsBackToTheCopy: the primary breaks (at the open, or in
// the middle of the stream, after part of the backup is loaded into
// staging); the same backup is read again, from its beginning, from the
// copy in an S3 bucket, and restored.
func TestRestoreFallsBackToTheCopy(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	good := backupdBackup(t, srv, src, dir, at(3, 0))
	primary := openStore(t, dir, nil)

	s3 := fakes3.New(t)
	s3.NewBucket("app")
	ctx := context.Background()
	cp := storage.New(s3.Fs(ctx, "app", "db"), nil)
	rc, err := primary.Open(ctx, good.Name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cp.Put(ctx, good.Name, rc, func() (map[string]string, error) { return good.Meta, nil }); err != nil {
		t.Fatal(err)
	}
	rc.Close()

	for _, tt := range []struct {
		name   string
		broken *brokenStore
	}{
		{"open fails", &brokenStore{Store: primary, openFails: true}},
		{"read fails mid-stream", &brokenStore{Store: primary, cut: good.Size / 2}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fb := &Fallback{Remotes: []Remote{{Name: "primary", Store: tt.broken}, {Name: "tigris:db", Store: cp}}, Log: testLog(t)}
			target := srv.NewDatabase(t, "app")
			prefill(t, srv, target)
			r := &Restorer{Store: fb, Conn: limitedUser(t, srv, target), Log: testLog(t)}
			rep, err := restoreNow(t, r, fb)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if rep.Backup.Name != good.Name || len(rep.Skipped) != 0 || !rep.Verified {
				t.Errorf("restored %s (verified %v), skipped %v; want %s from the copy, verified, nothing skipped", rep.Backup.Name, rep.Verified, rep.Skipped, good.Name)
			}
			if tt.broken.opens != 1 {
				t.Errorf("primary opened %d times, want once", tt.broken.opens)
			}
			if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
				t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// TestFallbackWithoutAnotherRemote: a read that fails with no remote left
// is the candidate's failure, as without Fallback.
func TestFallbackWithoutAnotherRemote(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	good := backupdBackup(t, srv, src, dir, at(3, 0))
	broken := &brokenStore{Store: openStore(t, dir, nil), cut: good.Size / 2}
	fb := &Fallback{Remotes: []Remote{{Name: "primary", Store: broken}}, Log: testLog(t)}
	target := srv.NewDatabase(t, "app")
	r := &Restorer{Store: fb, Conn: limitedUser(t, srv, target), Log: testLog(t)}
	if _, err := restoreNow(t, r, fb); err == nil {
		t.Fatal("restored from a primary whose read fails")
	}
	if broken.opens != 1 {
		t.Errorf("primary opened %d times, want once", broken.opens)
	}
}

package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/hash"

	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

const verifyName = "db-backup-20250101-000000.sql.zst"

// assertNoUpload checks that a failed Put left neither the backup
// nor its partial upload behind.
func assertNoUpload(t *testing.T, dir string) {
	t.Helper()
	for _, n := range []string{verifyName, verifyName + catalog.PartialSuffix} {
		if _, err := os.Lstat(filepath.Join(dir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is there after a failed upload (%v)", n, err)
		}
	}
}

// TestPutChecksRecordedChecksum: the sha256 the producer records is that of
// the bytes the store read and holds; a backup recorded with another one is
// not published.
func TestPutChecksRecordedChecksum(t *testing.T) {
	payload := storagetest.Payload(1<<20, 7)
	for _, tc := range []struct {
		name   string
		sha256 string
		ok     bool
	}{
		{"right", storagetest.SHA256(payload), true},
		{"wrong", storagetest.SHA256(append([]byte("x"), payload...)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backups")
			s, err := storage.Open(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Put(context.Background(), verifyName, bytes.NewReader(payload), func() (map[string]string, error) {
				return catalog.Meta(tc.sha256, 1), nil
			})
			if tc.ok {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				got, err := os.ReadFile(filepath.Join(dir, verifyName))
				if err != nil || !bytes.Equal(got, payload) {
					t.Fatalf("published backup differs from the payload (%v)", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Put published a backup whose recorded sha256 is not that of its bytes")
			}
			assertNoUpload(t, dir)
		})
	}
}

// TestPutCatchesCorruptUpload: a remote that stores other bytes than it was
// sent fails the upload, whether it reports a checksum of its own (compared)
// or none (the stored file is read back).
func TestPutCatchesCorruptUpload(t *testing.T) {
	payload := storagetest.Payload(1<<20, 3)
	for _, tc := range []struct {
		name    string
		corrupt bool
		noHash  bool
	}{
		{"intact", false, false},
		{"intact without checksum", false, true},
		{"corrupt", true, false},
		{"corrupt without checksum", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "backups")
			local, err := storage.Open(context.Background(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			s := storage.New(&faultyFs{Fs: local.Fs(), corrupt: tc.corrupt, noHash: tc.noHash}, nil)
			_, err = s.Put(context.Background(), verifyName, bytes.NewReader(payload), func() (map[string]string, error) {
				return nil, nil
			})
			if !tc.corrupt {
				if err != nil {
					t.Fatalf("Put: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Put published a backup the remote stored corrupted")
			}
			assertNoUpload(t, dir)
		})
	}
}

// faultyFs is a remote that may flip a byte of what it stores, and may
// report no checksum for what it stored (as Drive does for some files).
type faultyFs struct {
	fs.Fs
	corrupt, noHash bool
}

func (f *faultyFs) Features() *fs.Features {
	feat := *f.Fs.Features()
	feat.PutStream = f.PutStream
	if move := feat.Move; move != nil {
		feat.Move = func(ctx context.Context, src fs.Object, remote string) (fs.Object, error) {
			if h, ok := src.(hashless); ok {
				src = h.Object
			}
			return move(ctx, src, remote)
		}
	}
	return &feat
}

func (f *faultyFs) Put(ctx context.Context, in io.Reader, src fs.ObjectInfo, options ...fs.OpenOption) (fs.Object, error) {
	return f.wrap(f.Fs.Put(ctx, f.reader(in), src, options...))
}

func (f *faultyFs) PutStream(ctx context.Context, in io.Reader, src fs.ObjectInfo, options ...fs.OpenOption) (fs.Object, error) {
	return f.wrap(f.Fs.Features().PutStream(ctx, f.reader(in), src, options...))
}

func (f *faultyFs) reader(in io.Reader) io.Reader {
	if !f.corrupt {
		return in
	}
	return &flipReader{r: in, at: 1000}
}

func (f *faultyFs) wrap(o fs.Object, err error) (fs.Object, error) {
	if err != nil || !f.noHash {
		return o, err
	}
	return hashless{o}, nil
}

// hashless is an object whose remote reports no checksum.
type hashless struct{ fs.Object }

func (hashless) Hash(context.Context, hash.Type) (string, error) { return "", nil }

// flipReader flips the byte at offset at of the stream.
type flipReader struct {
	r   io.Reader
	off int64
	at  int64
}

func (f *flipReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

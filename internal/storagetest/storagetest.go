// Package storagetest is the conformance suite every backend under a
// storage.Store must pass: the local folder, memory, Google Drive (the
// fake in package fakedrive) and S3 (the fake in package fakes3) alike.
package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// Big is the size of the payload that must stream: larger than rclone's
// streaming cutoff (100 KiB), and spanning several chunks of the smallest
// Drive chunk size (256 KiB).
const Big = 700 << 10

// Run runs the suite. newStore returns an empty store for one subtest.
//
// Metadata must round trip through Put and List when the backend declares
// user metadata (rclone's Features().UserMetadata); the memory backend does
// not, and is only held to keeping the content.
func Run(t *testing.T, newStore func(t *testing.T) *storage.Store) {
	t.Run("PutStreams", func(t *testing.T) { testPut(t, newStore(t), Big) })
	t.Run("PutSmall", func(t *testing.T) { testPut(t, newStore(t), 1000) })
	t.Run("PutEmpty", func(t *testing.T) { testPut(t, newStore(t), 0) })
	t.Run("FailingProducer", func(t *testing.T) { testFailingProducer(t, newStore(t), 300<<10) })
	t.Run("FailingProducerSmall", func(t *testing.T) { testFailingProducer(t, newStore(t), 10) })
	t.Run("CommitError", func(t *testing.T) { testCommitError(t, newStore(t)) })
	t.Run("WrongChecksum", func(t *testing.T) { testWrongChecksum(t, newStore(t)) })
	t.Run("ListOpenDelete", func(t *testing.T) { testListOpenDelete(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("NeverReplaces", func(t *testing.T) { testNeverReplaces(t, newStore(t)) })
}

// Payload returns n deterministic, incompressible bytes.
func Payload(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// SHA256 is the hex sha256 of b, as catalog.MetaSHA256 records it.
func SHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func keepsMetadata(s *storage.Store) bool { return s.Fs().Features().UserMetadata }

// List returns the store's listing by name, failing the test on error.
func List(t testing.TB, s *storage.Store) map[string]catalog.Entry {
	t.Helper()
	entries, err := s.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	out := map[string]catalog.Entry{}
	for _, e := range entries {
		if _, dup := out[e.Name]; dup {
			t.Errorf("List: %s listed twice", e.Name)
		}
		out[e.Name] = e
	}
	return out
}

// Read returns the content of name, failing the test on error.
func Read(t testing.TB, s *storage.Store, name string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), name)
	if err != nil {
		t.Fatalf("Open %s: %v", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	return b
}

// eofReader records whether its reader reached EOF.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF {
		e.eof = true
	}
	return n, err
}

func testPut(t *testing.T, s *storage.Store, size int) {
	ctx := context.Background()
	const name = "db-backup-20250102-030405.sql.zst"
	data := Payload(size, uint64(size))
	meta := catalog.Meta(SHA256(data), 12345)
	in := &eofReader{r: bytes.NewReader(data)}
	commits := 0
	e, err := s.Put(ctx, name, in, func() (map[string]string, error) {
		commits++
		if !in.eof {
			t.Error("commit called before the stream was read to its end")
		}
		if got := List(t, s); len(got) != 1 || got[name+catalog.PartialSuffix].Name == "" {
			t.Errorf("before commit the store holds %v, want only the partial upload", names(got))
		}
		return meta, nil
	})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	if commits != 1 {
		t.Errorf("commit called %d times, want 1", commits)
	}
	if got, want := e.Name, name; got != want {
		t.Errorf("Put returned name %q, want %q", got, want)
	}
	if got, want := e.Size, int64(size); got != want {
		t.Errorf("Put returned size %d, want %d", got, want)
	}
	listed := List(t, s)
	if got, want := names(listed), []string{name}; !slices.Equal(got, want) {
		t.Fatalf("after Put the store holds %v, want %v", got, want)
	}
	if got, want := listed[name].Size, int64(size); got != want {
		t.Errorf("listed size %d, want %d", got, want)
	}
	if keepsMetadata(s) {
		for k, v := range meta {
			if got := listed[name].Meta[k]; got != v {
				t.Errorf("listed metadata %s = %q, want %q (all: %v)", k, got, v, listed[name].Meta)
			}
		}
	}
	if got := Read(t, s, name); !bytes.Equal(got, data) {
		t.Errorf("read back %d bytes that differ from the %d written", len(got), len(data))
	}
}

func names(m map[string]catalog.Entry) []string {
	out := make([]string, 0, len(m))
	for n := range m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

var errProducer = errors.New("dump failed half way")

func testFailingProducer(t *testing.T, s *storage.Store, before int) {
	const name = "db-backup-20250102-040000.sql.zst"
	pr, pw := io.Pipe()
	go func() {
		if _, err := pw.Write(Payload(before, 7)); err != nil {
			return
		}
		pw.CloseWithError(errProducer)
	}()
	_, err := s.Put(context.Background(), name, pr, func() (map[string]string, error) {
		t.Error("commit called although the stream failed")
		return nil, nil
	})
	if !errors.Is(err, errProducer) {
		t.Errorf("Put error = %v, want the producer's error", err)
	}
	if got := names(List(t, s)); len(got) != 0 {
		t.Errorf("after a failed Put the store holds %v, want nothing", got)
	}
}

func testCommitError(t *testing.T, s *storage.Store) {
	const name = "db-backup-20250102-050000.sql.zst"
	errCommit := errors.New("dump has no trailer")
	_, err := s.Put(context.Background(), name, bytes.NewReader(Payload(Big, 3)), func() (map[string]string, error) {
		return nil, errCommit
	})
	if !errors.Is(err, errCommit) {
		t.Errorf("Put error = %v, want the commit error", err)
	}
	if got := names(List(t, s)); len(got) != 0 {
		t.Errorf("after a refused commit the store holds %v, want nothing", got)
	}
}

func testListOpenDelete(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	if got := names(List(t, s)); len(got) != 0 {
		t.Fatalf("new store holds %v", got)
	}
	a, b := "db-backup-20250101-000000.sql.zst", "db-backup-20250101-010000.sql.zst"
	da, db := Payload(2000, 1), Payload(3000, 2)
	for name, data := range map[string][]byte{a: da, b: db} {
		if _, err := s.Put(ctx, name, bytes.NewReader(data), func() (map[string]string, error) {
			return catalog.Meta(SHA256(data), int64(len(data))), nil
		}); err != nil {
			t.Fatalf("Put %s: %v", name, err)
		}
	}
	if got, want := names(List(t, s)), []string{a, b}; !slices.Equal(got, want) {
		t.Fatalf("store holds %v, want %v", got, want)
	}
	if got := Read(t, s, a); !bytes.Equal(got, da) {
		t.Errorf("content of %s differs", a)
	}
	if err := s.Delete(ctx, a); err != nil {
		t.Fatalf("Delete %s: %v", a, err)
	}
	if got, want := names(List(t, s)), []string{b}; !slices.Equal(got, want) {
		t.Errorf("after Delete the store holds %v, want %v", got, want)
	}
	if _, err := s.Open(ctx, a); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open of a deleted file: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, a); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	if got := Read(t, s, b); !bytes.Equal(got, db) {
		t.Errorf("content of %s differs after deleting %s", b, a)
	}
}

func testNotFound(t *testing.T, s *storage.Store) {
	ctx := context.Background()
	if _, err := s.Open(ctx, "db-backup-20000101-000000.sql.zst"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open of a missing file: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "db-backup-20000101-000000.sql.zst"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Delete of a missing file: %v, want ErrNotFound", err)
	}
}

// testNeverReplaces: a Put under a name the store holds already fails with
// ErrExists and leaves the file it found, content and metadata, as it was,
// and no partial upload behind.
func testNeverReplaces(t *testing.T, s *storage.Store) {
	const name = "db-backup-20250104-000000.sql.zst"
	ctx := context.Background()
	first, second := Payload(1000, 6), Payload(2000, 7)
	put := func(data []byte) error {
		_, err := s.Put(ctx, name, bytes.NewReader(data), func() (map[string]string, error) {
			return catalog.Meta(SHA256(data), int64(len(data))), nil
		})
		return err
	}
	if err := put(first); err != nil {
		t.Fatalf("first Put: %v", err)
	}
	if err := put(second); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second Put under the same name: %v, want ErrExists", err)
	}
	if got := Read(t, s, name); !bytes.Equal(got, first) {
		t.Errorf("%s holds %d bytes that are not the first Put's: it was replaced", name, len(got))
	}
	listed := List(t, s)
	if got := names(listed); !slices.Equal(got, []string{name}) {
		t.Errorf("the store holds %q, want only %s", got, name)
	}
	if keepsMetadata(s) && listed[name].Meta[catalog.MetaSHA256] != SHA256(first) {
		t.Errorf("%s's recorded sha256 is %q, want the first Put's", name, listed[name].Meta[catalog.MetaSHA256])
	}
}

// testWrongChecksum: a stream whose recorded sha256 is not that of its
// bytes is not published.
func testWrongChecksum(t *testing.T, s *storage.Store) {
	const name = "db-backup-20250103-000000.sql.zst"
	data := Payload(Big, 5)
	_, err := s.Put(context.Background(), name, bytes.NewReader(data), func() (map[string]string, error) {
		return catalog.Meta(SHA256(append([]byte{0}, data...)), int64(len(data))), nil
	})
	if err == nil {
		t.Fatal("Put published a stream whose recorded sha256 is not that of its bytes")
	}
	if got := List(t, s); len(got) != 0 {
		t.Errorf("after the refused upload the store holds %v", names(got))
	}
}

package storage_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

const record = "2026-12-01T05:02Z yesterday 41t ~2134567r 93s 0fb"

// checkSetMeta puts a backup, records on it and checks that the record is
// listed next to the metadata it had, and that the content is unchanged.
func checkSetMeta(t *testing.T, ctx context.Context, s *storage.Store) {
	t.Helper()
	data := storagetest.Payload(1000, 7)
	if err := put(ctx, s, data); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, backupName, map[string]string{catalog.MetaRestored: record}); err != nil {
		t.Fatalf("SetMeta: %v", err)
	}
	e := storagetest.List(t, s)[backupName]
	if got := e.Meta[catalog.MetaRestored]; got != record {
		t.Errorf("%s = %q, want %q", catalog.MetaRestored, got, record)
	}
	if got, want := e.Meta[catalog.MetaSHA256], storagetest.SHA256(data); got != want {
		t.Errorf("%s = %q after SetMeta, want %q kept", catalog.MetaSHA256, got, want)
	}
	if got := storagetest.Read(t, s, backupName); string(got) != string(data) {
		t.Errorf("content changed by SetMeta")
	}
	if err := s.SetMeta(ctx, "db-backup-20250102-040405.sql.zst", map[string]string{catalog.MetaRestored: record}); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("SetMeta of a missing file = %v, want ErrNotFound", err)
	}
}

func TestSetMetaLocal(t *testing.T) {
	s, err := storage.Open(context.Background(), t.TempDir()+"/backups", nil)
	if err != nil {
		t.Fatal(err)
	}
	checkSetMeta(t, context.Background(), s)
}

func TestSetMetaDrive(t *testing.T) {
	p := fakedrive.NewProduction(t)
	ctx := p.Context(context.Background())
	checkSetMeta(t, ctx, storage.New(p.Fs(t, ctx, nil), nil))
}

func TestSetMetaMemory(t *testing.T) {
	ctx := context.Background()
	s, err := storage.Open(ctx, ":memory:"+t.Name(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(ctx, s, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta(ctx, backupName, map[string]string{catalog.MetaRestored: record}); !errors.Is(err, storage.ErrNoMetadata) {
		t.Errorf("SetMeta on memory = %v, want ErrNoMetadata", err)
	}
}

// TestSetMetaDriveReader: an account with the Viewer role (as the docs
// suggest for the yesterday side) may list and read, and SetMeta says it
// may not write.
func TestSetMetaDriveReader(t *testing.T) {
	p := fakedrive.NewProduction(t)
	ctx := p.Context(context.Background())
	if err := put(ctx, storage.New(p.Fs(t, ctx, nil), nil), []byte("backup")); err != nil {
		t.Fatal(err)
	}
	reader := p.NewServiceAccount("yesterday@prod-app.iam.gserviceaccount.com")
	p.AddMember(p.DriveID, reader.Email, fakedrive.RoleReader)
	s := storage.New(p.Fs(t, ctx, map[string]string{"service_account_credentials": reader.JSON}), nil)
	err := s.SetMeta(ctx, backupName, map[string]string{catalog.MetaRestored: record})
	if !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("SetMeta as a reader = %v, want ErrReadOnly", err)
	}
	for _, f := range p.Children(p.FolderID) {
		if f.Name == backupName && f.Properties[catalog.MetaRestored] != "" {
			t.Errorf("a reader's record was written")
		}
	}
}

// TestSetMetaLocalReadOnly: a backup file the process may not change.
// Root ignores file modes, so as root the file is made immutable instead.
func TestSetMetaLocalReadOnly(t *testing.T) {
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := put(context.Background(), s, []byte("backup")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, backupName)
	if os.Geteuid() == 0 {
		setImmutable(t, path, true)
		t.Cleanup(func() { setImmutable(t, path, false) })
	} else if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	err = s.SetMeta(context.Background(), backupName, map[string]string{catalog.MetaRestored: record})
	if !errors.Is(err, storage.ErrReadOnly) {
		t.Fatalf("SetMeta on a read-only file = %v, want ErrReadOnly", err)
	}
}

func setImmutable(t *testing.T, path string, on bool) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	flags, err := unix.IoctlGetUint32(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		t.Fatalf("read file flags (the test needs a file system with chattr +i): %v", err)
	}
	if on {
		flags |= fsImmutable
	} else {
		flags &^= fsImmutable
	}
	if err := unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, int(flags)); err != nil {
		t.Fatalf("set file flags: %v", err)
	}
}

// fsImmutable is FS_IMMUTABLE_FL of linux/fs.h (chattr +i).
const fsImmutable = 0x10

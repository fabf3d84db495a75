package storage_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

// contributorDrive is production with the service account a Contributor
// of the Shared Drive, its folder holding the named files; remote is the
// store's remote string without its closing colon.
func contributorDrive(t *testing.T, remote string, names ...string) (*fakedrive.Production, context.Context, *storage.Store) {
	t.Helper()
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleWriter)
	for _, n := range names {
		p.PutFile(p.FolderID, n, []byte("backup "+n), nil)
	}
	ctx := p.Context(context.Background())
	s, err := storage.Open(ctx, "gdrive,root_folder_id='"+p.FolderID+"'"+remote+":", nil)
	if err != nil {
		t.Fatal(err)
	}
	return p, ctx, s
}

func stillThere(t *testing.T, p *fakedrive.Production, names ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, f := range p.Children(p.FolderID) {
		have[f.Name] = !f.Trashed
	}
	for _, n := range names {
		if !have[n] {
			t.Errorf("%s was deleted or trashed", n)
		}
	}
}

// TestDeleteRefusedByDrive: a Contributor's trash (rclone's default) is
// refused with 403, its permanent delete (use_trash=false) with 404; both
// are refusals that say which role to grant, never "already deleted".
func TestDeleteRefusedByDrive(t *testing.T) {
	for _, tc := range []struct{ name, options string }{{"trash", ""}, {"permanent delete", ",use_trash=false"}} {
		t.Run(tc.name, func(t *testing.T) {
			const name = "db-backup-20250101-000000.sql.zst"
			p, ctx, s := contributorDrive(t, tc.options, name)
			err := s.Delete(ctx, name)
			if !errors.Is(err, storage.ErrDenied) || errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("Delete: %v, want ErrDenied", err)
			}
			for _, w := range []string{"the service account may not delete in the Shared Drive; give it the Content Manager role", p.Account.Email, p.DriveID, name} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the refusal does not say %q: %v", w, err)
				}
			}
			var d *storage.DeniedError
			if !errors.As(err, &d) || d.Fix != s.DeleteFix() {
				t.Errorf("the refusal's fix is not the store's DeleteFix %q: %v", s.DeleteFix(), err)
			}
			stillThere(t, p, name)
		})
	}
}

// TestDeleteGate: under one gate, the first refusal is the last request:
// later deletes on the store fail at once, with the same fix. Without a
// gate, or under a fresh one, the store asks again.
func TestDeleteGate(t *testing.T) {
	names := []string{"db-backup-20250101-000000.sql.zst", "db-backup-20250101-010000.sql.zst", "db-backup-20250101-020000.sql.zst"}
	p, ctx, s := contributorDrive(t, "", names...)
	run := storage.WithDeleteGate(ctx)
	if err := s.Delete(run, names[0]); !errors.Is(err, storage.ErrDenied) {
		t.Fatalf("first Delete: %v, want ErrDenied", err)
	}
	before := len(p.Requests())
	for _, n := range names[1:] {
		err := s.Delete(run, n)
		if !errors.Is(err, storage.ErrDenied) || !strings.Contains(err.Error(), "Content Manager") || !strings.Contains(err.Error(), "not tried") {
			t.Errorf("Delete of %s behind a closed gate: %v, want the refusal, not tried", n, err)
		}
	}
	if got := p.Requests()[before:]; len(got) != 0 {
		t.Errorf("deletes behind a closed gate made requests: %q", got)
	}
	before = len(p.Requests())
	if err := s.Delete(storage.WithDeleteGate(ctx), names[1]); !errors.Is(err, storage.ErrDenied) {
		t.Fatalf("Delete under a fresh gate: %v, want ErrDenied", err)
	}
	if len(p.Requests()) == before {
		t.Error("a fresh gate did not ask the remote")
	}
	stillThere(t, p, names...)

	// The gate closes for the store that refused, not for others.
	other, err := storage.Open(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Put(run, names[0], bytes.NewReader([]byte("x")), func() (map[string]string, error) { return nil, nil }); err != nil {
		t.Fatal(err)
	}
	if err := other.Delete(run, names[0]); err != nil {
		t.Errorf("Delete on another store under the closed gate: %v", err)
	}
}

// TestDeleteRefusedByS3: 403 AccessDenied from an S3 store is a refusal.
func TestDeleteRefusedByS3(t *testing.T) {
	srv := fakes3.New(t)
	srv.NewBucket("backups")
	s := storage.New(srv.Fs(context.Background(), "backups", ""), nil)
	const name = "db-backup-20250101-000000.sql.zst"
	data := storagetest.Payload(100, 1)
	if _, err := s.Put(context.Background(), name, bytes.NewReader(data), func() (map[string]string, error) { return catalog.Meta(storagetest.SHA256(data), 100), nil }); err != nil {
		t.Fatal(err)
	}
	refuse := func(code string) {
		srv.SetFault(func(c fakes3.Call) *fakes3.Fault {
			if c.Op == "DELETE" {
				return &fakes3.Fault{Status: 403, Code: code}
			}
			return nil
		})
	}
	refuse("AccessDenied")
	err := s.Delete(context.Background(), name)
	if !errors.Is(err, storage.ErrDenied) || !strings.Contains(err.Error(), "may not delete") {
		t.Fatalf("Delete: %v, want ErrDenied", err)
	}
	// A 403 that is no refusal (the clocks disagree) is a fault.
	refuse("RequestTimeTooSkewed")
	if err := s.Delete(context.Background(), name); err == nil || errors.Is(err, storage.ErrDenied) {
		t.Errorf("Delete answered 403 RequestTimeTooSkewed: %v, want a failure that is no refusal", err)
	}
	if got := storagetest.Read(t, s, name); !bytes.Equal(got, data) {
		t.Error("the backup is gone")
	}
}

// TestDeleteOfAFileGoneMeanwhile: a permanent delete that Drive answers
// with 404 because someone else removed the file first is ErrNotFound (a
// prune counts it as deleted), not a refusal.
func TestDeleteOfAFileGoneMeanwhile(t *testing.T) {
	const name = "db-backup-20250101-000000.sql.zst"
	p, ctx, s := contributorDrive(t, ",use_trash=false", name)
	p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleFileOrganizer)
	p.SetFault(func(c fakedrive.Call) *fakedrive.Fault {
		if c.Op == fakedrive.OpFilesDelete {
			p.Trash(c.FileID) // another process was quicker
			return &fakedrive.Fault{Status: 404, Reason: "notFound", Message: "File not found: " + c.FileID + "."}
		}
		return nil
	})
	if err := s.Delete(ctx, name); !errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrDenied) {
		t.Errorf("Delete: %v, want ErrNotFound", err)
	}
}

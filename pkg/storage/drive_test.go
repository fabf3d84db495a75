package storage_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/rclone/rclone/fs"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

const backupName = "db-backup-20250102-030405.sql.zst"

// put stores data under backupName with its metadata.
func put(ctx context.Context, s *storage.Store, data []byte) error {
	_, err := s.Put(ctx, backupName, bytes.NewReader(data), func() (map[string]string, error) {
		return catalog.Meta(storagetest.SHA256(data), int64(len(data))), nil
	})
	return err
}

// assertNothingPublished checks the fake's folder: no file under the
// backup's name, trashed or not, and no partial upload left visible.
func assertNothingPublished(t *testing.T, p *fakedrive.Production) {
	t.Helper()
	for _, f := range p.Children(p.FolderID) {
		if f.Name == backupName {
			t.Errorf("%s exists (trashed=%v) after a failed upload", f.Name, f.Trashed)
		}
		if strings.HasSuffix(f.Name, catalog.PartialSuffix) && !f.Trashed {
			t.Errorf("partial upload %s left visible", f.Name)
		}
	}
}

// assertPublished checks that the fake holds exactly data under
// backupName, with its properties.
func assertPublished(t *testing.T, p *fakedrive.Production, data []byte) {
	t.Helper()
	var found int
	for _, f := range p.Children(p.FolderID) {
		if f.Trashed {
			continue
		}
		if f.Name != backupName {
			t.Errorf("unexpected file %s in the folder", f.Name)
			continue
		}
		found++
		if !bytes.Equal(f.Data, data) {
			t.Errorf("stored %d bytes that differ from the %d uploaded", len(f.Data), len(data))
		}
		if got, want := f.Properties[catalog.MetaRawSize], catalog.Meta("", int64(len(data)))[catalog.MetaRawSize]; got != want {
			t.Errorf("property %s = %q, want %q", catalog.MetaRawSize, got, want)
		}
	}
	if found != 1 {
		t.Errorf("found %d files named %s, want 1", found, backupName)
	}
}

// TestDriveTransientFaults checks that rclone's pacer retries what Google
// asks clients to retry, and that the backup still arrives whole.
func TestDriveTransientFaults(t *testing.T) {
	data := storagetest.Payload(5*256<<10+1234, 42) // six chunks of 256 KiB
	cases := []struct {
		name  string
		fault func(fakedrive.Call) *fakedrive.Fault
		op    string // the operation that must have been retried
	}{
		{"503 on the second chunk", fakedrive.Times(1, fakedrive.Chunk(2), fakedrive.ServerError(503)), fakedrive.OpUploadChunk},
		{"500 on the last chunk", fakedrive.Times(1, fakedrive.Chunk(6), fakedrive.ServerError(500)), fakedrive.OpUploadChunk},
		{"rate limit on the third chunk", fakedrive.Times(1, fakedrive.Chunk(3), fakedrive.RateLimited()), fakedrive.OpUploadChunk},
		{"connection dropped before a chunk", fakedrive.Times(1, fakedrive.Chunk(2), fakedrive.DropConnection()), fakedrive.OpUploadChunk},
		{"response to a stored chunk lost", fakedrive.Times(1, fakedrive.Chunk(4), &fakedrive.Fault{DropAfter: true}), fakedrive.OpUploadChunk},
		{"response to the last chunk lost", fakedrive.Times(1, fakedrive.Chunk(6), &fakedrive.Fault{DropAfter: true}), fakedrive.OpUploadChunk},
		{"503 opening the upload session", fakedrive.Times(1, fakedrive.Op(fakedrive.OpUploadStart), fakedrive.ServerError(503)), fakedrive.OpUploadStart},
		{"rate limit on the rename", fakedrive.Times(1, fakedrive.Op(fakedrive.OpFilesUpdate), fakedrive.RateLimited()), fakedrive.OpFilesUpdate},
		{"503 listing the folder", fakedrive.Times(1, fakedrive.Op(fakedrive.OpFilesList), fakedrive.ServerError(503)), fakedrive.OpFilesList},
	}
	// A clean run's requests of each operation, to compare with.
	q := fakedrive.NewProduction(t)
	qctx := q.Context(context.Background())
	if err := put(qctx, storage.New(q.Fs(t, qctx, nil), nil), data); err != nil {
		t.Fatalf("clean Put: %v", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := fakedrive.NewProduction(t)
			ctx := p.Context(context.Background())
			s := storage.New(p.Fs(t, ctx, nil), nil)
			clean := p.Count(tc.op)
			p.SetFault(tc.fault)
			if err := put(ctx, s, data); err != nil {
				t.Fatalf("Put: %v", err)
			}
			assertPublished(t, p, data)
			// One request more than the clean run made of the same
			// operation shows the retry.
			if got, want := p.Count(tc.op)-clean, q.Count(tc.op)+1; got != want {
				t.Errorf("%s requests: %d, want %d (a clean run's %d and one retry)", tc.op, got, want, want-1)
			}
		})
	}
}

// TestDriveRetriesGiveUp checks that a fault that persists ends the upload
// after the configured number of low-level retries, with nothing published.
func TestDriveRetriesGiveUp(t *testing.T) {
	t.Parallel()
	p := fakedrive.NewProduction(t)
	ctx, ci := fs.AddConfig(p.Context(context.Background()))
	ci.LowLevelRetries = 2
	s := storage.New(p.Fs(t, ctx, nil), nil)
	p.SetFault(func(c fakedrive.Call) *fakedrive.Fault {
		if c.Op == fakedrive.OpUploadChunk && c.Chunk >= 2 {
			return fakedrive.ServerError(503)
		}
		return nil
	})
	err := put(ctx, s, storagetest.Payload(3*256<<10, 1))
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("Put error = %v, want the 503", err)
	}
	if got, want := p.Count(fakedrive.OpUploadChunk), 1+2; got != want {
		t.Errorf("chunk requests: %d, want %d (one good, then two tries of the failing one)", got, want)
	}
	p.SetFault(nil)
	assertNothingPublished(t, p)
}

// TestDrivePermanentFailureMidUpload checks that a 400 half way through a
// resumable upload is not retried and leaves nothing under the backup's
// name.
func TestDrivePermanentFailureMidUpload(t *testing.T) {
	t.Parallel()
	p := fakedrive.NewProduction(t)
	ctx := p.Context(context.Background())
	s := storage.New(p.Fs(t, ctx, nil), nil)
	p.SetFault(fakedrive.Times(1, fakedrive.Chunk(3), fakedrive.BadRequest("Invalid upload request.")))
	err := put(ctx, s, storagetest.Payload(5*256<<10, 2))
	if err == nil || !strings.Contains(err.Error(), "Invalid upload request") {
		t.Fatalf("Put error = %v, want the 400", err)
	}
	if got, want := p.Count(fakedrive.OpUploadChunk), 3; got != want {
		t.Errorf("chunk requests: %d, want %d: a 400 must not be retried", got, want)
	}
	assertNothingPublished(t, p)
	if got := storagetest.List(t, s); len(got) != 0 {
		t.Errorf("store lists %v after the failed upload", got)
	}
}

// TestDriveFailureAfterUpload checks the step after the upload: a refused
// rename leaves neither the backup nor the partial visible.
func TestDriveFailureAfterUpload(t *testing.T) {
	t.Parallel()
	p := fakedrive.NewProduction(t)
	ctx := p.Context(context.Background())
	s := storage.New(p.Fs(t, ctx, nil), nil)
	p.SetFault(fakedrive.Times(1, fakedrive.Op(fakedrive.OpFilesUpdate), fakedrive.BadRequest("Invalid field selection.")))
	if err := put(ctx, s, storagetest.Payload(300<<10, 3)); err == nil {
		t.Fatal("Put succeeded although the rename failed")
	}
	assertNothingPublished(t, p)
}

// TestDriveRangeAndPaging checks what the suite does not reach: ranged
// downloads and listings longer than one page.
func TestDriveRangeAndPaging(t *testing.T) {
	t.Parallel()
	p := fakedrive.NewProduction(t)
	p.MaxPageSize = 2
	ctx := p.Context(context.Background())
	f := p.Fs(t, ctx, nil)
	data := storagetest.Payload(10000, 4)
	for i := range 5 {
		p.PutFile(p.FolderID, "db-backup-2025010"+string(rune('1'+i))+"-000000.sql.gz", data, map[string]string{"k": "v"})
	}
	p.Trash(p.PutFile(p.FolderID, "trashed", data, nil))
	s := storage.New(f, nil)
	listed := storagetest.List(t, s)
	if len(listed) != 5 {
		t.Errorf("listed %d files over pages of 2, want the 5 untrashed ones: %v", len(listed), listed)
	}
	if got := listed["db-backup-20250101-000000.sql.gz"].Meta["k"]; got != "v" {
		t.Errorf("property k of a file another program wrote = %q, want v", got)
	}
	o, err := f.NewObject(ctx, "db-backup-20250103-000000.sql.gz")
	if err != nil {
		t.Fatal(err)
	}
	rc, err := o.Open(ctx, &fs.RangeOption{Start: 1000, End: 2999})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data[1000:3000]) {
		t.Errorf("range read %d bytes that differ from bytes 1000-2999", len(got))
	}
}

// openProduction opens the store as backupd does, from the production
// environment.
func openProduction(t *testing.T, p *fakedrive.Production) (*storage.Store, context.Context, error) {
	t.Helper()
	p.Setenv(t)
	ctx, ci := fs.AddConfig(p.Context(context.Background()))
	ci.LowLevelRetries = 1
	s, err := storage.Open(ctx, storage.DriveRemote("gdrive", p.FolderID), nil, storage.FolderSource("GDRIVE_BACKUP_FOLDER_ID"))
	return s, ctx, err
}

// TestDriveMessages checks that permanent failures say what to fix.
func TestDriveMessages(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(t *testing.T, p *fakedrive.Production)
		problem storage.DriveProblem
		want    []string // in the message
	}{
		{
			name:    "folder ID does not exist",
			setup:   func(t *testing.T, p *fakedrive.Production) { p.FolderID = "1NoSuchFolderXXXXXXXXXXXXXXXXXXXX" },
			problem: storage.FolderNotFound,
			want:    []string{"1NoSuchFolderXXXXXXXXXXXXXXXXXXXX", "GDRIVE_BACKUP_FOLDER_ID", "Content manager", "backupd@prod-app.iam.gserviceaccount.com"},
		},
		{
			name: "service account not a member of the Shared Drive",
			setup: func(t *testing.T, p *fakedrive.Production) {
				other := p.NewServiceAccount("other@prod-app.iam.gserviceaccount.com")
				p.AddMember(p.DriveID, other.Email, fakedrive.RoleOrganizer)
				p.Account = p.NewServiceAccount("stranger@prod-app.iam.gserviceaccount.com")
			},
			problem: storage.SharedDriveNotFound,
			want:    []string{"RCLONE_CONFIG_GDRIVE_TEAM_DRIVE", "Content manager", "stranger@prod-app.iam.gserviceaccount.com"},
		},
		{
			name: "Viewer role",
			setup: func(t *testing.T, p *fakedrive.Production) {
				p.AddMember(p.DriveID, p.Account.Email, fakedrive.RoleReader)
			},
			problem: storage.PermissionDenied,
			want:    []string{"Content manager", "may not change files", "GDRIVE_BACKUP_FOLDER_ID"},
		},
		{
			name:    "account disabled",
			setup:   func(t *testing.T, p *fakedrive.Production) { p.DisableAccount(p.Account.Email) },
			problem: storage.BadCredentials,
			want:    []string{"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "new JSON key", "invalid_grant"},
		},
		{
			name: "key not known to Google",
			setup: func(t *testing.T, p *fakedrive.Production) {
				// The address with another account's key: the signature
				// does not verify.
				other := p.NewServiceAccount("other@prod-app.iam.gserviceaccount.com")
				p.Account.JSON = strings.Replace(other.JSON, other.Email, p.Account.Email, 1)
			},
			problem: storage.BadCredentials,
			want:    []string{"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "Invalid JWT Signature"},
		},
		{
			name: "My Drive of a service account without storage",
			setup: func(t *testing.T, p *fakedrive.Production) {
				p.FolderID = p.NewFolder(p.MyDriveRoot(p.Account.Email), "backups")
				p.DriveID = ""
				p.SetQuota(p.Account.Email, 0)
			},
			problem: storage.NoStorage,
			want:    []string{"Shared Drive", "RCLONE_CONFIG_GDRIVE_TEAM_DRIVE"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := fakedrive.NewProduction(t)
			tc.setup(t, p)
			s, ctx, err := openProduction(t, p)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			err = put(ctx, s, storagetest.Payload(300<<10, 5))
			var de *storage.DriveError
			if !errors.As(err, &de) {
				t.Fatalf("Put error = %v, want a DriveError", err)
			}
			if de.Problem != tc.problem {
				t.Errorf("problem %d, want %d: %v", de.Problem, tc.problem, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message does not mention %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), p.Account.KeyID) || strings.Contains(err.Error(), "PRIVATE KEY") {
				t.Errorf("message quotes the key: %v", err)
			}
			assertNothingPublishedIn(t, p)
		})
	}
}

func assertNothingPublishedIn(t *testing.T, p *fakedrive.Production) {
	t.Helper()
	for _, f := range p.Children(p.FolderID) {
		if f.Name == backupName && !f.Trashed {
			t.Errorf("%s published despite the failure", f.Name)
		}
	}
}

// TestDriveOpenMessages checks failures found when the remote is opened.
func TestDriveOpenMessages(t *testing.T) {
	t.Run("credentials are not JSON", func(t *testing.T) {
		p := fakedrive.NewProduction(t)
		p.Account.JSON = `{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\nMIIEvQ` // cut short
		_, _, err := openProduction(t, p)
		var de *storage.DriveError
		if !errors.As(err, &de) || de.Problem != storage.BadCredentials {
			t.Fatalf("Open error = %v, want BadCredentials", err)
		}
		if !strings.Contains(err.Error(), "RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS") {
			t.Errorf("message does not name the variable: %v", err)
		}
		if strings.Contains(err.Error(), "MIIEvQ") {
			t.Errorf("message quotes the key: %v", err)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		p := fakedrive.NewProduction(t)
		p.Setenv(t)
		t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", "")
		_, err := storage.Open(p.Context(context.Background()), storage.DriveRemote("gdrive", p.FolderID), nil)
		if err == nil || !strings.Contains(err.Error(), "RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS") {
			t.Errorf("Open error = %v, want one naming the credentials variable", err)
		}
	})
	t.Run("remote not configured", func(t *testing.T) {
		_, err := storage.Open(context.Background(), "nosuchremote:", nil)
		if err == nil || !strings.Contains(err.Error(), "RCLONE_CONFIG_NOSUCHREMOTE_TYPE") {
			t.Errorf("Open error = %v, want one naming RCLONE_CONFIG_NOSUCHREMOTE_TYPE", err)
		}
	})
}

// TestDriveRemote checks the remote string and that the folder ID is a
// folder ID, not a folder name.
func TestDriveRemote(t *testing.T) {
	p := fakedrive.NewProduction(t)
	// A folder named like the ID at the drive's root, where "gdrive:<ID>"
	// would have written.
	decoy := p.NewFolder(p.DriveID, p.FolderID)
	p.Setenv(t)
	ctx := p.Context(context.Background())
	s, err := storage.Open(ctx, storage.DriveRemote("gdrive", p.FolderID), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.String(), "gdrive: (folder "+p.FolderID+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	data := storagetest.Payload(1000, 6)
	if err := put(ctx, s, data); err != nil {
		t.Fatal(err)
	}
	assertPublished(t, p, data)
	if got := p.Children(decoy); len(got) != 0 {
		t.Errorf("the folder named like the ID got %d files", len(got))
	}
}

// TestDriveTokenEndpointFaults checks that a token endpoint that fails
// once does not cost the backup: rclone does not retry it, Put does.
func TestDriveTokenEndpointFaults(t *testing.T) {
	for name, f := range map[string]*fakedrive.Fault{
		"503":                fakedrive.ServerError(503),
		"dropped connection": fakedrive.DropConnection(),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			p := fakedrive.NewProduction(t)
			ctx := p.Context(context.Background())
			s := storage.New(p.Fs(t, ctx, nil), nil)
			p.SetFault(fakedrive.Times(1, fakedrive.Op(fakedrive.OpToken), f))
			data := storagetest.Payload(300<<10, 8)
			if err := put(ctx, s, data); err != nil {
				t.Fatalf("Put: %v", err)
			}
			assertPublished(t, p, data)
			if got, want := p.Count(fakedrive.OpToken), 2; got != want {
				t.Errorf("token requests: %d, want %d", got, want)
			}
		})
	}
}

// TestDriveSubFolderRemote checks that a plain "gdrive:path" remote still
// works as rclone defines it: a path of folder names from the Shared
// Drive's root, created as needed.
func TestDriveSubFolderRemote(t *testing.T) {
	p := fakedrive.NewProduction(t)
	p.Setenv(t)
	ctx := p.Context(context.Background())
	s, err := storage.Open(ctx, "gdrive:database/hourly", nil)
	if err != nil {
		t.Fatal(err)
	}
	data := storagetest.Payload(2000, 9)
	if err := put(ctx, s, data); err != nil {
		t.Fatal(err)
	}
	var sub string
	for _, f := range p.Children(p.FolderID) {
		if f.Name == "hourly" && f.MimeType == fakedrive.FolderMimeType {
			sub = f.ID
		}
	}
	if sub == "" {
		t.Fatalf("no folder hourly created in database: %+v", p.Children(p.FolderID))
	}
	got := p.Children(sub)
	if len(got) != 1 || got[0].Name != backupName || !bytes.Equal(got[0].Data, data) {
		t.Errorf("database/hourly holds %+v, want the backup", got)
	}
}

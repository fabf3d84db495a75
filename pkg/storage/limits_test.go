package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/storage"
)

// TestDriveHardLimits: Drive's hard limits end the upload at once, without
// retries, with one line saying what to do. The store is opened as the
// commands open it, with rclone's default retries.
func TestDriveHardLimits(t *testing.T) {
	cases := []struct {
		name    string
		op      string
		fault   *fakedrive.Fault
		problem storage.DriveProblem
		want    []string
	}{
		{"Shared Drive item limit", fakedrive.OpUploadStart, fakedrive.ItemLimit(), storage.ItemLimit,
			[]string{"400,000", "trash", "teamDriveFileLimitExceeded"}},
		{"storage full", fakedrive.OpUploadStart, fakedrive.StorageQuota(), storage.NoStorage,
			[]string{"out of storage", "trash"}},
		{"750 GB a day", fakedrive.OpUploadChunk, fakedrive.UploadLimit(), storage.UploadLimit,
			[]string{"750 GB", "24 hours"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := fakedrive.NewProduction(t)
			p.Setenv(t)
			ctx := p.Context(context.Background())
			s, err := storage.Open(ctx, storage.DriveRemote("gdrive", p.FolderID), nil, storage.FolderSource("GDRIVE_BACKUP_FOLDER_ID"))
			if err != nil {
				t.Fatal(err)
			}
			p.SetFault(func(c fakedrive.Call) *fakedrive.Fault {
				if c.Op == tc.op && (c.Op != fakedrive.OpUploadChunk || c.Chunk >= 2) {
					return tc.fault
				}
				return nil
			})
			err = put(ctx, s, storagetest.Payload(3*256<<10, 9))
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
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("message is more than one line: %q", err)
			}
			if got := p.Count(tc.op); tc.op == fakedrive.OpUploadStart && got != 1 || tc.op == fakedrive.OpUploadChunk && got != 2 {
				t.Errorf("%d %s requests: the limit was retried", got, tc.op)
			}
			p.SetFault(nil)
			assertNothingPublishedIn(t, p)
		})
	}
}

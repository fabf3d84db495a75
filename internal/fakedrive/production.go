package fakedrive

import (
	"context"
	"testing"

	_ "github.com/rclone/rclone/backend/drive" // the backend Fs opens
	"github.com/rclone/rclone/fs"
	"github.com/rclone/rclone/fs/config/configmap"
)

// Production is a fake set up as production is: a service account with
// the Content manager role on a Shared Drive that holds the backup folder.
type Production struct {
	*Server
	Account  ServiceAccount
	DriveID  string
	FolderID string
}

// NewProduction starts a fake Drive set up as production is.
func NewProduction(t testing.TB) *Production {
	t.Helper()
	s := New(t)
	p := &Production{Server: s, Account: s.NewServiceAccount("backupd@prod-app.iam.gserviceaccount.com")}
	p.DriveID = s.NewSharedDrive("Backups")
	s.AddMember(p.DriveID, p.Account.Email, RoleFileOrganizer)
	p.FolderID = s.NewFolder(p.DriveID, "database")
	return p
}

// Env returns the environment production sets for backupd, and nothing
// more.
func (p *Production) Env() map[string]string {
	return map[string]string{
		"GDRIVE_BACKUP_FOLDER_ID":                          p.FolderID,
		"RCLONE_CONFIG_GDRIVE_TYPE":                        "drive",
		"RCLONE_CONFIG_GDRIVE_SCOPE":                       "drive",
		"RCLONE_CONFIG_GDRIVE_TEAM_DRIVE":                  p.DriveID,
		"RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS": p.Account.JSON,
	}
}

// TestTuning is rclone drive settings that keep tests fast and make small
// uploads span several chunks: the smallest chunk size Google accepts and
// no pause between calls. Retries still back off as in production.
var TestTuning = map[string]string{
	"RCLONE_CONFIG_GDRIVE_CHUNK_SIZE":      "256k",
	"RCLONE_CONFIG_GDRIVE_PACER_MIN_SLEEP": "1ms",
}

// Setenv sets Env and TestTuning in the process environment for the
// test, where rclone reads them.
func (p *Production) Setenv(t testing.TB) {
	for k, v := range p.Env() {
		t.Setenv(k, v)
	}
	for k, v := range TestTuning {
		t.Setenv(k, v)
	}
}

// Fs opens rclone's real drive backend on the backup folder through
// rclone's configuration lookup, with the production settings, TestTuning
// and then overrides (option names as rclone's drive backend spells them)
// given as a connection string would, so that no environment is needed and
// tests may run in parallel. ctx should come from Context.
func (p *Production) Fs(t testing.TB, ctx context.Context, overrides map[string]string) fs.Fs {
	t.Helper()
	info, err := fs.Find("drive")
	if err != nil {
		t.Fatalf("fakedrive: %v", err)
	}
	m := configmap.Simple{
		"scope":                       "drive",
		"team_drive":                  p.DriveID,
		"root_folder_id":              p.FolderID,
		"service_account_credentials": p.Account.JSON,
		"chunk_size":                  "256k",
		"pacer_min_sleep":             "1ms",
	}
	for k, v := range overrides {
		m[k] = v
	}
	f, err := info.NewFs(ctx, "fakegdrive", "", fs.ConfigMap(info.Prefix, info.Options, "fakegdrive", m))
	if err != nil {
		t.Fatalf("fakedrive: open drive backend: %v", err)
	}
	return f
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/fakes3"
	"github.com/backupd/backupd/internal/testdb"
)

// copyEnv starts a database and an S3 bucket, sets the app's AWS_*
// variables (rclone and the shortcut read the process environment) and
// returns backupd's settings for a backup of the database into a local
// primary with a copy to tigris:.
func copyEnv(t *testing.T) (*fakes3.Server, map[string]string, string) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "copies")
	srv.LoadFile(t, db, "../../testdata/fixture.sql")
	s3 := fakes3.New(t)
	s3.NewBucket("app")
	for k, v := range s3.Env("app") {
		t.Setenv(k, v)
	}
	primary := filepath.Join(t.TempDir(), "backups")
	return s3, map[string]string{
		"DB_DATABASE": db, "DB_USERNAME": "root", "DB_SOCKET": srv.Socket,
		"BACKUPD_REMOTE": primary, "BACKUPD_COPY_TO": "tigris:db",
	}, primary
}

func TestNowWithACopy(t *testing.T) {
	s3, env, primary := copyEnv(t)
	code, stdout, stderr := runApp(t, env, "now")
	if code != cli.ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^  copy       tigris:db \(bucket app\)$`).MatchString(stdout) {
		t.Errorf("output does not report the copy:\n%s", stdout)
	}
	entries, _ := os.ReadDir(primary)
	keys := s3.Keys("app")
	if len(entries) != 1 || len(keys) != 1 || keys[0] != "db/"+entries[0].Name() {
		t.Errorf("primary holds %v, bucket %q: want the same backup in both", entries, keys)
	}
	if strings.Contains(stdout+stderr, fakes3.SecretAccessKey) {
		t.Error("the secret access key was printed")
	}
}

// TestCopyFailsThenRepair: the bucket refuses uploads: the backup is
// published on the primary, "now" says the copy failed and exits 1, the
// listing shows it missing; once the bucket answers, repair-copies fills
// it.
func TestCopyFailsThenRepair(t *testing.T) {
	s3, env, primary := copyEnv(t)
	s3.SetFault(func(c fakes3.Call) *fakes3.Fault {
		if c.Op != "LIST" && c.Op != "GET" && c.Op != "HEAD" {
			return &fakes3.Fault{Status: 403}
		}
		return nil
	})
	code, stdout, stderr := runApp(t, env, "now", "--debug")
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, cli.ExitFailure, stderr)
	}
	if !strings.Contains(stdout, "  copy       tigris:db (bucket app) FAILED: ") {
		t.Errorf("output does not say the copy failed:\n%s", stdout)
	}
	if !strings.Contains(stderr, "is published on the primary but missing on tigris:db (bucket app)") || !strings.Contains(stderr, "repair-copies") {
		t.Errorf("stderr does not say what to do:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, fakes3.SecretAccessKey) {
		t.Error("the secret access key was printed")
	}
	entries, _ := os.ReadDir(primary)
	if len(entries) != 1 {
		t.Fatalf("primary holds %v, want the backup", entries)
	}
	if keys := s3.Keys("app"); len(keys) != 0 {
		t.Errorf("bucket holds %q, want nothing", keys)
	}
	name := entries[0].Name()

	code, stdout, stderr = runApp(t, env, "list", "--all-remotes")
	if code != cli.ExitOK {
		t.Fatalf("list: exit %d; stderr:\n%s", code, stderr)
	}
	if !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`\s+\S+ \S+\s+yes\s+MISSING$`).MatchString(stdout) ||
		!strings.Contains(stdout, "1 backup, newest first; 1 not on every remote") {
		t.Errorf("listing:\n%s", stdout)
	}

	s3.SetFault(nil)
	code, stdout, stderr = runApp(t, env, "repair-copies")
	if code != cli.ExitOK {
		t.Fatalf("repair-copies: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "tigris:db (bucket app): 1 missing, 1 copied") || !strings.Contains(stdout, "  copied  "+name) {
		t.Errorf("repair output:\n%s", stdout)
	}
	code, stdout, _ = runApp(t, env, "list", "--all-remotes", "--json")
	var items []remoteItem
	if err := json.Unmarshal([]byte(stdout), &items); code != cli.ExitOK || err != nil {
		t.Fatalf("list --json: exit %d, %v:\n%s", code, err, stdout)
	}
	if len(items) != 1 || len(items[0].On) != 2 || len(items[0].Missing) != 0 {
		t.Errorf("after the repair: %+v, want the backup on both remotes", items)
	}
}

func TestCopySettingsErrors(t *testing.T) {
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"copy to the primary", map[string]string{"BACKUPD_REMOTE": "/tmp/x", "BACKUPD_COPY_TO": "/tmp/x"}, []string{"repair-copies"}, `names "/tmp/x" twice, or names the primary remote`},
		{"no copies to repair", map[string]string{"BACKUPD_REMOTE": "/tmp/x"}, []string{"repair-copies"}, "no copy remote: set --copy-to or BACKUPD_COPY_TO"},
		{"bad buffer", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_COPY_BUFFER": "1K"}, []string{"now"}, `invalid copy-buffer="1K" from BACKUPD_COPY_BUFFER: want 64K to 1G`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runApp(t, tt.env, tt.args...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, cli.ExitUsage, tt.want)
			}
		})
	}
}

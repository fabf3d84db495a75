package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
)

// TestNowNeverReplacesABackup: the folder already holds backups named for
// this second and the next two, as runs that finished within the second
// leave them. "backupd now" must leave them as they are and publish under
// a second of its own.
func TestNowNeverReplacesABackup(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "samesecond")
	srv.LoadFile(t, db, "../../testdata/fixture.sql")
	remote := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(remote, 0o700); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	taken := map[string]string{}
	for i := range 3 {
		name := catalog.Codec{}.Name(now.Add(time.Duration(i)*time.Second), catalog.Zstd)
		taken[name] = "the backup of " + name
		if err := os.WriteFile(filepath.Join(remote, name), []byte(taken[name]), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"DB_DATABASE": db, "DB_USERNAME": "root", "DB_SOCKET": srv.Socket, "BACKUPD_REMOTE": remote}
	code, stdout, stderr := runApp(t, env, "now", "--keep", "10")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	entries, err := os.ReadDir(remote)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("the folder holds %d files, want the 3 there before and the new backup: %v", len(entries), entries)
	}
	for name, want := range taken {
		if got, err := os.ReadFile(filepath.Join(remote, name)); err != nil || string(got) != want {
			t.Errorf("%s was replaced or removed (%v)", name, err)
		}
	}
}

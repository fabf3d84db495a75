package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/slot"
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

// TestListAndPruneKnowServesFiles: a slot claim and the record of a
// blocked retention are serve's own files, not "other files" someone put
// in the folder.
func TestListAndPruneKnowServesFiles(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 1, 1, 6, 0, 0, 0, time.UTC)
	for i := range 3 {
		name := catalog.Codec{}.Name(at.Add(time.Duration(i)*time.Hour), catalog.Zstd)
		write(t, filepath.Join(dir, name), "backup "+name, at)
	}
	write(t, filepath.Join(dir, (slot.Names{}).Name(at, at, "1a2b3c4d", "machine-a")), "host=machine-a\n", at)
	write(t, filepath.Join(dir, catalog.Codec{}.BlockedName()), "retention is blocked\n", at)
	write(t, filepath.Join(dir, "README.txt"), "notes", at)

	code, out, errOut := runApp(t, nil, "list", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("list: exit %d: %s", code, errOut)
	}
	for _, s := range []string{"3 backups in", "1 slot claim of serve", "1 other file", "retention is blocked since 2025-01-01 06:00"} {
		if !strings.Contains(out, s) {
			t.Errorf("list output lacks %q:\n%s", s, out)
		}
	}
	code, out, errOut = runApp(t, nil, "prune", "--dry-run", "--keep", "2", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("prune: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "would delete 1, 1 slot claim of serve and 1 other file not touched") {
		t.Errorf("prune output:\n%s", out)
	}
}

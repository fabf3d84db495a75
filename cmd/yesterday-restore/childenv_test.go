package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// The client loader starts the mariadb client: whatever secrets the
// restore's own environment holds, the client's /proc/<pid>/environ (which
// anyone on the machine may read) holds none of them.
func TestClientLoaderGetsNoSecrets(t *testing.T) {
	srv := testdb.Get(t)
	real, err := exec.LookPath("mariadb")
	if err != nil {
		testdb.Unavailable(t, err)
	}
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	store := t.TempDir()
	st, err := storage.Open(t.Context(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(src)}, Store: st, Codec: catalog.Codec{}, Time: time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC)}
	if _, err := job.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	target := srv.NewDatabase(t, "app")
	for _, db := range []string{target + "_restore", target + "_restore_old"} {
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+db+"`") })
	}

	// A mariadb on PATH that records its environment, then runs the real one.
	bin := t.TempDir()
	record := filepath.Join(t.TempDir(), "environ")
	wrapper := fmt.Sprintf("#!/bin/sh\ntr '\\0' '\\n' < /proc/$$/environ >> %s\nexec %s \"$@\"\n", record, real)
	if err := os.WriteFile(filepath.Join(bin, "mariadb"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{
		"DB_PASSWORD":                 "pw-in-env-1234",
		"RCLONE_CONFIG_GDRIVE_TOKEN":  "rclone-token-5678",
		"FLY_YESTERDAY_RESTART_TOKEN": "fly-token-9012",
		"RESTORE_PING_URL":            "https://hc.example/ping/check-key-3456",
		"RESTORE_NOTIFY_URLS":         "generic://hooks.example/notify-key-6543",
		"BACKUPD_AGE_IDENTITY_FILE":   "/run/secrets/age-identity-7777",
	}
	for k, v := range secrets {
		t.Setenv(k, v)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	files := t.TempDir()
	env := map[string]string{
		"BACKUPD_REMOTE": store, "DB_SOCKET": srv.Socket, "DB_DATABASE": target, "DB_USERNAME": "root",
		"YESTERDAY_SNAPSHOT_FILE": filepath.Join(files, "snapshot"),
	}
	if code, out, errOut := run(t, env, "--now", "2026-03-15T05:00:00Z", "--loader", "client"); code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	b, err := os.ReadFile(record)
	if err != nil {
		t.Fatalf("the client never ran: %v", err)
	}
	for k, v := range secrets {
		if strings.Contains(string(b), v) {
			t.Errorf("%s reached the mariadb client", k)
		}
	}
}

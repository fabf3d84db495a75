package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/backupd/backupd/pkg/storage"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// run runs the command with args and env only (nothing from the real
// environment) and returns its exit status, stdout and stderr.
func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	dir := t.TempDir()
	stdout, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	a := &app{stdout: stdout, stderr: stderr, getenv: func(k string) string { return env[k] }}
	code := a.main(args)
	stdout.Close()
	stderr.Close()
	out, _ := os.ReadFile(stdout.Name())
	errOut, _ := os.ReadFile(stderr.Name())
	return code, string(out), string(errOut)
}

// tree lists the files under dir with their sizes and times, to tell
// whether anything changed.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func putFile(t *testing.T, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestDryRunJSONChangesNothing(t *testing.T) {
	store := t.TempDir()
	for _, n := range []string{"db-backup-20260314-020000.sql.gz", "db-backup-20260314-030000.sql.zst", "db-backup-20260314-040000.sql.zst", "notes.txt"} {
		putFile(t, store, n, []byte("not read by a dry run"))
	}
	putFile(t, store, "db-backup-20260314-030500.sql.zst.partial", []byte("x"))
	files := t.TempDir()
	before, beforeFiles := tree(t, store), tree(t, files)
	// The database settings point nowhere: a dry run must not need them.
	env := map[string]string{
		"YESTERDAY_SNAPSHOT_FILE": filepath.Join(files, "snapshot"),
		"YESTERDAY_STATUS_FILE":   filepath.Join(files, "status"),
		"DB_SOCKET":               filepath.Join(files, "no.sock"),
	}
	code, out, errOut := run(t, env, "--remote", store, "--now", "2026-03-15T10:00:00Z", "--dry-run", "--json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Name       string    `json:"name"`
		Time       time.Time `json:"time"`
		Reason     string    `json:"reason"`
		Candidates []struct {
			Name string `json:"name"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not one JSON object: %v\n%s", err, out)
	}
	if got.Name != "db-backup-20260314-030000.sql.zst" || !got.Time.Equal(time.Date(2026, 3, 14, 3, 0, 0, 0, time.UTC)) ||
		!strings.Contains(got.Reason, "closest to the target 03:00 UTC") || len(got.Candidates) != 3 {
		t.Errorf("dry run chose %+v", got)
	}
	if after := tree(t, store); after != before {
		t.Errorf("dry run changed the store:\n%s\nwas\n%s", after, before)
	}
	if after := tree(t, files); after != beforeFiles {
		t.Errorf("dry run wrote files:\n%s", after)
	}
}

func TestDryRunText(t *testing.T) {
	store := t.TempDir()
	putFile(t, store, "db-backup-20260310-030000.sql.zst", []byte("x"))
	putFile(t, store, "db-backup-20260311-030000.sql.gz", []byte("x"))
	code, out, errOut := run(t, nil, "--remote", store, "--now", "2026-03-15T10:00:00Z", "--at", "04:00", "--dry-run")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"would restore db-backup-20260311-030000.sql.gz",
		"snapshot   2026-03-11 03:00:00 UTC",
		"no backup from 2026-03-14; closest to the target 04:00 UTC overall",
		"  2  db-backup-20260310-030000.sql.zst",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestExitCodes(t *testing.T) {
	empty := t.TempDir()
	full := t.TempDir()
	putFile(t, full, "db-backup-20260314-030000.sql.zst", []byte("x"))
	putFile(t, full, "db-backup-20260314-040000.sql.zst", nil)
	db := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}
	cases := []struct {
		name string
		env  map[string]string
		args []string
		want int
	}{
		{"no backups", db, []string{"--remote", empty}, cli.ExitNoBackup},
		{"no backups dry run", nil, []string{"--remote", empty, "--dry-run"}, cli.ExitNoBackup},
		{"named backup missing", nil, []string{"--remote", full, "--dry-run", "--name", "db-backup-20260101-000000.sql.zst"}, cli.ExitNoBackup},
		{"named backup empty", nil, []string{"--remote", full, "--dry-run", "--name", "db-backup-20260314-040000.sql.zst"}, cli.ExitNoBackup},
		{"named backup", nil, []string{"--remote", full, "--dry-run", "--name", "db-backup-20260314-030000.sql.zst"}, cli.ExitOK},
		{"bad --at", nil, []string{"--remote", full, "--dry-run", "--at", "25:00"}, cli.ExitUsage},
		{"bad RESTORE_AT", map[string]string{"RESTORE_AT": "3pm"}, []string{"--remote", full, "--dry-run"}, cli.ExitUsage},
		{"bad --now", nil, []string{"--remote", full, "--dry-run", "--now", "yesterday"}, cli.ExitUsage},
		{"bad --wait", db, []string{"--remote", full, "--wait", "soon"}, cli.ExitUsage},
		{"no database", map[string]string{"DB_USERNAME": "app"}, []string{"--remote", full}, cli.ExitUsage},
		{"staging is target", db, []string{"--remote", full, "--staging-db", "app"}, cli.ExitUsage},
		{"bad --loader", db, []string{"--remote", full, "--loader", "fast"}, cli.ExitUsage},
		{"bad RESTORE_PARALLEL", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "RESTORE_PARALLEL": "-1"}, []string{"--remote", full}, cli.ExitUsage},
		{"unknown flag", nil, []string{"--frobnicate"}, cli.ExitUsage},
		{"stray argument", nil, []string{"--dry-run", "extra"}, cli.ExitUsage},
		{"help", nil, []string{"-h"}, cli.ExitOK},
		{"database down", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "DB_SOCKET": filepath.Join(empty, "no.sock"), "RESTORE_WAIT": "1s"},
			[]string{"--remote", full, "--now", "2026-03-15T10:00:00Z"}, cli.ExitFailure},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := run(t, tc.env, tc.args...)
			if code != tc.want {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.want, errOut)
			}
		})
	}
}

// TestRestoreFromEnvironment runs the command as the boot script would,
// with the settings in the environment, against a real database.
func TestRestoreFromEnvironment(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	store := t.TempDir()
	st, err := storage.Open(t.Context(), store, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := backup.Job{Dumper: &dump.Dumper{Conn: srv.Root(src)}, Store: st, Codec: catalog.Codec{}, Time: time.Date(2026, 3, 14, 2, 58, 0, 0, time.UTC)}
	if _, err := job.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A corrupt backup closer to the target is skipped.
	putFile(t, store, "db-backup-20260314-030000.sql.zst", []byte("\x28\xb5\x2f\xfd garbage"))

	target := srv.NewDatabase(t, "app")
	user := srv.NewUser(t, target, "pw from file")
	for _, db := range []string{target + "_restore", target + "_restore_old"} {
		srv.Exec(t, "", fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'localhost'", strings.ReplaceAll(db, "_", `\_`), user))
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+db+"`") })
	}
	files := t.TempDir()
	pwFile := filepath.Join(files, "pw")
	putFile(t, files, "pw", []byte("pw from file\n"))
	env := map[string]string{
		"BACKUPD_REMOTE":          store,
		"DB_SOCKET":               srv.Socket,
		"DB_DATABASE":             target,
		"DB_USERNAME":             user,
		"DB_PASSWORD_FILE":        pwFile,
		"YESTERDAY_SNAPSHOT_FILE": filepath.Join(files, "snapshot"),
		"YESTERDAY_STATUS_FILE":   filepath.Join(files, "status.json"),
	}
	code, out, errOut := run(t, env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "restored db-backup-20260314-025800.sql.zst into "+target) ||
		!strings.Contains(out, "skipped    db-backup-20260314-030000.sql.zst") {
		t.Errorf("report:\n%s", out)
	}
	if strings.Contains(out+errOut, "pw from file") {
		t.Errorf("the password shows in the output")
	}
	snap, err := os.ReadFile(env["YESTERDAY_SNAPSHOT_FILE"])
	if err != nil || string(snap) != "2026-03-14 02:58:00 UTC\n" {
		t.Errorf("snapshot file = %q, %v", snap, err)
	}
	if _, err := os.Stat(env["YESTERDAY_STATUS_FILE"]); err != nil {
		t.Errorf("status file: %v", err)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}

	// The single-connection client loader gives the same database.
	srv.Exec(t, target, "DELETE FROM orders")
	if code, out, errOut := run(t, env, "--now", "2026-03-15T05:00:00Z", "--loader", "client"); code != cli.ExitOK {
		t.Fatalf("--loader client: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("--loader client: restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}

	// Every backup unusable: exit 1, the database as it was.
	bad := t.TempDir()
	putFile(t, bad, "db-backup-20260314-030000.sql.zst", []byte("\x28\xb5\x2f\xfd garbage"))
	env["BACKUPD_REMOTE"] = bad
	before := srv.Fingerprint(t, target)
	if code, out, errOut := run(t, env, "--now", "2026-03-15T05:00:00Z", "--json"); code != cli.ExitFailure {
		t.Errorf("exit %d with only a corrupt backup\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Errorf("a failed run changed the database")
	}
}

func TestProgressLine(t *testing.T) {
	for _, tt := range []struct {
		s    restore.ProgressState
		want string
	}{
		{restore.ProgressState{Backup: "b", Phase: "downloading", Total: 4 << 20, Stored: 1 << 20, Elapsed: 2 * time.Second},
			"downloading b to check it before it runs: 1 MiB of 4 MiB (25%), 512 KiB/s, ETA 6s"},
		{restore.ProgressState{Backup: "b", Phase: "loading", Total: 4 << 20, Stored: 1 << 20, Raw: 3 << 20, Elapsed: 2 * time.Second},
			"restoring b: 1 MiB of 4 MiB (25%), 3 MiB of SQL loaded, 1.500 MiB/s of SQL, ETA 6s"},
	} {
		if got := progressLine(tt.s); got != tt.want {
			t.Errorf("progressLine(%+v)\n got %q\nwant %q", tt.s, got, tt.want)
		}
	}
}

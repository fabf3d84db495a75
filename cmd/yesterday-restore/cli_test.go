package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
)

// TestMessagesNameTheProgramOnce: "yesterday-restore:" starts the one line
// of an error, once.
func TestMessagesNameTheProgramOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"unknown flag", nil, []string{"--frobnicate"}, "yesterday-restore: unknown flag --frobnicate"},
		{"stray argument", nil, []string{"--dry-run", "extra"}, "yesterday-restore: unexpected argument extra"},
		{"bad variable", map[string]string{"RESTORE_PARALLEL": "many"}, []string{"--dry-run"}, `yesterday-restore: invalid parallel="many" from RESTORE_PARALLEL: want a whole number`},
		{"missing settings", nil, []string{"--remote", t.TempDir()},
			"yesterday-restore: missing database name: set --db-name or DB_DATABASE; missing database user: set --db-user or DB_USERNAME"},
		{"remote that does not open", nil, []string{"--remote", "nosuch::", "--dry-run"},
			`yesterday-restore: remote "nosuch" (in "nosuch::") is not configured: set RCLONE_CONFIG_NOSUCH_TYPE (and the remote's other RCLONE_CONFIG_NOSUCH_* settings), or give a local folder`},
		{"folder that does not exist", nil, []string{"--remote", "/nonexistent/backups", "--dry-run"},
			`yesterday-restore: /nonexistent/backups: the folder does not exist`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := run(t, tc.env, tc.args...)
			if code == cli.ExitOK {
				t.Fatalf("exit %d, want a failure", code)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr\n%q\nwant\n%q", got, tc.want)
			}
			if n := strings.Count(stderr, "yesterday-restore"); n != 1 {
				t.Errorf("the program is named %d times", n)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

func TestVersionFlag(t *testing.T) {
	dir := t.TempDir()
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	a := &app{stdout: out, stderr: errf, getenv: func(string) string { return "" }, buildInfo: func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "4055fb3a0d6c1e2f3a4b5c6d7e8f9a0b1c2d3e4f"}, {Key: "vcs.modified", Value: "false"}}}, true
	}}
	code := a.main([]string{"--version"})
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	if code != cli.ExitOK || len(e) != 0 {
		t.Errorf("exit %d, stderr %q", code, e)
	}
	if got, want := string(o), "yesterday-restore (devel), revision 4055fb3a0d6c1e2f3a4b5c6d7e8f9a0b1c2d3e4f, go1.26.8\n"; got != want {
		t.Errorf("--version printed %q, want %q", got, want)
	}
}

func TestHelpShowsTypesDefaultsAndVariables(t *testing.T) {
	code, stdout, _ := run(t, nil, "--help")
	if code != cli.ExitOK {
		t.Errorf("exit %d", code)
	}
	flat := strings.Join(strings.Fields(stdout), " ") // wrapping aside
	for _, want := range []string{
		"Usage: yesterday-restore [flags]",
		"--wait=DURATION how long to wait for the database to answer (default 1m0s; env RESTORE_WAIT)",
		"--parallel=INT connections loading data with the parallel loader, 0 to 64; 0 means the number of CPUs, at least 2 (default 0; env RESTORE_PARALLEL)",
		"--db-name=STRING database name, required (env DB_DATABASE)",
		"--now=TIME decide as if",
		"--version print the version",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("help lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "--mysqldump") {
		t.Errorf("help shows --mysqldump, which the restore does not use")
	}
}

// Messages about the remote say which remote, and what to run next.
func TestNoBackupMessagesNameTheRemote(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"empty folder", nil, []string{"the folder holds no backups", "looked in " + dir}},
		{"missing name", []string{"--name", "db-backup-20250101-000000.sql.zst"}, []string{"looked in " + dir, `run "backupd list"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := run(t, nil, append([]string{"--remote", dir, "--dry-run"}, tc.args...)...)
			if code != cli.ExitNoBackup {
				t.Errorf("exit %d, want %d: %s", code, cli.ExitNoBackup, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message %q does not say %q", stderr, w)
				}
			}
		})
	}
}

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Settings of the stream and of recover that cannot work are reported
// before anything runs, naming the setting, with exit status 2.
func TestBinlogAndRecoverSettings(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{"DB_SOCKET": "/nonexistent.sock", "DB_DATABASE": "app", "DB_USERNAME": "backup", "BACKUPD_REMOTE": dir,
		"BACKUPD_BINLOG": "true"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"flush too short", with("BACKUPD_BINLOG_FLUSH", "100ms"), []string{"serve"}, "binlog-flush"},
		{"password without an account", with("BACKUPD_BINLOG_PASSWORD", "x"), []string{"serve"}, "--binlog-user"},
		{"two passwords", with("BACKUPD_BINLOG_USER", "binlog", "BACKUPD_BINLOG_PASSWORD", "x", "BACKUPD_BINLOG_PASSWORD_FILE", pwFile),
			[]string{"serve"}, "contradictory password settings: set BACKUPD_BINLOG_PASSWORD or --binlog-password-file"},
		{"recover without a moment", with(), []string{"recover", "--into-database", "app", "--into-user", "r"}, "--to"},
		{"recover to a time that is not one", with(), []string{"recover", "--to", "yesterday", "--into-database", "app", "--into-user", "r"}, "want latest, or a time in RFC 3339"},
		{"recover without a target", with(), []string{"recover", "--to", "latest"}, "into-database"},
		{"recover with two passwords", with("RECOVER_DB_PASSWORD", "x", "RECOVER_DB_PASSWORD_FILE", pwFile),
			[]string{"recover", "--to", "latest", "--into-database", "app", "--into-user", "r"}, "contradictory password settings"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runApp(t, tc.env, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
			if strings.Contains(stderr, "s3cret") {
				t.Errorf("the password is in the message: %q", stderr)
			}
		})
	}
}

// A dry run prints the plan and changes nothing; with no backup that has
// coordinates it says so, with exit status 3.
func TestRecoverDryRunWithoutBackups(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runApp(t, map[string]string{"BACKUPD_REMOTE": dir}, "recover", "--to", "latest", "--dry-run")
	if code != 3 || !strings.Contains(stdout, "backup     none") || !strings.Contains(stderr, "no backup with binary log coordinates") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
}

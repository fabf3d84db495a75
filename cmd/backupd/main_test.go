package main

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// runApp runs backupd in-process with args and a fixed environment,
// returning the exit status and what it printed. Unless env names one, the
// lock file is the test's own, so that no other backupd on the machine
// interferes.
func runApp(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	if _, ok := env["BACKUPD_LOCK_FILE"]; !ok {
		env = maps.Clone(env)
		if env == nil {
			env = map[string]string{}
		}
		env["BACKUPD_LOCK_FILE"] = filepath.Join(dir, "backupd.lock")
	}
	out, err := os.Create(filepath.Join(dir, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	errf, err := os.Create(filepath.Join(dir, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	env = withServer(t, env)
	a := &app{stdout: out, stderr: errf, getenv: func(k string) string { return env[k] }}
	code = a.main(args)
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	return code, string(o), string(e)
}

// withServer points a backup that names a database user but no server at
// the test server, and makes that user there: the backup asks the server
// its version before it runs the dump tool, which in these tests is a
// script that ignores the connection.
func withServer(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	if env["DB_USERNAME"] == "" || env["DB_HOST"] != "" || env["DB_SOCKET"] != "" {
		return env
	}
	srv := testdb.Get(t)
	srv.Account(t, env["DB_USERNAME"], env["DB_PASSWORD"])
	env = maps.Clone(env)
	env["DB_SOCKET"] = srv.Socket
	return env
}

func TestNowSettingsErrors(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("secret\n"), 0o600)
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"no database", map[string]string{"DB_USERNAME": "app"}, nil, "missing database name: set --db-name or DB_DATABASE"},
		{"no user", map[string]string{"DB_DATABASE": "app"}, nil, "missing database user: set --db-user or DB_USERNAME"},
		{"bad port", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "DB_PORT": "33o6"}, nil, `invalid db-port="33o6" from DB_PORT`},
		{"bad port flag", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}, []string{"--db-port", "70000"}, `invalid db-port="70000" from --db-port`},
		{"two passwords", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "DB_PASSWORD": "x", "DB_PASSWORD_FILE": pwFile}, nil, "set DB_PASSWORD or DB_PASSWORD_FILE, not both"},
		{"missing password file", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}, []string{"--db-password-file", "/nonexistent/pw"}, "cannot read the password file named by --db-password-file"},
		{"missing dump program", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_MYSQLDUMP": "/nonexistent/mysqldump"}, nil, `dump program "/nonexistent/mysqldump" from BACKUPD_MYSQLDUMP not found`},
		{"unknown flag", nil, []string{"--bogus"}, "backupd now: unknown flag --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, tt.env, append([]string{"now"}, tt.args...)...)
			if code != cli.ExitUsage {
				t.Errorf("exit status %d, want %d", code, cli.ExitUsage)
			}
			if !strings.Contains(stderr, tt.want) {
				t.Errorf("stderr %q does not say %q", stderr, tt.want)
			}
			if n := strings.Count(strings.TrimRight(stderr, "\n"), "\n"); n != 0 {
				t.Errorf("want one line on stderr, got %d:\n%s", n+1, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	code, _, stderr := runApp(t, nil, "bogus")
	if code != cli.ExitUsage || !strings.Contains(stderr, `unknown command "bogus"`) {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestNowEndToEnd(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "now")
	srv.LoadFile(t, db, "../../testdata/fixture.sql")
	remote := filepath.Join(t.TempDir(), "backups")
	pwFile := filepath.Join(t.TempDir(), "pw")
	os.WriteFile(pwFile, []byte("\n"), 0o600)
	env := map[string]string{
		"DB_DATABASE":    "wrong-db-overridden-by-flag",
		"DB_USERNAME":    "root",
		"DB_SOCKET":      srv.Socket,
		"BACKUPD_REMOTE": "/nonexistent-overridden-by-flag",
	}
	code, stdout, stderr := runApp(t, env, "now", "--remote", remote, "--db-name", db, "--db-password-file", pwFile)
	if code != cli.ExitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, re := range []string{
		`(?m)^backup db-backup-\d{8}-\d{6}\.sql\.zst$`,
		`(?m)^  remote     ` + regexp.QuoteMeta(remote) + `/?$`,
		`(?m)^  raw        .* \(\d+ bytes\)$`,
		`(?m)^  stored     .* \(\d+ bytes\), ratio \d+\.\d\dx$`,
		`(?m)^  duration   .*/s$`,
		`(?m)^  sha256     [0-9a-f]{64}$`,
		`(?m)^  requests   0 to the remotes$`, // a local folder takes none
	} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("output does not match %s:\n%s", re, stdout)
		}
	}
	entries, err := os.ReadDir(remote)
	if err != nil || len(entries) != 1 || !strings.HasSuffix(entries[0].Name(), ".sql.zst") {
		t.Errorf("remote holds %v (%v), want one backup", entries, err)
	}
}

func TestNowFailureExitStatus(t *testing.T) {
	prog := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(prog, []byte("#!/bin/sh\necho 'CREATE TABLE t (id int);'\necho 'mysqldump: Got error: 2013: Lost connection' >&2\nexit 2\n"), 0o755)
	remote := t.TempDir()
	code, stdout, stderr := runApp(t, map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}, "now", "--remote", remote, "--mysqldump", prog)
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d", code, cli.ExitFailure)
	}
	if !strings.Contains(stderr, "backupd now: backup failed, nothing was published: ") || !strings.Contains(stderr, "exit status 2") || !strings.Contains(stderr, "Lost connection") {
		t.Errorf("stderr does not give the reason:\n%s", stderr)
	}
	if stdout != "" {
		t.Errorf("stdout = %q", stdout)
	}
	if entries, _ := os.ReadDir(remote); len(entries) != 0 {
		t.Errorf("remote holds %v after a failed backup", entries)
	}
}

package main

import (
	"flag"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// fixedWidth makes help wrap the same way on every machine: kong reads
// the terminal width from COLUMNS.
func fixedWidth(t *testing.T) { t.Setenv("COLUMNS", "80") }

func TestHelpGolden(t *testing.T) {
	fixedWidth(t)
	for _, tc := range []struct {
		golden string
		args   []string
	}{
		{"help.golden", []string{"help"}},
		{"help.golden", []string{"--help"}},
		{"help.golden", []string{"-h"}},
		{"help-now.golden", []string{"help", "now"}},
		{"help-now.golden", []string{"now", "--help"}},
		{"help-now.golden", []string{"now", "-h"}},
		{"help-list.golden", []string{"help", "list"}},
		{"help-serve.golden", []string{"serve", "--help"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runApp(t, nil, tc.args...)
			if code != cli.ExitOK || stderr != "" {
				t.Errorf("exit %d, stderr %q; want %d and nothing", code, stderr, cli.ExitOK)
			}
			golden(t, tc.golden, stdout)
		})
	}
}

// TestNoArgumentsShowsHelp: without a command backupd lists the commands
// and exits 2, nothing having run.
func TestNoArgumentsShowsHelp(t *testing.T) {
	fixedWidth(t)
	code, stdout, _ := runApp(t, nil)
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	golden(t, "help.golden", stdout)
}

func TestVersionGolden(t *testing.T) {
	dir := t.TempDir()
	out, _ := os.Create(filepath.Join(dir, "stdout"))
	errf, _ := os.Create(filepath.Join(dir, "stderr"))
	a := &app{stdout: out, stderr: errf, getenv: func(string) string { return "" }, buildInfo: func() (*debug.BuildInfo, bool) {
		return &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/backupd/backupd", Version: "v1.4.0"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "4055fb3a0d6c1e2f3a4b5c6d7e8f9a0b1c2d3e4f"}, {Key: "vcs.modified", Value: "true"}}}, true
	}}
	code := a.main([]string{"version"})
	out.Close()
	errf.Close()
	o, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errf.Name())
	if code != cli.ExitOK || len(e) != 0 {
		t.Errorf("exit %d, stderr %q", code, e)
	}
	golden(t, "version.golden", string(o))
}

// TestCommandsDeclareOnlyTheirFlags: only the commands that dump or check
// the database take the database and dump program flags.
func TestCommandsDeclareOnlyTheirFlags(t *testing.T) {
	dbFlags := []string{"--db-host", "--db-port", "--db-socket", "--db-name", "--db-user", "--db-password-file", "--mysqldump"}
	for _, tc := range []struct {
		command string
		db      bool
	}{
		{"now", true}, {"serve", true}, {"doctor", true},
		{"list", false}, {"verify", false}, {"prune", false}, {"refresh", false},
	} {
		t.Run(tc.command, func(t *testing.T) {
			_, help, _ := runApp(t, nil, "help", tc.command)
			for _, f := range dbFlags {
				if got := strings.Contains(help, f+"="); got != tc.db {
					t.Errorf("help of %s shows %s: %v, want %v", tc.command, f, got, tc.db)
				}
			}
			if tc.db {
				return
			}
			code, _, stderr := runApp(t, nil, tc.command, "--db-name", "app")
			if code != cli.ExitUsage || !strings.Contains(stderr, "unknown flag --db-name") {
				t.Errorf("%s --db-name: exit %d, stderr %q; want %d and an unknown flag", tc.command, code, stderr, cli.ExitUsage)
			}
		})
	}
}

func TestBadCommandLineExitStatus(t *testing.T) {
	remote := t.TempDir()
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string // on stderr, the whole of it
	}{
		{"unknown command", nil, []string{"bogus"}, `backupd: unknown command "bogus" (run "backupd help")`},
		{"misspelt command", nil, []string{"lsit"}, `backupd: unknown command "lsit", did you mean "list"? (run "backupd help")`},
		{"misspelt command, two close", nil, []string{"prun"}, `backupd: unknown command "prun", did you mean "prune"? (run "backupd help")`},
		{"command with a typo", nil, []string{"stauts", "--remote", remote}, `backupd: unknown command "stauts", did you mean "status"? (run "backupd help")`},
		{"unknown flag", nil, []string{"list", "--bogus"}, "backupd list: unknown flag --bogus"},
		{"single-dash unknown flag", nil, []string{"prune", "-bogus"}, "backupd prune: unknown flag --bogus"},
		{"flag before the command", nil, []string{"--bogus"}, "backupd: unknown flag --bogus"},
		{"help for no such command", nil, []string{"help", "bogus"}, `backupd help: unexpected argument bogus`},
		{"int flag", nil, []string{"prune", "--keep", "many", "--remote", remote}, `backupd prune: --keep: expected a valid 64 bit int but got "many"`},
		{"duration flag", nil, []string{"now", "--wait", "soon"}, `backupd now: --wait: expected duration but got "soon": time: invalid duration "soon"`},
		{"int env", map[string]string{"BACKUPD_KEEP": "many"}, []string{"prune", "--remote", remote}, `backupd prune: invalid keep="many" from BACKUPD_KEEP: want a whole number`},
		{"duration env", map[string]string{"BACKUPD_LOCK_WAIT": "soon"}, []string{"now"}, `backupd now: invalid wait="soon" from BACKUPD_LOCK_WAIT: want a duration such as 30s or 5m`},
		{"bool env", map[string]string{"BACKUPD_BACKUP_AT_START": "maybe"}, []string{"serve"}, `backupd serve: invalid backup-at-start="maybe" from BACKUPD_BACKUP_AT_START: want true or false`},
		{"two bad variables", map[string]string{"BACKUPD_KEEP": "x", "BACKUPD_KEEP_DAILY": "y"}, []string{"prune"},
			`backupd prune: invalid keep="x" from BACKUPD_KEEP: want a whole number; invalid keep-daily="y" from BACKUPD_KEEP_DAILY: want a whole number`},
		{"everything missing", nil, []string{"now", "--db-port", "0", "--lock-file", ""},
			`backupd now: invalid db-port="0" from --db-port: want a whole number from 1 to 65535; missing database name: set --db-name or DB_DATABASE; missing database user: set --db-user or DB_USERNAME`},
		{"two names to verify", nil, []string{"verify", "a", "b", "--remote", remote}, "backupd verify: unexpected argument b"},
		{"refresh without an app", nil, []string{"refresh"}, "backupd refresh: missing app to refresh: set --refresh-app or BACKUPD_REFRESH_APP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runApp(t, tc.env, tc.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d", code, cli.ExitUsage)
			}
			if got := strings.TrimSuffix(stderr, "\n"); got != tc.want {
				t.Errorf("stderr\n%q\nwant\n%q", got, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
}

// TestMessagesNameTheProgramOnce: the program and the operation appear once
// in a message, however deep the error came from.
func TestMessagesNameTheProgramOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		once []string
	}{
		{"unknown flag", []string{"now", "--bogus"}, []string{"backupd", "bogus"}},
		{"remote that does not open", []string{"list", "--remote", "nosuch::"}, []string{"backupd", "configured", "nosuch::"}},
		{"missing setting", []string{"refresh"}, []string{"backupd", "refresh-app"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runApp(t, nil, tc.args...)
			if code == cli.ExitOK {
				t.Fatalf("exit %d, want a failure", code)
			}
			for _, w := range tc.once {
				if n := strings.Count(stderr, w); n != 1 {
					t.Errorf("%q appears %d times in %q, want once", w, n, stderr)
				}
			}
		})
	}
}

// TestEnvironmentOnlyThroughGetenv: settings come from the injected
// environment only; the process environment does not leak in, and a
// variable set to "" counts as unset.
func TestEnvironmentOnlyThroughGetenv(t *testing.T) {
	t.Setenv("BACKUPD_KEEP", "not a number")
	t.Setenv("BACKUPD_REMOTE", "nosuch::")
	remote := t.TempDir()
	code, stdout, stderr := runApp(t, map[string]string{"BACKUPD_REMOTE": remote, "BACKUPD_KEEP_DAILY": ""}, "prune", "--dry-run")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "remote  "+remote) || !strings.Contains(stdout, "keep the newest 168") {
		t.Errorf("prune did not use the injected environment:\n%s", stdout)
	}
}

// TestSingleDashLongFlags: the Go flag package's "-remote x" and "-dry-run"
// still work.
func TestSingleDashLongFlags(t *testing.T) {
	remote := t.TempDir()
	code, stdout, stderr := runApp(t, nil, "prune", "-remote", remote, "-dry-run", "-keep=3", "-v", "-prefix", "-odd-")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "remote  "+remote) || !strings.Contains(stdout, "keep the newest 3") || !strings.Contains(stdout, "dry run") {
		// A value that starts with a dash stays a value.
		t.Errorf("output:\n%s", stdout)
	}
}

// TestFlagWinsOverEnvironment: a flag beats its variable, and the first
// non-empty variable beats the default.
func TestFlagWinsOverEnvironment(t *testing.T) {
	envRemote, flagRemote := t.TempDir(), t.TempDir()
	env := map[string]string{"BACKUPD_REMOTE": envRemote, "BACKUPD_KEEP": "7"}
	_, stdout, _ := runApp(t, env, "prune", "--dry-run", "--remote", flagRemote)
	if !strings.Contains(stdout, "remote  "+flagRemote) || !strings.Contains(stdout, "keep the newest 7") {
		t.Errorf("flag or variable not applied:\n%s", stdout)
	}
}

package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/lock"
)

// A dry run says what would be kept, and lists what would go oldest first.
func TestPruneDryRunWording(t *testing.T) {
	dir := t.TempDir()
	remoteFixture(t, dir, time.Now())
	code, out, errOut := runApp(t, nil, "prune", "--dry-run", "--remote", dir)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	if !strings.Contains(out, "would keep 168 backups, would delete 33") {
		t.Errorf("summary does not say what would be kept:\n%s", out)
	}
	var stamps []string
	for _, m := range regexp.MustCompile(`(?m)^would delete  \S*?(\d{8}-\d{6})`).FindAllStringSubmatch(out, -1) {
		stamps = append(stamps, m[1])
	}
	if len(stamps) < 2 || !slices.IsSorted(stamps) {
		t.Errorf("deletions are not listed oldest first: %v\n%s", stamps, out)
	}
}

// Settings that would be ignored are refused, naming what to do instead.
func TestIgnoredSettingsAreRefused(t *testing.T) {
	remote := filepath.Join(t.TempDir(), "backups")
	if err := os.MkdirAll(remote, 0o700); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"partials without json", nil, []string{"list", "--partials", "--remote", remote},
			"--partials applies to --json"},
		{"refresh schedule without app", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_REMOTE": remote},
			[]string{"serve", "--refresh-schedule", "0 6 * * *", "--listen", "off"},
			"--refresh-schedule sets a refresh schedule, but no app is named to refresh: set --refresh-app or BACKUPD_REFRESH_APP too"},
		{"refresh schedule from the environment", map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_REMOTE": remote, "BACKUPD_REFRESH_SCHEDULE": "x"},
			[]string{"serve", "--listen", "off"},
			"BACKUPD_REFRESH_SCHEDULE sets a refresh schedule"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runApp(t, tt.env, tt.args...)
			if code != cli.ExitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, cli.ExitUsage, out, errOut)
			}
			if !strings.Contains(errOut, tt.want) {
				t.Errorf("stderr %q does not say %q", errOut, tt.want)
			}
		})
	}
}

// The default lock is shared by the runs that would collide (the same
// remote and database) and by no others.
func TestDefaultLockPerRemoteAndDatabase(t *testing.T) {
	remoteA, remoteB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	dumper := script(t, "#!/bin/sh\nprintf -- 'CREATE TABLE t (id int);\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	// An empty BACKUPD_LOCK_FILE counts as unset: the default applies.
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_LOCK_FILE": ""}
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, remoteA)
	if err != nil {
		t.Fatal(err)
	}
	st := cli.Settings{Remote: remoteA, Prefix: "db-backup-"}
	st.Conn.Database = "app"
	st.Conn.Socket = testdb.Get(t).Socket // where withServer points the backup
	path := (&lockFlags{}).path(st)
	if !strings.HasPrefix(path, "/tmp/backupd-") || !strings.HasSuffix(path, ".lock") {
		t.Fatalf("default lock path %q", path)
	}
	t.Cleanup(func() { os.Remove(path) })
	held, err := lock.TryAcquire(path, "backupd serve")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()

	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want int
	}{
		{"same remote and database", []string{"--remote", remoteA}, nil, cli.ExitLocked},
		{"same folder, spelled relative", []string{"--remote", rel}, nil, cli.ExitLocked},
		{"another remote", []string{"--remote", remoteB}, nil, cli.ExitOK},
		{"another database", []string{"--remote", remoteA}, map[string]string{"DB_DATABASE": "other"}, cli.ExitOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := maps.Clone(env)
			maps.Copy(e, tc.env)
			code, out, errOut := runApp(t, e, append([]string{"now", "--mysqldump", dumper}, tc.args...)...)
			if code != tc.want {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.want, out, errOut)
			}
			if tc.want == cli.ExitLocked && (!strings.Contains(errOut, path) || !strings.Contains(errOut, "--wait")) {
				t.Errorf("the lock message does not name the lock file %s and --wait: %s", path, errOut)
			}
		})
	}
}

// doctor with settings missing reports them as settings (exit 2), in its
// own words, and changes nothing: a folder that does not exist is not
// created.
func TestDoctorSettingsAndNoSideEffects(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chdir(wd) })

	code, out, errOut := runApp(t, nil, "doctor")
	if code != cli.ExitUsage {
		t.Errorf("doctor without DB_DATABASE: exit %d, want %d\n%s%s", code, cli.ExitUsage, out, errOut)
	}
	if !strings.Contains(out, "FAIL  settings      missing database name: set --db-name or DB_DATABASE") {
		t.Errorf("the missing setting is not reported as a setting:\n%s", out)
	}
	if strings.Contains(out, "dump tool") {
		t.Errorf("a missing setting is filed under the dump tool:\n%s", out)
	}
	if !strings.Contains(out, "does not exist yet") {
		t.Errorf("doctor does not say the folder does not exist yet:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "backups")); !os.IsNotExist(err) {
		t.Errorf("doctor created ./backups (%v)", err)
	}

	code, out, errOut = runApp(t, map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}, "doctor", "--remote", "nosuch:")
	if code != cli.ExitUsage || !strings.Contains(out, `remote "nosuch" (in "nosuch:") is not configured: set RCLONE_CONFIG_NOSUCH_TYPE`) {
		t.Errorf("doctor with an unknown remote: exit %d\n%s%s", code, out, errOut)
	}
	if strings.Contains(out+errOut, "didn't find section in config file") {
		t.Errorf("doctor speaks rclone's words:\n%s%s", out, errOut)
	}
}

// A remote that does not open, or a folder that does not exist, is a bad
// setting: exit 2, naming the remote.
func TestBadRemoteIsASetting(t *testing.T) {
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}
	if code, out, errOut := runApp(t, env, "now", "--remote", "nosuch:"); code != cli.ExitUsage || !strings.Contains(errOut, `remote "nosuch" (in "nosuch:") is not configured`) {
		t.Errorf("now --remote nosuch: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runApp(t, nil, "list", "--remote", "/nonexistent/backups"); code != cli.ExitUsage || !strings.Contains(errOut, "/nonexistent/backups: the folder does not exist") {
		t.Errorf("list --remote /nonexistent: exit %d\n%s%s", code, out, errOut)
	}
}

// A failed dump is not reported under the name of a backup that was never
// published, and a refused login names the settings to check.
func TestFailedDumpMessages(t *testing.T) {
	denied := script(t, "#!/bin/sh\necho \"mariadb-dump: Got error: 1045: \\\"Access denied for user 'app'@'localhost' (using password: YES)\\\" when trying to connect\" >&2\nexit 2\n")
	env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}
	code, out, errOut := runApp(t, env, "now", "--mysqldump", denied, "--remote", t.TempDir())
	if code != cli.ExitFailure {
		t.Errorf("exit %d, want %d", code, cli.ExitFailure)
	}
	if strings.Contains(errOut, "db-backup-") {
		t.Errorf("the message names a backup that was never published: %s", errOut)
	}
	for _, want := range []string{"nothing was published", "Access denied", "--db-user or DB_USERNAME", "DB_PASSWORD"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("message %q does not say %q", errOut, want)
		}
	}
	if out != "" {
		t.Errorf("stdout = %q, want nothing", out)
	}
}

// One rule for log lines in both programs: text on a terminal, JSON
// otherwise, and --log-format (BACKUPD_LOG_FORMAT) to choose.
func TestLogFormat(t *testing.T) {
	dumper := script(t, "#!/bin/sh\nprintf -- 'CREATE TABLE t (id int);\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"off a terminal", nil, nil, `"level":"WARN"`},
		{"text by flag", nil, []string{"--log-format", "text"}, "level=WARN"},
		{"text by variable", map[string]string{"BACKUPD_LOG_FORMAT": "text"}, nil, "level=WARN"},
		{"json by flag before the command", nil, []string{"--log-format=json"}, `"level":"WARN"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A folder others may read makes the store warn, and tighten it.
			remote := filepath.Join(t.TempDir(), "backups")
			if err := os.Mkdir(remote, 0o755); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app"}
			maps.Copy(env, tc.env)
			args := append([]string{"now", "--mysqldump", dumper, "--remote", remote}, tc.args...)
			if strings.HasSuffix(tc.name, "before the command") {
				args = append(tc.args, args[:5]...)
			}
			code, out, errOut := runApp(t, env, args...)
			if code != cli.ExitOK {
				t.Fatalf("exit %d\n%s%s", code, out, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("log lines are not in the chosen format (want %s):\n%s", tc.want, errOut)
			}
		})
	}
	code, _, errOut := runApp(t, map[string]string{"BACKUPD_LOG_FORMAT": "xml"}, "list", "--remote", t.TempDir())
	if code != cli.ExitUsage || !strings.Contains(errOut, "BACKUPD_LOG_FORMAT") {
		t.Errorf("a bad log format: exit %d, %s", code, errOut)
	}
}

// A database the account may not use (1044: a mistyped name, or one not
// granted) is reported as that, naming DB_DATABASE and the grant, not as
// a wrong password; so is a doctor's connection.
func TestDatabaseAccessDeniedNamesTheDatabase(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "shop")
	user := srv.NewUser(t, db, "pw-1044")
	env := map[string]string{"DB_SOCKET": srv.Socket, "DB_DATABASE": db + "_typo", "DB_USERNAME": user, "DB_PASSWORD": "pw-1044"}
	for _, args := range [][]string{{"now", "--remote", t.TempDir()}, {"doctor", "--remote", t.TempDir()}} {
		_, out, errOut := runApp(t, env, args...)
		msg := out + errOut
		for _, want := range []string{"1044", "--db-name or DB_DATABASE", "GRANT", db + "_typo"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: the message does not say %q:\n%s", args[0], want, msg)
			}
		}
		if strings.Contains(msg, "DB_PASSWORD") {
			t.Errorf("%s: the message points at the password:\n%s", args[0], msg)
		}
	}
}

// doctor names the grant a dump account lacks to see the routines other
// accounts created, for each server family, instead of "schema dumped";
// with the grant it says the dump holds everything the account sees.
func TestDoctorNamesTheRoutineGrant(t *testing.T) {
	for _, product := range testdb.Products {
		t.Run(product, func(t *testing.T) {
			srv := testdb.For(t, product)
			db := srv.NewDatabase(t, "doc")
			srv.Exec(t, db, "CREATE TABLE t (id int); CREATE PROCEDURE p1() SELECT 1;")
			user := fmt.Sprintf("doc%d_%s", os.Getpid(), strings.NewReplacer(".", "", "-", "").Replace(product))
			to := fmt.Sprintf("'%s'@'localhost'", user)
			srv.Exec(t, "", fmt.Sprintf("CREATE USER %s IDENTIFIED BY 'doc-pw'; GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON %s.* TO %s", to, testdb.Ident(db), to))
			t.Cleanup(func() { _, _ = srv.Run("", "DROP USER IF EXISTS "+to) })
			tool := testdb.Tool(t, product, "mariadb-dump", "mysqldump")
			if testdb.MySQL(product) {
				tool = testdb.Tool(t, testdb.MariaDB118, "mariadb-dump")
			}
			env := map[string]string{"DB_SOCKET": srv.Socket, "DB_DATABASE": db, "DB_USERNAME": user, "DB_PASSWORD": "doc-pw", "BACKUPD_MYSQLDUMP": tool}
			grant := map[string]string{
				testdb.MySQL97:    "GRANT SHOW_ROUTINE ON *.* TO " + to,
				testdb.MariaDB118: "GRANT SHOW CREATE ROUTINE ON " + testdb.Ident(db) + ".* TO " + to,
				testdb.System:     "GRANT SELECT ON mysql.proc TO " + to,
			}[product]
			code, out, errOut := runApp(t, env, "doctor", "--remote", t.TempDir())
			if code == cli.ExitOK || !regexp.MustCompile(`(?m)^FAIL  objects .*`+regexp.QuoteMeta(grant)).MatchString(out) {
				t.Errorf("doctor without the grant: exit %d, want a FAIL naming %q\n%s%s", code, grant, out, errOut)
			}
			code, out, errOut = runApp(t, env, "now", "--remote", t.TempDir())
			if code != cli.ExitFailure || !strings.Contains(errOut, grant) || !strings.Contains(errOut, "nothing was published") {
				t.Errorf("now without the grant: exit %d\n%s%s", code, out, errOut)
			}

			srv.Exec(t, "", grant)
			code, out, errOut = runApp(t, env, "doctor", "--remote", t.TempDir())
			if !strings.Contains(out, "ok    objects") || !strings.Contains(out, "1 routines") {
				t.Errorf("doctor with the grant: exit %d\n%s%s", code, out, errOut)
			}
		})
	}
}

// Log lines that share a file with the report (a run with "> file 2>&1")
// are text, so that the file reads; serve, which prints no report, and a
// run whose log lines go elsewhere log JSON.
func TestLogLinesBesideTheReportAreText(t *testing.T) {
	dumper := script(t, "#!/bin/sh\nprintf -- 'CREATE TABLE t (id int);\\n-- Dump completed on 2025-01-01 03:00:00\\n'\n")
	// A folder others may read makes the store warn, and tighten it.
	remote := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(remote, 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	env := withServer(t, map[string]string{"DB_DATABASE": "app", "DB_USERNAME": "app", "BACKUPD_LOCK_FILE": filepath.Join(t.TempDir(), "l")})
	a := &app{stdout: out, stderr: out, getenv: func(k string) string { return env[k] }}
	if code := a.main([]string{"now", "--mysqldump", dumper, "--remote", remote}); code != cli.ExitOK {
		t.Fatalf("exit %d", code)
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `{"time"`) || !strings.Contains(string(b), "level=WARN") || !strings.Contains(string(b), "backup db-backup-") {
		t.Errorf("the file holding both the report and the log lines:\n%s", b)
	}
}

package pairing

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/klauspost/compress/zstd"
)

// bin holds backupd and yesterday-restore, built from this tree.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "backupd-pairing-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+string(os.PathSeparator), "./cmd/backupd", "./cmd/yesterday-restore")
	build.Dir = testdb.Root()
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the binaries: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	bin = dir
	code := testdb.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// leg is one pairing: the dump tool of one build, the server it dumps, and
// the server the backup is restored into.
type leg struct{ tool, source, restore string }

func (l leg) String() string {
	return fmt.Sprintf("dump=%s,source=%s,restore=%s", toolName(l.tool)+"-"+version(l.tool), l.source, l.restore)
}

func toolName(product string) string {
	if testdb.MySQL(product) {
		return "mysqldump"
	}
	return "mariadb-dump"
}

func version(product string) string {
	if product == testdb.System {
		return "10.11"
	}
	_, v, _ := strings.Cut(product, "-")
	return v
}

// production is the pairing production runs: the app image's mariadb-dump
// 11.8 against MySQL (8.0 in production, the MySQL Debian serves here),
// restored by the yesterday image's MariaDB 11.8.
var production = leg{testdb.MariaDB118, testdb.MySQL97, testdb.MariaDB118}

// legs are the pairings to run: production's alone, unless
// BACKUPD_TEST_LEGS is "all" (scripts/test.sh --matrix). Oracle's
// mysqldump 9 cannot log in to MariaDB, whose accounts use
// mysql_native_password, which MySQL 9's client no longer has: those
// pairings are not legs.
func legs() []leg {
	if os.Getenv("BACKUPD_TEST_LEGS") != "all" {
		return []leg{production}
	}
	var out []leg
	for _, tool := range testdb.Products {
		for _, src := range testdb.Products {
			if testdb.MySQL(tool) && !testdb.MySQL(src) {
				continue
			}
			for _, dst := range []string{testdb.System, testdb.MariaDB118} {
				out = append(out, leg{tool, src, dst})
			}
		}
	}
	return out
}

// TestPairing takes a backup with backupd now over TCP at 127.0.0.2 (not
// local to the client, as production's database on Fly's private network
// is not), with the default TLS setting and with TLS off, checks it with
// doctor, and restores it as the documented account with both loaders. The
// restored database must hold what the source holds, and, where the stock
// client of the restore server loads the dump, be identical to that load.
func TestPairing(t *testing.T) {
	for _, l := range legs() {
		t.Run(l.String(), func(t *testing.T) { runLeg(t, l) })
	}
}

var seq atomic.Int64

func runLeg(t *testing.T, l leg) {
	src := testdb.For(t, l.source)
	dst := testdb.For(t, l.restore)
	tool := testdb.Tool(t, l.tool, toolName(l.tool))
	db := src.NewDatabase(t, "pair")
	loadFixture(t, src, db)
	user, pw := dumpAccount(t, src, db)
	dir := t.TempDir()
	env := []string{
		"DB_HOST=127.0.0.2", fmt.Sprintf("DB_PORT=%d", src.Port), "DB_DATABASE=" + db,
		"DB_USERNAME=" + user, "DB_PASSWORD=" + pw, "BACKUPD_MYSQLDUMP=" + tool,
		"BACKUPD_LOCK_FILE=" + filepath.Join(dir, "lock"), "BACKUPD_LOG_FORMAT=text",
	}
	// The servers fetched by scripts/versions.sh make their own
	// certificate, as production's MySQL does; Debian 12's MariaDB has
	// none and offers no TLS.
	offersTLS := l.source != testdb.System

	var name, remote string
	t.Run("backup", func(t *testing.T) {
		remote = filepath.Join(dir, "backups")
		out, log := run(t, 0, filepath.Join(bin, "backupd"), append(env, "BACKUPD_REMOTE="+remote), "now")
		name = backupName(t, out)
		if want := "encrypted ("; offersTLS && !strings.Contains(log, want) {
			t.Errorf("the dump was not encrypted; log:\n%s", log)
		}
		if !offersTLS && !strings.Contains(log, "not encrypted (DB_TLS=prefer)") {
			t.Errorf("the log does not say the dump was not encrypted; log:\n%s", log)
		}
	})
	if name == "" {
		t.Fatal("no backup to restore")
	}
	t.Run("backup without TLS", func(t *testing.T) {
		out, log := run(t, 0, filepath.Join(bin, "backupd"), append(env, "BACKUPD_REMOTE="+filepath.Join(dir, "plain"), "DB_TLS=off"), "now")
		backupName(t, out)
		if !strings.Contains(log, "not encrypted (DB_TLS=off)") {
			t.Errorf("the log does not say the dump was not encrypted; log:\n%s", log)
		}
	})
	t.Run("doctor", func(t *testing.T) {
		out, _ := run(t, 0, filepath.Join(bin, "backupd"), append(env, "BACKUPD_REMOTE="+filepath.Join(dir, "doctor")), "doctor")
		if !strings.Contains(out, "lets the whole schema through") {
			t.Errorf("doctor did not run the schema through the gate:\n%s", out)
		}
		if offersTLS && !strings.Contains(out, "encrypted (") {
			t.Errorf("doctor does not say the connection was encrypted:\n%s", out)
		}
	})

	sql := dumpText(t, filepath.Join(remote, name))
	want := content(t, src, db)
	ref := dst.NewDatabase(t, "ref")
	_, refErr := dst.Run(ref, sql)
	if refErr != nil {
		t.Logf("the stock client of %s does not load this dump: %v", l.restore, firstLine(refErr.Error()))
	}
	for _, loader := range []string{"parallel", "client"} {
		t.Run("restore "+loader, func(t *testing.T) {
			target := dst.NewDatabase(t, "rst")
			ruser, rpw := restoreAccount(t, dst, target)
			renv := []string{
				"DB_SOCKET=" + dst.Socket, "DB_DATABASE=" + target, "DB_USERNAME=" + ruser, "DB_PASSWORD=" + rpw,
				"RESTORE_LOADER=" + loader, "BACKUPD_LOG_FORMAT=text",
				"PATH=" + toolPath(dst), // the client loader runs the restore server's own client
			}
			run(t, 0, filepath.Join(bin, "yesterday-restore"), renv, "--remote", remote, "--name", name,
				"--snapshot-file", filepath.Join(t.TempDir(), "snapshot.txt"))
			if got := content(t, dst, target); got != want {
				t.Errorf("restored content differs from the source's:\n%s", diff(want, got))
			}
			if refErr == nil {
				if got, want := describe(t, dst, target), describe(t, dst, ref); got != want {
					t.Errorf("restore differs from the stock client's load:\n%s", diff(want, got))
				}
			}
		})
	}
}

// run runs a built program with env (and PATH, HOME) and returns its
// standard output and error; its exit status must be want.
func run(t *testing.T, want int, prog string, env []string, args ...string) (stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(prog, args...)
	base := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	cmd.Env = append(base, env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", filepath.Base(prog), err)
	}
	if code != want {
		t.Fatalf("%s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", filepath.Base(prog), strings.Join(args, " "), code, want, o.String(), e.String())
	}
	return o.String(), e.String()
}

var backupLine = regexp.MustCompile(`(?m)^backup (db-backup-\d{8}-\d{6}\.sql\.zst)$`)

func backupName(t *testing.T, out string) string {
	t.Helper()
	m := backupLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no backup named in:\n%s", out)
	}
	return m[1]
}

// toolPath is PATH with the server's own client tools first.
func toolPath(s *testdb.Server) string {
	if s.Bin == "" {
		return os.Getenv("PATH")
	}
	return s.Bin + string(os.PathListSeparator) + os.Getenv("PATH")
}

func dumpText(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	var out bytes.Buffer
	if _, err := out.ReadFrom(dec); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// loadFixture fills db with testdata/fixture.sql and a table large enough
// that its rows go the LOAD DATA way.
func loadFixture(t *testing.T, s *testdb.Server, db string) {
	t.Helper()
	s.LoadFile(t, db, filepath.Join(testdb.Root(), "testdata", "fixture.sql"))
	var b strings.Builder
	b.WriteString("CREATE TABLE many (id INT NOT NULL PRIMARY KEY, label VARCHAR(100) NOT NULL, at DATETIME NOT NULL, n DECIMAL(10,2), KEY (label)) DEFAULT CHARSET=utf8mb4;\n")
	for i := 0; i < 4000; i++ {
		if i%1000 == 0 {
			if i > 0 {
				b.WriteString(";\n")
			}
			b.WriteString("INSERT INTO many VALUES ")
		} else {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "(%d,'row %d é ☃ \\'q\\' \\\\',DATE_ADD('2026-01-01', INTERVAL %d MINUTE),%d.%02d)", i, i, i, i, i%100)
	}
	b.WriteString(";\n")
	s.Exec(t, db, b.String())
}

// dumpAccount creates the dump account with the grants docs/mysql.md and
// the README give for the source's family, over TCP from anywhere.
func dumpAccount(t *testing.T, s *testdb.Server, db string) (user, pw string) {
	t.Helper()
	user = fmt.Sprintf("pbk%d_%d", os.Getpid(), seq.Add(1))
	pw = `p"a\ss w'rd#1`
	grants := fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY %s; GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON %s.* TO '%s'@'%%';",
		user, testdb.Quote(pw), testdb.Ident(db), user)
	if testdb.MySQL(s.Product) {
		grants += fmt.Sprintf(" GRANT SHOW_ROUTINE ON *.* TO '%s'@'%%';", user)
	} else {
		grants += fmt.Sprintf(" GRANT SELECT ON mysql.proc TO '%s'@'%%';", user)
	}
	s.Exec(t, "", grants)
	t.Cleanup(func() { _, _ = s.Run("", fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", user)) })
	return user, pw
}

// restoreAccount creates the restore account of docs/yesterday-restore.md:
// all privileges on the target and its two workspaces, nothing else.
func restoreAccount(t *testing.T, s *testdb.Server, db string) (user, pw string) {
	t.Helper()
	user = fmt.Sprintf("prs%d_%d", os.Getpid(), seq.Add(1))
	pw = "restore pw"
	like := strings.ReplaceAll(db, "_", `\_`)
	s.Exec(t, "", fmt.Sprintf("CREATE USER '%s'@'localhost' IDENTIFIED BY %s;"+
		" GRANT ALL PRIVILEGES ON `%s`.* TO '%s'@'localhost';"+
		" GRANT ALL PRIVILEGES ON `%s\\_restore`.* TO '%s'@'localhost';"+
		" GRANT ALL PRIVILEGES ON `%s\\_restore\\_old`.* TO '%s'@'localhost';",
		user, testdb.Quote(pw), like, user, like, user, like, user))
	t.Cleanup(func() {
		_, _ = s.Run("", fmt.Sprintf("DROP USER IF EXISTS '%s'@'localhost'; DROP DATABASE IF EXISTS `%s_restore`; DROP DATABASE IF EXISTS `%s_restore_old`", user, db, db))
	})
	return user, pw
}

// content is what a restore must give back of db, read with the server's
// own client: every table's rows in order, and the names of its views,
// triggers, routines and events.
func content(t *testing.T, s *testdb.Server, db string) string {
	t.Helper()
	var b strings.Builder
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema=%s AND table_type='BASE TABLE' ORDER BY table_name"
	for _, tbl := range lines(s.Exec(t, "", fmt.Sprintf(q, testdb.Quote(db)))) {
		n := len(lines(s.Exec(t, "", fmt.Sprintf("SELECT column_name FROM information_schema.columns WHERE table_schema=%s AND table_name=%s",
			testdb.Quote(db), testdb.Quote(tbl)))))
		order := make([]string, n)
		for i := range order {
			order[i] = fmt.Sprint(i + 1)
		}
		fmt.Fprintf(&b, "table %s\n", tbl)
		b.WriteString(s.Exec(t, db, fmt.Sprintf("SET SESSION sort_buffer_size = 64 * 1024 * 1024; SELECT * FROM %s ORDER BY %s", testdb.Ident(tbl), strings.Join(order, ","))))
	}
	for _, q := range []string{
		"SELECT CONCAT('view ', table_name) FROM information_schema.views WHERE table_schema=%s",
		"SELECT CONCAT('trigger ', trigger_name) FROM information_schema.triggers WHERE trigger_schema=%s",
		"SELECT CONCAT(LOWER(routine_type), ' ', routine_name) FROM information_schema.routines WHERE routine_schema=%s",
		"SELECT CONCAT('event ', event_name) FROM information_schema.events WHERE event_schema=%s",
	} {
		names := lines(s.Exec(t, "", fmt.Sprintf(q, testdb.Quote(db))))
		sort.Strings(names)
		for _, n := range names {
			b.WriteString(n + "\n")
		}
	}
	return b.String()
}

// describe is what must be identical between two loads into one server:
// the fingerprint and SHOW CREATE TABLE of every table.
func describe(t *testing.T, s *testdb.Server, db string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(s.Fingerprint(t, db))
	q := "SELECT table_name FROM information_schema.tables WHERE table_schema=%s AND table_type='BASE TABLE' ORDER BY table_name"
	for _, tbl := range lines(s.Exec(t, "", fmt.Sprintf(q, testdb.Quote(db)))) {
		b.WriteString(s.Exec(t, db, "SHOW CREATE TABLE "+testdb.Ident(tbl)))
	}
	return strings.ReplaceAll(b.String(), "\r", "")
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// diff shows the first lines where two texts differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	n := 0
	for i := 0; i < max(len(w), len(g)) && n < 10; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d\n  want %.200q\n  got  %.200q\n", i+1, wl, gl)
			n++
		}
	}
	return b.String()
}

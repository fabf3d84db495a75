package restore

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/backupd/backupd/pkg/storage"
)

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashChildEnv); spec != "" {
		os.Exit(crashChild(spec))
	}
	os.Exit(testdb.Main(m))
}

const fixturePath = "../../testdata/fixture.sql"

var codec = catalog.Codec{}

// testLog writes the restore's log into the test's output.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// at is a snapshot time on 2026-03-14, the "yesterday" of now.
func at(hh, mm int) time.Time { return time.Date(2026, 3, 14, hh, mm, 0, 0, time.UTC) }

var now = time.Date(2026, 3, 15, 10, 0, 0, 0, time.UTC)

// definerFixture is the fixture with every view, trigger, routine and
// event defined by user.
func definerFixture(t *testing.T, user string) string {
	t.Helper()
	b, err := os.ReadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^(\s*)CREATE (VIEW|TRIGGER|PROCEDURE|FUNCTION|EVENT) `)
	out := re.ReplaceAllString(string(b), "${1}CREATE DEFINER="+user+" ${2} ")
	if n := strings.Count(out, "DEFINER="); n != 5 {
		t.Fatalf("fixture rewrite gave %d DEFINER clauses, want 5", n)
	}
	return out
}

// sourceWithForeignDefiners makes a database like production's: the
// fixture, with its objects defined by a user that is dropped again
// before the test goes on, as it does not exist on the restoring side.
func sourceWithForeignDefiners(t *testing.T, srv *testdb.Server) (db, user string) {
	t.Helper()
	src := srv.NewDatabase(t, "src")
	prod := fmt.Sprintf("prod%d", time.Now().UnixNano()%1e9)
	srv.Exec(t, "", fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'x'; GRANT ALL ON `%s`.* TO '%s'@'%%'", prod, src, prod))
	srv.Exec(t, src, definerFixture(t, fmt.Sprintf("`%s`@`%%`", prod)))
	t.Cleanup(func() { _, _ = srv.Run("", fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", prod)) })
	return src, prod
}

// definers lists the distinct definers of db's objects.
func definers(t *testing.T, srv *testdb.Server, db string) []string {
	t.Helper()
	out := srv.Exec(t, "", fmt.Sprintf(`SELECT definer FROM information_schema.routines WHERE routine_schema='%[1]s'
		UNION SELECT definer FROM information_schema.views WHERE table_schema='%[1]s'
		UNION SELECT definer FROM information_schema.triggers WHERE trigger_schema='%[1]s'
		UNION SELECT definer FROM information_schema.events WHERE event_schema='%[1]s'`, db))
	return strings.Fields(out)
}

// backupdBackup takes a backup of db with backupd's own pipeline into the
// store at dir, named for time ts.
func backupdBackup(t *testing.T, srv *testdb.Server, db, dir string, ts time.Time) catalog.Entry {
	t.Helper()
	ctx := context.Background()
	store, err := storage.Open(ctx, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	job := backup.Job{
		Dumper: &dump.Dumper{Conn: srv.Root(db)},
		Store:  store,
		Codec:  codec,
		Time:   ts,
	}
	rep, err := job.Run(ctx)
	if err != nil {
		t.Fatalf("backup %s: %v", db, err)
	}
	return entry(t, dir, rep.Name)
}

// mysqldumpText returns the SQL of a dump of db made the way the legacy
// script did (plus routines and events, so that it compares whole).
func mysqldumpText(t *testing.T, srv *testdb.Server, db string) []byte {
	t.Helper()
	prog, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		t.Fatal(err)
	}
	cmd, err := srv.Root(db).Command(context.Background(), t.TempDir(), prog, "--single-transaction", "--quick", "--lock-tables=false",
		"--routines", "--events", db)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd.Cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// gzipBytes compresses like the gzip command does.
func gzipBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// put writes a file into the store at dir as a finished backup.
func put(t *testing.T, dir string, ts time.Time, f catalog.Format, data []byte) string {
	t.Helper()
	name := codec.Name(ts, f)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return name
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func entry(t *testing.T, dir, name string) catalog.Entry {
	t.Helper()
	st, err := os.Stat(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return catalog.Entry{Name: name, Size: st.Size(), ModTime: st.ModTime()}
}

// metaStore is a store whose listing carries metadata given by the test,
// as Drive properties would, whatever the local filesystem keeps.
type metaStore struct {
	*storage.Store
	meta map[string]map[string]string
}

func (m metaStore) List(ctx context.Context) ([]catalog.Entry, error) {
	es, err := m.Store.List(ctx)
	for i := range es {
		if md, ok := m.meta[es[i].Name]; ok {
			es[i].Meta = md
		}
	}
	return es, err
}

func openStore(t *testing.T, dir string, meta map[string]map[string]string) Store {
	t.Helper()
	s, err := storage.Open(context.Background(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if meta == nil {
		return s
	}
	return metaStore{Store: s, meta: meta}
}

// limitedUser is the app's own user: all privileges on the target and on
// the restore's workspace databases, nothing else, no SUPER.
func limitedUser(t *testing.T, srv *testdb.Server, target string) mariadb.Conn {
	t.Helper()
	const pw = "app-pw-42"
	user := srv.NewUser(t, target, pw)
	for _, db := range []string{target + StagingSuffix, target + StagingSuffix + AtticSuffix} {
		srv.Exec(t, "", fmt.Sprintf("GRANT ALL ON %s.* TO '%s'@'localhost'", grantPattern(db), user))
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS "+sqltext.Ident(db)) })
	}
	return mariadb.Conn{Socket: srv.Socket, User: user, Password: pw, Database: target}
}

func databaseExists(t *testing.T, srv *testdb.Server, db string) bool {
	t.Helper()
	out := srv.Exec(t, "", fmt.Sprintf("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name='%s'", db))
	return strings.TrimSpace(out) != "0"
}

func restoreNow(t *testing.T, r *Restorer, store Lister) (Report, error) {
	t.Helper()
	ch, err := Choose(context.Background(), store, codec, now, selector.DefaultPolicy(), "")
	if err != nil {
		t.Fatal(err)
	}
	return r.Restore(context.Background(), ch.Candidates)
}

// truncate returns the first half of b.
func truncate(b []byte) []byte { return append([]byte(nil), b[:len(b)/2]...) }

// corrupt returns b with one byte flipped in the middle.
func corrupt(b []byte) []byte {
	c := append([]byte(nil), b...)
	c[len(c)/2] ^= 0x55
	return c
}

// bothLoaders are the loaders a crafted backup is tried with.
var bothLoaders = []struct {
	name string
	ld   Loader
}{
	{"parallel", loader.Parallel{Parallel: 2}},
	{"client", loader.Client{}},
}

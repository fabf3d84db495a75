package backup

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// trickyPassword has every character an option file must escape.
const trickyPassword = `pa"ss\word #;'x-s3cr3tT0ken`

func localStore(t *testing.T, log *slog.Logger) (*storage.Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := storage.Open(context.Background(), dir, log)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

func listNames(t *testing.T, s *storage.Store) []string {
	t.Helper()
	entries, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	slices.Sort(names)
	return names
}

// argvRecorder wraps the real dump program: it records its own command line
// and the mode of the option file it was given, then execs the real tool.
func argvRecorder(t *testing.T, dir string) string {
	t.Helper()
	real, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		testdb.Unavailable(t, err)
	}
	p := filepath.Join(dir, "recording-dump")
	script := fmt.Sprintf(`#!/bin/sh
tr '\0' '\n' < /proc/$$/cmdline > %[1]s/argv
tr '\0' '\n' < /proc/$$/environ > %[1]s/environ
for a in "$@"; do
  case "$a" in --defaults-extra-file=*) stat -L -c %%a "${a#--defaults-extra-file=}" > %[1]s/mode ;; esac
done
exec %[2]s "$@"
`, dir, real)
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRoundTrip(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	user := srv.NewUser(t, src, trickyPassword)
	// Routines defined by another user can only be dumped with read access
	// to mysql.proc; production grants the same.
	srv.Exec(t, "", fmt.Sprintf("GRANT SELECT ON mysql.proc TO '%s'@'localhost'", user))

	// Secrets in backupd's own environment do not reach the dump program's.
	t.Setenv("DB_PASSWORD", trickyPassword)
	t.Setenv("RCLONE_CONFIG_GDRIVE_SERVICE_ACCOUNT_CREDENTIALS", `{"private_key": "s3cr3tT0ken"}`)
	t.Setenv("FLY_YESTERDAY_RESTART_TOKEN", "s3cr3tT0ken")

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, dir := localStore(t, log)
	rec := t.TempDir()
	at := time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC)
	job := Job{
		Dumper: &dump.Dumper{Program: argvRecorder(t, rec), Conn: mariadb.Conn{Socket: srv.Socket, User: user, Password: trickyPassword, Database: src}, Log: log},
		Store:  store,
		Time:   at,
		Log:    log,
	}
	rep, err := job.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Name, "db-backup-20261126-030000.sql.zst"; got != want {
		t.Errorf("Name = %s, want %s", got, want)
	}
	if got := listNames(t, store); !slices.Equal(got, []string{rep.Name}) {
		t.Errorf("remote holds %v, want only %s", got, rep.Name)
	}

	// The password is in no argument and no log line; the option file was private.
	argv, err := os.ReadFile(filepath.Join(rec, "argv"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(argv), "s3cr3tT0ken") || !strings.Contains(string(argv), "--defaults-extra-file=") {
		t.Errorf("dump argv leaks the password or lacks the option file:\n%s", argv)
	}
	environ, err := os.ReadFile(filepath.Join(rec, "environ"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(environ), "s3cr3tT0ken") || !strings.Contains(string(environ), "PATH=") {
		t.Errorf("dump environment holds a secret (or is empty):\n%s", environ)
	}
	if mode, _ := os.ReadFile(filepath.Join(rec, "mode")); strings.TrimSpace(string(mode)) != "600" {
		t.Errorf("option file mode = %q, want 600", mode)
	}
	if strings.Contains(logs.String(), "s3cr3tT0ken") {
		t.Errorf("a log line holds the password:\n%s", logs.String())
	}

	// The listing carries the checksum, and it matches the stored bytes.
	l := catalog.Codec{}.Scan(mustList(t, store), at)
	if len(l.Backups) != 1 {
		t.Fatalf("listing = %+v", l)
	}
	b := l.Backups[0]
	if b.SHA256 != rep.SHA256 || b.RawSize != rep.RawBytes || b.Size != rep.StoredBytes {
		t.Errorf("recorded %+v, report %+v", b, rep)
	}
	raw, err := os.ReadFile(filepath.Join(dir, rep.Name))
	if err != nil {
		t.Fatal(err)
	}
	chk, err := dump.Check(bytes.NewReader(raw), nil)
	if err != nil {
		t.Fatal(err)
	}
	if chk.SHA256 != rep.SHA256 {
		t.Errorf("stored sha256 %s, reported %s", chk.SHA256, rep.SHA256)
	}

	// Load into a fresh database with the mariadb client and compare.
	dst := srv.NewDatabase(t, "dst")
	r, _, err := dump.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	sql, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	srv.Exec(t, dst, string(sql))
	if got, want := srv.Fingerprint(t, dst), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs:\n--- restored\n%s\n--- source\n%s", got, want)
	}
}

func mustList(t *testing.T, s *storage.Store) []catalog.Entry {
	t.Helper()
	e, err := s.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func fakeDump(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fake-dump")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestFailuresPublishNothing runs failing backups against a remote that
// already holds a backup and a foreign file, and checks that each fails with
// a clear message and leaves the remote exactly as it was.
func TestFailuresPublishNothing(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "fail")
	srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v LONGTEXT); INSERT INTO t SELECT seq, REPEAT('x', 1000) FROM seq_1_to_2000")
	user := srv.NewUser(t, db, trickyPassword)
	realDump, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	store, dir := localStore(t, log)
	existing := "db-backup-20261125-030000.sql.zst"
	for _, f := range []string{existing, "notes.txt"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("keep me"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := listNames(t, store)

	half := `echo "CREATE TABLE t (id int);"; i=0; while [ $i -lt 20000 ]; do echo "INSERT INTO t VALUES ($i);"; i=$((i+1)); done; `
	tests := []struct {
		name string
		prog string
		conn mariadb.Conn
		want string
	}{
		{"half a dump then exit 1", fakeDump(t, half+`echo "mariadb-dump: Error 2013: Lost connection to server" >&2; exit 1`), srv.Root(db), "Lost connection"},
		{"killed by a signal", fakeDump(t, half+`kill -KILL $$`), srv.Root(db), "signal: killed"},
		{"exit 0 without the trailer", fakeDump(t, half), srv.Root(db), "does not end with"},
		{"unreachable server", realDump, mariadb.Conn{Host: "127.0.0.1", Port: closedPort(t), User: user, Password: trickyPassword, Database: db}, "connection refused"},
		{"wrong password", realDump, mariadb.Conn{Socket: srv.Socket, User: user, Password: "wrong", Database: db}, "Access denied"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := Job{
				Dumper: &dump.Dumper{Program: tt.prog, Conn: tt.conn, Log: log},
				Store:  store,
				Time:   time.Date(2026, 11, 26, 4, i, 0, 0, time.UTC),
				Log:    log,
			}
			_, err := job.Run(context.Background())
			if err == nil {
				t.Fatal("backup succeeded, want failure")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
			if got := listNames(t, store); !slices.Equal(got, before) {
				t.Errorf("remote holds %v after a failed backup, want %v", got, before)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, existing)); string(b) != "keep me" {
				t.Errorf("existing backup changed: %q", b)
			}
		})
	}
	if strings.Contains(logs.String(), "s3cr3tT0ken") {
		t.Errorf("a log line holds the password:\n%s", logs.String())
	}
}

// TestUploadFailureStopsDump checks the other direction: when the upload
// fails, the dump is stopped and the error names the upload.
func TestUploadFailureStopsDump(t *testing.T) {
	job := Job{
		Dumper: &dump.Dumper{Program: fakeDump(t, `exec od -An -x /dev/urandom`), Conn: testdb.Get(t).Root("app")},
		Store:  failingPutter{},
		Time:   time.Date(2026, 11, 26, 5, 0, 0, 0, time.UTC),
	}
	done := make(chan error, 1)
	go func() { _, err := job.Run(context.Background()); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "remote quota exceeded") {
			t.Errorf("err = %v, want the upload's error", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after the upload failed")
	}
}

type failingPutter struct{}

func (failingPutter) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	io.CopyN(io.Discard, r, 1<<20)
	return catalog.Entry{}, fmt.Errorf("upload %s: remote quota exceeded", name)
}

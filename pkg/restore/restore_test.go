package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/sqltext"
)

// prefill gives the target an existing database to replace: the fixture
// (so that named foreign keys, triggers and routines of the same names
// exist on both sides) plus objects the backup does not have.
func prefill(t *testing.T, srv *testdb.Server, target string) {
	t.Helper()
	srv.LoadFile(t, target, fixturePath)
	srv.Exec(t, target, "CREATE TABLE stale (id INT PRIMARY KEY); INSERT INTO stale VALUES (1);"+
		" CREATE VIEW stale_view AS SELECT id FROM stale;"+
		" CREATE PROCEDURE stale_proc() SELECT 1;"+
		" UPDATE users SET name = 'changed since the backup' WHERE id = 1")
}

func TestRestoreBackupdRoundTrip(t *testing.T) {
	srv := testdb.Get(t)
	src, prod := sourceWithForeignDefiners(t, srv)
	dir := t.TempDir()
	e := backupdBackup(t, srv, src, dir, at(3, 0))
	// Backups of other hours, to choose from.
	backupdBackup(t, srv, src, dir, at(5, 0))
	want := srv.Fingerprint(t, src)
	if got, want := definers(t, srv, src), []string{prod + "@%"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("source definers %v, want %v", got, want)
	}
	srv.Exec(t, "", fmt.Sprintf("DROP USER '%s'@'%%'", prod))

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	conn := limitedUser(t, srv, target)

	// The dump as it is cannot be loaded by the app's user: its objects
	// belong to a user that does not exist here, and only SUPER may
	// create objects for another user.
	scratch := srv.NewDatabase(t, "scratch")
	srv.Exec(t, "", fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'localhost'", scratch, conn.User))
	rc, err := openStore(t, dir, nil).Open(context.Background(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	sqlText, _, err := dump.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	// The mariadb client alone, as the legacy script ran it (the loaders
	// take DEFINERs out).
	client, err := conn.Command(context.Background(), t.TempDir(), testdb.Client(), "--", scratch)
	if err != nil {
		t.Fatal(err)
	}
	client.Cmd.Stdin = sqlText
	err = client.Run()
	rc.Close()
	var ce *mariadb.ToolError
	if !errors.As(err, &ce) || ce.Code != 1227 {
		t.Fatalf("loading the unfiltered dump as the app's user: err = %v, want error 1227 (needs SUPER)", err)
	}

	files := t.TempDir()
	r := &Restorer{
		Store:        openStore(t, dir, nil),
		Conn:         conn,
		SnapshotFile: filepath.Join(files, "snapshot.txt"),
		StatusFile:   filepath.Join(files, "status.json"),
		Log:          testLog(t),
	}
	start := time.Now()
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.Fingerprint(t, target); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
	if got, want := rep.Backup.Name, e.Name; got != want {
		t.Errorf("restored %s, want %s", got, want)
	}
	if got, want := rep.Tables, 6; got != want {
		t.Errorf("report says %d tables, want %d", got, want)
	}
	for _, d := range definers(t, srv, target) {
		if !strings.HasPrefix(d, conn.User+"@") {
			t.Errorf("restored object has definer %s, want the restoring user %s", d, conn.User)
		}
	}
	for _, db := range []string{target + StagingSuffix, target + StagingSuffix + AtticSuffix} {
		if databaseExists(t, srv, db) {
			t.Errorf("workspace database %s was left behind", db)
		}
	}

	snap, err := os.ReadFile(r.SnapshotFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(snap), "2026-03-14 03:00:00 UTC\n"; got != want {
		t.Errorf("snapshot file = %q, want %q", got, want)
	}
	if st, err := os.Stat(r.SnapshotFile); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("snapshot file mode: %v, %v", st.Mode(), err)
	}
	raw, err := os.ReadFile(r.StatusFile)
	if err != nil {
		t.Fatal(err)
	}
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		t.Fatalf("status file is not JSON: %v\n%s", err, raw)
	}
	if st.Backup != e.Name || st.Snapshot != "2026-03-14 03:00:00 UTC" || !st.SnapshotTime.Equal(at(3, 0)) ||
		st.Database != target || st.Tables != 6 || st.StoredBytes != e.Size || st.RawBytes <= st.StoredBytes ||
		len(st.SHA256) != 64 || st.RestoredAt.Before(start.Add(-time.Second)) || st.DurationSeconds <= 0 {
		t.Errorf("status file does not describe the restore:\n%s", raw)
	}
	leftovers, _ := filepath.Glob(filepath.Join(files, ".*"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left next to the snapshot file: %v", leftovers)
	}
}

func TestRestoreLegacyGzip(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "legacy")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	name := put(t, dir, at(3, 0), catalog.Gzip, gzipBytes(t, mysqldumpText(t, srv, src)))

	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t)}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backup.Name != name || rep.Compression != dump.CompressionGzip {
		t.Errorf("restored %s (%s), want %s (gzip)", rep.Backup.Name, rep.Compression, name)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestRestoreFallsBack offers backups that are broken in every way a
// backup can be, ranked before a good one, and checks that each is
// rejected and the good one restored.
func TestRestoreFallsBack(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	good := backupdBackup(t, srv, src, dir, at(0, 0))
	goodBytes := read(t, dir, good.Name)
	sqlText := mysqldumpText(t, srv, src)

	corrupted := put(t, dir, at(3, 0), catalog.Zstd, corrupt(goodBytes))
	truncated := put(t, dir, at(2, 0), catalog.Zstd, truncate(goodBytes))
	badSQL := put(t, dir, at(4, 0), catalog.Gzip, gzipBytes(t, []byte("CREATE TABLE broken (;\n-- Dump completed on 2026-03-14\n")))
	mismatch := put(t, dir, at(1, 0), catalog.Zstd, goodBytes)
	otherDB := put(t, dir, at(5, 0), catalog.Gzip, gzipBytes(t, append([]byte("USE `elsewhere`;\n"), sqlText...)))
	meta := map[string]map[string]string{mismatch: catalog.Meta(strings.Repeat("ab", 32), int64(len(sqlText)))}

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	conn := limitedUser(t, srv, target)
	files := t.TempDir()
	r := &Restorer{Store: openStore(t, dir, meta), Conn: conn, SnapshotFile: filepath.Join(files, "snapshot"), Log: testLog(t)}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backup.Name != good.Name {
		t.Errorf("restored %s, want %s", rep.Backup.Name, good.Name)
	}
	wantSkipped := []struct {
		name string
		is   error // nil: any error
	}{
		{corrupted, nil}, {truncated, nil}, {badSQL, nil}, {mismatch, ErrChecksum}, {otherDB, sqltext.ErrDatabaseStatement},
	}
	if len(rep.Skipped) != len(wantSkipped) {
		t.Fatalf("skipped %v, want %d backups", rep.Skipped, len(wantSkipped))
	}
	for i, w := range wantSkipped {
		s := rep.Skipped[i]
		if s.Backup != w.name || s.Err == nil || (w.is != nil && !errors.Is(s.Err, w.is)) {
			t.Errorf("skipped[%d] = %s: %v; want %s (%v)", i, s.Backup, s.Err, w.name, w.is)
		}
	}
	var me *mysql.MySQLError
	if !errors.As(rep.Skipped[2].Err, &me) || me.Number != 1064 {
		t.Errorf("the broken SQL was rejected with %v, want the server's syntax error 1064", rep.Skipped[2].Err)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
	if out := srv.Exec(t, "", "SHOW DATABASES LIKE 'elsewhere'"); strings.TrimSpace(out) != "" {
		t.Errorf("the dump that switches databases wrote outside staging")
	}
	snap, _ := os.ReadFile(r.SnapshotFile)
	if got, want := string(snap), "2026-03-14 00:00:00 UTC\n"; got != want {
		t.Errorf("snapshot file = %q, want %q", got, want)
	}
}

func TestRestoreAllUnusableLeavesTargetAlone(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'backup')")
	dir := t.TempDir()
	e := backupdBackup(t, srv, src, dir, at(9, 0))
	b := read(t, dir, e.Name)
	if err := os.Remove(filepath.Join(dir, e.Name)); err != nil {
		t.Fatal(err)
	}
	put(t, dir, at(3, 0), catalog.Zstd, corrupt(b))
	put(t, dir, at(4, 0), catalog.Zstd, truncate(b))

	target := srv.NewDatabase(t, "app")
	prefill(t, srv, target)
	before := srv.Fingerprint(t, target)
	conn := limitedUser(t, srv, target)
	files := t.TempDir()
	snapshot := filepath.Join(files, "snapshot")
	if err := os.WriteFile(snapshot, []byte("2026-03-13 03:00:00 UTC\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, SnapshotFile: snapshot, StatusFile: filepath.Join(files, "status"), Log: testLog(t)}
	_, err := restoreNow(t, r, r.Store)
	if err == nil || !strings.Contains(err.Error(), "no usable backup among 2 candidates") {
		t.Fatalf("err = %v, want no usable backup", err)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Errorf("target changed by a failed restore\n--- got\n%s\n--- want\n%s", got, before)
	}
	for _, db := range []string{target + StagingSuffix, target + StagingSuffix + AtticSuffix} {
		if databaseExists(t, srv, db) {
			t.Errorf("workspace database %s was left behind", db)
		}
	}
	if snap, _ := os.ReadFile(snapshot); string(snap) != "2026-03-13 03:00:00 UTC\n" {
		t.Errorf("snapshot file changed by a failed restore: %q", snap)
	}
	if _, err := os.Stat(r.StatusFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("status file written by a failed restore: %v", err)
	}
}

// TestRestoreUndoesFailedSwap makes creating triggers in the target fail
// after the tables have moved (the user may create them in staging but not
// in the target), and checks that the previous database is put back.
func TestRestoreUndoesFailedSwap(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	backupdBackup(t, srv, src, dir, at(3, 0))

	target := srv.NewDatabase(t, "app")
	srv.Exec(t, target, "CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(50)); INSERT INTO users VALUES (1, 'old@example.com');"+
		" CREATE TABLE old_only (id INT PRIMARY KEY); CREATE VIEW old_view AS SELECT email FROM users;"+
		" CREATE PROCEDURE add_order(IN x INT) SELECT x; CREATE FUNCTION old_fn() RETURNS INT RETURN 1")
	conn := limitedUser(t, srv, target)
	// The old routines belong to the restoring user, so it can read them.
	srv.Exec(t, target, fmt.Sprintf("DROP PROCEDURE add_order; DROP FUNCTION old_fn;"+
		" CREATE DEFINER='%[1]s'@'localhost' PROCEDURE add_order(IN x INT) SELECT x;"+
		" CREATE DEFINER='%[1]s'@'localhost' FUNCTION old_fn() RETURNS INT RETURN 1", conn.User))
	// The grant goes once the backup has loaded: a missing one is found
	// before anything starts.
	revokeAt(t, srv, "verified", fmt.Sprintf("REVOKE TRIGGER ON `%s`.* FROM '%s'@'localhost'", target, conn.User))
	before := srv.Fingerprint(t, target)

	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, SnapshotFile: filepath.Join(t.TempDir(), "snapshot"), Log: testLog(t)}
	_, err := restoreNow(t, r, r.Store)
	var se *swapError
	if !errors.As(err, &se) || !se.rolledBack {
		t.Fatalf("err = %v, want a swap error that was undone", err)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Errorf("target not put back after a failed swap\n--- got\n%s\n--- want\n%s", got, before)
	}
	for _, db := range []string{target + StagingSuffix, target + StagingSuffix + AtticSuffix} {
		if databaseExists(t, srv, db) {
			t.Errorf("workspace database %s was left behind", db)
		}
	}
	if _, err := os.Stat(r.SnapshotFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot file written by a failed restore: %v", err)
	}
}

func TestRestoreNamesMissingGrant(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY)")
	dir := t.TempDir()
	backupdBackup(t, srv, src, dir, at(3, 0))
	target := srv.NewDatabase(t, "app")
	user := srv.NewUser(t, target, "pw")
	conn := mariadb.Conn{Socket: srv.Socket, User: user, Password: "pw", Database: target}
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t)}
	_, err := restoreNow(t, r, r.Store)
	esc := strings.ReplaceAll(target, "_", "\\_")
	grants := []string{
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s\\_restore`.* TO '%s'@'localhost';", esc, user),
		fmt.Sprintf("GRANT ALL PRIVILEGES ON `%s\\_restore\\_old`.* TO '%s'@'localhost';", esc, user),
	}
	for _, want := range grants {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("err = %v\nwant it to name the grant %s", err, want)
		}
	}
	// The grants it names are the ones that make the restore work.
	for _, g := range grants {
		srv.Exec(t, "", strings.TrimSuffix(g, ";"))
	}
	t.Cleanup(func() {
		_, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+target+"_restore`; DROP DATABASE IF EXISTS `"+target+"_restore_old`")
	})
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatalf("restore with the named grants: %v", err)
	}
}

// revokeAt runs sql as root when the restore reaches point.
func revokeAt(t *testing.T, srv *testdb.Server, point, sql string) {
	t.Helper()
	pause = func(p string) {
		if p == point {
			srv.Exec(t, "", sql)
		}
	}
	t.Cleanup(func() { pause = nil })
}

func TestRestoreKeepsForeignStagingDatabase(t *testing.T) {
	srv := testdb.Get(t)
	dir := t.TempDir()
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY)")
	backupdBackup(t, srv, src, dir, at(3, 0))
	target := srv.NewDatabase(t, "app")
	other := srv.NewDatabase(t, "precious")
	srv.Exec(t, other, "CREATE TABLE keep_me (id INT)")
	r := &Restorer{Store: openStore(t, dir, nil), Conn: srv.Root(target), StagingDB: other, Log: testLog(t)}
	_, err := restoreNow(t, r, r.Store)
	if err == nil || !strings.Contains(err.Error(), "is not a workspace of this restore") {
		t.Fatalf("err = %v, want a refusal to use %s", err, other)
	}
	if out := srv.Exec(t, other, "SHOW TABLES"); strings.TrimSpace(out) != "keep_me" {
		t.Errorf("database %s was changed: tables %q", other, out)
	}
}

func TestRestoreWaitsForLateDatabase(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'late')")
	store := t.TempDir()
	put(t, store, at(3, 0), catalog.Gzip, gzipBytes(t, mysqldumpText(t, srv, src)))

	// A database this test starts itself, a little after the restore
	// begins waiting for it; the socket path is known beforehand.
	dir := filepath.Join(t.TempDir(), "db")
	sock := filepath.Join(dir, "mysqld.sock")
	t.Cleanup(func() { _ = exec.Command(testdb.Script(), "stop", dir).Run() })
	up := make(chan error, 1)
	var upAt time.Time
	go func() {
		time.Sleep(time.Second)
		out, err := exec.Command(testdb.Script(), "start", dir).CombinedOutput()
		upAt = time.Now()
		if err != nil {
			err = fmt.Errorf("%v: %s", err, out)
		}
		up <- err
	}()

	start := time.Now()
	r := &Restorer{
		Store: openStore(t, store, nil),
		Conn:  mariadb.Conn{Socket: sock, User: "root", Database: "late_db"},
		Wait:  3 * time.Minute,
		Log:   testLog(t),
	}
	_, err := restoreNow(t, r, r.Store)
	if serr := <-up; serr != nil {
		testdb.Unavailable(t, serr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !upAt.After(start) {
		t.Fatalf("the database was up before the restore started waiting")
	}
	late := &testdb.Server{Socket: sock}
	if got := strings.TrimSpace(late.Exec(t, "late_db", "SELECT v FROM t")); got != "late" {
		t.Errorf("restored row = %q, want %q", got, "late")
	}
}

func TestRestoreGivesUpWaiting(t *testing.T) {
	r := &Restorer{
		Store: openStore(t, t.TempDir(), nil),
		Conn:  mariadb.Conn{Socket: filepath.Join(t.TempDir(), "none.sock"), User: "app", Password: "secret-pw", Database: "app"},
		Wait:  time.Second,
		Log:   testLog(t),
	}
	b, _ := codec.Parse(codec.Name(at(3, 0), catalog.Zstd))
	_, err := r.Restore(context.Background(), []catalog.Backup{b})
	if err == nil || !strings.Contains(err.Error(), "did not answer within 1s") {
		t.Fatalf("err = %v, want a wait timeout", err)
	}
	if strings.Contains(err.Error(), "secret-pw") {
		t.Errorf("error shows the password: %v", err)
	}
}

func TestChoose(t *testing.T) {
	dir := t.TempDir()
	put(t, dir, at(3, 0), catalog.Zstd, []byte("x"))
	put(t, dir, at(4, 0), catalog.Gzip, []byte("x"))
	put(t, dir, at(2, 0), catalog.Zstd, nil)
	if err := os.WriteFile(filepath.Join(dir, codec.Name(at(3, 30), catalog.Zstd)+catalog.PartialSuffix), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	store := openStore(t, dir, nil)
	ctx := context.Background()

	c, err := Choose(ctx, store, codec, now, selector.DefaultPolicy(), "")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, b := range c.Candidates {
		names = append(names, b.Name)
	}
	if got, want := strings.Join(names, " "), "db-backup-20260314-030000.sql.zst db-backup-20260314-040000.sql.gz"; got != want {
		t.Errorf("candidates %s, want %s", got, want)
	}

	c, err = Choose(ctx, store, codec, now, selector.DefaultPolicy(), "db-backup-20260314-040000.sql.gz")
	if err != nil || c.Backup.Name != "db-backup-20260314-040000.sql.gz" || len(c.Candidates) != 1 {
		t.Errorf("Choose by name = %v, %v", c.Candidates, err)
	}
	for _, name := range []string{"db-backup-20260314-050000.sql.zst", "db-backup-20260314-020000.sql.zst", "db-backup-20260314-033000.sql.zst.partial"} {
		if _, err := Choose(ctx, store, codec, now, selector.DefaultPolicy(), name); !errors.Is(err, selector.ErrNoBackup) {
			t.Errorf("Choose(%s) err = %v, want ErrNoBackup", name, err)
		}
	}
	if _, err := Choose(ctx, openStore(t, t.TempDir(), nil), codec, now, selector.DefaultPolicy(), ""); !errors.Is(err, selector.ErrNoBackup) {
		t.Errorf("Choose on an empty store: err = %v, want ErrNoBackup", err)
	}
}

// TestRestoreUndoesFailedRename makes the RENAME itself fail (the user may
// not alter the target's tables) after the old views and triggers were
// dropped, and checks that they are put back.
func TestRestoreUndoesFailedRename(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY)")
	dir := t.TempDir()
	backupdBackup(t, srv, src, dir, at(3, 0))

	target := srv.NewDatabase(t, "app")
	srv.LoadFile(t, target, fixturePath)
	conn := limitedUser(t, srv, target)
	revokeAt(t, srv, "verified", fmt.Sprintf("REVOKE ALTER ON `%s`.* FROM '%s'@'localhost'", target, conn.User))
	before := srv.Fingerprint(t, target)

	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t)}
	_, err := restoreNow(t, r, r.Store)
	var se *swapError
	if !errors.As(err, &se) || !se.rolledBack || mariadb.Code(err) != mariadb.ErTableAccessDenied {
		t.Fatalf("err = %v, want an undone swap error caused by the denied rename", err)
	}
	if got := srv.Fingerprint(t, target); got != before {
		t.Errorf("target not put back after a failed rename\n--- got\n%s\n--- want\n%s", got, before)
	}
}

func TestRestoreLocksTheDatabase(t *testing.T) {
	srv := testdb.Get(t)
	dir := t.TempDir()
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY)")
	backupdBackup(t, srv, src, dir, at(3, 0))
	target := srv.NewDatabase(t, "app")

	// Another restore of the same database holds the lock.
	db, err := openDB(srv.Root(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	holder, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	var got int
	if err := holder.QueryRowContext(t.Context(), "SELECT GET_LOCK(?, 0)", "yesterday-restore "+target).Scan(&got); err != nil || got != 1 {
		t.Fatalf("take the lock: %d, %v", got, err)
	}
	r := &Restorer{Store: openStore(t, dir, nil), Conn: srv.Root(target), Log: testLog(t)}
	if _, err := restoreNow(t, r, r.Store); !errors.Is(err, ErrRestoreRunning) {
		t.Fatalf("err = %v, want ErrRestoreRunning", err)
	}
	if _, err := holder.ExecContext(t.Context(), "DO RELEASE_LOCK(?)", "yesterday-restore "+target); err != nil {
		t.Fatal(err)
	}
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatalf("restore after the lock was released: %v", err)
	}
}

// TestRestoreDumpThatAltersItsDatabase restores a dump in which
// mariadb-dump names the production database: objects defined under
// another database collation are wrapped in "ALTER DATABASE `src` ...",
// which the app's user may not run on a database it has no rights on.
func TestRestoreDumpThatAltersItsDatabase(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.Exec(t, src, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, 'x');"+
		" CREATE PROCEDURE p() SELECT v FROM t;"+
		" CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = UPPER(NEW.v);"+
		" ALTER DATABASE `"+src+"` CHARACTER SET latin1 COLLATE latin1_swedish_ci")
	dir := t.TempDir()
	e := backupdBackup(t, srv, src, dir, at(3, 0))
	rc, err := openStore(t, dir, nil).Open(context.Background(), e.Name)
	if err != nil {
		t.Fatal(err)
	}
	sqlText, _, err := dump.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	if _, err := io.Copy(&text, sqlText); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if !strings.Contains(text.String(), "ALTER DATABASE `"+src+"`") {
		t.Fatalf("the dump does not name its database; the test needs it to")
	}

	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Log: testLog(t)}
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatal(err)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, src); got != want {
		t.Errorf("restored database differs from the source\n--- got\n%s\n--- want\n%s", got, want)
	}
}

// TestRestoreLockOfAnEndingSession: the lock is held by a session that
// ends a moment after the restore asks for it, as a killed restore's
// session ends on the server a moment after its process died. The restore
// waits that moment instead of reporting another restore running.
func TestRestoreLockOfAnEndingSession(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	db, err := openDB(srv.Root(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ending, err := openDB(srv.Root(""), nil)
	if err != nil {
		t.Fatal(err)
	}
	holder, err := ending.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got int
	if err := holder.QueryRowContext(t.Context(), "SELECT GET_LOCK(?, 0)", "yesterday-restore "+target).Scan(&got); err != nil || got != 1 {
		t.Fatalf("take the lock: %d, %v", got, err)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		holder.Close()
		ending.Close() // the session ends with its connection
	}()
	unlock, err := namedLock(t.Context(), db, target)
	if err != nil {
		t.Fatalf("lock after its holder ended: %v", err)
	}
	unlock()
}

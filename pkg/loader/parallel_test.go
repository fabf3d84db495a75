package loader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
)

func TestMain(m *testing.M) { os.Exit(testdb.Main(m)) }

// dumpSQL dumps db with the real dump program, through the same path as a
// backup (zstd, then NewReader), and returns the SQL text.
func dumpSQL(t *testing.T, srv *testdb.Server, db string) []byte {
	t.Helper()
	var z bytes.Buffer
	d := &dump.Dumper{Conn: srv.Root(db), TempDir: t.TempDir()}
	if _, err := d.Dump(context.Background(), &z, nil); err != nil {
		t.Fatalf("dump %s: %v", db, err)
	}
	r, _, err := dump.NewReader(&z)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sql, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return sql
}

// runDump runs the dump program with the backup's flags and extra ones,
// the password in an option file.
func runDump(t *testing.T, c mariadb.Conn, extra ...string) []byte {
	t.Helper()
	prog, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		testdb.Unavailable(t, err)
	}
	args := append(append([]string(nil), dump.Flags...), extra...)
	cmd, err := c.Command(context.Background(), t.TempDir(), prog, args...)
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

func load(t *testing.T, sql []byte, c mariadb.Conn, opts loader.Options) loader.Stats {
	t.Helper()
	st, err := loader.Load(context.Background(), bytes.NewReader(sql), c, opts)
	if err != nil {
		t.Fatalf("load into %s with %d connections: %v", c.Database, opts.Parallel, err)
	}
	return st
}

func TestLoadFixtureMatchesClient(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	sql := dumpSQL(t, srv, src)

	viaClient := srv.NewDatabase(t, "client")
	srv.Exec(t, viaClient, string(sql))
	want := srv.Fingerprint(t, viaClient)
	if want != srv.Fingerprint(t, src) {
		t.Fatalf("the mariadb client's load differs from the source: the comparison is meaningless")
	}

	for _, n := range []int{1, 4} {
		db := srv.NewDatabase(t, "load")
		st := load(t, sql, srv.Root(db), loader.Options{Parallel: n})
		if got := srv.Fingerprint(t, db); got != want {
			t.Errorf("parallel %d: fingerprint differs from the mariadb client's load\n got: %s\nwant: %s", n, got, want)
		}
		if st.Tables != 6 || st.Inserts != 7 || st.Bytes != int64(len(sql)) {
			t.Errorf("parallel %d: stats %+v, want 6 tables, 7 inserts, %d bytes", n, st, len(sql))
		}
	}
}

// genText returns valid UTF-8 full of what trips up a splitter.
func genText(rng *rand.Rand, n int) string {
	parts := []string{"it's", `"quoted"`, `back\slash`, `\'`, `\\`, ";", ";;", "$$", "\n", "\r\n", "\t",
		"DELIMITER ;;", "\nDELIMITER $$\n", "-- not a comment", "# nor this", "/* nor */", "*/", "/*!40101 SET x */",
		"`tick`", "''", "héllo", "中文", "🧮", "\x1a", "NULL", "),(", "0x41"}
	var b strings.Builder
	for b.Len() < n {
		if rng.IntN(3) == 0 {
			b.WriteString(parts[rng.IntN(len(parts))])
		} else {
			b.WriteByte(byte('a' + rng.IntN(26)))
		}
	}
	return b.String()
}

func genBytes(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		switch rng.IntN(4) {
		case 0:
			b[i] = "\x00'\\\";\n\r\x1a`"[rng.IntN(9)]
		default:
			b[i] = byte(rng.UintN(256))
		}
	}
	return b
}

// nextRow writes what comes before row i when each INSERT holds every
// rows: the end of the last INSERT and the start of a new one (head), or
// a comma.
func nextRow(b *strings.Builder, i, every int, head string) {
	if i%every != 0 {
		b.WriteString(",")
		return
	}
	if i > 0 {
		b.WriteString(";\n")
	}
	b.WriteString(head)
}

// buildSource fills db with several tables of awkward rows and every kind
// of object mysqldump writes, made so that a loader getting the order or
// the session settings wrong gives a different fingerprint.
func buildSource(t *testing.T, srv *testdb.Server, db string, rows int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var b strings.Builder
	b.WriteString(`
CREATE TABLE parent (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  s VARCHAR(200) CHARACTER SET utf8mb4 NOT NULL,
  txt MEDIUMTEXT CHARACTER SET utf8mb4,
  b BLOB,
  d DECIMAL(14,4),
  ts TIMESTAMP(6) NULL,
  dt DATETIME
) ENGINE=InnoDB;
CREATE TABLE child (
  id INT NOT NULL PRIMARY KEY,
  parent_id INT NOT NULL,
  note TEXT,
  CONSTRAINT fk_child FOREIGN KEY (parent_id) REFERENCES parent(id)
) ENGINE=InnoDB;
CREATE TABLE plain_isam (
  id INT NOT NULL PRIMARY KEY,
  k INT NOT NULL,
  s TEXT,
  KEY (k)
) ENGINE=MyISAM;
CREATE TABLE audit (id INT AUTO_INCREMENT PRIMARY KEY, msg VARCHAR(100)) ENGINE=InnoDB;
CREATE TABLE ` + "`we;ird``name`" + ` (` + "`a b`" + ` INT) ENGINE=InnoDB;
`)
	for i := range rows {
		nextRow(&b, i, 200, "INSERT INTO parent (id, s, txt, b, d, ts, dt) VALUES ")
		id := i + 1
		if i == rows-1 {
			id = 0 // survives only with NO_AUTO_VALUE_ON_ZERO
		}
		fmt.Fprintf(&b, "(%d, X'%x', X'%x', X'%x', %d.%04d, '2026-03-29 0%d:30:00.%06d', '2026-10-25 02:%02d:00')",
			id, genText(rng, 1+rng.IntN(150)), genText(rng, rng.IntN(600)), genBytes(rng, rng.IntN(300)),
			rng.IntN(2000000)-1000000, rng.IntN(10000), rng.IntN(4), rng.IntN(1000000), rng.IntN(60))
	}
	b.WriteString(";\n")
	for i := range rows {
		nextRow(&b, i, 300, "INSERT INTO child VALUES ")
		fmt.Fprintf(&b, "(%d, %d, X'%x')", i+1, 1+rng.IntN(rows-1), genText(rng, rng.IntN(100)))
	}
	b.WriteString(";\n")
	for i := range rows {
		nextRow(&b, i, 500, "INSERT INTO plain_isam VALUES ")
		fmt.Fprintf(&b, "(%d, %d, X'%x')", i+1, rng.IntN(100), genText(rng, rng.IntN(80)))
	}
	b.WriteString(";\nINSERT INTO `we;ird``name` VALUES (1),(NULL);\n")
	b.WriteString(`
CREATE TRIGGER parent_audit AFTER INSERT ON parent FOR EACH ROW INSERT INTO audit (msg) VALUES (CONCAT('row ', NEW.id, ';'));
CREATE TRIGGER child_audit BEFORE UPDATE ON child FOR EACH ROW SET NEW.note = CONCAT(NEW.note, ' -- edited; ok');
CREATE VIEW b_view AS SELECT id, s FROM parent WHERE id % 2 = 0;
CREATE VIEW a_view AS SELECT COUNT(*) AS n FROM b_view;
CREATE SEQUENCE seq1 START WITH 100 INCREMENT BY 5;
SELECT NEXTVAL(seq1), NEXTVAL(seq1);
CREATE EVENT ev ON SCHEDULE EVERY 1 HOUR STARTS '2031-01-01 00:00:00' DISABLE DO DELETE FROM audit WHERE id < 0;
DELIMITER $$
CREATE PROCEDURE p_old_collation(IN x VARCHAR(10))
BEGIN
  -- a comment; with a semicolon
  SELECT CONCAT(x, '; done') AS r;
END$$
DELIMITER ;
`)
	b.WriteString("ALTER DATABASE `" + db + "` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\n")
	b.WriteString(`
DELIMITER $$
CREATE FUNCTION f_new(x INT) RETURNS INT DETERMINISTIC
BEGIN
  RETURN x * 2; /* twice; */
END$$
DELIMITER ;
`)
	srv.Exec(t, db, b.String())
}

// A generated database dumped with many INSERTs a table, loaded with 1, 2
// and 4 connections, gives what the mariadb client gives.
func TestLoadGeneratedParallel(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "gsrc")
	buildSource(t, srv, src, 3000)
	// Small INSERTs, so that each table's data is many statements that the
	// connections share.
	sql := runDump(t, srv.Root(src), "--net-buffer-length=16384", "--", src)
	for _, must := range []string{"INSERT INTO `parent`", "ALTER DATABASE", "DELIMITER ;;", "SETVAL", "/*!40000 ALTER TABLE `plain_isam` DISABLE KEYS */", "TRIGGER parent_audit", "VIEW `a_view`"} {
		if !bytes.Contains(sql, []byte(must)) {
			t.Fatalf("the dump lacks %q: the test would not cover it", must)
		}
	}
	if n := bytes.Count(sql, []byte("INSERT INTO `parent`")); n < 20 {
		t.Fatalf("only %d INSERTs for parent", n)
	}

	// A server time zone other than the dump's makes TIMESTAMP values
	// depend on each connection running the dump's SET TIME_ZONE.
	srv.Exec(t, "", "SET GLOBAL time_zone = '+05:00'")
	t.Cleanup(func() { srv.Exec(t, "", "SET GLOBAL time_zone = SYSTEM") })

	viaClient := srv.NewDatabase(t, "gclient")
	srv.Exec(t, viaClient, string(sql))
	want := srv.Fingerprint(t, viaClient)
	if srcPrint := srv.Fingerprint(t, src); want != srcPrint {
		t.Fatalf("the mariadb client's load differs from the source:\n%s\n%s", want, srcPrint)
	}
	// The dump switches the database's collation around the routine made
	// under the old one; the client runs that against the dumped database
	// (by name), the loader against its own, which gives the source's.
	collations := func(db string) string {
		return srv.Exec(t, "", fmt.Sprintf("SELECT routine_name, database_collation FROM information_schema.routines WHERE routine_schema='%s' ORDER BY 1;"+
			" SELECT default_collation_name FROM information_schema.schemata WHERE schema_name='%s'", db, db))
	}
	wantColl := collations(src)
	if !strings.Contains(wantColl, "utf8mb4_unicode_ci") || !strings.Contains(wantColl, "utf8mb4_general_ci") {
		t.Fatalf("routines are not under two collations: %s", wantColl)
	}
	sequence := func(db string) string {
		return srv.Exec(t, db, "SELECT next_not_cached_value, increment FROM seq1")
	}
	wantSeq := sequence(src)

	for _, n := range []int{1, 2, 4} {
		db := srv.NewDatabase(t, "gload")
		var raw, executed atomic.Int64
		st := load(t, sql, srv.Root(db), loader.Options{Parallel: n, Raw: &raw, Executed: &executed})
		if got := srv.Fingerprint(t, db); got != want {
			t.Errorf("parallel %d: fingerprint differs from the mariadb client's load\n got: %s\nwant: %s", n, got, want)
		}
		if got := collations(db); got != wantColl {
			t.Errorf("parallel %d: collations\n got %s\nwant %s", n, got, wantColl)
		}
		if got := sequence(db); got != wantSeq {
			t.Errorf("parallel %d: sequence %s, want %s", n, got, wantSeq)
		}
		if got := srv.Exec(t, db, "SELECT COUNT(*) FROM audit"); strings.TrimSpace(got) != "0" {
			t.Errorf("parallel %d: triggers fired on loaded rows: %s audit rows", n, got)
		}
		if raw.Load() != int64(len(sql)) || st.Bytes != int64(len(sql)) || executed.Load() == 0 || executed.Load() > raw.Load() {
			t.Errorf("parallel %d: counters raw %d, executed %d, stats %+v; dump is %d bytes", n, raw.Load(), executed.Load(), st, len(sql))
		}
		if st.Inserts < 30 || st.Skipped == 0 || st.Objects == 0 {
			t.Errorf("parallel %d: stats %+v", n, st)
		}
	}
}

// A dump made with --databases names its database; the load still goes
// into the database it is given, and refuses a dump of two.
func TestLoadDatabasesDump(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "dsrc")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	want := srv.Fingerprint(t, src)
	sql := runDump(t, srv.Root(""), "--add-drop-database", "--databases", src)
	if !bytes.Contains(sql, []byte("USE `"+src+"`")) || !bytes.Contains(sql, []byte("CREATE DATABASE")) {
		t.Fatal("the dump has no USE or CREATE DATABASE")
	}
	// Were the load to follow USE, it would reload src and lose this row.
	srv.Exec(t, src, "INSERT INTO audit (message) VALUES ('after the dump')")
	srcAfter := srv.Fingerprint(t, src)

	db := srv.NewDatabase(t, "dload")
	load(t, sql, srv.Root(db), loader.Options{Parallel: 2})
	if got := srv.Fingerprint(t, db); got != want {
		t.Errorf("fingerprint differs from the source\n got: %s\nwant: %s", got, want)
	}
	if got := srv.Fingerprint(t, src); got != srcAfter {
		t.Error("the load changed the dumped database")
	}

	other := srv.NewDatabase(t, "dother")
	srv.Exec(t, other, "CREATE TABLE x (a INT)")
	two := runDump(t, srv.Root(""), "--databases", src, other)
	_, err := loader.Load(context.Background(), bytes.NewReader(two), srv.Root(srv.NewDatabase(t, "dtwo")), loader.Options{Parallel: 2})
	if err == nil || !strings.Contains(err.Error(), "several databases") {
		t.Errorf("two databases: err = %v", err)
	}
}

// The app's own user, without SUPER, loads all the same, over TCP, and the
// settings it may not change are skipped quietly.
func TestLoadLimitedUser(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "lsrc")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	// The fixture's objects have a root DEFINER, which only SUPER may name;
	// the gate takes DEFINERs out, so the objects belong to the app's user.
	sql := dumpSQL(t, srv, src)
	if !bytes.Contains(sql, []byte("DEFINER=`root`")) {
		t.Fatal("the dump names no DEFINER: the test would not cover it")
	}

	db := srv.NewDatabase(t, "lload")
	const pw = "s3cret-pw;#"
	user := srv.NewUser(t, db, pw)
	if srv.Port == 0 {
		t.Skip("the server has no TCP port")
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := mariadb.Conn{Host: "127.0.0.1", Port: srv.Port, User: user, Password: pw, Database: db}
	load(t, sql, c, loader.Options{Parallel: 2, Log: log})
	if got, want := srv.Fingerprint(t, db), srv.Fingerprint(t, src); got != want {
		t.Errorf("fingerprint differs from the source\n got: %s\nwant: %s", got, want)
	}
	for _, must := range []string{"sql_log_bin left as it is for the load: not allowed to change it", "innodb_flush_log_at_trx_commit left at 1"} {
		if !strings.Contains(logs.String(), must) {
			t.Errorf("log lacks %q:\n%s", must, logs.String())
		}
	}
	if strings.Contains(logs.String(), pw) {
		t.Error("the password is in the log")
	}
	if got := strings.TrimSpace(srv.Exec(t, "", "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")); got != "1" {
		t.Errorf("innodb_flush_log_at_trx_commit = %s after the load", got)
	}
}

// As root, the load turns innodb_flush_log_at_trx_commit to 2 and puts it
// back.
func TestLoadRestoresServerSetting(t *testing.T) {
	srv := testdb.Get(t)
	if got := strings.TrimSpace(srv.Exec(t, "", "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")); got != "1" {
		t.Skipf("server runs with innodb_flush_log_at_trx_commit = %s", got)
	}
	db := srv.NewDatabase(t, "flush")
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sql := "CREATE TABLE t (a INT);\nINSERT INTO t VALUES (1);\nINSERT INTO t VALUES (2);\n"
	load(t, []byte(sql), srv.Root(db), loader.Options{Parallel: 2, Log: log})
	if !strings.Contains(logs.String(), "innodb_flush_log_at_trx_commit set to 2") {
		t.Errorf("the setting was not changed for the load:\n%s", logs.String())
	}
	if got := strings.TrimSpace(srv.Exec(t, "", "SELECT @@GLOBAL.innodb_flush_log_at_trx_commit")); got != "1" {
		t.Errorf("innodb_flush_log_at_trx_commit = %s after the load, want 1", got)
	}
	if got := strings.TrimSpace(srv.Exec(t, db, "SELECT SUM(a) FROM t")); got != "3" {
		t.Errorf("sum = %s, want 3", got)
	}
}

func TestLoadStatementError(t *testing.T) {
	srv := testdb.Get(t)
	var b strings.Builder
	b.WriteString("/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE t1 (id INT PRIMARY KEY, s TEXT);\n")
	for i := range 200 {
		fmt.Fprintf(&b, "INSERT INTO t1 VALUES (%d,'%s');\n", i, strings.Repeat("x", 2000))
		if i == 3 {
			b.WriteString("INSERT INTO t1 VALUES (1,'" + strings.Repeat("one too many ", 1000) + "',3);\n")
		}
	}
	sql := b.String()
	wantLine := int64(strings.Count(sql[:strings.Index(sql, "INSERT INTO t1 VALUES (1,'one")], "\n") + 1)

	st, err := loader.Load(context.Background(), strings.NewReader(sql), srv.Root(srv.NewDatabase(t, "fail")), loader.Options{Parallel: 2})
	var se *loader.StatementError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a StatementError", err)
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1136 {
		t.Errorf("err = %v, want the server's column count error", err)
	}
	if se.Kind != "insert into `t1`" || se.Line != wantLine {
		t.Errorf("kind %q line %d, want %q line %d", se.Kind, se.Line, "insert into `t1`", wantLine)
	}
	if msg := err.Error(); len(msg) > 300 || !strings.Contains(msg, `"INSERT INTO t1 VALUES (1,'one too many`) || !utf8.ValidString(msg) {
		t.Errorf("message %q: want a short prefix of the statement", msg)
	}
	if st.Inserts >= 100 {
		t.Errorf("%d inserts ran after the error", st.Inserts)
	}

	tests := []struct {
		name, sql, kind string
	}{
		{"session setting", "CREATE TABLE t (a INT);\nSET character_set_client = @never_set;\nINSERT INTO t VALUES (1);\n", "session setting"},
		{"table", "CREATE TABLE t (a INT;\n", "create table `t`"},
		{"view", "CREATE TABLE t (a INT);\nCREATE VIEW v AS SELECT b FROM t;\n", "view"},
		{"other", "CREATE TABLE t (a INT);\nDROP TABLE t, missing;\n", "drop table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loader.Load(context.Background(), strings.NewReader(tt.sql), srv.Root(srv.NewDatabase(t, "fail")), loader.Options{Parallel: 2})
			var se *loader.StatementError
			if !errors.As(err, &se) || se.Kind != tt.kind {
				t.Errorf("err = %v, want a StatementError of kind %q", err, tt.kind)
			}
		})
	}
}

func TestLoadTruncated(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "tsrc")
	srv.LoadFile(t, src, "../../testdata/fixture.sql")
	sql := dumpSQL(t, srv, src)
	cut := bytes.Index(sql, []byte("INSERT INTO `users`")) + 100
	_, err := loader.Load(context.Background(), bytes.NewReader(sql[:cut]), srv.Root(srv.NewDatabase(t, "trunc")), loader.Options{Parallel: 2})
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("err = %v, want a truncated dump error", err)
	}
}

// endless is a dump that never ends; it cancels the load after a while.
type endless struct {
	reads  int
	cancel func()
}

func (e *endless) Read(p []byte) (int, error) {
	if e.reads++; e.reads == 1 {
		return copy(p, "CREATE TABLE t (a INT);\n"), nil
	}
	if e.reads == 20 {
		e.cancel()
	}
	return copy(p, "INSERT INTO t VALUES (1),(2),(3);\n"), nil
}

func TestLoadCancelled(t *testing.T) {
	srv := testdb.Get(t)
	ctx, cancel := context.WithCancel(context.Background())
	_, err := loader.Load(ctx, &endless{cancel: cancel}, srv.Root(srv.NewDatabase(t, "cancel")), loader.Options{Parallel: 2})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

package loader_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/loader"
)

// typesSchema has a column of every type a dump of MariaDB or MySQL
// holds, in tables that LOAD DATA takes whole, in part (a column list,
// generated and invisible columns) and not at all (BIT, YEAR, spatial).
// (CHECKSUM TABLE of a table with generated columns differs between two
// loads of the same rows: gen is compared row by row.)
const typesSchema = `
CREATE TABLE kinds (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, mi MEDIUMINT, bi BIGINT, bu BIGINT UNSIGNED,
  de DECIMAL(30,10), dz DECIMAL(5,0) UNSIGNED ZEROFILL,
  fl FLOAT, db DOUBLE,
  ch CHAR(40), vc VARCHAR(400), tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
  l1 VARCHAR(100) CHARACTER SET latin1, bc VARCHAR(80) COLLATE utf8mb4_bin,
  bn BINARY(8), vb VARBINARY(300), bl BLOB, lb LONGBLOB,
  da DATE, dt DATETIME, d6 DATETIME(6), ts TIMESTAMP NULL, t6 TIMESTAMP(6) NULL, tm TIME, t3 TIME(3),
  en ENUM('a','b','it''s','x y'), st SET('r','w','x'),
  js JSON,
  u UUID, i6 INET6,
  KEY (bi), KEY (vc(20))
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
CREATE TABLE gen (
  id INT NOT NULL PRIMARY KEY,
  a INT, s VARCHAR(60),
  v INT AS (a * 2) VIRTUAL,
  p VARCHAR(70) AS (CONCAT(s, '!')) PERSISTENT,
  hid INT INVISIBLE DEFAULT 7,
  KEY (p)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE others (
  id INT NOT NULL PRIMARY KEY,
  bt BIT(10), y YEAR, g GEOMETRY, pt POINT
) ENGINE=InnoDB;
CREATE TABLE isam (id INT NOT NULL PRIMARY KEY, s VARCHAR(100), KEY (s)) ENGINE=MyISAM DEFAULT CHARSET=utf8mb4;
`

// fillTypes puts rows full of edge values into the tables of typesSchema.
func fillTypes(t *testing.T, srv *testdb.Server, db string, rows int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 5))
	pick := func(v ...string) string { return v[rng.IntN(len(v))] }
	hex := func(b []byte) string {
		if len(b) == 0 {
			return "''"
		}
		return fmt.Sprintf("X'%x'", b)
	}
	text := func(n int) string { return hex([]byte(genText(rng, n))) }
	null := func(v string) string {
		if rng.IntN(8) == 0 {
			return "NULL"
		}
		return v
	}
	var b strings.Builder
	b.WriteString(typesSchema)
	for i := range rows {
		nextRow(&b, i, 100, "INSERT INTO kinds VALUES ")
		fl := math.Float32frombits(rng.Uint32())
		for math.IsNaN(float64(fl)) || math.IsInf(float64(fl), 0) {
			fl = math.Float32frombits(rng.Uint32())
		}
		db := math.Float64frombits(rng.Uint64())
		for math.IsNaN(db) || math.IsInf(db, 0) {
			db = math.Float64frombits(rng.Uint64())
		}
		if rng.IntN(3) == 0 {
			db = rng.NormFloat64()
		}
		fmt.Fprintf(&b, "(%d, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
			i,
			null(pick("-128", "127", "0", fmt.Sprint(rng.IntN(256)-128))),
			null(pick("0", "255", fmt.Sprint(rng.IntN(256)))),
			null(fmt.Sprint(rng.IntN(65536)-32768)),
			null(fmt.Sprint(rng.IntN(1<<24)-(1<<23))),
			null(pick("-9223372036854775808", "9223372036854775807", fmt.Sprint(rng.Int64()-rng.Int64()/2))),
			null(pick("0", "18446744073709551615", fmt.Sprint(rng.Uint64()))),
			null(fmt.Sprintf("%d.%010d", rng.Int64N(1e18)-5e17, rng.Int64N(1e10))),
			null(fmt.Sprint(rng.IntN(99999))),
			null(fmt.Sprintf("%g", fl)),
			null(pick(fmt.Sprintf("%.17g", db), fmt.Sprintf("%g", db), "0", "-0", "1e-300")),
			null(text(rng.IntN(10))),
			null(text(rng.IntN(300))),
			null(text(rng.IntN(2000))),
			null(text(rng.IntN(100))),
			null(pick("''", "'NULL'", `'\\N'`, "'null'", text(rng.IntN(50)))),
			null(pick("'caf\xc3\xa9'", "'plain'", "''", "'tab\there'", `'back\\slash'`)),
			null(pick("'A'", "'a'", "'é'", text(rng.IntN(40)))),
			null(hex(genBytes(rng, rng.IntN(9)))),
			null(hex(genBytes(rng, rng.IntN(300)))),
			null(hex(genBytes(rng, rng.IntN(2000)))),
			null(hex(genBytes(rng, rng.IntN(100)))),
			null(pick("'2024-02-29'", "'0000-00-00'", "'1000-01-01'", "'9999-12-31'")),
			null(pick("'2024-02-29 23:59:59'", "'0000-00-00 00:00:00'", "'1970-01-01 00:00:01'")),
			null(fmt.Sprintf("'2026-03-29 02:%02d:%02d.%06d'", rng.IntN(60), rng.IntN(60), rng.IntN(1000000))),
			null(pick("'2026-03-29 02:30:00'", "'2038-01-19 03:14:07'", "'1970-01-01 00:00:01'")),
			null(fmt.Sprintf("'2026-10-25 0%d:30:00.%06d'", rng.IntN(4), rng.IntN(1000000))),
			null(pick("'-838:59:59'", "'838:59:59'", "'00:00:00'", "'12:34:56'")),
			null(fmt.Sprintf("'%d:%02d:%02d.%03d'", rng.IntN(100), rng.IntN(60), rng.IntN(60), rng.IntN(1000))),
			null(pick("'a'", "'b'", `'it\'s'`, "'x y'")),
			null(pick("'r'", "'r,w'", "'w,x'", "''", "'r,w,x'")),
			null(pick(`'{"a": 1, "b": [true, null, "x\\"y"]}'`, "'[]'", `'"\\u00e9"'`, `'{"k": "tab\\there"}'`)),
			null(pick("'123e4567-e89b-12d3-a456-426614174000'", "'00000000-0000-0000-0000-000000000000'")),
			null(pick("'::1'", "'2001:db8::ff00:42:8329'", "'::ffff:192.0.2.1'")),
		)
	}
	b.WriteString(";\n")
	for i := range rows {
		nextRow(&b, i, 100, "INSERT INTO gen (id, a, s, hid) VALUES ")
		fmt.Fprintf(&b, "(%d, %s, %s, %d)", i, null(fmt.Sprint(rng.IntN(1000))), null(text(rng.IntN(30))), rng.IntN(100))
	}
	b.WriteString(";\n")
	for i := range rows {
		nextRow(&b, i, 100, "INSERT INTO others VALUES ")
		fmt.Fprintf(&b, "(%d, %s, %s, %s, %s)", i, null(fmt.Sprintf("b'%b'", rng.IntN(1024))), null(fmt.Sprint(1901+rng.IntN(255))),
			null(fmt.Sprintf("ST_GeomFromText('LINESTRING(%d %d, %d %d)')", rng.IntN(100), rng.IntN(100), rng.IntN(100), rng.IntN(100))),
			null(fmt.Sprintf("POINT(%d, %d)", rng.IntN(100), rng.IntN(100))))
	}
	b.WriteString(";\n")
	for i := range rows {
		nextRow(&b, i, 100, "INSERT INTO isam VALUES ")
		fmt.Fprintf(&b, "(%d, %s)", i, null(text(rng.IntN(90))))
	}
	b.WriteString(";\n")
	srv.Exec(t, db, b.String())
}

// Every type a dump holds loads as LOAD DATA to exactly what the dump's
// own INSERTs give, with and without --hex-blob, at every size of
// statement; and the statements LOAD DATA cannot take exactly still run.
func TestLoadDataMatchesInserts(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "ksrc")
	fillTypes(t, srv, src, 1200)
	for _, extra := range [][]string{nil, {"--hex-blob"}, {"--complete-insert"}} {
		sql := runDump(t, srv.Root(src), append(append([]string{"--net-buffer-length=32768"}, extra...), "--", src)...)
		if n := bytes.Count(sql, []byte("INSERT INTO `kinds`")); n < 10 {
			t.Fatalf("%v: only %d INSERTs for kinds", extra, n)
		}
		// The mariadb client's load is what the restore must give. (It is
		// not the source: a dump writes FLOAT with 6 digits, and not the
		// value of an invisible column.)
		client := srv.NewDatabase(t, "kcli")
		srv.Exec(t, client, string(sql))
		want := typesPrint(t, srv, client)
		inserts := srv.NewDatabase(t, "kins")
		st := load(t, sql, srv.Root(inserts), loader.Options{Parallel: 2, AsWritten: true})
		if st.Texts != 0 {
			t.Fatalf("%v: AsWritten set, yet %d statements ran as LOAD DATA", extra, st.Texts)
		}
		if got := typesPrint(t, srv, inserts); got != want {
			t.Fatalf("%v: the loader's INSERTs give another database than the client\n got: %s\nwant: %s", extra, got, want)
		}
		for _, min := range []int{1, 0} {
			db := srv.NewDatabase(t, "ktext")
			st := load(t, sql, srv.Root(db), loader.Options{Parallel: 2, TextMin: min, Log: testLog(t)})
			if got := typesPrint(t, srv, db); got != want {
				t.Errorf("%v, TextMin %d: LOAD DATA gives another database than the INSERTs\n got: %s\nwant: %s", extra, min, diffLines(got, want), "")
			}
			// kinds and isam convert; others (BIT, YEAR, spatial) cannot,
			// nor gen: mariadb-dump writes values for generated columns,
			// which the server ignores with a warning.
			convertible := bytes.Count(sql, []byte("INSERT INTO `kinds`")) + bytes.Count(sql, []byte("INSERT INTO `isam`"))
			if min == 1 && int(st.Texts) != convertible {
				t.Errorf("%v: %d statements ran as LOAD DATA, want %d (stats %+v)", extra, st.Texts, convertible, st)
			}
			if min == 0 && st.Texts == 0 {
				t.Errorf("%v: no statement of 16 KiB or more ran as LOAD DATA (stats %+v)", extra, st)
			}
		}
	}
}

// typesPrint is the fingerprint of a database of typesSchema, with the
// rows of gen instead of its checksum.
func typesPrint(t *testing.T, srv *testdb.Server, db string) string {
	t.Helper()
	var keep []string
	for _, l := range strings.Split(srv.Fingerprint(t, db), "\n") {
		if !strings.HasPrefix(l, "table gen ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n") + srv.Exec(t, db, "SELECT id, a, HEX(s), v, HEX(p), hid FROM gen ORDER BY id")
}

// diffLines returns the lines of got that want lacks.
func diffLines(got, want string) string {
	have := map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		have[l] = true
	}
	var out []string
	for _, l := range strings.Split(got, "\n") {
		if !have[l] {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// Hand-written statements with what no dump program writes but a crafted
// backup may hold load as the INSERTs would: escapes the server keeps
// (\% and \_), every other escape, doubled quotes of both kinds, NULL
// beside 'NULL' and '\N', _binary strings, hexadecimal literals of odd
// length, column lists in another order, REPLACE.
func TestLoadDataCraftedRows(t *testing.T) {
	srv := testdb.Get(t)
	schema := "CREATE TABLE c (id INT PRIMARY KEY, s VARCHAR(100), b VARBINARY(100), n DECIMAL(10,3), t TEXT) DEFAULT CHARSET=utf8mb4;\n" +
		"CREATE TABLE g (id INT PRIMARY KEY, a INT, v INT AS (a + 1) VIRTUAL, s VARCHAR(10) AS (CONCAT('<', a, '>')) STORED, h INT INVISIBLE DEFAULT 5) DEFAULT CHARSET=utf8mb4;\n"
	rows := []string{
		`(1, 'a\%b\_c', 'x\%y', 1.5, 'NULL')`,
		`(2, NULL, NULL, NULL, '\N')`,
		`(3, 'tab\tnl\ncr\rz\Zb\bnul\0end', 'bs\\q\'dq\"', -0.125, 'x\qy\ ')`,
		`(4, 'it''s', "dq""x", +3, "sin'gle")`,
		`(5, 'raw	tab and
newline', _binary 'b\0in', '7', '')`,
		`(6, 'é\é', _binary'ab', .5, '\\N')`,
		`(7, 'x', 0xabc, 1e2, 'y')`,
		`(8, 'x', X'00ff5c09', 1E-2, 'z')`,
		`(9, '', '', 0, '\\')`,
		`(10, 'a\\%b', _binary 0x5c4e, 12.345, 'N')`,
	}
	stmt := "INSERT INTO `c` VALUES " + strings.Join(rows, ",") + ";\n" +
		"INSERT INTO `c` (`t`, `id`, `s`) VALUES ('later', 11, 'first'),('more', 12, NULL);\n" +
		"REPLACE INTO `c` VALUES (9, 'replaced', NULL, 2, 'r'),(13, 'new', NULL, 3, 's');\n" +
		// MySQL 8's mysqldump names the columns when a table has generated
		// ones, and leaves those out.
		"INSERT INTO `g` (`id`, `a`) VALUES (1, 10),(2, NULL);\n" +
		"INSERT INTO `g` (`id`, `a`, `h`) VALUES (3, 30, 33);\n"
	dumpText := []byte("SET NAMES utf8mb4;\n" + schema + stmt)

	a := srv.NewDatabase(t, "cins")
	load(t, dumpText, srv.Root(a), loader.Options{Parallel: 1, AsWritten: true})
	want := srv.Fingerprint(t, a)
	rowsOf := "SELECT id, HEX(s), HEX(b), n, HEX(t) FROM c ORDER BY id; SELECT id, a, v, s, h FROM g ORDER BY id"
	wantRows := srv.Exec(t, a, rowsOf)

	b := srv.NewDatabase(t, "ctext")
	st := load(t, dumpText, srv.Root(b), loader.Options{Parallel: 1, TextMin: 1})
	if st.Texts != 5 {
		t.Errorf("%d statements ran as LOAD DATA, want 5 (stats %+v)", st.Texts, st)
	}
	if got := srv.Exec(t, b, rowsOf); got != wantRows {
		t.Errorf("rows differ\n got:\n%s\nwant:\n%s", got, wantRows)
	}
	if got, want := strings.Split(srv.Fingerprint(t, b), "\n")[0], strings.Split(want, "\n")[0]; got != want {
		t.Errorf("CHECKSUM TABLE of c differs: %s, want %s", got, want)
	}
}

// LOAD DATA LOCAL skips a row with a duplicate key, with a warning, where
// the dump's INSERT fails: a backup with duplicate keys must fail to load
// as it always did, not load with rows missing.
func TestLoadDataDuplicateKeyFails(t *testing.T) {
	srv := testdb.Get(t)
	dumpText := "CREATE TABLE d (id INT PRIMARY KEY, s VARCHAR(10));\nINSERT INTO `d` VALUES (1,'a'),(2,'b'),(1,'again');\n"
	// The first statement into an empty table takes InnoDB's bulk path,
	// which finds the duplicate at COMMIT; a later statement finds it at
	// once. Both must fail as the INSERT fails.
	for _, prefix := range []string{"", "INSERT INTO `d` VALUES (0,'first');\n"} {
		text := strings.Replace(dumpText, "INSERT", prefix+"INSERT", 1)
		a := srv.NewDatabase(t, "dupi")
		_, want := loader.Load(context.Background(), strings.NewReader(text), srv.Root(a), loader.Options{Parallel: 1, AsWritten: true})
		var se *loader.StatementError
		if !errors.As(want, &se) || !mariadb.IsServerError(want) {
			t.Fatalf("INSERTs of duplicate keys: %v, want a statement error", want)
		}
		db := srv.NewDatabase(t, "dup")
		_, err := loader.Load(context.Background(), strings.NewReader(text), srv.Root(db), loader.Options{Parallel: 1, TextMin: 1})
		if err == nil || strings.ReplaceAll(err.Error(), db, a) != want.Error() {
			t.Errorf("LOAD DATA of duplicate keys: %v, want the INSERT's error %v", err, want)
		}
		if got, want := srv.Exec(t, db, "SELECT * FROM d ORDER BY id"), srv.Exec(t, a, "SELECT * FROM d ORDER BY id"); got != want {
			t.Errorf("rows after the failed load: %q, the INSERTs leave %q", got, want)
		}
	}
}

// Values LOAD DATA would take with a warning (a string that is not a
// number, a date out of range, text too long) or a note (a decimal
// rounded) take the dump's own
// statement's path and give what it gives.
func TestLoadDataWarningsRunInserts(t *testing.T) {
	srv := testdb.Get(t)
	dumpText := "/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n" +
		"CREATE TABLE w (id INT PRIMARY KEY, n INT, d DATE, s VARCHAR(3), e ENUM('a','b'), m DECIMAL(5,2));\n" +
		"INSERT INTO `w` VALUES (1,'12abc','2024-02-30','toolong','c',1.5),(2,'7','2024-01-01','ok','a',1.5);\n" +
		"INSERT INTO `w` VALUES (3,3,'2024-01-01','ok','a',1.255);\n"
	a := srv.NewDatabase(t, "wins")
	load(t, []byte(dumpText), srv.Root(a), loader.Options{Parallel: 1, AsWritten: true})
	want := srv.Exec(t, a, "SELECT * FROM w ORDER BY id")
	b := srv.NewDatabase(t, "wtext")
	st := load(t, []byte(dumpText), srv.Root(b), loader.Options{Parallel: 1, TextMin: 1})
	if got := srv.Exec(t, b, "SELECT * FROM w ORDER BY id"); got != want {
		t.Errorf("rows\n got: %s\nwant: %s", got, want)
	}
	if st.Texts != 0 {
		t.Errorf("%d statements with warnings stayed LOAD DATA", st.Texts)
	}
}

// A server that does not take LOAD DATA LOCAL still loads the dump, as
// INSERTs.
func TestLoadDataLocalInfileOff(t *testing.T) {
	srv := testdb.Get(t)
	srv.Exec(t, "", "SET GLOBAL local_infile = 0")
	t.Cleanup(func() { srv.Exec(t, "", "SET GLOBAL local_infile = 1") })
	dumpText := "CREATE TABLE o (id INT PRIMARY KEY, s VARCHAR(10));\nINSERT INTO `o` VALUES (1,'a'),(2,'b');\nINSERT INTO `o` VALUES (3,'c');\n"
	db := srv.NewDatabase(t, "off")
	st := load(t, []byte(dumpText), srv.Root(db), loader.Options{Parallel: 1, TextMin: 1})
	if got := strings.TrimSpace(srv.Exec(t, db, "SELECT GROUP_CONCAT(s ORDER BY id) FROM o")); got != "a,b,c" || st.Texts != 0 {
		t.Errorf("rows %q, %d as LOAD DATA; want a,b,c and none", got, st.Texts)
	}
}

// testLog sends the loader's log to the test's.
func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// Strings are read in the dump's character set: LOAD DATA reads its text
// in the same one, and a session whose strings LOAD DATA would read
// otherwise (binary, or a client and connection character set that
// differ) keeps the INSERTs.
func TestLoadDataSessionCharset(t *testing.T) {
	srv := testdb.Get(t)
	rows := "INSERT INTO `s` VALUES (1,'caf\xe9 \xc3\xa9','caf\xe9'),(2,'\xff\xfe','x');\n"
	for _, c := range []struct {
		names string
		texts int64
	}{
		{"SET NAMES latin1;", 1},
		{"SET NAMES utf8mb4;", 0}, // invalid UTF-8: the warning keeps the INSERT
		{"SET NAMES binary;", 0},
		{"SET character_set_client = latin1, character_set_connection = utf8mb4;", 0},
	} {
		dumpText := []byte("/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n" + c.names + "\n" +
			"CREATE TABLE s (id INT PRIMARY KEY, u VARCHAR(20) CHARACTER SET utf8mb4, l VARCHAR(20) CHARACTER SET latin1);\n" + rows)
		a := srv.NewDatabase(t, "sins")
		load(t, dumpText, srv.Root(a), loader.Options{Parallel: 1, AsWritten: true})
		b := srv.NewDatabase(t, "stext")
		st := load(t, dumpText, srv.Root(b), loader.Options{Parallel: 1, TextMin: 1})
		q := "SELECT id, HEX(u), HEX(l) FROM s ORDER BY id"
		if got, want := srv.Exec(t, b, q), srv.Exec(t, a, q); got != want {
			t.Errorf("%s: rows\n got: %s\nwant: %s", c.names, got, want)
		}
		if st.Texts != c.texts {
			t.Errorf("%s: %d statements as LOAD DATA, want %d", c.names, st.Texts, c.texts)
		}
	}
}

// Rows of a table whose columns read the same from bytes (numbers, text in
// the session's character set, blobs, dates) load as LOAD DATA reading
// bytes, to what the INSERTs give: characters of four bytes, escapes,
// NUL; and a string the column's character set does not allow is a
// warning, after which the INSERT runs as written.
func TestLoadDataReadAsBytes(t *testing.T) {
	srv := testdb.Get(t)
	table := "CREATE TABLE b (id INT PRIMARY KEY, n BIGINT, d DECIMAL(20,6), f DOUBLE, v VARCHAR(200), tx TEXT, c CHAR(12), " +
		"vb VARBINARY(100), bl BLOB, da DATE, dt DATETIME(6), ts TIMESTAMP NULL, tm TIME) DEFAULT CHARSET=utf8mb4;\n"
	good := "INSERT INTO `b` VALUES " +
		"(1,-9223372036854775808,'12345678901234.123456',1.5e300,'caf\xc3\xa9 \xf0\x9f\x98\x80','tab\\there\\nnew\\\\line','\xe2\x82\xac\xe2\x82\xac'," +
		"X'00ff5c09',_binary 'a\\0b','2024-02-29','2026-03-29 02:30:00.123456','2038-01-19 03:14:07','-838:59:59')," +
		"(2,NULL,NULL,NULL,'NULL','\\\\N',''," +
		"'',NULL,'0000-00-00','0000-00-00 00:00:00',NULL,'12:34:56')," +
		"(3,0,'-0.000001',-0,'a\\0b \\Z \\% \\_','\xf4\x8f\xbf\xbf','x\\'y'," +
		"'\xc3\xa9','\\\\','1000-01-01','9999-12-31 23:59:59.999999','1970-01-01 00:00:01','00:00:00');\n"
	bad := "INSERT INTO `b` VALUES (4,1,1,1,'\xff\xfe',NULL,NULL,NULL,NULL,NULL,NULL,NULL,NULL);\n"
	for _, c := range []struct {
		name, rows string
		texts      int64
	}{
		{"valid rows", good, 1},
		{"bytes utf8mb4 does not allow", bad, 0},
	} {
		dumpText := []byte("/*!40101 SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\nSET NAMES utf8mb4;\n/*!40103 SET TIME_ZONE='+00:00' */;\n" + table + c.rows)
		a := srv.NewDatabase(t, "bins")
		load(t, dumpText, srv.Root(a), loader.Options{Parallel: 1, AsWritten: true})
		b := srv.NewDatabase(t, "btext")
		st := load(t, dumpText, srv.Root(b), loader.Options{Parallel: 1, TextMin: 1, Log: testLog(t)})
		q := "SELECT id, n, d, f, HEX(v), HEX(tx), HEX(c), HEX(vb), HEX(bl), da, dt, ts, tm FROM b ORDER BY id"
		if got, want := srv.Exec(t, b, q), srv.Exec(t, a, q); got != want {
			t.Errorf("%s: rows\n got: %s\nwant: %s", c.name, got, want)
		}
		if st.Texts != c.texts {
			t.Errorf("%s: %d statements as LOAD DATA, want %d", c.name, st.Texts, c.texts)
		}
	}
}

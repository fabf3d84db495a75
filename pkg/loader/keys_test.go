package loader_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/loader"
)

// keysSchema has indexes of every shape: plain keys around UNIQUE ones,
// prefixes, DESC, an AUTO_INCREMENT column whose only key is secondary,
// FULLTEXT, MyISAM, and foreign keys that reference a plain key of a
// table dumped before (parent before pchild) and after (a_child before z_parent).
const keysSchema = `
CREATE TABLE plain (
  id INT NOT NULL PRIMARY KEY, a INT, b VARCHAR(50), c DATETIME,
  KEY kb (b(10) DESC, a), UNIQUE KEY ua (a), KEY kc (c) USING BTREE, INDEX ka (a, c)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE autoinc (n INT NOT NULL AUTO_INCREMENT, v INT, KEY kn (n), KEY kv (v)) ENGINE=InnoDB;
CREATE TABLE ft (id INT PRIMARY KEY, body TEXT, k INT, KEY kk (k), FULLTEXT KEY fb (body)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
CREATE TABLE isam (id INT PRIMARY KEY, k INT, KEY kk (k)) ENGINE=MyISAM;
CREATE TABLE parent (id INT PRIMARY KEY, code INT, KEY kcode (code)) ENGINE=InnoDB;
CREATE TABLE z_parent (id INT PRIMARY KEY, code INT, KEY kcode (code)) ENGINE=InnoDB;
CREATE TABLE pchild (id INT PRIMARY KEY, pcode INT, KEY kp (pcode), CONSTRAINT fk_c FOREIGN KEY (pcode) REFERENCES parent (code)) ENGINE=InnoDB;
CREATE TABLE a_child (id INT PRIMARY KEY, zcode INT, KEY kz (zcode), CONSTRAINT fk_a FOREIGN KEY (zcode) REFERENCES z_parent (code)) ENGINE=InnoDB;
`

// Indexes built after the rows give the tables the dump's own
// definitions, indexes and rows.
func TestLoadKeysAfterRows(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "ysrc")
	var b strings.Builder
	b.WriteString(keysSchema)
	for _, tbl := range []string{"plain (id, a, b, c)", "autoinc (n, v)", "ft (id, body, k)", "isam (id, k)", "parent (id, code)", "z_parent (id, code)", "pchild (id, pcode)", "a_child (id, zcode)"} {
		fmt.Fprintf(&b, "INSERT INTO %s VALUES ", tbl)
		cols := strings.Count(tbl, ",") + 1
		n := 3000
		if strings.HasPrefix(tbl, "parent ") {
			// Enough rows that pchild's definition, read next, comes
			// while they load.
			n = 40000
		}
		for i := 1; i <= n; i++ {
			if i > 1 {
				b.WriteString(",")
			}
			switch cols {
			case 4:
				fmt.Fprintf(&b, "(%d, %d, 'name %d', '2024-01-01' + INTERVAL %d MINUTE)", i, i, i%97, i%500)
			case 3:
				fmt.Fprintf(&b, "(%d, 'word%d text', %d)", i, i%13, i%7)
			default:
				fmt.Fprintf(&b, "(%d, %d)", i, i%300+1)
			}
		}
		b.WriteString(";\n")
	}
	srv.Exec(t, src, b.String())
	sql := runDump(t, srv.Root(src), "--net-buffer-length=16384", "--", src)

	definitions := func(db string) string {
		var out strings.Builder
		for _, tbl := range []string{"plain", "autoinc", "ft", "isam", "parent", "z_parent", "pchild", "a_child"} {
			out.WriteString(srv.Exec(t, db, "SHOW CREATE TABLE "+tbl))
		}
		out.WriteString(srv.Exec(t, "", "SELECT table_name, index_name, seq_in_index, column_name, sub_part, collation, non_unique, index_type FROM information_schema.statistics WHERE table_schema = '"+db+"' ORDER BY 1, 2, 3"))
		return strings.ReplaceAll(out.String(), db, "DB")
	}
	asWritten := srv.NewDatabase(t, "yasw")
	load(t, sql, srv.Root(asWritten), loader.Options{Parallel: 2, AsWritten: true})
	wantDefs, wantPrint := definitions(asWritten), srv.Fingerprint(t, asWritten)
	if wantPrint != srv.Fingerprint(t, src) {
		t.Fatal("the load as written differs from the source: the comparison is meaningless")
	}
	for _, n := range []int{1, 2, 4} {
		db := srv.NewDatabase(t, "ykeys")
		st := load(t, sql, srv.Root(db), loader.Options{Parallel: n, KeysMin: 1})
		if got := definitions(db); got != wantDefs {
			t.Errorf("parallel %d: definitions differ\n got: %s\nwant: %s", n, diffLines(got, wantDefs), diffLines(wantDefs, got))
		}
		if got := srv.Fingerprint(t, db); got != wantPrint {
			t.Errorf("parallel %d: rows differ", n)
		}
		// plain, parent and z_parent take their keys after the rows;
		// autoinc (its only key for n), ft (FULLTEXT), isam and the tables
		// with foreign keys keep them.
		if st.Keys != 3 {
			t.Errorf("parallel %d: %d tables built their indexes after the rows, want 3 (stats %+v)", n, st.Keys, st)
		}
	}
	// Tables of fewer rows than KeysMin keep their indexes (by default
	// 8 MiB: all of them here); tables whose rows reach it part way (plain
	// and parent, about 180 and 450 KB of rows in 16 KiB statements, at
	// 48 KiB) take them after.
	plainRows := int64(bytes.Count(sql, []byte("INSERT INTO `plain`")))
	for _, c := range []struct {
		min  int64
		keys int64
	}{{0, 0}, {int64(len(sql)), 0}, {3 * 16384, 2}} {
		db := srv.NewDatabase(t, "ymin")
		st := load(t, sql, srv.Root(db), loader.Options{Parallel: 2, KeysMin: c.min})
		if got := definitions(db); got != wantDefs {
			t.Errorf("KeysMin %d: definitions differ\n got: %s\nwant: %s", c.min, diffLines(got, wantDefs), diffLines(wantDefs, got))
		}
		if got := srv.Fingerprint(t, db); got != wantPrint {
			t.Errorf("KeysMin %d: rows differ", c.min)
		}
		if st.Keys != c.keys || st.Inserts < plainRows {
			t.Errorf("KeysMin %d: %d tables built their indexes after the rows, want %d (stats %+v)", c.min, st.Keys, c.keys, st)
		}
	}
}

// Into a database that had no table, the DROP TABLE IF EXISTS the dump
// writes before each table has nothing to drop and does not run; into one
// that had tables, each runs.
func TestLoadSkipsDropsIntoEmptyDatabase(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "dsrc")
	srv.Exec(t, src, "CREATE TABLE a (id INT PRIMARY KEY); INSERT INTO a VALUES (1); CREATE TABLE b (id INT PRIMARY KEY); INSERT INTO b VALUES (2);")
	sql := runDump(t, srv.Root(src), "--", src)
	if n := bytes.Count(sql, []byte("DROP TABLE IF EXISTS")); n != 2 {
		t.Fatalf("the dump has %d DROP TABLE IF EXISTS, want 2", n)
	}
	// The dump again, with a second definition of a: the drop before it
	// names a table the load made, and runs.
	again := append(append([]byte(nil), sql...), []byte("DROP TABLE IF EXISTS `a`;\nCREATE TABLE `a` (`id` int NOT NULL, `x` int, PRIMARY KEY (`id`));\nINSERT INTO `a` VALUES (3,4);\n")...)
	drops := func() int {
		out := srv.Exec(t, "", "SHOW GLOBAL STATUS LIKE 'Com_drop_table'")
		var n int
		fmt.Sscanf(strings.Fields(out)[1], "%d", &n)
		return n
	}
	for _, c := range []struct {
		name     string
		dump     []byte
		existing bool
		drops    int
		rows     string
	}{
		{"empty", sql, false, 0, "1\n"},
		{"empty, a made twice", again, false, 1, "3\t4\n"},
		{"with tables", sql, true, 2, "1\n"},
	} {
		db := srv.NewDatabase(t, "dload")
		if c.existing {
			srv.Exec(t, db, "CREATE TABLE a (id INT PRIMARY KEY, old INT); INSERT INTO a VALUES (9, 9)")
		}
		before := drops()
		st := load(t, c.dump, srv.Root(db), loader.Options{Parallel: 2})
		if got := drops() - before; got != c.drops {
			t.Errorf("%s: %d DROP TABLE ran, want %d (stats %+v)", c.name, got, c.drops, st)
		}
		if got := srv.Exec(t, db, "SELECT * FROM a"); got != c.rows {
			t.Errorf("%s: a holds %q, want %q", c.name, got, c.rows)
		}
	}
}

// ALTER TABLE ... DISABLE KEYS and ENABLE KEYS, which the dump programs
// write around every table's rows, run only for tables that are not
// InnoDB (InnoDB ignores them).
func TestLoadSkipsKeysSwitchesOfInnoDB(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "esrc")
	srv.Exec(t, src, "CREATE TABLE i1 (id INT PRIMARY KEY, k INT, KEY (k)) ENGINE=InnoDB; INSERT INTO i1 VALUES (1,1),(2,2);"+
		"CREATE TABLE i2 (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO i2 VALUES (1);"+
		"CREATE TABLE m (id INT PRIMARY KEY, k INT, KEY (k)) ENGINE=MyISAM; INSERT INTO m VALUES (1,1),(2,2);")
	sql := runDump(t, srv.Root(src), "--", src)
	if n := bytes.Count(sql, []byte("DISABLE KEYS")) + bytes.Count(sql, []byte("ENABLE KEYS")); n != 6 {
		t.Fatalf("the dump has %d DISABLE/ENABLE KEYS, want 6", n)
	}
	alters := func() int {
		out := srv.Exec(t, "", "SHOW GLOBAL STATUS LIKE 'Com_alter_table'")
		var n int
		fmt.Sscanf(strings.Fields(out)[1], "%d", &n)
		return n
	}
	want := srv.Fingerprint(t, src)
	for _, c := range []struct {
		opts   loader.Options
		alters int
	}{{loader.Options{Parallel: 2}, 2}, {loader.Options{Parallel: 2, AsWritten: true}, 6}} {
		db := srv.NewDatabase(t, "eload")
		before := alters()
		load(t, sql, srv.Root(db), c.opts)
		if got := alters() - before; got != c.alters {
			t.Errorf("AsWritten %v: %d ALTER TABLE ran, want %d", c.opts.AsWritten, got, c.alters)
		}
		if got := srv.Fingerprint(t, db); got != want {
			t.Errorf("AsWritten %v: the load differs from the source", c.opts.AsWritten)
		}
	}
}

package sqltext

import (
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

const mysqlHeader = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: 10.0.0.5    Database: src\n" +
	"-- ------------------------------------------------------\n-- Server version\t8.0.36\n\n"

// mapped runs the gate with the mapping over a dump and returns the SQL
// of what passed, one statement a line, skipped ones as "-- kind".
func mapped(t testing.TB, dump string, d *Dialect, collations map[string]bool) (string, error) {
	t.Helper()
	g := NewGate(NewSplitter(strings.NewReader(dump)), GateOptions{Server: maria1011, Dialect: d, Collations: collations})
	var b strings.Builder
	for {
		st, err := g.Next()
		if errors.Is(err, io.EOF) {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		if st.Class == ClassSkip && strings.HasPrefix(st.Kind, "MySQL ") {
			b.WriteString("-- " + st.Kind + "\n")
			continue
		}
		b.WriteString(string(st.SQL) + "\n")
	}
}

func TestSourceFromHeader(t *testing.T) {
	for _, tt := range []struct {
		header, source string
		mysql          bool
	}{
		{mysqlHeader, "MySQL 8.0.36", true},
		{"-- MySQL dump 10.13  Distrib 5.7.44, for Linux (x86_64)\r\n--\r\n-- Server version\t5.7.44-log\r\n", "MySQL 5.7.44-log", true},
		{"-- MySQL dump 10.13  Distrib 8.0.12, for Linux (x86_64)\n", "MySQL 8.0.12", true},
		{"/*M!999999\\- enable the sandbox mode */ \n-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n-- Server version\t10.11.19-MariaDB-0+deb12u1\n", "MariaDB 10.11.19-MariaDB-0+deb12u1", false},
		{"-- MariaDB dump 10.19-11.6.2-MariaDB, for Linux (x86_64)\n", "MariaDB 11.6.2-MariaDB", false},
		// mariadb-dump of a MySQL server: the statements are MySQL's.
		{"-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n-- Server version\t8.0.36\n", "MySQL 8.0.36", true},
		{"", "", false},
	} {
		sp := NewSplitter(strings.NewReader(tt.header + "SET NAMES utf8mb4;\n"))
		if _, err := sp.Next(); err != nil {
			t.Fatal(err)
		}
		src := sp.Source()
		_, mysql := src.Version()
		if src.String() != tt.source || mysql != tt.mysql {
			t.Errorf("%q: source %q mysql %v, want %q %v", tt.header, src, mysql, tt.source, tt.mysql)
		}
	}
}

func TestDialectMaps(t *testing.T) {
	for _, tt := range []struct{ name, in, want string }{
		{"GTID set over lines", "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5,\n6b2c4b0a-1d2f-11ef-a1b2-0242ac120002:1-88';", "-- MySQL GTID_PURGED\n"},
		{"GTID set over CRLF lines", "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\r\nb:1-3';", "-- MySQL GTID_PURGED\n"},
		{"empty GTID set", "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '';", "-- MySQL GTID_PURGED\n"},
		{"5.7 GTID set", "SET @@GLOBAL.GTID_PURGED='7664fad8-49fd-11e8-a546-4201c0a8010a:1-5021';", "-- MySQL GTID_PURGED\n"},
		{"binlog switch", "SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\nSET @@SESSION.SQL_LOG_BIN= 0;\nSET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;",
			"-- MySQL SQL_LOG_BIN\n-- MySQL SQL_LOG_BIN\n-- MySQL SQL_LOG_BIN\n"},
		{"table and column", "CREATE TABLE t (a varchar(5) COLLATE utf8mb4_0900_as_cs) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;",
			"CREATE TABLE t (a varchar(5) COLLATE utf8mb4_uca1400_nopad_as_cs) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_uca1400_nopad_ai_ci\n"},
		{"upper case", "CREATE TABLE t (a int) COLLATE=UTF8MB4_0900_AI_CI;", "CREATE TABLE t (a int) COLLATE=utf8mb4_uca1400_nopad_ai_ci\n"},
		{"language", "CREATE TABLE t (a text COLLATE utf8mb4_es_trad_0900_as_cs, b text COLLATE utf8mb4_ru_0900_ai_ci);",
			"CREATE TABLE t (a text COLLATE utf8mb4_uca1400_spanish2_nopad_as_cs, b text COLLATE utf8mb4_uca1400_nopad_ai_ci)\n"},
		{"binary", "CREATE TABLE t (a text COLLATE utf8mb4_0900_bin);", "CREATE TABLE t (a text COLLATE utf8mb4_nopad_bin)\n"},
		{"routine wrapper", "/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;", "/*!50003 SET collation_connection  = utf8mb4_uca1400_nopad_ai_ci */\n"},
		{"SET NAMES COLLATE", "SET NAMES utf8mb4 COLLATE utf8mb4_0900_ai_ci;", "SET NAMES utf8mb4 COLLATE utf8mb4_uca1400_nopad_ai_ci\n"},
		{"SET NAMES COLLATE quoted", "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci';", "SET NAMES 'utf8mb4' COLLATE 'utf8mb4_uca1400_nopad_ai_ci'\n"},
		{"ALTER DATABASE", "ALTER DATABASE `src` CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci ;", "ALTER DATABASE  CHARACTER SET utf8mb4 COLLATE utf8mb4_uca1400_nopad_ai_ci\n"},
		{"data is data", "CREATE TABLE t (a text);\nINSERT INTO t VALUES ('utf8mb4_0900_ai_ci'),('/*!80023 INVISIBLE */');",
			"CREATE TABLE t (a text)\nINSERT INTO t VALUES ('utf8mb4_0900_ai_ci'),('/*!80023 INVISIBLE */')\n"},
		{"a string outside SET", "CREATE TABLE t (a text COMMENT 'utf8mb4_0900_ai_ci');", "CREATE TABLE t (a text COMMENT 'utf8mb4_0900_ai_ci')\n"},
		{"invisible column and index", "CREATE TABLE t (a int DEFAULT NULL /*!80023 INVISIBLE */, KEY k (a) /*!80000 INVISIBLE */);",
			"CREATE TABLE t (a int DEFAULT NULL  INVISIBLE , KEY k (a)  IGNORED )\n"},
		{"encryption", "CREATE TABLE t (a int) ENGINE=InnoDB /*!80016 ENCRYPTION='N' */;", "CREATE TABLE t (a int) ENGINE=InnoDB /*!80016 ENCRYPTION='N' */\n"},
		{"MySQL skipped it too", "CREATE TABLE t (a int) /*!90000 WHATEVER */;", "CREATE TABLE t (a int) /*!90000 WHATEVER */\n"},
		{"histogram", "/*!80002 ANALYZE TABLE `t` UPDATE HISTOGRAM ON `a` WITH 100 BUCKETS */;", "/*!80002 ANALYZE TABLE `t` UPDATE HISTOGRAM ON `a` WITH 100 BUCKETS */\n"},
		{"8.0.12 SET NAMES", " SET NAMES utf8 ;\n SET character_set_client = utf8mb4 ;", "SET NAMES utf8\nSET character_set_client = utf8mb4\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mapped(t, mysqlHeader+tt.in+"\n", &Dialect{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// The mapping picks a collation the server has.
func TestDialectCollationFallback(t *testing.T) {
	old := map[string]bool{"utf8mb4_unicode_520_nopad_ci": true, "utf8mb4_nopad_bin": true}
	got, err := mapped(t, mysqlHeader+"CREATE TABLE t (a text COLLATE utf8mb4_0900_as_cs) COLLATE=utf8mb4_de_pb_0900_ai_ci;\n", &Dialect{}, old)
	if err != nil {
		t.Fatal(err)
	}
	if want := "CREATE TABLE t (a text COLLATE utf8mb4_nopad_bin) COLLATE=utf8mb4_unicode_520_nopad_ci\n"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	_, err = mapped(t, mysqlHeader+"CREATE TABLE t (a text) COLLATE=utf8mb4_0900_ai_ci;\n", &Dialect{}, map[string]bool{"utf8mb4_bin": true})
	if err == nil || !strings.Contains(err.Error(), "the server has none of") {
		t.Errorf("err = %v, want no collation found", err)
	}
}

// MariaDB 11.4.5 on has MySQL's 0900 collations under their own names:
// a server that has the dump's collation keeps it, as the mariadb client's
// load of the dump would, and the mapping changes only what it lacks.
func TestDialectKeepsCollationsTheServerHas(t *testing.T) {
	has := map[string]bool{"utf8mb4_0900_ai_ci": true, "utf8mb4_0900_as_cs": true,
		"utf8mb4_uca1400_nopad_ai_ci": true, "utf8mb4_uca1400_spanish2_nopad_as_cs": true}
	d := &Dialect{}
	in := "CREATE TABLE t (a text COLLATE utf8mb4_0900_as_cs, b text COLLATE utf8mb4_es_trad_0900_as_cs) COLLATE=UTF8MB4_0900_AI_CI;\n" +
		"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;\n"
	got, err := mapped(t, mysqlHeader+in, d, has)
	if err != nil {
		t.Fatal(err)
	}
	want := "CREATE TABLE t (a text COLLATE utf8mb4_0900_as_cs, b text COLLATE utf8mb4_uca1400_spanish2_nopad_as_cs) COLLATE=UTF8MB4_0900_AI_CI\n" +
		"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var changes []string
	for _, c := range d.Changes() {
		changes = append(changes, c.String())
	}
	if got, want := strings.Join(changes, "; "), "mapped 1 collations utf8mb4_es_trad_0900_as_cs -> utf8mb4_uca1400_spanish2_nopad_as_cs"; got != want {
		t.Errorf("changes %q, want %q", got, want)
	}
}

// A MariaDB dump is read as it is, and so is a MySQL dump without a
// Dialect.
func TestDialectLeavesOthersAlone(t *testing.T) {
	stmt := "CREATE TABLE t (a int /*!80023 INVISIBLE */) COLLATE=utf8mb4_0900_ai_ci;\n"
	d := &Dialect{}
	got, err := mapped(t, header+stmt, d, nil)
	if err != nil || got != strings.TrimSuffix(stmt, ";\n")+"\n" || len(d.Changes()) != 0 || d.Mapped() {
		t.Errorf("MariaDB dump: %q, %v, changes %v", got, err, d.Changes())
	}
	got, err = mapped(t, mysqlHeader+stmt, nil, nil)
	if err != nil || got != strings.TrimSuffix(stmt, ";\n")+"\n" {
		t.Errorf("no Dialect: %q, %v", got, err)
	}
	if _, err := mapped(t, mysqlHeader+"SET @@GLOBAL.GTID_PURGED='a:1';\n", nil, nil); err == nil {
		t.Error("no Dialect: GTID_PURGED passed")
	}
}

func TestDialectRefuses(t *testing.T) {
	for _, tt := range []struct{ name, in, reason string }{
		{"NOT ENFORCED", "CREATE TABLE t (a int, CONSTRAINT c CHECK ((a > 0)) /*!80016 NOT ENFORCED */);", "ran /*!80016 NOT ENFORCED */"},
		{"SRID", "CREATE TABLE t (p point NOT NULL /*!80003 SRID 4326 */);", "ran /*!80003 SRID 4326 */"},
		{"ENCRYPTION Y", "CREATE TABLE t (a int) /*!80016 ENCRYPTION='Y' */;", "ENCRYPTION='Y'"},
		{"unknown language", "CREATE TABLE t (a text COLLATE utf8mb4_xx_0900_ai_ci);", "collation utf8mb4_xx_0900_ai_ci: not one the restore can map"},
		{"GTID with more", "SET @@GLOBAL.GTID_PURGED='a:1', @@GLOBAL.read_only=1;", "is for a MySQL replica"},
		{"GTID set with a quote trick", "SET @@GLOBAL.GTID_PURGED='a:1'; DROP DATABASE x; '';", "not the dump's own database"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := mapped(t, mysqlHeader+tt.in+"\n", &Dialect{}, nil)
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("err = %v, want a refusal: %s", err, tt.reason)
			}
		})
	}
}

func TestDialectStrict(t *testing.T) {
	for _, in := range []string{
		"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ '';",
		"CREATE TABLE t (a int) COLLATE=utf8mb4_0900_ai_ci;",
		"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;",
		"CREATE TABLE t (a int /*!80023 INVISIBLE */);",
		"CREATE TABLE t (a int) /*!80016 ENCRYPTION='N' */;",
	} {
		d := &Dialect{Strict: true}
		_, err := mapped(t, mysqlHeader+in+"\n", d, nil)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "strict mode maps nothing") {
			t.Errorf("%s: err = %v, want a strict refusal", in, err)
		}
		if len(d.Changes()) != 0 {
			t.Errorf("%s: changes %v in strict mode", in, d.Changes())
		}
	}
	// A MySQL dump that needs nothing passes.
	if _, err := mapped(t, mysqlHeader+"CREATE TABLE t (a int) COLLATE=utf8mb4_general_ci;\nSET @@SESSION.SQL_LOG_BIN= 0;\n", &Dialect{Strict: true}, nil); err != nil {
		t.Errorf("strict: %v", err)
	}
}

// The test dumps under testdata/mysql pass the gate whole with the
// mapping; the refused ones are refused.
func TestDialectTestDumps(t *testing.T) {
	for _, f := range []string{"mysql80.sql", "mysql80-12.sql", "mysql57.sql", "mariadb-dump-of-mysql80.sql", "mariadb-10.11.sql"} {
		b, err := os.ReadFile("../../testdata/mysql/" + f)
		if err != nil {
			t.Fatal(err)
		}
		for _, text := range []string{string(b), strings.ReplaceAll(string(b), "\n", "\r\n")} {
			if _, err := mapped(t, text, &Dialect{}, nil); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		}
	}
}

func FuzzGateMySQL(f *testing.F) {
	for _, s := range []string{
		"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-3';",
		"CREATE TABLE t (a varchar(5) COLLATE utf8mb4_0900_as_cs /*!80023 INVISIBLE */, KEY k (a) /*!80000 INVISIBLE */) COLLATE=utf8mb4_0900_ai_ci /*!80016 ENCRYPTION='N' */;",
		"SET NAMES 'utf8mb4' COLLATE 'utf8mb4_0900_ai_ci';",
		"/*!50003 SET collation_connection  = utf8mb4_0900_ai_ci */ ;",
		"CREATE VIEW v AS SELECT (_utf8mb4'zz' collate utf8mb4_0900_ai_ci) AS x;",
		"CREATE TABLE t (a int /*!80023 INVISIBLE /*!80023 x */ */);",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		dump := mysqlHeader + body + "\n"
		g := NewGate(NewSplitter(strings.NewReader(dump)), GateOptions{Server: maria1011, Dialect: &Dialect{}})
		for {
			st, err := g.Next()
			if err != nil {
				return
			}
			if st.Class == ClassSkip && strings.HasPrefix(st.Kind, "MySQL ") {
				continue
			}
			// The mapping is idempotent, and what it let through passes
			// the checks again as it is.
			h := NewGate(NewSplitter(strings.NewReader(mysqlHeader+"SET NAMES utf8mb4;\n")), GateOptions{Server: maria1011, Dialect: &Dialect{}})
			if _, err := h.Next(); err != nil {
				t.Fatal(err)
			}
			sql := append([]byte(nil), st.SQL...)
			out, drop, r := h.mapMySQL(sql)
			if r != nil || drop != "" || string(out) != string(sql) {
				t.Fatalf("mapping again changed %q: %q, %q, %v", sql, out, drop, r)
			}
			if _, err := h.check(out, true, 1); err != nil {
				t.Fatalf("a passed statement does not pass again: %v\n%q", err, out)
			}
		}
	})
}

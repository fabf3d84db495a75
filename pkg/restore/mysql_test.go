package restore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/klauspost/compress/zstd"
)

const mysqlData = "../../testdata/mysql/"

// zstdBytes compresses like backupd does.
func zstdBytes(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := zstd.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readData(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(mysqlData, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// crlf turns a dump's line ends into CRLF, as Windows tools write them.
func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }

// describe is what a restore must reproduce of a database: the
// fingerprint (CHECKSUM TABLE, columns, objects), row counts, SHOW CREATE
// TABLE of every table, and the collations of columns, tables and objects.
// Carriage returns are taken out: the mariadb client drops them from
// bodies, the Go driver keeps them, neither changes what a body does.
func describe(t *testing.T, srv *testdb.Server, db string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(srv.Fingerprint(t, db))
	tables := srv.Exec(t, "", fmt.Sprintf("SELECT table_name FROM information_schema.tables WHERE table_schema='%s' AND table_type='BASE TABLE' ORDER BY table_name", db))
	for _, tbl := range strings.Fields(tables) {
		b.WriteString(srv.Exec(t, db, "SELECT COUNT(*) FROM "+testdb.Ident(tbl)))
		b.WriteString(srv.Exec(t, db, "SHOW CREATE TABLE "+testdb.Ident(tbl)))
	}
	for _, q := range []string{
		"SELECT table_name, table_collation FROM information_schema.tables WHERE table_schema='%s' ORDER BY table_name",
		"SELECT table_name, column_name, collation_name, extra FROM information_schema.columns WHERE table_schema='%s' ORDER BY table_name, column_name",
		"SELECT table_name, index_name, ignored FROM information_schema.statistics WHERE table_schema='%s' ORDER BY table_name, index_name, seq_in_index",
		"SELECT routine_name, character_set_client, collation_connection FROM information_schema.routines WHERE routine_schema='%s' ORDER BY routine_name",
		"SELECT trigger_name, character_set_client, collation_connection FROM information_schema.triggers WHERE trigger_schema='%s' ORDER BY trigger_name",
		"SELECT table_name, character_set_client, collation_connection FROM information_schema.views WHERE table_schema='%s' ORDER BY table_name",
	} {
		b.WriteString(srv.Exec(t, "", fmt.Sprintf(q, db)))
	}
	return strings.ReplaceAll(b.String(), "\r", "")
}

var dialectLoaders = []struct {
	name string
	ld   Loader
}{
	{"parallel", loader.Parallel{Parallel: 2}},
	{"parallel, every INSERT as LOAD DATA", loader.Parallel{Parallel: 2, TextMin: 1}},
	{"client", loader.Client{}},
}

// comLoad is the number of LOAD DATA statements the server has run.
func comLoad(t *testing.T, srv *testdb.Server) string {
	t.Helper()
	return srv.Exec(t, "", "SHOW GLOBAL STATUS LIKE 'Com_load'")
}

// mysql80Mapped is what the mapping changes in mysql80.sql for a server
// without MySQL's 0900 collations.
var mysql80Mapped = []string{
	// The save, the switch off and the switch back.
	"dropped 3 SQL_LOG_BIN",
	"dropped 1 GTID_PURGED",
	// A column and an ALTER DATABASE around a routine.
	"mapped 2 collations utf8mb4_0900_as_cs -> utf8mb4_uca1400_nopad_as_cs",
	"mapped 1 collations utf8mb4_de_pb_0900_ai_ci -> utf8mb4_uca1400_german2_nopad_ai_ci",
	"mapped 1 collations utf8mb4_0900_bin -> utf8mb4_nopad_bin",
	"mapped 1 invisible columns /*!80023 INVISIBLE */ -> INVISIBLE",
	"mapped 1 invisible indexes /*!80000 INVISIBLE */ -> IGNORED",
	// Three tables, the trigger's, the function's and the
	// procedure's wrappers, the procedure's body, the ALTER
	// DATABASE after it, the view's wrapper and its body.
	"mapped 10 collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci",
	"dropped 1 ENCRYPTION='N'",
}

// serverReference adapts a reference written in MariaDB 10.11's dialect,
// and the mapping expected for a server without MySQL's collations, to the
// test server: one that has a mapped collation by its MySQL name (MariaDB
// 11.4.5 on) keeps it, so the reference names it too and the mapping
// leaves it out.
func serverReference(t *testing.T, srv *testdb.Server, ref []byte, mapped []string) ([]byte, []string) {
	t.Helper()
	var keep []string
	for _, m := range mapped {
		from, to, ok := strings.Cut(strings.TrimPrefix(m, "mapped "), " -> ")
		if _, name, isColl := strings.Cut(from, " collations "); ok && isColl && srv.HasCollation(t, name) {
			ref = bytes.ReplaceAll(ref, []byte(to), []byte(name))
			continue
		}
		keep = append(keep, m)
	}
	if mapped == nil {
		return ref, nil
	}
	return ref, keep
}

// MySQL's dumps, restored into MariaDB, hold what the same data written in
// MariaDB's own dialect holds, with both loaders, as the app's own user
// (no SUPER: the dump's SQL_LOG_BIN switch would need it).
func TestRestoreMySQLDumps(t *testing.T) {
	srv := testdb.Get(t)
	for _, tt := range []struct {
		name, dump, ref string
		mangle          func([]byte) []byte
		source          string
		mapped          []string
	}{
		{name: "mysqldump 8.0.36", dump: "mysql80.sql", ref: "mysql80.ref.sql", source: "MySQL 8.0.36", mapped: mysql80Mapped},
		{name: "mysqldump 8.0.36, CRLF", dump: "mysql80.sql", ref: "mysql80.ref.sql", mangle: crlf, source: "MySQL 8.0.36", mapped: mysql80Mapped},
		{name: "mysqldump 8.0.12", dump: "mysql80-12.sql", ref: "notes.ref.sql", source: "MySQL 8.0.12", mapped: []string{
			"dropped 3 SQL_LOG_BIN", "dropped 1 GTID_PURGED",
			"mapped 2 collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci",
		}},
		{name: "mysqldump 5.7", dump: "mysql57.sql", ref: "mysql57.ref.sql", source: "MySQL 5.7.44-log", mapped: []string{
			"dropped 3 SQL_LOG_BIN", "dropped 1 GTID_PURGED",
		}},
		{name: "mariadb-dump of MySQL 8.0", dump: "mariadb-dump-of-mysql80.sql", ref: "notes.ref.sql", source: "MySQL 8.0.36", mapped: []string{
			"mapped 3 collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci",
		}},
		{name: "mariadb-dump of MariaDB", dump: "mariadb-10.11.sql", ref: "notes.ref.sql", source: "MariaDB 10.11.19-MariaDB-0+deb12u1"},
	} {
		refSQL, mapped := serverReference(t, srv, readData(t, tt.ref), tt.mapped)
		tt.mapped = mapped
		ref := srv.NewDatabase(t, "ref")
		srv.Exec(t, ref, string(refSQL))
		want := describe(t, srv, ref)
		for _, l := range dialectLoaders {
			t.Run(tt.name+"/"+l.name, func(t *testing.T) {
				data := readData(t, tt.dump)
				if tt.mangle != nil {
					data = tt.mangle(data)
				}
				target := srv.NewDatabase(t, "app")
				conn := limitedUser(t, srv, target)
				dir := t.TempDir()
				put(t, dir, at(3, 0), catalog.Zstd, zstdBytes(t, data))
				status := filepath.Join(t.TempDir(), "status.json")
				r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Loader: l.ld, StatusFile: status, Log: testLog(t)}
				loads := comLoad(t, srv)
				rep, err := restoreNow(t, r, r.Store)
				if err != nil {
					t.Fatalf("restore: %v", err)
				}
				if p, ok := l.ld.(loader.Parallel); ok && p.TextMin == 1 && comLoad(t, srv) == loads {
					t.Errorf("no LOAD DATA ran")
				}
				if len(rep.Skipped) > 0 {
					t.Fatalf("skipped %v", rep.Skipped)
				}
				if got := describe(t, srv, target); got != want {
					t.Errorf("restored database differs from the reference\n--- got\n%s\n--- want\n%s", got, want)
				}
				if rep.Source != tt.source {
					t.Errorf("source %q, want %q", rep.Source, tt.source)
				}
				var st Status
				b, err := os.ReadFile(status)
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &st); err != nil {
					t.Fatal(err)
				}
				if st.Source != tt.source {
					t.Errorf("status source %q, want %q", st.Source, tt.source)
				}
				if tt.mangle != nil {
					return
				}
				if got, want := strings.Join(st.Mapped, "\n"), strings.Join(tt.mapped, "\n"); got != want {
					t.Errorf("status mapped\n%s\nwant\n%s", got, want)
				}
			})
		}
	}
}

// With Strict, a MySQL dump that needs mapping is refused like a corrupt
// one, and the next candidate is restored; a MySQL dump that needs
// nothing is not.
func TestRestoreMySQLStrict(t *testing.T) {
	srv := testdb.Get(t)
	for _, l := range dialectLoaders {
		t.Run(l.name, func(t *testing.T) {
			target := srv.NewDatabase(t, "app")
			dir := t.TempDir()
			older := put(t, dir, at(1, 0), catalog.Zstd, zstdBytes(t, readData(t, "mariadb-10.11.sql")))
			mysql := put(t, dir, at(3, 0), catalog.Zstd, zstdBytes(t, readData(t, "mysql80-12.sql")))
			r := &Restorer{Store: openStore(t, dir, nil), Conn: limitedUser(t, srv, target), Loader: l.ld, Strict: true, Log: testLog(t)}
			rep, err := restoreNow(t, r, r.Store)
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if rep.Backup.Name != older {
				t.Errorf("restored %s, want %s", rep.Backup.Name, older)
			}
			if len(rep.Skipped) != 1 || rep.Skipped[0].Backup != mysql || !errors.Is(rep.Skipped[0].Err, sqltext.ErrRefused) ||
				!strings.Contains(rep.Skipped[0].Err.Error(), "strict mode maps nothing") {
				t.Errorf("skipped %v, want %s refused in strict mode", rep.Skipped, mysql)
			}
			if len(rep.Mapped) != 0 {
				t.Errorf("mapped %v in strict mode", rep.Mapped)
			}
		})
	}
}

// Dumps that are not one loadable database are refused by the gate, with
// the reason, and the next candidate is restored.
func TestRestoreRefusesPartialDumps(t *testing.T) {
	srv := testdb.Get(t)
	for _, tt := range []struct{ file, reason string }{
		{"all-databases.sql", "the dump's header names no database of its own"},
		{"system-schema.sql", "a dump of the system database `mysql`"},
		{"stderr-inside.sql", "mysqldump: ...), which belong to its stderr"},
		{"data-only.sql", "the keys of `notes`, which the dump does not create"},
		{"view-only.sql", "it defines views but no table"},
		{"replace-ignore.sql", "REPLACE IGNORE"},
		{"not-enforced.sql", "ran /*!80016 NOT ENFORCED */, which MariaDB skips"},
	} {
		for _, l := range dialectLoaders {
			t.Run(tt.file+"/"+l.name, func(t *testing.T) {
				target := srv.NewDatabase(t, "app")
				dir := t.TempDir()
				good := put(t, dir, at(1, 0), catalog.Zstd, zstdBytes(t, readData(t, "mariadb-10.11.sql")))
				bad := put(t, dir, at(3, 0), catalog.Zstd, zstdBytes(t, readData(t, "refused/"+tt.file)))
				r := &Restorer{Store: openStore(t, dir, nil), Conn: limitedUser(t, srv, target), Loader: l.ld, Log: testLog(t)}
				rep, err := restoreNow(t, r, r.Store)
				if err != nil {
					t.Fatalf("restore: %v", err)
				}
				if rep.Backup.Name != good {
					t.Errorf("restored %s, want %s", rep.Backup.Name, good)
				}
				if len(rep.Skipped) != 1 || rep.Skipped[0].Backup != bad || !errors.Is(rep.Skipped[0].Err, sqltext.ErrRefused) ||
					!strings.Contains(rep.Skipped[0].Err.Error(), tt.reason) {
					t.Errorf("skipped %v, want %s refused by the gate: %s", rep.Skipped, bad, tt.reason)
				}
			})
		}
	}
}

// The source recorded on a backup is what the restore reports.
func TestRestoreReportsRecordedSource(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	dir := t.TempDir()
	name := put(t, dir, at(3, 0), catalog.Zstd, zstdBytes(t, readData(t, "mysql80-12.sql")))
	meta := map[string]map[string]string{name: {catalog.MetaSource: "MySQL 8.0.36"}}
	r := &Restorer{Store: openStore(t, dir, meta), Conn: limitedUser(t, srv, target), Log: testLog(t)}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.Status().Source, "MySQL 8.0.36"; got != want {
		t.Errorf("source %q, want %q", got, want)
	}
}

// A backup taken by backupd records its server, and the restore reports
// that rather than the dump's header.
func TestRestoreReportsSourceOfBackupdBackup(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	backupdBackup(t, srv, src, dir, at(3, 0))
	version := strings.TrimSpace(srv.Exec(t, "", "SELECT @@version"))
	want := "MariaDB " + strings.SplitN(version, "-", 2)[0]
	target := srv.NewDatabase(t, "app")
	r := &Restorer{Store: openStore(t, dir, nil), Conn: limitedUser(t, srv, target), Log: testLog(t)}
	rep, err := restoreNow(t, r, r.Store)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Backup.Source != want || rep.Source != want {
		t.Errorf("recorded source %q, reported %q; want %q", rep.Backup.Source, rep.Source, want)
	}
}

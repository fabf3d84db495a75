package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/restore"
	"github.com/klauspost/compress/zstd"
)

// A MySQL 8.0 dump is restored with what was mapped in the report and in
// --json; with RESTORE_STRICT it is refused and nothing is restored.
func TestRestoreMySQLDumpStrictAndReport(t *testing.T) {
	srv := testdb.Get(t)
	sqlText, err := os.ReadFile("../../testdata/mysql/mysql80-12.sql")
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	zw, _ := zstd.NewWriter(&z)
	zw.Write(sqlText)
	zw.Close()
	store := t.TempDir()
	putFile(t, store, "db-backup-20260314-030000.sql.zst", z.Bytes())
	target := srv.NewDatabase(t, "app")
	user := srv.NewUser(t, target, "pw")
	for _, db := range []string{target + "_restore", target + "_restore_old"} {
		srv.Exec(t, "", fmt.Sprintf("GRANT ALL ON `%s`.* TO '%s'@'localhost'", strings.ReplaceAll(db, "_", `\_`), user))
		t.Cleanup(func() { _, _ = srv.Run("", "DROP DATABASE IF EXISTS `"+db+"`") })
	}
	env := map[string]string{
		"BACKUPD_REMOTE": store, "DB_SOCKET": srv.Socket, "DB_DATABASE": target,
		"DB_USERNAME": user, "DB_PASSWORD": "pw", "RESTORE_STRICT": "true",
	}
	code, out, errOut := run(t, env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitFailure || !strings.Contains(errOut, "strict mode maps nothing") {
		t.Errorf("strict: exit %d, want %d with the refusal\nstdout:\n%s\nstderr:\n%s", code, cli.ExitFailure, out, errOut)
	}
	if n := srv.Exec(t, "", fmt.Sprintf("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='%s'", target)); strings.TrimSpace(n) != "0" {
		t.Errorf("strict: the refused dump left %s tables in the target", n)
	}

	delete(env, "RESTORE_STRICT")
	code, out, errOut = run(t, env, "--now", "2026-03-15T05:00:00Z")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// MariaDB 11.4.5 on has MySQL's collation under its own name: nothing
	// to map there.
	collation := "  mapped     mapped 2 collations utf8mb4_0900_ai_ci -> utf8mb4_uca1400_nopad_ai_ci\n"
	mapped := 3
	if srv.HasCollation(t, "utf8mb4_0900_ai_ci") {
		if strings.Contains(out, "collations") {
			t.Errorf("report maps a collation the server has:\n%s", out)
		}
		collation, mapped = "", 2
	}
	for _, want := range []string{
		"  source     MySQL 8.0.12\n",
		"  mapped     dropped 1 GTID_PURGED\n",
		collation,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "mapped MySQL's dialect to MariaDB's") {
		t.Errorf("log lacks the mapping:\n%s", errOut)
	}
	code, out, errOut = run(t, env, "--now", "2026-03-15T05:00:00Z", "--json")
	if code != cli.ExitOK {
		t.Fatalf("--json: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	var st restore.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatal(err)
	}
	if st.Source != "MySQL 8.0.12" || len(st.Mapped) != mapped {
		t.Errorf("--json source %q mapped %q", st.Source, st.Mapped)
	}
}

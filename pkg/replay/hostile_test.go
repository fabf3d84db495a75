package replay

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/recovery"
)

// The application's account writes statements the server reads as one
// thing and the binary log tool's client could read as another: a "--"
// followed by a control byte (a comment to the server, not to the client)
// hiding the tool's delimiter and a DROP DATABASE, and a table whose name
// holds a newline, which the tool prints raw in a comment line. Recovered
// through the real tools (mariadb-binlog into mariadb, mysqlbinlog into
// mysql) by an account that could drop it, a database of the target
// server the recovery does not own is still there: the replay stops
// before each.
func TestRecoverHostileStatements(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		product               string
		dumpProduct, dumpTool string
	}{
		{"MySQL 9.7", testdb.MySQL97, testdb.MariaDB118, "mariadb-dump"},
		{"MariaDB 11.8", testdb.MariaDB118, testdb.MariaDB118, "mariadb-dump"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFamily(t, tc.product, tc.dumpProduct, tc.dumpTool)
			f.tools(t)
			w := newWorld(t, f)
			w.backup()
			time.Sleep(1100 * time.Millisecond)
			app, err := f.source.Root("app").OpenDB(nil, true)
			if err != nil {
				t.Fatal(err)
			}
			defer app.Close()
			if _, err := app.Exec("CREATE TABLE t10 (a INT) --\x01/*!*/;DROP DATABASE victim"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(1100 * time.Millisecond)
			between := w.quiet()
			time.Sleep(1100 * time.Millisecond)
			w.backup()
			time.Sleep(1100 * time.Millisecond)
			for _, q := range []string{"CREATE TABLE `x\nDROP DATABASE victim;\n#` (a INT)", "INSERT INTO `x\nDROP DATABASE victim;\n#` VALUES (1)"} {
				if _, err := app.Exec(q); err != nil {
					t.Fatal(err)
				}
			}
			w.settle()

			victim := func() {
				t.Helper()
				if out := f.target.Exec(t, "", "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'victim'"); strings.TrimSpace(out) != "1" {
					t.Errorf("database victim on the target lost its table: %q", out)
				}
			}
			for _, step := range []struct {
				name, db string
				to       time.Time
				kind     string
			}{
				{"hidden statement", "app_a", between, "create table"},
				{"table name with a newline", "app_b", time.Time{}, "row changes"},
			} {
				f.target.Exec(t, "", "CREATE DATABASE IF NOT EXISTS victim; CREATE TABLE IF NOT EXISTS victim.k (a INT)")
				plan := recovery.Make(w.listBackups(), w.listSegments(), step.to)
				if !plan.Complete || len(plan.Segments) == 0 {
					t.Fatalf("%s: plan %+v", step.name, plan)
				}
				r := w.recoverer(step.db)
				r.Target = f.target.Root(step.db)
				rep, err := r.Run(context.Background(), plan)
				if err != nil {
					t.Errorf("%s: %v", step.name, err)
				}
				victim()
				if rep.Stopped == nil || rep.Stopped.Kind != step.kind {
					t.Errorf("%s: stopped %v, want a stop before the %s", step.name, rep.Stopped, step.kind)
				}
			}
		})
	}
}

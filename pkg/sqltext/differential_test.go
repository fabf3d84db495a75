package sqltext

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

// diffCase is a piece of a dump whose own database is "src", and what
// runs what it created (a CALL, an INSERT that fires a trigger). A
// control names only the database loaded into: the gate must let it
// through.
type diffCase struct {
	name, sql, fire string
	control         bool
}

// elsewhere are ways to name table t of database victim, which the
// account loading the dump may not touch; %s is where "victim" goes.
var elsewhere = []string{
	"%s.t", "`%s`.`t`", "%s . t", "%s/**/.t", "%s -- c\n.t", "%s /*!50000 . */ t", "/*!50000 %s.*/t",
	"src.%s.t", "`src`.`%s`.t", "src . %s . t",
}

// bodies are statements of a routine or trigger body; %s is a table
// elsewhere, as one of elsewhere spells it.
var bodies = []string{
	"INSERT %s VALUES (7)",
	"INSERT INTO %s VALUES (7)",
	"INSERT LOW_PRIORITY IGNORE %s VALUES (7)",
	"REPLACE %s VALUES (7)",
	"DELETE FROM %s",
	"DELETE x FROM %s x",
	"DELETE local, x FROM local JOIN %s x ON 1",
	"UPDATE %s SET id = 7",
	"UPDATE local, %s SET local.id = 7",
	"SELECT COUNT(*) INTO @n FROM %s",
	"SELECT COUNT(*) INTO @n FROM local, %s",
	"SELECT COUNT(*) INTO @n FROM (%s)",
	"SELECT COUNT(*) INTO @n FROM local JOIN (local l2, %s) ON 1",
	"SELECT COUNT(*) INTO @n FROM local USE INDEX (PRIMARY), %s",
	"SELECT COUNT(*) INTO @n FROM local WHERE id IN (SELECT id FROM %s)",
	"SELECT COUNT(*) INTO @n FROM local WHERE EXISTS (TABLE %s)",
	"SET @n = (SELECT COUNT(*) FROM %s)",
	"INSERT INTO local SELECT id FROM %s",
	"CREATE INDEX i ON %s (id)",
	"DROP INDEX i ON %s",
	"CREATE TABLE %s (id INT)",
	"CREATE TABLE x LIKE %s",
	"DROP TABLE IF EXISTS %s",
	"RENAME TABLE local TO %s",
	"ALTER TABLE local RENAME TO %s",
	"ALTER TABLE local ADD c INT DEFAULT (1), RENAME TO %s",
	"TRUNCATE %s",
	"TRUNCATE TABLE %s",
	"CHECKSUM TABLE %s",
	"ANALYZE TABLE %s",
	"DO (SELECT COUNT(*) FROM %s)",
	"DESCRIBE %s",
	"DESC %s",
	"EXPLAIN %s",
	"SELECT id INTO @n FROM local ORDER BY id DESC, (SELECT COUNT(*) FROM %s) LIMIT 1",
}

// routines are body statements that reach routine f, procedure p or
// sequence s of database %s.
var routines = []string{
	"SET @n = %s.f()", "SET @n = %s . f ( )", "DO %s.f()", "CALL %s.p()", "CALL %s.p",
	"SET @n = NEXTVAL(%s.s)", "SET @n = LASTVAL(%s.s)", "SET @n = NEXT VALUE FOR %s.s", "SET @n = SETVAL(%s.s, 5)",
	"SELECT %s.f() INTO @n", "SELECT COUNT(*) INTO @n FROM local WHERE id = %s.f()",
}

// tableStatements are statements of a dump itself.
var tableStatements = []string{
	"CREATE TABLE %s (id INT)",
	"ALTER TABLE %s ADD c INT",
	"DROP TABLE IF EXISTS %s",
	"INSERT INTO %s VALUES (7)",
	"LOCK TABLES %s WRITE",
	"CREATE TABLE x (id INT PRIMARY KEY, FOREIGN KEY (id) REFERENCES %s (id))",
	"CREATE TABLE x LIKE %s",
	"CREATE VIEW v AS SELECT * FROM %s",
	"CREATE VIEW v AS SELECT (SELECT COUNT(*) FROM %s) AS n",
	"CREATE SEQUENCE %s",
	"SELECT SETVAL(%s, 5, 0)",
}

// diffCases generates the corpus: every statement with every way of
// naming what is elsewhere, inside a routine, a trigger and an event's
// place (a routine), and the byte tricks of single-byte character sets.
func diffCases(victim string) []diffCase {
	var out []diffCase
	n := 0
	control := false
	add := func(name, sql, fire string) {
		n++
		out = append(out, diffCase{name: fmt.Sprintf("%03d %s", n, name), sql: sql, fire: fire, control: control})
	}
	for i, form := range append(elsewhere, "%s", "src.%s", "`src` . `%s`") {
		control = i >= len(elsewhere)
		tbl := fmt.Sprintf(form, victim)
		if control {
			tbl = fmt.Sprintf(form, "t2")
		}
		for _, st := range tableStatements {
			add(st, fmt.Sprintf(st, tbl)+";", "")
		}
		for _, b := range bodies {
			body := fmt.Sprintf(b, tbl)
			add("procedure: "+b, fmt.Sprintf("DELIMITER ;;\nCREATE PROCEDURE p%d() BEGIN %s; END;;\nDELIMITER ;", n+1, body), fmt.Sprintf("CALL p%d()", n+1))
			add("trigger: "+b, fmt.Sprintf("DELIMITER ;;\nCREATE TRIGGER tr%d AFTER INSERT ON local FOR EACH ROW BEGIN %s; END;;\nDELIMITER ;", n+1, body),
				"INSERT INTO local VALUES (NULL)")
		}
	}
	control = false
	for _, form := range []string{"%s", "`%s`", "src.%s"} {
		db := fmt.Sprintf(form, victim)
		for _, b := range routines {
			add("procedure: "+b, fmt.Sprintf("DELIMITER ;;\nCREATE PROCEDURE p%d() BEGIN %s; END;;\nDELIMITER ;", n+1, fmt.Sprintf(b, db)), fmt.Sprintf("CALL p%d()", n+1))
		}
	}
	for _, set := range []string{"SET NAMES latin1", "SET character_set_client = cp1251", "SET NAMES koi8r"} {
		for _, b := range []byte{0xA0, 0x7F, 0x85, 0xFF} {
			add(set+fmt.Sprintf(" 0x%02X", b), set+";\nCREATE TABLE \xA0 --"+string(b)+"'\n"+victim+".t (id INT) -- ';\nSET NAMES utf8mb4;", "")
		}
	}
	return out
}

// accessDenied reports whether err is the server refusing the account a
// database, table, column or routine.
func accessDenied(err error) bool {
	switch mariadb.Code(err) {
	case mariadb.ErDBAccessDenied, mariadb.ErAccessDenied, mariadb.ErTableAccessDenied, mariadb.ErSpecificAccess, 1143, 1370:
		return true
	}
	return false
}

// TestGateAgainstServer runs a generated corpus of statements that reach
// for another database through the gate and, when the gate lets them
// through, on the server, as an account whose grants cover only the
// database loaded into, and as root: an "access denied" for the account,
// or anything changed outside that database, means the gate let through
// what reaches out of it.
// It runs on a server of its own, where nothing else changes anything.
func TestGateAgainstServer(t *testing.T) {
	srv := testdb.StartPrivate(t, t.TempDir())
	victim := srv.NewDatabase(t, "victim")
	srv.Exec(t, victim, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);"+
		" CREATE FUNCTION f() RETURNS INT RETURN 1; CREATE PROCEDURE p() SELECT 1; CREATE SEQUENCE s")
	outside := func() string {
		return srv.Exec(t, "", "SELECT table_schema, table_name, table_type FROM information_schema.tables WHERE table_schema NOT LIKE 'stg%' AND table_schema NOT IN ('information_schema', 'performance_schema') ORDER BY 1, 2;"+
			" SELECT routine_schema, routine_name FROM information_schema.routines WHERE routine_schema NOT LIKE 'stg%' ORDER BY 1, 2;"+
			" SELECT trigger_schema, trigger_name FROM information_schema.triggers WHERE trigger_schema NOT LIKE 'stg%' ORDER BY 1, 2;"+
			" SELECT index_schema, table_name, index_name FROM information_schema.statistics WHERE index_schema NOT LIKE 'stg%' AND index_schema NOT IN ('mysql') ORDER BY 1, 2, 3;"+
			" CHECKSUM TABLE "+Qualified(victim, "t")+" EXTENDED")
	}
	cases := diffCases(victim)
	for _, account := range []string{"app", "root"} {
		t.Run(account, func(t *testing.T) {
			stg := srv.NewDatabase(t, "stg")
			conn := srv.Root(stg)
			if account == "app" {
				conn = mariadb.Conn{Socket: srv.Socket, User: srv.NewUser(t, stg, "pw"), Password: "pw", Database: stg}
			}
			pool, err := conn.OpenDB(nil, true)
			if err != nil {
				t.Fatal(err)
			}
			defer pool.Close()
			ctx := context.Background()
			// One session, as a loader's: the settings a dump makes hold
			// for the statements after them.
			db, err := pool.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			opts := gateOptions(t, db)
			before := outside()
			var defects []string
			ran := 0
			for _, c := range cases {
				stmts, err := gateAll(t, "-- Host: localhost    Database: src\n"+c.sql+"\n", opts)
				var re *RefusedError
				if err != nil && !errors.As(err, &re) {
					t.Fatalf("%s: %v", c.name, err)
				}
				if re != nil {
					if c.control {
						t.Errorf("%s: the gate refused a statement of the database loaded into: %v", c.name, re)
					}
					continue
				}
				ran++
				for _, q := range []string{"DROP TABLE IF EXISTS local, x, v, t2", "CREATE TABLE t2 (id INT PRIMARY KEY)",
					"CREATE TABLE local (id INT AUTO_INCREMENT PRIMARY KEY)"} {
					if _, err := db.ExecContext(ctx, q); err != nil {
						t.Fatal(err)
					}
				}
				for _, st := range stmts {
					if st.Class == ClassSkip {
						continue
					}
					err = run(ctx, db, string(st.SQL))
					if err != nil {
						break
					}
				}
				if err == nil && c.fire != "" {
					err = run(ctx, db, c.fire)
				}
				if accessDenied(err) {
					defects = append(defects, fmt.Sprintf("%s\n    %q\n    -> %v", c.name, c.sql, err))
				}
				if after := outside(); after != before {
					defects = append(defects, fmt.Sprintf("%s\n    %q changed what is outside %s:\n%s", c.name, c.sql, stg, after))
					before = after
				}
			}
			t.Logf("%d cases, %d let through and run", len(cases), ran)
			if len(defects) > 0 {
				t.Errorf("the gate let through %d statements that reach outside the database loaded into:\n%s", len(defects), strings.Join(defects, "\n"))
			}
		})
	}
}

// gateOptions are the gate's options as a loader sets them for db: the
// server's version, and every database the account sees as foreign.
func gateOptions(t *testing.T, db *sql.Conn) GateOptions {
	t.Helper()
	var version string
	if err := db.QueryRowContext(context.Background(), "SELECT VERSION()").Scan(&version); err != nil {
		t.Fatal(err)
	}
	v, err := ParseServerVersion(version)
	if err != nil {
		t.Fatal(err)
	}
	opts := GateOptions{Server: v}
	rows, err := db.QueryContext(context.Background(), "SHOW DATABASES")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			t.Fatal(err)
		}
		opts.Foreign = append(opts.Foreign, name)
	}
	return opts
}

// run runs one statement as the loaders do (one at a time, results read
// and dropped).
func run(ctx context.Context, db *sql.Conn, stmt string) error {
	rows, err := db.QueryContext(ctx, stmt)
	if err != nil {
		return err
	}
	for {
		for rows.Next() {
		}
		if !rows.NextResultSet() {
			break
		}
	}
	if err := rows.Err(); err != nil && !errors.Is(err, io.EOF) {
		rows.Close()
		return err
	}
	return rows.Close()
}

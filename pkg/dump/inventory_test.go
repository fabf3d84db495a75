package dump

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
)

var accountSeq atomic.Int64

// objectsDB is a database holding one object of each kind, all created by
// root: a dump account sees those of others only with the right grants.
func objectsDB(t *testing.T, srv *testdb.Server) string {
	t.Helper()
	db := srv.NewDatabase(t, "inv")
	srv.Exec(t, db, `CREATE TABLE t (id int PRIMARY KEY, v int);
CREATE TABLE u (id int);
CREATE VIEW v AS SELECT id FROM t;
CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 1;
CREATE EVENT ev ON SCHEDULE EVERY 1 DAY DO DELETE FROM t WHERE id < 0;
CREATE PROCEDURE p1() SELECT 1;
CREATE FUNCTION f1() RETURNS int DETERMINISTIC RETURN 1;`)
	return db
}

// account creates a dump account on srv with grants (GRANT ... TO %s),
// connecting over the server's socket.
func account(t *testing.T, srv *testdb.Server, db string, grants ...string) mariadb.Conn {
	t.Helper()
	user := fmt.Sprintf("inv%d_%d", os.Getpid(), accountSeq.Add(1))
	to := fmt.Sprintf("'%s'@'localhost'", user)
	sql := fmt.Sprintf("CREATE USER %s IDENTIFIED BY 'inv-pw';", to)
	for _, g := range grants {
		sql += " " + fmt.Sprintf(g, testdb.Ident(db), to) + ";"
	}
	srv.Exec(t, "", sql)
	t.Cleanup(func() { _, _ = srv.Run("", "DROP USER IF EXISTS "+to) })
	return mariadb.Conn{Socket: srv.Socket, User: user, Password: "inv-pw", Database: db}
}

// The dump tool of each source, as production pairs them: MariaDB's own,
// and MariaDB 11.8's against MySQL.
func toolFor(t *testing.T, product string) string {
	if testdb.MySQL(product) {
		return testdb.Tool(t, testdb.MariaDB118, "mariadb-dump")
	}
	return testdb.Tool(t, product, "mariadb-dump")
}

// readGrant is the grant docs/mysql.md gives, per family, to read the
// routines other accounts created.
func readGrant(product string) string {
	switch product {
	case testdb.MySQL97:
		return "GRANT SHOW_ROUTINE ON *.* TO %[2]s"
	case testdb.MariaDB118:
		return "GRANT SHOW CREATE ROUTINE ON %[1]s.* TO %[2]s"
	}
	return "GRANT SELECT ON mysql.proc TO %[2]s"
}

const baseGrant = "GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON %s.* TO %s"

// TestDumpKnowsWhatTheDatabaseHolds: on each server family, a dump account
// that cannot see the routines (or triggers) other accounts created fails
// the dump, naming the grant that family needs, instead of leaving them
// out of the backup without a word; with the grant the dump holds them all.
func TestDumpKnowsWhatTheDatabaseHolds(t *testing.T) {
	for _, product := range testdb.Products {
		t.Run(product, func(t *testing.T) {
			srv := testdb.For(t, product)
			db := objectsDB(t, srv)
			tool := toolFor(t, product)
			dump := func(conn mariadb.Conn) (string, error) {
				var buf bytes.Buffer
				_, err := (&Dumper{Program: tool, Conn: conn}).Dump(context.Background(), &buf, nil)
				if err != nil {
					return "", err
				}
				return decompress(t, buf.Bytes()), nil
			}

			wantGrant := map[string]string{
				testdb.MySQL97:    "GRANT SHOW_ROUTINE ON *.*",
				testdb.MariaDB118: "GRANT SHOW CREATE ROUTINE ON " + testdb.Ident(db) + ".*",
				testdb.System:     "GRANT SELECT ON mysql.proc",
			}[product]
			_, err := dump(account(t, srv, db, baseGrant))
			var pe *PrivilegeError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), wantGrant) || !strings.Contains(err.Error(), "routines") {
				t.Errorf("without the grant to read routines: err = %v, want a PrivilegeError naming %q", err, wantGrant)
			}

			_, err = dump(account(t, srv, db, "GRANT SELECT, SHOW VIEW, EVENT, LOCK TABLES ON %s.* TO %s", readGrant(product)))
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), "TRIGGER") || !strings.Contains(err.Error(), "triggers") {
				t.Errorf("without TRIGGER: err = %v, want a PrivilegeError naming TRIGGER", err)
			}

			sql, err := dump(account(t, srv, db, baseGrant, readGrant(product)))
			if err != nil {
				t.Fatalf("with the documented grants: %v", err)
			}
			for _, want := range []string{"PROCEDURE `p1`", "FUNCTION `f1`", "TRIGGER", "EVENT `ev`", "VIEW `v`"} {
				if !strings.Contains(sql, want) {
					t.Errorf("the dump lacks %s", want)
				}
			}
		})
	}
}

// A dump that holds less than information_schema shows (here a tool that
// leaves a routine and a table out) is not a good dump.
func TestDumpHoldingLessFails(t *testing.T) {
	srv := testdb.Get(t)
	db := objectsDB(t, srv)
	tool := fakeTool(t, `if [ "$1" = --version ]; then echo 'mariadb-dump from 11.8.9-MariaDB, client 10.20'; exit 0; fi
cat <<'EOF'
CREATE TABLE `+"`t`"+` (id int);
/*!50001 VIEW `+"`v`"+` AS select 1 */;
DELIMITER ;;
/*!50003 CREATE*/ /*!50017 DEFINER=`+"`root`@`localhost`"+`*/ /*!50003 TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.v = 1 */;;
DELIMITER ;
DELIMITER ;;
/*!50106 CREATE*/ /*!50117 DEFINER=`+"`root`@`localhost`"+`*/ /*!50106 EVENT `+"`ev`"+` ON SCHEDULE EVERY 1 DAY DO DELETE FROM t */ ;;
DELIMITER ;
DELIMITER ;;
CREATE DEFINER=`+"`root`@`localhost`"+` PROCEDURE `+"`p1`"+`()
CREATE TABLE not_a_table (id int);
SELECT 1 ;;
DELIMITER ;
-- Dump completed on 2026-11-26  4:00:00
EOF
`)
	_, err := (&Dumper{Program: tool, Conn: srv.Root(db)}).Dump(context.Background(), &bytes.Buffer{}, nil)
	var ie *IncompleteError
	if !errors.As(err, &ie) || !strings.Contains(err.Error(), "1 of the 2 tables") || !strings.Contains(err.Error(), "1 of the 2 routines") {
		t.Errorf("err = %v, want an IncompleteError for 1 of 2 tables and 1 of 2 routines", err)
	}
}

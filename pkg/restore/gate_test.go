package restore

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
)

// craftedDump looks like a dump of src (header, one table, a row, the
// trailer) with payload among its statements.
func craftedDump(src, payload string) []byte {
	return []byte("-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)\n--\n" +
		"-- Host: localhost    Database: " + src + "\n" +
		"-- ------------------------------------------------------\n\n" +
		"/*!40101 SET NAMES utf8mb4 */;\n" +
		"DROP TABLE IF EXISTS `users`;\n" +
		"CREATE TABLE `users` (`id` int NOT NULL, `name` text, PRIMARY KEY (`id`)) ENGINE=InnoDB;\n" +
		"INSERT INTO `users` VALUES (1,'crafted');\n" +
		payload + "\n" +
		"-- Dump completed on 2026-03-14  3:00:01\n")
}

// serverState is what a restore must not change outside its databases.
func serverState(t *testing.T, srv *testdb.Server, other string) string {
	t.Helper()
	return srv.Exec(t, "", "SELECT user, host, priv FROM mysql.global_priv ORDER BY user, host;"+
		" SELECT * FROM mysql.db ORDER BY host, db, user;"+
		" SELECT * FROM mysql.tables_priv ORDER BY host, db, user, table_name;"+
		" SELECT @@GLOBAL.max_connections, @@GLOBAL.sql_mode, @@GLOBAL.time_zone, @@GLOBAL.general_log, @@GLOBAL.event_scheduler;"+
		" SELECT schema_name FROM information_schema.schemata WHERE schema_name NOT LIKE '%\\_restore%' ORDER BY 1;"+
		" SELECT name FROM mysql.func ORDER BY 1; SELECT name FROM mysql.plugin ORDER BY 1") +
		srv.Fingerprint(t, other)
}

// TestRestoreRefusesCraftedBackups offers, for each way a crafted backup
// has reached outside the database it restores, such a backup as the best
// candidate and a good one as the next, to both loaders, as the app's
// limited user and as root: the crafted one must be refused before any of
// its payload runs, the good one restored, and nothing outside the target
// and its workspaces changed: other databases, users and grants, global
// settings, files, the secret file left unread.
func TestRestoreRefusesCraftedBackups(t *testing.T) {
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	goodDir := t.TempDir()
	good := backupdBackup(t, srv, src, goodDir, at(0, 0))
	goodBytes := read(t, goodDir, good.Name)
	want := srv.Fingerprint(t, src)

	other := srv.NewDatabase(t, "keep")
	srv.Exec(t, other, "CREATE TABLE keep (id INT PRIMARY KEY, v TEXT); INSERT INTO keep VALUES (1, 'precious')")

	// Files go where the server may write them, when it may write any.
	files := strings.TrimSpace(srv.Exec(t, "", "SELECT IFNULL(@@secure_file_priv, '')"))
	if files == "" || files == "NULL" {
		t.Logf("the server writes and reads no files (secure_file_priv is NULL): the file cases check the gate only")
		files = t.TempDir()
	}
	files = strings.TrimSuffix(files, "/")
	secret := filepath.Join(files, fmt.Sprintf("secret-%d.txt", time.Now().UnixNano()))
	const secretText = "TOPSECRET-b4ckupd"
	if err := os.WriteFile(secret, []byte(secretText+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(secret) })
	out := func(name string) string {
		return filepath.Join(files, fmt.Sprintf("%s-%d.txt", name, time.Now().UnixNano()))
	}

	type craft struct {
		name    string
		payload func(target, user string) string
		outFile string // a file the payload would write
	}
	outfile, dumpfile, procfile, shell := out("outfile"), out("dumpfile"), out("procfile"), out("shell")
	crafts := []craft{
		{name: "qualified names", payload: func(target, _ string) string {
			return fmt.Sprintf("INSERT INTO `%s`.users VALUES (99,'x'); DROP TABLE `%s`.keep;", target, other)
		}},
		{name: "USE behind a blank", payload: func(string, string) string { return " USE `" + other + "`;\nDROP TABLE keep;" }},
		{name: "DROP DATABASE behind a comment", payload: func(string, string) string { return "/* hi */ DROP DATABASE `" + other + "`;" }},
		{name: "conditional comment", payload: func(string, string) string { return "/*!50000 DROP TABLE `" + other + "`.keep */;" }},
		{name: "MariaDB conditional comment", payload: func(string, string) string { return "/*M!100000 DROP TABLE `" + other + "`.keep */;" }},
		{name: "CREATE USER", payload: func(string, string) string { return "CREATE USER 'evil'@'%' IDENTIFIED BY 'x';" }},
		{name: "GRANT", payload: func(_, user string) string {
			return "GRANT ALL ON *.* TO " + user + " WITH GRANT OPTION;"
		}},
		{name: "SET GLOBAL", payload: func(string, string) string { return "SET GLOBAL max_connections=7;" }},
		{name: "SET @@GLOBAL", payload: func(string, string) string { return "/*!40101 SET @@GLOBAL.max_connections=7 */;" }},
		{name: "INTO OUTFILE", payload: func(string, string) string {
			return "SELECT * FROM users INTO OUTFILE '" + outfile + "';"
		}, outFile: outfile},
		{name: "INTO DUMPFILE in a routine", payload: func(string, string) string {
			return "DELIMITER ;;\nCREATE PROCEDURE p() SELECT name FROM users LIMIT 1 INTO DUMPFILE '" + procfile + "' ;;\nDELIMITER ;\n" +
				"INSERT INTO users SELECT 2, 'x' FROM users WHERE 0 = 1;" // never reached: the routine is refused first
		}, outFile: procfile},
		{name: "SELECT INTO DUMPFILE", payload: func(string, string) string {
			return "SELECT 'x' INTO DUMPFILE '" + dumpfile + "';"
		}, outFile: dumpfile},
		{name: "SET PASSWORD", payload: func(string, string) string { return "SET PASSWORD = PASSWORD('hacked');" }},
		{name: "LOAD DATA LOCAL INFILE", payload: func(string, string) string {
			return "LOAD DATA LOCAL INFILE '" + secret + "' INTO TABLE users (name);"
		}},
		{name: "LOAD DATA INFILE", payload: func(string, string) string {
			return "LOAD DATA INFILE '" + secret + "' INTO TABLE users (name);"
		}},
		{name: "LOAD_FILE in row data", payload: func(string, string) string {
			return "INSERT INTO users VALUES (2, LOAD_FILE('" + secret + "'));"
		}},
		{name: "view of another database", payload: func(string, string) string {
			return "CREATE VIEW leak AS SELECT * FROM mysql.global_priv;"
		}},
		{name: "client command", payload: func(string, string) string { return "\\! touch " + shell }, outFile: shell},
		// A name of three parts that starts with the dump's own database:
		// taking the qualifier out must not leave another database's name.
		{name: "three-part CREATE TABLE", payload: func(target, _ string) string {
			return fmt.Sprintf("CREATE TABLE %s.`%s`.pwned (id INT);", src, target)
		}},
		{name: "three-part ALTER TABLE", payload: func(string, string) string {
			return fmt.Sprintf("ALTER TABLE `%s`.`%s`.keep ADD COLUMN pwned INT;", src, other)
		}},
		{name: "three-part name in a view", payload: func(target, _ string) string {
			return fmt.Sprintf("CREATE VIEW leak AS SELECT * FROM %s.`%s`.keep;", src, other)
		}},
		// In latin1, 0xA0 is a blank to the server: "--\xA0" starts a comment
		// there, which hides the quote that hid the name from the gate.
		{name: "latin1 blank", payload: func(target, _ string) string {
			return "/*!40101 SET NAMES latin1 */;\nCREATE TABLE \xA0 --\xA0'\n`" + target + "`.pwned2 (id INT) -- ';\n/*!40101 SET NAMES utf8mb4 */;"
		}},
		// Bodies restored into the target that write into the next
		// restore's staging database while it loads.
		{name: "event writing into staging", payload: func(target, _ string) string {
			return "CREATE EVENT ev ON SCHEDULE EVERY 1 SECOND DO INSERT `" + target + StagingSuffix + "`.users VALUES (7, 'planted');"
		}},
		{name: "trigger writing into staging", payload: func(target, _ string) string {
			return "CREATE TRIGGER tr AFTER INSERT ON users FOR EACH ROW INSERT `" + target + StagingSuffix + "`.users VALUES (7, 'planted');"
		}},
		{name: "routine indexing staging", payload: func(target, _ string) string {
			return "CREATE PROCEDURE pi() CREATE INDEX i ON `" + target + StagingSuffix + "`.users (name(3));"
		}},
		{name: "routine calling another database's", payload: func(string, string) string {
			return "CREATE FUNCTION fx() RETURNS INT RETURN `" + other + "`.f();"
		}},
	}
	users := []struct {
		name string
		conn func(t *testing.T, target string) (mariadb.Conn, string)
	}{
		{"app user", func(t *testing.T, target string) (mariadb.Conn, string) {
			c := limitedUser(t, srv, target)
			return c, "'" + c.User + "'@'localhost'"
		}},
		{"root", func(t *testing.T, target string) (mariadb.Conn, string) {
			return srv.Root(target), "'root'@'localhost'"
		}},
	}
	for _, c := range crafts {
		for _, u := range users {
			for _, l := range bothLoaders {
				t.Run(c.name+"/"+u.name+"/"+l.name, func(t *testing.T) {
					target := srv.NewDatabase(t, "app")
					conn, account := u.conn(t, target)
					dir := t.TempDir()
					put(t, dir, at(0, 0), catalog.Zstd, goodBytes)
					crafted := put(t, dir, at(3, 0), catalog.Gzip, gzipBytes(t, craftedDump(src, c.payload(target, account))))
					before := serverState(t, srv, other)

					r := &Restorer{Store: openStore(t, dir, nil), Conn: conn, Loader: l.ld, Log: testLog(t)}
					rep, err := restoreNow(t, r, r.Store)
					if err != nil {
						t.Fatalf("restore: %v", err)
					}
					if rep.Backup.Name != good.Name {
						t.Errorf("restored %s, want the good backup %s", rep.Backup.Name, good.Name)
					}
					if len(rep.Skipped) != 1 || rep.Skipped[0].Backup != crafted || !strings.Contains(rep.Skipped[0].Err.Error(), "refused statement") {
						t.Errorf("skipped %v, want %s refused by the gate", rep.Skipped, crafted)
					}
					if got := srv.Fingerprint(t, target); got != want {
						t.Errorf("restored database differs from the good backup\n--- got\n%s\n--- want\n%s", got, want)
					}
					if got := serverState(t, srv, other); got != before {
						t.Errorf("the crafted backup changed the server outside its databases\n--- after\n%s\n--- before\n%s", got, before)
					}
					if c.outFile != "" {
						if _, err := os.Stat(c.outFile); !os.IsNotExist(err) {
							os.Remove(c.outFile)
							t.Errorf("the crafted backup wrote %s", c.outFile)
						}
					}
					if n := srv.Exec(t, "", fmt.Sprintf("SELECT COUNT(*) FROM `%s`.users WHERE name LIKE '%%%s%%'", target, secretText)); strings.TrimSpace(n) != "0" {
						t.Errorf("the secret file was loaded into the restored database")
					}
				})
			}
		}
	}
}

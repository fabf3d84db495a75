package sqltext

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

var maria1011 = ServerVersion{N: 101119, MariaDB: true}

const header = "-- MariaDB dump 10.19  Distrib 10.11.19-MariaDB\n--\n-- Host: localhost    Database: src\n-- ------\n\n"

// gateAll runs the gate over a whole dump.
func gateAll(t testing.TB, dump string, opts GateOptions) ([]Statement, error) {
	t.Helper()
	if opts.Server.N == 0 {
		opts.Server = maria1011
	}
	g := NewGate(NewSplitter(strings.NewReader(dump)), opts)
	var out []Statement
	for {
		st, err := g.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		st.SQL = append([]byte(nil), st.SQL...)
		out = append(out, st)
	}
}

func TestParseServerVersion(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want ServerVersion
	}{
		{"10.11.19-MariaDB-0+deb12u1", ServerVersion{101119, true}},
		{"11.4.2-MariaDB", ServerVersion{110402, true}},
		{"8.0.36", ServerVersion{80036, false}},
		{"5.7.44-log", ServerVersion{50744, false}},
	} {
		if got, err := ParseServerVersion(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseServerVersion(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseServerVersion("MariaDB"); err == nil {
		t.Error("a version without numbers was accepted")
	}
}

// The dumps the dump programs write pass whole, classified as the loaders
// need.
func TestGateRealDumps(t *testing.T) {
	// The same database dumped by each version of mariadb-dump, read by
	// the server version that the dump's tool comes with.
	for _, tt := range []struct {
		file   string
		server ServerVersion
	}{
		{"testdata/mariadb-dump-10.11.sql", maria1011},
		{"testdata/mariadb-dump-11.8.sql", ServerVersion{N: 110809, MariaDB: true}},
	} {
		t.Run(tt.file, func(t *testing.T) {
			b, err := os.ReadFile(tt.file)
			if err != nil {
				t.Fatal(err)
			}
			sts, err := gateAll(t, string(b), GateOptions{Server: tt.server, Foreign: []string{"other"}})
			if err != nil {
				t.Fatal(err)
			}
			count := map[Class]int{}
			for _, st := range sts {
				count[st.Class]++
				if bytes.Contains(st.SQL, []byte("DEFINER=")) {
					t.Errorf("line %d keeps its DEFINER: %q", st.Line, st.SQL)
				}
				if bytes.Contains(st.SQL, []byte("`src`")) {
					t.Errorf("line %d still names the dump's database: %q", st.Line, st.SQL)
				}
			}
			if count[ClassData] != 9 || count[ClassTable] != 18 || count[ClassObject] < 10 || count[ClassSession] < 50 || count[ClassOther] != 0 {
				t.Errorf("classes %v", count)
			}
		})
	}

	sts, err := gateAll(t, mysql80Dump, GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range sts {
		if st.Class != ClassSession {
			kinds = append(kinds, st.Kind)
		}
	}
	if got, want := strings.Join(kinds, ", "), "session setting, session setting, drop table `t`, create table `t`, lock tables, alter table `t`, insert into `t`, alter table `t`, unlock tables, drop table `v`, view, view, routine, routine, view, view, session setting"; got != want {
		t.Errorf("mysqldump 8.0 kinds:\n got %s\nwant %s", got, want)
	}
}

// mysql80Dump is the shape of a mysqldump 8.0 dump without GTIDs.
const mysql80Dump = "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: 127.0.0.1    Database: app\n" +
	"-- ------------------------------------------------------\n-- Server version\t8.0.36\n\n" +
	"/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;\n" +
	"/*!50503 SET NAMES utf8mb4 */;\n" +
	"/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;\n/*!40103 SET TIME_ZONE='+00:00' */;\n" +
	"/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;\n" +
	"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;\n" +
	"/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;\n" +
	"SET @MYSQLDUMP_TEMP_LOG_BIN = @@SESSION.SQL_LOG_BIN;\nSET @@SESSION.SQL_LOG_BIN= 0;\n\n" +
	"DROP TABLE IF EXISTS `t`;\n/*!40101 SET @saved_cs_client     = @@character_set_client */;\n" +
	"/*!50503 SET character_set_client = utf8mb4 */;\n" +
	"CREATE TABLE `t` (\n  `id` bigint unsigned NOT NULL AUTO_INCREMENT,\n  `b` blob,\n  `j` json DEFAULT NULL,\n  `f` double DEFAULT '1.5',\n" +
	"  PRIMARY KEY (`id`),\n  CONSTRAINT `c` CHECK ((`f` > 0))\n) /*!50100 TABLESPACE `innodb_system` */ ENGINE=InnoDB AUTO_INCREMENT=3 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\n" +
	"/*!40101 SET character_set_client = @saved_cs_client */;\n" +
	"LOCK TABLES `t` WRITE;\n/*!40000 ALTER TABLE `t` DISABLE KEYS */;\n" +
	"INSERT INTO `t` VALUES (1,_binary 'a\\0b','{\\\"a\\\": 1}',1.5e-7),(2,0x00FF,NULL,-2),(3,_binary '',NULL,.5);\n" +
	"/*!40000 ALTER TABLE `t` ENABLE KEYS */;\nUNLOCK TABLES;\n" +
	"DROP TABLE IF EXISTS `v`;\n/*!50001 DROP VIEW IF EXISTS `v`*/;\n" +
	"SET @saved_cs_client     = @@character_set_client;\n/*!50503 SET character_set_client = utf8mb4 */;\n" +
	"/*!50001 CREATE VIEW `v` AS SELECT \n 1 AS `id`*/;\nSET character_set_client = @saved_cs_client;\n" +
	"/*!50003 SET @saved_sql_mode       = @@sql_mode */ ;\n" +
	"/*!50003 SET sql_mode              = 'ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION' */ ;\n" +
	"/*!50003 DROP PROCEDURE IF EXISTS `p` */;\n" +
	"DELIMITER ;;\nCREATE DEFINER=`admin`@`%` PROCEDURE `p`(IN x INT)\nBEGIN\n  SELECT t.id INTO @y FROM t WHERE t.id = x;\nEND ;;\nDELIMITER ;\n" +
	"/*!50003 SET sql_mode              = @saved_sql_mode */ ;\n" +
	"/*!50001 DROP VIEW IF EXISTS `v`*/;\n" +
	"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`admin`@`%` SQL SECURITY DEFINER */\n" +
	"/*!50001 VIEW `v` AS select `t`.`id` AS `id` from `t` */;\n" +
	"SET @@SESSION.SQL_LOG_BIN = @MYSQLDUMP_TEMP_LOG_BIN;\n" +
	"/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;\n\n-- Dump completed on 2026-03-14  3:00:01\n"

// TestGateRefuses covers every kind of statement the gate refuses, in the
// forms that got past the line filters it replaced.
func TestGateRefuses(t *testing.T) {
	tests := []struct {
		name, sql, kind string
		db              bool  // wraps ErrDatabaseStatement
		line            int64 // 0 means 8
	}{
		// Other databases.
		{"qualified insert", "INSERT INTO app.users VALUES (1);", "INSERT INTO", true, 0},
		{"qualified drop", "DROP TABLE app.orders;", "DROP TABLE", true, 0},
		{"qualified, quoted, spaced", "INSERT INTO `app` /* x */ . -- y\n `users` VALUES (1);", "INSERT INTO", true, 0},
		{"qualified lock", "LOCK TABLES `other`.`t` WRITE;", "LOCK TABLES", true, 0},
		{"qualified setval", "SELECT SETVAL(`other`.`s`, 1, 0);", "SELECT", true, 0},
		{"USE", "USE other;", "USE", true, 0},
		{"USE behind a blank", " USE other;", "USE", true, 0},
		{"USE mixed case", "uSe `OtHeR`;", "USE", true, 0},
		{"USE behind a comment", "/* hi */ USE other;", "USE", true, 0},
		{"USE CRLF", "USE other\r\n;\r\n", "USE", true, 0},
		{"DROP DATABASE behind a comment", "/* hi */ DROP DATABASE app;", "DROP DATABASE", true, 0},
		{"CREATE DATABASE other", "CREATE DATABASE IF NOT EXISTS other;", "CREATE DATABASE", true, 0},
		{"DROP SCHEMA", "DROP SCHEMA IF EXISTS `app`;", "DROP SCHEMA", true, 0},
		{"conditional comment", "/*!50000 DROP TABLE other.keep */;", "DROP TABLE", true, 0},
		{"MariaDB conditional comment", "/*M!100000 DROP TABLE other.keep */;", "DROP TABLE", true, 0},
		{"conditional comment without a version", "/*! USE other */;", "USE", true, 0},
		{"conditional comment with four digits", "/*!5000 USE other */;", "statement", false, 0},
		{"split across conditional comments", "/*!50000 DROP */ /*!50000 DATABASE app */;", "DROP DATABASE", true, 0},
		{"qualifier in a conditional comment", "INSERT INTO /*!50000 other. */ t VALUES (1);", "INSERT INTO", true, 0},
		{"ALTER DATABASE other", "ALTER DATABASE other CHARACTER SET latin1;", "ALTER DATABASE", true, 0},
		{"RENAME TABLE", "RENAME TABLE t TO other.t;", "RENAME TABLE", false, 0},
		{"TRUNCATE", "TRUNCATE other.t;", "TRUNCATE", false, 0},
		{"DELIMITER", "DELIMITER //\nINSERT INTO t VALUES (1)//\nUSE other//\n", "USE", true, 10},
		{"two statements in one", "DELIMITER ;;\nINSERT INTO t VALUES (1); USE other;;\n", "INSERT INTO", false, 9},
		{"CREATE TABLE LIKE another database", "CREATE TABLE t LIKE other.t;", "CREATE TABLE", true, 0},
		{"foreign key to another database", "CREATE TABLE t (a INT, FOREIGN KEY (a) REFERENCES other.p (id));", "CREATE TABLE", true, 0},
		{"view of another database", "CREATE VIEW v AS SELECT * FROM mysql.user;", "CREATE VIEW", true, 0},
		{"view named in another database", "CREATE VIEW other.v AS SELECT 1;", "CREATE VIEW", true, 0},
		{"view of a database by column", "CREATE VIEW v AS SELECT mysql.user.password FROM t;", "CREATE VIEW", true, 0},
		{"trigger on another database", "CREATE TRIGGER tr BEFORE INSERT ON other.t FOR EACH ROW SET @x = 1;", "CREATE TRIGGER", true, 0},
		{"routine writing another database", "CREATE PROCEDURE p() DELETE FROM other.t;", "CREATE PROCEDURE", true, 0},
		{"routine reading a foreign database", "CREATE FUNCTION f() RETURNS INT RETURN (SELECT COUNT(*) FROM (SELECT 1) x WHERE other.f() > 0);", "CREATE FUNCTION", true, 0},
		// Users, privileges, the server.
		{"CREATE USER", "CREATE USER 'evil'@'%' IDENTIFIED BY 'x';", "CREATE USER", false, 0},
		{"DROP USER", "DROP USER root;", "DROP USER", false, 0},
		{"GRANT", "GRANT ALL ON *.* TO 'app'@'localhost' WITH GRANT OPTION;", "GRANT", false, 0},
		{"REVOKE", "REVOKE ALL ON *.* FROM root;", "REVOKE", false, 0},
		{"SET PASSWORD", "SET PASSWORD = PASSWORD('hacked');", "SET PASSWORD", false, 0},
		{"SET PASSWORD FOR", "/*!40101 SET PASSWORD FOR root = 'x' */;", "SET PASSWORD", false, 0},
		{"SET ROLE", "SET ROLE admin;", "SET ROLE", false, 0},
		{"SET GLOBAL", "SET GLOBAL max_connections=7;", "SET GLOBAL", false, 0},
		{"SET @@GLOBAL", "SET @@GLOBAL.max_connections=7;", "SET GLOBAL", false, 0},
		{"SET @@global in a list", "/*!40101 SET NAMES utf8mb4, @@global.max_connections=7 */;", "SET GLOBAL", false, 0},
		{"GTID_PURGED", "SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'ad7d1256-c6ae-11f0-8778-5c5310ec1f7e:1-8746';", "SET GLOBAL", false, 0},
		{"SET other session variable", "SET SESSION default_storage_engine = CONNECT;", "SET SESSION", false, 0},
		{"SET STATEMENT", "SET STATEMENT max_statement_time=1 FOR DROP DATABASE x;", "SET STATEMENT", false, 0},
		{"user variable from a literal", "SET @saved_cs_client = 'gbk';", "SET", false, 0},
		{"user variable from a global", "SET @x = @@GLOBAL.max_connections;", "SET", false, 0},
		{"sql_mode ANSI_QUOTES", "/*!40101 SET SQL_MODE='ANSI_QUOTES' */;", "SET SQL_MODE", false, 0},
		{"sql_mode NO_BACKSLASH_ESCAPES", "SET sql_mode = 'STRICT_ALL_TABLES,no_backslash_escapes';", "SET SQL_MODE", false, 0},
		{"client charset gbk", "SET NAMES gbk;", "SET NAMES", false, 0},
		{"client charset sjis", "SET character_set_client = 'sjis';", "SET CHARACTER_SET_CLIENT", false, 0},
		{"SHUTDOWN", "SHUTDOWN;", "SHUTDOWN", false, 0},
		{"KILL", "KILL 1;", "KILL", false, 0},
		{"INSTALL PLUGIN", "INSTALL PLUGIN x SONAME 'x.so';", "INSTALL PLUGIN", false, 0},
		{"UNINSTALL", "UNINSTALL SONAME 'x.so';", "UNINSTALL SONAME", false, 0},
		{"UDF", "CREATE FUNCTION sys_exec RETURNS INT SONAME 'x.so';", "CREATE FUNCTION", false, 0},
		{"FLUSH", "FLUSH PRIVILEGES;", "FLUSH PRIVILEGES", false, 0},
		{"CHANGE MASTER", "CHANGE MASTER TO MASTER_HOST='evil';", "CHANGE MASTER", false, 0},
		{"PREPARE", "PREPARE s FROM @q;", "PREPARE", false, 0},
		{"EXECUTE", "EXECUTE s;", "EXECUTE", false, 0},
		{"CALL", "CALL p();", "CALL", false, 0},
		{"HANDLER", "HANDLER t OPEN;", "HANDLER", false, 0},
		{"DO", "DO SLEEP(10);", "DO", false, 0},
		{"SELECT", "SELECT 1;", "SELECT", false, 0},
		{"UPDATE", "UPDATE t SET a = 1;", "UPDATE", false, 0},
		{"event with a GRANT", "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO GRANT ALL ON *.* TO x;", "CREATE EVENT", false, 0},
		{"event dropping a database", "CREATE EVENT e ON SCHEDULE EVERY 1 SECOND DO DROP DATABASE other;", "CREATE EVENT", false, 0},
		{"routine and another statement", "DELIMITER ;;\nCREATE PROCEDURE p() SELECT 1; DROP TABLE t;;\nDELIMITER ;\n", "CREATE PROCEDURE", false, 9},
		{"trigger and another statement", "DELIMITER ;;\nCREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW BEGIN SET @a = CASE WHEN 1 THEN 2 END; END; INSERT INTO t VALUES (1);;\nDELIMITER ;\n", "CREATE TRIGGER", false, 9},
		{"routine creating a user", "CREATE PROCEDURE p() CREATE USER x;", "CREATE PROCEDURE", false, 0},
		{"routine with dynamic SQL", "DELIMITER ;;\nCREATE PROCEDURE p() BEGIN PREPARE s FROM @q; EXECUTE s; END;;\nDELIMITER ;\n", "CREATE PROCEDURE", false, 9},
		{"routine setting a global", "CREATE PROCEDURE p() SET @@global.max_connections = 7;", "CREATE PROCEDURE", false, 0},
		{"DEFINER inside a body", "CREATE PROCEDURE p() CREATE DEFINER=root@localhost VIEW v AS SELECT 1;", "CREATE PROCEDURE", false, 0},
		{"DEFINER split across comments", "CREATE /*!50000 DEFINER=*/root@localhost PROCEDURE p() SELECT 1;", "CREATE DEFINER", false, 0},
		{"temporary table", "CREATE TEMPORARY TABLE t (a INT);", "CREATE TEMPORARY", false, 0},
		{"CONNECT engine", "CREATE TABLE t (a TEXT) ENGINE=CONNECT TABLE_TYPE=CSV FILE_NAME='/etc/passwd';", "CREATE TABLE", false, 0},
		{"FEDERATED", "CREATE TABLE t (a INT) ENGINE 'FEDERATED' CONNECTION='mysql://u@evil/db/t';", "CREATE TABLE", false, 0},
		{"DATA DIRECTORY", "CREATE TABLE t (a INT) ENGINE=MyISAM DATA DIRECTORY='/var/lib/x';", "CREATE TABLE", false, 0},
		{"CREATE TABLE SELECT", "CREATE TABLE t SELECT * FROM users;", "CREATE TABLE", false, 0},
		{"ALTER TABLE other", "ALTER TABLE t ENGINE=MERGE UNION=(a, b);", "ALTER TABLE", false, 0},
		// Files.
		{"LOAD DATA LOCAL", "LOAD DATA LOCAL INFILE '/etc/passwd' INTO TABLE t;", "LOAD DATA", false, 0},
		{"LOAD DATA from a reader", "LOAD DATA LOCAL INFILE 'Reader::backupd-1' INTO TABLE t;", "LOAD DATA", false, 0},
		{"LOAD XML", "LOAD XML INFILE '/etc/passwd' INTO TABLE t;", "LOAD XML", false, 0},
		{"INTO OUTFILE", "SELECT * FROM t INTO OUTFILE '/tmp/x';", "SELECT", false, 0},
		{"INTO DUMPFILE in a routine", "CREATE PROCEDURE p() SELECT 1 INTO DUMPFILE '/tmp/x';", "CREATE PROCEDURE", false, 0},
		{"INTO OUTFILE in a view", "CREATE VIEW v AS SELECT 1 INTO OUTFILE '/tmp/x';", "CREATE VIEW", false, 0},
		{"LOAD_FILE in a row", "INSERT INTO t VALUES (1, LOAD_FILE('/etc/passwd'));", "INSERT INTO", false, 0},
		{"subquery in a row", "INSERT INTO t VALUES ((SELECT password FROM mysql.user LIMIT 1));", "INSERT INTO", false, 0},
		{"INSERT SELECT", "INSERT INTO t SELECT * FROM other.t;", "INSERT INTO", false, 0},
		{"INSERT SET", "INSERT INTO t SET a = 1;", "INSERT INTO", false, 0},
		{"ON DUPLICATE KEY", "INSERT INTO t VALUES (1) ON DUPLICATE KEY UPDATE a = 1;", "INSERT INTO", false, 0},
		{"user variable in a row", "INSERT INTO t VALUES (@secret);", "INSERT INTO", false, 0},
		{"conditional comment in a row", "INSERT INTO t VALUES (1, /*!50000 LOAD_FILE('/etc/passwd') */);", "INSERT INTO", false, 0},
		{"SOURCE", "SOURCE /tmp/x.sql;", "SOURCE", false, 0},
		{"client command", "\\! rm -rf /\n;", "client command", false, 0},
		// What the server cannot read the way the gate does.
		{"nested conditional comment", "/*!50000 /*!50000 USE other */ */;", "statement", false, 0},
		{"unclosed conditional comment", "/*!50000 INSERT INTO t VALUES (1);", "INSERT INTO", false, 0},
		{"not a comment", "--x\nUSE other;", "statement", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dump := header + "/*!40101 SET NAMES utf8mb4 */;\nINSERT INTO t VALUES (0);\n" + tt.sql + "\nINSERT INTO t VALUES (2);\n"
			sts, err := gateAll(t, dump, GateOptions{Foreign: []string{"other", "app"}})
			var re *RefusedError
			if !errors.As(err, &re) {
				t.Fatalf("err = %v, want a refusal; passed %q", err, sts[len(sts)-1].SQL)
			}
			line := tt.line
			if line == 0 {
				line = 8
			}
			if re.Kind != tt.kind || re.Line != line || !errors.Is(err, ErrRefused) || errors.Is(err, ErrDatabaseStatement) != tt.db {
				t.Errorf("refused %s at line %d (db %v): %v; want %s at line %d (db %v)", re.Kind, re.Line, errors.Is(err, ErrDatabaseStatement), err, tt.kind, line, tt.db)
			}
			if n := len(sts) - 2; n != 0 && !(line > 8 && n == 1) {
				t.Errorf("%d statements passed before the refusal", len(sts))
			}
		})
	}
}

// TestGatePasses covers what dumps write in awkward forms, and what the
// gate makes of it.
func TestGatePasses(t *testing.T) {
	tests := []struct {
		name, sql string
		class     Class
		kind      string
		want      string // the statement to run; "" means as written
	}{
		{"own database qualified", "INSERT INTO `src`.`t` VALUES (1);", ClassData, "insert into `t`", "INSERT INTO `t` VALUES (1)"},
		{"own database, spaced", "DROP TABLE IF EXISTS src . /* c */ t;", ClassTable, "drop table `t`", "DROP TABLE IF EXISTS  /* c */ t"},
		{"USE own", "USE `src`;", ClassSkip, "use", ""},
		{"CREATE DATABASE own", "CREATE DATABASE /*!32312 IF NOT EXISTS*/ `src` /*!40100 DEFAULT CHARACTER SET utf8mb4 */;", ClassSkip, "create database", ""},
		{"DROP DATABASE own", "/*!40000 DROP DATABASE IF EXISTS `src`*/;", ClassSkip, "drop database", ""},
		{"ALTER DATABASE own", "ALTER DATABASE `src` CHARACTER SET latin1 COLLATE latin1_swedish_ci ;", ClassObject, "database options", "ALTER DATABASE  CHARACTER SET latin1 COLLATE latin1_swedish_ci"},
		{"ALTER DATABASE unnamed", "ALTER DATABASE DEFAULT CHARACTER SET = utf8mb4;", ClassObject, "database options", ""},
		{"skipped conditional comment", "/*!99999 USE other */;", ClassSkip, "comment", ""},
		{"MySQL's own version", "/*!80000 DROP DATABASE other */;", ClassSkip, "comment", ""},
		{"MariaDB's future", "/*M!999999\\- enable the sandbox mode */ INSERT INTO t VALUES (1);", ClassData, "insert into `t`", ""},
		{"nested comment in a skipped one", "/*!99999 a /* b */ c */ INSERT INTO t VALUES (1);", ClassData, "insert into `t`", ""},
		{"CRLF", "INSERT INTO t VALUES\r\n(1,'a'),\r\n(2,'b')\r\n;", ClassData, "insert into `t`", "INSERT INTO t VALUES\r\n(1,'a'),\r\n(2,'b')"},
		{"literals", "INSERT IGNORE INTO t (a, `b`) VALUE (-1.5e-7,+2,.5,0x0aF,X'00',b'101',0b1,_binary 'x\\'',_utf8mb4'y',N'z',NULL,\"q\"\"\",'');", ClassData, "insert into `t`", ""},
		{"REPLACE", "REPLACE INTO t VALUES (1);", ClassData, "insert into `t`", ""},
		{"DO SETVAL", "DO SETVAL(`s`, 100, 0);", ClassData, "setval of `s`", ""},
		{"SELECT SETVAL", "SELECT SETVAL(src.s, 1001, 0, 2);", ClassData, "setval of `s`", "SELECT SETVAL(s, 1001, 0, 2)"},
		{"DEFINER of a trigger", "/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET NEW.a = 1 */;", ClassObject, "trigger", "/*!50003 CREATE*/ /*!50017 */ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW SET NEW.a = 1 */"},
		{"DEFINER of a view", "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER='u'@'%' SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `u`.`id` AS `id` from `users` `u` */;", ClassObject, "view", "/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013  SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select `u`.`id` AS `id` from `users` `u` */"},
		{"DEFINER CURRENT_USER", "CREATE DEFINER=CURRENT_USER() FUNCTION f() RETURNS INT RETURN 1;", ClassObject, "routine", "CREATE  FUNCTION f() RETURNS INT RETURN 1"},
		{"DEFINER role", "CREATE DEFINER=app_role PROCEDURE p() SELECT 1;", ClassObject, "routine", "CREATE  PROCEDURE p() SELECT 1"},
		{"routine naming its own database", "CREATE PROCEDURE p() INSERT INTO src.audit SELECT * FROM `src`.t JOIN u ON t.id = u.id;", ClassObject, "routine", "CREATE PROCEDURE p() INSERT INTO audit SELECT * FROM t JOIN u ON t.id = u.id"},
		{"compound routine", "DELIMITER ;;\nCREATE PROCEDURE p() l: BEGIN DECLARE x INT; IF x THEN SET x = CASE x WHEN 1 THEN 2 ELSE 3 END; END IF; CASE WHEN x THEN SELECT 1; END CASE; WHILE x DO SET x = 0; END WHILE; BEGIN SELECT 2; END; END l;;\nDELIMITER ;", ClassObject, "routine", ""},
		{"event", "CREATE EVENT e ON SCHEDULE EVERY 1 DAY DO DELETE FROM audit WHERE audit.id < 0;", ClassObject, "event", ""},
		{"drop several tables", "DROP TABLE IF EXISTS a, `b`;", ClassOther, "drop table", ""},
		{"ALTER TABLE", "ALTER TABLE `t` ADD KEY (a), ENGINE=Aria;", ClassTable, "alter table `t`", ""},
		{"sequence", "CREATE SEQUENCE `s` start with 1 minvalue 1 maxvalue 9223372036854775806 increment by 1 cache 1000 nocycle ENGINE=InnoDB;", ClassTable, "create sequence `s`", ""},
		{"no autocommit", "SET autocommit=0;", ClassSkip, "session setting", ""},
		{"time zone", "SET TIME_ZONE=@OLD_TIME_ZONE, sql_notes = 1, @x := @@session.sql_notes;", ClassSession, "session setting", ""},
		{"comment only", "/*!99999 SELECT 1 */ -- nothing\n;", ClassSkip, "comment", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sts, err := gateAll(t, header+tt.sql+"\n", GateOptions{Foreign: []string{"other"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(sts) != 1 {
				t.Fatalf("%d statements", len(sts))
			}
			st := sts[0]
			want := tt.want
			if want == "" {
				want = strings.TrimRight(tt.sql, ";\r\n")
				want = strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(want, ";\r\n"), "\n"), " ")
			}
			if st.Class != tt.class || st.Kind != tt.kind || (tt.want != "" && string(st.SQL) != want) {
				t.Errorf("got {%d %q %q}, want {%d %q %q}", st.Class, st.Kind, st.SQL, tt.class, tt.kind, want)
			}
			wantLine := int64(6)
			if strings.HasPrefix(tt.sql, "DELIMITER") {
				wantLine = 7
			}
			if st.Line != wantLine {
				t.Errorf("line %d, want %d", st.Line, wantLine)
			}
		})
	}
}

// Without a header, the gate knows no database of the dump's own: a
// qualified name is refused, and the first header comment after a
// statement does not count.
func TestGateWithoutHeader(t *testing.T) {
	for _, dump := range []string{
		"INSERT INTO src.t VALUES (1);\n",
		"INSERT INTO t VALUES (1);\n-- Host: localhost    Database: src\nINSERT INTO src.t VALUES (1);\n",
		"-- Host: localhost    Database: \nUSE src;\n",
	} {
		_, err := gateAll(t, dump, GateOptions{})
		if !errors.Is(err, ErrDatabaseStatement) {
			t.Errorf("%q: err = %v, want a database refusal", dump, err)
		}
	}
}

// The server's version decides what a conditional comment is.
func TestGateVersions(t *testing.T) {
	stmt := "/*!100500 DROP DATABASE other */;\n"
	if sts, err := gateAll(t, stmt, GateOptions{Server: ServerVersion{100400, true}}); err != nil || sts[0].Class != ClassSkip {
		t.Errorf("10.4: %v, %v; want the comment skipped", sts, err)
	}
	if _, err := gateAll(t, stmt, GateOptions{Server: ServerVersion{101100, true}}); !errors.Is(err, ErrRefused) {
		t.Errorf("10.11: err = %v, want a refusal", err)
	}
	// MySQL runs its own version numbers and ignores MariaDB's.
	if _, err := gateAll(t, "/*!80000 USE other */;\n", GateOptions{Server: ServerVersion{80036, false}}); !errors.Is(err, ErrRefused) {
		t.Errorf("MySQL 8.0: err = %v, want a refusal", err)
	}
	if sts, err := gateAll(t, "/*M!100000 USE other */;\n", GateOptions{Server: ServerVersion{80036, false}}); err != nil || sts[0].Class != ClassSkip {
		t.Errorf("MySQL 8.0, MariaDB comment: %v, %v; want it skipped", sts, err)
	}
}

// The DEFINER forms StripDefiner handles come out of the gate without
// their DEFINER, and rows that mention DEFINER stay as they are.
func TestGateStripsDefiners(t *testing.T) {
	sts, err := gateAll(t, header+dumpWithDefiners, GateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range sts {
		if st.Class == ClassData {
			if !bytes.Contains(st.SQL, []byte("DEFINER=`produser`")) {
				t.Errorf("row data changed: %q", st.SQL)
			}
			continue
		}
		lx := newLexer(st.SQL, maria1011)
		for tk := lx.next(); tk.kind != tEOF; tk = lx.next() {
			if lx.is(tk, "DEFINER") && lx.isP(lx.peek(), '=') {
				t.Errorf("line %d keeps its DEFINER: %q", st.Line, st.SQL)
			}
		}
	}
}

func TestClientDelimiter(t *testing.T) {
	for _, tt := range []struct{ stmt, want string }{
		{"INSERT INTO t VALUES (1)", ";"},
		{"INSERT INTO t VALUES ('a;b')", ";;"},
		{"CREATE PROCEDURE p() BEGIN SELECT ';;'; SELECT '$$'; END", "//"},
		{"INSERT INTO t VALUES (';;$$//;')", "$$a$$"},
	} {
		d, err := ClientDelimiter([]byte(tt.stmt))
		if err != nil || d != tt.want {
			t.Errorf("ClientDelimiter(%q) = %q, %v; want %q", tt.stmt, d, err, tt.want)
		}
	}
	for _, stmt := range []string{
		"INSERT INTO t VALUES (1) \\! rm",
		"CREATE PROCEDURE p() BEGIN\ndelimiter ;\nEND",
		"INSERT INTO t VALUES (1) --\x01 '",
		"INSERT INTO t VALUES ('x)",
	} {
		if _, err := ClientDelimiter([]byte(stmt)); err == nil {
			t.Errorf("ClientDelimiter(%q) accepted it", stmt)
		}
	}
}

// FuzzGate checks, on arbitrary dumps, that the gate never panics, and
// that what it lets through is a statement of an allowed kind that names
// no foreign database as the server reads it, passes the gate again as it
// is, and reaches the mariadb client whole.
func FuzzGate(f *testing.F) {
	for _, name := range []string{"testdata/mariadb-dump-10.11.sql", "testdata/mariadb-dump-11.8.sql"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(mysql80Dump))
	f.Add([]byte(header + dumpWithDefiners))
	for _, s := range []string{
		"INSERT INTO app.users VALUES (1); DROP TABLE app.orders;",
		" USE other;", "/* hi */ DROP DATABASE app;", "/*!50000 DROP TABLE other.keep */;",
		"/*M!100000 INSERT INTO other . t VALUES (1) */;", "CREATE VIEW v AS SELECT * FROM mysql.user;",
		"DELIMITER ;;\nCREATE PROCEDURE p() BEGIN SELECT other.x FROM t; END;;\nDELIMITER ;\n",
		"INSERT INTO src.t VALUES (_binary 'a\\'b', 0x0F, -1.5e3);", "/*!99999 ' */ INSERT INTO t VALUES (1);",
		// Inputs that once got through (issue 23).
		"CREATE TABLE src.other.pwned (id INT);", "ALTER TABLE src.other.keep ENGINE=InnoDB;",
		"CREATE VIEW v AS SELECT * FROM src.other.users;",
		"/*!40101 SET NAMES latin1 */;\nCREATE TABLE \xA0 --\xA0'\nother.pwned2 (id INT) -- ';",
		"CREATE TRIGGER tr AFTER INSERT ON t FOR EACH ROW INSERT other.t VALUES (1);",
		"CREATE PROCEDURE p() SELECT COUNT(*) INTO @n FROM t USE INDEX (PRIMARY), other.t;",
		"CREATE FUNCTION f() RETURNS INT RETURN other.f();",
	} {
		f.Add([]byte(header + s + "\n"))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := NewGate(NewSplitter(bytes.NewReader(data)), GateOptions{Server: maria1011, Foreign: []string{"other"}})
		for n := 0; n < 1000; n++ {
			st, err := g.Next()
			if err != nil {
				return
			}
			if st.Class < ClassOther || st.Class > ClassSkip {
				t.Fatalf("class %d", st.Class)
			}
			own, ok := g.Database()
			checkPassed(t, st.SQL, own, ok)
		}
	})
}

// checkPassed checks a statement the gate let through.
func checkPassed(t *testing.T, sql []byte, own string, ownOK bool) {
	t.Helper()
	lx := newLexer(sql, maria1011)
	first := lx.next()
	if first.kind == tEOF {
		return
	}
	switch lx.upper(first) {
	case "SET", "INSERT", "REPLACE", "SELECT", "DO", "LOCK", "UNLOCK", "COMMIT", "BEGIN", "START", "USE", "CREATE", "DROP", "ALTER":
	default:
		t.Fatalf("passed a %q statement: %q", lx.text(first), sql)
	}
	var prev tok
	for t2 := first; t2.kind != tEOF; t2 = lx.next() {
		if lx.isP(t2, '.') {
			if n, ok := lx.name(prev); ok && strings.EqualFold(n, "other") {
				t.Fatalf("passed a name qualified with a foreign database: %q", sql)
			}
		}
		if deniedWords[lx.upper(t2)] {
			t.Fatalf("passed %s: %q", lx.text(t2), sql)
		}
		prev = t2
	}
	if lx.err != nil {
		t.Fatalf("passed a statement the lexer cannot read (%v): %q", lx.err, sql)
	}
	// What the gate let through passes it again, unchanged.
	dump := "DELIMITER \x01\x02\n" + string(sql) + "\n\x01\x02\n"
	if ownOK {
		dump = "-- Host: h    Database: " + own + "\n" + dump
	}
	sts, err := gateAll(t, dump, GateOptions{Foreign: []string{"other"}})
	if bytes.Contains(sql, []byte("\x01\x02")) || bytes.HasPrefix(bytes.TrimLeft(sql, " \t\r\n"), []byte("--")) {
		return
	}
	if err != nil || len(sts) != 1 || !bytes.Equal(sts[0].SQL, sql) {
		t.Fatalf("a passed statement does not pass again as it is: %v\n%q\n%v", err, sql, sts)
	}
	// The client gets it whole.
	d, err := ClientDelimiter(sql)
	if err != nil {
		return
	}
	sp := NewSplitter(strings.NewReader("DELIMITER " + d + "\n" + string(sql) + "\n" + d + "\n"))
	got, err := sp.Next()
	if err != nil || !bytes.Equal(got, sql) {
		t.Fatalf("the client would read %q, not %q (delimiter %q): %v", got, sql, d, err)
	}
	if _, err := sp.Next(); !errors.Is(err, io.EOF) {
		t.Fatalf("the client would read more than the statement %q: %v", sql, err)
	}
}

package sqltext

import (
	"testing"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		stmt    string
		class   Class
		table   string
		kind    string
		rewrite string
	}{
		{"/*!40101 SET NAMES utf8mb4 */", ClassSession, "", "session setting", ""},
		{"/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */", ClassSession, "", "session setting", ""},
		{"SET @saved_cs_client     = @@character_set_client", ClassSession, "", "session setting", ""},
		{"SET @@SESSION.time_zone = '+00:00'", ClassSession, "", "session setting", ""},
		{"SET GLOBAL innodb_flush_log_at_trx_commit = 0", ClassOther, "", "statement", ""},
		{"SET @@GLOBAL.GTID_PURGED='x'", ClassOther, "", "statement", ""},
		{"SET @@SESSION.SQL_LOG_BIN= 0", ClassSkip, "", "", ""},
		{"set autocommit=0", ClassSkip, "", "", ""},
		{"INSERT INTO `t` VALUES (1,'a')", ClassData, "t", "insert into `t`", ""},
		{"INSERT  IGNORE INTO `we;ird``name` (`a`,`b`) VALUES (1,2)", ClassData, "we;ird`name", "insert into `we;ird``name`", ""},
		{"REPLACE INTO db.t VALUES (1)", ClassData, "t", "insert into `t`", ""},
		{"INSERT INTO t SELECT * FROM u", ClassOther, "", "statement", ""},
		{"SELECT SETVAL(`s1`, 1001, 0)", ClassData, "s1", "setval of `s1`", ""},
		{"SELECT 1", ClassOther, "", "statement", ""},
		{"LOCK TABLES `t` WRITE", ClassSkip, "", "", ""},
		{"UNLOCK TABLES", ClassSkip, "", "", ""},
		{"COMMIT", ClassSkip, "", "", ""},
		{"BEGIN NOT ATOMIC SELECT 1; END", ClassOther, "", "statement", ""},
		{"DROP TABLE IF EXISTS `t`", ClassTable, "t", "drop table `t`", ""},
		{"CREATE TABLE `t` (\n `a` int\n)", ClassTable, "t", "create table `t`", ""},
		{"DROP TABLE IF EXISTS `a`, `b`", ClassOther, "", "statement", ""},
		{"CREATE TEMPORARY TABLE t (a int)", ClassOther, "", "statement", ""},
		{"CREATE SEQUENCE `s1` start with 1", ClassTable, "s1", "create sequence `s1`", ""},
		{"/*!40000 ALTER TABLE `t` DISABLE KEYS */", ClassDisableKeys, "t", "alter table `t`", ""},
		{"/*!40000 ALTER TABLE `t` ENABLE KEYS */", ClassEnableKeys, "t", "alter table `t`", ""},
		{"ALTER TABLE `t` ADD KEY (a)", ClassTable, "t", "alter table `t`", ""},
		{"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr AFTER INSERT ON t FOR EACH ROW BEGIN END */", ClassObject, "", "trigger", ""},
		{"CREATE DEFINER=`root`@`%` PROCEDURE `p`() BEGIN END", ClassObject, "", "routine", ""},
		{"CREATE DEFINER='u'@'h' FUNCTION f() RETURNS int RETURN 1", ClassObject, "", "routine", ""},
		{"CREATE DEFINER=CURRENT_USER() FUNCTION f() RETURNS int RETURN 1", ClassObject, "", "routine", ""},
		{"/*!50003 DROP PROCEDURE IF EXISTS `p` */", ClassObject, "", "routine", ""},
		{"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `e` ON SCHEDULE EVERY 1 DAY DO SELECT 1 */", ClassObject, "", "event", ""},
		{"/*!50106 DROP EVENT IF EXISTS `e` */", ClassObject, "", "event", ""},
		{"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n/*!50001 VIEW `v` AS select 1 */", ClassObject, "", "view", ""},
		{"ALTER DATABASE `src` CHARACTER SET latin1 COLLATE latin1_swedish_ci", ClassObject, "", "database options", "ALTER DATABASE CHARACTER SET latin1 COLLATE latin1_swedish_ci"},
		{"ALTER DATABASE CHARACTER SET latin1", ClassObject, "", "database options", ""},
		{"CREATE DATABASE /*!32312 IF NOT EXISTS*/ `src` /*!40100 DEFAULT CHARACTER SET utf8mb4 */", ClassSkip, "", "", ""},
		{"/*!40000 DROP DATABASE IF EXISTS `src`*/", ClassSkip, "", "", ""},
		{"USE `src`", ClassUse, "src", "", ""},
		{"CALL p(1)", ClassOther, "", "statement", ""},
		{"-- x\nUPDATE t SET a = 1", ClassOther, "", "statement", ""},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			got := Classify([]byte(tt.stmt), map[string]bool{})
			if got.Class != tt.class || got.Table != tt.table || got.Kind != tt.kind || string(got.Rewrite) != tt.rewrite {
				t.Errorf("classify = {%d %q %q %q}, want {%d %q %q %q}", got.Class, got.Table, got.Kind, got.Rewrite, tt.class, tt.table, tt.kind, tt.rewrite)
			}
		})
	}
}

// mysqldump's stand-in table for a view is dropped and created again around
// the view: once a name is known as a view, its table statements wait with
// the view's.
func TestClassifyViewStandIn(t *testing.T) {
	views := map[string]bool{}
	steps := []struct {
		stmt  string
		class Class
	}{
		{"DROP TABLE IF EXISTS `v`", ClassTable},
		{"/*!50001 DROP VIEW IF EXISTS `v`*/", ClassObject},
		{"/*!50001 CREATE TABLE `v` (\n  `id` tinyint NOT NULL\n) ENGINE=MyISAM */", ClassObject},
		{"DROP TABLE IF EXISTS `t`", ClassTable},
		{"/*!50001 DROP TABLE IF EXISTS `v`*/", ClassObject},
		{"/*!50001 VIEW `v` AS select 1 */", ClassOther},
	}
	for _, s := range steps {
		if got := Classify([]byte(s.stmt), views).Class; got != s.class {
			t.Errorf("%s: class %d, want %d", s.stmt, got, s.class)
		}
	}
}

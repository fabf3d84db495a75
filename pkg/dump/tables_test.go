package dump

import (
	"strings"
	"testing"
)

func TestObjectCounter(t *testing.T) {
	text := "-- MariaDB dump\n" +
		"DROP TABLE IF EXISTS `a`;\n" +
		"CREATE TABLE `a` (\n  `id` int\n);\n" +
		"INSERT INTO `a` VALUES ('x\\nCREATE TABLE `fake` (');\n" +
		"/*!50001 CREATE VIEW `v` AS SELECT 1 AS `x` */;\n" +
		" CREATE TABLE `indented` (\n" +
		"CREATE TABLE `b` (\n  `id` int\n);\n" +
		"CREATE TABLE IF NOT EXISTS `c` (\n);\n" +
		"CREATE TABLES\n" +
		"DELIMITER ;;\n" +
		"/*!50003 CREATE*/ /*!50017 DEFINER=`root`@`localhost`*/ /*!50003 TRIGGER tr BEFORE INSERT ON a FOR EACH ROW SET NEW.id = 1 */;;\n" +
		"DELIMITER ;\n" +
		"DELIMITER ;;\n" +
		"/*!50106 CREATE*/ /*!50117 DEFINER=`root`@`localhost`*/ /*!50106 EVENT `ev` ON SCHEDULE EVERY 1 DAY DO DELETE FROM a */ ;;\n" +
		"DELIMITER ;\n" +
		"DELIMITER ;;\n" +
		"CREATE DEFINER=`root`@`localhost` PROCEDURE `p1`()\n" +
		"BEGIN\n" +
		"CREATE TABLE in_a_body (id int);\n" +
		"CREATE DEFINER=not a routine\n" +
		"END ;;\n" +
		"DELIMITER ;\n" +
		"DELIMITER ;;\n" +
		"CREATE DEFINER=`o``dd @`@`%` FUNCTION `f1`() RETURNS int\n" +
		"RETURN 1 ;;\n" +
		"DELIMITER ;\n" +
		"CREATE DEFINER=`root`@`localhost` AGGREGATE FUNCTION `g`(x int) RETURNS int\n" +
		"/*!50001 CREATE ALGORITHM=UNDEFINED */\n" +
		"/*!50013 DEFINER=`root`@`localhost` SQL SECURITY DEFINER */\n" +
		"/*!50001 VIEW `v` AS select 1 AS `x` */;\n" +
		"-- Dump completed\n"
	want := Objects{Tables: 3, Views: 1, Triggers: 1, Events: 1, Routines: 3}
	// Every split of the text into two writes counts the same.
	for i := 0; i <= len(text); i++ {
		var c ObjectCounter
		c.Write([]byte(text[:i]))
		c.Write([]byte(text[i:]))
		if c.Objects != want {
			t.Fatalf("split at %d: %v, want %v", i, c.Objects, want)
		}
	}
	var c ObjectCounter
	for _, b := range []byte(text) {
		c.Write([]byte{b})
	}
	if c.Objects != want {
		t.Errorf("byte by byte: %v, want %v", c.Objects, want)
	}
	if c := new(ObjectCounter); func() Objects { c.Write([]byte(strings.Repeat("x", 1<<20))); return c.Objects }() != (Objects{}) {
		t.Error("counted an object in a line of x")
	}
	// A definition's line longer than the head kept is still one line.
	var long ObjectCounter
	long.Write([]byte("CREATE TABLE `" + strings.Repeat("x", 5000) + "` (\nCREATE TABLE `y` (\n"))
	if long.Tables != 2 {
		t.Errorf("long lines: %d tables, want 2", long.Tables)
	}
}

func TestParseGrants(t *testing.T) {
	gs := parseGrants([]string{
		"GRANT USAGE ON *.* TO `u`@`localhost` IDENTIFIED BY PASSWORD '*D8'",
		"GRANT SELECT, LOCK TABLES, SHOW VIEW, EVENT, TRIGGER, SHOW CREATE ROUTINE ON `app\\_db`.* TO `u`@`localhost`",
		"GRANT SELECT (`a`, `b`), INSERT (`c`) ON `x`.`t` TO `u`@`%`",
		"GRANT SELECT ON `mysql`.`proc` TO `u`@`localhost`",
		"GRANT APPLICATION_PASSWORD_ADMIN,SHOW_ROUTINE ON *.* TO `u`@`%`",
		"GRANT EXECUTE ON PROCEDURE `app`.`p` TO `u`@`%`",
		"GRANT `rr` TO `u`@`localhost`",
		"GRANT ALL PRIVILEGES ON `sh%`.* TO `u`@`%`",
	})
	for _, tc := range []struct {
		priv, db, table string
		want            bool
	}{
		{"SELECT", "app_db", "*", true},
		{"SELECT", "appXdb", "*", false},
		{"SHOW CREATE ROUTINE", "app_db", "*", true},
		{"TRIGGER", "app_db", "*", true},
		{"SELECT", "mysql", "proc", true},
		{"SELECT", "mysql", "*", false},
		{"INSERT", "x", "t", true},
		{"INSERT", "x", "*", false},
		{"SHOW_ROUTINE", "", "", true},
		{"SELECT", "", "", false},
		{"EXECUTE", "app", "*", false},
		{"EXECUTE", "shop", "*", true},
		{"USAGE", "anything", "*", true},
	} {
		if got := has(gs, tc.priv, tc.db, tc.table); got != tc.want {
			t.Errorf("has(%s on %s.%s) = %v, want %v", tc.priv, tc.db, tc.table, got, tc.want)
		}
	}
}

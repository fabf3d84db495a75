package dump

import (
	"strings"
	"testing"
)

func TestTableCounter(t *testing.T) {
	text := "-- MariaDB dump\n" +
		"DROP TABLE IF EXISTS `a`;\n" +
		"CREATE TABLE `a` (\n  `id` int\n);\n" +
		"INSERT INTO `a` VALUES ('x\\nCREATE TABLE `fake` (');\n" +
		"/*!50001 CREATE VIEW `v` AS SELECT 1 AS `x` */;\n" +
		" CREATE TABLE `indented` (\n" +
		"CREATE TABLE `b` (\n  `id` int\n);\n" +
		"CREATE TABLE IF NOT EXISTS `c` (\n);\n" +
		"CREATE TABLES\n" +
		"-- Dump completed\n"
	const want = 3
	// Every split of the text into two writes counts the same.
	for i := 0; i <= len(text); i++ {
		var c TableCounter
		c.Write([]byte(text[:i]))
		c.Write([]byte(text[i:]))
		if c.N != want {
			t.Fatalf("split at %d: %d tables, want %d", i, c.N, want)
		}
	}
	var c TableCounter
	for _, b := range []byte(text) {
		c.Write([]byte{b})
	}
	if c.N != want {
		t.Errorf("byte by byte: %d tables, want %d", c.N, want)
	}
	if c := new(TableCounter); func() int64 { c.Write([]byte(strings.Repeat("x", 1<<20))); return c.N }() != 0 {
		t.Error("counted a table in a line of x")
	}
}

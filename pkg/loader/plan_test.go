package loader

import (
	"strings"
	"testing"

	"github.com/backupd/backupd/pkg/sqltext"
)

// LOAD DATA reads the text as bytes only when every column it names
// stores the same value from bytes as from the session's character set.
func TestPlanReadsBytesOnlyWhereTheValuesAreTheSame(t *testing.T) {
	col := func(name, typ, charset string) column {
		return column{name: name, typ: typ, charset: charset, kind: fieldKind(typ, charset)}
	}
	base := []column{
		col("id", "int", ""), col("d", "decimal", ""), col("f", "double", ""),
		col("v", "varchar", "utf8mb4"), col("t", "mediumtext", "utf8mb4"),
		col("b", "varbinary", ""), col("bl", "longblob", ""),
		col("da", "date", ""), col("dt", "datetime", ""), col("ts", "timestamp", ""), col("tm", "time", ""),
	}
	for _, c := range []struct {
		name    string
		extra   []column
		session string
		bytes   bool
	}{
		{"numbers, utf8mb4 text, blobs, dates", nil, "utf8mb4", true},
		{"the session in another character set", nil, "latin1", false},
		{"a latin1 column", []column{col("l", "varchar", "latin1")}, "utf8mb4", false},
		{"a utf8mb3 column", []column{col("u3", "char", "utf8mb3")}, "utf8mb4", false},
		{"an ENUM", []column{col("e", "enum", "utf8mb4")}, "utf8mb4", false},
		{"a SET", []column{col("s", "set", "utf8mb4")}, "utf8mb4", false},
		{"a UUID", []column{col("u", "uuid", "")}, "utf8mb4", false},
		{"an INET6", []column{col("i", "inet6", "")}, "utf8mb4", false},
		{"an INET4", []column{col("i4", "inet4", "")}, "utf8mb4", false},
		{"a JSON column", []column{col("j", "longtext", "utf8mb4")}, "utf8mb4", true},
		{"a YEAR", []column{col("y", "year", "")}, "utf8mb4", false},
		{"a BIT", []column{col("bt", "bit", "")}, "utf8mb4", false},
		{"a binary-collated CHAR", []column{col("bc", "char", "binary")}, "utf8mb4", false},
	} {
		cols := append(append([]column(nil), base...), c.extra...)
		stmt, _, ok := plan(sqltext.Insert{Table: "t"}, cols, c.session, "r")
		if !ok {
			t.Fatalf("%s: no plan", c.name)
		}
		want := " CHARACTER SET " + c.session + " "
		if c.bytes {
			want = " CHARACTER SET binary "
		}
		if !strings.Contains(stmt, want) {
			t.Errorf("%s: %s\nwant %q", c.name, stmt, want)
		}
		// Naming only the columns that read the same leaves the text bytes.
		if len(c.extra) > 0 {
			stmt, _, _ := plan(sqltext.Insert{Table: "t", Columns: []string{"id", "v"}}, cols, "utf8mb4", "r")
			if !strings.Contains(stmt, " CHARACTER SET binary ") {
				t.Errorf("%s, only id and v named: %s", c.name, stmt)
			}
		}
	}
}

package sqltext

import "strings"

// Ident quotes a name as an SQL identifier.
func Ident(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

// Qualified quotes db.name.
func Qualified(db, name string) string { return Ident(db) + "." + Ident(name) }

// Literal quotes a string as an SQL string literal.
func Literal(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`, "\x00", `\0`).Replace(s) + "'"
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '$' || c >= 0x80
}

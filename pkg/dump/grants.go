package dump

import (
	"strings"
)

// grant is one line of SHOW GRANTS that grants privileges on an object:
// its privileges (upper case, column lists dropped), and the database and
// table it names ("*" for all; the database may be a LIKE pattern, as the
// servers read database-level grants).
type grant struct {
	privs     []string
	db, table string
}

// parseGrants reads SHOW GRANTS lines ("GRANT SELECT, SHOW VIEW ON
// `app`.* TO `u`@`%`"). Lines that grant a role, a proxy or a privilege
// on one routine are left out: none covers a whole database.
func parseGrants(lines []string) []grant {
	var out []grant
	for _, l := range lines {
		rest, ok := strings.CutPrefix(l, "GRANT ")
		if !ok {
			continue
		}
		on := indexOutside(rest, " ON ")
		if on < 0 {
			continue
		}
		db, table, ok := parseObject(rest[on+len(" ON "):])
		if !ok {
			continue
		}
		g := grant{db: db, table: table}
		for _, p := range splitOutside(rest[:on], ',') {
			if i := strings.IndexByte(p, '('); i >= 0 {
				p = p[:i]
			}
			if p = strings.ToUpper(strings.TrimSpace(p)); p != "" {
				g.privs = append(g.privs, p)
			}
		}
		out = append(out, g)
	}
	return out
}

// parseObject reads "*.*", "`db`.*" or "`db`.`table`" followed by " TO ".
func parseObject(s string) (db, table string, ok bool) {
	db, s, ok = parseName(s)
	if !ok || !strings.HasPrefix(s, ".") {
		return "", "", false
	}
	table, s, ok = parseName(s[1:])
	return db, table, ok && strings.HasPrefix(s, " TO ")
}

// parseName reads "*", a backquoted name or a bare one.
func parseName(s string) (name, rest string, ok bool) {
	switch {
	case strings.HasPrefix(s, "*"):
		return "*", s[1:], true
	case strings.HasPrefix(s, "`"):
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != '`' {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == '`' {
				b.WriteByte('`')
				i++
				continue
			}
			return b.String(), s[i+1:], true
		}
		return "", "", false
	}
	i := strings.IndexAny(s, ". ")
	if i <= 0 {
		return "", "", false
	}
	return s[:i], s[i:], true
}

// indexOutside finds sep outside backquotes and parentheses.
func indexOutside(s, sep string) int {
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '`':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

// splitOutside splits s at sep outside backquotes and parentheses.
func splitOutside(s string, sep byte) []string {
	var out []string
	for {
		i := indexOutside(s, string(sep))
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// has reports whether a grant gives priv (or ALL PRIVILEGES) on the table
// db.table, "*" meaning every table of db; db "" asks for a global grant
// (ON *.*).
func has(grants []grant, priv, db, table string) bool {
	for _, g := range grants {
		if !covers(g, db, table) {
			continue
		}
		for _, p := range g.privs {
			if p == priv || p == "ALL" || p == "ALL PRIVILEGES" {
				return true
			}
		}
	}
	return false
}

// covers reports whether g's object includes db.table.
func covers(g grant, db, table string) bool {
	if g.db == "*" {
		return true
	}
	if db == "" {
		return false
	}
	if !likeMatch(g.db, db) {
		return false
	}
	return g.table == "*" || (table != "*" && g.table == table)
}

// likeMatch matches name against a database-level grant's pattern, where
// "_" and "%" are wildcards unless escaped by a backslash.
func likeMatch(pattern, name string) bool {
	if pattern == "" {
		return name == ""
	}
	switch c := pattern[0]; {
	case c == '%':
		for i := 0; i <= len(name); i++ {
			if likeMatch(pattern[1:], name[i:]) {
				return true
			}
		}
		return false
	case name == "":
		return false
	case c == '_':
		return likeMatch(pattern[1:], name[1:])
	case c == '\\' && len(pattern) > 1:
		return pattern[1] == name[0] && likeMatch(pattern[2:], name[1:])
	default:
		return c == name[0] && likeMatch(pattern[1:], name[1:])
	}
}

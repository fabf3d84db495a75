package restore

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// neededPrivileges are the database privileges the restore uses on the
// target and on both workspaces; the documented grant is ALL PRIVILEGES.
var neededPrivileges = []string{
	"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "INDEX", "ALTER",
	"CREATE VIEW", "SHOW VIEW", "TRIGGER", "CREATE ROUTINE", "ALTER ROUTINE", "EXECUTE", "EVENT",
}

// grantLine matches "GRANT <privileges> ON <db>.<table> TO ..." as SHOW
// GRANTS prints it, with <db> "*" or a backquoted name (pattern).
var grantLine = regexp.MustCompile("^GRANT (.+?) ON (\\*|`(?:[^`]|``)*`)\\.(\\*|`(?:[^`]|``)*`) TO ")

// grants is what SHOW GRANTS says the account may do.
type grants struct {
	global []string            // privileges on *.*, USAGE left out
	db     map[string][]string // database name pattern -> privileges
	roles  bool                // some privileges come from roles, not listed here
}

func readGrants(ctx context.Context, q querier) (grants, error) {
	g := grants{db: map[string][]string{}}
	rows, err := q.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return g, fmt.Errorf("read the restore account's grants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return g, fmt.Errorf("read the restore account's grants: %w", err)
		}
		m := grantLine.FindStringSubmatch(line)
		if m == nil {
			if strings.HasPrefix(line, "GRANT ") && !strings.Contains(line, " ON ") {
				g.roles = true
			}
			continue
		}
		if m[3] != "*" {
			continue // table-level grants do not cover the restore's work
		}
		privs := splitPrivileges(m[1])
		if m[2] == "*" {
			for _, p := range privs {
				if p != "USAGE" {
					g.global = append(g.global, p)
				}
			}
			continue
		}
		name := strings.ReplaceAll(m[2][1:len(m[2])-1], "``", "`")
		g.db[name] = append(g.db[name], privs...)
	}
	return g, closeRows(rows)
}

// splitPrivileges splits "SELECT, INSERT, UPDATE (col)" into names,
// leaving out column lists and WITH GRANT OPTION.
func splitPrivileges(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		if i := strings.IndexByte(p, '('); i >= 0 {
			continue // column privileges
		}
		out = append(out, strings.ToUpper(p))
	}
	return out
}

// on returns the privileges the account has on database db, from global
// grants and every database grant whose pattern matches db.
func (g grants) on(db string) []string {
	privs := slices.Clone(g.global)
	for pat, p := range g.db {
		if likeMatch(pat, db) {
			privs = append(privs, p...)
		}
	}
	return privs
}

// missing returns the needed privileges the account lacks on db.
func (g grants) missing(db string) []string {
	have := g.on(db)
	if slices.Contains(have, "ALL PRIVILEGES") || slices.Contains(have, "ALL") {
		return nil
	}
	var miss []string
	for _, p := range neededPrivileges {
		if !slices.Contains(have, p) {
			miss = append(miss, p)
		}
	}
	return miss
}

// likeMatch matches s against a GRANT database pattern: "_" is any
// character, "%" any run of characters, "\" escapes the next one.
func likeMatch(pat, s string) bool {
	p, r := []rune(pat), []rune(s)
	var match func(i, j int) bool
	match = func(i, j int) bool {
		for i < len(p) {
			switch p[i] {
			case '%':
				for k := j; k <= len(r); k++ {
					if match(i+1, k) {
						return true
					}
				}
				return false
			case '_':
				if j >= len(r) {
					return false
				}
			case '\\':
				if i+1 < len(p) {
					i++
				}
				fallthrough
			default:
				if j >= len(r) || r[j] != p[i] {
					return false
				}
			}
			i++
			j++
		}
		return j == len(r)
	}
	return match(0, 0)
}

// checkGrants makes sure, before anything runs, that the restore account
// has what the documentation asks for on the target and both workspaces,
// so that a privilege error while loading is the backup's doing (it asked
// for something outside its database or above its station), not the
// machine's. It warns when the account has global privileges, which the
// restore does not need and a crafted backup could use. When the account
// gets privileges from roles, SHOW GRANTS may not list them all: missing
// ones are then only logged.
func checkGrants(ctx context.Context, q querier, target, staging, attic string, log *slog.Logger) error {
	g, err := readGrants(ctx, q)
	if err != nil {
		return err
	}
	account := currentUser(ctx, q)
	if len(g.global) > 0 {
		log.Warn("the restore account has global privileges; the documented account has privileges on its three databases only, so that a crafted backup can reach nothing else",
			"account", account, "global", strings.Join(g.global, ", "))
	}
	var stmts, lacks []string
	for _, d := range []struct{ name, role string }{
		{target, "the database to restore, DB_DATABASE"}, {staging, "the staging database"}, {attic, "the attic"},
	} {
		miss := g.missing(d.name)
		if len(miss) == 0 {
			continue
		}
		what := strings.Join(miss, ", ")
		if len(miss) == len(neededPrivileges) {
			what = "all privileges"
		}
		role := d.role
		if d.name == target {
			var n int
			if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", target).Scan(&n); err == nil && n == 0 {
				role += ", which does not exist"
			}
		}
		lacks = append(lacks, fmt.Sprintf("%s on %s (%s)", what, d.name, role))
		stmts = append(stmts, fmt.Sprintf("GRANT ALL PRIVILEGES ON %s.* TO %s;", grantPattern(d.name), account))
	}
	if len(lacks) == 0 {
		return nil
	}
	err = fmt.Errorf("the restore account %s lacks %s; check DB_DATABASE and DB_USERNAME, or as an administrator run: %s",
		account, strings.Join(lacks, "; "), strings.Join(stmts, " "))
	if g.roles {
		log.Warn("the restore account's grants look incomplete, but it has roles that SHOW GRANTS may not resolve; going on", "err", err)
		return nil
	}
	return err
}

var _ querier = (*sql.DB)(nil)

package dump

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// Objects counts a database's schema objects by kind.
type Objects struct {
	Tables, Views, Triggers, Events, Routines int64
}

// kinds lists the counts with their names, in the order messages give them.
func (o Objects) kinds() []struct {
	n    int64
	name string
} {
	return []struct {
		n    int64
		name string
	}{{o.Tables, "tables"}, {o.Views, "views"}, {o.Triggers, "triggers"}, {o.Events, "events"}, {o.Routines, "routines"}}
}

// String lists the counts: "2 tables, 1 views, 0 triggers, 0 events, 2 routines".
func (o Objects) String() string {
	var parts []string
	for _, k := range o.kinds() {
		parts = append(parts, fmt.Sprintf("%d %s", k.n, k.name))
	}
	return strings.Join(parts, ", ")
}

// Inventory is what the dump account sees of a database in
// information_schema, and whether that is all of it.
//
// An account sees only the stored routines it created or holds a privilege
// on (EXECUTE, ALTER ROUTINE, CREATE ROUTINE) or may read every routine of
// (the grant RoutineGrant names), and only the triggers of tables it holds
// TRIGGER on; the dump tools leave out what the account does not see, and
// say nothing. A routine it sees but may not read the text of is listed
// with a NULL definition. (MariaDB 10.11 and 11.8 and MySQL 9.7 behave
// alike here.)
type Inventory struct {
	Objects
	// Account is the account as the server knows it: 'user'@'host'.
	Account string
	// Absent says the account sees no database of that name (it does not
	// exist, or the account has no privilege on it): nothing is counted.
	Absent bool
	// RoutinesHidden says the account holds no privilege that shows it
	// every routine of the database; TriggersHidden, no TRIGGER on it.
	RoutinesHidden, TriggersHidden bool
	// Unreadable names the routines it sees without their text
	// ("PROCEDURE `p`").
	Unreadable []string
	// RoutineGrant is the grant that lets the account read every routine
	// of the database on this server's family and version; TriggerGrant
	// the one that shows it the triggers.
	RoutineGrant, TriggerGrant string
}

// TakeInventory asks the server, as conn's account, what conn's database
// holds and what the account may see of it.
func TakeInventory(ctx context.Context, conn mariadb.Conn, srv mariadb.Server, log *slog.Logger) (Inventory, error) {
	var inv Inventory
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	db, err := conn.OpenDB(log, false)
	if err != nil {
		return inv, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	c, err := db.Conn(ctx)
	if err != nil {
		return inv, fmt.Errorf("connect to %s: %w", conn, err)
	}
	defer c.Close()
	var current string
	if err := c.QueryRowContext(ctx, "SELECT CURRENT_USER()").Scan(&current); err != nil {
		return inv, fmt.Errorf("ask %s its account: %w", conn, err)
	}
	user, host := current, "%"
	if i := strings.LastIndexByte(current, '@'); i >= 0 {
		user, host = current[:i], current[i+1:]
	}
	inv.Account = fmt.Sprintf("'%s'@'%s'", user, host)
	var n int
	if err := c.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", conn.Database).Scan(&n); err != nil {
		return inv, fmt.Errorf("look for %s: %w", conn.Database, err)
	}
	if n == 0 {
		// The dump tool will say why (1049, 1044).
		inv.Absent = true
		return inv, nil
	}
	rows, err := c.QueryContext(ctx, "SHOW GRANTS")
	if err != nil {
		return inv, fmt.Errorf("ask %s the account's grants: %w", conn, err)
	}
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			rows.Close()
			return inv, fmt.Errorf("read the account's grants: %w", err)
		}
		lines = append(lines, l)
	}
	if err := rows.Close(); err != nil {
		return inv, fmt.Errorf("read the account's grants: %w", err)
	}
	v, err := sqltext.ParseServerVersion(srv.Version)
	if err != nil {
		return inv, fmt.Errorf("inventory: %w", err)
	}
	grants := parseGrants(lines)
	inv.RoutineGrant = routineGrant(v, conn.Database, inv.Account)
	inv.TriggerGrant = fmt.Sprintf("GRANT TRIGGER ON %s.* TO %s", sqltext.Ident(conn.Database), inv.Account)
	inv.RoutinesHidden = !seesRoutines(grants, v, conn.Database)
	inv.TriggersHidden = !has(grants, "TRIGGER", conn.Database, "*")

	const counts = `SELECT
 (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SYSTEM VERSIONED')),
 (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'VIEW'),
 (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?),
 (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?),
 (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?)`
	d := conn.Database
	o := &inv.Objects
	if err := c.QueryRowContext(ctx, counts, d, d, d, d, d).Scan(&o.Tables, &o.Views, &o.Triggers, &o.Events, &o.Routines); err != nil {
		return inv, fmt.Errorf("count the objects of %s: %w", d, err)
	}
	rows, err = c.QueryContext(ctx, "SELECT ROUTINE_TYPE, ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? AND ROUTINE_DEFINITION IS NULL ORDER BY ROUTINE_TYPE, ROUTINE_NAME", d)
	if err != nil {
		return inv, fmt.Errorf("list the routines of %s: %w", d, err)
	}
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			rows.Close()
			return inv, fmt.Errorf("list the routines of %s: %w", d, err)
		}
		inv.Unreadable = append(inv.Unreadable, kind+" "+sqltext.Ident(name))
	}
	if err := rows.Close(); err != nil {
		return inv, fmt.Errorf("list the routines of %s: %w", d, err)
	}
	return inv, nil
}

// seesRoutines reports whether grants show the account every routine of
// db: a grant that reads them all (routineGrant's), or one of the routine
// privileges on the database, which shows them without their text.
func seesRoutines(grants []grant, v sqltext.ServerVersion, db string) bool {
	global := func(priv string) bool { return has(grants, priv, "", "") }
	switch {
	case global("SELECT"):
		return true
	case !v.MariaDB && global("SHOW_ROUTINE"):
		return true
	case v.MariaDB && has(grants, "SELECT", "mysql", "proc"):
		return true
	case v.MariaDB && v.N >= 110300 && has(grants, "SHOW CREATE ROUTINE", db, "*"):
		return true
	}
	for _, p := range []string{"EXECUTE", "ALTER ROUTINE", "CREATE ROUTINE"} {
		if has(grants, p, db, "*") {
			return true
		}
	}
	return false
}

// routineGrant is the grant that lets account read every routine of db
// on a server of version v (docs/mysql.md#privileges).
func routineGrant(v sqltext.ServerVersion, db, account string) string {
	switch {
	case v.MariaDB && v.N >= 110300:
		return fmt.Sprintf("GRANT SHOW CREATE ROUTINE ON %s.* TO %s", sqltext.Ident(db), account)
	case v.MariaDB, v.N < 80000:
		return "GRANT SELECT ON mysql.proc TO " + account
	case v.N < 80020:
		// No SHOW_ROUTINE before 8.0.20: only a global SELECT reads them.
		return "GRANT SELECT ON *.* TO " + account
	}
	return "GRANT SHOW_ROUTINE ON *.* TO " + account
}

// PrivilegeError means the dump account may not see or read part of the
// database: the dump would leave it out without a word. Grants are the
// statements that fix it.
type PrivilegeError struct {
	Grants []string
	msg    string
}

func (e *PrivilegeError) Error() string { return e.msg }

// Problem returns a *PrivilegeError when the account cannot see every
// routine and trigger of db or read every routine it sees, else nil.
func (inv Inventory) Problem(db string) error {
	if inv.Absent {
		return nil
	}
	var msgs, grants []string
	if inv.RoutinesHidden {
		msgs = append(msgs, fmt.Sprintf("cannot see the stored routines other accounts created in %s, if there are any,", sqltext.Ident(db)))
		grants = append(grants, inv.RoutineGrant)
	} else if len(inv.Unreadable) > 0 {
		msgs = append(msgs, fmt.Sprintf("sees %d stored routines of %s whose text it may not read (%s)",
			len(inv.Unreadable), sqltext.Ident(db), strings.Join(inv.Unreadable, ", ")))
		grants = append(grants, inv.RoutineGrant)
	}
	if inv.TriggersHidden {
		msgs = append(msgs, fmt.Sprintf("cannot see the triggers of %s, if there are any,", sqltext.Ident(db)))
		grants = append(grants, inv.TriggerGrant)
	}
	if len(msgs) == 0 {
		return nil
	}
	return &PrivilegeError{Grants: grants, msg: fmt.Sprintf(
		"the dump account %s %s and the dump tool would leave them out of the backup without a word: %s (see docs/mysql.md#privileges)",
		inv.Account, strings.Join(msgs, " and "), strings.Join(grants, "; "))}
}

// IncompleteError means a dump holds fewer objects of some kind than
// information_schema showed the dump account.
type IncompleteError struct {
	Dumped, Seen Objects
	db           string
}

func (e *IncompleteError) Error() string {
	var parts []string
	seen := e.Seen.kinds()
	for i, k := range e.Dumped.kinds() {
		if k.n < seen[i].n {
			parts = append(parts, fmt.Sprintf("%d of the %d %s", k.n, seen[i].n, k.name))
		}
	}
	return fmt.Sprintf("the dump holds only %s that information_schema shows the dump account in %s: it is not a complete backup",
		strings.Join(parts, " and "), sqltext.Ident(e.db))
}

// compareObjects returns an *IncompleteError when dumped holds fewer
// objects of a kind than every inventory taken (before the dump and, when
// one was taken, after it: an object created or dropped while the dump ran
// is in one of them only), else nil.
func compareObjects(db string, dumped Objects, inventories ...Objects) error {
	if len(inventories) == 0 {
		return nil
	}
	seen := inventories[0]
	for _, o := range inventories[1:] {
		seen.Tables = min(seen.Tables, o.Tables)
		seen.Views = min(seen.Views, o.Views)
		seen.Triggers = min(seen.Triggers, o.Triggers)
		seen.Events = min(seen.Events, o.Events)
		seen.Routines = min(seen.Routines, o.Routines)
	}
	d := dumped.kinds()
	for i, k := range seen.kinds() {
		if d[i].n < k.n {
			return &IncompleteError{Dumped: dumped, Seen: seen, db: db}
		}
	}
	return nil
}

package restore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/backupd/backupd/pkg/sqltext"
)

// object is a view, trigger, routine or event, with what it takes to
// create it again: its statement and the session it was created in.
type object struct {
	kind   string // VIEW, TRIGGER, FUNCTION, PROCEDURE, PACKAGE, PACKAGE BODY, EVENT
	name   string
	create string // CREATE statement without DEFINER; "" when the server hides it
	// The session settings the object was defined under; they decide how
	// its body is parsed and, for events, how its schedule reads.
	sqlMode, charsetClient, collation, timeZone string
	hasSQLMode, hasTimeZone                     bool
}

func (o object) String() string { return strings.ToLower(o.kind) + " " + sqltext.Ident(o.name) }

// key identifies an object within its namespace.
func (o object) key() string {
	kind := o.kind
	if kind == "VIEW" {
		kind = "TABLE" // views share the table namespace
	}
	return kind + "\x00" + o.name
}

// schema is what a database holds, as far as a restore moves it.
type schema struct {
	tables   []string // base tables, sequences, system-versioned tables
	views    []object
	triggers []object // in creation order, which is their firing order
	routines []object // functions, procedures, packages before package bodies
	events   []object
}

func (s schema) objects() int {
	return len(s.views) + len(s.triggers) + len(s.routines) + len(s.events)
}

// capture reads the tables and object definitions of db over conn. The
// statements are read with character_set_results=binary, as mysqldump does,
// so that bodies come back in the bytes they were written in and are
// replayed under the character_set_client they were defined with.
func capture(ctx context.Context, conn *sql.Conn, db string) (schema, error) {
	var s schema
	// SHOW CREATE VIEW leaves out the database of tables in the current
	// one: the statement then fits any database.
	if _, err := conn.ExecContext(ctx, "USE "+sqltext.Ident(db)); err != nil {
		return s, fmt.Errorf("use %s: %w", db, err)
	}
	if _, err := conn.ExecContext(ctx, "SET SESSION character_set_results = binary"); err != nil {
		return s, fmt.Errorf("capture %s: %w", db, err)
	}
	defer func() { _, _ = conn.ExecContext(ctx, "SET NAMES utf8mb4") }()

	rows, err := conn.QueryContext(ctx,
		"SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = ? ORDER BY table_name", db)
	if err != nil {
		return s, fmt.Errorf("list tables of %s: %w", db, err)
	}
	var views []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return s, fmt.Errorf("list tables of %s: %w", db, err)
		}
		if typ == "VIEW" {
			views = append(views, name)
		} else {
			s.tables = append(s.tables, name)
		}
	}
	if err := closeRows(rows); err != nil {
		return s, fmt.Errorf("list tables of %s: %w", db, err)
	}

	for _, v := range views {
		o, err := showCreate(ctx, conn, "VIEW", v)
		if err != nil {
			return s, err
		}
		s.views = append(s.views, o)
	}

	names, err := listNames(ctx, conn, "SELECT 'TRIGGER', trigger_name FROM information_schema.triggers WHERE trigger_schema = ?"+
		" ORDER BY event_object_table, action_timing, event_manipulation, action_order", db)
	if err != nil {
		return s, fmt.Errorf("list triggers of %s: %w", db, err)
	}
	for _, n := range names {
		o, err := showCreate(ctx, conn, n[0], n[1])
		if err != nil {
			return s, err
		}
		s.triggers = append(s.triggers, o)
	}

	names, err = listNames(ctx, conn, "SELECT routine_type, routine_name FROM information_schema.routines WHERE routine_schema = ?"+
		" ORDER BY FIELD(routine_type, 'FUNCTION', 'PROCEDURE', 'PACKAGE', 'PACKAGE BODY'), routine_name", db)
	if err != nil {
		return s, fmt.Errorf("list routines of %s: %w", db, err)
	}
	for _, n := range names {
		o, err := showCreate(ctx, conn, n[0], n[1])
		if err != nil {
			return s, err
		}
		s.routines = append(s.routines, o)
	}

	names, err = listNames(ctx, conn, "SELECT 'EVENT', event_name FROM information_schema.events WHERE event_schema = ? ORDER BY event_name", db)
	if err != nil {
		return s, fmt.Errorf("list events of %s: %w", db, err)
	}
	for _, n := range names {
		o, err := showCreate(ctx, conn, n[0], n[1])
		if err != nil {
			return s, err
		}
		s.events = append(s.events, o)
	}
	return s, nil
}

func listNames(ctx context.Context, conn *sql.Conn, query, db string) ([][2]string, error) {
	rows, err := conn.QueryContext(ctx, query, db)
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for rows.Next() {
		var kind, name string
		if err := rows.Scan(&kind, &name); err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, [2]string{kind, name})
	}
	return out, closeRows(rows)
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// showCreate reads one object's definition with SHOW CREATE, by column
// name, since the columns differ between kinds.
func showCreate(ctx context.Context, conn *sql.Conn, kind, name string) (object, error) {
	o := object{kind: kind, name: name}
	rows, err := conn.QueryContext(ctx, "SHOW CREATE "+kind+" "+sqltext.Ident(name))
	if err != nil {
		return o, fmt.Errorf("read definition of %s: %w", o, err)
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return o, fmt.Errorf("read definition of %s: %w", o, err)
	}
	if !rows.Next() {
		err := closeRows(rows)
		if err == nil {
			err = fmt.Errorf("no such %s", strings.ToLower(kind))
		}
		return o, fmt.Errorf("read definition of %s: %w", o, err)
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		rows.Close()
		return o, fmt.Errorf("read definition of %s: %w", o, err)
	}
	if err := closeRows(rows); err != nil {
		return o, fmt.Errorf("read definition of %s: %w", o, err)
	}
	for i, c := range cols {
		v := vals[i]
		switch c {
		case "Create View", "SQL Original Statement", "Create Function", "Create Procedure",
			"Create Package", "Create Package Body", "Create Event":
			if v.Valid {
				o.create = sqltext.StripDefiner(v.String)
			}
		case "sql_mode":
			o.sqlMode, o.hasSQLMode = v.String, true
		case "time_zone":
			o.timeZone, o.hasTimeZone = v.String, true
		case "character_set_client":
			o.charsetClient = v.String
		case "collation_connection":
			o.collation = v.String
		}
	}
	return o, nil
}

// orReplace turns "CREATE ..." into "CREATE OR REPLACE ...", so that
// creating an object also replaces one of the same name.
func orReplace(stmt string) (string, error) {
	rest, ok := cutPrefixFold(strings.TrimLeft(stmt, " \t\r\n"), "CREATE")
	if !ok || rest == "" || !strings.ContainsAny(rest[:1], " \t\r\n") {
		return "", fmt.Errorf("not a CREATE statement: %.60q", stmt)
	}
	if after, ok := cutPrefixFold(strings.TrimLeft(rest, " \t\r\n"), "OR REPLACE"); ok && after != "" {
		return stmt, nil
	}
	return "CREATE OR REPLACE" + rest, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// create defines o in the connection's current database, replacing an
// object of the same name, under o's own session settings.
func create(ctx context.Context, conn *sql.Conn, o object) error {
	if o.create == "" {
		return fmt.Errorf("create %s: its definition could not be read", o)
	}
	stmt, err := orReplace(o.create)
	if err != nil {
		return fmt.Errorf("create %s: %w", o, err)
	}
	var set []string
	if o.hasSQLMode {
		set = append(set, "sql_mode = "+sqltext.Literal(o.sqlMode))
	}
	if o.hasTimeZone {
		set = append(set, "time_zone = "+sqltext.Literal(o.timeZone))
	}
	if o.charsetClient != "" {
		set = append(set, "character_set_client = "+sqltext.Literal(o.charsetClient))
	}
	if o.collation != "" {
		set = append(set, "collation_connection = "+sqltext.Literal(o.collation))
	}
	if len(set) > 0 {
		if _, err := conn.ExecContext(ctx, "SET SESSION "+strings.Join(set, ", ")); err != nil {
			return fmt.Errorf("create %s: session settings: %w", o, err)
		}
	}
	_, err = conn.ExecContext(ctx, stmt)
	// Back to the settings every other statement of the restore assumes.
	if _, rerr := conn.ExecContext(ctx, "SET NAMES utf8mb4"); rerr != nil && err == nil {
		err = rerr
	}
	if _, rerr := conn.ExecContext(ctx, "SET SESSION sql_mode = DEFAULT, time_zone = DEFAULT"); rerr != nil && err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("create %s: %w", o, err)
	}
	return nil
}

// createViews creates views in an order that satisfies their dependencies
// on each other: whatever fails is tried again after the others, until a
// round makes no progress.
func createViews(ctx context.Context, conn *sql.Conn, views []object) error {
	pending := views
	for len(pending) > 0 {
		var failed []object
		var lastErr error
		for _, v := range pending {
			if err := create(ctx, conn, v); err != nil {
				if ctx.Err() != nil {
					return err
				}
				failed, lastErr = append(failed, v), err
			}
		}
		if len(failed) == len(pending) {
			return lastErr
		}
		pending = failed
	}
	return nil
}

// drop removes o from db; it is not an error when it is already gone.
func drop(ctx context.Context, conn *sql.Conn, db string, o object) error {
	if _, err := conn.ExecContext(ctx, "DROP "+o.kind+" IF EXISTS "+sqltext.Qualified(db, o.name)); err != nil {
		return fmt.Errorf("drop %s from %s: %w", o, db, err)
	}
	return nil
}

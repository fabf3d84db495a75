package restore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
)

// appReads are what the app reads, as the app's user: a table, a view
// whose definition does not change between the snapshots, one whose
// definition does, a function whose body changes and a procedure.
var appReads = []string{
	"SELECT COUNT(*) FROM users",
	"SELECT COUNT(*) FROM user_totals",
	"SELECT COUNT(*) FROM order_sizes",
	"SELECT user_label(1)",
	"CALL order_report()",
}

// readsWorld returns a target that holds snapshot A, restored by the
// app's user, and a store with snapshot B: the same schema, with other
// rows, another definition of the view order_sizes and of the function
// user_label, and without A's view stale_view.
func readsWorld(t *testing.T) (srv *testdb.Server, r *Restorer, fpB string) {
	t.Helper()
	srv = testdb.Get(t)
	extras := func(db, sizes, label string) {
		srv.Exec(t, db, "CREATE VIEW order_sizes AS SELECT id, "+sizes+" AS size FROM orders;"+
			" CREATE PROCEDURE order_report() READS SQL DATA SELECT COUNT(*) AS orders, COALESCE(SUM(total), 0) AS total FROM orders;"+
			" CREATE OR REPLACE FUNCTION user_label(p_id INT) RETURNS VARCHAR(300) READS SQL DATA"+
			" RETURN (SELECT CONCAT("+label+", email) FROM users WHERE id = p_id)")
	}
	srcA := srv.NewDatabase(t, "srca")
	srv.LoadFile(t, srcA, fixturePath)
	extras(srcA, "IF(total > 100, 'big', 'small')", "'A: '")
	srv.Exec(t, srcA, "CREATE VIEW stale_view AS SELECT id FROM users")
	srcB := srv.NewDatabase(t, "srcb")
	srv.LoadFile(t, srcB, fixturePath)
	extras(srcB, "IF(total > 50, 'big', 'small')", "'B: '")
	srv.Exec(t, srcB, "INSERT INTO blobs (id, data) VALUES (99, 'only in B')")
	storeA, storeB := t.TempDir(), t.TempDir()
	backupdBackup(t, srv, srcA, storeA, at(2, 0))
	backupdBackup(t, srv, srcB, storeB, at(3, 0))

	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	files := t.TempDir()
	r = &Restorer{Store: openStore(t, storeA, nil), Conn: conn, Log: testLog(t),
		SnapshotFile: filepath.Join(files, "snapshot.txt"), StatusFile: filepath.Join(files, "status.json")}
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatalf("restore A: %v", err)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, srcA); got != want {
		t.Fatalf("setup: A was not restored\n--- got\n%s\n--- want\n%s", got, want)
	}
	r.Store = openStore(t, storeB, nil)
	return srv, r, srv.Fingerprint(t, srcB)
}

// readAll runs every app read once on db and returns the errors.
func readAll(ctx context.Context, db *sql.DB) []error {
	var errs []error
	for _, q := range appReads {
		if err := readOnce(ctx, db, q); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", q, err))
		}
	}
	return errs
}

func readOnce(ctx context.Context, db *sql.DB, q string) error {
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return closeRows(rows)
}

// TestSwapKeepsAppReadsWorking reads a table, views, a function and a
// procedure as the app's user while a refresh swaps a new snapshot in:
// at each step of the swap (after the old triggers went, after the
// RENAME, before the new objects exist) and all along from other
// connections. None of the reads may fail: a view or routine must not be
// missing, even for a moment.
func TestSwapKeepsAppReadsWorking(t *testing.T) {
	srv, r, fpB := readsWorld(t)
	app, err := r.Conn.OpenDB(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	app.SetMaxOpenConns(len(appReads) + 2)
	ctx := context.Background()
	if errs := readAll(ctx, app); len(errs) > 0 {
		t.Fatalf("reads fail before the refresh: %v", errs)
	}

	var mu sync.Mutex
	var failed []string
	fail := func(when string, err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(failed) < 20 {
			failed = append(failed, when+": "+err.Error())
		}
	}
	var points []string
	pause = func(point string) {
		switch point {
		case "swap", "dropped", "renamed":
			points = append(points, point)
			for _, err := range readAll(ctx, app) {
				fail("at "+point, err)
			}
		}
	}
	t.Cleanup(func() { pause = nil })

	var stop atomic.Bool
	var reads atomic.Int64
	var wg sync.WaitGroup
	for _, q := range appReads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				if err := readOnce(ctx, app, q); err != nil {
					fail("during the refresh: "+q, err)
				}
				reads.Add(1)
				time.Sleep(time.Millisecond)
			}
		}()
	}
	_, err = restoreNow(t, r, r.Store)
	stop.Store(true)
	wg.Wait()
	if err != nil {
		t.Fatalf("restore B: %v", err)
	}
	if got, want := strings.Join(points, " "), "swap dropped renamed"; got != want {
		t.Fatalf("the swap passed the points %q, want %q", got, want)
	}
	for _, f := range failed {
		t.Error(f)
	}
	t.Logf("%d reads during the refresh", reads.Load())
	if got := srv.Fingerprint(t, r.Conn.Database); got != fpB {
		t.Errorf("the target is not B after the refresh\n--- got\n%s\n--- want\n%s", got, fpB)
	}
}

// TestSwapNamesChangeKind swaps in a snapshot where a view of the old one
// became a table and a table became a view: the view in the way goes
// before the RENAME, the table leaves with it, and the target ends up as
// the new snapshot.
func TestSwapNamesChangeKind(t *testing.T) {
	srv := testdb.Get(t)
	srcA := srv.NewDatabase(t, "srca")
	srv.Exec(t, srcA, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);"+
		" CREATE TABLE was_table (id INT PRIMARY KEY); CREATE VIEW was_view AS SELECT id FROM t")
	srcB := srv.NewDatabase(t, "srcb")
	srv.Exec(t, srcB, "CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (2);"+
		" CREATE TABLE was_view (id INT PRIMARY KEY); CREATE VIEW was_table AS SELECT id FROM t")
	storeA, storeB := t.TempDir(), t.TempDir()
	backupdBackup(t, srv, srcA, storeA, at(2, 0))
	backupdBackup(t, srv, srcB, storeB, at(3, 0))
	target := srv.NewDatabase(t, "app")
	r := &Restorer{Store: openStore(t, storeA, nil), Conn: limitedUser(t, srv, target), Log: testLog(t)}
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatalf("restore A: %v", err)
	}
	r.Store = openStore(t, storeB, nil)
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatalf("restore B over A: %v", err)
	}
	if got, want := srv.Fingerprint(t, target), srv.Fingerprint(t, srcB); got != want {
		t.Errorf("the target is not B\n--- got\n%s\n--- want\n%s", got, want)
	}
}

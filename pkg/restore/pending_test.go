package restore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
)

// readStatus parses the status file; ok is false when there is none.
func readStatus(t *testing.T, path string) (st Status, raw string, ok bool) {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatalf("status file %q: %v", b, err)
	}
	return st, string(b), true
}

// fastPending writes the progress records every few milliseconds for the
// test's length.
func fastPending(t *testing.T) {
	t.Helper()
	old := pendingEvery
	pendingEvery = 5 * time.Millisecond
	t.Cleanup(func() { pendingEvery = old })
}

// emptyTarget returns a restorer, with snapshot and status files, of a
// database that holds nothing, from a store with one backup of the
// fixture, its bytes passed through spoil when that is not nil.
func emptyTarget(t *testing.T, spoil func([]byte) []byte) (*Restorer, catalog.Entry) {
	t.Helper()
	srv := testdb.Get(t)
	src := srv.NewDatabase(t, "src")
	srv.LoadFile(t, src, fixturePath)
	dir := t.TempDir()
	e := backupdBackup(t, srv, src, dir, at(3, 0))
	if spoil != nil {
		bad := t.TempDir()
		put(t, bad, at(3, 0), catalog.Zstd, spoil(read(t, dir, e.Name)))
		dir = bad
	}
	target := srv.NewDatabase(t, "app")
	files := t.TempDir()
	return &Restorer{Store: openStore(t, dir, nil), Conn: limitedUser(t, srv, target), Log: testLog(t),
		SnapshotFile: filepath.Join(files, "snapshot.txt"), StatusFile: filepath.Join(files, "status.json")}, e
}

// TestStatusFileWhileRestoringWithoutSnapshot restores into a database
// that holds nothing, as on a first boot or after the volume was lost:
// while the backup loads, the status file says the restore is under way
// and how far it has come, so that the app can say so instead of failing
// on missing tables; then it holds the record of the restore.
func TestStatusFileWhileRestoringWithoutSnapshot(t *testing.T) {
	fastPending(t)
	r, e := emptyTarget(t, nil)
	target := r.Conn.Database

	var seen []Status
	pause = func(point string) {
		if point != "load" && point != "verified" {
			return
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			st, raw, ok := readStatus(t, r.StatusFile)
			if ok && st.Progress != nil && (point == "verified" || st.Progress.Phase == "loading") {
				seen = append(seen, st)
				if strings.Contains(raw, `"snapshot_time"`) || strings.Contains(raw, `"restored_at"`) {
					t.Errorf("at %s the status file has the fields of a restored snapshot:\n%s", point, raw)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Errorf("at %s the status file says no restore is under way: %q", point, raw)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	t.Cleanup(func() { pause = nil })
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 {
		t.Fatalf("saw %d progress records, want 2", len(seen))
	}
	for _, st := range seen {
		p := st.Progress
		if st.State != StateRestoring || st.Database != target || p.Backup != e.Name || p.Snapshot != "2026-03-14 03:00:00 UTC" ||
			p.StoredBytes != e.Size || p.Percent == nil || *p.Percent < 0 || *p.Percent > 100 || st.UpdatedAt.IsZero() {
			t.Errorf("progress record %+v, progress %+v", st, *p)
		}
	}
	if _, err := os.Stat(r.SnapshotFile); err != nil {
		t.Errorf("no banner after the restore: %v", err)
	}
	st, raw, ok := readStatus(t, r.StatusFile)
	if !ok || st.State != StateReady || st.Backup != e.Name || st.Progress != nil || st.Error != "" {
		t.Errorf("status file after the restore:\n%s", raw)
	}
}

// TestStatusFileSaysFailedWithoutSnapshot fails a restore into a database
// that holds nothing: the status file says so, with the error, rather
// than "restoring" for ever.
func TestStatusFileSaysFailedWithoutSnapshot(t *testing.T) {
	fastPending(t)
	r, _ := emptyTarget(t, truncate)
	target := r.Conn.Database
	_, err := restoreNow(t, r, r.Store)
	if err == nil {
		t.Fatal("a truncated backup was restored")
	}
	st, raw, ok := readStatus(t, r.StatusFile)
	if !ok || st.State != StateFailed || st.Database != target || !strings.Contains(st.Error, "no usable backup") || st.UpdatedAt.IsZero() {
		t.Errorf("status file after the failed restore:\n%s", raw)
	}
	if strings.Contains(raw, `"backup"`) || strings.Contains(raw, `"snapshot"`) {
		t.Errorf("the failed record names a snapshot:\n%s", raw)
	}
	if _, err := os.Stat(r.SnapshotFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a banner after a failed first restore: %v", err)
	}
}

// TestStatusFileUntouchedWhileRefreshing refreshes a database that holds
// a snapshot: the app serves it meanwhile, and the status file keeps its
// record until the swap.
func TestStatusFileUntouchedWhileRefreshing(t *testing.T) {
	fastPending(t)
	_, r, _ := readsWorld(t)
	_, before, ok := readStatus(t, r.StatusFile)
	if !ok {
		t.Fatal("no status file after the first restore")
	}
	pause = func(point string) {
		if point != "load" {
			return
		}
		time.Sleep(50 * time.Millisecond)
		if _, raw, _ := readStatus(t, r.StatusFile); raw != before {
			t.Errorf("the status file changed while the new snapshot loaded:\n%s\nwas:\n%s", raw, before)
		}
	}
	t.Cleanup(func() { pause = nil })
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatal(err)
	}
	if st, raw, _ := readStatus(t, r.StatusFile); st.State != StateReady || raw == before {
		t.Errorf("status file after the refresh:\n%s", raw)
	}
}

// TestStatusFileStaysThroughFirstSwap swaps a first snapshot into a
// database that holds none: the status file must keep saying "restoring"
// while the swap brings the tables in and creates the views and routines,
// so that the app does not query them half made.
func TestStatusFileStaysThroughFirstSwap(t *testing.T) {
	old := pendingEvery
	pendingEvery = time.Hour // only the writes the restore makes at its steps
	t.Cleanup(func() { pendingEvery = old })
	r, _ := emptyTarget(t, nil)
	var points []string
	pause = func(point string) {
		switch point {
		case "swap", "dropped", "renamed":
			points = append(points, point)
			if st, raw, ok := readStatus(t, r.StatusFile); !ok || st.State != StateRestoring || st.Progress == nil || st.Progress.Phase != "swapping" {
				t.Errorf("at %s the status file is %q, want a restoring record in phase swapping", point, raw)
			}
		}
	}
	t.Cleanup(func() { pause = nil })
	if _, err := restoreNow(t, r, r.Store); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(points, " "); got != "swap dropped renamed" {
		t.Errorf("the swap passed %q", got)
	}
	if st, raw, _ := readStatus(t, r.StatusFile); st.State != StateReady {
		t.Errorf("status file after the restore:\n%s", raw)
	}
}

// TestStatusFileNeverMissingWithoutSnapshot watches the status file all
// along a restore into a database that holds nothing: from its first
// record to the restore's own, it must never be missing, not even for the
// moment the swap withdraws it, or the app would query a database half
// made.
func TestStatusFileNeverMissingWithoutSnapshot(t *testing.T) {
	r, _ := emptyTarget(t, nil)
	stop := make(chan struct{})
	missing := make(chan int, 1)
	go func() {
		seen, gaps := false, 0
		for {
			select {
			case <-stop:
				missing <- gaps
				return
			default:
			}
			_, err := os.Stat(r.StatusFile)
			switch {
			case err == nil:
				seen = true
			case seen && errors.Is(err, os.ErrNotExist):
				gaps++
			}
		}
	}()
	_, err := restoreNow(t, r, r.Store)
	close(stop)
	gaps := <-missing
	if err != nil {
		t.Fatal(err)
	}
	if gaps > 0 {
		t.Errorf("the status file was missing %d times during the restore", gaps)
	}
}

package restore

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/sqltext"
	"github.com/backupd/backupd/pkg/storage"
)

// crashChildEnv makes the test binary run one restore (crashSpec, as JSON)
// instead of the tests, pausing for good at the point the spec names, so
// that the parent can SIGKILL it there.
const crashChildEnv = "BACKUPD_RESTORE_CRASH_CHILD"

type crashSpec struct {
	Conn         mariadb.Conn
	Store        string
	SnapshotFile string
	StatusFile   string
	WorkDir      string
	Point        string // "" to run to the end
	Loader       string // "client" for loader.Client; else the default
}

// crashChild runs in the child process; its exit status only matters when
// it is not killed.
func crashChild(raw string) int {
	var spec crashSpec
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	pause = func(point string) {
		if point == spec.Point {
			fmt.Printf("paused at %s\n", point)
			select {}
		}
	}
	ctx := context.Background()
	store, err := storage.Open(ctx, spec.Store, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	r := &Restorer{
		Store: store, Conn: spec.Conn, SnapshotFile: spec.SnapshotFile, StatusFile: spec.StatusFile, WorkDir: spec.WorkDir,
		Loader: map[string]Loader{"client": loader.Client{}}[spec.Loader],
		Log:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	ch, err := Choose(ctx, store, codec, now, selector.DefaultPolicy(), "")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if _, err := r.Restore(ctx, ch.Candidates); err != nil {
		fmt.Printf("finished: %v\n", err)
		return 1
	}
	fmt.Println("finished")
	return 0
}

// startCrashChild starts a restore in a child process; the returned
// channel gets its output lines.
func startCrashChild(t *testing.T, srv *testdb.Server, spec crashSpec) (*exec.Cmd, <-chan string, *strings.Builder) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(raw), "BACKUPD_TEST_SOCKET="+srv.Socket)
	stderr := new(strings.Builder)
	cmd.Stderr = &lockedWriter{w: stderr}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, lines, stderr
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// kill9 kills the child with SIGKILL and waits for it to be gone.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// waitLine waits for the child to print want; it fails the test when the
// child ends first or after five minutes (a hung test, not a measurement).
func waitLine(t *testing.T, lines <-chan string, stderr *strings.Builder, want string) {
	t.Helper()
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the restore ended before %q; its log:\n%s", want, stderr)
			}
			if l == want {
				return
			}
			if strings.HasPrefix(l, "finished") {
				t.Fatalf("the restore %s before %q; its log:\n%s", l, want, stderr)
			}
		case <-deadline:
			t.Fatalf("no %q after 5 minutes; the child's log:\n%s", want, stderr)
		}
	}
}

// waitUntil polls cond every 100 ms, failing the test after five minutes.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// crashWorld is a target that holds backup A (restored by the app's user,
// as yesterday's run left it), a store with backup B to restore next, and
// a store holding only a corrupt copy of B.
type crashWorld struct {
	srv              *testdb.Server
	target           string
	conn             mariadb.Conn
	storeB, storeBad string
	snapshot, status string
	work             string
	fpA, fpB         string
	bannerA, bannerB string
}

func newCrashWorld(t *testing.T) *crashWorld {
	t.Helper()
	return newCrashWorldOn(t, testdb.Get(t), false)
}

// newCrashWorldOn is newCrashWorld on the server srv, restoring as root
// when asked, else as the app's user.
func newCrashWorldOn(t *testing.T, srv *testdb.Server, root bool) *crashWorld {
	t.Helper()
	w := &crashWorld{srv: srv, bannerA: "2026-03-14 02:00:00 UTC\n", bannerB: "2026-03-14 03:00:00 UTC\n"}
	srcA := srv.NewDatabase(t, "srca")
	prefill(t, srv, srcA)
	srcB := srv.NewDatabase(t, "srcb")
	srv.LoadFile(t, srcB, fixturePath)
	srv.Exec(t, srcB, "INSERT INTO blobs (id, data) VALUES (99, 'only in B')")
	storeA := t.TempDir()
	backupdBackup(t, srv, srcA, storeA, at(2, 0))
	w.storeB = t.TempDir()
	b := backupdBackup(t, srv, srcB, w.storeB, at(3, 0))
	w.storeBad = t.TempDir()
	put(t, w.storeBad, at(3, 0), catalog.Zstd, corrupt(read(t, w.storeB, b.Name)))
	w.fpB = srv.Fingerprint(t, srcB)

	w.target = srv.NewDatabase(t, "app")
	w.conn = limitedUser(t, srv, w.target)
	if root {
		w.conn = srv.Root(w.target)
	}
	files := t.TempDir()
	w.snapshot, w.status = filepath.Join(files, "snapshot.txt"), filepath.Join(files, "status.json")
	w.work = t.TempDir()
	if _, err := w.restorer(t, storeA).restore(t); err != nil {
		t.Fatalf("restore A: %v", err)
	}
	w.fpA = srv.Fingerprint(t, w.target)
	if w.fpA != srv.Fingerprint(t, srcA) || w.fpA == w.fpB {
		t.Fatal("setup: A was not restored, or A and B do not differ")
	}
	if got := w.banner(t); got != w.bannerA {
		t.Fatalf("setup: banner %q, want %q", got, w.bannerA)
	}
	return w
}

type testRestorer struct{ *Restorer }

func (r testRestorer) restore(t *testing.T) (Report, error) {
	t.Helper()
	return restoreNow(t, r.Restorer, r.Store)
}

func (w *crashWorld) restorer(t *testing.T, store string) testRestorer {
	return testRestorer{&Restorer{Store: openStore(t, store, nil), Conn: w.conn, SnapshotFile: w.snapshot, StatusFile: w.status,
		WorkDir: w.work, Log: testLog(t)}}
}

func (w *crashWorld) spec(point string) crashSpec {
	return crashSpec{Conn: w.conn, Store: w.storeB, SnapshotFile: w.snapshot, StatusFile: w.status, WorkDir: w.work, Point: point}
}

// checkNoSpool fails the test when a spooled backup is left in the work
// directory.
func (w *crashWorld) checkNoSpool(t *testing.T, when string) {
	t.Helper()
	if left, _ := filepath.Glob(filepath.Join(w.work, "spool-*")); len(left) > 0 {
		t.Errorf("%s: spool files left: %v", when, left)
	}
}

// banner returns the snapshot file's content, "" when there is none.
func (w *crashWorld) banner(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(w.snapshot)
	if errors.Is(err, os.ErrNotExist) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkBanner fails the test when the banner names a snapshot the target
// does not hold in whole; with whole, the target must hold A or B in whole
// even without a banner.
func (w *crashWorld) checkBanner(t *testing.T, when string, whole bool) string {
	t.Helper()
	fp := w.srv.Fingerprint(t, w.target)
	banner := w.banner(t)
	switch {
	case banner == w.bannerA && fp != w.fpA:
		t.Errorf("%s: the banner names A, but the database is not A:\n%s", when, fp)
	case banner == w.bannerB && fp != w.fpB:
		t.Errorf("%s: the banner names B, but the database is not B:\n%s", when, fp)
	case banner != "" && banner != w.bannerA && banner != w.bannerB:
		t.Errorf("%s: banner %q", when, banner)
	case whole && fp != w.fpA && fp != w.fpB:
		t.Errorf("%s: the database is neither A nor B in whole:\n%s", when, fp)
	}
	return fp
}

// checkRestoredB fails the test unless the target holds B, the banner
// names it, and the workspaces are gone.
func (w *crashWorld) checkRestoredB(t *testing.T) {
	t.Helper()
	if got := w.srv.Fingerprint(t, w.target); got != w.fpB {
		t.Errorf("the database is not B\n--- got\n%s\n--- want\n%s", got, w.fpB)
	}
	if got := w.banner(t); got != w.bannerB {
		t.Errorf("banner %q, want %q", got, w.bannerB)
	}
	w.checkNoWorkspace(t)
}

func (w *crashWorld) checkNoWorkspace(t *testing.T) {
	t.Helper()
	for _, db := range []string{w.target + StagingSuffix, w.target + StagingSuffix + AtticSuffix} {
		if databaseExists(t, w.srv, db) {
			t.Errorf("workspace database %s was left behind", db)
		}
	}
}

// afterCrash runs what follows a killed restore: a run that finds only a
// corrupt backup, then one that finds B. The first must leave the target
// whole, with a true banner, and not claim it left the target as it was
// when it did not; the second must bring B in whole.
func (w *crashWorld) afterCrash(t *testing.T) {
	t.Helper()
	before := w.checkBanner(t, "after the kill", false)
	_, err := w.restorer(t, w.storeBad).restore(t)
	if err == nil {
		t.Fatal("a restore of a corrupt backup succeeded")
	}
	after := w.checkBanner(t, "after a run with only a corrupt backup", true)
	if after != before && strings.Contains(err.Error(), "left as it was") {
		t.Errorf("the run changed the database but says: %v", err)
	}
	if _, err := w.restorer(t, w.storeB).restore(t); err != nil {
		t.Fatalf("restore B after the crash: %v", err)
	}
	w.checkRestoredB(t)
}

// TestRestoreSurvivesSIGKILL kills a restore of B over A at each named
// point and checks that the banner never lies and that the next runs
// recover.
func TestRestoreSurvivesSIGKILL(t *testing.T) {
	for _, point := range []string{"spooled", "load", "verified", "swap", "dropped", "renamed"} {
		t.Run(point, func(t *testing.T) {
			w := newCrashWorld(t)
			cmd, lines, stderr := startCrashChild(t, w.srv, w.spec(point))
			waitLine(t, lines, stderr, "paused at "+point)
			kill9(t, cmd)
			t.Logf("the killed restore's log:\n%s", stderr)
			w.checkNoSpool(t, "after the kill")
			w.afterCrash(t)
			w.checkNoSpool(t, "after the next runs")
		})
	}
}

// TestRestoreSurvivesSIGKILLDuringHeldSwap kills a restore while its
// RENAME waits for a metadata lock that a reader holds on one table.
func TestRestoreSurvivesSIGKILLDuringHeldSwap(t *testing.T) {
	for _, released := range []bool{true, false} {
		name := "lock released before the next run"
		if !released {
			name = "lock still held at the next run"
		}
		t.Run(name, func(t *testing.T) {
			w := newCrashWorld(t)
			db, err := openDB(w.srv.Root(""), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			reader, err := db.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer reader.Close()
			if _, err := reader.ExecContext(t.Context(), "LOCK TABLES "+sqltext.Qualified(w.target, "blobs")+" READ"); err != nil {
				t.Fatal(err)
			}
			unlocked := false
			unlock := func() {
				if !unlocked {
					unlocked = true
					if _, err := reader.ExecContext(context.Background(), "UNLOCK TABLES"); err != nil {
						t.Fatal(err)
					}
				}
			}
			defer unlock()

			cmd, lines, stderr := startCrashChild(t, w.srv, w.spec(""))
			renameWaiting := func() bool {
				var n int
				err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.processlist"+
					" WHERE info LIKE 'RENAME TABLE%' AND state LIKE '%metadata lock%'").Scan(&n)
				if err != nil {
					t.Fatal(err)
				}
				return n > 0
			}
			go func() {
				for l := range lines {
					if strings.HasPrefix(l, "finished") {
						t.Errorf("the restore %s while its swap should be held up", l)
					}
				}
			}()
			waitUntil(t, "the swap to wait for the lock", renameWaiting)
			kill9(t, cmd)
			t.Logf("the killed restore's log:\n%s", stderr)
			if released {
				// The server finishes the rename its client no longer waits for.
				unlock()
				waitUntil(t, "the orphaned rename to end", func() bool { return !renameWaiting() })
				w.afterCrash(t)
				return
			}
			// The next run must not wait behind, or race with, the rename
			// the killed run left waiting.
			before := w.checkBanner(t, "after the kill", false)
			_, err = w.restorer(t, w.storeBad).restore(t)
			if err == nil {
				t.Fatal("a restore of a corrupt backup succeeded")
			}
			after := w.checkBanner(t, "after a run with only a corrupt backup", true)
			if after != before && strings.Contains(err.Error(), "left as it was") {
				t.Errorf("the run changed the database but says: %v", err)
			}
			if renameWaiting() {
				t.Errorf("the killed run's rename still waits after the next run")
			}
			unlock()
			if _, err := w.restorer(t, w.storeB).restore(t); err != nil {
				t.Fatalf("restore B: %v", err)
			}
			w.checkRestoredB(t)
		})
	}
}

// TestEndSession checks that the recovery ends a session of the same
// account that is still running a statement, without any privilege
// beyond the documented grants.
func TestEndSession(t *testing.T) {
	srv := testdb.Get(t)
	target := srv.NewDatabase(t, "app")
	conn := limitedUser(t, srv, target)
	db, err := openDB(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	busy, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var id int64
	if err := busy.QueryRowContext(t.Context(), "SELECT CONNECTION_ID()").Scan(&id); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := busy.ExecContext(context.Background(), "DO SLEEP(600)")
		done <- err
	}()
	waitUntil(t, "the statement to run", func() bool {
		var n int
		_ = db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.processlist WHERE id = ? AND info LIKE 'DO SLEEP%'", id).Scan(&n)
		return n == 1
	})
	var start int64
	if err := db.QueryRowContext(t.Context(), "SELECT "+serverStart).Scan(&start); err != nil {
		t.Fatal(err)
	}
	if err := endSession(t.Context(), db, id, start, testLog(t)); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?", id).Scan(&n); err != nil || n != 0 {
		t.Errorf("session %d still there (%d, %v)", id, n, err)
	}
	if err := <-done; err == nil {
		t.Errorf("the killed session's statement ran to its end")
	}
	// A session that is gone already is no error.
	if err := endSession(t.Context(), db, id, start, testLog(t)); err != nil {
		t.Errorf("second endSession: %v", err)
	}
}

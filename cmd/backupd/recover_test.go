package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
)

// writer commits a row about every quarter second, as the issue's
// measurement asks, and remembers what it was told.
type writer struct {
	mu        sync.Mutex
	acked     map[int]time.Time // ids whose COMMIT returned, and when
	inflight  map[int]bool      // ids inserted whose COMMIT had not returned
	rolled    []string          // values inserted and rolled back
	stop      chan struct{}
	done      chan struct{}
	lastError error
	turn      sync.Mutex // held for each transaction; quiet holds it
}

// quiet holds the writer for a while and returns a whole second within
// that time, away from every commit.
func (w *writer) quiet() time.Time {
	w.turn.Lock()
	defer w.turn.Unlock()
	target := time.Now().Add(100 * time.Millisecond).Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(target.Add(200 * time.Millisecond)))
	return target.UTC()
}

func startWriter(t *testing.T, srv *testdb.Server, db string) *writer {
	t.Helper()
	w := &writer{acked: map[int]time.Time{}, inflight: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	pool, err := srv.Root(db).OpenDB(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(w.done)
		defer pool.Close()
		for i := 0; ; i++ {
			select {
			case <-w.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			if err := w.one(pool, i); err != nil {
				w.mu.Lock()
				w.lastError = err
				w.mu.Unlock()
				return // the server is gone
			}
		}
	}()
	return w
}

func (w *writer) one(pool *sql.DB, i int) error {
	w.turn.Lock()
	defer w.turn.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if i%5 == 4 {
		// Never committed: it must not be recovered.
		v := fmt.Sprintf("rolled back %d", i)
		if _, err := tx.Exec("INSERT INTO t (v) VALUES (?)", v); err != nil {
			return err
		}
		w.mu.Lock()
		w.rolled = append(w.rolled, v)
		w.mu.Unlock()
		return tx.Rollback()
	}
	res, err := tx.Exec("INSERT INTO t (v) VALUES (?)", fmt.Sprintf("row %d", i))
	if err != nil {
		return err
	}
	n, _ := res.LastInsertId()
	id := int(n)
	w.mu.Lock()
	w.inflight[id] = true
	w.mu.Unlock()
	if err := tx.Commit(); err != nil {
		return err
	}
	w.mu.Lock()
	delete(w.inflight, id)
	w.acked[id] = time.Now()
	w.mu.Unlock()
	return nil
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func healthOf(addr string) (daemon.Health, bool) {
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		return daemon.Health{}, false
	}
	defer resp.Body.Close()
	var h daemon.Health
	return h, json.NewDecoder(resp.Body).Decode(&h) == nil
}

// Production's volume is lost: serve --binlog follows the source while a
// row is written every quarter second; the source is killed with SIGKILL;
// recover --to latest into a fresh server has every row committed more
// than --binlog-flush before the kill, and no row that was not committed;
// recover --to a whole second between two dumps (serve's first and a
// backupd now) has exactly the rows committed before it.
func TestServeBinlogRecoverAfterKill(t *testing.T) {
	for _, tc := range []struct {
		name, product, dumpProduct string
	}{
		{"MySQL 9.7 dumped by mariadb-dump 11.8", testdb.MySQL97, testdb.MariaDB118},
		{"MariaDB 11.8", testdb.MariaDB118, testdb.MariaDB118},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []string{"--log-bin=mariadb-bin", "--server-id=7"}
			if testdb.MySQL(tc.product) {
				opts = nil
			}
			src := testdb.StartPrivateProduct(t, tc.product, opts...)
			src.Exec(t, "", "CREATE DATABASE app; CREATE TABLE app.t (id INT PRIMARY KEY AUTO_INCREMENT, v VARCHAR(40), at TIMESTAMP(6) DEFAULT CURRENT_TIMESTAMP(6))")
			dir := t.TempDir()
			remote := filepath.Join(dir, "remote")
			listen := freePort(t)
			flush := time.Second
			bin := buildBackupd(t)
			// The family's own tools first on PATH, as on the recovering
			// machine.
			tools := filepath.Dir(testdb.Tool(t, tc.product, "mysql", "mariadb"))
			e := &env{dir: dir, remote: remote, lockFile: filepath.Join(dir, "backupd.lock"), vars: []string{
				"DB_SOCKET=" + src.Socket, "DB_DATABASE=app", "DB_USERNAME=root",
				"PATH=" + tools + string(os.PathListSeparator) + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir,
				"BACKUPD_MYSQLDUMP=" + testdb.Tool(t, tc.dumpProduct, "mariadb-dump"),
				"BACKUPD_REMOTE=" + remote, "BACKUPD_LOCK_FILE=" + filepath.Join(dir, "backupd.lock"),
				"BACKUPD_SLOT_CLAIMS=false", "BACKUPD_BINLOG=true", "BACKUPD_BINLOG_FLUSH=" + flush.String(),
				"BACKUPD_LISTEN=" + listen, "BACKUPD_BACKUP_AT_START=true",
			}}
			serve := e.start(t, bin, "serve", "--debug")
			waitFor(t, "the first backup, with coordinates", func() bool {
				entries, _ := os.ReadDir(remote)
				for _, de := range entries {
					if b, ok := (catalog.Codec{}).Parse(de.Name()); ok && !b.Partial {
						return true
					}
				}
				return false
			})
			w := startWriter(t, src, "app")
			time.Sleep(2 * time.Second)
			// A moment between two dumps: writes before it and after it,
			// then the second dump (backupd now, beside serve).
			then := w.quiet()
			time.Sleep(2 * time.Second)
			now := e.start(t, bin, "now")
			if code := now.wait(t, bound); code != 0 {
				t.Fatalf("backupd now: exit %d\n%s", code, now.stderr)
			}
			time.Sleep(2 * time.Second)
			if h, ok := healthOf(listen); !ok || h.Status != "ok" || !strings.HasPrefix(h.Binlog, "streaming; newest segment") {
				t.Errorf("health while streaming: %+v\n%s", h, serve.stderr)
			}
			killed := time.Now()
			src.Kill(t)
			<-w.done
			// The stream stalls: serve says so within twice the flush
			// interval, and a little.
			stalled := false
			for end := time.Now().Add(bound); time.Now().Before(end) && !stalled; time.Sleep(50 * time.Millisecond) {
				h, ok := healthOf(listen)
				stalled = ok && h.Status == "unhealthy" && strings.Contains(h.Binlog, "stalled")
			}
			if !stalled {
				h, _ := healthOf(listen)
				t.Fatalf("serve did not report the stall: %+v\n%s", h, serve.stderr)
			}
			_ = serve.cmd.Process.Signal(syscall.SIGTERM)
			serve.wait(t, bound)

			dst := testdb.StartPrivateProduct(t, tc.product)
			e.vars = append(e.vars, "RECOVER_DB_SOCKET="+dst.Socket, "RECOVER_DB_DATABASE=app", "RECOVER_DB_USERNAME=root")
			dry := e.start(t, bin, "recover", "--to", "latest", "--dry-run")
			if code := dry.wait(t, bound); code != 0 {
				t.Fatalf("recover --dry-run: exit %d\n%s", code, dry.stderr)
			}
			if out := dry.stderr.String(); !strings.Contains(out, "missing    nothing") || strings.Contains(out, "recovered into") {
				t.Errorf("dry run:\n%s", out)
			}
			start := time.Now()
			rec := e.start(t, bin, "recover", "--to", "latest")
			if code := rec.wait(t, 2*bound); code != 0 {
				t.Fatalf("recover: exit %d\n%s", code, rec.stderr)
			}
			rto := time.Since(start)
			t.Logf("recover --to latest took %s:\n%s", rto.Round(time.Millisecond), rec.stderr)

			got := map[int]bool{}
			for _, f := range strings.Fields(dst.Exec(t, "app", "SELECT id FROM t")) {
				n, _ := strconv.Atoi(f)
				got[n] = true
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			var lost, extra []int
			for id, at := range w.acked {
				if at.Before(killed.Add(-flush)) && !got[id] {
					lost = append(lost, id)
				}
			}
			for id := range got {
				if _, ok := w.acked[id]; !ok && !w.inflight[id] {
					extra = append(extra, id)
				}
			}
			slices.Sort(lost)
			if len(lost) > 0 || len(extra) > 0 {
				t.Errorf("lost %v (committed more than %s before the kill), recovered %v never committed; killed %s; acked %v\n%s", lost, flush, extra, killed.Format("15:04:05.000"), w.acked, serve.stderr)
			}
			rolled := dst.Exec(t, "app", "SELECT COUNT(*) FROM t WHERE v LIKE 'rolled back %'")
			if strings.TrimSpace(rolled) != "0" || len(w.rolled) == 0 {
				t.Errorf("%s rolled-back rows recovered (of %d)", strings.TrimSpace(rolled), len(w.rolled))
			}
			if len(w.acked) < 10 {
				t.Errorf("only %d rows written", len(w.acked))
			}
			newest := time.Time{}
			for id, at := range w.acked {
				if got[id] && at.After(newest) {
					newest = at
				}
			}
			t.Logf("%d rows committed, %d recovered; the newest recovered was committed %s before the kill",
				len(w.acked), len(got), killed.Sub(newest).Round(time.Millisecond))

			// To the moment between the two dumps, into another database:
			// exactly the rows committed before it, from the newest backup
			// taken before it.
			var first string
			entries, _ := os.ReadDir(remote)
			for _, de := range entries {
				if b, ok := (catalog.Codec{}).Parse(de.Name()); ok && !b.Partial && b.Time.Before(then) && b.Name > first {
					first = b.Name
				}
			}
			to := e.start(t, bin, "recover", "--to", then.Format(time.RFC3339), "--into-database", "app_then")
			if code := to.wait(t, 2*bound); code != 0 {
				t.Fatalf("recover --to %s: exit %d\n%s", then.Format(time.RFC3339), code, to.stderr)
			}
			if out := to.stderr.String(); !strings.Contains(out, "every transaction committed before it") || !strings.Contains(out, "backup     "+first) {
				t.Errorf("recover --to %s, want it from %s:\n%s", then.Format(time.RFC3339), first, out)
			}
			var want, gotThen []int
			for id, at := range w.acked {
				if at.Before(then) {
					want = append(want, id)
				}
			}
			for _, f := range strings.Fields(dst.Exec(t, "app_then", "SELECT id FROM t")) {
				n, _ := strconv.Atoi(f)
				gotThen = append(gotThen, n)
			}
			slices.Sort(want)
			slices.Sort(gotThen)
			if len(want) == 0 || len(want) == len(w.acked) || !slices.Equal(gotThen, want) {
				t.Errorf("recovered to %s: rows %v, want %v (of %d committed)", then.Format(time.RFC3339), gotThen, want, len(w.acked))
			}
			t.Logf("recover --to %s (between the two dumps): %d rows, as committed before it", then.Format(time.RFC3339), len(gotThen))
		})
	}
}

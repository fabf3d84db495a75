package daemon

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/backupd/backupd/internal/flytest"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/fly"
	"github.com/backupd/backupd/pkg/lock"
)

// wait bounds every wait for something the daemon does in the background;
// it is a deadlock guard, not a performance assertion.
const wait = 10 * time.Second

func mustSchedule(t *testing.T, expr string) Schedule {
	t.Helper()
	s, err := ParseSchedule(expr, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// syncBuffer is a log sink safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLog() (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

// start runs d until the test ends, and checks that Run returns.
func start(t *testing.T, d *Daemon) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(d.cfg.Grace + cancelWait + wait):
				t.Errorf("Run did not return after shutdown")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// idle waits until no job of d is running, so that the next tick cannot
// find the previous run still in progress.
func idle(t *testing.T, d *Daemon) {
	t.Helper()
	eventually(t, "the daemon to be idle", func() bool { return d.track.running() == 0 })
}

func blockUntil(t *testing.T, c *clockwork.FakeClock, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.BlockUntilContext(ctx, n); err != nil {
		t.Fatalf("scheduler did not arm %d timers: %v", n, err)
	}
}

func receive[T any](t *testing.T, c <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-c:
		return v
	case <-time.After(wait):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

// eventually polls cond; for effects of a goroutine the test cannot join.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func report(at time.Time) backup.Report {
	return backup.Report{
		Name: "db-backup-" + at.UTC().Format("20060102-150405") + ".sql.zst", Time: at.UTC(),
		RawBytes: 1000, StoredBytes: 100, SHA256: "abc",
	}
}

func TestHourlyBackupsAndTheFiveOClockRefresh(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 3, 30, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0)
	backups := make(chan time.Time, 100)
	refreshes := make(chan time.Time, 100)
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			backups <- clock.Now()
			return report(clock.Now()), nil
		},
		RefreshSchedule: mustSchedule(t, "0 5 * * *"),
		Refresh: func(ctx context.Context) error {
			refreshes <- clock.Now()
			return nil
		},
		Clock: clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	blockUntil(t, clock, 2)

	// 27 hours, from 04:00 on the first day to 06:00 on the next. Each
	// hour the clock stops a second short of the tick, then steps a second
	// past it (a run seen at hh:59:59 would fail the check below). The
	// clock never rests exactly on a tick: a frozen clock equal to the
	// scheduled time can make gocron re-arm the same instant once more.
	next := time.Date(2025, 3, 1, 4, 0, 0, 0, time.UTC)
	var gotRefresh []time.Time
	for range 27 {
		clock.Advance(next.Add(-time.Second).Sub(clock.Now()))
		clock.Advance(2 * time.Second)
		want := next.Add(time.Second)
		if got := receive(t, backups, "backup at "+next.String()); !got.Equal(want) {
			t.Fatalf("backup ran at %v, want %v", got, want)
		}
		if next.Hour() == 5 {
			gotRefresh = append(gotRefresh, receive(t, refreshes, "refresh at "+next.String()))
		}
		idle(t, d)
		blockUntil(t, clock, 2)
		next = next.Add(time.Hour)
	}
	want := []time.Time{time.Date(2025, 3, 1, 5, 0, 1, 0, time.UTC), time.Date(2025, 3, 2, 5, 0, 1, 0, time.UTC)}
	if len(gotRefresh) != len(want) || !gotRefresh[0].Equal(want[0]) || !gotRefresh[1].Equal(want[1]) {
		t.Errorf("refreshes at %v, want %v", gotRefresh, want)
	}
	if n := len(refreshes); n != 0 {
		t.Errorf("%d refreshes at other hours: first at %v", n, <-refreshes)
	}
	if n := len(backups); n != 0 {
		t.Errorf("%d extra backups: first at %v", n, <-backups)
	}
	if got, want := d.MaxAge(), 2*time.Hour; got != want {
		t.Errorf("max age = %v, want %v", got, want)
	}
}

func TestAnOverlappingTickIsSkippedNotQueued(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 0, 30, 0, 0, time.UTC))
	started := make(chan time.Time, 10)
	release := make(chan struct{})
	log, logs := newLog()
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			now := clock.Now()
			started <- now
			if now.Hour() == 1 {
				select { // the 01:00 backup runs past 02:00
				case <-release:
				case <-ctx.Done():
					return backup.Report{}, ctx.Err()
				}
			}
			return report(now), nil
		},
		Clock: clock,
		Log:   log,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	blockUntil(t, clock, 1)

	clock.Advance(30*time.Minute + time.Second) // 01:00:01
	receive(t, started, "the 01:00 backup")
	blockUntil(t, clock, 1)
	clock.Advance(time.Hour) // 02:00:01, while 01:00 is still running
	eventually(t, "the 02:00 tick to be skipped", func() bool { return counter(t, d, "backupd_backup_runs_total", "skipped") == 1 })
	blockUntil(t, clock, 1)
	close(release)
	eventually(t, "the 01:00 backup to finish", func() bool { return counter(t, d, "backupd_backup_runs_total", "success") == 1 })
	idle(t, d)

	// Had the skipped tick been queued, it would run now, with the clock
	// still at 02:00. The next start must be the 03:00 one.
	clock.Advance(time.Hour)
	if got, want := receive(t, started, "the 03:00 backup"), time.Date(2025, 3, 1, 3, 0, 1, 0, time.UTC); !got.Equal(want) {
		t.Errorf("next backup started at %v, want %v", got, want)
	}
	eventually(t, "the 03:00 backup to finish", func() bool { return counter(t, d, "backupd_backup_runs_total", "success") == 2 })
	if got := counter(t, d, "backupd_backup_runs_total", "skipped"); got != 1 {
		t.Errorf("skipped = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "backup tick skipped") {
		t.Errorf("the skipped tick was not logged:\n%s", logs)
	}
}

func TestBackupAtStart(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 0, 30, 0, 0, time.UTC))
	started := make(chan time.Time, 10)
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			started <- clock.Now()
			return report(clock.Now()), nil
		},
		BackupAtStart: true,
		Clock:         clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	if got, want := receive(t, started, "the start-up backup"), clock.Now(); !got.Equal(want) {
		t.Errorf("start-up backup at %v, want %v", got, want)
	}
	idle(t, d)
	blockUntil(t, clock, 1)
	clock.Advance(30*time.Minute + time.Second)
	if got, want := receive(t, started, "the 01:00 backup"), time.Date(2025, 3, 1, 1, 0, 1, 0, time.UTC); !got.Equal(want) {
		t.Errorf("scheduled backup at %v, want %v", got, want)
	}
}

// scrape fetches /metrics from d's handler.
func scrape(t *testing.T, d *Daemon) string {
	t.Helper()
	rec := httptest.NewRecorder()
	d.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d", rec.Code)
	}
	return rec.Body.String()
}

// metric returns the value of the sample named exactly series (name plus
// labels as Prometheus prints them), failing when it is absent.
func metric(t *testing.T, text, series string) float64 {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			f, err := strconv.ParseFloat(val, 64)
			if err != nil {
				t.Fatalf("%s: %v", series, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not exported", series)
	return 0
}

func counter(t *testing.T, d *Daemon, name, result string) float64 {
	return metric(t, scrape(t, d), fmt.Sprintf(`%s{result=%q}`, name, result))
}

func getHealth(t *testing.T, url string) (int, Health) {
	t.Helper()
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("/healthz body: %v", err)
	}
	if got := resp.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("/healthz content type %q", got)
	}
	return resp.StatusCode, h
}

func TestHealthAndMetricsFollowSuccessFailureAndStaleness(t *testing.T) {
	t0 := time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(t0)
	var fail error
	inv := Inventory{Backups: 40, Newest: t0.Add(-75 * time.Minute)}
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			if fail != nil {
				return backup.Report{}, fail
			}
			clock.Advance(90 * time.Second) // the backup takes a while
			r := report(clock.Now().Add(-90 * time.Second))
			r.RawBytes, r.StoredBytes = 123456, 7890
			inv.Backups++
			inv.Newest = r.Time
			return r, nil
		},
		Inventory: func(ctx context.Context) (Inventory, error) { return inv, nil },
		Clock:     clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()

	// Seeded from the remote: a restart does not look unhealthy.
	d.seed(context.Background())
	code, h := getHealth(t, srv.URL)
	if code != http.StatusOK || h.Status != "ok" {
		t.Errorf("after seeding: %d %+v, want 200 ok", code, h)
	}
	if got, want := h.NewestBackup, "2025-03-01T09:00:00Z"; got != want {
		t.Errorf("newest backup %q, want %q", got, want)
	}
	m := scrape(t, d)
	if got := metric(t, m, "backupd_remote_backups"); got != 40 {
		t.Errorf("remote backups = %v, want 40", got)
	}
	if got, want := metric(t, m, "backupd_last_success_timestamp_seconds"), float64(inv.Newest.Unix()); got != want {
		t.Errorf("last success = %v, want %v", got, want)
	}

	// 110 minutes after the newest backup: still within 2h.
	clock.Advance(35 * time.Minute)
	if code, h := getHealth(t, srv.URL); code != http.StatusOK {
		t.Errorf("at 110 min: %d %+v, want 200", code, h)
	}
	// Past two hourly intervals without a backup: stale.
	clock.Advance(15 * time.Minute)
	code, h = getHealth(t, srv.URL)
	if code != http.StatusServiceUnavailable || h.Status != "unhealthy" || !strings.Contains(h.Reason, "older than 2h0m0s") {
		t.Errorf("stale: %d %+v, want 503 saying the newest backup is too old", code, h)
	}

	// A good run makes it healthy again and fills the metrics.
	attempt := clock.Now()
	if got := d.runBackup(context.Background()); got != ResultSuccess {
		t.Fatalf("run = %s", got)
	}
	if code, h := getHealth(t, srv.URL); code != http.StatusOK || h.LastResult != ResultSuccess {
		t.Errorf("after success: %d %+v, want 200", code, h)
	}
	m = scrape(t, d)
	for series, want := range map[string]float64{
		`backupd_backup_runs_total{result="success"}`: 1,
		`backupd_backup_runs_total{result="failure"}`: 0,
		`backupd_last_raw_bytes`:                      123456,
		`backupd_last_stored_bytes`:                   7890,
		`backupd_last_duration_seconds`:               90,
		`backupd_last_attempt_timestamp_seconds`:      float64(attempt.Unix()),
		`backupd_last_success_timestamp_seconds`:      float64(attempt.Unix()),
		`backupd_remote_backups`:                      41,
	} {
		if got := metric(t, m, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// A failed run is unhealthy at once, however fresh the last backup.
	fail = errors.New("mariadb-dump failed (exit status 2): Access denied")
	if got := d.runBackup(context.Background()); got != ResultFailure {
		t.Fatalf("run = %s, want failure", got)
	}
	code, h = getHealth(t, srv.URL)
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Reason, "Access denied") || h.LastResult != ResultFailure {
		t.Errorf("after failure: %d %+v, want 503 quoting the error", code, h)
	}
	m = scrape(t, d)
	if got := metric(t, m, `backupd_backup_runs_total{result="failure"}`); got != 1 {
		t.Errorf("failures = %v, want 1", got)
	}
	if got := metric(t, m, `backupd_last_success_timestamp_seconds`); got != float64(attempt.Unix()) {
		t.Errorf("a failure moved last success to %v", got)
	}

	// And the next success clears it.
	fail = nil
	d.runBackup(context.Background())
	if code, h := getHealth(t, srv.URL); code != http.StatusOK {
		t.Errorf("after recovery: %d %+v, want 200", code, h)
	}
}

func TestHealthOnAnEmptyRemote(t *testing.T) {
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 10, 15, 0, 0, time.UTC))
	d, err := New(Config{
		Schedule:  mustSchedule(t, "0 * * * *"),
		Backup:    func(ctx context.Context) (backup.Report, error) { return report(clock.Now()), nil },
		Inventory: func(ctx context.Context) (Inventory, error) { return Inventory{}, nil },
		Clock:     clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	d.seed(context.Background())
	if code, h := getHealth(t, srv.URL); code != http.StatusOK {
		t.Errorf("fresh start: %d %+v, want 200 while the first backup is due", code, h)
	}
	clock.Advance(2 * time.Hour)
	code, h := getHealth(t, srv.URL)
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Reason, "no successful backup since start-up") {
		t.Errorf("2h without a backup: %d %+v, want 503", code, h)
	}
}

type ping struct {
	Path, RID, Body string
}

func pingServer(t *testing.T, status int) (*httptest.Server, func() []ping) {
	var mu sync.Mutex
	var got []ping
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, ping{r.URL.Path, r.URL.Query().Get("rid"), string(b)})
		mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []ping {
		mu.Lock()
		defer mu.Unlock()
		return append([]ping(nil), got...)
	}
}

func TestPingSequence(t *testing.T) {
	srv, pings := pingServer(t, http.StatusOK)
	log, logs := newLog()
	var fail error
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			if fail != nil {
				return backup.Report{}, fail
			}
			return report(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)), nil
		},
		Ping: &Pinger{URL: srv.URL + "/ping/f00d-check-key", Log: log},
		Log:  log,
	})
	if err != nil {
		t.Fatal(err)
	}
	d.runBackup(context.Background())
	fail = errors.New("dump is incomplete")
	d.runBackup(context.Background())

	got := pings()
	wantPaths := []string{"/ping/f00d-check-key/start", "/ping/f00d-check-key", "/ping/f00d-check-key/start", "/ping/f00d-check-key/fail"}
	if len(got) != len(wantPaths) {
		t.Fatalf("pings = %+v, want paths %v", got, wantPaths)
	}
	for i, p := range got {
		if p.Path != wantPaths[i] {
			t.Errorf("ping %d to %s, want %s", i, p.Path, wantPaths[i])
		}
	}
	if got[0].RID == "" || got[0].RID != got[1].RID || got[2].RID != got[3].RID || got[0].RID == got[2].RID {
		t.Errorf("run ids %q %q %q %q: want one per run, shared by its start and end", got[0].RID, got[1].RID, got[2].RID, got[3].RID)
	}
	if !strings.Contains(got[1].Body, "db-backup-20250301-100000.sql.zst") {
		t.Errorf("success ping body %q does not name the backup", got[1].Body)
	}
	if !strings.Contains(got[3].Body, "dump is incomplete") {
		t.Errorf("fail ping body %q lacks the reason", got[3].Body)
	}
	// The summary lines carry the same run ids.
	for _, rid := range []string{got[0].RID, got[2].RID} {
		if !strings.Contains(logs.String(), `"run":"`+rid+`"`) {
			t.Errorf("no log line for run %s", rid)
		}
	}
	if strings.Contains(logs.String(), "f00d-check-key") {
		t.Errorf("the ping URL's key reached the log")
	}
}

func TestAFailingPingNeverFailsTheBackup(t *testing.T) {
	refusing, _ := pingServer(t, http.StatusInternalServerError)
	quit := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-quit:
		}
	}))
	defer hanging.Close()
	defer close(quit)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	for name, url := range map[string]string{"refused": refusing.URL, "hanging": hanging.URL, "unreachable": closed.URL} {
		t.Run(name, func(t *testing.T) {
			log, logs := newLog()
			d, err := New(Config{
				Schedule: mustSchedule(t, "0 * * * *"),
				Backup: func(ctx context.Context) (backup.Report, error) {
					return report(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)), nil
				},
				Ping: &Pinger{URL: url + "/secret-key", Timeout: 200 * time.Millisecond, Log: log},
				Log:  log,
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := d.runBackup(context.Background()); got != ResultSuccess {
				t.Errorf("run = %s, want success", got)
			}
			if !strings.Contains(logs.String(), "ping") {
				t.Errorf("the failed ping was not logged:\n%s", logs)
			}
			if strings.Contains(logs.String(), "secret-key") {
				t.Errorf("the ping URL reached the log:\n%s", logs)
			}
		})
	}
}

func TestALockHeldElsewhereSkipsTheRun(t *testing.T) {
	path := t.TempDir() + "/backupd.lock"
	other, err := lock.TryAcquire(path, "backupd now")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	srv, pings := pingServer(t, http.StatusOK)
	called := false
	log, logs := newLog()
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			called = true
			return report(time.Now()), nil
		},
		Lock: func(ctx context.Context) (func(), error) {
			l, err := lock.TryAcquire(path, "backupd serve")
			if err != nil {
				return nil, err
			}
			return func() { l.Release() }, nil
		},
		Ping: &Pinger{URL: srv.URL},
		Log:  log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.runBackup(context.Background()); got != ResultLocked {
		t.Errorf("run = %s, want %s", got, ResultLocked)
	}
	if called {
		t.Error("the backup ran while another process held the lock")
	}
	if p := pings(); len(p) != 0 {
		t.Errorf("pings %+v sent for a skipped run", p)
	}
	if got := counter(t, d, "backupd_backup_runs_total", ResultLocked); got != 1 {
		t.Errorf("locked = %v, want 1", got)
	}
	if !strings.Contains(logs.String(), "backupd now") {
		t.Errorf("the log does not say who holds the lock:\n%s", logs)
	}

	// Once the other process is done, the next run goes ahead.
	other.Release()
	if got := d.runBackup(context.Background()); got != ResultSuccess || !called {
		t.Errorf("run after release = %s (called %v), want success", got, called)
	}
}

func TestPruneRunsOnlyAfterSuccess(t *testing.T) {
	var fail error
	prunes := 0
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			return report(time.Now()), fail
		},
		Prune: func(ctx context.Context) (int, error) {
			prunes++
			if prunes == 2 {
				return 1, errors.New("delete db-backup-x: permission denied")
			}
			return 3, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	d.runBackup(context.Background())
	fail = errors.New("dump failed")
	d.runBackup(context.Background())
	if prunes != 1 {
		t.Fatalf("prunes = %d after one success and one failure, want 1", prunes)
	}
	fail = nil
	if got := d.runBackup(context.Background()); got != ResultSuccess {
		t.Errorf("a failed prune failed the run: %s", got)
	}
	m := scrape(t, d)
	if got := metric(t, m, "backupd_retention_deleted_total"); got != 4 {
		t.Errorf("deleted = %v, want 4", got)
	}
	if got := metric(t, m, "backupd_retention_errors_total"); got != 1 {
		t.Errorf("retention errors = %v, want 1", got)
	}
	d.Metrics().AddRetentionDeleted(2)
	if got := metric(t, scrape(t, d), "backupd_retention_deleted_total"); got != 6 {
		t.Errorf("deleted after AddRetentionDeleted(2) = %v, want 6", got)
	}
}

func TestRefreshSurvivesAnAPIErrorAndRetriesNextTick(t *testing.T) {
	const token = "fm2_do-not-log-me"
	api := flytest.NewServer("yesterday", "m1", "m2")
	defer api.Close()
	api.SetFail(func(r *http.Request) (int, string) { return http.StatusBadGateway, "upstream down" })

	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 4, 30, 0, 0, time.UTC))
	log, logs := newLog()
	client := &fly.Client{API: api.URL, Token: token, Log: log}
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 0 1 1 *"), // out of the way
		Backup:   func(ctx context.Context) (backup.Report, error) { return backup.Report{}, nil },
		Refresh: func(ctx context.Context) error {
			_, err := client.RestartAll(ctx, "yesterday")
			return err
		},
		RefreshSchedule: mustSchedule(t, "0 5 * * *"),
		Clock:           clock,
		Log:             log,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, d)
	blockUntil(t, clock, 2)

	clock.Advance(30*time.Minute + time.Second) // 05:00:01, API down
	eventually(t, "the failed refresh", func() bool { return counter(t, d, "backupd_refresh_runs_total", "failure") == 1 })
	if got := api.Restarted(); len(got) != 0 {
		t.Errorf("restarted %v while the API failed", got)
	}
	if !strings.Contains(logs.String(), "502") {
		t.Errorf("the API error was not logged:\n%s", logs)
	}

	api.SetFail(nil)
	blockUntil(t, clock, 2)
	clock.Advance(24 * time.Hour) // 05:00 the next day
	eventually(t, "the retried refresh", func() bool { return counter(t, d, "backupd_refresh_runs_total", "success") == 1 })
	if got := api.Restarted(); len(got) != 2 || got[0] != "m1" || got[1] != "m2" {
		t.Errorf("restarted %v, want [m1 m2]", got)
	}
	for _, r := range api.Requests() {
		if r.Authorization != "Bearer "+token {
			t.Errorf("%s %s: Authorization %q", r.Method, r.Path, r.Authorization)
		}
		if strings.Contains(r.Path+r.RawQuery+r.Body, token) {
			t.Errorf("%s %s: token outside the header", r.Method, r.Path)
		}
	}
	if strings.Contains(logs.String(), token) {
		t.Errorf("token in the log:\n%s", logs)
	}
}

func TestShutdownLetsARunningBackupFinishWithinGrace(t *testing.T) {
	started := make(chan struct{})
	var runCtxErr error
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			close(started)
			select {
			case <-time.After(300 * time.Millisecond):
			case <-ctx.Done():
			}
			runCtxErr = ctx.Err()
			return report(time.Now()), ctx.Err()
		},
		BackupAtStart: true,
		Grace:         time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d)
	receive(t, started, "the backup to start")
	stop()
	if runCtxErr != nil {
		t.Errorf("the backup was cancelled (%v) although it finished within the grace period", runCtxErr)
	}
	if got := counter(t, d, "backupd_backup_runs_total", ResultSuccess); got != 1 {
		t.Errorf("successes = %v, want 1", got)
	}
}

func TestShutdownCancelsABackupThatOutlastsGrace(t *testing.T) {
	started := make(chan struct{})
	srv, pings := pingServer(t, http.StatusOK)
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			close(started)
			<-ctx.Done()
			return backup.Report{}, fmt.Errorf("dump cancelled: %w", ctx.Err())
		},
		BackupAtStart: true,
		Grace:         200 * time.Millisecond,
		Ping:          &Pinger{URL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	stop := start(t, d)
	receive(t, started, "the backup to start")
	stop() // fails the test if Run does not return
	if got := counter(t, d, "backupd_backup_runs_total", ResultCancelled); got != 1 {
		t.Errorf("cancelled = %v, want 1", got)
	}
	p := pings()
	if len(p) != 2 || p[1].Path != "/fail" || !strings.Contains(p[1].Body, "cancelled") {
		t.Errorf("pings = %+v, want start then a fail saying cancelled", p)
	}
}

func TestListenErrorIsAStartUpError(t *testing.T) {
	busy := httptest.NewServer(http.NotFoundHandler())
	defer busy.Close()
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup:   func(ctx context.Context) (backup.Report, error) { return backup.Report{}, nil },
		Listen:   strings.TrimPrefix(busy.URL, "http://"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("Run on a taken address = %v, want a listen error", err)
	}
}

package daemon

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/backupd/backupd/internal/notifytest"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/notify"
)

// alerting is a daemon whose backups fail while fail is set and whose
// retention is paused while paused is set, alerting to a webhook.
type alerting struct {
	d       *Daemon
	clock   *clockwork.FakeClock
	hook    *notifytest.Webhook
	fail    error
	paused  bool
	blocked bool // retention is blocked: the prune is refused, the remote holds the record
}

func newAlerting(t *testing.T) *alerting {
	t.Helper()
	a := &alerting{clock: clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC)), hook: notifytest.NewWebhook(t)}
	m := NewMetrics()
	n, err := notify.New([]string{a.hook.URL()}, notify.Options{Now: a.clock.Now, Observe: m.ObserveNotification})
	if err != nil {
		t.Fatal(err)
	}
	a.d, err = New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			if a.fail != nil {
				return backup.Report{}, a.fail
			}
			return report(a.clock.Now()), nil
		},
		Prune: func(ctx context.Context) (int, error) {
			if a.paused {
				return 0, &backup.Paused{Backup: "db-backup-20261201-030000.sql.zst", Code: "raw", Need: 3}
			}
			if a.blocked {
				return 0, &backup.BlockedError{Err: errors.New(blockedFix + " (delete db-backup-20261130-030000.sql.zst: 403 insufficientFilePermissions)")}
			}
			return 0, nil
		},
		Notify:  n,
		Metrics: m,
		Clock:   a.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// run is one scheduled tick an hour after the last.
func (a *alerting) run() string { return a.runAfter(time.Hour) }

// runAfter is a tick after gap.
func (a *alerting) runAfter(gap time.Duration) string {
	a.clock.Advance(gap)
	r := a.d.runBackup(context.Background())
	a.d.checkStale(context.Background())
	return r
}

func (a *alerting) titles() []string {
	var out []string
	for _, m := range a.hook.Messages() {
		out = append(out, m.Title)
	}
	return out
}

func TestAlerts(t *testing.T) {
	a := newAlerting(t)
	a.run()
	a.run()
	if got := a.titles(); len(got) != 0 {
		t.Fatalf("plain successes sent %q", got)
	}

	a.fail = errors.New("mariadb-dump failed (exit status 2): Access denied")
	a.run()
	a.runAfter(30 * time.Minute) // a second failure within the hour
	a.fail = nil
	a.run()
	a.fail = errors.New("dump is incomplete") // right after the recovery: not held back
	a.run()
	a.fail = nil
	a.run()

	want := []string{"backup failed", "backups work again", "backup failed", "backups work again"}
	if got := a.titles(); !slices.Equal(got, want) {
		t.Fatalf("alerts %q, want %q", got, want)
	}
	msgs := a.hook.Messages()
	if !strings.Contains(msgs[0].Body, "Access denied") {
		t.Errorf("failure alert %q does not say why", msgs[0].Body)
	}
	if !strings.Contains(msgs[1].Body, "after 2 failed runs") {
		t.Errorf("recovery alert %q does not count the failures", msgs[1].Body)
	}
	if !strings.Contains(msgs[2].Body, "(1 more alert since") {
		t.Errorf("the next failure alert %q does not count the one held back", msgs[2].Body)
	}
	m := scrape(t, a.d)
	for series, want := range map[string]float64{
		`backupd_notifications_total{cause="backup_failed",result="sent"}`:       2,
		`backupd_notifications_total{cause="backup_failed",result="suppressed"}`: 1,
		`backupd_notifications_total{cause="recovered",result="sent"}`:           2,
	} {
		if got := metric(t, m, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

func TestAlertsSuspectAndPaused(t *testing.T) {
	a := newAlerting(t)
	a.fail = &backup.SuspectError{Backup: "db-backup-20261201-040000.sql.zst", Reason: "raw size dropped"}
	a.run()
	if got := metric(t, scrape(t, a.d), "backupd_suspect_backup"); got != 1 {
		t.Errorf("suspect flag = %v after a suspect backup, want 1", got)
	}
	a.fail, a.paused = nil, true
	a.run()
	a.run() // still paused an hour later: reminded
	want := []string{"suspect backup", "retention paused", "backups work again", "retention paused"}
	if got := a.titles(); !slices.Equal(got, want) {
		t.Errorf("alerts %q, want %q", got, want)
	}
	if got := metric(t, scrape(t, a.d), "backupd_suspect_backup"); got != 0 {
		t.Errorf("suspect flag = %v after a good backup, want 0", got)
	}
}

func TestStaleAlert(t *testing.T) {
	a := newAlerting(t)
	a.run() // a backup at 04:00
	// The slot goes to a peer that makes no backups: no run fails.
	a.clock.Advance(119 * time.Minute)
	a.d.checkStale(context.Background())
	if got := a.titles(); len(got) != 0 {
		t.Fatalf("alert before the limit: %q", got)
	}
	a.clock.Advance(time.Minute)
	a.d.checkStale(context.Background())
	a.clock.Advance(30 * time.Minute)
	a.d.checkStale(context.Background())
	if got, want := a.titles(), []string{"no recent backup"}; !slices.Equal(got, want) {
		t.Fatalf("alerts %q, want %q", got, want)
	}
	if body := a.hook.Messages()[0].Body; !strings.Contains(body, "2026-12-01 04:00 UTC") || !strings.Contains(body, "older than the health limit 2h0m0s") {
		t.Errorf("stale alert %q", body)
	}
}

// TestAFailingNotifierNeverFailsTheBackup: the alert of a failure cannot be
// delivered; the runs' results are what they were, and the failures are
// counted.
func TestAFailingNotifierNeverFailsTheBackup(t *testing.T) {
	a := newAlerting(t)
	a.hook.SetFail(true)
	a.fail = errors.New("dump failed")
	if got := a.run(); got != ResultFailure {
		t.Errorf("run = %s, want failure", got)
	}
	a.fail = nil
	if got := a.run(); got != ResultSuccess {
		t.Errorf("run = %s, want success", got)
	}
	m := scrape(t, a.d)
	if got := metric(t, m, `backupd_notifications_total{cause="backup_failed",result="failed"}`); got != 1 {
		t.Errorf("failed notifications = %v, want 1", got)
	}
	if got := metric(t, m, `backupd_notifications_total{cause="recovered",result="failed"}`); got != 1 {
		t.Errorf("failed recovery notifications = %v, want 1", got)
	}
}

func TestHealthShowsNextBackupAndLastRestore(t *testing.T) {
	a := newAlerting(t)
	restored := time.Date(2026, 12, 1, 5, 2, 0, 0, time.UTC)
	a.d.cfg.Inventory = func(ctx context.Context) (Inventory, error) {
		return Inventory{Backups: 3, Newest: a.clock.Now(), LastRestore: restored}, nil
	}
	a.run()
	srv := httptest.NewServer(a.d.Handler())
	defer srv.Close()
	code, got := getHealth(t, srv.URL)
	if code != 200 || got.NextBackup != "2026-12-01T05:00:00Z" || got.LastRestore != "2026-12-01T05:02:00Z" {
		t.Errorf("health = %d %+v, want next backup 05:00 and last restore 05:02", code, got)
	}
	if got := metric(t, scrape(t, a.d), "backupd_last_restore_timestamp_seconds"); got != float64(restored.Unix()) {
		t.Errorf("last restore metric = %v, want %v", got, restored.Unix())
	}
}

// The start-up check of what the restore would refuse: a refusal alerts
// and makes health fail even while backups succeed; a check that could
// not run only logs; a clean check changes nothing.
func TestStartUpRestoreCheck(t *testing.T) {
	for _, tc := range []struct {
		name     string
		refused  string
		err      error
		healthy  bool
		alerts   []string
		inReason string
	}{
		{"refused", "line 17: SET: a user variable set from NOTE_VERBOSITY", nil, false, []string{"the restore would refuse the backups"}, "NOTE_VERBOSITY"},
		{"could not check", "", errors.New("connect: connection refused"), true, nil, ""},
		{"clean", "", nil, true, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAlerting(t)
			a.d.cfg.CheckRestore = func(context.Context) (string, error) { return tc.refused, tc.err }
			a.d.checkRestore(context.Background())
			a.run()
			if got := a.titles(); !slices.Equal(got, tc.alerts) {
				t.Errorf("alerts %q, want %q", got, tc.alerts)
			}
			h := a.d.state.health(a.clock.Now(), a.d.maxAge)
			if (h.Status == "ok") != tc.healthy || !strings.Contains(h.Reason, tc.inReason) {
				t.Errorf("health %+v, want healthy %v naming %q", h, tc.healthy, tc.inReason)
			}
		})
	}
}

const blockedFix = "the service account may not delete in the Shared Drive; give it the Content Manager role"

// TestRetentionBlocked: while the account may not delete, health is
// degraded (still 200: backups are made), the metric says so, and an
// alert goes out once per period; once deleting works, all of it clears.
func TestRetentionBlocked(t *testing.T) {
	a := newAlerting(t)
	a.d.cfg.Inventory = func(ctx context.Context) (Inventory, error) {
		inv := Inventory{Backups: 3, Newest: a.clock.Now()}
		if a.blocked {
			inv.Blocked = "retention is blocked since 2026-12-01 03:00 UTC: " + blockedFix
		}
		return inv, nil
	}
	srv := httptest.NewServer(a.d.Handler())
	defer srv.Close()
	a.blocked = true
	a.d.seed(context.Background())
	code, h := getHealth(t, srv.URL)
	if code != 200 || h.Status != "degraded" || !strings.Contains(h.Reason, blockedFix) {
		t.Errorf("health after start-up with the record in the remote = %d %+v, want 200 degraded saying what to grant", code, h)
	}
	a.run()
	a.runAfter(20 * time.Minute) // held back
	a.run()                      // an hour on: reminded
	code, h = getHealth(t, srv.URL)
	if code != 200 || h.Status != "degraded" || !strings.Contains(h.Reason, "retention is blocked") || !strings.Contains(h.Reason, blockedFix) {
		t.Errorf("health while blocked = %d %+v, want 200 degraded saying what to grant", code, h)
	}
	if got := metric(t, scrape(t, a.d), "backupd_retention_blocked"); got != 1 {
		t.Errorf("backupd_retention_blocked = %v while blocked, want 1", got)
	}
	want := []string{"retention blocked", "retention blocked"}
	if got := a.titles(); !slices.Equal(got, want) {
		t.Fatalf("alerts %q, want %q", got, want)
	}
	if body := a.hook.Messages()[0].Body; !strings.Contains(body, "retention is blocked: "+blockedFix) {
		t.Errorf("alert %q does not say what to grant", body)
	}

	a.blocked = false
	a.run()
	code, h = getHealth(t, srv.URL)
	if code != 200 || h.Status != "ok" || h.Reason != "" {
		t.Errorf("health once deleting works = %d %+v, want ok", code, h)
	}
	if got := metric(t, scrape(t, a.d), "backupd_retention_blocked"); got != 0 {
		t.Errorf("backupd_retention_blocked = %v once deleting works, want 0", got)
	}
	a.blocked = true
	a.runAfter(10 * time.Minute) // blocked again: said at once
	if got := a.titles(); len(got) != 3 {
		t.Errorf("alerts %q, want a third when retention is blocked again", got)
	}
}

// A start-up check that could not reach the database is not a second
// message beside the backup's own failure: it is noted, not warned, and
// runs again beside the first backup that succeeds.
func TestStartUpCheckThatCouldNotRunWaitsForABackup(t *testing.T) {
	a := newAlerting(t)
	log, buf := newLog()
	a.d.log = log
	ran := make(chan struct{}, 4)
	calls := 0
	a.d.cfg.CheckRestore = func(context.Context) (string, error) {
		calls++
		defer func() { ran <- struct{}{} }()
		if calls == 1 {
			return "", errors.New("dump: connect to u@10.0.0.1:3306/app: dial tcp 10.0.0.1:3306: i/o timeout")
		}
		return "", nil
	}
	a.d.checkRestore(context.Background())
	<-ran
	a.fail = errors.New("dump: connect to u@10.0.0.1:3306/app: dial tcp 10.0.0.1:3306: i/o timeout")
	a.run()
	if n := strings.Count(buf.String(), "i/o timeout"); n != 1 || strings.Contains(buf.String(), `"level":"WARN"`) {
		t.Errorf("the unreachable database is reported %d times (want once, by the backup), or warned:\n%s", n, buf)
	}
	a.fail = nil
	a.run()
	select {
	case <-ran:
	case <-time.After(10 * time.Second):
		t.Fatal("the check did not run again after a backup succeeded")
	}
	a.run()
	select {
	case <-ran:
		t.Error("the check ran again after it had run")
	case <-time.After(100 * time.Millisecond):
	}
}

package daemon

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/backupd/backupd/internal/fakedrive"
	"github.com/backupd/backupd/internal/storagetest"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/slot"
	"github.com/backupd/backupd/pkg/storage"
)

// tinyDumper stands in for mariadb-dump: a few bytes, always good.
type tinyDumper struct{}

func (tinyDumper) Dump(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
	const body = "-- a dump\n-- Dump completed\n"
	n, err := io.WriteString(w, body)
	return dump.Result{RawBytes: int64(n), StoredBytes: int64(n), SHA256: storagetest.SHA256([]byte(body))}, err
}

// machine is one "backupd serve" of a two-machine app: its own store (as
// its own process would open it), its own claimer, no shared lock file.
type machine struct {
	host  string
	store *storage.Store
	d     *Daemon
}

func newMachine(t *testing.T, host string, store *storage.Store, clock clockwork.Clock, skew time.Duration) *machine {
	t.Helper()
	log, logs := newLog()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s log:\n%s", host, logs)
		}
	})
	m := &machine{host: host, store: store}
	d, err := New(Config{
		Schedule: mustSchedule(t, "* * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			// The two machines start their runs a moment apart, so their
			// backups have names of their own.
			return backup.Job{Dumper: tinyDumper{}, Store: store, Time: clock.Now().Add(skew), Log: log}.Run(ctx)
		},
		Slots: &slot.Claimer{Store: store, Host: host, Settle: 100 * time.Millisecond, Now: clock.Now, Log: log},
		Inventory: func(ctx context.Context) (Inventory, error) {
			entries, err := store.List(ctx)
			if err != nil {
				return Inventory{}, err
			}
			l := catalog.Codec{}.Scan(entries, time.Now())
			inv := Inventory{Backups: len(l.Backups)}
			if n := len(l.Backups); n > 0 {
				inv.Newest = l.Backups[n-1].Time
			}
			return inv, nil
		},
		Clock: clock,
		Log:   log.With("host", host),
	})
	if err != nil {
		t.Fatal(err)
	}
	m.d = d
	return m
}

// TestTwoMachinesTakeOneBackupPerSlot runs two daemons on a per-minute
// schedule against one remote, as Fly runs two machines of the app: each
// slot gets exactly one backup, and the other machine's run is counted as
// skipped, not failed.
func TestTwoMachinesTakeOneBackupPerSlot(t *testing.T) {
	remotes := map[string]func(t *testing.T) (a, b *storage.Store){
		"local": func(t *testing.T) (a, b *storage.Store) {
			dir := t.TempDir() + "/backups"
			return openStore(t, dir), openStore(t, dir)
		},
		"memory": func(t *testing.T) (a, b *storage.Store) {
			remote := memRemote(t)
			return openStore(t, remote), openStore(t, remote)
		},
		"drive": func(t *testing.T) (a, b *storage.Store) {
			p := fakedrive.NewProduction(t)
			p.ConfigureGlobal(t) // the daemon makes its own contexts
			ctx := p.Context(context.Background())
			return storage.New(p.Fs(t, ctx, nil), nil), storage.New(p.Fs(t, ctx, nil), nil)
		},
	}
	for name, open := range remotes {
		t.Run(name, func(t *testing.T) {
			sa, sb := open(t)
			clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 9, 59, 30, 0, time.UTC))
			a := newMachine(t, "machine-a", sa, clock, 0)
			b := newMachine(t, "machine-b", sb, clock, time.Second)
			start(t, a.d)
			start(t, b.d)
			blockUntil(t, clock, 2)

			const slots = 3
			next := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
			for i := 1; i <= slots; i++ {
				clock.Advance(next.Add(time.Second).Sub(clock.Now()))
				eventually(t, "both machines to finish the run at "+next.String(), func() bool {
					n := 0.0
					for _, m := range []*machine{a, b} {
						for _, r := range []string{ResultSuccess, ResultFailure, ResultSkipped, ResultCancelled, ResultLocked} {
							n += counter(t, m.d, "backupd_backup_runs_total", r)
						}
					}
					return n == float64(2*i)
				})
				idle(t, a.d)
				idle(t, b.d)
				blockUntil(t, clock, 2)
				next = next.Add(time.Minute)
			}

			for _, r := range []string{ResultSuccess, ResultSkipped, ResultFailure} {
				got := counter(t, a.d, "backupd_backup_runs_total", r) + counter(t, b.d, "backupd_backup_runs_total", r)
				want := map[string]float64{ResultSuccess: slots, ResultSkipped: slots, ResultFailure: 0}[r]
				if got != want {
					t.Errorf("runs with result %s = %v over both machines, want %v", r, got, want)
				}
			}
			entries, err := sa.List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			l := catalog.Codec{}.Scan(entries, time.Now())
			perSlot := map[time.Time][]string{}
			for _, bk := range l.Backups {
				s := bk.Time.Truncate(time.Minute)
				perSlot[s] = append(perSlot[s], bk.Name)
			}
			if len(perSlot) != slots {
				t.Errorf("backups in %d slots, want %d: %v", len(perSlot), slots, perSlot)
			}
			for s, names := range perSlot {
				if len(names) != 1 {
					t.Errorf("slot %s has %d backups: %v", s.Format(time.TimeOnly), len(names), names)
				}
			}
			if len(l.Partials) != 0 {
				t.Errorf("partial uploads left behind: %v", l.Partials)
			}
			// Claims are cleaned up as slots pass: only the newest slot's
			// may remain.
			for _, c := range (slot.Names{}).Claims(entries) {
				if !c.Slot.Equal(next.Add(-time.Minute)) {
					t.Errorf("claim of an old slot left behind: %s", c.Name)
				}
			}
		})
	}
}

// memRemote names a memory remote of the test's own: memory remotes of one
// name are shared in the process, also between runs of -count.
func memRemote(t *testing.T) string {
	return fmt.Sprintf(":memory:%s-%d", t.Name(), remotes.Add(1))
}

var remotes atomic.Int64

func openStore(t *testing.T, remote string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), remote, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestASlotTakenByAPeerIsSkippedWithALogPing checks what the losing machine
// says: a log line naming the winner, a /log ping (no start, no failure),
// health still ok, and no backup of its own.
func TestASlotTakenByAPeerIsSkippedWithALogPing(t *testing.T) {
	store := openStore(t, memRemote(t))
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 10, 0, 1, 0, time.UTC))
	peer := &slot.Claimer{Store: store, Host: "machine-a", Settle: time.Millisecond, Now: func() time.Time { return clock.Now().Add(-time.Second) }}
	if _, err := peer.Claim(context.Background(), time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	srv, pings := pingServer(t, 200)
	log, logs := newLog()
	called := false
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			called = true
			return report(clock.Now()), nil
		},
		Slots: &slot.Claimer{Store: store, Host: "machine-b", Settle: time.Millisecond, Now: clock.Now},
		Ping:  &Pinger{URL: srv.URL},
		Clock: clock,
		Log:   log,
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.runBackup(context.Background()); got != ResultSkipped {
		t.Fatalf("run = %s, want %s", got, ResultSkipped)
	}
	if called {
		t.Error("the backup ran although a peer held the slot")
	}
	if got := counter(t, d, "backupd_backup_runs_total", ResultSkipped); got != 1 {
		t.Errorf("skipped = %v, want 1", got)
	}
	if got := counter(t, d, "backupd_backup_runs_total", ResultFailure); got != 0 {
		t.Errorf("failure = %v, want 0", got)
	}
	p := pings()
	if len(p) != 1 || p[0].Path != "/log" || !strings.Contains(p[0].Body, "taken by machine-a") {
		t.Errorf("pings = %+v, want one log ping naming machine-a", p)
	}
	if !strings.Contains(logs.String(), "slot 2025-03-01T10:00:00Z taken by machine-a") {
		t.Errorf("the log does not name the winner:\n%s", logs)
	}
	if h := d.state.health(clock.Now(), d.maxAge); h.Status != "ok" {
		t.Errorf("health after a skipped run = %+v, want ok", h)
	}
	entries, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := (slot.Names{}).Claims(entries); len(got) != 1 || got[0].Host != "machine-a" {
		t.Errorf("claims after losing = %v, want only machine-a's", got)
	}
}

// TestASuspectBackupFailsTheRunAndPausesRetention: a backup published with
// a suspect shape fails the run's metric and ping with the reason, and the
// paused gauge stays up until a prune runs unpaused.
func TestASuspectBackupFailsTheRunAndPausesRetention(t *testing.T) {
	srv, pings := pingServer(t, 200)
	suspect := true
	paused := error(&backup.Paused{Backup: "db-backup-20250301-100000.sql.zst", Code: "tables", Need: 3})
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			rep := report(time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC))
			if suspect {
				return rep, &backup.SuspectError{Backup: rep.Name, Reason: "0 tables, fewer than the median 12 of the last 5 backups"}
			}
			return rep, nil
		},
		Prune: func(ctx context.Context) (int, error) { return 0, paused },
		Ping:  &Pinger{URL: srv.URL},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.runBackup(context.Background()); got != ResultFailure {
		t.Errorf("run = %s, want %s", got, ResultFailure)
	}
	p := pings()
	if len(p) != 2 || p[1].Path != "/fail" || !strings.Contains(p[1].Body, "fewer than the median 12") {
		t.Errorf("pings = %+v, want a fail ping with the reason", p)
	}
	gauge := func() float64 { return metric(t, scrape(t, d), "backupd_retention_paused") }
	if got := gauge(); got != 1 {
		t.Errorf("retention_paused = %v after a suspect backup, want 1", got)
	}
	suspect = false
	d.runBackup(context.Background())
	if got := gauge(); got != 1 {
		t.Errorf("retention_paused = %v while prune is paused, want 1", got)
	}
	if got := metric(t, scrape(t, d), "backupd_retention_errors_total"); got != 0 {
		t.Errorf("a paused prune counted as a retention error")
	}
	paused = nil
	d.runBackup(context.Background())
	if got := gauge(); got != 0 {
		t.Errorf("retention_paused = %v after an unpaused prune, want 0", got)
	}
}

// TestTheClaimSettleIsNotTheRunsDuration: a run waits Settle for the other
// machines' claims before it dumps; the run's duration (the log line and
// backupd_last_duration_seconds) is the backup's own, without that wait.
func TestTheClaimSettleIsNotTheRunsDuration(t *testing.T) {
	store := openStore(t, memRemote(t))
	const settle = 2 * time.Second
	d, err := New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			return backup.Job{Dumper: tinyDumper{}, Store: store, Time: time.Now()}.Run(ctx)
		},
		Slots: &slot.Claimer{Store: store, Host: "a", Settle: settle},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := d.runBackup(context.Background()); got != ResultSuccess {
		t.Fatalf("run = %s", got)
	}
	if got := metric(t, scrape(t, d), "backupd_last_duration_seconds"); got >= settle.Seconds() {
		t.Errorf("backupd_last_duration_seconds = %v: the claim's settle of %s is counted in it", got, settle)
	}
}

// TestNoClaimIsLeftWhenServeStops: after serve stops, the remote holds its
// backups and no claim file, which list and prune would report as another
// file.
func TestNoClaimIsLeftWhenServeStops(t *testing.T) {
	store := openStore(t, memRemote(t))
	clock := clockwork.NewFakeClockAt(time.Date(2025, 3, 1, 9, 59, 30, 0, time.UTC))
	m := newMachine(t, "machine-a", store, clock, 0)
	stop := start(t, m.d)
	blockUntil(t, clock, 1)
	clock.Advance(31 * time.Second)
	eventually(t, "the run at 10:00", func() bool { return counter(t, m.d, "backupd_backup_runs_total", ResultSuccess) == 1 })
	stop()
	entries, err := store.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if claims := (slot.Names{}).Claims(entries); len(claims) != 0 {
		t.Errorf("claims left after serve stopped: %+v", claims)
	}
	if l := (catalog.Codec{}).Scan(entries, clock.Now()); len(l.Backups) != 1 {
		t.Errorf("the remote holds %d backups, want the one made", len(l.Backups))
	}
}

package daemon

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/backupd/backupd/internal/notifytest"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/notify"
	"github.com/backupd/backupd/pkg/stream"
)

// streaming is a daemon with a binary log stream the test speaks for.
type streaming struct {
	d       *Daemon
	clock   *clockwork.FakeClock
	hook    *notifytest.Webhook
	report  chan func(stream.Report)
	mu      sync.Mutex
	backups []time.Time   // start of each backup run
	coords  bool          // backups have coordinates
	hold    chan struct{} // when set, the next backup waits for it
}

func newStreaming(t *testing.T) *streaming {
	t.Helper()
	s := &streaming{clock: clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 3, 10, 0, 0, time.UTC)), hook: notifytest.NewWebhook(t),
		report: make(chan func(stream.Report), 1), coords: true}
	m := NewMetrics()
	n, err := notify.New([]string{s.hook.URL()}, notify.Options{Now: s.clock.Now, Observe: m.ObserveNotification})
	if err != nil {
		t.Fatal(err)
	}
	s.d, err = New(Config{
		Schedule: mustSchedule(t, "0 * * * *"),
		Backup: func(ctx context.Context) (backup.Report, error) {
			s.mu.Lock()
			s.backups = append(s.backups, s.clock.Now())
			hold, coords := s.hold, s.coords
			s.hold = nil
			s.mu.Unlock()
			if hold != nil {
				<-hold
			}
			rep := report(s.clock.Now())
			if coords {
				rep.Binlog = dump.Coordinates{Pos: "binlog.000003:4711", Server: "id1", At: s.clock.Now()}
			} else {
				rep.BinlogProblem = "the dump account may not read the binary log coordinates: grant FLUSH_TABLES"
			}
			return rep, nil
		},
		Stream: func(ctx context.Context, report func(stream.Report)) error {
			s.report <- report
			<-ctx.Done()
			return nil
		},
		Notify:  n,
		Metrics: m,
		Clock:   s.clock,
	})
	if err != nil {
		t.Fatal(err)
	}
	start(t, s.d)
	return s
}

func (s *streaming) runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.backups)
}

func (s *streaming) health(t *testing.T) (int, Health) {
	t.Helper()
	srv := httptest.NewServer(s.d.Handler())
	defer srv.Close()
	return getHealth(t, srv.URL)
}

func (s *streaming) titles() []string {
	var out []string
	for _, m := range s.hook.Messages() {
		out = append(out, m.Title)
	}
	return out
}

// A gap or a stall is alerted, makes health bad and takes a backup at
// once; health comes back once the stream goes again and a backup with
// coordinates started after the problem is published.
func TestBinlogProblemsTakeABackup(t *testing.T) {
	s := newStreaming(t)
	report := receive(t, s.report, "the stream to start")
	seg := binlog.Segment{Last: s.clock.Now().Add(-30 * time.Second)}
	report(stream.Report{Kind: stream.Published, Segment: seg, At: s.clock.Now()})
	if code, h := s.health(t); code != http.StatusOK || !strings.HasPrefix(h.Binlog, "streaming; newest segment") {
		t.Fatalf("health %d %+v", code, h)
	}

	s.clock.Advance(time.Minute)
	report(stream.Report{Kind: stream.Gap, Reason: "the server purged binlog.000003:4711 before it was copied"})
	eventually(t, "a backup at once", func() bool { return s.runs() == 1 })
	idle(t, s.d)
	if code, h := s.health(t); code != http.StatusOK {
		t.Errorf("after the gap's backup: %d %+v", code, h)
	}

	s.clock.Advance(time.Minute)
	report(stream.Report{Kind: stream.Stalled, Reason: "no replication connection to the server for 2m0s"})
	eventually(t, "a second backup", func() bool { return s.runs() == 2 })
	idle(t, s.d)
	code, h := s.health(t)
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Reason, "stalled") {
		t.Errorf("while stalled: %d %+v", code, h)
	}
	report(stream.Report{Kind: stream.Resumed})
	if code, h := s.health(t); code != http.StatusOK {
		t.Errorf("after the stall: %d %+v", code, h)
	}
	want := []string{"gap in the binary log copy", "binary log stream stalled"}
	eventually(t, "the alerts", func() bool { return slices.Equal(s.titles(), want) })
	m := scrape(t, s.d)
	if metric(t, m, "backupd_binlog_gaps_total") != 1 || metric(t, m, "backupd_binlog_recoverable") != 1 || metric(t, m, "backupd_binlog_segments_total") != 1 {
		t.Errorf("metrics:\n%s", m)
	}
}

// A backup under way when a gap comes cannot start a new chain (its
// coordinates are before the gap): another follows it at once.
func TestBinlogGapDuringABackup(t *testing.T) {
	s := newStreaming(t)
	report := receive(t, s.report, "the stream to start")
	hold := make(chan struct{})
	s.mu.Lock()
	s.hold = hold
	s.mu.Unlock()
	go s.d.backupTick()
	eventually(t, "the backup to start", func() bool { return s.runs() == 1 })
	s.clock.Advance(time.Minute)
	report(stream.Report{Kind: stream.Gap, Reason: "another server answers"})
	code, _ := s.health(t)
	if code != http.StatusServiceUnavailable {
		t.Errorf("health %d during the gap", code)
	}
	close(hold)
	eventually(t, "a backup after the one under way", func() bool { return s.runs() == 2 })
	idle(t, s.d)
	if code, h := s.health(t); code != http.StatusOK {
		t.Errorf("after the second backup: %d %+v", code, h)
	}
}

// A backup without coordinates while the stream runs is a failure of its
// own: recovery cannot start from it.
func TestBinlogBackupWithoutCoordinates(t *testing.T) {
	s := newStreaming(t)
	receive(t, s.report, "the stream to start")
	s.mu.Lock()
	s.coords = false
	s.mu.Unlock()
	s.d.backupTick()
	code, h := s.health(t)
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Reason, "grant FLUSH_TABLES") {
		t.Errorf("health %d %+v", code, h)
	}
	eventually(t, "the alert", func() bool { return slices.Equal(s.titles(), []string{"gap in the binary log copy"}) })
	s.mu.Lock()
	s.coords = true
	s.mu.Unlock()
	s.clock.Advance(time.Hour)
	s.d.backupTick()
	if code, h := s.health(t); code != http.StatusOK {
		t.Errorf("after a backup with coordinates: %d %+v", code, h)
	}
}

// A stall while retention is blocked makes health bad: the blocked
// retention's "degraded" does not hide that recovery is broken.
func TestBinlogProblemWhileRetentionIsBlocked(t *testing.T) {
	s := newStreaming(t)
	report := receive(t, s.report, "the stream to start")
	s.d.setBlocked("retention is blocked: the account may not delete")
	if code, h := s.health(t); code != http.StatusOK || h.Status != "degraded" {
		t.Fatalf("while blocked: %d %+v", code, h)
	}
	report(stream.Report{Kind: stream.Stalled, Reason: "no replication connection to the server for 2m0s"})
	eventually(t, "a backup", func() bool { return s.runs() == 1 })
	idle(t, s.d)
	code, h := s.health(t)
	if code != http.StatusServiceUnavailable || h.Status != "unhealthy" || !strings.Contains(h.Reason, "stalled") {
		t.Errorf("stalled while retention is blocked: %d %+v", code, h)
	}
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/notify"
	"github.com/backupd/backupd/pkg/stream"
)

// The binary log stream (Config.Stream) runs for the daemon's life. What
// it cannot copy is a failure, never quiet: a gap (the server purged what
// was not copied yet, another server answers, a fresh start with no
// backup to recover from) or a stall (no progress for twice the flush
// interval) is alerted, makes /healthz unhealthy and takes a backup at
// once, whose coordinates start a new chain. Health comes back when the
// stream publishes again and a backup with coordinates started after the
// problem has been published. A backup without coordinates, while the
// stream runs, is a failure of its own: recovery cannot start from it.

// binlogState is what the daemon knows of the stream, for /healthz.
type binlogState struct {
	mu        sync.Mutex
	on        bool
	problem   string    // why recovery to the last minute does not work now
	since     time.Time // when the problem began; a backup started after it ends it
	stalled   bool
	needs     bool      // a backup started after since is needed
	lastRun   time.Time // start of the last backup run
	lastSeg   time.Time // last commit in the newest segment published
	published time.Time // when that segment was published
	coords    string    // why the last backup has no coordinates
}

// binlogMetrics are the stream's metrics.
type binlogMetrics struct {
	segments    prometheus.Counter
	lastSegment prometheus.Gauge
	gaps        prometheus.Counter
	stalled     prometheus.Gauge
	recoverable prometheus.Gauge
}

func newBinlogMetrics(g func(name, help string) prometheus.Gauge) binlogMetrics {
	return binlogMetrics{
		segments: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "backupd", Name: "binlog_segments_total",
			Help: "Binary log segments published."}),
		lastSegment: g("binlog_last_commit_timestamp_seconds", "Commit time of the last transaction in the newest binary log segment published (the server's clock)."),
		gaps: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "backupd", Name: "binlog_gaps_total",
			Help: "Gaps in the binary log copy: what the server purged before it was copied, another server, a fresh start."}),
		stalled:     g("binlog_stalled", "1 while the binary log stream has made no progress for twice its flush interval, else 0."),
		recoverable: g("binlog_recoverable", "1 while point-in-time recovery reaches the newest segment (no gap or stall since the last backup with coordinates), else 0."),
	}
}

func (m binlogMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.segments, m.lastSegment, m.gaps, m.stalled, m.recoverable}
}

// runStream runs the stream until ctx ends.
func (d *Daemon) runStream(ctx context.Context) {
	d.binlog.mu.Lock()
	d.binlog.on = true
	d.binlog.mu.Unlock()
	d.metrics.binlog.recoverable.Set(1)
	if err := d.cfg.Stream(ctx, d.streamReport); err != nil {
		d.log.Error("binary log stream could not start", "err", err)
		d.binlogProblem(ctx, notify.BinlogStalled, "the binary log stream could not start: "+err.Error(), false)
	}
}

// streamReport takes what the stream reports.
func (d *Daemon) streamReport(r stream.Report) {
	ctx := d.runCtx
	switch r.Kind {
	case stream.Published:
		d.metrics.binlog.segments.Inc()
		d.metrics.binlog.lastSegment.Set(unix(r.Segment.Last))
		d.binlog.mu.Lock()
		d.binlog.lastSeg, d.binlog.published = r.Segment.Last, r.At
		d.binlog.mu.Unlock()
		d.binlogClear()
	case stream.Gap:
		d.metrics.binlog.gaps.Inc()
		d.binlogProblem(ctx, notify.BinlogGap, "gap in the binary log copy: "+r.Reason, false)
	case stream.Stalled:
		d.metrics.binlog.stalled.Set(1)
		d.binlogProblem(ctx, notify.BinlogStalled, "binary log stream stalled: "+r.Reason, true)
	case stream.Resumed:
		d.metrics.binlog.stalled.Set(0)
		d.binlog.mu.Lock()
		d.binlog.stalled = false
		d.binlog.mu.Unlock()
		d.binlogClear()
	}
}

// binlogProblem records a gap or stall, alerts, and takes a backup at once.
func (d *Daemon) binlogProblem(ctx context.Context, cause notify.Cause, reason string, stalled bool) {
	d.binlog.mu.Lock()
	d.binlog.problem, d.binlog.since, d.binlog.needs = reason, d.clock.Now(), true
	if stalled {
		d.binlog.stalled = true
	}
	d.binlog.mu.Unlock()
	d.metrics.binlog.recoverable.Set(0)
	d.log.Error("point-in-time recovery is broken until a new backup; taking one now", "reason", reason)
	d.cfg.Notify.Notify(ctx, cause, reason+"; a backup is being taken now")
	go d.backupTick()
}

// binlogClear ends the problem once the stream goes again and a backup
// started after it was published.
func (d *Daemon) binlogClear() {
	d.binlog.mu.Lock()
	defer d.binlog.mu.Unlock()
	if d.binlog.problem != "" && !d.binlog.stalled && !d.binlog.needs {
		d.log.Info("point-in-time recovery works again", "was", d.binlog.problem)
		d.binlog.problem = ""
	}
	if d.binlog.problem == "" && d.binlog.coords == "" {
		d.metrics.binlog.recoverable.Set(1)
	}
}

// binlogBackup records a backup run for the stream: one started after a
// problem, published with coordinates, is the new start of recovery.
func (d *Daemon) binlogBackup(start time.Time, rep backup.Report, err error) {
	d.binlog.mu.Lock()
	on := d.binlog.on
	d.binlog.lastRun = start
	if !on || err != nil && !errors.Is(err, backup.ErrSuspect) {
		d.binlog.mu.Unlock()
		return
	}
	d.binlog.coords = ""
	if rep.Binlog.IsZero() {
		d.binlog.coords = rep.BinlogProblem
		d.binlog.mu.Unlock()
		d.metrics.binlog.recoverable.Set(0)
		d.log.Error("the backup has no binary log coordinates: point-in-time recovery cannot start from it", "backup", rep.Name, "reason", rep.BinlogProblem)
		d.cfg.Notify.Notify(d.runCtx, notify.BinlogGap, fmt.Sprintf("backup %s has no binary log coordinates, so point-in-time recovery cannot start from it: %s", rep.Name, rep.BinlogProblem))
		return
	}
	if d.binlog.needs && !start.Before(d.binlog.since) {
		d.binlog.needs = false
	}
	d.binlog.mu.Unlock()
	d.binlogClear()
}

// binlogAgain takes another backup at once when one is owed after a
// problem and the run that just ended started before it (a run that was
// under way when the problem came cannot start a new chain).
func (d *Daemon) binlogAgain() {
	if d.backupBusy.Load() {
		return
	}
	d.binlog.mu.Lock()
	again := d.binlog.on && d.binlog.needs && !d.binlog.lastRun.IsZero() && d.binlog.lastRun.Before(d.binlog.since)
	d.binlog.mu.Unlock()
	if again {
		go d.backupTick()
	}
}

// binlogHealth is the stream's part of /healthz: a line for Health.Binlog
// and, when recovery is broken, the reason health is bad.
func (d *Daemon) binlogHealth(now time.Time) (line, bad string) {
	d.binlog.mu.Lock()
	defer d.binlog.mu.Unlock()
	if !d.binlog.on {
		return "", ""
	}
	switch {
	case d.binlog.problem != "":
		return d.binlog.problem, d.binlog.problem
	case d.binlog.coords != "":
		msg := "the newest backup has no binary log coordinates, so recovery cannot start from it: " + d.binlog.coords
		return msg, msg
	case d.binlog.lastSeg.IsZero():
		return "streaming; no segment published yet", ""
	}
	return fmt.Sprintf("streaming; newest segment ends at a commit of %s, published %s ago", d.binlog.lastSeg.UTC().Format(time.RFC3339),
		now.Sub(d.binlog.published).Round(time.Second)), ""
}

package daemon

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/backupd/backupd/pkg/notify"
	"github.com/backupd/backupd/pkg/storage"
)

// Results of a backup run, the values of the "result" label of
// backupd_backup_runs_total.
const (
	ResultSuccess   = "success"
	ResultFailure   = "failure"
	ResultCancelled = "cancelled" // stopped by shutdown after the grace period
	ResultSkipped   = "skipped"   // the previous run was still going, or a peer took the slot
	ResultLocked    = "locked"    // another process (backupd now) held the lock
	// ResultPartial is a backup published on the primary remote whose
	// copy to at least one --copy-to remote failed (see
	// backup.Report.Partial).
	ResultPartial = "partial"
)

// Metrics are the daemon's Prometheus metrics, in a registry of their own
// (with the Go runtime and process collectors) so that nothing registered
// globally by a dependency leaks into the scrape.
type Metrics struct {
	reg *prometheus.Registry

	lastSuccess, lastAttempt, lastDuration prometheus.Gauge
	lastRaw, lastStored                    prometheus.Gauge
	remoteBackups                          prometheus.Gauge
	runs                                   *prometheus.CounterVec
	retentionDeleted                       prometheus.Counter
	retentionErrors                        prometheus.Counter
	retentionPaused                        prometheus.Gauge
	retentionBlocked                       prometheus.Gauge
	refreshRuns                            *prometheus.CounterVec
	lastRefresh                            prometheus.Gauge
	lastRestore                            prometheus.Gauge
	suspect                                prometheus.Gauge
	notifications                          *prometheus.CounterVec
	binlog                                 binlogMetrics
}

// NewMetrics creates the metrics. Every result label of the run counters
// starts at zero so that rate() and absent() work from the first scrape.
func NewMetrics() *Metrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "backupd", Name: name, Help: help})
	}
	m := &Metrics{
		reg:           prometheus.NewRegistry(),
		lastSuccess:   g("last_success_timestamp_seconds", "Snapshot time of the newest successful backup (at start-up, of the newest backup in the remote)."),
		lastAttempt:   g("last_attempt_timestamp_seconds", "Start time of the last backup run."),
		lastDuration:  g("last_duration_seconds", "How long the last finished backup run took."),
		lastRaw:       g("last_raw_bytes", "SQL bytes of the last successful backup, before compression."),
		lastStored:    g("last_stored_bytes", "Stored (compressed) bytes of the last successful backup."),
		remoteBackups: g("remote_backups", "Complete backups in the remote at the last listing."),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "backupd", Name: "backup_runs_total",
			Help: "Scheduled backup runs by result: success, partial (published, but a copy failed), failure, cancelled, skipped (previous run still going, or another machine took the slot), locked (another process held the lock)."}, []string{"result"}),
		retentionDeleted: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "backupd", Name: "retention_deleted_total",
			Help: "Backups and stale partial uploads deleted by retention."}),
		retentionErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "backupd", Name: "retention_errors_total",
			Help: "Retention passes after a successful backup that failed."}),
		retentionPaused:  g("retention_paused", "1 while retention deletes nothing because of a suspect backup no one has accepted (backupd accept NAME), else 0."),
		retentionBlocked: g("retention_blocked", "1 while retention is blocked: the remote refuses deletes (on Google Drive, the service account needs the Content Manager role), else 0."),
		refreshRuns: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "backupd", Name: "refresh_runs_total",
			Help: "Refreshes of the yesterday app by result: success, failure, skipped."}, []string{"result"}),
		lastRefresh: g("last_refresh_success_timestamp_seconds", "Time the last successful refresh of the yesterday app finished."),
		lastRestore: g("last_restore_timestamp_seconds", "Time of the newest successful restore recorded on a backup in the remote (by yesterday-restore), at the last listing; 0 when none is."),
		suspect:     g("suspect_backup", "1 when the last backup run published a backup whose shape looks wrong (backupd-suspect), else 0."),
		notifications: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "backupd", Name: "notifications_total",
			Help: "Alerts by cause and result: sent and failed count destinations, suppressed counts messages held back as repeats."}, []string{"cause", "result"}),
	}
	m.binlog = newBinlogMetrics(g)
	m.reg.MustRegister(m.binlog.collectors()...)
	m.reg.MustRegister(
		m.lastSuccess, m.lastAttempt, m.lastDuration, m.lastRaw, m.lastStored, m.remoteBackups,
		m.runs, m.retentionDeleted, m.retentionErrors, m.retentionPaused, m.retentionBlocked, m.refreshRuns, m.lastRefresh,
		m.lastRestore, m.suspect, m.notifications,
		storage.RequestCounter(),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	for _, r := range []string{ResultSuccess, ResultFailure, ResultCancelled, ResultSkipped, ResultLocked, ResultPartial} {
		m.runs.WithLabelValues(r)
	}
	for _, r := range []string{ResultSuccess, ResultFailure, ResultSkipped} {
		m.refreshRuns.WithLabelValues(r)
	}
	for _, c := range notify.Causes {
		for _, r := range []string{notify.Sent, notify.Failed, notify.Suppressed} {
			m.notifications.WithLabelValues(string(c), r)
		}
	}
	return m
}

// ObserveNotification counts an alert's result; it is what
// notify.Options.Observe should call.
func (m *Metrics) ObserveNotification(c notify.Cause, result string) {
	m.notifications.WithLabelValues(string(c), result).Inc()
}

func (m *Metrics) setLastRestore(t time.Time) {
	if t.IsZero() {
		m.lastRestore.Set(0)
		return
	}
	m.lastRestore.Set(unix(t))
}

// Registry is the registry the metrics live in, for adding more.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// AddRetentionDeleted counts n files deleted by retention.
func (m *Metrics) AddRetentionDeleted(n int) {
	if n > 0 {
		m.retentionDeleted.Add(float64(n))
	}
}

// SetRemoteBackups records how many complete backups the remote holds.
func (m *Metrics) SetRemoteBackups(n int) { m.remoteBackups.Set(float64(n)) }

func (m *Metrics) run(result string) { m.runs.WithLabelValues(result).Inc() }

func (m *Metrics) refresh(result string) { m.refreshRuns.WithLabelValues(result).Inc() }

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

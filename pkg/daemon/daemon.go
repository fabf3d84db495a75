// Package daemon is the long-running side of backupd: a scheduler (in UTC)
// that takes a backup on a cron schedule, one at a time, and optionally
// refreshes the "yesterday" app every morning; a health endpoint and
// Prometheus metrics; heartbeat pings; and a graceful shutdown that gives a
// running backup a grace period before cancelling it.
//
// The daemon does not know how a backup is taken: the command wires in the
// backup, the lock, retention and the remote listing as functions, so that
// "backupd serve" and "backupd now" share one code path and the scheduling
// can be tested with fakes and a fake clock.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/lock"
	"github.com/backupd/backupd/pkg/notify"
	"github.com/backupd/backupd/pkg/slot"
	"github.com/backupd/backupd/pkg/storage"
	"github.com/backupd/backupd/pkg/stream"
)

// DefaultGrace is how long a running backup may go on after a shutdown
// signal before it is cancelled.
const DefaultGrace = 30 * time.Second

// cancelWait bounds how long shutdown waits for a cancelled run to clean
// up (kill the dump, delete the partial upload, send the fail ping).
const cancelWait = 10 * time.Second

// Inventory is what a listing of the remote says.
type Inventory struct {
	Backups int       // complete backups
	Newest  time.Time // snapshot time of the newest; zero when there is none
	// LastRestore is the newest successful restore recorded on any of the
	// backups (catalog.Restored); zero when none is.
	LastRestore time.Time
	// Blocked says why retention is blocked, when the remote holds the
	// record of it (catalog.Codec.BlockedName); "" when it does not.
	Blocked string
}

// Config wires the daemon. Schedule and Backup are required.
type Config struct {
	// Schedule is when backups run.
	Schedule Schedule
	// Backup takes one backup. Cancelling ctx must abandon it without
	// publishing anything (pkg/backup does).
	Backup func(ctx context.Context) (backup.Report, error)
	// Lock, when set, is taken before each backup and released after it.
	// An error matching lock.ErrLocked means another process is taking a
	// backup: the tick is skipped, logged and counted, not failed.
	Lock func(ctx context.Context) (release func(), err error)
	// Slots, when set, claims each scheduled slot in the remote before the
	// backup, so that processes sharing the remote but not a lock file
	// (two machines of a Fly app) take one backup per slot between them.
	// A run whose slot a peer took is skipped, logged and counted, not
	// failed; the claim is checked again before the backup is published.
	// The slot of a run is its start time truncated to the minute.
	Slots *slot.Claimer
	// Prune, when set, applies retention after each successful backup (and
	// never after a failed one). Its deletions are counted; its failure is
	// logged and counted but does not fail the backup.
	Prune func(ctx context.Context) (deleted int, err error)
	// Inventory, when set, lists the remote: at start-up, to seed the time
	// of the newest backup so that a restart does not look unhealthy, and
	// after each successful backup, to count the backups.
	Inventory func(ctx context.Context) (Inventory, error)
	// BackupAtStart also runs a backup as soon as the daemon starts.
	BackupAtStart bool
	// CheckRestore, when set, runs once at start-up, beside the first
	// backup: it says whether the restore would refuse what this dump
	// tool writes against this server (refused non-empty, naming the
	// first statement). A refusal is logged as an error, alerted
	// (notify.RestoreWouldRefuse) and makes /healthz unhealthy until the
	// daemon is restarted with a pairing the restore takes. An error
	// (the database could not be reached) is not reported a second time:
	// the backups report it themselves; the check then runs again beside
	// the first backup that succeeds.
	CheckRestore func(ctx context.Context) (refused string, err error)
	// Stream, when set, follows the binary log for the daemon's life (see
	// pkg/stream and binlog.go): it reports through the function it is
	// given, and returns when ctx ends, after publishing what it holds.
	Stream func(ctx context.Context, report func(stream.Report)) error

	// Refresh, when set, runs on RefreshSchedule. A failure is logged and
	// counted; the next tick tries again.
	Refresh         func(ctx context.Context) error
	RefreshSchedule Schedule

	// Grace is how long a running backup may finish after shutdown is
	// asked for; DefaultGrace when zero.
	Grace time.Duration
	// Listen is the address for /healthz and /metrics; "" serves nothing.
	Listen string
	// Ping sends heartbeat pings; nil sends none.
	Ping *Pinger
	// Notify sends alerts (see alerts below); nil sends none. It is never
	// told of a plain success.
	Notify *notify.Notifier
	// Metrics receives the daemon's metrics; New creates them when nil.
	Metrics *Metrics
	// Clock drives the scheduler and timestamps; the real clock when nil.
	Clock clockwork.Clock
	Log   *slog.Logger
}

// Daemon runs the jobs. Create it with New and start it with Run.
type Daemon struct {
	cfg     Config
	clock   clockwork.Clock
	log     *slog.Logger
	metrics *Metrics
	state   *state
	maxAge  time.Duration
	track   tracker
	mux     *http.ServeMux

	backupBusy, refreshBusy atomic.Bool

	failures atomic.Int64 // failed runs since the last good one

	// claim is the slot claim of the last published backup, kept in the
	// remote until the next slot's contest deletes it, or until shutdown.
	claim atomic.Pointer[slot.Held]

	// runRequests is storage.Requests at the start of the running backup,
	// so that its summary line says how many requests it made.
	runRequests atomic.Int64

	// checkAgain is set when the start-up check could not run: the first
	// backup that succeeds runs it.
	checkAgain atomic.Bool

	binlog binlogState

	// runCtx is the context of every run: it outlives the signal so that
	// a backup can finish within the grace period.
	runCtx     context.Context
	cancelRuns context.CancelFunc
}

// New checks cfg and builds a Daemon.
func New(cfg Config) (*Daemon, error) {
	if cfg.Backup == nil {
		return nil, errors.New("daemon: no backup function")
	}
	if cfg.Schedule.sched == nil {
		return nil, errors.New("daemon: no backup schedule")
	}
	if cfg.Refresh != nil && cfg.RefreshSchedule.sched == nil {
		return nil, errors.New("daemon: refresh without a schedule")
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	d := &Daemon{cfg: cfg, clock: cfg.Clock, log: cfg.Log, metrics: cfg.Metrics}
	if d.clock == nil {
		d.clock = clockwork.NewRealClock()
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.metrics == nil {
		d.metrics = NewMetrics()
	}
	now := d.clock.Now()
	d.state = &state{started: now}
	d.maxAge = HealthLimit(cfg.Schedule, now)
	d.runCtx, d.cancelRuns = context.WithCancel(context.Background())
	d.mux = http.NewServeMux()
	d.mux.HandleFunc("GET /healthz", d.serveHealth)
	d.mux.Handle("GET /metrics", d.metrics.Handler())
	return d, nil
}

// Metrics are the daemon's metrics.
func (d *Daemon) Metrics() *Metrics { return d.metrics }

// Handler serves /healthz and /metrics.
func (d *Daemon) Handler() http.Handler { return d.mux }

// HealthLimit is the age past which the newest backup is stale for a
// schedule: twice the longest gap between its runs around now.
func HealthLimit(s Schedule, now time.Time) time.Duration { return 2 * s.Interval(now) }

// MaxAge is the age past which the newest backup makes /healthz fail:
// twice the longest gap in the backup schedule.
func (d *Daemon) MaxAge() time.Duration { return d.maxAge }

// Run serves and schedules until ctx ends, then shuts down: no new run
// starts, a running backup gets the grace period to finish and is then
// cancelled. Run returns nil after a clean shutdown, or an error if the
// daemon could not start (the listen address is taken, for example).
func (d *Daemon) Run(ctx context.Context) error {
	defer d.cancelRuns()
	var srv *http.Server
	if d.cfg.Listen != "" {
		ln, err := net.Listen("tcp", d.cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen for health and metrics: %w", err)
		}
		srv = &http.Server{Handler: d.mux, ReadHeaderTimeout: 10 * time.Second}
		d.log.Info("serving health and metrics", "addr", ln.Addr().String())
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				d.log.Error("http server stopped", "err", err)
			}
		}()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	d.seed(ctx)
	// Beside the first backup, not before it: the check must not hold
	// back a backup.
	go d.checkRestore(ctx)
	streamCtx, stopStream := context.WithCancel(context.Background())
	defer stopStream()
	streamDone := make(chan struct{})
	if d.cfg.Stream != nil {
		go func() {
			defer close(streamDone)
			d.runStream(streamCtx)
		}()
	} else {
		close(streamDone)
	}

	s, err := gocron.NewScheduler(
		gocron.WithLocation(time.UTC),
		gocron.WithClock(d.clock),
		gocron.WithLogger(schedulerLogger{d.log.With("component", "scheduler")}),
	)
	if err != nil {
		return fmt.Errorf("create scheduler: %w", err)
	}
	// Overlapping ticks are dropped by the tick functions themselves (see
	// backupTick), not by gocron's singleton mode: that mode releases its
	// busy flag a moment after the task returns, so a tick can be dropped
	// after the run is over, and the boundary cannot be observed in tests.
	// The outcome is the same: a tick during a run is skipped, never queued.
	opts := []gocron.JobOption{gocron.WithName("backup")}
	if d.cfg.BackupAtStart {
		opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
	}
	backupJob, err := s.NewJob(gocron.CronJob(d.cfg.Schedule.String(), false), gocron.NewTask(d.backupTick), opts...)
	if err != nil {
		_ = s.Shutdown()
		return fmt.Errorf("schedule backups %q: %w", d.cfg.Schedule, err)
	}
	jobs := []gocron.Job{backupJob}
	if d.cfg.Refresh != nil {
		j, err := s.NewJob(gocron.CronJob(d.cfg.RefreshSchedule.String(), false), gocron.NewTask(d.refreshTick),
			gocron.WithName("refresh"))
		if err != nil {
			_ = s.Shutdown()
			return fmt.Errorf("schedule refresh %q: %w", d.cfg.RefreshSchedule, err)
		}
		jobs = append(jobs, j)
	}
	s.Start()
	attrs := []any{"schedule", d.cfg.Schedule.String(), "next_backup", d.cfg.Schedule.Next(d.clock.Now()), "max_age", d.maxAge.String()}
	if d.cfg.Refresh != nil {
		attrs = append(attrs, "refresh_schedule", d.cfg.RefreshSchedule.String(), "next_refresh", d.cfg.RefreshSchedule.Next(d.clock.Now()))
	}
	d.log.Info("daemon started", attrs...)

	<-ctx.Done()
	d.log.Info("shutting down: no new runs", "grace", d.cfg.Grace.String())
	// The stream publishes what it holds while a backup finishes.
	stopStream()
	defer func() { <-streamDone }()
	idle := d.track.stop()
	for _, j := range jobs {
		_ = s.RemoveJob(j.ID())
	}
	if d.drain(idle) {
		// With no job running, the scheduler stops at once; with one
		// stuck, its shutdown would wait again, so it is left to exit
		// with the process.
		if err := s.Shutdown(); err != nil {
			d.log.Warn("scheduler shutdown", "err", err)
		}
		// No claim of a stopped serve stays behind in the remote.
		if h := d.claim.Swap(nil); h != nil {
			h.End()
		}
	}
	d.log.Info("stopped")
	return nil
}

// drain waits for the running job, if any: first for the grace period,
// then, after cancelling it, for its clean-up. It reports whether no job
// is left running.
func (d *Daemon) drain(idle <-chan struct{}) bool {
	select {
	case <-idle:
		return true
	default:
	}
	d.log.Info("waiting for the running job to finish", "grace", d.cfg.Grace.String())
	grace := time.NewTimer(d.cfg.Grace)
	defer grace.Stop()
	select {
	case <-idle:
		return true
	case <-grace.C:
	}
	d.log.Warn("grace period over: cancelling the running job")
	d.cancelRuns()
	wait := time.NewTimer(cancelWait)
	defer wait.Stop()
	select {
	case <-idle:
		return true
	case <-wait.C:
		d.log.Error("the cancelled job did not stop in time; exiting anyway", "waited", cancelWait.String())
		return false
	}
}

func (d *Daemon) seed(ctx context.Context) {
	if d.cfg.Inventory == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	inv, err := d.cfg.Inventory(ctx)
	if err != nil {
		d.log.Warn("could not list the remote at start-up; health is judged from now on", "err", err)
		return
	}
	d.inventory(inv)
	if inv.Newest.IsZero() {
		d.log.Info("remote listed: no backups yet")
		return
	}
	d.log.Info("remote listed", "backups", inv.Backups, "newest", inv.Newest)
}

// checkRestore runs the start-up check of what the restore would refuse.
func (d *Daemon) checkRestore(ctx context.Context) {
	if d.cfg.CheckRestore == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	refused, err := d.cfg.CheckRestore(ctx)
	switch {
	case err != nil:
		d.checkAgain.Store(true)
		d.log.Info("could not check what the restore would refuse of this dump tool's output (the backup runs report why); the check runs again after the first backup that succeeds")
	case refused != "":
		d.log.Error("the restore would refuse what this dump tool writes; the backups it takes would not restore", "refused", refused)
		d.state.mu.Lock()
		d.state.refused = refused
		d.state.mu.Unlock()
		d.cfg.Notify.Notify(ctx, notify.RestoreWouldRefuse, "the restore would refuse what backupd's dump tool writes against this server, so its backups would not restore: "+refused)
	default:
		d.log.Info("checked at start-up: the restore takes this dump tool's schema")
	}
}

// backupTick is the scheduled backup job. A tick that comes while the
// previous backup is still running is skipped, logged and counted; it is
// never queued to run afterwards.
func (d *Daemon) backupTick() {
	if !d.track.begin() {
		return
	}
	defer d.track.end()
	// After the busy flag is released: a backup the stream still owes.
	defer d.binlogAgain()
	if !d.backupBusy.CompareAndSwap(false, true) {
		d.metrics.run(ResultSkipped)
		d.log.Warn("backup tick skipped: the previous backup is still running", "result", ResultSkipped)
		return
	}
	defer d.backupBusy.Store(false)
	d.runBackup(d.runCtx)
	d.checkStale(d.runCtx)
}

// refreshTick is the scheduled refresh job, skipped like backupTick while
// the previous refresh runs.
func (d *Daemon) refreshTick() {
	if !d.track.begin() {
		return
	}
	defer d.track.end()
	if !d.refreshBusy.CompareAndSwap(false, true) {
		d.metrics.refresh(ResultSkipped)
		d.log.Warn("refresh tick skipped: the previous refresh is still running", "result", ResultSkipped)
		return
	}
	defer d.refreshBusy.Store(false)
	d.runRefresh(d.runCtx)
}

// runBackup is one scheduled backup run: lock, start ping, backup, and on
// success retention and a fresh count; then the end ping and one summary
// log line carrying the run id.
//
// The run's duration is the backup's own: from after the slot claim
// (which waits Settle for the other machines' claims) to the end of the
// backup. Its deletes share one gate (storage.WithDeleteGate): a remote
// that refuses a delete is not asked again in the run.
func (d *Daemon) runBackup(ctx context.Context) string {
	id := uuid.NewString()
	log := d.log.With("run", id)
	start := d.clock.Now()
	ctx = storage.WithDeleteGate(ctx)
	d.runRequests.Store(storage.Requests())

	if d.cfg.Lock != nil {
		release, err := d.cfg.Lock(ctx)
		if errors.Is(err, lock.ErrLocked) {
			d.metrics.run(ResultLocked)
			log.Warn("backup run", "result", ResultLocked, "reason", err.Error())
			return ResultLocked
		}
		if err != nil {
			return d.failed(ctx, log, id, start, start, fmt.Errorf("take the backup lock: %w", err))
		}
		defer release()
	}
	var held *slot.Held
	if d.cfg.Slots != nil {
		h, err := d.cfg.Slots.Claim(ctx, start.Truncate(time.Minute))
		if errors.Is(err, slot.ErrTaken) {
			return d.taken(ctx, log, id, false, err)
		}
		if err != nil {
			return d.failed(ctx, log, id, start, start, err)
		}
		held = h
		ctx = backup.WithPublishCheck(ctx, held.Check)
	}
	d.state.attempt(start)
	d.metrics.lastAttempt.Set(unix(start))
	d.cfg.Ping.Start(ctx, id)
	log.Debug("backup run started")

	begun := d.clock.Now()
	rep, err := d.cfg.Backup(ctx)
	d.binlogBackup(start, rep, err)
	if held != nil {
		held.Release(err == nil)
		if err == nil {
			d.claim.Store(held)
		}
	}
	if errors.Is(err, slot.ErrTaken) {
		// A peer's claim showed up late: the dump was dropped unpublished.
		return d.taken(ctx, log, id, true, err)
	}
	if err != nil {
		return d.failed(ctx, log, id, start, begun, err)
	}
	dur := d.clock.Since(begun)
	result := ResultSuccess
	if rep.Partial() {
		result = ResultPartial
	}
	d.state.finish(ResultSuccess, rep.Time, nil)
	d.metrics.run(result)
	d.metrics.lastSuccess.Set(unix(rep.Time))
	d.metrics.lastDuration.Set(dur.Seconds())
	d.metrics.lastRaw.Set(float64(rep.RawBytes))
	d.metrics.lastStored.Set(float64(rep.StoredBytes))

	attrs := []any{"result", result, "backup", rep.Name, "raw_bytes", rep.RawBytes, "stored_bytes", rep.StoredBytes,
		"duration", dur.Round(time.Millisecond).String(), "sha256", rep.SHA256}
	if result == ResultPartial {
		attrs = append(attrs, "copies_failed", rep.FailedCopies())
	}
	blocked := ""
	if d.cfg.Prune != nil {
		n, err := d.cfg.Prune(ctx)
		d.metrics.AddRetentionDeleted(n)
		attrs = append(attrs, "deleted", n)
		d.metrics.retentionPaused.Set(0)
		switch {
		case errors.Is(err, backup.ErrRetentionPaused):
			// The pruning brake holds: not a retention failure.
			d.metrics.retentionPaused.Set(1)
			attrs = append(attrs, "retention_paused", err.Error())
			d.cfg.Notify.Notify(ctx, notify.RetentionPaused, err.Error())
		case errors.Is(err, backup.ErrRetentionBlocked):
			d.metrics.retentionErrors.Inc()
			blocked = err.Error()
			attrs = append(attrs, "retention_blocked", blocked)
			d.cfg.Notify.Notify(ctx, notify.RetentionBlocked, blocked)
		case err != nil:
			d.metrics.retentionErrors.Inc()
			attrs = append(attrs, "retention_err", err.Error())
		default:
			// Deleting works (or nothing was to be deleted): a later
			// block is told at once.
			d.cfg.Notify.Reset(notify.RetentionBlocked)
		}
	}
	attrs = append(d.relist(ctx, attrs), "requests", d.requests())
	if blocked != "" {
		// The run's own refusal, whether or not its record reached the
		// remote.
		d.setBlocked(blocked)
	}
	body := summary(rep.Name, rep.RawBytes, rep.StoredBytes, dur)
	if result == ResultPartial {
		body = clip("partial: "+body+"; copy failed: "+rep.FailedCopies(), maxReason)
	}
	d.cfg.Ping.Success(ctx, id, body)
	log.Info("backup run", attrs...)
	d.metrics.suspect.Set(0)
	d.succeeded(ctx, rep.Name)
	if d.checkAgain.CompareAndSwap(true, false) {
		go d.checkRestore(d.runCtx)
	}
	return result
}

// relist lists the remote for health after a run, when an inventory is
// configured, and adds what it found (or why it could not) to attrs.
func (d *Daemon) relist(ctx context.Context, attrs []any) []any {
	if d.cfg.Inventory == nil {
		return attrs
	}
	inv, err := d.cfg.Inventory(ctx)
	if err != nil {
		return append(attrs, "list_err", err.Error())
	}
	d.inventory(inv)
	return append(attrs, "backups", inv.Backups)
}

// taken ends a run whose slot another process took: it is counted and
// logged as skipped, and the remote is listed so that health follows the
// peer's backups. The ping service gets a log entry, not a failure; a run
// that had already sent its start ping (the slot was lost at the check
// before publishing) closes it with a success ping saying it was skipped.
func (d *Daemon) taken(ctx context.Context, log *slog.Logger, id string, started bool, err error) string {
	d.metrics.run(ResultSkipped)
	if started {
		d.cfg.Ping.Success(ctx, id, "skipped: "+err.Error())
	} else {
		d.cfg.Ping.Note(ctx, id, "skipped: "+err.Error())
	}
	attrs := []any{"result", ResultSkipped, "reason", err.Error()}
	attrs = append(d.relist(ctx, attrs), "requests", d.requests())
	d.state.finish(ResultSkipped, time.Time{}, nil)
	log.Info("backup run", attrs...)
	return ResultSkipped
}

// failed ends a run that failed; its duration counts from begun (after
// the slot claim).
func (d *Daemon) failed(ctx context.Context, log *slog.Logger, id string, start, begun time.Time, err error) string {
	result := ResultFailure
	if ctx.Err() != nil {
		result = ResultCancelled
	}
	if errors.Is(err, backup.ErrSuspect) {
		// Published, but it pauses retention (see backup.Brake).
		d.metrics.retentionPaused.Set(1)
		d.metrics.suspect.Set(1)
	}
	dur := d.clock.Since(begun)
	d.state.attempt(start)
	d.state.finish(result, time.Time{}, err)
	d.metrics.run(result)
	d.metrics.lastAttempt.Set(unix(start))
	d.metrics.lastDuration.Set(dur.Seconds())
	d.cfg.Ping.Fail(ctx, id, clip(result+": "+err.Error(), maxReason))
	log.Error("backup run", "result", result, "duration", dur.Round(time.Millisecond).String(), "requests", d.requests(), "err", err)
	d.failedAlert(ctx, result, err)
	return result
}

// requests is how many requests the running backup has made to the
// remotes so far (storage.Requests).
func (d *Daemon) requests() int64 { return storage.Requests() - d.runRequests.Load() }

func (d *Daemon) runRefresh(ctx context.Context) string {
	id := uuid.NewString()
	log := d.log.With("run", id, "job", "refresh")
	start := d.clock.Now()
	err := d.cfg.Refresh(ctx)
	dur := d.clock.Since(start).Round(time.Millisecond).String()
	if err != nil {
		d.metrics.refresh(ResultFailure)
		log.Error("refresh run", "result", ResultFailure, "duration", dur, "err", err,
			"next", d.cfg.RefreshSchedule.Next(d.clock.Now()))
		return ResultFailure
	}
	d.metrics.refresh(ResultSuccess)
	d.metrics.lastRefresh.Set(unix(d.clock.Now()))
	log.Info("refresh run", "result", ResultSuccess, "duration", dur)
	return ResultSuccess
}

// tracker counts running jobs and, once stopped, refuses new ones, so that
// shutdown can wait for exactly the runs already under way.
type tracker struct {
	mu      sync.Mutex
	n       int
	stopped bool
	idle    chan struct{}
}

func (t *tracker) begin() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	if t.n == 0 {
		t.idle = make(chan struct{})
	}
	t.n++
	return true
}

func (t *tracker) end() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n--
	if t.n == 0 {
		close(t.idle)
	}
}

// running is the number of jobs under way, for tests that must know the
// daemon is idle before they move a fake clock on.
func (t *tracker) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// stop refuses new jobs and returns a channel closed when none runs.
func (t *tracker) stop() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	if t.n == 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	return t.idle
}

// schedulerLogger takes the scheduler library's own lines (jobs added,
// started, stopped) down to debug: the daemon logs what an operator needs
// about each run itself. Its warnings and errors stay as they are.
type schedulerLogger struct{ log *slog.Logger }

func (l schedulerLogger) Debug(msg string, args ...any) { l.log.Debug(msg, args...) }
func (l schedulerLogger) Info(msg string, args ...any)  { l.log.Debug(msg, args...) }
func (l schedulerLogger) Warn(msg string, args ...any)  { l.log.Warn(msg, args...) }
func (l schedulerLogger) Error(msg string, args ...any) { l.log.Error(msg, args...) }

package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/notify"
)

// The daemon alerts (Config.Notify) on a failed run, on the first good run
// after failures, on a suspect backup, while retention is paused or
// blocked, and when the newest backup is older than the health limit. A plain success, and a
// run cancelled by shutdown (a deploy), send nothing. The Notifier holds
// back repeats of a cause within its period.

// inventory records what a listing of the remote said.
func (d *Daemon) inventory(inv Inventory) {
	d.metrics.SetRemoteBackups(inv.Backups)
	d.metrics.setLastRestore(inv.LastRestore)
	d.state.mu.Lock()
	d.state.lastRestore = inv.LastRestore
	d.state.mu.Unlock()
	if !inv.Newest.IsZero() {
		d.state.seed(inv.Newest)
		d.metrics.lastSuccess.Set(unix(inv.Newest))
	}
	d.setBlocked(inv.Blocked)
}

// setBlocked records why retention is blocked ("" when it is not), for
// health and the metric.
func (d *Daemon) setBlocked(why string) {
	d.state.mu.Lock()
	d.state.blocked = why
	d.state.mu.Unlock()
	if why != "" {
		d.metrics.retentionBlocked.Set(1)
	} else {
		d.metrics.retentionBlocked.Set(0)
	}
}

// failedAlert tells of a failed run; it counts toward the recovery alert.
func (d *Daemon) failedAlert(ctx context.Context, result string, err error) {
	if result != ResultFailure {
		return
	}
	d.failures.Add(1)
	if errors.Is(err, backup.ErrSuspect) {
		d.cfg.Notify.Notify(ctx, notify.Suspect, err.Error())
		return
	}
	d.cfg.Notify.Notify(ctx, notify.BackupFailed, fmt.Sprintf("the backup run at %s failed: %v",
		d.clock.Now().UTC().Format("2006-01-02 15:04 UTC"), err))
}

// succeeded sends the recovery alert after failures, and lets the next
// failure or staleness alert go out at once.
func (d *Daemon) succeeded(ctx context.Context, name string) {
	n := d.failures.Swap(0)
	if n == 0 {
		return
	}
	d.cfg.Notify.Reset(notify.BackupFailed)
	d.cfg.Notify.Reset(notify.Stale)
	d.cfg.Notify.Notify(ctx, notify.Recovered, fmt.Sprintf("backup %s succeeded after %d failed %s", name, n, runs(n)))
}

// checkStale alerts when the newest backup is older than the health limit
// (and, before any is known, when the daemon has run that long without
// one), whatever the runs say: a run skipped because a peer took its slot
// or held the lock is no failure, but no backup is being made either.
func (d *Daemon) checkStale(ctx context.Context) {
	now := d.clock.Now()
	d.state.mu.Lock()
	newest, started := d.state.newest(now), d.state.started
	d.state.mu.Unlock()
	var msg string
	switch {
	case newest.IsZero() && now.Sub(started) >= d.maxAge:
		msg = fmt.Sprintf("no backup has been made since the daemon started %s ago (health limit %s)",
			now.Sub(started).Round(time.Minute), d.maxAge)
	case !newest.IsZero() && now.Sub(newest) >= d.maxAge:
		msg = fmt.Sprintf("the newest backup (%s) is %s old, older than the health limit %s",
			newest.UTC().Format("2006-01-02 15:04 UTC"), now.Sub(newest).Round(time.Minute), d.maxAge)
	default:
		return
	}
	d.cfg.Notify.Notify(ctx, notify.Stale, msg)
}

func runs(n int64) string {
	if n == 1 {
		return "run"
	}
	return "runs"
}

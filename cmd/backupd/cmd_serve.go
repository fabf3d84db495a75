package main

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/lock"
	"github.com/backupd/backupd/pkg/slot"
	"github.com/backupd/backupd/pkg/storage"
	"github.com/backupd/backupd/pkg/stream"
)

// Defaults of serve's settings.
const (
	defaultSchedule        = "0 * * * *"
	defaultRefreshSchedule = "0 5 * * *"
	defaultListen          = "127.0.0.1:9187"
)

// serveCmd is the daemon.
type serveCmd struct {
	Common          cli.Common     `embed:""`
	Seal            cli.SealFlags  `embed:""`
	Retention       retentionFlags `embed:""`
	Shape           shapeFlags     `embed:""`
	Lock            lockFlags      `embed:""`
	Refresh         refreshFlags   `embed:""`
	Copies          copyFlags      `embed:""`
	Binlog          binlogFlags    `embed:""`
	Schedule        string         `help:"when to take backups: 5 cron fields (minute hour day-of-month month day-of-week), UTC" default:"${schedule}" env:"BACKUPD_SCHEDULE"`
	RefreshSchedule string         `help:"when to refresh the yesterday app: 5 cron fields, UTC" default:"${refresh_schedule}" env:"BACKUPD_REFRESH_SCHEDULE"`
	ShutdownGrace   time.Duration  `help:"on SIGTERM or SIGINT, how long a running backup may go on before it is cancelled" default:"${grace}" env:"BACKUPD_SHUTDOWN_GRACE"`
	Listen          string         `help:"address serving /healthz and /metrics; \"\" or \"off\" serves nothing" default:"${listen}" env:"BACKUPD_LISTEN"`
	PingURL         string         `name:"ping-url" help:"heartbeat URL (healthchecks.io style): <url>/start, <url> on success, <url>/fail" env:"BACKUPD_PING_URL"`
	Notify          string         `name:"notify" help:"send alerts to these shoutrrr URLs, comma-separated (smtp://, generic+https://, slack://, ...; see docs/alerts.md): on failures, recovery, suspect backups, paused retention, stale backups; never on plain success" env:"BACKUPD_NOTIFY_URLS"`
	BackupAtStart   bool           `help:"also take a backup as soon as serve starts" env:"BACKUPD_BACKUP_AT_START"`
	SlotClaims      bool           `help:"claim each scheduled slot in the remote first, so that machines sharing the remote take one backup per slot; on unless --no-slot-claims or BACKUPD_SLOT_CLAIMS=false" default:"true" negatable:"" env:"BACKUPD_SLOT_CLAIMS"`
	ClaimSettle     time.Duration  `help:"how long a slot claim waits for other machines' claims to show up before it counts them" default:"${claim_settle}" env:"BACKUPD_CLAIM_SETTLE"`
	Host            string         `help:"this machine's name in slot claims; when unset, FLY_MACHINE_ID, else the host name" env:"BACKUPD_HOST"`
	Debug           bool           `help:"log debugging detail"`
}

func (c *serveCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	policy := c.Retention.policy(p)
	shape := c.Shape.policy(p)
	st := c.Common.Resolve(p)
	copyRemotes, copyBuffer := c.Copies.resolve(p, st.Remote)
	sl := c.Seal.Resolve(p)
	now := time.Now()
	if c.ClaimSettle < time.Second {
		p.Invalid("claim-settle", c.ClaimSettle, "want a duration of 1s or more")
	}
	cfg := daemon.Config{Grace: c.ShutdownGrace, Listen: c.Listen, BackupAtStart: c.BackupAtStart}
	cfg.Schedule = parseSchedule(p, "schedule", c.Schedule, now)
	if c.ShutdownGrace < 0 {
		p.Invalid("shutdown-grace", c.ShutdownGrace, "want a duration of 0 or more")
	}
	if strings.EqualFold(cfg.Listen, "off") {
		cfg.Listen = ""
	}
	if c.PingURL != "" {
		if err := daemon.ParsePingURL(c.PingURL); err != nil {
			p.Addf("invalid ping URL from %s: %v", p.Source("ping-url"), err)
		}
		cfg.Ping = &daemon.Pinger{URL: c.PingURL}
	}
	client, app := c.Refresh.client(p)
	if client != nil {
		cfg.RefreshSchedule = parseSchedule(p, "refresh-schedule", c.RefreshSchedule, now)
	} else if src := p.Source("refresh-schedule"); src != "default" {
		p.Addf("%s sets a refresh schedule, but no app is named to refresh: set %s too, or drop the schedule", src, p.Name("refresh-app"))
	}
	host := c.Host
	if host == "" {
		host = p.Getenv("FLY_MACHINE_ID")
	}
	replica := host
	if replica == "" {
		replica, _ = os.Hostname()
	}
	bs := c.Binlog.resolve(p, replica)
	if err := p.Err(); err != nil {
		return err
	}
	lockPath := c.Lock.path(st)

	var err error
	log := cli.NewLogger(a.stderr, c.Debug)
	cfg.Metrics = daemon.NewMetrics()
	if cfg.Notify, err = cli.NewNotifier(c.Notify, "backupd", log, cfg.Metrics.ObserveNotification); err != nil {
		return cli.Usagef("invalid %s from %s: %v", "notify", p.Source("notify"), err)
	}
	if cfg.Ping != nil {
		cfg.Ping.Log = log.With("component", "ping")
	}
	if client == nil && p.Getenv(tokenEnv) != "" {
		log.Info("refresh job off: " + tokenEnv + " is set but no app is named (" + p.Name("refresh-app") + ")")
	}
	// The store outlives the signal: a backup still running at SIGTERM
	// keeps its remote (and its credentials) through the grace period.
	store, err := cli.OpenStore(context.WithoutCancel(ctx), st, log)
	if err != nil {
		return err
	}
	copies, err := openCopies(context.WithoutCancel(ctx), copyRemotes, log)
	if err != nil {
		return err
	}
	backupLog := log.With("component", "backup")
	// The daemon's work is the backups: the whole process runs on one P,
	// as "now" does (dumpProcs).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(dumpProcs(a.getenv)))
	cfg.Backup = func(ctx context.Context) (backup.Report, error) {
		job := newJob(st, store, shape, nil, backupLog)
		job.Copies, job.CopyBuffer = jobCopies(copies), copyBuffer
		job.Seal = sl
		if bs.on {
			recordCoordinates(&job)
		}
		return job.Run(ctx)
	}
	var segments *storage.Store
	if bs.on {
		if segments, err = cli.OpenSegments(context.WithoutCancel(ctx), st, log); err != nil {
			return err
		}
		streamer := newStreamer(st, bs, store, segments, sl, c.ShutdownGrace, log.With("component", "binlog"))
		cfg.Stream = func(ctx context.Context, report func(stream.Report)) error {
			streamer.Report = report
			return streamer.Run(ctx)
		}
	}
	// Once at start-up: would the restore take what this pairing writes?
	cfg.CheckRestore = func(ctx context.Context) (string, error) {
		d := &dump.Dumper{Program: st.Mysqldump, Conn: st.Conn, MaxAllowedPacket: st.MaxAllowedPacket, Log: backupLog}
		sc, err := d.CheckSchema(ctx)
		if err != nil {
			return "", cli.DatabaseHint(p, st.Conn, err)
		}
		if sc.Refused != nil {
			return fmt.Sprintf("line %d of the schema: %s: %s %s (%s against %s)", sc.Refused.Line, sc.Refused.Kind,
				sc.Refused.Reason, sc.Refused.Prefix, sc.Pairing.Tool, dump.Source(sc.Pairing.Server)), nil
		}
		return "", nil
	}
	// The daemon calls Prune only after a backup was published.
	cfg.Prune = func(ctx context.Context) (int, error) {
		rep, err := backup.Prune(ctx, store, backup.PruneOptions{Codec: st.Codec(), Policy: policy, Shape: shape, Log: backupLog})
		segs := 0
		if segments != nil && err == nil {
			// Only after the backups' own pass: segments follow the kept
			// backups.
			var serr error
			if segs, serr = pruneSegments(ctx, st, store, segments, backupLog); serr != nil {
				backupLog.Warn("binary log segments not pruned", "err", serr)
			}
		}
		if len(copies) > 0 {
			// Each copy: fill what it lacks, then its own retention;
			// failures are logged there and do not fail the run.
			_, _ = maintainCopies(ctx, store, copies, st.Codec(), repairPerRun,
				&backup.PruneOptions{Codec: st.Codec(), Policy: policy, Shape: shape}, backupLog)
		}
		return len(rep.Deleted) + segs, err
	}
	if c.SlotClaims {
		cfg.Slots = &slot.Claimer{Store: store, Names: slot.Names{Codec: st.Codec()}, Host: host, Settle: c.ClaimSettle, Log: log.With("component", "slot")}
	}
	cfg.Lock = func(ctx context.Context) (func(), error) {
		held, err := lock.TryAcquire(lockPath, "backupd serve")
		if err != nil {
			return nil, err
		}
		return func() {
			if err := held.Release(); err != nil {
				log.Warn("release lock", "err", err)
			}
		}, nil
	}
	cfg.Inventory = func(ctx context.Context) (daemon.Inventory, error) {
		entries, err := store.List(ctx)
		if err != nil {
			return daemon.Inventory{}, err
		}
		l := st.Codec().Scan(entries, time.Now())
		inv := daemon.Inventory{Backups: len(l.Backups)}
		if n := len(l.Backups); n > 0 {
			inv.Newest = l.Backups[n-1].Time
		}
		if b, ok := lastRestore(l.Backups); ok {
			inv.LastRestore = b.Restored.At
		}
		if l.Blocked != nil {
			inv.Blocked = blockedText(l.Blocked, store.DeleteFix())
		}
		return inv, nil
	}
	if client != nil {
		client.Log = log.With("component", "refresh")
		cfg.Refresh = func(ctx context.Context) error {
			_, err := client.RestartAll(ctx, app)
			return err
		}
	}
	cfg.Log = log
	d, err := daemon.New(cfg)
	if err != nil {
		return err
	}
	return d.Run(ctx)
}

// parseSchedule reads a cron setting, recording a bad expression in p.
func parseSchedule(p *cli.Problems, flag, value string, now time.Time) daemon.Schedule {
	sched, err := daemon.ParseSchedule(value, now)
	if err != nil {
		p.Addf("invalid %s from %s: %v", flag, p.Source(flag), err)
	}
	return sched
}

// blockedText says why retention is blocked, from the record of it in the
// remote and the store's DeleteFix.
func blockedText(record *catalog.Entry, fix string) string {
	return fmt.Sprintf("retention is blocked since %s: %s", record.ModTime.UTC().Format("2006-01-02 15:04 UTC"), fix)
}

package main

import (
	"context"
	"flag"
	"strconv"
	"strings"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/daemon"
	"github.com/backupd/backupd/pkg/lock"
)

// Defaults of serve's settings.
const (
	defaultSchedule        = "0 * * * *"
	defaultRefreshSchedule = "0 5 * * *"
	defaultListen          = "127.0.0.1:9187"
)

func runServe(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("serve", a.getenv)
	common := cli.AddCommon(set)
	ret := addRetention(set)
	locking := addLockFlags(set, false)
	refresh := addRefreshFlags(set)
	schedule := set.String("schedule", []string{"BACKUPD_SCHEDULE"}, defaultSchedule,
		"when to take backups: 5 cron fields (minute hour day-of-month month day-of-week), UTC; default \""+defaultSchedule+"\"")
	refreshSchedule := set.String("refresh-schedule", []string{"BACKUPD_REFRESH_SCHEDULE"}, defaultRefreshSchedule,
		"when to refresh the yesterday app: 5 cron fields, UTC; default \""+defaultRefreshSchedule+"\"")
	grace := set.String("shutdown-grace", []string{"BACKUPD_SHUTDOWN_GRACE"}, daemon.DefaultGrace.String(),
		"on SIGTERM or SIGINT, how long a running backup may go on before it is cancelled; default "+daemon.DefaultGrace.String())
	listen := set.String("listen", []string{"BACKUPD_LISTEN"}, defaultListen,
		`address serving /healthz and /metrics, default `+defaultListen+`; "" or "off" serves nothing`)
	pingURL := set.String("ping-url", []string{"BACKUPD_PING_URL"}, "",
		"heartbeat URL (healthchecks.io style): <url>/start, <url> on success, <url>/fail")
	atStart := set.Bool("backup-at-start", "also take a backup as soon as serve starts (env "+atStartEnv+"=true)")
	debug := set.Bool("debug", "log debugging detail")
	if err := a.parse(set, args); err != nil {
		return err
	}

	policy, err := ret.policy()
	if err != nil {
		return err
	}
	st, err := common.Resolve(true)
	if err != nil {
		return err
	}
	now := time.Now()
	cfg := daemon.Config{}
	if cfg.Schedule, err = parseSchedule(set, schedule, now); err != nil {
		return err
	}
	lockPath, err := locking.path()
	if err != nil {
		return err
	}
	if cfg.Grace, err = set.Duration(grace); err != nil {
		return err
	}
	cfg.Listen = set.Get(listen)
	if strings.EqualFold(cfg.Listen, "off") {
		cfg.Listen = ""
	}
	if cfg.BackupAtStart, err = boolOrEnv(set, "backup-at-start", *atStart, atStartEnv); err != nil {
		return err
	}
	if u, src := set.Value(pingURL); u != "" {
		if err := daemon.ParsePingURL(u); err != nil {
			return cli.Usagef("invalid ping URL from %s: %v", src, err)
		}
		cfg.Ping = &daemon.Pinger{URL: u}
	}
	client, app, err := refresh.client()
	if err != nil {
		return err
	}
	if client != nil {
		if cfg.RefreshSchedule, err = parseSchedule(set, refreshSchedule, now); err != nil {
			return err
		}
	}

	log := cli.NewLogger(a.stderr, *debug)
	if cfg.Ping != nil {
		cfg.Ping.Log = log.With("component", "ping")
	}
	if client == nil && a.getenv(tokenEnv) != "" {
		log.Info("refresh job off: " + tokenEnv + " is set but no app is named (" + refresh.app.Name() + ")")
	}
	// The store outlives the signal: a backup still running at SIGTERM
	// keeps its remote (and its credentials) through the grace period.
	store, err := cli.OpenStore(context.WithoutCancel(ctx), st, log)
	if err != nil {
		return err
	}
	backupLog := log.With("component", "backup")
	cfg.Backup = func(ctx context.Context) (backup.Report, error) {
		return newJob(st, store, nil, backupLog).Run(ctx)
	}
	// The daemon calls Prune only after a backup was published.
	cfg.Prune = func(ctx context.Context) (int, error) {
		rep, err := backup.Prune(ctx, store, backup.PruneOptions{Codec: st.Codec(), Policy: policy, Log: backupLog})
		return len(rep.Deleted), err
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

const atStartEnv = "BACKUPD_BACKUP_AT_START"

// boolOrEnv is a boolean flag that falls back to an environment variable
// when the flag is not given.
func boolOrEnv(set *cli.Set, name string, val bool, env string) (bool, error) {
	given := false
	set.FS.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	if given {
		return val, nil
	}
	v := set.Getenv(env)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, cli.Usagef("invalid %s=%q: want true or false", env, v)
	}
	return b, nil
}

// parseSchedule reads a cron setting, turning a bad expression into a
// usage error that names the setting.
func parseSchedule(set *cli.Set, s *cli.Setting, now time.Time) (daemon.Schedule, error) {
	v, src := set.Value(s)
	sched, err := daemon.ParseSchedule(v, now)
	if err != nil {
		return daemon.Schedule{}, cli.Usagef("invalid %s from %s: %v", s.Flag, src, err)
	}
	return sched, nil
}

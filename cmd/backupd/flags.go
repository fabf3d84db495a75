package main

import (
	"math"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/retention"
)

// retentionFlags are the settings of the retention policy, shared by every
// command that prunes.
type retentionFlags struct {
	Keep       int `help:"number of newest complete backups to keep, at least 1" default:"${keep}" env:"BACKUPD_KEEP"`
	KeepDaily  int `help:"also keep the newest backup of each of the last N days (UTC) that have one" default:"0" env:"BACKUPD_KEEP_DAILY"`
	KeepWeekly int `help:"also keep the newest backup of each of the last N ISO weeks (UTC) that have one" default:"0" env:"BACKUPD_KEEP_WEEKLY"`
}

// policy returns the configured policy, recording in p one that could
// delete every backup.
func (r *retentionFlags) policy(p *cli.Problems) retention.Policy {
	pol := retention.DefaultPolicy()
	pol.Keep, pol.KeepDaily, pol.KeepWeekly = r.Keep, r.KeepDaily, r.KeepWeekly
	if r.Keep < 1 || r.Keep > math.MaxInt32 {
		p.Invalid("keep", r.Keep, "want a whole number from 1 up (0 would delete every backup)")
	}
	if r.KeepDaily < 0 || r.KeepDaily > math.MaxInt32 {
		p.Invalid("keep-daily", r.KeepDaily, "want 0 or more")
	}
	if r.KeepWeekly < 0 || r.KeepWeekly > math.MaxInt32 {
		p.Invalid("keep-weekly", r.KeepWeekly, "want 0 or more")
	}
	return pol
}

// lockFlags are the settings of the lock that keeps backups to one at a
// time across processes.
type lockFlags struct {
	LockFile string `help:"lock file shared by every backupd on the machine, so that only one backup runs at a time" default:"${lock_file}" env:"BACKUPD_LOCK_FILE"`
}

// path returns the lock file, recording in p when it is empty.
func (l *lockFlags) path(p *cli.Problems) string {
	if l.LockFile == "" {
		p.Missing("lock-file", "lock file")
	}
	return l.LockFile
}

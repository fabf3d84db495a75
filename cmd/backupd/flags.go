package main

import (
	"math"
	"path/filepath"
	"strings"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/lock"
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
	LockFile string `help:"lock file that keeps backups of one database into one remote to one at a time; when unset, /tmp/backupd-<hash of remote and database>.lock, which backupd now and serve on the same remote and database share" env:"BACKUPD_LOCK_FILE"`
}

// path returns the lock file: the configured one, else the default for
// the remote and database of st.
func (l *lockFlags) path(st cli.Settings) string {
	if l.LockFile != "" {
		return l.LockFile
	}
	remote := st.Remote
	if !strings.Contains(remote, ":") {
		// A local folder, however it is spelled.
		if abs, err := filepath.Abs(remote); err == nil {
			remote = abs
		}
	}
	network, addr := st.Conn.Addr()
	return lock.DefaultPath(remote, st.Prefix, network, addr, st.Conn.Database)
}

// shapeFlags are the settings of the shape check and its pruning brake.
type shapeFlags struct {
	ShapeMinRawRatio float64 `help:"a backup whose SQL is smaller than this fraction of the recent median is suspect" default:"0.5" env:"BACKUPD_SHAPE_MIN_RAW_RATIO"`
	ShapeWindow      int     `help:"how many recent backups the shape's medians are taken over" default:"24" env:"BACKUPD_SHAPE_WINDOW"`
	ShapeHoldRuns    int     `help:"backups of the usual shape after a suspect one that resume retention without \"backupd accept\"" default:"3" env:"BACKUPD_SHAPE_HOLD_RUNS"`
}

// policy returns the configured shape policy, recording in p what is out
// of range.
func (s *shapeFlags) policy(p *cli.Problems) backup.ShapePolicy {
	if !(s.ShapeMinRawRatio > 0 && s.ShapeMinRawRatio <= 1) {
		p.Invalid("shape-min-raw-ratio", s.ShapeMinRawRatio, "want a fraction above 0, at most 1")
	}
	if s.ShapeWindow < 1 || s.ShapeWindow > 10000 {
		p.Invalid("shape-window", s.ShapeWindow, "want 1 to 10000")
	}
	if s.ShapeHoldRuns < 1 || s.ShapeHoldRuns > 10000 {
		p.Invalid("shape-hold-runs", s.ShapeHoldRuns, "want 1 to 10000")
	}
	return backup.ShapePolicy{MinRawRatio: s.ShapeMinRawRatio, Window: s.ShapeWindow, HoldRuns: s.ShapeHoldRuns}
}

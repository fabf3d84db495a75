package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/retention"
)

// exitPruneFailed means the backup was taken and published, but deleting
// old backups failed: the backup is good, the folder may hold too many.
const exitPruneFailed = 4

// errNoBackup means there is no backup to act on: the remote holds none, or
// none of the given name.
var errNoBackup = errors.New("no backup")

// retentionExit maps the errors of backing up, pruning and verifying to
// their exit statuses; ok is false for the errors main maps itself.
func retentionExit(err error) (code int, ok bool) {
	var pe *backup.PruneError
	switch {
	case errors.As(err, &pe):
		return exitPruneFailed, true
	case errors.Is(err, errNoBackup):
		return cli.ExitNoBackup, true
	}
	return 0, false
}

// retentionFlags are the settings of the retention policy, shared by every
// command that prunes.
type retentionFlags struct {
	set                         *cli.Set
	keep, keepDaily, keepWeekly *cli.Setting
}

// addRetention declares the retention settings on set.
func addRetention(set *cli.Set) *retentionFlags {
	return &retentionFlags{
		set:        set,
		keep:       set.String("keep", []string{"BACKUPD_KEEP"}, fmt.Sprint(retention.DefaultKeep), "number of newest complete backups to keep, at least 1"),
		keepDaily:  set.String("keep-daily", []string{"BACKUPD_KEEP_DAILY"}, "0", "also keep the newest backup of each of the last N days (UTC) that have one"),
		keepWeekly: set.String("keep-weekly", []string{"BACKUPD_KEEP_WEEKLY"}, "0", "also keep the newest backup of each of the last N ISO weeks (UTC) that have one"),
	}
}

// policy returns the configured policy, or a usage error for one that
// could delete every backup.
func (r *retentionFlags) policy() (retention.Policy, error) {
	p := retention.DefaultPolicy()
	var err error
	if p.Keep, err = r.set.Int(r.keep, 1, math.MaxInt32); err != nil {
		return p, err
	}
	if p.KeepDaily, err = r.set.Int(r.keepDaily, 0, math.MaxInt32); err != nil {
		return p, err
	}
	if p.KeepWeekly, err = r.set.Int(r.keepWeekly, 0, math.MaxInt32); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, cli.Usagef("%v: set %s to 1 or more", err, r.keep.Name())
	}
	return p, nil
}

// pruneSummary is one line about a prune: what stays and what went.
func pruneSummary(rep backup.PruneReport) string {
	verb := "deleted"
	if rep.DryRun {
		verb = "would delete"
	}
	s := fmt.Sprintf("kept %d %s, %s %d", rep.Plan.Complete(), plural(rep.Plan.Complete(), "backup"), verb, len(rep.Deleted))
	if n := len(rep.Failed); n > 0 {
		s += fmt.Sprintf(", %d could not be deleted", n)
	}
	if n := len(rep.Plan.Keep) - rep.Plan.Complete(); n > 0 {
		s += fmt.Sprintf(", %d unfinished %s left alone", n, plural(n, "upload"))
	}
	if n := len(rep.Plan.Foreign); n > 0 {
		s += fmt.Sprintf(", %d other %s not touched", n, plural(n, "file"))
	}
	return s
}

// printPrune writes a prune's decisions: what went (or would go) and why,
// what failed, and with verbose what stays and why.
func printPrune(w io.Writer, rep backup.PruneReport, verbose bool) {
	if verbose {
		for _, d := range rep.Plan.Keep {
			fmt.Fprintf(w, "keep          %s  %s\n", d.Backup.Name, d.Reason)
		}
	}
	verb := "deleted     "
	if rep.DryRun {
		verb = "would delete"
	}
	for _, d := range rep.Deleted {
		fmt.Fprintf(w, "%s  %s  %s\n", verb, d.Backup.Name, d.Reason)
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(w, "NOT DELETED   %s  %v\n", f.Backup.Name, f.Err)
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// quiet drops records below min, so that a command printing its own report
// does not repeat every line of it in the log.
type quiet struct {
	slog.Handler
	min slog.Level
}

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler {
	return quiet{q.Handler.WithAttrs(as), q.min}
}

func (q quiet) WithGroup(name string) slog.Handler {
	return quiet{q.Handler.WithGroup(name), q.min}
}

// quieter returns log without its Info records, unless debug asked for
// everything.
func quieter(log *slog.Logger, debug bool) *slog.Logger {
	if debug {
		return log
	}
	return slog.New(quiet{log.Handler(), slog.LevelWarn})
}

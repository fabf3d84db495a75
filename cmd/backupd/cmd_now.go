package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/dump"
)

// nowCmd takes one backup in the foreground.
type nowCmd struct {
	Common    cli.Common     `embed:""`
	Seal      cli.SealFlags  `embed:""`
	Retention retentionFlags `embed:""`
	Shape     shapeFlags     `embed:""`
	Lock      lockFlags      `embed:""`
	Wait      time.Duration  `help:"if another backup holds the lock, wait up to this long (e.g. 10m) instead of failing at once" env:"BACKUPD_LOCK_WAIT"`
	Debug     bool           `help:"log debugging detail"`
}

func (c *nowCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	policy := c.Retention.policy(p)
	shape := c.Shape.policy(p)
	st := c.Common.Resolve(p)
	sl := c.Seal.Resolve(p)
	lockPath := c.Lock.path(p)
	if c.Wait < 0 {
		p.Invalid("wait", c.Wait, "want a duration of 0 or more")
	}
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	held, err := acquire(ctx, log, lockPath, "backupd now", c.Wait)
	if err != nil {
		return err
	}
	defer held.Release()
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	var counters dump.Counters
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string {
		d := time.Since(start)
		return fmt.Sprintf("dumping: %s raw, %s stored, %s, %s",
			cli.Bytes(counters.Raw.Load()), cli.Bytes(counters.Stored.Load()),
			d.Round(time.Second), cli.Rate(counters.Raw.Load(), d))
	})
	// Old backups are pruned only after this one is published.
	job := newJob(st, store, shape, &counters, log)
	job.Seal = sl
	rep, prep, err := backup.RunAndPrune(ctx, job, store, backup.PruneOptions{Policy: policy, Shape: shape, Log: log})
	stop()
	var (
		pruneErr *backup.PruneError
		suspect  *backup.SuspectError
	)
	if err != nil && !errors.As(err, &pruneErr) && !errors.As(err, &suspect) {
		return err
	}
	printReport(a, store.String(), rep)
	switch {
	case suspect != nil:
		fmt.Fprintf(a.stdout, "  SUSPECT    %s\n", rep.Suspect)
		fmt.Fprintf(a.stdout, "  retention  paused until \"backupd accept %s\" or %d backups of the usual shape\n", rep.Name, shape.HoldRuns)
	case prep.Paused != nil:
		fmt.Fprintf(a.stdout, "  retention  %v\n", prep.Paused)
	case len(prep.Plan.Keep) > 0:
		fmt.Fprintf(a.stdout, "  retention  %s\n", pruneSummary(prep))
	default:
		fmt.Fprintln(a.stdout, "  retention  not applied")
	}
	return err
}

func printReport(a *app, remote string, rep backup.Report) {
	ratio := 0.0
	if rep.StoredBytes > 0 {
		ratio = float64(rep.RawBytes) / float64(rep.StoredBytes)
	}
	fmt.Fprintf(a.stdout, "backup %s\n", rep.Name)
	fmt.Fprintf(a.stdout, "  remote     %s\n", remote)
	fmt.Fprintf(a.stdout, "  raw        %s (%d bytes)\n", cli.Bytes(rep.RawBytes), rep.RawBytes)
	fmt.Fprintf(a.stdout, "  stored     %s (%d bytes), ratio %.2fx\n", cli.Bytes(rep.StoredBytes), rep.StoredBytes, ratio)
	fmt.Fprintf(a.stdout, "  duration   %s, %s\n", rep.Duration.Round(time.Millisecond), cli.Rate(rep.RawBytes, rep.Duration))
	fmt.Fprintf(a.stdout, "  sha256     %s\n", rep.SHA256)
}

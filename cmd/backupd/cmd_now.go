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

func runNow(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("now", a.getenv)
	common := cli.AddCommon(set)
	ret := addRetention(set)
	locking := addLockFlags(set, true)
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
	log := cli.NewLogger(a.stderr, *debug)
	held, err := locking.acquire(ctx, log, "backupd now")
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
	job := newJob(st, store, &counters, log)
	rep, prep, err := backup.RunAndPrune(ctx, job, store, backup.PruneOptions{Policy: policy, Log: log})
	stop()
	var pruneErr *backup.PruneError
	if err != nil && !errors.As(err, &pruneErr) {
		return err
	}
	printReport(a, store.String(), rep)
	if len(prep.Plan.Keep) > 0 {
		fmt.Fprintf(a.stdout, "  retention  %s\n", pruneSummary(prep))
	} else {
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

package main

import (
	"context"
	"fmt"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
)

func runPrune(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("prune", a.getenv)
	common := cli.AddCommon(set)
	ret := addRetention(set)
	dryRun := set.Bool("dry-run", "print what would be deleted and why; delete nothing")
	verbose := set.Bool("v", "also print what is kept and why")
	debug := set.Bool("debug", "log debugging detail")
	if err := a.parse(set, args); err != nil {
		return err
	}
	if set.FS.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %q", set.FS.Args())
	}
	policy, err := ret.policy()
	if err != nil {
		return err
	}
	st, err := common.Remote()
	if err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, *debug)
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "remote  %s\npolicy  %s\n", store, policy)
	rep, err := backup.Prune(ctx, store, backup.PruneOptions{
		Codec:  st.Codec(),
		Policy: policy,
		DryRun: *dryRun,
		Log:    quieter(log, *debug),
	})
	printPrune(a.stdout, rep, *verbose)
	switch {
	case len(rep.Plan.Keep)+len(rep.Plan.Delete)+len(rep.Plan.Foreign) > 0:
		fmt.Fprintln(a.stdout, pruneSummary(rep))
	case err == nil:
		fmt.Fprintln(a.stdout, "no backups: nothing to do")
	}
	if err == nil && *dryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was deleted")
	}
	return err
}

package main

import (
	"context"
	"fmt"

	"github.com/backupd/backupd/internal/cli"
)

// runDoctor checks the configuration without taking a backup, one line per
// check; it fails when any check failed.
func runDoctor(ctx context.Context, a *app, args []string) error {
	set := cli.NewSet("doctor", a.getenv)
	common := cli.AddCommon(set)
	debug := set.Bool("debug", "log debugging detail")
	if err := a.parse(set, args); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, *debug)
	failed := 0
	cli.Doctor(ctx, common, log, func(c cli.Check) {
		fmt.Fprintln(a.stdout, c)
		if c.Status == cli.Fail {
			failed++
		}
	})
	if failed > 0 {
		return fmt.Errorf("%d of the checks failed", failed)
	}
	return nil
}

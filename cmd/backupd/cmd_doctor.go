package main

import (
	"context"
	"fmt"

	"github.com/backupd/backupd/internal/cli"
)

// doctorCmd checks the configuration without taking a backup, one line
// per check; it fails when any check failed.
type doctorCmd struct {
	Common cli.Common    `embed:""`
	Seal   cli.SealFlags `embed:""`
	Keys   cli.OpenFlags `embed:""`
	Debug  bool          `help:"log debugging detail"`
}

func (c *doctorCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	log := cli.NewLogger(a.stderr, c.Debug)
	failed := 0
	report := func(c cli.Check) {
		fmt.Fprintln(a.stdout, c)
		if c.Status == cli.Fail {
			failed++
		}
	}
	cli.Doctor(ctx, p, &c.Common, log, report)
	cli.DoctorKeys(p, &c.Seal, &c.Keys, report)
	if failed > 0 {
		return fmt.Errorf("%d of the checks failed", failed)
	}
	return nil
}

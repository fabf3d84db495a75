package main

import (
	"context"
	"fmt"

	"github.com/backupd/backupd/internal/cli"
)

// doctorCmd checks the configuration without taking a backup, one line
// per check; it fails when any check failed.
type doctorCmd struct {
	Common cli.Common `embed:""`
	Debug  bool       `help:"log debugging detail"`
}

func (c *doctorCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	log := cli.NewLogger(a.stderr, c.Debug)
	failed := 0
	settingsErr := cli.Doctor(ctx, p, &c.Common, log, func(c cli.Check) {
		fmt.Fprintln(a.stdout, c)
		if c.Status == cli.Fail {
			failed++
		}
	})
	if settingsErr != nil {
		return settingsErr
	}
	if failed > 0 {
		return fmt.Errorf("%d of the checks failed", failed)
	}
	return nil
}

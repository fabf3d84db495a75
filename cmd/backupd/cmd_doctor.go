package main

import (
	"context"
	"fmt"

	"github.com/backupd/backupd/internal/cli"
)

// doctorCmd checks the configuration without taking a backup, one line
// per check; it fails when any check failed. With --notify-test it only
// sends a test alert to each notification URL and reports each.
type doctorCmd struct {
	Common     cli.Common    `embed:""`
	Seal       cli.SealFlags `embed:""`
	Keys       cli.OpenFlags `embed:""`
	Notify     string        `name:"notify" help:"the notification URLs serve alerts (see serve --notify)" env:"BACKUPD_NOTIFY_URLS"`
	NotifyTest bool          `name:"notify-test" help:"only send a test alert to each notification URL and report each"`
	Debug      bool          `help:"log debugging detail"`
}

func (c *doctorCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	if c.NotifyTest {
		return c.notifyTest(ctx, a, p)
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	failed := 0
	report := func(c cli.Check) {
		fmt.Fprintln(a.stdout, c)
		if c.Status == cli.Fail {
			failed++
		}
	}
	settingsErr := cli.Doctor(ctx, p, &c.Common, log, report)
	cli.DoctorKeys(p, &c.Seal, &c.Keys, report)
	if settingsErr != nil {
		return settingsErr
	}
	if failed > 0 {
		return fmt.Errorf("%d of the checks failed", failed)
	}
	return nil
}

func (c *doctorCmd) notifyTest(ctx context.Context, a *app, p *cli.Problems) error {
	n, err := cli.NewNotifier(c.Notify, "backupd", cli.NewLogger(a.stderr, c.Debug), nil)
	if err != nil {
		return cli.Usagef("invalid notify from %s: %v", p.Source("notify"), err)
	}
	if n.Len() == 0 {
		return cli.Usagef("no notification URL: set --notify or BACKUPD_NOTIFY_URLS")
	}
	failed := 0
	for _, r := range n.Test(ctx, "This is a test alert from backupd doctor --notify-test. Alerts come on failed backups, recovery, suspect backups, paused retention and stale backups; never on plain success.") {
		chk := cli.Check{Status: cli.OK, Name: "notify", Detail: r.Destination + ": sent"}
		if r.Err != nil {
			chk = cli.Check{Status: cli.Fail, Name: "notify", Detail: r.Destination + ": " + r.Err.Error()}
			failed++
		}
		fmt.Fprintln(a.stdout, chk)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d notification URLs failed", failed, n.Len())
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
)

// acceptCmd records that a suspect backup's shape is right, which releases
// the pruning brake.
type acceptCmd struct {
	Remote cli.RemoteFlags `embed:""`
	Name   string          `arg:"" help:"the suspect backup (a file name, as backupd list shows it)"`
	Debug  bool            `help:"log debugging detail"`
}

func (c *acceptCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	if err := p.Err(); err != nil {
		return err
	}
	store, err := cli.OpenStore(ctx, st, cli.NewLogger(a.stderr, c.Debug))
	if err != nil {
		return err
	}
	if err := backup.Accept(ctx, store, st.Codec(), c.Name, time.Now()); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "accepted %s in %s: retention resumes, and later backups are compared with it\n", c.Name, store)
	return nil
}

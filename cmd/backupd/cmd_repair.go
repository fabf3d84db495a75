package main

import (
	"context"
	"fmt"
	"time"

	"github.com/backupd/backupd/internal/cli"
)

// repairCopiesCmd fills each copy remote with the primary's backups it
// lacks.
type repairCopiesCmd struct {
	Remote cli.RemoteFlags `embed:""`
	Copies copyToFlags     `embed:""`
	Lock   lockFlags       `embed:""`
	Wait   time.Duration   `help:"if a backup holds the lock, wait up to this long (e.g. 10m) instead of failing at once" env:"BACKUPD_LOCK_WAIT"`
	Debug  bool            `help:"log debugging detail"`
}

func (c *repairCopiesCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	st := c.Remote.Resolve(p)
	remotes := c.Copies.resolve(p, st.Remote)
	if len(remotes) == 0 && p.Err() == nil {
		p.Addf("no copy remote: set %s (e.g. tigris:)", p.Name("copy-to"))
	}
	if c.Wait < 0 {
		p.Invalid("wait", c.Wait, "want a duration of 0 or more")
	}
	if err := p.Err(); err != nil {
		return err
	}
	// Repairs of one remote go one at a time; a backup may run beside a
	// repair, which copies only what the primary has published.
	lockPath := c.Lock.path(st)
	log := cli.NewLogger(a.stderr, c.Debug)
	held, err := acquire(ctx, log, lockPath, "backupd repair-copies", c.Wait)
	if err != nil {
		return err
	}
	defer held.Release()
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	copies, err := openCopies(ctx, remotes, log)
	if err != nil {
		return err
	}
	// No retention here: it runs with each backup, on each remote.
	reps, err := maintainCopies(ctx, store, copies, st.Codec(), 0, nil, log)
	for _, r := range reps {
		fmt.Fprintf(a.stdout, "%s: %d missing, %d copied from %s", r.Remote, r.Missing, len(r.Copied), store)
		if len(r.Failed) > 0 {
			fmt.Fprintf(a.stdout, ", %d failed", len(r.Failed))
		}
		fmt.Fprintln(a.stdout)
		for _, n := range r.Copied {
			fmt.Fprintf(a.stdout, "  copied  %s\n", n)
		}
		for _, f := range r.Failed {
			fmt.Fprintf(a.stdout, "  FAILED  %s: %v\n", f.Remote, f.Err)
		}
	}
	return err
}

package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/retention"
	"github.com/backupd/backupd/pkg/slot"
)

// pruneCmd applies the retention policy now.
type pruneCmd struct {
	Remote    cli.RemoteFlags `embed:""`
	Retention retentionFlags  `embed:""`
	Shape     shapeFlags      `embed:""`
	DryRun    bool            `help:"print what would be deleted and why; delete nothing"`
	Verbose   bool            `name:"v" short:"v" help:"also print what is kept and why"`
	Debug     bool            `help:"log debugging detail"`
}

func (c *pruneCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	policy := c.Retention.policy(p)
	shape := c.Shape.policy(p)
	st := c.Remote.Resolve(p)
	if err := p.Err(); err != nil {
		return err
	}
	log := cli.NewLogger(a.stderr, c.Debug)
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "remote  %s\npolicy  %s\n", store, policy)
	rep, err := backup.Prune(ctx, store, backup.PruneOptions{
		Codec:  st.Codec(),
		Policy: policy,
		Shape:  shape,
		DryRun: c.DryRun,
		Log:    cli.Quieter(log, c.Debug),
	})
	if rep.Paused != nil {
		// The brake is the designed answer to a suspect backup, not a
		// failure of this command: say why and what ends it.
		fmt.Fprintf(a.stdout, "%v\n", rep.Paused)
		return nil
	}
	printPrune(a.stdout, rep, c.Verbose)
	switch {
	case len(rep.Plan.Keep)+len(rep.Plan.Delete)+len(rep.Plan.Foreign) > 0:
		fmt.Fprintln(a.stdout, pruneSummary(rep, st.Codec()))
	case err == nil:
		fmt.Fprintln(a.stdout, "no backups: nothing to do")
	}
	if err == nil && c.DryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing was deleted")
	}
	return err
}

// pruneSummary is one line about a prune: what stays and what went.
func pruneSummary(rep backup.PruneReport, codec catalog.Codec) string {
	kept, verb := "kept", "deleted"
	if rep.DryRun {
		kept, verb = "would keep", "would delete"
	}
	s := fmt.Sprintf("%s %d %s, %s %d", kept, rep.Plan.Complete(), plural(rep.Plan.Complete(), "backup"), verb, len(rep.Deleted))
	if n := len(rep.Failed); n > 0 {
		s += fmt.Sprintf(", %d could not be deleted", n)
	}
	if n := len(rep.Plan.Keep) - rep.Plan.Complete(); n > 0 {
		s += fmt.Sprintf(", %d unfinished %s left alone", n, plural(n, "upload"))
	}
	if len(rep.Plan.Foreign) > 0 {
		s += ", " + otherFiles(codec, rep.Plan.Foreign) + " not touched"
	}
	return s
}

// otherFiles counts the files of a listing that are neither backups nor
// uploads: serve's slot claims (see pkg/slot), then the rest.
func otherFiles(codec catalog.Codec, foreign []catalog.Entry) string {
	claims := 0
	for _, e := range foreign {
		if _, ok := (slot.Names{Codec: codec}).Parse(e.Name); ok {
			claims++
		}
	}
	var parts []string
	if claims > 0 {
		parts = append(parts, fmt.Sprintf("%d slot %s of serve", claims, plural(claims, "claim")))
	}
	if n := len(foreign) - claims; n > 0 {
		parts = append(parts, fmt.Sprintf("%d other %s", n, plural(n, "file")))
	}
	return strings.Join(parts, " and ")
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
	// Oldest first, as the listing reads.
	deleted := slices.Clone(rep.Deleted)
	slices.SortStableFunc(deleted, func(a, b retention.Decision) int { return a.Backup.Time.Compare(b.Backup.Time) })
	for _, d := range deleted {
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/storage"
)

// remoteItem is one backup in the output of "list --all-remotes --json".
type remoteItem struct {
	Name    string   `json:"name"`
	Time    string   `json:"time"`              // RFC 3339, UTC
	On      []string `json:"on"`                // the remotes that hold it, primary first
	Missing []string `json:"missing,omitempty"` // the remotes that do not
}

// listAllRemotes lists the complete backups of the primary and of each
// copy, newest first, with the remotes that hold each. A remote that
// cannot be listed is an error: the answer would be wrong.
func listAllRemotes(ctx context.Context, a *app, st cli.Settings, copies []string, asJSON bool, log *slog.Logger) error {
	primary, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	stores := []*storage.Store{primary}
	cs, err := openCopies(ctx, copies, log)
	if err != nil {
		return err
	}
	for _, c := range cs {
		stores = append(stores, c.store)
	}
	now := time.Now()
	held := map[string][]bool{}
	times := map[string]time.Time{}
	for i, s := range stores {
		entries, err := s.List(ctx)
		if err != nil {
			return fmt.Errorf("list backups: %w", err)
		}
		for _, b := range st.Codec().Scan(entries, now).Backups {
			if held[b.Name] == nil {
				held[b.Name] = make([]bool, len(stores))
			}
			held[b.Name][i] = true
			times[b.Name] = b.Time
		}
	}
	names := make([]string, 0, len(held))
	for n := range held {
		names = append(names, n)
	}
	slices.SortFunc(names, func(x, y string) int {
		if c := times[y].Compare(times[x]); c != 0 {
			return c
		}
		return strings.Compare(y, x)
	})
	if asJSON {
		items := make([]remoteItem, 0, len(names))
		for _, n := range names {
			it := remoteItem{Name: n, Time: times[n].UTC().Format(time.RFC3339), On: []string{}}
			for i, s := range stores {
				if held[n][i] {
					it.On = append(it.On, s.String())
				} else {
					it.Missing = append(it.Missing, s.String())
				}
			}
			items = append(items, it)
		}
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(items); err != nil {
			return fmt.Errorf("write listing: %w", err)
		}
		return nil
	}
	fmt.Fprintln(a.stdout, "remotes:")
	for i, s := range stores {
		role := "copy"
		if i == 0 {
			role = "primary"
		}
		fmt.Fprintf(a.stdout, "  %d  %-7s  %s\n", i+1, role, s)
	}
	fmt.Fprintln(a.stdout)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	head := "NAME\tTIME (UTC)"
	for i := range stores {
		head += fmt.Sprintf("\t%d", i+1)
	}
	fmt.Fprintln(tw, head)
	incomplete := 0
	for _, n := range names {
		line := n + "\t" + times[n].UTC().Format(time.DateTime)
		all := true
		for _, h := range held[n] {
			mark := "yes"
			if !h {
				mark, all = "MISSING", false
			}
			line += "\t" + mark
		}
		if !all {
			incomplete++
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Fprintf(a.stdout, "%d %s, newest first; %d not on every remote\n", len(names), plural(len(names), "backup"), incomplete)
	return nil
}

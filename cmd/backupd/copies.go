package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// repairPerRun is how many missing backups a scheduled run or "backupd
// now" fills on each copy after its own backup, newest first: enough to
// catch up after a failed copy, few enough that a newly added copy does
// not hold the lock for hours ("backupd repair-copies" fills the rest).
const repairPerRun = 3

// copyToFlags name the copy remotes.
type copyToFlags struct {
	CopyTo []string `name:"copy-to" placeholder:"REMOTE" help:"also write each backup to this remote, at the same time as to the primary (repeatable; the variable takes a comma-separated list); tigris: is the app's Tigris bucket from AWS_ENDPOINT, AWS_BUCKET, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY" env:"BACKUPD_COPY_TO"`
}

// copyFlags are the settings of the copy remotes.
type copyFlags struct {
	To         copyToFlags `embed:""`
	CopyBuffer string      `name:"copy-buffer" help:"how far a copy may fall behind the primary before it is abandoned (the dump is never held up for a copy), 64K to 1G" default:"16M" env:"BACKUPD_COPY_BUFFER"`
}

// resolve returns the copy remotes and the buffer size, recording in p
// what is wrong.
func (c *copyFlags) resolve(p *cli.Problems, primary string) ([]string, int) {
	out := c.To.resolve(p, primary)
	n, err := dump.ParseSize(c.CopyBuffer)
	if err == nil && (n < 64<<10 || n > 1<<30) {
		err = errors.New("want 64K to 1G")
	}
	if err != nil {
		p.Addf("invalid copy-buffer=%q from %s: %v", c.CopyBuffer, p.Source("copy-buffer"), err)
	}
	return out, int(n)
}

// resolve returns the copy remotes, recording in p a remote that is
// empty, repeated or the primary itself.
func (c *copyToFlags) resolve(p *cli.Problems, primary string) []string {
	var out []string
	seen := map[string]bool{primary: true}
	for _, r := range c.CopyTo {
		r = strings.TrimSpace(r)
		switch {
		case r == "":
			p.Addf("empty remote in copy-to from %s", p.Source("copy-to"))
		case seen[r]:
			p.Addf("copy-to from %s names %q twice, or names the primary remote", p.Source("copy-to"), r)
		default:
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// copyStore is one opened copy remote.
type copyStore struct {
	name  string
	store *storage.Store
}

// openCopies opens every copy remote; any that does not open is an error:
// a misspelt remote must not go unnoticed until the first backup.
func openCopies(ctx context.Context, remotes []string, log *slog.Logger) ([]copyStore, error) {
	var out []copyStore
	for _, r := range remotes {
		s, err := cli.OpenRemote(ctx, r, log)
		if err != nil {
			return nil, fmt.Errorf("copy-to: %w", err)
		}
		out = append(out, copyStore{name: s.String(), store: s})
	}
	return out, nil
}

func jobCopies(copies []copyStore) []backup.Copy {
	var out []backup.Copy
	for _, c := range copies {
		out = append(out, backup.Copy{Name: c.name, Store: c.store})
	}
	return out
}

// maintainCopies runs on each copy, after a backup and the primary's
// retention: fill it from the primary (up to limit backups, 0 for all),
// then apply retention to its own listing. Failures are logged and
// returned joined; every copy is still tried.
// A nil prune applies no retention.
func maintainCopies(ctx context.Context, primary *storage.Store, copies []copyStore, codec catalog.Codec, limit int, prune *backup.PruneOptions, log *slog.Logger) ([]backup.RepairReport, error) {
	var (
		reps []backup.RepairReport
		errs []error
	)
	for _, c := range copies {
		clog := log.With("remote", c.name)
		rep, err := backup.Repair(ctx, primary, c.name, c.store, backup.RepairOptions{Codec: codec, Limit: limit, Log: clog})
		reps = append(reps, rep)
		if err != nil {
			errs = append(errs, err)
		}
		if prune == nil || ctx.Err() != nil {
			continue
		}
		opts := *prune
		opts.Log = clog
		if _, err := backup.Prune(ctx, c.store, opts); err != nil && !errors.Is(err, backup.ErrRetentionPaused) {
			clog.Warn("retention on a copy failed", "err", err)
			errs = append(errs, fmt.Errorf("retention on %s: %w", c.name, err))
		}
	}
	return reps, errors.Join(errs...)
}

// printCopies writes what became of each copy of rep, and of the repairs
// that followed, and returns an error when a copy still lacks the backup.
func printCopies(a *app, rep backup.Report, repairs []backup.RepairReport) error {
	filled := map[string]bool{}
	for _, r := range repairs {
		for _, n := range r.Copied {
			filled[r.Remote+"/"+n] = true
		}
		if len(r.Copied) > 0 {
			fmt.Fprintf(a.stdout, "  repaired   %s: %d missing %s copied from the primary\n", r.Remote, len(r.Copied), plural(len(r.Copied), "backup"))
		}
	}
	var missing []string
	for _, c := range rep.Copies {
		switch {
		case c.Err == nil:
			fmt.Fprintf(a.stdout, "  copy       %s\n", c.Remote)
		case filled[c.Remote+"/"+rep.Name]:
			fmt.Fprintf(a.stdout, "  copy       %s FAILED, then filled from the primary: %v\n", c.Remote, c.Err)
		default:
			fmt.Fprintf(a.stdout, "  copy       %s FAILED: %v\n", c.Remote, c.Err)
			missing = append(missing, c.Remote)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("backup %s is published on the primary but missing on %s: run \"backupd repair-copies\" once the remote answers",
			rep.Name, strings.Join(missing, ", "))
	}
	return nil
}

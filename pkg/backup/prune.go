package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/retention"
)

// Lister lists every file in a store (see storage.Store.List).
type Lister interface {
	List(ctx context.Context) ([]catalog.Entry, error)
}

// Deleter deletes one file by name; a name that is already gone yields an
// error wrapping catalog.ErrNotFound.
type Deleter interface {
	Delete(ctx context.Context, name string) error
}

// ListDeleter is what pruning needs of a store.
type ListDeleter interface {
	Lister
	Deleter
}

// PruneOptions configure one prune.
type PruneOptions struct {
	Codec  catalog.Codec
	Policy retention.Policy
	// Now is the clock the plan is made at; the zero value means the
	// current time.
	Now    time.Time
	DryRun bool // plan and report, delete nothing
	// Shape is the policy of the pruning brake: how many backups of the
	// usual shape after a suspect one resume retention (see Brake).
	Shape ShapePolicy
	Log   *slog.Logger
}

// PruneFailure is a file that could not be deleted.
type PruneFailure struct {
	retention.Decision
	Err error
}

// PruneReport describes a prune.
type PruneReport struct {
	Plan   retention.Result
	DryRun bool
	// Deleted holds what was deleted, oldest first; in a dry run, what
	// would have been. A file found already gone counts as deleted.
	Deleted []retention.Decision
	// Failed holds the files that could not be deleted.
	Failed []PruneFailure
	// Paused, when set, is why nothing was planned or deleted: a suspect
	// backup that nobody has accepted yet.
	Paused *Paused
}

// Prune lists the store, plans with the policy and deletes what the plan
// says to delete, oldest first. Nothing is deleted when the policy is
// invalid or the listing fails. A failed deletion is logged and recorded in
// the report, the others still run, and an error is returned at the end.
// Files the codec does not recognise are never deleted, except the
// acceptance records (AcceptedSuffix) of backups that are gone.
//
// While the newest suspect backup is neither accepted nor followed by
// enough backups of the usual shape (see Brake), Prune deletes nothing and
// returns a *Paused, also set in the report, saying why.
func Prune(ctx context.Context, store ListDeleter, opts PruneOptions) (PruneReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	rep := PruneReport{DryRun: opts.DryRun}
	if err := opts.Policy.Validate(); err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	entries, err := store.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("prune: list backups: %w", err)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	if p := Brake(Shapes(opts.Codec, entries, now), opts.Shape); p != nil {
		rep.Paused = p
		log.Warn("retention paused", "suspect", p.Backup, "dropped", p.Code, "held", p.Held, "need", p.Need)
		return rep, p
	}
	plan, err := retention.Plan(opts.Codec.Scan(entries, now), opts.Policy, now)
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	rep.Plan = plan
	for _, d := range plan.Delete {
		if opts.DryRun {
			log.Info("would delete", "backup", d.Backup.Name, "reason", d.Reason)
			rep.Deleted = append(rep.Deleted, d)
			continue
		}
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("prune: stopped after %d of %d deletions: %w", len(rep.Deleted)+len(rep.Failed), len(plan.Delete), context.Cause(ctx))
		}
		err := store.Delete(ctx, d.Backup.Name)
		switch {
		case err == nil:
			log.Info("deleted", "backup", d.Backup.Name, "reason", d.Reason)
			rep.Deleted = append(rep.Deleted, d)
		case errors.Is(err, catalog.ErrNotFound):
			// Gone already (another prune, or a person): the plan's intent
			// holds.
			log.Info("already deleted", "backup", d.Backup.Name)
			rep.Deleted = append(rep.Deleted, d)
		default:
			log.Warn("could not delete", "backup", d.Backup.Name, "err", err)
			rep.Failed = append(rep.Failed, PruneFailure{Decision: d, Err: err})
		}
	}
	if !opts.DryRun {
		dropAcceptances(ctx, store, opts.Codec, entries, rep.Deleted, now, log)
	}
	if n := len(rep.Failed); n > 0 {
		return rep, fmt.Errorf("prune: could not delete %d of %d files, first %s: %w", n, len(plan.Delete), rep.Failed[0].Backup.Name, rep.Failed[0].Err)
	}
	return rep, nil
}

// dropAcceptances deletes the acceptance records of backups that are gone,
// best effort.
func dropAcceptances(ctx context.Context, store ListDeleter, codec catalog.Codec, entries []catalog.Entry, deleted []retention.Decision, now time.Time, log *slog.Logger) {
	live := map[string]bool{}
	for _, b := range codec.Scan(entries, now).Backups {
		live[b.Name] = true
	}
	for _, d := range deleted {
		delete(live, d.Backup.Name)
	}
	for _, e := range entries {
		b, ok := strings.CutSuffix(e.Name, AcceptedSuffix)
		if !ok || live[b] {
			continue
		}
		if _, ours := codec.Parse(b); !ours {
			continue
		}
		if err := store.Delete(ctx, e.Name); err != nil && !errors.Is(err, catalog.ErrNotFound) {
			log.Warn("could not delete the acceptance of a deleted backup", "file", e.Name, "err", err)
		}
	}
}

// PruneError is a prune that failed after the backup before it was
// published: the backup is good, the old ones may not all be gone.
type PruneError struct {
	Backup string // the published backup
	Err    error
}

// Error says that the backup is safe and what went wrong after it.
func (e *PruneError) Error() string {
	return fmt.Sprintf("backup %s was published, but pruning old backups failed: %v", e.Backup, e.Err)
}

// Unwrap returns the prune's error.
func (e *PruneError) Unwrap() error { return e.Err }

// RunAndPrune takes the backup and, only if it was published, prunes store
// with the job's codec (opts.Codec is ignored). A failed backup is returned
// as it is and nothing is listed or deleted; so is a backup published as
// suspect (*SuspectError), whose brake holds retention anyway. A failed
// prune is returned as a *PruneError along with the reports of both; a
// prune the brake holds (PruneReport.Paused) is not an error.
func RunAndPrune(ctx context.Context, job Job, store ListDeleter, opts PruneOptions) (Report, PruneReport, error) {
	// Refuse a bad policy before dumping, not after.
	if err := opts.Policy.Validate(); err != nil {
		return Report{}, PruneReport{}, fmt.Errorf("backup: %w", err)
	}
	rep, err := job.Run(ctx)
	if err != nil {
		return rep, PruneReport{}, err
	}
	opts.Codec = job.Codec
	if opts.Shape == (ShapePolicy{}) {
		opts.Shape = job.Shape
	}
	if opts.Log == nil {
		opts.Log = job.Log
	}
	prep, err := Prune(ctx, store, opts)
	if prep.Paused != nil {
		// The brake holds: nothing was deleted, on purpose.
		return rep, prep, nil
	}
	if err != nil {
		return rep, prep, &PruneError{Backup: rep.Name, Err: err}
	}
	return rep, prep, nil
}

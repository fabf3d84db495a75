package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
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

// PruneStore is what pruning needs of a store: listing, deleting, and
// writing the small file that records in the remote that retention is
// blocked (see Prune).
type PruneStore interface {
	Lister
	Deleter
	Putter
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
	// Failed holds the file whose deletion failed and ended the prune
	// (see Prune); there is at most one.
	Failed []PruneFailure
	// Paused, when set, is why nothing was planned or deleted: a suspect
	// backup that nobody has accepted yet.
	Paused *Paused
	// Blocked, when set, is the refusal that blocks retention: the
	// account may not delete in the remote.
	Blocked *BlockedError
	// Unblocked reports that the remote recorded a blocked retention and
	// this prune found deleting works again.
	Unblocked bool
}

// ErrRetentionBlocked matches a *BlockedError.
var ErrRetentionBlocked = errors.New("retention is blocked")

// BlockedError is a prune the remote refused: the account may not delete
// there (catalog.ErrDenied), so no backup is deleted until a setting
// changes. Err is the refusal, which says what to change.
type BlockedError struct {
	Err error
	// Since is when the remote first recorded it (the record's time);
	// zero when this prune found it first.
	Since time.Time
}

// Error says that retention is blocked and what to change.
func (e *BlockedError) Error() string { return "retention is blocked: " + e.Err.Error() }

// Unwrap returns the refusal.
func (e *BlockedError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrRetentionBlocked) true.
func (e *BlockedError) Is(target error) bool { return target == ErrRetentionBlocked }

// Prune lists the store, plans with the policy and deletes what the plan
// says to delete, oldest first. Nothing is deleted when the policy is
// invalid or the listing fails. Files the codec does not recognise are
// never deleted, except the acceptance records (AcceptedSuffix) of
// backups that are gone.
//
// The first deletion that fails ends the prune: it is recorded in the
// report and returned. A fault that outlasted rclone's retries, or a
// refusal, is not tried again file by file (production's old script
// retried every excess backup every hour, a request storm that grew by the
// hour); the next prune starts again from the oldest. A file found
// already gone counts as deleted.
//
// A refusal (catalog.ErrDenied: the account may not delete there) blocks
// retention: Prune returns a *BlockedError, also set in the report, and
// records it in the remote as the file catalog.Codec.BlockedName, unless
// the listing shows it there already. While that file is there, the
// prune's first deletion is of that file: the probe. When the probe is
// refused too, nothing else is tried; once it succeeds, the prune goes on
// as usual and reports Unblocked. Every listing shows the record, so that
// status, health and a second machine know without asking the remote.
//
// While the newest suspect backup is neither accepted nor followed by
// enough backups of the usual shape (see Brake), Prune deletes nothing and
// returns a *Paused, also set in the report, saying why.
func Prune(ctx context.Context, store PruneStore, opts PruneOptions) (PruneReport, error) {
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
	listing := opts.Codec.Scan(entries, now)
	plan, err := retention.Plan(listing, opts.Policy, now)
	if err != nil {
		return rep, fmt.Errorf("prune: %w", err)
	}
	rep.Plan = plan
	if opts.DryRun {
		for _, d := range plan.Delete {
			log.Info("would delete", "backup", d.Backup.Name, "reason", d.Reason)
			rep.Deleted = append(rep.Deleted, d)
		}
		return rep, nil
	}
	if m := listing.Blocked; m != nil {
		switch err := store.Delete(ctx, m.Name); {
		case err == nil || errors.Is(err, catalog.ErrNotFound):
			rep.Unblocked = true
			log.Info("retention unblocked: deleting works again", "blocked_since", m.ModTime)
		case errors.Is(err, catalog.ErrDenied):
			rep.Blocked = &BlockedError{Err: err, Since: m.ModTime}
			log.Warn("retention blocked", "since", m.ModTime, "err", err)
			return rep, rep.Blocked
		default:
			return rep, fmt.Errorf("prune: delete %s, the record of a blocked retention: %w", m.Name, err)
		}
	}
	for _, d := range plan.Delete {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("prune: stopped after %d of %d deletions: %w", len(rep.Deleted), len(plan.Delete), context.Cause(ctx))
		}
		err := store.Delete(ctx, d.Backup.Name)
		if err == nil || errors.Is(err, catalog.ErrNotFound) {
			if err == nil {
				log.Info("deleted", "backup", d.Backup.Name, "reason", d.Reason)
			} else {
				// Gone already (another prune, or a person): the plan's
				// intent holds.
				log.Info("already deleted", "backup", d.Backup.Name)
			}
			rep.Deleted = append(rep.Deleted, d)
			continue
		}
		log.Warn("could not delete", "backup", d.Backup.Name, "err", err)
		rep.Failed = append(rep.Failed, PruneFailure{Decision: d, Err: err})
		if errors.Is(err, catalog.ErrDenied) {
			rep.Blocked = &BlockedError{Err: err}
			if listing.Blocked == nil || rep.Unblocked {
				recordBlocked(ctx, store, opts.Codec, now, rep.Blocked, log)
			}
			return rep, rep.Blocked
		}
		return rep, fmt.Errorf("prune: could not delete %s; stopped with %d of %d files left for the next prune: %w",
			d.Backup.Name, len(plan.Delete)-len(rep.Deleted), len(plan.Delete), err)
	}
	dropAcceptances(ctx, store, opts.Codec, entries, rep.Deleted, now, log)
	return rep, nil
}

// recordBlocked writes the record of a blocked retention into the remote,
// best effort: a later prune deletes it first, as its probe.
func recordBlocked(ctx context.Context, store Putter, codec catalog.Codec, now time.Time, b *BlockedError, log *slog.Logger) {
	host, _ := os.Hostname()
	body := fmt.Sprintf("%s\nsince=%s\nhost=%s\n", b.Error(), now.UTC().Format(time.RFC3339), host)
	_, err := store.Put(ctx, codec.BlockedName(), strings.NewReader(body), func() (map[string]string, error) { return nil, nil })
	if err != nil && !errors.Is(err, catalog.ErrExists) {
		log.Warn("could not record in the remote that retention is blocked", "file", codec.BlockedName(), "err", err)
	}
}

// dropAcceptances deletes the acceptance records of backups that are gone,
// best effort; the first that fails ends it, as in Prune.
func dropAcceptances(ctx context.Context, store Deleter, codec catalog.Codec, entries []catalog.Entry, deleted []retention.Decision, now time.Time, log *slog.Logger) {
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
			return
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
func RunAndPrune(ctx context.Context, job Job, store PruneStore, opts PruneOptions) (Report, PruneReport, error) {
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

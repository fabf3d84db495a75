package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/backup"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/storage"
)

// nowCmd takes one backup in the foreground.
type nowCmd struct {
	Common    cli.Common     `embed:""`
	Seal      cli.SealFlags  `embed:""`
	Retention retentionFlags `embed:""`
	Shape     shapeFlags     `embed:""`
	Lock      lockFlags      `embed:""`
	Copies    copyFlags      `embed:""`
	Coords    coordFlags     `embed:""`
	Wait      time.Duration  `help:"if another backup holds the lock, wait up to this long (e.g. 10m) instead of failing at once" env:"BACKUPD_LOCK_WAIT"`
	Debug     bool           `help:"log debugging detail"`
}

func (c *nowCmd) run(ctx context.Context, a *app, p *cli.Problems) error {
	policy := c.Retention.policy(p)
	shape := c.Shape.policy(p)
	st := c.Common.Resolve(p)
	copyRemotes, copyBuffer := c.Copies.resolve(p, st.Remote)
	sl := c.Seal.Resolve(p)
	if c.Wait < 0 {
		p.Invalid("wait", c.Wait, "want a duration of 0 or more")
	}
	if err := p.Err(); err != nil {
		return err
	}
	lockPath := c.Lock.path(st)
	log := cli.NewLogger(a.stderr, c.Debug)
	// One run: a remote that refuses a delete is not asked again.
	ctx = storage.WithDeleteGate(ctx)
	requests := storage.Requests()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(dumpProcs(a.getenv)))
	held, err := acquire(ctx, log, lockPath, "backupd now", c.Wait)
	if err != nil {
		return err
	}
	defer held.Release()
	store, err := cli.OpenStore(ctx, st, log)
	if err != nil {
		return err
	}
	copies, err := openCopies(ctx, copyRemotes, log)
	if err != nil {
		return err
	}
	var counters dump.Counters
	// One listing serves the estimate and the shape check.
	entries, listErr := store.List(ctx)
	// Guessed when the first progress line after the dump's first bytes
	// is due: a backup done before then asks the server nothing for it.
	estimate := sync.OnceValues(func() (int64, string) { return estimateRaw(ctx, entries, listErr, st, log) })
	start := time.Now()
	stop := cli.StartProgress(a.stderr, log, func() string {
		raw := counters.Raw.Load()
		if raw == 0 {
			// The server is still being asked what it is: the progress
			// asks it nothing of its own, so that one that does not
			// answer is met once.
			return fmt.Sprintf("waiting for the database at %s (%s)", st.Conn.Where(), time.Since(start).Round(time.Second))
		}
		n, from := estimate()
		return dumpProgress(raw, counters.Stored.Load(), time.Since(start), n, from)
	})
	// Old backups are pruned only after this one is published.
	job := newJob(st, store, shape, &counters, log)
	if listErr == nil {
		job.History = listed(entries)
	}
	job.Copies, job.CopyBuffer = jobCopies(copies), copyBuffer
	job.Seal = sl
	if c.Coords.Binlog {
		recordCoordinates(&job)
	}
	rep, prep, err := backup.RunAndPrune(ctx, job, store, backup.PruneOptions{Policy: policy, Shape: shape, Log: log})
	stop()
	var (
		pruneErr *backup.PruneError
		suspect  *backup.SuspectError
	)
	if err != nil && !errors.As(err, &pruneErr) && !errors.As(err, &suspect) {
		return cli.DatabaseHint(p, st.Conn, err)
	}
	printReport(a, store.String(), rep)
	switch {
	case suspect != nil:
		fmt.Fprintf(a.stdout, "  SUSPECT    %s\n", rep.Suspect)
		fmt.Fprintf(a.stdout, "  retention  paused until \"backupd accept %s\" or %d backups of the usual shape\n", rep.Name, shape.HoldRuns)
	case prep.Paused != nil:
		fmt.Fprintf(a.stdout, "  retention  %v\n", prep.Paused)
	case prep.Blocked != nil:
		fmt.Fprintf(a.stdout, "  retention  BLOCKED: %v\n", prep.Blocked.Err)
	case len(prep.Plan.Keep) > 0:
		fmt.Fprintf(a.stdout, "  retention  %s\n", pruneSummary(prep, st.Codec()))
	default:
		fmt.Fprintln(a.stdout, "  retention  not applied")
	}
	if len(copies) > 0 {
		// Each copy: fill what it lacks, then its own retention.
		repairs, merr := maintainCopies(ctx, store, copies, st.Codec(), repairPerRun,
			&backup.PruneOptions{Codec: st.Codec(), Policy: policy, Shape: shape}, log)
		if cerr := printCopies(a, rep, repairs); cerr != nil && err == nil {
			err = cerr
		}
		if merr != nil {
			log.Warn("copies", "err", merr)
		}
	}
	fmt.Fprintf(a.stdout, "  requests   %d to the remotes\n", storage.Requests()-requests)
	return err
}

// dumpProcs is the GOMAXPROCS a backup runs with: 1, unless the operator
// set GOMAXPROCS (0 keeps it). The stream does one goroutine's work at a
// time (the encoder, then the upload), and a second P would only wake
// threads to hand it over, on the core the app's web workers need.
func dumpProcs(getenv func(string) string) int {
	if getenv("GOMAXPROCS") != "" {
		return 0
	}
	return 1
}

func printReport(a *app, remote string, rep backup.Report) {
	ratio := 0.0
	if rep.StoredBytes > 0 {
		ratio = float64(rep.RawBytes) / float64(rep.StoredBytes)
	}
	fmt.Fprintf(a.stdout, "backup %s\n", rep.Name)
	fmt.Fprintf(a.stdout, "  remote     %s\n", remote)
	fmt.Fprintf(a.stdout, "  raw        %s (%d bytes)\n", cli.Bytes(rep.RawBytes), rep.RawBytes)
	fmt.Fprintf(a.stdout, "  stored     %s (%d bytes), ratio %.2fx\n", cli.Bytes(rep.StoredBytes), rep.StoredBytes, ratio)
	fmt.Fprintf(a.stdout, "  duration   %s, %s\n", rep.Duration.Round(time.Millisecond), cli.Rate(rep.RawBytes, rep.Duration))
	fmt.Fprintf(a.stdout, "  sha256     %s\n", rep.SHA256)
}

// dumpProgress is the progress line of a running dump. With an estimate of
// the SQL size (from says where it came from), it adds how far along the
// dump is and the time left; past the estimate it says so rather than
// showing more than 100 %.
func dumpProgress(raw, stored int64, elapsed time.Duration, estimate int64, from string) string {
	line := fmt.Sprintf("dumping: %s of SQL", cli.Bytes(raw))
	switch {
	case estimate > 0 && raw <= estimate:
		line += fmt.Sprintf(" of about %s (%.0f%%, %s)", cli.Bytes(estimate), 100*float64(raw)/float64(estimate), from)
	case estimate > 0:
		line += fmt.Sprintf(", past the %s expected (%s)", cli.Bytes(estimate), from)
	}
	line += fmt.Sprintf(", %s stored, %s, %s of SQL", cli.Bytes(stored), elapsed.Round(time.Second), cli.Rate(raw, elapsed))
	if estimate > 0 && raw > 0 && raw < estimate && elapsed > 0 {
		left := time.Duration(float64(elapsed) * float64(estimate-raw) / float64(raw))
		line += ", ETA " + left.Round(time.Second).String()
	}
	return line
}

// estimateRaw guesses the SQL size of the coming dump: the size recorded
// on the newest backup of the remote's listing (entries, unless listing
// failed), else the database's data length as the server reports it. It
// returns 0 when neither is known; a failure only costs the percentage.
func estimateRaw(ctx context.Context, entries []catalog.Entry, listErr error, st cli.Settings, log *slog.Logger) (int64, string) {
	if listErr == nil {
		if n, ok := newestRawSize(st.Codec().Scan(entries, time.Now())); ok {
			return n, "as large as the last backup"
		}
	}
	db, err := st.Conn.OpenDB(log, false)
	if err != nil {
		return 0, ""
	}
	defer db.Close()
	qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var n sql.NullInt64
	err = db.QueryRowContext(qctx, "SELECT SUM(DATA_LENGTH) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?", st.Conn.Database).Scan(&n)
	if err != nil || !n.Valid || n.Int64 <= 0 {
		log.Debug("no estimate of the dump's size", "err", err)
		return 0, ""
	}
	return n.Int64, "from the server's data length"
}

// newestRawSize is the SQL size recorded on the newest backup.
func newestRawSize(l catalog.Listing) (int64, bool) {
	if n := len(l.Backups); n > 0 && l.Backups[n-1].RawSize > 0 {
		return l.Backups[n-1].RawSize, true
	}
	return 0, false
}

// listed is a listing taken already, served as a backup.Lister.
type listed []catalog.Entry

func (l listed) List(context.Context) ([]catalog.Entry, error) { return l, nil }

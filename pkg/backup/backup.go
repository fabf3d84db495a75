// Package backup takes one backup: it streams a dump into the store through
// an io.Pipe and publishes it only when the dump succeeded.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
)

// Putter stores a stream under a name, publishing it only when commit
// succeeds (see storage.Store.Put).
type Putter interface {
	Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error)
}

// Dumper writes a compressed dump to w (see dump.Dumper).
type Dumper interface {
	Dump(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error)
}

var _ Dumper = (*dump.Dumper)(nil)

// Job is one backup to take.
type Job struct {
	Dumper   Dumper
	Store    Putter
	Codec    catalog.Codec
	Time     time.Time      // the snapshot time; it names the backup (see Run for a second taken already)
	Counters *dump.Counters // optional, for progress
	// History, when set, is listed before the dump; the new backup's raw
	// size and table count are judged against the recent backups there
	// (see Judge), and a backup whose shape dropped is published marked
	// suspect and reported as a *SuspectError. A listing that fails is
	// logged and the shape goes unjudged.
	History Lister
	Shape   ShapePolicy
	// Seal encrypts and signs the backup; the zero value does neither.
	Seal Seal
	Log  *slog.Logger
	// Copies receive the same stream as Store, at the same time (the dump
	// runs once), each through a buffer of CopyBuffer bytes (0 means
	// DefaultCopyBuffer). A copy that falls further behind than its
	// buffer, or whose upload fails, is abandoned without stalling the
	// primary; it publishes, with the same metadata, only what the primary
	// publishes. A failed copy leaves the primary published: Run
	// succeeds, and Report.Copies says which copy failed.
	Copies     []Copy
	CopyBuffer int
}

// Report describes a published backup.
type Report struct {
	Name        string
	Time        time.Time
	RawBytes    int64
	StoredBytes int64
	SHA256      string
	Tables      int64  // table definitions in the dump
	Suspect     string // why the shape looks wrong; "" when it held
	Duration    time.Duration
	Copies      []CopyResult // one per Job.Copies, in order
	// Binlog is where the backup stands in the source's binary log; zero
	// when the dump recorded none, and then BinlogProblem says why (when
	// the job's dumper was asked for them).
	Binlog        dump.Coordinates
	BinlogProblem string
}

type publishCheckKey struct{}

// WithPublishCheck returns a context under which Job.Run calls check after
// a good dump and before publishing it; an error from check abandons the
// upload (nothing is published) and is returned by Run, wrapped. The
// daemon uses it to confirm its slot claim at the last moment.
func WithPublishCheck(ctx context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(ctx, publishCheckKey{}, check)
}

func publishCheck(ctx context.Context) func(context.Context) error {
	f, _ := ctx.Value(publishCheckKey{}).(func(context.Context) error)
	return f
}

// Run takes the backup. On any failure of the dump or the upload nothing is
// published under the backup's name, and the error says which side failed.
// A backup published with a suspect shape comes back with its report and a
// *SuspectError.
//
// A backup is never replaced: when the History listing holds a backup (or
// an upload) of the second Time falls in, the run waits for the next
// free second and is named for it, so that names stay in the codec's
// format that the restore side and the old tools read. The store refuses
// to publish over a name taken in the meantime (storage.ErrExists).
func (j Job) Run(ctx context.Context) (Report, error) {
	start := time.Now()
	at := j.Time
	log := j.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var history []Shape
	judge := false
	if j.History != nil {
		entries, err := j.History.List(ctx)
		if err != nil {
			log.Warn("could not list recent backups: the new backup's shape goes unjudged", "backup", j.Codec.Name(at, j.Seal.format()), "err", err)
		} else {
			history, judge = Shapes(j.Codec, entries, start), true
			if at, err = j.freeSecond(ctx, entries, at); err != nil {
				return Report{}, fmt.Errorf("backup failed, nothing was published: %w", err)
			}
		}
	}
	name := j.Codec.Name(at, j.Seal.format())
	var verdict Verdict
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	pr, pw := io.Pipe()
	var (
		res     dump.Result
		dumpErr error
		done    = make(chan struct{})
	)
	go func() {
		defer close(done)
		w, finish, err := j.Seal.writer(pw)
		if err != nil {
			dumpErr = err
			pw.CloseWithError(err)
			return
		}
		res, dumpErr = j.Dumper.Dump(ctx, w, j.Counters)
		if dumpErr == nil {
			dumpErr = finish(&res)
		}
		// A nil error closes the pipe with EOF: the upload may complete.
		pw.CloseWithError(dumpErr)
	}()
	var src io.Reader = pr
	dec, waitCopies := newDecision(), func() []CopyResult { return nil }
	if len(j.Copies) > 0 {
		buffer := j.CopyBuffer
		if buffer <= 0 {
			buffer = DefaultCopyBuffer
		}
		t, wait := startCopies(ctx, j.Copies, buffer, name, pr, dec, log)
		src = t
		waitCopies = func() []CopyResult {
			// The primary may have stopped reading before the end.
			t.finish(context.Canceled)
			return wait()
		}
	}
	_, err := j.Store.Put(ctx, name, src, func() (map[string]string, error) {
		<-done
		if dumpErr != nil {
			dec.set(nil, dumpErr)
			return nil, dumpErr
		}
		if check := publishCheck(ctx); check != nil {
			if err := check(ctx); err != nil {
				dec.set(nil, err)
				return nil, err
			}
		}
		meta := catalog.Meta(res.SHA256, res.RawBytes)
		meta[catalog.MetaTables] = strconv.FormatInt(res.Tables, 10)
		if res.Source != "" {
			meta[catalog.MetaSource] = res.Source
		}
		if !res.Binlog.IsZero() {
			meta[catalog.MetaBinlog] = res.Binlog.Pos
			meta[catalog.MetaBinlogServer] = res.Binlog.Server
			meta[catalog.MetaBinlogAt] = res.Binlog.At.UTC().Format(catalog.BinlogAtLayout)
		}
		if judge {
			verdict = Judge(history, res.RawBytes, res.Tables, j.Shape)
			if verdict.Code != "" {
				meta[catalog.MetaSuspect] = verdict.Code
			}
		}
		j.Seal.sign(name, res, meta)
		dec.set(meta, nil)
		return meta, nil
	})
	if err != nil {
		dec.set(nil, err)
		// Unblock and stop the dump if the upload gave up first.
		pr.CloseWithError(err)
		cancel()
		<-done
		waitCopies()
		if dumpErr != nil && !errors.Is(dumpErr, context.Canceled) {
			return Report{}, fmt.Errorf("backup failed, nothing was published: %w", dumpErr)
		}
		return Report{}, fmt.Errorf("backup failed, nothing was published: %w", err)
	}
	log.Debug("backup published", "backup", name)
	rep := Report{
		Name:          name,
		Time:          at.UTC().Truncate(time.Second),
		RawBytes:      res.RawBytes,
		StoredBytes:   res.StoredBytes,
		SHA256:        res.SHA256,
		Tables:        res.Tables,
		Suspect:       verdict.Reason,
		Duration:      time.Since(start),
		Copies:        waitCopies(),
		Binlog:        res.Binlog,
		BinlogProblem: res.BinlogProblem,
	}
	if verdict.Code != "" {
		log.Warn("backup published with a suspect shape", "backup", name, "reason", verdict.Reason)
		return rep, &SuspectError{Backup: name, Reason: verdict.Reason}
	}
	return rep, nil
}

// freeSecond returns at, or when the listing holds a backup or an upload
// of at's second, the first later second that it does not, after waiting
// for that second to begin: a backup is never named for a time before its
// dump started.
func (j Job) freeSecond(ctx context.Context, entries []catalog.Entry, at time.Time) (time.Time, error) {
	taken := map[time.Time]bool{}
	for _, e := range entries {
		if b, ok := j.Codec.Parse(e.Name); ok {
			taken[b.Time] = true
		}
	}
	sec := at.UTC().Truncate(time.Second)
	if !taken[sec] {
		return at, nil
	}
	for taken[sec] {
		sec = sec.Add(time.Second)
	}
	if wait := time.Until(sec); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return at, context.Cause(ctx)
		case <-t.C:
		}
	}
	return sec, nil
}

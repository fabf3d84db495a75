package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/backupd/backupd/pkg/catalog"
)

// Remote is one place a restore may read backups from.
type Remote struct {
	Name  string // for logs and errors
	Store Store
}

// Fallback is a Store over several remotes in order of preference: the
// primary first, then the copies. It reads each backup from the first
// remote that has it and, when that read fails (the open, or a read in
// the middle of the stream), from the next. A failure in the middle
// cannot be resumed: Restore then loads the whole backup again, into a
// fresh staging database, from the next remote (see Retry).
//
// The remotes are equally untrusted: whichever one a backup is read from,
// its bytes are checked against the checksum in the listing.
type Fallback struct {
	Remotes []Remote
	Log     *slog.Logger

	mu     sync.Mutex
	next   map[string]int  // backup -> the first remote still to try
	failed map[string]bool // a read of the backup failed since the last Retry
}

var _ Store = (*Fallback)(nil)

func (f *Fallback) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}

// List merges the remotes' listings: each file once, as the first remote
// that lists it has it (so a backup's recorded checksum is the primary's
// when the primary holds it). A remote whose listing fails is logged and
// left out; List fails only when every remote's listing does.
func (f *Fallback) List(ctx context.Context) ([]catalog.Entry, error) {
	var (
		out  []catalog.Entry
		seen = map[string]bool{}
		errs []error
	)
	for _, r := range f.Remotes {
		entries, err := r.Store.List(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			f.log().Warn("could not list a remote; its backups are left out", "remote", r.Name, "err", err)
			errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
			continue
		}
		for _, e := range entries {
			if !seen[e.Name] {
				seen[e.Name] = true
				out = append(out, e)
			}
		}
	}
	if len(errs) == len(f.Remotes) && len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// Open streams name from the first remote, from the one after the last
// whose read failed, that opens it. It returns ErrNotFound (wrapped) when
// no remote left has it.
func (f *Fallback) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	f.mu.Lock()
	start := f.next[name]
	f.mu.Unlock()
	var errs []error
	for i := start; i < len(f.Remotes); i++ {
		r := f.Remotes[i]
		rc, err := r.Store.Open(ctx, name)
		if err == nil {
			if i > 0 {
				f.log().Warn("reading the backup from a copy", "backup", name, "remote", r.Name)
			}
			return &fallbackReader{rc: rc, f: f, name: name, i: i, ctx: ctx}, nil
		}
		if ctx.Err() != nil {
			return nil, err
		}
		if !errors.Is(err, catalog.ErrNotFound) {
			f.log().Warn("could not open the backup; trying the next remote", "backup", name, "remote", r.Name, "err", err)
		}
		errs = append(errs, fmt.Errorf("%s: %w", r.Name, err))
		f.setNext(name, i+1, false)
	}
	if len(errs) == 0 {
		return nil, fmt.Errorf("%s: no remote left to read it from: %w", name, catalog.ErrNotFound)
	}
	return nil, errors.Join(errs...)
}

// Retry reports whether a read of name failed in the middle of the
// stream since the last call, and another remote is left to read it
// from: the caller should then start over with Open.
func (f *Fallback) Retry(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.failed[name] {
		return false
	}
	delete(f.failed, name)
	return f.next[name] < len(f.Remotes)
}

func (f *Fallback) setNext(name string, i int, failed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == nil {
		f.next, f.failed = map[string]int{}, map[string]bool{}
	}
	f.next[name] = max(f.next[name], i)
	if failed {
		f.failed[name] = true
	}
}

// fallbackReader marks the remote it reads from as failed for its backup
// when a read fails.
type fallbackReader struct {
	rc   io.ReadCloser
	f    *Fallback
	name string
	i    int
	ctx  context.Context
}

func (r *fallbackReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && err != io.EOF && r.ctx.Err() == nil {
		remote := r.f.Remotes[r.i].Name
		r.f.log().Warn("reading the backup failed", "backup", r.name, "remote", remote, "err", err)
		r.f.setNext(r.name, r.i+1, true)
		err = fmt.Errorf("read %s from %s: %w", r.name, remote, err)
	}
	return n, err
}

func (r *fallbackReader) Close() error { return r.rc.Close() }

// retrier is a Store that can restart a backup whose read failed from
// another remote (see Fallback.Retry).
type retrier interface{ Retry(name string) bool }

// retryRead reports whether the candidate name should be loaded again
// because its read failed and the store has another remote to read it
// from.
func (r *Restorer) retryRead(ctx context.Context, name string) bool {
	rt, ok := r.Store.(retrier)
	return ok && ctx.Err() == nil && rt.Retry(name)
}

package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/pkg/catalog"
)

// DefaultCopyBuffer is how many bytes of the dump each copy may fall
// behind the primary before it is abandoned (see Job.CopyBuffer).
const DefaultCopyBuffer = 16 << 20

// ErrCopyTooSlow is the error of a copy abandoned because it fell further
// behind the primary than its buffer holds.
var ErrCopyTooSlow = errors.New("the copy fell behind the dump by more than its buffer and was abandoned")

// Copy is a remote that receives every backup beside the primary.
type Copy struct {
	Name  string // the remote, for reports, logs and metric labels
	Store Putter
}

// CopyResult is what became of one copy of a backup.
type CopyResult struct {
	Remote string
	Err    error // nil when the copy was published
}

// Partial reports whether a copy of the backup failed: the backup is
// published on the primary (and on the copies that completed) but not on
// every remote.
func (r Report) Partial() bool {
	return slices.ContainsFunc(r.Copies, func(c CopyResult) bool { return c.Err != nil })
}

// FailedCopies describes the copies that failed, "" when none did.
func (r Report) FailedCopies() string {
	var parts []string
	for _, c := range r.Copies {
		if c.Err != nil {
			parts = append(parts, c.Remote+": "+c.Err.Error())
		}
	}
	return strings.Join(parts, "; ")
}

// tee hands the bytes the primary reads to every copy too: the dump is
// streamed once. Each copy reads from its own bounded buffer; a copy that
// has no room for the next bytes is abandoned with ErrCopyTooSlow rather
// than stalling the primary (and with it the dump).
type tee struct {
	src    io.Reader
	copies []*copyPipe
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.src.Read(p)
	if n > 0 {
		for _, c := range t.copies {
			c.offer(p[:n])
		}
	}
	if err != nil {
		t.finish(err)
	}
	return n, err
}

// finish ends every copy's stream with err (io.EOF for a good end): each
// copy reads what its buffer holds, then err.
func (t *tee) finish(err error) {
	for _, c := range t.copies {
		c.finish(err)
	}
}

// copyPipe is one copy's bounded buffer: a ring the tee writes without
// ever blocking, and the copy's upload reads.
type copyPipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	r, n   int   // read position and bytes held
	end    error // how the source ended, delivered once the buffer is drained
	failed error // the copy is abandoned: reads fail at once, offers are dropped
}

func newCopyPipe(size int) *copyPipe {
	c := &copyPipe{buf: make([]byte, size)}
	c.cond.L = &c.mu
	return c
}

// offer appends p to the buffer, or abandons the copy when it has no room.
func (c *copyPipe) offer(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed != nil || c.end != nil {
		return
	}
	if len(p) > len(c.buf)-c.n {
		c.failed = ErrCopyTooSlow
		c.buf = nil
		c.cond.Broadcast()
		return
	}
	w := (c.r + c.n) % len(c.buf)
	k := copy(c.buf[w:], p)
	copy(c.buf, p[k:])
	c.n += len(p)
	c.cond.Broadcast()
}

func (c *copyPipe) finish(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.end == nil {
		c.end = err
		c.cond.Broadcast()
	}
}

// abandon fails the copy's stream with err; later offers are dropped.
func (c *copyPipe) abandon(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failed == nil {
		c.failed = err
		c.buf = nil
		c.cond.Broadcast()
	}
}

func (c *copyPipe) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n == 0 && c.failed == nil && c.end == nil {
		c.cond.Wait()
	}
	if c.failed != nil {
		return 0, c.failed
	}
	if c.n == 0 {
		return 0, c.end
	}
	k := copy(p, c.buf[c.r:min(len(c.buf), c.r+c.n)])
	c.r = (c.r + k) % len(c.buf)
	c.n -= k
	return k, nil
}

// decision is the primary's verdict on the dump, which every copy waits
// for before publishing: the same metadata, or the reason not to publish.
type decision struct {
	once sync.Once
	done chan struct{}
	meta map[string]string
	err  error
}

func newDecision() *decision { return &decision{done: make(chan struct{})} }

func (d *decision) set(meta map[string]string, err error) {
	d.once.Do(func() {
		d.meta, d.err = meta, err
		close(d.done)
	})
}

// startCopies starts one upload per copy, each reading its own bounded
// buffer fed by the returned tee over src. Each copy publishes under name
// only when dec says so, with the primary's metadata; wait returns each
// copy's result once all have ended. Copies run under ctx, which the
// caller must not cancel before wait returns unless the backup failed.
func startCopies(ctx context.Context, copies []Copy, buffer int, name string, src io.Reader, dec *decision, log *slog.Logger) (*tee, func() []CopyResult) {
	t := &tee{src: src}
	results := make([]CopyResult, len(copies))
	var wg sync.WaitGroup
	for i, cp := range copies {
		pipe := newCopyPipe(buffer)
		t.copies = append(t.copies, pipe)
		results[i].Remote = cp.Name
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := cp.Store.Put(ctx, name, pipe, func() (map[string]string, error) {
				<-dec.done
				if dec.err != nil {
					return nil, dec.err
				}
				return maps.Clone(dec.meta), nil
			})
			// Nothing more is read: let the tee drop what it offers.
			pipe.abandon(errCopyEnded)
			if err != nil {
				pipe.mu.Lock()
				slow := errors.Is(pipe.failed, ErrCopyTooSlow)
				pipe.mu.Unlock()
				if slow {
					err = fmt.Errorf("copy to %s: %w (%v)", cp.Name, ErrCopyTooSlow, err)
				} else {
					err = fmt.Errorf("copy to %s: %w", cp.Name, err)
				}
			}
			results[i].Err = err
		}()
	}
	return t, func() []CopyResult {
		wg.Wait()
		for _, r := range results {
			if r.Err != nil {
				log.Warn("backup copy failed; the backup stays published where it completed", "backup", name, "remote", r.Remote, "err", r.Err)
			} else {
				log.Debug("backup copy published", "backup", name, "remote", r.Remote)
			}
		}
		return results
	}
}

var errCopyEnded = errors.New("copy ended")

// metaPrefix starts the names of the metadata backupd records on a
// backup; a repair copies these and nothing else.
const metaPrefix = "backupd-"

// RepairSource is what a repair reads from: the primary.
type RepairSource interface {
	Lister
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// RepairTarget is what a repair writes to: a copy.
type RepairTarget interface {
	Lister
	Putter
}

// RepairOptions configure a repair.
type RepairOptions struct {
	Codec catalog.Codec
	Now   time.Time // zero means the current time
	// Limit, when above 0, repairs at most this many backups, newest
	// first.
	Limit int
	Log   *slog.Logger
}

// RepairReport describes a repair of one copy.
type RepairReport struct {
	Remote  string
	Copied  []string     // the backups copied, newest first
	Failed  []CopyResult // by backup: Remote holds the backup's name
	Missing int          // backups the copy lacked before the repair
}

// Repair fills the copy with the primary's complete backups it lacks,
// newest first: each is streamed from the primary into the copy (partial
// name, then publish) with the primary's recorded metadata, and published
// only when its bytes hash to the primary's recorded checksum and size. A
// backup without a recorded checksum is not copied (the copy would look no
// more trustworthy than it is, but it would be a second place to trust).
// A failed backup is recorded and the others are still tried; the error
// returned then names them.
func Repair(ctx context.Context, primary RepairSource, remote string, target RepairTarget, opts RepairOptions) (RepairReport, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := RepairReport{Remote: remote}
	pe, err := primary.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("repair %s: list the primary: %w", remote, err)
	}
	ce, err := target.List(ctx)
	if err != nil {
		return rep, fmt.Errorf("repair %s: list the copy: %w", remote, err)
	}
	have := map[string]bool{}
	for _, b := range opts.Codec.Scan(ce, now).Backups {
		have[b.Name] = true
	}
	meta := map[string]map[string]string{}
	for _, e := range pe {
		meta[e.Name] = e.Meta
	}
	backups := opts.Codec.Scan(pe, now).Backups
	slices.Reverse(backups)
	var missing []catalog.Backup
	for _, b := range backups {
		if !have[b.Name] {
			missing = append(missing, b)
		}
	}
	rep.Missing = len(missing)
	if opts.Limit > 0 && len(missing) > opts.Limit {
		missing = missing[:opts.Limit]
	}
	var errs []error
	for _, b := range missing {
		if err := repairOne(ctx, primary, target, b, meta[b.Name]); err != nil {
			log.Warn("could not fill a copy from the primary", "backup", b.Name, "remote", remote, "err", err)
			rep.Failed = append(rep.Failed, CopyResult{Remote: b.Name, Err: err})
			errs = append(errs, fmt.Errorf("%s: %w", b.Name, err))
			if ctx.Err() != nil {
				break
			}
			continue
		}
		log.Info("copy filled from the primary", "backup", b.Name, "remote", remote)
		rep.Copied = append(rep.Copied, b.Name)
	}
	if len(errs) > 0 {
		return rep, fmt.Errorf("repair %s: %w", remote, errors.Join(errs...))
	}
	return rep, nil
}

func repairOne(ctx context.Context, primary RepairSource, target RepairTarget, b catalog.Backup, meta map[string]string) error {
	if b.SHA256 == "" {
		return errors.New("the primary has no recorded checksum for it; not copied")
	}
	rc, err := primary.Open(ctx, b.Name)
	if err != nil {
		return fmt.Errorf("read the primary: %w", err)
	}
	defer rc.Close()
	h := sha256.New()
	cnt := count.NewWriter(nil, nil)
	r := io.TeeReader(rc, io.MultiWriter(h, cnt))
	_, err = target.Put(ctx, b.Name, r, func() (map[string]string, error) {
		if got := hex.EncodeToString(h.Sum(nil)); got != b.SHA256 {
			return nil, fmt.Errorf("the primary's bytes hash to %s, not the recorded %s: not copied (run backupd verify %s)", got, b.SHA256, b.Name)
		}
		if cnt.N.Load() != b.Size {
			return nil, fmt.Errorf("read %d bytes from the primary, the listing says %d", cnt.N.Load(), b.Size)
		}
		out := map[string]string{}
		for k, v := range meta {
			if strings.HasPrefix(k, metaPrefix) {
				out[k] = v
			}
		}
		return out, nil
	})
	return err
}

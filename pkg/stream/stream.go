// Package stream follows a server's binary log as a replica does and
// writes it to the remote as segments (see pkg/binlog): raw events,
// compressed with zstd, encrypted and signed like the backups when those
// are configured, each published at most Flush after its first event, so
// that a lost database loses at most that much.
//
// After a restart the stream goes on from the end of the last segment the
// remote holds. What cannot be followed is reported, never papered over:
// a log the server purged before it was copied, another server answering,
// a stream that makes no progress for twice the flush interval.
package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"filippo.io/age"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// Defaults of a Streamer.
const (
	DefaultFlush      = 60 * time.Second
	DefaultMaxSegment = 16 << 20 // raw bytes of a segment
	// maxQueued bounds the raw bytes of closed segments waiting to be
	// published; past it the stream stops reading, and the server keeps
	// the log.
	maxQueued = 256 << 20
)

// Store is the remote's segments folder.
type Store interface {
	Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error)
	List(ctx context.Context) ([]catalog.Entry, error)
}

// Events are the events of one replication connection.
type Events interface {
	// Next returns the next event as the server sent it, header and
	// checksum included.
	Next(ctx context.Context) ([]byte, error)
	Close()
}

// Source is a server's binary log, read as a replica reads it.
type Source interface {
	// Binlog asks the server who it is and where its log ends now.
	Binlog(ctx context.Context) (mariadb.BinlogSource, error)
	// Open starts a replication connection at pos.
	Open(ctx context.Context, pos binlog.Pos) (Events, error)
}

// Kind says what a Report is about.
type Kind int

// The kinds of report.
const (
	// Started: a connection streams from Pos.
	Started Kind = iota
	// Published: Segment is in the remote.
	Published
	// Gap: part of the log was not copied and cannot be (Reason); a
	// recovery cannot cross it, so a full backup is needed now.
	Gap
	// Stalled: no progress for twice the flush interval (Reason).
	Stalled
	// Resumed: streaming and publishing again after Stalled.
	Resumed
)

func (k Kind) String() string {
	return [...]string{"started", "published", "gap", "stalled", "resumed"}[k]
}

// Report is something the daemon is told.
type Report struct {
	Kind    Kind
	At      time.Time
	Pos     binlog.Pos
	Segment binlog.Segment
	Reason  string
}

// ErrPurged is wrapped by an Open or Next error that says the server no
// longer has the position asked for (its error 1236).
var ErrPurged = errors.New("the server no longer has this part of its binary log")

// Streamer follows one server's binary log into a segments folder.
type Streamer struct {
	Source Source
	Store  Store
	Codec  binlog.Codec
	// Writer names this stream in its segments' names: the replica server
	// id it registers with, so that two machines streaming the same log
	// never write the same name.
	Writer uint32
	// Flush is the longest a segment stays open after its first event;
	// DefaultFlush when zero.
	Flush time.Duration
	// MaxSegment closes a segment early, between transactions, when it
	// holds that many bytes (a transaction larger than twice that is
	// split); DefaultMaxSegment when zero.
	MaxSegment int64
	// Recipients and SignKey seal segments as backups are sealed.
	Recipients []age.Recipient
	SignKey    *seal.SigningKey
	// Start says where to start when the remote holds no segment of the
	// server: the coordinates of its newest backup that has them
	// (found false when none does; the stream then starts at the log's
	// end, which only a backup taken from now on can be recovered from).
	Start func(ctx context.Context, server string) (pos binlog.Pos, found bool, err error)
	// Report is told what happens; it must not block.
	Report func(Report)
	// Grace bounds how long publishing may go on after ctx ends.
	Grace time.Duration
	Log   *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu      sync.Mutex
	lastPub binlog.Pos // end of the last published segment
}

func (s *Streamer) flush() time.Duration {
	if s.Flush <= 0 {
		return DefaultFlush
	}
	return s.Flush
}

func (s *Streamer) maxSegment() int64 {
	if s.MaxSegment <= 0 {
		return DefaultMaxSegment
	}
	return s.MaxSegment
}

func (s *Streamer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Streamer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Streamer) report(r Report) {
	if r.At.IsZero() {
		r.At = s.now()
	}
	if s.Report != nil {
		s.Report(r)
	}
}

// Heartbeat is the heartbeat period a source should ask for with the
// streamer's flush interval: a third of it, at least 100 ms and at most
// 30 s, so that a silent connection is told from an idle server well
// within twice the flush interval.
func Heartbeat(flush time.Duration) time.Duration {
	return min(max(flush/3, 100*time.Millisecond), 30*time.Second)
}

// Run streams until ctx ends; then the open segment is published (within
// Grace) and Run returns nil. It returns an error only when it cannot
// start at all.
func (s *Streamer) Run(ctx context.Context) error {
	if s.Source == nil || s.Store == nil {
		return errors.New("stream: no source or store")
	}
	w := &writer{s: s, queue: make(chan closed, 64), seal: sealing{recipients: s.Recipients, signKey: s.SignKey}}
	w.health = newHealth(s.flush(), s.now)
	pubCtx, cancelPub := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelPub()
	pubDone := make(chan struct{})
	go func() {
		defer close(pubDone)
		w.publish(pubCtx)
	}()
	w.run(ctx)
	close(w.queue)
	grace := s.Grace
	if grace <= 0 {
		grace = 30 * time.Second
	}
	select {
	case <-pubDone:
	case <-time.After(grace):
		s.log().Warn("binary log segments still unpublished at shutdown; the stream goes on from the last published one at the next start", "grace", grace.String())
		cancelPub()
		<-pubDone
	}
	return nil
}

// writer is one run of a Streamer.
type writer struct {
	s      *Streamer
	seal   sealing
	queue  chan closed
	health *health

	server  string // the identity of the server streamed
	pos     binlog.Pos
	atEnd   bool // start at the log's end: what came before is lost
	format  *binlog.Format
	fde     []byte
	seg     *open
	tracker binlog.Tracker
	atSafe  binlog.Tracker // the tracker at the open segment's last point between transactions

	queuedMu sync.Mutex
	queued   int64
}

// run connects and follows until ctx ends.
func (w *writer) run(ctx context.Context) {
	log := w.s.log()
	backoff := time.Second
	for ctx.Err() == nil {
		err := w.connect(ctx)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, ErrPurged) {
			// Reported already; start again at once from the log's end.
			backoff = time.Second
			continue
		}
		if err != nil {
			w.health.disconnected(err)
			// What came whole before the connection broke goes out now: the
			// server may be gone for good.
			w.rewind()
			w.closeSegment(ctx)
			log.Warn("binary log stream interrupted; connecting again", "pos", w.pos.String(), "retry_in", backoff.String(), "err", err)
			w.sleep(ctx, backoff)
			backoff = min(backoff*2, 30*time.Second)
			continue
		}
		backoff = time.Second
	}
	// Shutting down: what is whole goes out.
	w.rewind()
	w.closeSegment(ctx)
}

func (w *writer) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	tick := time.NewTicker(w.health.every())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-tick.C:
			w.check()
		}
	}
}

// connect asks the server who it is, decides where to read from, and
// follows one connection until it fails.
func (w *writer) connect(ctx context.Context) error {
	src, err := w.s.Source.Binlog(ctx)
	if err != nil {
		return err
	}
	if !src.Enabled {
		return errors.New("the server writes no binary log (log_bin is OFF)")
	}
	if src.Identity != w.server {
		if w.server != "" {
			w.gap(fmt.Sprintf("another server answers: %s, not %s", src.Identity, w.server))
			w.dropSegment()
		}
		w.server, w.pos = src.Identity, binlog.Pos{}
	}
	switch {
	case w.pos.IsZero() && w.atEnd:
		// After a gap: from the log's end.
		if src.File == "" {
			return errors.New("cannot tell where the binary log ends: the account needs REPLICATION CLIENT")
		}
		w.pos, w.atEnd = binlog.Pos{File: src.File, Offset: src.Offset}, false
	case w.pos.IsZero():
		if err := w.resume(ctx, src); err != nil {
			return err
		}
	}
	w.rewind()
	ev, err := w.s.Source.Open(ctx, w.pos)
	if errors.Is(err, ErrPurged) {
		w.purged(err)
		return err
	}
	if err != nil {
		return err
	}
	defer ev.Close()
	w.s.report(Report{Kind: Started, Pos: w.pos})
	w.s.log().Info("streaming the binary log", "server", w.server, "from", w.pos.String())
	err = w.follow(ctx, ev)
	if errors.Is(err, ErrPurged) {
		w.purged(err)
	}
	return err
}

// purged reports a log the server no longer has and starts over at its
// end.
func (w *writer) purged(err error) {
	w.gap(fmt.Sprintf("the server purged %s before it was copied: %v", w.pos, err))
	w.dropSegment()
	w.pos, w.atEnd = binlog.Pos{}, true
}

func (w *writer) gap(reason string) {
	w.s.log().Error("binary log gap: recovery cannot cross it until a backup is taken", "reason", reason)
	w.s.report(Report{Kind: Gap, Pos: w.pos, Reason: reason})
}

// resume sets where to read: the end of the last segment of this server
// in the remote, else the newest backup's coordinates, else the log's
// end (a gap: nothing before it can be recovered to).
func (w *writer) resume(ctx context.Context, src mariadb.BinlogSource) error {
	entries, err := w.s.Store.List(ctx)
	if err != nil {
		return fmt.Errorf("list the segments: %w", err)
	}
	l := w.s.Codec.Scan(entries, w.s.now())
	var last *binlog.Segment
	for i, sg := range l.Segments {
		if sg.Server != w.server {
			continue
		}
		if why := w.untrusted(sg, src); why != "" {
			w.s.log().Warn("a file with a segment's name is not resumed from", "segment", sg.Name, "reason", why)
			continue
		}
		if last == nil {
			last = &l.Segments[i]
			continue
		}
		if c, ok := binlog.Compare(sg.To(), last.To()); ok && (c > 0 || c == 0 && sg.Rotated) {
			last = &l.Segments[i]
		}
	}
	if last != nil {
		w.pos = last.To()
		if last.Rotated {
			next, _ := binlog.Next(last.File)
			w.pos = binlog.Pos{File: next, Offset: binlog.FirstOffset}
		}
		w.s.log().Info("resuming the binary log after the last segment in the remote", "segment", last.Name)
		return nil
	}
	if w.s.Start != nil {
		pos, found, err := w.s.Start(ctx, w.server)
		if err != nil {
			return err
		}
		if found {
			w.pos = pos
			return nil
		}
	}
	if src.File == "" {
		return errors.New("cannot tell where the binary log ends: the account needs REPLICATION CLIENT")
	}
	w.pos = binlog.Pos{File: src.File, Offset: src.Offset}
	w.gap(fmt.Sprintf("no segment and no backup with coordinates of server %s: the stream starts at %s, and recovery needs a backup taken from now on", w.server, w.pos))
	return nil
}

// untrusted says why the stream does not resume after sg, a segment of its
// server that the remote lists (anyone who can write there can add a file
// under any name), or "": with a signing key, sg must carry this stream's
// own signature; and it must not end past where the server's log ends now
// (SHOW BINARY LOG STATUS), or in a log of another name.
func (w *writer) untrusted(sg binlog.Segment, src mariadb.BinlogSource) string {
	if k := w.s.SignKey; k != nil {
		if err := seal.Problem(sg.Backup(), []seal.VerifyKey{k.Public()}, true); err != nil {
			return "its signature is not this stream's: " + err.Error()
		}
	}
	if src.File == "" {
		return ""
	}
	end := binlog.Pos{File: src.File, Offset: src.Offset}
	if c, ok := binlog.Compare(sg.To(), end); !ok || c > 0 {
		return fmt.Sprintf("it ends at %s, past the server's binary log, which ends at %s", sg.To(), end)
	}
	return ""
}

// rewind goes back to the open segment's last point between transactions:
// a new connection starts there.
func (w *writer) rewind() {
	if w.seg == nil {
		return
	}
	w.seg.truncate()
	w.tracker = w.atSafe
	w.pos = binlog.Pos{File: w.seg.file, Offset: w.seg.end}
	if w.seg.empty() {
		w.seg = nil
	}
}

func (w *writer) dropSegment() {
	w.seg, w.tracker, w.atSafe = nil, binlog.Tracker{}, binlog.Tracker{}
}

type item struct {
	raw []byte
	err error
}

// follow reads one connection's events until it fails or ctx ends.
func (w *writer) follow(ctx context.Context, ev Events) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan item, 16)
	go func() {
		defer close(ch)
		for {
			raw, err := ev.Next(ctx)
			select {
			case ch <- item{raw, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	tick := time.NewTicker(w.health.every())
	defer tick.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var armed time.Time
	w.health.connected()
	for {
		var due <-chan time.Time
		if w.seg != nil {
			if deadline := w.seg.opened.Add(w.s.flush()); !deadline.Equal(armed) {
				timer.Reset(time.Until(deadline))
				armed = deadline
			}
			due = timer.C
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case it, ok := <-ch:
			if !ok {
				return errors.New("the replication connection closed")
			}
			if it.err != nil {
				return it.err
			}
			w.health.alive()
			if err := w.event(ctx, it.raw); err != nil {
				return err
			}
		case <-due:
			if !w.tracker.InTxn() {
				w.closeSegment(ctx)
			}
		case <-tick.C:
			w.check()
		}
	}
}

// event takes one event from the server.
func (w *writer) event(ctx context.Context, raw []byte) error {
	e, err := binlog.ParseEvent(raw)
	if err != nil {
		return err
	}
	const artificial = 0x20
	switch {
	case e.Type == 27 || e.Type == 41: // heartbeats
		return nil
	case e.Type == 4 && e.Flags&artificial != 0:
		// Where the server is: at connection start, the position asked
		// for; later, the next file (the one before ended).
		next, err := binlog.Rotation(raw)
		if err != nil {
			return err
		}
		if next.File != w.pos.File && w.pos.File != "" {
			w.endFile(ctx)
			w.pos = next
		}
		return nil
	case e.Type == 15:
		f, err := binlog.ParseFormat(e)
		if err != nil {
			return err
		}
		w.format = f
		if w.pos.Offset != binlog.FirstOffset {
			// A copy the server sends with a connection: not in the file
			// here.
			w.fde = raw
			return nil
		}
		// The file's own first event.
		w.fde = raw
		w.closeSegment(ctx)
		w.seg = newOpen(w.pos.File, w.pos.Offset, raw, w.s.now())
		w.atSafe = w.tracker
		w.pos.Offset += uint64(len(raw))
		w.seg.end, w.seg.safeEnd = w.pos.Offset, w.pos.Offset
		return nil
	case e.Flags&artificial != 0:
		return nil
	}
	if w.format == nil {
		return errors.New("an event before the format description")
	}
	if err := w.format.Check(e); err != nil {
		return err
	}
	end := w.pos.Offset + uint64(e.Size)
	if e.LogPos != 0 && uint64(e.LogPos) != end&0xffffffff {
		return fmt.Errorf("the %s event at %s says it ends at %d, not %d", binlog.TypeName(e.Type), w.pos, e.LogPos, end)
	}
	before := w.tracker.InTxn()
	started, err := w.tracker.Observe(e, w.format)
	if err != nil {
		return err
	}
	var txn *binlog.Txn
	if before || started || w.tracker.InTxn() {
		t := w.tracker.Txn()
		txn = &t
	}
	if w.seg == nil {
		w.seg = newOpen(w.pos.File, w.pos.Offset, w.fde, w.s.now())
		w.atSafe = w.tracker
		if started {
			w.atSafe = binlog.Tracker{}
		}
	}
	boundary := !w.tracker.InTxn()
	w.seg.add(raw, end, txn, boundary, time.Unix(int64(e.Time), 0))
	if boundary {
		w.atSafe = w.tracker
	}
	w.pos.Offset = end
	if e.Type == 4 {
		// The file ends with this ROTATE.
		next, err := binlog.Rotation(raw)
		if err != nil {
			return err
		}
		w.seg.rotated = true
		w.closeSegment(ctx)
		w.pos = next
		return nil
	}
	due := w.s.now().Sub(w.seg.opened) >= w.s.flush() || w.seg.raw() >= w.s.maxSegment()
	if due && boundary || w.seg.raw() >= 2*w.s.maxSegment() {
		w.closeSegment(ctx)
	}
	return nil
}

// endFile closes the current file's segment, marked as where the file
// ends; with nothing open, an empty segment marks it.
func (w *writer) endFile(ctx context.Context) {
	if w.seg == nil {
		if w.fde == nil {
			return
		}
		w.seg = newOpen(w.pos.File, w.pos.Offset, w.fde, w.s.now())
	}
	w.seg.truncate()
	w.seg.rotated = true
	w.tracker, w.atSafe = binlog.Tracker{}, binlog.Tracker{}
	w.closeSegment(ctx)
}

// closeSegment closes the open segment and queues it for publishing.
func (w *writer) closeSegment(ctx context.Context) {
	o := w.seg
	if o == nil {
		return
	}
	w.seg = nil
	if o.empty() {
		return
	}
	c, err := o.close(w.server, w.s.Writer, w.s.Codec, w.seal)
	if err != nil {
		w.s.log().Error("cannot close a binary log segment", "file", o.file, "start", o.start, "err", err)
		return
	}
	w.queuedMu.Lock()
	w.queued += c.raw
	w.queuedMu.Unlock()
	w.health.queued(c.opened)
	select {
	case w.queue <- c:
	case <-ctx.Done():
		// Shutting down with a full queue: it goes out at the next start.
	}
	for w.overQueued() && ctx.Err() == nil {
		// Backpressure: the server keeps the log while uploads catch up.
		w.sleep(ctx, 100*time.Millisecond)
	}
}

func (w *writer) overQueued() bool {
	w.queuedMu.Lock()
	defer w.queuedMu.Unlock()
	return w.queued > maxQueued
}

// publish uploads closed segments in order, each until it is in the
// remote (or ctx ends).
func (w *writer) publish(ctx context.Context) {
	for c := range w.queue {
		backoff := time.Second
		for {
			_, err := w.s.Store.Put(ctx, c.seg.Name, bytes.NewReader(c.data), func() (map[string]string, error) {
				return c.meta(w.seal), nil
			})
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, catalog.ErrExists) && w.landed(ctx, c) {
				// An earlier attempt landed though its answer was lost.
				break
			}
			w.health.publishFailed(err)
			w.s.log().Warn("could not publish a binary log segment; retrying", "segment", c.seg.Name, "retry_in", backoff.String(), "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 30*time.Second)
		}
		w.queuedMu.Lock()
		w.queued -= c.raw
		w.queuedMu.Unlock()
		w.health.published(c.opened)
		w.s.mu.Lock()
		w.s.lastPub = c.seg.To()
		w.s.mu.Unlock()
		w.s.log().Debug("binary log segment published", "segment", c.seg.Name)
		w.s.report(Report{Kind: Published, Segment: c.seg, Pos: c.seg.To()})
	}
}

// landed reports whether the remote holds c under its name already, with
// its size and sha256: the upload of an earlier attempt. Anything else
// under the name is not c, and the stream goes on trying (and stalls,
// loudly) rather than take it for c.
func (w *writer) landed(ctx context.Context, c closed) bool {
	entries, err := w.s.Store.List(ctx)
	if err != nil {
		return false
	}
	for _, e := range entries {
		if e.Name == c.seg.Name {
			same := e.Size == int64(len(c.data)) && strings.EqualFold(e.Meta[catalog.MetaSHA256], c.sha256)
			if same {
				w.s.log().Info("a binary log segment whose upload seemed to fail is in the remote", "segment", c.seg.Name)
			} else {
				w.s.log().Error("the remote holds another file under a binary log segment's name", "segment", c.seg.Name,
					"size", e.Size, "want_size", len(c.data))
			}
			return same
		}
	}
	return false
}

// check reports a stall, or the end of one.
func (w *writer) check() {
	var open time.Time
	if w.seg != nil {
		open = w.seg.opened
	}
	if reason, changed := w.health.judge(open); changed {
		if reason != "" {
			w.s.log().Error("binary log stream stalled", "reason", reason)
			w.s.report(Report{Kind: Stalled, Reason: reason, Pos: w.pos})
		} else {
			w.s.log().Info("binary log stream going again")
			w.s.report(Report{Kind: Resumed, Pos: w.pos})
		}
	}
}

// Published is the end of the last segment this streamer published.
func (s *Streamer) Published() binlog.Pos {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastPub
}

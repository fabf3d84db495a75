// Package replay carries out a recovery plan (pkg/recovery): it loads the
// plan's backup into the target database with the parallel loader, then
// replays the binary log segments after it through the replay gate
// (binlog.Replay) and the server family's own tool (mysqlbinlog,
// mariadb-binlog) into the target's client, and checks what came of it.
//
// The remote is untrusted: a backup and every segment are held to their
// signatures (when keys are given), checksums and sizes before a byte of
// them runs, the backup's own text must name the coordinates the plan
// starts from, and the gate lets through only what changes the recovered
// database.
package replay

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/recovery"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/sqltext"
)

// Opener opens a stored file by name.
type Opener interface {
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// ErrTargetExists means the target database exists and Replace was not
// given: it is left as it is.
var ErrTargetExists = errors.New("the target database exists")

// ErrFamily means the target server is not of the family whose binary log
// the segments hold.
var ErrFamily = errors.New("the target server is of another family than the source")

// Progress is what a running recovery has done, for progress reports. It
// may be read concurrently.
type Progress struct {
	Phase    atomic.Value // string: "checking", "downloading", "loading", "replaying", "checking the result"
	Stored   atomic.Int64 // backup bytes downloaded
	Raw      atomic.Int64 // backup SQL bytes read
	Segments atomic.Int64 // segments replayed
	Reached  atomic.Int64 // Unix seconds of the last segment replayed
}

func (p *Progress) phase(s string) {
	if p != nil {
		p.Phase.Store(s)
	}
}

// Recoverer carries out plans into one target.
type Recoverer struct {
	Backups  Opener // the backups' folder
	Segments Opener // the segments' folder
	// Target is the server and database recovered into. The account needs
	// every privilege on the database (it is created), and for the replay
	// REPLICATION_APPLIER and SESSION_VARIABLES_ADMIN (MySQL) or BINLOG
	// REPLAY (MariaDB).
	Target mariadb.Conn
	// Replace drops a target database that exists; without it such a
	// database is left untouched and Run fails with ErrTargetExists.
	Replace bool
	// Identities open encrypted backups and segments; VerifyKeys check
	// their signatures. Those without a valid one are refused when
	// RequireSignature is set, and whenever VerifyKeys are given unless
	// AllowUnsigned (see RequiresSignature).
	Identities       []age.Identity
	VerifyKeys       []seal.VerifyKey
	RequireSignature bool
	AllowUnsigned    bool
	// BinlogTool and Client are the programs of the replay; "" finds the
	// family's own on PATH (mariadb.FindBinlogTool, FindClient).
	BinlogTool string
	Client     string
	Parallel   int    // the loader's connections; 0: its default
	TempDir    string // for the client's option file; "" is the system's
	Log        *slog.Logger
	Progress   *Progress
}

// Report is what a recovery did.
type Report struct {
	Backup   string
	Source   string // the source database, as the backup names it
	Load     time.Duration
	Replay   time.Duration
	Segments int // replayed, whole or in part
	Result   binlog.Result
	// Reached is the commit time of the last transaction replayed, or the
	// backup's snapshot (its coordinates' time) when none was.
	Reached time.Time
	// Stopped is the transaction the gate would not run, when the replay
	// ended before it.
	Stopped *binlog.StopError
	Tables  int // base tables in the recovered database
}

func (r *Recoverer) requireSignature() bool {
	return RequiresSignature(r.VerifyKeys, r.RequireSignature, r.AllowUnsigned)
}

func (r *Recoverer) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// Run carries out p. Before anything is changed it checks the target
// server's family against the segments', finds the tools, checks the
// backup's signature, and refuses an existing target database unless
// Replace. A backup or segment found bad on the way fails the run; the
// target database then holds what was loaded so far, and the error says
// so.
func (r *Recoverer) Run(ctx context.Context, p recovery.Plan) (Report, error) {
	rep := Report{Backup: p.Backup.Name}
	log := r.log()
	r.Progress.phase("checking")
	if p.Backup.Name == "" {
		return rep, fmt.Errorf("recover: no backup to start from: %s", strings.Join(p.Missing, "; "))
	}
	if r.Target.Database == "" {
		return rep, errors.New("recover: no target database named")
	}
	server, err := r.Target.Ask(ctx, log)
	if err != nil {
		return rep, fmt.Errorf("recover: %w", err)
	}
	mariaTarget := server.MariaDB()
	// The segments' own format description says which family wrote them.
	var first *spooledSegment
	if len(p.Segments) > 0 {
		if first, err = r.segment(ctx, p.Segments[0]); err != nil {
			return rep, err
		}
		defer first.Close()
		events, err := first.open()
		if err != nil {
			return rep, err
		}
		rd, err := binlog.NewReader(events)
		events.Close()
		if err != nil {
			return rep, fmt.Errorf("recover: segment %s: %w", p.Segments[0].Name, err)
		}
		if rd.Format().MariaDB() != mariaTarget {
			return rep, fmt.Errorf("%w: the binary log was written by %s, the target is %s; replay it into a server of the same family",
				ErrFamily, rd.Format().Version, server.Name())
		}
	} else if src := p.Backup.Source; src != "" && strings.HasPrefix(src, "MariaDB") != mariaTarget {
		return rep, fmt.Errorf("%w: the backup is of %s, the target is %s", ErrFamily, src, server.Name())
	}
	var binTool, client string
	if len(p.Segments) > 0 {
		if binTool, err = mariadb.FindBinlogTool(ctx, mariaTarget, r.BinlogTool); err != nil {
			return rep, fmt.Errorf("recover: %w", err)
		}
		if client, err = mariadb.FindClient(ctx, mariaTarget, r.Client); err != nil {
			return rep, fmt.Errorf("recover: find the database client: %w", err)
		}
	}
	if err := seal.Problem(p.Backup, r.VerifyKeys, r.requireSignature()); err != nil {
		return rep, fmt.Errorf("recover: backup %s: %w", p.Backup.Name, err)
	}
	if p.Backup.Encrypted() && len(r.Identities) == 0 {
		return rep, fmt.Errorf("recover: backup %s: %w", p.Backup.Name, seal.ErrNoIdentity)
	}
	// The backup's bytes are held to its checksum before any of them
	// runs, and its own text (which the checksum and signature cover) must
	// stand where the plan starts, before anything is changed.
	r.Progress.phase("downloading")
	spooled, err := r.spool(ctx, p.Backup)
	if err != nil {
		return rep, err
	}
	defer spooled.Close()
	head, err := r.head(spooled, p.Backup)
	if err != nil {
		return rep, err
	}
	if err := matches(p, head); err != nil {
		return rep, err
	}
	if err := r.prepare(ctx); err != nil {
		return rep, err
	}

	r.Progress.phase("loading")
	start := time.Now()
	head, err = r.load(ctx, spooled, p.Backup)
	rep.Load = time.Since(start)
	if err != nil {
		return rep, err
	}
	rep.Source = head.Database
	if err := matches(p, head); err != nil {
		// The text loaded does not say what its head said.
		return rep, err
	}
	log.Info("backup loaded", "backup", p.Backup.Name, "duration", rep.Load.Round(time.Millisecond).String())

	rep.Reached = p.Backup.BinlogAt
	if len(p.Segments) > 0 {
		r.Progress.phase("replaying")
		start = time.Now()
		err = r.replay(ctx, p, head.Database, binTool, client, first, &rep)
		rep.Replay = time.Since(start)
		if err != nil {
			return rep, err
		}
		if !rep.Result.Last.Commit.IsZero() {
			rep.Reached = rep.Result.Last.Commit
		}
	}
	r.Progress.phase("checking the result")
	if rep.Tables, err = r.tables(ctx); err != nil {
		return rep, err
	}
	return rep, nil
}

// prepare makes the target database: a new one, or (Replace) one that was
// there dropped first.
func (r *Recoverer) prepare(ctx context.Context) error {
	conn := r.Target
	db, err := conn.OpenDB(r.log(), false)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", conn.Database).Scan(&n); err != nil {
		return fmt.Errorf("recover: look for database %s: %w", sqltext.Ident(conn.Database), err)
	}
	if n > 0 && !r.Replace {
		return fmt.Errorf("%w: %s on %s is left as it is; give --replace to drop it, or recover into another database",
			ErrTargetExists, sqltext.Ident(conn.Database), conn)
	}
	if n > 0 {
		r.log().Warn("dropping the target database (--replace)", "database", conn.Database)
		if _, err := db.ExecContext(ctx, "DROP DATABASE "+sqltext.Ident(conn.Database)); err != nil {
			return fmt.Errorf("recover: drop database %s: %w", sqltext.Ident(conn.Database), err)
		}
	}
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+sqltext.Ident(conn.Database)); err != nil {
		return fmt.Errorf("recover: create database %s: %w", sqltext.Ident(conn.Database), err)
	}
	return nil
}

// matches checks that a backup's head stands where the plan starts.
func matches(p recovery.Plan, head dump.Head) error {
	if head.Binlog != p.From.String() {
		return fmt.Errorf("recover: backup %s: its text says it stands at %q in the binary log, its metadata %q: the metadata was changed; nothing was replayed",
			p.Backup.Name, head.Binlog, p.From)
	}
	if head.Database == "" {
		return fmt.Errorf("recover: backup %s: its header names no database", p.Backup.Name)
	}
	return nil
}

// spool reads b's stored bytes into a file of TempDir that has no name
// (it is gone when closed or when the process dies) and returns it once
// they match the size and sha256 the remote lists for b, which its
// signature covers: nothing of a backup reaches the server before its
// bytes are proven to be the ones published.
func (r *Recoverer) spool(ctx context.Context, b catalog.Backup) (*os.File, error) {
	if b.SHA256 == "" {
		return nil, fmt.Errorf("recover: backup %s records no checksum: it cannot be checked before it runs", b.Name)
	}
	f, err := os.CreateTemp(r.TempDir, "backupd-recover-*")
	if err != nil {
		return nil, fmt.Errorf("recover: spool backup %s: %w (set TMPDIR to a directory with room for it)", b.Name, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("recover: spool backup %s: %w", b.Name, err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	rc, err := r.Backups.Open(ctx, b.Name)
	if err != nil {
		return nil, fmt.Errorf("recover: open backup %s: %w", b.Name, err)
	}
	defer rc.Close()
	var stored *atomic.Int64
	if r.Progress != nil {
		stored = &r.Progress.Stored
	}
	h := sha256.New()
	// One byte more than listed is enough to find it is too long.
	n, err := io.CopyBuffer(io.MultiWriter(f, h), count.NewReader(io.LimitReader(rc, max(b.Size, 0)+1), stored), make([]byte, 1<<20))
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && pe.Op == "write":
		return nil, fmt.Errorf("recover: spool backup %s: %w (set TMPDIR to a directory with room for it)", b.Name, err)
	case err != nil:
		return nil, fmt.Errorf("recover: read backup %s: %w", b.Name, err)
	case n != b.Size:
		return nil, fmt.Errorf("recover: backup %s: stored %w: read %d bytes or more, the remote lists %d; nothing was changed", b.Name, dump.ErrSize, n, b.Size)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, b.SHA256) {
		return nil, fmt.Errorf("recover: backup %s: %w: read %s, recorded %s; nothing was changed", b.Name, dump.ErrChecksum, sum, b.SHA256)
	}
	keep = true
	return f, nil
}

// head reads the start of a spooled backup's text.
func (r *Recoverer) head(f *os.File, b catalog.Backup) (dump.Head, error) {
	st, err := dump.NewStream(io.NewSectionReader(f, 0, b.Size), nil, nil, dump.WithIdentities(r.Identities), dump.Encrypted(b.Encrypted()))
	if err != nil {
		return dump.Head{}, fmt.Errorf("recover: backup %s: %w", b.Name, err)
	}
	defer st.Close()
	text := make([]byte, dump.HeadMax)
	n, err := io.ReadFull(st, text)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return dump.Head{}, fmt.Errorf("recover: read backup %s: %w", b.Name, err)
	}
	return dump.ReadHead(text[:n]), nil
}

// headTee keeps the first bytes of what passes through it.
type headTee struct {
	r    io.Reader
	head []byte
}

func (h *headTee) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if room := dump.HeadMax - len(h.head); room > 0 {
		h.head = append(h.head, p[:min(n, room)]...)
	}
	return n, err
}

// load loads the spooled backup b into the target with the parallel
// loader, as the dump's text says it, and returns the dump's head.
func (r *Recoverer) load(ctx context.Context, f *os.File, b catalog.Backup) (dump.Head, error) {
	var raw *atomic.Int64
	if r.Progress != nil {
		raw = &r.Progress.Raw
	}
	st, err := dump.NewStream(io.NewSectionReader(f, 0, b.Size), nil, raw, dump.WithIdentities(r.Identities), dump.Encrypted(b.Encrypted()))
	if err != nil {
		return dump.Head{}, fmt.Errorf("recover: backup %s: %w", b.Name, err)
	}
	tee := &headTee{r: st}
	// Same family: the dump loads as it was written, no dialect mapped.
	ld := loader.Parallel{Parallel: r.Parallel, Log: r.log()}
	loadErr := ld.LoadWith(ctx, tee, r.Target, loader.Rules{Whole: true})
	if loadErr != nil {
		st.Close()
		return dump.Head{}, fmt.Errorf("recover: load backup %s into %s: %w (the target database holds what was loaded before the error)",
			b.Name, sqltext.Ident(r.Target.Database), loadErr)
	}
	res := st.Finish()
	if p := res.Problems(b); len(p) > 0 {
		return dump.Head{}, fmt.Errorf("recover: backup %s is bad, and the target database holds it: %w", b.Name, errors.Join(p...))
	}
	return dump.ReadHead(tee.head), nil
}

// Bounds of a segment that hold whatever its listing says: a segment the
// stream writes holds up to --binlog-max-segment of events, and one
// transaction's event may be up to binlog.MaxEvent (the server's largest
// packet) on its own. Beyond them a file is refused.
const (
	maxSegmentRaw    = int64(binlog.MaxEvent) + 256<<20
	maxSegmentStored = maxSegmentRaw + maxSegmentRaw/64 + 1<<20 // zstd's worst case, and an age envelope
	// segmentWindow bounds the decoder's window: the stream writes with
	// a 2 MiB one.
	segmentWindow = 8 << 20
)

// spooledSegment is a segment's stored bytes, held to its listing and
// signature, in a file that has no name.
type spooledSegment struct {
	s   binlog.Segment
	f   *os.File
	ids []age.Identity
}

// segment downloads a segment into a file of TempDir that has no name and
// checks it against its listing and signature, then its events
// (binlog.CheckEvents: sizes, checksums, positions, where they end) before
// a byte of it is used. Memory holds one event at a time, whatever the
// listing says.
func (r *Recoverer) segment(ctx context.Context, s binlog.Segment) (*spooledSegment, error) {
	b := s.Backup()
	if err := seal.Problem(b, r.VerifyKeys, r.requireSignature()); err != nil {
		return nil, fmt.Errorf("recover: segment %s: %w", s.Name, err)
	}
	switch {
	case s.SHA256 == "" && (len(r.VerifyKeys) > 0 || r.requireSignature()):
		return nil, fmt.Errorf("recover: segment %s records no checksum", s.Name)
	case s.Size < 0 || s.Size > maxSegmentStored:
		return nil, fmt.Errorf("recover: segment %s: the remote lists %d bytes, more than a segment holds", s.Name, s.Size)
	}
	f, err := os.CreateTemp(r.TempDir, "backupd-segment-*")
	if err != nil {
		return nil, fmt.Errorf("recover: spool segment %s: %w (set TMPDIR to a directory with room for it)", s.Name, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("recover: spool segment %s: %w", s.Name, err)
	}
	sp := &spooledSegment{s: s, f: f, ids: r.Identities}
	keep := false
	defer func() {
		if !keep {
			sp.Close()
		}
	}()
	rc, err := r.Segments.Open(ctx, s.Name)
	if err != nil {
		return nil, fmt.Errorf("recover: open segment %s: %w", s.Name, err)
	}
	h := sha256.New()
	// One byte more than listed is enough to find it is too long.
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(rc, s.Size+1))
	rc.Close()
	var pe *fs.PathError
	switch {
	case errors.As(err, &pe) && pe.Op == "write":
		return nil, fmt.Errorf("recover: spool segment %s: %w (set TMPDIR to a directory with room for it)", s.Name, err)
	case err != nil:
		return nil, fmt.Errorf("recover: read segment %s: %w", s.Name, err)
	case n != s.Size:
		return nil, fmt.Errorf("recover: segment %s: %w: read %d bytes or more, the remote lists %d", s.Name, dump.ErrSize, n, s.Size)
	case s.SHA256 != "" && !strings.EqualFold(hex.EncodeToString(h.Sum(nil)), s.SHA256):
		return nil, fmt.Errorf("recover: segment %s: %w", s.Name, dump.ErrChecksum)
	}
	head := make([]byte, len(seal.Magic))
	m, _ := f.ReadAt(head, 0)
	if s.Encrypted != seal.IsEncrypted(head[:m]) {
		return nil, fmt.Errorf("recover: segment %s: its name and its bytes disagree on encryption", s.Name)
	}
	events, err := sp.open()
	if err != nil {
		return nil, err
	}
	err = binlog.CheckEvents(s, events)
	if cerr := events.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	keep = true
	return sp, nil
}

// open reads the segment's events from the start: decrypted,
// decompressed, held to the raw size its listing records.
func (sp *spooledSegment) open() (io.ReadCloser, error) {
	s := sp.s
	var src io.Reader = io.NewSectionReader(sp.f, 0, s.Size)
	if s.Encrypted {
		var err error
		if src, err = seal.Decrypt(src, sp.ids); err != nil {
			return nil, fmt.Errorf("recover: segment %s: %w", s.Name, err)
		}
	}
	z, err := zstd.NewReader(src, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(segmentWindow),
		zstd.WithDecoderMaxMemory(uint64(maxSegmentRaw)))
	if err != nil {
		return nil, fmt.Errorf("recover: segment %s: %w", s.Name, err)
	}
	return &segmentEvents{s: s, z: z, r: io.LimitReader(z, maxSegmentRaw+1)}, nil
}

// Close removes the spooled bytes.
func (sp *spooledSegment) Close() error { return sp.f.Close() }

// segmentEvents are a segment's events as they are decompressed: its end
// is an error when their size is not the one recorded, or larger than a
// segment holds.
type segmentEvents struct {
	s binlog.Segment
	z *zstd.Decoder
	r io.Reader
	n int64
}

func (e *segmentEvents) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	e.n += int64(n)
	if e.n > maxSegmentRaw {
		return n, fmt.Errorf("segment %s: more than %d bytes of events", e.s.Name, maxSegmentRaw)
	}
	if errors.Is(err, io.EOF) && e.s.RawSize >= 0 && e.n != e.s.RawSize {
		return n, fmt.Errorf("segment %s: %w: %d bytes of events, %d recorded", e.s.Name, dump.ErrSize, e.n, e.s.RawSize)
	}
	if err != nil && !errors.Is(err, io.EOF) {
		err = fmt.Errorf("segment %s: decompress: %w", e.s.Name, err)
	}
	return n, err
}

func (e *segmentEvents) Close() error {
	e.z.Close()
	return nil
}

// replay runs the plan's segments through the gate, the binary log tool
// and the client into the target.
func (r *Recoverer) replay(ctx context.Context, p recovery.Plan, source, binTool, client string, first *spooledSegment, rep *Report) error {
	log := r.log()
	foreign, err := r.databases(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Commits as the load makes them, where the account may: a replay
	// that a crash interrupts is started again whole.
	db, err := r.Target.OpenDB(log, false)
	if err != nil {
		return fmt.Errorf("recover: %w", err)
	}
	defer db.Close()
	defer loader.RelaxCommits(ctx, db, log, "the replay")()
	tool, err := r.pipeline(ctx, binTool, client)
	if err != nil {
		return err
	}
	rp, err := binlog.NewReplay(tool.in, binlog.ReplayOptions{Database: source, Target: r.Target.Database, Foreign: foreign,
		From: p.From, Until: p.Target})
	if err != nil {
		tool.abort()
		return fmt.Errorf("recover: %w", err)
	}
	var feedErr error
	for i, s := range p.Segments {
		sp := first
		if i > 0 {
			if sp, feedErr = r.segment(ctx, s); feedErr != nil {
				break
			}
		}
		feedErr = feed(rp, sp)
		if i > 0 {
			sp.Close()
		}
		if feedErr == nil || errors.Is(feedErr, io.EOF) {
			rep.Segments++
			if r.Progress != nil {
				r.Progress.Segments.Add(1)
				r.Progress.Reached.Store(s.Last.Unix())
			}
		}
		if feedErr != nil {
			break
		}
	}
	res, closeErr := rp.Close()
	rep.Result = res
	toolErr := tool.finish()
	var stop *binlog.StopError
	switch {
	case toolErr != nil:
		return fmt.Errorf("recover: replay into %s failed after %s: %w", sqltext.Ident(r.Target.Database), res.End, toolErr)
	case closeErr != nil:
		return fmt.Errorf("recover: replay: %w", closeErr)
	case errors.As(feedErr, &stop):
		rep.Stopped = stop
		log.Warn("replay stopped before a transaction it does not run", "at", stop.At.String(), "kind", stop.Kind, "reason", stop.Reason)
		return nil
	case feedErr != nil && !errors.Is(feedErr, io.EOF):
		return feedErr
	}
	return nil
}

// feed replays a checked segment's events.
func feed(rp *binlog.Replay, sp *spooledSegment) error {
	events, err := sp.open()
	if err != nil {
		return err
	}
	defer events.Close()
	return rp.Segment(sp.s, events)
}

// databases are the target server's databases other than the target, as
// the account sees them: no statement replayed may name them.
func (r *Recoverer) databases(ctx context.Context) ([]string, error) {
	db, err := r.Target.OpenDB(r.log(), false)
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, fmt.Errorf("recover: list databases: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("recover: list databases: %w", err)
		}
		if n != r.Target.Database {
			out = append(out, n)
		}
	}
	return out, rows.Err()
}

// tables counts the recovered database's base tables.
func (r *Recoverer) tables(ctx context.Context) (int, error) {
	db, err := r.Target.OpenDB(r.log(), false)
	if err != nil {
		return 0, fmt.Errorf("recover: %w", err)
	}
	defer db.Close()
	var n sql.NullInt64
	err = db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'", r.Target.Database).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("recover: count the recovered tables: %w", err)
	}
	return int(n.Int64), nil
}

// pipe is the binary log tool feeding the client.
type pipe struct {
	in     io.WriteCloser
	tool   *mariadb.Cmd
	client *mariadb.Cmd
}

// pipeline starts binTool reading a binary log from its standard input,
// its statements going to client, connected to the target database.
func (r *Recoverer) pipeline(ctx context.Context, binTool, client string) (*pipe, error) {
	tool, err := mariadb.ToolVersion(ctx, binTool)
	if err != nil {
		tool = mariadb.Tool{}
	}
	var flags []string
	if tool.MariaDB || strings.Contains(tool.Line, "mariadb-binlog") {
		// The replayed transactions' GTIDs are checked by the gate's
		// positions, not by the tool's strict mode.
		flags = append(flags, "--skip-gtid-strict-mode")
	} else {
		// The target assigns its own GTIDs: it may not have GTIDs on, and
		// the source's would collide with its own history. Nor does it
		// log the replay (sql_log_bin=0, which SESSION_VARIABLES_ADMIN
		// allows): a commit then costs one flush, not two; a new binary
		// log starts with the first backup taken of it. (MariaDB asks
		// BINLOG ADMIN for that, and logs nothing unless started with
		// --log-bin.)
		flags = append(flags, "--skip-gtids", "--disable-log-bin")
	}
	bt := mariadb.LocalCommand(ctx, binTool, append(flags, "-")...)
	in, err := bt.Cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	bt.Cmd.Stdout = pw
	// --local-infile=0: no statement the client is given can make it
	// read a file of this machine.
	cl, err := r.Target.Command(ctx, r.TempDir, client, "--binary-mode", "--local-infile=0", "--", r.Target.Database)
	if err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	cl.Cmd.Stdin = pr
	if err := cl.Start(); err != nil {
		pr.Close()
		pw.Close()
		return nil, err
	}
	if err := bt.Cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		_ = cl.Cmd.Process.Kill()
		_ = cl.Wait()
		return nil, fmt.Errorf("start %s: %w", bt.Name, err)
	}
	// The children hold their ends.
	pr.Close()
	pw.Close()
	return &pipe{in: in, tool: bt, client: cl}, nil
}

// finish ends the input and waits for both: the client's failure is the
// most telling, then the tool's.
func (p *pipe) finish() error {
	inErr := p.in.Close()
	toolErr := p.tool.Wait()
	clientErr := p.client.Wait()
	switch {
	case clientErr != nil:
		return clientErr
	case toolErr != nil:
		return toolErr
	case inErr != nil && !errors.Is(inErr, os.ErrClosed):
		return inErr
	}
	return nil
}

// abort stops both.
func (p *pipe) abort() {
	_ = p.in.Close()
	_ = p.tool.Cmd.Process.Kill()
	_ = p.client.Cmd.Process.Kill()
	_ = p.tool.Wait()
	_ = p.client.Wait()
}

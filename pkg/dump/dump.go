// Package dump takes a dump and reads one back.
//
// Dumper runs mariadb-dump (or mysqldump), compresses its output in-process
// with zstd and writes it to an io.Writer, hashing and counting on the way.
// NewReader decompresses a stored dump (zstd, or the legacy scripts' gzip),
// and Check reads one to its end and says whether it is complete. A dump is good only when the tool exited 0, its text ends with the
// "-- Dump completed" trailer and the encoder closed cleanly; anything else
// is an error, so that a truncated dump can never be published.
package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/internal/mariadb"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sys/unix"
)

// Trailer starts the last line mysqldump and mariadb-dump write when they
// finish a dump.
const Trailer = "-- Dump completed"

// Flags are the options every backup dump runs with: a consistent snapshot
// without locking the app out, rows streamed rather than buffered, and the
// schema objects beside the tables.
var Flags = []string{
	"--single-transaction",
	"--quick",
	"--lock-tables=false",
	"--routines",
	"--triggers",
	"--events",
	"--default-character-set=utf8mb4",
	// A dump of one database needs no tablespace definitions, and
	// reading them needs PROCESS on MySQL 8.0.21 on (Oracle's tool and
	// MariaDB's alike fail without it).
	"--no-tablespaces",
}

// Limits of the dump tool's client-side packet size (its
// --max-allowed-packet): a row larger than it stops the dump with "Error
// 2013: Lost connection ... when dumping table ... at row: N". The tools'
// own default is 16 MiB; backupd's is the tools' maximum, 1 GiB, which only
// costs memory when such a row exists.
const (
	DefaultMaxAllowedPacket int64 = 1 << 30
	MinMaxAllowedPacket     int64 = 4 << 10
	MaxMaxAllowedPacket     int64 = 1 << 30
)

// Stream settings: what the dump tool writes into, and how the stream is
// compressed.
const (
	// PipeSize is the capacity of the pipe the dump tool writes into
	// (F_SETPIPE_SZ; the kernel's default is 64 KiB, its limit for a
	// process without privileges 1 MiB). The tool writes 4 KiB at a
	// time: a larger pipe lets it run ahead while the encoder works, and
	// the encoder then reads up to a block at once, so both sides wake
	// less often.
	PipeSize = 1 << 20
	// WindowSize is the zstd window: the history a decoder keeps, as
	// zstd -3 does (2 MiB).
	WindowSize = 2 << 20
)

// DefaultLevel is the zstd level of a Dumper that names none: klauspost's
// fastest, whose small tables stay in the CPU's caches while the dump tool
// runs on the same core; klauspost's default level spends 1.6 to 1.8 times
// its CPU there (see docs/performance.md).
const DefaultLevel = zstd.SpeedFastest

// Dumper runs one dump program against one database.
type Dumper struct {
	Program string // path or name of mariadb-dump or mysqldump
	Conn    mariadb.Conn
	Level   zstd.EncoderLevel // zero means DefaultLevel
	// MaxAllowedPacket is the largest row the dump tool accepts, in bytes
	// (its --max-allowed-packet); zero means DefaultMaxAllowedPacket. The
	// server's own max_allowed_packet must be as large for such a row.
	MaxAllowedPacket int64
	TempDir          string // where stale option files of older versions are swept; "" is the system default
	Log              *slog.Logger
	// Coordinates asks the dump tool for the binary log coordinates of
	// its snapshot (CoordFlags), recorded in Result.Binlog. A server
	// without a binary log, or an account without the privileges they
	// need, gives a dump without them (Result.BinlogProblem says why).
	Coordinates bool
}

// Counters are updated while a dump runs, for progress reports. They may be
// read concurrently.
type Counters struct {
	Raw    atomic.Int64 // SQL bytes read from the dump program
	Stored atomic.Int64 // compressed bytes written
}

// Result describes a finished, good dump.
type Result struct {
	RawBytes    int64
	StoredBytes int64
	SHA256      string // hex, of the stored (compressed) bytes
	Tables      int64  // table definitions in the dump (see ObjectCounter)
	Duration    time.Duration
	// Source is the dumped server's flavour and version ("MySQL
	// 8.0.36"), for catalog.MetaSource; "" when the server did not say.
	Source string
	// Binlog is where the dump stands in the server's binary log; zero
	// when it was not asked for or could not be had, and then
	// BinlogProblem says why (when it was asked for).
	Binlog        Coordinates
	BinlogProblem string
}

// ErrNoTrailer means the dump program exited 0 but its output did not end
// with the completion trailer, so the dump cannot be trusted.
var ErrNoTrailer = errors.New(`dump is incomplete: output does not end with "` + Trailer + `"`)

// Dump runs the dump program and writes the compressed dump to w. On error
// nothing about w's content may be trusted; the caller must discard it.
// Cancelling ctx kills the dump program.
func (d *Dumper) Dump(ctx context.Context, w io.Writer, c *Counters) (Result, error) {
	start := time.Now()
	if c == nil {
		c = new(Counters)
	}
	log := d.logger()
	prog, err := d.program()
	if err != nil {
		return Result{}, err
	}
	packet := d.packet()
	// What the tool and the server need of each other (Oracle's
	// mysqldump against MariaDB, or against a MySQL server with GTIDs).
	// One connection of its own asks the server before the dump and
	// after it (see mariadb.Session).
	sess, err := d.Conn.Session(log)
	if err != nil {
		return Result{}, fmt.Errorf("dump: %w", err)
	}
	defer sess.Close()
	pair, conn, err := pairOn(ctx, sess, d.Conn, prog, log)
	if ctx.Err() != nil {
		return Result{}, fmt.Errorf("dump cancelled: %w", context.Cause(ctx))
	}
	if err != nil {
		return Result{}, err
	}
	// What the database holds, as the account sees it: a dump that would
	// leave something out for want of a grant is not begun.
	before, err := takeInventory(ctx, sess.DB, conn, pair.Server)
	if err != nil {
		return Result{}, fmt.Errorf("dump: %w", err)
	}
	if err := before.Problem(conn.Database); err != nil {
		return Result{}, err
	}
	var coord []string
	src, problem := d.binlogSource(ctx, conn, log)
	if problem == "" {
		coord = CoordFlags(pair.Tool)
	}
	res, err := d.run(ctx, w, c, start, prog, packet, pair, sess.DB, conn, before.Objects, coord, src.Identity)
	if errors.Is(err, errCoordPrivileges) {
		// Nothing was written yet: the dump runs again without them.
		problem = err.Error()
		log.Warn("no binary log coordinates: the backup will not be usable for point-in-time recovery", "reason", problem)
		res, err = d.run(ctx, w, c, start, prog, packet, pair, sess.DB, conn, before.Objects, nil, "")
	}
	if err == nil && d.Coordinates && res.Binlog.IsZero() {
		if problem == "" {
			problem = "the dump tool printed no binary log coordinates"
		}
		res.BinlogProblem = problem
	}
	return res, err
}

// binlogSource asks the server about its binary log when the dump is to
// record its coordinates; problem says why it cannot (not asked for, no
// binary log).
func (d *Dumper) binlogSource(ctx context.Context, conn mariadb.Conn, log *slog.Logger) (src mariadb.BinlogSource, problem string) {
	if !d.Coordinates {
		return src, "not asked for"
	}
	src, err := conn.Binlog(ctx, log)
	switch {
	case err != nil:
		return src, fmt.Sprintf("could not ask the server about its binary log: %v", err)
	case !src.Enabled:
		return src, "the server writes no binary log (log_bin is OFF)"
	}
	return src, ""
}

// run runs the dump tool once, with the coordinate flags coord (none:
// without coordinates), and holds what it dumped to before (the
// inventory taken before it) and to what db (the run's session) shows
// after it. With coordinates, the start of the tool's
// output is held back until it has printed them: a tool that fails
// before that for want of privileges is an error wrapping
// errCoordPrivileges, and nothing was written to w.
func (d *Dumper) run(ctx context.Context, w io.Writer, c *Counters, start time.Time, prog string, packet int64, pair Pairing, db *sql.DB, conn mariadb.Conn, before Objects, coord []string, server string) (Result, error) {
	log := d.logger()
	args := append(append(append(append([]string(nil), Flags...), pair.Flags...), coord...),
		"--max-allowed-packet="+strconv.FormatInt(packet, 10), "--", conn.Database)
	cmd, err := conn.Command(ctx, d.TempDir, prog, args...)
	if err != nil {
		return Result{}, err
	}
	defer cmd.Close()
	stdout, err := cmd.Cmd.StdoutPipe()
	if err != nil {
		return Result{}, fmt.Errorf("dump: %w", err)
	}
	growPipe(stdout, log)
	buffered := cmd.BufferStdout(PipeSize)
	log.Debug("starting dump", "program", prog, "conn", conn.String(), "stdout_buffered", buffered)
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	var src io.Reader = stdout
	var (
		hd      head
		waited  bool
		waitErr error
	)
	if coord != nil {
		hd, err = readHead(stdout, time.Now)
		switch {
		case err == nil && hd.ended:
			// The whole output is held: the tool has exited.
			waited, waitErr = true, cmd.Wait()
			if hd.pos == "" && coordDenied(waitErr) {
				return Result{}, fmt.Errorf("%w: %v", errCoordPrivileges, waitErr)
			}
			src = bytes.NewReader(hd.held)
		default:
			src = io.MultiReader(bytes.NewReader(hd.held), stdout)
		}
	}

	level := d.Level
	if level == 0 {
		level = DefaultLevel
	}
	hash := sha256.New()
	out := count.NewWriter(io.MultiWriter(w, hash), &c.Stored)
	// One goroutine: a second would only hand blocks over on a machine
	// whose other core serves the app.
	enc, err := zstd.NewWriter(out, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(WindowSize))
	if err != nil {
		if !waited {
			_ = cmd.Cmd.Process.Kill()
			_ = cmd.Wait()
		}
		return Result{}, fmt.Errorf("zstd encoder: %w", err)
	}
	tail := &mariadb.Tail{Max: 256}
	objects := &ObjectCounter{}
	// The encoder reads the tool's output straight into its block buffer;
	// the trailer check, the object count and the counter look on.
	_, copyErr := enc.ReadFrom(&observer{r: src, n: &c.Raw, seen: []io.Writer{tail, objects}})
	if copyErr != nil {
		// The consumer failed (an upload error): stop the dump at once.
		_ = cmd.Cmd.Process.Kill()
	}
	if !waited {
		waitErr = cmd.Wait()
	}
	closeErr := enc.Close()

	switch {
	case ctx.Err() != nil:
		return Result{}, fmt.Errorf("dump cancelled: %w", context.Cause(ctx))
	case copyErr != nil:
		return Result{}, fmt.Errorf("write dump: %w", copyErr)
	case waitErr != nil:
		return Result{}, waitErr
	case closeErr != nil:
		return Result{}, fmt.Errorf("finish zstd stream: %w", closeErr)
	case !HasTrailer(tail.Bytes()):
		return Result{}, ErrNoTrailer
	}
	if err := d.compare(ctx, db, conn, pair.Server, objects.Objects, before, log); err != nil {
		return Result{}, err
	}
	res := Result{
		RawBytes:    c.Raw.Load(),
		StoredBytes: c.Stored.Load(),
		SHA256:      hex.EncodeToString(hash.Sum(nil)),
		Tables:      objects.Tables,
		Duration:    time.Since(start),
		Source:      Source(pair.Server),
	}
	if hd.pos != "" {
		res.Binlog = Coordinates{Pos: hd.pos, Server: server, At: hd.at.UTC()}
	}
	return res, nil
}

// compare holds what a finished dump holds to what information_schema
// showed the account before it and shows it now (an object created or
// dropped while the dump ran is in one of the two only). A second
// inventory that fails is logged, and the first stands alone.
func (d *Dumper) compare(ctx context.Context, db *sql.DB, conn mariadb.Conn, srv mariadb.Server, dumped, before Objects, log *slog.Logger) error {
	seen := []Objects{before}
	after, err := takeInventory(ctx, db, conn, srv)
	if err != nil {
		log.Warn("could not count the database's objects after the dump; comparing with the count before it", "err", err)
	} else {
		seen = append(seen, after.Objects)
	}
	log.Debug("dump holds", "objects", dumped.String(), "seen", before.String())
	return compareObjects(conn.Database, dumped, seen...)
}

func (d *Dumper) logger() *slog.Logger {
	if d.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Log
}

// program is the dump program to run, after checking that there is a
// database to dump and a packet size in range.
func (d *Dumper) program() (string, error) {
	if d.Conn.Database == "" {
		return "", errors.New("dump: no database named")
	}
	if p := d.packet(); p < MinMaxAllowedPacket || p > MaxMaxAllowedPacket {
		return "", fmt.Errorf("dump: max allowed packet %d is out of range: give %d to %d bytes (4K to 1G)",
			p, MinMaxAllowedPacket, MaxMaxAllowedPacket)
	}
	if d.Program != "" {
		return d.Program, nil
	}
	p, err := mariadb.FindTool("mariadb-dump", "mysqldump")
	if err != nil {
		return "", fmt.Errorf("find dump program: %w", err)
	}
	return p, nil
}

func (d *Dumper) packet() int64 {
	if d.MaxAllowedPacket == 0 {
		return DefaultMaxAllowedPacket
	}
	return d.MaxAllowedPacket
}

// observer is a reader that shows what it reads to seen and counts it.
type observer struct {
	r    io.Reader
	n    *atomic.Int64
	seen []io.Writer // must not fail
}

func (o *observer) Read(p []byte) (int, error) {
	n, err := o.r.Read(p)
	for _, w := range o.seen {
		_, _ = w.Write(p[:n])
	}
	o.n.Add(int64(n))
	return n, err
}

// growPipe sets the capacity of the pipe the dump tool writes into to
// PipeSize. A failure (the user's pipe buffers are exhausted) only costs
// speed.
func growPipe(r io.Reader, log *slog.Logger) {
	f, ok := r.(*os.File)
	if !ok {
		return
	}
	sc, err := f.SyscallConn()
	if err == nil {
		// Control, not Fd: Fd could make reads blocking.
		cerr := sc.Control(func(fd uintptr) {
			_, err = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, PipeSize)
		})
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		log.Debug("could not enlarge the dump's pipe", "size", PipeSize, "err", err)
	}
}

// HasTrailer reports whether the end of a dump's text is the completion
// trailer line.
func HasTrailer(end []byte) bool {
	end = bytes.TrimRight(end, "\r\n \t")
	i := bytes.LastIndexByte(end, '\n')
	return bytes.HasPrefix(end[i+1:], []byte(Trailer))
}

// ParseSize reads a byte count for a setting such as --max-allowed-packet:
// a number of bytes, or one with the suffix K, M or G (powers of 1024, as
// the MariaDB tools read them), for example "1G" or "64M".
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	if n := len(t); n > 0 {
		switch t[n-1] {
		case 'k', 'K':
			mult, t = 1<<10, t[:n-1]
		case 'm', 'M':
			mult, t = 1<<20, t[:n-1]
		case 'g', 'G':
			mult, t = 1<<30, t[:n-1]
		}
	}
	v, err := strconv.ParseInt(t, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("size %q: give a number of bytes, or one ending in K, M or G (for example 1G)", s)
	}
	return v * mult, nil
}

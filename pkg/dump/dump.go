// Package dump turns a MariaDB database into a compressed stream and back.
//
// The backup side runs mariadb-dump (or mysqldump), compresses its output
// in-process with zstd and writes it to an io.Writer, hashing and counting on
// the way. A dump is good only when the tool exited 0, its text ends with the
// "-- Dump completed" trailer and the encoder closed cleanly; anything else
// is an error, so that a truncated dump can never be published.
package dump

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"
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
}

// Dumper runs one dump program against one database.
type Dumper struct {
	Program string // path or name of mariadb-dump or mysqldump
	Conn    Conn
	Level   zstd.EncoderLevel // zero means zstd.SpeedDefault
	TempDir string            // for the 0600 option file; "" is the system default
	Log     *slog.Logger
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
	Duration    time.Duration
}

// ExitError is a dump program that failed. Stderr holds the end of what it
// wrote to its standard error.
type ExitError struct {
	Program string
	State   string // "exit status 2", "signal: killed", ...
	Stderr  string
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s failed (%s)", e.Program, e.State)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
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
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	prog := d.Program
	if prog == "" {
		p, err := FindTool("mariadb-dump", "mysqldump")
		if err != nil {
			return Result{}, fmt.Errorf("find dump program: %w", err)
		}
		prog = p
	}
	if d.Conn.Database == "" {
		return Result{}, errors.New("dump: no database named")
	}
	cnf, remove, err := d.Conn.DefaultsFile(d.TempDir)
	if err != nil {
		return Result{}, err
	}
	defer remove()

	args := append([]string{"--defaults-extra-file=" + cnf}, Flags...)
	args = append(args, "--", d.Conn.Database)
	cmd := exec.CommandContext(ctx, prog, args...)
	// Its own process group keeps a terminal's Ctrl-C away from the dump
	// program: backupd decides when to stop it (after a shutdown grace).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = ChildEnv()
	stderr := &Tail{Max: 4096}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, fmt.Errorf("dump: %w", err)
	}
	log.Debug("starting dump", "program", prog, "conn", d.Conn.String())
	if err := cmd.Start(); err != nil {
		return Result{}, fmt.Errorf("start %s: %w", prog, err)
	}

	level := d.Level
	if level == 0 {
		level = zstd.SpeedDefault
	}
	hash := sha256.New()
	out := &countWriter{w: io.MultiWriter(w, hash), n: &c.Stored}
	enc, err := zstd.NewWriter(out, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(2))
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return Result{}, fmt.Errorf("zstd encoder: %w", err)
	}
	tail := &Tail{Max: 256}
	raw := &countWriter{w: io.MultiWriter(enc, tail), n: &c.Raw}
	_, copyErr := io.CopyBuffer(raw, stdout, make([]byte, 256<<10))
	if copyErr != nil {
		// The consumer failed (an upload error): stop the dump at once.
		_ = cmd.Process.Kill()
	}
	waitErr := cmd.Wait()
	closeErr := enc.Close()

	name := programName(prog)
	switch {
	case ctx.Err() != nil:
		return Result{}, fmt.Errorf("dump cancelled: %w", context.Cause(ctx))
	case copyErr != nil:
		return Result{}, fmt.Errorf("write dump: %w", copyErr)
	case waitErr != nil:
		var ee *exec.ExitError
		if errors.As(waitErr, &ee) {
			return Result{}, &ExitError{Program: name, State: ee.ProcessState.String(), Stderr: LastLines(stderr.String(), 5)}
		}
		return Result{}, fmt.Errorf("wait for %s: %w", name, waitErr)
	case closeErr != nil:
		return Result{}, fmt.Errorf("finish zstd stream: %w", closeErr)
	case !HasTrailer(tail.Bytes()):
		return Result{}, ErrNoTrailer
	}
	return Result{
		RawBytes:    c.Raw.Load(),
		StoredBytes: c.Stored.Load(),
		SHA256:      hex.EncodeToString(hash.Sum(nil)),
		Duration:    time.Since(start),
	}, nil
}

// HasTrailer reports whether the end of a dump's text is the completion
// trailer line.
func HasTrailer(end []byte) bool {
	end = bytes.TrimRight(end, "\r\n \t")
	i := bytes.LastIndexByte(end, '\n')
	return bytes.HasPrefix(end[i+1:], []byte(Trailer))
}

func programName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

// LastLines returns the last n non-empty lines of s joined by " | ", to
// quote a tool's standard error in one line.
func LastLines(s string, n int) string {
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

type countWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// Tail is an io.Writer that keeps only the last Max bytes written to it.
type Tail struct {
	Max int
	buf []byte
}

func (t *Tail) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.Max {
		t.buf = append(t.buf[:0], p[len(p)-t.Max:]...)
		return n, nil
	}
	if over := len(t.buf) + len(p) - t.Max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return n, nil
}

// Bytes returns the kept bytes; the slice is valid until the next Write.
func (t *Tail) Bytes() []byte { return t.buf }

func (t *Tail) String() string { return string(t.buf) }

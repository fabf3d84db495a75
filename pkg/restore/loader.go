package restore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/backupd/backupd/pkg/dump"
)

// Loader runs the SQL text of a dump against the database conn names
// (conn.Database, the staging database). It returns when the load has
// finished or failed. It must read r to its end on success, and must fail
// when reading r fails, so that a corrupt stream never counts as loaded.
type Loader interface {
	Load(ctx context.Context, r io.Reader, conn dump.Conn) error
}

// LoaderFunc adapts a function to Loader.
type LoaderFunc func(ctx context.Context, r io.Reader, conn dump.Conn) error

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, r io.Reader, conn dump.Conn) error {
	return f(ctx, r, conn)
}

var (
	_ Loader = ClientLoader{}
	_ Loader = ParallelLoader{}
)

// ParallelLoader loads the dump over several connections with dump.Load:
// tables and their data in parallel, views, triggers, routines and events
// after all data. It is the default.
type ParallelLoader struct {
	Parallel int // connections for data; 0 means the number of CPUs, at least 2
	Log      *slog.Logger
}

// Load runs dump.Load into conn.Database.
func (l ParallelLoader) Load(ctx context.Context, r io.Reader, conn dump.Conn) error {
	_, err := dump.Load(ctx, r, conn, dump.LoadOptions{Parallel: l.Parallel, Log: l.Log})
	return err
}

// ClientLoader pipes the SQL into the mariadb (or mysql) command-line
// client, one connection, stopping at the first error. The password goes
// through a 0600 option file, never the command line. --binary-mode keeps
// the client from interpreting its own commands (such as \! shell) inside
// the dump.
type ClientLoader struct {
	Program string // path or name of the client; "" finds mariadb, else mysql
	TempDir string // for the option file; "" is the system default
	Log     *slog.Logger
}

// ClientError is a client that exited with an error. Code is the MariaDB
// error number from its last "ERROR nnnn" line, 0 when there is none.
type ClientError struct {
	Program string
	State   string // "exit status 1", "signal: killed", ...
	Code    int
	Stderr  string
}

func (e *ClientError) Error() string {
	msg := fmt.Sprintf("%s failed (%s)", e.Program, e.State)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Unreachable reports whether the client could not reach the server or
// lost it (client-side errors 2000-2999), as opposed to the server
// rejecting a statement of the dump.
func (e *ClientError) Unreachable() bool { return e.Code >= 2000 && e.Code < 3000 }

var errorLine = regexp.MustCompile(`(?m)^ERROR (\d{4}).*$`)

// clientError describes a failed client from its standard error. The
// client echoes the failing statement before its ERROR line, and that may
// be a long INSERT full of data: only the ERROR line is kept when there is
// one, and at most a few hundred bytes in any case.
func clientError(program, state, stderr string) *ClientError {
	ce := &ClientError{Program: program, State: state}
	if m := errorLine.FindAllStringSubmatch(stderr, -1); len(m) > 0 {
		last := m[len(m)-1]
		ce.Code, _ = strconv.Atoi(last[1])
		ce.Stderr = last[0]
	} else {
		ce.Stderr = dump.LastLines(stderr, 3)
	}
	if len(ce.Stderr) > 300 {
		i := 300
		for i > 0 && !utf8.RuneStart(ce.Stderr[i]) {
			i--
		}
		ce.Stderr = ce.Stderr[:i] + "..."
	}
	return ce
}

// Load runs the client on the staging database and feeds it r.
func (l ClientLoader) Load(ctx context.Context, r io.Reader, conn dump.Conn) error {
	prog := l.Program
	if prog == "" {
		p, err := dump.FindTool("mariadb", "mysql")
		if err != nil {
			return fmt.Errorf("find database client: %w", err)
		}
		prog = p
	}
	if conn.Database == "" {
		return errors.New("load: no database named")
	}
	cnf, remove, err := conn.DefaultsFile(l.TempDir)
	if err != nil {
		return err
	}
	defer remove()
	args := []string{
		"--defaults-extra-file=" + cnf,
		"--default-character-set=utf8mb4",
		"--binary-mode",
		// The client's own limit (16 MiB by default) must not be the one
		// that stops a long extended INSERT; the server's still applies.
		"--max-allowed-packet=1G",
		"--", conn.Database,
	}
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = dump.ChildEnv()
	stderr := &dump.Tail{Max: 8192}
	cmd.Stderr = stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if l.Log != nil {
		l.Log.Debug("starting database client", "program", prog, "conn", conn.String())
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", prog, err)
	}
	src := &readErrReader{r: r}
	_, copyErr := io.CopyBuffer(stdin, src, make([]byte, 256<<10))
	if src.err != nil {
		// The dump is bad: make sure the client does not take a cut-off
		// stream for the whole dump.
		_ = cmd.Process.Kill()
	}
	_ = stdin.Close()
	waitErr := cmd.Wait()

	name := prog[strings.LastIndexByte(prog, '/')+1:]
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("load cancelled: %w", context.Cause(ctx))
	case src.err != nil:
		return fmt.Errorf("read dump: %w", src.err)
	case waitErr != nil:
		var ee *exec.ExitError
		if !errors.As(waitErr, &ee) {
			return fmt.Errorf("wait for %s: %w", name, waitErr)
		}
		return clientError(name, ee.ProcessState.String(), stderr.String())
	case copyErr != nil:
		return fmt.Errorf("%s stopped reading the dump: %w", name, copyErr)
	}
	return nil
}

// readErrReader remembers the error its reader returned, so that a failed
// source can be told from a client that stopped reading.
type readErrReader struct {
	r   io.Reader
	err error
}

func (e *readErrReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		e.err = err
	}
	return n, err
}

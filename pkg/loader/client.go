package loader

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// Loader runs the SQL text of a dump against the database conn names
// (conn.Database). It returns when the load has finished or failed. It reads
// r to its end on success, and fails when reading r fails, so that a
// corrupt stream never counts as loaded.
type Loader interface {
	Load(ctx context.Context, r io.Reader, conn mariadb.Conn) error
}

// Parallel loads the dump over several connections with Load: tables and
// their data in parallel, views, triggers, routines and events after all
// data.
type Parallel struct {
	Parallel int // connections for data; 0 means the number of CPUs, at least 2
	Log      *slog.Logger
	TextMin  int // Options.TextMin: the smallest data statement run as LOAD DATA
}

// Load runs Load into conn.Database.
func (l Parallel) Load(ctx context.Context, r io.Reader, conn mariadb.Conn) error {
	return l.LoadWith(ctx, r, conn, Rules{})
}

// LoadWith runs Load into conn.Database with the gate's rules.
func (l Parallel) LoadWith(ctx context.Context, r io.Reader, conn mariadb.Conn, rules Rules) error {
	_, err := Load(ctx, r, conn, Options{Parallel: l.Parallel, Log: l.Log, Rules: rules, TextMin: l.TextMin})
	return err
}

// Client runs the dump through the mariadb (or mysql) command-line client,
// one connection, stopping at the first error. The client is fed the
// statements sqltext.Gate lets through, one by one, each followed by a
// delimiter that does not occur in it, so that the client runs exactly the
// statements the gate read. It starts the client through
// mariadb.Conn.Command (option file, filtered environment) with
// --binary-mode, which keeps it from interpreting its own commands (such as
// \! shell), --local-infile=0, so that no statement can make it send a
// local file, and --comments, so that the server gets the statements as
// the gate read them.
type Client struct {
	Program string // path or name of the client; "" finds mariadb, else mysql
	TempDir string // for the option file; "" is the system default
	Log     *slog.Logger
}

// Load runs the client on conn.Database and feeds it the statements of r
// that the gate lets through. A client that failed is a *mariadb.ToolError;
// a statement the gate refused is a *sqltext.RefusedError, and the client
// is stopped before it gets that statement.
func (l Client) Load(ctx context.Context, r io.Reader, conn mariadb.Conn) error {
	return l.LoadWith(ctx, r, conn, Rules{})
}

// LoadWith is Load with the gate's rules.
func (l Client) LoadWith(ctx context.Context, r io.Reader, conn mariadb.Conn, rules Rules) error {
	prog := l.Program
	if prog == "" {
		p, err := mariadb.FindTool("mariadb", "mysql")
		if err != nil {
			return fmt.Errorf("find database client: %w", err)
		}
		prog = p
	}
	if conn.Database == "" {
		return errors.New("load: no database named")
	}
	db, err := conn.OpenDB(l.Log, true)
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	srv, err := askServer(ctx, db, conn, rules)
	db.Close()
	if err != nil {
		return err
	}
	cmd, err := conn.Command(ctx, l.TempDir, prog,
		"--default-character-set=utf8mb4",
		"--binary-mode",
		"--local-infile=0",
		"--comments",
		// The client's own limit (16 MiB by default) must not be the one
		// that stops a long extended INSERT; the server's still applies.
		"--max-allowed-packet=1G",
		"--", conn.Database,
	)
	if err != nil {
		return err
	}
	defer cmd.Close()
	stdin, err := cmd.Cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("load: %w", err)
	}
	if l.Log != nil {
		l.Log.Debug("starting database client", "program", prog, "conn", conn.String())
	}
	if err := cmd.Start(); err != nil {
		return err
	}
	src := &readErrReader{r: r}
	gateErr, copyErr := feed(stdin, srv.gate(src, nil, rules, false))
	if gateErr != nil {
		// The dump is bad: make sure the client runs nothing more, and
		// does not take a cut-off stream for the whole dump.
		_ = cmd.Cmd.Process.Kill()
	}
	_ = stdin.Close()
	waitErr := cmd.Wait()

	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("load cancelled: %w", context.Cause(ctx))
	case src.err != nil:
		return fmt.Errorf("read dump: %w", src.err)
	case gateErr != nil:
		return fmt.Errorf("load dump: %w", gateErr)
	case waitErr != nil:
		return waitErr
	case copyErr != nil:
		return fmt.Errorf("%s stopped reading the dump: %w", cmd.Name, copyErr)
	}
	return nil
}

// feed writes the statements the gate lets through to w, as the client
// reads them. gateErr is the gate's or the splitter's error, copyErr a
// failed write.
func feed(w io.Writer, gate statements) (gateErr, copyErr error) {
	bw := bufio.NewWriterSize(w, 256<<10)
	delim := ";"
	for {
		st, err := gate.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err, nil
		}
		if st.Class == sqltext.ClassSkip {
			continue
		}
		d, err := sqltext.ClientDelimiter(st.SQL)
		if err != nil {
			var re *sqltext.RefusedError
			if errors.As(err, &re) {
				re.Line = st.Line
			}
			return err, nil
		}
		if d != delim {
			if _, err := fmt.Fprintf(bw, "DELIMITER %s\n", d); err != nil {
				return nil, err
			}
			delim = d
		}
		if _, err := bw.Write(st.SQL); err != nil {
			return nil, err
		}
		if _, err := bw.WriteString("\n" + d + "\n"); err != nil {
			return nil, err
		}
	}
	return nil, bw.Flush()
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

package mariadb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"
)

// FindTool returns the first of names found on PATH (or the name itself when
// it contains a slash and exists).
func FindTool(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s found on PATH", strings.Join(names, ", "))
}

// ChildEnv is the environment for the client tools: only the variables of
// the process's own environment that a client tool may need (the search
// path, home, user, locale, time zone, temp dir, terminal, and where MariaDB
// looks for its option files). Everything else stays behind, whatever its
// name: the database password, rclone's credentials, the Fly token, the
// heartbeat and notification URLs would otherwise be readable in the
// tool's /proc/<pid>/environ. (Cmd.BufferStdout adds coreutils' stdout
// buffering to it, and nothing else.)
func ChildEnv() []string {
	env := os.Environ()
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch {
		case name == "PATH", name == "HOME", name == "USER", name == "LOGNAME",
			name == "LANG", name == "LANGUAGE", strings.HasPrefix(name, "LC_"),
			name == "TZ", name == "TMPDIR", name == "TERM",
			name == "MYSQL_HOME", name == "MARIADB_HOME":
			out = append(out, kv)
		}
	}
	return out
}

// Cmd is a client tool prepared by Conn.Command.
type Cmd struct {
	// Cmd is the process; the caller may set Stdin and Stdout (or take
	// pipes) before Start, but not ExtraFiles: descriptor 3 is the
	// option file. Its Stderr is kept in Stderr.
	Cmd *exec.Cmd
	// Name is the program's base name, for messages.
	Name string
	// Stderr keeps the end of what the tool wrote to its standard error.
	Stderr *Tail

	cnf     *os.File // the option file in memory; nil once closed
	preload bool     // the program starts with libstdbuf preloaded (Tool.Preloads)
}

// Command prepares program (a path or a name on PATH) to run against c with
// args. Its first argument is --defaults-extra-file=/dev/fd/3, an option
// file with the connection settings (and, over TCP, the TLS options of the
// tool's family for c.TLS) that exists only in memory and is
// handed to the tool as its descriptor 3: the password is never on a
// command line, in an environment or on a disk, and nothing is left behind
// however the process ends. Its environment is ChildEnv; it runs in a
// process group of its own, so that a terminal's Ctrl-C reaches only
// backupd, which decides when to stop it. Cancelling ctx kills it.
//
// tempDir ("" is the system default) is where earlier versions wrote the
// option file: the first Command of a process with a given tempDir removes
// the files a crash of such a version left there (RemoveStaleOptionFiles).
// Start, Wait, Run and Close release the option file.
func (c Conn) Command(ctx context.Context, tempDir, program string, args ...string) (*Cmd, error) {
	sweepOnce(tempDir)
	// The TLS options depend on the tool's family and version.
	tool, err := ToolVersion(ctx, program)
	if err != nil && c.usesTLS() && c.tlsMode() != TLSPrefer {
		return nil, fmt.Errorf("cannot tell which TLS options %s takes for TLS mode %s: %w", programName(program), c.tlsMode(), err)
	}
	cnf, err := c.optionFile(tool)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, program, append([]string{"--defaults-extra-file=/dev/fd/" + strconv.Itoa(optionFD)}, args...)...)
	cmd.ExtraFiles = []*os.File{cnf}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = ChildEnv()
	tail := &Tail{Max: 8192}
	cmd.Stderr = tail
	return &Cmd{Cmd: cmd, Name: programName(program), Stderr: tail, cnf: cnf, preload: tool.Preloads}, nil
}

// stdbufLibraries are where coreutils installs libstdbuf.so, the library
// stdbuf(1) preloads into a program to set its stdio buffering (Debian and
// Fedora, then older layouts).
var stdbufLibraries = []string{
	"/usr/libexec/coreutils/libstdbuf.so",
	"/usr/lib/coreutils/libstdbuf.so",
	"/usr/lib64/coreutils/libstdbuf.so",
}

// BufferStdout makes the tool's standard output fully buffered in blocks of
// size bytes, as "stdbuf -o size" does: coreutils' libstdbuf.so is
// preloaded and told the size. Into a pipe, the client tools' stdio writes
// every 4 KiB (the pipe's block size), a system call in the tool and a
// wake-up of the reader each time; a dump of a few hundred MB is tens of
// thousands of them. It does nothing, and reports false, when no
// libstdbuf.so owned by root and writable by root alone is installed, or
// when the program did not start with it when its version was asked
// (Tool.Preloads: a C library the installed one does not fit). Call it
// before Start.
func (c *Cmd) BufferStdout(size int) bool {
	lib := stdbufLibrary()
	if lib == "" || size <= 0 || !c.preload {
		return false
	}
	c.Cmd.Env = append(c.Cmd.Env, "LD_PRELOAD="+lib, "_STDBUF_O="+strconv.Itoa(size))
	return true
}

// stdbufLibrary returns the first of stdbufLibraries that is a regular file
// owned by root and writable by no one else, or "". It is looked for once.
var stdbufLibrary = sync.OnceValue(func() string {
	for _, p := range stdbufLibraries {
		fi, err := os.Stat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || st.Uid != 0 {
			continue
		}
		return p
	}
	return ""
})

// Start starts the tool. The tool has its own copy of the option file, so
// this process lets go of its own whether or not the start succeeded.
func (c *Cmd) Start() error {
	err := c.Cmd.Start()
	c.Close()
	if err != nil {
		return fmt.Errorf("start %s: %w", c.Name, err)
	}
	return nil
}

// Wait waits for the tool to exit. A tool that exited non-zero or was
// killed is a *ToolError.
func (c *Cmd) Wait() error {
	err := c.Cmd.Wait()
	c.Close()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return NewToolError(c.Name, ee.ProcessState.String(), c.Stderr.String())
	}
	return fmt.Errorf("wait for %s: %w", c.Name, err)
}

// Run starts the tool and waits for it.
func (c *Cmd) Run() error {
	if err := c.Start(); err != nil {
		return err
	}
	return c.Wait()
}

// Close releases this process's copy of the option file (a tool that was
// started keeps its own); it may be called more than once.
func (c *Cmd) Close() {
	if c.cnf != nil {
		_ = c.cnf.Close()
		c.cnf = nil
	}
}

// ToolError is a client tool (mariadb-dump, mariadb) that exited with an
// error or was killed. Code is the server or client error number it
// reported (the last "ERROR nnnn" or "Got error: nnnn" in its standard
// error), 0 when there is none.
type ToolError struct {
	Program string
	State   string // "exit status 2", "signal: killed", ...
	Code    int
	Stderr  string // the line with the error number, else the last lines
}

func (e *ToolError) Error() string {
	msg := fmt.Sprintf("%s failed (%s)", e.Program, e.State)
	if e.Stderr != "" {
		msg += ": " + e.Stderr
	}
	return msg
}

// Unreachable reports whether the tool could not reach the server or lost
// it (client-side errors 2000-2999), as opposed to the server rejecting a
// statement.
func (e *ToolError) Unreachable() bool { return e.Code >= 2000 && e.Code < 3000 }

var errorLine = regexp.MustCompile(`(?m)^(?:ERROR |.*Got error: )(\d{4}).*$`)

// NewToolError describes a failed tool from its standard error. The mariadb
// client echoes the failing statement before its ERROR line, and that may
// be a long INSERT full of data: only the line with the error number is kept
// when there is one, else the last lines, and at most a few hundred bytes in
// any case.
func NewToolError(program, state, stderr string) *ToolError {
	te := &ToolError{Program: program, State: state}
	if m := errorLine.FindAllStringSubmatch(stderr, -1); len(m) > 0 {
		last := m[len(m)-1]
		te.Code, _ = strconv.Atoi(last[1])
		te.Stderr = strings.TrimSpace(last[0])
	} else {
		te.Stderr = LastLines(stderr, 5)
	}
	if len(te.Stderr) > 500 {
		i := 500
		for i > 0 && !utf8.RuneStart(te.Stderr[i]) {
			i--
		}
		te.Stderr = te.Stderr[:i] + "..."
	}
	return te
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

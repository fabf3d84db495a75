package mariadb

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tool is a client program's flavour and version, as its --version line
// says.
type Tool struct {
	Line    string // the --version line
	MariaDB bool   // MariaDB's program (or its mysql* link), not Oracle's
	Version string // the product's version: "8.0.36", "5.7.44", "10.11.19-MariaDB", "11.8.6-MariaDB"
	Major   int    // 8, 5, 10, 11; 0 when unknown
	Minor   int    // 0, 7, 11, 8
	// Preloads is true when the program ran with coreutils' libstdbuf
	// preloaded (Cmd.BufferStdout): a program whose C library the
	// installed one does not fit fails to start with it.
	Preloads bool
}

// ParseTool reads a --version line:
//
//	mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)
//	mysqldump  Ver 10.13 Distrib 5.7.44, for Linux (x86_64)
//	mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)
//	mariadb-dump from 11.8.6-MariaDB, client 10.19 for debian-linux-gnu (x86_64)
//
// "Distrib X" names the product's version where it is given (5.7 and
// MariaDB 10), "from X" for MariaDB 11 on, "Ver X" for MySQL 8 on: "Ver"
// alone would make 5.7's "10.13" look newer than 8.0.
func ParseTool(line string) (Tool, error) {
	t := Tool{Line: line, MariaDB: strings.Contains(line, "MariaDB")}
	word := func(after string) string {
		_, rest, ok := strings.Cut(line, after)
		if !ok {
			return ""
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			return ""
		}
		return strings.TrimSuffix(f[0], ",")
	}
	switch {
	case word(" Distrib ") != "":
		t.Version = word(" Distrib ")
	case word(" from ") != "":
		t.Version = word(" from ")
	default:
		t.Version = word(" Ver ")
	}
	parts := strings.SplitN(t.Version, ".", 3)
	major, err := strconv.Atoi(parts[0])
	if t.Version == "" || err != nil {
		return Tool{Line: line}, fmt.Errorf("version %q: not a mysqldump, mariadb-dump or mariadb --version line", line)
	}
	t.Major = major
	if len(parts) > 1 {
		t.Minor, _ = strconv.Atoi(parts[1])
	}
	return t, nil
}

// String names the tool's family and version: "MySQL tool 8.0.36",
// "MariaDB tool 10.11.19-MariaDB".
func (t Tool) String() string {
	if t.MariaDB {
		return "MariaDB tool " + t.Version
	}
	return "MySQL tool " + t.Version
}

// AtLeast reports whether the tool's version is major.minor or later.
func (t Tool) AtLeast(major, minor int) bool {
	return t.Major > major || (t.Major == major && t.Minor >= minor)
}

// toolCache holds what ToolVersion learned, by program path, size and
// modification time: a program replaced on disk is asked again.
var toolCache sync.Map // toolKey -> toolAnswer

type toolKey struct {
	path  string
	size  int64
	mtime time.Time
}

type toolAnswer struct {
	tool Tool
	err  error
}

// ToolVersion runs program --version (a path, or a name on PATH) with
// ChildEnv and no connection settings, keeping at most 4 KiB of what it
// prints and giving it 5 seconds: a program that is not a client tool may
// print without end. It is the one way a client tool's version is asked,
// and the answer is remembered for the process's life. An error says the
// program could not run, or printed no version line (the Tool then has
// the Line it printed).
func ToolVersion(ctx context.Context, program string) (Tool, error) {
	path, err := exec.LookPath(program)
	if err != nil {
		return Tool{}, fmt.Errorf("%s --version: %w", programName(program), err)
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Tool{}, fmt.Errorf("%s --version: %w", programName(program), err)
	}
	key := toolKey{path, fi.Size(), fi.ModTime()}
	if a, ok := toolCache.Load(key); ok {
		return a.(toolAnswer).tool, a.(toolAnswer).err
	}
	// Asked with libstdbuf preloaded first, so that one run tells whether
	// the program starts with it; asked again without when it did not.
	var line string
	preload := false
	if lib := stdbufLibrary(); lib != "" {
		line, err = firstLine(ctx, path, append(ChildEnv(), "LD_PRELOAD="+lib))
		preload = err == nil && line != ""
	}
	if !preload {
		line, err = firstLine(ctx, path, ChildEnv())
	}
	if err != nil {
		// Not remembered: a timeout or a busy machine may pass.
		return Tool{}, fmt.Errorf("%s --version: %w", programName(program), err)
	}
	t, perr := ParseTool(line)
	t.Preloads = preload
	if perr != nil {
		perr = fmt.Errorf("%s: %w", programName(program), perr)
	}
	toolCache.Store(key, toolAnswer{t, perr})
	return t, perr
}

// firstLine runs path --version and returns the first line it prints (at
// most 4 KiB), giving it 5 seconds. A program still running once it has
// printed its line is stopped: a version line is all that is wanted, and a
// program that is not a client tool may print without end.
func firstLine(ctx context.Context, path string, env []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = env
	cmd.WaitDelay = time.Second
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	line, readErr := bufio.NewReaderSize(io.LimitReader(out, 4096), 4096).ReadString('\n')
	if readErr == nil {
		// The line is whole: the rest does not matter.
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return strings.TrimSpace(line), nil
	}
	if err := cmd.Wait(); err != nil {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

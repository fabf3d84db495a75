// Package cli holds what the commands share: settings that come from a flag
// or an environment variable (the flag wins), the common remote and database
// settings, exit codes and the logger.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/rclone/rclone/fs"
	"golang.org/x/term"
)

// Exit codes shared by backupd and yesterday-restore.
const (
	ExitOK       = 0
	ExitFailure  = 1
	ExitUsage    = 2  // bad or missing setting; nothing ran
	ExitNoBackup = 3  // no backup to restore or verify
	ExitLocked   = 11 // another backup holds the lock
)

// UsageError is a bad or missing setting; main maps it to ExitUsage.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is a UsageError.
func IsUsage(err error) bool {
	var u *UsageError
	return errors.As(err, &u)
}

// Setting is one value that comes from a flag, else an environment
// variable, else a default.
type Setting struct {
	Flag string   // without dashes
	Envs []string // first set one wins
	Def  string

	flagVal string
	flagSet bool
}

// Set is the settings of one command.
type Set struct {
	FS       *flag.FlagSet
	Getenv   func(string) string
	settings []*Setting
}

// NewSet returns a Set for the command name; errors from Parse are returned,
// not printed and exited on.
func NewSet(name string, getenv func(string) string) *Set {
	fset := flag.NewFlagSet(name, flag.ContinueOnError)
	fset.SetOutput(io.Discard)
	if getenv == nil {
		getenv = os.Getenv
	}
	return &Set{FS: fset, Getenv: getenv}
}

// String declares a setting with a flag, its environment variables and a
// default, and returns it for reading after Parse.
func (s *Set) String(flagName string, envs []string, def, usage string) *Setting {
	st := &Setting{Flag: flagName, Envs: envs, Def: def}
	help := usage
	if len(envs) > 0 {
		help += " (env " + strings.Join(envs, ", ") + ")"
	}
	s.FS.Func(flagName, help, func(v string) error {
		st.flagVal, st.flagSet = v, true
		return nil
	})
	s.settings = append(s.settings, st)
	return st
}

// Bool declares a plain boolean flag.
func (s *Set) Bool(name string, usage string) *bool {
	return s.FS.Bool(name, false, usage)
}

// Parse parses the command's arguments.
func (s *Set) Parse(args []string) error {
	if err := s.FS.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return Usagef("%s: %v", s.FS.Name(), err)
	}
	return nil
}

// Usage writes the flags with their help to w.
func (s *Set) Usage(w io.Writer) {
	s.FS.SetOutput(w)
	s.FS.PrintDefaults()
	s.FS.SetOutput(io.Discard)
}

// Value returns the setting's value and where it came from.
func (s *Set) Value(st *Setting) (val, source string) {
	if st.flagSet {
		return st.flagVal, "--" + st.Flag
	}
	for _, e := range st.Envs {
		if v := s.Getenv(e); v != "" {
			return v, e
		}
	}
	return st.Def, "default"
}

// Get returns the setting's value.
func (s *Set) Get(st *Setting) string {
	v, _ := s.Value(st)
	return v
}

// Name names the setting for a message: "--db-name or DB_DATABASE".
func (st *Setting) Name() string {
	n := "--" + st.Flag
	if len(st.Envs) > 0 {
		n += " or " + strings.Join(st.Envs, "/")
	}
	return n
}

// Required returns the value or a UsageError saying how to set it.
func (s *Set) Required(st *Setting, what string) (string, error) {
	v := s.Get(st)
	if v == "" {
		return "", Usagef("missing %s: set %s", what, st.Name())
	}
	return v, nil
}

// Int returns the setting as an integer within [lo, hi].
func (s *Set) Int(st *Setting, lo, hi int) (int, error) {
	v, src := s.Value(st)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < lo || n > hi {
		return 0, Usagef("invalid %s=%q from %s: want a whole number from %d to %d", st.Flag, v, src, lo, hi)
	}
	return n, nil
}

// Duration returns the setting as a positive duration ("30s", "5m").
func (s *Set) Duration(st *Setting) (time.Duration, error) {
	v, src := s.Value(st)
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d < 0 {
		return 0, Usagef("invalid %s=%q from %s: want a duration such as 30s or 5m", st.Flag, v, src)
	}
	return d, nil
}

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// NewLogger returns the process logger: JSON on w unless w is a terminal,
// then text. debug lowers the level to Debug. rclone's own log lines are
// routed into the same handler. Every line passes through Redact.
func NewLogger(w *os.File, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	if IsTerminal(w) {
		h = slog.NewTextHandler(endLine{w}, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	h = redactHandler{h}
	fs.SetLogger(h.WithAttrs([]slog.Attr{slog.String("component", "rclone")}))
	return slog.New(h)
}

// Bytes formats a byte count for people: "1.250 GiB".
func Bytes(n int64) string { return fs.SizeSuffix(n).ByteUnit() }

package cli

import (
	"context"
	"log/slog"
	"os"
	"slices"

	"github.com/rclone/rclone/fs"
	"golang.org/x/term"
)

// IsTerminal reports whether f is a terminal.
func IsTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// LogFormats are the values of --log-format: "auto" is text where a person
// reads the log lines (a terminal, or the file or pipe the command's
// report goes to as well) and JSON otherwise, for log collectors.
var LogFormats = []string{"auto", "text", "json"}

var (
	logFormat = "auto"
	report    *os.File
)

// SetReport names the file a command prints its report on (its standard
// output); log lines that go to that same file or pipe are text under
// "auto", so that the two read together. serve, which prints no report,
// names none.
func SetReport(f *os.File) { report = f }

// sameFile reports whether a and b are one file or pipe (as after 2>&1).
func sameFile(a, b *os.File) bool {
	if a == nil || b == nil {
		return false
	}
	sa, errA := a.Stat()
	sb, errB := b.Stat()
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// SetLogFormat sets the format NewLogger uses, one of LogFormats; both
// programs set it from --log-format (BACKUPD_LOG_FORMAT) once parsed.
func SetLogFormat(f string) { logFormat = f }

// LogFormatFlag is the --log-format setting both programs take.
type LogFormatFlag struct {
	LogFormat string `help:"log lines as text or JSON; auto is text on a terminal or beside the report (2>&1), JSON otherwise (for log collectors)" default:"auto" env:"BACKUPD_LOG_FORMAT"`
}

// Apply checks the format and makes it the one NewLogger uses.
func (f LogFormatFlag) Apply(p *Problems) error {
	if !slices.Contains(LogFormats, f.LogFormat) {
		p.Invalid("log-format", f.LogFormat, "want auto, text or json")
		return p.Err()
	}
	SetLogFormat(f.LogFormat)
	return nil
}

// NewLogger returns the process logger on w, in the format SetLogFormat
// chose: by default text when w is a terminal or the file the report goes
// to (SetReport), JSON otherwise. debug lowers
// the level to Debug. rclone's own log lines are
// routed into the same handler. Every line passes through Redact.
func NewLogger(w *os.File, debug bool) *slog.Logger {
	level := slog.LevelInfo
	if debug {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch text := IsTerminal(w) || sameFile(w, report); {
	case logFormat == "text" || logFormat == "auto" && text:
		h = slog.NewTextHandler(endLine{w}, opts)
	default:
		h = slog.NewJSONHandler(w, opts)
	}
	h = redactHandler{h}
	fs.SetLogger(h.WithAttrs([]slog.Attr{slog.String("component", "rclone")}))
	return slog.New(h)
}

// quiet drops records below min, so that a command printing its own report
// does not repeat every line of it in the log.
type quiet struct {
	slog.Handler
	min slog.Level
}

func (q quiet) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= q.min && q.Handler.Enabled(ctx, l)
}

func (q quiet) WithAttrs(as []slog.Attr) slog.Handler {
	return quiet{q.Handler.WithAttrs(as), q.min}
}

func (q quiet) WithGroup(name string) slog.Handler {
	return quiet{q.Handler.WithGroup(name), q.min}
}

// Quieter returns log without its Info records, unless debug asked for
// everything.
func Quieter(log *slog.Logger, debug bool) *slog.Logger {
	if debug {
		return log
	}
	return slog.New(quiet{log.Handler(), slog.LevelWarn})
}

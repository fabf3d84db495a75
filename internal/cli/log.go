package cli

import (
	"context"
	"log/slog"
	"os"

	"github.com/rclone/rclone/fs"
	"golang.org/x/term"
)

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

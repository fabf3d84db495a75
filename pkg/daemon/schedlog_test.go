package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// The scheduler library's own chatter stays out of the daemon's log at
// the default level; its warnings and errors do not.
func TestSchedulerLinesAtDebug(t *testing.T) {
	var buf bytes.Buffer
	l := schedulerLogger{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Info("gocron: new scheduler created")
	l.Debug("gocron: job scheduled")
	if buf.Len() != 0 {
		t.Errorf("scheduler lines at the info level: %s", buf.String())
	}
	l.Warn("gocron: job missed")
	l.Error("gocron: cannot start")
	if got := strings.Count(buf.String(), "\n"); got != 2 {
		t.Errorf("warnings and errors dropped:\n%s", buf.String())
	}
}

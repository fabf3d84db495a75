package cli

import (
	"log/slog"
	"strings"
	"testing"
)

// TestLogEndsProgressLine checks that a log line written while a progress
// line is on the terminal starts on a line of its own.
func TestLogEndsProgressLine(t *testing.T) {
	var out strings.Builder
	log := slog.New(slog.NewTextHandler(endLine{&out}, nil))
	drawProgress(&out, "restoring: 1 MiB")
	log.Info("falling back")
	drawProgress(&out, "restoring: 2 MiB")
	drawProgress(&out, "")
	log.Info("restored")
	got := out.String()
	for _, want := range []string{"restoring: 1 MiB\ntime=", "2 MiB\r\033[Ktime="} {
		if !strings.Contains(got, want) {
			t.Errorf("output %q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "MiBtime=") {
		t.Errorf("a log line was appended to the progress line: %q", got)
	}
}

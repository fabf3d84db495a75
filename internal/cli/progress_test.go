package cli

import (
	"log/slog"
	"os"
	"path/filepath"
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

// Under "auto", log lines are text in the file the report goes to, JSON
// in any other that is not a terminal (serve names no report).
func TestLogFormatFollowsTheReport(t *testing.T) {
	dir := t.TempDir()
	both, err := os.Create(filepath.Join(dir, "both"))
	if err != nil {
		t.Fatal(err)
	}
	defer both.Close()
	other, err := os.Create(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	defer SetReport(nil)
	for _, tc := range []struct {
		name        string
		report, log *os.File
		json        bool
	}{
		{"beside the report", both, both, false},
		{"apart from the report", both, other, true},
		{"no report (serve)", nil, both, true},
	} {
		SetReport(tc.report)
		before, _ := os.ReadFile(tc.log.Name())
		NewLogger(tc.log, false).Info("hello")
		after, _ := os.ReadFile(tc.log.Name())
		line := string(after[len(before):])
		if got := strings.HasPrefix(line, "{"); got != tc.json {
			t.Errorf("%s: %q, want JSON %v", tc.name, line, tc.json)
		}
	}
}

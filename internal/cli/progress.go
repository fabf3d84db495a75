package cli

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// onScreen is the terminal's progress line, shared by StartProgress and
// the logger's writer (see endLine) so that a log line never lands at the
// end of a progress line.
var onScreen struct {
	sync.Mutex
	shown bool // a progress line without a newline is on the terminal
}

// drawProgress replaces the progress line on w with line.
func drawProgress(w io.Writer, line string) {
	onScreen.Lock()
	defer onScreen.Unlock()
	fmt.Fprint(w, "\r\033[K"+line)
	onScreen.shown = line != ""
}

// endLine is the writer of a terminal's log: it ends a progress line
// with a newline before the log line, and the next tick draws the
// progress line again below.
type endLine struct{ w io.Writer }

func (e endLine) Write(p []byte) (int, error) {
	onScreen.Lock()
	defer onScreen.Unlock()
	if onScreen.shown {
		fmt.Fprint(e.w, "\n")
		onScreen.shown = false
	}
	return e.w.Write(p)
}

// ProgressLogEvery is how often progress is logged when the output is not a
// terminal.
var ProgressLogEvery = 30 * time.Second

// StartProgress reports line() while long work runs: redrawn in place on w
// when w is a terminal, else as a log line every ProgressLogEvery. The
// returned stop ends the reports and clears the line; it may be called more
// than once.
func StartProgress(w *os.File, log *slog.Logger, line func() string) (stop func()) {
	tty := IsTerminal(w)
	every := ProgressLogEvery
	if tty {
		every = 250 * time.Millisecond
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				if tty {
					drawProgress(w, "")
				}
				return
			case <-t.C:
				if tty {
					drawProgress(w, line())
				} else if log != nil {
					log.Info("progress", "status", line())
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done); wg.Wait() })
	}
}

// Rate formats n bytes over d as a throughput.
func Rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return Bytes(int64(float64(n)/d.Seconds())) + "/s"
}

package cli

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

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
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
				if tty {
					fmt.Fprint(w, "\r\033[K"+line())
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

package initgc

import (
	"os"
	"runtime/debug"
	"strconv"
	"testing"
)

// The collector is off until Restore, which turns it on as GOGC says.
func TestRestore(t *testing.T) {
	want := 100
	if v := os.Getenv("GOGC"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatalf("GOGC=%q", v)
		}
		want = n
	}
	if got := debug.SetGCPercent(-1); got != -1 {
		t.Fatalf("before Restore the collector's percent is %d, want -1 (off)", got)
	}
	Restore()
	if got := debug.SetGCPercent(want); got != want {
		t.Errorf("after Restore the collector's percent is %d, want %d", got, want)
	}
}

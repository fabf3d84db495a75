package daemon

import (
	"strings"
	"testing"
	"time"
)

// TestHealthIgnoresAFutureNewest: a backup name dated far ahead of the
// clock is not the newest backup: no negative age, and a real backup made
// afterwards counts.
func TestHealthIgnoresAFutureNewest(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)
	s := &state{started: now.Add(-time.Minute)}
	s.seed(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	h := s.health(now, 2*time.Hour)
	if strings.HasPrefix(h.Age, "-") || strings.HasPrefix(h.NewestBackup, "2099") {
		t.Errorf("health takes the 2099 name for the newest backup: %+v", h)
	}
	made := now.Add(-10 * time.Minute)
	s.finish(ResultSuccess, made, nil)
	h = s.health(now, 2*time.Hour)
	if got, want := h.NewestBackup, made.Format(time.RFC3339); got != want {
		t.Errorf("newest backup %q, want %q (%+v)", got, want, h)
	}
	if h.Status != "ok" || h.Age != "10m0s" {
		t.Errorf("health = %+v, want ok at age 10m0s", h)
	}
}

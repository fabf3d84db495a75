package daemon

import (
	"encoding/json"
	"errors"
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

// While a run goes on, health says since when, and the last attempt and
// result stay those of the run before, not a mix of the two.
func TestHealthWhileARunGoesOn(t *testing.T) {
	t1 := time.Date(2025, 3, 10, 11, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	s := &state{started: t1.Add(-time.Minute)}
	s.attempt(t1)
	s.finish(ResultSuccess, t1, nil)
	s.attempt(t2)
	fields := func() map[string]string {
		b, err := json.Marshal(s.health(t2.Add(5*time.Minute), 2*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := fields()
	if m["running_since"] != t2.Format(time.RFC3339) || m["last_attempt"] != t1.Format(time.RFC3339) || m["last_result"] != ResultSuccess {
		t.Errorf("health during a run: %v, want running since %s and the last attempt %s, success", m, t2.Format(time.RFC3339), t1.Format(time.RFC3339))
	}
	s.finish(ResultFailure, time.Time{}, errors.New("dump failed"))
	m = fields()
	if _, ok := m["running_since"]; ok || m["last_attempt"] != t2.Format(time.RFC3339) || m["last_result"] != ResultFailure {
		t.Errorf("health after the run: %v", m)
	}
}

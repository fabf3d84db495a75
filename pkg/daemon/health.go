package daemon

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// state is what the daemon knows about its backups, for /healthz.
type state struct {
	mu          sync.Mutex
	started     time.Time // process start, the baseline before any backup is known
	lastSuccess time.Time // snapshot time of the newest good backup; zero if none known
	lastAttempt time.Time // start of the last run that ended
	running     time.Time // start of the run going on; zero when none
	lastResult  string    // ResultSuccess, ResultFailure, ResultCancelled; "" before the first run
	lastError   string
	lastRestore time.Time // newest restore recorded on a backup, at the last listing
	refused     string    // what the restore would refuse of the dump tool's output, from the start-up check
	blocked     string    // why retention is blocked; "" when it is not
}

func (s *state) restored() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastRestore
}

// Health is the JSON body of /healthz.
type Health struct {
	Status       string `json:"status"` // "ok", "degraded" (backups are made, retention is blocked) or "unhealthy"
	Reason       string `json:"reason,omitempty"`
	NewestBackup string `json:"newest_backup,omitempty"` // RFC 3339, UTC
	Age          string `json:"age,omitempty"`           // of the newest backup
	MaxAge       string `json:"max_age"`
	RunningSince string `json:"running_since,omitempty"` // RFC 3339, UTC: a backup run is going on, started then
	LastAttempt  string `json:"last_attempt,omitempty"`  // start of the last run that ended
	LastResult   string `json:"last_result,omitempty"`
	LastError    string `json:"last_error,omitempty"`
	NextBackup   string `json:"next_backup,omitempty"`  // RFC 3339, UTC: the next scheduled run
	LastRestore  string `json:"last_restore,omitempty"` // RFC 3339, UTC: the newest restore recorded on a backup
	// Binlog says how the binary log stream is, when serve follows one.
	Binlog string `json:"binlog,omitempty"`
}

// maxReason bounds an error quoted in the health answer or a ping body.
const maxReason = 500

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func (s *state) seed(newest time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if newest.After(s.lastSuccess) {
		s.lastSuccess = newest
	}
}

// attempt records that a run started at t; finish ends it.
func (s *state) attempt(t time.Time) {
	s.mu.Lock()
	s.running = t
	s.mu.Unlock()
}

func (s *state) finish(result string, snapshot time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running.IsZero() {
		s.lastAttempt, s.running = s.running, time.Time{}
	}
	s.lastResult = result
	s.lastError = ""
	if err != nil {
		s.lastError = clip(err.Error(), maxReason)
	}
	// A newest time more than catalog.FutureTolerance after a backup just
	// made was never a backup's (a listing taken without the catalog's
	// rules, or a clock that has since been put right): the new one wins.
	if result == ResultSuccess && (snapshot.After(s.lastSuccess) || s.lastSuccess.Sub(snapshot) > catalog.FutureTolerance) {
		s.lastSuccess = snapshot
	}
}

// newest is the snapshot time of the newest backup as judged at now: a
// time more than catalog.FutureTolerance after now is no backup's (see
// catalog.Backup.Problem) and counts as none.
func (s *state) newest(now time.Time) time.Time {
	if s.lastSuccess.Sub(now) > catalog.FutureTolerance {
		return time.Time{}
	}
	return s.lastSuccess
}

// health judges the state at now: healthy while the last run did not fail
// and the newest backup is younger than maxAge; degraded (still answered
// 200) while retention is blocked. Before any backup is known,
// the start of the process stands in for it, so that a daemon on an empty
// remote is given one full maxAge to make its first backup.
func (s *state) health(now time.Time, maxAge time.Duration) Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := Health{Status: "ok", MaxAge: maxAge.String(), LastResult: s.lastResult, LastError: s.lastError}
	if !s.lastAttempt.IsZero() {
		h.LastAttempt = s.lastAttempt.UTC().Format(time.RFC3339)
	}
	if !s.running.IsZero() {
		h.RunningSince = s.running.UTC().Format(time.RFC3339)
	}
	newest := s.newest(now)
	if !newest.IsZero() {
		h.NewestBackup = newest.UTC().Format(time.RFC3339)
		h.Age = now.Sub(newest).Round(time.Second).String()
	}
	switch {
	case s.refused != "":
		h.Status = "unhealthy"
		h.Reason = "the restore would refuse what the dump tool writes, so backups would not restore: " + clip(s.refused, maxReason)
	case s.lastResult == ResultFailure || s.lastResult == ResultCancelled:
		h.Status = "unhealthy"
		h.Reason = fmt.Sprintf("the last backup run (%s) did not succeed: %s", h.LastAttempt, s.lastError)
	case newest.IsZero() && now.Sub(s.started) >= maxAge:
		h.Status = "unhealthy"
		h.Reason = fmt.Sprintf("no successful backup since start-up %s ago (max age %s)", now.Sub(s.started).Round(time.Second), maxAge)
	case !newest.IsZero() && now.Sub(newest) >= maxAge:
		h.Status = "unhealthy"
		h.Reason = fmt.Sprintf("the newest backup is %s old, older than %s", h.Age, maxAge)
	case s.blocked != "":
		h.Status = "degraded"
		h.Reason = clip(s.blocked, maxReason)
	}
	return h
}

func (d *Daemon) serveHealth(w http.ResponseWriter, r *http.Request) {
	now := d.clock.Now()
	h := d.state.health(now, d.maxAge)
	h.NextBackup = d.cfg.Schedule.Next(now).UTC().Format(time.RFC3339)
	if t := d.state.restored(); !t.IsZero() {
		h.LastRestore = t.UTC().Format(time.RFC3339)
	}
	var bad string
	h.Binlog, bad = d.binlogHealth(now)
	// Broken recovery is bad health, whatever retention does (degraded).
	if bad != "" && h.Status != "unhealthy" {
		h.Status, h.Reason = "unhealthy", clip(bad, maxReason)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if h.Status == "unhealthy" {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}

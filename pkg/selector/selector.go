// Package selector decides which backup the "yesterday" copy of the app
// restores. It is pure: it takes the backups and the clock as arguments and
// does no I/O, so that every decision can be replayed in a test.
package selector

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// ErrNoBackup means no complete backup is available to restore.
var ErrNoBackup = errors.New("no backup to restore")

// DefaultAt is the preferred snapshot time of day: the 03:00 UTC backup the
// old boot script looked for.
const DefaultAt = 3 * time.Hour

// Policy says which snapshot to prefer.
type Policy struct {
	// At is the preferred time of day, as an offset from midnight UTC in
	// [0, 24h). The zero value means midnight; DefaultPolicy sets 03:00.
	At time.Duration
}

// DefaultPolicy prefers yesterday's 03:00 UTC snapshot.
func DefaultPolicy() Policy { return Policy{At: DefaultAt} }

// ParseAt parses a time of day "HH:MM" (24-hour clock, UTC) into an offset
// from midnight for Policy.At.
func ParseAt(s string) (time.Duration, error) {
	hh, mm, ok := strings.Cut(strings.TrimSpace(s), ":")
	h, errH := strconv.Atoi(hh)
	m, errM := strconv.Atoi(mm)
	if !ok || errH != nil || errM != nil || len(hh) == 0 || len(hh) > 2 || len(mm) != 2 ||
		h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("parse time of day %q: want HH:MM, 00:00 to 23:59", s)
	}
	return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute, nil
}

// Choice is a decision: the backup to restore, why, and the alternatives.
type Choice struct {
	Backup catalog.Backup
	// Target is the snapshot time aimed at: yesterday (UTC) at Policy.At.
	Target time.Time
	// Reason explains the choice to a person.
	Reason string
	// Candidates are all eligible backups ranked best first; Candidates[0]
	// is Backup. A restore that finds a backup unusable falls back to the
	// next one.
	Candidates []catalog.Backup
}

// ReasonFor explains why Candidates[i] is restored when the i candidates
// ranked before it cannot be: Reason for the first, else its rank and its
// distance to the target.
func (c Choice) ReasonFor(i int) string {
	if i == 0 {
		return c.Reason
	}
	b := c.Candidates[i]
	return fmt.Sprintf("the best of the %d candidates after the %d skipped (below); target %s %s (%s)",
		len(c.Candidates), i, c.Target.Format(time.DateOnly), clock(c.Target), offset(b.Time, c.Target))
}

// Target returns the snapshot time a restore at now aims for: the UTC date
// of now minus one day, at p.At.
func Target(now time.Time, p Policy) time.Time {
	y := now.UTC().AddDate(0, 0, -1)
	return time.Date(y.Year(), y.Month(), y.Day(), 0, 0, 0, 0, time.UTC).Add(p.At)
}

// Eligible reports whether b may be restored at all at the time now: it is
// published (not a ".partial" upload) and a backup by catalog's one
// definition (catalog.Backup.Problem: not empty, not dated ahead of the
// clock). A size the store does not know (negative) does not disqualify a
// backup; reading it will tell.
func Eligible(b catalog.Backup, now time.Time) bool {
	return !b.Partial && b.Problem(now) == ""
}

// Pick chooses the backup to restore at time now. Among the eligible
// backups (see Eligible) taken on the target's day it takes the one closest
// to the target;
// when that day has none, the one closest to the target overall (the oldest
// when backups only started after it, the newest when they stopped before
// it). Ties go to the earlier backup; a zstd backup wins over a legacy gzip
// one of the same second. The input order does not matter and backups is
// not modified. Pick returns an error wrapping ErrNoBackup when no backup
// is eligible.
func Pick(backups []catalog.Backup, now time.Time, p Policy) (Choice, error) {
	if p.At < 0 || p.At >= 24*time.Hour {
		return Choice{}, fmt.Errorf("pick backup: time of day %v is outside 00:00 to 23:59", p.At)
	}
	target := Target(now, p)
	var cands []catalog.Backup
	for _, b := range backups {
		if Eligible(b, now) {
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		return Choice{}, fmt.Errorf("%w: %d backups listed, none complete, non-empty and dated before the clock", ErrNoBackup, len(backups))
	}
	sort.SliceStable(cands, func(i, j int) bool { return better(cands[i], cands[j], target) })

	best := cands[0]
	sameDay := 0
	for _, b := range cands {
		if onDay(b, target) {
			sameDay++
		}
	}
	var reason string
	if sameDay > 0 {
		reason = fmt.Sprintf("closest to the target %s among the %d backups of %s (%s)",
			clock(target), sameDay, target.Format(time.DateOnly), offset(best.Time, target))
	} else {
		reason = fmt.Sprintf("no backup from %s; closest to the target %s overall (%s)",
			target.Format(time.DateOnly), clock(target), offset(best.Time, target))
	}
	return Choice{Backup: best, Target: target, Reason: reason, Candidates: cands}, nil
}

// better ranks a before b: the target's day first, then the distance to the
// target, then the earlier time, then zstd over gzip, then the name.
func better(a, b catalog.Backup, target time.Time) bool {
	if ad, bd := onDay(a, target), onDay(b, target); ad != bd {
		return ad
	}
	if da, db := distance(a.Time, target), distance(b.Time, target); da != db {
		return da < db
	}
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.Format != b.Format {
		return a.Format == catalog.Zstd
	}
	return a.Name < b.Name
}

func onDay(b catalog.Backup, target time.Time) bool {
	y1, m1, d1 := b.Time.UTC().Date()
	y2, m2, d2 := target.Date()
	return y1 == y2 && m1 == m2 && d1 == d2
}

func distance(t, target time.Time) time.Duration {
	d := t.Sub(target)
	if d < 0 {
		return -d
	}
	return d
}

func clock(t time.Time) string { return t.UTC().Format("15:04 UTC") }

// offset describes t relative to target: "exact", "1h0m0s before",
// "3d2h30m0s after".
func offset(t, target time.Time) string {
	switch d := t.Sub(target); {
	case d == 0:
		return "exact"
	case d < 0:
		return span(-d) + " before"
	default:
		return span(d) + " after"
	}
}

// span writes a duration with whole days split off: "3d1h0m0s".
func span(d time.Duration) string {
	const day = 24 * time.Hour
	if d < day {
		return d.String()
	}
	days, rest := d/day, d%day
	if rest == 0 {
		return fmt.Sprintf("%dd", days)
	}
	return fmt.Sprintf("%dd%s", days, rest)
}

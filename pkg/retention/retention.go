// Package retention decides which backups to keep and which to delete.
//
// It is pure: it reads a catalog listing, a policy and the current time
// (always passed in, never read from the clock) and returns decisions with
// reasons. Deleting is the caller's business.
//
// The rule is a count, not an age: the newest Keep complete backups stay,
// however old they are, so an outage of several days never empties the
// folder. The newest complete backup is never deleted. Unfinished uploads
// (".partial") are deleted only once they are clearly abandoned. Files that
// are not backups of the configured prefix, and files with a backup's name
// that are not backups (empty, or dated ahead of the clock: see
// catalog.Backup.Problem), are never counted and never touched.
package retention

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// DefaultKeep is the number of complete backups kept: seven days of hourly
// backups.
const DefaultKeep = 168

// DefaultStalePartialAge is how long an unfinished upload is left alone: an
// upload may be in progress, and a large dump to Drive can take hours.
const DefaultStalePartialAge = 24 * time.Hour

// Policy says what to keep.
type Policy struct {
	// Keep is how many of the newest complete backups to keep; at least 1.
	Keep int
	// KeepDaily additionally keeps the newest backup of each of the last
	// KeepDaily UTC days that have a backup; 0 turns the tier off.
	KeepDaily int
	// KeepWeekly additionally keeps the newest backup of each of the last
	// KeepWeekly ISO weeks (UTC) that have a backup; 0 turns the tier off.
	KeepWeekly int
	// StalePartialAge is the age after which an unfinished upload is
	// abandoned and deleted; younger ones are kept.
	StalePartialAge time.Duration
}

// DefaultPolicy keeps the newest DefaultKeep backups and removes unfinished
// uploads older than DefaultStalePartialAge.
func DefaultPolicy() Policy {
	return Policy{Keep: DefaultKeep, StalePartialAge: DefaultStalePartialAge}
}

// Validate reports a policy that could delete every backup or makes no
// sense.
func (p Policy) Validate() error {
	var errs []error
	if p.Keep < 1 {
		errs = append(errs, fmt.Errorf("keep must be at least 1, got %d", p.Keep))
	}
	if p.KeepDaily < 0 {
		errs = append(errs, fmt.Errorf("keep-daily must not be negative, got %d", p.KeepDaily))
	}
	if p.KeepWeekly < 0 {
		errs = append(errs, fmt.Errorf("keep-weekly must not be negative, got %d", p.KeepWeekly))
	}
	if p.StalePartialAge <= 0 {
		errs = append(errs, fmt.Errorf("stale partial age must be positive, got %s", p.StalePartialAge))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retention policy: %w", err)
	}
	return nil
}

// String describes the policy for messages.
func (p Policy) String() string {
	s := fmt.Sprintf("keep the newest %d", p.Keep)
	if p.KeepDaily > 0 {
		s += fmt.Sprintf(", the newest of each of the last %d days", p.KeepDaily)
	}
	if p.KeepWeekly > 0 {
		s += fmt.Sprintf(", the newest of each of the last %d weeks", p.KeepWeekly)
	}
	return s + fmt.Sprintf("; drop unfinished uploads older than %s", p.StalePartialAge)
}

// Decision is what happens to one backup or unfinished upload, and why.
type Decision struct {
	Backup catalog.Backup
	Reason string
}

// Result is a retention plan.
type Result struct {
	// Keep holds the complete backups kept, newest first, then the
	// unfinished uploads left alone, newest first.
	Keep []Decision
	// Delete holds what should be deleted, oldest first, so that an
	// interrupted prune has removed the oldest backups; unfinished uploads
	// come after the complete backups.
	Delete []Decision
	// Ignored holds the files with a backup's name that are not backups,
	// oldest first, with the reason. They are never counted or deleted;
	// they are here only for reports.
	Ignored []catalog.Ignored
	// Foreign holds the files that are not backups of this prefix, sorted
	// by name. They are never deleted; they are here only for reports.
	Foreign []catalog.Entry
}

// Complete returns the number of complete backups kept.
func (r Result) Complete() int {
	n := 0
	for _, d := range r.Keep {
		if !d.Backup.Partial {
			n++
		}
	}
	return n
}

// Plan applies the policy to a listing at the time now. It does not modify
// the listing. Backups of the same second are ordered by name (as
// catalog.Sort does), so the plan is the same for the same input. Plan
// returns an error, and no decisions, when the policy is invalid.
func Plan(l catalog.Listing, p Policy, now time.Time) (Result, error) {
	if err := p.Validate(); err != nil {
		return Result{}, err
	}
	var res Result

	// Only backups count: a listing built by hand may hold files that
	// catalog.Scan would have ignored at now.
	var backups []catalog.Backup
	res.Ignored = slices.Clone(l.Ignored)
	for _, b := range l.Backups {
		if why := b.Problem(now); why != "" {
			res.Ignored = append(res.Ignored, catalog.Ignored{Backup: b, Reason: why})
			continue
		}
		backups = append(backups, b)
	}
	catalog.SortIgnored(res.Ignored)
	// Newest first, with the same total order as catalog.Sort.
	catalog.Sort(backups)
	slices.Reverse(backups)

	reasons := make([][]string, len(backups))
	for i := range backups {
		switch {
		case i == 0:
			reasons[i] = append(reasons[i], fmt.Sprintf("newest complete backup (1 of the newest %d)", p.Keep))
		case i < p.Keep:
			reasons[i] = append(reasons[i], fmt.Sprintf("%s newest (within the newest %d)", ordinal(i+1), p.Keep))
		}
	}
	keepNewestPer(backups, reasons, p.KeepDaily, "day", func(t time.Time) string {
		return t.UTC().Format("2006-01-02")
	})
	keepNewestPer(backups, reasons, p.KeepWeekly, "week", func(t time.Time) string {
		y, w := t.UTC().ISOWeek()
		return fmt.Sprintf("%04d-W%02d", y, w)
	})
	for i, b := range backups {
		if len(reasons[i]) > 0 {
			res.Keep = append(res.Keep, Decision{Backup: b, Reason: strings.Join(reasons[i], "; ")})
			continue
		}
		res.Delete = append(res.Delete, Decision{Backup: b, Reason: fmt.Sprintf("%s newest, beyond the newest %d", ordinal(i+1), p.Keep)})
	}
	slices.Reverse(res.Delete)

	partials := slices.Clone(l.Partials)
	catalog.Sort(partials)
	var stale []Decision
	for i := len(partials) - 1; i >= 0; i-- {
		b := partials[i]
		age := now.Sub(lastSign(b))
		if age > p.StalePartialAge {
			stale = append(stale, Decision{Backup: b, Reason: fmt.Sprintf("unfinished upload abandoned %s ago (stale after %s)", roundAge(age), p.StalePartialAge)})
			continue
		}
		reason := fmt.Sprintf("unfinished upload from %s ago, may still be in progress", roundAge(age))
		if age < 0 {
			reason = fmt.Sprintf("unfinished upload dated %s in the future, left alone", roundAge(-age))
		}
		res.Keep = append(res.Keep, Decision{Backup: b, Reason: reason})
	}
	slices.Reverse(stale)
	res.Delete = append(res.Delete, stale...)

	res.Foreign = slices.Clone(l.Foreign)
	slices.SortStableFunc(res.Foreign, func(a, b catalog.Entry) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

// keepNewestPer adds a reason to the newest backup of each of the newest n
// periods that have a backup. backups is ordered newest first.
func keepNewestPer(backups []catalog.Backup, reasons [][]string, n int, unit string, period func(time.Time) string) {
	if n <= 0 {
		return
	}
	seen := 0
	last := ""
	for i, b := range backups {
		key := period(b.Time)
		if seen > 0 && key == last {
			continue
		}
		seen++
		if seen > n {
			return
		}
		last = key
		reasons[i] = append(reasons[i], fmt.Sprintf("newest of %s %s (%d of the last %d %ss)", unit, key, seen, n, unit))
	}
}

// lastSign is the latest time an unfinished upload is known to have been
// alive: its snapshot time or, when later, the store's modification time.
func lastSign(b catalog.Backup) time.Time {
	if b.ModTime.After(b.Time) {
		return b.ModTime
	}
	return b.Time
}

// roundAge shortens an age for a message.
func roundAge(d time.Duration) time.Duration {
	if d >= time.Hour {
		return d.Round(time.Minute)
	}
	return d.Round(time.Second)
}

func ordinal(n int) string {
	suffix := "th"
	if n%100 < 11 || n%100 > 13 {
		switch n % 10 {
		case 1:
			suffix = "st"
		case 2:
			suffix = "nd"
		case 3:
			suffix = "rd"
		}
	}
	return fmt.Sprintf("%d%s", n, suffix)
}

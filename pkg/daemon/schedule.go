package daemon

import (
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedule is a cron expression evaluated in UTC: five fields (minute hour
// day-of-month month day-of-week) or a descriptor such as "@hourly". It is
// parsed by the same parser the scheduler uses, so an expression accepted
// here is accepted there.
type Schedule struct {
	expr  string
	sched cron.Schedule
}

// ParseSchedule parses expr. now is only used to check that the expression
// fires at all (a date such as February 30 never does).
func ParseSchedule(expr string, now time.Time) (Schedule, error) {
	expr = strings.TrimSpace(expr)
	if expr == "" {
		return Schedule{}, fmt.Errorf("empty schedule")
	}
	if strings.HasPrefix(expr, "TZ=") || strings.HasPrefix(expr, "CRON_TZ=") {
		return Schedule{}, fmt.Errorf("%q names a time zone: schedules are always UTC, drop the prefix", expr)
	}
	sched, err := cron.ParseStandard(expr)
	if err != nil {
		return Schedule{}, fmt.Errorf("%q: %v (want 5 fields: minute hour day-of-month month day-of-week, in UTC)", expr, err)
	}
	s := Schedule{expr: expr, sched: sched}
	if s.Next(now).IsZero() {
		return Schedule{}, fmt.Errorf("%q never fires", expr)
	}
	return s, nil
}

// String returns the expression as given (trimmed).
func (s Schedule) String() string { return s.expr }

// Next returns the first time after t at which the schedule fires, in UTC,
// or the zero time if it never does.
func (s Schedule) Next(t time.Time) time.Time {
	if s.sched == nil {
		return time.Time{}
	}
	return s.sched.Next(t.UTC())
}

// Interval is the longest gap between consecutive runs from t over the
// following week (and at least two gaps), so that an irregular schedule
// such as "0 9-17 * * 1-5" is judged by its longest quiet spell.
func (s Schedule) Interval(t time.Time) time.Duration {
	const maxRuns = 20000 // a run every minute for two weeks
	horizon := t.Add(8 * 24 * time.Hour)
	prev := s.Next(t)
	var longest time.Duration
	for i := 0; i < maxRuns && !prev.IsZero(); i++ {
		next := s.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
		if i >= 1 && prev.After(horizon) {
			break
		}
	}
	return longest
}

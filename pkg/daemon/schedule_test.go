package daemon

import (
	"strings"
	"testing"
	"time"
)

func TestParseSchedule(t *testing.T) {
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC) // a Friday
	for _, tc := range []struct {
		expr     string
		interval time.Duration
		next     time.Time
	}{
		{"0 * * * *", time.Hour, time.Date(2025, 3, 7, 13, 0, 0, 0, time.UTC)},
		{" 0 5 * * * ", 24 * time.Hour, time.Date(2025, 3, 8, 5, 0, 0, 0, time.UTC)},
		{"*/15 * * * *", 15 * time.Minute, time.Date(2025, 3, 7, 12, 15, 0, 0, time.UTC)},
		{"@hourly", time.Hour, time.Date(2025, 3, 7, 13, 0, 0, 0, time.UTC)},
		// Weekdays 09:00-17:00: the longest gap is Friday 17:00 to Monday 09:00.
		{"0 9-17 * * 1-5", 64 * time.Hour, time.Date(2025, 3, 7, 13, 0, 0, 0, time.UTC)},
		{"0 0 1 * *", 31 * 24 * time.Hour, time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			s, err := ParseSchedule(tc.expr, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Interval(now); got != tc.interval {
				t.Errorf("interval = %v, want %v", got, tc.interval)
			}
			if got := s.Next(now); !got.Equal(tc.next) {
				t.Errorf("next = %v, want %v", got, tc.next)
			}
		})
	}
}

func TestParseScheduleRejects(t *testing.T) {
	now := time.Date(2025, 3, 7, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ expr, want string }{
		{"", "empty"},
		{"hourly", "5 fields"},
		{"0 * * *", "5 fields"},
		{"0 0 * * * *", "5 fields"},
		{"61 * * * *", "61"},
		{"0 25 * * *", "25"},
		{"TZ=Europe/Berlin 0 5 * * *", "always UTC"},
		{"CRON_TZ=UTC 0 5 * * *", "always UTC"},
		{"0 0 30 2 *", "never fires"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			_, err := ParseSchedule(tc.expr, now)
			if err == nil {
				t.Fatalf("ParseSchedule(%q) succeeded", tc.expr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q lacks %q", err, tc.want)
			}
		})
	}
}

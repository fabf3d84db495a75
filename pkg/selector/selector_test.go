package selector

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/selector")

const goldenDir = "../../testdata/selector"

var codec = catalog.Codec{}

// spec builds a backup from "YYYYMMDD-HHMMSS FORMAT [partial] [empty]".
func spec(t *testing.T, s string) catalog.Backup {
	t.Helper()
	f := strings.Fields(s)
	name := catalog.DefaultPrefix + f[0] + ".sql." + f[1]
	size := int64(1000)
	for _, mark := range f[2:] {
		switch mark {
		case "partial":
			name += catalog.PartialSuffix
		case "empty":
			size = 0
		default:
			t.Fatalf("bad spec %q", s)
		}
	}
	b, ok := codec.Parse(name)
	if !ok {
		t.Fatalf("spec %q gives unparsable name %q", s, name)
	}
	b.Size = size
	return b
}

// hourly returns zstd backups every step from first to last inclusive.
func hourly(t *testing.T, first, last string, step time.Duration) []catalog.Backup {
	t.Helper()
	from, err := time.Parse("20060102-150405", first)
	if err != nil {
		t.Fatal(err)
	}
	to, err := time.Parse("20060102-150405", last)
	if err != nil {
		t.Fatal(err)
	}
	var out []catalog.Backup
	for ts := from; !ts.After(to); ts = ts.Add(step) {
		out = append(out, spec(t, ts.Format("20060102-150405")+" zst"))
	}
	return out
}

func date(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, time.UTC)
}

func TestPick(t *testing.T) {
	at := func(s string) Policy {
		d, err := ParseAt(s)
		if err != nil {
			t.Fatal(err)
		}
		return Policy{At: d}
	}
	specs := func(ss ...string) []catalog.Backup {
		var out []catalog.Backup
		for _, s := range ss {
			out = append(out, spec(t, s))
		}
		return out
	}
	cases := []struct {
		name    string
		now     time.Time
		policy  Policy
		backups []catalog.Backup
		want    string // name of the chosen backup
	}{
		{
			name:    "0300-present",
			now:     date(2026, 3, 15, 10, 0),
			policy:  DefaultPolicy(),
			backups: hourly(t, "20260313-000000", "20260315-090000", time.Hour),
			want:    "db-backup-20260314-030000.sql.zst",
		},
		{
			name:   "0300-missing-0200-and-0400-tie",
			now:    date(2026, 3, 15, 10, 0),
			policy: DefaultPolicy(),
			backups: specs("20260314-000000 zst", "20260314-010000 zst", "20260314-020000 zst",
				"20260314-040000 zst", "20260314-050000 zst", "20260315-030000 zst"),
			want: "db-backup-20260314-020000.sql.zst",
		},
		{
			name:    "0300-missing-later-is-closer",
			now:     date(2026, 3, 15, 10, 0),
			policy:  DefaultPolicy(),
			backups: specs("20260314-013000 zst", "20260314-033000 zst", "20260314-120000 zst"),
			want:    "db-backup-20260314-033000.sql.zst",
		},
		{
			name:    "only-today",
			now:     date(2026, 3, 15, 10, 0),
			policy:  DefaultPolicy(),
			backups: hourly(t, "20260315-060000", "20260315-090000", time.Hour),
			want:    "db-backup-20260315-060000.sql.zst",
		},
		{
			name:    "stopped-four-days-ago",
			now:     date(2026, 3, 15, 10, 0),
			policy:  DefaultPolicy(),
			backups: hourly(t, "20260310-000000", "20260311-090000", 3*time.Hour),
			want:    "db-backup-20260311-090000.sql.zst",
		},
		{
			name:    "yesterday-wins-over-closer-other-day",
			now:     date(2026, 3, 15, 0, 30),
			policy:  DefaultPolicy(),
			backups: specs("20260313-230000 zst", "20260314-230000 zst", "20260315-000000 zst"),
			want:    "db-backup-20260314-230000.sql.zst",
		},
		{
			name:    "year-boundary",
			now:     date(2026, 1, 1, 1, 30),
			policy:  DefaultPolicy(),
			backups: hourly(t, "20251230-220000", "20260101-010000", time.Hour),
			want:    "db-backup-20251231-030000.sql.zst",
		},
		{
			name:    "now-in-another-zone",
			now:     time.Date(2026, 3, 15, 1, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)),
			policy:  DefaultPolicy(),
			backups: hourly(t, "20260313-000000", "20260314-190000", time.Hour),
			want:    "db-backup-20260313-030000.sql.zst",
		},
		{
			name:   "legacy-and-new-mixed",
			now:    date(2026, 3, 15, 10, 0),
			policy: DefaultPolicy(),
			backups: specs("20260314-020000 gz", "20260314-030000 gz", "20260314-030000 zst",
				"20260314-040000 zst", "20260313-030000 gz"),
			want: "db-backup-20260314-030000.sql.zst",
		},
		{
			name:    "legacy-only",
			now:     date(2026, 3, 15, 10, 0),
			policy:  DefaultPolicy(),
			backups: specs("20260313-030012 gz", "20260314-030007 gz", "20260315-030009 gz"),
			want:    "db-backup-20260314-030007.sql.gz",
		},
		{
			name:   "partials-and-empty-ignored",
			now:    date(2026, 3, 15, 10, 0),
			policy: DefaultPolicy(),
			backups: specs("20260314-030000 zst partial", "20260314-033000 zst empty",
				"20260314-023000 gz empty", "20260314-010000 zst", "20260314-060000 zst"),
			want: "db-backup-20260314-010000.sql.zst",
		},
		{
			name:    "at-2330",
			now:     date(2026, 3, 15, 10, 0),
			policy:  at("23:30"),
			backups: hourly(t, "20260314-000000", "20260315-090000", time.Hour),
			want:    "db-backup-20260314-230000.sql.zst",
		},
		{
			name:    "at-midnight",
			now:     date(2026, 3, 15, 10, 0),
			policy:  at("00:00"),
			backups: specs("20260313-233000 zst", "20260314-003000 zst", "20260314-230000 zst"),
			want:    "db-backup-20260314-003000.sql.zst",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The input order must not matter: pass the backups newest first.
			in := append([]catalog.Backup(nil), tc.backups...)
			for i, j := 0, len(in)-1; i < j; i, j = i+1, j-1 {
				in[i], in[j] = in[j], in[i]
			}
			c, err := Pick(in, tc.now, tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Backup.Name; got != tc.want {
				t.Errorf("chose %s, want %s (reason: %s)", got, tc.want, c.Reason)
			}
			if len(c.Candidates) == 0 || c.Candidates[0].Name != c.Backup.Name {
				t.Errorf("candidates do not start with the choice: %v", c.Candidates)
			}
			for _, b := range c.Candidates {
				if !Eligible(b, tc.now) {
					t.Errorf("ineligible candidate %s (partial %v, size %d)", b.Name, b.Partial, b.Size)
				}
			}
			golden(t, filepath.Join(goldenDir, tc.name+".golden"), render(tc.now, tc.policy, in, c))
		})
	}
}

// render describes a decision for a golden file.
func render(now time.Time, p Policy, in []catalog.Backup, c Choice) string {
	var b strings.Builder
	fmt.Fprintf(&b, "now         %s\n", now.Format(time.RFC3339))
	fmt.Fprintf(&b, "at          %02d:%02d\n", int(p.At.Hours()), int(p.At.Minutes())%60)
	fmt.Fprintf(&b, "target      %s\n", c.Target.Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(&b, "chosen      %s\n", c.Backup.Name)
	fmt.Fprintf(&b, "snapshot    %s\n", c.Backup.TimeString())
	fmt.Fprintf(&b, "reason      %s\n", c.Reason)
	for _, x := range in {
		if !Eligible(x, now) {
			fmt.Fprintf(&b, "ignored     %s (size %d)\n", x.Name, x.Size)
		}
	}
	b.WriteString("candidates\n")
	for i, x := range c.Candidates {
		fmt.Fprintf(&b, "  %3d  %s  %s\n", i+1, x.Name, offset(x.Time, c.Target))
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("decision differs from %s (go test -update rewrites it)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

func TestPickNoBackup(t *testing.T) {
	now := date(2026, 3, 15, 10, 0)
	cases := map[string][]catalog.Backup{
		"none":          nil,
		"only-partials": {spec(t, "20260314-030000 zst partial"), spec(t, "20260314-040000 gz partial")},
		"only-empty":    {spec(t, "20260314-030000 zst empty"), spec(t, "20260314-040000 gz empty")},
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := Pick(in, now, DefaultPolicy())
			if !errors.Is(err, ErrNoBackup) {
				t.Fatalf("Pick = %v, %v; want ErrNoBackup", c.Backup.Name, err)
			}
		})
	}
}

func TestPickUnknownSizeIsEligible(t *testing.T) {
	b := spec(t, "20260314-030000 zst")
	b.Size = -1
	c, err := Pick([]catalog.Backup{b}, date(2026, 3, 15, 10, 0), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := c.Backup.Name, b.Name; got != want {
		t.Errorf("chose %s, want %s", got, want)
	}
}

func TestPickBadPolicy(t *testing.T) {
	in := []catalog.Backup{spec(t, "20260314-030000 zst")}
	for _, at := range []time.Duration{-time.Minute, 24 * time.Hour} {
		if _, err := Pick(in, date(2026, 3, 15, 10, 0), Policy{At: at}); err == nil || errors.Is(err, ErrNoBackup) {
			t.Errorf("Pick with At=%v: err = %v, want a policy error", at, err)
		}
	}
}

func TestParseAt(t *testing.T) {
	good := map[string]time.Duration{
		"03:00":  3 * time.Hour,
		"3:00":   3 * time.Hour,
		"00:00":  0,
		"23:59":  23*time.Hour + 59*time.Minute,
		" 12:30": 12*time.Hour + 30*time.Minute,
	}
	for in, want := range good {
		if got, err := ParseAt(in); err != nil || got != want {
			t.Errorf("ParseAt(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "3", "24:00", "12:60", "12:5", "-1:00", "ab:cd", "03:00:00", "003:00"} {
		if got, err := ParseAt(in); err == nil {
			t.Errorf("ParseAt(%q) = %v, want an error", in, got)
		}
	}
}

func TestTarget(t *testing.T) {
	cases := []struct {
		now  time.Time
		want time.Time
	}{
		{date(2026, 3, 15, 10, 0), date(2026, 3, 14, 3, 0)},
		{date(2026, 3, 15, 0, 0), date(2026, 3, 14, 3, 0)},
		{date(2026, 1, 1, 0, 0), date(2025, 12, 31, 3, 0)},
		{date(2024, 3, 1, 12, 0), date(2024, 2, 29, 3, 0)},
		{time.Date(2026, 3, 15, 23, 0, 0, 0, time.FixedZone("UTC-3", -3*3600)), date(2026, 3, 15, 3, 0)},
	}
	for _, tc := range cases {
		if got := Target(tc.now, DefaultPolicy()); !got.Equal(tc.want) {
			t.Errorf("Target(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
}

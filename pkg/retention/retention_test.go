package retention

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/retention")

const goldenDir = "../../testdata/retention"

var codec = catalog.Codec{}

// now is the clock of every case: 2025-03-10 12:30 UTC.
var now = time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)

// hourly returns n complete backups in format f, one an hour, the newest at
// newest.
func hourly(newest time.Time, n int, f catalog.Format) []catalog.Entry {
	return every(newest, n, time.Hour, f)
}

// every returns n complete backups in format f, step apart, the newest at
// newest.
func every(newest time.Time, n int, step time.Duration, f catalog.Format) []catalog.Entry {
	var es []catalog.Entry
	for i := range n {
		t := newest.Add(-time.Duration(i) * step)
		es = append(es, catalog.Entry{Name: codec.Name(t, f), Size: 1000 + int64(i), ModTime: t.Add(2 * time.Minute)})
	}
	return es
}

func entry(name string, mod time.Time) catalog.Entry {
	return catalog.Entry{Name: name, Size: 10, ModTime: mod}
}

func concat(parts ...[]catalog.Entry) []catalog.Entry { return slices.Concat(parts...) }

func names(ds []Decision) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.Backup.Name)
	}
	return out
}

func TestPlan(t *testing.T) {
	lastHour := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	sameSecond := time.Date(2025, 3, 10, 11, 0, 0, 0, time.UTC)
	gapEnd := time.Date(2025, 3, 5, 23, 0, 0, 0, time.UTC) // last backup before a 4.5-day outage

	cases := []struct {
		name    string
		entries []catalog.Entry
		policy  Policy
		// Expected counts and, where short enough, names.
		keep, del  int
		wantDelete []string // nil: not checked by name
		wantKeep   []string // nil: not checked by name
	}{
		{
			name:   "empty",
			policy: DefaultPolicy(),
		},
		{
			name:    "fewer-than-168",
			entries: hourly(lastHour, 5, catalog.Zstd),
			policy:  DefaultPolicy(),
			keep:    5,
		},
		{
			name:    "exactly-168",
			entries: hourly(lastHour, 168, catalog.Zstd),
			policy:  DefaultPolicy(),
			keep:    168,
		},
		{
			name:    "200",
			entries: hourly(lastHour, 200, catalog.Zstd),
			policy:  DefaultPolicy(),
			keep:    168, del: 32,
		},
		{
			name:    "keep-1",
			entries: hourly(lastHour, 3, catalog.Zstd),
			policy:  Policy{Keep: 1, StalePartialAge: DefaultStalePartialAge},
			keep:    1, del: 2,
			wantKeep:   []string{"db-backup-20250310-120000.sql.zst"},
			wantDelete: []string{"db-backup-20250310-100000.sql.zst", "db-backup-20250310-110000.sql.zst"},
		},
		{
			// Two files of the same second (a legacy gzip and a new zstd)
			// are two backups, ordered by name: .gz before .zst.
			name: "duplicates-same-second",
			entries: []catalog.Entry{
				entry(codec.Name(sameSecond.Add(-time.Hour), catalog.Zstd), sameSecond),
				entry(codec.Name(sameSecond, catalog.Gzip), sameSecond),
				entry(codec.Name(sameSecond, catalog.Zstd), sameSecond),
				entry(codec.Name(lastHour, catalog.Zstd), lastHour),
			},
			policy: Policy{Keep: 2, StalePartialAge: DefaultStalePartialAge},
			keep:   2, del: 2,
			wantKeep:   []string{"db-backup-20250310-120000.sql.zst", "db-backup-20250310-110000.sql.zst"},
			wantDelete: []string{"db-backup-20250310-100000.sql.zst", "db-backup-20250310-110000.sql.gz"},
		},
		{
			// The legacy script's .sql.gz backups count like new ones: the
			// oldest 32 legacy ones go, the rest stay.
			name:    "legacy-and-new-mixed",
			entries: concat(hourly(lastHour, 100, catalog.Zstd), hourly(lastHour.Add(-100*time.Hour), 100, catalog.Gzip)),
			policy:  DefaultPolicy(),
			keep:    168, del: 32,
		},
		{
			name: "partials-young-and-old",
			entries: concat(hourly(lastHour, 3, catalog.Zstd), []catalog.Entry{
				// In progress: started 30 minutes ago.
				entry(codec.Name(now.Add(-30*time.Minute), catalog.Zstd)+catalog.PartialSuffix, now.Add(-time.Minute)),
				// Abandoned two days ago.
				entry(codec.Name(now.Add(-49*time.Hour), catalog.Zstd)+catalog.PartialSuffix, now.Add(-48*time.Hour)),
				// A legacy name, abandoned a week ago.
				entry(codec.Name(now.Add(-7*24*time.Hour), catalog.Gzip)+catalog.PartialSuffix, time.Time{}),
				// Named 30 hours ago but written to an hour ago: a long
				// upload, still alive.
				entry(codec.Name(now.Add(-30*time.Hour), catalog.Zstd)+catalog.PartialSuffix, now.Add(-time.Hour)),
				// Named in the future (a skewed clock): left alone.
				entry(codec.Name(now.Add(2*time.Hour), catalog.Zstd)+catalog.PartialSuffix, time.Time{}),
			}),
			policy: DefaultPolicy(),
			keep:   6, del: 2,
			wantDelete: []string{
				"db-backup-20250303-123000.sql.gz.partial",
				"db-backup-20250308-113000.sql.zst.partial",
			},
		},
		{
			name: "foreign-files",
			entries: concat(hourly(lastHour, 170, catalog.Zstd), []catalog.Entry{
				entry("notes.txt", now),
				entry("db-backup-latest.sql.gz", now.Add(-1000*time.Hour)),
				entry("db-backup-20200101-000000.sql.bz2", now.Add(-1000*time.Hour)),
				entry("db-backup-2020010-000000.sql.zst", now.Add(-1000*time.Hour)),
				entry("other-20200101-000000.sql.zst", now.Add(-1000*time.Hour)),
				entry("db-backup-20200101-000000.sql.zst.tmp", now.Add(-1000*time.Hour)),
			}),
			policy: DefaultPolicy(),
			keep:   168, del: 2,
			wantDelete: []string{"db-backup-20250303-110000.sql.zst", "db-backup-20250303-120000.sql.zst"},
		},
		{
			// After an outage the newest 168 are kept however old: 12
			// after the gap, 156 before it.
			name:    "gap-of-several-days",
			entries: concat(hourly(lastHour, 12, catalog.Zstd), hourly(gapEnd, 200, catalog.Zstd)),
			policy:  DefaultPolicy(),
			keep:    168, del: 44,
		},
		{
			name:    "gap-longer-than-the-window",
			entries: hourly(now.Add(-30*24*time.Hour), 10, catalog.Gzip),
			policy:  DefaultPolicy(),
			keep:    10,
		},
		{
			name:    "keep-daily",
			entries: hourly(lastHour, 10*24, catalog.Zstd),
			policy:  Policy{Keep: 24, KeepDaily: 7, StalePartialAge: DefaultStalePartialAge},
			// 24 newest (today's 13 and yesterday's last 11), plus the
			// newest of the 5 days before yesterday.
			keep: 29, del: 211,
		},
		{
			name:    "keep-weekly",
			entries: every(lastHour, 40*4, 6*time.Hour, catalog.Zstd),
			policy:  Policy{Keep: 3, KeepWeekly: 4, StalePartialAge: DefaultStalePartialAge},
			// 2025-03-10 is a Monday: the newest of the three weeks before
			// it are their Sundays' 18:00 backups.
			keep: 6, del: 154,
			wantKeep: []string{
				"db-backup-20250310-120000.sql.zst",
				"db-backup-20250310-060000.sql.zst",
				"db-backup-20250310-000000.sql.zst",
				"db-backup-20250309-180000.sql.zst",
				"db-backup-20250302-180000.sql.zst",
				"db-backup-20250223-180000.sql.zst",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := codec.Scan(tc.entries, now)
			before := deepCopy(l)
			res, err := Plan(l, tc.policy, now)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if !reflect.DeepEqual(l, before) {
				t.Errorf("Plan modified its input listing")
			}
			if got, want := len(res.Keep), tc.keep; got != want {
				t.Errorf("kept %d, want %d", got, want)
			}
			if got, want := len(res.Delete), tc.del; got != want {
				t.Errorf("deleted %d, want %d", got, want)
			}
			if tc.wantDelete != nil {
				if got := names(res.Delete); !slices.Equal(got, tc.wantDelete) {
					t.Errorf("delete = %q, want %q", got, tc.wantDelete)
				}
			}
			if tc.wantKeep != nil {
				if got := names(res.Keep); !slices.Equal(got, tc.wantKeep) {
					t.Errorf("keep = %q, want %q", got, tc.wantKeep)
				}
			}
			checkInvariants(t, l, tc.policy, res)

			// The plan does not depend on the order of the listing.
			shuffled := slices.Clone(tc.entries)
			rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) {
				shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
			})
			again, err := Plan(codec.Scan(shuffled, now), tc.policy, now)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := render(again), render(res); got != want {
				t.Errorf("plan of a shuffled listing differs:\n%s", diff(want, got))
			}

			golden(t, tc.name, render(res))
		})
	}
}

// checkInvariants checks what must hold for every plan.
func checkInvariants(t *testing.T, l catalog.Listing, p Policy, res Result) {
	t.Helper()
	// Every backup and unfinished upload is decided exactly once.
	seen := map[string]int{}
	for _, d := range slices.Concat(res.Keep, res.Delete) {
		seen[d.Backup.Name]++
		if d.Reason == "" {
			t.Errorf("%s: decision without a reason", d.Backup.Name)
		}
	}
	for _, b := range slices.Concat(l.Backups, l.Partials) {
		if seen[b.Name] != 1 {
			t.Errorf("%s decided %d times, want once", b.Name, seen[b.Name])
		}
		delete(seen, b.Name)
	}
	for n := range seen {
		t.Errorf("%s decided but not in the listing", n)
	}
	// Foreign files are never deleted.
	for _, f := range l.Foreign {
		for _, d := range res.Delete {
			if d.Backup.Name == f.Name {
				t.Errorf("foreign file %s in the delete list", f.Name)
			}
		}
	}
	if got, want := len(res.Foreign), len(l.Foreign); got != want {
		t.Errorf("plan reports %d foreign files, want %d", got, want)
	}
	if len(l.Backups) == 0 {
		return
	}
	// The newest complete backup is kept, first.
	newest := l.Backups[len(l.Backups)-1]
	if len(res.Keep) == 0 || res.Keep[0].Backup.Name != newest.Name {
		t.Errorf("newest complete backup %s is not the first kept", newest.Name)
	}
	// At least min(Keep, n) complete backups, all newer than any deleted one.
	if got, want := res.Complete(), min(p.Keep, len(l.Backups)); got < want {
		t.Errorf("kept %d complete backups, want at least %d", got, want)
	}
	if p.KeepDaily == 0 && p.KeepWeekly == 0 {
		if got, want := res.Complete(), min(p.Keep, len(l.Backups)); got != want {
			t.Errorf("kept %d complete backups, want %d", got, want)
		}
		oldestKept := res.Keep[res.Complete()-1].Backup
		for _, d := range res.Delete {
			if !d.Backup.Partial && !older(d.Backup, oldestKept) {
				t.Errorf("deleted %s is not older than kept %s", d.Backup.Name, oldestKept.Name)
			}
		}
	}
}

// older reports whether a sorts before b in catalog order.
func older(a, b catalog.Backup) bool {
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	return a.Name < b.Name
}

func deepCopy(l catalog.Listing) catalog.Listing {
	return catalog.Listing{
		Backups:  slices.Clone(l.Backups),
		Partials: slices.Clone(l.Partials),
		Foreign:  slices.Clone(l.Foreign),
	}
}

// render writes a plan as text, one line per file, for golden files.
func render(r Result) string {
	var b strings.Builder
	for _, d := range r.Keep {
		fmt.Fprintf(&b, "keep    %-42s %s\n", d.Backup.Name, d.Reason)
	}
	for _, d := range r.Delete {
		fmt.Fprintf(&b, "delete  %-42s %s\n", d.Backup.Name, d.Reason)
	}
	for _, f := range r.Foreign {
		fmt.Fprintf(&b, "foreign %s\n", f.Name)
	}
	return b.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join(goldenDir, name+".golden")
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
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
		t.Errorf("plan differs from %s (run go test -update if the change is intended):\n%s", path, diff(string(want), got))
	}
}

// diff lists the lines that differ, enough to see what changed.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := range max(len(w), len(g)) {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
		}
	}
	return b.String()
}

func TestPlanDuplicatesAreDeterministic(t *testing.T) {
	// Three files claim the same second; with Keep 1 exactly one stays,
	// always the same one, whatever order the store lists them in.
	sec := time.Date(2025, 3, 10, 3, 0, 0, 0, time.UTC)
	entries := []catalog.Entry{
		entry(codec.Name(sec, catalog.Zstd), sec),
		entry(codec.Name(sec, catalog.Gzip), sec),
		entry(codec.Name(sec, catalog.Zstd)+catalog.PartialSuffix, sec),
	}
	for i := range 20 {
		es := slices.Clone(entries)
		rand.New(rand.NewPCG(uint64(i), 7)).Shuffle(len(es), func(a, b int) { es[a], es[b] = es[b], es[a] })
		res, err := Plan(codec.Scan(es, now), Policy{Keep: 1, StalePartialAge: time.Hour}, now)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := names(res.Keep), []string{"db-backup-20250310-030000.sql.zst"}; !slices.Equal(got, want) {
			t.Fatalf("order %d: keep = %q, want %q", i, got, want)
		}
		if got, want := names(res.Delete), []string{"db-backup-20250310-030000.sql.gz", "db-backup-20250310-030000.sql.zst.partial"}; !slices.Equal(got, want) {
			t.Fatalf("order %d: delete = %q, want %q", i, got, want)
		}
	}
}

func TestPlanPartialAgeBoundary(t *testing.T) {
	p := DefaultPolicy()
	for _, tc := range []struct {
		age    time.Duration
		delete bool
	}{
		{0, false},
		{23 * time.Hour, false},
		{24 * time.Hour, false}, // exactly the limit is not yet stale
		{24*time.Hour + time.Second, true},
		{72 * time.Hour, true},
	} {
		t.Run(tc.age.String(), func(t *testing.T) {
			started := now.Add(-tc.age)
			l := codec.Scan([]catalog.Entry{entry(codec.Name(started, catalog.Zstd)+catalog.PartialSuffix, started)}, now)
			res, err := Plan(l, p, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := len(res.Delete) == 1; got != tc.delete {
				t.Errorf("partial aged %s deleted = %v, want %v", tc.age, got, tc.delete)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		policy Policy
		ok     bool
	}{
		{"default", DefaultPolicy(), true},
		{"keep-1", Policy{Keep: 1, StalePartialAge: time.Hour}, true},
		{"tiers", Policy{Keep: 24, KeepDaily: 7, KeepWeekly: 4, StalePartialAge: time.Hour}, true},
		{"zero-value", Policy{}, false},
		{"keep-0", Policy{Keep: 0, StalePartialAge: time.Hour}, false},
		{"keep-negative", Policy{Keep: -5, StalePartialAge: time.Hour}, false},
		{"daily-negative", Policy{Keep: 5, KeepDaily: -1, StalePartialAge: time.Hour}, false},
		{"weekly-negative", Policy{Keep: 5, KeepWeekly: -1, StalePartialAge: time.Hour}, false},
		{"no-partial-age", Policy{Keep: 5}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.policy.Validate()
			if got := err == nil; got != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			// An invalid policy plans nothing, even for a full listing.
			res, perr := Plan(codec.Scan(hourly(now, 5, catalog.Zstd), now), tc.policy, now)
			if (perr == nil) != tc.ok {
				t.Errorf("Plan error = %v, want ok=%v", perr, tc.ok)
			}
			if !tc.ok && (len(res.Delete) != 0 || len(res.Keep) != 0) {
				t.Errorf("invalid policy produced decisions: %+v", res)
			}
		})
	}
	if err := (Policy{Keep: 0, StalePartialAge: time.Hour}).Validate(); err == nil || !strings.Contains(err.Error(), "keep must be at least 1") {
		t.Errorf("Validate() = %v, want it to say keep must be at least 1", err)
	}
}

func TestOrdinal(t *testing.T) {
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 112: "112th", 168: "168th", 169: "169th"} {
		if got := ordinal(n); got != want {
			t.Errorf("ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}

package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestRestoredRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 1, 5, 2, 17, 0, time.UTC)
	for _, tc := range []struct {
		name string
		r    Restored
		text string
	}{
		{"estimate", Restored{At: at, Host: "yesterday", Tables: 41, Rows: 2134567, RowsApprox: true, Seconds: 93},
			"2026-12-01T05:02:17Z yesterday 41t ~2134567r 93s 0fb"},
		{"exact", Restored{At: at, Host: "y-1.local", Tables: 3, Rows: 12, Seconds: 0, Fallbacks: 2},
			"2026-12-01T05:02:17Z y-1.local 3t 12r 0s 2fb"},
		{"unknown rows", Restored{At: at, Host: "h", Tables: 0, Rows: -1, Seconds: 5},
			"2026-12-01T05:02:17Z h 0t ?r 5s 0fb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.String(); got != tc.text {
				t.Fatalf("String() = %q, want %q", got, tc.text)
			}
			back, err := ParseRestored(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if back != tc.r {
				t.Errorf("ParseRestored = %+v, want %+v", back, tc.r)
			}
		})
	}
}

// Records written before seconds were kept still read, to the minute.
func TestRestoredOfMinutesStillReads(t *testing.T) {
	r, err := ParseRestored("2026-12-01T05:02Z yesterday 41t ~2134567r 93s 0fb")
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 12, 1, 5, 2, 0, 0, time.UTC); !r.At.Equal(want) || r.Tables != 41 {
		t.Errorf("ParseRestored = %+v, want at %v", r, want)
	}
}

func TestRestoredFitsADriveProperty(t *testing.T) {
	r := Restored{At: time.Date(2026, 12, 1, 5, 2, 0, 0, time.UTC), Host: strings.Repeat("h", 300) + " évil",
		Tables: 1<<31 - 1, Rows: 1<<62 - 1, RowsApprox: true, Seconds: 1<<62 - 1, Fallbacks: 1<<31 - 1}
	s := r.String()
	if n := len(MetaRestored) + len(s); n > 124 {
		t.Fatalf("key and value are %d bytes, Drive allows 124: %q", n, s)
	}
	back, err := ParseRestored(s)
	if err != nil {
		t.Fatalf("the longest record does not parse back: %v", err)
	}
	if back.Tables != maxTables || back.Rows != maxRows || back.Seconds != maxSeconds || back.Fallbacks != maxFallbacks {
		t.Errorf("figures not bounded: %+v", back)
	}
	if got := (Restored{At: r.At, Host: "a b\nc", Rows: -1}).String(); !strings.Contains(got, " a_b_c ") {
		t.Errorf("host not cleaned: %q", got)
	}
}

func TestParseRestoredRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"2026-12-01T05:02Z yesterday 41t 5r 93s",
		"2026-12-01T05:02Z yesterday 41t 5r 93s 0fb extra",
		"2026-12-01 yesterday 41t 5r 93s 0fb",
		"2026-12-01T05:02Z yes/terday 41t 5r 93s 0fb",
		"2026-12-01T05:02Z yesterday -1t 5r 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t 5 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t ~~5r 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t +5r 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t 5r 93s 10000fb",
		"2026-12-01T05:02Z yesterday 1000000t 5r 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t 05r 93s 0fb",
		"2026-12-01T05:02Z  41t 5r 93s 0fb",
		"2026-12-01T05:02Z yesterday 41t 5r 93s 0fb" + strings.Repeat(" ", 100),
		"2026-12-01T05:02:60Z yesterday 41t 5r 93s 0fb",
		"2026-12-01T05:02:5Z yesterday 41t 5r 93s 0fb",
		"2026-12-01T05:02:05.5Z yesterday 41t 5r 93s 0fb",
		"2026-12-01T05:02:05 yesterday 41t 5r 93s 0fb",
	} {
		if r, err := ParseRestored(s); err == nil {
			t.Errorf("ParseRestored(%q) = %+v, want an error", s, r)
		}
	}
}

func TestScanReadsRestoreRecords(t *testing.T) {
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var c Codec
	l := c.Scan([]Entry{
		{Name: "db-backup-20261201-030000.sql.zst", Size: 10, Meta: map[string]string{MetaRestored: "2026-12-01T05:02Z yesterday 41t ~2134567r 93s 0fb"}},
		{Name: "db-backup-20261201-040000.sql.zst", Size: 10, Meta: map[string]string{MetaRestored: "garbage"}},
		{Name: "db-backup-20261201-050000.sql.zst", Size: 10},
	}, now)
	if got := len(l.Backups); got != 3 {
		t.Fatalf("%d backups, want 3", got)
	}
	if r := l.Backups[0].Restored; r == nil || r.Tables != 41 || r.Host != "yesterday" {
		t.Errorf("first backup's record = %+v", r)
	}
	if r := l.Backups[1].Restored; r != nil {
		t.Errorf("a malformed record was read: %+v", r)
	}
	if r := l.Backups[2].Restored; r != nil {
		t.Errorf("a backup without a record has one: %+v", r)
	}
}

// FuzzParseRestored: the record comes from the backup folder, which anyone
// with write access can change. A record that parses must print back the
// same (one of minutes only, with ":00" seconds) and stay within Drive's
// limit.
func FuzzParseRestored(f *testing.F) {
	for _, s := range []string{
		"2026-12-01T05:02:17Z yesterday 41t ~2134567r 93s 0fb",
		"9999-12-31T23:59:59Z x 999999t ~999999999999999r 999999999s 9999fb",
		"2026-12-01T05:02Z yesterday 41t ~2134567r 93s 0fb",
		"2026-12-01T05:02Z h 0t ?r 5s 0fb",
		"2026-12-01T05:02Z a 1t 1r 1s 1fb",
		"9999-12-31T23:59Z x 999999t ~999999999999999r 999999999s 9999fb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRestored(s)
		if err != nil {
			return
		}
		want := s
		if len(s) > 16 && s[16] == 'Z' {
			want = s[:16] + ":00" + s[16:]
		}
		if got := r.String(); got != want {
			t.Errorf("ParseRestored(%q).String() = %q, want %q", s, got, want)
		}
		if len(MetaRestored)+len(s) > 124 {
			t.Errorf("accepted a record of %d bytes", len(s))
		}
	})
}

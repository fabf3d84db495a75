package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestNameRoundTrip(t *testing.T) {
	c := Codec{}
	at := time.Date(2026, 11, 26, 3, 0, 7, 999, time.FixedZone("CET", 3600))
	name := c.Name(at, Zstd)
	if got, want := name, "db-backup-20261126-020007.sql.zst"; got != want {
		t.Fatalf("Name = %q, want %q", got, want)
	}
	b, ok := c.Parse(name)
	if !ok {
		t.Fatalf("Parse(%q) failed", name)
	}
	if got, want := b.Time, time.Date(2026, 11, 26, 2, 0, 7, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("Time = %v, want %v in UTC", got, want)
	}
	if b.Format != Zstd || b.Partial {
		t.Errorf("Format, Partial = %v, %v", b.Format, b.Partial)
	}
	if got, want := b.TimeString(), "2026-11-26 02:00:07 UTC"; got != want {
		t.Errorf("TimeString = %q, want %q", got, want)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		prefix  string
		ok      bool
		format  Format
		partial bool
	}{
		{name: "db-backup-20260101-000000.sql.zst", ok: true, format: Zstd},
		{name: "db-backup-20251231-235959.sql.gz", ok: true, format: Gzip},
		{name: "db-backup-20260101-000000.sql.zst.partial", ok: true, format: Zstd, partial: true},
		{name: "db-backup-20260101-000000.sql.gz.partial", ok: true, format: Gzip, partial: true},
		{name: "db-backup-20260101-000000.sql.zst.age", ok: true, format: ZstdAge},
		{name: "db-backup-20260101-000000.sql.zst.age.partial", ok: true, format: ZstdAge, partial: true},
		{name: "db-backup-20260101-000000.sql.gz.age", ok: false},
		{name: "db-backup-20260101-000000.sql.age", ok: false},
		{name: "db-backup-20260101-000000.sql", ok: false},
		{name: "db-backup-20260101-000000.sql.bz2", ok: false},
		{name: "db-backup-2026011-000000.sql.zst", ok: false},
		{name: "db-backup-20261301-000000.sql.zst", ok: false},
		{name: "db-backup-20260101-250000.sql.zst", ok: false},
		{name: "db-backup-20260101-000000.sql.zst.bak", ok: false},
		{name: "notes.txt", ok: false},
		{name: "other-20260101-000000.sql.zst", ok: false},
		{name: "app-20260101-000000.sql.zst", prefix: "app-", ok: true, format: Zstd},
		{name: "db-backup-20260101-000000.sql.zst", prefix: "app-", ok: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, ok := Codec{Prefix: tt.prefix}.Parse(tt.name)
			if ok != tt.ok {
				t.Fatalf("Parse ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if b.Format != tt.format || b.Partial != tt.partial {
				t.Errorf("Format, Partial = %v, %v; want %v, %v", b.Format, b.Partial, tt.format, tt.partial)
			}
			if b.RawSize != -1 {
				t.Errorf("RawSize = %d, want -1 (unknown)", b.RawSize)
			}
		})
	}
}

func TestScan(t *testing.T) {
	c := Codec{}
	entries := []Entry{
		{Name: "db-backup-20260102-030000.sql.zst", Size: 10, Meta: Meta("abc", 42)},
		{Name: "README"},
		{Name: "db-backup-20260101-030000.sql.gz", Size: 5},
		{Name: "db-backup-20260103-030000.sql.zst.partial", Size: 3},
		{Name: "db-backup-20260101-030000.sql.zst", Size: 7, Meta: map[string]string{MetaRawSize: "bogus"}},
	}
	l := c.Scan(entries, time.Date(2026, 1, 4, 0, 0, 0, 0, time.UTC))
	var names []string
	for _, b := range l.Backups {
		names = append(names, b.Name)
	}
	want := []string{"db-backup-20260101-030000.sql.gz", "db-backup-20260101-030000.sql.zst", "db-backup-20260102-030000.sql.zst"}
	if len(names) != len(want) {
		t.Fatalf("Backups = %v, want %v", names, want)
	}
	for i := range want {
		if names[i] != want[i] {
			t.Errorf("Backups[%d] = %s, want %s", i, names[i], want[i])
		}
	}
	if got := l.Backups[2]; got.SHA256 != "abc" || got.RawSize != 42 || got.Size != 10 {
		t.Errorf("metadata not read: %+v", got)
	}
	if got := l.Backups[1].RawSize; got != -1 {
		t.Errorf("malformed raw size read as %d, want -1", got)
	}
	if len(l.Partials) != 1 || !l.Partials[0].Partial {
		t.Errorf("Partials = %+v", l.Partials)
	}
	if len(l.Foreign) != 1 || l.Foreign[0].Name != "README" {
		t.Errorf("Foreign = %+v", l.Foreign)
	}
}

// TestProblem is the one definition of a backup, at fixed clocks.
func TestProblem(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)
	c := Codec{}
	tests := []struct {
		name string
		at   time.Time
		size int64
		want string // "" for a backup, else a word of the reason
	}{
		{"an hour old", now.Add(-time.Hour), 100, ""},
		{"now", now, 100, ""},
		{"size unknown", now.Add(-time.Hour), -1, ""},
		{"just within the tolerance", now.Add(FutureTolerance), 100, ""},
		{"just beyond the tolerance", now.Add(FutureTolerance + time.Second), 100, "ahead of the clock"},
		{"2099", time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), 100, "ahead of the clock"},
		{"empty", now.Add(-time.Hour), 0, "empty"},
		{"empty and in the future", now.Add(24 * time.Hour), 0, "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := c.Parse(c.Name(tt.at, Zstd))
			b.Size = tt.size
			got := b.Problem(now)
			if (got == "") != (tt.want == "") || !strings.Contains(got, tt.want) {
				t.Errorf("Problem = %q, want %q", got, tt.want)
			}
		})
	}
	b, _ := c.Parse(c.Name(now.Add(-time.Hour), Zstd))
	b.Size = 100
	if b.Problem(time.Time{}) == "" {
		t.Error("without a clock a backup passed")
	}
}

// TestScanIgnored: empty files and names dated in the future are listed
// apart, with the reason, oldest first; partials are not judged.
func TestScanIgnored(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)
	c := Codec{}
	entries := []Entry{
		{Name: "db-backup-20990101-000000.sql.zst", Size: 100},
		{Name: "db-backup-20250310-120000.sql.zst", Size: 100},
		{Name: "db-backup-20250310-110000.sql.gz", Size: 0},
		{Name: "db-backup-20250310-123500.sql.zst", Size: 100}, // 5 minutes ahead: a backup
		{Name: "db-backup-20250311-000000.sql.zst.partial", Size: 0},
	}
	l := c.Scan(entries, now)
	var backups, ignored []string
	for _, b := range l.Backups {
		backups = append(backups, b.Name)
	}
	for _, i := range l.Ignored {
		ignored = append(ignored, i.Backup.Name+": "+i.Reason)
	}
	if got, want := strings.Join(backups, " "), "db-backup-20250310-120000.sql.zst db-backup-20250310-123500.sql.zst"; got != want {
		t.Errorf("Backups = %s, want %s", got, want)
	}
	if len(ignored) != 2 || !strings.HasPrefix(ignored[0], "db-backup-20250310-110000.sql.gz: empty") ||
		!strings.HasPrefix(ignored[1], "db-backup-20990101-000000.sql.zst: dated 2099-01-01 00:00:00 UTC") {
		t.Errorf("Ignored = %q", ignored)
	}
	if len(l.Partials) != 1 {
		t.Errorf("Partials = %+v", l.Partials)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("db-backup-20260101-000000.sql.zst")
	f.Add("db-backup-20260101-000000.sql.gz.partial")
	f.Fuzz(func(t *testing.T, name string) {
		c := Codec{}
		b, ok := c.Parse(name)
		if !ok {
			return
		}
		// Anything accepted must re-encode to the same name.
		re := c.Name(b.Time, b.Format)
		if b.Partial {
			re += PartialSuffix
		}
		if re != name {
			t.Fatalf("Parse(%q) re-encodes as %q", name, re)
		}
	})
}

func TestEncryptedNameAndMeta(t *testing.T) {
	c := Codec{}
	at := time.Date(2026, 11, 26, 2, 0, 7, 0, time.UTC)
	name := c.Name(at, ZstdAge)
	if got, want := name, "db-backup-20261126-020007.sql.zst.age"; got != want {
		t.Fatalf("Name = %q, want %q", got, want)
	}
	meta := Meta("abc", 42)
	meta[MetaSignature] = "sig"
	l := c.Scan([]Entry{{Name: name, Size: 9, Meta: meta}, {Name: c.Name(at.Add(-time.Hour), Zstd), Size: 9}}, at)
	if len(l.Backups) != 2 {
		t.Fatalf("Backups = %v, want 2", l.Backups)
	}
	plain, enc := l.Backups[0], l.Backups[1]
	if plain.Encrypted() || !enc.Encrypted() {
		t.Errorf("Encrypted = %v, %v; want false, true", plain.Encrypted(), enc.Encrypted())
	}
	if enc.Signature != "sig" || enc.Version != FormatVersion {
		t.Errorf("Signature, Version = %q, %q; want %q, %q", enc.Signature, enc.Version, "sig", FormatVersion)
	}
	if plain.Signature != "" || plain.Version != "" {
		t.Errorf("unstamped backup: Signature, Version = %q, %q; want empty", plain.Signature, plain.Version)
	}
	// Drive limits a property's key and value to 124 bytes together: an
	// Ed25519 signature is 86 characters of unpadded base64url.
	if n := len(MetaSignature) + 86; n > 124 {
		t.Errorf("signature property is %d bytes, over Drive's 124", n)
	}
}

// Binary log coordinates are read only whole and well formed: a backup
// with anything less is not usable for recovery.
func TestScanBinlogCoordinates(t *testing.T) {
	c := Codec{}
	at := time.Date(2026, 11, 26, 3, 0, 1, 500000000, time.UTC)
	good := map[string]string{MetaBinlog: "binlog.000003:157", MetaBinlogServer: "id1", MetaBinlogAt: at.Format(BinlogAtLayout)}
	for _, tc := range []struct {
		name   string
		change func(m map[string]string)
		ok     bool
	}{
		{"whole", func(map[string]string) {}, true},
		{"no time", func(m map[string]string) { delete(m, MetaBinlogAt) }, false},
		{"no server", func(m map[string]string) { delete(m, MetaBinlogServer) }, false},
		{"time in another layout", func(m map[string]string) { m[MetaBinlogAt] = at.Format(time.RFC3339) }, false},
		{"time not UTC", func(m map[string]string) { m[MetaBinlogAt] = at.In(time.FixedZone("x", 3600)).Format(BinlogAtLayout) }, false},
		{"control character", func(m map[string]string) { m[MetaBinlog] = "binlog.000003:157\n" }, false},
		{"too long", func(m map[string]string) { m[MetaBinlogServer] = strings.Repeat("x", 101) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			tc.change(m)
			l := c.Scan([]Entry{{Name: c.Name(at, Zstd), Size: 10, Meta: m}}, at.Add(time.Hour))
			b := l.Backups[0]
			if b.Recoverable() != tc.ok {
				t.Fatalf("Recoverable = %v, want %v (%q %q %v)", b.Recoverable(), tc.ok, b.Binlog, b.BinlogServer, b.BinlogAt)
			}
			if tc.ok && (b.Binlog != good[MetaBinlog] || !b.BinlogAt.Equal(at)) {
				t.Errorf("read %q %v", b.Binlog, b.BinlogAt)
			}
			if !tc.ok && (b.Binlog != "" || b.BinlogServer != "" || !b.BinlogAt.IsZero()) {
				t.Errorf("kept part of malformed coordinates: %q %q %v", b.Binlog, b.BinlogServer, b.BinlogAt)
			}
		})
	}
}

// TestScanBlockedRecord: the record of a blocked retention is neither a
// backup nor a foreign file, for any prefix; names that only resemble it
// are foreign.
func TestScanBlockedRecord(t *testing.T) {
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []Codec{{}, {Prefix: "app-"}} {
		record := Entry{Name: c.BlockedName(), Size: 10, ModTime: now}
		l := c.Scan([]Entry{
			record,
			{Name: c.BlockedName() + PartialSuffix, Size: 10},
			{Name: c.BlockedName() + ".txt", Size: 10},
			{Name: "x" + c.BlockedName(), Size: 10},
		}, now)
		if l.Blocked == nil || l.Blocked.Name != record.Name || !l.Blocked.ModTime.Equal(record.ModTime) {
			t.Errorf("prefix %q: Blocked = %+v, want %+v", c.Prefix, l.Blocked, record)
		}
		if len(l.Backups)+len(l.Partials)+len(l.Ignored) != 0 || len(l.Foreign) != 3 {
			t.Errorf("prefix %q: %+v, want the look-alikes foreign and nothing else", c.Prefix, l)
		}
	}
	if got, want := (Codec{}).BlockedName(), "db-backup-retention-blocked"; got != want {
		t.Errorf("BlockedName = %q, want %q", got, want)
	}
}

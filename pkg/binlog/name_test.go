package binlog

import (
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

func TestParsePos(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Pos
		ok   bool
	}{
		{"binlog.000003:157", Pos{"binlog.000003", 157}, true},
		{"mariadb-bin.000001:4", Pos{"mariadb-bin.000001", 4}, true},
		{"my_host-bin.123:99999999999", Pos{"my_host-bin.123", 99999999999}, true},
		{"binlog.000003:3", Pos{}, false},
		{"binlog.000003:0157", Pos{}, false},
		{"binlog.000003:-1", Pos{}, false},
		{"binlog.000003", Pos{}, false},
		{"binlog:157", Pos{}, false},
		{"bin log.000001:157", Pos{}, false},
		{"../etc.000001:157", Pos{}, false},
		{":157", Pos{}, false},
		{"binlog.12345678901:157", Pos{}, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParsePos(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("ParsePos(%q) error %v, want ok=%v", tc.in, err, tc.ok)
			}
			if got != tc.want {
				t.Errorf("ParsePos(%q) = %+v, want %+v", tc.in, got, tc.want)
			}
			if tc.ok && got.String() != tc.in {
				t.Errorf("String() = %q, want %q", got.String(), tc.in)
			}
		})
	}
}

func TestCompareAndNext(t *testing.T) {
	for _, tc := range []struct {
		a, b Pos
		want int
		ok   bool
	}{
		{Pos{"binlog.000003", 157}, Pos{"binlog.000003", 200}, -1, true},
		{Pos{"binlog.000004", 4}, Pos{"binlog.000003", 200}, 1, true},
		{Pos{"binlog.999999", 4}, Pos{"binlog.1000000", 4}, -1, true},
		{Pos{"binlog.000003", 157}, Pos{"binlog.000003", 157}, 0, true},
		{Pos{"binlog.000003", 157}, Pos{"other.000003", 157}, 0, false},
		{Pos{"binlog", 157}, Pos{"binlog.000003", 157}, 0, false},
	} {
		got, ok := Compare(tc.a, tc.b)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Compare(%v, %v) = %d, %v; want %d, %v", tc.a, tc.b, got, ok, tc.want, tc.ok)
		}
	}
	for in, want := range map[string]string{"binlog.000003": "binlog.000004", "binlog.999999": "binlog.1000000", "x.9": "x.10"} {
		if got, ok := Next(in); !ok || got != want {
			t.Errorf("Next(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

var (
	t0 = time.Date(2026, 12, 7, 21, 45, 25, 0, time.UTC)
	t1 = time.Date(2026, 12, 7, 21, 46, 24, 0, time.UTC)
)

func TestSegmentNames(t *testing.T) {
	c := Codec{}
	for _, tc := range []struct {
		name string
		seg  Segment
		want string
	}{
		{"mysql", Segment{Server: "72e53b50-f287-11f1-8d2c-02fc00000001", Writer: 1234567, File: "binlog.000001", Start: 1288, End: 2180,
			First: t0, Last: t1, FirstGTID: "6", LastGTID: "8"},
			"db-backup-binlog-20261207-214525~20261207-214624_72e53b50-f287-11f1-8d2c-02fc00000001_w1234567_binlog.000001_1288-2180_g6~8.zst"},
		{"mariadb rotated encrypted", Segment{Server: "id1", File: "my_host-bin.000012", Start: 4, End: 330, Rotated: true,
			First: t0, Last: t0, FirstGTID: "0-1-13", LastGTID: "0-1-14", Encrypted: true},
			"db-backup-binlog-20261207-214525~20261207-214525_id1_w0_my_host-bin.000012_4-330r_g0-1-13~0-1-14.zst.age"},
		{"no gtids", Segment{Server: "id7", Writer: 4294967295, File: "binlog.000001", Start: 4, End: 5, First: t0, Last: t1},
			"db-backup-binlog-20261207-214525~20261207-214624_id7_w4294967295_binlog.000001_4-5_g.zst"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckSegment(tc.seg); err != nil {
				t.Fatal(err)
			}
			got := c.Name(tc.seg)
			if got != tc.want {
				t.Fatalf("Name = %q\nwant   %q", got, tc.want)
			}
			back, ok := c.Parse(got)
			if !ok {
				t.Fatalf("Parse(%q) failed", got)
			}
			tc.seg.Name, tc.seg.RawSize = got, -1
			if back != tc.seg {
				t.Errorf("Parse = %+v\nwant    %+v", back, tc.seg)
			}
			p, ok := c.Parse(got + catalog.PartialSuffix)
			if !ok || !p.Partial {
				t.Errorf("Parse of the partial upload = %+v, %v", p, ok)
			}
		})
	}
}

func TestParseRefusesForeignNames(t *testing.T) {
	c := Codec{}
	good := "db-backup-binlog-20261207-214525~20261207-214624_id1_w5_binlog.000001_1288-2180_g6~8.zst"
	if _, ok := c.Parse(good); !ok {
		t.Fatalf("the good name does not parse")
	}
	for _, name := range []string{
		"db-backup-20261207-214525.sql.zst",
		"other-binlog-20261207-214525~20261207-214624_id1_binlog.000001_1288-2180_g6~8.zst",
		strings.Replace(good, ".zst", ".gz", 1),
		strings.Replace(good, "1288-2180", "2180-1288", 1),
		strings.Replace(good, "1288-2180", "2-2180", 1),
		strings.Replace(good, "1288-2180", "01288-2180", 1),
		strings.Replace(good, "214525~", "214525-", 1),
		strings.Replace(good, "~20261207-214624", "~20261207-214524", 1),
		strings.Replace(good, "_id1_", "_id/1_", 1),
		strings.Replace(good, "_id1_", "__", 1),
		strings.Replace(good, "_w5_", "_5_", 1),
		strings.Replace(good, "_w5_", "_w05_", 1),
		strings.Replace(good, "_w5_", "_w4294967296_", 1),
		strings.Replace(good, "_w5_", "_", 1),
		strings.Replace(good, "binlog.000001", "../binlog.000001", 1),
		strings.Replace(good, "binlog.000001", "binlog", 1),
		strings.Replace(good, "_g6~8", "_6~8", 1),
		strings.Replace(good, "_g6~8", "_g6", 1),
		strings.Replace(good, "_g6~8", "_g6~8'", 1),
		strings.Replace(good, "20261207-214525~", "20261307-214525~", 1),
	} {
		if s, ok := c.Parse(name); ok {
			t.Errorf("Parse(%q) = %+v, want not a segment", name, s)
		}
	}
	if _, ok := (Codec{Prefix: "other-"}).Parse(good); ok {
		t.Errorf("a segment of another prefix parses")
	}
}

func TestScan(t *testing.T) {
	c := Codec{}
	now := t1.Add(time.Hour)
	seg := func(file string, start, end uint64, last time.Time) string {
		return c.Name(Segment{Server: "id1", File: file, Start: start, End: end, First: t0, Last: last})
	}
	entries := []catalog.Entry{
		{Name: seg("binlog.000002", 4, 100, t1), Size: 10, Meta: map[string]string{catalog.MetaSHA256: "ab", catalog.MetaRawSize: "99"}},
		{Name: seg("binlog.000001", 500, 900, t1), Size: 10, Meta: map[string]string{catalog.MetaRawSize: "x"}},
		{Name: seg("binlog.000001", 4, 500, t1), Size: 10},
		{Name: seg("binlog.000001", 900, 950, t1) + catalog.PartialSuffix, Size: 10},
		{Name: seg("binlog.000003", 4, 100, t1), Size: 0},
		{Name: seg("binlog.000004", 4, 100, now.Add(time.Hour)), Size: 10},
		{Name: "notes.txt", Size: 3},
	}
	l := c.Scan(entries, now)
	var got []string
	for _, s := range l.Segments {
		got = append(got, s.From().String())
	}
	if want := "binlog.000001:4 binlog.000001:500 binlog.000002:4"; strings.Join(got, " ") != want {
		t.Errorf("segments %v, want %s", got, want)
	}
	if l.Segments[2].SHA256 != "ab" || l.Segments[2].RawSize != 99 || l.Segments[1].RawSize != -1 {
		t.Errorf("metadata not read: %+v", l.Segments)
	}
	if len(l.Partials) != 1 || len(l.Ignored) != 2 || len(l.Foreign) != 1 {
		t.Errorf("partials %d ignored %d foreign %d, want 1 2 1", len(l.Partials), len(l.Ignored), len(l.Foreign))
	}
}

func FuzzSegmentName(f *testing.F) {
	f.Add("db-backup-binlog-20261207-214525~20261207-214624_id1_w5_binlog.000001_1288-2180_g6~8.zst")
	f.Add("db-backup-binlog-20261207-214525~20261207-214525_id1_w7_my_host-bin.000012_4-330r_g0-1-13~0-1-14.zst.age.partial")
	f.Fuzz(func(t *testing.T, name string) {
		c := Codec{}
		s, ok := c.Parse(name)
		if !ok {
			return
		}
		if err := CheckSegment(s); err != nil {
			t.Fatalf("Parse(%q) accepted a segment CheckSegment refuses: %v", name, err)
		}
		back := c.Name(s)
		if s.Partial {
			back += catalog.PartialSuffix
		}
		if back != name {
			t.Fatalf("Parse(%q) does not name it again: %q", name, back)
		}
	})
}

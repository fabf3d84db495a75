package recovery

import (
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
)

var t0 = time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// backup taken at minute m, its coordinates file:off of server "id1".
func backup(m int, file string, off uint64) catalog.Backup {
	b := catalog.Backup{Name: catalog.Codec{}.Name(at(m), catalog.Zstd), Time: at(m), Size: 10, RawSize: -1}
	if file != "" {
		b.Binlog = binlog.Pos{File: file, Offset: off}.String()
		b.BinlogServer = "id1"
		b.BinlogAt = at(m).Add(time.Second)
	}
	return b
}

// seg holds file from start to end, its transactions from minute m0 to m1.
func seg(file string, start, end uint64, m0, m1 int, rotated bool) binlog.Segment {
	s := binlog.Segment{Server: "id1", File: file, Start: start, End: end, Rotated: rotated, First: at(m0), Last: at(m1), Size: 10}
	s.Name = binlog.Codec{}.Name(s)
	return s
}

func names(ss []binlog.Segment) string {
	var out []string
	for _, s := range ss {
		out = append(out, s.From().String()+"-"+s.To().String())
	}
	return strings.Join(out, " ")
}

func TestMake(t *testing.T) {
	b1 := backup(0, "bin.000001", 150)
	b2 := backup(60, "bin.000002", 500)
	noCoords := backup(90, "", 0)
	segs := []binlog.Segment{
		seg("bin.000001", 4, 150, -5, 0, false),
		seg("bin.000001", 150, 400, 0, 30, false),
		seg("bin.000001", 150, 300, 0, 20, false), // a second stream's, shorter
		seg("bin.000001", 400, 900, 30, 45, true),
		seg("bin.000002", 4, 500, 45, 60, false),
		seg("bin.000002", 500, 800, 60, 75, false),
		seg("bin.000002", 800, 1000, 75, 100, false),
	}
	for _, tc := range []struct {
		name     string
		backups  []catalog.Backup
		segs     []binlog.Segment
		target   time.Time
		backup   string
		chain    string
		reach    time.Time
		complete bool
		missing  string
	}{
		{"latest", []catalog.Backup{b1, b2, noCoords}, segs, time.Time{}, b2.Name,
			"bin.000002:500-bin.000002:800 bin.000002:800-bin.000002:1000", at(100), true, ""},
		{"between the backups", []catalog.Backup{b1, b2}, segs, at(35), b1.Name,
			"bin.000001:150-bin.000001:400 bin.000001:400-bin.000001:900", at(35), true, ""},
		{"across a file's end", []catalog.Backup{b1, b2}, segs, at(50), b1.Name,
			"bin.000001:150-bin.000001:400 bin.000001:400-bin.000001:900 bin.000002:4-bin.000002:500", at(50), true, ""},
		{"right after a backup", []catalog.Backup{b1, b2}, segs, at(60).Add(30 * time.Second), b2.Name,
			"bin.000002:500-bin.000002:800", at(60).Add(30 * time.Second), true, ""},
		{"before any backup", []catalog.Backup{b1, b2}, segs, at(-1), "", "", time.Time{}, false, "no backup with binary log coordinates taken before"},
		{"no coordinates anywhere", []catalog.Backup{noCoords}, segs, time.Time{}, "", "", time.Time{}, false, "no backup with binary log coordinates in the remote"},
		{"past the log's end", []catalog.Backup{b1, b2}, segs, at(200), b2.Name,
			"bin.000002:500-bin.000002:800 bin.000002:800-bin.000002:1000", at(100), false, "ends at bin.000002:1000"},
		{"a gap", []catalog.Backup{b1}, []binlog.Segment{segs[1], segs[4], segs[5]}, time.Time{}, b1.Name,
			"bin.000001:150-bin.000001:400", at(30), false, "gap after bin.000001:400"},
		{"nothing copied", []catalog.Backup{b1}, nil, time.Time{}, b1.Name, "", b1.BinlogAt, false, "no segment of server id1 from after the backup"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := Make(tc.backups, tc.segs, tc.target)
			if p.Backup.Name != tc.backup {
				t.Fatalf("backup %q, want %q (passed %v, missing %v)", p.Backup.Name, tc.backup, p.Passed, p.Missing)
			}
			if got := names(p.Segments); got != tc.chain {
				t.Errorf("segments %s\nwant     %s", got, tc.chain)
			}
			if !p.Reach.Equal(tc.reach) || p.Complete != tc.complete {
				t.Errorf("reach %v complete %v, want %v %v", p.Reach, p.Complete, tc.reach, tc.complete)
			}
			if got := strings.Join(p.Missing, "; "); !strings.Contains(got, tc.missing) || (tc.missing == "") != (got == "") {
				t.Errorf("missing %q, want %q", got, tc.missing)
			}
		})
	}
}

func TestMakePassesBackups(t *testing.T) {
	b := backup(0, "bin.000001", 150)
	bad := backup(10, "bin.000001", 200)
	bad.Binlog = "no position"
	p := Make([]catalog.Backup{b, bad, backup(20, "", 0), backup(30, "bin.000001", 400)}, nil, at(25))
	if p.Backup.Name != b.Name {
		t.Fatalf("backup %s", p.Backup.Name)
	}
	var reasons []string
	for _, x := range p.Passed {
		reasons = append(reasons, x.Backup.Time.Format("15:04")+" "+x.Reason)
	}
	got := strings.Join(reasons, "\n")
	for _, want := range []string{"12:30 taken at or after", "12:20 no binary log coordinates", "12:10 its recorded coordinates do not read"} {
		if !strings.Contains(got, want) {
			t.Errorf("passed:\n%s\nlacks %q", got, want)
		}
	}
}

func TestUnneeded(t *testing.T) {
	b1 := backup(0, "bin.000002", 500)
	b2 := backup(60, "bin.000003", 100)
	other := seg("bin.000001", 4, 100, -300, -200, false)
	other.Server = "old-server"
	other.Name = binlog.Codec{}.Name(other)
	recent := other
	recent.Last = at(10)
	recent.Name = binlog.Codec{}.Name(recent)
	segs := []binlog.Segment{
		seg("bin.000001", 4, 900, -60, -30, true),
		seg("bin.000002", 4, 500, -30, 0, false),
		seg("bin.000002", 500, 800, 0, 30, true),
		seg("bin.000002", 4, 600, -30, 5, false), // straddles the backup
		seg("bin.000003", 4, 100, 30, 60, false),
		other, recent,
	}
	got := names(Unneeded(segs, []catalog.Backup{b2, b1}))
	want := names([]binlog.Segment{segs[0], segs[1], other})
	if !sameSet(got, want) {
		t.Errorf("unneeded %s\nwant       %s", got, want)
	}
	if u := Unneeded(segs, nil); len(u) != 0 {
		t.Errorf("with no kept backup, %d unneeded", len(u))
	}
	// Kept backups without coordinates: only what is older than the oldest.
	if u := Unneeded(segs, []catalog.Backup{backup(20, "", 0)}); !sameSet(names(u), names([]binlog.Segment{segs[0], segs[1], segs[3], other, recent})) {
		t.Errorf("unneeded without coordinates: %s", names(u))
	}
}

func sameSet(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	if len(x) != len(y) {
		return false
	}
	m := map[string]int{}
	for _, s := range x {
		m[s]++
	}
	for _, s := range y {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// Segments of an earlier life of the server, at the same positions as the
// new life's (a MariaDB rebuilt with the same server id), are not
// followed from a backup of the new one.
func TestMakeIgnoresAnEarlierLife(t *testing.T) {
	b := backup(600, "bin.000001", 150)
	old := seg("bin.000001", 4, 900, 0, 30, false)
	now := seg("bin.000001", 100, 400, 595, 620, false)
	p := Make([]catalog.Backup{b}, []binlog.Segment{old, now}, time.Time{})
	if got := names(p.Segments); got != "bin.000001:100-bin.000001:400" || !p.Complete {
		t.Errorf("segments %s, complete %v, missing %v", got, p.Complete, p.Missing)
	}
	p = Make([]catalog.Backup{b}, []binlog.Segment{old}, time.Time{})
	if len(p.Segments) != 0 || p.Complete {
		t.Errorf("an earlier life's segment followed: %s", names(p.Segments))
	}
}

package main

import (
	"testing"
	"time"

	"github.com/backupd/backupd/internal/cli"
	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/seal"
)

// A segment name planted in the remote, unsigned, that starts at the
// backup's coordinates, reaches furthest and says it committed after the
// target: with a verify key given it is not planned, so it can neither
// make "--to T" complete with no segment (the backup alone, a silent loss)
// nor take the genuine segments' place.
func TestPlanForLeavesOutUnsignedSegments(t *testing.T) {
	key, err := seal.GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 7, 21, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	b := catalog.Backup{Name: catalog.Codec{}.Name(at(0), catalog.Zstd), Time: at(0), Size: 10, RawSize: -1, SHA256: "00",
		Binlog: "bin.000001:150", BinlogServer: "id1", BinlogAt: at(0).Add(time.Second)}
	b.Signature = key.Sign(seal.StatementOf(b))
	seg := func(start, end uint64, m0, m1 int, sign bool) binlog.Segment {
		s := binlog.Segment{Server: "id1", File: "bin.000001", Start: start, End: end, First: at(m0), Last: at(m1), Size: 10, RawSize: -1, SHA256: "00"}
		s.Name = binlog.Codec{}.Name(s)
		if sign {
			s.Signature = key.Sign(seal.StatementOf(s.Backup()))
		}
		return s
	}
	good1, good2 := seg(150, 400, 1, 30, true), seg(400, 900, 30, 45, true)
	planted := seg(150, 999999, 50, 50, false)
	segs := []binlog.Segment{good1, good2, planted}
	binlog.Sort(segs)
	keys := cli.Keys{VerifyKeys: []seal.VerifyKey{key.Public()}}

	for _, target := range []time.Time{at(40), {}} {
		p, _ := planFor([]catalog.Backup{b}, segs, target, keys, false)
		if len(p.Segments) != 2 || p.Segments[0].Name != good1.Name || p.Segments[1].Name != good2.Name {
			var names []string
			for _, s := range p.Segments {
				names = append(names, s.Name)
			}
			t.Errorf("to %v: complete %v, segments %v, want the two signed ones", target, p.Complete, names)
		}
	}
	// A backup that is not signed is not planned from either.
	unsigned := b
	unsigned.Signature = ""
	if p, _ := planFor([]catalog.Backup{unsigned}, segs, at(40), keys, false); p.Backup.Name != "" || p.Complete {
		t.Errorf("planned from an unsigned backup: %+v", p)
	}
}

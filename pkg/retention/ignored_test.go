package retention

import (
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// TestPlanNeverCountsWhatIsNotABackup: three real backups, an empty file
// with a backup's name and one named for 2099. Keeping 3 keeps the three
// real ones and deletes nothing; the other two are neither counted nor
// deleted.
func TestPlanNeverCountsWhatIsNotABackup(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2025, 3, 10, h, 0, 0, 0, time.UTC) }
	real := []catalog.Entry{
		{Name: codec.Name(at(10), catalog.Zstd), Size: 100, ModTime: at(10)},
		{Name: codec.Name(at(11), catalog.Zstd), Size: 100, ModTime: at(11)},
		{Name: codec.Name(at(12), catalog.Zstd), Size: 100, ModTime: at(12)},
	}
	empty := catalog.Entry{Name: codec.Name(at(12).Add(time.Minute), catalog.Zstd), Size: 0, ModTime: at(12)}
	future := catalog.Entry{Name: codec.Name(time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), catalog.Zstd), Size: 100, ModTime: at(12)}
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)

	res, err := Plan(codec.Scan(append(real, empty, future), now), Policy{Keep: 3, StalePartialAge: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Delete) != 0 {
		t.Errorf("deletes %v, want nothing", names(res.Delete))
	}
	kept := map[string]bool{}
	for _, d := range res.Keep {
		kept[d.Backup.Name] = true
	}
	for _, e := range real {
		if !kept[e.Name] {
			t.Errorf("real backup %s not kept", e.Name)
		}
	}
	for _, e := range []catalog.Entry{empty, future} {
		if kept[e.Name] {
			t.Errorf("%s counted as a kept backup", e.Name)
		}
	}
	if len(res.Ignored) != 2 {
		t.Errorf("Ignored = %+v, want the empty and the 2099 file", res.Ignored)
	}
}

// TestPlanRejudgesBackups: a listing put together by hand (not by Scan)
// is judged by the same definition.
func TestPlanRejudgesBackups(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 30, 0, 0, time.UTC)
	l := codec.Scan([]catalog.Entry{
		{Name: codec.Name(now.Add(-2*time.Hour), catalog.Zstd), Size: 100},
		{Name: codec.Name(now.Add(-time.Hour), catalog.Zstd), Size: 100},
	}, now)
	b, _ := codec.Parse(codec.Name(now.Add(48*time.Hour), catalog.Zstd))
	b.Size = 100
	l.Backups = append(l.Backups, b)
	res, err := Plan(l, Policy{Keep: 2, StalePartialAge: time.Hour}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Delete) != 0 || res.Complete() != 2 || len(res.Ignored) != 1 {
		t.Errorf("plan keeps %v, deletes %v, ignores %+v", names(res.Keep), names(res.Delete), res.Ignored)
	}
}

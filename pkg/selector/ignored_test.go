package selector

import (
	"errors"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// TestPickNeverTakesWhatIsNotABackup: an empty file and one named for a
// time far ahead of the clock are never picked, nor offered as fallbacks.
func TestPickNeverTakesWhatIsNotABackup(t *testing.T) {
	now := time.Date(2025, 3, 10, 6, 0, 0, 0, time.UTC)
	future := spec(t, "20990101-000000 zst")
	soon := spec(t, "20250310-060500 zst") // within the tolerance: a clock a little behind
	empty := spec(t, "20250309-030000 zst empty")

	if c, err := Pick([]catalog.Backup{future, empty}, now, DefaultPolicy()); !errors.Is(err, ErrNoBackup) {
		t.Errorf("Pick = %s, %v; want ErrNoBackup", c.Backup.Name, err)
	}
	old := spec(t, "20250301-030000 zst")
	c, err := Pick([]catalog.Backup{future, old, empty, soon}, now, DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range c.Candidates {
		if b.Name == future.Name || b.Name == empty.Name {
			t.Errorf("candidate %s is not a backup", b.Name)
		}
	}
	if len(c.Candidates) != 2 {
		t.Errorf("candidates %v, want %s and %s", c.Candidates, soon.Name, old.Name)
	}
}

package backup

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/backupd/backupd/pkg/catalog"
)

func TestAFailedPublishCheckPublishesNothing(t *testing.T) {
	s := newFakeStore()
	taken := errors.New("slot taken by machine-a")
	checked := 0
	ctx := WithPublishCheck(t.Context(), func(context.Context) error { checked++; return taken })
	job := Job{Dumper: dumperFunc(goodDump), Store: s, Codec: codec, Time: clock}
	if _, err := job.Run(ctx); !errors.Is(err, taken) {
		t.Fatalf("Run = %v, want the check's error", err)
	}
	if checked != 1 {
		t.Errorf("check called %d times, want once", checked)
	}
	if got := s.names(); len(got) != 0 {
		t.Errorf("published %q despite the failed check", got)
	}
}

// TestABackupByHandIgnoresClaims: "backupd now" runs no check, so a peer's
// claim on the slot never blocks it.
func TestABackupByHandIgnoresClaims(t *testing.T) {
	claim := "db-backup-claim-20250601-123000-20250601T123000.000000000-00000000-machine-a.claim"
	s := newFakeStore(catalog.Entry{Name: claim})
	job := Job{Dumper: dumperFunc(goodDump), Store: s, Codec: codec, Time: clock, History: s}
	rep, err := job.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.names(); !slices.Equal(got, []string{rep.Name, claim}) {
		t.Errorf("store = %q", got)
	}
}

package slot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/storage"
)

var slot10 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

func TestNamesRoundTripAndAreNeverBackups(t *testing.T) {
	for _, prefix := range []string{"", "app-"} {
		n := Names{Codec: catalog.Codec{Prefix: prefix}}
		at := time.Date(2025, 3, 1, 10, 0, 0, 123456789, time.UTC)
		name := n.Name(slot10, at, "1a2b3c4d", "machine.internal_1")
		c, ok := n.Parse(name)
		if !ok {
			t.Fatalf("Parse(%q) failed", name)
		}
		if !c.Slot.Equal(slot10) || !c.At.Equal(at) || c.Nonce != "1a2b3c4d" || c.Host != "machine-internal-1" {
			t.Errorf("Parse(%q) = %+v", name, c)
		}
		l := n.Codec.Scan([]catalog.Entry{{Name: name}, {Name: name + catalog.PartialSuffix}}, time.Now())
		if len(l.Backups) != 0 || len(l.Partials) != 0 || len(l.Foreign) != 2 {
			t.Errorf("the catalog takes claim %q for a backup: %+v", name, l)
		}
	}
	if got, want := (Names{}).Name(slot10, slot10, "00000000", "m"), "db-backup-claim-20250301-100000-20250301T100000.000000000-00000000-m.claim"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
}

func TestParseRejects(t *testing.T) {
	n := Names{}
	good := n.Name(slot10, slot10, "1a2b3c4d", "m")
	for _, name := range []string{
		"",
		"db-backup-20250301-100000.sql.zst",
		strings.TrimSuffix(good, Suffix),
		good + catalog.PartialSuffix,
		strings.Replace(good, "1a2b3c4d", "1A2B3C4D", 1),
		strings.Replace(good, "1a2b3c4d", "xxxxxxxx", 1),
		strings.Replace(good, "-m.claim", "-.claim", 1),
		strings.Replace(good, "-m.claim", "-m.x.claim", 1),
		strings.Replace(good, "20250301-100000-", "20250301-106000-", 1),
		"other-" + good,
	} {
		if c, ok := n.Parse(name); ok {
			t.Errorf("Parse(%q) = %+v, want rejected", name, c)
		}
	}
}

func FuzzParse(f *testing.F) {
	n := Names{}
	f.Add(n.Name(slot10, slot10, "1a2b3c4d", "machine"))
	f.Add("db-backup-claim-20250301-100000-20250301T100000.000000000-00000000-.claim")
	f.Add("db-backup-20250301-100000.sql.zst")
	f.Fuzz(func(t *testing.T, name string) {
		c, ok := n.Parse(name)
		if !ok {
			return
		}
		if got := n.Name(c.Slot, c.At, c.Nonce, c.Host); got != name {
			t.Errorf("Parse(%q) then Name = %q", name, got)
		}
		if l := n.Codec.Scan([]catalog.Entry{{Name: name}}, time.Now()); len(l.Backups)+len(l.Partials) != 0 {
			t.Errorf("claim %q scanned as a backup", name)
		}
	})
}

func TestWinner(t *testing.T) {
	at := func(s int) time.Time { return slot10.Add(time.Duration(s) * time.Second) }
	c := func(name string, slot time.Time, atSec int, host string) Claim {
		return Claim{Name: name, Slot: slot, At: at(atSec), Nonce: "00000000", Host: host}
	}
	cases := []struct {
		name   string
		claims []Claim
		want   string // "" for none
	}{
		{"none", nil, ""},
		{"earliest wins", []Claim{c("b", slot10, 2, "b"), c("a", slot10, 1, "z")}, "a"},
		{"tie broken by host", []Claim{c("x", slot10, 1, "m2"), c("y", slot10, 1, "m1")}, "y"},
		{"other slots ignored", []Claim{c("old", slot10.Add(-time.Hour), -3600, "a"), c("mine", slot10, 1, "b")}, "mine"},
		{"stale claim ignored", []Claim{c("stale", slot10, -3600, "a"), c("mine", slot10, 1, "b")}, "mine"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, ok := Winner(tc.claims, slot10, at(1), 10*time.Minute)
			if got := map[bool]string{true: w.Name}[ok]; got != tc.want {
				t.Errorf("winner = %q, want %q", got, tc.want)
			}
		})
	}
}

// laggy is a store whose listing does not show the names in hidden: a
// remote whose listing lags behind its writes.
type laggy struct {
	Store
	mu     sync.Mutex
	hidden func(name string) bool
}

func (l *laggy) List(ctx context.Context) ([]catalog.Entry, error) {
	es, err := l.Store.List(ctx)
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []catalog.Entry
	for _, e := range es {
		if l.hidden == nil || !l.hidden(e.Name) {
			out = append(out, e)
		}
	}
	return out, err
}

func (l *laggy) catchUp() {
	l.mu.Lock()
	l.hidden = nil
	l.mu.Unlock()
}

// memRemote names a memory remote of the test's own: memory remotes of one
// name are shared in the process, also between runs of -count.
func memRemote(t *testing.T) string {
	return fmt.Sprintf(":memory:%s-%d", t.Name(), remotes.Add(1))
}

var remotes atomic.Int64

func memStore(t *testing.T) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), memRemote(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestTheLaterClaimBacksOffAfterSettling(t *testing.T) {
	s := memStore(t)
	clock := slot10
	a := &Claimer{Store: s, Host: "a", Settle: time.Millisecond, Now: func() time.Time { return clock }}
	b := &Claimer{Store: s, Host: "b", Settle: time.Millisecond, Now: func() time.Time { return clock.Add(time.Millisecond) }}
	ha, err := a.Claim(context.Background(), slot10)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Claim(context.Background(), slot10)
	var taken *TakenError
	if !errors.As(err, &taken) || !errors.Is(err, ErrTaken) || taken.By.Host != "a" {
		t.Fatalf("second claim: %v, want taken by a", err)
	}
	if err := ha.Check(context.Background()); err != nil {
		t.Errorf("the winner's check: %v", err)
	}
	es, _ := s.List(context.Background())
	if got := (Names{}).Claims(es); len(got) != 1 || got[0].Host != "a" {
		t.Errorf("claims = %+v, want only a's (the loser removes its own)", got)
	}
}

// TestALateClaimIsCaughtBeforePublishing: the listing lags longer than the
// settle time, so both processes think they won; the check before
// publishing, once the listing has caught up, stops the later one.
func TestALateClaimIsCaughtBeforePublishing(t *testing.T) {
	s := memStore(t)
	lagA := &laggy{Store: s, hidden: func(n string) bool { return strings.HasSuffix(n, "-b"+Suffix) }}
	lagB := &laggy{Store: s, hidden: func(n string) bool { return strings.HasSuffix(n, "-a"+Suffix) }}
	a := &Claimer{Store: lagA, Host: "a", Settle: time.Millisecond, Now: func() time.Time { return slot10 }}
	b := &Claimer{Store: lagB, Host: "b", Settle: time.Millisecond, Now: func() time.Time { return slot10.Add(time.Second) }}
	ha, err := a.Claim(context.Background(), slot10)
	if err != nil {
		t.Fatal(err)
	}
	hb, err := b.Claim(context.Background(), slot10)
	if err != nil {
		t.Fatalf("b did not see a's claim, yet: %v", err)
	}
	lagA.catchUp()
	lagB.catchUp()
	if err := ha.Check(context.Background()); err != nil {
		t.Errorf("a's check: %v", err)
	}
	if err := hb.Check(context.Background()); !errors.Is(err, ErrTaken) {
		t.Errorf("b's check = %v, want taken", err)
	}
	hb.Release(false)
	ha.Release(true)
	es, _ := s.List(context.Background())
	if got := (Names{}).Claims(es); len(got) != 1 || got[0].Host != "a" {
		t.Errorf("claims = %+v, want a's kept until a later slot", got)
	}

	// The next slot's contest cleans the old slot's claims up.
	next := slot10.Add(time.Hour)
	c := &Claimer{Store: s, Host: "b", Settle: time.Millisecond, Now: func() time.Time { return next }}
	if _, err := c.Claim(context.Background(), next); err != nil {
		t.Fatal(err)
	}
	es, _ = s.List(context.Background())
	for _, cl := range (Names{}).Claims(es) {
		if !cl.Slot.Equal(next) {
			t.Errorf("old claim left: %s", cl.Name)
		}
	}
}

// failingPut is a store that cannot be written.
type failingPut struct{ Store }

func (failingPut) Put(context.Context, string, io.Reader, func() (map[string]string, error)) (catalog.Entry, error) {
	return catalog.Entry{}, errors.New("quota exceeded")
}

func TestAClaimThatCannotBeWrittenIsAnError(t *testing.T) {
	c := &Claimer{Store: failingPut{memStore(t)}, Host: "a", Settle: time.Millisecond}
	_, err := c.Claim(context.Background(), slot10)
	if err == nil || errors.Is(err, ErrTaken) || !strings.Contains(err.Error(), "quota exceeded") {
		t.Errorf("Claim = %v, want the write error", err)
	}
}

// refusingDelete is a store that may be written but refuses every delete,
// as a Shared Drive refuses a Contributor; it counts the deletes asked.
type refusingDelete struct {
	Store
	deletes atomic.Int64
}

func (s *refusingDelete) Delete(ctx context.Context, name string) error {
	s.deletes.Add(1)
	return fmt.Errorf("delete %s: %w", name, catalog.ErrDenied)
}

// TestCleanupStopsAtTheFirstFailedDelete: old claims pile up while the
// account may not delete; each contest asks to delete one of them, not
// every one.
func TestCleanupStopsAtTheFirstFailedDelete(t *testing.T) {
	s := &refusingDelete{Store: memStore(t)}
	for i := 1; i <= 20; i++ {
		old := slot10.Add(-time.Duration(i) * time.Hour)
		name := (Names{}).Name(old, old, "1a2b3c4d", "a")
		if _, err := s.Put(context.Background(), name, strings.NewReader("x"), func() (map[string]string, error) { return nil, nil }); err != nil {
			t.Fatal(err)
		}
	}
	c := &Claimer{Store: s, Host: "a", Settle: time.Millisecond, Now: func() time.Time { return slot10 }}
	if _, err := c.Claim(context.Background(), slot10); err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if got := s.deletes.Load(); got != 1 {
		t.Errorf("the contest asked for %d deletes of old claims, want 1", got)
	}
}

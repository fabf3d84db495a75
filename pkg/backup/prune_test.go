package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/retention"
)

// fakeStore keeps files in memory. Faults are injected through its func
// fields; every call is recorded.
type fakeStore struct {
	mu      sync.Mutex
	files   map[string]catalog.Entry
	calls   []string
	listErr error
	delErr  func(name string) error
}

func newFakeStore(entries ...catalog.Entry) *fakeStore {
	s := &fakeStore{files: map[string]catalog.Entry{}}
	for _, e := range entries {
		s.files[e.Name] = e
	}
	return s
}

func (s *fakeStore) List(ctx context.Context) ([]catalog.Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "list")
	if s.listErr != nil {
		return nil, s.listErr
	}
	return slices.Collect(maps.Values(s.files)), nil
}

func (s *fakeStore) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "delete "+name)
	if s.delErr != nil {
		if err := s.delErr(name); err != nil {
			return err
		}
	}
	if _, ok := s.files[name]; !ok {
		return fmt.Errorf("%s: %w", name, catalog.ErrNotFound)
	}
	delete(s.files, name)
	return nil
}

func (s *fakeStore) Put(ctx context.Context, name string, r io.Reader, commit func() (map[string]string, error)) (catalog.Entry, error) {
	s.mu.Lock()
	s.calls = append(s.calls, "put "+name)
	s.mu.Unlock()
	n, err := io.Copy(io.Discard, r)
	if err != nil {
		return catalog.Entry{}, fmt.Errorf("upload: %w", err)
	}
	meta, err := commit()
	if err != nil {
		return catalog.Entry{}, err
	}
	e := catalog.Entry{Name: name, Size: n, ModTime: time.Now(), Meta: meta}
	s.mu.Lock()
	s.files[name] = e
	s.mu.Unlock()
	return e, nil
}

func (s *fakeStore) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Sorted(maps.Keys(s.files))
}

func (s *fakeStore) deletes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if n, ok := strings.CutPrefix(c, "delete "); ok {
			out = append(out, n)
		}
	}
	return out
}

var (
	codec = catalog.Codec{}
	clock = time.Date(2025, 6, 1, 12, 30, 0, 0, time.UTC)
)

// storeFixture holds 10 hourly backups (the oldest 4 legacy gzip), an
// abandoned and a fresh partial upload, and two foreign files.
func storeFixture() *fakeStore {
	var es []catalog.Entry
	for i := range 10 {
		t := clock.Add(-time.Duration(i+1) * time.Hour)
		f := catalog.Zstd
		if i >= 6 {
			f = catalog.Gzip
		}
		es = append(es, catalog.Entry{Name: codec.Name(t, f), Size: 100, ModTime: t})
	}
	old := clock.Add(-50 * time.Hour)
	es = append(es,
		catalog.Entry{Name: codec.Name(old, catalog.Zstd) + catalog.PartialSuffix, ModTime: old},
		catalog.Entry{Name: codec.Name(clock, catalog.Zstd) + catalog.PartialSuffix, ModTime: clock},
		catalog.Entry{Name: "README.txt", ModTime: old},
		catalog.Entry{Name: "db-backup-20200101-000000.sql", ModTime: old},
	)
	return newFakeStore(es...)
}

func policy(keep int) retention.Policy {
	p := retention.DefaultPolicy()
	p.Keep = keep
	return p
}

// wantAfterKeep3 is the fixture after keeping 3: the newest three backups,
// the fresh partial and the foreign files.
var wantAfterKeep3 = []string{
	"README.txt",
	"db-backup-20200101-000000.sql",
	"db-backup-20250601-093000.sql.zst",
	"db-backup-20250601-103000.sql.zst",
	"db-backup-20250601-113000.sql.zst",
	"db-backup-20250601-123000.sql.zst.partial",
}

func TestPrune(t *testing.T) {
	s := storeFixture()
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got := s.names(); !slices.Equal(got, wantAfterKeep3) {
		t.Errorf("left %q,\nwant %q", got, wantAfterKeep3)
	}
	wantDeleted := []string{
		"db-backup-20250601-023000.sql.gz",
		"db-backup-20250601-033000.sql.gz",
		"db-backup-20250601-043000.sql.gz",
		"db-backup-20250601-053000.sql.gz",
		"db-backup-20250601-063000.sql.zst",
		"db-backup-20250601-073000.sql.zst",
		"db-backup-20250601-083000.sql.zst",
		"db-backup-20250530-103000.sql.zst.partial",
	}
	if got := s.deletes(); !slices.Equal(got, wantDeleted) {
		t.Errorf("deleted %q,\nwant %q (oldest first, partials last)", got, wantDeleted)
	}
	if got, want := len(rep.Deleted), len(wantDeleted); got != want {
		t.Errorf("report: %d deleted, want %d", got, want)
	}
	if len(rep.Failed) != 0 || rep.DryRun {
		t.Errorf("report: failed %v, dry run %v", rep.Failed, rep.DryRun)
	}
	if got, want := rep.Plan.Complete(), 3; got != want {
		t.Errorf("report: %d complete kept, want %d", got, want)
	}
	if got, want := len(rep.Plan.Foreign), 2; got != want {
		t.Errorf("report: %d foreign, want %d", got, want)
	}
}

func TestPruneDryRunDeletesNothing(t *testing.T) {
	s := storeFixture()
	before := s.names()
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock, DryRun: true})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got := s.names(); !slices.Equal(got, before) {
		t.Errorf("dry run changed the store: %q, want %q", got, before)
	}
	if got := s.deletes(); len(got) != 0 {
		t.Errorf("dry run called Delete: %q", got)
	}
	if got, want := len(rep.Deleted), 8; got != want || !rep.DryRun {
		t.Errorf("dry run reports %d to delete (dry run %v), want %d", got, rep.DryRun, want)
	}
}

func TestPruneListFailureDeletesNothing(t *testing.T) {
	s := storeFixture()
	s.listErr = errors.New("drive: 503 backend error")
	before := s.names()
	_, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(1), Now: clock})
	if err == nil || !strings.Contains(err.Error(), "list backups") || !errors.Is(err, s.listErr) {
		t.Fatalf("Prune error = %v, want the listing error", err)
	}
	if got := s.deletes(); len(got) != 0 {
		t.Errorf("deleted %q after a failed listing", got)
	}
	if got := s.names(); !slices.Equal(got, before) {
		t.Errorf("store changed: %q", got)
	}
}

func TestPruneInvalidPolicyTouchesNothing(t *testing.T) {
	s := storeFixture()
	_, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(0), Now: clock})
	if err == nil || !strings.Contains(err.Error(), "keep must be at least 1") {
		t.Fatalf("Prune error = %v, want a policy error", err)
	}
	if len(s.calls) != 0 {
		t.Errorf("store called with an invalid policy: %q", s.calls)
	}
}

// TestPruneStopsAtTheFirstFailedDelete: a deletion that fails ends the
// prune; the files after it are left for the next prune, not tried one by
// one against a remote that failed.
func TestPruneStopsAtTheFirstFailedDelete(t *testing.T) {
	s := storeFixture()
	bad := "db-backup-20250601-043000.sql.gz"
	boom := errors.New("drive: 503 backend error")
	s.delErr = func(name string) error {
		if name == bad {
			return fmt.Errorf("delete %s: %w", name, boom)
		}
		return nil
	}
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	if err == nil || !errors.Is(err, boom) || !strings.Contains(err.Error(), "stopped with 6 of 8 files left") {
		t.Fatalf("Prune error = %v, want the failed deletion and what is left", err)
	}
	if errors.Is(err, ErrRetentionBlocked) || rep.Blocked != nil {
		t.Errorf("a fault taken for a refusal: %v", err)
	}
	want := []string{"db-backup-20250601-023000.sql.gz", "db-backup-20250601-033000.sql.gz", bad}
	if got := s.deletes(); !slices.Equal(got, want) {
		t.Errorf("attempted %q, want %q and nothing after the failure", got, want)
	}
	if len(rep.Failed) != 1 || rep.Failed[0].Backup.Name != bad || !errors.Is(rep.Failed[0].Err, boom) {
		t.Errorf("report failures = %+v, want %s", rep.Failed, bad)
	}
	if got, want := len(rep.Deleted), 2; got != want {
		t.Errorf("report: %d deleted, want %d", got, want)
	}
	if slices.Contains(s.names(), codec.BlockedName()) {
		t.Error("a fault recorded a blocked retention")
	}
}

// denied is a store's refusal of a delete, as storage.DeniedError reports
// it.
type denied struct{ name string }

func (d denied) Error() string {
	return "the service account may not delete in the Shared Drive; give it the Content Manager role (delete " + d.name + ": 403)"
}
func (d denied) Is(target error) bool { return target == catalog.ErrDenied }

// TestPruneBlocked: the first refused delete blocks retention. Nothing
// more is deleted, the refusal is recorded in the remote once, and later
// prunes delete the record first (the probe): refused, they try nothing
// else; allowed, retention resumes.
func TestPruneBlocked(t *testing.T) {
	s := storeFixture()
	refuse := true
	s.delErr = func(name string) error {
		if refuse {
			return denied{name}
		}
		return nil
	}
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	var be *BlockedError
	if !errors.As(err, &be) || rep.Blocked != be || !errors.Is(err, catalog.ErrDenied) {
		t.Fatalf("Prune error = %v, want a *BlockedError wrapping the refusal", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "retention is blocked: the service account may not delete in the Shared Drive; give it the Content Manager role") {
		t.Errorf("error %q does not say what to grant", msg)
	}
	if got, want := s.deletes(), []string{"db-backup-20250601-023000.sql.gz"}; !slices.Equal(got, want) {
		t.Errorf("attempted %q, want only %q", got, want)
	}
	if !slices.Contains(s.names(), codec.BlockedName()) {
		t.Fatalf("no record of the blocked retention: %q", s.names())
	}

	for run := range 3 {
		s.calls = nil
		_, err = Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock.Add(time.Duration(run+1) * time.Hour)})
		if !errors.As(err, &be) || be.Since.IsZero() {
			t.Fatalf("run %d: Prune error = %v, want blocked, since the record's time", run, err)
		}
		if got, want := s.deletes(), []string{codec.BlockedName()}; !slices.Equal(got, want) {
			t.Errorf("run %d: attempted %q, want only the probe %q", run, got, want)
		}
		if slices.Contains(s.calls, "put "+codec.BlockedName()) {
			t.Errorf("run %d: the record was written again", run)
		}
	}

	refuse = false
	rep, err = Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	if err != nil || !rep.Unblocked || rep.Blocked != nil {
		t.Fatalf("Prune once deleting works: %v (unblocked %v)", err, rep.Unblocked)
	}
	if got := s.names(); !slices.Equal(got, wantAfterKeep3) {
		t.Errorf("left %q,\nwant %q", got, wantAfterKeep3)
	}
}

func TestPruneAlreadyGoneIsNotAFailure(t *testing.T) {
	s := storeFixture()
	gone := "db-backup-20250601-023000.sql.gz"
	s.delErr = func(name string) error {
		if name == gone {
			return fmt.Errorf("%s: %w", name, catalog.ErrNotFound)
		}
		return nil
	}
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if got, want := len(rep.Deleted), 8; got != want || len(rep.Failed) != 0 {
		t.Errorf("report: %d deleted, %d failed; want %d and 0", got, len(rep.Failed), want)
	}
}

func TestPruneStopsWhenCancelled(t *testing.T) {
	s := storeFixture()
	ctx, cancel := context.WithCancel(t.Context())
	s.delErr = func(string) error { cancel(); return nil }
	_, err := Prune(ctx, s, PruneOptions{Codec: codec, Policy: policy(3), Now: clock})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Prune error = %v, want cancellation", err)
	}
	if got := s.deletes(); len(got) != 1 {
		t.Errorf("deleted %q after cancellation, want only the first", got)
	}
}

// dumperFunc is a Dumper made of a function.
type dumperFunc func(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error)

func (f dumperFunc) Dump(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
	return f(ctx, w, c)
}

func goodDump(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
	if _, err := io.WriteString(w, "zstd bytes"); err != nil {
		return dump.Result{}, err
	}
	return dump.Result{RawBytes: 100, StoredBytes: 10, SHA256: strings.Repeat("ab", 32)}, nil
}

func failedDump(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
	if _, err := io.WriteString(w, "half a dump"); err != nil {
		return dump.Result{}, err
	}
	return dump.Result{}, &mariadb.ToolError{Program: "mariadb-dump", State: "exit status 2", Stderr: "Lost connection"}
}

func TestRunAndPruneAfterFailedBackupDeletesNothing(t *testing.T) {
	s := storeFixture()
	before := s.names()
	job := Job{Dumper: dumperFunc(failedDump), Store: s, Codec: codec, Time: clock}
	_, _, err := RunAndPrune(t.Context(), job, s, PruneOptions{Policy: policy(1), Now: clock})
	var ee *mariadb.ToolError
	if !errors.As(err, &ee) {
		t.Fatalf("RunAndPrune error = %v, want the dump's exit error", err)
	}
	var pe *PruneError
	if errors.As(err, &pe) {
		t.Errorf("a failed backup reported as a prune failure: %v", err)
	}
	for _, c := range s.calls {
		if c == "list" || strings.HasPrefix(c, "delete ") {
			t.Errorf("store called after a failed backup: %s", c)
		}
	}
	if got := s.names(); !slices.Equal(got, before) {
		t.Errorf("store changed after a failed backup: %q, want %q", got, before)
	}
}

func TestRunAndPruneAfterGoodBackup(t *testing.T) {
	s := storeFixture()
	job := Job{Dumper: dumperFunc(goodDump), Store: s, Codec: codec, Time: clock}
	rep, prep, err := RunAndPrune(t.Context(), job, s, PruneOptions{Policy: policy(3), Now: clock.Add(time.Minute)})
	if err != nil {
		t.Fatalf("RunAndPrune: %v", err)
	}
	if got, want := rep.Name, "db-backup-20250601-123000.sql.zst"; got != want {
		t.Errorf("backup %s, want %s", got, want)
	}
	// The new backup is one of the three kept; the fresh partial of the
	// same name stays until it is stale.
	want := []string{
		"README.txt",
		"db-backup-20200101-000000.sql",
		"db-backup-20250601-103000.sql.zst",
		"db-backup-20250601-113000.sql.zst",
		"db-backup-20250601-123000.sql.zst",
		"db-backup-20250601-123000.sql.zst.partial",
	}
	if got := s.names(); !slices.Equal(got, want) {
		t.Errorf("left %q,\nwant %q", got, want)
	}
	if got, want := prep.Plan.Keep[0].Backup.Name, rep.Name; got != want {
		t.Errorf("newest kept %s, want the new backup %s", got, want)
	}
}

func TestRunAndPrunePruneFailure(t *testing.T) {
	s := storeFixture()
	boom := errors.New("drive: 500")
	s.delErr = func(string) error { return boom }
	job := Job{Dumper: dumperFunc(goodDump), Store: s, Codec: codec, Time: clock}
	rep, prep, err := RunAndPrune(t.Context(), job, s, PruneOptions{Policy: policy(3), Now: clock})
	var pe *PruneError
	if !errors.As(err, &pe) || !errors.Is(err, boom) {
		t.Fatalf("RunAndPrune error = %v, want a *PruneError wrapping the delete error", err)
	}
	if pe.Backup != rep.Name || rep.Name == "" {
		t.Errorf("PruneError names %q, want the published backup %q", pe.Backup, rep.Name)
	}
	if !slices.Contains(s.names(), rep.Name) {
		t.Errorf("published backup %s missing", rep.Name)
	}
	if got, want := len(prep.Failed), 1; got != want {
		t.Errorf("report: %d failed, want %d (the first ends the prune)", got, want)
	}
}

func TestRunAndPruneRefusesBadPolicyBeforeDumping(t *testing.T) {
	s := storeFixture()
	dumped := false
	job := Job{Dumper: dumperFunc(func(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
		dumped = true
		return goodDump(ctx, w, c)
	}), Store: s, Codec: codec, Time: clock}
	if _, _, err := RunAndPrune(t.Context(), job, s, PruneOptions{Policy: policy(0)}); err == nil {
		t.Fatal("RunAndPrune accepted keep 0")
	}
	if dumped || len(s.calls) != 0 {
		t.Errorf("ran with an invalid policy: dumped %v, calls %q", dumped, s.calls)
	}
}

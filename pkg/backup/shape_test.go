package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/internal/testdb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
)

// recorded builds a history from recorded figures, hourly, oldest first.
// Each shape is "raw/tables", with "?" for a figure not recorded, and a
// suffix "!code" for a suspect backup, "!code+" for an accepted one.
func recorded(shapes ...string) []Shape {
	var out []Shape
	for i, s := range shapes {
		t := time.Date(2025, 6, 1, i, 0, 0, 0, time.UTC)
		sh := Shape{Name: codec.Name(t, catalog.Zstd), Time: t, RawSize: -1, Tables: -1}
		fig, mark, _ := strings.Cut(s, "!")
		if code, ok := strings.CutSuffix(mark, "+"); ok {
			sh.Suspect, sh.Accepted = code, true
		} else {
			sh.Suspect = mark
		}
		raw, tables, _ := strings.Cut(fig, "/")
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			sh.RawSize = n
		}
		if n, err := strconv.ParseInt(tables, 10, 64); err == nil {
			sh.Tables = n
		}
		out = append(out, sh)
	}
	return out
}

func TestJudge(t *testing.T) {
	cases := []struct {
		name    string
		history []Shape
		raw     int64
		tables  int64
		policy  ShapePolicy
		want    string // the verdict's code
	}{
		{"no history", nil, 10, 0, ShapePolicy{}, ""},
		{"history without figures (legacy backups)", recorded("?/?", "?/?"), 10, 0, ShapePolicy{}, ""},
		{"same shape", recorded("1000/12", "1100/12", "1050/12"), 1080, 12, ShapePolicy{}, ""},
		{"grew", recorded("1000/12", "1100/12"), 5000, 14, ShapePolicy{}, ""},
		{"emptied database", recorded("1000/12", "1100/12", "1050/12"), 900, 0, ShapePolicy{}, "tables"},
		{"truncated tables", recorded("1000/12", "1100/12", "1050/12"), 400, 12, ShapePolicy{}, "raw"},
		{"staging: small and fewer tables", recorded("1000/12", "1100/12", "1050/12"), 100, 3, ShapePolicy{}, "raw,tables"},
		{"exactly half is not below half", recorded("1000/12", "1000/12", "1000/12"), 500, 12, ShapePolicy{}, ""},
		{"one table dropped by a migration", recorded("1000/12", "1000/12", "1000/12"), 1000, 11, ShapePolicy{}, "tables"},
		{"median, not mean: one huge outlier", recorded("1000/12", "1000/12", "90000/12"), 900, 12, ShapePolicy{}, ""},
		{"suspect backups are not the baseline", recorded("1000/12", "1000/12", "10/0!raw,tables", "10/0!raw,tables"), 10, 0, ShapePolicy{}, "raw,tables"},
		{"an accepted shape is the new normal", recorded("1000/12", "1000/12", "10/2!raw,tables+"), 11, 2, ShapePolicy{}, ""},
		{"window: only the newest count", recorded("9000/40", "9000/40", "1000/12", "1000/12"), 1000, 12, ShapePolicy{Window: 2}, ""},
		{"ratio from the policy", recorded("1000/12"), 800, 12, ShapePolicy{MinRawRatio: 0.9}, "raw"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := Judge(tc.history, tc.raw, tc.tables, tc.policy)
			if v.Code != tc.want {
				t.Errorf("Judge = %q (%s), want %q", v.Code, v.Reason, tc.want)
			}
			if (v.Code == "") != (v.Reason == "") {
				t.Errorf("code %q but reason %q", v.Code, v.Reason)
			}
		})
	}
	v := Judge(recorded("1000/12", "1100/12", "1050/12"), 100, 3, ShapePolicy{})
	if want := "raw size 100 bytes is below 0.5 of the median 1050; 3 tables, fewer than the median 12 of the last 3 backups"; v.Reason != want {
		t.Errorf("reason = %q, want %q", v.Reason, want)
	}
}

func TestBrake(t *testing.T) {
	cases := []struct {
		name    string
		history []Shape
		want    string // the suspect backup's hour, "" when retention runs
		held    int
	}{
		{"no suspect", recorded("1000/12", "1000/12"), "", 0},
		{"legacy backups", recorded("?/?", "?/?"), "", 0},
		{"newest is suspect", recorded("1000/12", "1000/12", "10/0!tables"), "02", 0},
		{"two good since", recorded("1000/12", "10/0!tables", "1000/12", "1000/12"), "01", 2},
		{"three good since: resumed", recorded("1000/12", "10/0!tables", "1000/12", "1000/12", "1000/12"), "", 0},
		{"backups without figures do not count", recorded("1000/12", "10/0!tables", "?/?", "?/?", "?/?", "1000/12"), "01", 1},
		{"accepted", recorded("1000/12", "10/0!tables+"), "", 0},
		{"the newest suspect decides", recorded("10/0!tables+", "1000/12", "5/0!raw,tables"), "02", 0},
		{"suspect after an accepted one", recorded("1000/12", "10/0!tables+", "1/0!raw"), "02", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Brake(tc.history, ShapePolicy{})
			got := ""
			if p != nil {
				got = p.Backup[len("db-backup-20250601-"):][:2]
			}
			if got != tc.want {
				t.Fatalf("Brake = %+v, want paused on hour %q", p, tc.want)
			}
			if p == nil {
				return
			}
			if p.Held != tc.held || p.Need != DefaultHoldRuns {
				t.Errorf("held %d of %d, want %d of %d", p.Held, p.Need, tc.held, DefaultHoldRuns)
			}
			if !errors.Is(p, ErrRetentionPaused) || !strings.Contains(p.Error(), "backupd accept "+p.Backup) {
				t.Errorf("Paused error %q does not say how to resume", p)
			}
		})
	}
}

// shapedStore is the fixture with recorded shapes: the hourly backups
// 1000 bytes and 12 tables each, the newest suspect.
func shapedStore() *fakeStore {
	s := storeFixture()
	for name, e := range s.files {
		if b, ok := codec.Parse(name); ok && !b.Partial && b.Format == catalog.Zstd {
			e.Meta = map[string]string{catalog.MetaRawSize: "1000", catalog.MetaTables: "12"}
			if b.Time.Equal(clock.Add(-time.Hour)) {
				e.Meta = map[string]string{catalog.MetaRawSize: "10", catalog.MetaTables: "0", catalog.MetaSuspect: "raw,tables"}
			}
			s.files[name] = e
		}
	}
	return s
}

func TestPrunePausesOnASuspectBackupUntilAccepted(t *testing.T) {
	s := shapedStore()
	before := s.names()
	suspect := codec.Name(clock.Add(-time.Hour), catalog.Zstd)
	for _, dry := range []bool{true, false} {
		rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(1), Now: clock, DryRun: dry})
		var p *Paused
		if !errors.As(err, &p) || rep.Paused != p || p.Backup != suspect {
			t.Fatalf("Prune (dry run %v) = %v, paused %+v; want paused on %s", dry, err, rep.Paused, suspect)
		}
		if len(rep.Deleted) != 0 || len(rep.Plan.Delete) != 0 {
			t.Errorf("paused prune planned or deleted %v", rep.Deleted)
		}
	}
	if got := s.names(); !slices.Equal(got, before) {
		t.Errorf("paused prune changed the store: %q", got)
	}

	if err := Accept(t.Context(), s, codec, codec.Name(clock.Add(-2*time.Hour), catalog.Zstd), clock); err == nil || !strings.Contains(err.Error(), "not marked suspect") {
		t.Errorf("accepting a good backup: %v", err)
	}
	if err := Accept(t.Context(), s, codec, "db-backup-20990101-000000.sql.zst", clock); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("accepting a missing backup: %v", err)
	}
	for range 2 { // idempotent
		if err := Accept(t.Context(), s, codec, suspect, clock); err != nil {
			t.Fatalf("Accept: %v", err)
		}
	}
	rep, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(1), Now: clock})
	if err != nil || rep.Paused != nil {
		t.Fatalf("Prune after accepting = %v, paused %+v", err, rep.Paused)
	}
	want := []string{"README.txt", "db-backup-20200101-000000.sql", suspect, suspect + AcceptedSuffix, "db-backup-20250601-123000.sql.zst.partial"}
	slices.Sort(want)
	if got := s.names(); !slices.Equal(got, want) {
		t.Errorf("after accepting and pruning: %q,\nwant %q", got, want)
	}
}

func TestAcceptanceGoesWithItsBackup(t *testing.T) {
	s := shapedStore()
	suspect := codec.Name(clock.Add(-time.Hour), catalog.Zstd)
	if err := Accept(t.Context(), s, codec, suspect, clock); err != nil {
		t.Fatal(err)
	}
	s.files["README.txt"+AcceptedSuffix] = catalog.Entry{Name: "README.txt" + AcceptedSuffix}
	// Newer backups push the accepted one out.
	for i := range 2 {
		at := clock.Add(time.Duration(i) * time.Hour)
		name := codec.Name(at, catalog.Zstd)
		s.files[name] = catalog.Entry{Name: name, Size: 10, ModTime: at, Meta: map[string]string{catalog.MetaRawSize: "10", catalog.MetaTables: "0"}}
	}
	if _, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(1), Now: clock.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := s.names()
	if slices.Contains(got, suspect) || slices.Contains(got, suspect+AcceptedSuffix) {
		t.Errorf("the accepted backup or its acceptance is left: %q", got)
	}
	if !slices.Contains(got, "README.txt"+AcceptedSuffix) {
		t.Errorf("a foreign file was deleted: %q", got)
	}
}

func TestASuspectBackupIsPublishedMarkedAndNotPruned(t *testing.T) {
	s := shapedStore()
	// The fixture's newest backup was suspect; take it away so that the
	// older ones make the baseline.
	delete(s.files, codec.Name(clock.Add(-time.Hour), catalog.Zstd))
	before := s.names()
	empty := dumperFunc(func(ctx context.Context, w io.Writer, c *dump.Counters) (dump.Result, error) {
		_, err := io.WriteString(w, "zstd bytes")
		return dump.Result{RawBytes: 300, StoredBytes: 10, SHA256: strings.Repeat("ab", 32), Tables: 0}, err
	})
	job := Job{Dumper: empty, Store: s, Codec: codec, Time: clock, History: s}
	rep, prep, err := RunAndPrune(t.Context(), job, s, PruneOptions{Policy: policy(1), Now: clock.Add(time.Minute)})
	var se *SuspectError
	if !errors.As(err, &se) || se.Backup != rep.Name || rep.Name == "" {
		t.Fatalf("RunAndPrune = %v (report %+v), want a suspect backup", err, rep)
	}
	for _, want := range []string{"raw size 300 bytes is below 0.5 of the median 1000", "0 tables, fewer than the median 12", "backupd accept " + rep.Name} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if len(prep.Deleted) != 0 {
		t.Errorf("pruned after a suspect backup: %v", prep.Deleted)
	}
	got := s.names()
	if want := append(slices.Clone(before), rep.Name); len(got) != len(want) {
		t.Errorf("store holds %q, want %q", got, want)
	}
	meta := s.files[rep.Name].Meta
	if meta[catalog.MetaSuspect] != "raw,tables" || meta[catalog.MetaTables] != "0" || meta[catalog.MetaRawSize] != "300" {
		t.Errorf("suspect backup's metadata = %v", meta)
	}
	// The next prune, by anyone, still deletes nothing.
	if _, err := Prune(t.Context(), s, PruneOptions{Codec: codec, Policy: policy(1), Now: clock.Add(time.Hour)}); !errors.Is(err, ErrRetentionPaused) {
		t.Errorf("prune after the suspect backup: %v, want paused", err)
	}
}

// TestAnEmptiedDatabaseIsSuspect takes two backups of a real database,
// emptied in between: the second is published, marked suspect and fails,
// and retention keeps the first although the policy keeps one backup.
func TestAnEmptiedDatabaseIsSuspect(t *testing.T) {
	srv := testdb.Get(t)
	db := srv.NewDatabase(t, "shape")
	srv.LoadFile(t, db, "../../testdata/fixture.sql")
	user := srv.NewUser(t, db, "pw")
	srv.Exec(t, "", fmt.Sprintf("GRANT SELECT ON mysql.proc TO '%s'@'localhost'", user))
	store, _ := localStore(t, nil)
	t0 := time.Date(2026, 1, 10, 3, 0, 0, 0, time.UTC)
	run := func(at time.Time) (Report, PruneReport, error) {
		job := Job{
			Dumper:  &dump.Dumper{Conn: mariadb.Conn{Socket: srv.Socket, User: user, Password: "pw", Database: db}},
			Store:   store,
			Time:    at,
			History: store,
		}
		return RunAndPrune(context.Background(), job, store, PruneOptions{Policy: policy(1), Now: at.Add(time.Minute)})
	}
	first, _, err := run(t0)
	if err != nil {
		t.Fatalf("first backup: %v", err)
	}
	if first.Tables < 2 {
		t.Fatalf("the fixture's dump counted %d tables", first.Tables)
	}

	srv.Exec(t, "", "DROP DATABASE "+testdb.Ident(db))
	srv.Exec(t, "", "CREATE DATABASE "+testdb.Ident(db))

	second, _, err := run(t0.Add(time.Hour))
	var se *SuspectError
	if !errors.As(err, &se) {
		t.Fatalf("backup of the emptied database: %v, want a suspect backup", err)
	}
	if second.Tables != 0 || second.Suspect == "" {
		t.Errorf("second report = %+v", second)
	}
	if got, want := listNames(t, store), []string{first.Name, second.Name}; !slices.Equal(got, want) {
		t.Errorf("remote holds %v, want both backups %v", got, want)
	}
	shapes := Shapes(codec, mustList(t, store), time.Now())
	if len(shapes) != 2 || shapes[0].Tables != first.Tables || shapes[1].Suspect == "" {
		t.Errorf("recorded shapes = %+v", shapes)
	}
	rep, err := Prune(context.Background(), store, PruneOptions{Codec: codec, Policy: policy(1), Now: t0.Add(2 * time.Hour)})
	if !errors.Is(err, ErrRetentionPaused) || rep.Paused.Backup != second.Name {
		t.Errorf("prune = %v, want paused on %s", err, second.Name)
	}
	if got := listNames(t, store); !slices.Contains(got, first.Name) {
		t.Errorf("the real history was pruned: %v", got)
	}
}

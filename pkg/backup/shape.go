package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// A complete dump of the wrong thing (an emptied database, a grant that
// hides tables, DB_HOST pointing at staging) ends with the trailer like a
// good one, and retention would rotate the real history out behind it. So
// every backup records its shape (raw size and table count), is compared
// with the median of recent backups, and one that shrank past a threshold
// is published but marked suspect, fails its run, and pauses retention
// until an operator accepts it (Accept) or the usual shape comes back for
// HoldRuns backups in a row.

// Defaults of a ShapePolicy.
const (
	DefaultMinRawRatio = 0.5
	DefaultShapeWindow = 24
	DefaultHoldRuns    = 3
)

// AcceptedSuffix is added to a backup's name to name the file that records
// an operator's acceptance of a suspect backup. The catalog's codec takes it
// for a foreign file.
const AcceptedSuffix = ".accepted"

// ShapePolicy says when a backup's shape is suspect. The zero value uses the
// defaults.
type ShapePolicy struct {
	// MinRawRatio: a raw size below this fraction of the median is
	// suspect; DefaultMinRawRatio when zero.
	MinRawRatio float64
	// Window is how many recent backups the medians are taken over;
	// DefaultShapeWindow when zero.
	Window int
	// HoldRuns is how many backups of the usual shape after a suspect one
	// resume retention without an operator; DefaultHoldRuns when zero.
	HoldRuns int
}

func (p ShapePolicy) ratio() float64 {
	if p.MinRawRatio > 0 {
		return p.MinRawRatio
	}
	return DefaultMinRawRatio
}

func (p ShapePolicy) window() int {
	if p.Window > 0 {
		return p.Window
	}
	return DefaultShapeWindow
}

func (p ShapePolicy) hold() int {
	if p.HoldRuns > 0 {
		return p.HoldRuns
	}
	return DefaultHoldRuns
}

// Shape is what a backup records about its dump.
type Shape struct {
	Name     string
	Time     time.Time
	RawSize  int64  // -1 when not recorded
	Tables   int64  // -1 when not recorded
	Suspect  string // what dropped, "" when the shape held (or was not judged)
	Accepted bool   // an operator accepted it (see Accept)
}

func (s Shape) known() bool { return s.RawSize >= 0 && s.Tables >= 0 }

// Shapes reads the recorded shapes of the complete backups in a listing
// (what catalog counts as backups at now), oldest first. A figure that is
// missing or malformed is unknown (-1).
func Shapes(codec catalog.Codec, entries []catalog.Entry, now time.Time) []Shape {
	meta := make(map[string]map[string]string, len(entries))
	accepted := map[string]bool{}
	for _, e := range entries {
		meta[e.Name] = e.Meta
		if b, ok := strings.CutSuffix(e.Name, AcceptedSuffix); ok {
			accepted[b] = true
		}
	}
	l := codec.Scan(entries, now)
	out := make([]Shape, 0, len(l.Backups))
	for _, b := range l.Backups {
		s := Shape{Name: b.Name, Time: b.Time, RawSize: b.RawSize, Tables: -1, Accepted: accepted[b.Name]}
		if v, ok := meta[b.Name][catalog.MetaTables]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				s.Tables = n
			}
		}
		s.Suspect = meta[b.Name][catalog.MetaSuspect]
		out = append(out, s)
	}
	return out
}

// Baseline is what a new backup is compared with.
type Baseline struct {
	Backups      int // backups the medians were taken over; 0: nothing to compare with
	MedianRaw    float64
	MedianTables float64
}

// baseline takes the medians over the newest Window backups that have
// figures and are not unaccepted suspects, counting only from the newest
// accepted backup on: an accepted shape is the new normal.
func baseline(history []Shape, p ShapePolicy) Baseline {
	from := 0
	for i, s := range history {
		if s.Accepted {
			from = i
		}
	}
	var raw, tables []float64
	for _, s := range history[from:] {
		if !s.known() || (s.Suspect != "" && !s.Accepted) {
			continue
		}
		raw = append(raw, float64(s.RawSize))
		tables = append(tables, float64(s.Tables))
	}
	if n := len(raw); n > p.window() {
		raw, tables = raw[n-p.window():], tables[n-p.window():]
	}
	return Baseline{Backups: len(raw), MedianRaw: median(raw), MedianTables: median(tables)}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Verdict is the judgement of one backup's shape.
type Verdict struct {
	Baseline Baseline
	// Code is what dropped, for the backup's metadata: "raw", "tables" or
	// "raw,tables"; "" when the shape holds.
	Code string
	// Reason says it in words, naming the figures.
	Reason string
}

// Judge compares a new backup's raw size and table count with the medians of
// the recent backups in history (oldest first). With no history that has
// figures, every shape holds.
func Judge(history []Shape, rawSize, tables int64, p ShapePolicy) Verdict {
	v := Verdict{Baseline: baseline(history, p)}
	if v.Baseline.Backups == 0 {
		return v
	}
	var codes, reasons []string
	if float64(rawSize) < p.ratio()*v.Baseline.MedianRaw {
		codes = append(codes, "raw")
		reasons = append(reasons, fmt.Sprintf("raw size %d bytes is below %g of the median %.0f", rawSize, p.ratio(), v.Baseline.MedianRaw))
	}
	if float64(tables) < v.Baseline.MedianTables {
		codes = append(codes, "tables")
		reasons = append(reasons, fmt.Sprintf("%d tables, fewer than the median %g", tables, v.Baseline.MedianTables))
	}
	if len(codes) > 0 {
		v.Code = strings.Join(codes, ",")
		v.Reason = strings.Join(reasons, "; ") + fmt.Sprintf(" of the last %d backups", v.Baseline.Backups)
	}
	return v
}

// ErrRetentionPaused matches a *Paused.
var ErrRetentionPaused = errors.New("retention paused")

// Paused says why retention deletes nothing: a suspect backup that no
// operator has accepted and that too few backups of the usual shape have
// followed.
type Paused struct {
	Backup string // the newest suspect backup
	Code   string // what dropped (its backupd-suspect metadata)
	Held   int    // backups of the usual shape since
	Need   int    // backups of the usual shape that resume retention
}

// Error says what paused retention and the two ways to resume it.
func (p *Paused) Error() string {
	return fmt.Sprintf("retention paused: backup %s looks wrong (%s dropped); nothing is deleted until it is accepted (backupd accept %s) or %d more backups of the usual shape follow it",
		p.Backup, p.Code, p.Backup, p.Need-p.Held)
}

// Is makes errors.Is(err, ErrRetentionPaused) true.
func (p *Paused) Is(target error) bool { return target == ErrRetentionPaused }

// Brake decides whether retention is paused, from the recorded shapes
// (oldest first): it is when the newest suspect backup is not accepted and
// fewer than HoldRuns backups with figures and a good shape came after it.
// It returns nil when retention may run.
func Brake(history []Shape, p ShapePolicy) *Paused {
	last := -1
	for i, s := range history {
		if s.Suspect != "" {
			last = i
		}
	}
	if last < 0 || history[last].Accepted {
		return nil
	}
	held := 0
	for _, s := range history[last+1:] {
		if s.known() {
			held++
		}
	}
	if held >= p.hold() {
		return nil
	}
	return &Paused{Backup: history[last].Name, Code: history[last].Suspect, Held: held, Need: p.hold()}
}

// ErrSuspect matches a *SuspectError.
var ErrSuspect = errors.New("suspect backup")

// SuspectError is a backup that was published but whose shape looks wrong.
// The run must be reported as failed, and retention stays paused (see
// Brake).
type SuspectError struct {
	Backup string
	Reason string
}

// Error names the backup, what dropped and what to do.
func (e *SuspectError) Error() string {
	return fmt.Sprintf("backup %s was published but looks wrong: %s; retention is paused until it is accepted (backupd accept %s) or the usual shape comes back",
		e.Backup, e.Reason, e.Backup)
}

// Is makes errors.Is(err, ErrSuspect) true.
func (e *SuspectError) Is(target error) bool { return target == ErrSuspect }

// PutLister is what Accept needs of a store.
type PutLister interface {
	Putter
	Lister
}

// Accept records that an operator has looked at the suspect backup name and
// its shape is right (a database that really shrank): retention resumes,
// and later backups are compared with it. Accepting a backup twice is not
// an error. A name that is not a complete backup, or not suspect, is.
func Accept(ctx context.Context, store PutLister, codec catalog.Codec, name string, now time.Time) error {
	entries, err := store.List(ctx)
	if err != nil {
		return fmt.Errorf("accept %s: list backups: %w", name, err)
	}
	var found *Shape
	shapes := Shapes(codec, entries, now)
	for i := range shapes {
		if shapes[i].Name == name {
			found = &shapes[i]
		}
	}
	switch {
	case found == nil:
		return fmt.Errorf("accept %s: no such backup in the remote (see backupd list): %w", name, catalog.ErrNotFound)
	case found.Suspect == "":
		return fmt.Errorf("accept %s: the backup is not marked suspect; there is nothing to accept", name)
	case found.Accepted:
		return nil
	}
	host, _ := os.Hostname()
	body := fmt.Sprintf("accepted=%s\nhost=%s\ntime=%s\n", name, host, now.UTC().Format(time.RFC3339))
	_, err = store.Put(ctx, name+AcceptedSuffix, strings.NewReader(body), func() (map[string]string, error) { return nil, nil })
	if errors.Is(err, catalog.ErrExists) {
		return nil // accepted meanwhile, by another process
	}
	if err != nil {
		return fmt.Errorf("accept %s: write %s: %w", name, name+AcceptedSuffix, err)
	}
	return nil
}

// Package recovery decides how a point-in-time recovery gets to a moment:
// which backup to load and which binary log segments to replay after it,
// what moment that reaches and what is missing; and which segments no
// kept backup needs any more. It does no I/O and takes the clock as an
// argument.
package recovery

import (
	"fmt"
	"sort"
	"time"

	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/catalog"
)

// Plan is how a recovery reaches its target.
type Plan struct {
	// Target is the moment asked for; zero for the latest the log holds.
	Target time.Time
	// Backup is the backup to load; its coordinates are From.
	Backup catalog.Backup
	From   binlog.Pos
	// Segments are replayed after it, in order; the replay skips what
	// of the first one comes before From, and stops before Target.
	Segments []binlog.Segment
	// Reach is the moment the recovery gets to: the commit time of the
	// last transaction the segments hold before Target (to the second,
	// as segment names give it), or the backup's snapshot when no
	// segment follows it. The replay reports the exact one.
	Reach time.Time
	// Complete says the plan reaches Target (or, for the latest, the end
	// of what was copied).
	Complete bool
	// Missing says what keeps the plan short of Target, or of a backup
	// at all.
	Missing []string
	// Passed are the backups the plan could not start from, and why.
	Passed []Passed
}

// Passed is a backup a plan did not use.
type Passed struct {
	Backup catalog.Backup
	Reason string
}

// Make plans a recovery to target (zero: the latest) from backups and
// segments as the catalog and binlog.Codec.Scan list them. It chooses the
// newest backup with binary log coordinates taken before target whose
// segments reach furthest. With no such backup the plan has no backup and
// Missing says why.
func Make(backups []catalog.Backup, segs []binlog.Segment, target time.Time) Plan {
	p := Plan{Target: target}
	var cands []catalog.Backup
	for i := len(backups) - 1; i >= 0; i-- {
		b := backups[i]
		switch {
		case !target.IsZero() && !b.Time.Before(target):
			p.Passed = append(p.Passed, Passed{b, "taken at or after the time asked for"})
		case !b.Recoverable():
			p.Passed = append(p.Passed, Passed{b, "no binary log coordinates (taken without --binlog, or the account may not read them): usable for yesterday, not for recovery"})
		case !target.IsZero() && !b.BinlogAt.Before(target):
			p.Passed = append(p.Passed, Passed{b, "its snapshot may hold transactions after the time asked for"})
		default:
			if _, err := binlog.ParsePos(b.Binlog); err != nil {
				p.Passed = append(p.Passed, Passed{b, "its recorded coordinates do not read: " + err.Error()})
				continue
			}
			cands = append(cands, b)
		}
	}
	if len(cands) == 0 {
		p.Missing = append(p.Missing, "no backup with binary log coordinates "+before(target))
		return p
	}
	var best *Plan
	for _, b := range cands {
		c := chain(b, segs, target)
		if best == nil || c.Reach.After(best.Reach) || c.Complete && !best.Complete {
			best = &c
		}
		if c.Complete {
			break
		}
	}
	best.Passed = append(p.Passed, best.Passed...)
	return *best
}

func before(target time.Time) string {
	if target.IsZero() {
		return "in the remote"
	}
	return "taken before " + target.UTC().Format(time.RFC3339)
}

// chain plans a recovery from backup b.
func chain(b catalog.Backup, segs []binlog.Segment, target time.Time) Plan {
	from, _ := binlog.ParsePos(b.Binlog)
	p := Plan{Target: target, Backup: b, From: from, Reach: b.BinlogAt}
	// A segment that ends before the backup was taken is of no use to it,
	// and may be of another life of the server (a MariaDB rebuilt with the
	// same server id numbers its files from 1 again): only segments whose
	// last event is no older than the backup, give or take the clocks'
	// difference, are followed.
	var own []binlog.Segment
	for _, s := range segs {
		if s.Server == b.BinlogServer && !s.Last.Before(b.Time.Add(-catalog.FutureTolerance)) {
			own = append(own, s)
		}
	}
	pos := from
	var last *binlog.Segment
	past := false // a segment that starts at or after the target follows
	for range len(own) + 1 {
		next := step(own, pos)
		if next == nil {
			break
		}
		if !target.IsZero() && !next.First.Before(target) {
			// It and all after it committed at or after the target.
			past = true
			break
		}
		p.Segments = append(p.Segments, *next)
		last = next
		pos = next.To()
		if next.Rotated {
			f, _ := binlog.Next(next.File)
			pos = binlog.Pos{File: f, Offset: binlog.FirstOffset}
		}
	}
	if last != nil && last.Last.After(p.Reach) {
		p.Reach = last.Last
	}
	end := from
	if last != nil {
		end = last.To()
	}
	switch {
	case !target.IsZero() && (past || !p.Reach.Before(target)):
		p.Complete, p.Reach = true, target
	case len(own) == 0:
		p.Missing = append(p.Missing, fmt.Sprintf("no segment of server %s from after the backup in the remote: the binary log after it was not copied", b.BinlogServer))
	case len(p.Segments) == 0 && beyond(own, from):
		p.Missing = append(p.Missing, fmt.Sprintf("no segment holds the backup's coordinates %s: the binary log after it was not copied whole", from))
	case beyond(own, end):
		p.Missing = append(p.Missing, fmt.Sprintf("the copied binary log has a gap after %s (last transaction %s): later segments do not follow on",
			end, p.Reach.UTC().Format(time.RFC3339)))
	case target.IsZero():
		p.Complete = true
	default:
		p.Missing = append(p.Missing, fmt.Sprintf("the copied binary log ends at %s (last transaction %s), before %s: what the server committed after it is not in the remote",
			end, p.Reach.UTC().Format(time.RFC3339), target.UTC().Format(time.RFC3339)))
	}
	return p
}

// beyond reports whether a segment of own ends after pos.
func beyond(own []binlog.Segment, pos binlog.Pos) bool {
	for _, s := range own {
		if c, ok := binlog.Compare(s.To(), pos); ok && c > 0 {
			return true
		}
	}
	return false
}

// step finds the segment that goes on from pos: one of pos's file that
// starts at or before it and ends after it (or ends the file there), the
// one reaching furthest.
func step(own []binlog.Segment, pos binlog.Pos) *binlog.Segment {
	var best *binlog.Segment
	for i, s := range own {
		if s.File != pos.File || s.Start > pos.Offset {
			continue
		}
		if s.End < pos.Offset || s.End == pos.Offset && !s.Rotated {
			continue
		}
		if best == nil || s.End > best.End || s.End == best.End && s.Rotated && !best.Rotated {
			best = &own[i]
		}
	}
	return best
}

// Unneeded returns the segments no kept backup needs: those of a server
// that end at or before the coordinates of its oldest kept backup with
// coordinates; of a server no kept backup has coordinates of, those whose
// last transaction is older than the oldest kept backup. With no kept
// backup it returns none: nothing is deleted when in doubt.
func Unneeded(segs []binlog.Segment, kept []catalog.Backup) []binlog.Segment {
	if len(kept) == 0 {
		return nil
	}
	oldest := kept[0].Time
	from := map[string]binlog.Pos{}
	for _, b := range kept {
		if b.Time.Before(oldest) {
			oldest = b.Time
		}
		if !b.Recoverable() {
			continue
		}
		p, err := binlog.ParsePos(b.Binlog)
		if err != nil {
			continue
		}
		if cur, ok := from[b.BinlogServer]; !ok {
			from[b.BinlogServer] = p
		} else if c, ok := binlog.Compare(p, cur); ok && c < 0 {
			from[b.BinlogServer] = p
		}
	}
	var out []binlog.Segment
	for _, s := range segs {
		p, ok := from[s.Server]
		if !ok {
			if s.Last.Before(oldest) {
				out = append(out, s)
			}
			continue
		}
		if c, ok := binlog.Compare(s.To(), p); ok && (c < 0 || c == 0 && !s.Rotated) {
			out = append(out, s)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

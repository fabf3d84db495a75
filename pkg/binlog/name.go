package binlog

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// Folder is the folder of the remote, beside the backups, that holds the
// segments.
const Folder = "binlog"

// A segment's name says where it comes from and what it holds, so that a
// listing alone shows a gap:
//
//	<prefix>binlog-<first>~<last>_<server>_w<writer>_<file>_<start>-<end>[r]_g[<gtid>~<gtid>].zst[.age]
//
// first and last are the commit times of its first and last transaction
// (YYYYMMDD-HHMMSS, UTC, the server's clock), server the server's identity
// (MySQL's server_uuid, "id<server_id>" for MariaDB), writer the replica
// server id of the stream that wrote it (two machines streaming the same
// log cut it at the same places, and must not write the same name), file
// the binary log file, start and end the byte offsets of the events it holds, "r" that
// the file ends there (the server went on to the next file), and the GTIDs
// those of its first and last transaction. Segments of the same server
// sort by time.
const segmentWord = "binlog-"

// stampLayout is the layout of the times in a segment's name, as in a
// backup's.
const stampLayout = "20060102-150405"

// Segment is one segment of a server's binary log in the remote: the
// events of one file from Start to End, compressed (and maybe encrypted).
type Segment struct {
	Name      string
	Server    string // "3e11fa47-71ca-11e1-9e33-c80aa9429562", "id1"
	Writer    uint32 // the replica server id of the stream that wrote it
	File      string // "binlog.000003"
	Start     uint64 // offset of its first event (4: the file's start)
	End       uint64 // offset after its last event
	Rotated   bool   // the file ends at End
	First     time.Time
	Last      time.Time
	FirstGTID string // "" when the server writes none
	LastGTID  string
	Encrypted bool // in an age envelope (.zst.age)
	Partial   bool // an unpublished upload

	// From the listing.
	Size      int64
	ModTime   time.Time
	SHA256    string
	RawSize   int64 // -1 when not recorded
	Version   string
	Signature string
}

// From is where the segment starts.
func (s Segment) From() Pos { return Pos{File: s.File, Offset: s.Start} }

// To is where the segment ends.
func (s Segment) To() Pos { return Pos{File: s.File, Offset: s.End} }

// Backup is the segment as the catalog's checks and signatures see it: a
// stored file with a name, a checksum and sizes.
func (s Segment) Backup() catalog.Backup {
	f := catalog.Zstd
	if s.Encrypted {
		f = catalog.ZstdAge
	}
	return catalog.Backup{Name: s.Name, Time: s.First, Format: f, Size: s.Size, ModTime: s.ModTime,
		SHA256: s.SHA256, RawSize: s.RawSize, Version: s.Version, Signature: s.Signature}
}

// Codec names segments for one backup prefix. The zero value uses
// catalog.DefaultPrefix.
type Codec struct {
	Prefix string
}

func (c Codec) head() string {
	p := c.Prefix
	if p == "" {
		p = catalog.DefaultPrefix
	}
	return p + segmentWord
}

// Name is the file name of s. It does not check s: Parse(Name(s)) is s's
// naming fields only when they are valid (CheckSegment).
func (c Codec) Name(s Segment) string {
	var b strings.Builder
	b.WriteString(c.head())
	b.WriteString(s.First.UTC().Format(stampLayout))
	b.WriteByte('~')
	b.WriteString(s.Last.UTC().Format(stampLayout))
	fmt.Fprintf(&b, "_%s_w%d_%s_%d-%d", s.Server, s.Writer, s.File, s.Start, s.End)
	if s.Rotated {
		b.WriteByte('r')
	}
	b.WriteString("_g")
	if s.FirstGTID != "" || s.LastGTID != "" {
		b.WriteString(s.FirstGTID + "~" + s.LastGTID)
	}
	b.WriteString(".zst")
	if s.Encrypted {
		b.WriteString(".age")
	}
	return b.String()
}

// Parse decodes a file name. It reports false for any name that is not a
// segment (or partial upload of one) of this prefix; such files are never
// touched.
func (c Codec) Parse(name string) (Segment, bool) {
	s := Segment{Name: name, RawSize: -1}
	rest, ok := strings.CutPrefix(name, c.head())
	if !ok {
		return Segment{}, false
	}
	if r, ok := strings.CutSuffix(rest, catalog.PartialSuffix); ok {
		rest, s.Partial = r, true
	}
	if r, ok := strings.CutSuffix(rest, ".zst.age"); ok {
		rest, s.Encrypted = r, true
	} else if rest, ok = strings.CutSuffix(rest, ".zst"); !ok {
		return Segment{}, false
	}
	// From the left: the times, the server and the writer; from the right:
	// the GTIDs and the offsets; the file, which may hold '_', is what is
	// left.
	times, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return Segment{}, false
	}
	server, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return Segment{}, false
	}
	writer, rest, ok := strings.Cut(rest, "_")
	if !ok {
		return Segment{}, false
	}
	if writer, ok = strings.CutPrefix(writer, "w"); !ok {
		return Segment{}, false
	}
	w, ok := decimal(writer)
	if !ok || w > 1<<32-1 {
		return Segment{}, false
	}
	s.Writer = uint32(w)
	i := strings.LastIndexByte(rest, '_')
	if i < 0 {
		return Segment{}, false
	}
	gtids := rest[i+1:]
	rest = rest[:i]
	if i = strings.LastIndexByte(rest, '_'); i < 0 {
		return Segment{}, false
	}
	offsets, file := rest[i+1:], rest[:i]

	first, last, ok := strings.Cut(times, "~")
	if !ok {
		return Segment{}, false
	}
	var err error
	if s.First, err = parseStamp(first); err != nil {
		return Segment{}, false
	}
	if s.Last, err = parseStamp(last); err != nil {
		return Segment{}, false
	}
	s.Server, s.File = server, file
	offsets, s.Rotated = strings.CutSuffix(offsets, "r")
	a, b, ok := strings.Cut(offsets, "-")
	if !ok {
		return Segment{}, false
	}
	if s.Start, ok = decimal(a); !ok {
		return Segment{}, false
	}
	if s.End, ok = decimal(b); !ok {
		return Segment{}, false
	}
	g, ok := strings.CutPrefix(gtids, "g")
	if !ok {
		return Segment{}, false
	}
	if g != "" {
		if s.FirstGTID, s.LastGTID, ok = strings.Cut(g, "~"); !ok || s.FirstGTID == "" {
			return Segment{}, false
		}
	}
	if CheckSegment(s) != nil {
		return Segment{}, false
	}
	return s, true
}

func parseStamp(s string) (time.Time, error) {
	if len(s) != len(stampLayout) {
		return time.Time{}, fmt.Errorf("stamp %q", s)
	}
	return time.ParseInLocation(stampLayout, s, time.UTC)
}

// decimal reads a number written without sign or leading zeros.
func decimal(s string) (uint64, bool) {
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil && s == strconv.FormatUint(n, 10)
}

// CheckSegment says why the naming fields of s cannot make a segment's
// name: a server, file or GTID with characters a name cannot hold, offsets
// out of order, times out of order. Nil when they can.
func CheckSegment(s Segment) error {
	switch {
	case s.Server == "" || !nameSafe(s.Server, "-") || len(s.Server) > 64:
		return fmt.Errorf("segment server %q: want letters, digits and '-'", s.Server)
	case CheckFile(s.File) != nil:
		return CheckFile(s.File)
	case s.Start < FirstOffset || s.End < s.Start || s.End == s.Start && !s.Rotated:
		return fmt.Errorf("segment offsets %d-%d: want 4 <= start < end (start = end only where the file ends)", s.Start, s.End)
	case s.Last.Before(s.First):
		return fmt.Errorf("segment times %s~%s: the last is before the first", s.First.UTC().Format(stampLayout), s.Last.UTC().Format(stampLayout))
	case (s.FirstGTID == "") != (s.LastGTID == ""):
		return fmt.Errorf("segment GTIDs %q~%q: give both or neither", s.FirstGTID, s.LastGTID)
	case !nameSafe(s.FirstGTID, "-:") || !nameSafe(s.LastGTID, "-:") || len(s.FirstGTID)+len(s.LastGTID) > 100:
		return fmt.Errorf("segment GTIDs %q~%q: want letters, digits, '-' and ':'", s.FirstGTID, s.LastGTID)
	}
	return nil
}

// nameSafe reports whether s holds only ASCII letters, digits and extra.
func nameSafe(s, extra string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// Problem says why s, a published file with a segment's name, is not a
// segment at the time now: it is empty, or its last transaction is dated
// more than catalog.FutureTolerance after now. It returns "" for a
// segment.
func (s Segment) Problem(now time.Time) string {
	switch {
	case s.Size == 0:
		return "empty (0 bytes)"
	case s.Last.Sub(now) > catalog.FutureTolerance:
		return fmt.Sprintf("dated %s, %s ahead of the clock", s.Last.UTC().Format("2006-01-02 15:04:05 UTC"), s.Last.Sub(now).Round(time.Second))
	}
	return ""
}

// IgnoredSegment is a file with a segment's name that is not a segment,
// and why.
type IgnoredSegment struct {
	Segment Segment
	Reason  string
}

// Listing is a listing of the segments folder sorted into segments,
// partial uploads, files named like segments that are not, and foreign
// files.
type Listing struct {
	Segments []Segment // by server, then position (see Sort)
	Partials []Segment
	Ignored  []IgnoredSegment
	Foreign  []catalog.Entry
}

// Scan classifies a listing of the segments folder at the time now.
// Recorded metadata is read into the segments; a malformed raw size is
// unknown.
func (c Codec) Scan(entries []catalog.Entry, now time.Time) Listing {
	var l Listing
	for _, e := range entries {
		s, ok := c.Parse(e.Name)
		if !ok {
			l.Foreign = append(l.Foreign, e)
			continue
		}
		s.Size, s.ModTime = e.Size, e.ModTime
		s.SHA256, s.Version, s.Signature = e.Meta[catalog.MetaSHA256], e.Meta[catalog.MetaVersion], e.Meta[catalog.MetaSignature]
		if v, ok := e.Meta[catalog.MetaRawSize]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				s.RawSize = n
			}
		}
		switch {
		case s.Partial:
			l.Partials = append(l.Partials, s)
		case s.Problem(now) != "":
			l.Ignored = append(l.Ignored, IgnoredSegment{Segment: s, Reason: s.Problem(now)})
		default:
			l.Segments = append(l.Segments, s)
		}
	}
	Sort(l.Segments)
	Sort(l.Partials)
	return l
}

// Sort orders segments by server, then by position in the server's log
// (files of another base name after, by name), then by end, then by name,
// so that the order is total.
func Sort(ss []Segment) {
	sort.SliceStable(ss, func(i, j int) bool {
		a, b := ss[i], ss[j]
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		if c, ok := Compare(a.From(), b.From()); ok && c != 0 {
			return c < 0
		} else if !ok && a.File != b.File {
			return a.File < b.File
		}
		if a.End != b.End {
			return a.End < b.End
		}
		return a.Name < b.Name
	})
}

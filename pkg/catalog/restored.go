package catalog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MetaRestored records the last successful restore of a backup, written by
// yesterday-restore when its account may write (see Restored). It is a
// Drive property, so key and value together stay within Drive's 124 bytes.
const MetaRestored = "backupd-restored"

// maxRestoredValue is what Drive leaves for the value of MetaRestored:
// 124 bytes for key and value together.
const maxRestoredValue = 124 - len(MetaRestored)

// Bounds of the fields, so that a record always fits: a figure beyond its
// bound is written as the bound.
const (
	maxHost      = 32
	maxTables    = 999_999
	maxRows      = 999_999_999_999_999
	maxSeconds   = 999_999_999
	maxFallbacks = 9_999
)

// The record's time is written to the second; records written before
// held minutes only, and still parse.
const (
	restoredLayout       = "2006-01-02T15:04:05Z"
	restoredLayoutMinute = "2006-01-02T15:04Z"
)

// Restored is the record of a successful restore, kept on the backup it
// restored so that the proof is visible wherever the backups are listed.
// Its text form is compact, one line of fields separated by spaces:
//
//	2026-12-01T05:02:17Z yesterday 41t ~2134567r 93s 0fb
//
// the time (UTC, to the second; to the minute in records written before
// seconds were kept), the host, the tables, the rows ("~" when
// estimated, "?" when unknown), the seconds the restore took and the
// better candidates that were skipped as unusable before this one.
type Restored struct {
	At         time.Time // UTC, to the second
	Host       string
	Tables     int
	Rows       int64 // -1 when unknown
	RowsApprox bool  // Rows is the server's estimate, not a count
	Seconds    int64
	Fallbacks  int // better candidates skipped as unusable
}

// String is the record's text form, at most 97 bytes: the host is cut to
// 32 bytes and anything but letters, digits, '.', '-' and '_' in it becomes
// '_'; figures are bounded (a million tables, 10^15 rows, 10^9 seconds, 10^4
// fallbacks); a negative figure is written as 0.
func (r Restored) String() string {
	rows := "?r"
	if r.Rows >= 0 {
		rows = strconv.FormatInt(min(r.Rows, maxRows), 10) + "r"
		if r.RowsApprox {
			rows = "~" + rows
		}
	}
	return fmt.Sprintf("%s %s %dt %s %ds %dfb", r.At.UTC().Format(restoredLayout), cleanHost(r.Host),
		clamp(int64(r.Tables), maxTables), rows, clamp(r.Seconds, maxSeconds), clamp(int64(r.Fallbacks), maxFallbacks))
}

func clamp(n, hi int64) int64 { return max(0, min(n, hi)) }

func cleanHost(h string) string {
	if h == "" {
		return "-"
	}
	if len(h) > maxHost {
		h = h[:maxHost]
	}
	b := []byte(h)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ParseRestored reads the text form of a record. The value comes from the
// backup folder, which anyone with write access can change: it is read
// strictly, and anything else is an error.
func ParseRestored(s string) (Restored, error) {
	bad := func(why string) (Restored, error) {
		return Restored{}, fmt.Errorf("restore record %q: %s", clipText(s, 40), why)
	}
	if len(s) > maxRestoredValue {
		return bad("too long")
	}
	f := strings.Split(s, " ")
	if len(f) != 6 {
		return bad("want 6 fields")
	}
	var r Restored
	t, err := time.ParseInLocation(restoredLayout, f[0], time.UTC)
	if err != nil || t.Format(restoredLayout) != f[0] {
		t, err = time.ParseInLocation(restoredLayoutMinute, f[0], time.UTC)
		if err != nil || t.Format(restoredLayoutMinute) != f[0] {
			return bad("bad time")
		}
	}
	r.At = t
	if f[1] == "" || cleanHost(f[1]) != f[1] {
		return bad("bad host")
	}
	r.Host = f[1]
	n, err := count(f[2], "t")
	if err != nil || n > maxTables {
		return bad("bad table count")
	}
	r.Tables = int(n)
	rows := f[3]
	if rows == "?r" {
		r.Rows = -1
	} else {
		rows, r.RowsApprox = strings.CutPrefix(rows, "~")
		if r.Rows, err = count(rows, "r"); err != nil || r.Rows > maxRows {
			return bad("bad row count")
		}
	}
	if r.Seconds, err = count(f[4], "s"); err != nil || r.Seconds > maxSeconds {
		return bad("bad seconds")
	}
	n, err = count(f[5], "fb")
	if err != nil || n > maxFallbacks {
		return bad("bad fallback count")
	}
	r.Fallbacks = int(n)
	return r, nil
}

// count reads a non-negative decimal number without leading zeros
// followed by unit.
func count(s, unit string) (int64, error) {
	d, ok := strings.CutSuffix(s, unit)
	if !ok || d == "" || len(d) > 18 || (len(d) > 1 && d[0] == '0') {
		return 0, errors.New("bad count")
	}
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, errors.New("bad count")
		}
	}
	return strconv.ParseInt(d, 10, 64)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

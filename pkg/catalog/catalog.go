// Package catalog holds the one Backup type and the one name codec shared by
// listing, retention and snapshot selection.
//
// A backup's name is <prefix><YYYYMMDD>-<HHMMSS>.sql.zst, the time in UTC, so
// that names sort in time order and match the files the old shell scripts
// wrote (which end in .sql.gz and are still recognised); an encrypted
// backup ends in .sql.zst.age. An upload in progress
// carries the suffix ".partial" and is never taken for a backup.
//
// This package is the one definition of a backup that listing, retention,
// health, restore selection and verification share: a published file with
// a backup's name is a backup only if it is not empty and its name is not
// dated more than FutureTolerance ahead of the clock (see Backup.Problem).
// Anything else with a backup's name is listed as ignored, with the reason,
// and is never counted, deleted, restored or taken for the newest backup.
// The clock is always passed in; this package never reads it.
package catalog

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Format is the compression of a backup, named by its file extension.
type Format string

// The formats a backup can have.
const (
	Zstd Format = "zst" // written by backupd
	Gzip Format = "gz"  // written by the legacy shell script
	// ZstdAge is a zstd stream inside an age envelope (see pkg/seal),
	// written by backupd with --encrypt-to.
	ZstdAge Format = "zst.age"
)

// ErrNotFound is what a store returns (wrapped) from Open and Delete for a
// name it does not hold.
var ErrNotFound = errors.New("not found")

// ErrExists is what a store returns (wrapped) from Put when a file of the
// name is there already: a published backup is never replaced.
var ErrExists = errors.New("a file of that name exists already")

// ErrDenied is what a store returns (wrapped) from Delete when the remote
// refuses because the account may not delete there: a setting to fix (a
// role, a folder's permissions), not a fault that retrying cures.
var ErrDenied = errors.New("the account may not delete in the remote")

// PartialSuffix marks an upload that has not been published yet.
const PartialSuffix = ".partial"

// DefaultPrefix is the name prefix the legacy scripts used.
const DefaultPrefix = "db-backup-"

// Metadata keys stamped on a published backup (Drive properties, or extended
// attributes on a local folder).
const (
	MetaSHA256  = "backupd-sha256"   // hex sha256 of the stored (compressed) bytes
	MetaRawSize = "backupd-raw-size" // bytes of SQL before compression
	MetaVersion = "backupd-version"  // format version, see FormatVersion
	MetaTables  = "backupd-tables"   // table definitions in the dump
	MetaSuspect = "backupd-suspect"  // set when the dump's shape looked wrong: what dropped
	MetaSource  = "backupd-source"   // the dumped server's flavour and version: "MySQL 8.0.36"
	// MetaSignature is the Ed25519 signature (unpadded base64url, 86
	// characters) of the backup's name, stored sha256 and size, raw size
	// and version (see pkg/seal). Key and value fit Drive's 124 bytes.
	MetaSignature = "backupd-signature"
	// MetaBinlog is where the backup's snapshot stands in the source
	// server's binary log ("binlog.000003:157"): point-in-time recovery
	// replays the log from there. A backup without it is not usable for
	// recovery.
	MetaBinlog = "backupd-binlog"
	// MetaBinlogServer is the source server's identity, as segment names
	// give it (MySQL's server_uuid, "id<server_id>" for MariaDB).
	MetaBinlogServer = "backupd-binlog-server"
	// MetaBinlogAt is when the dump tool printed the coordinates (RFC 3339,
	// UTC): the snapshot was taken before it.
	MetaBinlogAt = "backupd-binlog-at"
)

// BinlogAtLayout is the layout of MetaBinlogAt.
const BinlogAtLayout = "2006-01-02T15:04:05.000000Z07:00"

// MaxSourceLen bounds the value of MetaSource: a Drive property's key and
// value together take at most 124 bytes.
const MaxSourceLen = 124 - len(MetaSource)

// FormatVersion is the version of the stored layout written into MetaVersion.
const FormatVersion = "1"

const stampLayout = "20060102-150405"

// Entry is one file as a store lists it.
type Entry struct {
	Name    string
	Size    int64
	ModTime time.Time
	Meta    map[string]string // may be nil
}

// Backup is one backup in the store, complete or (Partial) in progress.
type Backup struct {
	Name      string
	Time      time.Time // the snapshot time from the name, UTC
	Format    Format
	Size      int64     // stored bytes
	ModTime   time.Time // as the store reports it
	Partial   bool      // an unpublished upload (".partial")
	SHA256    string    // recorded checksum of the stored bytes, "" when none
	RawSize   int64     // recorded SQL size, -1 when unknown
	Version   string    // recorded format version (MetaVersion), "" when none
	Signature string    // recorded signature (MetaSignature), "" when none
	Source    string    // recorded source server ("MySQL 8.0.36"), "" when none
	// Restored is the last successful restore recorded on the backup
	// (MetaRestored); nil when none is, or the record is malformed.
	Restored *Restored
	// Binlog, BinlogServer and BinlogAt are the binary log coordinates
	// recorded with the backup (MetaBinlog, MetaBinlogServer,
	// MetaBinlogAt); empty when none are, or they are malformed.
	Binlog       string
	BinlogServer string
	BinlogAt     time.Time
}

// Recoverable reports whether the backup records where it stands in the
// source's binary log, which point-in-time recovery needs.
func (b Backup) Recoverable() bool {
	return b.Binlog != "" && b.BinlogServer != "" && !b.BinlogAt.IsZero()
}

// Encrypted reports whether the backup's name says it is in an age
// envelope.
func (b Backup) Encrypted() bool { return b.Format == ZstdAge }

// Codec converts between snapshot times and file names for one prefix.
// The zero value uses DefaultPrefix.
type Codec struct {
	Prefix string
}

func (c Codec) prefix() string {
	if c.Prefix == "" {
		return DefaultPrefix
	}
	return c.Prefix
}

// Name returns the file name of a backup taken at t in format f. The time is
// converted to UTC and truncated to the second.
func (c Codec) Name(t time.Time, f Format) string {
	return c.prefix() + t.UTC().Format(stampLayout) + ".sql." + string(f)
}

// Parse decodes a file name. It reports false for any name that is not a
// backup or partial upload of this prefix; such files are foreign and must
// never be touched.
func (c Codec) Parse(name string) (Backup, bool) {
	b := Backup{Name: name, RawSize: -1}
	rest, ok := strings.CutPrefix(name, c.prefix())
	if !ok {
		return Backup{}, false
	}
	if r, ok := strings.CutSuffix(rest, PartialSuffix); ok {
		rest, b.Partial = r, true
	}
	stamp, ext, ok := strings.Cut(rest, ".sql.")
	if !ok {
		return Backup{}, false
	}
	switch Format(ext) {
	case Zstd, Gzip, ZstdAge:
		b.Format = Format(ext)
	default:
		return Backup{}, false
	}
	if len(stamp) != len(stampLayout) {
		return Backup{}, false
	}
	t, err := time.ParseInLocation(stampLayout, stamp, time.UTC)
	if err != nil {
		return Backup{}, false
	}
	b.Time = t
	return b, true
}

// FutureTolerance is how far ahead of the clock a backup's name may be
// dated and still be a backup. A backup is named for the time its run
// started, before it is published, so a real one is never ahead of the
// clock of the machine that made it; the tolerance covers clocks of
// different machines that disagree a little. A name further ahead (a file
// named for 2099, or made by a machine whose clock is wrong) would
// otherwise be the "newest backup" for years: retention would keep it and
// count it in place of a real one, and health would report a negative age.
const FutureTolerance = 10 * time.Minute

// Problem says why b, a published file with a backup's name, is not a
// backup at the time now: it is empty (a file of 0 bytes; a size the store
// does not know, negative, is no reason), or its name is dated more than
// FutureTolerance after now. It returns "" for a backup. The zero now is
// before every name, so without a clock nothing is a backup.
func (b Backup) Problem(now time.Time) string {
	switch {
	case b.Size == 0:
		return "empty (0 bytes)"
	case b.Time.Sub(now) > FutureTolerance:
		return fmt.Sprintf("dated %s, %s ahead of the clock (%s; more than %s ahead is not a backup)",
			b.TimeString(), b.Time.Sub(now).Round(time.Second), now.UTC().Format("2006-01-02 15:04:05 UTC"), FutureTolerance)
	}
	return ""
}

// Ignored is a file with a backup's name that is not a backup, and why.
type Ignored struct {
	Backup Backup
	Reason string
}

// Listing is a store listing sorted into backups, partial uploads, files
// with a backup's name that are not backups, the record of a blocked
// retention, and foreign files.
type Listing struct {
	Backups  []Backup  // complete backups, oldest first (ties by name)
	Partials []Backup  // unpublished uploads, oldest first
	Ignored  []Ignored // named like backups but not backups (Backup.Problem), oldest first
	// Blocked is the file named BlockedName, nil when there is none.
	Blocked *Entry
	Foreign []Entry // anything else, in the order listed
}

// BlockedName is the file that records in the remote that retention is
// blocked: the account may not delete there. Pruning writes it when a
// delete is refused and deletes it as soon as deleting works again; its
// time is when it was written. It is never a backup.
func (c Codec) BlockedName() string { return c.prefix() + "retention-blocked" }

// Scan classifies a store listing at the time now (the caller's clock).
// Recorded metadata is read into the backups; a malformed raw size is
// treated as unknown. A published file for which Backup.Problem reports a
// reason goes to Ignored, never to Backups.
func (c Codec) Scan(entries []Entry, now time.Time) Listing {
	var l Listing
	for _, e := range entries {
		if e.Name == c.BlockedName() {
			l.Blocked = &e
			continue
		}
		b, ok := c.Parse(e.Name)
		if !ok {
			l.Foreign = append(l.Foreign, e)
			continue
		}
		b.Size, b.ModTime = e.Size, e.ModTime
		b.SHA256 = e.Meta[MetaSHA256]
		if v := e.Meta[MetaSource]; len(v) <= MaxSourceLen && strings.IndexFunc(v, func(r rune) bool { return r < ' ' || r > '~' }) < 0 {
			b.Source = v
		}
		b.Version, b.Signature = e.Meta[MetaVersion], e.Meta[MetaSignature]
		if v, ok := e.Meta[MetaRawSize]; ok {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
				b.RawSize = n
			}
		}
		b.Binlog, b.BinlogServer, b.BinlogAt = binlogMeta(e.Meta)
		if v, ok := e.Meta[MetaRestored]; ok {
			if r, err := ParseRestored(v); err == nil {
				b.Restored = &r
			}
		}
		switch {
		case b.Partial:
			l.Partials = append(l.Partials, b)
		case b.Problem(now) != "":
			l.Ignored = append(l.Ignored, Ignored{Backup: b, Reason: b.Problem(now)})
		default:
			l.Backups = append(l.Backups, b)
		}
	}
	Sort(l.Backups)
	Sort(l.Partials)
	SortIgnored(l.Ignored)
	return l
}

// SortIgnored orders ignored files as Sort orders backups.
func SortIgnored(is []Ignored) {
	sort.SliceStable(is, func(i, j int) bool {
		a, b := is[i].Backup, is[j].Backup
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Name < b.Name
	})
}

// Sort orders backups oldest first; backups of the same second are ordered
// by name so that the order is total.
func Sort(bs []Backup) {
	sort.SliceStable(bs, func(i, j int) bool {
		if !bs[i].Time.Equal(bs[j].Time) {
			return bs[i].Time.Before(bs[j].Time)
		}
		return bs[i].Name < bs[j].Name
	})
}

// Meta returns the metadata to stamp on a published backup.
func Meta(sha256Hex string, rawSize int64) map[string]string {
	return map[string]string{
		MetaSHA256:  sha256Hex,
		MetaRawSize: strconv.FormatInt(rawSize, 10),
		MetaVersion: FormatVersion,
	}
}

// String is the backup's name.
func (b Backup) String() string { return b.Name }

// TimeString formats the snapshot time the way the app's banner expects:
// "YYYY-MM-DD HH:MM:SS UTC".
func (b Backup) TimeString() string {
	return fmt.Sprint(b.Time.UTC().Format("2006-01-02 15:04:05"), " UTC")
}

// binlogMeta reads the recorded binary log coordinates: printable ASCII
// of a bounded length, and a time in BinlogAtLayout; all three or none.
func binlogMeta(m map[string]string) (pos, server string, at time.Time) {
	ok := func(v string) bool {
		return v != "" && len(v) <= 100 && strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r > '~' }) < 0
	}
	pos, server = m[MetaBinlog], m[MetaBinlogServer]
	t, err := time.Parse(BinlogAtLayout, m[MetaBinlogAt])
	if !ok(pos) || !ok(server) || err != nil || t.UTC().Format(BinlogAtLayout) != m[MetaBinlogAt] {
		return "", "", time.Time{}
	}
	return pos, server, t.UTC()
}

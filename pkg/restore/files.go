package restore

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// Status is the JSON record written to Restorer.StatusFile after a
// successful restore.
type Status struct {
	// State is StateReady in the record of a restore. While the database
	// holds no snapshot (a first boot, or its data was lost), a restore
	// writes StateRestoring records, with Progress, and StateFailed ones,
	// with Error: they have none of the fields that describe a snapshot
	// (see MarshalJSON).
	State           string    `json:"state"`
	Backup          string    `json:"backup"`
	Snapshot        string    `json:"snapshot"`      // "YYYY-MM-DD HH:MM:SS UTC", as in the snapshot file
	SnapshotTime    time.Time `json:"snapshot_time"` // the same, RFC 3339
	Database        string    `json:"database"`
	RestoredAt      time.Time `json:"restored_at"`
	DurationSeconds float64   `json:"duration_seconds"`
	StoredBytes     int64     `json:"stored_bytes"`
	RawBytes        int64     `json:"raw_bytes"`
	SHA256          string    `json:"sha256"`
	// Verified is false when the backup had no recorded checksum: its
	// bytes were read whole and its trailer found, but nothing proves they
	// are the bytes that were published.
	Verified bool            `json:"verified"`
	Tables   int             `json:"tables"`
	Skipped  []SkippedStatus `json:"skipped,omitempty"`
	// Recovery says what the run did about a swap an earlier run left
	// unfinished, before it restored anything.
	Recovery string `json:"recovery,omitempty"`
	// Source is where the backup came from ("MySQL 8.0.36"), and Mapped
	// what the restore changed of MySQL's dialect (Report.Mapped).
	Source string   `json:"source,omitempty"`
	Mapped []string `json:"mapped,omitempty"`
	// Encrypted says the backup was an age envelope.
	Encrypted bool `json:"encrypted"`
	// Signature is "valid", "unchecked" (signed, no verify key given) or
	// "none" (unsigned).
	Signature string `json:"signature"`
	// Progress, Error and UpdatedAt belong to the records written while
	// the database holds no snapshot.
	Progress  *LoadProgress `json:"progress,omitempty"`
	Error     string        `json:"error,omitempty"`
	UpdatedAt time.Time     `json:"updated_at,omitzero"`
}

// SkippedStatus is a candidate that was found unusable before the restored
// one.
type SkippedStatus struct {
	Backup string `json:"backup"`
	Error  string `json:"error"`
}

// Status returns the record of a restore for the status file.
func (rep Report) Status() Status {
	st := Status{
		State:           StateReady,
		Backup:          rep.Backup.Name,
		Snapshot:        rep.Backup.TimeString(),
		SnapshotTime:    rep.Backup.Time.UTC(),
		Database:        rep.Database,
		RestoredAt:      rep.RestoredAt.UTC(),
		DurationSeconds: rep.Duration.Seconds(),
		StoredBytes:     rep.StoredBytes,
		RawBytes:        rep.RawBytes,
		SHA256:          rep.SHA256,
		Verified:        rep.Verified,
		Tables:          rep.Tables,
		Encrypted:       rep.Encrypted,
		Signature:       string(rep.Signature),
	}
	for _, s := range rep.Skipped {
		st.Skipped = append(st.Skipped, SkippedStatus{Backup: s.Backup, Error: s.Err.Error()})
	}
	if rep.Recovery != nil {
		st.Recovery = rep.Recovery.Note
	}
	st.Source = rep.Source
	for _, c := range rep.Mapped {
		st.Mapped = append(st.Mapped, c.String())
	}
	return st
}

// writeFiles writes the snapshot and status files of a successful restore.
func (r *Restorer) writeFiles(rep Report, log *slog.Logger) error {
	if r.SnapshotFile != "" {
		if err := WriteFileAtomic(r.SnapshotFile, []byte(rep.Backup.TimeString()+"\n")); err != nil {
			// The database holds the new snapshot now: an older time
			// must not stay in the banner.
			r.removeSnapshotFile(log)
			return fmt.Errorf("write snapshot file: %w", err)
		}
	}
	if r.StatusFile != "" {
		if err := writeStatus(r.StatusFile, rep.Status()); err != nil {
			return err
		}
	}
	return nil
}

func writeStatus(path string, st Status) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return fmt.Errorf("write status file: %w", err)
	}
	if err := WriteFileAtomic(path, append(b, '\n')); err != nil {
		return fmt.Errorf("write status file: %w", err)
	}
	return nil
}

// withdrawFiles removes the snapshot and status files before the first
// change to the target: from then on until the swap has ended, the
// database holds neither the snapshot they name nor the new one. The
// snapshot file must go, and its removal must last (its directory is
// synced): after a power loss the old banner must not be back over a
// database that holds something else. The status file is only a record.
func (r *Restorer) withdrawFiles(log *slog.Logger) error {
	if r.StatusFile != "" {
		err := os.Remove(r.StatusFile)
		if err == nil {
			err = syncDir(filepath.Dir(r.StatusFile))
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove the status file before the swap", "file", r.StatusFile, "err", err)
		}
	}
	if r.SnapshotFile != "" {
		err := os.Remove(r.SnapshotFile)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			err = syncDir(filepath.Dir(r.SnapshotFile))
		}
		if err != nil {
			return fmt.Errorf("remove the snapshot file before the swap (the banner must not name a snapshot the database is leaving): %w", err)
		}
	}
	return nil
}

// syncDir makes what happened to the entries of dir (a file created,
// renamed or removed) last through a power loss.
var syncDir = func(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// removeSnapshotFile deletes the snapshot file (best effort), for when the
// database no longer matches the time it holds.
func (r *Restorer) removeSnapshotFile(log *slog.Logger) {
	if r.SnapshotFile == "" {
		return
	}
	if err := os.Remove(r.SnapshotFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		log.Warn("could not remove the snapshot file, which no longer matches the database", "file", r.SnapshotFile, "err", err)
	}
}

// WriteFileAtomic replaces path with data (mode 0644) so that a reader sees
// the old content or the new, never a mix: it writes a temporary file in
// the same directory, syncs it, renames it over path and syncs the
// directory, so that the new content is the one a power loss leaves.
func WriteFileAtomic(path string, data []byte) error {
	return writeFileAtomic(path, data, 0o644)
}

func writeFileAtomic(path string, data []byte, perm fs.FileMode) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Chmod(perm); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

package restore

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backupd/backupd/pkg/catalog"
)

// The states of the status file (Status.State).
const (
	// StateReady: the database holds the snapshot the record names.
	StateReady = "ready"
	// StateRestoring: the database holds no snapshot yet (a first boot,
	// or its data was lost) and a restore is loading one.
	StateRestoring = "restoring"
	// StateFailed: the database holds no snapshot and the last restore
	// failed.
	StateFailed = "failed"
)

// LoadProgress is how far a restore into a database that holds no
// snapshot has come.
type LoadProgress struct {
	Backup   string `json:"backup"`   // the backup being restored
	Snapshot string `json:"snapshot"` // its time, "YYYY-MM-DD HH:MM:SS UTC"
	// Phase is what the restore does: "starting", "downloading" (the
	// backup into the work directory, where it is checked before any of
	// it runs), "loading" (it into the staging database) or "swapping"
	// (that into the database). Percent and ETASeconds start again at
	// each phase.
	Phase string `json:"phase"`
	// Percent is the share of the backup's stored bytes read so far, 0 to
	// 100; nil when its size is unknown.
	Percent     *int  `json:"percent,omitempty"`
	StoredBytes int64 `json:"stored_bytes"` // the backup's stored size; -1 when unknown
	ReadBytes   int64 `json:"read_bytes"`   // its stored bytes read so far
	SQLBytes    int64 `json:"sql_bytes"`    // SQL loaded so far
	// ETASeconds is the time left in the phase at its rate so far, while
	// downloading or loading; nil
	// when it cannot be told.
	ETASeconds *int      `json:"eta_seconds,omitempty"`
	Since      time.Time `json:"since"` // when this backup began to load
}

// pendingEvery is how often the progress record is written.
var pendingEvery = 2 * time.Second

// MarshalJSON writes a record of StateRestoring or StateFailed with only
// the fields such a record has: the database, the progress or the error,
// what a recovery did, and the time of the record.
func (st Status) MarshalJSON() ([]byte, error) {
	type plain Status
	if st.State != StateRestoring && st.State != StateFailed {
		return json.Marshal(plain(st))
	}
	return json.Marshal(struct {
		State     string        `json:"state"`
		Database  string        `json:"database"`
		Progress  *LoadProgress `json:"progress,omitempty"`
		Error     string        `json:"error,omitempty"`
		Recovery  string        `json:"recovery,omitempty"`
		UpdatedAt time.Time     `json:"updated_at"`
	}{st.State, st.Database, st.Progress, st.Error, st.Recovery, st.UpdatedAt})
}

// pending keeps the status file up to date while a restore loads into a
// database that holds no snapshot: a StateRestoring record at once and
// every pendingEvery until the swap has ended, and a StateFailed record
// when the restore fails before a swap succeeded. A nil *pending writes
// nothing.
type pending struct {
	r       *Restorer
	target  string
	prog    *Progress
	log     *slog.Logger
	quit    chan struct{}
	done    chan struct{}
	once    sync.Once
	swapped bool
	warned  atomic.Bool
}

// startPending starts the progress records when there is a status file
// and target holds no snapshot: no table, or no database at all. It says
// so in the log.
func (r *Restorer) startPending(ctx context.Context, db *sql.DB, target string, prog *Progress, log *slog.Logger) *pending {
	if r.StatusFile == "" {
		return nil
	}
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_type <> 'VIEW'", target).Scan(&n)
	if err != nil {
		log.Warn("could not tell whether the database holds a snapshot; the status file is written only after the restore", "err", err)
		return nil
	}
	if n > 0 {
		return nil
	}
	log.Warn("the database holds no snapshot (a first boot, or its data was lost): the app has nothing to serve until this restore ends; the status file says how far it has come",
		"database", target, "status_file", r.StatusFile)
	p := &pending{r: r, target: target, prog: prog, log: log, quit: make(chan struct{}), done: make(chan struct{})}
	p.write(p.record())
	go p.run()
	return p
}

func (p *pending) run() {
	defer close(p.done)
	t := time.NewTicker(pendingEvery)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
			p.write(p.record())
		}
	}
}

// record is the StateRestoring record of the progress so far.
func (p *pending) record() Status {
	s := p.prog.State()
	lp := &LoadProgress{Backup: s.Backup, Phase: s.Phase, StoredBytes: s.Total, ReadBytes: s.Stored, SQLBytes: s.Raw}
	if b := p.prog.current(); b.Name != "" {
		lp.Snapshot = b.TimeString()
		lp.Since = time.Now().Add(-s.Elapsed).UTC()
	} else {
		lp.Phase = "starting"
	}
	if s.Total > 0 {
		pct := int(min(100, max(0, 100*s.Stored/s.Total)))
		lp.Percent = &pct
		if (s.Phase == "downloading" || s.Phase == "loading") && s.Stored > 0 && s.Stored < s.Total {
			eta := int((s.Elapsed * time.Duration(s.Total-s.Stored) / time.Duration(s.Stored)).Seconds())
			lp.ETASeconds = &eta
		}
	}
	return Status{State: StateRestoring, Database: p.target, Progress: lp, UpdatedAt: time.Now().UTC()}
}

func (p *pending) write(st Status) {
	if err := writeStatus(p.r.StatusFile, st); err != nil && !p.warned.Swap(true) {
		p.log.Warn("could not write the restore's progress to the status file", "err", err)
	}
}

// stop ends the records; it may be called more than once.
func (p *pending) stop() {
	p.once.Do(func() {
		close(p.quit)
		<-p.done
	})
}

// withdraw withdraws the snapshot and status files before the swap's
// first change to the target (Restorer.withdrawFiles). While the database
// holds no snapshot, the status file is not removed but replaced by a
// record of the swap, in one rename: the app must never find it missing
// and query a database half made. A nil *pending withdraws both.
func (p *pending) withdraw(r *Restorer, log *slog.Logger) error {
	if p == nil {
		return r.withdrawFiles(log)
	}
	banner := *r
	banner.StatusFile = ""
	if err := banner.withdrawFiles(log); err != nil {
		return err
	}
	p.write(p.record())
	return nil
}

// swapEnded stops the records once the swap has ended: the restore
// writes the status file itself from then on. After a swap that
// succeeded, a later error (writing the files) is no failed restore.
func (p *pending) swapEnded(err error) {
	if p == nil {
		return
	}
	p.stop()
	p.swapped = err == nil
}

// end stops the records and, when the restore failed before a swap
// succeeded, writes a StateFailed record with the error.
func (p *pending) end(err error) {
	if p == nil {
		return
	}
	p.stop()
	if err == nil || p.swapped {
		return
	}
	p.write(Status{State: StateFailed, Database: p.target, Error: err.Error(), UpdatedAt: time.Now().UTC()})
}

// current returns the backup being restored.
func (p *Progress) current() catalog.Backup {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.backup
}

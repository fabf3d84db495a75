package restore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/sqltext"
)

// journal is what a run needs to finish or undo a swap that a crash
// interrupted. It is a file of the work directory (see journalPath), not
// a table: the restore alone writes there, whereas a backup's statements
// write the staging database while it loads, and a record planted there
// would name the session to kill, the definitions to create in the live
// target and the banner to write. Whether the tables had moved is not
// written down: the one RENAME TABLE statement moves all or none, so
// where the tables are says it, even when the server ran the rename after
// its client died.
type journal struct {
	Staging  string `json:"staging"` // the staging database it speaks for
	Backup   string `json:"backup"`
	Snapshot string `json:"snapshot"` // the banner line the swap brings
	Status   Status `json:"status"`   // the status record of the new snapshot
	ConnID   int64  `json:"conn_id"`  // the server session running the swap
	// ServerStart is when the server that ran the swap started (Unix
	// seconds): a session id names the same session only while the
	// server has not restarted, after which ids start again from 1.
	ServerStart int64     `json:"server_start"`
	Started     time.Time `json:"started"`
	HadBanner   bool      `json:"had_banner"`
	PrevBanner  string    `json:"prev_banner"` // the snapshot file before the swap
	HadStatus   bool      `json:"had_status"`
	PrevStatus  string    `json:"prev_status"` // the status file before the swap
	Prev        schemaRec `json:"prev"`        // the target before the swap
	Next        schemaRec `json:"next"`        // the staging database, loaded and checked
}

type objectRec struct {
	Kind          string `json:"kind"`
	Name          string `json:"name"`
	Create        string `json:"create"`
	SQLMode       string `json:"sql_mode,omitempty"`
	HasSQLMode    bool   `json:"has_sql_mode,omitempty"`
	CharsetClient string `json:"charset_client,omitempty"`
	Collation     string `json:"collation,omitempty"`
	TimeZone      string `json:"time_zone,omitempty"`
	HasTimeZone   bool   `json:"has_time_zone,omitempty"`
}

type schemaRec struct {
	Tables   []string    `json:"tables"`
	Views    []objectRec `json:"views"`
	Triggers []objectRec `json:"triggers"`
	Routines []objectRec `json:"routines"`
	Events   []objectRec `json:"events"`
}

func recordSchema(s schema) schemaRec {
	objs := func(l []object) []objectRec {
		out := make([]objectRec, len(l))
		for i, o := range l {
			out[i] = objectRec{o.kind, o.name, o.create, o.sqlMode, o.hasSQLMode, o.charsetClient, o.collation, o.timeZone, o.hasTimeZone}
		}
		return out
	}
	return schemaRec{Tables: s.tables, Views: objs(s.views), Triggers: objs(s.triggers), Routines: objs(s.routines), Events: objs(s.events)}
}

func (r schemaRec) schema() schema {
	objs := func(l []objectRec) []object {
		out := make([]object, len(l))
		for i, o := range l {
			out[i] = object{kind: o.Kind, name: o.Name, create: o.Create, sqlMode: o.SQLMode, hasSQLMode: o.HasSQLMode,
				charsetClient: o.CharsetClient, collation: o.Collation, timeZone: o.TimeZone, hasTimeZone: o.HasTimeZone}
		}
		return out
	}
	return schema{tables: r.Tables, views: objs(r.Views), triggers: objs(r.Triggers), routines: objs(r.Routines), events: objs(r.Events)}
}

// journalPath is the file of the journal of a swap from staging in the
// work directory dir.
func journalPath(dir, staging string) string {
	return filepath.Join(dir, "journal-"+fileTag(staging)+".json")
}

// writeJournal records j in dir (0600), synced with its directory before
// it returns: the banner is withdrawn and the target changed only after.
func writeJournal(dir string, j journal) error {
	b, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("write the swap journal: %w", err)
	}
	if err := writeFileAtomic(journalPath(dir, j.Staging), b, 0o600); err != nil {
		return fmt.Errorf("write the swap journal: %w", err)
	}
	return nil
}

// readJournal returns the journal of a swap from staging in dir; ok is
// false when there is none.
func readJournal(dir, staging string) (j journal, ok bool, err error) {
	path := journalPath(dir, staging)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return j, false, nil
	}
	if err != nil {
		return j, false, fmt.Errorf("read the swap journal: %w", err)
	}
	if err := json.Unmarshal(b, &j); err != nil || j.Staging != staging {
		return j, false, fmt.Errorf("the swap journal %s is unreadable or not of %s (%v); if the databases are whole, remove it", path, staging, err)
	}
	return j, true, nil
}

// removeJournal removes the journal of a swap that ended, for good.
func removeJournal(dir, staging string) error {
	if err := os.Remove(journalPath(dir, staging)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the swap journal: %w", err)
	}
	return syncDir(dir)
}

// serverStart is an expression for when the server started, in Unix
// seconds: exact, since the server counts its uptime from the same clock
// as UNIX_TIMESTAMP().
const serverStart = "(SELECT CAST(UNIX_TIMESTAMP() - VARIABLE_VALUE AS SIGNED) FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME = 'UPTIME')"

// tableIn reports whether database db has a table (or view) named name.
func tableIn(ctx context.Context, db *sql.DB, database, name string) (bool, error) {
	var n int
	err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
		database, name).Scan(&n)
	return n > 0, err
}

// Recovery says what a run did about a swap that an earlier run left
// unfinished.
type Recovery struct {
	Backup   string // the backup that was being swapped in
	Finished bool   // the swap was completed: the target holds Backup
	// Note describes it for people: "finished the swap of ... interrupted
	// at ...", or "undid ...: the target holds the previous snapshot again".
	Note string
}

// recoverSwap finishes or undoes a swap that an earlier run began and did
// not end, from the journal and the workspaces it left. It runs before
// anything else changes and leaves the workspaces for cleanup only when
// the target is whole again; otherwise it fails, keeping them.
func (r *Restorer) recoverSwap(ctx context.Context, db *sql.DB, ws *workspace, dir string, log *slog.Logger) (*Recovery, error) {
	j, ok, err := readJournal(dir, ws.staging)
	if err != nil || !ok {
		return nil, err
	}
	if ok, err := ws.ours(ctx, ws.staging, "staging"); err != nil {
		return nil, err
	} else if !ok {
		// The workspaces it speaks for are gone: the database was made
		// anew, or they were dropped by hand.
		log.Warn("a swap journal names a staging database that no longer exists; removing it", "backup", j.Backup, "staging", ws.staging)
		return nil, removeJournal(dir, ws.staging)
	}
	ws.adopt()
	log = log.With("backup", j.Backup)
	log.Warn("an earlier run was interrupted during its swap; recovering", "started", j.Started.Format(time.RFC3339))
	// The killed run's session may still be running a statement, such as
	// a RENAME waiting for a table lock: it must end before anything
	// moves, or it could move the tables after the recovery decided.
	if err := endSession(ctx, db, j.ConnID, j.ServerStart, log); err != nil {
		ws.keep = true
		return nil, err
	}
	prev, next := j.Prev.schema(), j.Next.schema()
	renamed, err := ws.renamed(ctx, prev, next)
	if err != nil {
		ws.keep = true
		return nil, err
	}
	sw := swapper{target: ws.target, staging: ws.staging, attic: ws.attic, log: log}
	rec := &Recovery{Backup: j.Backup}
	when := j.Started.UTC().Format("2006-01-02 15:04:05 UTC")
	if renamed {
		err := sw.withConn(ctx, db, func(conn *sql.Conn) error { return sw.complete(ctx, conn, prev, next) })
		if err == nil {
			rec.Finished = true
			rec.Note = fmt.Sprintf("finished the swap of %s begun at %s: %s holds %s", j.Backup, when, ws.target, j.Snapshot)
			log.Warn("recovered: " + rec.Note)
			st := j.Status
			st.RestoredAt, st.Recovery = time.Now().UTC(), rec.Note
			if err := r.writeRecoveredFiles(j.Snapshot+"\n", true, &st, log); err != nil {
				return rec, err
			}
			return rec, removeJournal(dir, ws.staging)
		}
		log.Warn("could not finish the interrupted swap; putting the previous database back", "err", err)
		var se *swapError
		if uerr := sw.undoAfterRename(ctx, db, prev, next, err); errors.As(uerr, &se) && !se.rolledBack {
			ws.keep = true
			return nil, fmt.Errorf("recover the swap of %s interrupted at %s: %w", j.Backup, when, uerr)
		}
	} else {
		err := sw.withConn(ctx, db, func(conn *sql.Conn) error {
			if _, err := conn.ExecContext(ctx, "USE "+sqltext.Ident(ws.target)); err != nil {
				return err
			}
			return sw.recreate(ctx, conn, prev, false)
		})
		if err != nil {
			ws.keep = true
			return nil, fmt.Errorf("recover the swap of %s interrupted at %s: put back the previous views and triggers: %w", j.Backup, when, err)
		}
	}
	rec.Note = fmt.Sprintf("undid the swap of %s begun at %s: %s holds the previous snapshot again", j.Backup, when, ws.target)
	log.Warn("recovered: " + rec.Note)
	var st *Status
	if j.HadStatus {
		st = new(Status)
		if err := json.Unmarshal([]byte(j.PrevStatus), st); err != nil {
			st = nil
		} else {
			st.Recovery = rec.Note
		}
	}
	if err := r.writeRecoveredFiles(j.PrevBanner, j.HadBanner, st, log); err != nil {
		return rec, err
	}
	return rec, removeJournal(dir, ws.staging)
}

// writeRecoveredFiles puts the banner and status back after a recovery:
// banner when had, else no banner; st when not nil.
func (r *Restorer) writeRecoveredFiles(banner string, had bool, st *Status, log *slog.Logger) error {
	if r.SnapshotFile != "" && had {
		if err := WriteFileAtomic(r.SnapshotFile, []byte(banner)); err != nil {
			r.removeSnapshotFile(log)
			return fmt.Errorf("write snapshot file: %w", err)
		}
	}
	if r.StatusFile != "" && st != nil {
		if err := writeStatus(r.StatusFile, *st); err != nil {
			return err
		}
	}
	return nil
}

// renamed tells from where the tables are whether the swap's RENAME TABLE
// ran.
func (w *workspace) renamed(ctx context.Context, prev, next schema) (bool, error) {
	switch {
	case len(next.tables) > 0:
		t := next.tables[0]
		inStaging, err := tableIn(ctx, w.db, w.staging, t)
		if err != nil {
			return false, fmt.Errorf("recover the swap: %w", err)
		}
		inTarget, err := tableIn(ctx, w.db, w.target, t)
		if err != nil {
			return false, fmt.Errorf("recover the swap: %w", err)
		}
		// The old and the new tables often share names: only staging
		// tells. It holds all of the new tables or none.
		if !inStaging && !inTarget {
			return false, fmt.Errorf("recover the swap: table %s is neither in %s nor in %s", sqltext.Ident(t), w.staging, w.target)
		}
		return !inStaging, nil
	case len(prev.tables) > 0:
		inAttic, err := tableIn(ctx, w.db, w.attic, prev.tables[0])
		if err != nil {
			return false, fmt.Errorf("recover the swap: %w", err)
		}
		return inAttic, nil
	}
	return true, nil
}

// endSession kills the server session id of the server that started at
// start (Unix seconds), when it still exists (it belongs to the same
// account, which may kill its own sessions), and waits until it is gone.
// On a server that restarted since, the session is gone and the id may be
// another's (an app's, or this run's own): nothing is killed.
func endSession(ctx context.Context, db *sql.DB, id, start int64, log *slog.Logger) error {
	var now int64
	if err := db.QueryRowContext(ctx, "SELECT "+serverStart).Scan(&now); err != nil {
		return fmt.Errorf("ask when the server started: %w", err)
	}
	if now != start {
		log.Info("the server restarted since the interrupted swap: its session is gone", "session", id,
			"started_then", time.Unix(start, 0).UTC(), "started_now", time.Unix(now, 0).UTC())
		return nil
	}
	deadline := time.Now().Add(time.Minute)
	killed := false
	for {
		var n int
		err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.processlist WHERE id = ?", id).Scan(&n)
		if err != nil {
			return fmt.Errorf("look for the interrupted swap's session %d: %w", id, err)
		}
		if n == 0 {
			return nil
		}
		if !killed {
			log.Warn("the interrupted swap's session is still running a statement; killing it", "session", id)
			if _, err := db.ExecContext(ctx, fmt.Sprintf("KILL CONNECTION %d", id)); err != nil && mariadb.Code(err) != errNoSuchThread {
				return fmt.Errorf("kill the interrupted swap's session %d: %w", id, err)
			}
			killed = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the interrupted swap's session %d did not end within a minute of being killed", id)
		}
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// errNoSuchThread is ER_NO_SUCH_THREAD: the session ended by itself.
const errNoSuchThread = 1094

// readOptional returns a file's content; had is false when it does not
// exist.
func readOptional(path string) (content string, had bool, err error) {
	if path == "" {
		return "", false, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	return string(b), true, nil
}

// Package restore loads a backup into a local MariaDB database, all or
// nothing: a backup with a recorded checksum is first read into a private
// file and checked against it, so that none of its statements runs unless
// its bytes are the ones published (one without is streamed from the
// store); it is decompressed and loaded into a staging database, and only
// when all of it loaded and checked out are its tables renamed into the
// target in one statement and its views, triggers, routines and events
// recreated there. A backup that turns out unusable leaves the target
// untouched and the next candidate is tried. The swap keeps a journal in
// the work directory, out of a backup's reach, from which a later run
// finishes or undoes a swap a crash interrupted.
package restore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/backupd/backupd/internal/mariadb"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
	"github.com/backupd/backupd/pkg/loader"
	"github.com/backupd/backupd/pkg/seal"
	"github.com/backupd/backupd/pkg/selector"
	"github.com/backupd/backupd/pkg/sqltext"

	"filippo.io/age"
)

// Lister lists the files of a backup store.
type Lister interface {
	List(ctx context.Context) ([]catalog.Entry, error)
}

// Store is what a restore reads backups from.
type Store interface {
	Lister
	Open(ctx context.Context, name string) (io.ReadCloser, error)
}

// DefaultWait is how long Restore waits for the database to answer.
const DefaultWait = 60 * time.Second

// StagingSuffix names the default staging database: "<target>_restore".
// The attic, which holds the replaced tables during the swap, is the
// staging database's name with AtticSuffix: "<target>_restore_old".
const (
	StagingSuffix = "_restore"
	AtticSuffix   = "_old"
)

// ErrRestoreRunning means another restore of the same database is running:
// it holds the server-wide named lock for that database (see namedLock).
var ErrRestoreRunning = errors.New("another restore of this database is running")

// ErrChecksum means a backup's bytes do not hash to the checksum recorded
// when it was published.
var ErrChecksum = dump.ErrChecksum

// ErrUnverified means a backup has no recorded checksum and
// Restorer.RequireChecksum refuses such backups.
var ErrUnverified = errors.New("the backup has no recorded checksum")

// Loader runs the SQL text of a dump into the staging database that
// conn.Database names (see loader.Loader). It must read r to its end on
// success, and fail when reading r fails.
type Loader = loader.Loader

// Choose lists the store and decides what to restore: the backup named
// name when it is a backup at now (catalog.Backup.Problem), else
// selector.Pick's choice at now. An error
// wraps selector.ErrNoBackup when there is nothing to restore, and says
// what the folder holds instead.
func Choose(ctx context.Context, store Lister, codec catalog.Codec, now time.Time, p selector.Policy, name string) (selector.Choice, error) {
	entries, err := store.List(ctx)
	if err != nil {
		return selector.Choice{}, fmt.Errorf("list backups: %w", err)
	}
	l := codec.Scan(entries, now)
	if name == "" {
		if len(l.Backups) == 0 {
			return selector.Choice{}, fmt.Errorf("%w: %s", selector.ErrNoBackup, noBackups(l, codec))
		}
		return selector.Pick(l.Backups, now, p)
	}
	for _, b := range l.Backups {
		if b.Name == name && selector.Eligible(b, now) {
			return selector.Choice{Backup: b, Target: b.Time, Reason: "chosen by name", Candidates: []catalog.Backup{b}}, nil
		}
	}
	for _, i := range l.Ignored {
		if i.Backup.Name == name {
			return selector.Choice{}, fmt.Errorf("%w: %s is not a backup: %s", selector.ErrNoBackup, name, i.Reason)
		}
	}
	return selector.Choice{}, fmt.Errorf("%w: no complete backup named %q", selector.ErrNoBackup, name)
}

// noBackups says what a listing without a backup holds: nothing named
// like one, or only unfinished uploads and files that are not backups.
func noBackups(l catalog.Listing, codec catalog.Codec) string {
	prefix := codec.Prefix
	if prefix == "" {
		prefix = catalog.DefaultPrefix
	}
	if len(l.Partials) == 0 && len(l.Ignored) == 0 {
		return fmt.Sprintf("the folder holds no backups (no file named %sYYYYMMDD-HHMMSS.sql.zst; %d other files)", prefix, len(l.Foreign))
	}
	msg := fmt.Sprintf("the folder holds no complete backup: %d unfinished uploads (.partial)", len(l.Partials))
	if len(l.Ignored) > 0 {
		i := l.Ignored[len(l.Ignored)-1]
		msg += fmt.Sprintf(", %d files named like backups that are not (the newest, %s: %s)", len(l.Ignored), i.Backup.Name, i.Reason)
	}
	return msg
}

// Restorer restores backups into one database.
type Restorer struct {
	Store Store
	// Conn reaches the local server as the app's own user; Conn.Database is
	// the database to replace (created when missing).
	Conn mariadb.Conn
	// StagingDB is where a backup is loaded first; "" means the target's
	// name with StagingSuffix. The user needs all privileges on it and on
	// its attic (the same name with AtticSuffix).
	StagingDB string
	Loader    Loader        // nil means loader.Parallel{}
	Wait      time.Duration // for the database to answer; 0 means DefaultWait
	// SnapshotFile, when set, receives the restored snapshot's time as
	// "YYYY-MM-DD HH:MM:SS UTC" and a newline, only after a restore
	// succeeded; it is removed before the swap changes the target, and
	// put back when a failed swap is undone. StatusFile likewise receives
	// a JSON Status.
	SnapshotFile string
	StatusFile   string
	// RequireChecksum refuses backups without a recorded checksum: they
	// are skipped like corrupt ones (ErrUnverified). Without it they are
	// restored and reported as unverified.
	RequireChecksum bool
	// Strict maps nothing of MySQL's dialect: a MySQL dump that MariaDB
	// cannot run as it is (0900 collations, GTID state, ...) is refused
	// like a corrupt one and the next candidate tried. Without it such a
	// dump is mapped (see Report.Mapped and docs/mysql.md).
	Strict bool
	// Identities open encrypted backups (.sql.zst.age); an encrypted
	// backup that none of them opens is skipped (seal.ErrNoIdentity).
	Identities []age.Identity
	// VerifyKeys check the backups' signatures before a byte is read: a
	// signature that verifies under none of them is skipped
	// (seal.ErrBadSignature). RequireSignature also skips backups
	// without a valid signature (seal.ErrUnsigned).
	VerifyKeys       []seal.VerifyKey
	RequireSignature bool
	// WorkDir is a directory of this user's (made 0700 when missing)
	// where a backup with a recorded checksum is spooled and checked
	// before any of it runs, which needs its stored size free there, and
	// where the swap keeps its journal. It must be on disk, not in memory,
	// and last as long as the database. "" means DefaultWorkDir().
	WorkDir  string
	Progress *Progress // optional
	Log      *slog.Logger
}

// Report describes a successful restore.
type Report struct {
	Backup      catalog.Backup
	Database    string
	Compression dump.Compression
	StoredBytes int64
	RawBytes    int64
	SHA256      string
	Tables      int
	RestoredAt  time.Time
	Duration    time.Duration
	Skipped     []Skipped // better candidates found unusable, in the order tried
	Recovery    *Recovery // what was done first about an interrupted swap; nil when none
	// Verified says the stored bytes matched a checksum recorded when the
	// backup was published; false for a backup without one.
	Verified bool
	// Source is where the backup came from: the source recorded when it
	// was taken (catalog.MetaSource), else what the dump's header says
	// ("MySQL 8.0.36"); "" when neither says.
	Source string
	// Mapped is what the restore changed of a MySQL dump so that MariaDB
	// runs it ("mapped 12 collations utf8mb4_0900_ai_ci ->
	// utf8mb4_uca1400_nopad_ai_ci", "dropped 1 GTID_PURGED").
	Mapped []sqltext.Change
	// Encrypted says the backup was an age envelope, opened with one of
	// the identities given.
	Encrypted bool
	// Signature is what is known of the backup's signature: valid when
	// it verified under a verify key (and the bytes matched what it
	// signs), unchecked without a key, none when unsigned.
	Signature seal.SigState
}

// Skipped is a candidate that could not be restored.
type Skipped struct {
	Backup string
	Err    error
}

// backupError is a failure caused by the backup itself (corrupt,
// truncated, rejected by the server): the next candidate may do better.
type backupError struct {
	name string
	err  error
}

func (e *backupError) Error() string { return fmt.Sprintf("backup %s is unusable: %v", e.name, e.err) }
func (e *backupError) Unwrap() error { return e.err }

// Validate reports settings that can never work: no target database, or
// workspace names that clash with it or exceed MariaDB's limits.
func (r *Restorer) Validate() error {
	_, _, _, err := r.names()
	return err
}

func (r *Restorer) names() (target, staging, attic string, err error) {
	target = r.Conn.Database
	if target == "" {
		return "", "", "", errors.New("restore: no database named")
	}
	staging = r.StagingDB
	if staging == "" {
		staging = target + StagingSuffix
	}
	attic = staging + AtticSuffix
	switch {
	case staging == target:
		return "", "", "", fmt.Errorf("restore: the staging database must not be the target %q", target)
	case attic == target:
		return "", "", "", fmt.Errorf("restore: staging database %q would make the target %q its attic", staging, target)
	case len([]rune(attic)) > 64:
		return "", "", "", fmt.Errorf("restore: database name %q is longer than MariaDB's 64 characters; choose a shorter staging database", attic)
	}
	return target, staging, attic, nil
}

// Restore restores the first usable backup of candidates (best first) into
// the target. It first checks the account's grants and finishes or undoes
// a swap that an earlier run left unfinished (Report.Recovery). A
// candidate that turns out corrupt, truncated, unverified when
// RequireChecksum is set, or whose statements the server refuses, is
// logged and skipped; nothing outside staging is written until one has
// loaded and checked out. A candidate refused by Screen (no checksum when
// one is required, its signature, no age identity) is skipped before it
// is read. When every candidate was refused by the keys given (no identity
// opens them, no verify key checks their signatures) the error is a
// *KeyError; when every one was refused before loading otherwise, it wraps
// selector.ErrNoBackup. It fails without trying further candidates when
// the problem is the machine's (the server, disk, memory, the account) or
// the swap's. The snapshot file is removed before the swap's first change
// to the target and written once the target holds the new snapshot.
func (r *Restorer) Restore(ctx context.Context, candidates []catalog.Backup) (_ Report, err error) {
	start := time.Now()
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	target, staging, attic, err := r.names()
	if err != nil {
		return Report{}, err
	}
	if len(candidates) == 0 {
		return Report{}, fmt.Errorf("restore: %w", selector.ErrNoBackup)
	}
	ld := r.Loader
	if ld == nil {
		ld = loader.Parallel{Log: log}
	}
	wait := r.Wait
	if wait == 0 {
		wait = DefaultWait
	}
	prog := r.Progress
	if prog == nil {
		prog = new(Progress)
	}
	db, err := openDB(r.Conn, log)
	if err != nil {
		return Report{}, err
	}
	defer db.Close()
	prog.begin(catalog.Backup{}, "waiting for the database")
	if err := waitForDB(ctx, db, r.Conn, wait, log); err != nil {
		return Report{}, err
	}
	if err := checkGrants(ctx, db, target, staging, attic, log); err != nil {
		return Report{}, err
	}
	unlock, err := namedLock(ctx, db, target)
	if err != nil {
		return Report{}, err
	}
	defer unlock()
	dir, err := r.openWorkDir()
	if err != nil {
		return Report{}, err
	}
	removeSpoolLeftovers(dir, staging, log)
	ws := workspace{db: db, target: target, staging: staging, attic: attic, log: log}
	defer ws.cleanup(ctx)
	// A swap that an earlier run left unfinished is finished or undone
	// before anything else: its workspaces hold what it takes.
	rec, err := r.recoverSwap(ctx, db, &ws, dir, log)
	if err != nil {
		return Report{}, err
	}
	// With no snapshot in the target, the app has nothing to serve: the
	// status file says how far the restore has come, or why it failed.
	pend := r.startPending(ctx, db, target, prog, log)
	defer func() { pend.end(err) }()

	var skipped []Skipped
	for i, b := range candidates {
		blog := log.With("backup", b.Name)
		if i > 0 {
			blog.Warn("falling back to the next candidate", "rank", i+1, "of", len(candidates))
		}
		if err := r.Screen(b); err != nil {
			blog.Error("backup refused before reading it", "err", err)
			skipped = append(skipped, Skipped{Backup: b.Name, Err: err})
			continue
		}
		if err := ws.prepare(ctx); err != nil {
			return Report{}, err
		}
		blog.Info("restoring", "snapshot", b.TimeString(), "stored_bytes", b.Size, "into", staging)
		res, err := r.load(ctx, db, ld, b, staging, dir, prog, blog)
		for err != nil && r.retryRead(ctx, b.Name) {
			// The read failed, not the backup: load it all again, into
			// a fresh staging database, from the next remote.
			blog.Warn("reading the backup failed; loading it again from the next remote", "err", err)
			if err := ws.prepare(ctx); err != nil {
				return Report{}, err
			}
			res, err = r.load(ctx, db, ld, b, staging, dir, prog, blog)
		}
		var be *backupError
		if errors.As(err, &be) {
			blog.Error("backup is unusable; skipping it", "err", be.err)
			skipped = append(skipped, Skipped{Backup: b.Name, Err: be.err})
			continue
		}
		if err != nil {
			return Report{}, err
		}
		logDialect(blog, res)
		checkpoint("verified")
		// Only now, with the backup loaded and checked, may anything
		// outside staging change.
		if err := ensureTarget(ctx, db, target); err != nil {
			return Report{}, err
		}
		prog.setPhase("swapping")
		rep := Report{
			Backup: b, Database: target, Compression: res.compression,
			StoredBytes: res.stored, RawBytes: res.raw, SHA256: res.sha256,
			Skipped: skipped, Recovery: rec, Verified: b.SHA256 != "",
			Source: res.source, Mapped: res.mapped,
			Encrypted: res.encrypted, Signature: seal.Check(b, r.VerifyKeys),
		}
		var prevBanner, prevStatus string
		var hadBanner, hadStatus bool
		sw := swapper{target: target, staging: staging, attic: attic, log: blog,
			begin: func(ctx context.Context, conn *sql.Conn, prev, next schema) error {
				j := journal{Staging: staging, Backup: b.Name, Snapshot: b.TimeString(), Started: time.Now().UTC(),
					Prev: recordSchema(prev), Next: recordSchema(next)}
				st := rep
				st.Tables, st.RestoredAt, st.Duration = len(next.tables), time.Now().UTC(), time.Since(start)
				j.Status = st.Status()
				if err := conn.QueryRowContext(ctx, "SELECT CONNECTION_ID(), "+serverStart).Scan(&j.ConnID, &j.ServerStart); err != nil {
					return fmt.Errorf("swap: %w", err)
				}
				var err error
				if j.PrevBanner, j.HadBanner, err = readOptional(r.SnapshotFile); err != nil {
					return fmt.Errorf("read the snapshot file: %w", err)
				}
				if j.PrevStatus, j.HadStatus, err = readOptional(r.StatusFile); err != nil {
					return fmt.Errorf("read the status file: %w", err)
				}
				prevBanner, hadBanner, prevStatus, hadStatus = j.PrevBanner, j.HadBanner, j.PrevStatus, j.HadStatus
				if err := writeJournal(dir, j); err != nil {
					return err
				}
				return pend.withdraw(r, blog)
			}}
		// Once begun, the swap runs to its end even on a signal: a RENAME
		// that the server finishes after the client gave up would be
		// mistaken for a failed one and "undone" over the new tables. It is
		// bounded by the server's lock wait timeout.
		tables, err := sw.swap(context.WithoutCancel(ctx), db)
		pend.swapEnded(err)
		if err != nil {
			var se *swapError
			switch {
			case errors.As(err, &se) && !se.rolledBack:
				// The target is neither the old snapshot nor the new one:
				// no banner at all is better than a wrong one, and the
				// journal and the workspaces let the next run finish or
				// undo the swap.
				ws.keep = true
			default:
				// The target is as it was: so are its files.
				if jerr := removeJournal(dir, staging); jerr != nil {
					blog.Warn("could not remove the swap journal; the next run undoes the swap again", "err", jerr)
				}
				if !hadBanner && !hadStatus {
					break
				}
				var st *Status
				if hadStatus {
					st = new(Status)
					if json.Unmarshal([]byte(prevStatus), st) != nil {
						st = nil
					}
				}
				if ferr := r.writeRecoveredFiles(prevBanner, hadBanner, st, blog); ferr != nil {
					blog.Warn("could not put the snapshot and status files back", "err", ferr)
				}
			}
			return Report{}, fmt.Errorf("swap %s into %s: %w", b.Name, target, err)
		}
		rep.Tables, rep.RestoredAt, rep.Duration = tables, time.Now().UTC(), time.Since(start)
		blog.Info("restored", "snapshot", b.TimeString(), "tables", tables, "raw_bytes", res.raw,
			"duration", rep.Duration.Round(time.Millisecond).String(), "verified", rep.Verified,
			"encrypted", rep.Encrypted, "signature", string(rep.Signature))
		if !rep.Verified {
			blog.Warn("the restored backup is unverified: it has no recorded checksum, so nothing proves its bytes are the ones published (--require-checksum refuses such backups)")
		}
		ferr := r.writeFiles(rep, blog)
		// The target holds the new snapshot whole: there is nothing left
		// to finish or undo.
		if err := removeJournal(dir, staging); err != nil {
			blog.Warn("could not remove the swap journal; the next run finishes the swap again", "err", err)
		}
		if ferr != nil {
			return rep, fmt.Errorf("restored %s into %s, but: %w", b.Name, target, ferr)
		}
		return rep, nil
	}
	state := target + " was left as it was"
	if rec != nil {
		state = "before trying them, this run " + rec.Note
	}
	return Report{}, noUsable(len(candidates), skipped, state)
}

type loadResult struct {
	compression dump.Compression
	stored, raw int64
	sha256      string
	source      string
	mapped      []sqltext.Change
	encrypted   bool
}

// refuse says why b is refused before a byte of it is read: its signature
// (seal.Problem), or it is encrypted and there is no identity to open it.
func (r *Restorer) refuse(b catalog.Backup) error {
	if err := seal.Problem(b, r.VerifyKeys, r.RequireSignature); err != nil {
		return err
	}
	if b.Encrypted() && len(r.Identities) == 0 {
		return fmt.Errorf("%w (give the identity with --age-identity or BACKUPD_AGE_IDENTITY_FILE)", seal.ErrNoIdentity)
	}
	return nil
}

// refused reports whether err refuses a backup for want of a checksum, a
// signature or a key, rather than for what its bytes hold: a run that
// refused every candidate so had no backup it could restore.
func refused(err error) bool {
	for _, e := range []error{ErrUnverified, seal.ErrUnsigned, seal.ErrBadSignature, seal.ErrNoIdentity} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// load loads one backup into the staging database and verifies it: the
// loader consumed the whole dump, and dump.CheckResult.Problems finds
// nothing wrong (recorded checksum and sizes, trailer). A backup with a
// recorded checksum is spooled into dir and checked first (see spool), so
// that none of its statements runs unless its bytes are the ones
// published; one without is streamed from the store.
func (r *Restorer) load(ctx context.Context, db *sql.DB, ld Loader, b catalog.Backup, staging, dir string, prog *Progress, log *slog.Logger) (loadResult, error) {
	var res loadResult
	bad := func(err error) error { return &backupError{name: b.Name, err: err} }
	var rc io.ReadCloser
	var opts []dump.StreamOption
	if b.SHA256 != "" {
		prog.begin(b, "downloading")
		f, err := r.spool(ctx, b, dir, staging, prog, log)
		if err != nil {
			return res, err
		}
		log.Debug("spooled and checked the backup", "stored_bytes", b.Size, "sha256", b.SHA256)
		rc = f
		opts = append(opts, dump.Hashed(strings.ToLower(b.SHA256)))
		checkpoint("spooled")
	} else {
		var err error
		if rc, err = r.Store.Open(ctx, b.Name); err != nil {
			if ctx.Err() != nil {
				return res, err
			}
			return res, bad(fmt.Errorf("open: %w", err))
		}
	}
	defer rc.Close()
	prog.begin(b, "loading")
	stream, err := dump.NewStream(rc, &prog.Stored, &prog.Raw,
		append(opts, dump.WithIdentities(r.Identities), dump.Encrypted(b.Encrypted()))...)
	if err != nil {
		return res, bad(err)
	}
	// The loader puts every statement through sqltext.Gate, which refuses
	// what a dump of one database does not write and takes the dump's
	// DEFINER clauses out.
	var sqlText io.Reader = stream
	if pause != nil {
		sqlText = &pauseReader{r: sqlText}
	}
	conn := r.Conn
	conn.Database = staging
	dialect := &sqltext.Dialect{Strict: r.Strict}
	if rl, ok := ld.(loader.RuleLoader); ok {
		target, _, attic, _ := r.names()
		err = rl.LoadWith(ctx, sqlText, conn, loader.Rules{Dialect: dialect, Whole: true, Reserved: []string{target, staging, attic}})
	} else {
		err = ld.Load(ctx, sqlText, conn)
	}
	if err != nil {
		stream.Close()
		if ctx.Err() != nil {
			return res, fmt.Errorf("restore %s: %w", b.Name, context.Cause(ctx))
		}
		if machineFault(err) {
			return res, fmt.Errorf("load %s: %w", b.Name, err)
		}
		// The server refused a statement of the dump. The account had what
		// the restore needs when it started: if the server still answers,
		// staging is still there and the grants are unchanged, the dump
		// asked for something wrong or out of bounds.
		if merr := r.machineStillFine(ctx, db, staging); merr != nil {
			return res, fmt.Errorf("load %s: %w (and %v)", b.Name, err, merr)
		}
		return res, bad(fmt.Errorf("load: %w", err))
	}
	chk := stream.Finish()
	if problems := chk.Problems(b); len(problems) > 0 {
		return res, bad(errors.Join(problems...))
	}
	if !chk.SQLEnded {
		return res, bad(errors.New("the loader stopped before the end of the dump"))
	}
	res.compression, res.stored, res.raw, res.sha256 = chk.Compression, chk.StoredBytes, chk.RawBytes, chk.SHA256
	res.source, res.mapped = source(b, dialect), dialect.Changes()
	res.encrypted = chk.Encrypted
	return res, nil
}

// pause, when set, is called at named points of a restore. Only the
// package's tests set it, to kill a restore at a precise moment; nothing in
// the environment or the settings can.
var pause func(point string)

// checkpoint calls pause, if set, at the point named.
func checkpoint(point string) {
	if pause != nil {
		pause(point)
	}
}

// pauseReader calls checkpoint("load") once, on its second read: the load
// has begun and is not finished.
type pauseReader struct {
	r     io.Reader
	reads int
}

func (p *pauseReader) Read(b []byte) (int, error) {
	p.reads++
	if p.reads == 2 {
		checkpoint("load")
	}
	return p.r.Read(b)
}

// machineStillFine checks, after the server refused a statement of a
// dump, that the refusal cannot be the machine's doing: the server
// answers, the staging database exists and the account's grants still
// cover the restore.
func (r *Restorer) machineStillFine(ctx context.Context, db *sql.DB, staging string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("the database no longer answers: %w", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?", staging).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("the staging database %s is gone (%v)", staging, err)
	}
	target, _, attic, _ := r.names()
	return checkGrants(ctx, db, target, staging, attic, slog.New(slog.DiscardHandler))
}

// Progress is read concurrently while a restore runs, for progress reports.
type Progress struct {
	Stored atomic.Int64 // stored (compressed) bytes read of the current backup
	Raw    atomic.Int64 // SQL bytes loaded of the current backup

	mu     sync.Mutex
	backup catalog.Backup
	phase  string
	start  time.Time
}

// ProgressState is a snapshot of a Progress.
type ProgressState struct {
	Backup  string
	Phase   string // "waiting for the database", "loading", "swapping"
	Total   int64  // stored size of the backup, from the listing; <= 0 when unknown
	Stored  int64
	Raw     int64
	Elapsed time.Duration // since the current backup started loading
}

func (p *Progress) begin(b catalog.Backup, phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.backup, p.phase, p.start = b, phase, time.Now()
	p.Stored.Store(0)
	p.Raw.Store(0)
}

func (p *Progress) setPhase(phase string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.phase = phase
}

// State returns the current figures.
func (p *Progress) State() ProgressState {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := ProgressState{Backup: p.backup.Name, Phase: p.phase, Total: p.backup.Size, Stored: p.Stored.Load(), Raw: p.Raw.Load()}
	if !p.start.IsZero() {
		s.Elapsed = time.Since(p.start)
	}
	return s
}

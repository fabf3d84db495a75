// Package lock keeps backups to one at a time across processes: "backupd
// now" run over ssh and the daemon's hourly job take the same lock file.
//
// The lock is an flock(2) on the file, so the kernel releases it when the
// holder exits, however it exits; a stale file left behind never blocks
// anyone. A holder removes the file when it lets go (Release), so files do
// not pile up; only a holder killed outright leaves one, which the next
// taker uses and removes. While held, the file records who holds it (PID, command, start
// time) so that a process that finds it taken can say by whom and since when.
package lock

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// DefaultDir holds the lock files used when none is configured. It is a
// fixed directory rather than $XDG_RUNTIME_DIR or $TMPDIR, which differ
// between an ssh session and a service, so that every backupd on the
// machine that would collide meets the same file without configuration.
const DefaultDir = "/tmp"

// DefaultPath is the lock file for backups of one database into one remote,
// when none is configured: "/tmp/backupd-<12 hex digits>.lock", the digits
// a hash of what is given (the remote and the database, by the commands).
// Runs that would collide (the daemon and "backupd now" over ssh on the
// same remote and database) share it; unrelated ones (a demo, another
// database) do not.
func DefaultPath(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return filepath.Join(DefaultDir, "backupd-"+hex.EncodeToString(h.Sum(nil))[:12]+".lock")
}

// ErrLocked is matched (errors.Is) by the error returned when another
// process holds the lock.
var ErrLocked = errors.New("lock held by another process")

// Owner is what the holder writes into the lock file.
type Owner struct {
	PID     int       `json:"pid"`
	Command string    `json:"command,omitempty"`
	Since   time.Time `json:"since"`
}

// HeldError reports a lock held by someone else. Owner is the zero value
// when the file did not say who (it was being written at that moment).
type HeldError struct {
	Path   string
	Owner  Owner
	Waited time.Duration // how long the caller waited before giving up
}

func (e *HeldError) Error() string {
	msg := "another backup is running: "
	if e.Owner.PID > 0 {
		msg += fmt.Sprintf("pid %d", e.Owner.PID)
		if e.Owner.Command != "" {
			msg += " (" + e.Owner.Command + ")"
		}
		msg += " holds the lock " + e.Path
	} else {
		msg += "the lock " + e.Path + " is held"
	}
	if !e.Owner.Since.IsZero() {
		msg += " since " + e.Owner.Since.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	if e.Waited > 0 {
		msg += fmt.Sprintf("; gave up after waiting %s", e.Waited.Round(time.Second))
	}
	return msg
}

// Is makes errors.Is(err, ErrLocked) true.
func (e *HeldError) Is(target error) bool { return target == ErrLocked }

// Lock is a held lock. Release it when the backup is over.
type Lock struct {
	f        *os.File
	path     string
	readOnly bool // the file belongs to another user; no owner record
}

// attempts bounds the retries when the lock file is replaced between open
// and flock (someone deleted it); each retry opens the new file.
const attempts = 5

// TryAcquire takes the lock at path at once or returns a *HeldError (which
// matches ErrLocked). The file and its directory are created when missing.
// command names the holder in the message others get.
func TryAcquire(path, command string) (*Lock, error) {
	for range attempts {
		l, err := try(path, command)
		if !errors.Is(err, errReplaced) {
			return l, err
		}
	}
	return nil, fmt.Errorf("lock %s: the file keeps being replaced", path)
}

// Acquire takes the lock, waiting up to wait for a holder to let go, and
// polling every poll (a second when zero). With wait zero it is TryAcquire.
// It returns a *HeldError when the wait ends with the lock still held, or
// ctx's error when ctx ends first.
func Acquire(ctx context.Context, path, command string, wait, poll time.Duration) (*Lock, error) {
	if poll <= 0 {
		poll = time.Second
	}
	start := time.Now()
	deadline := start.Add(wait)
	for {
		l, err := TryAcquire(path, command)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			if wait > 0 {
				held.Waited = time.Since(start)
			}
			return nil, held
		}
		t := time.NewTimer(min(poll, left))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}

var errReplaced = errors.New("lock file replaced")

// betweenOpenAndLock, when set, runs in try between opening the file and
// locking it. Only the package's tests set it, to stage the race of a file
// removed in that moment.
var betweenOpenAndLock func()

func try(path, command string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// O_NOFOLLOW: a symlink planted at the path (the default is in /tmp)
	// must not make backupd truncate the file it points to.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW, 0o644)
	readOnly := false
	if errors.Is(err, os.ErrPermission) {
		// Another user's lock file: flock works on a read-only descriptor,
		// only the owner record cannot be written.
		f, err = os.OpenFile(path, os.O_RDONLY|unix.O_NOFOLLOW, 0)
		readOnly = true
	}
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if betweenOpenAndLock != nil {
		betweenOpenAndLock()
	}
	err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return nil, &HeldError{Path: path, Owner: readOwner(path)}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	// The file may have been deleted or replaced after we opened it; a
	// lock on an unlinked inode excludes nobody, so start again.
	if same, err := samePath(f, path); err != nil || !same {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return nil, errReplaced
	}
	l := &Lock{f: f, path: path, readOnly: readOnly}
	if readOnly {
		return l, nil
	}
	if err := l.writeOwner(Owner{PID: os.Getpid(), Command: command, Since: time.Now().UTC()}); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: record owner: %w", path, err)
	}
	return l, nil
}

func samePath(f *os.File, path string) (bool, error) {
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	pi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(fi, pi), nil
}

func (l *Lock) writeOwner(o Owner) error {
	b, err := json.Marshal(o)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if err := l.f.Truncate(0); err != nil {
		return err
	}
	_, err = l.f.WriteAt(b, 0)
	return err
}

// readOwner reads the holder's record. The holder writes it just after
// taking the lock, so an empty or half-written file is retried briefly.
func readOwner(path string) Owner {
	for i := range 3 {
		b, err := os.ReadFile(path)
		if err == nil {
			var o Owner
			if json.Unmarshal(bytes.TrimSpace(b), &o) == nil && o.PID > 0 {
				return o
			}
		}
		if i < 2 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	return Owner{}
}

// Path is the lock file's path.
func (l *Lock) Path() string { return l.path }

// Release clears the owner record, removes the file and lets go of the
// lock, so that lock files do not pile up. The file is removed while the
// lock is still held, and only when it is still the one locked: a
// process that opened it before and locks it after finds it gone from the
// path and starts again (see try), and a file someone else put at the path
// is left alone. Another user's file (locked read-only) stays. Release may
// be called more than once.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	var truncErr, rmErr error
	if !l.readOnly {
		truncErr = f.Truncate(0)
		if same, err := samePath(f, l.path); err == nil && same {
			if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				rmErr = err
			}
		}
	}
	// Closing the descriptor drops the flock.
	closeErr := f.Close()
	if err := errors.Join(truncErr, rmErr, closeErr); err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}

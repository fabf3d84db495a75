package restore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/backupd/backupd/internal/count"
	"github.com/backupd/backupd/pkg/catalog"
	"github.com/backupd/backupd/pkg/dump"
)

// DefaultWorkDir is the work directory of a restore run by the current
// user when Restorer.WorkDir is empty: under /var/tmp, which lives on
// disk and outlives a reboot, unlike a /tmp in memory.
func DefaultWorkDir() string {
	return filepath.Join("/var/tmp", fmt.Sprintf("yesterday-restore-%d", os.Getuid()))
}

// SpoolReserve is the free space the spool leaves on its disk beyond a
// backup's stored size.
const SpoolReserve = 64 << 20

// openWorkDir makes the work directory exist, private to this user, and
// returns it. A directory that is a symbolic link, belongs to someone
// else or that others may write is refused: what the restore keeps there
// must be its own.
func (r *Restorer) openWorkDir() (string, error) {
	dir := r.WorkDir
	if dir == "" {
		dir = DefaultWorkDir()
	}
	bad := func(format string, a ...any) error {
		return fmt.Errorf("work directory %s: "+format+"; set --work-dir (RESTORE_WORK_DIR) to a directory of this user's", append([]any{dir}, a...)...)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", bad("%v", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", bad("%v", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return "", bad("not a directory")
	case !ok || st.Uid != uint32(os.Getuid()):
		return "", bad("it belongs to another user")
	case fi.Mode().Perm()&0o077 != 0:
		if err := os.Chmod(dir, 0o700); err != nil {
			return "", bad("others may enter it and it cannot be made private: %v", err)
		}
	}
	return dir, nil
}

// fileTag names the files of one restore in the work directory: several
// databases may be restored through one directory, each under its named
// lock.
func fileTag(staging string) string {
	sum := sha256.Sum256([]byte(staging))
	return hex.EncodeToString(sum[:8])
}

func spoolPrefix(staging string) string { return "spool-" + fileTag(staging) + "-" }

// removeSpoolLeftovers removes what a run killed between creating its
// spool file and unlinking it left in dir.
func removeSpoolLeftovers(dir, staging string, log *slog.Logger) {
	names, _ := filepath.Glob(filepath.Join(dir, spoolPrefix(staging)+"*"))
	for _, n := range names {
		if err := os.Remove(n); err != nil && !errors.Is(err, fs.ErrNotExist) {
			log.Warn("could not remove a spool file an earlier run left", "file", n, "err", err)
		}
	}
}

// freeSpace returns the bytes free to this user on the file system of
// dir, and whether it keeps them in memory (tmpfs).
var freeSpace = func(dir string) (free int64, inMemory bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	return int64(st.Bavail) * st.Bsize, st.Type == unix.TMPFS_MAGIC, nil
}

// spool reads b's stored bytes from the store into a file in dir while
// hashing them, and returns the file at its start once they match the
// size and sha256 recorded for b: nothing of a backup reaches the server
// before its bytes are proven to be the ones published (and, with a
// signature, the ones production signed). The file has no name from the
// start (it is unlinked at once), so it is gone when the file is closed
// or the process dies, however. A mismatch or a failed read is the
// backup's fault (*backupError); a disk that is full or fails is the
// machine's.
func (r *Restorer) spool(ctx context.Context, b catalog.Backup, dir, staging string, prog *Progress, log *slog.Logger) (*os.File, error) {
	bad := func(err error) error { return &backupError{name: b.Name, err: err} }
	free, inMemory, err := freeSpace(dir)
	if err != nil {
		return nil, fmt.Errorf("spool %s: free space in %s: %w", b.Name, dir, err)
	}
	if inMemory {
		log.Warn("the work directory is in memory (tmpfs): the backup is spooled to RAM; set --work-dir (RESTORE_WORK_DIR) to a directory on disk", "dir", dir)
	}
	limit := free - SpoolReserve
	if b.Size > limit || limit <= 0 {
		return nil, fmt.Errorf("spool %s: %s needs %d bytes and %d more to spare, but %d are free; free some, or set --work-dir (RESTORE_WORK_DIR) to a larger disk",
			b.Name, dir, max(b.Size, 0), SpoolReserve, free)
	}
	if b.Size >= 0 {
		// One byte more than listed is enough to find it is too long.
		limit = b.Size + 1
	}
	f, err := os.CreateTemp(dir, spoolPrefix(staging)+"*")
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", b.Name, err)
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool %s: %w", b.Name, err)
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	rc, err := r.Store.Open(ctx, b.Name)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, bad(fmt.Errorf("open: %w", err))
	}
	defer rc.Close()
	h := sha256.New()
	w := &writeErr{w: io.MultiWriter(f, h)}
	n, err := io.CopyBuffer(w, count.NewReader(io.LimitReader(rc, limit), &prog.Stored), make([]byte, 1<<20))
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("restore %s: %w", b.Name, context.Cause(ctx))
	case w.err != nil:
		return nil, fmt.Errorf("spool %s into %s: %w", b.Name, dir, w.err)
	case err != nil:
		return nil, bad(fmt.Errorf("read: %w", err))
	case b.Size >= 0 && n != b.Size:
		return nil, bad(fmt.Errorf("stored %w: read %d bytes, the remote lists %d", dump.ErrSize, n, b.Size))
	case b.Size < 0 && n == limit:
		return nil, fmt.Errorf("spool %s: it filled %s; set --work-dir (RESTORE_WORK_DIR) to a larger disk", b.Name, dir)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, b.SHA256) {
		return nil, bad(fmt.Errorf("%w: read %s, recorded %s", dump.ErrChecksum, sum, b.SHA256))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("spool %s: %w", b.Name, err)
	}
	keep = true
	return f, nil
}

// writeErr keeps the first error of its writer, so that a full disk is
// told from a failed read.
type writeErr struct {
	w   io.Writer
	err error
}

func (w *writeErr) Write(p []byte) (int, error) {
	n, err := w.w.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

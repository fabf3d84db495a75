package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rclone/rclone/fs"
	"golang.org/x/sys/unix"
)

// Modes of a local remote: a backup is the whole database, so only the
// account that runs backupd may read it, whatever the process's umask.
// rclone's local backend creates files 0666 and folders 0777 less the umask
// and has no setting for it, so the store sets them itself.
const (
	localDirMode  = 0o700
	localFileMode = 0o600
)

// prepareLocal makes the folder of a local remote 0700 (creating it, or
// tightening one that others could enter) and creates the partial upload
// empty and 0600 before rclone opens it: rclone then writes into that file
// and the rename that publishes it keeps its mode, so no byte of the
// backup is ever readable by others. Whatever is at the partial's name (an
// upload a kill interrupted, a link) is unlinked first, never followed.
func (s *Store) prepareLocal(partial string) error {
	dir := filepath.FromSlash(s.f.Root())
	if err := os.MkdirAll(dir, localDirMode); err != nil {
		return fmt.Errorf("create backup folder: %w", err)
	}
	st, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("backup folder: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("backup folder %s is not a folder", dir)
	}
	if st.Mode().Perm() != localDirMode {
		if err := os.Chmod(dir, localDirMode); err != nil {
			return fmt.Errorf("make backup folder %s private (chmod 700): %w", dir, err)
		}
		if st.Mode().Perm()&0o077 != 0 {
			s.log.Warn("backup folder was open to others; made it private", "folder", dir,
				"was", fmt.Sprintf("%o", st.Mode().Perm()), "now", fmt.Sprintf("%o", localDirMode))
		}
	}
	p := filepath.Join(dir, partial)
	if err := unix.Unlink(p); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("remove old %s: %w", partial, err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, localFileMode)
	if err != nil {
		return fmt.Errorf("create %s: %w", partial, err)
	}
	// The umask may have taken the owner's bits too.
	err = f.Chmod(localFileMode)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("protect %s: %w", partial, err)
	}
	return nil
}

// publishLocal publishes the partial obj under name in a local folder: the
// metadata go onto the partial first (extended attributes, which the
// rename keeps), then the partial is renamed without replacing anything
// (renameat2 RENAME_NOREPLACE; where the filesystem lacks it, a hard link,
// which never replaces either, and the partial's name removed). A name
// taken already is an error wrapping ErrExists. A filesystem without
// extended attributes still gets the backup, without a recorded checksum.
func (s *Store) publishLocal(ctx context.Context, obj fs.Object, name string, meta map[string]string) (fs.Object, error) {
	if len(meta) > 0 {
		sm, ok := obj.(fs.SetMetadataer)
		if !ok {
			return nil, fmt.Errorf("the local backend cannot set metadata on %s", obj.Remote())
		}
		if err := sm.SetMetadata(ctx, meta); err != nil {
			s.log.Warn("backup published without recorded checksum", "backup", name, "err", err)
		}
	}
	dir := filepath.FromSlash(s.f.Root())
	from, to := filepath.Join(dir, obj.Remote()), filepath.Join(dir, name)
	err := unix.Renameat2(unix.AT_FDCWD, from, unix.AT_FDCWD, to, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = os.Link(from, to); err == nil {
			if rerr := os.Remove(from); rerr != nil {
				s.log.Warn("could not remove uploaded partial after publishing", "object", obj.Remote(), "err", rerr)
			}
		}
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, os.ErrExist) {
		return nil, fmt.Errorf("%w: not replaced", ErrExists)
	}
	if err != nil {
		return nil, err
	}
	return s.f.NewObject(ctx, name)
}

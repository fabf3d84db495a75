package storage

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/rclone/rclone/fs"
	"golang.org/x/sys/unix"
	"google.golang.org/api/googleapi"
)

// ErrNoMetadata is returned (wrapped) by SetMeta on a remote that keeps no
// metadata of its own (rclone's memory backend).
var ErrNoMetadata = errors.New("the remote keeps no metadata")

// ErrReadOnly is returned (wrapped) by SetMeta when the account may read
// the file but not change it: a Viewer or Commenter on Google Drive, a file
// the process may not write on a local folder.
var ErrReadOnly = errors.New("the account may not change files in the remote")

// SetMeta adds the keys of meta to the metadata of the file name, replacing
// those it has already; its other metadata and its content are kept. It
// returns ErrNotFound for a name the store does not hold, ErrNoMetadata on
// a remote without metadata and ErrReadOnly when the account may not write.
//
// On a local folder the keys are extended attributes; on Google Drive they
// are properties, changed by one files.update call (rclone's server-side
// move of the file onto its own name, which moves nothing).
func (s *Store) SetMeta(ctx context.Context, name string, meta map[string]string) error {
	if !s.f.Features().UserMetadata {
		return fmt.Errorf("record on %s: %w", name, ErrNoMetadata)
	}
	o, err := s.object(ctx, name)
	if err != nil {
		return err
	}
	if sm, ok := o.(fs.SetMetadataer); ok {
		err = sm.SetMetadata(ctx, meta)
	} else if move := s.f.Features().Move; move != nil {
		_, err = move(withMetadata(ctx, meta), o, name)
	} else {
		return fmt.Errorf("record on %s: %w", name, ErrNoMetadata)
	}
	if err == nil {
		return nil
	}
	if readOnly(err) {
		return fmt.Errorf("record on %s: %w (%v)", name, ErrReadOnly, err)
	}
	return fmt.Errorf("record on %s: %w", name, s.hints.explain(err))
}

// readOnly reports whether err is a refusal to write, not a fault.
func readOnly(err error) bool {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EROFS) {
		return true
	}
	var ge *googleapi.Error
	if errors.As(err, &ge) && ge.Code == http.StatusForbidden {
		for _, e := range ge.Errors {
			if e.Reason == "insufficientFilePermissions" || e.Reason == "forbidden" {
				return true
			}
		}
	}
	return false
}

package cli

import (
	"context"
	"log/slog"

	"github.com/rclone/rclone/fs/fspath"

	"github.com/backupd/backupd/pkg/binlog"
	"github.com/backupd/backupd/pkg/storage"
)

// SegmentsRemote is the remote of the binary log segments: the folder
// binlog.Folder inside the backups' remote, so that listings of the
// backups never carry them.
func (s Settings) SegmentsRemote() string { return fspath.JoinRootPath(s.Remote, binlog.Folder) }

// OpenSegments opens the segments' folder of the configured remote (see
// OpenRemote); a local folder is created on the first segment.
func OpenSegments(ctx context.Context, st Settings, log *slog.Logger) (*storage.Store, error) {
	var opts []storage.OpenOption
	if st.FolderSource != "" {
		opts = append(opts, storage.FolderSource(st.FolderSource))
	}
	return OpenRemote(ctx, st.SegmentsRemote(), log, opts...)
}

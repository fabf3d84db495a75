// Package cli is the command-line layer that backupd and yesterday-restore
// share: a kong parser whose settings come from a flag, else from the
// environment the old scripts used, else a default (Parser, Problems); the
// settings groups of the commands (RemoteFlags, DatabaseFlags, DumpFlags);
// the one table from errors to exit statuses (ExitStatus); the version
// line; the logger with its redaction; progress reports; and the doctor's
// checks.
package cli

import "github.com/rclone/rclone/fs"

// Bytes formats a byte count for people: "1.250 GiB".
func Bytes(n int64) string { return fs.SizeSuffix(n).ByteUnit() }

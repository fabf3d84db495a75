// Package initgc keeps the garbage collector off while a program's
// packages initialise, and Restore turns it back on as GOGC says.
//
// backupd's dependencies (rclone's backends, gRPC, the cloud SDKs)
// allocate about 6 MB of tables as they initialise, which runs the
// collector twice before main on every start: 8 to 12 ms of a `backupd
// now` on a loaded 2-core machine, a fixed cost that `mariadb-dump | zstd`
// does not pay (docs/performance.md). A program imports this package from
// main. Go initialises, of the packages whose imports are initialised, the
// one whose import path sorts first, and this one imports only the
// runtime's own: so it runs before every dependency whose path sorts after
// github.com/backupd (rclone, gRPC, google.golang.org's), while those that
// sort before it (the AWS SDK, cloud.google.com's) may still run first.
package initgc

import "runtime/debug"

// percent is GOGC's setting (100 when unset), read as the collector is
// turned off.
var percent = debug.SetGCPercent(-1)

// Restore turns the collector back on as GOGC says. main calls it first.
func Restore() { debug.SetGCPercent(percent) }

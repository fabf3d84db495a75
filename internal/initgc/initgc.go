// Package initgc keeps the garbage collector off while a program's
// packages initialise, and Restore turns it back on as GOGC says.
//
// backupd's dependencies (rclone's backends, gRPC, the cloud SDKs)
// allocate about 6 MB of tables as they initialise, which runs the
// collector twice before main on every start: 8 to 12 ms of a `backupd
// now` on a loaded 2-core machine, a fixed cost that `mariadb-dump | zstd`
// does not pay (docs/performance.md). A program imports this package from
// main, which gets it initialised before those: Go initialises packages
// in the order of their import paths, each once all it imports is, and
// this one imports only the runtime's own.
package initgc

import "runtime/debug"

// percent is GOGC's setting (100 when unset), read as the collector is
// turned off.
var percent = debug.SetGCPercent(-1)

// Restore turns the collector back on as GOGC says. main calls it first.
func Restore() { debug.SetGCPercent(percent) }

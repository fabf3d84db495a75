// Package yesterdayboot holds the test that plays the yesterday machine's
// life with what deploy/yesterday ships: yesterday-start.sh starting
// MariaDB 11.8 with yesterday.cnf on a folder standing in for the volume,
// creating the account, running yesterday-restore built from this tree
// and a stand-in for the app that reads a table, a view and a routine
// every 100 ms as the app's user. Boots: the first (no data), a refresh
// with a newer backup, a refresh whose newest backup is corrupt, a refresh
// whose restore is killed with SIGKILL in the middle of its swap, the boot
// after it, and one after the volume was lost. It reports, for each, the
// failed reads, the longest read, the time to a usable database and the
// swap's time. scripts/yesterday-boot-test.sh runs it on the bench data
// on one CPU. It has no code of its own outside its tests.
package yesterdayboot

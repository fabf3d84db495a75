#!/usr/bin/env bash
# Plays the yesterday machine's life with deploy/yesterday's files on the
# bench data, on one CPU, and prints the report: internal/yesterdayboot's
# test (scripts/test.sh runs the same test, in CI too, on 20,000 rows).
#
#   scripts/yesterday-boot-test.sh                 # ROWS=1000000: 276 MiB of SQL
#   ROWS=4000000 scripts/yesterday-boot-test.sh    # bench/backup.sh's full size, about 1 GB of SQL
#   CPU=all scripts/yesterday-boot-test.sh         # the machine on every CPU
#
# It fetches MariaDB 11.8 (scripts/versions.sh) when missing, starts a
# private 11.8 server for the source database (bench/data.sh's tables with
# a view, a procedure and a trigger), takes the backups with backupd's
# pipeline and 11.8's mariadb-dump, and runs yesterday-start.sh with
# MariaDB 11.8 on a folder standing in for the volume, pinned to CPU (0)
# with everything it starts, the app's stand-in included. Boots: the
# first (no data), a refresh with a newer backup, a refresh whose newest
# backup is corrupt, a refresh whose restore is killed with SIGKILL while
# its RENAME waits for a reader, the boot after it, and one after the
# volume was lost. For each: the app's reads and failed reads, the pages
# it showed instead ("restoring, N%"), its longest read, when the server
# answered and the app started, when the three reads first succeeded, when
# the restore was swapped in and the swap's span, the rounds without a
# banner, mariadbd's peak RSS, and the data directory's peak and final
# size. It fails when a read fails or a banner names a snapshot the
# database does not hold.
set -euo pipefail
cd "$(dirname "$0")/.."
base=$(scripts/versions.sh mariadb-11.8)
report=$(mktemp)
trap 'rm -f "$report"' EXIT
rc=0
CI=${CI:-} BOOT_ROWS=${ROWS:-1000000} BOOT_CPU=${CPU:-0} BOOT_REPORT=$report \
	BACKUPD_TEST_TOOLS="mariadb-11.8=$base/bin" PATH="$base/bin:$PATH" \
	go test -count=1 -timeout 90m -run '^TestYesterdayMachineLife$' ./internal/yesterdayboot || rc=$?
cat "$report"
exit "$rc"

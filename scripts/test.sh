#!/usr/bin/env bash
# Runs the whole test suite against a private MariaDB server: installs
# MariaDB when missing, starts one throwaway server for all test packages,
# runs go test, and stops the server. It prints a line per package as each
# finishes, the output of failed tests, the tests that skipped and why, and
# a closing line with the counts and the server version.
#
#   scripts/test.sh                 # everything
#   scripts/test.sh -run Restore    # extra flags go to go test
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-mariadb.sh
dir=$(mktemp -d /tmp/backupd-test-XXXXXX)
cleanup() { scripts/mariadb-private.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
settings=$(scripts/mariadb-private.sh start "$dir")
BACKUPD_TEST_SOCKET=$(sed -n 's/^DB_SOCKET=//p' <<<"$settings")
BACKUPD_TEST_PORT=$(sed -n 's/^DB_PORT=//p' <<<"$settings")
export BACKUPD_TEST_SOCKET BACKUPD_TEST_PORT
client=$(command -v mariadb || command -v mysql)
server=$("$client" --no-defaults --socket="$BACKUPD_TEST_SOCKET" -uroot -N -e 'SELECT CONCAT(@@version_comment, " ", VERSION())')
echo "testing against $server on $BACKUPD_TEST_SOCKET; building first, then one line per package"
go build -o "$dir/testreport" ./internal/testreport
go test -count=1 -timeout 15m -json "$@" ./... | "$dir/testreport" -server "$server"

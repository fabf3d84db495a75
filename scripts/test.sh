#!/usr/bin/env bash
# Runs the whole test suite against a private MariaDB server: installs
# MariaDB when missing, starts one throwaway server for all test packages,
# runs go test, and stops the server.
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
go test -count=1 -timeout 15m "$@" ./...

#!/usr/bin/env bash
# Runs the test suite against the versions production runs, and the
# pairing matrix. It installs Debian's MariaDB when missing, fetches
# MariaDB 11.8 and MySQL 9.x into a cache (scripts/versions.sh; about 40 s
# and 150 MB the first time), starts one throwaway server of each on
# 127.0.0.1 and 127.0.0.2, runs go test, and stops them. It prints a line
# per package as each finishes, the output of failed tests, the tests that
# skipped and why, the counts of each pairing leg, and a closing line with
# the counts and the server version.
#
#   scripts/test.sh            # what CI runs: the suite against MariaDB 11.8
#                              # (the yesterday image's server, with 11.8's
#                              # tools first on PATH), and every pairing leg
#   scripts/test.sh --matrix   # the same, then the suite again against
#                              # Debian 12's MariaDB 10.11 with its tools
#   scripts/test.sh -run Restore    # extra flags go to go test
#
# If Debian stops serving MySQL in sid, its legs skip with that reason;
# nothing else may skip in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
matrix=false
if [[ ${1:-} == --matrix ]]; then
	matrix=true
	shift
fi
scripts/ensure-mariadb.sh
dir=$(mktemp -d /tmp/backupd-test-XXXXXX)
products=(system mariadb-11.8 mysql-9.7)
cleanup() {
	for p in "${products[@]}"; do scripts/mariadb-private.sh stop "$dir/$p" || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

declare -A sock port bin
servers=
# The system's tools, named before any other build's go first on PATH.
tools="system=$(dirname "$(command -v mariadb-dump)") "
for p in "${products[@]}"; do
	if [[ $p != system ]]; then
		rc=0
		scripts/versions.sh "$p" >/dev/null || rc=$?
		if [[ $rc -eq 4 && $p == mysql-* ]]; then
			echo "$p is not served any more: its pairing legs will skip" >&2
			continue
		elif [[ $rc -ne 0 ]]; then
			echo "cannot fetch $p (exit $rc)" >&2
			exit 1
		fi
	fi
	settings=$(SERVER=$p scripts/mariadb-private.sh start "$dir/$p")
	sock[$p]=$(sed -n 's/^DB_SOCKET=//p' <<<"$settings")
	port[$p]=$(sed -n 's/^DB_PORT=//p' <<<"$settings")
	bin[$p]=$(sed -n 's/^DB_BIN=//p' <<<"$settings")
	servers+="$p=${sock[$p]}:${port[$p]} "
	if [[ -n ${bin[$p]} ]]; then tools+="$p=${bin[$p]} "; fi
done
export BACKUPD_TEST_SERVERS=$servers BACKUPD_TEST_TOOLS=$tools
go build -o "$dir/testreport" ./internal/testreport

# suite PRODUCT [go test flags]: the whole suite with PRODUCT as the main
# server and its client tools first on PATH.
suite() {
	local p=$1
	shift
	local path=$PATH client
	if [[ -n ${bin[$p]} ]]; then path=${bin[$p]}:$PATH; fi
	client=$(PATH=$path command -v mariadb || PATH=$path command -v mysql)
	local server
	server=$("$client" --no-defaults --socket="${sock[$p]}" -uroot -N -e 'SELECT VERSION()')
	echo "testing against $server ($p) on ${sock[$p]}, with $(PATH=$path command -v mariadb-dump); building first, then one line per package"
	PATH=$path BACKUPD_TEST_PRODUCT=$p BACKUPD_TEST_SOCKET=${sock[$p]} BACKUPD_TEST_PORT=${port[$p]} \
		go test -count=1 -timeout 15m -json "$@" ./... | "$dir/testreport" -server "$server ($p)"
}

BACKUPD_TEST_LEGS=all suite mariadb-11.8 "$@"
if $matrix; then
	suite system -skip TestPairing "$@"
fi

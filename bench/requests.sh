#!/usr/bin/env bash
# Requests of hourly runs into a fake Google Drive (bench/fakedrive:
# production's settings, 8 MiB chunks), on the bench's data, counted by the
# fake and by backupd itself:
#   steady:  the folder as an hourly schedule keeps it (168 backups and the
#            last slot's claim): "backupd now" (one backup deleted), then one
#            run of "backupd serve", start to stop (its slot claim included)
#   blocked: the service account a Contributor, 227 backups it may not
#            delete (59 over the 168 kept): "backupd now" twice (the first
#            records the block, the second probes), then one serve run
#
#   bench/requests.sh                 # ROWS=1000000: 276 MiB of SQL
#   ROWS=100000 bench/requests.sh     # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
scripts/ensure-mariadb.sh
. bench/data.sh

work=$(mktemp -d /tmp/backupd-requests-XXXXXX)
drive_pid=""
stop_drive() {
	exec 7>&- 2>/dev/null || true
	[[ -n $drive_pid ]] && { wait "$drive_pid" 2>/dev/null || true; }
	drive_pid=""
}
cleanup() {
	stop_drive
	scripts/mariadb-private.sh stop "$work/db" || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/backupd" ./cmd/backupd
go build -o "$work/fakedrive" ./bench/fakedrive
bench_start "$work/db"
echo "filling $ROWS rows..." >&2
bench_fill bench "$ROWS"

# start_drive ARGS: a fresh fake Drive with the given flags.
start_drive() {
	stop_drive
	rm -f "$work/drive.in" "$work/drive.out"
	mkfifo -m 600 "$work/drive.in"
	"$work/fakedrive" -env "$work/drive.env" "$@" <"$work/drive.in" >"$work/drive.out" 2>&1 &
	drive_pid=$!
	exec 7>"$work/drive.in"
	for _ in $(seq 1 100); do grep -q ready "$work/drive.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$work/drive.out" || { cat "$work/drive.out" >&2; echo "the fake Drive did not start" >&2; exit 1; }
}

# served: the requests the fake has served so far.
served() {
	local n
	n=$(grep -c '^requests' "$work/drive.out" || true)
	echo >&7
	for _ in $(seq 1 100); do (($(grep -c '^requests' "$work/drive.out" || true) > n)) && break; sleep 0.05; done
	sed -n 's/^requests //p' "$work/drive.out" | tail -n 1
}

# backupd ARGS: backupd with the fake's settings, in the process that runs
# it (exec), so that a signal to it reaches backupd.
backupd() { . "$work/drive.env"; export DB_SOCKET=$BENCH_SOCKET DB_DATABASE=bench DB_USERNAME=root BACKUPD_LOCK_FILE=$work/lock; exec 7>&-; exec "$work/backupd" "$@"; }

# now LABEL: one "backupd now", its count by the fake and by itself.
now() {
	local before after says
	before=$(served)
	(backupd now >"$work/now.txt" 2>"$work/now.err") || true
	after=$(served)
	says=$(sed -n 's/^  requests   \([0-9]*\) .*/\1/p' "$work/now.txt")
	printf '%-34s %8d %14s   %s\n' "$1" $((after - before)) "$says" "$(sed -n 's/^  retention  //p' "$work/now.txt" | cut -c1-60)"
}

# serve LABEL: serve from start to stop, one run at start-up.
serve() {
	local before after says pid
	before=$(served)
	(backupd serve --backup-at-start --listen off --claim-settle 1s --schedule "0 0 1 1 *" >/dev/null 2>"$work/serve.err") &
	pid=$!
	for _ in $(seq 1 600); do grep -q '"msg":"backup run"' "$work/serve.err" && break; sleep 0.1; done
	kill -TERM "$pid"
	wait "$pid" || true
	after=$(served)
	says=$(grep '"msg":"backup run"' "$work/serve.err" | sed -n 's/.*"requests":\([0-9]*\).*/\1/p')
	printf '%-34s %8d %14s   %s\n' "$1" $((after - before)) "$says (the run)" "$(grep -o '"retention_blocked":"[^"]*' "$work/serve.err" | cut -c21-80)"
}

raw=$(mariadb-dump --no-defaults --socket="$BENCH_SOCKET" -uroot --single-transaction --quick bench | wc -c)
echo "raw dump $((raw / 1048576)) MiB"
printf '%-34s %8s %14s\n' "run" "served" "backupd says"
start_drive -old 168
now "steady: backupd now"
serve "steady: backupd serve"
sed -n 's/^  stored     /stored: /p' "$work/now.txt"
start_drive -old 227 -role writer
now "blocked: backupd now, first"
now "blocked: backupd now, next"
serve "blocked: backupd serve"

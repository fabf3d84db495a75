#!/usr/bin/env bash
# Backup benchmark: side by side in one run, on the same database,
#   mariadb-dump > /dev/null            (the floor: the dump alone)
#   mariadb-dump | gzip -6 > file        (the old pipeline)
#   mariadb-dump | zstd -3 > file        (the shell equivalent of backupd)
#   backupd now --remote <local folder>
#   backupd now into a fake Google Drive (bench/fakedrive, a process of its
#                                         own on loopback: production's
#                                         settings, 8 MiB chunks)
# at a quarter of the size and at full size (ROWS, default 4,000,000 rows:
# a dump of about 1 GB). Each size runs ROUNDS rounds (default 3), the
# commands interleaved; the best wall time of each is reported, with
# ratios, stored sizes and peak RSS (/usr/bin/time).
#
#   bench/backup.sh                  # ROWS=4000000 ROUNDS=3
#   ROWS=400000 bench/backup.sh      # a quick run
#   COMPARE=<git rev> bench/backup.sh  # also time backupd built from that
#                                      # revision, interleaved (a refactor's check)
#   SHAPES="shared pinned" (the default) measures each size in two shapes, one
#   table each: all processes on the machine's shared cores, and the server
#   pinned to core 0 with everything on the client side pinned to core 1 (the
#   production shape: the database on a machine of its own; the fake Drive
#   shares core 0 with the server, as a remote would be elsewhere). "client
#   CPU s" is user+sys of the measured command and its children, never the
#   server's or the fake Drive's; "peak RSS" is the measured command's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-4000000}
ROUNDS=${ROUNDS:-3}
scripts/ensure-mariadb.sh
for tool in zstd gzip /usr/bin/time taskset; do
	command -v "$tool" >/dev/null || { echo "bench needs $tool (apt-get install zstd gzip time util-linux)" >&2; exit 2; }
done
. bench/data.sh

work=$(mktemp -d /tmp/backupd-bench-XXXXXX)
drive_pid=""
cleanup() {
	exec 7>&- 2>/dev/null || true # the fake Drive ends when its input closes
	[[ -n $drive_pid ]] && { wait "$drive_pid" 2>/dev/null || true; }
	scripts/mariadb-private.sh stop "$work/db" || true
	rm -rf "$work"
}
trap cleanup EXIT
go build -o "$work/backupd" ./cmd/backupd
go build -o "$work/fakedrive" ./bench/fakedrive
if [[ -n ${COMPARE:-} ]]; then
	git worktree add -q --detach "$work/compare-src" "$COMPARE"
	(cd "$work/compare-src" && go build -o "$work/backupd-compare" ./cmd/backupd)
	git worktree remove --force "$work/compare-src"
fi
bench_start "$work/db"
mkfifo -m 600 "$work/drive.in"
"$work/fakedrive" -env "$work/drive.env" <"$work/drive.in" >"$work/drive.out" 2>&1 &
drive_pid=$!
exec 7>"$work/drive.in"
for _ in $(seq 1 100); do grep -q ready "$work/drive.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/drive.out" || { cat "$work/drive.out" >&2; echo "the fake Drive did not start" >&2; exit 1; }
dumpcmd="mariadb-dump --no-defaults --socket=$BENCH_SOCKET -uroot --single-transaction --quick --lock-tables=false --routines --triggers --events --default-character-set=utf8mb4 bench"

SHAPES=${SHAPES:-shared pinned}
client_prefix=""

# pin_server SHAPE: puts every thread of the server on core 0 when pinned,
# on all cores when shared; and sets the prefix that pins the client side.
pin_server() {
	local pid all
	pid=$(cat "$work/db/mysqld.pid")
	all="0-$(($(nproc) - 1))"
	case $1 in
	pinned) taskset -apc 0 "$pid" >/dev/null; taskset -apc 0 "$drive_pid" >/dev/null; client_prefix="taskset -c 1" ;;
	*) taskset -apc "$all" "$pid" >/dev/null; taskset -apc "$all" "$drive_pid" >/dev/null; client_prefix="" ;;
	esac
}

# measure NAME CMD: runs CMD under /usr/bin/time (pinned as the shape says),
# appends "NAME wall rss_kb cpu_s" to $work/times.
measure() {
	local name=$1; shift
	/usr/bin/time -f "%e %M %U %S" -o "$work/t" $client_prefix bash -c "$*" ||
		{ echo "bench: $name failed" >&2; tail -n 5 "$work"/*.err >&2 2>/dev/null; exit 1; }
	read -r wall rss user sys <"$work/t"
	echo "$name $wall $rss $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }')" >>"$work/times"
}

# stored FILE: the stored bytes a "backupd now" reported in FILE.
stored() { sed -n 's/^  stored .*(\([0-9]*\) bytes).*/\1/p' "$1"; }

report() {
	local label=$1
	awk -v label="$label" -v gz="$(stat -c %s "$work/out.gz")" -v zs="$(stat -c %s "$work/out.zst")" -v bd="$(stat -c %s "$work"/remote/*.sql.zst)" -v bdd="$(stored "$work/drive.txt")" -v cmp="$(if [[ -n ${COMPARE:-} ]]; then stat -c %s "$work"/remote-compare/*.sql.zst; fi)" -v cmpd="$(if [[ -n ${COMPARE:-} ]]; then stored "$work/compare-drive.txt"; fi)" -v raw="$(stat -c %s "$work/raw.sql")" -v compare="${COMPARE:-}" '
	{ if (!($1 in best) || $2 < best[$1]) best[$1] = $2; if ($3 > rss[$1]) rss[$1] = $3; if (!($1 in cpu) || $4 < cpu[$1]) cpu[$1] = $4 }
	END {
		printf "\n== %s: raw dump %.1f MiB\n", label, raw / 1048576
		printf "%-26s %9s %12s %13s %12s %14s %11s\n", "command", "wall s", "vs zstd -3", "client CPU s", "vs zstd -3", "stored MiB", "peak RSS"
		name["backupd"] = "backupd (local)"; name["backupd-drive"] = "backupd (Drive)"
		name["compare"] = "backupd@" compare " (local)"; name["compare-drive"] = "backupd@" compare " (Drive)"
		size["gzip-6"] = gz; size["zstd-3"] = zs; size["backupd"] = bd; size["backupd-drive"] = bdd; size["compare"] = cmp; size["compare-drive"] = cmpd
		n = split("dump>/dev/null gzip-6 zstd-3 backupd backupd-drive compare compare-drive", order, " ")
		for (i = 1; i <= n; i++) { c = order[i]
			if (!(c in best)) continue
			printf "%-26s %9.2f %11.2fx %13.2f %11.2fx %14s %8.1f MiB\n", (c in name) ? name[c] : c, best[c], best[c] / best["zstd-3"], cpu[c], cpu[c] / cpu["zstd-3"], (size[c] != "") ? sprintf("%.1f", size[c] / 1048576) : "-", rss[c] / 1024 }
		printf "backupd vs gzip pipeline: %.2fx faster; backupd size vs zstd -3: %.3f\n", best["gzip-6"] / best["backupd"], bd / zs
		if ("compare" in best) printf "backupd vs backupd@%s: %.2fx the wall time, %.2fx the client CPU\n", compare, best["backupd"] / best["compare"], cpu["backupd"] / cpu["compare"]
	}' "$work/times"
}

run_size() {
	local rows=$1 label=$2
	echo "filling $rows rows ($label)..." >&2
	bench_fill bench "$rows"
	$dumpcmd >"$work/raw.sql"
	for shape in $SHAPES; do
		pin_server "$shape"
		: >"$work/times"
		for r in $(seq 1 "$ROUNDS"); do
			echo "round $r/$ROUNDS ($label, $shape)" >&2
			measure "dump>/dev/null" "$dumpcmd > /dev/null"
			measure "gzip-6" "set -o pipefail; $dumpcmd | gzip -6 > $work/out.gz"
			measure "zstd-3" "set -o pipefail; $dumpcmd | zstd -q -3 > $work/out.zst"
			rm -rf "$work/remote"
			measure "backupd" "DB_SOCKET=$BENCH_SOCKET DB_DATABASE=bench DB_USERNAME=root $work/backupd now --remote $work/remote > $work/backupd.out"
			measure "backupd-drive" ". $work/drive.env; DB_SOCKET=$BENCH_SOCKET DB_DATABASE=bench DB_USERNAME=root $work/backupd now > $work/drive.txt 2> $work/drive.err"
			if [[ -n ${COMPARE:-} ]]; then
				rm -rf "$work/remote-compare"
				measure "compare" "DB_SOCKET=$BENCH_SOCKET DB_DATABASE=bench DB_USERNAME=root BACKUPD_LOCK_FILE=$work/compare.lock $work/backupd-compare now --remote $work/remote-compare > $work/compare.out"
				measure "compare-drive" ". $work/drive.env; DB_SOCKET=$BENCH_SOCKET DB_DATABASE=bench DB_USERNAME=root BACKUPD_LOCK_FILE=$work/compare.lock $work/backupd-compare now > $work/compare-drive.txt 2> $work/compare-drive.err"
			fi
		done
		report "$label, $shape"
	done
	rm -f "$work/raw.sql"
}

echo "machine: $(nproc) cores, $(uname -r); $(mariadb-dump --version)"
run_size $((ROWS / 4)) "quarter size ($((ROWS / 4)) rows)"
run_size "$ROWS" "full size ($ROWS rows)"

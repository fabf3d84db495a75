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
# a dump of about 1 GB). Each size runs ROUNDS rounds (default 5), the
# commands interleaved in each round; it reports each command's median wall
# time and client CPU with their spread (min-max over the rounds), the
# ratio of the medians to the zstd -3 pipeline's, and the ratio paired in
# each round (the command's wall over the pipeline's in the same round:
# its median and spread), stored sizes and peak RSS (/usr/bin/time).
#
#   bench/backup.sh                  # ROWS=4000000 ROUNDS=5, Debian's MariaDB, its mariadb-dump, over the socket
#   ROWS=1000000 bench/backup.sh     # a quicker run
#   SERVER=mysql-9.7 TOOL=mariadb-11.8 bench/backup.sh
#                                    # production's pairing: mariadb-dump 11.8 against
#                                    # MySQL 9.7 at 127.0.0.2 over TLS
#   COMPARE=<git rev> bench/backup.sh  # also time backupd built from that
#                                      # revision, interleaved (a refactor's check)
#
# SERVER is the source server (scripts/mariadb-private.sh: system,
# mariadb-11.8, mysql-9.7) and TOOL the product whose mariadb-dump (or
# mysqldump) every command runs (default: mariadb-11.8 against mysql-9.7,
# else the server's own). CONNECT is "socket" (the default for the system's
# server) or "tls" (the default for the others): every command connects
# over TCP to 127.0.0.2, which is not "local" to a client, with TLS on as
# production's DB_TLS=prefer makes it (the certificate not checked; backupd
# pins it), as an account with a password.
#
# SHAPES="shared pinned" (the default) measures each size in two shapes, one
# table each: all processes on the machine's shared cores, and the server
# pinned to core 0 with everything on the client side pinned to core 1 (the
# production shape: the database on a machine of its own; the fake Drive
# shares core 0 with the server, as a remote would be elsewhere). "client
# CPU s" is user+sys of the measured command and its children, never the
# server's or the fake Drive's; "peak RSS" is the measured command's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-4000000}
ROUNDS=${ROUNDS:-5}
SERVER=${SERVER:-system}
export SERVER
case $SERVER in
mysql-*) TOOL=${TOOL:-mariadb-11.8} ;;
*) TOOL=${TOOL:-$SERVER} ;;
esac
if [[ $SERVER == system ]]; then CONNECT=${CONNECT:-socket}; else CONNECT=${CONNECT:-tls}; fi
case $CONNECT in socket | tls) ;; *) echo "bench: CONNECT is socket or tls, not $CONNECT" >&2; exit 2 ;; esac
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
# The dump tool: TOOL's, first on PATH for backupd too.
toolbin=
if [[ $TOOL != system ]]; then toolbin=$(scripts/versions.sh "$TOOL")/bin; fi
dumptool=mariadb-dump
if [[ -n $toolbin ]]; then
	dumptool=$toolbin/mariadb-dump
	[[ -x $dumptool ]] || dumptool=$toolbin/mysqldump
fi
toolpath=${toolbin:+$toolbin:}$PATH
bench_start "$work/db"
mkfifo -m 600 "$work/drive.in"
"$work/fakedrive" -env "$work/drive.env" <"$work/drive.in" >"$work/drive.out" 2>&1 &
drive_pid=$!
exec 7>"$work/drive.in"
for _ in $(seq 1 100); do grep -q ready "$work/drive.out" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$work/drive.out" || { cat "$work/drive.out" >&2; echo "the fake Drive did not start" >&2; exit 1; }

# How every command reaches the server: the pipelines through an option
# file (the password never on a command line), backupd through its
# environment, each with TLS as production's DB_TLS=prefer has it.
flags="--single-transaction --quick --lock-tables=false --routines --triggers --events --default-character-set=utf8mb4 --no-tablespaces"
if [[ $CONNECT == tls ]]; then
	password=bench-$RANDOM$RANDOM
	bench_root -e "CREATE USER 'bench'@'%' IDENTIFIED BY '$password'; GRANT ALL PRIVILEGES ON *.* TO 'bench'@'%'"
	printf '[client]\nuser=bench\npassword=%s\nhost=127.0.0.2\nport=%s\n' "$password" "$BENCH_PORT" >"$work/client.cnf"
	chmod 600 "$work/client.cnf"
	case $("$dumptool" --version) in
	*MariaDB*) tls="--ssl --skip-ssl-verify-server-cert" ;;
	*) tls="--ssl-mode=PREFERRED" ;;
	esac
	dumpcmd="$dumptool --defaults-extra-file=$work/client.cnf $tls $flags bench"
	export DB_HOST=127.0.0.2 DB_PORT=$BENCH_PORT DB_USERNAME=bench DB_PASSWORD=$password DB_DATABASE=bench
else
	# MariaDB's tools from 11.4 on want TLS even over a socket.
	case $("$dumptool" --version) in *MariaDB*) tls=--skip-ssl ;; *) tls= ;; esac
	dumpcmd="$dumptool --no-defaults --socket=$BENCH_SOCKET -uroot $tls $flags bench"
	export DB_SOCKET=$BENCH_SOCKET DB_USERNAME=root DB_DATABASE=bench
fi

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
# appends "NAME wall rss_kb cpu_s round" to $work/times.
measure() {
	local name=$1; shift
	# shellcheck disable=SC2086 # client_prefix is a command and its arguments
	PATH=$toolpath /usr/bin/time -f "%e %M %U %S" -o "$work/t" $client_prefix bash -c "$*" ||
		{ echo "bench: $name failed" >&2; tail -n 5 "$work"/*.err >&2 2>/dev/null; exit 1; }
	read -r wall rss user sys <"$work/t"
	echo "$name $wall $rss $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') $round" >>"$work/times"
}

# stored FILE: the stored bytes a "backupd now" reported in FILE.
stored() { sed -n 's/^  stored .*(\([0-9]*\) bytes).*/\1/p' "$1"; }

report() {
	local label=$1
	awk -v label="$label" -v gz="$(stat -c %s "$work/out.gz")" -v zs="$(stat -c %s "$work/out.zst")" -v bd="$(stat -c %s "$work"/remote/*.sql.zst)" -v bdd="$(stored "$work/drive.txt")" -v cmp="$(if [[ -n ${COMPARE:-} ]]; then stat -c %s "$work"/remote-compare/*.sql.zst; fi)" -v cmpd="$(if [[ -n ${COMPARE:-} ]]; then stored "$work/compare-drive.txt"; fi)" -v raw="$(stat -c %s "$work/raw.sql")" -v compare="${COMPARE:-}" '
	function median(s,   a, n, i, j, t) {
		n = split(s, a, " ")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function lo(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 < m + 0) m = a[i]; return m }
	function hi(s,   a, n, i, m) { n = split(s, a, " "); m = a[1]; for (i = 2; i <= n; i++) if (a[i] + 0 > m + 0) m = a[i]; return m }
	{ wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " $4; if ($3 > rss[$1]) rss[$1] = $3; w[$1, $5] = $2; c[$1, $5] = $4; rounds[$5] = 1 }
	END {
		printf "\n== %s: raw dump %.1f MiB\n", label, raw / 1048576
		printf "%-26s %20s %8s %20s %20s %8s %20s %10s %10s\n", "command", "wall s [min-max]", "vs zstd", "paired [min-max]", "client CPU s", "vs zstd", "paired [min-max]", "stored MiB", "peak RSS"
		name["backupd"] = "backupd (local)"; name["backupd-drive"] = "backupd (Drive)"
		name["compare"] = "backupd@" compare " (local)"; name["compare-drive"] = "backupd@" compare " (Drive)"
		size["gzip-6"] = gz; size["zstd-3"] = zs; size["backupd"] = bd; size["backupd-drive"] = bdd; size["compare"] = cmp; size["compare-drive"] = cmpd
		zw = median(wall["zstd-3"]); zc = median(cpu["zstd-3"])
		n = split("dump>/dev/null gzip-6 zstd-3 backupd backupd-drive compare compare-drive", order, " ")
		for (i = 1; i <= n; i++) { k = order[i]
			if (!(k in wall)) continue
			pw = ""; pc = ""
			for (r in rounds) if ((k, r) in w && ("zstd-3", r) in w) { pw = pw " " w[k, r] / w["zstd-3", r]; pc = pc " " c[k, r] / c["zstd-3", r] }
			printf "%-26s %6.2f [%5.2f-%5.2f] %7.2fx %5.2fx [%5.2f-%5.2f] %6.2f [%5.2f-%5.2f] %7.2fx %5.2fx [%5.2f-%5.2f] %10s %6.1f MiB\n",
				(k in name) ? name[k] : k, median(wall[k]), lo(wall[k]), hi(wall[k]), median(wall[k]) / zw, median(pw), lo(pw), hi(pw),
				median(cpu[k]), lo(cpu[k]), hi(cpu[k]), median(cpu[k]) / zc, median(pc), lo(pc), hi(pc),
				(size[k] != "") ? sprintf("%.1f", size[k] / 1048576) : "-", rss[k] / 1024 }
		printf "backupd vs gzip pipeline: %.2fx faster; backupd size vs zstd -3: %.3f\n", median(wall["gzip-6"]) / median(wall["backupd"]), bd / zs
		if ("compare" in wall) printf "backupd vs backupd@%s: %.2fx the wall time, %.2fx the client CPU (medians)\n", compare, median(wall["backupd"]) / median(wall["compare"]), median(cpu["backupd"]) / median(cpu["compare"])
	}' "$work/times"
}

run_size() {
	local rows=$1 label=$2
	echo "filling $rows rows ($label)..." >&2
	bench_fill bench "$rows"
	PATH=$toolpath bash -c "$dumpcmd" >"$work/raw.sql"
	for shape in $SHAPES; do
		pin_server "$shape"
		: >"$work/times"
		for round in $(seq 1 "$ROUNDS"); do
			echo "round $round/$ROUNDS ($label, $shape)" >&2
			measure "dump>/dev/null" "$dumpcmd > /dev/null"
			measure "gzip-6" "set -o pipefail; $dumpcmd | gzip -6 > $work/out.gz"
			measure "zstd-3" "set -o pipefail; $dumpcmd | zstd -q -3 > $work/out.zst"
			rm -rf "$work/remote"
			measure "backupd" "$work/backupd now --remote $work/remote > $work/backupd.out"
			measure "backupd-drive" ". $work/drive.env; $work/backupd now > $work/drive.txt 2> $work/drive.err"
			if [[ -n ${COMPARE:-} ]]; then
				rm -rf "$work/remote-compare"
				measure "compare" "BACKUPD_LOCK_FILE=$work/compare.lock $work/backupd-compare now --remote $work/remote-compare > $work/compare.out"
				measure "compare-drive" ". $work/drive.env; BACKUPD_LOCK_FILE=$work/compare.lock $work/backupd-compare now > $work/compare-drive.txt 2> $work/compare-drive.err"
			fi
		done
		report "$label, $shape"
	done
	rm -f "$work/raw.sql"
}

echo "machine: $(nproc) cores, $(uname -r); load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "server: $(bench_root -N -e 'SELECT VERSION()') ($SERVER), $CONNECT; tool: $("$dumptool" --version) ($TOOL)"
run_size $((ROWS / 4)) "quarter size ($((ROWS / 4)) rows)"
run_size "$ROWS" "full size ($ROWS rows)"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

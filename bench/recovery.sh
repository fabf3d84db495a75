#!/usr/bin/env bash
# Measures point-in-time recovery on private servers of one family (MySQL
# 9.7, production's family, by default):
#
#   - the cost of streaming: backupd serve --binlog and backupd serve without,
#     side by side against the same source over the same writes (each with
#     its own remote, neither taking a backup): CPU seconds (user+sys from
#     /proc) and resident memory (VmRSS, VmHWM) of each, while the source
#     takes a transaction every quarter second (STEADY seconds), then while
#     an hour's worth of them (TXNS) is written at full speed and until the
#     last segment is published (up to FLUSH more: the "+Ns" of its row);
#   - the recovery time (RTO): backupd recover --to latest of the bench
#     database (ROWS, the tables of bench/data.sh) plus those TXNS
#     transactions of binary log, into a fresh server of the same family:
#     once as the documented account, once as that account also allowed to
#     set innodb_flush_log_at_trx_commit for the run (SYSTEM_VARIABLES_ADMIN;
#     SUPER on MariaDB): wall time, the load and the replay, CPU and peak
#     RSS (/usr/bin/time); the recovered tables are checked against the
#     source's (CHECKSUM TABLE).
#
#   bench/recovery.sh                        # ROWS=200000 (47 MB of SQL), TXNS=14400: about 10 minutes
#   SERVER=mariadb-11.8 bench/recovery.sh    # the other family
#   ROWS=950000 bench/recovery.sh            # about 250 MB of SQL
#
# Settings (environment): SERVER (mysql-9.7 or mariadb-11.8), ROWS (rows of
# the bench database's biggest table), TXNS (transactions of binary log:
# 14400 is an hour at one every quarter second), STEADY (seconds of steady
# writes, default 60), FLUSH (--binlog-flush, default 60s), KEEP (keep the
# work directory). Each transaction inserts an event row and adds to a
# user's balance, as the app does.
set -euo pipefail

SERVER=${SERVER:-mysql-9.7}
ROWS=${ROWS:-200000}
TXNS=${TXNS:-14400}
STEADY=${STEADY:-60}
FLUSH=${FLUSH:-60s}
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/scripts/mariadb-private.sh
for tool in /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "recovery.sh: $tool not found" >&2; exit 3; }
done
bin=$("$root/scripts/versions.sh" "$SERVER")/bin
maria=$("$root/scripts/versions.sh" mariadb-11.8)/bin
case $SERVER in
mysql-*) client=$bin/mysql; family=mysql ;;
mariadb-*) client=$bin/mariadb; family=mariadb ;;
*) echo "recovery.sh: SERVER is mysql-9.7 or mariadb-11.8" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/backupd-bench-recovery.XXXXXX")
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	"$script" stop "$work/src" >/dev/null 2>&1 || true
	"$script" stop "$work/dst" >/dev/null 2>&1 || true
	"$script" stop "$work/dst2" >/dev/null 2>&1 || true
	if [[ -n ${KEEP:-} ]]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # start NAME: a private server of SERVER under $work/NAME; prints its socket
	local out
	out=$(SERVER=$SERVER MARIADB_OPTS="${2:-}" "$script" start "$work/$1")
	sed -n 's/^DB_SOCKET=//p' <<<"$out"
}
sqlat() { # sqlat SOCKET [DB] < SQL
	local s=$1
	shift
	"$client" --no-defaults --socket="$s" -uroot -N -B "$@"
}

echo "== building backupd, starting the source ($SERVER)" >&2
(cd "$root" && go build -o "$work/backupd" ./cmd/backupd)
opts="--innodb-buffer-pool-size=1G"
[[ $family == mariadb ]] && opts+=" --log-bin=mariadb-bin --server-id=7 --binlog-format=ROW"
src=$(start src "$opts")
version=$(sqlat "$src" -e "SELECT VERSION()")

echo "== filling the bench database: ROWS=$ROWS" >&2
r=$ROWS
depth="SET SESSION cte_max_recursion_depth = 100000000"
[[ $family == mariadb ]] && depth="SET SESSION max_recursive_iterations = 100000000"
sqlat "$src" <<SQL
CREATE DATABASE app CHARACTER SET utf8mb4;
USE app;
$depth;
CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(191), name VARCHAR(100), created_at DATETIME, balance DECIMAL(12,2));
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, status VARCHAR(16), total DECIMAL(12,2), created_at DATETIME, KEY (user_id));
CREATE TABLE order_items (id INT PRIMARY KEY, order_id INT, sku VARCHAR(32), qty INT, price DECIMAL(10,2));
CREATE TABLE events (id BIGINT PRIMARY KEY AUTO_INCREMENT, kind VARCHAR(32), at DATETIME(3), payload TEXT);
CREATE TABLE notes (id INT PRIMARY KEY, body MEDIUMTEXT);
CREATE TABLE seq (n INT PRIMARY KEY);
INSERT INTO seq WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < $r) SELECT n FROM s;
INSERT INTO users SELECT n, CONCAT('user', n, '@example.com'), CONCAT('User ', n), '2020-01-01' + INTERVAL n MINUTE, (n * 7919) % 100000 / 100 FROM seq WHERE n <= $((r / 20));
INSERT INTO orders SELECT n, 1 + n % $((r / 20)), ELT(1 + n % 4, 'new', 'paid', 'shipped', 'cancelled'), (n * 104729) % 1000000 / 100, '2021-01-01' + INTERVAL n SECOND FROM seq WHERE n <= $((r / 4));
INSERT INTO order_items SELECT n, 1 + n % $((r / 4)), CONCAT('SKU-', LPAD(n % 5000, 6, '0')), 1 + n % 5, (n * 31) % 10000 / 100 FROM seq WHERE n <= $((r / 2));
INSERT INTO events SELECT n, ELT(1 + n % 5, 'login', 'view', 'click', 'purchase', 'logout'), TIMESTAMP'2022-01-01 00:00:00' + INTERVAL n * 37 MICROSECOND,
  CONCAT('{"user":', n % 50000, ',"path":"/items/', n % 9973, '","ua":"Mozilla/5.0 (X11; Linux x86_64)","ref":"', LPAD(HEX(CRC32(n)), 8, '0'), LPAD(HEX(CRC32(n + 7)), 8, '0'), '","session":"', LPAD(HEX(CRC32(n DIV 20)), 8, '0'), '"}') FROM seq;
INSERT INTO notes SELECT n, REPEAT(CONCAT('Note ', n, ': lorem ipsum dolor sit amet, consectetur adipiscing elit. ', LPAD(HEX(CRC32(n)), 8, '0'), LPAD(HEX(CRC32(n + 7)), 8, '0'), '\n'), 8) FROM seq WHERE n <= $((r / 40));
DROP TABLE seq;
SQL

# The documented accounts (docs/recovery.md).
if [[ $family == mysql ]]; then
	backup_grants="GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON app.* TO 'backup'@'localhost'; GRANT SHOW_ROUTINE, FLUSH_TABLES, REPLICATION CLIENT ON *.* TO 'backup'@'localhost';"
	binlog_grants="GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'binlog'@'localhost';"
	recover_grants="GRANT ALL ON app.* TO 'recover'@'localhost'; GRANT REPLICATION_APPLIER, SESSION_VARIABLES_ADMIN ON *.* TO 'recover'@'localhost';"
else
	backup_grants="GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, SHOW CREATE ROUTINE ON app.* TO 'backup'@'localhost';"
	binlog_grants="GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'binlog'@'localhost';"
	recover_grants="GRANT ALL ON app.* TO 'recover'@'localhost'; GRANT BINLOG REPLAY ON *.* TO 'recover'@'localhost';"
fi
sqlat "$src" <<SQL
CREATE USER 'backup'@'localhost' IDENTIFIED BY 'bench-pw'; $backup_grants
CREATE USER 'binlog'@'localhost' IDENTIFIED BY 'bench-pw'; $binlog_grants
SQL

common=(PATH="$bin:$maria:$PATH" HOME="$work" TMPDIR="$work" DB_SOCKET="$src" DB_DATABASE=app DB_USERNAME=backup
	DB_PASSWORD=bench-pw BACKUPD_MYSQLDUMP="$maria/mariadb-dump" BACKUPD_SLOT_CLAIMS=false BACKUPD_SCHEDULE="0 0 1 1 *")
echo "== the backup (backupd now --binlog)" >&2
env -i "${common[@]}" BACKUPD_REMOTE="$work/remote" "$work/backupd" now --binlog >"$work/now.out"
sql_bytes=$(sed -n 's/^  raw .*(\([0-9]*\) bytes)$/\1/p' "$work/now.out")

echo "== serve --binlog and serve, side by side" >&2
env -i "${common[@]}" BACKUPD_REMOTE="$work/remote" BACKUPD_LISTEN=127.0.0.1:0 BACKUPD_BINLOG=true \
	BACKUPD_BINLOG_USER=binlog BACKUPD_BINLOG_PASSWORD=bench-pw BACKUPD_BINLOG_FLUSH="$FLUSH" BACKUPD_LOG_FORMAT=json \
	"$work/backupd" serve >"$work/serve-binlog.log" 2>&1 &
streaming=$!
pids+=("$streaming")
env -i "${common[@]}" BACKUPD_REMOTE="$work/remote-plain" BACKUPD_LISTEN=127.0.0.1:0 BACKUPD_LOG_FORMAT=json \
	"$work/backupd" serve >"$work/serve-plain.log" 2>&1 &
plain=$!
pids+=("$plain")
sleep 5

cpu() { awk '{printf "%.2f", ($14 + $15) / '"$(getconf CLK_TCK)"'}' "/proc/$1/stat"; }
rss() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
txn() { # txn I: one transaction of the app
	echo "BEGIN; INSERT INTO events (kind, at, payload) VALUES ('purchase', NOW(3), CONCAT('{\"user\":', $1 % 10000, ',\"ref\":\"', HEX(CRC32($1)), '\"}'));"
	echo "UPDATE users SET balance = balance + 1 WHERE id = 1 + $1 % $((r / 20)); COMMIT;"
}

b0=$(cpu "$streaming")
p0=$(cpu "$plain")
echo "== steady writes: a transaction every quarter second for ${STEADY}s" >&2
steady=$((STEADY * 4))
for i in $(seq 1 "$steady"); do
	txn "$i"
	sleep 0.25
done | sqlat "$src" app
b1=$(cpu "$streaming")
p1=$(cpu "$plain")
rss_steady_b=$(rss "$streaming" VmRSS)
rss_steady_p=$(rss "$plain" VmRSS)

echo "== the rest of an hour's transactions at full speed: $((TXNS - steady))" >&2
burst_start=$(date +%s.%N)
for i in $(seq $((steady + 1)) "$TXNS"); do txn "$i"; done | sqlat "$src" app
burst_s=$(echo "$(date +%s.%N) - $burst_start" | bc)
b2=$(cpu "$streaming")
p2=$(cpu "$plain")

# Wait until the segments hold the whole log (with the flush interval).
# (The columns after the position, such as MySQL's executed GTID set, are
# not the position's.)
read -r file pos _ < <(sqlat "$src" -e "SHOW BINARY LOG STATUS" 2>/dev/null || sqlat "$src" -e "SHOW MASTER STATUS")
for _ in $(seq 1 600); do
	if ls "$work/remote/binlog" 2>/dev/null | grep -q "_${file}_[0-9]*-${pos}r\?_"; then break; fi
	sleep 0.5
done
waited_s=$(echo "$(date +%s.%N) - $burst_start - $burst_s" | bc)
b3=$(cpu "$streaming")
p3=$(cpu "$plain")
hwm_b=$(rss "$streaming" VmHWM)
hwm_p=$(rss "$plain" VmHWM)
kill -TERM "$streaming" "$plain"
wait "$streaming" "$plain" || true
segments=$(ls "$work/remote/binlog" | wc -l)
seg_bytes=$(du -cb "$work/remote/binlog" | tail -1 | cut -f1)

# recover NAME GRANTS: times backupd recover --to latest into a fresh
# server as an account with GRANTS; sets wall, load, replayed, user, sys,
# peak and check.
recover() {
	local dst
	dst=$(start "$1" "--innodb-buffer-pool-size=1G")
	sqlat "$dst" <<<"CREATE USER 'recover'@'localhost' IDENTIFIED BY 'bench-pw'; $2"
	/usr/bin/time -f "%e %M %U %S" -o "$work/time" env -i "${common[@]}" BACKUPD_REMOTE="$work/remote" \
		RECOVER_DB_SOCKET="$dst" RECOVER_DB_DATABASE=app RECOVER_DB_USERNAME=recover RECOVER_DB_PASSWORD=bench-pw \
		"$work/backupd" recover --to latest >"$work/$1.out" 2>"$work/$1.err"
	read -r wall peak user sys <"$work/time"
	load=$(sed -n 's/^  loaded .* in \(.*\)$/\1/p' "$work/$1.out")
	replayed=$(sed -n 's/^  replayed .* in \([^:]*\): \([0-9]*\) transactions.*/\1, \2 transactions/p' "$work/$1.out")
	if [[ $(sum "$src") == "$(sum "$dst")" ]]; then check=same; else check=DIFFERENT; fi
	"$script" stop "$work/$1" >/dev/null
}
sum() { sqlat "$1" app -e "CHECKSUM TABLE users, orders, order_items, events, notes" | awk '{print $2}' | tr '\n' ' '; }
echo "== the recovery (backupd recover --to latest into a fresh server), as the documented account" >&2
recover dst "$recover_grants"
line1=$(printf '  documented grants:            wall %ss (load %s, replay %s), CPU %ss user %ss sys, peak RSS %s MiB, tables %s' \
	"$wall" "$load" "$replayed" "$user" "$sys" "$((peak / 1024))" "$check")
echo "== again, the account also allowed to relax commits (SYSTEM_VARIABLES_ADMIN, SUPER on MariaDB)" >&2
relax="GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO 'recover'@'localhost';"
[[ $family == mariadb ]] && relax="GRANT SUPER ON *.* TO 'recover'@'localhost';"
recover dst2 "$recover_grants $relax"
line2=$(printf '  + relaxed commits for the run: wall %ss (load %s, replay %s), CPU %ss user %ss sys, peak RSS %s MiB, tables %s' \
	"$wall" "$load" "$replayed" "$user" "$sys" "$((peak / 1024))" "$check")

printf '\n%s, %s (ROWS=%s: %s bytes of SQL), %s transactions of binary log, --binlog-flush %s\n' "$version" "$SERVER" "$ROWS" "$sql_bytes" "$TXNS" "$FLUSH"
printf '\nstreaming: CPU seconds of each serve, resident memory\n'
printf '%-36s %14s %14s %10s\n' "" "serve --binlog" "serve" "extra"
printf '%-36s %14s %14s %10s\n' "steady, ${STEADY}s at 4 tx/s (CPU s)" "$(echo "$b1 - $b0" | bc)" "$(echo "$p1 - $p0" | bc)" "$(echo "$b1 - $b0 - ($p1 - $p0)" | bc)"
printf "%-36s %14s %14s %10s\n" "burst, $((TXNS - steady)) tx in $(printf %.1f "$burst_s")s +$(printf %.1f "$waited_s")s (CPU s)" "$(echo "$b3 - $b1" | bc)" "$(echo "$p3 - $p1" | bc)" "$(echo "$b3 - $b1 - ($p3 - $p1)" | bc)"
printf '%-36s %14s %14s %10s\n' "RSS after the steady writes (MiB)" "$rss_steady_b" "$rss_steady_p" "$(echo "$rss_steady_b - $rss_steady_p" | bc)"
printf '%-36s %14s %14s %10s\n' "peak RSS (VmHWM, MiB)" "$hwm_b" "$hwm_p" "$(echo "$hwm_b - $hwm_p" | bc)"
printf '%-36s %14s\n' "segments, bytes stored" "$segments, $seg_bytes"
printf '\nrecovery (RTO): backupd recover --to latest\n%s\n%s\n' "$line1" "$line2"

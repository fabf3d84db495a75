#!/usr/bin/env bash
# The server's own floor for loading rows, on one core: how long a private
# server (SERVER, as scripts/mariadb-private.sh starts it) takes to load one
# table of bench/restore.sh's shape in the ways a loader could send it,
# with the server and the client pinned to core 0, side by side in one run,
# the methods interleaved in each round:
#
#   inserts          the table's mariadb-dump (extended INSERTs, the key in
#                    CREATE TABLE) through the mariadb client: the baseline
#   load 1M          LOAD DATA LOCAL of files of about 1 MiB, each in a
#                    transaction of its own, the secondary key added after
#                    the rows (what yesterday-restore sends)
#   load 1M, key     the same with the key in CREATE TABLE
#   load 4M          files of about 4 MiB, the key after the rows
#   load 1M, 1 txn   the 1 MiB files in one transaction, the key after
#   load all         the whole table in one LOAD DATA, the key after
#
# The rows are files written by the server (SELECT ... INTO OUTFILE), so
# that the client's own work is as small as it gets; the figure is the
# server's. Each load goes into a fresh database on a freshly started
# server and is checked with CHECKSUM TABLE.
#
#   bench/loadfloor.sh                            # ROWS=500000 REPEAT=3, the system's MariaDB
#   SERVER=mariadb-11.8 bench/loadfloor.sh        # production's restore server
#   SERVER=mariadb-11.8 MARIADB_OPTS="--innodb-doublewrite=0" bench/loadfloor.sh
#
# Settings: ROWS (rows of the table, default 500000: about 104 MB of SQL),
# REPEAT (rounds, default 3), SERVER, MARIADB_OPTS (server options for
# every start), ACCOUNT (app, the default: an account with ALL on the
# database only; root).
set -euo pipefail
ROWS=${ROWS:-500000}
REPEAT=${REPEAT:-3}
ACCOUNT=${ACCOUNT:-app}
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/scripts/mariadb-private.sh
for tool in taskset bc md5sum; do
	command -v "$tool" >/dev/null || { echo "loadfloor.sh: $tool not found" >&2; exit 3; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/backupd-bench-floor.XXXXXX")
cleanup() {
	"$script" stop "$work/db" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
	local out
	out=$("$script" start "$work/db")
	eval "$out"
	if [[ -n $DB_BIN ]]; then PATH=$DB_BIN:$PATH; fi
	taskset -apc 0 "$(cat "$work/db/mysqld.pid")" >/dev/null
}
sql() { mariadb --no-defaults --socket="$DB_SOCKET" -uroot -N -B "$@"; }
as() {
	local user=root
	[[ $ACCOUNT == app ]] && user=app
	taskset -c 0 mariadb --no-defaults --socket="$DB_SOCKET" -u"$user" --local-infile=1 "$@"
}

start_server
version=$(sql -e "SELECT VERSION()")
sql -e "CREATE USER app@localhost; GRANT ALL PRIVILEGES ON \`app\`.* TO app@localhost; SET GLOBAL innodb_flush_log_at_trx_commit = 2"
table="CREATE TABLE t1 (
  id INT UNSIGNED NOT NULL PRIMARY KEY, account_id INT NOT NULL, amount DECIMAL(12,2) NOT NULL, qty INT NOT NULL,
  code VARCHAR(32) NOT NULL, name VARCHAR(120) NOT NULL, note TEXT, created_at DATETIME NOT NULL, updated_at DATETIME NULL"
sql -e "CREATE DATABASE src CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
sql src <<SQL
$table, KEY (account_id)) ENGINE=InnoDB;
INSERT INTO t1
SELECT seq, seq % 5000, (seq * 37 % 10000000) / 100, seq % 97, LEFT(MD5(seq), 16),
       CONCAT('Customer ', seq, ' O''Brien "1"'),
       CONCAT(REPEAT(MD5(seq), 3), IF(seq % 10 = 0, ' back\\\\slash; semi', '')),
       '2020-01-01' + INTERVAL seq MINUTE, IF(seq % 3 = 0, NULL, '2024-01-01' + INTERVAL seq SECOND)
FROM seq_1_to_$ROWS;
SQL
mariadb-dump --no-defaults --socket="$DB_SOCKET" -uroot --single-transaction --quick --default-character-set=utf8mb4 src t1 >"$work/t1.sql"
# Files of about 1 and 4 MiB, and one of the whole table.
avg=$(sql src -e "SELECT AVG(LENGTH(CONCAT_WS('\t', id, account_id, amount, qty, code, name, IFNULL(note, '\\\\N'), created_at, IFNULL(updated_at, '\\\\N'))) + 1) FROM t1")
mkdir -p "$work/rows"
split_rows() { # NAME BYTES
	local per n=0 from=1
	per=$(echo "$2 / $avg" | bc)
	mkdir -p "$work/rows/$1"
	while ((from <= ROWS)); do
		sql src -e "SELECT * INTO OUTFILE '$work/rows/$1/$(printf %05d $n).tsv' FROM t1 WHERE id BETWEEN $from AND $((from + per - 1)) ORDER BY id"
		from=$((from + per))
		n=$((n + 1))
	done
}
split_rows 1m $((1 << 20))
split_rows 4m $((4 << 20))
split_rows all $((1 << 40))
want=$(sql src -e "CHECKSUM TABLE t1" | awk '{print $2}')
"$script" stop "$work/db"

loads() { # DIR [one]: the LOAD DATA statements of the files of DIR, each its own transaction or all in one
	local f
	[[ ${2:-} == one ]] && echo "START TRANSACTION;"
	for f in "$work/rows/$1"/*.tsv; do
		[[ ${2:-} == one ]] || echo "START TRANSACTION;"
		echo "LOAD DATA LOCAL INFILE '$f' INTO TABLE t1 CHARACTER SET utf8mb4;"
		[[ ${2:-} == one ]] || echo "COMMIT;"
	done
	[[ ${2:-} == one ]] && echo "COMMIT;"
	true
}
session="SET SESSION foreign_key_checks = 0, unique_checks = 0;"
names=("inserts" "load 1M" "load 1M, key" "load 4M" "load 1M, 1 txn" "load all")
method() { # I: runs method I against the database app
	case $1 in
	0) as app <"$work/t1.sql" ;;
	1) { echo "$session $table) ENGINE=InnoDB;"; loads 1m; echo "ALTER TABLE t1 ADD KEY (account_id);"; } | as app ;;
	2) { echo "$session $table, KEY (account_id)) ENGINE=InnoDB;"; loads 1m; } | as app ;;
	3) { echo "$session $table) ENGINE=InnoDB;"; loads 4m; echo "ALTER TABLE t1 ADD KEY (account_id);"; } | as app ;;
	4) { echo "$session $table) ENGINE=InnoDB;"; loads 1m one; echo "ALTER TABLE t1 ADD KEY (account_id);"; } | as app ;;
	5) { echo "$session $table) ENGINE=InnoDB;"; loads all; echo "ALTER TABLE t1 ADD KEY (account_id);"; } | as app ;;
	esac
}
: >"$work/results"
for round in $(seq 1 "$REPEAT"); do
	for i in "${!names[@]}"; do
		echo "== round $round: ${names[$i]}" >&2
		start_server
		sql -e "CREATE DATABASE app CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
		t0=$(date +%s.%N)
		method "$i"
		t1=$(date +%s.%N)
		got=$(sql app -e "CHECKSUM TABLE t1" | awk '{print $2}')
		[[ $got == "$want" ]] || { echo "loadfloor.sh: ${names[$i]} loaded other rows" >&2; exit 1; }
		sql -e "DROP DATABASE app"
		"$script" stop "$work/db"
		echo "$i $(echo "$t1 - $t0" | bc)" >>"$work/results"
	done
done
median() { awk -v i="$1" '$1 == i {print $2}' "$work/results" | sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
base=$(median 0)
echo
echo "one table of $ROWS rows, $(awk -v b="$(stat -c %s "$work/t1.sql")" 'BEGIN {printf "%.1f", b / 1e6}') MB of SQL; $version; server and client on core 0; account $ACCOUNT; ${MARIADB_OPTS:-default options}; $REPEAT round(s), medians"
printf '%-18s %8s %7s   %s\n' method "wall s" ratio "each round, wall s"
for i in "${!names[@]}"; do
	m=$(median "$i")
	printf '%-18s %8.2f %7.2f   %s\n' "${names[$i]}" "$m" "$(echo "$m / $base" | bc -l)" "$(awk -v i="$i" '$1 == i {printf "%.2f ", $2}' "$work/results")"
done

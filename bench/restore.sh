#!/usr/bin/env bash
# Times restoring one dump, side by side, on a private MariaDB:
#   - zstd -dc dump.zst | mariadb      the plain client on a backupd dump (the baseline)
#   - gunzip -c dump.gz | mysql        what the old boot script did
#   - yesterday-restore                the whole restore (parallel loader, staging and
#                                      swap) from a local-folder remote holding dump.zst
#   - myloader -t 2                    the reference, from mydumper's own files,
#                                      when Debian's mydumper package is installed
#
#   bench/restore.sh                       # 5 tables x SIZE_ROWS rows
#   SIZE_ROWS=237500 bench/restore.sh      # a quarter of the default size
#
# Settings (environment):
#   SIZE_ROWS  rows in each of the 5 tables (default 950000: a dump of about 1 GB)
#   PARALLEL   yesterday-restore's --parallel (default 2); several values ("2 4") time one run each
#   REPEAT     rounds of every method (default 1); the medians are printed
#   COMPARE    a git revision: also time yesterday-restore built from it (a
#              refactor's check), in the same rounds
#   KEEP       set to keep the work directory (server, dumps) for a look afterwards
#
# The server is restarted before each load, so that every method starts
# from the same cold server: without that, the previous load's dropped
# database kept the server busy and the figures wandered by half. Each load
# goes into a fresh database and is checked against the source with
# CHECKSUM TABLE. Prints wall time, the ratio to the baseline, the
# client-side CPU time and the peak RSS of the largest client process (from
# /usr/bin/time -v).
set -euo pipefail

SIZE_ROWS=${SIZE_ROWS:-950000}
PARALLEL=${PARALLEL:-2}
REPEAT=${REPEAT:-1}
TABLES=5
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/scripts/mariadb-private.sh

for tool in mariadb mariadb-dump zstd gzip /usr/bin/time go; do
	command -v "$tool" >/dev/null || { echo "restore.sh: $tool not found" >&2; exit 3; }
done
mysql_client=$(command -v mysql || command -v mariadb)

work=$(mktemp -d "${TMPDIR:-/tmp}/backupd-bench-restore.XXXXXX")
cleanup() {
	"$script" stop "$work/db" >/dev/null 2>&1 || true
	if [[ -n ${KEEP:-} ]]; then
		echo "kept $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_server() {
	local out
	out=$("$script" start "$work/db")
	eval "$out"
}
stop_server() { "$script" stop "$work/db"; }
sql() { mariadb --no-defaults --socket="$DB_SOCKET" -uroot -N -B "$@"; }

echo "== building the source database: $TABLES tables x $SIZE_ROWS rows" >&2
start_server
sql -e "CREATE DATABASE src CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
gen_start=$(date +%s)
for i in $(seq 1 $TABLES); do
	sql src <<-SQL
		CREATE TABLE t$i (
		  id INT UNSIGNED NOT NULL PRIMARY KEY,
		  account_id INT NOT NULL,
		  amount DECIMAL(12,2) NOT NULL,
		  qty INT NOT NULL,
		  code VARCHAR(32) NOT NULL,
		  name VARCHAR(120) NOT NULL,
		  note TEXT,
		  created_at DATETIME NOT NULL,
		  updated_at DATETIME NULL,
		  KEY (account_id)
		) ENGINE=InnoDB;
		INSERT INTO t$i
		SELECT seq, seq % 5000, (seq * 37 % 10000000) / 100, seq % 97, LEFT(MD5(seq), 16),
		       CONCAT('Customer ', seq, ' O''Brien "$i"'),
		       CONCAT(REPEAT(MD5(seq * $i), 3), IF(seq % 10 = 0, ' back\\\\slash; semi', '')),
		       '2020-01-01' + INTERVAL seq MINUTE,
		       IF(seq % 3 = 0, NULL, '2024-01-01' + INTERVAL seq SECOND)
		FROM seq_1_to_$SIZE_ROWS;
	SQL
done
echo "   generated in $(($(date +%s) - gen_start)) s" >&2
tables=$(seq -s, -f 't%g' 1 $TABLES)
want=$(sql src -e "CHECKSUM TABLE $tables" | cut -f2 | tr '\n' ' ')
version=$(sql -e "SELECT VERSION()")

echo "== dumping once: mariadb-dump | zstd -3, and the same as gzip for the old path" >&2
mariadb-dump --no-defaults --socket="$DB_SOCKET" -uroot --single-transaction --quick \
	--lock-tables=false --routines --triggers --events --default-character-set=utf8mb4 src |
	zstd -3 -q -o "$work/dump.zst"
zstd -dc "$work/dump.zst" | gzip >"$work/dump.gz"
raw=$(zstd -dc "$work/dump.zst" | wc -c)
have_myloader=
if command -v mydumper >/dev/null && command -v myloader >/dev/null; then
	have_myloader=1
	mydumper --socket="$DB_SOCKET" --user=root --database=src --outputdir="$work/mydumper" \
		--threads=2 --trx-consistency-only --verbose=1
fi
(cd "$root" && go build -o "$work/yesterday-restore" ./cmd/yesterday-restore)
if [[ -n ${COMPARE:-} ]]; then
	git -C "$root" worktree add -q --detach "$work/compare-src" "$COMPARE"
	(cd "$work/compare-src" && go build -o "$work/yesterday-restore-compare" ./cmd/yesterday-restore)
	git -C "$root" worktree remove --force "$work/compare-src"
fi
backup=db-backup-20260101-030000.sql.zst
mkdir -p "$work/remote"
ln "$work/dump.zst" "$work/remote/$backup"
stop_server

names=("zstd -dc | mariadb" "gunzip -c | mysql")
cmds=(
	"zstd -dc '$work/dump.zst' | mariadb --no-defaults --socket=\"\$DB_SOCKET\" -uroot \$DB"
	"gunzip -c '$work/dump.gz' | '$mysql_client' --no-defaults --socket=\"\$DB_SOCKET\" -uroot \$DB"
)
for p in $PARALLEL; do
	names+=("yesterday-restore -p $p")
	cmds+=("'$work/yesterday-restore' --remote '$work/remote' --name $backup --db-socket \"\$DB_SOCKET\" --db-name \$DB --db-user root --parallel $p")
	if [[ -n ${COMPARE:-} ]]; then
		names+=("yesterday-restore@$COMPARE -p $p")
		cmds+=("'$work/yesterday-restore-compare' --remote '$work/remote' --name $backup --db-socket \"\$DB_SOCKET\" --db-name \$DB --db-user root --parallel $p")
	fi
done
if [[ -n $have_myloader ]]; then
	names+=("myloader -t 2")
	cmds+=("myloader --socket=\"\$DB_SOCKET\" --user=root --directory='$work/mydumper' --database=\$DB --threads=2 --verbose=1")
fi

# run I ROUND: one timed load of method I into a fresh database on a
# freshly started server; appends "I wall cpu rss" to results.
run() {
	local i=$1 round=$2 t0 t1 got
	echo "== round $round: ${names[$i]}" >&2
	start_server
	DB=load$i
	export DB DB_SOCKET
	sql -e "CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$work/time.txt" bash -c "set -euo pipefail; ${cmds[$i]}"
	t1=$(date +%s.%N)
	got=$(sql "$DB" -e "CHECKSUM TABLE $tables" | cut -f2 | tr '\n' ' ')
	if [[ $got != "$want" ]]; then
		echo "restore.sh: ${names[$i]} loaded different data: $got, want $want" >&2
		exit 1
	fi
	sql -e "DROP DATABASE $DB"
	stop_server
	echo "$i $(echo "$t1 - $t0" | bc) $(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u+s}' "$work/time.txt")" \
		"$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$work/time.txt")" >>"$work/results"
}

# Rounds go through every method in turn, so that a slow spell of a
# shared machine does not land on one method only.
: >"$work/results"
for round in $(seq 1 "$REPEAT"); do
	for i in "${!names[@]}"; do
		run "$i" "$round"
	done
done

# median I COLUMN: the median of a result column for method I.
median() {
	awk -v i="$1" -v c="$2" '$1 == i {print $c}' "$work/results" | sort -n |
		awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

echo
echo "restore of $TABLES tables x $SIZE_ROWS rows: $((raw / 1000000)) MB of SQL," \
	"dump.zst $(($(stat -c %s "$work/dump.zst") / 1000000)) MB, dump.gz $(($(stat -c %s "$work/dump.gz") / 1000000)) MB;" \
	"$(nproc) CPUs; MariaDB $version; $REPEAT round(s), medians"
base=$(median 0 2)
printf '%-24s %9s %8s %12s %14s   %s\n' method "wall s" ratio "client CPU s" "peak RSS MiB" "each round, wall s"
for i in "${!names[@]}"; do
	wall=$(median "$i" 2)
	printf '%-24s %9.1f %8.2f %12s %14s   %s\n' "${names[$i]}" "$wall" "$(echo "$wall / $base" | bc -l)" \
		"$(median "$i" 3)" "$(median "$i" 4)" "$(awk -v i="$i" '$1 == i {printf "%.1f ", $2}' "$work/results")"
done
echo "(ratio: wall time over zstd -dc | mariadb; peak RSS: the largest client process; every load checked with CHECKSUM TABLE)"

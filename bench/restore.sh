#!/usr/bin/env bash
# Times restoring a dump, side by side, on a private MariaDB, in the shapes
# of the machines it runs on:
#   - zstd -dc dump.zst | mariadb      the plain client on a backupd dump (the baseline)
#   - gunzip -c dump.gz | mysql        what the old boot script did (big set only)
#   - yesterday-restore                the whole restore, end to end: download into its
#                                      work directory and checksum, parallel loader
#                                      into staging, checks, swap, dropping the
#                                      workspaces and recording the restore on the
#                                      backup, from a local-folder remote holding dump.zst
#                                      and its recorded sha256
#   - myloader -t 2                    the reference, from mydumper's own files, when
#                                      Debian's mydumper package is installed (big set only)
#
# Two data sets:
#   big   5 tables x SIZE_ROWS rows (ints, decimals, varchar, text, datetimes,
#         a secondary key)
#   many  MANY small tables of 1 to 8 rows each (a secondary key, ints,
#         decimals, varchar, text, datetime), like an app with many
#         lookup tables; it measures the per-table costs (CREATE, RENAME)
#
# and two shapes, one table each:
#   one   the yesterday app's machine (performance-1x): the server and every
#         client-side process (zstd, mariadb, yesterday-restore) on core 0
#   two   everything on all of the machine's cores
#
#   bench/restore.sh                                   # SIZE_ROWS=200000 MANY=2000: about 7 minutes
#   SIZE_ROWS=200000 MANY=2000 REPEAT=3 bench/restore.sh   # about 18 minutes (measured)
#   SIZE_ROWS=950000 bench/restore.sh                  # 1 GB of SQL: about 15 minutes
#   SIZE_ROWS=0 MANY=2000 REPEAT=3 bench/restore.sh    # the many-tables set only: about 10 minutes
#   COMPARE=HEAD~3 bench/restore.sh                    # also yesterday-restore built from HEAD~3
# (times on a 2-core machine shared with other work.)
#
# Settings (environment):
#   SIZE_ROWS  rows in each of the big set's 5 tables (default 200000: 217 MB of
#              SQL; 950000 makes about 1 GB); 0 leaves the big set out
#   MANY       tables in the many set (default 2000); 0 leaves it out
#   SHAPES     the shapes to measure (default "one two")
#   PARALLEL   yesterday-restore's --parallel (default 2); several values ("2 4") time one run each
#   REPEAT     rounds of every method (default 1); the medians are printed
#   COMPARE    a git revision: also time yesterday-restore built from it (a
#              refactor's check), in the same rounds
#   ACCOUNT    "app" (default): every method loads as an account with the
#              documented grants (ALL on the database and on the two
#              workspaces, nothing global), as production's restore does;
#              "root": as root, which lets the parallel loader set
#              innodb_flush_log_at_trx_commit = 2 for its load
#   KEEP       set to keep the work directory (server, dumps, logs) for a look afterwards
#
# The server is restarted before each load, so that every method starts
# from the same cold server: without that, the previous load's dropped
# database kept the server busy and the figures wandered by half. In shape
# "one" its threads are pinned with taskset -apc after each start (threads
# it starts later inherit that). Each load goes into a fresh database and
# is checked against the source with CHECKSUM TABLE (for the many set, the
# checksums of every table, compared as one list). Prints wall time, the
# ratio to the baseline, the client-side CPU time (user+sys of the command
# and its children, never the server's) and the peak RSS of the largest
# client process (from /usr/bin/time -v). For yesterday-restore it also
# prints where its wall time went, from its own log: the load into staging,
# the checks and the swap, and what follows (dropping the workspaces,
# recording the restore).
set -euo pipefail

SIZE_ROWS=${SIZE_ROWS:-200000}
MANY=${MANY:-2000}
SHAPES=${SHAPES:-one two}
PARALLEL=${PARALLEL:-2}
REPEAT=${REPEAT:-1}
ACCOUNT=${ACCOUNT:-app}
TABLES=5
root=$(cd "$(dirname "$0")/.." && pwd)
script=$root/scripts/mariadb-private.sh

for tool in mariadb mariadb-dump zstd gzip /usr/bin/time taskset bc go python3; do
	command -v "$tool" >/dev/null || { echo "restore.sh: $tool not found" >&2; exit 3; }
done
mysql_client=$(command -v mysql || command -v mariadb)
case $ACCOUNT in
app | root) ;;
*) echo "restore.sh: ACCOUNT is app or root, not $ACCOUNT" >&2; exit 2 ;;
esac
for shape in $SHAPES; do
	case $shape in
	one | two) ;;
	*) echo "restore.sh: unknown shape $shape (one, two)" >&2; exit 2 ;;
	esac
done

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

# The database every method loads into, and the account that loads it:
# "app" has no password (so there is none to hand around) and the grants
# docs/yesterday-restore.md documents.
DB=app
export DB
start_server() {
	local out
	out=$("$script" start "$work/db")
	eval "$out"
	export DB_SOCKET
}
stop_server() { "$script" stop "$work/db"; }
sql() { mariadb --no-defaults --socket="$DB_SOCKET" -uroot -N -B "$@"; }

# pin SHAPE: puts every thread of the running server on core 0 for "one",
# on all cores for "two"; sets the prefix that pins the client side.
client_prefix=""
pin() {
	local pid
	pid=$(cat "$work/db/mysqld.pid")
	case $1 in
	one) taskset -apc 0 "$pid" >/dev/null; client_prefix="taskset -c 0" ;;
	two) taskset -apc "0-$(($(nproc) - 1))" "$pid" >/dev/null; client_prefix="" ;;
	esac
}

(cd "$root" && go build -o "$work/yesterday-restore" ./cmd/yesterday-restore)
if [[ -n ${COMPARE:-} ]]; then
	git -C "$root" worktree add -q --detach "$work/compare-src" "$COMPARE"
	(cd "$work/compare-src" && go build -o "$work/yesterday-restore-compare" ./cmd/yesterday-restore)
	git -C "$root" worktree remove --force "$work/compare-src"
fi
have_myloader=
if command -v mydumper >/dev/null && command -v myloader >/dev/null; then
	have_myloader=1
fi

echo "== starting the server, creating the account ($ACCOUNT)" >&2
start_server
version=$(sql -e "SELECT VERSION()")
if [[ $ACCOUNT == app ]]; then
	sql <<-'SQL'
		CREATE USER app@localhost;
		GRANT ALL PRIVILEGES ON `app`.* TO app@localhost;
		GRANT ALL PRIVILEGES ON `app\_restore`.* TO app@localhost;
		GRANT ALL PRIVILEGES ON `app\_restore\_old`.* TO app@localhost;
	SQL
fi
# Filling is not measured: it may commit lazily (the setting lasts until
# the restart before the first load).
sql -e "SET GLOBAL innodb_flush_log_at_trx_commit = 2"

# build_big: the source database "big" and its table list.
build_big() {
	sql -e "CREATE DATABASE big CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	for i in $(seq 1 $TABLES); do
		sql big <<-SQL
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
}

# build_many: the source database "many", MANY small tables.
build_many() {
	sql -e "CREATE DATABASE many CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	for i in $(seq 1 "$MANY"); do
		cat <<-SQL
			CREATE TABLE lookup_$i (
			  id INT UNSIGNED NOT NULL PRIMARY KEY,
			  parent_id INT NULL,
			  code VARCHAR(32) NOT NULL,
			  label VARCHAR(120) NOT NULL,
			  price DECIMAL(10,2) NULL,
			  note TEXT,
			  updated_at DATETIME NOT NULL,
			  KEY (code)
			) ENGINE=InnoDB;
			INSERT INTO lookup_$i
			SELECT seq, IF(seq % 3 = 0, NULL, seq - 1), CONCAT('C', $i, '-', seq), CONCAT('Label ', seq, ' of ''$i'''),
			       seq * 1.25 + $i, IF(seq % 2 = 0, REPEAT(MD5($i * 100 + seq), 2), NULL),
			       '2024-01-01' + INTERVAL ($i * 10 + seq) MINUTE
			FROM seq_1_to_$((1 + i % 8));
		SQL
	done | sql many
}

# checksums DB: one line, the checksums of every base table of DB in name
# order (CHECKSUM TABLE of all of them in one statement).
checksums() {
	local list
	list=$(sql -e "SELECT GROUP_CONCAT(CONCAT('\`', table_name, '\`') ORDER BY table_name SEPARATOR ', ')
		FROM information_schema.tables WHERE table_schema = '$1' AND table_type = 'BASE TABLE'" \
		--init-command="SET SESSION group_concat_max_len = 1048576")
	sql "$1" -e "CHECKSUM TABLE $list" | awk '{print $2}' | md5sum | cut -d' ' -f1
}

# dump SET: dump.zst and dump.gz of database SET under $work/SET, and the
# remote folder yesterday-restore reads.
backup=db-backup-20260101-030000.sql.zst
dump_set() {
	local set=$1 d=$work/$1
	mkdir -p "$d/remote"
	mariadb-dump --no-defaults --socket="$DB_SOCKET" -uroot --single-transaction --quick \
		--lock-tables=false --routines --triggers --events --default-character-set=utf8mb4 "$set" |
		zstd -3 -q -o "$d/dump.zst"
	ln "$d/dump.zst" "$d/remote/$backup"
	# Its recorded checksum, kept as a local-folder remote keeps it (an
	# extended attribute), so that yesterday-restore checks it: before it
	# loads anything since it spools the backup first, after the load
	# before that.
	python3 -c 'import hashlib, os, sys
h = hashlib.sha256()
with open(sys.argv[1], "rb") as f:
    for b in iter(lambda: f.read(1 << 20), b""):
        h.update(b)
os.setxattr(sys.argv[1], "user.backupd-sha256", h.hexdigest().encode())' "$d/remote/$backup"
	if [[ $set == big ]]; then
		zstd -dc "$d/dump.zst" | gzip >"$d/dump.gz"
		if [[ -n $have_myloader ]]; then
			mydumper --socket="$DB_SOCKET" --user=root --database="$set" --outputdir="$d/mydumper" \
				--threads=2 --trx-consistency-only --verbose=1
		fi
	fi
	zstd -dc "$d/dump.zst" | wc -c >"$d/raw"
	checksums "$set" >"$d/want"
}

sets=()
gen_start=$(date +%s)
if ((SIZE_ROWS > 0)); then
	echo "== building and dumping big: $TABLES tables x $SIZE_ROWS rows" >&2
	build_big
	dump_set big
	sets+=(big)
fi
if ((MANY > 0)); then
	echo "== building and dumping many: $MANY tables" >&2
	build_many
	dump_set many
	sets+=(many)
fi
echo "   built and dumped in $(($(date +%s) - gen_start)) s" >&2
stop_server
((${#sets[@]} > 0)) || { echo "restore.sh: SIZE_ROWS and MANY are both 0: nothing to measure" >&2; exit 2; }

if [[ $ACCOUNT == app ]]; then
	login=(-uapp)
else
	login=(-uroot)
fi
client="mariadb --no-defaults --socket=\"\$DB_SOCKET\" ${login[*]} \$DB"
old_client="'$mysql_client' --no-defaults --socket=\"\$DB_SOCKET\" ${login[*]} \$DB"

# methods SET: fills names and cmds with the methods measured on SET.
methods() {
	local d=$work/$1 p yr
	names=("zstd -dc | mariadb")
	cmds=("zstd -dc '$d/dump.zst' | $client")
	if [[ $1 == big ]]; then
		names+=("gunzip -c | mysql")
		cmds+=("gunzip -c '$d/dump.gz' | $old_client")
	fi
	for p in $PARALLEL; do
		yr="--remote '$d/remote' --name $backup --db-socket \"\$DB_SOCKET\" --db-name \$DB --db-user ${login[*]#-u} --parallel $p --debug --log-format json"
		names+=("yesterday-restore -p $p")
		cmds+=("'$work/yesterday-restore' $yr >/dev/null 2>\"\$YR_LOG\"")
		if [[ -n ${COMPARE:-} ]]; then
			names+=("yesterday-restore@$COMPARE -p $p")
			cmds+=("'$work/yesterday-restore-compare' $yr >/dev/null 2>\"\$YR_LOG\"")
		fi
	done
	if [[ $1 == big && -n $have_myloader ]]; then
		names+=("myloader -t 2")
		cmds+=("myloader --socket=\"\$DB_SOCKET\" --user=root --directory='$d/mydumper' --database=\$DB --threads=2 --verbose=1")
	fi
}

# phases LOG END: "download load swap after" seconds from a
# yesterday-restore log: "restoring" to "spooled and checked the backup"
# (the download into the work directory and its checksum; "-" for a
# yesterday-restore that streams), from there (or "restoring") to "dump
# loaded" (the load into staging), "dump loaded" to "restored" (the checks
# and the swap), "restored" to the end of the process (dropping the
# workspaces, recording the restore).
phases() {
	awk -v end="$2" '
	function secs(line,   t) {
		match(line, /"time":"[^"]*"/)
		t = substr(line, RSTART + 8, RLENGTH - 9)
		split(t, a, "T"); split(a[2], h, ":")
		return h[1] * 3600 + h[2] * 60 + h[3]
	}
	/"msg":"restoring"/ { r = secs($0) }
	/"msg":"spooled and checked the backup"/ { d = secs($0) }
	/"msg":"dump loaded"/ { l = secs($0) }
	/"msg":"restored"/ { s = secs($0) }
	END {
		# the log is in UTC; end is the time of day in UTC when the process ended
		if (r && l && s && d) printf "%.1f %.1f %.1f %.1f\n", d - r, l - d, s - l, end - s
		else if (r && l && s) printf "- %.1f %.1f %.1f\n", l - r, s - l, end - s
		else print "- - - -"
	}' "$1"
}

# run SET SHAPE I ROUND: one timed load of method I into a fresh database on
# a freshly started server; appends "I wall cpu rss [download load swap
# after]" to the results of SET and SHAPE.
run() {
	local set=$1 shape=$2 i=$3 round=$4 t0 t1 got end ph=""
	echo "== $set, shape $shape, round $round: ${names[$i]}" >&2
	start_server
	pin "$shape"
	sql -e "CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
	YR_LOG=$work/yr.log
	RESTORE_WORK_DIR=$work/yr-work
	export YR_LOG RESTORE_WORK_DIR
	: >"$YR_LOG"
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086 # client_prefix is a command and its arguments
	/usr/bin/time -v -o "$work/time.txt" $client_prefix bash -c "set -euo pipefail; ${cmds[$i]}"
	t1=$(date +%s.%N)
	end=$(date -u +%H:%M:%S.%N | awk -F: '{print $1 * 3600 + $2 * 60 + $3}')
	if [[ -s $YR_LOG ]]; then
		ph=$(phases "$YR_LOG" "$end")
		cp "$YR_LOG" "$work/yr-$set-$shape-$i-$round.log"
	fi
	got=$(checksums "$DB")
	if [[ $got != "$(cat "$work/$set/want")" ]]; then
		echo "restore.sh: ${names[$i]} loaded different data into $DB than $set holds" >&2
		exit 1
	fi
	sql -e "DROP DATABASE $DB"
	stop_server
	echo "$i $(echo "$t1 - $t0" | bc) $(awk -F': ' '/User time/ {u=$2} /System time/ {s=$2} END {printf "%.1f", u+s}' "$work/time.txt")" \
		"$(awk -F': ' '/Maximum resident set size/ {printf "%d", $2/1024}' "$work/time.txt") $ph" >>"$work/results-$set-$shape"
}

# median FILE I COLUMN: the median of a result column for method I.
median() {
	awk -v i="$2" -v c="$3" '$1 == i && $c != "" && $c != "-" {print $c}' "$1" | sort -n |
		awk '{v[NR] = $1} END {if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

# mb BYTES: BYTES in MB, one decimal.
mb() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1000000}'; }

# report SET SHAPE: the table of SET in SHAPE.
report() {
	local set=$1 shape=$2 f=$work/results-$1-$2 base wall what cores
	case $set in
	big) what="$TABLES tables x $SIZE_ROWS rows" ;;
	many) what="$MANY small tables" ;;
	esac
	case $shape in
	one) cores="server and clients on core 0" ;;
	two) cores="all on $(nproc) cores" ;;
	esac
	echo
	echo "restore of $what, shape $shape ($cores): $(mb "$(cat "$work/$set/raw")") MB of SQL," \
		"dump.zst $(mb "$(stat -c %s "$work/$set/dump.zst")") MB; MariaDB $version; account $ACCOUNT;" \
		"$REPEAT round(s), medians"
	base=$(median "$f" 0 2)
	printf '%-28s %8s %7s %13s %13s   %-25s %s\n' method "wall s" ratio "client CPU s" "peak RSS MiB" "dl/load/swap/after s" "each round, wall s"
	for i in "${!names[@]}"; do
		wall=$(median "$f" "$i" 2)
		ph="$(median "$f" "$i" 5)/$(median "$f" "$i" 6)/$(median "$f" "$i" 7)/$(median "$f" "$i" 8)"
		[[ $ph == "-/-/-/-" ]] && ph=-
		printf '%-28s %8.1f %7.2f %13s %13s   %-25s %s\n' "${names[$i]}" "$wall" "$(echo "$wall / $base" | bc -l)" \
			"$(median "$f" "$i" 3)" "$(median "$f" "$i" 4)" "$ph" \
			"$(awk -v i="$i" '$1 == i {printf "%.1f ", $2}' "$f")"
	done
}

# Rounds go through every method in turn, so that a slow spell of a
# shared machine does not land on one method only.
for set in "${sets[@]}"; do
	methods "$set"
	for shape in $SHAPES; do
		: >"$work/results-$set-$shape"
		for round in $(seq 1 "$REPEAT"); do
			for i in "${!names[@]}"; do
				run "$set" "$shape" "$i" "$round"
			done
		done
	done
done

echo
echo "$(nproc) CPUs; yesterday-restore at $(git -C "$root" rev-parse --short HEAD)$(git -C "$root" diff --quiet HEAD -- || echo '+changes')"
for set in "${sets[@]}"; do
	methods "$set"
	for shape in $SHAPES; do
		report "$set" "$shape"
	done
done
echo
echo "(ratio: wall time over zstd -dc | mariadb; client CPU: user+sys of the command and its children;"
echo " peak RSS: the largest client process; dl/load/swap/after: yesterday-restore's download and check"
echo " into its work directory (- when it streams), its load into staging, its checks and swap, and what"
echo " follows until it exits; every load checked with CHECKSUM TABLE)"

#!/usr/bin/env bash
# Encryption benchmark: side by side in one run, on the same database,
#   backupd now                                    (plain .sql.zst)
#   backupd now --encrypt-to R --sign-key K        (.sql.zst.age, signed)
#   yesterday-restore of the plain backup
#   yesterday-restore of the sealed one, with the identity, the verify key
#                                                  and --require-signature
# ROUNDS rounds (default 3), plain and sealed interleaved; the best wall
# time, the best CPU time (user + system) and the peak RSS of each are
# reported, with the sealed/plain ratios. CPU time is the command's and its
# children's (mariadb-dump's for a backup; the server's work on a restore
# is not in it). ROWS (default 1,000,000: a dump of about 270 MB) sizes the
# database as bench/backup.sh does.
#
#   bench/seal.sh
#   ROWS=200000 ROUNDS=2 bench/seal.sh     # a quick run
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${ROWS:-1000000}
ROUNDS=${ROUNDS:-3}
PARALLEL=${PARALLEL:-2}
scripts/ensure-mariadb.sh
command -v /usr/bin/time >/dev/null || { echo "bench needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
. bench/data.sh

work=$(mktemp -d /tmp/backupd-bench-seal-XXXXXX)
cleanup() { scripts/mariadb-private.sh stop "$work/db" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/backupd" ./cmd/backupd
go build -o "$work/yesterday-restore" ./cmd/yesterday-restore
"$work/backupd" keygen --out "$work/keys" >/dev/null
bench_start "$work/db"
echo "filling $ROWS rows..." >&2
bench_fill bench "$ROWS"

export DB_SOCKET=$BENCH_SOCKET DB_USERNAME=root
seal_flags="--encrypt-to $work/keys/age-recipient.txt --sign-key $work/keys/sign.key"
open_flags="--age-identity $work/keys/age-identity.txt --verify-key $work/keys/sign.pub --require-signature"

# measure NAME CMD: runs CMD under /usr/bin/time; appends "NAME wall cpu rss_kb".
measure() {
	local name=$1; shift
	/usr/bin/time -f "%e %U %S %M" -o "$work/t" bash -c "$*"
	awk -v n="$name" '{ printf "%s %s %.2f %s\n", n, $1, $2 + $3, $4 }' "$work/t" >>"$work/times"
}

: >"$work/times"
for r in $(seq 1 "$ROUNDS"); do
	echo "round $r/$ROUNDS" >&2
	rm -rf "$work/plain" "$work/sealed"
	measure "backup-plain" "DB_DATABASE=bench $work/backupd now --remote $work/plain > /dev/null"
	measure "backup-sealed" "DB_DATABASE=bench $work/backupd now --remote $work/sealed $seal_flags > /dev/null"
	for kind in plain sealed; do
		flags=""
		[[ $kind == sealed ]] && flags=$open_flags
		bench_root -e "DROP DATABASE IF EXISTS restored; DROP DATABASE IF EXISTS restored_restore; DROP DATABASE IF EXISTS restored_restore_old"
		name=$(ls "$work/$kind" | grep '^db-backup-')
		measure "restore-$kind" "DB_DATABASE=restored $work/yesterday-restore --remote $work/$kind --name $name --parallel $PARALLEL $flags > /dev/null"
	done
done
ls -l "$work/plain" "$work/sealed" | grep db-backup >&2

echo "machine: $(nproc) cores, $(uname -r); $(mariadb-dump --version)"
awk '
{ n = $1; if (!(n in wall) || $2 < wall[n]) wall[n] = $2; if (!(n in cpu) || $3 < cpu[n]) cpu[n] = $3; if ($4 > rss[n]) rss[n] = $4 }
END {
	printf "%-16s %9s %9s %12s\n", "", "wall s", "cpu s", "peak RSS"
	split("backup-plain backup-sealed restore-plain restore-sealed", order, " ")
	for (i = 1; i <= 4; i++) { n = order[i]; printf "%-16s %9.2f %9.2f %8.1f MiB\n", n, wall[n], cpu[n], rss[n] / 1024 }
	printf "backup:  sealed/plain wall %.3f, cpu %.3f, peak RSS %.3f\n", wall["backup-sealed"] / wall["backup-plain"], cpu["backup-sealed"] / cpu["backup-plain"], rss["backup-sealed"] / rss["backup-plain"]
	printf "restore: sealed/plain wall %.3f, cpu %.3f, peak RSS %.3f\n", wall["restore-sealed"] / wall["restore-plain"], cpu["restore-sealed"] / cpu["restore-plain"], rss["restore-sealed"] / rss["restore-plain"]
}' "$work/times"

#!/usr/bin/env bash
# Shared by the benchmarks: start a private database server and fill a
# database with generated, app-like rows. Source it, then call bench_start
# DIR and bench_fill DB ROWS (ROWS counts the rows of the main table; the
# database's dump is about 270 bytes a row: 4,000,000 rows make about 1 GB).
#
# SERVER chooses the server as scripts/mariadb-private.sh does: "system"
# (Debian's MariaDB, the default), "mariadb-11.8" or "mysql-9.7"
# (scripts/versions.sh). bench_start sets BENCH_SOCKET, BENCH_PORT,
# BENCH_BIN (the server's own client tools, empty for the system's) and
# BENCH_CLIENT (the server's own command-line client). A caller that starts
# its own server sets BENCH_SOCKET, and BENCH_CLIENT when the mariadb on PATH
# is not that server's.
bench_root() { "${BENCH_CLIENT:-mariadb}" --no-defaults --socket="$BENCH_SOCKET" -uroot --default-character-set=utf8mb4 "$@"; }

# The buffer pool holds the whole benchmark database, so that timings are of
# the tools and not of the disk.
bench_start() {
	local settings
	settings=$(MARIADB_OPTS="--innodb-buffer-pool-size=${BENCH_BUFFER_POOL:-3G} ${MARIADB_OPTS:-}" scripts/mariadb-private.sh start "$1")
	BENCH_SOCKET=$(sed -n 's/^DB_SOCKET=//p' <<<"$settings")
	BENCH_PORT=$(sed -n 's/^DB_PORT=//p' <<<"$settings")
	BENCH_BIN=$(sed -n 's/^DB_BIN=//p' <<<"$settings")
	BENCH_CLIENT=mariadb
	if [[ -n $BENCH_BIN ]]; then
		BENCH_CLIENT=$BENCH_BIN/mariadb
		[[ -x $BENCH_CLIENT ]] || BENCH_CLIENT=$BENCH_BIN/mysql
	fi
	export BENCH_SOCKET BENCH_PORT BENCH_BIN BENCH_CLIENT
}

# bench_fill DB ROWS: (re)creates DB with five tables; the rows of the
# biggest grow with ROWS, the others with a fraction of it. The rows come
# from a table of the numbers 0 to 999 (in a database of its own, dropped
# after) joined with itself, which MariaDB and MySQL both run (MySQL has no
# seq_1_to_N, and MySQL 9 no MD5 or SHA1: the hashes are SHA2's).
bench_fill() {
	local db=$1 rows=$2
	bench_root -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
	# bench_seq N: a derived table of the numbers 1 to N, as column seq.
	bench_seq() { echo "(SELECT 1 + a.n + 1000 * b.n + 1000000 * c.n AS seq FROM bench_nums.n a, bench_nums.n b, bench_nums.n c WHERE c.n <= ($1 - 1) DIV 1000000 AND b.n <= ($1 - 1) DIV 1000 AND 1 + a.n + 1000 * b.n + 1000000 * c.n <= $1) s"; }
	bench_root "$db" <<SQL
SET SESSION sql_log_bin=0;
DROP DATABASE IF EXISTS bench_nums;
CREATE DATABASE bench_nums;
CREATE TABLE bench_nums.n (n INT PRIMARY KEY);
INSERT INTO bench_nums.n WITH RECURSIVE r (n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM r WHERE n < 999) SELECT n FROM r;
CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(191), name VARCHAR(100), created_at DATETIME, balance DECIMAL(12,2));
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, status VARCHAR(16), total DECIMAL(12,2), created_at DATETIME, KEY (user_id));
CREATE TABLE order_items (id INT PRIMARY KEY, order_id INT, sku VARCHAR(32), qty INT, price DECIMAL(10,2));
CREATE TABLE events (id BIGINT PRIMARY KEY, kind VARCHAR(32), at DATETIME(3), payload TEXT);
CREATE TABLE notes (id INT PRIMARY KEY, body MEDIUMTEXT);
INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), '2020-01-01' + INTERVAL seq MINUTE, (seq * 7919) % 100000 / 100 FROM $(bench_seq $((rows / 20)));
INSERT INTO orders SELECT seq, 1 + seq % $((rows / 20)), ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), (seq * 104729) % 1000000 / 100, '2021-01-01' + INTERVAL seq SECOND FROM $(bench_seq $((rows / 4)));
INSERT INTO order_items SELECT seq, 1 + seq % $((rows / 4)), CONCAT('SKU-', LPAD(seq % 5000, 6, '0')), 1 + seq % 5, (seq * 31) % 10000 / 100 FROM $(bench_seq $((rows / 2)));
INSERT INTO events SELECT seq, ELT(1 + seq % 5, 'login', 'view', 'click', 'purchase', 'logout'), TIMESTAMP'2022-01-01 00:00:00' + INTERVAL seq * 37 MICROSECOND,
  CONCAT('{"user":', seq % 50000, ',"path":"/items/', seq % 9973, '","ua":"Mozilla/5.0 (X11; Linux x86_64)","ref":"', LEFT(SHA2(seq, 256), 32), '","session":"', LEFT(SHA2(seq DIV 20, 256), 40), '"}') FROM $(bench_seq "$rows");
INSERT INTO notes SELECT seq, REPEAT(CONCAT('Note ', seq, ': lorem ipsum dolor sit amet, consectetur adipiscing elit. ', LEFT(SHA2(seq, 256), 32), '\n'), 8) FROM $(bench_seq $((rows / 40)));
DROP DATABASE bench_nums;
SQL
}

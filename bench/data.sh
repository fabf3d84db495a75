#!/usr/bin/env bash
# Shared by the benchmarks: start a private MariaDB and fill a database with
# generated, app-like rows. Source it, then call bench_start DIR and
# bench_fill DB ROWS (ROWS counts the rows of the main table; the database's
# dump is about 270 bytes a row: 4,000,000 rows make about 1 GB).
bench_root() { mariadb --no-defaults --socket="$BENCH_SOCKET" -uroot --default-character-set=utf8mb4 "$@"; }

# The buffer pool holds the whole benchmark database, so that timings are of
# the tools and not of the disk.
bench_start() {
	local settings
	settings=$(MARIADB_OPTS="--innodb-buffer-pool-size=${BENCH_BUFFER_POOL:-3G}" scripts/mariadb-private.sh start "$1")
	BENCH_SOCKET=$(sed -n 's/^DB_SOCKET=//p' <<<"$settings")
	BENCH_PORT=$(sed -n 's/^DB_PORT=//p' <<<"$settings")
	export BENCH_SOCKET BENCH_PORT
}

# bench_fill DB ROWS: (re)creates DB with five tables; the rows of the
# biggest grow with ROWS, the others with a fraction of it.
bench_fill() {
	local db=$1 rows=$2
	bench_root -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"
	bench_root "$db" <<SQL
SET SESSION sql_log_bin=0;
CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(191), name VARCHAR(100), created_at DATETIME, balance DECIMAL(12,2));
CREATE TABLE orders (id INT PRIMARY KEY, user_id INT, status VARCHAR(16), total DECIMAL(12,2), created_at DATETIME, KEY (user_id));
CREATE TABLE order_items (id INT PRIMARY KEY, order_id INT, sku VARCHAR(32), qty INT, price DECIMAL(10,2));
CREATE TABLE events (id BIGINT PRIMARY KEY, kind VARCHAR(32), at DATETIME(3), payload TEXT);
CREATE TABLE notes (id INT PRIMARY KEY, body MEDIUMTEXT);
INSERT INTO users SELECT seq, CONCAT('user', seq, '@example.com'), CONCAT('User ', seq), '2020-01-01' + INTERVAL seq MINUTE, (seq * 7919) % 100000 / 100 FROM seq_1_to_$((rows / 20));
INSERT INTO orders SELECT seq, 1 + seq % $((rows / 20)), ELT(1 + seq % 4, 'new', 'paid', 'shipped', 'cancelled'), (seq * 104729) % 1000000 / 100, '2021-01-01' + INTERVAL seq SECOND FROM seq_1_to_$((rows / 4));
INSERT INTO order_items SELECT seq, 1 + seq % $((rows / 4)), CONCAT('SKU-', LPAD(seq % 5000, 6, '0')), 1 + seq % 5, (seq * 31) % 10000 / 100 FROM seq_1_to_$((rows / 2));
INSERT INTO events SELECT seq, ELT(1 + seq % 5, 'login', 'view', 'click', 'purchase', 'logout'), TIMESTAMP'2022-01-01 00:00:00' + INTERVAL seq * 37 MICROSECOND,
  CONCAT('{"user":', seq % 50000, ',"path":"/items/', seq % 9973, '","ua":"Mozilla/5.0 (X11; Linux x86_64)","ref":"', MD5(seq), '","session":"', SHA1(seq DIV 20), '"}') FROM seq_1_to_$rows;
INSERT INTO notes SELECT seq, REPEAT(CONCAT('Note ', seq, ': lorem ipsum dolor sit amet, consectetur adipiscing elit. ', MD5(seq), '\n'), 8) FROM seq_1_to_$((rows / 40));
SQL
}

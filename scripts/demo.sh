#!/usr/bin/env bash
# Runs the main job end to end on the embedded default: a throwaway local
# MariaDB with sample data, one `backupd now` into the local folder
# ./backups, and a listing of the result; then, as the yesterday app would
# at boot, `yesterday-restore` of that backup into a second database. The
# server is stopped at the end; ./backups is kept.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-mariadb.sh
mkdir -p bin .demo
go build -o bin/backupd ./cmd/backupd
go build -o bin/yesterday-restore ./cmd/yesterday-restore
dir=$(mktemp -d /tmp/backupd-demo-XXXXXX)
cleanup() { scripts/mariadb-private.sh stop "$dir" || true; rm -rf "$dir"; }
trap cleanup EXIT
settings=$(scripts/mariadb-private.sh start "$dir")
socket=$(sed -n 's/^DB_SOCKET=//p' <<<"$settings")
port=$(sed -n 's/^DB_PORT=//p' <<<"$settings")
root=(mariadb --no-defaults --socket="$socket" -uroot --default-character-set=utf8mb4)

# Sample data: the test fixture plus a few thousand generated rows, owned
# by an app user with a password, as in production.
password=$(head -c 18 /dev/urandom | base64)
"${root[@]}" -e "CREATE DATABASE app CHARACTER SET utf8mb4"
"${root[@]}" app <testdata/fixture.sql
"${root[@]}" app -e "CREATE TABLE events_log (id INT PRIMARY KEY, at DATETIME, payload TEXT);
  INSERT INTO events_log SELECT seq, '2026-01-01' + INTERVAL seq MINUTE, CONCAT('event ', seq, ' ', MD5(seq)) FROM seq_1_to_20000"
"${root[@]}" <<SQL
CREATE USER 'app'@'127.0.0.1' IDENTIFIED BY '$password';
GRANT ALL ON app.* TO 'app'@'127.0.0.1';
GRANT SELECT ON mysql.proc TO 'app'@'127.0.0.1';
SQL
# The yesterday side's account, with the grants docs/yesterday-restore.md
# documents: the database it restores and its two workspaces, nothing else.
restore_password=$(head -c 18 /dev/urandom | base64)
"${root[@]}" <<SQL
CREATE USER 'yesterday'@'localhost' IDENTIFIED BY '$restore_password';
GRANT ALL PRIVILEGES ON \`app\\_yesterday\`.* TO 'yesterday'@'localhost';
GRANT ALL PRIVILEGES ON \`app\\_yesterday\\_restore\`.* TO 'yesterday'@'localhost';
GRANT ALL PRIVILEGES ON \`app\\_yesterday\\_restore\\_old\`.* TO 'yesterday'@'localhost';
CREATE DATABASE app_yesterday;
SQL

# The same environment the production scripts use (no Google settings, so
# the remote is the local folder ./backups). The lock file is the demo's
# own, so that no other backupd on the machine can hold it.
export DB_HOST=127.0.0.1 DB_PORT=$port DB_DATABASE=app DB_USERNAME=app DB_PASSWORD=$password
export BACKUPD_LOCK_FILE=$dir/backupd.lock
bin/backupd now
echo
echo "./backups now holds:"
bin/backupd list

newest=$(bin/backupd list --json | sed -n 's/.*"name": *"\([^"]*\)".*/\1/p' | head -1)
echo
echo "restoring $newest into the database app_yesterday, as the yesterday app's boot does:"
DB_SOCKET=$socket DB_DATABASE=app_yesterday DB_USERNAME=yesterday DB_PASSWORD=$restore_password \
	bin/yesterday-restore --name "$newest" --snapshot-file .demo/snapshot.txt
echo "banner: Historical snapshot - data as of $(cat .demo/snapshot.txt)"

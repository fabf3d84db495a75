#!/usr/bin/env bash
# Runs a private, throwaway MariaDB server out of one folder, for tests and
# the demo. It uses Debian's mariadb-server binaries, its own datadir and
# socket under DIR, and listens on 127.0.0.1 only.
#
#   scripts/mariadb-private.sh start DIR [PORT]   start, wait until ready, print settings
#   scripts/mariadb-private.sh stop DIR           stop and wait for it to exit
#
# "start" prints shell assignments (DB_SOCKET, DB_HOST, DB_PORT) to stdout;
# root can log in over the socket without a password. Extra server options
# can be given in MARIADB_OPTS (for example "--innodb-buffer-pool-size=2G").
set -euo pipefail

cmd=${1:-}
dir=${2:-}
if [[ -z $cmd || -z $dir ]]; then
	echo "usage: $0 start|stop DIR [PORT]" >&2
	exit 2
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
sock=$dir/mysqld.sock
pidfile=$dir/mysqld.pid

find_bin() {
	local n
	for n in "$@"; do
		if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
		for p in /usr/sbin /usr/bin /usr/libexec; do
			if [[ -x $p/$n ]]; then echo "$p/$n"; return 0; fi
		done
	done
	return 1
}

case $cmd in
start)
	server=$(find_bin mariadbd mysqld) || { echo "mariadbd not found: apt-get install -y mariadb-server mariadb-client" >&2; exit 3; }
	installdb=$(find_bin mariadb-install-db mysql_install_db) || { echo "mariadb-install-db not found" >&2; exit 3; }
	admin=$(find_bin mariadb-admin mysqladmin) || { echo "mariadb-admin not found" >&2; exit 3; }
	user=$(id -un)
	port=${3:-}
	if [[ -z $port ]]; then
		# A free loopback port: nothing answers a connect there.
		for _ in $(seq 1 50); do
			port=$((20000 + RANDOM % 20000))
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		done
	fi
	if [[ ! -d $dir/data/mysql ]]; then
		"$installdb" --no-defaults --datadir="$dir/data" --user="$user" \
			--auth-root-authentication-method=normal --skip-test-db >"$dir/install.log" 2>&1 ||
			{ cat "$dir/install.log" >&2; exit 1; }
	fi
	setsid "$server" --no-defaults --datadir="$dir/data" --socket="$sock" \
		--port="$port" --bind-address=127.0.0.1 --pid-file="$pidfile" \
		--log-error="$dir/error.log" --user="$user" --skip-name-resolve \
		--innodb-buffer-pool-size=256M --innodb-log-file-size=256M \
		--max-allowed-packet=256M --tmpdir="$dir" ${MARIADB_OPTS:-} </dev/null >/dev/null 2>&1 &
	for _ in $(seq 1 120); do
		if "$admin" --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1; then
			echo "DB_SOCKET=$sock"
			echo "DB_HOST=127.0.0.1"
			echo "DB_PORT=$port"
			exit 0
		fi
		sleep 0.5
	done
	echo "mariadbd did not become ready; see $dir/error.log:" >&2
	tail -20 "$dir/error.log" >&2 || true
	exit 1
	;;
stop)
	[[ -f $pidfile ]] || exit 0
	pid=$(cat "$pidfile")
	kill "$pid" 2>/dev/null || exit 0
	for _ in $(seq 1 120); do
		kill -0 "$pid" 2>/dev/null || exit 0
		sleep 0.5
	done
	kill -9 "$pid" 2>/dev/null || true
	;;
*)
	echo "usage: $0 start|stop DIR [PORT]" >&2
	exit 2
	;;
esac

#!/usr/bin/env bash
# Runs a private, throwaway database server out of one folder, for tests,
# the demo and the benches: its own datadir and socket under DIR, listening
# on 127.0.0.1 and 127.0.0.2 (the second is not "local" to a client, as a
# server on another machine of a private network is not).
#
#   scripts/mariadb-private.sh start DIR [PORT]   start, wait until ready, print settings
#   scripts/mariadb-private.sh stop DIR           stop and wait for it to exit
#
# SERVER chooses the server: "system" (the default: Debian's mariadb-server
# on this machine), or a product of scripts/versions.sh ("mariadb-11.8",
# "mysql-9.7"), fetched into its cache when missing.
#
# "start" prints shell assignments (DB_SOCKET, DB_HOST, DB_PORT, DB_BIN:
# the folder of the product's client tools, empty for the system's) to
# stdout; root can log in over the socket without a password. Extra server
# options can be given in MARIADB_OPTS (for example
# "--innodb-buffer-pool-size=2G").
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

# find_bin NAME...: the system's own program, before any on PATH (where
# scripts/test.sh may have put another build's tools first).
find_bin() {
	local n
	for n in "$@"; do
		for p in /usr/sbin /usr/bin /usr/libexec; do
			if [[ -x $p/$n ]]; then echo "$p/$n"; return 0; fi
		done
		if command -v "$n" >/dev/null 2>&1; then command -v "$n"; return 0; fi
	done
	return 1
}

case $cmd in
start)
	product=${SERVER:-system}
	bindir=
	if [[ $product != system ]]; then
		base=$("$(dirname "$0")/versions.sh" "$product")
		bindir=$base/bin
	fi
	user=$(id -un)
	port=${3:-}
	if [[ -z $port ]]; then
		# A free loopback port: nothing answers a connect there.
		for _ in $(seq 1 50); do
			port=$((20000 + RANDOM % 20000))
			if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
		done
	fi
	common=(--datadir="$dir/data" --user="$user")
	case $product in
	system)
		server=$(find_bin mariadbd mysqld) || { echo "mariadbd not found: apt-get install -y mariadb-server mariadb-client" >&2; exit 3; }
		installdb=$(find_bin mariadb-install-db mysql_install_db) || { echo "mariadb-install-db not found" >&2; exit 3; }
		admin=$(find_bin mariadb-admin mysqladmin) || { echo "mariadb-admin not found" >&2; exit 3; }
		install=("$installdb" --no-defaults "${common[@]}" --auth-root-authentication-method=normal --skip-test-db)
		opts=(--innodb-log-file-size=256M)
		;;
	mariadb-*)
		server=$base/sbin/mariadbd
		admin=$bindir/mariadb-admin
		install=("$bindir/mariadb-install-db" --no-defaults --basedir="$base" "${common[@]}" --auth-root-authentication-method=normal --skip-test-db)
		opts=(--basedir="$base" --plugin-dir="$base/lib/mysql/plugin" --innodb-log-file-size=256M)
		;;
	mysql-*)
		server=$base/sbin/mysqld
		admin=$bindir/mysqladmin
		root=$base/root/usr
		opts=(--basedir="$root" --lc-messages-dir="$root/share/mysql" --plugin-dir="$root/lib/mysql/plugin"
			--secure-file-priv= --mysqlx=OFF --innodb-redo-log-capacity=512M)
		install=("$server" --no-defaults "${common[@]}" "${opts[@]}" --initialize-insecure --log-error="$dir/install.log")
		;;
	*)
		echo "unknown SERVER $product: system, or one of: $("$(dirname "$0")/versions.sh" list | tr '\n' ' ')" >&2
		exit 2
		;;
	esac
	if [[ ! -d $dir/data/mysql ]]; then
		"${install[@]}" >>"$dir/install.log" 2>&1 || { cat "$dir/install.log" >&2; exit 1; }
	fi
	setsid "$server" --no-defaults "${common[@]}" "${opts[@]}" --socket="$sock" \
		--port="$port" --bind-address=127.0.0.1,127.0.0.2 --pid-file="$pidfile" \
		--log-error="$dir/error.log" --skip-name-resolve \
		--innodb-buffer-pool-size=256M \
		--max-allowed-packet=256M --tmpdir="$dir" ${MARIADB_OPTS:-} </dev/null >/dev/null 2>&1 &
	for _ in $(seq 1 240); do
		if "$admin" --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1; then
			echo "DB_SOCKET=$sock"
			echo "DB_HOST=127.0.0.1"
			echo "DB_PORT=$port"
			echo "DB_BIN=$bindir"
			exit 0
		fi
		sleep 0.5
	done
	echo "$product server did not become ready; see $dir/error.log:" >&2
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

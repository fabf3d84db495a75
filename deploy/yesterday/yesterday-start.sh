#!/usr/bin/env bash
# The yesterday app's machine from boot to stop: the container's command,
# in place of the old yesterday-startup.sh.
#
#   yesterday-start APP-COMMAND [ARGS...]
#   (the image: yesterday-start supervisord -n -c /etc/supervisor/supervisord.conf)
#
# 1. The data directory is on the volume. When it holds no database (the
#    first boot, or the volume was lost) it creates an empty one.
# 2. Starts MariaDB with yesterday.cnf and waits until it answers. A data
#    directory the server cannot start on is thrown away and made again:
#    the data is a copy that the restore brings back. When the database
#    holds no snapshot, it says so in the log and in the status file
#    ("state": "restoring"), and removes a banner that would name one.
# 3. Creates the app's account and its grants, whatever already exists:
#    all privileges on DB_DATABASE and on the restore's two workspaces,
#    nothing else (docs/yesterday-restore.md#privileges).
# 4. Starts yesterday-restore and, at the same time, the app: the app
#    serves the previous snapshot (the database and the banner are both on
#    the volume) while the new one loads into staging and is swapped in.
#    Without a snapshot, the status file says how far the restore has
#    come, and a failed restore is tried again every YESTERDAY_RETRY.
# 5. On SIGTERM or SIGINT: stops the app and the restore (a swap under way
#    finishes first), then MariaDB, cleanly. When the app or MariaDB ends
#    by itself, stops the rest and exits (the machine restarts).
#
# Settings (environment; the defaults are the image's):
#   DB_DATABASE, DB_USERNAME, DB_PASSWORD (or DB_PASSWORD_FILE)
#                         the app's database and account, also the restore's
#   RESTORE_STAGING_DB    the staging database (default <DB_DATABASE>_restore)
#   YESTERDAY_DATA        the volume's mount point (default /data)
#   RESTORE_WORK_DIR      yesterday-restore's work directory: the spooled
#                         backup and the swap's journal (default
#                         <YESTERDAY_DATA>/yesterday/work, on the volume)
#   YESTERDAY_SNAPSHOT_FILE, YESTERDAY_STATUS_FILE
#                         the banner and the status file (default
#                         $YESTERDAY_DATA/yesterday/snapshot.txt and
#                         restore-status.json: on the volume, with the data
#                         they describe)
#   YESTERDAY_RETRY       how long to wait before trying a failed restore
#                         again while the database holds no snapshot
#                         (default 600 seconds; 0: never)
#   YESTERDAY_RESTORE_FLAGS  more flags for yesterday-restore, such as --debug
#   The rest of yesterday-restore's settings (the remote, keys, RESTORE_*)
#   come from the environment as documented there.
# For running outside the image (scripts/yesterday-boot-test.sh):
#   YESTERDAY_MARIADB_CNF     the server's option file (/etc/mysql/yesterday.cnf)
#   YESTERDAY_MARIADB_DATADIR (default $YESTERDAY_DATA/mysql)
#   YESTERDAY_MARIADB_SOCKET  (default DB_SOCKET, else /run/mysqld/mysqld.sock)
#   YESTERDAY_MARIADB_USER    the OS user the server runs as (mysql)
#   YESTERDAY_MARIADB_OPTS    more server options (words)
#   YESTERDAY_INSTALL_OPTS    more mariadb-install-db options (words)
#   YESTERDAY_MARIADB_WAIT    seconds to wait for the server (default 600:
#                             crash recovery of a large redo log)
#   YESTERDAY_STOP_WAIT       seconds a running restore gets to end on a
#                             stop (default 20, inside fly.toml's kill_timeout)
set -euo pipefail

log() { printf '%s yesterday-start: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$*" >&2; }
die() {
	log "$*"
	exit 1
}

(($# > 0)) || die "usage: yesterday-start APP-COMMAND [ARGS...]"
: "${DB_DATABASE:?DB_DATABASE must name the app database}"
: "${DB_USERNAME:?DB_USERNAME must name the app account}"
if [[ -n ${DB_PASSWORD_FILE:-} ]]; then
	[[ -z ${DB_PASSWORD:-} ]] || die "set DB_PASSWORD or DB_PASSWORD_FILE, not both"
	password=$(<"$DB_PASSWORD_FILE") || die "cannot read DB_PASSWORD_FILE"
else
	password=${DB_PASSWORD:-}
fi

data=${YESTERDAY_DATA:-/data}
datadir=${YESTERDAY_MARIADB_DATADIR:-$data/mysql}
socket=${YESTERDAY_MARIADB_SOCKET:-${DB_SOCKET:-/run/mysqld/mysqld.sock}}
cnf=${YESTERDAY_MARIADB_CNF:-/etc/mysql/yesterday.cnf}
os_user=${YESTERDAY_MARIADB_USER:-mysql}
snapshot_file=${YESTERDAY_SNAPSHOT_FILE:-$data/yesterday/snapshot.txt}
status_file=${YESTERDAY_STATUS_FILE:-$data/yesterday/restore-status.json}
# The restore's work directory (the spooled backup and the swap's journal)
# on the volume: the journal of a swap killed by a restart must be there
# after it, beside the database it speaks for.
work_dir=${RESTORE_WORK_DIR:-$data/yesterday/work}
staging=${RESTORE_STAGING_DB:-${DB_DATABASE}_restore}
retry=${YESTERDAY_RETRY:-600}
server_wait=${YESTERDAY_MARIADB_WAIT:-600}
stop_wait=${YESTERDAY_STOP_WAIT:-20}
read -r -a server_opts <<<"${YESTERDAY_MARIADB_OPTS:-}"
read -r -a install_opts <<<"${YESTERDAY_INSTALL_OPTS:-}"
read -r -a restore_flags <<<"${YESTERDAY_RESTORE_FLAGS:-}"
export YESTERDAY_SNAPSHOT_FILE=$snapshot_file YESTERDAY_STATUS_FILE=$status_file RESTORE_WORK_DIR=$work_dir

# The server and its tools get only what they need of the environment: it
# holds the app's secrets.
clean_env=(env -i "PATH=$PATH" "HOME=${HOME:-/root}" "LANG=C.UTF-8")
[[ -n ${TZ:-} ]] && clean_env+=("TZ=$TZ")
admin() { "${clean_env[@]}" mariadb --no-defaults --socket="$socket" --user="$(id -un)" --batch --skip-column-names "$@"; }

server_pid= restore_pid= app_pid= stopping=

# write_status STATE PHASE-OR-ERROR: a record of the status file while the
# database holds no snapshot (fields: docs/yesterday-restore.md#status-file),
# replaced atomically. The texts are this script's own: no quoting needed.
write_status() {
	local tmp now
	now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
	tmp=$(mktemp "${status_file%/*}/.status.XXXXXX")
	if [[ $1 == restoring ]]; then
		printf '{\n  "state": "restoring",\n  "database": "%s",\n  "progress": {\n    "phase": "%s"\n  },\n  "updated_at": "%s"\n}\n' \
			"$DB_DATABASE" "$2" "$now" >"$tmp"
	else
		printf '{\n  "state": "failed",\n  "database": "%s",\n  "error": "%s",\n  "updated_at": "%s"\n}\n' \
			"$DB_DATABASE" "$2" "$now" >"$tmp"
	fi
	chmod 644 "$tmp"
	mv -f "$tmp" "$status_file"
}

# install: an empty data directory, with the accounts of the OS user
# running this script (over the socket only).
install() {
	log "creating an empty database server in $datadir"
	mkdir -p "$datadir"
	chown "$os_user:" "$datadir"
	chmod 750 "$datadir"
	"${clean_env[@]}" mariadb-install-db --defaults-file="$cnf" --datadir="$datadir" --user="$os_user" \
		--skip-test-db "${install_opts[@]}" >"$run_dir/install.log" 2>&1 ||
		{ cat "$run_dir/install.log" >&2; die "mariadb-install-db failed"; }
}

# start_server: starts mariadbd and waits until it answers; fails when it
# ends first or does not answer in time.
start_server() {
	"${clean_env[@]}" mariadbd --defaults-file="$cnf" --datadir="$datadir" --socket="$socket" \
		--user="$os_user" "${server_opts[@]}" &
	server_pid=$!
	local waited=0
	until admin -e 'SELECT 1' >/dev/null 2>&1; do
		if ! kill -0 "$server_pid" 2>/dev/null; then
			wait "$server_pid" || true
			server_pid=
			return 1
		fi
		if ((waited >= server_wait * 4)); then
			log "the server did not answer within ${server_wait}s"
			kill -TERM "$server_pid" 2>/dev/null || true
			wait "$server_pid" || true
			server_pid=
			return 1
		fi
		sleep 0.25
		waited=$((waited + 1))
	done
	log "the database server is up (pid $server_pid, $datadir)"
}

# sql_string S: S as a SQL string literal (backslashes and quotes escaped).
sql_string() {
	local s=${1//\\/\\\\}
	s=${s//\'/\\\'}
	printf "'%s'" "$s"
}

# grant_ident DB: DB quoted for GRANT, its wildcards made literal.
grant_ident() {
	local s=${1//\\/\\\\}
	s=${s//_/\\_}
	s=${s//%/\\%}
	s=${s//\`/\`\`}
	printf '`%s`' "$s"
}

# account: the app's account for the socket and for TCP on loopback, with
# the password of this boot (a volume keeps the one of an earlier boot)
# and all privileges on the database and the workspaces. Sent on a pipe:
# the password is on no command line and in no file.
account() {
	local sql="" host user pass db
	user=$(sql_string "$DB_USERNAME")
	pass=$(sql_string "$password")
	for host in localhost 127.0.0.1; do
		sql+="CREATE USER IF NOT EXISTS $user@'$host' IDENTIFIED BY $pass;"$'\n'
		sql+="ALTER USER $user@'$host' IDENTIFIED BY $pass;"$'\n'
		for db in "$DB_DATABASE" "$staging" "${staging}_old"; do
			sql+="GRANT ALL PRIVILEGES ON $(grant_ident "$db").* TO $user@'$host';"$'\n'
		done
	done
	printf '%s' "$sql" | admin || die "could not create the account $DB_USERNAME and its grants"
	log "account $DB_USERNAME@localhost and @127.0.0.1: all privileges on $DB_DATABASE, $staging and ${staging}_old"
}

# holds_snapshot: whether the app database has a table (a snapshot, or
# part of one that the restore's recovery completes).
holds_snapshot() {
	local n
	n=$(admin -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $(sql_string "$DB_DATABASE") AND table_type <> 'VIEW'") || return 1
	((n > 0))
}

# restore_loop: runs yesterday-restore; while the database holds no
# snapshot, a failure is tried again every $retry seconds. On SIGTERM it
# hands the signal to yesterday-restore and ends with it.
restore_loop() {
	local child= rc
	trap 'if [[ -n $child ]]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" || true; fi; exit 0' TERM
	trap - INT
	while :; do
		# JSON log lines for the log collector: its report and its log
		# share the machine's output, where it would otherwise write text.
		BACKUPD_LOG_FORMAT=${BACKUPD_LOG_FORMAT:-json} \
			yesterday-restore --db-socket "$socket" --snapshot-file "$snapshot_file" --status-file "$status_file" \
			"${restore_flags[@]}" &
		child=$!
		rc=0
		wait "$child" || rc=$?
		child=
		case $rc in
		0) log "restore done"; return 0 ;;
		2) log "yesterday-restore exited 2: its settings are wrong (see above)" ;;
		3) log "yesterday-restore exited 3: no backup to restore" ;;
		*) log "yesterday-restore exited $rc" ;;
		esac
		if holds_snapshot; then
			log "serving the previous snapshot${snapshot_file:+, $(cat "$snapshot_file" 2>/dev/null)}"
			return 0
		fi
		if ! grep -q '"state": "failed"' "$status_file" 2>/dev/null; then
			write_status failed "the restore exited with status $rc; see the log"
		fi
		if [[ $rc == 2 || $retry == 0 ]]; then
			log "the database holds no snapshot; not trying again"
			return 0
		fi
		log "the database holds no snapshot: trying again in ${retry}s"
		sleep "$retry" &
		child=$!
		wait "$child" || true
		child=
	done
}

# stop_all [STATUS]: the app and the restore first (a swap finishes), then
# the server; exits with STATUS.
stop_all() {
	local status=${1:-0} i
	stopping=1
	trap '' TERM INT
	if [[ -n $app_pid ]]; then kill -TERM "$app_pid" 2>/dev/null || true; fi
	if [[ -n $restore_pid ]]; then
		kill -TERM "$restore_pid" 2>/dev/null || true
		for ((i = 0; i < stop_wait * 10; i++)); do
			kill -0 "$restore_pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [[ -n $app_pid ]]; then wait "$app_pid" 2>/dev/null || true; fi
	if [[ -n $server_pid ]]; then
		log "stopping the database server"
		kill -TERM "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	exit "$status"
}

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/yesterday-start.XXXXXX")
trap 'rm -rf "$run_dir"' EXIT
trap 'log "stopping (SIGTERM)"; stop_all 0' TERM
trap 'log "stopping (SIGINT)"; stop_all 0' INT

mkdir -p "$data" "${snapshot_file%/*}" "${status_file%/*}" "${socket%/*}"
chown "$os_user:" "${socket%/*}"

if [[ ! -d $datadir/mysql ]]; then
	log "no database on the volume ($datadir): the first boot, or the volume was lost"
	install
	start_server || die "the database server did not start on a new data directory"
elif ! start_server; then
	log "the database server cannot start on the data in $datadir; throwing it away: the restore brings the data back"
	rm -rf "$datadir"
	install
	start_server || die "the database server did not start on a new data directory"
fi
if holds_snapshot; then
	log "serving the previous snapshot${snapshot_file:+, $(cat "$snapshot_file" 2>/dev/null)}, while the next one loads"
else
	# A banner would name a snapshot the database does not hold.
	rm -f "$snapshot_file"
	write_status restoring starting
	log "the database holds no snapshot: the app has nothing to serve until the restore ends;" \
		"the status file ($status_file) says how far it has come"
fi

account
restore_loop &
restore_pid=$!
"$@" &
app_pid=$!
log "started the restore (pid $restore_pid) and the app (pid $app_pid): $*"

while :; do
	ended=
	rc=0
	wait -n -p ended "$server_pid" "$app_pid" ${restore_pid:+"$restore_pid"} || rc=$?
	[[ -n $stopping ]] && continue
	case $ended in
	"$restore_pid") restore_pid= ;;
	"$app_pid")
		app_pid=
		log "the app ended (status $rc); stopping"
		stop_all "$((rc == 0 ? 1 : rc))"
		;;
	"$server_pid")
		server_pid=
		log "the database server ended (status $rc); stopping"
		stop_all 1
		;;
	esac
done

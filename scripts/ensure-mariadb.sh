#!/usr/bin/env bash
# Installs Debian's MariaDB server and client when they are missing.
set -euo pipefail
if command -v mariadbd >/dev/null 2>&1 || [[ -x /usr/sbin/mariadbd ]]; then
	if command -v mariadb-dump >/dev/null 2>&1 && command -v mariadb >/dev/null 2>&1; then
		exit 0
	fi
fi
sudo=
if [[ $(id -u) -ne 0 ]]; then sudo=sudo; fi
echo "installing mariadb-server and mariadb-client" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq mariadb-server mariadb-client >/dev/null

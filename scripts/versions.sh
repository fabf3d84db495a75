#!/usr/bin/env bash
# Fetches the server and client versions that production runs, from Debian's
# package registry, into a cache folder, without installing anything into
# the system: the .deb files of a product and of the libraries of its own
# release are unpacked into one folder, and each program runs through that
# release's dynamic loader with that release's libraries.
#
#   scripts/versions.sh PRODUCT      fetch when missing, print the product's folder
#   scripts/versions.sh list         the products this script knows
#
# PRODUCT is one of:
#   mariadb-11.8   Debian 13 (trixie): mariadb-dump, mariadb and mariadbd 11.8,
#                  what the app image's default-mysql-client and the yesterday
#                  image's default-mysql-server hold
#   mysql-9.7      Debian sid: Oracle's mysqld, mysql and mysqldump 9.x, the
#                  MySQL nearest to production's 8.0 that Debian serves
#
# The folder printed holds bin/ (mariadb-dump, mysqldump, mysql, ...) and
# sbin/ (mariadbd or mysqld) wrappers, VERSION (the package version) and
# root/ (the unpacked files). The cache is $BACKUPD_VERSIONS_CACHE, else
# $XDG_CACHE_HOME/backupd/versions, else ~/.cache/backupd/versions; a fetch
# takes 10-30 s and about 150 MB, later calls return at once. Concurrent
# calls wait for each other. Exit status 4 means the registry serves no
# such package (sid stopped serving MySQL, say): the message says so.
set -euo pipefail

product=${1:-}
case $product in
mariadb-11.8)
	suite=trixie
	packages=(mariadb-server-core mariadb-client-core mariadb-client)
	want='^1:11\.8\.'
	;;
mysql-9.7)
	suite=sid
	packages=(mysql-server-core mysql-client-core)
	want='^9\.'
	;;
list)
	echo mariadb-11.8
	echo mysql-9.7
	exit 0
	;;
*)
	echo "usage: $0 mariadb-11.8|mysql-9.7|list" >&2
	exit 2
	;;
esac

cache=${BACKUPD_VERSIONS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/backupd/versions}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
dest=$cache/$product

exec 9>"$cache/.$product.lock"
flock 9
if [[ -f $dest/.ready ]]; then
	echo "$dest"
	exit 0
fi

apt=$cache/apt-$suite
mkdir -p "$apt/lists/partial" "$apt/archives/partial"
: >"$apt/status"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$apt/sources.list"
aptopts=(
	-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o "Dir::State::Lists=$apt/lists" -o "Dir::State::status=$apt/status"
	-o "Dir::Cache=$apt" -o "Dir::Cache::archives=$apt/archives"
	-o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)"
	-o APT::Install-Recommends=false -o APT::Get::Assume-Yes=true -qq
)
echo "fetching $product (${packages[*]}) from Debian $suite into $dest" >&2
apt-get "${aptopts[@]}" update >&2
version=$(apt-cache "${aptopts[@]}" show --no-all-versions "${packages[0]}" 2>/dev/null | sed -n 's/^Version: //p' | head -1)
if [[ -z $version ]]; then
	echo "Debian $suite serves no ${packages[0]}: $product cannot be fetched" >&2
	exit 4
fi
if ! [[ $version =~ $want ]]; then
	echo "Debian $suite serves ${packages[0]} $version, not $product: $product cannot be fetched" >&2
	exit 4
fi
rm -f "$apt/archives/"*.deb
# With an empty package status, apt takes every dependency down to libc:
# the whole closure of the release's own libraries.
apt-get "${aptopts[@]}" install --download-only "${packages[@]}" >&2

rm -rf "$dest.new"
mkdir -p "$dest.new/root" "$dest.new/bin" "$dest.new/sbin"
for deb in "$apt/archives/"*.deb; do
	dpkg-deb -x "$deb" "$dest.new/root"
done
root=$dest/root
libdir=$root/usr/lib/x86_64-linux-gnu
# wrap NAME PATH DIR: DIR/NAME runs PATH (inside root/) with root/'s loader
# and libraries, its argv[0] the wrapper's own name.
wrap() {
	local name=$1 path=$2 dir=$3
	[[ -e $dest.new/root$path ]] || return 0
	cat >"$dest.new/$dir/$name" <<EOF
#!/bin/sh
exec "$libdir/ld-linux-x86-64.so.2" --library-path "$libdir:$root/lib/x86_64-linux-gnu" --argv0 "\$0" "$root$path" "\$@"
EOF
	chmod 755 "$dest.new/$dir/$name"
}
for f in "$dest.new/root/usr/bin/"*; do
	name=${f##*/}
	if [[ -L $f ]]; then
		target=$(readlink "$f")
		f=$dest.new/root/usr/bin/${target##*/}
	fi
	[[ -f $f ]] || continue
	case $name in mariadb* | mysql* | my_print_defaults | resolveip) ;; *) continue ;; esac
	if head -c 4 "$f" | grep -q 'ELF'; then
		wrap "$name" "/usr/bin/${f##*/}" bin
	fi
done
for n in mariadbd mysqld; do
	wrap "$n" "/usr/sbin/$n" sbin
done
case $product in
mariadb-*)
	# mariadb-install-db --basedir=DIR looks for bin/my_print_defaults,
	# sbin/mariadbd, share/mariadb and lib/mysql/plugin under DIR.
	ln -s root/usr/share "$dest.new/share"
	ln -s root/usr/lib "$dest.new/lib"
	install -m 755 "$dest.new/root/usr/bin/mariadb-install-db" "$dest.new/bin/mariadb-install-db"
	;;
esac
echo "$version" >"$dest.new/VERSION"
rm -rf "$dest"
mv "$dest.new" "$dest"
for n in mariadbd mysqld; do
	if [[ -x $dest/sbin/$n ]]; then
		"$dest/sbin/$n" --version >&2
	fi
done
touch "$dest/.ready"
echo "$dest"

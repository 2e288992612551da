#!/bin/bash
# harness/deps.sh - install the Debian packages a dunebench job needs.
#
# usage: harness/deps.sh [--check] GROUP... [-- EXTRA-PACKAGE...]
#
# Each GROUP names a list in harness/deps/GROUP.txt (one package a line,
# '#' comments).  Packages already installed are skipped; apt-get runs only
# when something is missing.  With --check nothing is installed: the missing
# packages are printed and the exit status is 1 if any.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
check_only=0
groups=()
extra=()
while [ $# -gt 0 ]; do
	case "$1" in
	--check) check_only=1 ;;
	-h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	--) shift; extra+=("$@"); break ;;
	*) groups+=("$1") ;;
	esac
	shift
done

want=()
for g in "${groups[@]}"; do
	f=$here/deps/$g.txt
	[ -f "$f" ] || { echo "deps: no package list $f (groups: $(cd "$here/deps" && ls | sed 's/\.txt$//' | tr '\n' ' '))" >&2; exit 2; }
	while read -r p _; do
		case "$p" in ''|'#'*) continue ;; esac
		want+=("$p")
	done < "$f"
done
want+=("${extra[@]}")

missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
# de-duplicate
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')

if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ $check_only = 1 ]; then
	echo "deps: missing: ${missing[*]}"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: these Debian packages are needed and missing: ${missing[*]}" >&2
	echo "deps: run 'sudo make deps' (or: sudo apt-get install --no-install-recommends ${missing[*]})" >&2
	exit 1
fi
# One installer at a time (labs run in parallel); re-check under the lock.
exec 9>/var/lock/dunebench-deps.lock
flock 9
still=()
for p in "${missing[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || still+=("$p")
done
[ ${#still[@]} -eq 0 ] && exit 0
missing=("${still[@]}")
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
stamp=/var/lib/apt/periodic/dunebench-update-stamp
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ] || ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
	echo "deps: apt-get update"
	apt-get update -q >/dev/null || { echo "deps: apt-get update failed" >&2; exit 1; }
	mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/dunebench-apt.log 2>&1; then
	tail -20 /tmp/dunebench-apt.log >&2
	echo "deps: apt-get install failed (log: /tmp/dunebench-apt.log)" >&2
	exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"

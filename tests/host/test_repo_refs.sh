#!/bin/bash
# SPDX-License-Identifier: MIT
# test_repo_refs.sh - committed files refer only to what the repository
# holds: no documents kept beside a checkout instead of in it (docs/ has the
# project's), no directory of the machine a file was made on.  Prints TAP 13.
#
# A tracked file fails when a line of it
#   - points at a "shared" directory beside the checkout (dot-dot-slash shared);
#   - names a developer document that is not in the repository (the ABI
#     notes, the design, the paper numbers, the workloads or style notes:
#     their content is in docs/);
#   - holds the absolute path of this checkout or of a directory above it
#     (except "/" and the standard top-level directories such as /tmp or
#     /home themselves);
#   - holds an absolute path into some checkout's build/, harness/, micro/,
#     ... tree (a results file that recorded where it was made, say).
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/harness/tap-check.sh"

UP='\.\.'			# two dots, spelled so this file does not match itself
DEV_DOCS=(dune-abi paper-numbers workloads DESIGN STYLE)
TREE='(build|harness|ref-lib|ref-module|micro|plots|results|conformance)'
FHS_TOP=' /bin /boot /dev /etc /home /lib /lib64 /media /mnt /opt /proc /root /run /sbin /srv /sys /tmp /usr /var '

# scan DIR: print the tracked lines of the git work tree DIR that refer
# outside it; exit status 1 if there is any, 0 if none.
scan() {
	local dir=$1 d n hits=0 out
	local -a pats=(-e "$UP/shared")

	for n in "${DEV_DOCS[@]}"; do
		# a document of that name committed in the tree may be named
		git -C "$dir" ls-files | grep -q "\(^\|/\)$n\.md$" || pats+=(-e "(^|[^[:alnum:]_-])$n\\.md")
	done
	pats+=(-e "(^|[^[:alnum:]._/~\$-])(/[[:alnum:]._+-]+)+/$TREE/[[:alnum:]._-]")
	out=$(git -C "$dir" grep -I -n -E "${pats[@]}" 2>/dev/null) && { printf '%s\n' "$out"; hits=1; }
	d=$(cd "$dir" && pwd -P)
	while [ "$d" != / ] && [[ "$FHS_TOP" != *" $d "* ]]; do
		out=$(git -C "$dir" grep -I -n -F -e "$d/" 2>/dev/null) && { printf '%s\n' "$out"; hits=1; }
		d=$(dirname "$d")
	done
	return "$hits"
}

# a fixture work tree with one file holding $1
fixture() {
	rm -rf "$T/repo" && mkdir -p "$T/repo" && git -C "$T/repo" init -q &&
		printf '%s\n' "$1" > "$T/repo/file.txt" && git -C "$T/repo" add file.txt
}
finds() { fixture "$1" && ! scan "$T/repo"; }
clean() { fixture "$1" && scan "$T/repo"; }
committed_doc() {
	local name="DESIGN"".md"
	fixture "see $name" && mkdir -p "$T/repo/d" && : > "$T/repo/d/$name" &&
		git -C "$T/repo" add d && scan "$T/repo"
}

up='..' b=build
echo "TAP version 13"
echo "1..8"
check "a reference to a shared directory beside the checkout is found" \
	finds "the ABI: see $up/shared/abi-notes.txt, section 4"
check "a developer document that is not in the repository is found" \
	finds "as the design (DESIGN"".md, Two backends) says"
check "the checkout's parent directory is found" \
	finds "\"command\": [\"$T/repo/$b/bin/dunebench-bench\"]"
check "an absolute path into another checkout's tree is found" \
	finds "\"path\": \"/srv/ci/dunebench/$b/bin/dunebench\""
check "repository-relative paths, system paths and docs/ pass" \
	clean "see docs/abi.md section 4, build/bin/dunebench, /usr/include/linux/kvm.h, /lib/modules/6.1.0-57-cloud-amd64/build, lib/modules/6.1/$b/Makefile, \$TOP/$b/bin, https://x.invalid/results/a.json, ../../include"
check "a committed document of a developer document's name may be named" committed_doc
if ! command -v git >/dev/null; then
	echo "ok 7 - this repository: committed files refer only to it # SKIP git is not installed"
	echo "ok 8 - this checkout is where the scan looked # SKIP git is not installed"
elif [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" != "$(cd "$TOP" && pwd -P)" ] &&
     [ "$(git -C "$TOP" rev-parse --show-toplevel 2>/dev/null)" != "$TOP" ]; then
	echo "ok 7 - this repository: committed files refer only to it # SKIP $TOP is not a git checkout (an export has no list of committed files)"
	echo "ok 8 - this checkout is where the scan looked # SKIP not a git checkout"
else
	check "this repository: committed files refer only to it" scan "$TOP"
	check "this checkout is where the scan looked (it has committed files)" \
		test -n "$(git -C "$TOP" ls-files tests/host/test_repo_refs.sh)"
fi
exit $failed

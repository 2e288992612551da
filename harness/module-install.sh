#!/bin/bash
# SPDX-License-Identifier: MIT
#
# module-install.sh - install dune.ko like other out-of-tree modules.
#
# usage: harness/module-install.sh [options]
#
#   (default)        DKMS: stage /usr/src/dune-<version>/ (module sources,
#                    dkms.conf, include/dune/abi.h), `dkms add`, `dkms build`
#                    and `dkms install` for the running kernel, so that the
#                    module is rebuilt for every kernel installed later; then
#                    the udev rule and the "dune" group (below).
#   --no-dkms        build for the running kernel (harness/build-module.sh,
#                    W=1) and copy dune.ko to /lib/modules/<kernel>/updates/,
#                    then depmod; then the udev rule and group.
#   --kernel VER     kernel release to build for (default: uname -r)
#   --kdir DIR       its headers (default: /lib/modules/VER/build)
#   --lab-kernel     build for the VMX lab's kernel (Debian's current
#                    linux-image-cloud-amd64; KABI= overrides), installing
#                    its headers if missing (with --test: make check)
#   --no-udev        skip the udev rule and the group
#   --uninstall      dkms remove (all kernels), delete the staged sources,
#                    the copied module and the udev rule
#   --test DIR       check the DKMS packaging without touching the system:
#                    stage and `dkms add/build` into private trees under DIR
#                    (--dkmstree/--sourcetree/--installtree), for --kernel /
#                    --kdir (make check uses the VMX lab kernel's headers),
#                    and check the built module's vermagic.  Prints TAP.
#   -h, --help       this text
#
# udev: ref-module/99-dune.rules gives /dev/dune to group "dune", mode
# 0660 (the module's own default is 0600, root only); add users with
# `adduser <user> dune`.  The module parameter mode= sets the node's mode
# where udev does not run.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
NAME=dune
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$TOP/ref-module/dkms.conf")
KVER=$(uname -r)
KDIR=
MODE=dkms
UDEV=1
TESTDIR=
RULES=/etc/udev/rules.d/99-dune.rules

die() { echo "module-install: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--no-dkms) MODE=plain ;;
	--kernel) KVER=$2; shift ;;
	--kdir) KDIR=$2; shift ;;
	--lab-kernel)
		kabi=${KABI:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)}
		[ -n "$kabi" ] || die "cannot find the lab kernel ABI ('apt-cache depends linux-image-cloud-amd64' names none; apt-get update, or KABI=6.1.0-NN)"
		KVER=$kabi-cloud-amd64
		KDIR=/usr/src/linux-headers-$KVER
		[ -f "$KDIR/Makefile" ] || "$TOP/harness/deps.sh" -- "linux-headers-$KVER" >&2 ;;
	--no-udev) UDEV=0 ;;
	--uninstall) MODE=uninstall ;;
	--test) MODE=test; TESTDIR=$2; shift ;;
	-h|--help) sed -n '4,34p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "module-install: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -n "$VERSION" ] || die "no PACKAGE_VERSION in ref-module/dkms.conf"
KDIR=${KDIR:-/lib/modules/$KVER/build}

# stage ROOT: ROOT/dune-VERSION/ is a self-contained module source tree
stage() {
	local d=$1/$NAME-$VERSION
	rm -rf "$d" && mkdir -p "$d/include/dune"
	cp -a "$TOP/ref-module/Kbuild" "$TOP/ref-module/dkms.conf" "$d/"
	find "$TOP/ref-module" -maxdepth 1 -name '*.[chS]' ! -name '*.mod.c' -exec cp -a {} "$d/" \;
	cp -a "$TOP/include/dune/abi.h" "$d/include/dune/"
	echo "$d"
}

need_root() {
	[ "$(id -u)" = 0 ] || die "$1 needs root: sudo make module-install"
}

install_udev() {
	[ "$UDEV" = 1 ] || return 0
	getent group dune >/dev/null || groupadd --system dune
	install -D -m 0644 "$TOP/ref-module/99-dune.rules" "$RULES"
	if command -v udevadm >/dev/null && [ -d /run/udev ]; then
		udevadm control --reload || true
		[ -e /dev/dune ] && udevadm trigger --name-match=dune || true
	fi
	echo "module-install: $RULES: /dev/dune is group 'dune', mode 0660 (adduser <user> dune)"
}

case $MODE in
test)
	command -v dkms >/dev/null || die "dkms is not installed (apt-get install dkms)"
	[ -f "$KDIR/Makefile" ] || die "$KDIR is not a kernel build directory"
	mkdir -p "$TESTDIR"
	TESTDIR=$(cd "$TESTDIR" && pwd)
	rm -rf "$TESTDIR/src" "$TESTDIR/tree" "$TESTDIR/install"
	mkdir -p "$TESTDIR/src" "$TESTDIR/tree" "$TESTDIR/install"
	stage "$TESTDIR/src" >/dev/null
	opts=(--dkmstree "$TESTDIR/tree" --sourcetree "$TESTDIR/src" --installtree "$TESTDIR/install")
	n=0 fail=0
	tap() {	# tap OK|FAIL id detail
		n=$((n + 1))
		if [ "$1" = OK ]; then echo "ok $n - $2"; else fail=1; echo "not ok $n - $2 # $3"; fi
	}
	echo "1..3"
	if out=$(dkms add -m $NAME -v "$VERSION" "${opts[@]}" 2>&1); then
		tap OK dkms.add
	else
		tap FAIL dkms.add "$(echo "$out" | tail -3 | tr '\n' ' ')"
	fi
	if out=$(dkms build -m $NAME -v "$VERSION" -k "$KVER" --kernelsourcedir "$KDIR" "${opts[@]}" 2>&1); then
		tap OK dkms.build
	else
		log=$(find "$TESTDIR/tree" -name make.log | head -1)
		tap FAIL dkms.build "$(echo "$out" | tail -3 | tr '\n' ' ') $( [ -n "$log" ] && tail -5 "$log" | tr '\n' ' ')"
	fi
	ko=$(find "$TESTDIR/tree/$NAME/$VERSION/$KVER" -name "$NAME.ko*" 2>/dev/null | head -1)
	vm=$( [ -n "$ko" ] && modinfo -F vermagic "$ko" 2>/dev/null | awk '{print $1}')
	if [ -n "$ko" ] && [ "$vm" = "$KVER" ]; then
		tap OK dkms.module_vermagic
	else
		tap FAIL dkms.module_vermagic "expected a built $NAME.ko for $KVER, got '${ko:-none}' (vermagic '${vm:-?}')"
	fi
	exit $fail
	;;
uninstall)
	need_root "uninstalling"
	if command -v dkms >/dev/null && dkms status -m $NAME 2>/dev/null | grep -q .; then
		dkms remove -m $NAME -v "$VERSION" --all || true
	fi
	rm -rf "/usr/src/$NAME-$VERSION"
	find /lib/modules -path '*/updates/dune.ko*' -delete 2>/dev/null || true
	depmod "$KVER" 2>/dev/null || true
	rm -f "$RULES"
	echo "module-install: removed dune $VERSION (the group 'dune' is kept)"
	;;
dkms)
	need_root "installing"
	command -v dkms >/dev/null || die "dkms is not installed: apt-get install dkms (or use --no-dkms)"
	[ -f "$KDIR/Makefile" ] || die "no headers for kernel $KVER at $KDIR: apt-get install linux-headers-$KVER"
	if dkms status -m $NAME -v "$VERSION" 2>/dev/null | grep -q .; then
		echo "module-install: replacing the installed dune $VERSION"
		dkms remove -m $NAME -v "$VERSION" --all
	fi
	src=$(stage /usr/src)
	echo "module-install: sources in $src"
	dkms add -m $NAME -v "$VERSION"
	dkms build -m $NAME -v "$VERSION" -k "$KVER" --kernelsourcedir "$KDIR"
	dkms install -m $NAME -v "$VERSION" -k "$KVER"
	install_udev
	echo "module-install: done; load it with: modprobe dune"
	;;
plain)
	need_root "installing"
	out=$(mktemp -d)
	"$TOP/harness/build-module.sh" --kdir "$KDIR" --out "$out"
	install -D -m 0644 "$out/dune.ko" "/lib/modules/$KVER/updates/dune.ko"
	depmod "$KVER"
	rm -rf "$out"
	install_udev
	echo "module-install: /lib/modules/$KVER/updates/dune.ko; load it with: modprobe dune"
	;;
esac

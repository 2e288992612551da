#!/bin/bash
# SPDX-License-Identifier: MIT
#
# build-module.sh - build ref-module/dune.ko out of tree, warning-free (W=1).
#
# usage: harness/build-module.sh [--kdir DIR] [--out DIR] [--coverage]
#
#   --kdir DIR   kernel build directory (headers).  Default: the running
#                kernel's (/lib/modules/$(uname -r)/build) when installed,
#                else the VMX lab's kernel headers (installed if missing).
#   --out DIR    where to build (default build/module); dune.ko lands there.
#   --coverage   the coverage build (Kbuild DUNE_COVERAGE=1; make coverage)
#
# The sources are copied to DIR so builds for different kernels never share
# objects and the source tree stays clean.  Any compiler warning fails.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
KDIR=
OUT=$TOP/build/module
COVERAGE=
while [ $# -gt 0 ]; do
	case "$1" in
	--kdir) KDIR=$2; shift ;;
	--out) OUT=$2; shift ;;
	--coverage) COVERAGE=1 ;;
	-h|--help) sed -n '4,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "build-module: unknown option '$1'" >&2; exit 2 ;;
	esac
	shift
done
if [ -z "$KDIR" ]; then
	if [ -d "/lib/modules/$(uname -r)/build" ]; then
		KDIR=/lib/modules/$(uname -r)/build
	else
		kabi=${KABI:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
			sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)}
		[ -n "$kabi" ] || { echo "build-module: no headers for $(uname -r) and cannot find the lab kernel ABI (apt-get update?)" >&2; exit 2; }
		KDIR=/usr/src/linux-headers-$kabi-cloud-amd64
		echo "build-module: no headers for the running kernel $(uname -r): building for the VMX lab kernel $kabi-cloud-amd64" >&2
		"$TOP/harness/deps.sh" -- "linux-headers-$kabi-cloud-amd64" >&2
	fi
fi
[ -f "$KDIR/Makefile" ] || { echo "build-module: $KDIR is not a kernel build directory (install linux-headers-$(uname -r)?)" >&2; exit 2; }
OUT=$(realpath -m "$OUT")
rm -rf "$OUT" && mkdir -p "$OUT"
cp -a "$TOP/ref-module/Kbuild" "$OUT/"
find "$TOP/ref-module" -maxdepth 1 -name '*.[chS]' ! -name '*.mod.c' -exec cp -a {} "$OUT/" \;
if ! make -C "$KDIR" M="$OUT" DUNE_INCLUDE="$TOP/include" ${COVERAGE:+DUNE_COVERAGE=1} W=1 modules >"$OUT/build.log" 2>&1; then
	cat "$OUT/build.log" >&2
	echo "build-module: build failed against $KDIR" >&2
	exit 1
fi
if grep -q 'warning:' "$OUT/build.log"; then
	grep -B2 -A3 'warning:' "$OUT/build.log" >&2
	echo "build-module: warnings with W=1 (treated as errors)" >&2
	exit 1
fi
echo "build-module: $OUT/dune.ko ($(modinfo -F vermagic "$OUT/dune.ko" 2>/dev/null || basename "$KDIR"))"

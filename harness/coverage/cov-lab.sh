#!/bin/sh
# SPDX-License-Identifier: MIT
# cov-lab.sh load|dump NAME - the guest side of `make coverage` (busybox sh
# in the VMX lab).  Prints TAP.
#
#   load       insmod the coverage build of dune.ko (/mod/dune.ko) as the
#              lab tests do, so that the tests after it find it loaded and
#              leave it loaded (its PC set lives in the module)
#   dump NAME  print the module's section addresses and the PCs reached
#              since the last dump as "@@COV NAME sect SECTION ADDRESS" and
#              "@@COV NAME pc ADDRESS" lines (the host collects them from the
#              serial console, harness/coverage/covreport.py), then reset
MOD=${DUNE_KO:-/mod/dune.ko}
PARAMS=${DUNE_PARAMS-guest_slice_us=200}
COV=/sys/kernel/debug/dune_coverage

case "$1" in
load)
	echo "1..2"
	out=$(insmod "$MOD" $PARAMS 2>&1)
	if grep -qw '^dune' /proc/modules; then echo "ok 1 - insmod $MOD"; else echo "not ok 1 - insmod $MOD # $out"; fi
	[ -c /dev/dune ] || mknod /dev/dune c 10 233 2>/dev/null
	grep -qw debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug
	if [ -w "$COV/pcs" ]; then
		echo "ok 2 - $COV/pcs: a coverage build"
	else
		echo "not ok 2 - $COV/pcs # missing: not a coverage build of dune.ko (Kbuild DUNE_COVERAGE=1)"
	fi
	;;
dump)
	name=$2
	[ -n "$name" ] || { echo "Bail out! cov-lab.sh dump NAME"; exit 1; }
	echo "1..2"
	for s in /sys/module/dune/sections/.*text*; do
		[ -f "$s" ] && echo "@@COV $name sect ${s##*/} $(cat "$s")"
	done
	cat "$COV/pcs" > /tmp/cov-pcs || { echo "not ok 1 - read $COV/pcs"; exit 1; }
	echo 1 > "$COV/pcs"
	lost=$(cat "$COV/lost")
	npcs=$(wc -l < /tmp/cov-pcs)
	sed "s/^/@@COV $name pc /" /tmp/cov-pcs
	echo "@@COV $name end $npcs"
	if [ "$npcs" -gt 0 ]; then echo "ok 1 - $name: $npcs PCs"; else echo "not ok 1 - $name: no PC recorded"; fi
	if [ "$lost" = 0 ]; then echo "ok 2 - $name: no PC lost"; else echo "not ok 2 - $name: $lost PCs lost (set full)"; fi
	;;
*)
	echo "Bail out! cov-lab.sh: load or dump NAME, not '$1'"
	exit 1
	;;
esac

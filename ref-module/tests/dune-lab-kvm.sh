#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dune-lab-kvm.sh - run dune_kvm_coexist with kvm_intel loaded (loads it
# from /mod if needed, unloads what it loaded).  Prints TAP.
loaded=
if ! grep -q '^kvm_intel ' /proc/modules; then
	for m in irqbypass kvm kvm-intel; do
		grep -q "^$(echo $m | tr - _) " /proc/modules && continue
		insmod /mod/$m.ko 2>/dev/null && loaded="$m $loaded"
	done
fi
[ -c /dev/kvm ] || mknod /dev/kvm c 10 232 2>/dev/null
dune_kvm_coexist
rc=$?
for m in $loaded; do rmmod $m 2>/dev/null; done
exit $rc

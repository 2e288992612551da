#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# dune-lab-module.sh load|debugfs|unload|cycle|refuse - module life-cycle checks for the
# VMX lab (busybox sh).  Prints TAP.
MOD=${DUNE_KO:-/mod/dune.ko}
# Bochs does not turn external interrupts into VM exits while the guest
# runs with RFLAGS.IF = 0; a short VMX-preemption timer slice keeps such
# guests interruptible in the lab (see guest_slice_us in vmx.c).
PARAMS=${DUNE_PARAMS-guest_slice_us=200}
DBG=/sys/kernel/debug/dune

n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fail=1; echo "not ok $n - $1 # $2"; }
check() { id=$1; why=$2; shift 2; if "$@"; then ok "$id"; else notok "$id" "$why"; fi; }
# The kernel log since the module was first loaded (a marker written into it
# then): a warning of the boot itself, such as a hung-task report while a slow
# emulated CPU unpacks a large initramfs, is not the module's (the lab's host
# check lab.host.kernel_clean judges the whole boot).  Without the marker
# (the log wrapped), the whole log.
MARK="dune-lab-module: loading the module"
mark() { echo "$MARK" > /dev/kmsg 2>/dev/null; }
module_log() {
	if dmesg | grep -qF "$MARK"; then dmesg | sed -n "/$MARK/,\$p"; else dmesg; fi
}
quiet() { ! module_log | grep -qE "WARNING:|BUG:|Oops|Call Trace"; }
export MARK

case "$1" in
load)
	echo "1..3"
	mark
	out=$(insmod "$MOD" $PARAMS 2>&1)
	check module.load "expected insmod $MOD to succeed, got: $out" \
		grep -qw '^dune' /proc/modules
	# devtmpfs creates the node; without it, make one
	[ -c /dev/dune ] || mknod /dev/dune c 10 233 2>/dev/null
	check module.load.devnode "expected /dev/dune, got: $(ls -l /dev/dune 2>&1)" \
		test -c /dev/dune
	dmesg | grep -E 'dune: ' | sed 's/^/# /'
	check module.load.quiet "expected no WARN/BUG/Oops in dmesg" \
		quiet
	;;
debugfs)
	echo "1..5"
	grep -qw debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug
	check module.debugfs.dir "expected $DBG/" test -d "$DBG"
	missing=
	for f in vcpus_live vcpus_created exits caps; do
		[ -r "$DBG/$f" ] || missing="$missing $f"
	done
	check module.debugfs.files "expected readable files, missing:$missing" \
		test -z "$missing"
	check module.debugfs.caps "expected 'ept 1' and 'vpid 1' in caps, got: $(tr '\n' ' ' < $DBG/caps)" \
		sh -c "grep -qx 'ept 1' $DBG/caps && grep -qx 'vpid 1' $DBG/caps"
	live=$(cat $DBG/vcpus_live 2>/dev/null)
	check module.debugfs.no_live_vcpus "expected 0 live vCPUs after tests, got '$live'" \
		test "$live" = 0
	left=$(ls "$DBG/vcpus" 2>&1)
	check module.debugfs.no_vcpu_dirs "expected $DBG/vcpus/ to exist and be empty after tests, got: $left" \
		sh -c "test -d $DBG/vcpus && test -z \"\$(ls $DBG/vcpus)\""
	sed 's/^/# caps: /' "$DBG/caps"
	sed 's/^/# exits: /' "$DBG/exits"
	for f in vcpus_created vcpu_migrations ept_faults ept_maps_4k ept_maps_2m ept_zaps; do
		echo "# $f: $(cat $DBG/$f)"
	done
	;;
cycle)	# load/unload 10 times; rmmod is refused while /dev/dune is open
	echo "1..3"
	bad=
	i=0
	while [ $i -lt 10 ]; do
		i=$((i + 1))
		out=$(insmod "$MOD" $PARAMS 2>&1) || { bad="insmod #$i: $out"; break; }
		[ -c /dev/dune ] || mknod /dev/dune c 10 233 2>/dev/null
		( exec 3<>/dev/dune ) 2>/dev/null || { bad="open /dev/dune after insmod #$i failed"; break; }
		out=$(rmmod dune 2>&1) || { bad="rmmod #$i: $out"; break; }
	done
	check module.cycle.load_unload_10 "$bad" test -z "$bad"
	insmod "$MOD" $PARAMS
	[ -c /dev/dune ] || mknod /dev/dune c 10 233 2>/dev/null
	exec 3<>/dev/dune
	out=$(rmmod dune 2>&1)
	rc=$?
	exec 3>&-
	export rc out
	check module.cycle.rmmod_in_use_refused "expected rmmod to fail while /dev/dune is open, got rc=$rc: $out" \
		sh -c '[ "$rc" != 0 ] && grep -qw "^dune" /proc/modules'
	out=$(rmmod dune 2>&1)
	check module.cycle.rmmod_after_close "expected rmmod to succeed once closed, got: $out" \
		sh -c '! grep -qw "^dune" /proc/modules'
	;;
refuse)	# on a CPU without VMX (AMD boot): load must fail cleanly
	echo "1..3"
	mark
	out=$(insmod "$MOD" 2>&1)
	rc=$?
	export rc out
	check module.refuse.fails "expected insmod to fail with 'Operation not supported', got rc=$rc: $out" \
		sh -c '[ "$rc" != 0 ] && echo "$out" | grep -q "not supported"'
	check module.refuse.message "expected a 'dune: ' line saying what is missing in dmesg" \
		sh -c 'dmesg | grep -q "dune: CPU has no VMX"'
	dmesg | grep 'dune: ' | sed 's/^/# /'
	check module.refuse.quiet "expected no WARN/BUG/Oops in dmesg" \
		quiet
	;;
unload)
	echo "1..2"
	out=$(rmmod dune 2>&1)
	check module.unload "expected rmmod dune to succeed, got: $out" \
		sh -c '! grep -qw "^dune" /proc/modules'
	check module.unload.quiet "expected no WARN/BUG/Oops in dmesg" \
		quiet
	;;
*)
	echo "usage: $0 load|debugfs|unload|cycle|refuse" >&2
	exit 2
	;;
esac
exit $fail

#!/bin/sh
# SPDX-License-Identifier: MIT
# lab-conform.sh BACKEND [dune-conform args...] - run the conformance suite
# inside the VMX lab guest (busybox sh) on one backend, loading what that
# backend needs first and unloading it after.  Prints the runner's TAP.
#
#   vmx: insmod /mod/dune.ko (ours, or the one `make lab-conformance
#        MODULE=...` put there); departures: /lab/departures/<impl>-vmx.txt
#   kvm: insmod irqbypass, kvm, kvm-intel or kvm-amd (by CPU vendor);
#        departures: <impl>-kvm.txt, plus <impl>-kvm-amdlab.txt on AMD
#
# Environment: DUNE_KO (module to load for vmx, default /mod/dune.ko),
# LAB_KVM_INTEL_ARGS (module parameters for kvm-intel when this script
# loads it, e.g. enable_apicv=0 to run KVM's local APIC without APICv),
# DUNE_CONFORM (runner binary, default dune-conform), DUNE_CONFORM_IMPL
# (name of the departures file, default dunebench), LAB_CONFORM_SAVE (also
# write the report to this file), LAB_SKIP_FILE (set by the lab's /init
# when it resumes this test in a fresh boot after a hang or a kernel oops:
# the IDs already run, one a line, which the runner leaves out),
# LAB_CONFORM_ARGS (default /lab/conform-args: more runner arguments, one a
# line, from `dunebench conform --lab -d/-x/-t`), LAB_CONFORM_IMPL_FILE
# (default /lab/conform-impl: the departures name when DUNE_CONFORM_IMPL is
# not set; `dunebench conform --lab` writes "user" there when it tests
# another implementation or is given -d: then only its -d files count).
# LAB_CONFORM_KEEP=1 leaves the modules this run loaded in place for the
# next lab-conform.sh run of the same boot, which takes them over (and
# unloads them, unless it is given LAB_CONFORM_KEEP=1 too): two list
# entries on one backend pay for one module load and unload (they keep the
# first one's module parameters).
# LAB_RCU_EXPEDITED=1 makes the guest kernel's RCU grace periods expedited
# (/sys/kernel/rcu_expedited) while the suite runs, and restores the
# setting after: see conformance.kvm_smp in conformance/lab-tests.list.
# The runner announces each test ("# begin ID") and its TAP lines reach the
# serial console as each test ends: the lab sees which test was running.
# The destructive tests run too (--allow-destructive).
# The fuzz tests take DUNE_FUZZ_SEED and DUNE_FUZZ_SCALE from the environment
# (harness/lab/lab.sh --seed and --fuzz-scale put them there); without a
# seed, the runner's built-in list (conformance/fuzz-seeds.list).
backend=$1
shift
kept=/tmp/lab-conform-kept
impl=${DUNE_CONFORM_IMPL:-}
implfile=${LAB_CONFORM_IMPL_FILE:-/lab/conform-impl}
[ -z "$impl" ] && [ -f "$implfile" ] && impl=$(cat "$implfile")
[ -n "$impl" ] || impl=dunebench
ko=${DUNE_KO:-/mod/dune.ko}
conform=${DUNE_CONFORM:-dune-conform}
loaded=
# modules a previous run of this boot left loaded for us (LAB_CONFORM_KEEP)
if [ -f "$kept" ]; then
	for m in $(cat "$kept"); do
		grep -qw "^$m" /proc/modules && loaded="$loaded $m"
	done
	rm -f "$kept"
fi
case "$backend" in
vmx)
	if ! grep -qw '^dune' /proc/modules; then
		insmod "$ko" guest_slice_us=200 || { echo "Bail out! insmod $ko failed"; exit 1; }
		loaded="dune"
	fi
	[ -c /dev/dune ] || mknod /dev/dune c 10 233
	;;
kvm)
	vendor=intel
	grep -qw svm /proc/cpuinfo && vendor=amd
	for m in irqbypass kvm kvm-$vendor; do
		name=$(echo $m | tr - _)
		grep -qw "^$name" /proc/modules && continue
		args=
		[ "$m" = kvm-intel ] && args=${LAB_KVM_INTEL_ARGS:-}
		insmod /mod/$m.ko $args || { echo "Bail out! insmod /mod/$m.ko failed"; exit 1; }
		loaded="$name $loaded"
	done
	;;
*)
	echo "Bail out! lab-conform.sh: backend must be vmx or kvm, not '$backend'"
	exit 1
	;;
esac
rcu_old=
if [ "${LAB_RCU_EXPEDITED:-}" = 1 ] && [ -w /sys/kernel/rcu_expedited ]; then
	rcu_old=$(cat /sys/kernel/rcu_expedited)
	echo 1 > /sys/kernel/rcu_expedited
	echo "# RCU grace periods expedited for this run (/sys/kernel/rcu_expedited was $rcu_old)"
fi
dep=
[ -f "/lab/departures/$impl-$backend.txt" ] && dep="-d /lab/departures/$impl-$backend.txt"
# departures seen on the AMD lab boot only (kvm over kvm_amd)
[ "$backend" = kvm ] && [ "$vendor" = amd ] && [ -f "/lab/departures/$impl-kvm-amdlab.txt" ] &&
	dep="$dep -d /lab/departures/$impl-kvm-amdlab.txt"
# The runner's TAP goes to stdout; its progress (stderr) becomes '#' lines.
# A copy of the report for selftest/lab-external.sh (LAB_CONFORM_SAVE=FILE;
# a whole-suite run of the default runner saves /tmp/conform-BACKEND.tap).
if [ -z "${LAB_CONFORM_SAVE+set}" ] && [ -z "${DUNE_CONFORM:-}" ] && [ $# = 0 ]; then
	LAB_CONFORM_SAVE=/tmp/conform-$backend.tap
fi
argsfile=${LAB_CONFORM_ARGS:-/lab/conform-args}
if [ -f "$argsfile" ]; then
	while IFS= read -r a; do
		set -- "$@" "$a"
	done < "$argsfile"
fi
if [ -n "${LAB_SKIP_FILE:-}" ] && [ -f "$LAB_SKIP_FILE" ]; then
	while read -r id; do
		[ -n "$id" ] && set -- "$@" -x "$id"
	done < "$LAB_SKIP_FILE"
fi
# The tests that need two CPUs (.needs smp) run in the lab's SMP boot
# (lab.sh --cpus 2: conformance/lab-tests.list, @cpus 2); a boot with one
# CPU leaves them out rather than SKIPping each.
if [ "$(grep -c '^processor' /proc/cpuinfo)" -lt 2 ]; then
	echo "# the tests that need 2 CPUs (smp) are left out: this boot has one CPU (the lab's SMP boot runs them)"
	set -- --without smp "$@"
fi
# The lab is where a test that can crash or hang the host (declared
# .destructive) costs nothing: a hang or an oops ends only that test and the
# rest go on in a fresh boot.  So all of them run here.
set -- --mark-begin --allow-destructive "$@"
if [ -n "${LAB_CONFORM_SAVE:-}" ]; then
	# line by line to the console as well, not after the whole suite
	rcfile=/tmp/lab-conform-rc.$$
	{ $conform -b "$backend" $dep "$@" 2>&1; echo $? > "$rcfile"; } | tee "$LAB_CONFORM_SAVE"
	rc=$(cat "$rcfile")
	rm -f "$rcfile"
else
	$conform -b "$backend" $dep "$@" 2>&1
	rc=$?
fi
[ -n "$rcu_old" ] && echo "$rcu_old" > /sys/kernel/rcu_expedited
if [ "${LAB_CONFORM_KEEP:-}" = 1 ]; then
	echo "$loaded" > "$kept"
	loaded=
fi
for m in $loaded; do
	[ "$m" = irqbypass ] && continue
	rmmod "$m" || { echo "not ok - rmmod $m after the suite"; rc=1; }
done
exit $rc

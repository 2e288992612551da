#!/bin/sh
# SPDX-License-Identifier: MIT
# lab-vmcs.sh dune|kvm|diff - VMCS snapshots in the VMX lab guest (busybox sh),
# TAP on stdout.  harness/tests/lab-tests.list runs the three in this order.
#   dune  load dune.ko (if needed), snapshot a fresh Dune process's vCPU at its
#         first exit after the request (vmx backend), decode it, check it
#   kvm   load KVM and kvm_vmcs_snap.ko, the same program on the kvm backend
#   diff  dunebench vmcs-diff of the two; the Markdown report and both
#         snapshots leave the guest with lab-put (build/report/ on the host:
#         vmcs-dune-vs-kvm.md, vmcs-dune.snap, vmcs-kvm.snap)
# Modules it loaded are unloaded again, so the tests after it start as before.
# dune and kvm print no plan: --check's number of results depends on the
# snapshot (one per configured field).
D=/tmp/vmcs
mkdir -p $D
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); echo "not ok $n - $1 # $2"; }
loaded() { grep -q "^$1 " /proc/modules; }

# dunebench-vmcs --check prints its own plan: renumber its lines into ours
checks() {	# $1 = id prefix, $2 = snapshot
	dunebench-vmcs --check --file "$2" > $D/check.out 2>&1
	rc=$?
	while read -r line; do
		case "$line" in
		'ok '*) ok "${line#ok * - }" ;;
		'not ok '*) l=${line#not ok * - }; notok "${l%% # *}" "${l#* # }" ;;
		'#'*) echo "$line" ;;
		esac
	done < $D/check.out
	[ $rc = 0 ] || [ $rc = 1 ] || notok "$1.check" "dunebench-vmcs --check: exit status $rc: $(head -3 $D/check.out)"
}

snapshot() {	# $1 = backend, $2 = out
	if DUNE_BACKEND=$1 dune-vmcs-snap "$2" > $D/snap.out 2>&1 && [ -s "$2" ]; then
		ok "vmcs.$1.snapshot: $(sed -n '/^exit_reason/p' "$2") fields $(grep -c '^field ' "$2")"
	else
		notok "vmcs.$1.snapshot" "expected a snapshot from DUNE_BACKEND=$1 dune-vmcs-snap, got: $(tail -3 $D/snap.out)"
		return 1
	fi
	if dunebench-vmcs --file "$2" --json > "${2%.snap}.json" 2> $D/json.err &&
	   dunebench-vmcs --file "${2%.snap}.json" --raw | cmp -s - "$2"; then
		ok "vmcs.$1.json_roundtrip: --json, read back, gives the snapshot again"
	else
		notok "vmcs.$1.json_roundtrip" "expected --json then --raw to give the snapshot back: $(cat $D/json.err)"
	fi
	if dunebench-vmcs --file "$2" > $D/decoded.out 2>&1 &&
	   grep -q '^  Primary processor-based VM-execution controls' $D/decoded.out &&
	   grep -q 'memory type WB (6), page-walk length 4' $D/decoded.out; then
		ok "vmcs.$1.decoded: controls bit by bit, EPTP, $(grep -c '^      bit ' $D/decoded.out) bits named"
	else
		notok "vmcs.$1.decoded" "expected the decoded controls and EPTP: $(head -3 $D/decoded.out)"
	fi
}

case "$1" in
dune)
	grep -qw debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug
	mine=
	if ! loaded dune; then
		insmod /mod/dune.ko guest_slice_us=200 && mine=1
		[ -c /dev/dune ] || mknod /dev/dune c 10 233
	fi
	snapshot vmx $D/dune.snap || exit 1
	checks vmcs.dune $D/dune.snap
	# a pid without Dune: a clear error, exit status 2
	out=$(dunebench-vmcs --pid 1 2>&1); rc=$?
	case "$rc:$out" in
	2:*'has no Dune vCPU'*) ok "vmcs.dune.no_dune_pid: $out" ;;
	*) notok "vmcs.dune.no_dune_pid" "expected exit 2 and 'has no Dune vCPU', got $rc: $out" ;;
	esac
	[ -z "$mine" ] || rmmod dune
	;;
kvm)
	grep -qw debugfs /proc/mounts || mount -t debugfs none /sys/kernel/debug
	mine=
	for m in irqbypass kvm kvm_intel; do loaded $m || mine="$m $mine"; done
	lab-kvm-up || { echo "Bail out! cannot load KVM"; exit 1; }
	if insmod /mod/kvm_vmcs_snap.ko; then
		ok "vmcs.kvm.probe: kvm_vmcs_snap.ko probes vmx_handle_exit_irqoff"
	else
		notok "vmcs.kvm.probe" "insmod kvm_vmcs_snap.ko failed: $(dmesg | grep kvm_vmcs_snap | tail -2)"
	fi
	snapshot kvm $D/kvm.snap
	# KVM's snapshot has no config lines: its checks are the capability MSRs'
	checks vmcs.kvm $D/kvm.snap
	rmmod kvm_vmcs_snap
	for m in $mine; do rmmod $m; done
	;;
diff)
	echo "1..4"
	if [ ! -s $D/dune.json ] || [ ! -s $D/kvm.json ]; then
		notok "vmcs.diff.inputs" "no snapshots from vmcs.dune and vmcs.kvm"
		exit 1
	fi
	ok "vmcs.diff.inputs"
	cd $D || exit 1	# the report names its inputs: dune.json, kvm.json
	dunebench-vmcs-diff dune.json dune.json > $D/self.out 2>&1; rc=$?
	if [ $rc = 0 ] && grep -q '^0 fields differ' $D/self.out; then
		ok "vmcs.diff.self: a snapshot against itself: no difference"
	else
		notok "vmcs.diff.self" "expected exit 0 and '0 fields differ', got $rc: $(head -3 $D/self.out)"
	fi
	dunebench-vmcs-diff --title "VMCS: dune.ko (A) against KVM (B), one Dune process, VMX lab" \
		--markdown $D/vmcs-dune-vs-kvm.md dune.json kvm.json > $D/diff.out 2>&1; rc=$?
	if [ $rc = 1 ] && [ -s $D/vmcs-dune-vs-kvm.md ]; then
		ok "vmcs.diff.dune_vs_kvm: $(sed -n 3p $D/diff.out)"
	else
		notok "vmcs.diff.dune_vs_kvm" "expected exit 1 and a report, got $rc: $(head -3 $D/diff.out)"
	fi
	# the report and the raw snapshots (dunebench vmcs --file decodes them)
	if lab-put $D/vmcs-dune-vs-kvm.md report/vmcs-dune-vs-kvm.md &&
	   lab-put $D/dune.snap report/vmcs-dune.snap && lab-put $D/kvm.snap report/vmcs-kvm.snap; then
		ok "vmcs.diff.copied: build/report/vmcs-dune-vs-kvm.md, vmcs-dune.snap, vmcs-kvm.snap"
	else
		notok "vmcs.diff.copied" "lab-put failed"
	fi
	;;
*)
	echo "usage: lab-vmcs.sh dune|kvm|diff" >&2
	exit 2
	;;
esac
exit 0

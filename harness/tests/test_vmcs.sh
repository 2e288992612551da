#!/bin/bash
# SPDX-License-Identifier: MIT
# test_vmcs.sh BIN - `dunebench vmcs` and `dunebench vmcs-diff` (BIN is the
# dunebench-vmcs program) on fixture snapshots taken in the VMX lab
# (fixtures/vmcs/: dune.ko's and KVM's, for one Dune process) and on a
# fixture debugfs tree (DUNE_DEBUGFS).  Needs no VT-x.  Prints TAP 13;
# exit status 1 if a check failed.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/harness/tap-check.sh"
BIN=$(realpath "${1:?usage: test_vmcs.sh DUNEBENCH-VMCS}")
FX=$TOP/harness/tests/fixtures/vmcs
DUNE=$FX/dune.snap
KVM=$FX/kvm.snap

# run ARGS...: output in $T/out, exit status in $T/rc
run() { "$BIN" "$@" >"$T/out" 2>&1; echo $? >"$T/rc"; }
rundiff() { (exec -a dunebench-vmcs-diff "$BIN" "$@") >"$T/out" 2>&1; echo $? >"$T/rc"; }
rc_is() { [ "$(cat "$T/rc")" = "$1" ] || { echo "exit status $(cat "$T/rc"), want $1"; cat "$T/out"; false; }; }
out_has() { grep -qE -- "$1" "$T/out" || { echo "no line matching: $1"; cat "$T/out"; false; }; }
out_lacks() { ! grep -qE -- "$1" "$T/out" || { echo "unwanted line matching: $1"; cat "$T/out"; false; }; }
count_is() { local c; c=$(grep -cE -- "$1" "$T/out"); [ "$c" = "$2" ] || { echo "$c lines match '$1', want $2"; cat "$T/out"; false; }; }

# flip FILE ENCODING MASK OUT: a copy of snapshot FILE with the field's value XOR MASK
flip() {
	local v
	v=$(awk -v e="$2" '$1 == "field" && $2 == e { print $3 }' "$1")
	[ -n "$v" ] || { echo "no field $2 in $1"; return 1; }
	awk -v e="$2" -v nv="$(printf '0x%x' $((v ^ $3)))" '$1 == "field" && $2 == e { $3 = nv } 1' "$1" >"$4"
}

echo "TAP version 13"

# ---- decoding
run --file "$DUNE"
check "decode: exit 0, the groups in order" eval "rc_is 0 && out_has '^== controls' && out_has '^== guest state' && out_has '^== host state' && out_has '^== capability MSRs'"
check "decode: primary controls bit by bit with the SDM's names (HLT exiting, Use MSR bitmaps)" \
	eval "out_has '^  Primary processor-based VM-execution controls +0x4002' && out_has '^      bit  7  HLT exiting$' && out_has '^      bit 28  Use MSR bitmaps$'"
check "decode: pin-based, secondary, exit and entry controls by name" \
	eval "out_has 'bit  0  External-interrupt exiting' && out_has 'bit  1  Enable EPT' && out_has 'bit  5  Enable VPID' && out_has 'bit  9  Host address-space size' && out_has 'bit  9  IA-32e mode guest'"
check "decode: the exception bitmap by vector (#DB, #BP)" \
	eval "out_has '^  Exception bitmap +0x4004  0x[0-9a-f]+$' && out_has 'bit  1  #DB$' && out_has 'bit  3  #BP$'"
check "decode: EPTP memory type, walk length, A/D flag" \
	eval "out_has 'memory type WB \(6\), page-walk length 4, accessed/dirty flags (on|off)'"
check "decode: CR0/CR4 masks and read shadows bit by bit" \
	eval "out_has '^  CR0 guest/host mask' && out_has '^  CR4 read shadow' && out_has 'bit 31  PG$' && out_has 'bit 13  VMXE$'"
check "decode: MSR bitmap summarized by MSR (FS/GS base pass both ways)" \
	eval "out_has 'MSR bitmap: every MSR access exits except:' && out_has '0xc0000100 IA32_FS_BASE +read and write pass' && out_has '0xc0000101 IA32_GS_BASE +read and write pass'"
check "decode: the exit the snapshot was taken at, by name" eval "out_has '^taken at exit: reason 18 \(VMCALL\)'"

run --file "$KVM"
check "decode: KVM's snapshot (I/O instruction exit, MSR ranges merged)" \
	eval "rc_is 0 && out_has '^taken at exit: reason 30 \(I/O instruction\)' && out_has 'MSR bitmap: every MSR access exits except:'"

# ---- JSON
"$BIN" --file "$DUNE" --json >"$T/dune.json" 2>"$T/json.err"; echo $? >"$T/rc"
check "--json: exit 0, valid JSON with fields, bits, MSR ranges and the raw lines" \
	eval "rc_is 0 && /usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d[\"format\"]==\"dunebench-vmcs-1\"; f={x[\"encoding\"]:x for x in d[\"fields\"]}; assert any(b[\"name\"]==\"HLT exiting\" for b in f[\"0x4002\"][\"bits\"]); assert d[\"msr_bitmap\"]; assert d[\"snapshot\"][0]==\"dune-vmcs-snapshot 1\"' '$T/dune.json'"
run --file "$T/dune.json" --raw
check "--json read back (--file) gives the same snapshot (--raw)" cmp -s "$T/out" "$DUNE"

# ---- checks against the capability MSRs and the configuration
run --file "$DUNE" --check
check "--check: dune.ko's fresh vCPU passes (capabilities and configuration)" \
	eval "rc_is 0 && out_has '^1\.\.[0-9]+$' && out_lacks '^not ok' && out_has '^ok [0-9]+ - vmcs.config.0x4002' && out_has '^ok [0-9]+ - vmcs.caps.proc2.required'"
flip "$DUNE" 0x4002 0x1 "$T/reserved.snap"
run --file "$T/reserved.snap" --check
check "--check: a reserved bit set (primary bit 0) fails, naming the bit and the configuration" \
	eval "rc_is 1 && out_has '^not ok [0-9]+ - vmcs.caps.proc.reserved' && out_has '^#   bit 0 bit 0$' && out_has '^not ok [0-9]+ - vmcs.config.0x4002'"
flip "$DUNE" 0x400c 0x1 "$T/required.snap"
run --file "$T/required.snap" --check
check "--check: a required bit clear (exit bit 0, default 1) fails, naming it" \
	eval "rc_is 1 && out_has '^not ok [0-9]+ - vmcs.caps.exit.required' && out_has '^#   bit 0 bit 0 \(reserved, default 1\)'"
run --file "$KVM" --check
check "--check: KVM's snapshot passes the capability checks" eval "rc_is 0 && out_lacks '^not ok'"

# ---- vmcs-diff
rundiff "$DUNE" "$DUNE"
check "diff: a snapshot against itself is empty (exit 0, 0 fields)" \
	eval "rc_is 0 && out_has '^0 fields differ' && out_lacks '^  '"
rundiff "$DUNE" "$T/dune.json"
check "diff: a snapshot against its own JSON is empty" eval "rc_is 0 && out_has '^0 fields differ'"
flip "$DUNE" 0x4002 0x80 "$T/hlt.snap"
rundiff --markdown "$T/hlt.md" "$DUNE" "$T/hlt.snap"
check "diff: one flipped control bit is reported as exactly that bit" \
	eval "rc_is 1 && out_has '^1 fields differ: Controls 1 \(1 bits\), Exit information 0 \(0 bits\), Guest state 0 \(0 bits\), Host state 0 \(0 bits\), Capability MSRs 0 \(0 bits\)$' && count_is '^    bit ' 1 && out_has '^    bit 7 HLT exiting: set in A, clear in B: HLT causes a VM exit$'"
check "diff: the Markdown report has the summary table and the bit" \
	eval "grep -q '^# VMCS difference' '$T/hlt.md' && grep -q '^| Controls | 1 | 1 |' '$T/hlt.md' && grep -q '^  - bit 7 HLT exiting' '$T/hlt.md'"
flip "$DUNE" 0x201a 0x40 "$T/ad.snap"
rundiff "$DUNE" "$T/ad.snap"
check "diff: a changed EPTP is decoded (the A/D flag)" \
	eval "rc_is 1 && out_has 'EPT pointer \(EPTP\) \(0x201a\): A 0x[0-9a-f]+ \(memory type WB.*\), B 0x[0-9a-f]+ \(memory type WB.*\): root of the EPT'"
rundiff --markdown "$T/dk.md" --title "dune.ko against KVM" "$DUNE" "$KVM"
check "diff: dune.ko against KVM differs in controls, guest and host state, with meanings" \
	eval "rc_is 1 && out_has '^== Controls' && out_has '^== Guest state' && out_has '^== Host state' && out_has 'bit [0-9]+ [A-Za-z].*: (set|clear) in A, (set|clear) in B: ' && grep -q '^# dune.ko against KVM' '$T/dk.md'"

# ---- bad input
printf 'hello\n' >"$T/hello.txt"
run --file "$T/hello.txt"
check "bad input: a file that is not a snapshot: exit 2, says so" eval "rc_is 2 && out_has 'hello.txt: not a VMCS snapshot'"
head -n 20 "$DUNE" >"$T/short.snap"
run --file "$T/short.snap"
check "bad input: a truncated snapshot: exit 2, says so" eval "rc_is 2 && out_has 'truncated VMCS snapshot'"
printf '{"format": "dunebench-vmcs-1", "snapshot": ["dune-vmcs-snapshot 1", \n' >"$T/bad.json"
run --file "$T/bad.json"
check "bad input: broken JSON: exit 2, says where" eval "rc_is 2 && out_has 'bad JSON at offset'"
printf '{"results": []}\n' >"$T/other.json"
rundiff "$DUNE" "$T/other.json"
check "bad input: JSON that is not a snapshot (vmcs-diff): exit 2" eval "rc_is 2 && out_has 'other.json: not a VMCS snapshot: a JSON object without a \"snapshot\" member'"
run --file "$T/no-such-file"
check "bad input: a missing file: exit 2" eval "rc_is 2 && out_has 'no-such-file: cannot read: No such file'"
rundiff "$DUNE"
check "bad arguments: vmcs-diff with one file: exit 2" eval "rc_is 2 && out_has 'expected two snapshot files, got 1'"
run --pid abc
check "bad arguments: --pid abc: exit 2" eval "rc_is 2 && out_has '\-\-pid wants a non-negative number'"
run --file "$DUNE" --json --raw
check "bad arguments: --json with --raw: exit 2" eval "rc_is 2 && out_has 'exclude each other'"
run --file "$DUNE" --pid 1
check "bad arguments: --file with --pid: exit 2" eval "rc_is 2 && out_has 'no --pid'"

# ---- live snapshots, from a fixture debugfs tree
DBG=$T/debugfs
mkdir -p "$DBG/vcpus/4242.4243.7.1" "$DBG/vcpus/4242.4244.7.2"
cp "$DUNE" "$DBG/vcpus/4242.4243.7.1/vmcs"
cp "$DUNE" "$DBG/vcpus/4242.4244.7.2/vmcs"
export DUNE_DEBUGFS=$DBG
run --pid 4242 --vcpu 2
check "live: --pid --vcpu read that vCPU's snapshot" eval "rc_is 0 && out_has '^taken at exit: reason 18'"
run
check "live: without --pid, the only Dune process" eval "rc_is 0 && out_has '^VMCS snapshot: source dune'"
run --pid 4242 --vcpu 9
check "bad input: a vCPU that does not exist: exit 2, lists the vCPUs" \
	eval "rc_is 2 && out_has 'process 4242 has no vCPU 9; its vCPUs: 1 \(thread 4243\) 2 \(thread 4244\)'"
run --pid $$
check "bad input: a pid without Dune: exit 2, says so" eval "rc_is 2 && out_has 'process $$ has no Dune vCPU'"
run --pid 2147483646
check "bad input: a pid that does not exist: exit 2" eval "rc_is 2 && out_has 'no process 2147483646'"
run --pid 4242 --vcpu 1 --request --wait 0.1
check "live: --request writes 'next' and waits for the exit (none here: exit 1, says why)" \
	eval "rc_is 1 && out_has 'made no VM exit within 0.1 s' && [ \"\$(head -c 4 '$DBG/vcpus/4242.4243.7.1/vmcs')\" = next ]"
cp "$DUNE" "$DBG/vcpus/4242.4243.7.1/vmcs"
run --pid 4242 --vcpu 1 --request --exit-reason 18 --wait 0.1
check "live: --request --exit-reason 18 asks for the next VMCALL exit ('next 18')" \
	eval "rc_is 1 && [ \"\$(head -c 7 '$DBG/vcpus/4242.4243.7.1/vmcs')\" = 'next 18' ]"
run --pid 4242 --exit-reason 18
check "bad arguments: --exit-reason without --request: exit 2" eval "rc_is 2 && out_has 'goes with --request or --every'"
mkdir -p "$DBG/vcpus/99.99.1.1"
run
check "live: several Dune processes and no --pid: exit 2, lists them" eval "rc_is 2 && out_has 'choose one with --pid: 99 4242'"
DUNE_DEBUGFS=$T/nothing run
check "live: no dune.ko debugfs: exit 2, says what to do" eval "rc_is 2 && out_has 'is dune.ko loaded and debugfs mounted'"

run --help
check "--help: exit 0, names the options" eval "rc_is 0 && out_has '^usage: dunebench vmcs' && out_has '\-\-request'"
rundiff --help
check "vmcs-diff --help: exit 0" eval "rc_is 0 && out_has '^usage: dunebench vmcs-diff'"

echo "1..$n"
exit $failed

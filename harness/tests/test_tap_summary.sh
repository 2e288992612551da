#!/bin/bash
# SPDX-License-Identifier: MIT
# test_tap_summary.sh - the verdict of `make check` and `make unit`, from
# canned inputs: harness/tap-summary over TAP files, a suites list and step
# exit statuses, and the top-level `unit` target over stand-in
# sub-directories.  Prints TAP 13; exit status 1 if a check failed.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/harness/tap-check.sh"
SUMMARY=$TOP/harness/tap-summary
LAST='^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$'

# run ARGS...: tap-summary's output in $T/out, its exit status in $T/rc
run() { "$SUMMARY" "$@" >"$T/out" 2>&1; echo $? >"$T/rc"; }
rc_is() { [ "$(cat "$T/rc")" = "$1" ] || { echo "exit status $(cat "$T/rc"), want $1"; cat "$T/out"; false; }; }
last_is() { [ "$(tail -n 1 "$T/out")" = "$1" ] || { echo "last line: $(tail -n 1 "$T/out")"; echo "want: $1"; false; }; }
out_has() { grep -qE -- "$1" "$T/out" || { echo "no line matching: $1"; cat "$T/out"; false; }; }
out_lacks() { ! grep -qE -- "$1" "$T/out" || { echo "unwanted line matching: $1"; cat "$T/out"; false; }; }
before_last() { [ "$(tail -n 2 "$T/out" | head -n 1)" = "$1" ] || { echo "line before the last: $(tail -n 2 "$T/out" | head -n 1)"; echo "want: $1"; false; }; }

D=$T/tap
mkdir -p "$D"
printf 'TAP version 13\n1..3\nok 1 - a\nok 2 - b # SKIP no frobnicator here\nok 3 - c\n' >"$D/good.tap"
printf 'TAP version 13\n1..2\nok 1 - a\nnot ok 2 - broken.thing # got 42, want 41\n' >"$D/notok.tap"
printf 'TAP version 13\n1..5\nok 1 - a\nok 2 - b\nok 3 - c\n' >"$D/short.tap"
printf 'ok 1 - a\nok 2 - b\n' >"$D/noplan.tap"
printf 'TAP version 13\n1..4\nok 1 - a\nBail out! insmod /mod/dune.ko failed\n' >"$D/bail.tap"
# the lab's form of the conformance runner's lines (renumbered, prefixed)
printf 'TAP version 13\n1..3\nok 1 - conformance.vmx: api.core.init\nok 2 - conformance.vmx: api.trap.breakpoint # TODO XPASS dunebench-vmx.txt: listed departure did not occur: stale reason\nnot ok 3 - conformance.vmx: api.user.breakpoint # TODO known departure: still departs\n' >"$D/xpass-ours.tap"
printf 'TAP version 13\n1..2\nok 1 - abi.bad.vcpu_handle # TODO XPASS original-dune-vmx.txt: listed departure did not occur: trusts the pointer\nok 2 - abi.core.open\n' >"$D/xpass-other.tap"
printf 'TAP version 13\n1..1\nnot ok 1 - known # TODO later\n' >"$D/xfail.tap"
printf 'TAP version 13\nok 1 - a\nok 2 - b\n1..2\n' >"$D/trailing-plan.tap"

echo "TAP version 13"
echo "1..36"

# --- TAP files given on the command line
run "$D/good.tap"
check "all ok: exit 0, last line '2 passed, 0 failed, 1 skipped'" eval "rc_is 0 && last_is '2 passed, 0 failed, 1 skipped'"
check "the last line has exactly the form CI reads" bash -c "tail -n 1 '$T/out' | grep -qxE '$LAST'"
check "the departures line comes just before it" before_last "departures: 0 xfail, 0 xpass"
run "$D/notok.tap"
check "a not ok fails and is named" eval "rc_is 1 && last_is '1 passed, 1 failed, 0 skipped' && out_has 'notok\.tap: not ok 2 - broken\.thing'"
run "$D/short.tap"
check "a truncated TAP (plan 5, 3 results) fails, naming both numbers" eval "rc_is 1 && last_is '3 passed, 1 failed, 0 skipped' && out_has 'short\.tap: plan says 5 tests, 3 reported'"
run "$D/noplan.tap"
check "a TAP without a plan fails" eval "rc_is 1 && out_has 'noplan\.tap: no TAP plan'"
run "$D/trailing-plan.tap"
check "a plan at the end is a plan" eval "rc_is 0 && last_is '2 passed, 0 failed, 0 skipped'"
run "$D/bail.tap"
check "a Bail out! fails once, with its reason" eval "rc_is 1 && last_is '1 passed, 1 failed, 0 skipped' && out_has 'bail\.tap: Bail out! insmod /mod/dune\.ko failed' && out_lacks 'bail\.tap: plan says'"
run "$D/xfail.tap"
check "an XFAIL (not ok, TODO directive) is no failure, counted as xfail" eval "rc_is 0 && before_last 'departures: 1 xfail, 0 xpass' && last_is '0 passed, 0 failed, 1 skipped'"
run "$D/xpass-ours.tap"
check "an XPASS of our own departures list fails" rc_is 1
check "... is not counted as passed" last_is "1 passed, 1 failed, 1 skipped"
check "... names the test and the stale list" out_has 'conformance\.vmx: api\.trap\.breakpoint: listed in dunebench-vmx\.txt but passed'
check "... and shows on the departures line" before_last "departures: 1 xfail, 1 xpass (1 of them on our own lists: failed)"
run "$D/xpass-other.tap"
check "an XPASS of another implementation's list is no failure" rc_is 0
check "... is not counted as passed either" last_is "1 passed, 0 failed, 1 skipped"
check "... but is reported with its list" out_has 'abi\.bad\.vcpu_handle: listed in original-dune-vmx\.txt but passed'
check "... on the departures line" before_last "departures: 0 xfail, 1 xpass"
run
check "no TAP file at all fails, still ending with the summary line" eval "rc_is 1 && last_is '0 passed, 1 failed, 0 skipped'"
run "$D/good.tap" "$D/notok.tap" "$D/short.tap" "$D/xpass-other.tap" "$D/xfail.tap"
check "counts add up over several files" last_is "7 passed, 2 failed, 3 skipped"

# --- expected suites: a list, the steps that ran and their exit statuses
S=$T/suites
mkdir -p "$S/tap"
cat >"$S/list" <<'EOF'
# suite        step
unit-a         sub/a
unit-a2        sub/a
unit-b         sub/b
lab-x          lab-x
EOF
cp "$D/good.tap" "$S/tap/unit-a.tap"
cp "$D/good.tap" "$S/tap/unit-a2.tap"
cp "$D/good.tap" "$S/tap/lab-x.tap"
printf 'build\t0\nsub/a\t0\nsub/b\t2\nlab-x\t0\n' >"$S/status"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "a missing expected TAP file fails, naming the suite and its step's status" eval "rc_is 1 && out_has 'unit-b\.tap: missing \(step sub/b exited with status 2 before writing it\)'"
check "... counted once" last_is "6 passed, 1 failed, 3 skipped"
cp "$D/good.tap" "$S/tap/unit-b.tap"
printf 'build\t0\nsub/a\t0\nsub/b\t0\n' >"$S/status"
rm "$S/tap/lab-x.tap"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "--all: the suite of a step that never ran is missing too" eval "rc_is 1 && out_has 'lab-x\.tap: missing \(step lab-x did not run\)'"
cp "$D/good.tap" "$S/tap/lab-x.tap"
printf 'build\t0\nsub/a\t1\nsub/b\t0\nlab-x\t0\n' >"$S/status"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "a step that failed with clean TAP files is a failure naming it" eval "rc_is 1 && last_is '8 passed, 1 failed, 4 skipped' && out_has 'step sub/a: exit status 1, but its TAP files report no failure'"
printf 'build\t2\nsub/a\t0\nsub/b\t0\nlab-x\t0\n' >"$S/status"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "a failed step that writes no TAP (the build) is a failure naming it" eval "rc_is 1 && out_has 'step build: exit status 2'"
cp "$D/notok.tap" "$S/tap/unit-b.tap"
printf 'build\t0\nsub/a\t0\nsub/b\t1\nlab-x\t0\n' >"$S/status"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "a step whose TAP shows its failure is not counted twice" eval "rc_is 1 && last_is '7 passed, 1 failed, 3 skipped' && out_lacks 'step sub/b'"
cp "$D/good.tap" "$S/tap/unit-b.tap"
cp "$D/good.tap" "$S/tap/stray.tap"
printf 'build\t0\nsub/a\t0\nsub/b\t0\nlab-x\t0\n' >"$S/status"
run --all --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "--all: a TAP file not declared is counted and fails, naming the list" eval "rc_is 1 && last_is '10 passed, 1 failed, 5 skipped' && out_has 'stray\.tap: not declared in .*list'"
printf 'sub/a\t0\n' >"$S/status"
run --suites "$S/list" --status "$S/status" --tapdir "$S/tap"
check "without --all only the suites of the steps that ran count" eval "rc_is 0 && last_is '4 passed, 0 failed, 2 skipped' && out_has 'not counted here \(not declared in .*list\): stray\.tap'"
rm "$S/tap/stray.tap"
printf 'unit-a\n' >"$S/badlist"
run --all --suites "$S/badlist" --status "$S/status" --tapdir "$S/tap"
check "a malformed suites list is a clear error (2), still ending with the summary line" eval "rc_is 2 && out_has 'badlist:1: want SUITE STEP' && last_is '0 passed, 1 failed, 0 skipped'"
printf 'sub/a zero\n' >"$S/badstatus"
run --suites "$S/list" --status "$S/badstatus" --tapdir "$S/tap"
check "a malformed status file is a clear error (2)" eval "rc_is 2 && out_has 'badstatus:1: want STEP<TAB>EXIT-STATUS'"
run --status "$S/status" --frobnicate
check "an unknown option is refused (2)" eval "rc_is 2 && out_has 'unknown option --frobnicate'"

# --- the top-level `unit` target over stand-in sub-directories
U=$T/unit
for d in good dies liar; do mkdir -p "$U/$d"; done
printf 'test:\n\t@printf "1..1\\nok 1 - fine\\n" > $(TAPDIR)/fake-good.tap\n' >"$U/good/Makefile"
printf 'test:\n\t@echo "cc: error: no such file" >&2; exit 2\n' >"$U/dies/Makefile"
printf 'test:\n\t@printf "1..1\\nok 1 - fine\\n" > $(TAPDIR)/fake-liar.tap; exit 1\n' >"$U/liar/Makefile"
printf 'fake-good\t%s\nfake-dies\t%s\nfake-liar\t%s\n' "$U/good" "$U/dies" "$U/liar" >"$U/list"
umake() { make --no-print-directory -C "$TOP" unit BUILD="$U/build" TAPDIR="$U/build/tap" TAP_SUITES="$U/list" "$@" >"$T/out" 2>"$T/err"; echo $? >"$T/rc"; }
umake SUBDIRS="$U/good $U/dies $U/liar"
check "make unit: a sub-directory that dies before its TAP fails it" eval "rc_is 2 && grep -q 'cc: error: no such file' '$T/err'"
check "... the suite is named in the summary" out_has "fake-dies\\.tap: missing \\(step $U/dies exited with status 2"
check "... a step that fails with clean TAP is named" out_has "step $U/liar: exit status 2, but its TAP files report no failure"
check "... the others still ran and counted; the summary is the last line on stdout" last_is "2 passed, 2 failed, 0 skipped"
umake SUBDIRS="$U/good"
check "make unit: all good is exit 0 with the summary line last" eval "rc_is 0 && last_is '1 passed, 0 failed, 0 skipped'"

# --- the project's own suites list
check "harness/tap-suites.list declares a suite for every directory make unit runs" bash -c "
	subdirs=\$(sed -n 's/^SUBDIRS *:= *//p' '$TOP/Makefile')
	[ -n \"\$subdirs\" ] || exit 1
	for d in \$subdirs; do grep -qE \"^[^#[:space:]]+[[:space:]]+\$d\$\" '$TOP/harness/tap-suites.list' || { echo \"no suite of \$d\"; exit 1; }; done"
exit $failed

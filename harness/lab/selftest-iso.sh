#!/bin/bash
# SPDX-License-Identifier: MIT
# selftest-iso.sh - the VMX lab's isolation self-test (part of `make check`).
#
# usage: harness/lab/selftest-iso.sh [--from TAP] [lab.sh options...]
#
# Boots the lab with harness/lab/selftest-iso.list, whose tests hang and
# oops the guest kernel on purpose, and checks that lab.sh reports exactly
# that: the hanging sub-test and the oopsing test fail, naming the cause
# (a hang after its wall-clock limit, the oops's first line), the results
# streamed before the hang are kept, the test cut short resumes after its
# hung sub-test in a fresh boot, and every test after the hang and the oops
# still reports ok.  Prints TAP (ok when lab.sh behaved so); lab.sh's own
# log goes to stderr.  --from TAP: check a result lab.sh wrote before,
# without booting.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
from=
if [ "${1:-}" = --from ]; then
	from=$2
	shift 2
	[ -f "$from" ] || { echo "selftest-iso: no such file '$from'" >&2; exit 2; }
fi
. "$TOP/harness/tap-check.sh"

tap=$from rc=1
if [ -z "$from" ]; then
	tap=$BUILD/lab-iso/result.tap
	rm -f "$tap"
	LAB_LISTS=$TOP/harness/lab/selftest-iso.list LAB_WORKDIR=$BUILD/lab-iso \
		LAB_TAG=${LAB_TAG:-iso} LAB_TESTS= LAB_INJECT_FAIL=0 \
		"$TOP/harness/lab/lab.sh" --timeout "${LAB_ISO_TIMEOUT:-1500}" --tap "$tap" "$@" >&2
	rc=$?
	touch "$tap"
fi
# the test lines, numbers and all, in order: the result as a whole
lines() { grep -E '^(ok|not ok) ' "$tap" | sed -E 's/^(ok|not ok) [0-9]+ /\1 /'; }
want() {	# REGEX: exactly one result line matches
	test "$(lines | grep -cE -- "^$1\$")" = 1 || { echo "want one line matching: $1"; cat "$tap"; return 1; }
}
echo "TAP version 13"
echo "1..13"
if [ -z "$from" ]; then
	check "lab.sh fails the run (exit status 1: the deliberate failures)" test "$rc" = 1
else
	check "lab.sh's result file exists" test -s "$tap"
fi
check "a test before the hang: ok" want 'ok - lab\.iso\.first'
check "the result streamed before the hang is kept (iso.a, boot 1)" want 'ok - lab\.iso\.hang: iso\.a'
check "the hung sub-test fails, naming a hang after its 30 s wall limit" \
	want 'not ok - lab\.iso\.hang: iso\.b # hang: no result after 30 s wall \(boot 1\)'
check "the test cut short resumes after the hung sub-test in a fresh boot (iso.c)" \
	want 'ok - lab\.iso\.hang: iso\.c'
check "a test after the hang: ok" want 'ok - lab\.iso\.after_hang'
check "the oopsing test fails with the oops's first line" \
	want 'not ok - lab\.iso\.oops # kernel oops: kernel BUG at [^ ]*lab_iso\.c:[0-9]+! \(boot 2\)'
check "a test after the oops: ok (boot 3)" want 'ok - lab\.iso\.after_oops'
check "three boots, /init reached in each" want 'ok - lab\.host\.boot: /init reached in 3 of 3 boot\(s\)'
check "every declared test reported" want 'ok - lab\.host\.plan: all 5 declared tests reported \(3 boot\(s\)\)'
check "the kernel was clean but for the deliberate oops" want 'ok - lab\.host\.kernel_clean: .*'
check "the last boot powered off" want 'ok - lab\.host\.poweroff: guest finished in [0-9]+s wall \(3 boot\(s\)\)'
check "nothing else: 7 test results and 4 host checks, in this order" bash -c "
	test \"\$(grep -E '^(ok|not ok) ' '$tap' | sed -E 's/^(ok|not ok) ([0-9]+) - ([^:# ]+)(: ([^ ]+))?.*/\\2 \\3 \\5/' | tr '\n' '|')\" = \
	'1 lab.iso.first |2 lab.iso.hang iso.a|3 lab.iso.hang iso.b|4 lab.iso.hang iso.c|5 lab.iso.after_hang |6 lab.iso.oops |7 lab.iso.after_oops |8 lab.host.boot /init|9 lab.host.plan all|10 lab.host.kernel_clean no|11 lab.host.poweroff guest|' || { cat '$tap'; false; }"
exit $failed

#!/bin/bash
# test_harness.sh - host-side tests of the lab runner and the TAP summary.
# Prints TAP 13.  Needs no emulator: it checks parsing and verdict logic.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
. "$TOP/harness/tap-check.sh"
summary() { "$TOP/harness/tap-summary" "$@"; }
fails() { ! "$@"; }
has() { local pat=$1; shift; "$@" 2>&1 | grep -qE -- "$pat"; }

printf '1..2\nok 1 - a\nok 2 - b # SKIP no x\n' > "$T/pass.tap"
printf '1..2\nok 1 - a\nnot ok 2 - b\n' > "$T/fail.tap"
printf 'ok 1 - a\n' > "$T/noplan.tap"
printf '1..3\nok 1 - a\nok 2 - b\n' > "$T/short.tap"
printf 'TAP version 13\n1..1\nnot ok 1 - known # TODO later\n' > "$T/todo.tap"

echo "TAP version 13"
echo "1..26"
check "tap-summary: all ok passes" summary "$T/pass.tap"
check "tap-summary: counts a SKIP as skipped" has '^1 passed, 0 failed, 1 skipped$' summary "$T/pass.tap"
check "tap-summary: a not ok fails" fails summary "$T/fail.tap"
check "tap-summary: a missing plan fails" fails summary "$T/noplan.tap"
check "tap-summary: a short plan fails" fails summary "$T/short.tap"
check "tap-summary: no files fails" fails summary
check "tap-summary: TODO is not a failure" summary "$T/todo.tap"

printf '@bin\tharness/lab/guest/kvm_smoke.c\ngood.one\t10\ttrue\ngood.two\t5\techo "ok 1 - x"\nother.three\t5\ttrue\n' > "$T/good.list"
printf 'broken\tnotanumber\ttrue\n' > "$T/bad-timeout.list"
printf '@frobnicate\tx\n' > "$T/bad-directive.list"
check "lab --list: shows declared tests" has '^good\.two +5s' env LAB_LISTS="$T/good.list" "$TOP/harness/lab/lab.sh" --list
check "lab --list: --tests glob filters" fails has '^other' env LAB_LISTS="$T/good.list" "$TOP/harness/lab/lab.sh" --list --tests 'good.*'
check "lab --list: a bad timeout is a clear error" has 'timeout of broken is not a number' fails env LAB_LISTS="$T/bad-timeout.list" "$TOP/harness/lab/lab.sh" --list
check "lab --list: an unknown directive is a clear error" has "unknown directive '@frobnicate'" fails env LAB_LISTS="$T/bad-directive.list" "$TOP/harness/lab/lab.sh" --list
check "lab --list: --inject-fail declares the failing test" has '^lab\.injected_failure' env LAB_LISTS="$T/good.list" "$TOP/harness/lab/lab.sh" --list --inject-fail
lab() { env LAB_LISTS="$T/good.list" "$TOP/harness/lab/lab.sh" "$@"; }
check "lab --seed: a seed as the fuzz tests print it is accepted" has '^good\.one' lab --list --seed 0xbf83a2fca62cc1bf
check "lab --seed: not a number is a clear error" has 'wants a 64-bit number' fails lab --list --seed 0xzz
check "lab --seed: more than 64 bits is refused" fails lab --list --seed 0x12345678901234567
check "lab LAB_FUZZ_SEED: checked like --seed" has 'wants a 64-bit number' fails env LAB_FUZZ_SEED=-1 LAB_LISTS="$T/good.list" "$TOP/harness/lab/lab.sh" --list
check "lab --fuzz-scale: 0 is refused" has 'wants a positive number' fails lab --list --fuzz-scale 0
check "lab --soak: 0 minutes is refused" has 'positive number of minutes' fails lab --soak 0
check "lab --soak: draws its own seeds, no --seed" has 'draws its own seeds' fails lab --soak 5 --seed 4
check "lab --soak: boots the lab, not with --list" has 'not with --list' fails lab --soak 5 --list
printf 'one.cpu\t10\ttrue\n@cpus\t2\ntwo.cpus\t10\ttrue\n@cpu\tany\ntwo.any\t10\ttrue\n' > "$T/cpus.list"
printf '@cpus\ttwo\n' > "$T/bad-cpus.list"
cpus() { env LAB_LISTS="$T/cpus.list" "$TOP/harness/lab/lab.sh" "$@"; }
check "lab @cpus: a one-CPU boot leaves out the tests that need 2" fails has '^two\.' cpus --list
check "lab @cpus: and says which, and why" has 'left out: 2 test\(s\).*two\.cpus \(needs 2 CPUs\)' cpus --list
check "lab --cpus 2: runs them" has '^two\.cpus ' cpus --list --cpus 2
check "lab --cpus 2 --smp-only: only the tests that need 2 CPUs" fails has '^one\.cpu' cpus --list --cpus 2 --smp-only
check "lab --cpus: 0 is refused" has 'wants a number of CPUs from 1 to 8' fails cpus --list --cpus 0
check "lab @cpus: not a number is a clear error" has '@cpus wants a number of CPUs' fails env LAB_LISTS="$T/bad-cpus.list" "$TOP/harness/lab/lab.sh" --list
exit $failed

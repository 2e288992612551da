#!/bin/sh
# micro-lab-bench MODE [BACKEND] - the micro-benchmarks in the VMX lab guest
# (installed as /bin/micro-lab-bench by `make -C micro lab-bins`; run by
# micro/lab-bench.list, collected by `dunebench bench --lab`).
#
# MODE linux | dune | dune-user | exitless (mode dune, the exit-less system
# call benchmarks: a two-CPU boot); BACKEND vmx | kvm (dune modes).  One process
# per benchmark (Dune mode is one-way per process), small fixed counts: lab
# ticks are deterministic, emulation is slow.  Prints TAP (one line per
# benchmark) and passes on micro-bench's "@@BENCH {json}" lines; a benchmark
# that cannot run prints "@@BENCH-NA {json}" with the reason and
# "failed": false (TAP SKIP) when micro-bench said the mode or benchmark is
# unavailable here, true (TAP not ok) when it should have run and did not.
# Knobs: MICRO_LAB_BATCH (20 ops per batch), MICRO_LAB_ITERS (5 batches per
# repetition: its value is their median, so a timer interrupt in one batch
# does not move it), MICRO_LAB_REPS (5), MICRO_LAB_ONLY (names).
MODE=$1
BACKEND=$2
BATCH=${MICRO_LAB_BATCH:-20}
ITERS=${MICRO_LAB_ITERS:-5}
REPS=${MICRO_LAB_REPS:-5}
BIN=${MICRO_BENCH:-/bin/micro-bench-dune}

case "$MODE" in
linux) BENCHES="syscall write1 pgfault trap ptrace appel1 appel2" ;;
dune) BENCHES="syscall write1 vmexit pgfault trap appel1 appel2 appel1-mprotect appel2-mprotect" ;;
# libdune's exit-less system calls: a two-CPU boot (micro/lab-bench.list)
exitless) MODE=dune; BENCHES="syscall-exitless write1-exitless batch1-exitless batch8-exitless batch64-exitless" ;;
dune-user) BENCHES="syscall trap ptrace" ;;
*) echo "usage: $0 linux|dune|dune-user|exitless [vmx|kvm]" >&2; exit 2 ;;
esac
[ -n "$MICRO_LAB_ONLY" ] && BENCHES=$MICRO_LAB_ONLY
if [ -n "$BACKEND" ]; then export DUNE_BACKEND=$BACKEND; BE="\"$BACKEND\""; else BE=null; fi

set -- $BENCHES
echo "1..$#"
n=0 fail=0
for b in $BENCHES; do
	n=$((n + 1))
	t0=$(cut -d' ' -f1 /proc/uptime)
	"$BIN" --mode="$MODE" --benchmark_filter="^$b/" --batch="$BATCH" --iterations="$ITERS" \
		--warmup=3 --benchmark_repetitions="$REPS" --lab-lines >/tmp/mb.out 2>&1
	rc=$?
	t1=$(cut -d' ' -f1 /proc/uptime)
	grep '^@@BENCH ' /tmp/mb.out
	got=$(grep -c '^@@BENCH ' /tmp/mb.out)
	why=$(grep -v '^@@BENCH' /tmp/mb.out | grep -iE 'unavailable|error|libdune|fail' | head -1 |
		tr -d '"\\' | sed -e "s/.*ERROR OCCURRED: '//" -e "s/'[[:space:]]*\$//" \
			-e 's/^unavailable: //' | cut -c1-200)
	if [ "$rc" = 0 ] && [ "$got" -gt 0 ]; then
		echo "ok $n - $MODE${BACKEND:+/$BACKEND} $b: $got repetitions (${t0}s..${t1}s uptime)"
	else
		[ -n "$why" ] || why="exit status $rc, $got result lines"
		failed=true
		# exit 77: the mode cannot be entered; exit 0 without results: the
		# benchmark said "unavailable: ..." (its setup found something missing)
		if [ "$rc" = 77 ] || { [ "$rc" = 0 ] && grep -q 'unavailable:' /tmp/mb.out; }; then
			failed=false
		fi
		echo "@@BENCH-NA {\"name\": \"$b\", \"mode\": \"$MODE\", \"backend\": $BE, \"reason\": \"$why\", \"failed\": $failed}"
		grep -v '^@@BENCH' /tmp/mb.out | tail -5 | sed 's/^/# /'
		if [ "$failed" = false ]; then
			echo "ok $n - $MODE${BACKEND:+/$BACKEND} $b # SKIP $why"
		else
			echo "not ok $n - $MODE${BACKEND:+/$BACKEND} $b: $why"
			fail=1
		fi
	fi
done
exit $fail

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - `make coverage` and `make soak COVERAGE=1`: line coverage of
# dune.ko by the lab tests and by the soak.
#
# usage: harness/coverage/run.sh [--no-steer] [--save-corpus] [--soak MINUTES]
#                                [--update-list] [--report-only]
#                                [--reuse-serial FILE]... [--out DIR]
#
# Builds the coverage build of dune.ko (harness/build-module.sh --coverage,
# against the lab kernel's headers) and boots the VMX lab with it:
#
#   default          `make coverage`: what `make check`'s lab runs on dune.ko,
#                    in two boots side by side: one CPU (lab-coverage.list:
#                    module tests, the conformance suite on vmx, its
#                    exit-less run, the VMCS snapshot, the macro benchmarks,
#                    then the robustness profile) and two CPUs
#                    (lab-coverage-smp.list: the '@cpus 2' tests; the
#                    x2APIC is on by default, so both boots reach its
#                    soft mode).  Their serial logs are kept in
#                    build/coverage/suite/
#   --soak MINUTES   `make soak COVERAGE=1`: the soak (lab.sh --soak MINUTES,
#                    rounds of soak-coverage.list, a random seed each) with
#                    the coverage build; the rounds' serial logs are kept in
#                    build/coverage/soak/
#
# Then it collects the PCs each dump printed on the serial console and
# writes the report (harness/coverage/covreport.py) into
# build/report/coverage/ (--out): per file and function, lines reached of
# the lines with a basic block, for the runs suite, robustness, check
# (both: what `make check` reaches), soak and both (all of them); the
# unreached lines annotated; coverage.json in the results format.  The
# report takes the kept logs of the other kind too (a soak's with a suite
# run and the other way round) when they come from the same dune.ko.
# The unreached lines of the widest run must be those of
# harness/coverage/unreached.list, with a reason each: a listed line now
# reached or an unlisted one unreached fails.
#
# The fuzz tests run steered by coverage (DUNE_FUZZ_STEER=1 in the guest,
# conformance/abi/fuzz.h): half of their iterations mutate the inputs of
# conformance/fuzz-corpus.list, and the inputs that reached new module code
# are written to corpus-new.list in the report directory.
#
#   --no-steer           fuzz without steering (fresh inputs and the corpus
#                        run only): the numbers before steering
#   --save-corpus        append corpus-new.list to conformance/fuzz-corpus.list
#   --update-list        rewrite unreached.list from this run: a line still
#                        unreached keeps its reason (matched by file and
#                        source text, so moved lines keep theirs), a reached
#                        one leaves, a new one gets the reason "REVIEW: ..."
#                        which fails the check until someone writes the
#                        reason (or a test)
#   --report-only        no lab: report from the kept logs (build/coverage/)
#   --reuse-serial FILE  no lab: report from this serial log of an earlier
#                        run (build/lab-coverage*/run-*/serial.clean);
#                        repeatable
#   --out DIR            report directory (default build/report/coverage)
#
# Environment: LAB_CACHE, KABI as for harness/lab/lab.sh; COVERAGE_WORKDIR
# (the lab's work directory, default build/lab-coverage; the module is built
# in its module/); COVERAGE_TIMEOUT (each boot's wall-clock limit, default
# 3600 s); COVERAGE_SMP=0 leaves out the two-CPU boot.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/report/coverage
KEEP=$BUILD/coverage
SERIALS=()
STEER=1
SAVE=0
SOAK=
UPDATE=0
REPORT_ONLY=0
while [ $# -gt 0 ]; do
	case "$1" in
	--reuse-serial) [ -f "$2" ] || { echo "coverage: no such serial log '$2'" >&2; exit 2; }
		SERIALS+=("$(realpath "$2")"); shift ;;
	--no-steer) STEER=0 ;;
	--save-corpus) SAVE=1 ;;
	--soak) SOAK=$2; shift
		[[ "$SOAK" =~ ^[0-9]+$ ]] && [ "$SOAK" -gt 0 ] ||
			{ echo "coverage: --soak wants a positive number of minutes, got '$SOAK'" >&2; exit 2; } ;;
	--update-list) UPDATE=1 ;;
	--report-only) REPORT_ONLY=1 ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "coverage: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ ${#SERIALS[@]} = 0 ] || [ -z "$SOAK" ] || { echo "coverage: --soak boots the lab: not with --reuse-serial" >&2; exit 2; }
[ $REPORT_ONLY = 0 ] || [ -z "$SOAK" ] || { echo "coverage: --soak boots the lab: not with --report-only" >&2; exit 2; }

KABI=${KABI:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)}
[ -n "$KABI" ] || { echo "coverage: cannot find the lab kernel ABI (apt-get update, or KABI=6.1.0-NN)" >&2; exit 2; }
LABDIR=${COVERAGE_WORKDIR:-$BUILD/lab-coverage}
MODDIR=$LABDIR/module
[ -n "${COVERAGE_WORKDIR:-}" ] || MODDIR=$BUILD/coverage/module
KO=$MODDIR/dune.ko
TIMEOUT=${COVERAGE_TIMEOUT:-3600}
rc=0

# the code of a dune.ko (its text sections): builds in other directories
# differ in their debug information only
ko_id() {
	objdump -d "$1" | tail -n +3 | sha256sum | cut -d' ' -f1
}

# keep KIND: the serial logs of this run and the dune.ko they belong to
keep() {
	local kind=$1 f
	shift
	rm -rf "${KEEP:?}/$kind" && mkdir -p "$KEEP/$kind"
	cp "$KO" "$KEEP/$kind/dune.ko"
	for f in "$@"; do
		[ -f "$f" ] && cp "$f" "$KEEP/$kind/"
	done
	return 0
}

if [ ${#SERIALS[@]} = 0 ] && [ $REPORT_ONLY = 0 ]; then
	"$TOP/harness/deps.sh" lab -- "linux-headers-$KABI-cloud-amd64" >&2
	"$TOP/harness/build-module.sh" --coverage --kdir "/usr/src/linux-headers-$KABI-cloud-amd64" --out "$MODDIR"
	mkdir -p "$KEEP"
	if [ -n "$SOAK" ]; then
		LAB_SOAK_LIST=$TOP/harness/coverage/soak-coverage.list LAB_WORKDIR=$LABDIR-soak \
			LAB_TAG=coverage-soak LAB_TESTS= LAB_FUZZ_SEED= LAB_APPEND= LAB_LISTS= \
			"$TOP/harness/lab/lab.sh" --soak "$SOAK" --module "$KO" --append "DUNE_FUZZ_STEER=$STEER" \
			--timeout "$TIMEOUT" --tap "$KEEP/soak.tap" || rc=$?
		ls "$LABDIR"-soak/soak/round-*.serial > /dev/null 2>&1 ||
			{ echo "coverage: the soak left no serial log" >&2; exit 1; }
		keep soak "$LABDIR"-soak/soak/round-*.serial
		[ $rc = 0 ] || echo "coverage: the soak failed (exit status $rc, $KEEP/soak.tap); reporting what it printed" >&2
	else
		# the side boots, in the background: NAME CPUS
		side=()
		[ "${COVERAGE_SMP:-1}" = 0 ] || side+=("smp 2")
		# their images first, one after the other (the builds share the
		# tree), then the boots side by side (--reuse)
		for b in "${side[@]}"; do
			set -- $b
			LAB_LISTS=$TOP/harness/coverage/lab-coverage-$1.list LAB_WORKDIR=$LABDIR-$1 \
				LAB_TAG=coverage-$1 LAB_TESTS= LAB_FUZZ_SEED= "$TOP/harness/lab/lab.sh" \
				--cpus "$2" --module "$KO" --build-only > "$KEEP/lab-$1.log" 2>&1 ||
				{ echo "coverage: cannot build the $1 boot's images ($KEEP/lab-$1.log)" >&2; exit 1; }
		done
		pids=()
		for b in "${side[@]}"; do
			set -- $b
			LAB_LISTS=$TOP/harness/coverage/lab-coverage-$1.list LAB_WORKDIR=$LABDIR-$1 \
				LAB_TAG=coverage-$1 LAB_TESTS= LAB_FUZZ_SEED= "$TOP/harness/lab/lab.sh" \
				--cpus "$2" --module "$KO" --append "DUNE_FUZZ_STEER=$STEER" --reuse \
				--timeout "$TIMEOUT" --tap "$KEEP/lab-$1.tap" >> "$KEEP/lab-$1.log" 2>&1 &
			pids+=($!)
			echo "coverage: the $1 boot runs beside ($KEEP/lab-$1.log)" >&2
		done
		LAB_LISTS=$TOP/harness/coverage/lab-coverage.list LAB_WORKDIR=$LABDIR LAB_TAG=coverage \
			LAB_TESTS= LAB_FUZZ_SEED= "$TOP/harness/lab/lab.sh" --module "$KO" \
			--append "DUNE_FUZZ_STEER=$STEER" \
			--timeout "$TIMEOUT" --tap "$KEEP/lab.tap" || rc=$?
		[ $rc = 0 ] || echo "coverage: the lab failed (exit status $rc, $KEEP/lab.tap); reporting what it printed" >&2
		logs=("$KEEP/lab.serial")
		[ -f "$LABDIR/run-corei7_skylake_x/serial.clean" ] || { echo "coverage: the lab left no serial log" >&2; exit 1; }
		cp "$LABDIR/run-corei7_skylake_x/serial.clean" "$KEEP/lab.serial"
		i=0
		for b in "${side[@]}"; do
			set -- $b
			wait "${pids[$i]}" || { r=$?; rc=$r
				echo "coverage: the $1 boot failed (exit status $r, $KEEP/lab-$1.tap, $KEEP/lab-$1.log)" >&2; }
			i=$((i + 1))
			cp "$LABDIR-$1/run-corei7_skylake_x/serial.clean" "$KEEP/lab-$1.serial" 2>/dev/null &&
				logs+=("$KEEP/lab-$1.serial")
		done
		keep suite "${logs[@]}"
		rm -f "${logs[@]}"
	fi
fi
if [ ${#SERIALS[@]} = 0 ]; then
	# the kept logs of this dune.ko (a suite run's and a soak's)
	[ -f "$KO" ] || KO=$(ls "$KEEP"/{suite,soak}/dune.ko 2>/dev/null | head -1 || true)
	[ -n "$KO" ] && [ -f "$KO" ] || { echo "coverage: no coverage build and no kept logs: run make coverage" >&2; exit 2; }
	for kind in suite soak; do
		[ -f "$KEEP/$kind/dune.ko" ] || continue
		if [ "$(ko_id "$KEEP/$kind/dune.ko")" = "$(ko_id "$KO")" ]; then
			SERIALS+=("$KEEP/$kind"/*.serial)
		else
			echo "coverage: leaving out the kept $kind logs ($KEEP/$kind): another build of dune.ko" >&2
		fi
	done
	[ ${#SERIALS[@]} -gt 0 ] || { echo "coverage: no serial log to report from" >&2; exit 1; }
	for kind in suite soak; do
		[ -f "$KEEP/$kind/dune.ko" ] && [ "$(ko_id "$KEEP/$kind/dune.ko")" = "$(ko_id "$KO")" ] ||
			echo "coverage: no $kind logs of this dune.ko: the report has no $kind runs" >&2
	done
fi
args=()
for s in "${SERIALS[@]}"; do args+=(--serial "$s"); done
[ $UPDATE = 0 ] || args+=(--update-list)
/usr/bin/python3 "$TOP/harness/coverage/covreport.py" --ko "$KO" \
	--src "$TOP/ref-module" "${args[@]}" --unreached "$TOP/harness/coverage/unreached.list" \
	--commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)" --out "$OUT" || rc=$?
# the inputs the steered fuzzing found (fuzz_end's "new corpus input" lines)
mkdir -p "$OUT"
cat "${SERIALS[@]}" | grep -aoE 'new corpus input: FUZZ_INPUT\("[a-z0-9._]+", 0x[0-9a-f]+, [0-9]+, "[0-9a-f:,]*"\)' |
	sed 's/^new corpus input: //' | awk '!seen[$0]++' > "$OUT/corpus-new.list" || true
echo "coverage: $(wc -l < "$OUT/corpus-new.list") new corpus inputs in $OUT/corpus-new.list"
if [ $SAVE = 1 ] && [ -s "$OUT/corpus-new.list" ]; then
	{ echo; echo "/* make coverage, $(date -u +%Y-%m-%d), commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null) */"
	  cat "$OUT/corpus-new.list"; } >> "$TOP/conformance/fuzz-corpus.list"
	echo "coverage: appended to conformance/fuzz-corpus.list"
fi
exit $rc

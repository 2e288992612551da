#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - `make coverage`: line coverage of dune.ko by the lab tests.
#
# usage: harness/coverage/run.sh [--no-steer] [--save-corpus] [--reuse-serial FILE] [--out DIR]
#
# Builds the coverage build of dune.ko (harness/build-module.sh --coverage,
# against the lab kernel's headers), boots the VMX lab with it and the tests
# of harness/coverage/lab-coverage.list, collects the PCs each dump printed
# on the serial console and writes the report (harness/coverage/covreport.py)
# into build/report/coverage/ (--out): per file and function, lines reached
# of the lines with a basic block, for the suite, the robustness profile and
# both; unreached lines annotated; summary.json in the results format.  The
# unreached lines must be those of harness/coverage/unreached.list, with a
# reason each: a listed line now reached or an unlisted one unreached fails.
#
# The fuzz tests run steered by coverage (DUNE_FUZZ_STEER=1 in the guest,
# conformance/abi/fuzz.h): half of their iterations mutate the inputs of
# conformance/fuzz-corpus.list, and the inputs that reached new module code
# are written to corpus-new.list in the report directory.
#
#   --no-steer           fuzz without steering (fresh inputs and the corpus
#                        run only): the numbers before steering
#   --save-corpus        append corpus-new.list to conformance/fuzz-corpus.list
#   --reuse-serial FILE  no lab: report from the serial log of an earlier
#                        run (build/lab-coverage/run-*/serial.clean)
#   --out DIR            report directory (default build/report/coverage)
#
# Environment: LAB_CACHE, KABI as for harness/lab/lab.sh; COVERAGE_WORKDIR
# (the lab's work directory, default build/lab-coverage); COVERAGE_TIMEOUT
# (the lab's wall-clock limit, default 3600 s).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/report/coverage
SERIAL=
STEER=1
SAVE=0
while [ $# -gt 0 ]; do
	case "$1" in
	--reuse-serial) SERIAL=$(realpath "$2"); shift ;;
	--no-steer) STEER=0 ;;
	--save-corpus) SAVE=1 ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "coverage: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -z "$SERIAL" ] || [ -f "$SERIAL" ] || { echo "coverage: no such serial log '$SERIAL'" >&2; exit 2; }

KABI=${KABI:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)}
[ -n "$KABI" ] || { echo "coverage: cannot find the lab kernel ABI (apt-get update, or KABI=6.1.0-NN)" >&2; exit 2; }
MODDIR=${COVERAGE_WORKDIR:+$COVERAGE_WORKDIR/module}
MODDIR=${MODDIR:-$BUILD/coverage/module}
LABDIR=${COVERAGE_WORKDIR:-$BUILD/lab-coverage}
rc=0
if [ -z "$SERIAL" ]; then
	"$TOP/harness/deps.sh" lab -- "linux-headers-$KABI-cloud-amd64" >&2
	"$TOP/harness/build-module.sh" --coverage --kdir "/usr/src/linux-headers-$KABI-cloud-amd64" --out "$MODDIR"
	mkdir -p "$BUILD/coverage"
	LAB_LISTS=$TOP/harness/coverage/lab-coverage.list LAB_WORKDIR=$LABDIR LAB_TAG=coverage \
		LAB_TESTS= LAB_FUZZ_SEED= "$TOP/harness/lab/lab.sh" --module "$MODDIR/dune.ko" \
		--append "DUNE_FUZZ_STEER=$STEER" \
		--timeout "${COVERAGE_TIMEOUT:-3600}" --tap "$BUILD/coverage/lab.tap" || rc=$?
	SERIAL=$LABDIR/run-corei7_skylake_x/serial.clean
	[ -f "$SERIAL" ] || { echo "coverage: the lab left no serial log" >&2; exit 1; }
	[ $rc = 0 ] || echo "coverage: the lab failed (exit status $rc, $BUILD/coverage/lab.tap); reporting what it printed" >&2
fi
/usr/bin/python3 "$TOP/harness/coverage/covreport.py" --ko "$MODDIR/dune.ko" \
	--src "$TOP/ref-module" --serial "$SERIAL" --unreached "$TOP/harness/coverage/unreached.list" \
	--commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)" --out "$OUT" || rc=$?
# the inputs the steered fuzzing found (fuzz_end's "new corpus input" lines)
mkdir -p "$OUT"
grep -aoE 'new corpus input: FUZZ_INPUT\("[a-z0-9._]+", 0x[0-9a-f]+, [0-9]+, "[0-9a-f:,]*"\)' "$SERIAL" |
	sed 's/^new corpus input: //' | awk '!seen[$0]++' > "$OUT/corpus-new.list" || true
echo "coverage: $(wc -l < "$OUT/corpus-new.list") new corpus inputs in $OUT/corpus-new.list"
if [ $SAVE = 1 ] && [ -s "$OUT/corpus-new.list" ]; then
	{ echo; echo "/* make coverage, $(date -u +%Y-%m-%d), commit $(git -C "$TOP" rev-parse --short HEAD 2>/dev/null) */"
	  cat "$OUT/corpus-new.list"; } >> "$TOP/conformance/fuzz-corpus.list"
	echo "coverage: appended to conformance/fuzz-corpus.list"
fi
exit $rc

#!/bin/bash
# SPDX-License-Identifier: MIT
#
# run.sh - `make coverage`: line coverage of dune.ko by the lab tests.
#
# usage: harness/coverage/run.sh [--reuse-serial FILE] [--soak MINUTES] [--out DIR]
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
#   --soak MINUTES       also run the soak's fuzz tests (random seeds) for
#                        about MINUTES in coverage boots and add their PCs
#   --reuse-serial FILE  no lab: report from the serial log of an earlier
#                        run (build/lab-coverage/run-*/serial.clean)
#   --out DIR            report directory (default build/report/coverage)
#
# Environment: LAB_CACHE, KABI as for harness/lab/lab.sh; COVERAGE_TIMEOUT
# (the lab's wall-clock limit, default 3600 s).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
OUT=$BUILD/report/coverage
SERIAL=
SOAK=
while [ $# -gt 0 ]; do
	case "$1" in
	--reuse-serial) SERIAL=$(realpath "$2"); shift ;;
	--soak) SOAK=$2; shift ;;
	--out) OUT=$2; shift ;;
	-h|--help) sed -n '4,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "coverage: unknown option '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ -z "$SERIAL" ] || [ -f "$SERIAL" ] || { echo "coverage: no such serial log '$SERIAL'" >&2; exit 2; }
if [ -n "$SOAK" ]; then
	[[ "$SOAK" =~ ^[0-9]+$ ]] && [ "$SOAK" -gt 0 ] || { echo "coverage: --soak wants minutes, got '$SOAK'" >&2; exit 2; }
fi

KABI=${KABI:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
	sed -n 's/.*Depends: linux-image-\(.*\)-cloud-amd64$/\1/p' | head -1)}
[ -n "$KABI" ] || { echo "coverage: cannot find the lab kernel ABI (apt-get update, or KABI=6.1.0-NN)" >&2; exit 2; }
MODDIR=$BUILD/coverage/module
LABDIR=$BUILD/lab-coverage
rc=0
if [ -z "$SERIAL" ]; then
	"$TOP/harness/deps.sh" lab -- "linux-headers-$KABI-cloud-amd64" >&2
	"$TOP/harness/build-module.sh" --coverage --kdir "/usr/src/linux-headers-$KABI-cloud-amd64" --out "$MODDIR"
	mkdir -p "$BUILD/coverage"
	LAB_LISTS=$TOP/harness/coverage/lab-coverage.list LAB_WORKDIR=$LABDIR LAB_TAG=coverage \
		LAB_TESTS= LAB_FUZZ_SEED= "$TOP/harness/lab/lab.sh" --module "$MODDIR/dune.ko" \
		--timeout "${COVERAGE_TIMEOUT:-3600}" --tap "$BUILD/coverage/lab.tap" || rc=$?
	SERIAL=$LABDIR/run-corei7_skylake_x/serial.clean
	[ -f "$SERIAL" ] || { echo "coverage: the lab left no serial log" >&2; exit 1; }
	[ $rc = 0 ] || echo "coverage: the lab failed (exit status $rc, $BUILD/coverage/lab.tap); reporting what it printed" >&2
fi
/usr/bin/python3 "$TOP/harness/coverage/covreport.py" --ko "$MODDIR/dune.ko" \
	--src "$TOP/ref-module" --serial "$SERIAL" --unreached "$TOP/harness/coverage/unreached.list" \
	--commit "$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)" --out "$OUT" || rc=$?
exit $rc

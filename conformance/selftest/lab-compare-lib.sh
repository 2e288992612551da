# SPDX-License-Identifier: MIT
# lab-compare-lib.sh - sourced by lab-external.sh and lab-origapi.sh (from
# their own directory) in the VMX lab guest: run the suite linked against
# another library and reduce both its report and the default one to
# "ID RESULT" lines, so the two can be compared.
#
#   compare_args "$@"     handles --quick (every profile but robustness,
#                         whose fuzzing is the slowest part of a run): sets
#                         $profiles and $backends, prints the TAP plan
#   compare_run BE BIN    ensures the default report /tmp/conform-BE.tap
#                         (saved by conformance.BE, else run here), runs BIN
#                         (a dune-conform) into /tmp/conform-BE-NAME.tap,
#                         NAME being BIN's suffix after "dune-conform-", and
#                         writes the IDs BIN selected to /tmp/ids
#   outcomes TAP          the outcome lines "ID RESULT", sorted; RESULT is
#                         ok, fail, skip, todo, xpass, or skip-ext for a
#                         SKIP because the library lacks a function
compare_args() {
	quick=0
	if [ "$1" = --quick ]; then
		quick=1
		shift
	fi
	backends="$*"
	echo "1..$#"
	profiles=
	if [ $quick = 1 ]; then
		for p in core vm traps user signals threads fork apic; do profiles="$profiles -p $p"; done
	fi
}

outcomes() {
	grep -E '^(not )?ok [0-9]+ - ' "$1" | sed -E \
		-e 's/^ok [0-9]+ - ([^ ]+).*# SKIP the library under test does not define .*/\1 skip-ext/' \
		-e 's/^ok [0-9]+ - ([^ ]+).*# SKIP.*/\1 skip/' \
		-e 's/^not ok [0-9]+ - ([^ ]+).*# TODO.*/\1 todo/' \
		-e 's/^ok [0-9]+ - ([^ ]+).*# TODO.*/\1 xpass/' \
		-e 's/^not ok [0-9]+ - ([^ ]+).*/\1 fail/' \
		-e 's/^ok [0-9]+ - ([^ ]+).*/\1 ok/' | sort
}

compare_run() {
	be=$1
	bin=$2
	ref=/tmp/conform-$be.tap
	[ -s "$ref" ] || LAB_CONFORM_SAVE=$ref lab-conform.sh "$be" > /dev/null 2>&1
	# shellcheck disable=SC2086
	DUNE_CONFORM=$bin LAB_CONFORM_SAVE=/tmp/conform-$be-${bin##*/dune-conform-}.tap \
		lab-conform.sh "$be" $profiles > /dev/null 2>&1
	# shellcheck disable=SC2086
	"$bin" --list $profiles | awk '{ print $1 }' | sort > /tmp/ids
}

#!/bin/sh
# SPDX-License-Identifier: MIT
# lab-external.sh [--quick] BACKEND... - in the VMX lab guest: the suite linked
# against a copy of our libdune built elsewhere and installed into a
# prefix (/bin/dune-conform-external, `make -C conformance lab-external`)
# must give the same report as the default build: the same tests, each
# with the same outcome (ok / not ok / SKIP / TODO).  The default report is
# the one conformance.<backend> saved (/tmp/conform-<backend>.tap), else it
# is run here.  Prints TAP, one line per backend.  --quick (make check):
# every profile but robustness, whose fuzzing is the slowest part of a run.
n=0
rc=0
quick=0
if [ "$1" = --quick ]; then
	quick=1
	shift
fi
echo "1..$#"
profiles=
if [ $quick = 1 ]; then
	for p in core vm traps user signals threads fork apic; do profiles="$profiles -p $p"; done
fi
# outcome lines "ID RESULT", sorted
outcomes() {
	grep -E '^(not )?ok [0-9]+ - ' "$1" | sed -E \
		-e 's/^ok [0-9]+ - ([^ ]+).*# SKIP.*/\1 skip/' \
		-e 's/^not ok [0-9]+ - ([^ ]+).*# TODO.*/\1 todo/' \
		-e 's/^ok [0-9]+ - ([^ ]+).*# TODO.*/\1 xpass/' \
		-e 's/^not ok [0-9]+ - ([^ ]+).*/\1 fail/' \
		-e 's/^ok [0-9]+ - ([^ ]+).*/\1 ok/' | sort
}
for be in "$@"; do
	n=$((n + 1))
	ref=/tmp/conform-$be.tap
	[ -s "$ref" ] || LAB_CONFORM_SAVE=$ref lab-conform.sh "$be" > /dev/null 2>&1
	# shellcheck disable=SC2086
	DUNE_CONFORM=/bin/dune-conform-external LAB_CONFORM_SAVE=/tmp/conform-$be-external.tap \
		lab-conform.sh "$be" $profiles > /dev/null 2>&1
	# the default report, restricted to the tests the external run selected
	# shellcheck disable=SC2086
	/bin/dune-conform-external --list $profiles | awk '{ print $1 }' | sort > /tmp/ids
	outcomes "$ref" | awk 'NR == FNR { want[$1] = 1; next } $1 in want' /tmp/ids - > /tmp/o-default
	outcomes /tmp/conform-$be-external.tap > /tmp/o-external
	total=$(wc -l < /tmp/o-default)
	if [ "$total" -gt 0 ] && cmp -s /tmp/o-default /tmp/o-external; then
		echo "ok $n - external.$be: LIBDUNE=<installed copy> gives the default report ($total tests, $(grep -c ' ok$' /tmp/o-default) ok, $(grep -c ' skip$' /tmp/o-default) skip)"
	else
		rc=1
		echo "not ok $n - external.$be: the reports differ (default: $total tests, external: $(wc -l < /tmp/o-external))"
		diff /tmp/o-default /tmp/o-external | head -20 | sed 's/^/#   /'
	fi
done
exit $rc

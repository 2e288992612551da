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
. "$(dirname "$0")/lab-compare-lib.sh"
compare_args "$@"
n=0
rc=0
for be in $backends; do
	n=$((n + 1))
	compare_run "$be" /bin/dune-conform-external
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

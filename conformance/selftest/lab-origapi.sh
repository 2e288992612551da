#!/bin/sh
# SPDX-License-Identifier: MIT
# lab-origapi.sh [--quick] BACKEND... - in the VMX lab guest: the suite
# linked against a library with the original API only (our libdune with
# its dunebench extensions hidden: /bin/dune-conform-origapi, `make -C
# conformance lab-origapi`).  Exactly the extension tests (EXT_TESTS) must
# SKIP, each naming the function it lacks, and every other test must give
# the default report's outcome (ok / not ok / SKIP / TODO).  The default
# report is the one conformance.<backend> saved (/tmp/conform-<backend>.tap),
# else it is run here.  Prints TAP, one line per backend.  --quick (make
# check): every profile but robustness.
EXT_TESTS="api.apic.bad_dest api.apic.eoi api.apic.helpers api.apic.ipi api.apic.outside api.apic.self api.apic.tlb_shootdown"
EXT_TESTS="$EXT_TESTS api.init.bad_backend api.init.enter_ex api.init.enter_idempotent api.vm.pcid"
EXT_TESTS="$EXT_TESTS api.exitless.batch api.exitless.blocking api.exitless.exit api.exitless.mode"
EXT_TESTS="$EXT_TESTS api.exitless.signal_restart api.exitless.thread_calls"
. "$(dirname "$0")/lab-compare-lib.sh"
compare_args "$@"
n=0
rc=0
for be in $backends; do
	n=$((n + 1))
	compare_run "$be" /bin/dune-conform-origapi
	# what the original-API run should give: the default outcomes, but
	# skip-ext for the extension tests (where the default report has them)
	outcomes "$ref" | awk -v ext="$EXT_TESTS" '
		BEGIN { n = split(ext, e, " "); for (i = 1; i <= n; i++) x[e[i]] = 1 }
		NR == FNR { want[$1] = 1; next }
		$1 in want { print $1, ($1 in x ? "skip-ext" : $2) }' /tmp/ids - > /tmp/o-want
	outcomes "/tmp/conform-$be-origapi.tap" > /tmp/o-origapi
	total=$(wc -l < /tmp/o-want)
	if [ "$total" -gt 0 ] && cmp -s /tmp/o-want /tmp/o-origapi; then
		echo "ok $n - origapi.$be: the original API only gives the default report but for the extension tests, which SKIP naming what is missing ($total tests, $(grep -c ' skip-ext$' /tmp/o-want) extension tests)"
		grep "^ok .* # SKIP the library under test does not define" "/tmp/conform-$be-origapi.tap" | sed 's/^/#   /'
	else
		rc=1
		echo "not ok $n - origapi.$be: the reports differ (want: $total tests, original API: $(wc -l < /tmp/o-origapi))"
		diff /tmp/o-want /tmp/o-origapi | head -20 | sed 's/^/#   /'
	fi
done
exit $rc

# SPDX-License-Identifier: MIT
# tap-check.sh - sourced by the project's shell tests: TAP output helpers.
#
#   T       a temporary directory, removed on exit
#   check DESCRIPTION COMMAND...   one TAP line: ok if COMMAND succeeds; on
#                                  failure its last output lines as '#' lines
#   failed  1 once any check failed (use as the script's exit status)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
n=0 failed=0
check() {
	local d=$1; shift
	n=$((n + 1))
	if "$@" >"$T/check.out" 2>&1; then
		echo "ok $n - $d"
	else
		echo "not ok $n - $d"
		sed 's/^/# /' "$T/check.out" | tail -8
		failed=1
	fi
}

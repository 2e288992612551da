// SPDX-License-Identifier: MIT
/*
 * fixtures.c - tests of the runner itself: each fixture behaves in one
 * known way (passes, fails, crashes, hangs, skips...).  Built into
 * ctest-fixtures; conformance/selftest/test_runner.sh checks that the
 * runner reports every one of them correctly and survives them all.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctest.h"

CTEST(pass, .id = "selftest.pass", .profile = "core",
      .what = "returns without failure: pass")
{
	CT_ASSERT_EQ(1 + 1, 2);
}

CTEST(assert_fail, .id = "selftest.assert_fail", .profile = "core",
      .what = "a failed CT_ASSERT_EQ stops the test: fail with both values")
{
	CT_ASSERT_EQ(6 * 7, 41);
	ct_log("not reached");
}

CTEST(expect_fail, .id = "selftest.expect_fail", .profile = "vm",
      .what = "two failed CT_EXPECTs and the test goes on: fail")
{
	CT_EXPECT(0, "first %s", "miss");
	CT_EXPECT(1 == 2);
	ct_log("still running after two expectations");
}

CTEST(segv, .id = "selftest.segv", .profile = "traps",
      .what = "the test process dies of SIGSEGV: fail, runner survives")
{
	volatile int *p = (int *)16;

	*p = 1;
}

CTEST(hang, .id = "selftest.hang", .profile = "signals", .timeout = 1,
      .what = "the test never returns: killed at its timeout, fail")
{
	for (;;)
		pause();
}

CTEST(skip, .id = "selftest.skip", .profile = "user",
      .what = "the test skips itself with a reason: SKIP names it")
{
	CT_SKIP("no frobnicator on this host");
}

CTEST(needs_missing, .id = "selftest.needs_missing", .profile = "core",
      .needs = "dev-dune",
      .what = "needs /dev/dune: SKIP naming the capability when absent")
{
	ct_log("ran because /dev/dune exists");
}

CTEST(vmx_only, .id = "selftest.vmx_only", .profile = "core", .backends = "vmx",
      .what = "a vmx-only test: SKIP on the kvm backend")
{
}

CTEST(abort, .id = "selftest.abort", .profile = "fork",
      .what = "abort(): fail with SIGABRT")
{
	abort();
}

CTEST(exit_code, .id = "selftest.exit_code", .profile = "threads",
      .what = "exits with status 3 without a message: fail with the status")
{
	exit(3);
}

CTEST(child_lingers, .id = "selftest.child_lingers", .profile = "fork", .timeout = 5,
      .what = "leaves a grandchild holding stdout: pass, grandchild killed")
{
	if (fork() == 0) {
		sleep(1);
		_exit(0);
	}
}

CTEST(destructive, .id = "selftest.destructive", .profile = "robustness",
      .destructive = "stands for a test that can crash the host",
      .what = "a destructive test: SKIP without --allow-destructive, runs (and passes) with it")
{
	ct_log("ran: --allow-destructive was given");
}

/* SPDX-License-Identifier: MIT */
/*
 * ctest.h - declare a conformance test.
 *
 * A test is one scenario with a stable ID, run by the conformance runner in
 * a process of its own (Dune mode is per process and one-way).  Declare it
 * with CTEST(); the declaration is the test list: the runner lists, filters,
 * documents (conformance/TESTS.md) and reports tests from these fields only.
 *
 *	#include "ctest.h"
 *
 *	CTEST(vm_map_pages_big,
 *	      .id = "api.vm.map_pages.big",
 *	      .profile = "vm",
 *	      .what = "dune_vm_map_pages with PERM_BIG maps a 2 MB page that reads back",
 *	      .needs = "dune",
 *	      .timeout = 60)
 *	{
 *		CT_ASSERT(dune_init_and_enter() == 0, "dune_init_and_enter failed");
 *		CT_EXPECT_EQ(*p, 42);
 *	}
 *
 * Fields:
 *   .id        stable dotted ID: <group>.<area>.<case>; groups abi, api, guest,
 *              robustness.  Never reuse an ID for a different check.
 *   .profile   one of: core vm traps user signals threads fork apic robustness
 *   .what      one sentence: what conforming behaviour looks like
 *   .needs     space-separated capabilities (see `runner --caps`): "dune"
 *              (the selected libdune backend can work here), "dev-dune"
 *              (/dev/dune opens), "kvm" (/dev/kvm opens), "kvm-native" (and
 *              runs guest ring 0 in hardware), "root", "smp" (2 CPUs or more to run on: vCPUs
 *              running at once); empty = none.  A test whose
 *              capability is missing is reported SKIP naming it.
 *   .backends  "all" (default), "vmx" or "kvm": backend-specific tests (raw
 *              VMCALL hypercalls are vmx-only) are SKIPped on the others.
 *   .timeout   seconds (default 30); the runner kills the test after it.
 *   .destructive  why the test can crash or hang the host (or corrupt its
 *              memory) on a vulnerable implementation, e.g. "a forged vCPU
 *              handle is a kernel pointer the original dereferences"; such a
 *              test runs only with `runner --allow-destructive` (the VMX lab
 *              passes it) and is otherwise SKIPped naming this reason.
 *              Unset (NULL) for every other test.
 *
 * In the body (which runs in the forked test process, possibly in Dune
 * mode, where stdio works through forwarded system calls):
 *   CT_ASSERT(cond, fmt, ...)      fail and stop the test if !cond
 *   CT_ASSERT_EQ(a, b)             fail and stop if a != b (printed as integers)
 *   CT_EXPECT(cond, fmt, ...)      record a failure and continue
 *   CT_EXPECT_EQ(a, b)
 *   CT_SKIP(fmt, ...)              stop; report SKIP with the reason
 *   ct_log(fmt, ...)               a diagnostic line (shown on failure or -v)
 * Returning from the body with no failure is a pass.  Exit codes of the
 * test process: 0 pass, 1 fail, 77 skip; a signal or timeout is a failure.
 */
#ifndef DUNEBENCH_CTEST_H
#define DUNEBENCH_CTEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_EXIT_PASS 0
#define CT_EXIT_FAIL 1
#define CT_EXIT_SKIP 77

struct ctest {
	const char *id;
	const char *profile;
	const char *what;
	const char *needs;
	const char *backends;
	unsigned int timeout;
	const char *destructive;
	void (*fn)(void);
	const char *file;
	int line;
};

/* Section that holds a pointer to every declared test (ELF start/stop symbols). */
#define CTEST_SECTION "ctest_list"

#define CTEST(sym, ...)							\
	static void ctest_fn_##sym(void);				\
	static const struct ctest ctest_desc_##sym = {			\
		.fn = ctest_fn_##sym, .file = __FILE__, .line = __LINE__,	\
		__VA_ARGS__						\
	};								\
	static const struct ctest *const ctest_ptr_##sym		\
	__attribute__((used, section(CTEST_SECTION), aligned(sizeof(void *)))) = \
		&ctest_desc_##sym;					\
	static void ctest_fn_##sym(void)

void ct_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* @fmt starts with '|' (so that it is never an empty format); it is skipped. */
void ct_fail_at(const char *file, int line, int fatal, const char *expr,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void ct_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
/* Number of CT_EXPECT failures so far in this test. */
int ct_failures(void);

#define CT_ASSERT(cond, ...)						\
	do {								\
		if (!(cond))						\
			ct_fail_at(__FILE__, __LINE__, 1, #cond, "|" __VA_ARGS__); \
	} while (0)

#define CT_EXPECT(cond, ...)						\
	do {								\
		if (!(cond))						\
			ct_fail_at(__FILE__, __LINE__, 0, #cond, "|" __VA_ARGS__); \
	} while (0)

#define CT_CMP_EQ_(fatal, a, b)						\
	do {								\
		int64_t ct_a_ = (int64_t)(a), ct_b_ = (int64_t)(b);	\
		if (ct_a_ != ct_b_)					\
			ct_fail_at(__FILE__, __LINE__, fatal, #a " == " #b, \
				   "|got %lld (%#llx), want %lld (%#llx)", \
				   (long long)ct_a_, (unsigned long long)ct_a_, \
				   (long long)ct_b_, (unsigned long long)ct_b_); \
	} while (0)

#define CT_ASSERT_EQ(a, b) CT_CMP_EQ_(1, a, b)
#define CT_EXPECT_EQ(a, b) CT_CMP_EQ_(0, a, b)
#define CT_SKIP(...) ct_skip(__VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* DUNEBENCH_CTEST_H */

/* SPDX-License-Identifier: MIT */
/*
 * cpuloop - the host's noise floor: a chain of 1000 dependent register adds
 * per op, no memory access, no kernel entry.  On a CPU whose core clock
 * equals the TSC it costs 1000 cycles; its spread over repetitions is the
 * host's (core clock against the constant-rate TSC: turbo/boost, an SMT
 * sibling, steal by the hypervisor), not any benchmark's.  A benchmark
 * whose CV is not much above cpuloop's is as steady as this host allows.
 */
#include "micro.h"

#define CPULOOP_ADDS	1000

static void cpuloop_run(void *priv, uint64_t n)
{
	uint64_t x = (uintptr_t)priv;

	for (uint64_t i = 0; i < n; i++)
		for (int k = 0; k < CPULOOP_ADDS / 10; k++)
			asm volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
				     "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
				     "add $1, %0\n\tadd $1, %0" : "+r"(x));
	micro_barrier();
}

const struct micro_ops micro_cpuloop_ops = {
	.run = cpuloop_run,
};

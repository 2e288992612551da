/* SPDX-License-Identifier: MIT */
/*
 * vmexit - null hypercall round trip: VMCALL with a syscall number no
 * kernel has, so the module answers -ENOSYS without running anything.
 * Dune ring 0 only (in any other mode VMCALL is #UD).
 */
#include <stdio.h>

#include "micro.h"

#define VMEXIT_NULL_NR	1023L

static int vmexit_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	(void)priv;
	if (mode != MICRO_DUNE) {
		snprintf(why, len, "VMCALL needs VMX non-root ring 0 (mode dune)");
		return MICRO_UNAVAILABLE;
	}
	return 0;
}

static void vmexit_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++) {
		long ret;

		asm volatile("vmcall" : "=a"(ret) : "0"(VMEXIT_NULL_NR) : "memory");
	}
}

const struct micro_ops micro_vmexit_ops = {
	.setup = vmexit_setup,
	.run = vmexit_run,
};

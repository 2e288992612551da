/* SPDX-License-Identifier: MIT */
/*
 * syscall - getpid round trip.  The SYSCALL instruction itself, not glibc's
 * wrapper (and not a cached pid): in Dune ring 0 the same instruction goes
 * through libdune's syscall path, in ring 3 through its ring-0 handler.
 */
#include <sys/syscall.h>

#include "micro.h"

static void syscall_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++) {
		long ret;

		asm volatile("syscall"
			     : "=a"(ret)
			     : "0"((long)SYS_getpid)
			     : "rcx", "r11", "memory");
	}
}

const struct micro_ops micro_syscall_ops = {
	.run = syscall_run,
};

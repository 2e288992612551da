/* SPDX-License-Identifier: MIT */
/*
 * trap - int3, the kernel delivers SIGTRAP, an empty handler returns
 * (rt_sigreturn), execution continues after the int3.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "micro.h"

static void trap_handler(int sig)
{
	(void)sig;
}

static int trap_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	struct sigaction sa;

	(void)priv;
	if (mode != MICRO_LINUX) {
		/* libdune: dune_register_intr_handler(T_BRKPT, ...) */
		snprintf(why, len, "trap in mode %s: not written until libdune lands",
			 micro_mode_name(mode));
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = trap_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, NULL)) {
		snprintf(why, len, "sigaction(SIGTRAP): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void trap_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++)
		asm volatile("int3" ::: "memory");
}

static void trap_teardown(void *priv)
{
	(void)priv;
	signal(SIGTRAP, SIG_DFL);
}

const struct micro_ops micro_trap_ops = {
	.setup = trap_setup,
	.run = trap_run,
	.teardown = trap_teardown,
};

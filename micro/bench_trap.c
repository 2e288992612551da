/* SPDX-License-Identifier: MIT */
/*
 * trap - int3, the kernel delivers SIGTRAP, an empty handler returns
 * (rt_sigreturn), execution continues after the int3.
 *
 * In mode dune: an exception delivered straight to the guest IDT, a handler
 * registered with dune_register_intr_handler() in guest ring 0, iret back
 * (mode dune-user: the same from ring 3, bench_user.c).  Which exception
 * depends on what the backend's hypervisor intercepts:
 *   kvm: int3 -> #BP (KVM intercepts #UD, to emulate instructions);
 *   vmx: ud2 -> #UD, the handler steps over it (the /dev/dune ABI, as the
 *        original module, intercepts #BP and #DB for a debugger, so an
 *        int3 would leave the guest).
 */
#include <string.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>

static void trap_intr(struct dune_tf *tf)
{
	tf->rip += 2;	/* over the ud2 */
}

static void trap_intr_bp(struct dune_tf *tf)
{
	(void)tf;
}

static void trap_run_ud2(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++)
		asm volatile("ud2" ::: "memory");
}
#endif

int micro_trap_use_ud2(void)
{
	const char *be = micro_mode_backend();

	return be && !strcmp(be, "vmx");
}

static void trap_handler(int sig)
{
	(void)sig;
}

static int trap_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	struct sigaction sa;

	(void)priv;
#ifdef MICRO_HAVE_LIBDUNE
	if (mode != MICRO_LINUX) {
		if (dune_register_intr_handler(T_ILLOP, trap_intr) ||
		    dune_register_intr_handler(T_BRKPT, trap_intr_bp)) {
			snprintf(why, len, "dune_register_intr_handler(T_ILLOP/T_BRKPT) failed");
			return MICRO_FAILED;
		}
		return 0;
	}
#endif
	if (mode != MICRO_LINUX) {
		snprintf(why, len, "trap in mode %s needs libdune", micro_mode_name(mode));
		return MICRO_UNAVAILABLE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = trap_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTRAP, &sa, NULL)) {
		snprintf(why, len, "sigaction(SIGTRAP): %s", strerror(errno));
		return MICRO_FAILED;
	}
	return 0;
}

static void trap_run_int3(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++)
		asm volatile("int3" ::: "memory");
}

static void trap_run(void *priv, uint64_t n)
{
#ifdef MICRO_HAVE_LIBDUNE
	if (micro_trap_use_ud2()) {
		trap_run_ud2(priv, n);
		return;
	}
#endif
	trap_run_int3(priv, n);
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

/* SPDX-License-Identifier: MIT */
/*
 * bench_user.c - mode dune-user: the timed ops run in guest ring 3 under a
 * ring-0 handler, the way a Dune sandbox runs untrusted code.
 *
 * The driver (ring 0) times run(n): micro_user_call() enters ring 3 with
 * dune_jump_to_user, the ring-3 loop does n ops, and a final system call
 * returns to ring 0 (dune_ret_from_user).  baseline(n) is the same entry and
 * return around an empty loop, and is subtracted, so the number per op is
 * the op alone.
 *
 *   syscall  ring-3 getpid: syscall -> ring-0 handler -> dune_passthrough_syscall
 *            (a VMCALL on vmx, an `out` exit on kvm) -> sysret/iret to ring 3
 *   ptrace   the same, with a handler that intercepts: it looks at the call
 *            and counts it before passing it through (the sandbox's check;
 *            the paper's "ptrace" row in Dune)
 *   trap     ring-3 exception -> IDT handler in ring 0 -> iret: int3 on kvm,
 *            ud2 (#UD, the handler steps over it) on vmx, whose ABI
 *            intercepts #BP for a debugger (bench_trap.c says why)
 */
#include <stdio.h>
#include <sys/syscall.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>
#endif

static int user_setup_common(enum micro_mode mode, char *why, size_t len)
{
#ifdef MICRO_HAVE_LIBDUNE
	if (mode == MICRO_DUNE_USER)
		return 0;
#endif
	snprintf(why, len, "ring-3 variant needs mode dune-user and libdune (mode %s)",
		 micro_mode_name(mode));
	return MICRO_UNAVAILABLE;
}

/* --- ring 3 loops */

static void u_getpid(void *arg, uint64_t n)
{
	(void)arg;
	for (uint64_t i = 0; i < n; i++) {
		long ret;

		asm volatile("syscall"
			     : "=a"(ret)
			     : "0"((long)SYS_getpid)
			     : "rcx", "r11", "memory");
	}
}

static void u_ud2(void *arg, uint64_t n)
{
	(void)arg;
	for (uint64_t i = 0; i < n; i++)
		asm volatile("ud2" ::: "memory");
}

static void u_int3(void *arg, uint64_t n)
{
	(void)arg;
	for (uint64_t i = 0; i < n; i++)
		asm volatile("int3" ::: "memory");
}

static void u_empty(void *arg, uint64_t n)
{
	(void)arg;
	for (uint64_t i = 0; i < n; i++)
		micro_barrier();
}

/* --- ring 0 */

static void user_baseline(void *priv, uint64_t n)
{
	(void)priv;
	micro_user_call(u_empty, NULL, n);
}

static void syscall_user_run(void *priv, uint64_t n)
{
	(void)priv;
	micro_user_call(u_getpid, NULL, n);
}

static int syscall_user_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	(void)priv;
	if (user_setup_common(mode, why, len))
		return MICRO_UNAVAILABLE;
	micro_user_set_hook(NULL);	/* plain passthrough */
	return 0;
}

const struct micro_ops micro_syscall_user_ops = {
	.setup = syscall_user_setup,
	.run = syscall_user_run,
	.baseline = user_baseline,
};

#ifdef MICRO_HAVE_LIBDUNE
static volatile uint64_t intercepted[512];

static void ptrace_hook(struct dune_tf *tf)
{
	if (tf->rax < 512)
		intercepted[tf->rax]++;		/* what a tracer looks at */
	dune_passthrough_syscall(tf);
}

static void trap_user_intr(struct dune_tf *tf)
{
	tf->rip += 2;	/* over the ud2 */
}

static void trap_user_intr_bp(struct dune_tf *tf)
{
	(void)tf;
}
#endif

static int ptrace_user_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	(void)priv;
	if (user_setup_common(mode, why, len))
		return MICRO_UNAVAILABLE;
#ifdef MICRO_HAVE_LIBDUNE
	micro_user_set_hook(ptrace_hook);
#endif
	return 0;
}

static void ptrace_user_report(void *priv, struct micro_info *info)
{
	(void)priv;
#ifdef MICRO_HAVE_LIBDUNE
	micro_info_add(info, "getpid_intercepted", (double)intercepted[SYS_getpid]);
#else
	(void)info;
#endif
}

static void ptrace_user_teardown(void *priv)
{
	(void)priv;
	micro_user_set_hook(NULL);
}

const struct micro_ops micro_ptrace_user_ops = {
	.setup = ptrace_user_setup,
	.run = syscall_user_run,
	.baseline = user_baseline,
	.report = ptrace_user_report,
	.teardown = ptrace_user_teardown,
};

static int trap_user_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	(void)priv;
	if (user_setup_common(mode, why, len))
		return MICRO_UNAVAILABLE;
#ifdef MICRO_HAVE_LIBDUNE
	if (dune_register_intr_handler(T_ILLOP, trap_user_intr) ||
	    dune_register_intr_handler(T_BRKPT, trap_user_intr_bp)) {
		snprintf(why, len, "dune_register_intr_handler(T_ILLOP/T_BRKPT) failed");
		return MICRO_FAILED;
	}
#endif
	return 0;
}

static void trap_user_run(void *priv, uint64_t n)
{
	(void)priv;
	micro_user_call(micro_trap_use_ud2() ? u_ud2 : u_int3, NULL, n);
}

const struct micro_ops micro_trap_user_ops = {
	.setup = trap_user_setup,
	.run = trap_user_run,
	.baseline = user_baseline,
};

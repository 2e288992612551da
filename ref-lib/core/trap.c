// SPDX-License-Identifier: MIT
/*
 * trap.c - trap and ring-3 syscall dispatch (guest ring 0), the default
 * handlers, and dune_signal().
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__attribute__((visibility("hidden"))) dune_intr_cb dune_intr_cbs[256];
__attribute__((visibility("hidden"))) dune_pgflt_cb dune_pgflt_cb_fn;
/*
 * What dune.S's trap entries call, without a test: dune_trap_fast (dune.S)
 * holds the registered handler or the vector's thunk to
 * dune_trap_dispatch; vector 14 from ring 3 always takes dune_trap_dispatch
 * (a page fault there may be a signal); from ring 0 the entry calls
 * dune_pgflt_fast.
 */
__attribute__((visibility("hidden"))) dune_pgflt_cb dune_pgflt_fast = __dune_pgflt_slow;
__attribute__((visibility("hidden"))) dune_syscall_cb dune_syscall_cb_fn;
static sighandler_t sig_cbs[64];

static const char *const trap_names[] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound",
	"invalid opcode", "device not available", "double fault", "coprocessor",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 FPU error", "alignment check",
	"machine check", "SIMD error", "virtualization", "control protection",
};

static void set_intr(int vec, dune_intr_cb cb)
{
	dune_intr_cbs[vec] = cb;
	if (vec != 14)
		dune_trap_fast[vec] = cb ? cb : (dune_intr_cb)(uintptr_t)(__dune_trap_thunks + 16 * vec);
}

int dune_register_intr_handler(int vec, dune_intr_cb cb)
{
	if (vec < 0 || vec > 255)
		return -EINVAL;
	set_intr(vec, cb);
	return 0;
}

int dune_register_signal_handler(int signum, dune_intr_cb cb)
{
	if (signum < 1 || DUNE_SIGNAL_INTR_BASE + signum > 255)
		return -EINVAL;
	return dune_register_intr_handler(DUNE_SIGNAL_INTR_BASE + signum, cb);
}

void dune_register_pgflt_handler(dune_pgflt_cb cb)
{
	dune_pgflt_cb_fn = cb;
	dune_pgflt_fast = cb ? cb : __dune_pgflt_slow;
}

void dune_register_syscall_handler(dune_syscall_cb cb)
{
	dune_syscall_cb_fn = cb;
}

void dune_dump_trap_frame(struct dune_tf *tf)
{
	dune_printf("--- Begin Trap Dump ---\n");
	dune_printf("RIP 0x%016lx  CS 0x%04x  RFLAGS 0x%016lx\n", (unsigned long)tf->rip,
		    tf->cs, (unsigned long)tf->rflags);
	dune_printf("RSP 0x%016lx  SS 0x%04x  ERR 0x%08x\n", (unsigned long)tf->rsp, tf->ss,
		    tf->err);
	dune_printf("RAX 0x%016lx RCX 0x%016lx RDX 0x%016lx RBX 0x%016lx\n",
		    (unsigned long)tf->rax, (unsigned long)tf->rcx, (unsigned long)tf->rdx,
		    (unsigned long)tf->rbx);
	dune_printf("RBP 0x%016lx RSI 0x%016lx RDI 0x%016lx\n", (unsigned long)tf->rbp,
		    (unsigned long)tf->rsi, (unsigned long)tf->rdi);
	dune_printf("R8  0x%016lx R9  0x%016lx R10 0x%016lx R11 0x%016lx\n",
		    (unsigned long)tf->r8, (unsigned long)tf->r9, (unsigned long)tf->r10,
		    (unsigned long)tf->r11);
	dune_printf("R12 0x%016lx R13 0x%016lx R14 0x%016lx R15 0x%016lx\n",
		    (unsigned long)tf->r12, (unsigned long)tf->r13, (unsigned long)tf->r14,
		    (unsigned long)tf->r15);
	dune_printf("--- End Trap Dump ---\n");
}

static unsigned long read_cr2(void)
{
	unsigned long cr2;

	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	return cr2;
}

static void die_on_trap(struct dune_tf *tf, uint64_t vec, unsigned long cr2)
{
	const char *name = vec < sizeof(trap_names) / sizeof(trap_names[0]) ?
			   trap_names[vec] : "interrupt";

	if (vec == 14)
		dune_printf("libdune: unhandled page fault at %#lx (error code %#x) in ring %d, rip %#lx\n",
			    cr2, tf->err, tf->cs & 3, (unsigned long)tf->rip);
	else
		dune_printf("libdune: unhandled trap %lu (%s) in ring %d, rip %#lx\n",
			    (unsigned long)vec, name, tf->cs & 3, (unsigned long)tf->rip);
	dune_dump_trap_frame(tf);
	dune_printf("libdune: no handler registered for it: exiting\n");
	syscall(SYS_exit_group, 128 + (vec == 14 ? SIGSEGV : SIGILL));
	for (;;)
		;
}

/* a not-present fault on memory the host has mapped since we last looked */
static bool resync_fault(unsigned long addr, uint64_t fec)
{
	ptent_t *pte;

	if (fec & FEC_P || !dune_be || !dune_be->mirrors_host)
		return false;
	if (dune_layout_map_all())
		return false;
	if (dune_vm_lookup(pgroot, (void *)addr, CREATE_NONE, &pte) || !(*pte & PTE_P))
		return false;
	dune_flush_tlb_one(addr);
	return true;
}

__attribute__((visibility("hidden")))
void dune_trap_dispatch(struct dune_tf *tf, uint64_t vec)
{
	/* vmx: a signal for ring 3, see struct dune_percpu's sig_vec */
	if (vec == 14 && (tf->cs & 3) && tf->rip == DUNE_VMX_SIGNAL_RIP && dune_pc &&
	    dune_pc->sig_vec) {
		vec = dune_pc->sig_vec;
		tf->rip = dune_pc->sig_rip;
		tf->err = 0;
		dune_pc->sig_vec = 0;
	}
	if (vec == 14) {
		unsigned long cr2 = read_cr2();

		if (dune_pgflt_cb_fn) {
#ifdef DUNE_MUTANT_LIB_PGFLT_CR2
			cr2 = 0;	/* mutant LIB_PGFLT_CR2: CR2 not reported */
#endif
			dune_pgflt_cb_fn(cr2, tf->err, tf);
			return;
		}
		if (resync_fault(cr2, tf->err))
			return;
		die_on_trap(tf, vec, cr2);
	}
	if (dune_intr_cbs[vec]) {
		dune_intr_cbs[vec](tf);
		return;
	}
	die_on_trap(tf, vec, 0);
}

static bool user_frame_ok(const struct dune_tf *tf)
{
	return (uint64_t)((int64_t)(tf->rip << 16) >> 16) == tf->rip &&
	       (tf->cs | 0x10) == (GD_UT | 3) && tf->ss == (GD_UD | 3);
}

/*
 * __dune_pop_tf was asked to return to a ring-3 frame that IRETQ cannot
 * enter (RIP not canonical, CS/SS not the ring-3 selectors): the
 * IRETQ would fault in ring 0.  Ring 0 state is still ring 0's; the frame
 * is reported as a #GP (error code 0) of ring 3 to the vector-13 handler.
 * If that returns, the frame is entered only when it is now sound.
 */
__attribute__((visibility("hidden")))
void dune_bad_user_frame(struct dune_tf *tf)
{
	if (dune_intr_cbs[13]) {
		tf->err = 0;
		dune_intr_cbs[13](tf);
		if (!(tf->cs & 3) || user_frame_ok(tf))
			return;
	}
	dune_printf("libdune: cannot return to ring 3: rip %#lx rsp %#lx cs %#x ss %#x\n",
		    (unsigned long)tf->rip, (unsigned long)tf->rsp, tf->cs, tf->ss);
	dune_dump_trap_frame(tf);
	syscall(SYS_exit_group, 128 + SIGSEGV);
	for (;;)
		;
}

__attribute__((visibility("hidden")))
void dune_syscall_dispatch_user(struct dune_tf *tf)
{
	if (dune_syscall_cb_fn) {
		dune_syscall_cb_fn(tf);
		return;
	}
	/* no handler: the original's behaviour would be undefined; run it */
	dune_passthrough_syscall(tf);
}

void dune_passthrough_syscall(struct dune_tf *tf)
{
#ifdef DUNE_MUTANT_LIB_PASSTHROUGH_ARG4
	tf->rcx = 0;	/* mutant LIB_PASSTHROUGH_ARG4: the 4th argument is dropped */
#endif
	tf->rax = (uint64_t)dune_raw_syscall6((long)tf->rax, (long)tf->rdi, (long)tf->rsi,
					      (long)tf->rdx, (long)tf->rcx, (long)tf->r8,
					      (long)tf->r9);
}

/* ------------------------------------------------------------ signals */

static void signal_intr(struct dune_tf *tf)
{
	(void)tf;
}

/* vector 200 + sig in the guest: run the dune_signal() handler */
static void signal_vector(int sig)
{
#ifdef DUNE_MUTANT_LIB_SIGNAL_DROP
	return;		/* mutant LIB_SIGNAL_DROP: dune_signal handlers never run */
#endif
	if (sig > 0 && sig < 64 && sig_cbs[sig] && sig_cbs[sig] != SIG_IGN &&
	    sig_cbs[sig] != SIG_DFL)
		sig_cbs[sig](sig);
}

#define SIGVEC(n) static void sigvec_##n(struct dune_tf *tf) { (void)tf; signal_vector(n); }
SIGVEC(1) SIGVEC(2) SIGVEC(3) SIGVEC(4) SIGVEC(5) SIGVEC(6) SIGVEC(7) SIGVEC(8)
SIGVEC(9) SIGVEC(10) SIGVEC(11) SIGVEC(12) SIGVEC(13) SIGVEC(14) SIGVEC(15) SIGVEC(16)
SIGVEC(17) SIGVEC(18) SIGVEC(19) SIGVEC(20) SIGVEC(21) SIGVEC(22) SIGVEC(23) SIGVEC(24)
SIGVEC(25) SIGVEC(26) SIGVEC(27) SIGVEC(28) SIGVEC(29) SIGVEC(30) SIGVEC(31)
static const dune_intr_cb sigvecs[32] = {
	signal_intr, sigvec_1, sigvec_2, sigvec_3, sigvec_4, sigvec_5, sigvec_6, sigvec_7,
	sigvec_8, sigvec_9, sigvec_10, sigvec_11, sigvec_12, sigvec_13, sigvec_14,
	sigvec_15, sigvec_16, sigvec_17, sigvec_18, sigvec_19, sigvec_20, sigvec_21,
	sigvec_22, sigvec_23, sigvec_24, sigvec_25, sigvec_26, sigvec_27, sigvec_28,
	sigvec_29, sigvec_30, sigvec_31,
};

bool dune_signal_wanted(int sig)
{
	return sig > 0 && sig < 32 && dune_intr_cbs[DUNE_SIGNAL_INTR_BASE + sig];
}

/* host handler: in Dune mode the backend delivers it as an interrupt */
static void host_signal_handler(int sig)
{
	if (dune_pc)
		dune_deliver_signal(sig);
	else
		signal_vector(sig);
}

sighandler_t dune_signal(int sig, sighandler_t cb)
{
	struct sigaction sa, old;
	sighandler_t prev;

	if (sig < 1 || sig >= 32) {
		errno = EINVAL;
		return SIG_ERR;
	}
	prev = sig_cbs[sig];
	memset(&sa, 0, sizeof(sa));
	if (cb == SIG_IGN || cb == SIG_DFL) {
		sa.sa_handler = cb;
		set_intr(DUNE_SIGNAL_INTR_BASE + sig, NULL);
	} else {
		sa.sa_handler = host_signal_handler;
		sa.sa_flags = SA_RESTART;
		set_intr(DUNE_SIGNAL_INTR_BASE + sig, sigvecs[sig]);
	}
	sig_cbs[sig] = cb;
	if (sigaction(sig, &sa, &old) < 0)
		return SIG_ERR;
	return prev ? prev : old.sa_handler;
}

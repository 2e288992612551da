// SPDX-License-Identifier: GPL-2.0
/*
 * VMCALL: the guest's system calls (docs/abi.md section 4).
 *
 * RAX = number, arguments in RDI, RSI, RDX, R10, R8, R9, result in RAX;
 * RIP is already past the VMCALL.  exit/exit_group stop the run loop
 * with DUNE_RET_EXIT (status = code) and leave the thread alive; clone,
 * fork, vfork and clone3 start the child in normal (non-Dune) mode at
 * the guest's RIP, or at RCX when RIP is not a user address (libdune's
 * syscall trampoline lives at the kernel's LSTAR address); clone3 gets
 * -ENOSYS (C libraries then use clone); everything else runs the host's
 * system call through sys_call_table.  A call interrupted by a signal is
 * restarted (RIP back on the VMCALL) or fails with -EINTR as the handler's
 * SA_RESTART says, like a native system call.
 */
#include <linux/errno.h>
#include <linux/file.h>
#include <linux/kernel.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task_stack.h>
#include <linux/signal.h>
#include <asm/processor.h>
#include <asm/ptrace.h>
#include <asm/segment.h>
#include <asm/unistd.h>

#include "dune_mod.h"
#include "vmx.h"

#define USER_FLAGS	(X86_EFLAGS_CF | X86_EFLAGS_PF | X86_EFLAGS_AF | \
			 X86_EFLAGS_ZF | X86_EFLAGS_SF | X86_EFLAGS_TF | \
			 X86_EFLAGS_DF | X86_EFLAGS_OF | X86_EFLAGS_AC | \
			 X86_EFLAGS_ID)

/* struct pt_regs as if the guest had executed SYSCALL in user mode. */
static void guest_to_pt_regs(const struct dune_vcpu *v, unsigned long nr,
			     struct pt_regs *regs)
{
	*regs = v->regs;
	regs->orig_ax = nr;
	regs->ax = -ENOSYS;
	regs->flags = (v->regs.flags & USER_FLAGS) | X86_EFLAGS_IF |
		      X86_EFLAGS_FIXED;
	regs->cs = __USER_CS;
	regs->ss = __USER_DS;
}

/*
 * The clone family copies the *current* user registers (the frame of
 * our ioctl) into the child, so the guest's registers go there for the
 * duration of the call.
 */
static long hypercall_clone(struct dune_vcpu *v, unsigned long nr)
{
	struct pt_regs *frame = current_pt_regs();
	struct pt_regs saved = *frame;
	long ret;

	if (dune_vmx_sync_regs(v))	/* RSP and RFLAGS go to the child */
		return -EIO;
	guest_to_pt_regs(v, nr, frame);
	if (frame->ip >= TASK_SIZE_MAX)
		frame->ip = v->regs.cx;
	ret = dune_syscall_call(nr, frame);
	*frame = saved;
	return ret;
}

/*
 * The signal Linux will deliver when the ioctl returns: the lowest
 * pending, unblocked one.  Returns false if none is pending (freezer).
 */
static bool next_signal_action(struct k_sigaction *ka)
{
	struct task_struct *t = current;
	sigset_t pending;
	bool found = false;
	int sig;

	spin_lock_irq(&t->sighand->siglock);
	sigorsets(&pending, &t->pending.signal,
		  &t->signal->shared_pending.signal);
	sigandnsets(&pending, &pending, &t->blocked);
	for (sig = 1; sig < _NSIG; sig++) {
		if (sigismember(&pending, sig)) {
			*ka = t->sighand->action[sig - 1];
			found = true;
			break;
		}
	}
	spin_unlock_irq(&t->sighand->siglock);
	return found;
}

/*
 * A system call interrupted by a signal: decide as Linux's signal
 * delivery would (arch/x86/kernel/signal.c) whether the guest sees -EINTR
 * or re-executes the VMCALL once the signal was handled.  The run loop
 * then stops with DUNE_RET_SIGNAL and Linux runs the handler as the ioctl
 * returns.  Returns the value for RAX.
 */
static long restart_or_eintr(struct dune_vcpu *v, unsigned long nr, long ret)
{
	struct k_sigaction ka;
	bool handler = false;

	if (next_signal_action(&ka))
		handler = ka.sa.sa_handler != SIG_DFL &&
			  ka.sa.sa_handler != SIG_IGN;
#ifdef DUNE_MUTANT_MOD_SIGNAL_EXIT
	/* mutant MOD_SIGNAL_EXIT: an interrupted call fails, the run goes on */
	return -EINTR;
#endif
	switch (ret) {
	case -ERESTARTNOHAND:
	case -ERESTART_RESTARTBLOCK:
		if (handler)
			return -EINTR;
		break;
	case -ERESTARTSYS:
		if (handler && !(ka.sa.sa_flags & SA_RESTART))
			return -EINTR;
		break;
	case -ERESTARTNOINTR:
		break;
	default:
		return ret;
	}
	v->regs.ip -= DUNE_VMCALL_INSN_LEN;	/* RIP is valid and dirty */
	return ret == -ERESTART_RESTARTBLOCK ? __NR_restart_syscall : nr;
}

/*
 * DUNE_ENTER from inside the guest would nest run loops on this kernel
 * stack, one level per call: refuse it before it can overflow.
 */
static bool is_nested_enter(const struct dune_vcpu *v)
{
	struct fd f;
	bool nested;

	if ((u32)v->regs.si != DUNE_ENTER)	/* ioctl takes an unsigned int */
		return false;
	f = fdget(v->regs.di);
	nested = dune_file_is_dune(f.file);
	fdput(f);
	return nested;
}

/*
 * System calls that do not go straight to sys_call_table: the module
 * implements or refuses them.  Everything else takes the fast path
 * (dune_hypercall() in vmx.h).
 */
DECLARE_BITMAP(dune_hypercall_special_nrs, NR_syscalls) __read_mostly;

void dune_hypercall_init(void)
{
	static const unsigned int nrs[] = {
		__NR_exit, __NR_exit_group, __NR_sigaltstack, __NR_iopl,
		__NR_clone3, __NR_clone, __NR_fork, __NR_vfork, __NR_ioctl,
		__NR_arch_prctl, __NR_execve, __NR_execveat,
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(nrs); i++)
		__set_bit(nrs[i], dune_hypercall_special_nrs);
}

/*
 * After the host system call @nr returned @ret when that needs more than
 * storing @ret in RAX: an execve() that replaced the address space, or a
 * call interrupted by a signal.  Returns true when the run loop stops.
 */
bool dune_hypercall_finish(struct dune_vcpu *v, unsigned long nr, long ret)
{
	if (current->mm != v->mm) {
		/* execve() succeeded: the ioctl returns into the new program */
		v->exec_seen = true;
		v->ret = DUNE_RET_EXIT;
		v->status = 0;
		return true;
	}
	if (ret <= -ERESTARTSYS && ret >= -ERESTART_RESTARTBLOCK)
		ret = restart_or_eintr(v, nr, ret);
	v->regs.ax = ret;
	return false;
}

/*
 * The system calls of dune_hypercall_special_nrs and numbers beyond the
 * table.  Returns true when the run loop stops (v->ret set).
 */
bool dune_hypercall_slow(struct dune_vcpu *v)
{
	unsigned long nr = v->regs.ax;
	long ret;

	switch (nr) {
	case __NR_exit:
	case __NR_exit_group:
		v->ret = DUNE_RET_EXIT;
#ifdef DUNE_MUTANT_MOD_EXIT_STATUS
		/* mutant MOD_EXIT_STATUS: the exit status is lost */
		v->status = 0;
#else
		v->status = v->regs.di;
#endif
		return true;
	case __NR_sigaltstack:
	case __NR_iopl:
		ret = -EINVAL;
		break;
	case __NR_clone3:
		/* as on the kernels Dune was written for: libc falls back to clone */
		ret = -ENOSYS;
		break;
	case __NR_clone:
	case __NR_fork:
	case __NR_vfork:
		/* the child inherits the thread's GS base */
		dune_vmx_put_host(v);
		ret = hypercall_clone(v, nr);
		break;
	case __NR_execve:
	case __NR_execveat:
		/* a new program starts with new segment bases */
		dune_vmx_put_host(v);
		v->regs.orig_ax = nr;
		ret = dune_syscall_call(nr, &v->regs);
		break;
	case __NR_ioctl:
		if (is_nested_enter(v)) {
			ret = -EBUSY;
			break;
		}
		v->regs.orig_ax = nr;
		ret = dune_syscall_call(nr, &v->regs);
		break;
	case __NR_arch_prctl:
		dune_vmx_put_host(v);	/* it reads or sets the thread's GS base */
		v->regs.orig_ax = nr;
		ret = dune_syscall_call(nr, &v->regs);
#ifndef DUNE_MUTANT_MOD_HOST_SEGS_STALE
		/* it may change the FS or GS base that the next exit restores */
		v->host_segs_stale = true;
#endif
		/* (mutant MOD_HOST_SEGS_STALE: the change is undone at exit) */
		break;
	default:
		ret = -EINVAL;	/* nr >= NR_syscalls, as the original */
		break;
	}
	return dune_hypercall_finish(v, nr, ret);
}

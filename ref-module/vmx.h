/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The vCPU and the interfaces between the VT-x core (vmx.c), the EPT
 * (ept.c), the hypercalls (hypercall.c) and the vCPU bookkeeping (vcpu.c).
 */
#ifndef DUNE_VMX_H
#define DUNE_VMX_H

#include <linux/errno.h>
#include <linux/list.h>
#include <linux/mmu_notifier.h>
#include <linux/nospec.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/bitops.h>
#include <linux/spinlock.h>
#include <linux/stddef.h>
#include <linux/types.h>
#include <asm/desc_defs.h>
#include <asm/ptrace.h>
#include <asm/syscall.h>

#include <dune/abi.h>

#include "apic.h"
#include "dune_mod.h"

/*
 * The guest's general-purpose registers live in a struct pt_regs (the
 * layout of the kernel's system-call frame), so that a VMCALL hands them
 * to the host system call as they are, without a copy.  VM entry and exit
 * switch RIP, RSP and RFLAGS through the VMCS; @ip, @sp and @flags cache
 * them, valid as struct dune_vcpu.regs_avail says and written back at the
 * next VM entry as regs_dirty says.  vmx_entry.S uses the offsets
 * (checked here).
 */
#define DUNE_REG_RIP		BIT(0)
#define DUNE_REG_RSP		BIT(1)
#define DUNE_REG_RFLAGS		BIT(2)
#define DUNE_REG_VMCS		(DUNE_REG_RIP | DUNE_REG_RSP | DUNE_REG_RFLAGS)
/* regs_dirty only: inject struct dune_vcpu.event at the next VM entry */
#define DUNE_REG_EVENT		BIT(3)

static_assert(offsetof(struct pt_regs, r15) == 0);
static_assert(offsetof(struct pt_regs, bp) == 32);
static_assert(offsetof(struct pt_regs, bx) == 40);
static_assert(offsetof(struct pt_regs, r11) == 48);
static_assert(offsetof(struct pt_regs, r8) == 72);
static_assert(offsetof(struct pt_regs, ax) == 80);
static_assert(offsetof(struct pt_regs, di) == 112);

#define DUNE_EPT_CACHE_PAGES	4	/* tables one 4K mapping may need */

/*
 * struct dune_ept - the EPT of one vCPU: a lazily filled shadow of the
 * process page tables over the three guest-physical windows.
 */
struct dune_ept {
	u64 *root;			/* PML4 (kernel VA) */
	u64 eptp;
	spinlock_t lock;		/* protects the tables */
	struct mmu_notifier mn;
	bool mn_registered;
	unsigned long mmu_seq;		/* bumped when an invalidation ends */
	long invalidate_in_progress;
	atomic_t flush_pending;		/* INVEPT before the next entry */
	bool released;			/* the mm is gone */
	void *cache[DUNE_EPT_CACHE_PAGES];
	int ncache;
	/* the windows of the owning process's layout (layout.c) */
	u64 phys_limit;
	int nwindows;
	struct dune_ept_window {
		u64 gpa_start;
		u64 gpa_end;
		u64 hva_start;
	} windows[5];
};

enum dune_vcpu_mode {
	DUNE_OUTSIDE_GUEST = 0,
	DUNE_IN_GUEST = 1,
};

/* What the VM exit left, read while the VMCS was current. */
struct dune_exit_info {
	u32 reason;
	u32 intr_info;
	u32 insn_len;
	u32 insn_error;			/* VM entry failed: VM-instruction error */
	u8 cpl;				/* VMCALL, MOV DR, XSETBV: guest CPL */
	u64 qual;
	u64 gpa;
	u64 gla;
	/* for the dump of unhandled exits */
	u64 cr0;
	u64 cr3;
	u64 cr4;
	u64 efer;
	u32 interruptibility;
	u32 activity;
};

/*
 * struct dune_vcpu - a vCPU: created by DUNE_ENTER with vcpu == 0, named
 * by @handle in struct dune_config, bound to the creating thread @task
 * and its address space @mm, destroyed when the file is released.
 */
struct dune_vcpu {
	struct list_head list;		/* in dune_file.vcpus */
	u64 handle;
	struct task_struct *task;	/* reference held */
	struct mm_struct *mm;		/* mmgrab'd */

	/* VMX */
	void *vmcs;
	u64 vmcs_pa;
	int cpu;			/* where the VMCS is active, or -1 */
	struct list_head loaded_link;	/* in that CPU's loaded_vcpus */
	bool launched;
	u16 vpid;
	int mode;			/* enum dune_vcpu_mode */
	u64 host_cr3;			/* HOST_* values now in the VMCS */
	u64 host_cr4;
	u64 host_fs_base;
	struct desc_ptr host_gdt;	/* this CPU's GDT, reloaded after exits */
	bool note_rcu;			/* report an RCU quiescent state at entry */
	bool host_segs_stale;		/* read the host state again (vmx.c) */
	/*
	 * After an exit the CPU keeps the guest's KERNEL_GS_BASE and the GDT
	 * and TSS limits VM exit left, until the thread is switched out or
	 * leaves the run loop (vmx.c, "lazy host state").
	 */
	bool host_lazy;
	u64 host_kernel_gs_base;	/* the thread's, put back then */
#ifdef CONFIG_PREEMPT_NOTIFIERS
	struct preempt_notifier preempt_nb;
#endif

	/* guest registers (see DUNE_REG_*) and state outside the VMCS */
	struct pt_regs regs;
	u8 regs_avail;
	u8 regs_dirty;
	u32 event;			/* VM-entry interruption info (DUNE_REG_EVENT) */
	u32 event_error;		/* and its error code */
	u64 guest_kernel_gs_base;

	struct dune_exit_info exit;
	s64 ret;			/* DUNE_RET_* when the run loop stops */
	s64 status;
	bool exec_seen;			/* a hypercall execve()d: no copy-out */

	struct dune_ept ept;
	struct dune_apic apic;		/* apic.c: x2APIC, IPIs */

	/* dune_stats.c: debugfs vcpus/<tgid>.<tid>.<file_id>.<handle>/ */
	u64 file_id;			/* dune_file.id of the creating file */
	u64 exit_counts[DUNE_EXIT_REASON_MAX + 1];	/* [MAX]: failed entries */
	u64 runs;				/* DUNE_ENTER calls */
	struct dentry *dbg;

	/* vmcs_dump.c: VMCS snapshots on request (DUNE_VMCS_SNAP_*) */
	u8 vmcs_snap_req;
	struct dune_vmcs_snap *vmcs_snap;
};

/* vmcs_dump.c: when to take a VMCS snapshot (struct dune_vcpu.vmcs_snap_req) */
enum {
	DUNE_VMCS_SNAP_OFF = 0,
	DUNE_VMCS_SNAP_NEXT = 1,	/* at the next VM exit, then off */
	DUNE_VMCS_SNAP_EVERY = 2,	/* at every VM exit */
};

void dune_vmcs_snap_exit(struct dune_vcpu *v);
void dune_vmcs_snap_add(struct dune_vcpu *v);
void dune_vmcs_snap_free(struct dune_vcpu *v);

/* dune_stats.c */
void dune_stats_vcpu_add(struct dune_vcpu *v);
void dune_stats_vcpu_remove(struct dune_vcpu *v);

/* vmx_entry.S */
int __dune_vmx_run(struct pt_regs *regs, unsigned int resume);
void __dune_vmx_exit(void);
void __dune_vmx_do_nmi(void);

/* vmx.c */
int dune_vmx_init(void);
void dune_vmx_exit(void);
int dune_vmx_get(void);
void dune_vmx_put(void);
int dune_vmx_vcpu_setup(struct dune_vcpu *v, const struct dune_config *conf);
void dune_vmx_vcpu_free(struct dune_vcpu *v);
int dune_vmx_run(struct dune_vcpu *v);
int dune_vmx_sync_regs(struct dune_vcpu *v);
void dune_vmx_put_host(struct dune_vcpu *v);
struct seq_file;
void dune_vmx_show_config(struct seq_file *m);
void dune_vmx_kick_flush(struct dune_vcpu *v);

/* ept.c */
int dune_ept_init(struct dune_vcpu *v, u64 layout_ext);
void dune_ept_destroy(struct dune_vcpu *v);
int dune_ept_fault(struct dune_vcpu *v, u64 gpa, u64 qual);

/* hypercall.c */
void dune_hypercall_init(void);
bool dune_hypercall_slow(struct dune_vcpu *v);
bool dune_hypercall_finish(struct dune_vcpu *v, unsigned long nr, long ret);
extern unsigned long dune_hypercall_special_nrs[];

/*
 * A pending signal ends the run (DUNE_RET_SIGNAL) so that Linux can
 * deliver it when the ioctl returns.
 */
#ifdef DUNE_MUTANT_MOD_SIGNAL_EXIT
/* mutant MOD_SIGNAL_EXIT: only fatal signals end the run */
#define dune_signal_pending(t)	fatal_signal_pending(t)
#else
#define dune_signal_pending(t)	signal_pending(t)
#endif

/* syscall_table.c */
int dune_syscall_table_init(void);
bool dune_syscall_available(void);
extern const sys_call_ptr_t *dune_sys_call_table;

/* Run host system call @nr with @regs (nr < NR_syscalls checked here). */
static inline long dune_syscall_call(unsigned long nr,
				     const struct pt_regs *regs)
{
	if (unlikely(!dune_sys_call_table || nr >= NR_syscalls))
		return -ENOSYS;
	nr = array_index_nospec(nr, NR_syscalls);
	return dune_sys_call_table[nr](regs);
}

/*
 * dune_hypercall - the guest executed VMCALL; RIP is already past it.
 * RAX = system call number, arguments in RDI, RSI, RDX, R10, R8, R9
 * (docs/abi.md section 4).  The guest's registers are a struct pt_regs,
 * so the common case hands them to the host system call as they are;
 * hypercall.c has the rest.  Returns true when the run loop stops.
 */
static __always_inline bool dune_hypercall(struct dune_vcpu *v)
{
#ifdef DUNE_MUTANT_MOD_SYSCALL_NR32
	/* mutant MOD_SYSCALL_NR32: the number's high 32 bits are dropped */
	unsigned long nr = (u32)v->regs.ax;
#else
	unsigned long nr = v->regs.ax;
#endif
	long ret;

	if (unlikely(nr >= NR_syscalls ||
		     test_bit(nr, dune_hypercall_special_nrs)))
		return dune_hypercall_slow(v);
	v->regs.orig_ax = nr;
#ifdef DUNE_MUTANT_MOD_SYSCALL_R10
	{
		/* mutant MOD_SYSCALL_R10: the 4th argument arrives as 0 */
		struct pt_regs regs = v->regs;

		regs.r10 = 0;
		ret = dune_syscall_call(nr, &regs);
	}
#else
	ret = dune_syscall_call(nr, &v->regs);
#endif
	if (unlikely(current->mm != v->mm ||
		     (ret <= -ERESTARTSYS && ret >= -ERESTART_RESTARTBLOCK)))
		return dune_hypercall_finish(v, nr, ret);
	v->regs.ax = ret;
	return false;
}

#endif /* DUNE_VMX_H */

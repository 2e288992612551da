// SPDX-License-Identifier: GPL-2.0
/*
 * vCPUs of an open /dev/dune file, and DUNE_ENTER.
 *
 * struct dune_config.vcpu carries an opaque handle, never a kernel
 * pointer: it names one of the vCPUs created through the same file and
 * is accepted only from the thread that created it (a vCPU's EPT mirrors
 * that thread's address space).  Releasing the file destroys its vCPUs
 * and no others.
 */
#include <linux/errno.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/seccomp.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/processor-flags.h>

#include "dune_mod.h"
#include "vmx.h"

/* RFLAGS bits a guest may have (VM entry checks the rest) */
#define GUEST_RFLAGS_MASK	(0x3fffffUL & ~(X86_EFLAGS_VM | BIT(15) | \
						BIT(5) | BIT(3)))

static bool allow_seccomp_bypass;
module_param(allow_seccomp_bypass, bool, 0644);
MODULE_PARM_DESC(allow_seccomp_bypass,
		 "let tasks under a seccomp filter enter Dune (their hypercalls bypass the filter)");

static atomic64_t dune_file_ids = ATOMIC64_INIT(0);
/* every open file, for the reaper of exited threads' vCPUs (below) */
static LIST_HEAD(dune_files);
static DEFINE_MUTEX(dune_files_lock);
static void vcpu_reap_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(vcpu_reaper, vcpu_reap_work);

void dune_file_init(struct dune_file *df)
{
	df->id = atomic64_inc_return(&dune_file_ids);
	mutex_init(&df->lock);
	INIT_LIST_HEAD(&df->vcpus);
	INIT_LIST_HEAD(&df->traps);
	df->next_handle = 1;
	mutex_lock(&dune_files_lock);
	list_add(&df->all, &dune_files);
	mutex_unlock(&dune_files_lock);
}

static void vcpu_destroy(struct dune_vcpu *v)
{
	dune_stats_vcpu_remove(v);
	dune_vmx_vcpu_free(v);
	dune_ept_destroy(v);
	put_task_struct(v->task);
	mmdrop(v->mm);
	kfree(v);
	atomic_dec(&dune_stats.vcpus_live);
	dune_vmx_put();
}

/*
 * vCPUs of threads that have exited.  Nothing can enter them again (only
 * their thread could), but the ABI has no call that frees a vCPU and a
 * process usually keeps its /dev/dune file open while threads come and
 * go, so they are reaped: at every DUNE_ENTER on the same file and, for
 * files nobody enters any more, by a worker once a second while vCPUs
 * exist.  A thread with PF_EXITING is past its last ioctl.
 */
static void reap_dead_vcpus(struct dune_file *df)
{
	struct dune_vcpu *v, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&df->lock);
	list_for_each_entry_safe(v, tmp, &df->vcpus, list)
		if (v->task != current && (READ_ONCE(v->task->flags) & PF_EXITING))
			list_move(&v->list, &dead);
	mutex_unlock(&df->lock);
	list_for_each_entry_safe(v, tmp, &dead, list) {
		list_del(&v->list);
		vcpu_destroy(v);
	}
}

static void vcpu_reap_work(struct work_struct *work)
{
	struct dune_file *df;

	mutex_lock(&dune_files_lock);
	list_for_each_entry(df, &dune_files, all)
		reap_dead_vcpus(df);
	mutex_unlock(&dune_files_lock);
	if (atomic_read(&dune_stats.vcpus_live))
		schedule_delayed_work(&vcpu_reaper, HZ);
}

void dune_file_destroy(struct dune_file *df)
{
	struct dune_vcpu *v, *tmp;

	mutex_lock(&dune_files_lock);
	list_del(&df->all);
	mutex_unlock(&dune_files_lock);

	list_for_each_entry_safe(v, tmp, &df->vcpus, list) {
		list_del(&v->list);
		vcpu_destroy(v);
	}
	mutex_destroy(&df->lock);
}

static bool task_has_seccomp(void)
{
#ifdef CONFIG_SECCOMP
	return current->seccomp.mode != SECCOMP_MODE_DISABLED;
#else
	return false;
#endif
}

static struct dune_vcpu *vcpu_create(struct dune_file *df,
				     const struct dune_config *conf)
{
	struct dune_vcpu *v;
	u64 layout_ext;
	int r;

	if (!current->mm)
		return ERR_PTR(-EINVAL);
	if (task_has_seccomp() && !allow_seccomp_bypass) {
		pr_warn_ratelimited("dune: pid %d is under seccomp; Dune hypercalls would bypass it, refusing (module parameter allow_seccomp_bypass)\n",
				    task_pid_nr(current));
		return ERR_PTR(-EPERM);
	}
	r = dune_vmx_get();
	if (r)
		return ERR_PTR(r);
	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v) {
		r = -ENOMEM;
		goto err_put;
	}
	v->cpu = -1;
	get_task_struct(current);
	v->task = current;
	mmgrab(current->mm);
	v->mm = current->mm;

	mutex_lock(&df->lock);
	layout_ext = df->layout_ext;
	mutex_unlock(&df->lock);
	r = dune_ept_init(v, layout_ext);
	/*
	 * mmu_notifier_register() gives up with -EINTR when a signal is
	 * pending; nothing exists yet, so the call starts again after the
	 * signal's handler instead of failing (the robustness fuzzer hit it
	 * with its run-bound timer signal).
	 */
	if (r == -EINTR)
		r = -ERESTARTNOINTR;
	if (r)
		goto err_ept;
	r = dune_vmx_vcpu_setup(v, conf);
	if (r)
		goto err_vmx;

	mutex_lock(&df->lock);
	v->handle = df->next_handle++;
	v->file_id = df->id;
	list_add_tail(&v->list, &df->vcpus);
	mutex_unlock(&df->lock);
	dune_stats_vcpu_add(v);
	atomic_inc(&dune_stats.vcpus_live);
	atomic_inc(&dune_stats.vcpus_created);
	schedule_delayed_work(&vcpu_reaper, HZ);	/* no-op if pending */
	return v;

err_vmx:
	dune_ept_destroy(v);
err_ept:
	put_task_struct(v->task);
	mmdrop(v->mm);
	kfree(v);
err_put:
	dune_vmx_put();
	return ERR_PTR(r);
}

/*
 * A handle is good if it names a vCPU of this file created by this
 * thread in its current address space.
 */
static struct dune_vcpu *vcpu_lookup(struct dune_file *df, u64 handle)
{
	struct dune_vcpu *v, *found = NULL;

	mutex_lock(&df->lock);
	list_for_each_entry(v, &df->vcpus, list) {
		if (v->handle == handle) {
			found = v;
			break;
		}
	}
	mutex_unlock(&df->lock);
	if (!found)
		return ERR_PTR(-EINVAL);
	if (found->task != current)
		return ERR_PTR(-EPERM);
	if (found->mm != current->mm)
		return ERR_PTR(-EINVAL);
	return found;
}

static void conf_to_gprs(const struct dune_config *c, struct pt_regs *g)
{
	g->ax = c->rax;
	g->bx = c->rbx;
	g->cx = c->rcx;
	g->dx = c->rdx;
	g->si = c->rsi;
	g->di = c->rdi;
	g->bp = c->rbp;
	g->r8 = c->r8;
	g->r9 = c->r9;
	g->r10 = c->r10;
	g->r11 = c->r11;
	g->r12 = c->r12;
	g->r13 = c->r13;
	g->r14 = c->r14;
	g->r15 = c->r15;
}

/* RIP, RSP and RFLAGS must be valid (dune_vmx_sync_regs()). */
static void vcpu_to_conf(const struct dune_vcpu *v, struct dune_config *c)
{
	const struct pt_regs *g = &v->regs;

	c->ret = v->ret;
	c->status = v->status;
	c->rax = g->ax;
	c->rbx = g->bx;
	c->rcx = g->cx;
	c->rdx = g->dx;
	c->rsi = g->si;
	c->rdi = g->di;
	c->rsp = g->sp;
	c->rbp = g->bp;
	c->r8 = g->r8;
	c->r9 = g->r9;
	c->r10 = g->r10;
	c->r11 = g->r11;
	c->r12 = g->r12;
	c->r13 = g->r13;
	c->r14 = g->r14;
	c->r15 = g->r15;
	c->rip = g->ip;
	c->rflags = g->flags;
	c->vcpu = v->handle;
}

/*
 * DUNE_ENTER: vcpu == 0 creates a vCPU with the registers, RIP, RFLAGS
 * and CR3 of @uconf; a handle re-enters that vCPU with the registers,
 * RSP, RIP and RFLAGS of @uconf (the original reloaded only the general
 * purpose registers; a caller that passes back what it got sees no
 * difference, and one that changes RIP/RSP can inject a signal frame).  Runs the guest until it exits to user space, then writes
 * the registers, the reason (ret/status) and the handle back.
 */
long dune_enter(struct dune_file *df, struct dune_config __user *uconf)
{
	struct dune_config conf;
	struct dune_vcpu *v;
	int r;

	if (copy_from_user(&conf, uconf, sizeof(conf)))
		return -EFAULT;
	reap_dead_vcpus(df);
	if (conf.vcpu) {
		v = vcpu_lookup(df, conf.vcpu);
#ifdef DUNE_MUTANT_MOD_VCPU_HANDLE
		/* mutant MOD_VCPU_HANDLE: an unknown handle creates a vCPU */
		if (v == ERR_PTR(-EINVAL))
			goto create;
#endif
		if (IS_ERR(v))
			return PTR_ERR(v);
		if (READ_ONCE(v->ept.released))
			return -EIO;
		conf_to_gprs(&conf, &v->regs);
		/* honoured too, so that libraries can inject a signal frame */
		v->regs.sp = conf.rsp;
		v->regs.ip = conf.rip;
		v->regs.flags = (conf.rflags & GUEST_RFLAGS_MASK) |
				X86_EFLAGS_FIXED;
		v->regs_avail |= DUNE_REG_VMCS;
		/* a queued exception goes: its instruction runs again */
		v->regs_dirty = (v->regs_dirty & ~DUNE_REG_EVENT) | DUNE_REG_VMCS;
	} else {
#ifdef DUNE_MUTANT_MOD_VCPU_HANDLE
create:
#endif
		v = vcpu_create(df, &conf);
		if (IS_ERR(v))
			return PTR_ERR(v);
		conf_to_gprs(&conf, &v->regs);	/* RIP/RSP/RFLAGS: in the VMCS */
	}
	v->ret = 0;
	v->status = 0;
	v->runs++;

	r = dune_vmx_run(v);
	if (r)
		return r;
	if (v->exec_seen)
		return 0;	/* a new program: its memory is not @uconf */
	vcpu_to_conf(v, &conf);
	if (copy_to_user(uconf, &conf, sizeof(conf)))
		return -EFAULT;
	return 0;
}

int dune_core_init(void)
{
	int r;

	r = dune_vmx_init();
	if (r)
		return r;
	dune_syscall_table_init();	/* without it, hypercalls fail */
	dune_hypercall_init();
	return 0;
}

void dune_core_exit(void)
{
	cancel_delayed_work_sync(&vcpu_reaper);	/* no files are left */
	dune_vmx_exit();
}

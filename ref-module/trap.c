// SPDX-License-Identifier: GPL-2.0
/*
 * DUNE_TRAP_ENABLE / DUNE_TRAP_DISABLE: debugger support (docs/abi.md
 * section 2).
 *
 * A thread arms a trap with a struct dune_trap_config.  From then on, each
 * time that thread is scheduled in while its saved user RIP is @trigger_rip,
 * and after @delay further sched-ins, its user registers are copied to
 * @regs and it continues, in normal (host) mode, at
 * @notify_func(@regs, @priv) with RSP lowered past the 128-byte red zone.
 *
 * Where the original kept one global configuration, every trap here
 * belongs to one thread and one open file: processes (and threads) cannot
 * see or change each other's traps.
 *
 * The mechanism is a preempt notifier on the arming thread.  Its sched_in
 * callback runs in scheduler context (preemption off, no faults allowed),
 * so it cannot copy_to_user(); the @regs buffer is pinned at arm time and
 * written through the kernel mapping instead.  Arming therefore checks
 * @regs up front: a buffer that is not writable memory of the caller fails
 * with -EFAULT at DUNE_TRAP_ENABLE rather than being ignored later.
 *
 * Lifetime: a preempt notifier may only be unregistered by its own task
 * (the list is the task's, walked at every context switch), and stays in
 * use until the task has scheduled for the last time.  So:
 *   - DUNE_TRAP_DISABLE, re-arming and a release of the file by the owner
 *     thread unregister at once;
 *   - a release by any other thread (or by the delayed-fput worker) only
 *     disarms the trap (under @lock, so that a callback running on another
 *     CPU finishes first) and moves it to a list of orphans, which hold a
 *     module reference and are freed once the owner task is gone for good
 *     (only our reference to its task_struct is left).
 */
#include <linux/highmem.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/preempt.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/ptrace.h>

#include "dune_mod.h"

#ifdef CONFIG_PREEMPT_NOTIFIERS

#define TRAP_REGS_SIZE	sizeof(struct dune_trap_regs)

/* struct dune_trap - one armed trap of one thread, through one file */
struct dune_trap {
	struct preempt_notifier pn;
	struct list_head list;		/* dune_file.traps, or trap_orphans */
	struct task_struct *task;	/* owner (referenced) */
	struct mm_struct *mm;		/* owner's mm when armed (grabbed) */
	raw_spinlock_t lock;		/* @armed, @pages vs. the callback */
	bool armed;
	bool registered;		/* on @task's notifier list */
	bool triggered;
	u8 count;
	struct dune_trap_config conf;
	unsigned int npages;		/* pinned pages under conf.regs */
	struct page *pages[2];
};

static LIST_HEAD(trap_orphans);
static DEFINE_MUTEX(trap_orphans_lock);
static void trap_reap_work(struct work_struct *work);
static DECLARE_DELAYED_WORK(trap_reaper, trap_reap_work);

static inline struct dune_trap *to_trap(struct preempt_notifier *pn)
{
	return container_of(pn, struct dune_trap, pn);
}

/* Copy @len bytes to the pinned user buffer at @t->conf.regs. */
static void trap_write_pinned(struct dune_trap *t, const void *src, size_t len)
{
	unsigned long uaddr = (unsigned long)t->conf.regs;
	unsigned int off = offset_in_page(uaddr), i;
	const u8 *p = src;

	for (i = 0; i < t->npages && len; i++) {
		size_t n = min_t(size_t, len, PAGE_SIZE - off);
		void *dst = kmap_local_page(t->pages[i]);

		memcpy(dst + off, p, n);
		kunmap_local(dst);
		p += n;
		len -= n;
		off = 0;
	}
}

static void trap_snapshot(const struct pt_regs *regs, struct dune_trap_regs *s)
{
	s->rax = regs->ax;
	s->rbx = regs->bx;
	s->rcx = regs->cx;
	s->rdx = regs->dx;
	s->rsi = regs->si;
	s->rdi = regs->di;
	s->rsp = regs->sp;
	s->rbp = regs->bp;
	s->r8 = regs->r8;
	s->r9 = regs->r9;
	s->r10 = regs->r10;
	s->r11 = regs->r11;
	s->r12 = regs->r12;
	s->r13 = regs->r13;
	s->r14 = regs->r14;
	s->r15 = regs->r15;
	s->rip = regs->ip;
	s->rflags = regs->flags;
}

/* Scheduler context: @current is the owner, preemption is off. */
static void trap_sched_in(struct preempt_notifier *pn, int cpu)
{
	struct dune_trap *t = to_trap(pn);
	struct pt_regs *regs = task_pt_regs(current);
	struct dune_trap_regs snap;
	unsigned long flags;

	raw_spin_lock_irqsave(&t->lock, flags);
	if (!t->armed || current->mm != t->mm || !user_64bit_mode(regs))
		goto out;
	if (!t->triggered && regs->ip == t->conf.trigger_rip) {
		t->triggered = true;
		t->count = t->conf.delay;
	}
	if (!t->triggered || t->count-- != 0)
		goto out;
	t->triggered = false;

	trap_snapshot(regs, &snap);
	/*
	 * A debugger single-stepping over a breakpoint would otherwise get
	 * its step notification inside notify_func.
	 */
	regs->flags &= ~X86_EFLAGS_TF;
	clear_tsk_thread_flag(current, TIF_SINGLESTEP);
	if (t->npages) {
		trap_write_pinned(t, &snap, sizeof(snap));
		regs->ip = (unsigned long)t->conf.notify_func;
		regs->di = (unsigned long)t->conf.regs;
		regs->si = (unsigned long)t->conf.priv;
		regs->sp -= 128;	/* the System V x86-64 red zone */
	}
out:
	raw_spin_unlock_irqrestore(&t->lock, flags);
}

static void trap_sched_out(struct preempt_notifier *pn,
			   struct task_struct *next)
{
}

static struct preempt_ops trap_preempt_ops = {
	.sched_in	= trap_sched_in,
	.sched_out	= trap_sched_out,
};

static void trap_unpin(struct dune_trap *t)
{
	if (t->npages)
		unpin_user_pages_dirty_lock(t->pages, t->npages, true);
	t->npages = 0;
}

static void trap_free(struct dune_trap *t)
{
	trap_unpin(t);
	mmdrop(t->mm);
	put_task_struct(t->task);
	kfree(t);
}

/* Owner thread only: stop the callbacks for good. */
static void trap_unregister_self(struct dune_trap *t)
{
	if (!t->registered)
		return;
	preempt_disable();
	preempt_notifier_unregister(&t->pn);
	preempt_enable();
	t->registered = false;
}

/*
 * Pin the user buffer @conf->regs for writing.  Only when @regs_size says
 * it is a struct dune_trap_regs; otherwise (as in the original) the trap
 * fires without a snapshot or a redirect.
 */
static int trap_pin(struct dune_trap *t)
{
	unsigned long start = (unsigned long)t->conf.regs;
	unsigned long first, last;
	int n, want;

	if (t->conf.regs_size != TRAP_REGS_SIZE)
		return 0;
	if (!access_ok((void __user *)start, TRAP_REGS_SIZE))
		return -EFAULT;
	first = start >> PAGE_SHIFT;
	last = (start + TRAP_REGS_SIZE - 1) >> PAGE_SHIFT;
	want = last - first + 1;
	n = pin_user_pages_fast(start & PAGE_MASK, want,
				FOLL_WRITE | FOLL_LONGTERM, t->pages);
	if (n < 0)
		return n;
	if (n != want) {
		if (n > 0)
			unpin_user_pages(t->pages, n);
		return -EFAULT;
	}
	t->npages = n;
	return 0;
}

static struct dune_trap *trap_find_mine(struct dune_file *df)
{
	struct dune_trap *t;

	list_for_each_entry(t, &df->traps, list)
		if (t->task == current)
			return t;
	return NULL;
}

long dune_trap_enable(struct dune_file *df,
		      const struct dune_trap_config __user *uconf)
{
	struct dune_trap *t, *old;
	int r;

	if (!current->mm)
		return -EINVAL;
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t)
		return -ENOMEM;
	if (copy_from_user(&t->conf, uconf, sizeof(t->conf))) {
		kfree(t);
		return -EFAULT;
	}
	r = trap_pin(t);
	if (r) {
		pr_debug_ratelimited("dune: DUNE_TRAP_ENABLE: regs %px is not writable memory of pid %d\n",
				     t->conf.regs, task_pid_nr(current));
		kfree(t);
		return r;
	}
	raw_spin_lock_init(&t->lock);
	get_task_struct(current);
	t->task = current;
	mmgrab(current->mm);
	t->mm = current->mm;
	t->armed = true;
	preempt_notifier_init(&t->pn, &trap_preempt_ops);

	mutex_lock(&df->lock);
	old = trap_find_mine(df);
	if (old) {
		trap_unregister_self(old);
		list_del(&old->list);
	}
	preempt_disable();
	preempt_notifier_register(&t->pn);
	preempt_enable();
	t->registered = true;
	list_add_tail(&t->list, &df->traps);
	mutex_unlock(&df->lock);
	if (old)
		trap_free(old);
	return 0;
}

/* DUNE_TRAP_DISABLE: the calling thread's trap on this file (none: 0). */
long dune_trap_disable(struct dune_file *df)
{
	struct dune_trap *t;

	mutex_lock(&df->lock);
	t = trap_find_mine(df);
	if (t) {
		trap_unregister_self(t);
		list_del(&t->list);
	}
	mutex_unlock(&df->lock);
	if (t)
		trap_free(t);
	return 0;
}

/* Is @t's owner gone, never to be scheduled again? */
static bool trap_owner_gone(struct dune_trap *t)
{
	return refcount_read(&t->task->usage) == 1;
}

static void trap_reap(void)
{
	struct dune_trap *t, *tmp;
	bool more;

	mutex_lock(&trap_orphans_lock);
	list_for_each_entry_safe(t, tmp, &trap_orphans, list) {
		if (!trap_owner_gone(t))
			continue;
		list_del(&t->list);
		trap_free(t);
		module_put(THIS_MODULE);
	}
	more = !list_empty(&trap_orphans);
	mutex_unlock(&trap_orphans_lock);
	if (more)
		schedule_delayed_work(&trap_reaper, HZ);
}

static void trap_reap_work(struct work_struct *work)
{
	trap_reap();
}

/* Release of @df: its traps go (see the lifetime rules at the top). */
void dune_trap_release(struct dune_file *df)
{
	struct dune_trap *t, *tmp;
	unsigned long flags;
	bool orphans = false;

	list_for_each_entry_safe(t, tmp, &df->traps, list) {
		list_del(&t->list);
		if (!t->registered || t->task == current) {
			trap_unregister_self(t);
			trap_free(t);
			continue;
		}
#ifndef DUNE_MUTANT_MOD_TRAP_RELEASE
		raw_spin_lock_irqsave(&t->lock, flags);
		t->armed = false;
		raw_spin_unlock_irqrestore(&t->lock, flags);
		trap_unpin(t);
#else
		/* mutant MOD_TRAP_RELEASE: the orphan stays armed */
		(void)flags;
#endif
		__module_get(THIS_MODULE);
		mutex_lock(&trap_orphans_lock);
		list_add_tail(&t->list, &trap_orphans);
		mutex_unlock(&trap_orphans_lock);
		orphans = true;
	}
	if (orphans)
		trap_reap();
}

void dune_trap_init(void)
{
	preempt_notifier_inc();
}

void dune_trap_exit(void)
{
	/* no orphans left: each holds a module reference */
	cancel_delayed_work_sync(&trap_reaper);
	preempt_notifier_dec();
}

#else /* !CONFIG_PREEMPT_NOTIFIERS */

/* Without preempt notifiers there is no hook at sched-in: "absent". */
long dune_trap_enable(struct dune_file *df,
		      const struct dune_trap_config __user *uconf)
{
	pr_warn_once("dune: DUNE_TRAP_ENABLE needs a kernel with CONFIG_PREEMPT_NOTIFIERS\n");
	return -ENOTTY;
}

long dune_trap_disable(struct dune_file *df)
{
	return -ENOTTY;
}

void dune_trap_release(struct dune_file *df)
{
}

void dune_trap_init(void)
{
}

void dune_trap_exit(void)
{
}

#endif /* CONFIG_PREEMPT_NOTIFIERS */

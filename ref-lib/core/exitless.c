// SPDX-License-Identifier: MIT
/*
 * exitless.c - exit-less system calls (a dunebench extension).
 *
 * A forwarded system call normally leaves the guest (VMCALL on vmx, an
 * `out` to the run loop on kvm).  In exit-less mode the guest writes the
 * call into a slot it shares with a host thread of the same process (its
 * poller), which runs it and writes the result back while the guest polls
 * (exitless_entry.S): no VM exit when the poller is awake on another CPU.
 *
 * One poller per vCPU: a call that blocks (a read on an empty pipe) blocks
 * only its own vCPU, as it would natively.  The poller spins for a while
 * after each call, then sleeps in FUTEX_WAIT on the slot; the guest wakes
 * it with one FUTEX_WAKE through the exit path.  The guest polls XL_SPIN
 * times, then sleeps in FUTEX_WAIT through the exit path (signals: see
 * exitless_entry.S).  A slot is a page of libdune's page pool (mapped in
 * the guest page tables and, on vmx, reached through EPT like the rest of
 * the pool).  When a thread ends its poller idles in a pool and serves the
 * next thread that enters; exit_group (exit, Ctrl-C) ends them all with
 * the process.  A forked child has none of the parent's.
 *
 * Calls that depend on the calling thread, or that the library must see,
 * take the exit path in either mode: exit_list[] below (docs/api.md).
 *
 * Opt-in: DUNE_SYSCALL=exitless (default for every thread that enters) or
 * dune_syscall_mode() per thread.  Without a second CPU the exit path is
 * used (DUNE_SYSCALL_DEBUG=1 says so once); DUNE_SYSCALL_FORCE=1 uses
 * the pollers anyway (the lab's one-CPU boots test them that way).  A
 * poller runs where the scheduler puts it, except that the poller of a
 * thread pinned to one CPU takes the other CPUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/futex.h>

#include "internal.h"

/* the calls that may run on the poller: all below XL_NR_MAX but exit_list */
uint64_t dune_xl_map[XL_NR_MAX / 64] __attribute__((visibility("hidden")));

/*
 * Always the exit path.  Keep docs/api.md ("Exit-less system calls") in
 * step with this list.
 */
static const short exit_list[] = {
	/* the thread itself: its identity, life, CPU, scheduling, credentials */
	SYS_gettid, SYS_exit, SYS_exit_group, SYS_clone, SYS_clone3, SYS_fork, SYS_vfork,
	SYS_execve, SYS_execveat, SYS_set_tid_address, SYS_set_robust_list,
	SYS_get_robust_list, SYS_rseq, SYS_unshare, SYS_setns, SYS_arch_prctl, SYS_prctl,
	SYS_seccomp, SYS_ptrace, SYS_personality, SYS_iopl, SYS_ioperm, SYS_modify_ldt,
	SYS_capset, SYS_setuid, SYS_setgid, SYS_setreuid, SYS_setregid, SYS_setresuid,
	SYS_setresgid, SYS_setfsuid, SYS_setfsgid, SYS_setgroups, SYS_sched_setaffinity,
	SYS_sched_getaffinity, SYS_sched_setscheduler, SYS_sched_getscheduler,
	SYS_sched_setparam, SYS_sched_getparam, SYS_sched_setattr, SYS_sched_getattr,
	SYS_sched_yield, SYS_getcpu, SYS_getpriority, SYS_setpriority, SYS_ioprio_set,
	SYS_ioprio_get, SYS_getrusage, SYS_clock_gettime, SYS_clock_getres,
	SYS_restart_syscall, SYS_futex, SYS_io_uring_setup, SYS_io_uring_enter,
	SYS_io_uring_register,
	/* signals: masks, handlers, delivery to the caller */
	SYS_rt_sigaction, SYS_rt_sigprocmask, SYS_rt_sigreturn, SYS_rt_sigpending,
	SYS_rt_sigtimedwait, SYS_rt_sigqueueinfo, SYS_rt_tgsigqueueinfo, SYS_rt_sigsuspend,
	SYS_sigaltstack, SYS_pause, SYS_kill, SYS_tkill, SYS_tgkill, SYS_signalfd,
	SYS_signalfd4,
	/* waits that fail with EINTR after any handler, SA_RESTART or not */
	SYS_poll, SYS_ppoll, SYS_select, SYS_pselect6, SYS_epoll_wait, SYS_epoll_pwait,
	SYS_epoll_pwait2, SYS_io_getevents, SYS_io_pgetevents, SYS_msgrcv, SYS_msgsnd,
	SYS_semop, SYS_semtimedop,
	/* memory the guest page tables (kvm) or the library follow */
	SYS_mmap, SYS_munmap, SYS_mprotect, SYS_mremap, SYS_brk, SYS_shmat, SYS_shmdt,
	SYS_pkey_mprotect, SYS_pkey_alloc, SYS_pkey_free, SYS_remap_file_pages,
};

static int xl_default;		/* DUNE_SYSCALL: the mode a thread enters with */
static bool xl_force;		/* DUNE_SYSCALL_FORCE=1: pollers even on one CPU */
static bool xl_debug;		/* DUNE_SYSCALL_DEBUG=1 */
static bool xl_one_cpu;		/* the process may run on one CPU only */
static bool xl_said;		/* the fallback was reported */
static __thread int xl_want = -1;	/* dune_syscall_mode() outside Dune mode */

static struct dune_xl_slot *xl_pool;	/* pollers of threads that ended */
static volatile int xl_pool_lock;
static volatile int xl_kick_set;	/* XL_KICK_SIG's handler is installed */

/* a line on stderr, from host mode or guest ring 0 */
static void xl_say(const char *msg)
{
	dune_raw_syscall6(SYS_write, 2, (long)msg, (long)strlen(msg), 0, 0, 0);
}

static bool xl_allowed(long nr)
{
	return nr >= 0 && nr < XL_NR_MAX && (dune_xl_map[nr / 64] & (1ULL << (nr % 64)));
}

int dune_xl_init(void)
{
	const char *m = getenv("DUNE_SYSCALL"), *f = getenv("DUNE_SYSCALL_FORCE"),
		   *d = getenv("DUNE_SYSCALL_DEBUG");
	unsigned i;

	if (!m || !*m || !strcmp(m, "exit")) {
		xl_default = DUNE_SYSCALL_EXIT;
	} else if (!strcmp(m, "exitless")) {
		xl_default = DUNE_SYSCALL_EXITLESS;
	} else {
		dune_err("DUNE_SYSCALL=%s: not a system call mode (exit or exitless)", m);
		return -EINVAL;
	}
	xl_force = f && !strcmp(f, "1");
	xl_debug = d && !strcmp(d, "1");
	xl_one_cpu = sysconf(_SC_NPROCESSORS_ONLN) < 2;
	for (i = 0; i < XL_NR_MAX / 64; i++)
		dune_xl_map[i] = ~0ULL;
	for (i = 0; i < sizeof(exit_list) / sizeof(exit_list[0]); i++)
		dune_xl_map[exit_list[i] / 64] &= ~(1ULL << (exit_list[i] % 64));
	return 0;
}

/* interrupts the poller's call (installed without SA_RESTART) */
static void xl_kick(int sig)
{
	(void)sig;
}

static void xl_run(struct dune_xl_slot *s)
{
	long ret;

	if (s->nr == XL_BATCH_NR) {
		struct dune_syscall_req *q = (struct dune_syscall_req *)s->arg[0];
		long i, n = (long)s->arg[1];

		for (i = 0; i < n; i++)
			q[i].ret = dune_raw_syscall6(q[i].nr, q[i].args[0], q[i].args[1],
						     q[i].args[2], q[i].args[3], q[i].args[4],
						     q[i].args[5]);
		ret = n;
	} else {
		ret = dune_raw_syscall6((long)s->nr, (long)s->arg[0], (long)s->arg[1],
					(long)s->arg[2], (long)s->arg[3], (long)s->arg[4],
					(long)s->arg[5]);
	}
	s->ret = (uint64_t)ret;
	__atomic_exchange_n(&s->state, XL_DONE, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->gwait, __ATOMIC_SEQ_CST))
		dune_raw_syscall6(SYS_futex, (long)&s->state, FUTEX_WAKE_PRIVATE, INT_MAX, 0, 0, 0);
}

/* how long an idle poller spins before it sleeps (pause instructions;
 * with one CPU it yields as it spins, and sleeps soon) */
#define XL_IDLE_SPIN	(1u << 16)
#define XL_IDLE_SPIN_1CPU	64

static void *xl_poller(void *arg)
{
	struct dune_xl_slot *s = arg;
	unsigned idle = 0;
	cpu_set_t mine, others;
	sigset_t kick;

	/*
	 * A thread pinned to one CPU would have its poller there too (the
	 * mask is inherited): the poller takes the other CPUs instead.
	 */
	if (!xl_one_cpu && sched_getaffinity(0, sizeof(mine), &mine) == 0 && CPU_COUNT(&mine) == 1) {
		long i, ncpu = sysconf(_SC_NPROCESSORS_ONLN);

		CPU_ZERO(&others);
		for (i = 0; i < ncpu && i < CPU_SETSIZE; i++)
			if (!CPU_ISSET(i, &mine))
				CPU_SET(i, &others);
		if (CPU_COUNT(&others))
			sched_setaffinity(0, sizeof(others), &others);
	}
	sigemptyset(&kick);
	sigaddset(&kick, XL_KICK_SIG);
	pthread_sigmask(SIG_UNBLOCK, &kick, NULL);
	__atomic_store_n(&s->tid, (int32_t)dune_raw_syscall6(SYS_gettid, 0, 0, 0, 0, 0, 0),
			 __ATOMIC_RELEASE);
	for (;;) {
		uint32_t st = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

		if (st == XL_REQ) {
			xl_run(s);
			idle = 0;
			continue;
		}
		if (idle < (xl_one_cpu ? XL_IDLE_SPIN_1CPU : XL_IDLE_SPIN)) {
			idle++;
			__builtin_ia32_pause();
			/* one CPU (DUNE_SYSCALL_FORCE): let the vCPU have it */
			if (xl_one_cpu && !(idle & 15))
				dune_raw_syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
			continue;
		}
		__atomic_store_n(&s->psleep, 1, __ATOMIC_SEQ_CST);
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		st = __atomic_load_n(&s->state, __ATOMIC_SEQ_CST);
		if (st != XL_REQ)
			dune_raw_syscall6(SYS_futex, (long)&s->state, FUTEX_WAIT_PRIVATE, st, 0, 0, 0);
		__atomic_store_n(&s->psleep, 0, __ATOMIC_SEQ_CST);
		idle = 0;
	}
	return NULL;
}

/* a slot with its poller: an idle one from the pool, or a new one */
static struct dune_xl_slot *xl_slot_get(void)
{
	struct dune_xl_slot *s;
	struct page *pg;
	pthread_attr_t attr;
	pthread_t th;
	sigset_t all, old;
	int err;

	dune_spin_lock(&xl_pool_lock);
	s = xl_pool;
	if (s)
		xl_pool = s->next_free;
	dune_spin_unlock(&xl_pool_lock);
	if (s)
		return s;

	if (!__atomic_exchange_n(&xl_kick_set, 1, __ATOMIC_ACQ_REL)) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = xl_kick;	/* no SA_RESTART: the call fails with EINTR */
		sigaction(XL_KICK_SIG, &sa, NULL);
	}
	pg = dune_page_alloc();
	if (!pg)
		return NULL;
	dune_page_get(pg);
	s = (struct dune_xl_slot *)dune_page2pa(pg);
	memset(s, 0, sizeof(*s));
	s->tgid = (int32_t)getpid();
	s->spins = xl_one_cpu ? 1 : XL_SPIN;
	/* the poller takes no signal but its kick */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 64 << 10);
	err = pthread_create(&th, &attr, xl_poller, s);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		if (xl_debug)
			xl_say("libdune: exit-less system calls: cannot start a poller thread: "
				      "the exit path is used\n");
		dune_page_put(pg);
		return NULL;
	}
	while (!__atomic_load_n(&s->tid, __ATOMIC_ACQUIRE))
		dune_raw_syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	return s;
}

static bool xl_usable(void)
{
	if (!xl_one_cpu || xl_force)
		return true;
	if (xl_debug && !__atomic_exchange_n(&xl_said, true, __ATOMIC_RELAXED))
		xl_say("libdune: exit-less system calls need a second CPU and this process "
			      "has one: the exit path is used (DUNE_SYSCALL_FORCE=1 to poll anyway)\n");
	return false;
}

/* pc's thread in mode: attach a poller if it has none */
static int xl_set(struct dune_percpu *pc, int mode)
{
	if (mode == DUNE_SYSCALL_EXIT || !xl_usable()) {
		pc->xl_entry = 0;
		return DUNE_SYSCALL_EXIT;
	}
	if (!pc->xl_slot)
		pc->xl_slot = xl_slot_get();
	if (!pc->xl_slot) {
		pc->xl_entry = 0;
		return DUNE_SYSCALL_EXIT;
	}
	pc->xl_entry = (uintptr_t)(strcmp(dune_be->name, "vmx") ? __dune_xl_kvm : __dune_xl_vmx);
	return DUNE_SYSCALL_EXITLESS;
}

void dune_xl_enter(struct dune_percpu *pc)
{
	xl_set(pc, xl_want >= 0 ? xl_want : xl_default);
}

void dune_xl_thread_end(struct dune_percpu *pc)
{
	struct dune_xl_slot *s = pc->xl_slot;

	pc->xl_entry = 0;
	pc->xl_slot = NULL;
	if (!s)
		return;
	dune_spin_lock(&xl_pool_lock);
	s->next_free = xl_pool;
	xl_pool = s;
	dune_spin_unlock(&xl_pool_lock);
}

void dune_xl_forked(void)
{
	/* the parent's pollers are not here; their slots stay unused */
	xl_pool = NULL;
	dune_spin_unlock(&xl_pool_lock);
}

int dune_syscall_mode(int mode)
{
	struct dune_percpu *pc = dune_pc;

	if (mode != DUNE_SYSCALL_EXIT && mode != DUNE_SYSCALL_EXITLESS &&
	    mode != DUNE_SYSCALL_QUERY)
		return -EINVAL;
	if (!pc || !dune_is_in_guest()) {
		/* outside Dune mode: what dune_enter() will set */
		if (mode != DUNE_SYSCALL_QUERY)
			xl_want = mode;
		mode = xl_want >= 0 ? xl_want : xl_default;
		if (mode == DUNE_SYSCALL_EXITLESS && dune_be && !xl_usable())
			mode = DUNE_SYSCALL_EXIT;
		return mode;
	}
	if (mode == DUNE_SYSCALL_QUERY)
		return pc->xl_entry ? DUNE_SYSCALL_EXITLESS : DUNE_SYSCALL_EXIT;
	xl_want = mode;
	return xl_set(pc, mode);
}

/* run q[0..n) on the poller with one notification (guest ring 0) */
static void xl_batch_submit(struct dune_percpu *pc, struct dune_syscall_req *q, long n)
{
	struct dune_xl_slot *s = pc->xl_slot;
	unsigned spin;

	s->nr = XL_BATCH_NR;
	s->arg[0] = (uint64_t)q;
	s->arg[1] = (uint64_t)n;
	__atomic_exchange_n(&s->state, XL_REQ, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&s->psleep, __ATOMIC_SEQ_CST))
		dune_raw_syscall6(SYS_futex, (long)&s->state, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	for (spin = 0; spin < s->spins; spin++) {
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == XL_DONE)
			goto done;
		__builtin_ia32_pause();
	}
	for (;;) {
		long r;

		__atomic_store_n(&s->gwait, 1, __ATOMIC_SEQ_CST);
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == XL_DONE)
			break;
		r = dune_raw_syscall6(SYS_futex, (long)&s->state, FUTEX_WAIT_PRIVATE, XL_REQ, 0, 0,
				      0);
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == XL_DONE)
			break;
		if (r == -EINTR)
			dune_raw_syscall6(SYS_tgkill, s->tgid, s->tid, XL_KICK_SIG, 0, 0, 0);
	}
	__atomic_store_n(&s->gwait, 0, __ATOMIC_RELAXED);
done:
	__atomic_store_n(&s->state, XL_IDLE, __ATOMIC_RELEASE);
}

int dune_syscall_batch(struct dune_syscall_req *reqs, int n)
{
	struct dune_percpu *pc = dune_pc;
	bool xl;
	int i = 0, j;

	if (n < 0 || n > DUNE_SYSCALL_BATCH_MAX || (n && !reqs))
		return -EINVAL;
	xl = pc && pc->xl_entry && pc->xl_slot && dune_is_in_guest() && !dune_percpu_in_user(pc);
	while (i < n) {
		struct dune_syscall_req *q = &reqs[i];
		uint32_t idle = XL_IDLE;

		/* a run of calls the poller may make, with one notification */
		if (xl && xl_allowed(q->nr)) {
			for (j = i + 1; j < n && xl_allowed(reqs[j].nr); j++)
				;
			if (__atomic_compare_exchange_n(&pc->xl_slot->state, &idle, XL_BUSY, false,
							__ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
				xl_batch_submit(pc, q, j - i);
				i = j;
				continue;
			}
		}
		q->ret = dune_raw_syscall6(q->nr, q->args[0], q->args[1], q->args[2], q->args[3],
					   q->args[4], q->args[5]);
		i++;
	}
	return 0;
}

bool dune_syscall_exitless(long nr)
{
	return xl_allowed(nr);
}

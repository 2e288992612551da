// SPDX-License-Identifier: MIT
/*
 * smp.c - threads of one process in Dune mode at the same time on two CPUs
 * (needs "smp": the VMX lab's SMP boot): system calls from both at once, a
 * munmap or mprotect by one while the other keeps using the page (which it
 * must never reach again once the call has returned: a #PF or the end of
 * the process, as include/dune/dune.h says per backend, never the old
 * page), and threads entering and exiting Dune mode while another runs.
 * Each thread pins itself to its CPU before dune_enter.
 */
#include "common.h"
#include "ct_thread.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>

#define pin ct_pin
#define wait_for ct_wait_ge

static void set_flag(volatile int *v, int val)
{
	__atomic_store_n(v, val, __ATOMIC_RELEASE);
}

/* ------------------------------------------------------ system calls */

#define CALLS	500

struct calls_arg {
	int cpu;
	volatile int *meet;
	char err[160];
};

static void *calls_thread(void *p)
{
	struct calls_arg *a = p;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	unsigned int cpu, node;
	int i;

	if (pin(a->cpu)) {
		snprintf(a->err, sizeof(a->err), "sched_setaffinity(CPU %d): %s", a->cpu, strerror(errno));
		return NULL;
	}
	if (dune_enter()) {
		snprintf(a->err, sizeof(a->err), "dune_enter failed");
		return NULL;
	}
	__atomic_fetch_add(a->meet, 1, __ATOMIC_ACQ_REL);
	if (!wait_for(a->meet, 2, 60000)) {
		snprintf(a->err, sizeof(a->err), "the other thread never got to Dune mode");
		return NULL;
	}
	for (i = 0; i < CALLS; i++) {
		pid_t t = (pid_t)syscall(SYS_gettid);

		if (t != tid) {
			snprintf(a->err, sizeof(a->err), "call %d: gettid %d, want %d", i, t, tid);
			return NULL;
		}
		if (syscall(SYS_getcpu, &cpu, &node, NULL) || cpu != (unsigned int)a->cpu) {
			snprintf(a->err, sizeof(a->err), "call %d: getcpu says CPU %u, pinned to %d", i, cpu,
				 a->cpu);
			return NULL;
		}
	}
	return NULL;
}

CTEST(smp_syscalls,
      .id = "api.smp.syscalls",
      .profile = "threads",
      .what = "two threads pinned to two CPUs are in Dune mode at the same time and each makes 500 gettid and getcpu system calls meanwhile: each result is its own thread's and CPU's",
      .needs = "dune smp",
      .timeout = 180)
{
	struct calls_arg a[2];
	volatile int meet = 0;
	pthread_t t[2];
	int i;

	ENTER();
	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].cpu = i;
		a[i].meet = &meet;
		CT_ASSERT_EQ(pthread_create(&t[i], NULL, calls_thread, &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		CT_ASSERT_EQ(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 2; i++)
		CT_EXPECT(!a[i].err[0], "thread on CPU %d: %s", i, a[i].err);
}

/* ---------------------------------- munmap / mprotect while one runs */

enum outcome {
	OUT_STALE = 30,		/* the old page was reached after the call */
	OUT_PF = 31,		/* #PF at the page (not present, or write) */
	OUT_PF_BAD = 32,	/* #PF elsewhere */
	OUT_SETUP = 33,		/* something else failed */
	OUT_EPT = 100,		/* the process ended: status 1, "EPT violation" */
};

static volatile uint64_t *watched;
static volatile int watch_ready, watch_go;
static bool watch_store;

static void watch_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	_exit(addr == (uintptr_t)watched ? OUT_PF : OUT_PF_BAD);
}

static volatile uint64_t sink;

static void *watcher(void *p)
{
	uint64_t v = 0;

	(void)p;
	if (pin(1)) {
		fprintf(stderr, "watcher: sched_setaffinity(CPU 1): %s\n", strerror(errno));
		_exit(OUT_SETUP);
	}
	if (dune_enter()) {
		fprintf(stderr, "watcher: dune_enter failed\n");
		_exit(OUT_SETUP);
	}
	set_flag(&watch_ready, 1);
	while (!__atomic_load_n(&watch_go, __ATOMIC_ACQUIRE)) {
		if (watch_store)
			*watched = 0x5a5a;
		else
			v += *watched;
	}
	/* the call has returned: this access must not reach the page */
	if (watch_store)
		*watched = 0xa5a5;
	else
		v += *watched;
	sink = v;
	_exit(OUT_STALE);
}

/* the child: the main thread (CPU 0) takes the page away while the
 * watcher thread (CPU 1) uses it */
static void watch_child(void *arg)
{
	pthread_t t;

	(void)arg;
	if (pin(0) || dune_init(true) || dune_enter()) {
		fprintf(stderr, "main: pin, dune_init or dune_enter failed\n");
		_exit(OUT_SETUP);
	}
	dune_register_pgflt_handler(watch_pgflt);
	watched = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (watched == MAP_FAILED)
		_exit(OUT_SETUP);
	*watched = 1;
	if (pthread_create(&t, NULL, watcher, NULL))
		_exit(OUT_SETUP);
	if (!wait_for(&watch_ready, 1, 60000))
		_exit(OUT_SETUP);
	usleep(2000);
	if (watch_store ? mprotect((void *)watched, PGSIZE, PROT_READ) :
			  munmap((void *)watched, PGSIZE))
		_exit(OUT_SETUP);
	set_flag(&watch_go, 1);
	pthread_join(t, NULL);
	_exit(OUT_SETUP);
}

#define WATCH_ROUNDS	2	/* each a process that enters Dune mode: slow in the lab */

static void watch_rounds(bool store)
{
	char err[2048];
	int i, status, got;

	watch_store = store;
	for (i = 0; i < WATCH_ROUNDS; i++) {
		status = run_capturing_stderr(watch_child, NULL, err, sizeof(err));
		if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(err, "EPT violation"))
			got = OUT_EPT;
		else
			got = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		CT_EXPECT(got != OUT_STALE, "round %d: after %s had returned, the other thread %s the page",
			  i, store ? "mprotect(PROT_READ)" : "munmap", store ? "still wrote" : "still read");
		CT_EXPECT(got == OUT_EPT || got == OUT_PF || got == OUT_STALE,
			  "round %d: child status %#x (exit %d), want a #PF at the page or the end of the process on an EPT violation; stderr: %.300s",
			  i, status, got, err);
		if (ct_failures())
			return;
	}
}

CTEST(smp_munmap_running,
      .id = "api.smp.munmap_running",
      .profile = "vm",
      .what = "with dune_init(true), a thread munmaps a page another thread in Dune mode on the other CPU keeps reading: once munmap has returned, that thread's next read is a #PF at the page or ends the process on an EPT violation, never the old page (2 rounds)",
      .needs = "dune smp",
      .timeout = 300)
{
	watch_rounds(false);
}

CTEST(smp_mprotect_running,
      .id = "api.smp.mprotect_running",
      .profile = "vm",
      .what = "with dune_init(true), a thread makes read-only (mprotect) a page another thread in Dune mode on the other CPU keeps writing: once mprotect has returned, that thread's next write is a #PF at the page or ends the process on an EPT violation, never a write to it (2 rounds)",
      .needs = "dune smp",
      .timeout = 300)
{
	watch_rounds(true);
}

/* ---------------------------------- threads exit while another runs */

#define EXITERS	8

static void *exiter(void *p)
{
	(void)p;
	if (pin(0) || dune_enter())
		return (void *)1;
	if ((pid_t)syscall(SYS_gettid) <= 0)
		return (void *)2;
	return NULL;	/* the thread exits in Dune mode */
}

struct runner_arg {
	volatile int ready, stop;
	long rounds;
	char err[160];
};

static void *busy(void *p)
{
	struct runner_arg *a = p;
	pid_t tid = (pid_t)syscall(SYS_gettid);
	uint64_t *buf;

	if (pin(1) || dune_enter()) {
		snprintf(a->err, sizeof(a->err), "pin or dune_enter failed");
		set_flag(&a->ready, 1);
		return NULL;
	}
	buf = malloc(64 * PGSIZE);
	if (!buf) {
		snprintf(a->err, sizeof(a->err), "malloc failed");
		set_flag(&a->ready, 1);
		return NULL;
	}
	set_flag(&a->ready, 1);
	while (!__atomic_load_n(&a->stop, __ATOMIC_ACQUIRE)) {
		size_t k = (size_t)a->rounds % (64 * PGSIZE / 8);

		buf[k] = (uint64_t)a->rounds;
		if (buf[k] != (uint64_t)a->rounds) {
			snprintf(a->err, sizeof(a->err), "round %ld: memory lost a write", a->rounds);
			break;
		}
		if ((pid_t)syscall(SYS_gettid) != tid) {
			snprintf(a->err, sizeof(a->err), "round %ld: gettid is not this thread's", a->rounds);
			break;
		}
		a->rounds++;
	}
	free(buf);
	return NULL;
}

CTEST(smp_thread_exit_running,
      .id = "api.smp.thread_exit_running",
      .profile = "threads",
      .what = "8 threads, one after the other on one CPU, enter Dune mode and exit while another thread in Dune mode on the other CPU keeps writing its memory and making system calls: that thread is undisturbed",
      .needs = "dune smp",
      .timeout = 300)
{
	struct runner_arg a;
	pthread_t b, e;
	void *rv;
	int i;

	ENTER();
	memset(&a, 0, sizeof(a));
	CT_ASSERT_EQ(pthread_create(&b, NULL, busy, &a), 0);
	CT_ASSERT(wait_for(&a.ready, 1, 60000), "the busy thread never got to Dune mode");
	for (i = 0; i < EXITERS; i++) {
		CT_ASSERT_EQ(pthread_create(&e, NULL, exiter, NULL), 0);
		CT_ASSERT_EQ(pthread_join(e, &rv), 0);
		CT_EXPECT(rv == NULL, "exiting thread %d: failed (%ld)", i, (long)(intptr_t)rv);
	}
	set_flag(&a.stop, 1);
	CT_ASSERT_EQ(pthread_join(b, NULL), 0);
	CT_EXPECT(!a.err[0], "the busy thread: %s", a.err);
	CT_EXPECT(a.rounds > 0, "the busy thread never ran");
	ct_log("the busy thread ran %ld rounds", a.rounds);
}

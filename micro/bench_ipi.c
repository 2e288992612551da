/* SPDX-License-Identifier: MIT */
/*
 * Cross-CPU wakeups and TLB shootdowns between two threads pinned to two
 * CPUs (the benchmark's own and another online one):
 *
 *   ipi-rtt      dune: vCPU A sends an x2APIC IPI to vCPU B
 *                (dune_apic_send_ipi), B's handler answers with an IPI
 *                to A, A's handler runs: one op.  Both wait with
 *                interrupts enabled.
 *   futex-rtt    linux: A wakes B through a futex, B wakes A through
 *                another: one op.
 *   eventfd-rtt  linux: A writes B's eventfd, B reads it and writes A's,
 *                A reads it: one op.
 *   shootdown    dune: A points a PTE of the shared guest page table at
 *                the other of two pages, invlpg, IPI to B, B's handler
 *                runs invlpg and acknowledges, A sees the acknowledgment:
 *                one op.  linux: mprotect(PROT_READ) of a page B keeps
 *                reading (the kernel flushes B's CPU with an IPI), then
 *                mprotect back to read-write (no flush): one op.
 *
 * The round trips also report "oneway_cycles": the median over one
 * repetition's ops of the TSC at B's wakeup (its handler, its futex or read
 * return) minus the TSC just before A's send, less the cost of two
 * back-to-back RDTSCs ("oneway_overhead", the smallest of a few: the
 * timer's own share of the difference).  The TSC is the same clock on
 * every CPU of a machine with an invariant TSC, and in the lab.  A host
 * with one CPU cannot run them (unavailable); a Dune backend without an
 * APIC neither ("unsupported by this backend").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <x86intrin.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>
#endif

enum xkind { X_IPI, X_FUTEX, X_EVENTFD, X_SHOOT };

#define ONEWAY_MAX	4096
#define VEC_PING	0x60	/* to B */
#define VEC_PONG	0x70	/* to A */
#define SHOOT_VA	0x100000000000UL

struct xbench {
	enum xkind kind;
	enum micro_mode mode;
	pthread_t thread;
	int cpu_a, cpu_b;
	volatile int ready;		/* B: 1 running, -1 failed */
	volatile int stop;
	/* round trips */
	volatile uint32_t ping, pong;	/* futex words / counters */
	int efd[2];			/* A -> B, B -> A */
	volatile uint64_t b_stamp;
	uint64_t oneway[ONEWAY_MAX];
	size_t noneway;
	uint64_t rdtsc_overhead;	/* two back-to-back RDTSCs, at least */
	/* dune */
	uint32_t id_a, id_b;
	/* shootdown */
	volatile long *page;		/* linux: the page; dune: two pages */
	int which;
};

static struct xbench *xb;	/* for the interrupt handlers */

static long futex(volatile uint32_t *w, int op, uint32_t val)
{
	return syscall(SYS_futex, w, op, val, NULL, NULL, 0);
}

static int pick_cpus(struct xbench *x, char *why, size_t len)
{
	unsigned int cpu = 0;
	cpu_set_t set;
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* the raw call: in Dune mode the vDSO's getcpu reads the guest's view */
	if (n < 2) {
		snprintf(why, len, "needs 2 CPUs (%ld online)", n);
		return MICRO_UNAVAILABLE;
	}
	if (syscall(SYS_getcpu, &cpu, NULL, NULL)) {
		snprintf(why, len, "getcpu: %s", strerror(errno));
		return MICRO_FAILED;
	}
	x->cpu_a = (int)cpu;
	x->cpu_b = x->cpu_a == 0 ? 1 : 0;
	CPU_ZERO(&set);
	CPU_SET(x->cpu_a, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		snprintf(why, len, "sched_setaffinity(CPU %d): %s", x->cpu_a, strerror(errno));
		return MICRO_FAILED;
	}
	return 0;
}

static void pin_b(struct xbench *x)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(x->cpu_b, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void oneway_add(struct xbench *x, uint64_t t0)
{
	uint64_t t1 = x->b_stamp;

	if (t1 > t0 + x->rdtsc_overhead)
		x->oneway[x->noneway++ % ONEWAY_MAX] = t1 - t0 - x->rdtsc_overhead;
	else if (t1 > t0)
		x->oneway[x->noneway++ % ONEWAY_MAX] = 0;
}

/* what two back-to-back RDTSCs read apart: the smallest of 64 tries */
static uint64_t rdtsc_pair_overhead(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 64; i++) {
		uint64_t a = __rdtsc();
		uint64_t b = __rdtsc();

		if (b >= a && b - a < best)
			best = b - a;
	}
	return best == UINT64_MAX ? 0 : best;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* ------------------------------------------------------------ Linux */

static void *futex_b(void *arg)
{
	struct xbench *x = arg;
	uint32_t seen = 0;

	pin_b(x);
	x->ready = 1;
	while (!x->stop) {
		while (x->ping == seen && !x->stop)
			futex(&x->ping, FUTEX_WAIT_PRIVATE, seen);
		x->b_stamp = __rdtsc();
		seen = x->ping;
		__atomic_store_n(&x->pong, seen, __ATOMIC_RELEASE);
		futex(&x->pong, FUTEX_WAKE_PRIVATE, 1);
	}
	return NULL;
}

static void futex_run(struct xbench *x, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t want = x->ping + 1;
		uint64_t t0 = __rdtsc();

		__atomic_store_n(&x->ping, want, __ATOMIC_RELEASE);
		futex(&x->ping, FUTEX_WAKE_PRIVATE, 1);
		while (x->pong != want)
			futex(&x->pong, FUTEX_WAIT_PRIVATE, x->pong);
		oneway_add(x, t0);
	}
}

static void *eventfd_b(void *arg)
{
	struct xbench *x = arg;
	uint64_t v;

	pin_b(x);
	x->ready = 1;
	while (read(x->efd[0], &v, sizeof(v)) == sizeof(v)) {
		x->b_stamp = __rdtsc();
		if (x->stop)
			break;
		if (write(x->efd[1], &v, sizeof(v)) != sizeof(v))
			break;
	}
	return NULL;
}

static void eventfd_run(struct xbench *x, uint64_t n)
{
	uint64_t v = 1;

	for (uint64_t i = 0; i < n; i++) {
		uint64_t t0 = __rdtsc();

		if (write(x->efd[0], &v, sizeof(v)) != sizeof(v) ||
		    read(x->efd[1], &v, sizeof(v)) != sizeof(v))
			micro_fail("eventfd ping-pong: %s", strerror(errno));
		oneway_add(x, t0);
	}
}

static void *mprotect_b(void *arg)
{
	struct xbench *x = arg;

	pin_b(x);
	x->ready = 1;
	while (!x->stop)
		(void)*x->page;	/* keeps the page in this CPU's TLB */
	return NULL;
}

static void mprotect_run(struct xbench *x, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (mprotect((void *)x->page, MICRO_PAGE, PROT_READ) ||
		    mprotect((void *)x->page, MICRO_PAGE, PROT_READ | PROT_WRITE))
			micro_fail("mprotect: %s", strerror(errno));
	}
}

/* ------------------------------------------------------------- Dune */

#ifdef MICRO_HAVE_LIBDUNE
/* interrupts on until *flag != 0 (ring 0 runs with them off on vmx) */
static void __attribute__((noinline)) wait_irq(volatile int *flag)
{
	asm volatile("pushf; sti\n"
		     "1: pause; cmpl $0, %0; je 1b\n"
		     "popf" : : "m"(*flag) : "memory", "cc");
}

static void ping_handler(struct dune_tf *tf)
{
	(void)tf;
	xb->b_stamp = __rdtsc();
	xb->ping++;
	dune_apic_eoi();
	dune_apic_send_ipi(VEC_PONG, xb->id_a);
}

static void pong_handler(struct dune_tf *tf)
{
	(void)tf;
	xb->pong++;
	dune_apic_eoi();
}

static void shoot_handler(struct dune_tf *tf)
{
	(void)tf;
	dune_flush_tlb_one(SHOOT_VA);
	xb->ping++;
	dune_apic_eoi();
}

static void *dune_b(void *arg)
{
	struct xbench *x = arg;

	pin_b(x);
	if (dune_enter()) {
		x->ready = -1;
		return NULL;
	}
	x->id_b = dune_apic_id();
	x->ready = 1;
	if (x->kind == X_SHOOT) {
		while (!x->stop) {
			(void)*(volatile long *)SHOOT_VA;	/* in this TLB */
			asm volatile("pushf; sti; nop; nop; popf" ::: "memory", "cc");
		}
	} else {
		wait_irq(&x->stop);
	}
	return NULL;
}

static void ipi_run(struct xbench *x, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		uint32_t want = x->pong + 1;
		uint64_t t0 = __rdtsc();

		dune_apic_send_ipi(VEC_PING, x->id_b);
		while (x->pong != want)
			asm volatile("pushf; sti; pause; pause; popf" ::: "memory", "cc");
		oneway_add(x, t0);
	}
}

static void shoot_run(struct xbench *x, uint64_t n)
{
	ptent_t *pte;

	if (dune_vm_lookup(pgroot, (void *)SHOOT_VA, CREATE_NONE, &pte))
		micro_fail("shootdown: the test page is not mapped");
	for (uint64_t i = 0; i < n; i++) {
		uint32_t want = x->ping + 1;

		x->which ^= 1;
		*pte = (*pte & ~PTE_ADDR(~0ULL)) |
		       PTE_ADDR(dune_va_to_pa((void *)(x->page + x->which * 512)));
		dune_flush_tlb_one(SHOOT_VA);
		dune_apic_send_ipi(VEC_PING, x->id_b);
		while (x->ping != want)
			asm volatile("pause" ::: "memory");
	}
}

static int dune_setup(struct xbench *x, char *why, size_t len)
{
	if (!dune_apic_supported()) {
		snprintf(why, len, "unsupported by this backend (%s: dune_apic_supported() is false)",
			 micro_mode_backend() ? micro_mode_backend() : "Dune");
		return MICRO_UNAVAILABLE;
	}
	x->id_a = dune_apic_id();
	if (dune_register_intr_handler(VEC_PING, x->kind == X_SHOOT ? shoot_handler : ping_handler) ||
	    dune_register_intr_handler(VEC_PONG, pong_handler)) {
		snprintf(why, len, "dune_register_intr_handler failed");
		return MICRO_FAILED;
	}
	if (x->kind == X_SHOOT &&
	    dune_vm_map_phys(pgroot, (void *)SHOOT_VA, MICRO_PAGE, (void *)dune_va_to_pa((void *)x->page),
			     PERM_R | PERM_W)) {
		snprintf(why, len, "dune_vm_map_phys failed");
		return MICRO_FAILED;
	}
	return 0;
}
#endif

/* ------------------------------------------------------------------ */

static int x_setup(enum xkind kind, enum micro_mode mode, void **priv, char *why, size_t len)
{
	void *(*fn)(void *) = NULL;
	struct xbench *x;
	int r;

	x = calloc(1, sizeof(*x));
	if (!x) {
		snprintf(why, len, "out of memory");
		return MICRO_FAILED;
	}
	x->kind = kind;
	x->mode = mode;
	x->efd[0] = x->efd[1] = -1;
	*priv = x;
	xb = x;
	r = pick_cpus(x, why, len);
	if (r)
		return r;
	x->rdtsc_overhead = rdtsc_pair_overhead();
	if (kind == X_SHOOT) {
		x->page = mmap(NULL, 2 * MICRO_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (x->page == MAP_FAILED) {
			snprintf(why, len, "mmap: %s", strerror(errno));
			return MICRO_FAILED;
		}
	}
	if (mode == MICRO_DUNE) {
#ifdef MICRO_HAVE_LIBDUNE
		r = dune_setup(x, why, len);
		if (r)
			return r;
		fn = dune_b;
#else
		snprintf(why, len, "mode dune needs libdune");
		return MICRO_UNAVAILABLE;
#endif
	} else if (kind == X_FUTEX) {
		fn = futex_b;
	} else if (kind == X_EVENTFD) {
		x->efd[0] = eventfd(0, 0);
		x->efd[1] = eventfd(0, 0);
		if (x->efd[0] < 0 || x->efd[1] < 0) {
			snprintf(why, len, "eventfd: %s", strerror(errno));
			return MICRO_FAILED;
		}
		fn = eventfd_b;
	} else {
		fn = mprotect_b;
	}
	if (pthread_create(&x->thread, NULL, fn, x)) {
		snprintf(why, len, "pthread_create failed");
		return MICRO_FAILED;
	}
	while (!x->ready)
		sched_yield();
	if (x->ready < 0) {
		snprintf(why, len, "the second thread could not enter Dune mode");
		return MICRO_FAILED;
	}
	return 0;
}

static int ipi_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return x_setup(X_IPI, mode, priv, why, len);
}

static int futex_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return x_setup(X_FUTEX, mode, priv, why, len);
}

static int eventfd_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return x_setup(X_EVENTFD, mode, priv, why, len);
}

static int shoot_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return x_setup(X_SHOOT, mode, priv, why, len);
}

static void x_run(void *priv, uint64_t n)
{
	struct xbench *x = priv;

	switch (x->kind) {
	case X_FUTEX:
		futex_run(x, n);
		break;
	case X_EVENTFD:
		eventfd_run(x, n);
		break;
	case X_IPI:
#ifdef MICRO_HAVE_LIBDUNE
		ipi_run(x, n);
#endif
		break;
	case X_SHOOT:
#ifdef MICRO_HAVE_LIBDUNE
		if (x->mode == MICRO_DUNE) {
			shoot_run(x, n);
			break;
		}
#endif
		mprotect_run(x, n);
		break;
	}
}

static void x_report(void *priv, struct micro_info *info)
{
	struct xbench *x = priv;
	size_t n = x->noneway < ONEWAY_MAX ? x->noneway : ONEWAY_MAX;

	if (!n)
		return;
	qsort(x->oneway, n, sizeof(x->oneway[0]), cmp_u64);
	micro_info_add(info, "oneway_cycles", (double)x->oneway[n / 2]);
	micro_info_add(info, "oneway_overhead", (double)x->rdtsc_overhead);
	x->noneway = 0;	/* the next repetition's own */
}

/*
 * The partner thread is not joined: it may be blocked (futex, read) or in
 * the guest, and the process ends after one benchmark.
 */
static void x_teardown(void *priv)
{
	struct xbench *x = priv;

	if (!x)
		return;
	x->stop = 1;
	if (x->kind == X_FUTEX) {
		x->ping++;
		futex(&x->ping, FUTEX_WAKE_PRIVATE, 1);
	}
}

const struct micro_ops micro_ipi_rtt_ops = {
	.setup = ipi_setup, .run = x_run, .report = x_report, .teardown = x_teardown,
};
const struct micro_ops micro_futex_rtt_ops = {
	.setup = futex_setup, .run = x_run, .report = x_report, .teardown = x_teardown,
};
const struct micro_ops micro_eventfd_rtt_ops = {
	.setup = eventfd_setup, .run = x_run, .report = x_report, .teardown = x_teardown,
};
const struct micro_ops micro_shootdown_ops = {
	.setup = shoot_setup, .run = x_run, .teardown = x_teardown,
};

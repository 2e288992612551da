/* SPDX-License-Identifier: MIT */
/*
 * appel1, appel2 - Appel & Li's user-level virtual-memory primitives, as the
 * original Dune suite ran them (per op: MICRO_APPEL_PAGES = 100 pages over a
 * region of 200 pages):
 *
 * appel1, PROT1+TRAP+UNPROT: pages 0..99 start read-only and their twins
 *   100..199 writable (untimed, before every op); write each of 0..99; the
 *   SIGSEGV handler unprotects the faulting page and protects another one
 *   (its twin).  Resetting the twins matters: a twin left read-only by the
 *   previous op makes the handler's mprotect a no-op (no VMA split, no PTE
 *   change, no TLB flush), several times cheaper than the paper's PROT1.
 * appel2, PROTN+TRAP+UNPROT: all pages writable and touched (untimed);
 *   timed: protect pages 0..99 with one mprotect, write each; the handler
 *   unprotects the faulting page.
 *
 * In mode dune, as the original Dune suite ran them (its bench_dune): the
 * guest page tables and a #PF handler (dune_register_pgflt_handler)
 * instead of mprotect() and SIGSEGV.  The handler edits the PTEs itself:
 * dune_vm_lookup() of the faulting page, set P/W/U/A/D (no flush: a page
 * fault already dropped the faulting address's TLB entry); appel1 then
 * makes the twin read-only and clears its A bit, with an invlpg only if A
 * was set (without A no TLB entry of it can exist).  The protect steps
 * outside the handler (appel1's untimed prepare, appel2's timed PROTN of
 * 100 pages) are one dune_vm_mprotect() each, as there.  No system call.
 *
 * appel1-mprotect, appel2-mprotect (mode dune only): the same with the
 * handler calling dune_vm_mprotect() for each page change instead (it
 * flushes itself: invlpg for one page), the recipe of an earlier version
 * of this suite, kept as extra rows.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>
#endif

#define NPG		MICRO_APPEL_PAGES
#define REGION		(2 * NPG * MICRO_PAGE)

static volatile char *mem;
static int appel_variant;	/* 1 or 2: what the handler does */
static int appel_dune;		/* guest page tables instead of mprotect */

#ifdef MICRO_HAVE_LIBDUNE
#define PERM_RO		(PERM_R | PERM_U)
#define PERM_RW		(PERM_R | PERM_W | PERM_U)

static void appel_pgflt_die(uintptr_t addr, struct dune_tf *tf, const char *why)
{
	dune_printf("appel: #PF at %lx (rip %lx): %s\n", (unsigned long)addr,
		    (unsigned long)tf->rip, why);
	dune_die();
}

/* the 4 KiB PTE of page a (prepare made it one: dune_vm_mprotect splits) */
static ptent_t *appel_pte(uintptr_t a, struct dune_tf *tf)
{
	ptent_t *pte;

	if (dune_vm_lookup(pgroot, (void *)a, CREATE_NONE, &pte) || !(*pte & PTE_P) ||
	    (*pte & PTE_PS))
		appel_pgflt_die(a, tf, "no 4 KiB PTE");
	return pte;
}

/* the faulting page, which must be one of the protected 0..99 */
static inline uintptr_t appel_fault_page(uintptr_t addr, struct dune_tf *tf)
{
	uintptr_t a = addr & ~(MICRO_PAGE - 1);

	if (a - (uintptr_t)mem >= NPG * MICRO_PAGE)
		appel_pgflt_die(addr, tf, "unexpected");
	return a;
}

/*
 * One handler per benchmark (the variant is no run-time test): appel2's
 * unprotects the faulting page, appel1's protects its twin too.
 */
static void appel2_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	*appel_pte(appel_fault_page(addr, tf), tf) |= PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
}

static void appel1_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	uintptr_t a = appel_fault_page(addr, tf);
	ptent_t *pte;
	uint64_t old;

	(void)fec;
	*appel_pte(a, tf) |= PTE_P | PTE_W | PTE_U | PTE_A | PTE_D;
	pte = appel_pte(a + NPG * MICRO_PAGE, tf);
	old = *pte;
	*pte = old & ~(PTE_W | PTE_A);
	if (old & PTE_A)
		dune_flush_tlb_one(a + NPG * MICRO_PAGE);
}

static void appel2_mprotect_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	dune_vm_mprotect(pgroot, (void *)appel_fault_page(addr, tf), MICRO_PAGE, PERM_RW);
}

static void appel1_mprotect_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	uintptr_t a = appel_fault_page(addr, tf);

	(void)fec;
	dune_vm_mprotect(pgroot, (void *)a, MICRO_PAGE, PERM_RW);
	dune_vm_mprotect(pgroot, (void *)(a + NPG * MICRO_PAGE), MICRO_PAGE, PERM_RO);
}
#endif

/* the #PF handler of appel<variant>[-mprotect] (mode dune) */
static void appel_set_handler(int variant, int vm_mprotect)
{
#ifdef MICRO_HAVE_LIBDUNE
	static const dune_pgflt_cb handlers[2][2] = {
		{ appel1_pgflt, appel1_mprotect_pgflt },
		{ appel2_pgflt, appel2_mprotect_pgflt },
	};

	if (appel_dune)
		dune_register_pgflt_handler(handlers[variant - 1][vm_mprotect]);
#else
	(void)variant;
	(void)vm_mprotect;
#endif
}

/* Protect len bytes at p read-only (prot 1) or read-write (prot 3). */
static void protect(volatile char *p, size_t len, int rw)
{
#ifdef MICRO_HAVE_LIBDUNE
	if (appel_dune) {
		dune_vm_mprotect(pgroot, (void *)p, len, rw ? PERM_RW : PERM_RO);
		return;
	}
#endif
	mprotect((void *)p, len, rw ? PROT_READ | PROT_WRITE : PROT_READ);
}

static void appel_handler(int sig, siginfo_t *si, void *ctx)
{
	uintptr_t a = (uintptr_t)si->si_addr & ~(MICRO_PAGE - 1);

	(void)ctx;
	if (a < (uintptr_t)mem || a >= (uintptr_t)mem + NPG * MICRO_PAGE) {
		signal(sig, SIG_DFL);	/* not ours: fault again and die */
		return;
	}
	mprotect((void *)a, MICRO_PAGE, PROT_READ | PROT_WRITE);
	if (appel_variant == 1)
		mprotect((void *)(a + NPG * MICRO_PAGE), MICRO_PAGE, PROT_READ);
}

static int appel_setup(enum micro_mode mode, int variant, int vm_mprotect, void **priv,
		       char *why, size_t len)
{
	struct sigaction sa;
	void *m;

	if (mode == MICRO_DUNE_USER || (vm_mprotect && mode != MICRO_DUNE)) {
		snprintf(why, len, "appel%d%s: mode%s only", variant,
			 vm_mprotect ? "-mprotect" : "", vm_mprotect ? " dune" : "s linux and dune");
		return MICRO_UNAVAILABLE;
	}
	appel_dune = mode == MICRO_DUNE;
	m = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(why, len, "mmap of %lu KB: %s", REGION >> 10, strerror(errno));
		return MICRO_FAILED;
	}
	madvise(m, REGION, MADV_NOHUGEPAGE);
	mem = m;
	for (unsigned long i = 0; i < 2 * NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
	appel_variant = variant;
	*priv = m;
#ifdef MICRO_HAVE_LIBDUNE
	if (appel_dune) {
		appel_set_handler(variant, vm_mprotect);
		return 0;
	}
#endif
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = appel_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL)) {
		snprintf(why, len, "sigaction(SIGSEGV): %s", strerror(errno));
		munmap(m, REGION);
		return MICRO_FAILED;
	}
	return 0;
}

static int appel1_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 1, 0, priv, why, len);
}

static int appel2_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 2, 0, priv, why, len);
}

static int appel1m_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 1, 1, priv, why, len);
}

static int appel2m_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 2, 1, priv, why, len);
}

static void touch_all(void)
{
	for (unsigned long i = 0; i < NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
}

static void appel1_prepare_as(void *priv, int vm_mprotect)
{
	mem = priv;	/* four benchmarks: say whose turn it is */
	appel_variant = 1;
	appel_set_handler(1, vm_mprotect);
	protect(mem, NPG * MICRO_PAGE, 0);
	protect(mem + NPG * MICRO_PAGE, NPG * MICRO_PAGE, 1);	/* the twins */
}

static void appel1_prepare(void *priv, uint64_t n)
{
	(void)n;
	appel1_prepare_as(priv, 0);
}

static void appel1m_prepare(void *priv, uint64_t n)
{
	(void)n;
	appel1_prepare_as(priv, 1);
}

static void appel1_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t k = 0; k < n; k++)
		touch_all();
}

/*
 * Pages of [lo, hi) that /proc/self/maps shows writable (linux mode), or
 * -1 if unreadable.
 */
static long writable_pages(uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];
	long pages = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t a, b;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &a, &b, perms) != 3)
			continue;
		if (perms[1] != 'w' || b <= lo || a >= hi)
			continue;
		pages += ((b < hi ? b : hi) - (a > lo ? a : lo)) / MICRO_PAGE;
	}
	fclose(f);
	return pages;
}

/*
 * After each repetition: what the untimed prepare leaves for a timed op
 * (linux mode): pages 0..99 read-only, all 100 twins writable, so that the
 * handler's mprotect of each twin changes it.
 */
static void appel1_report(void *priv, struct micro_info *info)
{
	uintptr_t m = (uintptr_t)priv;

	if (appel_dune)
		return;
	appel1_prepare(priv, 1);
	micro_info_add(info, "prepared_pages_writable",
		       (double)writable_pages(m, m + NPG * MICRO_PAGE));
	micro_info_add(info, "prepared_twins_writable",
		       (double)writable_pages(m + NPG * MICRO_PAGE, m + REGION));
}

static void appel2_prepare_as(void *priv, int vm_mprotect)
{
	mem = priv;
	appel_variant = 2;
	appel_set_handler(2, vm_mprotect);
	protect(mem, REGION, 1);
	for (unsigned long i = 0; i < 2 * NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
}

static void appel2_prepare(void *priv, uint64_t n)
{
	(void)n;
	appel2_prepare_as(priv, 0);
}

static void appel2m_prepare(void *priv, uint64_t n)
{
	(void)n;
	appel2_prepare_as(priv, 1);
}

static void appel2_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t k = 0; k < n; k++) {
		protect(mem, NPG * MICRO_PAGE, 0);
		touch_all();
	}
}

static void appel_teardown(void *priv)
{
#ifdef MICRO_HAVE_LIBDUNE
	if (appel_dune) {
		protect(priv, REGION, 1);
		dune_register_pgflt_handler(NULL);
	}
#endif
	signal(SIGSEGV, SIG_DFL);
	munmap(priv, REGION);
	if (mem == priv)
		mem = NULL;
}

/* batch is 1 in the table: each op needs its untimed prepare. */
const struct micro_ops micro_appel1_ops = {
	.setup = appel1_setup,
	.prepare = appel1_prepare,
	.run = appel1_run,
	.report = appel1_report,
	.teardown = appel_teardown,
};

const struct micro_ops micro_appel2_ops = {
	.setup = appel2_setup,
	.prepare = appel2_prepare,
	.run = appel2_run,
	.teardown = appel_teardown,
};

const struct micro_ops micro_appel1m_ops = {
	.setup = appel1m_setup,
	.prepare = appel1m_prepare,
	.run = appel1_run,
	.teardown = appel_teardown,
};

const struct micro_ops micro_appel2m_ops = {
	.setup = appel2m_setup,
	.prepare = appel2m_prepare,
	.run = appel2_run,
	.teardown = appel_teardown,
};

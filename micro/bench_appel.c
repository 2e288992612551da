/* SPDX-License-Identifier: MIT */
/*
 * appel1, appel2 - Appel & Li's user-level virtual-memory primitives, as the
 * original Dune suite ran them (per op: MICRO_APPEL_PAGES = 100 pages over a
 * region of 200 pages):
 *
 * appel1, PROT1+TRAP+UNPROT: pages 0..99 start read-only (untimed); write
 *   each; the SIGSEGV handler unprotects the faulting page and protects
 *   another one (its twin in pages 100..199).
 * appel2, PROTN+TRAP+UNPROT: all pages writable and touched (untimed);
 *   timed: protect pages 0..99 with one mprotect, write each; the handler
 *   unprotects the faulting page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "micro.h"

#define NPG		MICRO_APPEL_PAGES
#define REGION		(2 * NPG * MICRO_PAGE)

static volatile char *mem;
static int appel_variant;	/* 1 or 2: what the handler does */

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

static int appel_setup(enum micro_mode mode, int variant, void **priv,
		       char *why, size_t len)
{
	struct sigaction sa;
	void *m;

	if (mode != MICRO_LINUX) {
		/* libdune: dune_register_pgflt_handler() + dune_vm_mprotect() */
		snprintf(why, len, "appel%d in mode %s: not written until libdune lands",
			 variant, micro_mode_name(mode));
		return -1;
	}
	m = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return -1;
	}
	madvise(m, REGION, MADV_NOHUGEPAGE);
	mem = m;
	for (unsigned long i = 0; i < 2 * NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = appel_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL)) {
		snprintf(why, len, "sigaction(SIGSEGV): %s", strerror(errno));
		munmap(m, REGION);
		return -1;
	}
	appel_variant = variant;
	*priv = m;
	return 0;
}

static int appel1_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 1, priv, why, len);
}

static int appel2_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return appel_setup(mode, 2, priv, why, len);
}

static void touch_all(void)
{
	for (unsigned long i = 0; i < NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
}

static void appel1_prepare(void *priv, uint64_t n)
{
	(void)n;
	mem = priv;	/* two benchmarks, one handler: say whose turn it is */
	appel_variant = 1;
	mprotect((void *)mem, NPG * MICRO_PAGE, PROT_READ);
}

static void appel1_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t k = 0; k < n; k++)
		touch_all();
}

static void appel2_prepare(void *priv, uint64_t n)
{
	(void)n;
	mem = priv;
	appel_variant = 2;
	mprotect((void *)mem, REGION, PROT_READ | PROT_WRITE);
	for (unsigned long i = 0; i < 2 * NPG; i++)
		mem[i * MICRO_PAGE] = (char)i;
}

static void appel2_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t k = 0; k < n; k++) {
		mprotect((void *)mem, NPG * MICRO_PAGE, PROT_READ);
		touch_all();
	}
}

static void appel_teardown(void *priv)
{
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
	.teardown = appel_teardown,
};

const struct micro_ops micro_appel2_ops = {
	.setup = appel2_setup,
	.prepare = appel2_prepare,
	.run = appel2_run,
	.teardown = appel_teardown,
};

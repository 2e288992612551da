/* SPDX-License-Identifier: MIT */
/*
 * pagewalk - the cost of a TLB miss (a page walk).
 *
 * A pointer chase (each read's address is the previous read's value) over
 * PW_NODES cache lines in random order, in two layouts:
 *
 *   big:   one line in each of PW_NODES distinct pages spread over 1 GB
 *          (one node per 256 KB, at a random line of that 256 KB), so the
 *          pages are 2x the second-level TLB's reach (2048 entries on
 *          Zen 2/3, 1536 on Skylake) and nearly every read needs a walk;
 *          each read's PTE sits in a different cache line;
 *   small: the same number of lines packed into 256 KB (64 pages, the
 *          first-level TLB's reach): the cached-access cost.
 *
 * Both touch the same amount of data (256 KB, as much again for the big
 * layout's PTEs), small enough to stay in L2 while the two chases take
 * turns batch by batch, so the difference is the TLB miss and walk, not a
 * data-cache miss.  (With 16384 nodes the two working sets evict each other
 * and the "cached" baseline reads from L3/DRAM: measured on the dev VM.)
 * pagewalk uses 4 KB pages (MADV_NOHUGEPAGE, so khugepaged never changes
 * them under the measurement); pagewalk-thp asks for 2 MB pages
 * (MADV_HUGEPAGE when the nodes are first written, then MADV_COLLAPSE
 * for any region that fell back to 4 KB) and is unavailable, with the
 * THP settings as the reason, unless at least PW_THP_MIN_PCT of the span
 * is in huge pages.  Both report from /proc/self/smaps what they got at
 * setup (info thp_kb) and at the end of each repetition (thp_kb_now), so a
 * change of page size during the run shows.  In a VM the host's page size
 * also matters: guest 2 MB pages on host 4 KB pages are split in the TLB.
 * In the Dune modes the guest maps the span with 4 KB pages, as the
 * original's dune_init(true): libdune builds those tables for memory mapped
 * after dune_init only when it first looks at it, so setup looks (a page
 * walk) before the chase, or vmx's CPU would walk 2 MB leaves there.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>

static int pw_leaf(const void *arg, ptent_t *ptep, void *va)
{
	(void)arg;
	(void)ptep;
	(void)va;
	return 0;
}
#endif

#define PW_SPAN		(1UL << 30)
#define PW_NODES	4096UL
#define PW_STRIDE	(PW_SPAN / PW_NODES)
#define PW_LINE		64UL
#define PW_HUGE		(2UL << 20)
#define PW_THP_MIN_PCT	90

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1 */
#endif

struct pagewalk {
	int thp;
	char *map;		/* big mapping as returned by mmap */
	size_t map_len;
	char *big;		/* PW_HUGE-aligned start of the 1 GB span */
	char *small;
	void **pb, **ps;	/* where each chase stands */
	long thp_kb;
	int collapse_errno;	/* of MADV_COLLAPSE; 0 = done or not needed */
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t xorshift(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Link addr[] into one cycle in random order; return its first node. */
static void **link_cycle(char **addr, size_t n)
{
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = xorshift() % (i + 1);
		char *t = addr[i];

		addr[i] = addr[j];
		addr[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		*(void **)addr[i] = addr[(i + 1) % n];
	return (void **)addr[0];
}

/* Sum of AnonHugePages over the mappings inside [lo, hi). */
static long smaps_thp_kb(uintptr_t lo, uintptr_t hi)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	int in = 0;
	long kb = 0, v;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		uintptr_t a, b;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &a, &b) == 2 &&
		    strchr(line, '-') < strchr(line, ' '))
			in = a < hi && b > lo;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &v) == 1)
			kb += v;
	}
	fclose(f);
	return kb;
}

static void read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	if (fgets(buf, len, f))
		buf[strcspn(buf, "\n")] = 0;
	fclose(f);
}

static int pagewalk_setup_common(enum micro_mode mode, void **priv, int thp, char *why,
				 size_t len)
{
	struct pagewalk *p = calloc(1, sizeof(*p));
	char **addr = calloc(PW_NODES, sizeof(*addr));
	size_t small_len = PW_NODES * PW_LINE;

	if (!p || !addr) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	p->thp = thp;
	p->map_len = PW_SPAN + PW_HUGE;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	p->small = mmap(NULL, small_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->map == MAP_FAILED || p->small == MAP_FAILED) {
		snprintf(why, len, "mmap of %lu MB failed", PW_SPAN >> 20);
		goto fail;
	}
	p->big = (char *)(((uintptr_t)p->map + PW_HUGE - 1) & ~(PW_HUGE - 1));
	if (madvise(p->big, PW_SPAN, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && thp) {
		snprintf(why, len, "madvise(MADV_HUGEPAGE) failed: THP not in this kernel");
		goto fail;
	}
	madvise(p->small, small_len, MADV_NOHUGEPAGE);

	for (size_t i = 0; i < PW_NODES; i++)
		addr[i] = p->big + i * PW_STRIDE + (xorshift() % (PW_STRIDE / PW_LINE)) * PW_LINE;
	p->pb = link_cycle(addr, PW_NODES);
	for (size_t i = 0; i < PW_NODES; i++)
		addr[i] = p->small + i * PW_LINE;
	p->ps = link_cycle(addr, PW_NODES);
	free(addr);
	addr = NULL;

	p->thp_kb = smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + PW_SPAN);
	if (thp && p->thp_kb < (long)(PW_SPAN >> 10)) {
		if (madvise(p->big, PW_SPAN, MADV_COLLAPSE))
			p->collapse_errno = errno;
		p->thp_kb = smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + PW_SPAN);
	}
	if (thp && p->thp_kb < (long)(PW_SPAN >> 10) * PW_THP_MIN_PCT / 100) {
		char en[64] = "?", df[64] = "?";

		read_line("/sys/kernel/mm/transparent_hugepage/enabled", en, sizeof(en));
		read_line("/sys/kernel/mm/transparent_hugepage/defrag", df, sizeof(df));
		snprintf(why, len, "only %ld of %lu MB in 2 MB pages after MADV_HUGEPAGE and "
			 "MADV_COLLAPSE (%s); transparent_hugepage enabled: %s, defrag: %s",
			 p->thp_kb >> 10, PW_SPAN >> 20,
			 p->collapse_errno ? strerror(p->collapse_errno) : "ok", en, df);
		goto fail;
	}
#ifdef MICRO_HAVE_LIBDUNE
	if (mode != MICRO_LINUX &&
	    dune_vm_page_walk(pgroot, p->big, p->big + PW_SPAN - 1, pw_leaf, NULL)) {
		snprintf(why, len, "dune_vm_page_walk over the span failed (libdune page pool?)");
		goto fail;
	}
#else
	(void)mode;
#endif
	*priv = p;
	return 0;
fail:
	free(addr);
	if (p && p->map && p->map != MAP_FAILED)
		munmap(p->map, p->map_len);
	if (p && p->small && p->small != MAP_FAILED)
		munmap(p->small, small_len);
	free(p);
	return -1;
}

static int pagewalk_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return pagewalk_setup_common(mode, priv, 0, why, len);
}

static int pagewalk_thp_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return pagewalk_setup_common(mode, priv, 1, why, len);
}

static void **chase(void **p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		p = *(void **volatile *)p;
	return p;
}

static void pagewalk_run(void *priv, uint64_t n)
{
	struct pagewalk *p = priv;

	p->pb = chase(p->pb, n);
}

static void pagewalk_baseline(void *priv, uint64_t n)
{
	struct pagewalk *p = priv;

	p->ps = chase(p->ps, n);
}

static void pagewalk_report(void *priv, struct micro_info *info)
{
	struct pagewalk *p = priv;

	micro_info_add(info, "span_mb", PW_SPAN >> 20);
	micro_info_add(info, "pages_touched", PW_NODES);
	micro_info_add(info, "thp_requested", p->thp);
	micro_info_add(info, "thp_kb", p->thp_kb);
	micro_info_add(info, "thp_kb_now",
		       smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + PW_SPAN));
	if (p->thp)
		micro_info_add(info, "collapse_errno", p->collapse_errno);
}

static void pagewalk_teardown(void *priv)
{
	struct pagewalk *p = priv;

	munmap(p->map, p->map_len);
	munmap(p->small, PW_NODES * PW_LINE);
	free(p);
}

const struct micro_ops micro_pagewalk_ops = {
	.setup = pagewalk_setup,
	.run = pagewalk_run,
	.baseline = pagewalk_baseline,
	.report = pagewalk_report,
	.teardown = pagewalk_teardown,
};

const struct micro_ops micro_pagewalk_thp_ops = {
	.setup = pagewalk_thp_setup,
	.run = pagewalk_run,
	.baseline = pagewalk_baseline,
	.report = pagewalk_report,
	.teardown = pagewalk_teardown,
};

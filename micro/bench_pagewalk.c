/* SPDX-License-Identifier: MIT */
/*
 * pagewalk - the cost of a TLB miss (a page walk).
 *
 * A pointer chase (each read's address is the previous read's value) over
 * the nodes of a span, one cycle through all of them in random order,
 * minus the same number of reads chased through lines packed into a small
 * buffer (the cached-access cost):
 *
 *   pagewalk:         4 KB pages (MADV_NOHUGEPAGE, so khugepaged never
 *                     changes them under the measurement); 4096 nodes, one
 *                     in each 256 KB of a 1 GB span, at a random line: 4096
 *                     distinct pages, 2x the second-level TLB's 4 KB reach
 *                     (2048 entries on Zen 2/3, 1536 on Skylake);
 *   pagewalk-thp:     2 MB pages over PW_THP_MISS x the CPU's 2 MB TLB reach
 *                     (several GB), one node in every 2 MB page: a cycle
 *                     through more pages than the TLB holds misses on every
 *                     read under LRU-like replacement;
 *   pagewalk-thp-fit: 2 MB pages over 1/PW_THP_FIT of that reach (4096
 *                     nodes): the TLB holds every page, so a read is a TLB
 *                     hit; the control for pagewalk-thp.
 *
 * The 2 MB reach is the largest second-level 2 MB TLB (in entries) that
 * CPUID reports (AMD: leaf 0x80000006; Intel: leaf 0x18), or that the CPU's
 * family has, whichever is larger (a VM's CPUID often reports less than the
 * hardware has), at least PW_TLB2M_MIN.  Every 2 MB page of the span is
 * touched, so the whole span is resident: the benchmark is unavailable,
 * with that amount as the reason, when /proc/meminfo's MemAvailable does
 * not cover it plus PW_MEM_SPARE (DUNEBENCH_SYSROOT=DIR: DIR/proc/meminfo).
 *
 * The THP variants ask for 2 MB pages (MADV_HUGEPAGE when the nodes are
 * first written, then MADV_COLLAPSE for any region that fell back to 4 KB)
 * and are unavailable, with the THP settings as the reason, unless at
 * least PW_THP_MIN_PCT of the span is in huge pages.  All report from
 * /proc/self/smaps what they got at setup (info thp_kb) and at the end of
 * each repetition (thp_kb_now), so a change of page size during the run
 * shows.  In a VM the host's page size also matters: guest 2 MB pages on
 * host 4 KB pages are split in the TLB.
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

#include <cpuid.h>

#include "micro.h"

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>

/* a page walk that only makes libdune build the span's 4 KB tables */
static int pw_leaf(const void *arg, ptent_t *ptep, void *va)
{
	(void)arg;
	(void)ptep;
	(void)va;
	return 0;
}
#endif

#define PW_SPAN		(1UL << 30)	/* pagewalk, 4 KB pages */
#define PW_NODES	4096UL		/* reads per cycle, at least */
#define PW_LINE		64UL
#define PW_HUGE		(2UL << 20)
#define PW_THP_MIN_PCT	90
#define PW_THP_MISS	2		/* pagewalk-thp: span = 2 x the 2 MB reach */
#define PW_THP_FIT	4		/* pagewalk-thp-fit: span = reach / 4 */
#define PW_TLB2M_MIN	2048		/* Zen 2/3; Golden Cove's second level */
#define PW_MEM_SPARE	(512UL << 20)	/* left to everything else */

enum pw_kind { PW_4K, PW_THP, PW_THP_FIT_KIND };

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE	25	/* Linux 6.1 */
#endif

struct pagewalk {
	int thp;
	size_t span;		/* bytes chased over */
	size_t nodes;		/* reads per cycle */
	unsigned tlb2m, tlb2m_cpuid;	/* 2 MB TLB entries: used, CPUID's */
	char *map;		/* big mapping as returned by mmap */
	size_t map_len;
	char *big;		/* PW_HUGE-aligned start of the span */
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

/* Second-level 2 MB TLB entries as CPUID reports them (data or unified), or 0. */
static unsigned cpuid_tlb2m(void)
{
	unsigned a, b, c, d, best = 0;

	if (!__get_cpuid(0, &a, &b, &c, &d))
		return 0;
	if (b == 0x68747541) {		/* "Auth": AMD, L2 DTLB 2 MB/4 MB size */
		if (__get_cpuid(0x80000006, &a, &b, &c, &d))
			best = (a >> 16) & 0xfff;
		return best;
	}
	if (a < 0x18)
		return 0;
	/* Intel: deterministic address translation parameters */
	__cpuid_count(0x18, 0, a, b, c, d);
	for (unsigned sub = 0, max = a; sub <= max && sub < 64; sub++) {
		unsigned type, entries;

		__cpuid_count(0x18, sub, a, b, c, d);
		type = d & 0x1f;	/* 1 data, 2 instruction, 3 unified, 4 load */
		if (!(b & 2) || !(type == 1 || type == 3 || type == 4))
			continue;
		entries = (b >> 16) * (d & (1u << 8) ? 1 : c);	/* ways x sets */
		if (((d >> 5) & 7) >= 2 && entries > best)	/* second level */
			best = entries;
	}
	return best;
}

/* What the CPU's family has, where CPUID under a hypervisor may say less. */
static unsigned family_tlb2m(void)
{
	unsigned a, b, c, d, fam, model;

	if (!__get_cpuid(0, &a, &b, &c, &d) || b != 0x68747541 ||
	    !__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	fam = ((a >> 8) & 0xf) + ((a >> 20) & 0xff);
	model = ((a >> 4) & 0xf) | ((a >> 12) & 0xf0);
	if (fam == 0x1a)
		return 4096;		/* Zen 5 */
	if (fam == 0x19 && ((model >= 0x10 && model <= 0x1f) ||
			    (model >= 0x60 && model <= 0x7f) || (model >= 0xa0 && model <= 0xaf)))
		return 3072;		/* Zen 4 */
	return 0;
}

/* A /proc/meminfo field; DUNEBENCH_SYSROOT=DIR reads DIR/proc/meminfo (tests). */
static long meminfo_kb(const char *key)
{
	const char *root = getenv("DUNEBENCH_SYSROOT");
	char path[512], line[256];
	size_t n = strlen(key);
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/proc/meminfo", root ? root : "");
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			kb = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

static int pagewalk_setup_common(enum micro_mode mode, void **priv, enum pw_kind kind, char *why,
				 size_t len)
{
	struct pagewalk *p = calloc(1, sizeof(*p));
	char **addr = NULL;
	size_t small_len = 0, stride, reach;
	long avail_kb;
	int thp = kind != PW_4K, ret = MICRO_FAILED;
	unsigned fam;

	if (!p) {
		snprintf(why, len, "out of memory");
		return MICRO_FAILED;
	}
	p->thp = thp;
	p->tlb2m_cpuid = cpuid_tlb2m();
	fam = family_tlb2m();
	p->tlb2m = p->tlb2m_cpuid > fam ? p->tlb2m_cpuid : fam;
	if (p->tlb2m < PW_TLB2M_MIN)
		p->tlb2m = PW_TLB2M_MIN;
	reach = (size_t)p->tlb2m * PW_HUGE;
	p->span = kind == PW_4K ? PW_SPAN : kind == PW_THP ? PW_THP_MISS * reach : reach / PW_THP_FIT;
	p->nodes = thp && p->span / PW_HUGE > PW_NODES ? p->span / PW_HUGE : PW_NODES;
	stride = p->span / p->nodes;
	small_len = p->nodes * PW_LINE;
	avail_kb = meminfo_kb("MemAvailable");
	if (thp && avail_kb >= 0 && (size_t)avail_kb << 10 < p->span + PW_MEM_SPARE) {
		snprintf(why, len, "needs %zu MB resident (%s: a span of %zu x 2 MB pages for a "
			 "2 MB TLB of %u entries, CPUID: %u) plus %lu MB spare; MemAvailable is %ld MB",
			 p->span >> 20, kind == PW_THP ? "2x the reach" : "1/4 of the reach",
			 p->span / PW_HUGE, p->tlb2m, p->tlb2m_cpuid, PW_MEM_SPARE >> 20,
			 avail_kb >> 10);
		ret = MICRO_UNAVAILABLE;
		goto fail;
	}
	addr = calloc(p->nodes, sizeof(*addr));
	if (!addr) {
		snprintf(why, len, "out of memory");
		goto fail;
	}
	p->map_len = p->span + PW_HUGE;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	p->small = mmap(NULL, small_len, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->map == MAP_FAILED || p->small == MAP_FAILED) {
		snprintf(why, len, "mmap of %zu MB: %s", p->span >> 20, strerror(errno));
		goto fail;
	}
	p->big = (char *)(((uintptr_t)p->map + PW_HUGE - 1) & ~(PW_HUGE - 1));
	if (madvise(p->big, p->span, thp ? MADV_HUGEPAGE : MADV_NOHUGEPAGE) && thp) {
		snprintf(why, len, "madvise(MADV_HUGEPAGE) failed: THP not in this kernel");
		ret = MICRO_UNAVAILABLE;
		goto fail;
	}
	madvise(p->small, small_len, MADV_NOHUGEPAGE);

	for (size_t i = 0; i < p->nodes; i++)
		addr[i] = p->big + i * stride + (xorshift() % (stride / PW_LINE)) * PW_LINE;
	p->pb = link_cycle(addr, p->nodes);
	for (size_t i = 0; i < p->nodes; i++)
		addr[i] = p->small + i * PW_LINE;
	p->ps = link_cycle(addr, p->nodes);
	free(addr);
	addr = NULL;

	p->thp_kb = smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + p->span);
	if (thp && p->thp_kb < (long)(p->span >> 10)) {
		if (madvise(p->big, p->span, MADV_COLLAPSE))
			p->collapse_errno = errno;
		p->thp_kb = smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + p->span);
	}
	if (thp && p->thp_kb < (long)(p->span >> 10) * PW_THP_MIN_PCT / 100) {
		char en[64] = "?", df[64] = "?";

		read_line("/sys/kernel/mm/transparent_hugepage/enabled", en, sizeof(en));
		read_line("/sys/kernel/mm/transparent_hugepage/defrag", df, sizeof(df));
		snprintf(why, len, "only %ld of %zu MB in 2 MB pages after MADV_HUGEPAGE and "
			 "MADV_COLLAPSE (%s); transparent_hugepage enabled: %s, defrag: %s",
			 p->thp_kb >> 10, p->span >> 20,
			 p->collapse_errno ? strerror(p->collapse_errno) : "ok", en, df);
		ret = MICRO_UNAVAILABLE;
		goto fail;
	}
#ifdef MICRO_HAVE_LIBDUNE
	if (mode != MICRO_LINUX &&
	    dune_vm_page_walk(pgroot, p->big, p->big + p->span - 1, pw_leaf, NULL)) {
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
	if (p->map && p->map != MAP_FAILED)
		munmap(p->map, p->map_len);
	if (p->small && p->small != MAP_FAILED)
		munmap(p->small, small_len);
	free(p);
	return ret;
}

static int pagewalk_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return pagewalk_setup_common(mode, priv, PW_4K, why, len);
}

static int pagewalk_thp_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return pagewalk_setup_common(mode, priv, PW_THP, why, len);
}

static int pagewalk_thp_fit_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return pagewalk_setup_common(mode, priv, PW_THP_FIT_KIND, why, len);
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

	micro_info_add(info, "span_mb", (double)(p->span >> 20));
	micro_info_add(info, "pages_touched", (double)(p->thp ? p->span / PW_HUGE : p->nodes));
	micro_info_add(info, "reads_per_cycle", (double)p->nodes);
	micro_info_add(info, "thp_requested", p->thp);
	micro_info_add(info, "thp_kb", p->thp_kb);
	micro_info_add(info, "thp_kb_now",
		       smaps_thp_kb((uintptr_t)p->big, (uintptr_t)p->big + p->span));
	if (p->thp) {
		micro_info_add(info, "collapse_errno", p->collapse_errno);
		micro_info_add(info, "tlb_2m_entries", p->tlb2m);
		micro_info_add(info, "tlb_2m_entries_cpuid", p->tlb2m_cpuid);
	}
}

static void pagewalk_teardown(void *priv)
{
	struct pagewalk *p = priv;

	munmap(p->map, p->map_len);
	munmap(p->small, p->nodes * PW_LINE);
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

const struct micro_ops micro_pagewalk_thp_fit_ops = {
	.setup = pagewalk_thp_fit_setup,
	.run = pagewalk_run,
	.baseline = pagewalk_baseline,
	.report = pagewalk_report,
	.teardown = pagewalk_teardown,
};

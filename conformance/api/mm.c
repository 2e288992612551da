// SPDX-License-Identifier: MIT
/*
 * mm.c - what the guest page tables do after mmap, munmap, mprotect,
 * mremap and brk made in Dune mode, per backend (include/dune/dune.h):
 *
 *   kvm  the page tables follow every one of them (map_full or not): a new
 *        mapping is reachable at once, a removed one is a #PF with CR2 in
 *        the guest; a write the host forbids is a #PF with dune_init(false)
 *        and, with dune_init(true) (RWXU, as the original), ends the
 *        process as vmx's EPT violation does.
 *   vmx  the page tables are what dune_init/dune_enter built: with map_full
 *        the identity window (below 4 GiB) and the map and stack windows
 *        whole (a new mapping there is reachable at once), else only the
 *        mappings present then.  A new mapping outside them is a
 *        not-present #PF in ring 0; an access the host no longer allows
 *        (munmap, mprotect) is stopped by EPT and ends the process (status
 *        1, "EPT violation" on stderr), as with the original Dune.
 *
 * Each case runs in a child (its outcome may be the end of the process),
 * once with dune_init(true) and once with dune_init(false).
 */
#include "common.h"

#include <stdlib.h>
#include <unistd.h>

enum outcome {
	OUT_REACH = 0,		/* the access worked */
	OUT_PF_NP = 50,		/* #PF at the expected address, not present */
	OUT_PF_W = 51,		/* #PF at the expected address, present + write */
	OUT_PF_BAD = 52,		/* #PF elsewhere or with another error code */
	OUT_EPT = 100,		/* the process ended: status 1, "EPT violation" */
	OUT_OTHER = 101,
};

static const char *outcome_name(int o)
{
	switch (o) {
	case OUT_REACH: return "reachable";
	case OUT_PF_NP: return "#PF not-present";
	case OUT_PF_W: return "#PF write-protection";
	case OUT_PF_BAD: return "#PF at the wrong address or error code";
	case OUT_EPT: return "the process ended on an EPT violation";
	default: return "something else";
	}
}

static volatile uintptr_t want_cr2;

static void pgflt_exit(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	if (addr != want_cr2)
		_exit(OUT_PF_BAD);
	_exit(fec & FEC_P ? ((fec & FEC_W) ? OUT_PF_W : OUT_PF_BAD) : OUT_PF_NP);
}

struct mm_case {
	void (*prep)(void);
	void (*fn)(void);
	bool map_full;
};

/* the child: @prep in host mode, dune_init + dune_enter, @fn with a #PF
 * handler that reports where it was called */
static void mm_child(void *arg)
{
	const struct mm_case *c = arg;

	if (c->prep)
		c->prep();
	if (dune_init(c->map_full) || dune_enter())
		_exit(OUT_OTHER);
	dune_register_pgflt_handler(pgflt_exit);
	c->fn();
}

/* the outcome of a case; the child's stderr goes to @err */
static int run_child(void (*prep)(void), void (*fn)(void), bool map_full, char *err, size_t errlen)
{
	struct mm_case c = { .prep = prep, .fn = fn, .map_full = map_full };
	int status = run_capturing_stderr(mm_child, &c, err, errlen);

	if (WIFEXITED(status) && WEXITSTATUS(status) == 1 && strstr(err, "EPT violation"))
		return OUT_EPT;
	if (WIFEXITED(status) && (WEXITSTATUS(status) == OUT_REACH || WEXITSTATUS(status) == OUT_PF_NP ||
				  WEXITSTATUS(status) == OUT_PF_W || WEXITSTATUS(status) == OUT_PF_BAD))
		return WEXITSTATUS(status);
	ct_log("child status %#x, stderr: %s", status, err);
	return OUT_OTHER;
}

static void expect_outcome(const char *call, void (*prep)(void), void (*fn)(void), bool map_full,
			   int want)
{
	char err[2048];
	int got = run_child(prep, fn, map_full, err, sizeof(err));

	CT_EXPECT(got == want, "%s with dune_init(%s) on %s: %s, want %s", call,
		  map_full ? "true" : "false", backend_is_vmx() ? "vmx" : "kvm", outcome_name(got),
		  outcome_name(want));
}

/* ------------------------------------------------------------- mmap */

static void do_mmap(void)
{
	volatile char *p = mmap(NULL, 4 * PGSIZE, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		_exit(OUT_OTHER);
	want_cr2 = (uintptr_t)p + 3 * PGSIZE + 8;
	p[3 * PGSIZE + 8] = 7;
	if (p[3 * PGSIZE + 8] != 7)
		_exit(OUT_OTHER);
}

CTEST(mm_mmap,
      .id = "api.mm.mmap",
      .profile = "vm",
      .what = "an anonymous mapping made in Dune mode is reachable from ring 0 at once on kvm, and on vmx with dune_init(true); on vmx with dune_init(false) its first access is a not-present #PF at CR2",
      .needs = "dune")
{
	expect_outcome("mmap", NULL, do_mmap, true, OUT_REACH);
	expect_outcome("mmap", NULL, do_mmap, false, backend_is_vmx() ? OUT_PF_NP : OUT_REACH);
}

/* ----------------------------------------- munmap, mprotect, mremap */

/* made in host mode, before dune_init: in the page tables on both backends */
static char *early;

static void prep_early(void)
{
	early = mmap(NULL, 4 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (early == MAP_FAILED)
		_exit(OUT_OTHER);
	memset(early, 3, 4 * PGSIZE);
}

static void do_munmap(void)
{
	if (((volatile char *)early)[PGSIZE] != 3 || munmap(early + PGSIZE, PGSIZE))
		_exit(OUT_OTHER);
	want_cr2 = (uintptr_t)early + PGSIZE + 16;
	(void)((volatile char *)early)[PGSIZE + 16];
}

CTEST(mm_munmap,
      .id = "api.mm.munmap",
      .profile = "vm",
      .what = "after munmap in Dune mode, a ring-0 access to the page is a not-present #PF at CR2 on kvm; on vmx EPT stops it and the process ends (status 1, 'EPT violation'), as with the original",
      .needs = "dune")
{
	expect_outcome("munmap", prep_early, do_munmap, true, backend_is_vmx() ? OUT_EPT : OUT_PF_NP);
	expect_outcome("munmap", prep_early, do_munmap, false, backend_is_vmx() ? OUT_EPT : OUT_PF_NP);
}

static void do_mprotect(void)
{
	volatile char *p = early;

	p[2 * PGSIZE] = 4;
	if (mprotect(early + 2 * PGSIZE, PGSIZE, PROT_READ) || p[2 * PGSIZE] != 4)
		_exit(OUT_OTHER);
	want_cr2 = (uintptr_t)early + 2 * PGSIZE + 24;
	p[2 * PGSIZE + 24] = 5;
}

CTEST(mm_mprotect,
      .id = "api.mm.mprotect",
      .profile = "vm",
      .what = "after mprotect(PROT_READ) in Dune mode the page still reads; a ring-0 write is a write-protection #PF at CR2 on kvm with dune_init(false); with dune_init(true) (RWXU, as the original) on kvm, and on vmx always, the host stops it and the process ends (status 1, 'EPT violation'), as with the original",
      .needs = "dune")
{
	expect_outcome("mprotect", prep_early, do_mprotect, true, OUT_EPT);	/* RWXU: the host stops it */
	expect_outcome("mprotect", prep_early, do_mprotect, false, backend_is_vmx() ? OUT_EPT : OUT_PF_W);
}

static void do_mremap(void)
{
	volatile char *q;
	char *hole;

	/* move the mapping to a fresh address in the map window */
	hole = mmap(NULL, 8 * PGSIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (hole == MAP_FAILED)
		_exit(OUT_OTHER);
	q = mremap(early, 4 * PGSIZE, 8 * PGSIZE, MREMAP_MAYMOVE | MREMAP_FIXED, hole);
	if (q != (volatile char *)hole)
		_exit(OUT_OTHER);
	want_cr2 = (uintptr_t)q + PGSIZE;
	if (q[PGSIZE] != 3)
		_exit(OUT_OTHER);
	q[7 * PGSIZE] = 9;
	if (q[7 * PGSIZE] != 9)
		_exit(OUT_OTHER);
}

CTEST(mm_mremap,
      .id = "api.mm.mremap",
      .profile = "vm",
      .what = "a mapping moved and grown with mremap in Dune mode is reachable at its new address at once on kvm, and on vmx with dune_init(true); on vmx with dune_init(false) the new address is a not-present #PF at CR2",
      .needs = "dune")
{
	expect_outcome("mremap", prep_early, do_mremap, true, OUT_REACH);
	expect_outcome("mremap", prep_early, do_mremap, false, backend_is_vmx() ? OUT_PF_NP : OUT_REACH);
}

/* ------------------------------------------------------------- brk */

static uintptr_t brk_top;

static void prep_brk(void)
{
	brk_top = (uintptr_t)sbrk(0);
}

static void do_brk(void)
{
	char *old = sbrk(1 << 20);

	if (old == (char *)-1)
		_exit(OUT_OTHER);
	want_cr2 = PGROUNDUP((uintptr_t)old) + 64 * PGSIZE;
	*(volatile char *)want_cr2 = 6;
	if (*(volatile char *)want_cr2 != 6)
		_exit(OUT_OTHER);
}

CTEST(mm_brk,
      .id = "api.mm.brk",
      .profile = "vm",
      .what = "heap grown with brk in Dune mode is reachable at once on kvm, and on vmx with dune_init(true) when the heap is in the identity window (below 4 GiB: a -no-pie program); otherwise on vmx a not-present #PF at CR2",
      .needs = "dune")
{
	bool low;

	prep_brk();
	low = brk_top + (64UL << 20) < (1UL << 32);
	ct_log("heap top %#lx", (unsigned long)brk_top);
	expect_outcome("brk", NULL, do_brk, true, backend_is_vmx() && !low ? OUT_PF_NP : OUT_REACH);
	expect_outcome("brk", NULL, do_brk, false, backend_is_vmx() ? OUT_PF_NP : OUT_REACH);
}

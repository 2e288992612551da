// SPDX-License-Identifier: MIT
/*
 * vm.c - guest page tables (4-level x86-64), built from pool pages.
 *
 * Table pages come from the page pool, whose guest-physical address is
 * its host virtual address, so a PTE's address field can be followed as a
 * pointer in guest ring 0 and in host mode alike.  Runs natively in the
 * unit tests (on a pool somewhere else; see dune_page_init_at()).
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

bool dune_nx_ok = true;		/* EFER.NXE is set in the guest */

static inline bool pte_present(ptent_t pte)
{
	return pte & PTE_P;
}

static inline bool pte_big(ptent_t pte)
{
	return pte & PTE_PS;
}

static ptent_t *alloc_table(void)
{
	struct page *pg = dune_page_alloc();
	ptent_t *t;

	if (!pg)
		return NULL;
	dune_page_get(pg);
	t = (ptent_t *)dune_page2pa(pg);
	memset(t, 0, PGSIZE);
	return t;
}

static void free_table(ptent_t *t)
{
	dune_page_put(dune_pa2page((physaddr_t)(uintptr_t)t));
}

static inline __attribute__((always_inline)) ptent_t perm_to_flags(int perm)
{
	ptent_t f = 0;

	if (perm & PERM_R)
		f |= PTE_P;
	if (perm & PERM_W)
		f |= PTE_W;
	if (!(perm & PERM_X) && dune_nx_ok)
		f |= PTE_NX;
	if (perm & PERM_U)
		f |= PTE_U;
	if (perm & PERM_UC)
		f |= PTE_PCD;
	if (perm & PERM_COW)
		f |= PTE_COW;
	if ((perm & PERM_USR3) == PERM_USR3)
		f |= PTE_USR3;
	else if (perm & PERM_USR1)
		f |= PTE_USR1;
	else if (perm & PERM_USR2)
		f |= PTE_USR2;
	if (perm & PERM_LAZY4K)
		f |= PTE_LAZY4K;
	return f;
}

int dune_perm_of_pte(ptent_t pte)
{
	int perm = 0;

	if (pte & PTE_P)
		perm |= PERM_R;
	if (pte & PTE_W)
		perm |= PERM_W;
	if (!(pte & PTE_NX))
		perm |= PERM_X;
	if (pte & PTE_U)
		perm |= PERM_U;
	return perm;
}

/* next-level table of *e, creating it when asked */
static ptent_t *next_table(ptent_t *e, bool create, int *err)
{
	ptent_t *t;

	if (pte_present(*e))
		return (ptent_t *)(uintptr_t)PTE_ADDR(*e);
	if (!create) {
		*err = -ENOENT;
		return NULL;
	}
	t = alloc_table();
	if (!t) {
		*err = -ENOMEM;
		return NULL;
	}
	*e = PTE_ADDR((uintptr_t)t) | PTE_DEF_FLAGS;
	return t;
}

/*
 * Split the 2M/1G leaf at *e (level 1 or 2; it maps va) into a table of
 * smaller leaves, same addresses and permissions; a PTE_LAZY4K leaf's are
 * plain 4 KiB PTEs.  Lookups split PTE_LAZY4K leaves, and two threads may
 * look at one at once: the table goes in with a compare-and-swap, and the
 * loser frees its copy.  The CPU may hold the big translation: one invlpg
 * drops it (in guest ring 0; dune_tlb_flush_range).
 */
static int split_big(ptent_t *e, int level, uintptr_t va)
{
	ptent_t *t = alloc_table();
	ptent_t old = *e, flags = PTE_FLAGS(old) & ~PTE_LAZY4K;
	uint64_t step = level == 2 ? BIG_PGSIZE : PGSIZE;
	physaddr_t base = level == 2 ? PTE_HUGE_ADDR(old) : PTE_BIG_ADDR(old);
	int i;

	if (!t)
		return -ENOMEM;
	/* libdune never sets PAT bits, so only PS needs care */
	if (level == 1)
		flags &= ~PTE_PS;
	for (i = 0; i < NPTENTRIES; i++)
		t[i] = (base + i * step) | flags;
	if (!__atomic_compare_exchange_n(e, &old, PTE_ADDR((uintptr_t)t) | PTE_DEF_FLAGS, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		free_table(t);	/* split by another thread meanwhile */
		return 0;
	}
	dune_tlb_flush_range(va, va + PGSIZE);
	return 0;
}

/* a PTE_LAZY4K leaf: to be split before anyone sees it */
static inline bool pte_lazy(ptent_t pte)
{
	return (pte & (PTE_P | PTE_PS | PTE_LAZY4K)) == (PTE_P | PTE_PS | PTE_LAZY4K);
}

static int __attribute__((noinline)) vm_lookup_walk(ptent_t *root, void *va, int create,
						     ptent_t **pte_out);

int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out)
{
	ptent_t e;

	/*
	 * The common case first (a #PF handler's, appel's): three tables
	 * present on the way, none a big leaf, so nothing to create or split.
	 * The same result as the full walk, in fewer steps.
	 */
	if (create >= CREATE_BIG)	/* CREATE_BIG, CREATE_BIG_1GB */
		return vm_lookup_walk(root, va, create, pte_out);
	e = root[PDX(3, va)];
	if (!(e & PTE_P))
		return vm_lookup_walk(root, va, create, pte_out);
	e = ((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(2, va)];
	if ((e & (PTE_P | PTE_PS)) != PTE_P)
		return vm_lookup_walk(root, va, create, pte_out);
	e = ((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(1, va)];
	if ((e & (PTE_P | PTE_PS)) != PTE_P)
		return vm_lookup_walk(root, va, create, pte_out);
	*pte_out = &((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(0, va)];
	return 0;
}

static int vm_lookup_walk(ptent_t *root, void *va, int create, ptent_t **pte_out)
{
	ptent_t *pdpt, *pd, *pt;
	int err = 0;

	pdpt = next_table(&root[PDX(3, va)], create != CREATE_NONE, &err);
	if (!pdpt)
		return err;
	if (create == CREATE_BIG_1GB || pte_big(pdpt[PDX(2, va)])) {
		*pte_out = &pdpt[PDX(2, va)];
		return 0;
	}
	pd = next_table(&pdpt[PDX(2, va)], create != CREATE_NONE, &err);
	if (!pd)
		return err;
	if (create != CREATE_BIG && pte_lazy(pd[PDX(1, va)])) {
		err = split_big(&pd[PDX(1, va)], 1, (uintptr_t)va);
		if (err)
			return err;
	}
	if (create == CREATE_BIG || pte_big(pd[PDX(1, va)])) {
		*pte_out = &pd[PDX(1, va)];
		return 0;
	}
	pt = next_table(&pd[PDX(1, va)], create != CREATE_NONE, &err);
	if (!pt)
		return err;
	*pte_out = &pt[PDX(0, va)];
	return 0;
}


/* 4K entry for va, splitting big pages on the way; NULL if absent */
static ptent_t *lookup_4k(ptent_t *root, void *va, bool create, int *err)
{
	ptent_t *e = &root[PDX(3, va)];
	int level;

	*err = 0;
	for (level = 3; level > 0; level--) {
		ptent_t *t;

		if (level < 3 && pte_present(*e) && pte_big(*e)) {
			*err = split_big(e, level, (uintptr_t)va);
			if (*err)
				return NULL;
		}
		t = next_table(e, create, err);
		if (!t)
			return NULL;
		e = &t[PDX(level - 1, va)];
	}
	return e;
}

static void put_leaf(ptent_t pte)
{
	if (pte_present(pte) && !pte_big(pte) && dune_page_isfrompool(PTE_ADDR(pte)))
		dune_page_put(dune_pa2page(PTE_ADDR(pte)));
}

int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm)
{
	uintptr_t v = PGROUNDDOWN(va), end = (uintptr_t)va + len;
	physaddr_t p = PGROUNDDOWN(pa);
	ptent_t flags = perm_to_flags(perm);
	ptent_t *pte;
	int ret;

	if (!(perm & PERM_R) && (perm & ~(PERM_BIG | PERM_BIG_1GB)))
		return -EINVAL;
	while (v < end) {
		if ((perm & PERM_BIG_1GB) && !(v & (HUGE_PGSIZE - 1)) &&
		    !(p & (HUGE_PGSIZE - 1)) && end - v >= HUGE_PGSIZE) {
			ret = dune_vm_lookup(root, (void *)v, CREATE_BIG_1GB, &pte);
			if (ret)
				return ret;
			*pte = PTE_ADDR(p) | flags | PTE_PS;
			v += HUGE_PGSIZE;
			p += HUGE_PGSIZE;
		} else if ((perm & (PERM_BIG | PERM_BIG_1GB)) && !(v & (BIG_PGSIZE - 1)) &&
			   !(p & (BIG_PGSIZE - 1)) && end - v >= BIG_PGSIZE) {
			ret = dune_vm_lookup(root, (void *)v, CREATE_BIG, &pte);
			if (ret)
				return ret;
			*pte = PTE_ADDR(p) | flags | PTE_PS;
			v += BIG_PGSIZE;
			p += BIG_PGSIZE;
		} else {
			/* the rest of this level-0 table in one go */
			uint64_t n = (BIG_PGSIZE - (v & (BIG_PGSIZE - 1))) / PGSIZE, i;

			if (n > (end - v + PGSIZE - 1) / PGSIZE)
				n = (end - v + PGSIZE - 1) / PGSIZE;
			pte = lookup_4k(root, (void *)v, true, &ret);
			if (!pte)
				return ret;
			for (i = 0; i < n; i++)
				pte[i] = PTE_ADDR(p + i * PGSIZE) | (flags & ~PTE_LAZY4K);
			v += n * PGSIZE;
			p += n * PGSIZE;
		}
	}
	return 0;
}

int dune_vm_insert_page(ptent_t *root, void *va, struct page *pg, int perm)
{
	ptent_t *pte;
	int ret;

	pte = lookup_4k(root, va, true, &ret);
	if (!pte)
		return ret;
	dune_page_get(pg);
	put_leaf(*pte);
	*pte = PTE_ADDR(dune_page2pa(pg)) | perm_to_flags(perm);
	return 0;
}

int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm)
{
	uintptr_t v = PGROUNDDOWN(va), end = (uintptr_t)va + len;
	int ret;

	if (!(perm & PERM_R))
		return -EINVAL;
	if (perm & (PERM_BIG | PERM_BIG_1GB)) {
		/* a big page needs physically contiguous pool pages: the pool is
		 * carved 4K at a time, so big mappings of fresh memory are built
		 * from 4K pages (the permission is still honoured) */
		perm &= ~(PERM_BIG | PERM_BIG_1GB);
	}
	for (; v < end; v += PGSIZE) {
		struct page *pg = dune_page_alloc();

		if (!pg)
			return -ENOMEM;
		memset((void *)dune_page2pa(pg), 0, PGSIZE);
		ret = dune_vm_insert_page(root, (void *)v, pg, perm);
		if (ret) {
			dune_page_free(pg);
			return ret;
		}
	}
	return 0;
}

struct page *dune_vm_lookup_page(ptent_t *root, void *va)
{
	ptent_t *pte;

	if (dune_vm_lookup(root, va, CREATE_NONE, &pte) || !pte_present(*pte) || pte_big(*pte))
		return NULL;
	if (!dune_page_isfrompool(PTE_ADDR(*pte)))
		return NULL;
	return dune_pa2page(PTE_ADDR(*pte));
}

/* dune_vm_mprotect's general case: one walk per 2 MiB of 4K pages (the
 * rest of that level-0 table in one tight loop); ends with the TLB flush */
static int __attribute__((noinline)) mprotect_range(ptent_t *root, uintptr_t v, uintptr_t end,
						    ptent_t flags)
{
	uintptr_t start = v, run_end;
	ptent_t *pte, *last;
	int ret;

	while (v < end) {
		ret = dune_vm_lookup(root, (void *)v, CREATE_NONE, &pte);
		if (ret || !*pte) {
			v = PGROUNDDOWN(v) + PGSIZE;
			continue;
		}
		if (pte_big(*pte)) {
			uint64_t size;
			ptent_t *e2;

			/* which level?  try the 1G entry first */
			if (!dune_vm_lookup(root, (void *)v, CREATE_BIG_1GB, &e2) && e2 == pte)
				size = HUGE_PGSIZE;
			else
				size = BIG_PGSIZE;
			if ((v & (size - 1)) || end - v < size) {
				/* partial: split, then handle 4K entries */
				if (!lookup_4k(root, (void *)v, false, &ret)) {
					dune_tlb_flush_range(start, end);
					return ret;
				}
				continue;
			}
			*pte = PTE_ADDR(*pte) | flags | PTE_PS;
			v += size;
			continue;
		}
		/* a 4K leaf: this page and the rest of its table up to end */
		run_end = (v & ~(BIG_PGSIZE - 1)) + BIG_PGSIZE;
		if (run_end > end)
			run_end = end;
		last = pte + ((run_end - v + PGSIZE - 1) >> PGSHIFT);
		for (; pte < last; pte++)
			if (*pte)
				*pte = PTE_ADDR(*pte) | flags;
		v = run_end;
	}
	dune_tlb_flush_range(start, end);
	return 0;
}

/*
 * dune_vm_mprotect's one-page flush, inline on the hot path (a call to
 * dune_tlb_flush_range costs the appel handler a third more); the unit
 * tests (DUNE_UNIT_TLB_HOOK) count it through dune_tlb_flush_range.
 */
static inline __attribute__((always_inline)) void flush_one_page(uintptr_t va)
{
#ifdef DUNE_UNIT_TLB_HOOK
	dune_tlb_flush_range(va, va + PGSIZE);
#else
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (!(cs & 3))
		dune_flush_tlb_one(va);
#endif
}

/*
 * The appel benchmarks' hot path: a handler changes one 4K page per trap.
 * That case (4K tables all the way down) is one inline walk here, without
 * the range loop's frame; anything else goes to mprotect_range().  Both
 * end with a TLB flush of the range, as the original's (which reloads
 * CR3; up to DUNE_FLUSH_INVLPG_MAX pages get an invlpg each instead):
 * the new permissions hold as soon as this returns.
 */
int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm)
{
	uintptr_t v = PGROUNDDOWN(va), end = (uintptr_t)va + len;
	ptent_t flags = perm_to_flags(perm), e, *pte;

#ifdef DUNE_MUTANT_LIB_MPROTECT_NOP
	return 0;	/* mutant LIB_MPROTECT_NOP: permissions never change */
#endif

	if (len && end - v <= PGSIZE) {
		e = root[PDX(3, v)];
		if (!pte_present(e))
			goto general;
		e = ((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(2, v)];
		if ((e & (PTE_P | PTE_PS)) != PTE_P)
			goto general;
		e = ((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(1, v)];
		if ((e & (PTE_P | PTE_PS)) != PTE_P)
			goto general;
		pte = &((ptent_t *)(uintptr_t)PTE_ADDR(e))[PDX(0, v)];
		if (*pte)
			*pte = PTE_ADDR(*pte) | flags;
		flush_one_page(v);
		return 0;
	}
general:
	return mprotect_range(root, v, end, flags);
}

static void unmap_range(ptent_t *root, uintptr_t v, uintptr_t end)
{
	ptent_t *pte;
	int ret;

	while (v < end) {
		if (dune_vm_lookup(root, (void *)v, CREATE_NONE, &pte)) {
			v += PGSIZE;
			continue;
		}
		if (pte_big(*pte) && pte_present(*pte)) {
			ptent_t *e2;
			uint64_t size = BIG_PGSIZE;

			if (!dune_vm_lookup(root, (void *)v, CREATE_BIG_1GB, &e2) && e2 == pte)
				size = HUGE_PGSIZE;
			if (!(v & (size - 1)) && end - v >= size) {
				*pte = 0;
				v += size;
				continue;
			}
			if (!lookup_4k(root, (void *)v, false, &ret))
				return;
			continue;
		}
		put_leaf(*pte);
		*pte = 0;
		v += PGSIZE;
	}
}

/* ends with a TLB flush of the range, as the original's */
void dune_vm_unmap(ptent_t *root, void *va, size_t len)
{
	uintptr_t v = PGROUNDDOWN(va), end = (uintptr_t)va + len;

	unmap_range(root, v, end);
	dune_tlb_flush_range(v, end);
}

/* visit present leaves of the table at @level covering [start, end] */
static int walk(ptent_t *table, int level, uintptr_t base, uintptr_t start,
		uintptr_t end, page_walk_cb cb, const void *arg)
{
	uint64_t span = 1ULL << PDSHIFT(level);
	int i, ret;

	for (i = 0; i < NPTENTRIES; i++) {
		uintptr_t lo = base + i * span, hi = lo + span - 1;

		if (level == 3 && i >= 256)	/* sign-extend the upper half */
			lo |= 0xffff000000000000ULL, hi |= 0xffff000000000000ULL;
		if (hi < start || lo > end)
			continue;
		if (!pte_present(table[i]))
			continue;
		if (level == 1 && pte_lazy(table[i])) {
			ret = split_big(&table[i], 1, lo);
			if (ret)
				return ret;
		}
		if (level == 0 || pte_big(table[i])) {
			ret = cb(arg, &table[i], (void *)lo);
			if (ret)
				return ret;
			continue;
		}
		ret = walk((ptent_t *)(uintptr_t)PTE_ADDR(table[i]), level - 1,
			   lo, start, end, cb, arg);
		if (ret)
			return ret;
	}
	return 0;
}

/* [start_va, end_va] inclusive, as the original (callers pass va + len - 1) */
int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va,
		      page_walk_cb cb, const void *arg)
{
	return walk(root, 3, 0, (uintptr_t)start_va, (uintptr_t)end_va, cb, arg);
}

static ptent_t *clone_table(ptent_t *src, int level)
{
	ptent_t *dst = alloc_table();
	int i;

	if (!dst)
		return NULL;
	for (i = 0; i < NPTENTRIES; i++) {
		ptent_t e = src[i];

		if (!pte_present(e)) {
			dst[i] = e;
			continue;
		}
		if (level == 0 || pte_big(e)) {
			if (level == 0 && dune_page_isfrompool(PTE_ADDR(e)))
				dune_page_get(dune_pa2page(PTE_ADDR(e)));
			dst[i] = e;
			continue;
		}
		ptent_t *sub = clone_table((ptent_t *)(uintptr_t)PTE_ADDR(e), level - 1);

		if (!sub) {
			dst[i] = 0;
			continue;
		}
		dst[i] = PTE_ADDR((uintptr_t)sub) | PTE_FLAGS(e);
	}
	return dst;
}

ptent_t *dune_vm_clone(ptent_t *root)
{
	return clone_table(root, 3);
}

static void free_tables(ptent_t *t, int level)
{
	int i;

	for (i = 0; i < NPTENTRIES; i++) {
		ptent_t e = t[i];

		if (!pte_present(e))
			continue;
		if (level == 0)
			put_leaf(e);
		else if (!pte_big(e))
			free_tables((ptent_t *)(uintptr_t)PTE_ADDR(e), level - 1);
	}
	free_table(t);
}

void dune_vm_free(ptent_t *root)
{
	free_tables(root, 3);
}

void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec)
{
	ptent_t *pte;
	struct page *pg, *npg;

	if (dune_vm_lookup(pgroot, (void *)addr, CREATE_NONE, &pte) ||
	    !(*pte & PTE_COW) || !(fec & FEC_W) || pte_big(*pte)) {
		dune_printf("libdune: unhandled page fault at %#lx (error code %#lx)\n",
			    (unsigned long)addr, (unsigned long)fec);
		dune_die();
	}
	pg = dune_page_isfrompool(PTE_ADDR(*pte)) ? dune_pa2page(PTE_ADDR(*pte)) : NULL;
	if (pg && pg->ref == 1) {
		*pte = (*pte & ~PTE_COW) | PTE_W;
	} else {
		npg = dune_page_alloc();
		if (!npg) {
			dune_printf("libdune: out of pool pages for copy-on-write at %#lx\n",
				    (unsigned long)addr);
			dune_die();
		}
		dune_page_get(npg);
		memcpy((void *)dune_page2pa(npg), (void *)(uintptr_t)PTE_ADDR(*pte), PGSIZE);
		*pte = PTE_ADDR(dune_page2pa(npg)) | ((PTE_FLAGS(*pte) & ~PTE_COW) | PTE_W);
		if (pg)
			dune_page_put(pg);
	}
	dune_flush_tlb_one(addr);
}

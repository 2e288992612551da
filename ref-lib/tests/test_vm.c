// SPDX-License-Identifier: MIT
/*
 * test_vm.c - the guest page-table code (core/vm.c) on a pool of pages
 * mapped anywhere in this (native, ASan) process: table contents are
 * checked entry by entry, no guest is involved.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

#define NPOOL 4096

static ptent_t *root;

static void setup(void)
{
	static bool pool;

	if (!pool) {
		cr_assert_eq(dune_page_init_at(0, NPOOL), 0);
		pool = true;
	}
	struct page *pg = dune_page_alloc();

	cr_assert_not_null(pg);
	dune_page_get(pg);
	root = (ptent_t *)dune_page2pa(pg);
	memset(root, 0, PGSIZE);
	pgroot = root;
}

static void teardown(void)
{
	dune_vm_free(root);
}

TestSuite(vm, .init = setup, .fini = teardown);

Test(vm, map_phys_4k_entries)
{
	ptent_t *pte;
	int i;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x400000, 3 * PGSIZE, (void *)0x1000000,
				      PERM_R | PERM_W), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(dune_vm_lookup(root, (void *)(0x400000UL + i * PGSIZE), CREATE_NONE, &pte), 0);
		cr_expect_eq(PTE_ADDR(*pte), 0x1000000UL + i * PGSIZE);
		cr_expect_eq(PTE_FLAGS(*pte), PTE_P | PTE_W | PTE_NX, "flags %#lx", (unsigned long)PTE_FLAGS(*pte));
	}
	cr_expect_eq(dune_vm_lookup(root, (void *)0x403000, CREATE_NONE, &pte), 0);
	cr_expect_eq(*pte, 0, "the page after the range is not mapped");
	cr_expect_eq(dune_vm_lookup(root, (void *)0x7f0000000000, CREATE_NONE, &pte), -ENOENT);
}

Test(vm, perm_bits)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x10000, PGSIZE, (void *)0x20000,
				      PERM_R | PERM_X | PERM_U | PERM_UC | PERM_COW), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x10000, CREATE_NONE, &pte), 0);
	cr_expect_eq(PTE_FLAGS(*pte), PTE_P | PTE_U | PTE_PCD | PTE_COW);
	cr_expect_eq(dune_vm_map_phys(root, (void *)0x10000, PGSIZE, (void *)0x20000, PERM_W), -EINVAL,
		     "write without read is refused");
}

Test(vm, map_phys_big_2m)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x40000000, 4UL << 20, (void *)0x80000000,
				      PERM_R | PERM_W | PERM_BIG), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40000000, CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_PS);
	cr_expect_eq(PTE_ADDR(*pte), 0x80000000UL);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40345678, CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_PS, "an address inside the second 2M page finds its PDE");
	cr_expect_eq(PTE_ADDR(*pte), 0x80200000UL);
}

Test(vm, map_phys_big_1g)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)(4UL << 30), 1UL << 30, (void *)(1UL << 30),
				      PERM_R | PERM_BIG_1GB), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)((4UL << 30) + 12345), CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_PS);
	cr_expect_eq(PTE_ADDR(*pte), 1UL << 30);
	cr_expect_eq(pte, &((ptent_t *)PTE_ADDR(root[0]))[4], "a PDPT entry");
}

Test(vm, big_unaligned_falls_back_to_4k)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x40001000, BIG_PGSIZE, (void *)0x80001000,
				      PERM_R | PERM_BIG), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40001000, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_PS));
	cr_expect_eq(PTE_ADDR(*pte), 0x80001000UL);
}

struct walk_rec {
	uintptr_t va[64];
	int n;
};

static int record(const void *arg, ptent_t *ptep, void *va)
{
	struct walk_rec *r = (struct walk_rec *)arg;

	(void)ptep;
	if (r->n < 64)
		r->va[r->n] = (uintptr_t)va;
	r->n++;
	return 0;
}

Test(vm, page_walk_visits_exactly_the_range)
{
	struct walk_rec r = { .n = 0 };
	int i;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x600000, 8 * PGSIZE, (void *)0x900000, PERM_R), 0);
	cr_assert_eq(dune_vm_map_phys(root, (void *)0x500000, PGSIZE, (void *)0x900000, PERM_R), 0);
	cr_assert_eq(dune_vm_page_walk(root, (void *)0x602000, (void *)(0x606000 - 1), record, &r), 0);
	cr_assert_eq(r.n, 4);
	for (i = 0; i < 4; i++)
		cr_expect_eq(r.va[i], 0x602000UL + i * PGSIZE);
	r.n = 0;
	cr_assert_eq(dune_vm_page_walk(root, (void *)0, (void *)~0UL, record, &r), 0);
	cr_expect_eq(r.n, 9, "whole address space: 8 + 1 pages");
}

Test(vm, page_walk_upper_half)
{
	struct walk_rec r = { .n = 0 };

	cr_assert_eq(dune_vm_map_phys(root, (void *)0xffffffffff600000UL, PGSIZE, (void *)0x1000,
				      PERM_R | PERM_X), 0);
	cr_assert_eq(dune_vm_page_walk(root, (void *)0xffff800000000000UL, (void *)~0UL, record, &r), 0);
	cr_assert_eq(r.n, 1);
	cr_expect_eq(r.va[0], 0xffffffffff600000UL);
}

Test(vm, mprotect_and_unmap)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x700000, 2 * PGSIZE, (void *)0x900000,
				      PERM_R | PERM_W), 0);
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x700000, PGSIZE, PERM_R), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x700000, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_W));
	cr_expect_eq(PTE_ADDR(*pte), 0x900000UL);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x701000, CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_W, "the second page keeps its permission");
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x700000, PGSIZE, PERM_NONE), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x700000, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_P));
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x700000, PGSIZE, PERM_R | PERM_W), 0);
	cr_expect(*pte & PTE_P, "PERM_NONE keeps the address, so it can come back");
	dune_vm_unmap(root, (void *)0x700000, 2 * PGSIZE);
	cr_expect_eq(*pte, 0);
}

/* a flush recorded since unit_nflushes was @from covers [lo, hi) */
static bool flushed(int from, uintptr_t lo, uintptr_t hi)
{
	int i;

	for (i = from; i < unit_nflushes && i < UNIT_MAX_FLUSHES; i++)
		if (unit_flushes[i].start <= lo && unit_flushes[i].end >= hi)
			return true;
	return false;
}

/* the original ends dune_vm_mprotect and dune_vm_unmap with a TLB flush */
Test(vm, mprotect_and_unmap_flush_the_tlb)
{
	int n;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x700000, 40 * PGSIZE, (void *)0x900000,
				      PERM_R | PERM_W), 0);
	n = unit_nflushes;
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x700000, PGSIZE, PERM_R), 0);
	cr_expect(flushed(n, 0x700000, 0x701000), "one page (the fast path): no flush");
	n = unit_nflushes;
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x701000, 2 * PGSIZE, PERM_R), 0);
	cr_expect(flushed(n, 0x701000, 0x703000), "two pages: no flush");
	n = unit_nflushes;
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x700000, 40 * PGSIZE, PERM_R | PERM_W), 0);
	cr_expect(flushed(n, 0x700000, 0x728000), "40 pages: no flush");
	n = unit_nflushes;
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x40000000, PGSIZE, PERM_R), 0);
	cr_expect(flushed(n, 0x40000000, 0x40001000), "nothing mapped there: the original flushes still");
	n = unit_nflushes;
	dune_vm_unmap(root, (void *)0x700000, PGSIZE);
	cr_expect(flushed(n, 0x700000, 0x701000), "unmap of one page: no flush");
	n = unit_nflushes;
	dune_vm_unmap(root, (void *)0x701000, 39 * PGSIZE);
	cr_expect(flushed(n, 0x701000, 0x728000), "unmap of 39 pages: no flush");
}

/* dune_init(true)'s lazily built 4 KiB layout: nobody sees a 2 MiB leaf */
Test(vm, lazy4k_leaves_split_on_first_look)
{
	struct walk_rec r = { .n = 0 };
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x40000000, 3 * BIG_PGSIZE, (void *)0x80000000,
				      PERM_R | PERM_W | PERM_U | PERM_BIG | PERM_LAZY4K), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40000000, CREATE_BIG, &pte), 0);
	cr_expect(*pte & PTE_PS, "made as a 2 MiB leaf");
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40003000, CREATE_NONE, &pte), 0);
	cr_expect_eq(*pte, 0x80003000UL | PTE_P | PTE_W | PTE_U | PTE_NX, "lookup: %#lx",
		     (unsigned long)*pte);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40200000, CREATE_BIG, &pte), 0);
	cr_expect(*pte & PTE_PS, "the next 2 MiB is left alone");
	cr_assert_eq(dune_vm_page_walk(root, (void *)0x40200000, (void *)0x403fffff, record, &r), 0);
	cr_expect_eq(r.n, 512, "one callback per 4 KiB page, not one for 2 MiB");
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40201000, CREATE_NONE, &pte), 0);
	cr_expect_eq(*pte, 0x80201000UL | PTE_P | PTE_W | PTE_U | PTE_NX, "after the walk: %#lx",
		     (unsigned long)*pte);
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x40400000, BIG_PGSIZE, PERM_R), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40400000, CREATE_BIG, &pte), 0);
	cr_expect(!(*pte & PTE_PS), "a whole-2 MiB mprotect works on 4 KiB PTEs too");
	cr_assert_eq(dune_vm_lookup(root, (void *)0x405ff000, CREATE_NONE, &pte), 0);
	cr_expect_eq(*pte, 0x805ff000UL | PTE_P | PTE_NX, "after mprotect: %#lx", (unsigned long)*pte);
}

/* the opt-in 2 MiB layout (dune_map_full_big_pages): big leaves stay */
Test(vm, big_leaves_stay_big)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x40000000, BIG_PGSIZE, (void *)0x80000000,
				      PERM_R | PERM_W | PERM_BIG), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40003000, CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_PS, "lookup returns the 2 MiB leaf: %#lx", (unsigned long)*pte);
}

Test(vm, mprotect_range_across_tables_and_holes)
{
	/* 0x3fe000..0x402000 crosses a 2 MiB boundary (two level-0 tables);
	 * 0x600000.. has no table at all; 0x401000 is a hole in a table */
	uintptr_t base = 0x3fe000, v;
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)base, 3 * PGSIZE, (void *)0x5000000,
				      PERM_R | PERM_W), 0);
	cr_assert_eq(dune_vm_map_phys(root, (void *)0x402000, PGSIZE, (void *)0x5004000,
				      PERM_R | PERM_W), 0);
	cr_assert_eq(dune_vm_mprotect(root, (void *)base, 0x800000 - base, PERM_R), 0);
	for (v = base; v < 0x403000; v += PGSIZE) {
		cr_assert_eq(dune_vm_lookup(root, (void *)v, CREATE_NONE, &pte), 0, "%#lx", v);
		if (v == 0x401000) {
			cr_expect_eq(*pte, 0, "the hole at %#lx stays empty", v);
			continue;
		}
		cr_expect(*pte & PTE_P, "%#lx present", v);
		cr_expect(!(*pte & PTE_W), "%#lx read-only now", v);
		cr_expect_eq(PTE_ADDR(*pte), 0x5000000UL + (v - base), "%#lx keeps its address", v);
	}
	cr_expect_eq(dune_vm_lookup(root, (void *)0x600000, CREATE_NONE, &pte), -ENOENT,
		     "no table was created for the empty region");
	cr_assert_eq(dune_vm_mprotect(root, (void *)(base + PGSIZE), 2 * PGSIZE, PERM_R | PERM_W), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)base, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_W), "the page before the range keeps read-only");
	cr_assert_eq(dune_vm_lookup(root, (void *)(base + 2 * PGSIZE), CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_W, "the last page of the range (in the next table) is writable again");
	cr_assert_eq(dune_vm_lookup(root, (void *)0x402000, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_W), "the page after the range keeps read-only");
}

Test(vm, partial_mprotect_splits_big_page)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_map_phys(root, (void *)0x40000000, BIG_PGSIZE, (void *)0x80000000,
				      PERM_R | PERM_W | PERM_BIG), 0);
	cr_assert_eq(dune_vm_mprotect(root, (void *)0x40003000, PGSIZE, PERM_R), 0);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40003000, CREATE_NONE, &pte), 0);
	cr_expect(!(*pte & PTE_PS));
	cr_expect(!(*pte & PTE_W));
	cr_expect_eq(PTE_ADDR(*pte), 0x80003000UL);
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40004000, CREATE_NONE, &pte), 0);
	cr_expect(*pte & PTE_W);
	cr_expect_eq(PTE_ADDR(*pte), 0x80004000UL);
}

Test(vm, map_pages_clone_free_refcounts)
{
	struct page *pg;
	ptent_t *copy;
	char *p;

	cr_assert_eq(dune_vm_map_pages(root, (void *)0x800000, 2 * PGSIZE, PERM_R | PERM_W), 0);
	pg = dune_vm_lookup_page(root, (void *)0x800000);
	cr_assert_not_null(pg);
	cr_expect_eq(pg->ref, 1);
	p = (char *)dune_page2pa(pg);
	cr_expect_eq(p[0], 0, "fresh pages are zeroed");
	copy = dune_vm_clone(root);
	cr_assert_not_null(copy);
	cr_expect_eq(pg->ref, 2, "a clone shares pool pages");
	cr_expect_eq(dune_vm_lookup_page(copy, (void *)0x800000), pg);
	dune_vm_free(copy);
	cr_expect_eq(pg->ref, 1);
	dune_vm_unmap(root, (void *)0x800000, 2 * PGSIZE);
	cr_expect_null(dune_vm_lookup_page(root, (void *)0x800000));
}

Test(vm, insert_page)
{
	struct page *pg = dune_page_alloc();
	ptent_t *pte;

	cr_assert_not_null(pg);
	cr_assert_eq(dune_vm_insert_page(root, (void *)0xa00000, pg, PERM_R | PERM_U), 0);
	cr_expect_eq(pg->ref, 1);
	cr_assert_eq(dune_vm_lookup(root, (void *)0xa00000, CREATE_NONE, &pte), 0);
	cr_expect_eq(PTE_ADDR(*pte), dune_page2pa(pg));
	cr_expect(dune_page_isfrompool(dune_page2pa(pg)));
	cr_expect(!dune_page_isfrompool(0x1000));
}

Test(vm, lookup_create_levels)
{
	ptent_t *pte;

	cr_assert_eq(dune_vm_lookup(root, (void *)0x40000000, CREATE_BIG, &pte), 0);
	cr_expect_eq(*pte, 0);
	*pte = 0x80000000 | PTE_P | PTE_PS;
	cr_assert_eq(dune_vm_lookup(root, (void *)0x40001000, CREATE_NORMAL, &pte), 0);
	cr_expect(*pte & PTE_PS, "NORMAL lookup under a big page returns the big entry");
}

static void print_stats(void *arg)
{
	(void)arg;
	dune_page_stats();
}

Test(vm, page_refcount_free_and_stats)
{
	struct page *pg = dune_page_alloc(), *again;
	char *before, *after;
	physaddr_t pa;

	cr_assert_not_null(pg);
	pa = dune_page2pa(pg);
	cr_expect(dune_page_isfrompool(pa));
	cr_expect_eq(dune_pa2page(pa), pg, "pa2page(page2pa(pg)) is pg");
	cr_expect_eq(dune_pa2page(pa + 123), pg, "an address inside the page maps to it too");
	dune_page_get(pg);
	dune_page_get(pg);
	cr_expect_eq(pg->ref, 2);
	before = unit_capture_stdout(print_stats, NULL);
	dune_page_put(pg);
	cr_expect_eq(pg->ref, 1, "the first put keeps the page");
	dune_page_put(pg);		/* the last put frees it: the next alloc reuses it */
	after = unit_capture_stdout(print_stats, NULL);
	again = dune_page_alloc();
	cr_expect_eq(again, pg, "the freed page is handed out again");
	cr_expect(strstr(before, "DUNE Page Allocator: Alloc ") != NULL, "stats line: '%s'", before);
	cr_expect(strstr(before, "Total 4096") != NULL, "stats line: '%s'", before);
	{
		size_t a1 = 0, a2 = 0;

		cr_assert_eq(sscanf(strstr(before, "Alloc "), "Alloc %zu", &a1), 1);
		cr_assert_eq(sscanf(strstr(after, "Alloc "), "Alloc %zu", &a2), 1);
		cr_expect_eq(a1, a2 + 1, "one page fewer allocated after the last put (%zu vs %zu)", a1, a2);
	}
	dune_page_free(again);
	free(before);
	free(after);
}

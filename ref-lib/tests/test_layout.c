// SPDX-License-Identifier: MIT
/*
 * test_layout.c - the host-mapping mirror (core/layout.c) and libdune's
 * spin lock, natively: the mirror steps over the page pool and maps what
 * is around it through the Dune windows; the lock excludes.
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

#define NPOOL 4096

static ptent_t *root;

static void setup(void)
{
	static bool pool;
	struct page *pg;

	if (!pool) {
		cr_assert_eq(dune_page_init_at(0, NPOOL), 0);
		pool = true;
	}
	pg = dune_page_alloc();
	cr_assert_not_null(pg);
	dune_page_get(pg);
	root = (ptent_t *)dune_page2pa(pg);
	memset(root, 0, PGSIZE);
	pgroot = root;
	/* identity window covering the whole pool and beyond */
	dune_identity_limit = dune_page_base + 2 * (uintptr_t)NPOOL * PGSIZE;
	mmap_base = stack_base = 0;
}

static void teardown(void)
{
	dune_vm_free(root);
}

TestSuite(layout, .init = setup, .fini = teardown);

static ptent_t pte_of(uintptr_t va)
{
	ptent_t *pte;

	if (dune_vm_lookup(root, (void *)va, CREATE_NONE, &pte))
		return 0;
	return *pte;
}

Test(layout, mirror_steps_over_pool)
{
	uintptr_t lo = dune_page_base - 2 * PGSIZE;
	uintptr_t pool_end = dune_page_base + (uintptr_t)NPOOL * PGSIZE;
	uintptr_t hi = pool_end + 3 * PGSIZE;
	uintptr_t v;

	if (lo > dune_page_base)
		cr_skip_test("the unit-test pool starts below two pages (cannot place pages before it)");
	cr_assert_eq(dune_mirror_range(lo, hi - lo, PROT_READ | PROT_WRITE), 0);
	for (v = lo; v < dune_page_base; v += PGSIZE) {
		cr_expect_eq(PTE_ADDR(pte_of(v)), v, "page %#lx before the pool: identity-mapped", v);
		cr_expect(pte_of(v) & PTE_W, "page %#lx before the pool: writable", v);
	}
	for (v = dune_page_base; v < pool_end; v += PGSIZE)
		cr_assert_eq(pte_of(v), 0, "pool page %#lx: left to the pool's own mapping", v);
	for (v = pool_end; v < hi; v += PGSIZE)
		cr_expect_eq(PTE_ADDR(pte_of(v)), v, "page %#lx after the pool: identity-mapped", v);

	/* unmapping across the pool clears both sides, still skips the pool */
	cr_assert_eq(dune_mirror_range(lo, hi - lo, -1), 0);
	for (v = lo; v < dune_page_base; v += PGSIZE)
		cr_expect_eq(pte_of(v) & PTE_P, 0, "page %#lx before the pool: unmapped", v);
	for (v = pool_end; v < hi; v += PGSIZE)
		cr_expect_eq(pte_of(v) & PTE_P, 0, "page %#lx after the pool: unmapped", v);
}

Test(layout, mirror_read_only_and_outside_windows)
{
	uintptr_t va = dune_page_base + (uintptr_t)NPOOL * PGSIZE + 16 * PGSIZE;
	uintptr_t outside = dune_identity_limit + 4 * PGSIZE;

	cr_assert_eq(dune_mirror_range(va, PGSIZE, PROT_READ), 0);
	cr_expect_eq(PTE_ADDR(pte_of(va)), va);
	cr_expect_eq(pte_of(va) & PTE_W, 0, "PROT_READ maps read-only");
	cr_assert_eq(dune_mirror_range(outside, PGSIZE, PROT_READ), 0);
	cr_expect_eq(pte_of(outside), 0, "an address outside every window is not mapped");
}

/* dune_init(true): RWXU whatever the host permission, as the original */
Test(layout, mirror_map_full_rwxu)
{
	uintptr_t va = dune_page_base + (uintptr_t)NPOOL * PGSIZE + 32 * PGSIZE;

	dune_map_full = true;
	cr_assert_eq(dune_mirror_range(va, PGSIZE, PROT_READ), 0);
	cr_assert_eq(dune_mirror_range(va + PGSIZE, PGSIZE, PROT_EXEC), 0);
	cr_assert_eq(dune_mirror_range(va + 2 * PGSIZE, PGSIZE, PROT_NONE), 0);
	dune_map_full = false;
	cr_expect_eq(PTE_FLAGS(pte_of(va)), PTE_P | PTE_W | PTE_U, "PROT_READ: flags %#lx",
		     (unsigned long)PTE_FLAGS(pte_of(va)));
	cr_expect_eq(PTE_FLAGS(pte_of(va + PGSIZE)), PTE_P | PTE_W | PTE_U, "PROT_EXEC: flags %#lx",
		     (unsigned long)PTE_FLAGS(pte_of(va + PGSIZE)));
	cr_expect_eq(pte_of(va + 2 * PGSIZE) & PTE_P, 0, "PROT_NONE is not present");
}

#define LOCK_ROUNDS 200000

static volatile int test_lock;
static long counter;

static void *contend(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < LOCK_ROUNDS; i++) {
		long c;

		dune_spin_lock(&test_lock);
		c = counter;	/* a non-atomic read-modify-write: loses counts without the lock */
		__asm__ volatile("" ::: "memory");
		counter = c + 1;
		dune_spin_unlock(&test_lock);
	}
	return NULL;
}

Test(layout, spin_lock_excludes)
{
	pthread_t t[3];
	int i;

	for (i = 0; i < 3; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, contend, NULL), 0);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(counter, 3L * LOCK_ROUNDS, "counter %ld", counter);
}

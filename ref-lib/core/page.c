// SPDX-License-Identifier: MIT
/*
 * page.c - the physical page pool.
 *
 * The pool is one anonymous mapping at dune_page_base (PAGEBASE), inside
 * the identity window, so a pool page's guest-physical address is its
 * host virtual address and page-table pages can be used directly from
 * both sides.  Pages are handed out from a free list, then from a bump
 * index; struct page entries live in a lazily-touched array.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

struct page *pages;
int num_pages;
uintptr_t dune_page_base = PAGEBASE;

static struct page_head free_list = SLIST_HEAD_INITIALIZER(free_list);
static size_t next_fresh;
static size_t nr_free;
static volatile int pool_lock;

static void lock(void)
{
	dune_spin_lock(&pool_lock);
}

static void unlock(void)
{
	dune_spin_unlock(&pool_lock);
}

int dune_page_init_at(uintptr_t base, size_t npages)
{
	void *mem, *arr;
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;

	if (base)
		flags |= MAP_FIXED_NOREPLACE;
	mem = mmap((void *)base, npages * PGSIZE, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (mem == MAP_FAILED)
		return -errno;
	if (base && (uintptr_t)mem != base) {
		munmap(mem, npages * PGSIZE);
		return -EEXIST;
	}
	arr = mmap(NULL, npages * sizeof(struct page), PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (arr == MAP_FAILED) {
		munmap(mem, npages * PGSIZE);
		return -errno;
	}
	dune_page_base = (uintptr_t)mem;
	pages = arr;
	num_pages = (int)npages;
	SLIST_INIT(&free_list);
	next_fresh = 0;
	nr_free = npages;
	return 0;
}

int dune_page_init(void)
{
	if (pages)
		return 0;
	return dune_page_init_at(PAGEBASE, MAX_PAGES);
}

struct page *dune_page_alloc(void)
{
	struct page *pg = NULL;

	lock();
	if (!SLIST_EMPTY(&free_list)) {
		pg = SLIST_FIRST(&free_list);
		SLIST_REMOVE_HEAD(&free_list, link);
	} else if (next_fresh < (size_t)num_pages) {
		pg = &pages[next_fresh++];
	}
	if (pg) {
		pg->ref = 0;
		nr_free--;
	}
	unlock();
	return pg;
}

void dune_page_free(struct page *pg)
{
	lock();
	SLIST_INSERT_HEAD(&free_list, pg, link);
	nr_free++;
	unlock();
}

void dune_page_stats(void)
{
	dune_printf("DUNE Page Allocator: Alloc %zu, Free %zu, Total %d\n",
		    (size_t)num_pages - nr_free, nr_free, num_pages);
}

/* a forked child: the thread that held the lock (if any) is not here */
void dune_page_fork_child(void)
{
	unlock();
}

bool dune_page_isfrompool(physaddr_t pa)
{
	return pages && pa >= dune_page_base &&
	       pa < dune_page_base + (physaddr_t)num_pages * PGSIZE;
}

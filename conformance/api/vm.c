// SPDX-License-Identifier: MIT
/* vm.c - page faults and the guest virtual-memory API */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static volatile uintptr_t fault_addr;
static volatile uint64_t fault_fec;
static volatile int nfaults;
static char *remap_page;

static void pgflt_remap(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	fault_addr = addr;
	fault_fec = fec;
	nfaults++;
	dune_vm_map_phys(pgroot, remap_page, PGSIZE, (void *)dune_va_to_pa(remap_page),
			 PERM_R | PERM_W);
	dune_flush_tlb_one((unsigned long)remap_page);
}

CTEST(vm_pgflt,
      .id = "api.vm.pgflt",
      .profile = "vm",
      .what = "a #PF handler sees CR2 and the error code of a write to an unmapped page, maps it and resumes",
      .needs = "dune")
{
	ENTER();
	remap_page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(remap_page != MAP_FAILED);
	remap_page[0] = 1;
	dune_vm_unmap(pgroot, remap_page, PGSIZE);
	dune_register_pgflt_handler(pgflt_remap);
	*(volatile char *)(remap_page + 123) = 42;
	CT_EXPECT_EQ(nfaults, 1);
	CT_EXPECT_EQ(fault_addr, (uintptr_t)remap_page + 123);
	CT_EXPECT((fault_fec & FEC_W) && !(fault_fec & FEC_P) && !(fault_fec & FEC_U),
		  "error code %#lx: want write, not-present, supervisor", (unsigned long)fault_fec);
	CT_EXPECT_EQ(remap_page[123], 42);
	CT_EXPECT_EQ(remap_page[0], 1);
}

#define APPEL_PAGES 100
static char *appel_mem;

static void pgflt_unprotect(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	fault_fec = fec;
	nfaults++;
	dune_vm_mprotect(pgroot, (void *)PGROUNDDOWN(addr), PGSIZE, PERM_R | PERM_W);
}

CTEST(vm_appel,
      .id = "api.vm.appel",
      .profile = "vm",
      .what = "appel-style PROTN/TRAP/UNPROT: dune_vm_mprotect read-only, each write traps once, the handler unprotects",
      .needs = "dune")
{
	int i, round;

	ENTER();
	appel_mem = mmap(NULL, APPEL_PAGES * PGSIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(appel_mem != MAP_FAILED);
	memset(appel_mem, 0, APPEL_PAGES * PGSIZE);
	dune_register_pgflt_handler(pgflt_unprotect);
	for (round = 0; round < 3; round++) {
		nfaults = 0;
		CT_ASSERT_EQ(dune_vm_mprotect(pgroot, appel_mem, APPEL_PAGES * PGSIZE, PERM_R), 0);
		for (i = 0; i < APPEL_PAGES; i++)
			appel_mem[i * PGSIZE + 7] = (char)(i + round);
		CT_EXPECT_EQ(nfaults, APPEL_PAGES);
		CT_EXPECT((fault_fec & (FEC_P | FEC_W)) == (FEC_P | FEC_W),
			  "error code %#lx: want present + write", (unsigned long)fault_fec);
	}
	for (i = 0; i < APPEL_PAGES; i++)
		CT_ASSERT_EQ(appel_mem[i * PGSIZE + 7], (char)(i + 2));
}

CTEST(vm_map_pages,
      .id = "api.vm.map_pages",
      .profile = "vm",
      .what = "dune_vm_map_pages maps fresh zeroed pool pages at an unused address; lookup and lookup_page find them",
      .needs = "dune")
{
	char *va = FRESH_VA;
	ptent_t *pte;
	struct page *pg;
	int i;

	ENTER();
	CT_ASSERT_EQ(dune_vm_map_pages(pgroot, va, 4 * PGSIZE, PERM_R | PERM_W), 0);
	for (i = 0; i < 4 * PGSIZE; i += 512) {
		CT_ASSERT_EQ(va[i], 0);
		va[i] = (char)(i >> 9);
	}
	CT_ASSERT_EQ(dune_vm_lookup(pgroot, va + PGSIZE, CREATE_NONE, &pte), 0);
	CT_EXPECT((*pte & (PTE_P | PTE_W)) == (PTE_P | PTE_W));
	pg = dune_vm_lookup_page ? dune_vm_lookup_page(pgroot, va + PGSIZE) : conf_lookup_page(pgroot, va + PGSIZE);
	CT_ASSERT(pg != NULL);
	CT_EXPECT_EQ(((char *)dune_page2pa(pg))[512], (char)((PGSIZE + 512) >> 9));
	dune_vm_unmap(pgroot, va, 4 * PGSIZE);
	CT_EXPECT(dune_vm_lookup(pgroot, va, CREATE_NONE, &pte) || !(*pte & PTE_P));
}

/* host memory with a @size-aligned chunk inside */
static char *aligned_host(size_t size)
{
	char *m = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (m == MAP_FAILED)
		return NULL;
	return (char *)(((uintptr_t)m + size - 1) & ~(uintptr_t)(size - 1));
}

static void check_big_alias(size_t size, int perm)
{
	char *host = aligned_host(size), *alias = (char *)FRESH_VA + (2UL << 30);
	uintptr_t pa;
	ptent_t *pte;

	CT_ASSERT(host != NULL);
	pa = dune_va_to_pa(host);
	CT_ASSERT_EQ(pa & (size - 1), 0);
	host[0] = 'a';
	host[size - 1] = 'z';
	host[size / 2] = 'm';
	CT_ASSERT_EQ(dune_vm_map_phys(pgroot, alias, size, (void *)pa, PERM_R | PERM_W | perm), 0);
	CT_ASSERT_EQ(dune_vm_lookup(pgroot, alias + size / 2, CREATE_NONE, &pte), 0);
	CT_EXPECT(*pte & PTE_PS, "the leaf is a big page");
	CT_EXPECT_EQ(PTE_ADDR(*pte) & ~(size - 1), pa);
	CT_EXPECT_EQ(alias[0], 'a');
	CT_EXPECT_EQ(alias[size - 1], 'z');
	CT_EXPECT_EQ(alias[size / 2], 'm');
	alias[1] = 'b';
	CT_EXPECT_EQ(host[1], 'b');
}

CTEST(vm_map_phys_big,
      .id = "api.vm.map_phys.big",
      .profile = "vm",
      .what = "dune_vm_map_phys with PERM_BIG maps a 2 MiB page aliasing host memory; lookup returns the PS entry",
      .needs = "dune")
{
	ENTER();
	check_big_alias(BIG_PGSIZE, PERM_BIG);
}

static int cpu_has_1g(void)
{
	unsigned a = 0x80000001, b, c = 0, d;

	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	return (d >> 26) & 1;
}

CTEST(vm_map_phys_1g,
      .id = "api.vm.map_phys.big_1gb",
      .profile = "vm",
      .what = "dune_vm_map_phys with PERM_BIG_1GB maps a 1 GiB page aliasing host memory (where the CPU has 1G pages)",
      .needs = "dune")
{
	ENTER();
	if (!cpu_has_1g())
		CT_SKIP("the guest CPU has no 1 GiB pages (CPUID pdpe1gb)");
	check_big_alias(HUGE_PGSIZE, PERM_BIG_1GB);
}

struct walk_count {
	int n;
	uintptr_t lo, hi;
};

static int count_cb(const void *arg, ptent_t *ptep, void *va)
{
	struct walk_count *w = (struct walk_count *)arg;

	(void)ptep;
	w->n++;
	if (!w->lo || (uintptr_t)va < w->lo)
		w->lo = (uintptr_t)va;
	if ((uintptr_t)va > w->hi)
		w->hi = (uintptr_t)va;
	return 0;
}

CTEST(vm_page_walk,
      .id = "api.vm.page_walk",
      .profile = "vm",
      .what = "dune_vm_page_walk visits exactly the pages mapped in a range (end inclusive, as the original)",
      .needs = "dune")
{
	char *va = (char *)FRESH_VA + (8UL << 30);
	struct walk_count w = { 0 };

	ENTER();
	CT_ASSERT_EQ(dune_vm_map_pages(pgroot, va, 8 * PGSIZE, PERM_R | PERM_W), 0);
	CT_ASSERT_EQ(dune_vm_page_walk(pgroot, va - (1 << 20), va + (1 << 20), count_cb, &w), 0);
	CT_EXPECT_EQ(w.n, 8);
	CT_EXPECT_EQ(w.lo, (uintptr_t)va);
	CT_EXPECT_EQ(w.hi, (uintptr_t)va + 7 * PGSIZE);
	memset(&w, 0, sizeof(w));
	CT_ASSERT_EQ(dune_vm_page_walk(pgroot, va + PGSIZE, va + 3 * PGSIZE - 1, count_cb, &w), 0);
	CT_EXPECT_EQ(w.n, 2);
}

CTEST(vm_clone_cr3,
      .id = "api.vm.clone_load_cr3",
      .profile = "vm",
      .what = "dune_vm_clone + load_cr3 switch between address spaces that map one address differently",
      .needs = "dune")
{
	char *va = (char *)FRESH_VA + (16UL << 30);
	ptent_t *other;
	struct page *a, *b;
	volatile char *p = va;
	char seen_other, seen_back;

	ENTER();
	a = dune_page_alloc();
	b = dune_page_alloc();
	CT_ASSERT(a && b);
	((char *)dune_page2pa(a))[0] = 'A';
	((char *)dune_page2pa(b))[0] = 'B';
	CT_ASSERT_EQ(conf_insert_page(pgroot, va, a, PERM_R | PERM_W), 0);
	other = dune_vm_clone(pgroot);
	CT_ASSERT(other != NULL);
	CT_ASSERT_EQ(conf_insert_page(other, va, b, PERM_R | PERM_W), 0);
	CT_EXPECT_EQ(p[0], 'A');
	load_cr3((uintptr_t)other);
	seen_other = p[0];
	load_cr3((uintptr_t)pgroot);
	seen_back = p[0];
	CT_EXPECT_EQ(seen_other, 'B');
	CT_EXPECT_EQ(seen_back, 'A');
	dune_vm_free(other);
}

static volatile int cow_faults;

static void pgflt_cow(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	cow_faults++;
	dune_vm_default_pgflt_handler(addr, fec);
}

CTEST(vm_cow,
      .id = "api.vm.cow",
      .profile = "vm",
      .what = "a PERM_COW page shared by a clone is copied on the first write by dune_vm_default_pgflt_handler",
      .needs = "dune")
{
	char *va = (char *)FRESH_VA + (24UL << 30);
	struct page *pg;

	ENTER();
	CT_ASSERT_EQ(dune_vm_map_pages(pgroot, va, PGSIZE, PERM_R | PERM_W), 0);
	va[0] = 'x';
	pg = conf_lookup_page(pgroot, va);
	CT_ASSERT(pg != NULL);
	dune_page_get(pg);	/* a second owner */
	CT_ASSERT_EQ(dune_vm_mprotect(pgroot, va, PGSIZE, PERM_R | PERM_COW), 0);
	dune_register_pgflt_handler(pgflt_cow);
	va[1] = 'y';
	CT_EXPECT_EQ(cow_faults, 1);
	CT_EXPECT(conf_lookup_page(pgroot, va) != pg, "the page was copied");
	CT_EXPECT_EQ(va[0], 'x');
	CT_EXPECT_EQ(va[1], 'y');
	CT_EXPECT_EQ(((char *)dune_page2pa(pg))[1], 0);
}

/* ------------------------------------------- host memory gone under the guest */

static void do_unbacked(void)
{
	char *p = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int i;

	if (p == MAP_FAILED)
		_exit(3);
	for (i = 0; i < 5; i++)
		(void)getppid();	/* some system-call exits first */
	/* a guest mapping of the page's guest-physical address, then the
	 * host mapping goes: the guest reaches a memory slot over nothing */
	if (dune_vm_map_phys(pgroot, FRESH_VA, PGSIZE, (void *)dune_va_to_pa(p),
			     PERM_R | PERM_W) || munmap(p, PGSIZE))
		_exit(3);
	(void)*(volatile char *)FRESH_VA;
}

static void unbacked_child(void *arg)
{
	(void)arg;
	if (dune_init_and_enter())
		_exit(3);
	do_unbacked();
	_exit(4);
}

CTEST(vm_unbacked_exit,
      .id = "api.vm.unbacked_exit",
      .profile = "vm",
      .what = "a ring-0 access to a guest-physical page whose host memory was unmapped, after several system calls, ends the process with status 1 and one clear message (kvm: the EFAULT of KVM_RUN with the exit count, last exit and RIP; vmx: the EPT violation), not a crash",
      .needs = "dune")
{
	char err[2048];
	int status = run_capturing_stderr(unbacked_child, NULL, err, sizeof(err));

	ct_log("child stderr: %s", err);
	CT_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		  "the child ended with status %#x (%s %d), want exit(1)", status,
		  WIFSIGNALED(status) ? "signal" : "exit",
		  WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
	if (backend_is_vmx()) {
		CT_EXPECT(strstr(err, "EPT violation") != NULL, "no 'EPT violation' in: %s", err);
		return;
	}
	CT_EXPECT(strstr(err, "KVM_RUN") && strstr(err, "EFAULT"), "no KVM_RUN EFAULT in: %s", err);
	CT_EXPECT(strstr(err, " exits") != NULL, "no exit count in: %s", err);
	CT_EXPECT(strstr(err, "rip 0x") != NULL, "no guest RIP in: %s", err);
	CT_EXPECT(strstr(err, "first KVM_RUN") == NULL, "reported as the first KVM_RUN: %s", err);
}

/*
 * TLB: dune_vm_mprotect and dune_vm_unmap end with a TLB flush (the
 * original's dune_flush_tlb()), so a translation the CPU has cached is
 * gone when they return.  Each case first touches its pages (so their
 * translations are cached), then changes them and touches them again with
 * nothing in between that could leave the guest (no system call, no
 * output): a stale entry would let the access through.
 */
#define TLB_VA ((char *)FRESH_VA + (32UL << 30))
#define TLB_PAGES 64

static volatile int tlb_faults;
static volatile uintptr_t tlb_last_addr;
static volatile uint64_t tlb_last_fec;

static void pgflt_tlb(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	void *pg = (void *)PGROUNDDOWN(addr);

	(void)tf;
	tlb_faults++;
	tlb_last_addr = addr;
	tlb_last_fec = fec;
	if ((uintptr_t)pg - (uintptr_t)TLB_VA >= TLB_PAGES * PGSIZE)
		dune_die();	/* not ours */
	if (fec & FEC_P)
		dune_vm_mprotect(pgroot, pg, PGSIZE, PERM_R | PERM_W);
	else if (dune_vm_map_pages(pgroot, pg, PGSIZE, PERM_R | PERM_W))
		dune_die();
}

/* write one byte into each of n pages at TLB_VA */
static void __attribute__((noinline)) tlb_write(int n, char v)
{
	int i;

	for (i = 0; i < n; i++)
		*(volatile char *)(TLB_VA + i * PGSIZE + 8) = v;
}

/* read one byte from each of n pages at TLB_VA; their sum */
static int __attribute__((noinline)) tlb_read(int n)
{
	int i, sum = 0;

	for (i = 0; i < n; i++)
		sum += *(volatile char *)(TLB_VA + i * PGSIZE + 8);
	return sum;
}

CTEST(vm_tlb_mprotect,
      .id = "api.vm.tlb.mprotect",
      .profile = "vm",
      .what = "dune_vm_mprotect takes effect at once (it flushes the TLB, as the original): a write to a page just made read-only faults, though the page was written just before (1, 2 and 64 pages)",
      .needs = "dune")
{
	static const int sizes[] = { 1, 2, TLB_PAGES };
	unsigned k;

	ENTER();
	CT_ASSERT_EQ(dune_vm_map_pages(pgroot, TLB_VA, TLB_PAGES * PGSIZE, PERM_R | PERM_W), 0);
	dune_register_pgflt_handler(pgflt_tlb);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n = sizes[k], ret;

		tlb_write(n, 1);	/* the translations are in the TLB now */
		tlb_faults = 0;
		ret = dune_vm_mprotect(pgroot, TLB_VA, (size_t)n * PGSIZE, PERM_R);
		tlb_write(n, 2);	/* each write faults; the handler makes its page writable */
		CT_EXPECT_EQ(ret, 0);
		CT_EXPECT(tlb_faults == n, "%d page(s) made read-only: %d write fault(s), want %d",
			  n, tlb_faults, n);
		CT_EXPECT(tlb_faults == 0 || (tlb_last_fec & (FEC_P | FEC_W)) == (FEC_P | FEC_W),
			  "error code %#lx: want present + write", (unsigned long)tlb_last_fec);
		CT_EXPECT_EQ(tlb_read(n), 2 * n);
	}
	CT_EXPECT(tlb_faults == 0 || tlb_last_addr == (uintptr_t)TLB_VA + (TLB_PAGES - 1) * PGSIZE + 8,
		  "CR2 %#lx", (unsigned long)tlb_last_addr);
}

CTEST(vm_tlb_unmap,
      .id = "api.vm.tlb.unmap",
      .profile = "vm",
      .what = "dune_vm_unmap takes effect at once (it flushes the TLB, as the original): a read of a page just unmapped faults, though the page was read just before (1, 2 and 64 pages)",
      .needs = "dune")
{
	static const int sizes[] = { 1, 2, TLB_PAGES };
	unsigned k;

	ENTER();
	CT_ASSERT_EQ(dune_vm_map_pages(pgroot, TLB_VA, TLB_PAGES * PGSIZE, PERM_R | PERM_W), 0);
	dune_register_pgflt_handler(pgflt_tlb);
	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int n = sizes[k], sum;

		tlb_write(n, 3);
		sum = tlb_read(n);	/* the translations are in the TLB now */
		tlb_faults = 0;
		dune_vm_unmap(pgroot, TLB_VA, (size_t)n * PGSIZE);
		sum = tlb_read(n);	/* each read faults; the handler maps a fresh zero page */
		CT_EXPECT(tlb_faults == n, "%d page(s) unmapped: %d read fault(s), want %d",
			  n, tlb_faults, n);
		CT_EXPECT(tlb_faults == 0 || !(tlb_last_fec & (FEC_P | FEC_W)),
			  "error code %#lx: want not-present read", (unsigned long)tlb_last_fec);
		CT_EXPECT(sum == 0, "read %d from pages unmapped and mapped again: want the fresh pages' 0",
			  sum);
	}
}

/*
 * dune_init(true)'s mapping of ordinary process memory is made of 4 KiB
 * pages (as the original's), so a dune_vm_page_walk callback sees one 4 KiB
 * leaf per page and may replace it.
 */
#define WALK_PAGES 8
static char walk_data[WALK_PAGES * PGSIZE] __attribute__((aligned(4096))) = { 1 };

struct walk_4k {
	int n, big;
	uintptr_t next;		/* the address the next callback should see */
	int misordered;
	uintptr_t target;	/* replace this page's PTE ... */
	uintptr_t repl_pa;	/* ... by one for this page, same flags */
	ptent_t old;		/* what was there */
	ptent_t *old_ptep;	/* and where */
	int replaced;
};

static int walk_4k_cb(const void *arg, ptent_t *ptep, void *va)
{
	struct walk_4k *w = (struct walk_4k *)arg;

	w->n++;
	if (*ptep & PTE_PS)
		w->big++;
	if ((uintptr_t)va != w->next)
		w->misordered++;
	w->next = (uintptr_t)va + PGSIZE;
	if (w->target && (uintptr_t)va == w->target && !(*ptep & PTE_PS)) {
		w->old = *ptep;
		w->old_ptep = ptep;
		*ptep = PTE_ADDR(w->repl_pa) | PTE_FLAGS(*ptep);
		w->replaced++;
	}
	return 0;
}

static void check_walk_4k(const char *what, char *lo, size_t len)
{
	struct walk_4k w = { .next = (uintptr_t)lo };

	CT_ASSERT_EQ(dune_vm_page_walk(pgroot, lo, lo + len - 1, walk_4k_cb, &w), 0);
	CT_EXPECT(w.big == 0, "%s: %d of %d callback(s) got a big-page leaf (PTE_PS)", what, w.big, w.n);
	CT_EXPECT(w.n == (int)(len / PGSIZE), "%s: %d callback(s) for %lu pages", what, w.n,
		  (unsigned long)(len / PGSIZE));
	CT_EXPECT(w.misordered == 0, "%s: %d callback(s) out of page order", what, w.misordered);
}

CTEST(vm_page_walk_default_4k,
      .id = "api.vm.page_walk.default_4k",
      .profile = "vm",
      .what = "after dune_init(true), dune_vm_page_walk over the process's own data, heap and mmap memory calls back once per 4 KiB page with a 4 KiB leaf (as the original's mapping), and a PTE the callback replaces is the one the CPU uses",
      .needs = "dune")
{
	char *heap, *mapped, *target = walk_data + 3 * PGSIZE;
	struct page *pg;
	struct walk_4k w = { 0 };
	char seen[3];

	ENTER();
	heap = malloc(16 * PGSIZE);
	CT_ASSERT(heap != NULL);
	heap = (char *)PGROUNDUP(heap);
	mapped = mmap(NULL, 8 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(mapped != MAP_FAILED);
	memset(heap, 1, 8 * PGSIZE);
	memset(mapped, 1, 8 * PGSIZE);
	memset(walk_data, 1, sizeof(walk_data));
	check_walk_4k("data", walk_data, sizeof(walk_data));
	check_walk_4k("heap", heap, 8 * PGSIZE);
	check_walk_4k("mmap", mapped, 8 * PGSIZE);

	/* a callback that puts another page in place of one data page */
	pg = dune_page_alloc();
	CT_ASSERT(pg != NULL);
	dune_page_get(pg);
	memset((void *)dune_page2pa(pg), 'P', PGSIZE);
	target[0] = 'D';
	w.target = (uintptr_t)target;
	w.repl_pa = dune_page2pa(pg);
	w.next = (uintptr_t)walk_data;
	CT_ASSERT_EQ(dune_vm_page_walk(pgroot, walk_data, walk_data + sizeof(walk_data) - 1,
				       walk_4k_cb, &w), 0);
	CT_ASSERT(w.replaced == 1, "the callback got no 4 KiB leaf for %p to replace", (void *)target);
	dune_flush_tlb_one((unsigned long)target);	/* the program changed a PTE itself */
	seen[0] = *(volatile char *)(target - PGSIZE);
	seen[1] = *(volatile char *)target;
	seen[2] = *(volatile char *)(target + PGSIZE);
	*w.old_ptep = w.old;
	dune_flush_tlb_one((unsigned long)target);
	CT_EXPECT_EQ(seen[0], 1);
	CT_EXPECT(seen[1] == 'P', "the replaced page reads %#x, want the new page's 'P'", seen[1]);
	CT_EXPECT_EQ(seen[2], 1);
	CT_EXPECT_EQ(*(volatile char *)target, 'D');
	dune_page_put(pg);
}

/*
 * dune_init(true) maps the process RWXU, as the original (which maps the
 * low 4 GiB and both windows so): a program may check PTE_W, PTE_U or NX
 * on its own memory, a read-only buffer included, before passing it on.
 */
static const char rodata_msg[] = "read-only data, mapped writable in the guest as the original";

static void check_rwxu(const char *what, const void *p)
{
	ptent_t *pte;

	CT_ASSERT(dune_vm_lookup(pgroot, (void *)p, CREATE_NONE, &pte) == 0, "%s at %p: not mapped",
		  what, p);
	CT_EXPECT((*pte & (PTE_P | PTE_W | PTE_U)) == (PTE_P | PTE_W | PTE_U) && !(*pte & PTE_NX),
		  "%s at %p: PTE %#lx, want present, writable, user, executable", what, p,
		  (unsigned long)*pte);
}

CTEST(vm_map_full_rwxu,
      .id = "api.vm.map_full.rwxu",
      .profile = "vm",
      .what = "after dune_init(true) the process's memory is mapped RWXU as the original's full mapping: PTE_P|PTE_W|PTE_U and no NX on a .rodata buffer, code, a read-only mapping made before and one made in Dune mode; a PTE_W check then lets the buffer through to write()",
      .needs = "dune")
{
	char *ro_before, *ro_after, buf[sizeof(rodata_msg)];
	int fds[2];
	ptent_t *pte;

	ro_before = mmap(NULL, PGSIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(ro_before != MAP_FAILED);
	ENTER();
	ro_after = mmap(NULL, PGSIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(ro_after != MAP_FAILED);
	CT_ASSERT_EQ(ro_before[0] + ro_after[0], 0);
	check_rwxu(".rodata", rodata_msg);
	check_rwxu("code", (const void *)(uintptr_t)check_rwxu);
	check_rwxu("PROT_READ mapping made before dune_init", ro_before);
	check_rwxu("PROT_READ mapping made in Dune mode", ro_after);

	/* the program's check: a buffer it may write from must be mapped writable */
	CT_ASSERT_EQ(pipe(fds), 0);
	CT_ASSERT_EQ(dune_vm_lookup(pgroot, (void *)rodata_msg, CREATE_NONE, &pte), 0);
	if (*pte & PTE_W)
		CT_EXPECT_EQ(write(fds[1], rodata_msg, sizeof(rodata_msg)), (long)sizeof(rodata_msg));
	close(fds[1]);
	CT_EXPECT_EQ(read(fds[0], buf, sizeof(buf)), (long)sizeof(rodata_msg));
	CT_EXPECT(!memcmp(buf, rodata_msg, sizeof(buf)), "the pipe holds the .rodata bytes");
	close(fds[0]);
}

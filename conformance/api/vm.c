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
	dune_flush_tlb_one((unsigned long)remap_page);
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
	dune_flush_tlb_one(PGROUNDDOWN(addr));
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
		dune_flush_tlb();
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
	dune_flush_tlb();
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
	dune_flush_tlb_one((unsigned long)va);
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

// SPDX-License-Identifier: MIT
/*
 * vm.c - guest-physical memory (docs/abi.md section 5): the three windows
 * are reachable, the EPT follows the host's mm (mmap, munmap,
 * MADV_DONTNEED), and what is outside it ends the run with EPT_VIOLATION.
 */
#include "abi_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

/* rbx = *r12; *r12 = r13; rbp = *r12; exit(0) */
ABI_GUEST(g_rw, "mov (%r12), %rbx\n mov %r13, (%r12)\n mov (%r12), %rbp\n" G_EXIT(0));
/* rbx = *r12 (the load may fault: g_load_insn); exit(0) */
ABI_GUEST(g_load, "g_load_insn: mov (%r12), %rbx\n" G_EXIT(0));
ABI_GUEST_LABEL(g_load_insn);
/*
 * r12 = mmap(rdi, rsi, rdx, r10, r8, r9); *r12 = r13; rbx = *r12; exit(0);
 * exit(2) if mmap failed (rbx = its value)
 */
ABI_GUEST(g_mmap_use,
	  "mov $9, %eax\n vmcall\n mov %rax, %r12\n mov %rax, %rbx\n"
	  "cmp $-4095, %rax\n jae 1f\n"
	  "mov %r13, (%r12)\n mov (%r12), %rbx\n" G_EXIT(0)
	  "1:\n" G_EXIT(2));
/* rbx = *r12; rbp = munmap(r12, r13); rcx = *r12 (must fault); exit(1) */
ABI_GUEST(g_munmap,
	  "mov (%r12), %rbx\n"
	  "mov $11, %eax\n mov %r12, %rdi\n mov %r13, %rsi\n vmcall\n mov %rax, %rbp\n"
	  "g_munmap_load: mov (%r12), %rcx\n" G_EXIT(1));
ABI_GUEST_LABEL(g_munmap_load);
/* rbx = *r12; rbp = madvise(r12, r13, MADV_DONTNEED); rcx = *r12; exit(0) */
ABI_GUEST(g_dontneed,
	  "mov (%r12), %rbx\n"
	  "mov $28, %eax\n mov %r12, %rdi\n mov %r13, %rsi\n mov $4, %edx\n vmcall\n"
	  "mov %rax, %rbp\n mov (%r12), %rcx\n" G_EXIT(0));

/*
 * rbx = *r12; rbp = mprotect(r12, 4096, PROT_READ); rcx = *r12;
 * *r12 = r13 (must fault: g_mprotect_store); exit(1)
 */
ABI_GUEST(g_mprotect,
	  "mov (%r12), %rbx\n mov %r13, (%r12)\n"
	  "mov $10, %eax\n mov %r12, %rdi\n mov $4096, %esi\n mov $1, %edx\n vmcall\n"
	  "mov %rax, %rbp\n mov (%r12), %rcx\n"
	  "g_mprotect_store: mov %rbx, (%r12)\n" G_EXIT(1));
ABI_GUEST_LABEL(g_mprotect_store);

#define OLD	0x0123456789abcdefULL
#define NEW	0xfedcba9876543210ULL

/* Guest reads OLD at @p, writes NEW there; the host sees NEW. */
static void rw_check(struct abi_vm *vm, volatile uint64_t *p)
{
	struct dune_config c;
	int r;

	*p = OLD;
	abi_conf(vm, &c, g_rw);
	c.r12 = (uint64_t)(uintptr_t)p;
	c.r13 = NEW;
	r = abi_enter(vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, OLD);
	CT_EXPECT_EQ(c.rbp, NEW);
	CT_EXPECT_EQ(*p, NEW);
}

CTEST(ept_heap,
      .id = "abi.ept.heap",
      .profile = "vm",
      .what = "a brk-heap address in the identity window is readable and writable by the guest (GPA = host VA), and the host sees the write",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	uint64_t *p, idend;
	int r;

	abi_vm_setup(&vm);
	p = sbrk(4096);
	CT_ASSERT(p != (void *)-1, "sbrk: %s", strerror(errno));
	idend = DUNE_GPA_IDENTITY_END(vm.layout.phys_limit);
	if ((uint64_t)(uintptr_t)p >= idend)
		CT_SKIP("the brk heap (%p) is above the identity window's end %#llx: a PIE executable, which the classic layout cannot reach (see abi.ext.layout)",
			(void *)p, (unsigned long long)idend);
	r = abi_vm_map(&vm, (uint64_t)(uintptr_t)p, 4096);
	CT_ASSERT(r == 0, "mapping the heap page in the guest: %d", r);
	ct_log("heap page %p = GPA %#llx", (void *)p,
	       (unsigned long long)abi_hva_to_gpa(&vm.layout, (uint64_t)(uintptr_t)p));
	rw_check(&vm, p);
}

CTEST(ept_mmap_window,
      .id = "abi.ept.mmap_window",
      .profile = "vm",
      .what = "an mmap'd page (map window, GPA = phys_limit - 64 GiB + (VA - base_map)) is readable and writable by the guest",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	uint64_t *p;

	abi_vm_setup(&vm);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	ct_log("mmap page %p = GPA %#llx", (void *)p,
	       (unsigned long long)abi_hva_to_gpa(&vm.layout, (uint64_t)(uintptr_t)p));
	rw_check(&vm, p);
}

CTEST(ept_stack_window,
      .id = "abi.ept.stack_window",
      .profile = "vm",
      .what = "a variable on the main thread's stack (stack window, GPA = phys_limit - 1 GiB + (VA - base_stack)) is readable and writable by the guest",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	volatile uint64_t on_stack[2];
	uint64_t va = (uint64_t)(uintptr_t)&on_stack[0];

	abi_vm_setup(&vm);
	CT_ASSERT(va >= vm.layout.base_stack && va - vm.layout.base_stack < DUNE_GPA_STACK_SIZE,
		  "the main stack (%#llx) is not in the stack window [%#llx, +1 GiB)",
		  (unsigned long long)va, (unsigned long long)vm.layout.base_stack);
	ct_log("stack variable %#llx = GPA %#llx", (unsigned long long)va,
	       (unsigned long long)abi_hva_to_gpa(&vm.layout, va));
	rw_check(&vm, &on_stack[0]);
}

CTEST(ept_mmap_after_entry,
      .id = "abi.ept.mmap_after_entry",
      .profile = "vm",
      .what = "memory the guest maps with a forwarded mmap is reachable at once by the guest, and the host sees what it wrote",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_mmap_use);
	c.rdi = 0;
	c.rsi = 8192;
	c.rdx = PROT_READ | PROT_WRITE;
	c.r10 = MAP_PRIVATE | MAP_ANONYMOUS;
	c.r8 = (uint64_t)-1;
	c.r9 = 0;
	c.r13 = NEW;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT(c.status == 0, "the forwarded mmap failed: %lld", (long long)(int64_t)c.rbx);
	CT_EXPECT_EQ(c.rbx, NEW);
	CT_EXPECT_EQ(*(volatile uint64_t *)(uintptr_t)c.r12, NEW);
}

CTEST(ept_munmap,
      .id = "abi.ept.munmap",
      .profile = "vm",
      .what = "after the guest has used a page and munmap'd it (forwarded), its next access ends the run with EPT_VIOLATION at the faulting load",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t *p, va;
	int r;

	abi_vm_setup(&vm);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	*p = OLD;
	va = (uint64_t)(uintptr_t)p;
	abi_conf(&vm, &c, g_munmap);
	c.r12 = va;
	c.r13 = 4096;
	r = abi_enter(&vm, &c);
	if (r == 0 && c.ret == DUNE_RET_EXIT)
		CT_ASSERT(0, "the guest read the page after munmap (a stale EPT entry): got %#llx",
			  (unsigned long long)c.rcx);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EPT_VIOLATION);
	ct_log("EPT violation at GVA %#llx = GPA %#llx, status %lld", (unsigned long long)va,
	       (unsigned long long)abi_hva_to_gpa(&vm.layout, va), (long long)c.status);
	CT_EXPECT_EQ(c.rbx, OLD);		/* the read before munmap worked */
	CT_EXPECT_EQ(c.rbp, 0);			/* munmap returned 0 */
	CT_EXPECT_EQ(c.rip, abi_gva(&vm, g_munmap_load));
	CT_EXPECT_EQ(c.r12, va);
}

CTEST(ept_unbacked,
      .id = "abi.ept.unbacked",
      .profile = "vm",
      .what = "a guest load from a GPA whose host address has nothing mapped ends the run with EPT_VIOLATION at the load",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	CT_ASSERT(DUNE_GPA_IDENTITY_END(vm.layout.phys_limit) > 0x200000,
		  "no identity window in this layout");
	/* page 1: mapped by the guest page tables (identity), never on the host */
	abi_conf(&vm, &c, g_load);
	c.r12 = 0x1000;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EPT_VIOLATION);
	CT_EXPECT_EQ(c.rip, abi_gva(&vm, g_load_insn));
}

CTEST(ept_dontneed,
      .id = "abi.ept.madv_dontneed",
      .profile = "vm",
      .what = "after the guest has read a page and dropped it with a forwarded madvise(MADV_DONTNEED), it reads zeroes there",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t *p;
	int r;

	abi_vm_setup(&vm);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	*p = OLD;
	abi_conf(&vm, &c, g_dontneed);
	c.r12 = (uint64_t)(uintptr_t)p;
	c.r13 = 4096;
	c.rcx = 0x5555;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, OLD);
	CT_EXPECT_EQ(c.rbp, 0);
	CT_EXPECT_EQ(c.rcx, 0);
	CT_EXPECT_EQ(*p, 0);
}

CTEST(ept_mprotect,
      .id = "abi.ept.mprotect",
      .profile = "vm",
      .what = "after the guest has written a page and made it read-only with a forwarded mprotect, it still reads it but its next write ends the run with EPT_VIOLATION at the store",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t *p;
	int r;

	abi_vm_setup(&vm);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	*p = OLD;
	abi_conf(&vm, &c, g_mprotect);
	c.r12 = (uint64_t)(uintptr_t)p;
	c.r13 = NEW;
	r = abi_enter(&vm, &c);
	if (r == 0 && c.ret == DUNE_RET_EXIT)
		CT_ASSERT(0, "the guest wrote the page after mprotect(PROT_READ) (a stale writable EPT entry)");
	ABI_ASSERT_RET(r, &c, DUNE_RET_EPT_VIOLATION);
	CT_EXPECT_EQ(c.rbx, OLD);
	CT_EXPECT_EQ(c.rbp, 0);		/* mprotect returned 0 */
	CT_EXPECT_EQ(c.rcx, NEW);	/* the guest's own write, read back */
	CT_EXPECT_EQ(c.rip, abi_gva(&vm, g_mprotect_store));
	CT_EXPECT_EQ(*p, NEW);
}

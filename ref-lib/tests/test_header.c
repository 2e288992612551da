// SPDX-License-Identifier: MIT
/* test_header.c - values of dune.h that programs written for the original rely on */
#include <criterion/criterion.h>

#include <dune/dune.h>

Test(header, values)
{
	cr_expect_eq(sizeof(struct dune_tf), 168);
	cr_expect_eq(PERM_R, 0x1);
	cr_expect_eq(PERM_W, 0x2);
	cr_expect_eq(PERM_X, 0x4);
	cr_expect_eq(PERM_U, 0x8);
	cr_expect_eq(PERM_UC, 0x10);
	cr_expect_eq(PERM_COW, 0x20);
	cr_expect_eq(PERM_BIG, 0x100);
	cr_expect_eq(PERM_BIG_1GB, 0x200);
	cr_expect_eq(PERM_USR3, 0x3000);
	cr_expect_eq(CREATE_NONE, 0);
	cr_expect_eq(CREATE_BIG_1GB, 3);
	cr_expect_eq(PTE_COW, 0x200);
	cr_expect_eq(PTE_NX, 1ULL << 63);
	cr_expect_eq(PAGEBASE, 0x200000000UL);
	cr_expect_eq(MAX_PAGES, 1UL << 20);
	cr_expect_eq(GD_TSS, 0x38);
	cr_expect_eq(NR_GDT_ENTRIES, 9);
	cr_expect_eq(DUNE_SIGNAL_INTR_BASE, 200);
	cr_expect_eq(PDX(3, 0x7fffffffffffUL), 255);
	cr_expect_eq(PDX(0, 0x5000), 5);
}

Test(header, va_to_pa_windows)
{
	phys_limit = 1UL << 40;
	mmap_base = 0x7f0000000000UL - GPA_MAP_SIZE;
	stack_base = 0x7fffc0000000UL;
	dune_exec_base = 0x550000000000UL;
	dune_exec_size = 64UL << 30;
	dune_exec_gpa = phys_limit - (128UL << 30);
	cr_expect_eq(dune_va_to_pa((void *)0x400000), 0x400000);
	cr_expect_eq(dune_va_to_pa((void *)(stack_base + 0x1000)), phys_limit - GPA_STACK_SIZE + 0x1000);
	cr_expect_eq(dune_va_to_pa((void *)(mmap_base + 0x2000)),
		     phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE + 0x2000);
	cr_expect_eq(dune_va_to_pa((void *)(dune_exec_base + 0x3000)), dune_exec_gpa + 0x3000);
	/* the window functions themselves (the original's names) */
	cr_expect_eq(dune_stack_addr_to_pa((void *)(stack_base + GPA_STACK_SIZE - 8)), phys_limit - 8,
		     "the top of the stack window is the top of guest-physical memory");
	cr_expect_eq(dune_mmap_addr_to_pa((void *)mmap_base), phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE);
	cr_expect_eq(dune_mmap_addr_to_pa((void *)(mmap_base + GPA_MAP_SIZE - 1)),
		     phys_limit - GPA_STACK_SIZE - 1, "the map window ends where the stack window starts");
	dune_exec_size = 0;
}

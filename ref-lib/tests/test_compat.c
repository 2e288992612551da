// SPDX-License-Identifier: MIT
/*
 * test_compat.c - the compatibility tree include/libdune/ (the original's
 * header paths): a sample of its architectural constants against the
 * values of the Intel SDM, and its macros on worked examples.
 */
#include <criterion/criterion.h>

#include <libdune/dune.h>
#include <libdune/cpu-x86.h>
#include <libdune/mmu-x86.h>
#include <libdune/local.h>

Test(compat, rflags)
{
	cr_expect_eq(FL_CF, 0x1);
	cr_expect_eq(FL_TF, 0x100);
	cr_expect_eq(FL_IF, 0x200);
	cr_expect_eq(FL_DF, 0x400);
	cr_expect_eq(FL_IOPL_MASK, 0x3000);
	cr_expect_eq(FL_IOPL_3, 0x3000);
	cr_expect_eq(FL_NT, 0x4000);
	cr_expect_eq(FL_RF, 0x10000);
	cr_expect_eq(FL_AC, 0x40000);
	cr_expect_eq(FL_ID, 0x200000);
}

Test(compat, control_registers_and_msrs)
{
	cr_expect_eq(CR3_PWT, 0x8);
	cr_expect_eq(CR3_PCD, 0x10);
	cr_expect_eq(CR4_PSE, 0x10);
	cr_expect_eq(CR4_PAE, 0x20);
	cr_expect_eq(CR4_PGE, 0x80);
	cr_expect_eq(CR4_OSX, 0x400);
	cr_expect_eq(CR4_VMXE, 0x2000);
	cr_expect_eq(EFER, 0xc0000080);
	cr_expect_eq(EFER_SCE, 0x1);
	cr_expect_eq(EFER_LME, 0x100);
	cr_expect_eq(EFER_LMA, 0x400);
	cr_expect_eq(EFER_NXE, 0x800);
	cr_expect_eq(MSR_FS_BASE, 0xc0000100);
	cr_expect_eq(MSR_GS_BASE, 0xc0000101);
	cr_expect_eq(MSR_KERNEL_GS_BASE, 0xc0000102);
	cr_expect_eq(MSR_LSTAR, 0xc0000082);
	cr_expect_eq(MSR_DEBUG_CTL, 0x1d9);
	cr_expect_eq(MTRR_CAP, 0xfe);
	cr_expect_eq(MTRR_BASE(2), 0x204);
	cr_expect_eq(MTRR_MASK(2), 0x205);
	cr_expect_eq(MTRR_BASE_WB, 6);
	cr_expect_eq(MTRR_MASK_VALID, 0x800);
}

Test(compat, debug_registers)
{
	cr_expect_eq(DR7_L(2), 0x10);
	cr_expect_eq(DR7_G(2), 0x20);
	cr_expect_eq(DR7_GD, 0x2000);
	cr_expect_eq(DR7_RW_SHIFT(1), 20);
	cr_expect_eq(DR7_LEN_SHIFT(1), 22);
	cr_expect_eq(DR7_RW_WRITE, 1);
	cr_expect_eq(DR7_LEN_8, 2);
	cr_expect_eq(DR7_LEN_4, 3);
}

Test(compat, paging)
{
	cr_expect_eq(PGMASK, 0xfff);
	cr_expect_eq(PDXMASK, 0x1ff);
	cr_expect_eq(BIG_PGSHIFT, 21);
	cr_expect_eq(BIG_PGMASK, 0x1fffff);
	cr_expect_eq(BIG_PGADDR(0x7f1234567890UL), 0x7f1234400000UL);
	cr_expect_eq(BIG_PGOFF(0x7f1234567890UL), 0x167890UL);
	cr_expect_eq(VA_START, (void *)0);
	cr_expect_eq((uintptr_t)VA_END, UINTPTR_MAX);
	cr_expect_eq(CAST64(-1), UINT64_MAX);
	cr_expect_eq(ONE << 40, 0x10000000000ULL);
	cr_expect_eq(sizeof(ppn_t), 8);
	cr_expect_eq(sizeof(bool_t), sizeof(int));
}

Test(compat, descriptors)
{
	struct Gatedesc g;

	/* Linux's __KERNEL_CS (64-bit) and __KERNEL32_CS descriptors */
	cr_expect_eq(SEG64(SEG_X | SEG_R, 0), 0x00af9b000000ffffULL);
	cr_expect_eq(SEG32(SEG_X | SEG_R, 0, 0xffffffff, 0), 0x00cf9b000000ffffULL);
	cr_expect_eq(SEG_TSSA, 0x9ULL << 40);
	cr_expect_eq(SEG_TSSB, 0xbULL << 40);
	/* a trap gate at DPL 0 with IST 0 */
	SETGATE(g, SEG_TG, 0x10, 0xffff800012345678ULL, 0);
	cr_expect_eq(g.gd_lo, 0x12348f0000105678ULL);
	cr_expect_eq(g.gd_hi, 0xffff8000ULL);
	cr_expect_eq(sizeof(struct idtd), 16);
	cr_expect_eq(sizeof(struct tptr), 10);
	cr_expect_eq(T_SYSCALL, 48);
}

Test(compat, rdmsrl_expands_to_an_assignment)
{
	/* not executed (rdmsr faults in ring 3): compiled as a program would */
	if (0) {
		unsigned long v;

		rdmsrl(MSR_FS_BASE, v);
		(void)v;
	}
	/* local.h: __str expands its argument first, __str_t does not */
	cr_expect_str_eq(__str(PGSHIFT), "12");
	cr_expect_str_eq(__str_t(PGSHIFT), "PGSHIFT");
}

Test(compat, fpu_state_round_trip)
{
	unsigned int a, b, c, d;
	static struct fpu_area init;
	/* an area with a guard after it: saving must stay inside the area */
	static struct {
		struct fpu_area area;
		unsigned char guard[4096];
	} saved;
	size_t i, bad = 0;

	/* XSAVE/XRSTOR run in any ring; they need CR4.OSXSAVE (CPUID.1:ECX[27]) */
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)))
		cr_skip_test("the OS has not enabled XSAVE (CPUID.1:ECX.OSXSAVE clear)");
	cr_expect_eq(sizeof(struct fxsave_area), 512);
	cr_expect_eq(sizeof(struct xsave_header), 64);
	cr_expect_eq(sizeof(struct fpu_area), 832);
	cr_expect_eq(_Alignof(struct fpu_area), 64);
	dune_fpu_init(&init);
	memset(&saved, 0xa5, sizeof(saved));
	dune_fpu_load(&init);
	dune_fpu_save_safe(&saved.area);
	cr_expect_eq(saved.area.xsave.fxsave.cwd, 0x037f, "x87 control word after loading the init state");
	cr_expect_eq(saved.area.xsave.fxsave.mxcsr, 0x1f80, "MXCSR after loading the init state");
	for (i = 0; i < sizeof(saved.guard); i++)
		bad += saved.guard[i] != 0xa5;
	cr_expect_eq(bad, 0, "XSAVE wrote %zu bytes past struct fpu_area", bad);
}

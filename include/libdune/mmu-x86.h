/* SPDX-License-Identifier: MIT */
/*
 * libdune/mmu-x86.h - compatibility header: the x86-64 names that
 * programs written for the original Dune library get from its
 * "libdune/mmu-x86.h": page arithmetic, RFLAGS, control-register, EFER,
 * MSR, MTRR and debug-register bits, and segment/gate descriptor builders.
 *
 * Everything <dune/mmu.h> already defines (PGSIZE, PDX, PTE_*, CR0_*,
 * FEC_*, ...) is taken from there; this header adds the rest.  The values
 * are the architectural ones (Intel SDM volumes 1, 3 and 4).
 */
#ifndef LIBDUNE_COMPAT_MMU_X86_H
#define LIBDUNE_COMPAT_MMU_X86_H

#include <stdint.h>

#include "../dune/mmu.h"

/* 64-bit casts the original's macros are written with */
#define UINT64(x)	((uint64_t)(x))
#define CAST64(x)	((uint64_t)(x))
#define ONE		UINT64(1)

/* ---------------------------------------------------------------- paging */

#define PDXMASK		(NPTENTRIES - 1)	/* a PDX() index: 9 bits */
#define PGMASK		(PGSIZE - 1)		/* offset bits of a 4 KiB page */

#define BIG_PGSHIFT	21			/* 2 MiB pages */
#define BIG_PGMASK	(BIG_PGSIZE - 1)
#define BIG_PGOFF(la)	((uintptr_t)(la) & BIG_PGMASK)
#define BIG_PGADDR(la)	((uintptr_t)(la) & ~CAST64(BIG_PGMASK))

/* ------------------------------------------------------ control registers */

/* CR3 (without CR4.PCIDE): caching of the top-level table */
#define CR3_PWT		0x00000008	/* write-through */
#define CR3_PCD		0x00000010	/* cache disable */

/* CR4 bits that <dune/mmu.h> leaves out */
#define CR4_VME		0x00000001	/* virtual-8086 mode extensions */
#define CR4_PVI		0x00000002	/* protected-mode virtual interrupts */
#define CR4_TSD		0x00000004	/* RDTSC only at CPL 0 */
#define CR4_DE		0x00000008	/* debugging extensions */
#define CR4_PSE		0x00000010	/* 4 MiB pages (32-bit paging) */
#define CR4_MCE		0x00000040	/* machine-check enable */
#define CR4_PCE		0x00000100	/* RDPMC at any CPL */
#define CR4_OSX		CR4_OSXMMEXCPT	/* the original's name for bit 10 */
#define CR4_UMIP	0x00000800	/* user-mode instruction prevention */
#define CR4_LA57	0x00001000	/* 5-level paging */
#define CR4_VMXE	0x00002000	/* VMX enable */
#define CR4_SMXE	0x00004000	/* SMX enable */
#define CR4_SMEP	0x00100000	/* supervisor-mode execution prevention */
#define CR4_SMAP	0x00200000	/* supervisor-mode access prevention */
#define CR4_PKE		0x00400000	/* protection keys for user pages */

/* ------------------------------------------------------------------ MSRs */

/* IA32_EFER: the MSR's number, and its bits */
#define EFER		0xc0000080
#define EFER_SCE	0x00000001	/* SYSCALL/SYSRET */
#define EFER_LME	0x00000100	/* IA-32e mode enable */
#define EFER_LMA	0x00000400	/* IA-32e mode active (read only) */
#define EFER_NXE	0x00000800	/* execute-disable bit in page tables */
#define EFER_FFXSR	0x00004000	/* fast FXSAVE/FXRSTOR (AMD) */

#define MSR_LSTAR		0xc0000082	/* 64-bit SYSCALL entry point */
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102	/* what SWAPGS exchanges GS base with */

/* last-branch recording */
#define MSR_DEBUG_CTL	0x1d9		/* IA32_DEBUGCTL */
#define DEBUG_CTL_LBR	0x1		/* record last branches */
#define MSR_LBR_FROM_IP	0x1db		/* last branch: source */
#define MSR_LBR_TO_IP	0x1dc		/* last branch: target */
#define MSR_LEX_FROM_IP	0x1dd		/* last exception: source */
#define MSR_LEX_TO_IP	0x1de		/* last exception: target */

/* MTRRs: IA32_MTRRCAP, and the variable-range PHYSBASE/PHYSMASK pairs */
#define MTRR_CAP		0xfe
#define MTRR_CAP_VCNT_MASK	0xff		/* number of variable ranges */
#define MTRR_CAP_FIX		0x100		/* fixed-range MTRRs present */
#define MTRR_CAP_WC		0x400		/* write-combining supported */
#define MTRR_BASE(i)		(0x200 + 2 * (i))	/* IA32_MTRR_PHYSBASEi */
#define MTRR_MASK(i)		(0x201 + 2 * (i))	/* IA32_MTRR_PHYSMASKi */
/* memory types (PHYSBASE bits 7:0) */
#define MTRR_BASE_UC		0x00		/* uncacheable */
#define MTRR_BASE_WC		0x01		/* write-combining */
#define MTRR_BASE_WT		0x04		/* write-through */
#define MTRR_BASE_WP		0x05		/* write-protected */
#define MTRR_BASE_WB		0x06		/* write-back */
/* PHYSMASK: every address bit of a 36-bit physical space, and "valid" */
#define MTRR_MASK_FULL		PGADDR((ONE << 36) - 1)
#define MTRR_MASK_VALID		0x800

/* ----------------------------------------------------- debug registers */

/* DR7: enables for breakpoints 0..3 and each one's condition and length */
#define DR7_L(n)		(ONE << (2 * (n)))	/* local enable of breakpoint n */
#define DR7_G(n)		(ONE << (2 * (n) + 1))	/* global enable of breakpoint n */
#define DR7_LE			(ONE << 8)		/* exact local breakpoints */
#define DR7_GE			(ONE << 9)		/* exact global breakpoints */
#define DR7_GD			(ONE << 13)		/* general detect */
#define DR7_RW_SHIFT(n)		(16 + 4 * (n))		/* R/Wn field */
#define DR7_LEN_SHIFT(n)	(18 + 4 * (n))		/* LENn field */

#define DR7_RW_EXEC	0x0	/* instruction fetch */
#define DR7_RW_WRITE	0x1	/* data write */
#define DR7_RW_IO	0x2	/* I/O (with CR4.DE) */
#define DR7_RW_RW	0x3	/* data read or write */

#define DR7_LEN_1	0x0	/* 1 byte */
#define DR7_LEN_2	0x1	/* 2 bytes */
#define DR7_LEN_8	0x2	/* 8 bytes */
#define DR7_LEN_4	0x3	/* 4 bytes */

/* ---------------------------------------------------------------- RFLAGS */

#define FL_CF		0x00000001	/* carry */
#define FL_PF		0x00000004	/* parity */
#define FL_AF		0x00000010	/* auxiliary carry */
#define FL_ZF		0x00000040	/* zero */
#define FL_SF		0x00000080	/* sign */
#define FL_TF		0x00000100	/* trap (single step) */
#define FL_IF		0x00000200	/* interrupts enabled */
#define FL_DF		0x00000400	/* direction */
#define FL_OF		0x00000800	/* overflow */
#define FL_IOPL_MASK	0x00003000	/* I/O privilege level field */
#define FL_IOPL_0	0x00000000
#define FL_IOPL_1	0x00001000
#define FL_IOPL_2	0x00002000
#define FL_IOPL_3	0x00003000
#define FL_NT		0x00004000	/* nested task */
#define FL_RF		0x00010000	/* resume */
#define FL_VM		0x00020000	/* virtual-8086 mode */
#define FL_AC		0x00040000	/* alignment check / SMAP override */
#define FL_VIF		0x00080000	/* virtual interrupt flag */
#define FL_VIP		0x00100000	/* virtual interrupt pending */
#define FL_ID		0x00200000	/* CPUID available */

/* ------------------------------------------------ segment descriptors */

/* type field values, before shifting into place */
#define STA_A		(ONE << 0)	/* accessed */
#define STA_W		(ONE << 1)	/* data: writable */
#define STA_E		(ONE << 2)	/* data: expand down */
#define STA_X		(ONE << 3)	/* code segment */
#define STA_R		(ONE << 1)	/* code: readable */
#define STA_C		(ONE << 2)	/* code: conforming */

/* the same, at their place in a descriptor (type is bits 43:40) */
#define SEG_A		(STA_A << 40)
#define SEG_W		(STA_W << 40)
#define SEG_E		(STA_E << 40)
#define SEG_X		(STA_X << 40)
#define SEG_R		(STA_R << 40)
#define SEG_C		(STA_C << 40)

#define SEG_S		(ONE << 44)	/* code/data (clear: system descriptor) */

/* system descriptor types (64-bit) */
#define SEG_LDT		(UINT64(0x2) << 40)	/* LDT */
#define SEG_TSSA	(UINT64(0x9) << 40)	/* available TSS */
#define SEG_TSSB	(UINT64(0xb) << 40)	/* busy TSS */
#define SEG_CG		(UINT64(0xc) << 40)	/* call gate */
#define SEG_IG		(UINT64(0xe) << 40)	/* interrupt gate */
#define SEG_TG		(UINT64(0xf) << 40)	/* trap gate */

#define SEG_DPL(x)	((CAST64(x) & 3) << 45)	/* descriptor privilege level */
#define SEG_P		(ONE << 47)		/* present */
#define SEG_L		(ONE << 53)		/* 64-bit code */
#define SEG_D		(ONE << 54)		/* 32-bit default size (not with L) */
#define SEG_G		(ONE << 55)		/* limit counts 4 KiB units */

/* limit 19:0 and base 31:0 scattered over the low descriptor word */
#define SEG_LIM(x)	((CAST64(x) & 0xffff) | ((CAST64(x) & 0xf0000) << 32))
#define SEG_BASELO(x)	(((CAST64(x) & 0x00ffffff) << 16) | ((CAST64(x) & 0xff000000) << 32))
#define SEG_BASEHI(x)	(CAST64(x) >> 32)

/* a flat 4 GiB-granular 32-bit segment, and a 64-bit one */
#define SEG32(type, base, lim, dpl)					\
	((type) | SEG_S | SEG_P | SEG_D | SEG_G | SEG_A | SEG_DPL(dpl) |	\
	 SEG_BASELO(base) | SEG_LIM((lim) >> 12))
#define SEG64(type, dpl)						\
	((type) | SEG_S | SEG_P | SEG_G | SEG_L | SEG_A | SEG_DPL(dpl) |	\
	 SEG_LIM(0xffffffff))

/* SEG32 for assembler data directives (type: the low type nibble) */
#define SEG32_ASM(type, base, lim)					\
	.word (((lim) >> 12) & 0xffff), ((base) & 0xffff);		\
	.byte (((base) >> 16) & 0xff), (0x90 | (type)),			\
	      (0xc0 | (((lim) >> 28) & 0xf)), (((base) >> 24) & 0xff)

/* gates: selector in bits 31:16, target offset 15:0 | 31:16 in the low
 * word, 63:32 in the high word */
#define SEG_SEL(x)		((CAST64(x) & 0xffff) << 16)
#define SEG_TARGETLO(x)		((CAST64(x) & 0xffff) | ((CAST64(x) & 0xffff0000) << 32))
#define SEG_TARGETHI(x)		(CAST64(x) >> 32)

#define GATE32(type, sel, target, dpl)					\
	((type) | SEG_DPL(dpl) | SEG_P | SEG_SEL(sel) | SEG_TARGETLO(target))

/* fill a 16-byte struct Gatedesc (see libdune/mmu.h); IST 0 */
#define SETGATE(gate, type, sel, target, dpl)				\
	do {								\
		(gate).gd_lo = GATE32(type, sel, target, dpl);		\
		(gate).gd_hi = SEG_TARGETHI(target);			\
	} while (0)

#ifndef __ASSEMBLER__
/* the 512-byte FXSAVE/FXRSTOR area */
struct Fpregs {
	uint16_t cwd;		/* x87 control word */
	uint16_t swd;		/* x87 status word */
	uint16_t twd;		/* x87 tag word (abridged) */
	uint16_t fop;		/* last x87 opcode */
	uint64_t rip;		/* last x87 instruction pointer */
	uint64_t rdp;		/* last x87 data pointer */
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
	uint32_t st_space[32];	/* ST0..ST7, 16 bytes each */
	uint32_t xmm_space[64];	/* XMM0..XMM15, 16 bytes each */
	uint32_t padding[24];
};
#endif

#endif /* LIBDUNE_COMPAT_MMU_X86_H */

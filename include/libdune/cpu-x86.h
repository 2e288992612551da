/* SPDX-License-Identifier: MIT */
/*
 * libdune/cpu-x86.h - compatibility header: the CPU definitions that programs
 * written for the original Dune library get from its "libdune/cpu-x86.h":
 * MSR access (rdmsrl/wrmsrl, ring 0 only), the MSR numbers, the IDT entry
 * and table-pointer structures.  The trap numbers (T_*) are those of
 * <dune/dune.h>.
 */
#ifndef LIBDUNE_COMPAT_CPU_X86_H
#define LIBDUNE_COMPAT_CPU_X86_H

#include <stdint.h>

#include "dune.h"

typedef uint64_t u64;

/* WRMSR / RDMSR (ring 0: #GP elsewhere) */
static inline void native_write_msr(unsigned int msr, unsigned int low, unsigned int high)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"(low), "d"(high) : "memory");
}

static inline unsigned long long native_read_msr(unsigned int msr)
{
	unsigned int lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (unsigned long long)hi << 32 | lo;
}

/* wrmsrl(msr, 64-bit value); rdmsrl(msr, lvalue) stores the MSR in lvalue */
#define wrmsrl(msr, val)						\
	native_write_msr((msr), (uint32_t)(uint64_t)(val),		\
			 (uint32_t)((uint64_t)(val) >> 32))
#define rdmsrl(msr, val)	((val) = native_read_msr(msr))

/* MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_LSTAR: libdune/mmu-x86.h */

/* operand of LGDT/LIDT (limit, then base) */
struct tptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* byte 5 of an IDT entry */
#define IDTD_P			(1 << 7)	/* present */
#define IDTD_CPL3		(3 << 5)	/* DPL 3: reachable by INT n from ring 3 */
#define IDTD_TRAP_GATE		0xf
#define IDTD_INTERRUPT_GATE	0xe

#define IDT_ENTRIES		256

/* a 16-byte 64-bit IDT entry, field by field */
struct idtd {
	uint16_t low;		/* handler offset 15:0 */
	uint16_t selector;	/* code segment */
	uint8_t ist;		/* interrupt stack table index (bits 2:0) */
	uint8_t type;		/* IDTD_* */
	uint16_t middle;	/* handler offset 31:16 */
	uint32_t high;		/* handler offset 63:32 */
	uint32_t zero;
} __attribute__((packed, aligned));

/* the original's vector for system calls by software interrupt */
#define T_SYSCALL		48

#endif /* LIBDUNE_COMPAT_CPU_X86_H */

/* SPDX-License-Identifier: MIT */
/*
 * libdune/mmu.h - compatibility header: what programs written for the
 * original Dune library get from its "libdune/mmu.h": the types, the
 * x86-64 definitions of libdune/mmu-x86.h, and the descriptor-table
 * structures (pseudo-descriptor, TSS, gate).
 */
#ifndef LIBDUNE_COMPAT_MMU_H
#define LIBDUNE_COMPAT_MMU_H

#include <stdint.h>

#include "types.h"
#include "mmu-x86.h"

/* offset of pd_lim in struct Pseudodesc: LGDT/LIDT take &pd_lim */
#define PD_SKIP		6

#ifndef __ASSEMBLER__
/* the 10-byte LGDT/LIDT operand, aligned so that the base is 8-aligned */
struct Pseudodesc {
	uint16_t pd__garbage1;
	uint16_t pd__garbage2;
	uint16_t pd__garbage3;
	uint16_t pd_lim;	/* table size - 1 */
	uint64_t pd_base;	/* table address */
} __attribute__((packed));

/* the 64-bit task-state segment (104 bytes, then the I/O bitmap) */
struct Tss {
	char tss__ign1[4];
	uint64_t tss_rsp[3];	/* stack pointers for CPL 0, 1, 2 */
	uint64_t tss_ist[8];	/* tss_ist[n] is ISTn; [0] is reserved */
	char tss__ign2[10];
	uint16_t tss_iomb;	/* offset of the I/O permission bitmap */
#ifndef __cplusplus
	uint8_t tss_iopb[];	/* the bitmap, when there is one */
#endif
} __attribute__((packed));

/* a 16-byte interrupt/trap/call gate (see SETGATE) */
struct Gatedesc {
	uint64_t gd_lo;
	uint64_t gd_hi;
};
#endif

#endif /* LIBDUNE_COMPAT_MMU_H */

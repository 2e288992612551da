/* SPDX-License-Identifier: MIT */
/*
 * include/dune/mmu.h - x86-64 page-table definitions used by libdune.
 *
 * Names and values as in project-dune/dune libdune/mmu-x86.h (see
 * docs/api.md, Guest virtual memory); written from that description.
 */
#ifndef DUNE_MMU_H
#define DUNE_MMU_H

#include <stdint.h>

typedef uint64_t ptent_t;
typedef uint64_t physaddr_t;
typedef uint64_t virtaddr_t;

#define PGSIZE		4096
#define PGSHIFT		12
#define NPTBITS		9			/* log2(entries per table) */
#define NPTENTRIES	(1 << NPTBITS)
#define NPTLVLS		3			/* page-table levels - 1 */

#define PGADDR(la)	((uintptr_t)(la) & ~(uintptr_t)(PGSIZE - 1))
#define PGOFF(la)	((uintptr_t)(la) & (PGSIZE - 1))
#define PPN(la)		(((uintptr_t)(la)) >> PGSHIFT)

/* index of @va in the table of @level (0 = PT, 3 = PML4) */
#define PDSHIFT(n)	(12 + NPTBITS * (n))
#define PDX(n, la)	((((uintptr_t)(la)) >> PDSHIFT(n)) & (NPTENTRIES - 1))

#define PGROUNDUP(a)	(((uintptr_t)(a) + PGSIZE - 1) & ~(uintptr_t)(PGSIZE - 1))
#define PGROUNDDOWN(a)	((uintptr_t)(a) & ~(uintptr_t)(PGSIZE - 1))

#define BIG_PGSIZE	(1UL << 21)		/* 2 MiB */
#define HUGE_PGSIZE	(1UL << 30)		/* 1 GiB */

/* hardware page-table entry bits */
#define PTE_P		0x0001ULL	/* present */
#define PTE_W		0x0002ULL	/* writeable */
#define PTE_U		0x0004ULL	/* user */
#define PTE_PWT		0x0008ULL	/* write-through */
#define PTE_PCD		0x0010ULL	/* cache-disable */
#define PTE_A		0x0020ULL	/* accessed */
#define PTE_D		0x0040ULL	/* dirty */
#define PTE_PS		0x0080ULL	/* page size (PAT in a 4K PTE) */
#define PTE_PAT		0x0080ULL
#define PTE_G		0x0100ULL	/* global */
#define PTE_AVAIL	0x0E00ULL	/* available to software */
#define PTE_PAT_PS	0x1000ULL	/* PAT in a 2M/1G entry */
#define PTE_COW		0x0200ULL	/* software: copy on write */
#define PTE_AVAIL2	0x7FF0000000000000ULL	/* bits 52..62 */
#define PTE_USR1	(1ULL << 62)
#define PTE_USR2	(1ULL << 61)
#define PTE_USR3	(1ULL << 60)
#define PTE_NX		(1ULL << 63)	/* no execute */

#define PTE_ADDR(pte)	((physaddr_t)(pte) & 0x000FFFFFFFFFF000ULL)
#define PTE_FLAGS(pte)	((uint64_t)(pte) & ~0x000FFFFFFFFFF000ULL)
/* address bits of a 2M / 1G leaf */
#define PTE_BIG_ADDR(pte)	((physaddr_t)(pte) & 0x000FFFFFFFE00000ULL)
#define PTE_HUGE_ADDR(pte)	((physaddr_t)(pte) & 0x000FFFFFC0000000ULL)

/* flags of intermediate entries: the leaf decides */
#define PTE_DEF_FLAGS	(PTE_P | PTE_W | PTE_U)

/* control registers */
#define CR0_PE		0x00000001
#define CR0_MP		0x00000002
#define CR0_EM		0x00000004
#define CR0_TS		0x00000008
#define CR0_ET		0x00000010
#define CR0_NE		0x00000020
#define CR0_WP		0x00010000
#define CR0_AM		0x00040000
#define CR0_NW		0x20000000
#define CR0_CD		0x40000000
#define CR0_PG		0x80000000

#define CR4_PAE		0x00000020
#define CR4_PGE		0x00000080
#define CR4_OSFXSR	0x00000200
#define CR4_OSXMMEXCPT	0x00000400
#define CR4_FSGSBASE	0x00010000
#define CR4_PCIDE	0x00020000
#define CR4_OSXSAVE	0x00040000

/* page-fault error code */
#define FEC_P		0x01	/* protection violation (else not present) */
#define FEC_W		0x02	/* write */
#define FEC_U		0x04	/* from user mode */
#define FEC_RSV		0x08	/* reserved bit set */
#define FEC_I		0x10	/* instruction fetch */

#endif /* DUNE_MMU_H */

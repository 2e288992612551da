// SPDX-License-Identifier: MIT
/*
 * lab_path_ticks - path lengths of libdune's ring-0 primitives, one by one
 * (lab ticks = rdtsc in Bochs = emulated instructions), to see where the
 * appel benchmarks spend theirs: dune_vm_mprotect of one page, invlpg, a
 * #UD trap to a handler and back, a #PF to the page-fault handler and
 * back, a forwarded getpid, a CR3 reload, dune_vm_mprotect of 100 pages.
 * Prints TAP: one ok line per primitive with min and median ticks per call.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab_ticks.h"

static volatile char *page;

static void ud_handler(struct dune_tf *tf)
{
	tf->rip += 2;
}

static void pf_handler(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	dune_vm_mprotect(pgroot, (void *)(addr & ~(PGSIZE - 1)), PGSIZE, PERM_R | PERM_W | PERM_U);
}

int main(void)
{
	static unsigned long t[LAB_TICKS_N];
	unsigned long overhead, a, b;
	int i, ret;

	printf("1..7\n");
	ret = dune_init_and_enter();
	if (ret) {
		printf("not ok 1 - dune_init_and_enter: %d\n", ret);
		return 1;
	}
	overhead = lab_ticks_overhead();
	page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		printf("not ok 1 - mmap\n");
		return 1;
	}
	page[0] = 1;

	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		dune_vm_mprotect(pgroot, (void *)page, PGSIZE, PERM_R | PERM_W | PERM_U);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(1, "dune_vm_mprotect (one 4K page, its invlpg included)", t);

	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		dune_flush_tlb_one((uintptr_t)page);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(2, "invlpg", t);

	dune_register_intr_handler(T_ILLOP, ud_handler);
	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		__asm__ volatile("ud2" ::: "memory");
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(3, "#UD trap to a handler and back", t);

	dune_register_pgflt_handler(pf_handler);
	for (i = 0; i < LAB_TICKS_N; i++) {
		dune_vm_mprotect(pgroot, (void *)page, PGSIZE, PERM_R | PERM_U);
		a = dune_get_ticks();
		page[0] = (char)i;	/* #PF, the handler unprotects, the write retries */
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(4, "#PF to the handler (dune_vm_mprotect) and back", t);

	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		syscall(SYS_getpid);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(5, "forwarded getpid", t);

	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		dune_flush_tlb();
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(6, "dune_flush_tlb (CR3 reload)", t);

	{
		volatile char *big = mmap(NULL, 100 * PGSIZE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (big == MAP_FAILED) {
			printf("not ok 7 - mmap of 100 pages\n");
			return 1;
		}
		for (i = 0; i < 100; i++)
			big[i * PGSIZE] = 1;
		for (i = 0; i < LAB_TICKS_N; i++) {
			a = dune_get_ticks();
			dune_vm_mprotect(pgroot, (void *)big, 100 * PGSIZE, (i & 1) ? PERM_R | PERM_W | PERM_U :
					 PERM_R | PERM_U);
			b = dune_get_ticks();
			t[i] = b - a - overhead;
		}
		dune_vm_mprotect(pgroot, (void *)big, 100 * PGSIZE, PERM_R | PERM_W | PERM_U);
		lab_ticks_report(7, "dune_vm_mprotect (100 4K pages, its CR3 reload included)", t);
	}
	return 0;
}

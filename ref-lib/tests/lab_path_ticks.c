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
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#define N 200

static unsigned long overhead = ~0UL;
static volatile char *page;

static int cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void report(int n, const char *what, unsigned long *t)
{
	qsort(t, N, sizeof(t[0]), cmp);
	printf("ok %d - %s: min %lu median %lu ticks\n", n, what, t[0], t[N / 2]);
	fflush(stdout);
}

static void ud_handler(struct dune_tf *tf)
{
	tf->rip += 2;
}

static void pf_handler(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	dune_vm_mprotect(pgroot, (void *)(addr & ~(PGSIZE - 1)), PGSIZE, PERM_R | PERM_W | PERM_U);
	dune_flush_tlb_one(addr);
}

int main(void)
{
	static unsigned long t[N];
	unsigned long a, b;
	int i, ret;

	printf("1..7\n");
	ret = dune_init_and_enter();
	if (ret) {
		printf("not ok 1 - dune_init_and_enter: %d\n", ret);
		return 1;
	}
	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		b = dune_get_ticks();
		if (b - a < overhead)
			overhead = b - a;
	}
	page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED) {
		printf("not ok 1 - mmap\n");
		return 1;
	}
	page[0] = 1;

	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		dune_vm_mprotect(pgroot, (void *)page, PGSIZE, PERM_R | PERM_W | PERM_U);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(1, "dune_vm_mprotect (one 4K page)", t);

	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		dune_flush_tlb_one((uintptr_t)page);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(2, "invlpg", t);

	dune_register_intr_handler(T_ILLOP, ud_handler);
	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		__asm__ volatile("ud2" ::: "memory");
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(3, "#UD trap to a handler and back", t);

	dune_register_pgflt_handler(pf_handler);
	for (i = 0; i < N; i++) {
		dune_vm_mprotect(pgroot, (void *)page, PGSIZE, PERM_R | PERM_U);
		dune_flush_tlb_one((uintptr_t)page);
		a = dune_get_ticks();
		page[0] = (char)i;	/* #PF, the handler unprotects, the write retries */
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(4, "#PF to the handler (mprotect + invlpg) and back", t);

	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		syscall(SYS_getpid);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(5, "forwarded getpid", t);

	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		dune_flush_tlb();
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	report(6, "dune_flush_tlb (CR3 reload)", t);

	{
		volatile char *big = mmap(NULL, 100 * PGSIZE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (big == MAP_FAILED) {
			printf("not ok 7 - mmap of 100 pages\n");
			return 1;
		}
		for (i = 0; i < 100; i++)
			big[i * PGSIZE] = 1;
		for (i = 0; i < N; i++) {
			a = dune_get_ticks();
			dune_vm_mprotect(pgroot, (void *)big, 100 * PGSIZE, (i & 1) ? PERM_R | PERM_W | PERM_U :
					 PERM_R | PERM_U);
			b = dune_get_ticks();
			t[i] = b - a - overhead;
		}
		dune_vm_mprotect(pgroot, (void *)big, 100 * PGSIZE, PERM_R | PERM_W | PERM_U);
		report(7, "dune_vm_mprotect (100 4K pages)", t);
	}
	return 0;
}

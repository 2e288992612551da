// SPDX-License-Identifier: MIT
/*
 * util.c - dune_printf, dune_die, dune_mmap, user FS base, raw system
 * calls, APIC helpers.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

long dune_raw_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

int dune_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return n;
	if (n >= (int)sizeof(buf))
		n = (int)sizeof(buf) - 1;
	return (int)dune_raw_syscall6(SYS_write, 1, (long)buf, n, 0, 0, 0);
}

void dune_die(void)
{
	dune_raw_syscall6(SYS_exit_group, 1, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

void dune_tlb_flush_range(uintptr_t start, uintptr_t end)
{
	uint16_t cs;
	uintptr_t v;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	if (cs & 3)
		return;		/* host mode (or ring 3): not ours to flush */
	start = PGROUNDDOWN(start);
	if (end > start && end - start <= DUNE_FLUSH_INVLPG_MAX * PGSIZE) {
		/* invlpg drops the translation of whatever page size covers
		 * the address, and the paging-structure caches */
		for (v = start; v < end; v += PGSIZE)
			dune_flush_tlb_one(v);
		return;
	}
	dune_flush_tlb();
}

/* As the original: the system call's result as it is, so a failure is
 * -errno cast to a pointer (not MAP_FAILED), and errno is left alone. */
void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset)
{
#ifdef DUNE_MUTANT_LIB_MMAP_OFFSET
	offset = 0;	/* mutant LIB_MMAP_OFFSET: the 6th argument is lost */
#endif
	return (void *)dune_raw_syscall6(SYS_mmap, (long)addr, (long)length, prot, flags, fd, offset);
}

unsigned long dune_get_user_fs(void)
{
	return dune_pc ? dune_pc->ufs_base : 0;
}

void dune_set_user_fs(unsigned long fs_base)
{
	if (dune_pc)
		dune_pc->ufs_base = fs_base;
}

/* ----------------------------------------------------------- APIC */

static void apic_unsupported(const char *fn)
{
	static int said;

	if (!said++)
		dune_printf("libdune: %s: no APIC on the %s backend (unsupported)\n", fn,
			    dune_be ? dune_be->name : "(none)");
}

bool dune_apic_supported(void)
{
	return dune_be && dune_be->apic;
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

#define MSR_X2APIC_ID	0x802
#define MSR_X2APIC_EOI	0x80b
#define MSR_X2APIC_ICR	0x830

static uint32_t *apic_ids;	/* cpu -> APIC id, filled by dune_apic_init_rt_entry */
static int apic_ncpu;

void dune_apic_init_rt_entry(void)
{
	/* the original records every CPU's APIC id in a shared table when a
	 * thread enters; with one vCPU per thread that is this thread's id */
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	if (!apic_ids) {
		apic_ids = mmap(NULL, 4096 * sizeof(uint32_t), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (apic_ids == MAP_FAILED) {
			apic_ids = NULL;
			return;
		}
		memset(apic_ids, 0xff, 4096 * sizeof(uint32_t));
	}
	if (dune_pc && dune_pc->cpu >= 0 && dune_pc->cpu < 4096) {
		apic_ids[dune_pc->cpu] = dune_apic_id();
		if (dune_pc->cpu + 1 > apic_ncpu)
			apic_ncpu = dune_pc->cpu + 1;
	}
}

uint32_t dune_apic_id(void)
{
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return UINT32_MAX;
	}
	return (uint32_t)rdmsr(MSR_X2APIC_ID);
}

uint32_t dune_apic_id_for_cpu(uint32_t cpu, bool *error)
{
	if (!dune_apic_supported() || !apic_ids || cpu >= 4096 || apic_ids[cpu] == UINT32_MAX) {
		if (!dune_apic_supported())
			apic_unsupported(__func__);
		if (error)
			*error = true;
		return UINT32_MAX;
	}
	if (error)
		*error = false;
	return apic_ids[cpu];
}

void dune_apic_send_ipi(uint8_t vector, uint32_t destination_apic_id)
{
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	/* fixed delivery, physical destination */
	wrmsr(MSR_X2APIC_ICR, ((uint64_t)destination_apic_id << 32) | vector);
}

void dune_apic_eoi(void)
{
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	wrmsr(MSR_X2APIC_EOI, 0);
}

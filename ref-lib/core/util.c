// SPDX-License-Identifier: MIT
/*
 * util.c - dune_printf, dune_die, dune_mmap, user FS base, raw system
 * calls.
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
	/* a base that is not canonical is not taken: loading it would fault
	 * in ring 0 on the way to ring 3 (arch_prctl refuses it too) */
	if (dune_pc && (uint64_t)((int64_t)(fs_base << 16) >> 16) == fs_base)
		dune_pc->ufs_base = fs_base;
}

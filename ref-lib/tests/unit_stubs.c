// SPDX-License-Identifier: MIT
/*
 * unit_stubs.c - what the natively tested parts of libdune (vm.c, page.c,
 * procmap.c, elf.c) need from the rest of the library, for host mode.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"

ptent_t *pgroot;
uintptr_t phys_limit, mmap_base, stack_base;
uintptr_t dune_exec_base, dune_exec_size, dune_exec_gpa;
__thread struct dune_percpu *dune_pc;

long dune_raw_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long r = syscall(nr, a0, a1, a2, a3, a4, a5);

	return r < 0 ? -(long)errno : r;
}

int dune_printf(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

void dune_die(void)
{
	abort();
}

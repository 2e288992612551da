// SPDX-License-Identifier: MIT
/*
 * unit_stubs.c - what the natively tested parts of libdune (vm.c, page.c,
 * layout.c, procmap.c, elf.c) need from the rest of the library, for host mode.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "unit.h"

/* pgroot and the window bases are core/layout.c's */
bool dune_map_full;
char __dune_vsyscall_page[1], __dune_vsyscall_page_end[1];
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

/* the TLB flushes vm.c asks for (util.c's flushes only in guest ring 0) */
struct unit_flush unit_flushes[UNIT_MAX_FLUSHES];
int unit_nflushes;

void dune_tlb_flush_range(uintptr_t start, uintptr_t end)
{
	if (unit_nflushes < UNIT_MAX_FLUSHES)
		unit_flushes[unit_nflushes] = (struct unit_flush){ start, end };
	unit_nflushes++;
}

/* what fn(arg) prints on stdout (through dune_printf), as a malloc'd string */
char *unit_capture_stdout(void (*fn)(void *), void *arg)
{
	FILE *tmp = tmpfile();
	int saved = dup(1);
	long n;
	char *buf;

	if (!tmp || saved < 0)
		abort();
	fflush(stdout);
	dup2(fileno(tmp), 1);
	fn(arg);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	n = ftell(tmp) > 0 ? ftell(tmp) : lseek(fileno(tmp), 0, SEEK_END);
	buf = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
	if (!buf)
		abort();
	if (n > 0 && pread(fileno(tmp), buf, (size_t)n, 0) != n)
		abort();
	fclose(tmp);
	return buf;
}

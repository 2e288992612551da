/* SPDX-License-Identifier: MIT */
/*
 * sysnr.h - where the host's system call table ends, for the tests of the
 * system call number bound (abi.vmcall.nr_boundary, abi.vmcall.nr_high_bits,
 * guest.syscall.nr_boundary).
 *
 * The table's size (NR_syscalls) is not visible from user space, and a
 * number the test does not know may be a system call it must not make.  So
 * the test knows the x86-64 numbers from 446 (landlock_restrict_self) to 469
 * (file_setattr), every one of which fails at once, changing nothing, when
 * all six arguments are -1 (a bad descriptor, pointer, size or flags).  It
 * calls each natively with those arguments: the last one that is not ENOSYS
 * is the table's last entry on this host (a number configured out, such as
 * map_shadow_stack, is ENOSYS inside the table too: the sweep past the
 * last entry covers it).  A host that has them all may have more: then
 * where its table ends is unknown and the test SKIPs.
 *
 * Everything here runs natively (host mode): call it before entering Dune.
 */
#ifndef CONF_SYSNR_H
#define CONF_SYSNR_H

#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#define SYSNR_FIRST	446L	/* landlock_restrict_self */
#define SYSNR_LAST	469L	/* file_setattr (Linux 6.17) */
#define SYSNR_GETPID	39L

/* the six arguments of every call made here */
#define SYSNR_ARG	(~0UL)

/* The system call @nr with the six arguments SYSNR_ARG, natively: the
 * result, or -errno. */
static inline long sysnr_native(uint64_t nr)
{
	register uint64_t r10 __asm__("r10") = SYSNR_ARG;
	register uint64_t r8 __asm__("r8") = SYSNR_ARG;
	register uint64_t r9 __asm__("r9") = SYSNR_ARG;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(SYSNR_ARG), "S"(SYSNR_ARG), "d"(SYSNR_ARG), "r"(r10), "r"(r8),
			   "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

struct sysnr_host {
	long last;			/* the table's last entry (NR_syscalls - 1) */
	long native[SYSNR_LAST + 1];	/* native results, SYSNR_FIRST..SYSNR_LAST */
};

/*
 * Probe the host.  0, or -1 when this host has every number the test knows
 * (its table may go on: unknown).  At least two numbers past @h->last are
 * known then, so NR_syscalls and NR_syscalls + 1 are among them.
 */
static inline int sysnr_probe(struct sysnr_host *h)
{
	h->last = -1;
	for (long nr = SYSNR_FIRST; nr <= SYSNR_LAST; nr++) {
		h->native[nr] = sysnr_native((uint64_t)nr);
		if (h->native[nr] != -ENOSYS)
			h->last = nr;
	}
	return h->last >= SYSNR_FIRST && h->last <= SYSNR_LAST - 2 ? 0 : -1;
}

/* A refusal: what an implementation answers for a number past its table. */
static inline int sysnr_refused(long ret)
{
	return ret == -ENOSYS || ret == -EINVAL;
}

#endif

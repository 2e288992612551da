// SPDX-License-Identifier: MIT
/*
 * syscall_nr.c - system call numbers at the end of the host's table and
 * with high bits, made in Dune mode through libdune (every backend):
 * whatever path a backend forwards them by, nothing may read past a table.
 * Destructive on the original module (its bound is off by one: a
 * general-protection fault in the host kernel): run it there in the lab only.
 */
#include "../api/common.h"
#include "../abi/sysnr.h"

#include <stdio.h>
#include <unistd.h>

CTEST(syscall_nr_boundary,
      .id = "guest.syscall.nr_boundary",
      .profile = "core",
      .what = "in Dune mode, system calls numbered around the end of the host's table (its last entry NR_syscalls - 1, NR_syscalls, NR_syscalls + 1 and on; all arguments -1) give the host's own result up to the last entry and -ENOSYS or -EINVAL past it; numbers with high bits set (0x1_0000_0000 + getpid or + the table's end, 1 << 63 + getpid, 0x8000_0000, 0xffff_ffff, -1) are refused the same way or give what the host gives natively (Linux reads the low 32 bits); Dune mode goes on",
      .needs = "dune",
      .destructive = "a module whose bound is off by one (the original's) calls past the end of its system call table: a general-protection fault in the host kernel")
{
	struct sysnr_host h;
	const uint64_t hi = 1ULL << 32;
	uint64_t high[] = {
		hi | SYSNR_GETPID, 1ULL << 63 | SYSNR_GETPID, 0x80000000ULL, 0xffffffffULL, ~0ULL, 0, 0,
	};
	long high_native[sizeof(high) / sizeof(high[0])];
	long got[SYSNR_LAST + 1];
	size_t nhigh = sizeof(high) / sizeof(high[0]) - 2;

	if (sysnr_probe(&h))
		CT_SKIP(h.last < 0 ? "none of the system calls %ld..%ld exists on this host (Linux before 5.13): "
				     "where its table ends is not known here" :
				     "this host has the last system calls this test knows (%ld..%ld): its table may "
				     "go on past them, so where it ends is not known here", SYSNR_FIRST, SYSNR_LAST);
	high[nhigh++] = hi | (uint64_t)h.last;
	high[nhigh++] = hi | (uint64_t)(h.last + 1);
	/* natively, as Linux answers them (the low 32 bits: known numbers) */
	for (size_t i = 0; i < nhigh; i++)
		high_native[i] = sysnr_native(high[i]);

	ENTER();
	for (long nr = h.last - 1; nr <= SYSNR_LAST; nr++)
		got[nr] = sysnr_native((uint64_t)nr);	/* in Dune mode: forwarded */
	for (long nr = h.last - 1; nr <= SYSNR_LAST; nr++) {
		if (h.native[nr] == -ENOSYS)
			CT_EXPECT(sysnr_refused(got[nr]),
				  "system call %ld (NR_syscalls%+ld) returned %ld, want -ENOSYS or -EINVAL",
				  nr, nr - h.last - 1, got[nr]);
		else
			CT_EXPECT(got[nr] == h.native[nr],
				  "system call %ld (NR_syscalls%+ld) returned %ld, natively %ld",
				  nr, nr - h.last - 1, got[nr], h.native[nr]);
	}
	for (size_t i = 0; i < nhigh; i++) {
		long r = sysnr_native(high[i]);

		CT_EXPECT(sysnr_refused(r) || r == high_native[i],
			  "system call %#llx returned %ld, want -ENOSYS, -EINVAL or the native %ld",
			  (unsigned long long)high[i], r, high_native[i]);
	}
	CT_EXPECT_EQ(sysnr_native(SYSNR_GETPID), getpid());
	CT_EXPECT_EQ(read_cs() & 3, 0);
	ct_log("the host's table ends at %ld (NR_syscalls %ld)", h.last, h.last + 1);
}

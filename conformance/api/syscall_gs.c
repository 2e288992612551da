// SPDX-License-Identifier: MIT
/*
 * syscall_gs.c - a system call made in Dune mode runs for the host thread
 * and what it changes there stays changed: arch_prctl(ARCH_SET_GS) sets
 * the thread's own (host, user-mode) GS base, which the guest never sees
 * and which a hypervisor switches at every exit and entry.
 */
#include "common.h"

#include <asm/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

CTEST(syscall_arch_prctl_gs,
      .id = "api.syscall.arch_prctl_gs",
      .profile = "core",
      .what = "arch_prctl(ARCH_SET_GS) made in Dune mode sets the host thread's GS base: ARCH_GET_GS reads it back after more system calls, and setting it back works",
      .needs = "dune")
{
	unsigned long old = 1, got = 0;
	const unsigned long want = 0x7f5a5a5a0000UL;

	ENTER();
	CT_ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_GS, &old), 0);
	CT_ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, want), 0);
	for (int i = 0; i < 3; i++)
		CT_EXPECT(syscall(SYS_getppid) > 0, "getppid failed");
	CT_ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_GS, &got), 0);
	CT_EXPECT(got == want, "ARCH_GET_GS gave %#lx after ARCH_SET_GS %#lx (it was %#lx)",
		  got, want, old);
	CT_ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_SET_GS, old), 0);
	got = 1;
	CT_ASSERT_EQ(syscall(SYS_arch_prctl, ARCH_GET_GS, &got), 0);
	CT_EXPECT(got == old, "ARCH_GET_GS gave %#lx after setting %#lx back", got, old);
}

/* SPDX-License-Identifier: MIT */
/* common.h - small helpers shared by the libdune conformance tests */
#ifndef CONF_API_COMMON_H
#define CONF_API_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define DUNE_KEEP_LIBC_ASSERT
#include <dune/dune.h>
#include "ctest.h"

#define ENTER() CT_ASSERT(dune_init_and_enter() == 0, "dune_init_and_enter failed (see stderr)")

/* a guest-virtual range nobody on the host uses (GVA only: page tables) */
#define FRESH_VA ((void *)0x100000000000UL)

/* the backend dune_init will pick (its rule for auto: /dev/dune first) */
static inline bool backend_is_vmx(void)
{
	const char *b = getenv("DUNE_BACKEND");

	if (b && *b && strcmp(b, "auto"))
		return !strcmp(b, "vmx");
	return access("/dev/dune", F_OK) == 0;
}

/*
 * Run child(arg) in a forked process whose stderr goes to @err (up to
 * errlen - 1 bytes, NUL-terminated); the child exits with 0 if it returns.
 * Returns its wait status.
 */
static inline int run_capturing_stderr(void (*child)(void *), void *arg, char *err, size_t errlen)
{
	int pfd[2], status = 0;
	size_t got = 0;
	ssize_t n;
	pid_t pid;

	CT_ASSERT_EQ(pipe(pfd), 0);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(pfd[0]);
		dup2(pfd[1], 2);
		child(arg);
		_exit(0);
	}
	close(pfd[1]);
	while (got < errlen - 1 && (n = read(pfd[0], err + got, errlen - 1 - got)) > 0)
		got += (size_t)n;
	err[got] = 0;
	close(pfd[0]);
	CT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	return status;
}

static inline uint16_t read_cs(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs;
}

/* run an int3; returns the address just past it (where #BP delivery resumes) */
static inline __attribute__((always_inline)) uintptr_t int3_here(void)
{
	uintptr_t after;

	__asm__ volatile("lea 1f(%%rip), %0\n\tint3\n1:" : "=r"(after) : : "memory");
	return after;
}

/* a #DE: divide 1 by 0 with `div %ecx` (2 bytes: a handler skips it with rip += 2) */
static inline __attribute__((always_inline)) void divide_by_zero(void)
{
	__asm__ volatile("xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t"
			 "div %%ecx" : : : "rax", "rcx", "rdx", "memory");
}

#endif

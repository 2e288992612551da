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

/*
 * dunebench's extensions of the libdune API (docs/api.md, "extension"),
 * linked weakly: a library with only the original API links too, and these
 * are NULL there.  A test that needs one says so with NEED_EXT(), which
 * SKIPs naming it.  (dune_enter_ex is the original's, but its header does
 * not declare it; dune_vm_insert_page and dune_vm_lookup_page are declared
 * there and never defined.)
 */
const char *dune_backend_name(void) __attribute__((weak));
bool dune_is_in_guest(void) __attribute__((weak));
bool dune_apic_supported(void) __attribute__((weak));
int dune_apic_send_ipi_checked(uint8_t vector, uint32_t destination_apic_id) __attribute__((weak));
bool dune_has_pcid(void) __attribute__((weak));
void *dune_alloc_percpu(void) __attribute__((weak));
int dune_enter_ex(void *percpu) __attribute__((weak));
int dune_vm_insert_page(ptent_t *root, void *va, struct page *pg, int perm) __attribute__((weak));
struct page *dune_vm_lookup_page(ptent_t *root, void *va) __attribute__((weak));
#ifndef DUNE_SYSCALL_EXITLESS
/* an original-API header: the exit-less extension's names (docs/api.md) */
#define DUNE_SYSCALL_QUERY	(-1)
#define DUNE_SYSCALL_EXIT	0
#define DUNE_SYSCALL_EXITLESS	1
#define DUNE_SYSCALL_BATCH_MAX	1024
struct dune_syscall_req {
	long nr;
	long args[6];
	long ret;
};
#endif
int dune_syscall_mode(int mode) __attribute__((weak));
int dune_syscall_batch(struct dune_syscall_req *reqs, int n) __attribute__((weak));
bool dune_syscall_exitless(long nr) __attribute__((weak));

#define NEED_EXT(sym)							\
	do {								\
		if (!(sym))						\
			CT_SKIP("the library under test does not define %s (a dunebench extension, " \
				"or declared but not defined by the original: docs/api.md)", #sym); \
	} while (0)

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

/* true in Dune mode's ring 0 (dune_is_in_guest where the library has it) */
static inline bool conf_in_guest(void)
{
	if (dune_is_in_guest)
		return dune_is_in_guest();
	return (read_cs() & 3) == 0;	/* host mode runs in ring 3 */
}

/* the backend under test: dune_backend_name, else the runner's -b */
static inline const char *conf_backend(void)
{
	const char *b = dune_backend_name ? dune_backend_name() : NULL;

	return b ? b : getenv("DUNE_BACKEND") ? getenv("DUNE_BACKEND") : "";
}

/* The pool page mapped at @va in @root, or NULL: dune_vm_lookup_page where
 * the library defines it, else through the original's dune_vm_lookup. */
static inline struct page *conf_lookup_page(ptent_t *root, void *va)
{
	ptent_t *pte;

	if (dune_vm_lookup_page)
		return dune_vm_lookup_page(root, va);
	if (dune_vm_lookup(root, va, CREATE_NONE, &pte) || !(*pte & PTE_P) ||
	    !dune_page_isfrompool(PTE_ADDR(*pte)))
		return NULL;
	return dune_pa2page(PTE_ADDR(*pte));
}

/* Map pool page @pg at @va (one reference more): dune_vm_insert_page where
 * the library defines it, else the original's dune_vm_map_phys. */
static inline int conf_insert_page(ptent_t *root, void *va, struct page *pg, int perm)
{
	int r;

	if (dune_vm_insert_page)
		return dune_vm_insert_page(root, va, pg, perm);
	r = dune_vm_map_phys(root, va, PGSIZE, (void *)dune_page2pa(pg), perm);
	if (!r)
		dune_page_get(pg);
	return r;
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

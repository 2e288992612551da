/* SPDX-License-Identifier: MIT */
/*
 * abi_util.h - helpers of the ABI-level conformance tests (conformance/abi/).
 *
 * These tests talk to whatever module owns /dev/dune (or $DUNE_DEV) with raw
 * ioctls only: no libdune.  A test builds a tiny guest:
 *
 *   - guest code: small snippets written with ABI_GUEST() below; all of them
 *     land in one ELF section that abi_vm_setup() copies into an executable
 *     buffer of the mmap window, so the guest runs at a reachable address
 *     whether or not the test binary is PIE;
 *   - guest page tables: guest-virtual == host-virtual, and each 2 MiB page
 *     points at the guest-physical address the Dune layout of
 *     DUNE_GET_LAYOUT gives that host address (identity, mmap window, stack
 *     window; docs/abi.md section 5).  abi_vm_setup() maps the whole mmap
 *     and stack windows and the identity window's first 4 GiB;
 *   - a guest stack in the mmap window.
 *
 * Only what docs/abi.md promises is assumed, so the helpers work on
 * the original module as well as on ours.
 */
#ifndef CONF_ABI_UTIL_H
#define CONF_ABI_UTIL_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <dune/abi.h>
#include "ctest.h"

/*
 * ABI_GUEST(name, "asm") - a guest code snippet.  `name` is its entry; more
 * labels may be declared inside the asm text and with ABI_GUEST_LABEL().
 * Snippets must be position independent (relative jumps only): they run
 * from a copy.  Run one with abi_conf(vm, &conf, name).
 */
#define ABI_GUEST_SECTION abi_guest_text
#define ABI_GUEST(name, text)						\
	extern const unsigned char name[];				\
	__asm__(".pushsection abi_guest_text,\"ax\",@progbits\n"	\
		".balign 16\n"						\
		#name ":\n" text "\n"					\
		".popsection\n")
#define ABI_GUEST_LABEL(name) extern const unsigned char name[]

/* Guest exit(code) / exit_group(code) in asm, for snippets. */
#define G_EXIT(code)	"mov $60, %eax\n mov $" #code ", %edi\n vmcall\n ud2\n"

/* Linux x86-64 system call numbers used by the guests (asm/unistd_64.h). */
#define NR_read		0
#define NR_write	1
#define NR_mmap		9
#define NR_munmap	11
#define NR_pread64	17
#define NR_madvise	28
#define NR_getpid	39
#define NR_fork		57
#define NR_exit		60
#define NR_gettid	186
#define NR_exit_group	231

struct abi_vm {
	int fd;				/* /dev/dune */
	struct dune_layout layout;
	uint8_t *code;			/* copy of the guest code section */
	size_t code_size;
	uint8_t *stack;			/* guest stack (mmap window) */
	size_t stack_size;
	uint64_t *pml4;			/* guest page tables ... */
	uint8_t *pt_pool;		/* ... allocated from here */
	size_t pt_used, pt_size;
};

/* $DUNE_DEV or /dev/dune. */
const char *abi_dev_path(void);
/* open(abi_dev_path(), O_RDWR): fd, or -1 with errno. */
int abi_open(void);

/* Guest-physical address of host address @hva in @l, or -1 if unreachable. */
int64_t abi_hva_to_gpa(const struct dune_layout *l, uint64_t hva);

/* Open the device, get the layout, build code, stack and page tables.
 * Fails the test (CT_ASSERT) when something does not work. */
void abi_vm_setup(struct abi_vm *vm);
/* Map [va, va + len) (2 MiB granules) GVA == HVA: 0, or -ERANGE when some
 * part is outside the layout's windows, -ENOMEM when the pool is empty. */
int abi_vm_map(struct abi_vm *vm, uint64_t va, uint64_t len);
/* Map [gva, gva + len) to guest-physical @gpa (2 MiB granules, aligned). */
int abi_vm_map_gpa(struct abi_vm *vm, uint64_t gva, uint64_t gpa, uint64_t len);

/* Guest-virtual address of a snippet label. */
uint64_t abi_gva(const struct abi_vm *vm, const unsigned char *label);
/* A fresh config: new vCPU, rip = @entry, guest stack, RFLAGS 0x2, CR3. */
void abi_conf(const struct abi_vm *vm, struct dune_config *c,
	      const unsigned char *entry);
/* ioctl(DUNE_ENTER): 0, or -errno. */
int abi_enter(const struct abi_vm *vm, struct dune_config *c);
/*
 * Enter, and re-enter (same config) while the run ends with
 * DUNE_RET_SIGNAL, at most @max_signals times.  Returns like abi_enter;
 * *@nsignals (if not NULL) counts the SIGNAL returns.
 */
int abi_run(const struct abi_vm *vm, struct dune_config *c, int max_signals,
	    int *nsignals);

/* "EXIT", "EPT_VIOLATION", ... for messages. */
const char *abi_ret_name(int64_t ret);

/* Fail the test unless the run ended with ioctl 0 and ret == @want. */
#define ABI_ASSERT_RET(r, c, want)					\
	CT_ASSERT((r) == 0 && (c)->ret == (want),			\
		  "expected ioctl 0 and ret=%s, got ioctl %d (%s) ret=%lld (%s) status=%lld rip=%#llx", \
		  abi_ret_name(want), (r), (r) ? strerror(-(r)) : "ok",	\
		  (long long)(c)->ret, abi_ret_name((c)->ret),		\
		  (long long)(c)->status, (unsigned long long)(c)->rip)

#endif

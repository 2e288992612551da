// SPDX-License-Identifier: GPL-2.0
/*
 * dune_abi_pie.c - the DUNE_LAYOUT_EXT extension (include/dune/abi.h):
 * a PIE, loaded far above the identity window, runs its own code as a
 * guest through the exec window.  Built -pie.  TAP 13.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dune/abi.h>

#include "tap.h"

#define NTESTS	4
#define MIB2	(2ULL << 20)
#define GIB	(1ULL << 30)

extern char __executable_start[], _end[];

void pie_guest_getpid(void);

asm(".text\n"
    "pie_guest_getpid:\n"
    "	mov $39, %eax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n");

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pds[4][512] __attribute__((aligned(4096)));
static uint8_t guest_stack[8192] __attribute__((aligned(4096)));

static struct dune_layout_ext ext;

static uint64_t gpa_of(const void *p)
{
	return (uint64_t)(uintptr_t)p - ext.exec_hva + ext.exec_gpa;
}

/* Map the executable (VA == host VA) to its exec-window GPAs, 2 MiB pages. */
static int build_page_tables(char *why, size_t len)
{
	uint64_t lo = (uintptr_t)__executable_start & ~(MIB2 - 1);
	uint64_t hi = ((uintptr_t)_end + MIB2 - 1) & ~(MIB2 - 1);
	uint64_t va, gib0 = lo & ~(GIB - 1);
	unsigned int n;

	if ((lo >> 39) != ((hi - 1) >> 39) || hi - gib0 > 4 * GIB) {
		snprintf(why, len, "executable spans too much: %#lx-%#lx",
			 (unsigned long)lo, (unsigned long)hi);
		return -1;
	}
	for (va = lo; va < hi; va += MIB2) {
		n = (va - gib0) / GIB;
		pds[n][(va >> 21) & 511] = gpa_of((void *)(uintptr_t)va) | 0x83;
		pdpt[(va >> 30) & 511] = gpa_of(pds[n]) | 3;
	}
	pml4[(lo >> 39) & 511] = gpa_of(pdpt) | 3;
	return 0;
}

static int run_guest(int fd, struct dune_config *c)
{
	memset(c, 0, sizeof(*c));
	c->rip = (uintptr_t)pie_guest_getpid;
	c->rsp = (uintptr_t)(guest_stack + sizeof(guest_stack));
	c->rflags = 2;
	c->cr3 = gpa_of(pml4);
	return ioctl(fd, DUNE_ENTER, c);
}

int main(void)
{
	struct dune_layout classic;
	uint64_t self = (uintptr_t)main;
	struct dune_config c;
	char why[128];
	int fd, fd2, r, i;

	tap_plan(NTESTS);
	fd = open(DUNE_DEVICE_PATH, O_RDWR);
	if (fd < 0 || ioctl(fd, DUNE_GET_LAYOUT, &classic)) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("module.layout_ext", "cannot open %s: %s",
				 DUNE_DEVICE_PATH, strerror(errno));
		return 0;
	}
	ext.flags = DUNE_LAYOUT_EXT_EXEC | DUNE_LAYOUT_EXT_VDSO;
	r = ioctl(fd, DUNE_LAYOUT_EXT, &ext);
	if (r && errno == ENOTTY) {
		for (i = 0; i < NTESTS; i++)
			tap_skip("module.layout_ext", "module without the extension");
		return 0;
	}
	tap_diag("exe %#lx flags %#llx identity_end %#llx exec %#llx->%#llx+%#llx vdso %#llx->%#llx+%#llx",
		 (unsigned long)self, (unsigned long long)ext.flags,
		 (unsigned long long)ext.identity_end,
		 (unsigned long long)ext.exec_gpa, (unsigned long long)ext.exec_hva,
		 (unsigned long long)ext.exec_size,
		 (unsigned long long)ext.vdso_gpa, (unsigned long long)ext.vdso_hva,
		 (unsigned long long)ext.vdso_size);
	tap_check(r == 0 && (ext.flags & DUNE_LAYOUT_EXT_EXEC) &&
		  self >= ext.exec_hva && self < ext.exec_hva + ext.exec_size &&
		  ext.exec_gpa == DUNE_GPA_EXEC_START(classic.phys_limit) &&
		  ext.identity_end == DUNE_GPA_EXT_IDENTITY_END(classic.phys_limit) &&
		  ext.phys_limit == classic.phys_limit &&
		  ext.base_map == classic.base_map &&
		  ext.base_stack == classic.base_stack,
		  "module.layout_ext.get",
		  "expected an exec window holding main=%#lx and the classic windows unchanged, got r=%d (%s) flags %#llx",
		  (unsigned long)self, r, strerror(errno),
		  (unsigned long long)ext.flags);

	if (build_page_tables(why, sizeof(why))) {
		tap_skip("module.layout_ext.pie_guest", "%s", why);
		tap_skip("module.layout_ext.classic_fd", "%s", why);
	} else {
		r = run_guest(fd, &c);
		tap_check(r == 0 && c.ret == DUNE_RET_EXIT &&
			  (long long)c.rbx == getpid(), "module.layout_ext.pie_guest",
			  "expected the PIE guest to exit with getpid()=%d in rbx, got %d (%s) ret=%lld rbx=%lld",
			  getpid(), r, strerror(errno), (long long)c.ret,
			  (long long)c.rbx);

		/* a file without the extension keeps the classic layout */
		fd2 = open(DUNE_DEVICE_PATH, O_RDWR);
		r = run_guest(fd2, &c);
		tap_check(r == 0 && c.ret == DUNE_RET_EPT_VIOLATION,
			  "module.layout_ext.classic_fd",
			  "expected EPT_VIOLATION (exec window absent), got %d ret=%lld",
			  r, (long long)c.ret);
		close(fd2);
	}

	ext.flags = 0;
	r = ioctl(fd, DUNE_LAYOUT_EXT, &ext);
	tap_check(r == 0 && ext.flags == 0 && ext.exec_size == 0 &&
		  ext.identity_end == DUNE_GPA_IDENTITY_END(classic.phys_limit),
		  "module.layout_ext.off",
		  "expected flags 0 and the classic identity window, got %d flags %#llx identity_end %#llx",
		  r, (unsigned long long)ext.flags,
		  (unsigned long long)ext.identity_end);
	close(fd);
	return tap_done();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * dune_abi_basic.c - /dev/dune basics that need no VM entry: the device
 * node, DUNE_GET_LAYOUT, DUNE_GET_SYSCALL, unknown ioctls, and DUNE_ENTER
 * with bad pointers.  TAP 13 on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <dune/abi.h>

#include "tap.h"

#define NTESTS		12
#define MISC_MAJOR	10
#define GIB		(1ULL << 30)

static int is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

/* mm->start_stack of this process: field 28 of /proc/self/stat. */
static uint64_t proc_start_stack(void)
{
	char buf[4096], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, field;

	fd = open("/proc/self/stat", O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* comm may contain spaces */
	if (!p)
		return 0;
	/* after ") " comes field 3 */
	for (field = 3, p += 2; field < 28 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

/* "address sizes : 46 bits physical" from /proc/cpuinfo, or 0. */
static int cpuinfo_phys_bits(void)
{
	char line[512];
	int bits = 0;
	FILE *f;

	f = fopen("/proc/cpuinfo", "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "address sizes : %d bits physical", &bits) == 1)
			break;
	fclose(f);
	return bits;
}

static void test_layout(int fd)
{
	struct dune_layout l;
	uint64_t start_stack, want_stack, m;
	void *map;
	int bits, r;

	memset(&l, 0xa5, sizeof(l));
	r = ioctl(fd, DUNE_GET_LAYOUT, &l);
	if (!tap_check(r == 0, "module.layout.get",
		       "expected 0, got %d (%s)", r, strerror(errno))) {
		tap_skip("module.layout.phys_limit", "GET_LAYOUT failed");
		tap_skip("module.layout.base_map", "GET_LAYOUT failed");
		tap_skip("module.layout.base_stack", "GET_LAYOUT failed");
		return;
	}
	tap_diag("phys_limit=0x%llx base_map=0x%llx base_stack=0x%llx",
		 (unsigned long long)l.phys_limit,
		 (unsigned long long)l.base_map,
		 (unsigned long long)l.base_stack);

	bits = cpuinfo_phys_bits();
	tap_check(is_pow2(l.phys_limit) && l.phys_limit >= (1ULL << 32) &&
		  l.phys_limit <= (1ULL << 52) &&
		  (!bits || l.phys_limit == 1ULL << bits),
		  "module.layout.phys_limit",
		  "expected a power of two in [2^32, 2^52] = 2^%d (cpuinfo), got 0x%llx",
		  bits, (unsigned long long)l.phys_limit);

	/* A fresh mmap lands just below mmap_base: inside the map window. */
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	m = (uint64_t)(uintptr_t)map;
	tap_check(map != MAP_FAILED && !(l.base_map % GIB) &&
		  m >= l.base_map && m < l.base_map + DUNE_GPA_MAP_SIZE,
		  "module.layout.base_map",
		  "expected 1 GiB aligned, window holding mmap(NULL)=0x%llx, got base_map=0x%llx",
		  (unsigned long long)m, (unsigned long long)l.base_map);
	if (map != MAP_FAILED)
		munmap(map, 4096);

	start_stack = proc_start_stack();
	want_stack = DUNE_LG_ALIGN(start_stack) - DUNE_GPA_STACK_SIZE;
	tap_check(start_stack && !(l.base_stack % GIB) &&
		  l.base_stack == want_stack,
		  "module.layout.base_stack",
		  "expected LG_ALIGN(start_stack=0x%llx) - 1 GiB = 0x%llx, got 0x%llx",
		  (unsigned long long)start_stack,
		  (unsigned long long)want_stack,
		  (unsigned long long)l.base_stack);
}

static void test_enter_bad_pointers(int fd)
{
	void *gone;
	int r, e;

	errno = 0;
	r = ioctl(fd, DUNE_ENTER, NULL);
	e = errno;
	tap_check(r == -1 && e == EFAULT, "module.enter.efault_null",
		  "expected -1/EFAULT, got %d/%s", r, strerror(e));

	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, 4096);
	errno = 0;
	r = ioctl(fd, DUNE_ENTER, gone);
	e = errno;
	tap_check(r == -1 && e == EFAULT, "module.enter.efault_unmapped",
		  "expected -1/EFAULT, got %d/%s", r, strerror(e));

	errno = 0;
	r = ioctl(fd, DUNE_ENTER, (void *)0xffffffff81000000UL);
	e = errno;
	tap_check(r == -1 && e == EFAULT, "module.enter.efault_kernel_ptr",
		  "expected -1/EFAULT, got %d/%s", r, strerror(e));
}

int main(void)
{
	struct stat st;
	long lstar;
	int fd, r, e;

	tap_plan(NTESTS);

	r = stat(DUNE_DEVICE_PATH, &st);
	tap_check(r == 0 && S_ISCHR(st.st_mode) &&
		  major(st.st_rdev) == MISC_MAJOR &&
		  minor(st.st_rdev) == DUNE_MINOR, "module.dev.node",
		  "expected char device 10:%d, got %s %u:%u", DUNE_MINOR,
		  r ? strerror(errno) : S_ISCHR(st.st_mode) ? "char" : "not-char",
		  r ? 0 : major(st.st_rdev), r ? 0 : minor(st.st_rdev));

	fd = open(DUNE_DEVICE_PATH, O_RDWR);
	if (!tap_check(fd >= 0, "module.dev.open", "expected an fd, got %s",
		       strerror(errno))) {
		while (tap_num < NTESTS)
			tap_skip("module.basic", "cannot open %s", DUNE_DEVICE_PATH);
		return tap_done();
	}

	test_layout(fd);

	/* Raw syscall: the full 64-bit return value, as libdune reads it. */
	lstar = syscall(SYS_ioctl, fd, DUNE_GET_SYSCALL, 0);
	tap_check((unsigned long)lstar >= 0xffff800000000000UL &&
		  (unsigned long)lstar < 0xfffffffffffff000UL,
		  "module.get_syscall",
		  "expected a kernel address (MSR_LSTAR), got 0x%lx",
		  (unsigned long)lstar);

	errno = 0;
	r = ioctl(fd, _IO(DUNE_IOCTL_TYPE, 99), 0);
	e = errno;
	tap_check(r == -1 && e == ENOTTY, "module.bad.ioctl",
		  "expected -1/ENOTTY, got %d/%s", r, strerror(e));

	test_enter_bad_pointers(fd);

	errno = 0;
	r = ioctl(fd, DUNE_GET_LAYOUT, NULL);
	e = errno;
	tap_check(r == -1 && e == EFAULT, "module.layout.efault",
		  "expected -1/EFAULT, got %d/%s", r, strerror(e));

	close(fd);
	return tap_done();
}

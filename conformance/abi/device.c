// SPDX-License-Identifier: MIT
/*
 * device.c - /dev/dune without entering a guest: the node, DUNE_GET_LAYOUT,
 * DUNE_GET_SYSCALL, unknown ioctls and bad pointers.
 */
#include "abi_util.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define MISC_MAJOR	10
#define GIB		(1ULL << 30)

CTEST(dev_node,
      .id = "abi.dev.node",
      .profile = "core",
      .what = "the device is a character device 10:233 (misc, minor 233) that opens read-write",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct stat st;
	int fd;

	CT_ASSERT(stat(abi_dev_path(), &st) == 0, "stat %s: %s", abi_dev_path(), strerror(errno));
	CT_EXPECT(S_ISCHR(st.st_mode), "%s is not a character device", abi_dev_path());
	CT_EXPECT_EQ(major(st.st_rdev), MISC_MAJOR);
	CT_EXPECT_EQ(minor(st.st_rdev), DUNE_MINOR);
	fd = abi_open();
	CT_ASSERT(fd >= 0, "open O_RDWR: %s", strerror(errno));
	close(fd);
}

/* mm->start_stack: field 28 of /proc/self/stat, or 0. */
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
	p = strrchr(buf, ')');	/* the command name may hold spaces */
	if (!p)
		return 0;
	for (field = 3, p += 2; field < 28 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &v) != 1)
		return 0;
	return v;
}

/* "address sizes : N bits physical" of /proc/cpuinfo (the kernel's view), or 0. */
static int cpuinfo_phys_bits(void)
{
	char line[512];
	int bits = 0;
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "address sizes : %d bits physical", &bits) == 1)
			break;
	fclose(f);
	return bits;
}

CTEST(layout_get,
      .id = "abi.layout.get",
      .profile = "core",
      .what = "DUNE_GET_LAYOUT fills phys_limit = 1 << physical address bits, base_map = LG_ALIGN(mmap_base) - 63 GiB and base_stack = LG_ALIGN(start_stack) - 1 GiB",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct dune_layout l;
	uint64_t start_stack, m;
	void *map;
	int fd, bits;

	fd = abi_open();
	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	memset(&l, 0xa5, sizeof(l));
	CT_ASSERT(ioctl(fd, DUNE_GET_LAYOUT, &l) == 0, "DUNE_GET_LAYOUT: %s", strerror(errno));
	ct_log("phys_limit=%#llx base_map=%#llx base_stack=%#llx",
	       (unsigned long long)l.phys_limit, (unsigned long long)l.base_map,
	       (unsigned long long)l.base_stack);

	bits = cpuinfo_phys_bits();
	CT_EXPECT(l.phys_limit && !(l.phys_limit & (l.phys_limit - 1)) &&
		  l.phys_limit >= (1ULL << 36) && l.phys_limit <= (1ULL << 52),
		  "phys_limit %#llx is not a power of two in [2^36, 2^52]",
		  (unsigned long long)l.phys_limit);
	if (bits)
		CT_EXPECT_EQ(l.phys_limit, 1ULL << bits);

	/* mmap(NULL) lands just below mmap_base: inside the map window */
	map = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(map != MAP_FAILED, "mmap: %s", strerror(errno));
	m = (uint64_t)(uintptr_t)map;
	CT_EXPECT_EQ(l.base_map % GIB, 0);
	CT_EXPECT(m >= l.base_map && m < l.base_map + DUNE_GPA_MAP_SIZE,
		  "mmap(NULL) = %#llx is not in the map window [%#llx, %#llx)",
		  (unsigned long long)m, (unsigned long long)l.base_map,
		  (unsigned long long)(l.base_map + DUNE_GPA_MAP_SIZE));

	start_stack = proc_start_stack();
	CT_ASSERT(start_stack, "cannot read start_stack from /proc/self/stat");
	CT_EXPECT_EQ(l.base_stack, DUNE_LG_ALIGN(start_stack) - DUNE_GPA_STACK_SIZE);
	close(fd);
}

CTEST(syscall_get,
      .id = "abi.syscall.get",
      .profile = "core",
      .what = "DUNE_GET_SYSCALL returns the host's 64-bit syscall entry (a kernel-half address) as the ioctl value, the same on every call and file",
      .needs = "dev-dune",
      .backends = "vmx")
{
	long a, b, c;
	int fd, fd2;

	fd = abi_open();
	fd2 = abi_open();
	CT_ASSERT(fd >= 0 && fd2 >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	/* the raw system call: the whole 64-bit value, as libdune reads it */
	a = syscall(SYS_ioctl, fd, DUNE_GET_SYSCALL, 0);
	b = syscall(SYS_ioctl, fd, DUNE_GET_SYSCALL, 0);
	c = syscall(SYS_ioctl, fd2, DUNE_GET_SYSCALL, 0);
	ct_log("DUNE_GET_SYSCALL = %#lx", (unsigned long)a);
	CT_EXPECT((unsigned long)a >= 0xffff800000000000UL &&
		  (unsigned long)a < 0xfffffffffffff000UL,
		  "expected a kernel address (MSR_LSTAR), got %#lx", (unsigned long)a);
	CT_EXPECT_EQ(b, a);
	CT_EXPECT_EQ(c, a);
	close(fd);
	close(fd2);
}

CTEST(bad_ioctl,
      .id = "abi.bad.ioctl_unknown",
      .profile = "robustness",
      .what = "ioctl numbers the ABI does not define (other numbers of type 233, other types) fail with ENOTTY",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const unsigned long cmds[] = {
		_IO(DUNE_IOCTL_TYPE, 0), _IO(DUNE_IOCTL_TYPE, 6),
		_IO(DUNE_IOCTL_TYPE, 99), _IOWR(DUNE_IOCTL_TYPE, 7, uint64_t),
		_IO(DUNE_IOCTL_TYPE + 1, 1), _IOR('T', 0x7f, int),
		DUNE_ENTER ^ 0x00010000UL,	/* DUNE_ENTER with another size */
	};
	unsigned int i;
	uint64_t arg[32] = { 0 };
	int fd, r, e;

	fd = abi_open();
	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		errno = 0;
		r = ioctl(fd, cmds[i], arg);
		e = errno;
		CT_EXPECT(r == -1 && e == ENOTTY, "ioctl %#lx: expected -1/ENOTTY, got %d/%s",
			  cmds[i], r, strerror(e));
	}
	close(fd);
}

/* Expect -1 with EFAULT (ours) or EIO (the original's copy-failure errno). */
#define EXPECT_COPY_FAIL(what, r, e)					\
	CT_EXPECT((r) == -1 && ((e) == EFAULT || (e) == EIO),		\
		  "%s: expected -1/EFAULT (or EIO), got %d/%s", what, r, strerror(e))

CTEST(bad_enter_pointer,
      .id = "abi.bad.enter_pointer",
      .profile = "robustness",
      .what = "DUNE_ENTER with a NULL, unmapped or kernel pointer fails with EFAULT (or EIO) and nothing else happens",
      .needs = "dev-dune",
      .backends = "vmx")
{
	void *gone;
	int fd, r, e;

	fd = abi_open();
	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	errno = 0;
	r = ioctl(fd, DUNE_ENTER, NULL);
	e = errno;
	EXPECT_COPY_FAIL("NULL", r, e);

	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(gone != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(gone, 4096);
	errno = 0;
	r = ioctl(fd, DUNE_ENTER, gone);
	e = errno;
	EXPECT_COPY_FAIL("unmapped", r, e);

	errno = 0;
	r = ioctl(fd, DUNE_ENTER, (void *)0xffffffff81000000UL);
	e = errno;
	EXPECT_COPY_FAIL("kernel address", r, e);
	close(fd);
}

CTEST(bad_layout_pointer,
      .id = "abi.bad.layout_pointer",
      .profile = "robustness",
      .what = "DUNE_GET_LAYOUT with a NULL or read-only pointer fails with EFAULT (or EIO)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	void *ro;
	int fd, r, e;

	fd = abi_open();
	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	errno = 0;
	r = ioctl(fd, DUNE_GET_LAYOUT, NULL);
	e = errno;
	EXPECT_COPY_FAIL("NULL", r, e);

	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(ro != MAP_FAILED, "mmap: %s", strerror(errno));
	errno = 0;
	r = ioctl(fd, DUNE_GET_LAYOUT, ro);
	e = errno;
	EXPECT_COPY_FAIL("read-only page", r, e);
	close(fd);
}

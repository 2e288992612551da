// SPDX-License-Identifier: MIT
/*
 * mmap_args.c - dune_mmap's six arguments, each one visible in the result,
 * passed while the caller keeps many values live in registers.
 */
#include "common.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

/* /proc/self/maps line starting at @start: its end, permissions, offset */
static int maps_entry(uintptr_t start, uintptr_t *end, char perms[5], unsigned long *off)
{
	char line[512];
	unsigned long s, e, o;
	char p[5];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s %lx", &s, &e, p, &o) == 4 && s == start) {
			*end = e;
			memcpy(perms, p, 5);
			*off = o;
			found = 1;
		}
	fclose(f);
	return found;
}

typedef void *(*mmap_fn)(void *, size_t, int, int, int, off_t);

/* The arguments come from memory (volatile), the call goes through a
 * pointer, and twelve values stay live across it: the compiler has to keep
 * them in callee-saved registers and on the stack, which dune_mmap must
 * leave as they were. */
static void *__attribute__((noinline)) call_under_pressure(mmap_fn fn, const volatile uint64_t *a,
							      int *live_ok)
{
	uint64_t l0 = a[6] * 3, l1 = a[6] ^ 0x1111, l2 = a[6] + 0x2222, l3 = a[6] * 5,
		 l4 = a[6] ^ 0x4444, l5 = a[6] + 0x5555, l6 = a[6] * 7, l7 = a[6] ^ 0x7777,
		 l8 = a[6] + 0x8888, l9 = a[6] * 11, l10 = a[6] ^ 0xaaaa, l11 = a[6] + 0xbbbb;
	void *p;

	__asm__ volatile("" : "+r"(l0), "+r"(l1), "+r"(l2), "+r"(l3), "+r"(l4), "+r"(l5));
	p = fn((void *)(uintptr_t)a[0], (size_t)a[1], (int)a[2], (int)a[3], (int)a[4], (off_t)a[5]);
	__asm__ volatile("" : "+r"(l6), "+r"(l7), "+r"(l8), "+r"(l9), "+r"(l10), "+r"(l11));
	*live_ok = l0 == a[6] * 3 && l1 == (a[6] ^ 0x1111) && l2 == a[6] + 0x2222 && l3 == a[6] * 5 &&
		   l4 == (a[6] ^ 0x4444) && l5 == a[6] + 0x5555 && l6 == a[6] * 7 &&
		   l7 == (a[6] ^ 0x7777) && l8 == a[6] + 0x8888 && l9 == a[6] * 11 &&
		   l10 == (a[6] ^ 0xaaaa) && l11 == a[6] + 0xbbbb;
	return p;
}

CTEST(syscall_dune_mmap_args,
      .id = "api.syscall.dune_mmap_args",
      .profile = "core",
      .what = "dune_mmap in Dune mode passes all six arguments, each visible in the result (a 2-page MAP_SHARED | MAP_FIXED read-only mapping of a file at offset 4096 at a chosen address: its address, length, permissions, sharing, file and offset in /proc/self/maps and its contents), and the caller's live registers survive the call",
      .needs = "dune")
{
	char page[4096];
	volatile uint64_t args[7];
	uintptr_t hole, end = 0;
	unsigned long off = 0;
	char perms[5] = "";
	int fd, live_ok = 0;
	void *p;

	ENTER();
	fd = (int)syscall(SYS_memfd_create, "dune-mmap-args", 0);
	CT_ASSERT(fd >= 0, "memfd_create: %s", strerror(errno));
	for (int i = 0; i < 4; i++) {
		memset(page, "abcd"[i], sizeof(page));
		CT_ASSERT_EQ(write(fd, page, sizeof(page)), (long)sizeof(page));
	}
	/* a free address: reserve 4 pages, map over the middle two */
	hole = (uintptr_t)mmap(NULL, 4 * PGSIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(hole != (uintptr_t)MAP_FAILED, "mmap: %s", strerror(errno));
	args[0] = hole + PGSIZE;
	args[1] = 2 * PGSIZE;
	args[2] = PROT_READ;
	args[3] = MAP_SHARED | MAP_FIXED;
	args[4] = (uint64_t)fd;
	args[5] = PGSIZE;
	args[6] = 0x0123456789abcdefULL;
	p = call_under_pressure(dune_mmap, args, &live_ok);
	CT_EXPECT(live_ok, "values live in the caller's registers changed across dune_mmap");
	CT_ASSERT_EQ((uintptr_t)p, hole + PGSIZE);			/* addr, MAP_FIXED */
	CT_ASSERT(maps_entry(hole + PGSIZE, &end, perms, &off), "no mapping at %#lx in /proc/self/maps",
		  (unsigned long)(hole + PGSIZE));
	CT_EXPECT_EQ(end - (hole + PGSIZE), 2 * PGSIZE);		/* length */
	CT_EXPECT(!strcmp(perms, "r--s"), "permissions %s, want r--s (PROT_READ, MAP_SHARED)", perms);
	CT_EXPECT_EQ(off, PGSIZE);					/* offset */
	CT_EXPECT_EQ(((volatile char *)p)[0], 'b');			/* fd, offset */
	CT_EXPECT_EQ(((volatile char *)p)[PGSIZE + 7], 'c');
	/* MAP_SHARED: the file's later changes show through */
	CT_ASSERT_EQ(pwrite(fd, "Z", 1, PGSIZE + 1), 1);
	CT_EXPECT_EQ(((volatile char *)p)[1], 'Z');
	munmap((void *)hole, 4 * PGSIZE);
	close(fd);
}

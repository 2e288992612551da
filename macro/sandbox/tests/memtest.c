// SPDX-License-Identifier: MIT
/*
 * memtest.c - a sandbox test program for the memory system calls and the
 * pointer checks: brk, mmap, munmap, mprotect, mremap, madvise, a thread
 * area, and system calls handed bad pointers.  It prints what it sees; the
 * output must be the same natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static __thread int tls_var = 42;

static unsigned long sum(const unsigned char *p, size_t n)
{
	unsigned long s = 0;

	for (size_t i = 0; i < n; i++)
		s = s * 31 + p[i];
	return s;
}

int main(void)
{
	size_t big = 4UL << 20;	/* above the mmap threshold; small for the emulated lab */
	unsigned char *p, *q;
	char *h;
	long r;

	/* the heap: small blocks from brk, a big one from mmap */
	h = malloc(1000);
	memset(h, 'x', 1000);
	p = malloc(big);
	memset(p, 7, big);
	printf("malloc: %lu %lu\n", sum((unsigned char *)h, 1000), sum(p, big));
	free(p);
	free(h);
	r = (long)sbrk(0);
	printf("sbrk grows: %s\n", sbrk(1 << 20) != (void *)-1 && (long)sbrk(0) == r + (1 << 20) ? "yes" : "no");

	p = mmap(NULL, 5 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memset(p, 1, 5 * 4096);
	printf("munmap middle: %d\n", munmap(p + 4096, 4096));
	printf("mprotect ro: %d\n", mprotect(p, 4096, PROT_READ));
	/* write(2) from a read-only page is fine, read(2) into it is not */
	printf("write from ro page: %ld\n", (long)write(-1, p, 1) == -1 && errno == EBADF ? 0L : -1L);
	q = mremap(p + 2 * 4096, 3 * 4096, 64 * 4096, MREMAP_MAYMOVE);
	printf("mremap: %s, content kept: %s\n", q == MAP_FAILED ? "failed" : "ok",
	       q != MAP_FAILED && q[0] == 1 && q[3 * 4096 - 1] == 1 ? "yes" : "no");
	q[64 * 4096 - 1] = 5;
	printf("madvise dontneed: %d, zero after: %s\n", madvise(q, 4096, MADV_DONTNEED),
	       q[0] == 0 ? "yes" : "no");
	printf("tls: %d\n", tls_var);

	/* bad pointers: nothing mapped there natively; the runtime there under
	 * the sandbox (its text starts at 1 GiB): EFAULT either way */
	r = syscall(SYS_write, 1, (void *)0x40001000UL, 8);
	printf("write from 0x40001000: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	r = syscall(SYS_read, 0, (void *)0x40001000UL, 8);
	printf("read into 0x40001000: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	r = syscall(SYS_openat, -100, (void *)0x40000000UL, 0);
	printf("open of a path at 0x40000000: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	r = syscall(SYS_write, 1, (void *)0, 8);
	printf("write from NULL: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	r = syscall(SYS_clock_gettime, 0, (void *)0x40002000UL);
	printf("clock_gettime into 0x40002000: %ld %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	return 0;
}

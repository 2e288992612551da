/* SPDX-License-Identifier: MIT */
/*
 * userfault - appel-style protect/trap/unprotect with userfaultfd instead of
 * mprotect + SIGSEGV: per op, for each of 100 resident pages, write-protect
 * it (UFFDIO_WRITEPROTECT), write to it; the fault is queued on the
 * userfaultfd, a handler thread reads it and removes the protection
 * (UFFDIO_WRITEPROTECT, mode 0, which wakes the faulting thread).
 *
 * Needs userfaultfd write-protect for anonymous memory (Linux >= 5.7) and
 * the right to create a userfaultfd (root, CAP_SYS_PTRACE,
 * vm.unprivileged_userfaultfd=1 or /dev/userfaultfd); says which is missing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define NPG	MICRO_APPEL_PAGES

struct userfault {
	int uffd;
	volatile char *mem;
	pthread_t thread;
};

/* Pages 0..NPG-1 are measured; a fault on page NPG tells the handler to stop. */
#define REGION	((NPG + 1) * MICRO_PAGE)

static int uffd_wp(int uffd, volatile char *addr, size_t len, int protect)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (uintptr_t)addr, .len = len },
		.mode = protect ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	return ioctl(uffd, UFFDIO_WRITEPROTECT, &wp);
}

static void *uffd_handler(void *arg)
{
	struct userfault *u = arg;
	struct uffd_msg msg;

	for (;;) {
		ssize_t n = read(u->uffd, &msg, sizeof(msg));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(msg))
			return NULL;
		if (msg.event != UFFD_EVENT_PAGEFAULT)
			continue;
		uintptr_t page = msg.arg.pagefault.address & ~(MICRO_PAGE - 1);

		uffd_wp(u->uffd, (volatile char *)page, MICRO_PAGE, 0);
		if (page == (uintptr_t)(u->mem + NPG * MICRO_PAGE))
			return NULL;
	}
}

static int open_uffd(char *why, size_t len)
{
	int fd = syscall(SYS_userfaultfd, O_CLOEXEC);
	int e = errno, dev;

	if (fd >= 0)
		return fd;
	dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev >= 0) {
		fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC);
		close(dev);
		if (fd >= 0)
			return fd;
	}
	snprintf(why, len, "userfaultfd(): %s; /dev/userfaultfd: %s", strerror(e),
		 dev < 0 ? strerror(errno) : "USERFAULTFD_IOC_NEW failed");
	return -1;
}

static int userfault_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API, .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP };
	struct uffdio_register reg;
	struct userfault *u;
	void *m;
	int err, ret = MICRO_UNAVAILABLE;	/* what the kernel does not offer */

	if (mode != MICRO_LINUX) {
		snprintf(why, len, "userfaultfd is a Linux-mode mechanism");
		return MICRO_UNAVAILABLE;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(why, len, "out of memory");
		return MICRO_FAILED;
	}
	u->uffd = open_uffd(why, len);
	if (u->uffd < 0)
		goto fail;
	if (ioctl(u->uffd, UFFDIO_API, &api)) {
		snprintf(why, len, "UFFDIO_API with UFFD_FEATURE_PAGEFAULT_FLAG_WP: %s "
			 "(kernel without userfaultfd write-protect?)", strerror(errno));
		goto fail_fd;
	}
	if (!(api.features & UFFD_FEATURE_PAGEFAULT_FLAG_WP)) {
		snprintf(why, len, "kernel lacks UFFD_FEATURE_PAGEFAULT_FLAG_WP");
		goto fail_fd;
	}
	m = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		ret = MICRO_FAILED;
		goto fail_fd;
	}
	madvise(m, REGION, MADV_NOHUGEPAGE);
	u->mem = m;
	for (unsigned long i = 0; i <= NPG; i++)
		u->mem[i * MICRO_PAGE] = (char)i;
	memset(&reg, 0, sizeof(reg));
	reg.range.start = (uintptr_t)m;
	reg.range.len = REGION;
	reg.mode = UFFDIO_REGISTER_MODE_WP;
	if (ioctl(u->uffd, UFFDIO_REGISTER, &reg)) {
		snprintf(why, len, "UFFDIO_REGISTER(MODE_WP) on anonymous memory: %s",
			 strerror(errno));
		goto fail_map;
	}
	if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT))) {
		snprintf(why, len, "UFFDIO_WRITEPROTECT not offered for anonymous memory");
		goto fail_map;
	}
	err = pthread_create(&u->thread, NULL, uffd_handler, u);
	if (err) {
		snprintf(why, len, "pthread_create: %s", strerror(err));
		ret = MICRO_FAILED;
		goto fail_map;
	}
	*priv = u;
	return 0;
fail_map:
	munmap(m, REGION);
fail_fd:
	close(u->uffd);
fail:
	free(u);
	return ret;
}

static void userfault_run(void *priv, uint64_t n)
{
	struct userfault *u = priv;

	for (uint64_t k = 0; k < n; k++)
		for (unsigned long i = 0; i < NPG; i++) {
			uffd_wp(u->uffd, u->mem + i * MICRO_PAGE, MICRO_PAGE, 1);
			u->mem[i * MICRO_PAGE] = (char)i;
		}
}

static void userfault_teardown(void *priv)
{
	struct userfault *u = priv;

	uffd_wp(u->uffd, u->mem + NPG * MICRO_PAGE, MICRO_PAGE, 1);
	u->mem[NPG * MICRO_PAGE] = 1;	/* the stop page: the handler's last fault */
	pthread_join(u->thread, NULL);
	munmap((void *)u->mem, REGION);
	close(u->uffd);
	free(u);
}

const struct micro_ops micro_userfault_ops = {
	.setup = userfault_setup,
	.run = userfault_run,
	.teardown = userfault_teardown,
};

/* SPDX-License-Identifier: MIT */
/*
 * fake-perf.so - an LD_PRELOAD PMU with canned counts, so the harness's
 * "hardware counters available" path runs on hosts without a PMU
 * (harness/bench/selftest).  It answers perf_event_open (through glibc's
 * syscall()) with a descriptor of /dev/null and serves read() and the
 * enable/disable ioctls on those descriptors itself:
 *
 *   FAKE_PERF=counts      every event opens; each enable..disable interval
 *                         counts FAKE_PERF_BASE x (1, 2, 3, 4) for cycles,
 *                         instructions, generic cache events, raw events
 *   FAKE_PERF=errno:N     every perf_event_open fails with errno N
 *
 * Everything else goes to the real functions.  Test-only: never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_FD	4096

static struct {
	char used, enabled;
	uint64_t value, step;
} fds[MAX_FD];

static uint64_t step_for(const struct perf_event_attr *a)
{
	const char *b = getenv("FAKE_PERF_BASE");
	uint64_t base = b ? strtoull(b, NULL, 0) : 1000;

	switch (a->type) {
	case PERF_TYPE_HARDWARE:
		return a->config == PERF_COUNT_HW_INSTRUCTIONS ? 2 * base : base;
	case PERF_TYPE_HW_CACHE:
		return 3 * base;
	default:
		return 4 * base;
	}
}

static int fake_open(const struct perf_event_attr *a)
{
	const char *mode = getenv("FAKE_PERF");
	int fd;

	if (mode && !strncmp(mode, "errno:", 6)) {
		errno = atoi(mode + 6);
		return -1;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fd >= MAX_FD)
		return -1;
	fds[fd].used = 1;
	fds[fd].enabled = 0;
	fds[fd].value = 0;
	fds[fd].step = step_for(a);
	return fd;
}

long syscall(long nr, ...)
{
	static long (*real)(long, ...);
	long a[6];
	va_list ap;

	va_start(ap, nr);
	for (int i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (nr == SYS_perf_event_open)
		return fake_open((const struct perf_event_attr *)a[0]);
	if (!real)
		real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
	return real(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
}

ssize_t read(int fd, void *buf, size_t len)
{
	static ssize_t (*real)(int, void *, size_t);

	if (fd >= 0 && fd < MAX_FD && fds[fd].used) {
		if (len < sizeof(uint64_t)) {
			errno = EINVAL;
			return -1;
		}
		memcpy(buf, &fds[fd].value, sizeof(uint64_t));
		return sizeof(uint64_t);
	}
	if (!real)
		real = (ssize_t (*)(int, void *, size_t))dlsym(RTLD_NEXT, "read");
	return real(fd, buf, len);
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (fd >= 0 && fd < MAX_FD && fds[fd].used) {
		if (req == PERF_EVENT_IOC_DISABLE && fds[fd].enabled)
			fds[fd].value += fds[fd].step;
		if (req == PERF_EVENT_IOC_ENABLE || req == PERF_EVENT_IOC_DISABLE)
			fds[fd].enabled = req == PERF_EVENT_IOC_ENABLE;
		return 0;
	}
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	return real(fd, req, arg);
}

int close(int fd)
{
	static int (*real)(int);

	if (fd >= 0 && fd < MAX_FD)
		fds[fd].used = 0;
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "close");
	return real(fd);
}

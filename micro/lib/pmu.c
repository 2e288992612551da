/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pmu.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *const pmu_event_name[PMU_NR_EVENTS] = {
	[PMU_CYCLES] = "cycles",
	[PMU_DTLB_MISSES] = "dtlb_misses",
};

static int open_one(uint32_t type, uint64_t config)
{
	struct perf_event_attr a;

	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.type = type;
	a.config = config;
	a.disabled = 1;
	a.exclude_hv = 1;
	return syscall(SYS_perf_event_open, &a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

int pmu_open(struct pmu *p, char *why, size_t len)
{
	static const struct { uint32_t type; uint64_t config; } ev[PMU_NR_EVENTS] = {
		[PMU_CYCLES] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
		[PMU_DTLB_MISSES] = { PERF_TYPE_HW_CACHE, PERF_COUNT_HW_CACHE_DTLB |
			(PERF_COUNT_HW_CACHE_OP_READ << 8) |
			(PERF_COUNT_HW_CACHE_RESULT_MISS << 16) },
	};

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < PMU_NR_EVENTS; i++)
		p->fd[i] = -1;
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		p->fd[i] = open_one(ev[i].type, ev[i].config);
		if (p->fd[i] < 0) {
			int e = errno;

			snprintf(why, len, "perf_event_open(%s): %s (errno %d %s)",
				 pmu_event_name[i], strerror(e), e, strerrorname_np(e) ?: "?");
			pmu_close(p);
			return -1;
		}
	}
	return 0;
}

static uint64_t read_one(int fd)
{
	uint64_t v = 0;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

void pmu_start(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		p->start[i] = read_one(p->fd[i]);
		ioctl(p->fd[i], PERF_EVENT_IOC_ENABLE, 0);
	}
}

void pmu_stop(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		ioctl(p->fd[i], PERF_EVENT_IOC_DISABLE, 0);
		p->total[i] += read_one(p->fd[i]) - p->start[i];
	}
}

void pmu_close(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
}

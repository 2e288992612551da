/* SPDX-License-Identifier: MIT */
/*
 * pmu.h - hardware counters beside the cycle counts, where the host has a
 * PMU (perf_event_open).  Never a reason to fail a run: pmu_open() says why
 * not, and the benchmark goes on without.
 */
#ifndef MICRO_PMU_H
#define MICRO_PMU_H

#include <stddef.h>
#include <stdint.h>

enum pmu_event {
	PMU_CYCLES,		/* core cycles (not TSC) */
	PMU_DTLB_MISSES,	/* dTLB read misses */
	PMU_NR_EVENTS,
};

struct pmu {
	int fd[PMU_NR_EVENTS];
	uint64_t total[PMU_NR_EVENTS];
	uint64_t start[PMU_NR_EVENTS];
};

extern const char *const pmu_event_name[PMU_NR_EVENTS];

/* 0, or -1 with why filled (e.g. "perf_event_open(cycles): ENOENT ..."). */
int pmu_open(struct pmu *p, char *why, size_t len);
void pmu_start(struct pmu *p);
void pmu_stop(struct pmu *p);	/* adds the interval to total[] */
void pmu_close(struct pmu *p);

#endif

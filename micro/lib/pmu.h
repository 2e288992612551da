/* SPDX-License-Identifier: MIT */
/*
 * pmu.h - hardware counters beside the cycle counts, where the host has a
 * PMU (perf_event_open).  Never a reason to fail a run: pmu_open() says why
 * not, and the benchmark goes on without.
 *
 * Events: core cycles and instructions and dTLB read misses are the
 * kernel's generic events; page walks are a raw event of the CPU model
 * (pmu_walk_event()), left out with a reason on CPUs we have no code for.
 * Cycles are required (without them the PMU counts as unavailable); the
 * others are recorded when they open and reported missing otherwise.
 *
 * Everything that touches the kernel goes through pmu_sys, so a test can
 * put a fake in its place (micro/tests/test_pmu.c).  The CPU identity is
 * CPUID's, except under DUNEBENCH_SYSROOT (tests: the host-matrix
 * fixtures), where it is that tree's proc/cpuinfo, so the event chosen
 * follows the simulated host, not the machine the tests run on.
 */
#ifndef MICRO_PMU_H
#define MICRO_PMU_H

#include <stddef.h>
#include <stdint.h>

struct perf_event_attr;

enum pmu_event {
	PMU_CYCLES,		/* core cycles (not TSC) */
	PMU_INSTRUCTIONS,	/* retired instructions */
	PMU_DTLB_MISSES,	/* dTLB read misses (generic cache event) */
	PMU_PAGE_WALKS,		/* completed data-side page walks (raw, per CPU model) */
	PMU_NR_EVENTS,
};

#define PMU_WHY_LEN	160

struct pmu {
	int fd[PMU_NR_EVENTS];		/* -1: not counted (why[]) */
	uint64_t total[PMU_NR_EVENTS];
	uint64_t start[PMU_NR_EVENTS];
	uint32_t type[PMU_NR_EVENTS];
	uint64_t config[PMU_NR_EVENTS];
	char why[PMU_NR_EVENTS][PMU_WHY_LEN];
};

/* The kernel interface, replaceable by tests. */
struct pmu_sys {
	int (*open)(struct perf_event_attr *attr);	/* fd, or -1 and errno */
	int (*read)(int fd, uint64_t *value);		/* 0 or -1 */
	int (*enable)(int fd, int on);			/* 0 or -1 */
	void (*close)(int fd);
	/*
	 * CPUID vendor string (12 chars + NUL), family and model (display
	 * values); under DUNEBENCH_SYSROOT, from its proc/cpuinfo ("unknown",
	 * 0, 0 if that has none)
	 */
	void (*cpu)(char vendor[13], unsigned *family, unsigned *model);
};

extern const struct pmu_sys pmu_sys_real;
extern const struct pmu_sys *pmu_sys;

extern const char *const pmu_event_name[PMU_NR_EVENTS];

/*
 * The raw perf config of "page walks" on this CPU, or -1 with why filled:
 * Intel (family 6): DTLB_LOAD_MISSES.WALK_COMPLETED (event 0x08, umask
 * 0x0e; event 0x12 on Golden Cove and later cores); AMD family 17h/19h: L1 dTLB misses that also miss the L2 dTLB,
 * i.e. walks (event 0x45, umask 0xf0).
 */
int64_t pmu_walk_event(const char *vendor, unsigned family, unsigned model,
		       char *why, size_t len);

/*
 * vendor_id, cpu family and model of the first processor in a
 * /proc/cpuinfo-format file: 0, or -1 if the file or a field is missing.
 */
int pmu_cpuinfo_identity(const char *path, char vendor[13], unsigned *family,
			 unsigned *model);

/* 0 (cycles at least), or -1 with why filled (e.g. "perf_event_open(cycles): ENOENT ..."). */
int pmu_open(struct pmu *p, char *why, size_t len);
int pmu_counting(const struct pmu *p, enum pmu_event e);
void pmu_start(struct pmu *p);
void pmu_stop(struct pmu *p);	/* adds the interval to total[] */
void pmu_close(struct pmu *p);

#endif

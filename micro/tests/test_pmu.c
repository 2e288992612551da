/* SPDX-License-Identifier: MIT */
/*
 * test_pmu - unit test of lib/pmu.c over a fake kernel (pmu_sys replaced):
 * injected perf_event_open failures give "unavailable" with the reason,
 * and with canned counts the available path opens the right events and
 * adds up what each start/stop interval counted.  TAP 13.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/pmu.h"

static int nr, failed;

static void ok(int cond, const char *what)
{
	nr++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", nr, what);
}

/* ---------------------------------------------------------------- the fake */

#define FAKE_FDS	8

static struct {
	const char *vendor;
	unsigned family, model;
	int fail_errno[PMU_NR_EVENTS];	/* by open order = event index */
	int opens, closes, open_now;
	struct perf_event_attr attr[FAKE_FDS];
	uint64_t value[FAKE_FDS];
	int enabled[FAKE_FDS];
	uint64_t per_interval[FAKE_FDS];
} fake;

static int fake_index(const struct perf_event_attr *a)
{
	if (a->type == PERF_TYPE_HARDWARE && a->config == PERF_COUNT_HW_CPU_CYCLES)
		return PMU_CYCLES;
	if (a->type == PERF_TYPE_HARDWARE && a->config == PERF_COUNT_HW_INSTRUCTIONS)
		return PMU_INSTRUCTIONS;
	if (a->type == PERF_TYPE_HW_CACHE)
		return PMU_DTLB_MISSES;
	if (a->type == PERF_TYPE_RAW)
		return PMU_PAGE_WALKS;
	return -1;
}

static int fake_open(struct perf_event_attr *a)
{
	int i = fake_index(a);

	if (i < 0) {
		errno = EINVAL;
		return -1;
	}
	if (fake.fail_errno[i]) {
		errno = fake.fail_errno[i];
		return -1;
	}
	fake.opens++;
	fake.open_now++;
	fake.attr[i] = *a;
	fake.value[i] = 1000 * (i + 1);	/* counters need not start at 0 */
	fake.per_interval[i] = 10 * (i + 1) + 1;
	return 100 + i;
}

static int fake_read(int fd, uint64_t *v)
{
	*v = fake.value[fd - 100];
	return 0;
}

static int fake_enable(int fd, int on)
{
	int i = fd - 100;

	if (fake.enabled[i] && !on)
		fake.value[i] += fake.per_interval[i];
	fake.enabled[i] = on;
	return 0;
}

static void fake_close(int fd)
{
	(void)fd;
	fake.closes++;
	fake.open_now--;
}

static void fake_cpu(char vendor[13], unsigned *family, unsigned *model)
{
	snprintf(vendor, 13, "%s", fake.vendor);
	*family = fake.family;
	*model = fake.model;
}

static const struct pmu_sys fake_sys = {
	.open = fake_open, .read = fake_read, .enable = fake_enable,
	.close = fake_close, .cpu = fake_cpu,
};

static void reset(const char *vendor, unsigned family)
{
	memset(&fake, 0, sizeof(fake));
	fake.vendor = vendor;
	fake.family = family;
	fake.model = 0x55;
}

int main(void)
{
	struct pmu p;
	char why[256];

	printf("TAP version 13\n1..20\n");
	pmu_sys = &fake_sys;

	reset("AuthenticAMD", 0x17);
	fake.fail_errno[PMU_CYCLES] = ENOENT;
	why[0] = 0;
	ok(pmu_open(&p, why, sizeof(why)) == -1, "no cycles counter (ENOENT): pmu_open fails");
	ok(strstr(why, "perf_event_open(cycles)") && strstr(why, "ENOENT") &&
	   strstr(why, "no such event"), "the reason names the event, the errno and what it means");
	ok(fake.open_now == 0, "nothing is left open after a failed pmu_open");

	reset("GenuineIntel", 6);
	fake.fail_errno[PMU_CYCLES] = EACCES;
	ok(pmu_open(&p, why, sizeof(why)) == -1 && strstr(why, "EACCES") &&
	   strstr(why, "perf_event_paranoid"), "EACCES: the reason points at perf_event_paranoid");

	reset("AuthenticAMD", 0x19);
	fake.fail_errno[PMU_PAGE_WALKS] = ENOENT;
	ok(pmu_open(&p, why, sizeof(why)) == 0 && pmu_counting(&p, PMU_CYCLES) &&
	   pmu_counting(&p, PMU_DTLB_MISSES) && !pmu_counting(&p, PMU_PAGE_WALKS),
	   "a missing optional event (page walks) leaves the others counting");
	ok(strstr(p.why[PMU_PAGE_WALKS], "perf_event_open(page_walks)") != NULL,
	   "the missing event keeps its own reason");
	pmu_close(&p);
	ok(fake.open_now == 0 && fake.closes == 3, "pmu_close closes every open counter");

	reset("HygonGenuine", 0x18);
	ok(pmu_open(&p, why, sizeof(why)) == 0 && !pmu_counting(&p, PMU_PAGE_WALKS) &&
	   strstr(p.why[PMU_PAGE_WALKS], "no page-walk event known"),
	   "a CPU without a known page-walk event: generic events only, reason recorded");
	pmu_close(&p);

	reset("GenuineIntel", 6);
	ok(pmu_open(&p, why, sizeof(why)) == 0 && fake.opens == PMU_NR_EVENTS,
	   "canned PMU: every event opens");
	ok(fake.attr[PMU_PAGE_WALKS].config == 0x0e08 && p.config[PMU_PAGE_WALKS] == 0x0e08,
	   "Intel page walks: raw DTLB_LOAD_MISSES.WALK_COMPLETED (0x0e08)");
	ok(fake.attr[PMU_DTLB_MISSES].config == (PERF_COUNT_HW_CACHE_DTLB |
	   (PERF_COUNT_HW_CACHE_OP_READ << 8) | (PERF_COUNT_HW_CACHE_RESULT_MISS << 16)) &&
	   fake.attr[PMU_CYCLES].disabled && fake.attr[PMU_CYCLES].exclude_hv,
	   "dTLB read misses are the generic cache event; counters start disabled");
	for (int k = 0; k < 3; k++) {
		pmu_start(&p);
		pmu_stop(&p);
	}
	ok(p.total[PMU_CYCLES] == 3 * 11 && p.total[PMU_DTLB_MISSES] == 3 * 31 &&
	   p.total[PMU_PAGE_WALKS] == 3 * 41, "totals add up the counted intervals only");
	pmu_close(&p);

	ok(pmu_walk_event("GenuineIntel", 6, 0x55, why, sizeof(why)) == 0x0e08 &&
	   pmu_walk_event("GenuineIntel", 6, 0x8f, why, sizeof(why)) == 0x0e12 &&
	   pmu_walk_event("GenuineIntel", 0xf, 0x4, why, sizeof(why)) == -1,
	   "Intel: 0x08 before Golden Cove (Skylake-X 0x55), 0x12 from it (0x8f); none for P4");

	reset("AuthenticAMD", 0x17);
	ok(pmu_open(&p, why, sizeof(why)) == 0 && p.config[PMU_PAGE_WALKS] == 0xf045,
	   "AMD family 17h page walks: L2 dTLB misses (0xf045)");
	pmu_close(&p);
	ok(fake.open_now == 0, "no counter leaks over the whole test");

	/* the CPU identity from DUNEBENCH_SYSROOT's proc/cpuinfo (a test's host) */
	{
		char root[] = "/tmp/test-pmu.XXXXXX", path[64], vendor[13];
		unsigned fam = 0, mod = 0;
		FILE *f;

		ok(mkdtemp(root) != NULL, "a temporary sysroot");
		snprintf(path, sizeof(path), "%s/proc", root);
		mkdir(path, 0755);
		snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
		f = fopen(path, "w");
		fputs("processor\t: 0\nvendor_id\t: GenuineIntel\ncpu family\t: 6\n"
		      "model\t\t: 143\nmodel name\t: Intel(R) Xeon(R) Gold 6430\n\n"
		      "processor\t: 1\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 1\n\n", f);
		fclose(f);
		ok(pmu_cpuinfo_identity(path, vendor, &fam, &mod) == 0 &&
		   !strcmp(vendor, "GenuineIntel") && fam == 6 && mod == 143,
		   "cpuinfo: the first processor's vendor_id, cpu family and model (decimal)");
		setenv("DUNEBENCH_SYSROOT", root, 1);
		pmu_sys_real.cpu(vendor, &fam, &mod);
		ok(!strcmp(vendor, "GenuineIntel") && fam == 6 && mod == 143 &&
		   pmu_walk_event(vendor, fam, mod, why, sizeof(why)) == 0x0e12,
		   "under DUNEBENCH_SYSROOT the CPU is the sysroot's: Golden Cove, event 0x0e12");
		unlink(path);
		pmu_sys_real.cpu(vendor, &fam, &mod);
		ok(!strcmp(vendor, "unknown") && fam == 0 && mod == 0 &&
		   pmu_walk_event(vendor, fam, mod, why, sizeof(why)) == -1 &&
		   strstr(why, "no page-walk event known for unknown"),
		   "a sysroot without proc/cpuinfo: CPU unknown, no page-walk event, and why");
		f = fopen(path, "w");
		fputs("processor\t: 0\nvendor_id\t: AuthenticAMD\n\n", f);
		fclose(f);
		ok(pmu_cpuinfo_identity(path, vendor, &fam, &mod) == -1,
		   "cpuinfo without cpu family and model: no identity");
		unlink(path);
		snprintf(path, sizeof(path), "%s/proc", root);
		rmdir(path);
		rmdir(root);
		unsetenv("DUNEBENCH_SYSROOT");
	}

	printf("# %d of %d failed\n", failed, nr);
	return failed != 0;
}

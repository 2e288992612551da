/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "pmu.h"

#include <cpuid.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

const char *const pmu_event_name[PMU_NR_EVENTS] = {
	[PMU_CYCLES] = "cycles",
	[PMU_INSTRUCTIONS] = "instructions",
	[PMU_DTLB_MISSES] = "dtlb_misses",
	[PMU_PAGE_WALKS] = "page_walks",
};

/* ---------------------------------------------------------------- the kernel */

static int real_open(struct perf_event_attr *a)
{
	return syscall(SYS_perf_event_open, a, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static int real_read(int fd, uint64_t *v)
{
	return read(fd, v, sizeof(*v)) == sizeof(*v) ? 0 : -1;
}

static int real_enable(int fd, int on)
{
	return ioctl(fd, on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

static void real_close(int fd)
{
	close(fd);
}

int pmu_cpuinfo_identity(const char *path, char vendor[13], unsigned *family,
			 unsigned *model)
{
	char line[512];
	int seen = 0, procs = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	vendor[0] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *key = line, *val, *end;
		size_t n;

		if (!colon)
			continue;
		*colon = 0;
		n = strlen(key);
		while (n && (key[n - 1] == ' ' || key[n - 1] == '\t'))
			key[--n] = 0;
		for (val = colon + 1; *val == ' ' || *val == '\t'; val++)
			;
		val[strcspn(val, "\n")] = 0;
		if (!strcmp(key, "processor") && ++procs > 1)
			break;	/* the first processor is enough */
		if (!strcmp(key, "vendor_id")) {
			snprintf(vendor, 13, "%s", val);
			seen |= 1;
		} else if (!strcmp(key, "cpu family")) {
			*family = (unsigned)strtoul(val, &end, 10);
			seen |= *end ? 0 : 2;
		} else if (!strcmp(key, "model")) {
			*model = (unsigned)strtoul(val, &end, 10);
			seen |= *end ? 0 : 4;
		}
	}
	fclose(f);
	return seen == 7 ? 0 : -1;
}

static void real_cpu(char vendor[13], unsigned *family, unsigned *model)
{
	unsigned a = 0, b = 0, c = 0, d = 0, fam, mod;
	const char *root = getenv("DUNEBENCH_SYSROOT");

	if (root && *root) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
		if (pmu_cpuinfo_identity(path, vendor, family, model) < 0) {
			snprintf(vendor, 13, "unknown");
			*family = *model = 0;
		}
		return;
	}

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	__cpuid(1, a, b, c, d);
	fam = (a >> 8) & 0xf;
	mod = (a >> 4) & 0xf;
	if (fam == 0xf)
		fam += (a >> 20) & 0xff;
	if (fam == 0x6 || fam >= 0xf)
		mod |= ((a >> 16) & 0xf) << 4;
	*family = fam;
	*model = mod;
}

const struct pmu_sys pmu_sys_real = {
	.open = real_open,
	.read = real_read,
	.enable = real_enable,
	.close = real_close,
	.cpu = real_cpu,
};

const struct pmu_sys *pmu_sys = &pmu_sys_real;

/* ---------------------------------------------------------------- events */

int64_t pmu_walk_event(const char *vendor, unsigned family, unsigned model,
		       char *why, size_t len)
{
	/* Golden Cove and later cores moved the dTLB load-miss events to 0x12 */
	static const unsigned intel_0x12[] = { 0x8f, 0x97, 0x9a, 0xaa, 0xac, 0xad, 0xae,
					       0xb7, 0xba, 0xbf, 0xcf };

	if (!strcmp(vendor, "GenuineIntel") && family == 6) {
		for (size_t i = 0; i < sizeof(intel_0x12) / sizeof(intel_0x12[0]); i++)
			if (model == intel_0x12[i])
				return 0x0e12;
		return 0x0e08;
	}
	if (!strcmp(vendor, "AuthenticAMD") && (family == 0x17 || family == 0x19))
		return 0xf045;
	snprintf(why, len, "no page-walk event known for %s family 0x%x model 0x%x",
		 vendor, family, model);
	return -1;
}

static void errno_text(char *buf, size_t len, const char *name, int e)
{
	const char *hint = "";

	if (e == ENOENT || e == EOPNOTSUPP)
		hint = ": no such event on this PMU (a VM without a virtual PMU has none)";
	else if (e == EACCES || e == EPERM)
		hint = ": not allowed (kernel.perf_event_paranoid, or CAP_PERFMON)";
	snprintf(buf, len, "perf_event_open(%s): %s (errno %d %s)%s", name, strerror(e), e,
		 strerrorname_np(e) ?: "?", hint);
}

static void attr_set(struct perf_event_attr *a, uint32_t type, uint64_t config)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	a->type = type;
	a->config = config;
	a->disabled = 1;
	a->exclude_hv = 1;
}

int pmu_open(struct pmu *p, char *why, size_t len)
{
	static const struct { uint32_t type; uint64_t config; } gen[PMU_NR_EVENTS] = {
		[PMU_CYCLES] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_CPU_CYCLES },
		[PMU_INSTRUCTIONS] = { PERF_TYPE_HARDWARE, PERF_COUNT_HW_INSTRUCTIONS },
		[PMU_DTLB_MISSES] = { PERF_TYPE_HW_CACHE, PERF_COUNT_HW_CACHE_DTLB |
			(PERF_COUNT_HW_CACHE_OP_READ << 8) |
			(PERF_COUNT_HW_CACHE_RESULT_MISS << 16) },
		[PMU_PAGE_WALKS] = { PERF_TYPE_RAW, 0 },	/* per CPU model */
	};
	char vendor[13] = "";
	unsigned family = 0, model = 0;

	memset(p, 0, sizeof(*p));
	pmu_sys->cpu(vendor, &family, &model);
	int64_t walk = pmu_walk_event(vendor, family, model, p->why[PMU_PAGE_WALKS],
				      sizeof(p->why[PMU_PAGE_WALKS]));

	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		p->fd[i] = -1;
		p->type[i] = gen[i].type;
		p->config[i] = i == PMU_PAGE_WALKS ? (uint64_t)(walk < 0 ? 0 : walk) : gen[i].config;
	}
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		struct perf_event_attr a;

		if (i == PMU_PAGE_WALKS && walk < 0)
			continue;
		attr_set(&a, p->type[i], p->config[i]);
		p->fd[i] = pmu_sys->open(&a);
		if (p->fd[i] >= 0)
			continue;
		errno_text(p->why[i], sizeof(p->why[i]), pmu_event_name[i], errno);
		if (i == PMU_CYCLES) {
			snprintf(why, len, "%s", p->why[i]);
			for (int k = i + 1; k < PMU_NR_EVENTS; k++)
				if (!p->why[k][0])
					snprintf(p->why[k], sizeof(p->why[k]),
						 "not opened: the PMU has no cycles counter");
			return -1;
		}
	}
	return 0;
}

int pmu_counting(const struct pmu *p, enum pmu_event e)
{
	return p->fd[e] >= 0;
}

void pmu_start(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		if (p->fd[i] < 0)
			continue;
		if (pmu_sys->read(p->fd[i], &p->start[i]))
			p->start[i] = 0;
		pmu_sys->enable(p->fd[i], 1);
	}
}

void pmu_stop(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		uint64_t v;

		if (p->fd[i] < 0)
			continue;
		pmu_sys->enable(p->fd[i], 0);
		if (!pmu_sys->read(p->fd[i], &v) && v >= p->start[i])
			p->total[i] += v - p->start[i];
	}
}

void pmu_close(struct pmu *p)
{
	for (int i = 0; i < PMU_NR_EVENTS; i++) {
		if (p->fd[i] >= 0)
			pmu_sys->close(p->fd[i]);
		p->fd[i] = -1;
	}
}

/* SPDX-License-Identifier: MIT */
/*
 * lab_ticks.h - what the lab path-length tools share (lab_getpid_ticks.c,
 * lab_path_ticks.c): LAB_TICKS_N samples per measurement, the timer's own
 * overhead, and a TAP line with the minimum and median.
 */
#ifndef DUNE_LAB_TICKS_H
#define DUNE_LAB_TICKS_H

#include <stdio.h>
#include <stdlib.h>

#include <dune/dune.h>

#define LAB_TICKS_N 200

static int lab_ticks_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/* the fewest ticks two back-to-back reads of the TSC take */
static unsigned long lab_ticks_overhead(void)
{
	unsigned long overhead = ~0UL, a, b;

	for (int i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		b = dune_get_ticks();
		if (b - a < overhead)
			overhead = b - a;
	}
	return overhead;
}

/* "ok n - what: min M median D ticks" over the LAB_TICKS_N samples in t */
static void lab_ticks_report(int n, const char *what, unsigned long *t)
{
	qsort(t, LAB_TICKS_N, sizeof(t[0]), lab_ticks_cmp);
	printf("ok %d - %s: min %lu median %lu ticks\n", n, what, t[0], t[LAB_TICKS_N / 2]);
	fflush(stdout);
}

#endif

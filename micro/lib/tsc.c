/* SPDX-License-Identifier: MIT */
#include "tsc.h"

#include <time.h>

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + ts.tv_nsec;
}

uint64_t tsc_overhead(void)
{
	uint64_t best = UINT64_MAX;

	for (int i = 0; i < 10000; i++) {
		uint64_t t0 = tsc_begin();
		uint64_t t1 = tsc_end();

		if (t1 - t0 < best)
			best = t1 - t0;
	}
	return best;
}

double tsc_hz(void)
{
	uint64_t n0 = now_ns(), c0 = tsc_end(), n1, c1;

	do
		n1 = now_ns();
	while (n1 - n0 < 50 * 1000 * 1000);
	c1 = tsc_end();
	return (double)(c1 - c0) * 1e9 / (double)(n1 - n0);
}

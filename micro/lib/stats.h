/* SPDX-License-Identifier: MIT */
/* stats.h - order statistics of a sample (pure logic, unit-tested). */
#ifndef MICRO_STATS_H
#define MICRO_STATS_H

#include <stddef.h>

struct stats {
	size_t n;
	double min, max, median, mean;
	double stddev;	/* sample standard deviation (n - 1) */
	double cv;	/* stddev / |mean|; 0 when n < 2; NAN when mean == 0 */
	double q1, q3;	/* quartiles (stats_quantile 0.25, 0.75) */
};

/* Fills *st from v[0..n-1]; v is not modified.  Returns -1 if n == 0. */
int stats_compute(const double *v, size_t n, struct stats *st);
double stats_median(const double *v, size_t n);
/* q-quantile, 0 <= q <= 1, linear between order statistics; NAN if n == 0. */
double stats_quantile(const double *v, size_t n, double q);
double stats_min(const double *v, size_t n);
double stats_max(const double *v, size_t n);
double stats_cv(const double *v, size_t n);

#endif

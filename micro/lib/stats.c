/* SPDX-License-Identifier: MIT */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double stats_min(const double *v, size_t n)
{
	double m = NAN;

	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] < m)
			m = v[i];
	return m;
}

double stats_max(const double *v, size_t n)
{
	double m = NAN;

	for (size_t i = 0; i < n; i++)
		if (i == 0 || v[i] > m)
			m = v[i];
	return m;
}

double stats_quantile(const double *v, size_t n, double q)
{
	double *s, m, pos;
	size_t i;

	if (n == 0 || !(q >= 0 && q <= 1))
		return NAN;
	s = malloc(n * sizeof(*s));
	if (!s)
		return NAN;
	memcpy(s, v, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_double);
	pos = q * (double)(n - 1);	/* linear between order statistics */
	i = (size_t)pos;
	m = i + 1 < n ? s[i] + (pos - (double)i) * (s[i + 1] - s[i]) : s[i];
	free(s);
	return m;
}

double stats_median(const double *v, size_t n)
{
	return stats_quantile(v, n, 0.5);
}

static void mean_sd(const double *v, size_t n, double *mean, double *sd)
{
	double sum = 0, ss = 0;

	for (size_t i = 0; i < n; i++)
		sum += v[i];
	*mean = sum / n;
	for (size_t i = 0; i < n; i++)
		ss += (v[i] - *mean) * (v[i] - *mean);
	*sd = n > 1 ? sqrt(ss / (n - 1)) : 0;
}

double stats_cv(const double *v, size_t n)
{
	double mean, sd;

	if (n == 0)
		return NAN;
	if (n == 1)
		return 0;
	mean_sd(v, n, &mean, &sd);
	return mean == 0 ? NAN : sd / fabs(mean);
}

int stats_compute(const double *v, size_t n, struct stats *st)
{
	if (n == 0)
		return -1;
	st->n = n;
	st->min = stats_min(v, n);
	st->max = stats_max(v, n);
	st->median = stats_median(v, n);
	mean_sd(v, n, &st->mean, &st->stddev);
	st->cv = stats_cv(v, n);
	st->q1 = stats_quantile(v, n, 0.25);
	st->q3 = stats_quantile(v, n, 0.75);
	return 0;
}

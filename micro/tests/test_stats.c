/* SPDX-License-Identifier: MIT */
/* test_stats - unit test of lib/stats.c (built with ASan/UBSan); TAP 13. */
#include <math.h>
#include <stdio.h>

#include "lib/stats.h"

static int nr, failed;

static void ok(int cond, const char *what)
{
	nr++;
	if (!cond)
		failed++;
	printf("%sok %d - %s\n", cond ? "" : "not ", nr, what);
}

static int near(double a, double b)
{
	return fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b) + 1);
}

int main(void)
{
	const double odd[] = { 5, 1, 3 };
	const double even[] = { 4, 1, 3, 2 };
	const double same[] = { 7, 7, 7, 7 };
	const double one[] = { 42 };
	const double zero_mean[] = { -1, 1 };
	const double neg[] = { -3, -1, -2 };
	double big[1001];
	struct stats st;

	printf("TAP version 13\n1..19\n");
	ok(near(stats_median(odd, 3), 3), "median of an odd sample is the middle value");
	ok(odd[0] == 5 && odd[1] == 1, "median leaves its input unsorted");
	ok(near(stats_median(even, 4), 2.5), "median of an even sample averages the middle two");
	ok(stats_min(even, 4) == 1 && stats_max(even, 4) == 4, "min and max");
	ok(near(stats_cv(same, 4), 0), "cv of a constant sample is 0");
	ok(near(stats_cv(one, 1), 0), "cv of one value is 0");
	/* mean 2.5, sample sd sqrt(5/3) */
	ok(near(stats_cv(even, 4), sqrt(5.0 / 3.0) / 2.5), "cv is sample sd / mean");
	ok(isnan(stats_cv(zero_mean, 2)), "cv with a zero mean is NaN, not inf");
	ok(near(stats_cv(neg, 3), 1.0 / 2.0), "cv uses |mean|");
	ok(stats_compute(odd, 0, &st) == -1, "an empty sample is refused");
	ok(isnan(stats_median(odd, 0)) && isnan(stats_min(odd, 0)), "empty: NaN");
	ok(stats_compute(even, 4, &st) == 0 && st.n == 4 && near(st.mean, 2.5) &&
	   near(st.median, 2.5) && st.min == 1 && st.max == 4, "stats_compute fills all fields");
	ok(near(st.stddev, sqrt(5.0 / 3.0)), "stddev is the sample (n-1) one");
	for (int i = 0; i < 1001; i++)
		big[i] = (i * 7919) % 1001;	/* a permutation of 0..1000 */
	ok(near(stats_median(big, 1001), 500), "median of a shuffled 0..1000");
	ok(stats_min(big, 1001) == 0 && stats_max(big, 1001) == 1000, "min/max of 0..1000");
	ok(stats_compute(one, 1, &st) == 0 && st.median == 42 && st.cv == 0, "one value");
	ok(near(stats_quantile(big, 1001, 0.25), 250) && near(stats_quantile(big, 1001, 0.9), 900),
	   "quantiles of 0..1000");
	ok(near(stats_quantile(even, 4, 0.25), 1.75) && stats_quantile(even, 4, 1) == 4 &&
	   stats_quantile(even, 4, 0) == 1, "quantiles interpolate between order statistics");
	ok(isnan(stats_quantile(even, 4, 1.5)) && isnan(stats_quantile(even, 0, 0.5)),
	   "quantile outside [0, 1] or of nothing is NaN");
	printf("# %d of %d failed\n", failed, nr);
	return failed != 0;
}

// SPDX-License-Identifier: MIT
/*
 * ctest.c - the in-test half of ctest.h: reporting from the test process.
 *
 * These run inside the forked test process, possibly in Dune mode, so they
 * only use stdio (which reaches the runner through forwarded write(2)s) and
 * exit(3).  Lines starting "# FAIL " and "# SKIP " are read by the runner.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctest.h"

static int nr_failures;

void ct_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void ct_fail_at(const char *file, int line, int fatal, const char *expr,
		const char *fmt, ...)
{
	va_list ap;

	nr_failures++;
	if (*fmt == '|')
		fmt++;
	printf("# FAIL %s:%d: %s '%s' failed%s", file, line,
	       fatal ? "assertion" : "expectation", expr, *fmt ? ": " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (fatal)
		exit(CT_EXIT_FAIL);
}

void ct_skip(const char *fmt, ...)
{
	va_list ap;

	printf("# SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	exit(CT_EXIT_SKIP);
}

int ct_failures(void)
{
	return nr_failures;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tap.h - minimal TAP 13 output for the ref-module tests.
 *
 *   tap_plan(n);                      "1..n"
 *   tap_check(cond, id, fmt, ...);    "ok N - id" or
 *                                     "not ok N - id # <fmt: expected / got>"
 *   tap_skip(id, fmt, ...);           "ok N - id # SKIP <why>"
 *   return tap_done();                exit status: 0 if nothing failed
 */
#ifndef DUNE_TESTS_TAP_H
#define DUNE_TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_num;
static int tap_failed;

static inline void tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

__attribute__((format(printf, 3, 4)))
static inline int tap_check(int cond, const char *id, const char *fmt, ...)
{
	va_list ap;

	tap_num++;
	if (cond) {
		printf("ok %d - %s\n", tap_num, id);
	} else {
		tap_failed++;
		printf("not ok %d - %s # ", tap_num, id);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
	}
	fflush(stdout);
	return cond;
}

__attribute__((format(printf, 2, 3)))
static inline void tap_skip(const char *id, const char *fmt, ...)
{
	va_list ap;

	tap_num++;
	printf("ok %d - %s # SKIP ", tap_num, id);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

__attribute__((format(printf, 1, 2)))
static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static inline int tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif /* DUNE_TESTS_TAP_H */

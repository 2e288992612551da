/* SPDX-License-Identifier: MIT */
/*
 * gbench.h - a thin C interface to Google Benchmark (libbenchmark-dev).
 *
 * Benchmarks register a C function; it loops while gb_keep_running(),
 * times each iteration itself (manual time) and reports cycles as user
 * counters.  Repetitions, filtering and output formats are Google
 * Benchmark's own flags (--benchmark_repetitions, --benchmark_filter,
 * --benchmark_out=FILE --benchmark_out_format=json, ...).
 */
#ifndef MICRO_GBENCH_H
#define MICRO_GBENCH_H

#ifdef __cplusplus
extern "C" {
#endif

struct gb_state;	/* a benchmark::State */
typedef void (*gb_fn)(struct gb_state *st, void *arg);

/* Register fn(state, arg) under name, timed with manual (wall) time. */
void gb_register(const char *name, gb_fn fn, void *arg);
/* Fixed iteration count for benchmarks registered after this (0: calibrate). */
void gb_set_iterations(long long n);
/* Initialize from argv (consumes --benchmark_* flags); -1 on unknown flags. */
int gb_init(int *argc, char **argv);
/* Run the registered benchmarks; returns how many ran. */
int gb_run(void);

int gb_keep_running(struct gb_state *st);
void gb_set_iteration_time(struct gb_state *st, double seconds);
/* A user counter, reported as is (e.g. "cycles" per op). */
void gb_counter(struct gb_state *st, const char *name, double value);
/* Mark this run as not possible; the message is the reason. */
void gb_skip(struct gb_state *st, const char *why);
int gb_skipped(struct gb_state *st);
const char *gb_version(void);

#ifdef __cplusplus
}
#endif

#endif

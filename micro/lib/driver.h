/* SPDX-License-Identifier: MIT */
#ifndef MICRO_DRIVER_H
#define MICRO_DRIVER_H

#include <stdint.h>

#include "../micro.h"

/* Register every table entry that supports mode with Google Benchmark. */
void micro_register(enum micro_mode mode);
/* Tear down every benchmark that was set up. */
void micro_teardown(void);
uint64_t micro_timer_overhead(void);
/* Did a benchmark's setup fail (MICRO_FAILED)?  micro-bench then exits 1. */
int micro_failed(void);

#endif

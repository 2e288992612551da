/* SPDX-License-Identifier: MIT */
/*
 * tsc.h - cycle timestamps with the original Dune suite's rigor:
 * CPUID (serializing) then RDTSC at the start, RDTSCP at the end, and the
 * minimum (end - start) of an empty interval subtracted.
 *
 * "Cycles" here are TSC cycles (constant rate), which is what the paper and
 * its bench.h reported.  In the VMX lab (Bochs) the TSC advances one tick per
 * emulated step: those numbers are path lengths, reported as unit "ticks".
 */
#ifndef MICRO_TSC_H
#define MICRO_TSC_H

#include <stdint.h>

static inline uint64_t tsc_begin(void)
{
	uint32_t a, d, leaf = 0;

	/* CPUID writes EAX too: tell the compiler (leaf is in and out) */
	asm volatile("cpuid" : "+a"(leaf) : : "rbx", "rcx", "rdx", "memory");
	asm volatile("rdtsc" : "=a"(a), "=d"(d) : : "memory");
	return ((uint64_t)d << 32) | a;
}

static inline uint64_t tsc_end(void)
{
	uint32_t a, d, c;

	asm volatile("rdtscp" : "=a"(a), "=d"(d), "=c"(c) : : "memory");
	return ((uint64_t)d << 32) | a;
}

/* Minimum tsc_end() - tsc_begin() over many empty intervals. */
uint64_t tsc_overhead(void);
/* TSC frequency in Hz, measured against CLOCK_MONOTONIC_RAW. */
double tsc_hz(void);
/* CLOCK_MONOTONIC_RAW in ns. */
uint64_t now_ns(void);

#endif

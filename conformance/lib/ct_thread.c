// SPDX-License-Identifier: MIT
/* ct_thread.c - see ct_thread.h */
#define _GNU_SOURCE
#include "ct_thread.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

int ct_pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

int ct_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

void ct_pin_if_smp(int cpu)
{
	if (ct_ncpus() >= 2)
		(void)ct_pin(cpu);
}

bool ct_wait_ge(const volatile int *v, int want, long ms)
{
	for (long i = 0; i < ms * 100; i++) {
		if (__atomic_load_n(v, __ATOMIC_ACQUIRE) >= want)
			return true;
		usleep(10);
	}
	return __atomic_load_n(v, __ATOMIC_ACQUIRE) >= want;
}

int ct_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const volatile int *state,
		    long ms)
{
	int err = pthread_create(t, NULL, fn, arg);

	if (err)
		return err;
	for (long i = 0; i < ms * 100; i++) {
		if (__atomic_load_n(state, __ATOMIC_ACQUIRE))
			return 0;
		usleep(10);
	}
	return __atomic_load_n(state, __ATOMIC_ACQUIRE) ? 0 : ETIMEDOUT;
}

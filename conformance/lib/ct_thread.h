/* SPDX-License-Identifier: MIT */
/*
 * ct_thread.h - thread helpers the tests with two threads or CPUs share
 * (abi/smp.c, api/smp.c, api/apic.c, api/exitless.c): pinning, the number
 * of CPUs, waiting for a flag another thread sets, starting a thread and
 * waiting until it has reported.  Plain pthreads and sched calls: usable
 * from the abi group (no libdune) and the api group alike.
 */
#ifndef CT_THREAD_H
#define CT_THREAD_H

#include <pthread.h>
#include <stdbool.h>

/* Pin the calling thread to @cpu: 0, or -1 with errno set. */
int ct_pin(int cpu);

/* Pin to @cpu only where there are two CPUs or more (else stay). */
void ct_pin_if_smp(int cpu);

/* CPUs online (at least 1). */
int ct_ncpus(void);

/* Poll *@v every 10 us until it is >= @want: false after about @ms ms. */
bool ct_wait_ge(const volatile int *v, int want, long ms);

/*
 * Start @fn(@arg) in a new thread and wait (up to @ms ms) until it has
 * set *@state non-zero (its report: entered Dune mode, or failed).
 * 0 when it did, else an errno (pthread_create's, or ETIMEDOUT; then the
 * thread is left running).
 */
int ct_thread_start(pthread_t *t, void *(*fn)(void *), void *arg, const volatile int *state,
		    long ms);

#endif

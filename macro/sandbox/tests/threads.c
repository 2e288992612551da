// SPDX-License-Identifier: MIT
/*
 * threads.c - a sandbox test program for threads: pthread_create (clone
 * with CLONE_THREAD, CLONE_SETTLS, CLONE_PARENT_SETTID and
 * CLONE_CHILD_CLEARTID), thread-local variables, a mutex and a condition
 * variable that make the threads wait on each other (futex), pthread_join
 * and return values, a signal a thread sends itself, a signal another
 * thread sends to one that computes (pthread_kill), the FPU state of each
 * thread, and at the end exit() from a thread while the main thread waits
 * for it (exit_group ends them all, with that status).  Everything is
 * printed by the main thread in a fixed order, so the output must be the
 * same natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N	4

static __thread long tls_value = 7;
static __thread volatile int got_signal;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_cv = PTHREAD_COND_INITIALIZER;
static int turn;		/* the thread whose turn it is */
static long shared_sum;
static char result[N][128];

static void on_usr1(int s)
{
	(void)s;
	got_signal++;
}

static void *worker(void *arg)
{
	long id = (long)arg, local = 0;
	volatile double x = 1.0 + (double)id / 4;

	tls_value = 100 * (id + 1);
	/* take turns in order: each waits until the previous one has run */
	pthread_mutex_lock(&lock);
	while (turn != id)
		pthread_cond_wait(&turn_cv, &lock);
	for (long i = 1; i <= 1000 * (id + 1); i++)
		local += i % (id + 3);
	shared_sum += local;
	turn++;
	pthread_cond_broadcast(&turn_cv);
	pthread_mutex_unlock(&lock);
	raise(SIGUSR1);
	snprintf(result[id], sizeof(result[id]), "thread %ld: tls %ld, local %ld, x*x %.4f, signals %d",
		 id, tls_value, local, x * x, got_signal);
	return (void *)(id * 11);
}

static void *spinner(void *arg)
{
	(void)arg;
	while (!got_signal)
		;	/* computing: the signal must interrupt this */
	return (void *)(long)got_signal;
}

static void *exiter(void *arg)
{
	(void)arg;
	printf("exiting from a thread with status 5\n");
	exit(5);
}

int main(void)
{
	pthread_t t[N], e;
	void *ret;

	signal(SIGUSR1, on_usr1);
	for (long i = 0; i < N; i++)
		if (pthread_create(&t[i], NULL, worker, (void *)i)) {
			printf("pthread_create %ld failed\n", i);
			return 1;
		}
	for (int i = 0; i < N; i++) {
		if (pthread_join(t[i], &ret)) {
			printf("pthread_join %d failed\n", i);
			return 1;
		}
		printf("%s, returned %ld\n", result[i], (long)ret);
	}
	printf("main: tls %ld, sum %ld, signals %d\n", tls_value, shared_sum, got_signal);
	/* a second round: threads come and go */
	for (int r = 0; r < 3; r++) {
		turn = 0;
		for (long i = 0; i < N; i++)
			pthread_create(&t[i], NULL, worker, (void *)i);
		for (int i = 0; i < N; i++)
			pthread_join(t[i], NULL);
	}
	printf("after 3 more rounds: sum %ld\n", shared_sum);
	if (pthread_create(&e, NULL, spinner, NULL) || pthread_kill(e, SIGUSR1) || pthread_join(e, &ret)) {
		printf("pthread_kill of a computing thread failed\n");
		return 1;
	}
	printf("a computing thread took %ld signal(s) from main, main %d\n", (long)ret, got_signal);
	fflush(stdout);
	if (pthread_create(&e, NULL, exiter, NULL)) {
		printf("pthread_create failed\n");
		return 1;
	}
	pthread_join(e, NULL);
	printf("not reached\n");
	return 0;
}

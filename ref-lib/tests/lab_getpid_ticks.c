// SPDX-License-Identifier: MIT
/*
 * lab_getpid_ticks - path length of a forwarded getpid (lab ticks = rdtsc
 * in Bochs = emulated instructions).  Prints TAP: one ok line per mode
 * with min and median ticks per call as the description.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#define N 200

static int cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

static void measure(const char *mode, int n)
{
	static unsigned long t[N];
	unsigned long overhead = ~0UL, a, b;
	int i;

	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		b = dune_get_ticks();
		if (b - a < overhead)
			overhead = b - a;
	}
	for (i = 0; i < N; i++) {
		a = dune_get_ticks();
		syscall(SYS_getpid);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	qsort(t, N, sizeof(t[0]), cmp);
	printf("ok %d - getpid %s: min %lu median %lu ticks\n", n, mode, t[0], t[N / 2]);
}

int main(void)
{
	int ret;

	printf("1..2\n");
	measure("linux", 1);
	ret = dune_init_and_enter();
	if (ret) {
		printf("not ok 2 - dune_init_and_enter: %d\n", ret);
		return 1;
	}
	measure(dune_backend_name(), 2);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * lab_getpid_ticks - path length of a forwarded getpid (lab ticks = rdtsc
 * in Bochs = emulated instructions).  Prints TAP: one ok line per mode
 * with min and median ticks per call as the description.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab_ticks.h"

static void measure(const char *mode, int n)
{
	static unsigned long t[LAB_TICKS_N];
	unsigned long overhead = lab_ticks_overhead(), a, b;
	char what[64];
	int i;

	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		syscall(SYS_getpid);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	snprintf(what, sizeof(what), "getpid %s", mode);
	lab_ticks_report(n, what, t);
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

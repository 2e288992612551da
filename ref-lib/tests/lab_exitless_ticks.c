// SPDX-License-Identifier: MIT
/*
 * lab_exitless_ticks - path lengths of forwarded system calls on the exit
 * path and exit-less (docs/api.md, "Exit-less system calls"), in lab
 * ticks: a getpid and a 1-byte write (to /dev/null) in each mode, and the
 * cost per call of dune_syscall_batch() with batches of 1, 8 and 64
 * getpids.  The backend is DUNE_BACKEND's.  Exit-less mode needs a second
 * CPU (the lab's `--cpus 2` boot): with one, its rows SKIP saying so.
 * Prints TAP: one ok line per measurement with min and median ticks.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lab_ticks.h"

static int devnull;

static inline long sys1(long nr, long a0, long a1, long a2)
{
	long ret;
	register long r10 __asm__("r10") = 0;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "0"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
}

static void one(int n, const char *what, long nr, long a0, long a1, long a2)
{
	static unsigned long t[LAB_TICKS_N];
	unsigned long overhead = lab_ticks_overhead(), a, b;
	int i;

	for (i = 0; i < 16; i++)	/* warm: the poller is awake */
		sys1(nr, a0, a1, a2);
	for (i = 0; i < LAB_TICKS_N; i++) {
		a = dune_get_ticks();
		sys1(nr, a0, a1, a2);
		b = dune_get_ticks();
		t[i] = b - a - overhead;
	}
	lab_ticks_report(n, what, t);
}

static void batch(int n, int size)
{
	static unsigned long t[LAB_TICKS_N];
	static struct dune_syscall_req r[64];
	unsigned long overhead = lab_ticks_overhead(), a, b;
	char what[96];
	int i, j;

	for (i = 0; i < 16; i++) {
		for (j = 0; j < size; j++)
			r[j].nr = SYS_getpid;
		dune_syscall_batch(r, size);
	}
	for (i = 0; i < LAB_TICKS_N; i++) {
		for (j = 0; j < size; j++)
			r[j].nr = SYS_getpid;
		a = dune_get_ticks();
		dune_syscall_batch(r, size);
		b = dune_get_ticks();
		t[i] = (b - a - overhead) / (unsigned long)size;
	}
	snprintf(what, sizeof(what), "%s exitless batch of %d getpid, per call",
		 dune_backend_name(), size);
	lab_ticks_report(n, what, t);
}

int main(void)
{
	const char *be;
	char what[96];
	int ret, n = 0;
	bool xl;

	printf("1..7\n");
	devnull = open("/dev/null", O_WRONLY);
	ret = dune_init_and_enter();
	if (ret || devnull < 0) {
		printf("not ok 1 - dune_init_and_enter: %d (or /dev/null)\n", ret);
		return 1;
	}
	be = dune_backend_name();
	dune_syscall_mode(DUNE_SYSCALL_EXIT);
	snprintf(what, sizeof(what), "%s exit getpid", be);
	one(++n, what, SYS_getpid, 0, 0, 0);
	snprintf(what, sizeof(what), "%s exit write 1 byte", be);
	one(++n, what, SYS_write, devnull, (long)"x", 1);

	xl = dune_syscall_mode(DUNE_SYSCALL_EXITLESS) == DUNE_SYSCALL_EXITLESS;
	if (!xl) {
		for (n++; n <= 7; n++)
			printf("ok %d # SKIP exit-less mode fell back to the exit path: one CPU "
			       "(a --cpus 2 lab boot measures it)\n", n);
		return 0;
	}
	snprintf(what, sizeof(what), "%s exitless getpid", be);
	one(++n, what, SYS_getpid, 0, 0, 0);
	snprintf(what, sizeof(what), "%s exitless write 1 byte", be);
	one(++n, what, SYS_write, devnull, (long)"x", 1);
	batch(++n, 1);
	batch(++n, 8);
	batch(++n, 64);
	return 0;
}

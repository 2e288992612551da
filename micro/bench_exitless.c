/* SPDX-License-Identifier: MIT */
/*
 * exitless - forwarded system calls on libdune's exit-less path (a
 * dunebench extension, docs/api.md): a getpid and a 1-byte write to
 * /dev/null handed to the vCPU's host poller thread, and
 * dune_syscall_batch() with batches of 1, 8 and 64 getpids (one op = one
 * batch).  Also write1: the same 1-byte write as a plain system call (the
 * exit path in Dune mode).  Mode dune only; exit-less mode needs a second
 * CPU (the library falls back to the exit path without one: unavailable).
 *
 * Not through <dune/dune.h>: the extension is linked weakly, so that a
 * library without it (`dunebench bench --lab --libdune`) links too; its
 * names and layout are docs/api.md's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define XL_EXIT		0
#define XL_EXITLESS	1

struct dune_syscall_req {
	long nr;
	long args[6];
	long ret;
};

int dune_syscall_mode(int mode) __attribute__((weak));
int dune_syscall_batch(struct dune_syscall_req *reqs, int n) __attribute__((weak));

struct xl_priv {
	int fd;
	int size;			/* batch size */
	struct dune_syscall_req req[64];
};

static int xl_setup_common(enum micro_mode mode, void **priv, char *why, size_t len, int size,
			   int want)
{
	struct xl_priv *p;

	if (mode != MICRO_DUNE) {
		snprintf(why, len, "forwarded system calls from Dune ring 0 only (mode dune)");
		return MICRO_UNAVAILABLE;
	}
	if (want == XL_EXITLESS) {
		if (!dune_syscall_mode || !dune_syscall_batch) {
			snprintf(why, len, "the library has no exit-less system calls "
				 "(dune_syscall_mode, a dunebench extension)");
			return MICRO_UNAVAILABLE;
		}
		if (dune_syscall_mode(XL_EXITLESS) != XL_EXITLESS) {
			snprintf(why, len, "exit-less mode fell back to the exit path: it needs a "
				 "second CPU (the lab's --cpus 2 boot)");
			return MICRO_UNAVAILABLE;
		}
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(why, len, "out of memory");
		return MICRO_FAILED;
	}
	p->fd = open("/dev/null", O_WRONLY);
	if (p->fd < 0) {
		snprintf(why, len, "open /dev/null failed");
		free(p);
		return MICRO_FAILED;
	}
	p->size = size;
	*priv = p;
	return 0;
}

static int write1_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	if (mode == MICRO_DUNE_USER) {
		snprintf(why, len, "modes linux and dune");
		return MICRO_UNAVAILABLE;
	}
	if (mode == MICRO_LINUX)
		mode = MICRO_DUNE;	/* same code, no mode check */
	return xl_setup_common(mode, priv, why, len, 1, XL_EXIT);
}

static int getpid_xl_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return xl_setup_common(mode, priv, why, len, 1, XL_EXITLESS);
}

static int batch1_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return xl_setup_common(mode, priv, why, len, 1, XL_EXITLESS);
}

static int batch8_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return xl_setup_common(mode, priv, why, len, 8, XL_EXITLESS);
}

static int batch64_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	return xl_setup_common(mode, priv, why, len, 64, XL_EXITLESS);
}

static void xl_teardown(void *priv)
{
	struct xl_priv *p = priv;

	close(p->fd);
	free(p);
}

static inline long xl_sys(long nr, long a0, long a1, long a2)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "0"(nr), "D"(a0), "S"(a1), "d"(a2)
		     : "rcx", "r11", "memory");
	return ret;
}

static void getpid_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++)
		xl_sys(SYS_getpid, 0, 0, 0);
}

static void write1_run(void *priv, uint64_t n)
{
	struct xl_priv *p = priv;

	for (uint64_t i = 0; i < n; i++)
		xl_sys(SYS_write, p->fd, (long)"x", 1);
}

static void batch_prepare(void *priv, uint64_t n)
{
	struct xl_priv *p = priv;

	(void)n;
	for (int i = 0; i < p->size; i++)
		p->req[i].nr = SYS_getpid;
}

static void batch_run(void *priv, uint64_t n)
{
	struct xl_priv *p = priv;

	for (uint64_t i = 0; i < n; i++)
		dune_syscall_batch(p->req, p->size);
}

const struct micro_ops micro_write1_ops = {
	.setup = write1_setup, .run = write1_run, .teardown = xl_teardown,
};
const struct micro_ops micro_syscall_xl_ops = {
	.setup = getpid_xl_setup, .run = getpid_run, .teardown = xl_teardown,
};
const struct micro_ops micro_write1_xl_ops = {
	.setup = getpid_xl_setup, .run = write1_run, .teardown = xl_teardown,
};
const struct micro_ops micro_batch1_xl_ops = {
	.setup = batch1_setup, .prepare = batch_prepare, .run = batch_run, .teardown = xl_teardown,
};
const struct micro_ops micro_batch8_xl_ops = {
	.setup = batch8_setup, .prepare = batch_prepare, .run = batch_run, .teardown = xl_teardown,
};
const struct micro_ops micro_batch64_xl_ops = {
	.setup = batch64_setup, .prepare = batch_prepare, .run = batch_run, .teardown = xl_teardown,
};

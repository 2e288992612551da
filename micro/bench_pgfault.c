/* SPDX-License-Identifier: MIT */
/*
 * pgfault - first write to a fresh anonymous page: the kernel's page-fault
 * path, a zeroed page allocated and mapped.  Each batch maps a new region
 * (4 KB pages, MADV_NOHUGEPAGE) untimed, writes one byte per page timed,
 * and unmaps it untimed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "micro.h"

struct pgfault {
	volatile char *mem;
	size_t len;
};

static int pgfault_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	(void)mode;
	*priv = calloc(1, sizeof(struct pgfault));
	if (!*priv) {
		snprintf(why, len, "out of memory");
		return MICRO_FAILED;
	}
	return 0;
}

static void pgfault_prepare(void *priv, uint64_t n)
{
	struct pgfault *p = priv;
	void *m;

	p->len = n * MICRO_PAGE;
	m = mmap(NULL, p->len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m == MAP_FAILED)
		micro_fail("mmap of %zu KB: %s", p->len >> 10, strerror(errno));
	madvise(m, p->len, MADV_NOHUGEPAGE);
	p->mem = m;
}

static void pgfault_run(void *priv, uint64_t n)
{
	struct pgfault *p = priv;

	for (uint64_t i = 0; i < n; i++)
		p->mem[i * MICRO_PAGE] = (char)i;
}

static void pgfault_finish(void *priv, uint64_t n)
{
	struct pgfault *p = priv;

	(void)n;
	munmap((void *)p->mem, p->len);
}

static void pgfault_teardown(void *priv)
{
	free(priv);
}

const struct micro_ops micro_pgfault_ops = {
	.setup = pgfault_setup,
	.prepare = pgfault_prepare,
	.run = pgfault_run,
	.finish = pgfault_finish,
	.teardown = pgfault_teardown,
};

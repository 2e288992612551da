// SPDX-License-Identifier: MIT
/*
 * procmap.c - parse /proc/self/maps.
 *
 * dune_procmap_parse_line() is the parser (unit-tested natively);
 * dune_procmap_iterate() reads the file with raw system calls and a fixed
 * buffer, so it works in host mode and in guest ring 0 alike and never
 * allocates (it may run from a page-fault handler).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *parse_hex(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	int d, n = 0;

	while ((d = hexval(*s)) >= 0) {
		v = (v << 4) | (uint64_t)d;
		s++;
		n++;
	}
	*out = v;
	return n ? s : NULL;
}

static const char *skip_field(const char *s)
{
	while (*s && *s != ' ')
		s++;
	while (*s == ' ')
		s++;
	return s;
}

/*
 * Parse one line of /proc/<pid>/maps (without the newline) into *e.
 * e->path points into @line (empty string for anonymous mappings).
 * Returns 0, or -1 when the line is malformed.
 */
int dune_procmap_parse_line(char *line, struct dune_procmap_entry *e)
{
	const char *s = line;
	uint64_t v;

	memset(e, 0, sizeof(*e));
	s = parse_hex(s, &v);
	if (!s || *s != '-')
		return -1;
	e->begin = v;
	s = parse_hex(s + 1, &v);
	if (!s || *s != ' ' || v < e->begin)
		return -1;
	e->end = v;
	s++;
	if (strlen(s) < 5 || s[4] != ' ')
		return -1;
	if ((s[0] != 'r' && s[0] != '-') || (s[1] != 'w' && s[1] != '-') ||
	    (s[2] != 'x' && s[2] != '-') || (s[3] != 'p' && s[3] != 's'))
		return -1;
	e->r = s[0] == 'r';
	e->w = s[1] == 'w';
	e->x = s[2] == 'x';
	e->p = s[3] == 'p';
	s += 5;
	s = parse_hex(s, &v);
	if (!s || *s != ' ')
		return -1;
	e->offset = v;
	while (*s == ' ')
		s++;
	s = skip_field(s);	/* dev */
	s = skip_field(s);	/* inode */
	e->path = (char *)s;
	{
		/* trailing blanks (anonymous mappings) */
		char *t = e->path + strlen(e->path);

		while (t > e->path && t[-1] == ' ')
			*--t = 0;
	}

	if (!*s)
		e->type = PROCMAP_TYPE_ANONYMOUS;
	else if (!strcmp(s, "[heap]"))
		e->type = PROCMAP_TYPE_HEAP;
	else if (!strncmp(s, "[stack", 6))
		e->type = PROCMAP_TYPE_STACK;
	else if (!strcmp(s, "[vsyscall]"))
		e->type = PROCMAP_TYPE_VSYSCALL;
	else if (!strcmp(s, "[vdso]"))
		e->type = PROCMAP_TYPE_VDSO;
	else if (!strcmp(s, "[vvar]"))
		e->type = PROCMAP_TYPE_VVAR;
	else if (*s == '/')
		e->type = PROCMAP_TYPE_FILE;
	else
		e->type = PROCMAP_TYPE_UNKNOWN;
	return 0;
}

static long rsys(long nr, long a, long b, long c)
{
	return dune_raw_syscall6(nr, a, b, c, 0, 0, 0);
}

/* iterate with a context pointer (internal) */
int dune_procmap_iterate_ctx(const char *path, void (*cb)(const struct dune_procmap_entry *, void *),
			     void *ctx)
{
	char buf[4096 + 512];
	size_t have = 0;
	long fd, n;

	fd = rsys(SYS_open, (long)path, O_RDONLY | O_CLOEXEC, 0);
	if (fd < 0)
		return (int)fd;
	for (;;) {
		char *nl, *line;

		n = rsys(SYS_read, fd, (long)(buf + have), (long)(sizeof(buf) - 1 - have));
		if (n < 0) {
			rsys(SYS_close, fd, 0, 0);
			return (int)n;
		}
		have += (size_t)n;
		buf[have] = 0;
		line = buf;
		while ((nl = strchr(line, '\n'))) {
			struct dune_procmap_entry e;

			*nl = 0;
			if (!dune_procmap_parse_line(line, &e))
				cb(&e, ctx);
			line = nl + 1;
		}
		have = (size_t)(buf + have - line);
		memmove(buf, line, have);
		if (n == 0)
			break;
		if (have >= sizeof(buf) - 1)
			have = 0;	/* absurdly long line: drop it */
	}
	rsys(SYS_close, fd, 0, 0);
	return 0;
}

static void call_plain(const struct dune_procmap_entry *e, void *ctx)
{
	dune_procmap_cb cb;

	memcpy(&cb, &ctx, sizeof(cb));
	cb(e);
}

void dune_procmap_iterate(dune_procmap_cb cb)
{
	void *ctx;

	memcpy(&ctx, &cb, sizeof(cb));
	dune_procmap_iterate_ctx("/proc/self/maps", call_plain, ctx);
}

static const char *type_name(int type)
{
	static const char *const names[] = {
		"unknown", "file", "anonymous", "heap", "stack", "vsyscall", "vdso", "vvar",
	};

	return type >= 0 && type < 8 ? names[type] : "?";
}

static void dump_one(const struct dune_procmap_entry *e)
{
	dune_printf("0x%016lx-0x%016lx %c%c%c%c %08lx %-9s %s\n",
		    (unsigned long)e->begin, (unsigned long)e->end,
		    e->r ? 'R' : '-', e->w ? 'W' : '-', e->x ? 'X' : '-', e->p ? 'P' : 'S',
		    (unsigned long)e->offset, type_name(e->type), e->path);
}

void dune_procmap_dump(void)
{
	dune_printf("--- Process Map Dump ---\n");
	dune_procmap_iterate(dump_one);
}

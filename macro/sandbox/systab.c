// SPDX-License-Identifier: MIT
/*
 * systab.c - what the runtime knows of each system call (argument kinds
 * for the pointer checks and the trace, flags for the policy), and the
 * strace-style trace formatter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>

#include "sandbox.h"

static const struct sb_sysinfo table[SB_NSYS] = {
#include "systab.inc"
};

/* every name the C library knows, for the trace of calls we do not support */
static const char *const names[SB_NSYS] = {
#include "sysnames.h"
};

const struct sb_sysinfo *sb_sys(long nr)
{
	static __thread struct sb_sysinfo unk;

	if (nr >= 0 && nr < SB_NSYS && table[nr].name)
		return &table[nr];
	memset(&unk, 0, sizeof(unk));
	unk.name = nr >= 0 && nr < SB_NSYS && names[nr] ? names[nr] : NULL;
	return &unk;
}

long sb_sys_lookup(const char *name)
{
	long i;

	for (i = 0; i < SB_NSYS; i++)
		if (names[i] && !strcmp(names[i], name))
			return i;
	return -1;
}

struct out {
	char *p;
	size_t n, len;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (o->len >= o->n)
		return;
	va_start(ap, fmt);
	k = vsnprintf(o->p + o->len, o->n - o->len, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->len += (size_t)k < o->n - o->len ? (size_t)k : o->n - o->len - 1;
}

#define TRACE_STR_MAX	32

/* bytes as strace prints them: "..." with C escapes, "..." after the max */
static void put_bytes(struct out *o, const struct sb_mem *mem, uint64_t p, size_t len, bool is_str)
{
	size_t i, show;
	const unsigned char *s = (const unsigned char *)p;

	if (is_str) {
		long l = sb_mem_strlen(mem, p, 4096);

		if (l < 0) {
			put(o, "%#lx", (unsigned long)p);
			return;
		}
		len = (size_t)l;
	} else if (!sb_mem_readable(mem, p, len)) {
		put(o, "%#lx", (unsigned long)p);
		return;
	}
	show = len > TRACE_STR_MAX ? TRACE_STR_MAX : len;
	put(o, "\"");
	for (i = 0; i < show; i++) {
		unsigned char c = s[i];

		switch (c) {
		case '\n': put(o, "\\n"); break;
		case '\t': put(o, "\\t"); break;
		case '\r': put(o, "\\r"); break;
		case '"': put(o, "\\\""); break;
		case '\\': put(o, "\\\\"); break;
		default:
			if (c >= 0x20 && c < 0x7f)
				put(o, "%c", c);
			else
				put(o, "\\%o", c);
		}
	}
	put(o, "\"%s", len > show ? "..." : "");
}

size_t sb_trace_format(char *out, size_t n, const struct sb_mem *mem, long nr,
		       const uint64_t a[6], long ret)
{
	const struct sb_sysinfo *si = sb_sys(nr);
	struct out o = { out, n, 0 };
	int i, nargs = 6;

	if (!n)
		return 0;
	out[0] = 0;
	if (si->name)
		put(&o, "%s(", si->name);
	else
		put(&o, "syscall_%ld(", nr);
	if (si->flags & SBF_SUPPORTED)
		for (nargs = 0; nargs < 6 && si->arg[nargs]; nargs++)
			;
	for (i = 0; i < nargs; i++) {
		int k = si->flags & SBF_SUPPORTED ? si->arg[i] : A_HEX;
		uint64_t v = a[i];

		if (i)
			put(&o, ", ");
		switch (k) {
		case A_INT:
		case A_FD:
			put(&o, "%ld", (long)v);
			break;
		case A_AT:
			if ((int)v == AT_FDCWD)
				put(&o, "AT_FDCWD");
			else
				put(&o, "%d", (int)v);
			break;
		case A_STR:
		case A_STRN:
			if (!v)
				put(&o, "NULL");
			else
				put_bytes(&o, mem, v, 0, true);
			break;
		case A_INBUF:
		case A_INBUFN:
			if (!v)
				put(&o, "NULL");
			else
				put_bytes(&o, mem, v, i < 5 ? a[i + 1] : 0, false);
			break;
		case A_OUTBUF_RET:
			if (ret >= 0 && ret <= (long)(i < 5 ? a[i + 1] : 0) && nr != SYS_getcwd)
				put_bytes(&o, mem, v, (size_t)ret, false);
			else if (ret > 0 && nr == SYS_getcwd)
				put_bytes(&o, mem, v, 0, true);
			else
				put(&o, "%#lx", (unsigned long)v);
			break;
		default:
			if (!v && k != A_HEX)
				put(&o, "NULL");
			else
				put(&o, "%#lx", (unsigned long)v);
		}
	}
	if (ret < 0 && ret >= -4095) {
		const char *en = strerrorname_np((int)-ret);

		put(&o, ") = -1 %s (%s)\n", en ? en : "E?", strerror((int)-ret));
	} else if (nr == SYS_mmap || nr == SYS_brk || nr == SYS_mremap) {
		put(&o, ") = %#lx\n", (unsigned long)ret);
	} else {
		put(&o, ") = %ld\n", ret);
	}
	if (o.len && out[o.len - 1] != '\n') {	/* cut short: end the line anyway */
		out[o.len - 1] = '\n';
	}
	return o.len;
}

size_t sb_trace_note(char *out, size_t n, long nr, const char *note)
{
	const struct sb_sysinfo *si = sb_sys(nr);
	int k;

	if (si->name)
		k = snprintf(out, n, "dune-sandbox: %s: %s\n", si->name, note);
	else
		k = snprintf(out, n, "dune-sandbox: system call %ld: %s\n", nr, note);
	if (k < 0)
		return 0;
	return (size_t)k < n ? (size_t)k : n - 1;
}

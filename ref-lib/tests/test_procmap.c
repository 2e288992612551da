// SPDX-License-Identifier: MIT
/* test_procmap.c - the /proc/self/maps parser (core/procmap.c) */
#include <criterion/criterion.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

int dune_procmap_parse_line(char *line, struct dune_procmap_entry *e);

Test(procmap, file_line)
{
	char l[] = "7f12a0000000-7f12a0021000 r-xp 00002000 08:01 1234  /usr/lib/x86_64-linux-gnu/libc.so.6";
	struct dune_procmap_entry e;

	cr_assert_eq(dune_procmap_parse_line(l, &e), 0);
	cr_expect_eq(e.begin, 0x7f12a0000000UL);
	cr_expect_eq(e.end, 0x7f12a0021000UL);
	cr_expect_eq(e.offset, 0x2000);
	cr_expect(e.r && !e.w && e.x && e.p);
	cr_expect_eq(e.type, PROCMAP_TYPE_FILE);
	cr_expect_str_eq(e.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

Test(procmap, special_lines)
{
	struct {
		const char *line;
		int type;
	} c[] = {
		{ "7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]", PROCMAP_TYPE_STACK },
		{ "7ffc00100000-7ffc00104000 r--p 00000000 00:00 0                          [vvar]", PROCMAP_TYPE_VVAR },
		{ "7ffc00104000-7ffc00106000 r-xp 00000000 00:00 0                          [vdso]", PROCMAP_TYPE_VDSO },
		{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]", PROCMAP_TYPE_VSYSCALL },
		{ "555555559000-55555557a000 rw-p 00000000 00:00 0                          [heap]", PROCMAP_TYPE_HEAP },
		{ "7f0000000000-7f0000001000 rw-s 00000000 00:00 0 ", PROCMAP_TYPE_ANONYMOUS },
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0", PROCMAP_TYPE_ANONYMOUS },
		{ "7f0000000000-7f0000001000 rw-p 00000000 00:00 0    [anon:glibc]", PROCMAP_TYPE_UNKNOWN },
	};
	unsigned i;

	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		char buf[200];
		struct dune_procmap_entry e;

		strcpy(buf, c[i].line);
		cr_assert_eq(dune_procmap_parse_line(buf, &e), 0, "%s", c[i].line);
		cr_expect_eq(e.type, c[i].type, "%s: type %d", c[i].line, e.type);
	}
}

Test(procmap, malformed_lines)
{
	const char *bad[] = {
		"", "xyz", "1000-", "2000-1000 r-xp 0 0:0 0", "1000-2000 rxp 0 00:00 0",
		"1000-2000 r-xq 0 00:00 0", "1000-2000 r-xp", "1000 2000 r-xp 0 00:00 0",
	};
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[100];
		struct dune_procmap_entry e;

		strcpy(buf, bad[i]);
		cr_expect_eq(dune_procmap_parse_line(buf, &e), -1, "'%s' must be rejected", bad[i]);
	}
}

static int seen_stack, seen_self;

static void count(const struct dune_procmap_entry *e)
{
	uintptr_t me = (uintptr_t)&count;

	if (e->type == PROCMAP_TYPE_STACK)
		seen_stack++;
	if (me >= e->begin && me < e->end && e->x)
		seen_self++;
}

Test(procmap, iterate_self)
{
	dune_procmap_iterate(count);
	cr_expect_eq(seen_stack, 1);
	cr_expect_eq(seen_self, 1, "our own code is in an executable mapping");
}

static void dump_maps(void *arg)
{
	(void)arg;
	dune_procmap_dump();
}

Test(procmap, dump_self)
{
	char *out = unit_capture_stdout(dump_maps, NULL);

	cr_expect(!strncmp(out, "--- Process Map Dump ---\n", 25), "header: '%.40s'", out);
	cr_expect(strstr(out, "[stack]") || strstr(out, " stack "), "no stack line in:\n%s", out);
	cr_expect(strstr(out, " R-XP ") != NULL, "no private executable mapping in:\n%s", out);
	free(out);
}

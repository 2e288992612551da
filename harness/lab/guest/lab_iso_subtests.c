// SPDX-License-Identifier: MIT
/*
 * lab_iso_subtests.c - a lab test with sub-tests, as dune-conform --mark-begin
 * runs them, for the lab's isolation self-test (harness/lab/selftest-iso.list):
 * each sub-test is announced with "# begin ID" and reports TAP as it ends.
 *
 *   iso.a  passes
 *   iso.b  hangs the guest kernel (insmod /mod/lab_iso.ko mode=spin)
 *   iso.c  passes: runs only when the lab resumes this test in a fresh boot
 *
 * Sub-tests listed in $LAB_SKIP_FILE (one ID a line: what the lab's earlier
 * boot already ran) are left out, as dune-conform -x leaves them out.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const subs[] = { "iso.a", "iso.b", "iso.c" };
#define NSUBS (sizeof(subs) / sizeof(subs[0]))

static bool skipped(const char *id)
{
	const char *path = getenv("LAB_SKIP_FILE");
	char line[256];
	bool found = false;
	FILE *f;

	if (!path || !*path)
		return false;
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		found = !strcmp(line, id);
	}
	fclose(f);
	return found;
}

int main(void)
{
	bool run[NSUBS];
	size_t n = 0, k = 0;

	for (size_t i = 0; i < NSUBS; i++) {
		run[i] = !skipped(subs[i]);
		n += run[i];
	}
	printf("1..%zu\n", n);
	fflush(stdout);
	for (size_t i = 0; i < NSUBS; i++) {
		int rc = 0;

		if (!run[i])
			continue;
		printf("# begin %s\n", subs[i]);
		fflush(stdout);
		if (!strcmp(subs[i], "iso.b")) {
			usleep(200000);	/* the console shows the marker first */
			rc = system("insmod /mod/lab_iso.ko mode=spin");
		}
		printf("%s %zu - %s%s\n", rc ? "not ok" : "ok", ++k, subs[i],
		       rc ? " # insmod mode=spin returned" : "");
		fflush(stdout);
	}
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * dunebench.c - the `dunebench` command dispatcher.
 *
 * NAME
 *	dunebench - run dunebench's tools
 *
 * SYNOPSIS
 *	dunebench <command> [args...]
 *	dunebench help | --help | -h
 *	dunebench --version
 *
 * DESCRIPTION
 *	Runs one of dunebench's tools: the built-in doctor, or, git-style,
 *	the program dunebench-NAME from the directory holding the dunebench
 *	binary, with the remaining arguments; it replaces this process, so
 *	its exit status is the command's.  The help text (usage() below,
 *	with commands[]) is the one description of the commands: the manual
 *	pages are generated from it and from each command's --help
 *	(man/mkman).
 *
 * EXIT STATUS
 *	The command's; 2 for a bad or unknown command; 127 if dunebench-NAME
 *	exists but cannot be run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"

#ifndef DUNEBENCH_VERSION
#define DUNEBENCH_VERSION "0.0-unknown"
#endif

#define PREFIX "dunebench-"

/*
 * The commands `dunebench --help` lists and describes, in this order; run is
 * NULL for a program dunebench-NAME next to this binary (listed when it is
 * there).  A new command is its program plus one line here: man/mkman makes
 * its manual page from this list and the command's --help.
 */
struct command {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "doctor", "report which backends this host can run, and why not", doctor_main },
	{ "bench", "run the micro-benchmarks, write one results file", NULL },
	{ "macro", "run the macro workloads and lighttpd natively and in the Dune sandbox", NULL },
	{ "conform", "run the conformance suite (TAP, JUnit XML, JSON)", NULL },
	{ "lava-job", "write LAVA job definitions for a lab of bare-metal hosts", NULL },
	{ "lava-collect", "one report from many hosts' results and conformance reports", NULL },
	{ "vmcs", "print a Dune vCPU's VMCS, decoded by field and bit", NULL },
	{ "vmcs-diff", "fields and bits two VMCS snapshots differ in, with meanings", NULL },
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* directory of the running binary, without a trailing slash */
static int self_dir(char *buf, size_t n)
{
	ssize_t len = readlink("/proc/self/exe", buf, n - 1);
	char *slash;

	if (len <= 0)
		return -1;
	buf[len] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static bool runnable(const char *dir, const char *name)
{
	char path[PATH_MAX];

	return (size_t)snprintf(path, sizeof(path), "%s/" PREFIX "%s", dir, name) < sizeof(path) &&
	       access(path, X_OK) == 0;
}

/* the dunebench-* programs next to us that commands[] does not describe, sorted */
static void list_other(FILE *f, const char *dir)
{
	char *names[64];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) || !e->d_name[strlen(PREFIX)] ||
		    find_command(e->d_name + strlen(PREFIX)))
			continue;
		if (faccessat(dirfd(d), e->d_name, X_OK, 0) == 0)
			names[n++] = strdup(e->d_name + strlen(PREFIX));
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (names[i])
			fprintf(f, "  %-14s (%s%s)\n", names[i], PREFIX, names[i]);
		free(names[i]);
	}
}

static void usage(FILE *f)
{
	char dir[PATH_MAX];
	bool have_dir = self_dir(dir, sizeof(dir)) == 0;

	fprintf(f,
		"usage: dunebench <command> [args...]\n"
		"       dunebench --help | --version\n"
		"\n"
		"dunebench measures a Dune implementation (Belay et al., OSDI 2012) and\n"
		"checks it against the original's /dev/dune ABI and libdune API.  Each\n"
		"command below is one tool; `dunebench <command> --help` describes it.\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].run || (have_dir && runnable(dir, commands[i].name)))
			fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
	if (have_dir)
		list_other(f, dir);
	fprintf(f,
		"\n"
		"Any other command NAME runs, git-style, the program dunebench-NAME from\n"
		"the directory of this binary with the remaining arguments (in the source\n"
		"tree: build/bin/, made by make all).\n"
		"\n"
		"Options:\n"
		"  -h, --help   print this help (also: dunebench help)\n"
		"  --version    print the version\n"
		"\n"
		"Exit status: the command's; 2 for a bad or unknown command; 127 if\n"
		"dunebench-NAME exists but cannot be run.\n");
}

/* a command name must not walk out of our directory */
static int valid_name(const char *s)
{
	return s[0] && s[0] != '-' && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int run_external(int argc, char **argv)
{
	char dir[PATH_MAX], path[PATH_MAX];

	(void)argc;
	if (!valid_name(argv[0])) {
		fprintf(stderr, "dunebench: '%s' is not a command (see dunebench --help)\n", argv[0]);
		return 2;
	}
	if (self_dir(dir, sizeof(dir)) < 0) {
		fprintf(stderr, "dunebench: cannot find my own directory: %s\n", strerror(errno));
		return 2;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/" PREFIX "%s", dir, argv[0]) >= sizeof(path)) {
		fprintf(stderr, "dunebench: command name too long\n");
		return 2;
	}
	if (access(path, F_OK) < 0) {
		fprintf(stderr, "dunebench: '%s' is not a dunebench command: no %s\n"
			"See 'dunebench --help'.\n", argv[0], path);
		return 2;
	}
	argv[0] = path;
	execv(path, argv);
	fprintf(stderr, "dunebench: cannot run %s: %s\n", path, strerror(errno));
	return 127;
}

int main(int argc, char **argv)
{
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("dunebench %s\n", DUNEBENCH_VERSION);
		return 0;
	}
	for (size_t i = 0; i < N_COMMANDS; i++)
		if (commands[i].run && !strcmp(cmd, commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return run_external(argc - 1, argv + 1);
}

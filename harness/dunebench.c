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
 *	Built-in commands:
 *	  doctor	report what this host can run and why not
 *			(see `dunebench doctor --help`)
 *
 *	Any other command NAME runs, git-style, the program dunebench-NAME
 *	from the directory holding the dunebench binary, with the remaining
 *	arguments; it replaces this process, so its exit status is the
 *	command's.  `dunebench help` lists the dunebench-* programs found
 *	there.
 *
 * EXIT STATUS
 *	The command's; 2 for a bad or unknown command; 127 if dunebench-NAME
 *	exists but cannot be run.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"

#ifndef DUNEBENCH_VERSION
#define DUNEBENCH_VERSION "0.0-unknown"
#endif

#define PREFIX "dunebench-"

struct builtin {
	const char *name;
	const char *help;
	int (*run)(int argc, char **argv);
};

static const struct builtin builtins[] = {
	{ "doctor", "report what this host can run and why not", doctor_main },
};

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

/* the dunebench-* programs next to us, sorted */
static void list_external(FILE *f, const char *dir)
{
	char *names[64];
	size_t n = 0;
	struct dirent *e;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((e = readdir(d)) && n < sizeof(names) / sizeof(names[0])) {
		if (strncmp(e->d_name, PREFIX, strlen(PREFIX)) || !e->d_name[strlen(PREFIX)])
			continue;
		if (faccessat(dirfd(d), e->d_name, X_OK, 0) == 0)
			names[n++] = strdup(e->d_name + strlen(PREFIX));
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < n; i++) {
		if (names[i])
			fprintf(f, "  %-10s (%s%s)\n", names[i], PREFIX, names[i]);
		free(names[i]);
	}
}

static void usage(FILE *f)
{
	char dir[PATH_MAX];

	fprintf(f,
		"usage: dunebench <command> [args...]\n"
		"       dunebench --version\n"
		"\n"
		"Commands:\n");
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		fprintf(f, "  %-10s %s\n", builtins[i].name, builtins[i].help);
	if (self_dir(dir, sizeof(dir)) == 0)
		list_external(f, dir);
	fprintf(f,
		"\n"
		"Any other command NAME runs dunebench-NAME from the directory of this\n"
		"binary. `dunebench <command> --help` describes a command.\n");
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
	for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (!strcmp(cmd, builtins[i].name))
			return builtins[i].run(argc - 1, argv + 1);
	return run_external(argc - 1, argv + 1);
}

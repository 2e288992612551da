// SPDX-License-Identifier: MIT
/*
 * policy.c - the --policy file.  One rule a line, '#' starts a comment:
 *
 *   allow NAME...            these system calls run (the default)
 *   deny NAME...             these fail with EPERM
 *   kill NAME...             these end the program (exit status 128 + SIGSYS)
 *   default allow|deny|kill  for every system call no other line names
 *   path allow|deny|kill PREFIX
 *                            open, openat, creat, execve and the other calls
 *                            taking a path, on a path starting with PREFIX
 *                            (the longest matching prefix wins)
 *   path default allow|deny|kill
 *   network on|off           socket calls allowed (on, the default) or EPERM
 *
 * Later lines override earlier ones.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

void sb_policy_default(struct sb_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->network = true;
}

static int perr(char *err, size_t errlen, const char *fname, int line, const char *fmt, ...)
{
	va_list ap;
	int k;

	k = snprintf(err, errlen, "%s:%d: ", fname, line);
	if (k < 0 || (size_t)k >= errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -1;
}

static int action_of(const char *w, enum sb_action *a)
{
	if (!strcmp(w, "allow"))
		*a = SB_ALLOW;
	else if (!strcmp(w, "deny"))
		*a = SB_DENY_EPERM;
	else if (!strcmp(w, "kill"))
		*a = SB_DENY_KILL;
	else
		return -1;
	return 0;
}

#define MAXW 64

int sb_policy_parse(struct sb_policy *p, const char *text, const char *fname, char *err,
		    size_t errlen)
{
	int lineno = 0;
	const char *s = text;

	while (*s) {
		char line[1024], *w[MAXW], *c;
		const char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		int nw = 0, i;
		enum sb_action a;

		lineno++;
		if (len >= sizeof(line))
			return perr(err, errlen, fname, lineno, "line longer than %zu characters", sizeof(line) - 1);
		memcpy(line, s, len);
		line[len] = 0;
		s += len + (e ? 1 : 0);
		if ((c = strchr(line, '#')))
			*c = 0;
		for (c = strtok(line, " \t\r"); c; c = strtok(NULL, " \t\r")) {
			if (nw == MAXW)
				return perr(err, errlen, fname, lineno, "more than %d words", MAXW);
			w[nw++] = c;
		}
		if (!nw)
			continue;
		if (!action_of(w[0], &a)) {
			if (nw < 2)
				return perr(err, errlen, fname, lineno, "expected system call names after '%s'", w[0]);
			for (i = 1; i < nw; i++) {
				long nr = sb_sys_lookup(w[i]);

				if (nr < 0)
					return perr(err, errlen, fname, lineno, "unknown system call '%s'", w[i]);
				p->sys[nr] = a;
			}
		} else if (!strcmp(w[0], "default")) {
			if (nw != 2 || action_of(w[1], &a))
				return perr(err, errlen, fname, lineno, "expected 'default allow', 'default deny' or 'default kill'");
			for (i = 0; i < SB_NSYS; i++)
				p->sys[i] = a;
		} else if (!strcmp(w[0], "path")) {
			if (nw == 3 && !strcmp(w[1], "default") && !action_of(w[2], &a)) {
				p->path_default = a;
				continue;
			}
			if (nw != 3 || action_of(w[1], &a))
				return perr(err, errlen, fname, lineno, "expected 'path allow|deny|kill PREFIX' or 'path default allow|deny|kill'");
			if (w[2][0] != '/')
				return perr(err, errlen, fname, lineno, "expected an absolute path prefix, got '%s'", w[2]);
			if (strlen(w[2]) >= sizeof(p->paths[0].prefix))
				return perr(err, errlen, fname, lineno, "path prefix longer than %zu characters", sizeof(p->paths[0].prefix) - 1);
			if (p->npaths == SB_MAX_PATHRULES)
				return perr(err, errlen, fname, lineno, "more than %d path rules", SB_MAX_PATHRULES);
			strcpy(p->paths[p->npaths].prefix, w[2]);
			p->paths[p->npaths].act = a;
			p->npaths++;
		} else if (!strcmp(w[0], "network")) {
			if (nw != 2 || (strcmp(w[1], "on") && strcmp(w[1], "off")))
				return perr(err, errlen, fname, lineno, "expected 'network on' or 'network off'");
			p->network = !strcmp(w[1], "on");
		} else {
			return perr(err, errlen, fname, lineno,
				    "expected allow, deny, kill, default, path or network, got '%s'", w[0]);
		}
	}
	return 0;
}

enum sb_action sb_policy_path(const struct sb_policy *p, const char *path)
{
	size_t best = 0;
	enum sb_action a = p->path_default;
	int i;

	for (i = 0; i < p->npaths; i++) {
		size_t l = strlen(p->paths[i].prefix);

		if (l >= best && !strncmp(path, p->paths[i].prefix, l)) {
			best = l;
			a = p->paths[i].act;
		}
	}
	return a;
}

/* SPDX-License-Identifier: MIT */
/*
 * ptrace - syscall interception round trip, the way strace-like sandboxes
 * do it: a tracer process stops this process at every syscall entry and
 * exit (PTRACE_SYSCALL) and resumes it; we time getpid under it.
 *
 * The tracer is forked at setup and attaches to us with PTRACE_SEIZE; it
 * dies at teardown (SIGKILL), which detaches us.  With the runner's pinning
 * both share one CPU, like the original's measurement on one core.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

struct ptrace_bench {
	pid_t tracer;
};

static void tracer_fail(int fd, const char *what)
{
	char msg[MICRO_WHY_LEN];
	int n = snprintf(msg, sizeof(msg), "%s: %s", what, strerror(errno));

	if (write(fd, msg, n) < 0)
		_exit(1);
	_exit(1);
}

static void __attribute__((noreturn)) tracer_main(pid_t tracee, int fd)
{
	int st;

	if (ptrace(PTRACE_SEIZE, tracee, 0, PTRACE_O_TRACESYSGOOD))
		tracer_fail(fd, "ptrace(PTRACE_SEIZE)");
	if (ptrace(PTRACE_INTERRUPT, tracee, 0, 0))
		tracer_fail(fd, "ptrace(PTRACE_INTERRUPT)");
	if (waitpid(tracee, &st, __WALL) != tracee)
		tracer_fail(fd, "waitpid(tracee)");
	if (ptrace(PTRACE_SYSCALL, tracee, 0, 0))
		tracer_fail(fd, "ptrace(PTRACE_SYSCALL)");
	if (write(fd, "k", 1) != 1)
		_exit(1);
	close(fd);
	for (;;) {
		int sig = 0;

		if (waitpid(tracee, &st, __WALL) != tracee)
			_exit(0);
		if (WIFEXITED(st) || WIFSIGNALED(st))
			_exit(0);
		if (!WIFSTOPPED(st))
			continue;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80) && (st >> 16) == 0)
			sig = WSTOPSIG(st);	/* a real signal: deliver it */
		if (ptrace(PTRACE_SYSCALL, tracee, 0, sig))
			_exit(0);
	}
}

static int ptrace_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	struct ptrace_bench *p;
	int fd[2];
	pid_t me = getpid();
	ssize_t n;
	char buf[MICRO_WHY_LEN];

	if (mode != MICRO_LINUX) {
		snprintf(why, len, "ptrace in mode %s: not written until libdune lands",
			 micro_mode_name(mode));
		return MICRO_UNAVAILABLE;
	}
	p = calloc(1, sizeof(*p));
	if (!p || pipe(fd)) {
		snprintf(why, len, "setup: %s", strerror(errno));
		free(p);
		return MICRO_FAILED;
	}
	prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);	/* Yama, if any */
	fflush(NULL);
	p->tracer = fork();
	if (p->tracer < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		free(p);
		return MICRO_FAILED;
	}
	if (p->tracer == 0) {
		close(fd[0]);
		tracer_main(me, fd[1]);
	}
	close(fd[1]);
	do
		n = read(fd[0], buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd[0]);
	if (n != 1 || buf[0] != 'k') {
		buf[n > 0 ? n : 0] = 0;
		snprintf(why, len, "tracer could not attach: %s", n > 0 ? buf : "tracer died");
		kill(p->tracer, SIGKILL);
		waitpid(p->tracer, NULL, 0);
		free(p);
		/* refused attach: the host's policy (Yama ptrace_scope, seccomp) */
		return n > 0 && !strncmp(buf, "ptrace(PTRACE_SEIZE)", 20) ?
		       MICRO_UNAVAILABLE : MICRO_FAILED;
	}
	*priv = p;
	return 0;
}

static void ptrace_run(void *priv, uint64_t n)
{
	(void)priv;
	for (uint64_t i = 0; i < n; i++) {
		long ret;

		asm volatile("syscall"
			     : "=a"(ret)
			     : "0"((long)SYS_getpid)
			     : "rcx", "r11", "memory");
	}
}

static void ptrace_teardown(void *priv)
{
	struct ptrace_bench *p = priv;

	kill(p->tracer, SIGKILL);
	waitpid(p->tracer, NULL, 0);
	free(p);
}

const struct micro_ops micro_ptrace_ops = {
	.setup = ptrace_setup,
	.run = ptrace_run,
	.teardown = ptrace_teardown,
};

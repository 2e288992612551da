// SPDX-License-Identifier: MIT
/*
 * forkexec.c - a sandbox test program for fork, vfork, execve and wait:
 * a forked child writes to a pipe and exits with a status; a child execs
 * another program (which must be sandboxed too: under dune-sandbox it goes
 * through the loader again); a vfork child execs; an exec of a missing
 * program fails with ENOENT in the child.  The output must be the same
 * natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void report(const char *what, pid_t pid)
{
	int st = 0;

	if (waitpid(pid, &st, 0) != pid)
		printf("%s: waitpid failed: %s\n", what, strerrorname_np(errno));
	else if (WIFEXITED(st))
		printf("%s: exited with %d\n", what, WEXITSTATUS(st));
	else
		printf("%s: killed by signal %d\n", what, WTERMSIG(st));
	fflush(stdout);
}

int main(void)
{
	int p[2];
	pid_t pid;
	char buf[64] = "";

	if (pipe(p))
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dprintf(p[1], "child %s", getpid() != getppid() ? "runs" : "?");
		_exit(5);
	}
	close(p[1]);
	if (read(p[0], buf, sizeof(buf) - 1) < 0)
		buf[0] = 0;
	printf("from the child: '%s'\n", buf);
	report("fork", pid);

	pid = fork();
	if (pid == 0) {
		execl("/bin/sbt-hello-static", "hello-child", "x", (char *)NULL);
		_exit(99);
	}
	report("fork+exec", pid);

	pid = vfork();
	if (pid == 0) {
		execl("/bin/sbt-hello-pie", "hello-vfork", (char *)NULL);
		_exit(98);
	}
	report("vfork+exec", pid);

	pid = fork();
	if (pid == 0) {
		execl("/bin/sbt-does-not-exist", "x", (char *)NULL);
		printf("exec of a missing program: %s\n", strerrorname_np(errno));
		fflush(stdout);
		_exit(97);
	}
	report("missing", pid);
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * sigtest.c - a sandbox test program for signals: handlers run for
 * signals it sends itself (raise, kill), blocked signals wait until
 * unblocked, the handler gets siginfo and a ucontext, the FPU state
 * survives a handler, a SIGSEGV handler recovers with siglongjmp; with
 * 'sigpipe' an ignored SIGPIPE makes write fail with EPIPE, with 'abort'
 * abort() kills with SIGABRT, with 'other' signals sent by another
 * process (a child) run the handlers: one while the program computes, one
 * while it waits in read (SA_RESTART: the read goes on), one it has
 * blocked until it unblocks it.  The output must be the same natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <sys/wait.h>
#include <unistd.h>

static sigjmp_buf jb;
static volatile int got;

static void on_usr1(int s, siginfo_t *si, void *ucp)
{
	ucontext_t *uc = ucp;

	got++;
	printf("handler: signal %d, code %d, from itself %s, rip in ucontext %s, %.3f\n", s, si->si_code,
	       si->si_pid == getpid() ? "yes" : "no", uc->uc_mcontext.gregs[REG_RIP] ? "set" : "zero",
	       got * 0.25);
}

static volatile int got_usr2, got_hup;

static void on_usr2(int s, siginfo_t *si, void *ucp)
{
	(void)ucp;
	got_usr2++;
	printf("SIGUSR2 handler: signal %d, code %d\n", s, si->si_code);
}

static void on_hup(int s)
{
	(void)s;
	got_hup++;
}

/* signals from a child process: the handler runs in the program */
static void from_other(void)
{
	struct sigaction sa;
	sigset_t set;
	int p[2], q[2];
	char c;
	pid_t child, parent = getpid();
	ssize_t r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	signal(SIGHUP, on_hup);
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	if (pipe(p) || pipe(q))
		return;
	fflush(stdout);
	child = fork();
	if (child == 0) {
		/* 1: while the parent computes; 2: while it waits in read;
		 * 3: SIGHUP, blocked there, then a byte to end the read */
		kill(parent, SIGUSR2);
		if (read(p[0], &c, 1) != 1)
			_exit(1);
		usleep(200000);
		kill(parent, SIGUSR2);
		kill(parent, SIGHUP);
		usleep(200000);
		if (write(q[1], "y", 1) != 1)
			_exit(1);
		_exit(0);
	}
	while (!got_usr2)
		;	/* computing: the handler must interrupt this */
	printf("computing: interrupted by the handler %d time(s)\n", got_usr2);
	fflush(stdout);
	if (write(p[1], "x", 1) != 1)
		return;
	close(q[1]);
	/* the child reads "x", then signals, then writes "y" */
	r = read(q[0], &c, 1);
	printf("read: %zd '%c', SIGUSR2 handled %d time(s), SIGHUP %d time(s) while blocked\n", r, r == 1 ? c : '?',
	       got_usr2, got_hup);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("SIGHUP after unblocking: %d\n", got_hup);
	waitpid(child, NULL, 0);
}

static void on_segv(int s, siginfo_t *si, void *ucp)
{
	(void)ucp;
	printf("SIGSEGV handler: signal %d at %p, code %d\n", s, si->si_addr, si->si_code);
	siglongjmp(jb, 1);
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	sigset_t set;
	volatile double x = 1.5;
	int p[2];

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	printf("after raise: %d, x * 2 = %.1f\n", got, x * 2);
	kill(getpid(), SIGUSR1);
	printf("after kill: %d\n", got);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR1);
	printf("blocked: %d\n", got);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	printf("unblocked: %d\n", got);

	sa.sa_sigaction = on_segv;
	sigaction(SIGSEGV, &sa, NULL);
	for (int i = 0; i < 2; i++) {
		if (!sigsetjmp(jb, 1)) {
			volatile int *bad;

			__asm__ volatile("mov $0x10, %0" : "=r"(bad));
			*bad = 1;
		}
		printf("recovered %d\n", i);
	}

	if (argc > 1 && !strcmp(argv[1], "sigpipe")) {
		signal(SIGPIPE, SIG_IGN);
		if (pipe(p) == 0) {
			ssize_t r;

			close(p[0]);
			r = write(p[1], "x", 1);
			printf("write to a closed pipe: %zd %s\n", r, r < 0 ? strerrorname_np(errno) : "");
		}
	}
	if (argc > 1 && !strcmp(argv[1], "other"))
		from_other();
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "abort"))
		abort();
	return 0;
}

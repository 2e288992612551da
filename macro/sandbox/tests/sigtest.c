// SPDX-License-Identifier: MIT
/*
 * sigtest.c - a sandbox test program for signals: handlers run for
 * signals it sends itself (raise, kill), blocked signals wait until
 * unblocked, the handler gets siginfo and a ucontext, the FPU state
 * survives a handler, a SIGSEGV handler recovers with siglongjmp, an
 * ignored SIGPIPE makes write fail with EPIPE, and abort() kills with
 * SIGABRT.  The output must be the same natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
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

	signal(SIGPIPE, SIG_IGN);
	if (pipe(p) == 0) {
		ssize_t r;

		close(p[0]);
		r = write(p[1], "x", 1);
		printf("write to a closed pipe: %zd %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	}
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "abort"))
		abort();
	return 0;
}

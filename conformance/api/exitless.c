// SPDX-License-Identifier: MIT
/*
 * exitless.c - exit-less system calls, a dunebench extension (docs/api.md):
 * dune_syscall_mode() per thread, DUNE_SYSCALL=exitless, dune_syscall_batch().
 *
 * Where a call ran is seen through /proc/thread-self, which names the
 * thread that resolves it: in exit-less mode a host poller thread (not the
 * caller), on the exit path the calling thread itself.  The tests set
 * DUNE_SYSCALL_FORCE=1, so that the pollers run even on a machine with one
 * CPU (the library would fall back to the exit path there).
 */
#include "common.h"
#include "ct_thread.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static long raw_tid(void)
{
	return syscall(SYS_gettid);
}

/* the tid in /proc/thread-self (resolved by whichever thread runs readlink) */
static long thread_self_tid(void)
{
	char buf[64];
	ssize_t n = readlink("/proc/thread-self", buf, sizeof(buf) - 1);
	char *t;

	if (n <= 0)
		return -1;
	buf[n] = 0;
	t = strstr(buf, "/task/");
	return t ? strtol(t + 6, NULL, 10) : -1;
}

/* dune_init + dune_enter with the pollers allowed on one CPU, in exit-less mode */
static void enter_exitless(void)
{
	NEED_EXT(dune_syscall_mode);
	setenv("DUNE_SYSCALL_FORCE", "1", 1);
	ENTER();
	CT_ASSERT_EQ(dune_syscall_mode(DUNE_SYSCALL_EXITLESS), DUNE_SYSCALL_EXITLESS);
}

CTEST(exitless_mode,
      .id = "api.exitless.mode",
      .profile = "core",
      .what = "dune_syscall_mode switches a thread between exit-less calls (run by another host thread) and the exit path, and refuses a bad mode",
      .needs = "dune",
      .timeout = 60)
{
	long tid;
	int p[2];
	char c = 0;
	pid_t pid = getpid();

	NEED_EXT(dune_syscall_mode);
	CT_EXPECT_EQ(dune_syscall_mode(2), -EINVAL);
	CT_EXPECT_EQ(dune_syscall_mode(-2), -EINVAL);
	enter_exitless();
	tid = raw_tid();
	CT_EXPECT_EQ(dune_syscall_mode(DUNE_SYSCALL_QUERY), DUNE_SYSCALL_EXITLESS);
	CT_EXPECT_EQ(dune_syscall_mode(7), -EINVAL);
	CT_EXPECT_EQ(dune_syscall_mode(DUNE_SYSCALL_QUERY), DUNE_SYSCALL_EXITLESS);
	CT_EXPECT_EQ(getpid(), pid);
	CT_EXPECT(thread_self_tid() > 0 && thread_self_tid() != tid,
		  "exit-less: /proc/thread-self names %ld, the caller is %ld (expected another thread)",
		  thread_self_tid(), tid);
	CT_ASSERT_EQ(pipe(p), 0);
	CT_EXPECT_EQ(write(p[1], "x", 1), 1);
	CT_EXPECT_EQ(read(p[0], &c, 1), 1);
	CT_EXPECT_EQ(c, 'x');

	CT_EXPECT_EQ(dune_syscall_mode(DUNE_SYSCALL_EXIT), DUNE_SYSCALL_EXIT);
	CT_EXPECT_EQ(dune_syscall_mode(DUNE_SYSCALL_QUERY), DUNE_SYSCALL_EXIT);
	CT_EXPECT_EQ(thread_self_tid(), tid);
	CT_EXPECT_EQ(dune_syscall_mode(DUNE_SYSCALL_EXITLESS), DUNE_SYSCALL_EXITLESS);
	CT_EXPECT(thread_self_tid() != tid, "exit-less again: /proc/thread-self names the caller");
	CT_EXPECT_EQ(write(p[1], "y", 1), 1);
	CT_EXPECT_EQ(read(p[0], &c, 1), 1);
	CT_EXPECT_EQ(c, 'y');
}

static volatile int usr_hits;

static void usr_handler(int sig)
{
	(void)sig;
	usr_hits++;
}

CTEST(exitless_thread_calls,
      .id = "api.exitless.thread_calls",
      .profile = "core",
      .what = "in exit-less mode the calls of the thread itself (gettid, signals, memory) take the exit path and act on the caller",
      .needs = "dune",
      .timeout = 60)
{
	long tid_host = raw_tid();
	struct sigaction sa;
	sigset_t set, old;
	char *m;

	NEED_EXT(dune_syscall_exitless);
	enter_exitless();
	CT_EXPECT(!dune_syscall_exitless(SYS_gettid), "gettid is exit-less");
	CT_EXPECT(!dune_syscall_exitless(SYS_mmap), "mmap is exit-less");
	CT_EXPECT(!dune_syscall_exitless(SYS_rt_sigprocmask), "rt_sigprocmask is exit-less");
	CT_EXPECT(dune_syscall_exitless(SYS_getpid), "getpid is not exit-less");
	CT_EXPECT(dune_syscall_exitless(SYS_write), "write is not exit-less");
	CT_EXPECT_EQ(raw_tid(), tid_host);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = usr_handler;
	CT_ASSERT_EQ(sigaction(SIGUSR1, &sa, NULL), 0);
	raise(SIGUSR1);
	CT_EXPECT_EQ(usr_hits, 1);
	/* the mask is the caller's */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	CT_ASSERT_EQ(sigprocmask(SIG_BLOCK, &set, &old), 0);
	raise(SIGUSR1);
	CT_EXPECT_EQ(usr_hits, 1);
	CT_ASSERT_EQ(sigprocmask(SIG_SETMASK, &old, NULL), 0);
	CT_EXPECT_EQ(usr_hits, 2);

	m = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(m != MAP_FAILED, "mmap: %s", strerror(errno));
	m[0] = 1;
	m[2 * 4096] = 2;
	CT_EXPECT_EQ(m[0] + m[2 * 4096], 3);
	CT_EXPECT_EQ(munmap(m, 3 * 4096), 0);
}

static int block_pipe[2];
static volatile int blocker_state;	/* 1: about to read, 2: read returned */
static volatile long blocker_got;

static void *blocker(void *arg)
{
	char c = 0;

	(void)arg;
	if (dune_enter() != 0) {
		blocker_state = -1;
		return NULL;
	}
	dune_syscall_mode(DUNE_SYSCALL_EXITLESS);
	blocker_state = 1;
	blocker_got = read(block_pipe[0], &c, 1) == 1 ? c : -1;
	blocker_state = 2;
	return NULL;
}

CTEST(exitless_blocking,
      .id = "api.exitless.blocking",
      .profile = "threads",
      .what = "in exit-less mode a read blocked on an empty pipe in one vCPU does not stall the calls of another",
      .needs = "dune",
      .timeout = 120)
{
	pthread_t th;
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };
	int p[2], i;
	char c;

	enter_exitless();
	CT_ASSERT_EQ(pipe(block_pipe), 0);
	CT_ASSERT_EQ(pipe(p), 0);
	CT_ASSERT_EQ(ct_thread_start(&th, blocker, NULL, &blocker_state, 60000), 0);
	CT_ASSERT(blocker_state == 1, "the second thread could not enter Dune mode");
	nanosleep(&ts, NULL);	/* let it reach its read */
	for (i = 0; i < 200; i++) {
		CT_ASSERT_EQ(getpid(), getpid());
		CT_ASSERT_EQ(write(p[1], "z", 1), 1);
		CT_ASSERT_EQ(read(p[0], &c, 1), 1);
	}
	CT_EXPECT_EQ(blocker_state, 1);
	CT_ASSERT_EQ(write(block_pipe[1], "q", 1), 1);
	CT_ASSERT_EQ(pthread_join(th, NULL), 0);
	CT_EXPECT_EQ(blocker_state, 2);
	CT_EXPECT_EQ(blocker_got, 'q');
}

static int restart_pipe[2];
static volatile int alarm_hits;

static void alarm_writes(int sig)
{
	(void)sig;
	alarm_hits++;
	if (write(restart_pipe[1], "r", 1) != 1)
		alarm_hits = -100;
}

static void alarm_only(int sig)
{
	(void)sig;
	alarm_hits++;
}

static void arm_timer(void)
{
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

CTEST(exitless_signal_restart,
      .id = "api.exitless.signal_restart",
      .profile = "signals",
      .what = "in exit-less mode a blocking read interrupted by a signal is restarted with SA_RESTART and fails with EINTR without it",
      .needs = "dune",
      .timeout = 60)
{
	struct sigaction sa;
	char c = 0;
	ssize_t n;

	enter_exitless();
	CT_ASSERT_EQ(pipe(restart_pipe), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_writes;
	sa.sa_flags = SA_RESTART;
	CT_ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	arm_timer();
	n = read(restart_pipe[0], &c, 1);
	CT_EXPECT_EQ(n, 1);
	CT_EXPECT_EQ(c, 'r');
	CT_EXPECT_EQ(alarm_hits, 1);

	sa.sa_handler = alarm_only;
	sa.sa_flags = 0;
	CT_ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	arm_timer();
	errno = 0;
	n = read(restart_pipe[0], &c, 1);
	CT_EXPECT_EQ(n, -1);
	CT_EXPECT_EQ(errno, EINTR);
	CT_EXPECT_EQ(alarm_hits, 2);
	/* the slot is free again: calls go on */
	CT_EXPECT_EQ(write(restart_pipe[1], "s", 1), 1);
	CT_EXPECT_EQ(read(restart_pipe[0], &c, 1), 1);
	CT_EXPECT_EQ(c, 's');
}

static void *exiting_thread(void *arg)
{
	(void)arg;
	if (dune_enter() != 0)
		return (void *)1;
	dune_syscall_mode(DUNE_SYSCALL_EXITLESS);
	(void)getppid();
	pthread_exit((void *)42);
}

CTEST(exitless_exit,
      .id = "api.exitless.exit",
      .profile = "threads",
      .what = "in exit-less mode a thread's exit ends only it and exit ends the process with its status (DUNE_SYSCALL=exitless)",
      .needs = "dune",
      .timeout = 120)
{
	pid_t pid;
	int st = 0, i;

	NEED_EXT(dune_syscall_mode);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		pthread_t th;
		void *ret = NULL;

		setenv("DUNE_SYSCALL", "exitless", 1);
		setenv("DUNE_SYSCALL_FORCE", "1", 1);
		if (dune_init_and_enter() != 0)
			_exit(90);
		if (dune_syscall_mode(DUNE_SYSCALL_QUERY) != DUNE_SYSCALL_EXITLESS)
			_exit(91);
		/* threads come and go; their pollers serve the next ones */
		for (i = 0; i < 6; i++) {
			if (pthread_create(&th, NULL, exiting_thread, NULL) ||
			    pthread_join(th, &ret) || ret != (void *)42)
				_exit(92);
		}
		if (thread_self_tid() == raw_tid())
			_exit(93);
		exit(7);
	}
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "the child ended with status %#x (expected exit 7; 90: dune_init_and_enter, "
		  "91: not exit-less, 92: a thread, 93: exit path)", st);

	/* an invalid DUNE_SYSCALL is refused by dune_init */
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0)
			dup2(fd, 2);
		setenv("DUNE_SYSCALL", "sometimes", 1);
		_exit(dune_init(true) == -EINVAL ? 0 : 1);
	}
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "dune_init with DUNE_SYSCALL=sometimes did not fail with -EINVAL (status %#x)", st);
}

CTEST(exitless_batch,
      .id = "api.exitless.batch",
      .profile = "core",
      .what = "dune_syscall_batch makes each call in order and returns each result, exit-less or not, and refuses bad arguments",
      .needs = "dune",
      .timeout = 60)
{
	struct dune_syscall_req r[10], big[64];
	int p[2], i, round;
	char buf[4] = { 0 };
	long tid_host = raw_tid();
	char link[64];

	NEED_EXT(dune_syscall_batch);
	CT_EXPECT_EQ(dune_syscall_batch(NULL, 1), -EINVAL);
	CT_EXPECT_EQ(dune_syscall_batch(r, -1), -EINVAL);
	CT_EXPECT_EQ(dune_syscall_batch(r, DUNE_SYSCALL_BATCH_MAX + 1), -EINVAL);
	CT_EXPECT_EQ(dune_syscall_batch(NULL, 0), 0);
	enter_exitless();
	CT_ASSERT_EQ(pipe(p), 0);
	/* round 0 exit-less, round 1 on the exit path */
	for (round = 0; round < 2; round++) {
		memset(r, 0, sizeof(r));
		memset(buf, 0, sizeof(buf));
		memset(link, 0, sizeof(link));
		r[0].nr = SYS_getpid;
		r[1].nr = SYS_write;
		r[1].args[0] = p[1];
		r[1].args[1] = (long)"ab";
		r[1].args[2] = 2;
		r[2].nr = SYS_read;
		r[2].args[0] = p[0];
		r[2].args[1] = (long)buf;
		r[2].args[2] = 2;
		r[3].nr = SYS_gettid;
		r[4].nr = SYS_close;
		r[4].args[0] = -1;
		r[5].nr = 400;		/* no such call (x86-64 has none from 335 to 423) */
		r[6].nr = SYS_readlink;
		r[6].args[0] = (long)"/proc/thread-self";
		r[6].args[1] = (long)link;
		r[6].args[2] = sizeof(link) - 1;
		r[7].nr = SYS_getppid;
		r[8].nr = SYS_write;
		r[8].args[0] = p[1];
		r[8].args[1] = (long)"c";
		r[8].args[2] = 1;
		r[9].nr = 100000;	/* past every table: the exit path's answer */
		CT_ASSERT_EQ(dune_syscall_batch(r, 10), 0);
		CT_EXPECT_EQ(r[0].ret, getpid());
		CT_EXPECT_EQ(r[1].ret, 2);
		CT_EXPECT_EQ(r[2].ret, 2);
		CT_EXPECT(!memcmp(buf, "ab", 2), "read back '%.2s', wrote 'ab'", buf);
		CT_EXPECT_EQ(r[3].ret, tid_host);
		CT_EXPECT_EQ(r[4].ret, -EBADF);
		CT_EXPECT_EQ(r[5].ret, -ENOSYS);
		CT_EXPECT(r[6].ret > 0, "readlink /proc/thread-self: %ld", r[6].ret);
		{
			char *t = strstr(link, "/task/");
			long tid = t ? strtol(t + 6, NULL, 10) : -1;

			if (round == 0)
				CT_EXPECT(tid != tid_host, "exit-less batch ran in the caller (%s)", link);
			else
				CT_EXPECT_EQ(tid, tid_host);
		}
		CT_EXPECT_EQ(r[7].ret, getppid());
		CT_EXPECT_EQ(r[8].ret, 1);
		errno = 0;
		CT_EXPECT_EQ(r[9].ret, syscall(100000) == -1 ? -errno : 1);
		CT_EXPECT_EQ(read(p[0], buf, 1), 1);
		CT_EXPECT_EQ(buf[0], 'c');
		dune_syscall_mode(DUNE_SYSCALL_EXIT);
	}
	dune_syscall_mode(DUNE_SYSCALL_EXITLESS);
	for (i = 0; i < 64; i++) {
		memset(&big[i], 0, sizeof(big[i]));
		big[i].nr = (i & 1) ? SYS_getpid : SYS_close;
		big[i].args[0] = -1 - i;
		big[i].ret = 12345;
	}
	CT_ASSERT_EQ(dune_syscall_batch(big, 64), 0);
	for (i = 0; i < 64; i++)
		CT_EXPECT_EQ(big[i].ret, (i & 1) ? getpid() : -EBADF);
}

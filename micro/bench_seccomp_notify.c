/* SPDX-License-Identifier: MIT */
/*
 * seccomp-notify - syscall interception by seccomp user notification
 * (SECCOMP_RET_USER_NOTIF), the modern alternative to ptrace: getpid with a
 * magic first argument is sent to a supervisor thread, which answers it
 * (returns our pid) through the listener fd.
 *
 * The filter only catches getpid(SECCOMP_BENCH_MAGIC) and only in the
 * thread that installed it (no TSYNC; the supervisor is created first), so
 * the rest of the process is unaffected.  A filter cannot be removed: the
 * runner runs each benchmark in its own process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "micro.h"

#define SECCOMP_BENCH_MAGIC	0xd00eUL
#define SECCOMP_BENCH_STOP	0x570bUL	/* second argument: the last call */

struct seccomp_bench {
	pthread_t thread;
	int listener;
	int pipe[2];		/* hands the listener fd to the supervisor */
	pid_t pid;
	volatile int dead;	/* the supervisor stopped answering */
};

static long magic_getpid2(unsigned long arg1)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "0"((long)SYS_getpid), "D"(SECCOMP_BENCH_MAGIC), "S"(arg1)
		     : "rcx", "r11", "memory");
	return ret;
}

static long magic_getpid(void)
{
	return magic_getpid2(0);
}

static void *supervisor(void *arg)
{
	struct seccomp_bench *s = arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int fd;

	if (read(s->pipe[0], &fd, sizeof(fd)) != sizeof(fd) || fd < 0)
		return NULL;
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR)
				continue;
			/* gone: callers get ENOSYS, not a hang */
			s->dead = 1;
			close(fd);
			return NULL;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		resp.val = s->pid;
		ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
		if (req.data.args[1] == SECCOMP_BENCH_STOP)
			return NULL;
	}
}

static int seccomp_notify_setup(enum micro_mode mode, void **priv, char *why, size_t len)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getpid, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SECCOMP_BENCH_MAGIC, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = {
		.len = sizeof(filter) / sizeof(filter[0]),
		.filter = filter,
	};
	struct seccomp_bench *s;
	int fd = -1, err, ret = MICRO_FAILED;

	if (mode != MICRO_LINUX) {
		snprintf(why, len, "seccomp user notification is a Linux-mode mechanism");
		return MICRO_UNAVAILABLE;
	}
	s = calloc(1, sizeof(*s));
	if (!s || pipe(s->pipe)) {
		snprintf(why, len, "setup: %s", strerror(errno));
		free(s);
		return MICRO_FAILED;
	}
	s->pid = getpid();
	err = pthread_create(&s->thread, NULL, supervisor, s);
	if (err) {
		snprintf(why, len, "pthread_create: %s", strerror(err));
		goto fail_pipe;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0)
		fd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			     SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (fd < 0) {
		/* a kernel without it, or a sandbox that forbids filters */
		snprintf(why, len, "seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s",
			 strerror(errno));
		ret = MICRO_UNAVAILABLE;
		if (write(s->pipe[1], &fd, sizeof(fd)) != sizeof(fd))
			abort();
		pthread_join(s->thread, NULL);
		goto fail_pipe;
	}
	s->listener = fd;
	if (write(s->pipe[1], &fd, sizeof(fd)) != sizeof(fd))
		abort();
	if (magic_getpid() != s->pid) {
		snprintf(why, len, "no answer from the seccomp supervisor thread");
		goto fail_pipe;	/* the thread is left blocked; the process ends soon */
	}
	*priv = s;
	return 0;
fail_pipe:
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
	return ret;
}

static void seccomp_notify_run(void *priv, uint64_t n)
{
	struct seccomp_bench *s = priv;
	long bad = 0;

	for (uint64_t i = 0; i < n; i++)
		bad |= magic_getpid() ^ s->pid;
	if (bad)
		micro_fail("no answer from the seccomp supervisor (getpid returned another value)");
}

static void seccomp_notify_teardown(void *priv)
{
	struct seccomp_bench *s = priv;

	magic_getpid2(SECCOMP_BENCH_STOP);	/* the last one it answers */
	pthread_join(s->thread, NULL);
	if (!s->dead)
		close(s->listener);
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
}

const struct micro_ops micro_seccomp_notify_ops = {
	.setup = seccomp_notify_setup,
	.run = seccomp_notify_run,
	.teardown = seccomp_notify_teardown,
};

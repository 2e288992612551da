/* SPDX-License-Identifier: MIT */
/*
 * syscall-path - the path length of one intercepted system call, for the
 * VMX lab: ticks (the TSC) per getpid and per 1-byte read of /dev/zero.
 *
 *   syscall-path plain     the calls as they are: Linux natively, or the
 *                          Dune sandbox's path when run under dune-sandbox
 *   syscall-path seccomp   the same calls intercepted natively by a seccomp
 *                          user-notification supervisor thread: getpid is
 *                          answered by it (micro/bench_seccomp_notify.c's
 *                          benchmark, reused as it is), the read is checked
 *                          and let through (SECCOMP_USER_NOTIF_FLAG_CONTINUE)
 *
 * Prints one line per call kind: "NAME MODE TICKS-PER-CALL (min of BATCHES
 * batches of N calls)".  A seccomp filter cannot be removed and a thread may
 * hold only one listener, so each seccomp measurement runs in a child.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "micro.h"

#define BATCHES	5

extern const struct micro_ops micro_seccomp_notify_ops;

/* what micro/'s benchmarks call on a broken invariant */
void micro_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "syscall-path: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static inline uint64_t ticks(void)
{
	uint32_t lo, hi;

	asm volatile("lfence; rdtsc; lfence" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

static long raw_getpid(void)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "0"((long)SYS_getpid) : "rcx", "r11", "memory");
	return ret;
}

static long raw_read(int fd, void *buf, long len)
{
	long ret;

	asm volatile("syscall" : "=a"(ret) : "0"((long)SYS_read), "D"((long)fd), "S"(buf), "d"(len)
		     : "rcx", "r11", "memory");
	return ret;
}

/* min over BATCHES of (ticks of n calls of fn) / n */
static double measure(void (*fn)(void *, uint64_t), void *arg, uint64_t n)
{
	double best = 0;

	fn(arg, n / 10 + 1);	/* warm up */
	for (int b = 0; b < BATCHES; b++) {
		uint64_t t0 = ticks();

		fn(arg, n);
		double per = (double)(ticks() - t0) / n;

		if (b == 0 || per < best)
			best = per;
	}
	return best;
}

static void getpid_n(void *arg, uint64_t n)
{
	pid_t want = *(pid_t *)arg;

	for (uint64_t i = 0; i < n; i++)
		if (raw_getpid() != want)
			micro_fail("getpid returned another pid");
}

static void read_n(void *arg, uint64_t n)
{
	int fd = *(int *)arg;
	char c = 1;

	for (uint64_t i = 0; i < n; i++)
		if (raw_read(fd, &c, 1) != 1 || c != 0)
			micro_fail("read of 1 byte from /dev/zero failed");
}

static int zero_fd(void)
{
	int fd = open("/dev/zero", O_RDONLY);

	if (fd < 0)
		micro_fail("open /dev/zero: %s", strerror(errno));
	return fd;
}

/* ------------------------------------------------ seccomp: the read */

struct read_sup {
	int pipe[2];
	int fd;
};

static void *read_supervisor(void *arg)
{
	struct read_sup *s = arg;
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;
	int lfd;

	if (read(s->pipe[0], &lfd, sizeof(lfd)) != sizeof(lfd) || lfd < 0)
		return NULL;
	for (;;) {
		memset(&req, 0, sizeof(req));
		if (ioctl(lfd, SECCOMP_IOCTL_NOTIF_RECV, &req)) {
			if (errno == EINTR)
				continue;
			return NULL;
		}
		memset(&resp, 0, sizeof(resp));
		resp.id = req.id;
		/* the check a sandbox makes: the fd and a 1-byte length */
		if ((int)req.data.args[0] == s->fd && req.data.args[2] == 1) {
			resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
		} else {
			resp.error = -EPERM;
		}
		ioctl(lfd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
	}
}

static double seccomp_read(uint64_t n)
{
	static struct read_sup s;
	pthread_t t;
	int lfd;

	s.fd = zero_fd();
	if (pipe(s.pipe) || pthread_create(&t, NULL, read_supervisor, &s))
		micro_fail("setup: %s", strerror(errno));
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_read, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)s.fd, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
	};
	struct sock_fprog prog = { .len = sizeof(filter) / sizeof(filter[0]), .filter = filter };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		micro_fail("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	lfd = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
	if (lfd < 0)
		micro_fail("seccomp(SECCOMP_FILTER_FLAG_NEW_LISTENER): %s", strerror(errno));
	if (write(s.pipe[1], &lfd, sizeof(lfd)) != sizeof(lfd))
		micro_fail("pipe: %s", strerror(errno));
	return measure(read_n, &s.fd, n);
}

static double seccomp_getpid(uint64_t n)
{
	char why[MICRO_WHY_LEN] = "";
	void *priv = NULL;

	if (micro_seccomp_notify_ops.setup(MICRO_LINUX, &priv, why, sizeof(why)))
		micro_fail("seccomp-notify setup: %s", why);
	/* the benchmark's own loop: getpid(magic), answered by its supervisor */
	return measure(micro_seccomp_notify_ops.run, priv, n);
}

/* run fn in a child (its filter stays there); its result through a pipe */
static double in_child(double (*fn)(uint64_t), uint64_t n)
{
	int p[2], st;
	double v = -1;
	pid_t pid;

	if (pipe(p))
		micro_fail("pipe: %s", strerror(errno));
	pid = fork();
	if (pid == 0) {
		v = fn(n);
		if (write(p[1], &v, sizeof(v)) != sizeof(v))
			_exit(1);
		_exit(0);	/* the supervisor threads die with the child */
	}
	close(p[1]);
	if (pid < 0 || read(p[0], &v, sizeof(v)) != sizeof(v))
		v = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &st, 0);
	return v;
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	pid_t me = getpid();
	int fd;

	if (argc < 2 || argc > 3 || (strcmp(argv[1], "plain") && strcmp(argv[1], "seccomp")) ||
	    (argc == 3 && (n < 1 || n > 100000000))) {
		fprintf(stderr, "usage: syscall-path plain|seccomp [CALLS-PER-BATCH]\n");
		return 2;
	}
	if (!strcmp(argv[1], "plain")) {
		n = n ? n : 2000;
		fd = zero_fd();
		printf("getpid plain %.0f (min of %d batches of %llu calls)\n",
		       measure(getpid_n, &me, n), BATCHES, (unsigned long long)n);
		printf("read1 plain %.0f (min of %d batches of %llu calls)\n",
		       measure(read_n, &fd, n), BATCHES, (unsigned long long)n);
	} else {
		n = n ? n : 300;
		double g = in_child(seccomp_getpid, n), r = in_child(seccomp_read, n);

		if (g < 0 || r < 0) {
			fprintf(stderr, "syscall-path: a seccomp measurement failed\n");
			return 1;
		}
		printf("getpid seccomp %.0f (min of %d batches of %llu calls)\n", g, BATCHES,
		       (unsigned long long)n);
		printf("read1 seccomp %.0f (min of %d batches of %llu calls)\n", r, BATCHES,
		       (unsigned long long)n);
	}
	return 0;
}

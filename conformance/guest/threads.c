// SPDX-License-Identifier: MIT
/*
 * threads.c - what a thread or a forked child leaves behind in Dune mode:
 * a thread's per-CPU area, stacks and vCPU go when it exits, a forked
 * child holds none of its parent's, and a child made by the raw fork
 * system call (no atfork handlers) can enter Dune mode too.
 *
 * Measured through public views only: /proc/self/statm (address-space
 * size), /proc/self/maps (mappings) and, where debugfs shows them, the
 * vCPUs of this process: the <pid>.* entries of /sys/kernel/debug/dune/vcpus
 * (a Dune module's live vCPUs) and the vcpu* entries of
 * /sys/kernel/debug/kvm/<pid>-<fd> (the vCPUs KVM created in this process's
 * VMs; KVM frees them only with the VM).  Neither the ABI nor the API
 * counts vCPUs: where no view exists, a test that needs one SKIPs saying
 * so (never a pass with its vCPU part unchecked).
 */
#include "../api/common.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH	4	/* threads alive at once */
#define WARMUP	2	/* batches before the first measurement */
#define ROUNDS	16	/* measured batches: 64 threads */

struct usage {
	long vm_pages;		/* statm: size */
	long maps;		/* lines of /proc/self/maps */
	long dune_vcpus;	/* -1: no view */
	long kvm_vcpus;		/* -1: no view */
};

static char text_buf[1 << 16];

/* read a small /proc file into text_buf (NUL-terminated); bytes or -1 */
static long read_text(const char *path)
{
	long n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (n < (long)sizeof(text_buf) - 1 &&
	       (r = read(fd, text_buf + n, sizeof(text_buf) - 1 - (size_t)n)) > 0)
		n += r;
	close(fd);
	text_buf[n] = 0;
	return n;
}

static long count_lines(const char *path)
{
	long n = 0, i, len = read_text(path);

	for (i = 0; i < len; i++)
		n += text_buf[i] == '\n';
	return len < 0 ? -1 : n;
}

/* entries of @dir whose name starts with @prefix (-1: no such directory) */
static long count_entries(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

static long kvm_vcpus(void)
{
	char prefix[32], path[300];
	DIR *d = opendir("/sys/kernel/debug/kvm");
	struct dirent *e;
	long n = -1, k;

	if (!d)
		return -1;
	snprintf(prefix, sizeof(prefix), "%d-", (int)getpid());
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/debug/kvm/%s", e->d_name);
		k = count_entries(path, "vcpu");
		if (k >= 0)
			n = (n < 0 ? 0 : n) + k;
	}
	closedir(d);
	return n;
}

static void measure(struct usage *u)
{
	char prefix[32];
	long n = read_text("/proc/self/statm");

	u->vm_pages = n > 0 ? strtol(text_buf, NULL, 10) : -1;
	u->maps = count_lines("/proc/self/maps");
	snprintf(prefix, sizeof(prefix), "%d.", (int)getpid());
	u->dune_vcpus = count_entries("/sys/kernel/debug/dune/vcpus", prefix);
	u->kvm_vcpus = kvm_vcpus();
}

#define NO_VCPU_VIEW "no view of this process's vCPUs (neither a Dune module's " \
	"/sys/kernel/debug/dune/vcpus nor KVM's /sys/kernel/debug/kvm/<pid>-*; " \
	"the ABI and the API count none)"

static void log_usage(const char *when, const struct usage *u)
{
	ct_log("%s: %ld pages mapped, %ld mappings, dune vCPUs %ld, kvm vCPUs %ld", when,
	       u->vm_pages, u->maps, u->dune_vcpus, u->kvm_vcpus);
}

static void *enter_and_exit(void *arg)
{
	(void)arg;
	if (dune_enter() != 0)
		return (void *)1;
	if ((read_cs() & 3) != 0)
		return (void *)2;
	return NULL;		/* the thread ends in Dune mode */
}

/* BATCH threads that each enter Dune mode and exit; how many failed */
static int run_batch(void)
{
	pthread_t t[BATCH];
	int i, bad = 0;
	void *ret;

	for (i = 0; i < BATCH; i++) {
		if (pthread_create(&t[i], NULL, enter_and_exit, NULL)) {
			t[i] = 0;
			bad++;
		}
	}
	for (i = 0; i < BATCH; i++) {
		if (!t[i])
			continue;
		if (pthread_join(t[i], &ret) || ret)
			bad++;
	}
	return bad;
}

CTEST(threads_exit_frees,
      .id = "guest.threads.exit_frees",
      .profile = "threads",
      .what = "64 threads that each enter Dune mode and exit (4 at a time) leave the address-space size and the mapping count as they were: a thread's per-CPU area and stacks are released at its exit (its vCPU: guest.threads.exit_frees_vcpus)",
      .needs = "dune",
      .timeout = 300)
{
	struct usage before, after;
	int r, bad = 0;

	ENTER();
	measure(&before);
	for (r = 0; r < WARMUP; r++)
		bad += run_batch();
	measure(&before);
	log_usage("before", &before);
	for (r = 0; r < ROUNDS; r++)
		bad += run_batch();
	measure(&after);
	log_usage("after", &after);
	CT_ASSERT_EQ(bad, 0);
	/* the leak this catches is ~90 pages and ~9 mappings per thread */
	CT_EXPECT(after.vm_pages - before.vm_pages < ROUNDS * BATCH,
		  "the address space grew by %ld pages over %d threads",
		  after.vm_pages - before.vm_pages, ROUNDS * BATCH);
	CT_EXPECT(after.maps - before.maps < 8, "%ld more mappings after %d threads",
		  after.maps - before.maps, ROUNDS * BATCH);
}

CTEST(threads_exit_frees_vcpus,
      .id = "guest.threads.exit_frees_vcpus",
      .profile = "threads",
      .what = "64 threads that each enter Dune mode and exit (4 at a time) leave the process's live vCPUs as they were, and KVM makes no more vCPUs than threads in Dune mode at once: a thread's vCPU is released (or reused) at its exit; SKIP where nothing shows this process's vCPUs",
      .needs = "dune",
      .timeout = 300)
{
	struct usage before, after;
	int r, bad = 0;

	ENTER();
	measure(&before);
	if (before.dune_vcpus < 0 && before.kvm_vcpus < 0)
		CT_SKIP(NO_VCPU_VIEW);
	for (r = 0; r < WARMUP; r++)
		bad += run_batch();
	measure(&before);
	log_usage("before", &before);
	for (r = 0; r < ROUNDS; r++)
		bad += run_batch();
	measure(&after);
	log_usage("after", &after);
	CT_ASSERT_EQ(bad, 0);
	/* the view must not vanish half-way: that would be a part unchecked */
	CT_ASSERT(before.dune_vcpus >= 0 || before.kvm_vcpus >= 0,
		  "the view of this process's vCPUs went away during the warm-up");
	if (before.dune_vcpus >= 0)
		CT_EXPECT(after.dune_vcpus >= 0 && after.dune_vcpus <= before.dune_vcpus,
			  "%ld live vCPUs before, %ld after the threads exited",
			  before.dune_vcpus, after.dune_vcpus);
	/* KVM frees no vCPU before its VM: an ended thread's must be reused,
	 * so no more than the threads in Dune mode at once are ever made */
	if (before.kvm_vcpus >= 0)
		CT_EXPECT(after.kvm_vcpus >= 0 && after.kvm_vcpus <= 1 + BATCH,
			  "KVM made %ld vCPUs for at most %d threads in Dune mode at once: "
			  "exited threads' vCPUs are not reused", after.kvm_vcpus, 1 + BATCH);
}

static int gate[2], ready[2];

static void *enter_and_wait(void *arg)
{
	char c;

	(void)arg;
	if (dune_enter() != 0) {
		if (write(ready[1], "f", 1) != 1)
			return (void *)3;
		return (void *)1;
	}
	if (write(ready[1], "r", 1) != 1 || read(gate[0], &c, 1) != 1)
		return (void *)2;
	return NULL;
}

CTEST(fork_child_holds_nothing,
      .id = "guest.fork.child_holds_nothing",
      .profile = "fork",
      .what = "a child forked while another thread is in Dune mode holds none of the parent's vCPUs: that thread's exit releases its vCPU while the child lives, and the child's exit status comes back; SKIP where nothing shows this process's vCPUs",
      .needs = "dune",
      .timeout = 120)
{
	struct usage live, gone, again;
	pthread_t t;
	int child_gate[2], status = 0;
	void *ret;
	pid_t pid;
	char c;

	ENTER();
	CT_ASSERT_EQ(pipe(gate), 0);
	CT_ASSERT_EQ(pipe(ready), 0);
	CT_ASSERT_EQ(pipe(child_gate), 0);
	CT_ASSERT_EQ(run_batch(), 0);		/* warm up: thread stacks, vCPUs */
	CT_ASSERT_EQ(pthread_create(&t, NULL, enter_and_wait, NULL), 0);
	CT_ASSERT(read(ready[0], &c, 1) == 1 && c == 'r', "the thread did not enter Dune mode");
	measure(&live);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		/* outside Dune mode, past fork() (and its atfork handlers);
		 * waits until the parent has looked */
		if (write(ready[1], "c", 1) != 1)
			_exit(4);
		_exit(read(child_gate[0], &c, 1) == 1 ? 0 : 3);
	}
	CT_ASSERT(read(ready[0], &c, 1) == 1, "the child did not start");
	CT_ASSERT_EQ(write(gate[1], "x", 1), 1);
	CT_ASSERT_EQ(pthread_join(t, &ret), 0);
	CT_EXPECT(ret == NULL, "the thread failed (%p)", ret);
	measure(&gone);
	CT_EXPECT_EQ(run_batch(), 0);
	measure(&again);
	log_usage("thread in Dune mode", &live);
	log_usage("thread gone", &gone);
	log_usage("another batch gone", &again);
	CT_ASSERT_EQ(write(child_gate[1], "x", 1), 1);
	CT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	CT_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
	if (live.dune_vcpus >= 0)
		CT_EXPECT(gone.dune_vcpus >= 0 && gone.dune_vcpus < live.dune_vcpus,
			  "%ld live vCPUs with the thread, %ld after it exited (the child holds it?)",
			  live.dune_vcpus, gone.dune_vcpus);
	if (live.kvm_vcpus >= 0)
		CT_EXPECT(again.kvm_vcpus <= 1 + BATCH,
			  "KVM made %ld vCPUs for at most %d threads in Dune mode at once",
			  again.kvm_vcpus, 1 + BATCH);
	/* the child's exit was checked; its vCPUs cannot be without a view */
	if (live.dune_vcpus < 0 && live.kvm_vcpus < 0 && !ct_failures())
		CT_SKIP("the child's exit status is right; whether it holds the parent's vCPUs is not checked: "
			NO_VCPU_VIEW);
}

CTEST(fork_raw_reenter,
      .id = "guest.fork.raw_reenter",
      .profile = "fork",
      .what = "a child made by the raw fork system call in Dune mode (no atfork handlers run) resumes outside Dune and can call dune_enter again",
      .needs = "dune",
      .timeout = 60)
{
	volatile int marker = 4321;
	int status = 0;
	long pid;

	ENTER();
	pid = syscall(SYS_fork);
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if ((read_cs() & 3) != 3 || marker != 4321)
			_exit(10);
		if (conf_in_guest())
			_exit(11);
		if (dune_enter() != 0)
			_exit(12);
		if ((read_cs() & 3) != 0 || !conf_in_guest())
			_exit(13);
		if (syscall(SYS_getppid) <= 1)
			_exit(14);
		_exit(7);
	}
	CT_ASSERT_EQ(waitpid((pid_t)pid, &status, 0), pid);
	CT_EXPECT(WIFEXITED(status), "child status %#x", status);
	CT_EXPECT_EQ(WEXITSTATUS(status), 7);
	CT_EXPECT_EQ(read_cs() & 3, 0);
}

// SPDX-License-Identifier: MIT
/* process.c - threads, fork, signals and syscall restart in Dune mode */
#include "../api/common.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define NTHREADS 4

static volatile int thread_ok[NTHREADS];

static void *thread_fn(void *arg)
{
	long i = (long)arg;
	pid_t tid;

	if (dune_enter() != 0)
		return NULL;
	if (!conf_in_guest() || (read_cs() & 3) != 0)
		return NULL;
	tid = (pid_t)syscall(SYS_gettid);
	if (tid <= 0 || getpid() <= 0)
		return NULL;
	free(malloc(100000));		/* thread arena: mmap tracked */
	thread_ok[i] = 1;
	return (void *)(i + 100);
}

CTEST(threads_pthreads,
      .id = "guest.threads.pthreads",
      .profile = "threads",
      .what = "pthread_create in Dune mode makes 4 threads that each call dune_enter, make syscalls and are joined",
      .needs = "dune",
      .timeout = 120)
{
	pthread_t t[NTHREADS];
	long i;
	void *ret;

	ENTER();
	for (i = 0; i < NTHREADS; i++)
		CT_ASSERT_EQ(pthread_create(&t[i], NULL, thread_fn, (void *)i), 0);
	for (i = 0; i < NTHREADS; i++) {
		CT_ASSERT_EQ(pthread_join(t[i], &ret), 0);
		CT_EXPECT_EQ((long)ret, i + 100);
		CT_EXPECT(thread_ok[i], "thread %ld did not finish its work", i);
	}
}

CTEST(fork_reenter,
      .id = "guest.fork.reenter",
      .profile = "fork",
      .what = "fork in Dune mode: the child resumes outside Dune, can call dune_enter again and exits with its status",
      .needs = "dune",
      .timeout = 60)
{
	pid_t pid;
	int status = 0;
	volatile int marker = 1234;

	ENTER();
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (conf_in_guest() || (read_cs() & 3) != 3 || marker != 1234)
			_exit(10);
		if (dune_enter() != 0)
			_exit(11);
		if ((read_cs() & 3) != 0 || getppid() <= 1)
			_exit(12);
		printf("child in Dune mode again\n");
		fflush(stdout);
		_exit(7);
	}
	CT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	CT_EXPECT(WIFEXITED(status), "child status %#x", status);
	CT_EXPECT_EQ(WEXITSTATUS(status), 7);
	CT_EXPECT_EQ(read_cs() & 3, 0);
}

CTEST(clone3_enosys,
      .id = "guest.syscall.clone3_enosys",
      .profile = "threads",
      .what = "clone3 returns -ENOSYS in Dune mode (glibc then falls back to clone)",
      .needs = "dune")
{
	ENTER();
	errno = 0;
	CT_EXPECT_EQ(syscall(SYS_clone3, NULL, 0), -1);
	CT_EXPECT_EQ(errno, ENOSYS);
}

static volatile int got_sig, sig_cs;

static void dune_sig_handler(int sig)
{
	got_sig = sig;
	sig_cs = read_cs();
}

CTEST(signal_dune_signal,
      .id = "guest.signal.dune_signal",
      .profile = "signals",
      .what = "a signal sent to a Dune-mode process reaches the dune_signal handler, which runs in guest ring 0",
      .needs = "dune")
{
	int i;

	ENTER();
	CT_ASSERT(dune_signal(SIGUSR1, dune_sig_handler) != SIG_ERR);
	kill(getpid(), SIGUSR1);
	for (i = 0; i < 1000000 && !got_sig; i++)
		__asm__ volatile("pause");
	CT_ASSERT_EQ(got_sig, SIGUSR1);
	CT_EXPECT_EQ(sig_cs & 3, 0);
}

static volatile int host_sig;

static void host_handler(int sig)
{
	host_sig = sig;
}

CTEST(signal_sigaction,
      .id = "guest.signal.sigaction",
      .profile = "signals",
      .what = "a plain sigaction handler still runs for a signal raised in Dune mode (in host mode, documented)",
      .needs = "dune")
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = host_handler;
	ENTER();
	CT_ASSERT_EQ(sigaction(SIGUSR2, &sa, NULL), 0);
	raise(SIGUSR2);
	CT_EXPECT_EQ(host_sig, SIGUSR2);
}

static int restart_pipe[2];

static void alarm_writes(int sig)
{
	(void)sig;
	if (write(restart_pipe[1], "x", 1) != 1)
		host_sig = -1;
}

static void arm_timer(void)
{
	struct itimerval it = { .it_value = { .tv_usec = 50000 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

CTEST(syscall_restart,
      .id = "guest.syscall.restart",
      .profile = "signals",
      .what = "a blocking read interrupted by a signal is restarted with SA_RESTART and fails with EINTR without it",
      .needs = "dune",
      .timeout = 60)
{
	struct sigaction sa;
	char c = 0;
	ssize_t n;

	ENTER();
	CT_ASSERT_EQ(pipe(restart_pipe), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = alarm_writes;
	sa.sa_flags = SA_RESTART;
	CT_ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	arm_timer();
	n = read(restart_pipe[0], &c, 1);
	CT_EXPECT_EQ(n, 1);
	CT_EXPECT_EQ(c, 'x');

	sa.sa_handler = host_handler;
	sa.sa_flags = 0;
	CT_ASSERT_EQ(sigaction(SIGALRM, &sa, NULL), 0);
	arm_timer();
	errno = 0;
	n = read(restart_pipe[0], &c, 1);
	CT_EXPECT_EQ(n, -1);
	CT_EXPECT_EQ(errno, EINTR);
}

static volatile uintptr_t mirror_fault;
static volatile uint64_t mirror_fec;
static char *mirror_page;

static void pgflt_record(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)tf;
	mirror_fault = addr;
	mirror_fec = fec;
	/* make it accessible again in the host and the guest */
	mprotect(mirror_page, PGSIZE, PROT_READ | PROT_WRITE);
	if (mmap(mirror_page, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		dune_die();
}

CTEST(mm_mirror,
      .id = "guest.mm.mirror",
      .profile = "vm",
      .what = "after dune_init(false), mmap/mprotect/munmap made in Dune mode update the guest page tables: a stray access is a #PF with CR2 (dune_init(true) maps RWXU, as the original)",
      .needs = "dune")
{
	CT_ASSERT(dune_init(false) == 0 && dune_enter() == 0, "dune_init(false) + dune_enter failed (see stderr)");
	if (strcmp(conf_backend(), "kvm"))
		CT_SKIP("the vmx backend does not see mm system calls (the module runs them)");
	mirror_page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(mirror_page != MAP_FAILED);
	mirror_page[0] = 5;
	dune_register_pgflt_handler(pgflt_record);
	CT_ASSERT_EQ(mprotect(mirror_page, PGSIZE, PROT_READ), 0);
	CT_EXPECT_EQ(mirror_page[0], 5);
	mirror_page[8] = 6;
	__asm__ volatile("" : : : "memory");	/* the store faults before we look */
	CT_EXPECT_EQ(mirror_fault, (uintptr_t)mirror_page + 8);
	CT_EXPECT((mirror_fec & (FEC_P | FEC_W)) == (FEC_P | FEC_W), "fec %#lx", (unsigned long)mirror_fec);
	CT_EXPECT_EQ(mirror_page[8], 6);
	CT_ASSERT_EQ(munmap(mirror_page, PGSIZE), 0);
	mirror_fault = 0;
	mirror_page[16] = 7;
	__asm__ volatile("" : : : "memory");
	CT_EXPECT_EQ(mirror_fault, (uintptr_t)mirror_page + 16);
	CT_EXPECT(!(mirror_fec & FEC_P), "fec %#lx: want not-present", (unsigned long)mirror_fec);
	CT_EXPECT_EQ(mirror_page[16], 7);
}

// SPDX-License-Identifier: MIT
/*
 * trap.c - DUNE_TRAP_ENABLE / DUNE_TRAP_DISABLE (docs/abi.md section 2):
 * a thread in normal (host) mode that is scheduled in with its user RIP at
 * trigger_rip has its registers copied to `regs` and continues at
 * notify_func(regs, priv).  Required ABI elements: ENOTTY is a failure.
 *
 * A child process arms the trap and spins at the trigger; the parent, pinned
 * to the same CPU, yields so that the child is scheduled in again and again.
 * The child reports by its exit status: TRAP_OK when notify_func ran with
 * the right arguments and snapshot.  Also a regs buffer across a page
 * boundary (a module path no other test took: `make coverage`).
 */
#include "abi_util.h"
#include "ct_thread.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define TRAP_OK		42
#define TRAP_BAD_REGS	50	/* regs argument is not cfg.regs */
#define TRAP_BAD_PRIV	51
#define TRAP_BAD_RIP	52	/* snapshot rip is not the trigger */
#define TRAP_BAD_RAX	53	/* snapshot rax/rbx are not the spinner's */
#define TRAP_ENOTTY	60
#define TRAP_EFAIL	61	/* DUNE_TRAP_ENABLE failed otherwise */
#define TRAP_DFAIL	62	/* DUNE_TRAP_DISABLE failed */
#define TRAP_SETUP	63

#define MARK_RAX	0x5151515151515151ULL
#define MARK_RBX	0x6262626262626262ULL
#define PRIV_A		((void *)0xa11ce)
#define PRIV_B		((void *)0xb0b)

/* Host-mode code: spin forever at trap_spin_at (or trap_spin2_at). */
void trap_spin(uint64_t rax, uint64_t rbx) __attribute__((noreturn));
void trap_spin2(void) __attribute__((noreturn));
void trap_notify(struct dune_trap_regs *regs, void *priv);
extern const unsigned char trap_spin_at[], trap_spin2_at[];

static struct dune_trap_regs trap_regs_buf;
/* The configs' regs (abi.trap.regs_cross_page moves it). */
static struct dune_trap_regs *trap_regs = &trap_regs_buf;
static void *trap_want_priv;

/* Called (stack aligned) by trap_notify; never returns. */
static void __attribute__((used, noreturn, noinline))
trap_notified(struct dune_trap_regs *regs, void *priv)
{
	if (regs != trap_regs)
		_exit(TRAP_BAD_REGS);
	if (priv != trap_want_priv)
		_exit(TRAP_BAD_PRIV);
	if (regs->rip != (uint64_t)(uintptr_t)trap_spin_at)
		_exit(TRAP_BAD_RIP);
	if (regs->rax != MARK_RAX || regs->rbx != MARK_RBX)
		_exit(TRAP_BAD_RAX);
	_exit(TRAP_OK);
}

__asm__(".text\n"
	"trap_spin:\n"
	"	mov %rdi, %rax\n"
	"	mov %rsi, %rbx\n"
	"trap_spin_at:\n"
	"	jmp trap_spin_at\n"
	"trap_spin2:\n"
	"trap_spin2_at:\n"
	"	jmp trap_spin2_at\n"
	"trap_notify:\n"
	"	and $-16, %rsp\n"
	"	call trap_notified\n"
	"	ud2\n");

static void trap_config(struct dune_trap_config *t, const void *trigger, void *priv)
{
	memset(t, 0, sizeof(*t));
	t->trigger_rip = (uint64_t)(uintptr_t)trigger;
	t->notify_func = trap_notify;
	t->regs = trap_regs;
	t->regs_size = sizeof(*trap_regs);
	t->priv = priv;
	t->delay = 0;
}

/* Arm in this (child) process; exit with a TRAP_* code on failure. */
static int trap_arm(const void *trigger, void *priv, int then_disable)
{
	struct dune_trap_config t;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	fd = abi_open();
	if (fd < 0)
		_exit(TRAP_SETUP);
	trap_config(&t, trigger, priv);
	trap_want_priv = priv;
	if (ioctl(fd, DUNE_TRAP_ENABLE, &t))
		_exit(errno == ENOTTY ? TRAP_ENOTTY : TRAP_EFAIL);
	if (then_disable && ioctl(fd, DUNE_TRAP_DISABLE, 0))
		_exit(TRAP_DFAIL);
	return fd;
}

/* Pin this process (and its future children) to the CPU it is on. */
static void pin_here(void)
{
	int cpu = sched_getcpu();

	CT_ASSERT(ct_pin(cpu < 0 ? 0 : cpu) == 0, "sched_setaffinity: %s", strerror(errno));
}

/*
 * Yield to @pid (on our CPU) up to @rounds times; returns its wait status,
 * or -1 if it is still running.
 */
static int yield_to(pid_t pid, int rounds)
{
	int st, i;

	for (i = 0; i < rounds; i++) {
		sched_yield();
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		if (i % 100 == 99)
			usleep(1000);
	}
	return -1;
}

static const char *trap_why(int code)
{
	switch (code) {
	case TRAP_OK: return "notify_func ran with the right arguments";
	case TRAP_BAD_REGS: return "notify_func's first argument is not the config's regs";
	case TRAP_BAD_PRIV: return "notify_func's second argument is not the config's priv";
	case TRAP_BAD_RIP: return "the snapshot's rip is not trigger_rip";
	case TRAP_BAD_RAX: return "the snapshot's rax/rbx are not the spinning thread's";
	case TRAP_ENOTTY: return "DUNE_TRAP_ENABLE: ENOTTY (a required ABI element is missing)";
	case TRAP_EFAIL: return "DUNE_TRAP_ENABLE failed";
	case TRAP_DFAIL: return "DUNE_TRAP_DISABLE failed";
	case TRAP_SETUP: return "cannot open the device";
	default: return "unexpected exit";
	}
}

/* Wait for @pid's ready byte; if it exits instead, fail with its reason. */
static void wait_ready(int fd, pid_t pid)
{
	int st = 0;
	char c;

	if (read(fd, &c, 1) == 1)
		return;
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	CT_ASSERT(0, "child status %#x: %s", st,
		  WIFEXITED(st) ? trap_why(WEXITSTATUS(st)) : "killed");
}

/*
 * Fork a child that runs @arm (which arms its trap, or exits with a
 * TRAP_* code), then spins at trap_spin_at; returns its pid once it is
 * about to spin.
 */
static pid_t spawn_spinner(void (*arm)(void))
{
	int ready[2];
	pid_t pid;

	CT_ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		arm();
		if (write(ready[1], "r", 1) != 1)
			_exit(TRAP_SETUP);
		trap_spin(MARK_RAX, MARK_RBX);
	}
	close(ready[1]);
	wait_ready(ready[0], pid);
	close(ready[0]);
	return pid;
}

/*
 * yield_to(@pid, @rounds), then kill @pid if it still runs: its wait
 * status, or -1 when it had to be killed (it kept spinning).
 */
static int yield_or_kill(pid_t pid, int rounds)
{
	int st = yield_to(pid, rounds);

	if (st != -1)
		return st;
	kill(pid, SIGKILL);
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? -1 : st;
}

/* What spawn_spinner's children arm. */
static void arm_a(void)
{
	trap_arm(trap_spin_at, PRIV_A, 0);
}

static void arm_a_disabled(void)
{
	trap_arm(trap_spin_at, PRIV_A, 1);
}

/* Arm at trap_spin2_at with PRIV_B, then again at trap_spin_at with PRIV_A. */
static void arm_b_then_a(void)
{
	struct dune_trap_config t;
	int fd = trap_arm(trap_spin2_at, PRIV_B, 0);

	trap_config(&t, trap_spin_at, PRIV_A);
	trap_want_priv = PRIV_A;
	if (ioctl(fd, DUNE_TRAP_ENABLE, &t))
		_exit(TRAP_EFAIL);
}

/* Expect @st to be exit(TRAP_OK). */
#define EXPECT_FIRED(st, who)						\
	do {								\
		CT_EXPECT((st) != -1, "%s: the trap never fired (the thread kept spinning at trigger_rip)", who); \
		if ((st) != -1)						\
			CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == TRAP_OK, \
				  "%s: status %#x: %s", who, st,	\
				  WIFEXITED(st) ? trap_why(WEXITSTATUS(st)) : "killed"); \
	} while (0)

CTEST(trap_enable,
      .id = "abi.trap.enable",
      .profile = "traps",
      .what = "after DUNE_TRAP_ENABLE, a thread spinning at trigger_rip is redirected to notify_func(regs, priv) with its registers in regs",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	int st;

	pin_here();
	st = yield_or_kill(spawn_spinner(arm_a), 3000);
	EXPECT_FIRED(st, "armed thread");
}

CTEST(trap_disable,
      .id = "abi.trap.disable",
      .profile = "traps",
      .what = "after DUNE_TRAP_ENABLE then DUNE_TRAP_DISABLE (which returns 0), a thread spinning at trigger_rip is left alone",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	int st;

	pin_here();
	st = yield_or_kill(spawn_spinner(arm_a_disabled), 1000);
	CT_EXPECT(st == -1, "the disabled trap's thread stopped spinning: status %#x: %s", st,
		  WIFEXITED(st) ? trap_why(WEXITSTATUS(st)) : "killed");
}

CTEST(trap_rearm,
      .id = "abi.trap.rearm",
      .profile = "traps",
      .what = "a second DUNE_TRAP_ENABLE from the same thread on the same file replaces the first configuration: a thread spinning at the new trigger_rip is redirected to notify_func with the new priv",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	int st;

	pin_here();
	st = yield_or_kill(spawn_spinner(arm_b_then_a), 3000);
	EXPECT_FIRED(st, "re-armed thread");
}

CTEST(trap_per_process,
      .id = "abi.trap.per_process",
      .profile = "traps",
      .what = "trap configurations are per process: a second process arming its own trap does not change the first one's (trigger, notify_func, priv)",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	int ready_a[2], ready_b[2], go[2], st;
	pid_t a, b;
	char c;

	pin_here();
	CT_ASSERT(pipe(ready_a) == 0 && pipe(ready_b) == 0 && pipe(go) == 0, "pipe: %s",
		  strerror(errno));
	a = fork();
	CT_ASSERT(a >= 0, "fork: %s", strerror(errno));
	if (a == 0) {
		trap_arm(trap_spin_at, PRIV_A, 0);
		if (write(ready_a[1], "a", 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(TRAP_SETUP);
		trap_spin(MARK_RAX, MARK_RBX);
	}
	close(ready_a[1]);
	wait_ready(ready_a[0], a);
	b = fork();
	CT_ASSERT(b >= 0, "fork: %s", strerror(errno));
	if (b == 0) {
		trap_arm(trap_spin2_at, PRIV_B, 0);
		if (write(ready_b[1], "b", 1) != 1)
			_exit(TRAP_SETUP);
		pause();
		_exit(TRAP_SETUP);
	}
	close(ready_b[1]);
	wait_ready(ready_b[0], b);
	CT_ASSERT_EQ(write(go[1], "g", 1), 1);
	st = yield_or_kill(a, 3000);
	kill(b, SIGKILL);
	waitpid(b, NULL, 0);
	EXPECT_FIRED(st, "process A (armed before B)");
}

CTEST(trap_regs_cross_page,
      .id = "abi.trap.regs_cross_page",
      .profile = "traps",
      .what = "a DUNE_TRAP_ENABLE regs buffer that crosses a page boundary (rax on the first page, rip on the second) gets the whole snapshot: notify_func sees the spinning thread's rax, rbx and rip; one whose second page is read-only fails with EFAULT",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct dune_trap_config t;
	uint8_t *buf, *ro;
	int fd, r, st;

	pin_here();
	buf = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(buf != MAP_FAILED && ro != MAP_FAILED, "mmap: %s", strerror(errno));

	/* across a read-only second page: not writable memory */
	fd = abi_open();
	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	ro[0] = ro[4096] = 1;
	CT_ASSERT(mprotect(ro + 4096, 4096, PROT_READ) == 0, "mprotect: %s", strerror(errno));
	trap_config(&t, trap_spin_at, PRIV_A);
	t.regs = (struct dune_trap_regs *)(ro + 4096 - 72);
	errno = 0;
	r = ioctl(fd, DUNE_TRAP_ENABLE, &t);
	CT_EXPECT(r == -1 && errno == EFAULT, "regs across a read-only second page: got %s, want EFAULT",
		  r ? strerror(errno) : "success");
	close(fd);
	munmap(ro, 2 * 4096);

	/* rax..rbx in the first page, rip (offset 128) in the second */
	trap_regs = (struct dune_trap_regs *)(buf + 4096 - 72);
	st = yield_or_kill(spawn_spinner(arm_a), 3000);
	EXPECT_FIRED(st, "thread whose regs cross a page boundary");
	trap_regs = &trap_regs_buf;
	munmap(buf, 2 * 4096);
}

/* /sys/module/dune/refcnt, or -1 when the module does not say. */
static long module_refcnt(void)
{
	FILE *f = fopen("/sys/module/dune/refcnt", "r");
	long n = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

/*
 * Wait up to 5 s for the module's reference count to come back to
 * @base (a trap left behind by a dead thread must be freed, or the module
 * could never be unloaded).  Implementations without the sysfs count pass.
 */
static void expect_refcnt_back(long base)
{
	long n = module_refcnt();
	int i;

	if (base < 0)
		return;
	for (i = 0; i < 100 && n != base; i++) {
		usleep(50000);
		n = module_refcnt();
	}
	CT_EXPECT(n == base, "module reference count %ld, %ld before the test: a trap of a dead thread was never freed",
		  n, base);
}

struct trap_thread_arg {
	int fd;
	int ready;		/* pipe write end: "armed" to the main thread */
	int go;			/* with @spin: pipe read end, "closed" from it */
	int spinning;		/* with @spin: pipe write end, to the test */
	int spin;		/* spin at the trigger after arming */
};

static void *trap_thread(void *p)
{
	struct trap_thread_arg *a = p;
	struct dune_trap_config t;
	char c;

	trap_config(&t, trap_spin_at, PRIV_A);
	trap_want_priv = PRIV_A;
	if (ioctl(a->fd, DUNE_TRAP_ENABLE, &t))
		_exit(errno == ENOTTY ? TRAP_ENOTTY : TRAP_EFAIL);
	if (write(a->ready, "t", 1) != 1)
		_exit(TRAP_SETUP);
	if (a->spin) {
		/* the main thread has released the file when this returns */
		if (read(a->go, &c, 1) != 1 || write(a->spinning, "s", 1) != 1)
			_exit(TRAP_SETUP);
		trap_spin(MARK_RAX, MARK_RBX);
	}
	return NULL;
}

CTEST(trap_release_other_thread,
      .id = "abi.trap.release_other_thread",
      .profile = "traps",
      .what = "a file released by another thread than the one that armed its trap disarms it: the armed thread then spins at trigger_rip undisturbed, the host stays healthy, and the trap is freed once that thread is gone",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	long base = module_refcnt();
	int ready[2], st;
	pid_t pid;

	pin_here();
	CT_ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct trap_thread_arg a = { .spinning = ready[1], .spin = 1 };
		pthread_t th;
		char c;
		int tp[2], gp[2];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		a.fd = abi_open();
		if (a.fd < 0 || pipe(tp) || pipe(gp))
			_exit(TRAP_SETUP);
		a.ready = tp[1];
		a.go = gp[0];
		if (pthread_create(&th, NULL, trap_thread, &a))
			_exit(TRAP_SETUP);
		if (read(tp[0], &c, 1) != 1)
			_exit(TRAP_SETUP);
		close(a.fd);	/* released here, by the main thread */
		if (write(gp[1], "g", 1) != 1)
			_exit(TRAP_SETUP);
		pause();
		_exit(TRAP_SETUP);
	}
	close(ready[1]);
	wait_ready(ready[0], pid);	/* the armed thread is about to spin */
	st = yield_or_kill(pid, 3000);	/* as long as abi.trap.enable waits */
	CT_EXPECT(st == -1, "the trap of a released file still fired: status %#x: %s", st,
		  WIFEXITED(st) ? trap_why(WEXITSTATUS(st)) : "killed");
	expect_refcnt_back(base);
}

CTEST(trap_thread_exit,
      .id = "abi.trap.thread_exit",
      .profile = "traps",
      .what = "a thread that arms a trap and exits leaves the file usable: another thread closes it, the process exits normally, and the trap is freed",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	long base = module_refcnt();
	int st;
	pid_t pid;

	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct trap_thread_arg a = { .spin = 0 };
		struct dune_layout l;
		pthread_t th;
		char c;
		int tp[2];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		a.fd = abi_open();
		if (a.fd < 0 || pipe(tp))
			_exit(TRAP_SETUP);
		a.ready = tp[1];
		if (pthread_create(&th, NULL, trap_thread, &a) ||
		    read(tp[0], &c, 1) != 1 || pthread_join(th, NULL))
			_exit(TRAP_SETUP);
		/* the file still answers after its trap's thread is gone */
		if (ioctl(a.fd, DUNE_GET_LAYOUT, &l) || ioctl(a.fd, DUNE_TRAP_DISABLE, 0))
			_exit(TRAP_DFAIL);
		close(a.fd);
		_exit(0);
	}
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x: %s", st,
		  WIFEXITED(st) ? trap_why(WEXITSTATUS(st)) : "killed");
	expect_refcnt_back(base);
}

CTEST(trap_bad_regs,
      .id = "abi.trap.bad_regs",
      .profile = "robustness",
      .what = "DUNE_TRAP_ENABLE with a regs buffer that is not writable memory (NULL page, read-only page, kernel address) or an unreadable config fails with EFAULT",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 30)
{
	static const struct dune_trap_regs ro_regs = { .rax = 1 };	/* .rodata */
	struct dune_trap_config t;
	void *bad[] = { (void *)16, (void *)&ro_regs, (void *)0xffffffff81000000UL };
	unsigned int i;
	int fd = abi_open();

	CT_ASSERT(fd >= 0, "open: %s", strerror(errno));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		trap_config(&t, trap_spin_at, PRIV_A);
		t.regs = bad[i];
		errno = 0;
		CT_EXPECT(ioctl(fd, DUNE_TRAP_ENABLE, &t) == -1 && errno == EFAULT,
			  "regs=%p: got %s, want EFAULT", bad[i], errno ? strerror(errno) : "success");
	}
	errno = 0;
	CT_EXPECT(ioctl(fd, DUNE_TRAP_ENABLE, (void *)8) == -1 && errno == EFAULT,
		  "config at 0x8: got %s, want EFAULT", errno ? strerror(errno) : "success");
	CT_EXPECT_EQ(ioctl(fd, DUNE_TRAP_DISABLE, 0), 0);
	close(fd);
}

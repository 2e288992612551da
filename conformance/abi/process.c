// SPDX-License-Identifier: MIT
/*
 * process.c - fork from the guest, host signals during a run (SIGNAL exit,
 * re-entry, syscall restart), and several vCPUs at once (threads,
 * processes).  docs/abi.md sections 3, 4 and 6.
 */
#include "abi_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * write(r12, r13, 1) to tell the host the guest got here; then
 * rbx = read(r14, r15, 1) (g_sync_read_vmcall: its VMCALL); exit(0)
 */
ABI_GUEST(g_sync_read,
	  "mov $1, %eax\n mov %r12, %rdi\n mov %r13, %rsi\n mov $1, %edx\n vmcall\n"
	  "xor %eax, %eax\n mov %r14, %rdi\n mov %r15, %rsi\n mov $1, %edx\n"
	  "g_sync_read_vmcall: vmcall\n mov %rax, %rbx\n" G_EXIT(0));
ABI_GUEST_LABEL(g_sync_read_vmcall);

/*
 * *r12 = r13; fork().  Parent (guest): rbx = child pid, *r12 = r14,
 * rbp = *r12, exit(0).  Child (plain Linux, ring 3): exit 7 when it is in
 * ring 3 and sees r13 at *r12 and its own write of r15, else 10..12.
 */
ABI_GUEST(g_fork,
	  "mov %r13, (%r12)\n"
	  "mov $57, %eax\n vmcall\n"
	  "test %rax, %rax\n jz 1f\n js 9f\n"
	  "mov %rax, %rbx\n mov %r14, (%r12)\n mov (%r12), %rbp\n" G_EXIT(0)
	  "9: mov %rax, %rbx\n" G_EXIT(3)
	  "1: mov %cs, %eax\n and $3, %eax\n cmp $3, %eax\n jne 2f\n"
	  "mov (%r12), %rax\n cmp %r13, %rax\n jne 3f\n"
	  "mov %r15, (%r12)\n mov (%r12), %rax\n cmp %r15, %rax\n jne 4f\n"
	  "mov $60, %eax\n mov $7, %edi\n syscall\n"
	  "2: mov $60, %eax\n mov $10, %edi\n syscall\n"
	  "3: mov $60, %eax\n mov $11, %edi\n syscall\n"
	  "4: mov $60, %eax\n mov $12, %edi\n syscall\n ud2\n");

/*
 * Run from a kernel-half alias of the code: rcx = r12 (the user address of
 * g_fork_child_landing); fork().  Parent: rbx = child pid, exit(0).  The
 * child starts outside Dune at RCX (the guest RIP is not a user address)
 * and exits 7 by the syscall instruction.
 */
ABI_GUEST(g_fork_rcx,
	  "mov %r12, %rcx\n mov $57, %eax\n vmcall\n"
	  "test %rax, %rax\n jz 1f\n mov %rax, %rbx\n" G_EXIT(0)
	  "1: ud2\n"
	  "g_fork_child_landing: mov $60, %eax\n mov $7, %edi\n syscall\n ud2\n");
ABI_GUEST_LABEL(g_fork_child_landing);

/* rbx = *r12; exit(0) */
ABI_GUEST(g_peek, "mov (%r12), %rbx\n" G_EXIT(0));

/* spin until *r12 != 0, then exit(0) */
ABI_GUEST(g_wait_flag, "g_wait_loop: pause\n cmpq $0, (%r12)\n je g_wait_loop\n" G_EXIT(0));
ABI_GUEST_LABEL(g_wait_loop);

/*
 * Rendezvous of two vCPUs: ++*r12 (atomic), spin until *r12 >= 2 (at most
 * r13 rounds, then exit(99)); rbx = gettid(), rbp = getpid(); exit(0).
 */
ABI_GUEST(g_rendezvous,
	  "lock incq (%r12)\n"
	  "1: cmpq $2, (%r12)\n jae 2f\n pause\n dec %r13\n jnz 1b\n" G_EXIT(99)
	  "2: mov $186, %eax\n vmcall\n mov %rax, %rbx\n"
	  "mov $39, %eax\n vmcall\n mov %rax, %rbp\n" G_EXIT(0));

#define VAL_A	0xaaaaaaaa0000000aULL
#define VAL_B	0xbbbbbbbb0000000bULL
#define VAL_C	0xcccccccc0000000cULL

CTEST(fork_cow,
      .id = "abi.fork.cow",
      .profile = "fork",
      .what = "fork from the guest gives a child that runs outside Dune (ring 3) seeing the pre-fork memory, and copy-on-write keeps each side's later writes private",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	volatile uint64_t *p;
	int r, st = 0;
	pid_t w;

	abi_vm_setup(&vm);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	*p = 1;
	abi_conf(&vm, &c, g_fork);
	c.r12 = (uint64_t)(uintptr_t)p;
	c.r13 = VAL_A;
	c.r14 = VAL_B;
	c.r15 = VAL_C;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT(c.status == 0, "fork failed in the guest: %lld", (long long)(int64_t)c.rbx);
	CT_ASSERT((int64_t)c.rbx > 0, "no child pid: %lld", (long long)(int64_t)c.rbx);
	w = waitpid((pid_t)c.rbx, &st, 0);
	CT_ASSERT(w == (pid_t)c.rbx, "waitpid(%lld): %s", (long long)c.rbx, strerror(errno));
	CT_EXPECT(WIFEXITED(st), "child status %#x", st);
	if (WIFEXITED(st))
		CT_EXPECT(WEXITSTATUS(st) == 7, "child exit %d: %s", WEXITSTATUS(st),
			  WEXITSTATUS(st) == 10 ? "not in ring 3 (still in Dune?)" :
			  WEXITSTATUS(st) == 11 ? "did not see the pre-fork value (saw the parent's write)" :
			  WEXITSTATUS(st) == 12 ? "its own write did not read back" : "?");
	CT_EXPECT_EQ(c.rbp, VAL_B);
	CT_EXPECT_EQ(*p, VAL_B);	/* the child's write stayed in the child */

	/* a new vCPU sees the parent's value through the EPT after the COW */
	abi_conf(&vm, &c, g_peek);
	c.r12 = (uint64_t)(uintptr_t)p;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, VAL_B);
}

#define HIGH_ALIAS	0xffff900000000000ULL	/* kernel-half GVA, 2 MiB aligned */
#define MIB2		(1ULL << 21)

CTEST(fork_rcx,
      .id = "abi.fork.rcx_child_rip",
      .profile = "fork",
      .what = "fork from guest code at a kernel-half address starts the child (outside Dune) at the guest's RCX, the Dune convention",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t code, base;
	int r, st = 0;

	abi_vm_setup(&vm);
	code = (uint64_t)(uintptr_t)vm.code;
	base = code & ~(MIB2 - 1);
	/* the code's 2 MiB pages once more, at a kernel-half address */
	CT_ASSERT_EQ(abi_vm_map_gpa(&vm, HIGH_ALIAS,
				    (uint64_t)abi_hva_to_gpa(&vm.layout, base), 2 * MIB2), 0);
	abi_conf(&vm, &c, g_fork_rcx);
	c.rip = HIGH_ALIAS + (c.rip - base);
	c.r12 = abi_gva(&vm, g_fork_child_landing);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT(c.status == 0 && (int64_t)c.rbx > 0, "fork in the guest: status %lld rbx %lld",
		  (long long)c.status, (long long)(int64_t)c.rbx);
	CT_ASSERT_EQ(waitpid((pid_t)c.rbx, &st, 0), (pid_t)c.rbx);
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 7,
		  "child status %#x, want exit 7 (a child started at the kernel-half RIP dies of SIGSEGV)", st);
}

static int data_pipe[2], sync_pipe[2];
static volatile sig_atomic_t sig_count;
static volatile uint64_t *sig_flag;

static void on_signal_write(int sig)
{
	(void)sig;
	sig_count++;
	if (write(data_pipe[1], "x", 1) != 1)
		_exit(3);
}

static void on_signal_count(int sig)
{
	(void)sig;
	sig_count++;
}

static void on_signal_flag(int sig)
{
	(void)sig;
	sig_count++;
	*sig_flag = 1;
}

static void handle(int sig, void (*fn)(int), int flags)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = fn;
	sa.sa_flags = flags;
	sigemptyset(&sa.sa_mask);
	CT_ASSERT(sigaction(sig, &sa, NULL) == 0, "sigaction: %s", strerror(errno));
}

/* State letter of thread @tid (/proc/self/task/TID/stat), or 0. */
static char thread_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * Waits until the guest has said it is about to read and its thread sleeps
 * (blocked in the forwarded read), then signals that thread.
 */
static void *signaller(void *p)
{
	pid_t tid = (pid_t)(intptr_t)p;
	char c;
	int i;

	if (read(sync_pipe[0], &c, 1) != 1)
		return NULL;
	for (i = 0; i < 5000 && thread_state(tid) != 'S'; i++)
		usleep(1000);
	usleep(1000);
	syscall(SYS_tgkill, getpid(), tid, SIGUSR1);
	return NULL;
}

/*
 * Set up @vm and a page for *@buf, and run a guest that blocks in
 * read(data_pipe) until a SIGUSR1 handler (with @sa_flags) writes 'x';
 * returns after the first DUNE_ENTER.
 */
static int run_blocking_read(struct abi_vm *vm, struct dune_config *c, char **bufp,
			     int sa_flags, pthread_t *t)
{
	char *buf;

	abi_vm_setup(vm);
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(buf != MAP_FAILED, "mmap: %s", strerror(errno));
	*bufp = buf;
	CT_ASSERT(pipe(data_pipe) == 0 && pipe(sync_pipe) == 0, "pipe: %s", strerror(errno));
	handle(SIGUSR1, on_signal_write, sa_flags);
	abi_conf(vm, c, g_sync_read);
	c->r12 = (uint64_t)sync_pipe[1];
	c->r13 = (uint64_t)(uintptr_t)(buf + 64);
	c->r14 = (uint64_t)data_pipe[0];
	c->r15 = (uint64_t)(uintptr_t)buf;
	CT_ASSERT_EQ(pthread_create(t, NULL, signaller,
				    (void *)(intptr_t)syscall(SYS_gettid)), 0);
	return abi_enter(vm, c);
}

CTEST(signal_blocking,
      .id = "abi.signal.blocking_syscall",
      .profile = "signals",
      .what = "a signal during a blocking forwarded read ends the run with ret SIGNAL, the handler runs, and re-entering lets the guest finish",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	pthread_t t;
	char *buf;
	int r;

	r = run_blocking_read(&vm, &c, &buf, 0, &t);
	if (r == 0 && c.ret == DUNE_RET_EXIT)
		CT_ASSERT(0, "the run went on after the signal: read returned %lld to the guest",
			  (long long)(int64_t)c.rbx);
	ABI_ASSERT_RET(r, &c, DUNE_RET_SIGNAL);
	CT_EXPECT_EQ(sig_count, 1);
	r = abi_run(&vm, &c, 3, NULL);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	/* restarted (the original always restarts) or EINTR (no SA_RESTART) */
	CT_EXPECT(c.rbx == 1 || (int64_t)c.rbx == -EINTR,
		  "read returned %lld, want 1 (restarted) or -EINTR", (long long)(int64_t)c.rbx);
	if (c.rbx == 1)
		CT_EXPECT(buf[0] == 'x', "read 1 byte '%c', want 'x'", buf[0]);
	pthread_join(t, NULL);
}

CTEST(signal_restart,
      .id = "abi.signal.restart",
      .profile = "signals",
      .what = "with SA_RESTART, a read interrupted by a signal leaves RIP on the VMCALL and rax = the syscall number at the SIGNAL exit, and re-entry restarts it to completion",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	pthread_t t;
	char *buf;
	int r;

	r = run_blocking_read(&vm, &c, &buf, SA_RESTART, &t);
	ABI_ASSERT_RET(r, &c, DUNE_RET_SIGNAL);
	CT_EXPECT_EQ(sig_count, 1);
	CT_EXPECT_EQ(c.rip, abi_gva(&vm, g_sync_read_vmcall));
	CT_EXPECT_EQ(c.rax, NR_read);
	r = abi_run(&vm, &c, 3, NULL);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, 1);
	CT_EXPECT(buf[0] == 'x', "read '%c', want 'x'", buf[0]);
	pthread_join(t, NULL);
}

CTEST(signal_spin,
      .id = "abi.signal.guest_running",
      .profile = "signals",
      .what = "a signal while the guest spins (no syscall) ends the run with ret SIGNAL inside the loop, the handler runs, and re-entry continues the guest",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60,
      .destructive = "a module that regains control from a spinning guest only through host timer interrupts (the original) hangs the host")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t loop;
	int r;

	abi_vm_setup(&vm);
	sig_flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(sig_flag != MAP_FAILED, "mmap: %s", strerror(errno));
	abi_conf(&vm, &c, g_wait_flag);
	c.r12 = (uint64_t)(uintptr_t)sig_flag;
	handle(SIGALRM, on_signal_flag, 0);
	CT_ASSERT(setitimer(ITIMER_REAL, &(struct itimerval){ .it_value = { 0, 50000 } }, NULL) == 0,
		  "setitimer: %s", strerror(errno));
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_SIGNAL);
	CT_EXPECT_EQ(sig_count, 1);
	loop = abi_gva(&vm, g_wait_loop);
	CT_EXPECT(c.rip >= loop && c.rip < loop + 16, "rip %#llx is not in the guest's loop at %#llx",
		  (unsigned long long)c.rip, (unsigned long long)loop);
	r = abi_run(&vm, &c, 3, NULL);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, 0);
}

CTEST(signal_kill,
      .id = "abi.signal.kill_running",
      .profile = "signals",
      .what = "SIGKILL ends a process whose guest spins (no syscall, no exit of its own); the killer then still runs a guest",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t *never;
	int ready[2], st = 0, r;
	pid_t pid;
	char b;

	never = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(never != MAP_FAILED, "mmap: %s", strerror(errno));
	CT_ASSERT_EQ(pipe(ready), 0);
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		abi_vm_setup(&vm);
		abi_conf(&vm, &c, g_wait_flag);	/* *never stays 0 */
		c.r12 = (uint64_t)(uintptr_t)never;
		if (write(ready[1], "r", 1) != 1)
			_exit(2);
		abi_run(&vm, &c, 1000, NULL);
		_exit(3);	/* the guest never exits */
	}
	close(ready[1]);
	CT_ASSERT(read(ready[0], &b, 1) == 1, "the child did not get to its guest");
	usleep(100000);
	CT_ASSERT_EQ(kill(pid, SIGKILL), 0);
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	CT_EXPECT(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %#x, want killed by SIGKILL", st);

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_wait_flag);
	*never = 1;
	c.r12 = (uint64_t)(uintptr_t)never;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
}

/* ------------------------------------- a signal during vCPU creation */

/* exit(42) */
ABI_GUEST(g_exit42, G_EXIT(42));

/* What the traced child of abi.signal.pending_at_create saw (shared). */
struct create_sig {
	int r;				/* abi_run's result: 0 or -errno */
	int nsignals;			/* SIGNAL returns abi_run re-entered on */
	int64_t ret, status;
	int handled;			/* SIGUSR1 handler runs */
};

/*
 * The child: stop for the tracer, then create a vCPU whose guest exits
 * with 42, SIGUSR1 caught by a handler without SA_RESTART.
 */
static void __attribute__((noreturn)) create_sig_child(struct create_sig *out)
{
	struct abi_vm vm;
	struct dune_config c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL))
		_exit(20);
	raise(SIGSTOP);
	abi_vm_setup(&vm);	/* fails the child (exit 1) with a message */
	handle(SIGUSR1, on_signal_count, 0);
	abi_conf(&vm, &c, g_exit42);
	out->r = abi_run(&vm, &c, 3, &out->nsignals);
	out->ret = c.ret;
	out->status = c.status;
	out->handled = sig_count;
	_exit(0);
}

/*
 * The tracer: resume @pid from its syscall stops; at the entry of its
 * first DUNE_ENTER ioctl, resume it with SIGUSR1, which the kernel queues
 * (the tracer's signal at a syscall-entry stop) before the ioctl runs: the
 * ioctl starts with that signal pending, before any vCPU exists.  Signals
 * are passed on.  Returns the wait status of the child's end; *@entries
 * counts the DUNE_ENTER entries, *@first_rval is the first one's result.
 */
static int create_sig_trace(pid_t pid, int *entries, int64_t *first_rval)
{
	struct __ptrace_syscall_info si;
	int st = 0, sig = 0, stops;

	*entries = 0;
	*first_rval = 0;
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 20)
		CT_SKIP("PTRACE_TRACEME refused in the child (e.g. Yama ptrace_scope 3): no way to queue the signal before the ioctl runs");
	CT_ASSERT(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "child status %#x, want stopped by SIGSTOP", st);
	CT_ASSERT(ptrace(PTRACE_SETOPTIONS, pid, NULL,
			 (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) == 0,
		  "PTRACE_SETOPTIONS: %s", strerror(errno));
	for (stops = 0; stops < 100000; stops++) {
		CT_ASSERT(ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig) == 0,
			  "PTRACE_SYSCALL: %s", strerror(errno));
		sig = 0;
		CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
		if (!WIFSTOPPED(st))
			return st;
		if (WSTOPSIG(st) != (SIGTRAP | 0x80)) {
			sig = WSTOPSIG(st);	/* a signal-delivery stop */
			continue;
		}
		CT_ASSERT(ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(si), &si) > 0,
			  "PTRACE_GET_SYSCALL_INFO: %s", strerror(errno));
		if (si.op == PTRACE_SYSCALL_INFO_ENTRY && si.entry.nr == SYS_ioctl &&
		    (unsigned int)si.entry.args[1] == DUNE_ENTER) {
			if (++*entries == 1)
				sig = SIGUSR1;
		} else if (si.op == PTRACE_SYSCALL_INFO_EXIT && *entries == 1 && !*first_rval) {
			*first_rval = si.exit.rval;
		}
	}
	CT_ASSERT(0, "the child made no end after %d ptrace stops", stops);
	return -1;
}

CTEST(signal_pending_at_create,
      .id = "abi.signal.pending_at_create",
      .profile = "signals",
      .what = "a DUNE_ENTER that creates a vCPU while a caught signal is pending (queued before the ioctl runs) does not fail: the handler runs once and the guest runs to its exit (status 42), the signal's SA_RESTART (not set here) notwithstanding",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct create_sig *out;
	int64_t first_rval;
	int st, entries;
	pid_t pid;

	out = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(out != MAP_FAILED, "mmap: %s", strerror(errno));
	out->r = -ENODATA;
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0)
		create_sig_child(out);
	st = create_sig_trace(pid, &entries, &first_rval);
	ct_log("DUNE_ENTER entered %d times, the first returned %lld", entries, (long long)first_rval);
	CT_ASSERT(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x, want exit 0", st);
	CT_ASSERT(entries >= 1, "the child never entered DUNE_ENTER");
	CT_EXPECT(out->r == 0, "DUNE_ENTER failed with %s (the first one returned %lld to the tracer)",
		  strerror(-out->r), (long long)first_rval);
	if (out->r == 0) {
		CT_EXPECT(out->ret == DUNE_RET_EXIT && out->status == 42,
			  "ret %lld (%s) status %lld, want EXIT with 42",
			  (long long)out->ret, abi_ret_name(out->ret), (long long)out->status);
	}
	CT_EXPECT_EQ(out->handled, 1);
}

/* ------------------------------------------------------ vCPUs at once */

#define SPIN_ROUNDS	(1ULL << 34)	/* the runner's timeout comes first */

struct rdv_arg {
	struct abi_vm *vm;
	volatile uint64_t *counter;
	int slot;
	struct dune_config c;
	pid_t tid;
	int r;
};

static void rendezvous(struct rdv_arg *a)
{
	a->tid = (pid_t)syscall(SYS_gettid);
	abi_conf(a->vm, &a->c, g_rendezvous);
	a->c.rsp -= 4096 * (uint64_t)a->slot;
	a->c.r12 = (uint64_t)(uintptr_t)a->counter;
	a->c.r13 = SPIN_ROUNDS;
	a->r = abi_run(a->vm, &a->c, 100, NULL);
}

static void *rendezvous_thread(void *p)
{
	rendezvous(p);
	return NULL;
}

CTEST(threads_two_vcpus,
      .id = "abi.threads.two_vcpus",
      .profile = "threads",
      .what = "two threads of one process each create a vCPU on one fd and are in guest mode at the same time; each guest's gettid/getpid are its thread's",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 120)
{
	struct abi_vm vm;
	struct rdv_arg a[2];
	pthread_t t[2];
	uint64_t *counter;
	int i;

	abi_vm_setup(&vm);
	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(counter != MAP_FAILED, "mmap: %s", strerror(errno));
	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].vm = &vm;
		a[i].counter = counter;
		a[i].slot = i;
		CT_ASSERT_EQ(pthread_create(&t[i], NULL, rendezvous_thread, &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		CT_ASSERT_EQ(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		ABI_ASSERT_RET(a[i].r, &a[i].c, DUNE_RET_EXIT);
		CT_EXPECT(a[i].c.status == 0, "thread %d: the other vCPU never came (status %lld)",
			  i, (long long)a[i].c.status);
		CT_EXPECT_EQ(a[i].c.rbx, a[i].tid);
		CT_EXPECT_EQ(a[i].c.rbp, getpid());
	}
	CT_EXPECT(a[0].c.vcpu != a[1].c.vcpu, "both threads got vCPU handle %#llx",
		  (unsigned long long)a[0].c.vcpu);
	CT_EXPECT_EQ(*counter, 2);
}

CTEST(threads_two_processes,
      .id = "abi.threads.two_processes",
      .profile = "threads",
      .what = "two processes, each with its own fd and vCPU, are in guest mode at the same time and each guest's getpid is its own process's",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 120,
      .destructive = "two guests spinning at once on a module that regains control only through host timer interrupts (the original) hang the host")
{
	struct abi_vm vm;
	struct rdv_arg a;
	uint64_t *counter;
	pid_t parent = getpid(), pid;
	int st = 0;

	counter = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(counter != MAP_FAILED, "mmap: %s", strerror(errno));
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(20);
		abi_vm_setup(&vm);	/* fails the child (exit 1) with a message */
		memset(&a, 0, sizeof(a));
		a.vm = &vm;
		a.counter = counter;
		rendezvous(&a);
		if (a.r || a.c.ret != DUNE_RET_EXIT)
			_exit(21);
		if (a.c.status != 0)
			_exit(22);
		if ((pid_t)a.c.rbp != getpid())
			_exit(23);
		_exit(0);
	}
	abi_vm_setup(&vm);
	memset(&a, 0, sizeof(a));
	a.vm = &vm;
	a.counter = counter;
	rendezvous(&a);
	CT_ASSERT_EQ(waitpid(pid, &st, 0), pid);
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EXIT);
	CT_EXPECT(a.c.status == 0, "the other process's vCPU never came (status %lld)",
		  (long long)a.c.status);
	CT_EXPECT_EQ(a.c.rbp, getpid());
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "child status %#x (exit 21: run failed, 22: rendezvous timed out, 23: wrong getpid)", st);
	CT_EXPECT_EQ(*counter, 2);
}

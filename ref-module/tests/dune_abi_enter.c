// SPDX-License-Identifier: GPL-2.0
/*
 * dune_abi_enter.c - DUNE_ENTER with tiny guests built here: the guest's
 * page tables map the first GiB 1:1 (guest-virtual == guest-physical ==
 * host-virtual, the identity window), so the guest runs this program's
 * own code.  Built -static -no-pie so that code and data are low.
 * Each scenario runs in its own child process.  TAP 13 on stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cpuid.h>
#include <dirent.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include <dune/abi.h>

#include "tap.h"

#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_PS		0x080ULL
#define MIB2		(2ULL << 20)
#define SCRATCH_VA	0x30000000UL	/* inside the mapped first GiB */

/* ---------------------------------------------------------------- */
/* Guest code (runs in VMX non-root ring 0 at its host address)     */
/* ---------------------------------------------------------------- */

void guest_exit42(void);
void guest_getpid(void);
void guest_write(void);
void guest_cpuid(void);
void guest_reenter(void);
void guest_load_loop(void);
void guest_spin(void);
void guest_int3(void);
void guest_hlt(void);
void guest_ud2(void);
void guest_fork(void);
void guest_read(void);
void guest_read_vmcall(void);
void guest_getpid_loop(void);
void guest_syscall(void);

asm(".text\n"
    /* exit(42) */
    "guest_exit42:\n"
    "	mov $60, %eax\n"
    "	mov $42, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* rbx = getpid(); exit(0) */
    "guest_getpid:\n"
    "	mov $39, %eax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* rbx = write(rdi, rsi, rdx); exit(0) */
    "guest_write:\n"
    "	mov $1, %eax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* cpuid(0) into rax..rdx; exit(7) keeping them: r12 = ebx */
    "guest_cpuid:\n"
    "	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	mov %rbx, %r12\n"
    "	mov %rdx, %r13\n"
    "	mov %rcx, %r14\n"
    "	mov $60, %eax\n"
    "	mov $7, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* exit(42), and after re-entry exit(43) */
    "guest_reenter:\n"
    "	mov $60, %eax\n"
    "	mov $42, %edi\n"
    "	vmcall\n"
    "	mov $60, %eax\n"
    "	mov $43, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* forever: rbx = *r12; exit(0) */
    "guest_load_loop:\n"
    "	mov (%r12), %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	jmp guest_load_loop\n"
    "guest_spin:\n"
    "	jmp guest_spin\n"
    "guest_int3:\n"
    "	int3\n"
    "	ud2\n"
    "guest_hlt:\n"
    "	hlt\n"
    "	ud2\n"
    "guest_ud2:\n"
    "	ud2\n"
    /* fork(); parent: rbx = child, exit(0); child (plain Linux): exit(7) */
    "guest_fork:\n"
    "	mov $57, %eax\n"
    "	vmcall\n"
    "	test %rax, %rax\n"
    "	jz 1f\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    "1:	mov $60, %eax\n"
    "	mov $7, %edi\n"
    "	syscall\n"
    "	ud2\n"
    /* rbx = read(rdi, rsi, rdx); exit(0) */
    "guest_read:\n"
    "	xor %eax, %eax\n"
    "guest_read_vmcall:\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* rbx = syscall r12(rdi, rsi, rdx); exit(0) */
    "guest_syscall:\n"
    "	mov %r12, %rax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n"
    /* r12 times getpid(), then exit(pid); again after re-entry */
    "guest_getpid_loop:\n"
    "	mov $39, %eax\n"
    "	vmcall\n"
    "	dec %r12\n"
    "	jnz guest_getpid_loop\n"
    "	mov %rax, %rdi\n"
    "	mov $60, %eax\n"
    "	vmcall\n"
    "	jmp guest_getpid_loop\n");

/* ---------------------------------------------------------------- */
/* Guest memory: page tables and stack, 1:1 in the identity window  */
/* ---------------------------------------------------------------- */

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));
static uint8_t guest_stack[16384] __attribute__((aligned(4096)));

/* First GiB, 2 MiB pages, VA == PA. */
static void guest_pt_init(void)
{
	int i;

	for (i = 0; i < 512; i++)
		pd[i] = (uint64_t)i * MIB2 | PTE_P | PTE_W | PTE_PS;
	pdpt[0] = (uint64_t)(uintptr_t)pd | PTE_P | PTE_W;
	pml4[0] = (uint64_t)(uintptr_t)pdpt | PTE_P | PTE_W;
}

static void conf_init(struct dune_config *c, void (*fn)(void))
{
	memset(c, 0, sizeof(*c));
	c->rip = (uint64_t)(uintptr_t)fn;
	c->rsp = (uint64_t)(uintptr_t)(guest_stack + sizeof(guest_stack));
	c->rflags = 0x2;
	c->cr3 = (uint64_t)(uintptr_t)pml4;
}

static int dune_open(void)
{
	return open(DUNE_DEVICE_PATH, O_RDWR);
}

/* ---------------------------------------------------------------- */
/* Scenarios: return 0 pass, 1 fail, 2 skip, 3 pass with a note in msg */
/* ---------------------------------------------------------------- */

#define MSGLEN 400
typedef int (*scenario_fn)(int fd, char *msg);

#define FAIL(...) do { snprintf(msg, MSGLEN, __VA_ARGS__); return 1; } while (0)

static int enter(int fd, struct dune_config *c)
{
	return ioctl(fd, DUNE_ENTER, c);
}

static int t_enter_basic(int fd, char *msg)
{
	struct dune_config c;
	int r;

	conf_init(&c, guest_exit42);
	r = enter(fd, &c);
	if (r)
		FAIL("expected ioctl 0, got %d (%s)", r, strerror(errno));
	if (c.ret != DUNE_RET_EXIT || c.status != 42 || !c.vcpu)
		FAIL("expected ret=%d status=42 vcpu!=0, got ret=%lld status=%lld vcpu=%llu",
		     DUNE_RET_EXIT, (long long)c.ret, (long long)c.status,
		     (unsigned long long)c.vcpu);
	return 0;
}

static int t_vmcall_getpid(int fd, char *msg)
{
	struct dune_config c;
	int r;

	conf_init(&c, guest_getpid);
	c.rbx = 0x1111;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT)
		FAIL("expected ioctl 0 and ret=EXIT, got %d (%s) ret=%lld",
		     r, strerror(errno), (long long)c.ret);
	if ((long long)c.rbx != getpid())
		FAIL("expected getpid()=%d in the guest, got %lld", getpid(),
		     (long long)c.rbx);
	return 0;
}

static int t_vmcall_write(int fd, char *msg)
{
	static const char text[] = "hello from the guest";
	struct dune_config c;
	char buf[64] = "";
	int p[2], r;

	if (pipe(p))
		FAIL("pipe: %s", strerror(errno));
	conf_init(&c, guest_write);
	c.rdi = p[1];
	c.rsi = (uint64_t)(uintptr_t)text;
	c.rdx = sizeof(text);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT)
		FAIL("expected ioctl 0 and ret=EXIT, got %d ret=%lld", r,
		     (long long)c.ret);
	if (c.rbx != sizeof(text))
		FAIL("expected write() = %zu, got %lld", sizeof(text),
		     (long long)c.rbx);
	if (read(p[0], buf, sizeof(buf)) != sizeof(text) || strcmp(buf, text))
		FAIL("expected '%s' in the pipe, got '%s'", text, buf);
	return 0;
}

static int t_cpuid(int fd, char *msg)
{
	unsigned int a, b, cx, d;
	struct dune_config c;
	int r;

	__cpuid(0, a, b, cx, d);
	conf_init(&c, guest_cpuid);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.status != 7)
		FAIL("expected ioctl 0, ret=EXIT status=7, got %d ret=%lld status=%lld",
		     r, (long long)c.ret, (long long)c.status);
	if (c.r12 != b || c.r13 != d || c.r14 != cx)
		FAIL("expected host vendor %08x %08x %08x, got %08llx %08llx %08llx",
		     b, d, cx, (unsigned long long)c.r12,
		     (unsigned long long)c.r13, (unsigned long long)c.r14);
	return 0;
}

static int t_reenter(int fd, char *msg)
{
	struct dune_config c;
	uint64_t handle;
	int r;

	conf_init(&c, guest_reenter);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.status != 42)
		FAIL("first entry: expected EXIT/42, got %d ret=%lld status=%lld",
		     r, (long long)c.ret, (long long)c.status);
	handle = c.vcpu;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.status != 43 || c.vcpu != handle)
		FAIL("re-entry: expected EXIT/43 same handle, got %d (%s) ret=%lld status=%lld vcpu %llu->%llu",
		     r, strerror(errno), (long long)c.ret, (long long)c.status,
		     (unsigned long long)handle, (unsigned long long)c.vcpu);
	return 0;
}

static int t_bad_handle(int fd, char *msg)
{
	struct dune_config c;
	int fd2, r, e;

	conf_init(&c, guest_exit42);
	c.vcpu = 0xffff888000001000ULL;	/* looks like a kernel pointer */
	errno = 0;
	r = enter(fd, &c);
	e = errno;
	if (r != -1 || e != EINVAL)
		FAIL("made-up handle: expected -1/EINVAL, got %d/%s", r, strerror(e));

	/* a real handle, but of another file */
	conf_init(&c, guest_exit42);
	if (enter(fd, &c) || c.ret != DUNE_RET_EXIT)
		FAIL("setup: entry failed: %s", strerror(errno));
	fd2 = dune_open();
	if (fd2 < 0)
		FAIL("open: %s", strerror(errno));
	errno = 0;
	r = enter(fd2, &c);
	e = errno;
	close(fd2);
	if (r != -1 || e != EINVAL)
		FAIL("handle of another fd: expected -1/EINVAL, got %d/%s", r,
		     strerror(e));
	return 0;
}

struct thread_arg {
	int fd;
	struct dune_config c;
	int r, e;
};

static void *other_thread(void *p)
{
	struct thread_arg *a = p;

	errno = 0;
	a->r = enter(a->fd, &a->c);
	a->e = errno;
	return NULL;
}

static int t_bad_thread(int fd, char *msg)
{
	struct thread_arg a = { .fd = fd };
	pthread_t t;

	conf_init(&a.c, guest_exit42);
	if (enter(fd, &a.c) || a.c.ret != DUNE_RET_EXIT)
		FAIL("setup: entry failed: %s", strerror(errno));
	if (pthread_create(&t, NULL, other_thread, &a))
		FAIL("pthread_create failed");
	pthread_join(t, NULL);
	if (a.r != -1 || a.e != EPERM)
		FAIL("vCPU of another thread: expected -1/EPERM, got %d/%s",
		     a.r, strerror(a.e));
	return 0;
}

static int t_ept_munmap(int fd, char *msg)
{
	struct dune_config c;
	volatile uint64_t *p;
	int r;

	p = mmap((void *)SCRATCH_VA, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)SCRATCH_VA)
		FAIL("mmap at 0x%lx: %s", SCRATCH_VA, strerror(errno));
	*p = 1234;
	conf_init(&c, guest_load_loop);
	c.r12 = SCRATCH_VA;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.rbx != 1234)
		FAIL("guest read: expected EXIT and 1234, got %d ret=%lld rbx=%llu",
		     r, (long long)c.ret, (unsigned long long)c.rbx);

	munmap((void *)p, 4096);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EPT_VIOLATION)
		FAIL("after munmap: expected ret=EPT_VIOLATION(2), got %d ret=%lld rbx=%llu",
		     r, (long long)c.ret, (unsigned long long)c.rbx);

	p = mmap((void *)SCRATCH_VA, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)SCRATCH_VA)
		FAIL("re-mmap: %s", strerror(errno));
	*p = 5678;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.rbx != 5678)
		FAIL("after re-mmap: expected EXIT and 5678 (new page), got %d ret=%lld rbx=%llu",
		     r, (long long)c.ret, (unsigned long long)c.rbx);
	return 0;
}

static int t_ept_write_cow(int fd, char *msg)
{
	/* guest reads (maps read-only), host writes after fork-style COW */
	struct dune_config c;
	volatile uint64_t *p;
	int r;

	p = mmap((void *)SCRATCH_VA, 4096, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)SCRATCH_VA)
		FAIL("mmap: %s", strerror(errno));
	*p = 1;
	conf_init(&c, guest_load_loop);
	c.r12 = SCRATCH_VA;
	r = enter(fd, &c);
	if (r || c.rbx != 1)
		FAIL("first read: expected 1, got %d rbx=%llu", r,
		     (unsigned long long)c.rbx);
	/* the host changes the page: the guest must see the new value */
	*p = 2;
	r = enter(fd, &c);
	if (r || c.rbx != 2)
		FAIL("after host write: expected 2, got %d rbx=%llu", r,
		     (unsigned long long)c.rbx);
	/* mprotect(PROT_NONE) must take the page away from the guest too */
	mprotect((void *)p, 4096, PROT_NONE);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EPT_VIOLATION)
		FAIL("after mprotect(PROT_NONE): expected EPT_VIOLATION, got %d ret=%lld",
		     r, (long long)c.ret);
	return 0;
}

static int t_ept_unmapped(int fd, char *msg)
{
	struct dune_config c;
	int r;

	/* 896 MiB: mapped by the guest page tables, nothing on the host */
	conf_init(&c, guest_load_loop);
	c.r12 = 0x38000000UL;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EPT_VIOLATION)
		FAIL("expected ret=EPT_VIOLATION(2), got %d (%s) ret=%lld", r,
		     strerror(errno), (long long)c.ret);
	return 0;
}

static volatile sig_atomic_t got_alarm;

static void on_alarm(int sig)
{
	(void)sig;
	got_alarm = 1;
}

static int signal_test(int fd, char *msg, uint64_t rflags)
{
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct dune_config c;
	int r;

	signal(SIGALRM, on_alarm);
	setitimer(ITIMER_REAL, &it, NULL);
	conf_init(&c, guest_spin);
	c.rflags = rflags;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_SIGNAL || !got_alarm)
		FAIL("expected ioctl 0, ret=SIGNAL(4) and the handler run, got %d (%s) ret=%lld handler=%d",
		     r, strerror(errno), (long long)c.ret, (int)got_alarm);
	if (c.rip < (uint64_t)(uintptr_t)guest_spin ||
	    c.rip > (uint64_t)(uintptr_t)guest_spin + 2)
		FAIL("expected rip at guest_spin %p, got 0x%llx",
		     (void *)guest_spin, (unsigned long long)c.rip);
	return 0;
}

/* the guest spins with interrupts disabled (RFLAGS.IF = 0, as libdune) */
static int t_signal(int fd, char *msg)
{
	return signal_test(fd, msg, 0x2);
}

/* ... and enabled: external interrupts still exit to the host */
static int t_signal_if(int fd, char *msg)
{
	return signal_test(fd, msg, 0x202);
}

static int t_int3(int fd, char *msg)
{
	struct dune_config c;
	int r;

	conf_init(&c, guest_int3);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_INTERRUPT || c.status != 3)
		FAIL("expected ret=INTERRUPT(3) status=3, got %d ret=%lld status=%lld",
		     r, (long long)c.ret, (long long)c.status);
	return 0;
}

static int t_hlt(int fd, char *msg)
{
	struct dune_config c;
	int r;

	conf_init(&c, guest_hlt);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_UNHANDLED_VMEXIT)
		FAIL("expected ret=UNHANDLED_VMEXIT(5), got %d ret=%lld", r,
		     (long long)c.ret);
	return 0;
}

static int t_triple_fault(int fd, char *msg)
{
	struct dune_config c;
	int r;

	/* no IDT: #UD -> #GP -> #DF -> triple fault */
	conf_init(&c, guest_ud2);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_UNHANDLED_VMEXIT)
		FAIL("expected ret=UNHANDLED_VMEXIT(5), got %d ret=%lld", r,
		     (long long)c.ret);
	return 0;
}

static int t_bad_cr3(int fd, char *msg)
{
	struct dune_config c;
	int r;

	/* CR3 beyond phys_limit: the page walk hits no window */
	conf_init(&c, guest_exit42);
	c.cr3 = 1ULL << 51;
	r = enter(fd, &c);
	if (r == 0 && (c.ret == DUNE_RET_EPT_VIOLATION ||
		       c.ret == DUNE_RET_UNHANDLED_VMEXIT))
		return 0;
	if (r == -1 && errno == EIO)
		return 0;	/* VM entry refused the CR3 */
	FAIL("expected EPT_VIOLATION/UNHANDLED_VMEXIT or EIO, got %d (%s) ret=%lld",
	     r, strerror(errno), (long long)c.ret);
}

static int t_fork(int fd, char *msg)
{
	struct dune_config c;
	int r, st;
	pid_t w;

	conf_init(&c, guest_fork);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || (long long)c.rbx <= 0)
		FAIL("expected EXIT and a child pid in rbx, got %d ret=%lld rbx=%lld",
		     r, (long long)c.ret, (long long)c.rbx);
	w = waitpid((pid_t)c.rbx, &st, 0);
	if (w != (pid_t)c.rbx || !WIFEXITED(st) || WEXITSTATUS(st) != 7)
		FAIL("expected the child to leave Dune and exit(7), got wait=%d status=0x%x",
		     (int)w, st);
	return 0;
}

static int restart_pipe[2];

static void on_alarm_write(int sig)
{
	(void)sig;
	got_alarm = 1;
	if (write(restart_pipe[1], "x", 1) != 1)
		_exit(3);
}

static int t_restart(int fd, char *msg)
{
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct sigaction sa = { .sa_handler = on_alarm_write,
				.sa_flags = SA_RESTART };
	struct dune_config c;
	char buf[8];
	int r;

	if (pipe(restart_pipe))
		FAIL("pipe: %s", strerror(errno));
	/* SA_RESTART: the VMCALL is executed again after the handler */
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	conf_init(&c, guest_read);
	c.rdi = restart_pipe[0];
	c.rsi = (uint64_t)(uintptr_t)buf;
	c.rdx = sizeof(buf);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_SIGNAL || !got_alarm)
		FAIL("blocked read + signal: expected ret=SIGNAL(4), got %d ret=%lld handler=%d",
		     r, (long long)c.ret, (int)got_alarm);
	if (c.rip != (uint64_t)(uintptr_t)guest_read_vmcall || c.rax != 0)
		FAIL("SA_RESTART: expected rip back at the VMCALL %p and rax=0 (read), got rip=0x%llx rax=%lld",
		     (void *)guest_read_vmcall, (unsigned long long)c.rip,
		     (long long)c.rax);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.rbx != 1 || buf[0] != 'x')
		FAIL("re-entry: expected the restarted read to return 1 ('x'), got %d ret=%lld rbx=%lld",
		     r, (long long)c.ret, (long long)c.rbx);

	/* no SA_RESTART: the read fails with EINTR, as natively */
	got_alarm = 0;
	sa.sa_handler = on_alarm;
	sa.sa_flags = 0;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	c.rip = (uint64_t)(uintptr_t)guest_read;	/* honoured on re-entry */
	c.rdi = restart_pipe[0];
	c.rsi = (uint64_t)(uintptr_t)buf;
	c.rdx = sizeof(buf);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_SIGNAL || !got_alarm)
		FAIL("second read: expected ret=SIGNAL(4), got %d ret=%lld handler=%d",
		     r, (long long)c.ret, (int)got_alarm);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || (long long)c.rbx != -EINTR)
		FAIL("no SA_RESTART: expected read() = -EINTR, got %d ret=%lld rbx=%lld",
		     r, (long long)c.ret, (long long)c.rbx);
	return 0;
}

/*
 * pause() from the guest, interrupted by a signal with a handler: Linux
 * never restarts it (-ERESTARTNOHAND), SA_RESTART or not, so the guest
 * sees -EINTR once the handler ran.
 */
static int t_pause_eintr(int fd, char *msg)
{
	struct itimerval it = { .it_value = { 0, 50000 } };
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = SA_RESTART };
	struct dune_config c;
	int r;

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	conf_init(&c, guest_syscall);
	c.r12 = SYS_pause;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_SIGNAL || !got_alarm)
		FAIL("pause + signal: expected ret=SIGNAL(4), got %d ret=%lld handler=%d",
		     r, (long long)c.ret, (int)got_alarm);
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || (long long)c.rbx != -EINTR)
		FAIL("re-entry: expected pause() = -EINTR (handler, SA_RESTART does not restart pause), got %d ret=%lld rbx=%lld",
		     r, (long long)c.ret, (long long)c.rbx);
	return 0;
}

/* ---- a blocking VMCALL in a frozen cgroup (cgroup v2 freezer) ---- */

static int read_text(const char *path, char *buf, size_t size);

#define CG_MNT	"/tmp/dune-cg2"
#define CG_DIR	CG_MNT "/dune-freeze"

static int put_text(const char *path, const char *text)
{
	int f = open(path, O_WRONLY);
	ssize_t n;

	if (f < 0)
		return -1;
	n = write(f, text, strlen(text));
	close(f);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Wait (at most 10 s) for "frozen @want" in the cgroup's events. */
static int wait_frozen(int want)
{
	char text[256], line[16];
	int i;

	snprintf(line, sizeof(line), "frozen %d", want);
	for (i = 0; i < 1000; i++) {
		if (read_text(CG_DIR "/cgroup.events", text, sizeof(text)) == 0 &&
		    strstr(text, line))
			return 0;
		usleep(10000);
	}
	return -1;
}

/* The state letter of /proc/@pid/stat, or 0. */
static char proc_state(pid_t pid)
{
	char path[64], text[512], *p;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_text(path, text, sizeof(text)))
		return 0;
	p = strrchr(text, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * The controller: once the Dune process sleeps (in the guest's read),
 * freeze its cgroup, thaw it, then write @data into the pipe.  Exit 0,
 * or 2 when the freezer did not report the cgroup frozen.
 */
static void freeze_controller(pid_t dune, int go, int wr, const char *data, size_t len)
{
	char b;
	int i, frozen;

	if (read(go, &b, 1) != 1)
		_exit(1);
	for (i = 0; i < 500 && proc_state(dune) != 'S'; i++)
		usleep(10000);
	usleep(100000);
	frozen = put_text(CG_DIR "/cgroup.freeze", "1") == 0 && wait_frozen(1) == 0;
	put_text(CG_DIR "/cgroup.freeze", "0");
	wait_frozen(0);
	if (write(wr, data, len) != (ssize_t)len)
		_exit(1);
	_exit(frozen ? 0 : 2);
}

/*
 * The guest blocks in a read() VMCALL; its process's cgroup is frozen
 * (cgroup v2: the freezer wakes the task with no signal pending, so the
 * read ends with a restart code) and thawed, then the data arrives: the
 * read restarts on its own and returns the data, and the runs in between
 * end with DUNE_RET_SIGNAL only (libdune enters again).
 */
static int t_freeze(int fd, char *msg)
{
	static const char data[] = "after the thaw";
	static char buf[64];
	struct dune_config c;
	int p[2], go[2], r, st, signals = 0, mounted = 0;
	char pid[24];
	pid_t ctl;

	if (access(CG_MNT "/cgroup.controllers", F_OK)) {
		mkdir(CG_MNT, 0755);
		if (mount("none", CG_MNT, "cgroup2", 0, NULL)) {
			snprintf(msg, MSGLEN, "cannot mount cgroup2 on %s: %s", CG_MNT,
				 strerror(errno));
			return 2;
		}
		mounted = 1;
	}
	if (mkdir(CG_DIR, 0755) && errno != EEXIST)
		FAIL("mkdir %s: %s", CG_DIR, strerror(errno));
	if (access(CG_DIR "/cgroup.freeze", W_OK)) {
		rmdir(CG_DIR);
		if (mounted)
			umount(CG_MNT);
		snprintf(msg, MSGLEN, "no cgroup v2 freezer (%s/cgroup.freeze): %s", CG_DIR,
			 strerror(errno));
		return 2;
	}
	if (pipe(p) || pipe(go))
		FAIL("pipe: %s", strerror(errno));
	ctl = fork();
	if (ctl < 0)
		FAIL("fork: %s", strerror(errno));
	if (ctl == 0)
		freeze_controller(getppid(), go[0], p[1], data, sizeof(data));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (put_text(CG_DIR "/cgroup.procs", pid))
		FAIL("moving this process into %s: %s", CG_DIR, strerror(errno));
	conf_init(&c, guest_read);
	c.rdi = p[0];
	c.rsi = (uint64_t)(uintptr_t)buf;
	c.rdx = sizeof(buf);
	if (write(go[1], "g", 1) != 1)
		FAIL("write: %s", strerror(errno));
	r = enter(fd, &c);
	while (r == 0 && c.ret == DUNE_RET_SIGNAL && signals < 100) {
		signals++;
		r = enter(fd, &c);
	}
	put_text(CG_MNT "/cgroup.procs", pid);
	rmdir(CG_DIR);
	if (mounted)
		umount(CG_MNT);
	if (waitpid(ctl, &st, 0) != ctl || !WIFEXITED(st))
		FAIL("the controller process did not exit");
	if (r || c.ret != DUNE_RET_EXIT)
		FAIL("expected the run to end with ret=EXIT after %d SIGNAL returns, got %d (%s) ret=%lld",
		     signals, r, r ? strerror(errno) : "ok", (long long)c.ret);
	if (c.rbx != sizeof(data) || memcmp(buf, data, sizeof(data)))
		FAIL("expected the restarted read() to return %zu ('%s'), got %lld ('%.20s')",
		     sizeof(data), data, (long long)c.rbx, buf);
	if (WEXITSTATUS(st) == 2) {
		snprintf(msg, MSGLEN, "the cgroup never reported 'frozen 1': the read was not frozen (%d SIGNAL returns)",
			 signals);
		return 2;
	}
	if (WEXITSTATUS(st))
		FAIL("the controller failed (exit %d)", WEXITSTATUS(st));
	snprintf(msg, MSGLEN, "frozen and thawed in the read; %d SIGNAL returns", signals);
	return 3;
}

static int t_nested_enter(int fd, char *msg)
{
	struct dune_config c, inner;
	int r;

	conf_init(&inner, guest_exit42);
	conf_init(&c, guest_syscall);
	c.r12 = 16;	/* ioctl */
	c.rdi = fd;
	c.rsi = DUNE_ENTER;
	c.rdx = (uint64_t)(uintptr_t)&inner;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || (long long)c.rbx != -EBUSY)
		FAIL("DUNE_ENTER from the guest: expected -EBUSY, got %d ret=%lld rbx=%lld",
		     r, (long long)c.ret, (long long)c.rbx);
	/* other /dev/dune ioctls from the guest are fine */
	conf_init(&c, guest_syscall);
	c.r12 = 16;
	c.rdi = fd;
	c.rsi = DUNE_GET_SYSCALL;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.rbx < 0xffff800000000000ULL)
		FAIL("DUNE_GET_SYSCALL from the guest: expected a kernel address, got %d ret=%lld rbx=%#llx",
		     r, (long long)c.ret, (unsigned long long)c.rbx);
	return 0;
}

#define NTHREADS	3
#define NLOOPS		50

struct loop_arg {
	int fd;
	int fails;
	char why[128];
};

static void *getpid_loop_thread(void *p)
{
	struct loop_arg *a = p;
	struct dune_config c;
	int i;

	conf_init(&c, guest_getpid_loop);
	for (i = 0; i < 4; i++) {
		c.r12 = NLOOPS;	/* GPRs are reloaded on re-entry */
		if (enter(a->fd, &c) || c.ret != DUNE_RET_EXIT ||
		    c.status != getpid()) {
			a->fails++;
			snprintf(a->why, sizeof(a->why),
				 "iteration %d: errno %d ret=%lld status=%lld",
				 i, errno, (long long)c.ret, (long long)c.status);
		}
	}
	return NULL;
}

static int t_threads(int fd, char *msg)
{
	struct loop_arg a[NTHREADS];
	pthread_t t[NTHREADS];
	int i;

	for (i = 0; i < NTHREADS; i++) {
		a[i] = (struct loop_arg){ .fd = fd };
		if (pthread_create(&t[i], NULL, getpid_loop_thread, &a[i]))
			FAIL("pthread_create failed");
	}
	for (i = 0; i < NTHREADS; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < NTHREADS; i++)
		if (a[i].fails)
			FAIL("thread %d: %d failures, last: %s", i, a[i].fails,
			     a[i].why);
	return 0;
}

static long debugfs_read(const char *name)
{
	char path[128], buf[32];
	long v = -1;
	ssize_t n;
	int f;

	snprintf(path, sizeof(path), "/sys/kernel/debug/dune/%s", name);
	f = open(path, O_RDONLY);
	if (f < 0)
		return -1;
	n = read(f, buf, sizeof(buf) - 1);
	close(f);
	if (n > 0) {
		buf[n] = '\0';
		v = strtol(buf, NULL, 10);
	}
	return v;
}

/* AnonHugePages of the mapping that starts at @va, in kB, or -1. */
static long smaps_anon_huge_kb(unsigned long va)
{
	char line[256];
	unsigned long start;
	long kb = -1;
	int in = 0;
	FILE *f;

	f = fopen("/proc/self/smaps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-", &start) == 1 && strchr(line, '-') &&
		    strchr(line, ' ') > strchr(line, '-'))
			in = start == va;
		else if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1)
			break;
	}
	fclose(f);
	return kb;
}

/*
 * Not a check: the path length of a VMCALL getpid round trip in TSC ticks
 * (in the Bochs lab one tick per emulated instruction), next to a native
 * getpid, printed as a TAP comment.
 */
static int t_path_length(int fd, char *msg)
{
	struct dune_config c;
	uint64_t t0, t1, t2;
	int i, r;

	conf_init(&c, guest_getpid_loop);
	c.r12 = 10;	/* warm up: EPT faults, first entry */
	if (enter(fd, &c))
		FAIL("warm-up entry: %s", strerror(errno));
	c.r12 = 1000;
	t0 = __builtin_ia32_rdtsc();
	r = enter(fd, &c);
	t1 = __builtin_ia32_rdtsc();
	if (r || c.ret != DUNE_RET_EXIT)
		FAIL("expected EXIT, got %d ret=%lld", r, (long long)c.ret);
	for (i = 0; i < 1000; i++)
		syscall(SYS_getpid);
	t2 = __builtin_ia32_rdtsc();
	snprintf(msg, MSGLEN, "VMCALL getpid %llu ticks, native getpid %llu ticks",
		 (unsigned long long)(t1 - t0) / 1000,
		 (unsigned long long)(t2 - t1) / 1000);
	return 3;
}

/* SIGKILL a process whose guest spins: it dies, its vCPU goes away. */
static int t_kill_running(int fd, char *msg)
{
	struct dune_config c;
	long live0, live1;
	int st, i;
	pid_t pid;

	live0 = debugfs_read("vcpus_live");
	pid = fork();
	if (pid == 0) {
		conf_init(&c, guest_spin);
		enter(fd, &c);
		_exit(1);	/* not reached: SIGKILL */
	}
	usleep(200000);
	kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid || !WIFSIGNALED(st) ||
	    WTERMSIG(st) != SIGKILL)
		FAIL("expected the spinning child to die of SIGKILL, status 0x%x", st);
	/* the child's fd is closed; ours (shared file) still holds its vCPU */
	close(fd);
	for (i = 0; i < 50; i++) {
		live1 = debugfs_read("vcpus_live");
		if (live1 <= live0)
			break;
		usleep(20000);
	}
	if (live0 >= 0 && live1 > live0)
		FAIL("expected vcpus_live back to %ld after the last close, got %ld",
		     live0, live1);
	return 0;
}

static void *enter_exit42(void *p)
{
	struct dune_config c;
	int fd = *(int *)p;

	conf_init(&c, guest_exit42);
	if (enter(fd, &c) || c.ret != DUNE_RET_EXIT)
		*(int *)p = -1;
	return NULL;
}

/*
 * Threads that created vCPUs and exited, the file still open: their vCPUs
 * are freed at the next DUNE_ENTER on the file, and by the module's
 * reaper when nobody enters again.
 */
static int t_thread_exit_frees(int fd, char *msg)
{
	long live0, live1 = -1;
	struct dune_config c;
	pthread_t th[4];
	int i, arg[4];

	live0 = debugfs_read("vcpus_live");
	if (live0 < 0) {
		snprintf(msg, MSGLEN, "no /sys/kernel/debug/dune/vcpus_live");
		return 2;
	}
	for (i = 0; i < 4; i++) {
		arg[i] = fd;
		if (pthread_create(&th[i], NULL, enter_exit42, &arg[i]))
			FAIL("pthread_create: %s", strerror(errno));
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		if (arg[i] < 0)
			FAIL("thread %d: its guest did not exit(42)", i);
	}
	/* the reaper (about once a second) */
	for (i = 0; i < 100; i++) {
		live1 = debugfs_read("vcpus_live");
		if (live1 <= live0)
			break;
		usleep(50000);
	}
	if (live1 > live0)
		FAIL("4 threads exited, the file open: vcpus_live %ld, %ld before (the reaper did not free them)",
		     live1, live0);
	/* at the next DUNE_ENTER */
	for (i = 0; i < 2; i++) {
		arg[i] = fd;
		if (pthread_create(&th[i], NULL, enter_exit42, &arg[i]))
			FAIL("pthread_create: %s", strerror(errno));
		pthread_join(th[i], NULL);
	}
	conf_init(&c, guest_exit42);
	if (enter(fd, &c) || c.ret != DUNE_RET_EXIT)
		FAIL("main thread: expected EXIT");
	live1 = debugfs_read("vcpus_live");
	if (live1 > live0 + 1)
		FAIL("after two more threads exited, a DUNE_ENTER of this thread leaves vcpus_live %ld (want %ld: only its own)",
		     live1, live0 + 1);
	return 0;
}

/* Pin this thread to @cpu; returns 0 or -1. */
static int pin_to(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int t_migrate(int fd, char *msg)
{
	struct dune_config c;
	long before, after;
	int i, r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
		snprintf(msg, MSGLEN, "needs 2 CPUs (the lab's SMP boot runs it: module.enter_smp)");
		return 2;
	}
	before = debugfs_read("vcpu_migrations");
	conf_init(&c, guest_getpid_loop);
	for (i = 0; i < 6; i++) {
		if (pin_to(i & 1))
			FAIL("sched_setaffinity(CPU %d): %s", i & 1, strerror(errno));
		c.r12 = 5;
		r = enter(fd, &c);
		if (r || c.ret != DUNE_RET_EXIT || c.status != getpid())
			FAIL("entry %d on CPU %d: expected EXIT with getpid(), got %d (%s) ret=%lld status=%lld",
			     i, i & 1, r, strerror(errno), (long long)c.ret,
			     (long long)c.status);
	}
	after = debugfs_read("vcpu_migrations");
	if (before >= 0 && after - before < 5)
		FAIL("expected >= 5 vCPU migrations in debugfs, got %ld", after - before);
	return 0;
}

#define THP_VA	0x32000000UL	/* 2 MiB aligned, inside the first GiB */

/* ---- preempted anywhere: a real-time thread on the same CPU ---- */

#define RT_ROUNDS	400

static volatile int rt_stop;
static volatile long rt_wakeups;

/* Wake every 20 us (SCHED_FIFO: each wakeup preempts the Dune thread). */
static void *rt_ticker(void *p)
{
	struct timespec ts = { 0, 20000 };

	(void)p;
	while (!rt_stop) {
		clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL);
		rt_wakeups++;
	}
	return NULL;
}

static void rt_notify(struct dune_trap_regs *regs, void *priv)
{
	(void)regs;
	(void)priv;
}

/*
 * A SCHED_FIFO thread on the same CPU wakes every 20 us, so the Dune
 * thread is preempted wherever a wakeup finds it: in the module's short
 * preempt-off sections too (vCPU setup, the preempt notifier's
 * registration around each run, the trap's), which then reschedule at
 * their preempt_enable().  Every vCPU creation, run (getpid VMCALLs) and
 * trap enable/disable still gives the right result.
 */
static int t_rt_preempt(int fd, char *msg)
{
	static struct dune_trap_regs tregs;
	struct sched_param sp = { .sched_priority = 1 };
	struct dune_trap_config tc;
	struct dune_config c;
	pthread_attr_t attr;
	pthread_t t;
	int i, r, f, fail = 0;

	if (pin_to(0))
		FAIL("sched_setaffinity(CPU 0): %s", strerror(errno));
	pthread_attr_init(&attr);
	pthread_attr_setinheritsched(&attr, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(&attr, SCHED_FIFO);
	pthread_attr_setschedparam(&attr, &sp);
	r = pthread_create(&t, &attr, rt_ticker, NULL);
	if (r) {
		snprintf(msg, MSGLEN, "cannot start a SCHED_FIFO thread: %s", strerror(r));
		return 2;
	}
	memset(&tc, 0, sizeof(tc));
	tc.trigger_rip = (uint64_t)(uintptr_t)guest_spin;	/* never reached */
	tc.notify_func = rt_notify;
	tc.regs = &tregs;
	tc.regs_size = sizeof(tregs);
	for (i = 0; i < RT_ROUNDS && !fail; i++) {
		f = dune_open();
		if (f < 0) {
			snprintf(msg, MSGLEN, "round %d: open: %s", i, strerror(errno));
			fail = 1;
			break;
		}
		conf_init(&c, guest_getpid_loop);
		c.r12 = 4;
		r = enter(f, &c);
		if (r || c.ret != DUNE_RET_EXIT || c.status != getpid()) {
			snprintf(msg, MSGLEN, "round %d: expected ret=EXIT status=%d, got %d (%s) ret=%lld status=%lld",
				 i, getpid(), r, r ? strerror(errno) : "ok", (long long)c.ret,
				 (long long)c.status);
			fail = 1;
		} else if (ioctl(f, DUNE_TRAP_ENABLE, &tc) || ioctl(f, DUNE_TRAP_ENABLE, &tc) ||
			   ioctl(f, DUNE_TRAP_DISABLE, 0)) {
			snprintf(msg, MSGLEN, "round %d: DUNE_TRAP_ENABLE twice, then DISABLE: %s",
				 i, strerror(errno));
			fail = 1;
		}
		close(f);
	}
	rt_stop = 1;
	pthread_join(t, NULL);
	(void)fd;
	if (fail)
		return 1;
	if (rt_wakeups < RT_ROUNDS)
		FAIL("the SCHED_FIFO thread woke only %ld times in %d rounds: it did not run beside the Dune thread",
		     rt_wakeups, RT_ROUNDS);
	snprintf(msg, MSGLEN, "%d rounds, %ld wakeups of the real-time thread", RT_ROUNDS, rt_wakeups);
	return 3;
}

static int t_ept_thp(int fd, char *msg)
{
	struct dune_config c;
	long before, after;
	uint8_t *p;
	int r;

	before = debugfs_read("ept_maps_2m");
	if (before < 0) {
		snprintf(msg, MSGLEN, "no /sys/kernel/debug/dune/ept_maps_2m");
		return 2;
	}
	p = mmap((void *)THP_VA, 4 * MIB2, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != (void *)THP_VA)
		FAIL("mmap: %s", strerror(errno));
	madvise(p, 4 * MIB2, MADV_HUGEPAGE);
	memset(p, 0x5a, 4 * MIB2);
	conf_init(&c, guest_load_loop);
	c.r12 = THP_VA + MIB2 + 8;
	r = enter(fd, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.rbx != 0x5a5a5a5a5a5a5a5aULL)
		FAIL("guest read: expected EXIT and 0x5a..., got %d ret=%lld rbx=0x%llx",
		     r, (long long)c.ret, (unsigned long long)c.rbx);
	after = debugfs_read("ept_maps_2m");
	if (after > before) {
		/* punch a 4 KiB hole: the host splits the THP, the 2 MiB
		 * EPT leaf must go, the rest of the block must stay readable */
		munmap(p + MIB2, 4096);
		r = enter(fd, &c);
		if (r || c.ret != DUNE_RET_EPT_VIOLATION)
			FAIL("read in the hole: expected EPT_VIOLATION, got %d ret=%lld",
			     r, (long long)c.ret);
		conf_init(&c, guest_load_loop);
		c.r12 = THP_VA + MIB2 + 8192;
		c.rbx = 0;
		r = enter(fd, &c);
		if (r || c.ret != DUNE_RET_EXIT || c.rbx != 0x5a5a5a5a5a5a5a5aULL)
			FAIL("read next to the hole: expected EXIT and 0x5a..., got %d ret=%lld rbx=0x%llx",
			     r, (long long)c.ret, (unsigned long long)c.rbx);
		return 0;
	}
	if (smaps_anon_huge_kb(THP_VA) > 0)
		FAIL("the host maps it with THPs (AnonHugePages %ld kB) but ept_maps_2m stayed %ld",
		     smaps_anon_huge_kb(THP_VA), after);
	snprintf(msg, MSGLEN, "the host did not back it with a THP (AnonHugePages 0)");
	return 2;
}

/* Read debugfs file @path into @buf (NUL-terminated); -1 if absent. */
/*
 * A task under a seccomp filter may not enter: its hypercalls would bypass
 * the filter (EPERM, unless allow_seccomp_bypass=1).
 */
static int t_seccomp(int fd, char *msg)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };
	struct dune_config c;
	char bypass = 'N';
	int pfd, r;

	pfd = open("/sys/module/dune/parameters/allow_seccomp_bypass", O_RDONLY);
	if (pfd >= 0) {
		if (read(pfd, &bypass, 1) != 1)
			bypass = 'N';
		close(pfd);
	}
	if (bypass == 'Y') {
		snprintf(msg, MSGLEN, "dune.ko loaded with allow_seccomp_bypass=1");
		return 2;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
		FAIL("cannot install a seccomp filter: %s", strerror(errno));
	conf_init(&c, guest_exit42);
	r = enter(fd, &c);
	if (r != -1 || errno != EPERM)
		FAIL("expected DUNE_ENTER under a seccomp filter to fail with EPERM, got %d (%s), ret %lld",
		     r, r ? strerror(errno) : "no error", (long long)c.ret);
	return 0;
}

static int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int f = open(path, O_RDONLY);

	if (f < 0)
		return -1;
	n = read(f, buf, size - 1);
	close(f);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return 0;
}

/* The number after "@key " at the start of a line of @text, or -1. */
static long long field(const char *text, const char *key)
{
	size_t k = strlen(key);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, key, k) && p[k] == ' ')
			return strtoll(p + k + 1, NULL, 0);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* vcpus/<tgid>.<tid>.<file>.<handle> of this thread's vCPU @handle. */
static int find_vcpu_dir(uint64_t handle, char *dir, size_t size)
{
	const char *base = "/sys/kernel/debug/dune/vcpus";
	char prefix[64], suffix[32];
	struct dirent *e;
	int found = 0;
	DIR *d;

	snprintf(prefix, sizeof(prefix), "%d.%d.", getpid(), (int)syscall(SYS_gettid));
	snprintf(suffix, sizeof(suffix), ".%llu", (unsigned long long)handle);
	d = opendir(base);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name), k = strlen(suffix);

		if (!strncmp(e->d_name, prefix, strlen(prefix)) && n > k &&
		    !strcmp(e->d_name + n - k, suffix)) {
			snprintf(dir, size, "%s/%.60s", base, e->d_name);
			found++;
		}
	}
	closedir(d);
	return found == 1 ? 0 : -1;
}

/*
 * The per-vCPU view: after two runs of a guest that makes two VMCALLs
 * each, vcpus/<tgid>.<tid>.<file>.<handle>/exits counts 4 VMCALL exits and 2
 * runs, last_exit says VMCALL (18) and ret EXIT; closing the file
 * removes the directory.
 */
static int t_debugfs_vcpu(int fd, char *msg)
{
	char dir[128], path[192], text[2048];
	struct dune_config c;
	long long n;
	int i;

	conf_init(&c, guest_getpid);
	for (i = 0; i < 2; i++) {
		if (enter(fd, &c) || c.ret != DUNE_RET_EXIT)
			FAIL("run %d: expected ret=EXIT, got %lld (%s)", i,
			     (long long)c.ret, strerror(errno));
		c.rip = (uint64_t)(uintptr_t)guest_getpid;
		c.rsp = (uint64_t)(uintptr_t)(guest_stack + sizeof(guest_stack));
	}
	if (find_vcpu_dir(c.vcpu, dir, sizeof(dir)))
		FAIL("no /sys/kernel/debug/dune/vcpus/%d.%d.<file>.%llu/ for this vCPU",
		     getpid(), (int)syscall(SYS_gettid), (unsigned long long)c.vcpu);
	snprintf(path, sizeof(path), "%s/exits", dir);
	if (read_text(path, text, sizeof(text)))
		FAIL("cannot read %.150s: %s", path, strerror(errno));
	if (!strstr(text, "18 VMCALL 4\n"))
		FAIL("expected '18 VMCALL 4' in vcpus/*/exits, got: %.200s", text);
	if ((n = field(text, "runs")) != 2)
		FAIL("expected 'runs 2' in vcpus/*/exits, got %lld", n);
	snprintf(path, sizeof(path), "%s/last_exit", dir);
	if (read_text(path, text, sizeof(text)))
		FAIL("cannot read %.150s: %s", path, strerror(errno));
	if (field(text, "reason") != 18 || field(text, "ret") != DUNE_RET_EXIT ||
	    field(text, "failed_entry") != 0)
		FAIL("expected reason 18, ret %d, failed_entry 0 in vcpus/*/last_exit, got: %.200s",
		     DUNE_RET_EXIT, text);
	close(fd);
	if (access(dir, F_OK) == 0)
		FAIL("%.120s still exists after the file was closed", dir);
	return 0;
}

/* Read vcpus/<vcpu>/vmcs: 0 with its text, or -1 with errno. */
static int vmcs_read_snap(const char *path, char *buf, size_t size)
{
	size_t got = 0;
	ssize_t n;
	int f = open(path, O_RDONLY);

	if (f < 0)
		return -1;
	while (got + 1 < size && (n = read(f, buf + got, size - 1 - got)) > 0)
		got += n;
	if (n < 0 && got == 0) {
		int e = errno;

		close(f);
		errno = e;
		return -1;
	}
	close(f);
	buf[got] = 0;
	return 0;
}

/* Write @req to vcpus/<vcpu>/vmcs: 0, or -1 with errno. */
static int vmcs_request(const char *path, const char *req)
{
	ssize_t n;
	int f = open(path, O_WRONLY), e;

	if (f < 0)
		return -1;
	n = write(f, req, strlen(req));
	e = errno;
	close(f);
	errno = e;
	return n == (ssize_t)strlen(req) ? 0 : -1;
}

/* One more run of guest_getpid (two VMCALL exits). */
static int run_getpid(int fd, struct dune_config *c)
{
	c->rip = (uint64_t)(uintptr_t)guest_getpid;
	c->rsp = (uint64_t)(uintptr_t)(guest_stack + sizeof(guest_stack));
	return enter(fd, c) || c->ret != DUNE_RET_EXIT ? -1 : 0;
}

/*
 * The requests of vcpus/<vcpu>/vmcs (vmcs_dump.c): nothing to read
 * (ENODATA) before a request and while the requested exit reason has not
 * come; "every 18" takes a snapshot at each VMCALL exit (seq counts
 * them), "off" stops them (seq stays), "next 18" takes one more; a
 * malformed request is refused with EINVAL.
 */
static int t_debugfs_vmcs(int fd, char *msg)
{
	static const char *const bad[] = { "off 18", "sometimes", "every -1",
					   "next 100000", "" };
	char dir[128], path[192], text[65536];
	struct dune_config c;
	long long seq;
	int i;

	conf_init(&c, guest_getpid);
	if (run_getpid(fd, &c))
		FAIL("expected ret=EXIT, got %lld (%s)", (long long)c.ret, strerror(errno));
	if (find_vcpu_dir(c.vcpu, dir, sizeof(dir)))
		FAIL("no /sys/kernel/debug/dune/vcpus/%d.%d.<file>.%llu/ for this vCPU",
		     getpid(), (int)syscall(SYS_gettid), (unsigned long long)c.vcpu);
	snprintf(path, sizeof(path), "%s/vmcs", dir);
	if (vmcs_read_snap(path, text, sizeof(text)) == 0 || errno != ENODATA)
		FAIL("expected ENODATA reading vcpus/*/vmcs before any request, got %s",
		     errno == ENODATA ? "data" : strerror(errno));
	/* 12: HLT, an exit guest_getpid never takes */
	if (vmcs_request(path, "next 12"))
		FAIL("write 'next 12': %s", strerror(errno));
	if (run_getpid(fd, &c))
		FAIL("run after 'next 12': ret %lld", (long long)c.ret);
	if (vmcs_read_snap(path, text, sizeof(text)) == 0 || errno != ENODATA)
		FAIL("expected ENODATA while no HLT exit came after 'next 12', got %s",
		     errno == ENODATA ? "data" : strerror(errno));
	if (vmcs_request(path, "every 18"))
		FAIL("write 'every 18': %s", strerror(errno));
	if (run_getpid(fd, &c))
		FAIL("run after 'every 18': ret %lld", (long long)c.ret);
	if (vmcs_read_snap(path, text, sizeof(text)))
		FAIL("read after 'every 18' and a run: %s", strerror(errno));
	if ((seq = field(text, "seq")) != 2 || field(text, "exit_reason") != 18)
		FAIL("expected seq 2 (both VMCALL exits) and exit_reason 0x12 after 'every 18', got seq %lld exit_reason %lld",
		     seq, field(text, "exit_reason"));
	if (vmcs_request(path, "off"))
		FAIL("write 'off': %s", strerror(errno));
	if (run_getpid(fd, &c))
		FAIL("run after 'off': ret %lld", (long long)c.ret);
	if (vmcs_read_snap(path, text, sizeof(text)) || (seq = field(text, "seq")) != 2)
		FAIL("expected the snapshot of seq 2 to stay after 'off' and a run, got seq %lld (%s)",
		     seq, strerror(errno));
	if (vmcs_request(path, "next 18"))
		FAIL("write 'next 18': %s", strerror(errno));
	if (run_getpid(fd, &c))
		FAIL("run after 'next 18': ret %lld", (long long)c.ret);
	if (vmcs_read_snap(path, text, sizeof(text)) || (seq = field(text, "seq")) != 3)
		FAIL("expected seq 3 (one more snapshot) after 'next 18' and a run of two VMCALLs, got seq %lld (%s)",
		     seq, strerror(errno));
	for (i = 0; bad[i][0]; i++)
		if (vmcs_request(path, bad[i]) == 0 || errno != EINVAL)
			FAIL("expected EINVAL for the request '%s', got %s", bad[i],
			     errno == EINVAL ? "success" : strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------- */

static const struct {
	const char *id;
	scenario_fn fn;
	int timeout;
} scenarios[] = {
	{ "module.enter.basic", t_enter_basic, 20 },
	{ "module.vmcall.getpid", t_vmcall_getpid, 20 },
	{ "module.vmcall.write", t_vmcall_write, 20 },
	{ "module.exit.cpuid", t_cpuid, 20 },
	{ "module.enter.reenter", t_reenter, 20 },
	{ "module.bad.vcpu_handle", t_bad_handle, 20 },
	{ "module.bad.vcpu_thread", t_bad_thread, 20 },
	{ "module.bad.nested_enter", t_nested_enter, 20 },
	{ "module.ept.munmap", t_ept_munmap, 20 },
	{ "module.ept.host_changes", t_ept_write_cow, 20 },
	{ "module.ept.unmapped", t_ept_unmapped, 20 },
	{ "module.exit.signal_if", t_signal_if, 30 },
	{ "module.exit.signal", t_signal, 30 },
	{ "module.exit.int3", t_int3, 20 },
	{ "module.exit.hlt", t_hlt, 20 },
	{ "module.exit.triple_fault", t_triple_fault, 20 },
	{ "module.exit.bad_cr3", t_bad_cr3, 20 },
	{ "module.vmcall.fork", t_fork, 20 },
	{ "module.vmcall.restart", t_restart, 30 },
	{ "module.vmcall.pause_eintr", t_pause_eintr, 30 },
	{ "module.vmcall.freeze", t_freeze, 60 },
	{ "module.enter.threads", t_threads, 60 },
	{ "module.ept.thp", t_ept_thp, 30 },
	{ "module.enter.migrate", t_migrate, 30 },
	{ "module.enter.rt_preempt", t_rt_preempt, 120 },
	{ "module.exit.kill_running", t_kill_running, 30 },
	{ "module.debugfs.vcpu", t_debugfs_vcpu, 20 },
	{ "module.debugfs.vmcs", t_debugfs_vmcs, 30 },
	{ "module.enter.thread_exit_frees", t_thread_exit_frees, 30 },
	{ "module.vmcall.path_length", t_path_length, 60 },
	{ "module.enter.seccomp_refused", t_seccomp, 20 },
};

#define NSCEN (int)(sizeof(scenarios) / sizeof(scenarios[0]))

static void run(int i, char *shared)
{
	int status, fd;
	pid_t pid;

	memset(shared, 0, MSGLEN);
	pid = fork();
	if (pid == 0) {
		alarm(scenarios[i].timeout);
		guest_pt_init();
		fd = dune_open();
		if (fd < 0) {
			snprintf(shared, MSGLEN, "open %s: %s",
				 DUNE_DEVICE_PATH, strerror(errno));
			_exit(1);
		}
		_exit(scenarios[i].fn(fd, shared));
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		tap_check(0, scenarios[i].id, "fork/wait failed");
		return;
	}
	if (WIFSIGNALED(status))
		tap_check(0, scenarios[i].id, "child killed by signal %d%s",
			  WTERMSIG(status),
			  WTERMSIG(status) == SIGALRM ? " (timeout)" : "");
	else if (WEXITSTATUS(status) == 2)
		tap_skip(scenarios[i].id, "%s", shared);
	else if (WEXITSTATUS(status) == 3) {	/* pass, with a note */
		tap_check(1, scenarios[i].id, "%s", shared);
		tap_diag("%s: %s", scenarios[i].id, shared);
	}
	else
		tap_check(WEXITSTATUS(status) == 0, scenarios[i].id, "%s",
			  shared);
}

int main(int argc, char **argv)
{
	char *shared;
	int i;

	shared = mmap(NULL, MSGLEN, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	tap_plan(argc > 1 ? argc - 1 : NSCEN);
	for (i = 0; i < NSCEN; i++) {
		int j, want = argc == 1;

		for (j = 1; j < argc; j++)
			want |= !strcmp(argv[j], scenarios[i].id);
		if (want)
			run(i, shared);
	}
	return tap_done();
}

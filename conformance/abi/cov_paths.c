// SPDX-License-Identifier: MIT
/*
 * cov_paths.c - paths of the module that no other test took (`make
 * coverage`, harness/coverage/unreached.list): DUNE_ENTER from the guest
 * of a threaded process, an execve() from the guest, a guest reading a
 * lazily populated VM_PFNMAP mapping (the vDSO data page), a vCPU whose
 * CPU goes offline, and the caller's non-zero segment selectors and
 * hardware breakpoints around DUNE_ENTER.  (The other one, a trap's regs
 * buffer across a page boundary, is in trap.c with the trap helpers.)
 *
 * The selector/breakpoint tests check the ABI (docs/abi.md section 3:
 * DUNE_ENTER is an ioctl, which leaves the caller's state alone).  The others check what only
 * dunebench's module promises (docs/abi.md, "What ref-module/ does
 * differently"): extension tests, which SKIP on a module without the
 * dunebench extensions (DUNE_LAYOUT_EXT answers ENOTTY).
 */
#include "abi_util.h"
#include "ct_thread.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME	0x00000080
#endif

/* SKIP unless the module has the dunebench extensions. */
static void need_dunebench_module(void)
{
	struct dune_layout_ext e;
	int fd = abi_open(), r, err;

	CT_ASSERT(fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	memset(&e, 0, sizeof(e));
	r = ioctl(fd, DUNE_LAYOUT_EXT, &e);	/* flags 0: the classic layout */
	err = errno;
	close(fd);
	if (r && err == ENOTTY)
		CT_SKIP("DUNE_LAYOUT_EXT answers ENOTTY: not dunebench's module, whose behaviour this checks");
}

/* Wait for @pid; its exit status, or -1 (killed; *@sig its signal). */
static int exit_code(pid_t pid, int *sig)
{
	int st = 0;

	*sig = 0;
	CT_ASSERT(waitpid(pid, &st, 0) == pid, "waitpid: %s", strerror(errno));
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	*sig = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
	return -1;
}

/* ------------------------------------------------------------------ */
/* DUNE_ENTER from the guest of a threaded process                      */
/* ------------------------------------------------------------------ */

/* rbx = ioctl(rdi, rsi, rdx); exit(0) */
ABI_GUEST(g_cov_ioctl, "mov $16, %eax\n vmcall\n mov %rax, %rbx\n" G_EXIT(0));

static void *cov_blocked_thread(void *arg)
{
	char c;

	return (void *)(intptr_t)read((int)(intptr_t)arg, &c, 1);
}

CTEST(ext_nested_enter_threads,
      .id = "abi.ext.nested_enter_threads",
      .profile = "threads",
      .what = "in a process with a second thread (so its file table is shared), ioctl(DUNE_ENTER) made from the guest on the device fd or a dup of it fails with EBUSY, and on a file that is not the device gets that file's answer (ENOTTY); the guest goes on",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c, inner;
	int p[2], r, i, nullfd, dupfd;
	pthread_t th;
	void *tret;

	need_dunebench_module();
	abi_vm_setup(&vm);
	CT_ASSERT_EQ(pipe(p), 0);
	CT_ASSERT_EQ(pthread_create(&th, NULL, cov_blocked_thread, (void *)(intptr_t)p[0]), 0);
	nullfd = open("/dev/null", O_RDWR);
	dupfd = dup(vm.fd);
	CT_ASSERT(nullfd >= 0 && dupfd >= 0, "open /dev/null, dup: %s", strerror(errno));
	for (i = 0; i < 3; i++) {
		int fd = i == 0 ? vm.fd : i == 1 ? dupfd : nullfd;
		int64_t want = i < 2 ? -EBUSY : -ENOTTY;

		abi_conf(&vm, &inner, g_cov_ioctl);
		abi_conf(&vm, &c, g_cov_ioctl);
		c.rdi = (uint64_t)fd;
		c.rsi = DUNE_ENTER;
		c.rdx = (uint64_t)(uintptr_t)&inner;
		r = abi_enter(&vm, &c);
		ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
		CT_EXPECT((int64_t)c.rbx == want, "fd %d (%s): ioctl(DUNE_ENTER) from the guest gave %lld, want %lld",
			  fd, i == 0 ? "the device" : i == 1 ? "a dup of the device" : "/dev/null",
			  (long long)(int64_t)c.rbx, (long long)want);
	}
	CT_ASSERT_EQ(write(p[1], "x", 1), 1);
	CT_ASSERT_EQ(pthread_join(th, &tret), 0);
	CT_EXPECT((intptr_t)tret == 1, "the second thread's read gave %ld", (long)(intptr_t)tret);
	close(nullfd);
	close(dupfd);
}

/* ------------------------------------------------------------------ */
/* execve() from the guest                                              */
/* ------------------------------------------------------------------ */

/* rbx = execve(rdi, rsi, rdx); exit(5): only when execve failed */
ABI_GUEST(g_cov_execve, "mov $59, %eax\n vmcall\n mov %rax, %rbx\n" G_EXIT(5));

#define EXEC_STATUS	37

CTEST(ext_execve,
      .id = "abi.ext.execve",
      .profile = "fork",
      .what = "an execve() of /bin/sh from the guest replaces the process: the new program runs from its start outside Dune (it exits 37 as its arguments say) and the old one never sees DUNE_ENTER return",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	static char *const argv[] = { "sh", "-c", "exit 37", NULL };
	static char *const envp[] = { "PATH=/bin:/usr/bin", NULL };
	int code, sig;
	pid_t pid;

	need_dunebench_module();
	CT_ASSERT(access("/bin/sh", X_OK) == 0, "/bin/sh: %s", strerror(errno));
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct abi_vm vm;
		struct dune_config c;
		int r;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		abi_vm_setup(&vm);
		abi_conf(&vm, &c, g_cov_execve);
		c.rdi = (uint64_t)(uintptr_t)"/bin/sh";
		c.rsi = (uint64_t)(uintptr_t)argv;
		c.rdx = (uint64_t)(uintptr_t)envp;
		r = abi_enter(&vm, &c);
		if (r == 0 && c.ret == DUNE_RET_EXIT && c.status == 5)
			_exit(10);	/* execve failed */
		_exit(11);		/* DUNE_ENTER returned into the old program */
	}
	code = exit_code(pid, &sig);
	CT_EXPECT(code == EXEC_STATUS, "child: %s %d, want exit %d (%s)", code < 0 ? "signal" : "exit",
		  code < 0 ? sig : code, EXEC_STATUS,
		  code == 10 ? "the guest's execve failed" :
		  code == 11 ? "DUNE_ENTER returned into the old program" : "the new program did not run to its end");
}

/* ------------------------------------------------------------------ */
/* A lazily populated VM_PFNMAP mapping: the vDSO data page               */
/* ------------------------------------------------------------------ */

/* rbx = *r12, rbp = *(r12 + 8); exit(0) */
ABI_GUEST(g_cov_peek2, "mov (%r12), %rbx\n mov 8(%r12), %rbp\n" G_EXIT(0));

#define PFN_OK		0
#define PFN_GUEST	3	/* the guest's read did not end in exit(0) */
#define PFN_DIFFER	4	/* guest and host read different values */
#define PFN_WINDOW	5	/* [vvar] is outside the windows */
#define PFN_ZERO	6	/* both read 0: not the data page */
#define PFN_NO_TIMENS	77

/* Start of [vvar] in /proc/self/maps, or 0. */
static uint64_t vvar_start(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[256];
	unsigned long long lo = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, "[vvar]")) {
			sscanf(line, "%llx-", &lo);
			break;
		}
	fclose(f);
	return lo;
}

/*
 * In a fresh process whose [vvar] is not populated: guest read, then host
 * read, of the vdso_data at offset 128 of its first page (x86's vvar page;
 * in a time namespace its stand-in, whose seq and clock_mode stay put).
 */
static int __attribute__((noreturn)) pfnmap_child(uint64_t page)
{
	uint64_t va = page + 128;
	struct abi_vm vm;
	struct dune_config c;
	uint64_t h0, h1;
	int r;

	abi_vm_setup(&vm);
	if (abi_hva_to_gpa(&vm.layout, page) < 0)
		_exit(PFN_WINDOW);
	abi_conf(&vm, &c, g_cov_peek2);
	c.r12 = va;
	r = abi_enter(&vm, &c);
	if (r || c.ret != DUNE_RET_EXIT || c.status != 0) {
		printf("# guest read of [vvar] at %#llx: ioctl %d ret %lld (%s)\n", (unsigned long long)va, r,
		       (long long)c.ret, abi_ret_name(c.ret));
		fflush(stdout);
		_exit(PFN_GUEST);
	}
	h0 = *(volatile uint64_t *)(uintptr_t)va;
	h1 = *(volatile uint64_t *)(uintptr_t)(va + 8);
	printf("# [vvar] at %#llx: guest read %#llx %#llx, host %#llx %#llx\n", (unsigned long long)va,
	       (unsigned long long)c.rbx, (unsigned long long)c.rbp, (unsigned long long)h0,
	       (unsigned long long)h1);
	fflush(stdout);
	if (c.rbx != h0 || c.rbp != h1)
		_exit(PFN_DIFFER);
	_exit(h0 || h1 ? PFN_OK : PFN_ZERO);
}

CTEST(ext_pfnmap_lazy,
      .id = "abi.ext.pfnmap_lazy",
      .profile = "vm",
      .what = "a guest reads a VM_PFNMAP mapping whose page the host has not faulted in yet (the vDSO data page [vvar] of a process that just joined a new time namespace): the module faults it in and the guest reads what the host then reads there",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	uint64_t va = vvar_start();
	int code, sig;
	pid_t pid;

	need_dunebench_module();
	if (!va)
		CT_SKIP("no [vvar] mapping in /proc/self/maps");
	pid = fork();
	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		pid_t g;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* a new time namespace: the next child's [vvar] is zapped at fork */
		if (unshare(CLONE_NEWTIME))
			_exit(PFN_NO_TIMENS);
		g = fork();
		if (g < 0)
			_exit(PFN_GUEST);
		if (g == 0)
			pfnmap_child(va);
		code = exit_code(g, &sig);
		_exit(code < 0 ? 100 + sig : code);
	}
	code = exit_code(pid, &sig);
	if (code == PFN_NO_TIMENS)
		CT_SKIP("unshare(CLONE_NEWTIME) failed (no time namespaces, or not root): no process with an unpopulated [vvar] to test");
	CT_EXPECT(code == PFN_OK, "child: %s %d: %s", code < 0 ? "signal" : "exit", code < 0 ? sig : code,
		  code == PFN_GUEST ? "the guest's read of [vvar] did not end in exit(0)" :
		  code == PFN_DIFFER ? "the guest read other values than the host" :
		  code == PFN_WINDOW ? "[vvar] is outside the Dune windows" :
		  code == PFN_ZERO ? "both read 0 (not the vDSO data page)" : "died");
}

/* ------------------------------------------------------------------ */
/* A vCPU's CPU going offline                                           */
/* ------------------------------------------------------------------ */

/* rbx = r12 + 1, rbp = r13 (the value the previous run left there); exit(0) */
ABI_GUEST(g_cov_incr, "lea 1(%r12), %rbx\n mov %r13, %rbp\n" G_EXIT(0));

#define CPU1_ONLINE	"/sys/devices/system/cpu/cpu1/online"

static int set_online(const char *v)
{
	int fd = open(CPU1_ONLINE, O_WRONLY), r;

	if (fd < 0)
		return -errno;
	r = write(fd, v, 1) == 1 ? 0 : -errno;
	close(fd);
	return r;
}

/* Re-enter the vCPU of @c (the config its last run returned) at g_cov_incr. */
static int reenter(struct abi_vm *vm, struct dune_config *c, uint64_t x, struct dune_config *out)
{
	uint64_t vcpu = c->vcpu;

	abi_conf(vm, out, g_cov_incr);
	out->vcpu = vcpu;
	out->r12 = x;
	out->r13 = x ^ 0x5a5a;
	return abi_enter(vm, out);
}

CTEST(ext_cpu_offline,
      .id = "abi.ext.cpu_offline",
      .profile = "core",
      .what = "a vCPU last run on CPU 1 runs on CPU 0 after CPU 1 went offline (its VMCS cleared there), and on CPU 1 again once it is back online (VMX turned on there again)",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .destructive = "takes CPU 1 offline for a moment (and back online)",
      .timeout = 120)
{
	struct abi_vm vm;
	struct dune_config c, c2, c3;
	int r1, r2, r3, off, on;

	need_dunebench_module();
	if (access(CPU1_ONLINE, W_OK))
		CT_SKIP("%s is not writable (no CPU hotplug here, or not root)", CPU1_ONLINE);
	CT_ASSERT(ct_pin(1) == 0, "pin to CPU 1: %s", strerror(errno));
	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_cov_incr);
	c.r12 = 41;
	c.r13 = 41 ^ 0x5a5a;
	r1 = abi_enter(&vm, &c);	/* the vCPU is now loaded on CPU 1 */
	ABI_ASSERT_RET(r1, &c, DUNE_RET_EXIT);
	CT_ASSERT(ct_pin(0) == 0, "pin to CPU 0: %s", strerror(errno));
	off = set_online("0");
	r2 = off ? 0 : reenter(&vm, &c, 100, &c2);
	on = set_online("1");	/* back online before any assertion */
	CT_ASSERT(off == 0, "offline CPU 1: %s", strerror(-off));
	CT_ASSERT(on == 0, "online CPU 1 again: %s", strerror(-on));
	ABI_ASSERT_RET(r2, &c2, DUNE_RET_EXIT);
	CT_EXPECT(c2.rbx == 101 && c2.rbp == (100 ^ 0x5a5a),
		  "on CPU 0 after CPU 1 went offline: rbx %#llx rbp %#llx, want 101 and %#x",
		  (unsigned long long)c2.rbx, (unsigned long long)c2.rbp, 100 ^ 0x5a5a);
	CT_EXPECT_EQ(c2.vcpu, c.vcpu);
	CT_ASSERT(ct_pin(1) == 0, "pin to CPU 1 again: %s", strerror(errno));
	r3 = reenter(&vm, &c2, 200, &c3);
	ABI_ASSERT_RET(r3, &c3, DUNE_RET_EXIT);
	CT_EXPECT(c3.rbx == 201 && c3.rbp == (200 ^ 0x5a5a),
		  "on CPU 1 back online: rbx %#llx rbp %#llx, want 201 and %#x",
		  (unsigned long long)c3.rbx, (unsigned long long)c3.rbp, 200 ^ 0x5a5a);
	CT_EXPECT_EQ(c3.vcpu, c.vcpu);
}

/* ------------------------------------------------------------------ */
/* The caller's segment selectors and hardware breakpoints               */
/* ------------------------------------------------------------------ */

#define USER_DS_SEL	0x2b	/* __USER_DS: a flat data segment, base 0 */

struct sel_out {
	uint16_t ds, es, fs, gs;
	int64_t ret;
};

/*
 * cov_enter_sels(fd, conf, out, fsbase, request): load USER_DS_SEL into
 * DS, ES, FS and GS (base 0: no TLS from here on, so no libc), ioctl(fd,
 * request, conf)
 * by the syscall instruction, store the four selectors and the result in
 * *out, then give FS its base back (arch_prctl(ARCH_SET_FS, @fsbase),
 * which loads selector 0) and GS selector 0.
 */
int64_t cov_enter_sels(int fd, struct dune_config *conf, struct sel_out *out, uint64_t fsbase,
		       unsigned long request);
__asm__(".text\n"
	"cov_enter_sels:\n"
	"	push %rbx\n"
	"	push %r12\n"
	"	push %r13\n"
	"	mov %rdx, %r12\n"		/* out */
	"	mov %rcx, %r13\n"		/* fsbase */
	"	mov $0x2b, %eax\n"
	"	mov %eax, %ds\n"
	"	mov %eax, %es\n"
	"	mov %eax, %fs\n"
	"	mov %eax, %gs\n"
	"	mov %rsi, %rdx\n"		/* conf */
	"	mov %r8, %rsi\n"		/* request */
	"	mov $16, %eax\n"		/* ioctl(fd = rdi) */
	"	syscall\n"
	"	mov %rax, 8(%r12)\n"
	"	mov %ds, %ax\n mov %ax, 0(%r12)\n"
	"	mov %es, %ax\n mov %ax, 2(%r12)\n"
	"	mov %fs, %ax\n mov %ax, 4(%r12)\n"
	"	mov %gs, %ax\n mov %ax, 6(%r12)\n"
	"	xor %eax, %eax\n"
	"	mov %eax, %gs\n"
	"	mov $158, %eax\n"		/* arch_prctl(ARCH_SET_FS, fsbase) */
	"	mov $0x1002, %edi\n"
	"	mov %r13, %rsi\n"
	"	syscall\n"
	"	mov 8(%r12), %rax\n"
	"	pop %r13\n"
	"	pop %r12\n"
	"	pop %rbx\n"
	"	ret\n");

/* rbx = 77; exit(0) */
ABI_GUEST(g_cov_77, "mov $77, %ebx\n" G_EXIT(0));

CTEST(enter_keeps_selectors,
      .id = "abi.enter.keeps_selectors",
      .profile = "core",
      .what = "DUNE_ENTER returns with the caller's DS, ES, FS and GS selectors (all non-zero here: the user data selector) as they were before it",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct abi_vm vm;
	struct dune_config c;
	struct sel_out o;
	unsigned long fsbase = 0;
	int64_t r;

	abi_vm_setup(&vm);
	CT_ASSERT(syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fsbase) == 0,
		  "arch_prctl(ARCH_GET_FS): %s", strerror(errno));
	abi_conf(&vm, &c, g_cov_77);
	memset(&o, 0, sizeof(o));
	r = cov_enter_sels(vm.fd, &c, &o, fsbase, DUNE_ENTER);
	CT_ASSERT(r == 0 && c.ret == DUNE_RET_EXIT && c.rbx == 77,
		  "DUNE_ENTER with selectors %#x: %lld, ret %lld (%s), rbx %llu", USER_DS_SEL, (long long)r,
		  (long long)c.ret, abi_ret_name(c.ret), (unsigned long long)c.rbx);
	CT_EXPECT(o.ds == USER_DS_SEL && o.es == USER_DS_SEL && o.fs == USER_DS_SEL && o.gs == USER_DS_SEL,
		  "after DUNE_ENTER: ds %#x es %#x fs %#x gs %#x, want %#x each", o.ds, o.es, o.fs, o.gs,
		  USER_DS_SEL);
}

static volatile uint64_t cov_watched;

CTEST(enter_keeps_breakpoints,
      .id = "abi.enter.keeps_breakpoints",
      .profile = "core",
      .what = "a hardware write breakpoint the caller armed (perf_event_open, PERF_TYPE_BREAKPOINT) still fires on a write right after DUNE_ENTER returns (the module puts the debug registers back after a VM exit)",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct perf_event_attr a;
	struct abi_vm vm;
	struct dune_config c;
	uint64_t n0 = 0, n1 = 0;
	int pfd, r, i;

	abi_vm_setup(&vm);
	memset(&a, 0, sizeof(a));
	a.type = PERF_TYPE_BREAKPOINT;
	a.size = sizeof(a);
	a.bp_type = HW_BREAKPOINT_W;
	a.bp_addr = (uint64_t)(uintptr_t)&cov_watched;
	a.bp_len = HW_BREAKPOINT_LEN_8;
	a.exclude_kernel = 1;
	a.exclude_hv = 1;
	pfd = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
	if (pfd < 0)
		CT_SKIP("perf_event_open(PERF_TYPE_BREAKPOINT): %s (perf_event_paranoid, or no hardware breakpoints)",
			strerror(errno));
	cov_watched = 1;
	CT_ASSERT(read(pfd, &n0, sizeof(n0)) == sizeof(n0), "read the counter: %s", strerror(errno));
	CT_ASSERT(n0 >= 1, "the breakpoint did not fire before DUNE_ENTER (count %llu): cannot test",
		  (unsigned long long)n0);
	for (i = 0; i < 3; i++) {
		abi_conf(&vm, &c, g_cov_77);
		r = abi_enter(&vm, &c);
		ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
		cov_watched = 2 + i;	/* right after the VM exit */
	}
	CT_ASSERT(read(pfd, &n1, sizeof(n1)) == sizeof(n1), "read the counter: %s", strerror(errno));
	close(pfd);
	CT_EXPECT(n1 - n0 == 3, "the breakpoint fired %llu times on the 3 writes after DUNE_ENTER, want 3",
		  (unsigned long long)(n1 - n0));
}

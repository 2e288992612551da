// SPDX-License-Identifier: MIT
/*
 * enter.c - DUNE_ENTER, the VMCALL system-call convention and the exits
 * (docs/abi.md sections 3, 4 and 6), with tiny guests from abi_util.
 */
#include "abi_util.h"

#include <cpuid.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

/* exit(rdi) */
ABI_GUEST(g_exit, "mov $60, %eax\n vmcall\n g_exit_ret: ud2\n");
ABI_GUEST_LABEL(g_exit_ret);
/* exit_group(rdi) */
ABI_GUEST(g_exit_group, "mov $231, %eax\n vmcall\n ud2\n");
/* rbx = syscall rax(rdi, rsi, rdx, r10, r8, r9); exit(0) */
ABI_GUEST(g_syscall, "vmcall\n mov %rax, %rbx\n" G_EXIT(0));
/* every GPR but rax/rdi/rsp inverted; [rsp - 8] = rdi; exit(rax) */
ABI_GUEST(g_gprs,
	  "not %rbx\n not %rcx\n not %rdx\n not %rsi\n not %rbp\n"
	  "not %r8\n not %r9\n not %r10\n not %r11\n not %r12\n not %r13\n"
	  "not %r14\n not %r15\n"
	  "xchg %rax, %rdi\n push %rax\n mov $60, %eax\n vmcall\n ud2\n");
/* getpid() by VMCALL with markers in every other GPR; exit(rax) keeps them */
ABI_GUEST(g_keep, "mov $39, %eax\n vmcall\n mov %rax, %rdi\n mov $60, %eax\n vmcall\n ud2\n");
/* cpuid(0): r12 = ebx, r13 = edx, r14 = ecx; exit(0) */
ABI_GUEST(g_cpuid,
	  "xor %eax, %eax\n xor %ecx, %ecx\n cpuid\n"
	  "mov %rbx, %r12\n mov %rdx, %r13\n mov %rcx, %r14\n" G_EXIT(0));
ABI_GUEST(g_int3, "int3\n ud2\n");
/* runs with RFLAGS.TF: #DB after the first instruction */
ABI_GUEST(g_single_step, "nop\n nop\n nop\n" G_EXIT(0));
ABI_GUEST(g_hlt, "hlt\n" G_EXIT(0));
/* wrmsr(IA32_TSC_AUX, 0) */
ABI_GUEST(g_wrmsr, "mov $0xc0000103, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr\n" G_EXIT(0));

#define MAGIC	0x1122334455667788ULL

CTEST(enter_exit,
      .id = "abi.enter.exit",
      .profile = "core",
      .what = "DUNE_ENTER with vcpu 0 creates a vCPU whose guest runs exit(42) at once: ioctl 0, ret EXIT, status 42, a non-zero vcpu handle, RIP past the VMCALL",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_exit);
	c.rdi = 42;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, 42);
	CT_EXPECT(c.vcpu != 0, "no vCPU handle came back");
	CT_EXPECT_EQ(c.rip, abi_gva(&vm, g_exit_ret));
}

CTEST(enter_gprs,
      .id = "abi.enter.gprs",
      .profile = "core",
      .what = "the guest starts with the config's GPRs, RSP and RFLAGS, and the config holds the guest's registers when it stops",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	static const size_t regs[] = {
		DUNE_CFG_RBX, DUNE_CFG_RCX, DUNE_CFG_RDX, DUNE_CFG_RSI, DUNE_CFG_RBP,
		DUNE_CFG_R8, DUNE_CFG_R9, DUNE_CFG_R10, DUNE_CFG_R11, DUNE_CFG_R12,
		DUNE_CFG_R13, DUNE_CFG_R14, DUNE_CFG_R15,
	};
	struct dune_config c, in;
	uint64_t v, got;
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_gprs);
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		v = MAGIC + i * 0x0101010101010101ULL;
		memcpy((char *)&c + regs[i], &v, 8);
	}
	c.rax = 0x55;			/* becomes the exit status */
	c.rdi = MAGIC ^ 0xffff;		/* pushed on the guest stack */
	c.rflags = 0x2 | 0x1;		/* CF: untouched by the guest */
	in = c;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, 0x55);
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		memcpy(&v, (char *)&in + regs[i], 8);
		memcpy(&got, (char *)&c + regs[i], 8);
		CT_EXPECT(got == ~v, "config offset %#zx: in %#llx, out %#llx, want %#llx",
			  regs[i], (unsigned long long)v, (unsigned long long)got,
			  (unsigned long long)~v);
	}
	CT_EXPECT_EQ(c.rsp, in.rsp - 8);
	CT_EXPECT_EQ(*(uint64_t *)(uintptr_t)(in.rsp - 8), in.rdi);
	CT_EXPECT_EQ(c.rdi, 0x55);
	CT_EXPECT(c.rflags & 0x1, "RFLAGS.CF lost: rflags %#llx", (unsigned long long)c.rflags);
}

CTEST(vmcall_preserves,
      .id = "abi.vmcall.preserves_regs",
      .profile = "core",
      .what = "a VMCALL (getpid) changes only rax: every other GPR, RCX and R11 included, keeps its value",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const size_t regs[] = {
		DUNE_CFG_RBX, DUNE_CFG_RCX, DUNE_CFG_RDX, DUNE_CFG_RSI, DUNE_CFG_RBP,
		DUNE_CFG_R8, DUNE_CFG_R9, DUNE_CFG_R10, DUNE_CFG_R11, DUNE_CFG_R12,
		DUNE_CFG_R13, DUNE_CFG_R14, DUNE_CFG_R15,
	};
	struct abi_vm vm;
	struct dune_config c, in;
	uint64_t v, got;
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_keep);
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		v = MAGIC ^ (i * 0x1111111111111111ULL);
		memcpy((char *)&c + regs[i], &v, 8);
	}
	in = c;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, getpid());
	for (i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		memcpy(&v, (char *)&in + regs[i], 8);
		memcpy(&got, (char *)&c + regs[i], 8);
		CT_EXPECT(got == v, "config offset %#zx changed by the VMCALL: %#llx -> %#llx",
			  regs[i], (unsigned long long)v, (unsigned long long)got);
	}
	CT_EXPECT_EQ(c.rsp, in.rsp);
}

CTEST(vmcall_getpid,
      .id = "abi.vmcall.getpid",
      .profile = "core",
      .what = "a VMCALL with rax = getpid returns the calling process's pid in rax",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_syscall);
	c.rax = NR_getpid;
	c.rbx = 0x1111;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, getpid());
}

struct tid_arg {
	struct abi_vm *vm;
	struct dune_config c;
	pid_t tid;
	int r;
};

static void *gettid_thread(void *p)
{
	struct tid_arg *a = p;

	a->tid = (pid_t)syscall(SYS_gettid);
	abi_conf(a->vm, &a->c, g_syscall);
	a->c.rax = NR_gettid;
	a->r = abi_enter(a->vm, &a->c);
	return NULL;
}

CTEST(vmcall_gettid,
      .id = "abi.vmcall.gettid",
      .profile = "core",
      .what = "a VMCALL gettid from a vCPU created by a second thread returns that thread's tid, not the process's pid",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct tid_arg a;
	pthread_t t;

	abi_vm_setup(&vm);
	memset(&a, 0, sizeof(a));
	a.vm = &vm;
	CT_ASSERT_EQ(pthread_create(&t, NULL, gettid_thread, &a), 0);
	CT_ASSERT_EQ(pthread_join(t, NULL), 0);
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EXIT);
	CT_EXPECT(a.tid != getpid(), "the thread's tid equals the pid");
	CT_EXPECT_EQ(a.c.rbx, a.tid);
}

CTEST(vmcall_write,
      .id = "abi.vmcall.write",
      .profile = "core",
      .what = "a VMCALL write(pipe, guest buffer, n) returns n and the pipe holds the guest's bytes",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const char text[] = "written by the guest through VMCALL";
	struct abi_vm vm;
	struct dune_config c;
	char *buf, got[64] = "";
	int p[2], r;

	abi_vm_setup(&vm);
	CT_ASSERT_EQ(pipe(p), 0);
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(buf != MAP_FAILED, "mmap: %s", strerror(errno));
	memcpy(buf, text, sizeof(text));
	abi_conf(&vm, &c, g_syscall);
	c.rax = NR_write;
	c.rdi = (uint64_t)p[1];
	c.rsi = (uint64_t)(uintptr_t)buf;
	c.rdx = sizeof(text);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, sizeof(text));
	CT_EXPECT_EQ(read(p[0], got, sizeof(got)), sizeof(text));
	CT_EXPECT(!strcmp(got, text), "the pipe holds '%s'", got);
}

CTEST(vmcall_efault,
      .id = "abi.vmcall.efault",
      .profile = "core",
      .what = "a VMCALL write from an unmapped buffer returns -EFAULT in rax and the guest goes on",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	void *gone;
	int p[2], r;

	abi_vm_setup(&vm);
	CT_ASSERT_EQ(pipe(p), 0);
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(gone != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(gone, 4096);
	abi_conf(&vm, &c, g_syscall);
	c.rax = NR_write;
	c.rdi = (uint64_t)p[1];
	c.rsi = (uint64_t)(uintptr_t)gone;
	c.rdx = 16;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, -EFAULT);
}

CTEST(vmcall_errno,
      .id = "abi.vmcall.errno",
      .profile = "core",
      .what = "a failing VMCALL returns -errno in rax (close of a bad descriptor: -EBADF)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_syscall);
	c.rax = 3;	/* close */
	c.rdi = 987654;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, -EBADF);
}

/* Find the /proc/self/maps line of @start: end, perms and offset. */
static int maps_line(uint64_t start, uint64_t *end, char perms[5], uint64_t *off)
{
	char line[512];
	unsigned long long s, e, o;
	char p[5];
	FILE *f = fopen("/proc/self/maps", "r");
	int found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx-%llx %4s %llx", &s, &e, p, &o) == 4 && s == start) {
			*end = e;
			memcpy(perms, p, 5);
			*off = o;
			found = 1;
		}
	fclose(f);
	return found;
}

CTEST(vmcall_args6,
      .id = "abi.vmcall.args6",
      .profile = "core",
      .what = "a 6-argument VMCALL (mmap of a file page at a fixed address, flags in r10, fd in r8, offset in r9) gets every argument right",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t hint, end = 0, off = 0;
	char page[4096], perms[5] = "";
	void *probe;
	int fd, r;

	abi_vm_setup(&vm);
	fd = (int)syscall(SYS_memfd_create, "abi-args6", 0);
	CT_ASSERT(fd >= 0, "memfd_create: %s", strerror(errno));
	memset(page, 'a', sizeof(page));
	CT_ASSERT_EQ(write(fd, page, sizeof(page)), sizeof(page));
	memset(page, 'b', sizeof(page));
	CT_ASSERT_EQ(write(fd, page, sizeof(page)), sizeof(page));
	CT_ASSERT_EQ(write(fd, page, sizeof(page)), sizeof(page));
	/* a free address for MAP_FIXED_NOREPLACE: reserve, then release */
	probe = mmap(NULL, 4 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(probe != MAP_FAILED, "mmap: %s", strerror(errno));
	munmap(probe, 4 * 4096);
	hint = (uint64_t)(uintptr_t)probe + 4096;

	abi_conf(&vm, &c, g_syscall);
	c.rax = NR_mmap;
	c.rdi = hint;
	c.rsi = 2 * 4096;
	c.rdx = PROT_READ;
	c.r10 = MAP_SHARED | MAP_FIXED_NOREPLACE;
	c.r8 = (uint64_t)fd;
	c.r9 = 4096;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT_EQ(c.rbx, hint);
	CT_ASSERT(maps_line(hint, &end, perms, &off), "no mapping at %#llx in /proc/self/maps",
		  (unsigned long long)hint);
	CT_EXPECT_EQ(end - hint, 2 * 4096);		/* rsi */
	CT_EXPECT(!strcmp(perms, "r--s"), "perms %s, want r--s (rdx PROT_READ, r10 MAP_SHARED)", perms);
	CT_EXPECT_EQ(off, 4096);			/* r9 */
	CT_EXPECT_EQ(*(volatile char *)(uintptr_t)hint, 'b');	/* r8: the file */
}

CTEST(vmcall_pread_r10,
      .id = "abi.vmcall.pread_r10",
      .profile = "core",
      .what = "a VMCALL pread64 reads at the offset passed in r10 (the 4th argument register)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	char *buf;
	int fd, r, i;

	abi_vm_setup(&vm);
	fd = (int)syscall(SYS_memfd_create, "abi-pread", 0);
	CT_ASSERT(fd >= 0, "memfd_create: %s", strerror(errno));
	for (i = 0; i < 64; i++)
		CT_ASSERT_EQ(write(fd, &(char){ (char)('A' + i % 26) }, 1), 1);
	buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(buf != MAP_FAILED, "mmap: %s", strerror(errno));
	abi_conf(&vm, &c, g_syscall);
	c.rax = NR_pread64;
	c.rdi = (uint64_t)fd;
	c.rsi = (uint64_t)(uintptr_t)buf;
	c.rdx = 4;
	c.r10 = 33;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.rbx, 4);
	CT_EXPECT(!memcmp(buf, "HIJK", 4), "read '%.4s' from offset r10=33, want 'HIJK'", buf);
}

CTEST(exit_status,
      .id = "abi.exit.exit",
      .profile = "core",
      .what = "the exit hypercall ends the run with ret EXIT and status = its argument (several values)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const int codes[] = { 0, 1, 77, 255 };
	struct abi_vm vm;
	struct dune_config c;
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		abi_conf(&vm, &c, g_exit);	/* a new vCPU each time */
		c.rdi = (uint64_t)codes[i];
		r = abi_enter(&vm, &c);
		ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
		CT_EXPECT_EQ(c.status, codes[i]);
	}
}

CTEST(exit_group_status,
      .id = "abi.exit.exit_group",
      .profile = "core",
      .what = "the exit_group hypercall ends the run with ret EXIT and status = its argument, and the process lives on",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_exit_group);
	c.rdi = 0x33;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, 0x33);
	CT_EXPECT(getpid() > 0, "alive");
}

CTEST(exit_cpuid,
      .id = "abi.exit.cpuid",
      .profile = "core",
      .what = "CPUID in the guest is executed for it and returns the host's vendor string",
      .needs = "dev-dune",
      .backends = "vmx")
{
	unsigned int a, b, cx, d;
	struct abi_vm vm;
	struct dune_config c;
	int r;

	__cpuid(0, a, b, cx, d);
	(void)a;
	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_cpuid);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.r12, b);
	CT_EXPECT_EQ(c.r13, d);
	CT_EXPECT_EQ(c.r14, cx);
}

CTEST(exit_int3,
      .id = "abi.exit.int3",
      .profile = "traps",
      .what = "int3 in the guest ends the run with ret INTERRUPT and status 3 (#BP)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_int3);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_INTERRUPT);
	CT_EXPECT_EQ(c.status, 3);
}

CTEST(exit_single_step,
      .id = "abi.exit.debug",
      .profile = "traps",
      .what = "a guest entered with RFLAGS.TF takes a single-step #DB: ret INTERRUPT, status 1, RIP at or after its first instruction",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_single_step);
	c.rflags = 0x2 | 0x100;
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_INTERRUPT);
	CT_EXPECT_EQ(c.status, 1);
	/* before or after the first nop: CPUs differ on TF set by VM entry */
	CT_EXPECT(c.rip >= abi_gva(&vm, g_single_step) && c.rip <= abi_gva(&vm, g_single_step) + 1,
		  "rip %#llx is not at or after the first nop at %#llx", (unsigned long long)c.rip,
		  (unsigned long long)abi_gva(&vm, g_single_step));
}

CTEST(exit_hlt,
      .id = "abi.exit.hlt",
      .profile = "traps",
      .what = "HLT in the guest ends the run with ret UNHANDLED_VMEXIT",
      .needs = "dev-dune",
      .backends = "vmx",
      .destructive = "a module that does not intercept HLT (the original) leaves the vCPU halted: the host hangs")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_hlt);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_UNHANDLED_VMEXIT);
}

CTEST(exit_wrmsr,
      .id = "abi.exit.wrmsr",
      .profile = "traps",
      .what = "a WRMSR to an intercepted MSR stops the run (ret UNHANDLED_VMEXIT, or 0 as the original leaves it), ioctl 0",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_wrmsr);
	c.ret = -1;
	r = abi_enter(&vm, &c);
	CT_ASSERT(r == 0, "ioctl: %s", strerror(-r));
	CT_EXPECT(c.ret == DUNE_RET_UNHANDLED_VMEXIT || c.ret == 0,
		  "ret %lld (%s), want UNHANDLED_VMEXIT or 0", (long long)c.ret, abi_ret_name(c.ret));
}

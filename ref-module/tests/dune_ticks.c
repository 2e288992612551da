// SPDX-License-Identifier: GPL-2.0
/*
 * dune_ticks.c - path lengths of the module's exit paths, measured with
 * the TSC inside the guest (RDTSC does not exit, TSC offset 0).  In the
 * VMX lab (Bochs) one tick is one emulated instruction, so the numbers
 * are exact path lengths; on hardware they are cycles.
 *
 *   ticks.vmcall.null     VMCALL with a number no kernel has (-EINVAL)
 *   ticks.vmcall.getpid   VMCALL getpid round trip
 *   ticks.exit.cpuid      CPUID (executed by the module, in-kernel exit)
 *   ticks.ept.fault       guest write to a fresh host page (EPT fault-in)
 *   ticks.native.getpid   SYSCALL getpid on the host, for comparison
 *
 * Each is a TAP test that fails when the guest does not run as asked
 * (wrong exit, wrong result) and otherwise reports "NAME N ticks" as a
 * diagnostic line ("# ticks NAME N").  Usage: dune_ticks [ITERATIONS]
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <dune/abi.h>

#include "tap.h"

#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_PS		0x080ULL
#define MIB2		(2ULL << 20)
#define FRESH_VA	0x38000000UL	/* inside the mapped first GiB */
#define NULL_NR		1023		/* no such system call */

/*
 * Guest loops: r12 = iterations; r14/r15 = TSC before/after the loop;
 * then exit(0).  guest_touch_loop writes one byte per page from r13.
 */
void guest_null_loop(void);
void guest_getpid_loop(void);
void guest_cpuid_loop(void);
void guest_touch_loop(void);

asm(".text\n"
    "guest_null_loop:\n"
    "	rdtsc\n"
    "	shl $32, %rdx\n"
    "	or %rdx, %rax\n"
    "	mov %rax, %r14\n"
    "1:	mov $1023, %eax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	dec %r12\n"
    "	jnz 1b\n"
    "	jmp guest_done\n"
    "guest_getpid_loop:\n"
    "	rdtsc\n"
    "	shl $32, %rdx\n"
    "	or %rdx, %rax\n"
    "	mov %rax, %r14\n"
    "1:	mov $39, %eax\n"
    "	vmcall\n"
    "	mov %rax, %rbx\n"
    "	dec %r12\n"
    "	jnz 1b\n"
    "	jmp guest_done\n"
    "guest_cpuid_loop:\n"
    "	rdtsc\n"
    "	shl $32, %rdx\n"
    "	or %rdx, %rax\n"
    "	mov %rax, %r14\n"
    "1:	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	dec %r12\n"
    "	jnz 1b\n"
    "	jmp guest_done\n"
    "guest_touch_loop:\n"
    "	rdtsc\n"
    "	shl $32, %rdx\n"
    "	or %rdx, %rax\n"
    "	mov %rax, %r14\n"
    "1:	movb $1, (%r13)\n"
    "	add $4096, %r13\n"
    "	dec %r12\n"
    "	jnz 1b\n"
    "guest_done:\n"
    "	rdtsc\n"
    "	shl $32, %rdx\n"
    "	or %rdx, %rax\n"
    "	mov %rax, %r15\n"
    "	mov $60, %eax\n"
    "	xor %edi, %edi\n"
    "	vmcall\n"
    "	ud2\n");

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

static void conf_init(struct dune_config *c, void (*fn)(void), uint64_t n)
{
	memset(c, 0, sizeof(*c));
	c->rip = (uint64_t)(uintptr_t)fn;
	c->rsp = (uint64_t)(uintptr_t)(guest_stack + sizeof(guest_stack));
	c->rflags = 0x2;
	c->cr3 = (uint64_t)(uintptr_t)pml4;
	c->r12 = n;
}

#define MSGLEN 300

/*
 * Run @fn for @n iterations (after a warm-up of 16 on the same vCPU);
 * *ticks = per iteration.  Returns 0 or fills @msg.
 */
static int guest_ticks(int fd, void (*fn)(void), long n, uint64_t r13,
		       uint64_t *ticks, struct dune_config *c, char *msg)
{
	uint64_t handle;
	int r;

	conf_init(c, fn, 16);
	c->r13 = r13;
	r = ioctl(fd, DUNE_ENTER, c);
	if (r || c->ret != DUNE_RET_EXIT || c->status != 0) {
		snprintf(msg, MSGLEN, "warm-up: expected ioctl 0, ret=EXIT status 0, got %d (%s) ret=%lld status=%lld",
			 r, strerror(errno), (long long)c->ret,
			 (long long)c->status);
		return 1;
	}
	handle = c->vcpu;
	conf_init(c, fn, n);
	c->vcpu = handle;	/* the warm vCPU */
	c->r13 = r13 + (r13 ? 16 * 4096 : 0);
	r = ioctl(fd, DUNE_ENTER, c);
	if (r || c->ret != DUNE_RET_EXIT || c->status != 0 || c->r15 <= c->r14) {
		snprintf(msg, MSGLEN, "expected ioctl 0, ret=EXIT status 0, got %d (%s) ret=%lld status=%lld",
			 r, strerror(errno), (long long)c->ret,
			 (long long)c->status);
		return 1;
	}
	*ticks = (c->r15 - c->r14) / n;
	return 0;
}

struct probe {
	const char *id;
	int (*fn)(int fd, long n, uint64_t *ticks, char *msg);
};

static int p_null(int fd, long n, uint64_t *ticks, char *msg)
{
	struct dune_config c;

	if (guest_ticks(fd, guest_null_loop, n, 0, ticks, &c, msg))
		return 1;
	if ((long long)c.rbx != -EINVAL && (long long)c.rbx != -ENOSYS) {
		snprintf(msg, MSGLEN, "expected -EINVAL or -ENOSYS from system call %d, got %lld",
			 NULL_NR, (long long)c.rbx);
		return 1;
	}
	return 0;
}

static int p_getpid(int fd, long n, uint64_t *ticks, char *msg)
{
	struct dune_config c;

	if (guest_ticks(fd, guest_getpid_loop, n, 0, ticks, &c, msg))
		return 1;
	if ((long long)c.rbx != getpid()) {
		snprintf(msg, MSGLEN, "expected getpid() = %d in the guest, got %lld",
			 getpid(), (long long)c.rbx);
		return 1;
	}
	return 0;
}

static int p_cpuid(int fd, long n, uint64_t *ticks, char *msg)
{
	struct dune_config c;

	return guest_ticks(fd, guest_cpuid_loop, n, 0, ticks, &c, msg);
}

static int p_ept(int fd, long n, uint64_t *ticks, char *msg)
{
	size_t len = (size_t)(n + 16) * 4096;
	struct dune_config c;
	uint8_t *p;
	long i;

	uintptr_t va;

	/* somewhere free in the guest-mapped first GiB */
	for (va = FRESH_VA; va >= 0x10000000UL; va -= 0x4000000UL) {
		p = mmap((void *)va, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
			 -1, 0);
		if (p == (void *)va)
			break;
		if (p != MAP_FAILED)
			munmap(p, len);
		p = NULL;
	}
	if (!p) {
		snprintf(msg, MSGLEN, "no free %zu bytes below 1 GiB: %s", len,
			 strerror(errno));
		return 1;
	}
	madvise(p, len, MADV_NOHUGEPAGE);
	if (guest_ticks(fd, guest_touch_loop, n, va, ticks, &c, msg))
		return 1;
	for (i = 0; i < n + 16; i++) {
		if (p[i * 4096] != 1) {
			snprintf(msg, MSGLEN, "expected the guest's write in page %ld, got %u",
				 i, p[i * 4096]);
			return 1;
		}
	}
	return 0;
}

static int p_native(int fd, long n, uint64_t *ticks, char *msg)
{
	uint64_t t0, t1;
	long i, pid = 0;

	(void)fd;
	(void)msg;
	for (i = 0; i < 16; i++)
		syscall(SYS_getpid);
	t0 = __builtin_ia32_rdtsc();
	for (i = 0; i < n; i++)
		asm volatile("syscall" : "=a"(pid) : "0"((long)SYS_getpid)
			     : "rcx", "r11", "memory");
	t1 = __builtin_ia32_rdtsc();
	if (pid != getpid()) {
		snprintf(msg, MSGLEN, "expected getpid() = %d, got %ld", getpid(), pid);
		return 1;
	}
	*ticks = (t1 - t0) / n;
	return 0;
}

static const struct probe probes[] = {
	{ "ticks.vmcall.null", p_null },
	{ "ticks.vmcall.getpid", p_getpid },
	{ "ticks.exit.cpuid", p_cpuid },
	{ "ticks.ept.fault", p_ept },
	{ "ticks.native.getpid", p_native },
};

#define NPROBES (int)(sizeof(probes) / sizeof(probes[0]))

struct result {
	uint64_t ticks;
	char msg[MSGLEN];
};

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	struct result *res;
	int i, st, fd;
	pid_t pid;

	if (n < 1)
		n = 1;
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED)
		return 1;
	tap_plan(NPROBES);
	for (i = 0; i < NPROBES; i++) {
		memset(res, 0, sizeof(*res));
		pid = fork();
		if (pid == 0) {
			alarm(120);
			guest_pt_init();
			fd = open(DUNE_DEVICE_PATH, O_RDWR);
			if (fd < 0) {
				snprintf(res->msg, MSGLEN, "open %s: %s",
					 DUNE_DEVICE_PATH, strerror(errno));
				_exit(1);
			}
			_exit(probes[i].fn(fd, n, &res->ticks, res->msg));
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid) {
			tap_check(0, probes[i].id, "fork/wait failed");
			continue;
		}
		if (WIFSIGNALED(st)) {
			tap_check(0, probes[i].id, "child killed by signal %d",
				  WTERMSIG(st));
			continue;
		}
		if (tap_check(WEXITSTATUS(st) == 0, probes[i].id, "%s", res->msg))
			tap_diag("ticks %s %llu", probes[i].id,
				 (unsigned long long)res->ticks);
	}
	return tap_done();
}

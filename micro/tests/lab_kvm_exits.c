// SPDX-License-Identifier: MIT
/*
 * lab_kvm_exits - Debian's KVM exit round trips, timed, for the VMX lab:
 *
 *   kvm-out-exit    a guest `out` to an I/O port: exit to user space
 *                   (KVM_RUN returns KVM_EXIT_IO) and back in (KVM_RUN)
 *   kvm-cpuid-exit  a guest `cpuid`: an exit KVM handles in the kernel
 *
 * A real-mode guest runs `op; dec si; jnz` SI times, then `hlt`.  The host
 * times, with CPUID+RDTSC / RDTSCP like micro/, the whole KVM_RUN loop
 * until the hlt, for SI = N and for SI = 0 (entry + hlt exit alone), and
 * reports (T(N) - T(0)) / N per op.  In the lab the TSC counts emulated
 * steps: ticks (path lengths).  One "@@BENCH {json}" line per repetition
 * (the format of micro-bench --lab-lines), TAP on top.
 *
 * usage: lab_kvm_exits [N [REPETITIONS]]     (default 100 5)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM	0x10000UL
#define CODE_OUT	0x1000UL
#define CODE_CPUID	0x2000UL

static inline uint64_t tsc_begin(void)
{
	uint32_t a, d;

	asm volatile("cpuid" : : "a"(0) : "rbx", "rcx", "rdx", "memory");
	asm volatile("rdtsc" : "=a"(a), "=d"(d) : : "memory");
	return ((uint64_t)d << 32) | a;
}

static inline uint64_t tsc_end(void)
{
	uint32_t a, d, c;

	asm volatile("rdtscp" : "=a"(a), "=d"(d), "=c"(c) : : "memory");
	return ((uint64_t)d << 32) | a;
}

static int vcpu;
static struct kvm_run *run;
static uint64_t overhead = UINT64_MAX;
static const char *kvm_mod = "kvm_intel";

/* Run the guest at rip with SI = n until it halts; ticks, or 0 on error. */
static uint64_t time_guest(uint64_t rip, uint64_t n, uint64_t *exits)
{
	struct kvm_regs regs;
	uint64_t t0, t1;

	memset(&regs, 0, sizeof(regs));
	regs.rip = rip;
	regs.rsi = n;
	regs.rflags = 0x2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return 0;
	*exits = 0;
	t0 = tsc_begin();
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, NULL) < 0)
			return 0;
		if (run->exit_reason == KVM_EXIT_IO) {
			(*exits)++;
			continue;
		}
		break;
	}
	t1 = tsc_end();
	if (run->exit_reason != KVM_EXIT_HLT) {
		fprintf(stderr, "unexpected exit reason %u\n", run->exit_reason);
		return 0;
	}
	return t1 - t0 - overhead;
}

static int measure(int testno, const char *name, const char *what, uint64_t rip,
		   uint64_t n, int reps)
{
	uint64_t exits, t_n, t_0, best = UINT64_MAX;

	/* warm-up */
	if (!time_guest(rip, n, &exits) || !time_guest(rip, 0, &exits)) {
		printf("not ok %d - %s: KVM_RUN failed: %s\n", testno, name, strerror(errno));
		return 1;
	}
	for (int r = 1; r <= reps; r++) {
		t_n = time_guest(rip, n, &exits);
		t_0 = time_guest(rip, 0, &exits);
		if (!t_n || !t_0) {
			printf("not ok %d - %s: KVM_RUN failed\n", testno, name);
			return 1;
		}
		double per = ((double)t_n - (double)t_0) / (double)n;

		if ((uint64_t)per < best)
			best = (uint64_t)per;
		printf("@@BENCH {\"name\": \"%s\", \"mode\": \"linux\", \"backend\": \"%s\", "
		       "\"rep\": %d, \"per_op\": %.3f, \"ops\": %llu, \"batch\": %llu, "
		       "\"batches\": 1, \"preempted\": 0, \"run_total\": %llu, "
		       "\"baseline_total\": %llu, \"timer_overhead\": %llu, \"what\": \"%s\"}\n",
		       name, kvm_mod, r, per, (unsigned long long)n, (unsigned long long)n,
		       (unsigned long long)t_n, (unsigned long long)t_0,
		       (unsigned long long)overhead, what);
	}
	printf("ok %d - %s: min %llu ticks per exit\n", testno, name, (unsigned long long)best);
	return 0;
}

int main(int argc, char **argv)
{
	/* out %al,$0x10 ; dec %si ; jnz . - 3 ; hlt   (SI = 0: just hlt) */
	static const uint8_t code_out[] = {
		0x85, 0xf6, 0x74, 0x05,		/* test si,si; jz hlt */
		0xe6, 0x10,			/* out 0x10, al */
		0x4e,				/* dec si */
		0x75, 0xfb,			/* jnz out */
		0xf4,				/* hlt */
	};
	/* xor eax,eax ; cpuid ; dec si ; jnz ; hlt */
	static const uint8_t code_cpuid[] = {
		0x85, 0xf6, 0x74, 0x08,		/* test si,si; jz hlt */
		0x66, 0x31, 0xc0,		/* xor eax, eax */
		0x0f, 0xa2,			/* cpuid */
		0x4e,				/* dec si */
		0x75, 0xf8,			/* jnz xor */
		0xf4,				/* hlt */
	};
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 100;
	int reps = argc > 2 ? atoi(argv[2]) : 5;
	int kvm, vm, runsz, fails = 0;
	uint8_t *mem;

	printf("1..2\n");
	if (access("/sys/module/kvm_amd", F_OK) == 0)
		kvm_mod = "kvm_amd";
	for (int i = 0; i < 10000; i++) {
		uint64_t t0 = tsc_begin(), t1 = tsc_end();

		if (t1 - t0 < overhead)
			overhead = t1 - t0;
	}
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		printf("Bail out! open /dev/kvm: %s\n", strerror(errno));
		return 1;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED) {
		printf("Bail out! KVM_CREATE_VM: %s\n", strerror(errno));
		return 1;
	}
	memcpy(mem + CODE_OUT, code_out, sizeof(code_out));
	memcpy(mem + CODE_CPUID, code_cpuid, sizeof(code_cpuid));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	vcpu = -1;
	runsz = -1;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) == 0)
		vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	if (vcpu >= 0)
		runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	run = runsz > 0 ? mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0) : MAP_FAILED;
	if (run == MAP_FAILED || ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0) {
		printf("Bail out! vCPU setup: %s\n", strerror(errno));
		return 1;
	}
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0) {
		printf("Bail out! KVM_SET_SREGS: %s\n", strerror(errno));
		return 1;
	}
	fails += measure(1, "kvm-out-exit",
			 "guest out to an I/O port: KVM exit to user space (KVM_EXIT_IO) and KVM_RUN back",
			 CODE_OUT, n, reps);
	fails += measure(2, "kvm-cpuid-exit", "guest cpuid: exit handled in the kernel by KVM",
			 CODE_CPUID, n, reps);
	return fails ? 1 : 0;
}

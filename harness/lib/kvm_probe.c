// SPDX-License-Identifier: MIT
/*
 * kvm_probe.c - time guest ring 0 against native execution (see kvm_probe.h).
 *
 * The guest is one vCPU in 64-bit long mode, ring 0, paging on with one
 * identity-mapped 2 MiB page.  It runs the loop between probe_body and
 * probe_body_end below, followed by HLT, which KVM (with no in-kernel
 * irqchip) returns to us as KVM_EXIT_HLT.  The native side calls the very
 * same bytes as a function.  The loop counts down in ECX, so when the
 * timeout cuts KVM_RUN short, KVM_GET_REGS tells how far the guest got and
 * the ratio is still exact: a slow KVM is measured, not waited for.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>

#include "kvm_probe.h"

/* guest-physical layout */
#define G_PML4		0x1000
#define G_PDPT		0x2000
#define G_PD		0x3000
#define G_CODE		0x4000
#define G_MEM_SIZE	0x8000

#define WARMUP_ITERS	1000u
#define NATIVE_REPS	5
#define DEFAULT_TIMEOUT_MS 500u

/*
 * uint32_t probe_native(uint32_t iters): the loop as a function.  Only
 * 32-bit register operations and short jumps, so the body bytes mean the
 * same in any mode.  Clobbers eax, ecx, edx (caller-saved).
 */
__asm__(".pushsection .text\n"
	".p2align 4\n"
	".type probe_native, @function\n"
	"probe_native:\n"
	"	mov %edi, %ecx\n"
	"	xor %eax, %eax\n"
	"probe_body:\n"
	"1:	add %ecx, %eax\n"
	"	xor %eax, %edx\n"
	"	rol $3, %edx\n"
	"	add %edx, %eax\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"probe_body_end:\n"
	"	ret\n"
	".size probe_native, . - probe_native\n"
	".popsection\n");

extern unsigned probe_native(unsigned iters) __attribute__((visibility("hidden")));
extern const unsigned char probe_body[] __attribute__((visibility("hidden")));
extern const unsigned char probe_body_end[] __attribute__((visibility("hidden")));

struct vm {
	int kvm, vm, vcpu;
	struct kvm_run *run;
	size_t run_size;
	unsigned char *mem;
};

struct probe_timer {
	timer_t id;
	int created;
	int sig;
	struct sigaction old_act;
	sigset_t old_mask;
};

static void seterr(struct dune_kvm_probe *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void seterr(struct dune_kvm_probe *out, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out->error, sizeof(out->error), fmt, ap);
	va_end(ap);
	out->verdict = DUNE_KVM_UNUSABLE;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *dune_kvm_verdict_name(enum dune_kvm_verdict v)
{
	switch (v) {
	case DUNE_KVM_NATIVE:	return "native";
	case DUNE_KVM_EMULATED:	return "emulated";
	case DUNE_KVM_UNUSABLE:	return "unusable";
	default:		return "unknown";
	}
}

static void probe_init(struct dune_kvm_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->api_version = -1;
}

/* open the device and check its API version; returns the fd or -1 */
static int kvm_open(struct dune_kvm_probe *out, const char *dev)
{
	int fd, v;

	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		seterr(out, "cannot open %s: %s", dev, strerror(errno));
		return -1;
	}
	v = ioctl(fd, KVM_GET_API_VERSION, 0);
	if (v < 0) {
		seterr(out, "%s is not a KVM device (KVM_GET_API_VERSION: %s)",
		       dev, strerror(errno));
		close(fd);
		return -1;
	}
	out->api_version = v;
	if (v != KVM_API_VERSION) {
		seterr(out, "%s has KVM API version %d, want %d", dev, v,
		       KVM_API_VERSION);
		close(fd);
		return -1;
	}
	return fd;
}

int dune_kvm_probe_open(struct dune_kvm_probe *out, const char *dev)
{
	int fd;

	probe_init(out);
	fd = kvm_open(out, dev ? dev : "/dev/kvm");
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

/* ---- native side ---- */

static uint64_t native_time(unsigned iters)
{
	uint64_t best = UINT64_MAX;
	volatile unsigned sink;

	sink = probe_native(iters);	/* warm caches and clocks */
	for (int i = 0; i < NATIVE_REPS; i++) {
		uint64_t t0 = now_ns();

		sink = probe_native(iters);
		uint64_t dt = now_ns() - t0;
		if (dt < best)
			best = dt;
	}
	(void)sink;
	return best ? best : 1;
}

/* ---- the guest ---- */

static void vm_destroy(struct vm *v)
{
	if (v->run)
		munmap(v->run, v->run_size);
	if (v->mem)
		munmap(v->mem, G_MEM_SIZE);
	if (v->vcpu >= 0)
		close(v->vcpu);
	if (v->vm >= 0)
		close(v->vm);
}

static int set_cpuid(struct vm *v, struct dune_kvm_probe *out)
{
	struct kvm_cpuid2 *c = NULL;
	int nent = 64, rc;

	for (;;) {
		c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c) {
			seterr(out, "out of memory");
			return -1;
		}
		c->nent = nent;
		rc = ioctl(v->kvm, KVM_GET_SUPPORTED_CPUID, c);
		if (rc == 0 || errno != E2BIG || nent >= 4096)
			break;
		free(c);
		nent *= 2;
	}
	if (rc < 0) {
		seterr(out, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		free(c);
		return -1;
	}
	rc = ioctl(v->vcpu, KVM_SET_CPUID2, c);
	if (rc < 0)
		seterr(out, "KVM_SET_CPUID2: %s", strerror(errno));
	free(c);
	return rc;
}

static void load_code(unsigned char *mem)
{
	uint64_t *pml4 = (uint64_t *)(mem + G_PML4);
	uint64_t *pdpt = (uint64_t *)(mem + G_PDPT);
	uint64_t *pd = (uint64_t *)(mem + G_PD);
	size_t n = (size_t)(probe_body_end - probe_body);

	pml4[0] = G_PDPT | 0x3;			/* present, writable */
	pdpt[0] = G_PD | 0x3;
	pd[0] = 0x83;				/* 2 MiB page at 0 */
	memcpy(mem + G_CODE, probe_body, n);
	mem[G_CODE + n] = 0xf4;			/* hlt */
}

static int set_long_mode(struct vm *v, struct dune_kvm_probe *out)
{
	struct kvm_sregs s;
	struct kvm_segment seg = {
		.base = 0, .limit = 0xffffffff, .present = 1, .dpl = 0,
		.s = 1, .g = 1,
	};

	if (ioctl(v->vcpu, KVM_GET_SREGS, &s) < 0) {
		seterr(out, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	seg.type = 11;				/* code: execute/read, accessed */
	seg.selector = 0x08;
	seg.l = 1;
	s.cs = seg;
	seg.type = 3;				/* data: read/write, accessed */
	seg.selector = 0x10;
	seg.l = 0;
	seg.db = 1;
	s.ds = s.es = s.fs = s.gs = s.ss = seg;
	s.cr3 = G_PML4;
	s.cr4 = 1u << 5;			/* PAE */
	s.cr0 = 0x80050033;			/* PG WP NE ET MP PE */
	s.efer = 0x500;				/* LMA LME */
	if (ioctl(v->vcpu, KVM_SET_SREGS, &s) < 0) {
		seterr(out, "KVM_SET_SREGS (64-bit mode): %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int vm_create(struct vm *v, struct dune_kvm_probe *out)
{
	struct kvm_userspace_memory_region region;
	int sz;

	v->vm = ioctl(v->kvm, KVM_CREATE_VM, 0);
	if (v->vm < 0) {
		seterr(out, "KVM_CREATE_VM: %s", strerror(errno));
		return -1;
	}
	v->mem = mmap(NULL, G_MEM_SIZE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		seterr(out, "mmap guest memory: %s", strerror(errno));
		return -1;
	}
	load_code(v->mem);
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = G_MEM_SIZE,
		.userspace_addr = (uintptr_t)v->mem,
	};
	if (ioctl(v->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		seterr(out, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -1;
	}
	v->vcpu = ioctl(v->vm, KVM_CREATE_VCPU, 0);
	if (v->vcpu < 0) {
		seterr(out, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -1;
	}
	sz = ioctl(v->kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < (int)sizeof(struct kvm_run)) {
		seterr(out, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	v->run_size = (size_t)sz;
	v->run = mmap(NULL, v->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		      v->vcpu, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		seterr(out, "mmap kvm_run: %s", strerror(errno));
		return -1;
	}
	if (set_cpuid(v, out) < 0 || set_long_mode(v, out) < 0)
		return -1;
	return 0;
}

/* ---- the timeout: a per-thread POSIX timer whose signal breaks KVM_RUN ---- */

static void timer_handler(int sig)
{
	(void)sig;
}

/*
 * Block the signal in this thread and unblock it only inside KVM_RUN
 * (KVM_SET_SIGNAL_MASK): a signal that fires outside KVM_RUN stays pending
 * and makes the next KVM_RUN return EINTR at once, so no expiry is lost.
 */
static int timer_arm(struct probe_timer *t, struct vm *v, unsigned ms,
		     struct dune_kvm_probe *out)
{
	struct sigaction sa = { .sa_handler = timer_handler };
	struct sigevent sev = { .sigev_notify = SIGEV_THREAD_ID };
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L },
	};
	sigset_t block, in_guest;
	struct {
		struct kvm_signal_mask m;
		unsigned char set[8];
	} km;

	t->sig = DUNE_KVM_PROBE_SIGNAL;
	sigemptyset(&block);
	sigaddset(&block, t->sig);
	pthread_sigmask(SIG_BLOCK, &block, &t->old_mask);
	sigaction(t->sig, &sa, &t->old_act);

	in_guest = t->old_mask;
	sigdelset(&in_guest, t->sig);
	km.m.len = sizeof(km.set);
	memcpy(km.set, &in_guest, sizeof(km.set));
	if (ioctl(v->vcpu, KVM_SET_SIGNAL_MASK, &km) < 0) {
		seterr(out, "KVM_SET_SIGNAL_MASK: %s", strerror(errno));
		return -1;
	}

	sev.sigev_signo = t->sig;
	sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) < 0) {
		seterr(out, "timer_create: %s", strerror(errno));
		return -1;
	}
	t->created = 1;
	if (timer_settime(t->id, 0, &its, NULL) < 0) {
		seterr(out, "timer_settime: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void timer_disarm(struct probe_timer *t)
{
	struct timespec zero = { 0, 0 };
	sigset_t set;

	if (t->created)
		timer_delete(t->id);
	sigemptyset(&set);
	sigaddset(&set, t->sig);
	while (sigtimedwait(&set, NULL, &zero) == t->sig)
		;			/* drop an expiry still pending */
	sigaction(t->sig, &t->old_act, NULL);
	pthread_sigmask(SIG_SETMASK, &t->old_mask, NULL);
}

/* has the probe's timer expired?  (any other signal also ends KVM_RUN) */
static int timer_expired(struct probe_timer *t)
{
	struct itimerspec cur;

	if (timer_gettime(t->id, &cur) < 0)
		return 1;
	return cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0;
}

/*
 * Run the loop for iters iterations.  Returns 1 if the guest reached HLT,
 * 0 if the timeout interrupted it, -1 on error.  *done and *ns say how many
 * iterations ran and how long KVM_RUN took.  A signal other than the
 * timer's (the caller's SIGALRM, SIGCHLD, a profiler's SIGPROF) only
 * interrupts KVM_RUN: the loop goes on.
 */
static int guest_loop(struct vm *v, struct probe_timer *t, unsigned iters,
		      uint64_t *done, uint64_t *ns, struct dune_kvm_probe *out)
{
	struct kvm_regs r = { .rip = G_CODE, .rflags = 2, .rcx = iters };
	int finished = -1;
	uint64_t t0;

	if (ioctl(v->vcpu, KVM_SET_REGS, &r) < 0) {
		seterr(out, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	t0 = now_ns();
	while (finished < 0) {
		if (ioctl(v->vcpu, KVM_RUN, 0) < 0) {
			if (errno != EINTR) {
				seterr(out, "KVM_RUN: %s", strerror(errno));
				return -1;
			}
			if (timer_expired(t))
				finished = 0;
		} else if (v->run->exit_reason == KVM_EXIT_HLT) {
			finished = 1;
		} else if (v->run->exit_reason != KVM_EXIT_INTR) {
			seterr(out, "guest stopped with KVM exit reason %u, not HLT",
			       v->run->exit_reason);
			return -1;
		}
	}
	*ns = now_ns() - t0;
	if (ioctl(v->vcpu, KVM_GET_REGS, &r) < 0) {
		seterr(out, "KVM_GET_REGS: %s", strerror(errno));
		return -1;
	}
	*done = iters - (uint32_t)r.rcx;
	if (finished && (uint32_t)r.rcx != 0) {
		seterr(out, "guest halted with ecx=%u, loop did not complete",
		       (uint32_t)r.rcx);
		return -1;
	}
	return finished;
}

/* warm-up run (faults in guest memory), then the timed run */
static int guest_measure(struct vm *v, unsigned iters, unsigned timeout_ms,
			 struct dune_kvm_probe *out)
{
	struct probe_timer t = { 0 };
	uint64_t done = 0, ns = 0;
	int rc;

	rc = timer_arm(&t, v, timeout_ms, out);
	if (rc == 0)
		rc = guest_loop(v, &t, WARMUP_ITERS, &done, &ns, out);
	if (rc == 1)
		rc = guest_loop(v, &t, iters, &done, &ns, out);
	timer_disarm(&t);
	if (rc < 0)
		return -1;
	if (done == 0) {
		seterr(out, "guest made no progress in %u ms", timeout_ms);
		return -1;
	}
	out->timed_out = rc == 0;
	out->iterations = done;
	out->guest_ns = ns ? ns : 1;
	return 0;
}

int dune_kvm_probe_ring0(struct dune_kvm_probe *out, const char *dev,
			 unsigned timeout_ms)
{
	struct vm v = { .vm = -1, .vcpu = -1 };
	const unsigned iters = DUNE_KVM_PROBE_ITERS;
	uint64_t native;
	int rc = -1;

	probe_init(out);
	if (!timeout_ms)
		timeout_ms = DEFAULT_TIMEOUT_MS;
	v.kvm = kvm_open(out, dev ? dev : "/dev/kvm");
	if (v.kvm < 0)
		return -1;
	native = native_time(iters);
	if (vm_create(&v, out) == 0 && guest_measure(&v, iters, timeout_ms, out) == 0) {
		/* native time scaled to the iterations the guest completed */
		out->native_ns = native * out->iterations / iters;
		if (!out->native_ns)
			out->native_ns = 1;
		out->ratio = (double)out->guest_ns / (double)out->native_ns;
		out->verdict = out->ratio > DUNE_KVM_EMULATED_RATIO ?
			       DUNE_KVM_EMULATED : DUNE_KVM_NATIVE;
		rc = 0;
	}
	vm_destroy(&v);
	close(v.kvm);
	return rc;
}

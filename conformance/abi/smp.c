// SPDX-License-Identifier: MIT
/*
 * smp.c - two vCPUs of one process running at the same time on two CPUs
 * (needs "smp": the VMX lab's SMP boot).  Each test pins its two threads to
 * CPUs 0 and 1 and has their guests meet in guest mode first (a counter
 * both increment and wait for), so what follows overlaps for real:
 * hypercalls from both at once, EPT faults on the same pages from both,
 * a munmap or mprotect by one thread while the other's guest runs (which
 * must never see the old page after the call has returned), a vCPU whose
 * thread is moved between CPUs while its guest runs, a thread exiting
 * while another runs, and the vCPU handle rules while the vCPU runs.
 */
#include "abi_util.h"
#include "ct_thread.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SPIN	(1ULL << 32)	/* guest spin bounds: the runner's timeout comes first */

/*
 * Rendezvous (r12: counter, r13: spin bound), then r14 rounds of gettid
 * (must be r15) and getpid (must be rbp); exit(0).  exit(99): the other
 * vCPU never came; exit(3)/exit(4): a wrong gettid/getpid (in rbx).
 */
ABI_GUEST(g_smp_calls,
	  "lock incq (%r12)\n"
	  "1: cmpq $2, (%r12)\n jae 2f\n pause\n dec %r13\n jnz 1b\n" G_EXIT(99)
	  "2: mov $186, %eax\n vmcall\n cmp %rax, %r15\n jne 3f\n"
	  "mov $39, %eax\n vmcall\n cmp %rax, %rbp\n jne 4f\n"
	  "dec %r14\n jnz 2b\n" G_EXIT(0)
	  "3: mov %rax, %rbx\n" G_EXIT(3)
	  "4: mov %rax, %rbx\n" G_EXIT(4));

/*
 * Rendezvous, then for each of r15 pages from r14 (4 KiB apart): read
 * the page, store r14-page + rbx at offset rsi, wait until the other
 * vCPU's slot (offset rdi) holds page + (3 - rbx), exit(5) with rcx =
 * the page if it holds anything else, exit(6) if it stays 0.
 */
ABI_GUEST(g_smp_touch,
	  "lock incq (%r12)\n"
	  "1: cmpq $2, (%r12)\n jae 2f\n pause\n dec %r13\n jnz 1b\n" G_EXIT(99)
	  "2: mov $3, %r9\n sub %rbx, %r9\n"		/* the other's tag */
	  "3: mov (%r14), %rax\n"			/* a read fault first */
	  "lea (%r14,%rbx), %rax\n mov %rax, (%r14,%rsi)\n"
	  "lea (%r14,%r9), %r8\n mov $0x40000000, %r10\n"
	  "4: mov (%r14,%rdi), %rax\n cmp %rax, %r8\n je 5f\n test %rax, %rax\n jnz 6f\n"
	  "pause\n dec %r10\n jnz 4b\n mov %r14, %rcx\n" G_EXIT(6)
	  "5: add $4096, %r14\n dec %r15\n jnz 3b\n" G_EXIT(0)
	  "6: mov %r14, %rcx\n" G_EXIT(5));

/*
 * The watched page: 8(r12) = 1 (in the guest), then read (load mode,
 * rsi = 0) or write rbx to (store mode, rsi = 1) the page at r14 until
 * *(r12) != 0, then once more (g_watch_again, g_watch_store): one of the
 * accesses after the munmap or mprotect must fault, in the loop or
 * after it at the latest; exit(1) if none did, rcx = what it read.
 * exit(99) after r13 rounds.
 */
ABI_GUEST(g_watch,
	  "movq $1, 8(%r12)\n"
	  "1: test %rsi, %rsi\n jnz 2f\n"
	  "g_watch_loop_load: mov (%r14), %rcx\n jmp 3f\n"
	  "2:\n"
	  "g_watch_loop_store: mov %rbx, (%r14)\n"
	  "3: cmpq $0, (%r12)\n jne 4f\n pause\n dec %r13\n jnz 1b\n" G_EXIT(99)
	  "4: test %rsi, %rsi\n jnz 5f\n"
	  "g_watch_again: mov (%r14), %rcx\n" G_EXIT(1)
	  "5:\n"
	  "g_watch_store: mov %rbx, (%r14)\n mov (%r14), %rcx\n" G_EXIT(1));
ABI_GUEST_LABEL(g_watch_again);
ABI_GUEST_LABEL(g_watch_store);
ABI_GUEST_LABEL(g_watch_loop_load);
ABI_GUEST_LABEL(g_watch_loop_store);

/*
 * Migration: 8(r12) = 1, then r14 rounds of: getcpu(r12 + 16) by VMCALL,
 * rbx |= 1 << cpu, ++*(r12 + 24) and ++r15, which must stay equal
 * (exit(7) if not); exit(0).  A thread outside moves this one between
 * CPUs meanwhile; *(r12) == 1 ends the loop once both CPUs were seen,
 * *(r12) == 2 at once.
 */
ABI_GUEST(g_migrate,
	  "movq $1, 8(%r12)\n xor %ebx, %ebx\n xor %r15d, %r15d\n"
	  "1: mov $309, %eax\n lea 16(%r12), %rdi\n xor %esi, %esi\n xor %edx, %edx\n vmcall\n"
	  "test %rax, %rax\n jnz 8f\n"
	  "mov 16(%r12), %ecx\n bts %rcx, %rbx\n"
	  "incq 24(%r12)\n inc %r15\n cmp 24(%r12), %r15\n jne 7f\n"
	  "cmpq $2, (%r12)\n je 9f\n"
	  "cmp $3, %rbx\n jne 2f\n cmpq $1, (%r12)\n je 9f\n"
	  "2: dec %r14\n jnz 1b\n"
	  "9:\n" G_EXIT(0)
	  "7:\n" G_EXIT(7)
	  "8: mov %rax, %rbp\n" G_EXIT(8));

/* 8(r12) = 1, spin until *(r12) != 0 (r13 rounds, then exit(99)); rbx = gettid; exit(0) */
ABI_GUEST(g_spin_flag,
	  "movq $1, 8(%r12)\n"
	  "1: cmpq $0, (%r12)\n jne 2f\n pause\n dec %r13\n jnz 1b\n" G_EXIT(99)
	  "2: mov $186, %eax\n vmcall\n mov %rax, %rbx\n" G_EXIT(0));

ABI_GUEST(g_smp_exit42, G_EXIT(42));

#define pin ct_pin

static void *map_page(size_t n)
{
	void *p = mmap(NULL, n * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	CT_ASSERT(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/* ------------------------------------------------------ hypercalls */

#define CALL_ROUNDS	2000

struct calls_arg {
	struct abi_vm *vm;
	volatile uint64_t *counter;
	int slot;
	pid_t tid;
	struct dune_config c;
	int r, pin_err;
};

static void *calls_thread(void *p)
{
	struct calls_arg *a = p;

	a->pin_err = pin(a->slot) ? errno : 0;
	a->tid = (pid_t)syscall(SYS_gettid);
	abi_conf(a->vm, &a->c, g_smp_calls);
	a->c.rsp -= 4096 * (uint64_t)a->slot;
	a->c.r12 = (uint64_t)(uintptr_t)a->counter;
	a->c.r13 = SPIN;
	a->c.r14 = CALL_ROUNDS;
	a->c.r15 = (uint64_t)a->tid;
	a->c.rbp = (uint64_t)getpid();
	a->r = abi_run(a->vm, &a->c, 100, NULL);
	return NULL;
}

CTEST(smp_hypercalls,
      .id = "abi.smp.hypercalls",
      .profile = "threads",
      .what = "two threads of one process, pinned to two CPUs, have their vCPUs (one fd) in guest mode at the same time and each makes 2,000 gettid and getpid hypercalls meanwhile: every result is its own thread's",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 120)
{
	struct calls_arg a[2];
	pthread_t t[2];
	struct abi_vm vm;
	uint64_t *counter;
	int i;

	abi_vm_setup(&vm);
	counter = map_page(1);
	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].vm = &vm;
		a[i].counter = counter;
		a[i].slot = i;
		CT_ASSERT_EQ(pthread_create(&t[i], NULL, calls_thread, &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		CT_ASSERT_EQ(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		CT_ASSERT(!a[i].pin_err, "sched_setaffinity(CPU %d): %s", i, strerror(a[i].pin_err));
		ABI_ASSERT_RET(a[i].r, &a[i].c, DUNE_RET_EXIT);
		CT_EXPECT(a[i].c.status != 99, "thread %d: the other vCPU never came", i);
		CT_EXPECT(a[i].c.status != 3, "thread %d (tid %d): gettid returned %lld", i, a[i].tid,
			  (long long)a[i].c.rbx);
		CT_EXPECT(a[i].c.status != 4, "thread %d: getpid returned %lld, want %d", i,
			  (long long)a[i].c.rbx, getpid());
		CT_EXPECT_EQ(a[i].c.status, 0);
		CT_EXPECT_EQ(a[i].c.r14, 0);	/* every round ran */
	}
	CT_EXPECT(a[0].c.vcpu != a[1].c.vcpu, "both threads got vCPU handle %#llx",
		  (unsigned long long)a[0].c.vcpu);
}

/* --------------------------------------------- EPT faults, same pages */

#define TOUCH_PAGES	64

struct touch_arg {
	struct abi_vm *vm;
	volatile uint64_t *counter;
	uint8_t *pages;
	int slot;
	struct dune_config c;
	int r, pin_err;
};

static void *touch_thread(void *p)
{
	struct touch_arg *a = p;

	a->pin_err = pin(a->slot) ? errno : 0;
	abi_conf(a->vm, &a->c, g_smp_touch);
	a->c.rsp -= 4096 * (uint64_t)a->slot;
	a->c.r12 = (uint64_t)(uintptr_t)a->counter;
	a->c.r13 = SPIN;
	a->c.r14 = (uint64_t)(uintptr_t)a->pages;
	a->c.r15 = TOUCH_PAGES;
	a->c.rbx = (uint64_t)a->slot + 1;		/* this vCPU's tag */
	a->c.rsi = 8 * (uint64_t)a->slot;		/* its slot */
	a->c.rdi = 8 * (uint64_t)(1 - a->slot);		/* the other's */
	a->r = abi_run(a->vm, &a->c, 100, NULL);
	return NULL;
}

CTEST(smp_ept_same_page,
      .id = "abi.smp.ept_same_page",
      .profile = "vm",
      .what = "two vCPUs of one process on two CPUs read, then write, 64 fresh pages at the same time (EPT faults on the same page from both, a read fault mapping a page the other's write fault is replacing): each sees the other's write and the host sees both",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 120)
{
	struct touch_arg a[2];
	pthread_t t[2];
	struct abi_vm vm;
	uint64_t *counter;
	uint8_t *pages;
	int i, k, bad = 0;

	abi_vm_setup(&vm);
	counter = map_page(1);
	pages = map_page(TOUCH_PAGES);	/* never touched by the host */
	for (i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].vm = &vm;
		a[i].counter = counter;
		a[i].pages = pages;
		a[i].slot = i;
		CT_ASSERT_EQ(pthread_create(&t[i], NULL, touch_thread, &a[i]), 0);
	}
	for (i = 0; i < 2; i++)
		CT_ASSERT_EQ(pthread_join(t[i], NULL), 0);
	for (i = 0; i < 2; i++) {
		CT_ASSERT(!a[i].pin_err, "sched_setaffinity(CPU %d): %s", i, strerror(a[i].pin_err));
		ABI_ASSERT_RET(a[i].r, &a[i].c, DUNE_RET_EXIT);
		CT_EXPECT(a[i].c.status != 99, "vCPU %d: the other vCPU never came", i);
		CT_EXPECT(a[i].c.status != 5, "vCPU %d: page %#llx holds something else in the other's slot",
			  i, (unsigned long long)a[i].c.rcx);
		CT_EXPECT(a[i].c.status != 6, "vCPU %d: never saw the other's write to page %#llx",
			  i, (unsigned long long)a[i].c.rcx);
		CT_EXPECT_EQ(a[i].c.status, 0);
	}
	for (k = 0; k < TOUCH_PAGES; k++) {
		uint64_t *q = (uint64_t *)(pages + 4096 * k);

		for (i = 0; i < 2; i++) {
			if (q[i] != (uint64_t)(uintptr_t)q + (uint64_t)i + 1 && bad++ < 4)
				CT_EXPECT(0, "page %d slot %d: the host sees %#llx, want %#llx", k, i,
					  (unsigned long long)q[i],
					  (unsigned long long)((uintptr_t)q + (uint64_t)i + 1));
		}
	}
}

/* ------------------------------- munmap / mprotect while the other runs */

#define WATCH_ROUNDS	12
#define OLD		0x0123456789abcdefULL
#define NEW		0xfedcba9876543210ULL

struct watch_arg {
	struct abi_vm *vm;
	volatile uint64_t *flag;	/* [0]: go, [1]: in the guest */
	volatile uint64_t *page;
	bool store;
	struct dune_config c;
	int r, pin_err;
};

static void *watch_thread(void *p)
{
	struct watch_arg *a = p;

	a->pin_err = pin(1) ? errno : 0;
	abi_conf(a->vm, &a->c, g_watch);
	a->c.r12 = (uint64_t)(uintptr_t)a->flag;
	a->c.r13 = SPIN;
	a->c.r14 = (uint64_t)(uintptr_t)a->page;
	a->c.rsi = a->store;
	a->c.rbx = NEW;
	a->r = abi_run(a->vm, &a->c, 100, NULL);
	return NULL;
}

/* the guest is in its loop: 8(flag) set, and a little while later */
static void wait_in_guest(volatile uint64_t *flag)
{
	for (int i = 0; i < 20000 && !flag[1]; i++)
		usleep(500);
	usleep(2000);
}

/* One round: the other thread's guest reads (or writes) the page; this
 * one munmaps (or mprotects) it, then tells the guest to touch it once
 * more, which must fault.  Returns false after a failure (reported). */
static bool watch_round(struct abi_vm *vm, bool store, int round)
{
	struct watch_arg a;
	volatile uint64_t *flag, *page;
	uint64_t want, in_loop;
	pthread_t t;
	int r;

	flag = map_page(1);
	page = map_page(1);
	*page = OLD;
	memset(&a, 0, sizeof(a));
	a.vm = vm;
	a.flag = flag;
	a.page = page;
	a.store = store;
	CT_ASSERT_EQ(pthread_create(&t, NULL, watch_thread, &a), 0);
	wait_in_guest(flag);
	if (store)
		r = mprotect((void *)page, 4096, PROT_READ);
	else
		r = munmap((void *)page, 4096);
	CT_ASSERT(r == 0, "%s: %s", store ? "mprotect" : "munmap", strerror(errno));
	flag[0] = 1;
	CT_ASSERT_EQ(pthread_join(t, NULL), 0);
	CT_ASSERT(!a.pin_err, "sched_setaffinity(CPU 1): %s", strerror(a.pin_err));
	CT_ASSERT(flag[1], "round %d: the guest never started", round);
	want = abi_gva(vm, store ? g_watch_store : g_watch_again);
	in_loop = abi_gva(vm, store ? g_watch_loop_store : g_watch_loop_load);
	if (a.r == 0 && a.c.ret == DUNE_RET_EXIT && a.c.status == 1) {
		CT_EXPECT(0, "round %d: after the %s had returned, the other vCPU %s the page (stale translation): %#llx",
			  round, store ? "mprotect(PROT_READ)" : "munmap",
			  store ? "still wrote" : "still read", (unsigned long long)a.c.rcx);
		return false;
	}
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EPT_VIOLATION);
	CT_EXPECT(a.c.rip == want || a.c.rip == in_loop,
		  "round %d: EPT_VIOLATION at rip %#llx, want the page's access in the loop (%#llx) or after the flag (%#llx)",
		  round, (unsigned long long)a.c.rip, (unsigned long long)in_loop, (unsigned long long)want);
	if (store)
		CT_EXPECT(*page == OLD || *page == NEW, "round %d: the page holds %#llx", round,
			  (unsigned long long)*page);
	return ct_failures() == 0;
}

CTEST(smp_munmap_running,
      .id = "abi.smp.munmap_running",
      .profile = "vm",
      .what = "a thread munmaps a page that another thread's guest, running on the other CPU, keeps reading: its reads end with EPT_VIOLATION at a read of the page, at the latest at its first read after munmap has returned, never giving the old contents then (12 rounds)",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 180)
{
	struct abi_vm vm;

	CT_ASSERT(pin(0) == 0, "sched_setaffinity(CPU 0): %s", strerror(errno));
	abi_vm_setup(&vm);
	for (int i = 0; i < WATCH_ROUNDS; i++)
		if (!watch_round(&vm, false, i))
			break;
}

CTEST(smp_mprotect_running,
      .id = "abi.smp.mprotect_running",
      .profile = "vm",
      .what = "a thread makes read-only a page that another thread's guest, running on the other CPU, keeps writing: its writes end with EPT_VIOLATION at a store to the page, at the latest at its first store after mprotect has returned (12 rounds)",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 180)
{
	struct abi_vm vm;

	CT_ASSERT(pin(0) == 0, "sched_setaffinity(CPU 0): %s", strerror(errno));
	abi_vm_setup(&vm);
	for (int i = 0; i < WATCH_ROUNDS; i++)
		if (!watch_round(&vm, true, i))
			break;
}

/* ------------------------------------------------------- migration */

#define MIGRATE_ROUNDS	(1ULL << 40)	/* the host ends the loop */
#define MIGRATE_MOVES	6

struct migrate_arg {
	struct abi_vm *vm;
	volatile uint64_t *shared;
	_Atomic pid_t tid;
	struct dune_config c;
	int r;
};

static void *migrate_thread(void *p)
{
	struct migrate_arg *a = p;

	atomic_store(&a->tid, (pid_t)syscall(SYS_gettid));
	if (pin(0))
		return NULL;	/* the guest never starts: reported */
	abi_conf(a->vm, &a->c, g_migrate);
	a->c.r12 = (uint64_t)(uintptr_t)a->shared;
	a->c.r14 = MIGRATE_ROUNDS;
	a->r = abi_run(a->vm, &a->c, 1000, NULL);
	return NULL;
}

CTEST(smp_migrate_running,
      .id = "abi.smp.migrate_running",
      .profile = "threads",
      .what = "a thread whose guest runs is moved between two CPUs by another thread (sched_setaffinity on its tid) while in guest mode: its guest goes on where it was (registers and memory agree), its getcpu hypercalls report both CPUs, and its run ends normally",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 180)
{
	struct migrate_arg a;
	volatile uint64_t *shared;
	struct abi_vm vm;
	cpu_set_t set;
	pthread_t t;
	int moves = 0, err = 0, i;
	bool joined = false;

	abi_vm_setup(&vm);
	shared = map_page(1);
	memset(&a, 0, sizeof(a));
	a.vm = &vm;
	a.shared = shared;
	CT_ASSERT_EQ(pthread_create(&t, NULL, migrate_thread, &a), 0);
	wait_in_guest(shared);
	if (!shared[1]) {
		shared[0] = 2;
		pthread_join(t, NULL);
		CT_ASSERT(0, "the guest never started: ioctl %d ret=%lld", a.r, (long long)a.c.ret);
	}
	/* move it to the other CPU and back, MIGRATE_MOVES times at least,
	 * then let the guest end once it has reported both CPUs */
	for (i = 0; i < 1000 && !joined; i++) {
		CPU_ZERO(&set);
		CPU_SET((i + 1) & 1, &set);
		if (sched_setaffinity(atomic_load(&a.tid), sizeof(set), &set) == 0)
			moves++;
		else
			err = errno;
		if (moves >= MIGRATE_MOVES)
			shared[0] = 1;
		usleep(5000);
		joined = pthread_tryjoin_np(t, NULL) == 0;
	}
	shared[0] = 2;
	if (!joined)
		CT_ASSERT_EQ(pthread_join(t, NULL), 0);
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EXIT);
	CT_EXPECT(a.c.status != 8, "getcpu by hypercall returned %lld", (long long)a.c.rbp);
	CT_ASSERT(moves >= MIGRATE_MOVES, "only %d moves of the guest's thread (sched_setaffinity: %s)", moves,
		  strerror(err));
	CT_EXPECT(a.c.status != 7, "the guest's register count (%llu) and memory count (%llu) disagree after a move",
		  (unsigned long long)a.c.r15, (unsigned long long)shared[3]);
	CT_EXPECT_EQ(a.c.status, 0);
	CT_EXPECT(a.c.rbx == 3, "getcpu in the guest saw CPU mask %#llx, want both CPUs (0x3) after %d moves",
		  (unsigned long long)a.c.rbx, moves);
	CT_EXPECT_EQ(a.c.r15, shared[3]);
}

/* ------------------------------- a thread exits while another runs */

struct spin_arg {
	struct abi_vm *vm;
	volatile uint64_t *flag;
	int cpu;
	bool handle_first;		/* run once to learn the handle, then spin */
	_Atomic uint64_t handle;
	pid_t tid;
	struct dune_config c;
	int r, pin_err;
};

static void *spin_thread(void *p)
{
	struct spin_arg *a = p;
	uint64_t h = 0;

	a->pin_err = pin(a->cpu) ? errno : 0;
	a->tid = (pid_t)syscall(SYS_gettid);
	if (a->handle_first) {
		abi_conf(a->vm, &a->c, g_smp_exit42);
		a->c.rsp -= 4096 * (uint64_t)(a->cpu + 1);
		a->r = abi_enter(a->vm, &a->c);
		if (a->r || a->c.ret != DUNE_RET_EXIT || !a->c.vcpu)
			return NULL;
		h = a->c.vcpu;
		atomic_store(&a->handle, h);
	}
	abi_conf(a->vm, &a->c, g_spin_flag);
	a->c.vcpu = h;
	a->c.rsp -= 4096 * (uint64_t)(a->cpu + 1);
	a->c.r12 = (uint64_t)(uintptr_t)a->flag;
	a->c.r13 = SPIN;
	a->r = abi_run(a->vm, &a->c, 100, NULL);
	return NULL;
}

static void *exit42_thread(void *p)
{
	struct abi_vm *vm = p;
	struct dune_config c;

	pin(0);
	abi_conf(vm, &c, g_smp_exit42);
	c.rsp -= 4096 * 8;
	if (abi_enter(vm, &c) || c.ret != DUNE_RET_EXIT || c.status != 42)
		return (void *)1;
	return NULL;	/* the thread exits with its vCPU left behind */
}

CTEST(smp_thread_exit_running,
      .id = "abi.smp.thread_exit_running",
      .profile = "threads",
      .what = "threads of a process create a vCPU on one fd, run and exit (16 of them, one after the other) while another thread's guest runs on the other CPU: that guest is undisturbed and its run ends normally with its own gettid",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 120)
{
	struct spin_arg a;
	volatile uint64_t *flag;
	struct abi_vm vm;
	pthread_t t, e;
	void *rv;
	int i;

	abi_vm_setup(&vm);
	flag = map_page(1);
	memset(&a, 0, sizeof(a));
	a.vm = &vm;
	a.flag = flag;
	a.cpu = 1;
	CT_ASSERT_EQ(pthread_create(&t, NULL, spin_thread, &a), 0);
	wait_in_guest(flag);
	for (i = 0; i < 16; i++) {
		CT_ASSERT_EQ(pthread_create(&e, NULL, exit42_thread, &vm), 0);
		CT_ASSERT_EQ(pthread_join(e, &rv), 0);
		CT_EXPECT(rv == NULL, "exiting thread %d: its guest did not exit(42)", i);
		usleep(2000);
	}
	flag[0] = 1;
	CT_ASSERT_EQ(pthread_join(t, NULL), 0);
	CT_ASSERT(!a.pin_err, "sched_setaffinity(CPU 1): %s", strerror(a.pin_err));
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EXIT);
	CT_EXPECT(a.c.status != 99, "the running guest never saw the flag");
	CT_EXPECT_EQ(a.c.status, 0);
	CT_EXPECT_EQ(a.c.rbx, a.tid);
}

/* ------------------------------------ handles while the vCPU runs */

CTEST(smp_vcpu_handle_running,
      .id = "abi.smp.vcpu_handle_running",
      .profile = "threads",
      .what = "while thread B's vCPU runs on the other CPU, thread A's DUNE_ENTER with B's handle fails (EPERM: a handle is its thread's) and does not disturb B, a DUNE_ENTER with vcpu 0 on the same fd gives A a vCPU of its own, and B's run ends normally",
      .needs = "dev-dune smp",
      .backends = "vmx",
      .timeout = 120,
      .destructive = "a vCPU handle that is a kernel pointer (the original) lets a second thread run a VMCS already running on another CPU")
{
	struct dune_config c, mine;
	struct spin_arg a;
	volatile uint64_t *flag;
	struct abi_vm vm;
	uint64_t handle = 0;
	pthread_t t;
	int r, i;

	CT_ASSERT(pin(0) == 0, "sched_setaffinity(CPU 0): %s", strerror(errno));
	abi_vm_setup(&vm);
	flag = map_page(1);
	/* B runs once to learn its handle, then spins with it */
	memset(&a, 0, sizeof(a));
	a.vm = &vm;
	a.flag = flag;
	a.cpu = 1;
	a.handle_first = true;
	CT_ASSERT_EQ(pthread_create(&t, NULL, spin_thread, &a), 0);
	wait_in_guest(flag);
	handle = atomic_load(&a.handle);
	if (!flag[1] || !handle) {
		flag[0] = 1;
		pthread_join(t, NULL);
		CT_ASSERT(0, "B did not get to its guest: ioctl %d ret=%lld handle %#llx", a.r,
			  (long long)a.c.ret, (unsigned long long)handle);
	}
	for (i = 0; i < 4; i++) {
		abi_conf(&vm, &c, g_smp_exit42);
		c.vcpu = handle;
		c.rsp -= 4096 * 8;
		r = abi_enter(&vm, &c);
		CT_EXPECT(r == -EPERM || r == -EINVAL,
			  "DUNE_ENTER with another thread's handle (running on the other CPU): ioctl %d (%s) ret=%lld, want -1/EPERM",
			  r, r ? strerror(-r) : "ok", (long long)c.ret);
	}
	abi_conf(&vm, &mine, g_smp_exit42);
	mine.rsp -= 4096 * 8;
	r = abi_enter(&vm, &mine);
	CT_EXPECT(r == 0 && mine.ret == DUNE_RET_EXIT && mine.status == 42,
		  "a vCPU of A's own meanwhile: ioctl %d ret=%lld status=%lld", r, (long long)mine.ret,
		  (long long)mine.status);
	flag[0] = 1;
	CT_ASSERT_EQ(pthread_join(t, NULL), 0);
	ABI_ASSERT_RET(a.r, &a.c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(a.c.status, 0);
	CT_EXPECT_EQ(a.c.rbx, a.tid);
	CT_EXPECT_EQ(a.c.vcpu, handle);
	CT_EXPECT(mine.vcpu != handle, "A's new vCPU has B's handle %#llx", (unsigned long long)mine.vcpu);
}

// SPDX-License-Identifier: MIT
/*
 * entry.c - dune_init(), dune_enter(): backend choice, page tables, IDT,
 * per-CPU areas (GDT, TSS, IST and trap stacks, the host stack the
 * backend's run loop uses).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>

#include "internal.h"

const struct dune_backend *dune_be;
bool dune_map_full;
bool dune_map_full_big_pages;
__thread struct dune_percpu *dune_pc;
uintptr_t dune_guest_idt;
bool dune_fsgsbase;

static bool initialized;
static int init_pid;		/* the process the backend was set up for */
static int owner_pid;		/* the process the per-CPU areas belong to */

/* the per-CPU areas of this process's threads in Dune mode */
static struct dune_percpu *live_areas;
static volatile int live_lock;

#define STACK_CRIT	(16UL << 10)	/* IST1: #DF, NMI, #MC */
#define STACK_IST	((size_t)IST_CHUNK * IST_CHUNKS)	/* IST2: ring-0 traps, nested */
#define STACK_TRAP	(64UL << 10)	/* traps and syscalls from ring 3 */
#define STACK_HOST	(256UL << 10)	/* run loop, forwarded syscalls, signals */

void dune_err(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "libdune: ");
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, (size_t)n) < 0) {
		/* nothing left to report to */
	}
}

const char *dune_backend_name(void)
{
	return dune_be ? dune_be->name : NULL;
}

bool dune_is_in_guest(void)
{
	uint16_t cs;

	if (!dune_pc)
		return false;
	/* guest ring 0 runs with GD_KT; in host mode (a forked child whose
	 * fork skipped the atfork handlers, say) CS is the user one */
	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs == GD_KT || dune_percpu_in_user(dune_pc);
}

bool dune_has_pcid(void)
{
	extern bool dune_guest_pcid;
	uint64_t cr4;

	/* in guest ring 0 ask the CPU: on vmx the module sets CR4.PCIDE where
	 * the host has PCID (docs/abi.md section 6); kvm: as libdune set it */
	if (!dune_is_in_guest())
		return dune_guest_pcid;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	return cr4 & (1UL << 17);
}

static int pick_backend(void)
{
	const char *env = getenv("DUNE_BACKEND");

	if (!env || !*env || !strcmp(env, "auto")) {
		if (access("/dev/dune", F_OK) == 0)
			dune_be = &dune_backend_vmx;
		else if (access("/dev/kvm", F_OK) == 0)
			dune_be = &dune_backend_kvm;
		else {
			dune_err("no backend: neither /dev/dune nor /dev/kvm exists "
				 "(load dune.ko, or kvm_intel/kvm_amd; or set DUNE_BACKEND)");
			return -ENODEV;
		}
		return 0;
	}
	if (!strcmp(env, "vmx"))
		dune_be = &dune_backend_vmx;
	else if (!strcmp(env, "kvm"))
		dune_be = &dune_backend_kvm;
	else {
		dune_err("DUNE_BACKEND=%s: must be vmx, kvm or auto", env);
		return -EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------- IDT */

static void set_gate(uint64_t *idt, int vec, uintptr_t fn, int ist, int dpl)
{
	idt[vec * 2] = (fn & 0xffff) | ((uint64_t)GD_KT << 16) | ((uint64_t)ist << 32) |
		       ((uint64_t)(0x8e | (dpl << 5)) << 40) |
		       ((uint64_t)((fn >> 16) & 0xffff) << 48);
	idt[vec * 2 + 1] = fn >> 32;
}

void dune_setup_idt(void)
{
	uint64_t *idt;
	int vec;

	if (!dune_guest_idt) {
		idt = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (idt == MAP_FAILED)
			return;
		dune_guest_idt = (uintptr_t)idt;
	}
	idt = (uint64_t *)dune_guest_idt;
	for (vec = 0; vec < 256; vec++) {
		int ist = (vec == 2 || vec == 8 || vec == 18) ? IST_CRITICAL : IST_TRAP;

		uintptr_t fn = (uintptr_t)dune_idt_stubs + (uintptr_t)vec * 16;

		if (vec < 32 && dune_exc_entries[dune_fsgsbase][vec])
			fn = dune_exc_entries[dune_fsgsbase][vec];	/* an exception's own entry */
		set_gate(idt, vec, fn, ist, vec == 3 ? 3 : 0);
	}
}

/* ------------------------------------------------------------ percpu */

static uint64_t seg(uint64_t type_dpl_s_p, uint64_t lflag)
{
	/* flat: base 0, limit 0xfffff, G=1; type_dpl_s_p is the access byte */
	return 0xffffULL | (type_dpl_s_p << 40) | (0xfULL << 48) |
	       ((lflag ? 0xaULL : 0xcULL) << 52);
}

void dune_percpu_fill_gdt(struct dune_percpu *pc)
{
	uintptr_t tss = (uintptr_t)&pc->tss;
	uint64_t limit = sizeof(pc->tss) - 1;

	memset(pc->gdt, 0, sizeof(pc->gdt));
	pc->gdt[GD_KT >> 3] = seg(0x9b, 1);		/* code, ring 0, 64-bit */
	pc->gdt[GD_KD >> 3] = seg(0x93, 0);		/* data, ring 0 */
	pc->gdt[0x20 >> 3] = seg(0xfb, 0);		/* 32-bit user code (sysret base) */
	pc->gdt[GD_UD >> 3] = seg(0xf3, 0);		/* data, ring 3 */
	pc->gdt[GD_UT >> 3] = seg(0xfb, 1);		/* code, ring 3, 64-bit */
	pc->gdt[GD_TSS >> 3] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
			       (0x89ULL << 40) | (((limit >> 16) & 0xf) << 48) |
			       (((tss >> 24) & 0xff) << 56);
	pc->gdt[GD_TSS2 >> 3] = tss >> 32;
}

void *dune_alloc_percpu(void)
{
	struct dune_percpu *pc;
	size_t len = PGSIZE + STACK_CRIT + PGSIZE + STACK_IST + PGSIZE + STACK_TRAP +
		     PGSIZE + STACK_HOST;
	char *st;
	unsigned long fs = 0;

	pc = mmap(NULL, DUNE_PERCPU_MAP_SIZE, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pc == MAP_FAILED)
		return NULL;
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		munmap(pc, DUNE_PERCPU_MAP_SIZE);
		return NULL;
	}
	/* guard pages below each stack */
	mprotect(st, PGSIZE, PROT_NONE);
	mprotect(st + PGSIZE + STACK_CRIT, PGSIZE, PROT_NONE);
	mprotect(st + 2 * PGSIZE + STACK_CRIT + STACK_IST, PGSIZE, PROT_NONE);
	mprotect(st + 3 * PGSIZE + STACK_CRIT + STACK_IST + STACK_TRAP, PGSIZE, PROT_NONE);

	memset(pc, 0, sizeof(*pc));
	pc->self = (uintptr_t)pc;
	pc->stacks = st;
	pc->stacks_len = len;
	pc->tss.ist[IST_CRITICAL - 1] = (uintptr_t)st + PGSIZE + STACK_CRIT;
	/* 64 below the top (bit 8 set): a return to ring 3 moves it 256 bytes
	 * down and back (dune.S) */
	pc->tss.ist[IST_TRAP - 1] = (uintptr_t)st + 2 * PGSIZE + STACK_CRIT + STACK_IST - 64;
	pc->tss.rsp[0] = (uintptr_t)st + 3 * PGSIZE + STACK_CRIT + STACK_IST + STACK_TRAP;
	/* 8 mod 16: a struct dune_tf (168 bytes) pushed there leaves the
	 * stack 16-byte aligned for the handler's call (dune.S) */
	pc->trap_stack_top = pc->tss.rsp[0] - 8;
	pc->tss.iomb = sizeof(pc->tss);
	pc->host_stack_top = (uintptr_t)st + len;
	pc->syscall_user_entry = (uintptr_t)__dune_syscall_user;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	pc->kfs_base = fs;
	pc->ufs_base = fs;
	pc->tid = (int)syscall(SYS_gettid);
	pc->dev_fd = -1;
	dune_percpu_fill_gdt(pc);
	return pc;
}

static void live_lock_take(void)
{
	dune_spin_lock(&live_lock);
}

static void live_lock_drop(void)
{
	dune_spin_unlock(&live_lock);
}

static void live_add(struct dune_percpu *pc)
{
	live_lock_take();
	pc->live_next = live_areas;
	pc->live_pprev = &live_areas;
	if (live_areas)
		live_areas->live_pprev = &pc->live_next;
	live_areas = pc;
	live_lock_drop();
}

static void live_del(struct dune_percpu *pc)
{
	live_lock_take();
	if (pc->live_pprev) {
		*pc->live_pprev = pc->live_next;
		if (pc->live_next)
			pc->live_next->live_pprev = pc->live_pprev;
	}
	pc->live_next = NULL;
	pc->live_pprev = NULL;
	live_lock_drop();
}

/* the guest page tables follow the host mappings (kvm): pc is going */
static void unmirror_percpu(struct dune_percpu *pc)
{
	if (dune_be->mirrors_host) {
		dune_mirror_range((uintptr_t)pc->stacks, pc->stacks_len, -1);
		dune_mirror_range((uintptr_t)pc, DUNE_PERCPU_MAP_SIZE, -1);
	}
}

/* host mode, not running on pc's stacks */
static void free_percpu(struct dune_percpu *pc)
{
	unmirror_percpu(pc);
	dune_raw_syscall6(SYS_munmap, (long)pc->stacks, (long)pc->stacks_len, 0, 0, 0, 0);
	dune_raw_syscall6(SYS_munmap, (long)pc, (long)DUNE_PERCPU_MAP_SIZE, 0, 0, 0, 0);
}

void dune_thread_exit(struct dune_percpu *pc, long code)
{
	uint64_t all = ~0ULL;
	void *stacks = pc->stacks;
	size_t len = pc->stacks_len;

	/* a signal frame now would land on stacks about to go */
	dune_raw_syscall6(SYS_rt_sigprocmask, SIG_BLOCK, (long)&all, 0, sizeof(all), 0, 0);
	dune_pc = NULL;
	dune_xl_thread_end(pc);
	if (dune_be->release)
		dune_be->release(pc);
	live_del(pc);
	unmirror_percpu(pc);
	dune_raw_syscall6(SYS_munmap, (long)pc, (long)DUNE_PERCPU_MAP_SIZE, 0, 0, 0, 0);
	__dune_unmap_and_exit(stacks, len, code);
}

/*
 * In a forked child (host mode): the parent's per-CPU areas, vCPUs and
 * lock holders are not this process's.  Runs once per process.
 */
static void forget_parent(void)
{
	struct dune_percpu *pc, *next;
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	int pid = (int)getpid();

	if (owner_pid == pid)
		return;
	owner_pid = pid;
	live_lock_drop();
	dune_mirror_fork_child();
	dune_page_fork_child();
	dune_xl_forked();
	dune_pc = NULL;
	for (pc = live_areas; pc; pc = next) {
		next = pc->live_next;
		if (dune_be->forget)
			dune_be->forget(pc);
		/* a fork made on these stacks (from a ring-3 syscall handler,
		 * say) still runs on them: leave that area be */
		if (sp - (uintptr_t)pc->stacks >= pc->stacks_len)
			free_percpu(pc);
	}
	live_areas = NULL;
	if (dune_be->forked)
		dune_be->forked();
}

static void atfork_child(void)
{
	if (initialized)
		forget_parent();
}

struct dune_percpu *dune_percpu_create(void)
{
	return dune_alloc_percpu();
}

/* ------------------------------------------------------------- init */

/* make the main stack VMA reach 256 KiB below here: guest accesses reach
 * the host through get_user_pages, which (Linux >= 6.1.37) does not grow
 * stacks */
static void __attribute__((noinline)) pregrow_stack(void)
{
	volatile char buf[256 << 10];

	buf[0] = 0;
	__asm__ volatile("" : : "r"(buf) : "memory");
}

int dune_init(bool map_full)
{
	int ret;
	bool copy = false;
	uintptr_t gva;

	if (initialized && init_pid == getpid())
		return 0;
	if (initialized) {
		/* forked child calling dune_init again: page tables are a copy */
		forget_parent();
		init_pid = getpid();
		return dune_be->setup();
	}
	ret = pick_backend();
	if (!ret)
		ret = dune_xl_init();
	if (ret)
		return ret;
	dune_map_full = map_full;
	pregrow_stack();
	ret = dune_be->open();
	if (ret)
		return ret;
	ret = dune_page_init();
	if (ret) {
		dune_err("%s: page pool: cannot map %lu MiB at %#lx: %s (is something mapped there?)",
			 dune_be->name, (MAX_PAGES * PGSIZE) >> 20, PAGEBASE, strerror(-ret));
		return ret;
	}
	pgroot = (ptent_t *)dune_page2pa(dune_page_get(dune_page_alloc()));
	memset(pgroot, 0, PGSIZE);

	/* the pool itself, with 2 MiB pages (ring 0 only) */
	ret = dune_vm_map_phys(pgroot, (void *)dune_page_base, (size_t)num_pages * PGSIZE,
			       (void *)dune_page_base, PERM_R | PERM_W | PERM_BIG);
	if (!ret && !dune_be->mirrors_host && map_full) {
		/* the original's full mapping: identity 0-4 GiB, both windows,
		 * RWXU in 4 KiB pages (17.8 million PTEs, 136 MiB of tables:
		 * built as each 2 MiB is first looked at, see PTE_LAZY4K; the
		 * mirror below does it for what the process has mapped now),
		 * unless the program asked for 2 MiB ones */
		int perm = PERM_R | PERM_W | PERM_X | PERM_U | PERM_BIG |
			   (dune_map_full_big_pages ? 0 : PERM_LAZY4K);

		ret = dune_vm_map_phys(pgroot, (void *)0, 1UL << 32, (void *)0, perm);
		if (!ret)
			ret = dune_vm_map_phys(pgroot, (void *)mmap_base, GPA_MAP_SIZE,
					       (void *)dune_mmap_addr_to_pa((void *)mmap_base), perm);
		if (!ret)
			ret = dune_vm_map_phys(pgroot, (void *)stack_base, GPA_STACK_SIZE,
					       (void *)dune_stack_addr_to_pa((void *)stack_base), perm);
	}
	if (!ret)
		ret = dune_layout_map_all();
	if (!ret)
		ret = dune_mirror_vsyscall();
	if (ret) {
		dune_err("%s: building the guest page tables failed: %s (page pool exhausted?)",
			 dune_be->name, strerror(-ret));
		return ret;
	}

	gva = dune_be->syscall_gva(&copy);
	if (copy) {
		/* two pages at the host's LSTAR hold a copy of the trampoline */
		struct page *p0 = dune_page_alloc(), *p1 = dune_page_alloc();
		size_t off = gva & (PGSIZE - 1);
		size_t n = (size_t)(__dune_syscall_vmx_end - __dune_syscall_vmx);

		if (!p0 || !p1 || dune_page2pa(p1) != dune_page2pa(p0) + PGSIZE) {
			dune_err("%s: page pool: cannot allocate the syscall trampoline pages",
				 dune_be->name);
			return -ENOMEM;
		}
		memset((void *)dune_page2pa(p0), 0xcc, 2 * PGSIZE);
		memcpy((char *)dune_page2pa(p0) + off, __dune_syscall_vmx, n);
		ret = dune_vm_insert_page(pgroot, (void *)PGROUNDDOWN(gva), p0, PERM_R | PERM_X);
		if (!ret)
			ret = dune_vm_insert_page(pgroot, (void *)(PGROUNDDOWN(gva) + PGSIZE), p1,
						  PERM_R | PERM_X);
		if (ret) {
			dune_err("%s: cannot map the syscall trampoline at %#lx: %s",
				 dune_be->name, (unsigned long)gva, strerror(-ret));
			return ret;
		}
	}

	dune_setup_idt();
	if (!dune_guest_idt) {
		dune_err("%s: cannot allocate the IDT", dune_be->name);
		return -ENOMEM;
	}
	ret = dune_be->setup();
	if (ret)
		return ret;
	if (pthread_atfork(NULL, NULL, atfork_child)) {
		dune_err("%s: pthread_atfork failed", dune_be->name);
		return -ENOMEM;
	}
	initialized = true;
	init_pid = owner_pid = getpid();
	return 0;
}

/*
 * In guest ring 0, at each entry: whether CR4.FSGSBASE is on (vmx: the
 * module sets it where the host has it; kvm: the backend, where the CPU
 * has it), and the IDT's exception entries to match.  Both copies keep
 * the same state, so a thread still in one of the other copy's entries
 * while the gate changes is fine.
 */
static void check_fsgsbase(void)
{
	uint64_t cr4;
	bool on;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	on = cr4 & (1UL << 16);
	if (on == dune_fsgsbase)
		return;
	dune_fsgsbase = on;
	dune_setup_idt();
}

int dune_enter_ex(void *percpu)
{
	struct dune_percpu *pc = percpu;
	long ret;

	if (!initialized) {
		dune_err("dune_enter: call dune_init() first");
		return -EINVAL;
	}
	if (init_pid != getpid()) {
		/* forked child (its dune_pc may be the parent's, after a raw
		 * fork system call): a new VM for this process */
		forget_parent();
		init_pid = getpid();
		ret = dune_be->setup();
		if (ret)
			return (int)ret;
	}
	if (dune_pc)
		return 0;	/* already in Dune mode */
	if (!pc)
		pc = dune_alloc_percpu();
	if (!pc) {
		dune_err("%s: dune_enter: cannot allocate the per-CPU area: %s",
			 dune_be->name, strerror(errno));
		return -ENOMEM;
	}
	/* exit-less system calls: the poller (a thread) before the mirror */
	dune_xl_enter(pc);
	/* pick up mappings made since dune_init (this thread's stack, pc) */
	ret = dune_layout_map_all();
	if (ret) {
		dune_err("%s: dune_enter: mapping the process into the guest failed: %s",
			 dune_be->name, strerror((int)-ret));
		if (!percpu)
			free_percpu(pc);
		return (int)ret;
	}
	live_add(pc);
	dune_pc = pc;
	ret = __dune_enter_asm(pc, dune_be->enter);
	if (ret) {
		dune_pc = NULL;
		live_del(pc);
		if (!percpu)
			free_percpu(pc);
		return (int)ret;
	}
	check_fsgsbase();
	return 0;
}

int dune_enter(void)
{
	return dune_enter_ex(NULL);
}

void dune_deliver_signal(int sig)
{
	if (dune_be && dune_be->deliver_signal)
		dune_be->deliver_signal(sig);
}

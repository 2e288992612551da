// SPDX-License-Identifier: MIT
/*
 * entry.c - dune_init(), dune_enter(): backend choice, page tables, IDT,
 * per-CPU areas (GDT, TSS, IST and trap stacks, the host stack the
 * backend's run loop uses).
 */
#define _GNU_SOURCE
#include <errno.h>
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
__thread struct dune_percpu *dune_pc;
uintptr_t dune_guest_idt;

static bool initialized;
static int init_pid;

#define STACK_CRIT	(16UL << 10)	/* IST1: #DF, NMI, #MC */
#define STACK_IST	(8UL << 10)	/* IST2: only a few instructions */
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
	return dune_pc != NULL;
}

bool dune_has_pcid(void)
{
	extern bool dune_guest_pcid;

	return dune_guest_pcid;
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

		set_gate(idt, vec, (uintptr_t)dune_idt_stubs + (uintptr_t)vec * 16, ist,
			 vec == 3 ? 3 : 0);
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

	pc = mmap(NULL, PGROUNDUP(sizeof(*pc)), PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (pc == MAP_FAILED)
		return NULL;
	st = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) {
		munmap(pc, PGROUNDUP(sizeof(*pc)));
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
	pc->tss.ist[IST_TRAP - 1] = (uintptr_t)st + 2 * PGSIZE + STACK_CRIT + STACK_IST;
	pc->trap_stack_top = (uintptr_t)st + 3 * PGSIZE + STACK_CRIT + STACK_IST + STACK_TRAP;
	pc->tss.rsp[0] = pc->trap_stack_top;
	pc->tss.iomb = sizeof(pc->tss);
	pc->host_stack_top = (uintptr_t)st + len;
	pc->syscall_user_entry = (uintptr_t)__dune_syscall_user;
	syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
	pc->kfs_base = fs;
	pc->ufs_base = fs;
	pc->tid = (int)syscall(SYS_gettid);
	dune_percpu_fill_gdt(pc);
	return pc;
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
		init_pid = getpid();
		return dune_be->setup();
	}
	ret = pick_backend();
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
		/* the original's full mapping: identity 0-4 GiB, both windows */
		int perm = PERM_R | PERM_W | PERM_X | PERM_U | PERM_BIG;

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
	initialized = true;
	init_pid = getpid();
	return 0;
}

int dune_enter_ex(void *percpu)
{
	struct dune_percpu *pc = percpu;
	long ret;

	if (!initialized) {
		dune_err("dune_enter: call dune_init() first");
		return -EINVAL;
	}
	if (dune_pc)
		return 0;	/* already in Dune mode */
	if (init_pid != getpid()) {
		/* forked child: a new VM for this process */
		init_pid = getpid();
		ret = dune_be->setup();
		if (ret)
			return (int)ret;
	}
	if (!pc)
		pc = dune_alloc_percpu();
	if (!pc) {
		dune_err("%s: dune_enter: cannot allocate the per-CPU area: %s",
			 dune_be->name, strerror(errno));
		return -ENOMEM;
	}
	/* pick up mappings made since dune_init (this thread's stack, pc) */
	ret = dune_layout_map_all();
	if (ret) {
		dune_err("%s: dune_enter: mapping the process into the guest failed: %s",
			 dune_be->name, strerror((int)-ret));
		return (int)ret;
	}
	dune_pc = pc;
	ret = __dune_enter_asm(pc, dune_be->enter);
	if (ret) {
		dune_pc = NULL;
		return (int)ret;
	}
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

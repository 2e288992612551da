/* SPDX-License-Identifier: MIT */
/*
 * include/dune/dune.h - the libdune API.
 *
 * Names, signatures and types are those of project-dune/dune's libdune
 * (docs/api.md), so programs written for the original
 * compile against this header unchanged.  The implementation (ref-lib/)
 * reaches VMX non-root ring 0 through one of two backends, chosen by
 * dune_init() from DUNE_BACKEND=vmx|kvm|auto (default auto: /dev/dune if
 * present, else a /dev/kvm that runs guest ring 0 natively):
 *
 *   vmx  /dev/dune (our ref-module or the original module); system calls
 *        leave the guest with VMCALL.
 *   kvm  /dev/kvm, no module: the process is its own KVM guest; system
 *        calls leave the guest through an `out` to an I/O port.  KVM
 *        handles VMCALL itself, so raw VMCALL hypercalls (the original's
 *        "backdoor" calls, or a patched libc) are a vmx-only feature: on the
 *        kvm backend use the `syscall` instruction (glibc does).
 *
 * Behaviour worth knowing (both backends unless said):
 *  - Every thread that wants to run in Dune mode calls dune_enter()
 *    itself; threads created in Dune mode start outside it, and so does the
 *    child of fork()/vfork()/clone() (it resumes after the system call in
 *    normal Linux mode, like the original).  clone3 returns -ENOSYS so that
 *    glibc falls back to clone.
 *  - Signals: handlers installed with plain signal()/sigaction() run in
 *    normal Linux mode on the thread's host stack, between two entries to
 *    the guest (they must not call functions that need ring 0, such as
 *    dune_flush_tlb()).  A handler installed with dune_signal() runs in
 *    guest ring 0 through interrupt vector DUNE_SIGNAL_INTR_BASE + signum.
 *  - Memory mapped, unmapped or re-protected in Dune mode (mmap, munmap,
 *    mprotect, mremap, brk) and the guest page tables (tests api.mm.*):
 *      kvm  the guest page tables follow every one of these calls, with
 *           dune_init(true) or (false): a new mapping is reachable from
 *           ring 0 at once and an access to an unmapped page is a guest
 *           #PF with CR2 (an extension: the original did not follow them).
 *           A write to a page the host made read-only is a guest #PF with
 *           dune_init(false); with dune_init(true), whose pages are RWXU
 *           as the original's, it ends the process as vmx's EPT violation
 *           does (exit status 1, "EPT violation" on stderr).
 *      vmx  as the original: the guest page tables are what dune_init()
 *           and dune_enter() built.  With dune_init(true) they map the
 *           identity window (below 4 GiB) and the map and stack windows
 *           whole, so a mapping made there later (an ordinary mmap or
 *           mremap, the brk heap of a -no-pie program) is reachable at
 *           once; with dune_init(false) only the mappings present at
 *           dune_init()/dune_enter() are, with the permissions they had
 *           then.  An access to any other new mapping is a not-present #PF
 *           in ring 0 (map it with dune_vm_map_phys() at dune_va_to_pa(),
 *           in a #PF handler or beforehand).  munmap and mprotect change
 *           only the host's side: a guest access the host no longer allows
 *           is stopped by EPT and ends the process (exit status 1, "EPT
 *           violation" on stderr), not a #PF; one the host now allows but
 *           the guest page tables do not is a #PF.
 *    On both backends a guest access to a guest-physical page whose host
 *    memory is gone (a mapping made with dune_vm_map_phys() over memory
 *    later unmapped) ends the process with exit status 1 and a message.
 *  - Functions marked "ring 0" may only be called in Dune mode.
 */
#ifndef DUNE_DUNE_H
#define DUNE_DUNE_H

#include <elf.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>

#include "abi.h"
#include "mmu.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DUNE_LIB_VERSION	"1.0.0"

/* ------------------------------------------------------------------ */
/* Trap frame                                                           */
/* ------------------------------------------------------------------ */

/*
 * struct dune_tf - registers of trapped (or ring-3) code, 168 bytes.
 * The tail (err .. ss) is the hardware interrupt frame.
 */
struct dune_tf {
	/* manually saved, arguments */
	uint64_t rdi;
	uint64_t rsi;
	uint64_t rdx;
	uint64_t rcx;
	uint64_t r8;
	uint64_t r9;
	uint64_t r10;
	uint64_t r11;

	/* saved by C calling conventions */
	uint64_t rbx;
	uint64_t rbp;
	uint64_t r12;
	uint64_t r13;
	uint64_t r14;
	uint64_t r15;

	/* system call number, ret */
	uint64_t rax;

	/* exception frame */
	uint32_t err;
	uint32_t pad1;
	uint64_t rip;
	uint16_t cs;
	uint16_t pad2[3];
	uint64_t rflags;
	uint64_t rsp;
	uint16_t ss;
	uint16_t pad3[3];
} __attribute__((packed));

DUNE_ABI_ASSERT(sizeof(struct dune_tf) == 168, "dune_tf is 168 bytes");
DUNE_ABI_ASSERT(offsetof(struct dune_tf, err) == 120, "dune_tf.err");
DUNE_ABI_ASSERT(offsetof(struct dune_tf, rip) == 128, "dune_tf.rip");
DUNE_ABI_ASSERT(offsetof(struct dune_tf, ss) == 160, "dune_tf.ss");

#define ARG0(tf)	((tf)->rdi)
#define ARG1(tf)	((tf)->rsi)
#define ARG2(tf)	((tf)->rdx)
#define ARG3(tf)	((tf)->rcx)	/* syscall arg3 (r10) arrives in rcx */
#define ARG4(tf)	((tf)->r8)
#define ARG5(tf)	((tf)->r9)

/* trap numbers */
#define T_DIVIDE	0	/* divide error */
#define T_DEBUG		1	/* debug exception */
#define T_NMI		2	/* non-maskable interrupt */
#define T_BRKPT		3	/* breakpoint */
#define T_OFLOW		4	/* overflow */
#define T_BOUND		5	/* bounds check */
#define T_ILLOP		6	/* illegal opcode */
#define T_DEVICE	7	/* device not available */
#define T_DBLFLT	8	/* double fault */
#define T_TSS		10	/* invalid task switch segment */
#define T_SEGNP		11	/* segment not present */
#define T_STACK		12	/* stack exception */
#define T_GPFLT		13	/* general protection fault */
#define T_PGFLT		14	/* page fault */
#define T_FPERR		16	/* floating point error */
#define T_ALIGN		17	/* alignment check */
#define T_MCHK		18	/* machine check */
#define T_SIMDERR	19	/* SIMD floating point error */

typedef void (*dune_intr_cb)(struct dune_tf *tf);
typedef void (*dune_pgflt_cb)(uintptr_t addr, uint64_t fec, struct dune_tf *tf);
typedef void (*dune_syscall_cb)(struct dune_tf *tf);

/* GDT layout (mirrors Linux) */
#define GD_KT		0x10
#define GD_KD		0x18
#define GD_UD		0x28
#define GD_UT		0x30
#define GD_TSS		0x38
#define GD_TSS2		0x40
#define NR_GDT_ENTRIES	9

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

/*
 * dune_init - open the backend, build the guest page tables and the IDT.
 * @map_full: true maps the process RWXU (PERM_R|W|X|U: ring-3 code may
 * touch all of it), as the original: vmx maps the identity range 0-4 GiB
 * and the whole map and stack windows in 4 KiB pages; kvm maps every host
 * mapping that is not PROT_NONE, now and as it changes in Dune mode (a
 * write to memory the host has read-only ends the process, as the
 * original's EPT violation does).  false maps host mappings with their
 * own permissions only.  Returns 0, or a negative errno after one line on
 * stderr naming the device, the step and what to do.
 */
int dune_init(bool map_full);

/*
 * dunebench extension: true before dune_init(true) maps vmx's full
 * windows with 2 MiB pages instead of the original's 4 KiB ones;
 * dune_vm_page_walk and dune_vm_lookup then see 2 MiB leaves (PTE_PS)
 * there until a 4 KiB change (dune_vm_mprotect, dune_vm_unmap, ...) splits
 * one.  Default false: 4 KiB PTEs, whose tables libdune builds 2 MiB at a
 * time the first time it looks inside (at dune_init for what is mapped
 * then; until then the CPU itself may walk a 2 MiB leaf there).
 */
extern bool dune_map_full_big_pages;

/*
 * dune_enter - enter Dune mode (VMX non-root ring 0) on this thread.
 * Returns 0, now running in the guest, or a negative errno.
 */
int dune_enter(void);

/* dune_enter with a per-CPU area from dune_alloc_percpu() (NULL: allocate). */
int dune_enter_ex(void *percpu);
void *dune_alloc_percpu(void);

static inline int dune_init_and_enter(void)
{
	int ret = dune_init(true);

	if (ret)
		return ret;
	return dune_enter();
}

/* dunebench extensions: which backend dune_init() chose ("vmx", "kvm"), or NULL. */
const char *dune_backend_name(void);
/* true on a thread that is in Dune mode */
bool dune_is_in_guest(void);

/*
 * dunebench extension: exit-less system calls (docs/api.md).  In exit-less
 * mode a system call made in guest ring 0 is written into a slot shared
 * with a host thread of the process (one per vCPU), which runs it while the
 * guest polls for the result: no VM exit.  Calls that depend on the
 * calling thread or on the guest page tables (gettid, signals, clone,
 * exit, mmap, ...: docs/api.md lists them) take the exit path in any mode.
 * DUNE_SYSCALL=exit|exitless sets the mode threads enter with (default:
 * exit); without a second CPU exit-less mode falls back to the exit path
 * (DUNE_SYSCALL_DEBUG=1 says so once, DUNE_SYSCALL_FORCE=1 polls anyway).
 *
 * dune_syscall_mode(mode) sets this thread's mode (before dune_enter: the
 * mode it enters with) and returns the mode now in effect, which is
 * DUNE_SYSCALL_EXIT after a fallback; DUNE_SYSCALL_QUERY only returns it;
 * -EINVAL for anything else.
 */
#define DUNE_SYSCALL_QUERY	(-1)
#define DUNE_SYSCALL_EXIT	0
#define DUNE_SYSCALL_EXITLESS	1
int dune_syscall_mode(int mode);

/* dunebench extension: one system call of a batch; ret is -errno on failure */
struct dune_syscall_req {
	long nr;
	long args[6];
	long ret;
};
#define DUNE_SYSCALL_BATCH_MAX	1024
/*
 * dunebench extension: make reqs[0..n) in order, each result in its ret.
 * In exit-less mode each run of calls that may go to the poller is handed
 * to it with one notification; the other calls, and every call in exit
 * mode or outside Dune mode, are made one by one.  0, or -EINVAL (n < 0,
 * n > DUNE_SYSCALL_BATCH_MAX, reqs NULL with n > 0) before any call.
 */
int dune_syscall_batch(struct dune_syscall_req *reqs, int n);
/* dunebench extension: true when nr may run exit-less (after dune_init) */
bool dune_syscall_exitless(long nr);

/* ------------------------------------------------------------------ */
/* Handlers                                                             */
/* ------------------------------------------------------------------ */

int dune_register_intr_handler(int vec, dune_intr_cb cb);
int dune_register_signal_handler(int signum, dune_intr_cb cb);
void dune_register_pgflt_handler(dune_pgflt_cb cb);
void dune_register_syscall_handler(dune_syscall_cb cb);

/* ------------------------------------------------------------------ */
/* Ring 3 (all ring 0)                                                  */
/* ------------------------------------------------------------------ */

void dune_pop_trap_frame(struct dune_tf *tf) __attribute__((noreturn));
/* Run @tf (rip, rsp, rflags; cs/ss are set to the user selectors) in ring 3;
 * returns the value a handler later passes to dune_ret_from_user(). */
int dune_jump_to_user(struct dune_tf *tf);
void dune_ret_from_user(int ret) __attribute__((noreturn));
void dune_dump_trap_frame(struct dune_tf *tf);
/* Run the system call in @tf (rax, ARG0..ARG5) on the host; result in tf->rax. */
void dune_passthrough_syscall(struct dune_tf *tf);

/* ------------------------------------------------------------------ */
/* Utilities                                                            */
/* ------------------------------------------------------------------ */

typedef void (*sighandler_t)(int);
sighandler_t dune_signal(int sig, sighandler_t cb);

unsigned long dune_get_user_fs(void);
void dune_set_user_fs(unsigned long fs_base);

int dune_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dune_die(void) __attribute__((noreturn));
/* mmap by a direct system call; on failure -errno as the pointer (as the
 * original: not MAP_FAILED, errno untouched) */
void *dune_mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset);

static inline unsigned long dune_get_ticks(void)
{
	unsigned int a, d;

	__asm__ volatile("rdtsc" : "=a"(a), "=d"(d));
	return ((unsigned long)a) | (((unsigned long)d) << 32);
}

/* TLB (ring 0) */
static inline void dune_flush_tlb_one(unsigned long addr)
{
	__asm__ volatile("invlpg (%0)" : : "r"(addr) : "memory");
}

static inline void dune_flush_tlb(void)
{
	unsigned long cr3;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

#define CR3_NOFLUSH	(1UL << 63)

static inline void load_cr3(unsigned long cr3)
{
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

#define INVPCID_TYPE_INDIV_ADDR		0
#define INVPCID_TYPE_SINGLE_CTXT	1
#define INVPCID_TYPE_ALL_INCL_GLOBAL	2
#define INVPCID_TYPE_ALL_NON_GLOBAL	3

static inline void __invpcid(unsigned long pcid, unsigned long addr, unsigned long type)
{
	struct { uint64_t d[2]; } desc = { { pcid, addr } };

	__asm__ volatile("invpcid %0, %1" : : "m"(desc), "r"(type) : "memory");
}

/* true when the guest has CR4.PCIDE set (so CR3 bits 0..11 are a PCID); in
 * guest ring 0 read from CR4 itself, in host mode what the kvm backend set
 * up (false on vmx before the first dune_enter) */
bool dune_has_pcid(void);

/* assert() as in the original: dune_printf + dune_die.  Define
 * DUNE_KEEP_LIBC_ASSERT before including this header to keep <assert.h>'s. */
#ifndef DUNE_KEEP_LIBC_ASSERT
#undef assert
#define assert(expr)							\
	do {								\
		if (!(expr)) {						\
			dune_printf("ASSERT(" #expr ") at %s:%d in function %s\n", \
				    __FILE__, __LINE__, __func__);		\
			dune_die();					\
		}							\
	} while (0)
#endif

/* x2APIC helpers.  APIC IDs name this process's vCPUs (they follow a
 * thread that migrates); dune_apic_init_rt_entry() records the calling
 * thread's ID for the host CPU it runs on, dune_apic_id_for_cpu() looks it
 * up.  An IPI reaches the destination's IDT vector when that guest runs
 * with interrupts enabled (sti); its handler ends with dune_apic_eoi().
 * Without an APIC on the backend they print one line,
 * dune_apic_id() returns UINT32_MAX and *error is set. */
uint32_t dune_apic_id(void);
uint32_t dune_apic_id_for_cpu(uint32_t cpu, bool *error);
void dune_apic_send_ipi(uint8_t vector, uint32_t destination_apic_id);
void dune_apic_eoi(void);
void dune_apic_init_rt_entry(void);
/* dunebench extension: true when the APIC helpers work on this backend */
bool dune_apic_supported(void);
/* dunebench extension: dune_apic_send_ipi() that says whether it was sent:
 * 0, -EINVAL (vector below 16), -ESRCH (no vCPU has that APIC ID),
 * -ENOTSUP (no APIC) */
int dune_apic_send_ipi_checked(uint8_t vector, uint32_t destination_apic_id);

/* ------------------------------------------------------------------ */
/* Physical page pool                                                   */
/* ------------------------------------------------------------------ */

struct page {
	SLIST_ENTRY(page) link;
	uint64_t ref;
};

SLIST_HEAD(page_head, page);

#define PAGEBASE	0x200000000UL	/* default guest-physical base of the pool */
#define MAX_PAGES	(1UL << 20)	/* 4 GiB of 4 KiB pages */

extern struct page *pages;
extern int num_pages;
/* where the pool lives (PAGEBASE unless built for tests); GPA == HVA there */
extern uintptr_t dune_page_base;

struct page *dune_page_alloc(void);
void dune_page_free(struct page *pg);
void dune_page_stats(void);
bool dune_page_isfrompool(physaddr_t pa);

static inline struct page *dune_pa2page(physaddr_t pa)
{
	return &pages[PPN(pa - dune_page_base)];
}

static inline physaddr_t dune_page2pa(struct page *pg)
{
	return dune_page_base + ((physaddr_t)(pg - pages) << PGSHIFT);
}

static inline struct page *dune_page_get(struct page *pg)
{
	__atomic_add_fetch(&pg->ref, 1, __ATOMIC_RELAXED);
	return pg;
}

static inline void dune_page_put(struct page *pg)
{
	if (__atomic_sub_fetch(&pg->ref, 1, __ATOMIC_ACQ_REL) == 0)
		dune_page_free(pg);
}

/* ------------------------------------------------------------------ */
/* Guest virtual memory                                                 */
/* ------------------------------------------------------------------ */

#define PERM_NONE	0x0000	/* no access */
#define PERM_R		0x0001	/* read permission */
#define PERM_W		0x0002	/* write permission */
#define PERM_X		0x0004	/* execute permission */
#define PERM_U		0x0008	/* user-level permission */
#define PERM_UC		0x0010	/* make uncachable */
#define PERM_COW	0x0020	/* COW flag */
#define PERM_USR1	0x1000	/* user flag 1 */
#define PERM_USR2	0x2000	/* user flag 2 */
#define PERM_USR3	0x3000	/* user flag 3 (sic, as the original) */
#define PERM_BIG	0x0100	/* use 2 MiB pages */
#define PERM_BIG_1GB	0x0200	/* use 1 GiB pages */

#define PERM_SCODE	(PERM_R | PERM_X)
#define PERM_STEXT	(PERM_R | PERM_W)
#define PERM_SSTACK	PERM_STEXT
#define PERM_UCODE	(PERM_R | PERM_U | PERM_X)
#define PERM_UTEXT	(PERM_R | PERM_U | PERM_W)
#define PERM_USTACK	PERM_UTEXT

/* dune_vm_lookup() @create */
#define CREATE_NONE	0
#define CREATE_NORMAL	1
#define CREATE_BIG	2
#define CREATE_BIG_1GB	3

#define GPA_STACK_SIZE	DUNE_GPA_STACK_SIZE
#define GPA_MAP_SIZE	DUNE_GPA_MAP_SIZE

extern ptent_t *pgroot;
extern uintptr_t phys_limit;
extern uintptr_t mmap_base;	/* host VA of the map window (layout.base_map) */
extern uintptr_t stack_base;	/* host VA of the stack window (layout.base_stack) */

/* dunebench extension: the window for a PIE executable and its heap
 * (size 0 when absent), host VA exec_base -> GPA dune_exec_gpa */
extern uintptr_t dune_exec_base;
extern uintptr_t dune_exec_size;
extern uintptr_t dune_exec_gpa;

static inline uintptr_t dune_mmap_addr_to_pa(void *ptr)
{
	return ((uintptr_t)ptr) - mmap_base + phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE;
}

static inline uintptr_t dune_stack_addr_to_pa(void *ptr)
{
	return ((uintptr_t)ptr) - stack_base + phys_limit - GPA_STACK_SIZE;
}

static inline uintptr_t dune_va_to_pa(void *ptr)
{
	uintptr_t va = (uintptr_t)ptr;

	if (va >= stack_base)
		return dune_stack_addr_to_pa(ptr);
	if (va >= mmap_base)
		return dune_mmap_addr_to_pa(ptr);
	if (va - dune_exec_base < dune_exec_size)
		return va - dune_exec_base + dune_exec_gpa;
	return va;
}

int dune_vm_mprotect(ptent_t *root, void *va, size_t len, int perm);
int dune_vm_map_phys(ptent_t *root, void *va, size_t len, void *pa, int perm);
int dune_vm_map_pages(ptent_t *root, void *va, size_t len, int perm);
void dune_vm_unmap(ptent_t *root, void *va, size_t len);
int dune_vm_lookup(ptent_t *root, void *va, int create, ptent_t **pte_out);

int dune_vm_insert_page(ptent_t *root, void *va, struct page *pg, int perm);
struct page *dune_vm_lookup_page(ptent_t *root, void *va);

ptent_t *dune_vm_clone(ptent_t *root);
void dune_vm_free(ptent_t *root);
void dune_vm_default_pgflt_handler(uintptr_t addr, uint64_t fec);

/* called for every present leaf in [start_va, end_va); non-zero stops */
typedef int (*page_walk_cb)(const void *arg, ptent_t *ptep, void *va);
int dune_vm_page_walk(ptent_t *root, void *start_va, void *end_va,
		      page_walk_cb cb, const void *arg);

/* ------------------------------------------------------------------ */
/* Process memory maps                                                  */
/* ------------------------------------------------------------------ */

struct dune_procmap_entry {
	uintptr_t begin;
	uintptr_t end;
	uint64_t offset;
	bool r;	/* Readable */
	bool w;	/* Writable */
	bool x;	/* Executable */
	bool p;	/* Private (or shared) */
	char *path;
	int type;
};

#define PROCMAP_TYPE_UNKNOWN	0x00
#define PROCMAP_TYPE_FILE	0x01
#define PROCMAP_TYPE_ANONYMOUS	0x02
#define PROCMAP_TYPE_HEAP	0x03
#define PROCMAP_TYPE_STACK	0x04
#define PROCMAP_TYPE_VSYSCALL	0x05
#define PROCMAP_TYPE_VDSO	0x06
#define PROCMAP_TYPE_VVAR	0x07

typedef void (*dune_procmap_cb)(const struct dune_procmap_entry *);

void dune_procmap_iterate(dune_procmap_cb cb);
void dune_procmap_dump(void);

/* ------------------------------------------------------------------ */
/* ELF                                                                  */
/* ------------------------------------------------------------------ */

struct dune_elf {
	int fd;
	unsigned char *mem;
	int len;
	Elf64_Ehdr hdr;
	Elf64_Phdr *phdr;
	Elf64_Shdr *shdr;
	char *shdrstr;
	void *priv;
};

typedef int (*dune_elf_phcb)(struct dune_elf *elf, Elf64_Phdr *phdr);
typedef int (*dune_elf_shcb)(struct dune_elf *elf, const char *sname,
			     int snum, Elf64_Shdr *shdr);

int dune_elf_open(struct dune_elf *elf, const char *path);
int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len);
int dune_elf_close(struct dune_elf *elf);
int dune_elf_dump(struct dune_elf *elf);
int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb);
int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb);
/*
 * As the original: dune_elf_open reads the headers with pread into malloc'd
 * buffers (the file is not mapped; dune_elf_close frees them).
 * dune_elf_load_ph creates PT_LOAD segment @phdr's memory at p_vaddr + @off
 * (@off a multiple of the page size) with a fixed mmap that replaces what
 * was there: the file's pages, privately, with the segment's permissions,
 * zeroes after p_filesz up to p_memsz.  -EINVAL for another type, p_filesz >
 * p_memsz or an unaligned @off; -ENOEXEC for a segment outside the file.
 */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off);

#ifdef __cplusplus
}
#endif

#endif /* DUNE_DUNE_H */

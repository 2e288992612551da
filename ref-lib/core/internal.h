/* SPDX-License-Identifier: MIT */
/*
 * internal.h - libdune internals shared by core/ and backend/.
 *
 * The per-CPU area (struct dune_percpu) is reached from guest ring 0
 * through %gs; the assembly in dune.S uses the PC_* offsets below, which
 * are checked against the structure at compile time.
 */
#ifndef DUNE_INTERNAL_H
#define DUNE_INTERNAL_H

/*
 * offsets into struct dune_percpu, for dune.S.  The GDT comes first: its
 * address (SGDT) is the per-CPU area's, which the ring-3 trap entries
 * need before GS is ring 0's.
 */
#define PC_GDT		0x00
#define PC_TSS_END	(PC_TSS + 104)
#define PC_SELF		0x0c0
#define PC_KFS		0x0c8
#define PC_UFS		0x0d0
#define PC_SPARE	0x0d8	/* unused */
#define PC_TRAP_TOP	0x0e0
#define PC_HOST_TOP	0x0e8
#define PC_ENTER_RSP	0x0f0
#define PC_USER_RSP	0x0f8
#define PC_JTU_RSP	0x100
#define PC_FLUSH	0x108
#define PC_SC_NR	0x110
#define PC_SC_A0	0x118
#define PC_SC_A1	0x120
#define PC_SC_A2	0x128
#define PC_SC_A3	0x130
#define PC_SC_A4	0x138
#define PC_SC_A5	0x140
#define PC_SC_RCX	0x148
#define PC_SC_R11	0x150
#define PC_SC_RSP	0x158
#define PC_SYSCALL_USER	0x160
#define PC_UGS		0x168
#define PC_XL_ENTRY	0x170	/* exitless.c: the syscall entry when exit-less, or 0 */
#define PC_XL_SLOT	0x178	/* exitless.c: this vCPU's struct dune_xl_slot */
#define PC_TSS		(PC_GDT + NR_GDT_ENTRIES * 8)
#define PC_TSS_IST2	(PC_TSS + 36 + 8 * (IST_TRAP - 1))	/* tss.ist[IST_TRAP - 1] */
/* bit 0 of TSS.IST2, which the CPU ignores (it aligns the stack to 16
 * bytes): set while ring 3 runs (dune.S) */
#define PC_IN_USER_BIT	1

/* offsets into struct dune_tf */
#define TF_RDI		0
#define TF_RAX		112
#define TF_ERR		120
#define TF_RIP		128
#define TF_CS		136
#define TF_RFLAGS	144
#define TF_RSP		152
#define TF_SS		160
#define TF_SIZE		168

#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SFMASK		0xc0000084

/* I/O port the kvm backend's syscall trampoline writes to */
#define DUNE_KVM_SYSCALL_PORT	0xd8

/* GDT selectors (same values as dune.h) */
#ifndef GD_KT
#define GD_KT		0x10
#define GD_KD		0x18
#define GD_UD		0x28
#define GD_UT		0x30
#define GD_TSS		0x38
#define GD_TSS2		0x40
#define NR_GDT_ENTRIES	9
#endif

/* register block for __dune_clone_resume (host mode), index * 8 */
#define RR_RAX		0
#define RR_RBX		1
#define RR_RCX		2
#define RR_RDX		3
#define RR_RSI		4
#define RR_RDI		5
#define RR_RSP		6
#define RR_RBP		7
#define RR_R8		8
#define RR_R9		9
#define RR_R10		10
#define RR_R11		11
#define RR_R12		12
#define RR_R13		13
#define RR_R14		14
#define RR_R15		15
#define RR_RIP		16
#define RR_RFLAGS	17
#define RR_MXCSR	18
#define RR_FCW		19
#define RR_FLAGS	20	/* clone flags */
#define RR_NR		21

/* vmx: ring 3 is re-entered here to take a dune_signal() signal (a
 * canonical kernel-half address libdune never maps; see sig_vec) */
#define DUNE_VMX_SIGNAL_RIP	0xffff800000000000UL

/* IST slots */
#define IST_CRITICAL	1	/* #DF, NMI, #MC: stay on their own stack */
#define IST_TRAP	2	/* everything else, and their handlers */
/* IST2: a trap from ring 0 and its handler run in one chunk, a trap in
 * that handler in the next one down (dune.S) */
#define IST_CHUNK	(64 << 10)
#define IST_CHUNKS	8

/*
 * Exit-less system calls (exitless.c, exitless_entry.S): the slot a vCPU
 * shares with its host poller thread.  state is the futex word both wait
 * on; offsets for the assembly, checked against struct dune_xl_slot.
 */
#define XL_STATE	0x00	/* XL_IDLE, XL_BUSY, XL_REQ, XL_DONE */
#define XL_GWAIT	0x04	/* the guest sleeps in FUTEX_WAIT on state */
#define XL_PSLEEP	0x08	/* the poller sleeps in FUTEX_WAIT on state */
#define XL_TGID		0x10	/* the poller's process and thread ids */
#define XL_TID		0x14
#define XL_SPINS	0x18	/* how many times the guest polls before it sleeps */
#define XL_NR		0x40	/* the call (own cache line) */
#define XL_A0		0x48
#define XL_RET		0x78
#define XL_IDLE		0
#define XL_BUSY		1	/* the guest is writing the call */
#define XL_REQ		2	/* the call is the poller's */
#define XL_DONE		3	/* the result is in XL_RET */
#define XL_SPIN		4096	/* XL_SPINS with a second CPU (one CPU: 1) */
#define XL_NR_MAX	512	/* numbers at or above: exit path */
#define XL_BATCH_NR	0x7fffffff	/* a batch: XL_A0 = requests, XL_A0+8 = count */
#define XL_KICK_SIG	64	/* SIGRTMAX: interrupts the poller's call */

#ifdef __ASSEMBLER__
/* assembly shared by dune.S and exitless_entry.S */

/*
 * The start of both syscall trampolines (kvm and vmx): swapgs (see
 * USER_GS_SAVE in dune.S), then to \user when the call came from ring 3,
 * to \xl when the thread makes its calls exit-less.
 */
.macro SYSCALL_ENTRY user, xl
	swapgs
	testb $PC_IN_USER_BIT, %gs:PC_TSS_IST2
	jnz \user
	cmpq $0, %gs:PC_XL_ENTRY
	jne \xl
.endm

/* RFLAGS = r11, as `syscall` saved them, the caller's red zone untouched */
.macro POPF_R11
	lea -128(%rsp), %rsp
	push %r11
	popfq
	lea 128(%rsp), %rsp
.endm

/* kvm: a system call through the exit path (the run loop makes it) */
.macro EXIT_CALL_KVM
	mov %rax, %gs:PC_SC_NR
	mov %rdi, %gs:PC_SC_A0
	mov %rsi, %gs:PC_SC_A1
	mov %rdx, %gs:PC_SC_A2
	mov %r10, %gs:PC_SC_A3
	mov %r8, %gs:PC_SC_A4
	mov %r9, %gs:PC_SC_A5
	outb %al, $DUNE_KVM_SYSCALL_PORT
	mov %gs:PC_SC_NR, %rax
.endm
#endif /* __ASSEMBLER__ */

#ifndef __ASSEMBLER__

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <dune/dune.h>

struct dune_tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomb;
} __attribute__((packed));

struct dune_percpu {
	uint64_t gdt[NR_GDT_ENTRIES];	/* first: see PC_GDT */
	struct dune_tss tss;
	uint8_t pad0[PC_SELF - PC_TSS_END];
	uint64_t self;
	uint64_t kfs_base;		/* FS base in ring 0 (the thread's TLS) */
	uint64_t ufs_base;		/* FS base in ring 3 */
	uint64_t spare;
	uint64_t trap_stack_top;	/* tss.rsp[0] - 8 */
	uint64_t host_stack_top;	/* where the backend's run loop runs */
	uint64_t enter_rsp;
	uint64_t user_rsp;
	uint64_t jtu_rsp;		/* dune_jump_to_user's saved context */
	uint64_t flush_pending;		/* kvm: reload CR3 after this syscall */
	uint64_t sc_nr;			/* kvm: syscall nr in, result out */
	uint64_t sc_arg[6];		/* rdi rsi rdx r10 r8 r9 */
	uint64_t sc_rcx, sc_r11, sc_rsp;
	uint64_t syscall_user_entry;	/* __dune_syscall_user, for the vmx copy */
	uint64_t ugs_base;		/* GS base in ring 3 (ring 3 may change it) */
	uint64_t xl_entry;		/* exit-less system calls: where `syscall` goes, or 0 */
	struct dune_xl_slot *xl_slot;	/* exit-less: this vCPU's shared slot */
	/* not touched by assembly */
	void *backend_priv;
	int tid;
	int cpu;			/* vCPU number */
	void *stacks;			/* one mapping: guard, IST1, IST2, trap, host */
	size_t stacks_len;
	int dev_fd;			/* vmx: this vCPU's own /dev/dune file, or -1 */
	/*
	 * vmx: a dune_signal() signal that came while ring 3 ran.  The
	 * backend re-enters ring 3 at DUNE_VMX_SIGNAL_RIP (never mapped), so
	 * the CPU itself takes a #PF from ring 3 (ring switch, IST stack, the
	 * ring-3 frame); the trap dispatch sees it, puts sig_rip back as the
	 * frame's RIP and runs vector sig_vec instead.  0: none in flight.
	 */
	uint64_t sig_vec;
	uint64_t sig_rip;
	struct dune_percpu *live_next;	/* the areas of this process's threads */
	struct dune_percpu **live_pprev;
} __attribute__((aligned(64)));

/* ring 3 runs on pc's vCPU (or ring 0 is between that and IRETQ) */
static inline bool dune_percpu_in_user(const struct dune_percpu *pc)
{
	return pc->tss.ist[IST_TRAP - 1] & PC_IN_USER_BIT;
}

/* the mapping that holds a struct dune_percpu */
#define DUNE_PERCPU_MAP_SIZE	PGROUNDUP(sizeof(struct dune_percpu))

_Static_assert(__builtin_offsetof(struct dune_percpu, flush_pending) == PC_FLUSH, "PC_FLUSH");
_Static_assert(__builtin_offsetof(struct dune_percpu, sc_nr) == PC_SC_NR, "PC_SC_NR");
_Static_assert(__builtin_offsetof(struct dune_percpu, sc_arg) == PC_SC_A0, "PC_SC_A0");
_Static_assert(__builtin_offsetof(struct dune_percpu, sc_rsp) == PC_SC_RSP, "PC_SC_RSP");
_Static_assert(__builtin_offsetof(struct dune_percpu, gdt) == PC_GDT, "PC_GDT");
_Static_assert(__builtin_offsetof(struct dune_percpu, tss) == PC_TSS, "PC_TSS");
_Static_assert(sizeof(struct dune_tss) == PC_TSS_END - PC_TSS, "PC_TSS_END");
_Static_assert(__builtin_offsetof(struct dune_percpu, self) == PC_SELF, "PC_SELF");
_Static_assert(__builtin_offsetof(struct dune_percpu, kfs_base) == PC_KFS, "PC_KFS");
_Static_assert(__builtin_offsetof(struct dune_percpu, ufs_base) == PC_UFS, "PC_UFS");
_Static_assert(__builtin_offsetof(struct dune_percpu, trap_stack_top) == PC_TRAP_TOP, "PC_TRAP_TOP");
_Static_assert(__builtin_offsetof(struct dune_percpu, jtu_rsp) == PC_JTU_RSP, "PC_JTU_RSP");
_Static_assert(__builtin_offsetof(struct dune_percpu, tss) +
	       __builtin_offsetof(struct dune_tss, ist) + 8 * (IST_TRAP - 1) == PC_TSS_IST2,
	       "PC_TSS_IST2");
_Static_assert(__builtin_offsetof(struct dune_percpu, ugs_base) == PC_UGS, "PC_UGS");
_Static_assert(__builtin_offsetof(struct dune_percpu, syscall_user_entry) == PC_SYSCALL_USER, "PC_SYSCALL_USER");
_Static_assert(__builtin_offsetof(struct dune_percpu, xl_entry) == PC_XL_ENTRY, "PC_XL_ENTRY");
_Static_assert(__builtin_offsetof(struct dune_percpu, xl_slot) == PC_XL_SLOT, "PC_XL_SLOT");

#include "../backend/backend.h"

struct dune_xl_slot {
	uint32_t state;
	uint32_t gwait;
	uint32_t psleep;
	uint32_t stop;
	int32_t tgid, tid;
	uint32_t spins;
	uint8_t pad0[XL_NR - 0x1c];
	uint64_t nr;
	uint64_t arg[6];
	uint64_t ret;
	struct dune_xl_slot *next_free;	/* the pool of idle pollers */
} __attribute__((aligned(64)));

_Static_assert(__builtin_offsetof(struct dune_xl_slot, gwait) == XL_GWAIT, "XL_GWAIT");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, psleep) == XL_PSLEEP, "XL_PSLEEP");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, tgid) == XL_TGID, "XL_TGID");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, tid) == XL_TID, "XL_TID");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, spins) == XL_SPINS, "XL_SPINS");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, nr) == XL_NR, "XL_NR");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, arg) == XL_A0, "XL_A0");
_Static_assert(__builtin_offsetof(struct dune_xl_slot, ret) == XL_RET, "XL_RET");

/* exit-less system calls (exitless.c); hooks in entry.c */
int dune_xl_init(void);				/* dune_init: DUNE_SYSCALL */
void dune_xl_enter(struct dune_percpu *pc);	/* dune_enter, host mode, before the mirror */
void dune_xl_thread_end(struct dune_percpu *pc);	/* dune_thread_exit: the poller idles */
void dune_xl_forked(void);			/* a forked child: no pollers here */
extern char __dune_xl_kvm[], __dune_xl_vmx[];	/* exitless_entry.S */
extern uint64_t dune_xl_map[XL_NR_MAX / 64] __attribute__((visibility("hidden")));

/* ---- core state ---- */

extern bool dune_map_full;
extern __thread struct dune_percpu *dune_pc;	/* this thread's area, NULL outside */
extern uintptr_t dune_guest_idt __attribute__((visibility("hidden")));	/* the IDT (256 * 16 bytes) */
extern uint64_t dune_host_brk;

/* print "libdune: <fmt>" on stderr (host mode only) */
void dune_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* a guest-ring-0 safe write of a string to fd 2 */
void dune_puts_raw(const char *s);

/* page pool */
int dune_page_init(void);
int dune_page_init_at(uintptr_t base, size_t npages);	/* unit tests */

/*
 * The TLB flush dune_vm_mprotect() and dune_vm_unmap() end with, as the
 * original's: [start, end) changed in the current page tables.  A no-op
 * outside guest ring 0 (the page tables are also edited in host mode, by
 * the mirror and before dune_enter; there the backend flushes: kvm reloads
 * CR3 after a mirrored system call).  util.c; the unit tests count calls.
 */
void dune_tlb_flush_range(uintptr_t start, uintptr_t end) __attribute__((visibility("hidden")));
/* up to this many pages: one invlpg each; more: a CR3 reload */
#define DUNE_FLUSH_INVLPG_MAX	32

/*
 * dune_init(true)'s full windows on vmx (68 GiB, as the original's: 4 KiB
 * pages) are mapped as 2 MiB leaves marked PTE_LAZY4K, each replaced by a
 * table of 512 4 KiB PTEs the first time libdune looks inside it
 * (dune_vm_lookup, dune_vm_page_walk, dune_vm_mprotect, dune_vm_unmap,
 * dune_vm_map_*, and the mirror of /proc/self/maps at dune_init and
 * dune_enter), so callers see the original's 4 KiB layout without 136 MiB
 * of tables built up front.  dune_vm_map_phys(PERM_BIG | PERM_LAZY4K)
 * makes such leaves.
 */
#define PTE_LAZY4K	0x0800ULL	/* a software bit (PTE_AVAIL) */
#define PERM_LAZY4K	0x40000000	/* not a public PERM_ */

/* layout and host-mapping mirror */
int dune_layout_map_all(void);		/* from /proc/self/maps; only-absent pages */
int dune_mirror_range(uintptr_t va, size_t len, int prot);	/* prot: PROT_* or -1 = unmap */
int dune_mirror_range_locked(uintptr_t va, size_t len, int prot);
uintptr_t dune_gpa_of(uintptr_t va, bool *ok);	/* va -> gpa through the windows */
int dune_prot_to_perm(int prot);
void dune_mirror_lock(void);
void dune_mirror_unlock(void);
int dune_mirror_vsyscall(void);
extern uintptr_t dune_vdso_lo, dune_vdso_hi, dune_vdso_gpa;	/* extra window (kvm) */
extern uintptr_t dune_identity_limit;

/* host-side syscall forwarding shared by the backends (kvm: all syscalls;
 * vmx: those libdune issues itself) */
long dune_host_syscall(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
long dune_raw_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
void dune_after_syscall(long nr, const uint64_t *a, long ret, uint64_t old_pte_perm);
int dune_perm_of_va(uintptr_t va);

/* traps */
void dune_trap_dispatch(struct dune_tf *tf, uint64_t vec);
extern dune_intr_cb dune_intr_cbs[256];	/* trap.c: the registered handlers */
extern dune_pgflt_cb dune_pgflt_cb_fn;
extern dune_intr_cb dune_trap_fast[256];	/* dune.S: what the trap entries call */
extern dune_pgflt_cb dune_pgflt_fast;
extern const char __dune_trap_thunks[];	/* dune.S: 16 bytes a vector, to dune_trap_dispatch */
void __dune_pgflt_slow(uintptr_t addr, uint64_t fec, struct dune_tf *tf);
/* dune.S: the exceptions' own entries, or 0: [0] with the MSRs, [1] with the
 * FSGSBASE instructions for the GS and FS bases of ring 3 */
extern const uintptr_t dune_exc_entries[2][32];
/* the guest has CR4.FSGSBASE (dune_enter sees it): dune.S uses RDGSBASE,
 * WRGSBASE and WRFSBASE instead of the MSRs */
extern bool dune_fsgsbase __attribute__((visibility("hidden")));
extern dune_syscall_cb dune_syscall_cb_fn;
void dune_syscall_dispatch_user(struct dune_tf *tf);
void dune_bad_user_frame(struct dune_tf *tf);
void dune_deliver_signal(int sig);
bool dune_signal_wanted(int sig);
void dune_setup_idt(void);

/* percpu */
struct dune_percpu *dune_percpu_create(void);
void dune_percpu_fill_gdt(struct dune_percpu *pc);

/*
 * The end of a thread in Dune mode (the backends call it when the guest
 * made the exit system call; host mode, on pc's host stack): blocks
 * signals, has the backend release the vCPU (dune_be->release), frees pc
 * and its stacks and ends the thread with exit(code).
 */
void dune_thread_exit(struct dune_percpu *pc, long code) __attribute__((noreturn));

/*
 * libdune's short spin locks (page pool, mirror, live per-CPU areas, the
 * kvm vCPU free list).  Guest ring 0 runs them with interrupts off, and
 * the holder may be a thread in host mode, so a waiter that has spun
 * DUNE_SPIN_BEFORE_YIELD times gives its CPU away with sched_yield (a
 * forwarded syscall in Dune mode, a plain one in host mode) and tries
 * again: a waiter never keeps the holder off a CPU for a whole time slice.
 */
#define DUNE_SPIN_BEFORE_YIELD 64

static inline void dune_spin_lock(volatile int *word)
{
	unsigned int spins = 0;

	while (__atomic_exchange_n(word, 1, __ATOMIC_ACQUIRE)) {
		if (++spins < DUNE_SPIN_BEFORE_YIELD) {
			__builtin_ia32_pause();
			continue;
		}
		spins = 0;
		dune_raw_syscall6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
	}
}

static inline void dune_spin_unlock(volatile int *word)
{
	__atomic_store_n(word, 0, __ATOMIC_RELEASE);
}

/* a forked child lets go of the parent's lock holders (page pool, mirror) */
void dune_page_fork_child(void);
void dune_mirror_fork_child(void);

/* assembly (dune.S) */
extern char dune_idt_stubs[];		/* 256 stubs, 16 bytes apart */
extern char __dune_syscall_kvm[];
extern char __dune_syscall_vmx[], __dune_syscall_vmx_end[];
extern char __dune_vsyscall_page[], __dune_vsyscall_page_end[];
long __dune_enter_asm(struct dune_percpu *pc, long (*loop)(struct dune_percpu *));
void __dune_vmx_boot(void);
long __dune_clone_resume(long nr, long a0, long a1, long a2, long a3, long a4,
			 const uint64_t *regs_child);
extern char __dune_enter_resume[], __dune_syscall_user[];
void __dune_pop_tf(void);
/* munmap(addr, len), then exit(code), with no stack (it may be [addr, addr + len)) */
void __dune_unmap_and_exit(void *addr, size_t len, long code) __attribute__((noreturn));
void dune_child_after_clone(uint64_t *regs) __attribute__((visibility("hidden")));


#endif /* __ASSEMBLER__ */
#endif /* DUNE_INTERNAL_H */

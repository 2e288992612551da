/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * include/dune/abi.h - the /dev/dune user/kernel ABI.
 *
 * This is the ABI of project-dune/dune master (kern/dune.h), reproduced
 * byte for byte so that the original libdune runs on our module and our
 * libdune runs on the original module.  Everything here is checked at
 * compile time (see the DUNE_ABI_ASSERT block at the end) and again at run
 * time by tests/unit/test_abi.c.
 *
 * The header is includable from the kernel (ref-module/) and from user
 * space (C11 and C++).  It defines no functions.
 *
 * Additions of ours are marked "dunebench extension"; an original module
 * answers their ioctls with -ENOTTY, which callers must treat as "absent".
 */
#ifndef DUNE_ABI_H
#define DUNE_ABI_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <linux/types.h>
#include <linux/ioctl.h>
#include <stddef.h>
#endif

/* ------------------------------------------------------------------ */
/* Device                                                               */
/* ------------------------------------------------------------------ */

#define DUNE_DEVICE_PATH	"/dev/dune"
#define DUNE_MINOR		233	/* misc device minor (hard-coded upstream) */
#define DUNE_IOCTL_TYPE		233	/* ioctl "magic" byte, 0xE9 */

/* ------------------------------------------------------------------ */
/* Structures (all packed, little-endian)                              */
/* ------------------------------------------------------------------ */

/*
 * struct dune_config - in/out argument of DUNE_ENTER (176 bytes).
 *
 * @ret:    out: DUNE_RET_* reason the guest stopped.
 * @rax..@r15, @rip, @rflags: in: guest registers at entry; out: at exit.
 * @cr3:    in: guest-physical address of the guest's PML4.
 * @status: out: exit code (EXIT), vector (INTERRUPT), errno (NOENTER).
 * @vcpu:   in/out: opaque vCPU handle; 0 creates a new vCPU, any other
 *          value re-enters the vCPU it names (only GPRs are reloaded).
 *          The original module stores a kernel pointer here; ours stores a
 *          handle that is checked against the vCPUs of the file descriptor.
 */
struct dune_config {
	__s64 ret;
	__u64 rax;
	__u64 rbx;
	__u64 rcx;
	__u64 rdx;
	__u64 rsi;
	__u64 rdi;
	__u64 rsp;
	__u64 rbp;
	__u64 r8;
	__u64 r9;
	__u64 r10;
	__u64 r11;
	__u64 r12;
	__u64 r13;
	__u64 r14;
	__u64 r15;
	__u64 rip;
	__u64 rflags;
	__u64 cr3;
	__s64 status;
	__u64 vcpu;
} __attribute__((packed));

/* Offsets of struct dune_config, for assembly (names as upstream). */
#define DUNE_CFG_RET		0x00
#define DUNE_CFG_RAX		0x08
#define DUNE_CFG_RBX		0x10
#define DUNE_CFG_RCX		0x18
#define DUNE_CFG_RDX		0x20
#define DUNE_CFG_RSI		0x28
#define DUNE_CFG_RDI		0x30
#define DUNE_CFG_RSP		0x38
#define DUNE_CFG_RBP		0x40
#define DUNE_CFG_R8		0x48
#define DUNE_CFG_R9		0x50
#define DUNE_CFG_R10		0x58
#define DUNE_CFG_R11		0x60
#define DUNE_CFG_R12		0x68
#define DUNE_CFG_R13		0x70
#define DUNE_CFG_R14		0x78
#define DUNE_CFG_R15		0x80
#define DUNE_CFG_RIP		0x88
#define DUNE_CFG_RFLAGS		0x90
#define DUNE_CFG_CR3		0x98
#define DUNE_CFG_STATUS		0xa0
#define DUNE_CFG_VCPU		0xa8
#define DUNE_CFG_SIZE		0xb0

/*
 * struct dune_layout - out argument of DUNE_GET_LAYOUT (24 bytes).
 *
 * @phys_limit: 1 << (CPU physical address bits); GPAs at or above are invalid.
 * @base_map:   host VA backing GPA [phys_limit - 64 GiB, phys_limit - 1 GiB):
 *              DUNE_LG_ALIGN(mm->mmap_base) - DUNE_GPA_MAP_SIZE.
 * @base_stack: host VA backing GPA [phys_limit - 1 GiB, phys_limit):
 *              DUNE_LG_ALIGN(mm->start_stack) - DUNE_GPA_STACK_SIZE.
 */
struct dune_layout {
	__u64 phys_limit;
	__u64 base_map;
	__u64 base_stack;
} __attribute__((packed));

/* struct dune_trap_regs - register snapshot for DUNE_TRAP_ENABLE (144 bytes). */
struct dune_trap_regs {
	__u64 rax;
	__u64 rbx;
	__u64 rcx;
	__u64 rdx;
	__u64 rsi;
	__u64 rdi;
	__u64 rsp;
	__u64 rbp;
	__u64 r8;
	__u64 r9;
	__u64 r10;
	__u64 r11;
	__u64 r12;
	__u64 r13;
	__u64 r14;
	__u64 r15;
	__u64 rip;
	__u64 rflags;
} __attribute__((packed));

typedef void (*dune_trap_notify_func)(struct dune_trap_regs *regs, void *priv);

/*
 * struct dune_trap_config - in argument of DUNE_TRAP_ENABLE (41 bytes).
 *
 * When the task is scheduled in with user RIP == @trigger_rip, after @delay
 * further sched-ins, its registers are copied to @regs (if @regs_size is
 * sizeof(struct dune_trap_regs)) and the host-mode thread continues at
 * @notify_func(@regs, @priv).  Debugger support.
 */
struct dune_trap_config {
	__u64 trigger_rip;
	dune_trap_notify_func notify_func;
	struct dune_trap_regs *regs;
	__u64 regs_size;
	void *priv;
	__u8 delay;
} __attribute__((packed));

/* ------------------------------------------------------------------ */
/* ioctls                                                               */
/* ------------------------------------------------------------------ */

/*
 * The direction bits of DUNE_ENTER and DUNE_GET_LAYOUT do not say what the
 * kernel does (ENTER reads and writes, GET_LAYOUT writes); the values are
 * kept as upstream defined them because they are the ABI.
 */
#define DUNE_ENTER		_IOR(DUNE_IOCTL_TYPE, 1, struct dune_config)
#define DUNE_GET_SYSCALL	_IO(DUNE_IOCTL_TYPE, 2)
#define DUNE_GET_LAYOUT		_IOW(DUNE_IOCTL_TYPE, 3, struct dune_layout)
#define DUNE_TRAP_ENABLE	_IOR(DUNE_IOCTL_TYPE, 4, struct dune_trap_config)
#define DUNE_TRAP_DISABLE	_IO(DUNE_IOCTL_TYPE, 5)

/* Literal values (x86-64), also exported upstream as IOCTL_DUNE_ENTER. */
#define IOCTL_DUNE_ENTER		0x80b0e901UL
#define DUNE_IOCTL_VAL_GET_SYSCALL	0x0000e902UL
#define DUNE_IOCTL_VAL_GET_LAYOUT	0x4018e903UL
#define DUNE_IOCTL_VAL_TRAP_ENABLE	0x8029e904UL
#define DUNE_IOCTL_VAL_TRAP_DISABLE	0x0000e905UL

/* ------------------------------------------------------------------ */
/* Exit codes (struct dune_config.ret)                                  */
/* ------------------------------------------------------------------ */

#define DUNE_RET_EXIT			1 /* exit/exit_group; status = code */
#define DUNE_RET_EPT_VIOLATION		2 /* EPT fault not resolvable */
#define DUNE_RET_INTERRUPT		3 /* #DB/#BP taken; status = vector */
#define DUNE_RET_SIGNAL			4 /* host signal pending; re-enter */
#define DUNE_RET_UNHANDLED_VMEXIT	5 /* any other exit reason */
#define DUNE_RET_NOENTER		6 /* set by libdune: re-entry failed */

/* Signal N is delivered to the guest as interrupt vector 200 + N. */
#define DUNE_SIGNAL_INTR_BASE		200

/* ------------------------------------------------------------------ */
/* Guest-physical layout (EPT windows)                                  */
/* ------------------------------------------------------------------ */

/*
 * With P = phys_limit:
 *   [0, P - 64 GiB)           identity: host VA == GPA
 *   [P - 64 GiB, P - 1 GiB)   base_map   .. base_map + DUNE_GPA_MAP_SIZE
 *   [P - 1 GiB, P)            base_stack .. base_stack + DUNE_GPA_STACK_SIZE
 *   [P, ...)                  invalid
 */
#define DUNE_GPA_STACK_SIZE	(1ULL << 30)			/* 1 GiB */
#define DUNE_GPA_MAP_SIZE	((1ULL << 36) - (1ULL << 30))	/* 63 GiB */
#define DUNE_GPA_WINDOWS_SIZE	(DUNE_GPA_MAP_SIZE + DUNE_GPA_STACK_SIZE)

#define DUNE_LG_ALIGN(addr)	((((__u64)(addr)) + (1ULL << 30) - 1) & ~((1ULL << 30) - 1))

#define DUNE_GPA_MAP_START(phys_limit)	((__u64)(phys_limit) - DUNE_GPA_WINDOWS_SIZE)
#define DUNE_GPA_STACK_START(phys_limit) ((__u64)(phys_limit) - DUNE_GPA_STACK_SIZE)
#define DUNE_GPA_IDENTITY_END(phys_limit) DUNE_GPA_MAP_START(phys_limit)

/* ------------------------------------------------------------------ */
/* dunebench extension: extra windows for PIE executables and the vDSO  */
/* ------------------------------------------------------------------ */

/*
 * The classic layout maps host VAs 1:1 only below phys_limit - 64 GiB, so a
 * PIE executable and its heap (0x55..., 0x56...) and a vDSO above the stack
 * window are out of the guest's reach.  DUNE_LAYOUT_EXT opts a /dev/dune
 * file into two more windows, for the vCPUs it creates afterwards:
 *
 *   [P - 192 GiB, P - 191 GiB)  vdso_hva .. + vdso_size  (GiB around [vvar]/[vdso])
 *   [P - 128 GiB, P - 64 GiB)   exec_hva .. + exec_size  (GiB-aligned start of
 *                               the executable, its data and brk heap; <= 64 GiB)
 *
 * and the identity window then ends at identity_end = P - 192 GiB.  The map
 * and stack windows do not change.  These are the windows of ref-lib's kvm
 * backend, so one guest page-table builder serves both backends.
 *
 * In: @flags = the windows wanted (DUNE_LAYOUT_EXT_*); 0 goes back to the
 * classic layout.  Out: @flags = the windows present (a window is absent
 * when not needed: a non-PIE executable, a vDSO already inside the map or
 * stack window), and every other field.  An original module answers
 * -ENOTTY: use the classic layout.
 */
#define DUNE_LAYOUT_EXT_EXEC	(1ULL << 0)
#define DUNE_LAYOUT_EXT_VDSO	(1ULL << 1)

struct dune_layout_ext {
	__u64 flags;
	__u64 phys_limit;
	__u64 base_map;
	__u64 base_stack;
	__u64 identity_end;
	__u64 exec_gpa;
	__u64 exec_hva;
	__u64 exec_size;
	__u64 vdso_gpa;
	__u64 vdso_hva;
	__u64 vdso_size;
} __attribute__((packed));

#define DUNE_LAYOUT_EXT		_IOWR(DUNE_IOCTL_TYPE, 0x40, struct dune_layout_ext)
#define DUNE_IOCTL_VAL_LAYOUT_EXT	0xc058e940UL

/*
 * DUNE_APIC_INFO (dunebench extension): what the module offers of the
 * original ABI's x2APIC part.  @flags:
 *   DUNE_APIC_X2APIC  the guest reads its x2APIC ID (MSR 0x802) and writes
 *                     EOI (MSR 0x80b), and a write of the ICR (MSR 0x830: fixed delivery, physical destination
 *                     = another vCPU's x2APIC ID of the same process, or
 *                     the self shorthand) raises that vector in the
 *                     destination vCPU.  An IPI that cannot be sent sets the
 *                     sender's ESR (MSR 0x828, read without exit, cleared
 *                     by writing 0): bit 5 for a vector below 16, bit 2 for
 *                     a destination that names no vCPU.
 *   DUNE_APIC_VIRT    the ID and ESR reads and the EOI write take no VM exit
 *                     (virtual-interrupt delivery); without it the module
 *                     answers them in an exit and injects the interrupts.
 *   DUNE_APIC_POSTED  the destination receives IPIs without a VM exit
 *                     (posted interrupts); without it a running
 *                     destination is kicked out of the guest once and
 *                     takes the interrupt at its next VM entry.
 * An original module answers -ENOTTY.
 */
#define DUNE_APIC_X2APIC	(1U << 0)
#define DUNE_APIC_POSTED	(1U << 1)
#define DUNE_APIC_VIRT		(1U << 2)

struct dune_apic_info {
	__u32 flags;
	__u32 reserved;
} __attribute__((packed));

#define DUNE_APIC_INFO		_IOR(DUNE_IOCTL_TYPE, 0x41, struct dune_apic_info)
#define DUNE_IOCTL_VAL_APIC_INFO	0x8008e941UL

#define DUNE_GPA_EXEC_MAX		(1ULL << 36)			/* 64 GiB */
#define DUNE_GPA_EXEC_START(phys_limit)	((__u64)(phys_limit) - (1ULL << 37))	/* P - 128 GiB */
#define DUNE_GPA_VDSO_SIZE		(1ULL << 30)			/* 1 GiB */
#define DUNE_GPA_VDSO_START(phys_limit)	((__u64)(phys_limit) - 3 * (1ULL << 36)) /* P - 192 GiB */
#define DUNE_GPA_EXT_IDENTITY_END(phys_limit) DUNE_GPA_VDSO_START(phys_limit)

/* Hypercall instruction and its length (the kernel rewinds RIP by this). */
#define DUNE_VMCALL_INSN_LEN	3

/* ------------------------------------------------------------------ */
/* Compile-time checks                                                  */
/* ------------------------------------------------------------------ */

#ifdef __KERNEL__
#define DUNE_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#elif defined(__cplusplus)
#define DUNE_ABI_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define DUNE_ABI_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

DUNE_ABI_ASSERT(sizeof(struct dune_config) == DUNE_CFG_SIZE, "dune_config is 176 bytes");
DUNE_ABI_ASSERT(offsetof(struct dune_config, ret) == DUNE_CFG_RET, "ret");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rax) == DUNE_CFG_RAX, "rax");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rbx) == DUNE_CFG_RBX, "rbx");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rcx) == DUNE_CFG_RCX, "rcx");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rdx) == DUNE_CFG_RDX, "rdx");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rsi) == DUNE_CFG_RSI, "rsi");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rdi) == DUNE_CFG_RDI, "rdi");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rsp) == DUNE_CFG_RSP, "rsp");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rbp) == DUNE_CFG_RBP, "rbp");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r8) == DUNE_CFG_R8, "r8");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r9) == DUNE_CFG_R9, "r9");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r10) == DUNE_CFG_R10, "r10");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r11) == DUNE_CFG_R11, "r11");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r12) == DUNE_CFG_R12, "r12");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r13) == DUNE_CFG_R13, "r13");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r14) == DUNE_CFG_R14, "r14");
DUNE_ABI_ASSERT(offsetof(struct dune_config, r15) == DUNE_CFG_R15, "r15");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rip) == DUNE_CFG_RIP, "rip");
DUNE_ABI_ASSERT(offsetof(struct dune_config, rflags) == DUNE_CFG_RFLAGS, "rflags");
DUNE_ABI_ASSERT(offsetof(struct dune_config, cr3) == DUNE_CFG_CR3, "cr3");
DUNE_ABI_ASSERT(offsetof(struct dune_config, status) == DUNE_CFG_STATUS, "status");
DUNE_ABI_ASSERT(offsetof(struct dune_config, vcpu) == DUNE_CFG_VCPU, "vcpu");

DUNE_ABI_ASSERT(sizeof(struct dune_layout) == 24, "dune_layout is 24 bytes");
DUNE_ABI_ASSERT(offsetof(struct dune_layout, phys_limit) == 0, "phys_limit");
DUNE_ABI_ASSERT(offsetof(struct dune_layout, base_map) == 8, "base_map");
DUNE_ABI_ASSERT(offsetof(struct dune_layout, base_stack) == 16, "base_stack");

DUNE_ABI_ASSERT(sizeof(struct dune_trap_regs) == 144, "dune_trap_regs is 144 bytes");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_regs, rip) == 128, "trap_regs.rip");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_regs, rflags) == 136, "trap_regs.rflags");

DUNE_ABI_ASSERT(sizeof(struct dune_trap_config) == 41, "dune_trap_config is 41 bytes");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, trigger_rip) == 0, "trigger_rip");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, notify_func) == 8, "notify_func");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, regs) == 16, "regs");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, regs_size) == 24, "regs_size");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, priv) == 32, "priv");
DUNE_ABI_ASSERT(offsetof(struct dune_trap_config, delay) == 40, "delay");

DUNE_ABI_ASSERT(DUNE_ENTER == IOCTL_DUNE_ENTER, "DUNE_ENTER == 0x80B0E901");
DUNE_ABI_ASSERT(DUNE_GET_SYSCALL == DUNE_IOCTL_VAL_GET_SYSCALL, "DUNE_GET_SYSCALL == 0xE902");
DUNE_ABI_ASSERT(DUNE_GET_LAYOUT == DUNE_IOCTL_VAL_GET_LAYOUT, "DUNE_GET_LAYOUT == 0x4018E903");
DUNE_ABI_ASSERT(DUNE_TRAP_ENABLE == DUNE_IOCTL_VAL_TRAP_ENABLE, "DUNE_TRAP_ENABLE == 0x8029E904");
DUNE_ABI_ASSERT(DUNE_TRAP_DISABLE == DUNE_IOCTL_VAL_TRAP_DISABLE, "DUNE_TRAP_DISABLE == 0xE905");

DUNE_ABI_ASSERT(sizeof(struct dune_layout_ext) == 88, "dune_layout_ext is 88 bytes");
DUNE_ABI_ASSERT(DUNE_LAYOUT_EXT == DUNE_IOCTL_VAL_LAYOUT_EXT, "DUNE_LAYOUT_EXT == 0xC058E940");
DUNE_ABI_ASSERT(sizeof(struct dune_apic_info) == 8, "dune_apic_info is 8 bytes");
DUNE_ABI_ASSERT(DUNE_APIC_INFO == DUNE_IOCTL_VAL_APIC_INFO, "DUNE_APIC_INFO == 0x8008E941");

DUNE_ABI_ASSERT(DUNE_GPA_STACK_SIZE == 0x40000000ULL, "stack window 1 GiB");
DUNE_ABI_ASSERT(DUNE_GPA_MAP_SIZE == 0xfc0000000ULL, "map window 63 GiB");

#endif /* DUNE_ABI_H */

// SPDX-License-Identifier: MIT
/*
 * apic.c - the x2APIC MSRs as a raw guest sees them (docs/abi.md section
 * 6, "x2APIC and IPIs"): RDMSR of the ID and the version, and what the
 * module does with an ICR write it cannot send (an ESR bit), a non-zero
 * ESR or EOI write and ICR reserved bits (#GP at the WRMSR), also while an
 * IPI is pending, and where a self-IPI arrives (right after the WRMSR).
 * dunebench's module gives each vCPU an x2APIC of its own
 * (extension: DUNE_APIC_INFO says so); these tests SKIP on a module
 * without it.  The api.apic.* tests check delivery through libdune.
 *
 * The guest loads a GDT and an IDT of its own (the module starts it with
 * GDTR and IDTR empty and every selector 0) so that a #GP reaches a
 * handler, which exits with the error code in rbx and the faulting RIP in
 * r12.
 */
#include "abi_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#define X2APIC_ID	0x802
#define X2APIC_VERSION	0x803
#define X2APIC_TPR	0x808
#define X2APIC_EOI	0x80b
#define X2APIC_ESR	0x828
#define X2APIC_ICR	0x830

#define ESR_SEND_ACCEPT	0x04	/* bit 2 */
#define ESR_ILLEGAL_VEC	0x20	/* bit 5 */

#define ICR_SELF	(1ULL << 18)	/* destination shorthand: self */
#define ICR_ALL		(2ULL << 18)	/* all including self */
#define ICR_LOGICAL	(1ULL << 11)
#define ICR_NMI		(4ULL << 8)
#define ICR_DEST(id)	((uint64_t)(id) << 32)

#define GP_STATUS	113	/* the #GP handler's exit status */
#define IRQ_STATUS	114	/* the handler of vector 0x40 */
#define VEC		0x40

/* r13 = GDTR, r14 = IDTR: load them */
#define G_TABLES	"lgdt (%r13)\n lidt (%r14)\n"

/* rbx = MSR r8 (rax), r12 = its rdx; exit(0) */
ABI_GUEST(g_apic_rd, G_TABLES
	  "mov %r8d, %ecx\n rdmsr\n mov %rax, %rbx\n mov %rdx, %r12\n" G_EXIT(0));

/*
 * WRMSR r8 <- r10:r9; then rbx = ESR, clear it (write 0), r12 = ESR
 * again; exit(0)
 */
ABI_GUEST(g_apic_wr, G_TABLES
	  "mov %r8d, %ecx\n mov %r9d, %eax\n mov %r10d, %edx\n"
	  "g_apic_wr_insn:\n wrmsr\n"
	  "mov $0x828, %ecx\n rdmsr\n mov %rax, %rbx\n"
	  "mov $0x828, %ecx\n xor %eax, %eax\n xor %edx, %edx\n wrmsr\n"
	  "mov $0x828, %ecx\n rdmsr\n mov %rax, %r12\n" G_EXIT(0));
ABI_GUEST_LABEL(g_apic_wr_insn);

/* interrupts off: a self-IPI (pending), then ESR <- 1 (#GP); exit(0) */
ABI_GUEST(g_apic_ipi_gp, G_TABLES
	  "mov $0x830, %ecx\n mov $0x40040, %eax\n xor %edx, %edx\n wrmsr\n"
	  "mov $0x828, %ecx\n mov $1, %eax\n xor %edx, %edx\n"
	  "g_apic_ipi_gp_insn:\n wrmsr\n" G_EXIT(0));
ABI_GUEST_LABEL(g_apic_ipi_gp_insn);

/* a self-IPI of vector 0x40 (interrupts on); exit(0) if it never comes */
ABI_GUEST(g_apic_self, G_TABLES
	  "mov $0x830, %ecx\n mov $0x40040, %eax\n xor %edx, %edx\n wrmsr\n"
	  "g_apic_self_next:\n nop\n nop\n" G_EXIT(0));
ABI_GUEST_LABEL(g_apic_self_next);

/* #GP: rbx = error code, r12 = RIP; exit(GP_STATUS) */
ABI_GUEST(g_apic_gp, "pop %rbx\n pop %r12\n" G_EXIT(113));
/* vector 0x40: r12 = RIP; exit(IRQ_STATUS) */
ABI_GUEST(g_apic_irq, "pop %r12\n" G_EXIT(114));

struct apic_vm {
	struct abi_vm vm;
	uint64_t *tables;	/* GDT, GDTR, IDTR, IDT: one page, GVA == HVA */
};

#define T_GDT	0	/* two descriptors: null, 64-bit code (selector 8) */
#define T_GDTR	2	/* 10 bytes */
#define T_IDTR	4
#define T_IDT	8	/* 256 gates of 16 bytes */

static void set_gate(uint64_t *idt, unsigned int vec, uint64_t off)
{
	idt[2 * vec] = (off & 0xffff) | (8ULL << 16) | (0x8eULL << 40) |
		       ((off >> 16 & 0xffff) << 48);
	idt[2 * vec + 1] = off >> 32;
}

/* SKIP without the extension's x2APIC; the VM with its tables. */
static void apic_setup(struct apic_vm *a)
{
	const char *want = getenv("DUNE_CONFORM_EXPECT_APIC");
	struct dune_apic_info info;
	uint64_t *t, base;
	uint16_t lim;
	int r, err;

	abi_vm_setup(&a->vm);
	memset(&info, 0, sizeof(info));
	r = ioctl(a->vm.fd, DUNE_APIC_INFO, &info);
	err = errno;
	if (r && err == ENOTTY)
		CT_SKIP("DUNE_APIC_INFO answers ENOTTY: not dunebench's module, whose x2APIC this checks");
	CT_ASSERT(r == 0, "DUNE_APIC_INFO: %s", strerror(err));
	if (!(info.flags & DUNE_APIC_X2APIC)) {
		CT_ASSERT(!want || strcmp(want, "1"),
			  "DUNE_APIC_INFO flags %#x: no DUNE_APIC_X2APIC, and DUNE_CONFORM_EXPECT_APIC=1 says there is one",
			  info.flags);
		CT_SKIP("DUNE_APIC_INFO flags %#x: no DUNE_APIC_X2APIC (module loaded with x2apic=0?)",
			info.flags);
	}
	t = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(t != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(t, 0, 8192);
	t[T_GDT] = 0;
	t[T_GDT + 1] = 0x00af9b000000ffffULL;	/* 64-bit code, DPL 0 */
	lim = 2 * 8 - 1;
	base = (uint64_t)(uintptr_t)&t[T_GDT];
	memcpy((char *)&t[T_GDTR], &lim, 2);
	memcpy((char *)&t[T_GDTR] + 2, &base, 8);
	lim = 256 * 16 - 1;
	base = (uint64_t)(uintptr_t)&t[T_IDT];
	memcpy((char *)&t[T_IDTR], &lim, 2);
	memcpy((char *)&t[T_IDTR] + 2, &base, 8);
	set_gate(&t[T_IDT], 13, abi_gva(&a->vm, g_apic_gp));
	set_gate(&t[T_IDT], VEC, abi_gva(&a->vm, g_apic_irq));
	a->tables = t;
}

static void apic_conf(struct apic_vm *a, struct dune_config *c, const unsigned char *entry)
{
	abi_conf(&a->vm, c, entry);
	c->r13 = (uint64_t)(uintptr_t)&a->tables[T_GDTR];
	c->r14 = (uint64_t)(uintptr_t)&a->tables[T_IDTR];
}

/* RDMSR @msr in the guest: rax in *lo, rdx in *hi. */
static void guest_rdmsr(struct apic_vm *a, uint32_t msr, uint64_t *lo, uint64_t *hi)
{
	struct dune_config c;
	int r;

	apic_conf(a, &c, g_apic_rd);
	c.r8 = msr;
	r = abi_enter(&a->vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT(c.status == 0, "RDMSR %#x: the guest exited with %lld (%s)", msr,
		  (long long)c.status, c.status == GP_STATUS ? "#GP" : "?");
	*lo = c.rbx;
	*hi = c.r12;
}

CTEST(abi_apic_rdmsr,
      .id = "abi.apic.rdmsr",
      .profile = "apic",
      .what = "with the x2APIC (extension, DUNE_APIC_INFO), a guest's RDMSR of its x2APIC ID (0x802) gives an ID below 0xffff, of the version (0x803) an integrated APIC's version (0x1X) with the LVT count, and of the ESR (0x828) of a new vCPU 0; the high halves (rdx) are 0; a RDMSR of a register the module does not emulate (TPR, 0x808) stops the run with UNHANDLED_VMEXIT",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct dune_config c;
	struct apic_vm a;
	uint64_t lo, hi;
	int r;

	apic_setup(&a);
	guest_rdmsr(&a, X2APIC_ID, &lo, &hi);
	CT_EXPECT(lo < 0xffff && hi == 0, "x2APIC ID: rax %#llx rdx %#llx", (unsigned long long)lo,
		  (unsigned long long)hi);
	guest_rdmsr(&a, X2APIC_VERSION, &lo, &hi);
	CT_EXPECT((lo & 0xf0) == 0x10 && (lo >> 16 & 0xff) >= 3 && hi == 0,
		  "x2APIC version: rax %#llx rdx %#llx (want 0x1X with the LVT count - 1 in bits 16-23)",
		  (unsigned long long)lo, (unsigned long long)hi);
	guest_rdmsr(&a, X2APIC_ESR, &lo, &hi);
	CT_EXPECT(lo == 0 && hi == 0, "ESR of a new vCPU: rax %#llx rdx %#llx", (unsigned long long)lo,
		  (unsigned long long)hi);
	/* a register the module does not answer (TPR) stops the vCPU */
	apic_conf(&a, &c, g_apic_rd);
	c.r8 = X2APIC_TPR;
	r = abi_enter(&a.vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_UNHANDLED_VMEXIT);
}

/* Run @entry with WRMSR @msr <- @val set up for it (r8, r9:r10); it must exit. */
static void run_wrmsr(struct apic_vm *a, struct dune_config *c, const unsigned char *entry,
		      uint32_t msr, uint64_t val)
{
	int r;

	apic_conf(a, c, entry);
	c->r8 = msr;
	c->r9 = (uint32_t)val;
	c->r10 = val >> 32;
	r = abi_enter(&a->vm, c);
	ABI_ASSERT_RET(r, c, DUNE_RET_EXIT);
}

/* ICR <- @icr: the ESR the guest reads after it (and 0 once cleared). */
static uint64_t icr_esr(struct apic_vm *a, uint64_t icr, const char *what)
{
	struct dune_config c;

	run_wrmsr(a, &c, g_apic_wr, X2APIC_ICR, icr);
	CT_ASSERT(c.status == 0, "ICR <- %#llx (%s): the guest exited with %lld (%s)",
		  (unsigned long long)icr, what, (long long)c.status,
		  c.status == GP_STATUS ? "#GP" : c.status == IRQ_STATUS ? "vector 0x40 delivered" : "?");
	CT_EXPECT(c.r12 == 0, "ICR <- %#llx (%s): ESR %#llx after writing 0 to it",
		  (unsigned long long)icr, what, (unsigned long long)c.r12);
	return c.rbx;
}

CTEST(abi_apic_icr_refused,
      .id = "abi.apic.icr_refused",
      .profile = "apic",
      .what = "with the x2APIC (extension), an ICR write (0x830) that cannot be sent sets an ESR bit and the guest goes on: a vector below 16 bit 5, a logical destination, an NMI delivery mode, the all-including-self shorthand, an ID no vCPU has (0xfffe) or above 0xfffe bit 2; a self-IPI sets none; writing 0 to the ESR clears it",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const struct {
		uint64_t icr;
		uint64_t esr;
		const char *what;
	} cases[] = {
		{ ICR_SELF | 3, ESR_ILLEGAL_VEC, "vector 3" },
		{ ICR_LOGICAL | ICR_DEST(1) | VEC, ESR_SEND_ACCEPT, "logical destination" },
		{ ICR_NMI | ICR_SELF | VEC, ESR_SEND_ACCEPT, "NMI delivery mode" },
		{ ICR_ALL | VEC, ESR_SEND_ACCEPT, "all-including-self shorthand" },
		{ ICR_DEST(0xfffe) | VEC, ESR_SEND_ACCEPT, "ID 0xfffe, no vCPU" },
		{ ICR_DEST(0x10000) | VEC, ESR_SEND_ACCEPT, "ID 0x10000" },
		{ ICR_SELF | VEC, 0, "self-IPI, interrupts off" },
	};
	struct apic_vm a;
	unsigned int i;
	uint64_t esr;

	apic_setup(&a);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		esr = icr_esr(&a, cases[i].icr, cases[i].what);
		CT_EXPECT(esr == cases[i].esr, "ICR <- %#llx (%s): ESR %#llx, want %#llx",
			  (unsigned long long)cases[i].icr, cases[i].what,
			  (unsigned long long)esr, (unsigned long long)cases[i].esr);
	}
}

/* WRMSR @msr <- @val must take #GP(0) at the instruction. */
static void expect_gp(struct apic_vm *a, const unsigned char *entry, const unsigned char *insn,
		      uint32_t msr, uint64_t val, const char *what)
{
	struct dune_config c;

	run_wrmsr(a, &c, entry, msr, val);
	CT_EXPECT(c.status == GP_STATUS && c.rbx == 0 && c.r12 == abi_gva(&a->vm, insn),
		  "%s: want #GP(0) at the WRMSR (%#llx), got exit status %lld (%d: #GP), error code %#llx, RIP %#llx",
		  what, (unsigned long long)abi_gva(&a->vm, insn), (long long)c.status, GP_STATUS,
		  (unsigned long long)c.rbx, (unsigned long long)c.r12);
}

CTEST(abi_apic_wrmsr_gp,
      .id = "abi.apic.wrmsr_gp",
      .profile = "apic",
      .what = "with the x2APIC (extension), a non-zero write of the ESR or of EOI and an ICR write with reserved bits set give the guest #GP(0) at the WRMSR, also while a self-IPI waits for interrupts to be on (the exception goes first)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct apic_vm a;

	apic_setup(&a);
	expect_gp(&a, g_apic_wr, g_apic_wr_insn, X2APIC_ESR, 1, "ESR <- 1");
	expect_gp(&a, g_apic_wr, g_apic_wr_insn, X2APIC_EOI, 1, "EOI <- 1");
	expect_gp(&a, g_apic_wr, g_apic_wr_insn, X2APIC_ICR, ICR_SELF | (1ULL << 12) | VEC,
		  "ICR <- self-IPI with bit 12 (reserved in x2APIC mode)");
	expect_gp(&a, g_apic_ipi_gp, g_apic_ipi_gp_insn, X2APIC_ESR, 1,
		  "ESR <- 1 with a self-IPI pending");
}

CTEST(abi_apic_self_ipi,
      .id = "abi.apic.self_ipi",
      .profile = "apic",
      .what = "with the x2APIC (extension), a self-IPI (ICR write, self shorthand) of a guest running with interrupts on is delivered through its IDT at once: the handler's frame holds the RIP of the instruction after the WRMSR",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct dune_config c;
	struct apic_vm a;
	int r;

	apic_setup(&a);
	apic_conf(&a, &c, g_apic_self);
	c.rflags = 0x202;
	r = abi_enter(&a.vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT(c.status == IRQ_STATUS && c.r12 == abi_gva(&a.vm, g_apic_self_next),
		  "want vector 0x40 delivered at %#llx (after the WRMSR), got exit status %lld (%d: delivered, 0: never), RIP %#llx",
		  (unsigned long long)abi_gva(&a.vm, g_apic_self_next), (long long)c.status, IRQ_STATUS,
		  (unsigned long long)c.r12);
}

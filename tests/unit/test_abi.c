// SPDX-License-Identifier: MIT
/*
 * test_abi.c - the /dev/dune ABI as numbers.
 *
 * include/dune/abi.h already refuses to compile if a size, offset or ioctl
 * value drifts; this test checks the same facts against literal values
 * taken from the upstream ABI (docs/abi.md), so that a change to
 * both the header and its static asserts is still caught.
 */
#include <criterion/criterion.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include <dune/abi.h>

Test(abi, ioctl_numbers)
{
	cr_expect_eq(DUNE_ENTER, 0x80B0E901UL, "DUNE_ENTER is %#lx", (unsigned long)DUNE_ENTER);
	cr_expect_eq(DUNE_GET_SYSCALL, 0xE902UL);
	cr_expect_eq(DUNE_GET_LAYOUT, 0x4018E903UL);
	cr_expect_eq(DUNE_TRAP_ENABLE, 0x8029E904UL);
	cr_expect_eq(DUNE_TRAP_DISABLE, 0xE905UL);
	cr_expect_eq(_IOC_TYPE(DUNE_ENTER), 233);
	cr_expect_eq(_IOC_SIZE(DUNE_ENTER), 176);
}

Test(abi, dune_config_layout)
{
	static const struct { const char *name; size_t off; size_t want; } f[] = {
#define F(m, o) { #m, offsetof(struct dune_config, m), o }
		F(ret, 0x00), F(rax, 0x08), F(rbx, 0x10), F(rcx, 0x18),
		F(rdx, 0x20), F(rsi, 0x28), F(rdi, 0x30), F(rsp, 0x38),
		F(rbp, 0x40), F(r8, 0x48), F(r9, 0x50), F(r10, 0x58),
		F(r11, 0x60), F(r12, 0x68), F(r13, 0x70), F(r14, 0x78),
		F(r15, 0x80), F(rip, 0x88), F(rflags, 0x90), F(cr3, 0x98),
		F(status, 0xA0), F(vcpu, 0xA8),
#undef F
	};
	cr_expect_eq(sizeof(struct dune_config), 176);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		cr_expect_eq(f[i].off, f[i].want, "dune_config.%s at %#zx, want %#zx",
			     f[i].name, f[i].off, f[i].want);
}

Test(abi, other_structs)
{
	cr_expect_eq(sizeof(struct dune_layout), 24);
	cr_expect_eq(sizeof(struct dune_trap_regs), 144);
	cr_expect_eq(sizeof(struct dune_trap_config), 41);
	cr_expect_eq(offsetof(struct dune_trap_config, delay), 40);
	cr_expect_eq(offsetof(struct dune_trap_config, priv), 32);
}

Test(abi, exit_codes)
{
	cr_expect_eq(DUNE_RET_EXIT, 1);
	cr_expect_eq(DUNE_RET_EPT_VIOLATION, 2);
	cr_expect_eq(DUNE_RET_INTERRUPT, 3);
	cr_expect_eq(DUNE_RET_SIGNAL, 4);
	cr_expect_eq(DUNE_RET_UNHANDLED_VMEXIT, 5);
	cr_expect_eq(DUNE_RET_NOENTER, 6);
	cr_expect_eq(DUNE_SIGNAL_INTR_BASE, 200);
}

Test(abi, gpa_layout)
{
	/* A 39-bit CPU: identity below 448 GiB, map window 63 GiB, stack 1 GiB. */
	unsigned long long p = 1ULL << 39;

	cr_expect_eq(DUNE_GPA_IDENTITY_END(p), 448ULL << 30);
	cr_expect_eq(DUNE_GPA_MAP_START(p), 448ULL << 30);
	cr_expect_eq(DUNE_GPA_STACK_START(p), 511ULL << 30);
	cr_expect_eq(DUNE_GPA_MAP_SIZE, 63ULL << 30);
	cr_expect_eq(DUNE_LG_ALIGN(1), 1ULL << 30);
	cr_expect_eq(DUNE_LG_ALIGN(1ULL << 30), 1ULL << 30);
	cr_expect_eq(DUNE_LG_ALIGN((1ULL << 30) + 1), 2ULL << 30);
}

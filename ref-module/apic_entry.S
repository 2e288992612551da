/* SPDX-License-Identifier: GPL-2.0 */
/*
 * void __dune_apic_do_irq(unsigned long entry)
 *
 * With "acknowledge interrupt on exit" (used with posted interrupts,
 * apic.c) a VM exit for an external interrupt has taken the interrupt
 * from the local APIC: run the host's handler for it, @entry from the
 * host IDT, on this stack with a synthetic interrupt frame (interrupts
 * stay off: the frame's RFLAGS are the current ones).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>

	.text
SYM_FUNC_START(__dune_apic_do_irq)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	CALL_NOSPEC rdi
	/* The handler IRETs back; restore RSP from RBP for objtool. */
	mov	%rbp, %rsp
	pop	%rbp
	RET
SYM_FUNC_END(__dune_apic_do_irq)

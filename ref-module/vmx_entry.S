/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VM entry and exit, and the NMI trampoline.
 *
 * int __dune_vmx_run(struct pt_regs *regs, unsigned int resume)
 *
 * Loads the guest's general-purpose registers (all but RSP, which the
 * VMCS holds) from @regs, enters the guest with VMLAUNCH (@resume == 0)
 * or VMRESUME, and on VM exit stores them back.  Returns 0 after a VM
 * exit, 1 when the VM entry failed (VMfailValid/VMfailInvalid; the
 * caller reads VM_INSTRUCTION_ERROR).  HOST_RSP is written here because
 * only this function knows its stack pointer at entry; HOST_RIP is
 * __dune_vmx_exit (set once per VMCS by vmx.c).
 */
#include <linux/linkage.h>
#include <asm/asm.h>
#include <asm/nospec-branch.h>
#include <asm/segment.h>
#include <asm/unwind_hints.h>

/* Offsets in struct pt_regs (checked in vmx.h). */
#define GR_R15	0
#define GR_R14	8
#define GR_R13	16
#define GR_R12	24
#define GR_RBP	32
#define GR_RBX	40
#define GR_R11	48
#define GR_R10	56
#define GR_R9	64
#define GR_R8	72
#define GR_RAX	80
#define GR_RCX	88
#define GR_RDX	96
#define GR_RSI	104
#define GR_RDI	112

#define VMCS_HOST_RSP	0x00006c14

	.text

SYM_FUNC_START(__dune_vmx_run)
	push	%rbp
	mov	%rsp, %rbp
	push	%r15
	push	%r14
	push	%r13
	push	%r12
	push	%rbx
	/* @regs stays on the stack: HOST_RSP points at it. */
	push	%rdi

	mov	$VMCS_HOST_RSP, %eax
	vmwrite	%rsp, %rax
	jbe	.Lvmfail

	/* ZF records VMLAUNCH vs VMRESUME; the movs below keep flags. */
	test	%esi, %esi

	mov	GR_RBX(%rdi), %rbx
	mov	GR_RCX(%rdi), %rcx
	mov	GR_RDX(%rdi), %rdx
	mov	GR_RSI(%rdi), %rsi
	mov	GR_RBP(%rdi), %rbp
	mov	GR_R8(%rdi), %r8
	mov	GR_R9(%rdi), %r9
	mov	GR_R10(%rdi), %r10
	mov	GR_R11(%rdi), %r11
	mov	GR_R12(%rdi), %r12
	mov	GR_R13(%rdi), %r13
	mov	GR_R14(%rdi), %r14
	mov	GR_R15(%rdi), %r15
	mov	GR_RAX(%rdi), %rax
	mov	GR_RDI(%rdi), %rdi

	jz	.Lvmlaunch

	/*
	 * After a successful VM entry, execution continues at
	 * __dune_vmx_exit with RSP = HOST_RSP; tell objtool so.
	 */
	UNWIND_HINT_SAVE
	vmresume
	jmp	.Lvmfail
.Lvmlaunch:
	vmlaunch
	jmp	.Lvmfail

SYM_INNER_LABEL(__dune_vmx_exit, SYM_L_GLOBAL)
	UNWIND_HINT_RESTORE
	ENDBR
	/* Guest RDI to the stack, then @regs (at HOST_RSP) to RDI. */
	push	%rdi
	mov	8(%rsp), %rdi
	pop	GR_RDI(%rdi)
	mov	%rax, GR_RAX(%rdi)
	mov	%rbx, GR_RBX(%rdi)
	mov	%rcx, GR_RCX(%rdi)
	mov	%rdx, GR_RDX(%rdi)
	mov	%rsi, GR_RSI(%rdi)
	mov	%rbp, GR_RBP(%rdi)
	mov	%r8, GR_R8(%rdi)
	mov	%r9, GR_R9(%rdi)
	mov	%r10, GR_R10(%rdi)
	mov	%r11, GR_R11(%rdi)
	mov	%r12, GR_R12(%rdi)
	mov	%r13, GR_R13(%rdi)
	mov	%r14, GR_R14(%rdi)
	mov	%r15, GR_R15(%rdi)
	xor	%ebx, %ebx
	jmp	.Lout

.Lvmfail:
	mov	$1, %ebx

.Lout:
	/* Do not leave guest values in registers for speculation to use. */
	xor	%ecx, %ecx
	xor	%edx, %edx
	xor	%esi, %esi
	xor	%edi, %edi
	xor	%r8d, %r8d
	xor	%r9d, %r9d
	xor	%r10d, %r10d
	xor	%r11d, %r11d
	/* Guest-controlled return predictions must not reach the host. */
	FILL_RETURN_BUFFER %rax, RSB_CLEAR_LOOPS, X86_FEATURE_RSB_VMEXIT,\
			   X86_FEATURE_RSB_VMEXIT_LITE
	mov	%ebx, %eax
	add	$8, %rsp
	pop	%rbx
	pop	%r12
	pop	%r13
	pop	%r14
	pop	%r15
	pop	%rbp
	RET
SYM_FUNC_END(__dune_vmx_run)

/*
 * void __dune_vmx_do_nmi(void)
 *
 * A VM exit caused by an NMI has consumed it; run the host's NMI handler
 * on this stack with a synthetic interrupt frame, as the CPU would have.
 * Its IRET also ends the NMI blocking that the VM exit left in place.
 * asm_exc_nmi_noist is the kernel's entry point for exactly this (the
 * regular one expects to run on the NMI IST stack).
 */
SYM_FUNC_START(__dune_vmx_do_nmi)
	push	%rbp
	mov	%rsp, %rbp
	and	$-16, %rsp
	push	$__KERNEL_DS
	push	%rbp
	pushf
	push	$__KERNEL_CS
	call	asm_exc_nmi_noist
	/* The handler IRETs back; restore RSP from RBP for objtool. */
	mov	%rbp, %rsp
	pop	%rbp
	RET
SYM_FUNC_END(__dune_vmx_do_nmi)

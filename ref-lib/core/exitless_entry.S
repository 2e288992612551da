/* SPDX-License-Identifier: MIT */
/*
 * exitless_entry.S - the guest side of exit-less system calls (exitless.c).
 *
 * The syscall trampolines of dune.S jump here from guest ring 0 when the
 * thread is in exit-less mode (PC_XL_ENTRY set): the call goes into this
 * vCPU's slot (struct dune_xl_slot), a host poller thread runs it, and we
 * poll the slot for the result, with no VM exit.  Registers as `syscall`
 * leaves them: rax = nr, args rdi rsi rdx r10 r8 r9, rcx = return rip,
 * r11 = rflags; everything but rax, rcx and r11 is preserved.  The stack
 * is the caller's (a red zone below rsp is skipped first).
 *
 * The exit path is taken for numbers not in dune_xl_map (exitless.c says
 * which), and when the slot is in use: a dune_signal() handler that runs
 * inside this code (vmx delivers at any stop) makes its calls the usual way.
 *
 * The guest polls XL_SPINS times (1 with one CPU: the poller cannot run
 * while it polls); then it sleeps in FUTEX_WAIT on the slot
 * through the exit path, so a blocking call costs no CPU and a signal is
 * seen as it would be natively: a handler with SA_RESTART restarts the
 * wait (the call goes on), one without makes FUTEX_WAIT fail with EINTR,
 * and then the poller's call is interrupted too (tgkill XL_KICK_SIG) and
 * its result (EINTR, or what it did) is the call's.
 */
#include "internal.h"

#define NR_FUTEX		202
#define NR_TGKILL		234
#define FUTEX_WAIT_PRIVATE	128
#define FUTEX_WAKE_PRIVATE	129
#define EINTR			4

	.text

/* a system call through the exit path: kvm is EXIT_CALL_KVM (internal.h) */

/* a system call through the exit path: vmx */
.macro EXIT_CALL_VMX
	vmcall
.endm

.macro XL_ENTRY name, exitcall, fallback
	.p2align 4
	.globl \name
	.type \name, @function
\name:
	lea -128(%rsp), %rsp		/* the caller's red zone */
	push %rcx
	push %r11
	mov %gs:PC_XL_SLOT, %rcx
	cmp $(XL_NR_MAX - 1), %rax
	ja 90f
	bt %rax, dune_xl_map(%rip)
	jnc 90f
	cmpl $XL_IDLE, XL_STATE(%rcx)	/* in use: a handler inside a call */
	jne 90f
	movl $XL_BUSY, XL_STATE(%rcx)
	mov %rax, XL_NR(%rcx)
	mov %rdi, XL_A0(%rcx)
	mov %rsi, XL_A0+8(%rcx)
	mov %rdx, XL_A0+16(%rcx)
	mov %r10, XL_A0+24(%rcx)
	mov %r8, XL_A0+32(%rcx)
	mov %r9, XL_A0+40(%rcx)
	mov $XL_REQ, %r11d
	xchg %r11d, XL_STATE(%rcx)	/* publish; a full barrier before psleep */
	cmpl $0, XL_PSLEEP(%rcx)
	jne 60f
10:	mov XL_SPINS(%rcx), %r11d
11:	cmpl $XL_DONE, XL_STATE(%rcx)
	je 20f
	pause
	dec %r11d
	jnz 11b
	jmp 70f
20:	mov XL_RET(%rcx), %rax
	movl $XL_IDLE, XL_STATE(%rcx)
	cmpq $0, %gs:PC_FLUSH		/* kvm: the page tables changed */
	jne 40f
30:	pop %r11
	pop %rcx
	push %r11
	popfq
	lea 128(%rsp), %rsp
	jmp *%rcx
40:	movq $0, %gs:PC_FLUSH
	mov %cr3, %r11
	mov %r11, %cr3
	jmp 30b

	/* the poller sleeps: wake it (one exit) */
60:	push %rax
	push %rdi
	push %rsi
	push %rdx
	push %rcx
	mov $NR_FUTEX, %eax
	lea XL_STATE(%rcx), %rdi
	mov $FUTEX_WAKE_PRIVATE, %esi
	mov $1, %edx
	\exitcall
	pop %rcx
	pop %rdx
	pop %rsi
	pop %rdi
	pop %rax
	jmp 10b

	/* not done yet: sleep until it is (exit path) */
70:	push %rdi
	push %rsi
	push %rdx
	push %r10
	push %rcx
71:	movl $1, XL_GWAIT(%rcx)
	mov $NR_FUTEX, %eax
	lea XL_STATE(%rcx), %rdi
	mov $FUTEX_WAIT_PRIVATE, %esi
	mov $XL_REQ, %edx
	xor %r10d, %r10d
	\exitcall
	mov (%rsp), %rcx
	cmpl $XL_DONE, XL_STATE(%rcx)
	je 79f
	cmp $-EINTR, %rax
	jne 71b
	/* a signal whose handler does not restart calls: interrupt the call */
	mov $NR_TGKILL, %eax
	movslq XL_TGID(%rcx), %rdi
	movslq XL_TID(%rcx), %rsi
	mov $XL_KICK_SIG, %edx
	\exitcall
	mov (%rsp), %rcx
	jmp 71b
79:	movl $0, XL_GWAIT(%rcx)
	pop %rcx
	pop %r10
	pop %rdx
	pop %rsi
	pop %rdi
	jmp 20b

	/* the exit path */
90:	pop %r11
	pop %rcx
	\fallback
	.size \name, . - \name
.endm

.macro FALLBACK_KVM
	lea 128(%rsp), %rsp
	jmp __dune_syscall_kvm_exit
.endm

.macro FALLBACK_VMX
	push %r11
	popfq
	lea 128(%rsp), %rsp
	vmcall
	jmp *%rcx
.endm

	XL_ENTRY __dune_xl_kvm, EXIT_CALL_KVM, FALLBACK_KVM
	XL_ENTRY __dune_xl_vmx, EXIT_CALL_VMX, FALLBACK_VMX

	.section .note.GNU-stack, "", @progbits

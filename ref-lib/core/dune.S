/* SPDX-License-Identifier: MIT */
/*
 * dune.S - libdune's guest-side assembly: entry into Dune mode, the IDT
 * stubs and common trap entry, the syscall trampolines (kvm: `out`, vmx:
 * VMCALL), ring-3 entry/exit, and the child side of forwarded clone/fork.
 *
 * Trap entry: every vector runs on an IST stack (IST1 for #DF, NMI, #MC;
 * IST2 for the rest).  Code in guest ring 0 is ordinary user code compiled
 * with a red zone, so neither a trap's frame nor its handler may use the
 * interrupted stack: both stay on the IST stack, and for the handler's
 * time TSS.IST2 moves down one chunk, so a trap inside the handler gets a
 * chunk of its own (nesting works, the red zone survives).  A system call
 * from ring 3 runs on the per-CPU trap stack.
 *
 * Ring 3 runs while bit 0 of TSS.IST2 is set (PC_IN_USER_BIT): the CPU
 * ignores the low four bits of an IST pointer (it aligns the stack to 16
 * bytes), so the bit costs nothing to keep: the entries from ring 3 clear
 * it as they move IST2 down, their returns set it as they put IST2 back.
 * And every return to ring 3 leaves IST2 256 bytes away (bit 8 toggled)
 * from where the frame it returns from was put: an IRETQ that faults on
 * its frame (a handler made it one IRETQ cannot enter) then delivers the
 * #GP, and its entry pushes the registers, clear of that frame (below it,
 * or above it by more than a struct dune_tf), and dune_bad_iret reports it
 * as a ring-3 #GP.  IST2 values are therefore 64 or 320 bytes below a
 * chunk's top (entry.c).
 */
#include "internal.h"


	.text

/* jump to bad unless the 64-bit value at mem is canonical (48-bit):
 * mem + 2^47 is below 2^48; uses rax */
.macro CANONICAL mem, bad
	mov $(1 << 47), %rax
	add \mem, %rax
	shr $48, %rax
	jnz \bad
.endm

/*
 * GS: ring 0's GS base is the per-CPU area, ring 3's is its own (ring 3
 * may load %gs or write its base), and KERNEL_GS_BASE always holds the
 * per-CPU area, in both rings.  So every entry that can come from ring 3
 * starts with swapgs: from ring 0 it changes nothing, from ring 3 it
 * makes GS ring 0's.  USER_GS_SAVE then keeps ring 3's GS base in
 * PC_UGS and puts KERNEL_GS_BASE back (swapgs + wrmsr GS_BASE: a write of
 * KERNEL_GS_BASE itself would leave the guest); __dune_pop_tf loads
 * PC_UGS as the GS base last before IRETQ to ring 3.
 */
.macro USER_GS_SAVE		/* after swapgs, from ring 3; uses rax rcx rdx r8 */
	mov %gs:PC_SELF, %r8
	swapgs
	mov $MSR_GS_BASE, %ecx
	rdmsr
	mov %eax, PC_UGS(%r8)
	mov %edx, PC_UGS+4(%r8)
	mov %r8, %rax
	mov %r8, %rdx
	shr $32, %rdx
	wrmsr
.endm

/*
 * A trap from ring 3, its registers pushed (GS = ring 3's, FS = ring 3's,
 * KERNEL_GS_BASE = the per-CPU area): ring 0's GS and FS bases, ring 3's
 * GS base in PC_UGS and, with \fsgs, in r12 (callee-saved: still there
 * when the handler returns).  \fsgs = 1: with RDGSBASE/WRGSBASE/WRFSBASE (CR4.FSGSBASE,
 * dune_fsgsbase), the per-CPU area from SGDT (internal.h: PC_GDT); 0: with
 * the MSRs.  Uses rax rcx rdx r8 r12 and 16 bytes below rsp.
 */
.macro USER_ENTER fsgs
	.if \fsgs
	rdgsbase %r12
	sgdt -16(%rsp)			/* the GDT's base is the per-CPU area */
	mov -14(%rsp), %rax
	wrgsbase %rax
	mov %r12, %gs:PC_UGS
	mov %gs:PC_KFS, %rax
	wrfsbase %rax
	.else
	swapgs
	USER_GS_SAVE
	mov $MSR_FS_BASE, %ecx
	mov %gs:PC_KFS, %eax
	mov %gs:PC_KFS+4, %edx
	wrmsr
	.endif
.endm

/* back to ring 3's FS base (PC_UFS) and GS base (r12, or PC_UGS); GS last */
.macro USER_LEAVE fsgs
	.if \fsgs
	mov %gs:PC_UFS, %rax
	wrfsbase %rax
	wrgsbase %r12
	.else
	mov $MSR_FS_BASE, %ecx
	mov %gs:PC_UFS, %eax
	mov %gs:PC_UFS+4, %edx
	wrmsr
	mov $MSR_GS_BASE, %ecx
	mov %gs:PC_UGS, %eax
	mov %gs:PC_UGS+4, %edx
	wrmsr
	.endif
.endm

/* USER_ENTER as dune_fsgsbase says (the paths without a copy per variant) */
.macro USER_ENTER_ANY
	testb $1, dune_fsgsbase(%rip)
	jz 101f
	USER_ENTER 1
	jmp 102f
101:	USER_ENTER 0
102:
.endm

/* the general-purpose registers of struct dune_tf but rax (rcx's slot
 * gets \rcx) */
.macro GPR_PUSH rcx=%rcx
	push %r15
	push %r14
	push %r13
	push %r12
	push %rbp
	push %rbx
	push %r11
	push %r10
	push %r9
	push %r8
	push \rcx
	push %rdx
	push %rsi
	push %rdi
.endm

/* the registers of struct dune_tf at rsp, then IRETQ to its frame */
.macro TF_POP_IRET
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %rbx
	pop %rbp
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	pop %rax
	add $8, %rsp
	iretq
.endm

/*
 * Return from a handler to a ring-0 frame at rsp; __dune_pop_tf if the
 * handler made it a ring-3 one.
 */
.macro POP_KERNEL_TF
	testb $3, TF_CS(%rsp)
	jnz __dune_pop_tf
	TF_POP_IRET
.endm

/*
 * Call the trap's handler: rdi = tf, \vreg = vector (ring 0: rax, ring 3:
 * rsi), the stack aligned, TSS.IST2 moved down (its old value on the
 * stack: put back after the call).  dune_trap_fast holds, for each vector,
 * the registered dune_intr_cb or that vector's thunk to dune_trap_dispatch
 * (no handler; always for the page fault from ring 3, which may be a
 * signal), so the call needs no test; dune_pgflt_fast is the registered
 * dune_pgflt_cb or __dune_pgflt_slow.  \pf = 1: a page fault from ring 0;
 * \ring0: the frame is ring 0's (return inline).
 */
.macro TRAP_CALL pf, ring0, vreg
#ifdef DUNE_MUTANT_LIB_HANDLER_MISALIGN
	/* mutant LIB_HANDLER_MISALIGN: handlers run 8 bytes off the ABI's
	 * 16-byte stack alignment */
	.if \pf
	mov $14, %esi
	.else
	mov \vreg, %rsi
	.endif
	sub $8, %rsp
	call dune_trap_dispatch
	add $8, %rsp
	.if \ring0
	popq %gs:PC_TSS_IST2
	jmp __dune_pop_tf
	.else
	USER_TF_BACK
	jmp __dune_pop_user
	.endif
#else
	.if \pf == 1
	mov %rdi, %rdx			/* tf */
	mov TF_ERR(%rdi), %esi		/* error code, zero-extended */
#ifdef DUNE_MUTANT_LIB_PGFLT_CR2
	xor %edi, %edi			/* mutant LIB_PGFLT_CR2: CR2 not reported */
#else
	mov %cr2, %rdi
#endif
	call *dune_pgflt_fast(%rip)
	.else
	lea dune_trap_fast(%rip), %rcx
	call *(%rcx,\vreg,8)
	.endif
	.if \ring0
	popq %gs:PC_TSS_IST2		/* rsp = tf again */
	POP_KERNEL_TF
	.else
	USER_TF_BACK
	jmp __dune_pop_user
	.endif
#endif
.endm

/*
 * dune_trap_fast's entries where no handler is registered: 256 thunks, 16
 * bytes apart, each to dune_trap_dispatch(tf, its vector).
 */
	.p2align 4
	.globl __dune_trap_thunks
	.hidden __dune_trap_thunks
__dune_trap_thunks:
	.set vec, 0
	.rept 256
	.p2align 4
	mov $vec, %esi
	jmp dune_trap_dispatch
	.set vec, vec + 1
	.endr

/* dune_pgflt_fast's fallback: dune_trap_dispatch */
	.globl __dune_pgflt_slow
	.hidden __dune_pgflt_slow
	.type __dune_pgflt_slow, @function
__dune_pgflt_slow:			/* (cr2, error code, tf) */
	mov %rdx, %rdi
	mov $14, %esi
	jmp dune_trap_dispatch
	.size __dune_pgflt_slow, . - __dune_pgflt_slow

	.section .data.rel.local, "aw"
	.p2align 3
	.globl dune_trap_fast
	.hidden dune_trap_fast
dune_trap_fast:
	.set vec, 0
	.rept 256
	.quad __dune_trap_thunks + 16 * vec
	.set vec, vec + 1
	.endr
	.size dune_trap_fast, . - dune_trap_fast
	.text

/* long __dune_enter_asm(struct dune_percpu *pc, long (*loop)(pc)) */
	.globl __dune_enter_asm
	.type __dune_enter_asm, @function
__dune_enter_asm:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rdi, %rbx
	mov %rsp, PC_ENTER_RSP(%rbx)
	mov PC_HOST_TOP(%rbx), %rsp
	mov %rbx, %rdi
	call *%rsi
	/* only reached when entering failed: rax = -errno */
	mov PC_ENTER_RSP(%rbx), %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size __dune_enter_asm, . - __dune_enter_asm

/* first guest instruction (kvm); vmx gets here through __dune_vmx_boot */
	.globl __dune_enter_resume
	.type __dune_enter_resume, @function
__dune_enter_resume:
	mov %gs:PC_SELF, %rax		/* KERNEL_GS_BASE = GS base = the per-CPU area */
	swapgs
	mov %rax, %rdx
	shr $32, %rdx
	mov $MSR_GS_BASE, %ecx
	wrmsr
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	xor %eax, %eax
	ret
	.size __dune_enter_resume, . - __dune_enter_resume

/* vmx: the module starts us with GDTR/IDTR base 0; rdi = percpu */
	.globl __dune_vmx_boot
	.type __dune_vmx_boot, @function
__dune_vmx_boot:
	sub $16, %rsp
	movw $(NR_GDT_ENTRIES * 8 - 1), (%rsp)
	lea PC_GDT(%rdi), %rax
	mov %rax, 2(%rsp)
	lgdt (%rsp)
	movw $(256 * 16 - 1), (%rsp)
	mov dune_guest_idt(%rip), %rax
	mov %rax, 2(%rsp)
	lidt (%rsp)
	add $16, %rsp
	mov $GD_KD, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	pushq $GD_KT
	lea 1f(%rip), %rax
	push %rax
	lretq
1:	mov $GD_TSS, %ax
	ltr %ax
	mov $MSR_GS_BASE, %ecx
	mov %rdi, %rax
	mov %rdi, %rdx
	shr $32, %rdx
	wrmsr
	jmp __dune_enter_resume
	.size __dune_vmx_boot, . - __dune_vmx_boot

/* ------------------------------------------------------------ traps */

/*
 * Everything that runs with ring 3's GS or FS base in ring 0 before an
 * IRETQ to ring 3 (the ring-3 halves of the exception entries and the
 * returns to ring 3) lies in this section, between these two labels: a
 * #GP, #NP or #SS in ring 0 at an address inside is an IRETQ that could
 * not enter its frame (dune_bad_iret).
 */
	.section .text.dune_user, "ax", @progbits
	.globl __dune_user_text
	.hidden __dune_user_text
__dune_user_text:
	.text

/*
 * 256 stubs, 16 bytes apart; vectors with a hardware error code skip the
 * push.  Each jumps to the entry its IST needs: IST1 (#DF, NMI, #MC) stays
 * on its stack, #DB has a check of its own, the rest share the common entry.
 */
	.p2align 4
	.globl dune_idt_stubs
dune_idt_stubs:
	.set vec, 0
	.rept 256
	.p2align 4
	.if (vec == 8) || (vec >= 10 && vec <= 14) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	.if (vec == 2) || (vec == 8) || (vec == 18)
	jmp dune_trap_ist1
	.elseif vec == 1
	jmp dune_trap_db
	.else
	jmp dune_trap_common
	.endif
	.set vec, vec + 1
	.endr

/*
 * #DB in ring 0 at the first instruction of the kvm syscall entry: the
 * single-step trap of a `syscall` made with TF set.  SFMASK clears TF, and
 * hardware takes the step from the flags after SYSCALL (no trap), but some
 * CPU models and emulators (Bochs, in the VMX lab) take it from the flags
 * before: the trap then comes in ring 0 with ring 3's GS, FS and stack,
 * before the entry switched them.  Nothing is to be done about it: go back
 * to the entry, touching nothing (the frame's RFLAGS already has TF clear).
 */
dune_trap_db:
	testb $3, 24(%rsp)
	jnz dune_trap_user
	push %rax
	lea __dune_syscall_kvm(%rip), %rax
	cmp %rax, 24(%rsp)		/* the interrupted rip */
	pop %rax
	jne dune_trap_kernel
	add $16, %rsp			/* vector and error code */
	iretq

/*
 * From ring 0.  rsp = IST2: vec, err, rip, cs, rflags, rsp, ss.  Code in
 * guest ring 0 is ordinary compiled code with a red zone (128 bytes below
 * its stack pointer), so neither the frame nor the handler may use the
 * interrupted stack: both stay on IST2, the frame where the CPU put it.
 * For the handler's time TSS.IST2 moves down by IST_CHUNK, so a trap
 * inside it gets a chunk of its own (entry.c: IST_CHUNKS deep); the old
 * value is kept in the 8 bytes that align the stack for the call, and
 * put back before the frame is popped.
 */
/*
 * The rest of struct dune_tf once its RAX slot (the vector's, or the one
 * just pushed) is filled and rsp points at it: rdi = tf; then TSS.IST2
 * moves down for the handler, its old value pushed (16-byte aligned now).
 */
.macro TF_SAVE_REST kernel
	GPR_PUSH
	mov %rsp, %rdi
#ifdef DUNE_MUTANT_LIB_TRAP_REDZONE
	.if \kernel
	/* mutant LIB_TRAP_REDZONE: the interrupted stack's red zone gets the
	 * hardware frame, as an IDT gate without IST would put it there */
	mov TF_RSP(%rsp), %r8
	mov TF_SS(%rsp), %r9
	mov %r9, -8(%r8)
	mov TF_RSP(%rsp), %r9
	mov %r9, -16(%r8)
	mov TF_RFLAGS(%rsp), %r9
	mov %r9, -24(%r8)
	mov TF_CS(%rsp), %r9
	mov %r9, -32(%r8)
	mov TF_RIP(%rsp), %r9
	mov %r9, -40(%r8)
	.endif
#endif
	pushq %gs:PC_TSS_IST2
	subq $IST_CHUNK, %gs:PC_TSS_IST2
	cld
.endm

/*
 * The same for a trap from ring 3, after USER_ENTER: TSS.IST2 moves down
 * and its bit 0 (ring 3 runs) goes; rdi = tf.
 */
.macro USER_TF_REST
	mov %rsp, %rdi
	pushq %gs:PC_TSS_IST2
	subq $(IST_CHUNK + 1), %gs:PC_TSS_IST2
	cld
.endm

/*
 * After the handler of a trap from ring 3 (rsp = TSS.IST2's old value,
 * then the tf): IST2 back with ring 3's bit, 256 bytes off the frame (see
 * the top of this file); a frame the handler made ring 0's is returned to
 * as such.
 */
.macro USER_TF_BACK
	xorq $256, (%rsp)
	popq %gs:PC_TSS_IST2
	testb $3, TF_CS(%rsp)
	jz __dune_user_to_kernel
.endm

/* from ring 0 through a stub: rax = vector */
dune_trap_common:
	testb $3, 24(%rsp)
	jnz dune_trap_user
dune_trap_kernel:
	xchg %rax, (%rsp)		/* tf.rax = rax, rax = vector */
	TF_SAVE_REST 1
	TRAP_CALL 0, 1, %rax

/*
 * A #GP, #NP or #SS in ring 0 inside __dune_user_text: the IRETQ of a
 * return to ring 3 could not enter its frame (RIP not canonical, CS or SS
 * not ring 3's; a handler or dune_pop_trap_frame's caller made it so).
 * GS and FS are ring 3's already, the registers are, and IST2 says ring 3
 * runs: the state of a trap from ring 3.  rsp: rax (pushed), the error
 * code and the CPU's frame, whose RSP points at the frame IRETQ was
 * popping.  That frame becomes the tf's, error code 0, and
 * dune_bad_user_frame reports it to the vector-13 handler as a ring-3 #GP;
 * it returns when the frame can be entered now.
 */
dune_bad_iret:
	GPR_PUSH
	mov TF_RSP(%rsp), %rsi
	mov (%rsi), %rax
	mov %rax, TF_RIP(%rsp)
	mov 8(%rsi), %rax
	mov %rax, TF_CS(%rsp)
	mov 16(%rsi), %rax
	mov %rax, TF_RFLAGS(%rsp)
	mov 24(%rsi), %rax
	mov %rax, TF_RSP(%rsp)
	mov 32(%rsi), %rax
	mov %rax, TF_SS(%rsp)
	movq $0, TF_ERR(%rsp)
	USER_ENTER_ANY
	USER_TF_REST
	call dune_bad_user_frame
	USER_TF_BACK
	jmp __dune_pop_user

/* rax pushed: to dune_bad_iret if the fault's RIP is in __dune_user_text */
.macro IRET_FAULT_CHECK
	push %rax
	lea __dune_user_text(%rip), %rax
	cmp %rax, 16(%rsp)		/* the faulting rip */
	jb 103f
	lea __dune_user_text_end(%rip), %rax
	cmp %rax, 16(%rsp)
	jb dune_bad_iret
103:
.endm

/*
 * The exceptions' own entries (entry.c puts them in the IDT; not #DB and
 * the IST1 vectors): no vector to push, the handler's slot in
 * dune_trap_fast known.  From ring 3 their second half, in
 * __dune_user_text: the frame where the CPU put it (IST2), ring 0's GS and
 * FS, the handler, and the return, inline.  Two copies: \fsgs = 1 with
 * the FSGSBASE instructions, 0 with the MSRs (dune_fsgsbase picks).
 */
.macro EXC_ENTRY vec, err, fsgs
	.p2align 4
dune_exc\fsgs\()_\vec:
	.if !\err
	pushq $0
	.endif
	testb $3, 16(%rsp)
	jnz dune_uexc\fsgs\()_\vec
	.if (\vec == 11) || (\vec == 12) || (\vec == 13)
	IRET_FAULT_CHECK
	.else
	push %rax
	.endif
	TF_SAVE_REST 1
	.if \vec == 14
	TRAP_CALL 1, 1
	.else
#ifdef DUNE_MUTANT_LIB_HANDLER_MISALIGN
	mov $\vec, %eax
	TRAP_CALL 0, 1, %rax
#else
	call *(dune_trap_fast + 8 * \vec)(%rip)
	popq %gs:PC_TSS_IST2
	POP_KERNEL_TF
#endif
	.endif

	.section .text.dune_user, "ax", @progbits
	.p2align 4
dune_uexc\fsgs\()_\vec:
	push %rax
	GPR_PUSH
	USER_ENTER \fsgs
	USER_TF_REST
#ifdef DUNE_MUTANT_LIB_HANDLER_MISALIGN
	/* mutant LIB_HANDLER_MISALIGN: handlers run 8 bytes off the ABI's
	 * 16-byte stack alignment */
	mov $\vec, %esi
	sub $8, %rsp
	call dune_trap_dispatch
	add $8, %rsp
#else
	/* (vector 14's slot is always its thunk to dune_trap_dispatch) */
	call *(dune_trap_fast + 8 * \vec)(%rip)
#endif
	USER_TF_BACK
	USER_LEAVE \fsgs
	TF_POP_IRET
	.text
.endm

	.irp f, 0, 1
	.irp v, 0, 3, 4, 5, 6, 7, 9, 16, 19, 20, 22, 23, 24, 25, 26, 27, 28, 31
	EXC_ENTRY \v, 0, \f
	.endr
	.irp v, 10, 11, 12, 13, 14, 17, 21, 29, 30
	EXC_ENTRY \v, 1, \f
	.endr
	.endr

/* their addresses by vector (0: none, the stub): MSR copy, then FSGSBASE copy */
	.section .data.rel.local, "aw"
	.p2align 3
	.globl dune_exc_entries
	.hidden dune_exc_entries
dune_exc_entries:
	.irp f, 0, 1
	.quad dune_exc\f\()_0, 0, 0, dune_exc\f\()_3, dune_exc\f\()_4, dune_exc\f\()_5, dune_exc\f\()_6, dune_exc\f\()_7
	.quad 0, dune_exc\f\()_9, dune_exc\f\()_10, dune_exc\f\()_11, dune_exc\f\()_12, dune_exc\f\()_13, dune_exc\f\()_14, 0
	.quad dune_exc\f\()_16, dune_exc\f\()_17, 0, dune_exc\f\()_19, dune_exc\f\()_20, dune_exc\f\()_21, dune_exc\f\()_22, dune_exc\f\()_23
	.quad dune_exc\f\()_24, dune_exc\f\()_25, dune_exc\f\()_26, dune_exc\f\()_27, dune_exc\f\()_28, dune_exc\f\()_29, dune_exc\f\()_30, dune_exc\f\()_31
	.endr
	.size dune_exc_entries, . - dune_exc_entries
	.text

/*
 * From ring 3 through a stub (vector pushed; IST2, or IST1 for #DF, NMI,
 * #MC), as the exceptions' own entries do it.
 */
dune_trap_user:
	xchg %rax, (%rsp)		/* tf.rax = rax, rax = vector */
	GPR_PUSH
	mov %eax, %esi
	USER_ENTER_ANY
	USER_TF_REST
	TRAP_CALL 0, 0, %rsi

/* a handler made a ring-3 frame ring 0's: GS and FS are ring 0's already */
__dune_user_to_kernel:
	andq $-2, %gs:PC_TSS_IST2
	TF_POP_IRET

/* IST1 (#DF, NMI, #MC): the frame stays on IST1; from ring 3 as above */
dune_trap_ist1:
	testb $3, 24(%rsp)
	jnz dune_trap_user
	xchg %rax, (%rsp)		/* tf.rax = rax, rax = vector */
	GPR_PUSH
	mov %rax, %rsi
	mov %rsp, %rdi
	cld
	sub $8, %rsp			/* IST1's top is 16-byte aligned */
	call dune_trap_dispatch
	add $8, %rsp
	jmp __dune_pop_tf

/*
 * rsp = struct dune_tf: return to it.  To ring 3: IST2 gets ring 3's bit
 * and moves 256 bytes (top of file); __dune_pop_user then loads ring 3's FS
 * (PC_UFS) and GS (PC_UGS) bases and enters it.  A frame IRETQ cannot
 * enter faults there, in __dune_user_text (dune_bad_iret).
 */
	.globl __dune_pop_tf
	.type __dune_pop_tf, @function
__dune_pop_tf:
	testb $3, TF_CS(%rsp)
	jz 1f
	xorq $(256 | PC_IN_USER_BIT), %gs:PC_TSS_IST2
	jmp __dune_pop_user
1:	TF_POP_IRET
	.size __dune_pop_tf, . - __dune_pop_tf

	.section .text.dune_user, "ax", @progbits
__dune_pop_user:
	testb $1, dune_fsgsbase(%rip)
	jz 1f
	mov %gs:PC_UFS, %rax
	wrfsbase %rax
	mov %gs:PC_UGS, %rax		/* last use of ring 0's GS */
	wrgsbase %rax
	TF_POP_IRET
1:	mov $MSR_FS_BASE, %ecx
	mov %gs:PC_UFS, %eax
	mov %gs:PC_UFS+4, %edx
	wrmsr
	mov $MSR_GS_BASE, %ecx		/* last use of ring 0's GS */
	mov %gs:PC_UGS, %eax
	mov %gs:PC_UGS+4, %edx
	wrmsr
	TF_POP_IRET
	.text

	.globl dune_pop_trap_frame
	.type dune_pop_trap_frame, @function
dune_pop_trap_frame:
	mov %rdi, %rsp
	jmp __dune_pop_tf
	.size dune_pop_trap_frame, . - dune_pop_trap_frame

/* int dune_jump_to_user(struct dune_tf *tf) */
	.globl dune_jump_to_user
	.type dune_jump_to_user, @function
dune_jump_to_user:
	CANONICAL TF_RIP(%rdi), 1f
	pushfq
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	pushq %gs:PC_TSS_IST2		/* a ring-0 handler's chunk, if inside one */
	pushq %gs:PC_JTU_RSP
	mov %rsp, %gs:PC_JTU_RSP
	movw $(GD_UT | 3), TF_CS(%rdi)
	movw $(GD_UD | 3), TF_SS(%rdi)
	cli
	mov %rdi, %rsp
	jmp __dune_pop_tf
1:	mov $-22, %eax			/* -EINVAL: RIP not canonical */
	ret
	.size dune_jump_to_user, . - dune_jump_to_user

/* void dune_ret_from_user(int ret) */
	.globl dune_ret_from_user
	.type dune_ret_from_user, @function
dune_ret_from_user:
	movslq %edi, %rax
	cli
	mov %gs:PC_JTU_RSP, %rsp
	popq %gs:PC_JTU_RSP
	popq %gs:PC_TSS_IST2		/* ring 0's again; its traps on the way are over */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	popfq
	ret
	.size dune_ret_from_user, . - dune_ret_from_user

/* ------------------------------------------------------- syscalls */

/*
 * kvm: guest LSTAR points here.  From ring 0 the arguments go to the
 * per-CPU area and `out` leaves to the thread's run loop, which runs the
 * call and puts the result back in PC_SC_NR.  Nothing below rsp is
 * touched until the red zone is skipped.
 */
	.p2align 4
	.globl __dune_syscall_kvm
	.type __dune_syscall_kvm, @function
__dune_syscall_kvm:
	SYSCALL_ENTRY __dune_syscall_user, 3f
	.globl __dune_syscall_kvm_exit
__dune_syscall_kvm_exit:
	EXIT_CALL_KVM
	cmpq $0, %gs:PC_FLUSH
	jne 2f
1:	POPF_R11
	jmp *%rcx
2:	movq $0, %gs:PC_FLUSH		/* the page tables changed: flush */
	mov %cr3, %rdi
	mov %rdi, %cr3
	mov %gs:PC_SC_A0, %rdi
	jmp 1b
3:	jmp *%gs:PC_XL_ENTRY
	.size __dune_syscall_kvm, . - __dune_syscall_kvm

/*
 * vmx: position independent, copied to the guest-virtual address of the
 * host's LSTAR (the module leaves the guest's LSTAR alone).
 */
	.p2align 4
	.globl __dune_syscall_vmx
__dune_syscall_vmx:
	SYSCALL_ENTRY 1f, 2f
	POPF_R11
	vmcall
	jmp *%rcx
1:	jmp *%gs:PC_SYSCALL_USER
2:	jmp *%gs:PC_XL_ENTRY
	.globl __dune_syscall_vmx_end
__dune_syscall_vmx_end:

/* `syscall` from ring 3: build a dune_tf on the trap stack, call the handler */
	.p2align 4
	.globl __dune_syscall_user
	.type __dune_syscall_user, @function
__dune_syscall_user:
	mov %rsp, %gs:PC_USER_RSP
	mov %gs:PC_TRAP_TOP, %rsp
	pushq $(GD_UD | 3)
	pushq %gs:PC_USER_RSP
	push %r11
	pushq $(GD_UT | 3)
	push %rcx
	pushq $0
	push %rax
	GPR_PUSH %r10			/* rcx slot: syscall arg3 */
	USER_GS_SAVE
	mov $MSR_FS_BASE, %ecx
	mov %gs:PC_KFS, %eax
	mov %gs:PC_KFS+4, %edx
	wrmsr
	andq $-2, %gs:PC_TSS_IST2	/* last: ring 0's GS and FS are back */
	mov %rsp, %rdi
	cld
	mov dune_syscall_cb_fn(%rip), %rax	/* the handler, if any, directly */
	test %rax, %rax
	jz 1f
	call *%rax			/* 8 mod 16 less 168: aligned */
	jmp __dune_pop_tf
1:	call dune_syscall_dispatch_user
	jmp __dune_pop_tf
	.size __dune_syscall_user, . - __dune_syscall_user

/*
 * long __dune_clone_resume(nr, a0, a1, a2, a3, a4, uint64_t *regs)
 * Host mode: run clone/fork/vfork.  The parent returns the result; the
 * child continues, in normal Linux mode, where the guest made the call,
 * with the registers in regs[] (RR_*; rsp already the child's).
 */
	.globl __dune_clone_resume
	.type __dune_clone_resume, @function
__dune_clone_resume:
	push %rbx
	mov 16(%rsp), %rbx
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	syscall
	test %rax, %rax
	jz 1f
	pop %rbx
	ret
1:	lea -128(%rbx), %rsp
	and $-16, %rsp
	mov %rbx, %rdi
	call dune_child_after_clone
	ldmxcsr (RR_MXCSR * 8)(%rbx)
	fldcw (RR_FCW * 8)(%rbx)
	mov (RR_RSP * 8)(%rbx), %rcx
	mov (RR_RIP * 8)(%rbx), %rax
	mov %rax, -136(%rcx)
	mov (RR_RFLAGS * 8)(%rbx), %rax
	mov %rax, -144(%rcx)
	lea -144(%rcx), %rsp
	popfq
	lea 136(%rsp), %rsp
	mov (RR_RAX * 8)(%rbx), %rax
	mov (RR_RCX * 8)(%rbx), %rcx
	mov (RR_RDX * 8)(%rbx), %rdx
	mov (RR_RSI * 8)(%rbx), %rsi
	mov (RR_RDI * 8)(%rbx), %rdi
	mov (RR_RBP * 8)(%rbx), %rbp
	mov (RR_R8 * 8)(%rbx), %r8
	mov (RR_R9 * 8)(%rbx), %r9
	mov (RR_R10 * 8)(%rbx), %r10
	mov (RR_R11 * 8)(%rbx), %r11
	mov (RR_R12 * 8)(%rbx), %r12
	mov (RR_R13 * 8)(%rbx), %r13
	mov (RR_R14 * 8)(%rbx), %r14
	mov (RR_R15 * 8)(%rbx), %r15
	mov (RR_RBX * 8)(%rbx), %rbx
	jmp *-136(%rsp)
	.size __dune_clone_resume, . - __dune_clone_resume

/*
 * void __dune_unmap_and_exit(void *addr, size_t len, long code)
 * The last steps of a thread that ran on stacks inside [addr, addr + len):
 * unmap them and exit, touching no memory in between (signals blocked).
 */
	.globl __dune_unmap_and_exit
	.type __dune_unmap_and_exit, @function
__dune_unmap_and_exit:
	mov $11, %eax			/* munmap(rdi, rsi); rdx survives */
	syscall
	mov %rdx, %rdi
1:	mov $60, %eax			/* exit(code) */
	syscall
	jmp 1b
	.size __dune_unmap_and_exit, . - __dune_unmap_and_exit

/* ------------------------------------------------- vsyscall page */

/* copied to a pool page mapped at 0xffffffffff600000 */
	.section .rodata
	.p2align 12
	.globl __dune_vsyscall_page
__dune_vsyscall_page:
	.byte 0xb8, 0x60, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3	/* gettimeofday */
	.fill 0x400 - 8, 1, 0xcc
	.byte 0xb8, 0xc9, 0x00, 0x00, 0x00, 0x0f, 0x05, 0xc3	/* time */
	.fill 0x400 - 8, 1, 0xcc
	.byte 0xb8, 0x35, 0x01, 0x00, 0x00, 0x0f, 0x05, 0xc3	/* getcpu */
	.fill 0x400 - 8, 1, 0xcc
	.globl __dune_vsyscall_page_end
__dune_vsyscall_page_end:

/* the end of __dune_user_text (top of the traps section) */
	.section .text.dune_user, "ax", @progbits
	.globl __dune_user_text_end
	.hidden __dune_user_text_end
__dune_user_text_end:

	.section .note.GNU-stack, "", @progbits

// SPDX-License-Identifier: MIT
/*
 * trap_redzone.c - a trap must not touch the red zone of the code it
 * interrupts.  Code in guest ring 0 is ordinary compiled user code: the
 * x86-64 ABI lets a leaf function keep data in the 128 bytes below its
 * stack pointer without moving it, so an exception handled in ring 0 has to
 * build its frame (and run its handler) below that.
 *
 * (extension) The original Dune delivers most vectors on the interrupted
 * stack and overwrites the red zone: conformance/departures says so.
 */
#include "common.h"

#include <stdio.h>
#include <string.h>

/*
 * int ct_redzone_trap(volatile char *pf): fill the 128 bytes below the
 * stack pointer with a pattern, trap (a write to @pf if not NULL, a #PF
 * the handler resolves; else a #DE from `div %ecx`, 2 bytes, the handler
 * steps over it), and return how many of the 16 words changed.  A leaf
 * that never moves its stack pointer, as a compiler may emit.
 */
__asm__(".text\n"
	".p2align 4\n"
	".globl ct_redzone_trap\n"
	".hidden ct_redzone_trap\n"
	".type ct_redzone_trap, @function\n"
	"ct_redzone_trap:\n"
	"	lea -128(%rsp), %rdx\n"
	"	mov $16, %ecx\n"
	"	movabs $0x0123456789abcdef, %rax\n"
	"1:	mov %rax, (%rdx)\n"
	"	add $8, %rdx\n"
	"	rol $8, %rax\n"
	"	dec %ecx\n"
	"	jnz 1b\n"
	"	test %rdi, %rdi\n"
	"	jz 2f\n"
	"	movb $1, (%rdi)\n"
	"	jmp 3f\n"
	"2:	xor %edx, %edx\n"
	"	mov $1, %eax\n"
	"	div %ecx\n"			/* ecx is 0: #DE */
	"3:	lea -128(%rsp), %rdx\n"
	"	mov $16, %ecx\n"
	"	movabs $0x0123456789abcdef, %rax\n"
	"	xor %esi, %esi\n"
	"4:	cmp %rax, (%rdx)\n"
	"	je 5f\n"
	"	inc %esi\n"
	"5:	add $8, %rdx\n"
	"	rol $8, %rax\n"
	"	dec %ecx\n"
	"	jnz 4b\n"
	"	mov %esi, %eax\n"
	"	ret\n"
	".size ct_redzone_trap, . - ct_redzone_trap\n");

int ct_redzone_trap(volatile char *pf);

static int rz_handled;

/* a handler that uses stack: what it writes must not land in the red zone */
static void __attribute__((noinline)) rz_use_stack(void)
{
	volatile char buf[512];

	memset((char *)buf, 0xee, sizeof(buf));
	rz_handled += buf[7] == (char)0xee;
}

static int rz_nest, rz_nest_changed;

static void rz_on_divide(struct dune_tf *tf)
{
	rz_use_stack();
	if (rz_nest) {		/* a #DE in this handler: its red zone too */
		rz_nest = 0;
		rz_nest_changed = ct_redzone_trap(NULL);
	}
	tf->rip += 2;		/* over `div %ecx` */
}

static char *rz_page;

static void rz_on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	rz_use_stack();
	if ((addr & ~(uintptr_t)(PGSIZE - 1)) == (uintptr_t)rz_page)
		dune_vm_mprotect(pgroot, rz_page, PGSIZE, PERM_R | PERM_W);
}

CTEST(trap_red_zone,
      .id = "api.trap.red_zone",
      .profile = "traps",
      .what = "(extension) a ring-0 exception without an error code (#DE) and with one (#PF), and one taken inside a handler, leaves the 128-byte red zone below the interrupted stack pointer as it was, while the handler itself uses 512 bytes of stack",
      .needs = "dune")
{
	int changed;

	ENTER();
	dune_register_intr_handler(T_DIVIDE, rz_on_divide);
	dune_register_pgflt_handler(rz_on_pgflt);
	rz_page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(rz_page != MAP_FAILED, "mmap: %s", strerror(errno));
	rz_page[0] = 1;
	for (int i = 0; i < 4; i++) {
		rz_handled = 0;
		changed = ct_redzone_trap(NULL);
		CT_EXPECT_EQ(rz_handled, 1);
		CT_EXPECT(changed == 0, "#DE (round %d): %d of the 16 red-zone words changed", i, changed);

		CT_ASSERT_EQ(dune_vm_mprotect(pgroot, rz_page, PGSIZE, PERM_R), 0);
		rz_handled = 0;
		changed = ct_redzone_trap(rz_page);
		CT_EXPECT_EQ(rz_handled, 1);
		CT_EXPECT(changed == 0, "#PF (round %d): %d of the 16 red-zone words changed", i, changed);

		rz_handled = 0;
		rz_nest = 1;
		rz_nest_changed = -1;
		changed = ct_redzone_trap(NULL);
		CT_EXPECT_EQ(rz_handled, 2);
		CT_EXPECT(changed == 0 && rz_nest_changed == 0,
			  "#DE in a #DE handler (round %d): %d red-zone words of the code changed, %d of the handler's",
			  i, changed, rz_nest_changed);
	}
	dune_register_intr_handler(T_DIVIDE, NULL);
	dune_register_pgflt_handler(NULL);
}

/*
 * Nested traps in ring 0: a #DE whose handler takes a #PF, whose handler
 * takes #DEs nested NEST_DEPTH deep.  Each handler's frame and locals must
 * survive the traps taken inside it, and every level must come back.
 * Repeated more often than an implementation could leak a per-level
 * resource (a stack) without running out.
 */
#define NEST_DEPTH	4
#define NEST_ROUNDS	40

static volatile int nest_depth, nest_max, nest_pf, nest_bad;
static char *nest_page;

static void nest_on_divide(struct dune_tf *tf)
{
	volatile uint64_t canary = 0x5a5a0000 + (uint64_t)nest_depth;
	uint64_t rip = tf->rip, rsp = tf->rsp;
	int depth = ++nest_depth;

	if (depth > nest_max)
		nest_max = depth;
	rz_use_stack();
	if (depth == 1)
		nest_page[0] = 2;		/* #PF: its handler nests the rest */
	else if (depth < NEST_DEPTH)
		(void)ct_redzone_trap(NULL);	/* #DE from inside this handler */
	if (canary != 0x5a5a0000 + (uint64_t)(depth - 1) || tf->rip != rip || tf->rsp != rsp)
		nest_bad++;
	nest_depth--;
	tf->rip += 2;		/* over `div %ecx` */
}

static void nest_on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	volatile uint64_t canary = 0xa5a5a5a5;
	uint64_t rip = tf->rip;

	(void)fec;
	nest_pf++;
	if ((addr & ~(uintptr_t)(PGSIZE - 1)) != (uintptr_t)nest_page) {
		nest_bad++;
		return;
	}
	(void)ct_redzone_trap(NULL);		/* #DE inside the #PF handler */
	dune_vm_mprotect(pgroot, nest_page, PGSIZE, PERM_R | PERM_W);
	if (canary != 0xa5a5a5a5 || tf->rip != rip)
		nest_bad++;
}

CTEST(trap_nested,
      .id = "api.trap.nested",
      .profile = "traps",
      .what = "ring-0 traps nest: a #DE handler that takes a #PF whose handler takes #DEs 3 deep; every handler's frame and locals survive, every level returns, 40 times over",
      .needs = "dune")
{
	ENTER();
	dune_register_intr_handler(T_DIVIDE, nest_on_divide);
	dune_register_pgflt_handler(nest_on_pgflt);
	nest_page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(nest_page != MAP_FAILED, "mmap: %s", strerror(errno));
	nest_page[0] = 1;
	for (int i = 0; i < NEST_ROUNDS; i++) {
		CT_ASSERT_EQ(dune_vm_mprotect(pgroot, nest_page, PGSIZE, PERM_R), 0);
		nest_max = nest_pf = nest_bad = 0;
		(void)ct_redzone_trap(NULL);
		CT_ASSERT(nest_max == NEST_DEPTH && nest_pf == 1 && !nest_bad && !nest_depth,
			  "round %d: deepest #DE %d (want %d), #PFs %d (want 1), %d frames or locals changed, depth left %d",
			  i, nest_max, NEST_DEPTH, nest_pf, nest_bad, nest_depth);
		CT_EXPECT_EQ(nest_page[0], 2);
	}
	dune_register_intr_handler(T_DIVIDE, NULL);
	dune_register_pgflt_handler(NULL);
	munmap(nest_page, PGSIZE);
}

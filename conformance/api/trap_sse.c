// SPDX-License-Identifier: MIT
/*
 * trap_sse.c - handlers that run ordinary compiled C code: SSE, which needs
 * the stack aligned as the x86-64 ABI says (16 bytes at a call).  Every way
 * into a handler is tried: a ring-0 exception without an error code (#DE),
 * a page fault (an error code: one more word on the stack), and from ring 3
 * an exception and a system call (a switch to the trap stack).
 */
#include "common.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define BIG	(256 * 1024)

static char big_src[BIG], big_dst[BIG];

struct sse_seen {
	int runs;
	int misaligned;		/* runs whose stack was not 16-byte aligned */
	uintptr_t rsp;		/* of the first misaligned one */
	int bad_text, bad_copy;
	char text[64];
};

static struct sse_seen seen[4];
enum { P_DIVIDE, P_PGFLT, P_USER_TRAP, P_USER_SYSCALL };
static const char *const path_name[] = {
	"ring-0 #DE", "ring-0 #PF (error code)", "ring-3 #UD", "ring-3 system call",
};

/* What a handler does: compiled code that uses SSE on the trap stack. */
static void __attribute__((noinline)) sse_work(struct sse_seen *s)
{
	char text[64], want[64];
	int r = s->runs++;
	volatile double d = 2.5 + r;	/* x.5: exact in binary */
	uint64_t probe[2] __attribute__((aligned(16)));

	/* the compiler assumes this frame 16-byte aligned, so probe is at a
	 * multiple of 16 exactly when the stack was aligned on entry */
	if ((uintptr_t)probe & 15) {
		if (!s->misaligned++)
			s->rsp = (uintptr_t)probe;
		return;		/* (SSE moves to the stack would #GP here) */
	}
	__asm__ volatile("pxor %%xmm0, %%xmm0\n\tmovaps %%xmm0, %0" : "=m"(probe) : : "xmm0");
	snprintf(text, sizeof(text), "%.3f|%.1f|%g", d, d * 2, d / 4);
	snprintf(s->text, sizeof(s->text), "%s", text);
	/* the same numbers, formatted without floating point */
	snprintf(want, sizeof(want), "%d.500|%d.0|", 2 + r, 5 + 2 * r);
	if (strncmp(text, want, strlen(want)) || probe[0] || probe[1])
		s->bad_text++;
	memset(big_src, 0x5a ^ s->runs, BIG);
	big_src[BIG / 3] = (char)s->runs;
	memcpy(big_dst, big_src, BIG);
	if (memcmp(big_dst, big_src, BIG))
		s->bad_copy++;
}

static void on_divide(struct dune_tf *tf)
{
	sse_work(&seen[P_DIVIDE]);
	tf->rip += 2;		/* skip `div %ecx` */
}

static char *pf_page;

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)fec;
	(void)tf;
	sse_work(&seen[P_PGFLT]);
	if (addr == (uintptr_t)pf_page) {
		dune_vm_mprotect(pgroot, pf_page, PGSIZE, PERM_R | PERM_W);
		dune_flush_tlb_one((unsigned long)pf_page);
	}
}

static void on_user_ud(struct dune_tf *tf)
{
	(void)tf;
	sse_work(&seen[P_USER_TRAP]);
	dune_ret_from_user(3);
}

static void on_user_syscall(struct dune_tf *tf)
{
	sse_work(&seen[P_USER_SYSCALL]);
	dune_ret_from_user((int)tf->rax);
}

static void __attribute__((noinline)) user_ud2(void)
{
	__asm__ volatile("ud2");
}

static void __attribute__((noinline)) user_syscall(void)
{
	__asm__ volatile("mov $1001, %%eax\n\tsyscall" : : : "rax", "rcx", "r11", "memory");
	for (;;)
		;
}

static char ustack[65536] __attribute__((aligned(16)));

/* ring 3 at @fn; @skew: its stack pointer mod 16 (a trap on the way into
 * a handler must not depend on it) */
static int run_user(void (*fn)(void), unsigned int skew)
{
	struct dune_tf tf;

	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)fn;
	tf.rsp = (uintptr_t)(ustack + sizeof(ustack) - 64 - skew);
	tf.rflags = 0x202;
	return dune_jump_to_user(&tf);
}

/* a #DE with the interrupted code's stack pointer at @skew mod 16 */
static void __attribute__((noinline)) divide_skewed(unsigned int skew)
{
	__asm__ volatile("mov %%rsp, %%r11\n\t"
			 "and $-16, %%rsp\n\t"
			 "sub %q0, %%rsp\n\t"
			 "push %%r11\n\t"
			 "sub $8, %%rsp\n\t"	/* rsp = aligned - skew - 16 */
			 "xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t"
			 "div %%ecx\n\t"
			 "add $8, %%rsp\n\t"
			 "pop %%rsp"
			 : : "r"((unsigned long)skew) : "rax", "rcx", "rdx", "r11", "memory");
}

CTEST(trap_sse_handler,
      .id = "api.trap.sse_handler",
      .profile = "traps",
      .what = "handlers run compiled SSE code on the trap stack (snprintf of doubles, a 256 KiB memcpy, a movaps to the stack) with the stack 16-byte aligned as the x86-64 ABI requires: from a ring-0 #DE and #PF (error code) and a ring-3 #UD and system call, whatever the interrupted code's stack alignment",
      .needs = "dune")
{
	unsigned int skews[] = { 0, 8, 4, 12 };

	ENTER();
	dune_register_intr_handler(T_DIVIDE, on_divide);
	dune_register_pgflt_handler(on_pgflt);
	dune_register_intr_handler(T_ILLOP, on_user_ud);
	dune_register_syscall_handler(on_user_syscall);
	pf_page = mmap(NULL, PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(pf_page != MAP_FAILED, "mmap: %s", strerror(errno));
	pf_page[0] = 1;
	for (size_t i = 0; i < sizeof(skews) / sizeof(skews[0]); i++) {
		divide_skewed(skews[i]);
		CT_ASSERT_EQ(dune_vm_mprotect(pgroot, pf_page, PGSIZE, PERM_R), 0);
		dune_flush_tlb_one((unsigned long)pf_page);
		*(volatile char *)pf_page = (char)i;	/* #PF, handled: mapped writable again */
		CT_EXPECT_EQ(run_user(user_ud2, skews[i]), 3);
		CT_EXPECT_EQ(run_user(user_syscall, skews[i]), 1001);
	}
	for (int p = 0; p < 4; p++) {
		const struct sse_seen *s = &seen[p];

		CT_EXPECT(s->runs >= 4, "%s: the handler ran %d times, want 4 or more", path_name[p], s->runs);
		CT_EXPECT(!s->misaligned, "%s: %d of %d runs on a misaligned stack (a 16-byte aligned local at %#lx)",
			  path_name[p], s->misaligned, s->runs, (unsigned long)s->rsp);
		CT_EXPECT(!s->bad_text, "%s: snprintf of a double in the handler gave '%s'", path_name[p],
			  s->text);
		CT_EXPECT(!s->bad_copy, "%s: memcpy in the handler copied wrong", path_name[p]);
	}
	printf("api.trap.sse_handler: last text '%s'\n", seen[P_USER_SYSCALL].text);
}

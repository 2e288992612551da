// SPDX-License-Identifier: MIT
/* user.c - ring 3: dune_jump_to_user, syscall handler, passthrough, ret_from_user */
#include "common.h"

#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAGIC_DONE	1000

static volatile long seen_nr, seen_args[6], passthrough_ret;
static volatile uint64_t seen_rip, seen_after, usys_after;

static void syscall_handler(struct dune_tf *tf)
{
	if (tf->rax == MAGIC_DONE)
		dune_ret_from_user((int)ARG0(tf));
	seen_nr = (long)tf->rax;
	seen_args[0] = (long)ARG0(tf);
	seen_args[1] = (long)ARG1(tf);
	seen_args[2] = (long)ARG2(tf);
	seen_args[3] = (long)ARG3(tf);
	seen_args[4] = (long)ARG4(tf);
	seen_args[5] = (long)ARG5(tf);
	/* (not tf->cs: the original's ring-3 system call entry leaves it unset;
	 * that this handler runs at all says the call came from ring 3) */
	seen_rip = tf->rip;
	seen_after = usys_after;
	dune_passthrough_syscall(tf);
	passthrough_ret = (long)tf->rax;
}

static long usys(long nr, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;
	uint64_t t;

	/* usys_after: where the system call returns to (the frame's RIP) */
	__asm__ volatile("lea 1f(%%rip), %[t]\n\tmov %[t], %[after]\n\tsyscall\n1:"
			 : "=a"(ret), [t] "=&r"(t), [after] "=m"(usys_after)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/* runs in ring 3 */
static void __attribute__((noinline)) user_main(void)
{
	long pid = usys(SYS_getpid, 11, 22, 33, 44, 55, 66);

	usys(MAGIC_DONE, pid, 0, 0, 0, 0, 0);
	for (;;)
		;
}

static char ustack[65536] __attribute__((aligned(16)));

static void user_tf(struct dune_tf *tf, void (*fn)(void))
{
	memset(tf, 0, sizeof(*tf));
	tf->rip = (uintptr_t)fn;
	tf->rsp = (uintptr_t)(ustack + sizeof(ustack) - 8);
	tf->rflags = 0x202;
}

CTEST(user_syscall,
      .id = "api.user.syscall",
      .profile = "user",
      .what = "code run with dune_jump_to_user makes a syscall from ring 3; the handler sees its number, arguments and return address (RIP), passthrough returns the right value, ret_from_user returns to the caller",
      .needs = "dune")
{
	struct dune_tf tf;
	int ret;

	ENTER();
	dune_register_syscall_handler(syscall_handler);
	user_tf(&tf, user_main);
	ret = dune_jump_to_user(&tf);
	CT_EXPECT_EQ(seen_nr, SYS_getpid);
	CT_EXPECT_EQ(seen_args[0], 11);
	CT_EXPECT_EQ(seen_args[1], 22);
	CT_EXPECT_EQ(seen_args[2], 33);
	CT_EXPECT_EQ(seen_args[3], 44);
	CT_EXPECT_EQ(seen_args[4], 55);
	CT_EXPECT_EQ(seen_args[5], 66);
	CT_EXPECT_EQ(seen_rip, seen_after);
	CT_EXPECT_EQ(passthrough_ret, getpid());
	CT_EXPECT_EQ(ret, getpid());
	CT_EXPECT_EQ(read_cs() & 3, 0);
	/* and again: ring-0 state is intact */
	seen_nr = 0;
	user_tf(&tf, user_main);
	CT_EXPECT_EQ(dune_jump_to_user(&tf), getpid());
}

/*
 * All six arguments of a passed-through call reach the kernel: pread64
 * (offset = 4th argument, r10 in ring 3, rcx in the trap frame) and mmap
 * (six arguments: a fixed address, length, prot, flags, fd, offset).
 */
static int pt_fd;
static char pt_buf[8];
static void *pt_addr;
static long pt_pread, pt_mmap;

static void __attribute__((noinline)) user_passthrough(void)
{
	pt_pread = usys(SYS_pread64, pt_fd, (long)pt_buf, 4, 2, 0, 0);
	pt_mmap = usys(SYS_mmap, (long)pt_addr, 4096, PROT_READ, MAP_PRIVATE | MAP_FIXED,
		       pt_fd, 4096);
	usys(MAGIC_DONE, 1, 0, 0, 0, 0, 0);
	for (;;)
		;
}

CTEST(user_passthrough_args,
      .id = "api.user.passthrough_args",
      .profile = "user",
      .what = "dune_passthrough_syscall passes all six arguments: a ring-3 pread64 reads at its offset (4th argument), a six-argument mmap maps the file page at its offset",
      .needs = "dune")
{
	char path[] = "/tmp/dune-pt-XXXXXX", page[8192];
	struct dune_tf tf;
	int i;

	for (i = 0; i < (int)sizeof(page); i++)
		page[i] = i < 4096 ? "ABCDEFGH"[i % 8] : 'Z';
	pt_fd = mkstemp(path);
	CT_ASSERT(pt_fd >= 0, "mkstemp: %s", strerror(errno));
	unlink(path);
	CT_ASSERT_EQ(write(pt_fd, page, sizeof(page)), (long)sizeof(page));
	pt_addr = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(pt_addr != MAP_FAILED, "mmap: %s", strerror(errno));

	ENTER();
	dune_register_syscall_handler(syscall_handler);
	user_tf(&tf, user_passthrough);
	CT_EXPECT_EQ(dune_jump_to_user(&tf), 1);
	CT_EXPECT_EQ(pt_pread, 4);
	CT_EXPECT(!memcmp(pt_buf, "CDEF", 4), "pread64 at offset 2 read '%.4s', want 'CDEF'", pt_buf);
	CT_EXPECT_EQ(pt_mmap, (long)pt_addr);
	if (pt_mmap == (long)pt_addr)
		CT_EXPECT(((char *)pt_addr)[0] == 'Z', "the mmap at file offset 4096 shows '%c', want 'Z'",
			  ((char *)pt_addr)[0]);
	close(pt_fd);
}

static volatile int trap_cs;

static void illop_handler(struct dune_tf *tf)
{
	trap_cs = tf->cs;
	dune_ret_from_user(77);
}

static void __attribute__((noinline)) user_ud2(void)
{
	__asm__ volatile("ud2");
}

CTEST(user_exception,
      .id = "api.user.exception",
      .profile = "user",
      .what = "an invalid opcode in ring 3 reaches the registered T_ILLOP handler, whose ret_from_user value comes back",
      .needs = "dune")
{
	struct dune_tf tf;

	ENTER();
	dune_register_intr_handler(T_ILLOP, illop_handler);
	user_tf(&tf, user_ud2);
	CT_EXPECT_EQ(dune_jump_to_user(&tf), 77);
	CT_EXPECT_EQ(trap_cs & 3, 3);
}

static volatile uintptr_t ubp_rip, ubp_after;
static volatile uint16_t ubp_cs;
static volatile int ubp_count;

static void user_breakpoint_handler(struct dune_tf *tf)
{
	ubp_count++;
	ubp_rip = tf->rip;
	ubp_cs = tf->cs;
}

/* runs in ring 3: int3, then report where it should have resumed */
static void __attribute__((noinline)) user_int3(void)
{
	ubp_after = int3_here();
	usys(MAGIC_DONE, 5, 0, 0, 0, 0, 0);
}

CTEST(user_breakpoint,
      .id = "api.user.breakpoint",
      .profile = "user",
      .what = "an int3 in ring 3 reaches the T_BRKPT handler with a ring-3 frame whose RIP is just past it; returning resumes ring 3 there",
      .needs = "dune")
{
	struct dune_tf tf;

	ENTER();
	dune_register_syscall_handler(syscall_handler);
	dune_register_intr_handler(T_BRKPT, user_breakpoint_handler);
	user_tf(&tf, user_int3);
	CT_ASSERT_EQ(dune_jump_to_user(&tf), 5);
	CT_EXPECT_EQ(ubp_count, 1);
	CT_EXPECT_EQ(ubp_cs & 3, 3);
	CT_EXPECT_EQ(ubp_rip, ubp_after);
}

static volatile unsigned long user_fs_seen;

static void __attribute__((noinline)) user_read_fs(void)
{
	unsigned long v;

	__asm__ volatile("mov %%fs:0, %0" : "=r"(v));
	usys(MAGIC_DONE, (long)(v == 0x1234abcdUL), 0, 0, 0, 0, 0);
}

static unsigned long fake_tls[8] __attribute__((aligned(64))) = { 0x1234abcdUL };

CTEST(user_fs,
      .id = "api.user.fs_base",
      .profile = "user",
      .what = "dune_set_user_fs sets the FS base ring-3 code sees; ring 0 keeps its own TLS",
      .needs = "dune")
{
	struct dune_tf tf;
	unsigned long old;
	static __thread int tls_probe = 5;

	ENTER();
	dune_register_syscall_handler(syscall_handler);
	old = dune_get_user_fs();
	dune_set_user_fs((uintptr_t)fake_tls);
	CT_EXPECT_EQ(dune_get_user_fs(), (uintptr_t)fake_tls);
	user_tf(&tf, user_read_fs);
	CT_EXPECT_EQ(dune_jump_to_user(&tf), 1);
	CT_EXPECT_EQ(tls_probe, 5);
	dune_set_user_fs(old);
	(void)user_fs_seen;
}

/*
 * A trap from ring 3 and back: ring 3 sets every general-purpose register
 * and DF, runs ud2, and stores what it has after the handler returned.
 */
static volatile uint64_t ts_regs[15], ts_flags, ts_rsp, ts_fs0;
static volatile uint64_t ts_h_flags, ts_h_cs;
static volatile int ts_h_tls;
static __thread int ts_tls = 7;

#define TS_VAL(i) (0x0123456789ab0000ULL + 0x1111 * (i))
void ts_user(void);
__asm__(".text\n"
	"ts_user:\n"
	"	std\n"
	"	movabs $0x0123456789ab0000, %rax\n"
	"	movabs $0x0123456789ab1111, %rbx\n"
	"	movabs $0x0123456789ab2222, %rcx\n"
	"	movabs $0x0123456789ab3333, %rdx\n"
	"	movabs $0x0123456789ab4444, %rsi\n"
	"	movabs $0x0123456789ab5555, %rdi\n"
	"	movabs $0x0123456789ab6666, %rbp\n"
	"	movabs $0x0123456789ab7777, %r8\n"
	"	movabs $0x0123456789ab8888, %r9\n"
	"	movabs $0x0123456789ab9999, %r10\n"
	"	movabs $0x0123456789abaaaa, %r11\n"
	"	movabs $0x0123456789abbbbb, %r12\n"
	"	movabs $0x0123456789abcccc, %r13\n"
	"	movabs $0x0123456789abdddd, %r14\n"
	"	movabs $0x0123456789abeeee, %r15\n"
	"	ud2\n"
	"	mov %rax, ts_regs+0(%rip)\n"
	"	mov %rbx, ts_regs+8(%rip)\n"
	"	mov %rcx, ts_regs+16(%rip)\n"
	"	mov %rdx, ts_regs+24(%rip)\n"
	"	mov %rsi, ts_regs+32(%rip)\n"
	"	mov %rdi, ts_regs+40(%rip)\n"
	"	mov %rbp, ts_regs+48(%rip)\n"
	"	mov %r8, ts_regs+56(%rip)\n"
	"	mov %r9, ts_regs+64(%rip)\n"
	"	mov %r10, ts_regs+72(%rip)\n"
	"	mov %r11, ts_regs+80(%rip)\n"
	"	mov %r12, ts_regs+88(%rip)\n"
	"	mov %r13, ts_regs+96(%rip)\n"
	"	mov %r14, ts_regs+104(%rip)\n"
	"	mov %r15, ts_regs+112(%rip)\n"
	"	mov %rsp, ts_rsp(%rip)\n"
	"	pushfq\n"
	"	pop %rax\n"
	"	mov %rax, ts_flags(%rip)\n"
	"	cld\n"
	"	mov %fs:0, %rax\n"
	"	mov %rax, ts_fs0(%rip)\n"
	"	mov $1000, %eax\n"		/* MAGIC_DONE */
	"	mov $9, %edi\n"
	"	syscall\n"
	"1:	jmp 1b\n");

static void ts_handler(struct dune_tf *tf)
{
	uint64_t fl;

	__asm__ volatile("pushfq; pop %0" : "=r"(fl));
	ts_h_flags = fl;
	ts_h_cs = tf->cs;
	ts_h_tls = ts_tls;
	tf->rip += 2;
}

CTEST(user_trap_state,
      .id = "api.user.trap_state",
      .profile = "user",
      .what = "an exception from ring 3 whose handler returns resumes ring 3 after it with every general-purpose register, the stack pointer, RFLAGS.DF and the FS base set with dune_set_user_fs as they were; the handler runs with ring 0's TLS and DF clear",
      .needs = "dune")
{
	struct dune_tf tf;
	unsigned long old;

	ENTER();
	dune_register_syscall_handler(syscall_handler);
	dune_register_intr_handler(T_ILLOP, ts_handler);
	old = dune_get_user_fs();
	dune_set_user_fs((uintptr_t)fake_tls);
	user_tf(&tf, ts_user);
	CT_ASSERT_EQ(dune_jump_to_user(&tf), 9);
	dune_set_user_fs(old);
	for (int i = 0; i < 15; i++)
		CT_EXPECT(ts_regs[i] == TS_VAL(i), "register %d after the trap: %#lx, want %#llx", i,
			  (unsigned long)ts_regs[i], TS_VAL(i));
	CT_EXPECT_EQ(ts_rsp, tf.rsp);
	CT_EXPECT(ts_flags & 0x400, "DF is clear in ring 3 after the trap (rflags %#lx)",
		  (unsigned long)ts_flags);
	CT_EXPECT_EQ(ts_fs0, 0x1234abcdUL);
	CT_EXPECT_EQ(ts_h_cs & 3, 3);
	CT_EXPECT(!(ts_h_flags & 0x400), "the handler ran with DF set (rflags %#lx)",
		  (unsigned long)ts_h_flags);
	CT_EXPECT_EQ(ts_h_tls, 7);
	CT_EXPECT_EQ(ts_tls, 7);
}

/*
 * dunebench: ring 3's GS base is its own and survives a trap (ring 3 sets
 * it with WRGSBASE where the guest has CR4.FSGSBASE).
 */
static volatile uint64_t tg_after;
static volatile int tg_count;
static char tg_area[64];

void tg_user(void);
__asm__(".text\n"
	"tg_user:\n"
	"	lea tg_area(%rip), %rax\n"
	"	wrgsbase %rax\n"
	"	ud2\n"
	"	ud2\n"
	"	rdgsbase %rax\n"
	"	mov %rax, tg_after(%rip)\n"
	"	mov $1000, %eax\n"		/* MAGIC_DONE */
	"	mov $10, %edi\n"
	"	syscall\n"
	"1:	jmp 1b\n");

static void tg_handler(struct dune_tf *tf)
{
	tg_count++;
	tf->rip += 2;
}

CTEST(user_trap_gs,
      .id = "api.user.trap_gs_base",
      .profile = "user",
      .what = "(extension) ring 3's own GS base (set with WRGSBASE where the guest has CR4.FSGSBASE) is the same after two exceptions from ring 3 whose handlers return, and ring 0 keeps its own",
      .needs = "dune")
{
	struct dune_tf tf;
	uint64_t cr4;

	ENTER();
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	if (!(cr4 & (1UL << 16)))
		CT_SKIP("the guest has no CR4.FSGSBASE here: ring 3 cannot set its GS base with WRGSBASE");
	dune_register_syscall_handler(syscall_handler);
	dune_register_intr_handler(T_ILLOP, tg_handler);
	user_tf(&tf, tg_user);
	CT_ASSERT_EQ(dune_jump_to_user(&tf), 10);
	CT_EXPECT_EQ(tg_count, 2);
	CT_EXPECT_EQ(tg_after, (uintptr_t)tg_area);
	CT_EXPECT_EQ(ts_tls, 7);
	CT_EXPECT_EQ(syscall(SYS_getpid), getpid());
}

/*
 * A handler that makes the ring-3 frame one IRETQ cannot enter: libdune
 * reports it to the vector-13 handler as a ring-3 #GP with error code 0
 * and that frame, and enters it once that handler made it sound.
 */
enum { BF_RIP, BF_CS, BF_SS, BF_CS_LIMIT, BF_N };
static volatile int bf_case, bf_gp_count;
static volatile uint64_t bf_gp_rip, bf_gp_cs, bf_gp_ss, bf_gp_err;

void bf_user(void);
void bf_resume(void);
__asm__(".text\n"
	"bf_user:\n"
	"	ud2\n"
	"	jmp bf_user\n"
	"bf_resume:\n"
	"	mov $1000, %eax\n"		/* MAGIC_DONE */
	"	mov $0x42, %edi\n"
	"	syscall\n"
	"1:	jmp 1b\n");

static void bf_ud(struct dune_tf *tf)
{
	switch (bf_case) {
	case BF_RIP:
		tf->rip = 0x0000800000000000ULL;	/* not canonical */
		break;
	case BF_CS:
		tf->cs = GD_UD | 3;			/* a data segment */
		break;
	case BF_SS:
		tf->ss = GD_UT | 3;			/* a code segment */
		break;
	default:
		tf->cs = 0x400 | 3;			/* beyond the GDT */
		break;
	}
}

static void bf_gp(struct dune_tf *tf)
{
	bf_gp_count++;
	bf_gp_rip = tf->rip;
	bf_gp_cs = tf->cs;
	bf_gp_ss = tf->ss;
	bf_gp_err = tf->err;
	tf->rip = (uintptr_t)bf_resume;
	tf->cs = GD_UT | 3;
	tf->ss = GD_UD | 3;
}

static void bf_child(void *arg)
{
	struct dune_tf tf;

	(void)arg;
	dup2(2, 1);	/* dune_printf's report too */
	if (dune_init_and_enter())
		_exit(3);
	bf_case = BF_RIP;
	dune_register_intr_handler(T_ILLOP, bf_ud);
	user_tf(&tf, bf_user);
	dune_jump_to_user(&tf);
	_exit(4);
}

CTEST(user_bad_frame,
      .id = "api.user.bad_frame",
      .profile = "user",
      .what = "(extension) a handler that returns to a ring-3 frame IRETQ cannot enter (RIP not canonical, CS a data segment or beyond the GDT, SS a code segment) has it reported to the vector-13 handler as a ring-3 #GP with that frame and error code 0; once that handler made it sound ring 3 goes on there, and ring 0 is intact; without a #GP handler the process ends with status 139 and says why",
      .needs = "dune")
{
	static const uint64_t want_rip = 0x0000800000000000ULL;
	char err[2048];
	struct dune_tf tf;
	int st;

	st = run_capturing_stderr(bf_child, NULL, err, sizeof(err));
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 139,
		  "without a #GP handler: wait status %#x, want exit 139", st);
	CT_EXPECT(strstr(err, "ring 3") != NULL, "without a #GP handler: no report (output: %.300s)", err);
	ENTER();
	dune_register_syscall_handler(syscall_handler);
	dune_register_intr_handler(T_ILLOP, bf_ud);
	dune_register_intr_handler(T_GPFLT, bf_gp);
	for (int c = 0; c < BF_N; c++) {
		bf_case = c;
		bf_gp_count = 0;
		user_tf(&tf, bf_user);
		CT_EXPECT(dune_jump_to_user(&tf) == 0x42, "case %d: ring 3 did not go on", c);
		CT_EXPECT(bf_gp_count == 1, "case %d: %d #GP reports, want 1", c, bf_gp_count);
		CT_EXPECT(bf_gp_err == 0, "case %d: error code %#lx", c, (unsigned long)bf_gp_err);
		CT_EXPECT((bf_gp_cs & 3) == 3, "case %d: the #GP frame's CS %#lx is not ring 3's", c,
			  (unsigned long)bf_gp_cs);
		if (c == BF_RIP)
			CT_EXPECT(bf_gp_rip == want_rip, "case %d: #GP frame rip %#lx", c,
				  (unsigned long)bf_gp_rip);
		else
			CT_EXPECT(bf_gp_rip == (uintptr_t)bf_user, "case %d: #GP frame rip %#lx, want %#lx",
				  c, (unsigned long)bf_gp_rip, (unsigned long)(uintptr_t)bf_user);
		if (c == BF_CS)
			CT_EXPECT_EQ(bf_gp_cs, GD_UD | 3);
		if (c == BF_CS_LIMIT)
			CT_EXPECT_EQ(bf_gp_cs, 0x400 | 3);
		CT_EXPECT_EQ(bf_gp_ss, c == BF_SS ? GD_UT | 3 : GD_UD | 3);
		CT_EXPECT_EQ(ts_tls, 7);
		CT_EXPECT_EQ(syscall(SYS_getpid), getpid());
	}
}

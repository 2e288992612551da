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

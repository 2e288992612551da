// SPDX-License-Identifier: MIT
/* core.c - entering Dune mode, traps, forwarded system calls */
#include "common.h"

#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

static volatile int divide_caught;

static void divide_by_zero_handler(struct dune_tf *tf)
{
	dune_printf("hello: caught divide by zero!\n");
	divide_caught = 1;
	tf->rip += 2;		/* skip `div %ecx` */
}

CTEST(init_hello,
      .id = "api.init.hello",
      .profile = "core",
      .what = "after dune_init_and_enter, a divide by zero reaches the T_DIVIDE handler, which returns past it",
      .needs = "dune")
{
	ENTER();
	CT_EXPECT_EQ(read_cs() & 3, 0);
	dune_register_intr_handler(T_DIVIDE, divide_by_zero_handler);
	divide_by_zero();
	CT_ASSERT(divide_caught, "the handler did not run");
	printf("hello: recovered from divide by zero\n");
}

static volatile int bp_count;
static volatile uintptr_t bp_rip, bp_rips[4], bp_rsps[4];
static volatile uint16_t bp_cs;

static void breakpoint_handler(struct dune_tf *tf)
{
	if (bp_count < 4) {
		bp_rips[bp_count] = tf->rip;
		bp_rsps[bp_count] = tf->rsp;
	}
	bp_count++;
	bp_rip = tf->rip;
	bp_cs = tf->cs;
}

CTEST(trap_breakpoint,
      .id = "api.trap.breakpoint",
      .profile = "traps",
      .what = "an int3 in guest ring 0 reaches the T_BRKPT handler with RIP just past it (as native #BP delivery); returning resumes there, twice in a row",
      .needs = "dune")
{
	uintptr_t after1, after2;

	ENTER();
	dune_register_intr_handler(T_BRKPT, breakpoint_handler);
	after1 = int3_here();
	CT_ASSERT(bp_count == 1, "one int3 (next rip %#lx), %d deliveries: rip/rsp %#lx/%#lx, %#lx/%#lx",
		  (unsigned long)after1, bp_count, (unsigned long)bp_rips[0], (unsigned long)bp_rsps[0],
		  (unsigned long)bp_rips[1], (unsigned long)bp_rsps[1]);
	CT_EXPECT_EQ(bp_rip, after1);
	CT_EXPECT_EQ(bp_cs & 3, 0);
	after2 = int3_here();
	CT_ASSERT_EQ(bp_count, 2);
	CT_EXPECT_EQ(bp_rip, after2);
}

static volatile int apic_helpers_got;

static void apic_helpers_handler(struct dune_tf *tf)
{
	(void)tf;
	apic_helpers_got++;
	dune_apic_eoi();
}

CTEST(apic_helpers,
      .id = "api.apic.helpers",
      .profile = "apic",
      .what = "the APIC helpers either work (dune_apic_supported: this vCPU's id is recorded for the CPU it runs on, and an IPI to it runs its handler once interrupts are on) or report unsupported: UINT32_MAX ids, *error set, send_ipi/eoi return without touching an APIC",
      .needs = "dune")
{
	bool err = false;
	uint32_t id;

	NEED_EXT(dune_apic_supported);
	ENTER();
	dune_apic_init_rt_entry();
	id = dune_apic_id();
	if (dune_apic_supported()) {
		unsigned int cpu = 0;

		CT_ASSERT(id != UINT32_MAX, "dune_apic_id() on a backend with an APIC returned UINT32_MAX");
		CT_ASSERT_EQ(syscall(SYS_getcpu, &cpu, NULL, NULL), 0);
		CT_EXPECT_EQ(dune_apic_id_for_cpu(cpu, &err), id);
		CT_EXPECT(!err, "dune_apic_id_for_cpu(%u) set *error after dune_apic_init_rt_entry", cpu);
		CT_ASSERT_EQ(dune_register_intr_handler(0x52, apic_helpers_handler), 0);
		dune_apic_send_ipi(0x52, id);
		for (long i = 0; i < 100000000L && !apic_helpers_got; i++)
			__asm__ volatile("pushf; sti; nop; nop; popf" ::: "memory", "cc");
		CT_EXPECT_EQ(apic_helpers_got, 1);
		return;
	}
	CT_EXPECT_EQ(id, UINT32_MAX);
	CT_EXPECT_EQ(dune_apic_id_for_cpu(0, &err), UINT32_MAX);
	CT_EXPECT(err, "dune_apic_id_for_cpu left *error unset without an APIC");
	dune_apic_send_ipi(0xf2, 0);	/* a wrmsr to the ICR here would #GP the guest */
	dune_apic_eoi();
	CT_EXPECT_EQ(getppid() > 0, 1);	/* still in Dune mode and making syscalls */
}

static jmp_buf pop_env;
static volatile long pop_seen[3];
static volatile uint16_t pop_cs;
static char pop_stack[16384] __attribute__((aligned(16)));

static void __attribute__((noreturn, noinline)) pop_landing(long a, long b, long c)
{
	pop_seen[0] = a;
	pop_seen[1] = b;
	pop_seen[2] = c;
	pop_cs = read_cs();
	longjmp(pop_env, 1);
}

CTEST(trap_pop_trap_frame,
      .id = "api.trap.pop_trap_frame",
      .profile = "traps",
      .what = "dune_pop_trap_frame on a ring-0 frame resumes at its RIP on its stack with its registers (rdi, rsi, rdx) in ring 0",
      .needs = "dune")
{
	static struct dune_tf tf;
	uint64_t rflags;

	ENTER();
	if (setjmp(pop_env) == 0) {
		__asm__ volatile("pushfq\n\tpop %0" : "=r"(rflags));
		memset(&tf, 0, sizeof(tf));
		tf.rip = (uintptr_t)pop_landing;
		tf.cs = GD_KT;
		tf.ss = GD_KD;
		tf.rsp = (uintptr_t)(pop_stack + sizeof(pop_stack) - 8);	/* as after a call */
		tf.rflags = rflags;
		tf.rdi = 0x1111;
		tf.rsi = 0x2222;
		tf.rdx = 0x3333;
		dune_pop_trap_frame(&tf);
	}
	CT_EXPECT_EQ(pop_seen[0], 0x1111);
	CT_EXPECT_EQ(pop_seen[1], 0x2222);
	CT_EXPECT_EQ(pop_seen[2], 0x3333);
	CT_EXPECT_EQ(pop_cs & 3, 0);
}

static char dump_out[8192];
static volatile uintptr_t dump_rip;

/* distinct values for the dumped copy's general-purpose registers */
#define DUMP_REG(i)	(0x5a17000000000000UL + 0x1111111111UL * (i))

static void dump_handler(struct dune_tf *tf)
{
	char path[] = "/tmp/dune-conform-dump-XXXXXX";
	int fd = mkstemp(path), saved = dup(1);
	struct dune_tf copy = *tf;
	ssize_t n;

	dump_rip = tf->rip;
	/* a copy with known register values (RIP and RSP stay real: a dump
	 * may show the code and the stack there) */
	copy.rax = DUMP_REG(0);
	copy.rbx = DUMP_REG(1);
	copy.rcx = DUMP_REG(2);
	copy.rdx = DUMP_REG(3);
	copy.rsi = DUMP_REG(4);
	copy.rdi = DUMP_REG(5);
	copy.rbp = DUMP_REG(6);
	copy.r8 = DUMP_REG(7);
	copy.r9 = DUMP_REG(8);
	copy.r10 = DUMP_REG(9);
	copy.r11 = DUMP_REG(10);
	copy.r12 = DUMP_REG(11);
	copy.r13 = DUMP_REG(12);
	copy.r14 = DUMP_REG(13);
	copy.r15 = DUMP_REG(14);
	fflush(stdout);
	dup2(fd, 1);
	dune_dump_trap_frame(&copy);
	dup2(saved, 1);
	close(saved);
	n = pread(fd, dump_out, sizeof(dump_out) - 1, 0);
	dump_out[n > 0 ? n : 0] = 0;
	close(fd);
	unlink(path);
	tf->rip += 2;		/* skip `div %ecx` */
}

/* @v in hexadecimal (any case, any zero padding) somewhere in dump_out */
static bool dump_has_hex(uint64_t v)
{
	char want[32];

	snprintf(want, sizeof(want), "%lx", (unsigned long)v);
	return strcasestr(dump_out, want) != NULL;
}

CTEST(trap_dump_trap_frame,
      .id = "api.trap.dump_trap_frame",
      .profile = "traps",
      .what = "dune_dump_trap_frame, called from a handler in Dune mode, returns and prints the frame on stdout: its RIP and the values of its general-purpose registers (in hexadecimal, in any layout)",
      .needs = "dune")
{
	ENTER();
	dune_register_intr_handler(T_DIVIDE, dump_handler);
	divide_by_zero();
	CT_ASSERT(dump_rip != 0, "the T_DIVIDE handler did not run");
	CT_ASSERT(dump_out[0] != 0, "nothing printed on stdout");
	CT_EXPECT(dump_has_hex(dump_rip), "no RIP %#lx in '%s'", (unsigned long)dump_rip, dump_out);
	for (int i = 0; i < 15; i++)
		CT_EXPECT(dump_has_hex(DUMP_REG(i)), "register %d's value %#lx not in '%s'", i,
			  (unsigned long)DUMP_REG(i), dump_out);
}

static void *enter_ex_thread(void *arg)
{
	void *pc = dune_alloc_percpu();
	long *res = arg;

	if (!pc) {
		res[0] = -ENOMEM;
		return NULL;
	}
	res[0] = dune_enter_ex(pc);
	res[1] = conf_in_guest();
	res[2] = syscall(SYS_gettid);
	res[3] = read_cs() & 3;
	return NULL;
}

CTEST(init_enter_ex,
      .id = "api.init.enter_ex",
      .profile = "core",
      .what = "(extension) a second thread enters with its own dune_alloc_percpu area through dune_enter_ex: 0, in the guest in ring 0, and its system calls are its own (gettid)",
      .needs = "dune")
{
	pthread_t t;
	long res[4] = { 1, 0, 0, 1 };

	NEED_EXT(dune_alloc_percpu);
	NEED_EXT(dune_enter_ex);
	ENTER();
	CT_ASSERT_EQ(pthread_create(&t, NULL, enter_ex_thread, res), 0);
	pthread_join(t, NULL);
	CT_EXPECT_EQ(res[0], 0);
	CT_EXPECT_EQ(res[1], 1);
	CT_EXPECT(res[2] > 0 && res[2] != getpid(), "gettid in the thread returned %ld (pid %d)", res[2],
		  (int)getpid());
	CT_EXPECT_EQ(res[3], 0);
}

CTEST(syscall_dune_mmap,
      .id = "api.syscall.dune_mmap",
      .profile = "core",
      .what = "dune_mmap in Dune mode maps fresh anonymous memory the guest can write and read at once, and returns a bad call's -errno as the pointer (as the original)",
      .needs = "dune")
{
	volatile char *p;

	ENTER();
	p = dune_mmap(NULL, 2 * PGSIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT((uintptr_t)p < -4096UL, "dune_mmap: %s", strerror((int)-(long)p));
	p[0] = 'a';
	p[PGSIZE] = 'b';
	CT_EXPECT(p[0] == 'a' && p[PGSIZE] == 'b', "the new pages do not keep what was written");
	CT_EXPECT_EQ(munmap((void *)p, 2 * PGSIZE), 0);
	CT_EXPECT_EQ((long)dune_mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), -EINVAL);
	CT_EXPECT_EQ((long)dune_mmap(NULL, PGSIZE, PROT_READ, MAP_SHARED, 987654, 0), -EBADF);
}

CTEST(vm_pcid,
      .id = "api.vm.pcid",
      .profile = "vm",
      .what = "dune_has_pcid agrees with the guest's CR4.PCIDE and is false on a CPU without PCID (CPUID.1:ECX[17])",
      .needs = "dune")
{
	uint32_t a = 1, b, c = 0, d;
	uint64_t cr4;

	NEED_EXT(dune_has_pcid);
	ENTER();
	__asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	CT_EXPECT_EQ(dune_has_pcid(), !!(cr4 & (1UL << 17)));
	if (!(c & (1U << 17)))
		CT_EXPECT(!dune_has_pcid(), "dune_has_pcid() is true on a CPU without PCID");
}

CTEST(init_die,
      .id = "api.init.die",
      .profile = "core",
      .what = "dune_die in Dune mode ends the process at once with exit status 1 (a forked child enters and dies; the parent sees the status)",
      .needs = "dune")
{
	int status = 0;
	pid_t pid = fork();

	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		if (dune_init_and_enter())
			_exit(3);
		dune_die();
		_exit(4);	/* not reached */
	}
	CT_ASSERT_EQ(waitpid(pid, &status, 0), pid);
	CT_EXPECT(WIFEXITED(status) && WEXITSTATUS(status) == 1, "the child ended with status %#x, want exit(1)",
		  status);
}

CTEST(init_bad_backend,
      .id = "api.init.bad_backend",
      .profile = "core",
      .what = "(extension) DUNE_BACKEND=bogus makes dune_init return -EINVAL (one line on stderr)")
{
	/* choosing a backend is dunebench's: dune_backend_name goes with it */
	NEED_EXT(dune_backend_name);
	setenv("DUNE_BACKEND", "bogus", 1);
	CT_ASSERT_EQ(dune_init(true), -EINVAL);
}

CTEST(init_emulated_kvm,
      .id = "api.init.kvm_emulated_refusal",
      .profile = "core",
      .what = "on a KVM that emulates guest ring 0, dune_init fails with -EOPNOTSUPP in well under a second",
      .needs = "kvm",
      .backends = "kvm")
{
	struct timespec a, b;
	int ret;

	setenv("DUNE_BACKEND", "kvm", 1);
	clock_gettime(CLOCK_MONOTONIC, &a);
	ret = dune_init(true);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (ret == 0)
		CT_SKIP("KVM runs guest ring 0 natively here");
	CT_EXPECT_EQ(ret, -EOPNOTSUPP);
	CT_EXPECT((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 1000000000L,
		  "took more than a second");
}

CTEST(syscall_printf,
      .id = "api.syscall.printf",
      .profile = "core",
      .what = "printf, malloc/free and getpid work in Dune mode through forwarded system calls",
      .needs = "dune")
{
	pid_t before = getpid();
	char *big;
	int i;

	ENTER();
	CT_EXPECT_EQ(getpid(), before);
	CT_EXPECT_EQ(syscall(SYS_getppid), getppid());
	printf("printf in Dune mode: %d %s %.3f\n", 42, "ok", 3.25);
	fflush(stdout);
	big = malloc(8 << 20);		/* mmap'd by malloc: tracked */
	CT_ASSERT(big != NULL);
	for (i = 0; i < (8 << 20); i += 4096)
		big[i] = (char)i;
	for (i = 0; i < (8 << 20); i += 4096)
		CT_ASSERT_EQ(big[i], (char)i);
	free(big);
	for (i = 0; i < 1000; i++)
		free(malloc((size_t)(i * 37 % 4000 + 1)));	/* brk heap */
}

CTEST(syscall_fileio,
      .id = "api.syscall.fileio",
      .profile = "core",
      .what = "open/write/lseek/read/unlink of a file work in Dune mode",
      .needs = "dune")
{
	char path[] = "/tmp/dune-fileio-XXXXXX", buf[64] = "";
	int fd;

	ENTER();
	fd = mkstemp(path);
	CT_ASSERT(fd >= 0, "mkstemp: %s", strerror(errno));
	CT_ASSERT_EQ(write(fd, "hello, dune\n", 12), 12);
	CT_ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	CT_ASSERT_EQ(read(fd, buf, sizeof(buf)), 12);
	CT_EXPECT(!memcmp(buf, "hello, dune\n", 12), "read back '%s'", buf);
	close(fd);
	CT_EXPECT_EQ(unlink(path), 0);
	FILE *f = fopen("/proc/self/status", "r");

	CT_ASSERT(f != NULL);
	CT_EXPECT(fgets(buf, sizeof(buf), f) != NULL);
	fclose(f);
}

/*
 * A file closed in Dune mode is released as on Linux: the last close of
 * a pipe's end is seen by the other end at once (EPIPE for a writer, EOF
 * for a reader), not only once the thread leaves Dune mode.  (Linux
 * finishes the release of a closed file on the way back to user space.)
 */
CTEST(syscall_pipe_close,
      .id = "api.syscall.pipe_close",
      .profile = "core",
      .what = "closing one end of a pipe in Dune mode gives the other end EPIPE / EOF at once",
      .needs = "dune")
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	int p[2], q[2];
	char c;

	CT_ASSERT_EQ(sigaction(SIGPIPE, &ign, &old), 0);
	ENTER();
	CT_ASSERT_EQ(pipe(p), 0);
	CT_ASSERT_EQ(close(p[0]), 0);
	errno = 0;
	CT_EXPECT(write(p[1], "x", 1) == -1 && errno == EPIPE,
		  "write to a pipe whose reader was closed: want -1/EPIPE, got errno %d (%s)",
		  errno, strerror(errno));
	close(p[1]);
	CT_ASSERT_EQ(pipe2(q, O_NONBLOCK), 0);
	CT_ASSERT_EQ(close(q[1]), 0);
	errno = 0;
	CT_EXPECT(read(q[0], &c, 1) == 0,
		  "read of a pipe whose writer was closed: want 0 (EOF), errno %d (%s)",
		  errno, strerror(errno));
	close(q[0]);
	sigaction(SIGPIPE, &old, NULL);
}

CTEST(syscall_socket,
      .id = "api.syscall.socket",
      .profile = "core",
      .what = "a socketpair and (where loopback is up) a TCP connection on 127.0.0.1 carry data in Dune mode",
      .needs = "dune")
{
	int sv[2], ls, cs, as;
	char buf[16] = "";
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);

	ENTER();
	CT_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	CT_ASSERT_EQ(write(sv[0], "ping", 4), 4);
	CT_ASSERT_EQ(read(sv[1], buf, 4), 4);
	CT_EXPECT(!memcmp(buf, "ping", 4));
	ls = socket(AF_INET, SOCK_STREAM, 0);
	CT_ASSERT(ls >= 0);
	if (bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1) ||
	    getsockname(ls, (struct sockaddr *)&a, &alen)) {
		ct_log("loopback unavailable (%s): TCP part skipped", strerror(errno));
		return;
	}
	cs = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(cs, (struct sockaddr *)&a, sizeof(a))) {
		ct_log("connect to 127.0.0.1: %s (lo down?): TCP part skipped", strerror(errno));
		return;
	}
	as = accept(ls, NULL, NULL);
	CT_ASSERT(as >= 0);
	CT_ASSERT_EQ(send(cs, "pong", 4, 0), 4);
	CT_ASSERT_EQ(recv(as, buf, 4, MSG_WAITALL), 4);
	CT_EXPECT(!memcmp(buf, "pong", 4));
}

CTEST(syscall_time,
      .id = "api.syscall.time",
      .profile = "core",
      .what = "clock_gettime/gettimeofday/time (vDSO) and rdtsc agree with the host in Dune mode",
      .needs = "dune")
{
	struct timespec h, g, g2;
	struct timeval tv;
	unsigned long t0, t1;
	time_t now;

	clock_gettime(CLOCK_MONOTONIC, &h);
	t0 = dune_get_ticks();
	ENTER();
	CT_ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &g), 0);
	t1 = dune_get_ticks();
	CT_EXPECT(g.tv_sec > h.tv_sec || (g.tv_sec == h.tv_sec && g.tv_nsec >= h.tv_nsec),
		  "monotonic clock went backwards on entering");
	CT_EXPECT(g.tv_sec - h.tv_sec < 60, "monotonic clock jumped %ld s", (long)(g.tv_sec - h.tv_sec));
	CT_EXPECT(t1 > t0, "guest TSC (%lu) behind host TSC (%lu)", t1, t0);
	CT_EXPECT(t1 - t0 < (1UL << 40), "guest TSC far ahead of host TSC");
	usleep(10000);
	CT_ASSERT_EQ(clock_gettime(CLOCK_MONOTONIC, &g2), 0);
	CT_EXPECT((g2.tv_sec - g.tv_sec) * 1000000000L + (g2.tv_nsec - g.tv_nsec) >= 10000000L,
		  "usleep(10ms) took less than 10 ms by the clock");
	CT_EXPECT_EQ(gettimeofday(&tv, NULL), 0);
	now = time(NULL);
	CT_EXPECT(now - tv.tv_sec <= 1 && tv.tv_sec - now <= 1);
}

static int cpu_has_avx(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx");
}

CTEST(syscall_simd,
      .id = "api.syscall.simd_state",
      .profile = "core",
      .what = "SSE (and AVX where present) registers survive forwarded system calls in Dune mode",
      .needs = "dune")
{
	uint64_t in[4] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL,
			   0x1111222233334444ULL, 0x5555666677778888ULL };
	uint64_t out[4] = { 0 };
	long r;

	ENTER();
	__asm__ volatile("movdqu (%2), %%xmm9\n\t"
			 "mov $39, %%eax\n\tsyscall\n\t"
			 "movdqu %%xmm9, (%1)"
			 : "=&a"(r) : "r"(out), "r"(in) : "rcx", "r11", "xmm9", "memory");
	CT_EXPECT(r > 0);
	CT_EXPECT(!memcmp(in, out, 16), "xmm9 changed across getpid: %#lx %#lx",
		  (unsigned long)out[0], (unsigned long)out[1]);
	if (!cpu_has_avx()) {
		ct_log("no AVX: ymm part skipped");
		return;
	}
	memset(out, 0, sizeof(out));
	__asm__ volatile("vmovdqu (%2), %%ymm10\n\t"
			 "mov $39, %%eax\n\tsyscall\n\t"
			 "vmovdqu %%ymm10, (%1)\n\tvzeroupper"
			 : "=&a"(r) : "r"(out), "r"(in) : "rcx", "r11", "xmm10", "memory");
	CT_EXPECT(!memcmp(in, out, 32), "ymm10 changed across getpid: %#lx %#lx %#lx %#lx",
		  (unsigned long)out[0], (unsigned long)out[1], (unsigned long)out[2],
		  (unsigned long)out[3]);
}

CTEST(syscall_vsyscall,
      .id = "api.syscall.vsyscall",
      .profile = "core",
      .what = "the legacy vsyscall page (time at 0xffffffffff600400) works in Dune mode",
      .needs = "dune")
{
	time_t (*vtime)(time_t *) = (time_t (*)(time_t *))0xffffffffff600400UL;
	time_t a, b;

	ENTER();
	a = time(NULL);
	b = vtime(NULL);
	CT_EXPECT(b >= a && b - a <= 2, "vsyscall time %ld vs time %ld", (long)b, (long)a);
}

CTEST(enter_twice,
      .id = "api.init.enter_idempotent",
      .profile = "core",
      .what = "(extension) dune_init and dune_enter called again in Dune mode return 0 and change nothing (the original says to call each once)",
      .needs = "dune")
{
	/* a dunebench promise (docs/api.md): only a library with its
	 * extensions is held to it */
	NEED_EXT(dune_backend_name);
	NEED_EXT(dune_is_in_guest);
	ENTER();
	CT_EXPECT_EQ(dune_init(true), 0);
	CT_EXPECT_EQ(dune_enter(), 0);
	CT_EXPECT(dune_is_in_guest());
	CT_EXPECT(dune_backend_name() != NULL);
	ct_log("backend %s", dune_backend_name());
}

// SPDX-License-Identifier: MIT
/* core.c - entering Dune mode, traps, forwarded system calls */
#include "common.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
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
	__asm__ volatile("xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t"
			 "div %%ecx" : : : "rax", "rcx", "rdx", "memory");
	CT_ASSERT(divide_caught, "the handler did not run");
	printf("hello: recovered from divide by zero\n");
}

CTEST(init_bad_backend,
      .id = "api.init.bad_backend",
      .profile = "core",
      .what = "DUNE_BACKEND=bogus makes dune_init return -EINVAL (one line on stderr)")
{
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
      .what = "dune_init and dune_enter called again in Dune mode return 0 and change nothing",
      .needs = "dune")
{
	ENTER();
	CT_EXPECT_EQ(dune_init(true), 0);
	CT_EXPECT_EQ(dune_enter(), 0);
	CT_EXPECT(dune_is_in_guest());
	CT_EXPECT(dune_backend_name() != NULL);
	ct_log("backend %s", dune_backend_name());
}

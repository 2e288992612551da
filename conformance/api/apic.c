// SPDX-License-Identifier: MIT
/*
 * apic.c - the x2APIC helpers deliver: an IPI from one vCPU runs the
 * other's handler for that vector, EOI lets the next one in, an IPI to a
 * vCPU whose thread is in a host system call arrives when it is back in
 * the guest, a bad destination is refused, and a TLB shootdown (PTE
 * change, IPI, invlpg in the handler) makes the other vCPU see the new
 * mapping.
 *
 * Thread A is the test's thread, thread B a second vCPU; with two CPUs
 * or more they run pinned to CPUs 0 and 1 (so the IPI crosses CPUs),
 * else both share the one CPU.  B takes interrupts only inside
 * irq_window(): libdune's ring 0 runs with interrupts off, and an
 * interrupt in ring 0 pushes its frame on the current stack, so the
 * window is a leaf function without locals.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>

#include "common.h"
#include "ct_thread.h"

#define VEC_A	0x50
#define VEC_B	0x61	/* another priority class */
#define WAIT_S	20	/* longest wait for the other thread, seconds */
#define EOI_WINDOWS	20000	/* B's interrupt windows before its EOI */

static volatile int got[256];		/* deliveries per vector on B */
static volatile uint32_t got_id;	/* dune_apic_id() inside B's handler */
static volatile int hold_eoi;		/* B's handler leaves EOI to B */
static volatile int b_state;		/* B's progress, set by B */
static volatile int a_cmd;		/* what A asks B to do */
static volatile uint32_t b_id = UINT32_MAX;
static volatile int b_fail;		/* B could not set up: reason code */
static volatile int b_held;		/* api.apic.eoi: deliveries before EOI */

/* interrupts on for a few instructions, then as they were (vmx runs
 * ring 0 with them off, kvm with them on) */
static void __attribute__((noinline)) irq_window(void)
{
	__asm__ volatile("pushf; sti; nop; nop; nop; nop; popf" ::: "memory", "cc");
}

static unsigned long irq_save(void)
{
	unsigned long fl;

	__asm__ volatile("pushf; pop %0; cli" : "=r"(fl) : : "memory");
	return fl;
}

static void irq_restore(unsigned long fl)
{
	__asm__ volatile("push %0; popf" : : "r"(fl) : "memory", "cc");
}

static long now_ms(void)
{
	struct timespec ts;

	syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000;
}

static long now_s(void)
{
	return now_ms() / 1000;
}

/* spin (B: with interrupts allowed in the window) until *v >= want */
static bool wait_for(volatile int *v, int want, bool irqs)
{
	long end = now_s() + WAIT_S;
	unsigned int i = 0;

	while (*v < want) {
		if (irqs)
			irq_window();
		else
			__asm__ volatile("pause");
		if (!(++i & 1023) && now_s() > end)
			return false;
	}
	return true;
}

static void handler(struct dune_tf *tf, int vec)
{
	(void)tf;
	got_id = dune_apic_id();
	got[vec]++;
	if (!hold_eoi)
		dune_apic_eoi();
}

static void handler_a(struct dune_tf *tf)
{
	handler(tf, VEC_A);
}

static void handler_b(struct dune_tf *tf)
{
	handler(tf, VEC_B);
}

#define pin ct_pin_if_smp

static void reset(void)
{
	memset((void *)got, 0, sizeof(got));
	got_id = UINT32_MAX;
	hold_eoi = 0;
	b_state = 0;
	a_cmd = 0;
	b_id = UINT32_MAX;
	b_fail = 0;
	b_held = 0;
}

/* common start of every test: enter, APIC present, handlers in place */
static void setup(void)
{
	NEED_EXT(dune_apic_supported);
	NEED_EXT(dune_apic_send_ipi_checked);
	reset();
	pin(0);
	ENTER();
	if (!dune_apic_supported()) {
		const char *want = getenv("DUNE_CONFORM_EXPECT_APIC");

		/* the lab, whose backends all have it, asks for a failure */
		CT_ASSERT(!want || strcmp(want, "1"),
			  "the %s backend reports no APIC, and DUNE_CONFORM_EXPECT_APIC=1 says it has one",
			  dune_backend_name ? dune_backend_name() : "selected");
		CT_SKIP("the %s backend reports no APIC (dune_apic_supported() false)",
			dune_backend_name ? dune_backend_name() : "selected");
	}
	CT_ASSERT_EQ(dune_register_intr_handler(VEC_A, handler_a), 0);
	CT_ASSERT_EQ(dune_register_intr_handler(VEC_B, handler_b), 0);
	ct_log("%d CPUs online", ct_ncpus());
}

static pthread_t start_b(void *(*fn)(void *))
{
	pthread_t t;
	int err = ct_thread_start(&t, fn, NULL, &b_state, WAIT_S * 1000L);

	CT_ASSERT(!err && !b_fail, "thread B did not enter Dune mode (%s, failure %d)",
		  err ? strerror(err) : "started", b_fail);
	return t;
}

/* B's start: pinned to CPU 1, in Dune mode, its APIC ID published */
static bool b_enter(void)
{
	pin(1);
	if (dune_enter()) {
		b_fail = 1;
		b_state = 1;
		return false;
	}
	b_id = dune_apic_id();
	b_state = 1;
	return true;
}

/* ---------------------------------------------------------------- */

static void *ipi_thread(void *arg)
{
	(void)arg;
	if (!b_enter())
		return NULL;
	wait_for(&got[VEC_A], 1, true);
	wait_for(&got[VEC_B], 1, true);
	b_state = 2;
	return NULL;
}

CTEST(apic_ipi,
      .id = "api.apic.ipi",
      .profile = "apic",
      .what = "dune_apic_send_ipi from vCPU A to vCPU B's APIC ID (two threads, on two CPUs where there are two) runs B's handler for exactly that vector, once, on B (dune_apic_id() in the handler is B's); a second vector reaches its own handler",
      .needs = "dune",
      .timeout = 120)
{
	pthread_t t;
	uint32_t a_id;

	setup();
	a_id = dune_apic_id();
	t = start_b(ipi_thread);
	ct_log("APIC IDs: A %u, B %u", a_id, b_id);
	CT_EXPECT(a_id != b_id, "two vCPUs share APIC ID %u", a_id);
	dune_apic_send_ipi(VEC_A, b_id);
	CT_EXPECT(wait_for(&got[VEC_A], 1, false), "vector %#x never reached B's handler", VEC_A);
	CT_EXPECT_EQ(got_id, b_id);
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_B, b_id), 0);
	CT_EXPECT(wait_for(&b_state, 2, false), "vector %#x never reached B's handler", VEC_B);
	pthread_join(t, NULL);
	CT_EXPECT_EQ(got[VEC_A], 1);
	CT_EXPECT_EQ(got[VEC_B], 1);
	for (int v = 0; v < 256; v++)
		if (v != VEC_A && v != VEC_B)
			CT_EXPECT(!got[v], "vector %#x delivered %d times, never sent", v, got[v]);
}

/* ---------------------------------------------------------------- */

static void *eoi_thread(void *arg)
{
	(void)arg;
	if (!b_enter())
		return NULL;
	wait_for(&got[VEC_A], 1, true);
	b_state = 2;
	/* A has sent the second one; it must wait for our EOI.  The system
	 * calls leave and re-enter the guest, so the vector is pending in
	 * this vCPU's APIC during the windows: interrupts allowed many times,
	 * counted rather than timed (the VMX lab's guest clock is slow). */
	wait_for(&a_cmd, 1, false);
	for (int i = 0; i < EOI_WINDOWS; i++) {
		irq_window();
		if (!(i & 255))
			(void)getppid();
	}
	b_held = got[VEC_A];		/* 1: held back, as it must be */
	b_state = 4;
	hold_eoi = 0;
	dune_apic_eoi();
	wait_for(&got[VEC_A], 2, true);
	b_state = 10;
	return NULL;
}

CTEST(apic_eoi,
      .id = "api.apic.eoi",
      .profile = "apic",
      .what = "while B's handler has not written EOI, a second IPI with the same vector stays pending (B keeps interrupts enabled); dune_apic_eoi() lets it in",
      .needs = "dune",
      .timeout = 120)
{
	pthread_t t;

	setup();
	hold_eoi = 1;
	t = start_b(eoi_thread);
	dune_apic_send_ipi(VEC_A, b_id);
	CT_ASSERT(wait_for(&b_state, 2, false), "the first IPI never reached B");
	dune_apic_send_ipi(VEC_A, b_id);
	a_cmd = 1;
	CT_ASSERT(wait_for(&b_state, 4, false), "B never finished its window");
	CT_EXPECT(b_held == 1, "the second IPI came in before EOI (%d deliveries)", b_held);
	CT_EXPECT(wait_for(&b_state, 10, false), "the second IPI never came in after EOI");
	pthread_join(t, NULL);
	CT_EXPECT_EQ(got[VEC_A], 2);
}

/* ---------------------------------------------------------------- */

static int pipefd[2];
static volatile int seen_after_read;
static volatile pid_t b_tid;

/* the state letter of thread @tid (/proc), or 0 */
static char thread_state(pid_t tid)
{
	char path[64], buf[256], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

static void *outside_thread(void *arg)
{
	char c;

	(void)arg;
	b_tid = (pid_t)syscall(SYS_gettid);
	if (!b_enter())
		return NULL;
	/* blocks in the host: the vCPU is outside the guest */
	if (read(pipefd[0], &c, 1) != 1)
		b_fail = 2;
	seen_after_read = got[VEC_A];	/* vmx: 0 (interrupts off); kvm: 0 or 1 */
	wait_for(&got[VEC_A], 1, true);
	b_state = 2;
	return NULL;
}

CTEST(apic_outside,
      .id = "api.apic.outside",
      .profile = "apic",
      .what = "an IPI to a vCPU whose thread is blocked in a host system call is kept and delivered once that thread is back in the guest with interrupts enabled, exactly once",
      .needs = "dune",
      .timeout = 120)
{
	pthread_t t;

	setup();
	CT_ASSERT_EQ(pipe(pipefd), 0);
	seen_after_read = -1;
	t = start_b(outside_thread);
	/* B blocked in its read() (sleeping): it cannot take the IPI before
	 * that returns */
	for (long end = now_s() + WAIT_S; thread_state(b_tid) != 'S' && now_s() <= end;)
		sched_yield();
	CT_EXPECT_EQ(thread_state(b_tid), 'S');
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_A, b_id), 0);
	for (int i = 0; i < 100; i++)
		sched_yield();
	CT_EXPECT_EQ(thread_state(b_tid), 'S');
	CT_EXPECT_EQ(got[VEC_A], 0);
	CT_ASSERT_EQ(write(pipefd[1], "x", 1), 1);
	CT_EXPECT(wait_for(&b_state, 2, false), "the IPI never arrived after B's read returned");
	pthread_join(t, NULL);
	CT_EXPECT_EQ(b_fail, 0);
	ct_log("deliveries seen when read() returned: %d", seen_after_read);
	CT_EXPECT(seen_after_read == 0 || seen_after_read == 1, "%d deliveries", seen_after_read);
	CT_EXPECT_EQ(got[VEC_A], 1);
}

/* ---------------------------------------------------------------- */

static void *exit_thread(void *arg)
{
	(void)arg;
	b_enter();
	return NULL;
}

CTEST(apic_bad_dest,
      .id = "api.apic.bad_dest",
      .profile = "apic",
      .what = "an IPI to an APIC ID no vCPU of the process has (one never given, one whose thread has ended) or with a vector below 16 is refused (dune_apic_send_ipi_checked: -ESRCH, -EINVAL), nothing is delivered, and the sender goes on; dune_apic_id_for_cpu of a CPU nobody registered sets *error",
      .needs = "dune",
      .timeout = 120)
{
	bool err = false;
	pthread_t t;
	uint32_t gone;

	setup();
	t = start_b(exit_thread);
	pthread_join(t, NULL);
	gone = b_id;
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_A, 0xfffe), -ESRCH);
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_A, 0xfffffffeU), -ESRCH);
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_A, gone), -ESRCH);
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(3, dune_apic_id()), -EINVAL);
	dune_apic_send_ipi(VEC_A, 0xfffe);	/* reported on stderr, not sent */
	for (int i = 0; i < 1000; i++)
		irq_window();
	CT_EXPECT_EQ(got[VEC_A], 0);
	CT_EXPECT_EQ(dune_apic_id_for_cpu(4095, &err), UINT32_MAX);
	CT_EXPECT(err, "dune_apic_id_for_cpu(4095) left *error unset");
	/* still a working APIC: a self-IPI arrives */
	CT_EXPECT_EQ(dune_apic_send_ipi_checked(VEC_A, dune_apic_id()), 0);
	CT_EXPECT(wait_for(&got[VEC_A], 1, true), "a self-IPI after the refused ones never arrived");
}

CTEST(apic_self,
      .id = "api.apic.self",
      .profile = "apic",
      .what = "a vCPU's IPI to its own APIC ID waits while interrupts are off and runs its handler once they are on; dune_apic_init_rt_entry records this vCPU's APIC ID for the CPU it runs on (dune_apic_id_for_cpu)",
      .needs = "dune")
{
	unsigned int cpu = 0;
	unsigned long fl;
	bool err = true;
	uint32_t id;

	setup();
	id = dune_apic_id();
	CT_ASSERT(id != UINT32_MAX, "dune_apic_id() returned UINT32_MAX");
	dune_apic_init_rt_entry();
	CT_ASSERT_EQ(syscall(SYS_getcpu, &cpu, NULL, NULL), 0);
	CT_EXPECT_EQ(dune_apic_id_for_cpu(cpu, &err), id);
	CT_EXPECT(!err, "dune_apic_id_for_cpu(%u) set *error", cpu);
	fl = irq_save();
	dune_apic_send_ipi(VEC_A, id);
	CT_EXPECT_EQ(getppid() > 0, 1);		/* exits and system calls on the way */
	CT_EXPECT_EQ(got[VEC_A], 0);
	CT_EXPECT(wait_for(&got[VEC_A], 1, true), "the self-IPI never arrived with interrupts on");
	irq_restore(fl);
	CT_EXPECT_EQ(got_id, id);
	CT_EXPECT_EQ(got[VEC_A], 1);
}

/* ---------------------------------------------------------------- */

#define SHOOT_VA ((volatile long *)0x100000000000UL)

static long *shoot_pages;		/* two host pages: 1 and 2 */
static volatile long b_reads[2];	/* what B read before / after */

static void shoot_handler(struct dune_tf *tf)
{
	(void)tf;
	dune_flush_tlb_one((unsigned long)SHOOT_VA);
	got[VEC_A]++;
	dune_apic_eoi();
}

static void *shoot_thread(void *arg)
{
	(void)arg;
	if (!b_enter())
		return NULL;
	b_reads[0] = *SHOOT_VA;		/* the old mapping, now in B's TLB */
	b_state = 2;
	for (long end = now_s() + WAIT_S; !got[VEC_A] && now_s() <= end;) {
		for (int i = 0; i < 1000 && !got[VEC_A]; i++) {
			(void)*SHOOT_VA;	/* keep it there */
			irq_window();
		}
	}
	b_reads[1] = *SHOOT_VA;
	b_state = 3;
	return NULL;
}

CTEST(apic_tlb_shootdown,
      .id = "api.apic.tlb_shootdown",
      .profile = "apic",
      .what = "TLB shootdown: B reads a page through the shared guest page table, A points that PTE at another page and sends B an IPI, B's handler runs invlpg, and B then reads the new page",
      .needs = "dune",
      .timeout = 120)
{
	ptent_t *pte = NULL;
	pthread_t t;

	setup();
	CT_ASSERT_EQ(dune_register_intr_handler(VEC_A, shoot_handler), 0);
	shoot_pages = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(shoot_pages != MAP_FAILED, "mmap: %s", strerror(errno));
	shoot_pages[0] = 1;
	shoot_pages[512] = 2;
	CT_ASSERT_EQ(dune_vm_map_phys(pgroot, (void *)SHOOT_VA, 4096,
				      (void *)dune_va_to_pa(shoot_pages), PERM_R | PERM_W), 0);
	CT_ASSERT_EQ(*SHOOT_VA, 1);
	t = start_b(shoot_thread);
	CT_ASSERT(wait_for(&b_state, 2, false), "B never read the page");
	CT_ASSERT_EQ(dune_vm_lookup(pgroot, (void *)SHOOT_VA, CREATE_NONE, &pte), 0);
	*pte = (*pte & ~PTE_ADDR(~0ULL)) | PTE_ADDR(dune_va_to_pa(shoot_pages + 512));
	dune_flush_tlb_one((unsigned long)SHOOT_VA);
	CT_EXPECT_EQ(*SHOOT_VA, 2);	/* A's own view */
	dune_apic_send_ipi(VEC_A, b_id);
	CT_EXPECT(wait_for(&b_state, 3, false), "B never finished");
	pthread_join(t, NULL);
	CT_EXPECT_EQ(got[VEC_A], 1);
	CT_EXPECT_EQ(b_reads[0], 1);
	CT_EXPECT_EQ(b_reads[1], 2);
}

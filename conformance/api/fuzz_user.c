// SPDX-License-Identifier: MIT
/*
 * fuzz_user.c - random ring-3 code and random system calls from ring 3,
 * through libdune's public API only, on either backend (api.fuzz.*).
 *
 * A worker process enters Dune mode (dune_init(false): ring 3 reaches only
 * the pages mapped here with PERM_U), registers a handler for every
 * exception vector, the page-fault handler and the syscall handler, and
 * runs each iteration's code page in ring 3 with dune_jump_to_user.  Every
 * handler ends the run with dune_ret_from_user, except the syscall handler
 * for the harmless system calls of the list below: those are passed
 * through (pointer arguments replaced by a buffer of ours or by a known-bad
 * pointer) and their results checked, and ring 3 goes on.
 *
 * What must hold: each run comes back from dune_jump_to_user with one of
 * our codes; every trap reaches its handler from ring 3 (a trap in ring 0
 * means libdune's own code faulted); passed-through calls return what the
 * host would; the process stays in Dune mode and usable.
 *
 * Bounds: a SIGALRM delivered with dune_signal() preempts ring 3 (the
 * handler sees a ring-3 frame and ends the run).  On the vmx backend
 * libdune does not deliver a dune_signal() interrupt while ring 3 runs, so
 * ring-3 code that never traps cannot be stopped there; the generator
 * leaves out loops that never end, and a SIGPROF watchdog ends a worker
 * whose iteration runs too long (accepted on vmx only, counted and shown).
 * The ring-3 code may hold int3: its #BP reaches the T_BRKPT handler on
 * both backends (on vmx libdune reflects the module's #BP intercept into
 * the guest IDT).  It never holds int1/popf/iret (a #DB, or TF single-step
 * that would follow the ring-3 syscall into ring 0), VMX instructions or
 * VMCALL (a host system call) (fuzz_scrub).
 */
#include "common.h"
#include "../abi/fuzz.h"

#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ring-3 addresses (guest-virtual only: nothing of the host is there) */
#define U_BASE		0x100000000000UL
#define U_CODE		(U_BASE + 0x0000)	/* R|U, no W; a guard page follows */
#define U_DATA		(U_BASE + 0x2000)
#define U_STACK		(U_BASE + 0x4000)
#define U_WEIRD		(U_BASE + 0x10000)	/* a read-only page */

#define RET_TRAP	0x1000	/* + vector (0..31; 32 = any other) */
#define RET_PGFLT	0x2000
#define RET_SYSCALL	0x3000	/* a system call we do not pass through */
#define RET_PREEMPT	0x4000	/* the run bound: SIGALRM seen in ring 3 */
#define RET_MANY	0x5000	/* too many passed-through calls in one run */

#define WATCHDOG_EXIT	75	/* the worker's exit status when its watchdog fired */
#define ALARM_US	20000
#define PROF_US		50000
#define WATCHDOG_TICKS	10	/* SIGPROFs (CPU time) one iteration may take */
#define MAX_SYSCALLS	48

enum {
	O_SYSCALL_END, O_PGFLT, O_GP, O_UD, O_DE, O_BP, O_DB, O_OTHER_TRAP, O_PREEMPT, O_MANY,
	O_SPIN, O_NR
};
static const char *const outcomes[O_NR] = {
	[O_SYSCALL_END] = "syscall(not passed)", [O_PGFLT] = "#PF", [O_GP] = "#GP", [O_UD] = "#UD",
	[O_DE] = "#DE", [O_BP] = "#BP", [O_DB] = "#DB", [O_OTHER_TRAP] = "other trap",
	[O_PREEMPT] = "preempted(SIGALRM)", [O_MANY] = "syscall limit",
	[O_SPIN] = "watchdog(vmx: ring 3 not preemptible)",
};

/* ------------------------------------------------------------ system calls */

enum uexp {
	E_VALUE,	/* == want */
	E_ZERO,
	E_ZERO_OR_EINVAL,
	E_LEN,		/* == the length argument */
	E_LEN_OR_EAGAIN,
	E_NONNEG_OR_ERR,	/* anything but -EFAULT (values depend on the host) */
	E_NOSYS,	/* -ENOSYS (kvm, native) or -EINVAL (vmx: beyond the module's table) */
	E_EFAULT,
	E_UNAME,
};

struct usys {
	long nr;
	const char *name;
	uint8_t ptrs;		/* bit i: argument i is a pointer */
	bool null_ok;		/* NULL pointers mean "not wanted", not -EFAULT */
	int len_arg;		/* argument holding a length (capped), or -1 */
	enum uexp exp;
};

static const struct usys usys[] = {
	{ SYS_getpid, "getpid", 0, false, -1, E_VALUE },
	{ SYS_gettid, "gettid", 0, false, -1, E_VALUE },
	{ SYS_getppid, "getppid", 0, false, -1, E_VALUE },
	{ SYS_getuid, "getuid", 0, false, -1, E_VALUE },
	{ SYS_geteuid, "geteuid", 0, false, -1, E_VALUE },
	{ SYS_getgid, "getgid", 0, false, -1, E_VALUE },
	{ SYS_getegid, "getegid", 0, false, -1, E_VALUE },
	{ SYS_getpgrp, "getpgrp", 0, false, -1, E_VALUE },
	{ SYS_sched_yield, "sched_yield", 0, false, -1, E_ZERO },
	{ SYS_uname, "uname", 1, false, -1, E_UNAME },
	{ SYS_clock_gettime, "clock_gettime", 2, false, -1, E_ZERO_OR_EINVAL },
	{ SYS_gettimeofday, "gettimeofday", 3, true, -1, E_ZERO },
	{ SYS_time, "time", 1, true, -1, E_NONNEG_OR_ERR },
	{ SYS_getrandom, "getrandom", 1, false, 1, E_LEN_OR_EAGAIN },
	{ SYS_getcpu, "getcpu", 3, true, -1, E_ZERO },
	{ SYS_write, "write(/dev/null)", 2, false, 2, E_LEN },
	{ SYS_read, "read(/dev/null)", 2, false, 2, E_ZERO },
	{ SYS_sysinfo, "sysinfo", 1, false, -1, E_ZERO },
	{ SYS_getrlimit, "getrlimit", 2, false, -1, E_ZERO_OR_EINVAL },
	{ SYS_getrusage, "getrusage", 2, false, -1, E_ZERO_OR_EINVAL },
	{ SYS_times, "times", 1, true, -1, E_NONNEG_OR_ERR },
	{ 1000, "nr 1000", 0, false, -1, E_NOSYS },
	{ 4095, "nr 4095", 0, false, -1, E_NOSYS },
	{ 100000, "nr 100000", 0, false, -1, E_NOSYS },
};

/* the worker's state; the handlers (guest ring 0) read it */
static struct fuzz *uf;
static volatile uint64_t u_iter = UINT64_MAX;
static unsigned int u_nsys;
static long u_want[512];		/* E_VALUE answers, by system call number */
static int u_devnull = -1;
static char u_buf[8192] __attribute__((aligned(64)));
static bool u_kvm, u_badrip;
/* DUNE_FUZZ_TRACE=FILE (a console: /dev/ttyS0 in the lab, or /dev/kmsg):
 * each iteration's start and passed-through call are written there first,
 * unbuffered, so the last one survives a crash of the host itself */
static int u_trace_fd = -1;
static bool u_no_tf;
static uint64_t u_code_lo, u_code_hi;
static struct fuzz_rng u_rng;	/* argument choices in the syscall handler */
static struct {
	int vec;
	uint32_t err;
	uint64_t rip, addr;
} u_last;

static const struct usys *find_usys(uint64_t nr)
{
	for (size_t i = 0; i < sizeof(usys) / sizeof(usys[0]); i++)
		if ((uint64_t)usys[i].nr == nr)
			return &usys[i];
	return NULL;
}

static void reset_fpu(void)
{
	static const uint32_t mxcsr = 0x1f80;

	/* ring 3 shares the FPU with ring 0: start the handler from defaults */
	__asm__ volatile("fninit\n\tldmxcsr %0" : : "m"(mxcsr));
}

static uint64_t bad_ptr(struct fuzz_rng *r, bool null_ok)
{
	static const uint64_t bad[] = {
		16, 0xffffffff81000000ULL, 0xffff888000000000ULL, 0x0000800000000000ULL,
		0xdead000000000000ULL, U_BASE /* guest-only */, 0,
	};

	return bad[fuzz_below(r, sizeof(bad) / sizeof(bad[0]) - (null_ok ? 1 : 0))];
}

static void check_from_ring3(const char *what, const struct dune_tf *tf)
{
	if ((tf->cs & 3) != 3)
		fuzz_fail(uf, u_iter, "%s in ring %d at rip %#lx (cs %#x, err %#x, rsp %#lx): libdune's ring-0 code trapped",
			  what, tf->cs & 3, (unsigned long)tf->rip, tf->cs, tf->err,
			  (unsigned long)tf->rsp);
}

static void on_syscall(struct dune_tf *tf)
{
	const struct usys *s;
	uint64_t av[6] = { tf->rdi, tf->rsi, tf->rdx, tf->rcx, tf->r8, tf->r9 };
	uint64_t nr = tf->rax, len = 0;
	unsigned int bad = 0;		/* bit i: argument i is a bad pointer */
	long got;

	reset_fpu();
	/* (no check_from_ring3: the original's ring-3 system call entry does
	 * not fill tf->cs.  The handler runs only for ring 3's system calls,
	 * and the return address must be in ring 3's pages.) */
	/* (ring 3 may run libdune's vsyscall page, PERM_U at 0xffffffffff600000) */
	if ((tf->rip < u_code_lo || tf->rip > u_code_hi) && tf->rip >> 12 != 0xffffffffff600ULL)
		fuzz_fail(uf, u_iter, "syscall returns to rip %#lx, outside the ring-3 pages",
			  (unsigned long)tf->rip);
	s = find_usys(nr);
	if (!s) {
		u_last.vec = -1;
		u_last.rip = tf->rip;
		dune_ret_from_user(RET_SYSCALL);
	}
	if (++u_nsys > MAX_SYSCALLS)
		dune_ret_from_user(RET_MANY);
	for (int i = 0; i < 6; i++) {
		if (!(s->ptrs & (1u << i)))
			continue;
		/* (read/write: /dev/null never copies, but a pointer outside
		 * user space still fails its access check) */
		if (fuzz_chance(&u_rng, 1, 6) && s->nr != SYS_read && s->nr != SYS_write) {
			av[i] = bad_ptr(&u_rng, s->null_ok);
			bad |= 1u << i;
		} else {
			av[i] = (uintptr_t)u_buf + 8 * fuzz_below(&u_rng, 64);
		}
	}
	if (s->len_arg >= 0) {
		len = av[s->len_arg] % (s->nr == SYS_getrandom ? 257 : 4096);
		av[s->len_arg] = len;
	}
	switch (s->nr) {
	case SYS_write:
	case SYS_read:
		av[0] = (uint64_t)u_devnull;
		break;
	case SYS_getrandom:
		av[2] = 1;		/* GRND_NONBLOCK */
		break;
	case SYS_getcpu:
		av[2] = 0;
		break;
	case SYS_clock_gettime:
		av[0] %= 16;
		break;
	case SYS_getrlimit:
		av[0] %= 20;
		break;
	case SYS_getrusage:
		av[0] = (av[0] % 4) - 1;
		break;
	case SYS_gettimeofday:
		if (fuzz_chance(&u_rng, 1, 2)) {
			av[1] = 0;		/* no time zone */
			bad &= ~2u;
		}
		break;
	}
	tf->rdi = av[0];
	tf->rsi = av[1];
	tf->rdx = av[2];
	tf->rcx = av[3];
	tf->r8 = av[4];
	tf->r9 = av[5];
	if (u_trace_fd >= 0)
		dprintf(u_trace_fd, "%s: iteration %" PRIu64 ": %s(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64
			", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ")\n", uf->id, u_iter, s->name, av[0], av[1],
			av[2], av[3], av[4], av[5]);
	dune_passthrough_syscall(tf);
	got = (long)tf->rax;
	if (bad && s->exp != E_NOSYS) {
		/* getrandom(GRND_NONBLOCK) says -EAGAIN before it looks at the
		 * buffer while the kernel's RNG is not ready (the AMD lab's CPU
		 * model has no RDRAND) */
		if (got != -EFAULT && !(s->nr == SYS_getrandom && (len == 0 || got == -EAGAIN)) &&
		    !(s->exp == E_ZERO_OR_EINVAL && got == -EINVAL))
			fuzz_fail(uf, u_iter, "%s with a bad pointer returned %ld, want -EFAULT", s->name, got);
		return;
	}
	switch (s->exp) {
	case E_VALUE:
		if (got != u_want[s->nr])
			fuzz_fail(uf, u_iter, "%s returned %ld, want %ld", s->name, got, u_want[s->nr]);
		break;
	case E_ZERO:
		if (got != 0)
			fuzz_fail(uf, u_iter, "%s returned %ld, want 0", s->name, got);
		break;
	case E_ZERO_OR_EINVAL:
		if (got != 0 && got != -EINVAL)
			fuzz_fail(uf, u_iter, "%s returned %ld, want 0 or -EINVAL", s->name, got);
		break;
	case E_LEN:
		if (got != (long)len)
			fuzz_fail(uf, u_iter, "%s returned %ld, want %lu", s->name, got, (unsigned long)len);
		break;
	case E_LEN_OR_EAGAIN:
		if (got != (long)len && got != -EAGAIN)
			fuzz_fail(uf, u_iter, "%s returned %ld, want %lu", s->name, got, (unsigned long)len);
		break;
	case E_NONNEG_OR_ERR:
		if (got == -EFAULT)
			fuzz_fail(uf, u_iter, "%s returned -EFAULT for our buffer", s->name);
		break;
	case E_NOSYS:
		if (got != -ENOSYS && got != -EINVAL)
			fuzz_fail(uf, u_iter, "%s returned %ld, want -ENOSYS (or -EINVAL)", s->name, got);
		break;
	case E_EFAULT:
		break;
	case E_UNAME:
		if (got != 0 || strcmp((const char *)(uintptr_t)tf->rdi, "Linux"))
			fuzz_fail(uf, u_iter, "uname returned %ld", got);
		break;
	}
	/* back to ring 3 after the syscall instruction */
}

static void on_trap(int vec, struct dune_tf *tf)
{
	reset_fpu();
	check_from_ring3("trap", tf);
	u_last.vec = vec;
	u_last.err = tf->err;
	u_last.rip = tf->rip;
	dune_ret_from_user(RET_TRAP + vec);
}

#define TRAP(n) static void trap_##n(struct dune_tf *tf) { on_trap(n, tf); }
TRAP(0) TRAP(1) TRAP(2) TRAP(3) TRAP(4) TRAP(5) TRAP(6) TRAP(7) TRAP(8) TRAP(9)
TRAP(10) TRAP(11) TRAP(12) TRAP(13) TRAP(15) TRAP(16) TRAP(17) TRAP(18) TRAP(19)
TRAP(20) TRAP(21) TRAP(22) TRAP(23) TRAP(24) TRAP(25) TRAP(26) TRAP(27) TRAP(28) TRAP(29)
TRAP(30) TRAP(31) TRAP(32)
static const dune_intr_cb traps[33] = {
	trap_0, trap_1, trap_2, trap_3, trap_4, trap_5, trap_6, trap_7, trap_8, trap_9,
	trap_10, trap_11, trap_12, trap_13, NULL, trap_15, trap_16, trap_17, trap_18, trap_19,
	trap_20, trap_21, trap_22, trap_23, trap_24, trap_25, trap_26, trap_27, trap_28, trap_29,
	trap_30, trap_31, trap_32,
};

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	reset_fpu();
	check_from_ring3("page fault", tf);
	if (!(fec & FEC_U))
		fuzz_fail(uf, u_iter, "page fault at %#lx from ring 3 with error code %#lx (no U bit)",
			  (unsigned long)addr, (unsigned long)fec);
	u_last.vec = 14;
	u_last.err = (uint32_t)fec;
	u_last.rip = tf->rip;
	u_last.addr = addr;
	dune_ret_from_user(RET_PGFLT);
}

/* SIGALRM, delivered by libdune as vector 200 + SIGALRM */
static volatile unsigned long u_alarms, u_run_alarms;

static void on_alarm_vector(struct dune_tf *tf)
{
	u_alarms++;
	if ((tf->cs & 3) == 3 && u_alarms - u_run_alarms >= 2) {
		reset_fpu();
		dune_ret_from_user(RET_PREEMPT);
	}
}

static void alarm_noop(int sig)
{
	(void)sig;
}

/* SIGPROF, in host mode: the watchdog */
static volatile uint64_t wd_iter = UINT64_MAX;
static volatile unsigned int wd_ticks;

static unsigned int wd_limit = WATCHDOG_TICKS;

static void on_prof(int sig)
{
	(void)sig;
	if (u_iter != wd_iter) {
		wd_iter = u_iter;
		wd_ticks = 0;
	} else if (++wd_ticks >= wd_limit) {
		_exit(WATCHDOG_EXIT);
	}
}

static void start_timers(void)
{
	struct sigaction sa;
	struct itimerval it = { { 0, ALARM_US }, { 0, ALARM_US } };
	const char *ts = getenv("DUNE_CONFORM_TIMEOUT_SCALE");	/* dune-conform -T */

	if (ts && atof(ts) > 1)
		wd_limit = (unsigned int)(WATCHDOG_TICKS * atof(ts));

	dune_signal(SIGALRM, alarm_noop);
	dune_register_signal_handler(SIGALRM, on_alarm_vector);
	setitimer(ITIMER_REAL, &it, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_prof;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGPROF, &sa, NULL);
	it.it_interval.tv_usec = it.it_value.tv_usec = PROF_US;
	setitimer(ITIMER_PROF, &it, NULL);
}

/* ------------------------------------------------------------ the worker */

struct upage {
	struct page *pg;
	uint8_t *p;	/* ring-0 view */
};

static int map_user_page(struct upage *u, uintptr_t va, int perm)
{
	u->pg = dune_page_alloc();
	if (!u->pg)
		return -ENOMEM;
	u->p = (uint8_t *)(uintptr_t)dune_page2pa(u->pg);
	memset(u->p, 0, PGSIZE);
	if (!dune_vm_insert_page)	/* the original declares it, defines it nowhere */
		return dune_vm_map_phys(pgroot, (void *)va, PGSIZE, u->p, perm);
	return dune_vm_insert_page(pgroot, (void *)va, u->pg, perm);
}

/* a syscall with a number from the list (mostly) or any, random arguments */
static void emit_syscall(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a)
{
	static const unsigned int argr[6] = { 7, 6, 2, 10, 8, 9 };
	uint64_t nr;

	if (fuzz_chance(r, 3, 4))
		nr = (uint64_t)usys[fuzz_below(r, sizeof(usys) / sizeof(usys[0]))].nr;
	else if (fuzz_chance(r, 1, 2))
		nr = fuzz_below(r, 512);
	else
		nr = fuzz_value(r);
	for (int i = 0; i < 6; i++)
		if (fuzz_chance(r, 1, 2))
			fz_mov_imm(c, argr[i], fz_reg_value(r, a));
	fz_mov_imm(c, 0, nr);
	FZ_EMIT(c, 0x0f, 0x05);
}

static void user_program(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a,
			 bool syscalls_only)
{
	size_t len = 8 + fuzz_below(r, syscalls_only ? 1200 : 400);

	c->n = 0;
	for (unsigned int i = (unsigned int)fuzz_below(r, 4); i; i--)
		fz_mov_imm(c, (unsigned int)fuzz_below(r, 16), fz_reg_value(r, a));
	while (c->n < len) {
		if (syscalls_only) {
			emit_syscall(c, r, a);
			continue;
		}
		switch (fuzz_below(r, 10)) {
		case 0:
		case 1:
			fz_random_bytes(c, r, 1 + fuzz_below(r, 8));
			break;
		case 2:
			fz_mov_imm(c, (unsigned int)fuzz_below(r, 16), fz_reg_value(r, a));
			break;
		case 3:
		case 4:
			emit_syscall(c, r, a);
			break;
		default:
			fz_system_insn(c, r, a, true);
			break;
		}
	}
	if (syscalls_only || fuzz_chance(r, 1, 2)) {
		while (c->n + 1 < c->cap)
			FZ_EMIT(c, 0x0f, 0x0b);		/* ud2 */
	} else {
		fz_random_bytes(c, r, c->cap - c->n);
	}
	memset(c->p + c->n, 0x90, c->cap - c->n);
	fuzz_scrub(c->p, c->cap, true);
}

static int outcome_of(int ret)
{
	switch (ret & ~0xfff) {
	case RET_SYSCALL:
		return O_SYSCALL_END;
	case RET_PGFLT:
		return O_PGFLT;
	case RET_PREEMPT:
		return O_PREEMPT;
	case RET_MANY:
		return O_MANY;
	case RET_TRAP:
		switch (ret & 0xfff) {
		case 0: return O_DE;
		case 1: return O_DB;
		case 3: return O_BP;
		case 6: return O_UD;
		case 13: return O_GP;
		default: return O_OTHER_TRAP;
		}
	default:
		return -1;
	}
}

struct uarg {
	bool syscalls_only;
};

static void user_worker(struct fuzz *f, uint64_t first, uint64_t end, void *arg)
{
	const struct uarg *ua = arg;
	const char *trace;
	struct upage code, data, stack, weird;
	struct fz_addrs a;
	struct fz_code c;
	pid_t pid;
	int r;

	uf = f;
	u_iter = first;
	fz_ring3_spin = getenv("DUNE_FUZZ_USER_SPIN") != NULL;
	fz_ring3_gs = getenv("DUNE_FUZZ_USER_GS") != NULL;
	fz_ring3_int3 = true;
	trace = getenv("DUNE_FUZZ_TRACE");
	if (trace && *trace)
		u_trace_fd = open(trace, O_WRONLY | O_APPEND | O_NOCTTY | O_CLOEXEC);
	u_badrip = getenv("DUNE_FUZZ_USER_BADRIP") != NULL;
	u_no_tf = getenv("DUNE_FUZZ_USER_NO_TF") != NULL;
	u_devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	r = dune_init(false);
	if (r)
		fuzz_fail(f, first, "dune_init(false): %d (%s)", r, strerror(-r));
	r = dune_enter();
	if (r)
		fuzz_fail(f, first, "dune_enter: %d (%s)", r, strerror(-r));
	/* what ring 3 does through us runs unprivileged */
	if (fuzz_drop_root() == 0)
		prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	u_kvm = !strcmp(conf_backend(), "kvm");
	pid = getpid();
	u_want[SYS_getpid] = pid;
	u_want[SYS_gettid] = syscall(SYS_gettid);
	u_want[SYS_getppid] = getppid();
	u_want[SYS_getuid] = getuid();
	u_want[SYS_geteuid] = geteuid();
	u_want[SYS_getgid] = getgid();
	u_want[SYS_getegid] = getegid();
	u_want[SYS_getpgrp] = getpgrp();

	for (int v = 0; v < 256; v++)
		if (v != 14)
			dune_register_intr_handler(v, traps[v < 32 ? v : 32]);
	dune_register_pgflt_handler(on_pgflt);
	dune_register_syscall_handler(on_syscall);
	if (map_user_page(&code, U_CODE, PERM_R | PERM_X | PERM_U) ||
	    map_user_page(&data, U_DATA, PERM_R | PERM_W | PERM_U) ||
	    map_user_page(&stack, U_STACK, PERM_R | PERM_W | PERM_U) ||
	    map_user_page(&weird, U_WEIRD, PERM_R | PERM_U))
		fuzz_fail(f, first, "mapping the ring-3 pages failed");
	dune_flush_tlb();
	start_timers();

	memset(&a, 0, sizeof(a));
	a.code = U_CODE;
	a.data = U_DATA;
	a.stack = U_STACK;
	a.weird = U_WEIRD;
	a.nweird = 2;		/* the second one is not mapped */
	u_code_lo = U_BASE;
	u_code_hi = U_WEIRD + PGSIZE;
	c.p = code.p;
	c.cap = PGSIZE;

	for (uint64_t it = first; it < end; it++) {
		struct fuzz_rng rr;
		struct dune_tf tf;
		char hex[2 * 96 + 1];
		int ret, o;

		fuzz_rng_init(&rr, f, it);
		u_rng.s = rr.s ^ 0x757365727379ULL;
		user_program(&c, &rr, &a, ua->syscalls_only);
		fz_fill_data(&rr, data.p, &a);
		fuzz_scrub(data.p, PGSIZE, true);
		if (fuzz_chance(&rr, 1, 2))
			memset(stack.p, 0, PGSIZE);
		else
			fz_fill_data(&rr, stack.p, &a);
		fuzz_scrub(stack.p, PGSIZE, true);
		memset(weird.p, (int)fuzz_below(&rr, 256), PGSIZE);
		fuzz_scrub(weird.p, PGSIZE, true);

		memset(&tf, 0, sizeof(tf));
		tf.rip = fuzz_chance(&rr, 7, 8) ? U_CODE + (fuzz_chance(&rr, 3, 4) ? 0 : fuzz_below(&rr, PGSIZE)) :
			 fz_reg_value(&rr, &a);
		/* a non-canonical RIP makes the IRETQ of dune_jump_to_user fault in
		 * ring 0 with half of the switch to ring 3 done, which libdune does
		 * not survive (see README): only with DUNE_FUZZ_USER_BADRIP */
		if (!u_badrip && (tf.rip >> 47) != 0 && (tf.rip >> 47) != 0x1ffff)
			tf.rip &= 0x00007fffffffffffULL;
		tf.rsp = fuzz_chance(&rr, 7, 8) ? U_STACK + PGSIZE - 8 * fuzz_below(&rr, 64) :
			 fz_reg_value(&rr, &a);
		/* user flags only: IOPL 0; IF on, so that the run bound can interrupt;
		 * TF only on kvm (on vmx a #DB ends the process, by the ABI) */
		tf.rflags = 0x202 | (fuzz_next(&rr) & 0x40cd5);
		/* (DUNE_FUZZ_USER_NO_TF: the same draws, TF left clear) */
		if (u_kvm && fuzz_chance(&rr, 1, 16) && !u_no_tf)
			tf.rflags |= 0x100;
		tf.rax = fz_reg_value(&rr, &a);
		tf.rbx = fz_reg_value(&rr, &a);
		tf.rcx = fz_reg_value(&rr, &a);
		tf.rdx = fz_reg_value(&rr, &a);
		tf.rsi = fz_reg_value(&rr, &a);
		tf.rdi = fz_reg_value(&rr, &a);
		tf.rbp = fz_reg_value(&rr, &a);
		tf.r8 = fz_reg_value(&rr, &a);
		tf.r9 = fz_reg_value(&rr, &a);
		tf.r10 = fz_reg_value(&rr, &a);
		tf.r11 = fz_reg_value(&rr, &a);
		tf.r12 = fz_reg_value(&rr, &a);
		tf.r13 = fz_reg_value(&rr, &a);
		tf.r14 = fz_reg_value(&rr, &a);
		tf.r15 = fz_reg_value(&rr, &a);
		fuzz_hex(hex, sizeof(hex), code.p, c.n < 96 ? c.n : 96);
		fuzz_note(f, it, "ring 3 rip=%#lx rsp=%#lx rflags=%#lx rax=%#lx rdi=%#lx rsi=%#lx code=%s",
			  (unsigned long)tf.rip, (unsigned long)tf.rsp, (unsigned long)tf.rflags,
			  (unsigned long)tf.rax, (unsigned long)tf.rdi, (unsigned long)tf.rsi, hex);
		if (u_trace_fd >= 0)
			dprintf(u_trace_fd, "%s: iteration %" PRIu64 ": ring 3 rip=%#lx rsp=%#lx "
				"rflags=%#lx code=%s\n", f->id, it, (unsigned long)tf.rip,
				(unsigned long)tf.rsp, (unsigned long)tf.rflags, hex);

		u_nsys = 0;
		u_last.vec = -2;
		u_run_alarms = u_alarms;
		u_iter = it;
		ret = dune_jump_to_user(&tf);
		o = outcome_of(ret);
		if (o < 0)
			fuzz_fail(f, it, "dune_jump_to_user returned %#x, not a code of our handlers", ret);
		/* ring 0 still works: a forwarded system call */
		if (getpid() != pid)
			fuzz_fail(f, it, "getpid() from ring 0 after the run returned something else");
		fuzz_done(f, it, (unsigned int)o);
	}
}

static int user_death(struct fuzz *f, uint64_t iter, int status, const char *tail, void *arg)
{
	const char *be = getenv("DUNE_BACKEND");

	(void)f;
	(void)iter;
	(void)tail;
	(void)arg;
	if (WIFEXITED(status) && WEXITSTATUS(status) == WATCHDOG_EXIT &&
	    !(be && !strcmp(be, "kvm")))
		return O_SPIN;
	return -1;
}

/* After the fuzzing: a new process still enters and runs ring 3. */
static volatile long sanity_pid;

static void sanity_syscall(struct dune_tf *tf)
{
	if (tf->rax == SYS_getpid) {
		dune_passthrough_syscall(tf);
		sanity_pid = (long)tf->rax;
	}
	dune_ret_from_user(7);
}

static char sanity_stack[16384] __attribute__((aligned(16)));

static void __attribute__((noinline)) sanity_user(void)
{
	__asm__ volatile("mov %0, %%eax\n\tsyscall\n\tud2" : : "i"(SYS_getpid) : "rax", "rcx", "r11");
}

static void check_libdune(void)
{
	pid_t pid = fork();
	int st = 0;

	CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		struct dune_tf tf;

		if (dune_init_and_enter())
			_exit(2);
		dune_register_syscall_handler(sanity_syscall);
		memset(&tf, 0, sizeof(tf));
		tf.rip = (uintptr_t)sanity_user;
		tf.rsp = (uintptr_t)(sanity_stack + sizeof(sanity_stack) - 8);
		tf.rflags = 0x202;
		if (dune_jump_to_user(&tf) != 7 || sanity_pid != getpid())
			_exit(3);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	CT_EXPECT(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "after the fuzzing a new process cannot enter Dune mode and run ring 3 (wait status %#x)", st);
	printf("libdune check: a new process entered Dune mode and made a ring-3 system call\n");
}

static void run_user_fuzz(const char *id, uint64_t iters, double budget, bool syscalls_only)
{
	struct uarg ua = { syscalls_only };
	const char *be = getenv("DUNE_BACKEND");
	struct fuzz f;

	for (unsigned int s = 0; fuzz_begin(&f, s, id, iters, budget, outcomes, O_NR); s++) {
		fuzz_run(&f, 100, user_worker, &ua, user_death);
		fuzz_end(&f);
	}
	check_libdune();
	if (be && !strcmp(be, "vmx"))
		fuzz_check_module();
}

CTEST(fuzz_user_code,
      .id = "api.fuzz.user_code",
      .profile = "robustness",
      .what = "random ring-3 code (random bytes, system instructions, syscalls) and register states run with dune_jump_to_user: every run ends in a registered handler entered from ring 3 (exception vectors, page faults, syscalls not passed through, the SIGALRM run bound) and returns its code; passed-through syscalls are right; the kernel log stays clean and Dune mode still works",
      .needs = "dune",
      .timeout = 60)
{
	run_user_fuzz("api.fuzz.user_code", 500, 25, false);
}

CTEST(fuzz_user_syscall,
      .id = "api.fuzz.user_syscall",
      .profile = "robustness",
      .what = "random system calls from ring 3 (numbers from a harmless list, unknown numbers, any number; random arguments, pointers ours or bad) reach the syscall handler; the harmless ones passed through return what the host returns (identity values, 0, lengths, -EFAULT for bad pointers, -ENOSYS/-EINVAL for unknown numbers), the others end the run",
      .needs = "dune",
      .timeout = 45)
{
	run_user_fuzz("api.fuzz.user_syscall", 300, 15, true);
}

/* ------------------------------------------------------------ regression */

/* The regression cases' ring 3: a code page holding prog (len bytes) and a
 * stack page, mapped and the TLB flushed; -1 if a page could not be mapped. */
static int regress_pages(struct upage *code, struct upage *stack, const void *prog, size_t len)
{
	if (map_user_page(code, U_CODE, PERM_R | PERM_X | PERM_U) ||
	    map_user_page(stack, U_STACK, PERM_R | PERM_W | PERM_U))
		return -1;
	memcpy(code->p, prog, len);
	dune_flush_tlb();
	return 0;
}

/* a ring-3 frame that starts at rip on the stack page, interrupts on */
static void regress_tf(struct dune_tf *tf, uintptr_t rip)
{
	memset(tf, 0, sizeof(*tf));
	tf->rip = rip;
	tf->rsp = U_STACK + PGSIZE - 64;
	tf->rflags = 0x202;
}

/* cb for every exception vector but #PF */
static void regress_all_traps(dune_intr_cb cb)
{
	for (int v = 0; v < 32; v++)
		if (v != 14)
			dune_register_intr_handler(v, cb);
}

static volatile uint64_t vmcall_rax, vmcall_rip;

static void vmcall_trap(struct dune_tf *tf)
{
	vmcall_rax = tf->rax;
	vmcall_rip = tf->rip;
	dune_ret_from_user(0x66);
}

CTEST(regress_user_vmcall,
      .id = "api.regress.user_vmcall",
      .profile = "robustness",
      .what = "a VMCALL in ring 3 (getpid in rax) runs no host system call behind the ring-0 code's back: when ring 3 next traps rax holds an error (vmx module and KVM: -EPERM) or still the number, never the pid",
      .needs = "dune")
{
	static const uint8_t prog[] = {
		0xb8, SYS_getpid, 0, 0, 0,	/* mov $getpid, %eax */
		0x0f, 0x01, 0xc1,		/* vmcall */
		0x0f, 0x0b,			/* ud2 */
	};
	struct upage code, stack;
	struct dune_tf tf;
	int ret;

	ENTER();
	regress_all_traps(vmcall_trap);
	CT_ASSERT(regress_pages(&code, &stack, prog, sizeof(prog)) == 0, "mapping pages");
	regress_tf(&tf, U_CODE);
	ret = dune_jump_to_user(&tf);
	ct_log("backend %s: ring 3 trapped at rip %#lx (VMCALL at %#lx) with rax %#lx", conf_backend(),
	       (unsigned long)vmcall_rip, (unsigned long)U_CODE + 5, (unsigned long)vmcall_rax);
	CT_EXPECT_EQ(ret, 0x66);
	CT_EXPECT(vmcall_rax != (uint64_t)getpid(),
		  "the ring-3 VMCALL ran getpid on the host: rax %#lx", (unsigned long)vmcall_rax);
}

static volatile int ldt_vec = -1;

static void ldt_trap(struct dune_tf *tf)
{
	(void)tf;
	dune_ret_from_user(0x77);
}

#define LDT_TRAP(n) static void ldt_trap_##n(struct dune_tf *tf) { ldt_vec = n; ldt_trap(tf); }
LDT_TRAP(6) LDT_TRAP(11) LDT_TRAP(13)

static void ldt_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr;
	(void)fec;
	ldt_vec = 14;
	ldt_trap(tf);
}

CTEST(regress_user_ldt,
      .id = "api.regress.user_ldt",
      .profile = "robustness",
      .what = "ring-3 code that loads a segment register with an LDT selector (TI=1) gets #GP: there is no LDT (it must not be read from guest-virtual 0, which with dune_init(true) maps host page 0 and ended the process with an EPT violation; found by api.fuzz.user_code)",
      .needs = "dune")
{
	static const uint8_t prog[] = {
		0xb8, 0x07, 0, 0, 0,		/* mov $7, %eax: LDT entry 0, RPL 3 */
		0x8e, 0xd8,			/* mov %eax, %ds */
		0x0f, 0x0b,			/* ud2: the load worked */
	};
	struct upage code, stack;
	struct dune_tf tf;

	ENTER();
	dune_register_intr_handler(T_ILLOP, ldt_trap_6);
	dune_register_intr_handler(T_SEGNP, ldt_trap_11);
	dune_register_intr_handler(T_GPFLT, ldt_trap_13);
	dune_register_pgflt_handler(ldt_pgflt);
	CT_ASSERT(regress_pages(&code, &stack, prog, sizeof(prog)) == 0, "mapping pages");
	regress_tf(&tf, U_CODE);
	CT_EXPECT_EQ(dune_jump_to_user(&tf), 0x77);
	CT_EXPECT(ldt_vec == T_GPFLT, "the LDT selector load raised vector %d, want #GP (13)", ldt_vec);
}

static volatile int priv_vec;

#define PRIV_TRAP(n) static void priv_trap_##n(struct dune_tf *tf) { (void)tf; priv_vec = n; dune_ret_from_user(0x50 + n); }
PRIV_TRAP(6) PRIV_TRAP(13)

static void priv_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr;
	(void)fec;
	(void)tf;
	priv_vec = 14;
	dune_ret_from_user(0x50 + 14);
}

CTEST(regress_user_privileged,
      .id = "api.regress.user_privileged",
      .profile = "robustness",
      .what = "ring-3 code running instructions only ring 0 may run (hlt, rdmsr, wrmsr, in, out, invd, wbinvd, cli, clts, rdpmc, swapgs, sysret, lgdt, MOV from CR0, MOV to CR8, MOV to and from debug registers, xsetbv) gets #GP in its handler each time, whether or not the instruction exits to the hypervisor first; found by api.fuzz.user_code (MOV DR and, in the lab, XSETBV from ring 3 ended the process)",
      .needs = "dune")
{
	static const struct {
		const char *name;
		uint8_t len, insn[6];
	} insns[] = {
		{ "hlt", 1, { 0xf4 } },
		{ "rdmsr", 2, { 0x0f, 0x32 } },
		{ "wrmsr", 2, { 0x0f, 0x30 } },
		{ "in $0x80, %al", 2, { 0xe4, 0x80 } },
		{ "out %al, $0x80", 2, { 0xe6, 0x80 } },
		{ "invd", 2, { 0x0f, 0x08 } },
		{ "wbinvd", 2, { 0x0f, 0x09 } },
		{ "cli", 1, { 0xfa } },
		{ "clts", 2, { 0x0f, 0x06 } },
		{ "rdpmc", 2, { 0x0f, 0x33 } },
		{ "swapgs", 3, { 0x0f, 0x01, 0xf8 } },
		{ "sysretq", 3, { 0x48, 0x0f, 0x07 } },
		{ "lgdt (%rsp)", 4, { 0x0f, 0x01, 0x14, 0x24 } },
		{ "mov %cr0, %rax", 3, { 0x0f, 0x20, 0xc0 } },
		{ "mov %rax, %cr8", 4, { 0x44, 0x0f, 0x22, 0xc0 } },
		{ "mov %dr7, %rax", 3, { 0x0f, 0x21, 0xf8 } },
		{ "mov %rax, %dr0", 3, { 0x0f, 0x23, 0xc0 } },
		{ "xsetbv", 3, { 0x0f, 0x01, 0xd1 } },
	};
	struct upage code, stack;
	unsigned int i;

	ENTER();
	dune_register_intr_handler(T_ILLOP, priv_trap_6);
	dune_register_intr_handler(T_GPFLT, priv_trap_13);
	dune_register_pgflt_handler(priv_pgflt);
	CT_ASSERT(regress_pages(&code, &stack, "", 0) == 0, "mapping pages");
	for (i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
		struct dune_tf tf;
		int ret;

		memset(code.p, 0x90, 64);
		memcpy(code.p, insns[i].insn, insns[i].len);
		memcpy(code.p + insns[i].len, "\x0f\x0b", 2);	/* ud2: it did not fault */
		regress_tf(&tf, U_CODE);
		tf.rcx = 0x10;		/* rdmsr/wrmsr: the TSC; rdpmc: counter 16 */
		priv_vec = -1;
		ret = dune_jump_to_user(&tf);
		CT_EXPECT(ret == 0x50 + 13 && priv_vec == T_GPFLT,
			  "%s in ring 3: vector %d, want #GP (13)", insns[i].name, priv_vec);
	}
}

/* ------------------------------------------------------------ libdune bugs */

/*
 * Found by the fuzzing above, in libdune (ref-lib/), and fixed there;
 * each reproduces one (the fuzz tests still leave out what triggered
 * them, see fz_ring3_gs and DUNE_FUZZ_USER_BADRIP / DUNE_FUZZ_USER_SPIN).
 */
static void bug_trap(struct dune_tf *tf)
{
	(void)tf;
	dune_ret_from_user(0x13);
}

static void bug_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	(void)addr;
	(void)fec;
	(void)tf;
	dune_ret_from_user(0x14);
}

static __thread volatile int tls_marker = 0x5eed;

CTEST(bug_noncanonical_rip,
      .id = "api.regress.jump_noncanonical_rip",
      .profile = "robustness",
      .what = "dune_jump_to_user with a non-canonical RIP comes back through a handler and leaves ring 0 intact (its own FS base and TLS, system calls from ring 0 not taken for ring 3's); found by api.fuzz.user_code",
      .needs = "dune",
      .timeout = 5)
{
	struct upage stack;
	struct dune_tf tf;
	int ret;

	ENTER();
	regress_all_traps(bug_trap);
	dune_register_pgflt_handler(bug_pgflt);
	CT_ASSERT(map_user_page(&stack, U_STACK, PERM_R | PERM_W | PERM_U) == 0, "mapping a page");
	dune_flush_tlb();
	regress_tf(&tf, 0x0000800000000000ULL);
	ret = dune_jump_to_user(&tf);
	ct_log("dune_jump_to_user returned %#x", ret);
	CT_EXPECT_EQ(tls_marker, 0x5eed);
	CT_EXPECT_EQ(syscall(SYS_getpid), getpid());
}

static volatile long gs_pid;

static void gs_syscall(struct dune_tf *tf)
{
	if (tf->rax == SYS_getpid) {
		dune_passthrough_syscall(tf);
		gs_pid = (long)tf->rax;
	}
	dune_ret_from_user(0x15);
}

CTEST(bug_user_gs,
      .id = "api.regress.user_gs_load",
      .profile = "robustness",
      .what = "ring 3 may load %gs (mov $0x2b, %ax; mov %ax, %gs, then a syscall): its system call still reaches the syscall handler, and ring 0 keeps its own GS base; found by api.fuzz.user_code",
      .needs = "dune",
      .timeout = 5)
{
	static const uint8_t prog[] = {
		0xb8, 0x2b, 0, 0, 0,		/* mov $GD_UD|3, %eax */
		0x8e, 0xe8,			/* mov %eax, %gs: GS base 0 */
		0xb8, SYS_getpid, 0, 0, 0,	/* mov $getpid, %eax */
		0x0f, 0x05,			/* syscall */
		0x0f, 0x0b,
	};
	struct upage code, stack;
	struct dune_tf tf;
	int ret;

	ENTER();
	regress_all_traps(bug_trap);
	dune_register_pgflt_handler(bug_pgflt);
	dune_register_syscall_handler(gs_syscall);
	CT_ASSERT(regress_pages(&code, &stack, prog, sizeof(prog)) == 0, "mapping pages");
	regress_tf(&tf, U_CODE);
	ret = dune_jump_to_user(&tf);
	CT_EXPECT_EQ(ret, 0x15);
	CT_EXPECT_EQ(gs_pid, getpid());
}

static volatile int ring3_signals;

static void count_signal(int sig)
{
	(void)sig;
	ring3_signals++;
}

static void spin_done(struct dune_tf *tf)
{
	(void)tf;
	dune_ret_from_user(0x16);
}

CTEST(bug_vmx_signal,
      .id = "api.regress.signal_in_ring3",
      .profile = "robustness",
      .what = "a dune_signal() signal that arrives while ring 3 runs is delivered (in ring 3, or at the latest when the thread is next in ring 0), not lost; found by api.fuzz.user_code (a ring-3 loop could not be stopped on vmx)",
      .needs = "dune",
      .timeout = 5)
{
	/* ring 3: spin until rdtsc >= rbx, then syscall */
	static const uint8_t prog[] = {
		0x0f, 0x31,			/* 1: rdtsc */
		0x48, 0xc1, 0xe2, 0x20,		/* shl $32, %rdx */
		0x48, 0x09, 0xd0,		/* or %rdx, %rax */
		0x48, 0x39, 0xd8,		/* cmp %rbx, %rax */
		0x72, 0xf2,			/* jb 1b */
		0x0f, 0x05,			/* syscall */
		0x0f, 0x0b,
	};
	struct itimerval it = { { 0, 0 }, { 0, 10000 } };	/* once, in 10 ms */
	struct upage code, stack;
	struct dune_tf tf;
	unsigned long t0, t1;
	int ret;

	ENTER();
	dune_signal(SIGALRM, count_signal);
	dune_register_syscall_handler(spin_done);
	CT_ASSERT(regress_pages(&code, &stack, prog, sizeof(prog)) == 0, "mapping pages");
	/* how many TSC ticks are 20 ms */
	t0 = dune_get_ticks();
	usleep(20000);
	t1 = dune_get_ticks();
	regress_tf(&tf, U_CODE);
	tf.rbx = dune_get_ticks() + 3 * (t1 - t0);	/* spin 60 ms in ring 3 */
	setitimer(ITIMER_REAL, &it, NULL);
	ret = dune_jump_to_user(&tf);
	CT_EXPECT_EQ(ret, 0x16);
	/* another signal: a SIGNAL stop in ring 0 delivers what is pending */
	raise(SIGALRM);
	for (int i = 0; i < 100 && ring3_signals < 2; i++)
		usleep(1000);
	ct_log("dune_signal handler ran %d times (2 signals: one while in ring 3, one in ring 0)",
	       ring3_signals);
	CT_EXPECT(ring3_signals == 2, "the SIGALRM that came while ring 3 ran was lost (%d of 2 delivered)",
		  ring3_signals);
}

/* SYSCALL with TF set in ring 3 */
static volatile int tfsc_db0, tfsc_db3, tfsc_nsys, tfsc_sys_ring;
static volatile uint64_t tfsc_db0_rip, tfsc_db3_rip, tfsc_sys_rip;
static volatile long tfsc_pid;

static void tfsc_debug(struct dune_tf *tf)
{
	/* no system call here: in ring 0 this may run before the entry
	 * switched to ring 0's GS and FS */
	if ((tf->cs & 3) == 3) {
		if (!tfsc_db3++)
			tfsc_db3_rip = tf->rip;
		return;			/* ring 3 goes on, single-stepped */
	}
	if (!tfsc_db0++)
		tfsc_db0_rip = tf->rip;
}

static void tfsc_syscall(struct dune_tf *tf)
{
	tfsc_nsys++;
	tfsc_sys_ring = tf->cs & 3;
	tfsc_sys_rip = tf->rip;
	if (tf->rax == SYS_getpid) {
		dune_passthrough_syscall(tf);
		tfsc_pid = (long)tf->rax;
	}
	/* back to ring 3 after the syscall, TF set again (from r11) */
}

static void tfsc_end(struct dune_tf *tf)
{
	(void)tf;
	dune_ret_from_user(0x17);
}

CTEST(bug_syscall_tf,
      .id = "api.regress.syscall_tf",
      .profile = "robustness",
      .what = "a syscall from ring 3 with TF (single-step) set reaches the syscall handler from ring 3 and nothing traps in ring 0: a CPU or emulator that raises the single-step #DB at the first instruction of the syscall entry (before it switched to ring 0's GS, FS and stack) must not run ring 0's handlers on ring 3's state; ring 3 is single-stepped before and after; found by api.fuzz.user_code (seed 0xbf83a2fca62cc1bf, iteration 127, in the VMX lab)",
      .needs = "dune",
      .timeout = 5)
{
	static const uint8_t prog[] = {
		0xb8, SYS_getpid, 0, 0, 0,	/* mov $getpid, %eax */
		0x0f, 0x05,			/* syscall */
		0x90,				/* nop */
		0x0f, 0x0b,			/* ud2: the end */
	};
	struct upage code, stack;
	struct dune_tf tf;
	int ret;

	ENTER();
	/* on vmx the module stops at every #DB (DUNE_RET_INTERRUPT, by the
	 * ABI): single-stepping ring 3 is the kvm backend's */
	if (!dune_backend_name() || strcmp(dune_backend_name(), "kvm"))
		CT_SKIP("backend %s: a #DB in the guest ends the run (ABI: #DB is intercepted); TF in ring 3 is for the kvm backend only",
			dune_backend_name() ? dune_backend_name() : "?");
	if (getenv("DUNE_FUZZ_USER_NO_TF"))
		CT_SKIP("DUNE_FUZZ_USER_NO_TF is set: no TF in ring 3 on this machine (see conformance/lab-tests.list)");
	regress_all_traps(tfsc_end);
	dune_register_intr_handler(T_DEBUG, tfsc_debug);
	dune_register_pgflt_handler(bug_pgflt);
	dune_register_syscall_handler(tfsc_syscall);
	CT_ASSERT(regress_pages(&code, &stack, prog, sizeof(prog)) == 0, "mapping pages");
	regress_tf(&tf, U_CODE);
	tf.rflags |= 0x100;		/* TF */
	ret = dune_jump_to_user(&tf);
	ct_log("returned %#x; #DB from ring 3: %d (first at rip %#lx), from ring 0: %d (first at rip %#lx); syscall handler: %d call(s), ring %d, rip %#lx",
	       ret, tfsc_db3, (unsigned long)tfsc_db3_rip, tfsc_db0, (unsigned long)tfsc_db0_rip, tfsc_nsys,
	       tfsc_sys_ring, (unsigned long)tfsc_sys_rip);
	CT_EXPECT(tfsc_db0 == 0, "%d #DB in ring 0, the first at rip %#lx: the single-step trap of the ring-3 syscall ran ring 0's handler on ring 3's GS, FS and stack",
		  tfsc_db0, (unsigned long)tfsc_db0_rip);
	CT_EXPECT_EQ(tfsc_nsys, 1);
	CT_EXPECT_EQ(tfsc_sys_ring, 3);
	CT_EXPECT_EQ(tfsc_sys_rip, U_CODE + 7);
	CT_EXPECT_EQ(tfsc_pid, (long)getpid());
	CT_EXPECT_EQ(ret, 0x17);
	CT_EXPECT(tfsc_db3 >= 1 && tfsc_db3_rip == U_CODE + 5,
		  "ring 3 was not single-stepped: %d #DB, the first at rip %#lx (want %#lx)", tfsc_db3,
		  (unsigned long)tfsc_db3_rip, (unsigned long)U_CODE + 5);
}

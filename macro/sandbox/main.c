// SPDX-License-Identifier: MIT
/*
 * dune-sandbox - run an unmodified Linux x86-64 program in guest ring 3
 * under a runtime in guest ring 0 (libdune, either backend).
 *
 * The runtime loads the program (and its ELF interpreter) the way the
 * kernel does, builds its initial stack, and enters ring 3 at the entry
 * point.  Every system call of the program comes to on_syscall(): the
 * policy is applied, every pointer argument is checked against the table
 * of the program's memory (sb_mem, -EFAULT for anything else: the runtime's
 * memory is never followed), the memory calls are emulated so that the
 * guest page tables (the program's pages are the only user-accessible
 * ones) and the host mappings stay the same, and the rest is passed to the
 * host.  A fault in ring 3 ends the program with the signal Linux would
 * have sent.
 *
 * The program runs without a vDSO (no AT_SYSINFO_EHDR): glibc then makes
 * real system calls for the time functions, which the runtime sees.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <asm/prctl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <linux/mman.h>

#include <dune/dune.h>

#include "sandbox.h"

#define STACK_SIZE	(8UL << 20)
#define BRK_RESERVE	(1UL << 30)
#define BRK_MIN		(16UL << 20)
#define MAX_FD		4096
#define TRACE_FD_MIN	900

static struct sb_mem mem;
static struct sb_policy pol;
static bool opt_trace, opt_big;
static int trace_fd = -1;
static const char *prog_path;
static uintptr_t brk_start, brk_cur, brk_limit;
static unsigned char runtime_fd[MAX_FD / 8];
static unsigned char prog_fd_at_start[MAX_FD / 8];

struct ksigaction {
	uint64_t handler, flags, restorer, mask;
};
static struct ksigaction sigact[65];

/*
 * Each thread of the program runs on a host thread of its own with a vCPU
 * of its own (dune_enter on that thread); what belongs to one thread of
 * the program is thread-local here.  The table of the program's memory,
 * the guest page tables, the brk and the signal actions are the process's
 * and are changed and read under mem_mu.
 */
static __thread uint64_t altstack[3] = { 0, 2 /* SS_DISABLE */, 0 };
static __thread uint64_t prog_mask;	/* the thread's blocked signals (bit sig - 1) */
static __thread uint64_t pending;	/* signals for this thread, waiting for delivery */
static __thread int pending_code[65];	/* their si_code: SI_USER (kill) or SI_TKILL */
static __thread uint8_t fpu_area[16384] __attribute__((aligned(64)));
static __thread char tbuf[2048];
static __thread uint64_t clear_tid;	/* CLONE_CHILD_CLEARTID of a thread made by clone */
static __thread bool spawned;		/* a thread made by clone (not the first one) */

static bool use_xsave;
static uint64_t xsave_mask;

static pthread_mutex_t mem_mu = PTHREAD_MUTEX_INITIALIZER;
static int live_threads = 1;		/* the program's threads (atomic) */
static bool main_exited;		/* the first thread ended with exit */
static int main_status;

static void mem_lock(void)
{
	pthread_mutex_lock(&mem_mu);
}

static void mem_unlock(void)
{
	pthread_mutex_unlock(&mem_mu);
}

/* what an execve of the program runs again: dune-sandbox with these options */
static char *rt_opts[16];
static int n_rt_opts;
static char trace_fd_arg[16];

/* ------------------------------------------------------------ helpers */

/* what a check made under mem_mu returns when the call is to be passed to
 * the host as it is after mem_mu is let go (it may block), or to be run by
 * the runtime without mem_mu (exit, clone, fork, execve) */
#define SB_PASS		(1L << 62)
#define SB_UNLOCKED	(1L << 61)

static long raw6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define raw(nr, a0, a1, a2) raw6(nr, (long)(a0), (long)(a1), (long)(a2), 0, 0, 0)

static void out_fd(int fd, const char *s, size_t n)
{
	while (n) {
		long k = raw(SYS_write, fd, s, n);

		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* one line on stderr: "dune-sandbox: ..." */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	char b[1024];
	va_list ap;
	int k = snprintf(b, sizeof(b), "dune-sandbox: ");

	va_start(ap, fmt);
	vsnprintf(b + k, sizeof(b) - (size_t)k, fmt, ap);
	va_end(ap);
	k = (int)strlen(b);
	if (k < (int)sizeof(b) - 1)
		b[k++] = '\n';
	out_fd(2, b, (size_t)k);
}

static void trace_out(const char *s, size_t n)
{
	if (trace_fd >= 0)
		out_fd(trace_fd, s, n);
}

static void note(long nr, const char *what)
{
	if (opt_trace)
		trace_out(tbuf, sb_trace_note(tbuf, sizeof(tbuf), nr, what));
}

/* end the program as if Linux had sent it sig (the exit status a shell sees
 * is the same: 128 + sig, or the signal itself) */
static void __attribute__((noreturn)) die_by_signal(int sig)
{
	struct ksigaction dfl = { 0, 0, 0, 0 };
	uint64_t set = 1UL << (sig - 1);

	raw6(SYS_rt_sigaction, sig, (long)&dfl, 0, 8, 0, 0);
	raw6(SYS_rt_sigprocmask, SIG_UNBLOCK, (long)&set, 0, 8, 0, 0);
	raw(SYS_kill, raw(SYS_getpid, 0, 0, 0), sig, 0);
	raw(SYS_exit_group, 128 + sig, 0, 0);
	for (;;)
		;
}

static bool is_runtime_fd(long fd)
{
	return fd >= 0 && fd < MAX_FD && (runtime_fd[fd / 8] & (1 << (fd % 8)));
}

/* ------------------------------------------------- guest page tables */

/* can [va, va + len) be given a guest-physical address (one Dune window)? */
static bool gpa_ok(uintptr_t va, size_t len)
{
	uintptr_t end = va + len;

	if (end < va)
		return false;
	if (va >= stack_base)
		return end - stack_base <= DUNE_GPA_STACK_SIZE;
	if (va >= mmap_base)
		return end <= mmap_base + DUNE_GPA_MAP_SIZE;
	if (dune_exec_size && va - dune_exec_base < dune_exec_size)
		return end - dune_exec_base <= dune_exec_size;
	/* identity: below the map window's guest-physical start and below
	 * where the kvm backend's extra windows begin */
	return end <= mmap_base && end <= (1UL << 36);
}

static int prot_perm(int prot)
{
	int perm = PERM_R | PERM_U;

	if (prot & PROT_WRITE)
		perm |= PERM_W;
	if (prot & PROT_EXEC)
		perm |= PERM_X;
	return perm;
}

/* the guest page tables are the process's: one vCPU changes them at a time */
static int pt_lock_word;
static __thread bool pt_locked;

static void pt_lock(void)
{
	while (__atomic_exchange_n(&pt_lock_word, 1, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
	pt_locked = true;
}

static void pt_unlock(void)
{
	pt_locked = false;
	__atomic_store_n(&pt_lock_word, 0, __ATOMIC_RELEASE);
}

static int guest_map_locked(uintptr_t va, size_t len, int prot);

/* make the guest page tables say what the program may do with [va, va+len) */
static int guest_map(uintptr_t va, size_t len, int prot)
{
	int ret;

	pt_lock();
	ret = guest_map_locked(va, len, prot);
	pt_unlock();
	return ret;
}

static int guest_map_locked(uintptr_t va, size_t len, int prot)
{
	int ret = 0;

	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC))) {
		dune_vm_unmap(pgroot, (void *)va, len);
	} else if (opt_big && prot_perm(prot) && len >= SB_BIG) {
		uintptr_t a = (va + SB_BIG - 1) & ~(SB_BIG - 1), b = (va + len) & ~(SB_BIG - 1);

		if (a > va)
			ret = dune_vm_map_phys(pgroot, (void *)va, a - va, (void *)dune_va_to_pa((void *)va),
					       prot_perm(prot));
		if (!ret && b > a)
			ret = dune_vm_map_phys(pgroot, (void *)a, b - a, (void *)dune_va_to_pa((void *)a),
					       prot_perm(prot) | PERM_BIG);
		if (!ret && va + len > b && b >= a)
			ret = dune_vm_map_phys(pgroot, (void *)b, va + len - b,
					       (void *)dune_va_to_pa((void *)b), prot_perm(prot));
	} else {
		ret = dune_vm_map_phys(pgroot, (void *)va, len, (void *)dune_va_to_pa((void *)va),
				       prot_perm(prot));
	}
	dune_flush_tlb();
	return ret;
}

static void guest_unmap(uintptr_t va, size_t len)
{
	pt_lock();
	dune_vm_unmap(pgroot, (void *)va, len);
	pt_unlock();
	dune_flush_tlb();
}

/* ------------------------------------------------- memory system calls */

static bool in_dune;	/* after dune_enter: keep the guest tables in step */

static long prog_mmap(uintptr_t addr, size_t len, int prot, int flags, int fd, off_t off)
{
	size_t len_up = SB_PAGE_UP(len);
	long r;

	if (!len || len_up < len)
		return -EINVAL;
	if ((flags & MAP_FIXED) && !(flags & MAP_FIXED_NOREPLACE)) {
		if (addr % SB_PAGE)
			return -EINVAL;
		if (!sb_mem_has(&mem, addr, len_up)) {
			/* not all of it the program's: only where nothing is */
			flags = (flags & ~MAP_FIXED) | MAP_FIXED_NOREPLACE;
		}
	}
	if (opt_big && (flags & MAP_ANONYMOUS) && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) &&
	    !addr && len_up >= SB_BIG) {
		/* a 2 MiB aligned start, so that the guest can use big pages */
		r = raw6(SYS_mmap, 0, (long)(len_up + SB_BIG), prot, flags, fd, off);
		if (r >= 0 || r < -4095) {
			uintptr_t a = ((uintptr_t)r + SB_BIG - 1) & ~(SB_BIG - 1);

			if (a > (uintptr_t)r)
				raw(SYS_munmap, r, a - (uintptr_t)r, 0);
			if ((uintptr_t)r + len_up + SB_BIG > a + len_up)
				raw(SYS_munmap, a + len_up, (uintptr_t)r + SB_BIG - a, 0);
			r = (long)a;
			raw(SYS_madvise, r, len_up, MADV_HUGEPAGE);
		}
	} else {
		r = raw6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
	}
	if (r < 0 && r >= -4095) {
		if (r == -EEXIST && (flags & MAP_FIXED_NOREPLACE) && !sb_mem_overlaps(&mem, addr, len_up))
			return -ENOMEM;	/* the runtime is there */
		return r;
	}
	if (!gpa_ok((uintptr_t)r, len_up)) {
		raw(SYS_munmap, r, len_up, 0);
		if (addr && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
			return prog_mmap(0, len, prot, flags, fd, off);
		return -ENOMEM;
	}
	if (sb_mem_add(&mem, (uintptr_t)r, (uintptr_t)r + len_up, prot)) {
		raw(SYS_munmap, r, len_up, 0);
		return -ENOMEM;
	}
	if (in_dune && guest_map((uintptr_t)r, len_up, prot)) {
		raw(SYS_munmap, r, len_up, 0);
		sb_mem_del(&mem, (uintptr_t)r, (uintptr_t)r + len_up);
		return -ENOMEM;
	}
	return r;
}

static long prog_munmap(uintptr_t addr, size_t len)
{
	uintptr_t end = addr + SB_PAGE_UP(len);

	if (addr % SB_PAGE || !len || end < addr)
		return -EINVAL;
	for (int i = 0; i < mem.n; i++) {
		uintptr_t s = mem.r[i].start, e = mem.r[i].end;

		if (e <= addr || s >= end)
			continue;
		if (s < addr)
			s = addr;
		if (e > end)
			e = end;
		raw(SYS_munmap, s, e - s, 0);
		if (in_dune)
			guest_unmap(s, e - s);
		sb_mem_del(&mem, s, e);
		i = -1;		/* the table changed: look again */
	}
	return 0;
}

static long prog_mprotect(uintptr_t addr, size_t len, int prot)
{
	size_t l = SB_PAGE_UP(len);
	long r;

	if (addr % SB_PAGE)
		return -EINVAL;
	if (!len)
		return 0;
	if (!sb_mem_has(&mem, addr, l))
		return -ENOMEM;
	r = raw(SYS_mprotect, addr, l, prot);
	if (r)
		return r;
	sb_mem_add(&mem, addr, addr + l, prot);
	if (in_dune)
		guest_map(addr, l, prot);
	return 0;
}

static long prog_brk(uintptr_t want)
{
	uintptr_t cur = SB_PAGE_UP(brk_cur), nu = SB_PAGE_UP(want);
	long r;

	if (!want || want < brk_start || want > brk_limit)
		return (long)brk_cur;
	if (nu > cur) {
		r = raw6(SYS_mmap, (long)cur, (long)(nu - cur), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (r < 0 && r >= -4095)
			return (long)brk_cur;
		sb_mem_add(&mem, cur, nu, PROT_READ | PROT_WRITE);
		if (in_dune)
			guest_map(cur, nu - cur, PROT_READ | PROT_WRITE);
	} else if (nu < cur) {
		/* back to the reservation */
		raw6(SYS_mmap, (long)nu, (long)(cur - nu), PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		if (in_dune)
			guest_unmap(nu, cur - nu);
		sb_mem_del(&mem, nu, cur);
	}
	brk_cur = want;
	return (long)want;
}

static int prot_at(uintptr_t a)
{
	for (int i = 0; i < mem.n; i++)
		if (mem.r[i].start <= a && a < mem.r[i].end)
			return mem.r[i].prot;
	return 0;
}

static long prog_mremap(uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t newaddr)
{
	size_t ol = SB_PAGE_UP(oldlen), nl = SB_PAGE_UP(newlen);
	int prot;
	long r;

	if (old % SB_PAGE || !nl)
		return -EINVAL;
	if (!sb_mem_has(&mem, old, ol ? ol : SB_PAGE))
		return -EFAULT;
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !sb_mem_has(&mem, newaddr, nl))
		return -EINVAL;
	prot = prot_at(old);
	r = raw6(SYS_mremap, (long)old, (long)oldlen, (long)newlen, flags, (long)newaddr, 0);
	if (r < 0 && r >= -4095)
		return r;
	if (!gpa_ok((uintptr_t)r, nl)) {
		/* cannot happen with the kernel's placement; do not leave it half done */
		say("%s: mremap placed memory outside the guest's reach", prog_path);
		die_by_signal(SIGSEGV);
	}
	if (ol) {
		guest_unmap(old, ol);
		sb_mem_del(&mem, old, old + ol);
	}
	sb_mem_add(&mem, (uintptr_t)r, (uintptr_t)r + nl, prot);
	guest_map((uintptr_t)r, nl, prot);
	return r;
}

/* ------------------------------------------------------- other calls */

static long prog_ioctl(const uint64_t *a)
{
	unsigned long req = a[1];
	size_t in = 0, out = 0;

	switch (req) {
	case 0x5401: out = 36; break;		/* TCGETS */
	case 0x5402: case 0x5403: case 0x5404: in = 36; break;	/* TCSETS* */
	case 0x5413: out = 8; break;		/* TIOCGWINSZ */
	case 0x5414: in = 8; break;		/* TIOCSWINSZ */
	case 0x541B: out = 4; break;		/* FIONREAD */
	case 0x5421: in = 4; break;		/* FIONBIO */
	case 0x540F: out = 4; break;		/* TIOCGPGRP */
	case 0x5410: in = 4; break;		/* TIOCSPGRP */
	case 0x5450: case 0x5451: break;	/* FIONCLEX, FIOCLEX */
	default:
		note(SYS_ioctl, "request not supported: ENOTTY");
		return -ENOTTY;
	}
	if (!sb_mem_has(&mem, a[2], in + out))
		return -EFAULT;
	return SB_PASS;
}

static long prog_fcntl(const uint64_t *a)
{
	switch ((int)a[1]) {
	case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD: case F_GETFL:
	case F_SETFL: case F_GETOWN: case F_SETOWN: case F_SETPIPE_SZ: case F_GETPIPE_SZ:
	case F_ADD_SEALS: case F_GET_SEALS:
		break;
	case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK:
	case F_OFD_SETLKW:
		if (!sb_mem_has(&mem, a[2], 32))
			return -EFAULT;
		break;
	default:
		note(SYS_fcntl, "command not supported: EINVAL");
		return -EINVAL;
	}
	return SB_PASS;
}

static long prog_futex(const uint64_t *a)
{
	int op = (int)a[1] & FUTEX_CMD_MASK;

	if (!sb_mem_has(&mem, a[0], 4))
		return -EFAULT;
	switch (op) {
	case FUTEX_WAIT: case FUTEX_WAIT_BITSET: case FUTEX_LOCK_PI: case FUTEX_LOCK_PI2:
		if (a[3] && !sb_mem_has(&mem, a[3], 16))
			return -EFAULT;
		break;
	case FUTEX_WAKE: case FUTEX_WAKE_BITSET: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI:
		break;
	case FUTEX_REQUEUE: case FUTEX_CMP_REQUEUE: case FUTEX_WAKE_OP:
		if (!sb_mem_has(&mem, a[4], 4))
			return -EFAULT;
		break;
	default:
		note(SYS_futex, "operation not supported: ENOSYS");
		return -ENOSYS;
	}
	return SB_PASS;
}

static bool host_signal_route(int sig, uint64_t flags);

static long prog_rt_sigaction(const uint64_t *a)
{
	int sig = (int)a[0];
	struct ksigaction old;

	if (a[3] != 8 || sig < 1 || sig > 64)
		return -EINVAL;
	if ((a[1] && !sb_mem_readable(&mem, a[1], sizeof(old))) ||
	    (a[2] && !sb_mem_has(&mem, a[2], sizeof(old))))
		return -EFAULT;
	if (a[1] && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	old = sigact[sig];
	if (a[1]) {
		memcpy(&sigact[sig], (void *)a[1], sizeof(old));
		/* ignoring is done by the host (a write to a closed pipe then
		 * fails with EPIPE, as natively); handlers are recorded only */
		if (sigact[sig].handler == (uint64_t)(uintptr_t)SIG_IGN || sigact[sig].handler == 0) {
			struct ksigaction h = { sigact[sig].handler, 0, 0, 0 };

			if (sig < 32)
				dune_signal(sig, (sighandler_t)(uintptr_t)sigact[sig].handler);
			else
				raw6(SYS_rt_sigaction, sig, (long)&h, 0, 8, 0, 0);
		} else if (!host_signal_route(sig, sigact[sig].flags)) {
			note(SYS_rt_sigaction, "handler recorded: it runs for the program's own signals and faults; "
			     "this signal from elsewhere takes its default action");
		}
	}
	if (a[2])
		memcpy((void *)a[2], &old, sizeof(old));
	return 0;
}

static long prog_arch_prctl(const uint64_t *a)
{
	switch (a[0]) {
	case ARCH_SET_FS:
		if ((uint64_t)((int64_t)(a[1] << 16) >> 16) != a[1])
			return -EPERM;
		dune_set_user_fs(a[1]);
		return 0;
	case ARCH_GET_FS: {
		uint64_t fs = dune_get_user_fs();

		if (!sb_mem_has(&mem, a[1], 8))
			return -EFAULT;
		memcpy((void *)a[1], &fs, 8);
		return 0;
	}
	default:
		note(SYS_arch_prctl, "code not supported: EINVAL");
		return -EINVAL;
	}
}

static long prog_sigaltstack(const uint64_t *a)
{
	uint64_t old[3];

	if ((a[0] && !sb_mem_readable(&mem, a[0], 24)) || (a[1] && !sb_mem_has(&mem, a[1], 24)))
		return -EFAULT;
	memcpy(old, altstack, sizeof(old));
	if (a[0])
		memcpy(altstack, (void *)a[0], sizeof(altstack));
	if (a[1])
		memcpy((void *)a[1], old, sizeof(old));
	return 0;
}

/* paths no program may open: they would reach the runtime's memory or its
 * virtual machine */
static bool forbidden_path(const char *p)
{
	static const char *const bad[] = { "/dev/kvm", "/dev/dune", "/dev/mem", "/proc/kcore" };
	const char *q;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!strcmp(p, bad[i]))
			return true;
	if (!strncmp(p, "/proc/", 6)) {
		q = p + 6;
		if (!strncmp(q, "self/", 5))
			q += 5;
		else if (!strncmp(q, "thread-self/", 12))
			q += 12;
		else {
			while (*q >= '0' && *q <= '9')
				q++;
			if (*q++ != '/')
				return false;
			if (!strncmp(q, "task/", 5)) {
				q += 5;
				while (*q >= '0' && *q <= '9')
					q++;
				if (*q++ != '/')
					return false;
			}
		}
		return !strncmp(q, "mem", 3) || !strncmp(q, "fd/", 3) || !strncmp(q, "map_files", 9);
	}
	return false;
}

static void __attribute__((noreturn)) policy_kill(long nr)
{
	say("%s: policy: system call %s not allowed: killed", prog_path, sb_sys(nr)->name);
	die_by_signal(SIGSYS);
}


static inline void fpu_save(void)
{
	if (use_xsave)
		__asm__ volatile("xsave64 %0" : "+m"(fpu_area)
				 : "a"((uint32_t)xsave_mask), "d"((uint32_t)(xsave_mask >> 32)));
	else
		__asm__ volatile("fxsave64 %0" : "=m"(fpu_area));
}

static inline void fpu_restore(void)
{
	if (use_xsave)
		__asm__ volatile("xrstor64 %0" : : "m"(fpu_area),
				 "a"((uint32_t)xsave_mask), "d"((uint32_t)(xsave_mask >> 32)));
	else
		__asm__ volatile("fxrstor64 %0" : : "m"(fpu_area));
}

/* ------------------------------------------------------------- signals */

#define SA_RESTORER_	0x04000000
#define SIG_BIT(s)	(1UL << ((s) - 1))
#define UNBLOCKABLE	(SIG_BIT(SIGKILL) | SIG_BIT(SIGSTOP))

static bool has_handler(int sig)
{
	return sig >= 1 && sig <= 64 && sigact[sig].handler > 1;
}

static void set_host_mask(void)
{
	uint64_t m = prog_mask & ~UNBLOCKABLE;

	raw6(SYS_rt_sigprocmask, SIG_SETMASK, (long)&m, 0, 8, 0, 0);
}

/* the kernel's signal frame (arch/x86: struct rt_sigframe) */
struct sigframe {
	uint64_t pretcode;
	/* struct ucontext */
	uint64_t uc_flags, uc_link;
	uint64_t ss_sp, ss_flags_size[2];
	uint64_t gregs[23];	/* r8..r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, csgsfs, err, trapno, oldmask, cr2 */
	uint64_t fpstate;
	uint64_t reserved[8];
	uint64_t uc_sigmask;
	/* siginfo */
	int32_t si_signo, si_errno, si_code, si_pad;
	uint64_t si_f1, si_f2;
	uint8_t si_rest[128 - 32];
};

/*
 * Run the program's handler for sig in ring 3 on return from this trap:
 * a signal frame with a ucontext (registers, the FPU state in fxsave
 * format, the old mask) on the program's stack, or its alternate stack.
 * False when the frame does not fit in the program's memory (the caller
 * then ends the program as Linux would).
 */
static bool deliver(struct dune_tf *tf, int sig, int code, uint64_t f1, uint64_t f2, int trapno)
{
	struct ksigaction *sa = &sigact[sig];
	uintptr_t sp = tf->rsp, fp, fr;
	struct sigframe *f;

	if (!(sa->flags & SA_RESTORER_))
		return false;	/* glibc always gives one; without it there is no way back */
	if ((sa->flags & SA_ONSTACK) && altstack[1] == 0 && altstack[2] &&
	    !(sp > altstack[0] && sp <= altstack[0] + altstack[2]))
		sp = altstack[0] + altstack[2];
	else
		sp -= 128;	/* the red zone */
	fp = (sp - 512) & ~63UL;
	fr = ((fp - sizeof(*f)) & ~15UL) - 8;
	if (!sb_mem_has(&mem, fr, sp - fr) || !(prot_at(fr) & PROT_WRITE) || !(prot_at(fp) & PROT_WRITE))
		return false;
	memcpy((void *)fp, fpu_area, 512);
	memset((uint8_t *)fp + 464, 0, 48);	/* sw_reserved: plain fxsave format */
	f = (struct sigframe *)fr;
	memset(f, 0, sizeof(*f));
	f->pretcode = sa->restorer;
	f->uc_flags = 0x6;	/* UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS */
	f->ss_sp = altstack[0];
	f->ss_flags_size[0] = altstack[1];
	f->ss_flags_size[1] = altstack[2];
	f->gregs[0] = tf->r8; f->gregs[1] = tf->r9; f->gregs[2] = tf->r10; f->gregs[3] = tf->r11;
	f->gregs[4] = tf->r12; f->gregs[5] = tf->r13; f->gregs[6] = tf->r14; f->gregs[7] = tf->r15;
	f->gregs[8] = tf->rdi; f->gregs[9] = tf->rsi; f->gregs[10] = tf->rbp; f->gregs[11] = tf->rbx;
	f->gregs[12] = tf->rdx; f->gregs[13] = tf->rax; f->gregs[14] = tf->rcx; f->gregs[15] = tf->rsp;
	f->gregs[16] = tf->rip; f->gregs[17] = tf->rflags;
	f->gregs[18] = 0x33 | (0x2bUL << 48);	/* cs, ss as Linux's user selectors */
	f->gregs[19] = tf->err;
	f->gregs[20] = (uint64_t)trapno;
	f->gregs[21] = prog_mask;
	f->gregs[22] = trapno == 14 ? f1 : 0;
	f->fpstate = fp;
	f->uc_sigmask = prog_mask;
	f->si_signo = sig;
	f->si_code = code;
	f->si_f1 = f1;
	f->si_f2 = f2;
	prog_mask |= sa->mask;
	if (!(sa->flags & SA_NODEFER))
		prog_mask |= SIG_BIT(sig);
	prog_mask &= ~UNBLOCKABLE;
	set_host_mask();
	if (sa->flags & SA_RESETHAND)
		sa->handler = 0;
	tf->rsp = fr;
	tf->rip = sa->handler;
	tf->rdi = (uint64_t)sig;
	tf->rsi = (uint64_t)&f->si_signo;
	tf->rdx = (uint64_t)&f->uc_flags;
	tf->rax = 0;
	tf->rflags &= ~0x40500UL;	/* TF, DF, AC */
	return true;
}

/* rt_sigreturn: the registers, FPU state and mask of the frame at rsp - 8 */
static void do_sigreturn(struct dune_tf *tf)
{
	struct sigframe *f = (struct sigframe *)(tf->rsp - 8);

	if (!sb_mem_readable(&mem, (uintptr_t)f, sizeof(*f))) {
		say("%s: rt_sigreturn with a bad frame: killed by SIGSEGV", prog_path);
		die_by_signal(SIGSEGV);
	}
	tf->r8 = f->gregs[0]; tf->r9 = f->gregs[1]; tf->r10 = f->gregs[2]; tf->r11 = f->gregs[3];
	tf->r12 = f->gregs[4]; tf->r13 = f->gregs[5]; tf->r14 = f->gregs[6]; tf->r15 = f->gregs[7];
	tf->rdi = f->gregs[8]; tf->rsi = f->gregs[9]; tf->rbp = f->gregs[10]; tf->rbx = f->gregs[11];
	tf->rdx = f->gregs[12]; tf->rax = f->gregs[13]; tf->rcx = f->gregs[14]; tf->rsp = f->gregs[15];
	tf->rip = f->gregs[16];
	tf->rflags = (tf->rflags & ~0x40dd5UL) | (f->gregs[17] & 0x40dd5UL);	/* the user-changeable flags */
	if (f->fpstate && sb_mem_readable(&mem, f->fpstate, 512)) {
		uint32_t mxcsr;

		memcpy(&mxcsr, (uint8_t *)f->fpstate + 24, 4);
		if (!(mxcsr & 0xffff0000u))	/* reserved MXCSR bits would fault in xrstor */
			memcpy(fpu_area, (void *)f->fpstate, 160 + 256);	/* x87, MXCSR, XMM0-15 */
	}
	prog_mask = f->uc_sigmask & ~UNBLOCKABLE;
	set_host_mask();
}

/* a signal the program sent itself and may take now */
static void deliver_pending(struct dune_tf *tf)
{
	uint64_t ready = pending & ~prog_mask;

	while (ready) {
		int sig = __builtin_ctzl(ready) + 1;

		pending &= ~SIG_BIT(sig);
		ready &= ~SIG_BIT(sig);
		if (!has_handler(sig))
			continue;
		if (!deliver(tf, sig, pending_code[sig], (uint64_t)raw(SYS_getpid, 0, 0, 0) |
			     ((uint64_t)raw(SYS_getuid, 0, 0, 0) << 32), 0, 0)) {
			say("%s: no room for the frame of signal %d: killed by SIGSEGV", prog_path, sig);
			die_by_signal(SIGSEGV);
		}
		return;		/* one at a time: the others after its rt_sigreturn */
	}
}

/*
 * Signals from elsewhere (another process, another thread of the program,
 * the terminal) for which the program has a handler: libdune's host
 * handler (dune_signal) brings them to the vCPU of the host thread they
 * went to, as vector 200 + sig, and host_signal runs there in ring 0.
 * When ring 3 was running, the program's handler runs at once; when the
 * runtime was (a system call), the signal waits in `pending` until the
 * call returns: a blocking call is restarted or fails with EINTR as the
 * program's SA_RESTART says, as natively.  The host's mask is the
 * program's, so a blocked signal stays pending in the host until the
 * program unblocks it.  Not for signals 32 and up (libdune's dune_signal
 * covers 1-31) nor for the fault signals, which come from ring 3 itself.
 */
static void host_signal(struct dune_tf *tf, int sig)
{
	bool ok;

	if (!has_handler(sig))
		return;		/* the program changed its mind meanwhile */
	if (!(tf->cs & 3) || (prog_mask & SIG_BIT(sig))) {
		/* the runtime was running (perhaps holding mem_mu): later */
		pending |= SIG_BIT(sig);
		pending_code[sig] = 0;	/* SI_USER */
		return;
	}
	fpu_save();
	mem_lock();
	ok = deliver(tf, sig, 0 /* SI_USER */, 0, 0, 0);
	mem_unlock();
	if (!ok) {
		say("%s: no room for the frame of signal %d: killed by SIGSEGV", prog_path, sig);
		die_by_signal(SIGSEGV);
	}
	fpu_restore();
}

#define HSIG(n) static void host_signal_##n(struct dune_tf *tf) { host_signal(tf, n); }
HSIG(1) HSIG(2) HSIG(3) HSIG(4) HSIG(5) HSIG(6) HSIG(7) HSIG(8) HSIG(9) HSIG(10) HSIG(11)
HSIG(12) HSIG(13) HSIG(14) HSIG(15) HSIG(16) HSIG(17) HSIG(18) HSIG(19) HSIG(20) HSIG(21)
HSIG(22) HSIG(23) HSIG(24) HSIG(25) HSIG(26) HSIG(27) HSIG(28) HSIG(29) HSIG(30) HSIG(31)
static void (*const host_signal_fn[32])(struct dune_tf *) = {
	NULL, host_signal_1, host_signal_2, host_signal_3, host_signal_4, host_signal_5,
	host_signal_6, host_signal_7, host_signal_8, host_signal_9, host_signal_10,
	host_signal_11, host_signal_12, host_signal_13, host_signal_14, host_signal_15,
	host_signal_16, host_signal_17, host_signal_18, host_signal_19, host_signal_20,
	host_signal_21, host_signal_22, host_signal_23, host_signal_24, host_signal_25,
	host_signal_26, host_signal_27, host_signal_28, host_signal_29, host_signal_30,
	host_signal_31,
};

static void host_signal_unused(int sig)
{
	(void)sig;	/* host_signal_fn replaces libdune's vector handler */
}

/* a handler of the program for sig: route the host's sig to it; false
 * when this signal cannot be routed */
static bool host_signal_route(int sig, uint64_t flags)
{
	struct sigaction cur;

	if (sig >= 32 || sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	    sig == SIGTRAP)
		return false;
	if (dune_signal(sig, host_signal_unused) == SIG_ERR)
		return false;
	dune_register_signal_handler(sig, host_signal_fn[sig]);
	/* restart or EINTR as the program asked (dune_signal sets SA_RESTART) */
	if (!(flags & SA_RESTART) && sigaction(sig, NULL, &cur) == 0) {
		cur.sa_flags &= ~SA_RESTART;
		sigaction(sig, &cur, NULL);
	}
	return true;
}

/* kill/tkill/tgkill of itself with a signal that has a handler: queued
 * for delivery in ring 3 (others go to the host: default actions, or
 * ignored) */
static bool to_self(long nr, const uint64_t *a, int *sig)
{
	long pid = raw(SYS_getpid, 0, 0, 0);

	switch (nr) {
	case SYS_kill:
		*sig = (int)a[1];
		return ((long)a[0] == pid || a[0] == 0) && has_handler(*sig);
	case SYS_tgkill:
		*sig = (int)a[2];
		return (long)a[0] == pid && (long)a[1] == raw(SYS_gettid, 0, 0, 0) && has_handler(*sig);
	case SYS_tkill:
		*sig = (int)a[1];
		return (long)a[0] == raw(SYS_gettid, 0, 0, 0) && has_handler(*sig);
	}
	return false;
}

/* ------------------------------------------------------ fork and execve */

static void __attribute__((noreturn)) fatal(int status, const char *fmt, ...);

static void map_program(void)
{
	for (int i = 0; i < mem.n; i++)
		if (guest_map(mem.r[i].start, mem.r[i].end - mem.r[i].start, mem.r[i].prot))
			fatal(125, "cannot map the program in the guest page tables");
}

static void mark_new_runtime_fds(const unsigned char *before, int upto)
{
	for (int fd = 0; fd < MAX_FD && fd <= upto + 64; fd++)
		if (!(before[fd / 8] & (1 << (fd % 8))) && raw(SYS_fcntl, fd, F_GETFD, 0) >= 0)
			runtime_fd[fd / 8] |= (unsigned char)(1 << (fd % 8));
}

static void setup_ring0(void);

/* the child of a fork: host mode, on the parent's trap stack (copied);
 * enter Dune mode of its own and go on in ring 3 after the call, with 0 */
static void __attribute__((noreturn)) child_after_fork(const struct dune_tf *ptf, uint64_t ufs)
{
	static unsigned char before[MAX_FD / 8];
	static struct dune_tf ctf;
	int upto = -1, ret;

	memset(before, 0, sizeof(before));
	for (int fd = 0; fd < MAX_FD; fd++)
		if (raw(SYS_fcntl, fd, F_GETFD, 0) >= 0) {
			before[fd / 8] |= (unsigned char)(1 << (fd % 8));
			upto = fd;
		}
	ctf = *ptf;
	ctf.rax = 0;
	in_dune = false;
	/* the child has one thread: this one */
	pthread_mutex_init(&mem_mu, NULL);
	pt_lock_word = 0;
	live_threads = 1;
	main_exited = false;
	ret = dune_init(false);
	if (!ret)
		ret = dune_enter();
	if (ret) {
		say("%s: the child of fork cannot enter Dune mode (%s)", prog_path, strerror(-ret));
		raw(SYS_exit_group, 125, 0, 0);
	}
	mark_new_runtime_fds(before, upto);
	setup_ring0();
	in_dune = true;
	map_program();
	dune_set_user_fs(ufs);
	fpu_restore();
	dune_jump_to_user(&ctf);
	fatal(125, "the program left ring 3 unexpectedly");
}

/* ------------------------------------------------------------- threads */

/* what a new thread of the program starts from (clone with CLONE_THREAD) */
struct thread_start {
	uint8_t fpu[16384] __attribute__((aligned(64)));	/* the parent's FPU state */
	struct dune_tf tf;		/* the parent's registers: rax 0, the new stack */
	uint64_t fs, flags, ptid, ctid, mask;
	sem_t ready;
	long tid;			/* the thread's id, or -errno */
};

/*
 * The host thread of a new thread of the program: enter Dune mode (a vCPU
 * of its own), take the state clone gives, tell the parent, and run the
 * program's thread in ring 3.  The program's exit of the thread comes back
 * here (prog_exit) and the host thread ends in Dune mode, which gives the
 * vCPU back.
 */
static void *thread_main(void *arg)
{
	struct thread_start *st = arg;
	struct dune_tf tf;
	long tid = raw(SYS_gettid, 0, 0, 0);
	int ret = dune_enter();

	if (ret) {
		st->tid = ret;
		sem_post(&st->ready);
		return NULL;
	}
	spawned = true;
	tf = st->tf;
	memcpy(fpu_area, st->fpu, sizeof(fpu_area));
	prog_mask = st->mask;
	set_host_mask();
	dune_set_user_fs(st->fs);
	if (st->flags & CLONE_CHILD_SETTID)
		*(volatile int32_t *)st->ctid = (int32_t)tid;
	if (st->flags & CLONE_PARENT_SETTID)
		*(volatile int32_t *)st->ptid = (int32_t)tid;
	if (st->flags & CLONE_CHILD_CLEARTID)
		clear_tid = st->ctid;
	st->tid = tid;
	sem_post(&st->ready);	/* st is the parent's from here */
	fpu_restore();
	dune_jump_to_user(&tf);
	return NULL;
}

static long prog_thread(struct dune_tf *tf, const uint64_t *a)
{
	const uint64_t need = CLONE_VM | CLONE_SIGHAND | CLONE_THREAD;
	const uint64_t ok = need | CLONE_FS | CLONE_FILES | CLONE_SYSVSEM | CLONE_SETTLS |
			    CLONE_PARENT_SETTID | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_DETACHED;
	uint64_t flags = a[0];
	struct thread_start *st;
	pthread_attr_t attr;
	pthread_t t;
	long tid;
	int r;

	if ((flags & need) != need || (flags & ~ok) || (flags & CSIGNAL)) {
		note(SYS_clone, "CLONE_THREAD without CLONE_VM and CLONE_SIGHAND, or with flags other than "
		     "CLONE_FS, CLONE_FILES, CLONE_SYSVSEM, CLONE_SETTLS, CLONE_*SETTID, CLONE_CHILD_CLEARTID: ENOSYS");
		return -ENOSYS;
	}
	mem_lock();
	r = ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !sb_mem_has(&mem, a[3], 4)) ||
	    ((flags & CLONE_PARENT_SETTID) && !sb_mem_has(&mem, a[2], 4));
	mem_unlock();
	if (r)
		return -EFAULT;
	if ((flags & CLONE_SETTLS) && (uint64_t)((int64_t)(a[4] << 16) >> 16) != a[4])
		return -EPERM;
	st = aligned_alloc(64, sizeof(*st));
	if (!st)
		return -EAGAIN;
	memcpy(st->fpu, fpu_area, sizeof(st->fpu));
	st->tf = *tf;
	st->tf.rax = 0;
	if (a[1])
		st->tf.rsp = a[1];
	st->fs = flags & CLONE_SETTLS ? a[4] : dune_get_user_fs();
	st->flags = flags;
	st->ptid = a[2];
	st->ctid = a[3];
	st->mask = prog_mask;
	st->tid = -EAGAIN;
	sem_init(&st->ready, 0, 0);
	__atomic_add_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 << 10);
	r = pthread_create(&t, &attr, thread_main, st);
	pthread_attr_destroy(&attr);
	if (r) {
		tid = -r;
	} else {
		while (sem_wait(&st->ready))
			;
		tid = st->tid;
	}
	if (tid < 0) {
		__atomic_sub_fetch(&live_threads, 1, __ATOMIC_SEQ_CST);
		if (opt_trace) {
			char why[128];

			snprintf(why, sizeof(why), "the new thread cannot enter Dune mode (%s): EAGAIN",
				 strerror((int)-tid));
			note(SYS_clone, why);
		}
		tid = -EAGAIN;
	}
	sem_destroy(&st->ready);
	free(st);
	return tid;
}

/* exit of one thread: the last one ends the program (with the first
 * thread's status if it ended before); the others leave, and their
 * CLONE_CHILD_CLEARTID word is cleared and woken as the kernel does */
static void __attribute__((noreturn)) prog_exit(int status)
{
	if (!spawned) {
		main_status = status;
		__atomic_store_n(&main_exited, true, __ATOMIC_SEQ_CST);
	}
	if (__atomic_sub_fetch(&live_threads, 1, __ATOMIC_SEQ_CST) == 0) {
		raw(SYS_exit_group, __atomic_load_n(&main_exited, __ATOMIC_SEQ_CST) ? main_status : status, 0, 0);
		for (;;)
			;
	}
	if (clear_tid) {
		bool ok;

		mem_lock();
		ok = sb_mem_has(&mem, clear_tid, 4) && (prot_at(clear_tid) & PROT_WRITE);
		mem_unlock();
		if (ok) {
			__atomic_store_n((int32_t *)clear_tid, 0, __ATOMIC_SEQ_CST);
			raw6(SYS_futex, (long)clear_tid, FUTEX_WAKE, 1, 0, 0, 0);
		}
	}
	if (spawned)
		dune_ret_from_user(0);	/* back to thread_main, which ends the host thread */
	raw(SYS_exit, status, 0, 0);
	for (;;)
		;
}

static long prog_fork(struct dune_tf *tf, long nr, const uint64_t *a)
{
	uint64_t flags = SIGCHLD, ufs = dune_get_user_fs();
	long ret;

	if (nr == SYS_clone) {
		const uint64_t ok = CSIGNAL | CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID | CLONE_PARENT_SETTID;

		flags = a[0];
		if (flags & CLONE_THREAD)
			return prog_thread(tf, a);
		if ((flags & CLONE_VFORK) && (flags & CLONE_VM) && !a[1])
			flags &= ~(CLONE_VM | CLONE_VFORK);	/* a vfork: a fork will do */
		if ((flags & ~ok) || a[1]) {
			note(nr, "clone without CLONE_THREAD: only fork-like (no shared memory, files or new stack): ENOSYS");
			return -ENOSYS;
		}
		mem_lock();
		ret = ((flags & (CLONE_CHILD_SETTID | CLONE_CHILD_CLEARTID)) && !sb_mem_has(&mem, a[3], 4)) ||
		      ((flags & CLONE_PARENT_SETTID) && !sb_mem_has(&mem, a[2], 4));
		mem_unlock();
		if (ret)
			return -EFAULT;
		ret = raw6(SYS_clone, (long)flags, 0, (long)a[2], (long)a[3], 0, 0);
	} else {
		ret = raw6(SYS_clone, SIGCHLD, 0, 0, 0, 0, 0);	/* fork and vfork */
	}
	if (ret == 0)
		child_after_fork(tf, ufs);
	return ret;
}

/* execve: the new program goes through dune-sandbox's loader again, in a
 * fresh dune-sandbox with the same options */
static long prog_execve(const uint64_t *a)
{
	static char *nargv[4096 + 32], *nenvp[4096 + 1];
	const char *path = (const char *)a[0];
	int n = 0, k;

	for (k = 0; k < 2; k++) {
		const uint64_t *v = (const uint64_t *)a[1 + k];
		char **out = k ? nenvp : nargv + n_rt_opts + 4;
		int i;

		for (i = 0; v; i++) {
			if (i == 4096)
				return -E2BIG;
			if (!sb_mem_readable(&mem, (uintptr_t)(v + i), 8))
				return -EFAULT;
			if (!v[i])
				break;
			if (sb_mem_strlen(&mem, v[i], 1UL << 20) < 0)
				return -EFAULT;
			out[i] = (char *)v[i];
		}
		out[i] = NULL;
		if (!k)
			n = i;
	}
	/* what the kernel would refuse at once is refused here, with its error */
	if (raw6(SYS_faccessat, AT_FDCWD, (long)path, X_OK, 0, 0, 0) < 0)
		return raw6(SYS_faccessat, AT_FDCWD, (long)path, X_OK, 0, 0, 0);
	nargv[0] = "dune-sandbox";
	for (k = 0; k < n_rt_opts; k++)
		nargv[1 + k] = rt_opts[k];
	nargv[1 + k] = "--argv0";
	nargv[2 + k] = n ? nargv[n_rt_opts + 4] : (char *)path;
	nargv[3 + k] = "--";
	/* the program's argv[0] is replaced by the path to run; --argv0 keeps it */
	if (n) {
		nargv[n_rt_opts + 4] = (char *)path;
	} else {
		nargv[n_rt_opts + 4] = (char *)path;
		nargv[n_rt_opts + 5] = NULL;
	}
	if (opt_trace)
		raw(SYS_fcntl, trace_fd, F_SETFD, 0);
	/* libdune's descriptors do not go to the new image */
	for (int fd = 0; fd < MAX_FD; fd++)
		if (is_runtime_fd(fd) && fd != trace_fd)
			raw(SYS_fcntl, fd, F_SETFD, FD_CLOEXEC);
	return raw(SYS_execve, "/proc/self/exe", nargv, nenvp);
}

static __thread struct dune_tf *cur_tf;
static char exe_path[PATH_MAX];

/* /proc/self/exe names dune-sandbox: the program is told its own path */
static bool is_self_exe(const char *p)
{
	char own[32];

	if (!strcmp(p, "/proc/self/exe") || !strcmp(p, "/proc/thread-self/exe"))
		return true;
	snprintf(own, sizeof(own), "/proc/%ld/exe", raw(SYS_getpid, 0, 0, 0));
	return !strcmp(p, own);
}

static long prog_readlink(const char *path, char *buf, size_t n)
{
	size_t l = strlen(exe_path);

	if (l > n)
		l = n;
	(void)path;
	memcpy(buf, exe_path, l);
	return (long)l;
}

static long prog_prctl(const uint64_t *a)
{
	switch (a[0]) {
	case PR_GET_NAME:
		if (!sb_mem_has(&mem, a[1], 16))
			return -EFAULT;
		break;
	case PR_SET_NAME:
		if (sb_mem_strlen(&mem, a[1], 4096) < 0 && !sb_mem_readable(&mem, a[1], 16))
			return -EFAULT;
		break;
	case PR_GET_DUMPABLE: case PR_SET_DUMPABLE: case PR_GET_PDEATHSIG: case PR_SET_PDEATHSIG:
	case PR_GET_NO_NEW_PRIVS: case PR_SET_NO_NEW_PRIVS: case PR_GET_TIMERSLACK: case PR_SET_TIMERSLACK:
		if (a[0] == PR_GET_PDEATHSIG && !sb_mem_has(&mem, a[1], 4))
			return -EFAULT;
		break;
	default:
		note(SYS_prctl, "option not supported: EINVAL");
		return -EINVAL;
	}
	return SB_PASS;
}

/* the checks of a call and, for the emulated ones, the work, under mem_mu;
 * SB_PASS: pass it to the host; SB_UNLOCKED: run it with unlocked_call */
static long check_locked(long nr, uint64_t *a)
{
	const struct sb_sysinfo *si = sb_sys(nr);
	enum sb_action act;
	int i;

	if (!(si->flags & SBF_SUPPORTED)) {
		note(nr, "not supported by dune-sandbox: ENOSYS");
		return -ENOSYS;
	}
	act = pol.sys[nr];
	if (act == SB_ALLOW && (si->flags & SBF_NET) && !pol.network)
		act = SB_DENY_EPERM;
	if (act == SB_DENY_KILL)
		policy_kill(nr);
	if (act == SB_DENY_EPERM)
		return -EPERM;
	for (i = 0; i < 6 && si->arg[i]; i++) {
		uint64_t v = a[i];
		size_t n;

		switch (si->arg[i]) {
		case A_FD:
			if (is_runtime_fd((int)v))
				return -EBADF;
			break;
		case A_AT:
			if ((int)v != AT_FDCWD && is_runtime_fd((int)v))
				return -EBADF;
			break;
		case A_STRN:
			if (!v)
				break;
			/* fall through */
		case A_STR:
			if (sb_mem_strlen(&mem, v, PATH_MAX) < 0)
				return sb_mem_strlen(&mem, v, 1UL << 20) < 0 ? -EFAULT : -ENAMETOOLONG;
			if (si->flags & SBF_PATH) {
				enum sb_action pa = sb_policy_path(&pol, (const char *)v);

				if (forbidden_path((const char *)v))
					return -EACCES;
				if (pa == SB_DENY_KILL)
					policy_kill(nr);
				if (pa == SB_DENY_EPERM)
					return -EPERM;
			}
			break;
		case A_INBUFN:
			if (!v)
				break;
			/* fall through */
		case A_INBUF:
		case A_OUTBUF:
		case A_OUTBUF_RET:
			if (!sb_mem_has(&mem, v, i < 5 ? a[i + 1] : 0))
				return -EFAULT;
			break;
		case A_OUTBUF_PREV:
			if (!sb_mem_has(&mem, v, i > 0 ? a[i - 1] : 0))
				return -EFAULT;
			break;
		case A_IOV:
			n = i < 5 ? a[i + 1] : 0;
			if (n > 1024)
				return -EINVAL;
			if (!sb_mem_readable(&mem, v, n * 16))
				return -EFAULT;
			for (size_t k = 0; k < n; k++) {
				const uint64_t *iov = (const uint64_t *)v + 2 * k;

				if (!sb_mem_has(&mem, iov[0], iov[1]))
					return -EFAULT;
			}
			break;
		case A_POLL:
			if (!sb_mem_has(&mem, v, (i < 5 ? a[i + 1] : 0) * 8))
				return -EFAULT;
			break;
		case A_EPEV:
			if (!sb_mem_has(&mem, v, (i < 5 ? a[i + 1] : 0) * 12))
				return -EFAULT;
			break;
		case A_SOCKOUT:
			if (!v)
				break;
			if (i == 5 || !sb_mem_readable(&mem, a[i + 1], 4))
				return -EFAULT;
			if (!sb_mem_has(&mem, v, *(const uint32_t *)a[i + 1]))
				return -EFAULT;
			break;
		case A_PTR:
			if (v && !sb_mem_has(&mem, v, si->size[i]))
				return -EFAULT;
			break;
		case A_PTRNN:
			if (!sb_mem_has(&mem, v, si->size[i]))
				return -EFAULT;
			break;
		}
	}
	if (nr == SYS_readlink && is_self_exe((const char *)a[0]))
		return prog_readlink((const char *)a[0], (char *)a[1], a[2]);
	if (nr == SYS_readlinkat && is_self_exe((const char *)a[1]))
		return prog_readlink((const char *)a[1], (char *)a[2], a[3]);
	if (nr == SYS_prctl)
		return prog_prctl(a);
	if (nr == SYS_dup2 || nr == SYS_dup3) {
		if (is_runtime_fd((int)a[1]))
			return -EBADF;
	}
	if (nr == SYS_kill || nr == SYS_tgkill || nr == SYS_tkill) {
		int sig = 0;

		if (to_self(nr, a, &sig)) {
			pending |= SIG_BIT(sig);
			pending_code[sig] = nr == SYS_kill ? 0 /* SI_USER */ : -6 /* SI_TKILL */;
			return 0;
		}
	}
	if (nr == SYS_rt_sigprocmask) {
		uint64_t set;

		if (a[3] != 8)
			return -EINVAL;
		if (a[2])
			memcpy((void *)a[2], &prog_mask, 8);
		if (!a[1])
			return 0;
		memcpy(&set, (void *)a[1], 8);
		switch ((int)a[0]) {
		case SIG_BLOCK: prog_mask |= set; break;
		case SIG_UNBLOCK: prog_mask &= ~set; break;
		case SIG_SETMASK: prog_mask = set; break;
		default: return -EINVAL;
		}
		prog_mask &= ~UNBLOCKABLE;
		set_host_mask();
		return 0;
	}
	if (!(si->flags & SBF_EMUL))
		return SB_PASS;
	switch (nr) {
	case SYS_exit:
	case SYS_exit_group:
	case SYS_clone:
	case SYS_fork:
	case SYS_vfork:
	case SYS_execve:
		return SB_UNLOCKED;
	case SYS_set_tid_address:
		if (!spawned)
			return SB_PASS;
		clear_tid = a[0];
		return raw(SYS_gettid, 0, 0, 0);
	case SYS_mmap:
		if (!(a[3] & MAP_ANONYMOUS) && is_runtime_fd((int)a[4]))
			return -EBADF;
		return prog_mmap(a[0], a[1], (int)a[2], (int)a[3], (int)a[4], (off_t)a[5]);
	case SYS_munmap:
		return prog_munmap(a[0], a[1]);
	case SYS_mprotect:
		return prog_mprotect(a[0], a[1], (int)a[2]);
	case SYS_brk:
		return prog_brk(a[0]);
	case SYS_mremap:
		return prog_mremap(a[0], a[1], a[2], (int)a[3], a[4]);
	case SYS_madvise:
		if (a[0] % SB_PAGE)
			return -EINVAL;
		if (!sb_mem_has(&mem, a[0], SB_PAGE_UP(a[1])))
			return -ENOMEM;
		return raw(SYS_madvise, a[0], a[1], a[2]);
	case SYS_ioctl:
		return prog_ioctl(a);
	case SYS_fcntl:
		return prog_fcntl(a);
	case SYS_futex:
		return prog_futex(a);
	case SYS_rt_sigaction:
		return prog_rt_sigaction(a);
	case SYS_sigaltstack:
		return prog_sigaltstack(a);
	case SYS_arch_prctl:
		return prog_arch_prctl(a);
	}
	return -ENOSYS;
}

static long check_and_run(long nr, uint64_t *a)
{
	long r;

	mem_lock();
	r = check_locked(nr, a);
	mem_unlock();
	if (r == SB_PASS)
		return raw6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4], (long)a[5]);
	if (r != SB_UNLOCKED)
		return r;
	switch (nr) {
	case SYS_exit:
		prog_exit((int)a[0]);
	case SYS_exit_group:
		raw(SYS_exit_group, a[0], 0, 0);
		for (;;)
			;
	case SYS_clone:
	case SYS_fork:
	case SYS_vfork:
		return prog_fork(cur_tf, nr, a);
	case SYS_execve:
		return prog_execve(a);
	}
	return -ENOSYS;
}

/* ------------------------------------------------- ring-0 entry points */

static void on_syscall(struct dune_tf *tf)
{
	uint64_t a[6] = { tf->rdi, tf->rsi, tf->rdx, tf->rcx, tf->r8, tf->r9 };
	long nr = (long)tf->rax, ret;

	fpu_save();
	if (nr == SYS_rt_sigreturn) {
		mem_lock();
		if (opt_trace)
			trace_out(tbuf, sb_trace_format(tbuf, sizeof(tbuf), &mem, nr, a, 0));
		do_sigreturn(tf);
		deliver_pending(tf);
		mem_unlock();
		fpu_restore();
		return;
	}
	if (opt_trace && (nr == SYS_exit_group || nr == SYS_exit)) {
		size_t k;

		mem_lock();
		k = sb_trace_format(tbuf, sizeof(tbuf), &mem, nr, a, 0);
		mem_unlock();

		/* strace prints "= ?" for a call that does not return */
		if (k > 4 && !strcmp(tbuf + k - 4, "= 0\n"))
			memcpy(tbuf + k - 4, "= ?\n", 4);
		trace_out(tbuf, k);
	}
	cur_tf = tf;
	ret = check_and_run(nr, a);
	tf->rax = (uint64_t)ret;
	if (opt_trace || (pending & ~prog_mask)) {
		mem_lock();
		if (opt_trace)
			trace_out(tbuf, sb_trace_format(tbuf, sizeof(tbuf), &mem, nr, a, ret));
		if (pending & ~prog_mask)
			deliver_pending(tf);
		mem_unlock();
	}
	fpu_restore();
}

static const char *const trap_what[20] = {
	"divide error", "debug trap", "NMI", "breakpoint", "overflow", "bound range exceeded",
	"invalid opcode", "FPU not available", "double-fault exception", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general-protection exception (a privileged instruction or a bad address)",
	"page fault", "reserved", "x87 floating-point error", "alignment check",
	"machine check", "SIMD floating-point error",
};
static const int trap_sig[20] = {
	SIGFPE, SIGTRAP, SIGSEGV, SIGTRAP, SIGSEGV, SIGSEGV, SIGILL, SIGSEGV, SIGSEGV, SIGFPE,
	SIGSEGV, SIGBUS, SIGBUS, SIGSEGV, SIGSEGV, SIGSEGV, SIGFPE, SIGBUS, SIGBUS, SIGFPE,
};

static void fault(struct dune_tf *tf, int vec, uintptr_t addr)
{
	int sig = vec >= 0 && vec < 20 ? trap_sig[vec] : SIGSEGV;

	if (!(tf->cs & 3)) {
		say("internal error: %s in the runtime at rip %#lx (address %#lx)",
		    vec < 20 ? trap_what[vec] : "trap", (unsigned long)tf->rip, (unsigned long)addr);
		dune_dump_trap_frame(tf);
		raw(SYS_exit_group, 125, 0, 0);
	}
	if (has_handler(sig) && !(prog_mask & SIG_BIT(sig))) {
		bool done;

		fpu_save();
		mem_lock();
		done = deliver(tf, sig, vec == 14 ? (sb_mem_has(&mem, addr, 1) ? 2 /* SEGV_ACCERR */ : 1 /* SEGV_MAPERR */) :
			       vec == 6 ? 2 /* ILL_ILLOPN */ : vec == 0 ? 1 /* FPE_INTDIV */ : 0x80 /* SI_KERNEL */,
			       vec == 14 ? addr : (vec == 13 ? 0 : tf->rip), 0, vec);
		mem_unlock();
		if (done) {
			fpu_restore();
			return;
		}
	}
	if (vec == 14)
		say("%s: killed by SIG%s: page fault at %#lx (rip %#lx)", prog_path, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
		    (unsigned long)addr, (unsigned long)tf->rip);
	else
		say("%s: killed by SIG%s: %s (rip %#lx)", prog_path, sigabbrev_np(sig) ? sigabbrev_np(sig) : "?",
		    vec < 20 ? trap_what[vec] : "trap", (unsigned long)tf->rip);
	die_by_signal(sig);
}

/*
 * A not-present fault of the runtime (ring 0) on memory the host mapped
 * after dune_init (vmx with dune_init(false) maps only what was there
 * then): a new thread's stack, the C library's new heap.  If the host has
 * the page (mincore succeeds), it is mapped for ring 0 only (no user bit:
 * the program still cannot reach it), at its own guest-physical address.
 */
static bool runtime_fault_fixed(uintptr_t addr, uint64_t fec)
{
	uintptr_t page = SB_PAGE_DOWN(addr);
	unsigned char v;
	bool took = !pt_locked;	/* not when the fault came inside guest_map */
	int ret;

	if ((fec & 1) || raw(SYS_mincore, page, SB_PAGE, &v) != 0 || !gpa_ok(page, SB_PAGE))
		return false;
	if (took)
		pt_lock();
	ret = dune_vm_map_phys(pgroot, (void *)page, SB_PAGE, (void *)dune_va_to_pa((void *)page),
			       PERM_R | PERM_W | ((fec & 0x10) ? PERM_X : 0));
	if (took)
		pt_unlock();
	dune_flush_tlb_one(page);
	return ret == 0;
}

static void on_pgflt(uintptr_t addr, uint64_t fec, struct dune_tf *tf)
{
	if (!(tf->cs & 3) && runtime_fault_fixed(addr, fec))
		return;
	fault(tf, 14, addr);
}

#define TRAP(n) static void on_trap_##n(struct dune_tf *tf) { fault(tf, n, 0); }
TRAP(0) TRAP(1) TRAP(3) TRAP(4) TRAP(5) TRAP(6) TRAP(7) TRAP(10) TRAP(11) TRAP(12) TRAP(13)
TRAP(16) TRAP(17) TRAP(19)

static void setup_ring0(void)
{
	unsigned long cr4;

	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	use_xsave = cr4 & (1UL << 18);
	if (use_xsave) {
		uint32_t lo, hi;

		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		xsave_mask = ((uint64_t)hi << 32) | lo;
	}
	dune_register_syscall_handler(on_syscall);
	dune_register_pgflt_handler(on_pgflt);
	dune_register_intr_handler(0, on_trap_0);
	dune_register_intr_handler(1, on_trap_1);
	dune_register_intr_handler(3, on_trap_3);
	dune_register_intr_handler(4, on_trap_4);
	dune_register_intr_handler(5, on_trap_5);
	dune_register_intr_handler(6, on_trap_6);
	dune_register_intr_handler(7, on_trap_7);
	dune_register_intr_handler(10, on_trap_10);
	dune_register_intr_handler(11, on_trap_11);
	dune_register_intr_handler(12, on_trap_12);
	dune_register_intr_handler(13, on_trap_13);
	dune_register_intr_handler(16, on_trap_16);
	dune_register_intr_handler(17, on_trap_17);
	dune_register_intr_handler(19, on_trap_19);
}

/* ------------------------------------------------------------ loading */

struct image {
	const char *path;
	uint8_t *buf;
	size_t len;
	int fd;
	struct sb_elf elf;
	uintptr_t bias;
};

static void __attribute__((noreturn)) fatal(int status, const char *fmt, ...)
{
	char b[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	say("%s", b);
	exit(status);
}

static void read_image(struct image *im, const char *path, const char *what)
{
	struct stat st;
	char err[256];
	size_t done = 0;

	im->path = path;
	im->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (im->fd < 0)
		fatal(errno == ENOENT ? 127 : 126, "%s%s%s: %s", what, *what ? " " : "", path, strerror(errno));
	if (fstat(im->fd, &st) || !S_ISREG(st.st_mode))
		fatal(126, "%s%s%s: not a regular file", what, *what ? " " : "", path);
	im->len = (size_t)st.st_size;
	im->buf = malloc(im->len ? im->len : 1);
	if (!im->buf)
		fatal(126, "%s: out of memory", path);
	while (done < im->len) {
		ssize_t k = read(im->fd, im->buf + done, im->len - done);

		if (k <= 0)
			fatal(126, "%s: read: %s", path, k ? strerror(errno) : "file shrank");
		done += (size_t)k;
	}
	if (sb_elf_parse(&im->elf, im->buf, im->len, err, sizeof(err)))
		fatal(126, "%s%s%s: %s", what, *what ? " " : "", path, err);
}

static int seg_prot(const Elf64_Phdr *p)
{
	return (p->p_flags & PF_R ? PROT_READ : 0) | (p->p_flags & PF_W ? PROT_WRITE : 0) |
	       (p->p_flags & PF_X ? PROT_EXEC : 0);
}

/* map the PT_LOAD segments of im (host mode); with_brk: reserve the brk
 * area after them */
static void map_image(struct image *im, bool with_brk)
{
	struct sb_elf *e = &im->elf;
	size_t span = e->hi - e->lo, reserve = with_brk ? BRK_RESERVE : 0;
	void *r;
	unsigned int i;

	if (e->pie) {
		r = mmap(NULL, span + reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED && reserve) {
			reserve = BRK_MIN;
			r = mmap(NULL, span + reserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		}
		if (r == MAP_FAILED)
			fatal(126, "%s: %#zx bytes of segments do not fit in memory: %s", im->path, span, strerror(errno));
		im->bias = (uintptr_t)r - e->lo;
	} else {
		r = mmap((void *)e->lo, span, PROT_NONE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		if (r == MAP_FAILED || (uintptr_t)r != e->lo)
			fatal(126, "%s: segments at %#lx-%#lx: %s", im->path, (unsigned long)e->lo,
			      (unsigned long)e->hi,
			      r == MAP_FAILED && errno == EEXIST ? "the runtime's memory is there" : strerror(errno));
		im->bias = 0;
		while (reserve >= BRK_MIN) {
			r = mmap((void *)e->hi, reserve, PROT_NONE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
			if (r != MAP_FAILED && (uintptr_t)r == e->hi && gpa_ok(e->hi, reserve))
				break;
			if (r != MAP_FAILED)
				munmap(r, reserve);
			reserve /= 2;
		}
		if (reserve < BRK_MIN)
			reserve = 0;
	}
	if (!gpa_ok(im->bias + e->lo, span + reserve))
		fatal(126, "%s: segments at %#lx-%#lx are outside the guest's address space", im->path,
		      (unsigned long)(im->bias + e->lo), (unsigned long)(im->bias + e->hi));
	sb_mem_add(&mem, im->bias + e->lo, im->bias + e->hi, PROT_NONE);
	if (with_brk) {
		brk_start = brk_cur = im->bias + e->hi;
		brk_limit = brk_start + reserve;
	}
	for (i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];
		uintptr_t start = SB_PAGE_DOWN(im->bias + p->p_vaddr);
		uintptr_t fend = im->bias + p->p_vaddr + p->p_filesz;
		uintptr_t mend = SB_PAGE_UP(im->bias + p->p_vaddr + p->p_memsz);
		int prot = seg_prot(p);
		long k;

		if (p->p_type != PT_LOAD || !p->p_memsz)
			continue;
		if (p->p_filesz) {
			k = prog_mmap(start, fend - start, prot | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, im->fd,
				      (off_t)SB_PAGE_DOWN(p->p_offset));
			if (k < 0 && k >= -4095)
				fatal(126, "%s: mapping segment %u: %s", im->path, i, strerror((int)-k));
			/* the rest of the last file page belongs to the bss */
			if (mend > fend)
				memset((void *)fend, 0, SB_PAGE_UP(fend) - fend);
		}
		if (mend > SB_PAGE_UP(fend)) {
			k = prog_mmap(SB_PAGE_UP(fend), mend - SB_PAGE_UP(fend), prot,
				      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
			if (k < 0 && k >= -4095)
				fatal(126, "%s: mapping segment %u: %s", im->path, i, strerror((int)-k));
		}
		if (p->p_filesz)
			prog_mprotect(start, SB_PAGE_UP(fend) - start, prot);
	}
}

/* the executable as execvp would find it */
static const char *find_program(const char *name)
{
	static char buf[PATH_MAX];
	const char *path = getenv("PATH"), *p;

	if (strchr(name, '/'))
		return name;
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	for (p = path; ; ) {
		const char *c = strchr(p, ':');
		size_t l = c ? (size_t)(c - p) : strlen(p);

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)l, l ? p : ".", name) < (int)sizeof(buf) &&
		    access(buf, X_OK) == 0)
			return buf;
		if (!c)
			break;
		p = c + 1;
	}
	fatal(127, "%s: command not found", name);
}

static int max_fd_at_start = -1;

static void mark_fds(unsigned char *set)
{
	for (int fd = 0; fd < MAX_FD; fd++)
		if (raw(SYS_fcntl, fd, F_GETFD, 0) >= 0) {
			set[fd / 8] |= (unsigned char)(1 << (fd % 8));
			max_fd_at_start = fd;
		}
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: dune-sandbox [options] -- PROGRAM [ARGS...]\n"
"\n"
"Run an unmodified Linux x86-64 program (static or dynamic, ET_EXEC or PIE)\n"
"in ring 3 of a Dune guest, with a runtime in guest ring 0 that sees every\n"
"system call, checks its pointer arguments against the program's memory\n"
"(EFAULT for anything else), applies the policy, and emulates or forwards it.\n"
"The backend is libdune's (DUNE_BACKEND=vmx|kvm|auto).\n"
"\n"
"Options:\n"
"  --trace              print each system call, its arguments and result to stderr\n"
"  --trace-file FILE    the same, into FILE\n"
"  --policy FILE        allow or deny system calls and paths (see Files)\n"
"  --big-pages          back anonymous memory with 2 MiB guest pages where aligned\n"
"  --argv0 NAME         the program's argv[0] (default: PROGRAM as given)\n"
"  --trace-fd N         trace into the open descriptor N (what an execve in the\n"
"                       sandbox passes on)\n"
"  -h, --help           this text\n"
"\n"
"Files:\n"
"  FILE of --policy     one rule a line, '#' comments: 'allow NAME...', 'deny\n"
"                       NAME...' (EPERM), 'kill NAME...' (SIGSYS), 'default\n"
"                       allow|deny|kill', 'path allow|deny|kill PREFIX' and 'path\n"
"                       default allow|deny|kill' for the calls taking a path (the\n"
"                       longest prefix wins), 'network on|off'\n"
"\n"
"Exit status: the program's; 128 + N when signal N ended it (dune-sandbox is\n"
"then ended by that signal itself); 126 when the program cannot be loaded, 127\n"
"when it or its interpreter is not found, 2 on bad arguments, 125 when Dune\n"
"mode cannot be entered.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "trace", no_argument, NULL, 't' },
		{ "trace-file", required_argument, NULL, 'T' },
		{ "policy", required_argument, NULL, 'p' },
		{ "big-pages", no_argument, NULL, 'b' },
		{ "argv0", required_argument, NULL, '0' },
		{ "trace-fd", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *trace_file = NULL, *policy_file = NULL, *argv0 = NULL;
	int trace_fd_in = -1;
	struct image prog, interp;
	struct sb_auxv aux[32];
	uint8_t rnd[16];
	uintptr_t sp, entry;
	void *stack;
	int c, naux = 0, ret;
	struct dune_tf tf;

	sb_policy_default(&pol);
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 't': opt_trace = true; break;
		case 'T': opt_trace = true; trace_file = optarg; break;
		case 'p': policy_file = optarg; break;
		case 'b': opt_big = true; break;
		case '0': argv0 = optarg; break;
		case 'F':
			opt_trace = true;
			trace_fd_in = atoi(optarg);
			if (trace_fd_in < 0 || fcntl(trace_fd_in, F_GETFD) < 0)
				fatal(2, "--trace-fd %s: not an open file descriptor", optarg);
			break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "dune-sandbox: see --help\n");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dune-sandbox: no program given (usage: dune-sandbox [options] -- PROGRAM [ARGS...])\n");
		return 2;
	}
	if (policy_file) {
		char *text, err[512];
		FILE *f = fopen(policy_file, "r");
		long n;

		if (!f)
			fatal(2, "--policy %s: %s", policy_file, strerror(errno));
		fseek(f, 0, SEEK_END);
		n = ftell(f);
		rewind(f);
		text = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
		if (!text || (n > 0 && fread(text, 1, (size_t)n, f) != (size_t)n))
			fatal(2, "--policy %s: cannot read it", policy_file);
		fclose(f);
		if (sb_policy_parse(&pol, text, policy_file, err, sizeof(err)))
			fatal(2, "%s", err);
		free(text);
	}
	/* the descriptors the program has; anything the runtime opens later
	 * (the trace file, libdune's) is its own */
	mark_fds(prog_fd_at_start);
	if (trace_fd_in >= 0) {		/* from an execve in the sandbox */
		trace_fd = trace_fd_in;
		fcntl(trace_fd, F_SETFD, FD_CLOEXEC);
		prog_fd_at_start[trace_fd / 8] &= (unsigned char)~(1 << (trace_fd % 8));
	} else if (opt_trace) {
		int fd = trace_file ? open(trace_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : 2;

		if (fd < 0)
			fatal(2, "--trace-file %s: %s", trace_file, strerror(errno));
		trace_fd = fcntl(fd, F_DUPFD_CLOEXEC, TRACE_FD_MIN);
		if (trace_fd < 0)
			fatal(2, "--trace-file: %s", strerror(errno));
		if (trace_file)
			close(fd);
	}

	if (opt_trace) {
		snprintf(trace_fd_arg, sizeof(trace_fd_arg), "%d", trace_fd);
		rt_opts[n_rt_opts++] = "--trace-fd";
		rt_opts[n_rt_opts++] = trace_fd_arg;
	}
	if (policy_file) {
		rt_opts[n_rt_opts++] = "--policy";
		rt_opts[n_rt_opts++] = (char *)policy_file;
	}
	if (opt_big)
		rt_opts[n_rt_opts++] = "--big-pages";
	prog_path = find_program(argv[optind]);
	if (!realpath(prog_path, exe_path))
		snprintf(exe_path, sizeof(exe_path), "%s", prog_path);
	if (argv0)
		argv[optind] = (char *)argv0;
	memset(&interp, 0, sizeof(interp));
	read_image(&prog, prog_path, "");
	if (prog.elf.interp) {
		static char what[PATH_MAX + 32];

		snprintf(what, sizeof(what), "%s: interpreter", prog_path);
		read_image(&interp, prog.elf.interp, what);
		if (!interp.elf.pie)
			fatal(126, "%s: interpreter %s is not position independent", prog_path, prog.elf.interp);
		if (interp.elf.interp)
			fatal(126, "%s: interpreter %s has an interpreter itself", prog_path, prog.elf.interp);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		fatal(126, "getrandom: %s", strerror(errno));

	ret = dune_init(false);
	if (ret)
		fatal(125, "cannot enter Dune mode (dune_init: %s)", strerror(-ret));
	sb_mem_init(&mem);
	map_image(&prog, true);
	if (prog.elf.interp)
		map_image(&interp, false);
	close(prog.fd);
	if (prog.elf.interp)
		close(interp.fd);

	stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stack == MAP_FAILED || !gpa_ok((uintptr_t)stack, STACK_SIZE))
		fatal(126, "cannot make the program's stack");
	sb_mem_add(&mem, (uintptr_t)stack, (uintptr_t)stack + STACK_SIZE, PROT_READ | PROT_WRITE);

#define AUX(t, v) (aux[naux++] = (struct sb_auxv){ (t), (uint64_t)(v) })
	AUX(AT_HWCAP, getauxval(AT_HWCAP));
	AUX(AT_PAGESZ, SB_PAGE);
	AUX(AT_CLKTCK, sysconf(_SC_CLK_TCK));
	AUX(AT_PHDR, prog.bias + prog.elf.phdr_vaddr);
	AUX(AT_PHENT, sizeof(Elf64_Phdr));
	AUX(AT_PHNUM, prog.elf.phnum);
	AUX(AT_BASE, prog.elf.interp ? interp.bias : 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, prog.bias + prog.elf.eh->e_entry);
	AUX(AT_UID, getuid());
	AUX(AT_EUID, geteuid());
	AUX(AT_GID, getgid());
	AUX(AT_EGID, getegid());
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, 0);
	AUX(AT_HWCAP2, getauxval(AT_HWCAP2));
	AUX(AT_EXECFN, 0);
	AUX(AT_PLATFORM, 0);
	if (getauxval(AT_MINSIGSTKSZ))
		AUX(AT_MINSIGSTKSZ, getauxval(AT_MINSIGSTKSZ));
#undef AUX
	sp = sb_build_stack(stack, STACK_SIZE, (uintptr_t)stack + STACK_SIZE, argc - optind,
			    argv + optind, environ, aux, naux, rnd, prog_path, "x86_64");
	if (!sp)
		fatal(126, "%s: arguments and environment do not fit in the stack", prog_path);
	entry = prog.elf.interp ? interp.bias + interp.elf.eh->e_entry : prog.bias + prog.elf.eh->e_entry;
	free(prog.buf);
	free(interp.buf);

	ret = dune_enter();
	if (ret)
		fatal(125, "cannot enter Dune mode (dune_enter: %s)", strerror(-ret));
	/* ring 0 from here */
	/* what libdune opened takes the lowest free numbers, so this far is
	 * enough (each look is a system call the guest forwards) */
	for (int fd = 0; fd < MAX_FD && fd <= max_fd_at_start + 64; fd++)
		if (!(prog_fd_at_start[fd / 8] & (1 << (fd % 8))) && raw(SYS_fcntl, fd, F_GETFD, 0) >= 0)
			runtime_fd[fd / 8] |= (unsigned char)(1 << (fd % 8));
	if (trace_fd >= 0 && trace_fd < MAX_FD)
		runtime_fd[trace_fd / 8] |= (unsigned char)(1 << (trace_fd % 8));
	setup_ring0();
	in_dune = true;
	map_program();
	memset(&tf, 0, sizeof(tf));
	tf.rip = entry;
	tf.rsp = sp;
	tf.rflags = 0x202;
	ret = dune_jump_to_user(&tf);
	fatal(125, "the program left ring 3 unexpectedly (%d)", ret);
}

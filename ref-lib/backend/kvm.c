// SPDX-License-Identifier: MIT
/*
 * kvm.c - the kvm backend: the process is its own KVM guest.
 *
 * One VM per process whose memory slots are the process's address space in
 * the Dune layout (identity, map and stack windows, plus a window for a PIE
 * executable and its heap and one for [vvar]/[vdso]); one vCPU per thread
 * that calls dune_enter(), run by that same thread on its host stack.
 * Guest `syscall` lands on __dune_syscall_kvm (guest LSTAR), which leaves
 * with an `out` to DUNE_KVM_SYSCALL_PORT; the run loop runs the call with
 * the arguments the trampoline left in the per-CPU area and re-enters.
 *
 * Memory: on Linux 6.1, a guest access to a slot-covered page the host
 * has not mapped makes KVM_RUN fail with EFAULT and no address, so the
 * guest page tables mirror the host mappings (see core/layout.c) and the
 * mm system calls are tracked here; only main-stack growth (which
 * get_user_pages no longer does) is resolved on EFAULT.
 *
 * On a host whose KVM emulates guest ring 0 (nested KVM without hardware
 * virtualization) dune_init() refuses, after kvm_probe.h's measurement.
 *
 * KVM frees a vCPU only with its VM, so the vCPU of a thread that ends
 * goes to a pool and the next thread to enter takes it, reset to the
 * state of a new one.  A forked child closes the parent's VM and vCPUs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sched.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/internal.h"
#include "kvm_probe.h"

#define likely(x)	__builtin_expect(!!(x), 1)
#define unlikely(x)	__builtin_expect(!!(x), 0)

#define GIB		(1UL << 30)
#define TASK_TOP	0x7ffffffff000UL	/* TASK_SIZE_MAX, 4-level paging */
#define PROBE_MS	100

bool dune_guest_pcid;

struct vcpu {
	int fd;
	int id;
	struct kvm_run *run;
	uint64_t sig_pending;
	/* KVM_RUN returns so far, and the last one that was not a system
	 * call (its reason and its number): the context of a failing run */
	unsigned long exits;
	unsigned long other_exit_at;
	uint32_t other_exit_reason;
	uintptr_t last_grow_rsp;
	struct dune_percpu *pc;
	struct vcpu *next_free;
};

static int kvm_fd = -1, vm_fd = -1, vm_pid;
static int run_size;
static int next_vcpu_id;
static struct kvm_cpuid2 *cpuid;
static uint64_t guest_xcr0;
static bool has_xsave;
static bool has_fsgsbase;
static int phys_bits;
static uintptr_t cur_brk;
static bool vm_apic;		/* the VM has KVM's local APICs (split irqchip) */
static __thread struct vcpu *this_vcpu;

/* per-CPU areas of live vCPUs, for TLB-flush requests */
#define MAX_VCPUS 1024
static struct dune_percpu *live_pcs[MAX_VCPUS];

/* vCPUs of threads that ended, for the next to enter */
static struct vcpu *free_vcpus;
static volatile int free_lock;

/* system calls that need more than being run */
static uint64_t special[8];

static void mark_special(int nr)
{
	special[nr / 64] |= 1ULL << (nr % 64);
}

static long rsys(long nr, long a, long b, long c)
{
	return dune_raw_syscall6(nr, a, b, c, 0, 0, 0);
}

/* ------------------------------------------------------------ probe */

/* the verdict is cached per boot, so that a test suite pays for it once */
static void cache_path(char *buf, size_t len)
{
	char boot[64] = "";
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		ssize_t n = read(fd, boot, sizeof(boot) - 1);

		boot[n > 0 ? n : 0] = 0;
		close(fd);
		boot[strcspn(boot, "\n")] = 0;
	}
	snprintf(buf, len, "/tmp/.libdune-kvm-%u-%s", (unsigned)getuid(), boot);
}

static int cached_verdict(void)
{
	char path[160], v[16] = "";
	struct stat st;
	int fd;

	cache_path(path, sizeof(path));
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return DUNE_KVM_UNKNOWN;
	if (fstat(fd, &st) || st.st_uid != getuid() || (st.st_mode & 022) ||
	    read(fd, v, sizeof(v) - 1) <= 0) {
		close(fd);
		return DUNE_KVM_UNKNOWN;
	}
	close(fd);
	if (!strncmp(v, "native", 6))
		return DUNE_KVM_NATIVE;
	if (!strncmp(v, "emulated", 8))
		return DUNE_KVM_EMULATED;
	return DUNE_KVM_UNKNOWN;
}

static void store_verdict(int verdict)
{
	char path[160], tmp[180];
	const char *s = dune_kvm_verdict_name(verdict);
	int fd;

	cache_path(path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, s, strlen(s)) == (ssize_t)strlen(s))
		rename(tmp, path);
	else
		unlink(tmp);
	close(fd);
}

static int check_native(void)
{
	struct dune_kvm_probe p;
	int verdict = cached_verdict();
	const char *force = getenv("DUNE_KVM_PROBE");

	if (force && !strcmp(force, "skip"))
		return 0;
	if (verdict == DUNE_KVM_UNKNOWN || (force && !strcmp(force, "always"))) {
		if (dune_kvm_probe_ring0(&p, NULL, PROBE_MS) < 0) {
			dune_err("kvm: /dev/kvm: %s (is kvm_intel or kvm_amd loaded, and may you open /dev/kvm?)",
				 p.error[0] ? p.error : "unusable");
			return p.api_version < 0 ? -ENODEV : -EIO;
		}
		verdict = p.verdict;
		store_verdict(verdict);
		if (verdict == DUNE_KVM_EMULATED) {
			dune_err("kvm: /dev/kvm emulates guest ring 0 on this host (guest code ran %.0fx slower "
				 "than native: a nested KVM without hardware virtualization); refusing, Dune mode "
				 "would crawl. Use a host with VT-x or AMD-V, or the VMX lab (harness/lab/lab.sh)",
				 p.ratio);
			return -EOPNOTSUPP;
		}
	} else if (verdict == DUNE_KVM_EMULATED) {
		dune_err("kvm: /dev/kvm emulates guest ring 0 on this host (measured earlier this boot; "
			 "a nested KVM without hardware virtualization); refusing, Dune mode would crawl. "
			 "Use a host with VT-x or AMD-V, or the VMX lab (harness/lab/lab.sh)");
		return -EOPNOTSUPP;
	}
	return 0;
}

/* ------------------------------------------------------------ layout */

struct scan {
	uintptr_t stack_end, stack_begin;
	uintptr_t special_lo, special_hi;	/* [vvar] + [vdso] */
	uintptr_t map_top;
	uintptr_t exe_lo, exe_hi;
	bool stack_seen;
};

int dune_procmap_iterate_ctx(const char *path, void (*cb)(const struct dune_procmap_entry *, void *),
			     void *ctx);

static void scan_one(const struct dune_procmap_entry *e, void *arg)
{
	struct scan *s = arg;

	switch (e->type) {
	case PROCMAP_TYPE_STACK:
		if (!s->stack_seen) {
			s->stack_begin = e->begin;
			s->stack_end = e->end;
			s->stack_seen = true;
		}
		return;
	case PROCMAP_TYPE_VDSO:
	case PROCMAP_TYPE_VVAR:
		if (!s->special_lo || e->begin < s->special_lo)
			s->special_lo = e->begin;
		if (e->end > s->special_hi)
			s->special_hi = e->end;
		return;
	case PROCMAP_TYPE_VSYSCALL:
	case PROCMAP_TYPE_HEAP:
		return;
	default:
		break;
	}
	if (e->begin >= s->exe_lo && e->begin < s->exe_hi)
		return;		/* the executable */
	if (e->end <= TASK_TOP && e->end > s->map_top)
		s->map_top = e->end;
}

static int kvm_layout(void)
{
	struct scan s = { 0 };
	uintptr_t phdr = getauxval(AT_PHDR), probe;
	void *m;
	int ret;

	phys_limit = 1UL << phys_bits;
	if (phys_bits < 39) {
		dune_err("kvm: the guest has %d physical address bits; the Dune layout needs at least 39",
			 phys_bits);
		return -ENOTSUP;
	}
	dune_identity_limit = phys_limit - 192 * GIB;
	if (dune_identity_limit > 64 * GIB)
		dune_identity_limit = 64 * GIB;

	/* the executable: everything in the GiB-aligned range around AT_PHDR
	 * up to the heap belongs to it */
	s.exe_lo = phdr & ~(GIB - 1);
	s.exe_hi = s.exe_lo + 64 * GIB;
	if (phdr < dune_identity_limit)
		s.exe_lo = s.exe_hi = 0;

	/* where would the kernel put the next mmap? just under mmap_base */
	m = mmap(NULL, PGSIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	probe = m == MAP_FAILED ? 0 : (uintptr_t)m + PGSIZE;
	if (m != MAP_FAILED)
		munmap(m, PGSIZE);

	ret = dune_procmap_iterate_ctx("/proc/self/maps", scan_one, &s);
	if (ret || !s.stack_seen) {
		dune_err("kvm: cannot read the [stack] entry of /proc/self/maps: %s",
			 ret ? strerror(-ret) : "not found");
		return ret ? ret : -ENOENT;
	}
	if (probe > s.map_top && probe < s.stack_begin)
		s.map_top = probe;

	stack_base = DUNE_LG_ALIGN(s.stack_end) - GPA_STACK_SIZE;
	if (!s.map_top || s.map_top > stack_base)
		s.map_top = stack_base;
	mmap_base = DUNE_LG_ALIGN(s.map_top) - GPA_MAP_SIZE;

	if (s.exe_hi) {
		dune_exec_base = s.exe_lo;
		dune_exec_size = 64 * GIB;
		dune_exec_gpa = phys_limit - 128 * GIB;
		if (mmap_base < dune_exec_base + dune_exec_size && mmap_base + GPA_MAP_SIZE > dune_exec_base)
			dune_exec_size = mmap_base > dune_exec_base ? mmap_base - dune_exec_base : 0;
	}
	if (s.special_hi) {
		bool ok1, ok2;

		dune_gpa_of(s.special_lo, &ok1);
		dune_gpa_of(s.special_hi - 1, &ok2);
		if (!ok1 || !ok2) {
			dune_vdso_lo = s.special_lo & ~(GIB - 1);
			dune_vdso_hi = dune_vdso_lo + GIB;
			if (dune_vdso_hi > TASK_TOP)
				dune_vdso_hi = TASK_TOP;
			dune_vdso_gpa = phys_limit - 192 * GIB;
			if (s.special_hi > dune_vdso_hi) {
				dune_vdso_hi = 0;	/* straddles: leave the vDSO out */
			}
		}
	}
	cur_brk = PGROUNDUP(rsys(SYS_brk, 0, 0, 0));
	return 0;
}

/* ------------------------------------------------------------- open */

static int kvm_open(void)
{
	struct kvm_cpuid2 *c;
	int ret, i, n = 256;
	uint32_t lo, hi;

	ret = check_native();
	if (ret)
		return ret;
	kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm_fd < 0) {
		ret = -errno;
		dune_err("kvm: open /dev/kvm: %s (load kvm_intel or kvm_amd; check permissions)",
			 strerror(errno));
		return ret;
	}
	if (ioctl(kvm_fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		dune_err("kvm: /dev/kvm: unexpected KVM API version (want %d)", KVM_API_VERSION);
		return -EINVAL;
	}
	run_size = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0) {
		dune_err("kvm: KVM_GET_VCPU_MMAP_SIZE failed: %s", strerror(errno));
		return -EIO;
	}
	for (;;) {
		c = calloc(1, sizeof(*c) + (size_t)n * sizeof(struct kvm_cpuid_entry2));
		if (!c)
			return -ENOMEM;
		c->nent = (uint32_t)n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
			break;
		free(c);
		if (errno != E2BIG || n > 4096) {
			dune_err("kvm: KVM_GET_SUPPORTED_CPUID failed: %s", strerror(errno));
			return -EIO;
		}
		n *= 2;
	}
	cpuid = c;
	phys_bits = 36;
	for (i = 0; i < (int)c->nent; i++) {
		struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function == 0x80000008)
			phys_bits = (int)(e->eax & 0xff);
		if (e->function == 1) {
			e->ecx |= 1u << 21;	/* x2APIC: KVM emulates it */
			has_xsave = e->ecx & (1u << 26);
			dune_guest_pcid = e->ecx & (1u << 17);
		}
		if (e->function == 0xd && e->index == 0)
			guest_xcr0 = e->eax | ((uint64_t)e->edx << 32);
		if (e->function == 7 && e->index == 0)
			has_fsgsbase = e->ebx & 1;	/* RDGSBASE and co. (dune.S) */
	}
	if (has_xsave) {
		__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
		guest_xcr0 &= lo | ((uint64_t)hi << 32);
		guest_xcr0 |= 1;
	}
	mark_special(SYS_exit);
	mark_special(SYS_exit_group);
	mark_special(SYS_clone);
	mark_special(SYS_clone3);
	mark_special(SYS_fork);
	mark_special(SYS_vfork);
	mark_special(SYS_mmap);
	mark_special(SYS_munmap);
	mark_special(SYS_mprotect);
	mark_special(SYS_mremap);
	mark_special(SYS_brk);
	mark_special(SYS_arch_prctl);
	mark_special(SYS_rt_sigreturn);
	mark_special(SYS_shmat);
	mark_special(SYS_shmdt);
	return kvm_layout();
}

/* ------------------------------------------------------------ setup */

static int set_slot(uint32_t slot, uint64_t gpa, uint64_t size, uint64_t hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size, .userspace_addr = hva,
	};

	if (hva + size > TASK_TOP)
		r.memory_size = size = TASK_TOP - hva;
	if (ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		int err = errno;

		dune_err("kvm: KVM_SET_USER_MEMORY_REGION slot %u (gpa %#lx, %lu MiB at %#lx): %s",
			 slot, (unsigned long)gpa, (unsigned long)(size >> 20), (unsigned long)hva,
			 strerror(err));
		return -err;
	}
	return 0;
}

static int kvm_setup(void)
{
	int ret;

	if (vm_fd >= 0) {
		/* a forked child: the VM belongs to the parent */
		close(vm_fd);
		vm_fd = -1;
		memset(live_pcs, 0, sizeof(live_pcs));
	}
	vm_fd = ioctl(kvm_fd, KVM_CREATE_VM, 0UL);
	if (vm_fd < 0) {
		ret = -errno;
		dune_err("kvm: KVM_CREATE_VM: %s", strerror(errno));
		return ret;
	}
	fcntl(vm_fd, F_SETFD, FD_CLOEXEC);
	vm_pid = getpid();
	{
		/*
		 * KVM's local APIC in the kernel, the PIC and IOAPIC nowhere
		 * (split irqchip, no IOAPIC pins): x2APIC IPIs between vCPUs
		 * go through KVM; KVM_INTERRUPT (dune_signal() vectors) still
		 * works, as ExtINT through LVT0 (apic_setup()).
		 */
		struct kvm_enable_cap cap = { .cap = KVM_CAP_SPLIT_IRQCHIP, .args = { 0 } };

		/* without it (an old KVM), dune_apic_supported() is false;
		 * DUNE_KVM_APIC=0 leaves the APIC out */
		const char *on = getenv("DUNE_KVM_APIC");

		vm_apic = !(on && !strcmp(on, "0")) && ioctl(vm_fd, KVM_ENABLE_CAP, &cap) == 0;
	}
	next_vcpu_id = 0;
	if (vm_apic) {
		/*
		 * kvm_intel puts its APIC-access page (a private memory slot)
		 * at the APIC's default base, 0xfee00000, when the first vCPU
		 * is created: the identity slot leaves that page out (guest
		 * physical 0xfee00000 is the APIC there, not host memory).
		 */
		ret = set_slot(0, 0, 0xfee00000ULL, 0);
		if (!ret && dune_identity_limit > 0xfee01000ULL)
			ret = set_slot(5, 0xfee01000ULL, dune_identity_limit - 0xfee01000ULL,
				       0xfee01000ULL);
	} else {
		ret = set_slot(0, 0, dune_identity_limit, 0);
	}
	if (!ret)
		ret = set_slot(1, phys_limit - GPA_STACK_SIZE - GPA_MAP_SIZE, GPA_MAP_SIZE, mmap_base);
	if (!ret)
		ret = set_slot(2, phys_limit - GPA_STACK_SIZE, GPA_STACK_SIZE, stack_base);
	if (!ret && dune_exec_size)
		ret = set_slot(3, dune_exec_gpa, dune_exec_size, dune_exec_base);
	if (!ret && dune_vdso_hi)
		ret = set_slot(4, dune_vdso_gpa, dune_vdso_hi - dune_vdso_lo, dune_vdso_lo);
	return ret;
}

static uintptr_t kvm_syscall_gva(bool *copy)
{
	*copy = false;
	return (uintptr_t)__dune_syscall_kvm;
}

/* ------------------------------------------------------------ vCPU */

static int vcpu_fail(const char *what, int err)
{
	dune_err("kvm: dune_enter: %s: %s", what, strerror(err));
	return -err;
}

static int set_msrs(int fd)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[6];
	} m;
	static const uint32_t idx[] = { MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
					MSR_KERNEL_GS_BASE };
	const uint64_t val[] = { (0x23ULL << 48) | ((uint64_t)GD_KT << 32),
				 (uintptr_t)__dune_syscall_kvm, 0, 0x47700, 0 };
	unsigned i;

	memset(&m, 0, sizeof(m));
	for (i = 0; i < 5; i++) {
		m.e[i].index = idx[i];
		m.e[i].data = val[i];
	}
	m.hdr.nmsrs = 5;
	return ioctl(fd, KVM_SET_MSRS, &m) == 5 ? 0 : -1;
}

static struct kvm_segment seg(uint16_t sel, uint8_t type, bool code, uint64_t base)
{
	struct kvm_segment s = {
		.base = base, .limit = 0xffffffff, .selector = sel, .type = type,
		.present = 1, .dpl = 0, .db = code ? 0 : 1, .s = 1, .l = code ? 1 : 0, .g = 1,
	};

	return s;
}

/*
 * The vCPU's local APIC: x2APIC mode (APIC ID = vCPU id), software
 * enabled, LVT0 in ExtINT mode for KVM_INTERRUPT, nothing pending or in
 * service (a pooled vCPU may have had IPIs for its last thread).
 */
static int apic_setup(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m;
	struct kvm_lapic_state la;
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	uint32_t *reg = (uint32_t *)la.regs;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e[0].index = 0x1b;	/* IA32_APIC_BASE: enabled, x2APIC, BSP for 0 */
	m.e[0].data = 0xfee00000ULL | (1u << 11) | (1u << 10) | (v->id == 0 ? 1u << 8 : 0);
	if (ioctl(v->fd, KVM_SET_MSRS, &m) != 1)
		return vcpu_fail("KVM_SET_MSRS (IA32_APIC_BASE: x2APIC)", errno ? errno : EINVAL);
	if (ioctl(v->fd, KVM_GET_LAPIC, &la) < 0)
		return vcpu_fail("KVM_GET_LAPIC", errno);
	memset(la.regs + 0x100, 0, 0x80);	/* ISR */
	memset(la.regs + 0x200, 0, 0x80);	/* IRR */
	reg[0x80 / 4] = 0;			/* TPR */
	reg[0x280 / 4] = 0;			/* ESR */
	reg[0xf0 / 4] = 0x1ff;			/* SVR: enabled, spurious 0xff */
	reg[0x350 / 4] = 0x700;			/* LVT0: ExtINT */
	if (ioctl(v->fd, KVM_SET_LAPIC, &la) < 0)
		return vcpu_fail("KVM_SET_LAPIC", errno);
	/*
	 * With KVM's local APIC, every vCPU but the first (the BSP) starts
	 * as an application processor waiting for INIT and SIPI: its
	 * KVM_RUN would block and never enter the guest.  Ours run at once.
	 */
	if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0)
		return vcpu_fail("KVM_SET_MP_STATE (runnable)", errno);
	return 0;
}

static int vcpu_create(struct vcpu *v, struct dune_percpu *pc)
{
	struct kvm_sregs s;
	struct kvm_regs r;
	unsigned long fs = 0;
	uint64_t zero = 0;
	struct kvm_device_attr tsc = {
		.group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET, .addr = (uintptr_t)&zero,
	};

	v->pc = pc;
	pc->backend_priv = v;
	if (v->run) {
		/* an ended thread's vCPU: the FPU state of a new one (the
		 * registers follow) */
		struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };

		pc->cpu = v->id;
		v->sig_pending = 0;
		v->exits = 0;
		v->other_exit_at = 0;
		v->last_grow_rsp = 0;
		v->run->immediate_exit = 0;
		v->run->request_interrupt_window = 0;
		if (ioctl(v->fd, KVM_SET_FPU, &fpu) < 0)
			return vcpu_fail("KVM_SET_FPU", errno);
		goto state;
	}
	v->id = __atomic_fetch_add(&next_vcpu_id, 1, __ATOMIC_RELAXED);
	pc->cpu = v->id;
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, (unsigned long)v->id);
	if (v->fd < 0)
		return vcpu_fail("KVM_CREATE_VCPU", errno);
	fcntl(v->fd, F_SETFD, FD_CLOEXEC);
	v->run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return vcpu_fail("mmap of kvm_run", errno);
	}
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0)
		return vcpu_fail("KVM_SET_CPUID2", errno);
state:
	if (vm_apic) {
		int r = apic_setup(v);

		if (r)
			return r;
	}

	if (ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return vcpu_fail("KVM_GET_SREGS", errno);
	syscall(SYS_arch_prctl, 0x1003 /* ARCH_GET_FS */, &fs);
	pc->kfs_base = fs;
	s.cs = seg(GD_KT, 11, true, 0);
	s.ds = s.es = s.ss = seg(GD_KD, 3, false, 0);
	s.fs = seg(0, 3, false, fs);
	s.gs = seg(0, 3, false, (uintptr_t)pc);
	memset(&s.tr, 0, sizeof(s.tr));
	s.tr.base = (uintptr_t)&pc->tss;
	s.tr.limit = sizeof(pc->tss) - 1;
	s.tr.selector = GD_TSS;
	s.tr.type = 11;
	s.tr.present = 1;
	memset(&s.ldt, 0, sizeof(s.ldt));
	s.ldt.unusable = 1;
	s.ldt.type = 2;
	s.gdt.base = (uintptr_t)pc->gdt;
	s.gdt.limit = NR_GDT_ENTRIES * 8 - 1;
	s.idt.base = dune_guest_idt;
	s.idt.limit = 256 * 16 - 1;
	s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	s.cr3 = (uintptr_t)pgroot;
	s.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (has_xsave)
		s.cr4 |= CR4_OSXSAVE;
	if (dune_guest_pcid)
		s.cr4 |= CR4_PCIDE;
	if (has_fsgsbase)
		s.cr4 |= CR4_FSGSBASE;
	s.efer = 0x500 /* LME|LMA */ | 0x1 /* SCE */ | 0x800 /* NXE */;
	if (ioctl(v->fd, KVM_SET_SREGS, &s) < 0)
		return vcpu_fail("KVM_SET_SREGS (64-bit ring-0 state)", errno);
	if (set_msrs(v->fd) < 0)
		return vcpu_fail("KVM_SET_MSRS (STAR/LSTAR/SFMASK)", errno ? errno : EINVAL);
	if (has_xsave) {
		struct kvm_xcrs x = { .nr_xcrs = 1 };

		x.xcrs[0].xcr = 0;
		x.xcrs[0].value = guest_xcr0;
		if (ioctl(v->fd, KVM_SET_XCRS, &x) < 0)
			return vcpu_fail("KVM_SET_XCRS", errno);
	}
	/* guest TSC == host TSC, so rdtsc and the vDSO agree */
	if (ioctl(v->fd, KVM_HAS_DEVICE_ATTR, &tsc) == 0) {
		if (ioctl(v->fd, KVM_SET_DEVICE_ATTR, &tsc) < 0)
			return vcpu_fail("KVM_SET_DEVICE_ATTR (TSC offset 0)", errno);
	}

	memset(&r, 0, sizeof(r));
	r.rip = (uintptr_t)__dune_enter_resume;
	r.rsp = pc->enter_rsp;
	r.rflags = 0x202;
	if (ioctl(v->fd, KVM_SET_REGS, &r) < 0)
		return vcpu_fail("KVM_SET_REGS", errno);
	if (v->id < MAX_VCPUS)
		live_pcs[v->id] = pc;
	return 0;
}

/* ------------------------------------------------------ run loop */

static void dump_and_die(struct vcpu *v, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void dump_and_die(struct vcpu *v, const char *fmt, ...)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dune_err("kvm: %s", msg);
	if (ioctl(v->fd, KVM_GET_REGS, &r) == 0 && ioctl(v->fd, KVM_GET_SREGS, &s) == 0)
		dune_err("kvm: vCPU %d: rip %#llx rsp %#llx rflags %#llx cr2 %#llx cr3 %#llx rax %#llx",
			 v->id, r.rip, r.rsp, r.rflags, s.cr2, s.cr3, r.rax);
	exit(EXIT_FAILURE);
}

static void flush_all(void)
{
	int i;

	for (i = 0; i < MAX_VCPUS; i++)
		if (live_pcs[i])
			live_pcs[i]->flush_pending = 1;
}

static long mm_syscall(struct dune_percpu *pc, long nr)
{
	uint64_t *a = pc->sc_arg;
	int old_prot = PROT_READ | PROT_WRITE;
	ptent_t *pte;
	long ret;

	if (nr == SYS_mremap && !dune_vm_lookup(pgroot, (void *)a[0], CREATE_NONE, &pte) &&
	    (*pte & PTE_P))
		old_prot = PROT_READ | ((*pte & PTE_W) ? PROT_WRITE : 0) |
			   ((*pte & PTE_NX) ? 0 : PROT_EXEC);
	ret = dune_raw_syscall6(nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
				(long)a[5]);
	if (ret < 0 && ret > -4096)
		return ret;
	dune_mirror_lock();
	switch (nr) {
	case SYS_mmap:
		dune_mirror_range_locked((uintptr_t)ret, a[1], (int)a[2]);
		break;
	case SYS_munmap:
		dune_mirror_range_locked(a[0], a[1], -1);
		break;
	case SYS_mprotect:
		dune_mirror_range_locked(a[0], a[1], (int)a[2]);
		break;
	case SYS_mremap:
		dune_mirror_range_locked(a[0], a[1], -1);
		dune_mirror_range_locked((uintptr_t)ret, a[2], old_prot);
		break;
	case SYS_brk: {
		uintptr_t nb = PGROUNDUP((uintptr_t)ret);

		if (nb > cur_brk)
			dune_mirror_range_locked(cur_brk, nb - cur_brk, PROT_READ | PROT_WRITE);
		else if (nb < cur_brk)
			dune_mirror_range_locked(nb, cur_brk - nb, -1);
		cur_brk = nb;
		break;
	}
	case SYS_shmat:
	case SYS_shmdt:
		dune_mirror_unlock();
		dune_layout_map_all();	/* size unknown here: resync */
		dune_mirror_lock();
		break;
	}
	flush_all();
	dune_mirror_unlock();
	return ret;
}

static long clone_syscall(struct dune_percpu *pc, struct vcpu *v, long nr)
{
	uint64_t *a = pc->sc_arg;
	uint64_t local[RR_NR], *blk = local;
	struct kvm_regs r;
	struct kvm_fpu f;
	uint64_t flags, newsp = 0;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_FPU, &f) < 0)
		return -EIO;
	if (nr == SYS_clone) {
		flags = a[0];
		newsp = a[1];
	} else if (nr == SYS_vfork) {
		flags = CLONE_VM | CLONE_VFORK | SIGCHLD;
	} else {
		flags = SIGCHLD;
	}
	if (newsp) {
		/* the child reads its registers from its own new stack */
		blk = (uint64_t *)((newsp - 256 - sizeof(local)) & ~15UL);
	}
	blk[RR_RAX] = 0;
	blk[RR_RBX] = r.rbx;
	blk[RR_RCX] = r.rcx;
	blk[RR_RDX] = r.rdx;
	blk[RR_RSI] = r.rsi;
	blk[RR_RDI] = r.rdi;
	blk[RR_RSP] = newsp ? newsp : r.rsp;
	blk[RR_RBP] = r.rbp;
	blk[RR_R8] = r.r8;
	blk[RR_R9] = r.r9;
	blk[RR_R10] = r.r10;
	blk[RR_R11] = r.r11;
	blk[RR_R12] = r.r12;
	blk[RR_R13] = r.r13;
	blk[RR_R14] = r.r14;
	blk[RR_R15] = r.r15;
	blk[RR_RIP] = r.rcx;		/* `syscall` left the return address there */
	blk[RR_RFLAGS] = (r.r11 & ~0x100UL) | 0x200;
	blk[RR_MXCSR] = f.mxcsr;
	blk[RR_FCW] = f.fcw;
	blk[RR_FLAGS] = flags;
	if (nr == SYS_clone)
		return __dune_clone_resume(SYS_clone, (long)a[0], (long)a[1], (long)a[2],
					   (long)a[3], (long)a[4], blk);
	return __dune_clone_resume(nr, 0, 0, 0, 0, 0, blk);
}

/* host mode, in the child of a forwarded clone/fork/vfork */
void dune_child_after_clone(uint64_t *regs)
{
	if (!(regs[RR_FLAGS] & CLONE_VM)) {
		dune_pc = NULL;
		this_vcpu = NULL;
	}
}

static void free_lock_take(void)
{
	dune_spin_lock(&free_lock);
}

static void free_lock_drop(void)
{
	dune_spin_unlock(&free_lock);
}

/* a pooled vCPU, or a new (not yet created) one */
static struct vcpu *vcpu_get(void)
{
	struct vcpu *v;

	free_lock_take();
	v = free_vcpus;
	if (v)
		free_vcpus = v->next_free;
	free_lock_drop();
	if (!v) {
		/*
		 * Not malloc: this runs in host mode after dune_enter mirrored
		 * the process, and a thread's first malloc makes its arena
		 * (mmap + mprotect) - a mapping the guest page tables would not
		 * have.  The guest's next malloc or its exit (tcache shutdown)
		 * would then take the resync #PF, which spins with IF=0 for the
		 * mirror lock (see the kvm_amd notes in ref-lib/README.md).
		 */
		v = mmap(NULL, PGROUNDUP(sizeof(*v)), PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (v == MAP_FAILED)
			return NULL;
		v->fd = -1;
	}
	return v;
}

/* close and free a vCPU that is no VM's any more (or never worked) */
static void vcpu_drop(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, (size_t)run_size);
	if (v->fd >= 0)
		close(v->fd);
	munmap(v, PGROUNDUP(sizeof(*v)));
}

/* dune_thread_exit: the thread of pc ends; its vCPU goes to the pool */
static void kvm_release(struct dune_percpu *pc)
{
	struct vcpu *v = pc->backend_priv;

	this_vcpu = NULL;
	if (!v)
		return;
	/* flush_all() runs under the mirror lock: after this, it no longer
	 * writes to pc, which is about to be freed */
	dune_mirror_lock();
	if (v->id < MAX_VCPUS && live_pcs[v->id] == pc)
		live_pcs[v->id] = NULL;
	dune_mirror_unlock();
	v->pc = NULL;
	pc->backend_priv = NULL;
	free_lock_take();
	v->next_free = free_vcpus;
	free_vcpus = v;
	free_lock_drop();
}

/* a forked child: the parent's vCPUs and VM are not this process's */
static void kvm_forget(struct dune_percpu *pc)
{
	if (pc->backend_priv)
		vcpu_drop(pc->backend_priv);
	pc->backend_priv = NULL;
}

static void kvm_forked(void)
{
	struct vcpu *v;

	free_lock_drop();
	while ((v = free_vcpus)) {
		free_vcpus = v->next_free;
		vcpu_drop(v);
	}
	this_vcpu = NULL;
	memset(live_pcs, 0, sizeof(live_pcs));
	if (vm_fd >= 0)
		close(vm_fd);
	vm_fd = -1;
}

static void __attribute__((noreturn)) thread_exit(struct vcpu *v, long code)
{
	dune_thread_exit(v->pc, code);
}

static long special_syscall(struct dune_percpu *pc, struct vcpu *v, long nr)
{
	uint64_t *a = pc->sc_arg;

	switch (nr) {
	case SYS_exit:
		thread_exit(v, (long)a[0]);
	case SYS_exit_group:
		for (;;)
			rsys(SYS_exit_group, (long)a[0], 0, 0);
	case SYS_clone3:
		return -ENOSYS;		/* glibc falls back to clone */
	case SYS_clone:
	case SYS_fork:
	case SYS_vfork:
		return clone_syscall(pc, v, nr);
	case SYS_rt_sigreturn:
		return -ENOSYS;		/* signal handlers run in host mode */
	case SYS_arch_prctl: {
		long ret = rsys(SYS_arch_prctl, (long)a[0], (long)a[1], 0);

		if (ret == 0 && a[0] == 0x1002 /* ARCH_SET_FS */) {
			struct kvm_sregs s;

			pc->kfs_base = a[1];
			if (ioctl(v->fd, KVM_GET_SREGS, &s) == 0) {
				s.fs.base = a[1];
				ioctl(v->fd, KVM_SET_SREGS, &s);
			}
		}
		return ret;
	}
	default:
		return mm_syscall(pc, nr);
	}
}

/* grow the main stack when the guest ran off its bottom (EFAULT) */
static bool grow_stack(struct vcpu *v)
{
	struct kvm_regs r;
	uintptr_t want, p;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return false;
	want = PGROUNDDOWN(r.rsp) - 16 * PGSIZE;
	if (want < stack_base || r.rsp >= stack_base + GPA_STACK_SIZE || v->last_grow_rsp == r.rsp)
		return false;
	v->last_grow_rsp = r.rsp;
	/* a host access below the stack VMA extends it, like any stack fault */
	for (p = PGROUNDDOWN(r.rsp) + PGSIZE; p > want; p -= PGSIZE)
		(void)*(volatile char *)(p - PGSIZE);
	return true;
}

static void inject_signal(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t pend = __atomic_load_n(&v->sig_pending, __ATOMIC_RELAXED);

	run->immediate_exit = 0;
	if (!pend)
		return;
	if (run->ready_for_interrupt_injection && run->if_flag) {
		int sig = __builtin_ctzll(pend);
		struct kvm_interrupt irq = { .irq = (uint32_t)(DUNE_SIGNAL_INTR_BASE + sig) };

		if (ioctl(v->fd, KVM_INTERRUPT, &irq) == 0)
			__atomic_and_fetch(&v->sig_pending, ~(1ULL << sig), __ATOMIC_RELAXED);
	}
	run->request_interrupt_window = __atomic_load_n(&v->sig_pending, __ATOMIC_RELAXED) != 0;
}

static bool kvm_apic(void)
{
	return vm_apic;
}

/* KVM drops an IPI to an APIC ID no vCPU has: say so first */
static bool kvm_apic_dest_ok(uint32_t dest)
{
	return dest < MAX_VCPUS && __atomic_load_n(&live_pcs[dest], __ATOMIC_ACQUIRE);
}

static void kvm_deliver_signal(int sig)
{
	struct vcpu *v = this_vcpu;

	if (!v || sig <= 0 || sig >= 64)
		return;
	__atomic_or_fetch(&v->sig_pending, 1ULL << sig, __ATOMIC_RELAXED);
	v->run->immediate_exit = 1;
}

static void other_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_INTR:
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		return;
	case KVM_EXIT_IO:
		dump_and_die(v, "guest %s I/O port %#x: not a libdune port (unhandled exit)",
			     run->io.direction == KVM_EXIT_IO_OUT ? "wrote" : "read", run->io.port);
	case KVM_EXIT_MMIO:
		dump_and_die(v, "EPT violation: guest-physical %#llx is outside every Dune window "
			     "(no memory slot)", (unsigned long long)run->mmio.phys_addr);
	case KVM_EXIT_HLT:
		dump_and_die(v, "guest executed HLT (unhandled exit)");
	case KVM_EXIT_SHUTDOWN:
		dump_and_die(v, "guest triple fault (a fault while delivering #DF)");
	case KVM_EXIT_FAIL_ENTRY:
		dump_and_die(v, "VM entry failed, hardware reason %#llx",
			     (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	case KVM_EXIT_INTERNAL_ERROR:
		dump_and_die(v, "KVM internal error, suberror %u", run->internal.suberror);
	default:
		dump_and_die(v, "unhandled KVM exit reason %u", run->exit_reason);
	}
}

/*
 * KVM_RUN failed after the guest has run: the thread is in the middle of
 * guest code (there is nothing to return to), so report it with its
 * context and end the process.
 */
static void __attribute__((noreturn)) run_failed(struct vcpu *v, long r)
{
	char last[64];

	if (v->other_exit_at == v->exits)
		snprintf(last, sizeof(last), "exit reason %u", v->other_exit_reason);
	else
		snprintf(last, sizeof(last), "a system call (port %#x)", DUNE_KVM_SYSCALL_PORT);
	if (r == -EFAULT)
		dump_and_die(v, "KVM_RUN failed with EFAULT (%s) after %lu exits (the last: %s): the "
			     "guest touched a guest-physical page whose host memory is not mapped (EPT "
			     "violation; a mapping removed behind the guest page tables, or changed "
			     "outside Dune mode?)", strerror(EFAULT), v->exits, last);
	dump_and_die(v, "KVM_RUN failed: %s after %lu exits (the last: %s)", strerror((int)-r),
		     v->exits, last);
}

/*
 * Has the guest run at all?  Not the same as "KVM_RUN has returned": a
 * guest that makes no system call (no exit) after dune_enter returned in
 * it can fail its first KVM_RUN long after that (an EPT violation on a
 * page another thread unmapped): then dune_enter is long gone and the
 * failure is the guest's.  Never ran = still at the first instruction
 * with the stack dune_enter left.
 */
static bool guest_ran(struct vcpu *v, struct dune_percpu *pc)
{
	struct kvm_regs r;

	if (v->exits)
		return true;
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0)
		return true;	/* unknown: the safe answer (nothing to return to) */
	return r.rip != (uintptr_t)__dune_enter_resume || r.rsp != pc->enter_rsp;
}

static long kvm_enter(struct dune_percpu *pc)
{
	struct vcpu *v = vcpu_get();
	struct kvm_run *run;
	long r;

	if (!v)
		return -ENOMEM;
	r = vcpu_create(v, pc);
	if (r) {
		pc->backend_priv = NULL;
		vcpu_drop(v);
		return r;
	}
	this_vcpu = v;
	run = v->run;
	for (;;) {
		if (unlikely(v->sig_pending | run->immediate_exit))
			inject_signal(v);
		r = dune_raw_syscall6(SYS_ioctl, v->fd, KVM_RUN, 0, 0, 0, 0);
		if (likely(r == 0)) {
			v->exits++;
			if (likely(run->exit_reason == KVM_EXIT_IO &&
				   run->io.port == DUNE_KVM_SYSCALL_PORT)) {
				uint64_t nr = pc->sc_nr;

				if (likely(nr < 512 && !(special[nr / 64] & (1ULL << (nr % 64)))))
					pc->sc_nr = (uint64_t)dune_raw_syscall6(
						(long)nr, (long)pc->sc_arg[0], (long)pc->sc_arg[1],
						(long)pc->sc_arg[2], (long)pc->sc_arg[3],
						(long)pc->sc_arg[4], (long)pc->sc_arg[5]);
				else
					pc->sc_nr = (uint64_t)special_syscall(pc, v, (long)nr);
				continue;
			}
			v->other_exit_at = v->exits;
			v->other_exit_reason = run->exit_reason;
			other_exit(v);
			continue;
		}
		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r == -EFAULT && grow_stack(v))
			continue;
		if (!guest_ran(v, pc)) {
			/* the guest never ran: dune_enter fails and returns */
			dune_err("kvm: dune_enter: first KVM_RUN failed: %s", strerror((int)-r));
			kvm_release(pc);
			return r;
		}
		run_failed(v, r);
	}
}

const struct dune_backend dune_backend_kvm = {
	.name = "kvm",
	.open = kvm_open,
	.setup = kvm_setup,
	.syscall_gva = kvm_syscall_gva,
	.enter = kvm_enter,
	.deliver_signal = kvm_deliver_signal,
	.release = kvm_release,
	.forget = kvm_forget,
	.forked = kvm_forked,
	.apic = kvm_apic,
	.apic_dest_ok = kvm_apic_dest_ok,
	.mirrors_host = true,
};

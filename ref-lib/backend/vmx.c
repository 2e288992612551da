// SPDX-License-Identifier: MIT
/*
 * vmx.c - the vmx backend: /dev/dune (our ref-module, or the original
 * project-dune module), per docs/abi.md.
 *
 * DUNE_ENTER runs the guest until it stops; system calls are VMCALLs
 * handled inside the module (the guest's `syscall` reaches a copy of the
 * trampoline mapped at the host's LSTAR).  The run loop here only sees
 * stops: EXIT ends the thread (or the process for exit_group),
 * SIGNAL re-enters after Linux delivered the signal (a dune_signal()
 * handler is then entered in the guest through its IDT stub, on the
 * guest's stack below the red zone), anything else is fatal with a
 * register dump.
 *
 * vCPUs: a module frees a vCPU only when the file it was created through
 * is released.  Ours (ref-module) releases only that file's vCPUs, so with
 * it every thread creates its vCPU through a /dev/dune file of its own and
 * closes it when it ends (the vCPU goes with it); a forked child closes
 * its copies of them.  The original module destroys every vCPU on any
 * release, so with it all threads share the process's file and a vCPU
 * lives as long as the process.  A module is taken to be ours when it
 * knows the DUNE_LAYOUT_EXT extension.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../core/internal.h"

static int dune_fd = -1;
static bool file_per_vcpu;	/* the module releases a file's own vCPUs only */
static uintptr_t host_lstar;
static bool module_apic;	/* DUNE_APIC_INFO: DUNE_APIC_X2APIC */
static __thread uint64_t vmx_sig_pending;

static int vmx_open(void)
{
	struct dune_layout layout;
	long lstar;
	int err;

	dune_fd = open(DUNE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
	if (dune_fd < 0) {
		err = errno;
		dune_err("vmx: open %s: %s (load dune.ko: make module; or use DUNE_BACKEND=kvm)",
			 DUNE_DEVICE_PATH, strerror(err));
		return -err;
	}
	if (ioctl(dune_fd, DUNE_GET_LAYOUT, &layout) < 0) {
		err = errno;
		dune_err("vmx: %s: DUNE_GET_LAYOUT: %s (is the module a Dune module?)",
			 DUNE_DEVICE_PATH, strerror(err));
		return -err;
	}
	phys_limit = layout.phys_limit;
	mmap_base = layout.base_map;
	stack_base = layout.base_stack;
	dune_identity_limit = DUNE_GPA_IDENTITY_END(phys_limit);
	lstar = ioctl(dune_fd, DUNE_GET_SYSCALL);
	if (lstar == -1 && errno) {
		err = errno;
		dune_err("vmx: %s: DUNE_GET_SYSCALL: %s", DUNE_DEVICE_PATH, strerror(err));
		return -err;
	}
	host_lstar = (uintptr_t)lstar;
	{
		/* flags 0: the classic layout, as without the call */
		struct dune_layout_ext ext = { .flags = 0 };

		file_per_vcpu = ioctl(dune_fd, DUNE_LAYOUT_EXT, &ext) == 0;
	}
	{
		/* the original module has the x2APIC part but no way to ask
		 * for it: its APIC stays unused (dune_apic_supported false) */
		struct dune_apic_info ai = { .flags = 0 };

		module_apic = ioctl(dune_fd, DUNE_APIC_INFO, &ai) == 0 &&
			      (ai.flags & DUNE_APIC_X2APIC);
	}
	{
		extern char __executable_start[] __attribute__((weak));
		uintptr_t exe = (uintptr_t)__executable_start;

		if (exe && exe >= dune_identity_limit &&
		    !(exe >= mmap_base && exe < mmap_base + GPA_MAP_SIZE)) {
			dune_err("vmx: this executable is position independent (loaded at %#lx, above "
				 "the identity window that ends at %#lx) and the module has no layout "
				 "extension: rebuild it with -no-pie", (unsigned long)exe,
				 (unsigned long)dune_identity_limit);
			return -ENOEXEC;
		}
	}
	extern bool dune_nx_ok;
	dune_nx_ok = false;	/* the ABI's guest EFER has no NXE */
	return 0;
}

static bool vmx_apic(void)
{
	return module_apic;
}

static int vmx_setup(void)
{
	return 0;
}

static uintptr_t vmx_syscall_gva(bool *copy)
{
	*copy = true;
	return host_lstar;
}

static long enter_ioctl(int fd, struct dune_config *conf)
{
	return dune_raw_syscall6(SYS_ioctl, fd, (long)DUNE_ENTER, (long)conf, 0, 0, 0);
}

/* close this thread's own /dev/dune file: the module frees its vCPU */
static void vmx_release(struct dune_percpu *pc)
{
	vmx_sig_pending = 0;
	pc->sig_vec = 0;
	if (pc->dev_fd >= 0)
		dune_raw_syscall6(SYS_close, pc->dev_fd, 0, 0, 0, 0, 0);
	pc->dev_fd = -1;
}

/* a forked child: the parent's files would keep its vCPUs alive */
static void vmx_forget(struct dune_percpu *pc)
{
	if (pc->dev_fd >= 0)
		close(pc->dev_fd);
	pc->dev_fd = -1;
}

static void vmx_forked(void)
{
	vmx_sig_pending = 0;
}

/*
 * Run the guest's IDT entry vec as if the CPU had delivered it, at rip;
 * false if it cannot be now: ring 3's bit with IF=0 is ring 0 between
 * setting it and IRETQ (or the ring-3 syscall entry before clearing it).
 *
 * Ring 0: a hardware-style interrupt frame below the red zone, then the
 * vector's IDT stub.  Ring 3: DUNE_ENTER cannot change CS, so the guest
 * is re-entered at DUNE_VMX_SIGNAL_RIP, which is never mapped: its first
 * instruction fetch faults, the CPU delivers the #PF from ring 3 through
 * the IDT (ring switch, IST stack, the frame it builds for ring 3) and the
 * trap dispatch runs vector vec on that frame with rip put back, in ring
 * 0; ring 3 resumes when the handler returns.
 */
static bool vmx_deliver(struct dune_percpu *pc, struct dune_config *conf, uint64_t vec,
			uint64_t rip)
{
	uint64_t *sp;

	if (dune_percpu_in_user(pc)) {
		if (!(conf->rflags & 0x200UL) || pc->sig_vec)
			return false;
		pc->sig_rip = rip;
		pc->sig_vec = vec;
		conf->rip = DUNE_VMX_SIGNAL_RIP;
		return true;
	}
	/*
	 * A hardware-style interrupt frame; the stub pushes error code and
	 * vector.  The trap entry copies it to just below the red zone
	 * (dune.S): it sits below that copy (168 bytes from at most 152 below
	 * rsp) so that the two never overlap.
	 */
	sp = (uint64_t *)((conf->rsp - 128 - 256) & ~15UL);
	*--sp = GD_KD;
	*--sp = conf->rsp;
	*--sp = conf->rflags;
	*--sp = GD_KT;
	*--sp = rip;
	conf->rsp = (uintptr_t)sp;
	conf->rip = (uintptr_t)dune_idt_stubs + (uintptr_t)vec * 16;
	conf->rflags &= ~0x200UL;
	return true;
}

/* Enter the dune_signal() handler of sig; false if it cannot be now (it
 * stays pending for the next stop). */
static bool vmx_inject(struct dune_percpu *pc, struct dune_config *conf, int sig)
{
	return vmx_deliver(pc, conf, (uint64_t)(DUNE_SIGNAL_INTR_BASE + sig), conf->rip);
}

/*
 * The module intercepts #BP and #DB (DUNE_RET_INTERRUPT, status = vector;
 * docs/abi.md section 6).  libdune delivers them to the guest's own IDT,
 * so a T_BRKPT / T_DEBUG handler runs as it does on the kvm backend (and
 * without one, the default handler reports the trap).  #BP exits report
 * the RIP of the int3 (a one-byte instruction, the only #BP the exception
 * bitmap sees: `int $3` is a software interrupt); the CPU would have
 * pushed the address after it.  #DB is delivered at the reported RIP
 * (single-step and data breakpoints are trap-like: RIP is already past the
 * instruction).  False for a trap in ring 0 inside the ring-3 switch.
 */
static bool vmx_reflect_debug(struct dune_percpu *pc, struct dune_config *conf)
{
	uint64_t vec = (uint64_t)conf->status;

	if (vec != T_BRKPT && vec != T_DEBUG)
		return false;
	return vmx_deliver(pc, conf, vec, conf->rip + (vec == T_BRKPT ? 1 : 0));
}

static long vmx_enter(struct dune_percpu *pc)
{
	struct dune_config conf;
	int fd = dune_fd;
	long r;

	if (file_per_vcpu) {
		fd = open(DUNE_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			r = -errno;
			dune_err("vmx: dune_enter: open %s: %s", DUNE_DEVICE_PATH, strerror(errno));
			return r;
		}
		pc->dev_fd = fd;
	}
	memset(&conf, 0, sizeof(conf));
	conf.rip = (uintptr_t)__dune_vmx_boot;
	conf.rsp = pc->enter_rsp;
	conf.rdi = (uintptr_t)pc;
	conf.rflags = 0x2;
	conf.cr3 = (uintptr_t)pgroot;
	conf.vcpu = 0;
	for (;;) {
		r = enter_ioctl(fd, &conf);
		if (r < 0 && conf.vcpu == 0) {
			dune_err("vmx: dune_enter: DUNE_ENTER: %s", strerror((int)-r));
			vmx_release(pc);
			return r;
		}
		if (r < 0) {
			conf.ret = DUNE_RET_NOENTER;
			conf.status = -r;
		}
		switch (conf.ret) {
		case DUNE_RET_EXIT:
			if (conf.rax == SYS_exit_group) {
				dune_pc = NULL;
				for (;;)
					dune_raw_syscall6(SYS_exit_group, conf.status, 0, 0, 0, 0, 0);
			}
			dune_thread_exit(pc, conf.status);
		case DUNE_RET_SIGNAL: {
			uint64_t p = vmx_sig_pending;

			if (p) {
				int sig = __builtin_ctzll(p);

				if (vmx_inject(pc, &conf, sig))
					vmx_sig_pending &= ~(1ULL << sig);
			}
			continue;
		}
		case DUNE_RET_INTERRUPT:
			if (vmx_reflect_debug(pc, &conf))
				continue;
			dune_err("vmx: guest took vector %lld at rip %#llx inside libdune's ring-3 switch "
				 "(interrupts off): cannot deliver it to the guest's IDT",
				 (long long)conf.status, (unsigned long long)conf.rip);
			exit(EXIT_FAILURE);
		case DUNE_RET_EPT_VIOLATION:
			dune_err("vmx: EPT violation at rip %#llx rsp %#llx: the guest touched an address "
				 "outside the Dune windows (see dmesg)", (unsigned long long)conf.rip,
				 (unsigned long long)conf.rsp);
			exit(EXIT_FAILURE);
		case DUNE_RET_NOENTER:
			dune_err("vmx: re-entering the guest failed: %s", strerror((int)conf.status));
			exit(EXIT_FAILURE);
		default:
			dune_err("vmx: guest stopped, code %lld status %lld, rip %#llx rsp %#llx "
				 "(unhandled VM exit; see dmesg)", (long long)conf.ret,
				 (long long)conf.status, (unsigned long long)conf.rip,
				 (unsigned long long)conf.rsp);
			exit(EXIT_FAILURE);
		}
	}
}

static void vmx_deliver_signal(int sig)
{
	if (sig > 0 && sig < 64)
		vmx_sig_pending |= 1ULL << sig;
}

const struct dune_backend dune_backend_vmx = {
	.name = "vmx",
	.open = vmx_open,
	.setup = vmx_setup,
	.syscall_gva = vmx_syscall_gva,
	.enter = vmx_enter,
	.deliver_signal = vmx_deliver_signal,
	.release = vmx_release,
	.forget = vmx_forget,
	.forked = vmx_forked,
	/* the module's x2APIC (DUNE_APIC_INFO); it reports bad IPI
	 * destinations in the ESR */
	.apic = vmx_apic,
	.apic_esr = true,
	.mirrors_host = false,
};

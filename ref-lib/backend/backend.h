/* SPDX-License-Identifier: MIT */
/*
 * backend.h - how libdune reaches VMX non-root: one struct dune_backend
 * per backend (vmx.c: /dev/dune, kvm.c: /dev/kvm), chosen by dune_init()
 * from DUNE_BACKEND=vmx|kvm|auto.
 *
 * Sequence: open() (device, layout: phys_limit, mmap_base, stack_base,
 * the exec window), then the core builds the page tables, then setup()
 * (kvm: VM and memory slots), then per thread enter(), which runs on the
 * thread's host stack, creates the vCPU and runs the guest until the thread
 * leaves Dune mode (exit) - forwarding system calls on the way - and ends
 * the thread through dune_thread_exit(), which calls release().  A forked
 * child calls forget() for each of the parent's areas, then forked().
 */
#ifndef DUNE_BACKEND_H
#define DUNE_BACKEND_H

#include <stdbool.h>
#include <stdint.h>

struct dune_percpu;

struct dune_backend {
	const char *name;
	/* open the device and describe the guest-physical layout; fills
	 * phys_limit, mmap_base, stack_base, dune_exec_* */
	int (*open)(void);
	/* called once the page tables exist (kvm: memory slots) */
	int (*setup)(void);
	/* GVA the guest's `syscall` jumps to, and whether it must be mapped
	 * (vmx: the host's LSTAR, a copy of the trampoline goes there) */
	uintptr_t (*syscall_gva)(bool *needs_copy);
	/* create this thread's vCPU and run it from *pc until the thread
	 * leaves Dune mode; returns only with a negative errno on failure */
	long (*enter)(struct dune_percpu *pc);
	/* the x2APIC helpers work (core/apic.c); NULL: no APIC */
	bool (*apic)(void);
	/* dest is some vCPU's x2APIC ID (NULL: the backend reports a bad
	 * destination in the ESR instead, apic_esr) */
	bool (*apic_dest_ok)(uint32_t dest);
	bool apic_esr;
	/* the library sees every mmap/munmap/mprotect/brk (kvm): keep the
	 * guest page tables a mirror of the host mappings */
	bool mirrors_host;
	/* a dune_signal() signal arrived while this thread is in Dune mode
	 * (called from the host signal handler) */
	void (*deliver_signal)(int sig);
	/* the thread of pc ends (dune_thread_exit: host mode, pc's host
	 * stack, signals blocked): release its vCPU; pc is freed after */
	void (*release)(struct dune_percpu *pc);
	/* in a forked child (host mode): close what the parent's vCPU of pc
	 * holds in this process; called for every area the parent had */
	void (*forget)(struct dune_percpu *pc);
	/* in a forked child, after forget(): drop the rest of the parent's
	 * state (this thread's, the VM); setup() runs before the next entry */
	void (*forked)(void);
};

extern const struct dune_backend dune_backend_vmx;
extern const struct dune_backend dune_backend_kvm;
extern const struct dune_backend *dune_be;

#endif /* DUNE_BACKEND_H */

/* SPDX-License-Identifier: MIT */
/*
 * kvm_probe.h - does this host's KVM run guest ring 0 natively?
 *
 * On hosts where KVM is itself a guest of a paravirtual hypervisor
 * ("paravirtual nested KVM"), /dev/kvm opens and VMs run, but guest
 * ring-0 code is emulated at thousands of cycles per instruction.  A Dune
 * process there would crawl.  The probe runs the same small integer loop
 * in a one-vCPU 64-bit guest and natively, and compares the two times.
 *
 * Used by `dunebench doctor`, by the conformance runner (its "kvm-native"
 * capability) and by libdune's kvm backend, which refuses to run on an
 * emulating KVM.  It lives outside ref-lib: doctor and the suite built
 * against another library (conformance LIBDUNE=) use none of libdune's
 * sources.  The probe prints nothing and keeps no
 * state between calls.
 *
 * While it runs, the probe blocks DUNE_KVM_PROBE_SIGNAL in the calling
 * thread and installs a no-op handler for it (both are restored before
 * returning); the signal is what bounds KVM_RUN to timeout_ms.
 */
#ifndef DUNE_KVM_PROBE_H
#define DUNE_KVM_PROBE_H

#include <stdint.h>

/* guest/native time ratio above which guest ring 0 counts as emulated */
#define DUNE_KVM_EMULATED_RATIO	50.0

/* default loop length; at 1-2 cycles an iteration this is ~50 us natively */
#define DUNE_KVM_PROBE_ITERS	100000u

#define DUNE_KVM_PROBE_SIGNAL	(SIGRTMIN + 1)

enum dune_kvm_verdict {
	DUNE_KVM_UNKNOWN = 0,	/* not measured (only the device was checked) */
	DUNE_KVM_NATIVE,	/* ratio <= DUNE_KVM_EMULATED_RATIO */
	DUNE_KVM_EMULATED,	/* ratio >  DUNE_KVM_EMULATED_RATIO */
	DUNE_KVM_UNUSABLE,	/* no device, no permission, or a VM could not run */
};

struct dune_kvm_probe {
	enum dune_kvm_verdict verdict;
	int api_version;	/* KVM_GET_API_VERSION, -1 if not reached */
	int timed_out;		/* the guest loop was cut short by the timeout */
	uint64_t iterations;	/* loop iterations the timed guest run completed */
	uint64_t guest_ns;	/* wall time of those iterations in the guest */
	uint64_t native_ns;	/* wall time of as many iterations natively */
	double ratio;		/* guest_ns / native_ns, 0 if not measured */
	char error[160];	/* why UNUSABLE; empty otherwise */
};

/*
 * Open dev (NULL: "/dev/kvm") and read its API version, without creating
 * a VM.  Returns 0 and leaves verdict DUNE_KVM_UNKNOWN if the device is
 * usable; returns -1 with verdict DUNE_KVM_UNUSABLE and error set if not.
 */
int dune_kvm_probe_open(struct dune_kvm_probe *out, const char *dev);

/*
 * Full probe: everything dune_kvm_probe_open() does, then time the loop
 * in ring 0 of a 64-bit guest and natively.  timeout_ms bounds the time
 * spent inside KVM_RUN (0 means 500 ms); the whole call takes little more.
 * Returns 0 when a verdict NATIVE or EMULATED was reached, -1 otherwise.
 */
int dune_kvm_probe_ring0(struct dune_kvm_probe *out, const char *dev,
			 unsigned timeout_ms);

/* "native", "emulated", "unusable" or "unknown" */
const char *dune_kvm_verdict_name(enum dune_kvm_verdict v);

#endif /* DUNE_KVM_PROBE_H */

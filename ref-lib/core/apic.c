// SPDX-License-Identifier: MIT
/*
 * apic.c - the x2APIC helpers of the original API: this vCPU's APIC ID,
 * the CPU -> APIC ID table, IPIs between the vCPUs of this process and
 * EOI.  The guest uses the x2APIC MSRs itself; what the backend does with
 * them:
 *
 *   vmx  the module (DUNE_APIC_INFO says DUNE_APIC_X2APIC) answers ID and
 *        ESR reads and takes EOI writes without an exit, and turns an ICR
 *        write into an interrupt posted to the destination vCPU; a
 *        destination that names no vCPU sets the ESR.
 *   kvm  KVM's in-kernel local APIC (the vCPUs run in x2APIC mode; APIC
 *        ID = KVM vCPU id); the library checks the destination itself,
 *        since KVM drops an IPI to an unknown APIC ID silently.
 *
 * APIC IDs name vCPUs, not physical CPUs: a thread's vCPU keeps its ID
 * when the thread migrates, and an IPI follows it.  An interrupt reaches
 * the guest only while it runs with RFLAGS.IF set (libdune runs ring 0
 * with interrupts off: a receiver enables them where it wants IPIs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define MSR_X2APIC_ID	0x802
#define MSR_X2APIC_EOI	0x80b
#define MSR_X2APIC_ESR	0x828
#define MSR_X2APIC_ICR	0x830

#define ESR_SEND_ILLEGAL	(1U << 5)

#define APIC_MAX_CPUS	4096

static void apic_unsupported(const char *fn)
{
	static int said;

	if (!said++)
		dune_printf("libdune: %s: no APIC on the %s backend (unsupported)\n", fn,
			    dune_be ? dune_be->name : "(none)");
}

bool dune_apic_supported(void)
{
	return dune_be && dune_be->apic && dune_be->apic();
}

static uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return lo | ((uint64_t)hi << 32);
}

static void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

static uint32_t *apic_ids;	/* host CPU -> APIC ID, UINT32_MAX: none */

/*
 * Record this thread's APIC ID for the host CPU it runs on (the original
 * fills the same table from every real-time thread it starts; such threads
 * are pinned, so the CPU is theirs).  The table is shared with forked
 * children, as the original's.
 */
void dune_apic_init_rt_entry(void)
{
	unsigned int cpu = 0;

	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	if (!apic_ids) {
		uint32_t *t = mmap(NULL, APIC_MAX_CPUS * sizeof(uint32_t), PROT_READ | PROT_WRITE,
				   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

		if (t == MAP_FAILED)
			return;
		memset(t, 0xff, APIC_MAX_CPUS * sizeof(uint32_t));
		if (!__atomic_compare_exchange_n(&apic_ids, &(uint32_t *){ NULL }, t, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			munmap(t, APIC_MAX_CPUS * sizeof(uint32_t));
	}
	/* the raw system call: a vDSO getcpu would read the guest's view */
	if (syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && cpu < APIC_MAX_CPUS)
		__atomic_store_n(&apic_ids[cpu], dune_apic_id(), __ATOMIC_RELEASE);
}

uint32_t dune_apic_id(void)
{
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return UINT32_MAX;
	}
	return (uint32_t)rdmsr(MSR_X2APIC_ID);
}

uint32_t dune_apic_id_for_cpu(uint32_t cpu, bool *error)
{
	uint32_t id = UINT32_MAX;

	if (!dune_apic_supported())
		apic_unsupported(__func__);
	else if (apic_ids && cpu < APIC_MAX_CPUS)
		id = __atomic_load_n(&apic_ids[cpu], __ATOMIC_ACQUIRE);
	if (error)
		*error = id == UINT32_MAX;
	return id;
}

/*
 * dunebench extension: send vector to the vCPU with x2APIC ID dest (fixed
 * delivery, physical destination).  0 when it is on its way; -EINVAL for
 * a vector below 16 (the APIC cannot send those), -ESRCH when no vCPU of
 * this process has that ID, -ENOTSUP without an APIC.
 */
int dune_apic_send_ipi_checked(uint8_t vector, uint32_t dest)
{
	uint32_t esr;

	if (!dune_apic_supported())
		return -ENOTSUP;
	if (vector < 16)
		return -EINVAL;
	if (dune_be->apic_dest_ok && !dune_be->apic_dest_ok(dest))
		return -ESRCH;
	wrmsr(MSR_X2APIC_ICR, ((uint64_t)dest << 32) | vector);
	if (!dune_be->apic_esr)
		return 0;
	esr = (uint32_t)rdmsr(MSR_X2APIC_ESR);
	if (!esr)
		return 0;
	wrmsr(MSR_X2APIC_ESR, 0);
	return esr & ESR_SEND_ILLEGAL ? -EINVAL : -ESRCH;
}

void dune_apic_send_ipi(uint8_t vector, uint32_t destination_apic_id)
{
	static int said;
	int r;

	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	r = dune_apic_send_ipi_checked(vector, destination_apic_id);
	if (r && !said++)
		dune_printf("libdune: dune_apic_send_ipi(%u, %u): %s\n", vector,
			    destination_apic_id,
			    r == -EINVAL ? "vector below 16 (not sent)" :
			    "no vCPU of this process has that APIC ID (not sent)");
}

void dune_apic_eoi(void)
{
	if (!dune_apic_supported()) {
		apic_unsupported(__func__);
		return;
	}
	wrmsr(MSR_X2APIC_EOI, 0);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The x2APIC of a vCPU (apic.c): the guest reads its APIC ID and writes
 * EOI without a VM exit (virtual-interrupt delivery on a virtual-APIC
 * page), and its ICR writes exit and become interrupts posted to the
 * destination vCPU of the same process.
 */
#ifndef DUNE_APIC_H
#define DUNE_APIC_H

#include <linux/types.h>

struct dune_vcpu;
struct dune_apic_group;

/* x2APIC MSRs the module handles */
#define DUNE_X2APIC_ID		0x802
#define DUNE_X2APIC_VERSION	0x803
#define DUNE_X2APIC_EOI		0x80b
#define DUNE_X2APIC_ESR		0x828
#define DUNE_X2APIC_ICR		0x830

/*
 * struct dune_pi_desc - a posted-interrupt descriptor (SDM layout, 64
 * bytes, 64-byte aligned): senders set a vector's bit in @pir, then ON
 * (bit 0 of @control); the CPU's posted-interrupt processing, or
 * dune_apic_sync() where the module does not use it, moves them into the
 * virtual IRR.
 */
struct dune_pi_desc {
	unsigned long pir[4];
	unsigned long control;
	unsigned long rsvd[3];
} __aligned(64);

/* struct dune_apic - a vCPU's local APIC. */
struct dune_apic {
	struct dune_pi_desc *pid;	/* posted interrupts for this vCPU */
	void *page;			/* the virtual-APIC page, NULL: no APIC */
	u32 id;				/* x2APIC ID, unique in the process */
	struct dune_apic_group *group;	/* the vCPUs of this process */
	bool wrmsr_exit;		/* this exit is a WRMSR apic.c handles */
	bool rdmsr_exit;		/* this exit is a RDMSR apic.c handles */
	/*
	 * Without virtual-interrupt delivery (apic.c, "soft"): the APIC's
	 * request and in-service registers, kept by the module and touched
	 * only by the vCPU's own thread before VM entry and in its exit
	 * handlers; the vector injected at the last entry (0: none); the
	 * interrupt-window exit is on; something above needs the next entry.
	 */
	unsigned long irr[4], isr[4];
	u8 injected;
	unsigned long injected_rip;	/* the guest RIP it was injected at */
	bool window;
	bool soft_work;
};

bool dune_apic_usable(void);
void dune_apic_controls(u32 *pin, u32 *proc, u32 *proc2, u32 *exit);
bool dune_apic_ack_on_exit(void);
void dune_apic_dispatch_irq(u32 intr_info);
void dune_apic_msr_passthrough(void (*pass)(u32 msr, bool read, bool write));
int dune_apic_vcpu_init(struct dune_vcpu *v);
void dune_apic_vcpu_free(struct dune_vcpu *v);
int dune_apic_vmcs_setup(struct dune_vcpu *v);
void dune_apic_sync(struct dune_vcpu *v);
void dune_apic_wrmsr_info(struct dune_vcpu *v);
bool dune_apic_handle_wrmsr(struct dune_vcpu *v);
void dune_apic_rdmsr_info(struct dune_vcpu *v);
bool dune_apic_handle_rdmsr(struct dune_vcpu *v);
long dune_apic_get_info(void __user *uinfo);

/* Interrupts posted but not yet in the virtual IRR?  Before VM entry. */
static inline bool dune_apic_pending(struct dune_apic *a)
{
	return a->pid && ((READ_ONCE(a->pid->control) & 1) || a->soft_work);
}

#endif /* DUNE_APIC_H */

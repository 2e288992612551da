// SPDX-License-Identifier: GPL-2.0
/*
 * The original ABI's x2APIC part (docs/abi.md, "x2APIC and IPIs").
 *
 * Each vCPU has a local x2APIC of its own, in one of two ways:
 *
 * soft (the default): the module keeps the APIC's request and in-service
 *   registers itself.  The guest's RDMSR of its x2APIC ID or the ESR and
 *   its WRMSR of EOI exit and are answered here; before each VM entry the
 *   highest pending vector whose priority class is above the in-service
 *   one is injected through the VM-entry interruption-information field
 *   when the guest can take it (RFLAGS.IF set, no STI or MOV SS
 *   blocking), else the interrupt-window exit is turned on until it can.
 *   An injection that the exit interrupted (IDT-vectoring information) is
 *   put back.  Needs nothing but VMX itself.
 * vid (module parameter apic_vid=1, where the CPU has "use TPR shadow",
 *   "virtualize x2APIC mode", APIC-register virtualization and
 *   virtual-interrupt delivery): the guest's ID and ESR reads and EOI
 *   writes go to a virtual-APIC page without a VM exit, and the CPU
 *   delivers from the virtual IRR; with posted_intr (on by default) and
 *   the CPU's posted-interrupt processing, a running destination takes
 *   an IPI without an exit.  Bochs (the VMX lab) does not deliver from
 *   the virtual IRR after VM entry, so this mode is left to hardware.
 *
 * The ID is the vCPU's, not the physical CPU's: vCPUs of one process get
 * IDs 0, 1, 2, ... in creation order (the lowest free one), and an IPI
 * follows its vCPU when the thread migrates.
 *
 * A WRMSR of the ICR exits.  The destination is looked up among the
 * vCPUs of the sender's process; the vector is posted into its software
 * posted-interrupt descriptor (struct dune_apic), and the destination
 * folds that into its IRR (soft) or virtual IRR and RVI (vid) before its
 * next VM entry.  If the destination is in the guest at that moment it
 * is kicked with a reschedule IPI, which makes it exit and re-enter (or,
 * vid with posted interrupts, sent the notification vector).  A
 * destination whose thread is outside the guest (in a host system call,
 * or between DUNE_ENTER calls) takes the interrupt when it enters again.
 * The guest must have RFLAGS.IF set to take it; until then it stays
 * pending.
 */
#include <linux/bitops.h>
#include <linux/gfp.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/spinlock.h>
#include <linux/uaccess.h>
#include <asm/apic.h>
#include <asm/desc.h>
#include <asm/irq_vectors.h>
#include <asm/trapnr.h>

#include "apic.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_caps.h"

/* virtual-APIC page offsets */
#define VAPIC_ID	0x020
#define VAPIC_VERSION	0x030
#define VAPIC_ESR	0x280
#define VAPIC_IRR	0x200

/* ESR bits an IPI that was not sent sets */
#define ESR_SEND_ACCEPT		BIT(2)	/* no vCPU has that x2APIC ID */
#define ESR_SEND_ILLEGAL	BIT(5)	/* vector below 16 */

/* x2APIC ICR fields */
#define ICR_VECTOR		0xffULL
#define ICR_DELIVERY_MODE	(7ULL << 8)	/* 0 = fixed */
#define ICR_DEST_LOGICAL	BIT_ULL(11)
#define ICR_SHORTHAND		(3ULL << 18)
#define ICR_SHORTHAND_SELF	(1ULL << 18)
/* reserved in x2APIC mode: a WRMSR that sets them takes #GP */
#define ICR_RESERVED		(BIT_ULL(12) | BIT_ULL(13) | (3ULL << 16) | \
				 GENMASK_ULL(31, 20))

#define DUNE_APIC_ID_MAX	0xfffe	/* 0xffffffff is the broadcast ID */

/*
 * struct dune_apic_group - the vCPUs of one address space, by x2APIC ID.
 * IDs are allocated and freed under apic_groups_lock and @lock; senders
 * look destinations up under @lock alone.
 */
struct dune_apic_group {
	struct list_head link;		/* in apic_groups */
	struct mm_struct *mm;		/* identity only: a vCPU holds mmgrab */
	spinlock_t lock;
	struct idr ids;			/* x2APIC ID -> struct dune_vcpu */
};

static LIST_HEAD(apic_groups);
static DEFINE_MUTEX(apic_groups_lock);

static bool x2apic = true;
module_param(x2apic, bool, 0444);
MODULE_PARM_DESC(x2apic,
		 "give vCPUs the x2APIC of the original ABI (IPIs between the vCPUs of a process); default on");

static bool apic_vid;
module_param(apic_vid, bool, 0444);
MODULE_PARM_DESC(apic_vid,
		 "with x2apic: use virtual-interrupt delivery where the CPU has it (ID and EOI without exits); default off (the module injects IPIs itself)");

static bool vid;		/* virtual-interrupt delivery in use */

/* dune_apic_usable - wanted, and the CPU can (soft needs window exits). */
bool dune_apic_usable(void)
{
	return x2apic &&
	       vmx_ctl_allowed1(vmx_caps.proc, CPU_BASED_INTR_WINDOW_EXITING);
}

static bool vid_usable(void)
{
	return apic_vid && vmx_ctl_allowed1(vmx_caps.proc, CPU_BASED_TPR_SHADOW) &&
	       vmx_cap_secondary() &&
	       vmx_ctl_allowed1(vmx_caps.proc2,
				SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE) &&
	       vmx_ctl_allowed1(vmx_caps.proc2,
				SECONDARY_EXEC_APIC_REGISTER_VIRT) &&
	       vmx_ctl_allowed1(vmx_caps.proc2,
				SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY);
}

static bool posted_intr = true;
module_param(posted_intr, bool, 0444);
MODULE_PARM_DESC(posted_intr,
		 "with apic_vid=1: notify a running destination with the CPU's posted-interrupt processing where it has it (no exit); 0 = kick it out of the guest");

static bool posted;		/* posted-interrupt processing in use */
static unsigned long apic_host_idt;

void __dune_apic_do_irq(unsigned long entry);

/*
 * dune_apic_controls - add the APIC's controls to the wanted ones.
 * Posted-interrupt processing needs "acknowledge interrupt on exit": the
 * run loop then hands external interrupts to the host (dispatch_irq).
 */
void dune_apic_controls(u32 *pin, u32 *proc, u32 *proc2, u32 *exit)
{
	struct desc_ptr idt;

	posted = false;
	vid = dune_apic_usable() && vid_usable();
	if (!vid)
		return;
	*proc |= CPU_BASED_TPR_SHADOW;
	*proc2 |= SECONDARY_EXEC_VIRTUALIZE_X2APIC_MODE |
		  SECONDARY_EXEC_APIC_REGISTER_VIRT |
		  SECONDARY_EXEC_VIRTUAL_INTR_DELIVERY;
	if (!posted_intr || !vmx_cap_posted_intr() ||
	    !vmx_ctl_allowed1(vmx_caps.exit, VM_EXIT_ACK_INTR_ON_EXIT))
		return;
	store_idt(&idt);
	apic_host_idt = idt.address;
	*pin |= PIN_BASED_POSTED_INTR;
	*exit |= VM_EXIT_ACK_INTR_ON_EXIT;
	posted = true;
}

/* dune_apic_ack_on_exit - external-interrupt exits have acknowledged it */
bool dune_apic_ack_on_exit(void)
{
	return posted;
}

/*
 * dune_apic_dispatch_irq - after an external-interrupt exit with
 * acknowledge-on-exit, interrupts off: run the host's handler of the
 * vector the exit took.
 */
void dune_apic_dispatch_irq(u32 intr_info)
{
	const gate_desc *desc;

	if (WARN_ON_ONCE(!(intr_info & INTR_INFO_VALID_MASK)))
		return;
	desc = (const gate_desc *)apic_host_idt +
	       (intr_info & INTR_INFO_VECTOR_MASK);
	__dune_apic_do_irq(gate_offset(desc));
}

/*
 * dune_apic_msr_passthrough - clear the MSR-bitmap bits of the accesses
 * the CPU virtualizes: reads of the ID and the ESR (from the virtual-APIC
 * page), writes of EOI (EOI virtualization).  Every other x2APIC access
 * exits; ICR and ESR writes are handled below, the rest stop the vCPU.
 */
void dune_apic_msr_passthrough(void (*pass)(u32 msr, bool read, bool write))
{
	if (!vid)
		return;
	pass(DUNE_X2APIC_ID, true, false);
	pass(DUNE_X2APIC_ESR, true, false);
	pass(DUNE_X2APIC_EOI, false, true);
}

static u32 *vapic_reg(struct dune_apic *a, unsigned int off)
{
	return (u32 *)((char *)a->page + off);
}

static struct dune_apic_group *group_get(struct mm_struct *mm)
{
	struct dune_apic_group *g;

	list_for_each_entry(g, &apic_groups, link)
		if (g->mm == mm)
			return g;
	g = kzalloc(sizeof(*g), GFP_KERNEL_ACCOUNT);
	if (!g)
		return NULL;
	g->mm = mm;
	spin_lock_init(&g->lock);
	idr_init(&g->ids);
	list_add(&g->link, &apic_groups);
	return g;
}

/* With apic_groups_lock held. */
static void group_put_if_empty(struct dune_apic_group *g)
{
	if (!idr_is_empty(&g->ids))
		return;
	list_del(&g->link);
	idr_destroy(&g->ids);
	kfree(g);
}

/*
 * dune_apic_vcpu_init - give a new vCPU its virtual-APIC page and the
 * lowest x2APIC ID free in its process.  Before its VMCS is set up.
 */
int dune_apic_vcpu_init(struct dune_vcpu *v)
{
	struct dune_apic *a = &v->apic;
	struct dune_apic_group *g;
	struct page *page;
	int id;

	if (!dune_apic_usable())
		return 0;
	/* kmalloc aligns power-of-two sizes naturally: 64 bytes at 64 */
	a->pid = kzalloc(sizeof(*a->pid), GFP_KERNEL_ACCOUNT);
	if (!a->pid)
		return -ENOMEM;
	if (WARN_ON_ONCE((unsigned long)a->pid & 63)) {
		kfree(a->pid);
		a->pid = NULL;
		return -EIO;
	}
	page = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
	if (!page) {
		kfree(a->pid);
		a->pid = NULL;
		return -ENOMEM;
	}
	mutex_lock(&apic_groups_lock);
	g = group_get(v->mm);
	if (!g) {
		mutex_unlock(&apic_groups_lock);
		__free_page(page);
		kfree(a->pid);
		a->pid = NULL;
		return -ENOMEM;
	}
	idr_preload(GFP_KERNEL);
	spin_lock(&g->lock);
	id = idr_alloc(&g->ids, v, 0, DUNE_APIC_ID_MAX + 1, GFP_NOWAIT);
	spin_unlock(&g->lock);
	idr_preload_end();
	if (id < 0) {
		group_put_if_empty(g);
		mutex_unlock(&apic_groups_lock);
		__free_page(page);
		kfree(a->pid);
		a->pid = NULL;
		return id;
	}
	mutex_unlock(&apic_groups_lock);
	a->page = page_address(page);
	a->id = id;
	a->group = g;
	*vapic_reg(a, VAPIC_ID) = id;
	/* version 0x15 with 6 LVT entries, as a recent local APIC */
	*vapic_reg(a, VAPIC_VERSION) = 0x15 | (5 << 16);
	return 0;
}

/*
 * dune_apic_vcpu_free - no sender can reach @v once this returns (it
 * leaves its group under the lock senders hold while posting).
 */
void dune_apic_vcpu_free(struct dune_vcpu *v)
{
	struct dune_apic *a = &v->apic;
	struct dune_apic_group *g = a->group;

	if (!a->page)
		return;
	mutex_lock(&apic_groups_lock);
	spin_lock(&g->lock);
	idr_remove(&g->ids, a->id);
	spin_unlock(&g->lock);
	group_put_if_empty(g);
	mutex_unlock(&apic_groups_lock);
	free_page((unsigned long)a->page);
	kfree(a->pid);
	a->page = NULL;
	a->pid = NULL;
	a->group = NULL;
}

/* dune_apic_vmcs_setup - the APIC fields of a new VMCS (current). */
int dune_apic_vmcs_setup(struct dune_vcpu *v)
{
	int err = 0;

	if (!v->apic.page || !vid)
		return 0;
	err |= vmcs_write(VIRTUAL_APIC_PAGE_ADDR, __pa(v->apic.page));
	err |= vmcs_write(TPR_THRESHOLD, 0);
	err |= vmcs_write(EOI_EXIT_BITMAP0, 0);
	err |= vmcs_write(EOI_EXIT_BITMAP1, 0);
	err |= vmcs_write(EOI_EXIT_BITMAP2, 0);
	err |= vmcs_write(EOI_EXIT_BITMAP3, 0);
	err |= vmcs_write(GUEST_INTR_STATUS, 0);
	if (posted) {
		err |= vmcs_write(POSTED_INTR_NV, POSTED_INTR_VECTOR);
		err |= vmcs_write(POSTED_INTR_DESC_ADDR, __pa(v->apic.pid));
	}
	return err;
}

static int highest(const unsigned long *bits)
{
	int i;

	for (i = 3; i >= 0; i--)
		if (bits[i])
			return i * BITS_PER_LONG + __fls(bits[i]);
	return -1;
}

/* Posted vectors into @irr; the highest one moved, or -1. */
static int fold_posted(struct dune_apic *a, unsigned long *irr)
{
	unsigned long bits;
	int i, max = -1;

	/* ON first: a vector posted after this sets it again */
	if (!test_and_clear_bit(0, &a->pid->control))
		return -1;
	for (i = 0; i < ARRAY_SIZE(a->pid->pir); i++) {
		bits = xchg(&a->pid->pir[i], 0);
		if (bits) {
			irr[i] |= bits;
			max = i * BITS_PER_LONG + __fls(bits);
		}
	}
	return max;
}

static void set_window(struct dune_apic *a, bool on)
{
	unsigned long proc;

	if (a->window == on)
		return;
	proc = vmcs_read(CPU_BASED_VM_EXEC_CONTROL);
	if (on)
		proc |= CPU_BASED_INTR_WINDOW_EXITING;
	else
		proc &= ~CPU_BASED_INTR_WINDOW_EXITING;
	vmcs_write(CPU_BASED_VM_EXEC_CONTROL, proc);
	a->window = on;
}

/*
 * soft: the vector injected at the last entry is in service unless the
 * exit interrupted its delivery (then it is requested again); new posted
 * vectors join the IRR; the highest requested one above the in-service
 * priority class is injected now if the guest can take an interrupt, or
 * the interrupt window is opened for it.
 */
static void soft_sync(struct dune_vcpu *v)
{
	struct dune_apic *a = &v->apic;
	unsigned long flags, info;
	int irr, isr;

	if (a->injected) {
		/* not delivered: the exit came during its delivery, and the
		 * guest is still where the injection found it */
		info = vmcs_read(IDT_VECTORING_INFO_FIELD);
		if ((info & VECTORING_INFO_VALID_MASK) &&
		    (info & VECTORING_INFO_TYPE_MASK) == INTR_TYPE_EXT_INTR &&
		    (info & VECTORING_INFO_VECTOR_MASK) == a->injected &&
		    vmcs_read(GUEST_RIP) == a->injected_rip) {
			__clear_bit(a->injected, a->isr);
			__set_bit(a->injected, a->irr);
		}
		a->injected = 0;
	}
	fold_posted(a, a->irr);
	irr = highest(a->irr);
	isr = highest(a->isr);
	if (irr < 0 || (isr >= 0 && (irr & 0xf0) <= (isr & 0xf0))) {
		/* nothing, or it waits for an EOI */
		set_window(a, false);
		a->soft_work = false;
		return;
	}
	a->soft_work = true;
	if ((v->regs_dirty & DUNE_REG_EVENT) && (v->event & INTR_INFO_VALID_MASK)) {
		set_window(a, true);	/* an exception goes first */
		return;
	}
	flags = (v->regs_dirty & DUNE_REG_RFLAGS) ? v->regs.flags :
						    vmcs_read(GUEST_RFLAGS);
	if (!(flags & X86_EFLAGS_IF) ||
	    (vmcs_read(GUEST_INTERRUPTIBILITY_INFO) &
	     (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) {
		set_window(a, true);
		return;
	}
	set_window(a, false);
	__clear_bit(irr, a->irr);
	__set_bit(irr, a->isr);
	a->injected = irr;
	a->injected_rip = (v->regs_dirty & DUNE_REG_RIP) ? v->regs.ip :
							    vmcs_read(GUEST_RIP);
	v->event = INTR_INFO_VALID_MASK | INTR_TYPE_EXT_INTR | irr;
	v->event_error = 0;
	v->regs_dirty |= DUNE_REG_EVENT;
}

/*
 * dune_apic_sync - before VM entry (VMCS current, interrupts off, mode
 * already DUNE_IN_GUEST), ON set or soft work to do.  soft: soft_sync().
 * vid with posted interrupts: send this CPU the notification vector; it
 * stays pending until VM entry and the CPU then processes the descriptor
 * in the guest (as for a sender's notification).  vid without them: move
 * the posted vectors into the virtual IRR and raise RVI, so that the CPU
 * delivers the highest one as soon as the guest can take it.
 */
void dune_apic_sync(struct dune_vcpu *v)
{
	struct dune_apic *a = &v->apic;
	unsigned long status;
	unsigned long virr[4] = { 0 };
	int i, max;

	if (!vid) {
		soft_sync(v);
		return;
	}
	if (posted) {
		apic->send_IPI_self(POSTED_INTR_VECTOR);
		return;
	}
	max = fold_posted(a, virr);
	for (i = 0; i < 4 * BITS_PER_LONG; i++)
		if (test_bit(i, virr))
			*vapic_reg(a, VAPIC_IRR + (i / 32) * 0x10) |= BIT(i % 32);
	if (max < 0)
		return;
	status = vmcs_read(GUEST_INTR_STATUS);
	if ((status & 0xff) < max)
		vmcs_write(GUEST_INTR_STATUS, (status & 0xff00) | max);
}

/* Post @vector to @t; kick it if it runs in the guest on another CPU. */
static void apic_post(struct dune_vcpu *t, u8 vector)
{
	int cpu;

#ifdef DUNE_MUTANT_MOD_IPI_VECTOR
	/* mutant MOD_IPI_VECTOR: the IPI arrives one vector higher */
	vector++;
#endif
	set_bit(vector, t->apic.pid->pir);
	/* ON already set: whoever set it has notified, or the next entry will */
	if (test_and_set_bit(0, &t->apic.pid->control))
		return;
	/* the atomic is a full barrier; pairs with the one in run_once() */
	if (READ_ONCE(t->mode) != DUNE_IN_GUEST)
		return;
	cpu = READ_ONCE(t->cpu);
	if (cpu < 0 || cpu == raw_smp_processor_id())
		return;
	if (posted)
		apic->send_IPI(cpu, POSTED_INTR_VECTOR);
	else
		smp_send_reschedule(cpu);
}

/*
 * The guest wrote @val to its ICR.  Returns an ESR bit when the IPI
 * cannot be sent, 0 once it is posted.
 */
static u32 apic_send_ipi(struct dune_vcpu *v, u64 val)
{
	struct dune_apic_group *g = v->apic.group;
	u8 vector = val & ICR_VECTOR;
	struct dune_vcpu *t;
	u32 dest = val >> 32;

	if (vector < 16)
		return ESR_SEND_ILLEGAL;
	if (val & (ICR_DELIVERY_MODE | ICR_DEST_LOGICAL))
		return ESR_SEND_ACCEPT;		/* only fixed, physical */
	switch (val & ICR_SHORTHAND) {
	case 0:
		break;
	case ICR_SHORTHAND_SELF:
		dest = v->apic.id;
		break;
	default:
		return ESR_SEND_ACCEPT;		/* no broadcasts */
	}
	if (dest > DUNE_APIC_ID_MAX)
		return ESR_SEND_ACCEPT;
	spin_lock(&g->lock);
	t = idr_find(&g->ids, dest);
	if (t)
		apic_post(t, vector);
	spin_unlock(&g->lock);
	return t ? 0 : ESR_SEND_ACCEPT;
}

/*
 * dune_apic_wrmsr_info - read_exit_info() for a WRMSR exit, VMCS current:
 * an MSR handled here gets RIP past the instruction; any other leaves
 * wrmsr_exit false (the vCPU stops).
 */
void dune_apic_wrmsr_info(struct dune_vcpu *v)
{
	u32 msr = v->regs.cx;

	v->apic.wrmsr_exit = v->apic.page &&
			     (msr == DUNE_X2APIC_ICR || msr == DUNE_X2APIC_ESR ||
			      (!vid && msr == DUNE_X2APIC_EOI));
	if (!v->apic.wrmsr_exit)
		return;
	v->exit.insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	v->regs.ip = vmcs_read(GUEST_RIP) + v->exit.insn_len;
	v->regs_avail |= DUNE_REG_RIP;
	v->regs_dirty |= DUNE_REG_RIP;
}

/* A WRMSR the architecture refuses: #GP(0) at the instruction. */
static bool apic_wrmsr_gp(struct dune_vcpu *v)
{
	v->regs.ip -= v->exit.insn_len;
	v->event = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
		   INTR_INFO_DELIVER_CODE_MASK | X86_TRAP_GP;
	v->event_error = 0;
	v->regs_dirty |= DUNE_REG_EVENT;
	return false;
}

/*
 * dune_apic_handle_wrmsr - the exit of a WRMSR dune_apic_wrmsr_info()
 * took (ICR: send the IPI; ESR: writing 0 clears it).  Returns false: the
 * guest goes on.
 */
bool dune_apic_handle_wrmsr(struct dune_vcpu *v)
{
	struct dune_apic *a = &v->apic;
	u64 val = ((u64)(u32)v->regs.dx << 32) | (u32)v->regs.ax;
	u32 esr;

	if (v->regs.cx == DUNE_X2APIC_ESR) {
		if (val)
			return apic_wrmsr_gp(v);
		WRITE_ONCE(*vapic_reg(a, VAPIC_ESR), 0);
		return false;
	}
	if (v->regs.cx == DUNE_X2APIC_EOI) {
		int isr = highest(a->isr);

		/* soft: retire the highest in-service vector */
		if (val)
			return apic_wrmsr_gp(v);
		if (isr >= 0)
			__clear_bit(isr, a->isr);
		a->soft_work = true;	/* the next one may go in */
		return false;
	}
	if (val & ICR_RESERVED)
		return apic_wrmsr_gp(v);
	esr = apic_send_ipi(v, val);
	if (esr)
		WRITE_ONCE(*vapic_reg(a, VAPIC_ESR),
			   READ_ONCE(*vapic_reg(a, VAPIC_ESR)) | esr);
	return false;
}

/*
 * dune_apic_rdmsr_info - read_exit_info() for a RDMSR exit, VMCS current:
 * soft, the ID, version and ESR reads are answered here (RIP past the
 * instruction); any other leaves rdmsr_exit false (the vCPU stops).
 */
void dune_apic_rdmsr_info(struct dune_vcpu *v)
{
	u32 msr = v->regs.cx;

	v->apic.rdmsr_exit = v->apic.page && !vid &&
			     (msr == DUNE_X2APIC_ID || msr == DUNE_X2APIC_VERSION ||
			      msr == DUNE_X2APIC_ESR);
	if (!v->apic.rdmsr_exit)
		return;
	v->exit.insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	v->regs.ip = vmcs_read(GUEST_RIP) + v->exit.insn_len;
	v->regs_avail |= DUNE_REG_RIP;
	v->regs_dirty |= DUNE_REG_RIP;
}

/* dune_apic_handle_rdmsr - the exit dune_apic_rdmsr_info() took.  false */
bool dune_apic_handle_rdmsr(struct dune_vcpu *v)
{
	u32 val;

	switch (v->regs.cx) {
	case DUNE_X2APIC_ID:
		val = *vapic_reg(&v->apic, VAPIC_ID);
		break;
	case DUNE_X2APIC_VERSION:
		val = *vapic_reg(&v->apic, VAPIC_VERSION);
		break;
	default:
		val = READ_ONCE(*vapic_reg(&v->apic, VAPIC_ESR));
		break;
	}
	v->regs.ax = val;
	v->regs.dx = 0;
	return false;
}

/* DUNE_APIC_INFO */
long dune_apic_get_info(void __user *uinfo)
{
	struct dune_apic_info info = {
		.flags = (dune_apic_usable() ? DUNE_APIC_X2APIC : 0) |
			 (vid ? DUNE_APIC_VIRT : 0) |
			 (posted ? DUNE_APIC_POSTED : 0),
	};

	if (copy_to_user(uinfo, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * The VT-x core: VMX operation on demand, VMCS setup (guest state of
 * docs/abi.md section 6), vCPU load/migration, the run loop and the
 * VM-exit dispatch table.
 *
 * VMX is on only while this module has vCPUs: the first vCPU enables it
 * on every online CPU (VMXON), the last one disables it again, and a CPU
 * that comes online in between gets VMXON when a vCPU first runs there.
 * If another hypervisor holds VMX on a CPU (CR4.VMXE already set, e.g.
 * kvm_intel while it has VMs; with no VMs kvm_intel 6.1 keeps VMX off),
 * creating a vCPU fails with -EBUSY.
 */
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/gfp.h>
#include <linux/hw_breakpoint.h>
#include <linux/idr.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/smp.h>
#include <linux/task_work.h>
#include <asm/cpu_entry_area.h>
#include <asm/debugreg.h>
#include <asm/desc.h>
#include <asm/fpu/api.h>
#include <asm/fsgsbase.h>
#include <asm/msr.h>
#include <asm/processor.h>
#include <asm/segment.h>
#include <asm/special_insns.h>
#include <asm/tlbflush.h>
#include <asm/trapnr.h>
#include <asm/tsc.h>

#include "apic.h"
#include "dune_mod.h"
#include "vmcs.h"
#include "vmx.h"
#include "vmx_caps.h"

/* The controls we run guests with, computed once from the capabilities. */
static struct {
	u32 pin;
	u32 proc;
	u32 proc2;
	u32 exit;
	u32 entry;
} vmcs_ctls;

/*
 * The VMX-preemption timer bounds how long the guest runs without a VM
 * exit.  External interrupts already force exits on real hardware, but
 * Bochs (the VMX lab) does not deliver them as VM exits while the guest
 * runs with RFLAGS.IF = 0, which is how libdune runs; the timer makes
 * such a guest still reach signal_pending()/need_resched() checks.
 */
static unsigned int guest_slice_us = 10000;
module_param(guest_slice_us, uint, 0444);
MODULE_PARM_DESC(guest_slice_us,
		 "longest guest run without a VM exit, in microseconds (VMX-preemption timer; 0 = off)");
static u32 preemption_timer_value;

static unsigned long *msr_bitmap;
static unsigned long host_idt_base;

static DEFINE_PER_CPU(void *, vmxon_region);
static DEFINE_PER_CPU(bool, vmx_on);
static DEFINE_PER_CPU(struct dune_vcpu *, current_vcpu);
/* vCPUs whose VMCS is active on this CPU (VMCLEARed before VMXOFF) */
static DEFINE_PER_CPU(struct list_head, loaded_vcpus);
static int cpuhp_state;

static DEFINE_MUTEX(vmx_users_lock);
static unsigned int vmx_users;		/* vCPUs that exist */
static DEFINE_IDA(vpid_ida);

/* ------------------------------------------------------------------ */
/* VMX operation                                                        */
/* ------------------------------------------------------------------ */

/* VMXON on this CPU.  Interrupts off (IPI or caller). */
static int vmxon_this_cpu(void)
{
	void *region = this_cpu_read(vmxon_region);
	u64 pa;
	bool fail;

	if (this_cpu_read(vmx_on))
		return 0;
	if (!region)
		return -ENOMEM;
	if (cr4_read_shadow() & X86_CR4_VMXE)
		return -EBUSY;
	*(u32 *)region = vmx_caps.revision_id;
	pa = __pa(region);
	intel_pt_handle_vmx(1);
	cr4_set_bits(X86_CR4_VMXE);
	asm volatile("vmxon %[pa]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [pa] "m" (pa)
		     : "cc", "memory");
	if (fail) {
		cr4_clear_bits(X86_CR4_VMXE);
		intel_pt_handle_vmx(0);
		return -EIO;
	}
	/* Nothing cached from an earlier VMX session may survive. */
	if (vmx_cap_invept_global())
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmx_cap_invvpid_global())
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
	this_cpu_write(vmx_on, true);
	return 0;
}

static void vmxoff_this_cpu(void)
{
	struct dune_vcpu *v = this_cpu_read(current_vcpu);

	if (!this_cpu_read(vmx_on))
		return;
	if (v)	/* cannot happen: the last vCPU is gone */
		vmcs_clear(v->vmcs_pa);
	this_cpu_write(current_vcpu, NULL);
	asm volatile("vmxoff" ::: "cc", "memory");
	cr4_clear_bits(X86_CR4_VMXE);
	intel_pt_handle_vmx(0);
	this_cpu_write(vmx_on, false);
}

static void vmxon_ipi(void *data)
{
	atomic_t *failed = data;
	int r = vmxon_this_cpu();

	if (r) {
		pr_err("dune: cannot enable VMX on CPU %d: %s\n",
		       smp_processor_id(),
		       r == -EBUSY ? "VMX is in use by another hypervisor (CR4.VMXE set; kvm_intel with running VMs?)" :
		       "VMXON failed");
		atomic_cmpxchg(failed, 0, r);
	}
}

static void vmxoff_ipi(void *unused)
{
	vmxoff_this_cpu();
}

static void vcpu_vmclear_local(void *data);

/*
 * A CPU going offline VMCLEARs the VMCSs active on it (so that their
 * state is in memory for another CPU) and leaves VMX operation.  A CPU
 * coming online gets VMXON lazily, in vcpu_load().
 */
static int dune_cpu_offline(unsigned int cpu)
{
	struct dune_vcpu *v, *tmp;
	unsigned long flags;

	local_irq_save(flags);
	list_for_each_entry_safe(v, tmp, this_cpu_ptr(&loaded_vcpus),
				 loaded_link)
		vcpu_vmclear_local(v);
	vmxoff_this_cpu();
	local_irq_restore(flags);
	return 0;
}

/*
 * dune_vmx_get - account one more vCPU; the first turns VMX on everywhere.
 * Returns -EBUSY when another hypervisor holds VMX.
 */
int dune_vmx_get(void)
{
	atomic_t failed = ATOMIC_INIT(0);
	int r = 0;

	mutex_lock(&vmx_users_lock);
	if (vmx_users == 0) {
		cpus_read_lock();
		on_each_cpu(vmxon_ipi, &failed, 1);
		r = atomic_read(&failed);
		if (r)
			on_each_cpu(vmxoff_ipi, NULL, 1);
		cpus_read_unlock();
	}
	if (!r)
		vmx_users++;
	mutex_unlock(&vmx_users_lock);
	return r;
}

void dune_vmx_put(void)
{
	mutex_lock(&vmx_users_lock);
	if (!WARN_ON(vmx_users == 0) && --vmx_users == 0)
		on_each_cpu(vmxoff_ipi, NULL, 1);
	mutex_unlock(&vmx_users_lock);
}

/* ------------------------------------------------------------------ */
/* VMCS setup                                                           */
/* ------------------------------------------------------------------ */

static void msr_bitmap_pass(u32 msr, bool read, bool write)
{
	/* read-low, read-high, write-low, write-high: 1 KiB each */
	unsigned long *base = msr_bitmap;
	u32 bit;

	if (msr <= 0x1fff) {
		bit = msr;
	} else if (msr >= 0xc0000000 && msr <= 0xc0001fff) {
		bit = msr - 0xc0000000;
		base = (unsigned long *)((char *)msr_bitmap + 0x400);
	} else {
		return;
	}
	if (read)
		__clear_bit(bit, base);
	if (write)
		__clear_bit(bit, (unsigned long *)((char *)base + 0x800));
}

/* #DB and #BP exit (DUNE_RET_INTERRUPT); the guest handles the rest */
#define DUNE_EXCEPTION_BITMAP	(BIT(X86_TRAP_DB) | BIT(X86_TRAP_BP))

static int vmcs_ctls_init(void)
{
	u32 pin_min = PIN_BASED_EXT_INTR_MASK | PIN_BASED_NMI_EXITING;
	u32 pin_opt = PIN_BASED_VIRTUAL_NMIS |
		      (guest_slice_us ? PIN_BASED_VMX_PREEMPTION_TIMER : 0);
	/*
	 * CR8 is the host CPU's task priority and DR0-DR3/DR6 are the host
	 * CPU's debug registers (VM exits switch neither): guest accesses to
	 * them must exit.
	 */
	u32 proc_min = CPU_BASED_HLT_EXITING | CPU_BASED_MWAIT_EXITING |
		       CPU_BASED_MONITOR_EXITING |
		       CPU_BASED_UNCOND_IO_EXITING |
		       CPU_BASED_CR8_LOAD_EXITING |
		       CPU_BASED_CR8_STORE_EXITING |
		       CPU_BASED_MOV_DR_EXITING |
		       CPU_BASED_USE_MSR_BITMAPS |
		       CPU_BASED_ACTIVATE_SECONDARY_CONTROLS;
	u32 proc2_min = SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_ENABLE_VPID;
	u32 proc_opt = 0;
	u32 proc2_opt = SECONDARY_EXEC_ENABLE_RDTSCP |
			SECONDARY_EXEC_ENABLE_INVPCID;
	u32 exit_min = VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_LOAD_IA32_EFER |
		       VM_EXIT_LOAD_IA32_PAT;
	u32 exit_opt = VM_EXIT_SAVE_DEBUG_CONTROLS;
	u32 entry_min = VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER |
			VM_ENTRY_LOAD_IA32_PAT;
	u32 entry_opt = VM_ENTRY_LOAD_DEBUG_CONTROLS;

	dune_apic_controls(&pin_opt, &proc_opt, &proc2_opt, &exit_opt);
	if (vmx_caps_adjust(pin_min, pin_opt, vmx_caps.pin, &vmcs_ctls.pin) ||
	    vmx_caps_adjust(proc_min, proc_opt, vmx_caps.proc, &vmcs_ctls.proc) ||
	    vmx_caps_adjust(proc2_min, proc2_opt, vmx_caps.proc2,
			    &vmcs_ctls.proc2) ||
	    vmx_caps_adjust(exit_min, exit_opt, vmx_caps.exit,
			    &vmcs_ctls.exit) ||
	    vmx_caps_adjust(entry_min, entry_opt, vmx_caps.entry,
			    &vmcs_ctls.entry)) {
		pr_err("dune: CPU lacks a VMX control the module needs\n");
		return -EOPNOTSUPP;
	}
	if (vmcs_ctls.pin & PIN_BASED_VMX_PREEMPTION_TIMER) {
		u64 ticks = (u64)tsc_khz * guest_slice_us / 1000;

		ticks >>= vmx_caps.misc & VMX_MISC_PREEMPTION_TIMER_RATE_MASK;
		preemption_timer_value = clamp_t(u64, ticks, 1, U32_MAX);
	}
	return 0;
}

static int alloc_vmxon_regions(void)
{
	struct page *page;
	int cpu;

	for_each_possible_cpu(cpu) {
		page = alloc_pages_node(cpu_to_node(cpu),
					GFP_KERNEL | __GFP_ZERO, 0);
		if (!page)
			return -ENOMEM;
		per_cpu(vmxon_region, cpu) = page_address(page);
	}
	return 0;
}

static void free_vmxon_regions(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		if (per_cpu(vmxon_region, cpu))
			free_page((unsigned long)per_cpu(vmxon_region, cpu));
		per_cpu(vmxon_region, cpu) = NULL;
	}
}

int dune_vmx_init(void)
{
	struct desc_ptr idt;
	int cpu, r;

	r = vmcs_ctls_init();
	if (r)
		return r;
	msr_bitmap = (unsigned long *)__get_free_page(GFP_KERNEL);
	if (!msr_bitmap)
		return -ENOMEM;
	/* Intercept every MSR but these (docs/abi.md section 6). */
	memset(msr_bitmap, 0xff, PAGE_SIZE);
	msr_bitmap_pass(MSR_FS_BASE, true, true);
	msr_bitmap_pass(MSR_GS_BASE, true, true);
	msr_bitmap_pass(MSR_PKG_ENERGY_STATUS, true, false);
	msr_bitmap_pass(MSR_RAPL_POWER_UNIT, true, false);
	dune_apic_msr_passthrough(msr_bitmap_pass);	/* apic.c */

	for_each_possible_cpu(cpu)
		INIT_LIST_HEAD(&per_cpu(loaded_vcpus, cpu));
	r = alloc_vmxon_regions();
	if (r)
		goto err;
	r = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN, "dune/vmx:online",
				      NULL, dune_cpu_offline);
	if (r < 0)
		goto err;
	cpuhp_state = r;
	store_idt(&idt);
	host_idt_base = idt.address;
#ifdef CONFIG_PREEMPT_NOTIFIERS
	preempt_notifier_inc();
#endif
	return 0;

err:
	free_vmxon_regions();
	free_page((unsigned long)msr_bitmap);
	return r;
}

void dune_vmx_exit(void)
{
#ifdef CONFIG_PREEMPT_NOTIFIERS
	preempt_notifier_dec();
#endif
	cpuhp_remove_state_nocalls(cpuhp_state);
	free_vmxon_regions();
	free_page((unsigned long)msr_bitmap);
	ida_destroy(&vpid_ida);
}

static u64 fixed_bits(u64 val, u64 fixed0, u64 fixed1)
{
	return (val | fixed0) & fixed1;
}

/* Host state that is the same on every CPU.  Returns VMWRITE errors. */
static int vmcs_setup_host_constant(void)
{
	int err = 0;
	u64 v;

	err |= vmcs_write(HOST_CR0, read_cr0());
	err |= vmcs_write(HOST_CS_SELECTOR, __KERNEL_CS);
	err |= vmcs_write(HOST_SS_SELECTOR, __KERNEL_DS);
	err |= vmcs_write(HOST_DS_SELECTOR, 0);
	err |= vmcs_write(HOST_ES_SELECTOR, 0);
	err |= vmcs_write(HOST_FS_SELECTOR, 0);
	err |= vmcs_write(HOST_GS_SELECTOR, 0);
	err |= vmcs_write(HOST_TR_SELECTOR, GDT_ENTRY_TSS * 8);
	err |= vmcs_write(HOST_IDTR_BASE, host_idt_base);
	err |= vmcs_write(HOST_RIP, (unsigned long)__dune_vmx_exit);
	rdmsrl(MSR_IA32_SYSENTER_CS, v);
	err |= vmcs_write(HOST_IA32_SYSENTER_CS, (u32)v);
	rdmsrl(MSR_IA32_SYSENTER_EIP, v);
	err |= vmcs_write(HOST_IA32_SYSENTER_EIP, v);
	rdmsrl(MSR_EFER, v);
	err |= vmcs_write(HOST_IA32_EFER, v);
	rdmsrl(MSR_IA32_CR_PAT, v);
	err |= vmcs_write(HOST_IA32_PAT, v);
	return err;
}

/* Host state that differs per CPU; written when a vCPU lands on a CPU. */
static int vmcs_setup_host_percpu(int cpu)
{
	int err = 0;
	u64 v;

	err |= vmcs_write(HOST_TR_BASE,
			  (unsigned long)&get_cpu_entry_area(cpu)->tss.x86_tss);
	err |= vmcs_write(HOST_GDTR_BASE,
			  (unsigned long)&get_cpu_entry_area(cpu)->gdt);
	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	err |= vmcs_write(HOST_IA32_SYSENTER_ESP, v);
	rdmsrl(MSR_GS_BASE, v);		/* the kernel's per-CPU base */
	err |= vmcs_write(HOST_GS_BASE, v);
	return err;
}

struct guest_seg {
	u32 sel;	/* VMCS field encodings */
	u32 base;
	u32 limit;
	u32 ar;
	u32 limit_value;
	u32 ar_value;
};

#define GUEST_SEG(s, lim, arb) { GUEST_##s##_SELECTOR, GUEST_##s##_BASE, \
				 GUEST_##s##_LIMIT, GUEST_##s##_AR_BYTES, \
				 lim, arb }

/* Flat segments with selector 0; libdune loads its own GDT. */
static const struct guest_seg guest_segs[] = {
	GUEST_SEG(CS, 0xffffffff, 0xa09b),	/* 64-bit code, DPL 0 */
	GUEST_SEG(DS, 0xffffffff, 0xa093),
	GUEST_SEG(ES, 0xffffffff, 0xa093),
	GUEST_SEG(FS, 0xffffffff, 0xa093),
	GUEST_SEG(GS, 0xffffffff, 0xa093),
	GUEST_SEG(SS, 0xffffffff, 0xa093),
	GUEST_SEG(TR, 0xff, 0x008b),		/* busy 64-bit TSS */
	GUEST_SEG(LDTR, 0, 0x0082),		/* empty: TI=1 selectors #GP */
};

static int vmcs_setup_segments(void)
{
	const struct guest_seg *g;
	int err = 0;

	for (g = guest_segs; g < guest_segs + ARRAY_SIZE(guest_segs); g++) {
		err |= vmcs_write(g->sel, 0);
		err |= vmcs_write(g->base, 0);
		err |= vmcs_write(g->limit, g->limit_value);
		err |= vmcs_write(g->ar, g->ar_value);
	}
	return err;
}

/* Initial guest state, docs/abi.md section 6. */
static int vmcs_setup_guest(struct dune_vcpu *v, const struct dune_config *conf)
{
	u64 host_cr4 = cr4_read_shadow();
	u64 cr0, cr4, pat;
	int err = 0;

	cr0 = X86_CR0_PG | X86_CR0_PE | X86_CR0_WP | X86_CR0_MP |
	      X86_CR0_ET | X86_CR0_NE;
	cr0 = fixed_bits(cr0, vmx_caps.cr0_fixed0, vmx_caps.cr0_fixed1);
	cr4 = X86_CR4_PAE | X86_CR4_VMXE | X86_CR4_OSXMMEXCPT |
	      X86_CR4_PGE | X86_CR4_OSFXSR;
	cr4 |= host_cr4 & (X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_FSGSBASE);
	cr4 = fixed_bits(cr4, vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1);

	err |= vmcs_write(GUEST_CR0, cr0);
	err |= vmcs_write(CR0_READ_SHADOW, cr0);
	err |= vmcs_write(CR0_GUEST_HOST_MASK, ~0UL);
	err |= vmcs_write(GUEST_CR3, conf->cr3);
	err |= vmcs_write(GUEST_CR4, cr4);
	err |= vmcs_write(CR4_READ_SHADOW, cr4);
	err |= vmcs_write(CR4_GUEST_HOST_MASK, ~0UL);
	/* FFXSR exists on AMD only; Intel reserves the bit (VM entry fails) */
	err |= vmcs_write(GUEST_IA32_EFER, EFER_LME | EFER_LMA | EFER_SCE |
			  (boot_cpu_has(X86_FEATURE_FXSR_OPT) ? EFER_FFXSR : 0));
	rdmsrl(MSR_IA32_CR_PAT, pat);
	err |= vmcs_write(GUEST_IA32_PAT, pat);
	err |= vmcs_write(GUEST_DR7, 0x400);
	err |= vmcs_write(GUEST_IA32_DEBUGCTL, 0);

	err |= vmcs_setup_segments();
	err |= vmcs_write(GUEST_FS_BASE, x86_fsbase_read_cpu());
	err |= vmcs_write(GUEST_GDTR_BASE, 0);
	err |= vmcs_write(GUEST_GDTR_LIMIT, 0);
	err |= vmcs_write(GUEST_IDTR_BASE, 0);
	err |= vmcs_write(GUEST_IDTR_LIMIT, 0);

	err |= vmcs_write(GUEST_RIP, conf->rip);
	err |= vmcs_write(GUEST_RSP, conf->rsp);
	err |= vmcs_write(GUEST_RFLAGS, conf->rflags | X86_EFLAGS_FIXED);
	err |= vmcs_write(GUEST_SYSENTER_CS, 0);
	err |= vmcs_write(GUEST_SYSENTER_ESP, 0);
	err |= vmcs_write(GUEST_SYSENTER_EIP, 0);
	err |= vmcs_write(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	err |= vmcs_write(GUEST_INTERRUPTIBILITY_INFO, 0);
	err |= vmcs_write(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	err |= vmcs_write(VMCS_LINK_POINTER, ~0ULL);
	return err;
}

static int vmcs_setup_controls(struct dune_vcpu *v)
{
	int err = 0;

	err |= vmcs_write(PIN_BASED_VM_EXEC_CONTROL, vmcs_ctls.pin);
	err |= vmcs_write(CPU_BASED_VM_EXEC_CONTROL, vmcs_ctls.proc);
	err |= vmcs_write(SECONDARY_VM_EXEC_CONTROL, vmcs_ctls.proc2);
	err |= vmcs_write(VM_EXIT_CONTROLS, vmcs_ctls.exit);
	err |= vmcs_write(VM_ENTRY_CONTROLS, vmcs_ctls.entry);
	err |= vmcs_write(EXCEPTION_BITMAP, DUNE_EXCEPTION_BITMAP);
	err |= vmcs_write(PAGE_FAULT_ERROR_CODE_MASK, 0);
	err |= vmcs_write(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	err |= vmcs_write(CR3_TARGET_COUNT, 0);
	err |= vmcs_write(VM_EXIT_MSR_STORE_COUNT, 0);
	err |= vmcs_write(VM_EXIT_MSR_LOAD_COUNT, 0);
	err |= vmcs_write(VM_ENTRY_MSR_LOAD_COUNT, 0);
	err |= vmcs_write(VM_ENTRY_INTR_INFO_FIELD, 0);
	err |= vmcs_write(MSR_BITMAP, __pa(msr_bitmap));
	err |= vmcs_write(EPT_POINTER, v->ept.eptp);
	err |= vmcs_write(VIRTUAL_PROCESSOR_ID, v->vpid);
	err |= vmcs_write(TSC_OFFSET, 0);
	err |= dune_apic_vmcs_setup(v);
	/* without "save timer value" each VM entry starts a full slice */
	if (vmcs_ctls.pin & PIN_BASED_VMX_PREEMPTION_TIMER)
		err |= vmcs_write(VMX_PREEMPTION_TIMER_VALUE,
				  preemption_timer_value);
	return err;
}

/*
 * dune_vmx_show_config - "config <encoding> <value>" lines: the control
 * fields as vmcs_setup_controls() writes them into every new vCPU, for
 * the VMCS snapshots (vmcs_dump.c) to be checked against.
 */
void dune_vmx_show_config(struct seq_file *m)
{
	static const struct {
		u32 field;
		const u32 *value;
	} ctls[] = {
		{ PIN_BASED_VM_EXEC_CONTROL, &vmcs_ctls.pin },
		{ CPU_BASED_VM_EXEC_CONTROL, &vmcs_ctls.proc },
		{ SECONDARY_VM_EXEC_CONTROL, &vmcs_ctls.proc2 },
		{ VM_EXIT_CONTROLS, &vmcs_ctls.exit },
		{ VM_ENTRY_CONTROLS, &vmcs_ctls.entry },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(ctls); i++)
		seq_printf(m, "config 0x%04x 0x%x\n", ctls[i].field,
			   *ctls[i].value);
	seq_printf(m, "config 0x%04x 0x%lx\n", EXCEPTION_BITMAP,
		   DUNE_EXCEPTION_BITMAP);
	seq_printf(m, "config 0x%04x 0x%llx\n", MSR_BITMAP,
		   (u64)__pa(msr_bitmap));
}

/* ------------------------------------------------------------------ */
/* Loading a vCPU on a CPU                                              */
/* ------------------------------------------------------------------ */

static void vcpu_vmclear_local(void *data)
{
	struct dune_vcpu *v = data;

	if (v->cpu != smp_processor_id())
		return;
	vmcs_clear(v->vmcs_pa);
	list_del(&v->loaded_link);
	if (this_cpu_read(current_vcpu) == v)
		this_cpu_write(current_vcpu, NULL);
	if (vmx_cap_invept_single())
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, v->ept.eptp);
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	v->launched = false;
	/* VMCLEAR wrote the VMCS back before anyone sees cpu == -1 */
	smp_wmb();
	WRITE_ONCE(v->cpu, -1);
}

/* VMCLEAR the vCPU's VMCS on whatever CPU it is active. */
static void vcpu_vmclear(struct dune_vcpu *v)
{
	int cpu = READ_ONCE(v->cpu);

	if (cpu < 0)
		return;
	smp_call_function_single(cpu, vcpu_vmclear_local, v, 1);
	if (READ_ONCE(v->cpu) >= 0) {	/* that CPU went offline */
		v->cpu = -1;
		v->launched = false;
	}
}

static void vcpu_flush_tlb_local(struct dune_vcpu *v)
{
	if (vmx_cap_invept_single())
		vmx_invept(VMX_EPT_EXTENT_CONTEXT, v->ept.eptp);
	else
		vmx_invept(VMX_EPT_EXTENT_GLOBAL, 0);
	if (vmx_cap_invvpid_single())
		vmx_invvpid(VMX_VPID_EXTENT_SINGLE_CONTEXT, v->vpid, 0);
	else
		vmx_invvpid(VMX_VPID_EXTENT_ALL_CONTEXT, 0, 0);
}

/*
 * vcpu_load - make @v's VMCS current on this CPU.  Preemption must be
 * off.  A vCPU that moves here from another CPU is VMCLEARed there first
 * (its VMCS may be active on one CPU only), gets this CPU's host state
 * and a TLB flush for its EPTP and VPID: this CPU may hold stale
 * translations from an earlier visit.
 */
static int vcpu_load(struct dune_vcpu *v)
{
	int cpu = smp_processor_id();
	unsigned long flags;
	int r;

	if (unlikely(!this_cpu_read(vmx_on))) {
		local_irq_save(flags);
		r = vmxon_this_cpu();
		local_irq_restore(flags);
		if (r) {
			pr_err_ratelimited("dune: cannot enable VMX on CPU %d (%d)\n",
					   cpu, r);
			return r;
		}
	}
	if (v->cpu != cpu) {
		if (v->cpu >= 0)
			atomic_inc(&dune_stats.vcpu_migrations);
		/* cross-CPU VMCLEAR needs interrupts and may run with preemption off */
		vcpu_vmclear(v);
		if (vmcs_load(v->vmcs_pa))
			return -EIO;
		local_irq_save(flags);
		list_add(&v->loaded_link, this_cpu_ptr(&loaded_vcpus));
		local_irq_restore(flags);
		this_cpu_write(current_vcpu, v);
		WRITE_ONCE(v->cpu, cpu);
		smp_mb();	/* pairs with dune_vmx_kick_flush() */
		if (vmcs_setup_host_percpu(cpu))
			return -EIO;
		vcpu_flush_tlb_local(v);
		v->host_cr3 = 0;
		v->host_cr4 = 0;
		v->host_fs_base = ~0ULL;
		v->host_gdt.address = (unsigned long)get_cpu_gdt_ro(cpu);
		v->host_gdt.size = GDT_SIZE - 1;
	} else if (this_cpu_read(current_vcpu) != v) {
		if (vmcs_load(v->vmcs_pa))
			return -EIO;
		this_cpu_write(current_vcpu, v);
	}
	return 0;
}

/*
 * dune_vmx_vcpu_setup - allocate and fill the VMCS of a new vCPU.  On
 * return the VMCS is active on some CPU (v->cpu) or everything is undone.
 */
int dune_vmx_vcpu_setup(struct dune_vcpu *v, const struct dune_config *conf)
{
	struct page *page;
	int vpid, err, r;

	v->cpu = -1;
	r = dune_apic_vcpu_init(v);
	if (r)
		return r;
	vpid = ida_alloc_range(&vpid_ida, 1, 0xffff, GFP_KERNEL);
	if (vpid < 0) {
		dune_apic_vcpu_free(v);
		return vpid;
	}
	v->vpid = vpid;
	page = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!page) {
		r = -ENOMEM;
		goto err_vpid;
	}
	v->vmcs = page_address(page);
	v->vmcs_pa = __pa(v->vmcs);
	*(u32 *)v->vmcs = vmx_caps.revision_id;

	preempt_disable();
	r = vmcs_clear(v->vmcs_pa);
	if (!r)
		r = vcpu_load(v);
	if (r) {
		preempt_enable();
		goto err_vmcs;
	}
	err = vmcs_setup_host_constant();
	err |= vmcs_setup_controls(v);
	err |= vmcs_setup_guest(v, conf);
	preempt_enable();
	if (err) {
		r = -EIO;
		goto err_clear;
	}
	v->regs.ip = conf->rip;
	v->regs.sp = conf->rsp;
	v->regs.flags = conf->rflags | X86_EFLAGS_FIXED;
	v->regs_avail = DUNE_REG_VMCS;
	v->regs_dirty = 0;
	rdmsrl(MSR_KERNEL_GS_BASE, v->guest_kernel_gs_base);
	return 0;

err_clear:
	vcpu_vmclear(v);
err_vmcs:
	free_page((unsigned long)v->vmcs);
	v->vmcs = NULL;
err_vpid:
	ida_free(&vpid_ida, v->vpid);
	dune_apic_vcpu_free(v);
	return r;
}

void dune_vmx_vcpu_free(struct dune_vcpu *v)
{
	dune_apic_vcpu_free(v);	/* first: no more IPIs to it */
	if (!v->vmcs)
		return;
	vcpu_vmclear(v);
	free_page((unsigned long)v->vmcs);
	v->vmcs = NULL;
	ida_free(&vpid_ida, v->vpid);
}

/* ------------------------------------------------------------------ */
/* EPT invalidation: stop the guest from using stale translations       */
/* ------------------------------------------------------------------ */

static void kick_noop(void *unused)
{
}

/*
 * dune_vmx_kick_flush - called after EPT entries were removed.  The next
 * VM entry of @v flushes its EPTP (INVEPT); if @v is in the guest right
 * now, an IPI makes it exit first and this waits until it has, so that
 * on return the guest can no longer reach the old pages.  Translations
 * cached on CPUs the vCPU left are flushed when it comes back (vcpu_load).
 */
void dune_vmx_kick_flush(struct dune_vcpu *v)
{
	int cpu;

	atomic_set(&v->ept.flush_pending, 1);
	smp_mb();	/* flag before mode, pairs with the entry path */
	if (READ_ONCE(v->mode) != DUNE_IN_GUEST)
		return;
	cpu = READ_ONCE(v->cpu);
	if (cpu >= 0 && cpu != raw_smp_processor_id())
		smp_call_function_single(cpu, kick_noop, NULL, 1);
}

/* ------------------------------------------------------------------ */
/* The run loop                                                         */
/* ------------------------------------------------------------------ */

/*
 * The exit path is kept short (it is most of a hypercall's cost): per
 * exit only the exit reason is read, plus what that reason's handler
 * needs; RIP, RSP and RFLAGS are read from the VMCS when someone asks
 * (regs_avail) and written back only when changed (regs_dirty); host
 * state that VM exit does not restore is saved at entry and put back
 * with as few instructions as the common case allows, the part only
 * user space and other tasks need not before they do (lazy host state,
 * below); the checks for
 * signals, rescheduling and EPT flushes are made once per entry, with
 * interrupts off, and leave the fast path only when one fires.
 */

/*
 * What switch_to_host() puts back after an exit: the task's own segment
 * state, which stays as it is while the run loop runs on this CPU.  It is
 * read again when the task was switched out (a context switch or a
 * migration in between; ptrace may have changed it meanwhile: the preempt
 * notifier's sched_in, or else the task's switch count, says so) or when
 * v->host_segs_stale says so (a run starts; the guest's arch_prctl).  The
 * thread's KERNEL_GS_BASE is kept in the vCPU (host_kernel_gs_base).
 */
struct host_segs {
	union {
		struct {
			u16 ds, es, fs, gs;
		};
		u64 sels;		/* all four: one test for "any non-zero" */
	};
	u64 fs_base;
	u64 debugctl;
	unsigned long switches;		/* current's context switches then */
};

/* Read the guest registers @which (DUNE_REG_*) from the VMCS if needed. */
static void cache_regs(struct dune_vcpu *v, u8 which)
{
	which &= ~v->regs_avail;
	if (which & DUNE_REG_RIP)
		v->regs.ip = vmcs_read(GUEST_RIP);
	if (which & DUNE_REG_RSP)
		v->regs.sp = vmcs_read(GUEST_RSP);
	if (which & DUNE_REG_RFLAGS)
		v->regs.flags = vmcs_read(GUEST_RFLAGS);
	v->regs_avail |= which;
}

/*
 * dune_vmx_sync_regs - make RIP, RSP and RFLAGS of @v valid in v->regs
 * (before they are copied to user space or into a struct pt_regs).
 */
int dune_vmx_sync_regs(struct dune_vcpu *v)
{
	int r = 0;

	if ((v->regs_avail & DUNE_REG_VMCS) == DUNE_REG_VMCS)
		return 0;
	preempt_disable();
	r = vcpu_load(v);
	if (!r)
		cache_regs(v, DUNE_REG_VMCS);
	preempt_enable();
	return r;
}

/*
 * The run loop's own MSR, CR3 and GDT accesses use the native
 * instructions: the paravirt versions cost a call each, and VMX is never
 * available to a paravirtualized (Xen PV) kernel anyway.
 */
static __always_inline u64 run_rdmsr(u32 msr)
{
	return __rdmsr(msr);
}

static __always_inline void run_wrmsr(u32 msr, u64 val)
{
	native_wrmsrl(msr, val);
}

/*
 * Lazy host state.  VM exit leaves the guest's KERNEL_GS_BASE in the MSR
 * and the GDT and TR limits at 0xffff and 0x67.  None of that matters to
 * the host kernel until the thread returns to user space (SWAPGS, the GDT
 * limit for user selectors, the TSS limit for an I/O bitmap) or another
 * task runs on this CPU (the context switch saves the MSR as the thread's
 * GS base).  So after an exit v->host_lazy is set and nothing is put back;
 * dune_vmx_put_host() does it when the thread is switched out (a preempt
 * notifier, as KVM does), when the run loop returns, and before the system
 * calls that read or write the thread's GS base (hypercall.c).  The
 * notifier also says when the task ran elsewhere in between, which is
 * when its segment state must be read again.  Without preempt notifiers
 * (a kernel built without KVM) every exit puts the host state back.
 */
static __always_inline void put_host_lazy(struct dune_vcpu *v)
{
	v->guest_kernel_gs_base = run_rdmsr(MSR_KERNEL_GS_BASE);
	if (v->guest_kernel_gs_base != v->host_kernel_gs_base)
		run_wrmsr(MSR_KERNEL_GS_BASE, v->host_kernel_gs_base);
	/* VM exit leaves the TR limit at 0x67 and the GDT limit at 0xffff */
	invalidate_tss_limit();
	native_load_gdt(&v->host_gdt);
	v->host_lazy = false;
}

/* Put the lazy host state back now.  Preemption off. */
static void put_host(struct dune_vcpu *v)
{
	if (v->host_lazy)
		put_host_lazy(v);
}

/*
 * dune_vmx_put_host - the thread's own KERNEL_GS_BASE, GDT and TSS limits
 * back on the CPU, before a system call that reads or changes them.
 */
void dune_vmx_put_host(struct dune_vcpu *v)
{
	preempt_disable();
	put_host(v);
	preempt_enable();
}

#ifdef CONFIG_PREEMPT_NOTIFIERS
static inline struct dune_vcpu *pn_to_vcpu(struct preempt_notifier *pn)
{
	return container_of(pn, struct dune_vcpu, preempt_nb);
}

static void dune_sched_in(struct preempt_notifier *pn, int cpu)
{
	/* ptrace may have changed the segment state meanwhile */
	pn_to_vcpu(pn)->host_segs_stale = true;
}

static void dune_sched_out(struct preempt_notifier *pn,
			   struct task_struct *next)
{
	put_host(pn_to_vcpu(pn));
}

static struct preempt_ops dune_preempt_ops = {
	.sched_in	= dune_sched_in,
	.sched_out	= dune_sched_out,
};

static void lazy_host_begin(struct dune_vcpu *v)
{
	preempt_notifier_init(&v->preempt_nb, &dune_preempt_ops);
	preempt_disable();
	preempt_notifier_register(&v->preempt_nb);
	preempt_enable();
}

static void lazy_host_end(struct dune_vcpu *v)
{
	preempt_disable();
	put_host(v);
	preempt_notifier_unregister(&v->preempt_nb);
	preempt_enable();
}

static __always_inline bool host_segs_valid(struct dune_vcpu *v,
					    struct host_segs *h)
{
	return !v->host_segs_stale;
}

static __always_inline void exit_host_lazy(struct dune_vcpu *v)
{
	v->host_lazy = true;
}
#else
static void lazy_host_begin(struct dune_vcpu *v)
{
}

static void lazy_host_end(struct dune_vcpu *v)
{
}

static __always_inline bool host_segs_valid(struct dune_vcpu *v,
					    struct host_segs *h)
{
	return !v->host_segs_stale &&
	       h->switches == current->nvcsw + current->nivcsw;
}

static __always_inline void exit_host_lazy(struct dune_vcpu *v)
{
	put_host_lazy(v);
}
#endif

static __always_inline void save_host_segs(struct dune_vcpu *v,
					   struct host_segs *h)
{
	if (likely(host_segs_valid(v, h)))
		return;
	savesegment(ds, h->ds);
	savesegment(es, h->es);
	savesegment(fs, h->fs);
	savesegment(gs, h->gs);
	h->fs_base = x86_fsbase_read_cpu();
	/* with the guest's value in the MSR, the thread's is kept as it was */
	if (!v->host_lazy)
		v->host_kernel_gs_base = run_rdmsr(MSR_KERNEL_GS_BASE);
	h->debugctl = run_rdmsr(MSR_IA32_DEBUGCTLMSR);
	h->switches = current->nvcsw + current->nivcsw;
	v->host_segs_stale = false;
}

/* Before VM entry, interrupts off: state VM exit does not restore. */
static int switch_to_guest(struct dune_vcpu *v, struct host_segs *h)
{
	unsigned long cr3 = __native_read_cr3();
	unsigned long cr4 = native_read_cr4();	/* not the shadow: no call */
	int err = 0;

	save_host_segs(v, h);

	if (unlikely(cr3 != v->host_cr3)) {
		err |= vmcs_write(HOST_CR3, cr3);
		v->host_cr3 = cr3;
	}
	if (unlikely(cr4 != v->host_cr4)) {
		err |= vmcs_write(HOST_CR4, cr4);
		v->host_cr4 = cr4;
	}
	if (unlikely(h->fs_base != v->host_fs_base)) {
		err |= vmcs_write(HOST_FS_BASE, h->fs_base);
		v->host_fs_base = h->fs_base;
	}
	if (v->regs_dirty) {
		if (v->regs_dirty & DUNE_REG_RIP)
			err |= vmcs_write(GUEST_RIP, v->regs.ip);
		if (v->regs_dirty & DUNE_REG_RSP)
			err |= vmcs_write(GUEST_RSP, v->regs.sp);
		if (v->regs_dirty & DUNE_REG_RFLAGS)
			err |= vmcs_write(GUEST_RFLAGS, v->regs.flags);
		if (unlikely(v->regs_dirty & DUNE_REG_EVENT)) {
			err |= vmcs_write(VM_ENTRY_INTR_INFO_FIELD, v->event);
			err |= vmcs_write(VM_ENTRY_EXCEPTION_ERROR_CODE,
					  v->event_error);
		}
		v->regs_dirty = 0;
	}
	/* the guest's KERNEL_GS_BASE is still in the MSR after a lazy exit */
	if (!v->host_lazy &&
	    unlikely(v->guest_kernel_gs_base != v->host_kernel_gs_base))
		run_wrmsr(MSR_KERNEL_GS_BASE, v->guest_kernel_gs_base);
	return err;
}

/* After VM exit, interrupts still off: put the host back together. */
static void switch_to_host(struct dune_vcpu *v, struct host_segs *h)
{
	exit_host_lazy(v);
	if (unlikely(h->sels)) {
		/* selectors to reload (rare in 64-bit processes): all now */
		put_host(v);
		if (h->ds | h->es) {
			loadsegment(ds, h->ds);
			loadsegment(es, h->es);
		}
		if (h->fs) {
			loadsegment(fs, h->fs);
			x86_fsbase_write_cpu(h->fs_base);
		}
		if (h->gs) {
			load_gs_index(h->gs);
			run_wrmsr(MSR_KERNEL_GS_BASE, v->host_kernel_gs_base);
		}
	}
	if (unlikely(h->debugctl))
		update_debugctlmsr(h->debugctl);
	if (unlikely(hw_breakpoint_active()))
		hw_breakpoint_restore();
}

/* For the dump of a stop the module did not expect.  VMCS current. */
static void read_exit_dump_info(struct dune_exit_info *e)
{
	e->qual = vmcs_read(EXIT_QUALIFICATION);
	e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
	e->insn_len = vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	e->cr0 = vmcs_read(GUEST_CR0);
	e->cr3 = vmcs_read(GUEST_CR3);
	e->cr4 = vmcs_read(GUEST_CR4);
	e->efer = vmcs_read(GUEST_IA32_EFER);
	e->interruptibility = vmcs_read(GUEST_INTERRUPTIBILITY_INFO);
	e->activity = vmcs_read(GUEST_ACTIVITY_STATE);
}

/* The handler skips the instruction: RIP after it, written back at entry. */
static __always_inline void read_next_rip(struct dune_vcpu *v)
{
	v->regs.ip = vmcs_read(GUEST_RIP) + vmcs_read(VM_EXIT_INSTRUCTION_LEN);
	v->regs_avail |= DUNE_REG_RIP;
	v->regs_dirty |= DUNE_REG_RIP;
}

static __always_inline void read_vmcall_info(struct dune_vcpu *v)
{
	/* SS.DPL is the guest's CPL */
	v->exit.cpl = VMX_AR_DPL(vmcs_read(GUEST_SS_AR_BYTES));
	read_next_rip(v);
}

/*
 * Read what the exit left that its handler needs, while the VMCS is
 * current and interrupts are off.  An NMI that caused the exit is handed
 * to the host here.
 */
static void read_exit_info(struct dune_vcpu *v, u32 reason)
{
	struct dune_exit_info *e = &v->exit;

	e->reason = reason;
	if (likely(reason == EXIT_REASON_VMCALL)) {	/* tested first */
		read_vmcall_info(v);
		return;
	}
	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		read_exit_dump_info(e);
		return;
	}
	switch ((u16)reason) {
	case EXIT_REASON_VMCALL:
		read_vmcall_info(v);
		break;
	case EXIT_REASON_CPUID:
		read_next_rip(v);
		break;
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		/* taken from the APIC by the exit (posted interrupts) */
		if (dune_apic_ack_on_exit())
			dune_apic_dispatch_irq(vmcs_read(VM_EXIT_INTR_INFO));
		fallthrough;
	case EXIT_REASON_PREEMPTION_TIMER:
		/* the guest ran a while: a quiescent state for RCU */
		v->note_rcu = true;
		break;
	case EXIT_REASON_EPT_VIOLATION:
		e->qual = vmcs_read(EXIT_QUALIFICATION);
		e->gpa = vmcs_read(GUEST_PHYSICAL_ADDRESS);
		e->gla = vmcs_read(GUEST_LINEAR_ADDRESS);
		break;
	case EXIT_REASON_DR_ACCESS:
	case EXIT_REASON_XSETBV:
		e->cpl = VMX_AR_DPL(vmcs_read(GUEST_SS_AR_BYTES));
		if (!e->cpl)
			read_exit_dump_info(e);
		break;
	case EXIT_REASON_MSR_WRITE:
		dune_apic_wrmsr_info(v);	/* x2APIC ICR, ESR, EOI */
		if (!v->apic.wrmsr_exit)
			read_exit_dump_info(e);
		break;
	case EXIT_REASON_MSR_READ:
		dune_apic_rdmsr_info(v);	/* x2APIC ID, version, ESR */
		if (!v->apic.rdmsr_exit)
			read_exit_dump_info(e);
		break;
	case EXIT_REASON_INTERRUPT_WINDOW:
		break;				/* apic.c opened it */
	case EXIT_REASON_EXCEPTION_NMI:
		e->intr_info = vmcs_read(VM_EXIT_INTR_INFO);
		if ((e->intr_info & INTR_INFO_INTR_TYPE_MASK) ==
		    INTR_TYPE_NMI_INTR)
			__dune_vmx_do_nmi();
		else
			e->qual = vmcs_read(EXIT_QUALIFICATION);
		break;
	default:
		read_exit_dump_info(e);
		break;
	}
}

static void dump_vcpu(struct dune_vcpu *v, const char *why)
{
	struct dune_exit_info *e = &v->exit;
	struct pt_regs *r = &v->regs;

	dune_vmx_sync_regs(v);
	pr_warn_ratelimited("dune: pid %d vcpu %llu: %s (exit reason 0x%x qual 0x%llx intr 0x%x insn-error %u)\n"
			    "dune:  rip %016lx rsp %016lx rflags %08lx cr0 %llx cr3 %llx cr4 %llx efer %llx intrbl %x act %x\n"
			    "dune:  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n"
			    "dune:  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n"
			    "dune:  r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n"
			    "dune:  r13 %016lx r14 %016lx r15 %016lx gpa %llx gla %llx\n",
			    task_pid_nr(current), v->handle, why, e->reason,
			    e->qual, e->intr_info, e->insn_error,
			    r->ip, r->sp, r->flags, e->cr0, e->cr3, e->cr4,
			    e->efer, e->interruptibility, e->activity,
			    r->ax, r->bx, r->cx, r->dx, r->si, r->di,
			    r->bp, r->r8, r->r9, r->r10, r->r11, r->r12,
			    r->r13, r->r14, r->r15, e->gpa, e->gla);
}

static bool stop(struct dune_vcpu *v, s64 ret, s64 status)
{
	v->ret = ret;
	v->status = status;
	return true;
}

static bool handle_exception_nmi(struct dune_vcpu *v)
{
	u32 info = v->exit.intr_info;
	u32 vector = info & INTR_INFO_VECTOR_MASK;

	if ((info & INTR_INFO_INTR_TYPE_MASK) == INTR_TYPE_NMI_INTR)
		return false;	/* handled before interrupts came back on */
	if (vector == X86_TRAP_DB || vector == X86_TRAP_BP) {
#ifdef DUNE_MUTANT_MOD_INT3_VECTOR
		/* mutant MOD_INT3_VECTOR: #BP is reported as vector 1 */
		if (vector == X86_TRAP_BP)
			vector = X86_TRAP_DB;
#endif
		return stop(v, DUNE_RET_INTERRUPT, vector);
	}
	dump_vcpu(v, "unexpected exception");
	return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
}

static bool handle_cpuid(struct dune_vcpu *v)
{
	u32 eax = v->regs.ax, ebx, ecx = v->regs.cx, edx;

	cpuid_count(eax, ecx, &eax, &ebx, &ecx, &edx);
	v->regs.ax = eax;
	v->regs.bx = ebx;
	v->regs.cx = ecx;
	v->regs.dx = edx;
	return false;
}

static bool handle_ept_violation(struct dune_vcpu *v)
{
	int r = dune_ept_fault(v, v->exit.gpa, v->exit.qual);

	if (!r)
		return false;
	dune_vmx_sync_regs(v);
	pr_info_ratelimited("dune: pid %d: EPT violation at GPA 0x%llx (GVA 0x%llx, qual 0x%llx, rip 0x%lx) cannot be resolved: %d\n",
			    task_pid_nr(current), v->exit.gpa, v->exit.gla,
			    v->exit.qual, v->regs.ip, r);
	return stop(v, DUNE_RET_EPT_VIOLATION, 0);
}

/*
 * Inject hardware exception @vector with error code @error at the next VM
 * entry.  A DUNE_ENTER that re-enters the vCPU drops it: the faulting
 * instruction, still at RIP, then runs (and exits) again.
 */
static void queue_exception(struct dune_vcpu *v, u8 vector, u32 error)
{
	v->event = INTR_INFO_VALID_MASK | INTR_TYPE_HARD_EXCEPTION |
		   INTR_INFO_DELIVER_CODE_MASK | vector;
	v->event_error = error;
	v->regs_dirty |= DUNE_REG_EVENT;
}

/*
 * An exit for an instruction only ring 0 may run: MOV to or from a debug
 * register (DR0-DR3 and DR6 are the host CPU's; MOV-DR exits take priority
 * over the privilege check) or XSETBV (some CPUs, Bochs for one, exit
 * before checking the privilege).  Guest ring 3 gets the #GP(0) the CPU
 * owes it; guest ring 0 stops, as for any exit we do not handle.
 */
static bool handle_privileged(struct dune_vcpu *v, const char *what)
{
	if (v->exit.cpl) {
		queue_exception(v, X86_TRAP_GP, 0);
		return false;
	}
	dump_vcpu(v, what);
	return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
}

static __always_inline bool handle_vmcall(struct dune_vcpu *v)
{
	if (unlikely(v->exit.cpl)) {
		/*
		 * System calls are the guest kernel's: ring 3 gets -EPERM (as
		 * from KVM) and no host system call, or sandboxed code would
		 * get past its ring-0 monitor.
		 */
		v->regs.ax = -EPERM;
		return false;
	}
	return dune_hypercall(v);
}

/* Returns true when the run loop stops (v->ret and v->status set). */
static bool handle_exit(struct dune_vcpu *v)
{
	u32 reason = v->exit.reason;

	if (likely(reason == EXIT_REASON_VMCALL))	/* tested first */
		return handle_vmcall(v);
	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		dump_vcpu(v, "VM entry failed (invalid guest state)");
		return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
	}
	switch ((u16)reason) {
	case EXIT_REASON_VMCALL:
		return handle_vmcall(v);
	case EXIT_REASON_CPUID:
		return handle_cpuid(v);
	case EXIT_REASON_EXTERNAL_INTERRUPT:
		return false;	/* serviced when interrupts came back on */
	case EXIT_REASON_PREEMPTION_TIMER:
		return false;	/* the guest's time slice ended */
	case EXIT_REASON_EPT_VIOLATION:
		return handle_ept_violation(v);
	case EXIT_REASON_EXCEPTION_NMI:
		return handle_exception_nmi(v);
	case EXIT_REASON_DR_ACCESS:
		return handle_privileged(v, "debug register access");
	case EXIT_REASON_XSETBV:
		return handle_privileged(v, "unhandled VM exit (XSETBV)");
	case EXIT_REASON_MSR_WRITE:
		if (v->apic.wrmsr_exit)
			return dune_apic_handle_wrmsr(v);
		dump_vcpu(v, "unhandled VM exit");
		return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
	case EXIT_REASON_MSR_READ:
		if (v->apic.rdmsr_exit)
			return dune_apic_handle_rdmsr(v);
		dump_vcpu(v, "unhandled VM exit");
		return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
	case EXIT_REASON_INTERRUPT_WINDOW:
		return false;	/* apic.c injects at the next entry */
	case EXIT_REASON_TRIPLE_FAULT:
		dump_vcpu(v, "triple fault");
		return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
	default:
		dump_vcpu(v, "unhandled VM exit");
		return stop(v, DUNE_RET_UNHANDLED_VMEXIT, 0);
	}
}

/* Exit counters: per CPU, so that counting costs one instruction. */
static DEFINE_PER_CPU(u64 [DUNE_EXIT_REASON_MAX + 1], exit_counts);
#define EXIT_COUNT_FAILED_ENTRY	DUNE_EXIT_REASON_MAX

/* Sum of the per-CPU exit counters of @reason (DUNE_EXIT_REASON_MAX:
 * failed VM entries). */
u64 dune_vmx_exit_count(unsigned int reason)
{
	u64 n = 0;
	int cpu;

	if (reason > DUNE_EXIT_REASON_MAX)
		return 0;
	for_each_possible_cpu(cpu)
		n += per_cpu(exit_counts, cpu)[reason];
	return n;
}

static __always_inline void count_exit(struct dune_vcpu *v, u32 reason)
{
	if (unlikely(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)) {
		__this_cpu_inc(exit_counts[EXIT_COUNT_FAILED_ENTRY]);
		v->exit_counts[EXIT_COUNT_FAILED_ENTRY]++;
	}
	if (likely((u16)reason < DUNE_EXIT_REASON_MAX)) {
		__this_cpu_inc(exit_counts[(u16)reason]);
		v->exit_counts[(u16)reason]++;
	}
}

/*
 * One VM entry and exit.  Returns 1 if the guest ran, 0 if the entry was
 * skipped to let the host reschedule or deliver a signal, or an errno.
 */
static int run_once(struct dune_vcpu *v, struct host_segs *h)
{
	unsigned long flags;
	u32 reason;
	int r;

	preempt_disable();
	if (unlikely(this_cpu_read(current_vcpu) != v)) {
		r = vcpu_load(v);
		if (r) {
			preempt_enable();
			return r;
		}
	}
	local_irq_disable();
	/*
	 * one load of the thread's flags for the FPU, resched, signals and
	 * the work queued for the return to user space (see dune_vmx_run)
	 */
	flags = read_thread_flags();
	if (unlikely(flags & _TIF_NEED_FPU_LOAD))
		switch_fpu_return();

	WRITE_ONCE(v->mode, DUNE_IN_GUEST);
	smp_mb();	/* mode before the flush flag, see dune_vmx_kick_flush() */
	if (unlikely(((flags & (_TIF_NEED_RESCHED | _TIF_SIGPENDING |
				_TIF_NOTIFY_SIGNAL | _TIF_NOTIFY_RESUME)) &&
		      (need_resched() || dune_signal_pending(current) ||
		       ((flags & _TIF_NOTIFY_RESUME) &&
			task_work_pending(current)))) ||
		     READ_ONCE(v->ept.released))) {
		WRITE_ONCE(v->mode, DUNE_OUTSIDE_GUEST);
		local_irq_enable();
		preempt_enable();
		return 0;
	}
	if (unlikely(atomic_read(&v->ept.flush_pending)) &&
	    atomic_xchg(&v->ept.flush_pending, 0))
		vcpu_flush_tlb_local(v);
	/* IPIs posted to this vCPU (apic.c); mode is set, see apic_post() */
	if (unlikely(dune_apic_pending(&v->apic)))
		dune_apic_sync(v);

	if (unlikely(switch_to_guest(v, h))) {
		WRITE_ONCE(v->mode, DUNE_OUTSIDE_GUEST);
		local_irq_enable();
		preempt_enable();
		return -EIO;
	}
	if (unlikely(v->note_rcu)) {
		rcu_virt_note_context_switch(smp_processor_id());
		v->note_rcu = false;
	}
	r = __dune_vmx_run(&v->regs, v->launched);
	WRITE_ONCE(v->mode, DUNE_OUTSIDE_GUEST);
	v->regs_avail = 0;
	switch_to_host(v, h);

	if (unlikely(r)) {
		/* VMfail: the VMCS is not usable as it is */
		memset(&v->exit, 0, sizeof(v->exit));
		v->exit.insn_error = vmcs_read_insn_error();
		reason = VMX_EXIT_REASONS_FAILED_VMENTRY;
		v->exit.reason = reason;
	} else {
		reason = vmcs_read(VM_EXIT_REASON);
		/* a VM entry that failed on guest state did not launch */
		if (likely(!(reason & VMX_EXIT_REASONS_FAILED_VMENTRY)))
			v->launched = true;
		read_exit_info(v, reason);
	}
	count_exit(v, reason);
	/*
	 * A VMCS snapshot someone asked for (vmcs_dump.c).  Otherwise this
	 * costs a load and a test of one byte the vCPU owns, and a branch
	 * not taken (docs/vmcs.md has the tick counts).
	 */
	if (unlikely(READ_ONCE(v->vmcs_snap_req)))
		dune_vmcs_snap_exit(v);
	local_irq_enable();
	preempt_enable();
	return 1;
}

/* The run loop of dune_vmx_run(); returns what it returns. */
static int run_loop(struct dune_vcpu *v)
{
	struct host_segs h = { .switches = 0 };
	int r;

	v->note_rcu = true;
	v->host_segs_stale = true;
	for (;;) {
		r = run_once(v, &h);
		if (unlikely(r <= 0)) {
			if (r < 0)
				return r;
			/* the entry was skipped: see why */
			if (dune_signal_pending(current)) {
				stop(v, DUNE_RET_SIGNAL, 0);
				break;
			}
			/*
			 * Task work queued for the return to user space
			 * (the release of a file closed by a system call
			 * run here): Linux runs it only on that return, so
			 * return (as for a signal: libdune enters again)
			 * or the other end of a closed pipe never sees the
			 * close.  TIF_NOTIFY_RESUME alone (rseq sets it on
			 * every preemption) is no reason to leave.
			 */
			if (task_work_pending(current)) {
				stop(v, DUNE_RET_SIGNAL, 0);
				break;
			}
			if (READ_ONCE(v->ept.released))
				return -EIO;
			cond_resched();
			v->note_rcu = true;
			continue;
		}
		if (handle_exit(v))
			break;
		if (unlikely(v->exec_seen))
			return 0;
	}
	return dune_vmx_sync_regs(v);
}

/*
 * dune_vmx_run - run the guest until something for user space happens.
 * Returns 0 with v->ret/v->status and the registers set, or a negative
 * errno.  The thread's own host state is back when it returns.
 */
int dune_vmx_run(struct dune_vcpu *v)
{
	int r;

	lazy_host_begin(v);
	r = run_loop(v);
	lazy_host_end(v);
	return r;
}

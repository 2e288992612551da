// SPDX-License-Identifier: GPL-2.0
/*
 * Read the VMX capability MSRs once and check that the CPU
 * has what the module needs (VMX enabled by firmware, EPT with a 4-level
 * write-back page walk and INVEPT, VPID with INVVPID).
 *
 * The values come from the CPU that loads the module; like KVM we assume
 * that all CPUs of the machine report the same capabilities.
 */
#include <linux/kernel.h>
#include <linux/errno.h>
#include <linux/seq_file.h>
#include <asm/cpufeature.h>
#include <asm/msr.h>
#include <asm/msr-index.h>
#include <asm/processor.h>

#include "vmx_caps.h"

struct vmx_caps vmx_caps;

/*
 * vmx_caps_adjust - combine required (@min) and wanted (@opt) control bits
 * with what the capability MSR @msr allows.  Fails when a required bit
 * cannot be set.
 */
int vmx_caps_adjust(u32 min, u32 opt, u64 msr, u32 *result)
{
	u32 allowed0 = (u32)msr;
	u32 allowed1 = (u32)(msr >> 32);
	u32 ctl = min | opt;

	ctl &= allowed1;
	ctl |= allowed0;
	if ((ctl & min) != min)
		return -EOPNOTSUPP;
	*result = ctl;
	return 0;
}

static void vmx_caps_read(struct vmx_caps *c)
{
	bool true_ctls;

	rdmsrl(MSR_IA32_VMX_BASIC, c->basic);
	true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
	       MSR_IA32_VMX_PINBASED_CTLS, c->pin);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
	       MSR_IA32_VMX_PROCBASED_CTLS, c->proc);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
	       MSR_IA32_VMX_EXIT_CTLS, c->exit);
	rdmsrl(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
	       MSR_IA32_VMX_ENTRY_CTLS, c->entry);
	rdmsrl(MSR_IA32_VMX_MISC, c->misc);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED0, c->cr0_fixed0);
	rdmsrl(MSR_IA32_VMX_CR0_FIXED1, c->cr0_fixed1);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED0, c->cr4_fixed0);
	rdmsrl(MSR_IA32_VMX_CR4_FIXED1, c->cr4_fixed1);
	if (vmx_ctl_allowed1(c->proc, CPU_BASED_ACTIVATE_SECONDARY_CONTROLS))
		rdmsrl(MSR_IA32_VMX_PROCBASED_CTLS2, c->proc2);
	if (vmx_ctl_allowed1(c->proc2, SECONDARY_EXEC_ENABLE_EPT) ||
	    vmx_ctl_allowed1(c->proc2, SECONDARY_EXEC_ENABLE_VPID))
		rdmsrl(MSR_IA32_VMX_EPT_VPID_CAP, c->ept_vpid);
	c->revision_id = (u32)c->basic & 0x7fffffff;
	c->vmcs_size = (c->basic >> 32) & 0x1fff;
}

static int vmx_caps_refuse(const char *what)
{
	pr_err("dune: %s; not loading\n", what);
	return -EOPNOTSUPP;
}

/*
 * vmx_caps_init - read the capabilities and refuse CPUs we cannot drive.
 * Returns 0 or -EOPNOTSUPP after a "dune: " message saying what is missing.
 */
int vmx_caps_init(void)
{
	u64 feat_ctl;

	if (!boot_cpu_has(X86_FEATURE_VMX))
		return vmx_caps_refuse("CPU has no VMX (VT-x), or firmware disabled it");
	if (rdmsrl_safe(MSR_IA32_FEAT_CTL, &feat_ctl) ||
	    !(feat_ctl & FEAT_CTL_LOCKED) ||
	    !(feat_ctl & FEAT_CTL_VMX_ENABLED_OUTSIDE_SMX))
		return vmx_caps_refuse("VMX is disabled by firmware (IA32_FEATURE_CONTROL)");

	vmx_caps_read(&vmx_caps);

	if (vmx_caps.vmcs_size > PAGE_SIZE)
		return vmx_caps_refuse("VMCS region larger than a page");
	if (((vmx_caps.basic & VMX_BASIC_MEM_TYPE_MASK) >>
	     VMX_BASIC_MEM_TYPE_SHIFT) != VMX_BASIC_MEM_TYPE_WB)
		return vmx_caps_refuse("VMCS memory type is not write-back");
	if (vmx_caps.basic & VMX_BASIC_64)
		return vmx_caps_refuse("VMX limited to 32-bit physical addresses");
	if (!vmx_cap_ept())
		return vmx_caps_refuse("CPU has no EPT");
	if (!vmx_cap_vpid())
		return vmx_caps_refuse("CPU has no VPID");
	if (!vmx_cap_ept_4level() || !vmx_cap_ept_wb())
		return vmx_caps_refuse("EPT lacks a 4-level write-back page walk");
	if (!vmx_cap_invept() ||
	    !(vmx_cap_invept_single() || vmx_cap_invept_global()))
		return vmx_caps_refuse("CPU has no usable INVEPT");
	if (!vmx_cap_invvpid() ||
	    !(vmx_cap_invvpid_single() || vmx_cap_invvpid_global()))
		return vmx_caps_refuse("CPU has no usable INVVPID");
	return 0;
}

/* vmx_caps_show - "name value" lines for debugfs (dune/caps). */
void vmx_caps_show(struct seq_file *m)
{
	seq_printf(m, "vmcs_revision 0x%x\n", vmx_caps.revision_id);
	seq_printf(m, "vmcs_size %u\n", vmx_caps.vmcs_size);
	seq_printf(m, "ept %d\n", vmx_cap_ept());
	seq_printf(m, "vpid %d\n", vmx_cap_vpid());
	seq_printf(m, "ept_ad %d\n", vmx_cap_ept_ad());
	seq_printf(m, "ept_2m %d\n", vmx_cap_ept_2m());
	seq_printf(m, "ept_1g %d\n", vmx_cap_ept_1g());
	seq_printf(m, "unrestricted_guest %d\n", vmx_cap_unrestricted_guest());
	seq_printf(m, "posted_intr %d\n", vmx_cap_posted_intr());
	seq_printf(m, "virtual_nmis %d\n", vmx_cap_virtual_nmis());
	seq_printf(m, "invept_single %d\n", vmx_cap_invept_single());
	seq_printf(m, "invept_global %d\n", vmx_cap_invept_global());
	seq_printf(m, "invvpid_addr %d\n", vmx_cap_invvpid_addr());
	seq_printf(m, "invvpid_single %d\n", vmx_cap_invvpid_single());
	seq_printf(m, "invvpid_global %d\n", vmx_cap_invvpid_global());
}

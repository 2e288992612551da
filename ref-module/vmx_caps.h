/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX capabilities, read once from the VMX MSRs at module load
 * and asked by name afterwards.
 */
#ifndef DUNE_VMX_CAPS_H
#define DUNE_VMX_CAPS_H

#include <linux/types.h>
#include <asm/vmx.h>

/*
 * struct vmx_caps - raw VMX capability MSRs of the boot CPU.
 *
 * The control MSRs hold the allowed-0 settings in the low 32 bits and the
 * allowed-1 settings in the high 32 bits.  When VMX_BASIC says the TRUE_*
 * MSRs exist, the pin/proc/exit/entry fields hold the TRUE_* values.
 */
struct vmx_caps {
	u64 basic;
	u64 pin;
	u64 proc;
	u64 proc2;
	u64 exit;
	u64 entry;
	u64 misc;
	u64 ept_vpid;
	u64 cr0_fixed0;
	u64 cr0_fixed1;
	u64 cr4_fixed0;
	u64 cr4_fixed1;
	u32 revision_id;
	u32 vmcs_size;
};

extern struct vmx_caps vmx_caps;

int vmx_caps_init(void);
int vmx_caps_adjust(u32 min, u32 opt, u64 msr, u32 *result);

static inline bool vmx_ctl_allowed1(u64 msr, u32 bit)
{
	return (msr >> 32) & bit;
}

static inline bool vmx_cap_secondary(void)
{
	return vmx_ctl_allowed1(vmx_caps.proc,
				CPU_BASED_ACTIVATE_SECONDARY_CONTROLS);
}

static inline bool vmx_cap_ept(void)
{
	return vmx_cap_secondary() &&
	       vmx_ctl_allowed1(vmx_caps.proc2, SECONDARY_EXEC_ENABLE_EPT);
}

static inline bool vmx_cap_vpid(void)
{
	return vmx_cap_secondary() &&
	       vmx_ctl_allowed1(vmx_caps.proc2, SECONDARY_EXEC_ENABLE_VPID);
}

static inline bool vmx_cap_unrestricted_guest(void)
{
	return vmx_cap_secondary() &&
	       vmx_ctl_allowed1(vmx_caps.proc2,
				SECONDARY_EXEC_UNRESTRICTED_GUEST);
}

static inline bool vmx_cap_posted_intr(void)
{
	return vmx_ctl_allowed1(vmx_caps.pin, PIN_BASED_POSTED_INTR);
}

static inline bool vmx_cap_virtual_nmis(void)
{
	return vmx_ctl_allowed1(vmx_caps.pin, PIN_BASED_VIRTUAL_NMIS);
}

static inline bool vmx_cap_ept_4level(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_PAGE_WALK_4_BIT;
}

static inline bool vmx_cap_ept_wb(void)
{
	return vmx_caps.ept_vpid & VMX_EPTP_WB_BIT;
}

static inline bool vmx_cap_ept_ad(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_AD_BIT;
}

static inline bool vmx_cap_ept_2m(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_2MB_PAGE_BIT;
}

static inline bool vmx_cap_ept_1g(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_1GB_PAGE_BIT;
}

static inline bool vmx_cap_invept(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_INVEPT_BIT;
}

static inline bool vmx_cap_invept_single(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_EXTENT_CONTEXT_BIT;
}

static inline bool vmx_cap_invept_global(void)
{
	return vmx_caps.ept_vpid & VMX_EPT_EXTENT_GLOBAL_BIT;
}

static inline bool vmx_cap_invvpid(void)
{
	return (vmx_caps.ept_vpid >> 32) & VMX_VPID_INVVPID_BIT;
}

static inline bool vmx_cap_invvpid_addr(void)
{
	return (vmx_caps.ept_vpid >> 32) & VMX_VPID_EXTENT_INDIVIDUAL_ADDR_BIT;
}

static inline bool vmx_cap_invvpid_single(void)
{
	return (vmx_caps.ept_vpid >> 32) & VMX_VPID_EXTENT_SINGLE_CONTEXT_BIT;
}

static inline bool vmx_cap_invvpid_global(void)
{
	return (vmx_caps.ept_vpid >> 32) & VMX_VPID_EXTENT_GLOBAL_CONTEXT_BIT;
}

struct seq_file;
void vmx_caps_show(struct seq_file *m);

#endif /* DUNE_VMX_CAPS_H */

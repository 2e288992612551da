/* SPDX-License-Identifier: GPL-2.0 */
/*
 * VMX instruction wrappers that check for VM-instruction errors.
 *
 * Every VMCS access of the module goes through vmcs_read()/vmcs_write().
 * A failed VMWRITE is reported (ratelimited) with the field, the value and
 * the VM-instruction error number (SDM Vol. 3C, 31.4), and counted in
 * the caller's error accumulator so that VMCS setup can fail cleanly.
 * VMREAD/VMWRITE need a current VMCS on this CPU: callers hold
 * preemption off between dune_vcpu_load() and the last access.
 */
#ifndef DUNE_VMCS_H
#define DUNE_VMCS_H

#include <linux/printk.h>
#include <linux/types.h>
#include <asm/asm.h>
#include <asm/vmx.h>

static inline bool __vmcs_read(unsigned long field, unsigned long *value)
{
	bool fail;

	asm volatile("vmread %[field], %[value]"
		     CC_SET(na)
		     : CC_OUT(na) (fail), [value] "=rm" (*value)
		     : [field] "r" (field)
		     : "cc");
	return !fail;
}

static inline unsigned long vmcs_read(unsigned long field)
{
	unsigned long value;

	if (unlikely(!__vmcs_read(field, &value))) {
		pr_warn_ratelimited("dune: vmread(0x%lx) failed\n", field);
		return 0;
	}
	return value;
}

static inline u32 vmcs_read_insn_error(void)
{
	unsigned long err;

	if (!__vmcs_read(VM_INSTRUCTION_ERROR, &err))
		return 0;
	return (u32)err;
}

/* Returns 0, or 1 after reporting the failure. */
static inline int vmcs_write(unsigned long field, unsigned long value)
{
	bool fail;

	asm volatile("vmwrite %[value], %[field]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [value] "rm" (value), [field] "r" (field)
		     : "cc");
	if (unlikely(fail)) {
		pr_warn_ratelimited("dune: vmwrite(0x%lx, 0x%lx) failed: VM-instruction error %u\n",
				    field, value, vmcs_read_insn_error());
		return 1;
	}
	return 0;
}

static inline int vmcs_clear(u64 vmcs_pa)
{
	bool fail;

	asm volatile("vmclear %[pa]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [pa] "m" (vmcs_pa)
		     : "cc", "memory");
	return fail ? -EIO : 0;
}

static inline int vmcs_load(u64 vmcs_pa)
{
	bool fail;

	asm volatile("vmptrld %[pa]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [pa] "m" (vmcs_pa)
		     : "cc", "memory");
	return fail ? -EIO : 0;
}

static inline int vmx_invept(unsigned long type, u64 eptp)
{
	struct {
		u64 eptp;
		u64 reserved;
	} desc = { eptp, 0 };
	bool fail;

	asm volatile("invept %[desc], %[type]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [desc] "m" (desc), [type] "r" (type)
		     : "cc", "memory");
	return fail ? -EIO : 0;
}

static inline int vmx_invvpid(unsigned long type, u16 vpid, u64 gva)
{
	struct {
		u64 vpid : 16;
		u64 reserved : 48;
		u64 gva;
	} desc = { vpid, 0, gva };
	bool fail;

	asm volatile("invvpid %[desc], %[type]"
		     CC_SET(na)
		     : CC_OUT(na) (fail)
		     : [desc] "m" (desc), [type] "r" (type)
		     : "cc", "memory");
	return fail ? -EIO : 0;
}

#endif /* DUNE_VMCS_H */

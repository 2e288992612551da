/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A snapshot of the current VMCS, in the text format that dunebench's
 * `vmcs` and `vmcs-diff` commands read (docs/vmcs.md):
 *
 *   dune-vmcs-snapshot 1
 *   source <who took it: dune, kvm>
 *   pid <tgid> tid <tid> vcpu <id>
 *   seq <snapshots taken of this vCPU so far>
 *   exit_reason <VM-exit reason field of the exit it was taken at>
 *   cap <MSR number> <value>        VMX capability MSRs of this CPU
 *   config <encoding> <value>       what the owner meant to write (optional)
 *   field <encoding> <value>        every field this CPU's VMREAD accepts
 *   msr <MSR number> <r|w|rw>       MSRs the MSR bitmap lets the guest
 *                                   access without an exit
 *   end
 *
 * Numbers are hexadecimal with 0x.  The fields are found by trying every
 * encoding up to the highest index IA32_VMX_VMCS_ENUM reports, for each
 * width and type (SDM Vol. 3D, Appendix B; the "high" halves of 64-bit
 * fields are left out): a field the CPU does not support makes VMREAD
 * fail, so the list is what this CPU has, whatever its owner uses.
 *
 * Shared by dune.ko (vmcs_dump.c) and the VMX lab's KVM snapshot module,
 * so that both write the same format.  vmcs_snap_take() needs the VMCS to
 * be current on this CPU and runs with interrupts off.
 */
#ifndef DUNE_VMCS_SNAP_H
#define DUNE_VMCS_SNAP_H

#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/types.h>
#include <asm/msr.h>
#include <asm/vmx.h>

#define VMCS_SNAP_MAX_FIELDS	320
#define VMCS_SNAP_BITMAP_SIZE	4096

/* capability MSRs recorded with each snapshot (IA32_VMX_BASIC..) */
#define VMCS_SNAP_CAP_FIRST	0x480	/* IA32_VMX_BASIC */
#define VMCS_SNAP_CAP_LAST	0x492	/* IA32_VMX_PROCBASED_CTLS3 */
#define VMCS_SNAP_NCAPS		(VMCS_SNAP_CAP_LAST - VMCS_SNAP_CAP_FIRST + 1)

struct vmcs_snap {
	u64 seq;
	u32 exit_reason;
	u32 nfields;
	u32 enc[VMCS_SNAP_MAX_FIELDS];
	u64 val[VMCS_SNAP_MAX_FIELDS];
	u32 caps_valid;			/* bit i: MSR CAP_FIRST + i was read */
	u64 caps[VMCS_SNAP_NCAPS];
	bool have_bitmap;
	u8 msr_bitmap[VMCS_SNAP_BITMAP_SIZE];
};

/* VMREAD that fails quietly: the field may not exist on this CPU. */
static inline bool vmcs_snap_vmread(unsigned long field, u64 *value)
{
	unsigned long v;
	bool fail;

	asm volatile("vmread %[field], %[value]"
		     CC_SET(na)
		     : CC_OUT(na) (fail), [value] "=rm" (v)
		     : [field] "r" (field)
		     : "cc");
	*value = v;
	return !fail;
}

static inline void vmcs_snap_read_caps(struct vmcs_snap *s)
{
	unsigned int i;
	u64 v;

	s->caps_valid = 0;
	for (i = 0; i < VMCS_SNAP_NCAPS; i++) {
		if (rdmsrl_safe(VMCS_SNAP_CAP_FIRST + i, &v))
			continue;
		s->caps[i] = v;
		s->caps_valid |= 1U << i;
	}
}

/*
 * vmcs_snap_take - record the current VMCS into @s.  Interrupts off, the
 * VMCS current.  Costs some hundred VMREADs and a 4 KiB copy: only ever
 * called when someone asked for a snapshot.
 */
static inline void vmcs_snap_take(struct vmcs_snap *s)
{
	unsigned int width, type, index, max_index = 0x1f;
	u64 enc_msr, v, bitmap_pa;

	vmcs_snap_read_caps(s);
	if (!rdmsrl_safe(MSR_IA32_VMX_VMCS_ENUM, &enc_msr))
		max_index = (enc_msr >> 1) & 0x1ff;
	s->nfields = 0;
	for (width = 0; width < 4; width++) {
		for (type = 0; type < 4; type++) {
			for (index = 0; index <= max_index; index++) {
				u32 enc = width << 13 | type << 10 | index << 1;

				if (s->nfields == VMCS_SNAP_MAX_FIELDS)
					break;
				if (!vmcs_snap_vmread(enc, &v))
					continue;
				s->enc[s->nfields] = enc;
				s->val[s->nfields] = v;
				s->nfields++;
			}
		}
	}
	s->exit_reason = 0;
	if (vmcs_snap_vmread(VM_EXIT_REASON, &v))
		s->exit_reason = v;

	/* the MSR bitmap is in memory, not in the VMCS: copy the page */
	s->have_bitmap = false;
	if (vmcs_snap_vmread(CPU_BASED_VM_EXEC_CONTROL, &v) &&
	    (v & CPU_BASED_USE_MSR_BITMAPS) &&
	    vmcs_snap_vmread(MSR_BITMAP, &bitmap_pa) &&
	    pfn_valid(PHYS_PFN(bitmap_pa))) {
		memcpy(s->msr_bitmap, __va(bitmap_pa & PAGE_MASK),
		       VMCS_SNAP_BITMAP_SIZE);
		s->have_bitmap = true;
	}
	s->seq++;
}

/* One line per MSR the guest may read (r), write (w) or both without exit. */
static inline void vmcs_snap_show_bitmap(struct seq_file *m,
					 const struct vmcs_snap *s)
{
	/* read-low, read-high, write-low, write-high: 1 KiB each */
	static const u32 base[2] = { 0, 0xc0000000 };
	unsigned int half, bit;
	bool r, w;

	for (half = 0; half < 2; half++) {
		for (bit = 0; bit < 0x2000; bit++) {
			const u8 *rd = s->msr_bitmap + half * 0x400;
			const u8 *wr = s->msr_bitmap + 0x800 + half * 0x400;

			r = !(rd[bit / 8] & (1 << (bit % 8)));
			w = !(wr[bit / 8] & (1 << (bit % 8)));
			if (r || w)
				seq_printf(m, "msr 0x%x %s\n", base[half] + bit,
					   r && w ? "rw" : r ? "r" : "w");
		}
	}
}

/* The header line through the capability MSRs. */
static inline void vmcs_snap_show_head(struct seq_file *m,
				       const struct vmcs_snap *s,
				       const char *source, int tgid, int tid,
				       u64 vcpu)
{
	unsigned int i;

	seq_puts(m, "dune-vmcs-snapshot 1\n");
	seq_printf(m, "source %s\n", source);
	seq_printf(m, "pid %d tid %d vcpu %llu\n", tgid, tid, vcpu);
	seq_printf(m, "seq %llu\n", s->seq);
	seq_printf(m, "exit_reason 0x%x\n", s->exit_reason);
	for (i = 0; i < VMCS_SNAP_NCAPS; i++)
		if (s->caps_valid & (1U << i))
			seq_printf(m, "cap 0x%x 0x%llx\n",
				   VMCS_SNAP_CAP_FIRST + i, s->caps[i]);
}

/* The fields, the MSR bitmap and the end line. */
static inline void vmcs_snap_show_body(struct seq_file *m,
				       const struct vmcs_snap *s)
{
	unsigned int i;

	for (i = 0; i < s->nfields; i++)
		seq_printf(m, "field 0x%04x 0x%llx\n", s->enc[i], s->val[i]);
	if (s->have_bitmap)
		vmcs_snap_show_bitmap(m, s);
	seq_puts(m, "end\n");
}

#endif /* DUNE_VMCS_SNAP_H */

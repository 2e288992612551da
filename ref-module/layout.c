// SPDX-License-Identifier: GPL-2.0
/*
 * The guest-physical layout of a process: the classic windows of
 * DUNE_GET_LAYOUT and the PIE/vDSO extension of DUNE_LAYOUT_EXT (both in
 * include/dune/abi.h).  ept.c builds its windows from the same function.
 */
#include <linux/kernel.h>
#include <linux/mm_types.h>
#include <asm/processor.h>
#include <asm/vdso.h>

#include "dune_mod.h"

#define GIB	(1ULL << 30)

/* Is [lo, hi) inside the map or the stack window of @l? */
static bool in_classic_window(const struct dune_layout_ext *l, u64 lo, u64 hi)
{
	return (lo >= l->base_map && hi <= l->base_map + DUNE_GPA_MAP_SIZE) ||
	       (lo >= l->base_stack && hi <= l->base_stack + DUNE_GPA_STACK_SIZE);
}

static void layout_exec(struct mm_struct *mm, struct dune_layout_ext *l)
{
	u64 hva = mm->start_code & ~(GIB - 1);
	u64 size = DUNE_GPA_EXEC_MAX;

	/* a -no-pie executable is in the identity window already */
	if (mm->start_code < DUNE_GPA_IDENTITY_END(l->phys_limit))
		return;
	if (hva >= TASK_SIZE_MAX)
		return;
	size = min_t(u64, size, TASK_SIZE_MAX - hva);
	/* stop where the map or the stack window begins */
	if (l->base_map > hva)
		size = min_t(u64, size, l->base_map - hva);
	else if (l->base_map + DUNE_GPA_MAP_SIZE > hva)
		return;
	if (l->base_stack > hva)
		size = min_t(u64, size, l->base_stack - hva);
	l->exec_gpa = DUNE_GPA_EXEC_START(l->phys_limit);
	l->exec_hva = hva;
	l->exec_size = size;
	l->flags |= DUNE_LAYOUT_EXT_EXEC;
}

static void layout_vdso(struct mm_struct *mm, struct dune_layout_ext *l)
{
	const struct vdso_image *image = mm->context.vdso_image;
	u64 vdso = (unsigned long)mm->context.vdso;
	u64 lo, hi, hva;

	if (!vdso || !image)
		return;
	lo = vdso + image->sym_vvar_start;	/* [vvar] precedes [vdso] */
	hi = vdso + image->size;
	if (in_classic_window(l, lo, hi) ||
	    hi <= DUNE_GPA_EXT_IDENTITY_END(l->phys_limit))
		return;
	hva = lo & ~(GIB - 1);
	if (hi > hva + DUNE_GPA_VDSO_SIZE)
		return;		/* straddles a GiB boundary: leave it out */
	l->vdso_gpa = DUNE_GPA_VDSO_START(l->phys_limit);
	l->vdso_hva = hva;
	l->vdso_size = min_t(u64, DUNE_GPA_VDSO_SIZE, TASK_SIZE_MAX - hva);
	l->flags |= DUNE_LAYOUT_EXT_VDSO;
}

/*
 * dune_layout_compute - the layout of @mm with the extension windows of
 * @want (DUNE_LAYOUT_EXT_*; 0 = the classic layout).
 */
void dune_layout_compute(struct mm_struct *mm, u64 want,
			 struct dune_layout_ext *l)
{
	memset(l, 0, sizeof(*l));
	l->phys_limit = 1ULL << boot_cpu_data.x86_phys_bits;
	l->base_map = DUNE_LG_ALIGN(mm->mmap_base) - DUNE_GPA_MAP_SIZE;
	l->base_stack = DUNE_LG_ALIGN(mm->start_stack) - DUNE_GPA_STACK_SIZE;
	l->identity_end = DUNE_GPA_IDENTITY_END(l->phys_limit);
	if (!want)
		return;
	l->identity_end = DUNE_GPA_EXT_IDENTITY_END(l->phys_limit);
	if (want & DUNE_LAYOUT_EXT_EXEC)
		layout_exec(mm, l);
	if (want & DUNE_LAYOUT_EXT_VDSO)
		layout_vdso(mm, l);
}

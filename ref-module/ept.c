// SPDX-License-Identifier: GPL-2.0
/*
 * EPT: a lazily filled shadow of the process page tables over the three
 * guest-physical windows of the Dune layout (include/dune/abi.h):
 *
 *   [0, P - 64 GiB)          host VA = GPA
 *   [P - 64 GiB, P - 1 GiB)  host VA = GPA - (P - 64 GiB) + base_map
 *   [P - 1 GiB, P)           host VA = GPA - (P - 1 GiB) + base_stack
 *
 * plus, for files that asked with DUNE_LAYOUT_EXT, the exec and vDSO
 * windows (the identity window then ends at P - 192 GiB).
 *
 * An EPT violation faults the page in through the host mm (GUP) and maps
 * it with 4 KiB or, when the host maps it with a PMD, 2 MiB EPT pages.
 * An MMU notifier removes EPT entries before Linux changes or frees what
 * they point at; the fault path re-checks a sequence count under the EPT
 * lock so that a fault racing with an invalidation retries.
 */
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/pgtable.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>
#include <asm/vmx.h>

#include "dune_mod.h"
#include "vmx.h"
#include "vmx_caps.h"

#define EPTE_R		VMX_EPT_READABLE_MASK
#define EPTE_W		VMX_EPT_WRITABLE_MASK
#define EPTE_X		VMX_EPT_EXECUTABLE_MASK
#define EPTE_RWX	(EPTE_R | EPTE_W | EPTE_X)
#define EPTE_MT_WB	(VMX_EPTP_MT_WB << VMX_EPT_MT_EPTE_SHIFT)
#define EPTE_MT_UC	(VMX_EPTP_MT_UC << VMX_EPT_MT_EPTE_SHIFT)
#define EPTE_IPAT	VMX_EPT_IPAT_BIT
#define EPTE_PS		BIT_ULL(7)
#define EPTE_A		VMX_EPT_ACCESS_BIT
#define EPTE_D		VMX_EPT_DIRTY_BIT
#define EPTE_ADDR	GENMASK_ULL(51, 12)

#define EPT_LEVELS	4
#define EPT_QUAL_WRITE	BIT_ULL(1)

static inline unsigned int level_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static inline unsigned int ept_index(u64 gpa, int level)
{
	return (gpa >> level_shift(level)) & 511;
}

static inline u64 *epte_table(u64 epte)
{
	return __va(epte & EPTE_ADDR);
}

static inline bool epte_present(u64 epte)
{
	return epte & EPTE_RWX;
}

/* ------------------------------------------------------------------ */
/* Windows                                                              */
/* ------------------------------------------------------------------ */

static int ept_gpa_to_hva(const struct dune_ept *ept, u64 gpa,
			  unsigned long *hva)
{
	const struct dune_ept_window *w;

	for (w = ept->windows; w < ept->windows + ept->nwindows; w++) {
		if (gpa >= w->gpa_start && gpa < w->gpa_end) {
			*hva = gpa - w->gpa_start + w->hva_start;
			return *hva < TASK_SIZE_MAX ? 0 : -EFAULT;
		}
	}
	return -EFAULT;		/* at or above phys_limit, or in no window */
}

static void ept_add_window(struct dune_ept *ept, u64 gpa, u64 size, u64 hva)
{
	if (!size || ept->nwindows >= ARRAY_SIZE(ept->windows))
		return;
	ept->windows[ept->nwindows++] = (struct dune_ept_window){
		gpa, gpa + size, hva
	};
}

/* The windows of docs/abi.md section 5, plus the DUNE_LAYOUT_EXT ones. */
static void ept_init_windows(struct dune_ept *ept, struct mm_struct *mm,
			     u64 layout_ext)
{
	struct dune_layout_ext l;

	dune_layout_compute(mm, layout_ext, &l);
	ept->phys_limit = l.phys_limit;
	ept->nwindows = 0;
	ept_add_window(ept, 0, l.identity_end, 0);
	ept_add_window(ept, DUNE_GPA_MAP_START(l.phys_limit),
		       DUNE_GPA_MAP_SIZE, l.base_map);
	ept_add_window(ept, DUNE_GPA_STACK_START(l.phys_limit),
		       DUNE_GPA_STACK_SIZE, l.base_stack);
	ept_add_window(ept, l.exec_gpa, l.exec_size, l.exec_hva);
	ept_add_window(ept, l.vdso_gpa, l.vdso_size, l.vdso_hva);
}

/* ------------------------------------------------------------------ */
/* Tables                                                               */
/* ------------------------------------------------------------------ */

static int ept_topup_cache(struct dune_ept *ept)
{
	void *p;

	while (ept->ncache < DUNE_EPT_CACHE_PAGES) {
		p = (void *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
		if (!p)
			return -ENOMEM;
		ept->cache[ept->ncache++] = p;
	}
	return 0;
}

static void *ept_cache_pop(struct dune_ept *ept)
{
	if (!ept->ncache)
		return NULL;
	return ept->cache[--ept->ncache];
}

/*
 * ept_set - map @gpa to @pfn (a 4 KiB frame); with @huge, map the whole
 * 2 MiB block around it if no 4 KiB table is in the way.  EPT lock held.
 * Sets *@flush when an entry that may be cached was replaced.
 */
static int ept_set(struct dune_ept *ept, u64 gpa, u64 pfn, bool huge,
		   bool writable, u64 memtype, bool *flush)
{
	u64 *table = ept->root, *e, leaf, old;
	int level;
	void *p;

	for (level = EPT_LEVELS; level > 1; level--) {
		e = &table[ept_index(gpa, level)];
		if (level == 2 && huge) {
			if (!epte_present(*e) || (*e & EPTE_PS))
				break;	/* the 2 MiB leaf goes here */
			huge = false;	/* 4 KiB mappings below: stay 4 KiB */
		}
		if (epte_present(*e) && (*e & EPTE_PS)) {
			/* a large leaf is in the way of a smaller mapping */
			WRITE_ONCE(*e, 0);
			*flush = true;
		}
		if (!epte_present(*e)) {
			p = ept_cache_pop(ept);
			if (!p)
				return -ENOMEM;
			WRITE_ONCE(*e, __pa(p) | EPTE_RWX);
		}
		table = epte_table(*e);
	}

	leaf = EPTE_R | EPTE_X | memtype;
	if (writable)
		leaf |= EPTE_W;
	if (vmx_cap_ept_ad())
		leaf |= EPTE_A | (writable ? EPTE_D : 0);
	if (level == 2)
		leaf |= EPTE_PS | ((pfn & ~511ULL) << PAGE_SHIFT);
	else
		leaf |= pfn << PAGE_SHIFT;

	e = &table[ept_index(gpa, level)];
	old = *e;
	WRITE_ONCE(*e, leaf);
	atomic_inc(level == 2 ? &dune_stats.ept_maps_2m :
		   &dune_stats.ept_maps_4k);
	if (epte_present(old) && ((old & EPTE_ADDR) != (leaf & EPTE_ADDR) ||
				  (old & ~leaf & EPTE_RWX)))
		*flush = true;
	return 0;
}

/* Clear the leaves mapping [start, end) below @table.  Returns if any. */
static bool ept_zap_level(u64 *table, int level, u64 base, u64 start, u64 end)
{
	u64 size = 1ULL << level_shift(level);
	bool zapped = false;
	unsigned int i;
	u64 s, e;

	for (i = (start - base) >> level_shift(level); i < 512; i++) {
		s = base + i * size;
		if (s >= end)
			break;
		e = table[i];
		if (!epte_present(e))
			continue;
		if (level == 1 || (e & EPTE_PS)) {
			WRITE_ONCE(table[i], 0);
			zapped = true;
			continue;
		}
		zapped |= ept_zap_level(epte_table(e), level - 1, s,
					max(start, s), min(end, s + size));
	}
	return zapped;
}

/* Clear the EPT entries for host VAs [start, end).  EPT lock held. */
static bool ept_zap_hva(struct dune_ept *ept, unsigned long start,
			unsigned long end)
{
	const struct dune_ept_window *w;
	bool zapped = false;
	u64 hs, he, s, e;

	for (w = ept->windows; w < ept->windows + ept->nwindows; w++) {
		hs = w->hva_start;
		he = hs + (w->gpa_end - w->gpa_start);
		s = max_t(u64, start, hs);
		e = min_t(u64, end, he);
		if (s >= e)
			continue;
		zapped |= ept_zap_level(ept->root, EPT_LEVELS, 0,
					s - hs + w->gpa_start,
					e - hs + w->gpa_start);
	}
	return zapped;
}

static void ept_free_level(u64 *table, int level)
{
	unsigned int i;

	if (level > 1) {
		for (i = 0; i < 512; i++)
			if (epte_present(table[i]) && !(table[i] & EPTE_PS))
				ept_free_level(epte_table(table[i]), level - 1);
	}
	free_page((unsigned long)table);
}

/* ------------------------------------------------------------------ */
/* MMU notifier                                                         */
/* ------------------------------------------------------------------ */

static struct dune_vcpu *mn_to_vcpu(struct mmu_notifier *mn)
{
	return container_of(mn, struct dune_vcpu, ept.mn);
}

static int ept_mn_invalidate_range_start(struct mmu_notifier *mn,
					 const struct mmu_notifier_range *range)
{
	struct dune_vcpu *v = mn_to_vcpu(mn);
	struct dune_ept *ept = &v->ept;
	bool zapped;

	spin_lock(&ept->lock);
	ept->invalidate_in_progress++;
#ifdef DUNE_MUTANT_MOD_EPT_MUNMAP
	/* mutant MOD_EPT_MUNMAP: munmap leaves the EPT entries in place */
	if (range->event == MMU_NOTIFY_UNMAP) {
		spin_unlock(&ept->lock);
		return 0;
	}
#endif
#ifdef DUNE_MUTANT_MOD_EPT_SKIP_RUNNING
	/* mutant MOD_EPT_SKIP_RUNNING: a vCPU in the guest keeps its entries */
	if (READ_ONCE(v->mode) == DUNE_IN_GUEST) {
		spin_unlock(&ept->lock);
		return 0;
	}
#endif
	zapped = ept_zap_hva(ept, range->start, range->end);
	spin_unlock(&ept->lock);
	if (zapped) {
		atomic_inc(&dune_stats.ept_zaps);
		dune_vmx_kick_flush(v);
	}
	return 0;
}

static void ept_mn_invalidate_range_end(struct mmu_notifier *mn,
					const struct mmu_notifier_range *range)
{
	struct dune_ept *ept = &mn_to_vcpu(mn)->ept;

	spin_lock(&ept->lock);
	ept->mmu_seq++;
	ept->invalidate_in_progress--;
	spin_unlock(&ept->lock);
}

static void ept_mn_release(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct dune_vcpu *v = mn_to_vcpu(mn);
	struct dune_ept *ept = &v->ept;

	spin_lock(&ept->lock);
	ept_zap_level(ept->root, EPT_LEVELS, 0, 0, ept->phys_limit);
	ept->mmu_seq++;
	WRITE_ONCE(ept->released, true);
	spin_unlock(&ept->lock);
	dune_vmx_kick_flush(v);
}

static const struct mmu_notifier_ops ept_mn_ops = {
	.invalidate_range_start	= ept_mn_invalidate_range_start,
	.invalidate_range_end	= ept_mn_invalidate_range_end,
	.release		= ept_mn_release,
};

/* ------------------------------------------------------------------ */
/* Faults                                                               */
/* ------------------------------------------------------------------ */

/*
 * host_lookup - the frame the host maps at @hva, read from the process
 * page tables without locks and without a page reference (interrupts off,
 * like GUP-fast, so that no table is freed under us).  No reference is
 * needed: the caller read ept->mmu_seq before, and an invalidation that
 * frees or moves the page between this walk and the EPT update makes the
 * update retry (dune_ept_fault()), as KVM does.  Returns true with *@pfn,
 * *@writable and *@huge (a PMD or PUD leaf) when the mapping is ordinary
 * memory the guest may access as @write asks; false otherwise (not
 * present, read-only for a write, special or device mappings: the caller
 * faults it in or takes the general path).
 */
static bool host_lookup(struct mm_struct *mm, unsigned long hva, bool write,
			u64 *pfn, bool *writable, bool *huge)
{
	unsigned long flags;
	bool ok = false;
	pgd_t *pgdp, pgd;
	p4d_t *p4dp, p4d;
	pud_t *pudp, pud;
	pmd_t *pmdp, pmd;
	pte_t *ptep, pte;

	local_irq_save(flags);	/* page tables are not freed under us */
	pgdp = pgd_offset(mm, hva);
	pgd = READ_ONCE(*pgdp);
	if (pgd_none(pgd) || !pgd_present(pgd))
		goto out;
	p4dp = p4d_offset(pgdp, hva);
	p4d = READ_ONCE(*p4dp);
	if (p4d_none(p4d) || !p4d_present(p4d))
		goto out;
	pudp = pud_offset(p4dp, hva);
	pud = READ_ONCE(*pudp);
	if (pud_none(pud) || !pud_present(pud))
		goto out;
	if (pud_large(pud)) {
		if (pud_devmap(pud) || !pud_access_permitted(pud, write))
			goto out;
		*pfn = pud_pfn(pud) + ((hva & ~PUD_MASK) >> PAGE_SHIFT);
		*writable = pud_access_permitted(pud, true);
		*huge = true;
		ok = pfn_valid(*pfn);
		goto out;
	}
	pmdp = pmd_offset(pudp, hva);
	pmd = READ_ONCE(*pmdp);
	if (!pmd_present(pmd) || pmd_protnone(pmd))
		goto out;
	if (pmd_large(pmd)) {
		if (pmd_devmap(pmd) || !pmd_access_permitted(pmd, write))
			goto out;
		*pfn = pmd_pfn(pmd) + ((hva & ~PMD_MASK) >> PAGE_SHIFT);
		*writable = pmd_access_permitted(pmd, true);
		*huge = true;
		ok = pfn_valid(*pfn);
		goto out;
	}
	ptep = pte_offset_map(&pmd, hva);
	pte = ptep_get_lockless(ptep);
	pte_unmap(ptep);
	if (!pte_present(pte) || pte_protnone(pte) || pte_devmap(pte) ||
	    !pte_access_permitted(pte, write))
		goto out;
	*pfn = pte_pfn(pte);
	/* special: no struct page behind it, but for the zero page */
	if (pte_special(pte) && !is_zero_pfn(*pfn))
		goto out;
	*writable = pte_access_permitted(pte, true);
	*huge = false;
	ok = pfn_valid(*pfn);
out:
	local_irq_restore(flags);
	return ok;
}

/* Let the host's page-fault handler map @hva for @write access. */
static int host_fault_in(struct mm_struct *mm, unsigned long hva, bool write)
{
	bool unlocked = false;
	int r;

	mmap_read_lock(mm);
	r = fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0, &unlocked);
	mmap_read_unlock(mm);
	return r;
}

/* VM_IO / VM_PFNMAP mappings (device memory): no struct page to pin. */
static int fault_pfnmap(struct mm_struct *mm, unsigned long hva, bool write,
			u64 *pfn, bool *writable)
{
	struct vm_area_struct *vma;
	unsigned long p;
	bool unlocked = false;
	int r = -EFAULT;

	mmap_read_lock(mm);
	vma = vma_lookup(mm, hva);
	if (!vma || !(vma->vm_flags & (VM_IO | VM_PFNMAP)))
		goto out;
	if (write && !(vma->vm_flags & VM_WRITE))
		goto out;
	r = follow_pfn(vma, hva, &p);
	if (r) {
		r = fixup_user_fault(mm, hva, write ? FAULT_FLAG_WRITE : 0,
				     &unlocked);
		if (r || unlocked)
			goto out;	/* retry from the guest */
		r = follow_pfn(vma, hva, &p);
		if (r)
			goto out;
	}
	*pfn = p;
	*writable = write;
out:
	mmap_read_unlock(mm);
	return r;
}

/* The general path: GUP (the stack grows), then device mappings. */
static int host_gup(struct dune_vcpu *v, unsigned long hva, bool write,
		    u64 *pfn, bool *writable, bool *huge, u64 *memtype,
		    struct page **page)
{
	bool w;
	u64 p;

	*writable = write;
	if (!write && get_user_pages_fast_only(hva, 1, FOLL_WRITE, page) == 1)
		*writable = true;
	else if (get_user_pages_fast(hva, 1, write ? FOLL_WRITE : 0, page) != 1)
		*page = NULL;
	*huge = false;
	if (!*page) {
		*memtype = EPTE_MT_UC;
		return fault_pfnmap(v->mm, hva, write, pfn, writable);
	}
	*pfn = page_to_pfn(*page);
	/* a huge host mapping, if the walk sees one (of this page) */
	if (!host_lookup(v->mm, hva, false, &p, &w, huge) || p != *pfn)
		*huge = false;
	return 0;
}

/*
 * dune_ept_fault - resolve an EPT violation at @gpa.  Returns 0 when the
 * guest can retry (mapped now, or an invalidation raced and it will fault
 * again), or an errno when the GPA is outside the windows or the host
 * has nothing there (or not with the needed access).
 */
int dune_ept_fault(struct dune_vcpu *v, u64 gpa, u64 qual)
{
	struct dune_ept *ept = &v->ept;
	bool write = qual & EPT_QUAL_WRITE;
	bool writable, huge, flush = false;
	struct page *page = NULL;
	unsigned long hva, seq;
	u64 pfn, memtype = EPTE_MT_WB | EPTE_IPAT;
	int r;

	if (ept_gpa_to_hva(ept, gpa, &hva))
		return -EFAULT;
	if (current->mm != v->mm || READ_ONCE(ept->released))
		return -EFAULT;
	r = ept_topup_cache(ept);
	if (r)
		return r;

	seq = READ_ONCE(ept->mmu_seq);
	smp_rmb();	/* read the count before looking at the host PTEs */

	hva &= PAGE_MASK;
	/*
	 * Ordinary memory the host maps already (or once its page-fault
	 * handler did): the frame straight from the page tables, writable
	 * at once when the host PTE is.  Anything else takes GUP.
	 */
	if (!host_lookup(v->mm, hva, write, &pfn, &writable, &huge)) {
		r = host_fault_in(v->mm, hva, write);
		if (!r) {
			/* what the fault did is in the tables: count from here */
			seq = READ_ONCE(ept->mmu_seq);
			smp_rmb();
		}
		if (r || !host_lookup(v->mm, hva, write, &pfn, &writable,
				      &huge)) {
			seq = READ_ONCE(ept->mmu_seq);
			smp_rmb();
			r = host_gup(v, hva, write, &pfn, &writable, &huge,
				     &memtype, &page);
			if (r)
				return r;
		}
	}
	huge = huge && vmx_cap_ept_2m() &&
	       ((pfn - ((hva >> PAGE_SHIFT) & 511)) & 511) == 0;

	spin_lock(&ept->lock);
	if (ept->invalidate_in_progress || ept->mmu_seq != seq)
		r = 0;	/* the host mapping moved under us: fault again */
	else
		r = ept_set(ept, gpa, pfn, huge, writable, memtype, &flush);
	spin_unlock(&ept->lock);
	if (page)
		put_page(page);
	if (flush)
		dune_vmx_kick_flush(v);
	if (!r)
		atomic_inc(&dune_stats.ept_faults);
	return r;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */
/* ------------------------------------------------------------------ */

/*
 * dune_ept_init - empty EPT for @v (current's address space) with the
 * windows of @layout_ext (DUNE_LAYOUT_EXT_*), and its MMU notifier.
 */
int dune_ept_init(struct dune_vcpu *v, u64 layout_ext)
{
	struct dune_ept *ept = &v->ept;
	struct mm_struct *mm = v->mm;
	int r;

	spin_lock_init(&ept->lock);
	atomic_set(&ept->flush_pending, 0);
	ept_init_windows(ept, mm, layout_ext);

	ept->root = (u64 *)get_zeroed_page(GFP_KERNEL_ACCOUNT);
	if (!ept->root)
		return -ENOMEM;
	ept->eptp = __pa(ept->root) | VMX_EPTP_MT_WB | VMX_EPTP_PWL_4;
	if (vmx_cap_ept_ad())
		ept->eptp |= VMX_EPTP_AD_ENABLE_BIT;

	ept->mn.ops = &ept_mn_ops;
	r = mmu_notifier_register(&ept->mn, mm);
	if (r) {
		free_page((unsigned long)ept->root);
		ept->root = NULL;
		return r;
	}
	ept->mn_registered = true;
	return 0;
}

/* dune_ept_destroy - the vCPU's VMCS must be VMCLEARed already. */
void dune_ept_destroy(struct dune_vcpu *v)
{
	struct dune_ept *ept = &v->ept;

	if (ept->mn_registered)
		mmu_notifier_unregister(&ept->mn, v->mm);
	ept->mn_registered = false;
	if (ept->root)
		ept_free_level(ept->root, EPT_LEVELS);
	ept->root = NULL;
	while (ept->ncache)
		free_page((unsigned long)ept->cache[--ept->ncache]);
}

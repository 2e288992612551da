// SPDX-License-Identifier: MIT
/*
 * layout.c - the guest-physical layout and the guest page tables that
 * mirror the process's mappings.
 *
 * Guest-virtual == host-virtual.  Guest-physical addresses come from the
 * Dune windows (docs/abi.md section 5): identity below
 * dune_identity_limit, the map window (63 GiB under mmap_base), the stack
 * window (1 GiB), plus, where the backend provides them, a window for a
 * PIE executable and its heap and one for [vvar]/[vdso].
 *
 * Mirror rules: a host mapping is mapped in the guest with its own
 * permissions, or RWXU when dune_init(true) as the original's full
 * mapping; PROT_NONE and unmapped ranges are not present, so a stray
 * access there is a guest #PF with CR2, never a KVM exit on memory the
 * host does not have.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "internal.h"

ptent_t *pgroot;
uintptr_t phys_limit;
uintptr_t mmap_base;
uintptr_t stack_base;
uintptr_t dune_exec_base;
uintptr_t dune_exec_size;
uintptr_t dune_exec_gpa;
uintptr_t dune_vdso_lo, dune_vdso_hi, dune_vdso_gpa;
uintptr_t dune_identity_limit;

static volatile int mirror_lock_word;

void dune_mirror_lock(void)
{
	dune_spin_lock(&mirror_lock_word);
}

void dune_mirror_unlock(void)
{
	dune_spin_unlock(&mirror_lock_word);
}

/* a forked child: the thread that held the lock (if any) is not here */
void dune_mirror_fork_child(void)
{
	dune_mirror_unlock();
}

uintptr_t dune_gpa_of(uintptr_t va, bool *ok)
{
	*ok = true;
	if (va >= stack_base && va - stack_base < GPA_STACK_SIZE)
		return dune_stack_addr_to_pa((void *)va);
	if (va >= mmap_base && va - mmap_base < GPA_MAP_SIZE)
		return dune_mmap_addr_to_pa((void *)va);
	if (dune_exec_size && va - dune_exec_base < dune_exec_size)
		return va - dune_exec_base + dune_exec_gpa;
	if (dune_vdso_hi && va >= dune_vdso_lo && va < dune_vdso_hi)
		return va - dune_vdso_lo + dune_vdso_gpa;
	if (va < dune_identity_limit)
		return va;
	*ok = false;
	return 0;
}

/*
 * dune_init(true) maps RWXU whatever the host permission, as the original's
 * full mapping (programs check PTE_W on read-only buffers); PROT_NONE stays
 * not present, so a stray access is a #PF rather than a fatal EPT
 * violation or KVM_RUN EFAULT.  dune_init(false): the host permission.
 */
int dune_prot_to_perm(int prot)
{
	int perm = 0;

	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return 0;
	if (dune_map_full)
		return PERM_R | PERM_W | PERM_X | PERM_U;
	perm |= PERM_R;
	if (prot & PROT_WRITE)
		perm |= PERM_W;
	if (prot & PROT_EXEC)
		perm |= PERM_X;
	return perm;
}

/*
 * The end of the page pool if va is inside it, else 0.  The pool (4 GiB by
 * default) is mapped once, with big pages, when the guest page tables are
 * built; the mirror steps over it in one go rather than a page at a time.
 */
static uintptr_t pool_end_if_in(uintptr_t va)
{
	if (!dune_page_isfrompool(va))
		return 0;
	return dune_page_base + (uintptr_t)num_pages * PGSIZE;
}

/*
 * Map (prot >= 0) or unmap (prot < 0 or PROT_NONE) [va, va + len) in pgroot.
 * With only_absent, pages that are already present are left alone.
 * Caller holds the mirror lock.
 */
static int mirror(uintptr_t va, size_t len, int prot, bool only_absent)
{
	uintptr_t v = PGROUNDDOWN(va), end = PGROUNDUP(va + len);
	int perm = prot < 0 ? 0 : dune_prot_to_perm(prot);
	int ret;

	while (v < end) {
		uintptr_t gpa, skip = pool_end_if_in(v);
		ptent_t *pte;
		bool ok;

		if (skip) {
			v = skip;
			continue;
		}
		gpa = dune_gpa_of(v, &ok);
		if (!ok || (only_absent && !dune_vm_lookup(pgroot, (void *)v, CREATE_NONE, &pte) &&
			    (*pte & PTE_P))) {
			v += PGSIZE;
			continue;
		}
		if (!perm) {
			dune_vm_unmap(pgroot, (void *)v, PGSIZE);
			v += PGSIZE;
			continue;
		}
		ret = dune_vm_map_phys(pgroot, (void *)v, PGSIZE, (void *)gpa, perm);
		if (ret)
			return ret;
		v += PGSIZE;
	}
	return 0;
}

int dune_mirror_range_locked(uintptr_t va, size_t len, int prot)
{
	return mirror(va, len, prot, false);
}

int dune_mirror_range(uintptr_t va, size_t len, int prot)
{
	int ret;

	dune_mirror_lock();
	ret = mirror(va, len, prot, false);
	dune_mirror_unlock();
	return ret;
}

struct map_all_ctx {
	int err;
};

static void map_one(const struct dune_procmap_entry *e, void *arg)
{
	struct map_all_ctx *ctx = arg;
	int prot = 0, ret;

	if (e->type == PROCMAP_TYPE_VSYSCALL)
		return;		/* our own page, see dune_mirror_vsyscall() */
	if (e->r)
		prot |= PROT_READ;
	if (e->w)
		prot |= PROT_WRITE;
	if (e->x)
		prot |= PROT_EXEC;
	if (e->type == PROCMAP_TYPE_VVAR)
		prot = PROT_READ;
	if (!prot)
		return;
	if (e->type == PROCMAP_TYPE_STACK) {
		/* the main stack grows on demand: map its whole window part
		 * below the current top, down to 8 MiB (stack growth itself is
		 * the backend's business, see kvm.c) */
		uintptr_t lo = e->end > (8UL << 20) ? e->end - (8UL << 20) : 0;

		if (lo < stack_base)
			lo = stack_base;
		if (lo < e->begin)
			mirror(lo, e->begin - lo, prot, true);
	}
	ret = mirror(e->begin, e->end - e->begin, prot, true);
	if (ret && !ctx->err)
		ctx->err = ret;
}

int dune_procmap_iterate_ctx(const char *path, void (*cb)(const struct dune_procmap_entry *, void *),
			     void *ctx);

int dune_layout_map_all(void)
{
	struct map_all_ctx ctx = { 0 };
	int ret;

	dune_mirror_lock();
	ret = dune_procmap_iterate_ctx("/proc/self/maps", map_one, &ctx);
	dune_mirror_unlock();
	return ret ? ret : ctx.err;
}

/* our own vsyscall page (its `syscall`s reach the trampoline) */
int dune_mirror_vsyscall(void)
{
	struct page *pg = dune_page_alloc();

	if (!pg)
		return -ENOMEM;
	memcpy((void *)dune_page2pa(pg), __dune_vsyscall_page,
	       (size_t)(__dune_vsyscall_page_end - __dune_vsyscall_page));
	return dune_vm_insert_page(pgroot, (void *)0xffffffffff600000UL, pg,
				   PERM_R | PERM_X | PERM_U);
}

// SPDX-License-Identifier: MIT
/* abi_util.c - guest setup for the ABI-level conformance tests (abi_util.h) */
#include "abi_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define PTE_P		0x001ULL
#define PTE_W		0x002ULL
#define PTE_PS		0x080ULL
#define PTE_ADDR	0x000ffffffffff000ULL
#define MIB2		(1ULL << 21)
#define GIB		(1ULL << 30)
#define PT_POOL_PAGES	256	/* 63 + 1 + 4 page directories and change */
#define CODE_MAX	(64 << 10)
#define STACK_SIZE	(64 << 10)

/* Bounds of the guest code section (the linker defines these). */
extern const unsigned char __start_abi_guest_text[], __stop_abi_guest_text[];

/* Keep the section (and its bounds) even in a binary without snippets. */
__asm__(".pushsection abi_guest_text,\"ax\",@progbits\n"
	"abi_guest_text_anchor: ud2\n"
	".popsection\n");

const char *abi_dev_path(void)
{
	const char *p = getenv("DUNE_DEV");

	return p && *p ? p : DUNE_DEVICE_PATH;
}

int abi_open(void)
{
	return open(abi_dev_path(), O_RDWR | O_CLOEXEC);
}

int64_t abi_hva_to_gpa(const struct dune_layout *l, uint64_t hva)
{
	uint64_t p = l->phys_limit;

	/* the stack window first: it may share its GiB with the map window */
	if (hva >= l->base_stack && hva - l->base_stack < DUNE_GPA_STACK_SIZE)
		return (int64_t)(DUNE_GPA_STACK_START(p) + (hva - l->base_stack));
	if (hva >= l->base_map && hva - l->base_map < DUNE_GPA_MAP_SIZE)
		return (int64_t)(DUNE_GPA_MAP_START(p) + (hva - l->base_map));
	if (hva < DUNE_GPA_IDENTITY_END(p))
		return (int64_t)hva;
	return -1;
}

static uint64_t *pt_alloc(struct abi_vm *vm)
{
	uint64_t *t;

	if (vm->pt_used + 4096 > vm->pt_size)
		return NULL;
	t = (uint64_t *)(vm->pt_pool + vm->pt_used);
	vm->pt_used += 4096;
	memset(t, 0, 4096);
	return t;
}

/* Host address of the table an entry points to (tables live in the pool). */
static uint64_t *pt_next(struct abi_vm *vm, uint64_t *e)
{
	int64_t gpa;
	uint64_t *t;

	if (*e & PTE_P) {
		/* find it back in the pool: the pool is one mapping */
		gpa = abi_hva_to_gpa(&vm->layout, (uint64_t)(uintptr_t)vm->pt_pool);
		return (uint64_t *)(vm->pt_pool + ((*e & PTE_ADDR) - (uint64_t)gpa));
	}
	t = pt_alloc(vm);
	if (!t)
		return NULL;
	gpa = abi_hva_to_gpa(&vm->layout, (uint64_t)(uintptr_t)t);
	*e = ((uint64_t)gpa & PTE_ADDR) | PTE_P | PTE_W;
	return t;
}

int abi_vm_map_gpa(struct abi_vm *vm, uint64_t gva, uint64_t gpa, uint64_t len)
{
	uint64_t va, end = gva + len;
	uint64_t *pdpt, *pd;

	if ((gva | gpa) & (MIB2 - 1))
		return -EINVAL;
	for (va = gva; va < end; va += MIB2, gpa += MIB2) {
		pdpt = pt_next(vm, &vm->pml4[(va >> 39) & 511]);
		if (!pdpt)
			return -ENOMEM;
		pd = pt_next(vm, &pdpt[(va >> 30) & 511]);
		if (!pd)
			return -ENOMEM;
		pd[(va >> 21) & 511] = gpa | PTE_P | PTE_W | PTE_PS;
	}
	return 0;
}

int abi_vm_map(struct abi_vm *vm, uint64_t va, uint64_t len)
{
	uint64_t start = va & ~(MIB2 - 1), end = (va + len + MIB2 - 1) & ~(MIB2 - 1);
	int64_t gpa;
	int r;

	for (va = start; va < end; va += MIB2) {
		gpa = abi_hva_to_gpa(&vm->layout, va);
		if (gpa < 0)
			return -ERANGE;
		r = abi_vm_map_gpa(vm, va, (uint64_t)gpa, MIB2);
		if (r)
			return r;
	}
	return 0;
}

void abi_vm_setup(struct abi_vm *vm)
{
	const struct dune_layout *l = &vm->layout;
	uint64_t idend;
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = abi_open();
	CT_ASSERT(vm->fd >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	r = ioctl(vm->fd, DUNE_GET_LAYOUT, &vm->layout);
	CT_ASSERT(r == 0, "DUNE_GET_LAYOUT: %s", strerror(errno));
	CT_ASSERT(l->phys_limit >= (1ULL << 36) && !(l->phys_limit & (l->phys_limit - 1)),
		  "DUNE_GET_LAYOUT: phys_limit %#llx is not a power of two >= 64 GiB",
		  (unsigned long long)l->phys_limit);

	vm->pt_size = PT_POOL_PAGES * 4096;
	vm->pt_pool = mmap(NULL, vm->pt_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(vm->pt_pool != MAP_FAILED, "mmap page-table pool: %s", strerror(errno));
	CT_ASSERT(abi_hva_to_gpa(l, (uint64_t)(uintptr_t)vm->pt_pool) >= 0 &&
		  abi_hva_to_gpa(l, (uint64_t)(uintptr_t)vm->pt_pool + vm->pt_size - 1) >= 0,
		  "mmap(NULL) gave %p, outside the layout's map window [%#llx, +63 GiB)",
		  (void *)vm->pt_pool, (unsigned long long)l->base_map);
	vm->pml4 = pt_alloc(vm);

	vm->code_size = (size_t)(__stop_abi_guest_text - __start_abi_guest_text);
	CT_ASSERT(vm->code_size <= CODE_MAX, "guest code is %zu bytes", vm->code_size);
	vm->code = mmap(NULL, CODE_MAX, PROT_READ | PROT_WRITE | PROT_EXEC,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(vm->code != MAP_FAILED, "mmap code: %s", strerror(errno));
	memcpy(vm->code, __start_abi_guest_text, vm->code_size);

	vm->stack_size = STACK_SIZE;
	vm->stack = mmap(NULL, vm->stack_size, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(vm->stack != MAP_FAILED, "mmap stack: %s", strerror(errno));

	/* the whole map and stack windows, and the low identity window */
	r = abi_vm_map(vm, l->base_map, DUNE_GPA_MAP_SIZE);
	CT_ASSERT(r == 0, "mapping the mmap window: %d", r);
	r = abi_vm_map(vm, l->base_stack, DUNE_GPA_STACK_SIZE);
	CT_ASSERT(r == 0, "mapping the stack window: %d", r);
	idend = DUNE_GPA_IDENTITY_END(l->phys_limit);
	if (idend > 4 * GIB)
		idend = 4 * GIB;
	if (idend) {
		r = abi_vm_map(vm, 0, idend);
		CT_ASSERT(r == 0, "mapping the identity window: %d", r);
	}
	CT_ASSERT(abi_hva_to_gpa(l, (uint64_t)(uintptr_t)vm->code) >= 0 &&
		  abi_hva_to_gpa(l, (uint64_t)(uintptr_t)vm->stack) >= 0,
		  "code %p / stack %p outside the layout", (void *)vm->code,
		  (void *)vm->stack);
}

uint64_t abi_gva(const struct abi_vm *vm, const unsigned char *label)
{
	return (uint64_t)(uintptr_t)vm->code +
	       (uint64_t)(label - __start_abi_guest_text);
}

void abi_conf(const struct abi_vm *vm, struct dune_config *c,
	      const unsigned char *entry)
{
	memset(c, 0, sizeof(*c));
	c->rip = abi_gva(vm, entry);
	c->rsp = (uint64_t)(uintptr_t)(vm->stack + vm->stack_size - 64);
	c->rflags = 0x2;
	c->cr3 = (uint64_t)abi_hva_to_gpa(&vm->layout, (uint64_t)(uintptr_t)vm->pml4);
}

int abi_enter(const struct abi_vm *vm, struct dune_config *c)
{
	return ioctl(vm->fd, DUNE_ENTER, c) ? -errno : 0;
}

int abi_run(const struct abi_vm *vm, struct dune_config *c, int max_signals,
	    int *nsignals)
{
	int r, n = 0;

	for (;;) {
		r = abi_enter(vm, c);
		if (r || c->ret != DUNE_RET_SIGNAL)
			break;
		if (++n > max_signals)
			break;
	}
	if (nsignals)
		*nsignals = n;
	return r;
}

const char *abi_ret_name(int64_t ret)
{
	static const char *const names[] = {
		"0 (none)", "EXIT", "EPT_VIOLATION", "INTERRUPT", "SIGNAL",
		"UNHANDLED_VMEXIT", "NOENTER",
	};

	if (ret >= 0 && ret < (int64_t)(sizeof(names) / sizeof(names[0])))
		return names[ret];
	return "unknown";
}

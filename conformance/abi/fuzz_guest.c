// SPDX-License-Identifier: MIT
/*
 * fuzz_guest.c - guests with random register states and random code on
 * raw /dev/dune (abi.fuzz.guest), random hypercall sequences whose results
 * are checked (abi.fuzz.hypercall), and the regression cases of module bugs
 * the fuzzing found (abi.regress.*).
 *
 * The guests run on page tables of our own (struct fz_vm): a code page
 * (read-only to the guest), data and stack pages, a 2 MiB region and some
 * read-only "weird" pages (PROT_NONE memory, a hole, a shared file page,
 * [vvar], [vdso], the executable, the page tables, GPAs nothing backs, ...),
 * at guest-virtual addresses that change per batch: low, the top of the user
 * half, the bottom of the kernel half, the very top of the address space.
 * Nothing else is mapped, so the only bytes a guest can execute are ours,
 * and they never hold a VMCALL (fuzz_scrub): a random system call could
 * hurt the test process.  The workers also run as nobody.
 */
#include "fuzz.h"
#include "abi_util.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NWEIRD		12
#define POOL_PAGES	48
#define BUF_PAGES	4
#define NSPARE_FDS	4
#define FZ_BIG_SIZE	(2UL << 20)

#define FZ_PTE_P	0x001ULL
#define FZ_PTE_W	0x002ULL
#define FZ_PTE_U	0x004ULL
#define FZ_PTE_PS	0x080ULL
#define FZ_PTE_ADDR	0x000ffffffffff000ULL

/* struct dune_config offset of each GPR in x86 encoding order (rax rcx
 * rdx rbx rsp rbp rsi rdi r8..r15), the numbers fz_mov_imm() takes */
static const size_t cfg_off[16] = {
	DUNE_CFG_RAX, DUNE_CFG_RCX, DUNE_CFG_RDX, DUNE_CFG_RBX, DUNE_CFG_RSP, DUNE_CFG_RBP,
	DUNE_CFG_RSI, DUNE_CFG_RDI, DUNE_CFG_R8, DUNE_CFG_R9, DUNE_CFG_R10, DUNE_CFG_R11,
	DUNE_CFG_R12, DUNE_CFG_R13, DUNE_CFG_R14, DUNE_CFG_R15,
};

static uint64_t gpr(const struct dune_config *c, unsigned int reg)
{
	uint64_t v;

	memcpy(&v, (const char *)c + cfg_off[reg], 8);
	return v;
}

static void set_gpr(struct dune_config *c, unsigned int reg, uint64_t v)
{
	memcpy((char *)c + cfg_off[reg], &v, 8);
}

struct fz_vm {
	int fd;
	struct dune_layout layout;
	uint8_t *pool;			/* page tables */
	size_t pool_used;
	int64_t pool_gpa;
	uint64_t *pml4;
	uint64_t cr3;
	uint8_t *code, *data, *stack, *big, *buf;	/* host side */
	struct fz_addrs a;		/* guest side */
	uint64_t weird_gpa[NWEIRD];
	const char *weird_what[NWEIRD];
	uint64_t pte_user;
	const char *layout_name;
	int spare[NSPARE_FDS];		/* more open files, for workers that drop root */
	unsigned int nspare;
	char err[160];
};

static int64_t fz_gpa(const struct fz_vm *vm, const void *p)
{
	return abi_hva_to_gpa(&vm->layout, (uint64_t)(uintptr_t)p);
}

static uint64_t *pt_alloc(struct fz_vm *vm)
{
	uint64_t *t;

	if (vm->pool_used + FZ_PAGE > POOL_PAGES * FZ_PAGE)
		return NULL;
	t = (uint64_t *)(vm->pool + vm->pool_used);
	vm->pool_used += FZ_PAGE;
	memset(t, 0, FZ_PAGE);
	return t;
}

static uint64_t *pt_next(struct fz_vm *vm, uint64_t *e)
{
	uint64_t *t;

	if (*e & FZ_PTE_P) {
		if (*e & FZ_PTE_PS)
			return NULL;
		return (uint64_t *)(vm->pool + ((*e & FZ_PTE_ADDR) - (uint64_t)vm->pool_gpa));
	}
	t = pt_alloc(vm);
	if (!t)
		return NULL;
	*e = ((uint64_t)fz_gpa(vm, t) & FZ_PTE_ADDR) | FZ_PTE_P | FZ_PTE_W | vm->pte_user;
	return t;
}

/* map one 4 KiB (@big false) or 2 MiB page */
static int fz_map(struct fz_vm *vm, uint64_t gva, uint64_t gpa, bool big, uint64_t flags)
{
	uint64_t *pdpt, *pd, *pt;

	pdpt = pt_next(vm, &vm->pml4[(gva >> 39) & 511]);
	pd = pdpt ? pt_next(vm, &pdpt[(gva >> 30) & 511]) : NULL;
	if (!pd)
		return -ENOMEM;
	if (big) {
		pd[(gva >> 21) & 511] = (gpa & FZ_PTE_ADDR) | FZ_PTE_PS | flags | vm->pte_user;
		return 0;
	}
	pt = pt_next(vm, &pd[(gva >> 21) & 511]);
	if (!pt)
		return -ENOMEM;
	pt[(gva >> 12) & 511] = (gpa & FZ_PTE_ADDR) | flags | vm->pte_user;
	return 0;
}

static void *map_anon(size_t len, int prot)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* start of the /proc/self/maps line that ends with @name, or 0 */
static uint64_t maps_find(const char *name)
{
	FILE *m = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t lo = 0;

	if (!m)
		return 0;
	while (fgets(line, sizeof(line), m)) {
		line[strcspn(line, "\n")] = '\0';
		if (strlen(line) >= strlen(name) && !strcmp(line + strlen(line) - strlen(name), name)) {
			lo = strtoull(line, NULL, 16);
			break;
		}
	}
	fclose(m);
	return lo;
}

struct layout {
	const char *name;
	uint64_t small, code, big;
};

static const struct layout layouts[] = {
	{ "low", 0x200000, 0x208000, 0x600000 },
	{ "user-top", 0x00007fffffe00000ULL, 0x00007ffffffff000ULL, 0x00007fffff800000ULL },
	{ "kernel-bottom", 0xffff800000000000ULL, 0xffff800000008000ULL, 0xffff800000400000ULL },
	{ "top", 0xffffffffffe00000ULL, 0xfffffffffffff000ULL, 0xffffffffff800000ULL },
};

/*
 * Open the device, allocate and map everything.  @identity: code, data,
 * stack and buffers at their host addresses (hypercall pointers are host
 * VAs); otherwise a layout picked with @r, plus the big and weird pages.
 * @user: U bit in every entry (guests that go to ring 3).  Returns 0 or
 * -errno with vm->err set.
 */
static int fz_vm_init(struct fz_vm *vm, struct fuzz_rng *r, bool identity, bool user)
{
	const struct layout *lay = &layouts[fuzz_below(r, sizeof(layouts) / sizeof(layouts[0]))];
	uint8_t *bigmap, *p;
	int mfd, efd, i;
	uint64_t g;

	memset(vm, 0, sizeof(*vm));
	vm->pte_user = user ? FZ_PTE_U : 0;
#define FAIL(...) do { snprintf(vm->err, sizeof(vm->err), __VA_ARGS__); return -EIO; } while (0)
	vm->fd = abi_open();
	if (vm->fd < 0)
		FAIL("open %s: %s", abi_dev_path(), strerror(errno));
	if (ioctl(vm->fd, DUNE_GET_LAYOUT, &vm->layout))
		FAIL("DUNE_GET_LAYOUT: %s", strerror(errno));
	while (vm->nspare < NSPARE_FDS && (vm->spare[vm->nspare] = abi_open()) >= 0)
		vm->nspare++;
	vm->pool = map_anon(POOL_PAGES * FZ_PAGE, PROT_READ | PROT_WRITE);
	vm->code = map_anon(2 * FZ_PAGE, PROT_READ | PROT_WRITE);
	vm->data = map_anon(FZ_PAGE, PROT_READ | PROT_WRITE);
	vm->stack = map_anon(FZ_PAGE, PROT_READ | PROT_WRITE);
	vm->buf = map_anon(BUF_PAGES * FZ_PAGE, PROT_READ | PROT_WRITE);
	bigmap = map_anon(2 * FZ_BIG_SIZE, PROT_READ | PROT_WRITE);
	if (!vm->pool || !vm->code || !vm->data || !vm->stack || !vm->buf || !bigmap)
		FAIL("mmap: %s", strerror(errno));
	vm->big = (uint8_t *)(((uintptr_t)bigmap + FZ_BIG_SIZE - 1) & ~(FZ_BIG_SIZE - 1));
	madvise(vm->big, FZ_BIG_SIZE, MADV_HUGEPAGE);
	vm->pool_gpa = fz_gpa(vm, vm->pool);
	if (vm->pool_gpa < 0 || fz_gpa(vm, vm->code) < 0 || fz_gpa(vm, vm->data) < 0 ||
	    fz_gpa(vm, vm->stack) < 0 || fz_gpa(vm, vm->big) < 0 || fz_gpa(vm, vm->buf) < 0)
		FAIL("a buffer is outside the layout's windows");
	vm->pml4 = pt_alloc(vm);
	vm->cr3 = (uint64_t)vm->pool_gpa;

	if (identity) {
		vm->layout_name = "identity";
		vm->a.code = (uintptr_t)vm->code;
		vm->a.data = (uintptr_t)vm->data;
		vm->a.stack = (uintptr_t)vm->stack;
		if (fz_map(vm, vm->a.code, (uint64_t)fz_gpa(vm, vm->code), false, FZ_PTE_P) ||
		    fz_map(vm, vm->a.data, (uint64_t)fz_gpa(vm, vm->data), false, FZ_PTE_P | FZ_PTE_W) ||
		    fz_map(vm, vm->a.stack, (uint64_t)fz_gpa(vm, vm->stack), false, FZ_PTE_P | FZ_PTE_W))
			FAIL("page-table pool too small");
		for (i = 0; i < BUF_PAGES; i++)
			if (fz_map(vm, (uintptr_t)vm->buf + i * FZ_PAGE,
				   (uint64_t)fz_gpa(vm, vm->buf + i * FZ_PAGE), false, FZ_PTE_P | FZ_PTE_W))
				FAIL("page-table pool too small");
		vm->a.cr3 = vm->cr3;
		return 0;
	}

	vm->layout_name = lay->name;
	vm->a.code = lay->code;
	vm->a.data = lay->small + 0x2000;
	vm->a.stack = lay->small + 0x4000;
	vm->a.big = lay->big;
	vm->a.big_size = FZ_BIG_SIZE;
	vm->a.weird = lay->small + 0x10000;
	vm->a.nweird = NWEIRD;
	vm->a.cr3 = vm->cr3;

	/* the weird pages: read-only views of odd guest-physical addresses */
	p = mmap(NULL, FZ_PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	vm->weird_gpa[0] = (uint64_t)fz_gpa(vm, p), vm->weird_what[0] = "PROT_NONE page";
	p = map_anon(FZ_PAGE, PROT_READ);
	if (p)
		munmap(p, FZ_PAGE);
	vm->weird_gpa[1] = (uint64_t)fz_gpa(vm, p), vm->weird_what[1] = "unmapped hole";
	mfd = memfd_create("fuzz", MFD_CLOEXEC);
	p = NULL;
	if (mfd >= 0 && ftruncate(mfd, FZ_PAGE) == 0)
		p = mmap(NULL, FZ_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (p && p != MAP_FAILED)
		p[0] = 1;
	vm->weird_gpa[2] = p && p != MAP_FAILED ? (uint64_t)fz_gpa(vm, p) : 0;
	vm->weird_what[2] = "shared memfd page";
	p = map_anon(FZ_PAGE, PROT_READ);
	vm->weird_gpa[3] = (uint64_t)fz_gpa(vm, p), vm->weird_what[3] = "read-only zero page";
	g = maps_find("[vvar]");
	vm->weird_gpa[4] = g ? (uint64_t)abi_hva_to_gpa(&vm->layout, g) : 0, vm->weird_what[4] = "[vvar]";
	g = maps_find("[vdso]");
	vm->weird_gpa[5] = g ? (uint64_t)abi_hva_to_gpa(&vm->layout, g) : 0, vm->weird_what[5] = "[vdso]";
	efd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	p = efd >= 0 ? mmap(NULL, FZ_PAGE, PROT_READ, MAP_PRIVATE, efd, 0) : MAP_FAILED;
	vm->weird_gpa[6] = p != MAP_FAILED ? (uint64_t)fz_gpa(vm, p) : 0;
	vm->weird_what[6] = "file page (the executable)";
	vm->weird_gpa[7] = vm->cr3, vm->weird_what[7] = "the PML4";
	vm->weird_gpa[8] = 0x1000, vm->weird_what[8] = "identity GPA 0x1000";
	vm->weird_gpa[9] = vm->layout.phys_limit - FZ_PAGE, vm->weird_what[9] = "last GPA page";
	vm->weird_gpa[10] = fuzz_below(r, vm->layout.phys_limit), vm->weird_what[10] = "random GPA";
	vm->weird_gpa[11] = (uint64_t)fz_gpa(vm, &g), vm->weird_what[11] = "the worker's stack";

	if (fz_map(vm, vm->a.code, (uint64_t)fz_gpa(vm, vm->code), false, FZ_PTE_P) ||
	    fz_map(vm, vm->a.data, (uint64_t)fz_gpa(vm, vm->data), false, FZ_PTE_P | FZ_PTE_W) ||
	    fz_map(vm, vm->a.stack, (uint64_t)fz_gpa(vm, vm->stack), false, FZ_PTE_P | FZ_PTE_W) ||
	    fz_map(vm, vm->a.big, (uint64_t)fz_gpa(vm, vm->big), true, FZ_PTE_P | FZ_PTE_W))
		FAIL("page-table pool too small");
	for (i = 0; i < NWEIRD; i++) {
		if ((int64_t)vm->weird_gpa[i] < 0)
			vm->weird_gpa[i] = vm->layout.phys_limit + FZ_PAGE;	/* beyond */
		if (fz_map(vm, vm->a.weird + (uint64_t)i * FZ_PAGE, vm->weird_gpa[i] & ~(FZ_PAGE - 1),
			   false, FZ_PTE_P))
			FAIL("page-table pool too small");
	}
#undef FAIL
	return 0;
}

static const char *ret_short(int64_t ret)
{
	return abi_ret_name(ret);
}

/* Describe a config for the note. */
static void note_conf(struct fuzz *f, const struct dune_config *c)
{
	fuzz_note_more(f, " rip=%#llx rsp=%#llx rflags=%#llx cr3=%#llx vcpu=%llu"
		       " rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx rbp=%#llx"
		       " r8=%#llx r9=%#llx r10=%#llx r11=%#llx r12=%#llx r13=%#llx r14=%#llx r15=%#llx",
		       (unsigned long long)c->rip, (unsigned long long)c->rsp,
		       (unsigned long long)c->rflags, (unsigned long long)c->cr3,
		       (unsigned long long)c->vcpu, (unsigned long long)c->rax,
		       (unsigned long long)c->rbx, (unsigned long long)c->rcx,
		       (unsigned long long)c->rdx, (unsigned long long)c->rsi,
		       (unsigned long long)c->rdi, (unsigned long long)c->rbp,
		       (unsigned long long)c->r8, (unsigned long long)c->r9,
		       (unsigned long long)c->r10, (unsigned long long)c->r11,
		       (unsigned long long)c->r12, (unsigned long long)c->r13,
		       (unsigned long long)c->r14, (unsigned long long)c->r15);
}

static void note_code(struct fuzz *f, const uint8_t *code, size_t n)
{
	char hex[2 * 512 + 1];

	fuzz_hex(hex, sizeof(hex), code, n < 512 ? n : 512);
	fuzz_note_more(f, " code=%s%s", hex, n > 512 ? "..." : "");
}

/* ------------------------------------------------------------ abi.fuzz.guest */

enum {
	G_EPT, G_DB, G_BP, G_SIGNAL, G_UNHANDLED, G_NR
};
static const char *const guest_outcomes[G_NR] = {
	[G_EPT] = "EPT_VIOLATION", [G_DB] = "INTERRUPT(#DB)", [G_BP] = "INTERRUPT(#BP)",
	[G_SIGNAL] = "SIGNAL(run bound)", [G_UNHANDLED] = "UNHANDLED_VMEXIT",
};

static uint64_t pick_rflags(struct fuzz_rng *r)
{
	switch (fuzz_below(r, 8)) {
	case 0:
		return fuzz_next(r);			/* reserved bits: VM entry fails */
	case 1:
		return fuzz_value(r);
	case 2:
		return 0x2 | (fuzz_next(r) & 0x3f7fd5);	/* incl. TF, IOPL, NT, RF, VM, AC, ID */
	default:
		return 0x2 | (fuzz_next(r) & 0xcd5);	/* arithmetic flags, IF, DF */
	}
}

static uint64_t pick_cr3(struct fuzz_rng *r, const struct fz_vm *vm)
{
	switch (fuzz_below(r, 16)) {
	case 0:
		return (uint64_t)fz_gpa(vm, vm->data);	/* random page tables */
	case 1:
		return (uint64_t)fz_gpa(vm, vm->code);
	case 2:
		return vm->weird_gpa[fuzz_below(r, NWEIRD)];
	case 3:
		return fuzz_value(r);
	case 4:
		return vm->cr3 | (fuzz_next(r) & 0xfff);	/* PCID / PWT / PCD bits */
	case 5:
		return vm->cr3 | (1ULL << (52 + fuzz_below(r, 12)));
	case 6:
		return vm->layout.phys_limit + (fuzz_next(r) & 0xfffff000);
	default:
		return vm->cr3;
	}
}

static uint64_t pick_rip(struct fuzz_rng *r, const struct fz_vm *vm)
{
	switch (fuzz_below(r, 16)) {
	case 0:
		return fz_reg_value(r, &vm->a);
	case 1:
		return fuzz_value(r);
	case 2:
		return vm->a.data + fuzz_below(r, FZ_PAGE);	/* execute the data page */
	case 3:
		return vm->a.big + fuzz_below(r, FZ_BIG_SIZE);
	case 4:
	case 5:
		return vm->a.code + fuzz_below(r, FZ_PAGE);
	default:
		return vm->a.code;
	}
}

/* Give the guest random registers; RSP mostly on its stack. */
static void random_regs(struct fuzz_rng *r, const struct fz_vm *vm, struct dune_config *c)
{
	for (unsigned int i = 0; i < 16; i++)
		set_gpr(c, i, fz_reg_value(r, &vm->a));
	if (fuzz_chance(r, 7, 8))
		c->rsp = vm->a.stack + FZ_PAGE - 8 * fuzz_below(r, 64);
}

static void guest_worker(struct fuzz *f, uint64_t first, uint64_t end, void *arg)
{
	struct fuzz_rng br;
	struct fz_vm vm;
	struct fz_code code;
	uint64_t handle = 0, last_handle = 0;
	unsigned long nvcpus = 0;
	int dropped;

	(void)arg;
	fuzz_rng_init(&br, f, first);
	br.s ^= 0x6261746368ULL;	/* the batch's own stream */
	if (fz_vm_init(&vm, &br, false, fuzz_chance(&br, 3, 4)))
		fuzz_fail(f, first, "setup: %s", vm.err);
	/* the big region: random bytes in its first 256 KiB (once per
	 * batch: the emulator is slow), zeros after */
	for (size_t i = 0; i < FZ_BIG_SIZE / 8; i += 8) {
		uint64_t v = fuzz_next(&br);

		memcpy(vm.big + i, &v, 8);
	}
	fuzz_scrub(vm.big, FZ_BIG_SIZE / 8, false);
	dropped = fuzz_drop_root();
	fuzz_start_ticker();
	code.p = vm.code;
	code.cap = FZ_PAGE;

	for (uint64_t it = first; it < end; it++) {
		struct fuzz_rng r;
		struct dune_config c;
		unsigned long t0;
		bool reenter;
		int ret;

		fuzz_rng_init(&r, f, it);
		fz_program(&code, &r, &vm.a, 4 + fuzz_below(&r, 400), false);
		fz_fill_data(&r, vm.data, &vm.a);
		if (fuzz_chance(&r, 1, 2))
			memset(vm.stack, 0, FZ_PAGE);
		else
			fz_fill_data(&r, vm.stack, &vm.a);

		memset(&c, 0, sizeof(c));
		reenter = handle && fuzz_chance(&r, 1, 2);
		random_regs(&r, &vm, &c);
		c.rip = pick_rip(&r, &vm);
		c.rflags = pick_rflags(&r);
		c.cr3 = pick_cr3(&r, &vm);
		c.vcpu = reenter ? handle : 0;
		c.ret = fuzz_value(&r);
		c.status = fuzz_value(&r);
		fuzz_note(f, it, "%s vCPU, layout %s%s%s:", reenter ? "re-entered" : "new",
			  vm.layout_name, vm.pte_user ? " (U pages)" : "",
			  dropped ? " (still root)" : "");
		note_conf(f, &c);
		note_code(f, vm.code, code.n < 96 ? code.n : 96);

		t0 = fuzz_ticks();
		ret = ioctl(vm.fd, DUNE_ENTER, &c) ? -errno : 0;
		if (ret)
			fuzz_fail(f, it, "DUNE_ENTER failed with %d (%s); a bad guest must stop with a DUNE_RET_* code",
				  ret, strerror(-ret));
		if (reenter && c.vcpu != handle)
			fuzz_fail(f, it, "re-entered vCPU %llu came back as %llu",
				  (unsigned long long)handle, (unsigned long long)c.vcpu);
		if (!reenter) {
			if (c.vcpu == 0 || c.vcpu == last_handle)
				fuzz_fail(f, it, "new vCPU got handle %llu (previous %llu)",
					  (unsigned long long)c.vcpu, (unsigned long long)last_handle);
			handle = last_handle = c.vcpu;
			nvcpus++;
		}
		switch (c.ret) {
		case DUNE_RET_EPT_VIOLATION:
			fuzz_done(f, it, G_EPT);
			break;
		case DUNE_RET_INTERRUPT:
			if (c.status != 1 && c.status != 3)
				fuzz_fail(f, it, "INTERRUPT with vector %lld (only #DB 1 and #BP 3 are intercepted)",
					  (long long)c.status);
			fuzz_done(f, it, c.status == 1 ? G_DB : G_BP);
			break;
		case DUNE_RET_SIGNAL:
			if (fuzz_ticks() == t0)
				fuzz_fail(f, it, "SIGNAL without a signal (no SIGALRM came)");
			fuzz_done(f, it, G_SIGNAL);
			break;
		case DUNE_RET_UNHANDLED_VMEXIT:
			fuzz_done(f, it, G_UNHANDLED);
			break;
		default:
			fuzz_fail(f, it, "the run ended with ret %lld (%s) status %lld rip %#llx: this code has no VMCALL, "
				  "so only EPT_VIOLATION, INTERRUPT, SIGNAL and UNHANDLED_VMEXIT are possible",
				  (long long)c.ret, ret_short(c.ret), (long long)c.status,
				  (unsigned long long)c.rip);
		}
		/* sometimes let go of all vCPUs at once (release with vCPUs) */
		if (nvcpus >= 8 && vm.nspare && fuzz_chance(&r, 1, 8)) {
			close(vm.fd);
			vm.fd = vm.spare[--vm.nspare];
			handle = 0;
			nvcpus = 0;
		}
	}
	close(vm.fd);
}

/*
 * A guest writes 0 to CR8.  On a module that lets MOV to CR8 through, the
 * guest writes the host CPU's TPR: 0 is harmless, 15 would block every
 * interrupt on that CPU.  Returns the run's ret (UNHANDLED_VMEXIT when the
 * write exits, as it must), or -errno.
 */
static int64_t cr8_probe(uint64_t value, uint64_t *rbx_after, uint64_t *rip, uint64_t *rip_want);

CTEST(fuzz_guest,
      .id = "abi.fuzz.guest",
      .profile = "robustness",
      .what = "random guest register states (GPRs, RIP, RSP, RFLAGS, CR3 mostly garbage, some plausible) and random code pages (random bytes mixed with control/debug-register, MSR, I/O, descriptor-table, VMX, XSAVE, interrupt and ring-change instructions) on new and re-entered vCPUs: every run ends with EPT_VIOLATION, INTERRUPT (#DB/#BP), SIGNAL (run bound) or UNHANDLED_VMEXIT, never an error or a hang; then the kernel log is clean and the module still works",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 90,
      .destructive = "its random code executes HLT and its first probe writes CR8: on the original a host hang or a write into host physical page 0")
{
	struct fuzz f;
	uint64_t rbx, rip, want;
	int64_t pr;

	/* before any random code: CR8 writes must not reach the host's TPR */
	pr = cr8_probe(0, &rbx, &rip, &want);
	CT_ASSERT(pr == DUNE_RET_UNHANDLED_VMEXIT,
		  "a guest MOV to CR8 did not stop the run (ret %lld): random CR8 values could block the host's interrupts, not fuzzing (see abi.regress.cr8_tpr)",
		  (long long)pr);
	for (unsigned int s = 0; fuzz_begin(&f, s, "abi.fuzz.guest", 300, 40, guest_outcomes, G_NR); s++) {
		fuzz_run(&f, 40, guest_worker, NULL, NULL);
		fuzz_end(&f);
	}
	fuzz_check_module();
}

/* ------------------------------------------------------------ abi.fuzz.hypercall */

#define NR_read			0
#define NR_write		1
#define NR_close		3
#define NR_ioctl		16
#define NR_sched_yield		24
#define NR_getpid		39
#define NR_kill			62
#define NR_uname		63
#define NR_getuid		102
#define NR_getgid		104
#define NR_geteuid		107
#define NR_getegid		108
#define NR_getppid		110
#define NR_getpgrp		111
#define NR_getsid		124
#define NR_sigaltstack		131
#define NR_iopl			172
#define NR_gettid		186
#define NR_restart_syscall	219
#define NR_clock_gettime	228
#define NR_exit_group		231
#define NR_getcpu		309
#define NR_getrandom		318
#define NR_clone3		435

#define MAX_CALLS	12
#define RESULT_OFF	0x100	/* results in the data page */

enum check {
	CK_EQ,		/* rax == want */
	CK_UNAME,	/* 0 and the buffer says Linux */
	CK_LAYOUT,	/* 0 and the buffer holds the layout */
	CK_RANDOM,	/* want (the length) or -EAGAIN */
};

struct call {
	uint64_t nr, args[6];
	int64_t want;
	enum check check;
	const char *name;
	uint64_t buf;
};

static uint64_t bad_pointer(struct fuzz_rng *r)
{
	static const uint64_t bad[] = {
		0, 1, 0xfff, 0xffffffff81000000ULL, 0xffff888000000000ULL, 0x0000800000000000ULL,
		0xdead000000000000ULL, 0x00007ffffffff000ULL, ~0ULL - 15,
	};

	return FUZZ_PICK(r, bad);
}

/* a file descriptor number nothing uses (the high bits are ignored) */
static uint64_t bad_fd(struct fuzz_rng *r)
{
	uint64_t fd = 1000 + fuzz_below(r, 100000);

	if (fuzz_chance(r, 1, 4))
		fd |= fuzz_next(r) << 32;	/* the kernel truncates to unsigned int */
	if (fuzz_chance(r, 1, 8))
		fd = ~0ULL;
	return fd;
}

struct hc_ctx {
	int devnull;
	long lstar;
	pid_t pid, tid, ppid, pgrp, sid;
	uid_t uid, euid;
	gid_t gid, egid;
};

static void make_call(struct fuzz_rng *r, const struct fz_vm *vm, const struct hc_ctx *x,
		      unsigned int k, struct call *cl)
{
	uint64_t buf = (uintptr_t)vm->buf + k * 1024 + fuzz_below(r, 8) * 8;
	uint64_t len;

	for (int i = 0; i < 6; i++)
		cl->args[i] = fuzz_value(r);
	cl->check = CK_EQ;
	cl->buf = buf;
	switch (fuzz_below(r, 30)) {
	case 0: cl->nr = NR_getpid; cl->want = x->pid; cl->name = "getpid"; break;
	case 1: cl->nr = NR_gettid; cl->want = x->tid; cl->name = "gettid"; break;
	case 2: cl->nr = NR_getppid; cl->want = x->ppid; cl->name = "getppid"; break;
	case 3: cl->nr = NR_getuid; cl->want = x->uid; cl->name = "getuid"; break;
	case 4: cl->nr = NR_geteuid; cl->want = x->euid; cl->name = "geteuid"; break;
	case 5: cl->nr = NR_getgid; cl->want = x->gid; cl->name = "getgid"; break;
	case 6: cl->nr = NR_getegid; cl->want = x->egid; cl->name = "getegid"; break;
	case 7: cl->nr = NR_getpgrp; cl->want = x->pgrp; cl->name = "getpgrp"; break;
	case 8: cl->nr = NR_getsid; cl->args[0] = 0; cl->want = x->sid; cl->name = "getsid(0)"; break;
	case 9: cl->nr = NR_sched_yield; cl->want = 0; cl->name = "sched_yield"; break;
	case 10: cl->nr = NR_sigaltstack; cl->want = -EINVAL; cl->name = "sigaltstack (refused)"; break;
	case 11: cl->nr = NR_iopl; cl->want = -EINVAL; cl->name = "iopl (refused)"; break;
	case 12: cl->nr = NR_clone3; cl->want = -ENOSYS; cl->name = "clone3 (ENOSYS)"; break;
	case 13:
	case 14: {
		static const uint64_t nrs[] = {
			0x40000000 | NR_getpid, 0x100000000ULL | NR_getpid, 1ULL << 63 | NR_getpid,
			~0ULL, 0x7fffffff, 512, 1023, 0x80000000ULL,
		};

		cl->nr = fuzz_chance(r, 1, 2) ? FUZZ_PICK(r, nrs) : 512 + fuzz_below(r, 1ULL << 40);
		cl->want = -EINVAL;
		cl->name = "number beyond the table";
		break;
	}
	case 15:
		cl->nr = NR_uname; cl->args[0] = buf; cl->check = CK_UNAME; cl->want = 0;
		cl->name = "uname";
		break;
	case 16:
		cl->nr = NR_uname; cl->args[0] = bad_pointer(r); cl->want = -EFAULT;
		cl->name = "uname(bad pointer)";
		break;
	case 17:
		len = fuzz_below(r, 512);
		cl->nr = NR_getrandom; cl->args[0] = buf; cl->args[1] = len; cl->args[2] = 1; /* NONBLOCK */
		cl->want = (int64_t)len; cl->check = CK_RANDOM; cl->name = "getrandom";
		break;
	case 18:
		cl->nr = NR_getrandom; cl->args[0] = bad_pointer(r); cl->args[1] = 16; cl->args[2] = 1;
		cl->want = -EFAULT; cl->name = "getrandom(bad pointer)";
		break;
	case 19:
		len = fuzz_below(r, 1024);
		cl->nr = NR_write; cl->args[0] = (uint64_t)x->devnull | (fuzz_next(r) << 32);
		cl->args[1] = buf; cl->args[2] = len; cl->want = (int64_t)len;
		cl->name = "write(/dev/null)";
		break;
	case 20:
		cl->nr = NR_read; cl->args[0] = bad_fd(r); cl->args[1] = buf; cl->args[2] = 64;
		cl->want = -EBADF; cl->name = "read(bad fd)";
		break;
	case 21:
		cl->nr = NR_close; cl->args[0] = bad_fd(r); cl->want = -EBADF; cl->name = "close(bad fd)";
		break;
	case 22:
		/* DUNE_ENTER from inside the guest: refused (it would nest run loops) */
		cl->nr = NR_ioctl;
		cl->args[0] = (uint64_t)vm->fd | (fuzz_chance(r, 1, 4) ? fuzz_next(r) << 32 : 0);
		cl->args[1] = DUNE_ENTER | (fuzz_chance(r, 1, 4) ? fuzz_next(r) << 32 : 0);
		cl->args[2] = buf;
		cl->want = -EBUSY;
		cl->name = "ioctl(DUNE_ENTER) from the guest";
		break;
	case 23:
		cl->nr = NR_ioctl; cl->args[0] = (uint64_t)vm->fd; cl->args[1] = DUNE_GET_SYSCALL;
		cl->want = x->lstar; cl->name = "ioctl(DUNE_GET_SYSCALL)";
		break;
	case 24:
		cl->nr = NR_ioctl; cl->args[0] = (uint64_t)vm->fd; cl->args[1] = DUNE_GET_LAYOUT;
		cl->args[2] = buf; cl->want = 0; cl->check = CK_LAYOUT; cl->name = "ioctl(DUNE_GET_LAYOUT)";
		break;
	case 25: {
		/* a type-0xE9 ioctl the ABI does not define, on the device or /dev/null */
		uint32_t nr;

		do {
			nr = (uint32_t)fuzz_below(r, 256);
		} while ((nr >= 1 && nr <= 5) || nr == 0x40);
		cl->nr = NR_ioctl;
		cl->args[0] = (uint64_t)(fuzz_chance(r, 1, 2) ? vm->fd : x->devnull);
		cl->args[1] = (uint64_t)(0xe900 | nr) | ((uint64_t)fuzz_below(r, 4) << 30);
		cl->args[2] = buf; cl->want = -ENOTTY; cl->name = "ioctl(undefined number)";
		break;
	}
	case 26:
		cl->nr = NR_clock_gettime; cl->args[0] = 1; cl->args[1] = buf; cl->want = 0;
		cl->name = "clock_gettime(MONOTONIC)";
		break;
	case 27:
		cl->nr = NR_clock_gettime; cl->args[0] = 1000 + fuzz_below(r, 1000); cl->args[1] = buf;
		cl->want = -EINVAL; cl->name = "clock_gettime(bad clock)";
		break;
	case 28:
		cl->nr = NR_restart_syscall; cl->want = -EINTR; cl->name = "restart_syscall (nothing to restart)";
		break;
	default:
		if (fuzz_chance(r, 1, 2)) {
			cl->nr = NR_getcpu; cl->args[0] = buf; cl->args[1] = buf + 8; cl->args[2] = 0;
			cl->want = 0; cl->name = "getcpu";
		} else {
			cl->nr = NR_kill; cl->args[0] = (uint64_t)x->pid; cl->args[1] = 0;
			cl->want = 0; cl->name = "kill(self, 0)";
		}
		break;
	}
}

static const unsigned int arg_regs[6] = { 7 /* rdi */, 6 /* rsi */, 2 /* rdx */, 10, 8, 9 };

enum { H_EXIT, H_EXIT_REENTERED, H_SIGNALS, H_NR };
static const char *const hc_outcomes[H_NR] = {
	[H_EXIT] = "EXIT", [H_EXIT_REENTERED] = "EXIT(re-entered vCPU)",
	[H_SIGNALS] = "EXIT(after SIGNAL re-entries)",
};

static void hc_worker(struct fuzz *f, uint64_t first, uint64_t end, void *arg)
{
	struct fuzz_rng br;
	struct fz_vm vm;
	struct fz_code code;
	struct hc_ctx x;
	uint64_t handle = 0;

	(void)arg;
	fuzz_rng_init(&br, f, first);
	br.s ^= 0x6863616c6cULL;
	if (fz_vm_init(&vm, &br, true, false))
		fuzz_fail(f, first, "setup: %s", vm.err);
	x.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (x.devnull < 0)
		fuzz_fail(f, first, "open /dev/null: %s", strerror(errno));
	x.lstar = syscall(SYS_ioctl, vm.fd, DUNE_GET_SYSCALL, 0);
	fuzz_drop_root();
	x.pid = getpid();
	x.tid = (pid_t)syscall(SYS_gettid);
	x.ppid = getppid();
	x.pgrp = getpgrp();
	x.sid = getsid(0);
	x.uid = getuid();
	x.euid = geteuid();
	x.gid = getgid();
	x.egid = getegid();
	fuzz_start_ticker();
	code.p = vm.code;
	code.cap = FZ_PAGE;

	for (uint64_t it = first; it < end; it++) {
		struct fuzz_rng r;
		struct call calls[MAX_CALLS];
		struct dune_config c, in;
		uint64_t fin[16], status, exit_nr, after_exit;
		unsigned int n, k;
		bool reenter;
		int ret, sigs = 0;

		fuzz_rng_init(&r, f, it);
		n = 1 + (unsigned int)fuzz_below(&r, MAX_CALLS);
		code.n = 0;
		memset(vm.data, 0xa5, FZ_PAGE);
		fuzz_note(f, it, "%u calls:", n);
		for (k = 0; k < n; k++) {
			struct call *cl = &calls[k];

			if (code.n > 2800) {
				n = k;	/* the page is full enough */
				break;
			}
			make_call(&r, &vm, &x, k, cl);
			fuzz_note_more(f, " %s(nr %#llx, %#llx, %#llx, %#llx, %#llx, %#llx, %#llx) want %lld;",
				       cl->name, (unsigned long long)cl->nr,
				       (unsigned long long)cl->args[0], (unsigned long long)cl->args[1],
				       (unsigned long long)cl->args[2], (unsigned long long)cl->args[3],
				       (unsigned long long)cl->args[4], (unsigned long long)cl->args[5],
				       (long long)cl->want);
			/* noise in the registers the call does not read */
			for (unsigned int reg = 0; reg < 16; reg++)
				if (reg != 4 && fuzz_chance(&r, 1, 4))
					fz_mov_imm(&code, reg, fuzz_value(&r));
			for (int i = 0; i < 6; i++)
				fz_mov_imm(&code, arg_regs[i], cl->args[i]);
			fz_mov_imm(&code, 0, cl->nr);
			FZ_EMIT(&code, 0x0f, 0x01, 0xc1);		/* vmcall */
			fz_mov_imm(&code, 3, vm.a.data);
			FZ_EMIT(&code, 0x48, 0x89, 0x83);		/* mov %rax, disp32(%rbx) */
			{
				uint32_t d = RESULT_OFF + 8 * k;

				fz_emit(&code, &d, 4);
			}
		}
		/* the exit: every register but rax gets a known value */
		for (unsigned int reg = 0; reg < 16; reg++) {
			fin[reg] = fuzz_value(&r);
			if (reg == 4)
				continue;
			fz_mov_imm(&code, reg, fin[reg]);
		}
		exit_nr = fuzz_chance(&r, 1, 2) ? 60 : NR_exit_group;
		status = fin[7];
		fz_mov_imm(&code, 0, exit_nr);
		FZ_EMIT(&code, 0x0f, 0x01, 0xc1);
		after_exit = vm.a.code + code.n;
		FZ_EMIT(&code, 0x0f, 0x0b);
		if (code.n >= code.cap)
			fuzz_fail(f, it, "generated code does not fit in a page (%zu bytes)", code.n);
		memset(vm.code + code.n, 0xf4, code.cap - code.n);
		fuzz_note_more(f, " then %s(%#llx)", exit_nr == 60 ? "exit" : "exit_group",
			       (unsigned long long)status);

		memset(&c, 0, sizeof(c));
		reenter = handle && fuzz_chance(&r, 1, 2);
		c.rip = vm.a.code;
		c.rsp = vm.a.stack + FZ_PAGE - 64;
		c.rflags = 0x2 | (fuzz_next(&r) & 0xcd5);	/* no TF */
		c.cr3 = vm.cr3;
		c.vcpu = reenter ? handle : 0;
		for (unsigned int reg = 0; reg < 16; reg++)
			if (reg != 4)
				set_gpr(&c, reg, fuzz_value(&r));
		in = c;
		for (;;) {
			ret = ioctl(vm.fd, DUNE_ENTER, &c) ? -errno : 0;
			if (ret || c.ret != DUNE_RET_SIGNAL || ++sigs > 1000)
				break;
		}
		if (ret)
			fuzz_fail(f, it, "DUNE_ENTER failed: %d (%s)", ret, strerror(-ret));
		if (c.ret != DUNE_RET_EXIT)
			fuzz_fail(f, it, "the run ended with ret %lld (%s) status %lld at rip %#llx, not with the exit hypercall",
				  (long long)c.ret, ret_short(c.ret), (long long)c.status,
				  (unsigned long long)c.rip);
		if (reenter ? c.vcpu != handle : c.vcpu == 0)
			fuzz_fail(f, it, "vcpu handle %llu after %s %llu", (unsigned long long)c.vcpu,
				  reenter ? "re-entering" : "creating", (unsigned long long)in.vcpu);
		handle = c.vcpu;
		/* exit(int): the status is rdi's low 32 bits (the original
		 * stores an int; a module may keep all 64) */
		if ((uint32_t)c.status != (uint32_t)status)
			fuzz_fail(f, it, "exit status %#llx, want rdi's low 32 bits %#x (rdi %#llx)",
				  (unsigned long long)c.status, (uint32_t)status,
				  (unsigned long long)status);
		if (c.rip != after_exit)
			fuzz_fail(f, it, "rip %#llx after the exit hypercall, want %#llx",
				  (unsigned long long)c.rip, (unsigned long long)after_exit);
		if (c.rax != exit_nr || c.rsp != in.rsp)
			fuzz_fail(f, it, "rax %#llx rsp %#llx at the exit, want %#llx and %#llx",
				  (unsigned long long)c.rax, (unsigned long long)c.rsp,
				  (unsigned long long)exit_nr, (unsigned long long)in.rsp);
		for (unsigned int reg = 1; reg < 16; reg++) {
			if (reg == 4)
				continue;
			if (gpr(&c, reg) != fin[reg])
				fuzz_fail(f, it, "register %u is %#llx at the exit, the guest loaded %#llx",
					  reg, (unsigned long long)gpr(&c, reg),
					  (unsigned long long)fin[reg]);
		}
		for (k = 0; k < n; k++) {
			const struct call *cl = &calls[k];
			int64_t got;

			memcpy(&got, vm.data + RESULT_OFF + 8 * k, 8);
			switch (cl->check) {
			case CK_EQ:
				if (got != cl->want)
					fuzz_fail(f, it, "call %u %s returned %lld (%#llx), want %lld",
						  k, cl->name, (long long)got, (unsigned long long)got,
						  (long long)cl->want);
				break;
			case CK_UNAME:
				if (got != 0 || strcmp((const char *)(uintptr_t)cl->buf, "Linux"))
					fuzz_fail(f, it, "call %u uname returned %lld, sysname \"%.16s\"",
						  k, (long long)got, (const char *)(uintptr_t)cl->buf);
				break;
			case CK_LAYOUT:
				if (got != 0 || memcmp((const void *)(uintptr_t)cl->buf, &vm.layout,
						       sizeof(vm.layout)))
					fuzz_fail(f, it, "call %u DUNE_GET_LAYOUT from the guest returned %lld or a different layout",
						  k, (long long)got);
				break;
			case CK_RANDOM:
				if (got != cl->want && got != -EAGAIN)
					fuzz_fail(f, it, "call %u getrandom returned %lld, want %lld",
						  k, (long long)got, (long long)cl->want);
				break;
			}
		}
		fuzz_done(f, it, sigs ? H_SIGNALS : reenter ? H_EXIT_REENTERED : H_EXIT);
	}
	close(vm.fd);
}

CTEST(fuzz_hypercall,
      .id = "abi.fuzz.hypercall",
      .profile = "robustness",
      .what = "random sequences of harmless hypercalls with random argument registers (identity calls, refused numbers, numbers beyond the table or with high bits, bad pointers and descriptors, nested DUNE_ENTER, undefined ioctls) return what the host system call returns, keep every other register, and end with exit/exit_group whose status is rdi's low 32 bits (exit takes an int), on new and re-entered vCPUs",
      .needs = "dev-dune",
      .backends = "vmx",
      .timeout = 60)
{
	struct fuzz f;

	for (unsigned int s = 0; fuzz_begin(&f, s, "abi.fuzz.hypercall", 150, 25, hc_outcomes, H_NR); s++) {
		fuzz_run(&f, 50, hc_worker, NULL, NULL);
		fuzz_end(&f);
	}
	fuzz_check_module();
}

/* ------------------------------------------------------------ regressions */

/* Run @code (copied to the code page of an identity fz_vm with U pages) on
 * a new vCPU with rbx = @rbx; returns the ioctl result, config in @c. */
static int run_bytes(struct fz_vm *vm, const uint8_t *code, size_t n, uint64_t rbx,
		     struct dune_config *c)
{
	memset(vm->code, 0xf4, FZ_PAGE);
	memcpy(vm->code, code, n);
	memset(c, 0, sizeof(*c));
	c->rip = vm->a.code;
	c->rsp = vm->a.stack + FZ_PAGE - 64;
	c->rflags = 0x2;
	c->cr3 = vm->cr3;
	c->rbx = rbx;
	return ioctl(vm->fd, DUNE_ENTER, c) ? -errno : 0;
}

static void regress_vm(struct fz_vm *vm)
{
	struct fuzz_rng r = { .s = 1 };

	CT_ASSERT(fz_vm_init(vm, &r, true, true) == 0, "setup: %s", vm->err);
}

static int64_t cr8_probe(uint64_t value, uint64_t *rbx_after, uint64_t *rip, uint64_t *rip_want)
{
	struct fz_vm vm;
	struct fz_code c;
	struct dune_config conf;
	uint8_t buf[64];
	int r;

	regress_vm(&vm);
	c.p = buf;
	c.cap = sizeof(buf);
	c.n = 0;
	fz_mov_imm(&c, 0, value);
	*rip_want = vm.a.code + c.n;
	FZ_EMIT(&c, 0x44, 0x0f, 0x22, 0xc0);		/* mov %rax, %cr8 */
	FZ_EMIT(&c, 0x44, 0x0f, 0x20, 0xc3);		/* mov %cr8, %rbx */
	FZ_EMIT(&c, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x01, 0xc1, 0x0f, 0x0b);	/* exit(0) */
	r = run_bytes(&vm, buf, c.n, 0x5a5a, &conf);
	close(vm.fd);
	*rbx_after = conf.rbx;
	*rip = conf.rip;
	return r ? r : conf.ret;
}

CTEST(regress_cr8,
      .id = "abi.regress.cr8_tpr",
      .profile = "robustness",
      .what = "a guest MOV to or from CR8 stops the run with UNHANDLED_VMEXIT at that instruction: the guest never sets a task priority (TPR) the implementation does not handle (the host CPU's would block the host's interrupts; a hole found while writing the system-instruction templates of abi.fuzz.guest)",
      .needs = "dev-dune",
      .backends = "vmx",
      .destructive = "on a module that lets MOV to CR8 through with no virtual-APIC page (the original) the guest writes into host physical page 0")
{
	uint64_t rbx, rip, want;
	int64_t r;

	/* 1 blocks only vectors 0..31, which no device uses: harmless even
	 * on a module with the bug */
	r = cr8_probe(1, &rbx, &rip, &want);
	if (r == DUNE_RET_EXIT) {
		uint64_t rbx2, rip2, want2;

		cr8_probe(0, &rbx2, &rip2, &want2);	/* undo the write, wherever it went */
		CT_ASSERT(0, "MOV to CR8 did not exit: the guest wrote 1 to CR8, read back %#llx and ran on "
			  "to its exit",
			  (unsigned long long)rbx);
	}
	CT_EXPECT(r == DUNE_RET_UNHANDLED_VMEXIT, "ret %lld (%s), want UNHANDLED_VMEXIT", (long long)r,
		  r >= 0 ? abi_ret_name(r) : strerror((int)-r));
	CT_EXPECT(rip == want, "stopped at rip %#llx, want the MOV to CR8 at %#llx",
		  (unsigned long long)rip, (unsigned long long)want);
	CT_EXPECT(rbx == 0x5a5a, "rbx %#llx: the MOV from CR8 ran", (unsigned long long)rbx);
}

CTEST(regress_dr,
      .id = "abi.regress.mov_dr",
      .profile = "robustness",
      .what = "a guest MOV to or from a debug register stops the run with UNHANDLED_VMEXIT at that instruction: DR0-DR3 and DR6 are the host CPU's (VM exits do not switch them), so a guest must neither set nor read them (a hole found while writing the system-instruction templates of abi.fuzz.guest)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const struct {
		uint8_t insn[3];
		const char *what;
		bool write;
	} movs[] = {
		{ { 0x0f, 0x23, 0xc0 }, "mov %rax, %dr0", true },
		{ { 0x0f, 0x23, 0xf0 }, "mov %rax, %dr6", true },
		{ { 0x0f, 0x23, 0xf8 }, "mov %rax, %dr7", true },
		{ { 0x0f, 0x21, 0xc3 }, "mov %dr0, %rbx", false },
		{ { 0x0f, 0x21, 0xf3 }, "mov %dr6, %rbx", false },
	};
	struct fz_vm vm;
	unsigned int i;

	regress_vm(&vm);
	for (i = 0; i < sizeof(movs) / sizeof(movs[0]); i++) {
		struct dune_config conf;
		struct fz_code c;
		uint8_t buf[64];
		uint64_t at;
		int r;

		c.p = buf;
		c.cap = sizeof(buf);
		c.n = 0;
		/* a harmless value: DR7 stays 0x400 (nothing enabled), DR0 an address */
		fz_mov_imm(&c, 0, i == 2 ? 0x400 : i == 1 ? 0xffff0ff0 : 0x1000);
		at = vm.a.code + c.n;
		fz_emit(&c, movs[i].insn, 3);
		FZ_EMIT(&c, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x01, 0xc1, 0x0f, 0x0b);
		r = run_bytes(&vm, buf, c.n, 0x5a5a, &conf);
		CT_EXPECT(r == 0 && conf.ret == DUNE_RET_UNHANDLED_VMEXIT && conf.rip == at,
			  "%s: ioctl %d ret %lld (%s) rip %#llx rbx %#llx: want UNHANDLED_VMEXIT at %#llx",
			  movs[i].what, r, (long long)conf.ret, abi_ret_name(conf.ret),
			  (unsigned long long)conf.rip, (unsigned long long)conf.rbx,
			  (unsigned long long)at);
	}
	close(vm.fd);
}

CTEST(regress_ring3_vmcall,
      .id = "abi.regress.ring3_vmcall",
      .profile = "robustness",
      .what = "a VMCALL from guest ring 3 runs no host system call (system calls are the guest kernel's to make; a sandboxed ring-3 program would get past its ring-0 monitor otherwise): getpid from ring 3 faults or returns -errno (ours: -EPERM, as KVM does), never the pid",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct fz_vm vm;
	struct fz_code c;
	struct dune_config conf;
	uint8_t buf[256];
	uint64_t vmcall_at, fb;
	int r;

	regress_vm(&vm);
	memset(vm.data, 0, FZ_PAGE);
	{
		/* the GDT of fuzz.h: flat 64-bit ring-0 and ring-3 segments */
		static const uint64_t gdt[] = {
			0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
			0x00cff3000000ffffULL, 0x00affb000000ffffULL,
		};
		uint16_t lim = sizeof(gdt) - 1;
		uint64_t base = vm.a.data + FZ_GDT_OFF;

		memcpy(vm.data + FZ_GDT_OFF, gdt, sizeof(gdt));
		memcpy(vm.data + FZ_GDTR_OFF, &lim, 2);
		memcpy(vm.data + FZ_GDTR_OFF + 2, &base, 8);
	}
	c.p = buf;
	c.cap = sizeof(buf);
	c.n = 0;
	fz_mov_imm(&c, 3, vm.a.data + FZ_GDTR_OFF);
	FZ_EMIT(&c, 0x0f, 0x01, 0x13);			/* lgdt (%rbx) */
	fz_mov_imm(&c, 0, FZ_SEL_UDATA);
	FZ_EMIT(&c, 0x50);
	fz_mov_imm(&c, 0, vm.a.stack + FZ_PAGE - 128);
	FZ_EMIT(&c, 0x50);
	fz_mov_imm(&c, 0, 0x2);
	FZ_EMIT(&c, 0x50);
	fz_mov_imm(&c, 0, FZ_SEL_UCODE);
	FZ_EMIT(&c, 0x50);
	fb = c.n;
	fz_mov_imm(&c, 0, 0);				/* patched below: ring-3 entry */
	FZ_EMIT(&c, 0x50);
	fz_mov_imm(&c, 3, 0x5a5a);			/* rbx: marker */
	FZ_EMIT(&c, 0x48, 0xcf);			/* iretq */
	{
		uint64_t entry = vm.a.code + c.n;

		memcpy(buf + fb + 2, &entry, 8);
	}
	/* ring 3 */
	FZ_EMIT(&c, 0xb8, NR_getpid, 0, 0, 0);		/* mov $getpid, %eax */
	vmcall_at = vm.a.code + c.n;
	FZ_EMIT(&c, 0x0f, 0x01, 0xc1);			/* vmcall */
	FZ_EMIT(&c, 0x48, 0x89, 0xc3);			/* mov %rax, %rbx */
	FZ_EMIT(&c, 0xf4);				/* hlt: #GP in ring 3 */
	r = run_bytes(&vm, buf, c.n, 0, &conf);
	close(vm.fd);
	CT_ASSERT(r == 0, "DUNE_ENTER: %s", strerror(-r));
	ct_log("ret %lld (%s) rip %#llx rax %#llx rbx %#llx (the VMCALL is at %#llx)", (long long)conf.ret,
	       abi_ret_name(conf.ret), (unsigned long long)conf.rip, (unsigned long long)conf.rax,
	       (unsigned long long)conf.rbx, (unsigned long long)vmcall_at);
	CT_EXPECT(conf.rax != (uint64_t)getpid() && conf.rbx != (uint64_t)getpid(),
		  "the VMCALL from ring 3 ran getpid on the host (rax %#llx rbx %#llx)",
		  (unsigned long long)conf.rax, (unsigned long long)conf.rbx);
	/* refused: a fault at the VMCALL (rbx keeps the marker), or an error in rax */
	CT_EXPECT(conf.rbx == 0x5a5a || ((int64_t)conf.rbx < 0 && (int64_t)conf.rbx >= -4095),
		  "after the ring-3 VMCALL rbx is %#llx: neither the marker (a fault) nor -errno",
		  (unsigned long long)conf.rbx);
	CT_EXPECT(conf.ret != DUNE_RET_EXIT, "the run ended with EXIT");
}

CTEST(regress_ldt,
      .id = "abi.regress.ldt_limit",
      .profile = "robustness",
      .what = "the initial LDT is empty: a guest loading a segment selector with TI=1 gets #GP (no IDT: UNHANDLED_VMEXIT at that instruction), even when guest-virtual page 0 holds a valid descriptor (an LDT of 64 KiB at address 0 let guests, ring 3 included, load descriptors from there; found by api.fuzz.user_code)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const uint64_t flat_data = 0x00cf93000000ffffULL;
	struct fz_vm vm;
	struct fz_code c;
	struct dune_config conf;
	uint8_t buf[64];
	uint64_t at;
	int r;

	regress_vm(&vm);
	memcpy(vm.buf, &flat_data, 8);
	CT_ASSERT(fz_map(&vm, 0, (uint64_t)fz_gpa(&vm, vm.buf), false, FZ_PTE_P | FZ_PTE_W) == 0,
		  "mapping page 0");
	c.p = buf;
	c.cap = sizeof(buf);
	c.n = 0;
	FZ_EMIT(&c, 0xb8, 0x04, 0, 0, 0);		/* mov $4, %eax: LDT entry 0 */
	at = vm.a.code + c.n;
	FZ_EMIT(&c, 0x8e, 0xd8);			/* mov %eax, %ds */
	FZ_EMIT(&c, 0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x01, 0xc1, 0x0f, 0x0b);
	r = run_bytes(&vm, buf, c.n, 0, &conf);
	close(vm.fd);
	CT_ASSERT(r == 0, "DUNE_ENTER: %s", strerror(-r));
	CT_EXPECT(conf.ret != DUNE_RET_EXIT,
		  "the guest loaded %%ds from an LDT at guest-virtual 0 and went on to exit");
	CT_EXPECT(conf.ret == DUNE_RET_UNHANDLED_VMEXIT && conf.rip == at,
		  "ret %lld (%s) rip %#llx: want UNHANDLED_VMEXIT (the #GP) at %#llx",
		  (long long)conf.ret, abi_ret_name(conf.ret), (unsigned long long)conf.rip,
		  (unsigned long long)at);
}

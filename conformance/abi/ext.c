// SPDX-License-Identifier: MIT
/*
 * ext.c - dunebench extensions of the ABI (include/dune/abi.h, "dunebench
 * extension").  A module without them answers ENOTTY: these tests SKIP then.
 */
#include "abi_util.h"

#include <stdio.h>
#include <sys/auxv.h>
#include <sys/ioctl.h>

#define GIB	(1ULL << 30)

/* rbx = *r12; exit(0) */
ABI_GUEST(g_ext_load, "mov (%r12), %rbx\n" G_EXIT(0));

static volatile const uint64_t exec_marker = 0x45584543574e444fULL;

static int in_range(uint64_t x, uint64_t start, uint64_t size)
{
	return x >= start && x - start < size;
}

/* A guest on @vm (whose fd has the extension on) reads *@va == @want. */
static void guest_reads(struct abi_vm *vm, uint64_t va, uint64_t want, uint64_t mask,
			const char *what)
{
	struct dune_config c;
	int r;

	abi_conf(vm, &c, g_ext_load);
	c.r12 = va;
	r = abi_enter(vm, &c);
	CT_EXPECT(r == 0 && c.ret == DUNE_RET_EXIT,
		  "%s at %#llx: ioctl %d ret %lld (%s)", what, (unsigned long long)va, r,
		  (long long)c.ret, abi_ret_name(c.ret));
	if (r == 0 && c.ret == DUNE_RET_EXIT)
		CT_EXPECT((c.rbx & mask) == want, "%s at %#llx: read %#llx, want %#llx", what,
			  (unsigned long long)va, (unsigned long long)(c.rbx & mask),
			  (unsigned long long)want);
}

CTEST(ext_layout,
      .id = "abi.ext.layout",
      .profile = "vm",
      .what = "DUNE_LAYOUT_EXT (extension) reports the classic windows unchanged plus exec/vDSO windows at their fixed GPAs holding the executable and the vDSO, which a guest then reads",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_layout_ext e;
	const struct dune_layout *l = &vm.layout;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	uint64_t code = (uint64_t)(uintptr_t)&exec_marker;
	uint64_t p;
	int r;

	abi_vm_setup(&vm);
	p = l->phys_limit;
	memset(&e, 0, sizeof(e));
	e.flags = DUNE_LAYOUT_EXT_EXEC | DUNE_LAYOUT_EXT_VDSO;
	r = ioctl(vm.fd, DUNE_LAYOUT_EXT, &e);
	if (r && errno == ENOTTY)
		CT_SKIP("DUNE_LAYOUT_EXT answers ENOTTY: this module has no layout extension");
	CT_ASSERT(r == 0, "DUNE_LAYOUT_EXT: %s", strerror(errno));
	ct_log("flags %#llx identity_end %#llx exec %#llx->%#llx +%#llx vdso %#llx->%#llx +%#llx",
	       (unsigned long long)e.flags, (unsigned long long)e.identity_end,
	       (unsigned long long)e.exec_hva, (unsigned long long)e.exec_gpa,
	       (unsigned long long)e.exec_size, (unsigned long long)e.vdso_hva,
	       (unsigned long long)e.vdso_gpa, (unsigned long long)e.vdso_size);
	CT_EXPECT_EQ(e.flags & ~(DUNE_LAYOUT_EXT_EXEC | DUNE_LAYOUT_EXT_VDSO), 0);
	CT_EXPECT_EQ(e.phys_limit, l->phys_limit);
	CT_EXPECT_EQ(e.base_map, l->base_map);
	CT_EXPECT_EQ(e.base_stack, l->base_stack);
	CT_EXPECT_EQ(e.identity_end, DUNE_GPA_EXT_IDENTITY_END(p));

	if (e.flags & DUNE_LAYOUT_EXT_EXEC) {
		CT_EXPECT_EQ(e.exec_gpa, DUNE_GPA_EXEC_START(p));
		CT_EXPECT_EQ(e.exec_hva % GIB, 0);
		CT_EXPECT(e.exec_size && e.exec_size <= DUNE_GPA_EXEC_MAX,
			  "exec_size %#llx", (unsigned long long)e.exec_size);
		CT_EXPECT(in_range(code, e.exec_hva, e.exec_size),
			  "the executable's data (%#llx) is not in the exec window",
			  (unsigned long long)code);
		CT_ASSERT_EQ(abi_vm_map_gpa(&vm, e.exec_hva, e.exec_gpa, e.exec_size), 0);
	} else {
		CT_EXPECT(code < e.identity_end,
			  "no exec window, but the executable (%#llx) is above the identity window",
			  (unsigned long long)code);
	}
	if (e.flags & DUNE_LAYOUT_EXT_VDSO) {
		CT_EXPECT_EQ(e.vdso_gpa, DUNE_GPA_VDSO_START(p));
		CT_EXPECT_EQ(e.vdso_hva % GIB, 0);
		CT_EXPECT(vdso && in_range(vdso, e.vdso_hva, e.vdso_size),
			  "the vDSO (%#llx) is not in the vDSO window", (unsigned long long)vdso);
		CT_ASSERT_EQ(abi_vm_map_gpa(&vm, e.vdso_hva, e.vdso_gpa, e.vdso_size), 0);
	} else if (vdso) {
		CT_EXPECT(abi_hva_to_gpa(l, vdso) >= 0,
			  "no vDSO window, but the vDSO (%#llx) is outside the classic windows",
			  (unsigned long long)vdso);
	}

	/* a vCPU created now sees both through the windows */
	if (!(e.flags & DUNE_LAYOUT_EXT_EXEC) && code >= 4 * GIB)
		CT_ASSERT_EQ(abi_vm_map(&vm, code, 8), 0);
	guest_reads(&vm, code, exec_marker, ~0ULL, "the executable's data");
	if (vdso)
		guest_reads(&vm, vdso, 0x464c457f, 0xffffffffULL, "the vDSO's ELF magic");

	/* flags 0: back to the classic layout */
	memset(&e, 0, sizeof(e));
	CT_ASSERT(ioctl(vm.fd, DUNE_LAYOUT_EXT, &e) == 0, "DUNE_LAYOUT_EXT(0): %s", strerror(errno));
	CT_EXPECT_EQ(e.flags, 0);
	CT_EXPECT_EQ(e.identity_end, DUNE_GPA_IDENTITY_END(p));
}

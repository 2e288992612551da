// SPDX-License-Identifier: MIT
/*
 * bad.c - bad input to DUNE_ENTER: forged vCPU handles, a CR3 outside the
 * layout, a non-canonical RIP, a triple-faulting guest.  Each gets an error
 * (or a run that stops with UNHANDLED_VMEXIT/EPT_VIOLATION), and the test
 * process then still runs a good guest.
 */
#include "abi_util.h"

#include <stdio.h>
#include <unistd.h>

ABI_GUEST(g_ok, "mov $60, %eax\n mov $5, %edi\n vmcall\n ud2\n");
ABI_GUEST(g_ud2, "ud2\n");

/* After the bad input: a new vCPU on @vm still runs exit(5). */
static void still_works(struct abi_vm *vm)
{
	struct dune_config c;
	int r;

	abi_conf(vm, &c, g_ok);
	r = abi_enter(vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_EXPECT_EQ(c.status, 5);
}

CTEST(bad_vcpu_handle,
      .id = "abi.bad.vcpu_handle",
      .profile = "robustness",
      .what = "DUNE_ENTER with a vcpu handle this fd never gave out (next to a real one, a kernel-like pointer, all ones) fails with EINVAL and creates no vCPU",
      .needs = "dev-dune",
      .backends = "vmx",
      .destructive = "a forged vCPU handle is a kernel pointer the original module dereferences: it oopses the host kernel")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t real, forged[6];
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_ok);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	real = c.vcpu;
	CT_ASSERT(real != 0, "no handle for the real vCPU");
	forged[0] = real + 1;
	forged[1] = real + 0x1000;
	forged[2] = real ^ 0x8000000000000000ULL;
	forged[3] = 0xffff888000001000ULL;
	forged[4] = ~0ULL;
	forged[5] = 0xdead;
	for (i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		if (forged[i] == real)
			continue;
		abi_conf(&vm, &c, g_ok);
		c.vcpu = forged[i];
		c.ret = -1;
		r = abi_enter(&vm, &c);
		CT_EXPECT(r == -EINVAL, "handle %#llx: expected -1/EINVAL, got %d (%s) ret=%lld (%s) vcpu=%#llx",
			  (unsigned long long)forged[i], r, r ? strerror(-r) : "ok", (long long)c.ret,
			  abi_ret_name(c.ret), (unsigned long long)c.vcpu);
	}
	still_works(&vm);
}

CTEST(bad_vcpu_other_fd,
      .id = "abi.bad.vcpu_other_fd",
      .profile = "robustness",
      .what = "a real vcpu handle used on another open file of /dev/dune fails with EINVAL (handles belong to their fd)",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int fd2, r, fd1;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_ok);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_EXIT);
	CT_ASSERT(c.vcpu != 0, "no handle for the real vCPU");
	fd2 = abi_open();
	CT_ASSERT(fd2 >= 0, "open %s: %s", abi_dev_path(), strerror(errno));
	fd1 = vm.fd;
	vm.fd = fd2;
	c.rip = abi_gva(&vm, g_ok);
	r = abi_enter(&vm, &c);
	vm.fd = fd1;
	CT_EXPECT(r == -EINVAL, "expected -1/EINVAL, got %d (%s) ret=%lld (%s)", r,
		  r ? strerror(-r) : "ok", (long long)c.ret, abi_ret_name(c.ret));
	close(fd2);
	still_works(&vm);
}

CTEST(bad_cr3,
      .id = "abi.bad.cr3_outside",
      .profile = "robustness",
      .what = "a guest CR3 at an unbacked GPA, at phys_limit or beyond the physical address width fails the ioctl or stops the run with EPT_VIOLATION/UNHANDLED_VMEXIT",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t cr3[3];
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	cr3[0] = 0x1000;		/* identity GPA, nothing on the host */
	cr3[1] = vm.layout.phys_limit;	/* first invalid GPA */
	cr3[2] = 1ULL << 51;
	for (i = 0; i < 3; i++) {
		abi_conf(&vm, &c, g_ok);
		c.cr3 = cr3[i];
		c.ret = -1;
		r = abi_enter(&vm, &c);
		ct_log("cr3 %#llx: ioctl %d (%s), ret %lld (%s)", (unsigned long long)cr3[i], r,
		       r ? strerror(-r) : "ok", (long long)c.ret, abi_ret_name(c.ret));
		CT_EXPECT(r < 0 || c.ret == DUNE_RET_EPT_VIOLATION ||
			  c.ret == DUNE_RET_UNHANDLED_VMEXIT,
			  "cr3 %#llx: expected an error, EPT_VIOLATION or UNHANDLED_VMEXIT, got ioctl 0 ret=%lld (%s) status=%lld",
			  (unsigned long long)cr3[i], (long long)c.ret, abi_ret_name(c.ret),
			  (long long)c.status);
	}
	still_works(&vm);
}

CTEST(bad_rip,
      .id = "abi.bad.rip_noncanonical",
      .profile = "robustness",
      .what = "a non-canonical guest RIP fails the ioctl or stops the run with UNHANDLED_VMEXIT",
      .needs = "dev-dune",
      .backends = "vmx")
{
	static const uint64_t rips[] = { 0x0000800000000000ULL, 0xdead000000000000ULL };
	struct abi_vm vm;
	struct dune_config c;
	unsigned int i;
	int r;

	abi_vm_setup(&vm);
	for (i = 0; i < sizeof(rips) / sizeof(rips[0]); i++) {
		abi_conf(&vm, &c, g_ok);
		c.rip = rips[i];
		c.ret = -1;
		r = abi_enter(&vm, &c);
		ct_log("rip %#llx: ioctl %d (%s), ret %lld (%s)", (unsigned long long)rips[i], r,
		       r ? strerror(-r) : "ok", (long long)c.ret, abi_ret_name(c.ret));
		CT_EXPECT(r < 0 || c.ret == DUNE_RET_UNHANDLED_VMEXIT,
			  "rip %#llx: expected an error or UNHANDLED_VMEXIT, got ioctl 0 ret=%lld (%s)",
			  (unsigned long long)rips[i], (long long)c.ret, abi_ret_name(c.ret));
	}
	still_works(&vm);
}

CTEST(bad_triple_fault,
      .id = "abi.bad.triple_fault",
      .profile = "robustness",
      .what = "a guest that faults with no IDT (ud2 -> #GP -> #DF -> triple fault) stops the run with UNHANDLED_VMEXIT",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct abi_vm vm;
	struct dune_config c;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, g_ud2);
	r = abi_enter(&vm, &c);
	ABI_ASSERT_RET(r, &c, DUNE_RET_UNHANDLED_VMEXIT);
	still_works(&vm);
}

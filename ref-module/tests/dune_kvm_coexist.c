// SPDX-License-Identifier: GPL-2.0
/*
 * dune_kvm_coexist.c - dune.ko and kvm_intel share VMX: whoever has
 * guests holds VMX operation, the other one gets EBUSY until they are
 * gone (kvm_intel 6.1 enables VMX only while VMs exist).  Needs
 * kvm_intel loaded; otherwise every test is skipped.  TAP 13.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dune/abi.h>

#include "tap.h"

#define NTESTS 4

void coexist_guest_exit42(void);

asm(".text\n"
    "coexist_guest_exit42:\n"
    "	mov $60, %eax\n"
    "	mov $42, %edi\n"
    "	vmcall\n"
    "	ud2\n");

static uint64_t pml4[512] __attribute__((aligned(4096)));
static uint64_t pdpt[512] __attribute__((aligned(4096)));
static uint64_t pd[512] __attribute__((aligned(4096)));

/* Create a vCPU on @fd and run exit(42); returns 0 or errno. */
static int dune_run(int fd)
{
	struct dune_config c;
	int i;

	for (i = 0; i < 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;
	pdpt[0] = (uint64_t)(uintptr_t)pd | 3;
	pml4[0] = (uint64_t)(uintptr_t)pdpt | 3;
	memset(&c, 0, sizeof(c));
	c.rip = (uint64_t)(uintptr_t)coexist_guest_exit42;
	c.rflags = 2;
	c.cr3 = (uint64_t)(uintptr_t)pml4;
	if (ioctl(fd, DUNE_ENTER, &c))
		return errno;
	return c.ret == DUNE_RET_EXIT && c.status == 42 ? 0 : EPROTO;
}

int main(void)
{
	int kvm, vm, dfd, r, e;

	tap_plan(NTESTS);
	kvm = open("/dev/kvm", O_RDWR);
	dfd = open(DUNE_DEVICE_PATH, O_RDWR);
	if (kvm < 0 || dfd < 0) {
		for (r = 0; r < NTESTS; r++)
			tap_skip("module.coexist", "needs /dev/kvm and /dev/dune (kvm: %s)",
				 kvm < 0 ? strerror(errno) : "ok");
		return 0;
	}

	/* dune.ko holds VMX while it has a vCPU */
	r = dune_run(dfd);
	errno = 0;
	vm = r ? -1 : ioctl(kvm, KVM_CREATE_VM, 0UL);
	e = errno;
	tap_check(!r && vm < 0 && e == EBUSY, "module.coexist.kvm_blocked_by_dune",
		  "expected dune entry 0 then KVM_CREATE_VM -1/EBUSY, got %s then %d/%s",
		  strerror(r), vm, strerror(e));
	if (vm >= 0)
		close(vm);

	/* closing /dev/dune frees the vCPU and VMX */
	close(dfd);
	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	tap_check(vm >= 0, "module.coexist.kvm_after_dune",
		  "expected a VM once dune.ko has no vCPUs, got %s",
		  strerror(errno));

	/* a KVM VM holds VMX: a new Dune vCPU gets EBUSY */
	dfd = open(DUNE_DEVICE_PATH, O_RDWR);
	r = dune_run(dfd);
	tap_check(vm >= 0 && r == EBUSY, "module.coexist.dune_blocked_by_kvm",
		  "expected DUNE_ENTER EBUSY while a KVM VM exists, got %s",
		  strerror(r));
	if (vm >= 0)
		close(vm);

	r = dune_run(dfd);
	tap_check(r == 0, "module.coexist.dune_after_kvm",
		  "expected DUNE_ENTER to work once the VM is gone, got %s",
		  strerror(r));
	close(dfd);
	close(kvm);
	return tap_done();
}

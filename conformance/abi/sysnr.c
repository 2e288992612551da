// SPDX-License-Identifier: MIT
/*
 * sysnr.c - the VMCALL system call number at the ends of the host's table
 * (docs/abi.md section 4): the last entry runs, the numbers past it and the
 * ones with high bits set are refused, and nothing reads past the table.
 *
 * abi.vmcall.nr_boundary is destructive on a module whose bound is off by
 * one (the original: a general-protection fault in the host kernel): run it
 * against such a module in the lab only.
 */
#include "abi_util.h"
#include "sysnr.h"

#include <stdio.h>
#include <unistd.h>

/* rbx = syscall rax(rdi, rsi, rdx, r10, r8, r9); exit(0) */
ABI_GUEST(g_sysnr, "vmcall\n mov %rax, %rbx\n" G_EXIT(0));

/* VMCALL @nr with SYSNR_ARG in the six argument registers on @vm's vCPU
 * *@vcpu (0: a new one, whose handle is kept there); the guest's rax. */
static long vmcall_nr(struct abi_vm *vm, uint64_t *vcpu, uint64_t nr)
{
	struct dune_config c;
	int r;

	abi_conf(vm, &c, g_sysnr);
	c.vcpu = *vcpu;
	c.rax = nr;
	c.rdi = c.rsi = c.rdx = c.r10 = c.r8 = c.r9 = SYSNR_ARG;
	c.rbx = 0x5eed;
	r = abi_enter(vm, &c);
	CT_ASSERT(r == 0 && c.ret == DUNE_RET_EXIT,
		  "VMCALL %#llx: ioctl %d (%s) ret %lld (%s) rip %#llx: the guest did not go on to its exit",
		  (unsigned long long)nr, r, r ? strerror(-r) : "ok", (long long)c.ret,
		  abi_ret_name(c.ret), (unsigned long long)c.rip);
	*vcpu = c.vcpu;
	return (long)c.rbx;
}

static void probe_host(struct sysnr_host *h)
{
	if (sysnr_probe(h))
		CT_SKIP(h->last < 0 ? "none of the system calls %ld..%ld exists on this host (Linux before 5.13): "
				      "where its table ends is not known here" :
				      "this host has the last system calls this test knows (%ld..%ld): its table may "
				      "go on past them, so where it ends is not known here", SYSNR_FIRST, SYSNR_LAST);
}

CTEST(vmcall_nr_boundary,
      .id = "abi.vmcall.nr_boundary",
      .profile = "robustness",
      .what = "VMCALLs with the numbers around the end of the host's system call table (the last entry NR_syscalls - 1, NR_syscalls, NR_syscalls + 1 and on; all arguments -1): up to the last entry the result is the host's own, past it -ENOSYS or -EINVAL, and the guest goes on",
      .needs = "dev-dune",
      .backends = "vmx",
      .destructive = "a module whose bound is off by one (the original's) calls past the end of its system call table: a general-protection fault in the host kernel")
{
	struct sysnr_host h;
	struct abi_vm vm;
	uint64_t vcpu = 0;

	probe_host(&h);
	ct_log("the host's table ends at %ld (NR_syscalls %ld)", h.last, h.last + 1);
	abi_vm_setup(&vm);
	for (long nr = h.last - 1; nr <= SYSNR_LAST; nr++) {
		long got = vmcall_nr(&vm, &vcpu, (uint64_t)nr);

		if (h.native[nr] == -ENOSYS)
			CT_EXPECT(sysnr_refused(got),
				  "VMCALL %ld (NR_syscalls%+ld) returned %ld, want -ENOSYS or -EINVAL (the host: -ENOSYS)",
				  nr, nr - h.last - 1, got);
		else
			CT_EXPECT(got == h.native[nr], "VMCALL %ld (NR_syscalls%+ld) returned %ld, the host's call %ld",
				  nr, nr - h.last - 1, got, h.native[nr]);
	}
	CT_EXPECT_EQ(vmcall_nr(&vm, &vcpu, SYSNR_GETPID), getpid());	/* the vCPU still works */
}

CTEST(vmcall_nr_high_bits,
      .id = "abi.vmcall.nr_high_bits",
      .profile = "robustness",
      .what = "VMCALL numbers that are a real system call or the table's end in their low 32 bits only (0x1_0000_0000 + getpid, + NR_syscalls - 1, + NR_syscalls; 1 << 63 + getpid; 0xffffffff_00000000 + getpid) or negative as 32-bit ints (0x8000_0000, 0xffff_ffff, -1) are refused with -ENOSYS or -EINVAL (rax is 64 bits: never truncated to another call) and the guest goes on",
      .needs = "dev-dune",
      .backends = "vmx")
{
	struct sysnr_host h;
	struct abi_vm vm;
	uint64_t vcpu = 0, pid = (uint64_t)getpid();
	const uint64_t hi = 1ULL << 32;
	uint64_t nrs[] = {
		hi | SYSNR_GETPID, 1ULL << 63 | SYSNR_GETPID, 0xffffffff00000000ULL | SYSNR_GETPID,
		0x80000000ULL, 0xffffffffULL, 0x7fffffffULL, ~0ULL, ~0ULL << 31,
		0, 0,	/* hi + the table's last entry and its size, where known */
	};
	size_t n = sizeof(nrs) / sizeof(nrs[0]) - 2;

	if (sysnr_probe(&h) == 0) {
		nrs[n++] = hi | (uint64_t)h.last;
		nrs[n++] = hi | (uint64_t)(h.last + 1);
	} else {
		ct_log("where the host's table ends is not known here: 0x1_0000_0000 + its end not tried");
	}
	abi_vm_setup(&vm);
	for (size_t i = 0; i < n; i++) {
		long got = vmcall_nr(&vm, &vcpu, nrs[i]);

		CT_EXPECT(sysnr_refused(got), "VMCALL %#llx returned %ld%s, want -ENOSYS or -EINVAL",
			  (unsigned long long)nrs[i], got, (uint64_t)got == pid ? " (getpid ran)" : "");
	}
	CT_EXPECT_EQ(vmcall_nr(&vm, &vcpu, SYSNR_GETPID), getpid());
}

// SPDX-License-Identifier: MIT
/*
 * kvm_smoke - lab self-test: Debian's KVM runs a tiny guest.
 *
 * A real-mode guest executes "mov $42,%al; out %al,$0x10; hlt".  The test
 * expects a KVM_EXIT_IO (out, port 0x10, value 42) and then KVM_EXIT_HLT.
 * Prints TAP 13.  Exit status 0 when every check passed.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_MEM	0x10000UL
#define GUEST_ENTRY	0x1000UL
#define OUT_PORT	0x10
#define OUT_VALUE	42

static int failed;
static int testno;

static void report(int ok, const char *what, const char *detail)
{
	printf("%s %d - %s%s%s\n", ok ? "ok" : "not ok", ++testno, what,
	       detail && *detail ? " # " : "", detail ? detail : "");
	if (!ok)
		failed = 1;
}

static int xioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int r = ioctl(fd, req, arg);
	char msg[128];

	if (r < 0) {
		snprintf(msg, sizeof(msg), "%s failed: %s", name, strerror(errno));
		report(0, name, msg);
	}
	return r;
}

int main(void)
{
	static const uint8_t code[] = { 0xb0, OUT_VALUE, 0xe6, OUT_PORT, 0xf4 };
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, api, runsz, saw_out = 0, saw_hlt = 0;
	char msg[160];
	uint8_t *mem;

	printf("1..4\n");
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		snprintf(msg, sizeof(msg), "open /dev/kvm: %s", strerror(errno));
		report(0, "kvm.open", msg);
		printf("Bail out! no /dev/kvm\n");
		return 1;
	}
	api = ioctl(kvm, KVM_GET_API_VERSION, 0);
	snprintf(msg, sizeof(msg), "api version %d, want %d", api, KVM_API_VERSION);
	report(api == KVM_API_VERSION, "kvm.api_version", api == KVM_API_VERSION ? "" : msg);

	vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
	mem = mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm < 0 || mem == MAP_FAILED) {
		report(0, "kvm.create_vm", strerror(errno));
		return 1;
	}
	memcpy(mem + GUEST_ENTRY, code, sizeof(code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = GUEST_MEM,
		.userspace_addr = (uintptr_t)mem,
	};
	if (xioctl(vm, KVM_SET_USER_MEMORY_REGION, &region, "kvm.set_memory") < 0)
		return 1;
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
	runsz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || runsz <= 0) {
		report(0, "kvm.create_vcpu", strerror(errno));
		return 1;
	}
	run = mmap(NULL, runsz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED) {
		report(0, "kvm.map_run", strerror(errno));
		return 1;
	}
	if (xioctl(vcpu, KVM_GET_SREGS, &sregs, "kvm.get_sregs") < 0)
		return 1;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (xioctl(vcpu, KVM_SET_SREGS, &sregs, "kvm.set_sregs") < 0)
		return 1;
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_ENTRY;
	regs.rflags = 0x2;
	if (xioctl(vcpu, KVM_SET_REGS, &regs, "kvm.set_regs") < 0)
		return 1;
	report(1, "kvm.vm_setup", NULL);

	for (int i = 0; i < 8 && !saw_hlt; i++) {
		if (xioctl(vcpu, KVM_RUN, NULL, "kvm.run") < 0)
			break;
		if (run->exit_reason == KVM_EXIT_IO) {
			uint8_t v = *((uint8_t *)run + run->io.data_offset);

			saw_out = run->io.direction == KVM_EXIT_IO_OUT &&
				  run->io.port == OUT_PORT && v == OUT_VALUE;
			snprintf(msg, sizeof(msg), "port %#x value %u dir %u",
				 run->io.port, v, run->io.direction);
		} else if (run->exit_reason == KVM_EXIT_HLT) {
			saw_hlt = 1;
		} else {
			snprintf(msg, sizeof(msg), "unexpected exit reason %u",
				 run->exit_reason);
			break;
		}
	}
	report(saw_out, "kvm.guest_out_exit", saw_out ? "" : msg);
	report(saw_hlt, "kvm.guest_hlt_exit", saw_hlt ? "" : msg);
	return failed;
}

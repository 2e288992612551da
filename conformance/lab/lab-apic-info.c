/* SPDX-License-Identifier: MIT */
/*
 * lab-apic-info [--want FLAG...] - what the /dev/dune module offers of the
 * x2APIC part (DUNE_APIC_INFO, include/dune/abi.h), for the VMX lab's
 * lists: prints "apic: flags 0x.. x2apic virt posted" (the names of the
 * bits set) and exits 0; with --want x2apic|virt|posted (repeatable) it
 * exits 1, saying which is missing, when one of them is not set.  Used to
 * check that a module loaded with apic_vid=1 really runs the
 * virtual-interrupt-delivery path before the APIC tests are run over it.
 * Exit 2: bad arguments, or /dev/dune cannot be asked (no module, an
 * original module that answers ENOTTY).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dune/abi.h>

static const struct {
	const char *name;
	unsigned int bit;
} names[] = {
	{ "x2apic", DUNE_APIC_X2APIC },
	{ "virt", DUNE_APIC_VIRT },
	{ "posted", DUNE_APIC_POSTED },
};

#define NNAMES (sizeof(names) / sizeof(names[0]))

static int bit_of(const char *name, unsigned int *bit)
{
	for (size_t i = 0; i < NNAMES; i++)
		if (!strcmp(name, names[i].name)) {
			*bit = names[i].bit;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	struct dune_apic_info info = { 0 };
	unsigned int want = 0, bit;
	int fd, missing = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--want") && i + 1 < argc &&
		    !bit_of(argv[i + 1], &bit)) {
			want |= bit;
			i++;
			continue;
		}
		fprintf(stderr, "usage: %s [--want x2apic|virt|posted]...\n", argv[0]);
		return 2;
	}
	fd = open("/dev/dune", O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "lab-apic-info: /dev/dune: %s\n", strerror(errno));
		return 2;
	}
	if (ioctl(fd, DUNE_APIC_INFO, &info)) {
		fprintf(stderr, "lab-apic-info: DUNE_APIC_INFO: %s\n", strerror(errno));
		close(fd);
		return 2;
	}
	close(fd);
	printf("apic: flags 0x%x", info.flags);
	for (size_t i = 0; i < NNAMES; i++)
		if (info.flags & names[i].bit)
			printf(" %s", names[i].name);
	printf("\n");
	for (size_t i = 0; i < NNAMES; i++)
		if ((want & names[i].bit) && !(info.flags & names[i].bit)) {
			printf("apic: %s wanted, not offered\n", names[i].name);
			missing = 1;
		}
	return missing;
}

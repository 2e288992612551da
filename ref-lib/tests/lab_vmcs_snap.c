// SPDX-License-Identifier: MIT
/*
 * lab_vmcs_snap - for the VMX lab: enter Dune mode, have the VMCS of this
 * process's vCPU snapshotted at its next VM exit, and write the snapshot
 * to OUT.  The same program on both backends, so that the two snapshots
 * describe the same work:
 *
 *   vmx  dune.ko's debugfs file vcpus/<pid>.<tid>.*\/vmcs ("next 18": at
 *        the next VMCALL exit)
 *   kvm  the lab module kvm_vmcs_snap.ko (harness/lab/vmcs-kvm): request
 *        "<pid> <vcpu id> 30" (the next I/O-instruction exit), then read
 *        its snapshot file
 *
 * The request, the system call that makes the exit and the reads all run
 * in Dune mode (forwarded system calls), so the snapshot is taken at the
 * exit of the getpid() after the request: a VMCALL on vmx, an OUT to
 * libdune's system-call port on kvm (not at an interrupt or timer exit
 * that may come first: the exit reason is part of the request).
 *
 * Usage: dune-vmcs-snap OUT    (DUNE_BACKEND chooses the backend)
 * Exit status 0, or 1 with a message.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dune/dune.h>

#define DUNE_DBG	"/sys/kernel/debug/dune/vcpus"
#define KVM_DBG		"/sys/kernel/debug/kvm_vmcs_snap"

static char buf[1 << 20];

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "dune-vmcs-snap: %s %s: %s\n", what, path, strerror(errno));
	return 1;
}

static int put(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return fail("cannot open", path);
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s)) {
		close(fd);
		return fail("cannot write to", path);
	}
	close(fd);
	return 0;
}

static int copy(const char *from, const char *to)
{
	ssize_t n, len = 0;
	int fd = open(from, O_RDONLY);

	if (fd < 0)
		return fail("cannot open", from);
	while ((n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	if (n < 0)
		return fail("cannot read", from);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return fail("cannot create", to);
	if (write(fd, buf, (size_t)len) != len) {
		close(fd);
		return fail("cannot write", to);
	}
	close(fd);
	return 0;
}

/* dune.ko's vmcs file of this thread's vCPU */
static int find_vmx_file(char *path, size_t len)
{
	char prefix[64];
	struct dirent *de;
	DIR *d = opendir(DUNE_DBG);

	if (!d)
		return fail("cannot open", DUNE_DBG);
	snprintf(prefix, sizeof(prefix), "%d.%ld.", getpid(), (long)syscall(SYS_gettid));
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, prefix, strlen(prefix))) {
			snprintf(path, len, "%s/%s/vmcs", DUNE_DBG, de->d_name);
			closedir(d);
			return 0;
		}
	}
	closedir(d);
	fprintf(stderr, "dune-vmcs-snap: no %s/%s* for this thread\n", DUNE_DBG, prefix);
	return 1;
}

int main(int argc, char **argv)
{
	char path[512], req[64];
	const char *backend;
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: dune-vmcs-snap OUT\n");
		return 2;
	}
	r = dune_init_and_enter();
	if (r) {
		fprintf(stderr, "dune-vmcs-snap: dune_init_and_enter: %d\n", r);
		return 1;
	}
	backend = dune_backend_name();
	if (!strcmp(backend, "vmx")) {
		if (find_vmx_file(path, sizeof(path)) || put(path, "next 18"))
			return 1;
	} else if (!strcmp(backend, "kvm")) {
		/* libdune's kvm backend numbers vCPUs from 0: the first is ours */
		snprintf(path, sizeof(path), "%s/snapshot", KVM_DBG);
		snprintf(req, sizeof(req), "%d 0 30", getpid());
		if (put(KVM_DBG "/request", req))
			return 1;
	} else {
		fprintf(stderr, "dune-vmcs-snap: unknown backend '%s'\n", backend);
		return 1;
	}
	syscall(SYS_getpid);	/* the VM exit the snapshot is taken at */
	if (copy(path, argv[1]))
		return 1;
	printf("dune-vmcs-snap: %s: snapshot of %s in %s\n", backend, path, argv[1]);
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * doctor.h - `dunebench doctor`: what this host can run, and why not.
 *
 * doctor_collect() gathers the facts into a struct doctor_report (reading
 * every file under an optional sysroot, for tests); the printers render it
 * as text or as one JSON object.  Nothing here exits or prints on its own.
 */
#ifndef DUNEBENCH_DOCTOR_H
#define DUNEBENCH_DOCTOR_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>

#include "kvm_probe.h"

#define DOCTOR_JSON_VERSION	1
#define DOCTOR_REASON_MAX	224

/* a yes/no fact that may also be invisible from here */
enum tri { TRI_NO = 0, TRI_YES = 1, TRI_UNKNOWN = 2 };

struct doctor_cap {
	enum tri v;
	char why[DOCTOR_REASON_MAX];	/* detail for yes, reason for no/unknown */
};

enum doctor_backend_id { BACKEND_VMX, BACKEND_KVM, BACKEND_LAB, BACKEND_COUNT };

struct doctor_backend {
	const char *name;
	enum tri usable;
	char reason[DOCTOR_REASON_MAX];
};

struct doctor_report {
	char sysroot[PATH_MAX];		/* "" for the real host */
	bool probe_run;			/* the KVM ring-0 timing probe ran */

	struct {
		char vendor[32];	/* vendor_id: GenuineIntel, AuthenticAMD */
		char model[128];	/* model name */
		char microcode[32];
		int family, model_num, stepping;
		int count;		/* "processor" entries */
		bool vmx_flags_line;	/* kernel prints a "vmx flags" line */
		struct doctor_cap vmx, ept, vpid, ept_ad, ept_1gb;
		struct doctor_cap unrestricted_guest, posted_intr;
		struct doctor_cap svm, npt, avic;
	} cpu;

	struct {
		bool hypervisor_flag;	/* "hypervisor" in CPU flags */
		char cpuid_vendor[16];	/* CPUID 0x40000000, real host only */
		char dmi_vendor[128];	/* /sys/class/dmi/id/sys_vendor */
		char dmi_product[128];	/* /sys/class/dmi/id/product_name */
		char sys_hypervisor[32];	/* /sys/hypervisor/type */
		struct doctor_cap in_vm;
	} virt;

	struct {
		char release[128];
		char cmdline[1024];
		bool nokaslr;
		char headers_path[PATH_MAX];	/* as seen by the host, no sysroot */
		struct doctor_cap headers;
		char headers_hint[DOCTOR_REASON_MAX];	/* how to get them; "" if present */
	} kernel;

	struct {
		bool device;		/* /dev/dune exists */
		char misc_name[64];	/* name registered for misc minor 233, "" if none */
		char module[64];	/* owning module, "none" if absent */
		struct doctor_cap access;	/* read/write access to /dev/dune */
	} dune;

	struct {
		bool device;		/* /dev/kvm exists */
		bool openable;
		int open_errno;		/* why not, 0 if it opened */
		int api_version;	/* -1 if unknown */
		char module[32];	/* kvm_intel, kvm_amd, kvm_pvm or "none" */
		struct dune_kvm_probe probe;
	} kvm;

	struct {
		char enabled[32];	/* the bracketed choice, or "unavailable" */
		char defrag[32];
	} thp;

	struct doctor_backend backend[BACKEND_COUNT];
	const char *best;		/* backend name, or "none" */
};

/* doctor_collect() flags */
#define DOCTOR_NO_PROBE	0x1		/* skip the KVM timing probe */

/* probe timeout used by doctor_collect(), in ms */
#define DOCTOR_PROBE_TIMEOUT_MS	300

void doctor_collect(struct doctor_report *r, const char *sysroot, unsigned flags);
void doctor_print_text(FILE *f, const struct doctor_report *r);
void doctor_print_json(FILE *f, const struct doctor_report *r);

/* s as a JSON string literal, quotes included */
void doctor_json_string(FILE *f, const char *s);

/* `dunebench doctor ARGS`: argv[0] is "doctor"; returns the exit status */
int doctor_main(int argc, char **argv);

#endif /* DUNEBENCH_DOCTOR_H */

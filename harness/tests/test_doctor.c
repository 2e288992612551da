// SPDX-License-Identifier: MIT
/*
 * test_doctor.c - `dunebench doctor`, the dispatcher and the KVM probe.
 *
 * Fixture trees (tests/fixtures/, read through DUNEBENCH_SYSROOT; each has a
 * README):
 *   intel-skylake-x        bare-metal Intel with every VT-x feature and dune.ko
 *   intel-golden-cove-kvm  bare-metal Intel (Golden Cove), kvm_intel, no dune.ko
 *   amd-zen3-kvm           bare-metal AMD Zen 3, kvm_amd running ring 0 natively
 *   amd-epyc-vm            an AMD EPYC VM, kvm_pvm, dev/kvm a plain file
 *   amd-epyc-vm-pvm        an AMD EPYC VM whose KVM emulates guest ring 0
 *   amd-epyc-vm-nokvm      an AMD EPYC VM with kvm_pvm listed but no /dev/kvm
 *   nothing                an empty tree
 * (a fixture's dev/kvm may be a fake KVM: harness/doctor.c, "fake KVM"),
 * plus small trees generated here for the odd cases, and live tests on the
 * host they run on, which assert only what holds on every host (NATIVE,
 * EMULATED or UNUSABLE alike).
 */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "doctor.h"

/* ---- a minimal JSON checker: validates, and finds a value by dotted path ---- */

struct jq {
	const char *p;
	const char *want;	/* dotted path to look for, or NULL */
	const char *at;		/* where its value starts */
	size_t len;
};

static int j_value(struct jq *q, const char *path, int depth);

static void j_ws(struct jq *q)
{
	while (*q->p == ' ' || *q->p == '\t' || *q->p == '\n' || *q->p == '\r')
		q->p++;
}

static int j_string(struct jq *q, char *out, size_t n)
{
	size_t k = 0;

	if (*q->p++ != '"')
		return -1;
	while (*q->p != '"') {
		unsigned char c = (unsigned char)*q->p++;
		if (c < 0x20)
			return -1;
		if (c == '\\') {
			c = (unsigned char)*q->p++;
			if (c == 'u') {
				for (int i = 0; i < 4; i++)
					if (!isxdigit((unsigned char)*q->p++))
						return -1;
				c = '?';
			} else if (!strchr("\"\\/bfnrt", c)) {
				return -1;
			}
		}
		if (out && k + 1 < n)
			out[k++] = (char)c;
	}
	q->p++;
	if (out)
		out[k] = '\0';
	return 0;
}

static int j_number(struct jq *q)
{
	const char *s = q->p;

	if (*q->p == '-')
		q->p++;
	if (!isdigit((unsigned char)*q->p))
		return -1;
	while (isdigit((unsigned char)*q->p))
		q->p++;
	if (*q->p == '.') {
		q->p++;
		if (!isdigit((unsigned char)*q->p))
			return -1;
		while (isdigit((unsigned char)*q->p))
			q->p++;
	}
	return q->p > s ? 0 : -1;
}

static int j_object(struct jq *q, const char *path, int depth)
{
	char key[128], sub[512];

	q->p++;
	j_ws(q);
	if (*q->p == '}')
		return q->p++, 0;
	for (;;) {
		j_ws(q);
		if (j_string(q, key, sizeof(key)) < 0)
			return -1;
		j_ws(q);
		if (*q->p++ != ':')
			return -1;
		snprintf(sub, sizeof(sub), "%s%s%s", path, path[0] ? "." : "", key);
		if (j_value(q, sub, depth + 1) < 0)
			return -1;
		j_ws(q);
		if (*q->p == '}')
			return q->p++, 0;
		if (*q->p++ != ',')
			return -1;
	}
}

static int j_array(struct jq *q, const char *path, int depth)
{
	q->p++;
	j_ws(q);
	if (*q->p == ']')
		return q->p++, 0;
	for (;;) {
		if (j_value(q, path, depth + 1) < 0)
			return -1;
		j_ws(q);
		if (*q->p == ']')
			return q->p++, 0;
		if (*q->p++ != ',')
			return -1;
	}
}

static int j_value(struct jq *q, const char *path, int depth)
{
	const char *start;
	int rc;

	if (depth > 32)
		return -1;
	j_ws(q);
	start = q->p;
	if (*q->p == '{')
		rc = j_object(q, path, depth);
	else if (*q->p == '[')
		rc = j_array(q, path, depth);
	else if (*q->p == '"')
		rc = j_string(q, NULL, 0);
	else if (!strncmp(q->p, "true", 4) || !strncmp(q->p, "null", 4))
		rc = (q->p += 4, 0);
	else if (!strncmp(q->p, "false", 5))
		rc = (q->p += 5, 0);
	else
		rc = j_number(q);
	if (rc == 0 && q->want && !strcmp(path, q->want)) {
		q->at = start;
		q->len = (size_t)(q->p - start);
	}
	return rc;
}

/* is s exactly one well-formed JSON object (plus whitespace)? */
static bool json_valid(const char *s)
{
	struct jq q = { .p = s };

	j_ws(&q);
	if (*q.p != '{' || j_value(&q, "", 0) < 0)
		return false;
	j_ws(&q);
	return *q.p == '\0';
}

/* the raw text of the value at a dotted path ("" if absent); static buffer */
static const char *jget(const char *s, const char *path)
{
	static char buf[1024];
	struct jq q = { .p = s, .want = path };

	buf[0] = '\0';
	if (j_value(&q, "", 0) == 0 && q.at)
		snprintf(buf, sizeof(buf), "%.*s", (int)q.len, q.at);
	return buf;
}

/* ---- helpers ---- */

static struct doctor_report *collect(const char *root, unsigned flags)
{
	struct doctor_report *r = malloc(sizeof(*r));

	cr_assert_not_null(r);
	doctor_collect(r, root, flags);
	return r;
}

static struct doctor_report *fixture(const char *name)
{
	char root[PATH_MAX];

	snprintf(root, sizeof(root), "%s/%s", FIXTURES, name);
	return collect(root, DOCTOR_NO_PROBE);
}

static char *render(const struct doctor_report *r, bool json)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	cr_assert_not_null(f);
	if (json)
		doctor_print_json(f, r);
	else
		doctor_print_text(f, r);
	fclose(f);
	return buf;
}

/* the text report has a row "  LABEL  VALUE  ...REASON..." */
static void expect_row(const char *text, const char *label, const char *value,
		       const char *reason)
{
	char head[128], line[512];
	const char *p, *nl;

	snprintf(head, sizeof(head), "\n  %-20s %s", label, value);
	for (p = strstr(text, head); p; p = strstr(p + 1, head))
		if (p[strlen(head)] == ' ' || p[strlen(head)] == '\n')
			break;
	cr_assert_not_null(p, "no row '%s' = '%s' in:\n%s", label, value, text);
	nl = strchr(p + 1, '\n');
	snprintf(line, sizeof(line), "%.*s", nl ? (int)(nl - p - 1) : 400, p + 1);
	if (reason)
		cr_expect_not_null(strstr(line, reason), "row '%s' lacks '%s': %s", label,
				   reason, line);
}

static void expect_json(const char *json, const char *path, const char *raw)
{
	cr_expect_str_eq(jget(json, path), raw, "%s", path);
}

static void expect_json_has(const char *json, const char *path, const char *sub)
{
	const char *v = jget(json, path);

	cr_expect_not_null(strstr(v, sub), "%s = %s lacks '%s'", path, v, sub);
}

/* run a shell command, capture stdout, return the exit status */
static int run(const char *cmd, char **out)
{
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	FILE *f = popen(cmd, "r");
	int st;

	cr_assert_not_null(f, "popen %s", cmd);
	do {
		if (n + 4096 > cap) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap);
			cr_assert_not_null(buf);
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got);
	buf[n] = '\0';
	st = pclose(f);
	*out = buf;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* write a file under root, making its directories */
static void put(const char *root, const char *path, const char *text)
{
	char p[PATH_MAX];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", root, path);
	for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(p, 0755);
		*s = '/';
	}
	f = fopen(p, "w");
	cr_assert_not_null(f, "create %s", p);
	fputs(text, f);
	fclose(f);
}

static char *tmproot(void)
{
	static char tmpl[64];

	strcpy(tmpl, "/tmp/doctor-test.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpl));
	return tmpl;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void rmroot(const char *root)
{
	nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- (a) bare-metal Intel with dune.ko ---- */

Test(fixture_intel, parsed)
{
	struct doctor_report *r = fixture("intel-skylake-x");

	cr_expect_str_eq(r->cpu.vendor, "GenuineIntel");
	cr_expect_str_eq(r->cpu.model, "Intel(R) Core(TM) i9-7900X CPU @ 3.30GHz");
	cr_expect_eq(r->cpu.family, 6);
	cr_expect_eq(r->cpu.model_num, 85);
	cr_expect_eq(r->cpu.stepping, 4);
	cr_expect_str_eq(r->cpu.microcode, "0x2007006");
	cr_expect_eq(r->cpu.count, 2);
	cr_expect(r->cpu.vmx_flags_line);
	cr_expect_eq(r->cpu.vmx.v, TRI_YES);
	cr_expect_eq(r->cpu.ept.v, TRI_YES);
	cr_expect_eq(r->cpu.vpid.v, TRI_YES);
	cr_expect_eq(r->cpu.ept_ad.v, TRI_YES);
	cr_expect_eq(r->cpu.ept_1gb.v, TRI_YES);
	cr_expect_eq(r->cpu.unrestricted_guest.v, TRI_YES);
	cr_expect_eq(r->cpu.posted_intr.v, TRI_YES);
	cr_expect_eq(r->cpu.svm.v, TRI_NO);
	cr_expect_eq(r->cpu.npt.v, TRI_NO);
	cr_expect_eq(r->virt.in_vm.v, TRI_NO);
	cr_expect_str_eq(r->kernel.release, "6.1.0-18-amd64");
	cr_expect_not(r->kernel.nokaslr);
	cr_expect_eq(r->kernel.headers.v, TRI_YES);
	cr_expect_str_eq(r->kernel.headers_path, "/lib/modules/6.1.0-18-amd64/build");
	cr_expect(r->dune.device);
	cr_expect_str_eq(r->dune.misc_name, "dune");
	cr_expect_str_eq(r->dune.module, "dune");
	cr_expect_eq(r->dune.access.v, TRI_YES);
	cr_expect_not(r->kvm.device);
	cr_expect_str_eq(r->thp.enabled, "always");
	cr_expect_str_eq(r->thp.defrag, "madvise");
	cr_expect_eq(r->backend[BACKEND_VMX].usable, TRI_YES);
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_NO);
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "no /dev/kvm: KVM not loaded (modprobe kvm_intel)");
	cr_expect_eq(r->backend[BACKEND_LAB].usable, TRI_YES);
	cr_expect_str_eq(r->best, "vmx");
	free(r);
}

Test(fixture_intel, text)
{
	struct doctor_report *r = fixture("intel-skylake-x");
	char *t = render(r, false);

	expect_row(t, "vendor", "GenuineIntel", NULL);
	expect_row(t, "VMX (Intel VT-x)", "yes", "vmx in CPU flags");
	expect_row(t, "EPT 1 GB pages", "yes", "ept_1gb in vmx flags");
	expect_row(t, "SVM (AMD-V)", "no", "not an AMD CPU (GenuineIntel)");
	expect_row(t, "misc minor 233", "dune", NULL);
	expect_row(t, "vmx", "yes", "/dev/dune (module dune)");
	expect_row(t, "kvm", "no", "no /dev/kvm");
	expect_row(t, "lab", "yes", "make lab");
	cr_expect_not_null(strstr(t, "Best backend for `make bench`: vmx\n"));
	free(t);
	free(r);
}

Test(fixture_intel, json)
{
	struct doctor_report *r = fixture("intel-skylake-x");
	char *j = render(r, true);

	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "doctor_version", "1");
	expect_json(j, "cpu.vendor", "\"GenuineIntel\"");
	expect_json(j, "cpu.count", "2");
	expect_json(j, "cpu.vmx", "true");
	expect_json(j, "cpu.ept_ad", "true");
	expect_json(j, "cpu.ept_1gb", "true");
	expect_json(j, "cpu.svm", "false");
	expect_json(j, "kernel.headers", "true");
	expect_json(j, "dune.misc_minor_233", "\"dune\"");
	expect_json(j, "dune.module", "\"dune\"");
	expect_json(j, "kvm.api_version", "-1");
	expect_json(j, "kvm.probe.run", "false");
	expect_json(j, "backends.vmx.usable", "true");
	expect_json(j, "backends.kvm.usable", "false");
	expect_json(j, "thp.enabled", "\"always\"");
	expect_json(j, "best_backend", "\"vmx\"");
	free(j);
	free(r);
}

/* ---- (b) the development machine ---- */

Test(fixture_amd, parsed)
{
	struct doctor_report *r = fixture("amd-epyc-vm");

	cr_expect_str_eq(r->cpu.vendor, "AuthenticAMD");
	cr_expect_str_eq(r->cpu.model, "AMD EPYC");
	cr_expect_eq(r->cpu.family, 25);
	cr_expect_eq(r->cpu.count, 2);
	cr_expect_not(r->cpu.vmx_flags_line);
	cr_expect_eq(r->cpu.vmx.v, TRI_NO);
	cr_expect_str_eq(r->cpu.vmx.why, "not an Intel CPU (AuthenticAMD)");
	cr_expect_eq(r->cpu.ept.v, TRI_NO);
	cr_expect_eq(r->cpu.svm.v, TRI_NO);
	cr_expect_str_eq(r->cpu.svm.why, "not in CPU flags: the hypervisor does not expose nested SVM");
	cr_expect(r->virt.hypervisor_flag);
	cr_expect_eq(r->virt.in_vm.v, TRI_YES);
	cr_expect_str_eq(r->virt.cpuid_vendor, "", "CPUID is not read under a sysroot");
	cr_expect_eq(r->kernel.headers.v, TRI_NO);
	cr_expect_not(r->dune.device);
	cr_expect_str_eq(r->dune.misc_name, "");
	cr_expect_str_eq(r->dune.module, "none");
	cr_expect(r->kvm.device);
	cr_expect_str_eq(r->kvm.module, "kvm_pvm");
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_eq(r->backend[BACKEND_VMX].usable, TRI_NO);
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason, "no /dev/dune: CPU has no VMX");
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_NO);
	cr_expect_not_null(strstr(r->backend[BACKEND_KVM].reason, "is not a KVM device"));
	cr_expect_eq(r->backend[BACKEND_LAB].usable, TRI_YES);
	cr_expect_str_eq(r->backend[BACKEND_LAB].reason, "bochs installed: make lab");
	cr_expect_str_eq(r->best, "lab");
	free(r);
}

Test(fixture_amd, text)
{
	struct doctor_report *r = fixture("amd-epyc-vm");
	char *t = render(r, false);

	expect_row(t, "VMX (Intel VT-x)", "no", "not an Intel CPU");
	expect_row(t, "EPT", "no", "needs VMX");
	expect_row(t, "inside a VM", "yes", "hypervisor CPU flag");
	expect_row(t, "misc minor 233", "none", NULL);
	expect_row(t, "module", "none", NULL);
	expect_row(t, "module", "kvm_pvm", NULL);
	expect_row(t, "vmx", "no", "no /dev/dune: CPU has no VMX");
	expect_row(t, "kvm", "no", "not a KVM device");
	expect_row(t, "enabled", "madvise", NULL);
	cr_expect_not_null(strstr(t, "Best backend for `make bench`: lab\n"));
	free(t);
	free(r);
}

Test(fixture_amd, json)
{
	struct doctor_report *r = fixture("amd-epyc-vm");
	char *j = render(r, true);

	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "cpu.vendor", "\"AuthenticAMD\"");
	expect_json(j, "cpu.vmx", "false");
	expect_json(j, "cpu.vmx_flags_line", "false");
	expect_json(j, "virt.in_vm", "true");
	expect_json(j, "virt.hypervisor_flag", "true");
	expect_json(j, "dune.device", "false");
	expect_json(j, "dune.misc_minor_233", "null");
	expect_json(j, "dune.module", "\"none\"");
	expect_json(j, "kvm.device", "true");
	expect_json(j, "kvm.module", "\"kvm_pvm\"");
	expect_json(j, "kvm.probe.verdict", "\"unusable\"");
	expect_json(j, "backends.vmx.usable", "false");
	expect_json(j, "backends.vmx.reason", "\"no /dev/dune: CPU has no VMX\"");
	expect_json_has(j, "backends.kvm.reason", "not a KVM device");
	expect_json(j, "backends.lab.usable", "true");
	expect_json(j, "best_backend", "\"lab\"");
	free(j);
	free(r);
}

/* the probe under a sysroot meets the fixture's plain file, and says so */
Test(fixture_amd, probe_under_sysroot)
{
	char root[PATH_MAX];
	struct doctor_report *r;

	snprintf(root, sizeof(root), "%s/amd-epyc-vm", FIXTURES);
	r = collect(root, 0);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_not_null(strstr(r->kvm.probe.error, "not a KVM device"));
	free(r);
}

/* ---- (c) a host with nothing ---- */

Test(fixture_nothing, parsed_and_reasons)
{
	struct doctor_report *r = fixture("nothing");
	char *t = render(r, false), *j = render(r, true);

	cr_expect_str_eq(r->cpu.vendor, "unknown");
	cr_expect_eq(r->cpu.count, 0);
	cr_expect_str_eq(r->cpu.vmx.why, "no /proc/cpuinfo");
	cr_expect_str_eq(r->kernel.release, "unknown");
	cr_expect_eq(r->kernel.headers.v, TRI_UNKNOWN);
	cr_expect_str_eq(r->thp.enabled, "unavailable");
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason, "no /dev/dune: CPU has no VMX");
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "no /dev/kvm: CPU has no VMX or SVM");
	cr_expect_eq(r->backend[BACKEND_LAB].usable, TRI_NO);
	cr_expect_str_eq(r->best, "none");
	/* every "no" in the text has a reason after it */
	for (const char *p = t; (p = strstr(p, " no       ")); p++)
		cr_expect(p[10] != '\n' && p[10] != '\0', "a 'no' without a reason in:\n%s", t);
	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "cpu.count", "0");
	expect_json(j, "kernel.headers", "null");
	expect_json(j, "best_backend", "\"none\"");
	free(t);
	free(j);
	free(r);
}

/* ---- generated trees for the odd cases ---- */

Test(generated, old_kernel_without_vmx_flags_line)
{
	char *root = tmproot();
	struct doctor_report *r;
	char *j;

	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU E5-2680 v2\n"
	    "flags\t\t: fpu vme vmx tpr_shadow vnmi flexpriority ept vpid lm\n\n");
	put(root, "proc/sys/kernel/osrelease", "4.19.0-26-amd64\n");
	put(root, "proc/cmdline", "ro quiet nokaslr\n");
	r = collect(root, DOCTOR_NO_PROBE);
	cr_expect_eq(r->cpu.vmx.v, TRI_YES);
	cr_expect_eq(r->cpu.ept.v, TRI_YES);
	cr_expect_eq(r->cpu.vpid.v, TRI_YES);
	cr_expect_eq(r->cpu.ept_ad.v, TRI_NO, "ept_ad would be in flags on this kernel");
	cr_expect_eq(r->cpu.ept_1gb.v, TRI_UNKNOWN);
	cr_expect_eq(r->cpu.posted_intr.v, TRI_UNKNOWN);
	cr_expect(r->kernel.nokaslr);
	cr_expect_eq(r->backend[BACKEND_VMX].usable, TRI_NO);
	cr_expect_not_null(strstr(r->backend[BACKEND_VMX].reason, "dune.ko not loaded, and no headers"));
	j = render(r, true);
	cr_assert(json_valid(j));
	expect_json(j, "cpu.ept_1gb", "null");
	expect_json(j, "kernel.nokaslr", "true");
	free(j);
	free(r);
	rmroot(root);
}

Test(generated, intel_vm_without_nested_vmx)
{
	char *root = tmproot();
	struct doctor_report *r;

	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu lm hypervisor\n\n");
	put(root, "sys/class/dmi/id/sys_vendor", "QEMU\n");
	put(root, "sys/class/dmi/id/product_name", "Standard PC (Q35 + ICH9, 2009)\n");
	r = collect(root, DOCTOR_NO_PROBE);
	cr_expect_str_eq(r->cpu.vmx.why, "not in CPU flags: the hypervisor does not expose nested VT-x");
	cr_expect_eq(r->virt.in_vm.v, TRI_YES);
	cr_expect_not_null(strstr(r->virt.in_vm.why, "DMI \"QEMU Standard PC"));
	free(r);
	rmroot(root);
}

Test(generated, vmx_without_ept_and_module_loaded)
{
	char *root = tmproot();
	struct doctor_report *r;

	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx lm\n"
	    "vmx flags\t: vnmi preemption_timer tsc_offset vtpr\n\n");
	put(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
	put(root, "lib/modules/6.1.0-18-amd64/build/Makefile", "\n");
	r = collect(root, DOCTOR_NO_PROBE);
	cr_expect_eq(r->cpu.ept.v, TRI_NO);
	cr_expect_eq(r->cpu.ept_1gb.v, TRI_NO);
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason,
			 "no /dev/dune, and the CPU lacks EPT, which Dune needs");
	free(r);

	/* with EPT and VPID, the missing piece is the module */
	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx lm\n"
	    "vmx flags\t: ept vpid unrestricted_guest\n\n");
	r = collect(root, DOCTOR_NO_PROBE);
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason,
			 "dune.ko not loaded (make module && insmod build/module/dune.ko)");
	free(r);
	rmroot(root);
}

/*
 * No headers for the running kernel: doctor names a Debian package only when
 * apt-cache (the sysroot's usr/bin/apt-cache, a fake here) knows it, and
 * gives a generic hint when apt-cache is absent or does not answer.
 */
static struct doctor_report *no_headers_host(const char *root, const char *release,
					     const char *apt_cache)
{
	char p[PATH_MAX];

	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu vmx lm\n"
	    "vmx flags\t: ept vpid unrestricted_guest\n\n");
	snprintf(p, sizeof(p), "%s\n", release);
	put(root, "proc/sys/kernel/osrelease", p);
	snprintf(p, sizeof(p), "%s/usr/bin/apt-cache", root);
	unlink(p);
	if (apt_cache) {
		put(root, "usr/bin/apt-cache", apt_cache);
		cr_assert_eq(chmod(p, 0755), 0);
	}
	return collect(root, DOCTOR_NO_PROBE);
}

/* a fake apt-cache that knows exactly one package (and checks how it is asked) */
#define FAKE_APT_CACHE_KNOWS(pkg) \
	"#!/bin/sh\n[ \"$*\" = \"show " pkg "\" ] && { echo 'Package: " pkg "'; exit 0; }\n" \
	"echo 'E: No packages found' >&2; exit 100\n"

Test(generated, headers_hint_package_known, .timeout = 20)
{
	char *root = tmproot();
	struct doctor_report *r;

	r = no_headers_host(root, "6.1.0-18-amd64", FAKE_APT_CACHE_KNOWS("linux-headers-6.1.0-18-amd64"));
	cr_expect_eq(r->kernel.headers.v, TRI_NO);
	cr_expect_not_null(strstr(r->kernel.headers.why, "apt-get install linux-headers-6.1.0-18-amd64"),
			   "%s", r->kernel.headers.why);
	cr_expect_not_null(strstr(r->backend[BACKEND_VMX].reason,
				  "apt-get install linux-headers-6.1.0-18-amd64"),
			   "%s", r->backend[BACKEND_VMX].reason);
	free(r);
	rmroot(root);
}

Test(generated, headers_hint_no_such_package, .timeout = 20)
{
	char *root = tmproot();
	struct doctor_report *r;

	r = no_headers_host(root, "6.18.44-custom", FAKE_APT_CACHE_KNOWS("linux-headers-6.1.0-18-amd64"));
	cr_expect_eq(r->kernel.headers.v, TRI_NO);
	cr_expect_null(strstr(r->kernel.headers.why, "apt-get install"), "%s", r->kernel.headers.why);
	cr_expect_not_null(strstr(r->kernel.headers.why, "no Debian package linux-headers-6.18.44-custom"),
			   "%s", r->kernel.headers.why);
	cr_expect_null(strstr(r->backend[BACKEND_VMX].reason, "apt-get install"),
		       "%s", r->backend[BACKEND_VMX].reason);
	cr_expect_not_null(strstr(r->backend[BACKEND_VMX].reason, "KDIR="),
			   "%s", r->backend[BACKEND_VMX].reason);
	free(r);
	rmroot(root);
}

Test(generated, headers_hint_without_apt_cache, .timeout = 60)
{
	char *root = tmproot(), p[PATH_MAX];
	struct doctor_report *r;

	/* absent, not executable (as in the fixtures), broken, hanging */
	static const char *const fakes[] = {
		NULL,
		"#!/bin/sh\nexec /nonexistent/apt-cache \"$@\"\n",
		"#!/bin/sh\nexec sleep 60\n",
	};
	for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++) {
		time_t t0 = time(NULL);

		r = no_headers_host(root, "6.1.0-18-amd64", fakes[i]);
		/* a hang guard (the hanging fake sleeps 60 s), not a speed goal */
		cr_expect_leq(time(NULL) - t0, 15, "fake %zu: apt-cache not given up on", i);
		cr_expect_eq(r->kernel.headers.v, TRI_NO);
		cr_expect_null(strstr(r->kernel.headers.why, "linux-headers-"),
			       "fake %zu: %s", i, r->kernel.headers.why);
		cr_expect_not_null(strstr(r->kernel.headers.why, "install this kernel's headers"),
				   "fake %zu: %s", i, r->kernel.headers.why);
		cr_expect_null(strstr(r->backend[BACKEND_VMX].reason, "linux-headers-"),
			       "fake %zu: %s", i, r->backend[BACKEND_VMX].reason);
		free(r);
	}
	put(root, "usr/bin/apt-cache", FAKE_APT_CACHE_KNOWS("linux-headers-6.1.0-18-amd64"));
	snprintf(p, sizeof(p), "%s/usr/bin/apt-cache", root);
	cr_assert_eq(chmod(p, 0644), 0);
	r = collect(root, DOCTOR_NO_PROBE);	/* the fake that knows it, but not executable */
	cr_expect_null(strstr(r->kernel.headers.why, "linux-headers-"), "%s", r->kernel.headers.why);
	free(r);
	rmroot(root);
}

Test(generated, dangling_headers_and_other_misc_owner)
{
	char *root = tmproot(), p[PATH_MAX];
	struct doctor_report *r;

	put(root, "proc/sys/kernel/osrelease", "6.1.0-18-amd64\n");
	put(root, "lib/modules/6.1.0-18-amd64/modules.dep", "\n");
	snprintf(p, sizeof(p), "%s/lib/modules/6.1.0-18-amd64/build", root);
	cr_assert_eq(symlink("/nonexistent/linux-headers", p), 0);
	put(root, "proc/misc", "232 kvm\n233 dune_v2\n");
	put(root, "sys/module/dune_v2/refcnt", "1\n");
	put(root, "dev/dune", "");
	r = collect(root, DOCTOR_NO_PROBE);
	cr_expect_eq(r->kernel.headers.v, TRI_NO);
	cr_expect_not_null(strstr(r->kernel.headers.why, "dangling"));
	cr_expect_str_eq(r->dune.misc_name, "dune_v2");
	cr_expect_str_eq(r->dune.module, "dune_v2");
	cr_expect_eq(r->backend[BACKEND_VMX].usable, TRI_YES);
	free(r);
	rmroot(root);
}

/* ---- (d) the hosts of the host matrix: no /dev/kvm, emulating KVM, native KVM ---- */

/* the fixture collected with the ring-0 probe (its dev/kvm is a fake KVM) */
static struct doctor_report *fixture_probed(const char *name)
{
	char root[PATH_MAX];

	snprintf(root, sizeof(root), "%s/%s", FIXTURES, name);
	return collect(root, 0);
}

Test(fixture_nokvm, no_dev_kvm)
{
	struct doctor_report *r = fixture_probed("amd-epyc-vm-nokvm");
	char *t = render(r, false), *j = render(r, true);

	cr_expect_eq(r->cpu.family, 26);
	cr_expect_eq(r->cpu.model_num, 2);
	cr_expect_str_eq(r->kvm.module, "kvm_pvm");
	cr_expect_not(r->kvm.device);
	cr_expect_not(r->probe_run, "no device: nothing to probe");
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_str_eq(r->kvm.probe.error, "no /dev/kvm");
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "no /dev/kvm: CPU has no VMX or SVM");
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason, "no /dev/dune: CPU has no VMX");
	cr_expect_str_eq(r->backend[BACKEND_LAB].reason,
			 "bochs not installed, installable: make lab (installs it with apt-get)");
	cr_expect_str_eq(r->best, "lab");
	expect_row(t, "guest ring 0", "unusable", "no /dev/kvm");
	cr_expect_null(strstr(t, "probe skipped"), "no device, yet 'probe skipped':\n%s", t);
	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "kvm.device", "false");
	expect_json(j, "kvm.probe.verdict", "\"unusable\"");
	expect_json(j, "best_backend", "\"lab\"");
	free(t);
	free(j);
	free(r);
	/* --no-probe changes nothing where there is no device */
	r = fixture("amd-epyc-vm-nokvm");
	cr_expect_str_eq(r->kvm.probe.error, "no /dev/kvm");
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_NO);
	free(r);
}

Test(fixture_pvm, kvm_emulates_ring0)
{
	struct doctor_report *r = fixture_probed("amd-epyc-vm-pvm");
	char *t = render(r, false), *j = render(r, true);

	cr_expect(r->kvm.device);
	cr_expect(r->kvm.openable);
	cr_expect(r->probe_run);
	cr_expect_eq(r->kvm.api_version, 12);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_EMULATED);
	cr_expect_eq(r->kvm.probe.iterations, 25000);
	cr_expect(r->kvm.probe.timed_out);
	cr_expect_float_eq(r->kvm.probe.ratio, 1200.0, 1e-9);
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_NO);
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason,
			 "KVM emulates guest ring 0 (ratio 1200x): paravirtual nested KVM (kvm_pvm)");
	cr_expect_str_eq(r->best, "lab");
	expect_row(t, "guest ring 0", "emulated", "ratio 1200.0x: 25000 iterations in 300.000 ms "
		   "in the guest, 0.250 ms natively (guest cut short by the timeout)");
	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "kvm.probe.run", "true");
	expect_json(j, "kvm.probe.verdict", "\"emulated\"");
	expect_json(j, "kvm.probe.ratio", "1200.000");
	expect_json(j, "kvm.probe.guest_ns", "300000000");
	expect_json(j, "backends.kvm.usable", "false");
	free(t);
	free(j);
	free(r);
	/* without the probe: the device opens, the verdict is unknown */
	r = fixture("amd-epyc-vm-pvm");
	t = render(r, false);
	cr_expect_not(r->probe_run);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNKNOWN);
	cr_expect_eq(r->kvm.api_version, 12);
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_UNKNOWN);
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason,
			 "API version 12; ring-0 probe skipped (--no-probe)");
	expect_row(t, "guest ring 0", "unknown", "probe skipped (--no-probe)");
	free(t);
	free(r);
}

Test(fixture_zen3, kvm_native)
{
	struct doctor_report *r = fixture_probed("amd-zen3-kvm");
	char *t = render(r, false);

	cr_expect_eq(r->cpu.family, 25);
	cr_expect_eq(r->cpu.model_num, 1);
	cr_expect_eq(r->cpu.svm.v, TRI_YES);
	cr_expect_eq(r->cpu.npt.v, TRI_YES);
	cr_expect_eq(r->cpu.avic.v, TRI_YES);
	cr_expect_eq(r->virt.in_vm.v, TRI_NO);
	cr_expect_str_eq(r->kvm.module, "kvm_amd");
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_NATIVE);
	cr_expect_float_eq(r->kvm.probe.ratio, 1.1, 1e-9);
	cr_expect_eq(r->backend[BACKEND_KVM].usable, TRI_YES);
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "guest ring 0 runs natively (ratio 1.1x)");
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason,
			 "no /dev/dune: CPU has no VMX (AMD CPU: use the kvm backend)");
	cr_expect_eq(r->backend[BACKEND_LAB].usable, TRI_YES);
	cr_expect_str_eq(r->best, "kvm");
	expect_row(t, "guest ring 0", "native", "ratio 1.1x: 100000 iterations in 0.055 ms");
	cr_expect_not_null(strstr(t, "Best backend for `make bench`: kvm\n"));
	free(t);
	free(r);
}

Test(fixture_golden_cove, kvm_native_no_module)
{
	struct doctor_report *r = fixture_probed("intel-golden-cove-kvm");

	cr_expect_str_eq(r->cpu.vendor, "GenuineIntel");
	cr_expect_eq(r->cpu.family, 6);
	cr_expect_eq(r->cpu.model_num, 143);
	cr_expect_eq(r->cpu.vmx.v, TRI_YES);
	cr_expect_eq(r->cpu.ept_1gb.v, TRI_YES);
	cr_expect_eq(r->kernel.headers.v, TRI_YES);
	cr_expect_str_eq(r->kvm.module, "kvm_intel");
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_NATIVE);
	cr_expect_str_eq(r->backend[BACKEND_VMX].reason,
			 "dune.ko not loaded (make module && insmod build/module/dune.ko)");
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "guest ring 0 runs natively (ratio 1.0x)");
	cr_expect_str_eq(r->backend[BACKEND_LAB].reason, "bochs installed: make lab");
	cr_expect_str_eq(r->best, "kvm");
	free(r);
}

/* the dunebench binary under a fixture, as a user would run it */
static char *doctor_under(const char *name, const char *args)
{
	char cmd[PATH_MAX + 256], *out;

	snprintf(cmd, sizeof(cmd), "DUNEBENCH_SYSROOT='%s/%s' %s doctor %s", FIXTURES, name,
		 DUNEBENCH_BIN, args);
	cr_assert_eq(run(cmd, &out), 0, "%s", cmd);
	return out;
}

Test(fixture_cli, no_probe_row_per_host, .timeout = 20)
{
	char *t;

	t = doctor_under("intel-golden-cove-kvm", "--no-probe");
	expect_row(t, "guest ring 0", "unknown", "probe skipped (--no-probe)");
	expect_row(t, "kvm", "unknown", "API version 12; ring-0 probe skipped (--no-probe)");
	free(t);
	t = doctor_under("amd-epyc-vm-nokvm", "--no-probe");
	expect_row(t, "guest ring 0", "unusable", "no /dev/kvm");
	expect_row(t, "kvm", "no", "no /dev/kvm: CPU has no VMX or SVM");
	free(t);
	t = doctor_under("amd-zen3-kvm", "");
	expect_row(t, "guest ring 0", "native", "ratio 1.1x");
	expect_row(t, "kvm", "yes", "guest ring 0 runs natively (ratio 1.1x)");
	free(t);
}

/* fake KVMs for the odd cases: refused, failing, and a malformed fixture */
static struct doctor_report *fake_kvm_host(const char *root, const char *fake, unsigned flags)
{
	put(root, "proc/cpuinfo",
	    "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu svm npt lm\n\n");
	put(root, "sys/module/kvm_amd/refcnt", "0\n");
	put(root, "dev/kvm", fake);
	return collect(root, flags);
}

Test(generated, fake_kvm_refused_failing_malformed)
{
	char *root = tmproot();
	struct doctor_report *r;

	r = fake_kvm_host(root, "dunebench-fake-kvm\nopen_errno=13\n", 0);
	cr_expect(r->kvm.device);
	cr_expect_not(r->kvm.openable);
	cr_expect_eq(r->kvm.open_errno, 13);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_not_null(strstr(r->backend[BACKEND_KVM].reason,
				  "/dev/kvm: Permission denied (add your user to group kvm)"),
			   "%s", r->backend[BACKEND_KVM].reason);
	cr_expect_str_eq(r->best, "none");
	free(r);

	r = fake_kvm_host(root, "dunebench-fake-kvm\napi_version=12\n"
			  "error=KVM_CREATE_VM: Cannot allocate memory\n", 0);
	cr_expect(r->kvm.openable);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_str_eq(r->backend[BACKEND_KVM].reason, "KVM_CREATE_VM: Cannot allocate memory");
	free(r);

	r = fake_kvm_host(root, "dunebench-fake-kvm\napi_version=11\n", DOCTOR_NO_PROBE);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_not_null(strstr(r->kvm.probe.error, "has KVM API version 11, want 12"), "%s",
			   r->kvm.probe.error);
	free(r);

	r = fake_kvm_host(root, "dunebench-fake-kvm\nguest_ns=10\nratio=3\n", 0);
	cr_expect_eq(r->kvm.probe.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_not_null(strstr(r->kvm.probe.error, "fake KVM line 3: unknown key 'ratio'"),
			   "%s", r->kvm.probe.error);
	free(r);

	r = fake_kvm_host(root, "dunebench-fake-kvm\nguest_ns=lots\n", 0);
	cr_expect_not_null(strstr(r->kvm.probe.error, "fake KVM line 2: guest_ns: not a number 'lots'"),
			   "%s", r->kvm.probe.error);
	free(r);

	/* only doctor under a sysroot believes it: the probe itself meets a plain file */
	{
		char dev[PATH_MAX];
		struct dune_kvm_probe p;

		snprintf(dev, sizeof(dev), "%s/dev/kvm", root);
		cr_expect_eq(dune_kvm_probe_ring0(&p, dev, 100), -1);
		cr_expect_not_null(strstr(p.error, "is not a KVM device"));
	}
	rmroot(root);
}

/* ---- JSON strings ---- */

static char *json_str(const char *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	doctor_json_string(f, s);
	fclose(f);
	return buf;
}

Test(json, escaping)
{
	char *s = json_str("a\"b\\c\nd\te\x01\x1f\x7f/");

	cr_expect_str_eq(s, "\"a\\\"b\\\\c\\nd\\te\\u0001\\u001f\\u007f/\"");
	free(s);
	s = json_str("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");	/* valid UTF-8 passes */
	cr_expect_str_eq(s, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	free(s);
	s = json_str("x\xffy\xc3(\xc0\xaf\xed\xa0\x80");	/* invalid, overlong, surrogate */
	cr_expect_str_eq(s, "\"x\\ufffdy\\ufffd(\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	free(s);
	s = json_str(NULL);
	cr_expect_str_eq(s, "\"\"");
	free(s);
}

Test(json, hostile_fixture_strings)
{
	char *root = tmproot(), *j;
	struct doctor_report *r;

	put(root, "proc/cpuinfo", "processor\t: 0\nvendor_id\t: Gen\"uine\\\nmodel name\t: \x01\xfe\n\n");
	put(root, "proc/cmdline", "init=\"/bin/sh\" a\\b\n");
	r = collect(root, DOCTOR_NO_PROBE);
	j = render(r, true);
	cr_assert(json_valid(j), "invalid JSON:\n%s", j);
	expect_json(j, "cpu.vendor", "\"Gen\\\"uine\\\\\"");
	free(j);
	free(r);
	rmroot(root);
}

/*
 * ---- live: the host the tests run on ----
 *
 * These assert only what holds on every host.  They run dunebench as a user
 * would, so DUNEBENCH_SYSROOT, when set, simulates the host: the host-matrix
 * self-test (harness/tests/host-matrix) runs them under each of its fixtures.
 */

Test(live, doctor_json, .timeout = 20)
{
	char *out;
	int rc;

	rc = run(DUNEBENCH_BIN " doctor --json", &out);
	cr_expect_eq(rc, 0);
	cr_assert(json_valid(out), "invalid JSON:\n%s", out);
	static const char *const keys[] = {
		"doctor_version", "cpu.vendor", "cpu.vmx", "cpu.svm", "virt.in_vm",
		"kernel.release", "dune.device", "kvm.device", "kvm.probe.verdict",
		"thp.enabled", "backends.vmx.usable", "backends.kvm.reason",
		"backends.lab.usable", "best_backend",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		cr_expect_neq(jget(out, keys[i])[0], '\0', "key %s missing", keys[i]);
	/* the kvm backend is usable exactly when the probe said native */
	cr_expect_eq(!strcmp(jget(out, "backends.kvm.usable"), "true"),
		     !strcmp(jget(out, "kvm.probe.verdict"), "\"native\""));
	free(out);
}

/*
 * --no-probe never runs the probe.  Where /dev/kvm opens, the verdict is
 * "unknown" (probe skipped); where there is no usable device, "unusable"
 * with the reason, and nothing claims a probe was skipped.
 */
Test(live, doctor_text_and_args, .timeout = 20)
{
	char *out, verdict[32];

	cr_expect_eq(run(DUNEBENCH_BIN " doctor --no-probe --json", &out), 0);
	cr_assert(json_valid(out), "invalid JSON:\n%s", out);
	expect_json(out, "kvm.probe.run", "false");
	snprintf(verdict, sizeof(verdict), "%s", jget(out, "kvm.probe.verdict"));
	cr_assert(!strcmp(verdict, "\"unknown\"") || !strcmp(verdict, "\"unusable\""),
		  "--no-probe gave verdict %s", verdict);
	cr_expect_eq(!strcmp(verdict, "\"unknown\""), !strcmp(jget(out, "kvm.openable"), "true"),
		     "unknown exactly when /dev/kvm opens:\n%s", out);
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " doctor --no-probe", &out), 0);
	cr_expect_not_null(strstr(out, "\nBackends\n"));
	cr_expect_not_null(strstr(out, "Best backend for `make bench`: "));
	if (!strcmp(verdict, "\"unknown\"")) {
		expect_row(out, "guest ring 0", "unknown", "probe skipped (--no-probe)");
		expect_row(out, "kvm", "unknown", "ring-0 probe skipped (--no-probe)");
	} else {
		expect_row(out, "guest ring 0", "unusable", NULL);
		expect_row(out, "kvm", "no", NULL);
		cr_expect_null(strstr(out, "probe skipped"), "no usable /dev/kvm, yet:\n%s", out);
	}
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " doctor --help", &out), 0);
	cr_expect_not_null(strstr(out, "usage: dunebench doctor"));
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " doctor --bogus 2>&1", &out), 2);
	cr_expect_not_null(strstr(out, "unknown argument '--bogus'"));
	free(out);
}

Test(live, dispatcher)
{
	char *out;

	cr_expect_eq(run(DUNEBENCH_BIN " --help", &out), 0);
	cr_expect_not_null(strstr(out, "  doctor "));
	cr_expect_not_null(strstr(out, "  selftest       (dunebench-selftest)"), "%s", out);
	/* described commands are listed only when their program is there */
	cr_expect_null(strstr(out, "  bench "), "%s", out);
	for (const char *p = out; *p; p = strchr(p, '\n') + 1)
		cr_expect_leq(strcspn(p, "\n"), 79, "line too long: %.*s", (int)strcspn(p, "\n"), p);
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " --version", &out), 0);
	cr_expect_eq(strncmp(out, "dunebench ", 10), 0);
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " selftest a 'b c'", &out), 7);
	cr_expect_str_eq(out, "selftest-args: a b c\n");
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " nosuchcmd 2>&1", &out), 2);
	cr_expect_not_null(strstr(out, "'nosuchcmd' is not a dunebench command"));
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " ../bin/sh 2>&1", &out), 2);
	cr_expect_not_null(strstr(out, "is not a command"));
	free(out);
	cr_expect_eq(run(DUNEBENCH_BIN " 2>&1", &out), 2);
	free(out);
}

Test(live, kvm_probe_consistent, .timeout = 20)
{
	struct dune_kvm_probe p;
	struct sigaction sa;
	struct timespec t0, t1;
	sigset_t mask;
	int rc;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = dune_kvm_probe_ring0(&p, NULL, 300);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* the probe gives up after 300 ms; a hang guard, loose for loaded hosts */
	cr_expect_lt(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9, 10.0,
		     "the KVM probe did not give up after its 300 ms");
	cr_expect(p.verdict == DUNE_KVM_NATIVE || p.verdict == DUNE_KVM_EMULATED ||
		  p.verdict == DUNE_KVM_UNUSABLE, "verdict %d", p.verdict);
	if (p.verdict == DUNE_KVM_UNUSABLE) {
		cr_expect_eq(rc, -1);
		cr_expect_neq(p.error[0], '\0', "an unusable KVM has a reason");
	} else {
		cr_expect_eq(rc, 0);
		cr_expect_eq(p.api_version, 12);
		cr_expect_gt(p.iterations, 0);
		cr_expect_gt(p.ratio, 0.0);
		cr_expect_eq(p.verdict == DUNE_KVM_EMULATED, p.ratio > DUNE_KVM_EMULATED_RATIO,
			     "ratio %.1f but verdict %s", p.ratio, dune_kvm_verdict_name(p.verdict));
		cr_expect_eq(p.timed_out, p.iterations < DUNE_KVM_PROBE_ITERS);
	}
	/* nothing left behind: handler and mask restored, no signal pending */
	sigaction(DUNE_KVM_PROBE_SIGNAL, NULL, &sa);
	cr_expect_eq(sa.sa_handler, SIG_DFL);
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	cr_expect_not(sigismember(&mask, DUNE_KVM_PROBE_SIGNAL));
	sigpending(&mask);
	cr_expect_not(sigismember(&mask, DUNE_KVM_PROBE_SIGNAL));
}

Test(live, kvm_probe_bad_devices)
{
	struct dune_kvm_probe p;

	cr_expect_eq(dune_kvm_probe_ring0(&p, "/dev/null", 100), -1);
	cr_expect_eq(p.verdict, DUNE_KVM_UNUSABLE);
	cr_expect_str_eq(p.error, "/dev/null is not a KVM device (KVM_GET_API_VERSION: "
			 "Inappropriate ioctl for device)");
	cr_expect_eq(dune_kvm_probe_open(&p, "/nonexistent/kvm"), -1);
	cr_expect_str_eq(p.error, "cannot open /nonexistent/kvm: No such file or directory");
	cr_expect_eq(p.api_version, -1);
	cr_expect_str_eq(dune_kvm_verdict_name(DUNE_KVM_EMULATED), "emulated");
}

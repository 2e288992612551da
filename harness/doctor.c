// SPDX-License-Identifier: MIT
/*
 * doctor.c - `dunebench doctor`: what this host can run, and why not.
 *
 * NAME
 *	dunebench doctor - report the Dune backends this host can run
 *
 * SYNOPSIS
 *	dunebench doctor [--json] [--no-probe]
 *
 * DESCRIPTION
 *	Prints the CPU's virtualization features (VMX, EPT, VPID, EPT A/D,
 *	1 GB EPT pages, unrestricted guest, posted interrupts; SVM, NPT,
 *	AVIC), whether the host is itself a virtual machine, the running
 *	kernel (release, nokaslr, installed headers), who owns /dev/dune,
 *	whether /dev/kvm opens and whether its KVM runs guest ring 0 in
 *	hardware or emulates it, the transparent huge page mode, and last
 *	the three backends (vmx, kvm, lab) with a reason for each one that
 *	is not usable, and the one `make bench` will use.
 *
 *	The KVM check runs the same integer loop natively and in ring 0 of
 *	a one-vCPU guest; a guest over 50 times slower is emulated (as on
 *	paravirtual nested hypervisors).  It takes at most ~0.3 s.
 *
 * OPTIONS
 *	--json		print one JSON object instead of text (keys below)
 *	--no-probe	skip the KVM timing probe; the kvm backend is then
 *			reported as "unknown"
 *	-h, --help	print this help
 *
 * ENVIRONMENT
 *	DUNEBENCH_SYSROOT
 *		read every file (proc/cpuinfo, proc/misc, sys/..., dev/...,
 *		lib/modules/..., usr/bin/bochs) under this directory instead
 *		of /, for tests with fixture trees.  There, dev/kvm may be a
 *		fake KVM that answers the probe ("fake KVM" below).
 *
 * EXIT STATUS
 *	0 when the report was printed, whatever it says; 2 on bad arguments.
 *
 * JSON KEYS (version 1; keys are only ever added)
 *	doctor_version		1
 *	sysroot			DUNEBENCH_SYSROOT or ""
 *	cpu.vendor, cpu.model, cpu.microcode	strings from /proc/cpuinfo
 *	cpu.family, cpu.model_number, cpu.stepping, cpu.count	integers
 *	cpu.vmx_flags_line	the kernel prints a "vmx flags" line
 *	cpu.{vmx,ept,vpid,ept_ad,ept_1gb,unrestricted_guest,posted_intr,
 *	     svm,npt,avic}	true, false, or null (not visible from here)
 *	virt.in_vm		true/false
 *	virt.hypervisor_flag	"hypervisor" in CPU flags
 *	virt.cpuid_vendor	CPUID 0x40000000 signature, "" if none
 *	virt.dmi_sys_vendor, virt.dmi_product_name, virt.sys_hypervisor_type
 *	kernel.release, kernel.cmdline, kernel.nokaslr
 *	kernel.headers		/lib/modules/<release>/build exists
 *	kernel.headers_path
 *	dune.device		/dev/dune exists
 *	dune.misc_minor_233	name registered for misc minor 233, or null
 *	dune.module		module owning /dev/dune, or "none"
 *	dune.access		read/write access to /dev/dune
 *	kvm.device, kvm.openable, kvm.api_version (-1 unknown), kvm.module
 *	kvm.probe.run		the timing probe ran
 *	kvm.probe.verdict	"native", "emulated", "unusable" or "unknown"
 *	kvm.probe.ratio		guest time / native time (0 if not measured)
 *	kvm.probe.guest_ns, kvm.probe.native_ns, kvm.probe.iterations
 *	kvm.probe.timed_out, kvm.probe.error
 *	thp.enabled, thp.defrag	bracketed mode, or "unavailable"
 *	backends.{vmx,kvm,lab}.usable	true, false, or null (not probed)
 *	backends.{vmx,kvm,lab}.reason	why (not) usable, one line
 *	best_backend		"vmx", "kvm", "lab" or "none"
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "doctor.h"

#define DUNE_MISC_MINOR	233

static const char usage[] =
"usage: dunebench doctor [--json] [--no-probe]\n"
"\n"
"Report what this host can run: the CPU's virtualization features, whether\n"
"it is a virtual machine, the kernel, /dev/dune and its module, /dev/kvm and\n"
"whether its KVM runs guest ring 0 natively or emulates it, transparent huge\n"
"pages, and the backends (vmx, kvm, lab) with a reason for each one that is\n"
"not usable.\n"
"\n"
"  --json       print one JSON object (keys documented in harness/doctor.c)\n"
"  --no-probe   skip the KVM timing probe (~0.3 s); kvm is then \"unknown\"\n"
"  -h, --help   print this help\n"
"\n"
"Environment: DUNEBENCH_SYSROOT=DIR reads proc/, sys/, dev/ ... under DIR.\n"
"Exit status: 0 when the report was printed, 2 on bad arguments.\n";

/* ---- small helpers ---- */

static void setf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void setf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

#define cap_set(c, val, ...) \
	do { (c)->v = (val); setf((c)->why, sizeof((c)->why), __VA_ARGS__); } while (0)

/* path under the sysroot */
static void rpath(const struct doctor_report *r, char *buf, size_t n, const char *path)
{
	setf(buf, n, "%s%s", r->sysroot, path);
}

static bool exists(const struct doctor_report *r, const char *path)
{
	char p[PATH_MAX];
	struct stat st;

	rpath(r, p, sizeof(p), path);
	return lstat(p, &st) == 0;
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
}

/* first line of a file, without its newline; -1 if unreadable */
static int read_line(const struct doctor_report *r, const char *path, char *buf, size_t n)
{
	char p[PATH_MAX];
	FILE *f;
	int rc = -1;

	buf[0] = '\0';
	rpath(r, p, sizeof(p), path);
	f = fopen(p, "re");
	if (!f)
		return -1;
	if (fgets(buf, (int)n, f)) {
		chomp(buf);
		rc = 0;
	}
	fclose(f);
	return rc;
}

/* is word one of the space-separated words of list? */
static bool has_word(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; p && *p;) {
		while (*p == ' ' || *p == '\t')
			p++;
		size_t len = strcspn(p, " \t");
		if (len == n && !strncmp(p, word, n))
			return true;
		p += len;
	}
	return false;
}

static void copy(char *dst, size_t n, const char *src)
{
	setf(dst, n, "%s", src ? src : "");
}

/* ---- CPU ---- */

struct cpuinfo_raw {
	char *flags;		/* "flags" line of the first processor */
	char *vmx_flags;	/* "vmx flags" line, NULL if absent */
	bool found;
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	chomp(s);
	return s;
}

static void cpuinfo_field(struct doctor_report *r, struct cpuinfo_raw *raw,
			  const char *key, const char *val)
{
	if (!strcmp(key, "vendor_id"))
		copy(r->cpu.vendor, sizeof(r->cpu.vendor), val);
	else if (!strcmp(key, "model name"))
		copy(r->cpu.model, sizeof(r->cpu.model), val);
	else if (!strcmp(key, "microcode"))
		copy(r->cpu.microcode, sizeof(r->cpu.microcode), val);
	else if (!strcmp(key, "cpu family"))
		r->cpu.family = atoi(val);
	else if (!strcmp(key, "model"))
		r->cpu.model_num = atoi(val);
	else if (!strcmp(key, "stepping"))
		r->cpu.stepping = atoi(val);
	else if (!strcmp(key, "flags") && !raw->flags)
		raw->flags = strdup(val);
	else if (!strcmp(key, "vmx flags") && !raw->vmx_flags)
		raw->vmx_flags = strdup(val);
}

static void read_cpuinfo(struct doctor_report *r, struct cpuinfo_raw *raw)
{
	char p[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;

	rpath(r, p, sizeof(p), "/proc/cpuinfo");
	f = fopen(p, "re");
	if (!f)
		return;
	raw->found = true;
	while (getline(&line, &cap, f) > 0) {
		char *colon = strchr(line, ':');
		if (!colon)
			continue;
		*colon = '\0';
		char *key = trim(line), *val = trim(colon + 1);
		if (!strcmp(key, "processor"))
			r->cpu.count++;
		if (r->cpu.count <= 1)
			cpuinfo_field(r, raw, key, val);
	}
	free(line);
	fclose(f);
	r->cpu.vmx_flags_line = raw->vmx_flags != NULL;
}

static bool is_intel(const struct doctor_report *r)
{
	return !strcmp(r->cpu.vendor, "GenuineIntel");
}

static bool is_amd(const struct doctor_report *r)
{
	return !strcmp(r->cpu.vendor, "AuthenticAMD") ||
	       !strcmp(r->cpu.vendor, "HygonGenuine");
}

static void cap_vmx(struct doctor_report *r, const struct cpuinfo_raw *raw)
{
	struct doctor_cap *c = &r->cpu.vmx;

	if (!raw->found)
		cap_set(c, TRI_NO, "no /proc/cpuinfo");
	else if (has_word(raw->flags, "vmx"))
		cap_set(c, TRI_YES, "vmx in CPU flags");
	else if (!is_intel(r))
		cap_set(c, TRI_NO, "not an Intel CPU (%s)", r->cpu.vendor);
	else if (r->virt.hypervisor_flag)
		cap_set(c, TRI_NO, "not in CPU flags: the hypervisor does not expose nested VT-x");
	else
		cap_set(c, TRI_NO, "not in CPU flags: disabled in the firmware, or unsupported");
}

/* a VT-x feature: in the "vmx flags" line, and for some also in "flags" */
static void cap_vmx_feature(struct doctor_report *r, const struct cpuinfo_raw *raw,
			    struct doctor_cap *c, const char *name, bool in_flags)
{
	if (r->cpu.vmx.v != TRI_YES)
		cap_set(c, TRI_NO, "needs VMX");
	else if (has_word(raw->vmx_flags, name))
		cap_set(c, TRI_YES, "%s in vmx flags", name);
	else if (in_flags && has_word(raw->flags, name))
		cap_set(c, TRI_YES, "%s in CPU flags", name);
	else if (raw->vmx_flags)
		cap_set(c, TRI_NO, "not in vmx flags: this CPU (or hypervisor) lacks it");
	else if (in_flags)
		cap_set(c, TRI_NO, "not in CPU flags");
	else
		cap_set(c, TRI_UNKNOWN, "not visible: no \"vmx flags\" line in /proc/cpuinfo (Linux < 5.8)");
}

static void cap_svm(struct doctor_report *r, const struct cpuinfo_raw *raw)
{
	struct doctor_cap *c = &r->cpu.svm;

	if (!raw->found)
		cap_set(c, TRI_NO, "no /proc/cpuinfo");
	else if (has_word(raw->flags, "svm"))
		cap_set(c, TRI_YES, "svm in CPU flags");
	else if (!is_amd(r))
		cap_set(c, TRI_NO, "not an AMD CPU (%s)", r->cpu.vendor);
	else if (r->virt.hypervisor_flag)
		cap_set(c, TRI_NO, "not in CPU flags: the hypervisor does not expose nested SVM");
	else
		cap_set(c, TRI_NO, "not in CPU flags: disabled in the firmware, or unsupported");
}

static void cap_svm_feature(struct doctor_report *r, const struct cpuinfo_raw *raw,
			    struct doctor_cap *c, const char *name)
{
	if (r->cpu.svm.v != TRI_YES)
		cap_set(c, TRI_NO, "needs SVM");
	else if (has_word(raw->flags, name))
		cap_set(c, TRI_YES, "%s in CPU flags", name);
	else
		cap_set(c, TRI_NO, "not in CPU flags: this CPU (or hypervisor) lacks it");
}

static void collect_cpu(struct doctor_report *r)
{
	struct cpuinfo_raw raw = { 0 };

	copy(r->cpu.vendor, sizeof(r->cpu.vendor), "unknown");
	copy(r->cpu.model, sizeof(r->cpu.model), "unknown");
	read_cpuinfo(r, &raw);
	r->virt.hypervisor_flag = has_word(raw.flags, "hypervisor");

	cap_vmx(r, &raw);
	cap_vmx_feature(r, &raw, &r->cpu.ept, "ept", true);
	cap_vmx_feature(r, &raw, &r->cpu.vpid, "vpid", true);
	cap_vmx_feature(r, &raw, &r->cpu.ept_ad, "ept_ad", true);
	cap_vmx_feature(r, &raw, &r->cpu.ept_1gb, "ept_1gb", false);
	cap_vmx_feature(r, &raw, &r->cpu.unrestricted_guest, "unrestricted_guest", false);
	cap_vmx_feature(r, &raw, &r->cpu.posted_intr, "posted_intr", false);
	cap_svm(r, &raw);
	cap_svm_feature(r, &raw, &r->cpu.npt, "npt");
	cap_svm_feature(r, &raw, &r->cpu.avic, "avic");
	free(raw.flags);
	free(raw.vmx_flags);
}

/* ---- virtual machine or not ---- */

static void cpuid_hypervisor(char *out, size_t n)
{
	unsigned int a, b, c, d;
	char sig[13];

	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (int i = 0; i < 12; i++)
		if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e))
			sig[i] = '?';
	copy(out, n, sig);
}

static bool dmi_says_vm(const struct doctor_report *r)
{
	static const char *const vm[] = {
		"QEMU", "KVM", "Bochs", "VMware", "VirtualBox", "innotek",
		"Xen", "Virtual Machine", "Amazon EC2", "Google Compute Engine",
		"Parallels", "BHYVE", "Firecracker", "Cloud Hypervisor",
	};

	for (size_t i = 0; i < sizeof(vm) / sizeof(vm[0]); i++)
		if (strstr(r->virt.dmi_vendor, vm[i]) || strstr(r->virt.dmi_product, vm[i]))
			return true;
	return false;
}

/* append ", "-separated text to buf */
static void append(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void append(char *buf, size_t n, const char *fmt, ...)
{
	size_t len = strlen(buf);
	va_list ap;

	if (len && len + 2 < n) {
		memcpy(buf + len, ", ", 3);
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(buf + len, n - len, fmt, ap);
	va_end(ap);
}

static void collect_virt(struct doctor_report *r)
{
	char ev[DOCTOR_REASON_MAX] = "";

	if (!r->sysroot[0] && r->virt.hypervisor_flag)
		cpuid_hypervisor(r->virt.cpuid_vendor, sizeof(r->virt.cpuid_vendor));
	read_line(r, "/sys/class/dmi/id/sys_vendor", r->virt.dmi_vendor, sizeof(r->virt.dmi_vendor));
	read_line(r, "/sys/class/dmi/id/product_name", r->virt.dmi_product, sizeof(r->virt.dmi_product));
	read_line(r, "/sys/hypervisor/type", r->virt.sys_hypervisor, sizeof(r->virt.sys_hypervisor));

	if (r->virt.hypervisor_flag)
		append(ev, sizeof(ev), "hypervisor CPU flag");
	if (r->virt.cpuid_vendor[0])
		append(ev, sizeof(ev), "CPUID \"%s\"", r->virt.cpuid_vendor);
	if (dmi_says_vm(r))
		append(ev, sizeof(ev), "DMI \"%s %s\"", r->virt.dmi_vendor, r->virt.dmi_product);
	if (r->virt.sys_hypervisor[0])
		append(ev, sizeof(ev), "/sys/hypervisor: %s", r->virt.sys_hypervisor);
	if (ev[0])
		cap_set(&r->virt.in_vm, TRI_YES, "%s", ev);
	else
		cap_set(&r->virt.in_vm, TRI_NO, "no hypervisor CPU flag, no VM in DMI or /sys/hypervisor");
}

/* ---- kernel ---- */

/*
 * Does apt-cache (the sysroot's usr/bin/apt-cache: a fake in tests) know the
 * package?  1 yes, 0 no, -1 no answer: absent, cannot run, or slower than
 * APT_CACHE_TIMEOUT_MS (then killed; apt-cache answers in tens of ms where
 * apt keeps its package cache, and doctor must stay fast where it does not).
 * Its output is discarded.
 */
#define APT_CACHE_TIMEOUT_MS	700

static int apt_knows(const struct doctor_report *r, const char *pkg)
{
	char p[PATH_MAX];
	pid_t pid, got;
	int st, fd;

	rpath(r, p, sizeof(p), "/usr/bin/apt-cache");
	if (access(p, X_OK) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, STDIN_FILENO);
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execl(p, "apt-cache", "show", pkg, (char *)NULL);
		_exit(127);
	}
	for (int ms = 0;; ms += 10) {
		got = waitpid(pid, &st, WNOHANG);
		if (got == pid)
			break;
		if ((got < 0 && errno != EINTR) || ms >= APT_CACHE_TIMEOUT_MS) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			return -1;
		}
		usleep(10000);
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 127 || WEXITSTATUS(st) == 126)
		return -1;
	return WEXITSTATUS(st) == 0;
}

/* how to get the running kernel's headers: a Debian package only if one exists */
static void headers_hint(struct doctor_report *r)
{
	char pkg[160];

	setf(pkg, sizeof(pkg), "linux-headers-%s", r->kernel.release);
	switch (apt_knows(r, pkg)) {
	case 1:
		setf(r->kernel.headers_hint, sizeof(r->kernel.headers_hint),
		     "on Debian: apt-get install %s", pkg);
		break;
	case 0:
		setf(r->kernel.headers_hint, sizeof(r->kernel.headers_hint),
		     "no Debian package %s: install this kernel's headers from where it came, "
		     "or make module KDIR=<headers>", pkg);
		break;
	default:
		setf(r->kernel.headers_hint, sizeof(r->kernel.headers_hint),
		     "install this kernel's headers, or make module KDIR=<headers>");
	}
}

static void collect_kernel(struct doctor_report *r)
{
	char p[PATH_MAX], hp[PATH_MAX];
	struct stat st;
	struct utsname u;

	if (read_line(r, "/proc/sys/kernel/osrelease", r->kernel.release, sizeof(r->kernel.release)) < 0) {
		if (!r->sysroot[0] && uname(&u) == 0)
			copy(r->kernel.release, sizeof(r->kernel.release), u.release);
		else
			copy(r->kernel.release, sizeof(r->kernel.release), "unknown");
	}
	read_line(r, "/proc/cmdline", r->kernel.cmdline, sizeof(r->kernel.cmdline));
	r->kernel.nokaslr = has_word(r->kernel.cmdline, "nokaslr");

	setf(hp, sizeof(hp), "/lib/modules/%s/build", r->kernel.release);
	copy(r->kernel.headers_path, sizeof(r->kernel.headers_path), hp);
	rpath(r, p, sizeof(p), hp);
	if (!strcmp(r->kernel.release, "unknown"))
		cap_set(&r->kernel.headers, TRI_UNKNOWN, "kernel release unknown");
	else if (stat(p, &st) == 0)
		cap_set(&r->kernel.headers, TRI_YES, "%s", hp);
	else if (lstat(p, &st) == 0)
		cap_set(&r->kernel.headers, TRI_NO, "%s is a dangling link (headers package removed?)", hp);
	else {
		headers_hint(r);
		cap_set(&r->kernel.headers, TRI_NO, "%s missing (%s)", hp, r->kernel.headers_hint);
	}
}

/* ---- /dev/dune ---- */

static void misc_minor_name(struct doctor_report *r, int minor, char *out, size_t n)
{
	char p[PATH_MAX], line[256], name[64];
	FILE *f;
	int m;

	out[0] = '\0';
	rpath(r, p, sizeof(p), "/proc/misc");
	f = fopen(p, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%d %63s", &m, name) == 2 && m == minor) {
			copy(out, n, name);
			break;
		}
	fclose(f);
}

static void dune_module(struct doctor_report *r)
{
	char p[PATH_MAX], link[PATH_MAX], mod[PATH_MAX];
	const char *name = r->dune.misc_name[0] ? r->dune.misc_name : "dune";
	ssize_t len;

	rpath(r, p, sizeof(p), "/sys/class/misc/dune/device/driver/module");
	len = readlink(p, link, sizeof(link) - 1);
	if (len > 0) {
		link[len] = '\0';
		const char *base = strrchr(link, '/');
		copy(r->dune.module, sizeof(r->dune.module), base ? base + 1 : link);
		return;
	}
	setf(mod, sizeof(mod), "/sys/module/%s", name);
	copy(r->dune.module, sizeof(r->dune.module), exists(r, mod) ? name : "none");
}

/*
 * Access, not open: the original Dune module's release() destroys every
 * vCPU on the system, so opening and closing /dev/dune here would kill
 * Dune processes running beside us.
 */
static void collect_dune(struct doctor_report *r)
{
	char p[PATH_MAX];

	rpath(r, p, sizeof(p), "/dev/dune");
	r->dune.device = exists(r, "/dev/dune");
	misc_minor_name(r, DUNE_MISC_MINOR, r->dune.misc_name, sizeof(r->dune.misc_name));
	dune_module(r);
	if (!r->dune.device)
		cap_set(&r->dune.access, TRI_NO, "no /dev/dune");
	else if (access(p, R_OK | W_OK) == 0)
		cap_set(&r->dune.access, TRI_YES, "read/write");
	else
		cap_set(&r->dune.access, TRI_NO, "cannot open /dev/dune: %s (chmod the node, or run as root)",
			strerror(errno));
}

/* ---- /dev/kvm ---- */

/*
 * A fake KVM, for tests only: under DUNEBENCH_SYSROOT, a regular file
 * dev/kvm whose first line is "dunebench-fake-kvm" is not probed; its
 * lines say what the device and the ring-0 probe would have answered.
 * Lines are KEY=VALUE (values in decimal), or blank, or "#" comments:
 *
 *	open_errno=N	opening /dev/kvm fails with errno N (13: EACCES)
 *	api_version=N	KVM_GET_API_VERSION (default KVM_API_VERSION, 12)
 *	error=TEXT	the probe's VM could not run: unusable, for this reason
 *	iterations=N, timed_out=0|1, guest_ns=N, native_ns=N
 *			what the timed loop measured; the ratio and the verdict
 *			follow from them by the probe's own rule
 *			(ratio > DUNE_KVM_EMULATED_RATIO: emulated)
 *
 * A malformed fake makes the KVM unusable with the line and the reason.
 * Any other file (the fixtures' empty dev/kvm) meets the real probe.
 */
#define FAKE_KVM_MAGIC	"dunebench-fake-kvm"

struct fake_kvm {
	int open_errno, api_version, timed_out;
	uint64_t iterations, guest_ns, native_ns;
	char error[sizeof(((struct dune_kvm_probe *)0)->error)];
	char bad[sizeof(((struct dune_kvm_probe *)0)->error)];	/* malformed: why */
};

static int fake_kvm_number(struct fake_kvm *k, int lineno, const char *key, const char *val,
			   uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(val, &end, 10);
	if (!*val || *end || errno || *val == '-') {
		setf(k->bad, sizeof(k->bad), "fake KVM line %d: %s: not a number '%s'", lineno, key, val);
		return -1;
	}
	return 0;
}

static void fake_kvm_line(struct fake_kvm *k, int lineno, char *line)
{
	char *eq = strchr(line, '='), *key, *val;
	uint64_t v;

	if (!*line || *line == '#')
		return;
	if (!eq) {
		setf(k->bad, sizeof(k->bad), "fake KVM line %d: no '=' in '%s'", lineno, line);
		return;
	}
	*eq = '\0';
	key = line;
	val = eq + 1;
	if (!strcmp(key, "error")) {
		copy(k->error, sizeof(k->error), val);
		return;
	}
	if (strcmp(key, "open_errno") && strcmp(key, "api_version") && strcmp(key, "timed_out") &&
	    strcmp(key, "iterations") && strcmp(key, "guest_ns") && strcmp(key, "native_ns")) {
		setf(k->bad, sizeof(k->bad), "fake KVM line %d: unknown key '%s'", lineno, key);
		return;
	}
	if (fake_kvm_number(k, lineno, key, val, &v) < 0)
		return;
	if (!strcmp(key, "open_errno"))
		k->open_errno = (int)v;
	else if (!strcmp(key, "api_version"))
		k->api_version = (int)v;
	else if (!strcmp(key, "timed_out"))
		k->timed_out = v != 0;
	else if (!strcmp(key, "iterations"))
		k->iterations = v;
	else if (!strcmp(key, "guest_ns"))
		k->guest_ns = v;
	else
		k->native_ns = v;
}

/* read the fake KVM at path p; false if it is not one (or not under a sysroot) */
static bool fake_kvm_read(const struct doctor_report *r, const char *p, struct fake_kvm *k)
{
	char *line = NULL;
	size_t cap = 0;
	struct stat st;
	bool fake = false;
	int lineno = 0;
	FILE *f;

	if (!r->sysroot[0] || lstat(p, &st) != 0 || !S_ISREG(st.st_mode))
		return false;
	f = fopen(p, "re");
	if (!f)
		return false;
	memset(k, 0, sizeof(*k));
	k->api_version = KVM_API_VERSION;
	while (getline(&line, &cap, f) > 0) {
		chomp(line);
		if (++lineno == 1) {
			fake = !strcmp(line, FAKE_KVM_MAGIC);
			if (!fake)
				break;
		} else if (!k->bad[0]) {
			fake_kvm_line(k, lineno, line);
		}
	}
	free(line);
	fclose(f);
	return fake;
}

/* what dune_kvm_probe_open()/_ring0() would have said of this fake device */
static void fake_kvm_probe(const struct fake_kvm *k, const char *p, bool ring0,
			   struct dune_kvm_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->api_version = -1;
	out->verdict = DUNE_KVM_UNUSABLE;
	if (k->bad[0]) {
		copy(out->error, sizeof(out->error), k->bad);
		return;
	}
	if (k->open_errno) {
		setf(out->error, sizeof(out->error), "cannot open %s: %s", p, strerror(k->open_errno));
		return;
	}
	out->api_version = k->api_version;
	if (k->api_version != KVM_API_VERSION) {
		setf(out->error, sizeof(out->error), "%s has KVM API version %d, want %d", p,
		     k->api_version, KVM_API_VERSION);
		return;
	}
	out->verdict = DUNE_KVM_UNKNOWN;
	if (!ring0)
		return;
	if (k->error[0]) {
		copy(out->error, sizeof(out->error), k->error);
		out->verdict = DUNE_KVM_UNUSABLE;
		return;
	}
	out->iterations = k->iterations;
	out->timed_out = k->timed_out;
	out->guest_ns = k->guest_ns ? k->guest_ns : 1;
	out->native_ns = k->native_ns ? k->native_ns : 1;
	out->ratio = (double)out->guest_ns / (double)out->native_ns;
	out->verdict = out->ratio > DUNE_KVM_EMULATED_RATIO ? DUNE_KVM_EMULATED : DUNE_KVM_NATIVE;
}

static void collect_kvm(struct doctor_report *r, unsigned flags)
{
	struct fake_kvm fake;
	static const char *const mods[] = { "kvm_intel", "kvm_amd", "kvm_pvm", "kvm" };
	char p[PATH_MAX], mod[64];
	int fd;

	copy(r->kvm.module, sizeof(r->kvm.module), "none");
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
		setf(mod, sizeof(mod), "/sys/module/%s", mods[i]);
		if (exists(r, mod)) {
			copy(r->kvm.module, sizeof(r->kvm.module), mods[i]);
			break;
		}
	}
	r->kvm.api_version = -1;
	rpath(r, p, sizeof(p), "/dev/kvm");
	r->kvm.device = exists(r, "/dev/kvm");
	if (!r->kvm.device) {
		memset(&r->kvm.probe, 0, sizeof(r->kvm.probe));
		r->kvm.probe.api_version = -1;
		r->kvm.probe.verdict = DUNE_KVM_UNUSABLE;
		copy(r->kvm.probe.error, sizeof(r->kvm.probe.error), "no /dev/kvm");
		return;
	}
	if (fake_kvm_read(r, p, &fake)) {
		r->kvm.openable = !fake.bad[0] && !fake.open_errno;
		r->kvm.open_errno = fake.open_errno;
		fake_kvm_probe(&fake, p, !(flags & DOCTOR_NO_PROBE), &r->kvm.probe);
		r->probe_run = !(flags & DOCTOR_NO_PROBE);
		r->kvm.api_version = r->kvm.probe.api_version;
		return;
	}
	fd = open(p, O_RDWR | O_CLOEXEC);
	r->kvm.openable = fd >= 0;
	r->kvm.open_errno = fd >= 0 ? 0 : errno;
	if (fd >= 0)
		close(fd);
	if (flags & DOCTOR_NO_PROBE) {
		dune_kvm_probe_open(&r->kvm.probe, p);
	} else {
		dune_kvm_probe_ring0(&r->kvm.probe, p, DOCTOR_PROBE_TIMEOUT_MS);
		r->probe_run = true;
	}
	r->kvm.api_version = r->kvm.probe.api_version;
}

/* ---- transparent huge pages ---- */

static void thp_mode(struct doctor_report *r, const char *path, char *out, size_t n)
{
	char line[256], *l, *e;

	if (read_line(r, path, line, sizeof(line)) < 0 ||
	    !(l = strchr(line, '[')) || !(e = strchr(l, ']'))) {
		copy(out, n, "unavailable");
		return;
	}
	*e = '\0';
	copy(out, n, l + 1);
}

static void collect_thp(struct doctor_report *r)
{
	thp_mode(r, "/sys/kernel/mm/transparent_hugepage/enabled", r->thp.enabled, sizeof(r->thp.enabled));
	thp_mode(r, "/sys/kernel/mm/transparent_hugepage/defrag", r->thp.defrag, sizeof(r->thp.defrag));
}

/* ---- backends ---- */

static void backend_set(struct doctor_backend *b, enum tri usable, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void backend_set(struct doctor_backend *b, enum tri usable, const char *fmt, ...)
{
	va_list ap;

	b->usable = usable;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}

static void backend_vmx(struct doctor_report *r)
{
	struct doctor_backend *b = &r->backend[BACKEND_VMX];

	if (r->dune.access.v == TRI_YES)
		backend_set(b, TRI_YES, "/dev/dune (module %s)", r->dune.module);
	else if (r->dune.device)
		backend_set(b, TRI_NO, "%s", r->dune.access.why);
	else if (r->cpu.vmx.v != TRI_YES)
		backend_set(b, TRI_NO, "no /dev/dune: CPU has no VMX%s",
			    r->cpu.svm.v == TRI_YES ? " (AMD CPU: use the kvm backend)" : "");
	else if (r->cpu.ept.v == TRI_NO || r->cpu.vpid.v == TRI_NO)
		backend_set(b, TRI_NO, "no /dev/dune, and the CPU lacks %s, which Dune needs",
			    r->cpu.ept.v == TRI_NO ? "EPT" : "VPID");
	else if (r->kernel.headers.v != TRI_YES)
		backend_set(b, TRI_NO, "dune.ko not loaded, and no headers to build it for %s "
			    "(%s%s)", r->kernel.release,
			    r->kernel.headers_hint[0] ? r->kernel.headers_hint : "install them",
			    strstr(r->kernel.headers_hint, "make module") ? "" : "; make module");
	else
		backend_set(b, TRI_NO, "dune.ko not loaded (make module && insmod build/module/dune.ko)");
}

static const char *why_emulated(const struct doctor_report *r)
{
	if (!strcmp(r->kvm.module, "kvm_pvm"))
		return "paravirtual nested KVM (kvm_pvm)";
	if (r->virt.in_vm.v == TRI_YES && r->cpu.vmx.v != TRI_YES && r->cpu.svm.v != TRI_YES)
		return "paravirtual nested KVM (this VM has no VMX or SVM)";
	if (r->virt.in_vm.v == TRI_YES)
		return "nested KVM without hardware assistance";
	return "KVM without hardware assistance";
}

static void backend_kvm(struct doctor_report *r)
{
	struct doctor_backend *b = &r->backend[BACKEND_KVM];
	const struct dune_kvm_probe *p = &r->kvm.probe;

	if (!r->kvm.device && r->cpu.vmx.v != TRI_YES && r->cpu.svm.v != TRI_YES)
		backend_set(b, TRI_NO, "no /dev/kvm: CPU has no VMX or SVM");
	else if (!r->kvm.device)
		backend_set(b, TRI_NO, "no /dev/kvm: KVM not loaded (modprobe %s)",
			    r->cpu.svm.v == TRI_YES ? "kvm_amd" : "kvm_intel");
	else if (!r->kvm.openable)
		backend_set(b, TRI_NO, "%s%s", p->error,
			    r->kvm.open_errno == EACCES ? " (add your user to group kvm)" : "");
	else if (p->verdict == DUNE_KVM_UNUSABLE)
		backend_set(b, TRI_NO, "%s", p->error);
	else if (!r->probe_run)
		backend_set(b, TRI_UNKNOWN, "API version %d; ring-0 probe skipped (--no-probe)",
			    r->kvm.api_version);
	else if (p->verdict == DUNE_KVM_EMULATED)
		backend_set(b, TRI_NO, "KVM emulates guest ring 0 (ratio %.0fx): %s",
			    p->ratio, why_emulated(r));
	else
		backend_set(b, TRI_YES, "guest ring 0 runs natively (ratio %.1fx)", p->ratio);
}

static void backend_lab(struct doctor_report *r)
{
	struct doctor_backend *b = &r->backend[BACKEND_LAB];

	if (exists(r, "/usr/bin/bochs") || exists(r, "/usr/local/bin/bochs"))
		backend_set(b, TRI_YES, "bochs installed: make lab");
	else if (exists(r, "/usr/bin/apt-get"))
		backend_set(b, TRI_YES, "bochs not installed, installable: make lab (installs it with apt-get)");
	else
		backend_set(b, TRI_NO, "bochs not installed and no apt-get: install Bochs 2.7, then make lab");
}

static void collect_backends(struct doctor_report *r)
{
	static const char *const names[BACKEND_COUNT] = { "vmx", "kvm", "lab" };

	for (int i = 0; i < BACKEND_COUNT; i++)
		r->backend[i].name = names[i];
	backend_vmx(r);
	backend_kvm(r);
	backend_lab(r);
	r->best = "none";
	for (int i = 0; i < BACKEND_COUNT; i++)
		if (r->backend[i].usable == TRI_YES) {
			r->best = r->backend[i].name;
			break;
		}
}

void doctor_collect(struct doctor_report *r, const char *sysroot, unsigned flags)
{
	memset(r, 0, sizeof(*r));
	copy(r->sysroot, sizeof(r->sysroot), sysroot);
	collect_cpu(r);
	collect_virt(r);
	collect_kernel(r);
	collect_dune(r);
	collect_kvm(r, flags);
	collect_thp(r);
	collect_backends(r);
}

/* ---- text output ---- */

static const char *tri_word(enum tri t)
{
	return t == TRI_YES ? "yes" : t == TRI_NO ? "no" : "unknown";
}

static void row(FILE *f, const char *label, const char *value, const char *detail)
{
	if (detail && detail[0])
		fprintf(f, "  %-20s %-8s %s\n", label, value, detail);
	else
		fprintf(f, "  %-20s %s\n", label, value);
}

static void row_cap(FILE *f, const char *label, const struct doctor_cap *c)
{
	row(f, label, tri_word(c->v), c->why);
}

static void print_cpu(FILE *f, const struct doctor_report *r)
{
	char buf[256];

	fprintf(f, "CPU\n");
	row(f, "vendor", r->cpu.vendor, NULL);
	if (r->cpu.count)
		setf(buf, sizeof(buf), "%s (family %d, model %d, stepping %d%s%s)", r->cpu.model,
		     r->cpu.family, r->cpu.model_num, r->cpu.stepping,
		     r->cpu.microcode[0] ? ", microcode " : "", r->cpu.microcode);
	else
		setf(buf, sizeof(buf), "%s", r->cpu.model);
	row(f, "model", buf, NULL);
	setf(buf, sizeof(buf), "%d", r->cpu.count);
	row(f, "cpus", buf, NULL);
	row_cap(f, "VMX (Intel VT-x)", &r->cpu.vmx);
	row_cap(f, "EPT", &r->cpu.ept);
	row_cap(f, "VPID", &r->cpu.vpid);
	row_cap(f, "EPT A/D bits", &r->cpu.ept_ad);
	row_cap(f, "EPT 1 GB pages", &r->cpu.ept_1gb);
	row_cap(f, "unrestricted guest", &r->cpu.unrestricted_guest);
	row_cap(f, "posted interrupts", &r->cpu.posted_intr);
	row_cap(f, "SVM (AMD-V)", &r->cpu.svm);
	row_cap(f, "NPT", &r->cpu.npt);
	row_cap(f, "AVIC", &r->cpu.avic);
	fprintf(f, "\nVirtualization\n");
	row_cap(f, "inside a VM", &r->virt.in_vm);
}

static void print_kernel(FILE *f, const struct doctor_report *r)
{
	fprintf(f, "\nKernel\n");
	row(f, "release", r->kernel.release, NULL);
	row(f, "nokaslr", r->kernel.nokaslr ? "yes" : "no",
	    "(only the original Dune's module needs it; ours does not)");
	row_cap(f, "headers", &r->kernel.headers);
}

static void print_devices(FILE *f, const struct doctor_report *r)
{
	const struct dune_kvm_probe *p = &r->kvm.probe;
	char buf[DOCTOR_REASON_MAX + 64], api[16];

	fprintf(f, "\n/dev/dune\n");
	row(f, "device", r->dune.device ? "yes" : "no", NULL);
	row(f, "misc minor 233", r->dune.misc_name[0] ? r->dune.misc_name : "none", NULL);
	row(f, "module", r->dune.module, NULL);
	row_cap(f, "access", &r->dune.access);

	fprintf(f, "\n/dev/kvm\n");
	row(f, "device", r->kvm.device ? "yes" : "no", NULL);
	row(f, "openable", r->kvm.openable ? "yes" : "no",
	    r->kvm.device && !r->kvm.openable ? p->error : NULL);
	setf(api, sizeof(api), "%d", r->kvm.api_version);
	row(f, "API version", r->kvm.api_version >= 0 ? api : "unknown", NULL);
	row(f, "module", r->kvm.module, NULL);
	if (p->verdict == DUNE_KVM_NATIVE || p->verdict == DUNE_KVM_EMULATED)
		setf(buf, sizeof(buf), "ratio %.1fx: %llu iterations in %.3f ms in the guest, "
		     "%.3f ms natively%s", p->ratio, (unsigned long long)p->iterations,
		     p->guest_ns / 1e6, p->native_ns / 1e6,
		     p->timed_out ? " (guest cut short by the timeout)" : "");
	else if (p->verdict == DUNE_KVM_UNUSABLE)
		setf(buf, sizeof(buf), "%s", p->error);
	else
		setf(buf, sizeof(buf), "probe skipped (--no-probe)");
	row(f, "guest ring 0", dune_kvm_verdict_name(p->verdict), buf);
}

static void print_backends(FILE *f, const struct doctor_report *r)
{
	fprintf(f, "\nTransparent huge pages\n");
	row(f, "enabled", r->thp.enabled, NULL);
	row(f, "defrag", r->thp.defrag, NULL);

	fprintf(f, "\nBackends\n");
	for (int i = 0; i < BACKEND_COUNT; i++)
		row(f, r->backend[i].name, tri_word(r->backend[i].usable), r->backend[i].reason);
	fprintf(f, "\nBest backend for `make bench`: %s\n", r->best);
	if (!strcmp(r->best, "lab"))
		fprintf(f, "  (Dune modes run in the Bochs VMX lab: cycle counts there are path lengths, not speed)\n");
}

void doctor_print_text(FILE *f, const struct doctor_report *r)
{
	fprintf(f, "dunebench doctor%s%s\n\n", r->sysroot[0] ? ": sysroot " : "", r->sysroot);
	print_cpu(f, r);
	print_kernel(f, r);
	print_devices(f, r);
	print_backends(f, r);
}

/* ---- JSON output ---- */

/* length of the valid UTF-8 sequence at s, 0 if invalid */
static size_t utf8_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void doctor_json_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");

	fputc('"', f);
	while (*p) {
		size_t n;

		switch (*p) {
		case '"':  fputs("\\\"", f); p++; continue;
		case '\\': fputs("\\\\", f); p++; continue;
		case '\n': fputs("\\n", f); p++; continue;
		case '\r': fputs("\\r", f); p++; continue;
		case '\t': fputs("\\t", f); p++; continue;
		case '\b': fputs("\\b", f); p++; continue;
		case '\f': fputs("\\f", f); p++; continue;
		}
		if (*p < 0x20 || *p == 0x7f) {
			fprintf(f, "\\u%04x", *p++);
			continue;
		}
		n = utf8_len(p);
		if (!n) {
			fputs("\\ufffd", f);	/* not UTF-8: replacement character */
			p++;
			continue;
		}
		fwrite(p, 1, n, f);
		p += n;
	}
	fputc('"', f);
}

/* a minimal pretty-printing writer: it tracks commas and indentation */
struct jw {
	FILE *f;
	int depth;
	bool first;
};

static void jw_key(struct jw *w, const char *key)
{
	fprintf(w->f, "%s\n%*s", w->first ? "" : ",", 2 * w->depth, "");
	w->first = false;
	if (key) {
		doctor_json_string(w->f, key);
		fputs(": ", w->f);
	}
}

static void jw_open(struct jw *w, const char *key)
{
	if (key)
		jw_key(w, key);
	fputc('{', w->f);
	w->depth++;
	w->first = true;
}

static void jw_close(struct jw *w)
{
	w->depth--;
	fprintf(w->f, "\n%*s}", 2 * w->depth, "");
	w->first = false;
}

static void jw_str(struct jw *w, const char *key, const char *v)
{
	jw_key(w, key);
	doctor_json_string(w->f, v);
}

static void jw_int(struct jw *w, const char *key, long long v)
{
	jw_key(w, key);
	fprintf(w->f, "%lld", v);
}

static void jw_num(struct jw *w, const char *key, double v)
{
	jw_key(w, key);
	fprintf(w->f, "%.3f", v);
}

static void jw_bool(struct jw *w, const char *key, bool v)
{
	jw_key(w, key);
	fputs(v ? "true" : "false", w->f);
}

static void jw_tri(struct jw *w, const char *key, enum tri v)
{
	jw_key(w, key);
	fputs(v == TRI_YES ? "true" : v == TRI_NO ? "false" : "null", w->f);
}

static void json_cpu(struct jw *w, const struct doctor_report *r)
{
	jw_open(w, "cpu");
	jw_str(w, "vendor", r->cpu.vendor);
	jw_str(w, "model", r->cpu.model);
	jw_str(w, "microcode", r->cpu.microcode);
	jw_int(w, "family", r->cpu.family);
	jw_int(w, "model_number", r->cpu.model_num);
	jw_int(w, "stepping", r->cpu.stepping);
	jw_int(w, "count", r->cpu.count);
	jw_bool(w, "vmx_flags_line", r->cpu.vmx_flags_line);
	jw_tri(w, "vmx", r->cpu.vmx.v);
	jw_tri(w, "ept", r->cpu.ept.v);
	jw_tri(w, "vpid", r->cpu.vpid.v);
	jw_tri(w, "ept_ad", r->cpu.ept_ad.v);
	jw_tri(w, "ept_1gb", r->cpu.ept_1gb.v);
	jw_tri(w, "unrestricted_guest", r->cpu.unrestricted_guest.v);
	jw_tri(w, "posted_intr", r->cpu.posted_intr.v);
	jw_tri(w, "svm", r->cpu.svm.v);
	jw_tri(w, "npt", r->cpu.npt.v);
	jw_tri(w, "avic", r->cpu.avic.v);
	jw_close(w);

	jw_open(w, "virt");
	jw_tri(w, "in_vm", r->virt.in_vm.v);
	jw_bool(w, "hypervisor_flag", r->virt.hypervisor_flag);
	jw_str(w, "cpuid_vendor", r->virt.cpuid_vendor);
	jw_str(w, "dmi_sys_vendor", r->virt.dmi_vendor);
	jw_str(w, "dmi_product_name", r->virt.dmi_product);
	jw_str(w, "sys_hypervisor_type", r->virt.sys_hypervisor);
	jw_close(w);
}

static void json_kernel(struct jw *w, const struct doctor_report *r)
{
	jw_open(w, "kernel");
	jw_str(w, "release", r->kernel.release);
	jw_str(w, "cmdline", r->kernel.cmdline);
	jw_bool(w, "nokaslr", r->kernel.nokaslr);
	jw_tri(w, "headers", r->kernel.headers.v);
	jw_str(w, "headers_path", r->kernel.headers_path);
	jw_close(w);
}

static void json_devices(struct jw *w, const struct doctor_report *r)
{
	const struct dune_kvm_probe *p = &r->kvm.probe;

	jw_open(w, "dune");
	jw_bool(w, "device", r->dune.device);
	if (r->dune.misc_name[0]) {
		jw_str(w, "misc_minor_233", r->dune.misc_name);
	} else {
		jw_key(w, "misc_minor_233");
		fputs("null", w->f);
	}
	jw_str(w, "module", r->dune.module);
	jw_tri(w, "access", r->dune.access.v);
	jw_close(w);

	jw_open(w, "kvm");
	jw_bool(w, "device", r->kvm.device);
	jw_bool(w, "openable", r->kvm.openable);
	jw_int(w, "api_version", r->kvm.api_version);
	jw_str(w, "module", r->kvm.module);
	jw_open(w, "probe");
	jw_bool(w, "run", r->probe_run);
	jw_str(w, "verdict", dune_kvm_verdict_name(p->verdict));
	jw_num(w, "ratio", p->ratio);
	jw_int(w, "guest_ns", (long long)p->guest_ns);
	jw_int(w, "native_ns", (long long)p->native_ns);
	jw_int(w, "iterations", (long long)p->iterations);
	jw_bool(w, "timed_out", p->timed_out);
	jw_str(w, "error", p->error);
	jw_close(w);
	jw_close(w);
}

static void json_rest(struct jw *w, const struct doctor_report *r)
{
	jw_open(w, "thp");
	jw_str(w, "enabled", r->thp.enabled);
	jw_str(w, "defrag", r->thp.defrag);
	jw_close(w);

	jw_open(w, "backends");
	for (int i = 0; i < BACKEND_COUNT; i++) {
		jw_open(w, r->backend[i].name);
		jw_tri(w, "usable", r->backend[i].usable);
		jw_str(w, "reason", r->backend[i].reason);
		jw_close(w);
	}
	jw_close(w);
	jw_str(w, "best_backend", r->best);
}

void doctor_print_json(FILE *f, const struct doctor_report *r)
{
	struct jw w = { .f = f, .first = true };

	jw_open(&w, NULL);
	jw_int(&w, "doctor_version", DOCTOR_JSON_VERSION);
	jw_str(&w, "sysroot", r->sysroot);
	json_cpu(&w, r);
	json_kernel(&w, r);
	json_devices(&w, r);
	json_rest(&w, r);
	jw_close(&w);
	fputc('\n', f);
}

/* ---- command ---- */

int doctor_main(int argc, char **argv)
{
	struct doctor_report *r;
	const char *sysroot = getenv("DUNEBENCH_SYSROOT");
	bool json = false;
	unsigned flags = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--no-probe")) {
			flags |= DOCTOR_NO_PROBE;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else {
			fprintf(stderr, "dunebench doctor: unknown argument '%s'\n\n%s", argv[i], usage);
			return 2;
		}
	}
	r = malloc(sizeof(*r));
	if (!r) {
		perror("dunebench doctor");
		return 1;
	}
	doctor_collect(r, sysroot, flags);
	if (json)
		doctor_print_json(stdout, r);
	else
		doctor_print_text(stdout, r);
	free(r);
	return fflush(stdout) == 0 ? 0 : 1;
}

// SPDX-License-Identifier: MIT
/*
 * runner.c - the conformance runner (linked into every conformance binary).
 *
 * usage: dune-conform [options] [ID-GLOB...]
 *
 *   -l, --list             list the selected tests (ID, profile, needs, what)
 *       --markdown         with --list: write the TESTS.md table instead
 *   -p, --profile NAME     run only tests of this profile (repeatable)
 *   -t, --test GLOB        run only tests whose ID matches (repeatable; also
 *                          positional arguments)
 *   -x, --exclude GLOB     leave out the tests whose ID matches (repeatable)
 *   -n, --need CAP         run only the tests that need capability CAP
 *                          (repeatable: any of them); e.g. -n smp, the
 *                          tests the VMX lab's SMP boot runs
 *       --without CAP      leave out (not SKIP) the tests that need CAP
 *                          (repeatable): a lab boot without two CPUs
 *                          leaves out the tests its SMP boot runs
 *   -b, --backend NAME     vmx, kvm or auto (default: $DUNE_BACKEND or auto);
 *                          exported to the tests as DUNE_BACKEND
 *   -d, --departures FILE  known departures of the implementation under test:
 *                          lines "ID<TAB>reason"; such a failure is XFAIL, a
 *                          pass of a listed test is XPASS (flagged, naming
 *                          FILE's base name: "# TODO XPASS FILE: ..."; the
 *                          summary of make check fails on one of our own
 *                          lists); repeatable
 *   -j, --junit FILE       also write JUnit XML
 *   -J, --json FILE        also write a JSON report
 *   -T, --timeout-scale X  multiply every declared timeout by X (default 1);
 *                          tests see it as DUNE_CONFORM_TIMEOUT_SCALE and
 *                          scale their own bounds (fuzz budgets, watchdogs)
 *       --long             long fuzzing: --fuzz-scale 100
 *       --fuzz-scale X     multiply the iteration counts of the fuzz tests
 *                          (IDs containing ".fuzz.") by X, exported to them
 *                          as DUNE_FUZZ_SCALE (default: $DUNE_FUZZ_SCALE or
 *                          1); for X > 1 their timeouts are multiplied by X
 *                          as well
 *       --seed N           seed of the fuzz tests (exported as DUNE_FUZZ_SEED;
 *                          default: the seeds conformance/fuzz-seeds.list
 *                          names for each test; each run prints its seed)
 *   -v, --verbose          show each test's own output
 *       --mark-begin       print "# begin ID" on stdout as each test starts
 *                          (the VMX lab knows from it which test a hang or a
 *                          kernel oops belongs to)
 *       --allow-destructive  also run the tests declared .destructive (they
 *                          can crash or hang the host on a vulnerable
 *                          implementation: run them where that costs nothing,
 *                          as the VMX lab does); without it each is SKIPped
 *                          naming why it is destructive and this option
 *       --caps             print the capabilities this host has, and exit
 *   -h, --help
 *
 * Output: TAP 13 on stdout (one line per test, diagnostics as '#' lines),
 * progress on stderr, and last a summary per profile and the line
 * "N passed, N failed, N skipped" (then, if any, the XFAIL and XPASS
 * counts: neither is among the three).  Exit status: 0 when nothing failed
 * (XFAIL does not fail; XPASS does not either but is listed), 1 otherwise,
 * 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ctest.h"
#include "kvm_probe.h"

extern const struct ctest *const __start_ctest_list[] __attribute__((weak));
extern const struct ctest *const __stop_ctest_list[] __attribute__((weak));

static const char *const profiles[] = {
	"core", "vm", "traps", "user", "signals", "threads", "fork", "apic",
	"robustness", NULL,
};

enum verdict { V_PASS, V_FAIL, V_SKIP, V_XFAIL, V_XPASS };
static const char *const verdict_name[] = { "pass", "fail", "skip", "xfail", "xpass" };

struct result {
	const struct ctest *t;
	enum verdict v;
	char reason[512];
	const char *list;	/* V_XPASS: the departures file that lists it */
	char *output;
	double seconds;
};

/* ------------------------------------------------------------ helpers */

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n, sz);

	if (!p) {
		perror("dune-conform: calloc");
		exit(2);
	}
	return p;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ------------------------------------------------------- capabilities */

static const char *backend_name = "auto";

static bool cap_dev_dune(void)
{
	const char *dev = getenv("DUNE_DEV");
	int fd = open(dev ? dev : "/dev/dune", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

static bool cap_kvm(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* KVM runs guest ring 0 in hardware (not a paravirtual nested emulation). */
static bool cap_kvm_native(void)
{
	static int known = -1;
	struct dune_kvm_probe p;

	if (known < 0)
		known = dune_kvm_probe_ring0(&p, NULL, 300) == 0 &&
			p.verdict == DUNE_KVM_NATIVE;
	return known;
}

static bool cap_root(void)
{
	return geteuid() == 0;
}

/* Two CPUs or more this process may run on (vCPUs running at once). */
static bool cap_smp(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set))
		return false;
	return CPU_COUNT(&set) >= 2;
}

static bool cap_dune(void)
{
	if (!strcmp(backend_name, "vmx"))
		return cap_dev_dune();
	if (!strcmp(backend_name, "kvm"))
		return cap_kvm_native();
	return cap_dev_dune() || cap_kvm_native();
}

static const struct capability {
	const char *name;
	const char *missing;	/* what SKIP says */
	bool (*have)(void);
} caps[] = {
	{ "dune", "no usable Dune backend: vmx needs /dev/dune, kvm needs a /dev/kvm that runs guest ring 0 in hardware", cap_dune },
	{ "dev-dune", "no /dev/dune (load a Dune module, or set DUNE_DEV)", cap_dev_dune },
	{ "kvm", "no usable /dev/kvm", cap_kvm },
	{ "kvm-native", "KVM emulates guest ring 0 here (paravirtual nested KVM; see dunebench doctor)", cap_kvm_native },
	{ "root", "needs root", cap_root },
	{ "smp", "needs 2 CPUs: this process may run on only one (the VMX lab's SMP boot, lab.sh --cpus 2, has two)", cap_smp },
	{ NULL, NULL, NULL },
};

static const struct capability *find_cap(const char *name, size_t len)
{
	for (const struct capability *c = caps; c->name; c++)
		if (strlen(c->name) == len && !strncmp(c->name, name, len))
			return c;
	return NULL;
}

/* First missing capability of @needs, or NULL when all are there. */
static const struct capability *missing_cap(const char *needs)
{
	for (const char *p = needs; p && *p;) {
		size_t len;

		while (*p == ' ')
			p++;
		len = strcspn(p, " ");
		if (len) {
			const struct capability *c = find_cap(p, len);

			if (c && !c->have())
				return c;
		}
		p += len;
	}
	return NULL;
}

/* ------------------------------------------------------------ the list */

static const struct ctest **all_tests;
static size_t nr_tests;

static int cmp_test(const void *a, const void *b)
{
	const struct ctest *x = *(const struct ctest *const *)a;
	const struct ctest *y = *(const struct ctest *const *)b;

	return strcmp(x->id, y->id);
}

/* Collect and check the declarations; a bad one is a bug in the suite. */
static int load_tests(void)
{
	size_t n = __start_ctest_list ? (size_t)(__stop_ctest_list - __start_ctest_list) : 0;
	int bad = 0;

	all_tests = xcalloc(n + 1, sizeof(*all_tests));
	for (size_t i = 0; i < n; i++) {
		const struct ctest *t = __start_ctest_list[i];
		bool known = false;

		all_tests[nr_tests++] = t;
		if (!t->id || !t->what || !t->profile) {
			fprintf(stderr, "%s:%d: test without .id, .what or .profile\n", t->file, t->line);
			bad = 1;
			continue;
		}
		for (int p = 0; profiles[p]; p++)
			known |= !strcmp(profiles[p], t->profile);
		if (!known) {
			fprintf(stderr, "%s:%d: %s: unknown profile '%s'\n", t->file, t->line, t->id, t->profile);
			bad = 1;
		}
		for (const char *p = t->needs; p && *p;) {
			size_t len;

			while (*p == ' ')
				p++;
			len = strcspn(p, " ");
			if (len && !find_cap(p, len)) {
				fprintf(stderr, "%s:%d: %s: unknown capability '%.*s'\n",
					t->file, t->line, t->id, (int)len, p);
				bad = 1;
			}
			p += len;
		}
		if (t->destructive && !*t->destructive) {
			fprintf(stderr, "%s:%d: %s: .destructive must say why\n", t->file, t->line, t->id);
			bad = 1;
		}
		if (t->backends && strcmp(t->backends, "all") && strcmp(t->backends, "vmx") &&
		    strcmp(t->backends, "kvm")) {
			fprintf(stderr, "%s:%d: %s: .backends must be all, vmx or kvm\n", t->file, t->line, t->id);
			bad = 1;
		}
	}
	qsort(all_tests, nr_tests, sizeof(*all_tests), cmp_test);
	for (size_t i = 1; i < nr_tests; i++) {
		if (!strcmp(all_tests[i]->id, all_tests[i - 1]->id)) {
			fprintf(stderr, "duplicate test ID %s (%s:%d and %s:%d)\n", all_tests[i]->id,
				all_tests[i]->file, all_tests[i]->line,
				all_tests[i - 1]->file, all_tests[i - 1]->line);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* ------------------------------------------------------------ options */

static const char **globs, **want_profiles, **excludes, **want_needs, **without;
static size_t nr_globs, nr_want_profiles, nr_excludes, nr_want_needs, nr_without;
static bool verbose, mark_begin, allow_destructive;
static double timeout_scale = 1.0;
static double fuzz_scale = 1.0;

/* Fuzz tests are the ones with ".fuzz." in their ID (abi.fuzz.*, api.fuzz.*). */
static bool is_fuzz_test(const struct ctest *t)
{
	return strstr(t->id, ".fuzz.") != NULL;
}

/* The time limit of @t in seconds: declared, scaled by -T and, for a fuzz
 * test run longer than by default, by the fuzz scale. */
static double test_limit(const struct ctest *t)
{
	double limit = (t->timeout ? t->timeout : 30) * timeout_scale;

	if (is_fuzz_test(t) && fuzz_scale > 1)
		limit *= fuzz_scale;
	return limit;
}

/* Does @t declare capability @cap in its .needs? */
static bool needs_cap(const struct ctest *t, const char *cap)
{
	size_t len = strlen(cap);

	for (const char *p = t->needs; p && *p;) {
		size_t l;

		while (*p == ' ')
			p++;
		l = strcspn(p, " ");
		if (l == len && !strncmp(p, cap, len))
			return true;
		p += l;
	}
	return false;
}

static bool selected(const struct ctest *t)
{
	bool ok = nr_globs == 0;

	for (size_t i = 0; i < nr_without; i++)
		if (needs_cap(t, without[i]))
			return false;
	if (nr_want_needs) {
		bool need = false;

		for (size_t i = 0; i < nr_want_needs && !need; i++)
			need = needs_cap(t, want_needs[i]);
		if (!need)
			return false;
	}

	for (size_t i = 0; i < nr_globs && !ok; i++)
		ok = !fnmatch(globs[i], t->id, 0);
	for (size_t i = 0; i < nr_excludes && ok; i++)
		ok = fnmatch(excludes[i], t->id, 0) != 0;
	if (!ok)
		return false;
	if (nr_want_profiles == 0)
		return true;
	for (size_t i = 0; i < nr_want_profiles; i++)
		if (!strcmp(want_profiles[i], t->profile))
			return true;
	return false;
}

/* ------------------------------------------------------- departures */

struct departure {
	char *id;
	char *reason;
	const char *list;	/* base name of the file that lists it */
};
static struct departure *departures;
static size_t nr_departures;

static int load_departures(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int lineno = 0;
	const char *base = strrchr(path, '/');

	if (!f) {
		fprintf(stderr, "dune-conform: cannot open departures file %s: %s\n", path, strerror(errno));
		return -1;
	}
	base = base ? base + 1 : path;
	while (fgets(line, sizeof(line), f)) {
		char *tab, *end;

		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "%s:%d: want ID<TAB>reason\n", path, lineno);
			fclose(f);
			return -1;
		}
		*tab = '\0';
		end = tab + 1;
		departures = realloc(departures, (nr_departures + 1) * sizeof(*departures));
		if (!departures) {
			fclose(f);
			return -1;
		}
		departures[nr_departures].id = strdup(line);
		departures[nr_departures].reason = strdup(end);
		departures[nr_departures].list = base;
		nr_departures++;
	}
	fclose(f);
	return 0;
}

static const struct departure *departure_of(const char *id)
{
	for (size_t i = 0; i < nr_departures; i++)
		if (!fnmatch(departures[i].id, id, 0))
			return &departures[i];
	return NULL;
}

/* -------------------------------------------------------- one test run */

/* Body of the forked test process. */
static void __attribute__((noreturn)) child(const struct ctest *t, int outfd)
{
	dup2(outfd, STDOUT_FILENO);
	dup2(outfd, STDERR_FILENO);
	close(outfd);
	setvbuf(stdout, NULL, _IOLBF, 0);
	setenv("DUNE_BACKEND", backend_name, 1);
	t->fn();
	fflush(stdout);
	exit(ct_failures() ? CT_EXIT_FAIL : CT_EXIT_PASS);
}

static void append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		if (!*buf) {
			perror("dune-conform: realloc");
			exit(2);
		}
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
}

static void run_one(struct result *r)
{
	const struct ctest *t = r->t;
	double limit = test_limit(t);
	double t0 = now();
	size_t len = 0, cap = 0;
	bool timed_out = false;
	int pfd[2], status = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) < 0) {
		r->v = V_FAIL;
		snprintf(r->reason, sizeof(r->reason), "runner: pipe: %s", strerror(errno));
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r->v = V_FAIL;
		snprintf(r->reason, sizeof(r->reason), "runner: fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		return;
	}
	if (pid == 0) {
		close(pfd[0]);
		setpgid(0, 0);
		child(t, pfd[1]);
	}
	setpgid(pid, pid);
	close(pfd[1]);
	append(&r->output, &len, &cap, "", 0);
	for (;;) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		double left = limit - (now() - t0);
		char buf[4096];
		ssize_t n;
		int pr;

		if (left <= 0) {
			timed_out = true;
			break;
		}
		pr = poll(&p, 1, (int)(left * 1000) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		n = read(pfd[0], buf, sizeof(buf));
		if (n <= 0)
			break;	/* EOF: the test (and its children) closed the pipe */
		if (len < (1 << 20))
			append(&r->output, &len, &cap, buf, (size_t)n);
	}
	if (timed_out) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	}
	close(pfd[0]);
	/* EOF came first: wait for the exit, within the same time limit. */
	while (!timed_out && waitpid(pid, &status, WNOHANG) == 0) {
		if (now() - t0 > limit) {
			timed_out = true;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(1000);
	}
	if (timed_out)
		waitpid(pid, &status, 0);
	kill(-pid, SIGKILL);	/* leftover grandchildren of the test */
	r->seconds = now() - t0;

	if (timed_out) {
		r->v = V_FAIL;
		snprintf(r->reason, sizeof(r->reason), "timed out after %.0f s (killed)", limit);
	} else if (WIFSIGNALED(status)) {
		r->v = V_FAIL;
		snprintf(r->reason, sizeof(r->reason), "test process killed by signal %d (%s)%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WCOREDUMP(status) ? ", core dumped" : "");
	} else if (WEXITSTATUS(status) == CT_EXIT_PASS) {
		r->v = V_PASS;
	} else if (WEXITSTATUS(status) == CT_EXIT_SKIP) {
		const char *s = strstr(r->output, "# SKIP ");

		r->v = V_SKIP;
		snprintf(r->reason, sizeof(r->reason), "%.*s", s ? (int)strcspn(s + 7, "\n") : 30,
			 s ? s + 7 : "test skipped itself (no reason given)");
	} else {
		const char *s = strstr(r->output, "# FAIL ");

		r->v = V_FAIL;
		if (s)
			snprintf(r->reason, sizeof(r->reason), "%.*s", (int)strcspn(s + 7, "\n"), s + 7);
		else
			snprintf(r->reason, sizeof(r->reason), "exit status %d", WEXITSTATUS(status));
	}
}

/* --------------------------------------------------------------- output */

static void print_output_as_diag(const char *out)
{
	for (const char *p = out; p && *p;) {
		size_t n = strcspn(p, "\n");

		printf("#   %.*s\n", (int)n, p);
		p += n + (p[n] == '\n');
	}
}

static void xml_escape(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default:
			if (c < 0x20 && c != '\n' && c != '\t')
				fprintf(f, "&#x%x;", c == 0 ? 0xfffd : c);
			else
				fputc(c, f);
		}
	}
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int write_junit(const char *path, struct result *res, size_t n, double total)
{
	FILE *f = fopen(path, "w");
	size_t fails = 0, skips = 0;

	if (!f) {
		fprintf(stderr, "dune-conform: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		fails += res[i].v == V_FAIL;
		skips += res[i].v == V_SKIP || res[i].v == V_XFAIL;
	}
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		n, fails, skips, total);
	fprintf(f, "  <testsuite name=\"dune-conformance\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%.3f\">\n",
		n, fails, skips, total);
	fprintf(f, "    <properties><property name=\"backend\" value=\"%s\"/></properties>\n", backend_name);
	for (size_t i = 0; i < n; i++) {
		struct result *r = &res[i];

		fprintf(f, "    <testcase classname=\"%s\" name=\"", r->t->profile);
		xml_escape(f, r->t->id);
		fprintf(f, "\" time=\"%.3f\">\n", r->seconds);
		if (r->v == V_FAIL) {
			fputs("      <failure message=\"", f);
			xml_escape(f, r->reason);
			fputs("\"/>\n", f);
		} else if (r->v == V_SKIP || r->v == V_XFAIL) {
			fprintf(f, "      <skipped message=\"%s", r->v == V_XFAIL ? "known departure: " : "");
			xml_escape(f, r->reason);
			fputs("\"/>\n", f);
		}
		if (r->output && *r->output) {
			fputs("      <system-out>", f);
			xml_escape(f, r->output);
			fputs("</system-out>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	return fclose(f);
}

static int write_json(const char *path, struct result *res, size_t n, const size_t *count)
{
	FILE *f = fopen(path, "w");
	struct utsname u;
	char host[256] = "";

	if (!f) {
		fprintf(stderr, "dune-conform: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	fputs("{\n  \"format\": \"dunebench-conformance-v1\",\n  \"host\": {\"hostname\": ", f);
	json_string(f, host);
	fputs(", \"kernel\": ", f);
	json_string(f, u.release);
	fputs(", \"machine\": ", f);
	json_string(f, u.machine);
	fputs("},\n  \"implementation\": {\"backend\": ", f);
	json_string(f, backend_name);
	fputs(", \"library\": ", f);
	json_string(f, getenv("DUNE_CONFORM_LIBRARY") ? getenv("DUNE_CONFORM_LIBRARY") : "dunebench libdune");
	fputs(", \"module\": ", f);
	json_string(f, getenv("DUNE_CONFORM_MODULE") ? getenv("DUNE_CONFORM_MODULE") : "");
	fprintf(f, "},\n  \"summary\": {\"passed\": %zu, \"failed\": %zu, \"skipped\": %zu, \"xfail\": %zu, \"xpass\": %zu},\n",
		count[V_PASS], count[V_FAIL], count[V_SKIP], count[V_XFAIL], count[V_XPASS]);
	fputs("  \"tests\": [\n", f);
	for (size_t i = 0; i < n; i++) {
		fputs("    {\"id\": ", f);
		json_string(f, res[i].t->id);
		fputs(", \"profile\": ", f);
		json_string(f, res[i].t->profile);
		fprintf(f, ", \"result\": \"%s\", \"seconds\": %.3f, \"reason\": ",
			verdict_name[res[i].v], res[i].seconds);
		json_string(f, res[i].reason);
		fputs(", \"output\": ", f);
		json_string(f, res[i].output ? res[i].output : "");
		fprintf(f, "}%s\n", i + 1 < n ? "," : "");
	}
	fputs("  ]\n}\n", f);
	return fclose(f);
}

static void list_tests(bool markdown)
{
	if (markdown) {
		printf("# Conformance tests\n\n");
		printf("Generated by `dune-conform --list --markdown`; do not edit.\n");
		printf("Each test runs in its own process. *needs*: capabilities without which it is SKIPped;\n");
		printf("*backends*: `all`, or the one backend it applies to.\n");
		printf("*destructive*: why the test can crash or hang the host on a vulnerable implementation;\n");
		printf("such a test runs only with `--allow-destructive` (the VMX lab passes it), else it is SKIPped.\n");
		for (int p = 0; profiles[p]; p++) {
			bool any = false;

			for (size_t i = 0; i < nr_tests; i++) {
				const struct ctest *t = all_tests[i];

				if (strcmp(t->profile, profiles[p]) || !selected(t))
					continue;
				if (!any)
					printf("\n## Profile `%s`\n\n| ID | what it checks | needs | backends | timeout | destructive |\n|---|---|---|---|---|---|\n",
					       profiles[p]);
				any = true;
				printf("| `%s` | %s | %s | %s | %u s | %s |\n", t->id, t->what,
				       t->needs && *t->needs ? t->needs : "-",
				       t->backends ? t->backends : "all", t->timeout ? t->timeout : 30,
				       t->destructive ? t->destructive : "-");
			}
		}
		return;
	}
	for (size_t i = 0; i < nr_tests; i++) {
		const struct ctest *t = all_tests[i];

		if (selected(t))
			printf("%-36s %-10s %-10s %s%s%s%s\n", t->id, t->profile,
			       t->needs && *t->needs ? t->needs : "-", t->what,
			       t->destructive ? " [destructive: " : "",
			       t->destructive ? t->destructive : "", t->destructive ? "]" : "");
	}
}

static void usage(FILE *f)
{
	fputs("usage: dune-conform [options] [ID-GLOB...]\n"
	      "  -l, --list             list the selected tests\n"
	      "      --markdown         with --list: print the TESTS.md table\n"
	      "  -p, --profile NAME     only this profile (repeatable): core vm traps user\n"
	      "                         signals threads fork apic robustness\n"
	      "  -t, --test GLOB        only tests whose ID matches (repeatable)\n"
	      "  -x, --exclude GLOB     leave out tests whose ID matches (repeatable)\n"
	      "  -n, --need CAP         run only tests that need capability CAP (repeatable)\n"
	      "      --without CAP      leave out the tests that need CAP (repeatable)\n"
	      "  -b, --backend NAME     vmx | kvm | auto (default $DUNE_BACKEND or auto)\n"
	      "  -d, --departures FILE  known departures (ID<TAB>reason): XFAIL/XPASS\n"
	      "  -j, --junit FILE       also write JUnit XML\n"
	      "  -J, --json FILE        also write a JSON report\n"
	      "  -T, --timeout-scale X  multiply declared timeouts by X\n"
	      "      --long             long fuzzing run: same as --fuzz-scale 100\n"
	      "      --fuzz-scale X     fuzz tests (IDs with \".fuzz.\") run X times their\n"
	      "                         default iterations (DUNE_FUZZ_SCALE), and for X > 1\n"
	      "                         get X times their timeout\n"
	      "      --seed N           fuzz seed (DUNE_FUZZ_SEED); default: the seeds\n"
	      "                         of the built-in list (fuzz-seeds.list), printed\n"
	      "  -v, --verbose          show each test's output\n"
	      "      --mark-begin       print \"# begin ID\" as each test starts\n"
	      "      --allow-destructive  also run the tests that can crash or hang the\n"
	      "                         host on a vulnerable implementation (else SKIP)\n"
	      "      --caps             print this host's capabilities and exit\n"
	      "TAP 13 on stdout; summary and progress on stderr; last line\n"
	      "\"N passed, N failed, N skipped\".\n", f);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "list", no_argument, NULL, 'l' },
		{ "markdown", no_argument, NULL, 'M' },
		{ "profile", required_argument, NULL, 'p' },
		{ "test", required_argument, NULL, 't' },
		{ "exclude", required_argument, NULL, 'x' },
		{ "need", required_argument, NULL, 'n' },
		{ "without", required_argument, NULL, 'W' },
		{ "mark-begin", no_argument, NULL, 'B' },
		{ "backend", required_argument, NULL, 'b' },
		{ "departures", required_argument, NULL, 'd' },
		{ "junit", required_argument, NULL, 'j' },
		{ "json", required_argument, NULL, 'J' },
		{ "timeout-scale", required_argument, NULL, 'T' },
		{ "long", no_argument, NULL, 'F' },
		{ "fuzz-scale", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 'E' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "caps", no_argument, NULL, 'C' },
		{ "allow-destructive", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *junit = NULL, *json = NULL, *seed = NULL;
	char scale_str[32];
	bool list = false, markdown = false, show_caps = false;
	size_t count[5] = { 0 }, n = 0;
	struct result *res;
	double t0;
	int c;

	if (getenv("DUNE_BACKEND") && *getenv("DUNE_BACKEND"))
		backend_name = getenv("DUNE_BACKEND");
	if (getenv("DUNE_FUZZ_SCALE") && *getenv("DUNE_FUZZ_SCALE"))
		fuzz_scale = atof(getenv("DUNE_FUZZ_SCALE"));
	globs = xcalloc((size_t)argc + 1, sizeof(*globs));
	want_profiles = xcalloc((size_t)argc + 1, sizeof(*want_profiles));
	excludes = xcalloc((size_t)argc + 1, sizeof(*excludes));
	want_needs = xcalloc((size_t)argc + 1, sizeof(*want_needs));
	without = xcalloc((size_t)argc + 1, sizeof(*without));
	while ((c = getopt_long(argc, argv, "lp:t:x:n:b:d:j:J:T:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'l': list = true; break;
		case 'M': markdown = true; break;
		case 'p': want_profiles[nr_want_profiles++] = optarg; break;
		case 't': globs[nr_globs++] = optarg; break;
		case 'x': excludes[nr_excludes++] = optarg; break;
		case 'n':
			if (!find_cap(optarg, strlen(optarg))) {
				fprintf(stderr, "dune-conform: --need: unknown capability '%s' (see --caps)\n", optarg);
				return 2;
			}
			want_needs[nr_want_needs++] = optarg;
			break;
		case 'W':
			if (!find_cap(optarg, strlen(optarg))) {
				fprintf(stderr, "dune-conform: --without: unknown capability '%s' (see --caps)\n", optarg);
				return 2;
			}
			without[nr_without++] = optarg;
			break;
		case 'B': mark_begin = true; break;
		case 'b': backend_name = optarg; break;
		case 'd': if (load_departures(optarg)) return 2; break;
		case 'j': junit = optarg; break;
		case 'J': json = optarg; break;
		case 'T': timeout_scale = atof(optarg); break;
		case 'F': fuzz_scale = 100; break;
		case 'S': fuzz_scale = atof(optarg); break;
		case 'E': seed = optarg; break;
		case 'v': verbose = true; break;
		case 'C': show_caps = true; break;
		case 'D': allow_destructive = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	for (; optind < argc; optind++)
		globs[nr_globs++] = argv[optind];
	if (strcmp(backend_name, "vmx") && strcmp(backend_name, "kvm") && strcmp(backend_name, "auto")) {
		fprintf(stderr, "dune-conform: --backend must be vmx, kvm or auto, not '%s'\n", backend_name);
		return 2;
	}
	if (timeout_scale <= 0) {
		fprintf(stderr, "dune-conform: --timeout-scale must be positive\n");
		return 2;
	}
	if (fuzz_scale <= 0) {
		fprintf(stderr, "dune-conform: --fuzz-scale must be positive\n");
		return 2;
	}
	if (seed) {
		char *end;

		errno = 0;
		(void)strtoull(seed, &end, 0);
		if (errno || !*seed || *end) {
			fprintf(stderr, "dune-conform: --seed wants a number, not '%s'\n", seed);
			return 2;
		}
		setenv("DUNE_FUZZ_SEED", seed, 1);
	}
	snprintf(scale_str, sizeof(scale_str), "%g", fuzz_scale);
	setenv("DUNE_FUZZ_SCALE", scale_str, 1);
	/* tests with their own time bounds (the fuzz watchdogs) scale them too */
	snprintf(scale_str, sizeof(scale_str), "%g", timeout_scale);
	setenv("DUNE_CONFORM_TIMEOUT_SCALE", scale_str, 1);
	for (size_t i = 0; i < nr_want_profiles; i++) {
		bool ok = false;

		for (int p = 0; profiles[p]; p++)
			ok |= !strcmp(profiles[p], want_profiles[i]);
		if (!ok) {
			fprintf(stderr, "dune-conform: unknown profile '%s'\n", want_profiles[i]);
			return 2;
		}
	}
	if (load_tests())
		return 2;
	/* a pattern that selects nothing is a mistake (a typo, a renamed
	 * test): refuse it rather than report "0 passed, 0 failed" */
	for (size_t g = 0; g < nr_globs; g++) {
		bool hit = false;

		for (size_t i = 0; i < nr_tests && !hit; i++)
			hit = !fnmatch(globs[g], all_tests[i]->id, 0);
		if (!hit) {
			fprintf(stderr, "dune-conform: the pattern '%s' matches no test (--list shows them)\n",
				globs[g]);
			return 2;
		}
	}
	if (show_caps) {
		for (const struct capability *cp = caps; cp->name; cp++)
			printf("%-10s %s\n", cp->name, cp->have() ? "yes" : cp->missing);
		return 0;
	}
	if (list) {
		list_tests(markdown);
		return 0;
	}

	res = xcalloc(nr_tests + 1, sizeof(*res));
	for (size_t i = 0; i < nr_tests; i++)
		if (selected(all_tests[i]))
			res[n++].t = all_tests[i];
	signal(SIGPIPE, SIG_IGN);
	printf("TAP version 13\n1..%zu\n", n);
	fflush(stdout);
	t0 = now();
	for (size_t i = 0; i < n; i++) {
		struct result *r = &res[i];
		const struct ctest *t = r->t;
		const struct capability *miss = missing_cap(t->needs);
		const struct departure *dep;

		if (mark_begin) {
			printf("# begin %s\n", t->id);
			fflush(stdout);
		}
		fprintf(stderr, "[%zu/%zu] %s ...", i + 1, n, t->id);
		if (t->backends && strcmp(t->backends, "all") && strcmp(backend_name, "auto") &&
		    strcmp(t->backends, backend_name)) {
			r->v = V_SKIP;
			snprintf(r->reason, sizeof(r->reason), "%s-only test, backend is %s",
				 t->backends, backend_name);
		} else if (miss) {
			r->v = V_SKIP;
			snprintf(r->reason, sizeof(r->reason), "missing capability %s: %s",
				 miss->name, miss->missing);
		} else if (t->destructive && !allow_destructive) {
			r->v = V_SKIP;
			snprintf(r->reason, sizeof(r->reason),
				 "destructive (%s): runs only with --allow-destructive", t->destructive);
		} else {
			run_one(r);
		}
		dep = departure_of(t->id);
		if (dep && r->v == V_FAIL) {
			r->v = V_XFAIL;
			snprintf(r->reason, sizeof(r->reason), "%s", dep->reason);
		} else if (dep && r->v == V_PASS) {
			r->v = V_XPASS;
			r->list = dep->list;
			snprintf(r->reason, sizeof(r->reason), "listed departure did not occur: %s", dep->reason);
		}
		count[r->v]++;
		fprintf(stderr, " %s%s%s (%.1f s)\n", verdict_name[r->v], *r->reason ? ": " : "",
			r->reason, r->seconds);

		switch (r->v) {
		case V_PASS: printf("ok %zu - %s\n", i + 1, t->id); break;
		case V_SKIP: printf("ok %zu - %s # SKIP %s\n", i + 1, t->id, r->reason); break;
		case V_XFAIL: printf("not ok %zu - %s # TODO known departure: %s\n", i + 1, t->id, r->reason); break;
		case V_XPASS: printf("ok %zu - %s # TODO XPASS %s: %s\n", i + 1, t->id, r->list, r->reason); break;
		case V_FAIL: printf("not ok %zu - %s # %s\n", i + 1, t->id, r->reason); break;
		}
		if ((verbose || r->v == V_FAIL || r->v == V_XFAIL) && r->output && *r->output)
			print_output_as_diag(r->output);
		fflush(stdout);
	}

	fprintf(stderr, "\nprofile      pass  fail  skip xfail xpass\n");
	for (int p = 0; profiles[p]; p++) {
		size_t pc[5] = { 0 }, any = 0;

		for (size_t i = 0; i < n; i++)
			if (!strcmp(res[i].t->profile, profiles[p]))
				pc[res[i].v]++, any++;
		if (any)
			fprintf(stderr, "%-10s %6zu %5zu %5zu %5zu %5zu\n", profiles[p],
				pc[V_PASS], pc[V_FAIL], pc[V_SKIP], pc[V_XFAIL], pc[V_XPASS]);
	}
	for (size_t i = 0; i < n; i++)
		if (res[i].v == V_XPASS)
			fprintf(stderr, "XPASS %s (%s): %s\n", res[i].t->id, res[i].list, res[i].reason);
	if (junit && write_junit(junit, res, n, now() - t0))
		return 2;
	if (json && write_json(json, res, n, count))
		return 2;
	/* an XPASS is not a pass: it is counted apart, with the XFAILs */
	fprintf(stderr, "%zu passed, %zu failed, %zu skipped", count[V_PASS],
		count[V_FAIL], count[V_SKIP]);
	if (count[V_XFAIL] || count[V_XPASS])
		fprintf(stderr, " (%zu known departures, %zu unexpected passes)", count[V_XFAIL], count[V_XPASS]);
	fputc('\n', stderr);
	return count[V_FAIL] ? 1 : 0;
}

// SPDX-License-Identifier: MIT
/*
 * unit.c - host unit tests of dune-sandbox's parts that need no Dune: the
 * ELF checks, the initial stack, the table of the program's memory (the
 * pointer checks), the policy parser and the trace formatter.  TAP on
 * stdout.  usage: unit-sandbox STATIC-ELF (a static executable to start
 * from).  Random inputs come from a fixed seed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

static int n_tests, n_failed;

static void ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ok(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++n_tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		n_failed++;
}

static uint64_t rng = 0x5eed5a4db0c5ULL;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static uint8_t *slurp(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	struct stat st;
	uint8_t *b;

	if (fd < 0 || fstat(fd, &st)) {
		perror(p);
		exit(2);
	}
	b = malloc((size_t)st.st_size);
	if (!b || read(fd, b, (size_t)st.st_size) != st.st_size) {
		perror(p);
		exit(2);
	}
	close(fd);
	*len = (size_t)st.st_size;
	return b;
}

/* ------------------------------------------------------------- ELF */

static void test_elf(const char *path)
{
	size_t len, l;
	uint8_t *good = slurp(path, &len), *b = malloc(len);
	struct sb_elf e;
	char err[256];
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;
	Elf64_Phdr *ph;
	int bad = 0, i;

	ok(sb_elf_parse(&e, good, len, err, sizeof(err)) == 0 && !e.pie && !e.interp && e.lo >= 0x10000 &&
	   e.hi > e.lo && e.phdr_vaddr, "elf.static: a static executable is accepted (ET_EXEC, no interpreter, span %#lx-%#lx)",
	   (unsigned long)e.lo, (unsigned long)e.hi);
	/* every truncation is refused, none read past the end (ASan) */
	for (l = 0; l < len && l < 4096; l++) {
		uint8_t *t = malloc(l ? l : 1);

		memcpy(t, good, l);
		if (sb_elf_parse(&e, t, l, err, sizeof(err)) == 0)
			bad++;
		free(t);
	}
	ok(!bad, "elf.truncated: each of the first 4096 truncations is refused (%d accepted)", bad);
	sb_elf_parse(&e, good, 100, err, sizeof(err));
	ok(strstr(err, "truncated") != NULL, "elf.truncated_msg: the reason says truncated: '%s'", err);

	memcpy(b, good, len);
	eh->e_machine = EM_AARCH64;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "wrong architecture"),
	   "elf.arch: AArch64 refused: '%s'", err);
	memcpy(b, good, len);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "64-bit"), "elf.class: 32-bit refused: '%s'", err);
	memcpy(b, good, len);
	b[1] = 'X';
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "not an ELF"), "elf.magic: '%s'", err);
	memcpy(b, good, len);
	eh->e_type = ET_REL;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "not an executable"), "elf.type: '%s'", err);

	memcpy(b, good, len);
	ph = (Elf64_Phdr *)(b + eh->e_phoff);
	for (i = 0; ph[i].p_type != PT_LOAD; i++)
		;
	ph[i].p_memsz = 1UL << 40;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "fit"), "elf.huge: a 1 TiB segment refused: '%s'", err);
	memcpy(b, good, len);
	ph[i].p_filesz = ph[i].p_memsz + 1;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "larger than memory size"),
	   "elf.filesz: file size above memory size refused: '%s'", err);
	memcpy(b, good, len);
	ph[i].p_offset = len;
	ph[i].p_filesz = 4096;
	if (ph[i].p_memsz < 4096)
		ph[i].p_memsz = 4096;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "truncated"), "elf.segment_past_end: '%s'", err);
	memcpy(b, good, len);
	ph[i].p_vaddr += 1;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "modulo"), "elf.congruence: '%s'", err);
	memcpy(b, good, len);
	eh->e_entry = 0x10;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "entry point"), "elf.entry: '%s'", err);
	memcpy(b, good, len);
	eh->e_phoff = len - 8;
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "program headers"), "elf.phoff: '%s'", err);
	memcpy(b, good, len);
	ph[0].p_type = PT_INTERP;
	ph[0].p_offset = 0;
	ph[0].p_filesz = 16;	/* the ELF magic: not a NUL-terminated path */
	ok(sb_elf_parse(&e, b, len, err, sizeof(err)) && strstr(err, "PT_INTERP"), "elf.interp: '%s'", err);

	/* random corruption of the headers: refused or consistent, never a crash */
	bad = 0;
	for (int it = 0; it < 20000; it++) {
		size_t span = eh->e_phoff + 64 * 8;

		memcpy(b, good, len);
		for (int k = 1 + (int)(rnd() % 4); k > 0; k--)
			b[rnd() % (span < len ? span : len)] ^= (uint8_t)(1 + rnd() % 255);
		if (sb_elf_parse(&e, b, len, err, sizeof(err)) == 0) {
			if (e.hi <= e.lo || e.hi - e.lo > SB_MAX_IMAGE || e.eh->e_entry < e.lo || e.eh->e_entry >= e.hi)
				bad++;
			for (unsigned int k = 0; k < e.phnum; k++)
				if (e.ph[k].p_type == PT_LOAD &&
				    (e.ph[k].p_offset + e.ph[k].p_filesz > len || e.ph[k].p_filesz > e.ph[k].p_memsz))
					bad++;
		}
	}
	ok(!bad, "elf.fuzz: 20000 corrupted headers (seed fixed): every accepted one is consistent (%d not)", bad);
	free(b);
	free(good);
}

/* ----------------------------------------------------------- stack */

static void test_stack(void)
{
	size_t size = 1 << 16;
	uint8_t *buf = calloc(1, size);
	uintptr_t top = 0x7ff000000000UL, sp;
	char *argv[] = { "prog", "a", "b c", NULL };
	char *envp[] = { "X=1", "LONG=" "0123456789", NULL };
	struct sb_auxv aux[] = { { AT_PAGESZ, 4096 }, { AT_RANDOM, 0 }, { AT_EXECFN, 0 }, { AT_PLATFORM, 0 },
				 { AT_ENTRY, 0x401000 } };
	uint8_t r16[16];
	uint64_t *w;
	int i, good = 1;

	for (i = 0; i < 16; i++)
		r16[i] = (uint8_t)(i * 7 + 1);
	sp = sb_build_stack(buf, size, top, 3, argv, envp, aux, 5, r16, "/bin/prog", "x86_64");
#define G(a) (buf + ((a) - (top - size)))
	ok(sp && sp % 16 == 0 && sp > top - size && sp < top, "stack.aligned: the stack pointer %#lx is 16-byte aligned and inside",
	   (unsigned long)sp);
	if (!sp)
		return;
	w = (uint64_t *)G(sp);
	ok(w[0] == 3, "stack.argc: argc is 3 (%lu)", (unsigned long)w[0]);
	for (i = 0; i < 3; i++)
		good &= w[1 + i] > sp && w[1 + i] < top && !strcmp((char *)G(w[1 + i]), argv[i]);
	good &= w[4] == 0;
	ok(good, "stack.argv: argv[0..2] point at their strings, then NULL");
	good = w[5] && !strcmp((char *)G(w[5]), "X=1") && !strcmp((char *)G(w[6]), "LONG=0123456789") && w[7] == 0;
	ok(good, "stack.envp: envp strings, then NULL");
	w += 8;
	good = w[0] == AT_PAGESZ && w[1] == 4096 && w[2] == AT_RANDOM && !memcmp(G(w[3]), r16, 16) &&
	       w[4] == AT_EXECFN && !strcmp((char *)G(w[5]), "/bin/prog") && w[6] == AT_PLATFORM &&
	       !strcmp((char *)G(w[7]), "x86_64") && w[8] == AT_ENTRY && w[9] == 0x401000 &&
	       w[10] == AT_NULL && w[11] == 0;
	ok(good, "stack.auxv: AT_RANDOM points at the 16 bytes, AT_EXECFN and AT_PLATFORM at their strings, AT_NULL last");
	ok(sb_build_stack(buf, 128, top, 3, argv, envp, aux, 5, r16, "/bin/prog", "x86_64") == 0,
	   "stack.too_small: a buffer too small is refused");
	free(buf);
}

/* ------------------------------------------------------------- memory */

#define MODEL_PAGES 256
static void test_mem(void)
{
	static struct sb_mem m;
	static int model[MODEL_PAGES];	/* -1 absent, else prot */
	uintptr_t base = 0x100000;
	int bad = 0, it, i;
	char *s;

	sb_mem_init(&m);
	for (i = 0; i < MODEL_PAGES; i++)
		model[i] = -1;
	for (it = 0; it < 20000; it++) {
		int a = (int)(rnd() % MODEL_PAGES), b = a + 1 + (int)(rnd() % 16), prot = (int)(rnd() % 4);

		if (b > MODEL_PAGES)
			b = MODEL_PAGES;
		if (rnd() % 3) {
			sb_mem_add(&m, base + (uintptr_t)a * SB_PAGE, base + (uintptr_t)b * SB_PAGE, prot);
			for (i = a; i < b; i++)
				model[i] = prot;
		} else {
			sb_mem_del(&m, base + (uintptr_t)a * SB_PAGE, base + (uintptr_t)b * SB_PAGE);
			for (i = a; i < b; i++)
				model[i] = -1;
		}
		/* invariants: sorted, disjoint, merged */
		for (i = 0; i < m.n; i++)
			if (m.r[i].start >= m.r[i].end || (i && m.r[i - 1].end > m.r[i].start))
				bad++;
		/* queries against the model */
		a = (int)(rnd() % MODEL_PAGES);
		b = a + (int)(rnd() % 8);
		if (b > MODEL_PAGES)
			b = MODEL_PAGES;
		{
			bool has = true, ov = false, rd = true;
			size_t off = rnd() % SB_PAGE, len = (size_t)(b - a) * SB_PAGE;

			if (len > off)
				len -= off;
			else
				len = 0;
			for (i = a; i < b; i++) {
				uintptr_t ps = base + (uintptr_t)i * SB_PAGE, pe = ps + SB_PAGE;
				uintptr_t qs = base + (uintptr_t)a * SB_PAGE + off, qe = qs + len;

				if (pe <= qs || ps >= qe)
					continue;
				has &= model[i] >= 0;
				ov |= model[i] >= 0;
				rd &= model[i] >= 0 && (model[i] & PROT_READ);
			}
			if (!len)
				has = rd = true, ov = false;
			if (sb_mem_has(&m, base + (uintptr_t)a * SB_PAGE + off, len) != has ||
			    sb_mem_overlaps(&m, base + (uintptr_t)a * SB_PAGE + off, len) != ov ||
			    sb_mem_readable(&m, base + (uintptr_t)a * SB_PAGE + off, len) != rd)
				bad++;
		}
	}
	ok(!bad, "mem.model: 20000 random adds and removes (seed fixed) agree with a page model (%d differences)", bad);
	ok(!sb_mem_has(&m, UINTPTR_MAX - 10, 100), "mem.wrap: a range that wraps around is refused");

	/* strings: only while the whole string is the program's and readable */
	s = mmap(NULL, 3 * SB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	sb_mem_init(&m);
	sb_mem_add(&m, (uintptr_t)s, (uintptr_t)s + 2 * SB_PAGE, PROT_READ | PROT_WRITE);
	memset(s, 'a', 3 * SB_PAGE);
	s[SB_PAGE + 10] = 0;
	ok(sb_mem_strlen(&m, (uintptr_t)s + 5, 1 << 20) == (long)SB_PAGE + 5, "mem.strlen: across two regions");
	s[SB_PAGE + 10] = 'a';
	s[2 * SB_PAGE + 3] = 0;
	ok(sb_mem_strlen(&m, (uintptr_t)s, 1 << 20) == -1, "mem.strlen_unterminated: a string that runs out of the program's memory is refused");
	ok(sb_mem_strlen(&m, (uintptr_t)s, 100) == -1, "mem.strlen_max: longer than the maximum is refused");
	sb_mem_add(&m, (uintptr_t)s + SB_PAGE, (uintptr_t)s + 2 * SB_PAGE, PROT_NONE);
	s[SB_PAGE + 10] = 0;
	ok(sb_mem_strlen(&m, (uintptr_t)s, 1 << 20) == -1, "mem.strlen_prot_none: a string reaching a PROT_NONE page is refused");
	munmap(s, 3 * SB_PAGE);
}

/* ------------------------------------------------------------- policy */

static void test_policy(void)
{
	struct sb_policy p;
	char err[512];
	int r;

	sb_policy_default(&p);
	r = sb_policy_parse(&p, "# comment\n\nallow read write\ndeny getpid # no\nkill uname\n"
			    "path deny /etc\npath allow /etc/ld.so.cache\npath kill /secret\nnetwork off\n",
			    "p.txt", err, sizeof(err));
	ok(r == 0 && p.sys[SYS_getpid] == SB_DENY_EPERM && p.sys[SYS_uname] == SB_DENY_KILL &&
	   p.sys[SYS_read] == SB_ALLOW && !p.network, "policy.parse: rules for calls and network (%s)", r ? err : "ok");
	ok(sb_policy_path(&p, "/etc/passwd") == SB_DENY_EPERM && sb_policy_path(&p, "/etc/ld.so.cache") == SB_ALLOW &&
	   sb_policy_path(&p, "/secret/x") == SB_DENY_KILL && sb_policy_path(&p, "/usr/lib") == SB_ALLOW,
	   "policy.path: the longest prefix wins");
	sb_policy_default(&p);
	r = sb_policy_parse(&p, "default deny\nallow write exit_group\n", "p", err, sizeof(err));
	ok(r == 0 && p.sys[SYS_open] == SB_DENY_EPERM && p.sys[SYS_write] == SB_ALLOW, "policy.default: default deny then allow");
	r = sb_policy_parse(&p, "allow read\nallow frobnicate\n", "f.pol", err, sizeof(err));
	ok(r && !strcmp(err, "f.pol:2: unknown system call 'frobnicate'"), "policy.err_name: '%s'", err);
	r = sb_policy_parse(&p, "\n\n\nbogus x\n", "f.pol", err, sizeof(err));
	ok(r && !strcmp(err, "f.pol:4: expected allow, deny, kill, default, path or network, got 'bogus'"),
	   "policy.err_keyword: '%s'", err);
	r = sb_policy_parse(&p, "network maybe\n", "f.pol", err, sizeof(err));
	ok(r && !strcmp(err, "f.pol:1: expected 'network on' or 'network off'"), "policy.err_network: '%s'", err);
	r = sb_policy_parse(&p, "path deny etc\n", "f.pol", err, sizeof(err));
	ok(r && strstr(err, "f.pol:1: expected an absolute path prefix"), "policy.err_relative: '%s'", err);
	r = sb_policy_parse(&p, "deny\n", "f.pol", err, sizeof(err));
	ok(r && strstr(err, "f.pol:1: expected system call names"), "policy.err_empty: '%s'", err);
}

/* -------------------------------------------------------------- trace */

static void test_trace(void)
{
	static struct sb_mem m;
	char out[512], *buf = mmap(NULL, SB_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t a[6] = { 0 };

	sb_mem_init(&m);
	sb_mem_add(&m, (uintptr_t)buf, (uintptr_t)buf + SB_PAGE, PROT_READ | PROT_WRITE);
	strcpy(buf, "hi\n");
	a[0] = 1, a[1] = (uintptr_t)buf, a[2] = 3;
	sb_trace_format(out, sizeof(out), &m, SYS_write, a, 3);
	ok(!strcmp(out, "write(1, \"hi\\n\", 3) = 3\n"), "trace.write: '%s'", out);
	strcpy(buf, "/nonexistent");
	a[0] = (uint64_t)-100, a[1] = (uintptr_t)buf, a[2] = 0x80000, a[3] = 0;
	sb_trace_format(out, sizeof(out), &m, SYS_openat, a, -ENOENT);
	ok(!strcmp(out, "openat(AT_FDCWD, \"/nonexistent\", 0x80000, 0) = -1 ENOENT (No such file or directory)\n"),
	   "trace.openat_error: '%s'", out);
	a[0] = 1, a[1] = 0x40001000, a[2] = 8;
	sb_trace_format(out, sizeof(out), &m, SYS_write, a, -EFAULT);
	ok(!strcmp(out, "write(1, 0x40001000, 8) = -1 EFAULT (Bad address)\n"),
	   "trace.not_followed: a pointer outside the program's memory is printed, not followed: '%s'", out);
	memset(buf, 'z', 100);
	a[0] = 0, a[1] = (uintptr_t)buf, a[2] = 100;
	sb_trace_format(out, sizeof(out), &m, SYS_read, a, 100);
	ok(!strcmp(out, "read(0, \"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"..., 100) = 100\n"), "trace.long_buffer: '%s'", out);
	a[0] = 3;
	sb_trace_format(out, sizeof(out), &m, SYS_exit_group, a, 0);
	ok(!strcmp(out, "exit_group(3) = 0\n"), "trace.exit_group: '%s'", out);
	sb_trace_note(out, sizeof(out), SYS_clone, "not supported by dune-sandbox: ENOSYS");
	ok(!strcmp(out, "dune-sandbox: clone: not supported by dune-sandbox: ENOSYS\n"), "trace.note: '%s'", out);
	ok(sb_sys_lookup("openat") == SYS_openat && sb_sys_lookup("nonesuch") == -1 &&
	   (sb_sys(SYS_openat)->flags & SBF_SUPPORTED) && !(sb_sys(SYS_ptrace)->flags & SBF_SUPPORTED) &&
	   !strcmp(sb_sys(SYS_ptrace)->name, "ptrace"), "systab.lookup: names and support flags");
	munmap(buf, SB_PAGE);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: unit-sandbox STATIC-ELF\n");
		return 2;
	}
	printf("TAP version 13\n");
	test_elf(argv[1]);
	test_stack();
	test_mem();
	test_policy();
	test_trace();
	printf("1..%d\n", n_tests);
	return n_failed ? 1 : 0;
}

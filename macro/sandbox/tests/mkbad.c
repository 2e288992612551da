// SPDX-License-Identifier: MIT
/*
 * mkbad - write the bad executables of the sandbox's bad-input tests from
 * a good static one and a good dynamic one:
 *   usage: mkbad STATIC DYNAMIC OUTDIR
 *   sbt-bad-truncated   the static program cut after 100 bytes
 *   sbt-bad-arch        the static program claiming to be AArch64
 *   sbt-bad-huge        its first PT_LOAD 1 TiB large in memory
 *   sbt-bad-interp      the dynamic program with an interpreter that does not exist
 */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static unsigned char *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	unsigned char *b;
	long n;

	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0) {
		perror(p);
		exit(1);
	}
	rewind(f);
	b = malloc((size_t)n);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) {
		perror(p);
		exit(1);
	}
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void spit(const char *dir, const char *name, const unsigned char *b, size_t n)
{
	char p[4096];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f)) {
		perror(p);
		exit(1);
	}
	chmod(p, 0755);
}

static Elf64_Phdr *find(unsigned char *b, unsigned int type)
{
	Elf64_Ehdr *eh = (Elf64_Ehdr *)b;

	for (unsigned int i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr *p = (Elf64_Phdr *)(b + eh->e_phoff) + i;

		if (p->p_type == type)
			return p;
	}
	fprintf(stderr, "mkbad: no program header of type %u\n", type);
	exit(1);
}

int main(int argc, char **argv)
{
	size_t sl, dl;
	unsigned char *s, *d, *c;
	Elf64_Phdr *p;
	char *interp;

	if (argc != 4) {
		fprintf(stderr, "usage: mkbad STATIC DYNAMIC OUTDIR\n");
		return 2;
	}
	s = slurp(argv[1], &sl);
	d = slurp(argv[2], &dl);
	spit(argv[3], "sbt-bad-truncated", s, 100);
	c = malloc(sl);
	memcpy(c, s, sl);
	((Elf64_Ehdr *)c)->e_machine = EM_AARCH64;
	spit(argv[3], "sbt-bad-arch", c, sl);
	memcpy(c, s, sl);
	p = find(c, PT_LOAD);
	p->p_memsz = 1UL << 40;
	spit(argv[3], "sbt-bad-huge", c, sl);
	p = find(d, PT_INTERP);
	interp = (char *)d + p->p_offset;
	if (strlen(interp) < 4) {
		fprintf(stderr, "mkbad: interpreter path too short\n");
		return 1;
	}
	interp[strlen(interp) - 1] = 'X';	/* .../ld-linux-x86-64.so.X */
	spit(argv[3], "sbt-bad-interp", d, dl);
	return 0;
}

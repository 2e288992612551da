// SPDX-License-Identifier: MIT
/*
 * hello.c - a sandbox test program: prints its arguments, an environment
 * variable and what it can check of its auxiliary vector to stdout, one
 * line to stderr, and exits with status 3.  Its output must be the same
 * natively and under dune-sandbox.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <elf.h>

int main(int argc, char **argv)
{
	const char *e = getenv("SBT_VAR");
	const unsigned char *rnd = (const unsigned char *)getauxval(AT_RANDOM);
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	const Elf64_Phdr *ph = (const Elf64_Phdr *)getauxval(AT_PHDR);
	unsigned long phnum = getauxval(AT_PHNUM), i, nload = 0;

	printf("hello from %s\n", argc > 0 ? argv[0] : "?");
	for (int k = 1; k < argc; k++)
		printf("argv[%d] = '%s'\n", k, argv[k]);
	printf("SBT_VAR = %s\n", e ? e : "(unset)");
	printf("AT_PAGESZ = %lu\n", getauxval(AT_PAGESZ));
	printf("AT_RANDOM given: %s\n", rnd ? "yes" : "no");
	printf("AT_EXECFN = %s\n", execfn ? execfn : "(none)");
	printf("AT_PHENT = %lu\n", getauxval(AT_PHENT));
	for (i = 0; ph && i < phnum; i++)
		nload += ph[i].p_type == PT_LOAD;
	printf("PT_LOAD segments seen through AT_PHDR: %lu\n", nload);
	printf("AT_SECURE = %lu\n", getauxval(AT_SECURE));
	printf("AT_HWCAP = %#lx, AT_HWCAP2 = %#lx\n", getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
	fprintf(stderr, "to stderr\n");
	return 3;
}

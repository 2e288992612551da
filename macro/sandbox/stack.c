// SPDX-License-Identifier: MIT
/*
 * stack.c - the initial stack of a program, as the kernel builds it
 * (fs/binfmt_elf.c's create_elf_tables):
 *
 *   top:  strings of argv and envp, AT_EXECFN's string, the platform
 *         string, the 16 AT_RANDOM bytes
 *         (padding to 16 bytes)
 *         auxv pairs ending with AT_NULL
 *         NULL, envp[], NULL, argv[], argc   <- the stack pointer
 */
#include <string.h>

#include "sandbox.h"

/* place n bytes below *sp in the buffer; guest address returned, 0 if full */
static uintptr_t put(uint8_t *buf, uintptr_t base, uintptr_t *sp, const void *src, size_t n)
{
	if (*sp - base < n)
		return 0;
	*sp -= n;
	memcpy(buf + (*sp - base), src, n);
	return *sp;
}

uintptr_t sb_build_stack(uint8_t *buf, size_t size, uintptr_t top, int argc, char *const argv[],
			 char *const envp[], const struct sb_auxv *aux, int naux,
			 const uint8_t random16[16], const char *execfn, const char *platform)
{
	uintptr_t base = top - size, sp = top, rnd, efn, plat = 0;
	size_t nenv = 0, nwords, i, k;
	int j;

	if (argc < 0 || naux < 0 || size < 64)
		return 0;
	while (envp && envp[nenv])
		nenv++;
	/* one guard word of zeros at the very top, as Linux leaves */
	sp -= 8;
	memset(buf + (sp - base), 0, 8);
	efn = put(buf, base, &sp, execfn, strlen(execfn) + 1);
	if (!efn)
		return 0;
	/* strings: envp then argv, so argv ends up lowest as Linux has it */
	uintptr_t envs[nenv + 1], args[(size_t)argc + 1];

	for (i = nenv; i-- > 0;) {
		envs[i] = put(buf, base, &sp, envp[i], strlen(envp[i]) + 1);
		if (!envs[i])
			return 0;
	}
	for (j = argc; j-- > 0;) {
		args[j] = put(buf, base, &sp, argv[j], strlen(argv[j]) + 1);
		if (!args[j])
			return 0;
	}
	if (platform) {
		plat = put(buf, base, &sp, platform, strlen(platform) + 1);
		if (!plat)
			return 0;
	}
	sp &= ~15UL;
	rnd = put(buf, base, &sp, random16, 16);
	if (!rnd)
		return 0;
	/* words below: argc, argv, NULL, envp, NULL, auxv pairs, AT_NULL pair */
	nwords = 1 + (size_t)argc + 1 + nenv + 1 + 2 * ((size_t)naux + 1);
	if (sp - base < nwords * 8 + 16)
		return 0;
	sp -= nwords * 8;
	sp &= ~15UL;
	{
		uint64_t *w = (uint64_t *)(buf + (sp - base));

		k = 0;
		w[k++] = (uint64_t)argc;
		for (j = 0; j < argc; j++)
			w[k++] = args[j];
		w[k++] = 0;
		for (i = 0; i < nenv; i++)
			w[k++] = envs[i];
		w[k++] = 0;
		for (j = 0; j < naux; j++) {
			uint64_t v = aux[j].val;

			if (aux[j].type == AT_RANDOM)
				v = rnd;
			else if (aux[j].type == AT_EXECFN)
				v = efn;
			else if (aux[j].type == AT_PLATFORM)
				v = plat;
			w[k++] = aux[j].type;
			w[k++] = v;
		}
		w[k++] = AT_NULL;
		w[k++] = 0;
	}
	return sp;
}

// SPDX-License-Identifier: MIT
/* test_elf.c - the ELF reader (core/elf.c) on this test binary and on bad input */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "unit.h"

static int nload, ntext;

static int count_ph(struct dune_elf *elf, Elf64_Phdr *p)
{
	(void)elf;
	if (p->p_type == PT_LOAD)
		nload++;
	return 0;
}

static int count_sh(struct dune_elf *elf, const char *name, int i, Elf64_Shdr *s)
{
	(void)elf;
	(void)i;
	(void)s;
	if (!strcmp(name, ".text"))
		ntext++;
	return 0;
}

Test(elf, open_self)
{
	struct dune_elf elf;

	cr_assert_eq(dune_elf_open(&elf, "/proc/self/exe"), 0);
	cr_expect_eq(elf.hdr.e_machine, EM_X86_64);
	cr_expect_not_null(elf.phdr);
	cr_expect_not_null(elf.shdrstr);
	cr_expect_eq(dune_elf_iter_ph(&elf, count_ph), 0);
	cr_expect_geq(nload, 2);
	cr_expect_eq(dune_elf_iter_sh(&elf, count_sh), 0);
	cr_expect_eq(ntext, 1);
	dune_elf_close(&elf);
}

Test(elf, load_ph_copies_and_zeroes)
{
	unsigned char img[512];
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	Elf64_Phdr *p = (Elf64_Phdr *)(img + sizeof(*h));
	unsigned char dst[64];
	struct dune_elf elf;

	memset(img, 0, sizeof(img));
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_phoff = sizeof(*h);
	h->e_phnum = 1;
	h->e_phentsize = sizeof(*p);
	p->p_type = PT_LOAD;
	p->p_offset = 256;
	p->p_filesz = 8;
	p->p_memsz = 32;
	p->p_vaddr = 0;
	memcpy(img + 256, "ABCDEFGH", 8);
	memset(dst, 0x55, sizeof(dst));
	cr_assert_eq(dune_elf_open_mem(&elf, img, sizeof(img)), 0);
	cr_assert_eq(dune_elf_load_ph(&elf, &elf.phdr[0], (off_t)(uintptr_t)dst), 0);
	cr_expect_eq(memcmp(dst, "ABCDEFGH", 8), 0);
	cr_expect_eq(dst[8], 0);
	cr_expect_eq(dst[31], 0);
	cr_expect_eq(dst[32], 0x55, "nothing past p_memsz");
	p->p_filesz = 1000;
	cr_expect_eq(dune_elf_load_ph(&elf, &elf.phdr[0], (off_t)(uintptr_t)dst), -ENOEXEC,
		     "a segment past the end of the file is refused");
}

Test(elf, rejects_bad_images)
{
	unsigned char img[256];
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	struct dune_elf elf;

	memset(img, 0, sizeof(img));
	cr_expect_eq(dune_elf_open_mem(&elf, img, 10), -ENOEXEC, "too short");
	cr_expect_eq(dune_elf_open_mem(&elf, img, sizeof(img)), -ENOEXEC, "no magic");
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_phoff = 200;
	h->e_phnum = 4;
	h->e_phentsize = sizeof(Elf64_Phdr);
	cr_expect_eq(dune_elf_open_mem(&elf, img, sizeof(img)), -ENOEXEC, "phdrs past the end");
	h->e_phnum = 0;
	h->e_shoff = 64;
	h->e_shnum = 0xffff;
	h->e_shentsize = sizeof(Elf64_Shdr);
	cr_expect_eq(dune_elf_open_mem(&elf, img, sizeof(img)), -ENOEXEC, "shdrs past the end");
	cr_expect_lt(dune_elf_open(&elf, "/nonexistent/x"), 0);
}

static void dump_elf(void *arg)
{
	dune_elf_dump(arg);
}

Test(elf, dump_self)
{
	struct dune_elf elf;
	char *out, head[64];

	cr_assert_eq(dune_elf_open(&elf, "/proc/self/exe"), 0);
	out = unit_capture_stdout(dump_elf, &elf);
	snprintf(head, sizeof(head), "ELF: type %u machine %u ", elf.hdr.e_type, EM_X86_64);
	cr_expect(!strncmp(out, head, strlen(head)), "first line '%.60s', want '%s...'", out, head);
	cr_expect(strstr(out, " .text ") != NULL, "no .text section line in:\n%s", out);
	dune_elf_close(&elf);
	free(out);
}

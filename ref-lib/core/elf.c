// SPDX-License-Identifier: MIT
/*
 * elf.c - minimal ELF64 reader (headers, program and section headers).
 * Every offset and count from the file is checked against its length.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

static bool in_bounds(const struct dune_elf *elf, uint64_t off, uint64_t len)
{
	return off <= (uint64_t)elf->len && len <= (uint64_t)elf->len - off;
}

static int elf_check(struct dune_elf *elf)
{
	Elf64_Ehdr *h = &elf->hdr;

	if (elf->len < (int)sizeof(Elf64_Ehdr))
		return -ENOEXEC;
	memcpy(h, elf->mem, sizeof(*h));
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) || h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	elf->phdr = NULL;
	elf->shdr = NULL;
	elf->shdrstr = NULL;
	if (h->e_phnum) {
		if (h->e_phentsize != sizeof(Elf64_Phdr) ||
		    !in_bounds(elf, h->e_phoff, (uint64_t)h->e_phnum * sizeof(Elf64_Phdr)) ||
		    (h->e_phoff & 7))
			return -ENOEXEC;
		elf->phdr = (Elf64_Phdr *)(elf->mem + h->e_phoff);
	}
	if (h->e_shnum) {
		if (h->e_shentsize != sizeof(Elf64_Shdr) ||
		    !in_bounds(elf, h->e_shoff, (uint64_t)h->e_shnum * sizeof(Elf64_Shdr)) ||
		    (h->e_shoff & 7))
			return -ENOEXEC;
		elf->shdr = (Elf64_Shdr *)(elf->mem + h->e_shoff);
		if (h->e_shstrndx != SHN_UNDEF && h->e_shstrndx < h->e_shnum) {
			Elf64_Shdr *s = &elf->shdr[h->e_shstrndx];

			if (!in_bounds(elf, s->sh_offset, s->sh_size) || !s->sh_size ||
			    elf->mem[s->sh_offset + s->sh_size - 1] != 0)
				return -ENOEXEC;
			elf->shdrstr = (char *)elf->mem + s->sh_offset;
		}
	}
	return 0;
}

int dune_elf_open(struct dune_elf *elf, const char *path)
{
	struct stat st;
	int ret;

	memset(elf, 0, sizeof(*elf));
	elf->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (elf->fd < 0)
		return -errno;
	if (fstat(elf->fd, &st) < 0 || st.st_size > 0x7fffffff) {
		ret = st.st_size > 0x7fffffff ? -EFBIG : -errno;
		goto fail;
	}
	elf->len = (int)st.st_size;
	elf->mem = mmap(NULL, (size_t)elf->len ? (size_t)elf->len : 1, PROT_READ, MAP_PRIVATE,
			elf->fd, 0);
	if (elf->mem == MAP_FAILED) {
		ret = -errno;
		elf->mem = NULL;
		goto fail;
	}
	ret = elf_check(elf);
	if (ret)
		goto fail;
	return 0;
fail:
	dune_elf_close(elf);
	return ret;
}

int dune_elf_open_mem(struct dune_elf *elf, void *mem, int len)
{
	int ret;

	memset(elf, 0, sizeof(*elf));
	elf->fd = -1;
	elf->mem = mem;
	elf->len = len;
	ret = elf_check(elf);
	if (ret)
		memset(elf, 0, sizeof(*elf));
	return ret;
}

int dune_elf_close(struct dune_elf *elf)
{
	if (elf->fd >= 0) {
		if (elf->mem)
			munmap(elf->mem, (size_t)elf->len ? (size_t)elf->len : 1);
		close(elf->fd);
	}
	elf->fd = -1;
	elf->mem = NULL;
	return 0;
}

int dune_elf_iter_ph(struct dune_elf *elf, dune_elf_phcb cb)
{
	int i, ret;

	for (i = 0; elf->phdr && i < elf->hdr.e_phnum; i++) {
		ret = cb(elf, &elf->phdr[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int dune_elf_iter_sh(struct dune_elf *elf, dune_elf_shcb cb)
{
	int i, ret;

	for (i = 0; elf->shdr && i < elf->hdr.e_shnum; i++) {
		Elf64_Shdr *s = &elf->shdr[i];
		const char *name = "";
		Elf64_Shdr *strs = elf->shdrstr ? &elf->shdr[elf->hdr.e_shstrndx] : NULL;

		if (strs && s->sh_name < strs->sh_size)
			name = elf->shdrstr + s->sh_name;
		ret = cb(elf, name, i, s);
		if (ret)
			return ret;
	}
	return 0;
}

/* copy the file part of @phdr to (p_vaddr + off), zero the rest of p_memsz */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off)
{
	unsigned char *dst = (unsigned char *)(uintptr_t)(phdr->p_vaddr + (uint64_t)off);

	if (phdr->p_filesz > phdr->p_memsz || !in_bounds(elf, phdr->p_offset, phdr->p_filesz))
		return -ENOEXEC;
	memcpy(dst, elf->mem + phdr->p_offset, phdr->p_filesz);
	memset(dst + phdr->p_filesz, 0, phdr->p_memsz - phdr->p_filesz);
	return 0;
}

static int dump_ph(struct dune_elf *elf, Elf64_Phdr *p)
{
	(void)elf;
	dune_printf("  type %#x flags %#x off %#lx vaddr %#lx filesz %#lx memsz %#lx\n",
		    p->p_type, p->p_flags, (unsigned long)p->p_offset,
		    (unsigned long)p->p_vaddr, (unsigned long)p->p_filesz,
		    (unsigned long)p->p_memsz);
	return 0;
}

static int dump_sh(struct dune_elf *elf, const char *name, int i, Elf64_Shdr *s)
{
	(void)elf;
	dune_printf("  [%2d] %-20s type %#x addr %#lx off %#lx size %#lx\n", i, name,
		    s->sh_type, (unsigned long)s->sh_addr, (unsigned long)s->sh_offset,
		    (unsigned long)s->sh_size);
	return 0;
}

int dune_elf_dump(struct dune_elf *elf)
{
	dune_printf("ELF: type %u machine %u entry %#lx, %u program headers, %u sections\n",
		    elf->hdr.e_type, elf->hdr.e_machine, (unsigned long)elf->hdr.e_entry,
		    elf->hdr.e_phnum, elf->hdr.e_shnum);
	dune_elf_iter_ph(elf, dump_ph);
	dune_elf_iter_sh(elf, dump_sh);
	return 0;
}

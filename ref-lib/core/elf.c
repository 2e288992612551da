// SPDX-License-Identifier: MIT
/*
 * elf.c - minimal ELF64 reader, with the original's behaviour:
 *
 *  - dune_elf_open reads the ELF header, the program headers, the section
 *    headers and the section-name table with pread into malloc'd buffers;
 *    the file is never mapped (a mapping made in Dune mode is not in the
 *    guest page tables on vmx without map_full).  dune_elf_open_mem reads
 *    them from the caller's image the same way.
 *  - dune_elf_load_ph creates the segment's memory at p_vaddr + off with a
 *    fixed mmap, with the segment's permissions: the file's pages mapped
 *    privately (from an in-memory image: anonymous memory holding a copy),
 *    the rest of the last file page zeroed when there is a bss, anonymous
 *    zero pages up to p_memsz.  Whatever was mapped there is replaced.
 *
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

/* @len bytes at @off of the file or image into @dst: 0 or -errno */
static int elf_read(const struct dune_elf *elf, void *dst, size_t len, uint64_t off)
{
	size_t done = 0;

	if (!in_bounds(elf, off, len))
		return -ENOEXEC;
	if (elf->mem) {
		memcpy(dst, elf->mem + off, len);
		return 0;
	}
	while (done < len) {
		ssize_t n = pread(elf->fd, (char *)dst + done, len - done, (off_t)(off + done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOEXEC;	/* the file shrank */
		done += (size_t)n;
	}
	return 0;
}

/* a malloc'd copy of @len bytes at @off; NULL with *err set on failure */
static void *elf_read_alloc(const struct dune_elf *elf, size_t len, uint64_t off, int *err)
{
	void *buf;

	if (!in_bounds(elf, off, len)) {
		*err = -ENOEXEC;
		return NULL;
	}
	buf = malloc(len ? len : 1);
	if (!buf) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = elf_read(elf, buf, len, off);
	if (*err) {
		free(buf);
		return NULL;
	}
	return buf;
}

static void elf_free_headers(struct dune_elf *elf)
{
	free(elf->phdr);
	free(elf->shdr);
	free(elf->shdrstr);
	elf->phdr = NULL;
	elf->shdr = NULL;
	elf->shdrstr = NULL;
}

static int elf_read_headers(struct dune_elf *elf)
{
	Elf64_Ehdr *h = &elf->hdr;
	int ret;

	elf->phdr = NULL;
	elf->shdr = NULL;
	elf->shdrstr = NULL;
	ret = elf_read(elf, h, sizeof(*h), 0);
	if (ret)
		return ret;
	if (memcmp(h->e_ident, ELFMAG, SELFMAG) || h->e_ident[EI_CLASS] != ELFCLASS64 ||
	    h->e_ident[EI_DATA] != ELFDATA2LSB)
		return -ENOEXEC;
	if (h->e_phnum) {
		if (h->e_phentsize != sizeof(Elf64_Phdr))
			return -ENOEXEC;
		elf->phdr = elf_read_alloc(elf, (size_t)h->e_phnum * sizeof(Elf64_Phdr), h->e_phoff,
					   &ret);
		if (!elf->phdr)
			return ret;
	}
	if (h->e_shnum) {
		if (h->e_shentsize != sizeof(Elf64_Shdr))
			return -ENOEXEC;
		elf->shdr = elf_read_alloc(elf, (size_t)h->e_shnum * sizeof(Elf64_Shdr), h->e_shoff,
					   &ret);
		if (!elf->shdr)
			return ret;
		if (h->e_shstrndx != SHN_UNDEF && h->e_shstrndx < h->e_shnum) {
			Elf64_Shdr *s = &elf->shdr[h->e_shstrndx];

			if (!s->sh_size)
				return -ENOEXEC;
			elf->shdrstr = elf_read_alloc(elf, s->sh_size, s->sh_offset, &ret);
			if (!elf->shdrstr)
				return ret;
			if (elf->shdrstr[s->sh_size - 1] != 0)
				return -ENOEXEC;
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
	if (elf->fd < 0) {
		ret = -errno;
		elf->fd = -1;
		return ret;
	}
	if (fstat(elf->fd, &st) < 0) {
		ret = -errno;
		goto fail;
	}
	if (st.st_size > 0x7fffffff) {
		ret = -EFBIG;
		goto fail;
	}
	elf->len = (int)st.st_size;
	ret = elf_read_headers(elf);
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
	if (!mem || len < 0)
		return -EINVAL;
	elf->mem = mem;
	elf->len = len;
	ret = elf_read_headers(elf);
	if (ret) {
		elf_free_headers(elf);
		memset(elf, 0, sizeof(*elf));
		elf->fd = -1;
	}
	return ret;
}

int dune_elf_close(struct dune_elf *elf)
{
	elf_free_headers(elf);
	if (elf->fd >= 0)
		close(elf->fd);
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

static int prot_of(uint32_t flags)
{
	int prot = PROT_NONE;

	if (flags & PF_R)
		prot |= PROT_READ;
	if (flags & PF_W)
		prot |= PROT_WRITE;
	if (flags & PF_X)
		prot |= PROT_EXEC;
	return prot;
}

static int map_fixed(uintptr_t va, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap((void *)va, len, prot, flags | MAP_FIXED | MAP_PRIVATE, fd, off);

	if (p == MAP_FAILED)
		return -errno;
	return p == (void *)va ? 0 : -ENOMEM;
}

/* from an in-memory image: anonymous memory holding a copy of the file part */
static int load_from_image(struct dune_elf *elf, Elf64_Phdr *phdr, uintptr_t va, uintptr_t start,
			   uintptr_t end, int prot)
{
	int ret = map_fixed(start, end - start, PROT_READ | PROT_WRITE, MAP_ANONYMOUS, -1, 0);

	if (ret)
		return ret;
	memcpy((void *)va, elf->mem + phdr->p_offset, phdr->p_filesz);
	if (prot != (PROT_READ | PROT_WRITE) && mprotect((void *)start, end - start, prot))
		return -errno;
	return 0;
}

/*
 * From the file: its pages mapped privately; when there is a bss, the rest of
 * the last file page zeroed (made writable for that if need be) and
 * anonymous pages after it.
 */
static int load_from_file(struct dune_elf *elf, Elf64_Phdr *phdr, uintptr_t va, uintptr_t start,
			  uintptr_t end, int prot)
{
	uintptr_t file_end = va + phdr->p_filesz, anon = start;
	int ret;

	if (phdr->p_filesz) {
		anon = PGROUNDUP(file_end);
		ret = map_fixed(start, anon - start, prot, 0, elf->fd,
				(off_t)PGROUNDDOWN(phdr->p_offset));
		if (ret)
			return ret;
		if (phdr->p_memsz > phdr->p_filesz && file_end < anon) {
			uintptr_t last = anon - PGSIZE;

			if (!(prot & PROT_WRITE) &&
			    mprotect((void *)last, PGSIZE, prot | PROT_READ | PROT_WRITE))
				return -errno;
			memset((void *)file_end, 0, anon - file_end);
			if (!(prot & PROT_WRITE) && mprotect((void *)last, PGSIZE, prot))
				return -errno;
		}
	}
	if (end > anon)
		return map_fixed(anon, end - anon, prot, MAP_ANONYMOUS, -1, 0);
	return 0;
}

/*
 * Create the memory of PT_LOAD segment @phdr at p_vaddr + @off (@off a
 * multiple of the page size): the file part from the file, zeroes up to
 * p_memsz, the segment's permissions.
 */
int dune_elf_load_ph(struct dune_elf *elf, Elf64_Phdr *phdr, off_t off)
{
	uintptr_t va = (uintptr_t)(phdr->p_vaddr + (uint64_t)off), start, end;

	if (phdr->p_type != PT_LOAD || phdr->p_filesz > phdr->p_memsz || (off & (PGSIZE - 1)))
		return -EINVAL;
	if (!in_bounds(elf, phdr->p_offset, phdr->p_filesz))
		return -ENOEXEC;
	/* the file's pages can be mapped only at their own page offset */
	if (!elf->mem && phdr->p_filesz &&
	    (phdr->p_vaddr & (PGSIZE - 1)) != (phdr->p_offset & (PGSIZE - 1)))
		return -ENOEXEC;
	if (!phdr->p_memsz)
		return 0;
	start = PGROUNDDOWN(va);
	end = PGROUNDUP(va + phdr->p_memsz);
	if (va + phdr->p_memsz < va || end <= start || end > (1UL << 47))
		return -EINVAL;
	if (elf->mem)
		return load_from_image(elf, phdr, va, start, end, prot_of(phdr->p_flags));
	return load_from_file(elf, phdr, va, start, end, prot_of(phdr->p_flags));
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

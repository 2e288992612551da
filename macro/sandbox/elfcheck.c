// SPDX-License-Identifier: MIT
/*
 * elfcheck.c - check an ELF executable before anything is mapped: class,
 * byte order, machine, type, program headers inside the file, PT_LOAD
 * segments consistent (file size within memory size, offset and address
 * congruent modulo the page size, no overflow, the span within
 * SB_MAX_IMAGE), PT_INTERP a NUL-terminated path inside the file.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sandbox.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static bool in_file(size_t len, uint64_t off, uint64_t n)
{
	return off <= len && n <= len - off;
}

int sb_elf_parse(struct sb_elf *e, const void *buf, size_t len, char *err, size_t errlen)
{
	const Elf64_Ehdr *eh = buf;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	unsigned int i, nload = 0;

	memset(e, 0, sizeof(*e));
	e->buf = buf;
	e->len = len;
	if (len < 4 || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(err, errlen, "not an ELF file");
	if (len < sizeof(Elf64_Ehdr))
		return fail(err, errlen, "truncated ELF file (%zu bytes, the ELF header alone is %zu)",
			    len, sizeof(Elf64_Ehdr));
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return fail(err, errlen, "not a 64-bit ELF file (class %u)", eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return fail(err, errlen, "not a little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return fail(err, errlen, "wrong architecture: ELF machine %u, not x86-64 (%u)",
			    eh->e_machine, EM_X86_64);
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return fail(err, errlen, "not an executable (ELF type %u)", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return fail(err, errlen, "bad program header size %u", eh->e_phentsize);
	if (eh->e_phnum == 0 || eh->e_phnum > SB_MAX_PHNUM)
		return fail(err, errlen, "bad number of program headers %u", eh->e_phnum);
	if (!in_file(len, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)) ||
	    eh->e_phoff % 8)
		return fail(err, errlen, "truncated ELF file: program headers at %#lx past its end (%zu bytes)",
			    (unsigned long)eh->e_phoff, len);
	e->eh = eh;
	e->ph = (const Elf64_Phdr *)((const uint8_t *)buf + eh->e_phoff);
	e->phnum = eh->e_phnum;
	e->pie = eh->e_type == ET_DYN;
	for (i = 0; i < e->phnum; i++) {
		const Elf64_Phdr *p = &e->ph[i];

		switch (p->p_type) {
		case PT_LOAD:
			if (p->p_filesz > p->p_memsz)
				return fail(err, errlen, "segment %u: file size %#lx larger than memory size %#lx",
					    i, (unsigned long)p->p_filesz, (unsigned long)p->p_memsz);
			if (!in_file(len, p->p_offset, p->p_filesz))
				return fail(err, errlen, "truncated ELF file: segment %u needs bytes %#lx..%#lx, the file has %zu",
					    i, (unsigned long)p->p_offset,
					    (unsigned long)(p->p_offset + p->p_filesz), len);
			if ((p->p_vaddr - p->p_offset) % SB_PAGE)
				return fail(err, errlen, "segment %u: address %#lx and file offset %#lx differ modulo the page size",
					    i, (unsigned long)p->p_vaddr, (unsigned long)p->p_offset);
			if (p->p_memsz > SB_MAX_IMAGE || p->p_vaddr > UINT64_MAX - p->p_memsz - SB_PAGE ||
			    p->p_vaddr + p->p_memsz > (1UL << 47))
				return fail(err, errlen, "segment %u: %#lx bytes at %#lx do not fit in memory",
					    i, (unsigned long)p->p_memsz, (unsigned long)p->p_vaddr);
			if (SB_PAGE_DOWN(p->p_vaddr) < lo)
				lo = SB_PAGE_DOWN(p->p_vaddr);
			if (SB_PAGE_UP(p->p_vaddr + p->p_memsz) > hi)
				hi = SB_PAGE_UP(p->p_vaddr + p->p_memsz);
			if (p->p_offset == 0 && p->p_filesz >= eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) &&
			    !e->phdr_vaddr)
				e->phdr_vaddr = p->p_vaddr + eh->e_phoff;
			nload++;
			break;
		case PT_INTERP:
			if (!in_file(len, p->p_offset, p->p_filesz) || p->p_filesz < 2 || p->p_filesz > 4096)
				return fail(err, errlen, "truncated ELF file: bad PT_INTERP");
			e->interp = (const char *)buf + p->p_offset;
			if (e->interp[p->p_filesz - 1] != '\0' || strlen(e->interp) != p->p_filesz - 1)
				return fail(err, errlen, "PT_INTERP is not a NUL-terminated path");
			break;
		case PT_PHDR:
			e->phdr_vaddr = p->p_vaddr;
			break;
		case PT_GNU_STACK:
			e->exec_stack = p->p_flags & PF_X;
			break;
		}
	}
	if (!nload)
		return fail(err, errlen, "no loadable segment");
	if (hi - lo > SB_MAX_IMAGE)
		return fail(err, errlen, "the segments span %#lx bytes, more than the sandbox's %#lx",
			    (unsigned long)(hi - lo), (unsigned long)SB_MAX_IMAGE);
	if (!e->pie && lo < 0x10000)
		return fail(err, errlen, "segment at %#lx, below the lowest address a program may use",
			    (unsigned long)lo);
	if (eh->e_entry < lo || eh->e_entry >= hi)
		return fail(err, errlen, "entry point %#lx outside the loaded segments",
			    (unsigned long)eh->e_entry);
	e->lo = lo;
	e->hi = hi;
	return 0;
}

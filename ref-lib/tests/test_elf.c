// SPDX-License-Identifier: MIT
/* test_elf.c - the ELF reader (core/elf.c) on this test binary and on bad input */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* a one-segment image: 8 file bytes at offset 256, p_memsz 32 */
static void make_image(unsigned char *img, size_t len)
{
	Elf64_Ehdr *h = (Elf64_Ehdr *)img;
	Elf64_Phdr *p = (Elf64_Phdr *)(img + sizeof(*h));

	memset(img, 0, len);
	memcpy(h->e_ident, ELFMAG, SELFMAG);
	h->e_ident[EI_CLASS] = ELFCLASS64;
	h->e_ident[EI_DATA] = ELFDATA2LSB;
	h->e_phoff = sizeof(*h);
	h->e_phnum = 1;
	h->e_phentsize = sizeof(*p);
	p->p_type = PT_LOAD;
	p->p_flags = PF_R | PF_W;
	p->p_offset = 256;
	p->p_filesz = 8;
	p->p_memsz = 32;
	p->p_vaddr = 0x100;
	memcpy(img + 256, "ABCDEFGH", 8);
}

Test(elf, load_ph_from_image)
{
	unsigned char img[512];
	unsigned char *area;
	struct dune_elf elf;

	make_image(img, sizeof(img));
	area = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(area != MAP_FAILED);
	memset(area, 0x55, 3 * 4096);
	cr_assert_eq(dune_elf_open_mem(&elf, img, sizeof(img)), 0);
	cr_expect(elf.phdr != (Elf64_Phdr *)(img + sizeof(Elf64_Ehdr)), "headers are a copy");
	img[sizeof(Elf64_Ehdr)] = 0;	/* the copy stays as it was read */
	cr_expect_eq(elf.phdr[0].p_type, PT_LOAD);
	cr_assert_eq(dune_elf_load_ph(&elf, &elf.phdr[0], (off_t)(uintptr_t)(area + 4096)), 0);
	cr_expect_eq(memcmp(area + 4096 + 0x100, "ABCDEFGH", 8), 0);
	cr_expect_eq(area[4096], 0, "fresh memory before p_vaddr");
	cr_expect_eq(area[4096 + 0x108], 0);
	cr_expect_eq(area[4096 + 0x11f], 0);
	cr_expect_eq(area[4095], 0x55, "the page before is untouched");
	cr_expect_eq(area[2 * 4096], 0x55, "the page after is untouched");
	cr_expect_eq(dune_elf_close(&elf), 0);
	munmap(area, 3 * 4096);
}

Test(elf, load_ph_refuses_bad_arguments)
{
	unsigned char img[512];
	struct dune_elf elf;
	Elf64_Phdr ph;
	unsigned char *area;

	make_image(img, sizeof(img));
	area = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(area != MAP_FAILED);
	area[0] = 0x55;
	cr_assert_eq(dune_elf_open_mem(&elf, img, sizeof(img)), 0);
	ph = elf.phdr[0];
	ph.p_vaddr = 0;
	cr_expect_eq(dune_elf_load_ph(&elf, &ph, (off_t)(uintptr_t)area + 8), -EINVAL,
		     "off not a multiple of the page size");
	ph.p_type = PT_NOTE;
	cr_expect_eq(dune_elf_load_ph(&elf, &ph, (off_t)(uintptr_t)area), -EINVAL, "not PT_LOAD");
	ph.p_type = PT_LOAD;
	ph.p_filesz = 64;
	cr_expect_eq(dune_elf_load_ph(&elf, &ph, (off_t)(uintptr_t)area), -EINVAL,
		     "p_filesz > p_memsz");
	ph.p_memsz = 2000;
	ph.p_filesz = 1000;
	cr_expect_eq(dune_elf_load_ph(&elf, &ph, (off_t)(uintptr_t)area), -ENOEXEC,
		     "a segment past the end of the file");
	cr_expect_eq(area[0], 0x55, "nothing mapped for a refused segment");
	dune_elf_close(&elf);
	munmap(area, 4096);
}

/* mappings of the file /proc/self/exe names */
static int exe_mappings(void)
{
	char exe[4096], line[8192];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "r");
	int count = 0;

	cr_assert(n > 0 && f);
	exe[n] = 0;
	while (fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (path && !strncmp(path, exe, (size_t)n) && path[n] == '\n')
			count++;
	}
	fclose(f);
	return count;
}

/* the permissions /proc/self/maps shows at @addr, as "rw-p" */
static void maps_perms(uintptr_t addr, char perms[5])
{
	char line[8192];
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned long lo, hi;

	strcpy(perms, "none");
	cr_assert(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
			break;
		else
			strcpy(perms, "none");
	fclose(f);
}

static Elf64_Phdr text_ph, data_ph;

static int pick_segments(struct dune_elf *elf, Elf64_Phdr *p)
{
	(void)elf;
	if (p->p_type != PT_LOAD)
		return 0;
	if ((p->p_flags & PF_X) && !text_ph.p_memsz)
		text_ph = *p;
	if ((p->p_flags & PF_W) && p->p_memsz > p->p_filesz && p->p_filesz)
		data_ph = *p;
	return 0;
}

static void check_segment(int fd, const Elf64_Phdr *p, uintptr_t base, const char *want_perms)
{
	const unsigned char *seg = (const unsigned char *)base + (p->p_vaddr & 4095);
	unsigned char *ref = malloc(p->p_filesz ? p->p_filesz : 1);
	char perms[5];
	size_t i, nonzero = 0;

	cr_assert(ref);
	cr_assert_eq(pread(fd, ref, p->p_filesz, (off_t)p->p_offset), (ssize_t)p->p_filesz);
	cr_expect_eq(memcmp(seg, ref, p->p_filesz), 0, "the file part is the file's bytes");
	for (i = p->p_filesz; i < PGROUNDUP((p->p_vaddr & 4095) + p->p_memsz) - (p->p_vaddr & 4095); i++)
		nonzero += seg[i] != 0;
	if (p->p_memsz > p->p_filesz)
		cr_expect_eq(nonzero, 0, "%zu non-zero bytes after p_filesz", nonzero);
	maps_perms(base, perms);
	cr_expect_str_eq(perms, want_perms, "first page");
	maps_perms(PGROUNDUP(base + (p->p_vaddr & 4095) + p->p_memsz) - 1, perms);
	cr_expect_str_eq(perms, want_perms, "last page");
	free(ref);
}

Test(elf, load_ph_from_file)
{
	struct dune_elf elf;
	size_t span;
	char *hole;
	int before = exe_mappings();

	cr_assert_eq(dune_elf_open(&elf, "/proc/self/exe"), 0);
	cr_expect_eq(exe_mappings(), before, "dune_elf_open maps nothing of the file");
	cr_assert_eq(dune_elf_iter_ph(&elf, pick_segments), 0);
	cr_assert(text_ph.p_memsz && data_ph.p_memsz, "a text and a data segment");

	span = PGROUNDUP((data_ph.p_vaddr & 4095) + data_ph.p_memsz);
	hole = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(hole != MAP_FAILED);
	cr_assert_eq(dune_elf_load_ph(&elf, &data_ph,
				     (off_t)((uintptr_t)hole - PGROUNDDOWN(data_ph.p_vaddr))), 0);
	check_segment(elf.fd, &data_ph, (uintptr_t)hole, "rw-p");
	munmap(hole, span);

	span = PGROUNDUP((text_ph.p_vaddr & 4095) + text_ph.p_memsz);
	hole = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	cr_assert(hole != MAP_FAILED);
	cr_assert_eq(dune_elf_load_ph(&elf, &text_ph,
				     (off_t)((uintptr_t)hole - PGROUNDDOWN(text_ph.p_vaddr))), 0);
	check_segment(elf.fd, &text_ph, (uintptr_t)hole, "r-xp");
	munmap(hole, span);
	dune_elf_close(&elf);
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

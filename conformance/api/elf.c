// SPDX-License-Identifier: MIT
/*
 * elf.c - the ELF helpers in Dune mode: dune_elf_open reads the headers
 * (no mapping of the file), dune_elf_load_ph creates a segment's memory at
 * p_vaddr + off and fills it from the file, zeroes past p_filesz.
 * The ELF is this test program (/proc/self/exe).
 */
#include "common.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static Elf64_Phdr data_ph;	/* the writable PT_LOAD that has a bss */
static int nload, nphdr, ntext;

static int find_data(struct dune_elf *elf, Elf64_Phdr *p)
{
	(void)elf;
	nphdr++;
	if (p->p_type != PT_LOAD)
		return 0;
	nload++;
	if ((p->p_flags & PF_W) && p->p_memsz > p->p_filesz && p->p_filesz)
		data_ph = *p;
	return 0;
}

static int find_text(struct dune_elf *elf, const char *name, int i, Elf64_Shdr *s)
{
	(void)elf;
	(void)i;
	(void)s;
	if (!strcmp(name, ".text"))
		ntext++;
	return 0;
}

static size_t seg_span(const Elf64_Phdr *p)
{
	return PGROUNDUP((p->p_vaddr & (PGSIZE - 1)) + p->p_memsz);
}

/* in Dune mode: open, walk the headers, find the data segment */
static void open_and_walk(struct dune_elf *elf)
{
	int r = dune_elf_open(elf, "/proc/self/exe");

	CT_ASSERT(r == 0, "dune_elf_open(/proc/self/exe): %d", r);
	CT_EXPECT_EQ(elf->hdr.e_machine, EM_X86_64);
	CT_ASSERT_EQ(dune_elf_iter_ph(elf, find_data), 0);
	CT_EXPECT_EQ(nphdr, elf->hdr.e_phnum);
	CT_EXPECT(nload >= 2, "%d PT_LOAD headers", nload);
	CT_ASSERT(data_ph.p_type == PT_LOAD, "no writable PT_LOAD with a bss in this program");
	CT_ASSERT_EQ(dune_elf_iter_sh(elf, find_text), 0);
	CT_EXPECT_EQ(ntext, 1);
}

/*
 * The segment loaded at @base (= its page-rounded p_vaddr + off) holds the
 * file's bytes up to p_filesz and zeroes up to p_memsz.  The reference
 * bytes come from the file a page at a time into a static buffer (no
 * memory the test would have to map).
 */
static void check_loaded(const struct dune_elf *elf, uintptr_t base)
{
	static unsigned char ref[PGSIZE];
	const unsigned char *seg = (const unsigned char *)base + (data_ph.p_vaddr & (PGSIZE - 1));
	int fd = open("/proc/self/exe", O_RDONLY);
	size_t done, bad = 0, nonzero = 0;

	(void)elf;
	CT_ASSERT(fd >= 0, "open /proc/self/exe: %s", strerror(errno));
	for (done = 0; done < data_ph.p_filesz; done += PGSIZE) {
		size_t n = data_ph.p_filesz - done < PGSIZE ? data_ph.p_filesz - done : PGSIZE;

		CT_ASSERT_EQ(pread(fd, ref, n, (off_t)(data_ph.p_offset + done)), (ssize_t)n);
		if (memcmp(seg + done, ref, n))
			bad++;
	}
	close(fd);
	CT_EXPECT(bad == 0, "%zu pages of the file part differ from the file", bad);
	for (done = data_ph.p_filesz; done < data_ph.p_memsz; done++)
		nonzero += seg[done] != 0;
	CT_EXPECT(nonzero == 0, "%zu bytes of the bss (%#lx..%#lx) are not zero", nonzero,
		  (unsigned long)data_ph.p_filesz, (unsigned long)data_ph.p_memsz);
	ct_log("segment off %#lx vaddr %#lx filesz %#lx memsz %#lx loaded at %#lx",
	       (unsigned long)data_ph.p_offset, (unsigned long)data_ph.p_vaddr,
	       (unsigned long)data_ph.p_filesz, (unsigned long)data_ph.p_memsz,
	       (unsigned long)base);
}

CTEST(elf_load_ph,
      .id = "api.elf.load_ph",
      .profile = "vm",
      .what = "in Dune mode, dune_elf_open reads a real ELF, dune_elf_load_ph creates a PT_LOAD segment's memory at a fresh address (p_vaddr + off) with the file's bytes and a zeroed bss",
      .needs = "dune")
{
	struct dune_elf elf;
	size_t span;
	uintptr_t base;
	char *hole;
	int r;

	ENTER();
	open_and_walk(&elf);
	span = seg_span(&data_ph);
	/* a fresh range: find one, give it back; the loader makes the memory */
	hole = mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(hole != MAP_FAILED, "mmap: %s", strerror(errno));
	CT_ASSERT_EQ(munmap(hole, span), 0);
	base = (uintptr_t)hole;
	r = dune_elf_load_ph(&elf, &data_ph, (off_t)(base - PGROUNDDOWN(data_ph.p_vaddr)));
	CT_ASSERT(r == 0, "dune_elf_load_ph: %d", r);
	check_loaded(&elf, base);
	/* the segment is ordinary, writable memory now */
	((volatile char *)base)[span - 1] = 1;
	CT_EXPECT_EQ(((volatile char *)base)[span - 1], 1);
	CT_EXPECT_EQ(dune_elf_close(&elf), 0);
}

CTEST(elf_open_mapped_only,
      .id = "api.elf.open_no_map_full",
      .profile = "vm",
      .what = "after dune_init(false), dune_elf_open of a real ELF in Dune mode needs no new mapping, and dune_elf_load_ph into a range mapped before dune_enter fills it from the file with a zeroed bss",
      .needs = "dune")
{
	struct dune_elf elf;
	char *area;
	size_t span = 16UL << 20;	/* room for the data segment of this program */
	int r;

	/* heap room for the header buffers: made before entering */
	free(malloc(64 << 10));
	area = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(area != MAP_FAILED, "mmap: %s", strerror(errno));
	memset(area, 0xa5, PGSIZE);
	r = dune_init(false);
	CT_ASSERT(r == 0, "dune_init(false): %d", r);
	r = dune_enter();
	CT_ASSERT(r == 0, "dune_enter: %d", r);
	open_and_walk(&elf);
	CT_ASSERT(seg_span(&data_ph) <= span, "data segment of %#lx bytes",
		  (unsigned long)data_ph.p_memsz);
	r = dune_elf_load_ph(&elf, &data_ph, (off_t)((uintptr_t)area - PGROUNDDOWN(data_ph.p_vaddr)));
	CT_ASSERT(r == 0, "dune_elf_load_ph: %d", r);
	check_loaded(&elf, (uintptr_t)area);
	CT_EXPECT_EQ(dune_elf_close(&elf), 0);
}

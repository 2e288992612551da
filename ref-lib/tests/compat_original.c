// SPDX-License-Identifier: MIT
/*
 * compat_original.c - a program written the way programs for the original
 * Dune are: it includes the original's header paths ("libdune/...") and
 * uses the names those headers defined, including <string.h>, which it
 * never includes itself.  tests/install_check.sh builds it unchanged
 * against the installed library with nothing but
 * `pkg-config --cflags --libs libdune` and runs it natively (no Dune mode).
 *
 * Every value is checked against the number the Intel SDM (or, for the
 * descriptors, the encoding Linux uses) gives, written here as a literal.
 * Prints one line per mismatch; exits 0 when everything matched.
 */
#include <stdio.h>
#include <stdlib.h>

#include "libdune/dune.h"
#include "libdune/cpu-x86.h"
#include "libdune/mmu-x86.h"
#include "libdune/local.h"

static int failures;

#define CHECK(expr, want)						\
	do {								\
		unsigned long long got_ = (unsigned long long)(expr);	\
		if (got_ != (unsigned long long)(want)) {		\
			printf("MISMATCH %s = %#llx, want %#llx\n",	\
			       #expr, got_, (unsigned long long)(want)); \
			failures++;					\
		}							\
	} while (0)

static int nmaps, stack_seen;

static void count_map(const struct dune_procmap_entry *e)
{
	nmaps++;
	if (e->type == PROCMAP_TYPE_STACK)
		stack_seen = 1;
}

static int nphdr;

static int count_ph(struct dune_elf *elf, Elf64_Phdr *phdr)
{
	(void)elf;
	(void)phdr;
	nphdr++;
	return 0;
}

/* Reads a whole file into memory (ours: the running executable). */
static void *slurp(const char *path, int *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n == cap) {
			cap = cap ? 2 * cap : 1 << 16;
			buf = realloc(buf, cap);
			if (!buf)
				break;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		if (r == 0)
			break;
		n += r;
	}
	fclose(f);
	*len = (int)n;
	return buf;
}

/* Never called natively: rdmsrl/wrmsrl fault outside ring 0.  Kept
 * so that the macros are compiled and linked as a program would. */
static unsigned long read_fs_base_ring0(void)
{
	unsigned long v;

	rdmsrl(MSR_FS_BASE, v);
	wrmsrl(MSR_GS_BASE, v);
	return v;
}

int main(int argc, char **argv)
{
	struct Gatedesc gate;
	bool_t yes = 1;
	ppn_t ppn = PPN(0x123456789000UL);
	char buf[16];
	struct dune_elf elf;
	void *img;
	int len = 0;

	(void)argv;
	if (argc > 5)	/* never at run time here: link only */
		return (int)read_fs_base_ring0();

	/* <string.h> comes through libdune/dune.h */
	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	CHECK(strlen(buf), 15);

	/* types */
	CHECK(sizeof(bool_t), sizeof(int));
	CHECK(yes, 1);
	CHECK(sizeof(ppn_t), 8);
	CHECK(ppn, 0x123456789UL);
	CHECK(sizeof(CAST64(1)), 8);
	CHECK(CAST64(-1), 0xffffffffffffffffULL);

	/* address space and page arithmetic */
	CHECK((uintptr_t)VA_START, 0);
	CHECK((uintptr_t)VA_END, 0xffffffffffffffffULL);
	CHECK(PGMASK, 0xfff);
	CHECK(PDXMASK, 0x1ff);
	CHECK(PDX(1, 0x7fffffe00000UL), 0x1ff);
	CHECK(BIG_PGADDR(0x12345678UL), 0x12200000);
	CHECK(BIG_PGOFF(0x12345678UL), 0x145678);
	CHECK(PGADDR(0x12345678UL), 0x12345000);

	/* RFLAGS (SDM vol. 1, 3.4.3) */
	CHECK(FL_CF, 0x1);
	CHECK(FL_PF, 0x4);
	CHECK(FL_AF, 0x10);
	CHECK(FL_ZF, 0x40);
	CHECK(FL_SF, 0x80);
	CHECK(FL_TF, 0x100);
	CHECK(FL_IF, 0x200);
	CHECK(FL_DF, 0x400);
	CHECK(FL_OF, 0x800);
	CHECK(FL_IOPL_MASK, 0x3000);
	CHECK(FL_IOPL_0, 0x0);
	CHECK(FL_IOPL_1, 0x1000);
	CHECK(FL_IOPL_2, 0x2000);
	CHECK(FL_IOPL_3, 0x3000);
	CHECK(FL_NT, 0x4000);
	CHECK(FL_RF, 0x10000);
	CHECK(FL_VM, 0x20000);
	CHECK(FL_AC, 0x40000);
	CHECK(FL_VIF, 0x80000);
	CHECK(FL_VIP, 0x100000);
	CHECK(FL_ID, 0x200000);

	/* control registers (SDM vol. 3, 2.5) */
	CHECK(CR0_PG | CR0_PE, 0x80000001UL);
	CHECK(CR3_PWT, 0x8);
	CHECK(CR3_PCD, 0x10);
	CHECK(CR3_NOFLUSH, 1ULL << 63);
	CHECK(CR4_VME, 0x1);
	CHECK(CR4_PVI, 0x2);
	CHECK(CR4_TSD, 0x4);
	CHECK(CR4_DE, 0x8);
	CHECK(CR4_PSE, 0x10);
	CHECK(CR4_PAE, 0x20);
	CHECK(CR4_MCE, 0x40);
	CHECK(CR4_PGE, 0x80);
	CHECK(CR4_PCE, 0x100);
	CHECK(CR4_OSFXSR, 0x200);
	CHECK(CR4_OSX, 0x400);

	/* EFER and the MSRs (SDM vol. 4) */
	CHECK(EFER, 0xc0000080);
	CHECK(EFER_SCE, 0x1);
	CHECK(EFER_LME, 0x100);
	CHECK(EFER_LMA, 0x400);
	CHECK(EFER_NXE, 0x800);
	CHECK(EFER_FFXSR, 0x4000);
	CHECK(MSR_FS_BASE, 0xc0000100);
	CHECK(MSR_GS_BASE, 0xc0000101);
	CHECK(MSR_KERNEL_GS_BASE, 0xc0000102);
	CHECK(MSR_LSTAR, 0xc0000082);

	/* MTRRs */
	CHECK(MTRR_CAP, 0xfe);
	CHECK(MTRR_CAP_VCNT_MASK, 0xff);
	CHECK(MTRR_CAP_FIX, 0x100);
	CHECK(MTRR_CAP_WC, 0x400);
	CHECK(MTRR_BASE(0), 0x200);
	CHECK(MTRR_MASK(0), 0x201);
	CHECK(MTRR_BASE(3), 0x206);
	CHECK(MTRR_MASK(3), 0x207);
	CHECK(MTRR_BASE_UC, 0);
	CHECK(MTRR_BASE_WC, 1);
	CHECK(MTRR_BASE_WT, 4);
	CHECK(MTRR_BASE_WP, 5);
	CHECK(MTRR_BASE_WB, 6);
	CHECK(MTRR_MASK_VALID, 0x800);
	CHECK(MTRR_MASK_FULL, 0xffffff000ULL);

	/* debug registers (SDM vol. 3, 17.2.4) */
	CHECK(DR7_L(0), 0x1);
	CHECK(DR7_G(0), 0x2);
	CHECK(DR7_L(3), 0x40);
	CHECK(DR7_G(3), 0x80);
	CHECK(DR7_LE, 0x100);
	CHECK(DR7_GE, 0x200);
	CHECK(DR7_GD, 0x2000);
	CHECK(DR7_RW_SHIFT(0), 16);
	CHECK(DR7_LEN_SHIFT(0), 18);
	CHECK(DR7_RW_SHIFT(3), 28);
	CHECK(DR7_LEN_SHIFT(3), 30);
	CHECK(DR7_RW_EXEC, 0);
	CHECK(DR7_RW_WRITE, 1);
	CHECK(DR7_RW_IO, 2);
	CHECK(DR7_RW_RW, 3);
	CHECK(DR7_LEN_1, 0);
	CHECK(DR7_LEN_2, 1);
	CHECK(DR7_LEN_8, 2);
	CHECK(DR7_LEN_4, 3);

	/* segment descriptors: Linux's 64-bit kernel code and 32-bit code */
	CHECK(SEG64(SEG_X | SEG_R, 0), 0x00af9b000000ffffULL);
	CHECK(SEG64(SEG_W, 3), 0x00aff3000000ffffULL);
	CHECK(SEG32(SEG_X | SEG_R, 0, 0xffffffff, 0), 0x00cf9b000000ffffULL);
	CHECK(SEG_P, 1ULL << 47);
	CHECK(SEG_S, 1ULL << 44);
	CHECK(SEG_L, 1ULL << 53);
	CHECK(SEG_DPL(3), 3ULL << 45);
	CHECK(SEG_TSSA, 0x9ULL << 40);
	CHECK(SEG_IG, 0xeULL << 40);
	CHECK(SEG_TG, 0xfULL << 40);
	CHECK(SEG_BASELO(0x12345678), 0x1200003456780000ULL);
	CHECK(SEG_BASEHI(0xabcdef0012345678ULL), 0xabcdef00);

	/* an interrupt gate: offset 15:0 | selector | type/DPL/P | offset 31:16, offset 63:32 */
	SETGATE(gate, SEG_IG, GD_KT, 0x123456789abcdef0ULL, 3);
	CHECK(gate.gd_lo, 0x9abcee000010def0ULL);
	CHECK(gate.gd_hi, 0x12345678);
	CHECK(sizeof(gate), 16);

	CHECK(__str(T_PGFLT)[0], '1');
	CHECK(T_SYSCALL, 48);
	CHECK(IDT_ENTRIES, 256);
	CHECK(sizeof(struct idtd), 16);

	/* functions that work without Dune mode */
	dune_procmap_iterate(count_map);
	CHECK(nmaps > 3, 1);
	CHECK(stack_seen, 1);

	img = slurp("/proc/self/exe", &len);
	CHECK(img != NULL, 1);
	if (img) {
		CHECK(dune_elf_open_mem(&elf, img, len), 0);
		CHECK(elf.hdr.e_machine, EM_X86_64);
		CHECK(memcmp(elf.hdr.e_ident, ELFMAG, SELFMAG), 0);
		CHECK(dune_elf_iter_ph(&elf, count_ph), 0);
		CHECK(nphdr, elf.hdr.e_phnum);
		dune_elf_close(&elf);
		free(img);
	}

	if (failures) {
		printf("%d mismatches\n", failures);
		return 1;
	}
	printf("compat: all names and values as the original's\n");
	return 0;
}

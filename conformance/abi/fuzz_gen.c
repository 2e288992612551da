// SPDX-License-Identifier: MIT
/*
 * fuzz_gen.c - random x86-64 guest code for the fuzz tests (fuzz.h): random
 * bytes mixed with encoded system instructions and what they need loaded
 * into registers first.  The encodings are written out by hand here; see
 * the Intel SDM volume 2 for each opcode.
 */
#include "fuzz.h"

#include <string.h>

bool fz_ring3_spin, fz_ring3_gs, fz_ring3_int3;

enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };

static inline uint8_t modrm(unsigned int mod, unsigned int reg, unsigned int rm)
{
	return (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7));
}

static void emit1(struct fz_code *c, uint8_t b)
{
	fz_emit(c, &b, 1);
}

static void emit32(struct fz_code *c, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	fz_emit(c, b, 4);
}

void fz_mov_imm(struct fz_code *c, unsigned int reg, uint64_t imm)
{
	emit1(c, (uint8_t)(0x48 | ((reg >> 3) & 1)));
	emit1(c, (uint8_t)(0xb8 + (reg & 7)));
	for (int i = 0; i < 8; i++)
		emit1(c, (uint8_t)(imm >> (8 * i)));
}

/* mov $imm32, %e<reg> (zero-extends) */
static void mov_imm32(struct fz_code *c, unsigned int reg, uint32_t imm)
{
	if (reg >= 8)
		emit1(c, 0x41);
	emit1(c, (uint8_t)(0xb8 + (reg & 7)));
	emit32(c, imm);
}

void fz_random_bytes(struct fz_code *c, struct fuzz_rng *r, size_t n)
{
	while (n-- && c->n < c->cap)
		c->p[c->n++] = (uint8_t)fuzz_next(r);
}

/* a general-purpose register other than rsp, and (mostly) other than rbx,
 * which the memory templates use as their base */
static unsigned int any_reg(struct fuzz_rng *r)
{
	unsigned int reg;

	do {
		reg = (unsigned int)fuzz_below(r, 16);
	} while (reg == RSP || (reg == RBX && fuzz_chance(r, 3, 4)));
	return reg;
}

uint64_t fz_reg_value(struct fuzz_rng *r, const struct fz_addrs *a)
{
	switch (fuzz_below(r, 9)) {
	case 0:
		return a->code + fuzz_below(r, FZ_PAGE);
	case 1:
		return a->data + fuzz_below(r, FZ_PAGE);
	case 2:
		return a->stack + fuzz_below(r, FZ_PAGE);
	case 3:
		if (a->big_size)
			return a->big + fuzz_below(r, a->big_size);
		return fuzz_value(r);
	case 4:
		if (a->nweird)
			return a->weird + fuzz_below(r, a->nweird) * FZ_PAGE + fuzz_below(r, FZ_PAGE);
		return fuzz_value(r);
	default:
		return fuzz_value(r);
	}
}

/* an address for a memory operand: mostly ours, sometimes anything */
static uint64_t mem_addr(struct fuzz_rng *r, const struct fz_addrs *a)
{
	if (fuzz_chance(r, 1, 2))
		return a->data + FZ_BUF_OFF + fuzz_below(r, 0x700);
	return fz_reg_value(r, a);
}

/* rbx = an address; then the instruction with a (%rbx) operand */
static void with_rbx(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a)
{
	fz_mov_imm(c, RBX, mem_addr(r, a));
}

static const uint32_t msrs[] = {
	0x10, 0x1b, 0x3a, 0x48, 0x49, 0x8b, 0x9e, 0xe7, 0xe8, 0x10a, 0x122, 0x174, 0x175, 0x176,
	0x1a0, 0x1d9, 0x277, 0x2ff, 0x480, 0x48d, 0x606, 0x611, 0x6e0, 0x802, 0x808, 0x80b, 0x830,
	0x838, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000100,
	0xc0000101, 0xc0000102, 0xc0000103, 0x40000000, 0x4b564d00,
};

static const uint32_t cpuid_leaves[] = {
	0, 1, 2, 4, 6, 7, 0xa, 0xb, 0xd, 0xf, 0x10, 0x12, 0x14, 0x15, 0x16, 0x1f,
	0x40000000, 0x40000001, 0x80000000, 0x80000001, 0x80000007, 0x80000008, 0x8000001f,
};

static const uint16_t ports[] = {
	0x20, 0x21, 0x40, 0x43, 0x60, 0x61, 0x64, 0x70, 0x71, 0x80, 0xa0, 0xcf8, 0xcfc,
	0x3f8, 0x3fd, 0x402, 0xe9, 0xd8, 0x510, 0xb004,
};

enum tmpl {
	T_MOV_CR, T_MOV_FROM_CR, T_MOV_DR, T_MSR, T_CPUID, T_IO, T_HLT, T_INT, T_DESC, T_SEG,
	T_GSBASE, T_SYSCALL, T_RING3, T_INVL, T_VMX, T_XSAVE, T_TIME, T_CACHE, T_FLAGS,
	T_LOOP, T_MEM, T_JUMP, T_DIV, T_VEC, T_TSX, T_STACK, T_PREFIX, T_NR
};

/* Templates ring-3 code under libdune must not use on vmx: they end the
 * process (the module reports them as INTERRUPT or UNHANDLED_VMEXIT, which
 * libdune treats as fatal). */
static bool ring3_ok(enum tmpl t)
{
	return t != T_INT && t != T_VMX && t != T_FLAGS && t != T_RING3;
}

void fz_system_insn(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a, bool ring3)
{
	enum tmpl t;
	unsigned int reg = any_reg(r), n;

	do {
		t = (enum tmpl)fuzz_below(r, T_NR);
	} while (ring3 && !ring3_ok(t));

	switch (t) {
	case T_MOV_CR: {
		static const uint8_t crs[] = { 0, 2, 3, 4, 8, 8 };
		unsigned int cr = FUZZ_PICK(r, crs);

		if ((cr == 0 || cr == 4) && fuzz_chance(r, 2, 3)) {
			/* read, flip one bit, write back */
			emit1(c, 0x40 | ((reg >> 3) & 1));
			FZ_EMIT(c, 0x0f, 0x20);
			emit1(c, modrm(3, cr, reg));
			emit1(c, 0x48 | ((reg >> 3) & 1));
			emit1(c, 0x81);
			emit1(c, modrm(3, 6, reg));	/* xor $imm32 */
			emit32(c, 1U << fuzz_below(r, 31));
		} else if (cr == 3 && a->cr3 && fuzz_chance(r, 1, 2)) {
			uint64_t v = a->cr3;

			if (fuzz_chance(r, 1, 2))
				v |= fuzz_below(r, 4096);		/* PCID / PWT / PCD */
			if (fuzz_chance(r, 1, 4))
				v |= 1ULL << 63;			/* no flush */
			fz_mov_imm(c, reg, v);
		} else if (cr == 8) {
			fz_mov_imm(c, reg, fuzz_chance(r, 7, 8) ? fuzz_below(r, 16) : fuzz_value(r));
		} else {
			fz_mov_imm(c, reg, fz_reg_value(r, a));
		}
		emit1(c, (uint8_t)(0x40 | (cr >= 8 ? 4 : 0) | ((reg >> 3) & 1)));
		FZ_EMIT(c, 0x0f, 0x22);
		emit1(c, modrm(3, cr, reg));
		break;
	}
	case T_MOV_FROM_CR: {
		static const uint8_t crs[] = { 0, 2, 3, 4, 8 };
		unsigned int cr = FUZZ_PICK(r, crs);

		emit1(c, (uint8_t)(0x40 | (cr >= 8 ? 4 : 0) | ((reg >> 3) & 1)));
		FZ_EMIT(c, 0x0f, 0x20);
		emit1(c, modrm(3, cr, reg));
		break;
	}
	case T_MOV_DR: {
		unsigned int dr = (unsigned int)fuzz_below(r, 8);

		if (fuzz_chance(r, 1, 2)) {
			uint64_t v = fz_reg_value(r, a);

			if (dr == 7 && fuzz_chance(r, 1, 2))
				v = 0x400 | (fuzz_next(r) & 0xffff00ffULL);
			fz_mov_imm(c, reg, v);
			emit1(c, 0x40 | ((reg >> 3) & 1));
			FZ_EMIT(c, 0x0f, 0x23);
		} else {
			emit1(c, 0x40 | ((reg >> 3) & 1));
			FZ_EMIT(c, 0x0f, 0x21);
		}
		emit1(c, modrm(3, dr, reg));
		break;
	}
	case T_MSR:
		mov_imm32(c, RCX, fuzz_chance(r, 3, 4) ? FUZZ_PICK(r, msrs) : (uint32_t)fuzz_next(r));
		fz_mov_imm(c, RAX, fz_reg_value(r, a));
		fz_mov_imm(c, RDX, fuzz_value(r));
		if (fuzz_chance(r, 1, 2))
			FZ_EMIT(c, 0x0f, 0x30);	/* wrmsr */
		else
			FZ_EMIT(c, 0x0f, 0x32);	/* rdmsr */
		break;
	case T_CPUID:
		mov_imm32(c, RAX, fuzz_chance(r, 3, 4) ? FUZZ_PICK(r, cpuid_leaves) : (uint32_t)fuzz_next(r));
		mov_imm32(c, RCX, (uint32_t)fuzz_below(r, 4));
		FZ_EMIT(c, 0x0f, 0xa2);
		break;
	case T_IO: {
		uint16_t port = fuzz_chance(r, 3, 4) ? FUZZ_PICK(r, ports) : (uint16_t)fuzz_next(r);
		static const uint8_t ops[] = { 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef,
					       0x6c, 0x6d, 0x6e, 0x6f };
		uint8_t op = FUZZ_PICK(r, ops);

		mov_imm32(c, RDX, port);
		fz_mov_imm(c, RAX, fuzz_value(r));
		if (op >= 0x6c && op <= 0x6f) {
			fz_mov_imm(c, RSI, mem_addr(r, a));
			fz_mov_imm(c, RDI, mem_addr(r, a));
			if (fuzz_chance(r, 1, 2)) {
				mov_imm32(c, RCX, (uint32_t)fuzz_below(r, 16));
				emit1(c, 0xf3);	/* rep */
			}
		}
		emit1(c, op);
		if (op <= 0xe7)
			emit1(c, (uint8_t)port);
		break;
	}
	case T_HLT:
		switch (fuzz_below(r, 6)) {
		case 0: emit1(c, 0xf4); break;				/* hlt */
		case 1: FZ_EMIT(c, 0xfb, 0xf4); break;			/* sti; hlt */
		case 2: FZ_EMIT(c, 0xf3, 0x90); break;			/* pause */
		case 3: fz_mov_imm(c, RAX, mem_addr(r, a));
			FZ_EMIT(c, 0x31, 0xc9, 0x31, 0xd2, 0x0f, 0x01, 0xc8); break;	/* monitor */
		case 4: FZ_EMIT(c, 0x31, 0xc0, 0x31, 0xc9, 0x0f, 0x01, 0xc9); break;	/* mwait */
		default: emit1(c, fuzz_chance(r, 1, 2) ? 0xfa : 0xfb); break;	/* cli / sti */
		}
		break;
	case T_INT:
		switch (fuzz_below(r, 6)) {
		case 0: emit1(c, 0xcc); break;				/* int3 */
		case 1: emit1(c, 0xf1); break;				/* int1 */
		case 2: emit1(c, 0xcd); emit1(c, (uint8_t)fuzz_next(r)); break;	/* int n */
		case 3: emit1(c, 0xce); break;				/* into: #UD */
		case 4: FZ_EMIT(c, 0x0f, 0x0b); break;			/* ud2 */
		default: FZ_EMIT(c, 0x0f, 0xff, 0xc0); break;		/* ud0 */
		}
		break;
	case T_DESC:
		n = (unsigned int)fuzz_below(r, 8);
		if (n < 4) {
			/* lgdt / lidt / sgdt / sidt (%rbx) */
			uint64_t where = n == 0 ? a->data + FZ_GDTR_OFF :
					 n == 1 ? a->data + FZ_DESC_OFF : mem_addr(r, a);

			if (fuzz_chance(r, 1, 4))
				where = fz_reg_value(r, a);
			fz_mov_imm(c, RBX, where);
			FZ_EMIT(c, 0x0f, 0x01);
			emit1(c, modrm(0, n == 0 ? 2 : n == 1 ? 3 : n - 2, RBX));
		} else {
			/* lldt / ltr / str / sldt / verr / verw %ax */
			static const uint8_t regop[] = { 2, 3, 1, 0, 4, 5 };
			static const uint16_t sels[] = { 0, 3, 8, 0x10, 0x1b, 0x23, 0x28, 0x38, 0x40 };

			FZ_EMIT(c, 0x66, 0xb8);
			{
				uint16_t s = fuzz_chance(r, 3, 4) ? FUZZ_PICK(r, sels) : (uint16_t)fuzz_next(r);

				emit1(c, (uint8_t)s);
				emit1(c, (uint8_t)(s >> 8));
			}
			FZ_EMIT(c, 0x0f, 0x00);
			emit1(c, modrm(3, FUZZ_PICK(r, regop), RAX));
		}
		break;
	case T_SEG: {
		static const uint8_t sregs[] = { 0, 2, 3, 4, 5 };	/* es ss ds fs gs */
		unsigned int sreg;
		static const uint16_t sels[] = { 0, 3, 8, 0x10, 0x1b, 0x23, 0x2b, 0x33 };
		uint16_t s = fuzz_chance(r, 3, 4) ? FUZZ_PICK(r, sels) : (uint16_t)fuzz_next(r);

		FZ_EMIT(c, 0x66, 0xb8);
		emit1(c, (uint8_t)s);
		emit1(c, (uint8_t)(s >> 8));
		do {
			sreg = FUZZ_PICK(r, sregs);
		} while (ring3 && !fz_ring3_gs && sreg == 5);
		FZ_EMIT(c, 0x8e);
		emit1(c, modrm(3, sreg, RAX));
		break;
	}
	case T_GSBASE:
		switch (fuzz_below(r, 4)) {
		case 0:
			if (!ring3) {
				FZ_EMIT(c, 0x0f, 0x01, 0xf8);	/* swapgs */
				break;
			}
			/* fall through */
		case 1:
			FZ_EMIT(c, 0x0f, 0x01, 0xf9);		/* rdtscp */
			break;
		default:
			/* rd/wr fs/gs base (wrgsbase in ring 3: see fz_ring3_gs) */
			n = (unsigned int)fuzz_below(r, ring3 && !fz_ring3_gs ? 3 : 4);
			if (n == 1 || n == 3)
				fz_mov_imm(c, reg, fz_reg_value(r, a));
			emit1(c, 0xf3);
			emit1(c, 0x48 | ((reg >> 3) & 1));
			FZ_EMIT(c, 0x0f, 0xae);
			/* /0 rdfsbase, /2 wrfsbase, /1 rdgsbase, /3 wrgsbase */
			emit1(c, modrm(3, n == 0 ? 0 : n == 1 ? 2 : n == 2 ? 1 : 3, reg));
			break;
		}
		break;
	case T_SYSCALL:
		switch (fuzz_below(r, ring3 ? 3 : 7)) {
		case 0: FZ_EMIT(c, 0x0f, 0x05); break;			/* syscall */
		case 1: FZ_EMIT(c, 0x48, 0x0f, 0x07); break;		/* sysretq */
		case 2: FZ_EMIT(c, 0x0f, 0x34); break;			/* sysenter */
		case 3: FZ_EMIT(c, 0x48, 0x0f, 0x35); break;		/* sysexitq */
		case 4: FZ_EMIT(c, 0x48, 0xcf); break;			/* iretq */
		case 5: FZ_EMIT(c, 0x48, 0xcb); break;			/* lretq */
		default: FZ_EMIT(c, 0xca, 0x08, 0x00); break;		/* lret $8 */
		}
		break;
	case T_RING3: {
		/* load our GDT, then iretq to ring 3 (or to ring 0 with odd flags) */
		uint64_t rfl = fuzz_chance(r, 3, 4) ? 0x2 | (fuzz_next(r) & 0x8d5) : fuzz_value(r);
		bool user = fuzz_chance(r, 3, 4);

		fz_mov_imm(c, RBX, a->data + FZ_GDTR_OFF);
		FZ_EMIT(c, 0x0f, 0x01, 0x13);				/* lgdt (%rbx) */
		fz_mov_imm(c, RAX, user ? FZ_SEL_UDATA : FZ_SEL_KDATA);
		emit1(c, 0x50);
		fz_mov_imm(c, RAX, fuzz_chance(r, 3, 4) ? a->stack + FZ_PAGE - 64 : fz_reg_value(r, a));
		emit1(c, 0x50);
		fz_mov_imm(c, RAX, rfl);
		emit1(c, 0x50);
		fz_mov_imm(c, RAX, user ? FZ_SEL_UCODE : FZ_SEL_KCODE);
		emit1(c, 0x50);
		fz_mov_imm(c, RAX, fuzz_chance(r, 3, 4) ? a->code + fuzz_below(r, FZ_PAGE) :
				   fz_reg_value(r, a));
		emit1(c, 0x50);
		FZ_EMIT(c, 0x48, 0xcf);					/* iretq */
		break;
	}
	case T_INVL:
		with_rbx(c, r, a);
		if (fuzz_chance(r, 1, 2)) {
			FZ_EMIT(c, 0x0f, 0x01, 0x3b);			/* invlpg (%rbx) */
		} else {
			mov_imm32(c, RAX, (uint32_t)fuzz_below(r, 5));
			FZ_EMIT(c, 0x66, 0x0f, 0x38, 0x82, 0x03);	/* invpcid (%rbx), %rax */
		}
		break;
	case T_VMX: {
		static const uint8_t insns[][5] = {
			{ 4, 0xf3, 0x0f, 0xc7, 0x33 },	/* vmxon (%rbx) */
			{ 3, 0x0f, 0xc7, 0x33 },	/* vmptrld (%rbx) */
			{ 4, 0x66, 0x0f, 0xc7, 0x33 },	/* vmclear (%rbx) */
			{ 3, 0x0f, 0xc7, 0x3b },	/* vmptrst (%rbx) */
			{ 3, 0x0f, 0x78, 0xc3 },	/* vmread %rax, %rbx */
			{ 3, 0x0f, 0x79, 0xd8 },	/* vmwrite %rax, %rbx */
			{ 3, 0x0f, 0x01, 0xc2 },	/* vmlaunch */
			{ 3, 0x0f, 0x01, 0xc3 },	/* vmresume */
			{ 3, 0x0f, 0x01, 0xc4 },	/* vmxoff */
			{ 4, 0x66, 0x0f, 0x38, 0x80 },	/* invept (%rbx), %rax (modrm below) */
			{ 4, 0x66, 0x0f, 0x38, 0x81 },	/* invvpid */
			{ 3, 0x0f, 0x01, 0xd4 },	/* vmfunc */
			{ 2, 0x0f, 0x37 },		/* getsec */
			{ 3, 0x0f, 0x01, 0xcf },	/* encls */
			{ 3, 0x0f, 0x01, 0xd7 },	/* enclu */
			{ 3, 0x0f, 0x01, 0xd9 },	/* vmmcall (AMD) */
			{ 3, 0x0f, 0x01, 0xcb },	/* stac */
			{ 3, 0x0f, 0x01, 0xca },	/* clac */
		};
		const uint8_t *in = insns[fuzz_below(r, sizeof(insns) / sizeof(insns[0]))];

		with_rbx(c, r, a);
		fz_mov_imm(c, RAX, fuzz_value(r));
		fz_emit(c, in + 1, in[0]);
		if (in[0] == 4 && in[3] == 0x38)
			emit1(c, 0x03);
		break;
	}
	case T_XSAVE: {
		static const uint8_t ops[][3] = {
			{ 0x0f, 0xae, 0x23 },	/* xsave (%rbx) */
			{ 0x0f, 0xae, 0x2b },	/* xrstor */
			{ 0x0f, 0xae, 0x33 },	/* xsaveopt */
			{ 0x0f, 0xae, 0x03 },	/* fxsave */
			{ 0x0f, 0xae, 0x0b },	/* fxrstor */
			{ 0x0f, 0xae, 0x13 },	/* ldmxcsr */
			{ 0x0f, 0xc7, 0x23 },	/* xsavec */
			{ 0x0f, 0xc7, 0x2b },	/* xsaves */
			{ 0x0f, 0xc7, 0x1b },	/* xrstors */
			{ 0x0f, 0x01, 0xd1 },	/* xsetbv */
			{ 0x0f, 0x01, 0xd0 },	/* xgetbv */
		};
		const uint8_t *op = ops[fuzz_below(r, sizeof(ops) / sizeof(ops[0]))];

		fz_mov_imm(c, RBX, a->data + FZ_BUF_OFF + (fuzz_chance(r, 3, 4) ? 0 : fuzz_below(r, 64)));
		fz_mov_imm(c, RAX, fuzz_chance(r, 1, 2) ? fuzz_below(r, 8) : fuzz_value(r));
		fz_mov_imm(c, RDX, fuzz_chance(r, 3, 4) ? 0 : fuzz_value(r));
		mov_imm32(c, RCX, fuzz_chance(r, 3, 4) ? 0 : (uint32_t)fuzz_below(r, 3));
		fz_emit(c, op, 3);
		break;
	}
	case T_TIME:
		switch (fuzz_below(r, 5)) {
		case 0: FZ_EMIT(c, 0x0f, 0x31); break;			/* rdtsc */
		case 1: mov_imm32(c, RCX, (uint32_t)fuzz_value(r));
			FZ_EMIT(c, 0x0f, 0x33); break;			/* rdpmc */
		case 2: FZ_EMIT(c, 0x48, 0x0f, 0xc7, 0xf0); break;	/* rdrand */
		case 3: FZ_EMIT(c, 0x48, 0x0f, 0xc7, 0xf8); break;	/* rdseed */
		default: FZ_EMIT(c, 0xf3, 0x0f, 0xc7, 0xf8); break;	/* rdpid */
		}
		break;
	case T_CACHE:
		switch (fuzz_below(r, 6)) {
		case 0: FZ_EMIT(c, 0x0f, 0x09); break;			/* wbinvd */
		case 1: FZ_EMIT(c, 0x0f, 0x08); break;			/* invd */
		case 2: with_rbx(c, r, a); FZ_EMIT(c, 0x0f, 0xae, 0x3b); break;	/* clflush */
		case 3: FZ_EMIT(c, 0x0f, 0x06); break;			/* clts */
		case 4: fz_mov_imm(c, RAX, fuzz_value(r));
			FZ_EMIT(c, 0x0f, 0x01, 0xf0); break;		/* lmsw %ax */
		default: FZ_EMIT(c, 0x0f, 0x01, 0xe0); break;		/* smsw %eax */
		}
		break;
	case T_FLAGS: {
		/* popf with interesting flags: TF, IF, AC, NT, IOPL, RF, VM, ID */
		uint64_t v = fuzz_chance(r, 3, 4) ? 0x2 | (fuzz_next(r) & 0x277fd5) : fuzz_value(r);

		fz_mov_imm(c, RAX, v);
		FZ_EMIT(c, 0x50, 0x9d);
		break;
	}
	case T_LOOP:
		switch (ring3 && !fz_ring3_spin ? 2 + fuzz_below(r, 3) : fuzz_below(r, 5)) {
		case 0: FZ_EMIT(c, 0xeb, 0xfe); break;			/* jmp . */
		case 1: FZ_EMIT(c, 0xf3, 0x90, 0xeb, 0xfc); break;	/* pause; jmp back */
		case 2: mov_imm32(c, RCX, (uint32_t)fuzz_below(r, 1 << 16));
			FZ_EMIT(c, 0xe2, 0xfe); break;			/* loop . */
		case 3: emit1(c, (uint8_t)(0x70 + fuzz_below(r, 16)));	/* jcc back */
			emit1(c, (uint8_t)(0x100 - 2 - fuzz_below(r, 64))); break;
		default: emit1(c, 0xe8);				/* call rel32 */
			emit32(c, (uint32_t)((int32_t)fuzz_below(r, 256) - 128)); break;
		}
		break;
	case T_MEM: {
		static const uint8_t ops[][3] = {
			{ 0x48, 0x8b, 0x18 },	/* mov (%rax), %rbx */
			{ 0x48, 0x89, 0x18 },	/* mov %rbx, (%rax) */
			{ 0xf0, 0x48, 0x01 },	/* lock add %rbx, (%rax) ... */
			{ 0x48, 0x87, 0x18 },	/* xchg %rbx, (%rax) */
			{ 0x0f, 0x18, 0x08 },	/* prefetcht0 (%rax) */
			{ 0x48, 0xff, 0x00 },	/* incq (%rax) */
		};
		const uint8_t *op = ops[fuzz_below(r, sizeof(ops) / sizeof(ops[0]))];

		fz_mov_imm(c, RAX, fz_reg_value(r, a));
		fz_mov_imm(c, RBX, fz_reg_value(r, a));
		if (fuzz_chance(r, 1, 4)) {
			/* rep movsb / stosb */
			fz_mov_imm(c, RSI, mem_addr(r, a));
			fz_mov_imm(c, RDI, mem_addr(r, a));
			mov_imm32(c, RCX, (uint32_t)fuzz_below(r, 4096));
			FZ_EMIT(c, 0xf3);
			emit1(c, fuzz_chance(r, 1, 2) ? 0xa4 : 0xaa);
		} else {
			fz_emit(c, op, 3);
			if (op[0] == 0xf0)
				emit1(c, 0x18);
		}
		break;
	}
	case T_JUMP:
		fz_mov_imm(c, RAX, fz_reg_value(r, a));
		switch (fuzz_below(r, 4)) {
		case 0: FZ_EMIT(c, 0xff, 0xe0); break;			/* jmp *%rax */
		case 1: FZ_EMIT(c, 0xff, 0xd0); break;			/* call *%rax */
		case 2: FZ_EMIT(c, 0x50, 0xc3); break;			/* push; ret */
		default: fz_mov_imm(c, RBX, fz_reg_value(r, a));
			FZ_EMIT(c, 0xff, 0x23); break;			/* jmp *(%rbx) */
		}
		break;
	case T_DIV:
		FZ_EMIT(c, 0x31, 0xc9, 0x48, 0xf7, 0xf1);		/* div by zero */
		break;
	case T_VEC:
		switch (fuzz_below(r, 5)) {
		case 0: FZ_EMIT(c, 0xc5, 0xf8, 0x77); break;		/* vzeroupper */
		case 1: FZ_EMIT(c, 0xc5, 0xfc, 0x28, 0xc1); break;	/* vmovaps ymm1, ymm0 */
		case 2: FZ_EMIT(c, 0xd9, 0xe8, 0xd9, 0xee, 0xde, 0xf9); break;	/* 1 / 0 in x87 */
		case 3: FZ_EMIT(c, 0x66, 0x0f, 0xef, 0xc0); break;	/* pxor */
		default: emit1(c, 0xc4); fz_random_bytes(c, r, 4); break;	/* some VEX */
		}
		break;
	case T_TSX:
		switch (fuzz_below(r, 3)) {
		case 0: FZ_EMIT(c, 0xc7, 0xf8); emit32(c, (uint32_t)fuzz_below(r, 64)); break;
		case 1: FZ_EMIT(c, 0x0f, 0x01, 0xd5); break;		/* xend */
		default: FZ_EMIT(c, 0x0f, 0x01, 0xd6); break;		/* xtest */
		}
		break;
	case T_STACK:
		fz_mov_imm(c, RSP, fuzz_chance(r, 1, 2) ? a->stack + fuzz_below(r, FZ_PAGE) :
				   fz_reg_value(r, a));
		if (fuzz_chance(r, 1, 2))
			FZ_EMIT(c, 0x50, 0x58);				/* push; pop */
		break;
	case T_PREFIX: {
		static const uint8_t pfx[] = { 0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64,
					       0x65, 0x66, 0x67, 0x48, 0x4f };

		for (n = (unsigned int)fuzz_below(r, 4) + 1; n; n--)
			emit1(c, FUZZ_PICK(r, pfx));
		fz_random_bytes(c, r, 1 + fuzz_below(r, 4));
		break;
	}
	case T_NR:
		break;
	}
}

void fz_program(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a, size_t len,
		bool ring3)
{
	size_t i;

	c->n = 0;
	if (len > c->cap)
		len = c->cap;
	if (!ring3 && fuzz_chance(r, 1, 3)) {
		/* boot: our GDT and IDT (into the code page), so that faults
		 * run more of the page instead of ending in a triple fault */
		fz_mov_imm(c, RBX, a->data + FZ_GDTR_OFF);
		FZ_EMIT(c, 0x0f, 0x01, 0x13);				/* lgdt (%rbx) */
		fz_mov_imm(c, RBX, a->data + FZ_DESC_OFF);
		FZ_EMIT(c, 0x0f, 0x01, 0x1b);				/* lidt (%rbx) */
	}
	for (i = fuzz_below(r, 5); i; i--)
		fz_mov_imm(c, any_reg(r), fz_reg_value(r, a));
	while (c->n < len) {
		switch (fuzz_below(r, 10)) {
		case 0:
		case 1:
			fz_random_bytes(c, r, 1 + fuzz_below(r, 8));
			break;
		case 2:
			fz_mov_imm(c, any_reg(r), fz_reg_value(r, a));
			break;
		default:
			fz_system_insn(c, r, a, ring3);
			break;
		}
	}
	/* what execution falls into after the program */
	switch (fuzz_below(r, 4)) {
	case 0:
		while (c->n + 1 < c->cap)
			FZ_EMIT(c, 0x0f, 0x0b);
		break;
	case 1:
		memset(c->p + c->n, 0xf4, c->cap - c->n);
		c->n = c->cap;
		break;
	default:
		fz_random_bytes(c, r, c->cap - c->n);
		break;
	}
	memset(c->p + c->n, 0x90, c->cap - c->n);
	fuzz_scrub(c->p, c->cap, ring3);
}

void fz_fill_data(struct fuzz_rng *r, uint8_t *page, const struct fz_addrs *a)
{
	uint64_t *q = (uint64_t *)page;
	unsigned int i;

	for (i = 0; i < FZ_PAGE / 8; i++)
		q[i] = fuzz_chance(r, 1, 8) ? fz_reg_value(r, a) : fuzz_next(r);
	if (fuzz_chance(r, 3, 4)) {
		static const uint64_t gdt[] = {
			0, 0x00af9b000000ffffULL, 0x00cf93000000ffffULL,
			0x00cff3000000ffffULL, 0x00affb000000ffffULL,
		};
		uint64_t base = a->data + FZ_GDT_OFF;
		uint16_t lim = sizeof(gdt) - 1;

		memcpy(page + FZ_GDT_OFF, gdt, sizeof(gdt));
		memcpy(page + FZ_GDTR_OFF, &lim, 2);
		memcpy(page + FZ_GDTR_OFF + 2, &base, 8);
	}
	if (fuzz_chance(r, 3, 4)) {
		uint64_t base = a->data + FZ_IDT_OFF;
		uint16_t lim = 32 * 16 - 1;

		for (i = 0; i < 32; i++) {
			uint64_t off = fuzz_chance(r, 7, 8) ? a->code + fuzz_below(r, FZ_PAGE) :
				       fz_reg_value(r, a);
			uint8_t type = fuzz_chance(r, 3, 4) ? 0x8e : FUZZ_PICK(r, ((const uint8_t[]){
						0x8f, 0xee, 0xef, 0x0e, 0x85 }));
			uint8_t *g = page + FZ_IDT_OFF + 16 * i;

			g[0] = (uint8_t)off;
			g[1] = (uint8_t)(off >> 8);
			g[2] = FZ_SEL_KCODE;
			g[3] = 0;
			g[4] = fuzz_chance(r, 7, 8) ? 0 : (uint8_t)fuzz_below(r, 8);	/* IST */
			g[5] = type;
			g[6] = (uint8_t)(off >> 16);
			g[7] = (uint8_t)(off >> 24);
			memcpy(g + 8, (const uint8_t *)&off + 4, 4);
			memset(g + 12, 0, 4);
		}
		memcpy(page + FZ_DESC_OFF, &lim, 2);
		memcpy(page + FZ_DESC_OFF + 2, &base, 8);
	}
	fuzz_scrub(page, FZ_PAGE, false);
}

size_t fuzz_scrub(uint8_t *p, size_t n, bool ring3)
{
	size_t changed = 0, i;

	for (i = 0; i < n; i++) {
		uint8_t b = p[i], b1 = i + 1 < n ? p[i + 1] : 0, b2 = i + 2 < n ? p[i + 2] : 0;

		if (ring3) {
			/* int3, int1, popf, iret: a #BP/#DB (single-step: it
			 * would follow the ring-3 syscall into ring 0) */
			if ((b == 0xcc && !fz_ring3_int3) || b == 0xf1 || b == 0x9d || b == 0xcf) {
				p[i] = 0x90;
				changed++;
				continue;
			}
			if (b == 0xcd && i + 1 < n && (b1 == 0x01 || (b1 == 0x03 && !fz_ring3_int3))) {
				p[i + 1] = 0x05;
				changed++;
				continue;
			}
			/* mov to %gs (8e /5) -> mov to a register (8b) */
			if (!fz_ring3_gs && b == 0x8e && i + 1 < n && ((b1 >> 3) & 7) == 5) {
				p[i] = 0x8b;
				changed++;
				continue;
			}
		}
		if (b != 0x0f || i + 1 >= n)
			continue;
		if (b1 == 0x01 && i + 2 < n && (b2 == 0xc1 || (ring3 && b2 >= 0xc2 && b2 <= 0xc4))) {
			p[i + 2] = 0xd0;	/* vmcall, vmlaunch, vmresume, vmxoff -> xgetbv */
			changed++;
		} else if (ring3 && (b1 == 0x78 || b1 == 0x79 || b1 == 0xc7)) {
			p[i + 1] = 0x1f;	/* vmread, vmwrite, vmptrld, vmxon, ... -> nop */
			changed++;
		} else if (ring3 && b1 == 0x38 && i + 2 < n && (b2 == 0x80 || b2 == 0x81)) {
			p[i + 2] = 0x00;	/* invept, invvpid -> pshufb */
			changed++;
		} else if (ring3 && !fz_ring3_gs && (b1 == 0xa9 || b1 == 0xb5)) {
			p[i + 1] = 0xa1;	/* pop %gs, lgs -> pop %fs */
			changed++;
		}
	}
	return changed;
}

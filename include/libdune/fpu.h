/* SPDX-License-Identifier: MIT */
/*
 * libdune/fpu.h - compatibility header: the FPU/SSE/AVX state functions that
 * programs written for the original Dune library get through
 * "libdune/dune.h" (which is also how they get <string.h>).
 *
 * The state is saved and restored with XSAVE/XSAVEOPT/XRSTOR (64-bit
 * forms), so the CPU must have XSAVE and CR4.OSXSAVE must be set, as it is
 * in Dune mode on both backends.  struct fpu_area holds x87, SSE and AVX
 * state only, so dune_fpu_* move exactly those components
 * (DUNE_FPU_XSTATE_MASK); the original asked for every component, which
 * overruns the area on CPUs with AVX-512 or other large state enabled.
 */
#ifndef LIBDUNE_COMPAT_FPU_H
#define LIBDUNE_COMPAT_FPU_H

#include <stdint.h>
#include <string.h>


/* the legacy region of an XSAVE area (the FXSAVE layout, 512 bytes) */
struct fxsave_area {
	uint16_t cwd;
	uint16_t swd;
	uint16_t twd;
	uint16_t fop;
	uint64_t rip;
	uint64_t rdp;
	uint32_t mxcsr;
	uint32_t mxcsr_mask;
	uint32_t st_regs[32];	/* ST0..ST7 */
	uint32_t xmm_regs[64];	/* XMM0..XMM15 */
	uint32_t padding[24];
} __attribute__((packed));

/* the XSAVE header that follows it (64 bytes) */
struct xsave_header {
	uint64_t xstate_bv;
	uint64_t reserved_zero[2];
	uint64_t reserved[5];
} __attribute__((packed));

/* legacy region + header + the upper halves of YMM0..YMM15 */
struct xsave_area {
	struct fxsave_area fxsave;
	struct xsave_header header;
	uint32_t ymm_regs[64];
} __attribute__((packed, aligned(64)));

struct fpu_area {
	struct xsave_area xsave;
};

/* XSAVE components that fit in struct fpu_area: x87, SSE, AVX */
#define DUNE_FPU_XSTATE_MASK	0x7ULL

static inline void fpu_xsave(struct fpu_area *fp, uint64_t mask)
{
	__asm__ __volatile__("xsave64 %0"
			     : "=m"(fp->xsave)
			     : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			     : "memory");
}

static inline void fpu_xsaveopt(struct fpu_area *fp, uint64_t mask)
{
	__asm__ __volatile__("xsaveopt64 %0"
			     : "=m"(fp->xsave)
			     : "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			     : "memory");
}

static inline void fpu_xrstor(struct fpu_area *fp, uint64_t mask)
{
	__asm__ __volatile__("xrstor64 %0"
			     :
			     : "m"(fp->xsave), "a"((uint32_t)mask), "d"((uint32_t)(mask >> 32))
			     : "memory");
}

/* dune_fpu_init - the state after FNINIT with default MXCSR, every
 * extended component in its initial configuration */
static inline void dune_fpu_init(struct fpu_area *fp)
{
	memset(fp, 0, sizeof(*fp));
	fp->xsave.fxsave.cwd = 0x037f;
	fp->xsave.fxsave.mxcsr = 0x1f80;
}

/* dune_fpu_load - load every component from @fp */
static inline void dune_fpu_load(struct fpu_area *fp)
{
	fpu_xrstor(fp, DUNE_FPU_XSTATE_MASK);
}

/* dune_fpu_save - save into an area last loaded with dune_fpu_load()
 * (XSAVEOPT may skip components it knows are unchanged since that load) */
static inline void dune_fpu_save(struct fpu_area *fp)
{
	fpu_xsaveopt(fp, DUNE_FPU_XSTATE_MASK);
}

/* dune_fpu_save_safe - save into any area (plain XSAVE) */
static inline void dune_fpu_save_safe(struct fpu_area *fp)
{
	fpu_xsave(fp, DUNE_FPU_XSTATE_MASK);
}

#endif /* LIBDUNE_COMPAT_FPU_H */

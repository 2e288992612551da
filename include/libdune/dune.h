/* SPDX-License-Identifier: MIT */
/*
 * libdune/dune.h - compatibility header for programs written for the
 * original Dune library, which include "libdune/dune.h" (with the
 * directory that holds libdune/ on their include path).
 *
 * It is <dune/dune.h> (the whole API: the same names, signatures and
 * types) plus what the original's dune.h also brought in: <string.h>, the
 * types and x86-64 definitions of libdune/mmu.h, the FPU state functions of
 * libdune/fpu.h, and the VA_START/VA_END bounds.  New programs should
 * include <dune/dune.h>; ref-lib/README.md lists what differs.
 */
#ifndef LIBDUNE_COMPAT_DUNE_H
#define LIBDUNE_COMPAT_DUNE_H

#include <string.h>

#include "../dune/dune.h"
#include "elf.h"
#include "fpu.h"
#include "mmu.h"

/* the whole virtual address space, for dune_vm_page_walk() and friends */
#define VA_START	((void *)0)
#define VA_END		((void *)-1)

#endif /* LIBDUNE_COMPAT_DUNE_H */

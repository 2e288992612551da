/* SPDX-License-Identifier: MIT */
/*
 * libdune/types.h - compatibility header: the type names that programs
 * written for the original Dune library get from its "libdune/types.h".
 *
 * The fixed-width integer types come from <stdint.h> (the original
 * declared them itself), and physaddr_t from <dune/mmu.h>.  The original's
 * PRIu64/PRIx64 are not redefined: use <inttypes.h>.
 */
#ifndef LIBDUNE_COMPAT_TYPES_H
#define LIBDUNE_COMPAT_TYPES_H

#include <stdint.h>

#include "../dune/mmu.h"

/* an int used as a truth value */
typedef int bool_t;

/* a page number (an address shifted right by PGSHIFT) */
typedef uint64_t ppn_t;

#endif /* LIBDUNE_COMPAT_TYPES_H */

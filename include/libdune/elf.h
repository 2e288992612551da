/* SPDX-License-Identifier: MIT */
/*
 * libdune/elf.h - compatibility header: the original shipped its own copy
 * of the ELF definitions here; the system's <elf.h> has the same names.
 */
#ifndef LIBDUNE_COMPAT_ELF_H
#define LIBDUNE_COMPAT_ELF_H

#include <elf.h>

#endif /* LIBDUNE_COMPAT_ELF_H */

/* SPDX-License-Identifier: MIT */
/*
 * libdune/local.h - compatibility header for programs that include the
 * original Dune library's internal "libdune/local.h": its stringizing
 * macros and the declarations of it that name something this library
 * exports.  The original's assembly entry points (__dune_enter,
 * __dune_ret, __dune_syscall, ...) are internals of its own dune.S and
 * have no counterpart here.  dune_apic_init_rt_entry() is declared in
 * <dune/dune.h>.
 */
#ifndef LIBDUNE_COMPAT_LOCAL_H
#define LIBDUNE_COMPAT_LOCAL_H

#include "dune.h"

#ifdef __cplusplus
extern "C" {
#endif

/* __str(x): x, macro-expanded, as a string literal; __str_t: unexpanded */
#define __str_t(...)	#__VA_ARGS__
#define __str(...)	__str_t(__VA_ARGS__)

/* the arch_prctl(2) wrapper in glibc, which its headers do not declare */
extern int arch_prctl(int code, unsigned long *addr);

/* set up the page pool (dune_init() does it; a second call returns 0) */
int dune_page_init(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBDUNE_COMPAT_LOCAL_H */

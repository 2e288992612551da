/* SPDX-License-Identifier: MIT */
/* unit.h - helpers shared by libdune's native unit tests (unit_stubs.c) */
#ifndef DUNE_UNIT_H
#define DUNE_UNIT_H

/* what fn(arg) prints on stdout (through dune_printf), as a malloc'd string */
char *unit_capture_stdout(void (*fn)(void *), void *arg);

/* the TLB flushes libdune asked for (dune_tlb_flush_range calls), in order */
#include <stdint.h>
#define UNIT_MAX_FLUSHES 64
struct unit_flush {
	uintptr_t start, end;
};
extern struct unit_flush unit_flushes[UNIT_MAX_FLUSHES];
extern int unit_nflushes;

#endif

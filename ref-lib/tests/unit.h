/* SPDX-License-Identifier: MIT */
/* unit.h - helpers shared by libdune's native unit tests (unit_stubs.c) */
#ifndef DUNE_UNIT_H
#define DUNE_UNIT_H

/* what fn(arg) prints on stdout (through dune_printf), as a malloc'd string */
char *unit_capture_stdout(void (*fn)(void *), void *arg);

#endif

/* SPDX-License-Identifier: MIT */
/* common.h - small helpers shared by the libdune conformance tests */
#ifndef CONF_API_COMMON_H
#define CONF_API_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#define DUNE_KEEP_LIBC_ASSERT
#include <dune/dune.h>
#include "ctest.h"

#define ENTER() CT_ASSERT(dune_init_and_enter() == 0, "dune_init_and_enter failed (see stderr)")

/* a guest-virtual range nobody on the host uses (GVA only: page tables) */
#define FRESH_VA ((void *)0x100000000000UL)

static inline uint16_t read_cs(void)
{
	uint16_t cs;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	return cs;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * mode.c - entering a benchmark mode for the whole process.
 *
 * linux: nothing to do.  dune / dune-user: need libdune; until it is linked
 * (build with MICRO_HAVE_LIBDUNE=1 and -ldune), these modes say why not.
 */
#include "micro.h"

#include <stdio.h>
#include <string.h>

static const char *const mode_names[MICRO_NR_MODES] = {
	[MICRO_LINUX] = "linux",
	[MICRO_DUNE] = "dune",
	[MICRO_DUNE_USER] = "dune-user",
};

const char *micro_mode_name(enum micro_mode mode)
{
	return mode < MICRO_NR_MODES ? mode_names[mode] : "?";
}

int micro_mode_parse(const char *s, enum micro_mode *mode)
{
	for (int m = 0; m < MICRO_NR_MODES; m++) {
		if (!strcmp(s, mode_names[m])) {
			*mode = m;
			return 0;
		}
	}
	return -1;
}

#ifdef MICRO_HAVE_LIBDUNE
#include <dune/dune.h>

int micro_mode_enter(enum micro_mode mode, char *why, size_t len)
{
	int ret;

	if (mode == MICRO_LINUX)
		return 0;
	ret = dune_init_and_enter();
	if (ret) {
		snprintf(why, len, "dune_init_and_enter() failed: %d", ret);
		return -1;
	}
	return 0;
}
#else
int micro_mode_enter(enum micro_mode mode, char *why, size_t len)
{
	if (mode == MICRO_LINUX)
		return 0;
	snprintf(why, len, "micro-bench was built without libdune "
		 "(MICRO_HAVE_LIBDUNE unset): mode %s cannot be entered",
		 micro_mode_name(mode));
	return -1;
}
#endif

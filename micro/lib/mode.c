/* SPDX-License-Identifier: MIT */
/*
 * mode.c - entering a benchmark mode for the whole process.
 *
 * linux: nothing to do.  dune / dune-user: need libdune; until it is linked
 * (build with MICRO_HAVE_LIBDUNE=1 and -ldune), these modes say why not.
 */
#include "micro.h"

#include <stdio.h>
#include <stdlib.h>
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
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <dune/dune.h>

/* A system call number no kernel has: ring 3 asks to go back to ring 0. */
#define MICRO_USER_RETURN	0x7fffL

static void (*user_fn)(void *, uint64_t);
static void *user_arg;
static uint64_t user_n;
static void (*user_hook)(struct dune_tf *tf);
static char user_stack[1 << 16] __attribute__((aligned(64)));

/* Ring 3: run the batch, then return through the handler below. */
static void __attribute__((noinline, noreturn)) user_entry(void)
{
	long ret;

	user_fn(user_arg, user_n);
	asm volatile("syscall" : "=a"(ret) : "0"(MICRO_USER_RETURN) : "rcx", "r11", "memory");
	for (;;)
		;
}

/* Ring 0: every ring-3 syscall. */
static void user_syscall(struct dune_tf *tf)
{
	if (tf->rax == (uint64_t)MICRO_USER_RETURN)
		dune_ret_from_user(0);
	if (user_hook)
		user_hook(tf);
	else
		dune_passthrough_syscall(tf);
}

void micro_user_set_hook(void (*hook)(struct dune_tf *tf))
{
	user_hook = hook;
}

void micro_user_call(void (*fn)(void *, uint64_t), void *arg, uint64_t n)
{
	struct dune_tf tf;

	user_fn = fn;
	user_arg = arg;
	user_n = n;
	memset(&tf, 0, sizeof(tf));
	tf.rip = (uintptr_t)user_entry;
	tf.rsp = (uintptr_t)(user_stack + sizeof(user_stack) - 8);
	tf.rflags = 0x202;
	dune_jump_to_user(&tf);
}

/* dunebench extensions: weak, so that another library with only the
 * original API links too (`dunebench bench --lab --libdune`); without them
 * the backend is the one asked for (DUNE_BACKEND), once in Dune mode. */
bool dune_is_in_guest(void) __attribute__((weak));
const char *dune_backend_name(void) __attribute__((weak));
static bool micro_entered;

const char *micro_mode_backend(void)
{
	if (!dune_is_in_guest || !dune_backend_name)
		return micro_entered ? (getenv("DUNE_BACKEND") ? getenv("DUNE_BACKEND") : "unknown") : NULL;
	return dune_is_in_guest() ? dune_backend_name() : NULL;
}

int micro_mode_enter(enum micro_mode mode, char *why, size_t len)
{
	int ret;

	if (mode == MICRO_LINUX)
		return 0;
	ret = dune_init_and_enter();
	if (ret) {
		snprintf(why, len, "dune_init_and_enter() failed: %d (%s)", ret,
			 strerror(ret < 0 ? -ret : ret));
		return -1;
	}
	micro_entered = true;
	if (mode == MICRO_DUNE_USER)
		dune_register_syscall_handler(user_syscall);
	return 0;
}
#else
const char *micro_mode_backend(void)
{
	return NULL;
}

void micro_user_set_hook(void (*hook)(struct dune_tf *tf))
{
	(void)hook;
}

void micro_user_call(void (*fn)(void *, uint64_t), void *arg, uint64_t n)
{
	(void)fn;
	(void)arg;
	(void)n;
	fprintf(stderr, "micro-bench: dune-user without libdune\n");
	abort();
}

int micro_mode_enter(enum micro_mode mode, char *why, size_t len)
{
	if (mode == MICRO_LINUX)
		return 0;
	snprintf(why, len, "micro-bench was built without libdune "
		 "(MICRO_HAVE_LIBDUNE unset): mode %s cannot be entered; "
		 "build/micro/micro-bench-dune has it",
		 micro_mode_name(mode));
	return -1;
}
#endif

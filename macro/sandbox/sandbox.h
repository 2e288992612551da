/* SPDX-License-Identifier: MIT */
/*
 * sandbox.h - dune-sandbox: run an unmodified Linux x86-64 program in guest
 * ring 3 under a runtime in guest ring 0 (libdune).
 *
 * The parts that need no Dune (ELF checking, the initial stack, the table of
 * the program's memory, the policy, the trace formatter) are plain functions
 * on buffers so that the host unit tests (tests/unit.c) can run them.
 */
#ifndef DUNE_SANDBOX_H
#define DUNE_SANDBOX_H

#include <elf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SB_PAGE		4096UL
#define SB_PAGE_DOWN(x)	((uintptr_t)(x) & ~(SB_PAGE - 1))
#define SB_PAGE_UP(x)	(((uintptr_t)(x) + SB_PAGE - 1) & ~(SB_PAGE - 1))
#define SB_BIG		(2UL << 20)

/* the largest image (span of the PT_LOAD segments) we accept */
#define SB_MAX_IMAGE	(1UL << 32)
#define SB_MAX_PHNUM	64

/* ------------------------------------------------------------- ELF */

struct sb_elf {
	const uint8_t *buf;
	size_t len;
	const Elf64_Ehdr *eh;
	const Elf64_Phdr *ph;		/* e_phnum entries */
	unsigned int phnum;
	bool pie;			/* ET_DYN */
	uintptr_t lo, hi;		/* page-aligned span of the PT_LOADs (unbiased) */
	const char *interp;		/* PT_INTERP, NUL-terminated inside buf, or NULL */
	uintptr_t phdr_vaddr;		/* where the program headers are in memory (unbiased), 0 if not */
	bool exec_stack;
};

/* Check an ELF image: 0, or -1 with a one-line reason in err. */
int sb_elf_parse(struct sb_elf *e, const void *buf, size_t len, char *err, size_t errlen);

/* --------------------------------------------------- initial stack */

struct sb_auxv {
	uint64_t type, val;
};

/*
 * Build the initial stack of a new program as the kernel does, into the
 * buffer [buf, buf + size) that the program will see at guest addresses
 * [top - size, top).  Strings (argv, envp, execfn, platform) go at the top,
 * then the 16 AT_RANDOM bytes, then argc, argv[], NULL, envp[], NULL and the
 * auxv (auxv entries with a pointer value of the special kinds AT_RANDOM,
 * AT_EXECFN, AT_PLATFORM are filled in here).  Returns the initial stack
 * pointer (16-byte aligned, pointing at argc), or 0 when it does not fit.
 */
uintptr_t sb_build_stack(uint8_t *buf, size_t size, uintptr_t top, int argc, char *const argv[],
			 char *const envp[], const struct sb_auxv *aux, int naux,
			 const uint8_t random16[16], const char *execfn, const char *platform);

/* ------------------------------------------------ program's memory */

#define SB_MAX_REGIONS	8192

struct sb_region {
	uintptr_t start, end;	/* page aligned, end exclusive */
	int prot;		/* PROT_* */
};

struct sb_mem {
	struct sb_region r[SB_MAX_REGIONS];
	int n;			/* sorted by start, disjoint */
};

void sb_mem_init(struct sb_mem *m);
/* [start, end) now belongs to the program with prot (replacing what was there) */
int sb_mem_add(struct sb_mem *m, uintptr_t start, uintptr_t end, int prot);
/* [start, end) no longer belongs to the program */
int sb_mem_del(struct sb_mem *m, uintptr_t start, uintptr_t end);
/* is every byte of [p, p + len) the program's? (len 0: true) */
bool sb_mem_has(const struct sb_mem *m, uintptr_t p, size_t len);
/* the same, and all of it readable (the runtime may read it) */
bool sb_mem_readable(const struct sb_mem *m, uintptr_t p, size_t len);
/* does [p, p + len) overlap the program's memory at all? */
bool sb_mem_overlaps(const struct sb_mem *m, uintptr_t p, size_t len);
/* the length of the NUL-terminated string at p (at most max), if all of it is
 * the program's; -1 otherwise */
long sb_mem_strlen(const struct sb_mem *m, uintptr_t p, size_t max);

/* ------------------------------------------------------------ policy */

enum sb_action { SB_ALLOW = 0, SB_DENY_EPERM, SB_DENY_KILL };

#define SB_MAX_PATHRULES	128
#define SB_NSYS			512

struct sb_pathrule {
	char prefix[256];
	enum sb_action act;
};

struct sb_policy {
	enum sb_action sys[SB_NSYS];	/* per system call number */
	enum sb_action path_default;	/* for open/openat/execve paths no rule matches */
	struct sb_pathrule paths[SB_MAX_PATHRULES];	/* longest prefix wins */
	int npaths;
	bool network;			/* socket calls allowed */
};

void sb_policy_default(struct sb_policy *p);
/* Parse a policy text; 0, or -1 with "FILE:LINE: ..." in err. */
int sb_policy_parse(struct sb_policy *p, const char *text, const char *fname, char *err,
		    size_t errlen);
enum sb_action sb_policy_path(const struct sb_policy *p, const char *path);

/* ------------------------------------------------------ system calls */

/* argument kinds for the pointer checks and the trace */
enum sb_argk {
	A_NONE = 0,	/* no such argument */
	A_INT,		/* a number, printed in decimal */
	A_HEX,		/* a number, printed in hex (flags, addresses not followed) */
	A_FD,		/* a file descriptor */
	A_AT,		/* a directory file descriptor or AT_FDCWD */
	A_STR,		/* NUL-terminated string read by the call */
	A_STRN,		/* the same, or NULL */
	A_INBUF,	/* buffer read by the call, length in the next argument */
	A_INBUFN,	/* the same, or NULL */
	A_OUTBUF,	/* buffer written by the call, length in the next argument */
	A_OUTBUF_RET,	/* as A_OUTBUF; the trace shows the result's count of bytes */
	A_IOV,		/* struct iovec array, count in the next argument */
	A_POLL,		/* struct pollfd array, count in the next argument */
	A_EPEV,		/* struct epoll_event array, count in the next argument */
	A_SOCKOUT,	/* buffer written, length in the socklen_t the next argument points to; may be NULL */
	A_OUTBUF_PREV,	/* buffer written, length in the previous argument */
	A_PTR,		/* pointer to a fixed-size object (size in the table), may be NULL */
	A_PTRNN,	/* the same, never NULL */
};

struct sb_sysinfo {
	const char *name;
	uint8_t arg[6];		/* enum sb_argk */
	uint16_t size[6];	/* for A_PTR/A_PTRNN: the object's size */
	uint8_t flags;		/* SBF_* */
};

#define SBF_PATH	0x01	/* arg 0 (or 1 for *at) is a path the policy checks */
#define SBF_PATH_AT	0x02
#define SBF_NET		0x04	/* a network call */
#define SBF_EMUL	0x08	/* emulated by the runtime */
#define SBF_SUPPORTED	0x80

const struct sb_sysinfo *sb_sys(long nr);
long sb_sys_lookup(const char *name);	/* number, or -1 */

/* Format one trace line "name(args) = result\n" (strace-style) into out.
 * Pointer arguments are followed only where mem says the program owns them. */
size_t sb_trace_format(char *out, size_t n, const struct sb_mem *mem, long nr,
		       const uint64_t a[6], long ret);
size_t sb_trace_note(char *out, size_t n, long nr, const char *note);

#endif /* DUNE_SANDBOX_H */

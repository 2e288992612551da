/* SPDX-License-Identifier: MIT */
/*
 * table.c - every micro-benchmark and the modes it runs in, as data.
 *
 * To add a benchmark: write bench_<name>.c with its struct micro_ops and
 * add one line here.  To run an existing one in a Dune mode once libdune
 * is linked: its modes are already declared; lib/mode.c enters the mode.
 */
#include "micro.h"

const struct micro_bench micro_table[] = {
	{ "syscall", "getpid round trip (raw syscall instruction, not glibc-cached)",
	  "syscall", M_LINUX | M_DUNE | M_DUNE_USER, 1000, 0, &micro_syscall_ops },
	{ "vmexit", "null hypercall round trip (VMCALL)",
	  "hypercall", M_DUNE, 1000, 0, &micro_vmexit_ops },
	{ "pgfault", "first write to a fresh anonymous 4 KB page (mmap/munmap untimed)",
	  "page", M_LINUX | M_DUNE, 1024, 1, &micro_pgfault_ops },
	{ "pagewalk", "TLB miss: dependent random reads of 4096 pages over 1 GB minus the same reads packed in 256 KB; 4 KB pages",
	  "read", M_LINUX | M_DUNE, 4096, 1, &micro_pagewalk_ops },
	{ "pagewalk-thp", "as pagewalk, 2 MB pages (MADV_HUGEPAGE; THP obtained is recorded)",
	  "read", M_LINUX | M_DUNE, 4096, 1, &micro_pagewalk_thp_ops },
	{ "trap", "int3 -> SIGTRAP handler -> return",
	  "trap", M_LINUX | M_DUNE | M_DUNE_USER, 100, 0, &micro_trap_ops },
	{ "ptrace", "syscall interception round trip: PTRACE_SYSCALL tracer, traced getpid",
	  "syscall", M_LINUX | M_DUNE_USER, 100, 0, &micro_ptrace_ops },
	{ "seccomp-notify", "seccomp user notification round trip (SECCOMP_RET_USER_NOTIF, supervisor thread)",
	  "syscall", M_LINUX, 100, 0, &micro_seccomp_notify_ops },
	{ "appel1", "PROT1+TRAP+UNPROT: touch 100 protected pages; the SIGSEGV handler unprotects the page and protects another",
	  "100 pages", M_LINUX | M_DUNE, 1, 1, &micro_appel1_ops },
	{ "appel2", "PROTN+TRAP+UNPROT: protect 100 pages at once, touch each; the SIGSEGV handler unprotects its page",
	  "100 pages", M_LINUX | M_DUNE, 1, 1, &micro_appel2_ops },
	{ "userfault", "appel1-style protect/trap/unprotect of 100 pages with userfaultfd write-protect (handler thread)",
	  "100 pages", M_LINUX, 1, 1, &micro_userfault_ops },
};

const size_t micro_table_len = sizeof(micro_table) / sizeof(micro_table[0]);

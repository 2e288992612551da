/* SPDX-License-Identifier: MIT */
/*
 * table.c - every micro-benchmark and the modes it runs in, as data.
 *
 * To add a benchmark: write bench_<name>.c with its struct micro_ops and
 * add one line here.  To run an existing one in a Dune mode once libdune
 * is linked: its modes are already declared; lib/mode.c enters the mode.
 */
#include "micro.h"

/*
 * Families of rows that differ only in name, text and ops: the shared
 * fields (and the shared end of the text) are written once.
 */
#define XL_NOTE "dunebench extension; needs a second CPU"
/* libdune's exit-less path: Dune mode only, no hardware counters */
#define EXITLESS(name, what, per, batch, ops) \
	{ name, what, per, M_DUNE, batch, 0, ops, NULL }
/* dune_syscall_batch: one op = one batch */
#define XL_BATCH(name, what, per, batch, ops) \
	EXITLESS(name, "dune_syscall_batch of " what \
		 " (one op = one batch; " XL_NOTE ")", per, batch, ops)
/* dependent random reads: one op = one read, with dTLB counters */
#define PAGEWALK(name, what, ops) \
	{ name, what, "read", M_LINUX | M_DUNE, 4096, 1, ops, NULL }
/* protect/trap/unprotect of MICRO_APPEL_PAGES pages: one op = all of them */
#define APPEL(name, what, modes, ops) \
	{ name, what, "100 pages", modes, 1, 1, ops, NULL }
/* a round trip between two CPUs */
#define RTT(name, what, modes, ops) \
	{ name, what, "round trip", modes, 20, 0, ops, NULL }

const struct micro_bench micro_table[] = {
	{ "cpuloop", "noise floor: 1000 dependent register adds, no memory, no kernel (its CV is the host's: core clock vs TSC, SMT sibling, steal)",
	  "1000 adds", M_LINUX, 100, 0, &micro_cpuloop_ops, NULL },
	{ "syscall", "getpid round trip (raw syscall instruction, not glibc-cached)",
	  "syscall", M_LINUX | M_DUNE | M_DUNE_USER, 1000, 0, &micro_syscall_ops,
	  &micro_syscall_user_ops },
	{ "write1", "1-byte write to /dev/null (raw syscall instruction; Dune: the exit path)",
	  "syscall", M_LINUX | M_DUNE, 1000, 0, &micro_write1_ops, NULL },
	EXITLESS("syscall-exitless", "getpid round trip on libdune's exit-less path: the call goes to the vCPU's host poller thread through shared memory, no VM exit (" XL_NOTE ")",
		 "syscall", 1000, &micro_syscall_xl_ops),
	EXITLESS("write1-exitless", "1-byte write to /dev/null on libdune's exit-less path (" XL_NOTE ")",
		 "syscall", 1000, &micro_write1_xl_ops),
	XL_BATCH("batch1-exitless", "1 getpid, exit-less", "batch of 1", 1000, &micro_batch1_xl_ops),
	XL_BATCH("batch8-exitless", "8 getpids, exit-less, one notification",
		 "batch of 8", 100, &micro_batch8_xl_ops),
	XL_BATCH("batch64-exitless", "64 getpids, exit-less, one notification",
		 "batch of 64", 100, &micro_batch64_xl_ops),
	{ "vmexit", "null hypercall round trip: VMCALL of a syscall number no kernel has (vmx: answered by dune.ko; kvm: answered in-kernel by KVM)",
	  "hypercall", M_DUNE, 1000, 0, &micro_vmexit_ops, NULL },
	{ "pgfault", "first write to a fresh anonymous 4 KB page (mmap/munmap untimed)",
	  "page", M_LINUX | M_DUNE, 1024, 1, &micro_pgfault_ops, NULL },
	PAGEWALK("pagewalk", "TLB miss: dependent random reads of 4096 pages over 1 GB minus the same reads packed in 256 KB; 4 KB pages",
		 &micro_pagewalk_ops),
	PAGEWALK("pagewalk-thp", "TLB miss, 2 MB pages: dependent random reads, one in each 2 MB page of 2x the CPU's 2 MB TLB reach (several GB, all resident), minus the same reads packed in a small buffer (MADV_HUGEPAGE; THP obtained is recorded)",
		 &micro_pagewalk_thp_ops),
	PAGEWALK("pagewalk-thp-fit", "control for pagewalk-thp: the same reads over 1/4 of the 2 MB TLB reach, so every page stays in the TLB",
		 &micro_pagewalk_thp_fit_ops),
	{ "trap", "exception -> handler -> return (linux: int3 -> SIGTRAP handler; dune: guest IDT handler via dune_register_intr_handler, int3 on kvm, ud2 on vmx whose ABI intercepts #BP; dune-user: the same from ring 3)",
	  "trap", M_LINUX | M_DUNE | M_DUNE_USER, 100, 0, &micro_trap_ops,
	  &micro_trap_user_ops },
	{ "ptrace", "syscall interception round trip: getpid under a PTRACE_SYSCALL tracer (linux); a ring-3 getpid intercepted by the ring-0 handler, then passed through (dune-user)",
	  "syscall", M_LINUX | M_DUNE_USER, 100, 0, &micro_ptrace_ops,
	  &micro_ptrace_user_ops },
	{ "seccomp-notify", "seccomp user notification round trip (SECCOMP_RET_USER_NOTIF, supervisor thread)",
	  "syscall", M_LINUX, 100, 0, &micro_seccomp_notify_ops, NULL },
	APPEL("appel1", "PROT1+TRAP+UNPROT: touch 100 protected pages; the handler unprotects the page and protects another (linux: mprotect + SIGSEGV; dune, the original suite's recipe: #PF handler edits the PTEs found with dune_vm_lookup, invlpg of the other page only if it was accessed)",
	      M_LINUX | M_DUNE, &micro_appel1_ops),
	APPEL("appel2", "PROTN+TRAP+UNPROT: protect 100 pages at once, touch each; the handler unprotects its page (linux: mprotect + SIGSEGV; dune, the original suite's recipe: one dune_vm_mprotect of the 100 (CR3 reload), #PF handler edits the PTE found with dune_vm_lookup)",
	      M_LINUX | M_DUNE, &micro_appel2_ops),
	APPEL("appel1-mprotect", "appel1 with a handler that calls dune_vm_mprotect for each page (it flushes with invlpg) instead of editing the PTEs",
	      M_DUNE, &micro_appel1m_ops),
	APPEL("appel2-mprotect", "appel2 with a handler that calls dune_vm_mprotect for its page (it flushes with invlpg) instead of editing the PTE",
	      M_DUNE, &micro_appel2m_ops),
	APPEL("userfault", "appel1-style protect/trap/unprotect of 100 pages with userfaultfd write-protect (handler thread)",
	      M_LINUX, &micro_userfault_ops),
	RTT("ipi-rtt", "IPI round trip between two vCPUs on two CPUs: dune_apic_send_ipi to B, B's handler sends one back, A's handler runs (oneway_cycles: send to B's handler)",
	    M_DUNE, &micro_ipi_rtt_ops),
	RTT("futex-rtt", "futex wake round trip between two threads on two CPUs: A wakes B, B wakes A (oneway_cycles: wake to B's return from FUTEX_WAIT)",
	    M_LINUX, &micro_futex_rtt_ops),
	RTT("eventfd-rtt", "eventfd ping-pong between two threads on two CPUs: A writes B's eventfd, B's read returns and it writes A's (oneway_cycles: write to B's read return)",
	    M_LINUX, &micro_eventfd_rtt_ops),
	{ "shootdown", "TLB shootdown of one page to one other CPU that keeps reading it (dune: PTE change + invlpg + IPI, the handler runs invlpg and acknowledges; linux: mprotect to read-only, which flushes the other CPU by IPI, then back to read-write)",
	  "shootdown", M_LINUX | M_DUNE, 20, 0, &micro_shootdown_ops, NULL },
};

const size_t micro_table_len = sizeof(micro_table) / sizeof(micro_table[0]);

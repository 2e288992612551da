/* SPDX-License-Identifier: MIT */
/*
 * micro.h - what one micro-benchmark is.
 *
 * A benchmark is a few small functions (struct micro_ops).  The timing
 * machinery (CPUID+RDTSC / RDTSCP, overhead subtraction, batches, Google
 * Benchmark plumbing) lives once in lib/driver.c; the table of benchmarks
 * and the modes each one supports lives once in table.c.
 *
 * One "op" is what the result is reported per: one getpid, one page, one
 * trap, or for appel1/appel2 one round over MICRO_APPEL_PAGES pages (the
 * paper's unit).  run(priv, n) performs n ops between the timestamps;
 * prepare/finish do the untimed work around each batch.
 */
#ifndef MICRO_H
#define MICRO_H

#include <stddef.h>
#include <stdint.h>

enum micro_mode {
	MICRO_LINUX,		/* native Linux process */
	MICRO_DUNE,		/* Dune: VMX non-root ring 0 */
	MICRO_DUNE_USER,	/* Dune: ring 3 under a ring-0 handler */
	MICRO_NR_MODES,
};

#define MICRO_M(m)		(1u << (m))
#define M_LINUX			MICRO_M(MICRO_LINUX)
#define M_DUNE			MICRO_M(MICRO_DUNE)
#define M_DUNE_USER		MICRO_M(MICRO_DUNE_USER)

#define MICRO_PAGE		4096UL
#define MICRO_APPEL_PAGES	100	/* NRPGS of the original suite */

/* Reason buffer handed to setup(); fill it when returning non-zero. */
#define MICRO_WHY_LEN		256

/*
 * What setup() returns.  MICRO_UNAVAILABLE: this host cannot run the
 * benchmark (a mode it does not support, a kernel feature that is absent,
 * a resource the host does not have); why says what is missing.
 * MICRO_FAILED: it should have run and did not (mmap, sigaction, a handler
 * registration, a supervisor or handler thread that does not answer); why
 * has the error.
 * The runner records the first as "unavailable", the second as "failed",
 * and a failed benchmark makes the run exit non-zero.
 */
#define MICRO_UNAVAILABLE	(-1)
#define MICRO_FAILED		(-2)

struct micro_info;	/* extra numbers a benchmark reports (lib/driver.c) */

struct micro_ops {
	/* Once per process: 0, or MICRO_UNAVAILABLE / MICRO_FAILED with why. */
	int (*setup)(enum micro_mode mode, void **priv, char *why, size_t len);
	void (*prepare)(void *priv, uint64_t n);	/* untimed, before a batch */
	void (*run)(void *priv, uint64_t n);		/* timed: n ops */
	void (*finish)(void *priv, uint64_t n);	/* untimed, after a batch */
	/*
	 * Optional: timed like run() and subtracted from it, op for op
	 * (pagewalk: the same chase over a small, TLB-resident buffer).
	 */
	void (*baseline)(void *priv, uint64_t n);
	/* Optional: add numbers to the result (micro_info_add). */
	void (*report)(void *priv, struct micro_info *info);
	void (*teardown)(void *priv);
};

struct micro_bench {
	const char *name;
	const char *what;	/* one line, for --list and the report */
	const char *per;	/* what one op is: "syscall", "page", "100 pages" */
	unsigned modes;		/* M_LINUX | M_DUNE | M_DUNE_USER */
	uint64_t batch;		/* ops per timed batch */
	int hw_counters;	/* record dTLB / page-walk counters if a PMU exists */
	const struct micro_ops *ops;
	/* Optional: the ops of mode dune-user when they differ (ring 3). */
	const struct micro_ops *ops_user;
};

extern const struct micro_bench micro_table[];
extern const size_t micro_table_len;

void micro_info_add(struct micro_info *info, const char *key, double value);

/*
 * A benchmark that cannot go on after setup (prepare, run, finish): print
 * "micro-bench: failed: <name>: <message>" and end the process with
 * status 1.  The runner records the benchmark as failed with that message.
 */
void micro_fail(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

const char *micro_mode_name(enum micro_mode mode);
int micro_mode_parse(const char *s, enum micro_mode *mode);
/* Enter the mode for the whole process; -1 with why filled if impossible. */
int micro_mode_enter(enum micro_mode mode, char *why, size_t len);

/* Which Dune backend the process entered ("vmx", "kvm"), or NULL. */
const char *micro_mode_backend(void);

/*
 * Mode dune-user: run fn(arg, n) in guest ring 3 (dune_jump_to_user) and
 * come back to ring 0 when it returns.  Ring-3 system calls other than the
 * return go to the hook if one is set (micro_user_set_hook), else straight
 * to dune_passthrough_syscall.  Only in a build with libdune.
 */
struct dune_tf;
void micro_user_call(void (*fn)(void *, uint64_t), void *arg, uint64_t n);
void micro_user_set_hook(void (*hook)(struct dune_tf *tf));

/* trap in Dune: ud2 (#UD) on vmx, int3 (#BP) elsewhere (bench_trap.c) */
int micro_trap_use_ud2(void);

/* Run-time knobs (main.c flags) the driver honours; 0 = default. */
struct micro_knobs {
	uint64_t batch_max;	/* --batch=N: at most N ops per timed batch */
	int warmup;		/* --warmup=N: exactly N warm-up batches */
	int lab_lines;		/* --lab-lines: one "@@BENCH {json}" line per repetition */
};
extern struct micro_knobs micro_knobs;

/* Benchmarks' ops, one per file. */
extern const struct micro_ops micro_cpuloop_ops, micro_syscall_ops, micro_vmexit_ops,
	micro_pgfault_ops, micro_pagewalk_ops, micro_pagewalk_thp_ops,
	micro_pagewalk_thp_fit_ops,
	micro_trap_ops, micro_ptrace_ops, micro_seccomp_notify_ops,
	micro_appel1_ops, micro_appel2_ops, micro_appel1m_ops, micro_appel2m_ops, micro_userfault_ops,
	micro_syscall_user_ops, micro_trap_user_ops, micro_ptrace_user_ops,
	micro_write1_ops, micro_syscall_xl_ops, micro_write1_xl_ops, micro_batch1_xl_ops,
	micro_batch8_xl_ops, micro_batch64_xl_ops,
	micro_ipi_rtt_ops, micro_futex_rtt_ops, micro_eventfd_rtt_ops, micro_shootdown_ops;

/* Keep a value alive / the compiler honest. */
#define micro_barrier()		asm volatile("" ::: "memory")

#endif

/* SPDX-License-Identifier: MIT */
/*
 * fuzz.h - bounded, seeded fuzzing for the robustness profile
 * (abi/fuzz_*.c on raw /dev/dune, api/fuzz_*.c through libdune).
 *
 * A fuzz test:
 *
 *	struct fuzz f;
 *
 *	for (unsigned int s = 0; fuzz_begin(&f, s, "abi.fuzz.ioctl", 2000, 100, names,
 *					    NR_OUTCOMES); s++) {
 *		fuzz_run(&f, 200, worker, &arg, NULL);
 *		fuzz_end(&f);
 *	}
 *
 * - Seeds: $DUNE_FUZZ_SEED (the runner's --seed) if set: one run with it;
 *   else one run for each seed that conformance/fuzz-seeds.list (built into
 *   the runner) names for the test, never a random one.  Each is printed
 *   with the line that reruns the test.  Iteration i draws from its
 *   own stream, fuzz_rng_init(&rng, &f, i), so a run is a function of the
 *   seed alone; $DUNE_FUZZ_ITER=i reruns iteration i only (from the start of
 *   its batch, since a batch shares state) and prints what it does.
 * - Iterations: the default count times $DUNE_FUZZ_SCALE (the runner's
 *   --fuzz-scale / --long), printed at the end with the outcome counts.
 * - The iterations run in worker processes, @batch at a time (a batch
 *   shares one /dev/dune file, one libdune VM, ...).  Each worker is
 *   watched: one that makes no progress for a while is killed and the test
 *   fails naming the iteration it was in (a hang); one that dies is a
 *   failure unless the test's death callback accepts the death.
 *   fuzz_note() keeps a description of the iteration being run, printed
 *   with any failure.
 * - Runs are bounded in time: fuzz_start_ticker() gives the worker a
 *   periodic SIGALRM (every $DUNE_FUZZ_RUN_MS, default 20 ms of the guest
 *   clock), which ends a guest that spins (DUNE_RET_SIGNAL, or libdune's
 *   re-entry after the signal).
 * - fuzz_end() checks that the host kernel stayed healthy: no Oops, BUG,
 *   WARNING, soft lockup, general protection fault, ... in the kernel log
 *   written since fuzz_begin() (read from /dev/kmsg; the lab runs as root).
 * - fuzz_check_module() (vmx) checks that /dev/dune still works: a new vCPU
 *   runs exit(5), and is re-entered once.
 */
#ifndef CONF_FUZZ_H
#define CONF_FUZZ_H

#define _GNU_SOURCE
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FUZZ_MAX_OUTCOMES	24

/* ------------------------------------------------------------ random */

/*
 * An input of a fuzz iteration is its stream (the generator's state after
 * fuzz_rng_init) plus up to FUZZ_MAX_MUT mutations: draw number k of the
 * iteration (from 0) comes out XORed with x.  Fresh iterations have none;
 * the coverage-steered ones (fuzz-corpus.list, DUNE_FUZZ_STEER) do.
 */
#define FUZZ_MAX_MUT	8

struct fuzz_mut {
	uint32_t k;
	uint64_t x;
};

struct fuzz_rng {
	uint64_t s;
	uint32_t n;		/* draws so far */
	uint32_t nmut;
	struct fuzz_mut mut[FUZZ_MAX_MUT];
};

/* splitmix64: small, fast, good enough, and the same everywhere */
static inline uint64_t fuzz_next(struct fuzz_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	for (uint32_t i = 0; i < r->nmut; i++)
		if (r->mut[i].k == r->n)
			z ^= r->mut[i].x;
	r->n++;
	return z;
}

/* uniform in [0, n) (n > 0; the bias is irrelevant here) */
static inline uint64_t fuzz_below(struct fuzz_rng *r, uint64_t n)
{
	return n ? fuzz_next(r) % n : 0;
}

/* true with probability num/den */
static inline bool fuzz_chance(struct fuzz_rng *r, unsigned int num, unsigned int den)
{
	return fuzz_below(r, den) < num;
}

#define FUZZ_PICK(r, array) ((array)[fuzz_below((r), sizeof(array) / sizeof((array)[0]))])

/* A "mostly garbage, some plausible" 64-bit value: small numbers, powers of
 * two and their neighbours, sign and canonical-boundary values, kernel-half
 * addresses, all ones, fully random. */
uint64_t fuzz_value(struct fuzz_rng *r);

/* ------------------------------------------------------------ a fuzz test */

struct fuzz_shared;

struct fuzz {
	const char *id;
	uint64_t seed;		/* as printed and given by DUNE_FUZZ_SEED */
	uint64_t stream;	/* seed mixed with the test's ID */
	uint64_t iters;		/* to run */
	uint64_t only;		/* DUNE_FUZZ_ITER, or UINT64_MAX */
	double scale;
	double t0, budget;	/* start, and the time after which no new batch starts */
	bool verbose;		/* print every iteration's note (DUNE_FUZZ_ITER) */
	int kmsg_fd;
	const char *const *outcome_names;
	unsigned int nr_outcomes;
	struct fuzz_shared *sh;	/* shared with the workers */
	uint64_t workers, deaths;
	bool replay;		/* the corpus run: iteration i = corpus input i */
	bool steer;		/* DUNE_FUZZ_STEER: mutate corpus inputs */
	int cov_fd;		/* dune_coverage/count of a coverage build, or -1 */
};

/*
 * Start run @nth (from 0) of a fuzz test: its seed (above), iteration count
 * (@default_iters, or the seed list's count, scaled), the kernel-log mark,
 * the shared page.  False when there is no @nth seed (the test fails if
 * there is none at all).  @budget_s: after this many seconds (scaled like
 * the iterations when the scale is > 1; a shorter run from the list gets
 * its share) no new batch starts; keep it well under the test's timeout.
 * Every run that began ends with fuzz_end().
 */
bool fuzz_begin(struct fuzz *f, unsigned int nth, const char *id, uint64_t default_iters,
		double budget_s, const char *const *outcome_names, unsigned int nr_outcomes);

/*
 * The generator of iteration @iter.  Its input is a function of the seed,
 * @iter and the corpus (conformance/fuzz-corpus.list, built in) only:
 *
 * - the runs of the seed list (or DUNE_FUZZ_SEED): fresh inputs, as ever;
 *   with DUNE_FUZZ_STEER=1 (coverage-steered fuzzing, `make coverage`),
 *   half of them are instead a corpus input of the test with 1-3 more
 *   mutations, chosen by the seed and @iter;
 * - one more run after those when the corpus has inputs for the test
 *   (printed "corpus"): iteration i replays corpus input i.
 *
 * With DUNE_FUZZ_STEER=1 on a coverage build of dune.ko, an iteration that
 * reached module code no earlier one did (debugfs dune_coverage/count
 * grew) is a new corpus input: fuzz_end() prints each as a
 * FUZZ_INPUT(...) line of fuzz-corpus.list (harness/coverage/run.sh
 * --save-corpus adds them there).
 */
void fuzz_rng_init(struct fuzz_rng *r, const struct fuzz *f, uint64_t iter);

/*
 * Worker body: run iterations [first, end); may return early (the rest of
 * the batch then goes to the next worker).  Count each finished iteration
 * with fuzz_done(); report a failed check with fuzz_fail() (does not
 * return).  Runs in a child process: no CT_* macros here.
 */
typedef void (*fuzz_worker_fn)(struct fuzz *f, uint64_t first, uint64_t end, void *arg);

/*
 * A worker ended with wait status @status (not a clean exit 0) while
 * running iteration @iter; @tail is the end of what it wrote to stderr.
 * Return an outcome index to count the death as that outcome of that
 * iteration and go on with the next one, or -1 to fail the test.
 */
typedef int (*fuzz_death_fn)(struct fuzz *f, uint64_t iter, int status, const char *tail,
			     void *arg);

/*
 * Run all iterations, @batch per worker (batches start at multiples of
 * @batch, so that DUNE_FUZZ_ITER can replay one).  Fails the test (CT_EXPECT) on a failed check, a hang
 * or an unaccepted death, and stops at the first one.  Returns the number
 * of iterations run.
 */
uint64_t fuzz_run(struct fuzz *f, uint64_t batch, fuzz_worker_fn fn, void *arg,
		  fuzz_death_fn death);

/* In a worker: the description of the iteration about to run (printed if
 * it fails, hangs or kills the worker; printed always with DUNE_FUZZ_ITER). */
void fuzz_note(struct fuzz *f, uint64_t iter, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* append to the note */
void fuzz_note_more(struct fuzz *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* In a worker: iteration @iter ended with outcome @outcome. */
void fuzz_done(struct fuzz *f, uint64_t iter, unsigned int outcome);
/* In a worker: a check failed in iteration @iter; ends the worker. */
void fuzz_fail(struct fuzz *f, uint64_t iter, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

/* In a worker: periodic SIGALRM every $DUNE_FUZZ_RUN_MS (default 20) ms. */
void fuzz_start_ticker(void);
/* SIGALRMs taken so far (the ticker's handler counts them). */
unsigned long fuzz_ticks(void);

/* End: print iterations, outcomes and time; check the kernel log. */
void fuzz_end(struct fuzz *f);

/* vmx: a new /dev/dune file still gives a vCPU that runs and re-enters. */
void fuzz_check_module(void);

/* Format @n bytes as hex into @buf (at most @size, NUL-terminated). */
void fuzz_hex(char *buf, size_t size, const uint8_t *p, size_t n);

/* Drop root in a worker (uid/gid 65534) when running as root, so that what
 * a random guest does through the module runs unprivileged.  Returns 0 if
 * dropped or not root. */
int fuzz_drop_root(void);

/* ------------------------------------------------------------ guest code */

/*
 * Random guest code (fuzz_gen.c): random bytes mixed with "system"
 * instructions (control and debug registers, MSRs, I/O, descriptor tables,
 * VMX instructions, XSAVE, interrupts, ring changes, loops, ...) with their
 * operands loaded first.  Addresses come from struct fz_addrs.
 */
struct fz_addrs {
	uint64_t code, data, stack, big, weird;	/* guest-virtual */
	size_t big_size;			/* 0: no big region */
	unsigned int nweird;			/* weird pages at weird + i * 4 KiB */
	uint64_t cr3;				/* a good CR3 (0: unknown) */
};

/* Data-page layout used by the generated code: an IDT pseudo-descriptor at
 * +0, a GDT pseudo-descriptor at +0x10, the GDT (ring-0 and ring-3 flat
 * 64-bit segments) at +0x200, 32 IDT gates into the code page at +0x400,
 * buffers from +0x800. */
#define FZ_PAGE		4096UL
#define FZ_SEL_KCODE	0x08
#define FZ_SEL_KDATA	0x10
#define FZ_SEL_UDATA	0x1b
#define FZ_SEL_UCODE	0x23
#define FZ_DESC_OFF	0x000
#define FZ_GDTR_OFF	0x010
#define FZ_GDT_OFF	0x200
#define FZ_IDT_OFF	0x400
#define FZ_BUF_OFF	0x800

struct fz_code {
	uint8_t *p;
	size_t n, cap;
};

static inline void fz_emit(struct fz_code *c, const void *bytes, size_t n)
{
	for (size_t i = 0; i < n && c->n < c->cap; i++)
		c->p[c->n++] = ((const uint8_t *)bytes)[i];
}

#define FZ_EMIT(c, ...) do {						\
		static const uint8_t fz_b_[] = { __VA_ARGS__ };		\
		fz_emit((c), fz_b_, sizeof(fz_b_));			\
	} while (0)

/* mov $imm64, %reg (0..15: rax rcx rdx rbx rsp rbp rsi rdi r8..r15) */
void fz_mov_imm(struct fz_code *c, unsigned int reg, uint64_t imm);
void fz_random_bytes(struct fz_code *c, struct fuzz_rng *r, size_t n);
/* A plausible or garbage value for a guest register (addresses of @a). */
uint64_t fz_reg_value(struct fuzz_rng *r, const struct fz_addrs *a);
/*
 * One random system instruction, operands loaded first.  @ring3: code for
 * guest ring 3 under libdune (nothing that ends the process on vmx: no
 * int3/int1/popf/iret/VMX instructions, no VMCALL).
 */
void fz_system_insn(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a, bool ring3);
/*
 * Ring-3 code leaves out, unless these are set: loops that never end
 * (libdune on vmx cannot preempt ring 3: see api/fuzz_user.c), and
 * wrgsbase and loads of GS (mov/pop to %gs, lgs): they set the GS base that
 * libdune's ring-0 entry code relies on (fuzz_scrub() takes them out of
 * random bytes too).
 */
extern bool fz_ring3_spin, fz_ring3_gs;
/* Ring-3 code keeps int3 (cc) and int $3 when set: libdune delivers #BP to
 * the guest IDT on both backends (on vmx the module's intercept is
 * reflected; ref-lib/README.md). */
extern bool fz_ring3_int3;
/* A whole random program of about @len bytes into @c (the rest of @c's
 * buffer: random bytes, ud2s or hlts), scrubbed with fuzz_scrub(). */
void fz_program(struct fz_code *c, struct fuzz_rng *r, const struct fz_addrs *a, size_t len,
		bool ring3);
/* Fill a data page (host pointer @page) for @a: random bytes, then with
 * some probability a GDT, IDT gates into the code page, their
 * pseudo-descriptors, and page-table-like entries. */
void fz_fill_data(struct fuzz_rng *r, uint8_t *page, const struct fz_addrs *a);

/*
 * Replace every VMCALL (0f 01 c1) in @p[0..n) by a harmless instruction;
 * with @ring3 also the instructions that end a libdune process on vmx when
 * ring 3 runs them (int3 cc unless fz_ring3_int3, int1 f1, popf 9d, iret cf,
 * VMX instructions)
 * and, unless fz_ring3_gs, those that load GS (8e /5, 0f a9, 0f b5).
 * Returns the number of bytes changed.
 */
size_t fuzz_scrub(uint8_t *p, size_t n, bool ring3);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * driver.c - the timing machinery, once for every benchmark.
 *
 * Each Google Benchmark iteration is one batch of b->batch ops:
 *
 *	prepare(n)                           untimed
 *	CPUID; RDTSC  run(n)  RDTSCP         timed; minus the timer overhead
 *	finish(n)                            untimed
 *	(baseline(n), timed the same way and subtracted, if the bench has one)
 *
 * Each batch gives one sample: its net cycles per op (run minus baseline,
 * timer overhead subtracted).  Per repetition the counter "cycles" is the
 * MEDIAN of the batch samples, so an interrupt, a host preemption or a
 * steal burst inside a few batches does not move the repetition; the
 * total-over-ops figure is kept as "cycles_mean".  "ns" is the median
 * wall time per op the same way.  A batch during which the thread was
 * preempted (involuntary context switch, getrusage(RUSAGE_THREAD) around the
 * timed region) carries another task's time: it is left out of the samples
 * and counted in "preempted" (all batches are used only if none is clean).
 * Setup happens once per process, lazily, followed by a warm-up of at least
 * WARMUP_MIN batches and WARMUP_NS; Google Benchmark calibrates the batch
 * count.
 *
 * A setup that returns MICRO_UNAVAILABLE is reported to Google Benchmark as
 * an error "unavailable: <why>", one that returns MICRO_FAILED as
 * "failed: <why>" (and micro-bench then exits 1); a benchmark that fails
 * later calls micro_fail(), which ends the process.  For the runner's own
 * tests, MICRO_INJECT_FAIL=<name>:setup or <name>:run makes benchmark
 * <name> fail in setup or after its first timed batch.
 */
#define _GNU_SOURCE
#include "driver.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../gbench/gbench.h"
#include "pmu.h"
#include "stats.h"
#include "tsc.h"

#define WARMUP_NS	(100 * 1000 * 1000)
#define WARMUP_MIN	3
#define WARMUP_MAX	5000

#define INFO_MAX	16

struct micro_info {
	int n;
	struct {
		char key[48];
		double value;
	} kv[INFO_MAX];
};

struct micro_knobs micro_knobs;

struct slot {
	const struct micro_bench *b;
	const struct micro_ops *ops;	/* b->ops, or b->ops_user in dune-user */
	uint64_t batch;			/* b->batch, capped by --batch */
	int rep;
	enum micro_mode mode;
	int state;		/* 0 not set up, 1 ready, MICRO_UNAVAILABLE, MICRO_FAILED */
	void *priv;
	char why[MICRO_WHY_LEN];
	int pmu_ok;
	struct pmu pmu;
	/* per-batch samples of the current repetition (cycles/op, ns/op) */
	double *cyc, *ns, *cyc_all, *ns_all;
	size_t nr_samples, nr_all, cap;
};

static uint64_t overhead;
static struct slot *slots;
static size_t nr_slots;
static const char *current_name = "micro-bench";	/* for micro_fail() */
static int any_failed;

void micro_fail(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "micro-bench: failed: %s: ", current_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	_exit(1);
}

int micro_failed(void)
{
	return any_failed;
}

/* MICRO_INJECT_FAIL=<name>:<where>: does it name this benchmark and where? */
static int inject_fail(const char *name, const char *where)
{
	const char *v = getenv("MICRO_INJECT_FAIL");
	size_t n = strlen(name);

	return v && !strncmp(v, name, n) && v[n] == ':' && !strcmp(v + n + 1, where);
}

void micro_info_add(struct micro_info *info, const char *key, double value)
{
	if (info->n >= INFO_MAX)
		return;
	snprintf(info->kv[info->n].key, sizeof(info->kv[0].key), "%s", key);
	info->kv[info->n].value = value;
	info->n++;
}

struct sample {
	double cycles;
	double ns;
	int preempted;
};

static long nivcsw(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru))
		return 0;
	return ru.ru_nivcsw;
}

static struct sample time_batch(struct slot *s, void (*fn)(void *, uint64_t),
				uint64_t n, int with_pmu)
{
	const struct micro_ops *o = s->ops;
	struct sample r;
	uint64_t w0, w1, t0, t1;
	long cs;

	if (o->prepare)
		o->prepare(s->priv, n);
	cs = nivcsw();
	/* the counters' enable/read system calls stay outside both timings */
	if (with_pmu)
		pmu_start(&s->pmu);
	w0 = now_ns();
	t0 = tsc_begin();
	fn(s->priv, n);
	t1 = tsc_end();
	w1 = now_ns();
	if (with_pmu)
		pmu_stop(&s->pmu);
	r.preempted = nivcsw() != cs;
	if (o->finish)
		o->finish(s->priv, n);
	r.cycles = (double)(t1 - t0) - (double)overhead;
	r.ns = (double)(w1 - w0);
	return r;
}

static void slot_setup(struct slot *s)
{
	const struct micro_ops *o = s->ops;
	uint64_t start;
	char why[MICRO_WHY_LEN];

	current_name = s->b->name;
	if (inject_fail(s->b->name, "setup")) {
		snprintf(s->why, sizeof(s->why), "setup failed (injected: MICRO_INJECT_FAIL=%s:setup)",
			 s->b->name);
		s->state = MICRO_FAILED;
		return;
	}
	s->state = o->setup ? o->setup(s->mode, &s->priv, s->why, sizeof(s->why)) : 0;
	if (s->state) {
		if (s->state != MICRO_FAILED)
			s->state = MICRO_UNAVAILABLE;
		if (!s->why[0])
			snprintf(s->why, sizeof(s->why), "setup returned %d without a reason",
				 s->state);
		return;
	}
	s->state = 1;
	if (s->b->hw_counters)
		s->pmu_ok = pmu_open(&s->pmu, why, sizeof(why)) == 0;
	start = now_ns();
	for (int i = 0; micro_knobs.warmup ? i < micro_knobs.warmup :
	     i < WARMUP_MAX && (i < WARMUP_MIN || now_ns() - start < WARMUP_NS); i++) {
		time_batch(s, o->run, s->batch, 0);
		if (o->baseline)
			time_batch(s, o->baseline, s->batch, 0);
	}
}

/* Keep one batch's per-op sample; clean (not preempted) ones separately. */
static void add_sample(struct slot *s, double cyc, double ns, int clean)
{
	if (s->nr_all == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 1024;
		double **arr[] = { &s->cyc, &s->ns, &s->cyc_all, &s->ns_all };

		for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++) {
			double *p = realloc(*arr[i], cap * sizeof(double));

			if (!p) {
				perror("micro-bench: realloc");
				exit(1);
			}
			*arr[i] = p;
		}
		s->cap = cap;
	}
	s->cyc_all[s->nr_all] = cyc;
	s->ns_all[s->nr_all] = ns;
	s->nr_all++;
	if (clean) {
		s->cyc[s->nr_samples] = cyc;
		s->ns[s->nr_samples] = ns;
		s->nr_samples++;
	}
}

static double fast_share(const double *v, size_t n)
{
	double p5 = stats_quantile(v, n, 0.05);
	size_t k = 0;

	if (n == 0 || !(p5 > 0))
		return NAN;
	for (size_t i = 0; i < n; i++)
		k += v[i] <= 1.05 * p5;
	return (double)k / (double)n;
}

/*
 * One line per repetition on stdout, for runs whose output comes back over
 * a serial console (the VMX lab): "@@BENCH {json}" with the same numbers
 * as the counters, totals included so the host can recompute.
 */
static void lab_line(struct slot *s, double per_op, uint64_t ops, uint64_t batches,
		     uint64_t preempted, const struct sample *run, const struct sample *base,
		     const struct micro_info *info)
{
	const char *be = micro_mode_backend();

	printf("@@BENCH {\"name\": \"%s\", \"mode\": \"%s\", \"backend\": %s%s%s, "
	       "\"rep\": %d, \"per_op\": %.3f, \"ops\": %llu, \"batch\": %llu, "
	       "\"batches\": %llu, \"preempted\": %llu, \"run_total\": %.0f, "
	       "\"baseline_total\": %.0f, \"timer_overhead\": %llu",
	       s->b->name, micro_mode_name(s->mode), be ? "\"" : "", be ? be : "null",
	       be ? "\"" : "", ++s->rep, per_op, (unsigned long long)ops,
	       (unsigned long long)s->batch, (unsigned long long)batches,
	       (unsigned long long)preempted, run->cycles, base->cycles,
	       (unsigned long long)overhead);
	/* the benchmark's own numbers (e.g. oneway_cycles), this repetition's */
	if (info->n) {
		printf(", \"info\": {");
		for (int i = 0; i < info->n; i++) {
			printf("%s\"%s\": ", i ? ", " : "", info->kv[i].key);
			if (isfinite(info->kv[i].value))
				printf("%.3f", info->kv[i].value);
			else
				printf("null");
		}
		printf("}");
	}
	printf("}\n");
	fflush(stdout);
}

static void bench_fn(struct gb_state *st, void *arg)
{
	struct slot *s = arg;
	const struct micro_ops *o = s->ops;
	uint64_t n = s->batch, ops = 0, batches = 0, preempted = 0, all_ops = 0;
	struct sample run = { 0 }, base = { 0 }, run_all = { 0 }, base_all = { 0 };
	struct micro_info info = { 0 };
	struct stats cs, ws;
	double *cyc, *ns, c, w;
	size_t nr;

	if (s->state == 0)
		slot_setup(s);
	if (s->state < 0) {
		char msg[MICRO_WHY_LEN + 16];

		snprintf(msg, sizeof(msg), "%s: %s",
			 s->state == MICRO_FAILED ? "failed" : "unavailable", s->why);
		any_failed |= s->state == MICRO_FAILED;
		gb_skip(st, msg);
		return;
	}
	current_name = s->b->name;
	if (s->pmu_ok)
		memset(s->pmu.total, 0, sizeof(s->pmu.total));
	s->nr_samples = s->nr_all = 0;
	while (gb_keep_running(st)) {
		struct sample r = time_batch(s, o->run, n, s->pmu_ok);
		struct sample b = { 0 };
		double wall = r.ns;

		if (o->baseline) {
			b = time_batch(s, o->baseline, n, 0);
			wall += b.ns;
		}
		gb_set_iteration_time(st, wall * 1e-9);
		if (inject_fail(s->b->name, "run"))
			micro_fail("injected after one timed batch (MICRO_INJECT_FAIL=%s:run)",
				   s->b->name);
		batches++;
		all_ops += n;
		run_all.cycles += r.cycles;
		run_all.ns += r.ns;
		base_all.cycles += b.cycles;
		base_all.ns += b.ns;
		add_sample(s, (r.cycles - b.cycles) / n, (r.ns - b.ns) / n,
			   !(r.preempted || b.preempted));
		if (r.preempted || b.preempted) {
			preempted++;
			continue;
		}
		ops += n;
		run.cycles += r.cycles;
		run.ns += r.ns;
		base.cycles += b.cycles;
		base.ns += b.ns;
	}
	if (!all_ops)
		return;
	if (!ops) {	/* every batch was preempted: use them all, say so */
		ops = all_ops;
		run = run_all;
		base = base_all;
	}
	cyc = s->nr_samples ? s->cyc : s->cyc_all;
	ns = s->nr_samples ? s->ns : s->ns_all;
	nr = s->nr_samples ? s->nr_samples : s->nr_all;
	stats_compute(cyc, nr, &cs);
	stats_compute(ns, nr, &ws);
	c = cs.median;
	w = ws.median;
	gb_counter(st, "cycles", c);
	gb_counter(st, "ns", w);
	gb_counter(st, "cycles_mean", (run.cycles - base.cycles) / ops);
	gb_counter(st, "cycles_batch_min", cs.min);
	gb_counter(st, "cycles_batch_max", cs.max);
	/*
	 * Share of the batches within 5% of the repetition's 5th percentile:
	 * on a host whose cost for the same work switches between a fast and
	 * a slow state (plateaus of milliseconds to seconds), this share
	 * moving from one repetition to the next is what moves the median.
	 */
	gb_counter(st, "fast_share", fast_share(cyc, nr));
	/* spread inside the repetition: interquartile range / median (robust) */
	gb_counter(st, "batch_iqr_rel", cs.median ? (cs.q3 - cs.q1) / fabs(cs.median) : 0);
	gb_counter(st, "samples", (double)nr);
	gb_counter(st, "cycles_all_batches", (run_all.cycles - base_all.cycles) / all_ops);
	gb_counter(st, "preempted", (double)preempted);
	if (o->baseline) {
		gb_counter(st, "cycles_raw", run.cycles / ops);
		gb_counter(st, "cycles_baseline", base.cycles / ops);
	}
	gb_counter(st, "ops", (double)ops);
	gb_counter(st, "batches", (double)batches);
	gb_counter(st, "timer_overhead", (double)overhead);
	if (s->pmu_ok)
		for (int i = 0; i < PMU_NR_EVENTS; i++) {
			char key[64];

			if (!pmu_counting(&s->pmu, i))
				continue;
			snprintf(key, sizeof(key), "pmu_%s", pmu_event_name[i]);
			gb_counter(st, key, (double)s->pmu.total[i] / all_ops);
		}
	if (o->report)
		o->report(s->priv, &info);
	if (micro_knobs.lab_lines)
		lab_line(s, c, ops, batches, preempted, &run, &base, &info);
	if (o->report) {
		for (int i = 0; i < info.n; i++) {
			char key[64];

			snprintf(key, sizeof(key), "info_%s", info.kv[i].key);
			gb_counter(st, key, info.kv[i].value);
		}
	}
}

uint64_t micro_timer_overhead(void)
{
	if (!overhead)
		overhead = tsc_overhead();
	return overhead;
}

void micro_register(enum micro_mode mode)
{
	micro_timer_overhead();
	slots = calloc(micro_table_len, sizeof(*slots));
	if (!slots) {
		perror("calloc");
		exit(1);
	}
	for (size_t i = 0; i < micro_table_len; i++) {
		const struct micro_bench *b = &micro_table[i];

		if (!(b->modes & MICRO_M(mode)))
			continue;
		slots[nr_slots].b = b;
		slots[nr_slots].mode = mode;
		slots[nr_slots].ops = mode == MICRO_DUNE_USER && b->ops_user ? b->ops_user : b->ops;
		slots[nr_slots].batch = micro_knobs.batch_max && b->batch > micro_knobs.batch_max ?
					micro_knobs.batch_max : b->batch;
		gb_register(b->name, bench_fn, &slots[nr_slots]);
		nr_slots++;
	}
}

void micro_teardown(void)
{
	for (size_t i = 0; i < nr_slots; i++) {
		struct slot *s = &slots[i];

		if (s->state > 0 && s->pmu_ok)
			pmu_close(&s->pmu);
		if (s->state > 0 && s->ops->teardown)
			s->ops->teardown(s->priv);
		s->state = 0;
		free(s->cyc);
		free(s->ns);
		free(s->cyc_all);
		free(s->ns_all);
		s->cyc = s->ns = s->cyc_all = s->ns_all = NULL;
		s->cap = s->nr_all = s->nr_samples = 0;
	}
}

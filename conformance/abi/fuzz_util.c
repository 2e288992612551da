// SPDX-License-Identifier: MIT
/* fuzz_util.c - seeds, workers, the hang watch and the kernel-log check of
 * the fuzz tests (fuzz.h) */
#include "fuzz.h"
#include "abi_util.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fuzz_shared {
	volatile uint64_t next;		/* first iteration not finished */
	volatile uint64_t cur;		/* iteration being run */
	volatile uint64_t progress;	/* bumped by every note and done */
	uint64_t outcomes[FUZZ_MAX_OUTCOMES];
	volatile int failed;
	char fail[2048];
	char note[4096];
	size_t note_len;
	char newc[16384];	/* new corpus inputs (FUZZ_INPUT lines) */
	size_t newc_len;
	unsigned int newc_n, newc_dropped;
	int cov_unreadable;	/* a worker could not read dune_coverage/count */
};

/* New corpus inputs one run keeps at most (the rest are counted) */
#define NEWC_MAX		48

/* A worker that makes no progress for this long (guest clock) hangs. */
#define STALL_DEFAULT_S		10
/* Lines of worker stderr shown without -v, per test */
#define WORKER_LINES_MAX	40

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t env_u64(const char *name, uint64_t dflt, bool *given)
{
	const char *v = getenv(name);
	char *end;
	uint64_t x;

	if (given)
		*given = false;
	if (!v || !*v)
		return dflt;
	errno = 0;
	x = strtoull(v, &end, 0);
	if (errno || *end)
		return dflt;
	if (given)
		*given = true;
	return x;
}

uint64_t fuzz_value(struct fuzz_rng *r)
{
	static const uint64_t special[] = {
		0, 1, 2, 3, 0x7f, 0x80, 0xff, 0x100, 0xfff, 0x1000, 0xffff, 0x10000,
		0x7fffffff, 0x80000000ULL, 0xffffffffULL, 0x100000000ULL,
		0x00007ffffffff000ULL, 0x00007fffffffffffULL, 0x0000800000000000ULL,
		0xffff800000000000ULL, 0xffff7fffffffffffULL, 0xffff888000000000ULL,
		0xffffffff80000000ULL, 0xffffffff81000000ULL, 0xffffffffff600000ULL,
		0xfffffffffffff000ULL, 0x7fffffffffffffffULL, 0x8000000000000000ULL,
		~0ULL, ~0ULL - 1, 0xdeadbeefdeadbeefULL,
	};

	switch (fuzz_below(r, 8)) {
	case 0:
	case 1:
		return FUZZ_PICK(r, special);
	case 2:
		return fuzz_below(r, 512);
	case 3: {
		uint64_t p = 1ULL << fuzz_below(r, 64);

		return p + (uint64_t)(int64_t)(fuzz_below(r, 3) - 1);
	}
	case 4:
		return (uint64_t)-(int64_t)fuzz_below(r, 4096);
	case 5:	/* canonical user address */
		return fuzz_next(r) & 0x00007fffffffffffULL;
	default:
		return fuzz_next(r);
	}
}

static uint64_t hash_id(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* conformance/fuzz-corpus.list: inputs that reached new module code */
static const struct {
	const char *test;
	uint64_t s;
	uint32_t ndraws;
	const char *muts;	/* "k:x,k:x" (x hex) */
	unsigned int line;
} corpus_list[] = {
#define FUZZ_INPUT(test, s, ndraws, muts) { test, s, ndraws, muts, __LINE__ },
#include "../fuzz-corpus.list"
#undef FUZZ_INPUT
	{ NULL, 0, 0, NULL, 0 }
};

#define CORPUS_MAX	(sizeof(corpus_list) / sizeof(corpus_list[0]))
/* the corpus of the test being run (fuzz_begin; workers inherit it) */
static unsigned int corp_idx[CORPUS_MAX], ncorp;
/* in a worker: the generator of the iteration being run, its stream, and
 * the module's coverage count before it */
static struct fuzz_rng *cur_rng;
static uint64_t cur_s0;
static long cov_base = -1;

/* Corpus entry @i into @r (no draws yet); false if its mutations do not parse. */
static bool corpus_input(unsigned int i, struct fuzz_rng *r)
{
	const char *p = corpus_list[i].muts;

	memset(r, 0, sizeof(*r));
	r->s = corpus_list[i].s;
	while (p && *p) {
		unsigned long long k, x;
		int used = 0;

		if (r->nmut >= FUZZ_MAX_MUT || sscanf(p, "%llu:%llx%n", &k, &x, &used) != 2 || !used)
			return false;
		r->mut[r->nmut].k = (uint32_t)k;
		r->mut[r->nmut].x = x;
		r->nmut++;
		p += used;
		if (*p == ',')
			p++;
	}
	return true;
}

static long cov_read(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return -1;
	buf[n] = '\0';
	return strtol(buf, NULL, 10);
}

void fuzz_rng_init(struct fuzz_rng *r, const struct fuzz *f, uint64_t iter)
{
	memset(r, 0, sizeof(*r));
	if (f->replay && ncorp) {
		corpus_input(corp_idx[iter % ncorp], r);
	} else {
		r->s = f->stream ^ (iter * 0xd1b54a32d192ed03ULL);
		(void)fuzz_next(r);
		r->n = 0;
		if (f->steer && ncorp) {
			/* the steering's own stream: the fresh input stays as it was */
			struct fuzz_rng q = { .s = f->stream ^ (iter * 0x9fb21c651e98df25ULL) ^ 0x7374656572ULL };

			if (fuzz_chance(&q, 1, 2)) {
				unsigned int c = corp_idx[fuzz_below(&q, ncorp)];
				uint64_t add = 1 + fuzz_below(&q, 3);
				uint32_t nd = corpus_list[c].ndraws ? corpus_list[c].ndraws : 64;

				corpus_input(c, r);
				while (add-- && r->nmut < FUZZ_MAX_MUT) {
					struct fuzz_mut m = { .k = (uint32_t)fuzz_below(&q, nd) };

					switch (fuzz_below(&q, 3)) {
					case 0: m.x = fuzz_next(&q); break;
					case 1: m.x = 1ULL << fuzz_below(&q, 64); break;
					default: m.x = fuzz_below(&q, 255) + 1; break;
					}
					r->mut[r->nmut++] = m;
				}
			}
		}
	}
	cur_rng = r;
	cur_s0 = r->s;
	if (f->cov_fd >= 0)
		cov_base = cov_read(f->cov_fd);
}

/* After an iteration: did it reach module code none before it did? */
static void corpus_check(struct fuzz *f)
{
	struct fuzz_shared *sh = f->sh;
	char line[512];
	size_t o;
	long c;

	if (f->cov_fd < 0 || !cur_rng)
		return;
	c = cov_read(f->cov_fd);
	if (c < 0 || cov_base < 0) {
		sh->cov_unreadable = 1;
		return;
	}
	if (c <= cov_base)
		return;
	cov_base = c;
	o = (size_t)snprintf(line, sizeof(line), "FUZZ_INPUT(\"%s\", %#" PRIx64 ", %u, \"", f->id,
			     cur_s0, cur_rng->n);
	for (uint32_t i = 0; i < cur_rng->nmut && o < sizeof(line); i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%s%u:%" PRIx64, i ? "," : "",
				      cur_rng->mut[i].k, cur_rng->mut[i].x);
	if (o < sizeof(line))
		o += (size_t)snprintf(line + o, sizeof(line) - o, "\")\n");
	if (o >= sizeof(line) || sh->newc_n >= NEWC_MAX || sh->newc_len + o >= sizeof(sh->newc)) {
		sh->newc_dropped++;
		return;
	}
	memcpy(sh->newc + sh->newc_len, line, o);
	sh->newc_len += o;
	sh->newc[sh->newc_len] = '\0';
	sh->newc_n++;
}

/* Position /dev/kmsg at its end: fuzz_end() reads what comes after. */
static int kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* conformance/fuzz-seeds.list: the seeds of the tests when none is given */
static const struct {
	uint64_t seed;
	const char *tests;	/* a glob of test IDs */
	uint64_t iters;		/* 0: the test's own count */
	unsigned int line;
} seed_list[] = {
#define FUZZ_SEED(seed, tests, iters) { seed, tests, iters, __LINE__ },
#include "../fuzz-seeds.list"
#undef FUZZ_SEED
};

/* The @nth (from 0) entry of the seed list whose glob matches @id. */
static bool list_seed(const char *id, unsigned int nth, uint64_t *seed, uint64_t *iters,
		      unsigned int *line)
{
	unsigned int found = 0;

	for (size_t i = 0; i < sizeof(seed_list) / sizeof(seed_list[0]); i++) {
		if (fnmatch(seed_list[i].tests, id, 0) || found++ != nth)
			continue;
		*seed = seed_list[i].seed;
		*iters = seed_list[i].iters;
		*line = seed_list[i].line;
		return true;
	}
	return false;
}

bool fuzz_begin(struct fuzz *f, unsigned int nth, const char *id, uint64_t default_iters,
		double budget_s, const char *const *outcome_names, unsigned int nr_outcomes)
{
	const char *sc = getenv("DUNE_FUZZ_SCALE"), *ts, *env = getenv("DUNE_FUZZ_SEED");
	uint64_t seed, list_iters = 0;
	unsigned int line = 0;
	char from[64];
	bool given;
	double it;

	bool replay = false;

	/* the test's corpus (fuzz-corpus.list) */
	ncorp = 0;
	for (unsigned int i = 0; corpus_list[i].test; i++) {
		struct fuzz_rng t;

		if (strcmp(corpus_list[i].test, id))
			continue;
		CT_ASSERT(corpus_input(i, &t), "fuzz-corpus.list line %u: bad mutations \"%s\"",
			  corpus_list[i].line, corpus_list[i].muts);
		corp_idx[ncorp++] = i;
	}
	if (env && *env) {
		char *end;

		/* one run with the seed given, then the corpus run */
		if (nth > 1 || (nth == 1 && !ncorp))
			return false;
		replay = nth == 1;
		errno = 0;
		seed = strtoull(env, &end, 0);
		CT_ASSERT(!errno && *end == '\0' && env[0] != '-',
			  "DUNE_FUZZ_SEED='%s' is not a 64-bit number", env);
		snprintf(from, sizeof(from), "given");
	} else {
		if (!list_seed(id, nth, &seed, &list_iters, &line)) {
			CT_ASSERT(nth > 0, "%s: fuzz-seeds.list names no seed for this test (add a line '0x... %s')",
				  id, id);
			/* the run after the last seed: the corpus run */
			if (!ncorp || !list_seed(id, nth - 1, &seed, &list_iters, &line))
				return false;
			replay = true;
		}
		snprintf(from, sizeof(from), "fuzz-seeds.list line %u", line);
	}
	if (replay) {
		seed = 0;
		list_iters = 0;
		snprintf(from, sizeof(from), "corpus run: the %u inputs of fuzz-corpus.list", ncorp);
	}
	memset(f, 0, sizeof(*f));
	f->replay = replay;
	f->cov_fd = -1;
	if (getenv("DUNE_FUZZ_STEER") && !strcmp(getenv("DUNE_FUZZ_STEER"), "1")) {
		f->steer = true;
		f->cov_fd = open("/sys/kernel/debug/dune_coverage/count", O_RDONLY | O_CLOEXEC);
		if (f->cov_fd < 0)
			printf("%s: DUNE_FUZZ_STEER=1 without coverage feedback (no dune_coverage/count: "
			       "not the coverage build of dune.ko)\n", id);
	}
	f->id = id;
	f->outcome_names = outcome_names;
	f->nr_outcomes = nr_outcomes < FUZZ_MAX_OUTCOMES ? nr_outcomes : FUZZ_MAX_OUTCOMES;
	f->scale = sc && *sc ? atof(sc) : 1.0;
	if (!(f->scale > 0))
		f->scale = 1.0;
	it = (double)(list_iters ? list_iters : default_iters) * f->scale;
	f->iters = it < 1 ? 1 : (uint64_t)(it + 0.5);
	if (replay)
		f->iters = ncorp;
	/* a shorter run from the list gets its share of the budget */
	if (list_iters && list_iters < default_iters)
		budget_s = budget_s * (double)list_iters / (double)default_iters;
	f->budget = budget_s * (f->scale > 1 ? f->scale : 1);
	/* dune-conform -T scales the test's limit: the budget keeps its share */
	ts = getenv("DUNE_CONFORM_TIMEOUT_SCALE");
	if (ts && atof(ts) > 1)
		f->budget *= atof(ts);
	f->seed = seed;
	f->stream = f->seed ^ hash_id(id);
	f->only = env_u64("DUNE_FUZZ_ITER", UINT64_MAX, &given);
	f->verbose = given;
	f->sh = mmap(NULL, sizeof(*f->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CT_ASSERT(f->sh != MAP_FAILED, "mmap shared page: %s", strerror(errno));
	memset(f->sh, 0, sizeof(*f->sh));
	f->kmsg_fd = kmsg_open();
	if (replay)
		printf("%s: %s, %" PRIu64 " iterations; it follows every run of the test (input N alone: "
		       "DUNE_FUZZ_ITER=N)\n", id, from, f->iters);
	else
		printf("%s: seed %#" PRIx64 " (%s), %" PRIu64 " iterations (scale %g); rerun with DUNE_FUZZ_SEED=%#" PRIx64
		       " (one iteration: DUNE_FUZZ_ITER=N)\n", id, f->seed, from, f->iters, f->scale, f->seed);
	if (f->kmsg_fd < 0)
		printf("%s: cannot read /dev/kmsg (%s): the kernel-log check is off%s\n", id,
		       strerror(errno), geteuid() ? " (not root)" : "");
	fflush(stdout);
	f->t0 = now();
	return true;
}

/* ------------------------------------------------------------ worker side */

static void note_v(struct fuzz *f, bool append, const char *fmt, va_list ap)
{
	struct fuzz_shared *sh = f->sh;
	size_t off = append ? sh->note_len : 0;
	int n;

	if (off >= sizeof(sh->note) - 1)
		return;
	n = vsnprintf(sh->note + off, sizeof(sh->note) - off, fmt, ap);
	if (n < 0)
		n = 0;
	off += (size_t)n;
	sh->note_len = off < sizeof(sh->note) ? off : sizeof(sh->note) - 1;
}

void fuzz_note(struct fuzz *f, uint64_t iter, const char *fmt, ...)
{
	va_list ap;

	f->sh->cur = iter;
	va_start(ap, fmt);
	note_v(f, false, fmt, ap);
	va_end(ap);
	__atomic_add_fetch(&f->sh->progress, 1, __ATOMIC_RELEASE);
}

void fuzz_note_more(struct fuzz *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_v(f, true, fmt, ap);
	va_end(ap);
}

void fuzz_done(struct fuzz *f, uint64_t iter, unsigned int outcome)
{
	struct fuzz_shared *sh = f->sh;

	if (outcome < FUZZ_MAX_OUTCOMES)
		sh->outcomes[outcome]++;
	corpus_check(f);
	if (f->verbose) {
		printf("iteration %" PRIu64 ": %s -> %s\n", iter, sh->note,
		       outcome < f->nr_outcomes ? f->outcome_names[outcome] : "?");
		fflush(stdout);
	}
	sh->next = iter + 1;
	__atomic_add_fetch(&sh->progress, 1, __ATOMIC_RELEASE);
}

void fuzz_fail(struct fuzz *f, uint64_t iter, const char *fmt, ...)
{
	struct fuzz_shared *sh = f->sh;
	va_list ap;

	/* the first failure is the one to report: exiting may run into more */
	if (__atomic_load_n(&sh->failed, __ATOMIC_ACQUIRE)) {
		size_t n = strlen(sh->fail);

		if (n + 16 < sizeof(sh->fail)) {
			memcpy(sh->fail + n, "; then: ", 9);
			va_start(ap, fmt);
			vsnprintf(sh->fail + n + 8, sizeof(sh->fail) - n - 8, fmt, ap);
			va_end(ap);
		}
		fflush(NULL);
		_exit(1);
	}
	sh->cur = iter;
	va_start(ap, fmt);
	vsnprintf(sh->fail, sizeof(sh->fail), fmt, ap);
	va_end(ap);
	__atomic_store_n(&sh->failed, 1, __ATOMIC_RELEASE);
	fflush(NULL);
	_exit(1);
}

static volatile unsigned long ticks;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

void fuzz_start_ticker(void)
{
	struct sigaction sa;
	struct itimerval it;
	uint64_t ms = env_u64("DUNE_FUZZ_RUN_MS", 20, NULL);

	if (!ms)
		ms = 20;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	it.it_interval.tv_sec = (time_t)(ms / 1000);
	it.it_interval.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	it.it_value = it.it_interval;
	setitimer(ITIMER_REAL, &it, NULL);
}

unsigned long fuzz_ticks(void)
{
	return ticks;
}

int fuzz_drop_root(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return -errno;
	return 0;
}

void fuzz_hex(char *buf, size_t size, const uint8_t *p, size_t n)
{
	size_t o = 0;

	if (!size)
		return;
	buf[0] = '\0';
	for (size_t i = 0; i < n && o + 3 < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%02x", p[i]);
}

/* ------------------------------------------------------------ test side */

struct tail {
	char buf[2048];
	size_t len;
	char line[512];
	size_t line_len;
	unsigned int shown;
};

static void tail_add(struct fuzz *f, struct tail *t, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = p[i];

		if (t->len == sizeof(t->buf) - 1) {
			memmove(t->buf, t->buf + 1024, t->len - 1024);
			t->len -= 1024;
		}
		t->buf[t->len++] = c;
		t->buf[t->len] = '\0';
		if (c != '\n' && t->line_len < sizeof(t->line) - 1) {
			t->line[t->line_len++] = c;
			continue;
		}
		if (c != '\n')
			continue;
		t->line[t->line_len] = '\0';
		if (f->verbose || t->shown < WORKER_LINES_MAX)
			printf("worker: %s\n", t->line);
		else if (t->shown == WORKER_LINES_MAX)
			printf("worker: (more stderr lines not shown)\n");
		t->shown++;
		t->line_len = 0;
	}
}

static void drain(struct fuzz *f, int fd, struct tail *t)
{
	char buf[1024];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		tail_add(f, t, buf, (size_t)n);
}

static const char *outcome_name(const struct fuzz *f, unsigned int i)
{
	return i < f->nr_outcomes && f->outcome_names[i] ? f->outcome_names[i] : "?";
}

/* Wait for @pid, at most @secs; 0 if reaped (status in *st). */
static int wait_for(pid_t pid, int *st, double secs)
{
	double t0 = now();

	while (waitpid(pid, st, WNOHANG) == 0) {
		if (now() - t0 > secs)
			return -1;
		usleep(10000);
	}
	return 0;
}

uint64_t fuzz_run(struct fuzz *f, uint64_t batch, fuzz_worker_fn fn, void *arg,
		  fuzz_death_fn death)
{
	struct fuzz_shared *sh = f->sh;
	double stall = (double)env_u64("DUNE_FUZZ_STALL_S", STALL_DEFAULT_S, NULL);
	uint64_t end_all = f->iters, ran;
	struct tail tail;

	if (!batch)
		batch = 1;
	memset(&tail, 0, sizeof(tail));
	sh->next = 0;
	if (f->only != UINT64_MAX) {
		sh->next = f->only / batch * batch;
		end_all = f->only + 1;
		printf("%s: replaying iterations %" PRIu64 "..%" PRIu64 " (batch of %" PRIu64 ")\n",
		       f->id, sh->next, f->only, batch);
	}
	ran = sh->next;
	while (sh->next < end_all) {
		uint64_t first = sh->next, bend = (first / batch + 1) * batch, progress;
		double last;
		int pfd[2], st = 0;
		pid_t pid;

		if (f->only == UINT64_MAX && now() - f->t0 > f->budget) {
			printf("%s: time budget (%.0f s) used up after %" PRIu64 " of %" PRIu64
			       " iterations: stopping here\n", f->id, f->budget, first, f->iters);
			end_all = first;
			break;
		}
		if (bend > end_all)
			bend = end_all;
		CT_ASSERT(pipe2(pfd, O_CLOEXEC) == 0, "pipe: %s", strerror(errno));
		fflush(NULL);
		sh->cur = first;
		sh->note[0] = '\0';
		sh->note_len = 0;
		pid = fork();
		CT_ASSERT(pid >= 0, "fork: %s", strerror(errno));
		if (pid == 0) {
			close(pfd[0]);
			dup2(pfd[1], STDERR_FILENO);
			close(pfd[1]);
			fn(f, first, bend, arg);
			fflush(NULL);
			_exit(0);
		}
		f->workers++;
		close(pfd[1]);
		fcntl(pfd[0], F_SETFL, O_NONBLOCK);
		progress = sh->progress;
		last = now();
		for (;;) {
			struct pollfd p = { .fd = pfd[0], .events = POLLIN };

			poll(&p, 1, 100);
			drain(f, pfd[0], &tail);
			if (waitpid(pid, &st, WNOHANG) == pid)
				break;
			if (sh->progress != progress) {
				progress = sh->progress;
				last = now();
			} else if (now() - last > stall) {
				kill(pid, SIGKILL);
				if (wait_for(pid, &st, 30))
					printf("%s: worker %d did not die after SIGKILL (stuck in the kernel?)\n",
					       f->id, (int)pid);
				drain(f, pfd[0], &tail);
				close(pfd[0]);
				CT_EXPECT(0, "%s: iteration %" PRIu64 " hangs: no progress for %.0f s "
					  "(seed %#" PRIx64 "): %s", f->id, sh->cur, stall, f->seed,
					  sh->note);
				return sh->next;
			}
		}
		drain(f, pfd[0], &tail);
		close(pfd[0]);
		if (sh->failed) {
			CT_EXPECT(0, "%s: iteration %" PRIu64 " (seed %#" PRIx64 "): %s; the iteration: %s",
				  f->id, sh->cur, f->seed, sh->fail, sh->note);
			return sh->next;
		}
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			if (sh->next < first || sh->next > bend) {
				CT_EXPECT(0, "%s: worker left the iteration counter at %" PRIu64
					  " (batch %" PRIu64 "..%" PRIu64 ")", f->id, sh->next, first, bend);
				return sh->next;
			}
			if (sh->next == first) {
				/* a worker that does nothing would loop forever */
				CT_EXPECT(0, "%s: a worker ran no iteration of %" PRIu64 "..%" PRIu64,
					  f->id, first, bend);
				return sh->next;
			}
			continue;
		}
		{
			int idx = death ? death(f, sh->cur, st, tail.buf, arg) : -1;
			char how[64];

			if (WIFSIGNALED(st))
				snprintf(how, sizeof(how), "killed by signal %d (%s)", WTERMSIG(st),
					 strsignal(WTERMSIG(st)));
			else
				snprintf(how, sizeof(how), "exit status %d", WEXITSTATUS(st));
			if (idx < 0 || idx >= FUZZ_MAX_OUTCOMES) {
				CT_EXPECT(0, "%s: the worker died in iteration %" PRIu64 " (%s; seed %#" PRIx64
					  "): %s; its last stderr: %s", f->id, sh->cur, how, f->seed,
					  sh->note, tail.buf);
				return sh->next;
			}
			f->deaths++;
			sh->outcomes[idx]++;
			if (f->verbose)
				printf("iteration %" PRIu64 ": %s -> worker %s: %s\n", sh->cur, sh->note,
				       how, outcome_name(f, (unsigned int)idx));
			sh->next = sh->cur + 1;
			tail.len = 0;
			tail.buf[0] = '\0';
		}
	}
	(void)ran;
	return sh->next;
}

/* Kernel-log lines that mean the host kernel is not healthy. */
static const char *const bad_kmsg[] = {
	"Oops", "BUG:", "WARNING:", "soft lockup", "hard LOCKUP", "general protection",
	"Kernel panic", "unable to handle", "Call Trace", "detected stall", "double fault",
	"invalid opcode:", "stack guard page", "stack-protector", "list_add corruption",
	"list_del corruption", "refcount_t:", "UBSAN:", "KASAN:",
};

void fuzz_end(struct fuzz *f)
{
	struct fuzz_shared *sh = f->sh;
	char line[1100], rec[8192];
	unsigned long records = 0, bad = 0, dune = 0, lost = 0;
	uint64_t total = 0;
	size_t o = 0;

	for (unsigned int i = 0; i < f->nr_outcomes; i++)
		total += sh->outcomes[i];
	o += (size_t)snprintf(line + o, sizeof(line) - o, "%s: %" PRIu64 " iterations in %.1f s (%" PRIu64
			      " workers, %" PRIu64 " accepted deaths):", f->id, total, now() - f->t0,
			      f->workers, f->deaths);
	for (unsigned int i = 0; i < f->nr_outcomes && o < sizeof(line); i++)
		if (sh->outcomes[i])
			o += (size_t)snprintf(line + o, sizeof(line) - o, " %s %" PRIu64,
					      outcome_name(f, i), sh->outcomes[i]);
	printf("%s\n", line);
	if (f->steer)
		printf("%s: steered by coverage: %u corpus inputs to mutate, %u new inputs reached new "
		       "module code%s%s\n", f->id, ncorp, sh->newc_n + sh->newc_dropped,
		       sh->newc_dropped ? " (kept the first of them)" : "",
		       f->cov_fd < 0 ? " (no coverage feedback)" :
		       sh->cov_unreadable ? " (dune_coverage/count unreadable: no feedback)" : "");
	for (char *p = sh->newc, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		printf("%s: new corpus input: %.*s\n", f->id, (int)(nl - p), p);
	}
	if (f->cov_fd >= 0)
		close(f->cov_fd);
	f->cov_fd = -1;

	if (f->kmsg_fd >= 0) {
		for (;;) {
			ssize_t n = read(f->kmsg_fd, rec, sizeof(rec) - 1);

			if (n < 0 && errno == EPIPE) {
				lost++;	/* overwritten before we read it */
				continue;
			}
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			rec[n] = '\0';
			records++;
			if (strstr(rec, ";dune"))
				dune++;
			for (size_t i = 0; i < sizeof(bad_kmsg) / sizeof(bad_kmsg[0]); i++) {
				if (strstr(rec, bad_kmsg[i])) {
					char *msg = strchr(rec, ';');

					msg = msg ? msg + 1 : rec;
					msg[strcspn(msg, "\n")] = '\0';
					if (++bad <= 5)
						CT_EXPECT(0, "%s: the kernel log says \"%.300s\" (seed %#" PRIx64 ")",
							  f->id, msg, f->seed);
					break;
				}
			}
		}
		printf("%s: kernel log: %lu new records (%lu from the module), %lu unhealthy%s\n",
		       f->id, records, dune, bad, lost ? " (some records were overwritten before read)" : "");
		close(f->kmsg_fd);
		f->kmsg_fd = -1;
	} else {
		CT_EXPECT(geteuid() != 0, "%s: running as root but /dev/kmsg is not readable", f->id);
	}
	fflush(stdout);
	munmap(f->sh, sizeof(*f->sh));	/* the next seed's fuzz_begin maps its own */
	f->sh = NULL;
}

/* ------------------------------------------------------------ module check */

ABI_GUEST(fz_ok, "mov $60, %eax\n mov $5, %edi\n vmcall\n fz_ok_again: mov $60, %eax\n mov $6, %edi\n vmcall\n ud2\n");
ABI_GUEST_LABEL(fz_ok_again);

void fuzz_check_module(void)
{
	struct abi_vm vm;
	struct dune_config c;
	uint64_t handle;
	int r;

	abi_vm_setup(&vm);
	abi_conf(&vm, &c, fz_ok);
	r = abi_enter(&vm, &c);
	CT_EXPECT(r == 0 && c.ret == DUNE_RET_EXIT && c.status == 5,
		  "after the fuzzing a new vCPU does not run exit(5): ioctl %d (%s) ret %lld (%s) status %lld",
		  r, r ? strerror(-r) : "ok", (long long)c.ret, abi_ret_name(c.ret), (long long)c.status);
	if (r == 0 && c.ret == DUNE_RET_EXIT) {
		handle = c.vcpu;
		r = abi_enter(&vm, &c);	/* re-enter after the VMCALL: exit(6) */
		CT_EXPECT(r == 0 && c.ret == DUNE_RET_EXIT && c.status == 6 && c.vcpu == handle,
			  "after the fuzzing re-entering a vCPU fails: ioctl %d (%s) ret %lld (%s) status %lld",
			  r, r ? strerror(-r) : "ok", (long long)c.ret, abi_ret_name(c.ret),
			  (long long)c.status);
	}
	close(vm.fd);
	printf("module check: a new vCPU ran and re-entered after the fuzzing\n");
}

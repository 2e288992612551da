/* SPDX-License-Identifier: MIT */
/*
 * mcf-like - solve a generated vehicle-scheduling instance by the network
 * simplex, as SPEC's mcf does, and print the fleet, the cost and a checksum
 * of the optimal flow.  The instance, and so every line printed, depends
 * only on the options.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mcf.h"
#include "vsched.h"

static const struct {
	const char *name;
	long trips, succ;
	const char *what;
} presets[] = {
	{ "small", 1000, 16, "about 2 MB: the VMX lab's size" },
	{ "200m", 40000, 70, "about 200 MB" },
	{ "1.5g", 40000, 600, "about 1.5 GB" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mcf-like [--preset NAME] [--trips N] [--succ N] [--seed N] [--time]\n"
		"\n"
		"Builds a vehicle-scheduling instance (N timetabled trips, up to --succ\n"
		"deadhead arcs from each trip to later ones it can reach in time), solves the\n"
		"minimum-cost flow with the network simplex and prints the number of\n"
		"vehicles, the total cost, the pivots and a checksum of the optimal flow,\n"
		"then checks the solution (conservation, reduced costs) and exits 0 only if\n"
		"it is optimal.  Node 104 bytes, arc 64 bytes: the working set is about\n"
		"trips x (succ + 3) x 64 bytes.\n"
		"\n"
		"  --preset NAME  small (the default), 200m or 1.5g; --trips/--succ override\n"
		"  --trips N      timetabled trips (1 .. 10000000)\n"
		"  --succ N       successors per trip (1 .. 10000)\n"
		"  --seed N       the generator's seed (default 1)\n"
		"  --time         also print the solve time to stderr\n"
		"\n"
		"presets:\n");
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		fprintf(f, "  %-6s --trips %ld --succ %ld  (%s)\n", presets[i].name,
			presets[i].trips, presets[i].succ, presets[i].what);
}

static int number(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "mcf-like: %s %s: expected an integer in %ld .. %ld\n", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static uint64_t fnv(uint64_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (v >> (8 * i)) & 0xff;
		h *= 0x100000001b3ULL;
	}
	return h;
}

int main(int argc, char **argv)
{
	struct vsched vs = { .trips = presets[0].trips, .succ = presets[0].succ, .seed = 1 };
	long trips = -1, succ = -1, seed = 1, n, m;
	struct timespec t0, t1;
	struct mcf_net net;
	enum mcf_status st;
	const char *bad;
	int timing = 0;
	uint64_t sum;
	double bytes;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--time")) {
			timing = 1;
		} else if (!strcmp(a, "--preset") || !strcmp(a, "--trips") || !strcmp(a, "--succ") ||
			   !strcmp(a, "--seed")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "mcf-like: %s needs a value\n", a);
				return 2;
			}
			const char *v = argv[++i];

			if (!strcmp(a, "--preset")) {
				size_t k;

				for (k = 0; k < sizeof(presets) / sizeof(presets[0]); k++)
					if (!strcmp(v, presets[k].name))
						break;
				if (k == sizeof(presets) / sizeof(presets[0])) {
					fprintf(stderr, "mcf-like: --preset %s: expected small, 200m or 1.5g\n", v);
					return 2;
				}
				vs.trips = presets[k].trips;
				vs.succ = presets[k].succ;
			} else if (!strcmp(a, "--trips") ? number(a, v, 1, 10000000, &trips) :
				   !strcmp(a, "--succ") ? number(a, v, 1, 10000, &succ) :
				   number(a, v, 0, 0x7fffffffffffffffL, &seed)) {
				return 2;
			}
		} else {
			fprintf(stderr, "mcf-like: unknown argument '%s' (--help lists the options)\n", a);
			return 2;
		}
	}
	if (trips > 0)
		vs.trips = trips;
	if (succ > 0)
		vs.succ = succ;
	vs.seed = (unsigned long long)seed;
	vsched_size(&vs, &n, &m, &bytes);
	printf("mcf-like: trips %ld, successors %ld, seed %ld\n", vs.trips, vs.succ, seed);
	printf("network: %ld nodes, at most %ld arcs, %.1f MB\n", n, m, bytes / 1e6);
	fflush(stdout);
	if (vsched_build(&vs, &net)) {
		fprintf(stderr, "mcf-like: out of memory for %.1f MB\n", bytes / 1e6);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st = mcf_solve(&net);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (timing)
		fprintf(stderr, "mcf-like: solved in %.3f s\n",
			(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	if (st != MCF_OPTIMAL) {
		printf("status: %s\n", st == MCF_INFEASIBLE ? "infeasible" : "unbounded");
		mcf_free(&net);
		return 1;
	}
	sum = 0xcbf29ce484222325ULL;
	for (long i = 0; i < net.m; i++)
		if (net.arcs[i].flow)
			sum = fnv(fnv(sum, (uint64_t)i), (uint64_t)net.arcs[i].flow);
	sum = fnv(sum, (uint64_t)mcf_cost(&net));
	printf("arcs: %ld\n", net.m);
	printf("vehicles: %ld\n", vsched_vehicles(&net));
	printf("cost: %lld\n", mcf_cost(&net));
	printf("pivots: %ld\n", net.pivots);
	printf("checksum: %016" PRIx64 "\n", sum);
	bad = mcf_verify(&net);
	if (bad) {
		printf("check: FAILED: %s\n", bad);
		mcf_free(&net);
		return 1;
	}
	printf("check: optimal (flow conserved, no negative reduced cost)\n");
	mcf_free(&net);
	return 0;
}

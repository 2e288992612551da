/* SPDX-License-Identifier: MIT */
/*
 * mcf-like: the instance.  Timetabled trips between stops on a 100 x 100
 * map, one depot in the middle.  Trip i is two nodes: its start (demand 1)
 * and its end (supply 1).  A vehicle leaves the depot for a start (the
 * vehicle's fixed cost plus the drive), a trip's end reaches the depot (the
 * drive home) or the start of one of the next trips it can reach in time
 * (a deadhead: the drive plus the wait).  The minimum-cost flow covers
 * every trip; the flow out of the depot is the fleet.  Everything comes
 * from one seeded generator, so an instance is the same on every machine.
 */
#include <math.h>
#include <stdlib.h>

#include "vsched.h"

#define STOPS		200
#define DEPOT_X		50.0
#define DEPOT_Y		50.0
#define DRIVE_COST	10	/* per minute of driving */
#define WAIT_COST	1	/* per minute of waiting */

struct trip {
	long id;
	long start, end;	/* minutes */
	int from, to;		/* stops */
};

static unsigned long long next_rand(unsigned long long *s)
{
	unsigned long long z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static long below(unsigned long long *s, long n)
{
	return (long)(next_rand(s) % (unsigned long long)n);
}

static long drive(double x0, double y0, double x1, double y1)
{
	return (long)ceil(hypot(x1 - x0, y1 - y0)) + 1;
}

static int by_start(const void *a, const void *b)
{
	const struct trip *p = a, *q = b;

	if (p->start != q->start)
		return p->start < q->start ? -1 : 1;
	return p->id < q->id ? -1 : p->id > q->id;
}

void vsched_size(const struct vsched *vs, long *n, long *m, double *bytes)
{
	*n = 2 * vs->trips + 1;
	*m = vs->trips * (vs->succ + 2);
	*bytes = (double)(*n + 1) * sizeof(struct mcf_node) + (double)*m * sizeof(struct mcf_arc) +
		 (double)*n * (sizeof(struct mcf_arc) + sizeof(void *));
}

int vsched_build(const struct vsched *vs, struct mcf_net *net)
{
	unsigned long long s = vs->seed;
	double sx[STOPS], sy[STOPS];
	long n, m, horizon = vs->trips / 4 + 600;
	double bytes;
	struct trip *t;

	vsched_size(vs, &n, &m, &bytes);
	t = calloc(vs->trips, sizeof(*t));
	if (!t || mcf_init(net, n, m)) {
		free(t);
		return -1;
	}
	for (int i = 0; i < STOPS; i++) {
		sx[i] = below(&s, 10000) / 100.0;
		sy[i] = below(&s, 10000) / 100.0;
	}
	for (long i = 0; i < vs->trips; i++) {
		t[i].id = i;
		t[i].from = (int)below(&s, STOPS);
		t[i].to = (int)below(&s, STOPS);
		t[i].start = below(&s, horizon);
		t[i].end = t[i].start + drive(sx[t[i].from], sy[t[i].from], sx[t[i].to], sy[t[i].to]) +
			   5 + below(&s, 26);
	}
	qsort(t, vs->trips, sizeof(*t), by_start);
	/* node 1: the depot; trip k (in start order): 2k+2 start, 2k+3 end */
	for (long k = 0; k < vs->trips; k++) {
		long a = 2 * k + 2, b = 2 * k + 3;

		mcf_set_supply(net, a, -1);
		mcf_set_supply(net, b, 1);
		mcf_add_arc(net, 1, a, VSCHED_VEHICLE_COST +
			    DRIVE_COST * drive(DEPOT_X, DEPOT_Y, sx[t[k].from], sy[t[k].from]));
		mcf_add_arc(net, b, 1, DRIVE_COST * drive(sx[t[k].to], sy[t[k].to], DEPOT_X, DEPOT_Y));
	}
	for (long k = 0; k < vs->trips; k++) {
		long lo = k + 1, hi = vs->trips, taken = 0, looked = 0;

		while (lo < hi) {	/* the first trip starting at or after k's end */
			long mid = lo + (hi - lo) / 2;

			if (t[mid].start < t[k].end)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (long j = lo; j < vs->trips && taken < vs->succ && looked < 4 * vs->succ + 64;
		     j++, looked++) {
			long d = drive(sx[t[k].to], sy[t[k].to], sx[t[j].from], sy[t[j].from]);
			long wait = t[j].start - t[k].end - d;

			if (wait < 0)
				continue;
			mcf_add_arc(net, 2 * k + 3, 2 * j + 2, DRIVE_COST * d + WAIT_COST * wait);
			taken++;
		}
	}
	free(t);
	return 0;
}

long vsched_vehicles(const struct mcf_net *net)
{
	long v = 0;

	for (const struct mcf_arc *a = net->nodes[1].firstout; a; a = a->nextout)
		v += a->flow;
	return v;
}

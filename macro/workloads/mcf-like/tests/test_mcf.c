/* SPDX-License-Identifier: MIT */
/*
 * test_mcf - the network simplex against an independent minimum-cost-flow
 * solver on small graphs: a feasible flow by augmenting paths from a super
 * source, then negative cycles of the residual graph cancelled one by one
 * (Bellman-Ford) until none is left.  Both must agree on the status and the
 * cost.  TAP on stdout.  Fixed seeds.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mcf.h"
#include "../vsched.h"

#define MAXN	128
#define MAXE	2048
#define INF	(1LL << 40)

static int tests, failures;

static void ok(int cond, const char *fmt, const char *what, long i)
{
	tests++;
	if (!cond)
		failures++;
	printf("%s %d - ", cond ? "ok" : "not ok", tests);
	printf(fmt, what, i);
	printf("\n");
}

/* ---------------------------------------------------------- the reference */

struct ref {
	int n;				/* nodes 0..n-1 */
	int ne;
	int from[MAXE], to[MAXE];
	long long cap[MAXE], flow[MAXE], cost[MAXE];
};

static int ref_edge(struct ref *r, int u, int v, long long cap, long long cost)
{
	r->from[r->ne] = u;
	r->to[r->ne] = v;
	r->cap[r->ne] = cap;
	r->cost[r->ne] = cost;
	r->flow[r->ne] = 0;
	return r->ne++;
}

/* residual capacity of edge e in direction dir (0 forward, 1 backward) */
static long long resid(const struct ref *r, int e, int dir)
{
	return dir ? r->flow[e] : r->cap[e] - r->flow[e];
}

static long long maxflow(struct ref *r, int s, int t)
{
	long long total = 0;

	for (;;) {
		int prev_e[MAXN], prev_d[MAXN], queue[MAXN], qh = 0, qt = 0;

		for (int i = 0; i < r->n; i++)
			prev_e[i] = -1;
		prev_e[s] = -2;
		queue[qt++] = s;
		while (qh < qt && prev_e[t] == -1) {
			int u = queue[qh++];

			for (int e = 0; e < r->ne; e++)
				for (int d = 0; d < 2; d++) {
					int a = d ? r->to[e] : r->from[e], b = d ? r->from[e] : r->to[e];

					if (a == u && prev_e[b] == -1 && resid(r, e, d) > 0) {
						prev_e[b] = e;
						prev_d[b] = d;
						queue[qt++] = b;
					}
				}
		}
		if (prev_e[t] == -1)
			return total;
		long long push = INF;

		for (int v = t; v != s;) {
			int e = prev_e[v], d = prev_d[v];

			if (resid(r, e, d) < push)
				push = resid(r, e, d);
			v = d ? r->to[e] : r->from[e];
		}
		for (int v = t; v != s;) {
			int e = prev_e[v], d = prev_d[v];

			r->flow[e] += d ? -push : push;
			v = d ? r->to[e] : r->from[e];
		}
		total += push;
	}
}

/* 0 optimal, 1 infeasible, 2 unbounded; *cost the cost of edges < real */
static int ref_solve(int n, int m, const int *tail, const int *head, const long long *cost,
		     const long *supply, long long *out_cost)
{
	static struct ref r;
	long long need = 0;
	int s = n, t = n + 1;

	memset(&r, 0, sizeof(r));
	r.n = n + 2;
	for (int i = 0; i < m; i++)
		ref_edge(&r, tail[i], head[i], INF, cost[i]);
	for (int v = 0; v < n; v++) {
		if (supply[v] > 0) {
			ref_edge(&r, s, v, supply[v], 0);
			need += supply[v];
		} else if (supply[v] < 0) {
			ref_edge(&r, v, t, -supply[v], 0);
		}
	}
	if (maxflow(&r, s, t) != need)
		return 1;
	/* cancel negative cycles among the real edges' residuals */
	for (;;) {
		long long dist[MAXN];
		int pe[MAXN], pd[MAXN], x = -1;

		for (int v = 0; v < n; v++) {
			dist[v] = 0;
			pe[v] = -1;
		}
		for (int it = 0; it < n; it++) {
			x = -1;
			for (int e = 0; e < m; e++)
				for (int d = 0; d < 2; d++) {
					int a = d ? r.to[e] : r.from[e], b = d ? r.from[e] : r.to[e];
					long long c = d ? -r.cost[e] : r.cost[e];

					if (resid(&r, e, d) > 0 && dist[a] + c < dist[b]) {
						dist[b] = dist[a] + c;
						pe[b] = e;
						pd[b] = d;
						x = b;
					}
				}
		}
		if (x < 0)
			break;
		for (int i = 0; i < n; i++)	/* step back onto the cycle */
			x = pd[x] ? r.to[pe[x]] : r.from[pe[x]];
		long long push = INF;
		int v = x;

		do {
			if (resid(&r, pe[v], pd[v]) < push)
				push = resid(&r, pe[v], pd[v]);
			v = pd[v] ? r.to[pe[v]] : r.from[pe[v]];
		} while (v != x);
		if (push >= INF / 2)
			return 2;
		v = x;
		do {
			r.flow[pe[v]] += pd[v] ? -push : push;
			v = pd[v] ? r.to[pe[v]] : r.from[pe[v]];
		} while (v != x);
	}
	*out_cost = 0;
	for (int e = 0; e < m; e++)
		*out_cost += r.flow[e] * r.cost[e];
	return 0;
}

/* ---------------------------------------------------------- the tests */

static unsigned long long rng = 12345;

static long rnd(long n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (long)((rng >> 33) % (unsigned long long)n);
}

/* a cycle of negative cost among the (uncapacitated) arcs */
static int neg_cycle(int n, int m, const int *tail, const int *head, const long long *cost)
{
	long long dist[MAXN] = { 0 };
	int changed = 0;

	for (int it = 0; it <= n; it++) {
		changed = 0;
		for (int i = 0; i < m; i++)
			if (dist[tail[i]] + cost[i] < dist[head[i]]) {
				dist[head[i]] = dist[tail[i]] + cost[i];
				changed = 1;
			}
	}
	return changed;
}

/* solve one instance both ways; 0 if they agree.  An instance both
 * infeasible and with a negative cycle has no optimum either way: the
 * simplex may call it either. */
static int compare(int n, int m, const int *tail, const int *head, const long long *cost,
		   const long *supply, char *why, size_t len)
{
	struct mcf_net net;
	long long rc = 0;
	int want, got;
	const char *bad;

	want = ref_solve(n, m, tail, head, cost, supply, &rc);
	if (mcf_init(&net, n, m)) {
		snprintf(why, len, "mcf_init failed");
		return -1;
	}
	for (int v = 0; v < n; v++)
		mcf_set_supply(&net, v + 1, supply[v]);
	for (int i = 0; i < m; i++)
		mcf_add_arc(&net, tail[i] + 1, head[i] + 1, cost[i]);
	got = (int)mcf_solve(&net);
	if (got == MCF_UNBOUNDED && want == 1 && neg_cycle(n, m, tail, head, cost))
		want = got;
	if (got != want) {
		snprintf(why, len, "status %d, the reference says %d", got, want);
		mcf_free(&net);
		return -1;
	}
	if (got == MCF_OPTIMAL) {
		if (mcf_cost(&net) != rc) {
			snprintf(why, len, "cost %lld, the reference says %lld", mcf_cost(&net), rc);
			mcf_free(&net);
			return -1;
		}
		bad = mcf_verify(&net);
		if (bad) {
			snprintf(why, len, "verify: %s", bad);
			mcf_free(&net);
			return -1;
		}
	}
	mcf_free(&net);
	return 0;
}

int main(void)
{
	static int tail[MAXE], head[MAXE];
	static long long cost[MAXE];
	static long supply[MAXN];
	char why[200] = "";
	int counts[3] = { 0, 0, 0 }, bad = 0;

	printf("TAP version 13\n");

	/* a worked example: 2 units from node 0 to node 3, paths 0-1-3 (cost
	 * 2+3) and 0-2-3 (cost 4+4), the cheap one shared: 10 */
	{
		int t[] = { 0, 1, 0, 2 }, h[] = { 1, 3, 2, 3 };
		long long c[] = { 2, 3, 4, 4 };
		long s[] = { 2, 0, 0, -2 };
		struct mcf_net net;

		mcf_init(&net, 4, 4);
		for (int v = 0; v < 4; v++)
			mcf_set_supply(&net, v + 1, s[v]);
		for (int i = 0; i < 4; i++)
			mcf_add_arc(&net, t[i] + 1, h[i] + 1, c[i]);
		ok(mcf_solve(&net) == MCF_OPTIMAL && mcf_cost(&net) == 10 && !mcf_verify(&net),
		   "%s: worked example costs 10%.0ld", "mcf", 0);
		mcf_free(&net);
	}
	/* supplies that do not sum to zero, and a demand nobody can reach */
	{
		struct mcf_net net;

		mcf_init(&net, 2, 1);
		mcf_set_supply(&net, 1, 1);
		ok(mcf_solve(&net) == MCF_INFEASIBLE, "%s: unbalanced supplies are infeasible%.0ld",
		   "mcf", 0);
		mcf_free(&net);
		mcf_init(&net, 2, 1);
		mcf_set_supply(&net, 1, 1);
		mcf_set_supply(&net, 2, -1);
		mcf_add_arc(&net, 2, 1, 1);
		ok(mcf_solve(&net) == MCF_INFEASIBLE, "%s: an unreachable demand is infeasible%.0ld",
		   "mcf", 0);
		mcf_free(&net);
	}
	/* a negative cycle without bound */
	{
		struct mcf_net net;

		mcf_init(&net, 2, 2);
		mcf_add_arc(&net, 1, 2, 1);
		mcf_add_arc(&net, 2, 1, -3);
		ok(mcf_solve(&net) == MCF_UNBOUNDED, "%s: a negative cycle is unbounded%.0ld", "mcf", 0);
		mcf_free(&net);
	}
	/* random graphs, some infeasible, some with negative cycles */
	for (int k = 0; k < 3000 && !bad; k++) {
		int n = 2 + (int)rnd(9), m = (int)rnd(4 * n + 1);
		long left = 0;

		for (int i = 0; i < m; i++) {
			tail[i] = (int)rnd(n);
			head[i] = (int)rnd(n);
			if (head[i] == tail[i])
				head[i] = (head[i] + 1) % n;
			cost[i] = rnd(k % 3 ? 30 : 40) - (k % 3 ? 0 : 6);
		}
		for (int v = 0; v < n - 1; v++) {
			supply[v] = rnd(7) - 3;
			left += supply[v];
		}
		supply[n - 1] = -left;
		if (compare(n, m, tail, head, cost, supply, why, sizeof(why))) {
			printf("# random graph %d: n %d m %d: %s\n", k, n, m, why);
			bad = 1;
		}
		long long rc;

		counts[ref_solve(n, m, tail, head, cost, supply, &rc)]++;
	}
	printf("# random graphs: %d optimal, %d infeasible, %d unbounded\n", counts[0], counts[1],
	       counts[2]);
	ok(!bad && counts[0] > 500 && counts[1] > 100 && counts[2] > 100,
	   "%s: 3000 random graphs agree with cycle cancelling (all three outcomes seen)%.0ld",
	   "mcf", 0);

	/* vehicle-scheduling instances, small enough for the reference */
	bad = 0;
	for (long trips = 2; trips <= 40 && !bad; trips += 3)
		for (long succ = 1; succ <= 6 && !bad; succ += 2) {
			struct vsched vs = { .trips = trips, .succ = succ, .seed = (unsigned long long)trips };
			struct mcf_net net;
			int n;

			if (vsched_build(&vs, &net)) {
				bad = 1;
				break;
			}
			n = (int)net.n;
			for (int v = 0; v < n; v++)
				supply[v] = net.nodes[v + 1].supply;
			for (long i = 0; i < net.m; i++) {
				tail[i] = net.arcs[i].tail->number - 1;
				head[i] = net.arcs[i].head->number - 1;
				cost[i] = net.arcs[i].cost;
			}
			int m = (int)net.m;

			if (mcf_solve(&net) != MCF_OPTIMAL || vsched_vehicles(&net) < 1 ||
			    vsched_vehicles(&net) > trips) {
				printf("# trips %ld succ %ld: not optimal or a fleet out of range\n", trips, succ);
				bad = 1;
			}
			mcf_free(&net);
			if (!bad && compare(n, m, tail, head, cost, supply, why, sizeof(why))) {
				printf("# trips %ld succ %ld: %s\n", trips, succ, why);
				bad = 1;
			}
		}
	ok(!bad, "%s: vehicle-scheduling instances (2..38 trips) agree with cycle cancelling%.0ld",
	   "mcf", 0);

	/* a mistake must be seen: a wrong flow fails the verification */
	{
		struct vsched vs = { .trips = 30, .succ = 4, .seed = 7 };
		struct mcf_net net;

		vsched_build(&vs, &net);
		mcf_solve(&net);
		ok(!mcf_verify(&net), "%s: the solved instance verifies%.0ld", "mcf", 0);
		for (long i = 0; i < net.m; i++)
			if (net.arcs[i].flow) {
				net.arcs[i].flow++;
				break;
			}
		ok(mcf_verify(&net) != NULL, "%s: an extra unit of flow fails the verification%.0ld",
		   "mcf", 0);
		mcf_free(&net);
	}
	printf("1..%d\n", tests);
	return failures ? 1 : 0;
}

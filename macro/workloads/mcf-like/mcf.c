/* SPDX-License-Identifier: MIT */
/*
 * mcf-like: the primal network simplex.
 *
 * The basis is a spanning tree rooted at an artificial node (nodes[0]),
 * which starts as a star of artificial arcs carrying every node's supply or
 * demand.  Potentials satisfy pi(head) = pi(tail) + cost on every tree arc;
 * an arc's reduced cost is cost + pi(tail) - pi(head).  Each pivot takes the
 * most negative reduced cost in the first block of arcs (from a rotating
 * cursor) that has one, pushes flow around the cycle it closes with the
 * tree, drops the blocking tree arc and hangs the cut-off subtree from the
 * entering arc, re-rooting it along the path between the two.
 *
 * Degenerate pivots are kept from cycling by keeping the tree strongly
 * feasible: among blocking arcs the last one met on the cycle, walking in
 * the direction of the flow from the apex (the join of the two tree paths).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "mcf.h"

int mcf_init(struct mcf_net *net, long n, long m_max)
{
	memset(net, 0, sizeof(*net));
	if (n < 1 || m_max < 0)
		return -1;
	net->n = n;
	net->m_max = m_max;
	net->nodes = calloc(n + 1, sizeof(*net->nodes));
	net->arcs = calloc(m_max ? m_max : 1, sizeof(*net->arcs));
	net->art = calloc(n, sizeof(*net->art));
	net->path = calloc(n + 1, sizeof(*net->path));
	if (!net->nodes || !net->arcs || !net->art || !net->path) {
		mcf_free(net);
		return -1;
	}
	for (long i = 0; i <= n; i++)
		net->nodes[i].number = (int)i;
	return 0;
}

void mcf_free(struct mcf_net *net)
{
	free(net->nodes);
	free(net->arcs);
	free(net->art);
	free(net->path);
	memset(net, 0, sizeof(*net));
}

void mcf_set_supply(struct mcf_net *net, long node, long supply)
{
	net->nodes[node].supply = supply;
}

long mcf_add_arc(struct mcf_net *net, long tail, long head, cost_t cost)
{
	struct mcf_arc *a;

	if (net->m >= net->m_max || tail < 1 || tail > net->n || head < 1 || head > net->n)
		return -1;
	a = &net->arcs[net->m];
	a->tail = &net->nodes[tail];
	a->head = &net->nodes[head];
	a->cost = cost;
	a->nextout = a->tail->firstout;
	a->tail->firstout = a;
	a->nextin = a->head->firstin;
	a->head->firstin = a;
	return net->m++;
}

static void unlink_child(struct mcf_node *w)
{
	if (w->sibling_prev)
		w->sibling_prev->sibling = w->sibling;
	else
		w->pred->child = w->sibling;
	if (w->sibling)
		w->sibling->sibling_prev = w->sibling_prev;
	w->sibling = w->sibling_prev = NULL;
}

static void link_child(struct mcf_node *w, struct mcf_node *parent)
{
	w->pred = parent;
	w->sibling_prev = NULL;
	w->sibling = parent->child;
	if (parent->child)
		parent->child->sibling_prev = w;
	parent->child = w;
}

static void start_tree(struct mcf_net *net)
{
	struct mcf_node *root = &net->nodes[0];
	cost_t maxc = 0;

	for (long i = 0; i < net->m; i++) {
		cost_t c = net->arcs[i].cost < 0 ? -net->arcs[i].cost : net->arcs[i].cost;

		if (c > maxc)
			maxc = c;
		net->arcs[i].flow = 0;
		net->arcs[i].ident = MCF_AT_LOWER;
	}
	/* dearer than any path of real arcs */
	net->art_cost = (maxc + 1) * (net->n + 1);
	memset(root, 0, sizeof(*root));
	for (long v = 1; v <= net->n; v++) {
		struct mcf_node *w = &net->nodes[v];
		struct mcf_arc *a = &net->art[v - 1];

		memset(a, 0, sizeof(*a));
		a->artificial = 1;
		a->ident = MCF_BASIC;
		if (w->supply >= 0) {
			a->tail = w;
			a->head = root;
			a->cost = 0;
			a->flow = w->supply;
			w->orientation = MCF_UP;
			w->potential = 0;
		} else {
			a->tail = root;
			a->head = w;
			a->cost = net->art_cost;
			a->flow = -w->supply;
			w->orientation = MCF_DOWN;
			w->potential = net->art_cost;
		}
		w->basic_arc = a;
		w->depth = 1;
		w->child = NULL;
		link_child(w, root);
	}
	net->block = 64;
	while (net->block * net->block < net->m)
		net->block *= 2;
	net->cursor = 0;
	net->pivots = 0;
}

/* the entering arc, or NULL when every reduced cost is >= 0 */
static struct mcf_arc *price(struct mcf_net *net)
{
	struct mcf_arc *best = NULL;
	cost_t best_rc = 0;
	long in_block = 0;

	for (long k = 0; k < net->m; k++) {
		struct mcf_arc *a = &net->arcs[net->cursor];

		if (++net->cursor == net->m)
			net->cursor = 0;
		if (a->ident == MCF_AT_LOWER) {
			cost_t rc = a->cost + a->tail->potential - a->head->potential;

			if (rc < best_rc) {
				best_rc = rc;
				best = a;
			}
		}
		if (++in_block == net->block) {
			if (best)
				return best;
			in_block = 0;
		}
	}
	return best;
}

static int pivot(struct mcf_net *net, struct mcf_arc *e)
{
	struct mcf_node *u = e->tail, *v = e->head, *join, *w1, *w2, *out = NULL;
	struct mcf_node *x, *y, **p = net->path;
	long delta = LONG_MAX, k;
	cost_t shift;
	int side = 0;

	for (w1 = u, w2 = v; w1 != w2;) {
		if (w1->depth > w2->depth)
			w1 = w1->pred;
		else if (w2->depth > w1->depth)
			w2 = w2->pred;
		else {
			w1 = w1->pred;
			w2 = w2->pred;
		}
	}
	join = w1;
	/* the flow goes join .. u, then e, then v .. join */
	for (w1 = u; w1 != join; w1 = w1->pred)
		if (w1->orientation == MCF_UP && w1->basic_arc->flow < delta) {
			delta = w1->basic_arc->flow;
			out = w1;
			side = 1;
		}
	for (w2 = v; w2 != join; w2 = w2->pred)
		if (w2->orientation == MCF_DOWN && w2->basic_arc->flow <= delta) {
			delta = w2->basic_arc->flow;
			out = w2;
			side = 2;
		}
	if (!out)
		return -1;		/* a cycle of negative cost without bound */
	if (delta) {
		for (w1 = u; w1 != join; w1 = w1->pred)
			w1->basic_arc->flow += w1->orientation == MCF_DOWN ? delta : -delta;
		for (w2 = v; w2 != join; w2 = w2->pred)
			w2->basic_arc->flow += w2->orientation == MCF_UP ? delta : -delta;
	}
	e->flow = delta;
	e->ident = MCF_BASIC;
	out->basic_arc->ident = MCF_AT_LOWER;

	/* hang the subtree of out from y by e, re-rooted at x */
	x = side == 1 ? u : v;
	y = side == 1 ? v : u;
	shift = (x == u ? y->potential - e->cost : y->potential + e->cost) - x->potential;
	k = 0;
	for (p[0] = x; p[k] != out; k++)
		p[k + 1] = p[k]->pred;
	for (long i = 0; i <= k; i++)
		unlink_child(p[i]);
	for (long i = k; i >= 1; i--) {
		p[i]->basic_arc = p[i - 1]->basic_arc;
		p[i]->orientation = p[i - 1]->orientation == MCF_UP ? MCF_DOWN : MCF_UP;
		link_child(p[i], p[i - 1]);
	}
	x->basic_arc = e;
	x->orientation = x == u ? MCF_UP : MCF_DOWN;
	link_child(x, y);

	x->depth = y->depth + 1;
	x->potential += shift;
	for (struct mcf_node *w = x->child; w;) {
		w->depth = w->pred->depth + 1;
		w->potential += shift;
		if (w->child) {
			w = w->child;
			continue;
		}
		while (w != x && !w->sibling)
			w = w->pred;
		if (w == x)
			break;
		w = w->sibling;
	}
	net->pivots++;
	return 0;
}

enum mcf_status mcf_solve(struct mcf_net *net)
{
	struct mcf_arc *e;
	long sum = 0;

	for (long v = 1; v <= net->n; v++)
		sum += net->nodes[v].supply;
	if (sum != 0)
		return MCF_INFEASIBLE;
	start_tree(net);
	while ((e = price(net)))
		if (pivot(net, e))
			return MCF_UNBOUNDED;
	for (long v = 0; v < net->n; v++)
		if (net->art[v].flow > 0)
			return MCF_INFEASIBLE;
	return MCF_OPTIMAL;
}

cost_t mcf_cost(const struct mcf_net *net)
{
	cost_t c = 0;

	for (long i = 0; i < net->m; i++)
		c += net->arcs[i].cost * net->arcs[i].flow;
	return c;
}

const char *mcf_verify(const struct mcf_net *net)
{
	long *bal = calloc(net->n + 1, sizeof(*bal));
	const char *bad = NULL;

	if (!bal)
		return "out of memory";
	for (long i = 0; i < net->m && !bad; i++) {
		const struct mcf_arc *a = &net->arcs[i];
		cost_t rc = a->cost + a->tail->potential - a->head->potential;

		if (a->flow < 0)
			bad = "negative flow";
		else if (a->flow > 0 && rc != 0)
			bad = "an arc with flow has a non-zero reduced cost";
		else if (rc < 0)
			bad = "an arc has a negative reduced cost";
		bal[a->tail->number] += a->flow;
		bal[a->head->number] -= a->flow;
	}
	for (long v = 1; v <= net->n && !bad; v++)
		if (bal[v] != net->nodes[v].supply)
			bad = "flow is not conserved";
	free(bal);
	return bad;
}

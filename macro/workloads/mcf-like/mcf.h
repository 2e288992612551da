/* SPDX-License-Identifier: MIT */
/*
 * mcf-like - a network-simplex minimum-cost-flow solver laid out the way
 * SPEC's mcf lays out its network: pointer-linked node and arc arrays, the
 * spanning tree kept in the nodes (parent, first child, siblings, the basic
 * arc and its orientation, depth, potential), block-wise partial pricing
 * over the arc array.  Arcs are uncapacitated (lower bound 0, no upper
 * bound): that is all the vehicle-scheduling model needs.
 */
#ifndef MCF_LIKE_MCF_H
#define MCF_LIKE_MCF_H

#include <stddef.h>
#include <stdint.h>

typedef long long cost_t;

enum { MCF_UP = 1, MCF_DOWN = 2 };		/* basic arc: node->parent / parent->node */
enum { MCF_AT_LOWER = 0, MCF_BASIC = 1 };	/* arc state */

struct mcf_arc;

struct mcf_node {				/* 104 bytes */
	int number;
	int orientation;
	struct mcf_node *pred;			/* parent in the spanning tree */
	struct mcf_node *child;			/* first child */
	struct mcf_node *sibling;
	struct mcf_node *sibling_prev;
	struct mcf_arc *basic_arc;		/* the tree arc to pred */
	struct mcf_arc *firstout;
	struct mcf_arc *firstin;
	cost_t potential;
	long depth;
	long supply;				/* > 0 supply, < 0 demand */
	long mark;
};

struct mcf_arc {				/* 64 bytes */
	struct mcf_node *tail;
	struct mcf_node *head;
	struct mcf_arc *nextout;
	struct mcf_arc *nextin;
	cost_t cost;
	long flow;
	long ident;				/* MCF_AT_LOWER or MCF_BASIC */
	long artificial;
};

struct mcf_net {
	long n;					/* real nodes: nodes[1..n] */
	long m;					/* real arcs: arcs[0..m) */
	long m_max;
	struct mcf_node *nodes;			/* n + 1: nodes[0] is the root */
	struct mcf_arc *arcs;			/* m_max real arcs */
	struct mcf_arc *art;			/* n artificial arcs */
	struct mcf_node **path;			/* scratch, n + 1 */
	cost_t art_cost;
	long pivots;
	long block;				/* pricing block size */
	long cursor;
};

/* nodes are numbered 1..n */
int mcf_init(struct mcf_net *net, long n, long m_max);
void mcf_free(struct mcf_net *net);
void mcf_set_supply(struct mcf_net *net, long node, long supply);
/* returns the arc's index, or -1 when m_max arcs exist already */
long mcf_add_arc(struct mcf_net *net, long tail, long head, cost_t cost);

enum mcf_status { MCF_OPTIMAL = 0, MCF_INFEASIBLE = 1, MCF_UNBOUNDED = 2 };
enum mcf_status mcf_solve(struct mcf_net *net);
/* the cost of the real arcs' flow */
cost_t mcf_cost(const struct mcf_net *net);
/* an independent check of the solution: conservation, non-negative flow,
 * tree arcs at reduced cost 0, every other arc at >= 0; NULL if it holds,
 * else what is wrong */
const char *mcf_verify(const struct mcf_net *net);

#endif

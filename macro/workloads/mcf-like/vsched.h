/* SPDX-License-Identifier: MIT */
/* mcf-like: a generated vehicle-scheduling instance as a min-cost-flow network */
#ifndef MCF_LIKE_VSCHED_H
#define MCF_LIKE_VSCHED_H

#include "mcf.h"

#define VSCHED_VEHICLE_COST	100000	/* fixed cost of one vehicle */

struct vsched {
	long trips;
	long succ;		/* successors (deadhead arcs) per trip, at most */
	unsigned long long seed;
};

/* the network's size before it is built: nodes, arcs, bytes */
void vsched_size(const struct vsched *vs, long *n, long *m, double *bytes);
/* build the instance into @net (initialised here); 0 or -1 (out of memory) */
int vsched_build(const struct vsched *vs, struct mcf_net *net);
/* vehicles in the solution: flow on the depot's pull-out arcs */
long vsched_vehicles(const struct mcf_net *net);

#endif

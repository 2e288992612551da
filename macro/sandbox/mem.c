// SPDX-License-Identifier: MIT
/*
 * mem.c - the table of the program's memory: sorted, disjoint page ranges
 * with their protections.  Every pointer a system call of the program
 * passes is checked against it: memory the program does not own (the
 * runtime's, or nothing) is never followed.
 */
#include <string.h>
#include <sys/mman.h>

#include "sandbox.h"

void sb_mem_init(struct sb_mem *m)
{
	m->n = 0;
}

/* the index of the first region whose end is above addr */
static int first_after(const struct sb_mem *m, uintptr_t addr)
{
	int lo = 0, hi = m->n;

	while (lo < hi) {
		int mid = (lo + hi) / 2;

		if (m->r[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int sb_mem_del(struct sb_mem *m, uintptr_t start, uintptr_t end)
{
	int i;

	if (start >= end)
		return 0;
	i = first_after(m, start);
	while (i < m->n && m->r[i].start < end) {
		struct sb_region *r = &m->r[i];

		if (r->start < start && r->end > end) {	/* split in two */
			if (m->n == SB_MAX_REGIONS)
				return -1;
			memmove(&m->r[i + 2], &m->r[i + 1], (size_t)(m->n - i - 1) * sizeof(*r));
			m->r[i + 1] = (struct sb_region){ end, r->end, r->prot };
			r->end = start;
			m->n++;
			return 0;
		}
		if (r->start < start) {
			r->end = start;
			i++;
		} else if (r->end > end) {
			r->start = end;
			i++;
		} else {
			memmove(r, r + 1, (size_t)(m->n - i - 1) * sizeof(*r));
			m->n--;
		}
	}
	return 0;
}

int sb_mem_add(struct sb_mem *m, uintptr_t start, uintptr_t end, int prot)
{
	int i;

	if (start >= end)
		return 0;
	if (sb_mem_del(m, start, end))
		return -1;
	i = first_after(m, start);
	/* merge with neighbours of the same protection */
	if (i > 0 && m->r[i - 1].end == start && m->r[i - 1].prot == prot) {
		m->r[i - 1].end = end;
		if (i < m->n && m->r[i].start == end && m->r[i].prot == prot) {
			m->r[i - 1].end = m->r[i].end;
			memmove(&m->r[i], &m->r[i + 1], (size_t)(m->n - i - 1) * sizeof(m->r[0]));
			m->n--;
		}
		return 0;
	}
	if (i < m->n && m->r[i].start == end && m->r[i].prot == prot) {
		m->r[i].start = start;
		return 0;
	}
	if (m->n == SB_MAX_REGIONS)
		return -1;
	memmove(&m->r[i + 1], &m->r[i], (size_t)(m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct sb_region){ start, end, prot };
	m->n++;
	return 0;
}

bool sb_mem_has(const struct sb_mem *m, uintptr_t p, size_t len)
{
	uintptr_t end;
	int i;

	if (!len)
		return true;
	if (p + len < p)
		return false;
	end = p + len;
	i = first_after(m, p);
	while (p < end) {
		if (i >= m->n || m->r[i].start > p)
			return false;
		p = m->r[i].end;
		i++;
	}
	return true;
}

bool sb_mem_overlaps(const struct sb_mem *m, uintptr_t p, size_t len)
{
	int i;

	if (!len || p + len < p)
		return false;
	i = first_after(m, p);
	return i < m->n && m->r[i].start < p + len;
}

long sb_mem_strlen(const struct sb_mem *m, uintptr_t p, size_t max)
{
	size_t n = 0;
	int i = first_after(m, p);

	while (n < max) {
		const char *s, *z;
		size_t avail;

		if (i >= m->n || m->r[i].start > p + n || !(m->r[i].prot & PROT_READ))
			return -1;
		s = (const char *)(p + n);
		avail = m->r[i].end - (p + n);
		if (avail > max - n)
			avail = max - n;
		z = memchr(s, 0, avail);
		if (z)
			return (long)(n + (size_t)(z - s));
		n += avail;
		i++;
	}
	return -1;
}

bool sb_mem_readable(const struct sb_mem *m, uintptr_t p, size_t len)
{
	uintptr_t end;
	int i;

	if (!len)
		return true;
	if (p + len < p)
		return false;
	end = p + len;
	i = first_after(m, p);
	while (p < end) {
		if (i >= m->n || m->r[i].start > p || !(m->r[i].prot & PROT_READ))
			return false;
		p = m->r[i].end;
		i++;
	}
	return true;
}

// SPDX-License-Identifier: BSD-2-Clause
#include "numeric.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/*
 * Each node holds the intervals that contain its center, twice: sorted by
 * lower bound ascending (scanned when x < center) and by upper bound
 * descending (scanned when x > center). Intervals wholly left or right of the
 * center go to the children. Nodes live in one array; children by index.
 */
struct inode {
	double center;
	uint32_t first, count; /* slice of by_lo / by_hi */
	int32_t left, right;
};

struct itree {
	struct inode *nodes;
	size_t n_nodes, cap_nodes;
	struct interval *by_lo, *by_hi;
	size_t n;
};

bool interval_contains(const struct interval *iv, double x)
{
	if (iv->lo_open ? !(x > iv->lo) : !(x >= iv->lo))
		return false;
	if (iv->hi_open ? !(x < iv->hi) : !(x <= iv->hi))
		return false;
	return true;
}

static int cmp_lo(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_hi_desc(const void *a, const void *b)
{
	const struct interval *x = a, *y = b;

	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Median of the interval endpoints, ignoring infinities where possible. */
static double pick_center(const struct interval *iv, size_t n)
{
	double *pts = xmalloc(2 * n * sizeof(*pts));
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (iv[i].lo > -__builtin_inf())
			pts[k++] = iv[i].lo;
		if (iv[i].hi < __builtin_inf())
			pts[k++] = iv[i].hi;
	}
	double c = 0;

	if (k) {
		qsort(pts, k, sizeof(*pts), cmp_double);
		c = pts[k / 2];
	}
	free(pts);
	return c;
}

static int32_t build(struct itree *t, struct interval *iv, size_t n,
		     size_t *out_pos)
{
	if (n == 0)
		return -1;
	double c = pick_center(iv, n);
	size_t nl = 0, nr = 0, nm = 0;
	struct interval *l = xmalloc(n * sizeof(*l));
	struct interval *r = xmalloc(n * sizeof(*r));
	struct interval *m = xmalloc(n * sizeof(*m));

	for (size_t i = 0; i < n; i++) {
		if (iv[i].hi < c)
			l[nl++] = iv[i];
		else if (iv[i].lo > c)
			r[nr++] = iv[i];
		else
			m[nm++] = iv[i];
	}
	/* All endpoints on one side cannot happen with a median center, but a
	 * degenerate split must still make progress. */
	if (nm == 0 && (nl == n || nr == n)) {
		memcpy(m, iv, n * sizeof(*m));
		nm = n;
		nl = nr = 0;
	}
	if (t->n_nodes == t->cap_nodes) {
		t->cap_nodes = t->cap_nodes ? 2 * t->cap_nodes : 16;
		t->nodes = xrealloc(t->nodes, t->cap_nodes * sizeof(*t->nodes));
	}
	int32_t idx = (int32_t)t->n_nodes++;
	size_t first = *out_pos;

	memcpy(t->by_lo + first, m, nm * sizeof(*m));
	memcpy(t->by_hi + first, m, nm * sizeof(*m));
	qsort(t->by_lo + first, nm, sizeof(*m), cmp_lo);
	qsort(t->by_hi + first, nm, sizeof(*m), cmp_hi_desc);
	*out_pos += nm;
	free(m);
	int32_t left = build(t, l, nl, out_pos);
	int32_t right = build(t, r, nr, out_pos);

	free(l);
	free(r);
	t->nodes[idx] = (struct inode){.center = c,
				       .first = (uint32_t)first,
				       .count = (uint32_t)nm,
				       .left = left,
				       .right = right};
	return idx;
}

struct itree *itree_build(const struct interval *iv, size_t n)
{
	struct itree *t = xcalloc(1, sizeof(*t));
	struct interval *copy = xmalloc((n + 1) * sizeof(*copy));
	size_t pos = 0;

	memcpy(copy, iv, n * sizeof(*copy));
	t->by_lo = xmalloc((n + 1) * sizeof(*t->by_lo));
	t->by_hi = xmalloc((n + 1) * sizeof(*t->by_hi));
	t->n = n;
	build(t, copy, n, &pos);
	free(copy);
	return t;
}

void itree_free(struct itree *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->by_lo);
	free(t->by_hi);
	free(t);
}

size_t itree_memory(const struct itree *t)
{
	return t ? sizeof(*t) + t->cap_nodes * sizeof(*t->nodes) +
			   2 * t->n * sizeof(struct interval)
		 : 0;
}

void itree_stab(const struct itree *t, double x,
		void (*hit)(void *arg, uint32_t id), void *arg)
{
	int32_t i = t->n_nodes ? 0 : -1;

	while (i >= 0) {
		const struct inode *nd = &t->nodes[i];

		if (x < nd->center) {
			const struct interval *iv = t->by_lo + nd->first;

			for (uint32_t k = 0; k < nd->count && iv[k].lo <= x; k++)
				if (interval_contains(&iv[k], x))
					hit(arg, iv[k].id);
			i = nd->left;
		} else if (x > nd->center) {
			const struct interval *iv = t->by_hi + nd->first;

			for (uint32_t k = 0; k < nd->count && iv[k].hi >= x; k++)
				if (interval_contains(&iv[k], x))
					hit(arg, iv[k].id);
			i = nd->right;
		} else {
			const struct interval *iv = t->by_lo + nd->first;

			for (uint32_t k = 0; k < nd->count; k++)
				if (interval_contains(&iv[k], x))
					hit(arg, iv[k].id);
			return;
		}
	}
}

size_t itree_intervals(const struct itree *t, const struct interval **out)
{
	*out = t->by_lo;
	return t->n;
}

/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * Numeric boxes in the kernel matcher (layout: include/bpfbus/tables.h,
 * built by userspace/lib/ktables_grid.c; docs/kernel.md, "Numeric boxes").
 *
 * While the leaves are matched, a number on a grid axis is only noted.
 * After the leaves, each noted x is paired with each noted y of its grid:
 * the pair's cell is found by a binary search along each axis, and each box
 * listed there that holds both values marks its x class and its y class.
 * The classes are those of the two ranges, so the branch is counted and
 * checked as before; a box's ranges are marked only when the box holds a
 * pair, which its branch needs anyway (ktables_grid.c admits no range that
 * anything else satisfies).
 *
 * A value inside an array, or one past KM_GRID_NOTES, is not paired: the
 * array-consistency check needs every leaf that satisfied a range. Then
 * every value on a grid axis is stabbed into its axis's range tree
 * (box_root), which marks exactly what the two ranges marked before grids.
 *
 * Included by kmatch.h after km_stab() and km_mark_cond().
 */
#ifndef BPFBUS_KMATCH_GRID_H
#define BPFBUS_KMATCH_GRID_H

_Static_assert(BPFBUS_GRID_AXES <= 256, "km_cell searches at most 255 boundaries");
_Static_assert((KM_GRID_NOTES & (KM_GRID_NOTES - 1)) == 0, "KM_GRID_NOTES is a power of two");

/* A number (its order key in m->key.val) on the grid axis @kp. */
static __always_inline void km_grid_note(struct km_state *m, struct bpfbus_kpath *kp, __u32 oa)
{
	__u32 n = m->n_notes;

	if (n < KM_GRID_NOTES && !m->cur_arrays) {
		struct km_note *nt = &m->notes[n & (KM_GRID_NOTES - 1)];

		__builtin_memcpy(&nt->key, m->key.val, sizeof(nt->key));
		nt->grid = kp->grid;
		nt->leaf = m->cur_leaf;
		nt->box_root = kp->box_root;
		m->n_notes = n + 1;
		return;
	}
	m->grid_fallback = 1;
	km_stab(kp->box_root, oa);
}

/* The cell along one axis: the number of its @n boundaries <= @key. */
static __always_inline __u32 km_cell(__u32 slot, __u32 first, __u32 n, __u64 key)
{
	__u32 lo = 0, hi = n;

	for (int step = 0; step < 8; step++) { /* 2^8 > BPFBUS_GRID_AXES - 1 */
		if (lo >= hi)
			break;
		__u32 mid = (lo + hi) / 2, idx = slot * BPFBUS_MAX_GBOUNDS + first + mid;
		__u64 *b = bpf_map_lookup_elem(&km_gbounds, &idx);

		if (!b)
			break;
		if (*b <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct km_box_ctx {
	__u64 x, y;
	__u32 slot, first, count;
};

/* KM_VISIT_BATCH boxes of the cell per callback (as km_visit_cb). */
static long km_box_cb(__u64 i, void *arg)
{
	struct km_box_ctx *c = arg;
	struct km_state *m = km_match_state();
	__u32 at = (__u32)i * KM_VISIT_BATCH;

	for (__u32 j = 0; m && j < KM_VISIT_BATCH; j++) {
		struct bpfbus_box *b = km_run_elem(&km_boxes, c->slot * BPFBUS_MAX_BOXES, c->first,
						   c->count, at + j);

		if (!b)
			return 1;
		if (!km_in_range(b->lo[0], b->hi[0], b->open, c->x) ||
		    !km_in_range(b->lo[1], b->hi[1], b->open >> 2, c->y))
			continue;
		if (b->open & BPFBUS_BOX_WHOLE) {
			if (b->cond[1] == m->bus)
				km_report(m, b->cond[0]);
			continue;
		}
		km_mark_cond(m, b->cond[0], 0);
		km_mark_cond(m, b->cond[1], 0);
	}
	return 0;
}

/* The boxes holding noted x value @a and noted y value @b of one grid. */
KM_NOINLINE int km_grid_pair(__u32 a, __u32 b)
{
	struct km_state *m = km_match_state();

	if (!m)
		return 0;
	struct km_note *x = &m->notes[a & (KM_GRID_NOTES - 1)];
	struct km_note *y = &m->notes[b & (KM_GRID_NOTES - 1)];
	__u32 gidx = m->slot * BPFBUS_MAX_GRIDS + (x->grid & (BPFBUS_MAX_GRIDS - 1));
	struct bpfbus_kgrid *g = bpf_map_lookup_elem(&km_grids, &gidx);

	if (!g)
		return 0;
	__u32 cx = km_cell(m->slot, g->bound_first[0], g->n_bounds[0], x->key);
	__u32 cy = km_cell(m->slot, g->bound_first[1], g->n_bounds[1], y->key);
	__u32 cidx = m->slot * BPFBUS_MAX_GCELLS + g->cell_first + cx * (g->n_bounds[1] + 1) + cy;
	struct bpfbus_posting *cell = bpf_map_lookup_elem(&km_gcells, &cidx);

	if (!cell || !cell->count)
		return 0;
	struct km_box_ctx c = { .x = x->key,
				.y = y->key,
				.slot = m->slot,
				.first = cell->first,
				.count = cell->count };

	m->cur_arrays = 0; /* noted values are in no array: nothing to record */
	bpf_loop((c.count + KM_VISIT_BATCH - 1) / KM_VISIT_BATCH, km_box_cb, &c, 0);
	return 0;
}

/* Noted value i as x, paired with every noted y of its grid. */
static long km_pair_cb(__u64 i, void *arg)
{
	struct km_state *m = km_match_state();

	(void)arg;
	if (!m)
		return 1;
	__u32 n = m->n_notes, gx = m->notes[i & (KM_GRID_NOTES - 1)].grid;

	if (gx & BPFBUS_GRID_Y)
		return 0;
	for (__u32 b = 0; b < KM_GRID_NOTES; b++) {
		if (b >= n)
			break;
		if (m->notes[b].grid == (gx | BPFBUS_GRID_Y))
			km_grid_pair((__u32)i, b);
	}
	return 0;
}

/* Noted value i into its axis's range tree (the fallback). */
static long km_note_stab_cb(__u64 i, void *arg)
{
	struct km_state *m = km_match_state();

	(void)arg;
	if (!m)
		return 1;
	struct km_note *nt = &m->notes[i & (KM_GRID_NOTES - 1)];

	__builtin_memset(m->key.val, 0, BPFBUS_VAL_MAX);
	__builtin_memcpy(m->key.val, &nt->key, sizeof(nt->key));
	m->cur_leaf = nt->leaf;
	m->cur_arrays = 0;
	km_stab(nt->box_root, 0);
	return 0;
}

/* After the leaves: the boxes of the noted values. */
KM_NOINLINE int km_match_boxes(void)
{
	struct km_state *m = km_match_state();

	if (!m || !m->n_notes)
		return 0;
	if (m->grid_fallback)
		bpf_loop(m->n_notes, km_note_stab_cb, NULL, 0);
	else
		bpf_loop(m->n_notes, km_pair_cb, NULL, 0);
	return 0;
}

#endif /* BPFBUS_KMATCH_GRID_H */

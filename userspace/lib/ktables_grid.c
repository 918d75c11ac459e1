// SPDX-License-Identifier: BSD-2-Clause
/*
 * Numeric boxes for the kernel tables (docs/kernel.md, "Numeric boxes";
 * the layout is in include/bpfbus/tables.h).
 *
 * A geofence rule tests a numeric range on x and one on y. Kept as two
 * independent ranges, every range holding an event's x was a condition to
 * mark, and so was every range holding its y: at 100,000 rules about 170 of
 * each, to find the two or three boxes holding both. Here the branches that
 * test one range on each of two paths become boxes of a grid over that pair
 * of paths, so an event looks up one cell and tests the few boxes there.
 *
 * A condition goes into a grid only when its one interval is all that
 * satisfies it (no exact number, exists, anything-but or second range names
 * it) and an absent field does not satisfy it: then marking it exactly when
 * a box holds both values changes no outcome, as its branch needs the other
 * range too. Everything else stays on the per-path range trees.
 */
#include "ktables.h"
#include "ruleset_int.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/* A box of a branch: its x and y conditions, on paths px < py. */
struct box_ref {
	uint32_t px, py, branch;
	uint32_t cond[2];
};

static int cmp_box_ref(const void *a, const void *b)
{
	const struct box_ref *x = a, *y = b;

	if (x->px != y->px)
		return x->px < y->px ? -1 : 1;
	if (x->py != y->py)
		return x->py < y->py ? -1 : 1;
	return x->branch < y->branch ? -1 : x->branch > y->branch;
}

/* What the planning needs per condition. */
struct cond_info {
	uint32_t n_ivals, n_other; /* intervals naming it; other lists naming it */
	const struct interval *iv; /* its (last) interval */
};

static void count_refs(const struct bb_ruleset *rs, struct cond_info *ci)
{
	for (size_t i = 0; i < rs->vt.cap; i++) {
		const struct vtable_slot *s = &rs->vt.slots[i];

		if (!s->key_len || ktables_exclusion_kind(rs->vt.keys[s->key_off + 4]))
			continue;
		for (uint32_t p = rs->vt.post_off[s->post]; p < rs->vt.post_off[s->post + 1]; p++)
			ci[rs->vt.flat[p]].n_other++;
	}
	for (size_t p = 0; p < rs->n_paths; p++) {
		const struct path_info *pi = &rs->paths[p];
		const struct interval *iv;
		size_t n = pi->itree ? itree_intervals(pi->itree, &iv) : 0;

		for (size_t i = 0; i < n; i++) {
			ci[iv[i].id].n_ivals++;
			ci[iv[i].id].iv = &iv[i];
		}
		for (size_t i = 0; i < pi->n_exists; i++)
			ci[pi->exists[i]].n_other++;
		for (size_t i = 0; i < pi->n_wc; i++)
			ci[pi->wc[i].id].n_other++;
	}
	for (size_t a = 0; a < rs->n_ab; a++)
		ci[rs->ab_cond[a]].n_other++;
}

/* The range as order keys; false if a bound needs more than 15 digits. */
static bool range_keys(const struct interval *iv, __u64 *lo, __u64 *hi)
{
	*lo = 0;
	*hi = ~0ull;
	return !((iv->lo > -__builtin_inf() && ktables_number_key(iv->lo, lo) < 0) ||
		 (iv->hi < __builtin_inf() && ktables_number_key(iv->hi, hi) < 0));
}

static bool boxable(const struct bb_ruleset *rs, const struct cond_info *ci, uint32_t c)
{
	__u64 lo, hi;

	return ci[c].n_ivals == 1 && !ci[c].n_other && !rs->conds[c].absent_ok &&
	       range_keys(ci[c].iv, &lo, &hi);
}

/* Every branch with boxable ranges on two paths: the first two paths. */
static struct box_ref *find_boxes(const struct bb_ruleset *rs, const struct cond_info *ci,
				  size_t *n_out)
{
	struct box_ref *v = NULL;
	size_t n = 0;

	for (size_t b = 0; b < rs->n_branches; b++) {
		const struct branch *br = &rs->branches[b];
		uint32_t c1 = BPFBUS_NO_NODE, c2 = BPFBUS_NO_NODE;

		/* c1 on the lowest path, c2 on the next one */
		for (uint32_t j = 0; j < br->n_cond; j++) {
			uint32_t c = br->first_cond + j;

			if (boxable(rs, ci, c) &&
			    (c1 == BPFBUS_NO_NODE || rs->conds[c].path < rs->conds[c1].path))
				c1 = c;
		}
		for (uint32_t j = 0; c1 != BPFBUS_NO_NODE && j < br->n_cond; j++) {
			uint32_t c = br->first_cond + j;

			if (rs->conds[c].path > rs->conds[c1].path && boxable(rs, ci, c) &&
			    (c2 == BPFBUS_NO_NODE || rs->conds[c].path < rs->conds[c2].path))
				c2 = c;
		}
		if (c2 == BPFBUS_NO_NODE)
			continue;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = (struct box_ref){
			rs->conds[c1].path, rs->conds[c2].path, (uint32_t)b, { c1, c2 }
		};
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_box_ref);
	*n_out = n;
	return v;
}

/* Number of boundaries <= @x: the value's cell along an axis. */
static uint32_t cell_of(const __u64 *bounds, uint32_t n, __u64 x)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (bounds[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One grid under construction. */
struct grid_build {
	struct bpfbus_box *box; /* its boxes, once each */
	size_t n;
	__u64 *ends[2]; /* each axis's finite endpoints, sorted */
	size_t n_ends[2];
	__u64 *bounds[2];
	uint32_t n_bounds[2];
};

/* Cut each axis into at most @g cells at quantiles of the endpoints. */
static void cut_axes(struct grid_build *gb, uint32_t g)
{
	for (int a = 0; a < 2; a++) {
		uint32_t nb = 0;

		for (uint32_t k = 1; k < g && gb->n_ends[a]; k++) {
			__u64 b = gb->ends[a][(size_t)k * gb->n_ends[a] / g];

			if (!nb || gb->bounds[a][nb - 1] != b)
				gb->bounds[a][nb++] = b;
		}
		gb->n_bounds[a] = nb;
	}
}

/* The cells of box @b along axis @a: [*from, *to]. */
static void box_cells(const struct grid_build *gb, const struct bpfbus_box *b, int a,
		      uint32_t *from, uint32_t *to)
{
	*from = cell_of(gb->bounds[a], gb->n_bounds[a], b->lo[a]);
	*to = cell_of(gb->bounds[a], gb->n_bounds[a], b->hi[a]);
}

static size_t count_entries(const struct grid_build *gb)
{
	size_t n = 0;

	for (size_t i = 0; i < gb->n; i++) {
		uint32_t x0, x1, y0, y1;

		box_cells(gb, &gb->box[i], 0, &x0, &x1);
		box_cells(gb, &gb->box[i], 1, &y0, &y1);
		if (x0 <= x1 && y0 <= y1)
			n += (size_t)(x1 - x0 + 1) * (y1 - y0 + 1);
	}
	return n;
}

/*
 * The finest cut within the slot's remaining room, and at most 16 entries a
 * box on average (a box wider than a cell is listed in every cell it
 * touches). Returns the number of entries, or 0 when not even one cell fits.
 */
static size_t choose_cut(struct ktables *kt, struct grid_build *gb)
{
	size_t room = BPFBUS_MAX_BOXES - kt->n_boxes, cap = 16 * gb->n + 1024;

	for (uint32_t g = BPFBUS_GRID_AXES; g >= 1; g /= 2) {
		cut_axes(gb, g);
		size_t cells = (size_t)(gb->n_bounds[0] + 1) * (gb->n_bounds[1] + 1);
		size_t entries = count_entries(gb);

		if (cells <= BPFBUS_MAX_GCELLS - kt->n_gcells &&
		    gb->n_bounds[0] + gb->n_bounds[1] <= BPFBUS_MAX_GBOUNDS - kt->n_gbounds &&
		    entries <= room && (entries <= cap || g == 1))
			return entries ? entries : 1;
	}
	return 0;
}

static uint32_t push_bounds(struct ktables *kt, const __u64 *b, uint32_t n)
{
	uint32_t first = (uint32_t)kt->n_gbounds;

	kt->gbounds = xrealloc(kt->gbounds, (kt->n_gbounds + n + 1) * sizeof(*kt->gbounds));
	memcpy(kt->gbounds + first, b, n * sizeof(*b));
	kt->n_gbounds += n;
	return first;
}

/* Write the grid's cells and box entries into the tables. */
static void emit_grid(struct ktables *kt, const struct grid_build *gb, size_t entries)
{
	struct bpfbus_kgrid g = { 0 };
	uint32_t ny = gb->n_bounds[1] + 1;
	size_t cells = (size_t)(gb->n_bounds[0] + 1) * ny;
	struct bpfbus_posting *cell;
	uint32_t *fill = xcalloc(cells, sizeof(*fill));

	for (int a = 0; a < 2; a++) {
		g.bound_first[a] = push_bounds(kt, gb->bounds[a], gb->n_bounds[a]);
		g.n_bounds[a] = gb->n_bounds[a];
	}
	g.cell_first = (uint32_t)kt->n_gcells;
	kt->gcells = xrealloc(kt->gcells, (kt->n_gcells + cells) * sizeof(*kt->gcells));
	cell = kt->gcells + kt->n_gcells;
	memset(cell, 0, cells * sizeof(*cell));
	kt->n_gcells += cells;
	kt->boxes = xrealloc(kt->boxes, (kt->n_boxes + entries) * sizeof(*kt->boxes));
	for (int pass = 0; pass < 2; pass++) {
		/* pass 0 counts each cell's boxes, pass 1 places them */
		for (size_t i = 0; i < gb->n; i++) {
			uint32_t x0, x1, y0, y1;

			box_cells(gb, &gb->box[i], 0, &x0, &x1);
			box_cells(gb, &gb->box[i], 1, &y0, &y1);
			for (uint32_t x = x0; x <= x1 && y0 <= y1; x++)
				for (uint32_t y = y0; y <= y1; y++) {
					struct bpfbus_posting *c = &cell[(size_t)x * ny + y];

					if (pass)
						kt->boxes[c->first + fill[(size_t)x * ny + y]++] =
							gb->box[i];
					else
						c->count++;
				}
		}
		for (size_t c = 0, at = kt->n_boxes; !pass && c < cells; c++) {
			cell[c].first = (uint32_t)at;
			at += cell[c].count;
		}
	}
	kt->n_boxes += entries;
	kt->grids = xrealloc(kt->grids, (kt->n_grids + 1) * sizeof(*kt->grids));
	kt->grids[kt->n_grids++] = g;
	free(fill);
}

/* A branch of the two ranges alone reports its rule from the box. */
static struct bpfbus_box make_box(const struct ktables *kt, const struct bb_ruleset *rs,
				  const struct cond_info *ci, const struct box_ref *r)
{
	struct bpfbus_box b = { .cond = { r->cond[0], r->cond[1] } };

	if (rs->branches[r->branch].n_cond == 2) {
		b.cond[0] = kt->branches[r->branch].rule;
		b.cond[1] = kt->branches[r->branch].bus;
		b.open = BPFBUS_BOX_WHOLE;
	}

	for (int a = 0; a < 2; a++) {
		const struct interval *iv = ci[r->cond[a]].iv;

		range_keys(iv, &b.lo[a], &b.hi[a]);
		b.open |= ((iv->lo_open ? 1u : 0u) | (iv->hi_open ? 2u : 0u)) << (2 * a);
	}
	return b;
}

/* The grid of the boxes @r[0 .. n) (one pair of paths); false if no room. */
static bool build_grid(struct ktables *kt, const struct bb_ruleset *rs, const struct cond_info *ci,
		       const struct box_ref *r, size_t n)
{
	struct grid_build gb = { .n = n };
	size_t entries;

	gb.box = xcalloc(n, sizeof(*gb.box));
	for (int a = 0; a < 2; a++) {
		gb.ends[a] = xcalloc(2 * n, sizeof(**gb.ends));
		gb.bounds[a] = xcalloc(BPFBUS_GRID_AXES, sizeof(**gb.bounds));
	}
	for (size_t i = 0; i < n; i++) {
		gb.box[i] = make_box(kt, rs, ci, &r[i]);
		for (int a = 0; a < 2; a++) {
			if (gb.box[i].lo[a] != 0)
				gb.ends[a][gb.n_ends[a]++] = gb.box[i].lo[a];
			if (gb.box[i].hi[a] != ~0ull)
				gb.ends[a][gb.n_ends[a]++] = gb.box[i].hi[a];
		}
	}
	for (int a = 0; a < 2; a++)
		if (gb.n_ends[a])
			qsort(gb.ends[a], gb.n_ends[a], sizeof(**gb.ends), cmp_u64);
	entries = kt->n_grids < BPFBUS_MAX_GRIDS ? choose_cut(kt, &gb) : 0;
	if (entries)
		emit_grid(kt, &gb, count_entries(&gb));
	free(gb.box);
	for (int a = 0; a < 2; a++) {
		free(gb.ends[a]);
		free(gb.bounds[a]);
	}
	return entries != 0;
}

/* A run of box_refs with one pair of paths. */
struct pair_run {
	size_t first, n;
};

static int cmp_run_desc(const void *a, const void *b)
{
	const struct pair_run *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->first < y->first ? -1 : x->first > y->first;
}

void ktables_build_grids(struct ktables *kt, const struct bb_ruleset *rs)
{
	struct cond_info *ci = xcalloc(rs->n_conds + 1, sizeof(*ci));
	size_t n_refs, n_runs = 0;
	struct box_ref *refs;
	struct pair_run *runs;

	kt->in_grid = xcalloc(rs->n_conds + 1, sizeof(*kt->in_grid));
	kt->path_grid = xmalloc((rs->n_paths + 1) * sizeof(*kt->path_grid));
	for (size_t p = 0; p < rs->n_paths; p++)
		kt->path_grid[p] = BPFBUS_NO_NODE;
	count_refs(rs, ci);
	refs = find_boxes(rs, ci, &n_refs);
	runs = xcalloc(n_refs + 1, sizeof(*runs));
	for (size_t i = 0; i < n_refs; i++) {
		if (!i || refs[i].px != refs[i - 1].px || refs[i].py != refs[i - 1].py)
			runs[n_runs++].first = i;
		runs[n_runs - 1].n++;
	}
	/* the largest grids first; a path is an axis of one grid at most */
	if (n_runs)
		qsort(runs, n_runs, sizeof(*runs), cmp_run_desc);
	for (size_t k = 0; k < n_runs; k++) {
		const struct box_ref *r = refs + runs[k].first;
		uint32_t id = (uint32_t)kt->n_grids;

		if (kt->path_grid[r->px] != BPFBUS_NO_NODE ||
		    kt->path_grid[r->py] != BPFBUS_NO_NODE || !build_grid(kt, rs, ci, r, runs[k].n))
			continue;
		kt->path_grid[r->px] = id;
		kt->path_grid[r->py] = id | BPFBUS_GRID_Y;
		for (size_t i = 0; i < runs[k].n; i++)
			kt->in_grid[r[i].cond[0]] = kt->in_grid[r[i].cond[1]] = 1;
	}
	free(runs);
	free(refs);
	free(ci);
}

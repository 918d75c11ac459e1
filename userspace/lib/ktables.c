// SPDX-License-Identifier: BSD-2-Clause
/*
 * Lowering the userspace ruleset (ruleset_int.h) to the kernel tables. The
 * kernel decides exactly what these tables can express; everything else is
 * marked on its path so that the kernel flags such events VERIFY:
 *   - wildcards and anything-but wildcards that need more than the kernel's
 *     pattern length or NFA width (strings VERIFY),
 *   - numeric ranges and numbers that need more than 15 digits (numbers
 *     VERIFY),
 *   - values or prefixes longer than a key holds (long strings VERIFY).
 */
#include "ktables.h"
#include "bpfbus/numkey.h"
#include "cidr.h"
#include "numeric.h"
#include "ruleset_int.h"
#include "strbuf.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t ktables_add_postings(struct ktables *kt, const uint32_t *ids, size_t n)
{
	if (kt->n_postings + n > kt->cap_postings) {
		kt->cap_postings = (kt->n_postings + n) * 2;
		kt->postings = xrealloc(kt->postings, kt->cap_postings * sizeof(uint32_t));
	}
	uint32_t first = (uint32_t)kt->n_postings;

	if (n)
		memcpy(kt->postings + first, ids, n * sizeof(uint32_t));
	kt->n_postings += n;
	return first;
}

/* The order key of a pattern number, via its shortest 15-digit spelling. */
int ktables_number_key(double d, __u64 *key)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.15g", d);
	if (strtod(buf, NULL) != d)
		return -1;
	return bpfbus_numkey(buf, (__u32)strlen(buf), key);
}

/* ---- numeric ranges: a centered interval tree over order keys ----------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_lo(const void *a, const void *b)
{
	const struct bpfbus_ival *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_hi_desc(const void *a, const void *b)
{
	const struct bpfbus_ival *x = a, *y = b;

	return x->hi > y->hi ? -1 : x->hi < y->hi;
}

static void push_ivals(struct ktables *kt, const struct bpfbus_ival *iv, size_t n)
{
	if (kt->n_ivals + n > kt->cap_ivals) {
		kt->cap_ivals = (kt->n_ivals + n) * 2;
		kt->ivals = xrealloc(kt->ivals, kt->cap_ivals * sizeof(*kt->ivals));
	}
	memcpy(kt->ivals + kt->n_ivals, iv, n * sizeof(*iv));
	kt->n_ivals += n;
}

static uint32_t build_inode(struct ktables *kt, struct bpfbus_ival *iv, size_t n)
{
	if (!n)
		return BPFBUS_NO_NODE;
	/* center: the median finite endpoint */
	uint64_t *pts = xmalloc(2 * n * sizeof(*pts));
	size_t k = 0, nl = 0, nr = 0, nm = 0;

	for (size_t i = 0; i < n; i++) {
		if (iv[i].lo != 0)
			pts[k++] = iv[i].lo;
		if (iv[i].hi != ~0ull)
			pts[k++] = iv[i].hi;
	}
	qsort(pts, k, sizeof(*pts), cmp_u64);
	uint64_t c = k ? pts[k / 2] : BPFBUS_NUMKEY_ZERO;

	free(pts);
	struct bpfbus_ival *l = xmalloc(n * sizeof(*l)), *r = xmalloc(n * sizeof(*r));
	struct bpfbus_ival *m = xmalloc(n * sizeof(*m));

	for (size_t i = 0; i < n; i++) {
		if (iv[i].hi < c)
			l[nl++] = iv[i];
		else if (iv[i].lo > c)
			r[nr++] = iv[i];
		else
			m[nm++] = iv[i];
	}
	if (kt->n_inodes == kt->cap_inodes) {
		kt->cap_inodes = kt->cap_inodes ? 2 * kt->cap_inodes : 16;
		kt->inodes = xrealloc(kt->inodes, kt->cap_inodes * sizeof(*kt->inodes));
	}
	uint32_t idx = (uint32_t)kt->n_inodes++;
	struct bpfbus_inode node = { .center = c, .count = (uint32_t)nm };

	qsort(m, nm, sizeof(*m), cmp_lo);
	node.lo_first = (uint32_t)kt->n_ivals;
	push_ivals(kt, m, nm);
	qsort(m, nm, sizeof(*m), cmp_hi_desc);
	node.hi_first = (uint32_t)kt->n_ivals;
	push_ivals(kt, m, nm);
	free(m);
	node.left = build_inode(kt, l, nl);
	node.right = build_inode(kt, r, nr);
	free(l);
	free(r);
	kt->inodes[idx] = node;
	return idx;
}

/* The path's numeric ranges in a grid's boxes (@in_grid 1) or not (0) as a
 * key tree; -1 if a bound needs > 15 digits. */
static int build_ranges(struct ktables *kt, const struct itree *t, uint8_t in_grid, uint32_t *root)
{
	const struct interval *src;
	size_t n = itree_intervals(t, &src), k = 0;
	struct bpfbus_ival *iv = xmalloc((n + 1) * sizeof(*iv));

	for (size_t i = 0; i < n; i++) {
		__u64 lo = 0, hi = ~0ull;

		if (kt->in_grid[src[i].id] != in_grid)
			continue;

		if ((src[i].lo > -__builtin_inf() && ktables_number_key(src[i].lo, &lo) < 0) ||
		    (src[i].hi < __builtin_inf() && ktables_number_key(src[i].hi, &hi) < 0)) {
			free(iv);
			return -1;
		}
		iv[k++] = (struct bpfbus_ival){ .lo = lo,
						.hi = hi,
						.cond = src[i].id,
						.open = (src[i].lo_open ? 1u : 0u) |
							(src[i].hi_open ? 2u : 0u) };
	}
	*root = build_inode(kt, iv, k);
	free(iv);
	return 0;
}

/* Wildcard patterns as written, for the kernel's glob matcher. */
static struct bpfbus_posting add_wild(struct ktables *kt, const struct wc_entry *wc, size_t n,
				      uint32_t *flags)
{
	struct bpfbus_posting p = { .first = (uint32_t)kt->n_wild, .count = (uint32_t)n };

	kt->wild = xrealloc(kt->wild, (kt->n_wild + n + 1) * sizeof(*kt->wild));
	for (size_t i = 0; i < n; i++) {
		struct bpfbus_wild *w = &kt->wild[kt->n_wild++];

		memset(w, 0, sizeof(*w));
		if (wc[i].len > BPFBUS_WILD_MAX) {
			*flags |= BPFBUS_P_VERIFY_STR;
			continue;
		}
		w->id = wc[i].id;
		w->len = (uint16_t)wc[i].len;
		memcpy(w->pat, wc[i].pat, wc[i].len);
	}
	return p;
}

/* IPv4 blocks of one path, gathered from its CIDR prefix keys. */
struct cidr_ival {
	uint32_t path;
	struct bpfbus_ival iv;
};

static int cmp_cidr_path(const void *a, const void *b)
{
	const struct cidr_ival *x = a, *y = b;

	return x->path < y->path ? -1 : x->path > y->path;
}

static void build_cidr_trees(struct ktables *kt, const struct bb_ruleset *rs)
{
	struct cidr_ival *v = NULL;
	size_t n = 0;

	for (size_t i = 0; i < rs->vt.cap; i++) {
		const struct vtable_slot *s = &rs->vt.slots[i];

		if (!s->key_len)
			continue;
		const uint8_t *k = rs->vt.keys + s->key_off;
		uint32_t path;

		memcpy(&path, k, 4);
		if (k[4] != K_CIDR4)
			continue;
		/* key: 4 address bytes (network order), prefix length */
		uint32_t addr = ((uint32_t)k[5] << 24) | ((uint32_t)k[6] << 16) |
				((uint32_t)k[7] << 8) | k[8];
		uint8_t bits = k[9];
		uint64_t host = bits >= 32 ? 0 : (1ull << (32 - bits)) - 1;

		for (uint32_t p = rs->vt.post_off[s->post]; p < rs->vt.post_off[s->post + 1]; p++) {
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = (struct cidr_ival){
				path, { .lo = addr, .hi = addr | host, .cond = rs->vt.flat[p] }
			};
		}
	}
	if (n)
		qsort(v, n, sizeof(*v), cmp_cidr_path);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		struct bpfbus_ival *iv = xmalloc((n - i) * sizeof(*iv));

		while (j < n && v[j].path == v[i].path) {
			iv[j - i] = v[j].iv;
			j++;
		}
		kt->kpath[v[i].path].cidr4_root = build_inode(kt, iv, j - i);
		free(iv);
		i = j;
	}
	free(v);
}

/* One IPv6 block of a path: its aligned prefix and its own conditions. */
struct c6_block {
	uint32_t path;
	uint8_t addr[16], bits;
	const uint32_t *conds;
	size_t n_conds;
};

static int cmp_c6(const void *a, const void *b)
{
	const struct c6_block *x = a, *y = b;
	int c;

	if (x->path != y->path)
		return x->path < y->path ? -1 : 1;
	if ((c = memcmp(x->addr, y->addr, 16)))
		return c;
	return (int)x->bits - (int)y->bits;
}

static bool c6_contains(const struct c6_block *outer, const struct c6_block *inner)
{
	uint8_t a[16];

	if (outer->path != inner->path || outer->bits > inner->bits)
		return false;
	memcpy(a, inner->addr, 16);
	cidr_mask(a, outer->bits);
	return !memcmp(a, outer->addr, 16);
}

/*
 * The IPv6 trie entries. Sorted by (path, address, length), a block comes
 * after every block containing it, so a stack of the open blocks gives each
 * one its ancestors: an entry's list is its own conditions plus its
 * innermost ancestor's list (which already holds the rest).
 */
static void build_cidr6(struct ktables *kt, const struct bb_ruleset *rs)
{
	struct c6_block *b = NULL;
	size_t n = 0, *stack, depth = 0;
	uint32_t *ids = NULL;
	size_t cap_ids = 0;

	for (size_t i = 0; i < rs->vt.cap; i++) {
		const struct vtable_slot *s = &rs->vt.slots[i];

		if (!s->key_len)
			continue;
		const uint8_t *k = rs->vt.keys + s->key_off;

		if (k[4] != K_CIDR6)
			continue;
		b = xrealloc(b, (n + 1) * sizeof(*b));
		memcpy(&b[n].path, k, 4);
		memcpy(b[n].addr, k + 5, 16); /* key: 16 address bytes, prefix length */
		b[n].bits = k[21];
		b[n].conds = rs->vt.flat + rs->vt.post_off[s->post];
		b[n].n_conds = rs->vt.post_off[s->post + 1] - rs->vt.post_off[s->post];
		kt->kpath[b[n].path].flags |= BPFBUS_P_CIDR6;
		n++;
	}
	if (!n)
		return;
	qsort(b, n, sizeof(*b), cmp_c6);
	stack = xmalloc(n * sizeof(*stack));
	kt->c6keys = xcalloc(n, sizeof(*kt->c6keys));
	kt->c6posts = xcalloc(n, sizeof(*kt->c6posts));
	for (size_t i = 0; i < n; i++) {
		size_t m = 0;

		while (depth && !c6_contains(&b[stack[depth - 1]], &b[i]))
			depth--;
		if (depth) {
			const struct bpfbus_posting *up = &kt->c6posts[stack[depth - 1]];

			m = up->count;
			if (m + b[i].n_conds > cap_ids) {
				cap_ids = (m + b[i].n_conds) * 2;
				ids = xrealloc(ids, cap_ids * sizeof(*ids));
			}
			memcpy(ids, kt->postings + up->first, m * sizeof(*ids));
		} else if (b[i].n_conds > cap_ids) {
			cap_ids = b[i].n_conds * 2;
			ids = xrealloc(ids, cap_ids * sizeof(*ids));
		}
		memcpy(ids + m, b[i].conds, b[i].n_conds * sizeof(*ids));
		m += b[i].n_conds;
		kt->c6keys[i].prefixlen = 32 + b[i].bits;
		kt->c6keys[i].path_slot = b[i].path | ((uint32_t)kt->slot << 16);
		memcpy(kt->c6keys[i].addr, b[i].addr, 16);
		kt->c6posts[i].count = (uint32_t)m;
		kt->c6posts[i].first = ktables_add_postings(kt, ids, m);
		stack[depth++] = i;
	}
	kt->n_c6 = n;
	free(ids);
	free(stack);
	free(b);
}

static void set_lens(__u64 *bits, const struct lenset *ls, uint32_t *flags)
{
	for (size_t i = 0; i < ls->n; i++) {
		if (ls->v[i] > BPFBUS_AFFIX_MAX)
			*flags |= BPFBUS_P_VERIFY_LONG;
		else
			*bits |= 1ull << ls->v[i];
	}
}

static void build_path(struct ktables *kt, const struct path_info *pi, size_t id)
{
	struct bpfbus_kpath *kp = &kt->kpath[id];
	uint32_t fl = 0;

	memset(kp, 0, sizeof(*kp));
	set_lens(&kp->pfx, &pi->pfx, &fl);
	set_lens(&kp->sfx, &pi->sfx, &fl);
	set_lens(&kp->pfx_eic, &pi->pfx_eic, &fl);
	set_lens(&kp->sfx_eic, &pi->sfx_eic, &fl);
	set_lens(&kp->ab_pfx, &pi->ab_pfx, &fl);
	set_lens(&kp->ab_sfx, &pi->ab_sfx, &fl);
	if (pi->want_lit)
		fl |= BPFBUS_P_LIT;
	if (pi->want_eic)
		fl |= BPFBUS_P_EIC;
	if (pi->ab_eic)
		fl |= BPFBUS_P_AB_EIC;
	if (pi->want_eic || pi->ab_eic || pi->pfx_eic.n || pi->sfx_eic.n)
		fl |= BPFBUS_P_ANY_FOLD;
	kp->wild = add_wild(kt, pi->wc, pi->n_wc, &fl);
	kp->ab_wild = add_wild(kt, pi->ab_wc, pi->n_ab_wc, &fl);
	kp->num_root = BPFBUS_NO_NODE;
	kp->cidr4_root = BPFBUS_NO_NODE;
	if (pi->itree && build_ranges(kt, pi->itree, 0, &kp->num_root) < 0)
		fl |= BPFBUS_P_VERIFY_NUM;
	kp->grid = kt->path_grid[id];
	kp->box_root = BPFBUS_NO_NODE;
	if (kp->grid != BPFBUS_NO_NODE)
		build_ranges(kt, pi->itree, 1, &kp->box_root); /* its bounds have keys */
	kp->flags = fl;
	kp->exists.count = (uint32_t)pi->n_exists;
	kp->exists.first = ktables_add_postings(kt, pi->exists, pi->n_exists);
	kp->ab.count = (uint32_t)pi->n_ab;
	kp->ab.first = ktables_add_postings(kt, pi->ab, pi->n_ab);
	kt->path_hash[id] = pi->hash;
	kt->path[id] =
		(struct bpfbus_path){ .id = (uint32_t)id, .leaf = pi->leaf, .inner = pi->inner };
}

/*
 * Cuckoo placement into the path table (scan.h): a path goes to its first
 * free bucket, else it evicts the first bucket's path, which moves to its
 * other bucket, and so on. At a quarter full this ends within a few moves;
 * the bound only stops a cycle.
 */
int ktables_place_path(struct bpfbus_pbucket *tab, uint64_t hash, struct bpfbus_path path)
{
	struct bpfbus_pbucket cur = { .hash = hash, .path = path };
	uint32_t from = UINT32_MAX; /* the bucket cur was just evicted from */

	cur.path.used = 1;
	for (int moves = 0; moves < 512; moves++) {
		uint32_t b1 = bpfbus_path_bucket(cur.hash, 0), b2 = bpfbus_path_bucket(cur.hash, 1);

		if (!tab[b1].path.used || tab[b1].hash == cur.hash) {
			tab[b1] = cur;
			return 0;
		}
		if (!tab[b2].path.used || tab[b2].hash == cur.hash) {
			tab[b2] = cur;
			return 0;
		}
		/* evict from the bucket cur did not come from: going back would
		 * only undo the last move */
		uint32_t b = b1 == from ? b2 : b1;
		struct bpfbus_pbucket out = tab[b];

		tab[b] = cur;
		cur = out;
		from = b;
	}
	return -1;
}

/* One table key: keep it, or mark its path for VERIFY when it cannot be a key. */
static void build_value(struct ktables *kt, const struct bb_ruleset *rs,
			const struct vtable_slot *s)
{
	const uint8_t *k = rs->vt.keys + s->key_off;
	uint32_t path, n = rs->vt.post_off[s->post + 1] - rs->vt.post_off[s->post];
	char kind = (char)k[4];
	const uint8_t *data = k + 5;
	size_t len = s->key_len - 5;
	struct bpfbus_kpath *kp;
	struct bpfbus_vkey vk;

	memcpy(&path, k, 4);
	kp = &kt->kpath[path];
	memset(&vk, 0, sizeof(vk));
	vk.path = path;
	vk.slot = kt->slot;
	vk.kind = (uint8_t)kind;
	switch (kind) {
	case K_CIDR4:
	case K_CIDR6:
		return; /* the path is VERIFY for strings */
	case K_NUM:
	case K_AB_NUM: {
		double d;
		__u64 key;

		memcpy(&d, data, sizeof(d));
		if (ktables_number_key(d, &key) < 0) {
			kp->flags |= BPFBUS_P_VERIFY_NUM;
			return;
		}
		kp->flags |= kind == K_NUM ? BPFBUS_P_NUM : BPFBUS_P_AB_NUM;
		memcpy(vk.val, &key, sizeof(key));
		vk.len = sizeof(key);
		break;
	}
	default:
		if (len > BPFBUS_VAL_MAX) {
			kp->flags |= BPFBUS_P_VERIFY_LONG;
			return;
		}
		if (kind == K_STR || kind == K_EIC) {
			kp->flags |= kind == K_STR ? BPFBUS_P_STR : 0;
			if (len > kp->max_len)
				kp->max_len = (uint32_t)len;
		}
		if (kind == K_AB_STR)
			kp->flags |= BPFBUS_P_AB_STR;
		memcpy(vk.val, data, len);
		vk.len = (uint8_t)len;
		break;
	}
	size_t v = kt->n_values++;

	kt->vkeys[v] = vk;
	kt->vposts[v].count = n;
	kt->vposts[v].first = ktables_add_postings(kt, rs->vt.flat + rs->vt.post_off[s->post], n);
}

int ktables_build(const struct bb_ruleset *rs, uint8_t slot, uint32_t gen, const uint32_t *rule_bus,
		  struct ktables *kt, char *err, size_t err_len)
{
	memset(kt, 0, sizeof(*kt));
	if (rs->n_paths > BPFBUS_MAX_PATHS || rs->n_conds > BPFBUS_MAX_CONDS ||
	    rs->n_branches > BPFBUS_MAX_BRANCHES || rs->n_rules > BPFBUS_MAX_RULES ||
	    rs->n_ab > BPFBUS_MAX_AB || rs->vt.n_lists > BPFBUS_MAX_VALUES / BPFBUS_SLOTS) {
		snprintf(err, err_len,
			 "rule set too large for the kernel tables (%zu paths, %zu conditions, "
			 "%zu branches, %zu rules)",
			 rs->n_paths, rs->n_conds, rs->n_branches, rs->n_rules);
		return -1;
	}
	kt->slot = slot;
	kt->n_paths = rs->n_paths;
	kt->path_hash = xcalloc(rs->n_paths + 1, sizeof(*kt->path_hash));
	kt->path = xcalloc(rs->n_paths + 1, sizeof(*kt->path));
	kt->kpath = xcalloc(rs->n_paths + 1, sizeof(*kt->kpath));
	kt->branches = xcalloc(rs->n_branches + 1, sizeof(*kt->branches));
	for (size_t i = 0; i < rs->n_branches; i++)
		kt->branches[i] =
			(struct bpfbus_kbranch){ .rule = rs->branches[i].rule,
						 .bus = rule_bus ? rule_bus[rs->branches[i].rule]
								 : 0 };
	ktables_build_grids(kt, rs);
	for (size_t i = 0; i < rs->n_paths; i++)
		build_path(kt, &rs->paths[i], i);
	size_t n_members;
	struct ktables_member *members = ktables_attr_paths(rs, kt->path, &n_members);
	int placed = 0;

	kt->pbuckets = xcalloc(BPFBUS_PATH_BUCKETS, sizeof(*kt->pbuckets));
	for (size_t i = 0; i < rs->n_paths && !placed; i++)
		placed = ktables_place_path(kt->pbuckets, kt->path_hash[i], kt->path[i]);
	for (size_t i = 0; i < n_members && !placed; i++)
		placed = ktables_place_path(kt->pbuckets, members[i].hash, members[i].path);
	free(members);
	if (placed < 0) {
		snprintf(err, err_len,
			 "the kernel path table cannot place %zu paths (%zu of them attribute "
			 "members)",
			 rs->n_paths + n_members, n_members);
		ktables_free(kt);
		return -1;
	}
	kt->vkeys = xcalloc(rs->vt.n_lists + 1, sizeof(*kt->vkeys));
	kt->vposts = xcalloc(rs->vt.n_lists + 1, sizeof(*kt->vposts));
	for (size_t i = 0; i < rs->vt.cap; i++)
		if (rs->vt.slots[i].key_len)
			build_value(kt, rs, &rs->vt.slots[i]);
	build_cidr_trees(kt, rs);
	build_cidr6(kt, rs);
	kt->hdr = (struct bpfbus_ktable){ .gen = gen,
					  .n_rules = (uint32_t)rs->n_rules,
					  .n_conds = (uint32_t)rs->n_conds,
					  .n_branches = (uint32_t)rs->n_branches,
					  .n_paths = (uint32_t)rs->n_paths,
					  .n_ab = (uint32_t)rs->n_ab };
	kt->hdr.free_branches.count = (uint32_t)rs->n_free;
	for (size_t i = 0; i < rs->n_free; i++)
		kt->hdr.n_attr_free +=
			rs->rules[rs->branches[rs->free_branches[i]].rule].attributes;
	kt->hdr.free_branches.first = ktables_add_postings(kt, rs->free_branches, rs->n_free);
	kt->hdr.ab_cond.count = (uint32_t)rs->n_ab;
	kt->hdr.ab_cond.first = ktables_add_postings(kt, rs->ab_cond, rs->n_ab);
	ktables_build_classes(kt, rs); /* the conditions, the branches' lists */
	ktables_build_vtab(kt);
	if (kt->n_postings > BPFBUS_MAX_POSTINGS || kt->n_ivals > BPFBUS_MAX_IVALS ||
	    kt->n_inodes > BPFBUS_MAX_INODES || kt->n_wild > BPFBUS_MAX_WILD ||
	    kt->n_c6 > BPFBUS_MAX_CIDR6 / BPFBUS_SLOTS) {
		snprintf(err, err_len,
			 "rule set too large for the kernel tables (%zu postings, %zu numeric "
			 "interval entries, %zu IPv6 blocks)",
			 kt->n_postings, kt->n_ivals, kt->n_c6);
		ktables_free(kt);
		return -1;
	}
	return 0;
}

void ktables_free(struct ktables *kt)
{
	free(kt->path_hash);
	free(kt->path);
	free(kt->kpath);
	free(kt->vkeys);
	free(kt->vposts);
	free(kt->postings);
	free(kt->conds);
	free(kt->branches);
	free(kt->inodes);
	free(kt->ivals);
	free(kt->wild);
	free(kt->c6keys);
	free(kt->c6posts);
	free(kt->pbuckets);
	free(kt->grids);
	free(kt->gbounds);
	free(kt->gcells);
	free(kt->boxes);
	free(kt->vtab);
	free(kt->vhash);
	free(kt->v_collided);
	free(kt->vfilter);
	free(kt->in_grid);
	free(kt->path_grid);
	memset(kt, 0, sizeof(*kt));
}

/*
 * Delete from the hash map or trie @fd every key for which @of_slot says
 * yes. The keys are gathered first and deleted after: deleting during the
 * walk would make get_next_key restart from the beginning each time.
 */
static void delete_keys(int fd, size_t key_size, bool (*of_slot)(const void *key, uint32_t slot),
			uint32_t slot)
{
	char *keys = NULL, *cur = xmalloc(key_size), *prev = NULL;
	size_t n = 0, cap = 0;

	while (!bpf_map_get_next_key(fd, prev, cur)) {
		if (of_slot(cur, slot)) {
			if (n == cap) {
				cap = cap ? 2 * cap : 256;
				keys = xrealloc(keys, cap * key_size);
			}
			memcpy(keys + n * key_size, cur, key_size);
			n++;
		}
		if (!prev)
			prev = xmalloc(key_size);
		memcpy(prev, cur, key_size);
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(fd, keys + i * key_size);
	free(keys);
	free(cur);
	free(prev);
}

static bool vkey_of_slot(const void *key, uint32_t slot)
{
	return ((const struct bpfbus_vhkey *)key)->slot == slot;
}

static bool c6key_of_slot(const void *key, uint32_t slot)
{
	return ((const struct bpfbus_c6key *)key)->path_slot >> 16 == slot;
}

void ktables_clear_slot(const struct ktable_fds *fds, uint32_t slot)
{
	delete_keys(fds->values, sizeof(struct bpfbus_vhkey), vkey_of_slot, slot);
	delete_keys(fds->cidr6, sizeof(struct bpfbus_c6key), c6key_of_slot, slot);
}

/* Write @n fixed-size array entries starting at @base, in batches of
 * consecutive keys (one syscall each). */
static int fill_array(int fd, uint32_t base, const void *vals, size_t size, size_t n)
{
	enum { BATCH = 4096 };
	const char *v = vals;
	uint32_t keys[BATCH];

	for (size_t i = 0; i < n; i += BATCH) {
		__u32 count = n - i < BATCH ? (__u32)(n - i) : BATCH;

		for (__u32 j = 0; j < count; j++)
			keys[j] = base + (uint32_t)(i + j);
		if (bpf_map_update_batch(fd, keys, v + i * size, &count, NULL))
			return -errno;
	}
	return 0;
}

/* A value's posting list in its entry (ktables_posting). */
static void set_posting(struct bpfbus_vent *e, const struct ktables *kt, uint32_t v)
{
	uint16_t flags = 0;

	e->post = ktables_posting(kt, v, &flags);
	e->flags = (e->flags & ~(BPFBUS_V_SINGLE | BPFBUS_V_RULE)) | flags;
}

/* Value key @v into the digest-keyed value map (struct bpfbus_vhkey): a
 * second value with the same key marks the entry collided, which makes the
 * kernel hand such events to userspace. */
static int load_value(int fd, const struct ktables *kt, uint32_t v)
{
	const struct bpfbus_vkey *vk = &kt->vkeys[v];
	struct bpfbus_vhkey hk = { .path = vk->path,
				   .slot = vk->slot,
				   .kind = vk->kind,
				   .len = vk->len,
				   .digest = bpfbus_val_digest(vk->val, vk->len) };
	struct bpfbus_vent e = { 0 };

	set_posting(&e, kt, v);
	e.flags |= kt->v_collided[v] ? BPFBUS_V_COLLIDED : 0;
	memcpy(e.val, vk->val, sizeof(e.val));
	if (!bpf_map_update_elem(fd, &hk, &e, BPF_NOEXIST))
		return 0;
	if (errno != EEXIST || bpf_map_lookup_elem(fd, &hk, &e))
		return -errno;
	if (memcmp(e.val, vk->val, sizeof(e.val)))
		e.flags |= BPFBUS_V_COLLIDED;
	else
		set_posting(&e, kt, v); /* the same value left from an uncleared slot */
	return bpf_map_update_elem(fd, &hk, &e, BPF_EXIST) ? -errno : 0;
}

size_t ktables_bytes(const struct ktables *kt)
{
	return BPFBUS_PATH_BUCKETS * sizeof(*kt->pbuckets) + kt->n_paths * sizeof(*kt->kpath) +
	       kt->n_postings * sizeof(uint32_t) + kt->hdr.n_conds * sizeof(*kt->conds) +
	       kt->hdr.n_branches * sizeof(*kt->branches) + kt->n_inodes * sizeof(*kt->inodes) +
	       kt->n_ivals * sizeof(*kt->ivals) + kt->n_wild * sizeof(*kt->wild) +
	       kt->n_c6 * (sizeof(*kt->c6keys) + sizeof(*kt->c6posts)) +
	       kt->n_grids * sizeof(*kt->grids) + kt->n_gbounds * sizeof(*kt->gbounds) +
	       kt->n_gcells * sizeof(*kt->gcells) + kt->n_boxes * sizeof(*kt->boxes) +
	       BPFBUS_VTAB_BUCKETS * sizeof(*kt->vtab) + kt->n_vfilter * sizeof(*kt->vfilter) +
	       kt->n_vhash * (sizeof(struct bpfbus_vhkey) + sizeof(struct bpfbus_vent)) +
	       sizeof(kt->hdr);
}

int ktables_load(const struct ktables *kt, const struct ktable_fds *fds)
{
	uint32_t slot = kt->slot;
	int r;

	if ((r = fill_array(fds->paths, slot * BPFBUS_PATH_BUCKETS, kt->pbuckets,
			    sizeof(*kt->pbuckets), BPFBUS_PATH_BUCKETS)) ||
	    (r = fill_array(fds->kpaths, slot * BPFBUS_MAX_PATHS, kt->kpath, sizeof(*kt->kpath),
			    kt->n_paths)) ||
	    (r = fill_array(fds->postings, slot * BPFBUS_MAX_POSTINGS, kt->postings,
			    sizeof(uint32_t), kt->n_postings)) ||
	    (r = fill_array(fds->conds, slot * BPFBUS_MAX_CONDS, kt->conds, sizeof(*kt->conds),
			    kt->hdr.n_conds)) ||
	    (r = fill_array(fds->branches, slot * BPFBUS_MAX_BRANCHES, kt->branches,
			    sizeof(*kt->branches), kt->hdr.n_branches)) ||
	    (r = fill_array(fds->inodes, slot * BPFBUS_MAX_INODES, kt->inodes, sizeof(*kt->inodes),
			    kt->n_inodes)) ||
	    (r = fill_array(fds->ivals, slot * BPFBUS_MAX_IVALS, kt->ivals, sizeof(*kt->ivals),
			    kt->n_ivals)) ||
	    (r = fill_array(fds->wild, slot * BPFBUS_MAX_WILD, kt->wild, sizeof(*kt->wild),
			    kt->n_wild)) ||
	    (r = fill_array(fds->grids, slot * BPFBUS_MAX_GRIDS, kt->grids, sizeof(*kt->grids),
			    kt->n_grids)) ||
	    (r = fill_array(fds->gbounds, slot * BPFBUS_MAX_GBOUNDS, kt->gbounds,
			    sizeof(*kt->gbounds), kt->n_gbounds)) ||
	    (r = fill_array(fds->gcells, slot * BPFBUS_MAX_GCELLS, kt->gcells, sizeof(*kt->gcells),
			    kt->n_gcells)) ||
	    (r = fill_array(fds->boxes, slot * BPFBUS_MAX_BOXES, kt->boxes, sizeof(*kt->boxes),
			    kt->n_boxes)))
		return r;
	if ((r = fill_array(fds->vtab, slot * BPFBUS_VTAB_BUCKETS, kt->vtab, sizeof(*kt->vtab),
			    BPFBUS_VTAB_BUCKETS)) ||
	    (r = fill_array(fds->vfilter, slot * BPFBUS_VFILTER_WORDS, kt->vfilter,
			    sizeof(*kt->vfilter), kt->n_vfilter)))
		return r;
	for (size_t i = 0; i < kt->n_vhash; i++)
		if ((r = load_value(fds->values, kt, kt->vhash[i])))
			return r;
	for (size_t i = 0; i < kt->n_c6; i++)
		if (bpf_map_update_elem(fds->cidr6, &kt->c6keys[i], &kt->c6posts[i], BPF_ANY))
			return -errno;
	/* the header last: it is what makes the slot's contents meaningful */
	if (bpf_map_update_elem(fds->header, &slot, &kt->hdr, BPF_ANY))
		return -errno;
	return 0;
}

void ktables_fds_from_object(struct bpf_object *obj, struct ktable_fds *fds)
{
	*fds = (struct ktable_fds){
		.paths = bpf_object__find_map_fd_by_name(obj, "km_pathtab"),
		.kpaths = bpf_object__find_map_fd_by_name(obj, "km_kpaths"),
		.values = bpf_object__find_map_fd_by_name(obj, "km_values"),
		.postings = bpf_object__find_map_fd_by_name(obj, "km_postings"),
		.conds = bpf_object__find_map_fd_by_name(obj, "km_conds"),
		.branches = bpf_object__find_map_fd_by_name(obj, "km_branches"),
		.header = bpf_object__find_map_fd_by_name(obj, "km_header"),
		.inodes = bpf_object__find_map_fd_by_name(obj, "km_inodes"),
		.ivals = bpf_object__find_map_fd_by_name(obj, "km_ivals"),
		.wild = bpf_object__find_map_fd_by_name(obj, "km_wild"),
		.cidr6 = bpf_object__find_map_fd_by_name(obj, "km_cidr6"),
		.grids = bpf_object__find_map_fd_by_name(obj, "km_grids"),
		.gbounds = bpf_object__find_map_fd_by_name(obj, "km_gbounds"),
		.gcells = bpf_object__find_map_fd_by_name(obj, "km_gcells"),
		.boxes = bpf_object__find_map_fd_by_name(obj, "km_boxes"),
		.vtab = bpf_object__find_map_fd_by_name(obj, "km_vtab"),
		.vfilter = bpf_object__find_map_fd_by_name(obj, "km_vfilter"),
	};
}

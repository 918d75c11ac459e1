// SPDX-License-Identifier: BSD-2-Clause
/*
 * The value table for the kernel (km_vtab, include/bpfbus/tables.h): the
 * value keys placed into 64-byte buckets by cuckoo hashing, after the
 * condition classes have rewritten their posting lists. A key the table
 * cannot hold (a value longer than a bucket keeps, or no room) goes to the
 * hash map km_values instead, and its path is flagged BPFBUS_P_VHASH.
 *
 * Two values of one (path, kind, length) with the same digest share a
 * bucket flagged BPFBUS_V_COLLIDED: the kernel hands an event value that
 * reaches it to userspace (VERIFY), so the digest never decides by itself.
 */
#include "ktables.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

static const struct ktables *sort_kt; /* for cmp_vkey: qsort takes no argument */

static uint64_t vkey_digest(const struct bpfbus_vkey *k)
{
	return bpfbus_val_digest(k->val, k->len);
}

/* By (path, kind, length, digest): keys that would share a bucket adjoin. */
static int cmp_vkey(const void *a, const void *b)
{
	const struct bpfbus_vkey *x = &sort_kt->vkeys[*(const uint32_t *)a];
	const struct bpfbus_vkey *y = &sort_kt->vkeys[*(const uint32_t *)b];
	uint64_t dx = vkey_digest(x), dy = vkey_digest(y);

	if (x->path != y->path)
		return x->path < y->path ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return dx < dy ? -1 : dx > dy;
}

static bool same_bucket_key(const struct bpfbus_vkey *x, const struct bpfbus_vkey *y)
{
	return x->path == y->path && x->kind == y->kind && x->len == y->len &&
	       vkey_digest(x) == vkey_digest(y);
}

struct bpfbus_posting ktables_posting(const struct ktables *kt, uint32_t v, uint16_t *flags)
{
	struct bpfbus_posting p = kt->vposts[v];
	const struct bpfbus_kcond *kc;

	*flags = 0;
	if (p.count != 1)
		return p;
	*flags = BPFBUS_V_SINGLE;
	p.first = kt->postings[p.first];
	if (ktables_exclusion_kind(kt->vkeys[v].kind))
		return p; /* an anything-but id */
	kc = &kt->conds[p.first];
	if (kc->flags & BPFBUS_KC_ALONE) {
		*flags |= BPFBUS_V_RULE;
		p = (struct bpfbus_posting){ kc->rule, kc->bus };
	}
	return p;
}

static struct bpfbus_vbucket make_bucket(const struct ktables *kt, uint32_t v)
{
	const struct bpfbus_vkey *k = &kt->vkeys[v];
	struct bpfbus_vbucket b = { .digest = vkey_digest(k),
				    .path1 = k->path + 1,
				    .kind = k->kind,
				    .len = k->len,
				    .flags = kt->v_collided[v] ? BPFBUS_V_COLLIDED : 0 };
	uint16_t flags;

	b.post = ktables_posting(kt, v, &flags);
	b.flags |= flags;
	memcpy(b.val, k->val, BPFBUS_VTAB_VAL);
	return b;
}

/*
 * Put bucket @b (of value key @v) into the table: its first free bucket, else
 * evict the first bucket's key to its other bucket, and so on. Returns the
 * value key left without a bucket when the moves run out, or -1.
 */
static int64_t place(struct ktables *kt, uint32_t *owner, struct bpfbus_vbucket b, uint32_t v)
{
	uint32_t from = UINT32_MAX;

	for (int moves = 0; moves < 256; moves++) {
		uint32_t c[2];

		for (int i = 0; i < 2; i++)
			c[i] = bpfbus_vtab_bucket(b.path1 - 1, b.kind, b.len, b.digest, i);
		for (int i = 0; i < 2; i++)
			if (!kt->vtab[c[i]].path1) {
				kt->vtab[c[i]] = b;
				owner[c[i]] = v;
				return -1;
			}
		uint32_t at = c[0] == from ? c[1] : c[0];
		struct bpfbus_vbucket out = kt->vtab[at];
		uint32_t out_v = owner[at];

		kt->vtab[at] = b;
		owner[at] = v;
		b = out;
		v = out_v;
		from = at;
	}
	return v;
}

/* Each path's value filter: 16 bits a key, within the slot's words. */
static void build_filters(struct ktables *kt)
{
	uint32_t *keys = xcalloc(kt->n_paths + 1, sizeof(*keys));
	size_t room = BPFBUS_VFILTER_WORDS - 1;

	for (size_t v = 0; v < kt->n_values; v++)
		keys[kt->vkeys[v].path]++;
	kt->vfilter = xcalloc(BPFBUS_VFILTER_WORDS, sizeof(*kt->vfilter));
	kt->n_vfilter = 1; /* word 0: the filter of paths without keys */
	for (size_t p = 0; p < kt->n_paths; p++) {
		uint32_t log2 = BPFBUS_VFILTER_MIN_LOG2;

		kt->kpath[p].vf_first = 0;
		kt->kpath[p].vf_log2 = 6;
		if (!keys[p])
			continue;
		while (log2 < BPFBUS_VFILTER_MAX_LOG2 && (1ull << log2) < 16ull * keys[p])
			log2++;
		while (log2 > 6 && (1ull << (log2 - 6)) > room)
			log2--; /* out of room: a smaller filter proves less, never wrongly */
		kt->kpath[p].vf_first = (uint32_t)kt->n_vfilter;
		kt->kpath[p].vf_log2 = log2;
		kt->n_vfilter += 1ull << (log2 - 6);
		room -= 1ull << (log2 - 6);
	}
	for (size_t v = 0; v < kt->n_values; v++) {
		const struct bpfbus_vkey *k = &kt->vkeys[v];
		const struct bpfbus_kpath *kp = &kt->kpath[k->path];
		uint32_t bit = bpfbus_vfilter_bit(k->kind, k->len, vkey_digest(k), kp->vf_log2);

		kt->vfilter[kp->vf_first + bit / 64] |= 1ull << (bit % 64);
	}
	free(keys);
}

void ktables_build_vtab(struct ktables *kt)
{
	uint32_t *order = xcalloc(kt->n_values + 1, sizeof(*order));
	uint32_t *owner = xcalloc(BPFBUS_VTAB_BUCKETS, sizeof(*owner));
	size_t placed = 0;

	kt->vtab = xcalloc(BPFBUS_VTAB_BUCKETS, sizeof(*kt->vtab));
	kt->vhash = xcalloc(kt->n_values + 1, sizeof(*kt->vhash));
	kt->v_collided = xcalloc(kt->n_values + 1, sizeof(*kt->v_collided));
	for (size_t i = 0; i < kt->n_values; i++)
		order[i] = (uint32_t)i;
	sort_kt = kt;
	if (kt->n_values)
		qsort(order, kt->n_values, sizeof(*order), cmp_vkey);
	for (size_t i = 0, j; i < kt->n_values; i = j) {
		const struct bpfbus_vkey *k = &kt->vkeys[order[i]];
		int64_t homeless = order[i];

		for (j = i + 1; j < kt->n_values && same_bucket_key(k, &kt->vkeys[order[j]]); j++)
			;
		/* a group's first key stands for the group */
		kt->v_collided[order[i]] = j - i > 1;
		if (k->len <= BPFBUS_VTAB_VAL && placed < BPFBUS_VTAB_BUCKETS / 2) {
			homeless = place(kt, owner, make_bucket(kt, order[i]), order[i]);
			placed++;
		}
		if (homeless < 0)
			continue;
		kt->vhash[kt->n_vhash++] = (uint32_t)homeless;
		kt->kpath[kt->vkeys[homeless].path].flags |= BPFBUS_P_VHASH;
	}
	free(owner);
	free(order);
	build_filters(kt);
}

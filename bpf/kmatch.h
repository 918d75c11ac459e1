/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * The kernel matcher: the userspace matcher's counting scheme (userspace/lib/
 * matcher.c) over the tables of include/bpfbus/tables.h.
 *
 * After json_scan() has listed the leaves on used paths, each leaf is looked
 * up in its path's value keys (exact, case-folded, every prefix/suffix length
 * the path uses, anything-but exclusions); each hit marks a condition; a
 * branch whose positive conditions are all marked becomes a candidate, and
 * candidates are checked once at the end (exists:false, array consistency).
 * No step loops over rules. Where the tables cannot decide exactly the event
 * is flagged VERIFY instead (see ktables.c for what that covers).
 *
 * Verifier notes: the work is split into global (non-static, noinline)
 * functions taking only scalars. The verifier checks each of those once, on
 * its own, instead of once per call site inside nested bpf_loop callbacks,
 * which exhausted its 1M-instruction budget. Global functions cannot receive
 * pointers to map values, so each one looks up the per-CPU state itself
 * (km_scan, km_match: one entry each, key 0). Byte copies go through
 * bpf_loop callbacks for the same reason.
 *
 * The includer includes kmatch_maps.h first.
 */
#ifndef BPFBUS_KMATCH_H
#define BPFBUS_KMATCH_H

#include "bpfbus/hexdigit.h"
#include "bpfbus/numkey.h"
#include "bpfbus/tables.h"
#include "json_scan.h"

#define KM_NOINLINE __attribute__((noinline))

static __always_inline struct scan_state *km_scan_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&km_scan, &zero);
}

static __always_inline struct km_state *km_match_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&km_match, &zero);
}

/* Entry @i of the posting list at @first of table slot @slot, or NULL. */
static __always_inline __u32 *km_posting(__u32 slot, __u32 first, __u32 i)
{
	__u32 idx = slot * BPFBUS_MAX_POSTINGS + first + i;

	return bpf_map_lookup_elem(&km_postings, &idx);
}

/* ---- marking ------------------------------------------------------------ */

static __always_inline void km_candidate(struct km_state *m, __u32 cand)
{
	if (m->n_cands >= KM_MAX_CANDS) {
		m->verify |= KM_VERIFY_CANDS;
		return;
	}
	m->cands[m->n_cands & (KM_MAX_CANDS - 1)] = cand;
	m->n_cands++;
}

/* Report rule @rule once; 1 when there are more than the kernel lists. */
static __always_inline int km_report(struct km_state *m, __u32 rule)
{
	__u32 *rs = bpf_map_lookup_elem(&km_rule_seen, &rule);

	if (!rs || *rs == m->epoch)
		return 0;
	*rs = m->epoch;
	if (m->n_out >= KM_MAX_OUT) {
		m->verify |= KM_VERIFY_OUT;
		return 1;
	}
	m->out[m->n_out & (KM_MAX_OUT - 1)] = rule;
	m->n_out++;
	return 0;
}

/* Mark condition class @cond. The first time in an event it counts for its
 * counted branch, and an anchor class is kept for the candidate pass. */
static __always_inline int km_mark_cond(struct km_state *m, __u32 cond, __u32 objarr)
{
	__u32 idx = m->slot * BPFBUS_MAX_CONDS + cond;
	struct km_mark *mk = bpf_map_lookup_elem(&km_cond_mark, &idx);

	if (!mk)
		return 0;
	objarr = objarr ? KM_SAT_OBJARR : 0;
	if (m->cur_arrays) {
		/* for the consistency check: which leaf, in which array element */
		if (m->n_sats < KM_MAX_SATS)
			m->sats[m->n_sats & (KM_MAX_SATS - 1)] =
				(struct km_sat){.cls = cond, .leaf = m->cur_leaf};
		m->n_sats++;
	} else {
		objarr |= KM_SAT_TOP;
	}
	if (mk->epoch == m->epoch) {
		mk->objarr |= objarr;
		return 0;
	}
	mk->epoch = m->epoch;
	mk->objarr = objarr;
	m->marked[(cond / 64) % (KM_MARKED_BITS / 64)] |= 1ULL << (cond % 64);
	struct bpfbus_kcond *kc = bpf_map_lookup_elem(&km_conds, &idx);

	if (!kc)
		return 0;
	if (kc->anchored.count)
		km_candidate(m, cond | KM_CAND_ANCHOR);
	if (kc->branch == BPFBUS_NO_NODE)
		return 0;
	if (kc->flags & BPFBUS_KC_ALONE) { /* the branch is this class */
		if (kc->bus == m->bus)
			km_candidate(m, kc->rule | KM_CAND_RULE);
		return 0;
	}
	if (kc->need == 1) { /* no count to keep */
		km_candidate(m, kc->branch);
		return 0;
	}
	__u32 bidx = m->slot * BPFBUS_MAX_BRANCHES + kc->branch;
	struct km_count *bc = bpf_map_lookup_elem(&km_branch_count, &bidx);

	if (!bc)
		return 0;
	if (bc->epoch != m->epoch) {
		bc->epoch = m->epoch;
		bc->count = 0;
	}
	if (++bc->count == kc->need)
		km_candidate(m, kc->branch);
	return 0;
}

/* Mark anything-but id @ab excluded by the leaf with stamp @stamp. */
static __always_inline void km_exclude(__u32 slot, __u32 ab, __u32 stamp)
{
	__u32 aidx = slot * BPFBUS_MAX_AB + ab;
	__u32 *ex = bpf_map_lookup_elem(&km_ab_excl, &aidx);

	if (ex)
		*ex = stamp;
}

/* A hit: mark condition @id, or (@mode 1) exclude anything-but id @id. */
static __always_inline void km_hit(struct km_state *m, __u32 id, __u32 mode, __u32 objarr,
				   __u32 stamp)
{
	if (mode)
		km_exclude(m->slot, id, stamp);
	else
		km_mark_cond(m, id, objarr);
}

struct km_visit_ctx {
	struct km_state *m;
	__u32 first, count, mode, objarr, stamp;
};

/* Entries a km_visit_cb call takes: a callback per entry was most of the
 * cost of long posting lists (many rules sharing a value). */
#define KM_VISIT_BATCH 4

static long km_visit_cb(__u64 i, void *arg)
{
	struct km_visit_ctx *v = arg;
	struct km_state *m = v->m;
	__u32 at = (__u32)i * KM_VISIT_BATCH;

	for (__u32 j = 0; j < KM_VISIT_BATCH; j++) {
		if (at + j >= v->count)
			return 1;
		__u32 *id = km_posting(m->slot, v->first, at + j);

		if (!id)
			return 1;
		km_hit(m, *id, v->mode, v->objarr, v->stamp);
	}
	return 0;
}

/* Walk a posting list in the caller's frame (no call of its own: see
 * km_visit_key). */
static __always_inline void km_walk(struct km_state *m, __u32 first, __u32 count, __u32 mode,
				    __u32 objarr)
{
	struct km_visit_ctx v = {.m = m, .first = first, .count = count, .mode = mode,
				 .objarr = objarr, .stamp = m->leaf_stamp};

	if (count)
		bpf_loop((count + KM_VISIT_BATCH - 1) / KM_VISIT_BATCH, km_visit_cb, &v, 0);
}

/* Mark (mode 0) or exclude (mode 1: anything-but ids) a posting list. */
KM_NOINLINE int km_visit(__u32 first, __u32 count, __u32 mode, __u32 objarr)
{
	struct km_state *m = km_match_state();

	if (m)
		km_walk(m, first, count, mode, objarr);
	return 0;
}

/* The key's bucket in km_vtab, or NULL. Both candidate buckets are read
 * before either is tested, so their cache misses overlap. */
static __always_inline struct bpfbus_vbucket *km_vtab_find(const struct bpfbus_vhkey *hk)
{
	__u32 b1 = hk->slot * BPFBUS_VTAB_BUCKETS +
		   bpfbus_vtab_bucket(hk->path, hk->kind, hk->len, hk->digest, 0);
	__u32 b2 = hk->slot * BPFBUS_VTAB_BUCKETS +
		   bpfbus_vtab_bucket(hk->path, hk->kind, hk->len, hk->digest, 1);
	struct bpfbus_vbucket *v1 = bpf_map_lookup_elem(&km_vtab, &b1);
	struct bpfbus_vbucket *v2 = bpf_map_lookup_elem(&km_vtab, &b2);

	if (!v1 || !v2)
		return NULL;
	__u64 d1 = v1->digest, d2 = v2->digest;

	if (d1 == hk->digest && v1->path1 == hk->path + 1 && v1->kind == hk->kind &&
	    v1->len == hk->len)
		return v1;
	if (d2 == hk->digest && v2->path1 == hk->path + 1 && v2->kind == hk->kind &&
	    v2->len == hk->len)
		return v2;
	return NULL;
}

/* A value entry found for m->key, whose bytes differ from the key's unless
 * @diff is 0: mark (or exclude) its posting list. */
static __always_inline void km_entry_visit(struct km_state *m, __u32 flags,
					   const struct bpfbus_posting *post, __u64 diff,
					   __u32 mode, __u32 objarr)
{
	if (flags & BPFBUS_V_COLLIDED) {
		m->verify |= KM_VERIFY_VALUE; /* the digest stands for several values */
		return;
	}
	if (diff)
		return;
	if (flags & BPFBUS_V_RULE) { /* a one-field branch: its rule */
		if (post->count == m->bus)
			km_report(m, post->first);
	} else if (flags & BPFBUS_V_SINGLE) {
		km_hit(m, post->first, mode, objarr, m->leaf_stamp);
	} else {
		km_walk(m, post->first, post->count, mode, objarr);
	}
}

/* Whether @kp's value filter may hold a key of @kind, @len and @digest: a
 * clear bit proves it is in none of the path's keys. */
static __always_inline int km_filter_may(struct km_state *m, struct bpfbus_kpath *kp, __u32 kind,
					 __u32 len, __u64 digest)
{
	__u32 bit = bpfbus_vfilter_bit(kind, len, digest, kp->vf_log2);
	__u32 widx = m->slot * BPFBUS_VFILTER_WORDS + kp->vf_first + bit / 64;
	__u64 *fw = bpf_map_lookup_elem(&km_vfilter, &widx);

	return fw && (*fw & (1ULL << (bit % 64)));
}

/* Look up the key in m->key, whose digest is @digest, on path @kp and visit
 * its posting list (in the caller's frame, not through km_visit: BPF allows
 * 8 frames of calls and callbacks, and this path is the deepest). */
static __always_inline void km_visit_key(struct km_state *m, struct bpfbus_kpath *kp, __u64 digest,
					 __u32 mode, __u32 objarr)
{
	struct bpfbus_vhkey hk = { .path = m->key.path,
				   .slot = m->key.slot,
				   .kind = m->key.kind,
				   .len = m->key.len,
				   .digest = digest };
	struct bpfbus_vent *e;
	__u64 diff = 0;

	if (hk.len <= BPFBUS_VTAB_VAL) {
		struct bpfbus_vbucket *v = km_vtab_find(&hk);

		if (v) {
			for (__u32 j = 0; j < BPFBUS_VTAB_VAL; j += 8)
				diff |= *(__u64 *)(v->val + j) ^ *(__u64 *)(m->key.val + j);
			km_entry_visit(m, v->flags, &v->post, diff, mode, objarr);
			return;
		}
	}
	if (!(kp->flags & BPFBUS_P_VHASH))
		return;
	e = bpf_map_lookup_elem(&km_values, &hk);
	if (!e)
		return;
	for (__u32 j = 0; j < BPFBUS_VAL_MAX; j += 8)
		diff |= *(__u64 *)(e->val + j) ^ *(__u64 *)(m->key.val + j);
	km_entry_visit(m, e->flags, &e->post, diff, mode, objarr);
}

/* The path of m->key, or NULL. */
static __always_inline struct bpfbus_kpath *km_key_path(struct km_state *m)
{
	__u32 pidx = m->slot * BPFBUS_MAX_PATHS + m->key.path;

	return bpf_map_lookup_elem(&km_kpaths, &pidx);
}

/* The key already in m->key (numbers, literals): its lookup and postings. */
KM_NOINLINE int km_lookup_visit(__u32 mode, __u32 objarr)
{
	struct km_state *m = km_match_state();

	if (!m)
		return 0;
	struct bpfbus_kpath *kp = km_key_path(m);
	__u64 digest = bpfbus_val_digest(m->key.val, m->key.len);

	if (kp && km_filter_may(m, kp, m->key.kind, m->key.len, digest))
		km_visit_key(m, kp, digest, mode, objarr);
	return 0;
}

/* ---- keys ----------------------------------------------------------------- */

/* Where a string value's bytes are: the body, the case-folded copy, or the
 * copy with its escapes decoded. */
enum km_src { KM_SRC_BODY = 0, KM_SRC_FOLD = 1, KM_SRC_STR = 2 };

static __always_inline __u8 km_byte(struct scan_state *s, struct km_state *m, __u32 src,
				    __u32 i)
{
	if (src == KM_SRC_FOLD)
		return m->fold[i & (BPFBUS_VAL_MAX - 1)];
	if (src == KM_SRC_STR)
		return m->str[i & (BPFBUS_VAL_MAX - 1)];
	return s->buf[i & SCAN_BODY_MASK];
}

/* Eight bytes of the value source from @i (see km_byte). The body buffer
 * and the 64-byte arrays are followed by other fields of their map values,
 * so a load at any masked offset stays inside the value. */
static __always_inline __u64 km_load8(struct scan_state *s, struct km_state *m, __u32 src,
				      __u32 i)
{
	if (src == KM_SRC_FOLD)
		return *(__u64 *)(m->fold + (i & (BPFBUS_VAL_MAX - 1)));
	if (src == KM_SRC_STR)
		return *(__u64 *)(m->str + (i & (BPFBUS_VAL_MAX - 1)));
	return *(__u64 *)(s->buf + (i & SCAN_BODY_MASK));
}

#define KM_KEY_MODE 4 /* km_key_visit flags: the mode of km_hit */
#define KM_KEY_OBJARR 8 /* the leaf sits in an object inside an array */

/*
 * The key of @kind for the @len bytes of the value source (flags & 3) at
 * @off: its lookup and postings. The digest is taken as the words are read
 * and the path's filter tested first, so a value in none of the path's
 * keys (most of them) costs a word or two; only for one that may be there
 * is the rest of m->key.val zeroed for the compare. One call for what were
 * two (fill, then look up), in every exact, folded and affix lookup.
 */
KM_NOINLINE int km_key_visit(__u32 kind, __u32 off, __u32 len, __u32 flags)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();
	__u32 src = flags & 3;
	__u64 h = BPFBUS_VAL_DIGEST_SEED;

	if (!s || !m)
		return 0;
	if (len > BPFBUS_VAL_MAX)
		len = BPFBUS_VAL_MAX;
	/* in the map value, not in registers kept across the calls below: the
	 * deepest chain of frames is at the verifier's 512 bytes of stack */
	m->key.kind = kind;
	m->key.len = len;
	for (__u32 j = 0; j < BPFBUS_VAL_MAX; j += 8) {
		if (j >= len)
			break;
		__u64 w = km_load8(s, m, src, off + j);

		if (len - j < 8) /* little-endian: the low bytes come first */
			w &= (1ULL << ((len - j) * 8)) - 1;
		*(__u64 *)(m->key.val + j) = w;
		h = bpfbus_val_digest_word(h, w);
	}
	struct bpfbus_kpath *kp = km_key_path(m);

	if (!kp || !km_filter_may(m, kp, m->key.kind, m->key.len, h))
		return 0;
	len = m->key.len;
	/* the words past the value read as zero in the compare */
	for (__u32 j = 0; j < BPFBUS_VAL_MAX; j += 8)
		if (j >= len)
			*(__u64 *)(m->key.val + j) = 0;
	km_visit_key(m, kp, h, (flags & KM_KEY_MODE) ? 1 : 0, (flags & KM_KEY_OBJARR) ? 1 : 0);
	return 0;
}

/* Fold the value source's bytes at off into m->fold; -1 if not all ASCII. */
KM_NOINLINE int km_fold(__u32 off, __u32 len, __u32 src)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return -1;
	/* a word at a time: a callback per byte cost more than the lookup */
	for (__u32 j = 0; j < BPFBUS_VAL_MAX; j += 8) {
		__u64 w = 0, upper;

		if (j < len) {
			w = km_load8(s, m, src, off + j);
			if (len - j < 8)
				w &= (1ULL << ((len - j) * 8)) - 1;
		}
		if (w & BYTES_80)
			return -1; /* not ASCII: full Unicode folding is userspace's */
		/* bytes below 0x80 plus at most 0x3f carry into no neighbour:
		 * bit 7 says byte >= 'A', and in the second sum byte > 'Z' */
		upper = (w + BYTES_01 * (0x80 - 'A')) & ~(w + BYTES_01 * (0x80 - 'Z' - 1)) & BYTES_80;
		*(__u64 *)(m->fold + j) = w | (upper >> 2);
	}
	return 0;
}

#define KM_AFFIX_FOLD 1
#define KM_AFFIX_SUFFIX 2
#define KM_AFFIX_EXCLUDE 4
#define KM_AFFIX_OBJARR 8
#define KM_AFFIX_SRC(src) ((src) << 4) /* the value source when not folded */

struct km_affix_ctx {
	__u64 bits;
	__u32 kind, off, len, src, suffix, mode, objarr;
};

/* Index of the lowest set bit of @x (not 0), by a de Bruijn sequence: BPF
 * has no count-trailing-zeros instruction. */
static const __u8 km_debruijn[64] = {
	0,  1,	48, 2,	57, 49, 28, 3,	61, 58, 50, 42, 38, 29, 17, 4,
	62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
	63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
	46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9,	13, 8,	7,  6,
};

static __always_inline __u32 km_lowest_bit(__u64 x)
{
	return km_debruijn[((x & -x) * 0x03f79d71b4cb0a89ULL) >> 58];
}

/* One length of the set per callback, lowest first: a callback per
 * possible length cost more than the lookups. */
static long km_affix_cb(__u64 i, void *arg)
{
	struct km_affix_ctx *a = arg;

	(void)i;
	if (!a->bits)
		return 1;
	__u32 L = km_lowest_bit(a->bits);

	a->bits &= a->bits - 1;
	if (L > a->len)
		return 1;
	__u32 start = a->suffix ? a->len - L : 0;

	km_key_visit(a->kind, a->off + start, L,
		     a->src | (a->mode ? KM_KEY_MODE : 0) | (a->objarr ? KM_KEY_OBJARR : 0));
	return 0;
}

/* Look up every prefix (or suffix) length in @bits that fits the value. */
KM_NOINLINE int km_affixes(__u64 bits, __u32 kind, __u32 off, __u32 len, __u32 flags)
{
	struct km_affix_ctx a = {.bits = bits,
				 .kind = kind,
				 .off = off,
				 .len = len,
				 .src = (flags & KM_AFFIX_FOLD) ? KM_SRC_FOLD
								: (flags >> 4) & 3,
				 .suffix = (flags >> 1) & 1,
				 .mode = (flags >> 2) & 1,
				 .objarr = (flags >> 3) & 1};

	if (!bits)
		return 0;
	bpf_loop(BPFBUS_AFFIX_MAX + 1, km_affix_cb, &a, 0);
	return 0;
}


/* ---- one leaf -------------------------------------------------------------- */

/* ---- numeric ranges ---------------------------------------------------- */

struct km_stab_ctx {
	__u32 slot, node, objarr;
	__u64 x;
	/* the slice being scanned */
	__u32 first, count, mode; /* mode 0: by lower bound, 1: by upper bound, 2: all */
};

/* x in [lo, hi], each bound open when bit 0 (lo) or bit 1 (hi) of @open. */
static __always_inline int km_in_range(__u64 lo, __u64 hi, __u32 open, __u64 x)
{
	if ((open & 1) ? !(x > lo) : !(x >= lo))
		return 0;
	if ((open & 2) ? !(x < hi) : !(x <= hi))
		return 0;
	return 1;
}

static __always_inline int km_contains(struct bpfbus_ival *iv, __u64 x)
{
	return km_in_range(iv->lo, iv->hi, iv->open, x);
}

/* Entry @k of the run of @count at @first of an array map's slot part at
 * @base, or NULL past the run (for callbacks taking KM_VISIT_BATCH). */
static __always_inline void *km_run_elem(void *map, __u32 base, __u32 first, __u32 count,
					 __u32 k)
{
	__u32 idx = base + first + k;

	return k < count ? bpf_map_lookup_elem(map, &idx) : NULL;
}

/* KM_VISIT_BATCH intervals of the slice per callback (as km_visit_cb). */
static long km_ival_cb(__u64 i, void *arg)
{
	struct km_stab_ctx *c = arg;
	struct km_state *m = km_match_state();
	__u32 at = (__u32)i * KM_VISIT_BATCH;

	for (__u32 j = 0; m && j < KM_VISIT_BATCH; j++) {
		struct bpfbus_ival *iv = km_run_elem(&km_ivals, c->slot * BPFBUS_MAX_IVALS,
						     c->first, c->count, at + j);

		if (!iv)
			return 1;
		/* sorted slices: past the first interval that cannot hold x,
		 * none can */
		if (c->mode == 0 && iv->lo > c->x)
			return 1;
		if (c->mode == 1 && iv->hi < c->x)
			return 1;
		if (km_contains(iv, c->x))
			km_mark_cond(m, iv->cond, c->objarr);
	}
	return 0;
}

static long km_node_cb(__u64 i, void *arg)
{
	struct km_stab_ctx *c = arg;

	(void)i;
	if (c->node == BPFBUS_NO_NODE)
		return 1;
	__u32 idx = c->slot * BPFBUS_MAX_INODES + c->node;
	struct bpfbus_inode *n = bpf_map_lookup_elem(&km_inodes, &idx);

	if (!n)
		return 1;
	__u32 count = n->count;

	if (c->x < n->center) {
		c->first = n->lo_first;
		c->mode = 0;
		c->node = n->left;
	} else if (c->x > n->center) {
		c->first = n->hi_first;
		c->mode = 1;
		c->node = n->right;
	} else {
		c->first = n->lo_first;
		c->mode = 2;
		c->node = BPFBUS_NO_NODE;
	}
	c->count = count;
	bpf_loop((count + KM_VISIT_BATCH - 1) / KM_VISIT_BATCH, km_ival_cb, c, 0);
	return 0;
}

/* Mark every numeric range of the tree at @root holding the number whose
 * order key is in m->key.val. */
KM_NOINLINE int km_stab(__u32 root, __u32 objarr)
{
	struct km_state *m = km_match_state();

	if (!m)
		return 0;
	struct km_stab_ctx c = {.slot = m->slot, .node = root, .objarr = objarr};

	__builtin_memcpy(&c.x, m->key.val, sizeof(c.x));
	/* a balanced tree over at most 2^18 intervals is far shallower */
	bpf_loop(64, km_node_cb, &c, 0);
	return 0;
}

#include "kmatch_grid.h"

/* ---- escapes, wildcards, CIDR -------------------------------------------- */

static __always_inline void km_put(struct km_state *m, __u8 b)
{
	if (m->str_len >= BPFBUS_VAL_MAX) {
		m->ubad = 1;
		return;
	}
	m->str[m->str_len & (BPFBUS_VAL_MAX - 1)] = b;
	m->str_len++;
}

struct km_esc_ctx {
	struct scan_state *s;
	struct km_state *m;
	__u32 off;
};

static long km_unescape_cb(__u64 i, void *arg)
{
	struct km_esc_ctx *c = arg;
	struct km_state *m = c->m;
	__u8 b = c->s->buf[(c->off + (__u32)i) & SCAN_BODY_MASK];

	if (m->ubad)
		return 1;
	if (m->esc == 0) {
		if (b == '\\')
			m->esc = 1;
		else if (m->uhigh)
			m->ubad = 1; /* a high surrogate must be followed by \u */
		else
			km_put(m, b);
		return 0;
	}
	if (m->esc == 1) {
		m->esc = 0;
		if (m->uhigh && b != 'u') {
			m->ubad = 1;
			return 1;
		}
		switch (b) {
		case 'b': km_put(m, 8); break;
		case 'f': km_put(m, 12); break;
		case 'n': km_put(m, 10); break;
		case 'r': km_put(m, 13); break;
		case 't': km_put(m, 9); break;
		case 'u':
			m->esc = 2;
			m->uval = 0;
			m->ucnt = 0;
			break;
		default: km_put(m, b); break; /* " \\ / */
		}
		return 0;
	}
	/* \u and four hex digits */
	int h = bb_hex_digit(b);

	if (h < 0) {
		m->ubad = 1;
		return 1;
	}
	m->uval = m->uval * 16 + h;
	if (++m->ucnt < 4)
		return 0;
	m->esc = 0;
	__u32 cp = m->uval;

	/* UTF-16 surrogate pairs (\ud83d\ude80) become one 4-byte UTF-8
	 * sequence, as the userspace JSON parser decodes them; a lone or
	 * reversed half is left to userspace (VERIFY) */
	if (m->uhigh) {
		if (cp < 0xdc00 || cp > 0xdfff) {
			m->ubad = 1;
			return 1;
		}
		cp = 0x10000 + ((m->uhigh - 0xd800) << 10) + (cp - 0xdc00);
		m->uhigh = 0;
		km_put(m, 0xf0 | (cp >> 18));
		km_put(m, 0x80 | ((cp >> 12) & 0x3f));
		km_put(m, 0x80 | ((cp >> 6) & 0x3f));
		km_put(m, 0x80 | (cp & 0x3f));
		return 0;
	}
	if (cp >= 0xd800 && cp <= 0xdbff) {
		m->uhigh = cp;
		return 0;
	}
	if (cp >= 0xdc00 && cp <= 0xdfff) {
		m->ubad = 1;
		return 1;
	}
	if (cp < 0x80) {
		km_put(m, cp);
	} else if (cp < 0x800) {
		km_put(m, 0xc0 | (cp >> 6));
		km_put(m, 0x80 | (cp & 0x3f));
	} else {
		km_put(m, 0xe0 | (cp >> 12));
		km_put(m, 0x80 | ((cp >> 6) & 0x3f));
		km_put(m, 0x80 | (cp & 0x3f));
	}
	return 0;
}

/* Decode the string's escapes into m->str; -1 if it cannot (too long for
 * the buffer, a lone surrogate). */
KM_NOINLINE int km_unescape(__u32 off, __u32 len)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return -1;
	struct km_esc_ctx c = {.s = s, .m = m, .off = off};

	m->str_len = 0;
	m->esc = 0;
	m->ubad = 0;
	m->uhigh = 0;
	bpf_loop(len, km_unescape_cb, &c, 0);
	return m->ubad || m->esc || m->uhigh ? -1 : 0;
}

struct km_wc_ctx {
	struct scan_state *s;
	struct km_state *m;
	__u32 slot, first, src, off, len, mode, objarr, stamp, unfinished;
};

/* One step of the glob matcher ('*' any run; \* and \\ literal), with
 * backtracking to the latest star; its state is in m->wc_*. */
static long km_wc_step_cb(__u64 i, void *arg)
{
	struct km_wc_ctx *c = arg;
	struct km_state *m = c->m;
	__u32 plen = m->wild.len;
	__u32 pi = m->wc_pi, si = m->wc_si;

	(void)i;
	if (si < c->len) {
		if (pi < plen) {
			__u8 p = m->wild.pat[pi & (BPFBUS_WILD_MAX - 1)];
			__u32 step = 1;

			if (p == '\\' && pi + 1 < plen) {
				p = m->wild.pat[(pi + 1) & (BPFBUS_WILD_MAX - 1)];
				step = 2;
			} else if (p == '*') {
				m->wc_star_p = pi + 1;
				m->wc_star_s = si;
				m->wc_pi = pi + 1;
				return 0;
			}
			if (p == km_byte(c->s, m, c->src, c->off + si)) {
				m->wc_pi = pi + step;
				m->wc_si = si + 1;
				return 0;
			}
		}
		if (m->wc_star_p == BPFBUS_NO_NODE) {
			m->wc_result = 0;
			return 1;
		}
		m->wc_pi = m->wc_star_p;
		m->wc_star_s++;
		m->wc_si = m->wc_star_s;
		return 0;
	}
	if (pi < plen && m->wild.pat[pi & (BPFBUS_WILD_MAX - 1)] == '*') {
		m->wc_pi = pi + 1;
		return 0;
	}
	m->wc_result = pi == plen;
	return 1;
}

#define KM_WC_STEPS 65536

static long km_wc_entry_cb(__u64 i, void *arg)
{
	struct km_wc_ctx *c = arg;
	struct km_state *m = c->m;
	__u32 idx = c->slot * BPFBUS_MAX_WILD + c->first + (__u32)i;
	struct bpfbus_wild *w = bpf_map_lookup_elem(&km_wild, &idx);

	if (!w)
		return 1;
	__builtin_memcpy(&m->wild, w, sizeof(*w));
	m->wc_pi = 0;
	m->wc_si = 0;
	m->wc_star_p = BPFBUS_NO_NODE;
	m->wc_star_s = 0;
	m->wc_result = 2; /* unfinished */
	bpf_loop(KM_WC_STEPS, km_wc_step_cb, c, 0);
	if (m->wc_result == 2) {
		c->unfinished = 1; /* pathological: let userspace decide */
		return 1;
	}
	if (m->wc_result)
		km_hit(m, w->id, c->mode, c->objarr, c->stamp);
	return 0;
}

/* Try the wildcard patterns of a posting (mode 1: exclusions) on the value. */
KM_NOINLINE int km_wildcards(__u32 first, __u32 count, __u32 off, __u32 len, __u32 flags)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m || !count)
		return 0;
	struct km_wc_ctx c = {.s = s,
			      .m = m,
			      .slot = m->slot,
			      .first = first,
			      .src = (flags >> 4) & 3,
			      .off = off,
			      .len = len,
			      .mode = (flags & KM_AFFIX_EXCLUDE) ? 1 : 0,
			      .objarr = (flags & KM_AFFIX_OBJARR) ? 1 : 0,
			      .stamp = m->leaf_stamp};

	bpf_loop(count, km_wc_entry_cb, &c, 0);
	if (c.unfinished)
		m->verify |= KM_VERIFY_VALUE;
	return 0;
}

struct km_ip_ctx {
	struct scan_state *s;
	struct km_state *m;
	__u32 src, off;
};

static long km_ip_cb(__u64 i, void *arg)
{
	struct km_ip_ctx *c = arg;
	struct km_state *m = c->m;
	__u8 b = km_byte(c->s, m, c->src, c->off + (__u32)i);

	/* any ':' makes it a candidate IPv6 address, as userspace sees it, so
	 * keep looking for one even after the text stopped being IPv4 */
	if (b == ':') {
		m->ip_bad = 2;
		return 1;
	}
	if (m->ip_bad)
		return 0;
	if (b >= '0' && b <= '9' && m->ip_digits < 3) {
		m->ip_part = m->ip_part * 10 + (b - '0');
		m->ip_digits++;
		if (m->ip_part > 255)
			m->ip_bad = 1;
		return 0;
	}
	if (b == '.' && m->ip_digits && m->ip_parts < 3) {
		m->ip_addr = (m->ip_addr << 8) | m->ip_part;
		m->ip_parts++;
		m->ip_part = 0;
		m->ip_digits = 0;
		return 0;
	}
	m->ip_bad = 1;
	return 0;
}

/* IPv4 blocks: the value as an address, looked up in the block tree.
 * Returns -1 when the value may be an IPv6 address (userspace decides). */
KM_NOINLINE int km_cidr(__u32 root, __u32 src, __u32 off, __u32 len, __u32 objarr)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return 0;
	struct km_ip_ctx c = {.s = s, .m = m, .src = src, .off = off};

	m->ip_addr = 0;
	m->ip_part = 0;
	m->ip_digits = 0;
	m->ip_parts = 0;
	m->ip_bad = 0;
	if (len > 15 + 24) /* longer than any IPv4 text; may still be IPv6 */
		return -1;
	bpf_loop(len, km_ip_cb, &c, 0);
	if (m->ip_bad == 2)
		return -1;
	if (m->ip_bad || m->ip_parts != 3 || !m->ip_digits || root == BPFBUS_NO_NODE)
		return 0;
	__u64 key = ((__u64)m->ip_addr << 8) | m->ip_part;

	__builtin_memset(m->key.val, 0, BPFBUS_VAL_MAX);
	__builtin_memcpy(m->key.val, &key, sizeof(key));
	km_stab(root, objarr);
	return 0;
}

/*
 * IPv6 addresses, read exactly as glibc's inet_pton(AF_INET6) reads them
 * (the userspace matcher's parser): 1-4 hex digits a group, one "::", and
 * an optional dotted IPv4 tail (decimal octets without leading zeros).
 * The decimal value of each group is tracked beside its hex value because
 * a '.' turns the group just read into the tail's first octet.
 */
struct km_ip6_ctx {
	struct scan_state *s;
	struct km_state *m;
	__u32 src, off;
};

static __always_inline int km_ip6_group(struct km_state *m, __u32 v)
{
	if (m->ip6_n >= 8)
		return -1;
	__u32 j = m->ip6_n;

	asm volatile("%0 &= 7" : "+r"(j)); /* see km_ip6_finish */
	m->ip6_grp[j] = (__u16)v;
	m->ip6_n++;
	return 0;
}

/* One byte of the IPv4 tail. */
static __always_inline int km_ip6_tail(struct km_state *m, __u8 b)
{
	if (b >= '0' && b <= '9') {
		if (m->ip6_sawd && m->ip6_cur == 0)
			return -1; /* a leading zero */
		m->ip6_cur = m->ip6_cur * 10 + (b - '0');
		if (m->ip6_cur > 255)
			return -1;
		if (!m->ip6_sawd) {
			if (++m->ip6_oct > 4)
				return -1;
			m->ip6_sawd = 1;
		}
		return 0;
	}
	if (b != '.' || !m->ip6_sawd || m->ip6_oct == 4)
		return -1;
	m->ip6_v4addr = (m->ip6_v4addr << 8) | m->ip6_cur;
	m->ip6_cur = 0;
	m->ip6_sawd = 0;
	return 0;
}

static __always_inline int km_ip6_byte(struct km_state *m, __u8 b, __u32 i)
{
	int d = bb_hex_digit(b);

	if (m->ip6_v4)
		return km_ip6_tail(m, b);
	if (i == 0 && b == ':') {
		m->ip6_lead = 1; /* a leading ':' must start "::" */
		return 0;
	}
	if (i == 1 && m->ip6_lead && b != ':')
		return -1;
	if (d >= 0) {
		if (m->ip6_xd == 4)
			return -1;
		if (d > 9 || (m->ip6_xd && m->ip6_dec == 0))
			m->ip6_decbad = 1;
		else
			m->ip6_dec = m->ip6_dec * 10 + d;
		if (m->ip6_dec > 255)
			m->ip6_decbad = 1;
		m->ip6_val = (m->ip6_val << 4) | (__u32)d;
		m->ip6_xd++;
		return 0;
	}
	if (b == ':') {
		if (!m->ip6_xd) {
			if (m->ip6_colon != ~0u)
				return -1;
			m->ip6_colon = m->ip6_n;
			return 0;
		}
		if (i + 1 == m->ip6_len || km_ip6_group(m, m->ip6_val) < 0)
			return -1;
		m->ip6_xd = 0;
		m->ip6_val = 0;
		m->ip6_dec = 0;
		m->ip6_decbad = 0;
		return 0;
	}
	/* '.': the group just read was the tail's first octet */
	if (b != '.' || m->ip6_n > 6 || !m->ip6_xd || m->ip6_decbad)
		return -1;
	m->ip6_v4 = 1;
	m->ip6_oct = 1;
	m->ip6_v4addr = m->ip6_dec;
	m->ip6_cur = 0;
	m->ip6_sawd = 0;
	return 0;
}

static long km_ip6_cb(__u64 i, void *arg)
{
	struct km_ip6_ctx *c = arg;
	struct km_state *m = c->m;

	if (km_ip6_byte(m, km_byte(c->s, m, c->src, c->off + (__u32)i), (__u32)i) < 0) {
		m->ip6_bad = 1;
		return 1;
	}
	return 0;
}

/* The parsed groups as an address; -1 if they do not make one. */
static __always_inline int km_ip6_finish(struct km_state *m, __u8 addr[16])
{
	if (m->ip6_v4) {
		if (m->ip6_oct < 4 || !m->ip6_sawd)
			return -1;
		m->ip6_v4addr = (m->ip6_v4addr << 8) | m->ip6_cur;
		km_ip6_group(m, m->ip6_v4addr >> 16);
		km_ip6_group(m, m->ip6_v4addr & 0xffff);
	} else if (m->ip6_xd && km_ip6_group(m, m->ip6_val) < 0) {
		return -1;
	}
	__u32 n = m->ip6_n, cp = m->ip6_colon, gap;

	if (cp == ~0u) {
		if (n != 8)
			return -1;
		cp = 8;
		gap = 0;
	} else {
		if (n >= 8 || cp > n) /* "::" must stand for at least one group */
			return -1;
		gap = 8 - n;
	}
	for (__u32 g = 0; g < 8; g++) {
		__u32 j = g < cp ? g : g - gap, v;

		/* clang drops a plain "& 7" it can prove redundant; the verifier
		 * cannot, so the mask is kept in asm */
		asm volatile("%0 &= 7" : "+r"(j));
		v = g >= cp && g < cp + gap ? 0 : m->ip6_grp[j];
		addr[2 * g] = (__u8)(v >> 8);
		addr[2 * g + 1] = (__u8)v;
	}
	return 0;
}

/* IPv6 blocks: the value as an address, looked up in the trie of the path
 * in m->key.path. */
KM_NOINLINE int km_cidr6_leaf(__u32 src, __u32 off, __u32 len, __u32 objarr)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m || len < 2 || len >= 64) /* inet_pton's buffer: not an address */
		return 0;
	struct km_ip6_ctx c = {.s = s, .m = m, .src = src, .off = off};
	struct bpfbus_c6key key = {.prefixlen = 32 + 128, .path_slot = m->key.path | (m->slot << 16)};

	m->ip6_n = 0;
	m->ip6_colon = ~0u;
	m->ip6_val = m->ip6_xd = m->ip6_dec = m->ip6_decbad = m->ip6_lead = 0;
	m->ip6_v4 = m->ip6_oct = m->ip6_sawd = m->ip6_cur = m->ip6_v4addr = 0;
	m->ip6_bad = 0;
	m->ip6_len = len;
	bpf_loop(len, km_ip6_cb, &c, 0);
	if (m->ip6_bad || km_ip6_finish(m, key.addr) < 0)
		return 0;
	struct bpfbus_posting *p = bpf_map_lookup_elem(&km_cidr6, &key);

	if (p)
		km_walk(m, p->first, p->count, 0, objarr);
	return 0;
}

/* ---- one string leaf --------------------------------------------------- */

static __always_inline void km_string(struct km_state *m, struct bpfbus_kpath *kp, __u32 off,
				      __u32 len, __u32 escaped, __u32 oa)
{
	__u32 fl = kp->flags;
	__u32 oaf = oa ? KM_AFFIX_OBJARR : 0, koa = oa ? KM_KEY_OBJARR : 0;
	__u32 src = KM_SRC_BODY;

	if (fl & BPFBUS_P_VERIFY_STR) {
		m->verify |= KM_VERIFY_VALUE;
		return;
	}
	if (escaped) {
		/* compare the decoded value: it fits the key buffer, or ask */
		if (km_unescape(off, len) < 0) {
			m->verify |= KM_VERIFY_VALUE;
			return;
		}
		src = KM_SRC_STR;
		off = 0;
		len = m->str_len;
	}
	/* a value longer than a key may still match a longer pattern value */
	if (len > BPFBUS_AFFIX_MAX && (fl & BPFBUS_P_VERIFY_LONG)) {
		m->verify |= KM_VERIFY_VALUE;
		return;
	}
	__u32 sf = KM_AFFIX_SRC(src);

	if ((fl & BPFBUS_P_STR) && len <= kp->max_len)
		km_key_visit(BPFBUS_K_STR, off, len, src | koa);
	if ((fl & BPFBUS_P_AB_STR) && len <= BPFBUS_VAL_MAX)
		km_key_visit(BPFBUS_K_AB_STR, off, len, src | koa | KM_KEY_MODE);
	/* calls are not free: each guard skips one whose table is empty */
	if (kp->pfx)
		km_affixes(kp->pfx, BPFBUS_K_PFX, off, len, oaf | sf);
	if (kp->sfx)
		km_affixes(kp->sfx, BPFBUS_K_SFX, off, len, oaf | sf | KM_AFFIX_SUFFIX);
	if (kp->ab_pfx)
		km_affixes(kp->ab_pfx, BPFBUS_K_AB_PFX, off, len, sf | KM_AFFIX_EXCLUDE);
	if (kp->ab_sfx)
		km_affixes(kp->ab_sfx, BPFBUS_K_AB_SFX, off, len,
			   sf | KM_AFFIX_EXCLUDE | KM_AFFIX_SUFFIX);
	if (kp->wild.count)
		km_wildcards(kp->wild.first, kp->wild.count, off, len, oaf | sf);
	if (kp->ab_wild.count)
		km_wildcards(kp->ab_wild.first, kp->ab_wild.count, off, len, sf | KM_AFFIX_EXCLUDE);
	if ((kp->cidr4_root != BPFBUS_NO_NODE || (fl & BPFBUS_P_CIDR6)) &&
	    km_cidr(kp->cidr4_root, src, off, len, oa) < 0 && (fl & BPFBUS_P_CIDR6))
		km_cidr6_leaf(src, off, len, oa);
	if (!(fl & BPFBUS_P_ANY_FOLD))
		return;
	if (len > BPFBUS_VAL_MAX) {
		/* longer than any folded key: only folded affixes could match */
		if (kp->pfx_eic || kp->sfx_eic)
			m->verify |= KM_VERIFY_VALUE;
		return;
	}
	if (km_fold(off, len, src) < 0) {
		m->verify |= KM_VERIFY_VALUE; /* non-ASCII: full Unicode folding */
		return;
	}
	if ((fl & BPFBUS_P_EIC) && len <= kp->max_len)
		km_key_visit(BPFBUS_K_EIC, 0, len, KM_SRC_FOLD | koa);
	if (fl & BPFBUS_P_AB_EIC)
		km_key_visit(BPFBUS_K_AB_EIC, 0, len, KM_SRC_FOLD | koa | KM_KEY_MODE);
	km_affixes(kp->pfx_eic, BPFBUS_K_PFX_EIC, 0, len, oaf | KM_AFFIX_FOLD);
	km_affixes(kp->sfx_eic, BPFBUS_K_SFX_EIC, 0, len, oaf | KM_AFFIX_FOLD | KM_AFFIX_SUFFIX);
}

struct km_num_ctx {
	struct scan_state *s;
	struct km_state *m;
	__u32 off;
};

static long km_num_cb(__u64 i, void *arg)
{
	struct km_num_ctx *n = arg;

	return bpfbus_numkey_step(&n->m->num, n->s->buf[(n->off + (__u32)i) & SCAN_BODY_MASK],
				  (__u32)i);
}

/* The order key of the number text at off (see numkey.h); -1 if refused. */
KM_NOINLINE int km_numkey(__u32 off, __u32 len)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();
	__u64 key;

	if (!s || !m || len == 0 || len > BPFBUS_NUM_MAX_TEXT)
		return -1;
	struct km_num_ctx n = {.s = s, .m = m, .off = off};

	bpfbus_numkey_init(&m->num);
	bpf_loop(len, km_num_cb, &n, 0);
	if (bpfbus_numkey_finish(&m->num, &key) < 0)
		return -1;
	__builtin_memset(m->key.val, 0, BPFBUS_VAL_MAX);
	__builtin_memcpy(m->key.val, &key, sizeof(key));
	m->key.len = sizeof(key);
	return 0;
}

static __always_inline void km_number(struct km_state *m, struct bpfbus_kpath *kp, __u32 off,
				      __u32 len, __u32 oa)
{
	if (kp->flags & BPFBUS_P_VERIFY_NUM) {
		m->verify |= KM_VERIFY_VALUE;
		return;
	}
	if (!(kp->flags & (BPFBUS_P_NUM | BPFBUS_P_AB_NUM)) && kp->num_root == BPFBUS_NO_NODE &&
	    kp->grid == BPFBUS_NO_NODE)
		return;
	if (km_numkey(off, len) < 0) {
		m->verify |= KM_VERIFY_VALUE;
		return;
	}
	if (kp->flags & BPFBUS_P_NUM) {
		m->key.kind = BPFBUS_K_NUM;
		km_lookup_visit(0, oa);
	}
	if (kp->flags & BPFBUS_P_AB_NUM) {
		m->key.kind = BPFBUS_K_AB_NUM;
		km_lookup_visit(1, oa);
	}
	if (kp->num_root != BPFBUS_NO_NODE)
		km_stab(kp->num_root, oa);
	if (kp->grid != BPFBUS_NO_NODE)
		km_grid_note(m, kp, oa);
}

struct km_ab_ctx {
	__u32 slot, first, stamp, objarr, ab_cond_first;
};

/* anything-but: every id on the path not excluded by this leaf holds. */
static long km_ab_cb(__u64 i, void *arg)
{
	struct km_ab_ctx *a = arg;
	__u32 *ab = km_posting(a->slot, a->first, (__u32)i);

	if (!ab)
		return 1;
	__u32 aidx = a->slot * BPFBUS_MAX_AB + *ab;
	__u32 *ex = bpf_map_lookup_elem(&km_ab_excl, &aidx);

	if (ex && *ex == a->stamp)
		return 0;
	__u32 *cond = km_posting(a->slot, a->ab_cond_first, *ab);
	struct km_state *m = km_match_state();

	if (cond && m)
		km_mark_cond(m, *cond, a->objarr);
	return 0;
}

KM_NOINLINE int km_leaf(__u32 i)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return 1;
	struct bpfbus_leaf *l = &s->res.leaves[i & SCAN_LEAF_MASK];
	__u32 pidx = m->slot * BPFBUS_MAX_PATHS + l->path;
	struct bpfbus_kpath *kp = bpf_map_lookup_elem(&km_kpaths, &pidx);
	__u32 *seen = bpf_map_lookup_elem(&km_path_seen, &pidx);
	__u32 oa = l->in_obj_array;

	if (!kp || !seen)
		return 1;
	*seen = m->epoch;
	m->leaf_stamp++;
	m->cur_leaf = i;
	m->cur_arrays = l->n_arrays;
	m->key.path = l->path;
	m->key.slot = m->slot;
	/* calls are not free: each guard below skips one whose table is empty */
	if (kp->exists.count)
		km_visit(kp->exists.first, kp->exists.count, 0, oa);
	if (l->type == BPFBUS_LEAF_STRING) {
		km_string(m, kp, l->off, l->len, l->escaped, oa);
	} else if (l->type == BPFBUS_LEAF_NUMBER) {
		km_number(m, kp, l->off, l->len, oa);
	} else if (kp->flags & BPFBUS_P_LIT) {
		__builtin_memset(m->key.val, 0, BPFBUS_VAL_MAX);
		m->key.len = 0;
		m->key.kind = l->type == BPFBUS_LEAF_NULL   ? BPFBUS_K_NULL
			      : l->type == BPFBUS_LEAF_TRUE ? BPFBUS_K_TRUE
							    : BPFBUS_K_FALSE;
		km_lookup_visit(0, oa);
	}
	if (kp->ab.count) {
		struct bpfbus_ktable *t = bpf_map_lookup_elem(&km_header, &m->slot);

		if (!t)
			return 1;
		struct km_ab_ctx a = {.slot = m->slot,
				      .first = kp->ab.first,
				      .stamp = m->leaf_stamp,
				      .objarr = oa,
				      .ab_cond_first = t->ab_cond.first};

		bpf_loop(kp->ab.count, km_ab_cb, &a, 0);
	}
	return m->verify ? 1 : 0;
}

static long km_leaf_cb(__u64 i, void *arg)
{
	(void)arg;
	return km_leaf((__u32)i) ? 1 : 0;
}

/* ---- candidates ---------------------------------------------------------- */

#define KM_TUPLE_MASK (KM_TUPLE_MAX - 1)
#define KM_TUPLE_LEAF_MASK (KM_TUPLE_LEAVES - 1)

struct km_check_ctx {
	__u32 slot, epoch, first;
	__u32 failed, objarr;
	__u32 n_pos, pos[KM_TUPLE_MAX]; /* the positive classes (the first few) */
};

/* A candidate's checks: every positive class marked, exists:false fields
 * absent or marked, and array consistency. */
static long km_check_cb(__u64 i, void *arg)
{
	struct km_check_ctx *c = arg;
	__u32 *use = km_posting(c->slot, c->first, (__u32)i);

	if (!use) {
		c->failed = 1;
		return 1;
	}
	__u32 idx = c->slot * BPFBUS_MAX_CONDS + (*use & ~BPFBUS_COND_ABSENT_OK);
	struct km_mark *mk = bpf_map_lookup_elem(&km_cond_mark, &idx);

	if (!mk) {
		c->failed = 1;
		return 1;
	}
	int marked = mk->epoch == c->epoch;

	if (*use & BPFBUS_COND_ABSENT_OK) {
		struct bpfbus_kcond *kc = bpf_map_lookup_elem(&km_conds, &idx);

		if (!kc) {
			c->failed = 1;
			return 1;
		}
		__u32 sidx = c->slot * BPFBUS_MAX_PATHS + kc->path;
		__u32 *seen = bpf_map_lookup_elem(&km_path_seen, &sidx);

		if (!marked && seen && *seen == c->epoch) {
			c->failed = 1; /* present, and no value satisfied it */
			return 1;
		}
		return 0;
	}
	if (!marked) {
		c->failed = 1;
		return 1;
	}
	if (mk->objarr & KM_SAT_OBJARR)
		c->objarr = 1;
	c->pos[c->n_pos & KM_TUPLE_MASK] = *use;
	c->n_pos++;
	return 0;
}

/* ---- array consistency ------------------------------------------------------ */

/* Two leaves agree when every array they share has them at one index (the
 * userspace matcher's leaves_consistent). */
static __always_inline int km_consistent(struct bpfbus_leaf *a, struct bpfbus_leaf *b)
{
	for (__u32 k = 0; k < BPFBUS_SCAN_LEAF_ARRAYS; k++) {
		if (k >= a->n_arrays || k >= b->n_arrays)
			return 1;
		if (a->arr_id[k] != b->arr_id[k])
			return 1;
		if (a->arr_idx[k] != b->arr_idx[k])
			return 0;
	}
	return 1;
}

struct km_tuple_ctx {
	__u32 result; /* 0 none found, 1 a consistent choice, 2 too many leaves */
};

/* The leaves that satisfied each class of m->tup_cls, into m->tup_leaf. */
static long km_gather_cb(__u64 i, void *arg)
{
	struct km_tuple_ctx *p = arg;
	struct km_state *m = km_match_state();

	if (!m)
		return 1;
	struct km_sat *st = &m->sats[i & (KM_MAX_SATS - 1)];

	for (__u32 j = 0; j < KM_TUPLE_MAX; j++) {
		if (j >= m->tup_k)
			break;
		if (st->cls != m->tup_cls[j])
			continue;
		__u32 n = m->tup_n[j];

		if (n >= KM_TUPLE_LEAVES) {
			p->result = 2;
			return 1;
		}
		m->tup_leaf[j][n & KM_TUPLE_LEAF_MASK] = st->leaf;
		m->tup_n[j] = n + 1;
	}
	return 0;
}

/* Choice @i: one leaf of each class (a mixed-radix number over the classes'
 * leaf counts); it holds when every two of its leaves agree. */
static long km_tuple_cb(__u64 i, void *arg)
{
	struct km_tuple_ctx *p = arg;
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();
	__u32 li[KM_TUPLE_MAX] = {}, rem = (__u32)i, k;

	if (!s || !m)
		return 1;
	k = m->tup_k;
	for (__u32 j = 0; j < KM_TUPLE_MAX; j++) {
		__u32 n = m->tup_n[j], at;

		if (j >= k || !n)
			break;
		at = rem % n;
		rem /= n;
		li[j] = m->tup_leaf[j][at & KM_TUPLE_LEAF_MASK];
	}
	for (__u32 a = 1; a < KM_TUPLE_MAX; a++) {
		if (a >= k)
			break;
		for (__u32 b = 0; b < KM_TUPLE_MAX - 1; b++) {
			if (b >= a)
				break;
			if (!km_consistent(&s->res.leaves[li[a & KM_TUPLE_MASK] & SCAN_LEAF_MASK],
					   &s->res.leaves[li[b & KM_TUPLE_MASK] & SCAN_LEAF_MASK]))
				return 0;
		}
	}
	p->result = 1;
	return 1;
}

/*
 * A branch whose positive classes m->tup_cls[0..n) were satisfied inside
 * arrays of objects: is there one leaf per class such that every two sit in
 * one array element wherever they share an array (the userspace matcher's
 * backtracking search, tried exhaustively)? 1 yes, 0 no, -1 when the kernel
 * did not keep enough to tell (then userspace searches). A class that a leaf
 * in no array satisfied agrees with any leaf, so it is left out.
 */
KM_NOINLINE int km_tuple(__u32 n)
{
	struct km_state *m = km_match_state();
	__u32 k = 0, combos = 1;

	if (!m || n > KM_TUPLE_MAX || m->n_sats > KM_MAX_SATS)
		return -1;
	for (__u32 j = 0; j < KM_TUPLE_MAX; j++) {
		if (j >= n)
			break;
		__u32 cls = m->tup_cls[j], idx = m->slot * BPFBUS_MAX_CONDS + cls;
		struct km_mark *mk = bpf_map_lookup_elem(&km_cond_mark, &idx);

		if (!mk)
			return -1;
		if (mk->objarr & KM_SAT_TOP)
			continue;
		m->tup_cls[k & KM_TUPLE_MASK] = cls;
		m->tup_n[k & KM_TUPLE_MASK] = 0;
		k++;
	}
	if (k <= 1)
		return 1;
	m->tup_k = k;
	struct km_tuple_ctx p = {};

	bpf_loop(m->n_sats, km_gather_cb, &p, 0);
	if (p.result)
		return -1;
	for (__u32 j = 0; j < KM_TUPLE_MAX; j++) {
		if (j >= k)
			break;
		if (!m->tup_n[j]) /* a class marked inside arrays keeps its leaves */
			return -1;
		combos *= m->tup_n[j];
	}
	if (combos > KM_TUPLE_COMBOS)
		return -1;
	bpf_loop(combos, km_tuple_cb, &p, 0);
	return p.result == 1;
}

/* Check branch @branch and report its rule; 1 stops the candidate loop.
 * @by_mark: it is a candidate because a positive class of it is marked (a
 * branch of one class then needs no check of its classes). */
KM_NOINLINE int km_branch(__u32 branch, __u32 by_mark)
{
	struct km_state *m = km_match_state();

	if (!m)
		return 1;
	__u32 bidx = m->slot * BPFBUS_MAX_BRANCHES + branch;
	struct bpfbus_kbranch *kb = bpf_map_lookup_elem(&km_branches, &bidx);

	if (!kb)
		return 1;
	struct km_check_ctx c = {.slot = m->slot, .epoch = m->epoch, .first = kb->first_cond};

	/* tables hold every bus's rules; an event only reaches its own */
	if (kb->bus != m->bus)
		return 0;
	if (!by_mark || kb->n_cond != 1)
		bpf_loop(kb->n_cond, km_check_cb, &c, 0);
	if (c.failed)
		return 0;
	if (c.objarr && c.n_pos > 1) {
		/* fields inside arrays of objects must hold in one element */
		int r = -1;

		if (c.n_pos <= KM_TUPLE_MAX) {
			for (__u32 j = 0; j < KM_TUPLE_MAX; j++)
				m->tup_cls[j] = c.pos[j];
			r = km_tuple(c.n_pos);
		}

		if (r < 0) {
			m->verify |= KM_VERIFY_ARRAYS;
			return 1;
		}
		if (!r)
			return 0;
	}
	return km_report(m, kb->rule);
}

struct km_anchor_ctx {
	__u32 slot, first, stop;
};

/* Anchored branch i: its partner class first, from the event's bits. */
static long km_anchor_cb(__u64 i, void *arg)
{
	struct km_anchor_ctx *a = arg;
	__u32 *b = km_posting(a->slot, a->first, 2 * (__u32)i);
	__u32 *p = km_posting(a->slot, a->first, 2 * (__u32)i + 1);
	struct km_state *m = km_match_state();

	if (!b || !p || !m)
		return 1;
	if (!(m->marked[(*p / 64) % (KM_MARKED_BITS / 64)] & (1ULL << (*p % 64))))
		return 0;
	if (km_branch(*b, 1)) {
		a->stop = 1;
		return 1;
	}
	return 0;
}

/* A counted branch, or the branches anchored on a marked class. */
static long km_cand_cb(__u64 i, void *arg)
{
	struct km_state *m = km_match_state();

	(void)arg;
	if (!m)
		return 1;
	__u32 cand = m->cands[i & (KM_MAX_CANDS - 1)];

	if (cand & KM_CAND_RULE)
		return km_report(m, cand & ~KM_CAND_RULE);
	if (!(cand & KM_CAND_ANCHOR))
		return km_branch(cand, 1) ? 1 : 0;
	__u32 idx = m->slot * BPFBUS_MAX_CONDS + (cand & ~KM_CAND_ANCHOR);
	struct bpfbus_kcond *kc = bpf_map_lookup_elem(&km_conds, &idx);

	if (!kc)
		return 1;
	struct km_anchor_ctx a = {.slot = m->slot, .first = kc->anchored.first};

	bpf_loop(kc->anchored.count, km_anchor_cb, &a, 0);
	return a.stop;
}

struct km_free_ctx {
	__u32 slot, first;
};

static long km_free_cb(__u64 i, void *arg)
{
	struct km_free_ctx *f = arg;
	__u32 *b = km_posting(f->slot, f->first, (__u32)i);

	if (!b)
		return 1;
	return km_branch(*b, 0) ? 1 : 0;
}

/*
 * Match the scanned event (km_scan) against table slot @slot, reporting the
 * rules of bus @bus. On return
 * m->verify is nonzero when userspace must decide; otherwise m->out lists
 * the matched rules (m->n_out of them, possibly none).
 */
static __always_inline int kmatch(__u32 slot, __u32 bus)
{
	struct scan_state *s = km_scan_state();
	struct km_state *m = km_match_state();

	if (!s || !m)
		return -1;
	m->slot = slot & (BPFBUS_SLOTS - 1);
	m->bus = bus;
	m->epoch++;
	m->verify = s->res.verify;
	m->n_cands = 0;
	m->n_out = 0;
	m->n_sats = 0;
	m->n_notes = 0;
	m->grid_fallback = 0;
	for (__u32 w = 0; w < KM_MARKED_BITS / 64; w++)
		m->marked[w] = 0;
	if (m->verify || s->res.error)
		return 0;
	bpf_loop(s->res.n_leaves, km_leaf_cb, NULL, 0);
	if (m->verify)
		return 0;
	km_match_boxes();
	bpf_loop(m->n_cands, km_cand_cb, NULL, 0);
	if (m->verify)
		return 0;
	struct bpfbus_ktable *t = bpf_map_lookup_elem(&km_header, &m->slot);

	if (t && t->free_branches.count) {
		struct km_free_ctx f = {.slot = m->slot, .first = t->free_branches.first};

		bpf_loop(t->free_branches.count, km_free_cb, &f, 0);
	}
	return 0;
}

#endif /* BPFBUS_KMATCH_H */

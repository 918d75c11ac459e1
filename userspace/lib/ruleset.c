// SPDX-License-Identifier: BSD-2-Clause
/*
 * Building a ruleset: rules are compiled to IR (pattern.c), then every value
 * matcher becomes a key in the lookup table or an entry in its path's
 * structures (length sets, interval tree, wildcard list).
 */
#include "bpfbus/attrs.h" /* the attribute namespace */
#include "bpfbus/scan.h" /* the path hash, one definition for both engines */
#include "ruleset_int.h"
#include "cidr.h"
#include "strbuf.h"
#include "wildcard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t path_hash(const char *p, size_t len)
{
	uint64_t h = BPFBUS_FNV_OFFSET;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)p[i];
		h *= BPFBUS_FNV_PRIME;
	}
	return h;
}

static inline uint64_t mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

/* Word-at-a-time hash for lookup keys. */
uint64_t bb_hash(uint64_t seed, const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = seed ^ (len * 0x9e3779b97f4a7c15ull);

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		h = (h ^ mix(w)) * 0x9e3779b97f4a7c15ull;
		p += 8;
		len -= 8;
	}
	uint64_t w = 0;

	memcpy(&w, p, len);
	h = (h ^ mix(w ^ ((uint64_t)len << 56))) * 0x9e3779b97f4a7c15ull;
	return mix(h);
}

static inline uint64_t key_seed(uint32_t path, char kind)
{
	return ((uint64_t)path << 8) | (unsigned char)kind;
}

/* ---- lookup table ----------------------------------------------------- */

static bool slot_is(const struct vtable *vt, const struct vtable_slot *s,
		    uint64_t h, uint32_t path, char kind, const void *data,
		    size_t len)
{
	if (s->hash != h || s->key_len != len + 5)
		return false;
	const uint8_t *k = vt->keys + s->key_off;
	uint32_t kp;

	memcpy(&kp, k, 4);
	return kp == path && k[4] == (uint8_t)kind && !memcmp(k + 5, data, len);
}

const uint32_t *vtable_get(const struct vtable *vt, uint32_t path, char kind,
			   const void *data, size_t len, uint32_t *n)
{
	if (!vt->cap)
		return NULL;
	uint64_t h = bb_hash(key_seed(path, kind), data, len);
	size_t mask = vt->cap - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		const struct vtable_slot *s = &vt->slots[i];

		if (!s->key_len)
			return NULL;
		if (slot_is(vt, s, h, path, kind, data, len)) {
			uint32_t a = vt->post_off[s->post];

			*n = vt->post_off[s->post + 1] - a;
			return vt->flat + a;
		}
	}
}

static void vtable_grow(struct vtable *vt)
{
	size_t cap = vt->cap ? vt->cap * 2 : 64;
	struct vtable_slot *slots = xcalloc(cap, sizeof(*slots));

	for (size_t i = 0; i < vt->cap; i++) {
		struct vtable_slot *s = &vt->slots[i];

		if (!s->key_len)
			continue;
		size_t j = s->hash & (cap - 1);

		while (slots[j].key_len)
			j = (j + 1) & (cap - 1);
		slots[j] = *s;
	}
	free(vt->slots);
	vt->slots = slots;
	vt->cap = cap;
}

static void vtable_add(struct vtable *vt, uint32_t path, char kind,
		       const void *data, size_t len, uint32_t id)
{
	if ((vt->used + 1) * 4 > vt->cap * 3)
		vtable_grow(vt);
	uint64_t h = bb_hash(key_seed(path, kind), data, len);
	size_t mask = vt->cap - 1, i = h & mask;

	for (;; i = (i + 1) & mask) {
		struct vtable_slot *s = &vt->slots[i];

		if (!s->key_len)
			break;
		if (slot_is(vt, s, h, path, kind, data, len)) {
			uint32_t p = s->post;

			if (vt->build_len[p] == vt->build_cap[p]) {
				vt->build_cap[p] *= 2;
				vt->build_lists[p] = xrealloc(
					vt->build_lists[p],
					vt->build_cap[p] * sizeof(uint32_t));
			}
			vt->build_lists[p][vt->build_len[p]++] = id;
			return;
		}
	}
	/* new key */
	size_t klen = len + 5;

	if (vt->keys_len + klen > vt->keys_cap) {
		vt->keys_cap = (vt->keys_cap + klen) * 2;
		vt->keys = xrealloc(vt->keys, vt->keys_cap);
	}
	uint8_t *k = vt->keys + vt->keys_len;

	memcpy(k, &path, 4);
	k[4] = (uint8_t)kind;
	memcpy(k + 5, data, len);
	size_t p = vt->n_lists++;

	vt->build_lists = xrealloc(vt->build_lists,
				   vt->n_lists * sizeof(*vt->build_lists));
	vt->build_len = xrealloc(vt->build_len, vt->n_lists * sizeof(uint32_t));
	vt->build_cap = xrealloc(vt->build_cap, vt->n_lists * sizeof(uint32_t));
	vt->build_lists[p] = xmalloc(2 * sizeof(uint32_t));
	vt->build_lists[p][0] = id;
	vt->build_len[p] = 1;
	vt->build_cap[p] = 2;
	vt->slots[i] = (struct vtable_slot){.hash = h,
					    .key_off = (uint32_t)vt->keys_len,
					    .key_len = (uint32_t)klen,
					    .post = (uint32_t)p};
	vt->keys_len += klen;
	vt->used++;
}

static size_t vtable_freeze(struct vtable *vt)
{
	size_t total = 0;

	for (size_t p = 0; p < vt->n_lists; p++)
		total += vt->build_len[p];
	vt->flat = xmalloc((total + 1) * sizeof(uint32_t));
	vt->post_off = xmalloc((vt->n_lists + 1) * sizeof(uint32_t));
	size_t off = 0;

	for (size_t p = 0; p < vt->n_lists; p++) {
		vt->post_off[p] = (uint32_t)off;
		memcpy(vt->flat + off, vt->build_lists[p],
		       vt->build_len[p] * sizeof(uint32_t));
		off += vt->build_len[p];
		free(vt->build_lists[p]);
	}
	vt->post_off[vt->n_lists] = (uint32_t)off;
	free(vt->build_lists);
	free(vt->build_len);
	free(vt->build_cap);
	vt->build_lists = NULL;
	vt->build_len = vt->build_cap = NULL;
	return (total + vt->n_lists + 1) * sizeof(uint32_t) +
	       vt->cap * sizeof(struct vtable_slot) + vt->keys_cap;
}

static void vtable_free(struct vtable *vt)
{
	if (vt->build_lists) {
		for (size_t p = 0; p < vt->n_lists; p++)
			free(vt->build_lists[p]);
	}
	free(vt->build_lists);
	free(vt->build_len);
	free(vt->build_cap);
	free(vt->slots);
	free(vt->keys);
	free(vt->flat);
	free(vt->post_off);
}

/* ---- paths ------------------------------------------------------------ */

const struct path_info *ruleset_find_path(const struct bb_ruleset *rs,
					  const char *p, size_t len,
					  uint64_t hash)
{
	if (!rs->path_slot_cap)
		return NULL;
	size_t mask = rs->path_slot_cap - 1;

	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		uint32_t s = rs->path_slots[i];

		if (!s)
			return NULL;
		const struct path_info *pi = &rs->paths[s - 1];

		if (pi->hash == hash && pi->len == len &&
		    !memcmp(pi->path, p, len))
			return pi;
	}
}

static void path_slots_rebuild(struct bb_ruleset *rs, size_t cap)
{
	free(rs->path_slots);
	rs->path_slots = xcalloc(cap, sizeof(uint32_t));
	rs->path_slot_cap = cap;
	for (size_t k = 0; k < rs->n_paths; k++) {
		size_t i = rs->paths[k].hash & (cap - 1);

		while (rs->path_slots[i])
			i = (i + 1) & (cap - 1);
		rs->path_slots[i] = (uint32_t)k + 1;
	}
}

static uint32_t intern_path(struct bb_ruleset *rs, const char *p, size_t len)
{
	uint64_t h = path_hash(p, len);
	const struct path_info *found = ruleset_find_path(rs, p, len, h);

	if (found)
		return (uint32_t)(found - rs->paths);
	if (rs->n_paths == rs->cap_paths) {
		rs->cap_paths = rs->cap_paths ? 2 * rs->cap_paths : 16;
		rs->paths = xrealloc(rs->paths,
				     rs->cap_paths * sizeof(*rs->paths));
	}
	struct path_info *pi = &rs->paths[rs->n_paths++];

	memset(pi, 0, sizeof(*pi));
	pi->path = xstrndup(p, len);
	pi->len = len;
	pi->hash = h;
	if (rs->n_paths * 2 > rs->path_slot_cap)
		path_slots_rebuild(rs, rs->path_slot_cap ? rs->path_slot_cap * 2
							 : 64);
	else {
		size_t i = h & (rs->path_slot_cap - 1);

		while (rs->path_slots[i])
			i = (i + 1) & (rs->path_slot_cap - 1);
		rs->path_slots[i] = (uint32_t)rs->n_paths;
	}
	return (uint32_t)(rs->n_paths - 1);
}

/* A leaf path and every dot-separated prefix of it (inner nodes). */
static uint32_t add_leaf_path(struct bb_ruleset *rs, const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '.')
			continue;
		uint32_t id = intern_path(rs, p, i);

		rs->paths[id].inner = true;
	}
	uint32_t id = intern_path(rs, p, len);

	rs->paths[id].leaf = true;
	return id;
}

static void lenset_add(struct lenset *ls, uint32_t len)
{
	size_t i = 0;

	while (i < ls->n && ls->v[i] < len)
		i++;
	if (i < ls->n && ls->v[i] == len)
		return;
	ls->v = xrealloc(ls->v, (ls->n + 1) * sizeof(*ls->v));
	memmove(ls->v + i + 1, ls->v + i, (ls->n - i) * sizeof(*ls->v));
	ls->v[i] = len;
	ls->n++;
}

static void push_u32(uint32_t **v, size_t *n, uint32_t x)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = x;
}

static void push_wc(struct wc_entry **v, size_t *n, const char *pat,
		    size_t len, uint32_t id)
{
	*v = xrealloc(*v, (*n + 1) * sizeof(**v));
	(*v)[(*n)++] = (struct wc_entry){pat, len, id};
}

/* ---- conditions -------------------------------------------------------- */

static char exact_kind(enum vtype t)
{
	switch (t) {
	case VT_STRING: return K_STR;
	case VT_NUMBER: return K_NUM;
	case VT_NULL: return K_NULL;
	case VT_TRUE: return K_TRUE;
	default: return K_FALSE;
	}
}

/* Doubles are keyed by their bits; -0 and 0 are one value. */
static double canon_num(double d)
{
	return d == 0 ? 0.0 : d;
}

struct cidr_add {
	struct bb_ruleset *rs;
	uint32_t pid, id;
	bool v6;
};

static void add_cidr_prefix(void *arg, const uint8_t *prefix, uint8_t bits)
{
	struct cidr_add *a = arg;
	struct path_info *pi = &a->rs->paths[a->pid];
	size_t alen = a->v6 ? 16 : 4;
	uint8_t key[17];

	memcpy(key, prefix, alen);
	key[alen] = bits;
	vtable_add(&a->rs->vt, a->pid, a->v6 ? K_CIDR6 : K_CIDR4, key, alen + 1,
		   a->id);
	if (a->v6)
		pi->cidr6[bits / 64] |= 1ull << (bits % 64);
	else
		pi->cidr4[0] |= 1ull << bits;
	pi->has_cidr = true;
}

/* A CIDR range becomes at most 2 * address-bits aligned prefixes, each a
 * hash key: matching tries each prefix length the path uses. */
static void add_cidr(struct bb_ruleset *rs, uint32_t pid,
		     const struct ir_matcher *m, uint32_t id)
{
	struct cidr_add a = {rs, pid, id, m->v6};

	range_to_prefixes(m->addr, m->addr_hi, m->v6 ? 16 : 4,
			  add_cidr_prefix, &a);
}

static void add_exclusions(struct bb_ruleset *rs, uint32_t pid,
			   const struct ir_matcher *m, uint32_t ab)
{
	for (size_t i = 0; i < m->n_excl; i++) {
		const struct ir_matcher *e = &m->excl[i];
		struct path_info *pi = &rs->paths[pid];

		switch (e->op) {
		case MOP_EXACT:
			if (e->vtype == VT_STRING) {
				vtable_add(&rs->vt, pid, K_AB_STR, e->s, e->len,
					   ab);
				pi->want_str = true;
			} else {
				double d = canon_num(e->num);

				vtable_add(&rs->vt, pid, K_AB_NUM, &d, sizeof(d),
					   ab);
				pi->want_num = true;
			}
			break;
		case MOP_PREFIX:
			vtable_add(&rs->vt, pid, K_AB_PFX, e->s, e->len, ab);
			lenset_add(&pi->ab_pfx, (uint32_t)e->len);
			break;
		case MOP_SUFFIX:
			vtable_add(&rs->vt, pid, K_AB_SFX, e->s, e->len, ab);
			lenset_add(&pi->ab_sfx, (uint32_t)e->len);
			break;
		case MOP_EIC:
			vtable_add(&rs->vt, pid, K_AB_EIC, e->s, e->len, ab);
			pi->ab_eic = true;
			break;
		case MOP_WILDCARD:
			push_wc(&pi->ab_wc, &pi->n_ab_wc, e->s, e->len, ab);
			break;
		default:
			break;
		}
	}
}

static void add_matcher(struct bb_ruleset *rs, uint32_t pid,
			const struct ir_matcher *m, uint32_t cid)
{
	struct path_info *pi = &rs->paths[pid];

	switch (m->op) {
	case MOP_EXACT:
		if (m->vtype == VT_STRING) {
			vtable_add(&rs->vt, pid, K_STR, m->s, m->len, cid);
			pi->want_str = true;
		} else if (m->vtype == VT_NUMBER) {
			double d = canon_num(m->num);

			vtable_add(&rs->vt, pid, K_NUM, &d, sizeof(d), cid);
			pi->want_num = true;
		} else {
			vtable_add(&rs->vt, pid, exact_kind(m->vtype), "", 0,
				   cid);
			pi->want_lit = true;
		}
		break;
	case MOP_PREFIX:
		vtable_add(&rs->vt, pid, K_PFX, m->s, m->len, cid);
		lenset_add(&pi->pfx, (uint32_t)m->len);
		break;
	case MOP_SUFFIX:
		vtable_add(&rs->vt, pid, K_SFX, m->s, m->len, cid);
		lenset_add(&pi->sfx, (uint32_t)m->len);
		break;
	case MOP_EIC:
		vtable_add(&rs->vt, pid, K_EIC, m->s, m->len, cid);
		pi->want_eic = true;
		break;
	case MOP_PREFIX_EIC:
		vtable_add(&rs->vt, pid, K_PFX_EIC, m->s, m->len, cid);
		lenset_add(&pi->pfx_eic, (uint32_t)m->len);
		break;
	case MOP_SUFFIX_EIC:
		vtable_add(&rs->vt, pid, K_SFX_EIC, m->s, m->len, cid);
		lenset_add(&pi->sfx_eic, (uint32_t)m->len);
		break;
	case MOP_WILDCARD:
		push_wc(&pi->wc, &pi->n_wc, m->s, m->len, cid);
		break;
	case MOP_NUMERIC:
		pi->ivs = xrealloc(pi->ivs, (pi->n_ivs + 1) * sizeof(*pi->ivs));
		pi->ivs[pi->n_ivs++] = (struct interval){
			m->lo, m->hi, m->lo_open, m->hi_open, cid};
		pi->want_num = true;
		break;
	case MOP_CIDR:
		add_cidr(rs, pid, m, cid);
		break;
	case MOP_EXISTS:
		push_u32(&pi->exists, &pi->n_exists, cid);
		break;
	case MOP_ABSENT:
		break; /* decided at the end of the event */
	case MOP_ANYTHING_BUT: {
		uint32_t ab = (uint32_t)rs->n_ab;

		if (rs->n_ab == rs->cap_ab) {
			rs->cap_ab = rs->cap_ab ? 2 * rs->cap_ab : 16;
			rs->ab_cond = xrealloc(rs->ab_cond,
					       rs->cap_ab * sizeof(uint32_t));
		}
		rs->ab_cond[rs->n_ab++] = cid;
		push_u32(&rs->paths[pid].ab, &rs->paths[pid].n_ab, ab);
		add_exclusions(rs, pid, m, ab);
		break;
	}
	}
}

/*
 * A field's path in the ruleset: MessageAttributes-scope policies read their
 * paths in the attribute namespace (include/bpfbus/attrs.h), so a topic's
 * ruleset holds both scopes without one seeing the other's fields.
 */
static uint32_t add_field_path(struct bb_ruleset *rs, const struct ir_field *f, bool attributes)
{
	if (!attributes)
		return add_leaf_path(rs, f->path, f->path_len);
	char *p = xmalloc(f->path_len + 1);

	p[0] = BPFBUS_ATTR_NS;
	memcpy(p + 1, f->path, f->path_len);
	uint32_t id = add_leaf_path(rs, p, f->path_len + 1);

	free(p);
	return id;
}

static void add_branch(struct bb_ruleset *rs, uint32_t rule, const struct ir_branch *b,
		       bool attributes)
{
	if (rs->n_branches == rs->cap_branches) {
		rs->cap_branches = rs->cap_branches ? 2 * rs->cap_branches : 16;
		rs->branches = xrealloc(rs->branches,
					rs->cap_branches * sizeof(*rs->branches));
	}
	uint32_t bid = (uint32_t)rs->n_branches++;
	struct branch *br = &rs->branches[bid];

	*br = (struct branch){.rule = rule,
			      .first_cond = (uint32_t)rs->n_conds,
			      .n_cond = (uint32_t)b->n_fields};
	for (size_t i = 0; i < b->n_fields; i++) {
		const struct ir_field *f = &b->fields[i];
		uint32_t pid = add_field_path(rs, f, attributes);
		bool absent = false;

		for (size_t k = 0; k < f->n_m; k++)
			absent |= f->m[k].op == MOP_ABSENT;
		if (rs->n_conds == rs->cap_conds) {
			rs->cap_conds = rs->cap_conds ? 2 * rs->cap_conds : 16;
			rs->conds = xrealloc(rs->conds,
					     rs->cap_conds * sizeof(*rs->conds));
		}
		uint32_t cid = (uint32_t)rs->n_conds++;

		rs->conds[cid] = (struct cond){
			.branch = bid, .path = pid, .absent_ok = absent};
		if (!absent)
			rs->branches[bid].need++;
		for (size_t k = 0; k < f->n_m; k++)
			add_matcher(rs, pid, &f->m[k], cid);
	}
	if (rs->branches[bid].need == 0)
		push_u32(&rs->free_branches, &rs->n_free, bid);
}

/* ---- public API ------------------------------------------------------- */

struct bb_ruleset *bb_ruleset_new(void)
{
	return xcalloc(1, sizeof(struct bb_ruleset));
}

static void lenset_free(struct lenset *ls)
{
	free(ls->v);
}

void bb_ruleset_free(struct bb_ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->n_rules; i++) {
		free(rs->rules[i].name);
		ir_rule_free(&rs->rules[i].ir);
	}
	free(rs->rules);
	for (size_t i = 0; i < rs->n_paths; i++) {
		struct path_info *pi = &rs->paths[i];

		free(pi->path);
		lenset_free(&pi->pfx);
		lenset_free(&pi->sfx);
		lenset_free(&pi->pfx_eic);
		lenset_free(&pi->sfx_eic);
		lenset_free(&pi->ab_pfx);
		lenset_free(&pi->ab_sfx);
		free(pi->ivs);
		itree_free(pi->itree);
		free(pi->exists);
		free(pi->wc);
		free(pi->ab_wc);
		free(pi->ab);
	}
	free(rs->paths);
	free(rs->path_slots);
	free(rs->conds);
	free(rs->branches);
	free(rs->ab_cond);
	free(rs->free_branches);
	vtable_free(&rs->vt);
	free(rs);
}

static int add_rule(struct bb_ruleset *rs, const char *name,
		    struct ir_rule *ir, bool attributes)
{
	if (rs->compiled) {
		ir_rule_free(ir);
		return -1;
	}
	if (rs->n_rules == rs->cap_rules) {
		rs->cap_rules = rs->cap_rules ? 2 * rs->cap_rules : 16;
		rs->rules = xrealloc(rs->rules, rs->cap_rules * sizeof(*rs->rules));
	}
	uint32_t id = (uint32_t)rs->n_rules++;

	rs->rules[id] = (struct rule){.name = xstrndup(name, strlen(name)),
				      .ir = *ir,
				      .attributes = attributes};
	for (size_t i = 0; i < ir->n_branches; i++)
		add_branch(rs, id, &ir->branches[i], attributes);
	return (int)id;
}

int bb_ruleset_add_pattern(struct bb_ruleset *rs, const char *name,
			   const char *pattern, size_t len, struct bb_error *err)
{
	struct ir_rule ir;
	char reason[BB_ERR_MAX - 64], where[sizeof(err->path)];

	if (!ir_compile(pattern, len, DIALECT_EVENTBRIDGE, &ir, reason,
			sizeof(reason), where, sizeof(where))) {
		if (err)
			snprintf(err->path, sizeof(err->path), "%s", where);
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "Event pattern is not valid. Reason: %s",
				 reason);
		return -1;
	}
	return add_rule(rs, name, &ir, false);
}

/* Defined in policy.c: SNS's extra limits and error wording. */
bool policy_compile(const char *policy, size_t len, enum bb_scope scope,
		    enum bb_policy_api api, struct ir_rule *out,
		    struct bb_error *err);

int bb_ruleset_add_policy(struct bb_ruleset *rs, const char *name,
			  const char *policy, size_t len, enum bb_scope scope,
			  enum bb_policy_api api, struct bb_error *err)
{
	struct ir_rule ir;

	if (!policy_compile(policy, len, scope, api, &ir, err))
		return -1;
	return add_rule(rs, name, &ir, scope == BB_SCOPE_MESSAGE_ATTRIBUTES);
}

int bb_ruleset_compile(struct bb_ruleset *rs)
{
	if (rs->compiled)
		return 0;
	size_t mem = vtable_freeze(&rs->vt);

	for (size_t i = 0; i < rs->n_paths; i++) {
		struct path_info *pi = &rs->paths[i];

		if (pi->n_ivs) {
			pi->itree = itree_build(pi->ivs, pi->n_ivs);
			mem += itree_memory(pi->itree);
			free(pi->ivs);
			pi->ivs = NULL;
		}
		mem += sizeof(*pi) + pi->len + 1 +
		       (pi->pfx.n + pi->sfx.n + pi->pfx_eic.n + pi->sfx_eic.n +
			pi->ab_pfx.n + pi->ab_sfx.n + pi->n_exists + pi->n_ab) *
			       sizeof(uint32_t) +
		       (pi->n_wc + pi->n_ab_wc) * sizeof(struct wc_entry);
	}
	mem += rs->cap_paths * sizeof(*rs->paths) +
	       rs->path_slot_cap * sizeof(uint32_t) +
	       rs->cap_conds * sizeof(*rs->conds) +
	       rs->cap_branches * sizeof(*rs->branches) +
	       rs->cap_ab * sizeof(uint32_t) + rs->n_free * sizeof(uint32_t);
	rs->mem = mem;
	rs->compiled = true;
	return 0;
}

size_t bb_ruleset_rule_count(const struct bb_ruleset *rs)
{
	return rs->n_rules;
}

const char *bb_ruleset_rule_name(const struct bb_ruleset *rs, uint32_t id)
{
	return id < rs->n_rules ? rs->rules[id].name : NULL;
}

size_t bb_ruleset_memory(const struct bb_ruleset *rs)
{
	return rs->mem;
}

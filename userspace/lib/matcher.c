// SPDX-License-Identifier: BSD-2-Clause
/*
 * Matching one event: the scanner (event_scan.c) reports each leaf on a path
 * some rule reads; each leaf is tested with hash lookups, which mark the
 * conditions it satisfies; branches whose conditions are all marked are
 * checked at the end (exists:false, array consistency) and their rules
 * reported. Per-event state is reset by bumping an epoch, not by clearing
 * arrays sized by the number of rules.
 */
#include "bpfbus/attrs.h"
#include "casefold.h"
#include "cidr.h"
#include "event_scan.h"
#include "json.h"
#include "ruleset_int.h"
#include "strbuf.h"
#include "wildcard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sat {
	uint32_t leaf;
	uint32_t next; /* index+1 of the next record for the cond, 0 = end */
};

/*
 * Per-event state of a condition, next to a copy of what marking needs from
 * the ruleset, so that satisfying a condition touches one 16-byte record and
 * its branch's counter: two cache lines, whatever the number of rules.
 */
struct cond_state {
	uint32_t mark;	 /* epoch in which the condition was satisfied */
	uint32_t sat;	 /* index+1 of its latest sat record */
	uint32_t branch; /* copied from the ruleset */
	uint32_t need;	 /* the branch's need; 0 for absent_ok conditions */
};

struct branch_state {
	uint32_t mark;	/* epoch of the count */
	uint32_t count; /* satisfied conditions */
};

struct bb_match_ctx {
	const struct bb_ruleset *rs;
	uint32_t epoch;
	struct cond_state *cs;
	struct branch_state *bs;
	uint32_t *rule_mark;
	uint32_t *path_mark;
	uint32_t *ab_excl; /* leaf stamp of the last exclusion */
	uint32_t leaf_stamp;
	uint32_t *cands;
	size_t n_cands, cap_cands;
	struct sat *sats;
	size_t n_sats, cap_sats;
	uint32_t *out;
	size_t n_out;
	char *fold; /* scratch for case folding */
	size_t fold_cap;
	struct event_scan scan;
	/* backtracking scratch for array consistency */
	uint32_t *pick_cond, *pick_leaf;
	size_t pick_cap;
	bool no_attributes; /* an SNS message without message attributes */
};

struct bb_match_ctx *bb_match_ctx_new(const struct bb_ruleset *rs)
{
	struct bb_match_ctx *c = xcalloc(1, sizeof(*c));
	size_t nc = rs->n_conds + 1, nb = rs->n_branches + 1;

	c->rs = rs;
	c->cs = xcalloc(nc, sizeof(*c->cs));
	for (size_t i = 0; i < rs->n_conds; i++) {
		const struct cond *cd = &rs->conds[i];

		c->cs[i].branch = cd->branch;
		c->cs[i].need = cd->absent_ok ? 0 : rs->branches[cd->branch].need;
	}
	c->bs = xcalloc(nb, sizeof(*c->bs));
	c->rule_mark = xcalloc(rs->n_rules + 1, sizeof(uint32_t));
	c->path_mark = xcalloc(rs->n_paths + 1, sizeof(uint32_t));
	c->ab_excl = xcalloc(rs->n_ab + 1, sizeof(uint32_t));
	c->out = xmalloc((rs->n_rules + 1) * sizeof(uint32_t));
	event_scan_init(&c->scan);
	return c;
}

void bb_match_ctx_free(struct bb_match_ctx *c)
{
	if (!c)
		return;
	free(c->cs);
	free(c->bs);
	free(c->rule_mark);
	free(c->path_mark);
	free(c->ab_excl);
	free(c->cands);
	free(c->sats);
	free(c->out);
	free(c->fold);
	free(c->pick_cond);
	free(c->pick_leaf);
	event_scan_free(&c->scan);
	free(c);
}

/* ---- marking ----------------------------------------------------------- */

static void push_cand(struct bb_match_ctx *c, uint32_t b)
{
	if (c->n_cands == c->cap_cands) {
		c->cap_cands = c->cap_cands ? 2 * c->cap_cands : 64;
		c->cands = xrealloc(c->cands, c->cap_cands * sizeof(uint32_t));
	}
	c->cands[c->n_cands++] = b;
}

static void mark(struct bb_match_ctx *c, uint32_t cid, uint32_t leaf)
{
	struct cond_state *cs = &c->cs[cid];

	if (cs->mark != c->epoch) {
		cs->mark = c->epoch;
		cs->sat = 0;
		if (cs->need) {
			struct branch_state *bs = &c->bs[cs->branch];

			if (bs->mark != c->epoch) {
				bs->mark = c->epoch;
				bs->count = 0;
			}
			if (++bs->count == cs->need)
				push_cand(c, cs->branch);
		}
	} else if (cs->sat && c->sats[cs->sat - 1].leaf == leaf) {
		return; /* same leaf through another matcher */
	}
	if (c->n_sats == c->cap_sats) {
		c->cap_sats = c->cap_sats ? 2 * c->cap_sats : 256;
		c->sats = xrealloc(c->sats, c->cap_sats * sizeof(*c->sats));
	}
	c->sats[c->n_sats] = (struct sat){leaf, cs->sat};
	cs->sat = (uint32_t)++c->n_sats;
}

static void mark_list(struct bb_match_ctx *c, const uint32_t *ids, uint32_t n,
		      uint32_t leaf)
{
	for (uint32_t i = 0; i < n; i++)
		mark(c, ids[i], leaf);
}

static void lookup_mark(struct bb_match_ctx *c, uint32_t pid, char kind,
			const void *data, size_t len, uint32_t leaf)
{
	uint32_t n;
	const uint32_t *ids = vtable_get(&c->rs->vt, pid, kind, data, len, &n);

	if (ids)
		mark_list(c, ids, n, leaf);
}

static void exclude(struct bb_match_ctx *c, uint32_t pid, char kind,
		    const void *data, size_t len)
{
	uint32_t n;
	const uint32_t *ids = vtable_get(&c->rs->vt, pid, kind, data, len, &n);

	for (uint32_t i = 0; ids && i < n; i++)
		c->ab_excl[ids[i]] = c->leaf_stamp;
}

/* Prefix keys of every length in @ls that fits in @len. */
static void affix_lookups(struct bb_match_ctx *c, uint32_t pid, char kind,
			  const struct lenset *ls, const char *s, size_t len,
			  bool suffix, bool excl, uint32_t leaf)
{
	for (size_t i = 0; i < ls->n && ls->v[i] <= len; i++) {
		const char *p = suffix ? s + len - ls->v[i] : s;

		if (excl)
			exclude(c, pid, kind, p, ls->v[i]);
		else
			lookup_mark(c, pid, kind, p, ls->v[i], leaf);
	}
}

struct stab_arg {
	struct bb_match_ctx *c;
	uint32_t leaf;
};

static void stab_hit(void *arg, uint32_t id)
{
	struct stab_arg *a = arg;

	mark(a->c, id, a->leaf);
}

static void match_cidr(struct bb_match_ctx *c, const struct path_info *pi,
		       uint32_t pid, const char *s, size_t len, uint32_t leaf)
{
	uint8_t addr[16], key[17];
	bool v6;

	if (!ip_parse(s, len, addr, &v6))
		return;
	size_t alen = v6 ? 16 : 4;
	unsigned max = v6 ? 128 : 32;

	for (unsigned bits = 0; bits <= max; bits++) {
		const uint64_t *set = v6 ? pi->cidr6 : pi->cidr4;

		if (!((set[bits / 64] >> (bits % 64)) & 1))
			continue;
		memcpy(key, addr, alen);
		cidr_mask(key, (uint8_t)bits);
		key[alen] = (uint8_t)bits;
		lookup_mark(c, pid, v6 ? K_CIDR6 : K_CIDR4, key, alen + 1,
			    leaf);
	}
}

static const char *folded(struct bb_match_ctx *c, const char *s, size_t len)
{
	if (len + 1 > c->fold_cap) {
		c->fold_cap = (len + 1) * 2;
		c->fold = xrealloc(c->fold, c->fold_cap);
	}
	casefold(s, len, c->fold);
	return c->fold;
}

static void match_string(struct bb_match_ctx *c, const struct path_info *pi,
			 uint32_t pid, const char *s, size_t len, uint32_t leaf)
{
	if (pi->want_str) {
		lookup_mark(c, pid, K_STR, s, len, leaf);
		if (pi->n_ab)
			exclude(c, pid, K_AB_STR, s, len);
	}
	affix_lookups(c, pid, K_PFX, &pi->pfx, s, len, false, false, leaf);
	affix_lookups(c, pid, K_SFX, &pi->sfx, s, len, true, false, leaf);
	affix_lookups(c, pid, K_AB_PFX, &pi->ab_pfx, s, len, false, true, leaf);
	affix_lookups(c, pid, K_AB_SFX, &pi->ab_sfx, s, len, true, true, leaf);
	if (pi->want_eic || pi->pfx_eic.n || pi->sfx_eic.n || pi->ab_eic) {
		const char *f = folded(c, s, len);

		if (pi->want_eic)
			lookup_mark(c, pid, K_EIC, f, len, leaf);
		if (pi->ab_eic)
			exclude(c, pid, K_AB_EIC, f, len);
		affix_lookups(c, pid, K_PFX_EIC, &pi->pfx_eic, f, len, false,
			      false, leaf);
		affix_lookups(c, pid, K_SFX_EIC, &pi->sfx_eic, f, len, true,
			      false, leaf);
	}
	if (pi->has_cidr)
		match_cidr(c, pi, pid, s, len, leaf);
	for (size_t i = 0; i < pi->n_wc; i++)
		if (wildcard_match(pi->wc[i].pat, pi->wc[i].len, s, len))
			mark(c, pi->wc[i].id, leaf);
	for (size_t i = 0; i < pi->n_ab_wc; i++)
		if (wildcard_match(pi->ab_wc[i].pat, pi->ab_wc[i].len, s, len))
			c->ab_excl[pi->ab_wc[i].id] = c->leaf_stamp;
}

static void match_number(struct bb_match_ctx *c, const struct path_info *pi,
			 uint32_t pid, double d, uint32_t leaf)
{
	d = d == 0 ? 0.0 : d;
	lookup_mark(c, pid, K_NUM, &d, sizeof(d), leaf);
	if (pi->n_ab)
		exclude(c, pid, K_AB_NUM, &d, sizeof(d));
	if (pi->itree) {
		struct stab_arg a = {c, leaf};

		itree_stab(pi->itree, d, stab_hit, &a);
	}
}

/* Called by the scanner for each leaf on a path that has conditions. */
static void on_leaf(void *arg, const struct path_info *pi,
		    const struct scan_value *v, uint32_t leaf)
{
	struct bb_match_ctx *c = arg;
	const struct bb_ruleset *rs = c->rs;
	uint32_t pid = (uint32_t)(pi - rs->paths);

	c->path_mark[pid] = c->epoch;
	c->leaf_stamp++;
	mark_list(c, pi->exists, (uint32_t)pi->n_exists, leaf);
	switch (v->type) {
	case VT_STRING:
		match_string(c, pi, pid, v->s, v->len, leaf);
		break;
	case VT_NUMBER:
		if (pi->want_num)
			match_number(c, pi, pid, v->num, leaf);
		break;
	default:
		if (pi->want_lit)
			lookup_mark(c, pid, v->type == VT_NULL	 ? K_NULL
					    : v->type == VT_TRUE ? K_TRUE
								 : K_FALSE,
				    "", 0, leaf);
		break;
	}
	for (size_t i = 0; i < pi->n_ab; i++) {
		uint32_t ab = pi->ab[i];

		if (c->ab_excl[ab] != c->leaf_stamp)
			mark(c, rs->ab_cond[ab], leaf);
	}
}

/* ---- end of event ------------------------------------------------------ */

/* Two leaves agree when every array they share has them at one index. */
static bool leaves_consistent(const struct event_scan *s, uint32_t a,
			      uint32_t b)
{
	const struct scan_leaf *la = &s->leaves[a], *lb = &s->leaves[b];
	uint32_t n = la->depth < lb->depth ? la->depth : lb->depth;
	const struct scan_arr *xa = s->arrs + la->arr_off;
	const struct scan_arr *xb = s->arrs + lb->arr_off;

	for (uint32_t i = 0; i < n; i++) {
		if (xa[i].id != xb[i].id)
			return true;
		if (xa[i].index != xb[i].index)
			return false;
	}
	return true;
}

static bool pick(struct bb_match_ctx *c, size_t k, size_t n)
{
	if (k == n)
		return true;
	for (uint32_t s = c->cs[c->pick_cond[k]].sat; s; s = c->sats[s - 1].next) {
		uint32_t leaf = c->sats[s - 1].leaf;
		bool ok = true;

		for (size_t j = 0; j < k && ok; j++)
			ok = leaves_consistent(&c->scan, c->pick_leaf[j], leaf);
		if (!ok)
			continue;
		c->pick_leaf[k] = leaf;
		if (pick(c, k + 1, n))
			return true;
	}
	return false;
}

static bool branch_holds(struct bb_match_ctx *c, uint32_t bid)
{
	const struct branch *b = &c->rs->branches[bid];
	size_t n = 0;
	bool arrays = false;

	if (b->n_cond > c->pick_cap) {
		c->pick_cap = b->n_cond * 2;
		c->pick_cond = xrealloc(c->pick_cond, c->pick_cap * sizeof(uint32_t));
		c->pick_leaf = xrealloc(c->pick_leaf, c->pick_cap * sizeof(uint32_t));
	}
	for (uint32_t i = 0; i < b->n_cond; i++) {
		uint32_t cid = b->first_cond + i;
		const struct cond *cd = &c->rs->conds[cid];

		if (cd->absent_ok) {
			if (c->cs[cid].mark != c->epoch &&
			    c->path_mark[cd->path] == c->epoch)
				return false;
			continue;
		}
		c->pick_cond[n++] = cid;
		for (uint32_t s = c->cs[cid].sat; s && !arrays;
		     s = c->sats[s - 1].next)
			arrays = c->scan.leaves[c->sats[s - 1].leaf].depth > 0;
	}
	if (!arrays || n < 2)
		return true;
	return pick(c, 0, n);
}

static void report_branch(struct bb_match_ctx *c, uint32_t bid)
{
	uint32_t rule = c->rs->branches[bid].rule;

	if (c->rule_mark[rule] == c->epoch || !branch_holds(c, bid))
		return;
	c->rule_mark[rule] = c->epoch;
	c->out[c->n_out++] = rule;
}

static void next_epoch(struct bb_match_ctx *c)
{
	if (++c->epoch == 0) {
		const struct bb_ruleset *rs = c->rs;

		for (size_t i = 0; i < rs->n_conds; i++)
			c->cs[i].mark = 0;
		memset(c->bs, 0, (rs->n_branches + 1) * sizeof(*c->bs));
		memset(c->rule_mark, 0, (rs->n_rules + 1) * sizeof(uint32_t));
		memset(c->path_mark, 0, (rs->n_paths + 1) * sizeof(uint32_t));
		c->epoch = 1;
	}
	c->n_cands = c->n_sats = c->n_out = 0;
	c->no_attributes = false;
}

static int finish(struct bb_match_ctx *c, const uint32_t **ids)
{
	const struct bb_ruleset *rs = c->rs;

	for (size_t i = 0; i < c->n_cands; i++)
		report_branch(c, c->cands[i]);
	for (size_t i = 0; i < rs->n_free; i++) {
		uint32_t b = rs->free_branches[i];

		/* SNS: "An empty set of attributes results in the filter not
		 * matching" (Key matching); only a branch of exists:false
		 * conditions could match one */
		if (c->no_attributes && rs->rules[rs->branches[b].rule].attributes)
			continue;
		report_branch(c, b);
	}
	*ids = c->out;
	return (int)c->n_out;
}

int bb_match_event(struct bb_match_ctx *c, const char *event, size_t len,
		   const uint32_t **ids, struct bb_error *err)
{
	next_epoch(c);
	if (!event_scan_run(&c->scan, c->rs, event, len, on_leaf, c)) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s",
				 c->scan.error);
		return -1;
	}
	return finish(c, ids);
}

/* "Number" or "Number.<custom>", as SNS and SQS allow custom type labels. */
static bool is_type(const char *t, const char *base)
{
	size_t n = strlen(base);

	return !strncmp(t, base, n) && (t[n] == '\0' || t[n] == '.');
}

/*
 * SNS message attributes become a flat event: String values are strings,
 * Number values numbers, String.Array values their JSON array; Binary
 * attributes are not matched by filter policies.
 */
static int attributes_to_event(const char *attrs, size_t len, struct strbuf *ev,
			       size_t *n_attributes, struct bb_error *err)
{
	struct json_doc *doc = json_parse(attrs, len, true);
	const struct json_value *root = json_doc_root(doc);
	int r = -1;

	sb_reset(ev);
	if (!root || root->type != JSON_OBJECT) {
		if (err)
			snprintf(err->msg, sizeof(err->msg),
				 "message attributes must be a JSON object");
		goto out;
	}
	sb_addc(ev, '{');
	*n_attributes = root->u.obj.n;
	bool first = true;

	for (size_t i = 0; i < root->u.obj.n; i++) {
		const struct json_member *m = &root->u.obj.members[i];
		const struct json_value *type = json_get(m->value, "Type");
		const struct json_value *val = json_get(m->value, "Value");

		if (!type || type->type != JSON_STRING || !val ||
		    val->type != JSON_STRING) {
			if (err)
				snprintf(err->msg, sizeof(err->msg),
					 "message attribute '%.*s' needs a "
					 "string Type and Value",
					 (int)m->key_len, m->key);
			goto out;
		}
		const char *t = type->u.str.s;
		struct strbuf one = STRBUF_INIT;

		if (!strcmp(t, "String.Array")) {
			struct json_doc *a = json_parse(val->u.str.s,
							val->u.str.len, true);
			const struct json_value *av = json_doc_root(a);

			if (av && av->type == JSON_ARRAY)
				json_write(&one, av);
			json_doc_free(a);
		} else if (is_type(t, "Number")) {
			struct json_doc *n = json_parse(val->u.str.s,
							val->u.str.len, true);
			const struct json_value *nv = json_doc_root(n);

			if (nv && nv->type == JSON_NUMBER)
				json_write(&one, nv);
			else
				json_write_string(&one, val->u.str.s,
						  val->u.str.len);
			json_doc_free(n);
		} else if (is_type(t, "String")) {
			json_write_string(&one, val->u.str.s, val->u.str.len);
		}
		if (one.len) {
			if (!first)
				sb_addc(ev, ',');
			first = false;
			json_write_string(ev, m->key, m->key_len);
			sb_addc(ev, ':');
			sb_add(ev, one.buf, one.len);
		}
		sb_free(&one);
	}
	sb_addc(ev, '}');
	r = 0;
out:
	json_doc_free(doc);
	return r;
}

int bb_attributes_to_event(const char *attrs, size_t len, struct strbuf *ev,
			   struct bb_error *err)
{
	size_t n;

	return attributes_to_event(attrs, len, ev, &n, err);
}

/* Feed the attributes, as their flat event in the attribute namespace. */
static bool scan_attributes(struct bb_match_ctx *c, const char *attrs, size_t len,
			    struct bb_error *err)
{
	struct strbuf ev = STRBUF_INIT;
	size_t n = 0;
	bool ok = attributes_to_event(attrs, len, &ev, &n, err) == 0;

	c->no_attributes = n == 0;

	if (ok && !event_scan_run_ns(&c->scan, c->rs, ev.buf, ev.len, BPFBUS_ATTR_NS, on_leaf, c)) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s", c->scan.error);
		ok = false;
	}
	sb_free(&ev);
	return ok;
}

int bb_match_attributes(struct bb_match_ctx *c, const char *attrs, size_t len, const uint32_t **ids,
			struct bb_error *err)
{
	next_epoch(c);
	if (!scan_attributes(c, attrs, len, err))
		return -1;
	return finish(c, ids);
}

int bb_match_sns(struct bb_match_ctx *c, const char *attrs, size_t attrs_len, const char *body,
		 size_t body_len, const uint32_t **ids, struct bb_error *err)
{
	next_epoch(c);
	if (!scan_attributes(c, attrs_len ? attrs : "{}", attrs_len ? attrs_len : 2, err))
		return -1;
	/* SNS's Message is any text: body-scope policies see only an object */
	if (json_is_object(body, body_len) &&
	    !event_scan_run(&c->scan, c->rs, body, body_len, on_leaf, c)) {
		if (err)
			snprintf(err->msg, sizeof(err->msg), "%s", c->scan.error);
		return -1;
	}
	return finish(c, ids);
}

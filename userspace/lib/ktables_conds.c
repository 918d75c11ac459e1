// SPDX-License-Identifier: BSD-2-Clause
/*
 * Condition classes and anchors for the kernel tables (docs/kernel.md,
 * "Condition classes").
 *
 * The ruleset has one condition per field of each rule's branch, so a value
 * that 300 rules test marked 300 conditions, and counting every branch's
 * conditions made an event's cost grow with the number of rules sharing its
 * values. Here the conditions that exactly the same table entries mark (the
 * same posting lists, on the same path) become one class with one mark. A
 * branch whose positive classes no other branch uses is counted as before:
 * each marked class adds one. Any other branch is listed under one of its
 * positive classes only, its anchor: the class that the fewest branches use.
 * A marked anchor makes its branches candidates. Either way a candidate
 * matches when all its positive classes are marked and each exists:false
 * field is absent or marked. (Anchoring every branch made events whose value
 * falls in many numeric ranges check a candidate per range.)
 *
 * Conditions marked through an entry of their own (numeric and CIDR
 * intervals, wildcards, anything-but) keep a class of their own.
 */
#include "ktables.h"
#include "ruleset_int.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

/* A condition seen in a posting list. */
struct cref {
	uint32_t cond, list;
};

static int cmp_cref(const void *a, const void *b)
{
	const struct cref *x = a, *y = b;

	if (x->cond != y->cond)
		return x->cond < y->cond ? -1 : 1;
	return x->list < y->list ? -1 : x->list > y->list;
}

/* What identifies a condition's class: its path and the lists marking it. */
struct csig {
	uint32_t cond, path;
	bool alone; /* marked through an entry of its own */
	uint32_t n;
	const struct cref *lists;
};

static int cmp_csig(const void *a, const void *b)
{
	const struct csig *x = a, *y = b;

	if (x->path != y->path)
		return x->path < y->path ? -1 : 1;
	if (x->alone != y->alone)
		return x->alone ? 1 : -1;
	if (x->alone) /* never shared */
		return x->cond < y->cond ? -1 : 1;
	if (x->n != y->n)
		return x->n < y->n ? -1 : 1;
	for (uint32_t i = 0; i < x->n; i++)
		if (x->lists[i].list != y->lists[i].list)
			return x->lists[i].list < y->lists[i].list ? -1 : 1;
	return 0;
}

static bool same_class(const struct csig *x, const struct csig *y)
{
	return !x->alone && !y->alone && !cmp_csig(x, y);
}

bool ktables_exclusion_kind(uint8_t kind)
{
	return kind == K_AB_STR || kind == K_AB_NUM || kind == K_AB_PFX || kind == K_AB_SFX ||
	       kind == K_AB_EIC;
}

/* Call @fn on every posting list of conditions, with a list id. */
static void for_each_cond_list(struct ktables *kt,
			       void (*fn)(struct ktables *kt, struct bpfbus_posting *p,
					  uint32_t list, void *arg),
			       void *arg)
{
	uint32_t id = 0;

	for (size_t i = 0; i < kt->n_values; i++, id++)
		if (!ktables_exclusion_kind(kt->vkeys[i].kind))
			fn(kt, &kt->vposts[i], id, arg);
	for (size_t p = 0; p < kt->n_paths; p++, id++)
		fn(kt, &kt->kpath[p].exists, id, arg);
	for (size_t i = 0; i < kt->n_c6; i++, id++)
		fn(kt, &kt->c6posts[i], id, arg);
}

struct crefs {
	struct cref *v;
	size_t n, cap;
};

static void collect(struct ktables *kt, struct bpfbus_posting *p, uint32_t list, void *arg)
{
	struct crefs *r = arg;

	for (uint32_t j = 0; j < p->count; j++) {
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 1024;
			r->v = xrealloc(r->v, r->cap * sizeof(*r->v));
		}
		r->v[r->n++] = (struct cref){ kt->postings[p->first + j], list };
	}
}

/* Conditions to classes in a list, each class once. */
static void rewrite(struct ktables *kt, struct bpfbus_posting *p, uint32_t list, void *arg)
{
	const uint32_t *cls = arg;
	uint32_t *ids = kt->postings + p->first, n = 0;

	(void)list;
	for (uint32_t j = 0; j < p->count; j++) {
		uint32_t c = cls[ids[j]], k;

		for (k = 0; k < n && ids[k] != c; k++)
			;
		if (k == n)
			ids[n++] = c;
	}
	p->count = n;
}

/* Mark the conditions reached through entries of their own. */
static void mark_alone(const struct ktables *kt, const struct bb_ruleset *rs, bool *alone)
{
	for (size_t i = 0; i < kt->n_ivals; i++)
		alone[kt->ivals[i].cond] = true;
	for (size_t p = 0; p < kt->n_paths; p++)
		for (uint32_t j = 0; j < kt->kpath[p].wild.count; j++)
			alone[kt->wild[kt->kpath[p].wild.first + j].id] = true;
	for (size_t a = 0; a < rs->n_ab; a++)
		alone[kt->postings[kt->hdr.ab_cond.first + a]] = true;
}

static void relabel_alone(struct ktables *kt, const struct bb_ruleset *rs, const uint32_t *cls)
{
	for (size_t i = 0; i < kt->n_ivals; i++)
		kt->ivals[i].cond = cls[kt->ivals[i].cond];
	for (size_t p = 0; p < kt->n_paths; p++)
		for (uint32_t j = 0; j < kt->kpath[p].wild.count; j++) {
			struct bpfbus_wild *w = &kt->wild[kt->kpath[p].wild.first + j];

			w->id = cls[w->id];
		}
	for (size_t a = 0; a < rs->n_ab; a++) {
		uint32_t *c = &kt->postings[kt->hdr.ab_cond.first + a];

		*c = cls[*c];
	}
	for (size_t i = 0; i < kt->n_boxes; i++)
		for (int a = 0; a < 2 && !(kt->boxes[i].open & BPFBUS_BOX_WHOLE); a++)
			kt->boxes[i].cond[a] = cls[kt->boxes[i].cond[a]];
}

/* Number the classes: @cls[cond] = class. Returns the number of classes. */
static uint32_t number_classes(struct ktables *kt, const struct bb_ruleset *rs, uint32_t *cls)
{
	struct crefs r = { 0 };
	struct csig *sig = xcalloc(rs->n_conds + 1, sizeof(*sig));
	bool *alone = xcalloc(rs->n_conds + 1, sizeof(*alone));
	uint32_t n_classes = 0;
	size_t at = 0;

	for_each_cond_list(kt, collect, &r);
	if (r.n)
		qsort(r.v, r.n, sizeof(*r.v), cmp_cref);
	/* a list naming a condition twice counts once */
	for (size_t i = 0; i < r.n; i++)
		if (!at || cmp_cref(&r.v[at - 1], &r.v[i]))
			r.v[at++] = r.v[i];
	r.n = at;
	at = 0;
	mark_alone(kt, rs, alone);
	for (size_t c = 0; c < rs->n_conds; c++) {
		struct csig *s = &sig[c];

		s->cond = (uint32_t)c;
		s->path = rs->conds[c].path;
		s->alone = alone[c];
		s->lists = r.v + at;
		while (at < r.n && r.v[at].cond == c)
			at++, s->n++;
	}
	if (rs->n_conds)
		qsort(sig, rs->n_conds, sizeof(*sig), cmp_csig);
	for (size_t i = 0; i < rs->n_conds; i++) {
		if (i && !same_class(&sig[i - 1], &sig[i]))
			n_classes++;
		cls[sig[i].cond] = n_classes;
	}
	free(sig);
	free(alone);
	free(r.v);
	return rs->n_conds ? n_classes + 1 : 0;
}

void ktables_build_classes(struct ktables *kt, const struct bb_ruleset *rs)
{
	uint32_t *cls = xcalloc(rs->n_conds + 1, sizeof(*cls));
	uint32_t n_classes = number_classes(kt, rs, cls);
	uint32_t *uses = xcalloc(n_classes + 1, sizeof(*uses));
	uint32_t *anchor = xcalloc(rs->n_branches + 1, sizeof(*anchor));
	uint32_t *partner = xcalloc(rs->n_branches + 1, sizeof(*partner));
	uint32_t *at = xcalloc(n_classes + 1, sizeof(*at));
	uint32_t *list = xcalloc(2 * rs->n_branches + 1, sizeof(*list));
	uint32_t *ids = NULL, first;
	size_t cap = 0, n_anchored = 0;

	for_each_cond_list(kt, rewrite, cls);
	relabel_alone(kt, rs, cls);

	/* each branch's classes (exists:false uses flagged) into the postings */
	for (size_t c = 0; c < rs->n_conds; c++)
		if (!rs->conds[c].absent_ok)
			uses[cls[c]]++;
	for (size_t b = 0; b < rs->n_branches; b++) {
		const struct branch *br = &rs->branches[b];

		if (br->n_cond > cap) {
			cap = br->n_cond * 2;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		anchor[b] = BPFBUS_NO_NODE;
		for (uint32_t j = 0; j < br->n_cond; j++) {
			const struct cond *c = &rs->conds[br->first_cond + j];
			uint32_t k = cls[br->first_cond + j];

			ids[j] = k | (c->absent_ok ? BPFBUS_COND_ABSENT_OK : 0);
			if (!c->absent_ok && (anchor[b] == BPFBUS_NO_NODE || uses[k] < uses[anchor[b]] ||
					      (uses[k] == uses[anchor[b]] && k < anchor[b])))
				anchor[b] = k;
		}
		partner[b] = anchor[b];
		for (uint32_t j = 0; j < br->n_cond; j++) {
			uint32_t k = ids[j];

			/* the other positive class that the fewest branches use */
			if (!(k & BPFBUS_COND_ABSENT_OK) && k != anchor[b] &&
			    (partner[b] == anchor[b] || uses[k] < uses[partner[b]]))
				partner[b] = k;
		}
		kt->branches[b].first_cond = ktables_add_postings(kt, ids, br->n_cond);
		kt->branches[b].n_cond = br->n_cond;
	}
	free(ids);

	/* a branch whose positive classes are all its own is counted */
	kt->conds = xrealloc(kt->conds, (n_classes + 1) * sizeof(*kt->conds));
	memset(kt->conds, 0, (n_classes + 1) * sizeof(*kt->conds));
	for (size_t c = 0; c < rs->n_conds; c++)
		kt->conds[cls[c]].path = rs->conds[c].path;
	for (uint32_t k = 0; k < n_classes; k++)
		kt->conds[k].branch = BPFBUS_NO_NODE;
	for (size_t b = 0; b < rs->n_branches; b++) {
		const struct branch *br = &rs->branches[b];
		bool own = anchor[b] != BPFBUS_NO_NODE;

		for (uint32_t j = 0; own && j < br->n_cond; j++)
			if (!rs->conds[br->first_cond + j].absent_ok)
				own = uses[cls[br->first_cond + j]] == 1;
		if (!own)
			continue;
		for (uint32_t j = 0; j < br->n_cond; j++) {
			struct bpfbus_kcond *kc = &kt->conds[cls[br->first_cond + j]];

			if (rs->conds[br->first_cond + j].absent_ok)
				continue;
			kc->branch = (uint32_t)b;
			kc->need = br->need;
			if (br->n_cond == 1) {
				kc->flags |= BPFBUS_KC_ALONE;
				kc->rule = kt->branches[b].rule;
				kc->bus = kt->branches[b].bus;
			}
		}
		anchor[b] = BPFBUS_NO_NODE;
	}

	/* each class's anchored branches, one list after another */
	for (size_t b = 0; b < rs->n_branches; b++)
		if (anchor[b] != BPFBUS_NO_NODE)
			kt->conds[anchor[b]].anchored.count++;
	for (uint32_t k = 0; k < n_classes; k++) {
		at[k] = (uint32_t)n_anchored;
		n_anchored += 2 * kt->conds[k].anchored.count;
	}
	for (size_t b = 0; b < rs->n_branches; b++)
		if (anchor[b] != BPFBUS_NO_NODE) {
			list[at[anchor[b]]++] = (uint32_t)b;
			list[at[anchor[b]]++] = partner[b];
		}
	first = ktables_add_postings(kt, list, n_anchored);
	for (uint32_t k = 0, off = 0; k < n_classes; k++) {
		kt->conds[k].anchored.first = first + off;
		off += 2 * kt->conds[k].anchored.count;
	}
	kt->hdr.n_conds = n_classes;
	free(list);
	free(at);
	free(partner);
	free(anchor);
	free(uses);
	free(cls);
}

/* SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause */
/*
 * SNS datagrams in the kernel: the attributes section and the Message,
 * scanned into one leaf list and matched once against the topic's tables,
 * so MessageAttributes-scope and MessageBody-scope policies are decided
 * together (include/bpfbus/attrs.h has the table layout; docs/kernel.md,
 * "SNS topics").
 *
 * The buffer holds the body at [0, body_len) and the attributes right after
 * it. The attributes are scanned first, with the body scanner, from the
 * attribute namespace's hash; their Type and Value leaves are then paired
 * into one typed leaf per attribute (kattrs_pair). The body follows, from the
 * ordinary root hash; a body that is not a JSON object adds no leaves
 * (MessageBody-scope policies see nothing), as SNS does.
 *
 * Exact or VERIFY: the kernel decides String and String.* attributes, and
 * Number attributes whose Value is plain JSON number text (other text is a
 * string, as userspace reads it). It hands to userspace (VERIFY, with a
 * reason bit) String.Array attributes, Types with escapes, Number Values
 * with whitespace or escapes, and any attribute a policy reads that is not
 * exactly one {"Type": string, "Value": string}: duplicated names or
 * members, a missing member, a non-string member, a value right at the
 * attribute. Binary and unknown Types are no attribute for the policies, as
 * in userspace (bb_attributes_to_event).
 */
#ifndef BPFBUS_KATTRS_H
#define BPFBUS_KATTRS_H

#include "bpfbus/attrs.h"

/* The datapath copies the attributes right after a body of up to
 * MAX_BODY - 1 bytes: even then they stay inside the scan state. */
_Static_assert(__builtin_offsetof(struct scan_state, buf) + BPFBUS_SCAN_MAX_BODY - 1 +
			       BPFBUS_SCAN_MAX_ATTRS <=
		       sizeof(struct scan_state),
	       "attributes beside the body stay in the scan state");

/* Number text checked against the JSON grammar, one byte per callback
 * (state in a map value: a plain loop would explode the verifier). */
enum ka_num_st {
	KA_N_START,
	KA_N_MINUS,
	KA_N_ZERO,
	KA_N_INT,
	KA_N_POINT,
	KA_N_FRAC,
	KA_N_E,
	KA_N_ESIGN,
	KA_N_EXP,
	KA_N_BAD,
};

struct ka_state {
	__u32 num_st;
	__u32 num_ws; /* whitespace seen: userspace's parser would skip it */
	__u32 num_off;
	__u32 kept; /* typed leaves kept so far (kattrs_pair) */
	__u32 first; /* the body's first leaf */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct ka_state);
} ka_state_map SEC(".maps");

/* bpf_loop takes its context on the stack */
struct ka_ctx {
	struct scan_state *s;
};

static __always_inline struct ka_state *ka_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ka_state_map, &zero);
}

static __always_inline __u32 ka_num_next(__u32 st, __u8 c)
{
	int digit = c >= '0' && c <= '9';

	switch (st) {
	case KA_N_START:
		return c == '-' ? KA_N_MINUS : c == '0' ? KA_N_ZERO : digit ? KA_N_INT : KA_N_BAD;
	case KA_N_MINUS:
		return c == '0' ? KA_N_ZERO : digit ? KA_N_INT : KA_N_BAD;
	case KA_N_ZERO:
		return c == '.' ? KA_N_POINT : (c == 'e' || c == 'E') ? KA_N_E : KA_N_BAD;
	case KA_N_INT:
		return digit			? KA_N_INT
		       : c == '.'		? KA_N_POINT
		       : (c == 'e' || c == 'E') ? KA_N_E
						: KA_N_BAD;
	case KA_N_POINT:
		return digit ? KA_N_FRAC : KA_N_BAD;
	case KA_N_FRAC:
		return digit ? KA_N_FRAC : (c == 'e' || c == 'E') ? KA_N_E : KA_N_BAD;
	case KA_N_E:
		return (c == '+' || c == '-') ? KA_N_ESIGN : digit ? KA_N_EXP : KA_N_BAD;
	case KA_N_ESIGN:
	case KA_N_EXP:
		return digit ? KA_N_EXP : KA_N_BAD;
	}
	return KA_N_BAD;
}

static long ka_num_cb(__u64 i, void *arg)
{
	struct scan_state *s = ((struct ka_ctx *)arg)->s;
	struct ka_state *k = ka_state();

	if (!k)
		return 1;
	__u8 c = s->buf[(k->num_off + (__u32)i) & SCAN_BODY_MASK];

	if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		k->num_ws = 1;
	k->num_st = ka_num_next(k->num_st, c);
	return 0;
}

/* 1: the text is a JSON number, 0: it is not, -1: userspace must say. */
static __always_inline int ka_is_number(struct scan_state *s, __u32 off, __u32 len)
{
	struct ka_state *k = ka_state();

	if (!k)
		return -1;
	k->num_st = KA_N_START;
	k->num_ws = 0;
	k->num_off = off;
	struct ka_ctx c = { .s = s };

	bpf_loop(len & SCAN_BODY_MASK, ka_num_cb, &c, 0);
	if (k->num_ws)
		return -1;
	return k->num_st == KA_N_ZERO || k->num_st == KA_N_INT || k->num_st == KA_N_FRAC ||
	       k->num_st == KA_N_EXP;
}

static __always_inline int ka_text_is(struct scan_state *s, __u32 off, const char *t, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		if (s->buf[(off + i) & SCAN_BODY_MASK] != (__u8)t[i])
			return 0;
	return 1;
}

enum ka_type { KA_ABSENT, KA_STRING, KA_NUMBER, KA_ARRAY };

/* How userspace reads a Type (matcher.c): "String.Array" first, then
 * "Number" and "String" with an optional ".label"; anything else is left out. */
static __always_inline int ka_type(struct scan_state *s, const struct bpfbus_leaf *t)
{
	__u32 off = t->off, len = t->len;

	if (len == 12 && ka_text_is(s, off, "String.Array", 12))
		return KA_ARRAY;
	if (len < 6 || (len > 6 && s->buf[(off + 6) & SCAN_BODY_MASK] != '.'))
		return KA_ABSENT;
	if (ka_text_is(s, off, "Number", 6))
		return KA_NUMBER;
	if (ka_text_is(s, off, "String", 6))
		return KA_STRING;
	return KA_ABSENT;
}

struct ka_find {
	__u32 base, n_type, n_value, value;
};

/* Count the Type and Value members of attribute @base among the leaves. */
static long ka_find_cb(__u64 j, void *arg)
{
	struct ka_find *f = arg;
	struct scan_state *s = km_scan_state();

	if (!s)
		return 1;
	struct bpfbus_leaf *l = &s->res.leaves[j & SCAN_LEAF_MASK];

	if (BPFBUS_APATH_ID(l->path) != f->base)
		return 0;
	/* a Type, or one already turned into its attribute's leaf */
	if ((l->path & BPFBUS_APATH_ROLES) == BPFBUS_APATH_TYPE || !(l->path & BPFBUS_APATH_ROLES))
		f->n_type++;
	if ((l->path & BPFBUS_APATH_ROLES) == BPFBUS_APATH_VALUE) {
		f->n_value++;
		f->value = (__u32)j;
	}
	return 0;
}

/*
 * One raw leaf of the attributes: a Type becomes its attribute's typed leaf
 * (path id without roles); everything else keeps its role bits and is
 * dropped by kattrs_pair. Returns VERIFY bits, or 0.
 */
static __noinline int ka_pair_leaf(__u32 i)
{
	struct scan_state *s = km_scan_state();

	if (!s)
		return BPFBUS_VERIFY_ATTR_SHAPE;
	struct bpfbus_leaf *l = &s->res.leaves[i & SCAN_LEAF_MASK];
	__u32 role = l->path & BPFBUS_APATH_ROLES;
	struct ka_find f = { .base = BPFBUS_APATH_ID(l->path) };

	/* a value right at an attribute, one in an array, a path with two roles */
	if ((role != BPFBUS_APATH_TYPE && role != BPFBUS_APATH_VALUE) || l->n_arrays)
		return BPFBUS_VERIFY_ATTR_SHAPE;
	bpf_loop(s->res.n_leaves & (2 * BPFBUS_SCAN_MAX_LEAVES - 1), ka_find_cb, &f, 0);
	if (f.n_type != 1 || f.n_value != 1)
		return BPFBUS_VERIFY_ATTR_SHAPE;
	if (role == BPFBUS_APATH_VALUE)
		return 0; /* its Type carries it */
	struct bpfbus_leaf *v = &s->res.leaves[f.value & SCAN_LEAF_MASK];

	if (l->type != BPFBUS_LEAF_STRING || v->type != BPFBUS_LEAF_STRING)
		return BPFBUS_VERIFY_ATTR_SHAPE;
	if (l->escaped)
		return BPFBUS_VERIFY_ATTR_TYPE;
	int type = ka_type(s, l);

	if (type == KA_ARRAY)
		return BPFBUS_VERIFY_ATTR_TYPE;
	if (type == KA_ABSENT)
		return 0; /* Binary or unknown: no attribute for the policies */
	if (type == KA_NUMBER) {
		int num = v->escaped ? -1 : ka_is_number(s, v->off, v->len);

		if (num < 0)
			return BPFBUS_VERIFY_ATTR_NUMBER;
		if (!num)
			type = KA_STRING; /* not a number: userspace reads it as a string */
	}
	l->path = f.base;
	l->type = type == KA_NUMBER ? BPFBUS_LEAF_NUMBER : BPFBUS_LEAF_STRING;
	l->off = v->off;
	l->len = v->len;
	l->escaped = v->escaped;
	l->in_obj_array = 0;
	return 0;
}

static long ka_pair_cb(__u64 i, void *arg)
{
	struct scan_state *s = ((struct ka_ctx *)arg)->s;
	int why = ka_pair_leaf((__u32)i);

	if (why) {
		s->res.verify |= why;
		return 1;
	}
	return 0;
}

/* Keep the typed leaves, in order, dropping the rest. */
static long ka_compact_cb(__u64 i, void *arg)
{
	struct scan_state *s = ((struct ka_ctx *)arg)->s;
	struct ka_state *k = ka_state();
	struct bpfbus_leaf *l = &s->res.leaves[i & SCAN_LEAF_MASK];

	if (!k)
		return 1;
	if (l->path & BPFBUS_APATH_ROLES)
		return 0;
	s->res.leaves[k->kept & SCAN_LEAF_MASK] = *l;
	k->kept++;
	return 0;
}

/* Turn the attributes' raw leaves into one typed leaf per attribute. */
static __always_inline void kattrs_pair(struct scan_state *s)
{
	__u32 n = s->res.n_leaves & (2 * BPFBUS_SCAN_MAX_LEAVES - 1);
	struct ka_state *k = ka_state();

	if (!k)
		return;
	struct ka_ctx c = { .s = s };

	bpf_loop(n, ka_pair_cb, &c, 0);
	if (s->res.verify)
		return;
	k->kept = 0;
	bpf_loop(n, ka_compact_cb, &c, 0);
	s->res.n_leaves = k->kept;
}

static long ka_body_cb(__u64 i, void *arg)
{
	struct scan_state *s = ((struct ka_ctx *)arg)->s;
	struct ka_state *k = ka_state();

	if (!k)
		return 1;
	struct bpfbus_leaf *l = &s->res.leaves[(k->first + (__u32)i) & SCAN_LEAF_MASK];

	if (l->path & BPFBUS_APATH_ROLES) {
		s->res.verify |= BPFBUS_VERIFY_ATTR_SHAPE;
		return 1;
	}
	return 0;
}

/*
 * Scan an SNS datagram: body in s->buf[0, body_len), attributes (attrs_len
 * bytes, possibly none) right after it, into one leaf list. Returns 0, or 1
 * when the attributes are not JSON (the daemon refuses them: bad_attributes).
 */
static __always_inline int kattrs_scan(struct scan_state *s, __u32 body_len, __u32 attrs_len)
{
	struct ka_state *k = ka_state();

	if (!k)
		return 1;
	body_len &= SCAN_BODY_MASK;
	attrs_len &= SCAN_BODY_MASK;
	if (attrs_len) {
		bpfbus_scan_region(body_len, body_len + attrs_len, 1);
		if (s->res.error)
			return 1;
		if (!s->res.verify)
			kattrs_pair(s);
	}
	__u32 n_attr = s->res.n_leaves;

	if (s->res.verify)
		return 0;
	bpfbus_scan_region(0, body_len, 0);
	if (s->res.error) {
		/* not a JSON object: MessageBody-scope policies see nothing */
		s->res.error = 0;
		s->res.n_leaves = n_attr;
	} else if (s->res.n_leaves > n_attr) {
		/* a body key that reaches the attribute namespace (a raw
		 * control byte in it) is userspace's */
		struct ka_ctx c = { .s = s };

		k->first = n_attr;
		bpf_loop((s->res.n_leaves - n_attr) & (2 * BPFBUS_SCAN_MAX_LEAVES - 1), ka_body_cb,
			 &c, 0);
	}
	return 0;
}

#endif /* BPFBUS_KATTRS_H */

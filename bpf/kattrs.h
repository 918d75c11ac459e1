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
 * Exact or VERIFY: the kernel decides String and String.* attributes,
 * Number attributes whose Value is plain JSON number text (other text is a
 * string, as userspace reads it), and String.Array attributes holding
 * strings, numbers and literals (ka_array). It hands to userspace (VERIFY,
 * with a reason bit) other String.Array Values, Types with escapes, Number Values
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
	/* a String.Array Value being read (ka_array) */
	__u32 arr_st, arr_esc, arr_off, arr_base, arr_tok, arr_id, arr_idx, arr_full;
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

/*
 * String.Array: the Value's text is a JSON array inside a JSON string
 * ("[\"a\", 1, true]"). The kernel reads arrays of strings, numbers and
 * literals, one byte per callback, and reports each element as a leaf on
 * the attribute's path inside one array, as userspace's flat event has it.
 * Escapes other than \" (inner escapes, \n, \u...), nested arrays and
 * objects, and bytes outside printable ASCII in strings are VERIFY; text
 * that is not a JSON array leaves the attribute out, as in userspace.
 */
enum ka_arr_st {
	KA_A_START, /* before '[' */
	KA_A_FIRST, /* after '[': an element or ']' */
	KA_A_ELEM, /* after ',': an element */
	KA_A_STR, /* inside an element string */
	KA_A_NUM,
	KA_A_LIT, /* true, false or null */
	KA_A_AFTER, /* after an element: ',' or ']' */
	KA_A_END, /* after ']': blanks only */
	KA_A_BAD, /* not a JSON array */
	KA_A_VERIFY,
};

static __always_inline int ka_blank(__u8 c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* One element as a leaf; 0, or 1 when the leaves are full (VERIFY). */
static __always_inline int ka_arr_emit(struct scan_state *s, struct ka_state *k, __u8 type,
				       __u32 end)
{
	__u32 n = s->res.n_leaves;

	if (n >= BPFBUS_SCAN_MAX_LEAVES) {
		k->arr_full = 1;
		return 1;
	}
	struct bpfbus_leaf *l = &s->res.leaves[n & SCAN_LEAF_MASK];

	l->path = k->arr_base;
	l->off = k->arr_tok;
	l->len = end - k->arr_tok;
	l->type = type;
	l->escaped = 0;
	l->in_obj_array = 0;
	l->n_arrays = 1;
	l->arr_id[0] = k->arr_id;
	l->arr_idx[0] = k->arr_idx++;
	s->res.n_leaves = n + 1;
	return 0;
}

/* The literal in [arr_tok, end): true, false or null (a leaf type), or 0. */
static __always_inline __u8 ka_literal(struct scan_state *s, __u32 tok, __u32 end)
{
	__u32 n = end - tok;

	if (n == 4 && ka_text_is(s, tok, "true", 4))
		return BPFBUS_LEAF_TRUE;
	if (n == 4 && ka_text_is(s, tok, "null", 4))
		return BPFBUS_LEAF_NULL;
	if (n == 5 && ka_text_is(s, tok, "false", 5))
		return BPFBUS_LEAF_FALSE;
	return 0;
}

/* After an element (or where a number or literal ends): the next state. */
static __always_inline __u32 ka_arr_after(__u8 ch)
{
	return ka_blank(ch) ? KA_A_AFTER : ch == ',' ? KA_A_ELEM : ch == ']' ? KA_A_END : KA_A_BAD;
}

/* The first character of an element at raw position @p. */
static __always_inline __u32 ka_arr_elem(struct ka_state *k, __u8 ch, __u32 p, int quote)
{
	if (quote) {
		k->arr_tok = p + 1;
		return KA_A_STR;
	}
	k->arr_tok = p;
	if (ch == '-' || (ch >= '0' && ch <= '9')) {
		k->num_st = ka_num_next(KA_N_START, ch);
		return KA_A_NUM;
	}
	if (ch == 't' || ch == 'f' || ch == 'n')
		return KA_A_LIT;
	return ch == '[' || ch == '{' ? KA_A_VERIFY : KA_A_BAD;
}

static __always_inline __u32 ka_arr_step(struct scan_state *s, struct ka_state *k, __u8 ch, __u32 p,
					 int quote)
{
	__u32 st = k->arr_st;

	switch (st) {
	case KA_A_START:
		return ka_blank(ch) && !quote ? st : ch == '[' && !quote ? KA_A_FIRST : KA_A_BAD;
	case KA_A_FIRST:
	case KA_A_ELEM:
		if (ka_blank(ch) && !quote)
			return st;
		if (st == KA_A_FIRST && ch == ']' && !quote)
			return KA_A_END;
		return ka_arr_elem(k, ch, p, quote);
	case KA_A_STR:
		if (quote) /* the closing \" starts one byte earlier */
			return ka_arr_emit(s, k, BPFBUS_LEAF_STRING, p - 1) ? KA_A_VERIFY
									    : KA_A_AFTER;
		return ch < 0x20 || ch >= 0x7f ? KA_A_VERIFY : st;
	case KA_A_NUM:
		if (!quote && ((ch >= '0' && ch <= '9') || ch == '.' || ch == 'e' || ch == 'E' ||
			       ch == '+' || ch == '-')) {
			k->num_st = ka_num_next(k->num_st, ch);
			return st;
		}
		if (k->num_st != KA_N_ZERO && k->num_st != KA_N_INT && k->num_st != KA_N_FRAC &&
		    k->num_st != KA_N_EXP)
			return KA_A_BAD;
		if (ka_arr_emit(s, k, BPFBUS_LEAF_NUMBER, p))
			return KA_A_VERIFY;
		return quote ? KA_A_BAD : ka_arr_after(ch);
	case KA_A_LIT: {
		if (!quote && ch >= 'a' && ch <= 'z')
			return st;
		__u8 lit = ka_literal(s, k->arr_tok, p);

		if (!lit)
			return KA_A_BAD;
		if (ka_arr_emit(s, k, lit, p))
			return KA_A_VERIFY;
		return quote ? KA_A_BAD : ka_arr_after(ch);
	}
	case KA_A_AFTER:
		return quote ? KA_A_BAD : ka_arr_after(ch);
	case KA_A_END:
		return ka_blank(ch) && !quote ? st : KA_A_BAD;
	}
	return st;
}

static long ka_arr_cb(__u64 i, void *arg)
{
	struct scan_state *s = ((struct ka_ctx *)arg)->s;
	struct ka_state *k = ka_state();

	if (!k)
		return 1;
	__u32 p = k->arr_off + (__u32)i;
	__u8 c = s->buf[p & SCAN_BODY_MASK];

	if (k->arr_esc) {
		/* the outer string's escape: only \" is an inner character here */
		k->arr_esc = 0;
		if (c != '"') {
			k->arr_st = KA_A_VERIFY;
			return 1;
		}
		k->arr_st = ka_arr_step(s, k, c, p, 1);
	} else if (c == '\\') {
		k->arr_esc = 1;
		return 0;
	} else {
		k->arr_st = ka_arr_step(s, k, c, p, 0);
	}
	return k->arr_st == KA_A_BAD || k->arr_st == KA_A_VERIFY;
}

/*
 * The elements of a String.Array Value @v as leaves on path @base. Returns
 * 0 (elements added, or none: not an array) or VERIFY bits.
 */
static __always_inline int ka_array(struct scan_state *s, const struct bpfbus_leaf *v, __u32 base)
{
	struct ka_state *k = ka_state();
	struct ka_ctx c = { .s = s };
	__u32 first = s->res.n_leaves;

	if (!k)
		return BPFBUS_VERIFY_ATTR_TYPE;
	k->arr_st = KA_A_START;
	k->arr_esc = 0;
	k->arr_off = v->off;
	k->arr_base = base;
	k->arr_id = s->next_arr++;
	k->arr_idx = 0;
	k->arr_full = 0;
	bpf_loop(v->len & SCAN_BODY_MASK, ka_arr_cb, &c, 0);
	if (k->arr_st == KA_A_VERIFY)
		return k->arr_full ? BPFBUS_VERIFY_LEAVES : BPFBUS_VERIFY_ATTR_TYPE;
	if (k->arr_st != KA_A_END)
		s->res.n_leaves = first; /* not a JSON array: no attribute */
	return 0;
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
	/* a Type, or one already turned into its attribute's leaf (not an
	 * element of a String.Array, which sits in an array) */
	if ((l->path & BPFBUS_APATH_ROLES) == BPFBUS_APATH_TYPE ||
	    (!(l->path & BPFBUS_APATH_ROLES) && !l->n_arrays))
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
		return ka_array(s, v, f.base); /* the Type leaf itself is dropped */
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
	/* String.Array elements were added after the raw leaves */
	n = s->res.n_leaves & (2 * BPFBUS_SCAN_MAX_LEAVES - 1);
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

struct ka_none_ctx {
	struct scan_state *s;
	__u32 off;
	__u8 open, none;
};

static long ka_none_cb(__u64 i, void *arg)
{
	struct ka_none_ctx *c = arg;
	__u8 ch = c->s->buf[(c->off + (__u32)i) & SCAN_BODY_MASK];

	if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r')
		return 0;
	if (!c->open && ch == '{') {
		c->open = 1;
		return 0;
	}
	c->none = c->open && ch == '}';
	return 1;
}

/*
 * Does the attributes section (attrs_len bytes after the body, already
 * scanned as JSON) hold no attribute at all: nothing, "{}" or "{ }"?
 */
static __always_inline int kattrs_none(struct scan_state *s, __u32 body_len, __u32 attrs_len)
{
	struct ka_none_ctx c = { .s = s, .off = body_len & SCAN_BODY_MASK };

	if (!attrs_len)
		return 1;
	bpf_loop(attrs_len & SCAN_BODY_MASK, ka_none_cb, &c, 0);
	return c.none;
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

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Compiler from EventBridge event patterns and SNS filter policies to the IR.
 *
 * The walk follows the document in order, the way EventBridge's streaming
 * compiler does, so that the first problem found is the one reported and the
 * reasons read exactly like EventBridge's ("Reason: ..." part). SNS policies
 * use the same grammar with a few operators removed and extra limits
 * (policy.c applies those limits to the compiled IR).
 */
#include "cidr.h"
#include "casefold.h"
#include "ir.h"
#include "json.h"
#include "strbuf.h"
#include "wildcard.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* EventBridge refuses wildcard patterns whose matcher could be in this many
 * positions at once (see wildcard_complexity). */
#define WILDCARD_MAX_COMPLEXITY 8

/* A branch under construction: fields keyed by path, later puts replace. */
struct branch_set {
	struct ir_branch *b;
	size_t n;
};

struct compiler {
	enum ir_dialect dialect;
	char *reason;
	size_t reason_len;
	char *where; /* path of the field being compiled, for error reports */
	size_t where_len;
	bool failed;
};

/* Remember which field is being compiled; kept as it was at the failure. */
static void at_path(struct compiler *c, const char *prefix, size_t plen,
		    const char *key, size_t klen)
{
	if (c->failed)
		return;
	snprintf(c->where, c->where_len, "%.*s%s%.*s", (int)plen, prefix,
		 plen && klen ? "." : "", (int)klen, key);
}

static bool fail(struct compiler *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool fail(struct compiler *c, const char *fmt, ...)
{
	if (c->failed)
		return false;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, c->reason_len, fmt, ap);
	va_end(ap);
	c->failed = true;
	return false;
}

void ir_matcher_free(struct ir_matcher *m)
{
	free(m->s);
	for (size_t i = 0; i < m->n_excl; i++)
		ir_matcher_free(&m->excl[i]);
	free(m->excl);
}

static void field_free(struct ir_field *f)
{
	free(f->path);
	for (size_t i = 0; i < f->n_m; i++)
		ir_matcher_free(&f->m[i]);
	free(f->m);
}

static void branch_free(struct ir_branch *b)
{
	for (size_t i = 0; i < b->n_fields; i++)
		field_free(&b->fields[i]);
	free(b->fields);
}

void ir_rule_free(struct ir_rule *r)
{
	for (size_t i = 0; i < r->n_branches; i++)
		branch_free(&r->branches[i]);
	free(r->branches);
	r->branches = NULL;
	r->n_branches = 0;
}

static struct ir_matcher matcher_copy(const struct ir_matcher *m)
{
	struct ir_matcher c = *m;

	if (m->s)
		c.s = xstrndup(m->s, m->len);
	if (m->n_excl) {
		c.excl = xcalloc(m->n_excl, sizeof(*c.excl));
		for (size_t i = 0; i < m->n_excl; i++)
			c.excl[i] = matcher_copy(&m->excl[i]);
	}
	return c;
}

static struct ir_field field_copy(const struct ir_field *f)
{
	struct ir_field c = {.path = xstrndup(f->path, f->path_len),
			     .path_len = f->path_len,
			     .depth = f->depth,
			     .n_m = f->n_m};

	c.m = xcalloc(f->n_m, sizeof(*c.m));
	for (size_t i = 0; i < f->n_m; i++)
		c.m[i] = matcher_copy(&f->m[i]);
	return c;
}

static struct ir_branch branch_copy(const struct ir_branch *b)
{
	struct ir_branch c = {.n_fields = b->n_fields};

	c.fields = xcalloc(b->n_fields, sizeof(*c.fields));
	for (size_t i = 0; i < b->n_fields; i++)
		c.fields[i] = field_copy(&b->fields[i]);
	return c;
}

static struct branch_set set_copy(const struct branch_set *s)
{
	struct branch_set c = {.n = s->n};

	if (!s->n)
		return c;
	c.b = xcalloc(s->n, sizeof(*c.b));
	for (size_t i = 0; i < s->n; i++)
		c.b[i] = branch_copy(&s->b[i]);
	return c;
}

static void set_free(struct branch_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		branch_free(&s->b[i]);
	free(s->b);
	s->b = NULL;
	s->n = 0;
}

static void set_append(struct branch_set *dst, struct branch_set *src)
{
	dst->b = xrealloc(dst->b, (dst->n + src->n) * sizeof(*dst->b));
	memcpy(dst->b + dst->n, src->b, src->n * sizeof(*src->b));
	dst->n += src->n;
	free(src->b);
	src->b = NULL;
	src->n = 0;
}

/* Put a field into a branch, replacing an earlier field on the same path. */
static void branch_put(struct ir_branch *b, const struct ir_field *f)
{
	for (size_t i = 0; i < b->n_fields; i++) {
		if (b->fields[i].path_len == f->path_len &&
		    !memcmp(b->fields[i].path, f->path, f->path_len)) {
			field_free(&b->fields[i]);
			b->fields[i] = field_copy(f);
			return;
		}
	}
	b->fields = xrealloc(b->fields, (b->n_fields + 1) * sizeof(*b->fields));
	b->fields[b->n_fields++] = field_copy(f);
}

static char *join_path(const char *prefix, size_t plen, const char *key,
		       size_t klen, size_t *out_len)
{
	size_t n = plen ? plen + 1 + klen : klen;
	char *p = xmalloc(n + 1);

	if (plen) {
		memcpy(p, prefix, plen);
		p[plen] = '.';
		memcpy(p + plen + 1, key, klen);
	} else {
		memcpy(p, key, klen);
	}
	p[n] = '\0';
	*out_len = n;
	return p;
}

static bool is_sns(const struct compiler *c)
{
	return c->dialect != DIALECT_EVENTBRIDGE;
}

static char *dup_str(const struct json_value *v)
{
	return xstrndup(v->u.str.s, v->u.str.len);
}

static char *fold_str(const struct json_value *v, size_t *len)
{
	char *s = xmalloc(v->u.str.len + 1);

	*len = casefold(v->u.str.s, v->u.str.len, s);
	s[*len] = '\0';
	return s;
}

/* The key of a one-member match expression, or NULL for an empty object. */
static const struct json_member *only_member(const struct json_value *v)
{
	return v->u.obj.n ? &v->u.obj.members[0] : NULL;
}

static bool one_key(struct compiler *c, const struct json_value *expr)
{
	if (expr->u.obj.n > 1)
		return fail(c, "Only one key allowed in match expression");
	return true;
}

/*
 * A key after an anything-but's value (inside or beside it): EventBridge's
 * compiler reports it with its numeric message, as event-ruler's
 * JsonRuleCompiler does for every anything-but form.
 */
static bool ab_one_key(struct compiler *c, const struct json_value *expr)
{
	if (expr->u.obj.n > 1 && !is_sns(c))
		return fail(c, "Too many elements in numeric expression");
	return one_key(c, expr);
}

/* ---- numeric ---------------------------------------------------------- */

static bool is_num(const struct json_value *v)
{
	return v && v->type == JSON_NUMBER;
}

/* SNS bounds numeric operands: +-1e9 with at most five decimals. */
static bool sns_number_ok(struct compiler *c, const struct json_value *v)
{
	if (!is_sns(c))
		return true;
	double d = v->u.num.d;

	if (d < -1e9 || d > 1e9)
		return fail(c, "Numeric value must be between -1.0E9 and 1.0E9, "
			       "inclusive");
	double scaled = d * 1e5;

	if (fabs(scaled - nearbyint(scaled)) > 1e-6 * fmax(1.0, fabs(scaled)))
		return fail(c, "Numeric value must have at most 5 decimal "
			       "places");
	return true;
}

static const char *text_of(const struct json_value *v, char *buf, size_t n)
{
	switch (v->type) {
	case JSON_STRING:
		snprintf(buf, n, "%.*s", (int)v->u.str.len, v->u.str.s);
		return buf;
	case JSON_NUMBER:
		return v->u.num.raw;
	case JSON_NULL:
		return "null";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_ARRAY:
		return "[";
	case JSON_OBJECT:
		return "{";
	}
	return "";
}

static bool parse_numeric(struct compiler *c, const struct json_value *arr,
			  struct ir_matcher *m)
{
	size_t n = arr->u.arr.n;
	struct json_value **it = arr->u.arr.items;
	char buf[128];

	m->op = MOP_NUMERIC;
	m->lo = -INFINITY;
	m->hi = INFINITY;
	if (n == 0)
		return fail(c, "Invalid member in numeric match: ]");
	if (it[0]->type != JSON_STRING)
		return fail(c, "Invalid member in numeric match: %s",
			    text_of(it[0], buf, sizeof(buf)));
	const char *op = it[0]->u.str.s;
	const struct json_value *val = n > 1 ? it[1] : NULL;

	if (!strcmp(op, "=")) {
		if (!is_num(val))
			return fail(c, "Value of equals must be numeric");
		if (!sns_number_ok(c, val))
			return false;
		m->lo = m->hi = val->u.num.d;
		if (n > 2)
			return fail(c, "Too many elements in numeric expression");
		return true;
	}
	bool lower = !strcmp(op, ">") || !strcmp(op, ">=");
	bool upper = !strcmp(op, "<") || !strcmp(op, "<=");

	if (!lower && !upper)
		return fail(c, "Unrecognized numeric range operator: %s", op);
	if (!is_num(val))
		return fail(c, "Value of %s must be numeric", op);
	if (!sns_number_ok(c, val))
		return false;
	if (upper) {
		m->hi = val->u.num.d;
		m->hi_open = op[1] == '\0';
		if (n > 2)
			return fail(c, "Too many elements in numeric expression");
		return true;
	}
	m->lo = val->u.num.d;
	m->lo_open = op[1] == '\0';
	if (n == 2)
		return true;
	if (it[2]->type != JSON_STRING)
		return fail(c, "Bad value in numeric range: %s",
			    text_of(it[2], buf, sizeof(buf)));
	const char *op2 = it[2]->u.str.s;

	if (strcmp(op2, "<") && strcmp(op2, "<="))
		return fail(c, "Bad numeric range operator: %s", op2);
	if (n < 4 || !is_num(it[3]))
		return fail(c, "Value of %s must be numeric", op2);
	if (!sns_number_ok(c, it[3]))
		return false;
	m->hi = it[3]->u.num.d;
	m->hi_open = op2[1] == '\0';
	if (n > 4)
		return fail(c, "Too many terms in numeric range expression");
	if (!(m->lo < m->hi))
		return fail(c, "Bottom must be less than top");
	return true;
}

/* ---- anything-but ----------------------------------------------------- */

static void add_excl(struct ir_matcher *m, struct ir_matcher e)
{
	m->excl = xrealloc(m->excl, (m->n_excl + 1) * sizeof(*m->excl));
	m->excl[m->n_excl++] = e;
}

static struct ir_matcher excl_value(const struct json_value *v)
{
	struct ir_matcher e = {.op = MOP_EXACT};

	if (v->type == JSON_STRING) {
		e.vtype = VT_STRING;
		e.s = dup_str(v);
		e.len = v->u.str.len;
	} else {
		e.vtype = VT_NUMBER;
		e.num = v->u.num.d;
	}
	return e;
}

static bool ab_values(struct compiler *c, const struct json_value *v,
		      struct ir_matcher *m)
{
	if (v->type == JSON_STRING || v->type == JSON_NUMBER) {
		if (v->type == JSON_NUMBER && !sns_number_ok(c, v))
			return false;
		add_excl(m, excl_value(v));
		return true;
	}
	if (v->type != JSON_ARRAY)
		return fail(c, "Value of anything-but must be an array or single "
			       "string/number value.");
	bool has_num = false, has_str = false;

	for (size_t i = 0; i < v->u.arr.n; i++) {
		const struct json_value *x = v->u.arr.items[i];

		if (x->type != JSON_STRING && x->type != JSON_NUMBER)
			return fail(c, "Inside anything but list, "
				       "start|null|boolean is not supported.");
		if (x->type == JSON_NUMBER && !sns_number_ok(c, x))
			return false;
		has_num |= x->type == JSON_NUMBER;
		has_str |= x->type == JSON_STRING;
		add_excl(m, excl_value(x));
	}
	if (has_num == has_str)
		return fail(c, "Inside anything but list, either all values are "
			       "number or string, mixed type is not supported");
	return true;
}

/* anything-but {"equals-ignore-case": "x" | ["x", ...]} */
static bool ab_eic(struct compiler *c, const struct json_value *v,
		   struct ir_matcher *m)
{
	const struct json_value *const *items = (const struct json_value *const *)&v;
	size_t n = 1;

	if (v->type == JSON_ARRAY) {
		items = (const struct json_value *const *)v->u.arr.items;
		n = v->u.arr.n;
	} else if (v->type != JSON_STRING && v->type != JSON_NUMBER) {
		return fail(c, "Value of anything-but must be an array or single "
			       "string/number value.");
	}
	/* an empty list excludes nothing: event-ruler accepts it */
	for (size_t i = 0; i < n; i++) {
		if (items[i]->type != JSON_STRING)
			return fail(c, "Inside anything-but/equals-ignore-case "
				       "list, number|start|null|boolean is not "
				       "supported.");
		struct ir_matcher e = {.op = MOP_EIC};

		e.s = fold_str(items[i], &e.len);
		add_excl(m, e);
	}
	return true;
}

/* anything-but {"prefix"|"suffix"|"wildcard": "x" | [...]} */
static bool ab_string_op(struct compiler *c, const char *name, enum mop op,
			 const struct json_value *v, struct ir_matcher *m)
{
	const char *what = op == MOP_WILDCARD ? "wildcard" : "prefix/suffix";

	/* EventBridge's outer type check sees null and booleans first; SNS
	 * reports them against the inner operator */
	bool scalar_literal = v->type == JSON_NULL || v->type == JSON_TRUE ||
			      v->type == JSON_FALSE;

	if (v->type == JSON_OBJECT || (scalar_literal && !is_sns(c)))
		return fail(c, "Value of anything-but must be an array or single "
			       "string/number value.");
	const struct json_value *const *items = (const struct json_value *const *)&v;
	size_t n = 1;

	if (v->type == JSON_ARRAY) {
		if (op != MOP_WILDCARD && is_sns(c))
			return fail(c, "prefix match pattern must be a string");
		/* an empty list excludes nothing: event-ruler accepts it */
		items = (const struct json_value *const *)v->u.arr.items;
		n = v->u.arr.n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct json_value *x = items[i];

		if (x->type != JSON_STRING)
			return fail(c, "%s match pattern must be a string",
				    is_sns(c) ? name : what);
		if (op != MOP_WILDCARD && x->u.str.len == 0)
			return fail(c, "Null prefix/suffix not allowed");
		if (op == MOP_WILDCARD &&
		    !wildcard_validate(x->u.str.s, x->u.str.len, c->reason,
				       c->reason_len)) {
			c->failed = true;
			return false;
		}
		struct ir_matcher e = {.op = op};

		e.s = dup_str(x);
		e.len = x->u.str.len;
		add_excl(m, e);
	}
	return true;
}

static bool parse_anything_but(struct compiler *c, const struct json_value *v,
			       struct ir_matcher *m)
{
	m->op = MOP_ANYTHING_BUT;
	if (v->type != JSON_OBJECT)
		return ab_values(c, v, m);
	const struct json_member *inner = only_member(v);

	if (!inner)
		return fail(c, "Anything-But expression name not found");
	const char *k = inner->key;
	bool ok;

	if (!strcmp(k, "prefix"))
		ok = ab_string_op(c, k, MOP_PREFIX, inner->value, m);
	else if (!strcmp(k, "suffix") && !is_sns(c))
		ok = ab_string_op(c, k, MOP_SUFFIX, inner->value, m);
	else if (!strcmp(k, "wildcard") && !is_sns(c))
		ok = ab_string_op(c, k, MOP_WILDCARD, inner->value, m);
	else if (!strcmp(k, "equals-ignore-case") && !is_sns(c))
		ok = ab_eic(c, inner->value, m);
	else
		return fail(c, "Unsupported anything-but pattern: %s", k);
	return ok && ab_one_key(c, v);
}

/* ---- single operators ------------------------------------------------- */

/* prefix/suffix: a string, or {"equals-ignore-case": string} */
static bool parse_affix(struct compiler *c, const char *name,
			const struct json_value *v, enum mop plain,
			enum mop folded, struct ir_matcher *m)
{
	if (v->type == JSON_OBJECT) {
		const struct json_member *inner = only_member(v);

		if (!inner)
			return fail(c, "%c%s expression name not found",
				    name[0] - 'a' + 'A', name + 1);
		if (strcmp(inner->key, "equals-ignore-case"))
			return fail(c, "Unsupported %s pattern: %s", name,
				    inner->key);
		if (inner->value->type != JSON_STRING)
			return fail(c, "equals-ignore-case match pattern must be "
				       "a string");
		if (v->u.obj.n > 1)
			return fail(c, "Only one key allowed in match expression");
		m->op = folded;
		m->s = fold_str(inner->value, &m->len);
		return true;
	}
	if (v->type != JSON_STRING)
		return fail(c, "%s match pattern must be a string", name);
	m->op = plain;
	m->s = dup_str(v);
	m->len = v->u.str.len;
	return true;
}

static bool parse_wildcard(struct compiler *c, const struct json_value *v,
			   struct ir_matcher *m)
{
	if (v->type != JSON_STRING)
		return fail(c, "wildcard match pattern must be a string");
	if (!wildcard_validate(v->u.str.s, v->u.str.len, c->reason,
			       c->reason_len)) {
		c->failed = true;
		return false;
	}
	if (wildcard_complexity(v->u.str.s, v->u.str.len) >
	    WILDCARD_MAX_COMPLEXITY)
		return fail(c, "Rule is too complex - try using fewer wildcard "
			       "characters or fewer repeating character "
			       "sequences after a wildcard character");
	m->op = MOP_WILDCARD;
	m->s = dup_str(v);
	m->len = v->u.str.len;
	return true;
}

static bool parse_cidr(struct compiler *c, const struct json_value *v,
		       struct ir_matcher *m)
{
	if (v->type != JSON_STRING)
		return fail(c, "prefix match pattern must be a string");
	m->op = MOP_CIDR;
	if (!cidr_parse(v->u.str.s, v->u.str.len, m->addr, m->addr_hi, &m->v6,
			c->reason, c->reason_len)) {
		c->failed = true;
		return false;
	}
	return true;
}

static bool parse_expression(struct compiler *c, const struct json_value *expr,
			     struct ir_matcher *m)
{
	const struct json_member *mem = only_member(expr);

	if (!mem)
		return fail(c, "Match expression name not found");
	const char *k = mem->key;
	const struct json_value *v = mem->value;

	if (!strcmp(k, "prefix")) {
		if (!parse_affix(c, k, v, MOP_PREFIX, MOP_PREFIX_EIC, m))
			return false;
	} else if (!strcmp(k, "suffix")) {
		if (!parse_affix(c, k, v, MOP_SUFFIX, MOP_SUFFIX_EIC, m))
			return false;
	} else if (!strcmp(k, "equals-ignore-case")) {
		if (v->type != JSON_STRING)
			return fail(c, "equals-ignore-case match pattern must be "
				       "a string");
		m->op = MOP_EIC;
		m->s = fold_str(v, &m->len);
	} else if (!strcmp(k, "wildcard") && !is_sns(c)) {
		if (!parse_wildcard(c, v, m))
			return false;
	} else if (!strcmp(k, "numeric")) {
		if (v->type != JSON_ARRAY)
			return fail(c, "Value of numeric must be an array.");
		if (!parse_numeric(c, v, m))
			return false;
	} else if (!strcmp(k, "anything-but")) {
		return parse_anything_but(c, v, m) && ab_one_key(c, expr);
	} else if (!strcmp(k, "exists")) {
		if (v->type != JSON_TRUE && v->type != JSON_FALSE)
			return fail(c, "exists match pattern must be either true "
				       "or false.");
		m->op = v->type == JSON_TRUE ? MOP_EXISTS : MOP_ABSENT;
	} else if (!strcmp(k, "cidr")) {
		if (!parse_cidr(c, v, m))
			return false;
	} else {
		return fail(c, "Unrecognized match type %s", k);
	}
	if (expr->u.obj.n > 1) {
		if (m->op == MOP_NUMERIC)
			return fail(c, "Too many elements in numeric expression");
		return fail(c, "Only one key allowed in match expression");
	}
	return true;
}

/* A plain value in a field's list. */
static bool parse_literal(struct compiler *c, const struct json_value *v,
			  struct ir_matcher *m)
{
	switch (v->type) {
	case JSON_STRING:
		/* EventBridge matches a literal IP address as an address */
		if (!is_sns(c) &&
		    ip_parse_pattern(v->u.str.s, v->u.str.len, m->addr, &m->v6)) {
			m->op = MOP_CIDR;
			memcpy(m->addr_hi, m->addr, sizeof(m->addr));
			return true;
		}
		m->op = MOP_EXACT;
		m->vtype = VT_STRING;
		m->s = dup_str(v);
		m->len = v->u.str.len;
		return true;
	case JSON_NUMBER:
		if (!sns_number_ok(c, v))
			return false;
		m->op = MOP_EXACT;
		m->vtype = VT_NUMBER;
		m->num = v->u.num.d;
		return true;
	case JSON_NULL:
	case JSON_TRUE:
	case JSON_FALSE:
		m->op = MOP_EXACT;
		m->vtype = v->type == JSON_NULL	  ? VT_NULL
			   : v->type == JSON_TRUE ? VT_TRUE
						  : VT_FALSE;
		return true;
	default:
		return fail(c, "Match value must be String, number, true, false, "
			       "or null");
	}
}

static bool write_field(struct compiler *c, struct branch_set *set,
			char *path, size_t path_len, unsigned depth,
			const struct json_value *arr)
{
	struct ir_field f = {.path = path, .path_len = path_len, .depth = depth};
	bool ok = true;

	f.m = xcalloc(arr->u.arr.n + 1, sizeof(*f.m));
	for (size_t i = 0; i < arr->u.arr.n && ok; i++) {
		const struct json_value *v = arr->u.arr.items[i];

		if (v->type == JSON_OBJECT)
			ok = parse_expression(c, v, &f.m[f.n_m]);
		else
			ok = parse_literal(c, v, &f.m[f.n_m]);
		f.n_m++;
	}
	if (ok && arr->u.arr.n == 0)
		ok = fail(c, "Empty arrays are not allowed");
	if (ok) {
		if (set->n == 0) {
			set->b = xcalloc(1, sizeof(*set->b));
			set->n = 1;
		}
		for (size_t i = 0; i < set->n; i++)
			branch_put(&set->b[i], &f);
	}
	field_free(&f);
	return ok;
}

static bool parse_object(struct compiler *c, struct branch_set *set,
			 const char *prefix, size_t plen, unsigned depth,
			 const struct json_value *obj, bool in_or);

static bool parse_or(struct compiler *c, struct branch_set *set,
		     const char *prefix, size_t plen, unsigned depth,
		     const struct json_value *v)
{
	if (v->type != JSON_ARRAY)
		return fail(c, "It must be an Array followed with $or.");
	struct branch_set current = *set, result = {0};

	set->b = NULL;
	set->n = 0;
	bool ok = true;

	for (size_t i = 0; i < v->u.arr.n && ok; i++) {
		const struct json_value *o = v->u.arr.items[i];

		if (o->type != JSON_OBJECT) {
			ok = fail(c, "Only JSON object is allowed in array of "
				     "$or relationship.");
			break;
		}
		struct branch_set nb = set_copy(&current);

		if (nb.n == 0) {
			nb.b = xcalloc(1, sizeof(*nb.b));
			nb.n = 1;
		}
		ok = parse_object(c, &nb, prefix, plen, depth, o, true);
		set_append(&result, &nb);
		set_free(&nb);
	}
	if (ok && v->u.arr.n < 2)
		ok = fail(c, "There must have at least 2 Objects in $or "
			     "relationship.");
	set_free(&current);
	*set = result;
	return ok;
}

/*
 * Field names event-ruler reserves inside $or (its Constants
 * RESERVED_FIELD_NAMES_IN_OR_RELATIONSHIP): the operators, the numeric
 * comparison signs and names it keeps for future operators.
 */
static bool is_reserved_in_or(const char *k)
{
	static const char *const reserved[] = {
		"exactly", "equals-ignore-case", "prefix", "suffix",
		"anything-but", "exists", "wildcard", "numeric", "cidr",
		"=", "<", "<=", ">", ">=", "regex", "not-wildcard",
		"not-equals-ignore-case", "date-after", "date-on-or-after",
		"date-before", "date-on-or-before", "in-date-range",
		"ip-address-in-range", "ip-address-not-in-range", NULL};

	for (size_t i = 0; reserved[i]; i++)
		if (!strcmp(k, reserved[i]))
			return true;
	return false;
}

static bool parse_object(struct compiler *c, struct branch_set *set,
			 const char *prefix, size_t plen, unsigned depth,
			 const struct json_value *obj, bool in_or)
{
	for (size_t i = 0; i < obj->u.obj.n; i++) {
		const struct json_member *mem = &obj->u.obj.members[i];
		const struct json_value *v = mem->value;

		at_path(c, prefix, plen, mem->key, mem->key_len);
		if (mem->key_len == 3 && !memcmp(mem->key, "$or", 3)) {
			if (!parse_or(c, set, prefix, plen, depth, v))
				return false;
			continue;
		}
		if (in_or && is_reserved_in_or(mem->key))
			return fail(c, "%s is Ruler reserved fieldName which "
				       "cannot be used inside $or.",
				    mem->key);
		size_t nlen;
		char *name = join_path(prefix, plen, mem->key, mem->key_len,
				       &nlen);
		bool ok;

		if (v->type == JSON_OBJECT) {
			ok = parse_object(c, set, name, nlen, depth + 1, v,
					  in_or);
		} else if (v->type == JSON_ARRAY) {
			ok = write_field(c, set, name, nlen, depth + 1, v);
			name = NULL; /* freed by write_field's field_free */
		} else {
			ok = fail(c, "\"%.*s\" must be an object or an array",
				  (int)mem->key_len, mem->key);
		}
		free(name);
		if (!ok)
			return false;
	}
	if (obj->u.obj.n == 0) {
		at_path(c, prefix, plen, "", 0);
		return fail(c, "Empty objects are not allowed");
	}
	return true;
}

/*
 * How Jackson describes a String source in an error location, as
 * EventBridge's messages show it: (String)"<text>", cut after 500 UTF-16
 * units with "[truncated N chars]", ISO control characters other than CR
 * and LF escaped as \uXXXX.
 */
static void jackson_string_source(const char *text, size_t len, struct strbuf *sb)
{
	enum { SNIPPET = 500 };
	size_t units = 0, i = 0;

	sb_adds(sb, "(String)\"");
	while (i < len) {
		unsigned char c = (unsigned char)text[i];
		size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		size_t u = n == 4 ? 2 : 1;

		if (i + n > len)
			n = len - i;
		if (units + u > SNIPPET)
			break;
		bool c1 = c == 0xc2 && n == 2 && (unsigned char)text[i + 1] < 0xa0;

		if ((c < 0x20 && c != '\r' && c != '\n') || c == 0x7f || c1)
			sb_printf(sb, "\\u%04X", c1 ? (unsigned char)text[i + 1] : c);
		else
			sb_add(sb, text + i, n);
		units += u;
		i += n;
	}
	sb_addc(sb, '"');
	size_t rest = 0;

	for (; i < len; i++) {
		unsigned char c = (unsigned char)text[i];

		rest += (c & 0xc0) == 0x80 ? 0 : c >= 0xf0 ? 2 : 1;
	}
	if (rest)
		sb_printf(sb, "[truncated %zu chars]", rest);
}

/* The first token decides "Filter is not an object", as in a stream parser. */
static bool starts_with_non_object(const char *t, size_t len)
{
	size_t i = 0;

	while (i < len && strchr(" \t\r\n", t[i]))
		i++;
	return i < len && t[i] != '{';
}

bool ir_compile(const char *text, size_t len, enum ir_dialect dialect,
		struct ir_rule *out, char *reason, size_t reason_len,
		char *where, size_t where_len)
{
	struct compiler c = {.dialect = dialect,
			     .reason = reason,
			     .reason_len = reason_len,
			     .where = where,
			     .where_len = where_len};

	where[0] = '\0';
	/* SNS reads the policy into a tree first (a repeated key keeps its
	 * last value, policy.c has reported syntax errors); EventBridge
	 * compiles the pattern as a stream, its errors locating the text */
	struct strbuf source = STRBUF_INIT;

	jackson_string_source(text, len, &source);
	struct json_doc *doc =
		dialect == DIALECT_EVENTBRIDGE
			? json_parse_with(text, len,
					  &(struct json_parse_opts){.all_keys = true,
								    .source = source.buf})
			: json_parse(text, len, false);
	const struct json_value *root = json_doc_root(doc);
	struct branch_set set = {0};
	bool ok;

	sb_free(&source);
	memset(out, 0, sizeof(*out));
	if (!root && strspn(text, " \t\r\n") >= len) {
		/* no first token at all: the stream never starts an object */
		ok = fail(&c, "Filter is not an object");
	} else if (!root) {
		const char *e = json_doc_error(doc);

		/* a valid first token that is not '{' fails before the
		 * syntax error further on */
		if (starts_with_non_object(text, len) &&
		    (text[strspn(text, " \t\r\n")] == '[' ||
		     text[strspn(text, " \t\r\n")] == '"'))
			ok = fail(&c, "Filter is not an object");
		else
			ok = fail(&c, "%s", e);
	} else if (root->type != JSON_OBJECT) {
		ok = fail(&c, "Filter is not an object");
	} else {
		ok = parse_object(&c, &set, "", 0, 0, root, false);
	}
	json_doc_free(doc);
	if (!ok) {
		set_free(&set);
		return false;
	}
	out->branches = set.b;
	out->n_branches = set.n;
	return true;
}

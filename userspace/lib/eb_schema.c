// SPDX-License-Identifier: BSD-2-Clause
/* Schema discovery: inferring, merging and writing event shapes (eb_schema.h). */
#include "eb_schema.h"
#include "json.h"
#include "strbuf.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

enum {
	T_NULL = 1 << 0,
	T_BOOLEAN = 1 << 1,
	T_INTEGER = 1 << 2,
	T_NUMBER = 1 << 3,
	T_STRING = 1 << 4,
	T_ARRAY = 1 << 5,
	T_OBJECT = 1 << 6,
};

/* In the order JSON Schema's "type" arrays list them here. */
static const struct {
	unsigned bit;
	const char *name;
} type_names[] = {
	{ T_ARRAY, "array" },	{ T_BOOLEAN, "boolean" }, { T_INTEGER, "integer" },
	{ T_NULL, "null" },	{ T_NUMBER, "number" },	  { T_OBJECT, "object" },
	{ T_STRING, "string" },
};

struct node;

struct prop {
	char *name;
	bool required;
	struct node *node;
};

struct node {
	unsigned types;
	struct prop *props; /* sorted by name */
	size_t n_props;
	struct node *items; /* arrays: the shape of every item */
};

struct eb_schema {
	struct node *root;
};

static void node_free(struct node *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->n_props; i++) {
		free(n->props[i].name);
		node_free(n->props[i].node);
	}
	free(n->props);
	node_free(n->items);
	free(n);
}

struct eb_schema *eb_schema_new(void)
{
	return xcalloc(1, sizeof(struct eb_schema));
}

void eb_schema_free(struct eb_schema *s)
{
	if (!s)
		return;
	node_free(s->root);
	free(s);
}

static unsigned type_of(const struct json_value *v)
{
	switch (v->type) {
	case JSON_NULL:
		return T_NULL;
	case JSON_FALSE:
	case JSON_TRUE:
		return T_BOOLEAN;
	case JSON_NUMBER:
		return v->u.num.is_int ? T_INTEGER : T_NUMBER;
	case JSON_STRING:
		return T_STRING;
	case JSON_ARRAY:
		return T_ARRAY;
	default:
		return T_OBJECT;
	}
}

/* "integer" once any "number" was seen there is a "number". */
static unsigned normal(unsigned types)
{
	return types & T_NUMBER ? types & ~(unsigned)T_INTEGER : types;
}

/* The property @name of @n (added, not required, when absent and @add). */
static struct prop *prop_at(struct node *n, const char *name, size_t len, bool add, bool *added)
{
	size_t lo = 0, hi = n->n_props;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(n->props[mid].name, name, len);

		if (!c && n->props[mid].name[len])
			c = 1;
		if (!c)
			return &n->props[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!add || n->n_props >= EB_SCHEMA_MAX_PROPS)
		return NULL;
	n->props = xrealloc(n->props, (n->n_props + 1) * sizeof(*n->props));
	memmove(&n->props[lo + 1], &n->props[lo], (n->n_props - lo) * sizeof(*n->props));
	n->props[lo] = (struct prop){ .name = xstrndup(name, len) };
	n->n_props++;
	*added = true;
	return &n->props[lo];
}

static bool merge(struct node **at, const struct json_value *v, int depth);

static bool merge_object(struct node *n, const struct json_value *v, bool first_object, int depth)
{
	bool changed = false;

	if (depth + 1 >= EB_SCHEMA_MAX_DEPTH)
		return false; /* deeper members are not described */
	for (size_t i = 0; i < v->u.obj.n; i++) {
		const struct json_member *m = &v->u.obj.members[i];
		bool added = false;
		struct prop *p;

		if (memchr(m->key, 0, m->key_len))
			continue;
		p = prop_at(n, m->key, m->key_len, true, &added);
		if (!p)
			continue;
		if (added) {
			/* required while every object seen here had it */
			p->required = first_object;
			changed = true;
		}
		changed |= merge(&p->node, m->value, depth + 1);
	}
	/* a property this object lacks is no longer required */
	for (size_t i = 0; !first_object && i < n->n_props; i++) {
		struct prop *p = &n->props[i];
		bool present = false;

		for (size_t k = 0; !present && k < v->u.obj.n; k++)
			present = v->u.obj.members[k].key_len == strlen(p->name) &&
				  !memcmp(v->u.obj.members[k].key, p->name, strlen(p->name));
		if (p->required && !present) {
			p->required = false;
			changed = true;
		}
	}
	return changed;
}

/* Merge the shape of @v into *@at (created when NULL); true when it changed. */
static bool merge(struct node **at, const struct json_value *v, int depth)
{
	bool changed = false, first_object;
	struct node *n = *at;

	if (depth >= EB_SCHEMA_MAX_DEPTH)
		return false;
	if (!n) {
		n = *at = xcalloc(1, sizeof(*n));
		changed = true;
	}
	first_object = !(n->types & T_OBJECT);
	unsigned types = normal(n->types | type_of(v));

	if (types != n->types) {
		n->types = types;
		changed = true;
	}
	if (v->type == JSON_OBJECT)
		changed |= merge_object(n, v, first_object, depth);
	else if (v->type == JSON_ARRAY)
		for (size_t i = 0; i < v->u.arr.n && depth + 1 < EB_SCHEMA_MAX_DEPTH; i++)
			changed |= merge(&n->items, v->u.arr.items[i], depth + 1);
	return changed;
}

int eb_schema_observe(struct eb_schema *s, const struct json_value *event)
{
	return merge(&s->root, event, 0) ? 1 : 0;
}

/* ---- writing ------------------------------------------------------------- */

static void write_types(struct strbuf *out, unsigned types)
{
	size_t n = 0;

	for (size_t i = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
		n += !!(types & type_names[i].bit);
	sb_adds(out, "\"type\":");
	if (n != 1)
		sb_addc(out, '[');
	for (size_t i = 0, k = 0; i < sizeof(type_names) / sizeof(*type_names); i++)
		if (types & type_names[i].bit)
			sb_printf(out, "%s\"%s\"", k++ ? "," : "", type_names[i].name);
	if (n != 1)
		sb_addc(out, ']');
}

/*
 * A node as JSON Schema; the property @ref_prop of the root (NULL: none) is
 * written as {"$ref": @ref} instead of its shape.
 */
static void write_node(struct strbuf *out, const struct node *n, const char *ref_prop,
		       const char *ref)
{
	bool any_required = false;

	sb_addc(out, '{');
	write_types(out, n->types);
	if (n->types & T_OBJECT) {
		sb_adds(out, ",\"properties\":{");
		for (size_t i = 0; i < n->n_props; i++) {
			const struct prop *p = &n->props[i];

			if (i)
				sb_addc(out, ',');
			json_write_string(out, p->name, strlen(p->name));
			sb_addc(out, ':');
			if (ref_prop && !strcmp(p->name, ref_prop)) {
				sb_adds(out, "{\"$ref\":");
				json_write_string(out, ref, strlen(ref));
				sb_addc(out, '}');
			} else {
				write_node(out, p->node, NULL, NULL);
			}
			any_required |= p->required;
		}
		sb_addc(out, '}');
		if (any_required) {
			sb_adds(out, ",\"required\":[");
			for (size_t i = 0, k = 0; i < n->n_props; i++)
				if (n->props[i].required) {
					if (k++)
						sb_addc(out, ',');
					json_write_string(out, n->props[i].name,
							  strlen(n->props[i].name));
				}
			sb_addc(out, ']');
		}
	}
	if ((n->types & T_ARRAY) && n->items) {
		sb_adds(out, ",\"items\":");
		write_node(out, n->items, NULL, NULL);
	}
	sb_addc(out, '}');
}

void eb_schema_write(const struct eb_schema *s, struct strbuf *out)
{
	if (s->root)
		write_node(out, s->root, NULL, NULL);
	else
		sb_adds(out, "{}");
}

/* PascalCase of the letters and digits of @detail_type. */
static void component_name(const char *detail_type, struct strbuf *out)
{
	bool upper = true;
	const char *first = detail_type;

	while (*first && !isalnum((unsigned char)*first))
		first++;
	if (!*first || isdigit((unsigned char)*first)) /* names start with a letter */
		sb_adds(out, "Detail");
	for (const char *c = first; *c; c++) {
		if (!isalnum((unsigned char)*c)) {
			upper = true;
			continue;
		}
		sb_addc(out, upper ? (char)toupper((unsigned char)*c) : *c);
		upper = false;
	}
}

void eb_schema_openapi(const struct eb_schema *s, const char *source, const char *detail_type,
		       struct strbuf *out)
{
	struct strbuf name = STRBUF_INIT, ref = STRBUF_INIT;
	bool has_detail = false;

	component_name(detail_type, &name);
	sb_printf(&ref, "#/components/schemas/%s", name.buf);
	for (size_t i = 0; s->root && i < s->root->n_props; i++)
		has_detail |= !strcmp(s->root->props[i].name, "detail");
	sb_adds(out, "{\"openapi\":\"3.0.0\",\"info\":{\"version\":\"1.0.0\",\"title\":");
	json_write_string(out, detail_type, strlen(detail_type));
	sb_adds(out, "},\"paths\":{},\"components\":{\"schemas\":{\"AWSEvent\":");
	if (s->root)
		write_node(out, s->root, has_detail ? "detail" : NULL, ref.buf);
	else
		sb_adds(out, "{\"type\":\"object\"}");
	/* the envelope's EventBridge extensions go inside AWSEvent: reopen it */
	out->len--;
	sb_adds(out, ",\"x-amazon-events-source\":[");
	json_write_string(out, source, strlen(source));
	sb_adds(out, "],\"x-amazon-events-detail-type\":[");
	json_write_string(out, detail_type, strlen(detail_type));
	sb_adds(out, "]}");
	for (size_t i = 0; has_detail && i < s->root->n_props; i++) {
		if (strcmp(s->root->props[i].name, "detail"))
			continue;
		sb_addc(out, ',');
		json_write_string(out, name.buf, name.len);
		sb_addc(out, ':');
		write_node(out, s->root->props[i].node, NULL, NULL);
	}
	sb_adds(out, "}}}");
	sb_free(&name);
	sb_free(&ref);
}

/* ---- reading --------------------------------------------------------------- */

static int read_types(const struct json_value *t, unsigned *types)
{
	const struct json_value *one[] = { t };
	const struct json_value *const *items = one;
	size_t n = 1;

	*types = 0;
	if (!t)
		return -1;
	if (t->type == JSON_ARRAY) {
		items = (const struct json_value *const *)t->u.arr.items;
		n = t->u.arr.n;
	}
	for (size_t i = 0; i < n; i++) {
		size_t k = 0;

		if (items[i]->type != JSON_STRING)
			return -1;
		while (k < sizeof(type_names) / sizeof(*type_names) &&
		       strcmp(type_names[k].name, items[i]->u.str.s))
			k++;
		if (k == sizeof(type_names) / sizeof(*type_names))
			return -1;
		*types |= type_names[k].bit;
	}
	return *types ? 0 : -1;
}

static struct node *read_node(const struct json_value *v, int depth)
{
	const struct json_value *props, *req, *items;
	struct node *n;

	if (!v || v->type != JSON_OBJECT || depth >= EB_SCHEMA_MAX_DEPTH)
		return NULL;
	n = xcalloc(1, sizeof(*n));
	if (read_types(json_get(v, "type"), &n->types))
		goto bad;
	props = json_get(v, "properties");
	req = json_get(v, "required");
	items = json_get(v, "items");
	for (size_t i = 0; props && props->type == JSON_OBJECT && i < props->u.obj.n; i++) {
		const struct json_member *m = &props->u.obj.members[i];
		bool added = false;
		struct prop *p = prop_at(n, m->key, m->key_len, true, &added);

		if (!p || !added || !(p->node = read_node(m->value, depth + 1)))
			goto bad;
		for (size_t k = 0; req && req->type == JSON_ARRAY && k < req->u.arr.n; k++)
			p->required |= req->u.arr.items[k]->type == JSON_STRING &&
				       !strcmp(req->u.arr.items[k]->u.str.s, p->name);
	}
	if (items && !(n->items = read_node(items, depth + 1)))
		goto bad;
	return n;
bad:
	node_free(n);
	return NULL;
}

struct eb_schema *eb_schema_read(const struct json_value *v, struct eb_error *err)
{
	struct eb_schema *s = eb_schema_new();

	if (v && v->type == JSON_OBJECT && !v->u.obj.n)
		return s; /* nothing observed yet */
	s->root = read_node(v, 0);
	if (!s->root) {
		eb_error_set(err, "InternalException", "not a schema written by bpfbus");
		eb_schema_free(s);
		return NULL;
	}
	return s;
}

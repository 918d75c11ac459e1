// SPDX-License-Identifier: BSD-2-Clause
/*
 * Target input: Input, InputPath and InputTransformer (eb_transform.h).
 *
 * A template is a JSON template when it starts (after white space) with '{';
 * anything else is a string template. In a JSON template a placeholder
 * outside quotes becomes the value as JSON (a string gets its quotes, a
 * missing path gives null) and one inside quotes becomes the value's text
 * escaped for the string it sits in (a missing path gives nothing); the
 * result is minified. In a string template a placeholder becomes the value's
 * text as it is: a string without quotes, anything else as compact JSON.
 */
#include "eb_transform.h"
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ JSON paths */

enum seg_kind { SEG_KEY, SEG_INDEX, SEG_ANY };

struct seg {
	enum seg_kind kind;
	char *key;
	size_t index;
};

struct path {
	struct seg *segs;
	size_t n;
	bool any; /* has a wildcard: the result is an array of the matches */
};

static bool path_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '/';
}

static void path_free(struct path *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->segs[i].key);
	free(p->segs);
	memset(p, 0, sizeof(*p));
}

/* EventBridge's subset: $ then .name, .*, [index] or [*]. @why says what is wrong. */
static int path_compile(const char *s, struct path *p, char *why, size_t why_len)
{
	const char *c = s;

	memset(p, 0, sizeof(*p));
	if (*c++ != '$') {
		snprintf(why, why_len, "it must start with $");
		return -1;
	}
	while (*c) {
		struct seg seg = { 0 };

		if (*c == '.' && c[1] == '*') {
			seg.kind = SEG_ANY;
			c += 2;
		} else if (*c == '.') {
			const char *start = ++c;

			while (path_name_char(*c))
				c++;
			if (c == start) {
				snprintf(why, why_len, "expected a name after '.' at offset %zu",
					 (size_t)(start - s));
				goto bad;
			}
			seg.kind = SEG_KEY;
			seg.key = xstrndup(start, (size_t)(c - start));
		} else if (*c == '[' && c[1] == '*' && c[2] == ']') {
			seg.kind = SEG_ANY;
			c += 3;
		} else if (*c == '[' && c[1] >= '0' && c[1] <= '9') {
			char *end;

			seg.kind = SEG_INDEX;
			seg.index = strtoul(c + 1, &end, 10);
			if (*end != ']' || end - c > 10) {
				snprintf(why, why_len, "expected an array index at offset %zu",
					 (size_t)(c - s));
				goto bad;
			}
			c = end + 1;
		} else {
			snprintf(why, why_len,
				 "unexpected '%c' at offset %zu (use dot notation, array indices "
				 "and *)",
				 *c, (size_t)(c - s));
			goto bad;
		}
		p->segs = xrealloc(p->segs, (p->n + 1) * sizeof(*p->segs));
		p->segs[p->n++] = seg;
		p->any |= seg.kind == SEG_ANY;
	}
	return 0;
bad:
	path_free(p);
	return -1;
}

struct matches {
	const struct json_value **v;
	size_t n, cap;
};

static void path_eval(const struct path *p, size_t i, const struct json_value *v, struct matches *m)
{
	if (i == p->n) {
		if (m->n == m->cap)
			m->v = xrealloc(m->v, (m->cap = m->cap ? 2 * m->cap : 8) * sizeof(*m->v));
		m->v[m->n++] = v;
		return;
	}
	const struct seg *s = &p->segs[i];

	switch (s->kind) {
	case SEG_KEY: {
		const struct json_value *c = json_get(v, s->key);

		if (c)
			path_eval(p, i + 1, c, m);
		break;
	}
	case SEG_INDEX:
		if (v->type == JSON_ARRAY && s->index < v->u.arr.n)
			path_eval(p, i + 1, v->u.arr.items[s->index], m);
		break;
	case SEG_ANY:
		if (v->type == JSON_ARRAY)
			for (size_t k = 0; k < v->u.arr.n; k++)
				path_eval(p, i + 1, v->u.arr.items[k], m);
		else if (v->type == JSON_OBJECT)
			for (size_t k = 0; k < v->u.obj.n; k++)
				path_eval(p, i + 1, v->u.obj.members[k].value, m);
		break;
	}
}

/* A variable's value for one event: compact JSON, plus the bare text of a string. */
struct value {
	bool found;
	bool is_string;
	const char *str; /* is_string: the decoded text */
	size_t str_len;
	struct strbuf json;
};

static void value_of(const struct path *p, const struct json_value *root, struct value *out)
{
	struct matches m = { 0 };

	path_eval(p, 0, root, &m);
	if (p->any && m.n) {
		out->found = true;
		sb_addc(&out->json, '[');
		for (size_t i = 0; i < m.n; i++) {
			if (i)
				sb_addc(&out->json, ',');
			json_write(&out->json, m.v[i]);
		}
		sb_addc(&out->json, ']');
	} else if (m.n) {
		out->found = true;
		out->is_string = m.v[0]->type == JSON_STRING;
		out->str = m.v[0]->u.str.s;
		out->str_len = m.v[0]->u.str.len;
		json_write(&out->json, m.v[0]);
	}
	free(m.v);
}

static void value_string(struct value *out, const char *s)
{
	out->found = out->is_string = true;
	out->str = s;
	out->str_len = strlen(s);
	json_write_string(&out->json, s, out->str_len);
}

/* ------------------------------------------------------------ templates */

enum reserved {
	RV_RULE_ARN,
	RV_RULE_NAME,
	RV_EVENT,
	RV_EVENT_JSON,
	RV_INGESTION_TIME,
	RV__COUNT,
};

static const char *const reserved_names[RV__COUNT] = {
	[RV_RULE_ARN] = "aws.events.rule-arn",
	[RV_RULE_NAME] = "aws.events.rule-name",
	[RV_EVENT] = "aws.events.event",
	[RV_EVENT_JSON] = "aws.events.event.json",
	[RV_INGESTION_TIME] = "aws.events.event.ingestion-time",
};

struct part {
	bool is_var;
	bool in_string; /* JSON template: inside a quoted string */
	size_t var; /* user variables first, then the reserved ones */
	const char *text;
	size_t len;
};

enum input_kind { IN_EVENT, IN_CONSTANT, IN_PATH, IN_TEMPLATE };

struct eb_input {
	enum input_kind kind;
	char *constant; /* IN_CONSTANT: minified Input */
	struct path path;
	struct path *vars; /* IN_TEMPLATE */
	size_t n_vars;
	char *template;
	bool json_template;
	struct part *parts;
	size_t n_parts;
};

void eb_input_free(struct eb_input *in)
{
	if (!in)
		return;
	free(in->constant);
	path_free(&in->path);
	for (size_t i = 0; i < in->n_vars; i++)
		path_free(&in->vars[i]);
	free(in->vars);
	free(in->template);
	free(in->parts);
	free(in);
}

/* Variable names are [A-Za-z0-9_-]+; the reserved ones also have dots. */
static bool placeholder_char(char c)
{
	return (path_name_char(c) && c != '/') || c == '.';
}

/* Index of variable @name (user ones, then reserved), or -1. */
static long find_var(const struct eb_input_spec *spec, const char *name, size_t len)
{
	for (size_t i = 0; i < spec->n_paths; i++)
		if (strlen(spec->paths_map[i].name) == len &&
		    !memcmp(spec->paths_map[i].name, name, len))
			return (long)i;
	for (size_t r = 0; r < RV__COUNT; r++)
		if (strlen(reserved_names[r]) == len && !memcmp(reserved_names[r], name, len))
			return (long)(spec->n_paths + r);
	return -1;
}

static void add_part(struct eb_input *in, struct part p)
{
	in->parts = xrealloc(in->parts, (in->n_parts + 1) * sizeof(*in->parts));
	in->parts[in->n_parts++] = p;
}

/* Split the template into literal text and placeholders, knowing for each
 * placeholder of a JSON template whether it sits inside a string. */
static int split_template(struct eb_input *in, const struct eb_input_spec *spec,
			  struct eb_error *err)
{
	const char *t = in->template, *lit = t;
	bool in_string = false;

	for (const char *c = t; *c;) {
		if (in->json_template && in_string && *c == '\\' && c[1]) {
			c += 2;
			continue;
		}
		if (in->json_template && *c == '"')
			in_string = !in_string;
		const char *e = c + 1;

		while (*c == '<' && placeholder_char(*e))
			e++;
		if (*c != '<' || e == c + 1 || *e != '>') {
			c++;
			continue;
		}
		long v = find_var(spec, c + 1, (size_t)(e - c - 1));

		if (v < 0) {
			eb_error_set(
				err, "ValidationException",
				"InputTemplate for target %s contains invalid placeholder %.*s.",
				spec->target_id, (int)(e - c - 1), c + 1);
			return -1;
		}
		size_t r = (size_t)v - spec->n_paths;
		bool whole_event =
			(size_t)v >= spec->n_paths && (r == RV_EVENT || r == RV_EVENT_JSON);

		if (whole_event && (in_string || !in->json_template)) {
			eb_error_set(
				err, "ValidationException",
				"InputTemplate for target %s uses <%s> inside a string; it can "
				"only be the value of a JSON field.",
				spec->target_id, reserved_names[r]);
			return -1;
		}
		if (c > lit)
			add_part(in, (struct part){ .text = lit, .len = (size_t)(c - lit) });
		add_part(in,
			 (struct part){ .is_var = true, .in_string = in_string, .var = (size_t)v });
		c = lit = e + 1;
	}
	if (*lit)
		add_part(in, (struct part){ .text = lit, .len = strlen(lit) });
	return 0;
}

/* Fill the template: @values has one entry per variable. */
static void fill(const struct eb_input *in, const struct value *values, struct strbuf *out)
{
	for (size_t i = 0; i < in->n_parts; i++) {
		const struct part *p = &in->parts[i];
		const struct value *v = p->is_var ? &values[p->var] : NULL;

		if (!v) {
			sb_add(out, p->text, p->len);
		} else if (in->json_template && !p->in_string) {
			if (v->found)
				sb_add(out, v->json.buf, v->json.len);
			else
				sb_adds(out, "null");
		} else if (in->json_template) {
			struct strbuf q = STRBUF_INIT;

			if (v->is_string)
				json_write_string(&q, v->str, v->str_len);
			else if (v->found)
				json_write_string(&q, v->json.buf, v->json.len);
			if (q.len >= 2)
				sb_add(out, q.buf + 1, q.len - 2); /* without its quotes */
			sb_free(&q);
		} else if (v->is_string) {
			sb_add(out, v->str, v->str_len);
		} else if (v->found) {
			sb_add(out, v->json.buf, v->json.len);
		}
	}
}

static int check_json_template(struct eb_input *in, const struct eb_input_spec *spec,
			       struct eb_error *err)
{
	size_t n = in->n_vars + RV__COUNT;
	struct value *none = xcalloc(n, sizeof(*none)); /* every variable missing */
	struct strbuf sample = STRBUF_INIT;
	int ret = 0;

	fill(in, none, &sample);
	struct json_doc *d = json_parse(sample.buf, sample.len, true);

	if (json_doc_error(d)) {
		eb_error_set(err, "ValidationException", "Invalid InputTemplate for target %s : %s",
			     spec->target_id, json_doc_error(d));
		ret = -1;
	}
	json_doc_free(d);
	sb_free(&sample);
	free(none);
	return ret;
}

static bool key_ok(const char *k)
{
	size_t n = strlen(k);

	if (n < 1 || n > EB_PATHS_KEY_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!placeholder_char(k[i]) || k[i] == '.')
			return false;
	return true;
}

static int compile_transformer(struct eb_input *in, const struct eb_input_spec *spec,
			       struct eb_error *err)
{
	const char *id = spec->target_id;
	char why[160];

	if (spec->n_paths > EB_PATHS_MAP_MAX) {
		eb_error_set(err, "ValidationException",
			     "InputPathsMap for target %s has %zu entries; at most %d are allowed.",
			     id, spec->n_paths, EB_PATHS_MAP_MAX);
		return -1;
	}
	in->vars = xcalloc(spec->n_paths + 1, sizeof(*in->vars));
	for (size_t i = 0; i < spec->n_paths; i++) {
		const struct eb_input_var *v = &spec->paths_map[i];

		if (!key_ok(v->name) || !strncasecmp(v->name, "aws", 3)) {
			eb_error_set(
				err, "ValidationException",
				"InputPathsMap for target %s has an invalid key %s: keys match "
				"[A-Za-z0-9_-]+, are at most 256 characters and do not start "
				"with AWS.",
				id, v->name);
			return -1;
		}
		if (strlen(v->path) > EB_INPUT_PATH_MAX ||
		    path_compile(v->path, &in->vars[i], why, sizeof(why))) {
			if (strlen(v->path) > EB_INPUT_PATH_MAX)
				snprintf(why, sizeof(why), "longer than %d characters",
					 EB_INPUT_PATH_MAX);
			eb_error_set(err, "ValidationException",
				     "InputPathsMap for target %s has an invalid JSON path for key "
				     "%s: %s.",
				     id, v->name, why);
			return -1;
		}
		in->n_vars++;
	}
	const char *t = spec->input_template;

	if (!t || !*t || strlen(t) > EB_TEMPLATE_MAX) {
		eb_error_set(err, "ValidationException",
			     "InputTemplate for target %s must be 1 to %d characters long.", id,
			     EB_TEMPLATE_MAX);
		return -1;
	}
	in->kind = IN_TEMPLATE;
	in->template = xstrndup(t, strlen(t));
	in->json_template = t[strspn(t, " \t\r\n")] == '{';
	if (split_template(in, spec, err))
		return -1;
	return in->json_template ? check_json_template(in, spec, err) : 0;
}

struct eb_input *eb_input_compile(const struct eb_input_spec *spec, struct eb_error *err)
{
	struct eb_input *in = xcalloc(1, sizeof(*in));
	const char *id = spec->target_id;
	char why[160];

	if (!!spec->input + !!spec->input_path + spec->has_transformer > 1) {
		eb_error_set(err, "ValidationException",
			     "Only one of Input, InputPath, or InputTransformer must be provided "
			     "for target %s.",
			     id);
		goto bad;
	}
	if (spec->input) {
		struct json_doc *d = json_parse(spec->input, strlen(spec->input), true);
		struct strbuf sb = STRBUF_INIT;

		if (json_doc_error(d) || strlen(spec->input) > EB_INPUT_MAX) {
			json_doc_free(d);
			eb_error_set(err, "ValidationException",
				     "Input for target %s is not a valid JSON text.", id);
			goto bad;
		}
		json_write(&sb, json_doc_root(d));
		json_doc_free(d);
		in->kind = IN_CONSTANT;
		in->constant = sb.buf;
	} else if (spec->input_path) {
		if (strlen(spec->input_path) > EB_INPUT_PATH_MAX)
			snprintf(why, sizeof(why), "longer than %d characters", EB_INPUT_PATH_MAX);
		if (strlen(spec->input_path) > EB_INPUT_PATH_MAX ||
		    path_compile(spec->input_path, &in->path, why, sizeof(why))) {
			eb_error_set(err, "ValidationException",
				     "InputPath for target %s is not a valid JSON path: %s.", id,
				     why);
			goto bad;
		}
		in->kind = IN_PATH;
	} else if (spec->has_transformer) {
		if (compile_transformer(in, spec, err))
			goto bad;
	}
	return in;
bad:
	eb_input_free(in);
	return NULL;
}

static const char *json_str(const struct json_value *v)
{
	return v && v->type == JSON_STRING && strlen(v->u.str.s) == v->u.str.len ? v->u.str.s
										 : NULL;
}

struct eb_input *eb_input_compile_json(const struct json_value *target, struct eb_error *err)
{
	const struct json_value *tr = json_get(target, "InputTransformer");
	const struct json_value *map = json_get(tr, "InputPathsMap");
	struct eb_input_spec spec = {
		.target_id = json_str(json_get(target, "Id")) ?: "",
		.input = json_str(json_get(target, "Input")),
		.input_path = json_str(json_get(target, "InputPath")),
		.has_transformer = tr && tr->type == JSON_OBJECT,
		.input_template = json_str(json_get(tr, "InputTemplate")),
	};
	size_t n = map && map->type == JSON_OBJECT ? map->u.obj.n : 0;
	struct eb_input_var *vars = xcalloc(n + 1, sizeof(*vars));

	for (size_t i = 0; i < n; i++) {
		const struct json_member *m = &map->u.obj.members[i];

		vars[i].name = m->key;
		vars[i].path = json_str(m->value);
		if (!vars[i].path || strlen(m->key) != m->key_len) {
			eb_error_set(err, "ValidationException",
				     "InputPathsMap for target %s: the value of key %s must be a "
				     "string.",
				     spec.target_id, m->key);
			free(vars);
			return NULL;
		}
	}
	spec.paths_map = vars;
	spec.n_paths = n;
	struct eb_input *in = eb_input_compile(&spec, err);

	free(vars);
	return in;
}

/* <aws.events.event>: the event without its detail (AWS names detail-type detailType there). */
static void event_without_detail(const struct json_value *ev, struct strbuf *out)
{
	bool first = true;

	sb_addc(out, '{');
	for (size_t i = 0; i < ev->u.obj.n; i++) {
		const struct json_member *m = &ev->u.obj.members[i];

		if (m->key_len == 6 && !memcmp(m->key, "detail", 6))
			continue;
		sb_adds(out, first ? "" : ",");
		first = false;
		if (m->key_len == 11 && !memcmp(m->key, "detail-type", 11))
			sb_adds(out, "\"detailType\"");
		else
			json_write_string(out, m->key, m->key_len);
		sb_addc(out, ':');
		json_write(out, m->value);
	}
	sb_addc(out, '}');
}

static int apply_template(const struct eb_input *in, const struct json_value *ev,
			  const struct eb_input_ctx *ctx, struct strbuf *out, struct eb_error *err)
{
	size_t n = in->n_vars + RV__COUNT;
	struct value *values = xcalloc(n, sizeof(*values));
	struct value *rv = values + in->n_vars;
	char when[EB_TIME_LEN];
	int ret = 0;

	for (size_t i = 0; i < in->n_vars; i++)
		value_of(&in->vars[i], ev, &values[i]);
	eb_time_format(ctx->ingestion_ms / 1000, when);
	value_string(&rv[RV_RULE_ARN], ctx->rule_arn ? ctx->rule_arn : "");
	value_string(&rv[RV_RULE_NAME], ctx->rule_name ? ctx->rule_name : "");
	value_string(&rv[RV_INGESTION_TIME], when);
	rv[RV_EVENT].found = rv[RV_EVENT_JSON].found = true;
	event_without_detail(ev, &rv[RV_EVENT].json);
	json_write(&rv[RV_EVENT_JSON].json, ev);

	if (!in->json_template) {
		fill(in, values, out);
	} else {
		struct strbuf filled = STRBUF_INIT;

		fill(in, values, &filled);
		struct json_doc *d = json_parse(filled.buf, filled.len, true);

		if (json_doc_error(d)) {
			eb_error_set(err, "InvalidInput",
				     "The InputTemplate gave invalid JSON for this event: %s",
				     json_doc_error(d));
			ret = -1;
		} else {
			json_write(out, json_doc_root(d)); /* minified, as EventBridge sends it */
		}
		json_doc_free(d);
		sb_free(&filled);
	}
	for (size_t i = 0; i < n; i++)
		sb_free(&values[i].json);
	free(values);
	return ret;
}

int eb_input_apply(const struct eb_input *in, const char *event, size_t len,
		   const struct eb_input_ctx *ctx, struct strbuf *out, struct eb_error *err)
{
	if (in->kind == IN_CONSTANT) {
		sb_adds(out, in->constant);
		return 0;
	}
	struct json_doc *d = json_parse(event, len, true);
	const struct json_value *ev = json_doc_root(d);
	int ret = 0;

	if (!ev || ev->type != JSON_OBJECT) {
		eb_error_set(err, "InvalidInput", "The event is not a JSON object");
		ret = -1;
	} else if (in->kind == IN_EVENT) {
		json_write(out, ev);
	} else if (in->kind == IN_PATH) {
		struct value v = { .json = STRBUF_INIT };

		value_of(&in->path, ev, &v);
		sb_adds(out, v.found ? v.json.buf : "null");
		sb_free(&v.json);
	} else {
		ret = apply_template(in, ev, ctx, out, err);
	}
	json_doc_free(d);
	return ret;
}

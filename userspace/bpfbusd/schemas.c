// SPDX-License-Identifier: BSD-2-Clause
/*
 * Schema discovery (docs/eventbridge.md, "Schema discovery"): the daemon
 * infers the shape of the events it takes in on the buses whose discoverer
 * is started (all, unless stopped) per (source, detail-type)
 * (eb_schema.h) and keeps a numbered version of the OpenAPI document each
 * time the shape changes. The cost is bounded: at most SAMPLES_PER_S events
 * per second are looked at (the others are not even parsed), at most
 * MAX_TYPES (source, detail-type) pairs are kept, and each keeps its last
 * MAX_VERSIONS versions. The registry is written to schemas.json in the state
 * directory (whole, synced, renamed) at most once a second when it changed,
 * and read back at startup.
 */
#include "archive.h"
#include "bpfbusd.h"
#include "eb_schema.h"
#include "json.h"
#include "reply.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLES_PER_S BBD_DISCOVERY_RATE
#define MAX_TYPES 1000
#define MAX_VERSIONS 100
#define SCHEMAS_FILE "schemas.json"

struct version {
	long number;
	int64_t created_ms;
	char *content; /* the OpenAPI document */
};

struct entry {
	char *source, *detail_type;
	struct eb_schema *shape;
	struct version *v; /* oldest first */
	size_t n_v;
	int64_t last_seen_ms;
};

struct bbd_schemas {
	struct entry *e;
	size_t n;
	bool dirty;
	int64_t window_s;
	unsigned sampled; /* in this second */
};

static void entry_free(struct entry *e)
{
	free(e->source);
	free(e->detail_type);
	eb_schema_free(e->shape);
	for (size_t i = 0; i < e->n_v; i++)
		free(e->v[i].content);
	free(e->v);
}

void bbd_schemas_free(struct bbd *d)
{
	if (!d->schemas)
		return;
	for (size_t i = 0; i < d->schemas->n; i++)
		entry_free(&d->schemas->e[i]);
	free(d->schemas->e);
	free(d->schemas);
	d->schemas = NULL;
}

static struct entry *find(struct bbd_schemas *ss, const char *source, size_t slen, const char *type,
			  size_t tlen)
{
	for (size_t i = 0; i < ss->n; i++) {
		struct entry *e = &ss->e[i];

		if (strlen(e->source) == slen && !memcmp(e->source, source, slen) &&
		    strlen(e->detail_type) == tlen && !memcmp(e->detail_type, type, tlen))
			return e;
	}
	return NULL;
}

static struct entry *add(struct bbd_schemas *ss, const char *source, size_t slen, const char *type,
			 size_t tlen)
{
	ss->e = xrealloc(ss->e, (ss->n + 1) * sizeof(*ss->e));
	ss->e[ss->n] = (struct entry){ .source = xstrndup(source, slen),
				       .detail_type = xstrndup(type, tlen) };
	return &ss->e[ss->n++];
}

static void add_version(struct entry *e, long number, int64_t created_ms, char *content)
{
	if (e->n_v == MAX_VERSIONS) {
		free(e->v[0].content);
		memmove(&e->v[0], &e->v[1], (e->n_v - 1) * sizeof(*e->v));
		e->n_v--;
	}
	e->v = xrealloc(e->v, (e->n_v + 1) * sizeof(*e->v));
	e->v[e->n_v++] = (struct version){ number, created_ms, content };
}

/* A string member of the envelope; false when absent or not a string. */
static bool envelope_str(const struct json_value *root, const char *key, const char **s,
			 size_t *len)
{
	const struct json_value *v = json_get(root, key);

	if (!v || v->type != JSON_STRING || !v->u.str.len || memchr(v->u.str.s, 0, v->u.str.len))
		return false;
	*s = v->u.str.s;
	*len = v->u.str.len;
	return true;
}

/* Whether bus @name's discoverer is stopped (EventBridge discovers per bus). */
static bool discovery_stopped(const struct bbd *d, const char *name, size_t len)
{
	for (size_t i = 0; i < d->model.n_buses; i++) {
		const struct bb_mbus *b = &d->model.buses[i];

		if (strlen(b->name) == len && !memcmp(b->name, name, len))
			return b->discovery_stopped;
	}
	return false;
}

void bbd_schemas_observe(struct bbd *d, const char *bus, size_t bus_len, const char *body,
			 size_t len, int64_t now_ms)
{
	struct bbd_schemas *ss = d->schemas;
	const char *source, *type;
	size_t slen, tlen;

	if (!ss)
		return;
	if (now_ms / 1000 != ss->window_s) {
		ss->window_s = now_ms / 1000;
		ss->sampled = 0;
	}
	/* the bus is looked up only while this second's samples last */
	if (ss->sampled >= SAMPLES_PER_S || discovery_stopped(d, bus, bus_len))
		return;
	ss->sampled++;

	struct json_doc *doc = json_parse(body, len, true);
	const struct json_value *root = json_doc_root(doc);

	if (root && root->type == JSON_OBJECT && envelope_str(root, "source", &source, &slen) &&
	    envelope_str(root, "detail-type", &type, &tlen)) {
		struct entry *e = find(ss, source, slen, type, tlen);

		if (!e && ss->n < MAX_TYPES) {
			e = add(ss, source, slen, type, tlen);
			e->shape = eb_schema_new();
		}
		if (e && eb_schema_observe(e->shape, root)) {
			struct strbuf doc_text = STRBUF_INIT;

			eb_schema_openapi(e->shape, e->source, e->detail_type, &doc_text);
			add_version(e, e->n_v ? e->v[e->n_v - 1].number + 1 : 1, now_ms,
				    xstrndup(doc_text.buf, doc_text.len));
			sb_free(&doc_text);
			ss->dirty = true;
			log_debug("schema %s / %s: version %ld", e->source, e->detail_type,
				  e->v[e->n_v - 1].number);
		}
		if (e)
			e->last_seen_ms = now_ms;
	}
	json_doc_free(doc);
}

/* ---- persistence ------------------------------------------------------------ */

void bbd_schemas_save(struct bbd *d)
{
	struct bbd_schemas *ss = d->schemas;
	struct strbuf sb = STRBUF_INIT;
	struct eb_error err;

	if (!ss || !ss->dirty)
		return;
	sb_adds(&sb, "{\"schemas\":[");
	for (size_t i = 0; i < ss->n; i++) {
		const struct entry *e = &ss->e[i];

		sb_adds(&sb, i ? ",\n{\"source\":" : "\n{\"source\":");
		json_write_string(&sb, e->source, strlen(e->source));
		sb_adds(&sb, ",\"detail_type\":");
		json_write_string(&sb, e->detail_type, strlen(e->detail_type));
		sb_printf(&sb, ",\"last_seen_ms\":%lld,\"shape\":", (long long)e->last_seen_ms);
		eb_schema_write(e->shape, &sb);
		sb_adds(&sb, ",\"versions\":[");
		for (size_t k = 0; k < e->n_v; k++) {
			sb_printf(&sb, "%s{\"version\":%ld,\"created_ms\":%lld,\"content\":",
				  k ? "," : "", e->v[k].number, (long long)e->v[k].created_ms);
			json_write_string(&sb, e->v[k].content, strlen(e->v[k].content));
			sb_addc(&sb, '}');
		}
		sb_adds(&sb, "]}");
	}
	sb_adds(&sb, "\n]}\n");
	if (archive_write_file(d->state_dir, SCHEMAS_FILE, sb.buf, sb.len, &err))
		log_warn("schemas: %s", err.message);
	else
		ss->dirty = false;
	sb_free(&sb);
}

static int load_entry(struct bbd_schemas *ss, const struct json_value *o)
{
	const struct json_value *src = json_get(o, "source"), *dt = json_get(o, "detail_type");
	const struct json_value *vs = json_get(o, "versions"), *seen = json_get(o, "last_seen_ms");
	struct eb_error err;

	if (!src || src->type != JSON_STRING || !dt || dt->type != JSON_STRING || !vs ||
	    vs->type != JSON_ARRAY || ss->n >= MAX_TYPES)
		return -1;
	struct eb_schema *shape = eb_schema_read(json_get(o, "shape"), &err);

	if (!shape)
		return -1;
	struct entry *e = add(ss, src->u.str.s, src->u.str.len, dt->u.str.s, dt->u.str.len);

	e->shape = shape;
	e->last_seen_ms = seen && seen->type == JSON_NUMBER ? (int64_t)seen->u.num.d : 0;
	for (size_t k = 0; k < vs->u.arr.n; k++) {
		const struct json_value *v = vs->u.arr.items[k];
		const struct json_value *n = json_get(v, "version"), *c = json_get(v, "content");
		const struct json_value *t = json_get(v, "created_ms");

		if (!n || n->type != JSON_NUMBER || !c || c->type != JSON_STRING || !t ||
		    t->type != JSON_NUMBER) {
			entry_free(&ss->e[--ss->n]);
			return -1;
		}
		add_version(e, (long)n->u.num.d, (int64_t)t->u.num.d,
			    xstrndup(c->u.str.s, c->u.str.len));
	}
	return 0;
}

void bbd_schemas_open(struct bbd *d)
{
	char path[4096];
	size_t len;
	char *text;

	d->schemas = xcalloc(1, sizeof(*d->schemas));
	snprintf(path, sizeof(path), "%s/" SCHEMAS_FILE, d->state_dir);
	text = read_whole_file(path, &len);
	if (!text)
		return; /* none yet */
	struct json_doc *doc = json_parse(text, len, true);
	const struct json_value *list = json_get(json_doc_root(doc), "schemas");

	for (size_t i = 0; list && list->type == JSON_ARRAY && i < list->u.arr.n; i++)
		if (load_entry(d->schemas, list->u.arr.items[i]))
			log_warn("%s: schema %zu is damaged: it is discovered anew", path, i);
	json_doc_free(doc);
	free(text);
	if (d->schemas->n)
		log_info("%zu discovered schemas restored", d->schemas->n);
}

/* ---- control ops ----------------------------------------------------------- */

static void write_summary(struct strbuf *out, const struct entry *e)
{
	sb_addc(out, '{');
	bbd_add_str(out, "source", e->source, false);
	bbd_add_str(out, "detail_type", e->detail_type, true);
	sb_printf(out,
		  ",\"version\":%ld,\"versions\":%zu,\"created_ms\":%lld,\"last_seen_ms\":%lld}",
		  e->v[e->n_v - 1].number, e->n_v, (long long)e->v[e->n_v - 1].created_ms,
		  (long long)e->last_seen_ms);
}

static int schema_list(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *source;

	if (bbd_arg_str(req, "source", &source, out))
		return 0;
	bbd_ok_open(out);
	sb_addc(out, '[');
	for (size_t i = 0, k = 0; i < d->schemas->n; i++) {
		const struct entry *e = &d->schemas->e[i];

		if (!e->n_v || (source && strcmp(source, e->source)))
			continue;
		if (k++)
			sb_addc(out, ',');
		write_summary(out, e);
	}
	sb_adds(out, "]}");
	return 0;
}

static int schema_describe(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *source, *type;
	long long number = 0;

	if (bbd_need_str(req, "source", &source, out) ||
	    bbd_need_str(req, "detail_type", &type, out) ||
	    bbd_arg_int(req, "version", 1, 1LL << 40, &number, out))
		return 0;
	const struct entry *e = find(d->schemas, source, strlen(source), type, strlen(type));

	if (!e || !e->n_v)
		return bbd_fail(out, E_NOT_FOUND, "Schema %s@%s does not exist.", source, type);
	const struct version *v = &e->v[e->n_v - 1];

	for (size_t k = 0; number && k < e->n_v; k++)
		if (e->v[k].number == number)
			v = &e->v[k];
	if (number && v->number != number)
		return bbd_fail(out, E_NOT_FOUND, "Schema %s@%s has no version %lld.", source, type,
				number);
	bbd_ok_open(out);
	sb_addc(out, '{');
	bbd_add_str(out, "source", e->source, false);
	bbd_add_str(out, "detail_type", e->detail_type, true);
	sb_printf(out, ",\"version\":%ld,\"created_ms\":%lld,\"content\":%s}}", v->number,
		  (long long)v->created_ms, v->content);
	return 0;
}

/*
 * schema.discovery: with "bus" and "state" (STARTED or STOPPED), that event
 * bus's discoverer started or stopped (saved in the model, the kernel's
 * sampling recompiled); then every event bus with its discoverer's state.
 */
static int discovery(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *bus, *state;
	char err[1200];

	if (bbd_arg_str(req, "bus", &bus, out) || bbd_arg_str(req, "state", &state, out))
		return 0;
	if (!bus != !state)
		return bbd_fail(out, E_VALIDATION, "give both \"bus\" and \"state\", or neither");
	if (bus) {
		struct bb_mbus *b = bb_model_bus(&d->model, bus);
		struct strbuf snap = STRBUF_INIT;
		bool stop = !strcmp(state, "STOPPED");

		if (!b || b->kind != BPFBUS_BUS_EVENT)
			return bbd_fail(out, E_NOT_FOUND, "Event bus %s does not exist.", bus);
		if (!stop && strcmp(state, "STARTED"))
			return bbd_fail(out, E_VALIDATION, "state is STARTED or STOPPED, not '%s'",
					state);
		bb_model_to_json(&d->model, &snap);
		b->discovery_stopped = stop;
		int r = bbd_model_commit_or_restore(d, &snap, err, sizeof(err));

		sb_free(&snap);
		if (r)
			return bbd_fail(out, E_INTERNAL, "%s", err);
	}
	bbd_ok_open(out);
	sb_addc(out, '[');
	for (size_t i = 0, k = 0; i < d->model.n_buses; i++) {
		const struct bb_mbus *b = &d->model.buses[i];

		if (b->kind != BPFBUS_BUS_EVENT)
			continue;
		if (k++)
			sb_addc(out, ',');
		sb_addc(out, '{');
		bbd_add_str(out, "bus", b->name, false);
		bbd_add_str(out, "state", b->discovery_stopped ? "STOPPED" : "STARTED", true);
		sb_addc(out, '}');
	}
	sb_adds(out, "]}");
	return 0;
}

int bbd_schema_ops(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out)
{
	if (!strcmp(op, "schema.discovery"))
		return discovery(d, req, out);
	if (!strcmp(op, "schema.list"))
		return schema_list(d, req, out);
	if (!strcmp(op, "schema.describe"))
		return schema_describe(d, req, out);
	return -1;
}

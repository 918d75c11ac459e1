// SPDX-License-Identifier: BSD-2-Clause
/*
 * PutEvents entries into EventBridge envelopes (eb_event.h). The request is
 * checked in EventBridge's order: the shape and the API model's constraints
 * first (they fail the whole request), then each entry on its own.
 */
#include "eb_event.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The request-level checks collect every violated constraint, as AWS does. */
struct violations {
	int n;
	struct strbuf text;
};

static void violation(struct violations *v, const char *value, size_t len, const char *where,
		      const char *constraint)
{
	const size_t shown = 64; /* long values are cut: the message is for people */

	sb_adds(&v->text, v->n ? "; " : "");
	sb_printf(&v->text, "Value '%.*s%s' at '%s' failed to satisfy constraint: %s",
		  (int)(len > shown ? shown : len), value, len > shown ? "..." : "", where,
		  constraint);
	v->n++;
}

static void max_len(struct violations *v, const struct json_value *s, size_t max, size_t entry,
		    const char *field)
{
	char where[96], constraint[80];

	if (!s || s->type != JSON_STRING || s->u.str.len <= max)
		return;
	snprintf(where, sizeof(where), "entries.%zu.member.%s", entry, field);
	snprintf(constraint, sizeof(constraint),
		 "Member must have length less than or equal to %zu", max);
	violation(v, s->u.str.s, s->u.str.len, where, constraint);
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '/' || c == '.' || c == '-' || c == '_';
}

/* "arn:aws[\w-]*:events:<region>:<12 digits>:event-bus/" prefix length, or 0. */
static size_t bus_arn_prefix(const char *v)
{
	const char *p = v;

	if (strncmp(p, "arn:aws", 7))
		return 0;
	p += 7;
	while (*p && *p != ':')
		p++;
	if (strncmp(p, ":events:", 8))
		return 0;
	p += 8;
	const char *region = p;

	while (*p && *p != ':')
		p++;
	if (p - region < 4 || *p != ':')
		return 0;
	p++;
	for (int i = 0; i < 12; i++, p++)
		if (*p < '0' || *p > '9')
			return 0;
	if (strncmp(p, ":event-bus/", 11))
		return 0;
	return (size_t)(p + 11 - v);
}

const char *eb_bus_name_of(const char *v)
{
	const char *name = v + bus_arn_prefix(v);

	if (!*name)
		return NULL;
	for (const char *p = name; *p; p++)
		if (!is_name_char(*p))
			return NULL;
	return name;
}

static const char *type_name(enum json_type t)
{
	switch (t) {
	case JSON_STRING:
		return "a string";
	case JSON_NUMBER:
		return "a number";
	case JSON_ARRAY:
		return "an array";
	case JSON_OBJECT:
		return "an object";
	case JSON_NULL:
		return "null";
	default:
		return "a boolean";
	}
}

/* Field types: a wrong one is a SerializationException naming the field. */
static int check_type(const struct json_value *v, enum json_type want, size_t entry,
		      const char *field, struct eb_error *err)
{
	static const char *const want_names[] = {
		[JSON_STRING] = "a string", [JSON_ARRAY] = "an array", [JSON_OBJECT] = "an object"
	};

	if (!v || v->type == JSON_NULL || v->type == want)
		return 0;
	eb_error_set(err, "SerializationException", "Entries[%zu].%s must be %s, not %s", entry,
		     field, want_names[want], type_name(v->type));
	return -1;
}

static const char *const string_fields[] = { "Source", "DetailType", "Detail", "EventBusName",
					     "TraceHeader" };

static int check_entry_shape(const struct json_value *e, size_t i, struct violations *v,
			     size_t *size, struct eb_error *err)
{
	if (e->type != JSON_OBJECT) {
		eb_error_set(err, "SerializationException",
			     "Entries[%zu] must be an object, not %s", i, type_name(e->type));
		return -1;
	}
	for (size_t f = 0; f < sizeof(string_fields) / sizeof(*string_fields); f++)
		if (check_type(json_get(e, string_fields[f]), JSON_STRING, i, string_fields[f],
			       err))
			return -1;
	const struct json_value *res = json_get(e, "Resources");
	const struct json_value *t = json_get(e, "Time");

	if (check_type(res, JSON_ARRAY, i, "Resources", err))
		return -1;
	if (t && t->type != JSON_NULL && t->type != JSON_NUMBER && t->type != JSON_STRING) {
		eb_error_set(err, "SerializationException",
			     "Entries[%zu].Time must be a timestamp, not %s", i,
			     type_name(t->type));
		return -1;
	}
	size_t n = i + 1; /* the model's member numbers start at 1 */

	max_len(v, json_get(e, "Source"), EB_SOURCE_MAX, n, "source");
	max_len(v, json_get(e, "DetailType"), EB_DETAIL_TYPE_MAX, n, "detailType");
	max_len(v, json_get(e, "TraceHeader"), EB_TRACE_HEADER_MAX, n, "traceHeader");
	const struct json_value *bus = json_get(e, "EventBusName");

	max_len(v, bus, EB_BUS_NAME_OR_ARN_MAX, n, "eventBusName");
	if (bus && bus->type == JSON_STRING && bus->u.str.len <= EB_BUS_NAME_OR_ARN_MAX &&
	    (strlen(bus->u.str.s) != bus->u.str.len || !eb_bus_name_of(bus->u.str.s))) {
		char where[64];

		snprintf(where, sizeof(where), "entries.%zu.member.eventBusName", n);
		violation(v, bus->u.str.s, bus->u.str.len, where,
			  "Member must satisfy regular expression pattern: "
			  "(arn:aws[\\w-]*:events:[a-z]{2}-[a-z]+-[\\w-]+:[0-9]{12}:event-bus\\/)?"
			  "[/\\.\\-_A-Za-z0-9]+");
	}
	/* Entry size, as EventBridge computes it. */
	if (t && t->type != JSON_NULL)
		*size += 14;
	for (size_t f = 0; f < 3; f++) {
		const struct json_value *s = json_get(e, string_fields[f]);

		if (s && s->type == JSON_STRING)
			*size += s->u.str.len;
	}
	if (res && res->type == JSON_ARRAY) {
		char where[64];

		snprintf(where, sizeof(where), "entries.%zu.member.resources", n);
		if (res->u.arr.n > EB_RESOURCES_MAX)
			violation(v, "[...]", 5, where,
				  "Member must have length less than or equal to 100");
		for (size_t r = 0; r < res->u.arr.n; r++) {
			const struct json_value *item = res->u.arr.items[r];

			if (item->type == JSON_NULL)
				continue;
			if (item->type != JSON_STRING) {
				eb_error_set(err, "SerializationException",
					     "Entries[%zu].Resources[%zu] must be a string, not %s",
					     i, r, type_name(item->type));
				return -1;
			}
			*size += item->u.str.len;
			if (item->u.str.len > EB_RESOURCE_MAX)
				violation(v, item->u.str.s, item->u.str.len, where,
					  "Member must satisfy constraint: [Member must have "
					  "length less than or equal to 2048]");
		}
	}
	return 0;
}

static int entry_time(const struct json_value *t, int64_t now_ms, size_t i, int64_t *time_s,
		      struct eb_error *err)
{
	/* The latest instant RFC 3339 with a four-digit year can spell. */
	const double max_s = 253402300799.0;

	if (!t || t->type == JSON_NULL) {
		*time_s = now_ms / 1000;
		return 0;
	}
	if (t->type == JSON_NUMBER) {
		double d = t->u.num.d;

		if (isfinite(d) && d >= 0 && d <= max_s) {
			*time_s = (int64_t)floor(d);
			return 0;
		}
	} else {
		int64_t ms;

		if (strlen(t->u.str.s) == t->u.str.len &&
		    !eb_time_parse(t->u.str.s, t->u.str.len, &ms) && ms >= 0) {
			*time_s = ms / 1000;
			return 0;
		}
	}
	eb_error_set(err, "SerializationException",
		     "Entries[%zu].Time is not a valid timestamp (epoch seconds or RFC 3339)", i);
	return -1;
}

static bool present(const struct json_value *s)
{
	return s && s->type == JSON_STRING && s->u.str.len > 0;
}

static void entry_fail(struct eb_put_entry_result *r, const char *code, const char *msg)
{
	r->ok = false;
	snprintf(r->error_code, sizeof(r->error_code), "%s", code);
	snprintf(r->error_message, sizeof(r->error_message), "%s", msg);
}

/* The per-entry checks and the envelope; the entry's shape is known good. */
static void prepare_entry(const struct json_value *e, const struct eb_env *env, int64_t time_s,
			  struct eb_put_entry_result *r)
{
	const struct json_value *src = json_get(e, "Source"), *dt = json_get(e, "DetailType");
	const struct json_value *det = json_get(e, "Detail"), *bus = json_get(e, "EventBusName");
	const struct json_value *th = json_get(e, "TraceHeader"), *res = json_get(e, "Resources");

	if (!present(src))
		return entry_fail(r, "InvalidArgument",
				  "Parameter Source is not valid. Reason: Source is a required "
				  "argument.");
	if (!present(dt))
		return entry_fail(r, "InvalidArgument",
				  "Parameter DetailType is not valid. Reason: DetailType is a "
				  "required argument.");
	if (!present(det))
		return entry_fail(r, "InvalidArgument",
				  "Parameter Detail is not valid. Reason: Detail is a required "
				  "argument.");
	struct json_doc *detail = json_parse(det->u.str.s, det->u.str.len, true);
	const struct json_value *droot = json_doc_root(detail);

	if (!droot || droot->type != JSON_OBJECT) {
		json_doc_free(detail);
		return entry_fail(r, "MalformedDetail", "Detail is malformed.");
	}
	if (!strncmp(src->u.str.s, "aws.", 4)) {
		json_doc_free(detail);
		return entry_fail(r, "NotAuthorizedForSourceException",
				  "Not authorized for the source.");
	}
	const char *bus_name = present(bus) ? eb_bus_name_of(bus->u.str.s) : "default";

	if (env->bus_exists && !env->bus_exists(env->ctx, bus_name)) {
		char msg[256];

		snprintf(msg, sizeof(msg), "Event bus %s does not exist.", bus_name);
		json_doc_free(detail);
		return entry_fail(r, "ResourceNotFoundException", msg);
	}

	struct strbuf detail_text = STRBUF_INIT;
	size_t n_res = res && res->type == JSON_ARRAY ? res->u.arr.n : 0, k = 0;
	const char **resources = xcalloc(n_res + 1, sizeof(*resources));

	json_write(&detail_text, droot);
	for (size_t i = 0; i < n_res; i++)
		if (res->u.arr.items[i]->type == JSON_STRING)
			resources[k++] = res->u.arr.items[i]->u.str.s;
	r->ok = true;
	eb_uuid4(r->event_id);
	r->bus_name = xstrndup(bus_name, strlen(bus_name));
	r->trace_header = present(th) ? xstrndup(th->u.str.s, th->u.str.len) : NULL;
	r->time_s = time_s;
	eb_envelope_write(&r->event, &(struct eb_envelope){
					     .id = r->event_id,
					     .detail_type = dt->u.str.s,
					     .source = src->u.str.s,
					     .account = env->account,
					     .time_s = time_s,
					     .region = env->region,
					     .resources = resources,
					     .n_resources = k,
					     .detail = detail_text.buf,
					     .detail_len = detail_text.len,
				     });
	free(resources);
	sb_free(&detail_text);
	json_doc_free(detail);
}

static int check_request(const struct json_value *root, struct eb_error *err,
			 const struct json_value **entries)
{
	if (!root || root->type != JSON_OBJECT) {
		eb_error_set(err, "SerializationException",
			     "The request body is not a JSON object");
		return -1;
	}
	const struct json_value *list = json_get(root, "Entries");

	if (!list || list->type == JSON_NULL) {
		eb_error_set(err, "ValidationException",
			     "1 validation error detected: Value null at 'entries' failed to "
			     "satisfy constraint: Member must not be null");
		return -1;
	}
	if (list->type != JSON_ARRAY) {
		eb_error_set(err, "SerializationException", "Entries must be an array, not %s",
			     type_name(list->type));
		return -1;
	}
	if (list->u.arr.n < 1 || list->u.arr.n > EB_PUT_EVENTS_MAX_ENTRIES) {
		eb_error_set(err, "ValidationException",
			     "1 validation error detected: Value '[...]' at 'entries' failed to "
			     "satisfy constraint: Member must have length %s",
			     list->u.arr.n ? "less than or equal to 10"
					   : "greater than or equal to 1");
		return -1;
	}
	*entries = list;
	return 0;
}

int eb_put_events_prepare(const char *body, size_t len, const struct eb_env *env, int64_t now_ms,
			  struct eb_put_batch *out, struct eb_error *err)
{
	struct json_doc *doc = json_parse(body, len, true);
	const struct json_value *list;
	struct violations v = { 0, STRBUF_INIT };
	int64_t times[EB_PUT_EVENTS_MAX_ENTRIES];
	size_t size = 0;
	int ret = -1;

	memset(out, 0, sizeof(*out));
	if (json_doc_error(doc)) {
		eb_error_set(err, "SerializationException",
			     "The request body is not valid JSON: %s", json_doc_error(doc));
		goto done;
	}
	if (check_request(json_doc_root(doc), err, &list))
		goto done;
	for (size_t i = 0; i < list->u.arr.n; i++) {
		const struct json_value *e = list->u.arr.items[i];

		if (check_entry_shape(e, i, &v, &size, err) ||
		    entry_time(json_get(e, "Time"), now_ms, i, &times[i], err))
			goto done;
	}
	if (v.n) {
		eb_error_set(err, "ValidationException", "%d validation error%s detected: %s", v.n,
			     v.n > 1 ? "s" : "", v.text.buf);
		goto done;
	}
	if (size > EB_PUT_EVENTS_MAX_SIZE) {
		eb_error_set(err, "ValidationException",
			     "Total size of the entries in the request is over the limit.");
		goto done;
	}
	out->n = list->u.arr.n;
	out->entries = xcalloc(out->n, sizeof(*out->entries));
	for (size_t i = 0; i < out->n; i++) {
		prepare_entry(list->u.arr.items[i], env, times[i], &out->entries[i]);
		out->failed += !out->entries[i].ok;
	}
	ret = 0;
done:
	sb_free(&v.text);
	json_doc_free(doc);
	return ret;
}

void eb_put_batch_free(struct eb_put_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->entries[i].bus_name);
		free(b->entries[i].trace_header);
		sb_free(&b->entries[i].event);
	}
	free(b->entries);
	memset(b, 0, sizeof(*b));
}

static void write_member(struct strbuf *sb, const char *key, const char *value)
{
	json_write_string(sb, key, strlen(key));
	sb_addc(sb, ':');
	json_write_string(sb, value, strlen(value));
	sb_addc(sb, ',');
}

void eb_envelope_write(struct strbuf *sb, const struct eb_envelope *e)
{
	char when[EB_TIME_LEN];

	eb_time_format(e->time_s, when);
	sb_adds(sb, "{\"version\":\"0\",");
	write_member(sb, "id", e->id);
	write_member(sb, "detail-type", e->detail_type);
	write_member(sb, "source", e->source);
	write_member(sb, "account", e->account);
	write_member(sb, "time", when);
	write_member(sb, "region", e->region);
	sb_adds(sb, "\"resources\":[");
	for (size_t i = 0; i < e->n_resources; i++) {
		if (i)
			sb_addc(sb, ',');
		json_write_string(sb, e->resources[i], strlen(e->resources[i]));
	}
	sb_adds(sb, "],\"detail\":");
	if (e->detail)
		sb_add(sb, e->detail, e->detail_len);
	else
		sb_adds(sb, "{}");
	if (e->replay_name) {
		sb_adds(sb, ",\"replay-name\":");
		json_write_string(sb, e->replay_name, strlen(e->replay_name));
	}
	sb_addc(sb, '}');
}

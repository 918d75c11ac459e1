// SPDX-License-Identifier: BSD-2-Clause
/*
 * The EventBridge dispatcher (eb_api.h): the action table, request members,
 * errors as botocore parses them ({"__type", "message"}), buses and tags.
 */
#include "eb_api.h"
#include "eb_event.h"
#include "http_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON11 "application/x-amz-json-1.1"
#define PAGE_MAX 100

int eb_fail(struct eb_call *c, const char *code, const char *fmt, ...)
{
	va_list ap;

	snprintf(c->err.code, sizeof(c->err.code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(c->err.message, sizeof(c->err.message), fmt, ap);
	va_end(ap);
	c->status = strcmp(code, "InternalException") ? 400 : 500;
	return -1;
}

static const char *json_type_name(const struct json_value *v)
{
	static const char *const names[] = { "null",   "boolean", "boolean", "number",
					     "string", "array",	  "object" };

	return names[v->type];
}

int eb_str(struct eb_call *c, const char *key, bool required, const char **v)
{
	const struct json_value *j = json_get(c->req, key);

	*v = NULL;
	if (!j || j->type == JSON_NULL) {
		if (required)
			return eb_fail(c, "ValidationException",
				       "1 validation error detected: Value null at '%s' failed to "
				       "satisfy constraint: Member must not be null",
				       key);
		return 0;
	}
	if (j->type != JSON_STRING || memchr(j->u.str.s, 0, j->u.str.len))
		return eb_fail(c, "SerializationException", "%s must be a string, not %s", key,
			       json_type_name(j));
	*v = j->u.str.s;
	return 0;
}

int eb_int(struct eb_call *c, const char *key, long lo, long hi, long *v)
{
	const struct json_value *j = json_get(c->req, key);

	if (!j || j->type == JSON_NULL)
		return 0;
	if (j->type != JSON_NUMBER || !j->u.num.is_int)
		return eb_fail(c, "SerializationException", "%s must be an integer", key);
	if (j->u.num.d < lo || j->u.num.d > hi)
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value '%s' at '%s' failed to satisfy "
			       "constraint: Member must have value between %ld and %ld",
			       j->u.num.raw, key, lo, hi);
	*v = (long)j->u.num.d;
	return 0;
}

struct bb_mbus *eb_req_bus(struct eb_call *c, const char *key)
{
	const char *v, *name;
	struct bb_mbus *b;

	if (eb_str(c, key, false, &v))
		return NULL;
	name = v ? eb_bus_name_of(v) : EB_DEFAULT_BUS;
	if (!name) {
		eb_fail(c, "ValidationException", "Parameter %s is not valid: '%.200s'.", key, v);
		return NULL;
	}
	b = bb_model_bus(&c->d->model, name);
	if (!b || b->kind != BPFBUS_BUS_EVENT) {
		eb_fail(c, "ResourceNotFoundException", "Event bus %s does not exist.", name);
		return NULL;
	}
	return b;
}

struct bb_rule *eb_req_rule(struct eb_call *c, const char *key, struct bb_mbus **bus)
{
	const char *name;
	struct bb_rule *r;

	*bus = eb_req_bus(c, "EventBusName");
	if (!*bus || eb_str(c, key, true, &name))
		return NULL;
	r = bb_model_rule(*bus, name);
	if (!r)
		eb_fail(c, "ResourceNotFoundException", "Rule %s does not exist on EventBus %s.",
			name, (*bus)->name);
	return r;
}

int eb_list_page(struct eb_call *c, const char *key, const void *const *items, size_t n,
		 eb_item_fn fn, const void *ctx)
{
	size_t from = 0, to;
	const char *tok;
	long limit = PAGE_MAX;
	char *end;

	if (eb_str(c, "NextToken", false, &tok) || eb_int(c, "Limit", 1, PAGE_MAX, &limit))
		return -1;
	if (tok) {
		unsigned long v = strtoul(tok, &end, 10);

		if (!*tok || *end || v > n)
			return eb_fail(c, "ValidationException",
				       "The NextToken '%.64s' is not valid.", tok);
		from = v;
	}
	to = from + (size_t)limit < n ? from + (size_t)limit : n;
	sb_printf(c->out, "{\"%s\":[", key);
	for (size_t i = from; i < to; i++) {
		if (i > from)
			sb_addc(c->out, ',');
		fn(c, items[i], ctx);
	}
	sb_addc(c->out, ']');
	if (to < n)
		sb_printf(c->out, ",\"NextToken\":\"%zu\"", to);
	sb_addc(c->out, '}');
	return 0;
}

void eb_put_str(struct strbuf *out, const char *key, const char *val, bool first)
{
	if (!first)
		sb_addc(out, ',');
	json_write_string(out, key, strlen(key));
	sb_addc(out, ':');
	json_write_string(out, val, strlen(val));
}

void eb_api_rule_arn(const struct bbd *d, const char *bus, const char *rule, char *buf, size_t cap)
{
	eb_rule_arn(buf, cap, bbd_region(d), bbd_account(d), bus, rule);
}

void eb_api_bus_arn(const struct bbd *d, const char *bus, char *buf, size_t cap)
{
	eb_bus_arn(buf, cap, bbd_region(d), bbd_account(d), bus);
}

int eb_save(struct eb_call *c)
{
	char msg[400];

	if (bb_model_save(c->d->state_dir, &c->d->model, msg, sizeof(msg)))
		return eb_fail(c, "InternalException", "%s", msg);
	return 0;
}

int eb_commit(struct eb_call *c, struct strbuf *snap)
{
	char msg[1200];
	int r = bbd_model_commit_or_restore(c->d, snap, msg, sizeof(msg));

	sb_free(snap);
	if (r)
		return eb_fail(c, "InternalException", "%s", msg);
	return 0;
}

int eb_commit_empty(struct eb_call *c, struct strbuf *snap)
{
	if (eb_commit(c, snap))
		return -1;
	sb_adds(c->out, "{}");
	return 0;
}

/* ------------------------------------------------------------ buses */

static void bus_json(struct eb_call *c, const void *item, const void *ctx)
{
	const struct bb_mbus *b = item;
	char arn[600];

	(void)ctx;
	eb_api_bus_arn(c->d, b->name, arn, sizeof(arn));
	eb_put_str(c->out, "Name", b->name, true);
	eb_put_str(c->out, "Arn", arn, false);
	if (b->description)
		eb_put_str(c->out, "Description", b->description, false);
}

/* A bus as an item of ListEventBuses. */
static void bus_item(struct eb_call *c, const void *item, const void *ctx)
{
	sb_addc(c->out, '{');
	bus_json(c, item, ctx);
	sb_addc(c->out, '}');
}

int eb_tags_from_request(struct eb_call *c, const char *key, struct bb_tags *t)
{
	const struct json_value *l = json_get(c->req, key);

	memset(t, 0, sizeof(*t));
	if (!l || l->type == JSON_NULL)
		return 0;
	if (l->type != JSON_ARRAY)
		return eb_fail(c, "SerializationException", "%s must be a list", key);
	for (size_t i = 0; i < l->u.arr.n; i++) {
		const struct json_value *k = json_get(l->u.arr.items[i], "Key");
		const struct json_value *v = json_get(l->u.arr.items[i], "Value");

		if (!k || !v || k->type != JSON_STRING || v->type != JSON_STRING ||
		    memchr(k->u.str.s, 0, k->u.str.len) || memchr(v->u.str.s, 0, v->u.str.len)) {
			bb_tags_free(t);
			return eb_fail(c, "ValidationException",
				       "%s.%zu must have a string Key and a string Value", key,
				       i + 1);
		}
		if (!k->u.str.len || k->u.str.len > 128 || v->u.str.len > 256) {
			bb_tags_free(t);
			return eb_fail(c, "ValidationException",
				       "Tag keys are 1 to 128 characters, values at most 256.");
		}
		bb_tags_set(t, k->u.str.s, v->u.str.s);
	}
	if (t->n > BB_MAX_TAGS) {
		bb_tags_free(t);
		return eb_fail(c, "LimitExceededException", "A resource has at most %d tags.",
			       BB_MAX_TAGS);
	}
	return 0;
}

/* Tags of @add added to @to, within the limit of 50. */
static int merge_tags(struct eb_call *c, struct bb_tags *to, const struct bb_tags *add)
{
	size_t n = to->n;

	for (size_t i = 0; i < add->n; i++)
		n += !bb_tags_get(to, add->v[i].key);
	if (n > BB_MAX_TAGS)
		return eb_fail(c, "LimitExceededException", "A resource has at most %d tags.",
			       BB_MAX_TAGS);
	for (size_t i = 0; i < add->n; i++)
		bb_tags_set(to, add->v[i].key, add->v[i].value);
	return 0;
}

static int create_event_bus(struct eb_call *c)
{
	const char *name, *source, *desc;
	struct bb_tags tags;
	struct eb_error e;
	uint32_t id;
	char arn[600];

	if (eb_str(c, "Name", true, &name) || eb_str(c, "EventSourceName", false, &source) ||
	    eb_str(c, "Description", false, &desc))
		return -1;
	if (source)
		return eb_fail(c, "ValidationException",
			       "Partner event sources are not served by bpfbus.");
	if (desc && strlen(desc) > 512)
		return eb_fail(c, "ValidationException",
			       "Description must be at most 512 characters long.");
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/") !=
		    strlen(name) ||
	    !strcmp(name, EB_DEFAULT_BUS))
		return eb_fail(c, "ValidationException",
			       "Event bus name '%.256s' is not valid: letters, digits, '.', '-', "
			       "'_' and '/', and not 'default'.",
			       name);
	if (eb_tags_from_request(c, "Tags", &tags))
		return -1;
	if (bbd_bus_create(c->d, name, BPFBUS_BUS_EVENT, &id, &e)) {
		bb_tags_free(&tags);
		return eb_fail(c, e.code, "%s", e.message);
	}
	struct bb_mbus *b = bb_model_bus(&c->d->model, name);

	b->description = desc ? xstrndup(desc, strlen(desc)) : NULL;
	b->tags = tags;
	if ((desc || tags.n) && eb_save(c))
		return -1;
	eb_api_bus_arn(c->d, name, arn, sizeof(arn));
	sb_addc(c->out, '{');
	eb_put_str(c->out, "EventBusArn", arn, true);
	sb_addc(c->out, '}');
	return 0;
}

static int delete_event_bus(struct eb_call *c)
{
	const char *name;
	struct eb_error e;

	if (eb_str(c, "Name", true, &name))
		return -1;
	struct bb_mbus *b = bb_model_bus(&c->d->model, name);

	/* EventBridge answers success for a bus that is not there */
	if (b && b->kind == BPFBUS_BUS_EVENT && bbd_bus_remove(c->d, b, &e))
		return eb_fail(c, e.code, "%s", e.message);
	if (!b && !strcmp(name, EB_DEFAULT_BUS))
		return eb_fail(c, "ValidationException", "Cannot delete event bus default.");
	sb_adds(c->out, "{}");
	return 0;
}

static int describe_event_bus(struct eb_call *c)
{
	struct bb_mbus *b = eb_req_bus(c, "Name");

	if (!b)
		return -1;
	bus_item(c, b, NULL);
	return 0;
}

static int list_event_buses(struct eb_call *c)
{
	const char *prefix;
	const void **sel;
	size_t n = 0;
	int r;

	if (eb_str(c, "NamePrefix", false, &prefix))
		return -1;
	sel = xcalloc(c->d->model.n_buses + 1, sizeof(*sel));
	for (size_t i = 0; i < c->d->model.n_buses; i++) {
		const struct bb_mbus *b = &c->d->model.buses[i];

		if (b->kind == BPFBUS_BUS_EVENT &&
		    (!prefix || !strncmp(b->name, prefix, strlen(prefix))))
			sel[n++] = b;
	}
	r = eb_list_page(c, "EventBuses", sel, n, bus_item, NULL);
	free(sel);
	return r;
}

/* ------------------------------------------------------------ tags */

/* The tags of the rule or bus an ARN names; NULL with ResourceNotFoundException. */
static struct bb_tags *tags_of(struct eb_call *c, const char *arn)
{
	char prefix[200], bus[300];
	const char *rest, *slash;
	struct bb_mbus *b;
	struct bb_rule *r;

	snprintf(prefix, sizeof(prefix), "arn:aws:events:%s:%s:", bbd_region(c->d),
		 bbd_account(c->d));
	if (strncmp(arn, prefix, strlen(prefix)))
		goto none;
	rest = arn + strlen(prefix);
	if (!strncmp(rest, "event-bus/", 10)) {
		b = bb_model_bus(&c->d->model, rest + 10);
		if (b && b->kind == BPFBUS_BUS_EVENT)
			return &b->tags;
		goto none;
	}
	if (strncmp(rest, "rule/", 5))
		goto none;
	rest += 5;
	slash = strrchr(rest, '/');
	snprintf(bus, sizeof(bus), "%.*s", slash ? (int)(slash - rest) : 7,
		 slash ? rest : EB_DEFAULT_BUS);
	b = bb_model_bus(&c->d->model, bus);
	r = b ? bb_model_rule(b, slash ? slash + 1 : rest) : NULL;
	if (r)
		return &r->tags;
none:
	eb_fail(c, "ResourceNotFoundException", "Resource %.300s does not exist.", arn);
	return NULL;
}

static int tag_resource(struct eb_call *c)
{
	const char *arn;
	struct bb_tags *t, add;
	int r;

	if (eb_str(c, "ResourceARN", true, &arn) || !(t = tags_of(c, arn)) ||
	    eb_tags_from_request(c, "Tags", &add))
		return -1;
	r = merge_tags(c, t, &add);
	bb_tags_free(&add);
	if (r || eb_save(c))
		return -1;
	sb_adds(c->out, "{}");
	return 0;
}

static int untag_resource(struct eb_call *c)
{
	const struct json_value *keys = json_get(c->req, "TagKeys");
	const char *arn;
	struct bb_tags *t;

	if (eb_str(c, "ResourceARN", true, &arn) || !(t = tags_of(c, arn)))
		return -1;
	if (!keys || keys->type != JSON_ARRAY)
		return eb_fail(c, "ValidationException", "TagKeys must be a list of strings.");
	for (size_t i = 0; i < keys->u.arr.n; i++)
		if (keys->u.arr.items[i]->type != JSON_STRING)
			return eb_fail(c, "ValidationException",
				       "TagKeys must be a list of strings.");
	for (size_t i = 0; i < keys->u.arr.n; i++)
		bb_tags_remove(t, keys->u.arr.items[i]->u.str.s);
	if (eb_save(c))
		return -1;
	sb_adds(c->out, "{}");
	return 0;
}

static int list_tags_for_resource(struct eb_call *c)
{
	const char *arn;
	struct bb_tags *t;

	if (eb_str(c, "ResourceARN", true, &arn) || !(t = tags_of(c, arn)))
		return -1;
	sb_adds(c->out, "{\"Tags\":[");
	for (size_t i = 0; i < t->n; i++) {
		sb_adds(c->out, i ? ",{" : "{");
		eb_put_str(c->out, "Key", t->v[i].key, true);
		eb_put_str(c->out, "Value", t->v[i].value, false);
		sb_addc(c->out, '}');
	}
	sb_adds(c->out, "]}");
	return 0;
}

/* ------------------------------------------------------------ dispatch */

static const struct {
	const char *name;
	eb_action_fn fn;
} actions[] = {
	{ "CreateEventBus", create_event_bus },
	{ "DeleteEventBus", delete_event_bus },
	{ "DescribeEventBus", describe_event_bus },
	{ "ListEventBuses", list_event_buses },
	{ "PutRule", eb_put_rule },
	{ "DeleteRule", eb_delete_rule },
	{ "DescribeRule", eb_describe_rule },
	{ "ListRules", eb_list_rules },
	{ "EnableRule", eb_enable_rule },
	{ "DisableRule", eb_disable_rule },
	{ "PutTargets", eb_put_targets },
	{ "RemoveTargets", eb_remove_targets },
	{ "ListTargetsByRule", eb_list_targets_by_rule },
	{ "ListRuleNamesByTarget", eb_list_rule_names_by_target },
	{ "PutEvents", eb_put_events },
	{ "TestEventPattern", eb_test_event_pattern },
	{ "TagResource", tag_resource },
	{ "UntagResource", untag_resource },
	{ "ListTagsForResource", list_tags_for_resource },
	{ "CreateArchive", eb_create_archive },
	{ "DescribeArchive", eb_describe_archive },
	{ "ListArchives", eb_list_archives },
	{ "UpdateArchive", eb_update_archive },
	{ "DeleteArchive", eb_delete_archive },
	{ "StartReplay", eb_start_replay },
	{ "DescribeReplay", eb_describe_replay },
	{ "ListReplays", eb_list_replays },
	{ "CancelReplay", eb_cancel_replay },
};

static eb_action_fn find_action(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].name, name))
			return actions[i].fn;
	return NULL;
}

static bool has_action(void *ctx, const char *action)
{
	(void)ctx;
	return find_action(action) != NULL;
}

/* A string member of @req, or NULL. */
static const char *member(const struct json_value *req, const char *key)
{
	const struct json_value *v = req ? json_get(req, key) : NULL;

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

/*
 * The ARN a call acts on, for credentials limited to resources: the tagged
 * resource, the bus of the bus actions, the rule of the rule and target
 * actions; "" for PutEvents, TestEventPattern and the list actions.
 */
static void resource(void *ctx, const struct http_call *call, char *arn, size_t cap)
{
	struct bbd *d = ctx;
	struct json_doc *doc = json_parse(call->body, call->body_len, true);
	const struct json_value *req = json_doc_error(doc) ? NULL : json_doc_root(doc);
	const char *bus = member(req, "EventBusName"), *v;

	bus = bus && eb_bus_name_of(bus) ? eb_bus_name_of(bus) : EB_DEFAULT_BUS;
	arn[0] = '\0';
	if ((v = member(req, "ResourceARN")))
		snprintf(arn, cap, "%s", v);
	else if (strstr(call->action, "EventBus") && (v = member(req, "Name")))
		eb_api_bus_arn(d, v, arn, cap);
	else if ((v = member(req, "Rule")) ||
		 (strstr(call->action, "Rule") && (v = member(req, "Name"))))
		eb_api_rule_arn(d, bus, v, arn, cap);
	json_doc_free(doc);
}

static void handle(void *ctx, const struct http_call *call, struct http_reply *reply)
{
	struct json_doc *doc = json_parse(call->body, call->body_len, true);
	struct eb_call c = { .d = ctx,
			     .body = call->body,
			     .body_len = call->body_len,
			     .out = reply->body,
			     .status = 400 };
	eb_action_fn fn = find_action(call->action);

	reply->content_type = JSON11;
	if (!call->body_len) {
		json_doc_free(doc);
		doc = json_parse("{}", 2, true);
	}
	if (!fn) { /* the listener hands every AWSEvents.* action over */
		eb_fail(&c, "UnknownOperationException",
			"The operation %.100s is not handled by "
			"this endpoint.",
			call->action);
	} else if (json_doc_error(doc) || json_doc_root(doc)->type != JSON_OBJECT) {
		eb_fail(&c, "SerializationException", "The request body is not a JSON object: %s",
			json_doc_error(doc) ? json_doc_error(doc) : "another JSON value");
	} else {
		c.req = json_doc_root(doc);
		if (fn(&c) == 0) {
			reply->status = 200;
			json_doc_free(doc);
			return;
		}
	}
	sb_reset(reply->body);
	reply->status = c.status;
	sb_adds(reply->body, "{\"__type\":");
	json_write_string(reply->body, c.err.code, strlen(c.err.code));
	sb_adds(reply->body, ",\"message\":");
	json_write_string(reply->body, c.err.message, strlen(c.err.message));
	sb_addc(reply->body, '}');
	json_doc_free(doc);
}

int bbd_eb_api_register(struct bbd *d)
{
	struct http_dispatcher disp = {
		.json_target_prefix = "AWSEvents.",
		.signing_service = "events",
		.has_action = has_action,
		.resource = resource,
		.handle = handle,
		.ctx = d,
	};

	return http_api_register(d->api, &disp);
}

// SPDX-License-Identifier: BSD-2-Clause
/* Rule targets of the object model: their JSON form and their checks. See model.h. */
#include "eb_transform.h"
#include "http_post.h"
#include "json.h"
#include "model.h"
#include "producer.h"
#include "strbuf.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[BB_TARGET_KINDS] = {
	[BB_TARGET_QUEUE] = "queue", [BB_TARGET_TOPIC] = "topic", [BB_TARGET_BUS] = "bus",
	[BB_TARGET_HTTP] = "http",   [BB_TARGET_UDP] = "udp",
};

const char *bb_target_kind_name(int kind)
{
	return kind >= 0 && kind < BB_TARGET_KINDS ? kind_names[kind] : "?";
}

int bb_target_kind_parse(const char *s)
{
	for (int k = 0; k < BB_TARGET_KINDS; k++)
		if (!strcmp(s, kind_names[k]))
			return k;
	return -1;
}

void bb_target_init(struct bb_target *t)
{
	memset(t, 0, sizeof(*t));
	t->retry_attempts = BB_RETRY_ATTEMPTS_MAX;
	t->max_event_age_s = BB_EVENT_AGE_MAX;
}

void bb_target_free(struct bb_target *t)
{
	free(t->id);
	free(t->addr);
	free(t->dlq);
	free(t->input);
	free(t->input_path);
	free(t->input_transformer);
	free(t->message_group_id);
	bb_target_init(t);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrndup(s, strlen(s)) : NULL;
}

void bb_target_copy(struct bb_target *dst, const struct bb_target *src)
{
	*dst = *src;
	dst->id = dup_or_null(src->id);
	dst->addr = dup_or_null(src->addr);
	dst->dlq = dup_or_null(src->dlq);
	dst->input = dup_or_null(src->input);
	dst->input_path = dup_or_null(src->input_path);
	dst->input_transformer = dup_or_null(src->input_transformer);
	dst->message_group_id = dup_or_null(src->message_group_id);
}

static void put_str(struct strbuf *sb, const char *key, const char *val)
{
	sb_printf(sb, ",\"%s\":", key);
	json_write_string(sb, val, strlen(val));
}

void bb_target_to_json(const struct bb_target *t, struct strbuf *sb)
{
	sb_adds(sb, "{\"id\":");
	json_write_string(sb, t->id, strlen(t->id));
	put_str(sb, bb_target_kind_name(t->kind), t->addr);
	if (t->dlq)
		put_str(sb, "dlq", t->dlq);
	if (t->input)
		put_str(sb, "input", t->input);
	if (t->input_path)
		put_str(sb, "input_path", t->input_path);
	if (t->input_transformer) /* checked JSON: written as the object it is */
		sb_printf(sb, ",\"input_transformer\":%s", t->input_transformer);
	if (t->retry_attempts != BB_RETRY_ATTEMPTS_MAX)
		sb_printf(sb, ",\"retry_attempts\":%d", t->retry_attempts);
	if (t->max_event_age_s != BB_EVENT_AGE_MAX)
		sb_printf(sb, ",\"max_event_age\":%d", t->max_event_age_s);
	if (t->message_group_id)
		put_str(sb, "message_group_id", t->message_group_id);
	sb_addc(sb, '}');
}

/* An optional string member into @out (copied); -1 with @err when it is no string. */
static int opt_str(const struct json_value *o, const char *key, char **out, char *err,
		   size_t err_len)
{
	const struct json_value *v = json_get(o, key);

	if (!v)
		return 0;
	if (v->type != JSON_STRING || memchr(v->u.str.s, 0, v->u.str.len)) {
		snprintf(err, err_len, "target: \"%s\" must be a string", key);
		return -1;
	}
	*out = xstrndup(v->u.str.s, v->u.str.len);
	return 0;
}

/* An optional integer member in [lo, hi]; -1 with @err otherwise. */
static int opt_int(const struct json_value *o, const char *key, int lo, int hi, int *out, char *err,
		   size_t err_len)
{
	const struct json_value *v = json_get(o, key);

	if (!v)
		return 0;
	if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.d < lo || v->u.num.d > hi) {
		snprintf(err, err_len, "target: \"%s\" must be an integer from %d to %d", key, lo,
			 hi);
		return -1;
	}
	*out = (int)v->u.num.d;
	return 0;
}

int bb_target_from_json(const struct json_value *o, struct bb_target *t, char *err, size_t err_len)
{
	const struct json_value *tr;
	int found = 0;

	bb_target_init(t);
	if (!o || o->type != JSON_OBJECT) {
		snprintf(err, err_len, "a target is a JSON object");
		return -1;
	}
	if (opt_str(o, "id", &t->id, err, err_len))
		goto fail;
	if (!t->id) {
		snprintf(err, err_len, "target: missing \"id\"");
		goto fail;
	}
	for (int k = 0; k < BB_TARGET_KINDS; k++) {
		char *addr = NULL;

		if (opt_str(o, kind_names[k], &addr, err, err_len))
			goto fail;
		if (addr) {
			found++;
			free(t->addr);
			t->addr = addr;
			t->kind = k;
		}
	}
	if (found != 1) {
		snprintf(err, err_len,
			 "target %s: exactly one of \"queue\", \"topic\", \"bus\", \"http\", "
			 "\"udp\" names where it goes",
			 t->id);
		goto fail;
	}
	if (opt_str(o, "dlq", &t->dlq, err, err_len) ||
	    opt_str(o, "input", &t->input, err, err_len) ||
	    opt_str(o, "input_path", &t->input_path, err, err_len) ||
	    opt_str(o, "message_group_id", &t->message_group_id, err, err_len) ||
	    opt_int(o, "retry_attempts", 0, BB_RETRY_ATTEMPTS_MAX, &t->retry_attempts, err,
		    err_len) ||
	    opt_int(o, "max_event_age", BB_EVENT_AGE_MIN, BB_EVENT_AGE_MAX, &t->max_event_age_s,
		    err, err_len))
		goto fail;
	tr = json_get(o, "input_transformer");
	if (tr) {
		struct strbuf sb = STRBUF_INIT;

		if (tr->type != JSON_OBJECT) {
			snprintf(err, err_len,
				 "target %s: \"input_transformer\" must be an object "
				 "{\"InputPathsMap\": {...}, \"InputTemplate\": \"...\"}",
				 t->id);
			goto fail;
		}
		json_write(&sb, tr);
		t->input_transformer = sb.buf;
	}
	return 0;
fail:
	bb_target_free(t);
	return -1;
}

/* Queue, topic and bus names: what the stores accept, checked there. */
static bool plain_name(const char *s)
{
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") ==
	       strlen(s);
}

/* The address's syntax for its kind; NULL when fine, else what is wrong. */
static const char *addr_problem(const struct bb_target *t)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	char msg[200];

	if (!*t->addr || strlen(t->addr) > BB_TARGET_ADDR_MAX)
		return "must be 1 to 2048 characters long";
	switch (t->kind) {
	case BB_TARGET_QUEUE:
	case BB_TARGET_TOPIC:
	case BB_TARGET_BUS:
		return plain_name(t->addr) ? NULL
					   : "is a name of letters, digits, '.', '-' and '_'";
	case BB_TARGET_HTTP:
		if (!http_post_url_ok(t->addr))
			return "is an http:// or https:// URL (http[s]://HOST[:PORT][/PATH])";
		return NULL;
	case BB_TARGET_UDP:
		if (bb_parse_hostport(t->addr, 0, &ss, &sl, msg, sizeof(msg)) ||
		    !((struct sockaddr_in *)&ss)->sin_port) /* same offset in sockaddr_in6 */
			return "is HOST:PORT (or [IPV6]:PORT) with a port from 1 to 65535";
		return NULL;
	}
	return "has an unknown kind";
}

bool bb_target_is_fifo(const struct bb_target *t)
{
	size_t n = strlen(t->addr);

	return (t->kind == BB_TARGET_QUEUE || t->kind == BB_TARGET_TOPIC) && n > 5 &&
	       !strcmp(t->addr + n - 5, ".fifo");
}

int bb_target_input(const struct bb_target *t, struct eb_input **in, struct eb_error *err)
{
	struct eb_input_spec spec = {
		.target_id = t->id,
		.input = t->input,
		.input_path = t->input_path,
		.has_transformer = t->input_transformer != NULL,
	};
	struct json_doc *doc = NULL;
	int r = 0;

	*in = NULL;
	if (!t->input && !t->input_path && !t->input_transformer)
		return 0;
	if (t->input_transformer) {
		/* the transformer's own members, through the PutTargets form of a target */
		struct strbuf sb = STRBUF_INIT;

		sb_adds(&sb, "{\"Id\":");
		json_write_string(&sb, t->id, strlen(t->id));
		if (t->input) {
			sb_adds(&sb, ",\"Input\":");
			json_write_string(&sb, t->input, strlen(t->input));
		}
		if (t->input_path) {
			sb_adds(&sb, ",\"InputPath\":");
			json_write_string(&sb, t->input_path, strlen(t->input_path));
		}
		sb_printf(&sb, ",\"InputTransformer\":%s}", t->input_transformer);
		doc = json_parse(sb.buf, sb.len, true);
		sb_free(&sb);
		if (json_doc_error(doc)) {
			eb_error_set(err, "ValidationException",
				     "InputTransformer for target %s is not a JSON object: %s",
				     t->id, json_doc_error(doc));
			r = -1;
		} else {
			*in = eb_input_compile_json(json_doc_root(doc), err);
			r = *in ? 0 : -1;
		}
		json_doc_free(doc);
		return r;
	}
	*in = eb_input_compile(&spec, err);
	return *in ? 0 : -1;
}

int bb_target_check(const struct bb_target *t, struct eb_error *err)
{
	char msg[300];
	const char *why;
	struct eb_input *in;

	if (bb_model_check_name("target", t->id, msg, sizeof(msg))) {
		eb_error_set(err, "ValidationException", "%s", msg);
		return -1;
	}
	why = addr_problem(t);
	if (why) {
		eb_error_set(err, "ValidationException", "Target %s: the %s address '%.200s' %s.",
			     t->id, bb_target_kind_name(t->kind), t->addr, why);
		return -1;
	}
	if (t->dlq && (!*t->dlq || !plain_name(t->dlq))) {
		eb_error_set(
			err, "ValidationException",
			"Target %s: the dead-letter queue '%.200s' is a queue name of letters, "
			"digits, '.', '-' and '_'.",
			t->id, t->dlq);
		return -1;
	}
	/* EventBridge's dead letters are standard queues: it refuses a FIFO one */
	if (t->dlq && strlen(t->dlq) > 5 && !strcmp(t->dlq + strlen(t->dlq) - 5, ".fifo")) {
		eb_error_set(err, "ValidationException",
			     "SQS FIFO is not supported by Dead Letter Queues.");
		return -1;
	}
	/*
	 * A FIFO queue or topic target's group: for events without one of their
	 * own (datagrams may carry theirs; PutTargets insists on it, as EventBridge)
	 */
	if (t->message_group_id &&
	    (!bb_target_is_fifo(t) || !*t->message_group_id || strlen(t->message_group_id) > 128)) {
		eb_error_set(err, "ValidationException",
			     "Target %s: SqsParameters.MessageGroupId (1 to 128 characters) is "
			     "for FIFO queue and FIFO topic targets only.",
			     t->id);
		return -1;
	}
	if (t->retry_attempts < 0 || t->retry_attempts > BB_RETRY_ATTEMPTS_MAX) {
		eb_error_set(err, "ValidationException",
			     "Target %s: MaximumRetryAttempts must be from 0 to %d.", t->id,
			     BB_RETRY_ATTEMPTS_MAX);
		return -1;
	}
	if (t->max_event_age_s < BB_EVENT_AGE_MIN || t->max_event_age_s > BB_EVENT_AGE_MAX) {
		eb_error_set(err, "ValidationException",
			     "Target %s: MaximumEventAgeInSeconds must be from %d to %d.", t->id,
			     BB_EVENT_AGE_MIN, BB_EVENT_AGE_MAX);
		return -1;
	}
	if (bb_target_input(t, &in, err))
		return -1;
	eb_input_free(in);
	return 0;
}

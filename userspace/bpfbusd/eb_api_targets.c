// SPDX-License-Identifier: BSD-2-Clause
/*
 * EventBridge target actions (eb_api.h): PutTargets, RemoveTargets,
 * ListTargetsByRule. A target's Arn says its kind: an SQS queue ARN, an SNS
 * topic ARN, an event-bus ARN, and (bpfbus's own) an http(s):// URL or
 * udp://HOST:PORT.
 */
#include "eb_api.h"
#include "eb_event.h"
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PUT_TARGETS_MAX 10
#define REMOVE_TARGETS_MAX 100

/* The last ':'-separated part of "arn:aws:SERVICE:REGION:ACCOUNT:NAME", or NULL. */
static const char *arn_name(const char *arn, const char *service)
{
	char prefix[32];
	const char *p;
	int colons = 0;

	snprintf(prefix, sizeof(prefix), "arn:aws:%s:", service);
	if (strncmp(arn, prefix, strlen(prefix)))
		return NULL;
	for (p = arn; *p; p++)
		colons += *p == ':';
	p = strrchr(arn, ':') + 1;
	return colons == 5 && *p ? p : NULL;
}

/* Kind and address of a target Arn; -1 when bpfbus serves no such target. */
static int parse_arn(const char *arn, int *kind, const char **addr)
{
	const char *p;

	if ((p = arn_name(arn, "sqs"))) {
		*kind = BB_TARGET_QUEUE;
		*addr = p;
	} else if ((p = arn_name(arn, "sns"))) {
		*kind = BB_TARGET_TOPIC;
		*addr = p;
	} else if ((p = eb_bus_name_of(arn)) && p != arn) {
		*kind = BB_TARGET_BUS;
		*addr = p;
	} else if (!strncmp(arn, "http://", 7) || !strncmp(arn, "https://", 8)) {
		*kind = BB_TARGET_HTTP;
		*addr = arn;
	} else if (!strncmp(arn, "udp://", 6)) {
		*kind = BB_TARGET_UDP;
		*addr = arn + 6;
	} else {
		return -1;
	}
	return 0;
}

/* A string member of @o into *@out (copied); -1 with SerializationException. */
static int member_str(struct eb_call *c, const struct json_value *o, const char *where,
		      const char *key, char **out)
{
	const struct json_value *v = json_get(o, key);

	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_STRING || memchr(v->u.str.s, 0, v->u.str.len))
		return eb_fail(c, "SerializationException", "%s.%s must be a string", where, key);
	*out = xstrndup(v->u.str.s, v->u.str.len);
	return 0;
}

/* An integer member of @o (absent: *@out unchanged); -1 with the error. */
static int member_int(struct eb_call *c, const struct json_value *o, const char *where,
		      const char *key, int *out)
{
	const struct json_value *v = json_get(o, key);

	if (!v || v->type == JSON_NULL)
		return 0;
	if (v->type != JSON_NUMBER || !v->u.num.is_int || v->u.num.d < -1e9 || v->u.num.d > 1e9)
		return eb_fail(c, "SerializationException", "%s.%s must be an integer", where, key);
	*out = (int)v->u.num.d;
	return 0;
}

/*
 * One PutTargets Target into @t. -1 with a whole-call error (types, input,
 * RetryPolicy ranges); 1 when only this entry fails (@why); 0 when fine.
 */
static int target_from_request(struct eb_call *c, const struct json_value *o, size_t i,
			       struct bb_target *t, char *why, size_t cap)
{
	const struct json_value *rp = json_get(o, "RetryPolicy");
	const struct json_value *dl = json_get(o, "DeadLetterConfig");
	const struct json_value *tr = json_get(o, "InputTransformer");
	const struct json_value *sqsp = json_get(o, "SqsParameters");
	char where[32], *arn = NULL, *dlq_arn = NULL;
	const char *addr;
	int rc = -1;

	snprintf(where, sizeof(where), "Targets.%zu", i + 1);
	bb_target_init(t);
	if (!o || o->type != JSON_OBJECT)
		return eb_fail(c, "SerializationException", "%s must be an object", where);
	if (member_str(c, o, where, "Id", &t->id) || member_str(c, o, where, "Arn", &arn) ||
	    member_str(c, o, where, "Input", &t->input) ||
	    member_str(c, o, where, "InputPath", &t->input_path) ||
	    (rp && member_int(c, rp, where, "MaximumRetryAttempts", &t->retry_attempts)) ||
	    (rp && member_int(c, rp, where, "MaximumEventAgeInSeconds", &t->max_event_age_s)) ||
	    (dl && member_str(c, dl, where, "Arn", &dlq_arn)) ||
	    (sqsp && member_str(c, sqsp, where, "MessageGroupId", &t->message_group_id)))
		goto out;
	if (!t->id || !arn) {
		eb_fail(c, "ValidationException",
			"1 validation error detected: Value null at '%s.member.%s' failed to "
			"satisfy constraint: Member must not be null",
			where, t->id ? "arn" : "id");
		goto out;
	}
	if (tr && tr->type != JSON_NULL) {
		struct strbuf sb = STRBUF_INIT;

		if (tr->type != JSON_OBJECT) {
			eb_fail(c, "SerializationException",
				"%s.InputTransformer must be an object", where);
			goto out;
		}
		json_write(&sb, tr);
		t->input_transformer = sb.buf;
	}
	if (parse_arn(arn, &t->kind, &addr)) {
		snprintf(why, cap,
			 "Target %s: Arn '%.200s' is no SQS queue, SNS topic or event bus ARN, "
			 "http(s):// URL or udp://HOST:PORT.",
			 t->id, arn);
		rc = 1;
		goto out;
	}
	t->addr = xstrndup(addr, strlen(addr));
	if (dlq_arn) {
		const char *q = arn_name(dlq_arn, "sqs");

		if (!q) {
			eb_fail(c, "ValidationException",
				"Target %s: DeadLetterConfig.Arn '%.200s' is not an SQS queue ARN.",
				t->id, dlq_arn);
			goto out;
		}
		t->dlq = xstrndup(q, strlen(q));
	}
	if (bb_target_is_fifo(t) && !t->message_group_id) { /* a FIFO queue or topic */
		eb_fail(c, "ValidationException",
			"Parameter(s) SqsParameters must be specified for target: %s.", t->id);
		goto out;
	}
	if (bb_target_check(t, &c->err)) {
		c->status = 400;
		goto out;
	}
	rc = 0;
	if (bbd_check_target(c->d, t, &c->err)) { /* what this daemon cannot deliver */
		snprintf(why, cap, "%s", c->err.message);
		rc = 1;
	}
out:
	free(arn);
	free(dlq_arn);
	if (rc < 0)
		bb_target_free(t);
	return rc;
}

static struct bb_target *find_target(struct bb_rule *r, const char *id)
{
	for (int i = 0; i < r->n_targets; i++)
		if (!strcmp(r->targets[i].id, id))
			return &r->targets[i];
	return NULL;
}

static void failed_entry(struct strbuf *sb, const char *id, const char *code, const char *msg)
{
	sb_addc(sb, sb->len ? ',' : '[');
	sb_addc(sb, '{');
	eb_put_str(sb, "TargetId", id, true);
	eb_put_str(sb, "ErrorCode", code, false);
	eb_put_str(sb, "ErrorMessage", msg, false);
	sb_addc(sb, '}');
}

static void failed_entries_out(struct eb_call *c, struct strbuf *failed, size_t n)
{
	sb_printf(c->out, "{\"FailedEntryCount\":%zu,\"FailedEntries\":", n);
	sb_add(c->out, failed->len ? failed->buf : "[", failed->len ? failed->len : 1);
	sb_adds(c->out, "]}");
}

int eb_put_targets(struct eb_call *c)
{
	struct bb_mbus *b;
	struct bb_rule *r = eb_req_rule(c, "Rule", &b);
	const struct json_value *jt = json_get(c->req, "Targets");
	struct bb_target ts[PUT_TARGETS_MAX];
	bool ok[PUT_TARGETS_MAX];
	struct strbuf failed = STRBUF_INIT, snap = STRBUF_INIT;
	size_t n = 0, n_failed = 0;
	int rc = -1, total;
	char why[1200];

	if (!r)
		return -1;
	if (!jt || jt->type != JSON_ARRAY || !jt->u.arr.n || jt->u.arr.n > PUT_TARGETS_MAX)
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value at 'targets' failed to satisfy "
			       "constraint: Member must have length between 1 and %d",
			       PUT_TARGETS_MAX);
	for (; n < jt->u.arr.n; n++) {
		int e = target_from_request(c, jt->u.arr.items[n], n, &ts[n], why, sizeof(why));

		if (e < 0)
			goto out;
		ok[n] = !e;
		if (e) {
			failed_entry(&failed, ts[n].id, "ValidationException", why);
			n_failed++;
		}
		for (size_t j = 0; j < n; j++)
			if (!strcmp(ts[j].id, ts[n].id)) {
				eb_fail(c, "ValidationException", "Target id %s appears twice.",
					ts[n].id);
				n++;
				goto out;
			}
	}
	total = r->n_targets;
	for (size_t i = 0; i < n; i++)
		total += ok[i] && !find_target(r, ts[i].id);
	if (total > BB_MAX_TARGETS) {
		eb_fail(c, "LimitExceededException",
			"The requested resource exceeds the maximum number allowed.");
		goto out;
	}
	bb_model_to_json(&c->d->model, &snap);
	for (size_t i = 0; i < n; i++) {
		struct bb_target *old;

		if (!ok[i])
			continue;
		old = find_target(r, ts[i].id);
		if (old)
			bb_target_free(old);
		else
			old = &r->targets[r->n_targets++];
		*old = ts[i];
		bb_target_init(&ts[i]); /* now the rule's */
	}
	if (eb_commit(c, &snap) == 0) {
		failed_entries_out(c, &failed, n_failed);
		rc = 0;
	}
out:
	for (size_t i = 0; i < n; i++)
		bb_target_free(&ts[i]);
	sb_free(&failed);
	sb_free(&snap);
	return rc;
}

int eb_remove_targets(struct eb_call *c)
{
	struct bb_mbus *b;
	struct bb_rule *r = eb_req_rule(c, "Rule", &b);
	const struct json_value *ids = json_get(c->req, "Ids");
	struct strbuf snap = STRBUF_INIT, none = STRBUF_INIT;

	if (!r)
		return -1;
	if (!ids || ids->type != JSON_ARRAY || !ids->u.arr.n || ids->u.arr.n > REMOVE_TARGETS_MAX)
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value at 'ids' failed to satisfy "
			       "constraint: Member must have length between 1 and %d",
			       REMOVE_TARGETS_MAX);
	for (size_t i = 0; i < ids->u.arr.n; i++)
		if (ids->u.arr.items[i]->type != JSON_STRING)
			return eb_fail(c, "SerializationException", "Ids.%zu must be a string",
				       i + 1);
	bb_model_to_json(&c->d->model, &snap);
	/* ids the rule does not have are removed already: EventBridge answers success */
	for (size_t i = 0; i < ids->u.arr.n; i++) {
		struct bb_target *t = find_target(r, ids->u.arr.items[i]->u.str.s);

		if (!t)
			continue;
		bb_target_free(t);
		memmove(t, t + 1, (size_t)(r->targets + r->n_targets - t - 1) * sizeof(*t));
		r->n_targets--;
	}
	if (eb_commit(c, &snap))
		return -1;
	failed_entries_out(c, &none, 0);
	return 0;
}

static void target_json(struct eb_call *c, const void *item, const void *ctx)
{
	const struct bb_target *t = item;
	char arn[BB_TARGET_ADDR_MAX + 128];

	(void)ctx;
	bbd_target_arn(c->d, t, arn, sizeof(arn));
	sb_addc(c->out, '{');
	eb_put_str(c->out, "Id", t->id, true);
	eb_put_str(c->out, "Arn", arn, false);
	if (t->input)
		eb_put_str(c->out, "Input", t->input, false);
	if (t->input_path)
		eb_put_str(c->out, "InputPath", t->input_path, false);
	if (t->input_transformer)
		sb_printf(c->out, ",\"InputTransformer\":%s", t->input_transformer);
	sb_printf(c->out,
		  ",\"RetryPolicy\":{\"MaximumRetryAttempts\":%d,\"MaximumEventAgeInSeconds\":%d}",
		  t->retry_attempts, t->max_event_age_s);
	if (t->message_group_id) {
		sb_adds(c->out, ",\"SqsParameters\":{");
		eb_put_str(c->out, "MessageGroupId", t->message_group_id, true);
		sb_addc(c->out, '}');
	}
	if (t->dlq) {
		queue_arn(c->d->store, t->dlq, arn, sizeof(arn));
		sb_adds(c->out, ",\"DeadLetterConfig\":{");
		eb_put_str(c->out, "Arn", arn, true);
		sb_addc(c->out, '}');
	}
	sb_addc(c->out, '}');
}

int eb_list_targets_by_rule(struct eb_call *c)
{
	struct bb_mbus *b;
	struct bb_rule *r = eb_req_rule(c, "Rule", &b);
	const void *sel[BB_MAX_TARGETS];

	if (!r)
		return -1;
	for (int i = 0; i < r->n_targets; i++)
		sel[i] = &r->targets[i];
	return eb_list_page(c, "Targets", sel, (size_t)r->n_targets, target_json, NULL);
}

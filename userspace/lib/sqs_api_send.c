// SPDX-License-Identifier: BSD-2-Clause
/* SQS SendMessage and SendMessageBatch (sqs_api.h). */
#include "sqs_api_int.h"
#include "queue_int.h" /* qbatch_check: batch-level checks before entries are dropped */

#include <stdio.h>
#include <string.h>

/* An entry-level problem: the request goes on, this entry fails. */
static int entry_err(struct queue_result *r, const char *fmt, const char *name, const char *type)
{
	r->code = QE_INVALID_PARAMETER_VALUE;
	snprintf(r->message, sizeof(r->message), fmt, name, type);
	return 1;
}

/*
 * MessageAttributes: {"name": {"DataType", "StringValue" | "BinaryValue"}}.
 * Returns -1 for a malformed request (c->err), 1 for a bad attribute (@r), 0.
 */
static int get_msg_attrs(struct sqs_call *c, const struct json_value *o, struct queue_send_entry *e,
			 struct queue_result *r)
{
	const struct json_value *map;
	struct queue_msg_attr *a;

	if (sqs_get_object(c, o, "MessageAttributes", &map))
		return -1;
	if (!map || !map->u.obj.n)
		return 0;
	a = sqs_keep(c, xcalloc(map->u.obj.n, sizeof(*a)));
	for (size_t i = 0; i < map->u.obj.n; i++) {
		const struct json_member *m = &map->u.obj.members[i];
		const char *type, *sval, *bval;
		unsigned char *bin;
		long blen;

		if (m->value->type != JSON_OBJECT || memchr(m->key, '\0', m->key_len))
			return sqs_fail(
				c, QE_INVALID_PARAMETER_VALUE,
				"Value for parameter MessageAttributes is invalid. Reason: "
				"each attribute must be an object with DataType and a value.");
		if (sqs_get_string(c, m->value, "DataType", false, &type) ||
		    sqs_get_string(c, m->value, "StringValue", false, &sval) ||
		    sqs_get_string(c, m->value, "BinaryValue", false, &bval))
			return -1;
		a[i].name = m->key;
		a[i].type = type;
		if (!type || !*type)
			return entry_err(
				r,
				"The message attribute '%s' must contain non-empty message "
				"attribute type.%s",
				m->key, "");
		if (!strncmp(type, "Binary", 6)) {
			if (!bval || !*bval)
				return entry_err(
					r,
					"The message attribute '%s' with type '%s' must use "
					"field 'Binary'.",
					m->key, type);
			blen = sqs_base64_decode(c, bval, &bin);
			if (blen < 0)
				return entry_err(r,
						 "The message attribute '%s' of type '%s' has a "
						 "BinaryValue that is not valid base64.",
						 m->key, type);
			a[i].value = bin;
			a[i].len = (size_t)blen;
		} else {
			if (!sval || !*sval)
				return entry_err(
					r,
					"The message attribute '%s' with type '%s' must use "
					"field 'String'.",
					m->key, type);
			a[i].value = sval;
			a[i].len = strlen(sval);
		}
	}
	e->attrs = a;
	e->nattrs = map->u.obj.n;
	return 0;
}

/*
 * MessageSystemAttributes: SQS knows only AWSTraceHeader, a String. It is
 * accepted and not stored (docs/api.md).
 */
static int check_system_attrs(struct sqs_call *c, const struct json_value *o,
			      struct queue_result *r)
{
	const struct json_value *map;

	if (sqs_get_object(c, o, "MessageSystemAttributes", &map))
		return -1;
	for (size_t i = 0; map && i < map->u.obj.n; i++)
		if (strcmp(map->u.obj.members[i].key, "AWSTraceHeader"))
			return entry_err(r, "Message system attribute name '%s' is invalid.%s",
					 map->u.obj.members[i].key, "");
	return 0;
}

/* One SendMessage request or batch entry: -1 request error, 1 entry error, 0. */
static int get_send_entry(struct sqs_call *c, const struct json_value *o,
			  struct queue_send_entry *e, struct queue_result *r)
{
	bool has_delay;
	int rc;

	memset(e, 0, sizeof(*e));
	e->delay_seconds = QUEUE_DELAY_UNSET;
	if (sqs_get_bytes(c, o, "MessageBody", &e->body, &e->body_len) ||
	    sqs_get_int(c, o, "DelaySeconds", &e->delay_seconds, &has_delay) ||
	    sqs_get_string(c, o, "MessageGroupId", false, &e->group_id) ||
	    sqs_get_string(c, o, "MessageDeduplicationId", false, &e->dedup_id))
		return -1;
	if (!has_delay)
		e->delay_seconds = QUEUE_DELAY_UNSET;
	rc = get_msg_attrs(c, o, e, r);
	return rc ? rc : check_system_attrs(c, o, r);
}

static void put_send_result(struct strbuf *sb, const struct queue_send_result *s)
{
	sj_str(sb, "MD5OfMessageBody", s->md5_body);
	if (*s->md5_attrs)
		sj_str(sb, "MD5OfMessageAttributes", s->md5_attrs);
	sj_str(sb, "MessageId", s->message_id);
	if (*s->sequence_number)
		sj_str(sb, "SequenceNumber", s->sequence_number);
}

int sqs_send_message(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_send_entry e;
	struct queue_send_result s;
	struct queue_result r;
	int rc;

	if (sqs_get_queue(c, name))
		return -1;
	rc = get_send_entry(c, c->req, &e, &r);
	if (rc < 0)
		return -1;
	if (rc > 0)
		return sqs_fail_result(c, &r);
	if (!e.body)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter MessageBody.");
	if (queue_send(c->api->st, name, &e, &s, &r))
		return sqs_fail_result(c, &r);
	sqs_note_woken(c, name);
	sj_open(&c->out, NULL, '{');
	put_send_result(&c->out, &s);
	sj_close(&c->out, '}');
	return 0;
}

int sqs_send_message_batch(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct json_value **items;
	struct queue_send_entry *e, *ok;
	struct queue_send_result *res;
	struct queue_result *bad, r;
	size_t n, nok = 0;
	size_t *ok_index;
	bool any_ok = false;

	if (sqs_get_queue(c, name) || sqs_get_object_list(c, c->req, "Entries", &items, &n))
		return -1;
	e = sqs_keep(c, xcalloc(n, sizeof(*e)));
	ok = sqs_keep(c, xcalloc(n, sizeof(*ok)));
	ok_index = sqs_keep(c, xcalloc(n, sizeof(*ok_index)));
	bad = sqs_keep(c, xcalloc(n, sizeof(*bad)));
	res = sqs_keep(c, xcalloc(n, sizeof(*res)));
	for (size_t i = 0; i < n; i++) {
		int rc = get_send_entry(c, items[i], &e[i], &bad[i]);

		if (rc < 0 || sqs_get_string(c, items[i], "Id", false, &e[i].id))
			return -1;
		if (rc == 0) {
			ok_index[nok] = i;
			ok[nok++] = e[i];
		}
	}
	/* Count, ids and total size concern every entry, the malformed ones too. */
	if (qbatch_check(e, n, sizeof(*e), offsetof(struct queue_send_entry, id),
			 "SendMessageBatchRequestEntry", &r))
		return sqs_fail_result(c, &r);
	if (queue_lookup(c->api->st, name, &r))
		return sqs_fail_result(c, &r);
	if (nok && queue_send_batch(c->api->st, name, ok, nok, res, &r))
		return sqs_fail_result(c, &r);
	for (size_t j = 0; j < nok; j++)
		bad[ok_index[j]] = res[j].err;
	sj_open(&c->out, NULL, '{');
	sj_open(&c->out, "Successful", '[');
	for (size_t j = 0; j < nok; j++) {
		if (res[j].err.code != QE_OK)
			continue;
		any_ok = true;
		sj_open(&c->out, NULL, '{');
		sj_str(&c->out, "Id", ok[j].id);
		put_send_result(&c->out, &res[j]);
		sj_close(&c->out, '}');
	}
	sj_close(&c->out, ']');
	sj_open(&c->out, "Failed", '[');
	for (size_t i = 0; i < n; i++)
		if (bad[i].code != QE_OK)
			sj_batch_failure(&c->out, e[i].id, &bad[i]);
	sj_close(&c->out, ']');
	sj_close(&c->out, '}');
	if (any_ok)
		sqs_note_woken(c, name);
	return 0;
}

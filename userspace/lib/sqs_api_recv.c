// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQS ReceiveMessage (with the long-poll decision, sqs_api.h), DeleteMessage,
 * ChangeMessageVisibility and their batches.
 */
#include "sqs_api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* System attributes a receive can ask for, in the order they are returned. */
static const char *const sys_attrs[] = {
	"SenderId",
	"SentTimestamp",
	"ApproximateReceiveCount",
	"ApproximateFirstReceiveTimestamp",
	"SequenceNumber",
	"MessageDeduplicationId",
	"MessageGroupId",
	"DeadLetterQueueSourceArn",
	"AWSTraceHeader", /* never stored, so never returned */
};
#define NSYS (sizeof(sys_attrs) / sizeof(sys_attrs[0]))

/* Add the names of @list to the set @want; unknown names are InvalidAttributeName. */
static int want_sys_attrs(struct sqs_call *c, const char *member, bool *want)
{
	const char **names;
	size_t n;

	if (sqs_get_string_list(c, c->req, member, &names, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (!strcmp(names[i], "All")) {
			for (j = 0; j < NSYS; j++)
				want[j] = true;
			continue;
		}
		for (j = 0; j < NSYS && strcmp(names[i], sys_attrs[j]); j++)
			;
		if (j == NSYS)
			return sqs_fail(c, QE_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.",
					names[i]);
		want[j] = true;
	}
	return 0;
}

/* The value of system attribute @i of @m, or NULL when the message has none. */
static const char *sys_value(const struct queue_message *m, size_t i, char *buf, size_t cap)
{
	switch (i) {
	case 0:
		return m->sender_id;
	case 1:
		snprintf(buf, cap, "%lld", (long long)m->sent_timestamp);
		return buf;
	case 2:
		snprintf(buf, cap, "%u", m->receive_count);
		return buf;
	case 3:
		snprintf(buf, cap, "%lld", (long long)m->first_receive_timestamp);
		return buf;
	case 4:
		return *m->sequence_number ? m->sequence_number : NULL;
	case 5:
		return m->dedup_id;
	case 6:
		return m->group_id;
	case 7:
		return m->dead_letter_source_arn;
	default:
		return NULL;
	}
}

static void put_message(struct strbuf *sb, const struct queue_message *m, const bool *want)
{
	char buf[32];
	bool open = false;

	sj_open(sb, NULL, '{');
	sj_str(sb, "MessageId", m->message_id);
	sj_str(sb, "ReceiptHandle", m->receipt_handle);
	sj_str(sb, "MD5OfBody", m->md5_body);
	sj_strn(sb, "Body", m->body, m->body_len);
	for (size_t i = 0; i < NSYS; i++) {
		const char *v = want[i] ? sys_value(m, i, buf, sizeof(buf)) : NULL;

		if (!v)
			continue;
		if (!open)
			sj_open(sb, "Attributes", '{');
		open = true;
		sj_str(sb, sys_attrs[i], v);
	}
	if (open)
		sj_close(sb, '}');
	if (m->nattrs) {
		sj_str(sb, "MD5OfMessageAttributes", m->md5_attrs);
		sj_open(sb, "MessageAttributes", '{');
		for (size_t i = 0; i < m->nattrs; i++) {
			const struct queue_msg_attr *a = &m->attrs[i];

			sj_open(sb, a->name, '{');
			if (!strncmp(a->type, "Binary", 6)) {
				sj_key(sb, "BinaryValue");
				sb_addc(sb, '"');
				sqs_base64_encode(sb, a->value, a->len);
				sb_addc(sb, '"');
			} else {
				sj_strn(sb, "StringValue", a->value, a->len);
			}
			sj_str(sb, "DataType", a->type);
			sj_close(sb, '}');
		}
		sj_close(sb, '}');
	}
	sj_close(sb, '}');
}

/* The queue's ReceiveMessageWaitTimeSeconds. */
static int queue_wait_seconds(struct sqs_call *c, const char *name, int *out)
{
	const char *attr = "ReceiveMessageWaitTimeSeconds";
	struct queue_kv_list l;
	struct queue_result r;

	if (queue_get_attributes(c->api->st, name, &attr, 1, &l, &r))
		return sqs_fail_result(c, &r);
	*out = l.n ? atoi(l.v[0].value) : 0;
	queue_kv_list_free(&l);
	return 0;
}

int sqs_receive_message(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	bool want[NSYS] = { false };
	struct queue_receive_req req = { 0 };
	struct queue_received got;
	struct queue_result r;
	bool has_max, has_vt, has_wait;
	int max = 1, wait = 0;

	if (sqs_get_queue(c, name) || want_sys_attrs(c, "AttributeNames", want) ||
	    want_sys_attrs(c, "MessageSystemAttributeNames", want) ||
	    sqs_get_string_list(c, c->req, "MessageAttributeNames", (const char ***)&req.attr_names,
				&req.nattr_names) ||
	    sqs_get_int(c, c->req, "MaxNumberOfMessages", &max, &has_max) ||
	    sqs_get_int(c, c->req, "VisibilityTimeout", &req.visibility_timeout, &has_vt) ||
	    sqs_get_int(c, c->req, "WaitTimeSeconds", &wait, &has_wait) ||
	    sqs_get_string(c, c->req, "ReceiveRequestAttemptId", false, &req.attempt_id))
		return -1;
	if (has_max && (max < 1 || max > 10))
		return sqs_fail(
			c, QE_INVALID_PARAMETER_VALUE,
			"Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must "
			"be between 1 and 10, if provided.",
			max);
	if (has_wait && (wait < 0 || wait > 20))
		return sqs_fail(
			c, QE_INVALID_PARAMETER_VALUE,
			"Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be "
			">= 0 and <= 20, if provided.",
			wait);
	req.max_messages = max;
	if (!has_vt)
		req.visibility_timeout = QUEUE_VISIBILITY_UNSET;
	if (queue_receive(c->api->st, name, &req, &got, &r))
		return sqs_fail_result(c, &r);
	if (!got.n && c->poll && !c->poll->no_wait) {
		if (!has_wait && queue_wait_seconds(c, name, &wait)) {
			queue_received_free(&got);
			return -1;
		}
		if (wait > 0) {
			c->poll->wait = true;
			c->poll->wait_seconds = wait;
			c->poll->next_visible_ms = got.next_visible_ms;
			snprintf(c->poll->queue, sizeof(c->poll->queue), "%s", name);
			queue_received_free(&got);
			return 0;
		}
	}
	sj_open(&c->out, NULL, '{');
	if (got.n) {
		sj_open(&c->out, "Messages", '[');
		for (size_t i = 0; i < got.n; i++)
			put_message(&c->out, &got.msgs[i], want);
		sj_close(&c->out, ']');
	}
	sj_close(&c->out, '}');
	queue_received_free(&got);
	return 0;
}

/* ------------------------------------------------------------ receipt handles */

int sqs_delete_message(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;
	const char *handle;

	if (sqs_get_queue(c, name) || sqs_get_string(c, c->req, "ReceiptHandle", true, &handle))
		return -1;
	if (queue_delete_message(c->api->st, name, handle, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

int sqs_change_message_visibility(struct sqs_call *c)
{
	char name[SQS_NAME_CAP];
	struct queue_result r;
	const char *handle;
	bool has_vt;
	int vt;

	if (sqs_get_queue(c, name) || sqs_get_string(c, c->req, "ReceiptHandle", true, &handle) ||
	    sqs_get_int(c, c->req, "VisibilityTimeout", &vt, &has_vt))
		return -1;
	if (!has_vt)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter VisibilityTimeout.");
	if (queue_change_visibility(c->api->st, name, handle, vt, &r))
		return sqs_fail_result(c, &r);
	if (vt == 0)
		sqs_note_woken(c, name);
	return 0;
}

/* DeleteMessageBatch and ChangeMessageVisibilityBatch. */
static int handle_batch(struct sqs_call *c, bool change)
{
	char name[SQS_NAME_CAP];
	struct json_value **items;
	struct queue_handle_entry *e;
	struct queue_result r;
	bool wake = false;
	size_t n;
	int rc;

	if (sqs_get_queue(c, name) || sqs_get_object_list(c, c->req, "Entries", &items, &n))
		return -1;
	e = sqs_keep(c, xcalloc(n, sizeof(*e)));
	for (size_t i = 0; i < n; i++) {
		bool has_vt = false;

		if (sqs_get_string(c, items[i], "Id", false, &e[i].id) ||
		    sqs_get_string(c, items[i], "ReceiptHandle", false, &e[i].receipt_handle) ||
		    (change && sqs_get_int(c, items[i], "VisibilityTimeout",
					   &e[i].visibility_timeout, &has_vt)))
			return -1;
		/* The timeout is optional in a batch entry (SQS's model): absent is 0. */
		if (change && !has_vt)
			e[i].visibility_timeout = 0;
		wake |= change && e[i].visibility_timeout == 0;
	}
	rc = change ? queue_change_visibility_batch(c->api->st, name, e, n, &r)
		    : queue_delete_message_batch(c->api->st, name, e, n, &r);
	if (rc)
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	sj_open(&c->out, "Successful", '[');
	for (size_t i = 0; i < n; i++) {
		if (e[i].err.code != QE_OK)
			continue;
		sj_open(&c->out, NULL, '{');
		sj_str(&c->out, "Id", e[i].id);
		sj_close(&c->out, '}');
	}
	sj_close(&c->out, ']');
	sj_open(&c->out, "Failed", '[');
	for (size_t i = 0; i < n; i++)
		if (e[i].err.code != QE_OK)
			sj_batch_failure(&c->out, e[i].id, &e[i].err);
	sj_close(&c->out, ']');
	sj_close(&c->out, '}');
	if (wake)
		sqs_note_woken(c, name);
	return 0;
}

int sqs_delete_message_batch(struct sqs_call *c)
{
	return handle_batch(c, false);
}

int sqs_change_message_visibility_batch(struct sqs_call *c)
{
	return handle_batch(c, true);
}

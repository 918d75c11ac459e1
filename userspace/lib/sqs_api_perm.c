// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQS AddPermission and RemovePermission (sqs_api.h). As in SQS they edit
 * the queue's Policy attribute: one statement per label (its "Sid"), granting
 * the listed accounts the listed actions on the queue. The policy is stored,
 * not enforced (docs/api.md).
 */
#include "sqs_api_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static const char *const grantable[] = {
	"*",
	"SendMessage",
	"ReceiveMessage",
	"DeleteMessage",
	"ChangeMessageVisibility",
	"GetQueueAttributes",
	"GetQueueUrl",
	"ListDeadLetterSourceQueues",
	"PurgeQueue",
	"ListQueueTags",
};

static bool label_valid(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 80)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

static bool account_valid(const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return n == 12;
}

static bool action_valid(const char *s)
{
	for (size_t i = 0; i < sizeof(grantable) / sizeof(grantable[0]); i++)
		if (!strcmp(s, grantable[i]))
			return true;
	return false;
}

/* The queue's Policy document; *doc NULL when it has none. */
static int load_policy(struct sqs_call *c, const char *name, struct json_doc **doc)
{
	const char *attr = "Policy";
	struct queue_kv_list l;
	struct queue_result r;

	*doc = NULL;
	if (queue_get_attributes(c->api->st, name, &attr, 1, &l, &r))
		return sqs_fail_result(c, &r);
	if (l.n && *l.v[0].value)
		*doc = json_parse(l.v[0].value, strlen(l.v[0].value), true);
	queue_kv_list_free(&l);
	if (*doc && (json_doc_error(*doc) || json_doc_root(*doc)->type != JSON_OBJECT)) {
		json_doc_free(*doc);
		*doc = NULL;
		return sqs_fail(c, QE_INTERNAL_ERROR,
				"The stored Policy of queue %s is not a "
				"JSON object.",
				name);
	}
	return 0;
}

/* The statements of @policy as an array of items (a single object counts as one). */
static void statements(const struct json_value *policy, struct json_value ***items, size_t *n)
{
	struct json_value *st = policy ? json_get(policy, "Statement") : NULL;

	*items = NULL;
	*n = 0;
	if (st && st->type == JSON_ARRAY) {
		*items = st->u.arr.items;
		*n = st->u.arr.n;
	} else if (st && st->type == JSON_OBJECT) {
		for (size_t i = 0; i < policy->u.obj.n; i++)
			if (policy->u.obj.members[i].value == st) {
				*items = &policy->u.obj.members[i].value;
				*n = 1;
			}
	}
}

static bool has_sid(const struct json_value *stmt, const char *label)
{
	const struct json_value *sid = json_get(stmt, "Sid");

	return sid && sid->type == JSON_STRING && sid->u.str.len == strlen(label) &&
	       !memcmp(sid->u.str.s, label, sid->u.str.len);
}

/*
 * Write @policy back with its statements except @drop_label's, plus
 * @add (a serialised statement) when given. Empty: no statements remain.
 */
static void rebuild(struct sqs_call *c, const char *name, const struct json_value *policy,
		    const char *drop_label, const char *add, struct strbuf *sb)
{
	struct json_value **items;
	size_t n, kept = 0;
	char arn[256];

	statements(policy, &items, &n);
	sb_addc(sb, '{');
	if (policy) {
		for (size_t i = 0; i < policy->u.obj.n; i++) {
			const struct json_member *m = &policy->u.obj.members[i];

			if (m->key_len == 9 && !memcmp(m->key, "Statement", 9))
				continue;
			sj_key(sb, NULL);
			json_write_string(sb, m->key, m->key_len);
			sb_addc(sb, ':');
			json_write(sb, m->value);
		}
	} else {
		queue_arn(c->api->st, name, arn, sizeof(arn));
		sj_str(sb, "Version", "2012-10-17");
		sj_key(sb, "Id");
		sb_printf(sb, "\"%s/SQSDefaultPolicy\"", arn);
	}
	sj_open(sb, "Statement", '[');
	for (size_t i = 0; i < n; i++) {
		if (drop_label && has_sid(items[i], drop_label))
			continue;
		sj_key(sb, NULL);
		json_write(sb, items[i]);
		kept++;
	}
	if (add) {
		sj_key(sb, NULL);
		sb_adds(sb, add);
		kept++;
	}
	sj_close(sb, ']');
	sj_close(sb, '}');
	if (!kept)
		sb_reset(sb);
}

static int store_policy(struct sqs_call *c, const char *name, const char *text)
{
	struct queue_kv kv = { "Policy", text };
	struct queue_result r;

	if (queue_set_attributes(c->api->st, name, &kv, 1, &r))
		return sqs_fail_result(c, &r);
	return 0;
}

/* SQS writes one value as a string, several as a list. */
static void one_or_list(struct strbuf *sb, const char *key, const char *fmt, const char *const *v,
			size_t n)
{
	if (n > 1)
		sj_open(sb, key, '[');
	for (size_t i = 0; i < n; i++) {
		sj_key(sb, n > 1 ? NULL : key);
		sb_addc(sb, '"');
		sb_printf(sb, fmt, v[i]);
		sb_addc(sb, '"');
	}
	if (n > 1)
		sj_close(sb, ']');
}

/* {"Sid", "Effect", "Principal": {"AWS": ...}, "Action": ..., "Resource"} */
static void statement(struct sqs_call *c, const char *name, const char *label,
		      const char *const *accounts, size_t na, const char *const *actions,
		      size_t nact, struct strbuf *sb)
{
	char arn[256];

	queue_arn(c->api->st, name, arn, sizeof(arn));
	sj_open(sb, NULL, '{');
	sj_str(sb, "Sid", label);
	sj_str(sb, "Effect", "Allow");
	sj_open(sb, "Principal", '{');
	one_or_list(sb, "AWS", "arn:aws:iam::%s:root", accounts, na);
	sj_close(sb, '}');
	one_or_list(sb, "Action", "SQS:%s", actions, nact);
	sj_str(sb, "Resource", arn);
	sj_close(sb, '}');
}

int sqs_add_permission(struct sqs_call *c)
{
	struct strbuf stmt = STRBUF_INIT, text = STRBUF_INIT;
	const char **accounts, **acts, *label;
	struct json_value **items;
	char name[SQS_NAME_CAP];
	struct json_doc *doc;
	size_t na, nact, n;
	int rc = -1;

	if (sqs_get_queue(c, name) || sqs_get_string(c, c->req, "Label", true, &label) ||
	    sqs_get_string_list(c, c->req, "AWSAccountIds", &accounts, &na) ||
	    sqs_get_string_list(c, c->req, "Actions", &acts, &nact))
		return -1;
	if (!label_valid(label))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value %s for parameter Label is invalid. Reason: Must be 1 to 80 "
				"characters of A-Za-z0-9_-.",
				label);
	if (!na)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter AWSAccountIds.");
	if (!nact)
		return sqs_fail(c, QE_MISSING_PARAMETER,
				"The request must contain the parameter Actions.");
	for (size_t i = 0; i < na; i++)
		if (!account_valid(accounts[i]))
			return sqs_fail(
				c, QE_INVALID_PARAMETER_VALUE,
				"Value %.64s for parameter AWSAccountId is invalid. Reason: "
				"An AWS account id is 12 digits.",
				accounts[i]);
	for (size_t i = 0; i < nact; i++)
		if (!action_valid(acts[i]))
			return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
					"Value SQS:%.64s for parameter ActionName is invalid. "
					"Reason: Only the queue actions SQS lets you share are "
					"valid.",
					acts[i]);
	if (load_policy(c, name, &doc))
		return -1;
	statements(doc ? json_doc_root(doc) : NULL, &items, &n);
	for (size_t i = 0; i < n; i++)
		if (has_sid(items[i], label)) {
			sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				 "Value %s for parameter Label is invalid. Reason: Already exists.",
				 label);
			goto out;
		}
	statement(c, name, label, accounts, na, acts, nact, &stmt);
	rebuild(c, name, doc ? json_doc_root(doc) : NULL, NULL, stmt.buf, &text);
	rc = store_policy(c, name, text.buf);
out:
	sb_free(&stmt);
	sb_free(&text);
	json_doc_free(doc);
	return rc;
}

int sqs_remove_permission(struct sqs_call *c)
{
	struct strbuf text = STRBUF_INIT;
	struct json_value **items;
	char name[SQS_NAME_CAP];
	struct json_doc *doc;
	const char *label;
	bool found = false;
	size_t n;
	int rc = -1;

	if (sqs_get_queue(c, name) || sqs_get_string(c, c->req, "Label", true, &label) ||
	    load_policy(c, name, &doc))
		return -1;
	statements(doc ? json_doc_root(doc) : NULL, &items, &n);
	for (size_t i = 0; i < n; i++)
		found |= has_sid(items[i], label);
	if (!found) {
		sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
			 "Value %s for parameter Label is invalid. Reason: can't find label on "
			 "existing policy.",
			 label);
		goto out;
	}
	rebuild(c, name, json_doc_root(doc), label, NULL, &text);
	rc = store_policy(c, name, text.buf ? text.buf : "");
out:
	sb_free(&text);
	json_doc_free(doc);
	return rc;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Topic and subscription attributes: which exist, which values SNS accepts,
 * and its error wording ("Invalid parameter: Attributes Reason: X" from
 * CreateTopic and Subscribe, "Invalid parameter: X" from the Set calls).
 */
#include "topic_int.h"
#include "json.h"
#include "ruleset.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool json_object(const char *s)
{
	struct json_doc *d = json_parse(s, strlen(s), true);
	const struct json_value *v = json_doc_root(d);
	bool ok = !json_doc_error(d) && v && v->type == JSON_OBJECT;

	json_doc_free(d);
	return ok;
}

static bool one_of(const char *v, const char *const *set)
{
	for (; *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

static const char *const bools[] = { "true", "false", NULL };

static int bad(struct topic_result *res, const char *prefix, const char *name, const char *why)
{
	return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: %s%s%s", prefix, name, why);
}

int ttopic_attr_apply(struct topic_store *ts, struct queue_kv_list *rec, const char *name,
		      const char *value, bool create, bool fifo, const char *prefix,
		      struct topic_result *res)
{
	static const char *const sig_versions[] = { "1", "2", NULL };
	static const char *const tracing[] = { "PassThrough", "Active", NULL };
	static const char *const scopes[] = { "Topic", "MessageGroup", NULL };
	static const char *const json_attrs[] = { "Policy", "DeliveryPolicy", "ArchivePolicy",
						  "DataProtectionPolicy", NULL };
	static const char *const fifo_only[] = { "ContentBasedDeduplication", "FifoThroughputScope",
						 "ArchivePolicy", NULL };

	(void)ts;
	if (!name || !value)
		return bad(res, prefix, "AttributeName", "");
	if (!strcmp(name, "FifoTopic")) {
		/* Only CreateTopic sets it, and it must agree with the name (checked there). */
		if (!create)
			return bad(res, prefix, "AttributeName", "");
		if (!one_of(value, bools))
			return bad(res, prefix, "FifoTopic", "");
		tkv_set(rec, "FifoTopic", !strcmp(value, "true") ? "true" : NULL);
		return 0;
	}
	if (one_of(name, fifo_only) && !fifo)
		return bad(res, prefix, name,
			   !strcmp(name, "ContentBasedDeduplication")
				   ? ": Content based deduplication can only be set for FIFO topics"
				   : ": This attribute can only be set for FIFO topics");
	if (!strcmp(name, "DisplayName")) {
		if (strlen(value) > 100)
			return bad(res, prefix, "DisplayName", "");
	} else if (!strcmp(name, "SignatureVersion")) {
		if (!one_of(value, sig_versions))
			return bad(res, prefix, "SignatureVersion", "");
	} else if (!strcmp(name, "TracingConfig")) {
		if (!one_of(value, tracing))
			return bad(res, prefix, "TracingConfig", "");
	} else if (!strcmp(name, "ContentBasedDeduplication")) {
		if (!one_of(value, bools))
			return bad(res, prefix, "ContentBasedDeduplication", "");
	} else if (!strcmp(name, "FifoThroughputScope")) {
		if (!one_of(value, scopes))
			return bad(res, prefix, "FifoThroughputScope", "");
	} else if (one_of(name, json_attrs)) {
		if (*value && !json_object(value))
			return bad(res, prefix, name, "");
	} else if (strcmp(name, "KmsMasterKeyId")) {
		return bad(res, prefix, "AttributeName", "");
	}
	tkv_set(rec, name, *value ? value : NULL);
	return 0;
}

/* ------------------------------------------------------------ subscriptions */

static bool is_http(const char *protocol)
{
	return !strcmp(protocol, "http") || !strcmp(protocol, "https");
}

static bool is_queue(const char *protocol)
{
	return !strcmp(protocol, "sqs") || !strcmp(protocol, "queue");
}

/* Compile @policy in @scope to check it; SNS's message on failure. */
static int check_policy(const char *policy, const char *scope, bool subscribe,
			struct topic_result *res)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_error err;
	enum bb_scope sc = scope && !strcmp(scope, "MessageBody") ? BB_SCOPE_MESSAGE_BODY
								  : BB_SCOPE_MESSAGE_ATTRIBUTES;
	int rc = bb_ruleset_add_policy(
		rs, "p", policy, strlen(policy), sc,
		subscribe ? BB_API_SUBSCRIBE : BB_API_SET_SUBSCRIPTION_ATTRIBUTES, &err);

	bb_ruleset_free(rs);
	return rc < 0 ? terr(res, TE_INVALID_PARAMETER, "%s", err.msg) : 0;
}

static int check_redrive(struct topic_store *ts, const char *value, bool fifo_topic,
			 const char *prefix, struct topic_result *res)
{
	struct json_doc *d = json_parse(value, strlen(value), true);
	const struct json_value *root = json_doc_root(d), *arn = NULL;
	char qname[QUEUE_NAME_MAX + 1];
	int rc = 0;

	if (!json_doc_error(d) && root && root->type == JSON_OBJECT)
		arn = json_get(root, "deadLetterTargetArn");
	if (!arn || arn->type != JSON_STRING)
		rc = bad(res, prefix, "RedrivePolicy",
			 ": Redrive policy is not a valid JSON object with a deadLetterTargetArn");
	else if (queue_name_from_arn(ts->qs, arn->u.str.s, qname, sizeof(qname)))
		rc = bad(res, prefix, "RedrivePolicy", ": deadLetterTargetArn is an invalid arn");
	else if (fifo_topic != (strlen(qname) > 5 && !strcmp(qname + strlen(qname) - 5, ".fifo")))
		rc = bad(
			res, prefix, "RedrivePolicy",
			fifo_topic
				? ": must use a FIFO queue as DLQ for a FIFO subscription"
				: ": must use a standard queue as DLQ for a standard subscription");
	json_doc_free(d);
	return rc;
}

int tsub_attr_apply(struct topic_store *ts, MDB_txn *txn, struct queue_kv_list *rec,
		    const char *name, const char *value, bool fifo_topic, bool subscribe,
		    struct topic_result *res)
{
	static const char *const scopes[] = { "MessageAttributes", "MessageBody", NULL };
	const char *prefix = subscribe ? "Attributes Reason: " : "";
	const char *protocol = tkv_get(rec, "Protocol");

	(void)txn;
	if (!name || !value)
		return bad(res, prefix, "AttributeName", "");
	if (!strcmp(name, "RawMessageDelivery")) {
		char low[8];

		snprintf(low, sizeof(low), "%s", value);
		for (char *p = low; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
		if (strlen(value) > 5 || !one_of(low, bools))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: %sRawMessageDelivery: Invalid value [%s]. "
				    "Must be true or false.",
				    prefix, value);
		tkv_set(rec, name, low);
		return 0;
	}
	if (!strcmp(name, "FilterPolicyScope")) {
		const char *policy = tkv_get(rec, "FilterPolicy");

		if (!one_of(value, scopes))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: %sFilterPolicyScope: Invalid filter policy "
				    "scope %s",
				    prefix, value);
		if (policy && check_policy(policy, value, subscribe, res))
			return -1;
		tkv_set(rec, name, value);
		return 0;
	}
	if (!strcmp(name, "FilterPolicy")) {
		if (!*value || !strcmp(value, "{}")) {
			tkv_set(rec, name, NULL);
			return 0;
		}
		if (check_policy(value, tkv_get(rec, "FilterPolicyScope"), subscribe, res))
			return -1;
	} else if (!strcmp(name, "RedrivePolicy")) {
		if (*value && check_redrive(ts, value, fifo_topic, prefix, res))
			return -1;
	} else if (!strcmp(name, "DeliveryPolicy")) {
		if (!protocol || !is_http(protocol))
			return bad(res, prefix, "DeliveryPolicy",
				   ": Delivery protocol does not support delivery policies");
		if (*value && !json_object(value))
			return bad(res, prefix, "DeliveryPolicy", "");
	} else if (!strcmp(name, "ReplayPolicy") && fifo_topic) {
		if (*value && !json_object(value))
			return bad(res, prefix, "ReplayPolicy", "");
	} else {
		return bad(res, prefix, "AttributeName", "");
	}
	tkv_set(rec, name, *value ? value : NULL);
	return 0;
}

bool tprotocol_is_queue(const char *protocol)
{
	return is_queue(protocol);
}

bool tprotocol_is_http(const char *protocol)
{
	return is_http(protocol);
}

/* ------------------------------------------------------------ tags */

int ttags_put(struct topic_store *ts, MDB_txn *txn, const char *topic, const struct queue_kv *tags,
	      size_t n, struct topic_result *res)
{
	struct strbuf key = STRBUF_INIT;
	size_t have = 0, plen = strlen(topic) + 1;
	MDB_val k = { .mv_size = plen, .mv_data = (void *)topic }, v;
	MDB_cursor *c;
	int rc;

	for (size_t i = 0; i < n; i++) {
		const char *tk = tags[i].name ? tags[i].name : "";
		const char *tv = tags[i].value ? tags[i].value : "";

		if (!*tk || strlen(tk) > 128 || !strncasecmp(tk, "aws:", 4))
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: Tags Reason: "
				    "Tag keys must be 1 to 128 "
				    "characters and not start with aws:");
		if (strlen(tv) > 256)
			return terr(res, TE_INVALID_PARAMETER,
				    "Invalid parameter: Tags Reason: Tag values must be at most "
				    "256 characters");
	}
	/* Count the tags that will exist afterwards: existing ones plus new keys. */
	rc = mdb_cursor_open(txn, ts->dbi[TDB_TAGS], &c);
	if (rc)
		return terr_mdb(res, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     !rc && k.mv_size > plen && !memcmp(k.mv_data, topic, plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		have++;
	mdb_cursor_close(c);
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		sb_reset(&key);
		sb_add(&key, topic, plen);
		sb_adds(&key, tags[i].name);
		k = (MDB_val){ .mv_size = key.len, .mv_data = key.buf };
		for (size_t j = 0; j < i; j++)
			seen |= !strcmp(tags[j].name, tags[i].name);
		if (!seen && mdb_get(txn, ts->dbi[TDB_TAGS], &k, &v) == MDB_NOTFOUND)
			have++;
	}
	if (have > TOPIC_MAX_TAGS) {
		sb_free(&key);
		return terr(res, TE_TAG_LIMIT_EXCEEDED,
			    "Could not complete request: tag quota of per resource exceeded");
	}
	for (size_t i = 0; i < n; i++) {
		const char *tv = tags[i].value ? tags[i].value : "";

		sb_reset(&key);
		sb_add(&key, topic, plen);
		sb_adds(&key, tags[i].name);
		k = (MDB_val){ .mv_size = key.len, .mv_data = key.buf };
		v = (MDB_val){ .mv_size = strlen(tv), .mv_data = (void *)tv };
		rc = mdb_put(txn, ts->dbi[TDB_TAGS], &k, &v, 0);
		if (rc) {
			sb_free(&key);
			return terr_mdb(res, rc);
		}
	}
	sb_free(&key);
	return 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Topics: CreateTopic, DeleteTopic, ListTopics, Get/SetTopicAttributes and
 * the tagging calls.
 */
#include "topic_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char default_delivery_policy[] =
	"{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,\"maxDelayTarget\":20,"
	"\"numRetries\":3,\"numMaxDelayRetries\":0,\"numNoDelayRetries\":0,"
	"\"numMinDelayRetries\":0,\"backoffFunction\":\"linear\"},"
	"\"disableSubscriptionOverrides\":false,"
	"\"defaultRequestPolicy\":{\"headerContentType\":\"text/plain; charset=UTF-8\"}}}";

const char *tdefault_delivery_policy(void)
{
	return default_delivery_policy;
}

/* ------------------------------------------------------------ create */

struct create_args {
	const char *name;
	const struct queue_kv *attrs, *tags;
	size_t nattrs, ntags;
	bool fifo;
};

/* The tags given must all be on the existing topic with the same values. */
static int same_tags(struct topic_store *ts, MDB_txn *txn, const struct create_args *a,
		     struct topic_result *res)
{
	struct strbuf key = STRBUF_INIT;
	int rc = 0;

	for (size_t i = 0; i < a->ntags && !rc; i++) {
		MDB_val k, v;
		const char *want = a->tags[i].value ? a->tags[i].value : "";

		sb_reset(&key);
		sb_add(&key, a->name, strlen(a->name) + 1);
		sb_adds(&key, a->tags[i].name ? a->tags[i].name : "");
		k = (MDB_val){ .mv_size = key.len, .mv_data = key.buf };
		if (mdb_get(txn, ts->dbi[TDB_TAGS], &k, &v) || v.mv_size != strlen(want) ||
		    memcmp(v.mv_data, want, v.mv_size))
			rc = terr(res, TE_INVALID_PARAMETER,
				  "Invalid parameter: Tags Reason: Topic already exists with "
				  "different tags");
	}
	sb_free(&key);
	return rc;
}

static int do_create(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct create_args *a = arg;
	struct queue_kv_list rec = { 0 }, old = { 0 };
	char created[24];
	int rc = -1, found;

	for (size_t i = 0; i < a->nattrs; i++)
		if (ttopic_attr_apply(ts, &rec, a->attrs[i].name, a->attrs[i].value, true, a->fifo,
				      "Attributes Reason: ", res))
			goto out;
	found = trec_load(txn, ts->dbi[TDB_TOPICS], a->name, strlen(a->name), &old, res);
	if (found < 0)
		goto out;
	if (found) {
		/* Idempotent: every attribute given must equal the existing one. */
		if (!tkv_subset(&rec, &old)) {
			terr(res, TE_INVALID_PARAMETER,
			     "Invalid parameter: Attributes Reason: Topic already exists with "
			     "different attributes");
			goto out;
		}
		rc = same_tags(ts, txn, a, res);
		goto out;
	}
	snprintf(created, sizeof(created), "%lld", (long long)queue_store_now(ts->qs));
	tkv_set(&rec, "_created", created);
	tkv_set(&rec, "_deleted", "0");
	tkv_set(&rec, "_seq", "0");
	if (ttags_put(ts, txn, a->name, a->tags, a->ntags, res))
		goto out;
	rc = trec_store(txn, ts->dbi[TDB_TOPICS], a->name, strlen(a->name), &rec, res);
out:
	queue_kv_list_free(&rec);
	queue_kv_list_free(&old);
	return rc;
}

int topic_create(struct topic_store *ts, const char *name, const struct queue_kv *attrs,
		 size_t nattrs, const struct queue_kv *tags, size_t ntags, char *arn, size_t cap,
		 struct topic_result *res)
{
	struct create_args a = { name, attrs, tags, nattrs, ntags, false };

	tok(res);
	for (size_t i = 0; i < nattrs; i++)
		if (attrs[i].name && !strcmp(attrs[i].name, "FifoTopic") && attrs[i].value &&
		    !strcmp(attrs[i].value, "true"))
			a.fifo = true;
	if (!name)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Topic Name");
	if (a.fifo && !tname_valid(name, true))
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: Fifo Topic names must end with .fifo and must be "
			    "made up of only uppercase and lowercase ASCII letters, numbers, "
			    "underscores, and hyphens, and must be between 1 and 256 characters "
			    "long.");
	if (!a.fifo && !tname_valid(name, false))
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: Topic Name");
	if (ttxn_write(ts, do_create, &a, res))
		return -1;
	topic_arn(ts, name, arn, cap);
	return 0;
}

/* ------------------------------------------------------------ delete */

/* Remove a subscription's record, index entry and counters. */
int tsub_remove(struct topic_store *ts, MDB_txn *txn, const char *topic, const char *id,
		struct topic_result *res)
{
	struct strbuf key = STRBUF_INIT;
	MDB_val k = { .mv_size = TOPIC_UUID_LEN, .mv_data = (void *)id };
	int rc = mdb_del(txn, ts->dbi[TDB_SUBS], &k, NULL);

	if (!rc || rc == MDB_NOTFOUND)
		rc = mdb_del(txn, ts->dbi[TDB_COUNTS], &k, NULL);
	sb_add(&key, topic, strlen(topic) + 1);
	sb_add(&key, id, TOPIC_UUID_LEN);
	k = (MDB_val){ .mv_size = key.len, .mv_data = key.buf };
	if (!rc || rc == MDB_NOTFOUND)
		rc = mdb_del(txn, ts->dbi[TDB_BYTOPIC], &k, NULL);
	sb_free(&key);
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

static int do_delete(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	const char *arn = arg;
	char name[TOPIC_NAME_MAX + 1];
	struct queue_kv_list rec = { 0 }, subs = { 0 };
	int rc = ttopic_load(ts, txn, arn, "TopicArn", name, sizeof(name), &rec, res);

	/* Deleting a topic that does not exist succeeds, as in SNS. */
	if (rc && res->code == TE_NOT_FOUND) {
		tok(res);
		rc = 0;
		goto out;
	}
	if (rc || tsub_ids(ts, txn, name, &subs, res))
		goto fail;
	for (size_t i = 0; i < subs.n; i++)
		if (tsub_remove(ts, txn, name, subs.v[i].name, res))
			goto fail;
	MDB_val k = { .mv_size = strlen(name), .mv_data = name };
	rc = mdb_del(txn, ts->dbi[TDB_TOPICS], &k, NULL);
	if (!rc)
		rc = qdel_prefix(txn, ts->dbi[TDB_TAGS], name, strlen(name) + 1);
	if (!rc)
		rc = qdel_prefix(txn, ts->dbi[TDB_DEDUP], name, strlen(name) + 1);
	if (rc) {
		terr_mdb(res, rc);
		goto fail;
	}
	goto out;
fail:
	rc = -1;
out:
	queue_kv_list_free(&rec);
	queue_kv_list_free(&subs);
	return rc;
}

int topic_delete(struct topic_store *ts, const char *arn, struct topic_result *res)
{
	return ttxn_write(ts, do_delete, (void *)arn, res);
}

/* ------------------------------------------------------------ list */

static int do_list(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct queue_kv_list *out = arg;
	int rc = qdb_keys(txn, ts->dbi[TDB_TOPICS], out);

	if (rc)
		return terr_mdb(res, rc);
	for (size_t i = 0; i < out->n; i++) {
		char arn[512];

		topic_arn(ts, out->v[i].name, arn, sizeof(arn));
		free((char *)out->v[i].name);
		out->v[i].name = xstrndup(arn, strlen(arn));
	}
	return 0;
}

int topic_list(struct topic_store *ts, struct queue_kv_list *out, struct topic_result *res)
{
	*out = (struct queue_kv_list){ 0 };
	if (!ttxn_read(ts, do_list, out, res))
		return 0;
	queue_kv_list_free(out);
	return -1;
}

/* ------------------------------------------------------------ attributes */

struct attr_args {
	const char *arn;
	const char *name, *value; /* set */
	struct queue_kv_list *out; /* get */
};

static void default_policy(struct topic_store *ts, const char *arn, struct strbuf *sb)
{
	sb_printf(sb,
		  "{\"Version\":\"2008-10-17\",\"Id\":\"__default_policy_ID\",\"Statement\":[{"
		  "\"Sid\":\"__default_statement_ID\",\"Effect\":\"Allow\",\"Principal\":{"
		  "\"AWS\":\"*\"},\"Action\":[\"SNS:GetTopicAttributes\","
		  "\"SNS:SetTopicAttributes\",\"SNS:AddPermission\",\"SNS:RemovePermission\","
		  "\"SNS:DeleteTopic\",\"SNS:Subscribe\",\"SNS:ListSubscriptionsByTopic\","
		  "\"SNS:Publish\"],\"Resource\":\"%s\",\"Condition\":{\"StringEquals\":{"
		  "\"AWS:SourceOwner\":\"%s\"}}}]}",
		  arn, ts->qs->account);
}

static int count_subs(struct topic_store *ts, MDB_txn *txn, const char *name, long *confirmed,
		      long *pending, struct topic_result *res)
{
	struct queue_kv_list ids = { 0 };
	int rc = tsub_ids(ts, txn, name, &ids, res);

	*confirmed = *pending = 0;
	for (size_t i = 0; !rc && i < ids.n; i++) {
		struct queue_kv_list sub = { 0 };

		rc = trec_load(txn, ts->dbi[TDB_SUBS], ids.v[i].name, TOPIC_UUID_LEN, &sub, res) <
		     0;
		if (tkv_true(&sub, "PendingConfirmation"))
			++*pending;
		else
			++*confirmed;
		queue_kv_list_free(&sub);
	}
	queue_kv_list_free(&ids);
	return rc ? -1 : 0;
}

static int do_get(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct attr_args *a = arg;
	char name[TOPIC_NAME_MAX + 1], num[24];
	struct queue_kv_list rec = { 0 };
	struct strbuf sb = STRBUF_INIT;
	long confirmed, pending;
	int rc = -1;

	if (ttopic_load(ts, txn, a->arn, "TopicArn", name, sizeof(name), &rec, res) ||
	    count_subs(ts, txn, name, &confirmed, &pending, res))
		goto out;
	tkv_add(a->out, "TopicArn", a->arn);
	tkv_add(a->out, "Owner", ts->qs->account);
	if (tkv_get(&rec, "Policy")) {
		tkv_add(a->out, "Policy", tkv_get(&rec, "Policy"));
	} else {
		default_policy(ts, a->arn, &sb);
		tkv_add(a->out, "Policy", sb.buf);
	}
	tkv_add(a->out, "DisplayName", tkv_get(&rec, "DisplayName") ?: "");
	snprintf(num, sizeof(num), "%ld", pending);
	tkv_add(a->out, "SubscriptionsPending", num);
	snprintf(num, sizeof(num), "%ld", confirmed);
	tkv_add(a->out, "SubscriptionsConfirmed", num);
	tkv_add(a->out, "SubscriptionsDeleted", tkv_get(&rec, "_deleted") ?: "0");
	tkv_add(a->out, "EffectiveDeliveryPolicy",
		tkv_get(&rec, "DeliveryPolicy") ?: default_delivery_policy);
	if (tkv_true(&rec, "FifoTopic")) {
		tkv_add(a->out, "FifoTopic", "true");
		tkv_add(a->out, "ContentBasedDeduplication",
			tkv_get(&rec, "ContentBasedDeduplication") ?: "false");
	}
	/* Everything else that was set, as set. */
	for (size_t i = 0; i < rec.n; i++)
		if (rec.v[i].name[0] != '_' && !tkv_get(a->out, rec.v[i].name))
			tkv_add(a->out, rec.v[i].name, rec.v[i].value);
	rc = 0;
out:
	sb_free(&sb);
	queue_kv_list_free(&rec);
	return rc;
}

int topic_get_attributes(struct topic_store *ts, const char *arn, struct queue_kv_list *out,
			 struct topic_result *res)
{
	struct attr_args a = { .arn = arn, .out = out };

	*out = (struct queue_kv_list){ 0 };
	if (!ttxn_read(ts, do_get, &a, res))
		return 0;
	queue_kv_list_free(out);
	return -1;
}

static int do_set(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct attr_args *a = arg;
	char name[TOPIC_NAME_MAX + 1];
	struct queue_kv_list rec = { 0 };
	int rc = -1;

	if (!ttopic_load(ts, txn, a->arn, "TopicArn", name, sizeof(name), &rec, res) &&
	    !ttopic_attr_apply(ts, &rec, a->name, a->value, false, tkv_true(&rec, "FifoTopic"), "",
			       res))
		rc = trec_store(txn, ts->dbi[TDB_TOPICS], name, strlen(name), &rec, res);
	queue_kv_list_free(&rec);
	return rc;
}

int topic_set_attribute(struct topic_store *ts, const char *arn, const char *name,
			const char *value, struct topic_result *res)
{
	struct attr_args a = { .arn = arn, .name = name, .value = value };

	return ttxn_write(ts, do_set, &a, res);
}

/* ------------------------------------------------------------ tags */

struct tag_args {
	const char *arn;
	const struct queue_kv *tags;
	const char *const *keys;
	size_t n;
	struct queue_kv_list *out;
};

/* The topic behind a tagging call's ResourceArn. */
static int tag_topic(struct topic_store *ts, MDB_txn *txn, const char *arn, char *name,
		     struct topic_result *res)
{
	struct queue_kv_list rec = { 0 };
	int rc = ttopic_load(ts, txn, arn, "ResourceArn", name, TOPIC_NAME_MAX + 1, &rec, res);

	queue_kv_list_free(&rec);
	if (rc && res->code == TE_NOT_FOUND)
		return terr(res, TE_RESOURCE_NOT_FOUND, "Resource does not exist");
	return rc;
}

static int do_tag(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct tag_args *a = arg;
	char name[TOPIC_NAME_MAX + 1];

	if (tag_topic(ts, txn, a->arn, name, res))
		return -1;
	return ttags_put(ts, txn, name, a->tags, a->n, res);
}

int topic_tag(struct topic_store *ts, const char *arn, const struct queue_kv *tags, size_t n,
	      struct topic_result *res)
{
	struct tag_args a = { .arn = arn, .tags = tags, .n = n };

	return ttxn_write(ts, do_tag, &a, res);
}

static int do_untag(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct tag_args *a = arg;
	char name[TOPIC_NAME_MAX + 1];
	struct strbuf key = STRBUF_INIT;
	int rc = 0;

	if (tag_topic(ts, txn, a->arn, name, res))
		return -1;
	for (size_t i = 0; i < a->n && !rc; i++) {
		sb_reset(&key);
		sb_add(&key, name, strlen(name) + 1);
		sb_adds(&key, a->keys[i] ? a->keys[i] : "");
		MDB_val k = { .mv_size = key.len, .mv_data = key.buf };

		rc = mdb_del(txn, ts->dbi[TDB_TAGS], &k, NULL);
		rc = rc == MDB_NOTFOUND ? 0 : rc;
	}
	sb_free(&key);
	return rc ? terr_mdb(res, rc) : 0;
}

int topic_untag(struct topic_store *ts, const char *arn, const char *const *keys, size_t n,
		struct topic_result *res)
{
	struct tag_args a = { .arn = arn, .keys = keys, .n = n };

	return ttxn_write(ts, do_untag, &a, res);
}

static int do_list_tags(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct tag_args *a = arg;
	char name[TOPIC_NAME_MAX + 1];
	size_t plen;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (tag_topic(ts, txn, a->arn, name, res))
		return -1;
	plen = strlen(name) + 1;
	k = (MDB_val){ .mv_size = plen, .mv_data = name };
	rc = mdb_cursor_open(txn, ts->dbi[TDB_TAGS], &c);
	if (rc)
		return terr_mdb(res, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     !rc && k.mv_size > plen && !memcmp(k.mv_data, name, plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		a->out->v = xrealloc(a->out->v, (a->out->n + 1) * sizeof(*a->out->v));
		a->out->v[a->out->n].name = xstrndup((char *)k.mv_data + plen, k.mv_size - plen);
		a->out->v[a->out->n++].value = xstrndup(v.mv_data, v.mv_size);
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

int topic_list_tags(struct topic_store *ts, const char *arn, struct queue_kv_list *out,
		    struct topic_result *res)
{
	struct tag_args a = { .arn = arn, .out = out };

	*out = (struct queue_kv_list){ 0 };
	if (!ttxn_read(ts, do_list_tags, &a, res))
		return 0;
	queue_kv_list_free(out);
	return -1;
}

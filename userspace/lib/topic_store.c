// SPDX-License-Identifier: BSD-2-Clause
/*
 * The topic store inside the queue store's LMDB environment: opening its
 * sub-databases, transactions that join the queue store's groups, ARNs.
 */
#include "topic_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tdb_names[TDB__COUNT] = {
	[TDB_TOPICS] = "sns_topics", [TDB_SUBS] = "sns_subs",	[TDB_BYTOPIC] = "sns_bytopic",
	[TDB_TAGS] = "sns_tags",     [TDB_DEDUP] = "sns_dedup", [TDB_COUNTS] = "sns_counts",
	[TDB_OUTBOX] = "sns_outbox", [TDB_META] = "sns_meta",
};

_Static_assert(TDB__COUNT <= QUEUE_EXTRA_DBS, "the queue store reserves too few databases");

static int open_dbs(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	(void)arg;
	for (int i = 0; i < TDB__COUNT; i++) {
		int rc = mdb_dbi_open(txn, tdb_names[i], MDB_CREATE, &ts->dbi[i]);

		if (rc)
			return terr_mdb(res, rc);
	}
	return 0;
}

struct topic_store *topic_store_open(struct queue_store *qs, const struct topic_store_opts *opts,
				     struct topic_result *res)
{
	struct topic_store *ts = xcalloc(1, sizeof(*ts));

	tok(res);
	ts->qs = qs;
	if (opts && opts->endpoint_url)
		snprintf(ts->endpoint, sizeof(ts->endpoint), "%s", opts->endpoint_url);
	else
		snprintf(ts->endpoint, sizeof(ts->endpoint), "https://sns.%s.amazonaws.com",
			 qs->region);
	/* Handles opened in a write transaction outside any group stay valid after it. */
	if (qs->group) {
		terr(res, TE_INTERNAL_ERROR, "Open the topic store outside a transaction");
		goto fail;
	}
	if (ttxn_write(ts, open_dbs, NULL, res) || tsign_init(ts, res))
		goto fail;
	return ts;
fail:
	topic_store_close(ts);
	return NULL;
}

void topic_store_close(struct topic_store *ts)
{
	if (!ts)
		return;
	tsign_free(ts);
	free(ts);
}

struct queue_store *topic_store_queues(struct topic_store *ts)
{
	return ts->qs;
}

uint64_t topic_store_queue_deliveries(const struct topic_store *ts)
{
	return ts->queue_deliveries;
}

const char *topic_store_signing_cert(const struct topic_store *ts)
{
	return ts->cert_pem;
}

/* ------------------------------------------------------------ transactions */

struct tramp {
	struct topic_store *ts;
	ttxn_fn fn;
	void *arg;
	struct topic_result *res;
};

/* Runs a topic function as a queue store transaction function. */
static int tramp_fn(struct queue_store *qs, MDB_txn *txn, void *arg, struct queue_result *qr)
{
	struct tramp *t = arg;

	(void)qs;
	if (!t->fn(t->ts, txn, t->arg, t->res))
		return 0;
	/* Store failures doom a group (and a full map is grown and retried). */
	if (t->res->code == TE_INTERNAL_ERROR)
		return qerr(qr, QE_INTERNAL_ERROR, "%s", t->res->message);
	return qerr(qr, QE_INVALID_PARAMETER_VALUE, "%s", t->res->message);
}

static int run(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res, bool write)
{
	struct tramp t = { ts, fn, arg, res };
	struct queue_result qr;
	int rc;

	tok(res);
	rc = write ? qtxn_write(ts->qs, tramp_fn, &t, &qr) : qtxn_read(ts->qs, tramp_fn, &t, &qr);
	if (rc && res->code == TE_OK)
		terr(res, TE_INTERNAL_ERROR, "%s", qr.message);
	return rc;
}

int ttxn_write(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res)
{
	return run(ts, fn, arg, res, true);
}

int ttxn_read(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res)
{
	return run(ts, fn, arg, res, false);
}

/* ------------------------------------------------------------ records */

void trec_decode(const MDB_val *v, struct queue_kv_list *out)
{
	const char *p = v->mv_data, *end = p + v->mv_size;

	while (p < end) {
		const char *name = p, *value = memchr(p, 0, (size_t)(end - p));
		const char *next;

		if (!value || ++value >= end)
			break;
		next = memchr(value, 0, (size_t)(end - value));
		if (!next)
			break;
		tkv_add(out, name, value);
		p = next + 1;
	}
}

void trec_encode(const struct queue_kv_list *l, struct strbuf *sb)
{
	for (size_t i = 0; i < l->n; i++) {
		sb_add(sb, l->v[i].name, strlen(l->v[i].name) + 1);
		sb_add(sb, l->v[i].value, strlen(l->v[i].value) + 1);
	}
}

const char *tkv_get(const struct queue_kv_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

bool tkv_subset(const struct queue_kv_list *given, const struct queue_kv_list *have)
{
	for (size_t i = 0; i < given->n; i++) {
		const char *v = tkv_get(have, given->v[i].name);

		if (!v || strcmp(v, given->v[i].value))
			return false;
	}
	return true;
}

bool tkv_true(const struct queue_kv_list *l, const char *name)
{
	const char *v = tkv_get(l, name);

	return v && !strcmp(v, "true");
}

void tkv_add(struct queue_kv_list *l, const char *name, const char *value)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].name = xstrndup(name, strlen(name));
	l->v[l->n++].value = xstrndup(value, strlen(value));
}

void tkv_set(struct queue_kv_list *l, const char *name, const char *value)
{
	for (size_t i = 0; i < l->n; i++) {
		if (strcmp(l->v[i].name, name))
			continue;
		free((char *)l->v[i].value);
		if (value) {
			l->v[i].value = xstrndup(value, strlen(value));
			return;
		}
		free((char *)l->v[i].name);
		l->v[i] = l->v[--l->n];
		return;
	}
	if (value)
		tkv_add(l, name, value);
}

int trec_load(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, struct queue_kv_list *out,
	      struct topic_result *res)
{
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v;
	int rc = mdb_get(txn, dbi, &k, &v);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return terr_mdb(res, rc);
	trec_decode(&v, out);
	return 1;
}

int trec_store(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	       const struct queue_kv_list *l, struct topic_result *res)
{
	struct strbuf sb = STRBUF_INIT;
	MDB_val k = { .mv_size = klen, .mv_data = (void *)key }, v;
	int rc;

	trec_encode(l, &sb);
	v = (MDB_val){ .mv_size = sb.len, .mv_data = sb.buf ? sb.buf : "" };
	rc = mdb_put(txn, dbi, &k, &v, 0);
	sb_free(&sb);
	return rc ? terr_mdb(res, rc) : 0;
}

/* ------------------------------------------------------------ names and ARNs */

void topic_arn(const struct topic_store *ts, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "arn:aws:sns:%s:%s:%s", ts->qs->region, ts->qs->account, name);
}

void tsub_arn(const char *topic_arn, const char *id, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s:%s", topic_arn, id);
}

bool tname_valid(const char *name, bool fifo)
{
	size_t len = strlen(name), base = len;

	if (fifo) {
		if (len < 6 || strcmp(name + len - 5, ".fifo"))
			return false;
		base = len - 5;
	}
	if (len < 1 || len > TOPIC_NAME_MAX)
		return false;
	for (size_t i = 0; i < base; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_'))
			return false;
	}
	return true;
}

int tname_from_arn(const struct topic_store *ts, const char *arn, char *name, size_t cap)
{
	char prefix[96];
	size_t plen;

	snprintf(prefix, sizeof(prefix), "arn:aws:sns:%s:%s:", ts->qs->region, ts->qs->account);
	plen = strlen(prefix);
	if (!arn || strncmp(arn, prefix, plen) || strlen(arn + plen) >= cap)
		return -1;
	snprintf(name, cap, "%s", arn + plen);
	return tname_valid(name, false) || tname_valid(name, true) ? 0 : -1;
}

int ttopic_load(struct topic_store *ts, MDB_txn *txn, const char *arn, const char *param,
		char *name, size_t cap, struct queue_kv_list *rec, struct topic_result *res)
{
	int rc;

	if (tname_from_arn(ts, arn, name, cap))
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: %s", param);
	rc = trec_load(txn, ts->dbi[TDB_TOPICS], name, strlen(name), rec, res);
	if (rc < 0)
		return -1;
	return rc ? 0 : terr(res, TE_NOT_FOUND, "Topic does not exist");
}

static bool uuid_valid(const char *s)
{
	if (strlen(s) != TOPIC_UUID_LEN)
		return false;
	for (int i = 0; i < TOPIC_UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]) || !s[i])
			return false;
	}
	return true;
}

int tsub_id_from_arn(const struct topic_store *ts, const char *arn, char id[37])
{
	const char *colon = arn ? strrchr(arn, ':') : NULL;
	char name[TOPIC_NAME_MAX + 1], topic[TOPIC_NAME_MAX + 128];

	if (!colon || !uuid_valid(colon + 1) || (size_t)(colon - arn) >= sizeof(topic))
		return -1;
	memcpy(topic, arn, (size_t)(colon - arn));
	topic[colon - arn] = '\0';
	if (tname_from_arn(ts, topic, name, sizeof(name)))
		return -1;
	memcpy(id, colon + 1, 37);
	return 0;
}

int tsub_load(struct topic_store *ts, MDB_txn *txn, const char *arn, char id[37],
	      struct queue_kv_list *rec, struct topic_result *res)
{
	const char *owner_topic;
	int rc;

	if (tsub_id_from_arn(ts, arn, id))
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: SubscriptionArn");
	rc = trec_load(txn, ts->dbi[TDB_SUBS], id, TOPIC_UUID_LEN, rec, res);
	if (rc < 0)
		return -1;
	owner_topic = rc ? tkv_get(rec, "TopicArn") : NULL;
	/* The ARN must name the subscription's own topic, not only its uuid. */
	if (!owner_topic || strncmp(arn, owner_topic, strlen(owner_topic)))
		return terr(res, TE_NOT_FOUND, "Subscription does not exist");
	return 0;
}

int tsub_ids(struct topic_store *ts, MDB_txn *txn, const char *topic, struct queue_kv_list *out,
	     struct topic_result *res)
{
	size_t plen = strlen(topic) + 1;
	MDB_val k = { .mv_size = plen, .mv_data = (void *)topic }, v;
	MDB_cursor *c;
	int rc = mdb_cursor_open(txn, ts->dbi[TDB_BYTOPIC], &c);

	if (rc)
		return terr_mdb(res, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != plen + TOPIC_UUID_LEN || memcmp(k.mv_data, topic, plen))
			break;
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n].name = xstrndup((char *)k.mv_data + plen, TOPIC_UUID_LEN);
		out->v[out->n++].value = NULL;
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The outbox: deliveries to http, https and udp subscribers, written in the
 * publish's transaction and drained by the daemon (topic.h).
 */
#include "topic_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const MDB_val seq_key = { .mv_size = 10, .mv_data = "outbox-seq" };

int toutbox_put(struct topic_store *ts, MDB_txn *txn, const char *sub_arn, const char *protocol,
		const char *endpoint, const char *type, const char *message_id,
		const char *topic_arn, const char *body, bool raw, const char *attrs_json,
		struct topic_result *res)
{
	struct queue_kv_list rec = { 0 };
	uint64_t seq = 0;
	uint8_t key[8];
	char when[24];
	MDB_val v;
	int rc = mdb_get(txn, ts->dbi[TDB_META], (MDB_val *)&seq_key, &v);

	if (!rc && v.mv_size == sizeof(seq))
		memcpy(&seq, v.mv_data, sizeof(seq));
	else if (rc && rc != MDB_NOTFOUND)
		return terr_mdb(res, rc);
	seq++;
	v = (MDB_val){ .mv_size = sizeof(seq), .mv_data = &seq };
	rc = mdb_put(txn, ts->dbi[TDB_META], (MDB_val *)&seq_key, &v, 0);
	if (rc)
		return terr_mdb(res, rc);
	snprintf(when, sizeof(when), "%lld", (long long)queue_store_now(ts->qs));
	tkv_add(&rec, "sub", sub_arn);
	tkv_add(&rec, "protocol", protocol);
	tkv_add(&rec, "endpoint", endpoint);
	tkv_add(&rec, "type", type);
	tkv_add(&rec, "message_id", message_id);
	tkv_add(&rec, "topic_arn", topic_arn);
	tkv_add(&rec, "body", body);
	tkv_add(&rec, "raw", raw ? "true" : "false");
	if (attrs_json)
		tkv_add(&rec, "attrs", attrs_json);
	tkv_add(&rec, "created", when);
	put_be64(key, seq);
	rc = trec_store(txn, ts->dbi[TDB_OUTBOX], key, sizeof(key), &rec, res);
	queue_kv_list_free(&rec);
	return rc;
}

void topic_outbox_item_free(struct topic_outbox_item *it)
{
	free(it->sub_arn);
	free(it->protocol);
	free(it->endpoint);
	free(it->type);
	free(it->message_id);
	free(it->topic_arn);
	free(it->body);
	free(it->attrs);
}

void topic_outbox_list_free(struct topic_outbox_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		topic_outbox_item_free(&l->v[i]);
	free(l->v);
	*l = (struct topic_outbox_list){ 0 };
}

static char *field(const struct queue_kv_list *rec, const char *name)
{
	const char *v = tkv_get(rec, name) ?: "";

	return xstrndup(v, strlen(v));
}

struct peek_args {
	uint64_t after;
	size_t max;
	struct topic_outbox_list *out;
};

static int do_peek(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct peek_args *a = arg;
	uint8_t key[8];
	MDB_val k = { .mv_size = sizeof(key), .mv_data = key }, v;
	MDB_cursor *c;
	int rc;

	put_be64(key, a->after + 1);
	rc = mdb_cursor_open(txn, ts->dbi[TDB_OUTBOX], &c);
	if (rc)
		return terr_mdb(res, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && a->out->n < a->max;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct queue_kv_list rec = { 0 };
		struct topic_outbox_item *it;

		if (k.mv_size != 8)
			continue;
		trec_decode(&v, &rec);
		a->out->v = xrealloc(a->out->v, (a->out->n + 1) * sizeof(*a->out->v));
		it = &a->out->v[a->out->n++];
		it->seq = get_be64(k.mv_data);
		it->sub_arn = field(&rec, "sub");
		it->protocol = field(&rec, "protocol");
		it->endpoint = field(&rec, "endpoint");
		it->type = field(&rec, "type");
		it->message_id = field(&rec, "message_id");
		it->topic_arn = field(&rec, "topic_arn");
		it->body = field(&rec, "body");
		it->attrs = field(&rec, "attrs");
		it->raw = tkv_true(&rec, "raw");
		it->created_ms = atoll(tkv_get(&rec, "created") ?: "0");
		it->attempts = atoi(tkv_get(&rec, "attempts") ?: "0");
		it->due_ms = atoll(tkv_get(&rec, "due") ?: "0");
		queue_kv_list_free(&rec);
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

int topic_outbox_peek(struct topic_store *ts, uint64_t after, size_t max,
		      struct topic_outbox_list *out, struct topic_result *res)
{
	struct peek_args a = { after, max, out };

	*out = (struct topic_outbox_list){ 0 };
	if (!ttxn_read(ts, do_peek, &a, res))
		return 0;
	topic_outbox_list_free(out);
	return -1;
}

struct done_args {
	uint64_t seq;
	bool delivered;
};

/* Item @seq into @item (key @key); 0, or -1 with @res (NotFound when it is not there). */
static int load_item(struct topic_store *ts, MDB_txn *txn, uint64_t seq, uint8_t key[8],
		     struct queue_kv_list *item, struct topic_result *res)
{
	int found;

	put_be64(key, seq);
	found = trec_load(txn, ts->dbi[TDB_OUTBOX], key, 8, item, res);
	if (found > 0)
		return 0;
	queue_kv_list_free(item);
	return found < 0 ? -1 : terr(res, TE_NOT_FOUND, "Outbox item does not exist");
}

static int do_done(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct done_args *a = arg;
	struct queue_kv_list item = { 0 }, sub = { 0 };
	uint8_t key[8];
	char id[37];
	int rc;

	if (load_item(ts, txn, a->seq, key, &item, res))
		return -1;
	MDB_val k = { .mv_size = sizeof(key), .mv_data = key };

	rc = mdb_del(txn, ts->dbi[TDB_OUTBOX], &k, NULL);
	if (rc) {
		rc = terr_mdb(res, rc);
		goto out;
	}
	/* Notifications count; a subscription deleted meanwhile has nothing left to count. */
	if (strcmp(tkv_get(&item, "type") ?: "", "Notification") ||
	    tsub_load(ts, txn, tkv_get(&item, "sub"), id, &sub, res)) {
		tok(res);
		goto out;
	}
	if (a->delivered) {
		rc = tcount_add(ts, txn, id, TC_DELIVERED, res);
	} else {
		const char *body = tkv_get(&item, "body") ?: "";
		struct queue_send_entry e = { .body = body,
					      .body_len = strlen(body),
					      .delay_seconds = QUEUE_DELAY_UNSET };

		rc = tdead_letter(ts, txn, id, &sub, &e, res);
	}
out:
	queue_kv_list_free(&item);
	queue_kv_list_free(&sub);
	return rc;
}

int topic_outbox_done(struct topic_store *ts, uint64_t seq, bool delivered,
		      struct topic_result *res)
{
	struct done_args a = { seq, delivered };

	return tgroup_run(ts, do_done, &a, res);
}

struct retry_args {
	uint64_t seq;
	int attempts;
	int64_t due_ms;
};

static int do_retry(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	const struct retry_args *a = arg;
	struct queue_kv_list item = { 0 };
	char n[24], due[24];
	uint8_t key[8];
	int rc;

	if (load_item(ts, txn, a->seq, key, &item, res))
		return -1;
	snprintf(n, sizeof(n), "%d", a->attempts);
	snprintf(due, sizeof(due), "%lld", (long long)a->due_ms);
	tkv_set(&item, "attempts", n);
	tkv_set(&item, "due", due);
	rc = trec_store(txn, ts->dbi[TDB_OUTBOX], key, sizeof(key), &item, res);
	queue_kv_list_free(&item);
	return rc;
}

int topic_outbox_retry(struct topic_store *ts, uint64_t seq, int attempts, int64_t due_ms,
		       struct topic_result *res)
{
	struct retry_args a = { seq, attempts, due_ms };

	return tgroup_run(ts, do_retry, &a, res);
}

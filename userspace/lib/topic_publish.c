// SPDX-License-Identifier: BSD-2-Clause
/*
 * Publish and PublishBatch: validation, FIFO deduplication and sequence
 * numbers, filtering per subscription, and delivery. Queue deliveries are
 * queue_send calls in the same group as the publish, so they are durable
 * when the publish returns; failed ones go to the subscription's
 * RedrivePolicy queue. http, https and udp deliveries go to the outbox.
 */
#include "topic_int.h"
#include "ruleset.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tdedup_rec {
	int64_t expires_ms;
	uint64_t seq;
	char message_id[37];
};

int tgroup_run(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res)
{
	struct queue_result qr;

	if (ts->qs->group)
		return ttxn_write(ts, fn, arg, res);
	if (queue_txn_begin(ts->qs, &qr))
		return terr_queue(res, &qr);
	if (ttxn_write(ts, fn, arg, res)) {
		queue_txn_abort(ts->qs);
		return -1;
	}
	if (queue_txn_commit(ts->qs, &qr))
		return terr_queue(res, &qr);
	return 0;
}

int tdead_letter(struct topic_store *ts, MDB_txn *txn, const char *sub_id,
		 const struct queue_kv_list *sub, const struct queue_send_entry *entry,
		 struct topic_result *res)
{
	const char *policy = tkv_get(sub, "RedrivePolicy");
	char dlq[QUEUE_NAME_MAX + 1], *arn;
	struct queue_send_result sr;
	struct queue_result qr;

	if (policy && (arn = strstr(policy, "arn:aws:sqs:"))) {
		/* The policy was validated: the ARN is the one JSON string starting so. */
		size_t n = strcspn(arn, "\"");
		char *copy = xstrndup(arn, n);
		int bad = queue_name_from_arn(ts->qs, copy, dlq, sizeof(dlq));

		free(copy);
		if (!bad && !queue_send(ts->qs, dlq, entry, &sr, &qr))
			return tcount_add(ts, txn, sub_id, TC_DEAD_LETTERED, res);
		if (!bad && qr.code == QE_INTERNAL_ERROR)
			return terr_queue(res, &qr);
	}
	return tcount_add(ts, txn, sub_id, TC_FAILED, res);
}

/* ------------------------------------------------------------ filtering */

/*
 * Which subscriptions want the message: one ruleset per scope holding every
 * policy of the topic, matched once each. Sets want[i] for subscription i.
 */
static void filter(const struct queue_kv_list *subs, size_t n, const char *attrs_json,
		   const char *body, bool *want)
{
	struct bb_ruleset *rs[2] = { bb_ruleset_new(), bb_ruleset_new() };

	for (size_t i = 0; i < n; i++) {
		const char *policy = tkv_get(&subs[i], "FilterPolicy");
		const char *scope = tkv_get(&subs[i], "FilterPolicyScope");
		int s = scope && !strcmp(scope, "MessageBody");
		char name[24];

		want[i] = !policy;
		if (!policy)
			continue;
		snprintf(name, sizeof(name), "%zu", i);
		/* Stored policies were validated; one that no longer compiles matches nothing. */
		(void)bb_ruleset_add_policy(rs[s], name, policy, strlen(policy),
					    s ? BB_SCOPE_MESSAGE_BODY : BB_SCOPE_MESSAGE_ATTRIBUTES,
					    BB_API_SET_SUBSCRIPTION_ATTRIBUTES, NULL);
	}
	for (int s = 0; s < 2; s++) {
		struct bb_match_ctx *ctx;
		const uint32_t *hit;
		int k;

		bb_ruleset_compile(rs[s]);
		ctx = bb_match_ctx_new(rs[s]);
		k = s ? bb_match_event(ctx, body, strlen(body), &hit, NULL)
		      : bb_match_attributes(ctx, attrs_json, strlen(attrs_json), &hit, NULL);
		for (int j = 0; j < k; j++)
			want[atoi(bb_ruleset_rule_name(rs[s], hit[j]))] = true;
		bb_match_ctx_free(ctx);
		bb_ruleset_free(rs[s]);
	}
}

/* The kernel's decision: subscriptions without a policy, and the policies it matched. */
static void kernel_filter(const struct topic_publish_entry *e, const struct queue_kv_list *ids,
			  const struct queue_kv_list *subs, bool *want)
{
	for (size_t i = 0; i < ids->n; i++) {
		want[i] = !tkv_get(&subs[i], "FilterPolicy");
		for (size_t j = 0; j < e->n_matched && !want[i]; j++)
			want[i] = !strcmp(e->matched[j], ids->v[i].name);
	}
}

/* ------------------------------------------------------------ one publish */

struct pub_args {
	const char *topic_arn;
	const struct topic_publish_entry *e;
	struct topic_publish_result *out;
};

/* Per publish: the topic, the message id, the FIFO bits, the envelope's shared parts. */
struct pub {
	struct topic_store *ts;
	MDB_txn *txn;
	const struct topic_publish_entry *e;
	const char *topic_arn;
	char name[TOPIC_NAME_MAX + 1];
	struct queue_kv_list topic;
	bool fifo;
	char message_id[37];
	char seq[21];
	char dedup[65]; /* the FIFO deduplication id (given, or the content's SHA-256) */
	int64_t now;
	struct strbuf attrs_json;
	struct strbuf signature; /* of the default message; per protocol when structured */
};

/* 1 when the FIFO message is a duplicate (result filled), 0 new, -1 error. */
static int fifo_dedup(struct pub *p, struct topic_publish_result *out, struct topic_result *res)
{
	const char *scope = tkv_get(&p->topic, "FifoThroughputScope");
	struct strbuf key = STRBUF_INIT;
	struct tdedup_rec d;
	uint64_t seq;
	char n[24];
	MDB_val k, v;
	int rc;

	if (p->e->dedup_id)
		snprintf(p->dedup, sizeof(p->dedup), "%s", p->e->dedup_id);
	else
		qsha256_hex(p->e->message, strlen(p->e->message), p->dedup);
	sb_add(&key, p->name, strlen(p->name) + 1);
	if (scope && !strcmp(scope, "MessageGroup"))
		sb_add(&key, p->e->group_id, strlen(p->e->group_id) + 1);
	sb_adds(&key, p->dedup);
	k = (MDB_val){ .mv_size = key.len, .mv_data = key.buf };
	rc = mdb_get(p->txn, p->ts->dbi[TDB_DEDUP], &k, &v);
	if (!rc && v.mv_size == sizeof(d)) {
		memcpy(&d, v.mv_data, sizeof(d));
		if (d.expires_ms > p->now) {
			memcpy(out->message_id, d.message_id, sizeof(out->message_id));
			qseq_format(d.seq, out->sequence_number);
			sb_free(&key);
			return 1;
		}
	} else if (rc && rc != MDB_NOTFOUND) {
		sb_free(&key);
		return terr_mdb(res, rc);
	}
	seq = strtoull(tkv_get(&p->topic, "_seq") ?: "0", NULL, 10) + 1;
	snprintf(n, sizeof(n), "%llu", (unsigned long long)seq);
	tkv_set(&p->topic, "_seq", n);
	qseq_format(seq, p->seq);
	d = (struct tdedup_rec){ .expires_ms = p->now + TOPIC_DEDUP_WINDOW_MS, .seq = seq };
	memcpy(d.message_id, p->message_id, sizeof(d.message_id));
	v = (MDB_val){ .mv_size = sizeof(d), .mv_data = &d };
	rc = mdb_put(p->txn, p->ts->dbi[TDB_DEDUP], &k, &v, 0);
	sb_free(&key);
	if (rc)
		return terr_mdb(res, rc);
	return trec_store(p->txn, p->ts->dbi[TDB_TOPICS], p->name, strlen(p->name), &p->topic, res);
}

/* What subscription @sub gets: its body (envelope or raw) into @body. */
static void payload(struct pub *p, const char *sub_id, const struct queue_kv_list *sub,
		    struct strbuf *body)
{
	const char *protocol = tkv_get(sub, "Protocol") ?: "";
	struct strbuf msg = STRBUF_INIT;
	char sub_arn[600];

	tmsg_for_protocol(p->e, protocol, &msg);
	sb_reset(body);
	if (tkv_true(sub, "RawMessageDelivery")) {
		sb_add(body, msg.buf, msg.len);
		sb_free(&msg);
		return;
	}
	tsub_arn(p->topic_arn, sub_id, sub_arn, sizeof(sub_arn));
	struct tenvelope env = { .type = "Notification",
				 .message_id = p->message_id,
				 .topic_arn = p->topic_arn,
				 .subject = p->e->subject,
				 .message = msg.buf,
				 .time_ms = p->now,
				 .sequence_number = p->fifo ? p->seq : NULL,
				 .attrs_json = p->e->nattrs ? p->attrs_json.buf : NULL,
				 .sub_arn = sub_arn,
				 .signature_version = tkv_get(&p->topic, "SignatureVersion") };

	/* The signature covers no subscriber field: sign the unstructured message once. */
	if (!p->e->message_structure) {
		if (!p->signature.len)
			tenvelope_sign(p->ts, &env, &p->signature);
		env.signature = p->signature.buf;
	}
	tenvelope_build(p->ts, &env, body);
	sb_free(&msg);
}

static int deliver(struct pub *p, const char *sub_id, const struct queue_kv_list *sub,
		   struct topic_result *res)
{
	const char *protocol = tkv_get(sub, "Protocol") ?: "";
	bool raw = tkv_true(sub, "RawMessageDelivery");
	struct strbuf body = STRBUF_INIT;
	char qname[QUEUE_NAME_MAX + 1], sub_arn[600];
	int rc;

	payload(p, sub_id, sub, &body);
	if (tprotocol_is_queue(protocol)) {
		struct queue_send_entry qe = { .body = body.buf,
					       .body_len = body.len,
					       .delay_seconds = QUEUE_DELAY_UNSET,
					       .attrs = raw ? p->e->attrs : NULL,
					       .nattrs = raw ? p->e->nattrs : 0,
					       .group_id = p->e->group_id,
					       .dedup_id = p->fifo ? p->dedup : NULL };
		struct queue_send_result sr;
		struct queue_result qr = { .code = QE_OK };

		if (!queue_name_from_arn(p->ts->qs, tkv_get(sub, "Endpoint"), qname,
					 sizeof(qname)) &&
		    !queue_send(p->ts->qs, qname, &qe, &sr, &qr)) {
			rc = tcount_add(p->ts, p->txn, sub_id, TC_DELIVERED, res);
			p->ts->queue_deliveries++;
		} else if (qr.code == QE_INTERNAL_ERROR)
			rc = terr_queue(res, &qr);
		else
			rc = tdead_letter(p->ts, p->txn, sub_id, sub, &qe, res);
	} else {
		/* raw udp: the datagram's attributes section carries them (wire.md) */
		bool attrs = raw && !strcmp(protocol, "udp") && p->e->nattrs;

		tsub_arn(p->topic_arn, sub_id, sub_arn, sizeof(sub_arn));
		rc = toutbox_put(p->ts, p->txn, sub_arn, protocol, tkv_get(sub, "Endpoint"),
				 "Notification", p->message_id, p->topic_arn, body.buf, raw,
				 attrs ? p->attrs_json.buf : NULL, res);
	}
	sb_free(&body);
	return rc;
}

static int fan_out(struct pub *p, struct topic_result *res)
{
	struct queue_kv_list ids = { 0 }, *subs;
	struct strbuf body = STRBUF_INIT;
	bool *want;
	int rc = -1;
	size_t i;

	if (tsub_ids(p->ts, p->txn, p->name, &ids, res))
		return -1;
	subs = xcalloc(ids.n, sizeof(*subs));
	want = xcalloc(ids.n, sizeof(*want));
	for (i = 0; i < ids.n; i++)
		if (trec_load(p->txn, p->ts->dbi[TDB_SUBS], ids.v[i].name, TOPIC_UUID_LEN, &subs[i],
			      res) < 0)
			goto out;
	tmsg_for_protocol(p->e, "default", &body);
	if (p->e->kernel_decided)
		kernel_filter(p->e, &ids, subs, want);
	else
		filter(subs, ids.n, p->attrs_json.buf, body.buf, want);
	for (i = 0; i < ids.n; i++) {
		/* Pending subscriptions get nothing, and count nothing. */
		if (tkv_true(&subs[i], "PendingConfirmation"))
			continue;
		if (!want[i] ? tcount_add(p->ts, p->txn, ids.v[i].name, TC_FILTERED, res)
			     : deliver(p, ids.v[i].name, &subs[i], res))
			goto out;
	}
	rc = 0;
out:
	for (i = 0; i < ids.n; i++)
		queue_kv_list_free(&subs[i]);
	free(subs);
	free(want);
	sb_free(&body);
	queue_kv_list_free(&ids);
	return rc;
}

static int do_publish(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct pub_args *a = arg;
	struct pub p = { .ts = ts,
			 .txn = txn,
			 .e = a->e,
			 .topic_arn = a->topic_arn,
			 .attrs_json = STRBUF_INIT,
			 .signature = STRBUF_INIT };
	uint8_t raw[16];
	int rc = -1;

	if (ttopic_load(ts, txn, a->topic_arn, "TopicArn", p.name, sizeof(p.name), &p.topic, res))
		goto out;
	p.fifo = tkv_true(&p.topic, "FifoTopic");
	if (tmsg_validate(a->e, p.fifo, tkv_true(&p.topic, "ContentBasedDeduplication"), res))
		goto out;
	p.now = queue_store_now(ts->qs);
	qrandom(raw, sizeof(raw));
	quuid_format(raw, p.message_id);
	if (p.fifo) {
		int dup = fifo_dedup(&p, a->out, res);

		if (dup) {
			rc = dup > 0 ? 0 : -1;
			goto out;
		}
	}
	tmsg_attrs_json(a->e->attrs, a->e->nattrs, &p.attrs_json);
	if (fan_out(&p, res))
		goto out;
	memcpy(a->out->message_id, p.message_id, sizeof(p.message_id));
	memcpy(a->out->sequence_number, p.fifo ? p.seq : "", p.fifo ? sizeof(p.seq) : 1);
	rc = 0;
out:
	queue_kv_list_free(&p.topic);
	sb_free(&p.attrs_json);
	sb_free(&p.signature);
	return rc;
}

int topic_publish(struct topic_store *ts, const char *topic_arn,
		  const struct topic_publish_entry *e, struct topic_publish_result *out,
		  struct topic_result *res)
{
	struct pub_args a = { topic_arn, e, out };

	tok(res);
	memset(out, 0, sizeof(*out));
	if (!topic_arn)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: TopicArn");
	return tgroup_run(ts, do_publish, &a, res);
}

/* ------------------------------------------------------------ batches */

struct batch_args {
	const char *topic_arn;
	const struct topic_publish_entry *e;
	size_t n;
	struct topic_publish_result *out;
};

static int do_batch(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	struct batch_args *b = arg;
	struct queue_kv_list topic = { 0 };
	char name[TOPIC_NAME_MAX + 1];
	int rc = ttopic_load(ts, txn, b->topic_arn, "TopicArn", name, sizeof(name), &topic, res);

	queue_kv_list_free(&topic);
	if (rc)
		return -1;
	for (size_t i = 0; i < b->n; i++) {
		struct pub_args a = { b->topic_arn, &b->e[i], &b->out[i] };

		tok(&b->out[i].err);
		if (do_publish(ts, txn, &a, &b->out[i].err) &&
		    b->out[i].err.code == TE_INTERNAL_ERROR) {
			*res = b->out[i].err;
			return -1;
		}
	}
	return 0;
}

int topic_publish_batch(struct topic_store *ts, const char *topic_arn,
			const struct topic_publish_entry *e, size_t n,
			struct topic_publish_result *out, struct topic_result *res)
{
	struct batch_args b = { topic_arn, e, n, out };
	struct queue_result qr;
	size_t total = 0;

	tok(res);
	if (!topic_arn)
		return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: TopicArn");
	if (n == 0)
		return terr(res, TE_EMPTY_BATCH_REQUEST,
			    "The batch request doesn't contain any entries");
	if (n > TOPIC_MAX_BATCH)
		return terr(res, TE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
			    "The batch request contains more entries than permissible");
	if (qbatch_check(e, n, sizeof(*e), offsetof(struct topic_publish_entry, id),
			 "PublishBatchRequestEntry", &qr))
		return terr_queue(res, &qr);
	for (size_t i = 0; i < n; i++) {
		total += e[i].message ? strlen(e[i].message) : 0;
		for (size_t j = 0; j < e[i].nattrs; j++)
			total += strlen(e[i].attrs[j].name ?: "") +
				 strlen(e[i].attrs[j].type ?: "") + e[i].attrs[j].len;
	}
	if (total > TOPIC_MAX_MESSAGE)
		return terr(res, TE_BATCH_REQUEST_TOO_LONG,
			    "The length of all the messages put together is more than the limit.");
	memset(out, 0, n * sizeof(*out));
	return tgroup_run(ts, do_batch, &b, res);
}

/* ------------------------------------------------------------ sweep */

static int do_sweep(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res)
{
	long *dropped = arg;
	int64_t now = queue_store_now(ts->qs);
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, ts->dbi[TDB_DEDUP], &c);

	if (rc)
		return terr_mdb(res, rc);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct tdedup_rec d;

		if (v.mv_size != sizeof(d))
			continue;
		memcpy(&d, v.mv_data, sizeof(d));
		if (d.expires_ms > now)
			continue;
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		++*dropped;
	}
	mdb_cursor_close(c);
	return rc && rc != MDB_NOTFOUND ? terr_mdb(res, rc) : 0;
}

long topic_store_sweep(struct topic_store *ts, struct topic_result *res)
{
	long dropped = 0;

	return ttxn_write(ts, do_sweep, &dropped, res) ? -1 : dropped;
}

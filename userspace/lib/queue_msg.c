// SPDX-License-Identifier: BSD-2-Clause
/*
 * Message records and the calls that work on one message: SendMessage(Batch),
 * DeleteMessage(Batch), ChangeMessageVisibility(Batch), receipt handles and
 * moving a message to another queue.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ records */

int qmsg_decode(const MDB_val *v, struct qmsg *m)
{
	const char *p = (const char *)v->mv_data + sizeof(m->h);
	size_t need;

	if (v->mv_size < sizeof(m->h))
		return -1;
	memcpy(&m->h, v->mv_data, sizeof(m->h));
	need = sizeof(m->h) + m->h.group_len + m->h.dedup_len + m->h.sender_len + m->h.dlq_src_len +
	       4 + (size_t)m->h.body_len + m->h.attrs_len;
	if (v->mv_size != need)
		return -1;
	/* Strings are stored NUL-terminated so they can be used in place. */
	m->group = p, p += m->h.group_len + 1;
	m->dedup = p, p += m->h.dedup_len + 1;
	m->sender = p, p += m->h.sender_len + 1;
	m->dlq_src = p, p += m->h.dlq_src_len + 1;
	m->body = p, p += m->h.body_len;
	m->attrs = (const uint8_t *)p;
	return 0;
}

void qmsg_encode(const struct qmsg *m, MDB_val *out)
{
	struct strbuf sb = STRBUF_INIT;
	const char *strs[4] = { m->group, m->dedup, m->sender, m->dlq_src };
	struct mrec h = m->h;

	h.group_len = (uint16_t)strlen(m->group);
	h.dedup_len = (uint16_t)strlen(m->dedup);
	h.sender_len = (uint16_t)strlen(m->sender);
	h.dlq_src_len = (uint16_t)strlen(m->dlq_src);
	sb_reserve(&sb, sizeof(h) + 600 + h.body_len + h.attrs_len);
	sb_add(&sb, &h, sizeof(h));
	for (int i = 0; i < 4; i++)
		sb_add(&sb, strs[i], strlen(strs[i]) + 1);
	sb_add(&sb, m->body, h.body_len);
	if (h.attrs_len)
		sb_add(&sb, m->attrs, h.attrs_len);
	out->mv_size = sb.len;
	out->mv_data = sb.buf;
}

static void vis_key(struct qkey *k, uint64_t qid, int64_t vis, uint64_t seq)
{
	qkey_init(k, qid);
	qkey_u64(k, (uint64_t)(vis < 0 ? 0 : vis));
	qkey_u64(k, seq);
}

static void msg_key(struct qkey *k, uint64_t qid, uint64_t seq)
{
	qkey_init(k, qid);
	qkey_u64(k, seq);
}

int qmsg_put(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq, const struct qmsg *m,
	     struct queue_result *res)
{
	struct vis_rec vr = { .sent_ms = m->h.sent_ms, .received = m->h.recv_count > 0 };
	struct qkey mk, vk;
	MDB_val k, v;
	int rc;

	msg_key(&mk, qid, seq);
	k = qkey_val(&mk);
	qmsg_encode(m, &v);
	rc = mdb_put(txn, st->dbi[DB_MSGS], &k, &v, 0);
	free(v.mv_data);
	if (!rc) {
		vis_key(&vk, qid, m->h.visible_ms, seq);
		k = qkey_val(&vk);
		v = (MDB_val){ .mv_size = sizeof(vr), .mv_data = &vr };
		rc = mdb_put(txn, st->dbi[DB_VIS], &k, &v, 0);
	}
	return rc ? qerr_mdb(res, rc) : 0;
}

/* Drop the index entry of a message whose visibility is about to change. */
static int vis_del(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq, int64_t vis)
{
	struct qkey vk;
	MDB_val k;
	int rc;

	vis_key(&vk, qid, vis, seq);
	k = qkey_val(&vk);
	rc = mdb_del(txn, st->dbi[DB_VIS], &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int qmsg_del(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq, int64_t vis,
	     struct queue_result *res)
{
	struct qkey mk;
	MDB_val k;
	int rc = vis_del(st, txn, qid, seq, vis);

	msg_key(&mk, qid, seq);
	k = qkey_val(&mk);
	if (!rc)
		rc = mdb_del(txn, st->dbi[DB_MSGS], &k, NULL);
	return rc && rc != MDB_NOTFOUND ? qerr_mdb(res, rc) : 0;
}

/* Rewrite message @m (its visibility may have changed from @old_vis). */
int qmsg_update(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq,
		const struct qmsg *m, int64_t old_vis, struct queue_result *res)
{
	int rc = vis_del(st, txn, qid, seq, old_vis);

	return rc ? qerr_mdb(res, rc) : qmsg_put(st, txn, qid, seq, m, res);
}

int qmsg_move(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq,
	      const struct qmsg *m, const char *dst, const char *src_arn, bool keep_count,
	      struct queue_result *res)
{
	struct qconf d;
	struct qmsg n = *m;
	int64_t now = queue_store_now(st);
	int rc;

	if (qconf_load(st, txn, dst, &d, res))
		return -1;
	/* FIFO queues restart the retention clock; standard ones keep the original. */
	if (d.flags & QF_FIFO)
		n.h.sent_ms = now;
	n.h.visible_ms = now;
	n.h.token = 0;
	n.h.recv_ms = 0;
	if (!keep_count) {
		n.h.recv_count = 0;
		n.h.first_recv_ms = 0;
	}
	n.dlq_src = src_arn ? src_arn : "";
	rc = qmsg_put(st, txn, d.id, qnext_seq(st), &n, res);
	qconf_free(&d);
	if (!rc)
		rc = qmsg_del(st, txn, qid, seq, m->h.visible_ms, res);
	return rc;
}

void qattrs_encode(const struct queue_msg_attr *a, size_t n, uint8_t **out, size_t *len)
{
	struct strbuf sb = STRBUF_INIT;
	uint16_t cnt = (uint16_t)n;

	*out = NULL;
	*len = 0;
	if (!n)
		return;
	sb_add(&sb, &cnt, 2);
	for (size_t i = 0; i < n; i++) {
		uint16_t nl = (uint16_t)strlen(a[i].name), tl = (uint16_t)strlen(a[i].type);
		uint32_t vl = (uint32_t)a[i].len;

		sb_add(&sb, &nl, 2);
		sb_add(&sb, a[i].name, nl + 1);
		sb_add(&sb, &tl, 2);
		sb_add(&sb, a[i].type, tl + 1);
		sb_add(&sb, &vl, 4);
		sb_add(&sb, a[i].value, vl);
	}
	*out = (uint8_t *)sb.buf;
	*len = sb.len;
}

size_t qattrs_decode(const uint8_t *p, size_t len, struct queue_msg_attr *out)
{
	const uint8_t *end = p + len;
	uint16_t cnt, nl, tl;
	uint32_t vl;
	size_t i;

	if (len < 2)
		return 0;
	memcpy(&cnt, p, 2);
	p += 2;
	for (i = 0; i < cnt && i < QUEUE_MAX_ATTRS; i++) {
		if (end - p < 2)
			break;
		memcpy(&nl, p, 2);
		out[i].name = (const char *)p + 2;
		p += 2 + nl + 1;
		if (end - p < 2)
			break;
		memcpy(&tl, p, 2);
		out[i].type = (const char *)p + 2;
		p += 2 + tl + 1;
		if (end - p < 4)
			break;
		memcpy(&vl, p, 4);
		out[i].value = p + 4;
		out[i].len = vl;
		p += 4 + vl;
	}
	return i;
}

/* ------------------------------------------------------------ receipt handles */

static uint64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint32_t handle_check(const struct queue_store *st, uint64_t qid, uint64_t seq,
			     uint64_t token)
{
	return (uint32_t)mix64(st->meta.secret ^ mix64(qid ^ mix64(seq ^ mix64(token))));
}

void qhandle_format(const struct queue_store *st, uint64_t qid, uint64_t seq, uint64_t token,
		    char out[64])
{
	snprintf(out, 64, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%08" PRIx32, qid, seq, token,
		 handle_check(st, qid, seq, token));
}

int qhandle_parse(const struct queue_store *st, const char *h, uint64_t *qid, uint64_t *seq,
		  uint64_t *token)
{
	char part[17];
	uint64_t v[4];

	if (!h || strlen(h) != 56 || strspn(h, "0123456789abcdef") != 56)
		return -1;
	for (int i = 0; i < 4; i++) {
		snprintf(part, sizeof(part), "%.*s", i < 3 ? 16 : 8, h + 16 * i);
		v[i] = strtoull(part, NULL, 16);
	}
	if (v[3] != handle_check(st, v[0], v[1], v[2]))
		return -1;
	*qid = v[0];
	*seq = v[1];
	*token = v[2];
	return 0;
}

/* ------------------------------------------------------------ send */

struct send_args {
	const char *queue;
	const struct queue_send_entry *e;
	size_t n;
	struct queue_send_result *out;
	bool batch;
};

static int check_entry(const struct qconf *q, const struct queue_send_entry *e,
		       struct queue_result *res)
{
	bool fifo = q->flags & QF_FIFO;
	uint32_t bad = 0;
	size_t size;

	if (!e->body || !e->body_len)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter MessageBody.");
	if (!qtext_valid(e->body, e->body_len, &bad))
		return qerr(res, QE_INVALID_MESSAGE_CONTENTS,
			    "Invalid binary character '#x%X' was found in the message body, the "
			    "set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | "
			    "#xE000 to #xFFFD | #x10000 to #x10FFFF",
			    bad);
	if (qattrs_validate(e->attrs, e->nattrs, &size, res))
		return -1;
	if (e->body_len + size > (size_t)q->max_size)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "One or more parameters are invalid. Reason: Message must be shorter "
			    "than %d bytes.",
			    q->max_size);
	if (e->delay_seconds != QUEUE_DELAY_UNSET && fifo)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %d for parameter DelaySeconds is invalid. Reason: The request "
			    "include parameter that is not valid for this queue type.",
			    e->delay_seconds);
	if (e->delay_seconds != QUEUE_DELAY_UNSET &&
	    (e->delay_seconds < 0 || e->delay_seconds > 900))
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds "
			    "must be >= 0 and <= 900.",
			    e->delay_seconds);
	if (fifo && !e->group_id)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter MessageGroupId.");
	if (e->group_id && !qtoken_valid(e->group_id))
		return qbad_token(res, "MessageGroupId", e->group_id);
	if (e->dedup_id && !fifo)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %s for parameter MessageDeduplicationId is invalid. Reason: "
			    "The request include parameter that is not valid for this queue type.",
			    e->dedup_id);
	if (e->dedup_id && !qtoken_valid(e->dedup_id))
		return qbad_token(res, "MessageDeduplicationId", e->dedup_id);
	if (fifo && !e->dedup_id && !(q->flags & QF_CBD))
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "The queue should either have ContentBasedDeduplication enabled or "
			    "MessageDeduplicationId provided explicitly");
	return 0;
}

static int by_attr_name(const void *a, const void *b)
{
	return strcmp(((const struct queue_msg_attr *)a)->name,
		      ((const struct queue_msg_attr *)b)->name);
}

static int send_one(struct queue_store *st, MDB_txn *txn, const struct qconf *q,
		    const struct queue_send_entry *e, struct queue_send_result *out,
		    struct queue_result *res)
{
	struct queue_msg_attr sorted[QUEUE_MAX_ATTRS];
	char cbd[65];
	const char *dedup = e->dedup_id;
	struct qmsg m = { 0 };
	int64_t now = queue_store_now(st);
	uint64_t seq;
	uint8_t *attrs;
	size_t alen;
	int rc;

	if (check_entry(q, e, res))
		return -1;
	if (e->nattrs)
		memcpy(sorted, e->attrs, e->nattrs * sizeof(*sorted));
	qsort(sorted, e->nattrs, sizeof(*sorted), by_attr_name);
	qmd5(e->body, e->body_len, m.h.md5_body);
	qhex(m.h.md5_body, 16, out->md5_body);
	queue_md5_attrs(sorted, e->nattrs, out->md5_attrs);
	out->sequence_number[0] = '\0';
	if (q->flags & QF_FIFO) {
		if (!dedup) {
			qsha256_hex(e->body, e->body_len, cbd);
			dedup = cbd;
		}
		if (qdedup_find(st, txn, q, e->group_id, dedup, &seq, m.h.msg_id)) {
			/* A duplicate: accepted, but the original is what is in the queue. */
			quuid_format(m.h.msg_id, out->message_id);
			qseq_format(seq, out->sequence_number);
			return 0;
		}
	}
	seq = qnext_seq(st);
	qrandom(m.h.msg_id, sizeof(m.h.msg_id));
	m.h.sent_ms = now;
	m.h.visible_ms =
		now + 1000 * (int64_t)(e->delay_seconds == QUEUE_DELAY_UNSET ? q->delay
									     : e->delay_seconds);
	m.h.body_len = (uint32_t)e->body_len;
	qattrs_encode(sorted, e->nattrs, &attrs, &alen);
	m.h.attrs_len = (uint32_t)alen;
	m.attrs = attrs;
	m.body = e->body;
	m.group = e->group_id ? e->group_id : "";
	m.dedup = (q->flags & QF_FIFO) ? dedup : "";
	m.sender = e->sender_id ? e->sender_id : st->account;
	m.dlq_src = "";
	rc = qmsg_put(st, txn, q->id, seq, &m, res);
	free(attrs);
	if (!rc && (q->flags & QF_FIFO))
		rc = qdedup_put(st, txn, q, e->group_id, dedup, seq, m.h.msg_id, res);
	if (rc)
		return -1;
	quuid_format(m.h.msg_id, out->message_id);
	if (q->flags & QF_FIFO)
		qseq_format(seq, out->sequence_number);
	return 0;
}

static int do_send(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct send_args *a = arg;
	struct qconf q;
	int rc = 0;

	if (qconf_load(st, txn, a->queue, &q, res))
		return -1;
	if (a->batch) {
		size_t total = 0;

		rc = qbatch_check(a->e, a->n, sizeof(*a->e), offsetof(struct queue_send_entry, id),
				  "SendMessageBatchRequestEntry", res);
		for (size_t i = 0; !rc && i < a->n; i++) {
			total += a->e[i].body_len;
			for (size_t j = 0; j < a->e[i].nattrs; j++)
				total +=
					strlen(a->e[i].attrs[j].name ? a->e[i].attrs[j].name : "") +
					strlen(a->e[i].attrs[j].type ? a->e[i].attrs[j].type : "") +
					a->e[i].attrs[j].len;
		}
		if (!rc && total > QUEUE_MAX_SIZE_LIMIT)
			rc = qerr(
				res, QE_BATCH_REQUEST_TOO_LONG,
				"Batch requests cannot be longer than %d bytes. You have sent %zu "
				"bytes.",
				QUEUE_MAX_SIZE_LIMIT, total);
	}
	for (size_t i = 0; !rc && i < a->n; i++) {
		struct queue_result *er = a->batch ? &a->out[i].err : res;

		qok(er);
		if (send_one(st, txn, &q, &a->e[i], &a->out[i], er) && !a->batch)
			rc = -1;
		/* A store failure ends the batch: nothing of it may commit. */
		if (a->batch && er->code == QE_INTERNAL_ERROR) {
			*res = *er;
			rc = -1;
		}
	}
	qconf_free(&q);
	return rc;
}

int queue_send(struct queue_store *st, const char *queue, const struct queue_send_entry *e,
	       struct queue_send_result *out, struct queue_result *res)
{
	struct send_args a = { queue, e, 1, out, false };

	if (qtxn_write(st, do_send, &a, res))
		return -1;
	qstats_count(st, queue, QA_SENT, 1);
	return 0;
}

int queue_send_batch(struct queue_store *st, const char *queue, const struct queue_send_entry *e,
		     size_t n, struct queue_send_result *out, struct queue_result *res)
{
	struct send_args a = { queue, e, n, out, true };
	uint64_t sent = 0;

	if (qtxn_write(st, do_send, &a, res))
		return -1;
	for (size_t i = 0; i < n; i++)
		sent += out[i].err.code == QE_OK;
	qstats_count(st, queue, QA_SENT, sent);
	return 0;
}

/* ------------------------------------------------------------ delete, visibility */

struct handle_args {
	const char *queue;
	struct queue_handle_entry *e;
	size_t n;
	bool change; /* ChangeMessageVisibility, else DeleteMessage */
	bool batch;
};

static int expired_handle(struct queue_result *res, const char *h, bool change)
{
	return qerr(res, QE_INVALID_PARAMETER_VALUE,
		    "Value %s for parameter ReceiptHandle is invalid. Reason: %s", h,
		    change ? "Message does not exist or is not available for visibility timeout "
			     "change."
			   : "The receipt handle has expired.");
}

static int handle_one(struct queue_store *st, MDB_txn *txn, const struct qconf *q,
		      struct queue_handle_entry *e, bool change, struct queue_result *res)
{
	const char *h = e->receipt_handle ? e->receipt_handle : "";
	int64_t now = queue_store_now(st);
	uint64_t qid, seq, token;
	struct qkey mk;
	struct qmsg m;
	MDB_val k, v;
	bool fifo = q->flags & QF_FIFO;
	int rc;

	if (!*h)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter ReceiptHandle.");
	if (qhandle_parse(st, h, &qid, &seq, &token))
		return qerr(res, QE_RECEIPT_HANDLE_IS_INVALID,
			    "The input receipt handle \"%s\" is not a valid receipt handle.", h);
	if (qid != q->id)
		return qerr(res, QE_RECEIPT_HANDLE_IS_INVALID,
			    "The receipt handle \"%s\" is not valid for this queue.", h);
	if (change && qcheck_visibility(e->visibility_timeout, res))
		return -1;
	msg_key(&mk, qid, seq);
	k = qkey_val(&mk);
	rc = mdb_get(txn, st->dbi[DB_MSGS], &k, &v);
	if (rc && rc != MDB_NOTFOUND)
		return qerr_mdb(res, rc);
	if (rc == MDB_NOTFOUND || qmsg_decode(&v, &m) || m.h.token != token) {
		/* Deleted, expired, moved or received again since this handle. */
		if (change || fifo)
			return expired_handle(res, h, change);
		return 0; /* SQS: the request succeeds, the message stays */
	}
	if (m.h.visible_ms <= now) {
		if (change)
			return qerr(res, QE_MESSAGE_NOT_INFLIGHT,
				    "Message does not exist or is not available for visibility "
				    "timeout change.");
		return fifo ? expired_handle(res, h, change) : 0;
	}
	if (!change)
		return qmsg_del(st, txn, qid, seq, m.h.visible_ms, res);
	/* The 12-hour limit counts from the receive that issued this handle. */
	if (now + 1000 * (int64_t)e->visibility_timeout >
	    m.h.recv_ms + 1000 * (int64_t)QUEUE_MAX_VISIBILITY)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %d for parameter VisibilityTimeout is invalid. Reason: Total "
			    "VisibilityTimeout for the message is beyond the limit [43200 seconds]",
			    e->visibility_timeout);
	{
		struct qmsg n = m;
		MDB_val copy;
		int ret;

		/* @m points into the map, which the update rewrites: work on a copy. */
		qmsg_encode(&m, &copy);
		qmsg_decode(&copy, &n);
		n.h.visible_ms = now + 1000 * (int64_t)e->visibility_timeout;
		ret = qmsg_update(st, txn, qid, seq, &n, m.h.visible_ms, res);
		free(copy.mv_data);
		return ret;
	}
}

static int do_handles(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct handle_args *a = arg;
	struct qconf q;
	int rc = 0;

	if (qconf_load(st, txn, a->queue, &q, res))
		return -1;
	if (a->batch)
		rc = qbatch_check(a->e, a->n, sizeof(*a->e),
				  offsetof(struct queue_handle_entry, id),
				  a->change ? "ChangeMessageVisibilityBatchRequestEntry"
					    : "DeleteMessageBatchRequestEntry",
				  res);
	for (size_t i = 0; !rc && i < a->n; i++) {
		struct queue_result *er = a->batch ? &a->e[i].err : res;

		qok(er);
		if (handle_one(st, txn, &q, &a->e[i], a->change, er) &&
		    (!a->batch || er->code == QE_INTERNAL_ERROR)) {
			*res = *er;
			rc = -1;
		}
	}
	qconf_free(&q);
	return rc;
}

static int run_handles(struct queue_store *st, const char *queue, struct queue_handle_entry *e,
		       size_t n, bool change, bool batch, struct queue_result *res)
{
	struct handle_args a = { queue, e, n, change, batch };

	return qtxn_write(st, do_handles, &a, res);
}

int queue_delete_message(struct queue_store *st, const char *queue, const char *handle,
			 struct queue_result *res)
{
	struct queue_handle_entry e = { .receipt_handle = handle };

	if (run_handles(st, queue, &e, 1, false, false, res))
		return -1;
	qstats_count(st, queue, QA_DELETED, 1);
	return 0;
}

int queue_delete_message_batch(struct queue_store *st, const char *queue,
			       struct queue_handle_entry *e, size_t n, struct queue_result *res)
{
	uint64_t deleted = 0;

	if (run_handles(st, queue, e, n, false, true, res))
		return -1;
	for (size_t i = 0; i < n; i++)
		deleted += e[i].err.code == QE_OK;
	qstats_count(st, queue, QA_DELETED, deleted);
	return 0;
}

int queue_change_visibility(struct queue_store *st, const char *queue, const char *handle,
			    int timeout, struct queue_result *res)
{
	struct queue_handle_entry e = { .receipt_handle = handle, .visibility_timeout = timeout };

	return run_handles(st, queue, &e, 1, true, false, res);
}

int queue_change_visibility_batch(struct queue_store *st, const char *queue,
				  struct queue_handle_entry *e, size_t n, struct queue_result *res)
{
	return run_handles(st, queue, e, n, true, true, res);
}

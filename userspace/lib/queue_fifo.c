// SPDX-License-Identifier: BSD-2-Clause
/*
 * FIFO bookkeeping: the 5-minute deduplication window (per queue or per
 * message group), sequence numbers, and ReceiveRequestAttemptId records.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dedup_rec {
	int64_t expires_ms;
	uint64_t seq;
	uint8_t msg_id[16];
};

/* 20 digits, increasing: 10^19 + the store-wide sequence. */
void qseq_format(uint64_t seq, char out[21])
{
	snprintf(out, 21, "%020" PRIu64, (uint64_t)(10000000000000000000ULL + seq));
}

static void dedup_key(struct qkey *k, const struct qconf *q, const char *group, const char *dedup)
{
	qkey_init(k, q->id);
	if (q->flags & QF_DEDUP_GROUP)
		qkey_bytes(k, group, strlen(group) + 1);
	else
		qkey_bytes(k, "", 1);
	qkey_bytes(k, dedup, strlen(dedup));
}

int qdedup_find(struct queue_store *st, MDB_txn *txn, const struct qconf *q, const char *group,
		const char *dedup, uint64_t *seq, uint8_t msg_id[16])
{
	struct dedup_rec r;
	struct qkey k;
	MDB_val kv, v;

	dedup_key(&k, q, group, dedup);
	kv = qkey_val(&k);
	if (mdb_get(txn, st->dbi[DB_DEDUP], &kv, &v) || v.mv_size != sizeof(r))
		return 0;
	memcpy(&r, v.mv_data, sizeof(r));
	if (r.expires_ms <= queue_store_now(st))
		return 0;
	*seq = r.seq;
	memcpy(msg_id, r.msg_id, 16);
	return 1;
}

int qdedup_put(struct queue_store *st, MDB_txn *txn, const struct qconf *q, const char *group,
	       const char *dedup, uint64_t seq, const uint8_t msg_id[16], struct queue_result *res)
{
	struct dedup_rec r = { .expires_ms = queue_store_now(st) + QUEUE_DEDUP_WINDOW_MS,
			       .seq = seq };
	struct qkey k;
	MDB_val kv, v = { .mv_size = sizeof(r), .mv_data = &r };
	int rc;

	memcpy(r.msg_id, msg_id, 16);
	dedup_key(&k, q, group, dedup);
	kv = qkey_val(&k);
	rc = mdb_put(txn, st->dbi[DB_DEDUP], &kv, &v, 0);
	return rc ? qerr_mdb(res, rc) : 0;
}

/* ------------------------------------------------------------ receive attempts */

struct attempt_pair {
	uint64_t seq;
	uint64_t token;
};

static void attempt_key(struct qkey *k, uint64_t qid, const char *id)
{
	qkey_init(k, qid);
	qkey_bytes(k, id, strlen(id));
}

int qattempt_get(struct queue_store *st, MDB_txn *txn, uint64_t qid, const char *id, uint64_t *seqs,
		 uint64_t *tokens, size_t *n)
{
	struct qkey k;
	MDB_val kv, v;
	int64_t exp;
	size_t cnt;

	attempt_key(&k, qid, id);
	kv = qkey_val(&k);
	if (mdb_get(txn, st->dbi[DB_ATTEMPTS], &kv, &v) || v.mv_size < 8)
		return 0;
	memcpy(&exp, v.mv_data, 8);
	if (exp <= queue_store_now(st))
		return 0;
	cnt = (v.mv_size - 8) / sizeof(struct attempt_pair);
	for (size_t i = 0; i < cnt && i < QUEUE_MAX_BATCH; i++) {
		struct attempt_pair p;

		memcpy(&p, (uint8_t *)v.mv_data + 8 + i * sizeof(p), sizeof(p));
		seqs[i] = p.seq;
		tokens[i] = p.token;
	}
	*n = cnt < QUEUE_MAX_BATCH ? cnt : QUEUE_MAX_BATCH;
	return 1;
}

int qattempt_put(struct queue_store *st, MDB_txn *txn, uint64_t qid, const char *id,
		 const uint64_t *seqs, const uint64_t *tokens, size_t n, struct queue_result *res)
{
	int64_t exp = queue_store_now(st) + QUEUE_DEDUP_WINDOW_MS;
	struct strbuf sb = STRBUF_INIT;
	struct qkey k;
	MDB_val kv, v;
	int rc;

	sb_add(&sb, &exp, 8);
	for (size_t i = 0; i < n; i++) {
		struct attempt_pair p = { seqs[i], tokens[i] };

		sb_add(&sb, &p, sizeof(p));
	}
	attempt_key(&k, qid, id);
	kv = qkey_val(&k);
	v = (MDB_val){ .mv_size = sb.len, .mv_data = sb.buf };
	rc = mdb_put(txn, st->dbi[DB_ATTEMPTS], &kv, &v, 0);
	sb_free(&sb);
	return rc ? qerr_mdb(res, rc) : 0;
}

/* Drop dedup and attempt entries that expired; both start with an expiry time. */
long qfifo_sweep(struct queue_store *st, MDB_txn *txn)
{
	static const int dbs[] = { DB_DEDUP, DB_ATTEMPTS };
	int64_t now = queue_store_now(st);
	long dropped = 0;

	for (size_t i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
		MDB_cursor *c;
		MDB_val k, v;
		int rc;

		if (mdb_cursor_open(txn, st->dbi[dbs[i]], &c))
			continue;
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;) {
			uint8_t key[sizeof(((struct qkey *)0)->b)];
			int64_t exp = 0;

			if (v.mv_size >= 8)
				memcpy(&exp, v.mv_data, 8);
			if (exp > now || k.mv_size > sizeof(key)) {
				rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
				continue;
			}
			/* Delete, then seek to where the entry was. */
			memcpy(key, k.mv_data, k.mv_size);
			if (mdb_cursor_del(c, 0))
				break;
			dropped++;
			k.mv_data = key;
			rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		}
		mdb_cursor_close(c);
	}
	return dropped;
}

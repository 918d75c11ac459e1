// SPDX-License-Identifier: BSD-2-Clause
/*
 * Small records of the store's user, kept in the store's meta database under
 * "app/" keys, so that they commit in the same transaction as the messages
 * (the daemon's per-producer sequence windows: a retransmission after a crash
 * is recognised exactly when its first copy was committed). See queue.h.
 */
#include "queue_int.h"

#include <stdlib.h>
#include <string.h>

#define APP_PREFIX "app/"
#define APP_KEY_MAX 200

struct app_op {
	const void *key;
	size_t klen;
	const void *val; /* put */
	void *buf; /* get */
	size_t cap, *len;
	int found;
};

static MDB_val app_key(const struct app_op *op, uint8_t *buf)
{
	memcpy(buf, APP_PREFIX, 4);
	memcpy(buf + 4, op->key, op->klen);
	return (MDB_val){ .mv_size = 4 + op->klen, .mv_data = buf };
}

static int do_put(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct app_op *op = arg;
	uint8_t kb[4 + APP_KEY_MAX];
	MDB_val k = app_key(op, kb), v = { .mv_size = op->cap, .mv_data = (void *)op->val };
	int rc = mdb_put(txn, st->dbi[DB_META], &k, &v, 0);

	return rc ? qerr_mdb(res, rc) : 0;
}

static int do_get(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct app_op *op = arg;
	uint8_t kb[4 + APP_KEY_MAX];
	MDB_val k = app_key(op, kb), v;
	int rc = mdb_get(txn, st->dbi[DB_META], &k, &v);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return qerr_mdb(res, rc);
	op->found = 1;
	*op->len = v.mv_size;
	memcpy(op->buf, v.mv_data, v.mv_size < op->cap ? v.mv_size : op->cap);
	return 0;
}

int queue_app_put(struct queue_store *st, const void *key, size_t klen, const void *val,
		  size_t vlen, struct queue_result *res)
{
	struct app_op op = { .key = key, .klen = klen, .val = val, .cap = vlen };

	if (!klen || klen > APP_KEY_MAX)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "An app key is 1 to %d bytes",
			    APP_KEY_MAX);
	return qtxn_write(st, do_put, &op, res);
}

int queue_app_get(struct queue_store *st, const void *key, size_t klen, void *buf, size_t cap,
		  size_t *len, struct queue_result *res)
{
	struct app_op op = { .key = key, .klen = klen, .buf = buf, .cap = cap, .len = len };

	if (!klen || klen > APP_KEY_MAX)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "An app key is 1 to %d bytes",
			    APP_KEY_MAX);
	if (qtxn_read(st, do_get, &op, res))
		return -1;
	return op.found;
}

/*
 * A cursor on the first record whose key starts with "app/" + @prefix; @kb
 * receives that key prefix. Returns the LMDB code of the first get (the
 * cursor is open unless the open failed: *@c NULL).
 */
static int prefix_cursor(struct queue_store *st, MDB_txn *txn, const void *prefix, size_t plen,
			 uint8_t *kb, MDB_cursor **c, MDB_val *k, MDB_val *v)
{
	int rc = mdb_cursor_open(txn, st->dbi[DB_META], c);

	if (rc) {
		*c = NULL;
		return rc;
	}
	memcpy(kb, APP_PREFIX, 4);
	memcpy(kb + 4, prefix, plen);
	*k = (MDB_val){ .mv_size = 4 + plen, .mv_data = kb };
	return mdb_cursor_get(*c, k, v, MDB_SET_RANGE);
}

struct expire_op {
	const void *prefix;
	size_t plen, stamp_off;
	int64_t before;
	long n;
};

static int do_expire(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct expire_op *op = arg;
	uint8_t kb[4 + APP_KEY_MAX];
	MDB_cursor *c;
	MDB_val k, v;
	int rc = prefix_cursor(st, txn, op->prefix, op->plen, kb, &c, &k, &v);

	if (!c)
		return qerr_mdb(res, rc);
	for (; !rc && k.mv_size >= 4 + op->plen && !memcmp(k.mv_data, kb, 4 + op->plen);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		int64_t stamp;

		if (v.mv_size < op->stamp_off + sizeof(stamp))
			continue;
		memcpy(&stamp, (const uint8_t *)v.mv_data + op->stamp_off, sizeof(stamp));
		if (stamp >= op->before)
			continue;
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		op->n++;
	}
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND)
		return qerr_mdb(res, rc);
	return 0;
}

long queue_app_expire(struct queue_store *st, const void *prefix, size_t plen, size_t stamp_off,
		      int64_t before, struct queue_result *res)
{
	struct expire_op op = { prefix, plen, stamp_off, before, 0 };

	if (!plen || plen > APP_KEY_MAX)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "An app key prefix is 1 to %d bytes",
			    APP_KEY_MAX);
	if (qtxn_write(st, do_expire, &op, res))
		return -1;
	return op.n;
}

static int do_del(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct app_op *op = arg;
	uint8_t kb[4 + APP_KEY_MAX];
	MDB_val k = app_key(op, kb);
	int rc = mdb_del(txn, st->dbi[DB_META], &k, NULL);

	return rc && rc != MDB_NOTFOUND ? qerr_mdb(res, rc) : 0;
}

int queue_app_del(struct queue_store *st, const void *key, size_t klen, struct queue_result *res)
{
	struct app_op op = { .key = key, .klen = klen };

	if (!klen || klen > APP_KEY_MAX)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "An app key is 1 to %d bytes",
			    APP_KEY_MAX);
	return qtxn_write(st, do_del, &op, res);
}

struct first_op {
	const void *prefix, *below;
	size_t plen, blen, max, n;
	struct queue_app_rec *out;
};

static void *dup_bytes(const void *p, size_t n)
{
	void *c = malloc(n ? n : 1);

	if (c && n)
		memcpy(c, p, n);
	return c;
}

static int do_first(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct first_op *op = arg;
	uint8_t kb[4 + APP_KEY_MAX];
	MDB_cursor *c;
	MDB_val k, v;
	int rc = prefix_cursor(st, txn, op->prefix, op->plen, kb, &c, &k, &v);

	if (!c)
		return qerr_mdb(res, rc);
	for (; !rc && op->n < op->max; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *key = (const uint8_t *)k.mv_data + 4;
		size_t klen = k.mv_size - 4;

		if (k.mv_size < 4 + op->plen || memcmp(k.mv_data, kb, 4 + op->plen))
			break;
		if (op->below) {
			size_t m = klen < op->blen ? klen : op->blen;
			int cmp = memcmp(key, op->below, m);

			if (cmp > 0 || (cmp == 0 && klen >= op->blen))
				break;
		}
		struct queue_app_rec *r = &op->out[op->n];

		r->key = dup_bytes(key, klen);
		r->val = dup_bytes(v.mv_data, v.mv_size);
		if (!r->key || !r->val) {
			free(r->key), free(r->val);
			mdb_cursor_close(c);
			return qerr(res, QE_INTERNAL_ERROR, "Out of memory");
		}
		r->klen = klen;
		r->vlen = v.mv_size;
		op->n++;
	}
	mdb_cursor_close(c);
	if (rc && rc != MDB_NOTFOUND)
		return qerr_mdb(res, rc);
	return 0;
}

long queue_app_first(struct queue_store *st, const void *prefix, size_t plen, const void *below,
		     size_t blen, size_t max, struct queue_app_rec **out, struct queue_result *res)
{
	struct first_op op = { prefix, below, plen, blen, max, 0, NULL };

	*out = NULL;
	if (!plen || plen > APP_KEY_MAX)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "An app key prefix is 1 to %d bytes",
			    APP_KEY_MAX);
	if (!max)
		return 0;
	op.out = calloc(max, sizeof(*op.out));
	if (!op.out)
		return qerr(res, QE_INTERNAL_ERROR, "Out of memory");
	if (qtxn_read(st, do_first, &op, res)) {
		queue_app_recs_free(op.out, op.n);
		return -1;
	}
	*out = op.out;
	return (long)op.n;
}

void queue_app_recs_free(struct queue_app_rec *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++)
		free(r[i].key), free(r[i].val);
	free(r);
}

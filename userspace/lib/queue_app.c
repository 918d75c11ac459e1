// SPDX-License-Identifier: BSD-2-Clause
/*
 * Small records of the store's user, kept in the store's meta database under
 * "app/" keys, so that they commit in the same transaction as the messages
 * (the daemon's per-producer sequence windows: a retransmission after a crash
 * is recognised exactly when its first copy was committed). See queue.h.
 */
#include "queue_int.h"

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
	int rc = mdb_cursor_open(txn, st->dbi[DB_META], &c);

	if (rc)
		return qerr_mdb(res, rc);
	memcpy(kb, APP_PREFIX, 4);
	memcpy(kb + 4, op->prefix, op->plen);
	k = (MDB_val){ .mv_size = 4 + op->plen, .mv_data = kb };
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
	     !rc && k.mv_size >= 4 + op->plen && !memcmp(k.mv_data, kb, 4 + op->plen);
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

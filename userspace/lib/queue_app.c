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

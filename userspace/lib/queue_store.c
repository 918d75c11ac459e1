// SPDX-License-Identifier: BSD-2-Clause
/*
 * The LMDB environment of the queue store: open, transactions with group
 * commit and map growth, store-wide counters, key helpers.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char *const db_names[DB__COUNT] = {
	[DB_QUEUES] = "queues", [DB_MSGS] = "msgs",	    [DB_VIS] = "vis",
	[DB_DEDUP] = "dedup",	[DB_ATTEMPTS] = "attempts", [DB_TAGS] = "tags",
	[DB_TOMBS] = "tombs",	[DB_TASKS] = "tasks",	    [DB_META] = "meta",
};

static const MDB_val meta_key = { .mv_size = 8, .mv_data = "counters" };

static int64_t real_clock(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t queue_store_now(const struct queue_store *st)
{
	return st->clock(st->clock_ctx);
}

static int open_dbs(struct queue_store *st, struct queue_result *res)
{
	MDB_txn *txn;
	MDB_val v;
	int rc = mdb_txn_begin(st->env, NULL, 0, &txn);

	if (rc)
		return qerr_mdb(res, rc);
	for (int i = 0; i < DB__COUNT; i++) {
		rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE, &st->dbi[i]);
		if (rc)
			goto fail;
	}
	rc = mdb_get(txn, st->dbi[DB_META], (MDB_val *)&meta_key, &v);
	if (rc == 0 && v.mv_size == sizeof(st->meta)) {
		memcpy(&st->meta, v.mv_data, sizeof(st->meta));
	} else if (rc == MDB_NOTFOUND) {
		st->meta = (struct meta_rec){ .next_qid = 1, .next_seq = 1, .next_token = 1 };
		qrandom(&st->meta.secret, sizeof(st->meta.secret));
		v = (MDB_val){ .mv_size = sizeof(st->meta), .mv_data = &st->meta };
		rc = mdb_put(txn, st->dbi[DB_META], (MDB_val *)&meta_key, &v, 0);
		if (rc)
			goto fail;
	} else {
		rc = rc ? rc : MDB_CORRUPTED;
		goto fail;
	}
	rc = mdb_txn_commit(txn);
	return rc ? qerr_mdb(res, rc) : 0;
fail:
	mdb_txn_abort(txn);
	return qerr_mdb(res, rc);
}

struct queue_store *queue_store_open(const char *dir, const struct queue_store_opts *opts,
				     struct queue_result *res)
{
	static const struct queue_store_opts defaults;
	struct queue_store *st;
	int rc;

	if (!opts)
		opts = &defaults;
	if (mkdir(dir, 0700) && errno != EEXIST) {
		qerr(res, QE_INTERNAL_ERROR, "Cannot create %s: %s", dir, strerror(errno));
		return NULL;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		abort();
	snprintf(st->region, sizeof(st->region), "%s", opts->region ? opts->region : "us-east-1");
	snprintf(st->account, sizeof(st->account), "%s",
		 opts->account ? opts->account : "000000000000");
	st->clock = opts->clock ? opts->clock : real_clock;
	st->clock_ctx = opts->clock_ctx;
	st->map_size = opts->map_size ? opts->map_size : 64u << 20;
	st->max_inflight = opts->max_inflight > 0 ? opts->max_inflight : QUEUE_MAX_INFLIGHT;
	st->max_map_size = opts->max_map_size ? opts->max_map_size : (size_t)64 << 30;
	if (st->max_map_size < st->map_size)
		st->max_map_size = st->map_size;
	rc = mdb_env_create(&st->env);
	if (!rc)
		rc = mdb_env_set_maxdbs(st->env, DB__COUNT + QUEUE_EXTRA_DBS);
	if (!rc)
		rc = mdb_env_set_mapsize(st->env, st->map_size);
	/* Default flags: every commit is fsynced; "durable before acknowledged". */
	if (!rc)
		rc = mdb_env_open(st->env, dir, MDB_NOTLS, 0600);
	if (rc) {
		qerr_mdb(res, rc);
		goto fail;
	}
	/* An existing store may have grown beyond the initial size. */
	MDB_envinfo info;
	mdb_env_info(st->env, &info);
	if (info.me_mapsize > st->map_size)
		st->map_size = info.me_mapsize;
	if (open_dbs(st, res))
		goto fail;
	qok(res);
	return st;
fail:
	if (st->env)
		mdb_env_close(st->env);
	free(st);
	return NULL;
}

struct queue_tput_slot *queue_store_tput(struct queue_store *st)
{
	return st->tput;
}

void queue_store_close(struct queue_store *st)
{
	if (!st)
		return;
	if (st->group)
		queue_txn_abort(st);
	mdb_env_close(st->env);
	prom_table_free(&st->activity);
	free(st);
}

uint64_t qnext_seq(struct queue_store *st)
{
	st->meta_dirty = true;
	return st->meta.next_seq++;
}

uint64_t qnext_token(struct queue_store *st)
{
	st->meta_dirty = true;
	return st->meta.next_token++;
}

static int put_meta(struct queue_store *st, MDB_txn *txn)
{
	MDB_val v = { .mv_size = sizeof(st->meta), .mv_data = &st->meta };

	if (!st->meta_dirty)
		return 0;
	return mdb_put(txn, st->dbi[DB_META], (MDB_val *)&meta_key, &v, 0);
}

/* Re-read the counters after an aborted transaction so no value is reused wrongly. */
static void reload_meta(struct queue_store *st)
{
	MDB_txn *txn;
	MDB_val v;

	st->meta_dirty = false;
	if (mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn))
		return;
	if (!mdb_get(txn, st->dbi[DB_META], (MDB_val *)&meta_key, &v) &&
	    v.mv_size == sizeof(st->meta)) {
		struct meta_rec m;

		memcpy(&m, v.mv_data, sizeof(m));
		/* Tokens only grow: a handle given out in an aborted group stays dead. */
		if (m.next_token < st->meta.next_token)
			m.next_token = st->meta.next_token;
		st->meta = m;
	}
	mdb_txn_abort(txn);
}

static bool grow_map(struct queue_store *st)
{
	size_t want = st->map_size * 2;

	if (st->map_size >= st->max_map_size)
		return false;
	if (want > st->max_map_size)
		want = st->max_map_size;
	if (mdb_env_set_mapsize(st->env, want))
		return false;
	st->map_size = want;
	return true;
}

/*
 * Grow the map before it fills: a write that hits MDB_MAP_FULL inside a group
 * dooms the whole group, and the map can only be resized between
 * transactions.
 */
static void maybe_grow(struct queue_store *st)
{
	MDB_envinfo info;
	MDB_stat stat;

	if (mdb_env_info(st->env, &info) || mdb_env_stat(st->env, &stat))
		return;
	if ((info.me_last_pgno + 1) * (size_t)stat.ms_psize > st->map_size / 4 * 3)
		grow_map(st);
}

int qtxn_write(struct queue_store *st, qtxn_fn fn, void *arg, struct queue_result *res)
{
	MDB_txn *txn;
	int rc;

	qok(res);
	if (st->group) {
		if (st->group_failed)
			return qerr(res, QE_INTERNAL_ERROR, "The transaction has failed");
		if (fn(st, st->group, arg, res)) {
			if (res->code == QE_INTERNAL_ERROR)
				st->group_failed = true;
			st->group_full |= qerr_is_full(res);
			return -1;
		}
		return 0;
	}
	maybe_grow(st);
	for (;;) {
		rc = mdb_txn_begin(st->env, NULL, 0, &txn);
		if (rc)
			return qerr_mdb(res, rc);
		if (fn(st, txn, arg, res)) {
			mdb_txn_abort(txn);
			reload_meta(st);
			if (qerr_is_full(res) && grow_map(st))
				continue;
			return -1;
		}
		rc = put_meta(st, txn);
		if (!rc)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
		if (rc == MDB_MAP_FULL && (reload_meta(st), grow_map(st)))
			continue;
		if (rc) {
			reload_meta(st);
			return qerr_mdb(res, rc);
		}
		st->meta_dirty = false;
		return 0;
	}
}

int qtxn_read(struct queue_store *st, qtxn_fn fn, void *arg, struct queue_result *res)
{
	MDB_txn *txn;
	int rc, ret;

	qok(res);
	if (st->group)
		return fn(st, st->group, arg, res);
	rc = mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn);
	if (rc)
		return qerr_mdb(res, rc);
	ret = fn(st, txn, arg, res);
	mdb_txn_abort(txn);
	return ret;
}

int queue_txn_begin(struct queue_store *st, struct queue_result *res)
{
	int rc;

	qok(res);
	if (st->group)
		return qerr(res, QE_INTERNAL_ERROR, "A transaction is already open");
	maybe_grow(st);
	rc = mdb_txn_begin(st->env, NULL, 0, &st->group);
	if (rc) {
		st->group = NULL;
		return qerr_mdb(res, rc);
	}
	st->group_failed = false;
	st->group_full = false;
	return 0;
}

int queue_txn_commit(struct queue_store *st, struct queue_result *res)
{
	MDB_txn *txn = st->group;
	int rc;

	qok(res);
	if (!txn)
		return qerr(res, QE_INTERNAL_ERROR, "No transaction is open");
	if (st->group_failed) {
		queue_txn_abort(st);
		return qerr(res, QE_INTERNAL_ERROR, "The transaction has failed");
	}
	st->group = NULL;
	rc = put_meta(st, txn);
	if (!rc)
		rc = mdb_txn_commit(txn);
	else
		mdb_txn_abort(txn);
	if (rc) {
		reload_meta(st);
		/* The caller retries the whole group; give it room for the next try. */
		if (rc == MDB_MAP_FULL)
			grow_map(st);
		return qerr_mdb(res, rc);
	}
	st->meta_dirty = false;
	return 0;
}

void queue_txn_abort(struct queue_store *st)
{
	if (!st->group)
		return;
	mdb_txn_abort(st->group);
	st->group = NULL;
	reload_meta(st);
	/* The caller retries the whole group; give it room for the next try. */
	if (st->group_full)
		grow_map(st);
	st->group_full = false;
}

/* ------------------------------------------------------------ keys */

void qkey_init(struct qkey *k, uint64_t qid)
{
	put_be64(k->b, qid);
	k->len = 8;
}

void qkey_u64(struct qkey *k, uint64_t v)
{
	put_be64(k->b + k->len, v);
	k->len += 8;
}

void qkey_bytes(struct qkey *k, const void *p, size_t n)
{
	if (n > sizeof(k->b) - k->len)
		n = sizeof(k->b) - k->len;
	memcpy(k->b + k->len, p, n);
	k->len += n;
}

int qdb_keys(MDB_txn *txn, MDB_dbi dbi, struct queue_kv_list *out)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, dbi, &c);

	if (rc)
		return rc;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
		out->v[out->n].name = xstrndup(k.mv_data, k.mv_size);
		out->v[out->n++].value = NULL;
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int qdel_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen)
{
	MDB_cursor *c;
	MDB_val k = { .mv_size = plen, .mv_data = (void *)prefix }, v;
	int rc = mdb_cursor_open(txn, dbi, &c);

	if (rc)
		return rc;
	/* Seek again after each delete: simple and always positioned right. */
	while (!(rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) && k.mv_size >= plen &&
	       !memcmp(k.mv_data, prefix, plen)) {
		rc = mdb_cursor_del(c, 0);
		if (rc)
			break;
		k = (MDB_val){ .mv_size = plen, .mv_data = (void *)prefix };
	}
	mdb_cursor_close(c);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

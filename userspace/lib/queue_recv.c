// SPDX-License-Identifier: BSD-2-Clause
/*
 * ReceiveMessage for standard and FIFO queues: visibility, receive counts,
 * redrive to the dead-letter queue past maxReceiveCount, FIFO group locking,
 * ReceiveRequestAttemptId replays; and the retention sweep.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void queue_received_free(struct queue_received *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct queue_message *m = &r->msgs[i];

		free(m->body);
		for (size_t j = 0; j < m->nattrs; j++) {
			free((char *)m->attrs[j].name);
			free((char *)m->attrs[j].type);
			free((void *)m->attrs[j].value);
		}
		free(m->attrs);
		free(m->sender_id);
		free(m->group_id);
		free(m->dedup_id);
		free(m->dead_letter_source_arn);
	}
	free(r->msgs);
	memset(r, 0, sizeof(*r));
}

struct recv_args {
	const char *queue;
	const struct queue_receive_req *req;
	struct queue_received *out;
	struct qconf q;
	int64_t now;
	int vt; /* visibility timeout in seconds */
	int max;
	uint64_t seqs[QUEUE_MAX_BATCH], tokens[QUEUE_MAX_BATCH];
	char groups[QUEUE_MAX_BATCH][129]; /* FIFO: group of each returned message */
};

static bool attr_wanted(const struct queue_receive_req *req, const char *name)
{
	for (size_t i = 0; i < req->nattr_names; i++) {
		const char *w = req->attr_names[i];
		size_t l = strlen(w);

		if (!strcmp(w, "All") || !strcmp(w, ".*") || !strcmp(w, name))
			return true;
		if (l > 2 && !strcmp(w + l - 2, ".*") && !strncmp(name, w, l - 1))
			return true;
	}
	return false;
}

static char *dup_or_null(const char *s)
{
	return *s ? xstrndup(s, strlen(s)) : NULL;
}

/* Append message @m (seq @seq, already updated) to the output. */
static void emit(struct queue_store *st, struct recv_args *a, uint64_t seq, const struct qmsg *m)
{
	struct queue_received *out = a->out;
	struct queue_msg_attr all[QUEUE_MAX_ATTRS];
	size_t n = qattrs_decode(m->attrs, m->h.attrs_len, all);
	struct queue_message *o;

	out->msgs = xrealloc(out->msgs, (out->n + 1) * sizeof(*out->msgs));
	o = &out->msgs[out->n];
	memset(o, 0, sizeof(*o));
	a->seqs[out->n] = seq;
	a->tokens[out->n] = m->h.token;
	snprintf(a->groups[out->n], sizeof(a->groups[0]), "%s", m->group);
	out->n++;
	quuid_format(m->h.msg_id, o->message_id);
	qhandle_format(st, a->q.id, seq, m->h.token, o->receipt_handle);
	qhex(m->h.md5_body, 16, o->md5_body);
	o->body = xstrndup(m->body, m->h.body_len);
	o->body_len = m->h.body_len;
	o->attrs = xcalloc(n ? n : 1, sizeof(*o->attrs));
	for (size_t i = 0; i < n; i++) {
		struct queue_msg_attr *d = &o->attrs[o->nattrs];
		void *val;

		if (!attr_wanted(a->req, all[i].name))
			continue;
		val = xmalloc(all[i].len + 1);
		memcpy(val, all[i].value, all[i].len);
		((char *)val)[all[i].len] = '\0';
		d->name = xstrndup(all[i].name, strlen(all[i].name));
		d->type = xstrndup(all[i].type, strlen(all[i].type));
		d->value = val;
		d->len = all[i].len;
		o->nattrs++;
	}
	queue_md5_attrs(o->attrs, o->nattrs, o->md5_attrs);
	o->sent_timestamp = m->h.sent_ms;
	o->first_receive_timestamp = m->h.first_recv_ms;
	o->receive_count = m->h.recv_count;
	o->sender_id = xstrndup(m->sender, strlen(m->sender));
	o->group_id = dup_or_null(m->group);
	o->dedup_id = dup_or_null(m->dedup);
	o->dead_letter_source_arn = dup_or_null(m->dlq_src);
	if (a->q.flags & QF_FIFO)
		qseq_format(seq, o->sequence_number);
}

enum take { T_TAKEN, T_SKIPPED, T_ERROR };

/*
 * Receive message @seq (value @v): drop it if past retention, move it to the
 * dead-letter queue if this receive would exceed maxReceiveCount, else make it
 * in flight with a new receipt token and emit it.
 */
static enum take take(struct queue_store *st, MDB_txn *txn, struct recv_args *a, uint64_t seq,
		      const MDB_val *v, struct queue_result *res)
{
	struct qmsg m, n;
	MDB_val copy;
	enum take ret = T_TAKEN;

	if (qmsg_decode(v, &m))
		return qerr_mdb(res, MDB_CORRUPTED), T_ERROR;
	/* Work on a copy: the writes below may move the page @v points into. */
	qmsg_encode(&m, &copy);
	qmsg_decode(&copy, &m);
	if (m.h.sent_ms + 1000 * (int64_t)a->q.retention <= a->now) {
		ret = qmsg_del(st, txn, a->q.id, seq, m.h.visible_ms, res) ? T_ERROR : T_SKIPPED;
		qstats_count(st, a->queue, QA_EXPIRED, ret == T_SKIPPED);
		goto out;
	}
	if (a->q.max_receive && m.h.recv_count >= (uint32_t)a->q.max_receive && *a->q.s[QS_DLQ]) {
		char arn[160];

		queue_arn(st, a->queue, arn, sizeof(arn));
		if (!qmsg_move(st, txn, a->q.id, seq, &m, a->q.s[QS_DLQ], arn, true, res)) {
			qstats_count(st, a->queue, QA_DEAD_LETTERED, 1);
			ret = T_SKIPPED;
			goto out;
		}
		if (res->code == QE_INTERNAL_ERROR) {
			ret = T_ERROR;
			goto out;
		}
		qok(res); /* the dead-letter queue is gone: deliver here */
	}
	n = m;
	n.h.recv_count++;
	if (!n.h.first_recv_ms)
		n.h.first_recv_ms = a->now;
	n.h.recv_ms = a->now;
	n.h.token = qnext_token(st);
	n.h.visible_ms = a->now + 1000 * (int64_t)a->vt;
	if (qmsg_update(st, txn, a->q.id, seq, &n, m.h.visible_ms, res))
		ret = T_ERROR;
	else
		emit(st, a, seq, &n);
out:
	free(copy.mv_data);
	return ret;
}

static int receive_standard(struct queue_store *st, MDB_txn *txn, struct recv_args *a,
			    struct queue_result *res)
{
	MDB_cursor *c;
	struct qkey pos;
	int rc = mdb_cursor_open(txn, st->dbi[DB_VIS], &c);

	if (rc)
		return qerr_mdb(res, rc);
	qkey_init(&pos, a->q.id);
	qkey_u64(&pos, 0);
	qkey_u64(&pos, 0);
	while (a->out->n < (size_t)a->max) {
		MDB_val k = qkey_val(&pos), v;
		uint64_t seq;
		int64_t vis;
		bool again = false;

		/* Seek afresh each time: take() rewrites the index under the cursor. */
		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != 24 || get_be64(k.mv_data) != a->q.id)
			break;
		vis = (int64_t)get_be64((uint8_t *)k.mv_data + 8);
		seq = get_be64((uint8_t *)k.mv_data + 16);
		if (vis > a->now)
			break;
		qkey_init(&pos, a->q.id);
		qkey_u64(&pos, (uint64_t)vis);
		qkey_u64(&pos, seq + 1);
		/* With a 0 s timeout a message comes back into range: once is enough. */
		for (size_t i = 0; i < a->out->n; i++)
			again |= a->seqs[i] == seq;
		if (again)
			continue;
		struct qkey mk;
		MDB_val mkv, mv;

		qkey_init(&mk, a->q.id);
		qkey_u64(&mk, seq);
		mkv = qkey_val(&mk);
		rc = mdb_get(txn, st->dbi[DB_MSGS], &mkv, &mv);
		if (rc == MDB_NOTFOUND) { /* an orphan index entry: drop it */
			if (qmsg_del(st, txn, a->q.id, seq, vis, res)) {
				mdb_cursor_close(c);
				return -1;
			}
			continue;
		}
		if (!rc && take(st, txn, a, seq, &mv, res) == T_ERROR) {
			mdb_cursor_close(c);
			return -1;
		}
		if (rc) {
			mdb_cursor_close(c);
			return qerr_mdb(res, rc);
		}
	}
	mdb_cursor_close(c);
	return 0;
}

struct group_set {
	char **v;
	size_t n;
};

static bool group_has(const struct group_set *g, const char *s)
{
	for (size_t i = 0; i < g->n; i++)
		if (!strcmp(g->v[i], s))
			return true;
	return false;
}

static void group_free(struct group_set *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->v[i]);
	free(g->v);
}

/*
 * FIFO: walk the queue in sequence order. A group whose oldest message is in
 * flight (or delayed) is blocked; from the others take messages in order.
 */
static int receive_fifo(struct queue_store *st, MDB_txn *txn, struct recv_args *a,
			struct queue_result *res)
{
	struct group_set blocked = { 0 };
	MDB_cursor *c;
	struct qkey pos;
	int rc = mdb_cursor_open(txn, st->dbi[DB_MSGS], &c), ret = 0;

	if (rc)
		return qerr_mdb(res, rc);
	qkey_init(&pos, a->q.id);
	qkey_u64(&pos, 0);
	while (a->out->n < (size_t)a->max) {
		MDB_val k = qkey_val(&pos), v;
		struct qmsg m;
		uint64_t seq;

		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != 16 || get_be64(k.mv_data) != a->q.id)
			break;
		seq = get_be64((uint8_t *)k.mv_data + 8);
		qkey_init(&pos, a->q.id);
		qkey_u64(&pos, seq + 1);
		if (qmsg_decode(&v, &m) || group_has(&blocked, m.group))
			continue;
		if (m.h.visible_ms > a->now &&
		    m.h.sent_ms + 1000 * (int64_t)a->q.retention > a->now) {
			blocked.v = xrealloc(blocked.v, (blocked.n + 1) * sizeof(*blocked.v));
			blocked.v[blocked.n++] = xstrndup(m.group, strlen(m.group));
			continue;
		}
		if (take(st, txn, a, seq, &v, res) == T_ERROR) {
			ret = -1;
			break;
		}
	}
	mdb_cursor_close(c);
	group_free(&blocked);
	return ret;
}

/* SQS returns a FIFO receive's messages grouped by MessageGroupId. */
static void group_output(struct recv_args *a)
{
	struct queue_message tmp[QUEUE_MAX_BATCH];
	size_t n = a->out->n, k = 0;
	bool used[QUEUE_MAX_BATCH] = { 0 };

	if (n < 2)
		return;
	for (size_t i = 0; i < n; i++) {
		if (used[i])
			continue;
		for (size_t j = i; j < n; j++) {
			if (!used[j] && !strcmp(a->groups[i], a->groups[j])) {
				tmp[k++] = a->out->msgs[j];
				used[j] = true;
			}
		}
	}
	memcpy(a->out->msgs, tmp, n * sizeof(tmp[0]));
}

/* Replay of a receive with the same ReceiveRequestAttemptId: 1 when done. */
static int replay_attempt(struct queue_store *st, MDB_txn *txn, struct recv_args *a,
			  struct queue_result *res)
{
	uint64_t seqs[QUEUE_MAX_BATCH], tokens[QUEUE_MAX_BATCH];
	struct qmsg ms[QUEUE_MAX_BATCH];
	MDB_val copies[QUEUE_MAX_BATCH];
	size_t n = 0, ok = 0;
	int ret = 1;

	if (!qattempt_get(st, txn, a->q.id, a->req->attempt_id, seqs, tokens, &n))
		return 0;
	/* Only when none of the messages was deleted or changed since. */
	for (; ok < n; ok++) {
		struct qkey k;
		MDB_val kv, v;

		qkey_init(&k, a->q.id);
		qkey_u64(&k, seqs[ok]);
		kv = qkey_val(&k);
		if (mdb_get(txn, st->dbi[DB_MSGS], &kv, &v) || qmsg_decode(&v, &ms[ok]) ||
		    ms[ok].h.token != tokens[ok] || ms[ok].h.visible_ms <= a->now)
			break;
		qmsg_encode(&ms[ok], &copies[ok]);
		qmsg_decode(&copies[ok], &ms[ok]);
	}
	if (ok < n)
		ret = 0;
	for (size_t i = 0; ret == 1 && i < n; i++) {
		struct qmsg upd = ms[i];

		upd.h.visible_ms = a->now + 1000 * (int64_t)a->vt;
		if (qmsg_update(st, txn, a->q.id, seqs[i], &upd, ms[i].h.visible_ms, res))
			ret = -1;
		else
			emit(st, a, seqs[i], &upd);
	}
	for (size_t i = 0; i < ok; i++)
		free(copies[i].mv_data);
	return ret;
}

/* The first visibility index entry after now: when something may become receivable. */
static int64_t next_visible(struct queue_store *st, MDB_txn *txn, struct recv_args *a)
{
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	int64_t at = 0;

	qkey_init(&k, a->q.id);
	qkey_u64(&k, (uint64_t)a->now + 1);
	kv = qkey_val(&k);
	if (mdb_cursor_open(txn, st->dbi[DB_VIS], &c))
		return 0;
	if (!mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE) && kv.mv_size == 24 &&
	    get_be64(kv.mv_data) == a->q.id)
		at = (int64_t)get_be64((uint8_t *)kv.mv_data + 8);
	mdb_cursor_close(c);
	return at;
}

/*
 * In-flight messages of the queue, counted up to @limit: index entries past
 * now that were received. Delayed entries past now are walked over too.
 */
static long in_flight(struct queue_store *st, MDB_txn *txn, const struct recv_args *a, long limit)
{
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	long n = 0;
	int rc;

	if (mdb_cursor_open(txn, st->dbi[DB_VIS], &c))
		return 0;
	qkey_init(&k, a->q.id);
	qkey_u64(&k, (uint64_t)a->now + 1);
	kv = qkey_val(&k);
	for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); !rc && n < limit;
	     rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
		struct vis_rec vr;

		if (kv.mv_size != 24 || get_be64(kv.mv_data) != a->q.id || v.mv_size != sizeof(vr))
			break;
		memcpy(&vr, v.mv_data, sizeof(vr));
		n += vr.received;
	}
	mdb_cursor_close(c);
	return n;
}

/*
 * SQS's in-flight quota: a standard queue at it refuses the receive
 * (OverLimit), a FIFO queue returns nothing more; below it a receive takes at
 * most what is left.
 */
static int apply_inflight_limit(struct queue_store *st, MDB_txn *txn, struct recv_args *a,
				bool fifo, struct queue_result *res)
{
	long n = in_flight(st, txn, a, st->max_inflight);

	if (n >= st->max_inflight && !fifo)
		return qerr(res, QE_OVER_LIMIT,
			    "The maximum number of in flight messages is reached: %ld messages of "
			    "queue %s are in flight.",
			    n, a->queue);
	if (a->max > st->max_inflight - n)
		a->max = (int)(st->max_inflight - n);
	return 0;
}

static int do_receive(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct recv_args *a = arg;
	bool fifo;
	int rc;

	if (qconf_load(st, txn, a->queue, &a->q, res))
		return -1;
	fifo = a->q.flags & QF_FIFO;
	a->now = queue_store_now(st);
	a->vt = a->req->visibility_timeout == QUEUE_VISIBILITY_UNSET ? a->q.visibility
								     : a->req->visibility_timeout;
	rc = fifo && a->req->attempt_id ? replay_attempt(st, txn, a, res) : 0;
	if (rc == 0 && apply_inflight_limit(st, txn, a, fifo, res))
		rc = -1;
	else if (rc == 0)
		rc = fifo ? receive_fifo(st, txn, a, res) : receive_standard(st, txn, a, res);
	else if (rc == 1)
		rc = 0;
	if (!rc && fifo && a->req->attempt_id)
		rc = qattempt_put(st, txn, a->q.id, a->req->attempt_id, a->seqs, a->tokens,
				  a->out->n, res);
	if (!rc && fifo)
		group_output(a);
	if (!rc && !a->out->n)
		a->out->next_visible_ms = next_visible(st, txn, a);
	qconf_free(&a->q);
	if (rc)
		queue_received_free(a->out);
	return rc;
}

int queue_receive(struct queue_store *st, const char *queue, const struct queue_receive_req *req,
		  struct queue_received *out, struct queue_result *res)
{
	struct recv_args a = { .queue = queue, .req = req, .out = out };

	memset(out, 0, sizeof(*out));
	a.max = req->max_messages ? req->max_messages : 1;
	if (a.max < 1 || a.max > QUEUE_MAX_BATCH)
		return qerr(
			res, QE_INVALID_PARAMETER_VALUE,
			"Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be "
			"between 1 and 10, if provided.",
			req->max_messages);
	if (req->visibility_timeout != QUEUE_VISIBILITY_UNSET &&
	    qcheck_visibility(req->visibility_timeout, res))
		return -1;
	if (req->attempt_id && !qtoken_valid(req->attempt_id))
		return qbad_token(res, "ReceiveRequestAttemptId", req->attempt_id);
	if (qtxn_write(st, do_receive, &a, res))
		return -1;
	qstats_received(st, queue, out);
	return 0;
}

/* ------------------------------------------------------------ sweep */

struct sweep_args {
	long dropped;
};

/* Messages of queue @q past retention, found through the visibility index. */
static int sweep_queue(struct queue_store *st, MDB_txn *txn, const char *name,
		       const struct qconf *q, struct sweep_args *a, struct queue_result *res)
{
	int64_t expire = queue_store_now(st) - 1000 * (int64_t)q->retention;
	MDB_cursor *c;
	struct qkey pos;
	int rc = mdb_cursor_open(txn, st->dbi[DB_VIS], &c);

	if (rc)
		return qerr_mdb(res, rc);
	qkey_init(&pos, q->id);
	for (;;) {
		MDB_val k = qkey_val(&pos), v;
		struct vis_rec vr;
		uint64_t seq;
		int64_t vis;

		rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
		if (rc || k.mv_size != 24 || get_be64(k.mv_data) != q->id ||
		    v.mv_size != sizeof(vr))
			break;
		memcpy(&vr, v.mv_data, sizeof(vr));
		vis = (int64_t)get_be64((uint8_t *)k.mv_data + 8);
		seq = get_be64((uint8_t *)k.mv_data + 16);
		qkey_init(&pos, q->id);
		qkey_u64(&pos, (uint64_t)vis);
		qkey_u64(&pos, seq + 1);
		if (vr.sent_ms > expire)
			continue;
		if (qmsg_del(st, txn, q->id, seq, vis, res)) {
			mdb_cursor_close(c);
			return -1;
		}
		a->dropped++;
		qstats_count(st, name, QA_EXPIRED, 1);
	}
	mdb_cursor_close(c);
	return 0;
}

static int do_sweep(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct sweep_args *a = arg;
	struct queue_kv_list names = { 0 };
	int64_t now = queue_store_now(st);
	MDB_cursor *c;
	MDB_val k, v;
	int rc = qdb_keys(txn, st->dbi[DB_QUEUES], &names);

	if (rc) {
		queue_kv_list_free(&names);
		return qerr_mdb(res, rc);
	}
	rc = 0;
	for (size_t i = 0; i < names.n && !rc; i++) {
		struct qconf q;

		if (qconf_load(st, txn, names.v[i].name, &q, res))
			continue;
		rc = sweep_queue(st, txn, names.v[i].name, &q, a, res);
		qconf_free(&q);
	}
	queue_kv_list_free(&names);
	if (rc)
		return -1;
	qok(res);
	qfifo_sweep(st, txn);
	/* Deleted-queue markers older than a minute. */
	if (mdb_cursor_open(txn, st->dbi[DB_TOMBS], &c))
		return 0;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc;) {
		int64_t at = 0;

		if (v.mv_size == 8)
			memcpy(&at, v.mv_data, 8);
		if (now - at >= QUEUE_TOMB_MS && !mdb_cursor_del(c, 0))
			rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		else
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 0;
}

long queue_store_sweep(struct queue_store *st, struct queue_result *res)
{
	struct sweep_args a = { 0 };

	if (qtxn_write(st, do_sweep, &a, res))
		return -1;
	return a.dropped;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Message move tasks (StartMessageMoveTask, CancelMessageMoveTask,
 * ListMessageMoveTasks): redrive from a dead-letter queue back to each
 * message's source queue or to a given queue, at a rate. The daemon calls
 * queue_move_step periodically; each step is one transaction.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MOVE_UNLIMITED_STEP 1000 /* messages per step without a rate */

enum { TS_RUNNING, TS_COMPLETED, TS_CANCELLING, TS_CANCELLED, TS_FAILED };

static const char *const status_names[] = { "RUNNING", "COMPLETED", "CANCELLING", "CANCELLED",
					    "FAILED" };

struct task_rec {
	int64_t started_ms;
	int64_t credit_ms; /* time the rate has already been used up to */
	int64_t moved, to_move;
	int32_t rate;
	int32_t status;
};

/* A decoded task; strings point into the value or are owned by the caller. */
struct task {
	struct task_rec r;
	const char *source, *dest, *failure;
};

static int task_decode(const MDB_val *v, struct task *t)
{
	const char *p = (const char *)v->mv_data + sizeof(t->r), *end;

	if (v->mv_size < sizeof(t->r) + 3)
		return -1;
	memcpy(&t->r, v->mv_data, sizeof(t->r));
	end = (const char *)v->mv_data + v->mv_size;
	t->source = p;
	p += strnlen(p, (size_t)(end - p)) + 1;
	t->dest = p < end ? p : "";
	p += strnlen(t->dest, (size_t)(end - p)) + 1;
	t->failure = p < end ? p : "";
	return 0;
}

static int task_put(struct queue_store *st, MDB_txn *txn, const char *handle, const struct task *t,
		    struct queue_result *res)
{
	struct strbuf sb = STRBUF_INIT;
	MDB_val k = { .mv_size = strlen(handle), .mv_data = (void *)handle }, v;
	int rc;

	sb_add(&sb, &t->r, sizeof(t->r));
	sb_add(&sb, t->source, strlen(t->source) + 1);
	sb_add(&sb, t->dest, strlen(t->dest) + 1);
	sb_add(&sb, t->failure, strlen(t->failure) + 1);
	v = (MDB_val){ .mv_size = sb.len, .mv_data = sb.buf };
	rc = mdb_put(txn, st->dbi[DB_TASKS], &k, &v, 0);
	sb_free(&sb);
	return rc ? qerr_mdb(res, rc) : 0;
}

static void task_out_free(struct queue_move_task *t)
{
	free(t->status);
	free(t->source_arn);
	free(t->destination_arn);
	free(t->failure_reason);
}

void queue_move_task_list_free(struct queue_move_task_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		task_out_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* Visible messages of queue @q now. */
static long visible_count(struct queue_store *st, MDB_txn *txn, const struct qconf *q)
{
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	long n = 0;
	int64_t now = queue_store_now(st);

	qkey_init(&k, q->id);
	kv = qkey_val(&k);
	if (mdb_cursor_open(txn, st->dbi[DB_VIS], &c))
		return 0;
	for (int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
	     !rc && kv.mv_size == 24 && get_be64(kv.mv_data) == q->id &&
	     (int64_t)get_be64((uint8_t *)kv.mv_data + 8) <= now;
	     rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT))
		n++;
	mdb_cursor_close(c);
	return n;
}

/* The running task of @source, if any: its handle into @handle. */
static bool running_task(struct queue_store *st, MDB_txn *txn, const char *source, char *handle,
			 size_t cap)
{
	MDB_cursor *c;
	MDB_val k, v;
	bool found = false;

	if (mdb_cursor_open(txn, st->dbi[DB_TASKS], &c))
		return false;
	for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); !rc && !found;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		struct task t;

		if (!task_decode(&v, &t) && t.r.status == TS_RUNNING && !strcmp(t.source, source)) {
			snprintf(handle, cap, "%.*s", (int)k.mv_size, (char *)k.mv_data);
			found = true;
		}
	}
	mdb_cursor_close(c);
	return found;
}

struct start_args {
	const char *source, *dest;
	int rate;
	char *handle;
	size_t cap;
};

static int do_start(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct start_args *a = arg;
	char src[QUEUE_NAME_MAX + 1], dst[QUEUE_NAME_MAX + 1], other[64];
	struct queue_kv_list sources = { 0 };
	struct qconf sq, dq;
	struct task t = { .source = a->source, .dest = a->dest ? a->dest : "", .failure = "" };
	uint8_t rnd[16];
	int rc;

	if (queue_name_from_arn(st, a->source, src, sizeof(src)) ||
	    qconf_load(st, txn, src, &sq, res))
		return qerr(res, QE_RESOURCE_NOT_FOUND,
			    "The resource that you specified for the "
			    "SourceArn parameter doesn't exist.");
	t.r.to_move = visible_count(st, txn, &sq);
	qconf_free(&sq);
	if (a->dest) {
		if (queue_name_from_arn(st, a->dest, dst, sizeof(dst)) ||
		    qconf_load(st, txn, dst, &dq, res))
			return qerr(res, QE_RESOURCE_NOT_FOUND,
				    "The resource that you specified for the DestinationArn "
				    "parameter doesn't exist.");
		qconf_free(&dq);
	}
	/* The source must be some queue's dead-letter queue. */
	qok(res);
	if (queue_list_dlq_sources(st, src, &sources, res))
		return -1;
	rc = sources.n ? 0 : -1;
	queue_kv_list_free(&sources);
	if (rc)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Source queue must be configured as a Dead Letter Queue.");
	if (running_task(st, txn, a->source, other, sizeof(other)))
		return qerr(res, QE_UNSUPPORTED_OPERATION,
			    "There is already a task running. Only one active task is allowed "
			    "for each source queue arn at a given time.");
	t.r.started_ms = t.r.credit_ms = queue_store_now(st);
	t.r.rate = a->rate;
	t.r.status = TS_RUNNING;
	qrandom(rnd, sizeof(rnd));
	snprintf(a->handle, a->cap, "mt-");
	qhex(rnd, 16, a->handle + 3);
	return task_put(st, txn, a->handle, &t, res);
}

int queue_move_start(struct queue_store *st, const char *source_arn, const char *dest_arn, int rate,
		     char *handle, size_t cap, struct queue_result *res)
{
	struct start_args a = { source_arn, dest_arn, rate, handle, cap };

	if (!source_arn || !*source_arn)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter SourceArn.");
	if (rate < 0 || rate > 500)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. "
			    "Reason: Must be between 1 and 500.",
			    rate);
	if (cap < 36)
		return qerr(res, QE_INTERNAL_ERROR, "Handle buffer too small");
	return qtxn_write(st, do_start, &a, res);
}

struct cancel_args {
	const char *handle;
	long moved;
};

static int do_cancel(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct cancel_args *a = arg;
	MDB_val k = { .mv_size = strlen(a->handle), .mv_data = (void *)a->handle }, v;
	struct task t;
	struct strbuf copy = STRBUF_INIT;
	int rc;

	if (mdb_get(txn, st->dbi[DB_TASKS], &k, &v) || task_decode(&v, &t))
		return qerr(res, QE_RESOURCE_NOT_FOUND, "The task handle %s doesn't exist.",
			    a->handle);
	if (t.r.status != TS_RUNNING)
		return qerr(res, QE_UNSUPPORTED_OPERATION,
			    "Only a task in the RUNNING state can be cancelled.");
	/* task_put writes where @t points: keep a copy of the strings. */
	sb_add(&copy, v.mv_data, v.mv_size);
	v.mv_data = copy.buf;
	task_decode(&v, &t);
	t.r.status = TS_CANCELLED; /* steps are synchronous: no CANCELLING phase */
	a->moved = (long)t.r.moved;
	rc = task_put(st, txn, a->handle, &t, res);
	sb_free(&copy);
	return rc;
}

int queue_move_cancel(struct queue_store *st, const char *handle, long *moved,
		      struct queue_result *res)
{
	struct cancel_args a = { handle ? handle : "", 0 };
	int rc = qtxn_write(st, do_cancel, &a, res);

	if (!rc && moved)
		*moved = a.moved;
	return rc;
}

struct list_args {
	const char *source;
	int max;
	struct queue_move_task_list *out;
};

static char *dup_opt(const char *s)
{
	return *s ? xstrndup(s, strlen(s)) : NULL;
}

static int newest_first(const void *a, const void *b)
{
	const struct queue_move_task *x = a, *y = b;

	return (x->started_ms < y->started_ms) - (x->started_ms > y->started_ms);
}

static int do_list(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct list_args *a = arg;
	struct queue_kv_list handles = { 0 };
	int rc = qdb_keys(txn, st->dbi[DB_TASKS], &handles);

	for (size_t i = 0; !rc && i < handles.n; i++) {
		const char *h = handles.v[i].name;
		MDB_val k = { .mv_size = strlen(h), .mv_data = (void *)h }, v;
		struct queue_move_task *o;
		struct task t;

		if (mdb_get(txn, st->dbi[DB_TASKS], &k, &v) || task_decode(&v, &t) ||
		    strcmp(t.source, a->source))
			continue;
		a->out->v = xrealloc(a->out->v, (a->out->n + 1) * sizeof(*a->out->v));
		o = &a->out->v[a->out->n++];
		memset(o, 0, sizeof(*o));
		snprintf(o->handle, sizeof(o->handle), "%s", h);
		o->status = xstrndup(status_names[t.r.status], strlen(status_names[t.r.status]));
		o->source_arn = xstrndup(t.source, strlen(t.source));
		o->destination_arn = dup_opt(t.dest);
		o->failure_reason = dup_opt(t.failure);
		o->max_per_second = t.r.rate;
		o->moved = (long)t.r.moved;
		o->to_move = (long)t.r.to_move;
		o->started_ms = t.r.started_ms;
	}
	queue_kv_list_free(&handles);
	if (rc)
		return qerr_mdb(res, rc);
	qsort(a->out->v, a->out->n, sizeof(*a->out->v), newest_first);
	while (a->out->n > (size_t)a->max)
		task_out_free(&a->out->v[--a->out->n]);
	return 0;
}

int queue_move_list(struct queue_store *st, const char *source_arn, int max,
		    struct queue_move_task_list *out, struct queue_result *res)
{
	struct list_args a = { source_arn ? source_arn : "", max ? max : 1, out };

	out->v = NULL;
	out->n = 0;
	if (max < 0 || max > 10)
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Value %d for parameter MaxResults is invalid. Reason: Must be between "
			    "1 and 10.",
			    max);
	return qtxn_read(st, do_list, &a, res);
}

/* ------------------------------------------------------------ stepping */

/* Move up to @budget visible messages of the task's source; sets status when done. */
static long step_task(struct queue_store *st, MDB_txn *txn, struct task *t, long budget,
		      struct queue_result *res)
{
	char src[QUEUE_NAME_MAX + 1], dst[QUEUE_NAME_MAX + 1];
	int64_t now = queue_store_now(st);
	struct qconf q;
	long moved = 0;

	if (queue_name_from_arn(st, t->source, src, sizeof(src)) ||
	    qconf_load(st, txn, src, &q, res)) {
		qok(res);
		t->r.status = TS_FAILED;
		t->failure = "AWS.SimpleQueueService.NonExistentQueue";
		return 0;
	}
	while (moved < budget && t->r.moved < t->r.to_move) {
		struct qkey k;
		MDB_val kv, v, mkv, mv;
		MDB_cursor *c;
		struct qmsg m;
		uint64_t seq;
		int rc;

		qkey_init(&k, q.id);
		kv = qkey_val(&k);
		if (mdb_cursor_open(txn, st->dbi[DB_VIS], &c))
			break;
		rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
		mdb_cursor_close(c);
		if (rc || kv.mv_size != 24 || get_be64(kv.mv_data) != q.id ||
		    (int64_t)get_be64((uint8_t *)kv.mv_data + 8) > now)
			break; /* nothing visible left */
		seq = get_be64((uint8_t *)kv.mv_data + 16);
		qkey_init(&k, q.id);
		qkey_u64(&k, seq);
		mkv = qkey_val(&k);
		if (mdb_get(txn, st->dbi[DB_MSGS], &mkv, &mv) || qmsg_decode(&mv, &m)) {
			/* An orphan index entry (or a broken record): drop both. */
			if (qmsg_del(st, txn, q.id, seq,
				     (int64_t)get_be64((uint8_t *)kv.mv_data + 8), res))
				break;
			continue;
		}
		if (queue_name_from_arn(st, *t->dest ? t->dest : m.dlq_src, dst, sizeof(dst))) {
			t->r.status = TS_FAILED;
			t->failure = "AWS.SimpleQueueService.NonExistentQueue";
			break;
		}
		{
			MDB_val copy;
			struct qmsg c2;

			qmsg_encode(&m, &copy);
			qmsg_decode(&copy, &c2);
			rc = qmsg_move(st, txn, q.id, seq, &c2, dst, NULL, false, res);
			free(copy.mv_data);
		}
		if (rc) {
			if (res->code == QE_INTERNAL_ERROR)
				break;
			qok(res);
			t->r.status = TS_FAILED;
			t->failure = "AWS.SimpleQueueService.NonExistentQueue";
			break;
		}
		moved++;
		t->r.moved++;
	}
	if (t->r.status == TS_RUNNING &&
	    (t->r.moved >= t->r.to_move || (moved < budget && res->code == QE_OK)))
		t->r.status = TS_COMPLETED;
	qconf_free(&q);
	return res->code == QE_INTERNAL_ERROR ? -1 : moved;
}

/* One task: its rate's budget since the last step, then the record updated. */
static int step_one(struct queue_store *st, MDB_txn *txn, const char *handle, int64_t now,
		    long *moved, struct queue_result *res)
{
	MDB_val k = { .mv_size = strlen(handle), .mv_data = (void *)handle }, v;
	struct strbuf copy = STRBUF_INIT;
	struct task t;
	long budget, n;
	int rc;

	if (mdb_get(txn, st->dbi[DB_TASKS], &k, &v))
		return 0;
	/* The moves below write to the map: decode a private copy. */
	sb_add(&copy, v.mv_data, v.mv_size);
	v.mv_data = copy.buf;
	if (task_decode(&v, &t) || t.r.status != TS_RUNNING) {
		sb_free(&copy);
		return 0;
	}
	budget = t.r.rate ? (long)((now - t.r.credit_ms) * t.r.rate / 1000) : MOVE_UNLIMITED_STEP;
	n = budget > 0 ? step_task(st, txn, &t, budget, res) : 0;
	if (n < 0) {
		rc = -1;
	} else {
		*moved += n;
		if (t.r.rate && budget > 0)
			t.r.credit_ms += (int64_t)budget * 1000 / t.r.rate;
		rc = task_put(st, txn, handle, &t, res);
	}
	sb_free(&copy);
	return rc;
}

static int do_step(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct queue_kv_list handles = { 0 };
	int64_t now = queue_store_now(st);
	int rc = qdb_keys(txn, st->dbi[DB_TASKS], &handles);

	if (rc)
		rc = qerr_mdb(res, rc);
	for (size_t i = 0; i < handles.n && !rc; i++)
		rc = step_one(st, txn, handles.v[i].name, now, arg, res);
	queue_kv_list_free(&handles);
	return rc;
}

long queue_move_step(struct queue_store *st, struct queue_result *res)
{
	long moved = 0;

	if (qtxn_write(st, do_step, &moved, res))
		return -1;
	return moved;
}

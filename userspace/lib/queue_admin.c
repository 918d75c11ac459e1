// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue administration: CreateQueue, DeleteQueue, GetQueueUrl, ListQueues,
 * ListDeadLetterSourceQueues, Get/SetQueueAttributes, PurgeQueue and tags.
 */
#include "queue_int.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_MAX_TAGS 50

void queue_kv_list_free(struct queue_kv_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free((char *)l->v[i].name);
		free((char *)l->v[i].value);
	}
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void kv_push(struct queue_kv_list *l, const char *name, size_t nlen, const char *value,
		    size_t vlen)
{
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n].name = xstrndup(name, nlen);
	l->v[l->n].value = value ? xstrndup(value, vlen) : NULL;
	l->n++;
}

void queue_arn(const struct queue_store *st, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "arn:aws:sqs:%s:%s:%s", st->region, st->account, name);
}

int queue_name_from_arn(const struct queue_store *st, const char *arn, char *name, size_t cap)
{
	char prefix[96];
	size_t plen;

	snprintf(prefix, sizeof(prefix), "arn:aws:sqs:%s:%s:", st->region, st->account);
	plen = strlen(prefix);
	if (!arn || strncmp(arn, prefix, plen) || strlen(arn + plen) >= cap || !arn[plen])
		return -1;
	snprintf(name, cap, "%s", arn + plen);
	return 0;
}

bool qname_valid(const char *name, bool fifo)
{
	size_t len = strlen(name), base = len;

	if (fifo) {
		if (len < 5 || strcmp(name + len - 5, ".fifo"))
			return false;
		base = len - 5;
	}
	if (len < 1 || len > QUEUE_NAME_MAX || base < 1)
		return false;
	for (size_t i = 0; i < base; i++) {
		char c = name[i];

		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------ tags */

static int tags_check(const struct queue_kv *t, size_t n, struct queue_result *res)
{
	for (size_t i = 0; i < n; i++) {
		size_t kl = t[i].name ? strlen(t[i].name) : 0;

		if (kl < 1 || kl > 128)
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "Tag keys must be between 1 and 128 characters in length.");
		if (!strncasecmp(t[i].name, "aws:", 4))
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "Tag keys must not start with the reserved prefix aws:.");
		if (!t[i].value || strlen(t[i].value) > 256)
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "Tag values must be between 0 and 256 characters in length.");
		if (!qtext_valid(t[i].name, kl, NULL) ||
		    !qtext_valid(t[i].value, strlen(t[i].value), NULL))
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "Tag keys and values contain invalid characters.");
	}
	return 0;
}

static int tag_key(uint64_t qid, const char *key, struct qkey *k)
{
	qkey_init(k, qid);
	qkey_bytes(k, key, strlen(key));
	return 0;
}

/* Count tags of @qid, with @t applied, without writing. */
static size_t tags_after(struct queue_store *st, MDB_txn *txn, uint64_t qid,
			 const struct queue_kv *t, size_t n)
{
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	size_t count = 0;

	qkey_init(&k, qid);
	kv = qkey_val(&k);
	if (mdb_cursor_open(txn, st->dbi[DB_TAGS], &c))
		return 0;
	for (int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
	     !rc && kv.mv_size >= 8 && get_be64(kv.mv_data) == qid;
	     rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT))
		count++;
	mdb_cursor_close(c);
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup |= !strcmp(t[i].name, t[j].name);
		tag_key(qid, t[i].name, &k);
		kv = qkey_val(&k);
		if (!dup && mdb_get(txn, st->dbi[DB_TAGS], &kv, &v) == MDB_NOTFOUND)
			count++;
	}
	return count;
}

static int tags_put(struct queue_store *st, MDB_txn *txn, const char *name, uint64_t qid,
		    const struct queue_kv *t, size_t n, struct queue_result *res)
{
	if (tags_check(t, n, res))
		return -1;
	if (tags_after(st, txn, qid, t, n) > QUEUE_MAX_TAGS)
		return qerr(res, QE_INVALID_PARAMETER_VALUE, "Too many tags added for queue %s.",
			    name);
	for (size_t i = 0; i < n; i++) {
		struct qkey k;
		MDB_val kv, v = { .mv_size = strlen(t[i].value), .mv_data = (void *)t[i].value };
		int rc;

		tag_key(qid, t[i].name, &k);
		kv = qkey_val(&k);
		rc = mdb_put(txn, st->dbi[DB_TAGS], &kv, &v, 0);
		if (rc)
			return qerr_mdb(res, rc);
	}
	return 0;
}

/* ------------------------------------------------------------ create */

struct create_args {
	const char *name;
	const struct queue_kv *attrs, *tags;
	size_t nattrs, ntags;
};

static int create_existing(struct queue_store *st, MDB_txn *txn, struct create_args *a,
			   struct qconf *old, struct queue_result *res)
{
	struct qconf want;
	int ret = 0;

	qconf_copy(&want, old);
	if (qconf_apply(st, txn, a->name, &want, a->attrs, a->nattrs, true, res)) {
		qconf_free(&want);
		return -1;
	}
	for (size_t i = 0; i < a->nattrs && !ret; i++) {
		char *x = qconf_attr_string(st, txn, a->name, old, a->attrs[i].name);
		char *y = qconf_attr_string(st, txn, a->name, &want, a->attrs[i].name);

		if (x && y && strcmp(x, y))
			ret = qerr(res, QE_QUEUE_ALREADY_EXISTS,
				   "A queue already exists with the same name and a different "
				   "value for attribute %s",
				   a->attrs[i].name);
		free(x);
		free(y);
	}
	qconf_free(&want);
	return ret;
}

static int do_create(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct create_args *a = arg;
	bool fifo = false, want_fifo;
	struct qconf q;
	MDB_val k = { .mv_size = strlen(a->name), .mv_data = (void *)a->name }, v;
	int64_t now = queue_store_now(st);
	int rc;

	for (size_t i = 0; i < a->nattrs; i++)
		if (a->attrs[i].name && !strcmp(a->attrs[i].name, "FifoQueue") &&
		    a->attrs[i].value && !strcasecmp(a->attrs[i].value, "true"))
			fifo = true;
	want_fifo = strlen(a->name) > 5 && !strcmp(a->name + strlen(a->name) - 5, ".fifo");
	if (!qname_valid(a->name, fifo) || fifo != want_fifo) {
		if (fifo || want_fifo)
			return qerr(res, QE_INVALID_PARAMETER_VALUE,
				    "The name of a FIFO queue can only include alphanumeric "
				    "characters, hyphens, or underscores, must end with .fifo "
				    "suffix and be 1 to 80 in length.");
		return qerr(res, QE_INVALID_PARAMETER_VALUE,
			    "Can only include alphanumeric characters, hyphens, or underscores. 1 "
			    "to 80 in length");
	}
	if (!qconf_load(st, txn, a->name, &q, res)) {
		rc = create_existing(st, txn, a, &q, res);
		qconf_free(&q);
		return rc;
	}
	if (res->code != QE_QUEUE_DOES_NOT_EXIST)
		return -1;
	qok(res);
	rc = mdb_get(txn, st->dbi[DB_TOMBS], &k, &v);
	if (!rc && v.mv_size == 8) {
		int64_t at;

		memcpy(&at, v.mv_data, 8);
		if (now - at < QUEUE_TOMB_MS)
			return qerr(
				res, QE_QUEUE_DELETED_RECENTLY,
				"You must wait 60 seconds after deleting a queue before you can "
				"create another with the same name.");
	}
	qconf_init(&q);
	q.flags = fifo ? QF_FIFO : 0;
	if (qconf_apply(st, txn, a->name, &q, a->attrs, a->nattrs, true, res)) {
		qconf_free(&q);
		return -1;
	}
	if (tags_check(a->tags, a->ntags, res) ||
	    (a->ntags > QUEUE_MAX_TAGS &&
	     qerr(res, QE_INVALID_PARAMETER_VALUE, "Too many tags added for queue %s.", a->name))) {
		qconf_free(&q);
		return -1;
	}
	q.id = st->meta.next_qid++;
	st->meta_dirty = true;
	q.created_ms = q.modified_ms = now;
	rc = qconf_store(st, txn, a->name, &q, res);
	if (!rc)
		rc = tags_put(st, txn, a->name, q.id, a->tags, a->ntags, res);
	qconf_free(&q);
	if (!rc)
		mdb_del(txn, st->dbi[DB_TOMBS], &k, NULL);
	return rc;
}

int queue_create(struct queue_store *st, const char *name, const struct queue_kv *attrs,
		 size_t nattrs, const struct queue_kv *tags, size_t ntags, struct queue_result *res)
{
	struct create_args a = { name, attrs, tags, nattrs, ntags };

	if (!name || !*name)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter QueueName.");
	return qtxn_write(st, do_create, &a, res);
}

/* ------------------------------------------------------------ delete, purge */

/* Every message of @qid with its index, dedup and receive-attempt entries. */
static int drop_messages(struct queue_store *st, MDB_txn *txn, uint64_t qid, bool dedup)
{
	uint8_t p[8];
	int rc;

	put_be64(p, qid);
	rc = qdel_prefix(txn, st->dbi[DB_MSGS], p, 8);
	if (!rc)
		rc = qdel_prefix(txn, st->dbi[DB_VIS], p, 8);
	if (!rc)
		rc = qdel_prefix(txn, st->dbi[DB_ATTEMPTS], p, 8);
	if (!rc && dedup)
		rc = qdel_prefix(txn, st->dbi[DB_DEDUP], p, 8);
	return rc;
}

static int do_delete(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	const char *name = arg;
	MDB_val k = { .mv_size = strlen(name), .mv_data = (void *)name };
	int64_t now = queue_store_now(st);
	MDB_val v = { .mv_size = 8, .mv_data = &now };
	struct qconf q;
	uint8_t p[8];
	int rc;

	if (qconf_load(st, txn, name, &q, res))
		return -1;
	put_be64(p, q.id);
	qconf_free(&q);
	rc = drop_messages(st, txn, q.id, true);
	if (!rc)
		rc = qdel_prefix(txn, st->dbi[DB_TAGS], p, 8);
	if (!rc)
		rc = mdb_del(txn, st->dbi[DB_QUEUES], &k, NULL);
	if (!rc)
		rc = mdb_put(txn, st->dbi[DB_TOMBS], &k, &v, 0);
	return rc ? qerr_mdb(res, rc) : 0;
}

int queue_delete(struct queue_store *st, const char *name, struct queue_result *res)
{
	return qtxn_write(st, do_delete, (void *)name, res);
}

static int do_purge(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	const char *name = arg;
	int64_t now = queue_store_now(st);
	struct qconf q;
	int rc;

	if (qconf_load(st, txn, name, &q, res))
		return -1;
	if (q.purge_ms && now - q.purge_ms < QUEUE_PURGE_MS) {
		qconf_free(&q);
		return qerr(res, QE_PURGE_QUEUE_IN_PROGRESS,
			    "Only one PurgeQueue operation on %s is allowed every 60 seconds.",
			    name);
	}
	/* Deduplication survives a purge: the window is about sends. */
	rc = drop_messages(st, txn, q.id, false);
	q.purge_ms = now;
	if (rc)
		rc = qerr_mdb(res, rc);
	else
		rc = qconf_store(st, txn, name, &q, res);
	qconf_free(&q);
	return rc;
}

int queue_purge(struct queue_store *st, const char *name, struct queue_result *res)
{
	return qtxn_write(st, do_purge, (void *)name, res);
}

/* ------------------------------------------------------------ lookups */

static int do_lookup(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct qconf q;

	if (qconf_load(st, txn, arg, &q, res))
		return -1;
	qconf_free(&q);
	return 0;
}

int queue_lookup(struct queue_store *st, const char *name, struct queue_result *res)
{
	return qtxn_read(st, do_lookup, (void *)name, res);
}

struct mode_args {
	const char *name;
	enum queue_fifo_mode *mode;
};

static int do_fifo_mode(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct mode_args *a = arg;
	struct qconf q;

	if (qconf_load(st, txn, a->name, &q, res))
		return -1;
	*a->mode = !(q.flags & QF_FIFO)	     ? QUEUE_NOT_FIFO
		   : q.flags & QF_TPUT_GROUP ? QUEUE_FIFO_PER_GROUP
					     : QUEUE_FIFO_PER_QUEUE;
	qconf_free(&q);
	return 0;
}

int queue_fifo_mode(struct queue_store *st, const char *name, enum queue_fifo_mode *mode,
		    struct queue_result *res)
{
	struct mode_args a = { name, mode };

	return qtxn_read(st, do_fifo_mode, &a, res);
}

struct list_args {
	const char *prefix;
	size_t max;
	const char *dlq; /* list sources of this dead-letter queue */
	struct queue_kv_list *out;
};

static int do_list(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct list_args *a = arg;
	size_t plen = a->prefix ? strlen(a->prefix) : 0;
	MDB_cursor *c;
	MDB_val k = { .mv_size = plen, .mv_data = (void *)a->prefix }, v;
	int rc = mdb_cursor_open(txn, st->dbi[DB_QUEUES], &c);

	if (rc)
		return qerr_mdb(res, rc);
	rc = plen ? mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) : mdb_cursor_get(c, &k, &v, MDB_FIRST);
	for (; !rc && a->out->n < a->max; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (plen && (k.mv_size < plen || memcmp(k.mv_data, a->prefix, plen)))
			break;
		if (a->dlq) {
			char name[QUEUE_NAME_MAX + 1];
			struct qconf q;
			bool match;

			snprintf(name, sizeof(name), "%.*s", (int)k.mv_size, (char *)k.mv_data);
			if (qconf_load(st, txn, name, &q, res))
				continue;
			match = !strcmp(q.s[QS_DLQ], a->dlq);
			qconf_free(&q);
			if (!match)
				continue;
		}
		kv_push(a->out, k.mv_data, k.mv_size, NULL, 0);
	}
	mdb_cursor_close(c);
	qok(res);
	return rc && rc != MDB_NOTFOUND ? qerr_mdb(res, rc) : 0;
}

int queue_list(struct queue_store *st, const char *prefix, size_t max, struct queue_kv_list *out,
	       struct queue_result *res)
{
	struct list_args a = { prefix, max ? max : 1000, NULL, out };

	out->v = NULL;
	out->n = 0;
	return qtxn_read(st, do_list, &a, res);
}

int queue_list_dlq_sources(struct queue_store *st, const char *dlq, struct queue_kv_list *out,
			   struct queue_result *res)
{
	struct list_args a = { NULL, 1000, dlq, out };

	out->v = NULL;
	out->n = 0;
	if (queue_lookup(st, dlq, res))
		return -1;
	return qtxn_read(st, do_list, &a, res);
}

/* ------------------------------------------------------------ attributes */

struct attr_args {
	const char *name;
	const char *const *names;
	const struct queue_kv *attrs;
	size_t n;
	struct queue_kv_list *out;
};

static int do_get_attrs(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct attr_args *a = arg;
	bool all = false;
	struct qconf q;

	if (qconf_load(st, txn, a->name, &q, res))
		return -1;
	for (size_t i = 0; i < a->n; i++) {
		if (a->names[i] && !strcmp(a->names[i], "All"))
			all = true;
		else if (!a->names[i] || !qconf_attr_known(a->names[i])) {
			qconf_free(&q);
			return qerr(res, QE_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.",
				    a->names[i] ? a->names[i] : "");
		}
	}
	for (int id = 0; qconf_attr_name(id); id++) {
		const char *an = qconf_attr_name(id);
		bool want = all && qconf_attr_listed(&q, id);
		char *val;

		for (size_t i = 0; i < a->n && !want; i++)
			want = !strcmp(a->names[i], an);
		if (!want || !(val = qconf_attr_string(st, txn, a->name, &q, an)))
			continue;
		kv_push(a->out, an, strlen(an), val, strlen(val));
		free(val);
	}
	qconf_free(&q);
	return 0;
}

int queue_get_attributes(struct queue_store *st, const char *name, const char *const *names,
			 size_t n, struct queue_kv_list *out, struct queue_result *res)
{
	struct attr_args a = { .name = name, .names = names, .n = n, .out = out };

	out->v = NULL;
	out->n = 0;
	if (qtxn_read(st, do_get_attrs, &a, res)) {
		queue_kv_list_free(out);
		return -1;
	}
	return 0;
}

static int do_set_attrs(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct attr_args *a = arg;
	struct qconf q;
	int rc;

	if (qconf_load(st, txn, a->name, &q, res))
		return -1;
	rc = qconf_apply(st, txn, a->name, &q, a->attrs, a->n, false, res);
	if (!rc) {
		q.modified_ms = queue_store_now(st);
		rc = qconf_store(st, txn, a->name, &q, res);
	}
	qconf_free(&q);
	return rc;
}

int queue_set_attributes(struct queue_store *st, const char *name, const struct queue_kv *attrs,
			 size_t n, struct queue_result *res)
{
	struct attr_args a = { .name = name, .attrs = attrs, .n = n };

	return qtxn_write(st, do_set_attrs, &a, res);
}

/* ------------------------------------------------------------ tags API */

static int do_tag(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct attr_args *a = arg;
	struct qconf q;
	int rc;

	if (qconf_load(st, txn, a->name, &q, res))
		return -1;
	if (a->attrs)
		rc = tags_put(st, txn, a->name, q.id, a->attrs, a->n, res);
	else {
		rc = 0;
		for (size_t i = 0; i < a->n && !rc; i++) {
			struct qkey k;
			MDB_val kv;

			tag_key(q.id, a->names[i] ? a->names[i] : "", &k);
			kv = qkey_val(&k);
			rc = mdb_del(txn, st->dbi[DB_TAGS], &kv, NULL);
			rc = rc == MDB_NOTFOUND ? 0 : rc ? qerr_mdb(res, rc) : 0;
		}
	}
	qconf_free(&q);
	return rc;
}

int queue_tag(struct queue_store *st, const char *name, const struct queue_kv *tags, size_t n,
	      struct queue_result *res)
{
	struct attr_args a = { .name = name, .attrs = tags, .n = n };

	if (n == 0)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter Tags.");
	return qtxn_write(st, do_tag, &a, res);
}

int queue_untag(struct queue_store *st, const char *name, const char *const *keys, size_t n,
		struct queue_result *res)
{
	struct attr_args a = { .name = name, .names = keys, .n = n };

	if (n == 0)
		return qerr(res, QE_MISSING_PARAMETER,
			    "The request must contain the parameter TagKeys.");
	return qtxn_write(st, do_tag, &a, res);
}

static int do_list_tags(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res)
{
	struct attr_args *a = arg;
	struct qconf q;
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	int rc;

	if (qconf_load(st, txn, a->name, &q, res))
		return -1;
	qkey_init(&k, q.id);
	kv = qkey_val(&k);
	rc = mdb_cursor_open(txn, st->dbi[DB_TAGS], &c);
	if (rc) {
		qconf_free(&q);
		return qerr_mdb(res, rc);
	}
	for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
	     !rc && kv.mv_size >= 8 && get_be64(kv.mv_data) == q.id;
	     rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT))
		kv_push(a->out, (char *)kv.mv_data + 8, kv.mv_size - 8, v.mv_data, v.mv_size);
	mdb_cursor_close(c);
	qconf_free(&q);
	return 0;
}

int queue_list_tags(struct queue_store *st, const char *name, struct queue_kv_list *out,
		    struct queue_result *res)
{
	struct attr_args a = { .name = name, .out = out };

	out->v = NULL;
	out->n = 0;
	return qtxn_read(st, do_list_tags, &a, res);
}

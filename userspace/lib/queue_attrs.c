// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue attributes: the stored queue record, validation of every settable
 * attribute (SQS ranges, RedrivePolicy, RedriveAllowPolicy, FIFO options)
 * and their string forms for GetQueueAttributes.
 */
#include "queue_int.h"
#include "json.h"
#include "strbuf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qrec {
	uint32_t version;
	uint32_t flags;
	uint64_t id;
	int32_t visibility, delay, retention, max_size, wait, max_receive;
	int64_t created_ms, modified_ms, purge_ms;
};

void qconf_init(struct qconf *q)
{
	memset(q, 0, sizeof(*q));
	q->visibility = 30;
	q->retention = 345600;
	q->max_size = QUEUE_MAX_SIZE_LIMIT;
	for (int i = 0; i < QS__COUNT; i++)
		q->s[i] = xstrndup("", 0);
}

void qconf_free(struct qconf *q)
{
	for (int i = 0; i < QS__COUNT; i++) {
		free(q->s[i]);
		q->s[i] = NULL;
	}
}

void qconf_set_str(struct qconf *q, int slot, const char *v)
{
	free(q->s[slot]);
	q->s[slot] = xstrndup(v, strlen(v));
}

void qconf_copy(struct qconf *dst, const struct qconf *src)
{
	*dst = *src;
	for (int i = 0; i < QS__COUNT; i++)
		dst->s[i] = xstrndup(src->s[i], strlen(src->s[i]));
}

int qconf_load(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
	       struct queue_result *res)
{
	MDB_val k = { .mv_size = strlen(name), .mv_data = (void *)name }, v;
	struct qrec r;
	const uint8_t *p, *end;
	int rc = MDB_NOTFOUND;

	/* No valid name is empty or longer than 80 (LMDB rejects such keys). */
	if (*name && k.mv_size <= QUEUE_NAME_MAX)
		rc = mdb_get(txn, st->dbi[DB_QUEUES], &k, &v);
	if (rc == MDB_NOTFOUND)
		return qerr(res, QE_QUEUE_DOES_NOT_EXIST, "The specified queue does not exist.");
	if (rc)
		return qerr_mdb(res, rc);
	if (v.mv_size < sizeof(r))
		return qerr_mdb(res, MDB_CORRUPTED);
	memcpy(&r, v.mv_data, sizeof(r));
	memset(q, 0, sizeof(*q));
	q->id = r.id;
	q->flags = r.flags;
	q->visibility = r.visibility;
	q->delay = r.delay;
	q->retention = r.retention;
	q->max_size = r.max_size;
	q->wait = r.wait;
	q->max_receive = r.max_receive;
	q->created_ms = r.created_ms;
	q->modified_ms = r.modified_ms;
	q->purge_ms = r.purge_ms;
	p = (const uint8_t *)v.mv_data + sizeof(r);
	end = (const uint8_t *)v.mv_data + v.mv_size;
	for (int i = 0; i < QS__COUNT; i++) {
		uint32_t len = 0;

		if (end - p >= 4) {
			memcpy(&len, p, 4);
			p += 4;
		}
		if ((size_t)(end - p) < len)
			len = 0;
		q->s[i] = xstrndup((const char *)p, len);
		p += len;
	}
	return 0;
}

int qconf_store(struct queue_store *st, MDB_txn *txn, const char *name, const struct qconf *q,
		struct queue_result *res)
{
	struct qrec r = {
		.version = 1,
		.flags = q->flags,
		.id = q->id,
		.visibility = q->visibility,
		.delay = q->delay,
		.retention = q->retention,
		.max_size = q->max_size,
		.wait = q->wait,
		.max_receive = q->max_receive,
		.created_ms = q->created_ms,
		.modified_ms = q->modified_ms,
		.purge_ms = q->purge_ms,
	};
	struct strbuf sb = STRBUF_INIT;
	MDB_val k = { .mv_size = strlen(name), .mv_data = (void *)name }, v;
	int rc;

	sb_add(&sb, &r, sizeof(r));
	for (int i = 0; i < QS__COUNT; i++) {
		uint32_t len = (uint32_t)strlen(q->s[i]);

		sb_add(&sb, &len, 4);
		sb_add(&sb, q->s[i], len);
	}
	v = (MDB_val){ .mv_size = sb.len, .mv_data = sb.buf };
	rc = mdb_put(txn, st->dbi[DB_QUEUES], &k, &v, 0);
	sb_free(&sb);
	return rc ? qerr_mdb(res, rc) : 0;
}

/* ------------------------------------------------------------ validation */

enum attr_id {
	A_DELAY,
	A_MAX_SIZE,
	A_RETENTION,
	A_POLICY,
	A_WAIT,
	A_VISIBILITY,
	A_REDRIVE,
	A_REDRIVE_ALLOW,
	A_KMS_KEY,
	A_KMS_REUSE,
	A_SSE,
	A_FIFO,
	A_CBD,
	A_DEDUP_SCOPE,
	A_TPUT,
	/* read-only */
	A_N_VISIBLE,
	A_N_NOT_VISIBLE,
	A_N_DELAYED,
	A_CREATED,
	A_MODIFIED,
	A_ARN,
	A__COUNT,
};

static const char *const attr_names[A__COUNT] = {
	[A_DELAY] = "DelaySeconds",
	[A_MAX_SIZE] = "MaximumMessageSize",
	[A_RETENTION] = "MessageRetentionPeriod",
	[A_POLICY] = "Policy",
	[A_WAIT] = "ReceiveMessageWaitTimeSeconds",
	[A_VISIBILITY] = "VisibilityTimeout",
	[A_REDRIVE] = "RedrivePolicy",
	[A_REDRIVE_ALLOW] = "RedriveAllowPolicy",
	[A_KMS_KEY] = "KmsMasterKeyId",
	[A_KMS_REUSE] = "KmsDataKeyReusePeriodSeconds",
	[A_SSE] = "SqsManagedSseEnabled",
	[A_FIFO] = "FifoQueue",
	[A_CBD] = "ContentBasedDeduplication",
	[A_DEDUP_SCOPE] = "DeduplicationScope",
	[A_TPUT] = "FifoThroughputLimit",
	[A_N_VISIBLE] = "ApproximateNumberOfMessages",
	[A_N_NOT_VISIBLE] = "ApproximateNumberOfMessagesNotVisible",
	[A_N_DELAYED] = "ApproximateNumberOfMessagesDelayed",
	[A_CREATED] = "CreatedTimestamp",
	[A_MODIFIED] = "LastModifiedTimestamp",
	[A_ARN] = "QueueArn",
};

static bool fifo_only(int id)
{
	return id == A_FIFO || id == A_CBD || id == A_DEDUP_SCOPE || id == A_TPUT;
}

static int attr_lookup(const char *name)
{
	for (int i = 0; i < A__COUNT; i++)
		if (!strcmp(name, attr_names[i]))
			return i;
	return -1;
}

int qparse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (!s || !*s || *s == ' ' || *s == '+')
		return -1;
	v = strtol(s, &end, 10);
	if (*end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	if (!strcasecmp(s, "true"))
		*out = true;
	else if (!strcasecmp(s, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

static int bad_attr(struct queue_result *res, const char *name)
{
	return qerr(res, QE_INVALID_ATTRIBUTE_VALUE, "Invalid value for the parameter %s.", name);
}

static int bad_redrive(struct queue_result *res, const char *attr, const char *value,
		       const char *reason)
{
	return qerr(res, QE_INVALID_PARAMETER_VALUE,
		    "Value %s for parameter %s is invalid. Reason: %s", value, attr, reason);
}

/* RedriveAllowPolicy of @dlq lets queue @src_arn use it. */
static bool dlq_allows(const char *policy, const char *src_arn)
{
	struct json_doc *doc;
	struct json_value *perm, *arns;
	bool ok = true;

	if (!*policy)
		return true;
	doc = json_parse(policy, strlen(policy), true);
	perm = json_get(json_doc_root(doc), "redrivePermission");
	if (perm && perm->type == JSON_STRING && !strcmp(perm->u.str.s, "denyAll"))
		ok = false;
	if (perm && perm->type == JSON_STRING && !strcmp(perm->u.str.s, "byQueue")) {
		ok = false;
		arns = json_get(json_doc_root(doc), "sourceQueueArns");
		for (size_t i = 0; arns && arns->type == JSON_ARRAY && i < arns->u.arr.n; i++)
			if (arns->u.arr.items[i]->type == JSON_STRING &&
			    !strcmp(arns->u.arr.items[i]->u.str.s, src_arn))
				ok = true;
	}
	json_doc_free(doc);
	return ok;
}

static int apply_redrive(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
			 const char *value, struct queue_result *res)
{
	const char *A = "RedrivePolicy";
	struct json_doc *doc;
	struct json_value *root, *arn, *mrc;
	char dlq[QUEUE_NAME_MAX + 1], canon[512], self_arn[160];
	struct qconf d;
	long n = -1;
	int ret = -1;

	if (!*value) { /* "" removes the policy */
		q->max_receive = 0;
		qconf_set_str(q, QS_REDRIVE, "");
		qconf_set_str(q, QS_DLQ, "");
		return 0;
	}
	doc = json_parse(value, strlen(value), true);
	root = json_doc_root(doc);
	if (json_doc_error(doc) || !root || root->type != JSON_OBJECT) {
		bad_redrive(res, A, value, "Redrive policy is not a valid JSON map.");
		goto out;
	}
	arn = json_get(root, "deadLetterTargetArn");
	mrc = json_get(root, "maxReceiveCount");
	if (!arn || !mrc || arn->type != JSON_STRING) {
		bad_redrive(res, A, value,
			    "Redrive policy does not contain mandatory attribute: "
			    "deadLetterTargetArn and maxReceiveCount.");
		goto out;
	}
	if (mrc->type == JSON_NUMBER && mrc->u.num.is_int)
		qparse_int(mrc->u.num.raw, -1000000, 1000000, &n);
	else if (mrc->type == JSON_STRING)
		qparse_int(mrc->u.str.s, -1000000, 1000000, &n);
	if (n < 1 || n > 1000) {
		char why[160];

		snprintf(why, sizeof(why),
			 "Invalid value for maxReceiveCount: %.40s, valid values are from 1 to "
			 "1000 both inclusive.",
			 mrc->type == JSON_NUMBER   ? mrc->u.num.raw
			 : mrc->type == JSON_STRING ? mrc->u.str.s
						    : "?");
		bad_redrive(res, A, value, why);
		goto out;
	}
	if (queue_name_from_arn(st, arn->u.str.s, dlq, sizeof(dlq)) ||
	    qconf_load(st, txn, dlq, &d, res)) {
		bad_redrive(res, A, value, "Dead letter target does not exist.");
		goto out;
	}
	queue_arn(st, name, self_arn, sizeof(self_arn));
	if ((d.flags & QF_FIFO) != (q->flags & QF_FIFO))
		bad_redrive(res, A, value,
			    "Dead-letter queue must be same type of queue as the source.");
	else if (!dlq_allows(d.s[QS_REDRIVE_ALLOW], self_arn))
		bad_redrive(res, A, value,
			    "Dead-letter queue's RedriveAllowPolicy does not allow this queue "
			    "to use it as a dead-letter queue.");
	else
		ret = 0;
	qconf_free(&d);
	if (ret)
		goto out;
	snprintf(canon, sizeof(canon), "{\"deadLetterTargetArn\":\"%s\",\"maxReceiveCount\":%ld}",
		 arn->u.str.s, n);
	q->max_receive = (int32_t)n;
	qconf_set_str(q, QS_REDRIVE, canon);
	qconf_set_str(q, QS_DLQ, dlq);
out:
	json_doc_free(doc);
	return ret;
}

static int apply_redrive_allow(struct qconf *q, const char *value, struct queue_result *res)
{
	const char *A = "RedriveAllowPolicy";
	struct json_doc *doc;
	struct json_value *root, *perm, *arns;
	const char *why = NULL;

	if (!*value) {
		qconf_set_str(q, QS_REDRIVE_ALLOW, "");
		return 0;
	}
	doc = json_parse(value, strlen(value), true);
	root = json_doc_root(doc);
	perm = json_get(root, "redrivePermission");
	arns = json_get(root, "sourceQueueArns");
	if (json_doc_error(doc) || !root || root->type != JSON_OBJECT)
		why = "Redrive allow policy is not a valid JSON map.";
	else if (!perm || perm->type != JSON_STRING ||
		 (strcmp(perm->u.str.s, "allowAll") && strcmp(perm->u.str.s, "denyAll") &&
		  strcmp(perm->u.str.s, "byQueue")))
		why = "Invalid value for redrivePermission. Valid values are allowAll, denyAll "
		      "and byQueue.";
	else if (!strcmp(perm->u.str.s, "byQueue") &&
		 (!arns || arns->type != JSON_ARRAY || arns->u.arr.n < 1 || arns->u.arr.n > 10))
		why = "sourceQueueArns must contain 1 to 10 queue ARNs when redrivePermission "
		      "is byQueue.";
	else if (strcmp(perm->u.str.s, "byQueue") && arns)
		why = "sourceQueueArns is allowed only when redrivePermission is byQueue.";
	json_doc_free(doc);
	if (why)
		return bad_redrive(res, A, value, why);
	qconf_set_str(q, QS_REDRIVE_ALLOW, value);
	return 0;
}

/* One attribute into @q (already a scratch copy). */
static int apply_one(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
		     const struct queue_kv *a, bool create, struct queue_result *res)
{
	int id = attr_lookup(a->name);
	const char *v = a->value ? a->value : "";
	long n;
	bool b;

	if (id < 0 || id >= A_N_VISIBLE || (id == A_FIFO && !create) ||
	    (fifo_only(id) && id != A_FIFO && !(q->flags & QF_FIFO)))
		return qerr(res, QE_INVALID_ATTRIBUTE_NAME, "Unknown Attribute %s.", a->name);
	switch (id) {
	case A_DELAY:
	case A_MAX_SIZE:
	case A_RETENTION:
	case A_WAIT:
	case A_VISIBILITY:
	case A_KMS_REUSE: {
		static const long lim[][2] = {
			[A_DELAY] = { 0, 900 },
			[A_MAX_SIZE] = { 1024, QUEUE_MAX_SIZE_LIMIT },
			[A_RETENTION] = { 60, 1209600 },
			[A_WAIT] = { 0, 20 },
			[A_VISIBILITY] = { 0, 43200 },
			[A_KMS_REUSE] = { 60, 86400 },
		};
		if (qparse_int(v, lim[id][0], lim[id][1], &n))
			return bad_attr(res, a->name);
		if (id == A_DELAY)
			q->delay = (int32_t)n;
		else if (id == A_MAX_SIZE)
			q->max_size = (int32_t)n;
		else if (id == A_RETENTION)
			q->retention = (int32_t)n;
		else if (id == A_WAIT)
			q->wait = (int32_t)n;
		else if (id == A_VISIBILITY)
			q->visibility = (int32_t)n;
		else
			qconf_set_str(q, QS_KMS_REUSE, v);
		return 0;
	}
	case A_POLICY:
		if (*v) {
			struct json_doc *doc = json_parse(v, strlen(v), true);
			bool ok = !json_doc_error(doc) && json_doc_root(doc)->type == JSON_OBJECT;

			json_doc_free(doc);
			if (!ok)
				return bad_attr(res, a->name);
		}
		qconf_set_str(q, QS_POLICY, v);
		return 0;
	case A_KMS_KEY:
		qconf_set_str(q, QS_KMS_KEY, v);
		return 0;
	case A_SSE:
		if (parse_bool(v, &b))
			return bad_attr(res, a->name);
		qconf_set_str(q, QS_SSE, b ? "true" : "false");
		return 0;
	case A_REDRIVE:
		return apply_redrive(st, txn, name, q, v, res);
	case A_REDRIVE_ALLOW:
		return apply_redrive_allow(q, v, res);
	case A_FIFO:
		/* Checked against the name by queue_create. */
		if (parse_bool(v, &b))
			return bad_attr(res, a->name);
		return 0;
	case A_CBD:
		if (parse_bool(v, &b))
			return bad_attr(res, a->name);
		q->flags = b ? q->flags | QF_CBD : q->flags & ~QF_CBD;
		return 0;
	case A_DEDUP_SCOPE:
		if (strcmp(v, "queue") && strcmp(v, "messageGroup"))
			return bad_attr(res, a->name);
		q->flags = !strcmp(v, "messageGroup") ? q->flags | QF_DEDUP_GROUP
						      : q->flags & ~QF_DEDUP_GROUP;
		return 0;
	case A_TPUT:
		if (strcmp(v, "perQueue") && strcmp(v, "perMessageGroupId"))
			return bad_attr(res, a->name);
		q->flags = !strcmp(v, "perMessageGroupId") ? q->flags | QF_TPUT_GROUP
							   : q->flags & ~QF_TPUT_GROUP;
		return 0;
	}
	return bad_attr(res, a->name);
}

int qconf_apply(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
		const struct queue_kv *a, size_t n, bool create, struct queue_result *res)
{
	struct qconf tmp;

	qconf_copy(&tmp, q);
	for (size_t i = 0; i < n; i++) {
		if (!a[i].name || apply_one(st, txn, name, &tmp, &a[i], create, res)) {
			if (!a[i].name)
				qerr(res, QE_MISSING_PARAMETER, "Attribute name is missing.");
			qconf_free(&tmp);
			return -1;
		}
	}
	/* High throughput FIFO needs both settings together. */
	if ((tmp.flags & QF_TPUT_GROUP) && !(tmp.flags & QF_DEDUP_GROUP)) {
		qconf_free(&tmp);
		return qerr(res, QE_INVALID_ATTRIBUTE_VALUE,
			    "Invalid value for the parameter FifoThroughputLimit. Reason: "
			    "perMessageGroupId is allowed only when DeduplicationScope is "
			    "messageGroup.");
	}
	qconf_free(q);
	*q = tmp;
	return 0;
}

/* ------------------------------------------------------------ reading */

/* Counts by scanning the visibility index. */
static void count_messages(struct queue_store *st, MDB_txn *txn, const struct qconf *q, long cnt[3])
{
	int64_t now = queue_store_now(st), expire = now - (int64_t)q->retention * 1000;
	MDB_cursor *c;
	struct qkey k;
	MDB_val kv, v;
	int rc;

	cnt[0] = cnt[1] = cnt[2] = 0;
	if (mdb_cursor_open(txn, st->dbi[DB_VIS], &c))
		return;
	qkey_init(&k, q->id);
	kv = qkey_val(&k);
	for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); !rc;
	     rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
		struct vis_rec vr;
		int64_t vis;

		if (kv.mv_size != 24 || get_be64(kv.mv_data) != q->id || v.mv_size != sizeof(vr))
			break;
		memcpy(&vr, v.mv_data, sizeof(vr));
		if (vr.sent_ms <= expire)
			continue;
		vis = (int64_t)get_be64((uint8_t *)kv.mv_data + 8);
		if (vis <= now)
			cnt[0]++;
		else if (vr.received)
			cnt[1]++;
		else
			cnt[2]++;
	}
	mdb_cursor_close(c);
}

char *qconf_attr_string(struct queue_store *st, MDB_txn *txn, const char *name,
			const struct qconf *q, const char *attr)
{
	int id = attr_lookup(attr);
	char buf[200];
	long cnt[3];

	if (id < 0 || (fifo_only(id) && !(q->flags & QF_FIFO)))
		return NULL;
	switch (id) {
	case A_DELAY:
		snprintf(buf, sizeof(buf), "%d", q->delay);
		break;
	case A_MAX_SIZE:
		snprintf(buf, sizeof(buf), "%d", q->max_size);
		break;
	case A_RETENTION:
		snprintf(buf, sizeof(buf), "%d", q->retention);
		break;
	case A_WAIT:
		snprintf(buf, sizeof(buf), "%d", q->wait);
		break;
	case A_VISIBILITY:
		snprintf(buf, sizeof(buf), "%d", q->visibility);
		break;
	case A_POLICY:
		return xstrndup(q->s[QS_POLICY], strlen(q->s[QS_POLICY]));
	case A_REDRIVE:
		return xstrndup(q->s[QS_REDRIVE], strlen(q->s[QS_REDRIVE]));
	case A_REDRIVE_ALLOW:
		return xstrndup(q->s[QS_REDRIVE_ALLOW], strlen(q->s[QS_REDRIVE_ALLOW]));
	case A_KMS_KEY:
		return xstrndup(q->s[QS_KMS_KEY], strlen(q->s[QS_KMS_KEY]));
	case A_KMS_REUSE:
		return xstrndup(q->s[QS_KMS_REUSE], strlen(q->s[QS_KMS_REUSE]));
	case A_SSE:
		snprintf(buf, sizeof(buf), "%s", *q->s[QS_SSE] ? q->s[QS_SSE] : "false");
		break;
	case A_FIFO:
		snprintf(buf, sizeof(buf), "true");
		break;
	case A_CBD:
		snprintf(buf, sizeof(buf), "%s", q->flags & QF_CBD ? "true" : "false");
		break;
	case A_DEDUP_SCOPE:
		snprintf(buf, sizeof(buf), "%s",
			 q->flags & QF_DEDUP_GROUP ? "messageGroup" : "queue");
		break;
	case A_TPUT:
		snprintf(buf, sizeof(buf), "%s",
			 q->flags & QF_TPUT_GROUP ? "perMessageGroupId" : "perQueue");
		break;
	case A_N_VISIBLE:
	case A_N_NOT_VISIBLE:
	case A_N_DELAYED:
		count_messages(st, txn, q, cnt);
		snprintf(buf, sizeof(buf), "%ld", cnt[id - A_N_VISIBLE]);
		break;
	case A_CREATED:
		snprintf(buf, sizeof(buf), "%" PRId64, q->created_ms / 1000);
		break;
	case A_MODIFIED:
		snprintf(buf, sizeof(buf), "%" PRId64, q->modified_ms / 1000);
		break;
	case A_ARN:
		queue_arn(st, name, buf, sizeof(buf));
		break;
	default:
		return NULL;
	}
	return xstrndup(buf, strlen(buf));
}

/* "All" lists these, the optional string ones only when set. */
bool qconf_attr_listed(const struct qconf *q, int id)
{
	switch (id) {
	case A_POLICY:
		return *q->s[QS_POLICY];
	case A_REDRIVE:
		return *q->s[QS_REDRIVE];
	case A_REDRIVE_ALLOW:
		return *q->s[QS_REDRIVE_ALLOW];
	case A_KMS_KEY:
		return *q->s[QS_KMS_KEY];
	case A_KMS_REUSE:
		return *q->s[QS_KMS_REUSE];
	default:
		return !fifo_only(id) || (q->flags & QF_FIFO);
	}
}

const char *qconf_attr_name(int id)
{
	return id >= 0 && id < A__COUNT ? attr_names[id] : NULL;
}

bool qconf_attr_known(const char *name)
{
	return attr_lookup(name) >= 0;
}

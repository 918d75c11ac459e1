/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the queue store (queue.h): the LMDB layout, record encodings
 * and helpers shared by the queue_*.c files. Not part of the API.
 *
 * Sub-databases (keys big-endian so they sort numerically):
 *   queues   name                         -> struct qrec + strings
 *   msgs     qid, seq                     -> struct mrec + strings + attributes
 *   vis      qid, visible_ms, seq         -> struct vis_rec
 *   dedup    qid, [group 0x00], dedup id  -> struct dedup_rec
 *   attempts qid, attempt id              -> expiry, (seq, token) pairs
 *   tags     qid, key                     -> value
 *   tombs    name                         -> deleted at (ms)
 *   tasks    handle                       -> struct task_rec + strings
 *   meta     "counters"                   -> struct meta_rec
 */
#ifndef BPFBUS_LIB_QUEUE_INT_H
#define BPFBUS_LIB_QUEUE_INT_H

#include "prom.h"
#include "queue.h"

#include <lmdb.h>
#include <stdarg.h>
#include <stddef.h>

#define QUEUE_NAME_MAX 80
#define QUEUE_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define QUEUE_TOMB_MS (60 * 1000)
#define QUEUE_PURGE_MS (60 * 1000)
#define QUEUE_MAX_ATTRS 10
#define QUEUE_MAX_SIZE_LIMIT 1048576 /* bpfbus: MaximumMessageSize up to 1 MiB */
#define QUEUE_MAX_VISIBILITY 43200

enum {
	DB_QUEUES,
	DB_MSGS,
	DB_VIS,
	DB_DEDUP,
	DB_ATTEMPTS,
	DB_TAGS,
	DB_TOMBS,
	DB_TASKS,
	DB_META,
	DB__COUNT,
};

/* Sub-databases other stores keep in the same environment (topics: topic_int.h). */
#define QUEUE_EXTRA_DBS 16

struct meta_rec {
	uint64_t next_qid;
	uint64_t next_seq; /* store-wide: FIFO sequence numbers grow per queue */
	uint64_t next_token; /* receipt handle tokens */
	uint64_t secret; /* mixed into receipt handle checksums */
};

struct queue_store {
	MDB_env *env;
	MDB_dbi dbi[DB__COUNT];
	MDB_txn *group; /* open queue_txn_begin transaction, or NULL */
	bool group_failed;
	bool group_full; /* it failed for lack of map space: grow after it */
	struct meta_rec meta;
	bool meta_dirty;
	char region[32];
	char account[32];
	queue_clock_fn clock;
	void *clock_ctx;
	size_t map_size, max_map_size;
	long max_inflight;
	struct prom_table activity; /* queue_stats.c */
	struct queue_tput_slot tput[QUEUE_TPUT_SLOTS]; /* queue_store_tput() */
};

/* ------------------------------------------------------------ errors */

int qerr(struct queue_result *res, enum queue_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void qok(struct queue_result *res);
/* An LMDB failure as QE_INTERNAL_ERROR. */
int qerr_mdb(struct queue_result *res, int rc);
/* The error says the map or the disk is full (the map may be grown). */
bool qerr_is_full(const struct queue_result *res);

/* ------------------------------------------------------------ transactions */

/*
 * Run @fn in a write transaction: the group one if open, else a new one that
 * is committed (and retried after growing the map on MDB_MAP_FULL). @fn
 * returns 0 or -1 with @res set; on -1 a private transaction is aborted, so a
 * failing call must not have written before it failed, except with
 * QE_INTERNAL_ERROR, which dooms a group.
 */
typedef int (*qtxn_fn)(struct queue_store *st, MDB_txn *txn, void *arg, struct queue_result *res);
int qtxn_write(struct queue_store *st, qtxn_fn fn, void *arg, struct queue_result *res);
/* A read-only transaction (the group one while open). */
int qtxn_read(struct queue_store *st, qtxn_fn fn, void *arg, struct queue_result *res);

uint64_t qnext_seq(struct queue_store *st);
uint64_t qnext_token(struct queue_store *st);

/* ------------------------------------------------------------ keys */

static inline void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static inline uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* Key buffer: qid followed by up to 2 more 64-bit fields or bytes. */
struct qkey {
	uint8_t b[8 + 512];
	size_t len;
};
void qkey_init(struct qkey *k, uint64_t qid);
void qkey_u64(struct qkey *k, uint64_t v);
void qkey_bytes(struct qkey *k, const void *p, size_t n);
static inline MDB_val qkey_val(struct qkey *k)
{
	return (MDB_val){ .mv_size = k->len, .mv_data = k->b };
}

/* Every key of @dbi as the names of @out (values NULL). */
int qdb_keys(MDB_txn *txn, MDB_dbi dbi, struct queue_kv_list *out);
/* Delete every key of @dbi starting with the @plen bytes of @prefix. */
int qdel_prefix(MDB_txn *txn, MDB_dbi dbi, const void *prefix, size_t plen);

/* ------------------------------------------------------------ queue records */

enum {
	QF_FIFO = 1u << 0,
	QF_CBD = 1u << 1, /* ContentBasedDeduplication */
	QF_DEDUP_GROUP = 1u << 2, /* DeduplicationScope messageGroup */
	QF_TPUT_GROUP = 1u << 3, /* FifoThroughputLimit perMessageGroupId */
};

/* Free-form string attributes kept as given (canonical for the redrive ones). */
enum {
	QS_REDRIVE, /* RedrivePolicy JSON, "" when none */
	QS_DLQ, /* dead-letter queue name from RedrivePolicy */
	QS_REDRIVE_ALLOW, /* RedriveAllowPolicy JSON */
	QS_POLICY,
	QS_KMS_KEY,
	QS_KMS_REUSE,
	QS_SSE,
	QS__COUNT,
};

struct qconf {
	uint64_t id;
	uint32_t flags;
	int32_t visibility, delay, retention, max_size, wait, max_receive;
	int64_t created_ms, modified_ms, purge_ms;
	char *s[QS__COUNT]; /* owned, never NULL after qconf_init/decode */
};

void qconf_init(struct qconf *q);
void qconf_free(struct qconf *q);
void qconf_copy(struct qconf *dst, const struct qconf *src);
void qconf_set_str(struct qconf *q, int slot, const char *v);
/* Load queue @name; QE_QUEUE_DOES_NOT_EXIST when missing. */
int qconf_load(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
	       struct queue_result *res);
int qconf_store(struct queue_store *st, MDB_txn *txn, const char *name, const struct qconf *q,
		struct queue_result *res);

/*
 * Apply attributes @a to @q, validating each (queue_attrs.c). @create: the
 * CreateQueue rules (FifoQueue allowed). Changes nothing on error.
 */
int qconf_apply(struct queue_store *st, MDB_txn *txn, const char *name, struct qconf *q,
		const struct queue_kv *a, size_t n, bool create, struct queue_result *res);
/* The value of attribute @attr of @q as a string (malloc'd), NULL if unknown. */
char *qconf_attr_string(struct queue_store *st, MDB_txn *txn, const char *name,
			const struct qconf *q, const char *attr);

/* Attribute ids 0.. of GetQueueAttributes "All"; NULL past the last. */
const char *qconf_attr_name(int id);
bool qconf_attr_listed(const struct qconf *q, int id);
bool qconf_attr_known(const char *name);

/* ------------------------------------------------------------ messages */

struct mrec {
	uint8_t msg_id[16];
	uint8_t md5_body[16];
	int64_t sent_ms;
	int64_t first_recv_ms;
	int64_t visible_ms;
	int64_t recv_ms; /* the receive that issued the current token */
	uint64_t token; /* current receipt token; 0: never received */
	uint32_t recv_count;
	uint32_t body_len;
	uint32_t attrs_len;
	uint16_t group_len, dedup_len, sender_len, dlq_src_len;
};

/* The visibility index value: enough to count and expire without the message. */
struct vis_rec {
	int64_t sent_ms;
	uint8_t received; /* received at least once (in flight, not delayed) */
} __attribute__((packed));

/* A decoded message; the pointers point into the LMDB value or a buffer. */
struct qmsg {
	struct mrec h;
	const char *group, *dedup, *sender, *dlq_src, *body;
	const uint8_t *attrs;
};

int qmsg_decode(const MDB_val *v, struct qmsg *m);
/* Encode @m into a new malloc'd value. */
void qmsg_encode(const struct qmsg *m, MDB_val *out);
/* Store @m (as seq @seq of queue @qid) and its visibility index entry. */
int qmsg_put(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq, const struct qmsg *m,
	     struct queue_result *res);
/* Remove message @seq of @qid with visibility @vis (its index entry too). */
int qmsg_del(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq, int64_t vis,
	     struct queue_result *res);
/* Rewrite message @m whose visibility index entry was at @old_vis. */
int qmsg_update(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq,
		const struct qmsg *m, int64_t old_vis, struct queue_result *res);
/* Move a message (from a receive past maxReceiveCount or a move task) into queue @dst. */
int qmsg_move(struct queue_store *st, MDB_txn *txn, uint64_t qid, uint64_t seq,
	      const struct qmsg *m, const char *dst, const char *src_arn, bool keep_count,
	      struct queue_result *res);

/* Serialized attributes: u16 count, then per attribute u16 name, u16 type, u32 value. */
void qattrs_encode(const struct queue_msg_attr *a, size_t n, uint8_t **out, size_t *len);
/* Decode into @out (array of QUEUE_MAX_ATTRS); pointers into @p. Returns count. */
size_t qattrs_decode(const uint8_t *p, size_t len, struct queue_msg_attr *out);

/* ------------------------------------------------------------ validation */

bool qname_valid(const char *name, bool fifo);
/* Message attribute names: 1..256 of A-Za-z0-9_-., no leading, trailing or double
 * period, not starting with AWS. or Amazon. (SQS and SNS share the rule). */
bool qattr_name_valid(const char *name);
/* A decimal number with an optional exponent and at most 38 significant digits. */
bool qnumber_valid(const char *s, size_t len);
/* Body characters SQS allows (XML 1.0 chars in UTF-8). */
bool qtext_valid(const char *s, size_t len, uint32_t *bad);
/* Message attributes: names, types, values and count; total size in @size. */
int qattrs_validate(const struct queue_msg_attr *a, size_t n, size_t *size,
		    struct queue_result *res);
/*
 * Batch-level checks of @n entries of @size bytes whose id (a const char *)
 * is at offset @id_off: count, ids; @what names the entry in messages.
 */
int qbatch_check(const void *entries, size_t n, size_t size, size_t id_off, const char *what,
		 struct queue_result *res);
/* InvalidParameterValue for a malformed MessageGroupId-like token. */
int qbad_token(struct queue_result *res, const char *param, const char *value);
/* VisibilityTimeout 0..43200. */
int qcheck_visibility(int v, struct queue_result *res);
/* MessageGroupId, MessageDeduplicationId and ReceiveRequestAttemptId characters. */
bool qtoken_valid(const char *s);
int qparse_int(const char *s, long lo, long hi, long *out);

/* ------------------------------------------------------------ receipt handles */

void qhandle_format(const struct queue_store *st, uint64_t qid, uint64_t seq, uint64_t token,
		    char out[64]);
/* Parse @h: 0 and fields, or -1 (malformed or forged). */
int qhandle_parse(const struct queue_store *st, const char *h, uint64_t *qid, uint64_t *seq,
		  uint64_t *token);

/* ------------------------------------------------------------ fifo */

/* Dedup lookup: 1 and the original's seq/message id when inside the window. */
int qdedup_find(struct queue_store *st, MDB_txn *txn, const struct qconf *q, const char *group,
		const char *dedup, uint64_t *seq, uint8_t msg_id[16]);
int qdedup_put(struct queue_store *st, MDB_txn *txn, const struct qconf *q, const char *group,
	       const char *dedup, uint64_t seq, const uint8_t msg_id[16], struct queue_result *res);
void qseq_format(uint64_t seq, char out[21]);
/* ReceiveRequestAttemptId: the (seq, token) pairs of a receive within 5 minutes. */
int qattempt_get(struct queue_store *st, MDB_txn *txn, uint64_t qid, const char *id, uint64_t *seqs,
		 uint64_t *tokens, size_t *n);
int qattempt_put(struct queue_store *st, MDB_txn *txn, uint64_t qid, const char *id,
		 const uint64_t *seqs, const uint64_t *tokens, size_t n, struct queue_result *res);
/* Drop expired dedup and attempt entries; returns how many. */
long qfifo_sweep(struct queue_store *st, MDB_txn *txn);

/* ------------------------------------------------------------ misc */

void qhex(const uint8_t *p, size_t n, char *out);
void quuid_format(const uint8_t id[16], char out[37]);
void qrandom(void *p, size_t n);
void qsha256_hex(const void *p, size_t n, char out[65]);
void qmd5(const void *p, size_t n, uint8_t out[16]);

/* ------------------------------------------------------------ activity (queue_stats.c) */

void qstats_count(struct queue_store *st, const char *queue, enum queue_activity_counter c,
		  uint64_t n);
/* A receive's messages: counted, and the age of first receives observed. */
void qstats_received(struct queue_store *st, const char *queue, const struct queue_received *out);

#endif

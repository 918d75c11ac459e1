/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the topic store (topic.h). Not part of the API.
 *
 * Sub-databases in the queue store's LMDB environment:
 *   sns_topics  name                    -> record (name\0value\0 pairs)
 *   sns_subs    subscription uuid       -> record
 *   sns_bytopic topic name \0 uuid      -> "" (subscriptions of a topic)
 *   sns_tags    topic name \0 key       -> value
 *   sns_dedup   topic name \0 [group \0] dedup id -> struct tdedup_rec
 *   sns_counts  subscription uuid       -> struct topic_sub_counters
 *   sns_outbox  seq (big-endian)        -> record
 *   sns_meta    "signing-key"           -> PEM private key
 *
 * Records are name\0value\0 pairs: attributes as SNS shows them, plus
 * internal fields whose names start with '_'.
 */
#ifndef BPFBUS_LIB_TOPIC_INT_H
#define BPFBUS_LIB_TOPIC_INT_H

#include "queue_int.h"
#include "topic.h"

#include <openssl/evp.h>

#define TOPIC_NAME_MAX 256
#define TOPIC_MAX_MESSAGE 262144 /* message plus attributes: 256 KiB */
#define TOPIC_MAX_BATCH TOPIC_MAX_BATCH_ENTRIES
#define TOPIC_MAX_TAGS 50
#define TOPIC_MAX_SUBJECT 100
#define TOPIC_DEDUP_WINDOW_MS (5 * 60 * 1000)
#define TOPIC_UUID_LEN 36

enum {
	TDB_TOPICS,
	TDB_SUBS,
	TDB_BYTOPIC,
	TDB_TAGS,
	TDB_DEDUP,
	TDB_COUNTS,
	TDB_OUTBOX,
	TDB_META,
	TDB__COUNT,
};

struct topic_store {
	struct queue_store *qs;
	MDB_dbi dbi[TDB__COUNT];
	char endpoint[256];
	EVP_PKEY *key; /* signs envelopes */
	char *cert_pem;
	uint64_t queue_deliveries; /* topic_store_queue_deliveries */
};

/* ------------------------------------------------------------ errors */

int terr(struct topic_result *res, enum topic_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void tok(struct topic_result *res);
/* An LMDB failure as TE_INTERNAL_ERROR (worded as the queue store words it). */
int terr_mdb(struct topic_result *res, int rc);
/* A queue store error as a topic error (client errors: InvalidParameter). */
int terr_queue(struct topic_result *res, const struct queue_result *qr);

/* ------------------------------------------------------------ transactions */

/* As qtxn_write/qtxn_read (queue_int.h): joins an open group. */
typedef int (*ttxn_fn)(struct topic_store *ts, MDB_txn *txn, void *arg, struct topic_result *res);
int ttxn_write(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res);
int ttxn_read(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res);

/* ------------------------------------------------------------ records */

/* Decode a record into @out (owned strings); appends. */
void trec_decode(const MDB_val *v, struct queue_kv_list *out);
/* Encode @l into @sb (name\0value\0...). */
struct strbuf;
void trec_encode(const struct queue_kv_list *l, struct strbuf *sb);
/* Value of @name in @l, NULL if absent. */
const char *tkv_get(const struct queue_kv_list *l, const char *name);
/* Set (replace or append) @name; @value NULL removes it. */
void tkv_set(struct queue_kv_list *l, const char *name, const char *value);
void tkv_add(struct queue_kv_list *l, const char *name, const char *value);
bool tkv_true(const struct queue_kv_list *l, const char *name);
/* Every entry of @given is in @have with the same value (CreateTopic, Subscribe again). */
bool tkv_subset(const struct queue_kv_list *given, const struct queue_kv_list *have);

/* Load the record of @key in @dbi; 1 found, 0 missing, -1 error. */
int trec_load(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, struct queue_kv_list *out,
	      struct topic_result *res);
int trec_store(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
	       const struct queue_kv_list *l, struct topic_result *res);

/* ------------------------------------------------------------ names and ARNs */

bool tname_valid(const char *name, bool fifo);
/* Topic name of a topic ARN of this store into @name; -1 if not one. */
int tname_from_arn(const struct topic_store *ts, const char *arn, char *name, size_t cap);
/* Load the topic of @arn: NotFound when missing, InvalidParameter @param when malformed. */
int ttopic_load(struct topic_store *ts, MDB_txn *txn, const char *arn, const char *param,
		char *name, size_t cap, struct queue_kv_list *rec, struct topic_result *res);
/* Subscription uuid of @arn into @id (37 bytes), checking its topic part. */
int tsub_id_from_arn(const struct topic_store *ts, const char *arn, char id[37]);
/* Load subscription @arn: NotFound when missing. */
int tsub_load(struct topic_store *ts, MDB_txn *txn, const char *arn, char id[37],
	      struct queue_kv_list *rec, struct topic_result *res);
/* The topic's subscription uuids. */
int tsub_ids(struct topic_store *ts, MDB_txn *txn, const char *topic, struct queue_kv_list *out,
	     struct topic_result *res);
void tsub_arn(const char *topic_arn, const char *id, char *buf, size_t cap);
/* Remove a subscription's record, index entry and counters. */
int tsub_remove(struct topic_store *ts, MDB_txn *txn, const char *topic, const char *id,
		struct topic_result *res);
/* SNS's default http delivery policy (EffectiveDeliveryPolicy). */
const char *tdefault_delivery_policy(void);

/* ------------------------------------------------------------ attributes */

/*
 * Validate and apply topic attribute @name=@value to @rec. @create allows
 * FifoTopic. @fifo: the topic is FIFO.
 */
int ttopic_attr_apply(struct topic_store *ts, struct queue_kv_list *rec, const char *name,
		      const char *value, bool create, bool fifo, const char *prefix,
		      struct topic_result *res);
/* The same for a subscription of @protocol; @api says which call (its error prefix). */
int tsub_attr_apply(struct topic_store *ts, MDB_txn *txn, struct queue_kv_list *rec,
		    const char *name, const char *value, bool fifo_topic, bool subscribe,
		    struct topic_result *res);
bool tprotocol_is_queue(const char *protocol); /* "sqs" or "queue" */
bool tprotocol_is_http(const char *protocol); /* "http" or "https" */
/* Tags: keys 1..128, values 0..256, at most 50 per topic. */
int ttags_put(struct topic_store *ts, MDB_txn *txn, const char *topic, const struct queue_kv *tags,
	      size_t n, struct topic_result *res);

/* ------------------------------------------------------------ publishing */

/* Validate one publish entry for a topic (FIFO or not, content-based dedup or not). */
int tmsg_validate(const struct topic_publish_entry *e, bool fifo, bool cbd,
		  struct topic_result *res);
/* The message a protocol gets ("sqs", "http"...): the structure's entry or the message. */
int tmsg_for_protocol(const struct topic_publish_entry *e, const char *protocol,
		      struct strbuf *out);
/* SNS attributes JSON ({"N":{"Type":..,"Value":..}}) for envelopes and filter matching. */
void tmsg_attrs_json(const struct queue_msg_attr *a, size_t n, struct strbuf *sb);
/* ISO-8601 UTC time with milliseconds ("2024-01-02T03:04:05.678Z"). */
void tiso_time(int64_t ms, char out[32]);

/* The signing key and certificate: loaded, or created on first open. */
int tsign_init(struct topic_store *ts, struct topic_result *res);
void tsign_free(struct topic_store *ts);
/* Base64 signature of @text with SHA1 (version "1") or SHA256 ("2"). */
int tsign(struct topic_store *ts, const char *version, const char *text, struct strbuf *sig);

/* Envelope fields of one message. */
struct tenvelope {
	const char *type; /* Notification, SubscriptionConfirmation */
	const char *message_id;
	const char *topic_arn;
	const char *subject; /* NULL: none */
	const char *message;
	int64_t time_ms;
	const char *sequence_number; /* FIFO, else NULL */
	const char *attrs_json; /* NULL or "" when none */
	const char *sub_arn; /* UnsubscribeURL */
	const char *token; /* SubscriptionConfirmation */
	const char *signature_version; /* "1" or "2" */
	const char *signature; /* NULL: computed (it does not depend on the subscriber) */
};
void tenvelope_build(struct topic_store *ts, const struct tenvelope *e, struct strbuf *out);
void tenvelope_sign(struct topic_store *ts, const struct tenvelope *e, struct strbuf *sig);

/*
 * Append an item to the outbox. @attrs_json: the message attributes
 * (tmsg_attrs_json) a raw udp delivery carries in its datagram, or NULL.
 */
int toutbox_put(struct topic_store *ts, MDB_txn *txn, const char *sub_arn, const char *protocol,
		const char *endpoint, const char *type, const char *message_id,
		const char *topic_arn, const char *body, bool raw, const char *attrs_json,
		struct topic_result *res);
/*
 * A delivery to subscription @sub_id (record @sub) failed: send @entry to its
 * RedrivePolicy queue (dead_lettered) or count it failed. Must run in a group.
 */
int tdead_letter(struct topic_store *ts, MDB_txn *txn, const char *sub_id,
		 const struct queue_kv_list *sub, const struct queue_send_entry *entry,
		 struct topic_result *res);
/* Run @fn in the open group, or in a group of its own committed before returning. */
int tgroup_run(struct topic_store *ts, ttxn_fn fn, void *arg, struct topic_result *res);
/* Add to a subscription's counters. */
int tcount_add(struct topic_store *ts, MDB_txn *txn, const char *sub_id, int which,
	       struct topic_result *res);
enum { TC_DELIVERED, TC_FILTERED, TC_FAILED, TC_DEAD_LETTERED };

#endif

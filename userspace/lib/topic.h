/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Topics and subscriptions with Amazon SNS semantics (docs/topics.md).
 *
 * The topic store lives in the queue store's LMDB environment (its own
 * sub-databases beside the queues), so a publish and its deliveries into
 * queue subscriptions are one transaction: when topic_publish returns 0 the
 * message is durable in every queue it was delivered to. Like the queue
 * store it is not thread-safe; drive both from one thread. Calls made while
 * a queue_txn_begin group is open join the group (nothing is durable before
 * queue_txn_commit).
 *
 * Topics and subscriptions are addressed by ARN
 * (arn:aws:sns:REGION:ACCOUNT:NAME, TOPIC_ARN:UUID), with the region and
 * account of the queue store. Errors come back in a struct topic_result: an
 * SNS error (enum topic_err) and a message worded like SNS's. Calls return 0
 * on success and -1 on error; batch calls return -1 only for errors of the
 * whole request.
 *
 * Deliveries to http, https and udp subscribers are not made here: they are
 * written to a durable outbox (topic_outbox_*) that the daemon drains.
 */
#ifndef BPFBUS_LIB_TOPIC_H
#define BPFBUS_LIB_TOPIC_H

#include "queue.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum topic_err {
	TE_OK = 0,
	TE_INVALID_PARAMETER, /* InvalidParameter */
	TE_INVALID_PARAMETER_VALUE, /* InvalidParameterValue */
	TE_NOT_FOUND, /* NotFound: topic or subscription */
	TE_RESOURCE_NOT_FOUND, /* ResourceNotFound: tagging */
	TE_TAG_LIMIT_EXCEEDED,
	TE_EMPTY_BATCH_REQUEST,
	TE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
	TE_BATCH_ENTRY_IDS_NOT_DISTINCT,
	TE_INVALID_BATCH_ENTRY_ID,
	TE_BATCH_REQUEST_TOO_LONG,
	TE_AUTHORIZATION_ERROR,
	TE_INVALID_ACTION, /* the dispatcher: unknown Action */
	TE_INTERNAL_ERROR, /* store failure: nothing was changed */
	TE__COUNT,
};

struct topic_result {
	enum topic_err code;
	char message[400];
};

/* Query-protocol error code ("NotFound"), HTTP status, fault type. */
const char *topic_err_code(enum topic_err e);
int topic_err_http_status(enum topic_err e);
bool topic_err_is_sender(enum topic_err e);

/* ------------------------------------------------------------ the store */

struct topic_store_opts {
	/*
	 * Base of the URLs written into envelopes: UnsubscribeURL and
	 * SigningCertURL ("http://127.0.0.1:9324"; default
	 * "https://sns.REGION.amazonaws.com"). The HTTP API serves them.
	 */
	const char *endpoint_url;
};

struct topic_store;

/* Open the topic store inside @qs (which must outlive it). */
struct topic_store *topic_store_open(struct queue_store *qs, const struct topic_store_opts *opts,
				     struct topic_result *res);
void topic_store_close(struct topic_store *ts);
struct queue_store *topic_store_queues(struct topic_store *ts);
/* Drops expired FIFO deduplication entries; returns how many. */
long topic_store_sweep(struct topic_store *ts, struct topic_result *res);
/* PEM of the certificate whose key signs envelopes (served at SigningCertURL). */
const char *topic_store_signing_cert(const struct topic_store *ts);
/*
 * Messages publishes put into sqs subscriptions' queues since the store was
 * opened (in memory): the difference around a publish is how many it made.
 */
uint64_t topic_store_queue_deliveries(const struct topic_store *ts);
/* The path of SigningCertURL below endpoint_url ("/SimpleNotificationService-bpfbus.pem"). */
extern const char topic_signing_cert_path[];

void topic_arn(const struct topic_store *ts, const char *name, char *buf, size_t cap);

/* ------------------------------------------------------------ topics */

/* CreateTopic: creating an existing topic with the same attributes returns its ARN. */
int topic_create(struct topic_store *ts, const char *name, const struct queue_kv *attrs,
		 size_t nattrs, const struct queue_kv *tags, size_t ntags, char *arn, size_t cap,
		 struct topic_result *res);
int topic_delete(struct topic_store *ts, const char *arn, struct topic_result *res);
/* ListTopics: every topic ARN, sorted by name. */
int topic_list(struct topic_store *ts, struct queue_kv_list *out, struct topic_result *res);
/* GetTopicAttributes: all attributes SNS returns for the topic. */
int topic_get_attributes(struct topic_store *ts, const char *arn, struct queue_kv_list *out,
			 struct topic_result *res);
int topic_set_attribute(struct topic_store *ts, const char *arn, const char *name,
			const char *value, struct topic_result *res);

/* Tags of a topic (TagResource, UntagResource, ListTagsForResource). */
int topic_tag(struct topic_store *ts, const char *arn, const struct queue_kv *tags, size_t n,
	      struct topic_result *res);
int topic_untag(struct topic_store *ts, const char *arn, const char *const *keys, size_t n,
		struct topic_result *res);
int topic_list_tags(struct topic_store *ts, const char *arn, struct queue_kv_list *out,
		    struct topic_result *res);

/* ------------------------------------------------------------ subscriptions */

/*
 * Subscribe. Protocols: "sqs" or "queue" (endpoint: a queue ARN of the queue
 * store; FIFO topics take FIFO queues only, standard topics standard queues),
 * "http", "https" (pending until ConfirmSubscription with the token the
 * confirmation message in the outbox carries) and "udp" (endpoint
 * "host:port"). @arn gets the subscription ARN, or "pending confirmation"
 * unless @return_arn. Subscribing the same endpoint twice returns the first
 * subscription when the attributes agree.
 */
int topic_subscribe(struct topic_store *ts, const char *topic_arn, const char *protocol,
		    const char *endpoint, const struct queue_kv *attrs, size_t nattrs,
		    bool return_arn, char *arn, size_t cap, struct topic_result *res);
int topic_unsubscribe(struct topic_store *ts, const char *sub_arn, struct topic_result *res);
/* ConfirmSubscription: @token from the SubscriptionConfirmation message. */
int topic_confirm(struct topic_store *ts, const char *topic_arn, const char *token, char *arn,
		  size_t cap, struct topic_result *res);
/*
 * The same for requests that may not be authenticated (@authenticated
 * false: a GET of the SubscribeURL or UnsubscribeURL, which SNS lets anyone
 * holding the link make). A subscription confirmed by an authenticated
 * request with @auth_unsubscribe (AuthenticateOnUnsubscribe=true) can then
 * only be unsubscribed by an authenticated one (AuthorizationError).
 */
int topic_unsubscribe_as(struct topic_store *ts, const char *sub_arn, bool authenticated,
			 struct topic_result *res);
int topic_confirm_as(struct topic_store *ts, const char *topic_arn, const char *token,
		     bool authenticated, bool auth_unsubscribe, char *arn, size_t cap,
		     struct topic_result *res);

struct topic_sub_info {
	char *arn; /* "PendingConfirmation" while pending, as SNS lists it */
	char *owner;
	char *protocol;
	char *endpoint;
	char *topic_arn;
};

struct topic_sub_list {
	struct topic_sub_info *v;
	size_t n;
};
void topic_sub_list_free(struct topic_sub_list *l);

/* ListSubscriptions (@topic_arn NULL) and ListSubscriptionsByTopic. */
int topic_list_subscriptions(struct topic_store *ts, const char *topic_arn,
			     struct topic_sub_list *out, struct topic_result *res);
int topic_get_sub_attributes(struct topic_store *ts, const char *sub_arn, struct queue_kv_list *out,
			     struct topic_result *res);
int topic_set_sub_attribute(struct topic_store *ts, const char *sub_arn, const char *name,
			    const char *value, struct topic_result *res);

/* What happened to the messages published to one subscription. */
struct topic_sub_counters {
	uint64_t delivered; /* accepted by the queue, or written to the outbox */
	uint64_t filtered; /* not wanted by the filter policy */
	uint64_t failed; /* delivery failed (no dead-letter queue, or it failed too) */
	uint64_t dead_lettered; /* delivery failed, sent to the RedrivePolicy queue */
};
int topic_sub_counters(struct topic_store *ts, const char *sub_arn, struct topic_sub_counters *out,
		       struct topic_result *res);

/* ------------------------------------------------------------ publishing */

/*
 * A message attribute is a struct queue_msg_attr: type "String",
 * "String.Array" (value: a JSON array), "Number" or "Binary" (value: the
 * decoded bytes), each optionally with a custom suffix (not String.Array).
 */
struct topic_publish_entry {
	const char *id; /* PublishBatch entry id; ignored by topic_publish */
	const char *message;
	const char *subject; /* NULL: none */
	const char *message_structure; /* NULL or "json" */
	const struct queue_msg_attr *attrs;
	size_t nattrs;
	const char *group_id; /* MessageGroupId */
	const char *dedup_id; /* MessageDeduplicationId */
	/*
	 * The kernel matched the subscriptions' filter policies already (an SNS
	 * datagram): deliver to the subscriptions with a policy whose ids
	 * (uuids, the last part of their ARNs) are in @matched, and to those
	 * without one, instead of matching here. Ids of subscriptions that no
	 * longer exist are ignored.
	 */
	bool kernel_decided;
	const char *const *matched;
	size_t n_matched;
};

struct topic_publish_result {
	char message_id[37];
	char sequence_number[21]; /* FIFO topics, else "" */
	struct topic_result err; /* per entry of a batch */
};

int topic_publish(struct topic_store *ts, const char *topic_arn,
		  const struct topic_publish_entry *e, struct topic_publish_result *out,
		  struct topic_result *res);
#define TOPIC_MAX_BATCH_ENTRIES 10 /* PublishBatch */

int topic_publish_batch(struct topic_store *ts, const char *topic_arn,
			const struct topic_publish_entry *e, size_t n,
			struct topic_publish_result *out, struct topic_result *res);

/* ------------------------------------------------------------ the outbox */

/*
 * Deliveries the daemon makes: http/https POSTs (Notification and
 * SubscriptionConfirmation envelopes, with the x-amz-sns-* headers their
 * fields give) and udp datagrams. Items are durable and kept until
 * topic_outbox_done, in the order they were written (@seq grows).
 */
struct topic_outbox_item {
	uint64_t seq;
	char *sub_arn;
	char *protocol; /* http, https or udp */
	char *endpoint;
	char *type; /* Notification, SubscriptionConfirmation */
	char *message_id;
	char *topic_arn;
	char *body; /* the envelope JSON, or the bare message when raw */
	char *attrs; /* raw udp: the message attributes as the wire's JSON ("": none) */
	bool raw;
	int64_t created_ms;
	int attempts; /* made before (topic_outbox_retry), 0 for a new item */
	int64_t due_ms; /* when the next one is due (store clock), 0: at once */
};

struct topic_outbox_list {
	struct topic_outbox_item *v;
	size_t n;
};
void topic_outbox_list_free(struct topic_outbox_list *l);
/* The strings of one item (an item taken out of a list). */
void topic_outbox_item_free(struct topic_outbox_item *it);

/* Up to @max items with seq > @after, oldest first. */
int topic_outbox_peek(struct topic_store *ts, uint64_t after, size_t max,
		      struct topic_outbox_list *out, struct topic_result *res);
/*
 * The daemon is done with item @seq. @delivered false after its retries:
 * the subscription's RedrivePolicy queue gets the message (or it counts as
 * failed). Unknown @seq is NotFound.
 */
int topic_outbox_done(struct topic_store *ts, uint64_t seq, bool delivered,
		      struct topic_result *res);
/*
 * Item @seq had @attempts attempts; the next is due at @due_ms (store clock,
 * queue_store_now). Durable, so a restart (or kill -9) resumes the retry
 * schedule where it was instead of from the first attempt.
 */
int topic_outbox_retry(struct topic_store *ts, uint64_t seq, int attempts, int64_t due_ms,
		       struct topic_result *res);

#endif

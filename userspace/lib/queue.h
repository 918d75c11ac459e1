/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Durable queues with Amazon SQS semantics, stored in LMDB (docs/queues.md).
 *
 * One struct queue_store is one LMDB environment in a state directory. It is
 * not thread-safe: the daemon drives it from one thread. Every mutating call
 * is one LMDB write transaction committed with fsync before it returns, so a
 * successful return means durable. queue_txn_begin/commit wrap many calls in
 * one transaction (group commit): then nothing is durable, and nothing may be
 * acknowledged, until queue_txn_commit returns 0; that includes what calls
 * inside returned (message ids, receipt handles), which die with an abort.
 *
 * Errors come back in a struct queue_result: an SQS error (enum queue_err)
 * and a message worded like SQS's. Calls return 0 on success and -1 on error.
 * Batch calls return -1 only for errors of the whole request; per-entry
 * failures are in each entry's result.
 *
 * Queues are named, not addressed by URL: URLs belong to the HTTP API. Time
 * comes from the clock given at open (milliseconds since the epoch).
 */
#ifndef BPFBUS_LIB_QUEUE_H
#define BPFBUS_LIB_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* SQS errors. queue_err_code() gives the query-protocol code. */
enum queue_err {
	QE_OK = 0,
	QE_INVALID_PARAMETER_VALUE,
	QE_MISSING_PARAMETER,
	QE_INVALID_ATTRIBUTE_NAME,
	QE_INVALID_ATTRIBUTE_VALUE,
	QE_QUEUE_DOES_NOT_EXIST,
	QE_QUEUE_ALREADY_EXISTS,
	QE_QUEUE_DELETED_RECENTLY,
	QE_PURGE_QUEUE_IN_PROGRESS,
	QE_RECEIPT_HANDLE_IS_INVALID,
	QE_MESSAGE_NOT_INFLIGHT,
	QE_INVALID_MESSAGE_CONTENTS,
	QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
	QE_BATCH_ENTRY_IDS_NOT_DISTINCT,
	QE_EMPTY_BATCH_REQUEST,
	QE_INVALID_BATCH_ENTRY_ID,
	QE_BATCH_REQUEST_TOO_LONG,
	QE_RESOURCE_NOT_FOUND, /* message move tasks */
	QE_UNSUPPORTED_OPERATION,
	QE_OVER_LIMIT,
	QE_INTERNAL_ERROR, /* store failure, full disk or map: nothing was changed */
	QE__COUNT,
};

struct queue_result {
	enum queue_err code;
	char message[400];
};

/* Query-protocol error code ("AWS.SimpleQueueService.NonExistentQueue"). */
const char *queue_err_code(enum queue_err e);
/* AWS JSON protocol error type ("QueueDoesNotExist"). */
const char *queue_err_type(enum queue_err e);
/* HTTP status of the error response (400, or 500 for QE_INTERNAL_ERROR). */
int queue_err_http_status(enum queue_err e);
/* True when the caller is at fault (the "Sender" fault type). */
bool queue_err_is_sender(enum queue_err e);

/* ------------------------------------------------------------ the store */

typedef int64_t (*queue_clock_fn)(void *ctx);

struct queue_store_opts {
	const char *region; /* QueueArn region, default "us-east-1" */
	const char *account; /* QueueArn account and default SenderId, default "000000000000" */
	queue_clock_fn clock; /* default: CLOCK_REALTIME in ms */
	void *clock_ctx;
	size_t map_size; /* initial LMDB map size, default 64 MiB; grows on demand */
	size_t max_map_size; /* growth limit, default 64 GiB */
	/*
	 * In-flight messages per queue (received, not deleted, not visible
	 * again), default QUEUE_MAX_INFLIGHT: past it a standard queue's receive
	 * fails with OverLimit and a FIFO queue's returns nothing more, as SQS.
	 */
	long max_inflight;
};
#define QUEUE_MAX_INFLIGHT 120000 /* SQS: standard and FIFO queues */
#define QUEUE_MAX_BATCH 10 /* entries of a batch call */

struct queue_store;

/* Open (create) the store in directory @dir (created if missing). */
struct queue_store *queue_store_open(const char *dir, const struct queue_store_opts *opts,
				     struct queue_result *res);
void queue_store_close(struct queue_store *st);
int64_t queue_store_now(const struct queue_store *st);

/*
 * Group commit: calls between begin and commit share one write transaction.
 * If any call inside fails with QE_INTERNAL_ERROR the group is doomed and
 * commit fails; other call errors leave the group usable (a failed call
 * changed nothing). Commit returns 0 when everything inside is durable.
 */
int queue_txn_begin(struct queue_store *st, struct queue_result *res);
int queue_txn_commit(struct queue_store *st, struct queue_result *res);
void queue_txn_abort(struct queue_store *st);

/*
 * Housekeeping the daemon calls now and then: drops messages past their
 * retention period, expired deduplication and receive-attempt entries and
 * old deleted-queue markers. Returns the number of messages dropped.
 */
long queue_store_sweep(struct queue_store *st, struct queue_result *res);

/*
 * Small records of the store's user (keys 1..200 bytes), written in the
 * current transaction -- inside a group, durable exactly with its messages.
 * queue_app_get copies at most @cap bytes, sets *@len to the record's size
 * and returns 1, or 0 when there is no such record, or -1.
 */
int queue_app_put(struct queue_store *st, const void *key, size_t klen, const void *val,
		  size_t vlen, struct queue_result *res);
int queue_app_get(struct queue_store *st, const void *key, size_t klen, void *buf, size_t cap,
		  size_t *len, struct queue_result *res);
/*
 * Delete the records whose key starts with @prefix and whose value holds, at
 * byte @stamp_off, an int64_t (host order) below @before. Returns how many.
 */
long queue_app_expire(struct queue_store *st, const void *prefix, size_t plen, size_t stamp_off,
		      int64_t before, struct queue_result *res);
int queue_app_del(struct queue_store *st, const void *key, size_t klen, struct queue_result *res);

/* A copied record (key without the store's own prefix). */
struct queue_app_rec {
	uint8_t *key;
	size_t klen;
	uint8_t *val;
	size_t vlen;
};
/*
 * The first records (at most @max) whose key starts with @prefix, in key
 * order, and with keys below @below (@blen bytes; NULL: no bound). Copies in
 * *@out (free with queue_app_recs_free); returns how many, or -1.
 */
long queue_app_first(struct queue_store *st, const void *prefix, size_t plen, const void *below,
		     size_t blen, size_t max, struct queue_app_rec **out, struct queue_result *res);
void queue_app_recs_free(struct queue_app_rec *r, size_t n);

/* ------------------------------------------------------------ queues */

/* A name/value pair: queue attributes, tags. */
struct queue_kv {
	const char *name;
	const char *value;
};

/* Result lists (attributes, tags, names) own their strings. */
struct queue_kv_list {
	struct queue_kv *v;
	size_t n;
};
void queue_kv_list_free(struct queue_kv_list *l);

/* CreateQueue. Creating an existing queue with the same attributes succeeds. */
int queue_create(struct queue_store *st, const char *name, const struct queue_kv *attrs,
		 size_t nattrs, const struct queue_kv *tags, size_t ntags,
		 struct queue_result *res);
int queue_delete(struct queue_store *st, const char *name, struct queue_result *res);
/* GetQueueUrl: 0 when @name exists. */
int queue_lookup(struct queue_store *st, const char *name, struct queue_result *res);
/*
 * Calls of one (queue, action[, message group]) in one second of the store's
 * clock: the FIFO throughput quota's counters (sqs_api_throttle.c). They live
 * with the store, so every dispatcher over it (control socket, HTTP) shares
 * them; in memory only, like SQS's rate windows.
 */
struct queue_tput_slot {
	uint64_t key; /* 0: unused */
	int64_t sec;
	uint32_t calls;
};
#define QUEUE_TPUT_SLOTS 1024
struct queue_tput_slot *queue_store_tput(struct queue_store *st);
/* Whose throughput quota a queue has: FifoQueue and FifoThroughputLimit. */
enum queue_fifo_mode {
	QUEUE_NOT_FIFO,
	QUEUE_FIFO_PER_QUEUE, /* FifoThroughputLimit perQueue */
	QUEUE_FIFO_PER_GROUP, /* perMessageGroupId (high throughput) */
};
int queue_fifo_mode(struct queue_store *st, const char *name, enum queue_fifo_mode *mode,
		    struct queue_result *res);
/* Names found by ARN (arn:aws:sqs:region:account:name) of this store. */
int queue_name_from_arn(const struct queue_store *st, const char *arn, char *name, size_t cap);
void queue_arn(const struct queue_store *st, const char *name, char *buf, size_t cap);
/* ListQueues: names starting with @prefix (NULL: all), sorted, at most @max (0: 1000). */
int queue_list(struct queue_store *st, const char *prefix, size_t max, struct queue_kv_list *out,
	       struct queue_result *res);
/* ListDeadLetterSourceQueues: queues whose RedrivePolicy targets @dlq. */
int queue_list_dlq_sources(struct queue_store *st, const char *dlq, struct queue_kv_list *out,
			   struct queue_result *res);
/* GetQueueAttributes: @names may contain "All"; n == 0 returns nothing. */
int queue_get_attributes(struct queue_store *st, const char *name, const char *const *names,
			 size_t n, struct queue_kv_list *out, struct queue_result *res);
int queue_set_attributes(struct queue_store *st, const char *name, const struct queue_kv *attrs,
			 size_t n, struct queue_result *res);
int queue_purge(struct queue_store *st, const char *name, struct queue_result *res);

int queue_tag(struct queue_store *st, const char *name, const struct queue_kv *tags, size_t n,
	      struct queue_result *res);
int queue_untag(struct queue_store *st, const char *name, const char *const *keys, size_t n,
		struct queue_result *res);
int queue_list_tags(struct queue_store *st, const char *name, struct queue_kv_list *out,
		    struct queue_result *res);

/* ------------------------------------------------------------ messages */

/*
 * A message attribute. @type is "String", "Number" or "Binary", optionally
 * with a custom suffix ("Number.float"). For String and Number, @value is the
 * text; for Binary, the decoded bytes.
 */
struct queue_msg_attr {
	const char *name;
	const char *type;
	const void *value;
	size_t len;
};

#define QUEUE_DELAY_UNSET (-1)

struct queue_send_entry {
	const char *id; /* batch entry id; ignored by queue_send */
	const char *body;
	size_t body_len;
	int delay_seconds; /* QUEUE_DELAY_UNSET: the queue's DelaySeconds */
	const struct queue_msg_attr *attrs;
	size_t nattrs;
	const char *group_id; /* MessageGroupId or NULL */
	const char *dedup_id; /* MessageDeduplicationId or NULL */
	const char *sender_id; /* SenderId; NULL: the store's account */
};

struct queue_send_result {
	char message_id[37];
	char md5_body[33];
	char md5_attrs[33]; /* "" without attributes */
	char sequence_number[21]; /* FIFO only, else "" */
	struct queue_result err; /* per entry of a batch */
};

int queue_send(struct queue_store *st, const char *queue, const struct queue_send_entry *e,
	       struct queue_send_result *out, struct queue_result *res);
int queue_send_batch(struct queue_store *st, const char *queue, const struct queue_send_entry *e,
		     size_t n, struct queue_send_result *out, struct queue_result *res);

#define QUEUE_VISIBILITY_UNSET (-1)

struct queue_receive_req {
	int max_messages; /* 1..10; 0 means 1 */
	int visibility_timeout; /* QUEUE_VISIBILITY_UNSET: the queue's */
	const char *attempt_id; /* ReceiveRequestAttemptId (FIFO) or NULL */
	/* MessageAttributeNames: "All", ".*", "prefix.*" or exact names. */
	const char *const *attr_names;
	size_t nattr_names;
};

/* A received message; strings owned by the queue_received list. */
struct queue_message {
	char message_id[37];
	char receipt_handle[64];
	char md5_body[33];
	char md5_attrs[33]; /* of the returned attributes; "" when none */
	char *body;
	size_t body_len;
	struct queue_msg_attr *attrs; /* the requested ones, sorted by name */
	size_t nattrs;
	/* system attributes */
	int64_t sent_timestamp;
	int64_t first_receive_timestamp;
	uint32_t receive_count;
	char *sender_id;
	char *group_id; /* NULL unless sent with one */
	char *dedup_id; /* FIFO */
	char sequence_number[21]; /* FIFO, else "" */
	char *dead_letter_source_arn; /* set once moved to a dead-letter queue */
};

struct queue_received {
	struct queue_message *msgs;
	size_t n;
	/*
	 * When nothing was returned: the earliest time (ms) a message may become
	 * receivable (a delay or visibility timeout ending), or 0 when only a send
	 * can make one receivable. A long-poll waiter sleeps until then or a send.
	 */
	int64_t next_visible_ms;
};
void queue_received_free(struct queue_received *r);

int queue_receive(struct queue_store *st, const char *queue, const struct queue_receive_req *req,
		  struct queue_received *out, struct queue_result *res);

/* Batch entries for delete and change visibility. */
struct queue_handle_entry {
	const char *id;
	const char *receipt_handle;
	int visibility_timeout; /* change visibility only */
	struct queue_result err; /* out: per entry */
};

int queue_delete_message(struct queue_store *st, const char *queue, const char *handle,
			 struct queue_result *res);
int queue_delete_message_batch(struct queue_store *st, const char *queue,
			       struct queue_handle_entry *e, size_t n, struct queue_result *res);
int queue_change_visibility(struct queue_store *st, const char *queue, const char *handle,
			    int timeout, struct queue_result *res);
int queue_change_visibility_batch(struct queue_store *st, const char *queue,
				  struct queue_handle_entry *e, size_t n, struct queue_result *res);

/* ------------------------------------------------------------ MD5s */

/* Lowercase hex MD5 of the body, as MD5OfMessageBody. @out: 33 bytes. */
void queue_md5_body(const void *body, size_t len, char *out);
/* MD5OfMessageAttributes of @n attributes in any order; "" when n == 0. */
void queue_md5_attrs(const struct queue_msg_attr *a, size_t n, char *out);

/* ------------------------------------------------------------ move tasks */

struct queue_move_task {
	char handle[48];
	char *status; /* RUNNING, COMPLETED, CANCELLING, CANCELLED, FAILED */
	char *source_arn;
	char *destination_arn; /* NULL: each message's source queue */
	int max_per_second; /* 0: unset */
	long moved;
	long to_move;
	int64_t started_ms;
	char *failure_reason;
};

struct queue_move_task_list {
	struct queue_move_task *v;
	size_t n;
};
void queue_move_task_list_free(struct queue_move_task_list *l);

/* StartMessageMoveTask from dead-letter queue @source_arn. @rate 0: unset. */
int queue_move_start(struct queue_store *st, const char *source_arn, const char *dest_arn, int rate,
		     char *handle, size_t cap, struct queue_result *res);
int queue_move_cancel(struct queue_store *st, const char *handle, long *moved,
		      struct queue_result *res);
/* ListMessageMoveTasks: the most recent @max (1..10, 0 means 1) tasks of @source_arn. */
int queue_move_list(struct queue_store *st, const char *source_arn, int max,
		    struct queue_move_task_list *out, struct queue_result *res);
/*
 * Advance running tasks: moves what each task's rate allows since its last
 * step (everything it can without a rate). Returns messages moved.
 */
long queue_move_step(struct queue_store *st, struct queue_result *res);

/* ------------------------------------------------------------ activity */

/*
 * What a queue did since the store was opened, for GET /metrics: counters
 * (indexes of prom_entry.counter) and, in its histogram, the age of
 * messages at their first receive (sent to first received). In memory only.
 */
enum queue_activity_counter {
	QA_SENT, /* messages accepted by sends */
	QA_RECEIVED, /* messages handed out by receives */
	QA_DELETED, /* messages deleted with their receipt handles */
	QA_EXPIRED, /* messages dropped at the end of their retention period */
	QA_DEAD_LETTERED, /* messages moved to the dead-letter queue (maxReceiveCount) */
};
struct prom_entry;
/* The activity of @queue, or NULL when it had none since the store was opened. */
const struct prom_entry *queue_store_activity(const struct queue_store *st, const char *queue);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Durable retries of rule-target deliveries: EventBridge's RetryPolicy
 * (docs/daemon.md, "Retries"). A delivery that failed with a retriable error
 * is scheduled here -- "deliver event E to target T at time t, attempt n" --
 * in the queue store's LMDB, inside the caller's transaction, so a pending
 * retry survives a crash exactly when the round that scheduled it committed.
 * The store is bounded: past its capacity a schedule is refused and counted.
 *
 * Targets are opaque to this file: a kind (the caller's enum) and a name the
 * caller resolves when the retry is due (the daemon uses "bus/rule/target-id"),
 * so queue, http and udp targets share the one machinery.
 */
#ifndef BPFBUS_LIB_RETRY_H
#define BPFBUS_LIB_RETRY_H

#include <stddef.h>
#include <stdint.h>

struct queue_store;
struct queue_result;

/* RetryPolicy defaults (EventBridge: 185 attempts, 24 hours). */
#define RETRY_ATTEMPTS_DEFAULT 185
#define RETRY_AGE_DEFAULT_S 86400

struct retry_policy {
	int max_attempts; /* MaximumRetryAttempts 0..185 */
	int max_age_s; /* MaximumEventAgeInSeconds 60..86400 */
};

/*
 * Exponential back-off with jitter: before retry n (n = 0, 1, ...) the wait is
 * w = min(cap, base * 2^n), drawn uniformly from [w/2, w].
 */
struct retry_backoff {
	int64_t base_ms;
	int64_t cap_ms;
};
#define RETRY_BASE_MS_DEFAULT 1000
#define RETRY_CAP_MS_DEFAULT 512000

enum retry_verdict {
	RETRY_SCHEDULE, /* retry at *due_ms */
	RETRY_EXHAUSTED_ATTEMPTS, /* MaximumRetryAttempts reached */
	RETRY_EXHAUSTED_AGE, /* the next retry would come after MaximumEventAgeInSeconds */
};

/* EventBridge's EXHAUSTED_RETRY_CONDITION value of an exhausted verdict. */
const char *retry_exhausted_name(enum retry_verdict v);

/*
 * What to do after a failed delivery of an event first tried at @first_ms,
 * @retries retries after the first attempt; @rnd picks the jitter.
 */
enum retry_verdict retry_plan(const struct retry_policy *p, const struct retry_backoff *b,
			      int64_t first_ms, uint32_t retries, int64_t now_ms, uint64_t rnd,
			      int64_t *due_ms);

struct retry_item {
	uint8_t kind; /* the caller's target kind */
	const char *target; /* the caller's name of the target */
	const char *body;
	size_t body_len;
	const char *group_id, *dedup_id; /* NULL: none */
	int64_t first_ms; /* first attempt: the event's age counts from here */
	uint32_t retries; /* retries made so far (0: only the first attempt) */
	int64_t due_ms;
	uint64_t seq; /* retry_take_due: the record's number (see struct retry_ref) */
};

/* Which record a schedule wrote: to cancel it (retry_cancel) or know it when due. */
struct retry_ref {
	int64_t due_ms;
	uint64_t seq;
};

struct retry_store;

/* The retries kept in @st, at most @max of them. NULL with @res on error. */
struct retry_store *retry_open(struct queue_store *st, size_t max, struct queue_result *res);
void retry_close(struct retry_store *rs);
size_t retry_pending(const struct retry_store *rs);
/* Schedules refused because the store held @max retries. */
uint64_t retry_dropped(const struct retry_store *rs);

/*
 * Schedule @it in the store's current transaction (its strings are copied):
 * 0; 1 when the store is full (counted, nothing written); -1 with @res.
 */
int retry_schedule(struct retry_store *rs, const struct retry_item *it, struct queue_result *res);
/* The same, and which record it wrote into *@ref. */
int retry_schedule_ref(struct retry_store *rs, const struct retry_item *it, struct retry_ref *ref,
		       struct queue_result *res);
/*
 * Remove the record @ref in the current transaction: 1 when it was there, 0
 * when it was not (taken when due, or never committed), -1 with @res.
 */
int retry_cancel(struct retry_store *rs, const struct retry_ref *ref, struct queue_result *res);

/*
 * Up to @max retries due at @now_ms, earliest first, removed from the store
 * in the current transaction. *@out holds copies (retry_items_free). Returns
 * how many, or -1 with @res.
 */
long retry_take_due(struct retry_store *rs, int64_t now_ms, size_t max, struct retry_item **out,
		    struct queue_result *res);
void retry_items_free(struct retry_item *v, size_t n);

/* The earliest due time, or 0 when nothing is pending; -1 with @res on error. */
int64_t retry_next_due(struct retry_store *rs, struct queue_result *res);

/* After the transaction was aborted: re-read the count from the store. */
int retry_resync(struct retry_store *rs, struct queue_result *res);

#endif

// SPDX-License-Identifier: BSD-2-Clause
/*
 * EventBridge's RetryPolicy for rule targets (docs/daemon.md, "Retries"): a
 * delivery that failed with a retriable error is scheduled again in the
 * durable retry store (retry.h) -- in the round's group commit, so a pending
 * retry survives a crash exactly when its round committed -- with
 * exponential back-off and jitter, until MaximumRetryAttempts or
 * MaximumEventAgeInSeconds is exhausted; then it goes to the target's
 * dead-letter queue. A retry names its target "bus/rule" LF target-id and
 * finds it in the live routes when it is due: a rule or target removed in
 * between drops it (counted).
 */
#include "bpfbusd.h"
#include "queue.h"
#include "retry.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bbd_retries_open(struct bbd *d)
{
	struct queue_result res;

	d->retries = retry_open(d->store, d->retry_max, &res);
	if (!d->retries) {
		log_err("cannot open the retry store: %s", res.message);
		return -1;
	}
	if (retry_pending(d->retries))
		log_info("%zu target deliveries wait for a retry", retry_pending(d->retries));
	return 0;
}

void bbd_retries_close(struct bbd *d)
{
	retry_close(d->retries);
	d->retries = NULL;
}

static void target_key(const struct bbd_route *r, const struct bbd_target *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s\n%s", r->name, t->id);
}

char *bbd_retry_key(const struct bbd_route *r, int ti)
{
	char key[BB_RULE_NAME_MAX * 3 + 8];

	target_key(r, &r->t[ti], key, sizeof(key));
	return xstrndup(key, strlen(key));
}

int bbd_retry_later(struct bbd *d, const struct bbd_route *r, int ti, const struct bbd_attempt *a)
{
	const struct bbd_target *t = &r->t[ti];
	struct retry_policy p = { t->retry_attempts, t->max_event_age_s };
	char key[BB_RULE_NAME_MAX * 3 + 8];
	struct retry_item it = {
		.target = key,
		.body = a->body,
		.body_len = a->body_len,
		.group_id = a->group_id,
		.dedup_id = a->dedup_id,
		.first_ms = a->first_ms,
		.retries = a->retries + 1, /* the one it schedules */
	};
	struct queue_result res;
	enum retry_verdict v;

	v = retry_plan(&p, &d->backoff, a->first_ms, a->retries, queue_store_now(d->store),
		       (uint64_t)random(), &it.due_ms);
	if (v != RETRY_SCHEDULE) {
		d->cnt.retries_exhausted++;
		return (int)v;
	}
	target_key(r, t, key, sizeof(key));
	switch (retry_schedule(d->retries, &it, &res)) {
	case 0:
		d->cnt.retries_scheduled++;
		return RETRY_SCHEDULE;
	case 1:
		d->cnt.retries_dropped++;
		log_debug("retry store full (%zu): a retry to %s is dropped",
			  retry_pending(d->retries), t->addr);
		return -1;
	default:
		d->cnt.retries_dropped++;
		log_warn("cannot keep a retry: %s", res.message);
		return -1;
	}
}

const struct bbd_route *bbd_retry_target(const struct bbd *d, const char *key, int *ti)
{
	const struct bbd_routes *rt = bbd_routes_for(d, d->live_gen);
	const char *lf = strchr(key, '\n');
	const struct bbd_route *r = rt && lf ? bbd_route_named(rt, key, (size_t)(lf - key)) : NULL;

	for (int t = 0; r && t < r->n_targets; t++)
		if (!strcmp(r->t[t].id, lf + 1)) {
			*ti = t;
			return r;
		}
	return NULL;
}

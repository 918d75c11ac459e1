// SPDX-License-Identifier: BSD-2-Clause
/*
 * What only tests may do to a running daemon, and only when it was started
 * with --testing (docs/daemon.md, "Testing hooks"): move the store's clock
 * forward (deduplication windows, retention, message ages, due retries are
 * time-dependent SQS and EventBridge behaviour that must be checked without
 * waiting minutes or days) and make deliveries into a queue fail with a
 * retriable error (the retry machinery needs a target that fails and then
 * recovers). Without --testing every test.* request is refused.
 */
#include "bpfbusd.h"
#include "json.h"
#include "reply.h"
#include "strbuf.h"

#include <string.h>
#include <time.h>

int64_t bbd_clock(void *ctx)
{
	const struct bbd *d = ctx;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d->clock_offset_ms;
}

/* A required whole number in [lo, hi] at @key: 0, or -1 with the answer in @out. */
static int need_int(const struct json_value *req, const char *key, long long lo, long long hi,
		    long long *v, struct strbuf *out)
{
	*v = lo - 1;
	if (bbd_arg_int(req, key, lo, hi, v, out))
		return -1;
	if (*v < lo)
		return bbd_fail(out, E_VALIDATION, "missing \"%s\"", key), -1;
	return 0;
}

/* test.clock {"advance_ms": N}: the store's clock moves N ms ahead (never back). */
static int clock_advance(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	long long ms;

	if (need_int(req, "advance_ms", 0, 1000000000000LL, &ms, out))
		return 0;
	d->clock_offset_ms += ms;
	log_info("testing: the store's clock is now %lld ms ahead", (long long)d->clock_offset_ms);
	sb_printf(out, "{\"ok\":true,\"result\":{\"offset_ms\":%lld}}",
		  (long long)d->clock_offset_ms);
	return 0;
}

/* test.fail {"queue": Q, "count": N}: the next N deliveries into Q fail, retriably. */
static int fail_queue(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const struct json_value *q = json_get(req, "queue");
	long long n;

	if (!q || q->type != JSON_STRING || !q->u.str.len ||
	    q->u.str.len >= sizeof(d->failpoint.queue) || memchr(q->u.str.s, 0, q->u.str.len))
		return bbd_fail(out, E_VALIDATION, "\"queue\" must be a queue name");
	if (need_int(req, "count", 0, 1000000000, &n, out))
		return 0;
	memcpy(d->failpoint.queue, q->u.str.s, q->u.str.len);
	d->failpoint.queue[q->u.str.len] = 0;
	d->failpoint.left = n;
	log_info("testing: the next %lld deliveries into %s fail", (long long)n,
		 d->failpoint.queue);
	sb_adds(out, "{\"ok\":true,\"result\":{}}");
	return 0;
}

bool bbd_failpoint_hit(struct bbd *d, const char *queue)
{
	if (!d->failpoint.left || strcmp(d->failpoint.queue, queue))
		return false;
	d->failpoint.left--;
	return true;
}

int bbd_testing_op(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out)
{
	if (!d->testing)
		return bbd_fail(out, "UnknownOperation",
				"test.* requests are served only by bpfbusd --testing");
	if (!strcmp(op, "test.clock"))
		return clock_advance(d, req, out);
	if (!strcmp(op, "test.fail"))
		return fail_queue(d, req, out);
	return bbd_fail(out, "UnknownOperation", "unknown test operation");
}

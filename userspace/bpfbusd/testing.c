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
#include "strbuf.h"

#include <math.h>
#include <string.h>
#include <time.h>

int64_t bbd_clock(void *ctx)
{
	const struct bbd *d = ctx;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + d->clock_offset_ms;
}

static int refuse(struct strbuf *out, const char *code, const char *msg)
{
	sb_reset(out);
	sb_printf(out, "{\"ok\":false,\"error\":\"%s\",\"message\":", code);
	json_write_string(out, msg, strlen(msg));
	sb_addc(out, '}');
	return 0;
}

/* A whole number in [lo, hi] at @key; false when absent or out of range. */
static bool get_int(const struct json_value *req, const char *key, double lo, double hi, int64_t *v)
{
	const struct json_value *j = json_get(req, key);

	if (!j || j->type != JSON_NUMBER || j->u.num.d != floor(j->u.num.d) || j->u.num.d < lo ||
	    j->u.num.d > hi)
		return false;
	*v = (int64_t)j->u.num.d;
	return true;
}

/* test.clock {"advance_ms": N}: the store's clock moves N ms ahead (never back). */
static int clock_advance(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	int64_t ms;

	if (!get_int(req, "advance_ms", 0, 1e12, &ms))
		return refuse(out, "ValidationException",
			      "\"advance_ms\" must be a whole number of milliseconds, 0 to 1e12");
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
	int64_t n;

	if (!q || q->type != JSON_STRING || !q->u.str.len ||
	    q->u.str.len >= sizeof(d->failpoint.queue) || memchr(q->u.str.s, 0, q->u.str.len))
		return refuse(out, "ValidationException", "\"queue\" must be a queue name");
	if (!get_int(req, "count", 0, 1e9, &n))
		return refuse(out, "ValidationException",
			      "\"count\" must be a whole number, 0 to 1e9");
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
		return refuse(out, "UnknownOperation",
			      "test.* requests are served only by bpfbusd --testing");
	if (!strcmp(op, "test.clock"))
		return clock_advance(d, req, out);
	if (!strcmp(op, "test.fail"))
		return fail_queue(d, req, out);
	return refuse(out, "UnknownOperation", "unknown test operation");
}

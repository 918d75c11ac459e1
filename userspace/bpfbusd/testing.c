// SPDX-License-Identifier: BSD-2-Clause
/*
 * What only tests may do to a running daemon, and only when it was started
 * with --testing (docs/daemon.md, "Testing hooks"): move the store's clock
 * forward (deduplication windows, retention, message ages, due retries are
 * time-dependent SQS and EventBridge behaviour that must be checked without
 * waiting minutes or days). Without --testing every test.* request is
 * refused.
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

int bbd_testing_op(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out)
{
	if (!d->testing)
		return refuse(out, "UnknownOperation",
			      "test.* requests are served only by bpfbusd --testing");
	if (!strcmp(op, "test.clock"))
		return clock_advance(d, req, out);
	return refuse(out, "UnknownOperation", "unknown test operation");
}

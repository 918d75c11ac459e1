// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue requests on the control socket: {"op": "sqs", "action": "SendMessage",
 * "request": {AWS JSON 1.0 request}} goes to the SQS dispatcher (sqs_api.h),
 * the one SQS layer, and its JSON 1.0 response comes back as the result. A
 * ReceiveMessage that has to wait parks (control.c) until a send to its
 * queue, a delay or visibility timeout ending, or its deadline.
 */
#include "bpfbusd.h"
#include "json.h"
#include "sqs_api.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "com.amazonaws.sqs#QueueDoesNotExist" -> "QueueDoesNotExist" */
static const char *short_type(const char *type)
{
	const char *hash = strrchr(type, '#');

	return hash ? hash + 1 : type;
}

int bbd_sqs_request(struct bbd *d, const struct json_value *req, struct strbuf *out,
		    int64_t *park_until)
{
	const struct json_value *action = json_get(req, "action");
	const struct json_value *body = json_get(req, "request");
	struct strbuf in = STRBUF_INIT, resp = STRBUF_INIT;
	struct sqs_poll poll = { .no_wait = !park_until };
	struct sqs_api_error err;
	int r;

	if (!action || action->type != JSON_STRING || !sqs_api_has_action(action->u.str.s)) {
		sb_adds(out, "{\"ok\":false,\"error\":\"InvalidAction\",\"message\":");
		const char *msg = "\"action\" must name an SQS action";

		json_write_string(out, msg, strlen(msg));
		sb_addc(out, '}');
		return 0;
	}
	if (body)
		json_write(&in, body);
	else
		sb_adds(&in, "{}");
	r = sqs_dispatch_poll(&d->sqs, action->u.str.s, in.buf, in.len, &poll, &resp, &err);
	sb_free(&in);
	if (r == 0 && poll.wait && park_until) {
		if (*park_until < 0)
			*park_until = now_ms() + (int64_t)poll.wait_seconds * 1000;
		sb_free(&resp);
		return 1;
	}
	if (r == 0) {
		sb_adds(out, "{\"ok\":true,\"result\":");
		sb_add(out, resp.buf ? resp.buf : "{}", resp.buf ? resp.len : 2);
		sb_addc(out, '}');
		if (*sqs_api_woken_queue(&d->sqs))
			d->wake_pending = true;
	} else {
		sb_printf(out,
			  "{\"ok\":false,\"error\":\"%s\",\"status\":%d,\"sender\":%s,\"message\":",
			  short_type(err.type), err.http_status, err.sender ? "true" : "false");
		json_write_string(out, err.message, strlen(err.message));
		sb_addc(out, '}');
	}
	sb_free(&resp);
	return 0;
}

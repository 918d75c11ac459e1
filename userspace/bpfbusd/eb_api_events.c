// SPDX-License-Identifier: BSD-2-Clause
/*
 * PutEvents and TestEventPattern (eb_api.h). PutEvents entries are checked
 * and enriched by eb_event.c, then routed through their buses' rules exactly
 * like datagram events (bbd_intake_put) and stored before the answer.
 */
#include "eb_api.h"
#include "eb_event.h"
#include "ruleset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool bus_exists(void *ctx, const char *name)
{
	const struct bb_mbus *b = bb_model_bus(&((struct bbd *)ctx)->model, name);

	return b && b->kind == BPFBUS_BUS_EVENT;
}

/* The control socket's parked receives run again (as a send over HTTP makes them). */
static void wake_consumers(struct bbd *d)
{
	uint64_t one = 1;

	bbd_http_wake(d);
	if (d->wake_fd >= 0 && write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("http: cannot wake the control socket's long polls: %s", strerror(errno));
}

int eb_put_events(struct eb_call *c)
{
	struct eb_env env = { bbd_account(c->d), bbd_region(c->d), bus_exists, c->d };
	struct eb_put_batch batch;
	struct bbd_put_event *evs;
	struct timespec now;
	size_t n = 0;
	uint64_t stored = 0;

	clock_gettime(CLOCK_REALTIME, &now);
	if (eb_put_events_prepare(c->body, c->body_len, &env,
				  (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, &batch,
				  &c->err))
		return -1;
	evs = xcalloc(batch.n + 1, sizeof(*evs));
	for (size_t i = 0; i < batch.n; i++) {
		struct eb_put_entry_result *r = &batch.entries[i];

		if (r->ok)
			evs[n++] = (struct bbd_put_event){ r->bus_name, r->event.buf, r->event.len,
							   r->event_id };
	}
	/* durable before the answer: a failed commit fails every entry it carried */
	if (n && bbd_intake_put(c->d, evs, n, &stored)) {
		for (size_t i = 0; i < batch.n; i++) {
			struct eb_put_entry_result *r = &batch.entries[i];

			if (!r->ok)
				continue;
			r->ok = false;
			batch.failed++;
			snprintf(r->error_code, sizeof(r->error_code), "InternalFailure");
			snprintf(r->error_message, sizeof(r->error_message),
				 "The event could not be stored; send it again.");
		}
	} else if (stored) {
		wake_consumers(c->d);
	}
	sb_printf(c->out, "{\"FailedEntryCount\":%zu,\"Entries\":[", batch.failed);
	for (size_t i = 0; i < batch.n; i++) {
		const struct eb_put_entry_result *r = &batch.entries[i];

		sb_adds(c->out, i ? ",{" : "{");
		if (r->ok) {
			eb_put_str(c->out, "EventId", r->event_id, true);
		} else {
			eb_put_str(c->out, "ErrorCode", r->error_code, true);
			eb_put_str(c->out, "ErrorMessage", r->error_message, false);
		}
		sb_addc(c->out, '}');
	}
	sb_adds(c->out, "]}");
	free(evs);
	eb_put_batch_free(&batch);
	return 0;
}

int eb_test_event_pattern(struct eb_call *c)
{
	static const char *const required[] = { "id",	  "account",   "source",     "time",
						"region", "resources", "detail-type" };
	const char *pattern, *event;
	struct json_doc *doc;
	struct bb_ruleset *rs;
	struct bb_match_ctx *mctx;
	struct bb_error e;
	const uint32_t *ids;
	int n;

	if (eb_str(c, "EventPattern", true, &pattern) || eb_str(c, "Event", true, &event))
		return -1;
	doc = json_parse(event, strlen(event), true);
	bool ok = !json_doc_error(doc) && json_doc_root(doc)->type == JSON_OBJECT;

	for (size_t i = 0; ok && i < sizeof(required) / sizeof(required[0]); i++)
		ok = json_get(json_doc_root(doc), required[i]) != NULL;
	json_doc_free(doc);
	if (!ok)
		return eb_fail(c, "ValidationException", "Parameter Event is not valid.");
	rs = bb_ruleset_new();
	if (bb_ruleset_add_pattern(rs, "test", pattern, strlen(pattern), &e) < 0) {
		bb_ruleset_free(rs);
		return eb_fail(c, "InvalidEventPatternException", "%s", e.msg);
	}
	bb_ruleset_compile(rs);
	mctx = bb_match_ctx_new(rs);
	n = bb_match_event(mctx, event, strlen(event), &ids, &e);
	bb_match_ctx_free(mctx);
	bb_ruleset_free(rs);
	sb_printf(c->out, "{\"Result\":%s}", n > 0 ? "true" : "false");
	return 0;
}

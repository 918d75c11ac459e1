/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * EventBridge PutEvents: request entries validated the way EventBridge
 * validates them and enriched into the event envelope rules are matched
 * against (docs/eventbridge.md, "PutEvents and the envelope"):
 *
 *	{"version":"0","id":"<uuid>","detail-type":"...","source":"...",
 *	 "account":"...","time":"2015-11-11T21:29:54Z","region":"...",
 *	 "resources":[...],"detail":{...}}
 *
 * Two kinds of failure, as in EventBridge. A request-level error fails the
 * whole call (eb_put_events_prepare returns -1: ValidationException for too
 * many entries, a length constraint or an oversized request;
 * SerializationException for a field of the wrong JSON type). Otherwise each
 * entry succeeds with an EventId or fails on its own with ErrorCode and
 * ErrorMessage (InvalidArgument, MalformedDetail,
 * NotAuthorizedForSourceException, ResourceNotFoundException), and the other
 * entries still go through.
 */
#ifndef BPFBUS_EB_EVENT_H
#define BPFBUS_EB_EVENT_H

#include "eb_common.h"
#include "strbuf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EB_PUT_EVENTS_MAX_ENTRIES 10
/* Entry size as EventBridge computes it (Time 14 bytes + Source + DetailType
 * + Detail + each Resource, UTF-8 bytes); a request's entries together must
 * stay within it. */
#define EB_PUT_EVENTS_MAX_SIZE (256 * 1024)
#define EB_SOURCE_MAX 256
#define EB_DETAIL_TYPE_MAX 128
#define EB_RESOURCES_MAX 100
#define EB_RESOURCE_MAX 2048
#define EB_TRACE_HEADER_MAX 500
#define EB_BUS_NAME_OR_ARN_MAX 1600

/* Where events are put: fills "account" and "region", resolves bus ARNs. */
struct eb_env {
	const char *account; /* 12 digits */
	const char *region;
	/* Optional: does event bus @name exist? NULL accepts every name. */
	bool (*bus_exists)(void *ctx, const char *name);
	void *ctx;
};

/* One entry's outcome. */
struct eb_put_entry_result {
	bool ok;
	char event_id[37]; /* ok: the envelope's "id" */
	char error_code[64]; /* !ok */
	char error_message[256]; /* !ok */
	char *bus_name; /* ok: the bus the event goes to (name, not ARN) */
	char *trace_header; /* ok: TraceHeader if given, else NULL */
	int64_t time_s; /* ok: the event time */
	struct strbuf event; /* ok: the envelope (compact JSON) */
};

struct eb_put_batch {
	struct eb_put_entry_result *entries;
	size_t n;
	size_t failed; /* FailedEntryCount */
};

/*
 * Validate and enrich the entries of a PutEvents request body
 * ({"Entries":[...]}, AWS JSON 1.1). @now_ms is the ingestion time: the
 * event time when an entry has no Time. Returns 0 with @out filled (one
 * result per entry, in order), or -1 with @err set and @out empty.
 */
int eb_put_events_prepare(const char *body, size_t len, const struct eb_env *env, int64_t now_ms,
			  struct eb_put_batch *out, struct eb_error *err);
void eb_put_batch_free(struct eb_put_batch *b);

/* The fields of an envelope; eb_envelope_write serialises them in EventBridge's order. */
struct eb_envelope {
	const char *id;
	const char *detail_type;
	const char *source;
	const char *account;
	int64_t time_s;
	const char *region;
	const char *const *resources;
	size_t n_resources;
	const char *detail; /* compact JSON object text; NULL writes {} */
	size_t detail_len;
	const char *replay_name; /* replayed events only, else NULL */
};
void eb_envelope_write(struct strbuf *sb, const struct eb_envelope *e);

/* The bus name of an EventBusName value: the name itself, or the part after
 * "event-bus/" of a bus ARN. Returns NULL when @v is neither. */
const char *eb_bus_name_of(const char *v);

#endif

/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Internals of the HTTP listener (http_api.h): form decoding, the SQS query
 * protocol translation (parameters to AWS JSON 1.0 requests, JSON answers to
 * XML), and the long-poll waiters. Not part of the API.
 */
#ifndef BPFBUS_LIB_HTTP_INT_H
#define BPFBUS_LIB_HTTP_INT_H

#include "http_api.h"
#include "prom.h"

#include <stddef.h>
#include <stdint.h>

/* At most this many parameters in one form: bounds the work of a hostile one. */
#define HTTP_MAX_PARAMS 4096

/*
 * Decode "a=b&c=d" (application/x-www-form-urlencoded: '+' is a space).
 * Returns 0, or -1 with a message naming the parameter in @err.
 */
int http_form_parse(const char *s, size_t len, struct http_param **out, size_t *n, char *err,
		    size_t cap);
void http_params_free(struct http_param *p, size_t n);
const char *http_param_get(const struct http_param *p, size_t n, const char *name);

/*
 * The SQS query protocol: the parameters of @action as its AWS JSON 1.0
 * request. Returns 0, or -1 with an InvalidParameterValue message in @err.
 */
int sqs_query_to_json(const char *action, const struct http_param *p, size_t n, struct strbuf *json,
		      char *err, size_t cap);
/* The JSON answer of @action as the query protocol's XML document. */
void sqs_json_to_xml(const char *action, const char *json, size_t len, const char *request_id,
		     struct strbuf *xml);

/* Long polls parked until a send, a visibility change or their deadline. */
struct http_waiters;
typedef void (*http_wake_fn)(void *conn);

struct http_waiters *http_waiters_new(http_wake_fn wake);
void http_waiters_free(struct http_waiters *w);
/* Park @conn on @queue until @until_ms (absolute, CLOCK_REALTIME ms). */
void http_waiters_add(struct http_waiters *w, void *conn, const char *queue, int64_t until_ms);
/* Wake everyone parked on @queue. Thread-safe. */
void http_waiters_wake_queue(struct http_waiters *w, const char *queue);
/* Wake everyone: shutting down. */
void http_waiters_wake_all(struct http_waiters *w);

int64_t http_now_ms(void);

/*
 * Requests answered, by action and HTTP status, for /metrics. Actions are
 * only known ones (unknown names count as "unknown"), so the table is small;
 * pairs beyond its size count under "other".
 */
#define HTTP_STATS_SLOTS 512

struct http_stat {
	char action[128];
	int status;
	uint64_t n;
};

struct http_stats {
	struct http_stat slot[HTTP_STATS_SLOTS];
	size_t n;
	uint64_t other;
	struct prom_table latency; /* by action: request received to answer queued */
};

/* One answer; @us: how long the request took (its latency), or -1 not to observe it. */
void http_stats_count(struct http_stats *st, const char *action, int status, int64_t us);
/*
 * Prometheus text: bpfbus_http_requests_total{action,status} and
 * bpfbus_http_request_duration_seconds{action}.
 */
void http_stats_render(const struct http_stats *st, struct strbuf *out);
void http_stats_free(struct http_stats *st);

#endif

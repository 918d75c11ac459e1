/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The AWS-compatible HTTP listener (docs/api.md): one libmicrohttpd daemon
 * that routes each request to its protocol, verifies its SigV4 signature and
 * answers as botocore expects.
 *
 *   X-Amz-Target: AmazonSQS.<Action>      SQS, AWS JSON 1.0 (sqs_api.h)
 *   form or query with Action=<Action>    SQS query protocol (XML answers)
 *   anything else                         a registered dispatcher (below),
 *                                         else an AWS-style "unknown action"
 *
 * All requests are served by one thread, which is the only one touching the
 * queue store unless the host shares it: then the host passes a mutex that
 * the listener holds around every store call.
 */
#ifndef BPFBUS_LIB_HTTP_API_H
#define BPFBUS_LIB_HTTP_API_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct queue_store;
struct strbuf;

struct http_api_config {
	const char *address; /* IPv4 or IPv6 literal; default "127.0.0.1" */
	int port; /* 0: any free port (see http_api_port) */
	const char *credentials_file; /* sigv4.h format; required unless anonymous */
	bool anonymous; /* no authentication at all: local development only */
	const char *tls_cert, *tls_key; /* PEM files: HTTPS when both are given */
	const char *account_id; /* default "000000000000" */
	const char *region; /* default "us-east-1" */
	const char *endpoint; /* base of queue URLs; default "http(s)://ADDRESS:PORT" */
	struct queue_store *store;
	pthread_mutex_t *store_lock; /* NULL: the listener's thread is the store's only user */
	size_t max_body; /* bytes; default 4 MiB (a 1 MiB batch, form-encoded) */
	unsigned int timeout_s; /* idle or slow connections are closed; default 30 */
	unsigned int max_connections; /* default 1000 */
	/*
	 * Called (on the listener's thread, store lock held) after a request
	 * made messages in @queue receivable, so a host can wake its own
	 * waiters. NULL: nobody else waits.
	 */
	void (*on_wake)(void *ctx, const char *queue);
	/*
	 * GET /metrics: the host appends Prometheus text to @out (store lock
	 * held); the listener adds its own request counters. NULL: no /metrics.
	 */
	void (*metrics)(void *ctx, struct strbuf *out);
	void *host_ctx; /* @ctx of on_wake and metrics */
};

struct http_api;

/* Start listening. NULL with a message naming the problem in @err. */
struct http_api *http_api_start(const struct http_api_config *cfg, char *err, size_t cap);
/* Stop: closes the socket, answers nothing more, frees everything. */
void http_api_stop(struct http_api *api);
/* The bound port (useful with port 0). */
int http_api_port(const struct http_api *api);
/*
 * Something outside the listener added receivable messages to @queue (the
 * daemon routing events): long polls on it are answered now. Thread-safe.
 */
void http_api_notify_queue(struct http_api *api, const char *queue);
/* The same for every queue (the host does not know which gained messages). */
void http_api_notify_all(struct http_api *api);
/*
 * Read the credentials file again and use it for requests verified from now
 * on. On error (message in @err) the keys in use stay. Thread-safe.
 */
int http_api_reload_credentials(struct http_api *api, const char *path, char *err, size_t cap);

/* ------------------------------------------------------------ other services */

/* One decoded form or query parameter. */
struct http_param {
	char *name;
	char *value;
};

/* A request handed to a dispatcher, already authenticated. */
struct http_call {
	const char *action; /* "Publish", "PutEvents" */
	bool json; /* AWS JSON protocol (body below), else query protocol (params) */
	const char *body; /* JSON protocols: the raw body */
	size_t body_len;
	const struct http_param *params; /* query protocol: all parameters, decoded */
	size_t nparams;
	const char *request_id;
	bool unsigned_get; /* a GET without a signature that unsigned_get allowed */
};

/* What a dispatcher answers: the status, content type and body it rendered. */
struct http_reply {
	int status;
	const char *content_type; /* static string */
	struct strbuf *body;
};

/*
 * A dispatcher for another service. It is chosen by X-Amz-Target prefix
 * (@json_target_prefix, "AWSEvents.") for AWS JSON requests, or by the
 * query parameter Version (@query_version, "2010-03-31") for query-protocol
 * requests. Requests are signed for @signing_service ("events", "sns").
 * Its calls run on the listener's thread with the store lock held.
 */
struct http_dispatcher {
	const char *json_target_prefix; /* NULL: no JSON protocol */
	const char *query_version; /* NULL: no query protocol */
	const char *signing_service;
	/* Whether @action is one of its actions (unknown ones get InvalidAction). */
	bool (*has_action)(void *ctx, const char *action);
	/* The ARN the call acts on, for credentials limited to resources; "" when none. */
	void (*resource)(void *ctx, const struct http_call *call, char *arn, size_t cap);
	/* Render the answer (success or the service's error) into @reply. */
	void (*handle)(void *ctx, const struct http_call *call, struct http_reply *reply);
	void *ctx;
	/* The service's error code for a key not allowed the call ("AuthorizationError"
	 * for SNS); NULL: AccessDenied. */
	const char *access_denied_code;
	/*
	 * Optional. A GET of a path other than "/" (a certificate the service's
	 * messages link to): render it into @reply and return true, or false when
	 * the path is not the service's. Unauthenticated; store lock held.
	 */
	bool (*get_path)(void *ctx, const char *path, struct http_reply *reply);
	/*
	 * Optional. Actions a GET without an Authorization header may call, as
	 * AWS lets anyone holding the link visit SNS's SubscribeURL.
	 */
	bool (*unsigned_get)(void *ctx, const char *action);
};

/* Register before or after start (at most 8); returns 0, or -1 when full. */
int http_api_register(struct http_api *api, const struct http_dispatcher *d);

/* Render the query-protocol error document (<ErrorResponse>) into @sb. */
void http_query_error(struct strbuf *sb, bool sender, const char *code, const char *message,
		      const char *request_id);
/* Append @s with XML escapes. */
void http_xml_escape(struct strbuf *sb, const char *s, size_t len);

#endif

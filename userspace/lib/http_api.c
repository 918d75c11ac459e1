// SPDX-License-Identifier: BSD-2-Clause
/*
 * The HTTP listener (http_api.h): libmicrohttpd set-up, the life of a
 * request (bounded body, routing, SigV4, dispatch, long-poll parking) and
 * the answers in each protocol's format.
 */
#include "http_api.h"
#include "http_int.h"
#include "json.h"
#include "prom.h"
#include "queue.h"
#include "sigv4.h"
#include "sqs_api.h"
#include "strbuf.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DISPATCHERS 8
#define MAX_HEADERS 100

/*
 * A credentials file as loaded. Requests hold pointers into the set that
 * verified them (a parked long poll for up to 20 s), so a reload only
 * publishes a new set; older ones are freed when the listener stops.
 */
struct creds_set {
	struct sigv4_creds c;
	struct creds_set *older;
};

struct http_api {
	struct MHD_Daemon *mhd;
	struct sqs_api sqs;
	struct creds_set *creds; /* the live set: read by the listener, swapped by reloads */
	pthread_mutex_t reload_mu; /* serialises reloads */
	struct http_stats stats; /* listener thread only */
	void (*on_wake)(void *ctx, const char *queue);
	void (*metrics)(void *ctx, struct strbuf *out);
	void *host_ctx;
	bool anonymous;
	size_t max_body;
	int port;
	pthread_mutex_t *store_lock;
	struct http_waiters *waiters;
	struct http_dispatcher disp[MAX_DISPATCHERS];
	size_t ndisp;
	char *tls_key, *tls_cert;
};

/* One request, from its first line to its completion. */
struct req {
	char *raw_uri;
	struct strbuf body;
	bool started;
	const struct sigv4_cred *cred; /* the key that signed, once verified */
	bool parked;
	int64_t deadline_ms; /* long poll: when the wait ends */
	char action[128]; /* a known action, for the request counters; "" otherwise */
	struct http_stats *stats;
	bool counted; /* already in the request counters */
	char request_id[40];
	int64_t t0_us; /* its first line arrived (prom_now_us) */
};

enum proto { P_SQS_JSON, P_SQS_QUERY, P_OTHER_JSON, P_OTHER_QUERY };

/* What the router decided about a request. */
struct route {
	enum proto proto;
	const struct http_dispatcher *disp;
	const char *service; /* for the SigV4 scope */
	char action[128];
	bool query_mode; /* x-amzn-query-mode: true */
	struct http_param *params;
	size_t nparams;
};

/* ------------------------------------------------------------ answers */

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct req *rq, int status,
				  const char *type, const char *body, size_t len,
				  const char *query_error)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	if (!rq->counted)
		http_stats_count(rq->stats, rq->action, status, prom_now_us() - rq->t0_us);
	rq->counted = false;
	MHD_add_response_header(r, "Content-Type", type);
	MHD_add_response_header(r, "x-amzn-RequestId", rq->request_id);
	if (query_error)
		MHD_add_response_header(r, "x-amzn-query-error", query_error);
	ret = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ret;
}

/* An error in the format of the request's protocol. */
static enum MHD_Result send_error(struct MHD_Connection *conn, struct req *rq,
				  const struct route *rt, int status, const char *type,
				  const char *code, bool sender, const char *message)
{
	struct strbuf sb = STRBUF_INIT;
	enum MHD_Result ret;

	if (rt && (rt->proto == P_SQS_JSON || rt->proto == P_OTHER_JSON)) {
		char qe[160];

		sb_adds(&sb, "{\"__type\":");
		json_write_string(&sb, type, strlen(type));
		sb_adds(&sb, ",\"message\":");
		json_write_string(&sb, message, strlen(message));
		sb_addc(&sb, '}');
		snprintf(qe, sizeof(qe), "%s;%s", code, sender ? "Sender" : "Receiver");
		ret = send_reply(conn, rq, status,
				 rt->proto == P_SQS_JSON ? "application/x-amz-json-1.0"
							 : "application/x-amz-json-1.1",
				 sb.buf, sb.len, rt->query_mode ? qe : NULL);
	} else {
		http_query_error(&sb, sender, code, message, rq->request_id);
		ret = send_reply(conn, rq, status, "text/xml", sb.buf, sb.len, NULL);
	}
	sb_free(&sb);
	return ret;
}

static enum MHD_Result send_simple_error(struct MHD_Connection *conn, struct req *rq,
					 const struct route *rt, int status, const char *code,
					 const char *message)
{
	return send_error(conn, rq, rt, status, code, code, status < 500, message);
}

/* ------------------------------------------------------------ routing */

struct header_list {
	struct sigv4_header h[MAX_HEADERS];
	size_t n;
	bool overflow;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
				      const char *value)
{
	struct header_list *l = cls;

	(void)kind;
	if (l->n == MAX_HEADERS) {
		l->overflow = true;
		return MHD_NO;
	}
	l->h[l->n++] = (struct sigv4_header){ key, value ? value : "" };
	return MHD_YES;
}

static const char *query_of(const struct req *rq)
{
	const char *q = strchr(rq->raw_uri, '?');

	return q ? q + 1 : "";
}

/* The form parameters: the query string, then a form-encoded POST body. */
static int form_params(struct MHD_Connection *conn, struct req *rq, struct route *rt, char *err,
		       size_t cap)
{
	const char *ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
	const char *q = query_of(rq);
	struct http_param *bp;
	size_t bn;

	if (http_form_parse(q, strlen(q), &rt->params, &rt->nparams, err, cap))
		return -1;
	if (!rq->body.len || !ct || strncasecmp(ct, "application/x-www-form-urlencoded", 33))
		return 0;
	if (http_form_parse(rq->body.buf, rq->body.len, &bp, &bn, err, cap))
		return -1;
	if (rt->nparams + bn > HTTP_MAX_PARAMS) {
		http_params_free(bp, bn);
		snprintf(err, cap, "The request has more than %d parameters.", HTTP_MAX_PARAMS);
		return -1;
	}
	rt->params = xrealloc(rt->params, (rt->nparams + bn + 1) * sizeof(*rt->params));
	memcpy(rt->params + rt->nparams, bp, bn * sizeof(*bp));
	rt->nparams += bn;
	free(bp);
	return 0;
}

static size_t ndisp(const struct http_api *api)
{
	return __atomic_load_n(&api->ndisp, __ATOMIC_ACQUIRE);
}

/* Decide the protocol and action; -1 when an error was sent. */
static int route(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
		 struct route *rt, enum MHD_Result *ret)
{
	const char *target = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target");
	const char *qm = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "x-amzn-query-mode");
	const char *action, *version;
	char err[300];

	rt->query_mode = qm && !strcasecmp(qm, "true");
	if (target) {
		rt->proto = P_SQS_JSON;
		rt->service = "sqs";
		if (!strncmp(target, "AmazonSQS.", 10)) {
			snprintf(rt->action, sizeof(rt->action), "%s", target + 10);
			return 0;
		}
		for (size_t i = 0; i < ndisp(api); i++) {
			const struct http_dispatcher *d = &api->disp[i];
			size_t l = d->json_target_prefix ? strlen(d->json_target_prefix) : 0;

			if (l && !strncmp(target, d->json_target_prefix, l)) {
				rt->proto = P_OTHER_JSON;
				rt->disp = d;
				rt->service = d->signing_service;
				snprintf(rt->action, sizeof(rt->action), "%s", target + l);
				return 0;
			}
		}
		snprintf(err, sizeof(err), "The operation %.100s is not handled by this endpoint.",
			 target);
		*ret = send_error(conn, rq, rt, 400, "UnknownOperationException",
				  "UnknownOperationException", true, err);
		return -1;
	}
	rt->proto = P_SQS_QUERY;
	rt->service = "sqs";
	if (form_params(conn, rq, rt, err, sizeof(err))) {
		*ret = send_simple_error(conn, rq, rt, 400, "MalformedQueryString", err);
		return -1;
	}
	action = http_param_get(rt->params, rt->nparams, "Action");
	version = http_param_get(rt->params, rt->nparams, "Version");
	if (!action || !*action) {
		*ret = send_simple_error(conn, rq, rt, 400, "MissingAction",
					 "The request must contain the parameter Action (or the "
					 "header X-Amz-Target).");
		return -1;
	}
	snprintf(rt->action, sizeof(rt->action), "%s", action);
	for (size_t i = 0; i < ndisp(api); i++) {
		const struct http_dispatcher *d = &api->disp[i];

		if (!d->query_version)
			continue;
		if (version ? !strcmp(version, d->query_version)
			    : (!sqs_api_has_action(action) && d->has_action(d->ctx, action))) {
			rt->proto = P_OTHER_QUERY;
			rt->disp = d;
			rt->service = d->signing_service;
			break;
		}
	}
	/* an action known nowhere is answered in serve(), once the request is verified */
	if (rt->proto == P_SQS_QUERY && version && strcmp(version, "2012-11-05")) {
		snprintf(err, sizeof(err), "The action %.100s is not valid for this endpoint.",
			 action);
		*ret = send_simple_error(conn, rq, rt, 400, "InvalidAction", err);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ SigV4 */

static void lock_store(struct http_api *api)
{
	if (api->store_lock)
		pthread_mutex_lock(api->store_lock);
}

static void unlock_store(struct http_api *api)
{
	if (api->store_lock)
		pthread_mutex_unlock(api->store_lock);
}

/* The signature, before anything about the request is looked at further. */
static int verify(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
		  const char *method, const struct route *rt, enum MHD_Result *ret)
{
	struct header_list hl = { .n = 0 };
	struct sigv4_request sreq;
	struct sigv4_result res;
	char path[2048];
	size_t plen = strcspn(rq->raw_uri, "?");

	if (api->anonymous || rq->cred)
		return 0;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, &hl);
	if (hl.overflow || plen >= sizeof(path)) {
		*ret = send_simple_error(conn, rq, rt, 400, "IncompleteSignature",
					 "The request has too many headers or too long a path to "
					 "verify its signature.");
		return -1;
	}
	memcpy(path, rq->raw_uri, plen);
	path[plen] = '\0';
	sreq = (struct sigv4_request){ .method = method,
				       .path = path,
				       .query = query_of(rq),
				       .headers = hl.h,
				       .nheaders = hl.n,
				       .body = rq->body.buf,
				       .body_len = rq->body.len,
				       .now_ms = http_now_ms(),
				       .tls = api->tls_cert != NULL };
	if (sigv4_verify(&__atomic_load_n(&api->creds, __ATOMIC_ACQUIRE)->c, &sreq, api->sqs.region,
			 rt->service, &res)) {
		*ret = send_simple_error(conn, rq, rt, sigv4_err_status(res.code),
					 sigv4_err_code(res.code), res.message);
		return -1;
	}
	rq->cred = res.cred;
	return 0;
}

/* May the verified key do the action on @resource ("" for none)? */
static int authorize(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
		     const struct route *rt, const char *resource, enum MHD_Result *ret)
{
	struct sigv4_result res;
	char action[192];

	if (api->anonymous)
		return 0;
	snprintf(action, sizeof(action), "%s:%s", rt->service, rt->action);
	if (sigv4_authorize(rq->cred, action, *resource ? resource : NULL, api->sqs.account_id,
			    &res)) {
		const char *code = rt->disp && rt->disp->access_denied_code
					   ? rt->disp->access_denied_code
					   : sigv4_err_code(res.code);

		*ret = send_simple_error(conn, rq, rt, sigv4_err_status(res.code), code,
					 res.message);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ serving */

static void wake_conn(void *conn)
{
	MHD_resume_connection(conn);
}

/* Park a long poll; the request runs again when woken. */
static enum MHD_Result park(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
			    const struct sqs_poll *poll)
{
	int64_t now = http_now_ms(), until;

	if (!rq->deadline_ms)
		rq->deadline_ms = now + 1000LL * poll->wait_seconds;
	until = rq->deadline_ms;
	if (poll->next_visible_ms && poll->next_visible_ms < until)
		until = poll->next_visible_ms;
	rq->parked = true;
	MHD_suspend_connection(conn);
	http_waiters_add(api->waiters, conn, poll->queue, until);
	return MHD_YES;
}

static enum MHD_Result serve_sqs(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
				 const char *method, struct route *rt)
{
	struct strbuf json = STRBUF_INIT, out = STRBUF_INIT, xml = STRBUF_INIT;
	struct sqs_poll poll = { 0 };
	struct sqs_api_error err;
	enum MHD_Result ret = MHD_YES;
	char msg[300], arn[512];
	const char *req_json;
	size_t req_len;
	int rc;

	if (verify(api, conn, rq, method, rt, &ret))
		goto out;
	if (rt->proto == P_SQS_QUERY) {
		if (sqs_query_to_json(rt->action, rt->params, rt->nparams, &json, msg,
				      sizeof(msg))) {
			ret = send_simple_error(conn, rq, rt, 400, "InvalidParameterValue", msg);
			goto out;
		}
		req_json = json.buf;
		req_len = json.len;
	} else {
		req_json = rq->body.buf ? rq->body.buf : "";
		req_len = rq->body.len;
	}
	lock_store(api);
	sqs_api_request_arn(&api->sqs, req_json, req_len, arn, sizeof(arn));
	unlock_store(api);
	if (authorize(api, conn, rq, rt, arn, &ret))
		goto out;
	poll.no_wait = rq->deadline_ms && http_now_ms() >= rq->deadline_ms;
	lock_store(api);
	rc = sqs_dispatch_poll(&api->sqs, rt->action, req_json, req_len, &poll, &out, &err);
	if (!rc && *sqs_api_woken_queue(&api->sqs)) {
		http_waiters_wake_queue(api->waiters, sqs_api_woken_queue(&api->sqs));
		if (api->on_wake)
			api->on_wake(api->host_ctx, sqs_api_woken_queue(&api->sqs));
	}
	unlock_store(api);
	if (rc) {
		ret = send_error(conn, rq, rt, err.http_status, err.type, err.code, err.sender,
				 err.message);
	} else if (poll.wait) {
		ret = park(api, conn, rq, &poll);
	} else if (rt->proto == P_SQS_JSON) {
		ret = send_reply(conn, rq, 200, "application/x-amz-json-1.0", out.buf, out.len,
				 NULL);
	} else {
		sqs_json_to_xml(rt->action, out.buf, out.len, rq->request_id, &xml);
		ret = send_reply(conn, rq, 200, "text/xml", xml.buf, xml.len, NULL);
	}
out:
	sb_free(&json);
	sb_free(&out);
	sb_free(&xml);
	return ret;
}

static enum MHD_Result serve_other(struct http_api *api, struct MHD_Connection *conn,
				   struct req *rq, const char *method, struct route *rt)
{
	struct strbuf body = STRBUF_INIT;
	struct http_call call = { .action = rt->action,
				  .json = rt->proto == P_OTHER_JSON,
				  .body = rq->body.buf ? rq->body.buf : "",
				  .body_len = rq->body.len,
				  .params = rt->params,
				  .nparams = rt->nparams,
				  .request_id = rq->request_id };
	struct http_reply reply = { 500, "text/plain", &body };
	enum MHD_Result ret = MHD_YES;
	char arn[512];

	bool unsigned_ok =
		!strcmp(method, "GET") && rt->disp->unsigned_get &&
		!MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization") &&
		/* a presigned URL is signed: verified as such below */
		!MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "X-Amz-Signature") &&
		rt->disp->unsigned_get(rt->disp->ctx, rt->action);

	if (unsigned_ok) {
		call.unsigned_get = true;
		goto handle;
	}
	if (verify(api, conn, rq, method, rt, &ret))
		return ret;
	arn[0] = '\0';
	if (rt->disp->resource) {
		lock_store(api);
		rt->disp->resource(rt->disp->ctx, &call, arn, sizeof(arn));
		unlock_store(api);
	}
	if (!authorize(api, conn, rq, rt, arn, &ret)) {
handle:
		lock_store(api);
		rt->disp->handle(rt->disp->ctx, &call, &reply);
		unlock_store(api);
		ret = send_reply(conn, rq, reply.status, reply.content_type,
				 body.buf ? body.buf : "", body.len, NULL);
	}
	sb_free(&body);
	return ret;
}

/*
 * GET /metrics, unauthenticated as Prometheus scrapes: the host's numbers,
 * then the listener's own.
 */
static enum MHD_Result serve_metrics(struct http_api *api, struct MHD_Connection *conn,
				     struct req *rq)
{
	struct strbuf out = STRBUF_INIT;
	enum MHD_Result ret;

	snprintf(rq->action, sizeof(rq->action), "metrics");
	lock_store(api);
	api->metrics(api->host_ctx, &out);
	unlock_store(api);
	/* This answer is counted before it is rendered: it shows itself. */
	http_stats_count(&api->stats, rq->action, 200, -1);
	http_stats_render(&api->stats, &out);
	rq->counted = true;
	ret = send_reply(conn, rq, 200, "text/plain; version=0.0.4", out.buf ? out.buf : "",
			 out.len, NULL);
	sb_free(&out);
	return ret;
}

static bool is_metrics(const struct http_api *api, const struct req *rq, const char *method)
{
	return api->metrics && !strcmp(method, "GET") && !strncmp(rq->raw_uri, "/metrics", 8) &&
	       (rq->raw_uri[8] == '\0' || rq->raw_uri[8] == '?');
}

/* GET of a path a dispatcher serves (not "/", not /metrics); true when answered. */
static bool serve_path(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
		       const char *method, enum MHD_Result *ret)
{
	size_t plen = strcspn(rq->raw_uri, "?");
	struct strbuf body = STRBUF_INIT;
	struct http_reply reply = { 200, "text/plain", &body };
	bool served = false;
	char path[512];

	if (strcmp(method, "GET") || plen < 2 || plen >= sizeof(path))
		return false;
	memcpy(path, rq->raw_uri, plen);
	path[plen] = '\0';
	lock_store(api);
	for (size_t i = 0; i < ndisp(api) && !served; i++)
		if (api->disp[i].get_path)
			served = api->disp[i].get_path(api->disp[i].ctx, path, &reply);
	unlock_store(api);
	if (served)
		*ret = send_reply(conn, rq, reply.status, reply.content_type,
				  body.buf ? body.buf : "", body.len, NULL);
	sb_free(&body);
	return served;
}

static bool known_action(const struct route *rt)
{
	return rt->disp ? rt->disp->has_action(rt->disp->ctx, rt->action)
			: sqs_api_has_action(rt->action);
}

/*
 * An action no dispatcher has, answered before its key's patterns or the
 * dispatcher see it, in the error each protocol gives: InvalidAction in the
 * query protocols, UnknownOperationException in the JSON ones (SQS's with
 * its namespace, and InvalidAction as the x-amzn-query-error code).
 */
static enum MHD_Result send_unknown_action(struct MHD_Connection *conn, struct req *rq,
					   const struct route *rt)
{
	char msg[300];

	switch (rt->proto) {
	case P_SQS_JSON:
		snprintf(msg, sizeof(msg), "The action %.100s is not valid for this endpoint.",
			 rt->action);
		return send_error(conn, rq, rt, 400, "com.amazonaws.sqs#UnknownOperationException",
				  "InvalidAction", true, msg);
	case P_OTHER_JSON:
		snprintf(msg, sizeof(msg), "The operation %.100s is not handled by this endpoint.",
			 rt->action);
		return send_simple_error(conn, rq, rt, 400, "UnknownOperationException", msg);
	default:
		snprintf(msg, sizeof(msg), "The action %.100s is not valid for this endpoint.",
			 rt->action);
		return send_simple_error(conn, rq, rt, 400, "InvalidAction", msg);
	}
}

static enum MHD_Result serve(struct http_api *api, struct MHD_Connection *conn, struct req *rq,
			     const char *method)
{
	struct route rt = { .proto = P_SQS_QUERY };
	enum MHD_Result ret = MHD_YES;

	rq->parked = false;
	if (is_metrics(api, rq, method))
		return serve_metrics(api, conn, rq);
	if (serve_path(api, conn, rq, method, &ret))
		return ret;
	if (strcmp(method, "GET") && strcmp(method, "POST")) {
		ret = send_simple_error(conn, rq, NULL, 405, "UnsupportedMethod",
					"Only GET and POST requests are served.");
	} else if (!route(api, conn, rq, &rt, &ret)) {
		if (!known_action(&rt)) {
			/* signed like any other request: strangers learn nothing */
			if (!verify(api, conn, rq, method, &rt, &ret))
				ret = send_unknown_action(conn, rq, &rt);
		} else if (rt.disp) {
			snprintf(rq->action, sizeof(rq->action), "%s", rt.action);
			ret = serve_other(api, conn, rq, method, &rt);
		} else {
			snprintf(rq->action, sizeof(rq->action), "%s", rt.action);
			ret = serve_sqs(api, conn, rq, method, &rt);
		}
	}
	http_params_free(rt.params, rt.nparams);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	struct http_api *api = cls;
	struct req *rq = *con_cls;

	(void)url;
	(void)version;
	if (!rq)
		return MHD_NO;
	if (!rq->started) {
		const char *cl =
			MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
		char msg[200];

		rq->started = true;
		if (cl && strtoull(cl, NULL, 10) > api->max_body) {
			const char *target =
				MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Amz-Target");
			/* before routing: the error in the JSON protocols' format when it is one */
			struct route json = { .proto = target && !strncmp(target, "AmazonSQS.", 10)
							       ? P_SQS_JSON
							       : P_OTHER_JSON };

			snprintf(msg, sizeof(msg),
				 "The request body of %.20s bytes is larger than the limit of %zu "
				 "bytes.",
				 cl, api->max_body);
			return send_simple_error(conn, rq, target ? &json : NULL, 413,
						 "RequestEntityTooLarge", msg);
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		/* A chunked body without a length that grows too large: drop the connection. */
		if (rq->body.len + *upload_data_size > api->max_body)
			return MHD_NO;
		sb_add(&rq->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	return serve(api, conn, rq, method);
}

/* The raw request target, before libmicrohttpd decodes it: SigV4 signs it as sent. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http_api *api = cls;
	struct req *rq = xcalloc(1, sizeof(*rq));
	unsigned char id[16];

	(void)conn;
	rq->stats = &api->stats;
	rq->t0_us = prom_now_us();
	rq->raw_uri = xstrndup(uri, strlen(uri));
	if (RAND_bytes(id, sizeof(id)) != 1)
		memset(id, 0, sizeof(id));
	snprintf(rq->request_id, sizeof(rq->request_id),
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", id[0],
		 id[1], id[2], id[3], id[4], id[5], id[6], id[7], id[8], id[9], id[10], id[11],
		 id[12], id[13], id[14], id[15]);
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct req *rq = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (!rq)
		return;
	sb_free(&rq->body);
	free(rq->raw_uri);
	free(rq);
	*con_cls = NULL;
}

/* ------------------------------------------------------------ start and stop */

static struct http_api *fail_start(struct http_api *api, char *err, size_t cap, const char *fmt,
				   const char *a, const char *b)
{
	snprintf(err, cap, fmt, a, b);
	http_api_stop(api);
	return NULL;
}

static int bind_address(const struct http_api_config *cfg, struct sockaddr_storage *ss, bool *v6)
{
	const char *addr = cfg->address && *cfg->address ? cfg->address : "127.0.0.1";
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)cfg->port);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)cfg->port);
		*v6 = true;
		return 0;
	}
	return -1;
}

static char *read_pem(const char *path, char *err, size_t cap)
{
	size_t len;
	char *text = read_whole_file(path, &len);

	if (!text)
		snprintf(err, cap, "%s: cannot read: %m", path);
	return text;
}

struct http_api *http_api_start(const struct http_api_config *cfg, char *err, size_t cap)
{
	struct http_api *api = xcalloc(1, sizeof(*api));
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct sqs_api_config scfg = { cfg->account_id, cfg->region, cfg->endpoint };
	char endpoint[256], addr_text[64];
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	bool v6, tls = cfg->tls_cert || cfg->tls_key;

	pthread_mutex_init(&api->reload_mu, NULL);
	api->on_wake = cfg->on_wake;
	api->metrics = cfg->metrics;
	api->host_ctx = cfg->host_ctx;
	api->anonymous = cfg->anonymous;
	api->max_body = cfg->max_body ? cfg->max_body : 4 << 20;
	api->store_lock = cfg->store_lock;
	if (!cfg->store)
		return fail_start(api, err, cap, "%s%s", "the HTTP API needs a queue store", "");
	if (cfg->port < 0 || cfg->port > 65535 || bind_address(cfg, &ss, &v6))
		return fail_start(api, err, cap,
				  "cannot listen on '%s' port %s: not an IP "
				  "address and port",
				  cfg->address ? cfg->address : "", "");
	if (!cfg->anonymous) {
		if (!cfg->credentials_file)
			return fail_start(api, err, cap, "%s%s",
					  "the HTTP API needs a credentials file (or anonymous "
					  "mode)",
					  "");
		if (http_api_reload_credentials(api, cfg->credentials_file, err, cap)) {
			http_api_stop(api);
			return NULL;
		}
	}
	if (tls) {
		if (!cfg->tls_cert || !cfg->tls_key)
			return fail_start(api, err, cap, "%s%s",
					  "TLS needs both a certificate and a key file", "");
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
			return fail_start(api, err, cap, "%s%s",
					  "this libmicrohttpd has no TLS support", "");
		if (!(api->tls_cert = read_pem(cfg->tls_cert, err, cap)) ||
		    !(api->tls_key = read_pem(cfg->tls_key, err, cap))) {
			http_api_stop(api);
			return NULL;
		}
		flags |= MHD_USE_TLS;
	}
	if (v6)
		flags |= MHD_USE_IPv6;
	api->waiters = http_waiters_new(wake_conn);
	if (!api->waiters)
		return fail_start(api, err, cap, "%s%s", "cannot start the long-poll timer", "");
	api->mhd = MHD_start_daemon(
		flags, 0, NULL, NULL, on_request, api, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, api, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
		api, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)(cfg->timeout_s ? cfg->timeout_s : 30), MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)(cfg->max_connections ? cfg->max_connections : 1000),
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024,
		tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, api->tls_key,
		MHD_OPTION_HTTPS_MEM_CERT, api->tls_cert, MHD_OPTION_END);
	if (!api->mhd) {
		snprintf(addr_text, sizeof(addr_text), "%d", cfg->port);
		return fail_start(api, err, cap,
				  "cannot listen on %s port %s (in use, or a bad "
				  "certificate or key?)",
				  cfg->address ? cfg->address : "127.0.0.1", addr_text);
	}
	info = MHD_get_daemon_info(api->mhd, MHD_DAEMON_INFO_BIND_PORT);
	api->port = info ? info->port : cfg->port;
	if (!cfg->endpoint) {
		snprintf(endpoint, sizeof(endpoint), v6 ? "%s://[%s]:%d" : "%s://%s:%d",
			 tls ? "https" : "http", cfg->address ? cfg->address : "127.0.0.1",
			 api->port);
		scfg.endpoint = endpoint;
	}
	if (sqs_api_init(&api->sqs, cfg->store, &scfg))
		return fail_start(api, err, cap, "%s%s",
				  "bad account id, region or endpoint for the HTTP API", "");
	if (api->anonymous)
		fprintf(stderr,
			"bpfbus: WARNING: the HTTP API on port %d is in ANONYMOUS mode: requests "
			"are NOT authenticated and anyone who can connect may do anything\n",
			api->port);
	return api;
}

void http_api_stop(struct http_api *api)
{
	if (!api)
		return;
	/* Suspended long polls must be resumed before libmicrohttpd stops. */
	if (api->waiters)
		http_waiters_free(api->waiters);
	if (api->mhd)
		MHD_stop_daemon(api->mhd);
	while (api->creds) {
		struct creds_set *older = api->creds->older;

		sigv4_creds_free(&api->creds->c);
		free(api->creds);
		api->creds = older;
	}
	pthread_mutex_destroy(&api->reload_mu);
	http_stats_free(&api->stats);
	free(api->tls_cert);
	free(api->tls_key);
	free(api);
}

int http_api_port(const struct http_api *api)
{
	return api->port;
}

void http_api_notify_queue(struct http_api *api, const char *queue)
{
	http_waiters_wake_queue(api->waiters, queue);
}

void http_api_notify_all(struct http_api *api)
{
	http_waiters_wake_all(api->waiters);
}

int http_api_reload_credentials(struct http_api *api, const char *path, char *err, size_t cap)
{
	struct creds_set *set = xcalloc(1, sizeof(*set));

	if (sigv4_creds_load(path, &set->c, err, cap)) {
		free(set);
		return -1;
	}
	pthread_mutex_lock(&api->reload_mu);
	set->older = api->creds;
	__atomic_store_n(&api->creds, set, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&api->reload_mu);
	return 0;
}

int http_api_register(struct http_api *api, const struct http_dispatcher *d)
{
	if (api->ndisp == MAX_DISPATCHERS)
		return -1;
	api->disp[api->ndisp] = *d;
	/* The listener's thread reads the table: publish the entry before the count. */
	__atomic_store_n(&api->ndisp, api->ndisp + 1, __ATOMIC_RELEASE);
	return 0;
}

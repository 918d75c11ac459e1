// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS in bpfbusd (docs/topics.md, docs/daemon.md): the topic store on the
 * queue store, served by the one SNS layer (sns_api.h) on two doors:
 *
 *   - the HTTP listener, as a registered dispatcher (query protocol, SigV4
 *     service "sns", refusals as SNS's AuthorizationError);
 *   - the control socket: {"op": "sns", "action": "Publish", "params":
 *     {"TopicArn": ..., "Message": ...}} with botocore's flattened parameter
 *     names; the XML answer comes back as JSON (xml_json.h).
 *
 * Publishing may make queue messages receivable and outbox items due, so a
 * successful call wakes the long polls and the outbox.
 */
#include "bpfbusd.h"
#include "http_api.h"
#include "json.h"
#include "queue.h"
#include "sns_api.h"
#include "strbuf.h"
#include "topic.h"
#include "xml_json.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ counters */

struct bbd_topic_count *bbd_topic_count(struct bbd *d, const char *arn)
{
	for (size_t i = 0; i < d->n_topic_counts; i++)
		if (!strcmp(d->topic_counts[i].arn, arn))
			return &d->topic_counts[i];
	d->topic_counts =
		xrealloc(d->topic_counts, (d->n_topic_counts + 1) * sizeof(*d->topic_counts));
	d->topic_counts[d->n_topic_counts] = (struct bbd_topic_count){
		.arn = xstrndup(arn, strlen(arn)),
	};
	return &d->topic_counts[d->n_topic_counts++];
}

/* Messages a successful Publish or PublishBatch answer accepted (one MessageId each). */
static uint64_t published_in(const struct sns_response *r)
{
	uint64_t n = 0;

	for (const char *p = r->body; (p = strstr(p, "<MessageId>")); p++)
		n++;
	return n;
}

/* What a call's sqs deliveries are timed from: its start, and the count before it. */
struct call_start {
	int64_t t0_us;
	uint64_t queue_deliveries;
};

static struct call_start call_start(const struct bbd *d)
{
	return (struct call_start){ prom_now_us(), topic_store_queue_deliveries(d->topics) };
}

/*
 * After a call: count publishes, time what they put into sqs subscriptions,
 * and wake whoever waits for what they made.
 */
static void after_call(struct bbd *d, const struct sns_param *p, size_t n,
		       const struct sns_response *r, struct call_start start)
{
	const char *action = NULL, *topic = NULL;

	for (size_t i = 0; i < n; i++) {
		if (!strcmp(p[i].name, "Action"))
			action = p[i].value;
		else if (!strcmp(p[i].name, "TopicArn") || !strcmp(p[i].name, "TargetArn"))
			topic = p[i].value;
	}
	if (!action || r->status != 200)
		return;
	if (!strcmp(action, "Publish") || !strcmp(action, "PublishBatch")) {
		uint64_t queued = topic_store_queue_deliveries(d->topics) - start.queue_deliveries;

		if (topic)
			bbd_topic_count(d, topic)->published += published_in(r);
		if (topic && queued) /* committed by the call itself */
			prom_observe(&bbd_topic_latency(d, topic, "sqs")->h,
				     prom_now_us() - start.t0_us, queued);
		d->wake_pending = true;
	}
	if (!strcmp(action, "Subscribe") || !strcmp(action, "Publish") ||
	    !strcmp(action, "PublishBatch"))
		d->outbox_due = true;
	if (!strcmp(action, "DeleteTopic") && topic)
		bbd_topic_bus_remove(d, topic);
	/* what the kernel tables hold: topics, subscriptions, their policies */
	if (!strcmp(action, "CreateTopic") || !strcmp(action, "DeleteTopic") ||
	    !strcmp(action, "Subscribe") || !strcmp(action, "Unsubscribe") ||
	    !strcmp(action, "ConfirmSubscription") || !strcmp(action, "SetSubscriptionAttributes"))
		/* in the kernel before the answer, as rule changes are (store lock held) */
		bbd_sns_reload_tables(d);
}

/* ------------------------------------------------------------ the control socket */

static int control_error(struct strbuf *out, const char *code, const char *msg)
{
	sb_printf(out, "{\"ok\":false,\"error\":\"%s\",\"message\":", code);
	json_write_string(out, msg, strlen(msg));
	sb_addc(out, '}');
	return 0;
}

/* The answer's JSON: the <ActionResult> object on success, the <Error> as the failure. */
static void control_answer(const char *action, const struct sns_response *r, struct strbuf *out)
{
	struct strbuf js = STRBUF_INIT;
	struct json_doc *doc = NULL;
	const struct json_value *root, *v;
	static const char *const lists[] = { "Topics",	   "Subscriptions", "Tags",
					     "Successful", "Failed",	    NULL };
	static const char *const maps[] = { "Attributes", NULL };
	const struct xml_json_shapes shapes = { lists, maps };
	char err[200], key[160];

	if (xml_to_json(r->body, r->len, &shapes, &js, err, sizeof(err)) ||
	    !(doc = json_parse(js.buf, js.len, true)) || !(root = json_doc_root(doc))) {
		control_error(out, "InternalError", "the SNS answer could not be read");
		goto out;
	}
	if (r->status != 200) {
		const struct json_value *e = json_get(json_get(root, "ErrorResponse"), "Error");
		const struct json_value *code = json_get(e, "Code"), *msg = json_get(e, "Message");
		const struct json_value *type = json_get(e, "Type");

		sb_adds(out, "{\"ok\":false,\"error\":");
		if (code && code->type == JSON_STRING)
			json_write_string(out, code->u.str.s, code->u.str.len);
		else
			sb_adds(out, "\"InternalError\"");
		sb_printf(out, ",\"status\":%d,\"sender\":%s,\"message\":", r->status,
			  type && type->type == JSON_STRING && !strcmp(type->u.str.s, "Sender")
				  ? "true"
				  : "false");
		if (msg && msg->type == JSON_STRING)
			json_write_string(out, msg->u.str.s, msg->u.str.len);
		else
			sb_adds(out, "\"\"");
		sb_addc(out, '}');
		goto out;
	}
	snprintf(key, sizeof(key), "%sResponse", action);
	v = json_get(root, key);
	snprintf(key, sizeof(key), "%sResult", action);
	v = json_get(v, key);
	sb_adds(out, "{\"ok\":true,\"result\":");
	if (v && v->type == JSON_OBJECT)
		json_write(out, v);
	else
		sb_adds(out, "{}");
	sb_addc(out, '}');
out:
	json_doc_free(doc);
	sb_free(&js);
}

/*
 * The CLI names topics and queue endpoints by name or ARN: names become the
 * ARNs of this daemon's account and region (written into @names, which the
 * parameters then point into).
 */
#define ARN_MAX 512
static void complete_names(struct bbd *d, struct sns_param *p, size_t n, char (*names)[ARN_MAX])
{
	static const char *const topic_params[] = { "TopicArn", "TargetArn", "ResourceArn" };
	const char *protocol = "";
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].name, "Protocol"))
			protocol = p[i].value;
	for (size_t i = 0; i < n && k < 4; i++) {
		bool topic = false;

		if (!strncmp(p[i].value, "arn:", 4) || !*p[i].value)
			continue;
		for (size_t t = 0; t < sizeof(topic_params) / sizeof(topic_params[0]); t++)
			topic |= !strcmp(p[i].name, topic_params[t]);
		if (topic)
			topic_arn(d->topics, p[i].value, names[k], ARN_MAX);
		else if (!strcmp(p[i].name, "Endpoint") &&
			 (!strcmp(protocol, "sqs") || !strcmp(protocol, "queue")))
			queue_arn(d->store, p[i].value, names[k], ARN_MAX);
		else
			continue;
		p[i].value = names[k++];
	}
}

int bbd_sns_request(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	char names[4][ARN_MAX];
	const struct json_value *action = json_get(req, "action");
	const struct json_value *params = json_get(req, "params");
	struct sns_response r;
	struct sns_param *p;
	size_t n = 0;

	if (!d->topics)
		return control_error(out, "InternalError", "the topic store is not open");
	if (!action || action->type != JSON_STRING || !sns_api_has_action(action->u.str.s))
		return control_error(out, "InvalidAction", "\"action\" must name an SNS action");
	if (params && params->type != JSON_OBJECT)
		return control_error(out, "InvalidParameter",
				     "\"params\" must be an object of parameter names and string "
				     "values");
	p = xcalloc((params ? params->u.obj.n : 0) + 1, sizeof(*p));
	p[n++] = (struct sns_param){ "Action", action->u.str.s };
	for (size_t i = 0; params && i < params->u.obj.n; i++) {
		const struct json_member *m = &params->u.obj.members[i];

		if (m->value->type != JSON_STRING || memchr(m->key, 0, m->key_len) ||
		    memchr(m->value->u.str.s, 0, m->value->u.str.len)) {
			char msg[300];

			snprintf(msg, sizeof(msg), "parameter \"%.*s\" must be a string",
				 (int)(m->key_len > 200 ? 200 : m->key_len), m->key);
			for (size_t j = 1; j < n; j++)
				free((char *)p[j].name);
			free(p);
			return control_error(out, "InvalidParameter", msg);
		}
		p[n++] = (struct sns_param){ xstrndup(m->key, m->key_len), m->value->u.str.s };
	}
	complete_names(d, p, n, names);
	struct call_start start = call_start(d);

	sns_api_dispatch(d->topics, p, n, &r);
	after_call(d, p, n, &r, start);
	control_answer(action->u.str.s, &r, out);
	sns_response_free(&r);
	for (size_t j = 1; j < n; j++)
		free((char *)p[j].name);
	free(p);
	return 0;
}

/* ------------------------------------------------------------ HTTP */

static bool http_has_action(void *ctx, const char *action)
{
	(void)ctx;
	return sns_api_has_action(action);
}

/* The call's parameters as the dispatcher takes them (pointers into @call). */
static struct sns_param *http_params(const struct http_call *call)
{
	struct sns_param *p = xcalloc(call->nparams + 1, sizeof(*p));

	for (size_t i = 0; i < call->nparams; i++)
		p[i] = (struct sns_param){ call->params[i].name, call->params[i].value };
	return p;
}

static void http_resource(void *ctx, const struct http_call *call, char *arn, size_t cap)
{
	struct bbd *d = ctx;
	struct sns_param *p = http_params(call);

	sns_api_resource(d->topics, p, call->nparams, arn, cap);
	free(p);
}

/* On the listener's thread, store lock held. */
static void http_handle(void *ctx, const struct http_call *call, struct http_reply *reply)
{
	struct bbd *d = ctx;
	struct sns_param *p = http_params(call);
	struct call_start start = call_start(d);
	struct sns_response r;
	uint64_t one = 1;

	sns_api_dispatch_as(d->topics, p, call->nparams, !call->unsigned_get, &r);
	after_call(d, p, call->nparams, &r, start);
	if (d->wake_pending || d->outbox_due) {
		/* the loop picks both flags up when it next holds the lock */
		if (d->wake_pending)
			http_api_notify_all(d->api);
		if (write(d->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			log_warn("sns: cannot wake the loop: %s", strerror(errno));
	}
	reply->status = r.status;
	reply->content_type = SNS_CONTENT_TYPE;
	sb_add(reply->body, r.body, r.len);
	sns_response_free(&r);
	free(p);
}

/* SigningCertURL: the certificate whose key signs the envelopes. */
static bool http_get_path(void *ctx, const char *path, struct http_reply *reply)
{
	struct bbd *d = ctx;

	if (!d->topics || strcmp(path, topic_signing_cert_path))
		return false;
	reply->status = 200;
	reply->content_type = "application/x-pem-file";
	sb_adds(reply->body, topic_store_signing_cert(d->topics));
	return true;
}

/*
 * SubscribeURL and UnsubscribeURL: as in SNS, holding the link is enough
 * (the token, or the subscription's random id in its ARN), unless the
 * subscription was confirmed with AuthenticateOnUnsubscribe (sns_api.h).
 */
static bool http_unsigned_get(void *ctx, const char *action)
{
	(void)ctx;
	return !strcmp(action, "ConfirmSubscription") || !strcmp(action, "Unsubscribe");
}

/* ------------------------------------------------------------ lifecycle */

int bbd_sns_open(struct bbd *d)
{
	struct topic_result res;
	char endpoint[256];
	struct topic_store_opts o = { .endpoint_url = NULL };
	struct http_dispatcher disp = {
		.query_version = "2010-03-31",
		.signing_service = "sns",
		.has_action = http_has_action,
		.resource = http_resource,
		.handle = http_handle,
		.ctx = d,
		.access_denied_code = "AuthorizationError",
		.get_path = http_get_path,
		.unsigned_get = http_unsigned_get,
	};

	if (bbd_http_endpoint(d, endpoint, sizeof(endpoint)) == 0)
		o.endpoint_url = endpoint;
	d->topics = topic_store_open(d->store, &o, &res);
	if (!d->topics) {
		log_err("cannot open the topic store: %s", res.message);
		return -1;
	}
	if (d->api && http_api_register(d->api, &disp)) {
		log_err("http: cannot register the SNS API");
		return -1;
	}
	log_info("topics: open%s%s", o.endpoint_url ? ", SNS URLs at " : "",
		 o.endpoint_url ? o.endpoint_url : "");
	bbd_sns_serve_topic_targets(d);
	return bbd_sns_reload_tables(d);
}

int bbd_sns_reload_tables(struct bbd *d)
{
	char err[1200];

	if (bbd_topic_buses_sync(d) || bbd_routes_reload(d, err, sizeof(err))) {
		log_err("topics: cannot compile the subscriptions into the tables: %s", err);
		return -1;
	}
	return 0;
}

void bbd_sns_close(struct bbd *d)
{
	topic_store_close(d->topics);
	d->topics = NULL;
	for (size_t i = 0; i < d->n_topic_counts; i++)
		free(d->topic_counts[i].arn);
	free(d->topic_counts);
	d->topic_counts = NULL;
	d->n_topic_counts = 0;
}

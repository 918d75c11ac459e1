// SPDX-License-Identifier: BSD-2-Clause
/* The SQS action dispatcher (sqs_api.h): action table, errors, queue URLs. */
#include "sqs_api_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	sqs_action_fn fn;
} actions[] = {
	{ "AddPermission", sqs_add_permission },
	{ "CancelMessageMoveTask", sqs_cancel_message_move_task },
	{ "ChangeMessageVisibility", sqs_change_message_visibility },
	{ "ChangeMessageVisibilityBatch", sqs_change_message_visibility_batch },
	{ "CreateQueue", sqs_create_queue },
	{ "DeleteMessage", sqs_delete_message },
	{ "DeleteMessageBatch", sqs_delete_message_batch },
	{ "DeleteQueue", sqs_delete_queue },
	{ "GetQueueAttributes", sqs_get_queue_attributes },
	{ "GetQueueUrl", sqs_get_queue_url },
	{ "ListDeadLetterSourceQueues", sqs_list_dead_letter_source_queues },
	{ "ListMessageMoveTasks", sqs_list_message_move_tasks },
	{ "ListQueueTags", sqs_list_queue_tags },
	{ "ListQueues", sqs_list_queues },
	{ "PurgeQueue", sqs_purge_queue },
	{ "ReceiveMessage", sqs_receive_message },
	{ "RemovePermission", sqs_remove_permission },
	{ "SendMessage", sqs_send_message },
	{ "SendMessageBatch", sqs_send_message_batch },
	{ "SetQueueAttributes", sqs_set_queue_attributes },
	{ "StartMessageMoveTask", sqs_start_message_move_task },
	{ "TagQueue", sqs_tag_queue },
	{ "UntagQueue", sqs_untag_queue },
};

static sqs_action_fn find_action(const char *name)
{
	for (size_t i = 0; name && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].name, name))
			return actions[i].fn;
	return NULL;
}

bool sqs_api_has_action(const char *action)
{
	return find_action(action) != NULL;
}

static int copy_config(char *dst, size_t cap, const char *src, const char *dflt)
{
	const char *v = src && *src ? src : dflt;

	if (strlen(v) >= cap)
		return -1;
	strcpy(dst, v);
	return 0;
}

int sqs_api_init(struct sqs_api *api, struct queue_store *st, const struct sqs_api_config *cfg)
{
	char dflt[128];

	memset(api, 0, sizeof(*api));
	api->st = st;
	if (copy_config(api->account_id, sizeof(api->account_id), cfg ? cfg->account_id : NULL,
			"000000000000") ||
	    copy_config(api->region, sizeof(api->region), cfg ? cfg->region : NULL, "us-east-1"))
		return -1;
	snprintf(dflt, sizeof(dflt), "https://sqs.%s.amazonaws.com", api->region);
	if (copy_config(api->endpoint, sizeof(api->endpoint), cfg ? cfg->endpoint : NULL, dflt))
		return -1;
	/* Queue URLs are endpoint + "/account/name": no trailing slash. */
	size_t n = strlen(api->endpoint);

	while (n && api->endpoint[n - 1] == '/')
		api->endpoint[--n] = '\0';
	return n ? 0 : -1;
}

void sqs_queue_url(const struct sqs_api *api, const char *name, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/%s/%s", api->endpoint, api->account_id, name);
}

void sqs_api_request_arn(const struct sqs_api *api, const char *json_req, size_t len, char *arn,
			 size_t cap)
{
	struct json_doc *doc = json_parse(json_req, len, true);
	const struct json_value *root = json_doc_error(doc) ? NULL : json_doc_root(doc), *v;

	arn[0] = '\0';
	if (root && root->type == JSON_OBJECT) {
		if ((v = json_get(root, "SourceArn")) && v->type == JSON_STRING) {
			snprintf(arn, cap, "%s", v->u.str.s);
		} else if (((v = json_get(root, "QueueUrl")) ||
			    (v = json_get(root, "QueueName"))) &&
			   v->type == JSON_STRING) {
			const char *name = strrchr(v->u.str.s, '/');

			queue_arn(api->st, name ? name + 1 : v->u.str.s, arn, cap);
		}
	}
	json_doc_free(doc);
}

const char *sqs_api_woken_queue(const struct sqs_api *api)
{
	return api->woken;
}

void sqs_note_woken(struct sqs_call *c, const char *queue)
{
	snprintf(c->api->woken, sizeof(c->api->woken), "%s", queue);
}

/* ------------------------------------------------------------ errors */

static void set_error(struct sqs_api_error *err, int status, const char *type, const char *code,
		      bool sender, const char *fmt, va_list ap)
{
	err->http_status = status;
	snprintf(err->type, sizeof(err->type), "com.amazonaws.sqs#%s", type);
	snprintf(err->code, sizeof(err->code), "%s", code);
	err->sender = sender;
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
}

static void fill_error(struct sqs_api_error *err, int status, const char *type, const char *code,
		       bool sender, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(err, status, type, code, sender, fmt, ap);
	va_end(ap);
}

int sqs_fail(struct sqs_call *c, enum queue_err e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(c->err, queue_err_http_status(e), queue_err_type(e), queue_err_code(e),
		  queue_err_is_sender(e), fmt, ap);
	va_end(ap);
	return -1;
}

int sqs_fail_result(struct sqs_call *c, const struct queue_result *r)
{
	return sqs_fail(c, r->code, "%s", r->message);
}

int sqs_fail_other(struct sqs_call *c, int status, const char *code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_error(c->err, status, code, code, status < 500, fmt, ap);
	va_end(ap);
	return -1;
}

/* ------------------------------------------------------------ dispatch */

void *sqs_keep(struct sqs_call *c, void *p)
{
	c->allocs = xrealloc(c->allocs, (c->nallocs + 1) * sizeof(*c->allocs));
	c->allocs[c->nallocs++] = p;
	return p;
}

char *sqs_strdup(struct sqs_call *c, const char *s, size_t len)
{
	return sqs_keep(c, xstrndup(s, len));
}

int sqs_dispatch_poll(struct sqs_api *api, const char *action, const char *json_req, size_t len,
		      struct sqs_poll *poll, struct strbuf *json_resp, struct sqs_api_error *err)
{
	sqs_action_fn fn = find_action(action);
	struct sqs_call c = { .api = api, .err = err, .poll = poll, .out = STRBUF_INIT };
	struct json_doc *doc;
	int rc;

	memset(err, 0, sizeof(*err));
	api->woken[0] = '\0';
	if (poll) {
		poll->wait = false;
		poll->wait_seconds = 0;
		poll->next_visible_ms = 0;
		poll->queue[0] = '\0';
	}
	if (!fn) {
		fill_error(err, 400, "UnknownOperationException", "InvalidAction", true,
			   "The action %s is not valid for this endpoint.",
			   action && *action ? action : "(none)");
		return -1;
	}
	/* An empty body is an empty request, as SDKs send for ListQueues. */
	doc = json_parse(len ? json_req : "{}", len ? len : 2, true);
	if (json_doc_error(doc)) {
		fill_error(err, 400, "SerializationException", "SerializationException", true,
			   "The request body of %s is not valid JSON: %s", action,
			   json_doc_error(doc));
		json_doc_free(doc);
		return -1;
	}
	c.req = json_doc_root(doc);
	if (c.req->type != JSON_OBJECT) {
		fill_error(err, 400, "SerializationException", "SerializationException", true,
			   "The request body of %s must be a JSON object.", action);
		rc = -1;
	} else {
		struct sqs_tput_claim claim;
		bool throttled = sqs_throttle_check(&c, action, &claim) != 0;

		rc = throttled ? -1 : fn(&c);
		/* a transaction once answered: a parked long poll counts when it ends */
		if (!throttled && !(poll && poll->wait))
			sqs_throttle_count(api, &claim);
	}
	if (!rc && !(poll && poll->wait))
		sb_add(json_resp, c.out.buf ? c.out.buf : "{}", c.out.buf ? c.out.len : 2);
	if (rc)
		api->woken[0] = '\0';
	sb_free(&c.out);
	for (size_t i = 0; i < c.nallocs; i++)
		free(c.allocs[i]);
	free(c.allocs);
	json_doc_free(doc);
	return rc;
}

int sqs_dispatch(struct sqs_api *api, const char *action, const char *json_req, size_t len,
		 struct strbuf *json_resp, struct sqs_api_error *err)
{
	return sqs_dispatch_poll(api, action, json_req, len, NULL, json_resp, err);
}

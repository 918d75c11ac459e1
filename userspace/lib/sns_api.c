// SPDX-License-Identifier: BSD-2-Clause
/* SNS actions in the query protocol over the topic store (sns_api.h). */
#include "sns_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SNS_XMLNS "http://sns.amazonaws.com/doc/2010-03-31/"
#define PAGE 100 /* ListTopics and the ListSubscriptions calls return 100 per page */

typedef int (*action_fn)(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			 struct topic_result *res);

/* A required parameter, or InvalidParameter naming it. */
static const char *need(struct sns_req *r, const char *name, struct topic_result *res)
{
	const char *v = sp_get(r, name);

	if (!v)
		terr(res, TE_INVALID_PARAMETER, "Invalid parameter: %s", name);
	return v;
}

static void attributes_xml(struct strbuf *out, const struct queue_kv_list *l)
{
	sb_adds(out, "<Attributes>");
	for (size_t i = 0; i < l->n; i++) {
		sb_adds(out, "<entry>");
		xml_elem(out, "key", l->v[i].name);
		xml_elem(out, "value", l->v[i].value);
		sb_adds(out, "</entry>");
	}
	sb_adds(out, "</Attributes>");
}

/* The page of @total items that NextToken asks for: [*from, *to). */
static int page(struct sns_req *r, size_t total, size_t *from, size_t *to, struct topic_result *res)
{
	const char *tok = sp_get(r, "NextToken");
	char *end;

	*from = 0;
	if (tok && *tok) {
		unsigned long v = strtoul(tok, &end, 10);

		if (*end || v > total)
			return terr(res, TE_INVALID_PARAMETER, "Invalid parameter: NextToken");
		*from = v;
	}
	*to = *from + PAGE < total ? *from + PAGE : total;
	return 0;
}

static void next_token(struct strbuf *out, size_t to, size_t total)
{
	if (to < total)
		sb_printf(out, "<NextToken>%zu</NextToken>", to);
}

/* ------------------------------------------------------------ topics */

static int create_topic(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			struct topic_result *res)
{
	const char *name = need(r, "Name", res), *dpp = sp_get(r, "DataProtectionPolicy");
	size_t na, nt;
	struct queue_kv *attrs = sp_map(r, "Attributes.entry", "key", "value", &na);
	struct queue_kv *tags = sp_map(r, "Tags.member", "Key", "Value", &nt);
	char arn[512];

	if (!name)
		return -1;
	if (dpp) {
		/* A parameter of its own in the API, an attribute in the store. */
		struct queue_kv *all = sp_own(r, xcalloc(na + 1, sizeof(*all)));

		if (na)
			memcpy(all, attrs, na * sizeof(*attrs));
		all[na++] = (struct queue_kv){ "DataProtectionPolicy", dpp };
		attrs = all;
	}
	if (topic_create(ts, name, attrs, na, tags, nt, arn, sizeof(arn), res))
		return -1;
	xml_elem(out, "TopicArn", arn);
	return 0;
}

static int delete_topic(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);

	(void)out;
	return arn ? topic_delete(ts, arn, res) : -1;
}

static int list_topics(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
		       struct topic_result *res)
{
	struct queue_kv_list l;
	size_t from, to;

	if (topic_list(ts, &l, res))
		return -1;
	if (page(r, l.n, &from, &to, res)) {
		queue_kv_list_free(&l);
		return -1;
	}
	sb_adds(out, "<Topics>");
	for (size_t i = from; i < to; i++) {
		sb_adds(out, "<member>");
		xml_elem(out, "TopicArn", l.v[i].name);
		sb_adds(out, "</member>");
	}
	sb_adds(out, "</Topics>");
	next_token(out, to, l.n);
	queue_kv_list_free(&l);
	return 0;
}

static int get_topic_attributes(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
				struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);
	struct queue_kv_list l;

	if (!arn || topic_get_attributes(ts, arn, &l, res))
		return -1;
	attributes_xml(out, &l);
	queue_kv_list_free(&l);
	return 0;
}

static int set_topic_attributes(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
				struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);
	const char *name = arn ? need(r, "AttributeName", res) : NULL;

	(void)out;
	if (!name)
		return -1;
	return topic_set_attribute(ts, arn, name, sp_get(r, "AttributeValue") ?: "", res);
}

/* ------------------------------------------------------------ subscriptions */

static int subscribe(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
		     struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);
	const char *proto = arn ? need(r, "Protocol", res) : NULL;
	const char *ret = sp_get(r, "ReturnSubscriptionArn");
	size_t na;
	struct queue_kv *attrs = sp_map(r, "Attributes.entry", "key", "value", &na);
	char sub[600];

	if (!proto)
		return -1;
	if (topic_subscribe(ts, arn, proto, sp_get(r, "Endpoint"), attrs, na,
			    ret && !strcmp(ret, "true"), sub, sizeof(sub), res))
		return -1;
	xml_elem(out, "SubscriptionArn", sub);
	return 0;
}

static int unsubscribe(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
		       struct topic_result *res)
{
	const char *arn = need(r, "SubscriptionArn", res);

	(void)out;
	return arn ? topic_unsubscribe_as(ts, arn, !r->unsigned_get, res) : -1;
}

static int confirm_subscription(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
				struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);
	const char *token = arn ? need(r, "Token", res) : NULL;
	const char *auth = sp_get(r, "AuthenticateOnUnsubscribe");
	char sub[600];

	if (!token || topic_confirm_as(ts, arn, token, !r->unsigned_get,
				       auth && !strcasecmp(auth, "true"), sub, sizeof(sub), res))
		return -1;
	xml_elem(out, "SubscriptionArn", sub);
	return 0;
}

static int list_subs(struct topic_store *ts, struct sns_req *r, const char *topic_arn,
		     struct strbuf *out, struct topic_result *res)
{
	struct topic_sub_list l;
	size_t from, to;

	if (topic_list_subscriptions(ts, topic_arn, &l, res))
		return -1;
	if (page(r, l.n, &from, &to, res)) {
		topic_sub_list_free(&l);
		return -1;
	}
	sb_adds(out, "<Subscriptions>");
	for (size_t i = from; i < to; i++) {
		sb_adds(out, "<member>");
		xml_elem(out, "TopicArn", l.v[i].topic_arn);
		xml_elem(out, "Protocol", l.v[i].protocol);
		xml_elem(out, "SubscriptionArn", l.v[i].arn);
		xml_elem(out, "Owner", l.v[i].owner);
		xml_elem(out, "Endpoint", l.v[i].endpoint);
		sb_adds(out, "</member>");
	}
	sb_adds(out, "</Subscriptions>");
	next_token(out, to, l.n);
	topic_sub_list_free(&l);
	return 0;
}

static int list_subscriptions(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			      struct topic_result *res)
{
	return list_subs(ts, r, NULL, out, res);
}

static int list_subscriptions_by_topic(struct topic_store *ts, struct sns_req *r,
				       struct strbuf *out, struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);

	return arn ? list_subs(ts, r, arn, out, res) : -1;
}

static int get_subscription_attributes(struct topic_store *ts, struct sns_req *r,
				       struct strbuf *out, struct topic_result *res)
{
	const char *arn = need(r, "SubscriptionArn", res);
	struct queue_kv_list l;

	if (!arn || topic_get_sub_attributes(ts, arn, &l, res))
		return -1;
	attributes_xml(out, &l);
	queue_kv_list_free(&l);
	return 0;
}

static int set_subscription_attributes(struct topic_store *ts, struct sns_req *r,
				       struct strbuf *out, struct topic_result *res)
{
	const char *arn = need(r, "SubscriptionArn", res);
	const char *name = arn ? need(r, "AttributeName", res) : NULL;

	(void)out;
	if (!name)
		return -1;
	return topic_set_sub_attribute(ts, arn, name, sp_get(r, "AttributeValue") ?: "", res);
}

/* ------------------------------------------------------------ publishing */

/* One publish entry from parameters under @prefix ("" or "...member.N."). */
static int read_entry(struct sns_req *r, const char *prefix, struct topic_publish_entry *e,
		      struct topic_result *res)
{
	char attrs[128];
	struct queue_msg_attr *a;

	*e = (struct topic_publish_entry){
		.id = sp_getf(r, "%sId", prefix),
		.message = sp_getf(r, "%sMessage", prefix),
		.subject = sp_getf(r, "%sSubject", prefix),
		.message_structure = sp_getf(r, "%sMessageStructure", prefix),
		.group_id = sp_getf(r, "%sMessageGroupId", prefix),
		.dedup_id = sp_getf(r, "%sMessageDeduplicationId", prefix),
	};
	snprintf(attrs, sizeof(attrs), "%sMessageAttributes", prefix);
	if (sp_msg_attrs(r, attrs, &a, &e->nattrs, res))
		return -1;
	e->attrs = a;
	return 0;
}

static int publish(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
		   struct topic_result *res)
{
	const char *arn = sp_get(r, "TopicArn") ?: sp_get(r, "TargetArn");
	struct topic_publish_entry e;
	struct topic_publish_result pr;

	if (!arn)
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: TopicArn or TargetArn "
			    "Reason: no value for required parameter");
	if (sp_get(r, "PhoneNumber"))
		return terr(res, TE_INVALID_PARAMETER,
			    "Invalid parameter: PhoneNumber Reason: bpfbus does not send SMS");
	if (read_entry(r, "", &e, res) || topic_publish(ts, arn, &e, &pr, res))
		return -1;
	xml_elem(out, "MessageId", pr.message_id);
	if (pr.sequence_number[0])
		xml_elem(out, "SequenceNumber", pr.sequence_number);
	return 0;
}

static int publish_batch(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			 struct topic_result *res)
{
	const char *arn = need(r, "TopicArn", res);
	struct topic_publish_entry e[TOPIC_MAX_BATCH_ENTRIES + 1];
	struct topic_publish_result pr[TOPIC_MAX_BATCH_ENTRIES + 1];
	char prefix[64];
	size_t n = 0;

	if (!arn)
		return -1;
	/* Read one entry more than allowed so the store reports the excess. */
	for (; n <= TOPIC_MAX_BATCH_ENTRIES; n++) {
		snprintf(prefix, sizeof(prefix), "PublishBatchRequestEntries.member.%zu.", n + 1);
		if (!sp_getf(r, "%sId", prefix) && !sp_getf(r, "%sMessage", prefix))
			break;
		if (read_entry(r, prefix, &e[n], res))
			return -1;
	}
	if (topic_publish_batch(ts, arn, e, n, pr, res))
		return -1;
	sb_adds(out, "<Successful>");
	for (size_t i = 0; i < n; i++) {
		if (pr[i].err.code)
			continue;
		sb_adds(out, "<member>");
		xml_elem(out, "Id", e[i].id);
		xml_elem(out, "MessageId", pr[i].message_id);
		if (pr[i].sequence_number[0])
			xml_elem(out, "SequenceNumber", pr[i].sequence_number);
		sb_adds(out, "</member>");
	}
	sb_adds(out, "</Successful><Failed>");
	for (size_t i = 0; i < n; i++) {
		if (!pr[i].err.code)
			continue;
		sb_adds(out, "<member>");
		xml_elem(out, "Id", e[i].id);
		xml_elem(out, "Code", topic_err_code(pr[i].err.code));
		xml_elem(out, "Message", pr[i].err.message);
		xml_elem(out, "SenderFault",
			 topic_err_is_sender(pr[i].err.code) ? "true" : "false");
		sb_adds(out, "</member>");
	}
	sb_adds(out, "</Failed>");
	return 0;
}

/* ------------------------------------------------------------ tags */

static int tag_resource(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			struct topic_result *res)
{
	const char *arn = need(r, "ResourceArn", res);
	size_t n;
	struct queue_kv *tags = sp_map(r, "Tags.member", "Key", "Value", &n);

	(void)out;
	return arn ? topic_tag(ts, arn, tags, n, res) : -1;
}

static int untag_resource(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
			  struct topic_result *res)
{
	const char *arn = need(r, "ResourceArn", res);
	size_t n;
	const char **keys = sp_list(r, "TagKeys.member", &n);

	(void)out;
	return arn ? topic_untag(ts, arn, keys, n, res) : -1;
}

static int list_tags_for_resource(struct topic_store *ts, struct sns_req *r, struct strbuf *out,
				  struct topic_result *res)
{
	const char *arn = need(r, "ResourceArn", res);
	struct queue_kv_list l;

	if (!arn || topic_list_tags(ts, arn, &l, res))
		return -1;
	sb_adds(out, "<Tags>");
	for (size_t i = 0; i < l.n; i++) {
		sb_adds(out, "<member>");
		xml_elem(out, "Key", l.v[i].name);
		xml_elem(out, "Value", l.v[i].value);
		sb_adds(out, "</member>");
	}
	sb_adds(out, "</Tags>");
	queue_kv_list_free(&l);
	return 0;
}

/* ------------------------------------------------------------ dispatch */

static const struct {
	const char *name;
	action_fn fn;
	bool result; /* the response has an <ActionResult> element */
} actions[] = {
	{ "CreateTopic", create_topic, true },
	{ "DeleteTopic", delete_topic, false },
	{ "ListTopics", list_topics, true },
	{ "GetTopicAttributes", get_topic_attributes, true },
	{ "SetTopicAttributes", set_topic_attributes, false },
	{ "Subscribe", subscribe, true },
	{ "Unsubscribe", unsubscribe, false },
	{ "ConfirmSubscription", confirm_subscription, true },
	{ "ListSubscriptions", list_subscriptions, true },
	{ "ListSubscriptionsByTopic", list_subscriptions_by_topic, true },
	{ "GetSubscriptionAttributes", get_subscription_attributes, true },
	{ "SetSubscriptionAttributes", set_subscription_attributes, false },
	{ "Publish", publish, true },
	{ "PublishBatch", publish_batch, true },
	{ "TagResource", tag_resource, true },
	{ "UntagResource", untag_resource, true },
	{ "ListTagsForResource", list_tags_for_resource, true },
};

bool sns_api_has_action(const char *action)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].name, action))
			return true;
	return false;
}

void sns_api_resource(struct topic_store *ts, const struct sns_param *params, size_t n, char *arn,
		      size_t cap)
{
	static const char *const arn_params[] = { "TopicArn", "TargetArn", "SubscriptionArn",
						  "ResourceArn" };
	struct sns_req r = { .p = params, .n = n };
	const char *action = sp_get(&r, "Action"), *v;

	arn[0] = '\0';
	if (action && !strcmp(action, "CreateTopic") && (v = sp_get(&r, "Name"))) {
		topic_arn(ts, v, arn, cap);
		return;
	}
	for (size_t i = 0; i < sizeof(arn_params) / sizeof(arn_params[0]); i++)
		if ((v = sp_get(&r, arn_params[i]))) {
			snprintf(arn, cap, "%s", v);
			return;
		}
}

static void request_id(char out[37])
{
	uint8_t raw[16];

	qrandom(raw, sizeof(raw));
	quuid_format(raw, out);
}

static void error_response(const struct topic_result *res, const char *rid, struct strbuf *sb)
{
	sb_adds(sb, "<ErrorResponse xmlns=\"" SNS_XMLNS "\"><Error>");
	xml_elem(sb, "Type", topic_err_is_sender(res->code) ? "Sender" : "Receiver");
	xml_elem(sb, "Code", topic_err_code(res->code));
	xml_elem(sb, "Message", res->message);
	sb_adds(sb, "</Error>");
	xml_elem(sb, "RequestId", rid);
	sb_adds(sb, "</ErrorResponse>");
}

void sns_api_dispatch(struct topic_store *ts, const struct sns_param *params, size_t n,
		      struct sns_response *out)
{
	sns_api_dispatch_as(ts, params, n, true, out);
}

void sns_api_dispatch_as(struct topic_store *ts, const struct sns_param *params, size_t n,
			 bool authenticated, struct sns_response *out)
{
	struct sns_req r = { .p = params, .n = n, .unsigned_get = !authenticated };
	struct strbuf body = STRBUF_INIT, sb = STRBUF_INIT;
	struct topic_result res;
	const char *action = sp_get(&r, "Action");
	char rid[37];
	size_t i;

	tok(&res);
	request_id(rid);
	for (i = 0; action && i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(actions[i].name, action))
			break;
	if (!action || i == sizeof(actions) / sizeof(actions[0])) {
		terr(&res, TE_INVALID_ACTION, "Could not find operation %s for version 2010-03-31",
		     action ? action : "(none)");
	} else if (!actions[i].fn(ts, &r, &body, &res)) {
		sb_printf(&sb, "<%sResponse xmlns=\"" SNS_XMLNS "\">", action);
		if (actions[i].result)
			sb_printf(&sb, "<%sResult>%s</%sResult>", action, body.buf ? body.buf : "",
				  action);
		sb_printf(&sb, "<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata>",
			  rid);
		sb_printf(&sb, "</%sResponse>", action);
	}
	if (res.code) {
		sb_reset(&sb);
		error_response(&res, rid, &sb);
	}
	out->status = res.code ? topic_err_http_status(res.code) : 200;
	out->len = sb.len;
	out->body = sb.buf ? sb.buf : xstrndup("", 0);
	sb_free(&body);
	sp_free(&r);
}

void sns_response_free(struct sns_response *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

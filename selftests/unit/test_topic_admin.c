// SPDX-License-Identifier: BSD-2-Clause
/*
 * Topic store administration: topics (standard, FIFO), their attributes and
 * tags, subscriptions of every protocol, their attributes and confirmation,
 * listings, persistence, and every validation error with SNS's code.
 */
#include "../harness.h"
#include "topic_test.h"

#include <stdlib.h>

TEST_F(t, create_get_list_delete)
{
	struct queue_kv_list l;
	char arn[300];

	TOK(topic_create(self->ts, "orders", NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	EXPECT_STREQ(ARN("orders"), arn);
	/* Idempotent with the same (no) attributes. */
	TOK(topic_create(self->ts, "orders", NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	tt_topic(self, "alerts", NULL, 0);
	TOK(topic_list(self->ts, &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ(ARN("alerts"), l.v[0].name);
	EXPECT_STREQ(ARN("orders"), l.v[1].name);
	queue_kv_list_free(&l);

	TOK(topic_get_attributes(self->ts, ARN("orders"), &l, &self->res));
	EXPECT_STREQ(ARN("orders"), tt_kv(&l, "TopicArn"));
	EXPECT_STREQ("123456789012", tt_kv(&l, "Owner"));
	EXPECT_STREQ("", tt_kv(&l, "DisplayName"));
	EXPECT_STREQ("0", tt_kv(&l, "SubscriptionsConfirmed"));
	EXPECT_STREQ("0", tt_kv(&l, "SubscriptionsPending"));
	EXPECT_STREQ("0", tt_kv(&l, "SubscriptionsDeleted"));
	EXPECT_NE_NULL(strstr(tt_kv(&l, "Policy"), "\"Resource\":\"" ARN("orders") "\""));
	EXPECT_NE_NULL(strstr(tt_kv(&l, "EffectiveDeliveryPolicy"), "defaultHealthyRetryPolicy"));
	EXPECT_NULL(tt_kv(&l, "FifoTopic"));
	queue_kv_list_free(&l);

	TOK(topic_delete(self->ts, ARN("orders"), &self->res));
	TERR(TE_NOT_FOUND, "Topic does not exist",
	     topic_get_attributes(self->ts, ARN("orders"), &l, &self->res));
	/* Deleting what does not exist succeeds, as in SNS. */
	TOK(topic_delete(self->ts, ARN("orders"), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: TopicArn",
	     topic_delete(self->ts, "arn:aws:sns:us-east-1:1:x", &self->res));
}

TEST_F(t, fifo_topics)
{
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" },
						{ "ContentBasedDeduplication", "true" } };
	struct queue_kv_list l;
	char arn[300];

	tt_topic(self, "o.fifo", fifo, 2);
	TOK(topic_get_attributes(self->ts, ARN("o.fifo"), &l, &self->res));
	EXPECT_STREQ("true", tt_kv(&l, "FifoTopic"));
	EXPECT_STREQ("true", tt_kv(&l, "ContentBasedDeduplication"));
	queue_kv_list_free(&l);
	TOK(topic_set_attribute(self->ts, ARN("o.fifo"), "ContentBasedDeduplication", "false",
				&self->res));
	TOK(topic_get_attributes(self->ts, ARN("o.fifo"), &l, &self->res));
	EXPECT_STREQ("false", tt_kv(&l, "ContentBasedDeduplication"));
	queue_kv_list_free(&l);

	TERR(TE_INVALID_PARAMETER, "Fifo Topic names must end with .fifo",
	     topic_create(self->ts, "plain", fifo, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Topic Name",
	     topic_create(self->ts, "x.fifo", NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Content based deduplication can only be set for FIFO topics",
	     topic_create(self->ts, "std", fifo + 1, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: AttributeName",
	     topic_set_attribute(self->ts, ARN("o.fifo"), "FifoTopic", "false", &self->res));
}

TEST_F(t, topic_attribute_errors)
{
	static const struct queue_kv good[] = { { "DisplayName", "Orders" },
						{ "SignatureVersion", "2" },
						{ "TracingConfig", "Active" } };
	static const struct queue_kv other[] = { { "DisplayName", "Other" } };
	static const struct queue_kv unknown[] = { { "Colour", "red" } };
	static const struct queue_kv badsig[] = { { "SignatureVersion", "3" } };
	static const struct queue_kv badpolicy[] = { { "Policy", "[1]" } };
	char long_name[300], arn[300];
	struct queue_kv_list l;

	tt_topic(self, "t1", good, 3);
	TOK(topic_create(self->ts, "t1", good, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Topic already exists with different attributes",
	     topic_create(self->ts, "t1", other, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TOK(topic_get_attributes(self->ts, ARN("t1"), &l, &self->res));
	EXPECT_STREQ("Orders", tt_kv(&l, "DisplayName"));
	EXPECT_STREQ("2", tt_kv(&l, "SignatureVersion"));
	EXPECT_STREQ("Active", tt_kv(&l, "TracingConfig"));
	queue_kv_list_free(&l);

	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Attributes Reason: AttributeName",
	     topic_create(self->ts, "t2", unknown, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Attributes Reason: SignatureVersion",
	     topic_create(self->ts, "t2", badsig, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Attributes Reason: Policy",
	     topic_create(self->ts, "t2", badpolicy, 1, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: AttributeName",
	     topic_set_attribute(self->ts, ARN("t1"), "Nope", "1", &self->res));
	TERR(TE_NOT_FOUND, "Topic does not exist",
	     topic_set_attribute(self->ts, ARN("t9"), "DisplayName", "x", &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Topic Name",
	     topic_create(self->ts, "has space", NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Topic Name",
	     topic_create(self->ts, "", NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	memset(long_name, 'a', 257);
	long_name[257] = '\0';
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Topic Name",
	     topic_create(self->ts, long_name, NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
	long_name[256] = '\0';
	TOK(topic_create(self->ts, long_name, NULL, 0, NULL, 0, arn, sizeof(arn), &self->res));
}

TEST_F(t, tags)
{
	static const struct queue_kv tags[] = { { "team", "red" }, { "env", "prod" } };
	static const struct queue_kv aws[] = { { "aws:x", "1" } };
	const char *keys[] = { "team" };
	struct queue_kv_list l;
	struct queue_kv many[51];
	char names[51][8], arn[300];

	TOK(topic_create(self->ts, "t", NULL, 0, tags, 2, arn, sizeof(arn), &self->res));
	TOK(topic_list_tags(self->ts, ARN("t"), &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ("prod", tt_kv(&l, "env"));
	EXPECT_STREQ("red", tt_kv(&l, "team"));
	queue_kv_list_free(&l);
	TOK(topic_untag(self->ts, ARN("t"), keys, 1, &self->res));
	TOK(topic_list_tags(self->ts, ARN("t"), &l, &self->res));
	ASSERT_EQ(1, l.n);
	queue_kv_list_free(&l);
	TERR(TE_INVALID_PARAMETER, "Topic already exists with different tags",
	     topic_create(self->ts, "t", NULL, 0, tags, 1, arn, sizeof(arn), &self->res));
	TERR(TE_RESOURCE_NOT_FOUND, "Resource does not exist",
	     topic_tag(self->ts, ARN("none"), tags, 1, &self->res));
	TERR(TE_INVALID_PARAMETER, "aws:", topic_tag(self->ts, ARN("t"), aws, 1, &self->res));
	for (int i = 0; i < 51; i++) {
		snprintf(names[i], sizeof(names[i]), "k%d", i);
		many[i] = (struct queue_kv){ names[i], "v" };
	}
	/* 49 new keys plus "env" is 50: allowed; one more is over the quota. */
	TOK(topic_tag(self->ts, ARN("t"), many, 49, &self->res));
	TERR(TE_TAG_LIMIT_EXCEEDED, "tag quota",
	     topic_tag(self->ts, ARN("t"), many + 49, 1, &self->res));
	/* Re-tagging existing keys does not count twice. */
	TOK(topic_tag(self->ts, ARN("t"), many, 10, &self->res));
}

TEST_F(t, subscribe_queue_and_attributes)
{
	static const struct queue_kv attrs[] = {
		{ "RawMessageDelivery", "True" },
		{ "FilterPolicy", "{\"a\":[{\"prefix\":\"x\"}]}" },
		{ "FilterPolicyScope", "MessageBody" },
	};
	static const struct queue_kv raw_off[] = { { "RawMessageDelivery", "false" } };
	struct queue_kv_list l;
	struct topic_sub_list subs;
	const char *arn;
	char again[600];

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	arn = tt_sub(self, ARN("t"), "sqs", QARN("q"), attrs, 3);
	EXPECT_EQ(0, strncmp(arn, ARN("t:"), strlen(ARN("t:"))));
	EXPECT_EQ(strlen(ARN("t:")) + 36, strlen(arn));
	/* Subscribing again with the same attributes gives the same subscription. */
	TOK(topic_subscribe(self->ts, ARN("t"), "sqs", QARN("q"), attrs, 3, false, again,
			    sizeof(again), &self->res));
	EXPECT_STREQ(arn, again);
	TERR(TE_INVALID_PARAMETER, "Subscription already exists with different attributes",
	     topic_subscribe(self->ts, ARN("t"), "sqs", QARN("q"), raw_off, 1, false, again,
			     sizeof(again), &self->res));

	TOK(topic_get_sub_attributes(self->ts, arn, &l, &self->res));
	EXPECT_STREQ(arn, tt_kv(&l, "SubscriptionArn"));
	EXPECT_STREQ(ARN("t"), tt_kv(&l, "TopicArn"));
	EXPECT_STREQ("sqs", tt_kv(&l, "Protocol"));
	EXPECT_STREQ(QARN("q"), tt_kv(&l, "Endpoint"));
	EXPECT_STREQ("false", tt_kv(&l, "PendingConfirmation"));
	EXPECT_STREQ("true", tt_kv(&l, "ConfirmationWasAuthenticated"));
	EXPECT_STREQ("true", tt_kv(&l, "RawMessageDelivery"));
	EXPECT_STREQ("MessageBody", tt_kv(&l, "FilterPolicyScope"));
	EXPECT_STREQ("{\"a\":[{\"prefix\":\"x\"}]}", tt_kv(&l, "FilterPolicy"));
	EXPECT_NULL(tt_kv(&l, "EffectiveDeliveryPolicy"));
	queue_kv_list_free(&l);

	/* A nested policy is fine in MessageBody scope, not in MessageAttributes. */
	TOK(topic_set_sub_attribute(self->ts, arn, "FilterPolicy", "{\"a\":{\"b\":[1]}}",
				    &self->res));
	TERR(TE_INVALID_PARAMETER,
	     "Invalid parameter: Filter policy scope MessageAttributes does not support nested "
	     "filter policy",
	     topic_set_sub_attribute(self->ts, arn, "FilterPolicyScope", "MessageAttributes",
				     &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: FilterPolicy: ",
	     topic_set_sub_attribute(self->ts, arn, "FilterPolicy", "{\"a\":[{\"bogus\":1}]}",
				     &self->res));
	TERR(TE_INVALID_PARAMETER,
	     "RawMessageDelivery: Invalid value [yes]. Must be true or false.",
	     topic_set_sub_attribute(self->ts, arn, "RawMessageDelivery", "yes", &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid filter policy scope Everything",
	     topic_set_sub_attribute(self->ts, arn, "FilterPolicyScope", "Everything", &self->res));
	TERR(TE_INVALID_PARAMETER, "RedrivePolicy",
	     topic_set_sub_attribute(self->ts, arn, "RedrivePolicy", "{}", &self->res));
	TERR(TE_INVALID_PARAMETER, "deadLetterTargetArn is an invalid arn",
	     topic_set_sub_attribute(self->ts, arn, "RedrivePolicy",
				     "{\"deadLetterTargetArn\":\"arn:aws:sqs:x\"}", &self->res));
	TERR(TE_INVALID_PARAMETER, "DeliveryPolicy",
	     topic_set_sub_attribute(self->ts, arn, "DeliveryPolicy", "{}", &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: AttributeName",
	     topic_set_sub_attribute(self->ts, arn, "Protocol", "http", &self->res));
	TOK(topic_set_sub_attribute(self->ts, arn, "FilterPolicy", "", &self->res));
	TOK(topic_get_sub_attributes(self->ts, arn, &l, &self->res));
	EXPECT_NULL(tt_kv(&l, "FilterPolicy"));
	queue_kv_list_free(&l);

	TOK(topic_list_subscriptions(self->ts, NULL, &subs, &self->res));
	ASSERT_EQ(1, subs.n);
	EXPECT_STREQ(arn, subs.v[0].arn);
	EXPECT_STREQ("sqs", subs.v[0].protocol);
	EXPECT_STREQ(ARN("t"), subs.v[0].topic_arn);
	topic_sub_list_free(&subs);

	TOK(topic_unsubscribe(self->ts, arn, &self->res));
	TERR(TE_NOT_FOUND, "Subscription does not exist",
	     topic_unsubscribe(self->ts, arn, &self->res));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: SubscriptionArn",
	     topic_unsubscribe(self->ts, "arn:aws:sns:eu-west-1:123456789012:t:nope", &self->res));
	TOK(topic_get_attributes(self->ts, ARN("t"), &l, &self->res));
	EXPECT_STREQ("1", tt_kv(&l, "SubscriptionsDeleted"));
	EXPECT_STREQ("0", tt_kv(&l, "SubscriptionsConfirmed"));
	queue_kv_list_free(&l);
}

TEST_F(t, subscribe_errors)
{
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" } };
	static const struct queue_kv fifoq[] = { { "FifoQueue", "true" } };
	static const struct queue_kv bad_policy[] = { { "FilterPolicy", "{\"a\":\"b\"}" } };
	char arn[600];

	tt_topic(self, "t", NULL, 0);
	tt_topic(self, "f.fifo", fifo, 1);
	tt_queue(self, "q", NULL, 0);
	tt_queue(self, "q.fifo", fifoq, 1);
#define SUB(topic, proto, ep, a, n) \
	topic_subscribe(self->ts, topic, proto, ep, a, n, false, arn, sizeof(arn), &self->res)
	TERR(TE_INVALID_PARAMETER, "FIFO SNS Topics currently only support FIFO SQS queues",
	     SUB(ARN("f.fifo"), "sqs", QARN("q"), NULL, 0));
	TERR(TE_INVALID_PARAMETER, "FIFO SQS Queues can not be subscribed to standard SNS topics",
	     SUB(ARN("t"), "sqs", QARN("q.fifo"), NULL, 0));
	TOK(SUB(ARN("f.fifo"), "queue", QARN("q.fifo"), NULL, 0));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: SQS endpoint ARN",
	     SUB(ARN("t"), "sqs", "arn:aws:sqs:us-east-1:1:q", NULL, 0));
	TERR(TE_INVALID_PARAMETER, "does not support this protocol string: carrier-pigeon",
	     SUB(ARN("t"), "carrier-pigeon", "x", NULL, 0));
	TERR(TE_INVALID_PARAMETER, "Endpoint must match the specified protocol",
	     SUB(ARN("t"), "https", "http://x", NULL, 0));
	TERR(TE_INVALID_PARAMETER, "host:port", SUB(ARN("t"), "udp", "host", NULL, 0));
	TERR(TE_INVALID_PARAMETER, "host:port", SUB(ARN("t"), "udp", "host:70000", NULL, 0));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Endpoint",
	     SUB(ARN("t"), "udp", "", NULL, 0));
	TERR(TE_NOT_FOUND, "Topic does not exist", SUB(ARN("nope"), "sqs", QARN("q"), NULL, 0));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Attributes Reason: FilterPolicy: ",
	     SUB(ARN("t"), "sqs", QARN("q"), bad_policy, 1));
	TERR(TE_INVALID_PARAMETER, "Invalid protocol type: http for FIFO topics",
	     SUB(ARN("f.fifo"), "http", "http://x", NULL, 0));
#undef SUB
}

TEST_F(t, http_confirmation_through_the_outbox)
{
	struct topic_outbox_list ob;
	struct topic_sub_list subs;
	struct queue_kv_list l;
	char arn[600], confirmed[600];
	const char *tok;
	char token[200];

	tt_topic(self, "t", NULL, 0);
	TOK(topic_subscribe(self->ts, ARN("t"), "http", "http://127.0.0.1:1/hook", NULL, 0, false,
			    arn, sizeof(arn), &self->res));
	EXPECT_STREQ("pending confirmation", arn);
	TOK(topic_list_subscriptions(self->ts, ARN("t"), &subs, &self->res));
	ASSERT_EQ(1, subs.n);
	EXPECT_STREQ("PendingConfirmation", subs.v[0].arn);
	topic_sub_list_free(&subs);
	TOK(topic_get_attributes(self->ts, ARN("t"), &l, &self->res));
	EXPECT_STREQ("1", tt_kv(&l, "SubscriptionsPending"));
	queue_kv_list_free(&l);

	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(1, ob.n);
	EXPECT_STREQ("SubscriptionConfirmation", ob.v[0].type);
	EXPECT_STREQ("http://127.0.0.1:1/hook", ob.v[0].endpoint);
	EXPECT_NE_NULL(strstr(ob.v[0].body,
			      "\"SubscribeURL\":\"http://127.0.0.1:9911/"
			      "?Action=ConfirmSubscription&TopicArn=arn%3Aaws%3Asns"));
	tok = strstr(ob.v[0].body, "\"Token\":\"");
	ASSERT_NE_NULL(tok);
	tok += 9;
	snprintf(token, sizeof(token), "%.*s", (int)strcspn(tok, "\""), tok);
	EXPECT_EQ(128, strlen(token));
	TERR(TE_INVALID_PARAMETER, "Invalid token",
	     topic_confirm(self->ts, ARN("t"), "00", confirmed, sizeof(confirmed), &self->res));
	TOK(topic_confirm(self->ts, ARN("t"), token, confirmed, sizeof(confirmed), &self->res));
	EXPECT_EQ(0, strncmp(confirmed, ARN("t:"), strlen(ARN("t:"))));
	TOK(topic_outbox_done(self->ts, ob.v[0].seq, true, &self->res));
	topic_outbox_list_free(&ob);
	TOK(topic_get_sub_attributes(self->ts, confirmed, &l, &self->res));
	EXPECT_STREQ("false", tt_kv(&l, "PendingConfirmation"));
	EXPECT_NE_NULL(tt_kv(&l, "EffectiveDeliveryPolicy"));
	queue_kv_list_free(&l);
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	EXPECT_EQ(0, ob.n);
	topic_outbox_list_free(&ob);
}

TEST_F(t, confirmation_token_expires_after_two_days)
{
	struct topic_outbox_list ob;
	char arn[600];
	const char *tok;
	char token[200];

	tt_topic(self, "t", NULL, 0);
	TOK(topic_subscribe(self->ts, ARN("t"), "https", "https://h/x", NULL, 0, false, arn,
			    sizeof(arn), &self->res));
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(1, ob.n);
	tok = strstr(ob.v[0].body, "\"Token\":\"") + 9;
	snprintf(token, sizeof(token), "%.*s", (int)strcspn(tok, "\""), tok);
	topic_outbox_list_free(&ob);
	self->now += 2LL * 24 * 3600 * 1000 + 1;
	TERR(TE_INVALID_PARAMETER, "Invalid token",
	     topic_confirm(self->ts, ARN("t"), token, arn, sizeof(arn), &self->res));
}

TEST_F(t, survives_reopen_and_delete_removes_subscriptions)
{
	struct topic_sub_list subs;
	struct queue_kv_list l;
	const char *arn;
	char saved[600];

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	arn = tt_sub(self, ARN("t"), "sqs", QARN("q"), NULL, 0);
	snprintf(saved, sizeof(saved), "%s", arn);
	tt_sub(self, ARN("t"), "udp", "10.0.0.1:9000", NULL, 0);
	tt_close(self);
	tt_open(self);
	TOK(topic_get_sub_attributes(self->ts, saved, &l, &self->res));
	EXPECT_STREQ(QARN("q"), tt_kv(&l, "Endpoint"));
	queue_kv_list_free(&l);
	TOK(topic_list_subscriptions(self->ts, ARN("t"), &subs, &self->res));
	EXPECT_EQ(2, subs.n);
	topic_sub_list_free(&subs);
	TOK(topic_delete(self->ts, ARN("t"), &self->res));
	TOK(topic_list_subscriptions(self->ts, NULL, &subs, &self->res));
	EXPECT_EQ(0, subs.n);
	topic_sub_list_free(&subs);
	TERR(TE_NOT_FOUND, "Subscription does not exist",
	     topic_get_sub_attributes(self->ts, saved, &l, &self->res));
	/* A new topic of the same name does not bring the subscriptions back. */
	tt_topic(self, "t", NULL, 0);
	TERR(TE_NOT_FOUND, "Subscription does not exist",
	     topic_get_sub_attributes(self->ts, saved, &l, &self->res));
	TERR(TE_NOT_FOUND, "Topic does not exist",
	     topic_list_subscriptions(self->ts, ARN("gone"), &subs, &self->res));
}

TEST_HARNESS_MAIN

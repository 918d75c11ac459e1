// SPDX-License-Identifier: BSD-2-Clause
/*
 * The SNS query-protocol dispatcher: every action's XML response (the shapes
 * botocore parses), errors with SNS's codes and HTTP statuses, pagination,
 * indexed parameters (attributes, tags, message attributes, batch entries).
 */
#include "../harness.h"
#include "sns_api.h"
#include "topic_test.h"

#include <stdarg.h>
#include <stdlib.h>

#define NS "xmlns=\"http://sns.amazonaws.com/doc/2010-03-31/\""

/* Run a request given as "Name=Value" strings; the response in @r. */
static void call(FIXTURE_DATA(t) *self, struct sns_response *r, ...)
{
	struct sns_param p[64];
	char *copies[64];
	size_t n = 0;
	va_list ap;
	const char *s;

	va_start(ap, r);
	while ((s = va_arg(ap, const char *)) && n < 64) {
		char *c = strdup(s), *eq = strchr(c, '=');

		*eq = '\0';
		copies[n] = c;
		p[n++] = (struct sns_param){ c, eq + 1 };
	}
	va_end(ap);
	sns_api_dispatch(self->ts, p, n, r);
	for (size_t i = 0; i < n; i++)
		free(copies[i]);
}

/* The text of the first <tag> in @xml (into @out). */
static const char *tag(const char *xml, const char *name, char *out, size_t cap)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", name);
	snprintf(close, sizeof(close), "</%s>", name);
	a = strstr(xml, open);
	b = a ? strstr(a, close) : NULL;
	if (!b)
		return NULL;
	a += strlen(open);
	snprintf(out, cap, "%.*s", (int)(b - a), a);
	return out;
}

#define EXPECT_OK(r, action)                                                       \
	do {                                                                       \
		if ((r).status != 200)                                             \
			TH_LOG("%s", (r).body);                                    \
		EXPECT_EQ(200, (r).status);                                        \
		EXPECT_EQ(0, strncmp((r).body, "<" action "Response " NS ">",      \
				     strlen("<" action "Response " NS ">")));      \
		EXPECT_NE_NULL(strstr((r).body, "<ResponseMetadata><RequestId>")); \
		EXPECT_NE_NULL(strstr((r).body, "</" action "Response>"));         \
	} while (0)

#define EXPECT_ERR(r, status_, code, text)                                                 \
	do {                                                                               \
		if (!strstr((r).body, "<Code>" code "</Code>") || !strstr((r).body, text)) \
			TH_LOG("%s", (r).body);                                            \
		EXPECT_EQ(status_, (r).status);                                            \
		EXPECT_EQ(0, strncmp((r).body, "<ErrorResponse " NS "><Error><Type>",      \
				     strlen("<ErrorResponse " NS "><Error><Type>")));      \
		EXPECT_NE_NULL(strstr((r).body, "<Code>" code "</Code>"));                 \
		EXPECT_NE_NULL(strstr((r).body, text));                                    \
		EXPECT_NE_NULL(strstr((r).body, "</Error><RequestId>"));                   \
	} while (0)

TEST_F(t, topics)
{
	struct sns_response r;
	char buf[512];

	call(self, &r, "Action=CreateTopic", "Name=orders", "Attributes.entry.1.key=DisplayName",
	     "Attributes.entry.1.value=Orders & <co>", "Tags.member.1.Key=team",
	     "Tags.member.1.Value=red", "Version=2010-03-31", NULL);
	EXPECT_OK(r, "CreateTopic");
	EXPECT_NE_NULL(strstr(r.body, "<CreateTopicResult><TopicArn>" ARN(
					      "orders") "</TopicArn></CreateTopicResult>"));
	sns_response_free(&r);

	call(self, &r, "Action=GetTopicAttributes", "TopicArn=" ARN("orders"), NULL);
	EXPECT_OK(r, "GetTopicAttributes");
	EXPECT_NE_NULL(strstr(r.body, "<GetTopicAttributesResult><Attributes><entry><key>"));
	EXPECT_NE_NULL(strstr(r.body, "<entry><key>DisplayName</key><value>Orders &amp; "
				      "&lt;co&gt;</value></entry>"));
	EXPECT_NE_NULL(strstr(r.body, "<entry><key>Policy</key><value>{&quot;Version"));
	sns_response_free(&r);

	call(self, &r, "Action=SetTopicAttributes", "TopicArn=" ARN("orders"),
	     "AttributeName=DisplayName", "AttributeValue=New", NULL);
	EXPECT_OK(r, "SetTopicAttributes");
	EXPECT_NULL(strstr(r.body, "Result"));
	sns_response_free(&r);

	for (int i = 0; i < 120; i++) {
		char name[64];

		snprintf(name, sizeof(name), "Name=t%03d", i);
		call(self, &r, "Action=CreateTopic", name, NULL);
		ASSERT_EQ(200, r.status);
		sns_response_free(&r);
	}
	call(self, &r, "Action=ListTopics", NULL);
	EXPECT_OK(r, "ListTopics");
	EXPECT_NE_NULL(strstr(r.body, "<ListTopicsResult><Topics><member><TopicArn>" ARN(
					      "orders") "</TopicArn></member>"));
	EXPECT_STREQ("100", tag(r.body, "NextToken", buf, sizeof(buf)));
	sns_response_free(&r);
	call(self, &r, "Action=ListTopics", "NextToken=100", NULL);
	EXPECT_OK(r, "ListTopics");
	EXPECT_NULL(strstr(r.body, "NextToken"));
	EXPECT_NE_NULL(strstr(r.body, ARN("t119")));
	sns_response_free(&r);
	call(self, &r, "Action=ListTopics", "NextToken=junk", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: NextToken");
	sns_response_free(&r);

	call(self, &r, "Action=ListTagsForResource", "ResourceArn=" ARN("orders"), NULL);
	EXPECT_OK(r, "ListTagsForResource");
	EXPECT_NE_NULL(strstr(r.body, "<ListTagsForResourceResult><Tags><member><Key>team</Key>"
				      "<Value>red</Value></member></Tags>"));
	sns_response_free(&r);
	call(self, &r, "Action=TagResource", "ResourceArn=" ARN("orders"), "Tags.member.1.Key=env",
	     "Tags.member.1.Value=prod", NULL);
	EXPECT_OK(r, "TagResource");
	EXPECT_NE_NULL(strstr(r.body, "<TagResourceResult></TagResourceResult>"));
	sns_response_free(&r);
	call(self, &r, "Action=UntagResource", "ResourceArn=" ARN("orders"),
	     "TagKeys.member.1=team", "TagKeys.member.2=env", NULL);
	EXPECT_OK(r, "UntagResource");
	sns_response_free(&r);
	call(self, &r, "Action=ListTagsForResource", "ResourceArn=" ARN("orders"), NULL);
	EXPECT_NE_NULL(strstr(r.body, "<Tags></Tags>"));
	sns_response_free(&r);
	call(self, &r, "Action=TagResource", "ResourceArn=" ARN("nope"), "Tags.member.1.Key=a",
	     "Tags.member.1.Value=b", NULL);
	EXPECT_ERR(r, 404, "ResourceNotFound", "Resource does not exist");
	sns_response_free(&r);

	call(self, &r, "Action=DeleteTopic", "TopicArn=" ARN("orders"), NULL);
	EXPECT_OK(r, "DeleteTopic");
	sns_response_free(&r);
	call(self, &r, "Action=GetTopicAttributes", "TopicArn=" ARN("orders"), NULL);
	EXPECT_ERR(r, 404, "NotFound", "Topic does not exist");
	EXPECT_NE_NULL(strstr(r.body, "<Type>Sender</Type>"));
	sns_response_free(&r);
}

TEST_F(t, errors)
{
	struct sns_response r;

	call(self, &r, "Action=Frobnicate", NULL);
	EXPECT_ERR(r, 400, "InvalidAction", "Could not find operation Frobnicate");
	sns_response_free(&r);
	call(self, &r, "TopicArn=x", NULL);
	EXPECT_ERR(r, 400, "InvalidAction", "(none)");
	sns_response_free(&r);
	call(self, &r, "Action=CreateTopic", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: Name");
	sns_response_free(&r);
	call(self, &r, "Action=CreateTopic", "Name=a b", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: Topic Name");
	sns_response_free(&r);
	call(self, &r, "Action=Publish", "Message=m", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "TopicArn");
	sns_response_free(&r);
	call(self, &r, "Action=Subscribe", "TopicArn=" ARN("t"), NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: Protocol");
	sns_response_free(&r);
	call(self, &r, "Action=SetSubscriptionAttributes", "SubscriptionArn=" ARN("t:x"), NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: AttributeName");
	sns_response_free(&r);
}

TEST_F(t, subscriptions)
{
	struct sns_response r;
	char sub[600], buf[700], token[200];
	struct topic_outbox_list ob;
	const char *tk;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	call(self, &r, "Action=Subscribe", "TopicArn=" ARN("t"), "Protocol=sqs",
	     "Endpoint=" QARN("q"), "Attributes.entry.1.key=RawMessageDelivery",
	     "Attributes.entry.1.value=true", "Attributes.entry.2.key=FilterPolicy",
	     "Attributes.entry.2.value={\"a\":[\"b\"]}", NULL);
	EXPECT_OK(r, "Subscribe");
	ASSERT_NE_NULL(tag(r.body, "SubscriptionArn", sub, sizeof(sub)));
	EXPECT_EQ(0, strncmp(sub, ARN("t:"), strlen(ARN("t:"))));
	sns_response_free(&r);

	call(self, &r, "Action=GetSubscriptionAttributes", "SubscriptionArn=", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: SubscriptionArn");
	sns_response_free(&r);
	snprintf(buf, sizeof(buf), "SubscriptionArn=%s", sub);
	call(self, &r, "Action=GetSubscriptionAttributes", buf, NULL);
	EXPECT_OK(r, "GetSubscriptionAttributes");
	EXPECT_NE_NULL(strstr(r.body, "<entry><key>RawMessageDelivery</key><value>true</value>"));
	EXPECT_NE_NULL(strstr(r.body, "<entry><key>FilterPolicy</key><value>{&quot;a&quot;:"
				      "[&quot;b&quot;]}</value>"));
	sns_response_free(&r);
	call(self, &r, "Action=SetSubscriptionAttributes", buf, "AttributeName=FilterPolicy",
	     "AttributeValue={\"a\":[{\"numeric\":[\"<\"]}]}", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid parameter: FilterPolicy: ");
	sns_response_free(&r);
	call(self, &r, "Action=SetSubscriptionAttributes", buf, "AttributeName=RawMessageDelivery",
	     "AttributeValue=false", NULL);
	EXPECT_OK(r, "SetSubscriptionAttributes");
	sns_response_free(&r);

	call(self, &r, "Action=Subscribe", "TopicArn=" ARN("t"), "Protocol=https",
	     "Endpoint=https://example.com/h", NULL);
	EXPECT_OK(r, "Subscribe");
	EXPECT_NE_NULL(strstr(r.body, "<SubscriptionArn>pending confirmation</SubscriptionArn>"));
	sns_response_free(&r);

	call(self, &r, "Action=ListSubscriptions", NULL);
	EXPECT_OK(r, "ListSubscriptions");
	EXPECT_NE_NULL(strstr(r.body, "<ListSubscriptionsResult><Subscriptions><member>"));
	EXPECT_NE_NULL(strstr(r.body, "<SubscriptionArn>PendingConfirmation</SubscriptionArn>"));
	EXPECT_NE_NULL(strstr(r.body, "<Protocol>sqs</Protocol>"));
	EXPECT_NE_NULL(strstr(r.body, "<Owner>123456789012</Owner>"));
	EXPECT_NE_NULL(strstr(r.body, "<Endpoint>" QARN("q") "</Endpoint>"));
	sns_response_free(&r);
	call(self, &r, "Action=ListSubscriptionsByTopic", "TopicArn=" ARN("t"), NULL);
	EXPECT_OK(r, "ListSubscriptionsByTopic");
	EXPECT_NE_NULL(strstr(r.body, "<ListSubscriptionsByTopicResult><Subscriptions><member>"));
	sns_response_free(&r);

	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(1, ob.n);
	tk = strstr(ob.v[0].body, "\"Token\":\"") + 9;
	snprintf(token, sizeof(token), "Token=%.*s", (int)strcspn(tk, "\""), tk);
	topic_outbox_list_free(&ob);
	call(self, &r, "Action=ConfirmSubscription", "TopicArn=" ARN("t"), token, NULL);
	EXPECT_OK(r, "ConfirmSubscription");
	EXPECT_NE_NULL(strstr(r.body, "<ConfirmSubscriptionResult><SubscriptionArn>" ARN("t:")));
	sns_response_free(&r);
	call(self, &r, "Action=ConfirmSubscription", "TopicArn=" ARN("t"), "Token=bad", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "Invalid token");
	sns_response_free(&r);

	call(self, &r, "Action=Unsubscribe", buf, NULL);
	EXPECT_OK(r, "Unsubscribe");
	sns_response_free(&r);
	call(self, &r, "Action=Unsubscribe", buf, NULL);
	EXPECT_ERR(r, 404, "NotFound", "Subscription does not exist");
	sns_response_free(&r);
}

TEST_F(t, publish_and_batch)
{
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" },
						{ "ContentBasedDeduplication", "true" } };
	static const struct queue_kv fifoq[] = { { "FifoQueue", "true" } };
	struct queue_received rcv;
	struct sns_response r;
	char id[64];

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("q"), raw, 1);
	call(self, &r, "Action=Publish", "TopicArn=" ARN("t"), "Message=hello", "Subject=hi",
	     "MessageAttributes.entry.1.Name=color",
	     "MessageAttributes.entry.1.Value.DataType=String",
	     "MessageAttributes.entry.1.Value.StringValue=red",
	     "MessageAttributes.entry.2.Name=bin",
	     "MessageAttributes.entry.2.Value.DataType=Binary",
	     "MessageAttributes.entry.2.Value.BinaryValue=AAEC/w==", NULL);
	EXPECT_OK(r, "Publish");
	ASSERT_NE_NULL(tag(r.body, "MessageId", id, sizeof(id)));
	EXPECT_EQ(36, strlen(id));
	EXPECT_NULL(strstr(r.body, "SequenceNumber"));
	sns_response_free(&r);
	tt_recv(self, "q", &rcv);
	ASSERT_EQ(1, rcv.n);
	EXPECT_STREQ("hello", rcv.msgs[0].body);
	ASSERT_EQ(2, rcv.msgs[0].nattrs);
	EXPECT_STREQ("bin", rcv.msgs[0].attrs[0].name);
	EXPECT_EQ(4, rcv.msgs[0].attrs[0].len);
	EXPECT_EQ(0, memcmp("\x00\x01\x02\xff", rcv.msgs[0].attrs[0].value, 4));
	EXPECT_EQ(3, rcv.msgs[0].attrs[1].len);
	queue_received_free(&rcv);

	call(self, &r, "Action=Publish", "TopicArn=" ARN("t"), "Message=m",
	     "MessageAttributes.entry.1.Name=b", "MessageAttributes.entry.1.Value.DataType=Binary",
	     "MessageAttributes.entry.1.Value.BinaryValue=!!!", NULL);
	EXPECT_ERR(r, 400, "InvalidParameterValue", "not base64");
	sns_response_free(&r);
	call(self, &r, "Action=Publish", "TopicArn=" ARN("t"), "Message=m",
	     "MessageAttributes.entry.1.Name=n", "MessageAttributes.entry.1.Value.DataType=Number",
	     "MessageAttributes.entry.1.Value.StringValue=x", NULL);
	EXPECT_ERR(r, 400, "InvalidParameterValue", "Could not cast message attribute &apos;n&apos;");
	sns_response_free(&r);

	call(self, &r, "Action=PublishBatch", "TopicArn=" ARN("t"),
	     "PublishBatchRequestEntries.member.1.Id=ok1",
	     "PublishBatchRequestEntries.member.1.Message=one",
	     "PublishBatchRequestEntries.member.2.Id=bad",
	     "PublishBatchRequestEntries.member.2.Message=two",
	     "PublishBatchRequestEntries.member.2.Subject=",
	     "PublishBatchRequestEntries.member.3.Id=ok3",
	     "PublishBatchRequestEntries.member.3.Message=three",
	     "PublishBatchRequestEntries.member.3.MessageAttributes.entry.1.Name=k",
	     "PublishBatchRequestEntries.member.3.MessageAttributes.entry.1.Value.DataType=String",
	     "PublishBatchRequestEntries.member.3.MessageAttributes.entry.1.Value.StringValue=v",
	     NULL);
	EXPECT_OK(r, "PublishBatch");
	EXPECT_NE_NULL(strstr(r.body, "<PublishBatchResult><Successful><member><Id>ok1</Id>"
				      "<MessageId>"));
	EXPECT_NE_NULL(strstr(r.body, "<member><Id>ok3</Id><MessageId>"));
	EXPECT_NE_NULL(strstr(r.body, "<Failed><member><Id>bad</Id><Code>InvalidParameter</Code>"
				      "<Message>Invalid parameter: Subject</Message>"
				      "<SenderFault>true</SenderFault></member></Failed>"));
	sns_response_free(&r);
	tt_recv(self, "q", &rcv);
	ASSERT_EQ(2, rcv.n);
	EXPECT_STREQ("one", rcv.msgs[0].body);
	EXPECT_STREQ("three", rcv.msgs[1].body);
	EXPECT_EQ(1, rcv.msgs[1].nattrs);
	queue_received_free(&rcv);

	call(self, &r, "Action=PublishBatch", "TopicArn=" ARN("t"), NULL);
	EXPECT_ERR(r, 400, "EmptyBatchRequest", "doesn&apos;t contain any entries");
	sns_response_free(&r);
	{
		struct sns_param p[23];
		char names[22][64];

		p[0] = (struct sns_param){ "Action", "PublishBatch" };
		for (int i = 0; i < 11; i++) {
			snprintf(names[2 * i], 64, "PublishBatchRequestEntries.member.%d.Id",
				 i + 1);
			snprintf(names[2 * i + 1], 64,
				 "PublishBatchRequestEntries.member.%d.Message", i + 1);
			p[1 + 2 * i] = (struct sns_param){ names[2 * i], names[2 * i] + 40 };
			p[2 + 2 * i] = (struct sns_param){ names[2 * i + 1], "m" };
		}
		struct sns_param all[24];

		memcpy(all, p, sizeof(p));
		all[23] = (struct sns_param){ "TopicArn", ARN("t") };
		sns_api_dispatch(self->ts, all, 24, &r);
		EXPECT_ERR(r, 400, "TooManyEntriesInBatchRequest", "more entries than permissible");
		sns_response_free(&r);
	}

	tt_topic(self, "f.fifo", fifo, 2);
	tt_queue(self, "f.fifo", fifoq, 1);
	tt_sub(self, ARN("f.fifo"), "sqs", QARN("f.fifo"), NULL, 0);
	call(self, &r, "Action=Publish", "TopicArn=" ARN("f.fifo"), "Message=m", "MessageGroupId=g",
	     NULL);
	EXPECT_OK(r, "Publish");
	EXPECT_EQ(20, strlen(tag(r.body, "SequenceNumber", id, sizeof(id))));
	sns_response_free(&r);
	call(self, &r, "Action=Publish", "TopicArn=" ARN("f.fifo"), "Message=m", NULL);
	EXPECT_ERR(r, 400, "InvalidParameter", "MessageGroupId parameter is required");
	sns_response_free(&r);
	call(self, &r, "Action=Publish", "TargetArn=" ARN("t"), "Message=via target", NULL);
	EXPECT_OK(r, "Publish");
	sns_response_free(&r);
}

TEST_HARNESS_MAIN

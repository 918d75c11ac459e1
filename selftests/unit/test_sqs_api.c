// SPDX-License-Identifier: BSD-2-Clause
/*
 * The SQS API dispatcher (sqs_api.h) on a real LMDB store in a temporary
 * directory: every action in its AWS JSON 1.0 shapes, the error mapping for
 * both protocols, batches with partial failure, FIFO, DLQs and move tasks,
 * permissions, paging and the long-poll decision.
 */
#include "../harness.h"
#define QT_NO_FIXTURE
#include "queue_test.h"
#include "json.h"
#include "sqs_api.h"
#include "strbuf.h"

#include <stdlib.h>
#include <string.h>

#define URL "http://localhost:4566/123456789012/"

FIXTURE(api)
{
	char dir[64];
	int64_t now;
	struct queue_store *st;
	struct sqs_api api;
	struct strbuf resp;
	struct sqs_api_error err;
	struct json_doc *doc;
};

FIXTURE_SETUP(api)
{
	struct queue_store_opts o = { .region = "eu-west-1",
				      .account = "123456789012",
				      .clock = qt_clock,
				      .clock_ctx = &self->now };
	struct sqs_api_config cfg = { .account_id = "123456789012",
				      .region = "eu-west-1",
				      .endpoint = "http://localhost:4566/" };
	struct queue_result r;

	ASSERT_NE_NULL(flatdir_make(self->dir, sizeof(self->dir), "sqsapi"));
	self->now = T0;
	self->st = queue_store_open(self->dir, &o, &r);
	ASSERT_NE_NULL(self->st);
	ASSERT_EQ(0, sqs_api_init(&self->api, self->st, &cfg));
	self->resp = (struct strbuf)STRBUF_INIT;
	self->doc = NULL;
}

FIXTURE_TEARDOWN(api)
{
	json_doc_free(self->doc);
	sb_free(&self->resp);
	queue_store_close(self->st);
	qt_rmrf(self->dir);
}

/* Run @action on @req; on success the parsed response is returned. */
static const struct json_value *call(FIXTURE_DATA(api) *self, const char *action, const char *req)
{
	int rc;

	sb_reset(&self->resp);
	json_doc_free(self->doc);
	self->doc = NULL;
	rc = sqs_dispatch(&self->api, action, req, strlen(req), &self->resp, &self->err);
	if (rc) {
		TH_LOG("%s failed: %s %s", action, self->err.code, self->err.message);
		return NULL;
	}
	self->doc = json_parse(self->resp.buf, self->resp.len, true);
	if (json_doc_error(self->doc)) {
		TH_LOG("%s: bad JSON response %s", action, self->resp.buf);
		return NULL;
	}
	return json_doc_root(self->doc);
}

/* The action fails; returns the error's query code. */
static const char *fails(FIXTURE_DATA(api) *self, const char *action, const char *req)
{
	sb_reset(&self->resp);
	if (!sqs_dispatch(&self->api, action, req, strlen(req), &self->resp, &self->err)) {
		TH_LOG("%s unexpectedly succeeded: %s", action, self->resp.buf);
		return "(succeeded)";
	}
	if (self->resp.len)
		return "(appended output)";
	return self->err.code;
}

/* A string member of @v ("" when absent), for comparisons. */
static const char *str(const struct json_value *v, const char *key)
{
	const struct json_value *m = v ? json_get(v, key) : NULL;

	return m && m->type == JSON_STRING ? m->u.str.s : "";
}

static const struct json_value *item(const struct json_value *v, const char *key, size_t i)
{
	const struct json_value *m = v ? json_get(v, key) : NULL;

	return m && m->type == JSON_ARRAY && i < m->u.arr.n ? m->u.arr.items[i] : NULL;
}

static size_t count(const struct json_value *v, const char *key)
{
	const struct json_value *m = v ? json_get(v, key) : NULL;

	return m && m->type == JSON_ARRAY ? m->u.arr.n : 0;
}

#define CREATE(name) ASSERT_NE_NULL(call(self, "CreateQueue", "{\"QueueName\":\"" name "\"}"))

TEST_F(api, create_get_url_list_attributes)
{
	const struct json_value *r;

	r = call(self, "CreateQueue",
		 "{\"QueueName\":\"orders\",\"Attributes\":{\"VisibilityTimeout\":\"45\"},"
		 "\"tags\":{\"team\":\"eu\"}}");
	ASSERT_NE_NULL(r);
	EXPECT_STREQ(URL "orders", str(r, "QueueUrl"));
	r = call(self, "GetQueueUrl", "{\"QueueName\":\"orders\"}");
	EXPECT_STREQ(URL "orders", str(r, "QueueUrl"));
	CREATE("billing");
	r = call(self, "ListQueues", "{}");
	ASSERT_EQ(2, count(r, "QueueUrls"));
	EXPECT_STREQ(URL "billing", item(r, "QueueUrls", 0)->u.str.s);
	r = call(self, "ListQueues", "{\"QueueNamePrefix\":\"ord\"}");
	ASSERT_EQ(1, count(r, "QueueUrls"));
	/* An empty body is an empty request (what SDKs send for ListQueues). */
	sb_reset(&self->resp);
	ASSERT_EQ(0, sqs_dispatch(&self->api, "ListQueues", "", 0, &self->resp, &self->err));
	r = call(self, "GetQueueAttributes",
		 "{\"QueueUrl\":\"" URL "orders\",\"AttributeNames\":[\"VisibilityTimeout\","
		 "\"QueueArn\"]}");
	r = r ? json_get(r, "Attributes") : NULL;
	EXPECT_STREQ("45", str(r, "VisibilityTimeout"));
	EXPECT_STREQ("arn:aws:sqs:eu-west-1:123456789012:orders", str(r, "QueueArn"));
	ASSERT_NE_NULL(call(self, "SetQueueAttributes",
			    "{\"QueueUrl\":\"" URL
			    "orders\",\"Attributes\":{\"DelaySeconds\":\"5\"}}"));
	r = call(self, "GetQueueAttributes",
		 "{\"QueueUrl\":\"/123456789012/orders\",\"AttributeNames\":[\"All\"]}");
	EXPECT_STREQ("5", str(json_get(r, "Attributes"), "DelaySeconds"));
	/* No names: no attributes, and no "Attributes" member. */
	r = call(self, "GetQueueAttributes", "{\"QueueUrl\":\"orders\"}");
	ASSERT_NE_NULL(r);
	EXPECT_NULL(json_get(r, "Attributes"));
	EXPECT_STREQ("InvalidAttributeName",
		     fails(self, "GetQueueAttributes",
			   "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"Colour\"]}"));
	ASSERT_NE_NULL(call(self, "DeleteQueue", "{\"QueueUrl\":\"" URL "orders\"}"));
	EXPECT_STREQ("AWS.SimpleQueueService.NonExistentQueue",
		     fails(self, "GetQueueUrl", "{\"QueueName\":\"orders\"}"));
}

TEST_F(api, errors_for_both_protocols)
{
	EXPECT_STREQ(
		"AWS.SimpleQueueService.NonExistentQueue",
		fails(self, "SendMessage", "{\"QueueUrl\":\"" URL "nope\",\"MessageBody\":\"x\"}"));
	EXPECT_STREQ("com.amazonaws.sqs#QueueDoesNotExist", self->err.type);
	EXPECT_EQ(400, self->err.http_status);
	EXPECT_TRUE(self->err.sender);
	EXPECT_STREQ("The specified queue does not exist.", self->err.message);

	EXPECT_STREQ("MissingParameter", fails(self, "CreateQueue", "{}"));
	EXPECT_STREQ("The request must contain the parameter QueueName.", self->err.message);
	EXPECT_STREQ("MissingParameter", fails(self, "DeleteQueue", "{}"));
	EXPECT_STREQ("The request must contain the parameter QueueUrl.", self->err.message);

	EXPECT_STREQ("InvalidAction", fails(self, "FlyToTheMoon", "{}"));
	EXPECT_STREQ("com.amazonaws.sqs#UnknownOperationException", self->err.type);
	EXPECT_STREQ("The action FlyToTheMoon is not valid for this endpoint.", self->err.message);

	EXPECT_STREQ("SerializationException", fails(self, "ListQueues", "{\"QueueNamePrefix\":"));
	EXPECT_NE_NULL(strstr(self->err.message, "not valid JSON"));
	EXPECT_STREQ("SerializationException", fails(self, "ListQueues", "[1]"));

	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "ListQueues", "{\"QueueNamePrefix\":42}"));
	EXPECT_STREQ("Value for parameter QueueNamePrefix is invalid. Reason: it must be a string.",
		     self->err.message);

	CREATE("orders");
	/* Another account's queue URL names a queue that does not exist here. */
	EXPECT_STREQ("AWS.SimpleQueueService.NonExistentQueue",
		     fails(self, "PurgeQueue",
			   "{\"QueueUrl\":\"http://localhost:4566/999999999999/orders\"}"));
	EXPECT_STREQ(
		"AWS.SimpleQueueService.NonExistentQueue",
		fails(self, "GetQueueUrl",
		      "{\"QueueName\":\"orders\",\"QueueOwnerAWSAccountId\":\"999999999999\"}"));
	EXPECT_STREQ("InvalidAddress",
		     fails(self, "PurgeQueue", "{\"QueueUrl\":\"http://localhost:4566/\"}"));
	EXPECT_EQ(404, self->err.http_status);
	EXPECT_STREQ("InvalidAddress",
		     fails(self, "PurgeQueue", "{\"QueueUrl\":\"http://h/1/2/orders\"}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "ReceiveMessage",
			   "{\"QueueUrl\":\"orders\",\"MaxNumberOfMessages\":\"ten\"}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "ReceiveMessage",
			   "{\"QueueUrl\":\"orders\",\"MaxNumberOfMessages\":0}"));
	EXPECT_STREQ(
		"InvalidParameterValue",
		fails(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\",\"WaitTimeSeconds\":21}"));
	EXPECT_STREQ("InvalidAttributeName",
		     fails(self, "ReceiveMessage",
			   "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"Colour\"]}"));
	EXPECT_STREQ("MissingParameter",
		     fails(self, "ChangeMessageVisibility",
			   "{\"QueueUrl\":\"orders\",\"ReceiptHandle\":\"x\"}"));
	EXPECT_STREQ("AWS.SimpleQueueService.PurgeQueueInProgress",
		     (call(self, "PurgeQueue", "{\"QueueUrl\":\"orders\"}"),
		      fails(self, "PurgeQueue", "{\"QueueUrl\":\"orders\"}")));
	EXPECT_EQ(403, self->err.http_status);
}

TEST_F(api, send_receive_delete_with_attributes)
{
	const struct json_value *r, *m, *a;
	char req[1024];

	CREATE("orders");
	r = call(self, "SendMessage",
		 "{\"QueueUrl\":\"" URL "orders\",\"MessageBody\":\"hello\","
		 "\"MessageAttributes\":{\"region\":{\"DataType\":\"String\",\"StringValue\":"
		 "\"eu\"},"
		 "\"blob\":{\"DataType\":\"Binary\",\"BinaryValue\":\"AAEC/w==\"},"
		 "\"n\":{\"DataType\":\"Number.int\",\"StringValue\":\"42\"}}}");
	ASSERT_NE_NULL(r);
	EXPECT_STREQ("5d41402abc4b2a76b9719d911017c592", str(r, "MD5OfMessageBody"));
	EXPECT_EQ(32, strlen(str(r, "MD5OfMessageAttributes")));
	EXPECT_EQ(36, strlen(str(r, "MessageId")));
	EXPECT_NULL(json_get(r, "SequenceNumber"));
	EXPECT_STREQ("orders", sqs_api_woken_queue(&self->api));
	char md5_attrs[33];

	snprintf(md5_attrs, sizeof(md5_attrs), "%s", str(r, "MD5OfMessageAttributes"));
	self->now += 7;
	r = call(self, "ReceiveMessage",
		 "{\"QueueUrl\":\"" URL "orders\",\"AttributeNames\":[\"All\"],"
		 "\"MessageAttributeNames\":[\"All\"],\"MaxNumberOfMessages\":10}");
	ASSERT_EQ(1, count(r, "Messages"));
	m = item(r, "Messages", 0);
	EXPECT_STREQ("hello", str(m, "Body"));
	EXPECT_STREQ("5d41402abc4b2a76b9719d911017c592", str(m, "MD5OfBody"));
	EXPECT_STREQ(md5_attrs, str(m, "MD5OfMessageAttributes"));
	a = json_get(m, "Attributes");
	EXPECT_STREQ("1", str(a, "ApproximateReceiveCount"));
	EXPECT_STREQ("1700000000000", str(a, "SentTimestamp"));
	EXPECT_STREQ("1700000000007", str(a, "ApproximateFirstReceiveTimestamp"));
	EXPECT_STREQ("123456789012", str(a, "SenderId"));
	EXPECT_NULL(json_get(a, "MessageGroupId"));
	a = json_get(m, "MessageAttributes");
	EXPECT_STREQ("AAEC/w==", str(json_get(a, "blob"), "BinaryValue"));
	EXPECT_STREQ("Binary", str(json_get(a, "blob"), "DataType"));
	EXPECT_STREQ("eu", str(json_get(a, "region"), "StringValue"));
	EXPECT_STREQ("Number.int", str(json_get(a, "n"), "DataType"));
	snprintf(req, sizeof(req), "{\"QueueUrl\":\"" URL "orders\",\"ReceiptHandle\":\"%s\"}",
		 str(m, "ReceiptHandle"));
	ASSERT_NE_NULL(call(self, "DeleteMessage", req));
	EXPECT_STREQ("{}", self->resp.buf);
	/* Only the selected message attributes come back (and their MD5). */
	call(self, "SendMessage",
	     "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageAttributes\":"
	     "{\"region\":{\"DataType\":\"String\",\"StringValue\":\"eu\"}}}");
	r = call(self, "ReceiveMessage",
		 "{\"QueueUrl\":\"orders\",\"MessageAttributeNames\":[\"zz\"]}");
	m = item(r, "Messages", 0);
	ASSERT_NE_NULL(m);
	EXPECT_NULL(json_get(m, "MessageAttributes"));
	EXPECT_NULL(json_get(m, "MD5OfMessageAttributes"));
	EXPECT_NULL(json_get(m, "Attributes"));
	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\"}");
	ASSERT_NE_NULL(r);
	EXPECT_STREQ("{}", self->resp.buf);
}

TEST_F(api, bad_message_attributes_and_bodies)
{
	CREATE("orders");
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "SendMessage",
			   "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageAttributes\":"
			   "{\"b\":{\"DataType\":\"Binary\",\"BinaryValue\":\"not base64!\"}}}"));
	EXPECT_STREQ("The message attribute 'b' of type 'Binary' has a BinaryValue that is not "
		     "valid base64.",
		     self->err.message);
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "SendMessage",
			   "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageAttributes\":"
			   "{\"s\":{\"DataType\":\"String\"}}}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "SendMessage",
			   "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageAttributes\":"
			   "{\"s\":{\"StringValue\":\"v\"}}}"));
	EXPECT_STREQ("MissingParameter", fails(self, "SendMessage", "{\"QueueUrl\":\"orders\"}"));
	EXPECT_STREQ("InvalidMessageContents",
		     fails(self, "SendMessage",
			   "{\"QueueUrl\":\"orders\",\"MessageBody\":\"a\\u0000b\"}"));
	EXPECT_STREQ(
		"InvalidParameterValue",
		fails(self, "SendMessage",
		      "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageSystemAttributes\":"
		      "{\"Colour\":{\"DataType\":\"String\",\"StringValue\":\"v\"}}}"));
	/* AWSTraceHeader is accepted (and not stored). */
	EXPECT_NE_NULL(
		call(self, "SendMessage",
		     "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"MessageSystemAttributes\":"
		     "{\"AWSTraceHeader\":{\"DataType\":\"String\",\"StringValue\":\"t\"}}}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "SendMessage",
			   "{\"QueueUrl\":\"orders\",\"MessageBody\":\"x\",\"DelaySeconds\":901}"));
}

TEST_F(api, batches_with_partial_failure)
{
	const struct json_value *r, *f;
	char req[2048];

	CREATE("orders");
	r = call(self, "SendMessageBatch",
		 "{\"QueueUrl\":\"orders\",\"Entries\":["
		 "{\"Id\":\"a\",\"MessageBody\":\"one\"},"
		 "{\"Id\":\"b\",\"MessageBody\":\"two\",\"DelaySeconds\":1000},"
		 "{\"Id\":\"c\",\"MessageBody\":\"three\",\"MessageAttributes\":"
		 "{\"s\":{\"DataType\":\"String\"}}},"
		 "{\"Id\":\"d\",\"MessageBody\":\"four\"}]}");
	ASSERT_NE_NULL(r);
	ASSERT_EQ(2, count(r, "Successful"));
	EXPECT_STREQ("a", str(item(r, "Successful", 0), "Id"));
	EXPECT_STREQ("d", str(item(r, "Successful", 1), "Id"));
	EXPECT_EQ(32, strlen(str(item(r, "Successful", 1), "MD5OfMessageBody")));
	ASSERT_EQ(2, count(r, "Failed"));
	f = item(r, "Failed", 0);
	EXPECT_STREQ("b", str(f, "Id"));
	EXPECT_STREQ("InvalidParameterValue", str(f, "Code"));
	EXPECT_EQ(JSON_TRUE, json_get(f, "SenderFault")->type);
	EXPECT_STREQ("c", str(item(r, "Failed", 1), "Id"));

	/* Whole-request errors. */
	EXPECT_STREQ("AWS.SimpleQueueService.EmptyBatchRequest",
		     fails(self, "SendMessageBatch", "{\"QueueUrl\":\"orders\",\"Entries\":[]}"));
	EXPECT_STREQ("AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
		     fails(self, "SendMessageBatch",
			   "{\"QueueUrl\":\"orders\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":"
			   "\"x\"},{\"Id\":\"a\",\"MessageAttributes\":{\"s\":{}}}]}"));
	EXPECT_STREQ("AWS.SimpleQueueService.InvalidBatchEntryId",
		     fails(self, "SendMessageBatch",
			   "{\"QueueUrl\":\"orders\",\"Entries\":[{\"Id\":\"a b\","
			   "\"MessageBody\":\"x\"}]}"));

	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\",\"MaxNumberOfMessages\":10}");
	ASSERT_EQ(2, count(r, "Messages"));
	snprintf(req, sizeof(req),
		 "{\"QueueUrl\":\"orders\",\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"%s\","
		 "\"VisibilityTimeout\":60},{\"Id\":\"y\",\"ReceiptHandle\":\"bogus\","
		 "\"VisibilityTimeout\":60}]}",
		 str(item(r, "Messages", 0), "ReceiptHandle"));
	char h2[128];

	snprintf(h2, sizeof(h2), "%s", str(item(r, "Messages", 1), "ReceiptHandle"));
	r = call(self, "ChangeMessageVisibilityBatch", req);
	ASSERT_EQ(1, count(r, "Successful"));
	EXPECT_STREQ("x", str(item(r, "Successful", 0), "Id"));
	EXPECT_STREQ("ReceiptHandleIsInvalid", str(item(r, "Failed", 0), "Code"));
	snprintf(req, sizeof(req),
		 "{\"QueueUrl\":\"orders\",\"Entries\":[{\"Id\":\"x\",\"ReceiptHandle\":\"%s\"},"
		 "{\"Id\":\"y\",\"ReceiptHandle\":\"bogus\"}]}",
		 h2);
	r = call(self, "DeleteMessageBatch", req);
	ASSERT_EQ(1, count(r, "Successful"));
	EXPECT_STREQ("y", str(item(r, "Failed", 0), "Id"));
	r = call(self, "GetQueueAttributes",
		 "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"ApproximateNumberOfMessages\","
		 "\"ApproximateNumberOfMessagesNotVisible\"]}");
	EXPECT_STREQ("0", str(json_get(r, "Attributes"), "ApproximateNumberOfMessages"));
	EXPECT_STREQ("1", str(json_get(r, "Attributes"), "ApproximateNumberOfMessagesNotVisible"));
}

TEST_F(api, change_visibility)
{
	const struct json_value *r;
	char req[512];

	CREATE("orders");
	call(self, "SendMessage", "{\"QueueUrl\":\"orders\",\"MessageBody\":\"m\"}");
	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\"}");
	ASSERT_EQ(1, count(r, "Messages"));
	snprintf(req, sizeof(req),
		 "{\"QueueUrl\":\"orders\",\"ReceiptHandle\":\"%s\",\"VisibilityTimeout\":\"0\"}",
		 str(item(r, "Messages", 0), "ReceiptHandle"));
	ASSERT_NE_NULL(call(self, "ChangeMessageVisibility", req));
	EXPECT_STREQ("orders", sqs_api_woken_queue(&self->api));
	/* Visible again at once; the old handle is no longer in flight. */
	EXPECT_STREQ("AWS.SimpleQueueService.MessageNotInflight",
		     fails(self, "ChangeMessageVisibility", req));
	r = call(self, "ReceiveMessage",
		 "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"ApproximateReceiveCount\"]}");
	EXPECT_STREQ("2", str(json_get(item(r, "Messages", 0), "Attributes"),
			      "ApproximateReceiveCount"));
}

TEST_F(api, tags_and_purge)
{
	const struct json_value *r;

	CREATE("orders");
	ASSERT_NE_NULL(call(self, "TagQueue",
			    "{\"QueueUrl\":\"orders\",\"Tags\":{\"team\":\"eu\",\"cost\":\"7\"}}"));
	r = call(self, "ListQueueTags", "{\"QueueUrl\":\"orders\"}");
	EXPECT_STREQ("eu", str(json_get(r, "Tags"), "team"));
	EXPECT_STREQ("7", str(json_get(r, "Tags"), "cost"));
	ASSERT_NE_NULL(
		call(self, "UntagQueue", "{\"QueueUrl\":\"orders\",\"TagKeys\":[\"cost\"]}"));
	r = call(self, "ListQueueTags", "{\"QueueUrl\":\"orders\"}");
	EXPECT_EQ(1, json_get(r, "Tags")->u.obj.n);
	EXPECT_STREQ("MissingParameter", fails(self, "TagQueue", "{\"QueueUrl\":\"orders\"}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "TagQueue", "{\"QueueUrl\":\"orders\",\"Tags\":{\"k\":1}}"));
	call(self, "SendMessage", "{\"QueueUrl\":\"orders\",\"MessageBody\":\"m\"}");
	ASSERT_NE_NULL(call(self, "PurgeQueue", "{\"QueueUrl\":\"orders\"}"));
	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\"}");
	EXPECT_EQ(0, count(r, "Messages"));
}

TEST_F(api, dead_letter_queue_and_move_tasks)
{
	const struct json_value *r;
	char handle[128];

	CREATE("dlq");
	ASSERT_NE_NULL(call(self, "CreateQueue",
			    "{\"QueueName\":\"orders\",\"Attributes\":{\"RedrivePolicy\":"
			    "\"{\\\"deadLetterTargetArn\\\":\\\"arn:aws:sqs:eu-west-1:123456789012:"
			    "dlq\\\",\\\"maxReceiveCount\\\":1}\",\"VisibilityTimeout\":\"0\"}}"));
	r = call(self, "ListDeadLetterSourceQueues", "{\"QueueUrl\":\"" URL "dlq\"}");
	ASSERT_EQ(1, count(r, "queueUrls"));
	EXPECT_STREQ(URL "orders", item(r, "queueUrls", 0)->u.str.s);
	call(self, "SendMessage", "{\"QueueUrl\":\"orders\",\"MessageBody\":\"poison\"}");
	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\"}");
	ASSERT_EQ(1, count(r, "Messages"));
	/* The second receive moves it to the DLQ instead. */
	r = call(self, "ReceiveMessage", "{\"QueueUrl\":\"orders\"}");
	EXPECT_EQ(0, count(r, "Messages"));
	r = call(self, "ReceiveMessage",
		 "{\"QueueUrl\":\"dlq\",\"MessageSystemAttributeNames\":["
		 "\"DeadLetterQueueSourceArn\"],"
		 "\"VisibilityTimeout\":0}");
	ASSERT_EQ(1, count(r, "Messages"));
	EXPECT_STREQ(
		"arn:aws:sqs:eu-west-1:123456789012:orders",
		str(json_get(item(r, "Messages", 0), "Attributes"), "DeadLetterQueueSourceArn"));

	r = call(self, "StartMessageMoveTask",
		 "{\"SourceArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		 "\"MaxNumberOfMessagesPerSecond\":1}");
	ASSERT_NE_NULL(r);
	snprintf(handle, sizeof(handle), "%s", str(r, "TaskHandle"));
	ASSERT_NE(0, strlen(handle));
	r = call(self, "ListMessageMoveTasks",
		 "{\"SourceArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\",\"MaxResults\":10}");
	ASSERT_EQ(1, count(r, "Results"));
	EXPECT_STREQ("RUNNING", str(item(r, "Results", 0), "Status"));
	EXPECT_STREQ(handle, str(item(r, "Results", 0), "TaskHandle"));
	EXPECT_EQ(1, json_get(item(r, "Results", 0), "ApproximateNumberOfMessagesToMove")->u.num.d);
	char req[256];

	snprintf(req, sizeof(req), "{\"TaskHandle\":\"%s\"}", handle);
	r = call(self, "CancelMessageMoveTask", req);
	ASSERT_NE_NULL(r);
	EXPECT_NE_NULL(json_get(r, "ApproximateNumberOfMessagesMoved"));
	r = call(self, "ListMessageMoveTasks",
		 "{\"SourceArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\"}");
	EXPECT_STREQ("CANCELLED", str(item(r, "Results", 0), "Status"));
	EXPECT_NULL(json_get(item(r, "Results", 0), "TaskHandle"));
	EXPECT_STREQ("ResourceNotFoundException",
		     fails(self, "CancelMessageMoveTask", "{\"TaskHandle\":\"nope\"}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "StartMessageMoveTask",
			   "{\"SourceArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
			   "\"MaxNumberOfMessagesPerSecond\":501}"));
	EXPECT_STREQ("MissingParameter", fails(self, "ListMessageMoveTasks", "{}"));
}

TEST_F(api, fifo_with_deduplication)
{
	const struct json_value *r;
	char id[64], seq[32];

	ASSERT_NE_NULL(call(self, "CreateQueue",
			    "{\"QueueName\":\"orders.fifo\",\"Attributes\":{\"FifoQueue\":\"true\","
			    "\"ContentBasedDeduplication\":\"true\"}}"));
	r = call(self, "SendMessage",
		 "{\"QueueUrl\":\"" URL
		 "orders.fifo\",\"MessageBody\":\"a\",\"MessageGroupId\":\"g\"}");
	ASSERT_NE_NULL(r);
	EXPECT_EQ(20, strlen(str(r, "SequenceNumber")));
	snprintf(id, sizeof(id), "%s", str(r, "MessageId"));
	snprintf(seq, sizeof(seq), "%s", str(r, "SequenceNumber"));
	r = call(self, "SendMessage",
		 "{\"QueueUrl\":\"orders.fifo\",\"MessageBody\":\"a\",\"MessageGroupId\":\"g\"}");
	EXPECT_STREQ(id, str(r, "MessageId"));
	EXPECT_STREQ(seq, str(r, "SequenceNumber"));
	call(self, "SendMessage",
	     "{\"QueueUrl\":\"orders.fifo\",\"MessageBody\":\"b\",\"MessageGroupId\":\"g\","
	     "\"MessageDeduplicationId\":\"d2\"}");
	EXPECT_STREQ(
		"MissingParameter",
		fails(self, "SendMessage", "{\"QueueUrl\":\"orders.fifo\",\"MessageBody\":\"c\"}"));
	r = call(self, "ReceiveMessage",
		 "{\"QueueUrl\":\"orders.fifo\",\"MaxNumberOfMessages\":10,\"AttributeNames\":"
		 "[\"MessageGroupId\",\"SequenceNumber\",\"MessageDeduplicationId\"]}");
	ASSERT_EQ(2, count(r, "Messages"));
	EXPECT_STREQ("a", str(item(r, "Messages", 0), "Body"));
	EXPECT_STREQ("b", str(item(r, "Messages", 1), "Body"));
	EXPECT_STREQ("g", str(json_get(item(r, "Messages", 0), "Attributes"), "MessageGroupId"));
	EXPECT_STREQ(seq, str(json_get(item(r, "Messages", 0), "Attributes"), "SequenceNumber"));
	EXPECT_STREQ("d2",
		     str(json_get(item(r, "Messages", 1), "Attributes"), "MessageDeduplicationId"));
}

/* @n calls of @action with @req_fmt (%d, if there: the call's number); how many succeeded. */
static int calls(FIXTURE_DATA(api) *self, int n, const char *action, const char *req_fmt)
{
	char req[512];
	int ok = 0;

	for (int i = 0; i < n; i++) {
		snprintf(req, sizeof(req), req_fmt, i);
		sb_reset(&self->resp);
		ok += !sqs_dispatch(&self->api, action, req, strlen(req), &self->resp, &self->err);
	}
	return ok;
}

static long visible(FIXTURE_DATA(api) *self, const char *queue)
{
	char req[128];

	snprintf(req, sizeof(req),
		 "{\"QueueUrl\":\"%s\",\"AttributeNames\":[\"ApproximateNumberOfMessages\"]}",
		 queue);
	return atol(str(json_get(call(self, "GetQueueAttributes", req), "Attributes"),
			"ApproximateNumberOfMessages"));
}

#define SEND_G(q, g) "{\"QueueUrl\":\"" q "\",\"MessageBody\":\"m%d\",\"MessageGroupId\":\"" g "\"}"

/* SQS: 300 transactions per second per action; a batch is one transaction. */
TEST_F(api, fifo_throughput_per_queue)
{
	struct queue_result r;

	self->now = T0 - T0 % 1000; /* the start of a second of the store's clock */
	ASSERT_NE_NULL(call(self, "CreateQueue",
			    "{\"QueueName\":\"t.fifo\",\"Attributes\":{\"FifoQueue\":\"true\","
			    "\"ContentBasedDeduplication\":\"true\"}}"));
	ASSERT_EQ(0, queue_txn_begin(self->st, &r)); /* one commit: no fsync per call */
	ASSERT_EQ(300, calls(self, 300, "SendMessage", SEND_G("t.fifo", "g")));
	self->now += 999;
	EXPECT_STREQ("ThrottlingException", fails(self, "SendMessage",
						  "{\"QueueUrl\":\"t.fifo\",\"MessageBody\":\"x\","
						  "\"MessageGroupId\":\"g\"}"));
	EXPECT_EQ(400, self->err.http_status);
	EXPECT_STREQ("com.amazonaws.sqs#ThrottlingException", self->err.type);
	EXPECT_STREQ("Rate exceeded", self->err.message);
	EXPECT_TRUE(self->err.sender);
	/* the same action in a batch, and other groups: the quota is the queue's */
	EXPECT_STREQ("ThrottlingException",
		     fails(self, "SendMessageBatch",
			   "{\"QueueUrl\":\"t.fifo\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":"
			   "\"y\",\"MessageGroupId\":\"other\"}]}"));
	EXPECT_EQ(300, visible(self, "t.fifo")); /* nothing of the refused calls stored */
	/* other actions have quotas of their own */
	EXPECT_EQ(300, calls(self, 300, "ReceiveMessage",
			     "{\"QueueUrl\":\"t.fifo\",\"VisibilityTimeout\":0}"));
	EXPECT_STREQ("ThrottlingException",
		     fails(self, "ReceiveMessage", "{\"QueueUrl\":\"t.fifo\"}"));
	/* the next second */
	self->now += 1;
	EXPECT_EQ(300, calls(self, 300, "SendMessage",
			     "{\"QueueUrl\":\"t.fifo\",\"MessageBody\":\"n%d\",\"MessageGroupId\":"
			     "\"g\"}"));
	EXPECT_STREQ("ThrottlingException", fails(self, "SendMessage",
						  "{\"QueueUrl\":\"t.fifo\",\"MessageBody\":\"x\","
						  "\"MessageGroupId\":\"g\"}"));
	ASSERT_EQ(0, queue_txn_commit(self->st, &r));
	EXPECT_EQ(600, visible(self, "t.fifo"));
}

/* 3,000 messages per second with batching: 300 batches of 10. */
TEST_F(api, fifo_throughput_with_batches)
{
	char req[2048];
	struct strbuf b = STRBUF_INIT;
	struct queue_result r;
	int ok = 0;

	self->now = T0 - T0 % 1000;
	ASSERT_NE_NULL(call(self, "CreateQueue",
			    "{\"QueueName\":\"b.fifo\",\"Attributes\":{\"FifoQueue\":\"true\","
			    "\"ContentBasedDeduplication\":\"true\"}}"));
	ASSERT_EQ(0, queue_txn_begin(self->st, &r));
	for (int i = 0; i < 301; i++) {
		sb_reset(&b);
		sb_adds(&b, "{\"QueueUrl\":\"b.fifo\",\"Entries\":[");
		for (int e = 0; e < 10; e++)
			sb_printf(&b,
				  "%s{\"Id\":\"e%d\",\"MessageBody\":\"m%d-%d\",\"MessageGroupId\":"
				  "\"g%d\"}",
				  e ? "," : "", e, i, e, e);
		sb_adds(&b, "]}");
		snprintf(req, sizeof(req), "%s", b.buf);
		sb_reset(&self->resp);
		ok += !sqs_dispatch(&self->api, "SendMessageBatch", req, strlen(req), &self->resp,
				    &self->err);
	}
	sb_free(&b);
	EXPECT_EQ(300, ok);
	EXPECT_STREQ("ThrottlingException", self->err.code);
	ASSERT_EQ(0, queue_txn_commit(self->st, &r));
	EXPECT_EQ(3000, visible(self, "b.fifo"));
}

/* perMessageGroupId (high throughput): each group has the quota; receives are not per group. */
TEST_F(api, fifo_throughput_per_message_group)
{
	struct queue_result r;

	self->now = T0 - T0 % 1000;
	ASSERT_NE_NULL(call(self, "CreateQueue",
			    "{\"QueueName\":\"h.fifo\",\"Attributes\":{\"FifoQueue\":\"true\","
			    "\"ContentBasedDeduplication\":\"true\",\"DeduplicationScope\":"
			    "\"messageGroup\",\"FifoThroughputLimit\":\"perMessageGroupId\"}}"));
	ASSERT_EQ(0, queue_txn_begin(self->st, &r));
	EXPECT_EQ(300, calls(self, 300, "SendMessage", SEND_G("h.fifo", "g1")));
	EXPECT_EQ(0, calls(self, 1, "SendMessage", SEND_G("h.fifo", "g1")));
	EXPECT_STREQ("ThrottlingException", self->err.code);
	EXPECT_EQ(300, calls(self, 300, "SendMessage", SEND_G("h.fifo", "g2")));
	/* a batch with a group at its quota is refused as a whole */
	EXPECT_STREQ(
		"ThrottlingException",
		fails(self, "SendMessageBatch",
		      "{\"QueueUrl\":\"h.fifo\",\"Entries\":[{\"Id\":\"a\",\"MessageBody\":\"y\","
		      "\"MessageGroupId\":\"g3\"},{\"Id\":\"b\",\"MessageBody\":\"z\","
		      "\"MessageGroupId\":\"g1\"}]}"));
	EXPECT_EQ(400, calls(self, 400, "ReceiveMessage",
			     "{\"QueueUrl\":\"h.fifo\",\"VisibilityTimeout\":0}"));
	ASSERT_EQ(0, queue_txn_commit(self->st, &r));
	EXPECT_EQ(600, visible(self, "h.fifo"));
}

/* Standard queues have no such quota. */
TEST_F(api, standard_queues_are_not_throttled)
{
	struct queue_result r;

	self->now = T0 - T0 % 1000;
	ASSERT_NE_NULL(call(self, "CreateQueue", "{\"QueueName\":\"std\"}"));
	ASSERT_EQ(0, queue_txn_begin(self->st, &r));
	EXPECT_EQ(500, calls(self, 500, "SendMessage",
			     "{\"QueueUrl\":\"std\",\"MessageBody\":\"m%d\"}"));
	ASSERT_EQ(0, queue_txn_commit(self->st, &r));
}

TEST_F(api, add_and_remove_permission)
{
	const struct json_value *r;
	struct json_doc *pol;
	const struct json_value *st;

	CREATE("orders");
	ASSERT_NE_NULL(call(self, "AddPermission",
			    "{\"QueueUrl\":\"orders\",\"Label\":\"send1\",\"AWSAccountIds\":"
			    "[\"111122223333\"],\"Actions\":[\"SendMessage\"]}"));
	ASSERT_NE_NULL(call(self, "AddPermission",
			    "{\"QueueUrl\":\"orders\",\"Label\":\"both\",\"AWSAccountIds\":"
			    "[\"111122223333\",\"444455556666\"],\"Actions\":[\"ReceiveMessage\","
			    "\"DeleteMessage\"]}"));
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "AddPermission",
			   "{\"QueueUrl\":\"orders\",\"Label\":\"send1\",\"AWSAccountIds\":"
			   "[\"111122223333\"],\"Actions\":[\"SendMessage\"]}"));
	EXPECT_STREQ("Value send1 for parameter Label is invalid. Reason: Already exists.",
		     self->err.message);
	EXPECT_STREQ("InvalidParameterValue",
		     fails(self, "AddPermission",
			   "{\"QueueUrl\":\"orders\",\"Label\":\"x\",\"AWSAccountIds\":"
			   "[\"111122223333\"],\"Actions\":[\"CreateQueue\"]}"));
	EXPECT_STREQ(
		"MissingParameter",
		fails(self, "AddPermission",
		      "{\"QueueUrl\":\"orders\",\"Label\":\"x\",\"Actions\":[\"SendMessage\"]}"));
	r = call(self, "GetQueueAttributes",
		 "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"Policy\"]}");
	const char *text = str(json_get(r, "Attributes"), "Policy");

	pol = json_parse(text, strlen(text), true);
	ASSERT_NULL(json_doc_error(pol));
	EXPECT_STREQ("2012-10-17", str(json_doc_root(pol), "Version"));
	EXPECT_STREQ("arn:aws:sqs:eu-west-1:123456789012:orders/SQSDefaultPolicy",
		     str(json_doc_root(pol), "Id"));
	ASSERT_EQ(2, count(json_doc_root(pol), "Statement"));
	st = item(json_doc_root(pol), "Statement", 0);
	EXPECT_STREQ("send1", str(st, "Sid"));
	EXPECT_STREQ("Allow", str(st, "Effect"));
	EXPECT_STREQ("SQS:SendMessage", str(st, "Action"));
	EXPECT_STREQ("arn:aws:iam::111122223333:root", str(json_get(st, "Principal"), "AWS"));
	EXPECT_STREQ("arn:aws:sqs:eu-west-1:123456789012:orders", str(st, "Resource"));
	st = item(json_doc_root(pol), "Statement", 1);
	EXPECT_EQ(2, count(st, "Action"));
	EXPECT_EQ(2, count(json_get(st, "Principal"), "AWS"));
	json_doc_free(pol);

	ASSERT_NE_NULL(
		call(self, "RemovePermission", "{\"QueueUrl\":\"orders\",\"Label\":\"send1\"}"));
	EXPECT_STREQ(
		"InvalidParameterValue",
		fails(self, "RemovePermission", "{\"QueueUrl\":\"orders\",\"Label\":\"send1\"}"));
	ASSERT_NE_NULL(
		call(self, "RemovePermission", "{\"QueueUrl\":\"orders\",\"Label\":\"both\"}"));
	/* The last statement gone, the queue has no policy. */
	r = call(self, "GetQueueAttributes",
		 "{\"QueueUrl\":\"orders\",\"AttributeNames\":[\"All\"]}");
	EXPECT_NULL(json_get(json_get(r, "Attributes"), "Policy"));
}

TEST_F(api, list_queues_pages)
{
	const struct json_value *r;
	char req[256];
	const char *names[] = { "a1", "a2", "a3", "a4", "a5" };

	for (size_t i = 0; i < 5; i++) {
		snprintf(req, sizeof(req), "{\"QueueName\":\"%s\"}", names[i]);
		ASSERT_NE_NULL(call(self, "CreateQueue", req));
	}
	r = call(self, "ListQueues", "{\"MaxResults\":2}");
	ASSERT_EQ(2, count(r, "QueueUrls"));
	EXPECT_STREQ(URL "a2", item(r, "QueueUrls", 1)->u.str.s);
	ASSERT_NE(0, strlen(str(r, "NextToken")));
	snprintf(req, sizeof(req), "{\"MaxResults\":2,\"NextToken\":\"%s\"}", str(r, "NextToken"));
	r = call(self, "ListQueues", req);
	ASSERT_EQ(2, count(r, "QueueUrls"));
	EXPECT_STREQ(URL "a3", item(r, "QueueUrls", 0)->u.str.s);
	snprintf(req, sizeof(req), "{\"MaxResults\":\"2\",\"NextToken\":\"%s\"}",
		 str(r, "NextToken"));
	r = call(self, "ListQueues", req);
	ASSERT_EQ(1, count(r, "QueueUrls"));
	EXPECT_STREQ(URL "a5", item(r, "QueueUrls", 0)->u.str.s);
	EXPECT_NULL(json_get(r, "NextToken"));
	EXPECT_STREQ("InvalidParameterValue", fails(self, "ListQueues", "{\"MaxResults\":1001}"));
	EXPECT_STREQ("InvalidParameterValue", fails(self, "ListQueues", "{\"NextToken\":\"%%\"}"));
}

TEST_F(api, long_poll_decision)
{
	struct sqs_poll poll = { 0 };
	const char *req = "{\"QueueUrl\":\"orders\",\"WaitTimeSeconds\":5}";

	CREATE("orders");
	sb_reset(&self->resp);
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_TRUE(poll.wait);
	EXPECT_EQ(5, poll.wait_seconds);
	EXPECT_EQ(0, poll.next_visible_ms);
	EXPECT_STREQ("orders", poll.queue);
	EXPECT_EQ(0, self->resp.len);
	/* Once the wait is over the call answers, empty. */
	poll.no_wait = true;
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_FALSE(poll.wait);
	EXPECT_STREQ("{}", self->resp.buf);
	/* The queue's ReceiveMessageWaitTimeSeconds applies when the request has none. */
	call(self, "SetQueueAttributes",
	     "{\"QueueUrl\":\"orders\",\"Attributes\":{\"ReceiveMessageWaitTimeSeconds\":\"3\"}}");
	poll.no_wait = false;
	sb_reset(&self->resp);
	req = "{\"QueueUrl\":\"orders\"}";
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_TRUE(poll.wait);
	EXPECT_EQ(3, poll.wait_seconds);
	/* WaitTimeSeconds 0 overrides the queue's wait. */
	req = "{\"QueueUrl\":\"orders\",\"WaitTimeSeconds\":0}";
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_FALSE(poll.wait);
	/* A message that is only delayed tells the waiter when to look again. */
	call(self, "SendMessage",
	     "{\"QueueUrl\":\"orders\",\"MessageBody\":\"m\",\"DelaySeconds\":2}");
	req = "{\"QueueUrl\":\"orders\",\"WaitTimeSeconds\":5}";
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_TRUE(poll.wait);
	EXPECT_EQ(T0 + 2000, poll.next_visible_ms);
	self->now += 2000;
	sb_reset(&self->resp);
	ASSERT_EQ(0, sqs_dispatch_poll(&self->api, "ReceiveMessage", req, strlen(req), &poll,
				       &self->resp, &self->err));
	EXPECT_FALSE(poll.wait);
	EXPECT_NE_NULL(strstr(self->resp.buf, "\"Body\":\"m\""));
}

TEST_F(api, config_defaults)
{
	struct sqs_api a;
	char url[256];

	ASSERT_EQ(0, sqs_api_init(&a, self->st, NULL));
	sqs_queue_url(&a, "q", url, sizeof(url));
	EXPECT_STREQ("https://sqs.us-east-1.amazonaws.com/000000000000/q", url);
	EXPECT_TRUE(sqs_api_has_action("SendMessage"));
	EXPECT_FALSE(sqs_api_has_action("Publish"));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Publishing: fan-out to queues filtered per subscription in both scopes,
 * SNS's envelope (fields, signature) and raw delivery (SQS attributes),
 * MessageStructure, FIFO order, deduplication inside and after the window,
 * PublishBatch with partial failures, dead-letter queues, counters, the
 * outbox, group commit, and every message validation error.
 */
#include "../harness.h"
#include "json.h"
#include "topic_test.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdlib.h>

/* A JSON string field of @doc's root object (copied into @out). */
static const char *jfield(const char *doc, const char *name, char *out, size_t cap)
{
	struct json_doc *d = json_parse(doc, strlen(doc), true);
	const struct json_value *v = json_get(json_doc_root(d), name);

	if (!v || v->type != JSON_STRING) {
		json_doc_free(d);
		return NULL;
	}
	snprintf(out, cap, "%.*s", (int)v->u.str.len, v->u.str.s);
	json_doc_free(d);
	return out;
}

static const struct queue_msg_attr color_red[] = {
	{ "color", "String", "red", 3 },
	{ "size", "Number", "12", 2 },
};
static const struct queue_msg_attr color_blue[] = { { "color", "String", "blue", 4 } };

TEST_F(t, fan_out_filters_each_subscription)
{
	static const struct queue_kv red[] = { { "FilterPolicy", "{\"color\":[\"red\"]}" } };
	static const struct queue_kv big[] = {
		{ "FilterPolicy", "{\"size\":[{\"numeric\":[\">\",10]}]}" },
	};
	static const struct queue_kv body_scope[] = {
		{ "FilterPolicy", "{\"order\":{\"kind\":[\"book\"]}}" },
		{ "FilterPolicyScope", "MessageBody" },
	};
	struct topic_sub_counters c;
	struct queue_received r;
	const char *s_red, *s_big, *s_body, *s_all;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "red", NULL, 0);
	tt_queue(self, "big", NULL, 0);
	tt_queue(self, "books", NULL, 0);
	tt_queue(self, "all", NULL, 0);
	s_red = tt_sub(self, ARN("t"), "sqs", QARN("red"), red, 1);
	s_big = tt_sub(self, ARN("t"), "sqs", QARN("big"), big, 1);
	s_body = tt_sub(self, ARN("t"), "sqs", QARN("books"), body_scope, 2);
	s_all = tt_sub(self, ARN("t"), "sqs", QARN("all"), NULL, 0);

	tt_publish(self, ARN("t"), "{\"order\":{\"kind\":\"book\"}}", color_red, 2);
	tt_publish(self, ARN("t"), "{\"order\":{\"kind\":\"pen\"}}", color_blue, 1);
	tt_publish(self, ARN("t"), "not json", NULL, 0);

	tt_recv(self, "red", &r);
	EXPECT_EQ(1, r.n);
	queue_received_free(&r);
	tt_recv(self, "big", &r);
	EXPECT_EQ(1, r.n);
	queue_received_free(&r);
	tt_recv(self, "books", &r);
	EXPECT_EQ(1, r.n);
	queue_received_free(&r);
	tt_recv(self, "all", &r);
	EXPECT_EQ(3, r.n);
	queue_received_free(&r);

	TOK(topic_sub_counters(self->ts, s_red, &c, &self->res));
	EXPECT_EQ(1, c.delivered);
	EXPECT_EQ(2, c.filtered);
	TOK(topic_sub_counters(self->ts, s_body, &c, &self->res));
	EXPECT_EQ(1, c.delivered);
	EXPECT_EQ(2, c.filtered);
	TOK(topic_sub_counters(self->ts, s_big, &c, &self->res));
	EXPECT_EQ(1, c.delivered);
	TOK(topic_sub_counters(self->ts, s_all, &c, &self->res));
	EXPECT_EQ(3, c.delivered);
	EXPECT_EQ(0, c.filtered);
	EXPECT_EQ(0, c.failed);
}

/* Verify the envelope's signature with the store's certificate, as a subscriber would. */
static bool signature_ok(const char *cert_pem, const char *env, bool with_subject)
{
	char msg[512], id[64], ts[64], arn[256], type[64], subject[128], sig[1024];
	unsigned char raw[1024];
	char text[2048];
	BIO *b = BIO_new_mem_buf(cert_pem, -1);
	X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	EVP_PKEY *key = x ? X509_get_pubkey(x) : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int len, ok;

	jfield(env, "Message", msg, sizeof(msg));
	jfield(env, "MessageId", id, sizeof(id));
	jfield(env, "Timestamp", ts, sizeof(ts));
	jfield(env, "TopicArn", arn, sizeof(arn));
	jfield(env, "Type", type, sizeof(type));
	jfield(env, "Signature", sig, sizeof(sig));
	if (with_subject) {
		jfield(env, "Subject", subject, sizeof(subject));
		snprintf(text, sizeof(text),
			 "Message\n%s\nMessageId\n%s\nSubject\n%s\nTimestamp\n%s\nTopicArn\n%s\n"
			 "Type\n%s\n",
			 msg, id, subject, ts, arn, type);
	} else {
		snprintf(text, sizeof(text),
			 "Message\n%s\nMessageId\n%s\nTimestamp\n%s\nTopicArn\n%s\nType\n%s\n", msg,
			 id, ts, arn, type);
	}
	len = EVP_DecodeBlock(raw, (unsigned char *)sig, (int)strlen(sig));
	while (len > 0 && sig[strlen(sig) - 1] == '=' && raw[len - 1] == 0) {
		len--; /* EVP_DecodeBlock counts padding as zero bytes */
		sig[strlen(sig) - 1] = '\0';
	}
	ok = key && EVP_DigestVerifyInit(ctx, NULL, EVP_sha1(), NULL, key) == 1 &&
	     EVP_DigestVerify(ctx, raw, (size_t)len, (unsigned char *)text, strlen(text)) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	X509_free(x);
	BIO_free(b);
	return ok;
}

TEST_F(t, envelope_and_raw_delivery)
{
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	static const uint8_t bin[] = { 0, 1, 2, 0xff };
	const struct queue_msg_attr attrs[] = {
		{ "color", "String", "red", 3 },
		{ "n", "Number", "1.5", 3 },
		{ "tags", "String.Array", "[\"a\",1]", 7 },
		{ "blob", "Binary", bin, 4 },
	};
	struct topic_publish_entry e = {
		.message = "hello \"world\"", .subject = "Greetings", .attrs = attrs, .nattrs = 4
	};
	struct topic_publish_result pr;
	struct queue_received r;
	char buf[600];
	const char *env_sub;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "env", NULL, 0);
	tt_queue(self, "raw", NULL, 0);
	env_sub = tt_sub(self, ARN("t"), "sqs", QARN("env"), NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("raw"), raw, 1);
	self->now = T0 + 123;
	TOK(topic_publish(self->ts, ARN("t"), &e, &pr, &self->res));
	EXPECT_EQ(36, strlen(pr.message_id));
	EXPECT_STREQ("", pr.sequence_number);

	tt_recv(self, "env", &r);
	ASSERT_EQ(1, r.n);
	const char *env = r.msgs[0].body;

	EXPECT_EQ(0, r.msgs[0].nattrs);
	EXPECT_STREQ("Notification", jfield(env, "Type", buf, sizeof(buf)));
	EXPECT_STREQ(pr.message_id, jfield(env, "MessageId", buf, sizeof(buf)));
	EXPECT_STREQ(ARN("t"), jfield(env, "TopicArn", buf, sizeof(buf)));
	EXPECT_STREQ("Greetings", jfield(env, "Subject", buf, sizeof(buf)));
	EXPECT_STREQ("hello \"world\"", jfield(env, "Message", buf, sizeof(buf)));
	EXPECT_STREQ("2023-11-14T22:13:20.123Z", jfield(env, "Timestamp", buf, sizeof(buf)));
	EXPECT_STREQ("1", jfield(env, "SignatureVersion", buf, sizeof(buf)));
	EXPECT_STREQ("http://127.0.0.1:9911/SimpleNotificationService-bpfbus.pem",
		     jfield(env, "SigningCertURL", buf, sizeof(buf)));
	jfield(env, "UnsubscribeURL", buf, sizeof(buf));
	EXPECT_EQ(0,
		  strncmp(buf, "http://127.0.0.1:9911/?Action=Unsubscribe&SubscriptionArn=arn%3A",
			  60));
	EXPECT_NE_NULL(strstr(buf, strrchr(env_sub, ':') + 1));
	EXPECT_NULL(jfield(env, "SequenceNumber", buf, sizeof(buf)));
	EXPECT_NE_NULL(strstr(env,
			      "\"MessageAttributes\":{"
			      "\"color\":{\"Type\":\"String\",\"Value\":\"red\"},"
			      "\"n\":{\"Type\":\"Number\",\"Value\":\"1.5\"},"
			      "\"tags\":{\"Type\":\"String.Array\",\"Value\":\"[\\\"a\\\",1]\"},"
			      "\"blob\":{\"Type\":\"Binary\",\"Value\":\"AAEC/w==\"}}"));
	EXPECT_TRUE(signature_ok(topic_store_signing_cert(self->ts), env, true));
	queue_received_free(&r);

	tt_recv(self, "raw", &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("hello \"world\"", r.msgs[0].body);
	ASSERT_EQ(4, r.msgs[0].nattrs);
	/* Sorted by name. */
	EXPECT_STREQ("blob", r.msgs[0].attrs[0].name);
	EXPECT_STREQ("Binary", r.msgs[0].attrs[0].type);
	EXPECT_EQ(4, r.msgs[0].attrs[0].len);
	EXPECT_EQ(0, memcmp(bin, r.msgs[0].attrs[0].value, 4));
	EXPECT_STREQ("color", r.msgs[0].attrs[1].name);
	EXPECT_STREQ("String", r.msgs[0].attrs[1].type);
	EXPECT_STREQ("n", r.msgs[0].attrs[2].name);
	EXPECT_STREQ("Number", r.msgs[0].attrs[2].type);
	EXPECT_STREQ("tags", r.msgs[0].attrs[3].name);
	EXPECT_STREQ("String.Array", r.msgs[0].attrs[3].type);
	EXPECT_EQ(0, memcmp("[\"a\",1]", r.msgs[0].attrs[3].value, 7));
	queue_received_free(&r);
}

TEST_F(t, signature_version_2_and_no_subject)
{
	static const struct queue_kv v2[] = { { "SignatureVersion", "2" } };
	struct queue_received r;
	char buf[64];

	tt_topic(self, "t", v2, 1);
	tt_queue(self, "q", NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("q"), NULL, 0);
	tt_publish(self, ARN("t"), "m", NULL, 0);
	tt_recv(self, "q", &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("2", jfield(r.msgs[0].body, "SignatureVersion", buf, sizeof(buf)));
	EXPECT_NULL(jfield(r.msgs[0].body, "Subject", buf, sizeof(buf)));
	EXPECT_NULL(strstr(r.msgs[0].body, "MessageAttributes"));
	/* Signed with SHA256: the SHA1 check must fail. */
	EXPECT_FALSE(signature_ok(topic_store_signing_cert(self->ts), r.msgs[0].body, false));
	queue_received_free(&r);
}

TEST_F(t, message_structure_json)
{
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	struct topic_publish_entry e = { .message = "{\"default\":\"dflt\",\"sqs\":\"for queues\"}",
					 .message_structure = "json" };
	struct topic_publish_result pr;
	struct topic_outbox_list ob;
	struct queue_received r;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("q"), raw, 1);
	tt_sub(self, ARN("t"), "udp", "127.0.0.1:9000", raw, 1);
	TOK(topic_publish(self->ts, ARN("t"), &e, &pr, &self->res));
	tt_recv(self, "q", &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("for queues", r.msgs[0].body);
	queue_received_free(&r);
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(1, ob.n);
	EXPECT_STREQ("dflt", ob.v[0].body);
	EXPECT_STREQ("udp", ob.v[0].protocol);
	EXPECT_TRUE(ob.v[0].raw);
	EXPECT_STREQ(pr.message_id, ob.v[0].message_id);
	topic_outbox_list_free(&ob);

	e.message = "{\"sqs\":\"x\"}";
	TERR(TE_INVALID_PARAMETER, "No default entry in JSON message body",
	     topic_publish(self->ts, ARN("t"), &e, &pr, &self->res));
	e.message = "{nope";
	TERR(TE_INVALID_PARAMETER, "JSON message body failed to parse",
	     topic_publish(self->ts, ARN("t"), &e, &pr, &self->res));
	e.message_structure = "xml";
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: MessageStructure",
	     topic_publish(self->ts, ARN("t"), &e, &pr, &self->res));
}

TEST_F(t, fifo_order_and_dedup_into_two_queues)
{
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" },
						{ "ContentBasedDeduplication", "true" } };
	static const struct queue_kv fifoq[] = { { "FifoQueue", "true" } };
	struct topic_publish_entry e = { .group_id = "g1" };
	struct topic_publish_result first, pr;
	struct queue_received r;
	char body[32], prev_seq[21] = "";

	tt_topic(self, "t.fifo", fifo, 2);
	tt_queue(self, "a.fifo", fifoq, 1);
	tt_queue(self, "b.fifo", fifoq, 1);
	tt_sub(self, ARN("t.fifo"), "sqs", QARN("a.fifo"), NULL, 0);
	tt_sub(self, ARN("t.fifo"), "sqs", QARN("b.fifo"), NULL, 0);
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		e.message = body;
		TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &pr, &self->res));
		EXPECT_EQ(20, strlen(pr.sequence_number));
		EXPECT_LT(0, strcmp(pr.sequence_number, prev_seq));
		memcpy(prev_seq, pr.sequence_number, sizeof(prev_seq));
		if (i == 0)
			first = pr;
	}
	/* Same content within 5 minutes: the original's id and sequence, nothing delivered. */
	self->now += 4 * 60 * 1000;
	e.message = "m0";
	TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &pr, &self->res));
	EXPECT_STREQ(first.message_id, pr.message_id);
	EXPECT_STREQ(first.sequence_number, pr.sequence_number);
	/* An explicit id dedups too. */
	e.dedup_id = "d1";
	e.message = "x1";
	TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &first, &self->res));
	e.message = "x2";
	TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &pr, &self->res));
	EXPECT_STREQ(first.message_id, pr.message_id);

	for (int q = 0; q < 2; q++) {
		const char *queue = q ? "b.fifo" : "a.fifo";
		char want[16], got[64];

		tt_recv(self, queue, &r);
		ASSERT_EQ(6, r.n);
		for (int i = 0; i < 6; i++) {
			snprintf(want, sizeof(want), i < 5 ? "m%d" : "x1", i);
			EXPECT_STREQ(want, jfield(r.msgs[i].body, "Message", got, sizeof(got)));
			EXPECT_STREQ("g1", r.msgs[i].group_id);
			EXPECT_NE_NULL(jfield(r.msgs[i].body, "SequenceNumber", got, sizeof(got)));
		}
		queue_received_free(&r);
	}
	/* After the window the same content is a new message (the queues' own window too). */
	self->now += 6 * 60 * 1000;
	e.dedup_id = NULL;
	e.message = "m0";
	TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &pr, &self->res));
	EXPECT_STRNE(first.message_id, pr.message_id);
	EXPECT_LT(0, strcmp(pr.sequence_number, prev_seq));
	EXPECT_LE(1, topic_store_sweep(self->ts, &self->res));
}

TEST_F(t, fifo_groups_keep_their_order)
{
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" } };
	static const struct queue_kv fifoq[] = { { "FifoQueue", "true" } };
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	struct topic_publish_entry e = { 0 };
	struct topic_publish_result pr;
	struct queue_received r;
	char body[32], dedup[32], group[8];
	int next[4] = { 0 };

	tt_topic(self, "t.fifo", fifo, 1);
	tt_queue(self, "q.fifo", fifoq, 1);
	tt_sub(self, ARN("t.fifo"), "sqs", QARN("q.fifo"), raw, 1);
	for (int i = 0; i < 40; i++) {
		snprintf(group, sizeof(group), "g%d", i % 4);
		snprintf(body, sizeof(body), "%d:%d", i % 4, i / 4);
		snprintf(dedup, sizeof(dedup), "d%d", i);
		e = (struct topic_publish_entry){ .message = body,
						  .group_id = group,
						  .dedup_id = dedup };
		TOK(topic_publish(self->ts, ARN("t.fifo"), &e, &pr, &self->res));
	}
	/* Receive and delete until empty; within each group the order is the publish order. */
	for (int round = 0; round < 20; round++) {
		tt_recv(self, "q.fifo", &r);
		if (!r.n) {
			queue_received_free(&r);
			break;
		}
		for (size_t i = 0; i < r.n; i++) {
			int g, k;

			ASSERT_EQ(2, sscanf(r.msgs[i].body, "%d:%d", &g, &k));
			EXPECT_EQ(next[g], k);
			next[g] = k + 1;
			ASSERT_EQ(0, queue_delete_message(self->qs, "q.fifo",
							  r.msgs[i].receipt_handle, &self->qres));
		}
		queue_received_free(&r);
	}
	for (int g = 0; g < 4; g++)
		EXPECT_EQ(10, next[g]);
}

TEST_F(t, publish_batch_partial_failure)
{
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	const struct queue_msg_attr bad_attr[] = { { "n", "Number", "abc", 3 } };
	struct topic_publish_entry e[4] = {
		{ .id = "a", .message = "one" },
		{ .id = "b", .message = "" },
		{ .id = "c", .message = "three", .attrs = bad_attr, .nattrs = 1 },
		{ .id = "d", .message = "four" },
	};
	struct topic_publish_result out[11];
	struct topic_publish_entry many[11];
	struct queue_received r;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("q"), raw, 1);
	TOK(topic_publish_batch(self->ts, ARN("t"), e, 4, out, &self->res));
	EXPECT_EQ(TE_OK, out[0].err.code);
	EXPECT_EQ(36, strlen(out[0].message_id));
	EXPECT_EQ(TE_INVALID_PARAMETER, out[1].err.code);
	EXPECT_STREQ("Invalid parameter: Empty message", out[1].err.message);
	EXPECT_EQ(TE_INVALID_PARAMETER_VALUE, out[2].err.code);
	EXPECT_STREQ("Could not cast message attribute 'n' value to number.", out[2].err.message);
	EXPECT_EQ(TE_OK, out[3].err.code);
	tt_recv(self, "q", &r);
	ASSERT_EQ(2, r.n);
	EXPECT_STREQ("one", r.msgs[0].body);
	EXPECT_STREQ("four", r.msgs[1].body);
	queue_received_free(&r);

	TERR(TE_EMPTY_BATCH_REQUEST, "doesn't contain any entries",
	     topic_publish_batch(self->ts, ARN("t"), e, 0, out, &self->res));
	for (int i = 0; i < 11; i++)
		many[i] = (struct topic_publish_entry){ .id = "x", .message = "m" };
	TERR(TE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST, "more entries than permissible",
	     topic_publish_batch(self->ts, ARN("t"), many, 11, out, &self->res));
	TERR(TE_BATCH_ENTRY_IDS_NOT_DISTINCT, "Id x repeated",
	     topic_publish_batch(self->ts, ARN("t"), many, 2, out, &self->res));
	many[0].id = "bad id!";
	TERR(TE_INVALID_BATCH_ENTRY_ID, "batch entry id",
	     topic_publish_batch(self->ts, ARN("t"), many, 1, out, &self->res));
	TERR(TE_NOT_FOUND, "Topic does not exist",
	     topic_publish_batch(self->ts, ARN("none"), e, 1, out, &self->res));
	char *huge = malloc(200000);

	memset(huge, 'a', 199999);
	huge[199999] = '\0';
	many[0] = (struct topic_publish_entry){ .id = "a", .message = huge };
	many[1] = (struct topic_publish_entry){ .id = "b", .message = huge };
	TERR(TE_BATCH_REQUEST_TOO_LONG, "more than the limit",
	     topic_publish_batch(self->ts, ARN("t"), many, 2, out, &self->res));
	free(huge);
}

TEST_F(t, failed_delivery_goes_to_the_dead_letter_queue)
{
	static const struct queue_kv redrive[] = {
		{ "RedrivePolicy", "{\"deadLetterTargetArn\":\"" QARN("dlq") "\"}" },
	};
	struct topic_sub_counters c;
	struct queue_received r;
	struct topic_outbox_list ob;
	const char *s1, *s2, *s3;
	char buf[64];

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "gone", NULL, 0);
	tt_queue(self, "also-gone", NULL, 0);
	tt_queue(self, "dlq", NULL, 0);
	s1 = tt_sub(self, ARN("t"), "sqs", QARN("gone"), redrive, 1);
	s2 = tt_sub(self, ARN("t"), "sqs", QARN("also-gone"), NULL, 0);
	s3 = tt_sub(self, ARN("t"), "http", "http://127.0.0.1:1/x", redrive, 1);
	ASSERT_EQ(0, queue_delete(self->qs, "gone", &self->qres));
	ASSERT_EQ(0, queue_delete(self->qs, "also-gone", &self->qres));
	tt_publish(self, ARN("t"), "lost?", NULL, 0);
	tt_recv(self, "dlq", &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("lost?", jfield(r.msgs[0].body, "Message", buf, sizeof(buf)));
	queue_received_free(&r);
	TOK(topic_sub_counters(self->ts, s1, &c, &self->res));
	EXPECT_EQ(0, c.delivered);
	EXPECT_EQ(1, c.dead_lettered);
	TOK(topic_sub_counters(self->ts, s2, &c, &self->res));
	EXPECT_EQ(1, c.failed);
	/* The http subscription is still pending: nothing was sent to it. */
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(1, ob.n);
	EXPECT_STREQ("SubscriptionConfirmation", ob.v[0].type);
	topic_outbox_list_free(&ob);
	(void)s3;
}

TEST_F(t, outbox_failure_redrives_and_counts)
{
	static const struct queue_kv redrive[] = {
		{ "RedrivePolicy", "{\"deadLetterTargetArn\":\"" QARN("dlq") "\"}" },
		{ "RawMessageDelivery", "true" },
	};
	struct topic_sub_counters c;
	struct topic_outbox_list ob;
	struct queue_received r;
	const char *s;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "dlq", NULL, 0);
	s = tt_sub(self, ARN("t"), "udp", "127.0.0.1:9", redrive, 2);
	tt_publish(self, ARN("t"), "one", NULL, 0);
	tt_publish(self, ARN("t"), "two", NULL, 0);
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(2, ob.n);
	EXPECT_LT(ob.v[0].seq, ob.v[1].seq);
	EXPECT_STREQ("one", ob.v[0].body);
	EXPECT_STREQ("Notification", ob.v[0].type);
	EXPECT_STREQ(s, ob.v[0].sub_arn);
	TOK(topic_outbox_done(self->ts, ob.v[0].seq, true, &self->res));
	TOK(topic_outbox_done(self->ts, ob.v[1].seq, false, &self->res));
	TERR(TE_NOT_FOUND, "Outbox item does not exist",
	     topic_outbox_done(self->ts, ob.v[1].seq, false, &self->res));
	topic_outbox_list_free(&ob);
	TOK(topic_sub_counters(self->ts, s, &c, &self->res));
	EXPECT_EQ(1, c.delivered);
	EXPECT_EQ(1, c.dead_lettered);
	tt_recv(self, "dlq", &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("two", r.msgs[0].body);
	queue_received_free(&r);
}

/*
 * A retried item keeps its attempt count and next due time across a reopen
 * (a daemon restart), and a raw udp delivery keeps the message attributes.
 */
TEST_F(t, outbox_retry_state_and_raw_udp_attributes)
{
	static const struct queue_kv raw[] = { { "RawMessageDelivery", "true" } };
	static const struct queue_msg_attr attrs[] = {
		{ .name = "store", .type = "String", .value = "shop", .len = 4 },
		{ .name = "bin", .type = "Binary", .value = "\x00\xff", .len = 2 },
	};
	struct topic_publish_entry e = { .message = "m", .attrs = attrs, .nattrs = 2 };
	struct topic_publish_result out;
	struct topic_outbox_list ob;
	size_t r; /* the raw one's index (items follow the subscriptions' order) */

	tt_topic(self, "t", NULL, 0);
	tt_sub(self, ARN("t"), "udp", "127.0.0.1:9", raw, 1);
	tt_sub(self, ARN("t"), "udp", "127.0.0.1:10", NULL, 0);
	TOK(topic_publish(self->ts, ARN("t"), &e, &out, &self->res));
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(2, ob.n);
	for (size_t i = 0; i < ob.n; i++) {
		bool is_raw = !strcmp(ob.v[i].endpoint, "127.0.0.1:9");

		EXPECT_EQ(is_raw, ob.v[i].raw);
		/* enveloped: the attributes are in the envelope, not beside it */
		EXPECT_STREQ(is_raw ? "{\"store\":{\"Type\":\"String\",\"Value\":\"shop\"},"
				      "\"bin\":{\"Type\":\"Binary\",\"Value\":\"AP8=\"}}"
				    : "",
			     ob.v[i].attrs);
		EXPECT_EQ(0, ob.v[i].attempts);
		EXPECT_EQ(0, ob.v[i].due_ms);
	}
	r = ob.v[0].raw ? 0 : 1;
	TOK(topic_outbox_retry(self->ts, ob.v[r].seq, 3, T0 + 20000, &self->res));
	TERR(TE_NOT_FOUND, "Outbox item does not exist",
	     topic_outbox_retry(self->ts, ob.v[1].seq + 100, 1, T0, &self->res));
	uint64_t seq = ob.v[r].seq;

	topic_outbox_list_free(&ob);
	tt_close(self);
	tt_open(self);
	TOK(topic_outbox_peek(self->ts, 0, 10, &ob, &self->res));
	ASSERT_EQ(2, ob.n);
	EXPECT_EQ(seq, ob.v[r].seq);
	EXPECT_EQ(3, ob.v[r].attempts);
	EXPECT_EQ(T0 + 20000, ob.v[r].due_ms);
	EXPECT_STREQ("m", ob.v[r].body);
	EXPECT_EQ(0, ob.v[1 - r].attempts);
	topic_outbox_list_free(&ob);
}

TEST_F(t, publish_inside_a_group_is_durable_only_at_commit)
{
	struct queue_received r;

	tt_topic(self, "t", NULL, 0);
	tt_queue(self, "q", NULL, 0);
	tt_sub(self, ARN("t"), "sqs", QARN("q"), NULL, 0);
	ASSERT_EQ(0, queue_txn_begin(self->qs, &self->qres));
	tt_publish(self, ARN("t"), "a", NULL, 0);
	tt_publish(self, ARN("t"), "b", NULL, 0);
	queue_txn_abort(self->qs);
	tt_recv(self, "q", &r);
	EXPECT_EQ(0, r.n);
	queue_received_free(&r);
	ASSERT_EQ(0, queue_txn_begin(self->qs, &self->qres));
	tt_publish(self, ARN("t"), "c", NULL, 0);
	ASSERT_EQ(0, queue_txn_commit(self->qs, &self->qres));
	tt_close(self);
	tt_open(self);
	tt_recv(self, "q", &r);
	ASSERT_EQ(1, r.n);
	queue_received_free(&r);
}

TEST_F(t, message_validation_errors)
{
	static const struct queue_kv fifo[] = { { "FifoTopic", "true" } };
	struct topic_publish_entry e = { .message = "m" };
	struct topic_publish_result pr;
	char subject[120], *big;

	tt_topic(self, "t", NULL, 0);
	tt_topic(self, "f.fifo", fifo, 1);
#define PUB(arn) topic_publish(self->ts, arn, &e, &pr, &self->res)
#define ATTR(n, t, v)                                                                     \
	do {                                                                              \
		static const struct queue_msg_attr a_[] = { { n, t, v, sizeof(v) - 1 } }; \
		e.attrs = a_;                                                             \
		e.nattrs = 1;                                                             \
	} while (0)
	TERR(TE_NOT_FOUND, "Topic does not exist", PUB(ARN("nope")));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: TopicArn", PUB("arn:aws:sns:x"));
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: TopicArn", PUB(NULL));
	e.message = NULL;
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Empty message", PUB(ARN("t")));
	e.message = "bad \x01 char";
	TERR(TE_INVALID_PARAMETER, "Message contains characters", PUB(ARN("t")));
	e.message = "m";
	e.subject = "";
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Subject", PUB(ARN("t")));
	e.subject = "line\nbreak";
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Subject", PUB(ARN("t")));
	memset(subject, 'S', 101);
	subject[101] = '\0';
	e.subject = subject;
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Subject", PUB(ARN("t")));
	subject[100] = '\0';
	TOK(PUB(ARN("t")));
	e.subject = NULL;

	ATTR("AWS.x", "String", "v");
	TERR(TE_INVALID_PARAMETER_VALUE, "Message attribute name 'AWS.x' is invalid",
	     PUB(ARN("t")));
	ATTR("a..b", "String", "v");
	TERR(TE_INVALID_PARAMETER_VALUE, "Message attribute name 'a..b' is invalid", PUB(ARN("t")));
	ATTR("a", "Strin", "v");
	TERR(TE_INVALID_PARAMETER_VALUE, "invalid message attribute type", PUB(ARN("t")));
	ATTR("a", "Binary.", "v");
	TERR(TE_INVALID_PARAMETER_VALUE, "invalid message attribute type", PUB(ARN("t")));
	ATTR("a", "String", "");
	TERR(TE_INVALID_PARAMETER_VALUE,
	     "The message attribute 'a' must contain non-empty message attribute value for "
	     "message attribute type 'String'.",
	     PUB(ARN("t")));
	ATTR("a", "Number", "1e");
	TERR(TE_INVALID_PARAMETER_VALUE, "Could not cast message attribute 'a' value to number.",
	     PUB(ARN("t")));
	ATTR("a", "String.Array", "[1,[2]]");
	TERR(TE_INVALID_PARAMETER_VALUE, "must contain a JSON array", PUB(ARN("t")));
	ATTR("a", "String.Array", "{}");
	TERR(TE_INVALID_PARAMETER_VALUE, "must contain a JSON array", PUB(ARN("t")));
	ATTR("a", "Number.float", "-1.5e3");
	TOK(PUB(ARN("t")));
	ATTR("a", "String.Array", "[\"x\",1,true,null]");
	TOK(PUB(ARN("t")));
	e.attrs = NULL;
	e.nattrs = 0;

	big = malloc(262144 + 2);
	memset(big, 'a', 262144 + 1);
	big[262144 + 1] = '\0';
	e.message = big;
	TERR(TE_INVALID_PARAMETER, "Invalid parameter: Message too long", PUB(ARN("t")));
	big[262144] = '\0';
	TOK(PUB(ARN("t")));
	free(big);
	e.message = "m";

	TERR(TE_INVALID_PARAMETER, "The MessageGroupId parameter is required for FIFO topics",
	     PUB(ARN("f.fifo")));
	e.group_id = "g";
	TERR(TE_INVALID_PARAMETER,
	     "either have ContentBasedDeduplication enabled or MessageDeduplicationId",
	     PUB(ARN("f.fifo")));
	e.dedup_id = "d";
	TOK(PUB(ARN("f.fifo")));
	TERR(TE_INVALID_PARAMETER,
	     "MessageDeduplicationId parameter that is not valid for this "
	     "topic type",
	     PUB(ARN("t")));
	e.dedup_id = NULL;
	e.group_id = "bad group \x7f";
	TERR(TE_INVALID_PARAMETER, "MessageGroupId", PUB(ARN("t")));
#undef PUB
#undef ATTR
}

TEST_HARNESS_MAIN

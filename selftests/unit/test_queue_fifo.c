// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue store FIFO queues: order within a message group, group locking,
 * exactly-once send (deduplication by id or content, both scopes, the
 * 5-minute window), sequence numbers, ReceiveRequestAttemptId, FIFO-only
 * parameters and FIFO dead-letter queues.
 */
#include "../harness.h"
#include "queue_test.h"

#define VT QUEUE_VISIBILITY_UNSET

static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
static const struct queue_kv fifo_cbd[] = { { "FifoQueue", "true" },
					    { "ContentBasedDeduplication", "true" } };

/* Send @body to group @g with the body as deduplication id. */
static struct queue_send_result send_g(FIXTURE_DATA(q) *self, const char *g, const char *body)
{
	return qt_send(self, "jobs.fifo", body, g, body);
}

/* The bodies of @r joined with spaces. */
static const char *bodies(const struct queue_received *r)
{
	static char buf[256];

	buf[0] = '\0';
	for (size_t i = 0; i < r->n; i++) {
		if (i)
			strcat(buf, " ");
		strncat(buf, r->msgs[i].body, 16);
	}
	return buf;
}

TEST_F(q, order_within_group_and_sequence_numbers)
{
	struct queue_send_result s[5];
	struct queue_received r;
	char b[8];

	qt_create(self, "jobs.fifo", fifo, 1);
	for (int i = 0; i < 5; i++) {
		snprintf(b, sizeof(b), "a%d", i);
		s[i] = send_g(self, "g1", b);
		EXPECT_EQ(20, strlen(s[i].sequence_number));
		if (i)
			EXPECT_LT(0, strcmp(s[i].sequence_number, s[i - 1].sequence_number));
	}
	qt_recv(self, "jobs.fifo", 10, VT, &r);
	ASSERT_EQ(5, r.n);
	EXPECT_STREQ("a0 a1 a2 a3 a4", bodies(&r));
	EXPECT_STREQ(s[0].sequence_number, r.msgs[0].sequence_number);
	EXPECT_STREQ("g1", r.msgs[0].group_id);
	EXPECT_STREQ("a0", r.msgs[0].dedup_id);
	queue_received_free(&r);
}

TEST_F(q, group_locking)
{
	struct queue_received r, r2;

	qt_create(self, "jobs.fifo", fifo, 1);
	send_g(self, "g1", "a1");
	send_g(self, "g2", "b1");
	send_g(self, "g1", "a2");
	qt_recv(self, "jobs.fifo", 1, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("a1", r.msgs[0].body);
	/* g1 has a message in flight: nothing more from it, g2 is free. */
	qt_recv(self, "jobs.fifo", 10, VT, &r2);
	EXPECT_STREQ("b1", bodies(&r2));
	queue_received_free(&r2);
	qt_recv(self, "jobs.fifo", 10, VT, &r2);
	EXPECT_EQ(0, r2.n);
	EXPECT_EQ(T0 + 30000, r2.next_visible_ms);
	queue_received_free(&r2);
	QOK(queue_delete_message(self->st, "jobs.fifo", r.msgs[0].receipt_handle, &self->res));
	qt_recv(self, "jobs.fifo", 10, VT, &r2);
	EXPECT_STREQ("a2", bodies(&r2));
	queue_received_free(&r2);
	queue_received_free(&r);
}

TEST_F(q, expiry_redelivers_head_first)
{
	struct queue_received r;

	qt_create(self, "jobs.fifo", fifo, 1);
	send_g(self, "g1", "a1");
	send_g(self, "g1", "a2");
	qt_recv(self, "jobs.fifo", 1, VT, &r);
	EXPECT_STREQ("a1", bodies(&r));
	queue_received_free(&r);
	self->now += 30000;
	qt_recv(self, "jobs.fifo", 10, VT, &r);
	EXPECT_STREQ("a1 a2", bodies(&r));
	EXPECT_EQ(2, r.msgs[0].receive_count);
	EXPECT_EQ(1, r.msgs[1].receive_count);
	queue_received_free(&r);
}

TEST_F(q, receive_groups_messages_by_group)
{
	struct queue_received r;

	qt_create(self, "jobs.fifo", fifo, 1);
	send_g(self, "g1", "a1");
	send_g(self, "g2", "b1");
	send_g(self, "g1", "a2");
	send_g(self, "g2", "b2");
	qt_recv(self, "jobs.fifo", 10, VT, &r);
	EXPECT_STREQ("a1 a2 b1 b2", bodies(&r));
	queue_received_free(&r);
}

TEST_F(q, dedup_by_id_and_window)
{
	struct queue_send_result s1, s2, s3;

	qt_create(self, "jobs.fifo", fifo, 1);
	s1 = qt_send(self, "jobs.fifo", "first", "g", "d1");
	self->now += 299999;
	/* Inside the window: accepted, and the original is what is queued. */
	s2 = qt_send(self, "jobs.fifo", "second", "g", "d1");
	EXPECT_STREQ(s1.message_id, s2.message_id);
	EXPECT_STREQ(s1.sequence_number, s2.sequence_number);
	EXPECT_STRNE(s1.md5_body, s2.md5_body); /* the MD5 is of what was sent */
	EXPECT_EQ(1, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
	/* The window is 5 minutes from the first send. */
	self->now += 1;
	s3 = qt_send(self, "jobs.fifo", "third", "g", "d1");
	EXPECT_STRNE(s1.message_id, s3.message_id);
	EXPECT_EQ(2, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
	/* A deleted message still deduplicates within the window. */
	QOK(queue_purge(self->st, "jobs.fifo", &self->res));
	s2 = qt_send(self, "jobs.fifo", "again", "g", "d1");
	EXPECT_STREQ(s3.message_id, s2.message_id);
	EXPECT_EQ(0, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
}

TEST_F(q, dedup_survives_reopen)
{
	struct queue_send_result s1, s2;

	qt_create(self, "jobs.fifo", fifo, 1);
	s1 = qt_send(self, "jobs.fifo", "x", "g", "d1");
	qt_reopen(self);
	s2 = qt_send(self, "jobs.fifo", "x", "g", "d1");
	EXPECT_STREQ(s1.message_id, s2.message_id);
	/* Sequence numbers keep growing across a reopen. */
	s2 = qt_send(self, "jobs.fifo", "y", "g", "d2");
	EXPECT_LT(0, strcmp(s2.sequence_number, s1.sequence_number));
}

TEST_F(q, content_based_dedup)
{
	struct queue_send_result s1, s2, s3;
	struct queue_send_entry e = {
		.body = "x", .body_len = 1, .delay_seconds = -1, .group_id = "g"
	};

	qt_create(self, "jobs.fifo", fifo, 1);
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "jobs.fifo", &e, &s1, &self->res));
	EXPECT_STREQ("The queue should either have ContentBasedDeduplication enabled or "
		     "MessageDeduplicationId provided explicitly",
		     self->res.message);
	qt_create(self, "cbd.fifo", fifo_cbd, 2);
	s1 = qt_send(self, "cbd.fifo", "same body", "g", NULL);
	s2 = qt_send(self, "cbd.fifo", "same body", "other-group", NULL);
	s3 = qt_send(self, "cbd.fifo", "other body", "g", NULL);
	EXPECT_STREQ(s1.message_id, s2.message_id); /* scope queue: groups share the window */
	EXPECT_STRNE(s1.message_id, s3.message_id);
	/* An explicit id wins over the content. */
	s3 = qt_send(self, "cbd.fifo", "same body", "g", "explicit");
	EXPECT_STRNE(s1.message_id, s3.message_id);
	EXPECT_EQ(3, qt_attr(self, "cbd.fifo", "ApproximateNumberOfMessages"));
}

TEST_F(q, dedup_scope_message_group)
{
	static const struct queue_kv scoped[] = { { "FifoQueue", "true" },
						  { "DeduplicationScope", "messageGroup" },
						  { "FifoThroughputLimit", "perMessageGroupId" } };
	struct queue_send_result s1, s2, s3;

	qt_create(self, "jobs.fifo", scoped, 3);
	s1 = qt_send(self, "jobs.fifo", "x", "g1", "d");
	s2 = qt_send(self, "jobs.fifo", "x", "g2", "d");
	s3 = qt_send(self, "jobs.fifo", "x", "g1", "d");
	EXPECT_STRNE(s1.message_id, s2.message_id);
	EXPECT_STREQ(s1.message_id, s3.message_id);
	EXPECT_EQ(2, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
}

TEST_F(q, dedup_within_one_batch)
{
	struct queue_send_entry e[2] = {
		{ .id = "a",
		  .body = "x",
		  .body_len = 1,
		  .delay_seconds = -1,
		  .group_id = "g",
		  .dedup_id = "d" },
		{ .id = "b",
		  .body = "y",
		  .body_len = 1,
		  .delay_seconds = -1,
		  .group_id = "g",
		  .dedup_id = "d" },
	};
	struct queue_send_result out[2];

	qt_create(self, "jobs.fifo", fifo, 1);
	QOK(queue_send_batch(self->st, "jobs.fifo", e, 2, out, &self->res));
	EXPECT_EQ(QE_OK, out[1].err.code);
	EXPECT_STREQ(out[0].message_id, out[1].message_id);
	EXPECT_EQ(1, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
}

TEST_F(q, fifo_parameter_errors)
{
	struct queue_send_entry e = {
		.body = "x", .body_len = 1, .delay_seconds = -1, .dedup_id = "d"
	};
	struct queue_send_result s;

	qt_create(self, "jobs.fifo", fifo, 1);
	qt_create(self, "std", NULL, 0);
	QERR(QE_MISSING_PARAMETER, queue_send(self->st, "jobs.fifo", &e, &s, &self->res));
	EXPECT_STREQ("The request must contain the parameter MessageGroupId.", self->res.message);
	e.group_id = "g";
	e.delay_seconds = 5;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "jobs.fifo", &e, &s, &self->res));
	EXPECT_STREQ("Value 5 for parameter DelaySeconds is invalid. Reason: The request include "
		     "parameter that is not valid for this queue type.",
		     self->res.message);
	e.delay_seconds = -1;
	e.group_id = "with space";
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "jobs.fifo", &e, &s, &self->res));
	EXPECT_STREQ("Value with space for parameter MessageGroupId is invalid. Reason: "
		     "MessageGroupId can only include alphanumeric and punctuation characters. 1 "
		     "to 128 in length.",
		     self->res.message);
	e.group_id = "g";
	e.dedup_id = "";
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "jobs.fifo", &e, &s, &self->res));
	/* A deduplication id is FIFO only; a group id is allowed on standard queues. */
	e.dedup_id = "d";
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "std", &e, &s, &self->res));
	e.dedup_id = NULL;
	QOK(queue_send(self->st, "std", &e, &s, &self->res));
	EXPECT_STREQ("", s.sequence_number);
}

TEST_F(q, receive_request_attempt_id)
{
	struct queue_receive_req req = { .max_messages = 10,
					 .visibility_timeout = VT,
					 .attempt_id = "attempt-1" };
	struct queue_received r1, r2, r3;

	qt_create(self, "jobs.fifo", fifo, 1);
	send_g(self, "g1", "a1");
	send_g(self, "g2", "b1");
	QOK(queue_receive(self->st, "jobs.fifo", &req, &r1, &self->res));
	ASSERT_EQ(2, r1.n);
	/* A retry returns the same messages with the same handles. */
	self->now += 10000;
	QOK(queue_receive(self->st, "jobs.fifo", &req, &r2, &self->res));
	ASSERT_EQ(2, r2.n);
	EXPECT_STREQ(r1.msgs[0].receipt_handle, r2.msgs[0].receipt_handle);
	EXPECT_STREQ(r1.msgs[1].message_id, r2.msgs[1].message_id);
	EXPECT_EQ(1, r2.msgs[0].receive_count);
	/* ... and resets their visibility timeout from now. */
	self->now += 29999;
	EXPECT_EQ(2, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessagesNotVisible"));
	queue_received_free(&r2);
	/* Another attempt id is a new receive: the groups are locked. */
	req.attempt_id = "attempt-2";
	QOK(queue_receive(self->st, "jobs.fifo", &req, &r3, &self->res));
	EXPECT_EQ(0, r3.n);
	queue_received_free(&r3);
	/* Once a message was deleted, a retry is a new receive. */
	QOK(queue_delete_message(self->st, "jobs.fifo", r1.msgs[0].receipt_handle, &self->res));
	req.attempt_id = "attempt-1";
	QOK(queue_receive(self->st, "jobs.fifo", &req, &r3, &self->res));
	EXPECT_EQ(0, r3.n);
	queue_received_free(&r3);
	req.attempt_id = "bad id";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_receive(self->st, "jobs.fifo", &req, &r3, &self->res));
	queue_received_free(&r1);
}

TEST_F(q, stale_handles_fail_on_fifo)
{
	struct queue_received r1, r2;

	qt_create(self, "jobs.fifo", fifo, 1);
	send_g(self, "g1", "a1");
	qt_recv(self, "jobs.fifo", 1, VT, &r1);
	ASSERT_EQ(1, r1.n);
	self->now += 30000;
	/* Visibility over: on FIFO queues the handle has expired. */
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_delete_message(self->st, "jobs.fifo", r1.msgs[0].receipt_handle, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Reason: The receipt handle has expired.") != NULL);
	qt_recv(self, "jobs.fifo", 1, VT, &r2);
	ASSERT_EQ(1, r2.n);
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_delete_message(self->st, "jobs.fifo", r1.msgs[0].receipt_handle, &self->res));
	QOK(queue_delete_message(self->st, "jobs.fifo", r2.msgs[0].receipt_handle, &self->res));
	EXPECT_EQ(0, qt_attr(self, "jobs.fifo", "ApproximateNumberOfMessages"));
	queue_received_free(&r1);
	queue_received_free(&r2);
}

TEST_F(q, fifo_dead_letter_queue)
{
	static const struct queue_kv policy[] = {
		{ "FifoQueue", "true" },
		{ "RedrivePolicy",
		  "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq.fifo\","
		  "\"maxReceiveCount\":1}" },
	};
	struct queue_received r;

	qt_create(self, "dlq.fifo", fifo, 1);
	qt_create(self, "jobs.fifo", policy, 2);
	send_g(self, "g1", "a1");
	send_g(self, "g1", "a2");
	qt_recv(self, "jobs.fifo", 1, VT, &r);
	EXPECT_STREQ("a1", bodies(&r));
	queue_received_free(&r);
	self->now += 30000;
	/* a1 goes to the dead-letter queue; the group moves on to a2. */
	qt_recv(self, "jobs.fifo", 10, VT, &r);
	EXPECT_STREQ("a2", bodies(&r));
	queue_received_free(&r);
	qt_recv(self, "dlq.fifo", 10, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("a1", r.msgs[0].body);
	EXPECT_STREQ("g1", r.msgs[0].group_id);
	EXPECT_EQ(T0 + 30000, r.msgs[0].sent_timestamp); /* FIFO: retention restarts */
	EXPECT_EQ(20, strlen(r.msgs[0].sequence_number));
	queue_received_free(&r);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue store messages: send/receive/delete, visibility, receive counts,
 * delays, retention, dead-letter queues, move tasks, batches, MD5s, message
 * attributes, limits and their errors, persistence, group commit, a full map.
 */
#include "../harness.h"
#include "queue_test.h"

#define VT QUEUE_VISIBILITY_UNSET

static const struct queue_kv dlq_policy[] = {
	{ "RedrivePolicy", "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
			   "\"maxReceiveCount\":2}" },
};

TEST_F(q, send_receive_delete)
{
	struct queue_send_result s;
	struct queue_received r;

	qt_create(self, "orders", NULL, 0);
	s = qt_send(self, "orders", "hello", NULL, NULL);
	EXPECT_STREQ("5d41402abc4b2a76b9719d911017c592", s.md5_body);
	EXPECT_STREQ("", s.md5_attrs);
	EXPECT_STREQ("", s.sequence_number);
	EXPECT_EQ(36, strlen(s.message_id));
	EXPECT_EQ('-', s.message_id[8]);
	self->now += 5;
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ(s.message_id, r.msgs[0].message_id);
	EXPECT_STREQ("hello", r.msgs[0].body);
	EXPECT_STREQ(s.md5_body, r.msgs[0].md5_body);
	EXPECT_EQ(1, r.msgs[0].receive_count);
	EXPECT_EQ(T0, r.msgs[0].sent_timestamp);
	EXPECT_EQ(T0 + 5, r.msgs[0].first_receive_timestamp);
	EXPECT_STREQ("123456789012", r.msgs[0].sender_id);
	EXPECT_NULL(r.msgs[0].group_id);
	QOK(queue_delete_message(self->st, "orders", r.msgs[0].receipt_handle, &self->res));
	/* Deleting again with the same handle succeeds (SQS is idempotent here). */
	QOK(queue_delete_message(self->st, "orders", r.msgs[0].receipt_handle, &self->res));
	queue_received_free(&r);
	qt_recv(self, "orders", 10, VT, &r);
	EXPECT_EQ(0, r.n);
	EXPECT_EQ(0, r.next_visible_ms);
	queue_received_free(&r);
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
}

TEST_F(q, visibility_expiry_and_redelivery)
{
	struct queue_received r1, r2, r3;

	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "m", NULL, NULL);
	qt_recv(self, "orders", 1, VT, &r1);
	ASSERT_EQ(1, r1.n);
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	qt_recv(self, "orders", 1, VT, &r2);
	EXPECT_EQ(0, r2.n);
	/* A long-poll waiter learns when to look again. */
	EXPECT_EQ(T0 + 30000, r2.next_visible_ms);
	queue_received_free(&r2);
	self->now += 29999;
	qt_recv(self, "orders", 1, VT, &r2);
	EXPECT_EQ(0, r2.n);
	queue_received_free(&r2);
	self->now += 1;
	qt_recv(self, "orders", 1, VT, &r2);
	ASSERT_EQ(1, r2.n);
	EXPECT_EQ(2, r2.msgs[0].receive_count);
	EXPECT_EQ(T0, r2.msgs[0].first_receive_timestamp);
	EXPECT_STRNE(r1.msgs[0].receipt_handle, r2.msgs[0].receipt_handle);
	/* The old handle no longer works: delete succeeds but deletes nothing. */
	QOK(queue_delete_message(self->st, "orders", r1.msgs[0].receipt_handle, &self->res));
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_change_visibility(self->st, "orders", r1.msgs[0].receipt_handle, 10,
				     &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Message does not exist or is not available for "
					      "visibility timeout change.") != NULL);
	/* A receive-time visibility timeout overrides the queue's. */
	self->now += 30000;
	qt_recv(self, "orders", 1, 5, &r3);
	ASSERT_EQ(1, r3.n);
	EXPECT_EQ(3, r3.msgs[0].receive_count);
	/* The visibility of r2's handle ended; the message was received again. */
	QOK(queue_delete_message(self->st, "orders", r2.msgs[0].receipt_handle, &self->res));
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	self->now += 5000;
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	/* Latest handle, but the message is visible again: not in flight. */
	QERR(QE_MESSAGE_NOT_INFLIGHT,
	     queue_change_visibility(self->st, "orders", r3.msgs[0].receipt_handle, 10,
				     &self->res));
	queue_received_free(&r1);
	queue_received_free(&r2);
	queue_received_free(&r3);
}

TEST_F(q, change_visibility)
{
	struct queue_received r, r2;

	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "m", NULL, NULL);
	qt_recv(self, "orders", 1, VT, &r);
	ASSERT_EQ(1, r.n);
	QOK(queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, 100, &self->res));
	self->now += 99000;
	qt_recv(self, "orders", 1, VT, &r2);
	EXPECT_EQ(0, r2.n);
	EXPECT_EQ(T0 + 100000, r2.next_visible_ms);
	queue_received_free(&r2);
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, 43201,
				     &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Must be between 0 and 43200") != NULL);
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, -1, &self->res));
	/* 12 hours at most from the receive: 99 s are gone. */
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, 43200,
				     &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Total VisibilityTimeout for the message is beyond "
					      "the limit [43200 seconds]") != NULL);
	QOK(queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, 43200 - 99,
				    &self->res));
	/* 0 makes it visible now. */
	QOK(queue_change_visibility(self->st, "orders", r.msgs[0].receipt_handle, 0, &self->res));
	qt_recv(self, "orders", 1, VT, &r2);
	EXPECT_EQ(1, r2.n);
	EXPECT_EQ(2, r2.msgs[0].receive_count);
	queue_received_free(&r2);
	queue_received_free(&r);
}

TEST_F(q, zero_visibility_timeout)
{
	struct queue_received r;

	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "a", NULL, NULL);
	qt_send(self, "orders", "b", NULL, NULL);
	/* Each message at most once per receive, even when it is visible again at once. */
	qt_recv(self, "orders", 10, 0, &r);
	EXPECT_EQ(2, r.n);
	queue_received_free(&r);
	qt_recv(self, "orders", 10, 0, &r);
	ASSERT_EQ(2, r.n);
	EXPECT_EQ(2, r.msgs[0].receive_count);
	queue_received_free(&r);
}

TEST_F(q, delays)
{
	static const struct queue_kv delay[] = { { "DelaySeconds", "10" } };
	struct queue_send_entry e = { .body = "d", .body_len = 1, .delay_seconds = 3 };
	struct queue_send_result s;
	struct queue_received r;

	qt_create(self, "orders", delay, 1);
	qt_send(self, "orders", "q", NULL, NULL); /* the queue's 10 s */
	QOK(queue_send(self->st, "orders", &e, &s, &self->res)); /* its own 3 s */
	EXPECT_EQ(2, qt_attr(self, "orders", "ApproximateNumberOfMessagesDelayed"));
	qt_recv(self, "orders", 10, VT, &r);
	EXPECT_EQ(0, r.n);
	EXPECT_EQ(T0 + 3000, r.next_visible_ms);
	queue_received_free(&r);
	self->now += 3000;
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("d", r.msgs[0].body);
	queue_received_free(&r);
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesDelayed"));
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	self->now += 7000;
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("q", r.msgs[0].body);
	queue_received_free(&r);
	e.delay_seconds = 901;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "orders", &e, &s, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "DelaySeconds must be >= 0 and <= 900") != NULL);
	e.delay_seconds = 0; /* 0 overrides the queue's delay */
	QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	qt_recv(self, "orders", 10, VT, &r);
	EXPECT_EQ(1, r.n);
	queue_received_free(&r);
}

TEST_F(q, retention)
{
	static const struct queue_kv ret[] = { { "MessageRetentionPeriod", "60" } };
	struct queue_received r;

	qt_create(self, "orders", ret, 1);
	qt_send(self, "orders", "old", NULL, NULL);
	qt_send(self, "orders", "old2", NULL, NULL);
	self->now += 30000;
	qt_send(self, "orders", "new", NULL, NULL);
	self->now += 30000; /* the first two are 60 s old: gone */
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("new", r.msgs[0].body);
	queue_received_free(&r);
	/* In flight or not, retention ends a message; the sweep drops it. */
	self->now += 30000;
	EXPECT_EQ(1, queue_store_sweep(self->st, &self->res));
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
}

TEST_F(q, dead_letter_queue)
{
	struct queue_received r;
	char arn[160];

	qt_create(self, "dlq", NULL, 0);
	qt_create(self, "orders", dlq_policy, 1);
	qt_send(self, "orders", "poison", NULL, NULL);
	for (int i = 1; i <= 2; i++) {
		qt_recv(self, "orders", 1, VT, &r);
		ASSERT_EQ(1, r.n);
		EXPECT_EQ(i, r.msgs[0].receive_count);
		queue_received_free(&r);
		self->now += 30000;
	}
	/* The third receive would exceed maxReceiveCount 2: the message moves instead. */
	qt_recv(self, "orders", 1, VT, &r);
	EXPECT_EQ(0, r.n);
	queue_received_free(&r);
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	EXPECT_EQ(1, qt_attr(self, "dlq", "ApproximateNumberOfMessages"));
	qt_recv(self, "dlq", 1, VT, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_STREQ("poison", r.msgs[0].body);
	EXPECT_EQ(3, r.msgs[0].receive_count); /* counts carry over */
	EXPECT_EQ(T0, r.msgs[0].sent_timestamp); /* standard: the original enqueue time */
	queue_arn(self->st, "orders", arn, sizeof(arn));
	EXPECT_STREQ(arn, r.msgs[0].dead_letter_source_arn);
	queue_received_free(&r);
	/* With the dead-letter queue gone, the source delivers instead of losing it. */
	qt_send(self, "orders", "second", NULL, NULL);
	for (int i = 0; i < 2; i++) {
		qt_recv(self, "orders", 1, 0, &r);
		queue_received_free(&r);
	}
	QOK(queue_delete(self->st, "dlq", &self->res));
	qt_recv(self, "orders", 1, 0, &r);
	ASSERT_EQ(1, r.n);
	EXPECT_EQ(3, r.msgs[0].receive_count);
	queue_received_free(&r);
}

/* Put @n messages into "dlq" through redrive from "orders". */
static void fill_dlq(FIXTURE_DATA(q) *self, int n)
{
	struct queue_received r;

	qt_create(self, "dlq", NULL, 0);
	qt_create(self, "orders", dlq_policy, 1);
	for (int i = 0; i < n; i++)
		qt_send(self, "orders", "p", NULL, NULL);
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < n; j += 10) {
			qt_recv(self, "orders", 10, 0, &r);
			queue_received_free(&r);
		}
	}
	ASSERT_EQ(n, qt_attr(self, "dlq", "ApproximateNumberOfMessages"));
}

TEST_F(q, move_task_back_to_source)
{
	struct queue_move_task_list l;
	struct queue_received r;
	char dlq[160], orders[160], h[48], h2[48];

	fill_dlq(self, 5);
	queue_arn(self->st, "dlq", dlq, sizeof(dlq));
	queue_arn(self->st, "orders", orders, sizeof(orders));
	QOK(queue_move_start(self->st, dlq, NULL, 2, h, sizeof(h), &self->res));
	QERR(QE_UNSUPPORTED_OPERATION,
	     queue_move_start(self->st, dlq, NULL, 2, h2, sizeof(h2), &self->res));
	EXPECT_EQ(0, queue_move_step(self->st, &self->res));
	self->now += 1000; /* 2 per second */
	EXPECT_EQ(2, queue_move_step(self->st, &self->res));
	QOK(queue_move_list(self->st, dlq, 10, &l, &self->res));
	ASSERT_EQ(1, l.n);
	EXPECT_STREQ("RUNNING", l.v[0].status);
	EXPECT_STREQ(h, l.v[0].handle);
	EXPECT_EQ(2, l.v[0].moved);
	EXPECT_EQ(5, l.v[0].to_move);
	EXPECT_EQ(2, l.v[0].max_per_second);
	EXPECT_NULL(l.v[0].destination_arn);
	queue_move_task_list_free(&l);
	self->now += 10000;
	EXPECT_EQ(3, queue_move_step(self->st, &self->res));
	QOK(queue_move_list(self->st, dlq, 1, &l, &self->res));
	ASSERT_EQ(1, l.n);
	EXPECT_STREQ("COMPLETED", l.v[0].status);
	queue_move_task_list_free(&l);
	EXPECT_EQ(0, qt_attr(self, "dlq", "ApproximateNumberOfMessages"));
	/* Back in the source with a fresh receive count and no dead-letter source. */
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(5, r.n);
	EXPECT_EQ(1, r.msgs[0].receive_count);
	EXPECT_NULL(r.msgs[0].dead_letter_source_arn);
	queue_received_free(&r);
	/* Errors: not a dead-letter queue, unknown queue, rate, unknown handle. */
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_move_start(self->st, orders, NULL, 0, h2, sizeof(h2), &self->res));
	EXPECT_STREQ("Source queue must be configured as a Dead Letter Queue.", self->res.message);
	QERR(QE_RESOURCE_NOT_FOUND,
	     queue_move_start(self->st, "arn:aws:sqs:eu-west-1:123456789012:none", NULL, 0, h2,
			      sizeof(h2), &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_move_start(self->st, dlq, NULL, 501, h2, sizeof(h2), &self->res));
	QERR(QE_RESOURCE_NOT_FOUND, queue_move_cancel(self->st, "mt-nope", NULL, &self->res));
	QERR(QE_UNSUPPORTED_OPERATION, queue_move_cancel(self->st, h, NULL, &self->res));
}

TEST_F(q, move_task_to_destination_and_cancel)
{
	struct queue_move_task_list l;
	char dlq[160], other[160], h[48];
	long moved = -1;

	fill_dlq(self, 3);
	qt_create(self, "other", NULL, 0);
	queue_arn(self->st, "dlq", dlq, sizeof(dlq));
	queue_arn(self->st, "other", other, sizeof(other));
	/* Without a rate, a step moves what it can. */
	QOK(queue_move_start(self->st, dlq, other, 0, h, sizeof(h), &self->res));
	EXPECT_EQ(3, queue_move_step(self->st, &self->res));
	EXPECT_EQ(3, qt_attr(self, "other", "ApproximateNumberOfMessages"));
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	/* A new task may start once the first is done; cancel it. */
	self->now += 1000;
	QOK(queue_move_start(self->st, dlq, other, 1, h, sizeof(h), &self->res));
	QOK(queue_move_cancel(self->st, h, &moved, &self->res));
	EXPECT_EQ(0, moved);
	QOK(queue_move_list(self->st, dlq, 10, &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ("CANCELLED", l.v[0].status); /* newest first */
	EXPECT_STREQ(other, l.v[0].destination_arn);
	EXPECT_STREQ("COMPLETED", l.v[1].status);
	queue_move_task_list_free(&l);
	QERR(QE_INVALID_PARAMETER_VALUE, queue_move_list(self->st, dlq, 11, &l, &self->res));
}

TEST_F(q, send_batch_partial_failure)
{
	struct queue_send_entry e[3] = {
		{ .id = "a", .body = "one", .body_len = 3, .delay_seconds = QUEUE_DELAY_UNSET },
		{ .id = "b", .body = "", .body_len = 0, .delay_seconds = QUEUE_DELAY_UNSET },
		{ .id = "c", .body = "three", .body_len = 5, .delay_seconds = QUEUE_DELAY_UNSET },
	};
	struct queue_send_result out[3];

	qt_create(self, "orders", NULL, 0);
	QOK(queue_send_batch(self->st, "orders", e, 3, out, &self->res));
	EXPECT_EQ(QE_OK, out[0].err.code);
	EXPECT_EQ(QE_MISSING_PARAMETER, out[1].err.code);
	EXPECT_STREQ("The request must contain the parameter MessageBody.", out[1].err.message);
	EXPECT_EQ(QE_OK, out[2].err.code);
	EXPECT_EQ(2, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
}

TEST_F(q, batch_request_errors)
{
	struct queue_send_entry e[11];
	struct queue_send_result out[11];
	struct queue_handle_entry h[2] = { { .id = "x", .receipt_handle = "junk" },
					   { .id = "x", .receipt_handle = "junk" } };
	char ids[11][4];
	static char big[600 * 1024];

	qt_create(self, "orders", NULL, 0);
	for (int i = 0; i < 11; i++) {
		snprintf(ids[i], sizeof(ids[i]), "m%d", i);
		e[i] = (struct queue_send_entry){
			.id = ids[i], .body = "x", .body_len = 1, .delay_seconds = QUEUE_DELAY_UNSET
		};
	}
	QERR(QE_EMPTY_BATCH_REQUEST, queue_send_batch(self->st, "orders", e, 0, out, &self->res));
	EXPECT_STREQ("There should be at least one SendMessageBatchRequestEntry in the request.",
		     self->res.message);
	QERR(QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST,
	     queue_send_batch(self->st, "orders", e, 11, out, &self->res));
	EXPECT_STREQ("Maximum number of entries per request are 10. You have sent 11.",
		     self->res.message);
	e[1].id = "m0";
	QERR(QE_BATCH_ENTRY_IDS_NOT_DISTINCT,
	     queue_send_batch(self->st, "orders", e, 2, out, &self->res));
	EXPECT_STREQ("Id m0 repeated.", self->res.message);
	e[1].id = "bad id!";
	QERR(QE_INVALID_BATCH_ENTRY_ID,
	     queue_send_batch(self->st, "orders", e, 2, out, &self->res));
	e[1].id = "m1";
	memset(big, 'x', sizeof(big));
	e[0].body = big;
	e[0].body_len = sizeof(big);
	e[1].body = big;
	e[1].body_len = sizeof(big);
	QERR(QE_BATCH_REQUEST_TOO_LONG,
	     queue_send_batch(self->st, "orders", e, 2, out, &self->res));
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	QERR(QE_BATCH_ENTRY_IDS_NOT_DISTINCT,
	     queue_delete_message_batch(self->st, "orders", h, 2, &self->res));
	QERR(QE_EMPTY_BATCH_REQUEST,
	     queue_change_visibility_batch(self->st, "orders", h, 0, &self->res));
	EXPECT_STREQ("There should be at least one ChangeMessageVisibilityBatchRequestEntry in "
		     "the request.",
		     self->res.message);
}

TEST_F(q, handle_batches)
{
	struct queue_handle_entry h[3];
	struct queue_received r;

	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "a", NULL, NULL);
	qt_send(self, "orders", "b", NULL, NULL);
	qt_recv(self, "orders", 10, VT, &r);
	ASSERT_EQ(2, r.n);
	h[0] = (struct queue_handle_entry){ .id = "0",
					    .receipt_handle = r.msgs[0].receipt_handle,
					    .visibility_timeout = 0 };
	h[1] = (struct queue_handle_entry){ .id = "1",
					    .receipt_handle = "garbage",
					    .visibility_timeout = 0 };
	h[2] = (struct queue_handle_entry){ .id = "2",
					    .receipt_handle = r.msgs[1].receipt_handle,
					    .visibility_timeout = 50000 };
	QOK(queue_change_visibility_batch(self->st, "orders", h, 3, &self->res));
	EXPECT_EQ(QE_OK, h[0].err.code);
	EXPECT_EQ(QE_RECEIPT_HANDLE_IS_INVALID, h[1].err.code);
	EXPECT_STREQ("The input receipt handle \"garbage\" is not a valid receipt handle.",
		     h[1].err.message);
	EXPECT_EQ(QE_INVALID_PARAMETER_VALUE, h[2].err.code);
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	QOK(queue_delete_message_batch(self->st, "orders", h + 1, 2, &self->res));
	EXPECT_EQ(QE_RECEIPT_HANDLE_IS_INVALID, h[1].err.code);
	EXPECT_EQ(QE_OK, h[2].err.code);
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	queue_received_free(&r);
}

TEST_F(q, receipt_handles)
{
	struct queue_received r;
	char bad[64];

	qt_create(self, "a", NULL, 0);
	qt_create(self, "b", NULL, 0);
	qt_send(self, "a", "m", NULL, NULL);
	qt_recv(self, "a", 1, VT, &r);
	ASSERT_EQ(1, r.n);
	QERR(QE_RECEIPT_HANDLE_IS_INVALID,
	     queue_delete_message(self->st, "b", r.msgs[0].receipt_handle, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "is not valid for this queue") != NULL);
	/* A forged handle fails its checksum. */
	snprintf(bad, sizeof(bad), "%s", r.msgs[0].receipt_handle);
	bad[40] = bad[40] == '0' ? '1' : '0';
	QERR(QE_RECEIPT_HANDLE_IS_INVALID, queue_delete_message(self->st, "a", bad, &self->res));
	QERR(QE_MISSING_PARAMETER, queue_delete_message(self->st, "a", "", &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST,
	     queue_delete_message(self->st, "c", r.msgs[0].receipt_handle, &self->res));
	queue_received_free(&r);
}

TEST(md5_of_attributes_published_values)
{
	static const uint8_t bin[] = "Hello binary world!";
	struct queue_msg_attr s = { "attribName1", "String", "attribValue 1", 13 };
	struct queue_msg_attr n = { "customNumberTypeAttrib", "Number.float",
				    "4563442423554324324264524243.32543234", 37 };
	struct queue_msg_attr b = { "binaryAttribute", "Binary", bin, sizeof(bin) - 1 };
	struct queue_msg_attr all[] = { s, n, b };
	char out[33];

	/* Values published with the aws-md5-of-message-attributes package; see queue_md5.py. */
	queue_md5_attrs(&s, 1, out);
	EXPECT_STREQ("19e27d4e946b072f3f58da80d94fd778", out);
	queue_md5_attrs(&n, 1, out);
	EXPECT_STREQ("9fe1b90bbd9965bdf77bac517c7d2495", out);
	queue_md5_attrs(&b, 1, out);
	EXPECT_STREQ("31a92b15d92f8db860eda32aceb656c3", out);
	queue_md5_attrs(all, 3, out);
	EXPECT_STREQ("c932db14a896c663f83c260297d594ff", out);
	queue_md5_attrs(all, 0, out);
	EXPECT_STREQ("", out);
	queue_md5_body("hello", 5, out);
	EXPECT_STREQ("5d41402abc4b2a76b9719d911017c592", out);
}

TEST_F(q, message_attributes)
{
	static const uint8_t bin[] = { 0, 1, 2, 255 };
	struct queue_msg_attr a[] = {
		{ "zeta", "String", "z", 1 },
		{ "alpha.one", "Number.int", "-3.5e2", 6 },
		{ "blob", "Binary.png", bin, sizeof(bin) },
	};
	struct queue_send_entry e = {
		.body = "b", .body_len = 1, .delay_seconds = -1, .attrs = a, .nattrs = 3
	};
	const char *want_alpha[] = { "alpha.*" }, *want_all[] = { "All" };
	struct queue_receive_req req = { .max_messages = 1, .visibility_timeout = 0 };
	struct queue_send_result s;
	struct queue_received r;
	char md5[33];

	qt_create(self, "orders", NULL, 0);
	QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	queue_md5_attrs(a, 3, md5);
	EXPECT_STREQ(md5, s.md5_attrs);
	/* No names requested: no attributes and no attribute MD5. */
	QOK(queue_receive(self->st, "orders", &req, &r, &self->res));
	ASSERT_EQ(1, r.n);
	EXPECT_EQ(0, r.msgs[0].nattrs);
	EXPECT_STREQ("", r.msgs[0].md5_attrs);
	queue_received_free(&r);
	req.attr_names = want_all;
	req.nattr_names = 1;
	QOK(queue_receive(self->st, "orders", &req, &r, &self->res));
	ASSERT_EQ(3, r.msgs[0].nattrs);
	EXPECT_STREQ("alpha.one", r.msgs[0].attrs[0].name); /* sorted */
	EXPECT_STREQ("Binary.png", r.msgs[0].attrs[1].type);
	EXPECT_EQ(4, r.msgs[0].attrs[1].len);
	EXPECT_EQ(0, memcmp(bin, r.msgs[0].attrs[1].value, 4));
	EXPECT_STREQ(s.md5_attrs, r.msgs[0].md5_attrs);
	queue_received_free(&r);
	req.attr_names = want_alpha;
	QOK(queue_receive(self->st, "orders", &req, &r, &self->res));
	ASSERT_EQ(1, r.msgs[0].nattrs);
	queue_md5_attrs(&a[1], 1, md5);
	EXPECT_STREQ(md5, r.msgs[0].md5_attrs);
	queue_received_free(&r);
}

TEST_F(q, message_attribute_errors)
{
	static const struct {
		struct queue_msg_attr a;
		enum queue_err code;
	} cases[] = {
		{ { "AWS.x", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "amazon.x", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { ".x", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x.", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "a..b", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "sp ace", "String", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "Text", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "String.", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "", "v", 1 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "String", "", 0 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "Number", "12a", 3 }, QE_INVALID_PARAMETER_VALUE },
		{ { "x", "Number", "1234567890123456789012345678901234567890", 40 },
		  QE_INVALID_PARAMETER_VALUE },
		{ { "x", "String", "\x01", 1 }, QE_INVALID_MESSAGE_CONTENTS },
	};
	struct queue_msg_attr many[11],
		dup[2] = { { "x", "String", "v", 1 }, { "x", "String", "w", 1 } };
	struct queue_send_entry e = { .body = "b", .body_len = 1, .delay_seconds = -1 };
	struct queue_send_result s;
	char names[11][4];

	qt_create(self, "orders", NULL, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e.attrs = &cases[i].a;
		e.nattrs = 1;
		QERR(cases[i].code, queue_send(self->st, "orders", &e, &s, &self->res));
	}
	e.attrs = &cases[10].a;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "orders", &e, &s, &self->res));
	EXPECT_STREQ("Can't cast the value of message (user) attribute 'x' to a number.",
		     self->res.message);
	e.attrs = dup;
	e.nattrs = 2;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "orders", &e, &s, &self->res));
	for (int i = 0; i < 11; i++) {
		snprintf(names[i], sizeof(names[i]), "a%d", i);
		many[i] = (struct queue_msg_attr){ names[i], "Number", "1", 1 };
	}
	e.attrs = many;
	e.nattrs = 11;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "orders", &e, &s, &self->res));
	EXPECT_STREQ("Number of message attributes [11] exceeds the allowed maximum [10].",
		     self->res.message);
	e.nattrs = 10;
	QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	/* Leading zeros are not significant digits; exponents are numbers too. */
	many[0].value = "0000000000000000000000000000000000000000.5";
	many[0].len = strlen(many[0].value);
	many[1].value = "-1.5E+10";
	many[1].len = strlen(many[1].value);
	e.nattrs = 2;
	QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	many[1].value = "1e";
	many[1].len = 2;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "orders", &e, &s, &self->res));
}

TEST_F(q, body_limits)
{
	static const struct queue_kv small[] = { { "MaximumMessageSize", "1024" } };
	static char body[1025];
	struct queue_msg_attr a = { "k", "String", "v", 1 };
	struct queue_send_entry e = { .body = body, .body_len = 1024, .delay_seconds = -1 };
	struct queue_send_result s;

	memset(body, 'x', sizeof(body));
	qt_create(self, "small", small, 1);
	QOK(queue_send(self->st, "small", &e, &s, &self->res));
	e.body_len = 1025;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "small", &e, &s, &self->res));
	EXPECT_STREQ("One or more parameters are invalid. Reason: Message must be shorter than "
		     "1024 bytes.",
		     self->res.message);
	/* Attributes count towards the size. */
	e.body_len = 1022;
	e.attrs = &a;
	e.nattrs = 1;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_send(self->st, "small", &e, &s, &self->res));
	e.body = "bad \x01 char";
	e.body_len = strlen(e.body);
	QERR(QE_INVALID_MESSAGE_CONTENTS, queue_send(self->st, "small", &e, &s, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Invalid binary character '#x1'") != NULL);
	e.body = "\xc3\x28"; /* malformed UTF-8 */
	e.body_len = 2;
	QERR(QE_INVALID_MESSAGE_CONTENTS, queue_send(self->st, "small", &e, &s, &self->res));
	e.body = "caf\xc3\xa9 \xf0\x9f\x98\x80\t\r\n"; /* UTF-8, emoji, whitespace */
	e.body_len = strlen(e.body);
	e.nattrs = 0;
	QOK(queue_send(self->st, "small", &e, &s, &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_send(self->st, "nope", &e, &s, &self->res));
}

TEST_F(q, receive_parameter_limits)
{
	struct queue_receive_req req = { .max_messages = 11, .visibility_timeout = VT };
	struct queue_received r;

	qt_create(self, "orders", NULL, 0);
	QERR(QE_INVALID_PARAMETER_VALUE, queue_receive(self->st, "orders", &req, &r, &self->res));
	EXPECT_STREQ("Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be "
		     "between 1 and 10, if provided.",
		     self->res.message);
	req.max_messages = -1;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_receive(self->st, "orders", &req, &r, &self->res));
	req.max_messages = 10;
	req.visibility_timeout = 43201;
	QERR(QE_INVALID_PARAMETER_VALUE, queue_receive(self->st, "orders", &req, &r, &self->res));
	req.visibility_timeout = VT;
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_receive(self->st, "nope", &req, &r, &self->res));
}

TEST_F(q, in_flight_survives_reopen)
{
	struct queue_received r, r2;

	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "a", NULL, NULL);
	qt_send(self, "orders", "b", NULL, NULL);
	qt_recv(self, "orders", 1, VT, &r);
	ASSERT_EQ(1, r.n);
	qt_reopen(self);
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	EXPECT_EQ(1, qt_attr(self, "orders", "ApproximateNumberOfMessagesNotVisible"));
	QOK(queue_delete_message(self->st, "orders", r.msgs[0].receipt_handle, &self->res));
	qt_recv(self, "orders", 10, VT, &r2);
	ASSERT_EQ(1, r2.n);
	EXPECT_STRNE(r.msgs[0].body, r2.msgs[0].body);
	/* Handles stay unique across a reopen. */
	EXPECT_STRNE(r.msgs[0].receipt_handle, r2.msgs[0].receipt_handle);
	queue_received_free(&r);
	queue_received_free(&r2);
}

TEST_F(q, group_commit)
{
	struct queue_send_entry e = { .body = "x", .body_len = 1, .delay_seconds = -1 };
	struct queue_send_result s;

	qt_create(self, "orders", NULL, 0);
	QOK(queue_txn_begin(self->st, &self->res));
	for (int i = 0; i < 1000; i++)
		QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	QOK(queue_txn_commit(self->st, &self->res));
	QOK(queue_txn_begin(self->st, &self->res));
	for (int i = 0; i < 10; i++)
		QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	queue_txn_abort(self->st);
	qt_reopen(self);
	EXPECT_EQ(1000, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
}

/*
 * Start over with a small map (1 MiB growing to @max_mib) and a queue
 * "orders"; returns a 64 KiB message to send.
 */
static struct queue_send_entry small_store(FIXTURE_DATA(q) *self, struct queue_store_opts *o,
					   int max_mib)
{
	static char body[64 * 1024];

	*o = (struct queue_store_opts){ .clock = qt_clock,
					.clock_ctx = &self->now,
					.map_size = 1 << 20,
					.max_map_size = (size_t)max_mib << 20 };
	queue_store_close(self->st);
	qt_rmrf(self->dir);
	mkdir(self->dir, 0700);
	self->st = queue_store_open(self->dir, o, &self->res);
	ASSERT_NE_NULL(self->st);
	memset(body, 'y', sizeof(body));
	qt_create(self, "orders", NULL, 0);
	return (struct queue_send_entry){ .body = body,
					  .body_len = sizeof(body),
					  .delay_seconds = -1 };
}

TEST_F(q, full_map_is_a_clear_error)
{
	struct queue_store_opts o;
	struct queue_send_entry e = small_store(self, &o, 2);
	struct queue_send_result s;
	int acked = 0, rc = 0;

	for (int i = 0; i < 100 && !rc; i++) {
		rc = queue_send(self->st, "orders", &e, &s, &self->res);
		acked += !rc;
	}
	ASSERT_EQ(-1, rc);
	EXPECT_EQ(QE_INTERNAL_ERROR, self->res.code);
	EXPECT_TRUE(strstr(self->res.message, "The queue store is full") != NULL);
	EXPECT_GT(acked, 10); /* it grew from 1 to 2 MiB before giving up */
	/* Everything acknowledged is intact. */
	queue_store_close(self->st);
	self->st = queue_store_open(self->dir, &o, &self->res);
	ASSERT_NE_NULL(self->st);
	EXPECT_EQ(acked, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
}

TEST_F(q, full_map_inside_a_group)
{
	struct queue_store_opts o;
	struct queue_send_entry e = small_store(self, &o, 4);
	struct queue_send_result s;
	int rc = 0;

	QOK(queue_txn_begin(self->st, &self->res));
	for (int i = 0; i < 30 && !rc; i++)
		rc = queue_send(self->st, "orders", &e, &s, &self->res);
	ASSERT_EQ(-1, rc);
	EXPECT_TRUE(strstr(self->res.message, "The queue store is full") != NULL);
	/* The group is doomed: nothing of it commits, and nothing is acknowledged. */
	QERR(QE_INTERNAL_ERROR, queue_send(self->st, "orders", &e, &s, &self->res));
	QERR(QE_INTERNAL_ERROR, queue_txn_commit(self->st, &self->res));
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	/* The map grew after the failed group: a retry of a smaller group fits. */
	QOK(queue_txn_begin(self->st, &self->res));
	for (int i = 0; i < 10; i++)
		QOK(queue_send(self->st, "orders", &e, &s, &self->res));
	QOK(queue_txn_commit(self->st, &self->res));
	EXPECT_EQ(10, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
}

TEST_HARNESS_MAIN

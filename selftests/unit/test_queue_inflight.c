// SPDX-License-Identifier: BSD-2-Clause
/*
 * SQS's in-flight quota (120,000 messages per queue, standard and FIFO; here
 * 5 so that the test reaches it): a standard queue's receive fails with
 * OverLimit at the quota and takes only what is left below it; a FIFO queue
 * returns nothing more, without an error. Messages that become visible again
 * or are deleted free their place.
 */
#include "queue.h"
#include "../harness.h"
#include "queue_test.h"

#include <string.h>

static void with_quota(FIXTURE_DATA(q) *self, long quota)
{
	qt_max_inflight = quota;
	qt_reopen(self);
}

TEST_F(q, standard_queue_at_the_quota_refuses_with_over_limit)
{
	struct queue_received r;

	with_quota(self, 5);
	qt_create(self, "std", NULL, 0);
	for (int i = 0; i < 8; i++)
		qt_send(self, "std", "m", NULL, NULL);
	qt_recv(self, "std", 3, 60, &r);
	EXPECT_EQ(3, r.n);
	queue_received_free(&r);
	qt_recv(self, "std", 10, 60, &r); /* only 2 more fit */
	EXPECT_EQ(2, r.n);
	char handle[64];

	strcpy(handle, r.msgs[0].receipt_handle);
	queue_received_free(&r);
	struct queue_receive_req req = { .max_messages = 1, .visibility_timeout = 60 };

	QERR(QE_OVER_LIMIT, queue_receive(self->st, "std", &req, &r, &self->res));
	EXPECT_STREQ("OverLimit", queue_err_type(self->res.code));
	EXPECT_NE_NULL(strstr(self->res.message, "in flight"));
	/* a delete frees a place */
	QOK(queue_delete_message(self->st, "std", handle, &self->res));
	qt_recv(self, "std", 10, 60, &r);
	EXPECT_EQ(1, r.n);
	queue_received_free(&r);
	/* and so does the visibility timeout running out */
	self->now += 61000;
	qt_recv(self, "std", 10, 60, &r);
	EXPECT_EQ(5, r.n);
	queue_received_free(&r);
}

TEST_F(q, fifo_queue_at_the_quota_returns_nothing_more)
{
	struct queue_kv fifo[] = { { "FifoQueue", "true" },
				   { "ContentBasedDeduplication", "true" } };
	struct queue_received r;
	char body[8], group[8];

	with_quota(self, 5);
	qt_create(self, "f.fifo", fifo, 2);
	for (int i = 0; i < 8; i++) {
		snprintf(body, sizeof(body), "m%d", i);
		snprintf(group, sizeof(group), "g%d", i);
		qt_send(self, "f.fifo", body, group, NULL);
	}
	qt_recv(self, "f.fifo", 10, 60, &r);
	EXPECT_EQ(5, r.n);
	queue_received_free(&r);
	qt_recv(self, "f.fifo", 10, 60, &r);
	EXPECT_EQ(0, r.n);
	queue_received_free(&r);
}

TEST_F(q, the_default_quota_is_sqs_s)
{
	EXPECT_EQ(120000, QUEUE_MAX_INFLIGHT);
}

TEST_HARNESS_MAIN

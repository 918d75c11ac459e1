/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared fixture of the queue store tests: a real LMDB store in a temporary
 * directory (removed in teardown) and a clock the test moves by hand.
 * Include after ../harness.h.
 */
#ifndef BPFBUS_SELFTESTS_QUEUE_TEST_H
#define BPFBUS_SELFTESTS_QUEUE_TEST_H

#include "queue.h"
#include "store_test.h"

/* Tests with a fixture of their own define QT_NO_FIXTURE and use the helpers above. */
#ifndef QT_NO_FIXTURE
FIXTURE(q)
{
	char dir[64];
	int64_t now;
	struct queue_store *st;
	struct queue_result res;
};

/* The store's in-flight quota at the next open (0: SQS's). */
static __attribute__((unused)) long qt_max_inflight;

static __attribute__((unused)) struct queue_store *qt_open(FIXTURE_DATA(q) *self)
{
	struct queue_store_opts o = { .region = "eu-west-1",
				      .account = "123456789012",
				      .clock = qt_clock,
				      .clock_ctx = &self->now,
				      .max_inflight = qt_max_inflight };

	return queue_store_open(self->dir, &o, &self->res);
}

FIXTURE_SETUP(q)
{
	ASSERT_NE_NULL(flatdir_make(self->dir, sizeof(self->dir), "queue"));
	self->now = T0;
	self->st = qt_open(self);
	ASSERT_NE_NULL(self->st);
}

FIXTURE_TEARDOWN(q)
{
	queue_store_close(self->st);
	qt_rmrf(self->dir);
}

/* Close and reopen the store: what survives is what was committed. */
static __attribute__((unused)) void qt_reopen(FIXTURE_DATA(q) *self)
{
	queue_store_close(self->st);
	self->st = qt_open(self);
	ASSERT_NE_NULL(self->st);
}

#define QOK(call)                                                                            \
	do {                                                                                 \
		int _rc = (call);                                                            \
		if (_rc)                                                                     \
			TH_LOG("%s: %s", queue_err_code(self->res.code), self->res.message); \
		ASSERT_EQ(0, _rc);                                                           \
	} while (0)

/* The call fails with error @code. */
#define QERR(want, call)                                                                         \
	do {                                                                                     \
		int _rc = (call);                                                                \
		ASSERT_EQ(-1, _rc);                                                              \
		if (self->res.code != (want))                                                    \
			TH_LOG("got %s: %s", queue_err_code(self->res.code), self->res.message); \
		ASSERT_EQ(want, self->res.code);                                                 \
	} while (0)

static __attribute__((unused)) void qt_create(FIXTURE_DATA(q) *self, const char *name,
					      const struct queue_kv *attrs, size_t n)
{
	QOK(queue_create(self->st, name, attrs, n, NULL, 0, &self->res));
}

/* Send @body (a standard-queue message, or FIFO with @group); returns the result. */
static __attribute__((unused)) struct queue_send_result qt_send(FIXTURE_DATA(q) *self,
								const char *queue, const char *body,
								const char *group,
								const char *dedup)
{
	struct queue_send_entry e = { .body = body,
				      .body_len = strlen(body),
				      .delay_seconds = QUEUE_DELAY_UNSET,
				      .group_id = group,
				      .dedup_id = dedup };
	struct queue_send_result r;

	memset(&r, 0, sizeof(r));
	QOK(queue_send(self->st, queue, &e, &r, &self->res));
	return r;
}

/* Receive up to @max with visibility @vt (QUEUE_VISIBILITY_UNSET: the queue's). */
static __attribute__((unused)) void qt_recv(FIXTURE_DATA(q) *self, const char *queue, int max,
					    int vt, struct queue_received *out)
{
	struct queue_receive_req req = { .max_messages = max, .visibility_timeout = vt };

	QOK(queue_receive(self->st, queue, &req, out, &self->res));
}

/* The value of one queue attribute, as a number. */
static __attribute__((unused)) long qt_attr(FIXTURE_DATA(q) *self, const char *queue,
					    const char *name)
{
	struct queue_kv_list l;
	long v;

	QOK(queue_get_attributes(self->st, queue, &name, 1, &l, &self->res));
	ASSERT_EQ(1, l.n);
	v = strtol(l.v[0].value, NULL, 10);
	queue_kv_list_free(&l);
	return v;
}

#endif /* QT_NO_FIXTURE */

#endif

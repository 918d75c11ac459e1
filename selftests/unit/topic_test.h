/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Shared fixture of the topic store tests: the queue store fixture (a real
 * LMDB store in a temporary directory, a hand-moved clock) plus a topic
 * store inside it. Include after ../harness.h.
 */
#ifndef BPFBUS_SELFTESTS_TOPIC_TEST_H
#define BPFBUS_SELFTESTS_TOPIC_TEST_H

#include "queue.h"
#include "store_test.h"
#include "topic.h"

#define ARN(name) "arn:aws:sns:eu-west-1:123456789012:" name
#define QARN(name) "arn:aws:sqs:eu-west-1:123456789012:" name

FIXTURE(t)
{
	char dir[64];
	int64_t now;
	struct queue_store *qs;
	struct topic_store *ts;
	struct queue_result qres;
	struct topic_result res;
};

static __attribute__((unused)) void tt_open(FIXTURE_DATA(t) *self)
{
	struct queue_store_opts o = { .region = "eu-west-1",
				      .account = "123456789012",
				      .clock = qt_clock,
				      .clock_ctx = &self->now };
	struct topic_store_opts to = { .endpoint_url = "http://127.0.0.1:9911" };

	self->qs = queue_store_open(self->dir, &o, &self->qres);
	ASSERT_NE_NULL(self->qs);
	self->ts = topic_store_open(self->qs, &to, &self->res);
	if (!self->ts)
		TH_LOG("%s: %s", topic_err_code(self->res.code), self->res.message);
	ASSERT_NE_NULL(self->ts);
}

static __attribute__((unused)) void tt_close(FIXTURE_DATA(t) *self)
{
	topic_store_close(self->ts);
	queue_store_close(self->qs);
	self->ts = NULL;
	self->qs = NULL;
}

FIXTURE_SETUP(t)
{
	ASSERT_NE_NULL(flatdir_make(self->dir, sizeof(self->dir), "topic"));
	self->now = T0;
	tt_open(self);
}

FIXTURE_TEARDOWN(t)
{
	tt_close(self);
	qt_rmrf(self->dir);
}

#define TOK(call)                                                                            \
	do {                                                                                 \
		int _rc = (call);                                                            \
		if (_rc)                                                                     \
			TH_LOG("%s: %s", topic_err_code(self->res.code), self->res.message); \
		ASSERT_EQ(0, _rc);                                                           \
	} while (0)

/* The call fails with error @want and a message containing @text. */
#define TERR(want, text, call)                                                                   \
	do {                                                                                     \
		int _rc = (call);                                                                \
		ASSERT_EQ(-1, _rc);                                                              \
		if (self->res.code != (want) || !strstr(self->res.message, text))                \
			TH_LOG("got %s: %s", topic_err_code(self->res.code), self->res.message); \
		ASSERT_EQ(want, self->res.code);                                                 \
		ASSERT_NE_NULL(strstr(self->res.message, text));                                 \
	} while (0)

static __attribute__((unused)) void tt_topic(FIXTURE_DATA(t) *self, const char *name,
					     const struct queue_kv *attrs, size_t n)
{
	char arn[300];

	TOK(topic_create(self->ts, name, attrs, n, NULL, 0, arn, sizeof(arn), &self->res));
}

static __attribute__((unused)) void tt_queue(FIXTURE_DATA(t) *self, const char *name,
					     const struct queue_kv *attrs, size_t n)
{
	int rc = queue_create(self->qs, name, attrs, n, NULL, 0, &self->qres);

	if (rc)
		TH_LOG("%s", self->qres.message);
	ASSERT_EQ(0, rc);
}

/* Subscribe @endpoint with protocol @proto; returns the subscription ARN (static buffer). */
static __attribute__((unused)) const char *tt_sub(FIXTURE_DATA(t) *self, const char *topic_arn,
						  const char *proto, const char *endpoint,
						  const struct queue_kv *attrs, size_t n)
{
	static char arn[8][600];
	static int next;
	char *out = arn[next++ % 8];

	TOK(topic_subscribe(self->ts, topic_arn, proto, endpoint, attrs, n, true, out, 600,
			    &self->res));
	return out;
}

/* Publish @msg with @n attributes; returns the result. */
static __attribute__((unused)) struct topic_publish_result
tt_publish(FIXTURE_DATA(t) *self, const char *topic_arn, const char *msg,
	   const struct queue_msg_attr *attrs, size_t n)
{
	struct topic_publish_entry e = { .message = msg, .attrs = attrs, .nattrs = n };
	struct topic_publish_result r;

	TOK(topic_publish(self->ts, topic_arn, &e, &r, &self->res));
	return r;
}

/* Receive everything from @queue (all attributes), up to 10. */
static __attribute__((unused)) void tt_recv(FIXTURE_DATA(t) *self, const char *queue,
					    struct queue_received *out)
{
	static const char *const all[] = { "All" };
	struct queue_receive_req req = { .max_messages = 10,
					 .visibility_timeout = QUEUE_VISIBILITY_UNSET,
					 .attr_names = all,
					 .nattr_names = 1 };
	int rc = queue_receive(self->qs, queue, &req, out, &self->qres);

	if (rc)
		TH_LOG("%s", self->qres.message);
	ASSERT_EQ(0, rc);
}

/* Value of attribute @name in @l, NULL if absent. */
static __attribute__((unused)) const char *tt_kv(const struct queue_kv_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].name, name))
			return l->v[i].value;
	return NULL;
}

#endif

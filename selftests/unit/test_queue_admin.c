// SPDX-License-Identifier: BSD-2-Clause
/*
 * Queue store: CreateQueue, attributes and their limits, RedrivePolicy,
 * ListQueues, DeleteQueue, PurgeQueue, tags, errors, persistence, group commit.
 */
#include "../harness.h"
#include "queue_test.h"

static char *attr_of(FIXTURE_DATA(q) *self, const char *queue, const char *name)
{
	struct queue_kv_list l;
	char *v;

	QOK(queue_get_attributes(self->st, queue, &name, 1, &l, &self->res));
	ASSERT_EQ(1, l.n);
	v = strdup(l.v[0].value);
	queue_kv_list_free(&l);
	return v;
}

TEST(error_names)
{
	EXPECT_STREQ("AWS.SimpleQueueService.NonExistentQueue",
		     queue_err_code(QE_QUEUE_DOES_NOT_EXIST));
	EXPECT_STREQ("QueueDoesNotExist", queue_err_type(QE_QUEUE_DOES_NOT_EXIST));
	EXPECT_STREQ("QueueAlreadyExists", queue_err_code(QE_QUEUE_ALREADY_EXISTS));
	EXPECT_STREQ("QueueNameExists", queue_err_type(QE_QUEUE_ALREADY_EXISTS));
	EXPECT_STREQ("AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
		     queue_err_code(QE_TOO_MANY_ENTRIES_IN_BATCH_REQUEST));
	EXPECT_STREQ("ReceiptHandleIsInvalid", queue_err_code(QE_RECEIPT_HANDLE_IS_INVALID));
	EXPECT_EQ(400, queue_err_http_status(QE_INVALID_PARAMETER_VALUE));
	EXPECT_EQ(500, queue_err_http_status(QE_INTERNAL_ERROR));
	EXPECT_TRUE(queue_err_is_sender(QE_MISSING_PARAMETER));
	EXPECT_FALSE(queue_err_is_sender(QE_INTERNAL_ERROR));
}

TEST_F(q, create_lookup_list)
{
	struct queue_kv_list l;

	qt_create(self, "orders", NULL, 0);
	qt_create(self, "orders-eu", NULL, 0);
	qt_create(self, "billing", NULL, 0);
	QOK(queue_lookup(self->st, "orders", &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_lookup(self->st, "nope", &self->res));
	EXPECT_STREQ("The specified queue does not exist.", self->res.message);
	{
		char long_name[600];

		memset(long_name, 'x', sizeof(long_name) - 1);
		long_name[sizeof(long_name) - 1] = '\0';
		QERR(QE_QUEUE_DOES_NOT_EXIST, queue_lookup(self->st, long_name, &self->res));
		QERR(QE_QUEUE_DOES_NOT_EXIST, queue_lookup(self->st, "", &self->res));
	}
	QOK(queue_list(self->st, "orders", 0, &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ("orders", l.v[0].name);
	EXPECT_STREQ("orders-eu", l.v[1].name);
	queue_kv_list_free(&l);
	QOK(queue_list(self->st, NULL, 2, &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ("billing", l.v[0].name);
	queue_kv_list_free(&l);
}

TEST_F(q, queue_names)
{
	static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
	static const struct queue_kv nofifo[] = { { "FifoQueue", "false" } };
	char name[100];

	memset(name, 'a', 80);
	name[80] = '\0';
	qt_create(self, name, NULL, 0);
	name[80] = 'a';
	name[81] = '\0';
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, name, NULL, 0, NULL, 0, &self->res));
	EXPECT_STREQ("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 "
		     "in length",
		     self->res.message);
	QERR(QE_MISSING_PARAMETER, queue_create(self->st, "", NULL, 0, NULL, 0, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "a b", NULL, 0, NULL, 0, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "a.b", NULL, 0, NULL, 0, &self->res));
	/* The suffix and FifoQueue must agree. */
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "jobs.fifo", NULL, 0, NULL, 0, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "jobs.fifo", nofifo, 1, NULL, 0, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "jobs", fifo, 1, NULL, 0, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, ".fifo", fifo, 1, NULL, 0, &self->res));
	qt_create(self, "jobs.fifo", fifo, 1);
	memset(name, 'b', 75);
	strcpy(name + 75, ".fifo");
	qt_create(self, name, fifo, 1);
	memset(name, 'c', 76);
	strcpy(name + 76, ".fifo");
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, name, fifo, 1, NULL, 0, &self->res));
}

TEST_F(q, create_existing)
{
	static const struct queue_kv a[] = { { "VisibilityTimeout", "60" } };
	static const struct queue_kv b[] = { { "VisibilityTimeout", "61" } };

	qt_create(self, "orders", a, 1);
	qt_create(self, "orders", a, 1);
	qt_create(self, "orders", NULL, 0);
	QERR(QE_QUEUE_ALREADY_EXISTS, queue_create(self->st, "orders", b, 1, NULL, 0, &self->res));
	EXPECT_STREQ("A queue already exists with the same name and a different value for "
		     "attribute VisibilityTimeout",
		     self->res.message);
}

TEST_F(q, default_attributes)
{
	static const char *all = "All";
	struct queue_kv_list l;
	static const struct {
		const char *name, *value;
	} want[] = {
		{ "DelaySeconds", "0" },
		{ "MaximumMessageSize", "1048576" },
		{ "MessageRetentionPeriod", "345600" },
		{ "ReceiveMessageWaitTimeSeconds", "0" },
		{ "VisibilityTimeout", "30" },
		{ "ApproximateNumberOfMessages", "0" },
		{ "ApproximateNumberOfMessagesNotVisible", "0" },
		{ "ApproximateNumberOfMessagesDelayed", "0" },
		{ "CreatedTimestamp", "1700000000" },
		{ "LastModifiedTimestamp", "1700000000" },
		{ "QueueArn", "arn:aws:sqs:eu-west-1:123456789012:orders" },
	};

	qt_create(self, "orders", NULL, 0);
	QOK(queue_get_attributes(self->st, "orders", &all, 1, &l, &self->res));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		bool found = false;

		for (size_t j = 0; j < l.n; j++) {
			if (strcmp(l.v[j].name, want[i].name))
				continue;
			found = true;
			EXPECT_STREQ(want[i].value, l.v[j].value);
		}
		if (!found)
			TH_LOG("missing %s", want[i].name);
		EXPECT_TRUE(found);
	}
	for (size_t j = 0; j < l.n; j++) {
		EXPECT_STRNE("FifoQueue", l.v[j].name);
		EXPECT_STRNE("RedrivePolicy", l.v[j].name);
	}
	queue_kv_list_free(&l);
}

TEST_F(q, attribute_limits)
{
	static const struct {
		const char *name, *bad, *good;
	} cases[] = {
		{ "VisibilityTimeout", "43201", "43200" },
		{ "VisibilityTimeout", "-1", "0" },
		{ "VisibilityTimeout", "abc", "12" },
		{ "DelaySeconds", "901", "900" },
		{ "DelaySeconds", "-1", "0" },
		{ "MessageRetentionPeriod", "59", "60" },
		{ "MessageRetentionPeriod", "1209601", "1209600" },
		{ "MaximumMessageSize", "1023", "1024" },
		{ "MaximumMessageSize", "1048577", "1048576" },
		{ "ReceiveMessageWaitTimeSeconds", "21", "20" },
		{ "KmsDataKeyReusePeriodSeconds", "59", "86400" },
		{ "SqsManagedSseEnabled", "yes", "true" },
		{ "Policy", "[1]", "{\"Version\":\"2012-10-17\"}" },
	};

	qt_create(self, "orders", NULL, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct queue_kv bad = { cases[i].name, cases[i].bad };
		struct queue_kv good = { cases[i].name, cases[i].good };
		char *v;

		QERR(QE_INVALID_ATTRIBUTE_VALUE,
		     queue_set_attributes(self->st, "orders", &bad, 1, &self->res));
		QERR(QE_INVALID_ATTRIBUTE_VALUE,
		     queue_create(self->st, "other", &bad, 1, NULL, 0, &self->res));
		QOK(queue_set_attributes(self->st, "orders", &good, 1, &self->res));
		v = attr_of(self, "orders", cases[i].name);
		EXPECT_STREQ(cases[i].good, v);
		free(v);
	}
	{
		struct queue_kv bad = { "VisibilityTimeout", "43201" };

		QERR(QE_INVALID_ATTRIBUTE_VALUE,
		     queue_set_attributes(self->st, "orders", &bad, 1, &self->res));
		EXPECT_STREQ("Invalid value for the parameter VisibilityTimeout.",
			     self->res.message);
	}
}

TEST_F(q, unknown_and_fifo_only_attributes)
{
	static const struct queue_kv unknown[] = { { "Colour", "blue" } };
	static const struct queue_kv cbd[] = { { "ContentBasedDeduplication", "true" } };
	static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
	static const char *names[] = { "VisibilityTimeout", "Colour" };
	struct queue_kv_list l;

	qt_create(self, "orders", NULL, 0);
	QERR(QE_INVALID_ATTRIBUTE_NAME,
	     queue_set_attributes(self->st, "orders", unknown, 1, &self->res));
	EXPECT_STREQ("Unknown Attribute Colour.", self->res.message);
	QERR(QE_INVALID_ATTRIBUTE_NAME,
	     queue_set_attributes(self->st, "orders", cbd, 1, &self->res));
	QERR(QE_INVALID_ATTRIBUTE_NAME, queue_create(self->st, "std", cbd, 1, NULL, 0, &self->res));
	QERR(QE_INVALID_ATTRIBUTE_NAME,
	     queue_get_attributes(self->st, "orders", names, 2, &l, &self->res));
	/* FifoQueue cannot be changed after creation. */
	qt_create(self, "jobs.fifo", fifo, 1);
	QERR(QE_INVALID_ATTRIBUTE_NAME,
	     queue_set_attributes(self->st, "jobs.fifo", fifo, 1, &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST,
	     queue_set_attributes(self->st, "missing", cbd, 1, &self->res));
}

TEST_F(q, fifo_attributes)
{
	static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
	static const struct queue_kv high[] = { { "DeduplicationScope", "messageGroup" },
						{ "FifoThroughputLimit", "perMessageGroupId" } };
	static const struct queue_kv bad_combo[] = { { "DeduplicationScope", "queue" } };
	static const struct queue_kv bad_value[] = { { "FifoThroughputLimit", "perGroup" } };
	static const struct queue_kv only_tput[] = {
		{ "FifoQueue", "true" }, { "FifoThroughputLimit", "perMessageGroupId" }
	};
	char *v;

	qt_create(self, "jobs.fifo", fifo, 1);
	v = attr_of(self, "jobs.fifo", "DeduplicationScope");
	EXPECT_STREQ("queue", v);
	free(v);
	v = attr_of(self, "jobs.fifo", "FifoThroughputLimit");
	EXPECT_STREQ("perQueue", v);
	free(v);
	v = attr_of(self, "jobs.fifo", "ContentBasedDeduplication");
	EXPECT_STREQ("false", v);
	free(v);
	QOK(queue_set_attributes(self->st, "jobs.fifo", high, 2, &self->res));
	v = attr_of(self, "jobs.fifo", "FifoThroughputLimit");
	EXPECT_STREQ("perMessageGroupId", v);
	free(v);
	/* perMessageGroupId needs DeduplicationScope messageGroup. */
	QERR(QE_INVALID_ATTRIBUTE_VALUE,
	     queue_set_attributes(self->st, "jobs.fifo", bad_combo, 1, &self->res));
	QERR(QE_INVALID_ATTRIBUTE_VALUE,
	     queue_set_attributes(self->st, "jobs.fifo", bad_value, 1, &self->res));
	QERR(QE_INVALID_ATTRIBUTE_VALUE,
	     queue_create(self->st, "t.fifo", only_tput, 2, NULL, 0, &self->res));
}

TEST_F(q, redrive_policy)
{
	static const struct queue_kv fifo[] = { { "FifoQueue", "true" } };
	struct queue_kv rp = { "RedrivePolicy", NULL };
	struct queue_kv_list l;
	char *v;

	qt_create(self, "dlq", NULL, 0);
	qt_create(self, "dlq.fifo", fifo, 1);
	qt_create(self, "orders", NULL, 0);
	rp.value = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:missing\","
		   "\"maxReceiveCount\":3}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Dead letter target does not exist.") != NULL);
	rp.value = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		   "\"maxReceiveCount\":0}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	EXPECT_TRUE(strstr(self->res.message, "Reason: Invalid value for maxReceiveCount: 0, valid "
					      "values are from 1 to 1000 both inclusive.") != NULL);
	rp.value = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		   "\"maxReceiveCount\":1001}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	rp.value = "{\"maxReceiveCount\":5}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	rp.value = "not json";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	/* Same type only. */
	rp.value = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq.fifo\","
		   "\"maxReceiveCount\":3}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	/* maxReceiveCount as a string is accepted and normalised. */
	rp.value = "{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		   "\"maxReceiveCount\":\"5\"}";
	QOK(queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	v = attr_of(self, "orders", "RedrivePolicy");
	EXPECT_STREQ("{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		     "\"maxReceiveCount\":5}",
		     v);
	free(v);
	QOK(queue_list_dlq_sources(self->st, "dlq", &l, &self->res));
	ASSERT_EQ(1, l.n);
	EXPECT_STREQ("orders", l.v[0].name);
	queue_kv_list_free(&l);
	/* "" removes it. */
	rp.value = "";
	QOK(queue_set_attributes(self->st, "orders", &rp, 1, &self->res));
	QOK(queue_list_dlq_sources(self->st, "dlq", &l, &self->res));
	EXPECT_EQ(0, l.n);
	queue_kv_list_free(&l);
}

TEST_F(q, redrive_allow_policy)
{
	struct queue_kv allow = { "RedriveAllowPolicy", NULL };
	struct queue_kv rp = {
		"RedrivePolicy",
		"{\"deadLetterTargetArn\":\"arn:aws:sqs:eu-west-1:123456789012:dlq\","
		"\"maxReceiveCount\":3}"
	};

	qt_create(self, "dlq", NULL, 0);
	qt_create(self, "a", NULL, 0);
	qt_create(self, "b", NULL, 0);
	allow.value = "{\"redrivePermission\":\"sometimes\"}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "dlq", &allow, 1, &self->res));
	allow.value = "{\"redrivePermission\":\"byQueue\"}";
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_set_attributes(self->st, "dlq", &allow, 1, &self->res));
	allow.value = "{\"redrivePermission\":\"denyAll\"}";
	QOK(queue_set_attributes(self->st, "dlq", &allow, 1, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE, queue_set_attributes(self->st, "a", &rp, 1, &self->res));
	allow.value = "{\"redrivePermission\":\"byQueue\",\"sourceQueueArns\":"
		      "[\"arn:aws:sqs:eu-west-1:123456789012:b\"]}";
	QOK(queue_set_attributes(self->st, "dlq", &allow, 1, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE, queue_set_attributes(self->st, "a", &rp, 1, &self->res));
	QOK(queue_set_attributes(self->st, "b", &rp, 1, &self->res));
}

TEST_F(q, delete_and_recreate)
{
	qt_create(self, "orders", NULL, 0);
	qt_send(self, "orders", "hello", NULL, NULL);
	QOK(queue_delete(self->st, "orders", &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_delete(self->st, "orders", &self->res));
	self->now += 59000;
	QERR(QE_QUEUE_DELETED_RECENTLY,
	     queue_create(self->st, "orders", NULL, 0, NULL, 0, &self->res));
	EXPECT_STREQ("You must wait 60 seconds after deleting a queue before you can create "
		     "another with the same name.",
		     self->res.message);
	self->now += 1000;
	qt_create(self, "orders", NULL, 0);
	/* The new queue starts empty. */
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
}

TEST_F(q, purge)
{
	qt_create(self, "orders", NULL, 0);
	for (int i = 0; i < 5; i++)
		qt_send(self, "orders", "x", NULL, NULL);
	EXPECT_EQ(5, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	QOK(queue_purge(self->st, "orders", &self->res));
	EXPECT_EQ(0, qt_attr(self, "orders", "ApproximateNumberOfMessages"));
	self->now += 30000;
	QERR(QE_PURGE_QUEUE_IN_PROGRESS, queue_purge(self->st, "orders", &self->res));
	EXPECT_STREQ("Only one PurgeQueue operation on orders is allowed every 60 seconds.",
		     self->res.message);
	self->now += 30000;
	QOK(queue_purge(self->st, "orders", &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_purge(self->st, "nope", &self->res));
}

TEST_F(q, tags)
{
	static const struct queue_kv create_tags[] = { { "team", "core" } };
	struct queue_kv t[51];
	char keys[51][8];
	const char *untag[] = { "team", "absent" };
	struct queue_kv_list l;

	QOK(queue_create(self->st, "orders", NULL, 0, create_tags, 1, &self->res));
	QOK(queue_tag(self->st, "orders", &(struct queue_kv){ "env", "prod" }, 1, &self->res));
	QOK(queue_list_tags(self->st, "orders", &l, &self->res));
	ASSERT_EQ(2, l.n);
	EXPECT_STREQ("env", l.v[0].name);
	EXPECT_STREQ("prod", l.v[0].value);
	EXPECT_STREQ("team", l.v[1].name);
	queue_kv_list_free(&l);
	QOK(queue_untag(self->st, "orders", untag, 2, &self->res));
	QOK(queue_list_tags(self->st, "orders", &l, &self->res));
	EXPECT_EQ(1, l.n);
	queue_kv_list_free(&l);
	/* Limits: 50 tags, keys 1..128, values up to 256, no aws: prefix. */
	for (int i = 0; i < 51; i++) {
		snprintf(keys[i], sizeof(keys[i]), "k%d", i);
		t[i] = (struct queue_kv){ keys[i], "v" };
	}
	QOK(queue_tag(self->st, "orders", t, 49, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE, queue_tag(self->st, "orders", t + 49, 1, &self->res));
	EXPECT_STREQ("Too many tags added for queue orders.", self->res.message);
	QOK(queue_tag(self->st, "orders", t, 1, &self->res)); /* an update, not a new tag */
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_tag(self->st, "orders", &(struct queue_kv){ "aws:x", "v" }, 1, &self->res));
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_tag(self->st, "orders", &(struct queue_kv){ "", "v" }, 1, &self->res));
	QERR(QE_MISSING_PARAMETER, queue_tag(self->st, "orders", t, 0, &self->res));
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_list_tags(self->st, "nope", &l, &self->res));
}

TEST_F(q, last_modified)
{
	static const struct queue_kv a[] = { { "DelaySeconds", "5" } };

	qt_create(self, "orders", NULL, 0);
	self->now += 10000;
	QOK(queue_set_attributes(self->st, "orders", a, 1, &self->res));
	EXPECT_EQ(1700000000, qt_attr(self, "orders", "CreatedTimestamp"));
	EXPECT_EQ(1700000010, qt_attr(self, "orders", "LastModifiedTimestamp"));
}

TEST_F(q, survives_reopen)
{
	static const struct queue_kv a[] = { { "VisibilityTimeout", "77" } };
	struct queue_kv_list l;

	QOK(queue_create(self->st, "orders", a, 1, &(struct queue_kv){ "k", "v" }, 1, &self->res));
	qt_reopen(self);
	EXPECT_EQ(77, qt_attr(self, "orders", "VisibilityTimeout"));
	QOK(queue_list_tags(self->st, "orders", &l, &self->res));
	EXPECT_EQ(1, l.n);
	queue_kv_list_free(&l);
	/* A new queue after reopen gets a fresh id: no messages are shared. */
	qt_send(self, "orders", "m", NULL, NULL);
	qt_create(self, "second", NULL, 0);
	EXPECT_EQ(0, qt_attr(self, "second", "ApproximateNumberOfMessages"));
}

TEST_F(q, group_commit_abort_and_commit)
{
	QOK(queue_txn_begin(self->st, &self->res));
	qt_create(self, "a", NULL, 0);
	/* A failing call inside leaves the group usable. */
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_lookup(self->st, "b", &self->res));
	queue_txn_abort(self->st);
	QERR(QE_QUEUE_DOES_NOT_EXIST, queue_lookup(self->st, "a", &self->res));
	QOK(queue_txn_begin(self->st, &self->res));
	QERR(QE_INTERNAL_ERROR, queue_txn_begin(self->st, &self->res));
	qt_create(self, "a", NULL, 0);
	QERR(QE_INVALID_PARAMETER_VALUE,
	     queue_create(self->st, "bad name", NULL, 0, NULL, 0, &self->res));
	QOK(queue_txn_commit(self->st, &self->res));
	qt_reopen(self);
	QOK(queue_lookup(self->st, "a", &self->res));
	QERR(QE_INTERNAL_ERROR, queue_txn_commit(self->st, &self->res));
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/* SQS message move tasks (sqs_api.h): Start, Cancel and ListMessageMoveTasks. */
#include "sqs_api_int.h"

#include <string.h>

int sqs_start_message_move_task(struct sqs_call *c)
{
	const char *src, *dst;
	struct queue_result r;
	char handle[128];
	bool has_rate;
	int rate = 0;

	if (sqs_get_string(c, c->req, "SourceArn", true, &src) ||
	    sqs_get_string(c, c->req, "DestinationArn", false, &dst) ||
	    sqs_get_int(c, c->req, "MaxNumberOfMessagesPerSecond", &rate, &has_rate))
		return -1;
	if (has_rate && (rate < 1 || rate > 500))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value %d for parameter MaxNumberOfMessagesPerSecond is invalid. "
				"Reason: Must be between 1 and 500, if provided.",
				rate);
	if (queue_move_start(c->api->st, src, dst && *dst ? dst : NULL, rate, handle,
			     sizeof(handle), &r))
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	sj_str(&c->out, "TaskHandle", handle);
	sj_close(&c->out, '}');
	return 0;
}

int sqs_cancel_message_move_task(struct sqs_call *c)
{
	struct queue_result r;
	const char *handle;
	long moved = 0;

	if (sqs_get_string(c, c->req, "TaskHandle", true, &handle))
		return -1;
	if (queue_move_cancel(c->api->st, handle, &moved, &r))
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	sj_int(&c->out, "ApproximateNumberOfMessagesMoved", moved);
	sj_close(&c->out, '}');
	return 0;
}

static void put_task(struct strbuf *sb, const struct queue_move_task *t)
{
	sj_open(sb, NULL, '{');
	/* SQS gives the handle of running tasks only: only they can be cancelled. */
	if (!strcmp(t->status, "RUNNING"))
		sj_str(sb, "TaskHandle", t->handle);
	sj_str(sb, "Status", t->status);
	sj_str(sb, "SourceArn", t->source_arn);
	if (t->destination_arn)
		sj_str(sb, "DestinationArn", t->destination_arn);
	if (t->max_per_second)
		sj_int(sb, "MaxNumberOfMessagesPerSecond", t->max_per_second);
	sj_int(sb, "ApproximateNumberOfMessagesMoved", t->moved);
	sj_int(sb, "ApproximateNumberOfMessagesToMove", t->to_move);
	if (t->failure_reason)
		sj_str(sb, "FailureReason", t->failure_reason);
	sj_int(sb, "StartedTimestamp", t->started_ms);
	sj_close(sb, '}');
}

int sqs_list_message_move_tasks(struct sqs_call *c)
{
	struct queue_move_task_list l;
	struct queue_result r;
	const char *src;
	bool has_max;
	int max = 1;

	if (sqs_get_string(c, c->req, "SourceArn", true, &src) ||
	    sqs_get_int(c, c->req, "MaxResults", &max, &has_max))
		return -1;
	if (has_max && (max < 1 || max > 10))
		return sqs_fail(c, QE_INVALID_PARAMETER_VALUE,
				"Value %d for parameter MaxResults is invalid. Reason: Must be "
				"between 1 and 10, if provided.",
				max);
	if (queue_move_list(c->api->st, src, max, &l, &r))
		return sqs_fail_result(c, &r);
	sj_open(&c->out, NULL, '{');
	sj_open(&c->out, "Results", '[');
	for (size_t i = 0; i < l.n; i++)
		put_task(&c->out, &l.v[i]);
	sj_close(&c->out, ']');
	sj_close(&c->out, '}');
	queue_move_task_list_free(&l);
	return 0;
}

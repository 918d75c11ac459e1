/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SQS API over the queue store (docs/api.md): one call per request, in
 * the request and response shapes of the AWS JSON 1.0 protocol (the bodies
 * current SDKs send with "X-Amz-Target: AmazonSQS.<Action>"). The HTTP
 * listener uses it for both SQS protocols (the query protocol is translated
 * into these shapes) and the daemon's control socket sends the same shapes.
 *
 * Queues are addressed by URL, "<endpoint>/<account>/<name>", as SQS does;
 * a bare queue name is accepted too (for the control socket). Integers may be
 * JSON numbers or decimal strings (the query protocol has only strings).
 *
 * Not thread-safe, like the store under it: callers serialise.
 */
#ifndef BPFBUS_LIB_SQS_API_H
#define BPFBUS_LIB_SQS_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct queue_store;
struct strbuf;

struct sqs_api_config {
	const char *account_id; /* default "000000000000" */
	const char *region; /* default "us-east-1" */
	/* Base of queue URLs, no trailing slash; default "https://sqs.<region>.amazonaws.com". */
	const char *endpoint;
};

struct sqs_api {
	struct queue_store *st;
	char account_id[16];
	char region[32];
	char endpoint[256];
	char woken[96]; /* see sqs_api_woken_queue() */
};

/* An error for every protocol: the JSON __type, the query code, status and message. */
struct sqs_api_error {
	int http_status; /* 400, 403, 404, 500 */
	char type[96]; /* JSON 1.0 "__type", e.g. "com.amazonaws.sqs#QueueDoesNotExist" */
	char code[96]; /* query code, e.g. "AWS.SimpleQueueService.NonExistentQueue" */
	bool sender; /* fault: Sender (true) or Receiver */
	char message[512];
};

/* Copies the configuration. Returns 0, or -1 when a value is too long or malformed. */
int sqs_api_init(struct sqs_api *api, struct queue_store *st, const struct sqs_api_config *cfg);

/* True when @action is an SQS action this dispatcher knows. */
bool sqs_api_has_action(const char *action);

/*
 * Run SQS action @action ("SendMessage") on the JSON request @json_req of
 * @len bytes. On success returns 0 and appends the JSON response body to
 * @json_resp ("{}" for actions without output). On failure returns -1 with
 * @err filled and nothing appended. ReceiveMessage never waits here.
 */
int sqs_dispatch(struct sqs_api *api, const char *action, const char *json_req, size_t len,
		 struct strbuf *json_resp, struct sqs_api_error *err);

/*
 * Long polling. A ReceiveMessage that finds nothing while the request's
 * WaitTimeSeconds (or the queue's ReceiveMessageWaitTimeSeconds) is above
 * zero sets @poll->wait and returns 0 with nothing appended: the caller
 * parks the request until a send to @poll->queue, @poll->next_visible_ms or
 * the end of the wait, and calls again with @poll->no_wait set once the wait
 * is over (the call then answers, with an empty list if still nothing).
 */
struct sqs_poll {
	bool no_wait; /* in: answer now */
	bool wait; /* out: nothing yet, park and call again */
	int wait_seconds; /* out: the effective wait */
	int64_t next_visible_ms; /* out: when a delay or visibility ends next; 0: only a send */
	char queue[96]; /* out: the queue name waited on */
};

int sqs_dispatch_poll(struct sqs_api *api, const char *action, const char *json_req, size_t len,
		      struct sqs_poll *poll, struct strbuf *json_resp, struct sqs_api_error *err);

/*
 * After a successful call: the queue that may have gained receivable
 * messages (SendMessage(Batch), ChangeMessageVisibility(Batch), move tasks'
 * destinations are not tracked), so a listener can wake its long polls.
 * Empty when none.
 */
const char *sqs_api_woken_queue(const struct sqs_api *api);

/*
 * The ARN a request acts on, for access checks: its SourceArn, or the ARN of
 * the queue its QueueUrl or QueueName names; "" when none (ListQueues).
 */
void sqs_api_request_arn(const struct sqs_api *api, const char *json_req, size_t len, char *arn,
			 size_t cap);

/* "<endpoint>/<account>/<name>" */
void sqs_queue_url(const struct sqs_api *api, const char *name, char *buf, size_t cap);

#endif

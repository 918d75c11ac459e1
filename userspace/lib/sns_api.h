/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The SNS API in AWS's query protocol, over the topic store (docs/topics.md).
 *
 * The HTTP listener parses the request (the form body of a POST, or the
 * query string of a GET), URL-decodes names and values, authenticates it and
 * hands the (name, value) pairs here: "Action=Publish", "TopicArn=...",
 * "MessageAttributes.entry.1.Name=...", "MessageAttributes.entry.1.Value.
 * DataType=...", "Attributes.entry.1.key=...", "PublishBatchRequestEntries.
 * member.1.Id=...", "Tags.member.1.Key=..." and so on, exactly as botocore
 * serialises them. Version, and SigV4 parameters, are ignored.
 *
 * The answer is an HTTP status and an XML body (Content-Type text/xml), as
 * botocore parses SNS: <ActionResponse xmlns="http://sns.amazonaws.com/doc/
 * 2010-03-31/"><ActionResult>...</ActionResult><ResponseMetadata><RequestId>
 * ...</RequestId></ResponseMetadata></ActionResponse>, or an <ErrorResponse>
 * with <Error><Type>Sender|Receiver</Type><Code>..</Code><Message>..
 * </Message></Error><RequestId>..</RequestId>.
 *
 * Actions: CreateTopic, DeleteTopic, ListTopics, GetTopicAttributes,
 * SetTopicAttributes, Subscribe, Unsubscribe, ConfirmSubscription,
 * ListSubscriptions, ListSubscriptionsByTopic, GetSubscriptionAttributes,
 * SetSubscriptionAttributes, Publish, PublishBatch, TagResource,
 * UntagResource, ListTagsForResource. Anything else is InvalidAction.
 *
 * Like the store, not thread-safe: call it from the thread that owns the
 * queue and topic stores.
 */
#ifndef BPFBUS_LIB_SNS_API_H
#define BPFBUS_LIB_SNS_API_H

#include <stdbool.h>
#include <stddef.h>

struct topic_store;

struct sns_param {
	const char *name;
	const char *value;
};

struct sns_response {
	int status; /* HTTP status: 200, or the error's */
	char *body; /* XML, NUL-terminated; free with sns_response_free */
	size_t len;
};

/* Run one request. Always fills @out (errors are XML error responses). */
void sns_api_dispatch(struct topic_store *ts, const struct sns_param *params, size_t n,
		      struct sns_response *out);
/*
 * The same for a request that was not authenticated (@authenticated false:
 * a GET of a SubscribeURL or UnsubscribeURL, which SNS lets anyone holding
 * the link make; ConfirmSubscription's AuthenticateOnUnsubscribe then has
 * no effect, and Unsubscribe of a subscription confirmed with it is refused).
 */
void sns_api_dispatch_as(struct topic_store *ts, const struct sns_param *params, size_t n,
			 bool authenticated, struct sns_response *out);
void sns_response_free(struct sns_response *r);

/* Whether @action is one of the 17 actions above. */
bool sns_api_has_action(const char *action);
/*
 * The ARN a request acts on, for credentials limited to resources: its
 * TopicArn, TargetArn, SubscriptionArn or ResourceArn, the ARN CreateTopic
 * would create; "" when it names none (ListTopics, ListSubscriptions).
 */
void sns_api_resource(struct topic_store *ts, const struct sns_param *params, size_t n, char *arn,
		      size_t cap);

/* The Content-Type of every response body. */
#define SNS_CONTENT_TYPE "text/xml"

#endif

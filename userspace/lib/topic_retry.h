/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * SNS's HTTP/S delivery policy (docs/topics.md, "HTTP/S deliveries"): how
 * often and when a failed delivery to an http/https subscriber is retried,
 * and the Content-Type of its requests. Four phases after the first attempt:
 * numNoDelayRetries at once, numMinDelayRetries minDelayTarget apart, the
 * backoff phase from minDelayTarget to maxDelayTarget by backoffFunction,
 * numMaxDelayRetries maxDelayTarget apart; numRetries in all.
 */
#ifndef BPFBUS_LIB_TOPIC_RETRY_H
#define BPFBUS_LIB_TOPIC_RETRY_H

enum topic_backoff { TB_LINEAR, TB_ARITHMETIC, TB_GEOMETRIC, TB_EXPONENTIAL };

struct topic_retry_policy {
	int min_delay, max_delay; /* seconds */
	int num_retries, num_no_delay, num_min_delay, num_max_delay;
	enum topic_backoff backoff;
	char content_type[128]; /* requestPolicy.headerContentType */
	int max_receives_per_second; /* throttlePolicy.maxReceivesPerSecond; 0: unthrottled */
};

/*
 * The policy a subscription's deliveries follow: its own DeliveryPolicy
 * ({"healthyRetryPolicy": {...}, "requestPolicy": {...}}) unless the
 * topic's ({"http": {"defaultHealthyRetryPolicy": {...},
 * "disableSubscriptionOverrides": B, "defaultRequestPolicy": {...}}})
 * disables overrides; SNS's defaults for what neither sets (3 retries 20 s
 * apart, text/plain; charset=UTF-8, no throttling). The throttle is the
 * subscription's "throttlePolicy" or the topic's "defaultThrottlePolicy"
 * (maxReceivesPerSecond). NULL or unreadable texts count as unset.
 */
void topic_retry_policy_resolve(const char *sub_policy, const char *topic_policy,
				struct topic_retry_policy *out);

/* Seconds to wait before retry @k (1..num_retries) after the previous attempt. */
double topic_retry_delay(const struct topic_retry_policy *p, int k);

/*
 * SNS applies jitter to its retry delays (it does not say how): a delay is
 * shortened by up to a tenth, never lengthened, so the policy's maxDelayTarget
 * and its total time still hold. @u is uniform in [0, 1).
 */
double topic_retry_jitter(double delay, double u);

#endif

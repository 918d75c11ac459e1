// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS's HTTP/S delivery policy (topic_retry.h): which policy a subscription
 * follows, the delay before each retry through the four phases, and the URL
 * splitting of the deliveries' HTTP client (http_post.h).
 */
#include "../harness.h"
#include "http_post.h"
#include "topic_retry.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char topic_default[] =
	"{\"http\":{\"defaultHealthyRetryPolicy\":{\"minDelayTarget\":20,\"maxDelayTarget\":20,"
	"\"numRetries\":3,\"numMaxDelayRetries\":0,\"numNoDelayRetries\":0,"
	"\"numMinDelayRetries\":0,\"backoffFunction\":\"linear\"},"
	"\"disableSubscriptionOverrides\":false,"
	"\"defaultRequestPolicy\":{\"headerContentType\":\"text/plain; charset=UTF-8\"}}}";

static bool near(double a, double b)
{
	return fabs(a - b) < 1e-9;
}

TEST(defaults_without_policies)
{
	struct topic_retry_policy p;

	topic_retry_policy_resolve(NULL, NULL, &p);
	EXPECT_EQ(3, p.num_retries);
	EXPECT_STREQ("text/plain; charset=UTF-8", p.content_type);
	for (int k = 1; k <= 3; k++)
		EXPECT_TRUE(near(20, topic_retry_delay(&p, k)));
	/* unreadable texts count as unset */
	topic_retry_policy_resolve("{not json", "[]", &p);
	EXPECT_EQ(3, p.num_retries);
	EXPECT_EQ(20, p.min_delay);
}

TEST(subscription_overrides_topic_unless_disabled)
{
	const char *sub = "{\"healthyRetryPolicy\":{\"numRetries\":7,\"minDelayTarget\":2,"
			  "\"maxDelayTarget\":9},\"requestPolicy\":{\"headerContentType\":"
			  "\"application/json\"}}";
	char topic[600];
	struct topic_retry_policy p;

	topic_retry_policy_resolve(sub, topic_default, &p);
	EXPECT_EQ(7, p.num_retries);
	EXPECT_EQ(2, p.min_delay);
	EXPECT_EQ(9, p.max_delay);
	EXPECT_STREQ("application/json", p.content_type);
	snprintf(topic, sizeof(topic), "%s", topic_default);
	memcpy(strstr(topic, "false"), "true ", 5);
	topic_retry_policy_resolve(sub, topic, &p);
	EXPECT_EQ(3, p.num_retries);
	EXPECT_STREQ("text/plain; charset=UTF-8", p.content_type);
}

TEST(four_phases)
{
	/* 2 at once, 2 at the minimum, 3 backing off 2 -> 10, 2 at the maximum */
	const char *sub = "{\"healthyRetryPolicy\":{\"numRetries\":9,\"numNoDelayRetries\":2,"
			  "\"numMinDelayRetries\":2,\"numMaxDelayRetries\":2,\"minDelayTarget\":2,"
			  "\"maxDelayTarget\":10,\"backoffFunction\":\"linear\"}}";
	const double want[] = { 0, 0, 2, 2, 2, 6, 10, 10, 10 };
	struct topic_retry_policy p;

	topic_retry_policy_resolve(sub, NULL, &p);
	for (int k = 1; k <= 9; k++) {
		if (!near(want[k - 1], topic_retry_delay(&p, k)))
			TH_LOG("retry %d: %f", k, topic_retry_delay(&p, k));
		EXPECT_TRUE(near(want[k - 1], topic_retry_delay(&p, k)));
	}
}

TEST(backoff_functions_run_from_min_to_max)
{
	static const char *const fns[] = { "linear", "arithmetic", "geometric", "exponential" };
	char sub[300];

	for (size_t f = 0; f < 4; f++) {
		struct topic_retry_policy p;
		double prev = 0;

		snprintf(sub, sizeof(sub),
			 "{\"healthyRetryPolicy\":{\"numRetries\":5,\"minDelayTarget\":1,"
			 "\"maxDelayTarget\":16,\"backoffFunction\":\"%s\"}}",
			 fns[f]);
		topic_retry_policy_resolve(sub, NULL, &p);
		EXPECT_TRUE(near(1, topic_retry_delay(&p, 1)));
		EXPECT_TRUE(near(16, topic_retry_delay(&p, 5)));
		for (int k = 1; k <= 5; k++) {
			EXPECT_TRUE(topic_retry_delay(&p, k) >= prev);
			prev = topic_retry_delay(&p, k);
		}
	}
}

TEST(throttle_from_subscription_or_topic)
{
	const char *topic = "{\"http\":{\"defaultThrottlePolicy\":{\"maxReceivesPerSecond\":7}}}";
	const char *sub = "{\"throttlePolicy\":{\"maxReceivesPerSecond\":3}}";
	struct topic_retry_policy p;

	topic_retry_policy_resolve(NULL, NULL, &p);
	EXPECT_EQ(0, p.max_receives_per_second); /* SNS: no throttling by default */
	topic_retry_policy_resolve(NULL, topic, &p);
	EXPECT_EQ(7, p.max_receives_per_second);
	topic_retry_policy_resolve(sub, topic, &p);
	EXPECT_EQ(3, p.max_receives_per_second);
	/* a rate below one per second, or not a number, is no throttle */
	topic_retry_policy_resolve("{\"throttlePolicy\":{\"maxReceivesPerSecond\":0}}", NULL, &p);
	EXPECT_EQ(0, p.max_receives_per_second);
	topic_retry_policy_resolve("{\"throttlePolicy\":{\"maxReceivesPerSecond\":\"5\"}}", NULL,
				   &p);
	EXPECT_EQ(0, p.max_receives_per_second);
}

TEST(jitter_shortens_by_at_most_a_tenth)
{
	EXPECT_TRUE(near(20, topic_retry_jitter(20, 0)));
	EXPECT_TRUE(near(19, topic_retry_jitter(20, 0.5)));
	EXPECT_TRUE(topic_retry_jitter(20, 0.9999999) > 18);
	EXPECT_TRUE(topic_retry_jitter(20, 7) >= 18); /* out of range is clamped */
	EXPECT_TRUE(near(20, topic_retry_jitter(20, -1)));
	EXPECT_TRUE(near(0, topic_retry_jitter(0, 0.5))); /* immediate retries stay immediate */
}

TEST(url_split)
{
	char scheme[8], host[64], port[8];
	const char *path;

	ASSERT_EQ(0, http_url_split("http://example.com/a/b?x=1", scheme, sizeof(scheme), host,
				    sizeof(host), port, sizeof(port), &path));
	EXPECT_STREQ("http", scheme);
	EXPECT_STREQ("example.com", host);
	EXPECT_STREQ("80", port);
	EXPECT_STREQ("/a/b?x=1", path);
	ASSERT_EQ(0, http_url_split("https://[::1]:8443", scheme, sizeof(scheme), host,
				    sizeof(host), port, sizeof(port), &path));
	EXPECT_STREQ("::1", host);
	EXPECT_STREQ("8443", port);
	EXPECT_STREQ("/", path);
	ASSERT_EQ(0, http_url_split("https://h", scheme, sizeof(scheme), host, sizeof(host), port,
				    sizeof(port), &path));
	EXPECT_STREQ("443", port);
	EXPECT_EQ(-1, http_url_split("nourl", scheme, sizeof(scheme), host, sizeof(host), port,
				     sizeof(port), &path));
	EXPECT_EQ(-1, http_url_split("http://:80/", scheme, sizeof(scheme), host, sizeof(host),
				     port, sizeof(port), &path));
	EXPECT_EQ(-1, http_url_split("http://h:8x/", scheme, sizeof(scheme), host, sizeof(host),
				     port, sizeof(port), &path));
	EXPECT_EQ(-1, http_url_split("http://[::1/", scheme, sizeof(scheme), host, sizeof(host),
				     port, sizeof(port), &path));
}

TEST(post_to_nothing_fails_with_a_reason)
{
	char err[256] = "";
	struct http_post_req p = { .url = "http://127.0.0.1:1/",
				   .content_type = "text/plain",
				   .body = "x",
				   .len = 1,
				   .timeout_ms = 2000 };

	EXPECT_EQ(-1, http_post(&p, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "cannot connect") != NULL);
	p.url = "ftp://h/";
	EXPECT_EQ(-1, http_post(&p, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "is not an http:// or https:// URL") != NULL);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/* SNS's HTTP/S delivery policy: reading it, and the delay before each retry (topic_retry.h). */
#include "topic_retry.h"
#include "json.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static void read_int(const struct json_value *o, const char *key, int *out)
{
	const struct json_value *v = json_get(o, key);

	if (v && v->type == JSON_NUMBER && v->u.num.d >= 0 && v->u.num.d <= 100000)
		*out = (int)v->u.num.d;
}

static void read_retry(const struct json_value *r, struct topic_retry_policy *p)
{
	static const struct {
		const char *name;
		enum topic_backoff b;
	} fns[] = { { "linear", TB_LINEAR },
		    { "arithmetic", TB_ARITHMETIC },
		    { "geometric", TB_GEOMETRIC },
		    { "exponential", TB_EXPONENTIAL } };
	const struct json_value *fn = json_get(r, "backoffFunction");

	if (!r || r->type != JSON_OBJECT)
		return;
	read_int(r, "minDelayTarget", &p->min_delay);
	read_int(r, "maxDelayTarget", &p->max_delay);
	read_int(r, "numRetries", &p->num_retries);
	read_int(r, "numNoDelayRetries", &p->num_no_delay);
	read_int(r, "numMinDelayRetries", &p->num_min_delay);
	read_int(r, "numMaxDelayRetries", &p->num_max_delay);
	for (size_t i = 0; fn && fn->type == JSON_STRING && i < sizeof(fns) / sizeof(fns[0]); i++)
		if (!strcasecmp(fn->u.str.s, fns[i].name))
			p->backoff = fns[i].b;
}

static void read_throttle(const struct json_value *t, struct topic_retry_policy *p)
{
	const struct json_value *v = json_get(t, "maxReceivesPerSecond");

	if (v && v->type == JSON_NUMBER && v->u.num.d >= 1 && v->u.num.d <= 100000)
		p->max_receives_per_second = (int)v->u.num.d;
}

static void read_request(const struct json_value *r, struct topic_retry_policy *p)
{
	const struct json_value *ct = json_get(r, "headerContentType");

	if (ct && ct->type == JSON_STRING && ct->u.str.len < sizeof(p->content_type) &&
	    !strpbrk(ct->u.str.s, "\r\n"))
		snprintf(p->content_type, sizeof(p->content_type), "%s", ct->u.str.s);
}

static struct json_doc *parse(const char *text)
{
	return text ? json_parse(text, strlen(text), true) : NULL;
}

void topic_retry_policy_resolve(const char *sub_policy, const char *topic_policy,
				struct topic_retry_policy *out)
{
	struct json_doc *td = parse(topic_policy), *sd = parse(sub_policy);
	const struct json_value *http = td ? json_get(json_doc_root(td), "http") : NULL;
	const struct json_value *noover = json_get(http, "disableSubscriptionOverrides");
	const struct json_value *sub = sd ? json_doc_root(sd) : NULL;

	*out = (struct topic_retry_policy){ .min_delay = 20,
					    .max_delay = 20,
					    .num_retries = 3,
					    .backoff = TB_LINEAR,
					    .content_type = "text/plain; charset=UTF-8" };
	read_retry(json_get(http, "defaultHealthyRetryPolicy"), out);
	read_request(json_get(http, "defaultRequestPolicy"), out);
	read_throttle(json_get(http, "defaultThrottlePolicy"), out);
	if (!(noover && noover->type == JSON_TRUE) && sub && sub->type == JSON_OBJECT) {
		read_retry(json_get(sub, "healthyRetryPolicy"), out);
		read_request(json_get(sub, "requestPolicy"), out);
		read_throttle(json_get(sub, "throttlePolicy"), out);
	}
	if (out->max_delay < out->min_delay)
		out->max_delay = out->min_delay;
	json_doc_free(td);
	json_doc_free(sd);
}

double topic_retry_delay(const struct topic_retry_policy *p, int k)
{
	int backoff = p->num_retries - p->num_no_delay - p->num_min_delay - p->num_max_delay;
	double lo = p->min_delay, hi = p->max_delay, x;

	if (k <= p->num_no_delay)
		return 0;
	k -= p->num_no_delay;
	if (k <= p->num_min_delay)
		return lo;
	k -= p->num_min_delay;
	if (backoff <= 0 || k > backoff)
		return hi;
	/* i-th of @backoff retries: from lo (first) to hi (last) */
	x = backoff == 1 ? 1 : (double)(k - 1) / (backoff - 1);
	switch (p->backoff) {
	case TB_ARITHMETIC: /* slow start: the square of the way */
		return lo + (hi - lo) * x * x;
	case TB_GEOMETRIC: /* fast start */
		return lo + (hi - lo) * sqrt(x);
	case TB_EXPONENTIAL: /* a constant ratio between delays */
		return lo > 0 ? lo * pow(hi / lo, x) : hi * x;
	case TB_LINEAR:
	default:
		return lo + (hi - lo) * x;
	}
}

double topic_retry_jitter(double delay, double u)
{
	if (u < 0)
		u = 0;
	if (u >= 1)
		u = 0.999999;
	return delay * (1 - 0.1 * u);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The topic store's outbox drained (docs/topics.md, "HTTP/S and udp
 * deliveries"): items are read in order into a bounded in-flight table on
 * the loop's thread; http/https POSTs are made by a few worker threads (a
 * slow endpoint never blocks the loop, and holds one worker at most for the
 * request timeout), udp datagrams are sent from the loop with a
 * non-blocking socket. Results come back through an eventfd: 2xx is
 * delivered, 4xx failed at once (as SNS: a client error is not retried),
 * anything else is retried under the subscription's delivery policy, then
 * failed. topic_outbox_done then counts it or sends it to the
 * subscription's dead-letter queue, durably; an item is only removed from
 * the outbox there, so a crash means it is tried again after the restart.
 * Each retry's attempt count and due time are stored (topic_outbox_retry)
 * before it is waited for, so a restart resumes the schedule where it was.
 * Retry delays get SNS's jitter; a subscription's throttlePolicy spaces its
 * attempts (every attempt counts as a receive).
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "producer.h"
#include "strbuf.h"
#include "queue.h"
#include "topic.h"
#include "topic_retry.h"
#include "wire.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define MAX_INFLIGHT 256
#define WORKERS 4
#define MAX_HEADERS 8

struct item {
	struct topic_outbox_item it;
	struct topic_retry_policy pol;
	int attempts; /* made so far */
	int64_t due_ms;
	bool busy; /* a worker has it */
};

/* One POST, with copies of everything the worker needs. */
struct job {
	struct post_job post;
	uint64_t seq;
	char *url, *body, *content_type;
	char *h[MAX_HEADERS + 1]; /* "Name: value" lines, NULL-terminated */
	size_t nh;
};

/* A throttled subscription: its next attempt may start at next_ms. */
struct pace {
	char *sub_arn;
	int64_t next_ms;
};

struct bbd_outbox {
	struct item *v;
	size_t n;
	struct pace *paces;
	size_t n_paces;
	uint64_t after; /* highest seq taken in */
	struct post_pool *pool;
	int udp4, udp6;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------ POSTs */

static void job_free(struct job *j)
{
	for (size_t i = 0; i < j->nh; i++)
		free(j->h[i]);
	free(j->url);
	free(j->body);
	free(j->content_type);
	free(j);
}

static void job_header(struct job *j, const char *name, const char *value)
{
	struct strbuf sb = STRBUF_INIT;

	sb_printf(&sb, "%s: %s", name, value);
	j->h[j->nh++] = sb.buf;
}

/* SNS's request: the body as text with the x-amz-sns-* headers. */
static void post(struct bbd_outbox *o, struct item *x)
{
	struct job *j = xcalloc(1, sizeof(*j));
	const struct topic_outbox_item *it = &x->it;

	j->seq = it->seq;
	j->url = xstrndup(it->endpoint, strlen(it->endpoint));
	j->body = xstrndup(it->body, strlen(it->body));
	j->content_type = xstrndup(x->pol.content_type, strlen(x->pol.content_type));
	job_header(j, "x-amz-sns-message-type", it->type);
	job_header(j, "x-amz-sns-message-id", it->message_id);
	job_header(j, "x-amz-sns-topic-arn", it->topic_arn);
	if (!strcmp(it->type, "Notification"))
		job_header(j, "x-amz-sns-subscription-arn", it->sub_arn);
	if (it->raw)
		job_header(j, "x-amz-sns-rawdelivery", "true");
	j->post.req = (struct http_post_req){
		.url = j->url,
		.content_type = j->content_type,
		.body = j->body,
		.len = strlen(j->body),
		.headers = (const char *const *)j->h,
		.user_agent = "Amazon Simple Notification Service Agent",
		.timeout_ms = 15000,
	};
	x->busy = true;
	post_pool_submit(o->pool, &j->post);
}

/* Free a list of the pool's jobs. */
static void jobs_free(struct post_job *pj)
{
	for (struct post_job *next; pj; pj = next) {
		next = pj->next;
		job_free(post_job_owner(pj, struct job, post));
	}
}

/* ------------------------------------------------------------ udp */

/* A udp subscriber gets a wire v1 datagram: an SNS publish to the topic of the same name. */
static int send_udp(struct bbd_outbox *o, const struct item *x, char *err, size_t cap)
{
	const char *name = strrchr(x->it.topic_arn, ':');
	struct bb_wire_msg m = { .kind = BPFBUS_WIRE_KIND_SNS,
				 .body = x->it.body,
				 .body_len = strlen(x->it.body),
				 .attrs = x->it.attrs,
				 .attrs_len = strlen(x->it.attrs) };
	struct sockaddr_storage ss;
	socklen_t sl;
	static uint8_t buf[BPFBUS_WIRE_MAX_PAYLOAD];
	long len;
	int fd;

	m.name = name ? name + 1 : x->it.topic_arn;
	m.name_len = strlen(m.name);
	if (bb_parse_hostport(x->it.endpoint, BPFBUS_DEFAULT_PORT, &ss, &sl, err, cap))
		return -1;
	len = bb_wire_encode(&m, buf, sizeof(buf));
	if (len < 0) {
		snprintf(err, cap, "the message does not fit a datagram (wire error %ld)", -len);
		return -2; /* retrying changes nothing */
	}
	fd = ss.ss_family == AF_INET6 ? o->udp6 : o->udp4;
	if (fd < 0 || sendto(fd, buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) < 0) {
		snprintf(err, cap, "sendto %s: %s", x->it.endpoint,
			 fd < 0 ? "no socket of that family" : strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ the table */

static void remove_at(struct bbd_outbox *o, size_t i)
{
	topic_outbox_item_free(&o->v[i].it);
	o->v[i] = o->v[o->n - 1];
	o->n--;
}

/* Done with item @i: durably delivered, or failed (dead-letter queue or counted). */
static void finish(struct bbd *d, size_t i, bool delivered, const char *why)
{
	struct bbd_outbox *o = d->outbox;
	struct topic_result res;
	struct item *x = &o->v[i];

	if (!delivered)
		log_info("outbox: %s to %s failed after %d attempts: %s", x->it.type,
			 x->it.endpoint, x->attempts, why);
	if (topic_outbox_done(d->topics, x->it.seq, delivered, &res) && res.code != TE_NOT_FOUND) {
		/* the store refused: keep it and try again later */
		log_warn("outbox: item %llu: %s", (unsigned long long)x->it.seq, res.message);
		x->due_ms = now_ms() + 1000;
		return;
	}
	if (delivered && !strcmp(x->it.type, "Notification"))
		prom_observe(&bbd_topic_latency(d, x->it.topic_arn, x->it.protocol)->h,
			     1000 * (queue_store_now(d->store) - x->it.created_ms), 1);
	if (delivered)
		d->cnt.outbox_delivered++;
	else
		d->cnt.outbox_failed++;
	if (!delivered)
		d->wake_pending = true; /* a dead-letter queue may have a message */
	remove_at(o, i);
}

/* Uniform in [0, 1), for the retries' jitter. */
static double uniform(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)now_ms() * 2654435761u;
	return (double)r / 4294967296.0;
}

/* An attempt failed: retry under the policy, or give up. @retry false: a client error. */
static void failed_attempt(struct bbd *d, size_t i, bool retry, const char *why)
{
	struct item *x = &d->outbox->v[i];
	struct topic_result res;
	int64_t delay;

	x->busy = false;
	d->cnt.outbox_retries += retry && x->attempts <= x->pol.num_retries;
	if (!retry || x->attempts > x->pol.num_retries) {
		finish(d, i, false, why);
		return;
	}
	delay = (int64_t)llround(
		topic_retry_jitter(topic_retry_delay(&x->pol, x->attempts), uniform()) *
		d->sns_retry_unit_ms);
	x->due_ms = now_ms() + delay;
	/* a restart resumes here; if this fails, it repeats an attempt at worst */
	if (topic_outbox_retry(d->topics, x->it.seq, x->attempts, queue_store_now(d->store) + delay,
			       &res))
		log_warn("outbox: item %llu: cannot store its retry: %s",
			 (unsigned long long)x->it.seq, res.message);
	log_debug("outbox: %s to %s: %s; retry %d of %d", x->it.type, x->it.endpoint, why,
		  x->attempts, x->pol.num_retries);
}

/*
 * The subscription's throttlePolicy: whether @x may start now; if not, it
 * is due at its subscription's next slot. Slots are 1000 ms (real seconds:
 * the rate is the endpoint's) over maxReceivesPerSecond apart; a slot the
 * loop's tick reached late by less than that is caught up, so the rate
 * holds on average.
 */
static bool throttle_allows(struct bbd *d, struct item *x, int64_t now)
{
	struct bbd_outbox *o = d->outbox;
	int rate = x->pol.max_receives_per_second;
	int64_t spacing = rate > 0 ? 1000 / rate : 0;
	struct pace *p = NULL;

	if (rate <= 0)
		return true;
	for (size_t i = 0; i < o->n_paces && !p; i++)
		if (!strcmp(o->paces[i].sub_arn, x->it.sub_arn))
			p = &o->paces[i];
	if (!p) {
		/* forget subscriptions whose slot has long passed */
		for (size_t i = 0; i < o->n_paces;)
			if (o->paces[i].next_ms < now - 1000) {
				free(o->paces[i].sub_arn);
				o->paces[i] = o->paces[--o->n_paces];
			} else {
				i++;
			}
		o->paces = xrealloc(o->paces, (o->n_paces + 1) * sizeof(*o->paces));
		p = &o->paces[o->n_paces++];
		*p = (struct pace){ xstrndup(x->it.sub_arn, strlen(x->it.sub_arn)), now };
	}
	if (p->next_ms > now) {
		x->due_ms = p->next_ms;
		return false;
	}
	p->next_ms = (p->next_ms > now - spacing ? p->next_ms : now) + spacing;
	return true;
}

static size_t find(const struct bbd_outbox *o, uint64_t seq)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->v[i].it.seq == seq)
			return i;
	return (size_t)-1;
}

/* The delivery policy of @x's subscription and topic. */
static void resolve_policy(struct bbd *d, struct item *x)
{
	struct queue_kv_list sa = { 0 }, ta = { 0 };
	struct topic_result res;
	const char *sp = NULL, *tp = NULL;

	if (!topic_get_sub_attributes(d->topics, x->it.sub_arn, &sa, &res))
		for (size_t i = 0; i < sa.n; i++)
			if (!strcmp(sa.v[i].name, "DeliveryPolicy"))
				sp = sa.v[i].value;
	if (!topic_get_attributes(d->topics, x->it.topic_arn, &ta, &res))
		for (size_t i = 0; i < ta.n; i++)
			if (!strcmp(ta.v[i].name, "EffectiveDeliveryPolicy"))
				tp = ta.v[i].value;
	topic_retry_policy_resolve(sp, tp, &x->pol);
	queue_kv_list_free(&sa);
	queue_kv_list_free(&ta);
}

static void take_in(struct bbd *d)
{
	struct bbd_outbox *o = d->outbox;
	struct topic_outbox_list l;
	struct topic_result res;

	if (o->n >= MAX_INFLIGHT)
		return;
	if (topic_outbox_peek(d->topics, o->after, MAX_INFLIGHT - o->n, &l, &res)) {
		log_warn("outbox: %s", res.message);
		return;
	}
	for (size_t i = 0; i < l.n; i++) {
		struct item *x = &o->v[o->n++];

		int64_t wait = l.v[i].due_ms - queue_store_now(d->store);

		/* an item retried before a restart resumes its schedule */
		*x = (struct item){ .it = l.v[i],
				    .attempts = l.v[i].attempts,
				    .due_ms = now_ms() + (wait > 0 ? wait : 0) };
		o->after = l.v[i].seq;
		resolve_policy(d, x);
	}
	free(l.v); /* the items' strings now belong to the table */
}

/* ------------------------------------------------------------ the loop's side */

void bbd_outbox_work(struct bbd *d)
{
	struct bbd_outbox *o = d->outbox;
	struct post_job *done;
	int64_t now;

	if (!o || !o->pool)
		return;
	done = post_pool_take_done(o->pool);
	for (struct post_job *pj = done; pj; pj = pj->next) {
		size_t i = find(o, post_job_owner(pj, struct job, post)->seq);
		char why[300];

		if (i == (size_t)-1)
			continue;
		if (pj->status >= 200 && pj->status < 300) {
			finish(d, i, true, NULL);
			continue;
		}
		if (pj->status > 0)
			snprintf(why, sizeof(why), "HTTP status %d", pj->status);
		else
			snprintf(why, sizeof(why), "%s", pj->err);
		failed_attempt(d, i, pj->status < 400 || pj->status >= 500, why);
	}
	jobs_free(done);
	d->outbox_due = false;
	take_in(d);
	now = now_ms();
	for (size_t i = 0; i < o->n; i++) {
		struct item *x = &o->v[i];
		char err[256];
		int r;

		if (x->busy || x->due_ms > now || !throttle_allows(d, x, now))
			continue;
		x->attempts++;
		if (strcmp(x->it.protocol, "udp")) {
			post(o, x);
			continue;
		}
		r = send_udp(o, x, err, sizeof(err));
		if (r == 0)
			finish(d, i, true, NULL);
		else
			failed_attempt(d, i, r == -1, err);
		i--; /* the table may have moved an item into slot i */
	}
}

int bbd_outbox_open(struct bbd *d)
{
	struct bbd_outbox *o = xcalloc(1, sizeof(*o));

	o->v = xcalloc(MAX_INFLIGHT, sizeof(*o->v));
	o->udp4 = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	o->udp6 = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	d->outbox = o;
	if (o->udp4 < 0) {
		log_err("outbox: %s", strerror(errno));
		return -1;
	}
	/* unbounded queue: the in-flight table (MAX_INFLIGHT) bounds it */
	o->pool = post_pool_start(d, "outbox", WORKERS, 0, BBD_EP_OUTBOX);
	if (!o->pool)
		return -1;
	d->outbox_due = true;
	return 0;
}

void bbd_outbox_close(struct bbd *d)
{
	struct bbd_outbox *o = d->outbox;

	if (!o)
		return;
	/* what was not done stays in the store's outbox for the next start */
	if (o->pool) {
		jobs_free(post_pool_stop(o->pool));
		jobs_free(post_pool_take_done(o->pool));
		post_pool_free(o->pool);
	}
	while (o->n)
		remove_at(o, o->n - 1);
	free(o->v);
	for (size_t i = 0; i < o->n_paces; i++)
		free(o->paces[i].sub_arn);
	free(o->paces);
	if (o->udp4 >= 0)
		close(o->udp4);
	if (o->udp6 >= 0)
		close(o->udp6);
	free(o);
	d->outbox = NULL;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * Intake and delivery. Events come from the XDP datapath (AF_XDP sockets or
 * the ring buffer, through rx.c, with the kernel's match result) and from the
 * slow-path UDP socket (datagrams the XDP program passed, or all of them when
 * no interface is attached). Each is routed to the target queues of the rules
 * it matches -- the kernel's rule ids when it decided, the userspace matcher
 * for VERIFY, truncated and slow-path events -- and stored inside the round's
 * group commit. Nothing is queued in memory: a round takes at most
 * round_budget events straight from the kernel's bounded rings and socket
 * buffers, whose overflows the kernel counts (and we report).
 */
#define _GNU_SOURCE
#include "bpfbusd.h"
#include "datapath.h"
#include "eb_transform.h"
#include "json.h"
#include "producer.h"
#include "netlink.h"
#include "queue.h"
#include "retry.h"
#include "ruleset.h"
#include "rx.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDP_BATCH 64
#define UDP_RCVBUF (16 << 20)

/* One event of a round. */
struct event {
	uint32_t bus_id;
	const struct bbd_routes *kernel_rt; /* the kernel decided with these routes */
	const uint32_t *ids;
	uint32_t n_ids;
	struct bb_wire_msg msg;
	struct sockaddr_storage src; /* the producer (for acks) */
	socklen_t src_len;
	bool hop; /* put on this bus by a bus target: bus targets are not followed */
	bool replayed; /* from an archive's replay: never archived again */
	int64_t first_ms; /* a retry: the first attempt's time (0: this is the first) */
	uint32_t retries; /* a retry: retries made, this one included */
	const char *event_id; /* PutEvents: the envelope's id, else NULL */
};

/* A round (struct bbd_round, bpfbusd.h): the group commit is opened by the first delivery. */
int bbd_round_txn(struct bbd_round *rd)
{
	struct queue_result res;

	if (rd->txn)
		return 0;
	if (queue_txn_begin(rd->d->store, &res)) {
		log_err("cannot begin a store transaction: %s", res.message);
		return -1;
	}
	rd->txn = true;
	return 0;
}

/* Why a delivery failed: ERROR_CODE and ERROR_MESSAGE of its dead letter. */
struct failure {
	char code[64];
	char message[1024];
	bool retriable; /* EventBridge retries it (RetryPolicy); else dead-lettered at once */
};

/*
 * What a target refused goes to its dead-letter queue, with EventBridge's
 * message attributes saying why (ERROR_CODE, ERROR_MESSAGE, RULE_ARN,
 * TARGET_ARN). Returns true when it was stored there.
 */
static bool dead_letter(struct bbd_round *rd, const struct bbd_route *r, const struct bbd_target *t,
			const struct queue_send_entry *refused, const struct failure *why,
			uint32_t retries, const char *exhausted)
{
	struct queue_send_entry e = *refused;
	struct queue_send_result out;
	struct queue_result res;
	char n[12];
	struct queue_msg_attr attrs[] = {
		{ "ERROR_CODE", "String", why->code, strlen(why->code) },
		{ "ERROR_MESSAGE", "String", why->message, strlen(why->message) },
		{ "RULE_ARN", "String", r->rule_arn, strlen(r->rule_arn) },
		{ "TARGET_ARN", "String", t->arn, strlen(t->arn) },
		{ "RETRY_ATTEMPTS", "Number", n, 0 },
		{ "EXHAUSTED_RETRY_CONDITION", "String", exhausted,
		  exhausted ? strlen(exhausted) : 0 },
	};

	if (bbd_round_txn(rd))
		return false;
	attrs[4].len = (size_t)snprintf(n, sizeof(n), "%u", retries);
	e.attrs = attrs;
	e.nattrs = exhausted ? 6 : 5;
	if (queue_send(rd->d->store, t->dlq, &e, &out, &res) == 0) {
		rd->stored++;
		rd->d->cnt.dead_lettered++;
		return true;
	}
	if (res.code == QE_INTERNAL_ERROR)
		rd->doomed = true;
	log_debug("dead-letter queue %s refused too: %s", t->dlq, res.message);
	return false;
}

static bool to_queue(struct bbd_round *rd, const struct bbd_target *t,
		     const struct queue_send_entry *e, struct failure *why)
{
	struct queue_send_result out;
	struct queue_result res;

	if (bbd_round_txn(rd)) {
		snprintf(why->code, sizeof(why->code), "InternalError");
		snprintf(why->message, sizeof(why->message),
			 "the store cannot begin a transaction");
		why->retriable = true;
		return false;
	}
	if (bbd_failpoint_hit(rd->d, t->addr)) {
		snprintf(why->code, sizeof(why->code), "ThrottlingException");
		snprintf(why->message, sizeof(why->message), "Rate exceeded (test.fail)");
		why->retriable = true;
		return false;
	}
	if (queue_send(rd->d->store, t->addr, e, &out, &res) == 0) {
		rd->stored++;
		return true;
	}
	if (res.code == QE_INTERNAL_ERROR)
		rd->doomed = true;
	snprintf(why->code, sizeof(why->code), "%s", queue_err_type(res.code));
	snprintf(why->message, sizeof(why->message), "%s", res.message);
	/* the store's refusals (no such queue, a message it cannot take) stay */
	why->retriable = res.code == QE_INTERNAL_ERROR;
	return false;
}

static bool to_topic(struct bbd_round *rd, const struct bbd_target *t,
		     const struct queue_send_entry *e, struct failure *why)
{
	struct queue_result res = { 0 };

	if (rd->d->deliver_topic && !bbd_round_txn(rd) &&
	    rd->d->deliver_topic(rd->d, t->addr, e->body, e->body_len, e->group_id, e->dedup_id,
				 &res) == 0)
		return true;
	why->retriable = rd->d->deliver_topic && res.code == QE_INTERNAL_ERROR;
	snprintf(why->code, sizeof(why->code), "%s",
		 rd->d->deliver_topic ? queue_err_type(res.code) : "ResourceNotFound");
	snprintf(why->message, sizeof(why->message), "%s",
		 rd->d->deliver_topic ? res.message : "this bpfbusd serves no topics");
	return false;
}

/* Why an http answer (or none: @status -1 with @err) failed the delivery. */
static void http_failure(struct failure *why, const char *url, int status, const char *err)
{
	snprintf(why->code, sizeof(why->code), "SDK_CLIENT_ERROR");
	/* EventBridge retries throttling, server errors and no answer, not other 4xx */
	why->retriable = status < 0 || status == 429 || status >= 500;
	if (status < 0)
		snprintf(why->message, sizeof(why->message), "%s", err);
	else
		snprintf(why->message, sizeof(why->message), "%.300s answered HTTP %d", url,
			 status);
}

/*
 * The POST goes to forward.c's workers; its lease (a retry record due
 * BBD_HTTP_LEASE_MS later) commits with the round, so the delivery is durable
 * from then on, whatever happens to the POST. bbd_forward_settle ends it.
 */
static bool to_http(struct bbd_round *rd, const struct bbd_route *r, int ti, const struct event *ev,
		    const struct queue_send_entry *e, const char *body, size_t len,
		    struct failure *why)
{
	struct bbd *d = rd->d;
	const struct bbd_target *t = &r->t[ti];
	struct queue_result res;
	struct bbd_http_job *j;
	int rc;

	snprintf(why->code, sizeof(why->code), "SDK_CLIENT_ERROR");
	why->retriable = true;
	if (!bbd_forward_room(d) || !d->retries) {
		d->cnt.http_queue_full += d->retries != NULL;
		snprintf(why->message, sizeof(why->message),
			 "too many http deliveries wait for a worker: %.300s is tried later",
			 t->addr);
		return false;
	}
	if (bbd_round_txn(rd)) {
		snprintf(why->message, sizeof(why->message),
			 "the store cannot begin a transaction");
		return false;
	}
	j = xcalloc(1, sizeof(*j));
	j->url = xstrndup(t->addr, strlen(t->addr));
	j->body = xstrndup(body, len);
	j->len = len;
	j->key = bbd_retry_key(r, ti);
	j->event = xstrndup(ev->msg.body, ev->msg.body_len);
	j->event_len = ev->msg.body_len;
	j->group_id = e->group_id ? xstrndup(e->group_id, strlen(e->group_id)) : NULL;
	j->dedup_id = e->dedup_id ? xstrndup(e->dedup_id, strlen(e->dedup_id)) : NULL;
	j->first_ms = ev->first_ms ? ev->first_ms : queue_store_now(d->store);
	j->retries = ev->retries;
	rc = retry_schedule_ref(
		d->retries,
		&(struct retry_item){ .kind = BBD_RETRY_LEASE,
				      .target = j->key,
				      .body = j->event,
				      .body_len = j->event_len,
				      .group_id = j->group_id,
				      .dedup_id = j->dedup_id,
				      .first_ms = j->first_ms,
				      .retries = j->retries,
				      .due_ms = queue_store_now(d->store) + BBD_HTTP_LEASE_MS },
		&j->lease, &res);
	if (rc) {
		bbd_forward_job_free(j);
		if (rc < 0)
			rd->doomed = true;
		snprintf(why->message, sizeof(why->message), "%.300s was not tried: %s", t->addr,
			 rc > 0 ? "the retry store is full" : res.message);
		return false;
	}
	bbd_forward_post(d, j);
	return true;
}

/* The input as a wire v1 event datagram on the event's own bus name. */
static bool to_udp(struct bbd_round *rd, const struct bbd_target *t, const struct event *ev,
		   const char *body, size_t len, struct failure *why)
{
	static uint8_t buf[BPFBUS_WIRE_MAX_PAYLOAD + 1];
	struct bb_wire_msg m = { .kind = BPFBUS_WIRE_KIND_EVENT,
				 .name = ev->msg.name,
				 .name_len = ev->msg.name_len,
				 .body = body,
				 .body_len = len };
	struct sockaddr_storage ss;
	socklen_t sl;
	char err[200];
	long n;

	snprintf(why->code, sizeof(why->code), "SDK_CLIENT_ERROR");
	if (bb_parse_hostport(t->addr, 0, &ss, &sl, err, sizeof(err))) {
		snprintf(why->message, sizeof(why->message), "%s", err);
		return false;
	}
	n = bb_wire_encode(&m, buf, sizeof(buf));
	if (n < 0) {
		snprintf(why->message, sizeof(why->message), "cannot encode the event: %s",
			 bb_wire_strerror((int)-n));
		return false;
	}
	/* from the slow-path socket: a receiving gateway sees our port */
	int fd = ss.ss_family == AF_INET6 ? rd->d->udp6_fd : rd->d->udp_fd;

	if (fd < 0 || sendto(fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&ss, sl) != n) {
		snprintf(why->message, sizeof(why->message), "cannot send to %s: %s", t->addr,
			 strerror(errno));
		why->retriable = true; /* buffers full, no route yet: may pass */
		return false;
	}
	return true;
}

/*
 * Target @ti of @r failed to take @ev (@e: its body and ids as they came):
 * a retry durably scheduled (true), else the dead-letter queue, if any.
 */
static bool after_failure(struct bbd_round *rd, const struct bbd_route *r, int ti,
			  const struct event *ev, const struct queue_send_entry *e,
			  const struct failure *why)
{
	const struct bbd_target *t = &r->t[ti];
	const char *exhausted = NULL;

	rd->d->cnt.delivery_failed++;
	log_debug("rule %s: delivery to %s %s failed: %s: %s", r->name,
		  bb_target_kind_name(t->kind), t->addr, why->code, why->message);
	if (why->retriable && !rd->doomed) {
		/* the original event: a retry applies the target's input again */
		struct bbd_attempt a = { .body = ev->msg.body,
					 .body_len = ev->msg.body_len,
					 .group_id = e->group_id,
					 /* a FIFO target keeps the event id as deduplication id */
					 .dedup_id = e->dedup_id ? e->dedup_id
						     : t->fifo	 ? ev->event_id
								 : NULL,
					 .first_ms = ev->first_ms ? ev->first_ms
								  : queue_store_now(rd->d->store),
					 .retries = ev->retries };
		int v = bbd_round_txn(rd) ? -1 : bbd_retry_later(rd->d, r, ti, &a);

		if (v == RETRY_SCHEDULE)
			return true;
		if (v > 0)
			exhausted = retry_exhausted_name((enum retry_verdict)v);
	}
	/* the dead letter is the event itself, as EventBridge sends it */
	if (t->dlq && !rd->doomed)
		dead_letter(rd, r, t, e, why, ev->retries, exhausted);
	else if (exhausted)
		log_debug("rule %s: retries to %s exhausted (%s), no dead-letter queue: dropped",
			  r->name, t->addr, exhausted);
	return false;
}

/*
 * A FIFO target's deduplication id for a datagram event without one: its
 * envelope's "id", EventBridge's deduplication id (as PutEvents events
 * have). False when the event has no string id of 1..128 characters.
 */
static bool envelope_id(const struct bb_wire_msg *m, char *out, size_t cap)
{
	struct json_doc *doc = json_parse(m->body, m->body_len, true);
	const struct json_value *root = json_doc_root(doc);
	const struct json_value *id =
		root && root->type == JSON_OBJECT ? json_get(root, "id") : NULL;
	bool ok = id && id->type == JSON_STRING && id->u.str.len && id->u.str.len < cap &&
		  id->u.str.len <= 128 && !memchr(id->u.str.s, 0, id->u.str.len);

	if (ok)
		snprintf(out, cap, "%.*s", (int)id->u.str.len, id->u.str.s);
	json_doc_free(doc);
	return ok;
}

/* Bus targets met while fanning out one event: routed once that is done. */
struct hops {
	uint32_t bus[BB_MAX_TARGETS * 8];
	int n;
};

/*
 * Deliver to target @ti of rule @r. True when the event is the target's, or
 * durably scheduled for a retry (or leased for an http POST) in this round's commit: as EventBridge's
 * PutEvents succeeds once an event is accepted, the producer's ack says
 * STORED then (docs/daemon.md, "Acknowledged ingest and retries"). False when
 * the target refused it for good (dead-lettered or dropped).
 */
static bool deliver(struct bbd_round *rd, const struct bbd_route *r, int ti, const struct event *ev,
		    struct hops *hops)
{
	const struct bbd_target *t = &r->t[ti];
	const struct bb_wire_msg *m = &ev->msg;
	char group[BPFBUS_WIRE_MAX_GROUP + 1], dedup[BPFBUS_WIRE_MAX_DEDUP + 1];
	struct strbuf in = STRBUF_INIT;
	struct queue_send_entry e = {
		.body = m->body,
		.body_len = m->body_len,
		.delay_seconds = QUEUE_DELAY_UNSET,
	};
	struct failure why; /* set by whatever fails (1 KiB: not cleared per delivery) */
	bool ok = false;

	why.retriable = false;

	if (m->group_len) {
		snprintf(group, sizeof(group), "%.*s", (int)m->group_len, m->group);
		e.group_id = group;
	}
	if (m->dedup_len) {
		snprintf(dedup, sizeof(dedup), "%.*s", (int)m->dedup_len, m->dedup);
		e.dedup_id = dedup;
	}
	if (t->input) {
		struct eb_input_ctx ctx = { r->rule_arn, r->rule_name, rd->now_ms };
		struct eb_error err;

		if (eb_input_apply(t->input, m->body, m->body_len, &ctx, &in, &err)) {
			snprintf(why.code, sizeof(why.code), "%s", err.code);
			snprintf(why.message, sizeof(why.message), "%s", err.message);
			goto failed;
		}
	}
	const char *body = t->input ? in.buf : m->body;
	size_t len = t->input ? in.len : m->body_len;

	/* what the target gets: the input, and for FIFO targets a group and deduplication id */
	struct queue_send_entry out = e;

	out.body = body;
	out.body_len = len;
	if (t->fifo) {
		/* the event's own group, else the target's; EventBridge's event id */
		out.group_id = e.group_id ? e.group_id : t->group;
		out.dedup_id = e.dedup_id ? e.dedup_id : ev->event_id;
		if (!out.dedup_id && envelope_id(m, dedup, sizeof(dedup)))
			out.dedup_id = dedup;
	}
	switch (t->kind) {
	case BB_TARGET_QUEUE:
		ok = to_queue(rd, t, &out, &why);
		break;
	case BB_TARGET_TOPIC:
		if (!t->fifo) /* a standard topic takes no deduplication id */
			out.group_id = out.dedup_id = NULL;
		ok = to_topic(rd, t, &out, &why);
		break;
	case BB_TARGET_BUS: {
		struct bpfbus_bus kb;

		if (ev->hop) { /* EventBridge: no third bus */
			rd->d->cnt.not_forwarded++;
			sb_free(&in);
			return true;
		}
		ok = !bb_bus_find(rd->d->busfd, t->addr, &kb) && kb.kind == BPFBUS_BUS_EVENT;
		if (ok && hops->n < (int)(sizeof(hops->bus) / sizeof(hops->bus[0])))
			hops->bus[hops->n++] = kb.id;
		if (!ok) {
			snprintf(why.code, sizeof(why.code), "ResourceNotFoundException");
			snprintf(why.message, sizeof(why.message), "Event bus %s does not exist.",
				 t->addr);
		}
		break;
	}
	case BB_TARGET_HTTP:
		ok = to_http(rd, r, ti, ev, &e, body, len, &why);
		break;
	case BB_TARGET_UDP:
		ok = to_udp(rd, t, ev, body, len, &why);
		break;
	}
	if (ok) {
		/* http deliveries are counted when they settle */
		if (t->kind != BB_TARGET_QUEUE && t->kind != BB_TARGET_HTTP)
			rd->d->cnt.forwarded++;
		if (r->latency) /* observed when the round commits */
			prom_pending_add(&rd->d->latency_pending, r->latency, 1);
		sb_free(&in);
		return true;
	}
failed:
	sb_free(&in);
	return after_failure(rd, r, ti, ev, &e, &why);
}

static bool wants_ack(const struct event *ev)
{
	uint16_t f = BPFBUS_WIRE_F_ACK | BPFBUS_WIRE_F_PRODUCER;

	return (ev->msg.flags & f) == f && ev->src_len;
}

static void ack(struct bbd_round *rd, const struct event *ev, enum bpfbus_ack_status status)
{
	if (wants_ack(ev))
		bbd_ack_queue(rd->d, (const struct sockaddr *)&ev->src, ev->src_len,
			      ev->msg.producer_id, ev->msg.seq, status);
}

static bool follow_hops(struct bbd_round *rd, const struct event *ev, const struct hops *hops);

/*
 * Deliver @ev to every target of the rules @ids of its bus (the kernel's,
 * else the userspace matcher's); events put on a bus by a bus target are
 * matched again there. -1: not a JSON object; else whether a target failed.
 * *@matched counts the rules of its bus.
 */
static int fan_out(struct bbd_round *rd, const struct event *ev, const struct bbd_routes *rt,
		   const uint32_t *ids, int n, int *matched)
{
	struct hops hops = { .n = 0 };
	bool failed = false;

	if (!ids) {
		struct bb_error e;

		n = bb_match_event(rt->mctx, ev->msg.body, ev->msg.body_len, &ids, &e);
		if (n < 0) {
			log_debug("bus %u: event is not a JSON object: %s", ev->bus_id, e.msg);
			return -1;
		}
		rd->d->cnt.verified++;
	}
	for (int i = 0; i < n; i++) {
		const struct bbd_route *r = ids[i] < rt->c.n_rules ? &rt->r[ids[i]] : NULL;

		/* archive entries are no rules: the archives took the event already */
		if (!r || r->archive || r->bus_id != ev->bus_id ||
		    (rd->want && !rd->want(rd->want_ctx, r)))
			continue;
		(*matched)++;
		for (int t = 0; t < r->n_targets; t++)
			failed |= !deliver(rd, r, t, ev, &hops);
	}
	/* after the loop: matching again reuses the matcher's id buffer */
	return follow_hops(rd, ev, &hops) || failed;
}

/*
 * The bus targets met while fanning out @ev: matched again on those buses
 * (every rule there: a replay's rule list is about the first bus). True when
 * a target failed.
 */
static bool follow_hops(struct bbd_round *rd, const struct event *ev, const struct hops *hops)
{
	bbd_rule_filter want = rd->want;
	bool failed = false;

	rd->want = NULL;
	for (int h = 0; h < hops->n; h++) {
		struct event next = *ev;
		const struct bbd_routes *live = bbd_routes_for(rd->d, rd->d->live_gen);
		struct bpfbus_bus kb;
		int m = 0;

		if (bb_bus_by_id(rd->d->busfd, hops->bus[h], &kb))
			continue; /* removed since the rule was compiled */
		next.bus_id = kb.id;
		next.msg.name = (const char *)kb.name;
		next.msg.name_len = kb.name_len;
		next.hop = true;
		/* an event on its new bus: that bus's archives see it (a replayed one: never) */
		if (!ev->replayed &&
		    bbd_archives_offer(rd->d, next.msg.name, next.msg.name_len, next.msg.body,
				       next.msg.body_len, rd->now_ms) < 0)
			rd->doomed = true;
		if (live && fan_out(rd, &next, live, NULL, 0, &m) > 0)
			failed = true;
	}
	rd->want = want;
	return failed;
}

/* An SNS datagram: a Publish to its topic, in the round's group commit. */
static void publish(struct bbd_round *rd, const struct event *ev)
{
	int r = bbd_round_txn(rd) ? -1
				  : bbd_sns_datagram(rd->d, &ev->msg, ev->bus_id, ev->kernel_rt,
						     ev->ids, ev->n_ids);

	if (r == 0) {
		rd->stored++;
		rd->d->cnt.sns_published++;
	} else {
		rd->d->cnt.sns_rejected++;
	}
	if (r < 0)
		rd->doomed = true;
	ack(rd, ev, r == 0 ? BPFBUS_ACK_STORED : r > 0 ? BPFBUS_ACK_REJECTED : BPFBUS_ACK_FAILED);
}

void bbd_round_deliver_rule(struct bbd_round *rd, const struct bbd_route *r, const char *bus,
			    const char *body, size_t len)
{
	struct event ev = { .bus_id = r->bus_id,
			    .msg = { .kind = BPFBUS_WIRE_KIND_EVENT,
				     .name = bus,
				     .name_len = strlen(bus),
				     .body = body,
				     .body_len = len } };
	struct hops hops = { .n = 0 };

	for (int t = 0; t < r->n_targets; t++)
		deliver(rd, r, t, &ev, &hops);
	follow_hops(rd, &ev, &hops);
}

int bbd_round_route(struct bbd_round *rd, uint32_t bus_id, const char *bus, const char *body,
		    size_t len, bbd_rule_filter want, void *ctx)
{
	const struct bbd_routes *rt = bbd_routes_for(rd->d, rd->d->live_gen);
	struct event ev = { .bus_id = bus_id,
			    .msg = { .kind = BPFBUS_WIRE_KIND_EVENT,
				     .name = bus,
				     .name_len = strlen(bus),
				     .body = body,
				     .body_len = len },
			    .replayed = true };
	int matched = 0, r;

	if (!rt)
		return 0;
	rd->want = want;
	rd->want_ctx = ctx;
	r = fan_out(rd, &ev, rt, NULL, 0, &matched);
	rd->want = NULL;
	return r < 0 ? -1 : matched;
}

/* Deliver @ev to every target of every rule of its bus it matches. */
static void route(struct bbd_round *rd, const struct event *ev)
{
	struct bbd *d = rd->d;
	const struct bbd_routes *rt = ev->kernel_rt;

	d->cnt.events++;
	if (wants_ack(ev)) {
		/* the window update commits with the deliveries, in this round */
		bool fifo = ev->msg.flags & BPFBUS_WIRE_F_FIFO;
		int seen = bbd_round_txn(rd)
				   ? -1
				   : bbd_ack_seen(d, ev->msg.producer_id, ev->msg.seq, fifo);

		if (seen == 2)
			d->cnt.out_of_order++;
		if (seen < 0 || seen == 2)
			return; /* no ack: the producer retransmits */
		if (seen) {
			d->cnt.duplicates++;
			ack(rd, ev, BPFBUS_ACK_STORED);
			return;
		}
	}
	if (ev->msg.kind == BPFBUS_WIRE_KIND_SNS) {
		publish(rd, ev);
		return;
	}
	/* Archives see every event of their bus, matched by a rule or not. */
	if (bbd_archives_offer(d, ev->msg.name, ev->msg.name_len, ev->msg.body, ev->msg.body_len,
			       rd->now_ms) < 0)
		rd->doomed = true;
	bbd_schemas_observe(d, ev->msg.name, ev->msg.name_len, ev->msg.body, ev->msg.body_len,
			    rd->now_ms);
	if (!rt) {
		rt = bbd_routes_for(d, d->live_gen);
		if (!rt) {
			d->cnt.unmatched++;
			ack(rd, ev, BPFBUS_ACK_STORED);
			return;
		}
	}
	int matched = 0;
	int failed = fan_out(rd, ev, rt, ev->kernel_rt ? ev->ids : NULL, (int)ev->n_ids, &matched);

	if (failed < 0) {
		d->cnt.malformed++;
		ack(rd, ev, BPFBUS_ACK_REJECTED);
		return;
	}
	if (!matched)
		d->cnt.unmatched++;
	ack(rd, ev, failed ? BPFBUS_ACK_FAILED : BPFBUS_ACK_STORED);
}

/* ---- the XDP hand-off ------------------------------------------------- */

/* The UDP payload and source of a handed-off frame (Ethernet, VLANs, IPv4 or IPv6). */
static int frame_payload(const uint8_t *f, uint32_t len, const uint8_t **p, uint32_t *plen,
			 struct event *ev)
{
	uint32_t off = 14, l4;
	uint16_t proto;

	if (len < off)
		return -1;
	proto = (uint16_t)(f[12] << 8 | f[13]);
	while ((proto == 0x8100 || proto == 0x88a8) && len >= off + 4) {
		proto = (uint16_t)(f[off + 2] << 8 | f[off + 3]);
		off += 4;
	}
	if (proto == 0x0800 && len >= off + 20 && f[off + 9] == IPPROTO_UDP)
		l4 = off + (uint32_t)(f[off] & 0xf) * 4;
	else if (proto == 0x86dd && len >= off + 40 && f[off + 6] == IPPROTO_UDP)
		l4 = off + 40;
	else
		return -1;
	if (len < l4 + 8)
		return -1;
	uint32_t ulen = (uint32_t)(f[l4 + 4] << 8 | f[l4 + 5]);

	if (ulen < 8 || l4 + ulen > len)
		return -1;
	*p = f + l4 + 8;
	*plen = ulen - 8;
	if (proto == 0x0800) {
		struct sockaddr_in *s4 = (void *)&ev->src;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, f + off + 12, 4);
		memcpy(&s4->sin_port, f + l4, 2);
		ev->src_len = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (void *)&ev->src;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, f + off + 8, 16);
		memcpy(&s6->sin6_port, f + l4, 2);
		ev->src_len = sizeof(*s6);
	}
	return 0;
}

static int on_xdp(const struct bb_rx_event *rxe, void *ctx)
{
	struct bbd_round *rd = ctx;
	struct event ev = { .bus_id = rxe->meta->bus_id };
	const uint8_t *p;
	uint32_t plen;

	rd->events++;
	rd->d->cnt.xdp_events++;
	/* The kernel skips the subtrees no rule reads without validating them
	 * (docs/kernel.md), so a body it matched may still not be JSON: check
	 * it as the slow path does, or a malformed event would be delivered
	 * here and refused there. */
	if (frame_payload(rxe->frame, rxe->frame_len, &p, &plen, &ev) ||
	    bb_wire_decode(p, plen, &ev.msg, BB_WIRE_CHECK_JSON) != BPFBUS_WIRE_OK) {
		rd->d->cnt.events++;
		rd->d->cnt.malformed++;
		return 0;
	}
	if (rxe->meta->flags & BPFBUS_META_F_SAMPLE) {
		/* wanted by nothing: for schema discovery only, never delivered */
		rd->d->cnt.events++;
		rd->d->cnt.sampled++;
		bbd_schemas_observe(rd->d, ev.msg.name, ev.msg.name_len, ev.msg.body,
				    ev.msg.body_len, rd->now_ms);
		return rd->events >= rd->d->round_budget;
	}
	if (!rxe->verify && !rxe->truncated) {
		ev.kernel_rt = bbd_routes_for(rd->d, rxe->meta->generation);
		ev.ids = rxe->rule_ids;
		ev.n_ids = rxe->n_ids;
	}
	route(rd, &ev);
	return rd->events >= rd->d->round_budget;
}

/* ---- the slow path ------------------------------------------------------ */

static void on_datagram(struct bbd_round *rd, const uint8_t *buf, size_t len,
			const struct sockaddr_storage *src, socklen_t src_len)
{
	struct bbd *d = rd->d;
	struct event ev = { .src = *src, .src_len = src_len };
	char name[BPFBUS_WIRE_MAX_NAME + 1];
	struct bpfbus_bus kb;

	rd->events++;
	d->cnt.udp_events++;
	if (bb_wire_decode(buf, len, &ev.msg, BB_WIRE_CHECK_JSON) != BPFBUS_WIRE_OK) {
		d->cnt.events++;
		d->cnt.malformed++;
		return;
	}
	snprintf(name, sizeof(name), "%.*s", (int)ev.msg.name_len, ev.msg.name);
	if (bb_bus_find(d->busfd, name, &kb) || kb.kind != ev.msg.kind ||
	    (kb.kind != BPFBUS_BUS_EVENT && !(kb.kind == BPFBUS_BUS_TOPIC && d->topics))) {
		d->cnt.events++;
		d->cnt.unknown_bus++;
		if (wants_ack(&ev))
			ack(rd, &ev, BPFBUS_ACK_REJECTED);
		return;
	}
	ev.bus_id = kb.id;
	route(rd, &ev);
}

static void drain_udp(struct bbd_round *rd, int fd)
{
	static uint8_t bufs[UDP_BATCH][BPFBUS_WIRE_MAX_PAYLOAD + 1];
	static char cbufs[UDP_BATCH][CMSG_SPACE(sizeof(uint32_t))];
	static struct sockaddr_storage srcs[UDP_BATCH];
	struct mmsghdr mm[UDP_BATCH];
	struct iovec iov[UDP_BATCH];

	if (fd < 0)
		return;
	while (rd->events < rd->d->round_budget) {
		for (int i = 0; i < UDP_BATCH; i++) {
			iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
			mm[i].msg_hdr = (struct msghdr){ .msg_name = &srcs[i],
							 .msg_namelen = sizeof(srcs[i]),
							 .msg_iov = &iov[i],
							 .msg_iovlen = 1,
							 .msg_control = cbufs[i],
							 .msg_controllen = sizeof(cbufs[i]) };
		}
		int n = recvmmsg(fd, mm, UDP_BATCH, MSG_DONTWAIT, NULL);

		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			struct cmsghdr *c = CMSG_FIRSTHDR(&mm[i].msg_hdr);

			/* SO_RXQ_OVFL: datagrams the socket dropped so far, in total */
			if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
				uint32_t drops;

				memcpy(&drops, CMSG_DATA(c), sizeof(drops));
				rd->d->cnt.udp_dropped = drops;
			}
			if (mm[i].msg_hdr.msg_flags & MSG_TRUNC) {
				rd->events++;
				rd->d->cnt.events++;
				rd->d->cnt.malformed++;
				continue;
			}
			on_datagram(rd, bufs[i], mm[i].msg_len, &srcs[i],
				    mm[i].msg_hdr.msg_namelen);
		}
		if (n < UDP_BATCH)
			return;
	}
}

static int udp_open(struct bbd *d, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1,
	    rcv = UDP_RCVBUF;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;

	if (fd < 0)
		return -errno;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (void *)&ss;

		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(d->port);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(d->port);
		sl = sizeof(*s4);
	}
	setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	/* past net.core.rmem_max when we may (CAP_NET_ADMIN): a commit's fsync
	 * must not overflow the buffer at the rates the XDP path takes */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)))
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (bind(fd, (struct sockaddr *)&ss, sl)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* ---- lifecycle ------------------------------------------------------------ */

static int iface_open(struct bbd *d, struct bbd_iface *ifc)
{
	struct bb_dp_opts o = { .pin_dir = d->pin_dir, .port = d->port, .handoff = d->handoff };
	struct bb_xsk_opts xo = { .frames = d->xsk_frames };
	struct bb_link link;
	int fds[BPFBUS_MAX_QUEUES], n, err;

	err = bb_link_get(ifc->name, &link);
	if (err) {
		log_err("no interface '%s': %s", ifc->name, strerror(-err));
		return -1;
	}
	ifc->ifindex = link.ifindex;
	err = bb_dp_open(&ifc->dp, &o);
	if (!err)
		err = bb_dp_attach(ifc->dp, link.ifindex, ifc->generic);
	if (err) {
		log_err("cannot attach to %s: %s", ifc->name, strerror(-err));
		return -1;
	}
	if (d->handoff == BPFBUS_HANDOFF_RINGBUF)
		err = bb_rx_open_ringbuf(&ifc->rx, bb_dp_map_fd(ifc->dp, BPFBUS_MAP_RING));
	else
		err = bb_rx_open_xsk(&ifc->rx, link.name, bb_dp_map_fd(ifc->dp, BPFBUS_MAP_XSKS),
				     bb_dp_map_fd(ifc->dp, BPFBUS_MAP_RING), &xo);
	if (err) {
		log_err("cannot open the %s receiver on %s: %s",
			d->handoff == BPFBUS_HANDOFF_RINGBUF ? "ring-buffer" : "AF_XDP", ifc->name,
			strerror(-err));
		return -1;
	}
	n = bb_rx_fds(ifc->rx, fds, BPFBUS_MAX_QUEUES);
	for (int i = 0; i < n; i++)
		if (bbd_epoll_add(d, fds[i], EPOLLIN, BBD_EP_INTAKE))
			return -1;
	log_info("attached to %s (%s, %s%s)", ifc->name, ifc->generic ? "generic" : "native",
		 d->handoff == BPFBUS_HANDOFF_RINGBUF ? "ring buffer" : "AF_XDP",
		 bb_dp_legacy(ifc->dp) ? ", without the dispatcher" : "");
	return 0;
}

int bbd_intake_open(struct bbd *d)
{
	if (d->handoff == BPFBUS_HANDOFF_XSK && d->n_ifaces > 1) {
		/* the XSKMAP is pinned, one per pin directory, keyed by RX queue */
		log_err("AF_XDP serves one interface per pin directory: use --handoff ringbuf "
			"with several interfaces");
		return -1;
	}
	for (int i = 0; i < d->n_ifaces; i++)
		if (iface_open(d, &d->ifaces[i]))
			return -1;
	d->udp_fd = udp_open(d, AF_INET);
	if (d->udp_fd < 0) {
		log_err("cannot bind the slow-path UDP socket to port %u: %s", d->port,
			strerror(-d->udp_fd));
		return -1;
	}
	d->udp6_fd = udp_open(d, AF_INET6);
	if (d->udp6_fd < 0)
		log_warn("no IPv6 slow-path socket on port %u: %s", d->port, strerror(-d->udp6_fd));
	if (bbd_epoll_add(d, d->udp_fd, EPOLLIN, BBD_EP_INTAKE) ||
	    (d->udp6_fd >= 0 && bbd_epoll_add(d, d->udp6_fd, EPOLLIN, BBD_EP_INTAKE)))
		return -1;
	log_info("slow path on UDP port %u", d->port);
	return 0;
}

static void round_start(struct bbd_round *rd, struct bbd *d)
{
	memset(rd, 0, sizeof(*rd));
	rd->d = d;
	rd->now_ms = bbd_clock(d);
	/* latency counts from here: the events are taken from the kernel's rings now */
	d->latency_pending.t0_us = prom_now_us();
}

/* The round's deliveries are durable (or lost): their latency, from the round's start. */
static bool latency_done(struct bbd *d, bool committed)
{
	prom_pending_flush(&d->latency_pending, prom_now_us(), committed);
	return committed;
}

bool bbd_round_commit(struct bbd_round *rd)
{
	struct bbd *d = rd->d;
	struct queue_result res;

	/* the archives first: an acknowledged event is archived before its ack */
	if (!rd->doomed && bbd_archives_sync(d))
		rd->doomed = true;
	if (!rd->txn) {
		if (rd->doomed)
			log_err("archive write failed: the events of this round are not "
				"acknowledged");
		return latency_done(d, !rd->doomed);
	}
	rd->txn = false;
	if (rd->doomed || queue_txn_commit(d->store, &res)) {
		if (rd->doomed)
			queue_txn_abort(d->store);
		log_err("group commit failed: %llu messages of this round lost: %s",
			(unsigned long long)rd->stored,
			rd->doomed ? "a store error inside the round" : res.message);
		d->cnt.lost_commit += rd->stored;
		return latency_done(d, false);
	}
	d->cnt.delivered += rd->stored;
	return latency_done(d, true);
}

/* The round's group commit and acks; false when what it stored is lost. */
static bool round_finish(struct bbd_round *rd)
{
	struct bbd *d = rd->d;
	bool committed;

	if (rd->txn && !rd->doomed && bbd_acks_persist(d))
		rd->doomed = true;
	committed = bbd_round_commit(rd);
	bbd_acks_flush(d, committed); /* or forget them, and the cached windows */
	if (rd->events)
		d->cnt.rounds++;
	return committed;
}

int bbd_intake_round(struct bbd *d)
{
	struct bbd_round rd;

	round_start(&rd, d);
	for (int i = 0; i < d->n_ifaces && rd.events < d->round_budget; i++) {
		if (!d->ifaces[i].rx)
			continue;
		/* AF_XDP hands over one batch per poll: fill the round, one commit */
		int r;

		do
			r = bb_rx_poll(d->ifaces[i].rx, 0, on_xdp, &rd);
		while (r > 0 && rd.events < d->round_budget);
		if (r < 0 && r != -EINTR)
			log_warn("receive on %s: %s", d->ifaces[i].name, strerror(-r));
	}
	drain_udp(&rd, d->udp_fd);
	drain_udp(&rd, d->udp6_fd);
	round_finish(&rd);
	if (rd.stored)
		bbd_control_wake(d, NULL);
	return rd.events;
}

int bbd_intake_put(struct bbd *d, const struct bbd_put_event *evs, size_t n, uint64_t *stored)
{
	struct bbd_round rd;

	round_start(&rd, d);
	for (size_t i = 0; i < n; i++) {
		struct bpfbus_bus kb;
		struct event ev = { .msg = { .kind = BPFBUS_WIRE_KIND_EVENT,
					     .name = evs[i].bus,
					     .name_len = strlen(evs[i].bus),
					     .body = evs[i].event,
					     .body_len = evs[i].len },
				    .event_id = evs[i].id };

		rd.events++;
		if (bb_bus_find(d->busfd, evs[i].bus, &kb) || kb.kind != BPFBUS_BUS_EVENT) {
			d->cnt.events++;
			d->cnt.unknown_bus++;
			continue;
		}
		ev.bus_id = kb.id;
		route(&rd, &ev);
	}
	*stored = rd.stored;
	return round_finish(&rd) ? 0 : -1;
}

/* An event tried before, for another attempt at a target of rule @r. */
static struct event event_again(const struct bbd_route *r, const char *body, size_t len,
				const char *group, const char *dedup, int64_t first_ms,
				uint32_t retries)
{
	const char *slash = strrchr(r->name, '/');

	return (struct event){
		.bus_id = r->bus_id,
		.first_ms = first_ms,
		.retries = retries,
		.msg = { .kind = BPFBUS_WIRE_KIND_EVENT,
			 .name = r->name,
			 .name_len = slash ? (uint16_t)(slash - r->name) : 0,
			 .body = body,
			 .body_len = (uint32_t)len,
			 .group = group,
			 .group_len = group ? (uint16_t)strlen(group) : 0,
			 .dedup = dedup,
			 .dedup_len = dedup ? (uint16_t)strlen(dedup) : 0 },
	};
}

/*
 * A due lease of an http delivery this daemon still holds: renewed (true).
 * One it does not hold was left by a daemon that died: delivered again.
 */
static bool renew_lease(struct bbd *d, const struct retry_item *it)
{
	struct bbd_http_job *j = bbd_forward_held(d, it->seq);
	struct retry_item again = *it;
	struct queue_result res;

	if (!j)
		return false;
	again.due_ms = queue_store_now(d->store) + BBD_HTTP_LEASE_MS;
	if (retry_schedule_ref(d->retries, &again, &j->lease, &res))
		log_warn("http target %s: lease not renewed (%s): it may be delivered twice",
			 j->url, res.message);
	return true;
}

/* One finished http delivery: its lease cancelled, then counted or failed like any delivery. */
static void settle(struct bbd_round *rd, const struct bbd_http_job *j)
{
	struct bbd *d = rd->d;
	struct queue_result res;
	struct failure why;
	int ti;

	if (bbd_round_txn(rd))
		return; /* the lease stays: delivered again when it is due */
	if (retry_cancel(d->retries, &j->lease, &res) < 0) {
		log_err("http target %s: cannot cancel its lease: %s", j->url, res.message);
		rd->doomed = true;
		return;
	}
	if (j->post.status >= 200 && j->post.status < 300) {
		d->cnt.forwarded++;
		return;
	}
	const struct bbd_route *r = bbd_retry_target(d, j->key, &ti);

	if (!r) { /* its rule or target went meanwhile */
		d->cnt.retry_orphans++;
		return;
	}
	struct event ev = event_again(r, j->event, j->event_len, j->group_id, j->dedup_id,
				      j->first_ms, j->retries);
	struct queue_send_entry e = { .body = j->event,
				      .body_len = j->event_len,
				      .delay_seconds = QUEUE_DELAY_UNSET,
				      .group_id = j->group_id,
				      .dedup_id = j->dedup_id };

	http_failure(&why, j->url, j->post.status, j->post.err);
	after_failure(rd, r, ti, &ev, &e, &why);
}

void bbd_forward_settle(struct bbd *d)
{
	struct bbd_http_job *j = bbd_forward_take_done(d), *next;
	struct queue_result res;
	struct bbd_round rd;

	if (!j)
		return;
	round_start(&rd, d);
	for (; j; j = next) {
		next = j->next;
		settle(&rd, j);
		bbd_forward_job_free(j);
	}
	if (!round_finish(&rd) && retry_resync(d->retries, &res))
		log_warn("retry store: %s", res.message);
	if (rd.stored) {
		bbd_control_wake(d, NULL);
		bbd_http_wake(d);
	}
}

int bbd_retries_round(struct bbd *d)
{
	struct retry_item *v = NULL;
	struct queue_result res;
	struct bbd_round rd;
	long n;

	if (!d->retries || !retry_pending(d->retries))
		return 0;
	/* a read first: no write transaction while nothing is due */
	int64_t due = retry_next_due(d->retries, &res);

	if (due <= 0 || due > queue_store_now(d->store))
		return 0;
	round_start(&rd, d);
	if (bbd_round_txn(&rd))
		return 0;
	n = retry_take_due(d->retries, queue_store_now(d->store), (size_t)d->round_budget, &v,
			   &res);
	if (n < 0)
		log_warn("cannot take the due retries: %s", res.message);
	for (long i = 0; i < n; i++) {
		const struct retry_item *it = &v[i];
		int ti;

		if (it->kind == BBD_RETRY_LEASE && renew_lease(d, it))
			continue;
		const struct bbd_route *r = bbd_retry_target(d, it->target, &ti);

		if (!r) {
			d->cnt.retry_orphans++;
			continue;
		}
		struct event ev = event_again(r, it->body, it->body_len, it->group_id, it->dedup_id,
					      it->first_ms, it->retries);
		struct hops hops = { .n = 0 };

		rd.now_ms = it->first_ms; /* input transformers: the event's ingestion time */
		d->cnt.retried++;
		deliver(&rd, r, ti, &ev, &hops);
	}
	retry_items_free(v, n > 0 ? (size_t)n : 0);
	if (!round_finish(&rd) && retry_resync(d->retries, &res))
		log_warn("retry store: %s", res.message);
	if (rd.stored) {
		bbd_control_wake(d, NULL);
		bbd_http_wake(d);
	}
	return n > 0 ? (int)n : 0;
}

void bbd_intake_xsk_stats(const struct bbd *d, struct bb_rx_stats *st)
{
	memset(st, 0, sizeof(*st));
	for (int i = 0; i < d->n_ifaces; i++) {
		struct bb_rx_stats one;

		if (!d->ifaces[i].rx || bb_rx_stats(d->ifaces[i].rx, &one))
			continue;
		st->rx_dropped += one.rx_dropped;
		st->rx_ring_full += one.rx_ring_full;
		st->fill_ring_empty += one.fill_ring_empty;
	}
}

void bbd_intake_close(struct bbd *d)
{
	for (int i = 0; i < d->n_ifaces; i++) {
		struct bbd_iface *ifc = &d->ifaces[i];

		bb_rx_close(ifc->rx);
		ifc->rx = NULL;
		if (ifc->dp) {
			if (bb_dp_detach(ifc->dp))
				log_warn("detaching from %s failed", ifc->name);
			else
				log_info("detached from %s", ifc->name);
			bb_dp_close(ifc->dp);
			ifc->dp = NULL;
		}
	}
	if (d->udp_fd >= 0)
		close(d->udp_fd);
	if (d->udp6_fd >= 0)
		close(d->udp6_fd);
	d->udp_fd = d->udp6_fd = -1;
}

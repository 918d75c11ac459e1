// SPDX-License-Identifier: BSD-2-Clause
/*
 * GET /metrics (docs/api.md): Prometheus text format, rendered on the HTTP
 * listener's thread with the store lock held. Bus and rule counters come
 * from the pinned per-CPU maps `bpfbus stats` and `bpfbus rule show` read;
 * queue depths from the store, queue activity and message ages from the
 * store's counters; intake counters from the daemon; latency histograms of
 * rules and topics from the daemon's tables. The listener appends its own
 * request counters and latencies.
 */
#include "bpfbusd.h"
#include "bpfbus/tables.h"
#include "datapath.h"
#include "json.h"
#include "prom.h"
#include "queue.h"
#include "reply.h"
#include "strbuf.h"
#include "topic.h"

#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ buses */

struct bus_row {
	char name[64];
	size_t name_len;
	struct bpfbus_bus_stats s;
};

static const struct {
	const char *name, *help;
	size_t off;
} bus_counters[] = {
#define BUS_COUNTER(f, h)                                                          \
	{                                                                          \
		"bpfbus_bus_" #f "_total", h, offsetof(struct bpfbus_bus_stats, f) \
	}
	BUS_COUNTER(received, "Datagrams to the router's port."),
	BUS_COUNTER(bytes, "UDP payload bytes of those datagrams."),
	BUS_COUNTER(dropped, "Datagrams no rule matched, dropped in XDP."),
	BUS_COUNTER(redirected, "Datagrams handed to the daemon (AF_XDP or ring buffer)."),
	BUS_COUNTER(matched, "Redirected datagrams the kernel matched exactly."),
	BUS_COUNTER(verify, "Redirected datagrams flagged VERIFY (the daemon decides)."),
	BUS_COUNTER(archived, "Redirected datagrams no rule matched, kept for an archive."),
	BUS_COUNTER(sampled, "Redirected datagrams nothing wanted, sampled for schema discovery."),
	BUS_COUNTER(ack_unmatched,
		    "Redirected datagrams no rule matched, handed off for the producer's ack."),
	BUS_COUNTER(passed, "Datagrams passed to the slow-path UDP socket."),
#undef BUS_COUNTER
};

/* Every bus of the pinned map, and bus 0 ("-": datagrams that belong to no bus). */
static size_t read_buses(const struct bbd *d, struct bus_row **rows)
{
	int sfd = bb_map_open_pinned(d->pin_dir, BPFBUS_MAP_BUS_STATS);
	struct bpfbus_bus *buses = NULL;
	int n = d->busfd >= 0 ? bb_bus_list(d->busfd, &buses) : 0;
	size_t k = 0;

	*rows = xcalloc((size_t)(n > 0 ? n : 0) + 1, sizeof(**rows));
	if (sfd >= 0 && !bb_bus_stats_read(sfd, BPFBUS_BUS_NONE, &(*rows)[k].s)) {
		(*rows)[k].name[0] = '-';
		(*rows)[k++].name_len = 1;
	}
	for (int i = 0; sfd >= 0 && i < n; i++) {
		struct bus_row *r = &(*rows)[k];

		if (bb_bus_stats_read(sfd, buses[i].id, &r->s))
			continue;
		r->name_len = buses[i].name_len < sizeof(r->name) ? buses[i].name_len
								  : sizeof(r->name) - 1;
		memcpy(r->name, buses[i].name, r->name_len);
		k++;
	}
	free(buses);
	if (sfd >= 0)
		close(sfd);
	return k;
}

static void render_buses(const struct bbd *d, struct strbuf *out)
{
	struct bus_row *rows;
	size_t n = read_buses(d, &rows);

	for (size_t c = 0; c < sizeof(bus_counters) / sizeof(bus_counters[0]); c++) {
		prom_family(out, bus_counters[c].name, "counter", bus_counters[c].help);
		for (size_t i = 0; i < n; i++) {
			uint64_t v;

			memcpy(&v, (const char *)&rows[i].s + bus_counters[c].off, sizeof(v));
			sb_printf(out, "%s{bus=\"", bus_counters[c].name);
			prom_escape(out, rows[i].name, rows[i].name_len);
			sb_printf(out, "\"} %llu\n", (unsigned long long)v);
		}
	}
	free(rows);
}

/* ------------------------------------------------------------ rules */

/* Rules of the live kernel tables, as `bpfbus rule show` lists them. */
static void render_rules(const struct bbd *d, struct strbuf *out)
{
	int nfd = bb_map_open_pinned(d->pin_dir, "km_rule_names");
	int sfd = bb_map_open_pinned(d->pin_dir, BPFBUS_MAP_RULE_STATS);
	struct strbuf bytes = STRBUF_INIT;
	uint32_t key, next, *prev = NULL;

	prom_family(out, "bpfbus_rule_matches_total", "counter",
		    "Events the kernel matched to the rule (VERIFY events not included).");
	while (nfd >= 0 && sfd >= 0 && !bpf_map_get_next_key(nfd, prev, &next)) {
		struct bpfbus_rule_name rn;
		struct bpfbus_rule_stats st = { 0 };
		size_t len;

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(nfd, &key, &rn) || bb_rule_stats_read(sfd, key, &st))
			continue;
		len = strnlen(rn.name, sizeof(rn.name));
		sb_adds(out, "bpfbus_rule_matches_total{rule=\"");
		prom_escape(out, rn.name, len);
		sb_printf(out, "\"} %llu\n", (unsigned long long)st.matches);
		sb_adds(&bytes, "bpfbus_rule_bytes_total{rule=\"");
		prom_escape(&bytes, rn.name, len);
		sb_printf(&bytes, "\"} %llu\n", (unsigned long long)st.bytes);
	}
	prom_family(out, "bpfbus_rule_bytes_total", "counter",
		    "Event body bytes the kernel matched to the rule.");
	if (bytes.len)
		sb_add(out, bytes.buf, bytes.len);
	sb_free(&bytes);
	if (nfd >= 0)
		close(nfd);
	if (sfd >= 0)
		close(sfd);
}

/* ------------------------------------------------------------ queues */

static const char *const depth_attrs[] = {
	"ApproximateNumberOfMessages",
	"ApproximateNumberOfMessagesNotVisible",
	"ApproximateNumberOfMessagesDelayed",
};
static const char *const depth_states[] = { "visible", "not_visible", "delayed" };

/* bpfbus_queue_<key>_total, and the key in `bpfbus queue stats` */
static const struct {
	const char *key, *help;
} activity[] = {
	[QA_SENT] = { "sent", "Messages that sends put into the queue." },
	[QA_RECEIVED] = { "received", "Messages that receives handed out." },
	[QA_DELETED] = { "deleted", "Messages deleted with their receipt handles." },
	[QA_EXPIRED] = { "expired", "Messages dropped at the end of their retention period." },
	[QA_DEAD_LETTERED] = { "dead_lettered",
			       "Messages moved to the dead-letter queue after maxReceiveCount "
			       "receives." },
};

/* What each queue did since the daemon started, and its messages' age at first receive. */
static void render_activity(struct bbd *d, const struct queue_kv_list *names, struct strbuf *out)
{
	const char *age = "bpfbus_queue_first_receive_age_seconds";

	for (size_t c = 0; c < sizeof(activity) / sizeof(activity[0]); c++) {
		char name[64];

		snprintf(name, sizeof(name), "bpfbus_queue_%s_total", activity[c].key);
		prom_family(out, name, "counter", activity[c].help);
		for (size_t i = 0; i < names->n; i++) {
			const char *q = names->v[i].name;
			const struct prom_entry *e = queue_store_activity(d->store, q);

			sb_printf(out, "%s{", name);
			prom_label(out, "queue", q, strlen(q));
			sb_printf(out, "} %llu\n", e ? (unsigned long long)e->counter[c] : 0ULL);
		}
	}
	prom_family(out, age, "histogram",
		    "Age of messages at their first receive: from the send to the receive that "
		    "first handed them out.");
	for (size_t i = 0; i < names->n; i++) {
		const struct prom_entry *e = queue_store_activity(d->store, names->v[i].name);

		if (e)
			prom_hist_render(out, age, e->labels, &e->h);
	}
}

static void render_queues(struct bbd *d, struct strbuf *out)
{
	struct queue_kv_list names, attrs;
	struct queue_result res;

	prom_family(
		out, "bpfbus_queue_messages", "gauge",
		"Approximate messages in the queue: visible, in flight (not visible), delayed.");
	if (queue_list(d->store, NULL, 1000000, &names, &res)) {
		log_warn("metrics: cannot list the queues: %s", res.message);
		return;
	}
	for (size_t i = 0; i < names.n; i++) {
		const char *q = names.v[i].name;

		if (queue_get_attributes(d->store, q, depth_attrs, 3, &attrs, &res))
			continue; /* deleted meanwhile: nothing to show */
		for (size_t s = 0; s < 3; s++)
			for (size_t a = 0; a < attrs.n; a++) {
				if (strcmp(attrs.v[a].name, depth_attrs[s]))
					continue;
				sb_adds(out, "bpfbus_queue_messages{queue=\"");
				prom_escape(out, q, strlen(q));
				sb_printf(out, "\",state=\"%s\"} %s\n", depth_states[s],
					  attrs.v[a].value);
			}
		queue_kv_list_free(&attrs);
	}
	render_activity(d, &names, out);
	queue_kv_list_free(&names);
}

/* ------------------------------------------------------------ topics */

static const struct {
	const char *what, *help;
	size_t off;
} sub_counters[] = {
#define SUB_COUNTER(f, h)                                     \
	{                                                     \
#f, h, offsetof(struct topic_sub_counters, f) \
	}
	SUB_COUNTER(delivered, "Messages accepted by the subscription's queue or endpoint."),
	SUB_COUNTER(filtered, "Messages the subscription's filter policy did not want."),
	SUB_COUNTER(failed, "Deliveries that failed, with no dead-letter queue to take them."),
	SUB_COUNTER(dead_lettered, "Failed deliveries stored in the RedrivePolicy queue."),
#undef SUB_COUNTER
};

struct sub_row {
	const char *topic, *arn, *protocol;
	struct topic_sub_counters c;
};

static uint64_t counter_at(const struct topic_sub_counters *c, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)c + off, sizeof(v));
	return v;
}

/*
 * Per topic: published (since the daemon started) and its subscriptions'
 * counters summed; per confirmed subscription: its own (durable) counters.
 */
static void render_topics(struct bbd *d, struct strbuf *out)
{
	struct topic_sub_list subs = { 0 };
	struct queue_kv_list topics = { 0 };
	struct topic_result res;
	struct sub_row *rows;
	size_t nrows = 0;

	if (!d->topics || topic_list(d->topics, &topics, &res) ||
	    topic_list_subscriptions(d->topics, NULL, &subs, &res)) {
		if (d->topics)
			log_warn("metrics: cannot list the topics: %s", res.message);
		queue_kv_list_free(&topics);
		return;
	}
	rows = xcalloc(subs.n + 1, sizeof(*rows));
	for (size_t i = 0; i < subs.n; i++) {
		struct sub_row *r = &rows[nrows];

		*r = (struct sub_row){ .topic = subs.v[i].topic_arn,
				       .arn = subs.v[i].arn,
				       .protocol = subs.v[i].protocol };
		if (!topic_sub_counters(d->topics, r->arn, &r->c, &res))
			nrows++; /* pending ones ("PendingConfirmation") have none */
	}
	prom_family(out, "bpfbus_topic_published_total", "counter",
		    "Messages Publish and PublishBatch accepted since the daemon started.");
	for (size_t t = 0; t < topics.n; t++) {
		sb_adds(out, "bpfbus_topic_published_total{topic=\"");
		prom_escape(out, topics.v[t].name, strlen(topics.v[t].name));
		sb_printf(out, "\"} %llu\n",
			  (unsigned long long)bbd_topic_count(d, topics.v[t].name)->published);
	}
	for (size_t c = 0; c < sizeof(sub_counters) / sizeof(sub_counters[0]); c++) {
		sb_printf(out, "# HELP bpfbus_topic_%s_total All subscriptions: %s\n",
			  sub_counters[c].what, sub_counters[c].help);
		sb_printf(out, "# TYPE bpfbus_topic_%s_total counter\n", sub_counters[c].what);
		for (size_t t = 0; t < topics.n; t++) {
			uint64_t sum = 0;

			for (size_t i = 0; i < nrows; i++)
				if (!strcmp(rows[i].topic, topics.v[t].name))
					sum += counter_at(&rows[i].c, sub_counters[c].off);
			sb_printf(out, "bpfbus_topic_%s_total{topic=\"", sub_counters[c].what);
			prom_escape(out, topics.v[t].name, strlen(topics.v[t].name));
			sb_printf(out, "\"} %llu\n", (unsigned long long)sum);
		}
	}
	for (size_t c = 0; c < sizeof(sub_counters) / sizeof(sub_counters[0]); c++) {
		sb_printf(out, "# HELP bpfbus_subscription_%s_total %s\n", sub_counters[c].what,
			  sub_counters[c].help);
		sb_printf(out, "# TYPE bpfbus_subscription_%s_total counter\n",
			  sub_counters[c].what);
		for (size_t i = 0; i < nrows; i++) {
			sb_printf(out, "bpfbus_subscription_%s_total{topic=\"",
				  sub_counters[c].what);
			prom_escape(out, rows[i].topic, strlen(rows[i].topic));
			sb_adds(out, "\",subscription=\"");
			prom_escape(out, rows[i].arn, strlen(rows[i].arn));
			sb_adds(out, "\",protocol=\"");
			prom_escape(out, rows[i].protocol, strlen(rows[i].protocol));
			sb_printf(out, "\"} %llu\n",
				  (unsigned long long)counter_at(&rows[i].c, sub_counters[c].off));
		}
	}
	free(rows);
	topic_sub_list_free(&subs);
	queue_kv_list_free(&topics);
}

/* ------------------------------------------------------------ intake */

static void render_intake(const struct bbd *d, struct strbuf *out)
{
	const struct bbd_counters *c = &d->cnt;
	const struct {
		const char *reason;
		uint64_t n;
	} drops[] = {
		{ "malformed", c->malformed },	     { "unknown_bus", c->unknown_bus },
		{ "unmatched", c->unmatched },	     { "delivery_failed", c->delivery_failed },
		{ "lost_commit", c->lost_commit },   { "udp_dropped", c->udp_dropped },
		{ "out_of_order", c->out_of_order },
	};

	prom_family(out, "bpfbus_intake_events_total", "counter",
		    "Events the daemon took in, by source.");
	sb_printf(out, "bpfbus_intake_events_total{source=\"xdp\"} %llu\n",
		  (unsigned long long)c->xdp_events);
	sb_printf(out, "bpfbus_intake_events_total{source=\"udp\"} %llu\n",
		  (unsigned long long)c->udp_events);
	prom_family(out, "bpfbus_intake_delivered_total", "counter",
		    "Messages durably put into target queues.");
	sb_printf(out, "bpfbus_intake_delivered_total %llu\n", (unsigned long long)c->delivered);
	prom_family(out, "bpfbus_intake_dropped_total", "counter",
		    "Events or deliveries the daemon dropped, by reason.");
	for (size_t i = 0; i < sizeof(drops) / sizeof(drops[0]); i++)
		sb_printf(out, "bpfbus_intake_dropped_total{reason=\"%s\"} %llu\n", drops[i].reason,
			  (unsigned long long)drops[i].n);
	prom_family(out, "bpfbus_outbox_deliveries_total", "counter",
		    "http/https/udp deliveries of topics, by outcome (failed: retries used up or a "
		    "client error).");
	sb_printf(out, "bpfbus_outbox_deliveries_total{outcome=\"delivered\"} %llu\n",
		  (unsigned long long)c->outbox_delivered);
	sb_printf(out, "bpfbus_outbox_deliveries_total{outcome=\"failed\"} %llu\n",
		  (unsigned long long)c->outbox_failed);
	prom_family(out, "bpfbus_outbox_retries_total", "counter",
		    "Delivery attempts retried under a delivery policy.");
	sb_printf(out, "bpfbus_outbox_retries_total %llu\n", (unsigned long long)c->outbox_retries);
	prom_family(out, "bpfbus_intake_duplicates_total", "counter",
		    "Acknowledged events received again (acknowledged, not delivered twice).");
	sb_printf(out, "bpfbus_intake_duplicates_total %llu\n", (unsigned long long)c->duplicates);
}

/*
 * {"op": "queue.stats", "queue": NAME}: the counters /metrics shows for the
 * queue (`bpfbus queue stats`), and its first-receive ages' count and sum.
 */
int bbd_queue_stats(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	static const char *const arn[] = { "QueueArn" };
	const struct prom_entry *e;
	struct queue_kv_list attrs;
	struct queue_result res;
	const char *q;

	if (bbd_need_str(req, "queue", &q, out))
		return 0;
	if (queue_get_attributes(d->store, q, arn, 1, &attrs, &res)) /* it exists */
		return bbd_fail(out, queue_err_type(res.code), "%s", res.message);
	queue_kv_list_free(&attrs);
	e = queue_store_activity(d->store, q);
	bbd_ok_open(out);
	sb_adds(out, "{\"queue\":");
	json_write_string(out, q, strlen(q));
	for (size_t c = 0; c < sizeof(activity) / sizeof(activity[0]); c++)
		sb_printf(out, ",\"%s\":%llu", activity[c].key,
			  e ? (unsigned long long)e->counter[c] : 0ULL);
	sb_printf(out, ",\"first_receive_age\":{\"count\":%llu,\"sum_seconds\":%llu.%06llu}}}",
		  e ? (unsigned long long)e->h.count : 0ULL,
		  e ? (unsigned long long)(e->h.sum_us / 1000000) : 0ULL,
		  e ? (unsigned long long)(e->h.sum_us % 1000000) : 0ULL);
	return 0;
}

/* ------------------------------------------------------------ latencies */

struct prom_entry *bbd_rule_latency(struct bbd *d, const char *bus, const char *rule)
{
	struct strbuf key = STRBUF_INIT;
	struct prom_entry *e;

	/* rule="BUS/RULE" as bpfbus_rule_matches_total names it; bus="BUS" to sum by */
	prom_label(&key, "bus", bus, strlen(bus));
	sb_adds(&key, ",rule=\"");
	prom_escape(&key, bus, strlen(bus));
	sb_addc(&key, '/');
	prom_escape(&key, rule, strlen(rule));
	sb_addc(&key, '"');
	e = prom_table_get(&d->rule_latency, key.buf);
	sb_free(&key);
	return e;
}

struct prom_entry *bbd_topic_latency(struct bbd *d, const char *topic_arn, const char *protocol)
{
	struct strbuf key = STRBUF_INIT;
	struct prom_entry *e;

	prom_label(&key, "topic", topic_arn, strlen(topic_arn));
	sb_addc(&key, ',');
	prom_label(&key, "protocol", protocol, strlen(protocol));
	e = prom_table_get(&d->topic_latency, key.buf);
	sb_free(&key);
	return e;
}

static void render_latencies(struct bbd *d, struct strbuf *out)
{
	prom_table_render(out, "bpfbus_rule_delivery_latency_seconds",
			  "Events a rule delivered to a target: from the intake round that took "
			  "the event in to the group commit that made its delivery durable.",
			  &d->rule_latency);
	prom_table_render(out, "bpfbus_topic_delivery_latency_seconds",
			  "Messages a topic delivered: from Publish to the commit that put them "
			  "into sqs subscriptions' queues, or to the endpoint's acceptance over "
			  "http, https and udp (retries included).",
			  &d->topic_latency);
}

void bbd_metrics_free(struct bbd *d)
{
	prom_table_free(&d->rule_latency);
	prom_table_free(&d->topic_latency);
}

void bbd_metrics_render(void *ctx, struct strbuf *out)
{
	struct bbd *d = ctx;

	render_buses(d, out);
	render_rules(d, out);
	render_queues(d, out);
	render_topics(d, out);
	render_intake(d, out);
	render_latencies(d, out);
}

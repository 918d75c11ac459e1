/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * bpfbusd: one thread, one epoll loop (docs/daemon.md). Intake (AF_XDP or
 * ring buffer, and the slow-path UDP socket) is drained in rounds; each round
 * delivers into the queue store inside one group commit. Control clients are
 * served between rounds; long-poll receives are parked, never blocking.
 */
#ifndef BPFBUSD_H
#define BPFBUSD_H

#include "bpfbus/datapath.h"
#include "model.h"
#include "post_pool.h"
#include "prom.h"
#include "retry.h"
#include "rules_dp.h"
#include "sqs_api.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define BBD_MAX_IFACES 8
/*
 * AF_XDP frames per RX queue (64 MiB of UMEM): the RX ring holds about 50 ms
 * at 300k events/s, longer than a round's commit with its fsync takes here.
 */
#define BBD_XSK_FRAMES_DEFAULT 16384

enum bbd_log_level { LOG_ERR_ = 0, LOG_WARN_, LOG_INFO_, LOG_DEBUG_ };

void bbd_log(enum bbd_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) bbd_log(LOG_ERR_, __VA_ARGS__)
#define log_warn(...) bbd_log(LOG_WARN_, __VA_ARGS__)
#define log_info(...) bbd_log(LOG_INFO_, __VA_ARGS__)
#define log_debug(...) bbd_log(LOG_DEBUG_, __VA_ARGS__)
extern enum bbd_log_level bbd_log_level;
/* "error", "warn", "info", "debug" -> level; -1 when unknown. */
int bbd_log_parse(const char *s);

struct bbd_iface {
	char name[32];
	bool generic;
	int ifindex;
	struct bb_dp *dp;
	struct bb_rx *rx;
};

struct eb_input;

/* An http target's POST, connection to answer (a worker waits: forward.c). */
#define BBD_HTTP_TARGET_TIMEOUT_MS 5000
/*
 * An http delivery in progress holds a lease: a retry record due this much
 * later, renewed while its job is still held, cancelled when it settles. A
 * daemon that dies leaves it behind: delivered again once it is due.
 */
#define BBD_HTTP_LEASE_MS 10000
/* struct retry_item.kind of such leases (retries of failed deliveries are 0) */
#define BBD_RETRY_LEASE 1

/* A target as delivery needs it (routes.c, from the model's struct bb_target). */
struct bbd_target {
	char *id; /* the target's id (retries find their target by rule and id) */
	int kind; /* enum bb_target_kind */
	char *addr; /* queue, topic or bus name, http URL, udp HOST:PORT */
	char *dlq; /* dead-letter queue (NULL: none) */
	char *arn; /* TARGET_ARN of dead letters */
	struct eb_input *input; /* NULL: the event as it is */
	int retry_attempts, max_event_age_s; /* RetryPolicy */
	char *group; /* FIFO queue and topic targets: SqsParameters.MessageGroupId */
	bool fifo; /* a FIFO queue or topic: each delivery has a group and deduplication id */
};

/* A rule id of one compiled generation -> where its events go. */
struct bbd_route {
	uint32_t bus_id;
	bool archive; /* an archive entry of the kernel tables: no rule, no targets */
	const char *name; /* "bus/rule" (owned by the ruleset) */
	const char *rule_name; /* the part after the bus */
	char *rule_arn;
	struct prom_entry *latency; /* its deliveries' latency (bbd_rule_latency) */
	int n_targets;
	struct bbd_target t[BB_MAX_TARGETS];
};

struct bbd_routes {
	struct bb_compiled c;
	struct bbd_route *r; /* c.n_rules */
	const struct bbd_route **by_name; /* c.n_rules, sorted by name: bbd_route_named() */
	struct bb_match_ctx *mctx;
};

/* Intake counters (docs/daemon.md, `bpfbus daemon status`). */
struct bbd_counters {
	uint64_t events; /* events taken in (all sources) */
	uint64_t xdp_events, udp_events;
	uint64_t malformed; /* slow-path datagrams that failed to decode */
	uint64_t unknown_bus;
	uint64_t unmatched; /* no rule matched (VERIFY or slow path) */
	uint64_t sampled; /* handed off by the kernel for schema discovery only */
	uint64_t verified; /* matched in userspace */
	uint64_t delivered; /* messages durably put into a target queue */
	uint64_t delivery_failed; /* a target refused (no such queue, FIFO without group, ...) */
	uint64_t dead_lettered; /* of those, put into the target's dead-letter queue */
	uint64_t forwarded; /* events handed to bus, http and udp targets */
	uint64_t not_forwarded; /* bus targets of events that came from a bus (one hop) */
	uint64_t lost_commit; /* messages of rounds whose group commit failed */
	uint64_t udp_dropped; /* socket receive-buffer overflows (SO_RXQ_OVFL) */
	uint64_t rounds;
	uint64_t acks_sent, duplicates;
	uint64_t out_of_order; /* FIFO acked datagrams ahead of a missing one (dropped) */
	/* RetryPolicy (retries.c) */
	uint64_t retries_scheduled; /* failed deliveries put into the retry store */
	uint64_t retried; /* retries attempted */
	uint64_t retries_exhausted; /* MaximumRetryAttempts or MaximumEventAgeInSeconds reached */
	uint64_t retries_dropped; /* not kept: the retry store was full (or failed) */
	uint64_t retry_orphans; /* due retries whose rule or target was gone */
	uint64_t http_queue_full; /* http deliveries that found every worker slot taken */
	/* the topic store's outbox (outbox.c): http/https/udp deliveries */
	uint64_t outbox_delivered, outbox_failed, outbox_retries;
	/* SNS datagrams: published to their topic, refused (no topic, bad attributes, ...) */
	uint64_t sns_published, sns_rejected;
	uint64_t scheduled; /* scheduled events fired (and committed) */
	/* control requests (op "sqs") that shared a group commit, and those commits */
	uint64_t control_grouped, control_commits;
};

struct queue_store;
struct queue_result;
struct topic_store;
struct bbd_archives;
struct bbd_schedules;
struct bbd_schemas;
struct bbd_client;
struct bbd_acks;
struct bbd_outbox;
struct http_api;

/* The HTTP API's options (http.c); no --http: no listener. */
struct bbd_http_opts {
	const char *listen; /* "ADDR:PORT" */
	const char *credentials, *tls_cert, *tls_key;
	bool anonymous;
	unsigned int timeout_s; /* idle or slow connections closed after; 0: 30 */
};

struct bbd {
	/* options */
	const char *state_dir, *pin_dir, *control_path;
	struct bbd_iface ifaces[BBD_MAX_IFACES];
	int n_ifaces;
	enum bpfbus_handoff handoff;
	uint16_t port;
	int round_budget; /* events per round (bounds the work before a commit) */
	uint32_t xsk_frames; /* --xsk-frames: UMEM frames and RX ring size per AF_XDP socket */
	struct bbd_http_opts http;
	const char *account_id, *region; /* of ARNs and queue URLs; NULL: AWS's defaults */
	int producer_idle_s; /* acknowledged-ingest windows forgotten after this */
	bool testing; /* --testing: test.* control requests are served (testing.c) */
	long max_inflight; /* --max-inflight: the store's quota per queue (0: SQS's) */
	size_t retry_max; /* --retry-max: retries the store keeps at most */
	struct retry_backoff backoff; /* --retry-base-ms, --retry-cap-ms */
	struct retry_store *retries;
	unsigned replay_rate; /* events per second of each replay (--replay-rate) */
	unsigned discovery_rate; /* --discovery-rate: kernel samples/s per bus for discovery */
	size_t http_queue_max; /* --http-queue: http target POSTs waiting for a worker, at most */

	/* state */
	struct bb_model model;
	struct queue_store *store;
	struct sqs_api sqs; /* the SQS dispatcher over @store (control requests) */
	bool wake_pending; /* a request made messages receivable: retry long polls */
	struct bbd_routes routes[2]; /* [gen & 1]: the live and the previous generation */
	uint32_t live_gen;
	int busfd; /* pinned bus map */
	int pin_lock_fd; /* our claim on the pin directory (pin_lock.h) */
	int udp_fd, udp6_fd, listen_fd, sig_fd, timer_fd, epfd;
	bool stopping, reload_requested;
	struct bbd_client *clients;
	struct bbd_acks *acks;
	struct bbd_archives *archives; /* archives and their replays (archives.c) */
	struct bbd_schedules *schedules; /* scheduled rules (schedules.c) */
	struct bbd_schemas *schemas; /* discovered schemas (schemas.c) */
	struct bbd_counters cnt;
	/*
	 * The store is not thread-safe: the loop holds this while it works,
	 * the HTTP listener's thread around each of its store calls.
	 */
	pthread_mutex_t store_lock;
	struct http_api *api;
	int wake_fd; /* eventfd: the listener made messages receivable */
	int64_t clock_offset_ms; /* test.clock: the store's time runs this far ahead */
	struct {
		char queue[96];
		int64_t left;
	} failpoint; /* test.fail: deliveries into @queue that still fail */
	/*
	 * Rule targets of kind topic: publish @msg to @topic with the FIFO
	 * @group_id and @dedup_id (NULL for standard topics) (0, or -1 with
	 * @res saying why). Set by the topic code when the daemon serves
	 * topics; while NULL, topic targets are refused when they are put.
	 */
	int (*deliver_topic)(struct bbd *d, const char *topic, const char *msg, size_t len,
			     const char *group_id, const char *dedup_id, struct queue_result *res);
	struct bbd_forward *forward; /* http target deliveries (forward.c) */

	/* SNS (sns.c) */
	struct topic_store *topics; /* in @store's environment */
	struct bbd_topic_count *topic_counts; /* since the daemon started */
	size_t n_topic_counts;
	bool outbox_due; /* a call wrote outbox items: look at the outbox now */
	struct bbd_outbox *outbox;
	int sns_retry_unit_ms; /* one second of a delivery policy (tests shorten it) */

	/* latency histograms for GET /metrics (metrics.c); store lock held */
	struct prom_table rule_latency; /* bus="B",rule="R": taken in to committed */
	struct prom_table topic_latency; /* topic="ARN",protocol="P": published to delivered */
	struct prom_pending latency_pending; /* the round's deliveries, until its commit */
};

/* routes.c: compile the model into the kernel tables and the routes. */
/* Rule @mr of bus @bus as delivery needs it (targets, ARNs; @r->name set by the caller). */
void bbd_route_fill(struct bbd *d, struct bbd_route *r, const char *bus, const struct bb_rule *mr);
void bbd_route_free(struct bbd_route *r);
int bbd_routes_reload(struct bbd *d, char *err, size_t err_len);
const struct bbd_routes *bbd_routes_for(const struct bbd *d, uint32_t gen);
/* The route of rule "bus/rule" (@len bytes of @name), by binary search; NULL: none. */
const struct bbd_route *bbd_route_named(const struct bbd_routes *rt, const char *name, size_t len);
void bbd_routes_free(struct bbd *d);
/* Make the pinned bus map and the model agree (both ways); 0 or -1. */
int bbd_sync_buses(struct bbd *d, char *err, size_t err_len);

/*
 * intake.c. A round of deliveries shares one group commit: intake rounds, and
 * the replay driver's slices. The store transaction opens with the first
 * delivery (or bbd_round_txn, for records that commit with the deliveries).
 */
/* Which matched rules get an event (NULL: all). */
typedef bool (*bbd_rule_filter)(void *ctx, const struct bbd_route *r);
struct bbd_round {
	struct bbd *d;
	int events;
	bool txn;
	bool doomed; /* a store or archive write failed: nothing of the round commits */
	uint64_t stored; /* messages put in this round */
	int64_t now_ms; /* when the round began (bbd_clock): ingestion and archive times */
	bbd_rule_filter want; /* while routing a replayed event: its rules only */
	void *want_ctx;
};
int bbd_round_txn(struct bbd_round *rd);
/*
 * Route @body (a JSON object) on bus @bus_id with the live rules' userspace
 * matcher into the targets of the matched rules @want accepts: a replayed
 * event, archived neither here nor on the buses its bus targets put it on.
 * Returns the number of those rules, or -1 when @body is not a JSON object.
 */
int bbd_round_route(struct bbd_round *rd, uint32_t bus_id, const char *bus, const char *body,
		    size_t len, bbd_rule_filter want, void *ctx);
/* Deliver @body to every target of route @r on bus @bus, whatever it matches (scheduled events). */
void bbd_round_deliver_rule(struct bbd_round *rd, const struct bbd_route *r, const char *bus,
			    const char *body, size_t len);
/* Sync the archives, commit the store: true when everything of the round is durable. */
bool bbd_round_commit(struct bbd_round *rd);
int bbd_intake_open(struct bbd *d);
/* One round over every source that may have input; returns events taken. */
int bbd_intake_round(struct bbd *d);
/* An event put through the API (PutEvents): its bus and envelope. */
struct bbd_put_event {
	const char *bus;
	const char *event;
	size_t len;
	const char *id; /* the envelope's id: FIFO queue targets' deduplication id */
};
/*
 * Route events like datagrams of their buses, in one round of their own, and
 * store what they deliver in its group commit before returning. 0, or -1
 * when the commit failed and nothing of it was stored; *@stored counts the
 * messages put into queues.
 */
int bbd_intake_put(struct bbd *d, const struct bbd_put_event *evs, size_t n, uint64_t *stored);
void bbd_intake_close(struct bbd *d);
struct bb_rx_stats;
/* The AF_XDP sockets' kernel counters, summed over the interfaces (zero for ringbuf). */
void bbd_intake_xsk_stats(const struct bbd *d, struct bb_rx_stats *st);
/* Deliver the retries that are due, in one group commit; how many were taken. */
int bbd_retries_round(struct bbd *d);

/* retries.c: EventBridge's RetryPolicy (docs/daemon.md, "Retries"). */
int bbd_retries_open(struct bbd *d);
void bbd_retries_close(struct bbd *d);
/* A failed attempt to deliver an event: what a retry needs to try again. */
struct bbd_attempt {
	const char *body; /* the event as it came (the target's input is applied again) */
	size_t body_len;
	const char *group_id, *dedup_id; /* NULL: none */
	int64_t first_ms; /* the first attempt (store clock): the event's age counts from it */
	uint32_t retries; /* retries made so far, the failed one included (0: first attempt) */
};
/*
 * After a retriable failure of target @ti of @r: schedule the next attempt in
 * the open group commit (RETRY_SCHEDULE), or say the policy is exhausted
 * (RETRY_EXHAUSTED_*), or -1 when the retry could not be kept (counted).
 */
int bbd_retry_later(struct bbd *d, const struct bbd_route *r, int ti, const struct bbd_attempt *a);
/* The name retries give target @ti of @r ("bus/rule" LF target id), malloc'd. */
char *bbd_retry_key(const struct bbd_route *r, int ti);
/* The live route and target index a retry's target name stands for; NULL: gone. */
const struct bbd_route *bbd_retry_target(const struct bbd *d, const char *key, int *ti);

/* acks.c: acknowledged ingest. Producers keep at most half a window in flight. */
#define BBD_ACK_WINDOW 1024
int bbd_acks_init(struct bbd *d);
void bbd_acks_free(struct bbd *d);
/*
 * 1: (producer, seq) was seen before; 0: first time (now marked); 2: @in_order
 * and an earlier number is missing (not marked: drop it unanswered); -1: error.
 */
int bbd_ack_seen(struct bbd *d, uint64_t producer, uint64_t seq, bool in_order);
/* Write the windows changed in this round into the open group commit. */
int bbd_acks_persist(struct bbd *d);
/* An ack to send once the round commits (at most one per event of a round). */
void bbd_ack_queue(struct bbd *d, const struct sockaddr *addr, socklen_t len, uint64_t producer,
		   uint64_t seq, enum bpfbus_ack_status status);
/* Forget producers idle for @idle_ms (store and cache); how many, or -1. */
long bbd_acks_expire(struct bbd *d, int64_t idle_ms);
/* After the commit: send the acks, or (@committed false) forget them and the cache. */
void bbd_acks_flush(struct bbd *d, bool committed);

/* archives.c: archives (docs/archives.md) and the replay driver. */
struct json_value;
struct strbuf;
int bbd_archives_open(struct bbd *d);
void bbd_archives_close(struct bbd *d);
/* Offer an event of bus @bus to its archives (written, not yet synced); -1 on a write error. */
int bbd_archives_offer(struct bbd *d, const char *bus, size_t bus_len, const char *body, size_t len,
		       int64_t now_ms);
/* The enabled archives as kernel table entries (bb_rules_reload_opts); free() the array. */
struct bb_archive_entry *bbd_archive_entries(const struct bbd *d, size_t *n);
/* Sync the archives written since the last sync; -1 when one failed. */
int bbd_archives_sync(struct bbd *d);
/* Retention (every minute). */
void bbd_archives_sweep(struct bbd *d, int64_t now_ms);
/* Step the running replays whose time has come, each in one round. */
void bbd_replays_run(struct bbd *d, int64_t now_ms);
/* Control ops archive.* and replay.*; 0 when @op is one of them (answered), -1 when not. */
int bbd_archive_ops(struct bbd *d, const char *op, const struct json_value *req,
		    struct strbuf *out);

/* schedules.c: scheduled rules of the default bus. */
/* Rebuild the schedules from the model (after every change). */
void bbd_schedules_sync(struct bbd *d);
/* Fire the schedules that are due. */
void bbd_schedules_run(struct bbd *d, int64_t now_ms);
void bbd_schedules_free(struct bbd *d);
/* The next firing of rule @rule (ms since the epoch), or -1. */
int64_t bbd_schedule_next_ms(const struct bbd *d, const char *rule);

/* schemas.c: schema discovery. */
/* Events looked at per second (and the kernel's default sampling rate). */
#define BBD_DISCOVERY_RATE 100
void bbd_schemas_open(struct bbd *d);
/* Look at an event taken in on bus @bus (sampled: at most 100 a second; none
 * of a bus whose discoverer is stopped). */
void bbd_schemas_observe(struct bbd *d, const char *bus, size_t bus_len, const char *body,
			 size_t len, int64_t now_ms);
/* Write schemas.json when something changed (every second). */
void bbd_schemas_save(struct bbd *d);
void bbd_schemas_free(struct bbd *d);
/* Control ops schema.* (schema.discovery: a bus's discoverer started or
 * stopped): 0 when @op is one (answered), -1 when not. */
int bbd_schema_ops(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out);

/* control.c */
int bbd_control_open(struct bbd *d);
void bbd_control_accept(struct bbd *d);
/*
 * Readiness on a client fd (the epoll data points at the client). Its queue
 * requests join the loop turn's batch: answered, and the client flushed, by
 * bbd_control_batch_end() once their group commit returned.
 */
void bbd_control_event(struct bbd *d, struct bbd_client *c, uint32_t events);
/* Commit the batch of control requests, send their answers; before any other store work. */
void bbd_control_batch_end(struct bbd *d);
/* Retry parked long polls (all, or those on @queue); expire those past deadline. */
void bbd_control_wake(struct bbd *d, const char *queue);
void bbd_control_close(struct bbd *d);

/* ops.c: one request -> one response (JSON text appended to @out). */
struct json_value;
struct strbuf;
int bbd_ops_dispatch(struct bbd *d, const struct json_value *req, struct strbuf *out,
		     int64_t *park_until);
/* sqs.c: {"op": "sqs", "action": A, "request": {...}}; 1 when it parks. */
int bbd_sqs_request(struct bbd *d, const struct json_value *req, struct strbuf *out,
		    int64_t *park_until);
struct eb_error;
/* Model changes: save, then compile into the kernel. */
int bbd_model_commit(struct bbd *d, char *err, size_t err_len);
/* Commit a model change; when that fails, restore @snapshot (bb_model_to_json). */
int bbd_model_commit_or_restore(struct bbd *d, const struct strbuf *snapshot, char *err,
				size_t err_len);
/* Buses: into the kernel and the model (saved); 0, or -1 with EventBridge's error. */
int bbd_bus_create(struct bbd *d, const char *name, int kind, uint32_t *id, struct eb_error *e);
/* Refused for default and for a bus with rules. */
int bbd_bus_remove(struct bbd *d, struct bb_mbus *b, struct eb_error *e);
/* What PutTargets / PutRule check beyond the model's syntax; 0 or -1 with @err. */
int bbd_check_target(const struct bbd *d, const struct bb_target *t, struct eb_error *err);
int bbd_check_rule(const struct bb_mbus *b, const struct bb_rule *r, struct eb_error *err);
/* The account and region of ARNs (AWS's defaults when not configured). */
const char *bbd_account(const struct bbd *d);
const char *bbd_region(const struct bbd *d);
/*
 * The ARN a target is known by (TARGET_ARN of its dead letters, Arn in the
 * API): a queue's or topic's ARN, a bus's event-bus ARN, the http URL,
 * udp://HOST:PORT.
 */
void bbd_target_arn(const struct bbd *d, const struct bb_target *t, char *buf, size_t cap);

/* http.c: the HTTP API (docs/api.md). Options are BBD_OPT_* getopt codes. */
enum {
	BBD_OPT_HTTP = 0x100,
	BBD_OPT_CREDENTIALS,
	BBD_OPT_ANONYMOUS,
	BBD_OPT_TLS_CERT,
	BBD_OPT_TLS_KEY,
	BBD_OPT_ACCOUNT_ID,
	BBD_OPT_REGION,
	BBD_OPT_HTTP_TIMEOUT,
	BBD_OPT_HTTP_LAST = BBD_OPT_HTTP_TIMEOUT,
};
#define BBD_HTTP_LONG_OPTIONS                                                    \
	{ "http", required_argument, NULL, BBD_OPT_HTTP },                       \
		{ "credentials", required_argument, NULL, BBD_OPT_CREDENTIALS }, \
		{ "anonymous", no_argument, NULL, BBD_OPT_ANONYMOUS },           \
		{ "tls-cert", required_argument, NULL, BBD_OPT_TLS_CERT },       \
		{ "tls-key", required_argument, NULL, BBD_OPT_TLS_KEY },         \
		{ "account-id", required_argument, NULL, BBD_OPT_ACCOUNT_ID },   \
		{ "region", required_argument, NULL, BBD_OPT_REGION },           \
	{                                                                        \
		"http-timeout", required_argument, NULL, BBD_OPT_HTTP_TIMEOUT    \
	}
/* One BBD_OPT_* option; -1 (with a message on stderr) when its value is bad. */
int bbd_http_option(struct bbd *d, int opt, const char *arg);
/* Options that only make sense together; -1 with a message. */
int bbd_http_check_options(const struct bbd *d);
/* Start the listener when --http was given; -1 (logged) when it cannot. */
int bbd_http_start(struct bbd *d);
void bbd_http_stop(struct bbd *d);
/* SIGHUP: the credentials file again. */
void bbd_http_reload(struct bbd *d);
/* Messages became receivable outside HTTP (control socket, intake, move tasks). */
void bbd_http_wake(struct bbd *d);
/* The wake eventfd is readable: retry the control socket's parked receives. */
void bbd_http_woken(struct bbd *d);
/* http.c: the listener's base URL ("http://127.0.0.1:9324"); -1 without --http. */
int bbd_http_endpoint(const struct bbd *d, char *buf, size_t cap);

/* sns.c: the topic store and the SNS API on HTTP and the control socket. */
struct bbd_topic_count {
	char *arn;
	uint64_t published; /* messages accepted by Publish and PublishBatch */
};
/* Open the topic store (after bbd_http_start) and register the SNS dispatcher. */
int bbd_sns_open(struct bbd *d);
void bbd_sns_close(struct bbd *d);
/* Topics or subscriptions changed: topic buses and the kernel tables again. */
int bbd_sns_reload_tables(struct bbd *d);
/* {"op": "sns", "action": A, "params": {NAME: VALUE}}: the result as JSON. */
int bbd_sns_request(struct bbd *d, const struct json_value *req, struct strbuf *out);
/* The counters of topic @arn (created at zero). */
struct bbd_topic_count *bbd_topic_count(struct bbd *d, const char *arn);

/* sns_intake.c: an SNS datagram published to its topic in the open group commit;
 * the kernel's rule ids when @kernel_rt. 0 stored, 1 refused, -1 store failure. */
struct bb_wire_msg;
/* Rule targets of kind topic publish through the topic store from now on. */
void bbd_sns_serve_topic_targets(struct bbd *d);
int bbd_sns_datagram(struct bbd *d, const struct bb_wire_msg *m, uint32_t bus_id,
		     const struct bbd_routes *kernel_rt, const uint32_t *ids, uint32_t n_ids);

/* topic_rules.c: topics as buses of kind topic, subscriptions as their rules. */
struct bb_topic_rules;
/* Every topic of the store has its bus (pinned map and model). */
int bbd_topic_buses_sync(struct bbd *d);
/* DeleteTopic: the topic's bus goes too (unless rules of the model are on it). */
void bbd_topic_bus_remove(struct bbd *d, const char *topic_arn);
struct bb_topic_rules *bbd_topic_rules(struct bbd *d, size_t *n);
void bbd_topic_rules_free(struct bb_topic_rules *t, size_t n);

/* forward.c: http target POSTs on worker threads; intake.c settles them. */
struct bbd_http_job {
	/* the POST of url and body, for a worker; it sets post.status and post.err */
	struct post_job post;
	char *url, *body;
	size_t len;
	/* the rest under the store lock: what a retry of the delivery needs */
	char *key; /* the target, as retries name it (bbd_retry_key) */
	char *event; /* the event as it came (a retry applies the input again) */
	size_t event_len;
	char *group_id, *dedup_id; /* NULL: none */
	int64_t first_ms; /* the first attempt (store clock) */
	uint32_t retries; /* retries made before this attempt */
	struct retry_ref lease;
	struct bbd_http_job *next, *held_next;
};
int bbd_forward_start(struct bbd *d);
/* Whether a job posted now would find room in the workers' bounded queue. */
bool bbd_forward_room(const struct bbd *d);
/* Jobs waiting for a worker now (at most d->http_queue_max). */
size_t bbd_forward_waiting(const struct bbd *d);
/* Hand @j to the workers (after bbd_forward_room); held until settled. */
void bbd_forward_post(struct bbd *d, struct bbd_http_job *j);
/* The held job whose lease is retry record @lease_seq, or NULL. */
struct bbd_http_job *bbd_forward_held(const struct bbd *d, uint64_t lease_seq);
/* The finished jobs (linked by next), no longer held: the caller settles and frees them. */
struct bbd_http_job *bbd_forward_take_done(struct bbd *d);
void bbd_forward_job_free(struct bbd_http_job *j);
/* Stop the workers once their POSTs are answered; jobs not started are dropped (leased). */
void bbd_forward_stop(struct bbd *d);
void bbd_forward_free(struct bbd *d);
/* intake.c: the finished jobs settled in one group commit (leases cancelled, failures retried). */
void bbd_forward_settle(struct bbd *d);

/* outbox.c: http/https POSTs (worker threads) and udp datagrams of the outbox. */
int bbd_outbox_open(struct bbd *d);
/* Results in, new items taken, due attempts started; on the loop's thread. */
void bbd_outbox_work(struct bbd *d);
void bbd_outbox_close(struct bbd *d);

/* metrics.c: GET /metrics in Prometheus text (store lock held). */
struct strbuf;
void bbd_metrics_render(void *ctx, struct strbuf *out);
/* The latency histogram of rule @rule of bus @bus (created empty). */
struct prom_entry *bbd_rule_latency(struct bbd *d, const char *bus, const char *rule);
/* The latency histogram of deliveries over @protocol of topic @topic_arn. */
struct prom_entry *bbd_topic_latency(struct bbd *d, const char *topic_arn, const char *protocol);
void bbd_metrics_free(struct bbd *d);
/* {"op": "queue.stats", "queue": NAME}: the queue's counters of GET /metrics. */
int bbd_queue_stats(struct bbd *d, const struct json_value *req, struct strbuf *out);

/* testing.c: the store's clock (real time plus the test offset) and test.* requests. */
/* test.fail: true when this delivery into @queue is to fail (counted down). */
bool bbd_failpoint_hit(struct bbd *d, const char *queue);
int64_t bbd_clock(void *ctx);
int bbd_testing_op(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out);

/* epoll data tags for the fixed fds */
#define BBD_EP_SIG ((uint64_t)1)
#define BBD_EP_TIMER ((uint64_t)2)
#define BBD_EP_LISTEN ((uint64_t)3)
#define BBD_EP_INTAKE ((uint64_t)4)
#define BBD_EP_WAKE ((uint64_t)5)
#define BBD_EP_OUTBOX ((uint64_t)6)
#define BBD_EP_FORWARD ((uint64_t)7)
#define BBD_EP_CLIENT_MIN ((uint64_t)4096) /* above: a struct bbd_client pointer */

int bbd_epoll_add(struct bbd *d, int fd, uint32_t events, uint64_t tag);

#endif

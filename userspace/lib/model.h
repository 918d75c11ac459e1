/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The object model: buses and their rules (pattern, state, targets), the one
 * persistent description of what routes where. It lives in the state
 * directory as objects.json, rewritten atomically (write, fsync, rename) on
 * every change. bpfbusd holds it in memory and is its only writer while it
 * runs; without the daemon, `bpfbus rule load|clear` edit the file directly.
 * The kernel tables are compiled from it (rules_dp.h). Queues are not here:
 * they live in the queue store (queue.h) in the same directory.
 */
#ifndef BPFBUS_LIB_MODEL_H
#define BPFBUS_LIB_MODEL_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf;
struct json_value;

#define BB_MAX_TARGETS 5 /* EventBridge: targets per rule */
#define BB_RULE_NAME_MAX 64 /* EventBridge rule names and target ids */
#define BB_DEFAULT_BUS "default"

/* What a rule target is (EventBridge's target kinds that bpfbus serves). */
enum bb_target_kind {
	BB_TARGET_QUEUE, /* a queue of the queue store */
	BB_TARGET_TOPIC, /* a topic of the topic store */
	BB_TARGET_BUS, /* another event bus: the event is routed there again */
	BB_TARGET_HTTP, /* an http:// endpoint: POST of the input */
	BB_TARGET_UDP, /* HOST:PORT: the input as a wire v1 datagram */
	BB_TARGET_KINDS
};

/* RetryPolicy: EventBridge's ranges and defaults. */
#define BB_RETRY_ATTEMPTS_MAX 185
#define BB_EVENT_AGE_MIN 60
#define BB_EVENT_AGE_MAX 86400
#define BB_TARGET_ADDR_MAX 2048

/*
 * A rule target (model_target.c). In objects.json and the control protocol
 * it is one JSON object whose kind is its address's key:
 *   {"id": ID, "queue"|"topic"|"bus"|"http"|"udp": ADDRESS, "dlq": QUEUE,
 *    "input": JSON, "input_path": PATH, "input_transformer": {"InputPathsMap":
 *    {...}, "InputTemplate": "..."}, "retry_attempts": N, "max_event_age": S,
 *    "message_group_id": GROUP}
 * so an entry of the first format ({"id","queue","dlq"}) is a queue target.
 */
struct bb_target {
	char *id; /* 1..64 of [.-_A-Za-z0-9] */
	int kind; /* enum bb_target_kind */
	char *addr; /* queue, topic or bus name, http URL, udp HOST:PORT */
	char *dlq; /* DeadLetterConfig: queue for what the target refuses, or NULL */
	char *input; /* Input (constant JSON text), or NULL */
	char *input_path; /* InputPath, or NULL */
	char *input_transformer; /* InputTransformer (JSON object text), or NULL */
	int retry_attempts; /* RetryPolicy.MaximumRetryAttempts, 0..185 */
	int max_event_age_s; /* RetryPolicy.MaximumEventAgeInSeconds, 60..86400 */
	char *message_group_id; /* SqsParameters.MessageGroupId (FIFO queues and topics), or NULL */
};

/* "queue", "topic", ...; and back (-1 when unknown). */
const char *bb_target_kind_name(int kind);
int bb_target_kind_parse(const char *s);
/* A target with EventBridge's defaults (retry 185 times, for up to 24 hours). */
void bb_target_init(struct bb_target *t);
void bb_target_free(struct bb_target *t);
void bb_target_copy(struct bb_target *dst, const struct bb_target *src);
void bb_target_to_json(const struct bb_target *t, struct strbuf *sb);
/*
 * A target from its JSON object (strings copied). 0, or -1 with @err naming
 * the member. Only the shape is checked here; bb_target_check does the rest.
 */
int bb_target_from_json(const struct json_value *o, struct bb_target *t, char *err, size_t err_len);
/*
 * Everything PutTargets checks: the id, the address for its kind, the
 * RetryPolicy ranges and the input (compiled with eb_transform). 0, or -1
 * with EventBridge's error (ValidationException) in @err.
 */
struct eb_error;
int bb_target_check(const struct bb_target *t, struct eb_error *err);
/* A queue or topic target whose name ends in .fifo (SQS and SNS insist on the suffix). */
bool bb_target_is_fifo(const struct bb_target *t);
/* The target's compiled input into @in (NULL: the event as it is); 0 or -1 with @err. */
struct eb_input;
int bb_target_input(const struct bb_target *t, struct eb_input **in, struct eb_error *err);

/* Tags of a rule or bus (TagResource): "tags": {"key": "value"} in objects.json. */
#define BB_MAX_TAGS 50
struct bb_tag {
	char *key, *value;
};

struct bb_tags {
	struct bb_tag *v;
	size_t n;
};

/* model_tags.c: add or replace; remove (false when absent); JSON ("tags": {...}). */
void bb_tags_set(struct bb_tags *t, const char *key, const char *value);
bool bb_tags_remove(struct bb_tags *t, const char *key);
const char *bb_tags_get(const struct bb_tags *t, const char *key);
void bb_tags_copy(struct bb_tags *dst, const struct bb_tags *src);
void bb_tags_free(struct bb_tags *t);
/* ,"tags":{...} when there are tags, else nothing. */
void bb_tags_to_json(const struct bb_tags *t, struct strbuf *sb);
/* From an object of strings (NULL: none); 0, or -1 with @err. */
int bb_tags_from_json(const struct json_value *o, struct bb_tags *t, char *err, size_t err_len);

struct bb_rule {
	char *name;
	char *pattern; /* EventBridge event pattern, JSON text; NULL: schedule only */
	char *schedule; /* ScheduleExpression, or NULL (fired by the scheduler) */
	char *description; /* Description, or NULL */
	bool enabled; /* state ENABLED / DISABLED */
	struct bb_target targets[BB_MAX_TARGETS];
	int n_targets;
	struct bb_tags tags;
};

struct bb_mbus {
	char *name;
	int kind; /* enum bpfbus_bus_kind */
	struct bb_rule *rules;
	size_t n_rules;
	char *description; /* Description, or NULL */
	struct bb_tags tags;
	/* its schema discoverer is stopped ("discovery": false); started by default */
	bool discovery_stopped;
};

struct bb_model {
	struct bb_mbus *buses;
	size_t n_buses;
};

/* Path of the model file in @state_dir (objects.json). */
void bb_model_path(const char *state_dir, char *buf, size_t len);
/* Load (an absent file is an empty model). Returns 0, or -1 with @err. */
int bb_model_load(const char *state_dir, struct bb_model *m, char *err, size_t err_len);
/* Save atomically (state_dir created 0700 if missing). 0, or -1 with @err. */
int bb_model_save(const char *state_dir, const struct bb_model *m, char *err, size_t err_len);
void bb_model_free(struct bb_model *m);
/* The file's JSON text, and back (a snapshot to roll back a failed change). */
void bb_model_to_json(const struct bb_model *m, struct strbuf *sb);
int bb_model_from_json(const char *text, size_t len, struct bb_model *m, char *err, size_t err_len);

struct bb_mbus *bb_model_bus(const struct bb_model *m, const char *name);
/* Add a bus without rules; NULL if it exists. */
struct bb_mbus *bb_model_add_bus(struct bb_model *m, const char *name, int kind);
void bb_model_remove_bus(struct bb_model *m, struct bb_mbus *b);
struct bb_rule *bb_model_rule(const struct bb_mbus *b, const char *name);
void bb_model_remove_rule(struct bb_mbus *b, struct bb_rule *r);

/* EventBridge's name syntax for rules and target ids; 0 or -1 with @err. */
int bb_model_check_name(const char *what, const char *name, char *err, size_t err_len);
/* Check that @pattern compiles as an event pattern; 0 or -1 with EventBridge's error. */
int bb_model_check_pattern(const char *pattern, size_t len, char *err, size_t err_len);

/*
 * Add or replace rule @r (its strings, targets and tags are copied) on @b.
 * A replaced rule keeps its targets when @r has none and @keep_targets is
 * set, and keeps its tags when @r has none.
 */
struct bb_rule *bb_model_put_rule(struct bb_mbus *b, const struct bb_rule *r, bool keep_targets);

/*
 * Replace every rule of @b with the rules of a rule file ({"name": pattern}),
 * all ENABLED; rules that keep their name keep their targets. Everything is
 * checked first: 0, or -1 with @err and nothing changed.
 */
int bb_model_set_rulefile(struct bb_mbus *b, const char *text, size_t len, char *err,
			  size_t err_len);

#endif

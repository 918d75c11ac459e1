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

#define BB_MAX_TARGETS 5 /* EventBridge: targets per rule */
#define BB_RULE_NAME_MAX 64 /* EventBridge rule names and target ids */
#define BB_DEFAULT_BUS "default"

/* A rule target: a queue of the queue store (this only kind). */
struct bb_target {
	char *id; /* 1..64 of [.-_A-Za-z0-9] */
	char *queue; /* queue name */
	char *dlq; /* DeadLetterConfig: queue for what @queue refuses, or NULL */
};

struct bb_rule {
	char *name;
	char *pattern; /* EventBridge event pattern, JSON text */
	bool enabled; /* state ENABLED / DISABLED */
	struct bb_target targets[BB_MAX_TARGETS];
	int n_targets;
};

struct bb_mbus {
	char *name;
	int kind; /* enum bpfbus_bus_kind */
	struct bb_rule *rules;
	size_t n_rules;
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
struct strbuf;
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
 * Add or replace rule @r (its strings are copied) on @b. A replaced rule
 * keeps its targets when @r has none and @keep_targets is set.
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

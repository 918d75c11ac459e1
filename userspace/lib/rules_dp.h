/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Rules into the datapath: a reload compiles the rules of the object model
 * (model.h) into the idle table slot of the pinned maps, then switches each
 * bus to the new generation with one map update (an event in flight sees
 * exactly one version). Used by bpfbusd and, without it, by `bpfbus rule`.
 */
#ifndef BPFBUS_RULES_DP_H
#define BPFBUS_RULES_DP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* $BPFBUS_STATE_DIR, else /var/lib/bpfbus. */
const char *bb_state_dir(void);

struct bb_model;
struct bb_ruleset;

struct bb_reload {
	uint32_t gen; /* generation now live */
	size_t n_rules; /* over all buses */
	size_t n_buses;
	size_t n_archives; /* archive entries (bb_reload_opts) */
};

/*
 * What a reload compiled, for the daemon's userspace matching and routing:
 * rule id i is rule_bus[i]'s rule named "bus/rule" in @rs (compiled). Ids
 * from archive_base on are archive entries ("bus/archive:NAME"), not rules:
 * no targets, never counted as matched.
 */
struct bb_compiled {
	struct bb_ruleset *rs;
	uint32_t *rule_bus;
	size_t n_rules;
	uint32_t gen;
	uint32_t archive_base;
};
void bb_compiled_free(struct bb_compiled *c);

/*
 * Compile the ENABLED rules of every bus that is both in the pinned bus map
 * and in @m into the idle slot of the pinned tables and switch. With @keep,
 * the compiled ruleset is handed over there instead of freed.
 */
int bb_rules_reload(const char *pin_dir, const struct bb_model *m, struct bb_reload *out,
		    struct bb_compiled *keep, char *err, size_t err_len);

/*
 * SNS topics are buses of kind topic: their confirmed subscriptions' filter
 * policies, of both scopes, are its rules, named "TOPIC/SUBSCRIPTION-ID", so
 * the kernel's match result is the set of subscriptions. A subscription
 * without a policy wants every message: the topic gets the bus flag
 * BPFBUS_BUS_F_KEEP_ALL (the kernel never drops, and the daemon adds such
 * subscriptions to what it matched). A topic whose policies cannot be
 * compiled gets BPFBUS_BUS_F_VERIFY_ALL: userspace decides everything.
 */
struct bb_topic_sub {
	const char *id; /* the subscription's id (the last part of its ARN) */
	const char *policy;
	bool body_scope; /* FilterPolicyScope MessageBody, else MessageAttributes */
};
struct bb_topic_rules {
	const char *topic; /* its bus */
	const struct bb_topic_sub *subs; /* confirmed, with a policy */
	size_t n;
	bool keep_all; /* a confirmed subscription without a policy */
	bool verify_all;
};

/* bb_rules_reload with the rules of @n topics too. */
int bb_rules_reload_topics(const char *pin_dir, const struct bb_model *m,
			   const struct bb_topic_rules *topics, size_t n, struct bb_reload *out,
			   struct bb_compiled *keep, char *err, size_t err_len);

/*
 * An enabled archive as a target-less entry of its bus's tables, so the
 * kernel hands off the events it wants even when no rule matches them
 * (BPFBUS_BUS_F_ARCHIVES; no pattern: BPFBUS_BUS_F_ARCHIVE_ALL).
 */
struct bb_archive_entry {
	const char *bus;
	const char *name;
	const char *pattern; /* NULL: every event of the bus */
};

/* What a reload compiles besides the model's rules. */
struct bb_reload_opts {
	const struct bb_topic_rules *topics;
	size_t n_topics;
	const struct bb_archive_entry *archives;
	size_t n_archives;
	/* schema discovery: events per second per event bus the kernel hands
	 * off of those it would drop (BPFBUS_BUS_F_DISCOVERY); 0: none */
	unsigned discovery_rate;
};

int bb_rules_reload_opts(const char *pin_dir, const struct bb_model *m,
			 const struct bb_reload_opts *o, struct bb_reload *out,
			 struct bb_compiled *keep, char *err, size_t err_len);

#endif

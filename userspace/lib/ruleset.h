/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * Public API of the reference matcher: a ruleset holds compiled EventBridge
 * event patterns and SNS filter policies; a match context matches events
 * against it. The cost of matching one event does not depend on the number
 * of rules (see docs/patterns.md, "How matching works").
 */
#ifndef BPFBUS_RULESET_H
#define BPFBUS_RULESET_H

#include <stddef.h>
#include <stdint.h>

#define BB_ERR_MAX 4096 /* room for a Jackson location quoting 500 characters of a pattern */

struct bb_error {
	char msg[BB_ERR_MAX]; /* full, user-facing message, as AWS words it */
	char path[256];	      /* the pattern field at fault ("" = the whole) */
};

enum bb_scope {
	BB_SCOPE_MESSAGE_ATTRIBUTES = 0,
	BB_SCOPE_MESSAGE_BODY = 1,
};

/* Which SNS call a policy arrives through: it decides the error prefix. */
enum bb_policy_api {
	BB_API_SET_SUBSCRIPTION_ATTRIBUTES = 0,
	BB_API_SUBSCRIBE = 1,
};

struct bb_ruleset;
struct bb_match_ctx;

struct bb_ruleset *bb_ruleset_new(void);
void bb_ruleset_free(struct bb_ruleset *rs);

/*
 * Add an EventBridge event pattern as rule @name. Returns the rule id (>= 0)
 * or -1 with @err set to EventBridge's message ("Event pattern is not valid.
 * Reason: ...").
 */
int bb_ruleset_add_pattern(struct bb_ruleset *rs, const char *name,
			   const char *pattern, size_t len, struct bb_error *err);

/*
 * Add an SNS subscription filter policy as rule @name, for the given scope.
 * Returns the rule id or -1 with @err set to SNS's message.
 */
int bb_ruleset_add_policy(struct bb_ruleset *rs, const char *name,
			  const char *policy, size_t len, enum bb_scope scope,
			  enum bb_policy_api api, struct bb_error *err);

/* Build the lookup tables. Must be called after the last add, before matching. */
int bb_ruleset_compile(struct bb_ruleset *rs);

size_t bb_ruleset_rule_count(const struct bb_ruleset *rs);
const char *bb_ruleset_rule_name(const struct bb_ruleset *rs, uint32_t id);
/* Bytes held by the compiled tables (for the benchmark's memory report). */
size_t bb_ruleset_memory(const struct bb_ruleset *rs);

struct bb_match_ctx *bb_match_ctx_new(const struct bb_ruleset *rs);
void bb_match_ctx_free(struct bb_match_ctx *ctx);

/*
 * Match one event (JSON text, not necessarily NUL-terminated). On success
 * returns the number of matched rules and points *@ids at their ids (owned by
 * @ctx, valid until the next call, each id once, in no particular order).
 * Returns -1 when the event is not a JSON object; @err (may be NULL) says why.
 */
int bb_match_event(struct bb_match_ctx *ctx, const char *event, size_t len,
		   const uint32_t **ids, struct bb_error *err);

/*
 * Match SNS message attributes ({"Name": {"Type": "String", "Value": "..."}})
 * against the ruleset's MessageAttributes-scope policies. Same return
 * convention as bb_match_event.
 */
int bb_match_attributes(struct bb_match_ctx *ctx, const char *attrs, size_t len,
			const uint32_t **ids, struct bb_error *err);

/*
 * Match one SNS message against a topic's ruleset, both scopes at once:
 * MessageAttributes-scope policies see @attrs (empty: no attributes, as
 * "{}"), MessageBody-scope policies see @body when it is a JSON object and
 * nothing otherwise. Same return convention as bb_match_event (-1: the
 * attributes are not SNS-shaped).
 */
int bb_match_sns(struct bb_match_ctx *ctx, const char *attrs, size_t attrs_len, const char *body,
		 size_t body_len, const uint32_t **ids, struct bb_error *err);

/*
 * The flat event SNS attributes are matched as (also what the kernel gets):
 * {"Name": value} with String values as strings, Number values as numbers,
 * String.Array values as their array; Binary attributes are left out.
 * Returns 0, or -1 with @err set.
 */
struct strbuf;
int bb_attributes_to_event(const char *attrs, size_t len, struct strbuf *ev,
			   struct bb_error *err);

#endif

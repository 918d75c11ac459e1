/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The EventBridge API in bpfbusd (docs/api.md, "EventBridge"): AWS JSON 1.1,
 * X-Amz-Target: AWSEvents.<Action>, signed for the service "events". The
 * dispatcher is registered on the daemon's HTTP listener (http_api.h); its
 * actions run on the listener's thread with the store lock held, which the
 * daemon's loop also holds while it works, so they may use the object model,
 * the routes and the queue store like the loop does.
 *
 * Each action reads its request (a parsed JSON object) and either writes its
 * answer into @out or sets @err (its __type, message and HTTP status).
 * Actions of other parts (archives and replays) add themselves to the table
 * in eb_api.c the same way.
 */
#ifndef BPFBUSD_EB_API_H
#define BPFBUSD_EB_API_H

#include "bpfbusd.h"
#include "eb_common.h"
#include "json.h"
#include "strbuf.h"

struct eb_call {
	struct bbd *d;
	const struct json_value *req; /* the request body, a JSON object */
	const char *body; /* and its text */
	size_t body_len;
	struct strbuf *out; /* the answer's JSON object */
	struct eb_error err; /* when the action fails */
	int status; /* HTTP status of the error: 400 unless set */
};

typedef int (*eb_action_fn)(struct eb_call *c);

/* -1 with the error set (status 400; 500 for InternalException). */
int eb_fail(struct eb_call *c, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Request members: 0 with *@v NULL when absent (unless @required: then
 * ValidationException naming it); -1 with SerializationException when the
 * member has another JSON type.
 */
int eb_str(struct eb_call *c, const char *key, bool required, const char **v);
int eb_int(struct eb_call *c, const char *key, long lo, long hi, long *v);
/* The bus a request names by EventBusName (name or ARN; default "default"). */
struct bb_mbus *eb_req_bus(struct eb_call *c, const char *key);
/* The rule named by member @key on the request's bus; NULL with the error set. */
struct bb_rule *eb_req_rule(struct eb_call *c, const char *key, struct bb_mbus **bus);

/* Tags: [{"Key": K, "Value": V}] of member @key into @t (absent: none); 0 or -1. */
int eb_tags_from_request(struct eb_call *c, const char *key, struct bb_tags *t);

/*
 * A list answer, {"@key": [...], "NextToken": "N"}: the page of @items (@n)
 * that NextToken and Limit (1..100) ask for, each written by @fn. 0 or -1.
 */
typedef void (*eb_item_fn)(struct eb_call *c, const void *item, const void *ctx);
int eb_list_page(struct eb_call *c, const char *key, const void *const *items, size_t n,
		 eb_item_fn fn, const void *ctx);
/* ,"key":"value" (escaped); the first member of an object without the comma. */
void eb_put_str(struct strbuf *out, const char *key, const char *val, bool first);

/* ARNs of this daemon's account and region. */
void eb_api_rule_arn(const struct bbd *d, const char *bus, const char *rule, char *buf, size_t cap);
void eb_api_bus_arn(const struct bbd *d, const char *bus, char *buf, size_t cap);

/* Save a model change that the kernel tables do not see (tags, descriptions). */
int eb_save(struct eb_call *c);
/*
 * Commit a change that they do see, restoring @snap (taken before it with
 * bb_model_to_json) when it fails; @snap is freed. eb_commit_empty also
 * answers {} when it worked.
 */
int eb_commit(struct eb_call *c, struct strbuf *snap);
int eb_commit_empty(struct eb_call *c, struct strbuf *snap);

/* eb_api_rules.c */
int eb_put_rule(struct eb_call *c);
int eb_delete_rule(struct eb_call *c);
int eb_describe_rule(struct eb_call *c);
int eb_list_rules(struct eb_call *c);
int eb_enable_rule(struct eb_call *c);
int eb_disable_rule(struct eb_call *c);
int eb_list_rule_names_by_target(struct eb_call *c);
/* eb_api_targets.c */
int eb_put_targets(struct eb_call *c);
int eb_remove_targets(struct eb_call *c);
int eb_list_targets_by_rule(struct eb_call *c);
/* eb_api_events.c */
int eb_put_events(struct eb_call *c);
int eb_test_event_pattern(struct eb_call *c);

/* eb_api_archives.c */
int eb_create_archive(struct eb_call *c);
int eb_describe_archive(struct eb_call *c);
int eb_list_archives(struct eb_call *c);
int eb_update_archive(struct eb_call *c);
int eb_delete_archive(struct eb_call *c);
int eb_start_replay(struct eb_call *c);
int eb_describe_replay(struct eb_call *c);
int eb_list_replays(struct eb_call *c);
int eb_cancel_replay(struct eb_call *c);

/* Register the dispatcher on the daemon's listener (http.c). */
int bbd_eb_api_register(struct bbd *d);

#endif

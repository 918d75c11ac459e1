// SPDX-License-Identifier: BSD-2-Clause
/*
 * The EventBridge API's archive and replay actions (docs/api.md,
 * "EventBridge"; docs/archives.md): CreateArchive, DescribeArchive,
 * ListArchives, UpdateArchive, DeleteArchive, StartReplay, DescribeReplay,
 * ListReplays, CancelReplay, in EventBridge's shapes, over the daemon's
 * archives (archives.c, replays.c). Times are epoch seconds, as AWS JSON 1.1
 * carries timestamps.
 */
#include "archives_int.h"
#include "eb_api.h"
#include "eb_event.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ,"key":seconds (milliseconds as a fraction) */
static void put_time(struct strbuf *out, const char *key, int64_t ms)
{
	sb_printf(out, ",\"%s\":%lld.%03lld", key, (long long)(ms / 1000), (long long)(ms % 1000));
}

/* A timestamp member (epoch seconds); -1 with the error set when absent or not a number. */
static int req_time(struct eb_call *c, const char *key, int64_t *ms)
{
	const struct json_value *v = json_get(c->req, key);

	if (!v || v->type == JSON_NULL)
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value null at '%s' failed to "
			       "satisfy constraint: Member must not be null",
			       key);
	if (v->type != JSON_NUMBER || !isfinite(v->u.num.d) || v->u.num.d < 0 || v->u.num.d > 1e13)
		return eb_fail(c, "SerializationException", "%s must be a timestamp", key);
	*ms = (int64_t)llround(v->u.num.d * 1000);
	return 0;
}

static struct bbd_arc *req_archive(struct eb_call *c)
{
	const char *name;
	struct bbd_arc *arc;

	if (eb_str(c, "ArchiveName", true, &name))
		return NULL;
	arc = bbd_arc_find(c->d, name);
	if (!arc)
		eb_fail(c, "ResourceNotFoundException", "Archive %s does not exist.", name);
	return arc;
}

static struct bbd_rep *req_replay(struct eb_call *c)
{
	const char *name;
	struct bbd_rep *rep;

	if (eb_str(c, "ReplayName", true, &name))
		return NULL;
	rep = bbd_rep_find(c->d, name);
	if (!rep)
		eb_fail(c, "ResourceNotFoundException", "Replay %s does not exist.", name);
	return rep;
}

static int fail_with(struct eb_call *c, const struct eb_error *e)
{
	return eb_fail(c, e->code, "%s", e->message);
}

/* ---- archives ------------------------------------------------------------- */

/* The members every archive answer has: ArchiveArn, State, CreationTime. */
static void archive_head(struct eb_call *c, const struct bbd_arc *arc, bool first)
{
	struct archive_info ai;
	char arn[BBD_ARN_MAX];

	archive_describe(arc->a, &ai);
	bbd_resource_arn(c->d, "archive", arc->name, arn);
	eb_put_str(c->out, "ArchiveArn", arn, first);
	eb_put_str(c->out, "State", "ENABLED", false);
	put_time(c->out, "CreationTime", ai.created_ms);
}

/* An archive as DescribeArchive (@full) or ListArchives' items show it. */
static void archive_json(struct eb_call *c, const void *item, const void *full)
{
	const struct bbd_arc *arc = item;
	struct archive_info ai;

	archive_describe(arc->a, &ai);
	sb_addc(c->out, '{');
	if (full)
		archive_head(c, arc, true);
	eb_put_str(c->out, "ArchiveName", arc->name, !full);
	eb_put_str(c->out, "EventSourceArn", ai.bus_arn, false);
	if (full) {
		if (ai.description)
			eb_put_str(c->out, "Description", ai.description, false);
		if (ai.pattern)
			eb_put_str(c->out, "EventPattern", ai.pattern, false);
	} else {
		eb_put_str(c->out, "State", "ENABLED", false);
		put_time(c->out, "CreationTime", ai.created_ms);
	}
	sb_printf(c->out, ",\"RetentionDays\":%u,\"SizeBytes\":%llu,\"EventCount\":%llu}",
		  ai.retention_days, (unsigned long long)ai.size_bytes,
		  (unsigned long long)ai.event_count);
}

int eb_create_archive(struct eb_call *c)
{
	struct bbd_archive_spec spec = { 0 };
	long days = 0;
	struct eb_error e;
	struct bbd_arc *arc;

	if (eb_str(c, "ArchiveName", true, &spec.name) ||
	    eb_str(c, "EventSourceArn", true, &spec.bus) ||
	    eb_str(c, "Description", false, &spec.description) ||
	    eb_str(c, "EventPattern", false, &spec.pattern) ||
	    eb_int(c, "RetentionDays", 0, 2147483647, &days))
		return -1;
	if (!eb_bus_name_of(spec.bus) || strncmp(spec.bus, "arn:", 4))
		return eb_fail(c, "ValidationException",
			       "Parameter EventSourceArn is not valid. Reason: Provided "
			       "EventSourceArn '%.256s' is not a valid event bus ARN.",
			       spec.bus);
	spec.retention_days = (unsigned)days;
	if (bbd_archive_create(c->d, &spec, &arc, &e))
		return fail_with(c, &e);
	sb_addc(c->out, '{');
	archive_head(c, arc, true);
	sb_addc(c->out, '}');
	return 0;
}

int eb_describe_archive(struct eb_call *c)
{
	struct bbd_arc *arc = req_archive(c);

	if (!arc)
		return -1;
	archive_json(c, arc, arc);
	return 0;
}

int eb_update_archive(struct eb_call *c)
{
	struct bbd_arc *arc = req_archive(c);
	struct archive_update u = { .retention_days = -1 };
	long days = -1;
	struct eb_error e;

	if (!arc || eb_str(c, "Description", false, &u.description) ||
	    eb_str(c, "EventPattern", false, &u.pattern) ||
	    eb_int(c, "RetentionDays", 0, 2147483647, &days))
		return -1;
	u.retention_days = days;
	if (bbd_archive_update(c->d, arc, &u, &e))
		return fail_with(c, &e);
	sb_addc(c->out, '{');
	archive_head(c, arc, true);
	sb_addc(c->out, '}');
	return 0;
}

int eb_delete_archive(struct eb_call *c)
{
	struct bbd_arc *arc = req_archive(c);
	struct eb_error e;

	if (!arc)
		return -1;
	if (bbd_archive_delete(c->d, arc, &e))
		return fail_with(c, &e);
	sb_adds(c->out, "{}");
	return 0;
}

int eb_list_archives(struct eb_call *c)
{
	const char *prefix, *source, *state;
	const struct bbd_archives *as = c->d->archives;
	const void **items = xcalloc(as->n + 1, sizeof(*items));
	size_t n = 0;

	if (eb_str(c, "NamePrefix", false, &prefix) ||
	    eb_str(c, "EventSourceArn", false, &source) || eb_str(c, "State", false, &state)) {
		free(items);
		return -1;
	}
	for (size_t i = 0; i < as->n; i++) {
		struct archive_info ai;

		archive_describe(as->arcs[i]->a, &ai);
		if ((prefix && strncmp(prefix, as->arcs[i]->name, strlen(prefix))) ||
		    (source && strcmp(source, ai.bus_arn)) || (state && strcmp(state, "ENABLED")))
			continue;
		items[n++] = as->arcs[i];
	}
	int r = eb_list_page(c, "Archives", items, n, archive_json, NULL);

	free(items);
	return r;
}

/* ---- replays ----------------------------------------------------------------- */

/* A replay as DescribeReplay (@full) or ListReplays' items show it. */
static void replay_json(struct eb_call *c, const void *item, const void *full)
{
	const struct bbd_rep *rep = item;
	struct replay_info ri;
	char arn[BBD_ARN_MAX];

	replay_describe(rep->r, &ri);
	sb_addc(c->out, '{');
	eb_put_str(c->out, "ReplayName", ri.name, true);
	if (full) {
		bbd_resource_arn(c->d, "replay", ri.name, arn);
		eb_put_str(c->out, "ReplayArn", arn, false);
		if (ri.description)
			eb_put_str(c->out, "Description", ri.description, false);
	}
	bbd_resource_arn(c->d, "archive", rep->arc->name, arn);
	eb_put_str(c->out, "EventSourceArn", arn, false);
	eb_put_str(c->out, "State", replay_state_name(ri.state), false);
	if (ri.reason)
		eb_put_str(c->out, "StateReason", ri.reason, false);
	if (full) {
		sb_adds(c->out, ",\"Destination\":{");
		eb_put_str(c->out, "Arn", ri.destination_bus_arn, true);
		if (ri.n_rules) {
			sb_adds(c->out, ",\"FilterArns\":[");
			for (size_t i = 0; i < ri.n_rules; i++) {
				if (i)
					sb_addc(c->out, ',');
				json_write_string(c->out, ri.rule_arns[i], strlen(ri.rule_arns[i]));
			}
			sb_addc(c->out, ']');
		}
		sb_addc(c->out, '}');
	}
	put_time(c->out, "EventStartTime", ri.start_ms);
	put_time(c->out, "EventEndTime", ri.end_ms);
	if (ri.last_replayed_ms)
		put_time(c->out, "EventLastReplayedTime", ri.last_replayed_ms);
	put_time(c->out, "ReplayStartTime", ri.replay_start_ms);
	if (ri.replay_end_ms)
		put_time(c->out, "ReplayEndTime", ri.replay_end_ms);
	sb_addc(c->out, '}');
}

/* ReplayArn, State and StateReason: what StartReplay and CancelReplay answer. */
static void replay_head(struct eb_call *c, const struct bbd_rep *rep, bool start_time)
{
	struct replay_info ri;
	char arn[BBD_ARN_MAX];

	replay_describe(rep->r, &ri);
	bbd_resource_arn(c->d, "replay", ri.name, arn);
	sb_addc(c->out, '{');
	eb_put_str(c->out, "ReplayArn", arn, true);
	eb_put_str(c->out, "State", replay_state_name(ri.state), false);
	if (ri.reason)
		eb_put_str(c->out, "StateReason", ri.reason, false);
	if (start_time)
		put_time(c->out, "ReplayStartTime", ri.replay_start_ms);
	sb_addc(c->out, '}');
}

int eb_start_replay(struct eb_call *c)
{
	struct bbd_replay_spec spec = { 0 };
	const struct json_value *dest = json_get(c->req, "Destination"), *filter;
	const char *rules[BB_MAX_RULE_ARNS];
	struct eb_error e;
	struct bbd_rep *rep;

	if (eb_str(c, "ReplayName", true, &spec.name) ||
	    eb_str(c, "Description", false, &spec.description) ||
	    eb_str(c, "EventSourceArn", true, &spec.archive) ||
	    req_time(c, "EventStartTime", &spec.start_ms) ||
	    req_time(c, "EventEndTime", &spec.end_ms))
		return -1;
	if (!dest || dest->type != JSON_OBJECT)
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value null at 'destination' failed "
			       "to satisfy constraint: Member must not be null");
	const struct json_value *darn = json_get(dest, "Arn");

	if (!darn || darn->type != JSON_STRING || memchr(darn->u.str.s, 0, darn->u.str.len))
		return eb_fail(c, "ValidationException",
			       "1 validation error detected: Value null at 'destination.arn' "
			       "failed to satisfy constraint: Member must not be null");
	spec.destination = darn->u.str.s;
	filter = json_get(dest, "FilterArns");
	if (filter && filter->type != JSON_ARRAY && filter->type != JSON_NULL)
		return eb_fail(c, "SerializationException", "FilterArns must be a list");
	for (size_t i = 0; filter && filter->type == JSON_ARRAY && i < filter->u.arr.n; i++) {
		const struct json_value *v = filter->u.arr.items[i];

		if (spec.n_rules == BB_MAX_RULE_ARNS)
			return eb_fail(c, "ValidationException", "A replay names at most %d rules.",
				       BB_MAX_RULE_ARNS);
		if (v->type != JSON_STRING || strncmp(v->u.str.s, "arn:", 4))
			return eb_fail(c, "ValidationException",
				       "Parameter Destination.FilterArns is not valid: each is a "
				       "rule ARN.");
		rules[spec.n_rules++] = v->u.str.s;
	}
	spec.rules = rules;
	if (strncmp(spec.archive, "arn:", 4) || !strstr(spec.archive, ":archive/"))
		return eb_fail(c, "ValidationException",
			       "Parameter EventSourceArn is not valid. Reason: Provided "
			       "EventSourceArn '%.256s' is not a valid archive ARN.",
			       spec.archive);
	if (bbd_replay_start(c->d, &spec, &rep, &e))
		return fail_with(c, &e);
	replay_head(c, rep, true);
	return 0;
}

int eb_describe_replay(struct eb_call *c)
{
	struct bbd_rep *rep = req_replay(c);

	if (!rep)
		return -1;
	replay_json(c, rep, rep);
	return 0;
}

int eb_cancel_replay(struct eb_call *c)
{
	struct bbd_rep *rep = req_replay(c);
	struct eb_error e;

	if (!rep)
		return -1;
	if (bbd_replay_cancel(c->d, rep, &e))
		return fail_with(c, &e);
	replay_head(c, rep, false);
	return 0;
}

int eb_list_replays(struct eb_call *c)
{
	const char *prefix, *source, *state;
	const struct bbd_archives *as = c->d->archives;
	const void **items = xcalloc(as->n_reps + 1, sizeof(*items));
	size_t n = 0;

	if (eb_str(c, "NamePrefix", false, &prefix) ||
	    eb_str(c, "EventSourceArn", false, &source) || eb_str(c, "State", false, &state)) {
		free(items);
		return -1;
	}
	for (size_t i = 0; i < as->n_reps; i++) {
		const struct bbd_rep *rep = as->reps[i];
		struct replay_info ri;
		char arn[BBD_ARN_MAX];

		replay_describe(rep->r, &ri);
		bbd_resource_arn(c->d, "archive", rep->arc->name, arn);
		if ((prefix && strncmp(prefix, ri.name, strlen(prefix))) ||
		    (source && strcmp(source, arn)) ||
		    (state && strcmp(state, replay_state_name(ri.state))))
			continue;
		items[n++] = rep;
	}
	int r = eb_list_page(c, "Replays", items, n, replay_json, NULL);

	free(items);
	return r;
}

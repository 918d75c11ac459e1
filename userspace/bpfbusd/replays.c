// SPDX-License-Identifier: BSD-2-Clause
/*
 * Replays in the daemon (docs/archives.md, "Replays in bpfbusd"). The driver
 * runs on the loop's 100 ms tick: each replay whose time has come takes one
 * step (as many events as its rate allows since the last one, at most one
 * second's worth) in a round of its own, so a replay never holds the loop for
 * long and live traffic is served between its slices. Replayed events are
 * routed on the archive's bus by the live rules' userspace matcher (only the
 * replay's rules when it names some) and are not archived again.
 *
 * Exactly once across restarts: each step's progress (the archive cursor) is
 * written into the store's transaction with the step's deliveries. When that
 * commit fails, the replay is rewound to where it was; after a restart, a
 * replay whose state file ran ahead of the committed progress (the daemon died
 * between the two) is rewound to the committed progress.
 */
#include "archives_int.h"
#include "datapath.h"
#include "eb_event.h"
#include "json.h"
#include "queue.h"
#include "reply.h"
#include "strbuf.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RETRY_MS 1000 /* after a failed commit */

/* The committed progress of a replay, a store record "replay/NAME/". */
struct progress_rec {
	uint64_t cursor, delivered;
	int64_t last_replayed_ms;
	int64_t written_ms;
};

static size_t progress_key(const char *name, char *key, size_t n)
{
	return (size_t)snprintf(key, n, "replay/%s/", name);
}

static int progress_put(struct bbd_round *rd, const char *name, const struct replay_progress *p)
{
	struct progress_rec rec = { p->cursor, p->delivered, p->last_replayed_ms, rd->now_ms };
	struct queue_result res;
	char key[96];

	if (bbd_round_txn(rd) ||
	    queue_app_put(rd->d->store, key, progress_key(name, key, sizeof(key)), &rec,
			  sizeof(rec), &res)) {
		log_err("replay %s: cannot record its progress", name);
		return -1;
	}
	return 0;
}

/* 1 with *@p, 0 when nothing was committed yet, -1 on a store error. */
static int progress_get(struct bbd *d, const char *name, struct replay_progress *p)
{
	struct progress_rec rec;
	struct queue_result res;
	char key[96];
	size_t len;
	int r = queue_app_get(d->store, key, progress_key(name, key, sizeof(key)), &rec,
			      sizeof(rec), &len, &res);

	if (r > 0 && len != sizeof(rec))
		return -1;
	if (r > 0)
		*p = (struct replay_progress){ rec.cursor, rec.delivered, rec.last_replayed_ms };
	return r;
}

/* A new replay of a name used before starts without the old one's progress. */
static void progress_forget(struct bbd *d, const char *name)
{
	struct queue_result res;
	char key[96];

	queue_app_expire(d->store, key, progress_key(name, key, sizeof(key)),
			 offsetof(struct progress_rec, written_ms), INT64_MAX, &res);
}

struct bbd_rep *bbd_rep_find(const struct bbd *d, const char *name)
{
	for (size_t i = 0; d->archives && i < d->archives->n_reps; i++) {
		struct replay_info ri;

		replay_describe(d->archives->reps[i]->r, &ri);
		if (!strcmp(ri.name, name))
			return d->archives->reps[i];
	}
	return NULL;
}

static bool final_state(enum replay_state s)
{
	return s == REPLAY_COMPLETED || s == REPLAY_CANCELLED || s == REPLAY_FAILED;
}

static struct bbd_rep *rep_add(struct bbd *d, struct bbd_arc *arc, struct replay *r)
{
	struct bbd_archives *as = d->archives;
	struct bbd_rep *rep = xcalloc(1, sizeof(*rep));
	struct replay_info ri, rj;
	size_t i = 0;

	rep->r = r;
	rep->arc = arc;
	replay_describe(r, &ri);
	rep->wake_ms = final_state(ri.state) ? -1 : 0;
	while (i < as->n_reps &&
	       (replay_describe(as->reps[i]->r, &rj), strcmp(rj.name, ri.name) < 0))
		i++;
	as->reps = xrealloc(as->reps, (as->n_reps + 1) * sizeof(*as->reps));
	memmove(&as->reps[i + 1], &as->reps[i], (as->n_reps - i) * sizeof(*as->reps));
	as->reps[i] = rep;
	as->n_reps++;
	return rep;
}

void bbd_replays_load(struct bbd *d, struct bbd_arc *arc)
{
	char **names;
	size_t n;

	if (replay_list(arc->a, &names, &n))
		return;
	for (size_t i = 0; i < n; i++) {
		struct replay_progress committed = { 0 }, now;
		struct eb_error err;
		struct replay *r = replay_load(arc->a, names[i], bbd_clock(d), &err);

		if (!r) {
			log_err("archive %s: replay %s: %s", arc->name, names[i], err.message);
			free(names[i]);
			continue;
		}
		/* nothing committed yet: from the start (cursor 0 skips deleted segments) */
		if (progress_get(d, names[i], &committed) < 0)
			log_err("replay %s: cannot read its committed progress", names[i]);
		replay_get_progress(r, &now);
		if (committed.cursor < now.cursor) {
			log_info("replay %s: resuming from event %llu, the last committed (its "
				 "state file said %llu)",
				 names[i], (unsigned long long)committed.cursor,
				 (unsigned long long)now.cursor);
			if (replay_rewind(r, &committed, &err))
				log_err("replay %s: %s", names[i], err.message);
		}
		rep_add(d, arc, r);
		free(names[i]);
	}
	free(names);
}

void bbd_replays_close(struct bbd *d, const struct bbd_arc *arc)
{
	struct bbd_archives *as = d->archives;
	size_t kept = 0;

	for (size_t i = 0; i < as->n_reps; i++) {
		if (arc && as->reps[i]->arc != arc) {
			as->reps[kept++] = as->reps[i];
			continue;
		}
		replay_close(as->reps[i]->r);
		free(as->reps[i]);
	}
	as->n_reps = kept;
}

/* ---- the driver ------------------------------------------------------------- */

struct replay_ctx {
	struct bbd_round *rd;
	uint32_t bus_id;
	const char *bus;
	const char *const *arns;
	size_t n_arns;
};

/* Destination.FilterArns: only these rules get the replayed events. */
static bool rule_wanted(void *ctx, const struct bbd_route *r)
{
	struct replay_ctx *c = ctx;

	for (size_t i = 0; r->rule_arn && i < c->n_arns; i++)
		if (!strcmp(c->arns[i], r->rule_arn))
			return true;
	return false;
}

static int deliver_replayed(void *ctx, const char *event, size_t len, const char *const *arns,
			    size_t n_arns)
{
	struct replay_ctx *c = ctx;

	c->arns = arns;
	c->n_arns = n_arns;
	c->rd->events++;
	return bbd_round_route(c->rd, c->bus_id, c->bus, event, len, n_arns ? rule_wanted : NULL,
			       c) < 0
		       ? -1
		       : 0;
}

static void step(struct bbd *d, struct bbd_rep *rep, int64_t now_ms)
{
	struct bbd_round rd = { .d = d, .now_ms = now_ms };
	struct replay_ctx ctx = { .rd = &rd, .bus = rep->arc->bus };
	struct replay_progress before, after;
	struct replay_info ri;
	struct bpfbus_bus kb;
	struct eb_error err;
	int64_t wake;

	replay_describe(rep->r, &ri);
	if (!bb_bus_find(d->busfd, rep->arc->bus, &kb))
		ctx.bus_id = kb.id;
	replay_get_progress(rep->r, &before);
	long n = replay_step(rep->r, now_ms, deliver_replayed, &ctx, &wake, &err);

	replay_get_progress(rep->r, &after);
	if (after.cursor != before.cursor && progress_put(&rd, ri.name, &after))
		rd.doomed = true;
	if (!bbd_round_commit(&rd)) {
		if (replay_rewind(rep->r, &before, &err))
			log_err("replay %s: %s", ri.name, err.message);
		rep->wake_ms = now_ms + RETRY_MS;
		return;
	}
	rep->wake_ms = wake;
	if (rd.stored)
		d->wake_pending = true;
	replay_describe(rep->r, &ri);
	if (n < 0)
		log_warn("replay %s failed: %s", ri.name, err.message);
	else if (final_state(ri.state))
		log_info("replay %s %s: %llu events replayed", ri.name, replay_state_name(ri.state),
			 (unsigned long long)ri.delivered);
}

void bbd_replays_run(struct bbd *d, int64_t now_ms)
{
	for (size_t i = 0; d->archives && i < d->archives->n_reps; i++) {
		struct bbd_rep *rep = d->archives->reps[i];

		if (rep->wake_ms >= 0 && rep->wake_ms <= now_ms)
			step(d, rep, now_ms);
	}
}

/* ---- control ops --------------------------------------------------------------- */

static void write_replay(const struct bbd *d, struct strbuf *out, const struct bbd_rep *rep)
{
	struct replay_info ri;
	char arn[BBD_ARN_MAX];

	replay_describe(rep->r, &ri);
	sb_addc(out, '{');
	bbd_add_str(out, "name", ri.name, false);
	bbd_resource_arn(d, "replay", ri.name, arn);
	bbd_add_str(out, "arn", arn, true);
	bbd_add_str(out, "archive", rep->arc->name, true);
	bbd_resource_arn(d, "archive", rep->arc->name, arn);
	bbd_add_str(out, "archive_arn", arn, true);
	bbd_add_str(out, "state", replay_state_name(ri.state), true);
	if (ri.reason)
		bbd_add_str(out, "reason", ri.reason, true);
	if (ri.description)
		bbd_add_str(out, "description", ri.description, true);
	bbd_add_str(out, "destination", ri.destination_bus_arn, true);
	sb_adds(out, ",\"rules\":[");
	for (size_t i = 0; i < ri.n_rules; i++) {
		if (i)
			sb_addc(out, ',');
		json_write_string(out, ri.rule_arns[i], strlen(ri.rule_arns[i]));
	}
	sb_printf(out,
		  "],\"start_ms\":%lld,\"end_ms\":%lld,\"replay_start_ms\":%lld,"
		  "\"replay_end_ms\":%lld,\"last_replayed_ms\":%lld,\"delivered\":%llu}",
		  (long long)ri.start_ms, (long long)ri.end_ms, (long long)ri.replay_start_ms,
		  (long long)ri.replay_end_ms, (long long)ri.last_replayed_ms,
		  (unsigned long long)ri.delivered);
}

static int answer_replay(const struct bbd *d, struct strbuf *out, const struct bbd_rep *rep)
{
	bbd_ok_open(out);
	write_replay(d, out, rep);
	sb_addc(out, '}');
	return 0;
}

static struct bbd_rep *req_replay(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *name;
	struct bbd_rep *rep;

	if (bbd_need_str(req, "name", &name, out))
		return NULL;
	rep = bbd_rep_find(d, name);
	if (!rep)
		bbd_fail(out, E_NOT_FOUND, "Replay %s does not exist.", name);
	return rep;
}

/*
 * Destination.FilterArns: each must be a rule of the archive's bus (by its
 * ARN); 0, or -1 with EventBridge's error for a rule it does not have.
 */
static int rules_of_bus(const struct bbd *d, const char *bus, const char *const *arns, size_t n,
			struct eb_error *err)
{
	const struct bb_mbus *b = bb_model_bus(&d->model, bus);

	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; b && k < b->n_rules && !found; k++) {
			char arn[BBD_ARN_MAX];

			eb_rule_arn(arn, sizeof(arn), bbd_region(d), bbd_account(d), bus,
				    b->rules[k].name);
			found = !strcmp(arn, arns[i]);
		}
		if (!found) {
			const char *slash = strrchr(arns[i], '/');

			eb_error_set(err, E_NOT_FOUND, "Rule %s does not exist on EventBus %s.",
				     slash ? slash + 1 : arns[i], bus);
			return -1;
		}
	}
	return 0;
}

int bbd_replay_start(struct bbd *d, const struct bbd_replay_spec *spec, struct bbd_rep **out,
		     struct eb_error *err)
{
	const char *archive = spec->archive, *slash = strrchr(archive, '/');
	const char *ptrs[BB_MAX_RULE_ARNS];
	struct strbuf arns = STRBUF_INIT;
	char bus_arn[BBD_ARN_MAX];
	struct bbd_arc *arc;

	/* the archive by name or ARN (EventSourceArn) */
	arc = bbd_arc_find(d, !strncmp(archive, "arn:", 4) && slash ? slash + 1 : archive);
	if (!arc) {
		eb_error_set(err, E_NOT_FOUND, "Archive %s does not exist.",
			     !strncmp(archive, "arn:", 4) && slash ? slash + 1 : archive);
		return -1;
	}
	if (bbd_rep_find(d, spec->name)) {
		eb_error_set(err, E_EXISTS, "Replay %s already exists.", spec->name);
		return -1;
	}
	if (spec->n_rules > BB_MAX_RULE_ARNS) {
		eb_error_set(err, E_VALIDATION, "A replay names at most %d rules.",
			     BB_MAX_RULE_ARNS);
		return -1;
	}
	/* the destination by name or ARN; the archive's bus when not given */
	if (!spec->destination)
		bbd_bus_arn(d, arc->bus, bus_arn);
	else if (strncmp(spec->destination, "arn:", 4))
		bbd_bus_arn(d, spec->destination, bus_arn);
	else
		snprintf(bus_arn, sizeof(bus_arn), "%s", spec->destination);
	/* rules by name on the archive's bus, or by ARN */
	size_t offs[BB_MAX_RULE_ARNS];

	for (size_t i = 0; i < spec->n_rules; i++) {
		char arn[BBD_ARN_MAX];

		if (!strncmp(spec->rules[i], "arn:", 4))
			snprintf(arn, sizeof(arn), "%s", spec->rules[i]);
		else
			eb_rule_arn(arn, sizeof(arn), bbd_region(d), bbd_account(d), arc->bus,
				    spec->rules[i]);
		offs[i] = arns.len;
		sb_add(&arns, arn, strlen(arn) + 1);
	}
	for (size_t i = 0; i < spec->n_rules; i++)
		ptrs[i] = arns.buf + offs[i];
	char own_arn[BBD_ARN_MAX];

	/* a cross-bus destination is refused by replay_start, with its own error */
	bbd_bus_arn(d, arc->bus, own_arn);
	if (!strcmp(bus_arn, own_arn) && rules_of_bus(d, arc->bus, ptrs, spec->n_rules, err)) {
		sb_free(&arns);
		return -1;
	}
	struct replay_spec rs = {
		.name = spec->name,
		.description = spec->description,
		.destination_bus_arn = bus_arn,
		.start_ms = spec->start_ms,
		.end_ms = spec->end_ms,
		.rule_arns = ptrs,
		.n_rules = spec->n_rules,
		.rate_per_s = d->replay_rate,
	};

	if (archive_name_ok(spec->name, REPLAY_NAME_MAX))
		progress_forget(d, spec->name);
	struct replay *r = replay_start(arc->a, &rs, bbd_clock(d), err);

	sb_free(&arns);
	if (!r)
		return -1;
	*out = rep_add(d, arc, r);
	log_info("replay %s of archive %s started (%zu rules)", spec->name, arc->name,
		 spec->n_rules);
	return 0;
}

int bbd_replay_cancel(struct bbd *d, struct bbd_rep *rep, struct eb_error *err)
{
	(void)d;
	if (replay_cancel(rep->r, err))
		return -1;
	rep->wake_ms = 0; /* CANCELLED at the next tick */
	return 0;
}

static int replay_start_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_replay_spec spec = { 0 };
	const struct json_value *jr = json_get(req, "rules");
	const char *rules[BB_MAX_RULE_ARNS];
	long long start = -1, end = -1;
	struct eb_error err;
	struct bbd_rep *rep;

	if (bbd_need_str(req, "name", &spec.name, out) ||
	    bbd_arg_str(req, "description", &spec.description, out) ||
	    bbd_need_str(req, "archive", &spec.archive, out) ||
	    bbd_arg_str(req, "destination", &spec.destination, out) ||
	    bbd_arg_int(req, "start_ms", 0, INT64_MAX / 2, &start, out) ||
	    bbd_arg_int(req, "end_ms", 0, INT64_MAX / 2, &end, out))
		return 0;
	if (start < 0 || end < 0)
		return bbd_fail(out, E_VALIDATION, "missing \"%s\"",
				start < 0 ? "start_ms" : "end_ms");
	if (jr && (jr->type != JSON_ARRAY || jr->u.arr.n > BB_MAX_RULE_ARNS))
		return bbd_fail(out, E_VALIDATION,
				"\"rules\" must be an array of at most %d rule names or ARNs",
				BB_MAX_RULE_ARNS);
	for (size_t i = 0; jr && i < jr->u.arr.n; i++) {
		const struct json_value *v = jr->u.arr.items[i];

		if (v->type != JSON_STRING || !v->u.str.len || memchr(v->u.str.s, 0, v->u.str.len))
			return bbd_fail(out, E_VALIDATION,
					"each of \"rules\" is a rule name or ARN");
		rules[spec.n_rules++] = v->u.str.s;
	}
	spec.rules = rules;
	spec.start_ms = start;
	spec.end_ms = end;
	if (bbd_replay_start(d, &spec, &rep, &err))
		return bbd_fail(out, err.code, "%s", err.message);
	return answer_replay(d, out, rep);
}

static int replay_cancel_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_rep *rep = req_replay(d, req, out);
	struct eb_error err;

	if (!rep)
		return 0;
	if (bbd_replay_cancel(d, rep, &err))
		return bbd_fail(out, err.code, "%s", err.message);
	return answer_replay(d, out, rep);
}

static int replay_describe_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bbd_rep *rep = req_replay(d, req, out);

	if (!rep)
		return 0;
	return answer_replay(d, out, rep);
}

static int replay_list_op(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *archive, *state, *prefix;
	bool first = true;

	if (bbd_arg_str(req, "archive", &archive, out) || bbd_arg_str(req, "state", &state, out) ||
	    bbd_arg_str(req, "prefix", &prefix, out))
		return 0;
	if (archive && !strncmp(archive, "arn:", 4) && strrchr(archive, '/'))
		archive = strrchr(archive, '/') + 1;
	bbd_ok_open(out);
	sb_addc(out, '[');
	for (size_t i = 0; i < d->archives->n_reps; i++) {
		const struct bbd_rep *rep = d->archives->reps[i];
		struct replay_info ri;

		replay_describe(rep->r, &ri);
		if ((archive && strcmp(archive, rep->arc->name)) ||
		    (state && strcmp(state, replay_state_name(ri.state))) ||
		    (prefix && strncmp(prefix, ri.name, strlen(prefix))))
			continue;
		if (!first)
			sb_addc(out, ',');
		first = false;
		write_replay(d, out, rep);
	}
	sb_adds(out, "]}");
	return 0;
}

int bbd_replay_ops(struct bbd *d, const char *op, const struct json_value *req, struct strbuf *out)
{
	if (!strcmp(op, "replay.start"))
		return replay_start_op(d, req, out);
	if (!strcmp(op, "replay.cancel"))
		return replay_cancel_op(d, req, out);
	if (!strcmp(op, "replay.describe"))
		return replay_describe_op(d, req, out);
	if (!strcmp(op, "replay.list"))
		return replay_list_op(d, req, out);
	return -1;
}

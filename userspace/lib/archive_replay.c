// SPDX-License-Identifier: BSD-2-Clause
/* Replays: StartReplay's checks, the state machine, rate-bounded stepping, persistence. */
#include "archive_int.h"
#include "json.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct replay {
	struct archive *a;
	char *name, *dest, *description;
	int64_t start_ms, end_ms;
	char **rules;
	size_t n_rules;
	unsigned rate;
	enum replay_state state;
	char *reason;
	int64_t replay_start_ms, replay_end_ms, last_replayed_ms;
	uint64_t delivered;
	uint64_t cursor; /* sequence number of the next record to look at */
	uint64_t end_seq; /* records archived before the replay started */
	double tokens; /* rate limiter: events that may go now */
	int64_t refilled_ms;
};

static const char *const state_names[] = {
	[REPLAY_STARTING] = "STARTING",	  [REPLAY_RUNNING] = "RUNNING",
	[REPLAY_COMPLETED] = "COMPLETED", [REPLAY_CANCELLING] = "CANCELLING",
	[REPLAY_CANCELLED] = "CANCELLED", [REPLAY_FAILED] = "FAILED",
};

const char *replay_state_name(enum replay_state s)
{
	return state_names[s];
}

static bool final_state(enum replay_state s)
{
	return s == REPLAY_COMPLETED || s == REPLAY_CANCELLED || s == REPLAY_FAILED;
}

static void state_file(const char *name, char *out, size_t n)
{
	snprintf(out, n, "replay-%s.json", name);
}

static int persist(const struct replay *r, struct eb_error *err)
{
	struct strbuf sb = STRBUF_INIT;
	char file[128];
	int ret;

	sb_adds(&sb, "{\"name\":");
	json_write_string(&sb, r->name, strlen(r->name));
	sb_adds(&sb, ",\"destination\":");
	json_write_string(&sb, r->dest, strlen(r->dest));
	sb_adds(&sb, ",\"rules\":[");
	for (size_t i = 0; i < r->n_rules; i++) {
		sb_adds(&sb, i ? "," : "");
		json_write_string(&sb, r->rules[i], strlen(r->rules[i]));
	}
	sb_adds(&sb, "],\"description\":");
	if (r->description)
		json_write_string(&sb, r->description, strlen(r->description));
	else
		sb_adds(&sb, "null");
	sb_printf(&sb, ",\"state\":\"%s\",\"reason\":", state_names[r->state]);
	if (r->reason)
		json_write_string(&sb, r->reason, strlen(r->reason));
	else
		sb_adds(&sb, "null");
	sb_printf(&sb,
		  ",\"start_ms\":%lld,\"end_ms\":%lld,\"rate\":%u,\"replay_start_ms\":%lld,"
		  "\"replay_end_ms\":%lld,\"last_replayed_ms\":%lld,\"delivered\":%llu,"
		  "\"cursor\":%llu,\"end_seq\":%llu}\n",
		  (long long)r->start_ms, (long long)r->end_ms, r->rate,
		  (long long)r->replay_start_ms, (long long)r->replay_end_ms,
		  (long long)r->last_replayed_ms, (unsigned long long)r->delivered,
		  (unsigned long long)r->cursor, (unsigned long long)r->end_seq);
	state_file(r->name, file, sizeof(file));
	ret = archive_write_file(r->a->dir, file, sb.buf, sb.len, err);
	sb_free(&sb);
	return ret;
}

void replay_close(struct replay *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_rules; i++)
		free(r->rules[i]);
	free(r->rules);
	free(r->name);
	free(r->dest);
	free(r->description);
	free(r->reason);
	free(r);
}

static uint64_t archived_count(const struct archive *a)
{
	if (!a->n_segs)
		return 0;
	return a->segs[a->n_segs - 1].first_seq + a->segs[a->n_segs - 1].n;
}

struct replay *replay_start(struct archive *a, const struct replay_spec *spec, int64_t now_ms,
			    struct eb_error *err)
{
	char file[128], path[4096];

	if (!archive_name_ok(spec->name, REPLAY_NAME_MAX)) {
		archive_bad_name(spec->name, "replayName", REPLAY_NAME_MAX, err);
		return NULL;
	}
	if (spec->description && archive_check_description(spec->description, err))
		return NULL;
	if (!spec->destination_bus_arn || strcmp(spec->destination_bus_arn, a->bus_arn)) {
		eb_error_set(err, "ValidationException",
			     "Parameter Destination.Arn is not valid. Reason: Cross event bus "
			     "replay is not permitted.");
		return NULL;
	}
	if (spec->start_ms >= spec->end_ms) {
		eb_error_set(err, "ValidationException",
			     "Parameter EventStartTime is not valid. Reason: EventStartTime must "
			     "be before EventEndTime.");
		return NULL;
	}
	if (spec->end_ms > now_ms) {
		eb_error_set(err, "ValidationException",
			     "Parameter EventEndTime is not valid. Reason: EventEndTime must be "
			     "before the current time.");
		return NULL;
	}
	state_file(spec->name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/%s", a->dir, file);
	if (!access(path, F_OK)) {
		eb_error_set(err, "ResourceAlreadyExistsException", "Replay %s already exists.",
			     spec->name);
		return NULL;
	}
	struct replay *r = xcalloc(1, sizeof(*r));

	r->a = a;
	r->name = xstrndup(spec->name, strlen(spec->name));
	r->dest = xstrndup(spec->destination_bus_arn, strlen(spec->destination_bus_arn));
	r->description =
		spec->description ? xstrndup(spec->description, strlen(spec->description)) : NULL;
	r->start_ms = spec->start_ms;
	r->end_ms = spec->end_ms;
	r->rules = xcalloc(spec->n_rules + 1, sizeof(*r->rules));
	for (; r->n_rules < spec->n_rules; r->n_rules++)
		r->rules[r->n_rules] =
			xstrndup(spec->rule_arns[r->n_rules], strlen(spec->rule_arns[r->n_rules]));
	r->rate = spec->rate_per_s ? spec->rate_per_s : REPLAY_DEFAULT_RATE;
	r->state = REPLAY_STARTING;
	r->replay_start_ms = r->refilled_ms = now_ms;
	r->cursor = a->n_segs ? a->segs[0].first_seq : 0;
	r->end_seq = archived_count(a);
	if (persist(r, err)) {
		replay_close(r);
		return NULL;
	}
	return r;
}

static int64_t num(const struct json_value *root, const char *key)
{
	const struct json_value *v = json_get(root, key);

	return v && v->type == JSON_NUMBER ? (int64_t)v->u.num.d : 0;
}

static char *str(const struct json_value *root, const char *key)
{
	const struct json_value *v = json_get(root, key);

	return v && v->type == JSON_STRING ? xstrndup(v->u.str.s, v->u.str.len) : NULL;
}

struct replay *replay_load(struct archive *a, const char *name, int64_t now_ms,
			   struct eb_error *err)
{
	char file[128], path[4096];
	size_t len;

	state_file(name, file, sizeof(file));
	snprintf(path, sizeof(path), "%s/%s", a->dir, file);
	char *text = read_whole_file(path, &len);

	if (!text) {
		eb_error_set(err, "ResourceNotFoundException", "Replay %s does not exist.", name);
		return NULL;
	}
	struct json_doc *d = json_parse(text, len, true);
	const struct json_value *root = json_doc_root(d);
	const struct json_value *rules = json_get(root, "rules");
	struct replay *r = xcalloc(1, sizeof(*r));
	char *state = str(root, "state");

	r->a = a;
	r->name = str(root, "name");
	r->dest = str(root, "destination");
	r->reason = str(root, "reason");
	r->description = str(root, "description");
	r->state = REPLAY_FAILED + 1;
	for (int s = 0; state && s <= REPLAY_FAILED; s++)
		if (!strcmp(state, state_names[s]))
			r->state = (enum replay_state)s;
	free(state);
	if (!r->name || !r->dest || r->state > REPLAY_FAILED || !rules ||
	    rules->type != JSON_ARRAY) {
		eb_error_set(err, "InternalException", "%s is damaged", path);
		json_doc_free(d);
		free(text);
		replay_close(r);
		return NULL;
	}
	r->rules = xcalloc(rules->u.arr.n + 1, sizeof(*r->rules));
	for (size_t i = 0; i < rules->u.arr.n; i++)
		if (rules->u.arr.items[i]->type == JSON_STRING)
			r->rules[r->n_rules++] = xstrndup(rules->u.arr.items[i]->u.str.s,
							  rules->u.arr.items[i]->u.str.len);
	r->start_ms = num(root, "start_ms");
	r->end_ms = num(root, "end_ms");
	r->rate = (unsigned)num(root, "rate");
	r->replay_start_ms = num(root, "replay_start_ms");
	r->replay_end_ms = num(root, "replay_end_ms");
	r->last_replayed_ms = num(root, "last_replayed_ms");
	r->delivered = (uint64_t)num(root, "delivered");
	r->cursor = (uint64_t)num(root, "cursor");
	r->end_seq = (uint64_t)num(root, "end_seq");
	r->refilled_ms = now_ms;
	json_doc_free(d);
	free(text);
	if (!r->rate)
		r->rate = REPLAY_DEFAULT_RATE;
	/* A cancel that was asked for before the restart is done now. */
	if (r->state == REPLAY_CANCELLING) {
		r->state = REPLAY_CANCELLED;
		r->replay_end_ms = now_ms;
		if (persist(r, err)) {
			replay_close(r);
			return NULL;
		}
	}
	return r;
}

int replay_list(const struct archive *a, char ***names, size_t *n)
{
	DIR *d = opendir(a->dir);
	struct dirent *e;

	*names = NULL;
	*n = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);

		if (len <= 12 || strncmp(e->d_name, "replay-", 7) ||
		    strcmp(e->d_name + len - 5, ".json"))
			continue;
		*names = xrealloc(*names, (*n + 1) * sizeof(**names));
		(*names)[(*n)++] = xstrndup(e->d_name + 7, len - 12);
	}
	closedir(d);
	return 0;
}

int replay_cancel(struct replay *r, struct eb_error *err)
{
	if (r->state != REPLAY_STARTING && r->state != REPLAY_RUNNING) {
		eb_error_set(err, "IllegalStatusException",
			     "Replay %s is %s and cannot be cancelled.", r->name,
			     state_names[r->state]);
		return -1;
	}
	r->state = REPLAY_CANCELLING;
	return persist(r, err);
}

static void finish(struct replay *r, enum replay_state s, int64_t now_ms, const char *reason)
{
	r->state = s;
	r->replay_end_ms = now_ms;
	if (reason) {
		free(r->reason);
		r->reason = xstrndup(reason, strlen(reason));
	}
}

/* The segment holding sequence number @seq, moving the cursor over deleted segments. */
static const struct archive_segment *segment_at(const struct archive *a, uint64_t *seq)
{
	for (size_t i = 0; i < a->n_segs; i++) {
		const struct archive_segment *s = &a->segs[i];

		if (*seq < s->first_seq)
			*seq = s->first_seq; /* expired by retention meanwhile */
		if (*seq < s->first_seq + s->n)
			return s;
	}
	return NULL;
}

/* The stored envelope with "replay-name" added: it ends with its closing brace. */
static void mark_replayed(struct strbuf *ev, const char *name)
{
	struct strbuf tail = STRBUF_INIT;

	while (ev->len && ev->buf[ev->len - 1] != '}')
		ev->len--;
	ev->len--;
	sb_adds(&tail, ",\"replay-name\":");
	json_write_string(&tail, name, strlen(name));
	sb_addc(&tail, '}');
	sb_add(ev, tail.buf, tail.len);
	sb_free(&tail);
}

/* Deliver what the rate allows; 0, or -1 when a record or the delivery failed. */
static int run(struct replay *r, replay_deliver_fn deliver, void *ctx, long *sent,
	       struct eb_error *err)
{
	struct strbuf ev = STRBUF_INIT;
	int ret = 0;

	while (r->tokens >= 1 && r->cursor < r->end_seq) {
		const struct archive_segment *s = segment_at(r->a, &r->cursor);

		if (!s || s->first_seq >= r->end_seq) {
			r->cursor = r->end_seq;
			break;
		}
		if (s->max_event_ms < r->start_ms || s->min_event_ms >= r->end_ms) {
			r->cursor = s->first_seq + s->n; /* nothing in range: skip it whole */
			continue;
		}
		size_t i = (size_t)(r->cursor - s->first_seq);
		const struct archive_idx_entry *e = &s->idx[i];

		if (e->event_ms < r->start_ms || e->event_ms >= r->end_ms) {
			r->cursor++;
			continue;
		}
		if (archive_seg_read(r->a, s, i, &ev, err)) {
			ret = -1;
			break;
		}
		mark_replayed(&ev, r->name);
		if (deliver(ctx, ev.buf, ev.len, (const char *const *)r->rules, r->n_rules)) {
			eb_error_set(err, "InternalException", "delivering event %llu failed",
				     (unsigned long long)r->cursor);
			ret = -1;
			break;
		}
		r->cursor++;
		r->tokens -= 1;
		r->delivered++;
		r->last_replayed_ms = e->event_ms;
		(*sent)++;
	}
	sb_free(&ev);
	return ret;
}

long replay_step(struct replay *r, int64_t now_ms, replay_deliver_fn deliver, void *ctx,
		 int64_t *wake_ms, struct eb_error *err)
{
	long sent = 0;

	*wake_ms = -1;
	if (final_state(r->state))
		return 0;
	if (r->state == REPLAY_CANCELLING) {
		finish(r, REPLAY_CANCELLED, now_ms, NULL);
		return persist(r, err) ? -1 : 0;
	}
	r->state = REPLAY_RUNNING;
	if (now_ms > r->refilled_ms) {
		r->tokens += (double)(now_ms - r->refilled_ms) * r->rate / 1000.0;
		r->refilled_ms = now_ms;
	}
	if (r->tokens > r->rate) /* at most one second's worth at once */
		r->tokens = r->rate;
	if (run(r, deliver, ctx, &sent, err)) {
		finish(r, REPLAY_FAILED, now_ms, err->message);
		persist(r, &(struct eb_error){ 0 });
		return -1;
	}
	if (r->cursor >= r->end_seq)
		finish(r, REPLAY_COMPLETED, now_ms, NULL);
	else
		*wake_ms = now_ms +
			   (r->tokens >= 1 ? 0 : (int64_t)((1 - r->tokens) * 1000 / r->rate) + 1);
	if (persist(r, err))
		return -1;
	return sent;
}

void replay_describe(const struct replay *r, struct replay_info *out)
{
	*out = (struct replay_info){
		.name = r->name,
		.description = r->description,
		.state = r->state,
		.reason = r->reason,
		.start_ms = r->start_ms,
		.end_ms = r->end_ms,
		.replay_start_ms = r->replay_start_ms,
		.replay_end_ms = r->replay_end_ms,
		.last_replayed_ms = r->last_replayed_ms,
		.delivered = r->delivered,
		.destination_bus_arn = r->dest,
		.rule_arns = (const char *const *)r->rules,
		.n_rules = r->n_rules,
	};
}

void replay_get_progress(const struct replay *r, struct replay_progress *out)
{
	*out = (struct replay_progress){
		.cursor = r->cursor,
		.delivered = r->delivered,
		.last_replayed_ms = r->last_replayed_ms,
	};
}

int replay_rewind(struct replay *r, const struct replay_progress *p, struct eb_error *err)
{
	if (p->cursor >= r->cursor)
		return 0;
	r->cursor = p->cursor;
	r->delivered = p->delivered;
	r->last_replayed_ms = p->last_replayed_ms;
	if (r->state == REPLAY_COMPLETED || r->state == REPLAY_FAILED) {
		r->state = REPLAY_RUNNING;
		r->replay_end_ms = 0;
		free(r->reason);
		r->reason = NULL;
	}
	return persist(r, err);
}

struct archive *replay_archive(const struct replay *r)
{
	return r->a;
}

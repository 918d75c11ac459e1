// SPDX-License-Identifier: BSD-2-Clause
/*
 * Control requests on the object model (buses, rules) and the daemon itself.
 * Each change is checked, compiled into the kernel tables, then saved; if the
 * kernel refuses it, the model goes back to what it was. docs/daemon.md lists
 * the requests and their answers.
 */
#include "bpfbusd.h"
#include "reply.h"
#include "rx.h"
#include "datapath.h"
#include "eb_schedule.h"
#include "json.h"
#include "strbuf.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bus named by "bus" (default: "default"); NULL with the answer written. */
static struct bb_mbus *req_bus(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *name;
	struct bb_mbus *b;

	if (bbd_arg_str(req, "bus", &name, out))
		return NULL;
	if (!name)
		name = BB_DEFAULT_BUS;
	b = bb_model_bus(&d->model, name);
	if (!b)
		bbd_fail(out, E_NOT_FOUND, "Event bus %s does not exist.", name);
	return b;
}

int bbd_model_commit(struct bbd *d, char *err, size_t err_len)
{
	if (bbd_routes_reload(d, err, err_len) < 0)
		return -1;
	return bb_model_save(d->state_dir, &d->model, err, err_len);
}

int bbd_model_commit_or_restore(struct bbd *d, const struct strbuf *snapshot, char *err,
				size_t err_len)
{
	char e2[200];

	if (bbd_model_commit(d, err, err_len) == 0)
		return 0;
	log_err("model change refused: %s", err);
	bb_model_free(&d->model);
	if (bb_model_from_json(snapshot->buf, snapshot->len, &d->model, e2, sizeof(e2)))
		log_err("cannot restore the model: %s", e2);
	bbd_routes_reload(d, e2, sizeof(e2));
	return -1;
}

/* Commit a change, or restore @snapshot and say why. */
static int commit_or_rollback(struct bbd *d, struct strbuf *snapshot, struct strbuf *out)
{
	char err[1200];

	if (bbd_model_commit_or_restore(d, snapshot, err, sizeof(err)) == 0)
		return 0;
	return bbd_fail(out, E_INTERNAL, "%s", err), -1;
}

/* ---- buses ---------------------------------------------------------------- */

int bbd_bus_create(struct bbd *d, const char *name, int kind, uint32_t *id, struct eb_error *e)
{
	char msg[400];
	int err = bb_bus_name_ok(name);

	if (err) {
		eb_error_set(e, E_VALIDATION, "bad bus name '%s': %s", name, bb_wire_strerror(err));
		return -1;
	}
	if (bb_model_bus(&d->model, name)) {
		eb_error_set(e, E_EXISTS, "Event bus %s already exists.", name);
		return -1;
	}
	int sfd = bb_map_open_pinned(d->pin_dir, BPFBUS_MAP_BUS_STATS);

	err = bb_bus_add(d->busfd, sfd, name, (enum bpfbus_bus_kind)kind, id);
	if (sfd >= 0)
		close(sfd);
	if (err == -ENOTUNIQ) {
		eb_error_set(e, E_VALIDATION, "'%s' has the name hash of another bus or topic",
			     name);
		return -1;
	}
	if (err && err != -EEXIST) {
		eb_error_set(e, E_INTERNAL, "cannot add bus %s to the kernel: %s", name,
			     strerror(-err));
		return -1;
	}
	bb_model_add_bus(&d->model, name, kind);
	if (bb_model_save(d->state_dir, &d->model, msg, sizeof(msg))) {
		eb_error_set(e, E_INTERNAL, "%s", msg);
		return -1;
	}
	log_info("bus %s added (id %u)", name, *id);
	return 0;
}

int bbd_bus_remove(struct bbd *d, struct bb_mbus *b, struct eb_error *e)
{
	char msg[400], name[BPFBUS_WIRE_MAX_NAME + 1];

	snprintf(name, sizeof(name), "%s", b->name);
	if (!strcmp(name, BB_DEFAULT_BUS)) {
		eb_error_set(e, E_VALIDATION, "Cannot delete event bus default.");
		return -1;
	}
	if (b->n_rules) {
		eb_error_set(e, E_VALIDATION, "Event bus %s has %zu rules: delete them first.",
			     name, b->n_rules);
		return -1;
	}
	int err = bb_bus_delete(d->busfd, name);

	if (err && err != -ENOENT) {
		eb_error_set(e, E_INTERNAL, "cannot delete bus %s from the kernel: %s", name,
			     strerror(-err));
		return -1;
	}
	bb_model_remove_bus(&d->model, b);
	if (bb_model_save(d->state_dir, &d->model, msg, sizeof(msg))) {
		eb_error_set(e, E_INTERNAL, "%s", msg);
		return -1;
	}
	log_info("bus %s deleted", name);
	return 0;
}

static int bus_add(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *name, *kind;
	int k = BPFBUS_BUS_EVENT;
	struct eb_error e;
	uint32_t id;

	if (bbd_need_str(req, "name", &name, out) || bbd_arg_str(req, "kind", &kind, out))
		return 0;
	if (kind && !strcmp(kind, "topic"))
		k = BPFBUS_BUS_TOPIC;
	else if (kind && strcmp(kind, "event"))
		return bbd_fail(out, E_VALIDATION, "kind is event or topic, not '%s'", kind);
	if (bbd_bus_create(d, name, k, &id, &e))
		return bbd_fail(out, e.code, "%s", e.message);
	bbd_ok_open(out);
	sb_printf(out, "{\"id\":%u", id);
	bbd_add_str(out, "name", name, true);
	bbd_add_str(out, "kind", bb_bus_kind_name(k), true);
	sb_adds(out, "}}");
	return 0;
}

static int bus_delete(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *name;
	struct eb_error e;

	if (bbd_need_str(req, "name", &name, out))
		return 0;
	struct bb_mbus *b = bb_model_bus(&d->model, name);

	if (!b)
		return bbd_fail(out, E_NOT_FOUND, "Event bus %s does not exist.", name);
	if (bbd_bus_remove(d, b, &e))
		return bbd_fail(out, e.code, "%s", e.message);
	return bbd_ok_empty(out);
}

static int bus_list(struct bbd *d, struct strbuf *out)
{
	bbd_ok_open(out);
	sb_addc(out, '[');
	for (size_t i = 0; i < d->model.n_buses; i++) {
		const struct bb_mbus *b = &d->model.buses[i];
		struct bpfbus_bus kb = { 0 };

		bb_bus_find(d->busfd, b->name, &kb);
		sb_printf(out, "%s{\"id\":%u,\"generation\":%u", i ? "," : "", kb.id,
			  kb.generation);
		bbd_add_str(out, "name", b->name, true);
		bbd_add_str(out, "kind", bb_bus_kind_name(b->kind), true);
		sb_printf(out, ",\"rules\":%zu}", b->n_rules);
	}
	sb_adds(out, "]}");
	return 0;
}

/* ---- rules ---------------------------------------------------------------- */

/*
 * A rule as the control protocol shows it. @d (NULL in lists, which show the
 * model as saved) adds the scheduler's next firing, a runtime value.
 */
static void write_rule(const struct bbd *d, struct strbuf *out, const struct bb_mbus *b,
		       const struct bb_rule *r)
{
	sb_addc(out, '{');
	bbd_add_str(out, "bus", b->name, false);
	bbd_add_str(out, "name", r->name, true);
	bbd_add_str(out, "state", r->enabled ? "ENABLED" : "DISABLED", true);
	if (r->pattern)
		bbd_add_str(out, "pattern", r->pattern, true);
	if (r->schedule) {
		bbd_add_str(out, "schedule", r->schedule, true);
		if (d)
			sb_printf(out, ",\"next_firing_ms\":%lld",
				  (long long)(!strcmp(b->name, BB_DEFAULT_BUS) && r->enabled
						      ? bbd_schedule_next_ms(d, r->name)
						      : -1));
	}
	if (r->description)
		bbd_add_str(out, "description", r->description, true);
	sb_adds(out, ",\"targets\":[");
	for (int t = 0; t < r->n_targets; t++) {
		if (t)
			sb_addc(out, ',');
		bb_target_to_json(&r->targets[t], out);
	}
	sb_addc(out, ']');
	bb_tags_to_json(&r->tags, out);
	sb_addc(out, '}');
}

int bbd_check_target(const struct bbd *d, const struct bb_target *t, struct eb_error *err)
{
	if (bb_target_check(t, err))
		return -1;
	if (t->kind == BB_TARGET_TOPIC && !d->deliver_topic) {
		eb_error_set(err, "ValidationException",
			     "Target %s: topic targets need the daemon's topic store, which this "
			     "bpfbusd does not serve yet.",
			     t->id);
		return -1;
	}
	return 0;
}

/* "targets": [{"id": ..., "queue": ...}, ...] into @r (owned: free with rule_targets_free). */
static int parse_targets(struct bbd *d, const struct json_value *req, struct bb_rule *r,
			 struct strbuf *out)
{
	const struct json_value *jt = json_get(req, "targets");
	struct eb_error e;
	char msg[300];

	if (!jt)
		return 0;
	if (jt->type != JSON_ARRAY)
		return bbd_fail(out, E_VALIDATION, "\"targets\" must be an array"), -1;
	if (jt->u.arr.n > BB_MAX_TARGETS)
		return bbd_fail(out, "LimitExceededException",
				"The requested resource exceeds the maximum number allowed: a rule "
				"has at most %d targets.",
				BB_MAX_TARGETS),
		       -1;
	for (size_t i = 0; i < jt->u.arr.n; i++) {
		struct bb_target *t = &r->targets[i];

		if (bb_target_from_json(jt->u.arr.items[i], t, msg, sizeof(msg)))
			return bbd_fail(out, E_VALIDATION, "%s", msg), -1;
		r->n_targets++;
		if (bbd_check_target(d, t, &e))
			return bbd_fail(out, e.code, "%s", e.message), -1;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(r->targets[j].id, t->id))
				return bbd_fail(out, E_VALIDATION, "target id %s appears twice",
						t->id),
				       -1;
	}
	return 0;
}

static void rule_targets_free(struct bb_rule *r)
{
	for (int i = 0; i < r->n_targets; i++)
		bb_target_free(&r->targets[i]);
	r->n_targets = 0;
}

int bbd_check_rule(const struct bb_mbus *b, const struct bb_rule *r, struct eb_error *err)
{
	char msg[1200];
	struct eb_schedule sched;

	if (bb_model_check_name("rule", r->name, msg, sizeof(msg))) {
		eb_error_set(err, E_VALIDATION, "%s", msg);
		return -1;
	}
	if (!r->pattern && !r->schedule) {
		eb_error_set(err, E_VALIDATION,
			     "Parameter(s) EventPattern or ScheduleExpression must be specified.");
		return -1;
	}
	if (r->pattern &&
	    bb_model_check_pattern(r->pattern, strlen(r->pattern), msg, sizeof(msg))) {
		eb_error_set(err, E_PATTERN, "%s", msg);
		return -1;
	}
	if (r->schedule) {
		if (strcmp(b->name, BB_DEFAULT_BUS)) {
			eb_error_set(err, E_VALIDATION,
				     "ScheduleExpression is supported only on the default event "
				     "bus.");
			return -1;
		}
		if (eb_schedule_parse(r->schedule, &sched, err))
			return -1;
	}
	if (r->description && strlen(r->description) > 512) {
		eb_error_set(err, E_VALIDATION,
			     "1 validation error detected: Value at 'description' failed to "
			     "satisfy constraint: Member must have length less than or equal to "
			     "512");
		return -1;
	}
	return 0;
}

/* rule.put: create or replace a rule (PutRule, with its targets: PutTargets). */
static int rule_put(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bb_mbus *b = req_bus(d, req, out);
	struct bb_rule r = { .enabled = true };
	const char *state;
	struct eb_error e;

	if (!b || bbd_need_str(req, "name", (const char **)&r.name, out) ||
	    bbd_arg_str(req, "pattern", (const char **)&r.pattern, out) ||
	    bbd_arg_str(req, "schedule", (const char **)&r.schedule, out) ||
	    bbd_arg_str(req, "description", (const char **)&r.description, out) ||
	    bbd_arg_str(req, "state", &state, out) || parse_targets(d, req, &r, out))
		goto out;
	if (state && strcmp(state, "ENABLED") && strcmp(state, "DISABLED")) {
		bbd_fail(out, E_VALIDATION, "state is ENABLED or DISABLED, not '%s'", state);
		goto out;
	}
	r.enabled = !state || !strcmp(state, "ENABLED");
	if (bbd_check_rule(b, &r, &e)) {
		bbd_fail(out, e.code, "%s", e.message);
		goto out;
	}

	struct strbuf snap = STRBUF_INIT;

	bb_model_to_json(&d->model, &snap);
	bb_model_put_rule(b, &r, false);
	if (!commit_or_rollback(d, &snap, out)) {
		b = bb_model_bus(&d->model, b->name);
		bbd_ok_open(out);
		write_rule(d, out, b, bb_model_rule(b, r.name));
		sb_addc(out, '}');
		log_info("rule %s/%s put (%s, %d targets)", b->name, r.name,
			 r.enabled ? "enabled" : "disabled", r.n_targets);
	}
	sb_free(&snap);
out:
	rule_targets_free(&r);
	return 0;
}

/* The rule named by "name" on the request's bus; NULL with the answer written. */
static struct bb_rule *req_rule(struct bbd *d, const struct json_value *req, struct bb_mbus **b,
				struct strbuf *out)
{
	const char *name;
	struct bb_rule *r;

	*b = req_bus(d, req, out);
	if (!*b || bbd_need_str(req, "name", &name, out))
		return NULL;
	r = bb_model_rule(*b, name);
	if (!r)
		bbd_fail(out, E_NOT_FOUND, "Rule %s does not exist on EventBus %s.", name,
			 (*b)->name);
	return r;
}

/* rule.delete, rule.enable, rule.disable */
static int rule_change(struct bbd *d, const struct json_value *req, struct strbuf *out,
		       const char *op)
{
	struct bb_mbus *b;
	struct bb_rule *r = req_rule(d, req, &b, out);
	struct strbuf snap = STRBUF_INIT;
	char name[BB_RULE_NAME_MAX + 1];

	if (!r)
		return 0;
	snprintf(name, sizeof(name), "%s", r->name);
	bb_model_to_json(&d->model, &snap);
	if (!strcmp(op, "delete"))
		bb_model_remove_rule(b, r);
	else
		r->enabled = !strcmp(op, "enable");
	if (!commit_or_rollback(d, &snap, out)) {
		bbd_ok_empty(out);
		log_info("rule %s/%s: %s", b->name, name, op);
	}
	sb_free(&snap);
	return 0;
}

static int rule_list(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	const char *only;

	if (bbd_arg_str(req, "bus", &only, out))
		return 0;
	if (only && !bb_model_bus(&d->model, only))
		return bbd_fail(out, E_NOT_FOUND, "Event bus %s does not exist.", only);
	bbd_ok_open(out);
	sb_addc(out, '[');
	bool first = true;

	for (size_t i = 0; i < d->model.n_buses; i++) {
		const struct bb_mbus *b = &d->model.buses[i];

		if (only && strcmp(only, b->name))
			continue;
		for (size_t j = 0; j < b->n_rules; j++) {
			if (!first)
				sb_addc(out, ',');
			first = false;
			write_rule(NULL, out, b, &b->rules[j]);
		}
	}
	sb_adds(out, "]}");
	return 0;
}

static int rule_describe(struct bbd *d, const struct json_value *req, struct strbuf *out)
{
	struct bb_mbus *b;
	struct bb_rule *r = req_rule(d, req, &b, out);

	if (!r)
		return 0;
	bbd_ok_open(out);
	write_rule(d, out, b, r);
	sb_addc(out, '}');
	return 0;
}

/* rule.load: a bus's rules replaced by a rule file ({"name": pattern}); rule.clear: none. */
static int rule_load(struct bbd *d, const struct json_value *req, struct strbuf *out, bool clear)
{
	struct bb_mbus *b = req_bus(d, req, out);
	const char *text = "{}";
	char msg[1200];

	if (!b || (!clear && bbd_need_str(req, "text", &text, out)))
		return 0;
	struct strbuf snap = STRBUF_INIT;

	bb_model_to_json(&d->model, &snap);
	if (bb_model_set_rulefile(b, text, strlen(text), msg, sizeof(msg)))
		bbd_fail(out, E_PATTERN, "bus %s: %s", b->name, msg);
	else if (!commit_or_rollback(d, &snap, out))
		sb_printf(out, "{\"ok\":true,\"result\":{\"generation\":%u,\"rules\":%zu}}",
			  d->live_gen, d->routes[d->live_gen & 1].c.n_rules);
	sb_free(&snap);
	return 0;
}

/* ---- the daemon ----------------------------------------------------------- */

static int status(struct bbd *d, struct strbuf *out)
{
	const struct bbd_counters *c = &d->cnt;

	bbd_ok_open(out);
	sb_printf(out, "{\"pid\":%d,\"generation\":%u,\"buses\":%zu,\"handoff\":\"%s\"",
		  (int)getpid(), d->live_gen, d->model.n_buses,
		  d->handoff == BPFBUS_HANDOFF_RINGBUF ? "ringbuf" : "xsk");
	bbd_add_str(out, "state_dir", d->state_dir, true);
	bbd_add_str(out, "pin_dir", d->pin_dir, true);
	sb_adds(out, ",\"ifaces\":[");
	for (int i = 0; i < d->n_ifaces; i++) {
		if (i)
			sb_addc(out, ',');
		json_write_string(out, d->ifaces[i].name, strlen(d->ifaces[i].name));
	}
#define C(f) sb_printf(out, ",\"" #f "\":%llu", (unsigned long long)c->f)
	sb_printf(out, "],\"port\":%u", d->port);
	C(events);
	C(xdp_events);
	C(udp_events);
	C(malformed);
	C(unknown_bus);
	C(unmatched);
	C(sampled);
	C(verified);
	C(delivered);
	C(delivery_failed);
	C(dead_lettered);
	C(forwarded);
	C(not_forwarded);
	C(lost_commit);
	C(udp_dropped);
	C(rounds);
	C(acks_sent);
	C(duplicates);
	C(out_of_order);
	C(retries_scheduled);
	C(retried);
	C(retries_exhausted);
	C(retries_dropped);
	C(retry_orphans);
	C(http_queue_full);
	C(outbox_delivered);
	C(outbox_failed);
	C(outbox_retries);
	C(sns_published);
	C(sns_rejected);
	C(scheduled);
	C(control_grouped);
	C(control_commits);
#undef C
	struct bb_rx_stats xs = { 0 };

	bbd_intake_xsk_stats(d, &xs);
	/* the kernel's AF_XDP counters (XDP_STATISTICS): frames lost before we saw them */
	sb_printf(out,
		  ",\"xsk_rx_dropped\":%llu,\"xsk_rx_ring_full\":%llu,\"xsk_fill_ring_empty\":%llu",
		  (unsigned long long)xs.rx_dropped, (unsigned long long)xs.rx_ring_full,
		  (unsigned long long)xs.fill_ring_empty);
	sb_printf(out, ",\"retries_pending\":%zu", d->retries ? retry_pending(d->retries) : 0);
	sb_printf(out, ",\"http_waiting\":%zu", bbd_forward_waiting(d));
	sb_adds(out, "}}");
	return 0;
}

int bbd_ops_dispatch(struct bbd *d, const struct json_value *req, struct strbuf *out,
		     int64_t *park_until)
{
	const char *op;

	if (bbd_need_str(req, "op", &op, out))
		return 0;
	if (!strcmp(op, "status"))
		return status(d, out);
	if (!strcmp(op, "reload")) {
		d->reload_requested = true;
		return bbd_ok_empty(out);
	}
	if (!strcmp(op, "bus.add"))
		return bus_add(d, req, out);
	if (!strcmp(op, "bus.delete"))
		return bus_delete(d, req, out);
	if (!strcmp(op, "bus.list"))
		return bus_list(d, out);
	if (!strcmp(op, "rule.put"))
		return rule_put(d, req, out);
	if (!strcmp(op, "rule.delete"))
		return rule_change(d, req, out, "delete");
	if (!strcmp(op, "rule.enable"))
		return rule_change(d, req, out, "enable");
	if (!strcmp(op, "rule.disable"))
		return rule_change(d, req, out, "disable");
	if (!strcmp(op, "rule.list"))
		return rule_list(d, req, out);
	if (!strcmp(op, "rule.describe"))
		return rule_describe(d, req, out);
	if (!strcmp(op, "rule.load"))
		return rule_load(d, req, out, false);
	if (!strcmp(op, "rule.clear"))
		return rule_load(d, req, out, true);
	if (!strcmp(op, "sqs"))
		return bbd_sqs_request(d, req, out, park_until);
	if (!strcmp(op, "queue.stats"))
		return bbd_queue_stats(d, req, out);
	if (!strncmp(op, "test.", 5))
		return bbd_testing_op(d, op, req, out);
	if (!strcmp(op, "sns"))
		return bbd_sns_request(d, req, out);
	if ((!strncmp(op, "archive.", 8) || !strncmp(op, "replay.", 7)) &&
	    !bbd_archive_ops(d, op, req, out))
		return 0;
	if (!strncmp(op, "schema.", 7) && !bbd_schema_ops(d, op, req, out))
		return 0;
	return bbd_fail(out, "UnknownOperation", "unknown op '%s'", op);
}

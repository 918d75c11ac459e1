// SPDX-License-Identifier: BSD-2-Clause
/*
 * Scheduled rules (docs/eventbridge.md, "Schedules"): ENABLED rules of the
 * default bus with a ScheduleExpression fire EventBridge's "Scheduled Event"
 * (source aws.events, resources [rule ARN], detail {}) into their targets.
 * The event goes to the rule's own targets, not over the bus: no other rule
 * sees it and no archive keeps it. The schedule list -- each with a route of
 * its own, since a rule with only a schedule is not compiled -- is rebuilt
 * after every model change; a rule whose expression did not change keeps its
 * next firing.
 * The 100 ms tick fires what is due, each firing in a round of its own.
 *
 * rate() counts from when the daemon took the rule (its creation, or the
 * daemon's start); the next firing is always computed from the current
 * time, so firings missed while the daemon was down are not made up.
 */
#include "archives_int.h"
#include "eb_schedule.h"
#include "datapath.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct bbd_sched {
	char *rule;
	char *expr;
	char *full_name; /* "default/RULE": the route's name */
	struct bbd_route route; /* the rule's targets */
	struct eb_schedule s;
	int64_t anchor_s, next_s; /* next_s -1: never again */
};

struct bbd_schedules {
	struct bbd_sched *v;
	size_t n;
};

static void sched_free(struct bbd_sched *s)
{
	bbd_route_free(&s->route);
	free(s->rule);
	free(s->expr);
	free(s->full_name);
}

void bbd_schedules_free(struct bbd *d)
{
	if (!d->schedules)
		return;
	for (size_t i = 0; i < d->schedules->n; i++)
		sched_free(&d->schedules->v[i]);
	free(d->schedules->v);
	free(d->schedules);
	d->schedules = NULL;
}

static const struct bbd_sched *find(const struct bbd_schedules *ss, const char *rule,
				    const char *expr)
{
	for (size_t i = 0; ss && i < ss->n; i++)
		if (!strcmp(ss->v[i].rule, rule) && !strcmp(ss->v[i].expr, expr))
			return &ss->v[i];
	return NULL;
}

void bbd_schedules_sync(struct bbd *d)
{
	const struct bb_mbus *b = bb_model_bus(&d->model, BB_DEFAULT_BUS);
	struct bbd_schedules *ss = xcalloc(1, sizeof(*ss));
	int64_t now_s = bbd_clock(d) / 1000;
	struct bpfbus_bus kb = { 0 };

	if (d->busfd >= 0)
		bb_bus_find(d->busfd, BB_DEFAULT_BUS, &kb);
	for (size_t i = 0; b && i < b->n_rules; i++) {
		const struct bb_rule *r = &b->rules[i];
		const struct bbd_sched *old;
		struct bbd_sched s = { 0 };
		struct eb_error err;

		if (!r->schedule || !r->enabled)
			continue;
		if (eb_schedule_parse(r->schedule, &s.s, &err)) {
			log_err("rule %s: schedule %s: %s", r->name, r->schedule, err.detail);
			continue;
		}
		old = find(d->schedules, r->name, r->schedule);
		s.anchor_s = old ? old->anchor_s : now_s;
		s.next_s = old ? old->next_s : eb_schedule_next(&s.s, s.anchor_s, now_s);
		s.rule = xstrndup(r->name, strlen(r->name));
		s.expr = xstrndup(r->schedule, strlen(r->schedule));
		s.full_name = xcalloc(1, strlen(BB_DEFAULT_BUS) + strlen(r->name) + 2);
		sprintf(s.full_name, "%s/%s", BB_DEFAULT_BUS, r->name);
		ss->v = xrealloc(ss->v, (ss->n + 1) * sizeof(*ss->v));
		ss->v[ss->n] = s;
		/* filled in place: the route points at its own name */
		struct bbd_sched *at = &ss->v[ss->n++];

		at->route.name = at->full_name;
		at->route.rule_name = at->rule;
		at->route.bus_id = kb.id;
		bbd_route_fill(d, &at->route, BB_DEFAULT_BUS, r);
	}
	bbd_schedules_free(d);
	d->schedules = ss;
}

int64_t bbd_schedule_next_ms(const struct bbd *d, const char *rule)
{
	for (size_t i = 0; d->schedules && i < d->schedules->n; i++)
		if (!strcmp(d->schedules->v[i].rule, rule))
			return d->schedules->v[i].next_s < 0 ? -1
							     : d->schedules->v[i].next_s * 1000;
	return -1;
}

static void fire(struct bbd *d, struct bbd_sched *s, int64_t now_ms)
{
	struct bbd_round rd = { .d = d, .now_ms = now_ms };
	struct strbuf ev = STRBUF_INIT;

	eb_scheduled_event(&ev, s->route.rule_arn, bbd_account(d), bbd_region(d), s->next_s);
	bbd_round_deliver_rule(&rd, &s->route, BB_DEFAULT_BUS, ev.buf, ev.len);
	if (bbd_round_commit(&rd)) {
		d->cnt.scheduled++;
		if (rd.stored)
			d->wake_pending = true;
	} else {
		log_err("rule %s: the scheduled event of %lld was not stored", s->rule,
			(long long)s->next_s);
	}
	sb_free(&ev);
}

void bbd_schedules_run(struct bbd *d, int64_t now_ms)
{
	int64_t now_s = now_ms / 1000;

	for (size_t i = 0; d->schedules && i < d->schedules->n; i++) {
		struct bbd_sched *s = &d->schedules->v[i];

		if (s->next_s < 0 || s->next_s > now_s)
			continue;
		fire(d, s, now_ms);
		/* from now on: a late tick fires once, never a backlog */
		s->next_s = eb_schedule_next(&s->s, s->anchor_s, now_s);
	}
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The model compiled into the kernel tables and into routes: rule id -> the
 * queues of its targets. Two generations are kept, because events the kernel
 * matched just before a switch still carry the previous generation's ids.
 */
#include "bpfbusd.h"
#include "datapath.h"
#include "eb_transform.h"
#include "queue.h"
#include "ruleset.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void bbd_route_free(struct bbd_route *r)
{
	for (int i = 0; i < r->n_targets; i++) {
		free(r->t[i].addr);
		free(r->t[i].dlq);
		free(r->t[i].arn);
		free(r->t[i].id);
		free(r->t[i].group);
		eb_input_free(r->t[i].input);
	}
	free(r->rule_arn);
}

static void routes_free(struct bbd_routes *rt)
{
	for (size_t i = 0; rt->r && i < rt->c.n_rules; i++)
		bbd_route_free(&rt->r[i]);
	free(rt->r);
	free(rt->by_name);
	bb_match_ctx_free(rt->mctx);
	bb_compiled_free(&rt->c);
	memset(rt, 0, sizeof(*rt));
}

void bbd_routes_free(struct bbd *d)
{
	routes_free(&d->routes[0]);
	routes_free(&d->routes[1]);
}

const struct bbd_routes *bbd_routes_for(const struct bbd *d, uint32_t gen)
{
	const struct bbd_routes *rt = &d->routes[gen & 1];

	return gen && rt->c.rs && rt->c.gen == gen ? rt : NULL;
}

static int by_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct bbd_route *const *)a)->name,
		      (*(const struct bbd_route *const *)b)->name);
}

/* @name (@len bytes, not terminated) against a route's name, as strcmp. */
static int name_cmp(const char *name, size_t len, const char *route_name)
{
	int c = strncmp(name, route_name, len);

	return c ? c : route_name[len] ? -1 : 0;
}

const struct bbd_route *bbd_route_named(const struct bbd_routes *rt, const char *name, size_t len)
{
	size_t lo = 0, hi = rt->by_name ? rt->c.n_rules : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, len, rt->by_name[mid]->name);

		if (!c)
			return rt->by_name[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const char *bbd_account(const struct bbd *d)
{
	return d->account_id ? d->account_id : "000000000000";
}

const char *bbd_region(const struct bbd *d)
{
	return d->region ? d->region : "us-east-1";
}

void bbd_target_arn(const struct bbd *d, const struct bb_target *t, char *buf, size_t cap)
{
	switch (t->kind) {
	case BB_TARGET_QUEUE:
		queue_arn(d->store, t->addr, buf, cap);
		break;
	case BB_TARGET_TOPIC:
		snprintf(buf, cap, "arn:aws:sns:%s:%s:%s", bbd_region(d), bbd_account(d), t->addr);
		break;
	case BB_TARGET_BUS:
		eb_bus_arn(buf, cap, bbd_region(d), bbd_account(d), t->addr);
		break;
	case BB_TARGET_UDP:
		snprintf(buf, cap, "udp://%s", t->addr);
		break;
	default:
		snprintf(buf, cap, "%s", t->addr);
	}
}

void bbd_route_fill(struct bbd *d, struct bbd_route *r, const char *bus, const struct bb_rule *mr)
{
	char arn[BB_RULE_NAME_MAX * 3 + 128];
	struct eb_error e;

	eb_rule_arn(arn, sizeof(arn), bbd_region(d), bbd_account(d), bus, mr->name);
	r->rule_arn = xstrndup(arn, strlen(arn));
	r->latency = bbd_rule_latency(d, bus, mr->name);
	for (int i = 0; i < mr->n_targets; i++) {
		const struct bb_target *mt = &mr->targets[i];
		struct bbd_target *t = &r->t[r->n_targets];

		/* checked when put: an input that no longer compiles is a damaged file */
		if (bb_target_input(mt, &t->input, &e)) {
			log_err("rule %s, target %s: %s; the target is skipped", r->name, mt->id,
				e.message);
			continue;
		}
		t->kind = mt->kind;
		t->addr = xstrndup(mt->addr, strlen(mt->addr));
		t->dlq = mt->dlq ? xstrndup(mt->dlq, strlen(mt->dlq)) : NULL;
		t->group = mt->message_group_id
				   ? xstrndup(mt->message_group_id, strlen(mt->message_group_id))
				   : NULL;
		t->fifo = bb_target_is_fifo(mt);
		char arn[BB_TARGET_ADDR_MAX + 128];

		bbd_target_arn(d, mt, arn, sizeof(arn));
		t->arn = xstrndup(arn, strlen(arn));
		t->id = xstrndup(mt->id, strlen(mt->id));
		t->retry_attempts = mt->retry_attempts;
		t->max_event_age_s = mt->max_event_age_s;
		r->n_targets++;
	}
}

int bbd_routes_reload(struct bbd *d, char *err, size_t err_len)
{
	struct bbd_routes rt = { 0 };
	struct bb_reload rl;

	struct bb_reload_opts o = { .discovery_rate = d->discovery_rate };
	struct bb_topic_rules *topics = bbd_topic_rules(d, &o.n_topics);
	struct bb_archive_entry *archives = bbd_archive_entries(d, &o.n_archives);

	o.topics = topics;
	o.archives = archives;
	int r = bb_rules_reload_opts(d->pin_dir, &d->model, &o, &rl, &rt.c, err, err_len);

	bbd_topic_rules_free(topics, o.n_topics);
	free(archives);
	if (r < 0)
		return -1;
	rt.r = xcalloc(rt.c.n_rules ? rt.c.n_rules : 1, sizeof(*rt.r));
	for (size_t i = 0; i < rt.c.n_rules; i++) {
		struct bbd_route *r = &rt.r[i];

		r->bus_id = rt.c.rule_bus[i];
		r->name = bb_ruleset_rule_name(rt.c.rs, (uint32_t)i);
		if (i >= rt.c.archive_base) {
			r->archive = true; /* its archive decides by itself (bbd_archives_offer) */
			r->rule_name = r->name;
			continue;
		}
		/* the model rule behind compiled name "bus/rule" (rule names have no '/') */
		const char *slash = strrchr(r->name, '/');
		char *bus = slash ? xstrndup(r->name, (size_t)(slash - r->name)) : NULL;
		const struct bb_mbus *b = bus ? bb_model_bus(&d->model, bus) : NULL;
		const struct bb_rule *mr = b ? bb_model_rule(b, slash + 1) : NULL;

		r->rule_name = slash ? slash + 1 : r->name;
		if (mr)
			bbd_route_fill(d, r, bus, mr);
		free(bus);
	}
	/* due retries find their rule by name: no walk over every rule */
	rt.by_name = xcalloc(rt.c.n_rules ? rt.c.n_rules : 1, sizeof(*rt.by_name));
	for (size_t i = 0; i < rt.c.n_rules; i++)
		rt.by_name[i] = &rt.r[i];
	qsort(rt.by_name, rt.c.n_rules, sizeof(*rt.by_name), by_name_cmp);
	rt.mctx = bb_match_ctx_new(rt.c.rs);
	routes_free(&d->routes[rt.c.gen & 1]);
	d->routes[rt.c.gen & 1] = rt;
	d->live_gen = rt.c.gen;
	bbd_schedules_sync(d);
	log_info("generation %u: %zu enabled rules and %zu archive entries on %zu buses", rl.gen,
		 rl.n_rules, rl.n_archives, rl.n_buses);
	return 0;
}

int bbd_sync_buses(struct bbd *d, char *err, size_t err_len)
{
	struct bpfbus_bus *buses = NULL;
	bool changed = false;
	int sfd, n;

	if (d->busfd < 0) {
		d->busfd = bb_map_open_create(d->pin_dir, BPFBUS_MAP_BUSES);
		if (d->busfd < 0) {
			snprintf(err, err_len, "cannot open the bus map in %s: %s", d->pin_dir,
				 strerror(-d->busfd));
			return -1;
		}
	}
	if (!bb_model_bus(&d->model, BB_DEFAULT_BUS)) {
		bb_model_add_bus(&d->model, BB_DEFAULT_BUS, BPFBUS_BUS_EVENT);
		changed = true;
	}
	/* buses pinned by `bpfbus bus add` without the daemon join the model */
	n = bb_bus_list(d->busfd, &buses);
	for (int i = 0; i < n; i++) {
		char name[BPFBUS_WIRE_MAX_NAME + 1];

		snprintf(name, sizeof(name), "%.*s", (int)buses[i].name_len, buses[i].name);
		if (!bb_model_bus(&d->model, name)) {
			bb_model_add_bus(&d->model, name, buses[i].kind);
			log_info("bus %s found in %s: added to the model", name, d->pin_dir);
			changed = true;
		}
	}
	free(buses);
	/* and the model's buses go into the kernel */
	sfd = bb_map_open_pinned(d->pin_dir, BPFBUS_MAP_BUS_STATS);
	for (size_t i = 0; i < d->model.n_buses; i++) {
		const struct bb_mbus *b = &d->model.buses[i];
		struct bpfbus_bus kb;
		uint32_t id;
		int r;

		if (!bb_bus_find(d->busfd, b->name, &kb))
			continue;
		r = bb_bus_add(d->busfd, sfd, b->name, (enum bpfbus_bus_kind)b->kind, &id);
		if (r) {
			snprintf(err, err_len, "cannot put bus %s into the kernel: %s", b->name,
				 strerror(-r));
			if (sfd >= 0)
				close(sfd);
			return -1;
		}
	}
	if (sfd >= 0)
		close(sfd);
	return changed ? bb_model_save(d->state_dir, &d->model, err, err_len) : 0;
}

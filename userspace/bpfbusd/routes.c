// SPDX-License-Identifier: BSD-2-Clause
/*
 * The model compiled into the kernel tables and into routes: rule id -> the
 * queues of its targets. Two generations are kept, because events the kernel
 * matched just before a switch still carry the previous generation's ids.
 */
#include "bpfbusd.h"
#include "datapath.h"
#include "ruleset.h"
#include "strbuf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void routes_free(struct bbd_routes *rt)
{
	for (size_t i = 0; rt->r && i < rt->c.n_rules; i++)
		for (int t = 0; t < rt->r[i].n_targets; t++)
			free(rt->r[i].queues[t]), free(rt->r[i].dlqs[t]);
	free(rt->r);
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

/* The model rule behind compiled name "bus/rule" (rule names have no '/'). */
static const struct bb_rule *model_rule(const struct bb_model *m, const char *full)
{
	const char *slash = strrchr(full, '/');

	if (!slash)
		return NULL;
	char *bus = xstrndup(full, (size_t)(slash - full));
	const struct bb_mbus *b = bb_model_bus(m, bus);

	free(bus);
	return b ? bb_model_rule(b, slash + 1) : NULL;
}

int bbd_routes_reload(struct bbd *d, char *err, size_t err_len)
{
	struct bbd_routes rt = { 0 };
	struct bb_reload rl;

	if (bb_rules_reload(d->pin_dir, &d->model, &rl, &rt.c, err, err_len) < 0)
		return -1;
	rt.r = xcalloc(rt.c.n_rules ? rt.c.n_rules : 1, sizeof(*rt.r));
	for (size_t i = 0; i < rt.c.n_rules; i++) {
		struct bbd_route *r = &rt.r[i];
		const struct bb_rule *mr;

		r->bus_id = rt.c.rule_bus[i];
		r->name = bb_ruleset_rule_name(rt.c.rs, (uint32_t)i);
		mr = model_rule(&d->model, r->name);
		for (int t = 0; mr && t < mr->n_targets; t++) {
			const struct bb_target *mt = &mr->targets[t];

			r->dlqs[r->n_targets] = mt->dlq ? xstrndup(mt->dlq, strlen(mt->dlq)) : NULL;
			r->queues[r->n_targets++] = xstrndup(mt->queue, strlen(mt->queue));
		}
	}
	rt.mctx = bb_match_ctx_new(rt.c.rs);
	routes_free(&d->routes[rt.c.gen & 1]);
	d->routes[rt.c.gen & 1] = rt;
	d->live_gen = rt.c.gen;
	log_info("generation %u: %zu enabled rules on %zu buses", rl.gen, rl.n_rules, rl.n_buses);
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

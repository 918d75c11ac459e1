// SPDX-License-Identifier: BSD-2-Clause
#include "rules_dp.h"
#include "bpfbus/tables.h"
#include "datapath.h"
#include "ktables.h"
#include "model.h"
#include "ruleset.h"
#include "strbuf.h"
#include "wire.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *bb_state_dir(void)
{
	const char *d = getenv("BPFBUS_STATE_DIR");

	return d && *d ? d : "/var/lib/bpfbus";
}

/* Record rule @id as @bus_id's. */
static void note_rule(uint32_t **rule_bus, size_t *n, int id, uint32_t bus_id)
{
	*rule_bus = xrealloc(*rule_bus, ((size_t)id + 1) * sizeof(**rule_bus));
	(*rule_bus)[id] = bus_id;
	*n = (size_t)id + 1;
}

/* Add a bus's ENABLED rules as rules of @bus_id; -1 with @err. */
static int add_rules(struct bb_ruleset *rs, const struct bb_mbus *bus, uint32_t bus_id,
		     uint32_t **rule_bus, size_t *n, char *err, size_t err_len)
{
	for (size_t i = 0; i < bus->n_rules; i++) {
		const struct bb_rule *r = &bus->rules[i];
		char name[BPFBUS_RULE_NAME_MAX];
		struct bb_error e;

		if (!r->enabled || !r->pattern) /* schedules fire without matching */
			continue;
		snprintf(name, sizeof(name), "%s/%s", bus->name, r->name);
		int id = bb_ruleset_add_pattern(rs, name, r->pattern, strlen(r->pattern), &e);

		if (id < 0) {
			snprintf(err, err_len, "bus %s, rule %s: %s", bus->name, r->name, e.msg);
			return -1;
		}
		note_rule(rule_bus, n, id, bus_id);
	}
	return 0;
}

/*
 * A topic's subscriptions as rules of @bus_id, each policy in its scope. A
 * policy that does not compile (they were checked when set: it should not
 * happen) makes the kernel ask about the whole topic. Returns the bus's
 * flags.
 */
static uint8_t add_topic_rules(struct bb_ruleset *rs, const struct bb_topic_rules *t,
			       uint32_t bus_id, uint32_t **rule_bus, size_t *n)
{
	uint8_t keep = t->keep_all ? BPFBUS_BUS_F_KEEP_ALL : 0;

	if (t->verify_all)
		return BPFBUS_BUS_F_VERIFY_ALL | keep;
	for (size_t i = 0; i < t->n; i++) {
		const struct bb_topic_sub *sub = &t->subs[i];
		char name[BPFBUS_RULE_NAME_MAX];
		struct bb_error e;
		int id;

		snprintf(name, sizeof(name), "%s/%s", t->topic, sub->id);
		id = bb_ruleset_add_policy(rs, name, sub->policy, strlen(sub->policy),
					   sub->body_scope ? BB_SCOPE_MESSAGE_BODY
							   : BB_SCOPE_MESSAGE_ATTRIBUTES,
					   BB_API_SET_SUBSCRIPTION_ATTRIBUTES, &e);
		if (id < 0)
			return BPFBUS_BUS_F_VERIFY_ALL | keep;
		note_rule(rule_bus, n, id, bus_id);
	}
	return keep;
}

/* The index in @buses of the bus named @name, or -1. */
static int bus_index(const struct bpfbus_bus *buses, int nb, const char *name)
{
	size_t len = strlen(name);

	for (int i = 0; i < nb; i++)
		if (buses[i].name_len == len && !memcmp(buses[i].name, name, len))
			return i;
	return -1;
}

/*
 * The archives as entries of their buses, after every rule (ids from
 * archive_base on); sets the buses' archive flags in @flags. An archive
 * without a pattern, or whose pattern does not compile (it was checked when
 * set: it should not happen), keeps every event of its bus.
 */
static size_t add_archives(struct bb_ruleset *rs, const struct bb_reload_opts *o,
			   const struct bpfbus_bus *buses, int nb, uint8_t *flags,
			   uint32_t **rule_bus, size_t *n)
{
	size_t added = 0;

	for (size_t k = 0; k < o->n_archives; k++) {
		const struct bb_archive_entry *a = &o->archives[k];
		int i = bus_index(buses, nb, a->bus);
		char name[BPFBUS_WIRE_MAX_NAME + 80]; /* in the ruleset only, not km_rule_names */
		struct bb_error e;
		int id;

		if (i < 0 || buses[i].kind != BPFBUS_BUS_EVENT)
			continue;
		if (!a->pattern) {
			flags[i] |= BPFBUS_BUS_F_ARCHIVE_ALL;
			continue;
		}
		/* ':' is in no rule name: an archive entry never shadows a rule */
		snprintf(name, sizeof(name), "%.256s/archive:%.64s", a->bus, a->name);
		id = bb_ruleset_add_pattern(rs, name, a->pattern, strlen(a->pattern), &e);
		if (id < 0) {
			flags[i] |= BPFBUS_BUS_F_ARCHIVE_ALL;
			continue;
		}
		note_rule(rule_bus, n, id, buses[i].id);
		flags[i] |= BPFBUS_BUS_F_ARCHIVES;
		added++;
	}
	return added;
}

/* Schema discovery's rate for bus @id (bpf/sample.h); the bucket starts full. */
static int set_sample_rate(int fd, uint32_t id, unsigned rate)
{
	struct bpfbus_sample v = { .rate_per_s = rate };

	return bpf_map_update_elem(fd, &id, &v, BPF_ANY) ? -errno : 0;
}

void bb_compiled_free(struct bb_compiled *c)
{
	bb_ruleset_free(c->rs);
	free(c->rule_bus);
	memset(c, 0, sizeof(*c));
}

/* Table maps, by pinned name. */
static int open_tables(const char *pin_dir, struct ktable_fds *fds, int *names)
{
	static const char *const maps[] = { "km_pathtab", "km_kpaths",	 "km_values", "km_postings",
					    "km_conds",	  "km_branches", "km_header", "km_inodes",
					    "km_ivals",	  "km_wild",	 "km_cidr6",  "km_grids",
					    "km_gbounds", "km_gcells",	 "km_boxes",  "km_vtab",
					    "km_vfilter" };
	int *slots[] = { &fds->paths,	 &fds->kpaths, &fds->values,  &fds->postings, &fds->conds,
			 &fds->branches, &fds->header, &fds->inodes,  &fds->ivals,    &fds->wild,
			 &fds->cidr6,	 &fds->grids,  &fds->gbounds, &fds->gcells,   &fds->boxes,
			 &fds->vtab,	 &fds->vfilter };

	for (size_t i = 0; i < sizeof(maps) / sizeof(*maps); i++) {
		*slots[i] = bb_map_open_create(pin_dir, maps[i]);
		if (*slots[i] < 0)
			return *slots[i];
	}
	*names = bb_map_open_create(pin_dir, "km_rule_names");
	return *names < 0 ? *names : 0;
}

static void close_tables(struct ktable_fds *fds, int names)
{
	int all[] = { fds->paths,    fds->kpaths,  fds->values,	 fds->postings, fds->conds,
		      fds->branches, fds->header,  fds->inodes,	 fds->ivals,	fds->wild,
		      fds->cidr6,    fds->grids,   fds->gbounds, fds->gcells,	fds->boxes,
		      fds->vtab,     fds->vfilter, names };

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (all[i] >= 0)
			close(all[i]);
}

int bb_rules_reload(const char *pin_dir, const struct bb_model *m, struct bb_reload *out,
		    struct bb_compiled *keep, char *err, size_t err_len)
{
	return bb_rules_reload_topics(pin_dir, m, NULL, 0, out, keep, err, err_len);
}

static const struct bb_topic_rules *topic_of(const struct bb_topic_rules *t, size_t n,
					     const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(t[i].topic, name))
			return &t[i];
	return NULL;
}

int bb_rules_reload_topics(const char *pin_dir, const struct bb_model *m,
			   const struct bb_topic_rules *topics, size_t ntopics,
			   struct bb_reload *out, struct bb_compiled *keep, char *err,
			   size_t err_len)
{
	struct bb_reload_opts o = { .topics = topics, .n_topics = ntopics };

	return bb_rules_reload_opts(pin_dir, m, &o, out, keep, err, err_len);
}

int bb_rules_reload_opts(const char *pin_dir, const struct bb_model *m,
			 const struct bb_reload_opts *o, struct bb_reload *out,
			 struct bb_compiled *keep, char *err, size_t err_len)
{
	uint8_t *flags = NULL; /* BPFBUS_BUS_F_* per bus */
	struct ktable_fds fds;
	int names = -1, busfd, samplefd = -1, r = -1;
	struct bpfbus_bus *buses = NULL;
	struct bb_ruleset *rs = bb_ruleset_new();
	uint32_t *rule_bus = NULL, gen = 0;
	size_t n_rules = 0, n_archives;
	uint32_t archive_base;

	memset(&fds, 0xff, sizeof(fds));
	memset(out, 0, sizeof(*out));
	busfd = bb_map_open_create(pin_dir, BPFBUS_MAP_BUSES);
	if (busfd < 0 || open_tables(pin_dir, &fds, &names) < 0) {
		snprintf(err, err_len, "cannot open the pinned maps in %s: %s", pin_dir,
			 strerror(errno));
		goto out;
	}
	int nb = bb_bus_list(busfd, &buses);

	if (nb < 0) {
		snprintf(err, err_len, "cannot list buses: %s", strerror(-nb));
		goto out;
	}
	flags = xcalloc((size_t)(nb > 0 ? nb : 1), sizeof(*flags));
	for (int i = 0; i < nb; i++) {
		char name[BPFBUS_WIRE_MAX_NAME + 1];

		snprintf(name, sizeof(name), "%.*s", (int)buses[i].name_len, buses[i].name);
		if (buses[i].generation > gen)
			gen = buses[i].generation;
		const struct bb_mbus *mb = bb_model_bus(m, name);
		const struct bb_topic_rules *t = buses[i].kind == BPFBUS_BUS_TOPIC
							 ? topic_of(o->topics, o->n_topics, name)
							 : NULL;

		if (mb && add_rules(rs, mb, buses[i].id, &rule_bus, &n_rules, err, err_len) < 0)
			goto out;
		if (t)
			flags[i] |= add_topic_rules(rs, t, buses[i].id, &rule_bus, &n_rules);
	}
	archive_base = (uint32_t)n_rules;
	n_archives = add_archives(rs, o, buses, nb, flags, &rule_bus, &n_rules);
	if (o->discovery_rate) {
		samplefd = bb_map_open_create(pin_dir, BPFBUS_MAP_SAMPLE);
		if (samplefd < 0) {
			snprintf(err, err_len, "cannot open the pinned map %s in %s: %s",
				 BPFBUS_MAP_SAMPLE, pin_dir, strerror(-samplefd));
			goto out;
		}
	}
	for (int i = 0; i < nb && samplefd >= 0; i++) {
		char name[BPFBUS_WIRE_MAX_NAME + 1];
		const struct bb_mbus *mb;

		snprintf(name, sizeof(name), "%.*s", (int)buses[i].name_len, buses[i].name);
		mb = bb_model_bus(m, name);
		if (buses[i].kind != BPFBUS_BUS_EVENT || (mb && mb->discovery_stopped))
			continue; /* no F_DISCOVERY: the kernel samples nothing of it */
		int e = set_sample_rate(samplefd, buses[i].id, o->discovery_rate);

		if (e) {
			snprintf(err, err_len, "setting bus %u's sampling rate: %s", buses[i].id,
				 strerror(-e));
			goto out;
		}
		flags[i] |= BPFBUS_BUS_F_DISCOVERY;
	}
	bb_ruleset_compile(rs);
	gen++;
	if (gen == 0)
		gen = 1; /* 0 means "no tables" */
	uint32_t slot = gen & (BPFBUS_SLOTS - 1);
	struct ktables kt;

	ktables_clear_slot(&fds, slot);
	if (ktables_build(rs, (uint8_t)slot, gen, rule_bus, &kt, err, err_len) < 0)
		goto out;
	int l = ktables_load(&kt, &fds);

	ktables_free(&kt);
	if (l < 0) {
		snprintf(err, err_len, "writing the kernel tables: %s", strerror(-l));
		goto out;
	}
	/* names of rules only: archive entries are no rules (`rule show`, metrics) */
	for (size_t id = 0; id < archive_base; id++) {
		struct bpfbus_rule_name rn = { .bus = rule_bus[id], .gen = gen };
		uint32_t k = (uint32_t)id;

		snprintf(rn.name, sizeof(rn.name), "%s", bb_ruleset_rule_name(rs, k));
		bpf_map_update_elem(names, &k, &rn, BPF_ANY);
	}
	/* rule ids are renumbered by a reload: their counters start again */
	int sfd = bb_map_open_pinned(pin_dir, BPFBUS_MAP_RULE_STATS);

	if (sfd >= 0) {
		int ncpu = libbpf_num_possible_cpus();
		struct bpfbus_rule_stats *zero =
			xcalloc((size_t)(ncpu > 0 ? ncpu : 1), sizeof(*zero));

		for (uint32_t id = 0; id < n_rules; id++)
			bpf_map_update_elem(sfd, &id, zero, BPF_ANY);
		free(zero);
		close(sfd);
	}
	/* the switch: each bus now reads the new slot */
	for (int i = 0; i < nb; i++) {
		__u32 key = bb_wire_name_hash((const char *)buses[i].name, buses[i].name_len);

		buses[i].generation = gen;
		buses[i].flags = flags[i];
		buses[i].archive_base = archive_base;
		if (bpf_map_update_elem(busfd, &key, &buses[i], BPF_EXIST)) {
			snprintf(err, err_len, "switching bus %u: %s", buses[i].id,
				 strerror(errno));
			goto out;
		}
	}
	/* names of rules that no longer exist */
	uint32_t key, next, *prev = NULL;

	while (!bpf_map_get_next_key(names, prev, &next)) {
		key = next;
		prev = &key;
		if (next >= archive_base && !bpf_map_delete_elem(names, &next))
			prev = NULL;
	}
	out->gen = gen;
	out->n_rules = archive_base; /* rules, not archive entries */
	out->n_buses = (size_t)nb;
	out->n_archives = n_archives;
	if (keep) {
		*keep = (struct bb_compiled){ rs, rule_bus, n_rules, gen, archive_base };
		rs = NULL;
		rule_bus = NULL;
	}
	r = 0;
out:
	if (samplefd >= 0)
		close(samplefd);
	free(flags);
	free(buses);
	free(rule_bus);
	bb_ruleset_free(rs);
	close_tables(&fds, names);
	if (busfd >= 0)
		close(busfd);
	return r;
}

// SPDX-License-Identifier: BSD-2-Clause
#include "rules_dp.h"
#include "bpfbus/tables.h"
#include "datapath.h"
#include "ktables.h"
#include "rulefile.h"
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

static void rules_path(char *buf, size_t len, const char *state_dir, const char *bus)
{
	snprintf(buf, len, "%s/rules/%s.json", state_dir, bus);
}

/* Add a rule file's patterns as rules of @bus_id; -1 with @err. */
static int add_rules(struct bb_ruleset *rs, const char *bus, uint32_t bus_id, const char *text,
		     size_t len, uint32_t **rule_bus, size_t *n, char *err, size_t err_len)
{
	struct rulefile rf;
	char msg[512];

	if (rulefile_parse(text, len, &rf, msg, sizeof(msg)) < 0) {
		snprintf(err, err_len, "bus %s: %s", bus, msg);
		return -1;
	}
	for (size_t i = 0; i < rf.n; i++) {
		struct bb_error e;
		char name[BPFBUS_RULE_NAME_MAX];

		snprintf(name, sizeof(name), "%s/%s", bus, rf.rules[i].name);
		int id = bb_ruleset_add_pattern(rs, name, rf.rules[i].pattern,
						rf.rules[i].pattern_len, &e);

		if (id < 0) {
			snprintf(err, err_len, "bus %s, rule %s: %s", bus, rf.rules[i].name, e.msg);
			rulefile_free(&rf);
			return -1;
		}
		*rule_bus = xrealloc(*rule_bus, ((size_t)id + 1) * sizeof(**rule_bus));
		(*rule_bus)[id] = bus_id;
		*n = (size_t)id + 1;
	}
	rulefile_free(&rf);
	return 0;
}

int bb_rules_store(const char *state_dir, const char *bus, const char *text, size_t len, char *err,
		   size_t err_len)
{
	char path[4096], tmp[4200];

	snprintf(path, sizeof(path), "%s/rules", state_dir);
	if (mkdir(state_dir, 0700) && errno != EEXIST) {
		snprintf(err, err_len, "cannot create %s: %s", state_dir, strerror(errno));
		return -1;
	}
	if (mkdir(path, 0700) && errno != EEXIST) {
		snprintf(err, err_len, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	rules_path(path, sizeof(path), state_dir, bus);
	if (!text || !len) {
		if (unlink(path) && errno != ENOENT) {
			snprintf(err, err_len, "cannot remove %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	/* validate before storing: the whole file compiles or nothing changes */
	struct bb_ruleset *rs = bb_ruleset_new();
	uint32_t *rb = NULL;
	size_t n = 0;
	int r = add_rules(rs, bus, 0, text, len, &rb, &n, err, err_len);

	bb_ruleset_free(rs);
	free(rb);
	if (r < 0)
		return -1;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");

	if (!f || fwrite(text, 1, len, f) != len || fflush(f) || fsync(fileno(f))) {
		snprintf(err, err_len, "cannot write %s: %s", tmp, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	if (rename(tmp, path)) {
		snprintf(err, err_len, "cannot rename %s: %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

/* Table maps, by pinned name. */
static int open_tables(const char *pin_dir, struct ktable_fds *fds, int *names)
{
	static const char *const maps[] = { "km_pathtab", "km_kpaths",   "km_values", "km_postings",
					    "km_conds", "km_branches", "km_header", "km_inodes",
					    "km_ivals", "km_wild",     "km_cidr6" };
	int *slots[] = { &fds->paths, &fds->kpaths,   &fds->values, &fds->postings,
			 &fds->conds, &fds->branches, &fds->header, &fds->inodes,
			 &fds->ivals, &fds->wild,     &fds->cidr6 };

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
	int all[] = { fds->paths, fds->kpaths,	 fds->values, fds->postings,
		      fds->conds, fds->branches, fds->header, fds->inodes,
		      fds->ivals, fds->wild,	 fds->cidr6,  names };

	for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++)
		if (all[i] >= 0)
			close(all[i]);
}

int bb_rules_reload(const char *pin_dir, const char *state_dir, struct bb_reload *out, char *err,
		    size_t err_len)
{
	struct ktable_fds fds;
	int names = -1, busfd, r = -1;
	struct bpfbus_bus *buses = NULL;
	struct bb_ruleset *rs = bb_ruleset_new();
	uint32_t *rule_bus = NULL, gen = 0;
	size_t n_rules = 0;

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
	for (int i = 0; i < nb; i++) {
		char path[4096], name[BPFBUS_WIRE_MAX_NAME + 1];
		size_t len;

		snprintf(name, sizeof(name), "%.*s", (int)buses[i].name_len, buses[i].name);
		if (buses[i].generation > gen)
			gen = buses[i].generation;
		rules_path(path, sizeof(path), state_dir, name);
		char *text = read_whole_file(path, &len);

		if (!text)
			continue;
		int a = add_rules(rs, name, buses[i].id, text, len, &rule_bus, &n_rules, err,
				  err_len);

		free(text);
		if (a < 0)
			goto out;
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
	for (size_t id = 0; id < n_rules; id++) {
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
		if (next >= n_rules && !bpf_map_delete_elem(names, &next))
			prev = NULL;
	}
	out->gen = gen;
	out->n_rules = n_rules;
	out->n_buses = (size_t)nb;
	r = 0;
out:
	free(buses);
	free(rule_bus);
	bb_ruleset_free(rs);
	close_tables(&fds, names);
	if (busfd >= 0)
		close(busfd);
	return r;
}

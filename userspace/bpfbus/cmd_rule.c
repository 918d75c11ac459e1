// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus rule`: rules in the XDP datapath without a daemon. A bus's rule
 * file is stored in the state directory and every bus's rules are compiled
 * into the pinned kernel tables, switched atomically (userspace/lib/
 * rules_dp.c). `rule show` reads the pinned maps directly.
 */
#include "args.h"
#include "bpfbus/tables.h"
#include "datapath.h"
#include "jsonw.h"
#include "main.h"
#include "rules_dp.h"

#include <bpf/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int rule_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus rule load bus NAME file FILE\n"
		"       bpfbus rule clear bus NAME\n"
		"       bpfbus rule show [bus NAME]\n"
		"       bpfbus rule help\n"
		"\n"
		"FILE is a rule file: one JSON object {\"rule-name\": pattern, ...}.\n"
		"Rules are kept in $BPFBUS_STATE_DIR/rules (default %s) and loaded\n"
		"into the pinned tables in %s; every bus switches to the new tables\n"
		"at once. Rule counters restart at each load.\n",
		bb_state_dir(), bb_pin_dir());
	return EXIT_OK;
}

/* Parse "bus NAME [file FILE]". */
static bool bus_file_args(int argc, char **argv, const char **bus, const char **file)
{
	*bus = *file = NULL;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (is_prefix(argv[i], "bus"))
			*bus = argv[i + 1];
		else if (file && is_prefix(argv[i], "file"))
			*file = argv[i + 1];
		else
			return false;
	}
	return *bus && (argc % 2 == 0);
}

static int reload_and_report(void)
{
	struct bb_reload r;
	char err[1024];

	if (bb_rules_reload(bb_pin_dir(), bb_state_dir(), &r, err, sizeof(err)) < 0) {
		p_err("%s", err);
		return EXIT_FAIL;
	}
	if (json_output)
		printf("{\"generation\":%u,\"rules\":%zu,\"buses\":%zu}\n", r.gen, r.n_rules,
		       r.n_buses);
	else
		printf("generation %u: %zu rules on %zu buses\n", r.gen, r.n_rules, r.n_buses);
	return EXIT_OK;
}

static int bus_exists(const char *bus)
{
	struct bpfbus_bus b;
	int fd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUSES);
	int r = fd < 0 ? fd : bb_bus_find(fd, bus, &b);

	if (fd >= 0)
		close(fd);
	if (r < 0)
		p_err("bus '%s' not found (bpfbus bus add %s)", bus, bus);
	return r;
}

static int rule_load(int argc, char **argv)
{
	const char *bus, *file;
	char err[1024];
	size_t len;

	if (!bus_file_args(argc, argv, &bus, &file) || !file) {
		p_err("usage: bpfbus rule load bus NAME file FILE");
		return EXIT_INVALID;
	}
	if (bus_exists(bus) < 0)
		return EXIT_FAIL;
	char *text = read_file(file, &len);

	if (!text)
		return EXIT_FAIL;
	int r = bb_rules_store(bb_state_dir(), bus, text, len, err, sizeof(err));

	free(text);
	if (r < 0) {
		p_err("%s: %s", file, err);
		return EXIT_INVALID;
	}
	return reload_and_report();
}

static int rule_clear(int argc, char **argv)
{
	const char *bus;
	char err[1024];

	if (!bus_file_args(argc, argv, &bus, NULL)) {
		p_err("usage: bpfbus rule clear bus NAME");
		return EXIT_INVALID;
	}
	if (bb_rules_store(bb_state_dir(), bus, NULL, 0, err, sizeof(err)) < 0) {
		p_err("%s", err);
		return EXIT_FAIL;
	}
	return reload_and_report();
}

static int rule_show(int argc, char **argv)
{
	const char *only = NULL;
	struct bpfbus_bus b;

	if (argc == 2 && is_prefix(argv[0], "bus"))
		only = argv[1];
	else if (argc) {
		p_err("usage: bpfbus rule show [bus NAME]");
		return EXIT_INVALID;
	}
	int nfd = bb_map_open_pinned(bb_pin_dir(), "km_rule_names");
	int sfd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_RULE_STATS);
	int bfd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUSES);

	if (nfd < 0 || bfd < 0) {
		p_err("no rules loaded (no pinned maps in %s)", bb_pin_dir());
		return EXIT_FAIL;
	}
	if (only && bb_bus_find(bfd, only, &b) < 0) {
		p_err("bus '%s' not found", only);
		return EXIT_FAIL;
	}
	uint32_t key, next, *prev = NULL;
	struct jw w;

	if (json_output) {
		jw_init(&w, pretty_output);
		jw_open(&w, NULL, '[');
	}
	while (!bpf_map_get_next_key(nfd, prev, &next)) {
		struct bpfbus_rule_name rn;
		struct bpfbus_rule_stats st = {0};

		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(nfd, &key, &rn) || (only && rn.bus != b.id))
			continue;
		if (sfd >= 0)
			bb_rule_stats_read(sfd, key, &st);
		if (json_output) {
			jw_open(&w, NULL, '{');
			jw_u64(&w, "id", key);
			jw_str(&w, "name", rn.name);
			jw_u64(&w, "bus_id", rn.bus);
			jw_u64(&w, "generation", rn.gen);
			jw_u64(&w, "matches", st.matches);
			jw_u64(&w, "bytes", st.bytes);
			jw_close(&w, '}');
		} else {
			printf("%u: %s  bus %u  gen %u  matches %llu  bytes %llu\n", key, rn.name,
			       rn.bus, rn.gen, (unsigned long long)st.matches,
			       (unsigned long long)st.bytes);
		}
	}
	if (json_output) {
		jw_close(&w, ']');
		jw_flush(&w);
		jw_free(&w);
	}
	close(nfd);
	close(bfd);
	if (sfd >= 0)
		close(sfd);
	return EXIT_OK;
}

int do_rule(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{"load", rule_load},
		{"clear", rule_clear},
		{"show", rule_show},
		{"help", rule_help},
		{NULL, NULL},
	};

	return cmd_select(cmds, argc, argv, rule_help);
}

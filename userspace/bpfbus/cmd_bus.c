// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus bus`: the buses and topics the XDP program knows, in the pinned bus
 * map (written directly, no daemon). `bpfbus stats`: the pinned per-CPU
 * counters, summed over CPUs.
 */
#include "args.h"
#include "ctl_client.h"
#include "json.h"
#include "strbuf.h"
#include "datapath.h"
#include "jsonw.h"
#include "main.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define U64 "llu" /* __u64 is unsigned long long */

static int bus_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus bus add NAME [kind { event | topic }]\n"
		"       bpfbus bus delete NAME\n"
		"       bpfbus bus list\n"
		"       bpfbus bus help\n"
		"\n"
		"With bpfbusd running, add and delete go through it (it keeps buses in\n"
		"its object model). Without it they write the pinned bus map (%s/%s):\n"
		"id, kind, name; table generation 0 (no rules); maps are created when\n"
		"missing. list reads the pinned map.\n",
		bb_pin_dir(), BPFBUS_MAP_BUSES);
	return EXIT_OK;
}

/* With bpfbusd running, bus changes go through it (it keeps the object model). */
static int daemon_bus_op(const char *op, const char *name, const char *kind)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	sb_adds(&req, "{\"op\":");
	json_write_string(&req, op, strlen(op));
	ctl_add_str(&req, "name", name, false);
	if (kind)
		ctl_add_str(&req, "kind", kind, false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, NULL);
	sb_free(&req);
	return rc;
}

/* Without the daemon: the pinned bus map itself. */
static int bus_add_local(const char *name, enum bpfbus_bus_kind kind)
{
	uint32_t id;
	int fd, sfd, err;

	fd = bb_map_open_create(bb_pin_dir(), BPFBUS_MAP_BUSES);
	if (fd < 0) {
		p_err("cannot open the bus map under %s: %s", bb_pin_dir(), strerror(-fd));
		return EXIT_FAIL;
	}
	sfd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUS_STATS);
	err = bb_bus_add(fd, sfd, name, kind, &id);
	if (sfd >= 0)
		close(sfd);
	close(fd);
	if (err == -EEXIST) {
		p_err("'%s' exists", name);
		return EXIT_FAIL;
	}
	if (err == -ENOTUNIQ) {
		p_err("'%s' has the same name hash as an existing bus or topic", name);
		return EXIT_FAIL;
	}
	if (err) {
		p_err("cannot add '%s': %s", name, strerror(-err));
		return EXIT_FAIL;
	}
	if (json_output) {
		struct jw w;

		jw_init(&w, pretty_output);
		jw_open(&w, NULL, '{');
		jw_u64(&w, "id", id);
		jw_str(&w, "name", name);
		jw_str(&w, "kind", bb_bus_kind_name(kind));
		jw_close(&w, '}');
		jw_flush(&w);
		jw_free(&w);
	}
	return EXIT_OK;
}

static int bus_add(int argc, char **argv)
{
	enum bpfbus_bus_kind kind = BPFBUS_BUS_EVENT;
	int err, lock, rc;

	if (argc != 1 && argc != 3) {
		p_err("usage: bpfbus bus add NAME [kind { event | topic }]");
		return EXIT_INVALID;
	}
	if (argc == 3) {
		if (!is_prefix(argv[1], "kind")) {
			p_err("bus add: unknown keyword '%s'", argv[1]);
			return EXIT_INVALID;
		}
		if (is_prefix(argv[2], "event") || is_prefix(argv[2], "bus"))
			kind = BPFBUS_BUS_EVENT;
		else if (is_prefix(argv[2], "topic") || !strcmp(argv[2], "sns"))
			kind = BPFBUS_BUS_TOPIC;
		else {
			p_err("kind is event or topic, not '%s'", argv[2]);
			return EXIT_INVALID;
		}
	}
	err = bb_bus_name_ok(argv[0]);
	if (err) {
		p_err("bad name '%s': %s", argv[0], bb_wire_strerror(err));
		return EXIT_INVALID;
	}
	if (ctl_daemon_running())
		return daemon_bus_op("bus.add", argv[0], bb_bus_kind_name(kind));
	if (!ctl_local_begin("bus add", &lock))
		return EXIT_FAIL;
	rc = bus_add_local(argv[0], kind);
	ctl_local_end(lock);
	return rc;
}

/* Without the daemon: the pinned bus map itself. */
static int bus_delete_local(const char *name)
{
	int fd, err;

	fd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUSES);
	if (fd < 0) {
		p_err("no bus map under %s: %s", bb_pin_dir(), strerror(-fd));
		return EXIT_FAIL;
	}
	err = bb_bus_delete(fd, name);
	close(fd);
	if (err) {
		p_err("cannot delete '%s': %s", name,
		      err == -ENOENT ? "no such bus" : strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

static int bus_delete(int argc, char **argv)
{
	int lock, rc;

	if (argc != 1) {
		p_err("usage: bpfbus bus delete NAME");
		return EXIT_INVALID;
	}
	if (ctl_daemon_running())
		return daemon_bus_op("bus.delete", argv[0], NULL);
	if (!ctl_local_begin("bus delete", &lock))
		return EXIT_FAIL;
	rc = bus_delete_local(argv[0]);
	ctl_local_end(lock);
	return rc;
}

static int bus_list(int argc, char **argv)
{
	struct bpfbus_bus *buses;
	int fd, n;

	(void)argv;
	if (argc) {
		p_err("usage: bpfbus bus list");
		return EXIT_INVALID;
	}
	fd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUSES);
	if (fd == -ENOENT) {
		n = 0;
		buses = NULL;
	} else if (fd < 0) {
		p_err("cannot open the bus map under %s: %s", bb_pin_dir(), strerror(-fd));
		return EXIT_FAIL;
	} else {
		n = bb_bus_list(fd, &buses);
		close(fd);
		if (n < 0) {
			p_err("cannot read the bus map: %s", strerror(-n));
			return EXIT_FAIL;
		}
	}
	struct jw w;

	jw_init(&w, pretty_output);
	if (json_output)
		jw_open(&w, NULL, '[');
	for (int i = 0; i < n; i++) {
		const struct bpfbus_bus *b = &buses[i];

		if (json_output) {
			jw_open(&w, NULL, '{');
			jw_u64(&w, "id", b->id);
			jw_strn(&w, "name", (const char *)b->name, b->name_len);
			jw_str(&w, "kind", bb_bus_kind_name(b->kind));
			jw_u64(&w, "generation", b->generation);
			jw_u64(&w, "name_hash", bb_wire_name_hash(b->name, b->name_len));
			jw_bool(&w, "verify_all", b->flags & BPFBUS_BUS_F_VERIFY_ALL);
			jw_bool(&w, "keep_all", b->flags & BPFBUS_BUS_F_KEEP_ALL);
			/* the kernel samples it for schema discovery (docs/kernel.md) */
			jw_bool(&w, "discovery", b->flags & BPFBUS_BUS_F_DISCOVERY);
			jw_close(&w, '}');
		} else {
			printf("%u: %s %.*s  generation %u%s%s\n", b->id, bb_bus_kind_name(b->kind),
			       (int)b->name_len, b->name, b->generation,
			       b->flags & BPFBUS_BUS_F_VERIFY_ALL ? "  verify-all" : "",
			       b->flags & BPFBUS_BUS_F_KEEP_ALL ? "  keep-all" : "");
		}
	}
	if (json_output) {
		jw_close(&w, ']');
		jw_flush(&w);
	}
	jw_free(&w);
	free(buses);
	return EXIT_OK;
}

int do_bus(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "add", bus_add },   { "delete", bus_delete }, { "list", bus_list },
		{ "show", bus_list }, { "help", bus_help },	{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, bus_help);
}

/* ---- stats ------------------------------------------------------------ */

static int stats_help(void)
{
	fprintf(stderr,
		"Usage: bpfbus stats [bus NAME]\n"
		"       bpfbus stats help\n"
		"\n"
		"Per-bus counters read from the pinned per-CPU maps under %s\n"
		"(summed over CPUs; no daemon needed). The line for bus 0, \"-\", counts\n"
		"datagrams to the port that belong to no bus: malformed before the name\n"
		"was checked, unknown buses, fragments, IPv6 extension headers.\n",
		bb_pin_dir());
	return EXIT_OK;
}

static void stats_json(struct jw *w, uint32_t id, const char *name, size_t name_len,
		       const char *kind, const struct bpfbus_bus_stats *s)
{
	jw_open(w, NULL, '{');
	jw_u64(w, "id", id);
	if (name)
		jw_strn(w, "bus", name, name_len);
	else
		jw_raw(w, "bus", "null", 4);
	if (kind)
		jw_str(w, "kind", kind);
	jw_u64(w, "received", s->received);
	jw_u64(w, "bytes", s->bytes);
	jw_u64(w, "dropped", s->dropped);
	jw_u64(w, "redirected", s->redirected);
	jw_u64(w, "matched", s->matched);
	jw_u64(w, "verify", s->verify);
	jw_u64(w, "archived", s->archived);
	jw_u64(w, "sampled", s->sampled);
	jw_u64(w, "ack_unmatched", s->ack_unmatched);
	jw_u64(w, "passed", s->passed);
	jw_open(w, "pass_reasons", '{');
	for (int r = 0; r < BPFBUS_PASS_MAX; r++)
		jw_u64(w, bb_pass_reason_name(r), s->pass_reason[r]);
	jw_close(w, '}');
	uint64_t total = 0;

	jw_open(w, "malformed", '{');
	for (int e = 1; e < BPFBUS_WIRE_ERR_MAX; e++) {
		if (e == BPFBUS_WIRE_ERR_NOSPACE)
			continue;
		jw_u64(w, bb_wire_err_name(e), s->malformed[e]);
		total += s->malformed[e];
	}
	jw_u64(w, "total", total);
	jw_close(w, '}');
	jw_close(w, '}');
}

static void stats_text(uint32_t id, const char *name, size_t name_len, const char *kind,
		       const struct bpfbus_bus_stats *s)
{
	printf("%u: %s %.*s\n", id, kind ? kind : "-", name ? (int)name_len : 1, name ? name : "-");
	printf("\treceived %" U64 " (%" U64 " bytes)  dropped %" U64 "  redirected %" U64
	       " (matched %" U64 ", verify %" U64 ")  passed %" U64 "\n",
	       s->received, s->bytes, s->dropped, s->redirected, s->matched, s->verify, s->passed);
	if (s->archived || s->sampled || s->ack_unmatched) /* of redirected: no rule matched */
		printf("\tkept for archives %" U64 "  sampled for schema discovery %" U64
		       "  unmatched, for an ack %" U64 "\n",
		       s->archived, s->sampled, s->ack_unmatched);
	bool any = false;

	for (int r = 0; r < BPFBUS_PASS_MAX; r++) {
		if (!s->pass_reason[r])
			continue;
		printf("%s%s %" U64, any ? "  " : "\tpassed: ", bb_pass_reason_name(r),
		       s->pass_reason[r]);
		any = true;
	}
	if (any)
		printf("\n");
	any = false;
	for (int e = 1; e < BPFBUS_WIRE_ERR_MAX; e++) {
		if (!s->malformed[e])
			continue;
		printf("%s%s %" U64, any ? "  " : "\tmalformed: ", bb_wire_err_name(e),
		       s->malformed[e]);
		any = true;
	}
	if (any)
		printf("\n");
}

int do_stats(int argc, char **argv)
{
	const char *only = NULL;
	struct bpfbus_bus *buses = NULL;
	struct bpfbus_bus_stats s;
	int bfd, sfd, n, ret = EXIT_OK;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return stats_help();
	if (argc == 2 && is_prefix(argv[0], "bus")) {
		only = argv[1];
	} else if (argc) {
		p_err("usage: bpfbus stats [bus NAME]");
		stats_help();
		return EXIT_INVALID;
	}
	bfd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUSES);
	sfd = bb_map_open_pinned(bb_pin_dir(), BPFBUS_MAP_BUS_STATS);
	if (bfd < 0 || sfd < 0) {
		p_err("no pinned datapath maps under %s (bpfbus link attach or bus add creates "
		      "them)",
		      bb_pin_dir());
		ret = EXIT_FAIL;
		goto out;
	}
	n = bb_bus_list(bfd, &buses);
	if (n < 0) {
		p_err("cannot read the bus map: %s", strerror(-n));
		ret = EXIT_FAIL;
		goto out;
	}
	struct jw w;

	jw_init(&w, pretty_output);
	if (json_output)
		jw_open(&w, NULL, '[');
	if (!only) {
		if (bb_bus_stats_read(sfd, BPFBUS_BUS_NONE, &s) == 0) {
			if (json_output)
				stats_json(&w, 0, NULL, 0, NULL, &s);
			else
				stats_text(0, NULL, 0, NULL, &s);
		}
	}
	bool found = false;

	for (int i = 0; i < n; i++) {
		const struct bpfbus_bus *b = &buses[i];

		if (only && (strlen(only) != b->name_len || memcmp(only, b->name, b->name_len)))
			continue;
		found = true;
		if (bb_bus_stats_read(sfd, b->id, &s))
			continue;
		if (json_output)
			stats_json(&w, b->id, (const char *)b->name, b->name_len,
				   bb_bus_kind_name(b->kind), &s);
		else
			stats_text(b->id, (const char *)b->name, b->name_len,
				   bb_bus_kind_name(b->kind), &s);
	}
	if (json_output) {
		jw_close(&w, ']');
		if (!only || found)
			jw_flush(&w);
	}
	jw_free(&w);
	if (only && !found) {
		p_err("no bus '%s'", only);
		ret = EXIT_FAIL;
	}
out:
	free(buses);
	if (bfd >= 0)
		close(bfd);
	if (sfd >= 0)
		close(sfd);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus capture`: attach the datapath to an interface, receive what it
 * hands to userspace (AF_XDP or ring buffer) and print each event; detach on
 * exit, SIGINT or SIGTERM. The path, visible by hand.
 */
#define _GNU_SOURCE
#include "args.h"
#include "datapath.h"
#include "jsonw.h"
#include "kengine.h"
#include "main.h"
#include "netlink.h"
#include "rx.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int attach_keyword(const char *key, const char *val, bool *generic, struct bb_dp_opts *o);

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int capture_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus capture iface IFACE [handoff { xsk | ringbuf }] [mode { native | "
		"generic }]\n"
		"                      [port PORT] [count N] [timeout SECONDS]\n"
		"       bpfbus capture help\n"
		"\n"
		"Attaches the datapath to IFACE, prints every event it hands to userspace\n"
		"(bus, VERIFY/TRUNCATED flags, rule ids, body) and detaches on exit, after\n"
		"N events, after SECONDS, or on SIGINT/SIGTERM. Exit status 0, or 1 when\n"
		"count was given and fewer events arrived.\n");
	return EXIT_OK;
}

struct cap {
	int buses_fd;
	uint64_t seen, want;
	struct jw w;
	struct bpfbus_bus cache; /* last bus looked up */
	bool have_cache;
};

static void bus_name(struct cap *c, uint32_t id, const char **name, size_t *len)
{
	if (!c->have_cache || c->cache.id != id) {
		c->have_cache = bb_bus_by_id(c->buses_fd, id, &c->cache) == 0;
	}
	if (c->have_cache) {
		*name = (const char *)c->cache.name;
		*len = c->cache.name_len;
	} else {
		*name = "?";
		*len = 1;
	}
}

static int on_event(const struct bb_rx_event *ev, void *ctx)
{
	struct cap *c = ctx;
	const char *name;
	size_t nlen;

	bus_name(c, ev->meta->bus_id, &name, &nlen);
	char why[128] = "";

	c->seen++;
	if (ev->verify)
		kverify_reasons(ev->verify_why, why, sizeof(why));
	if (json_output) {
		struct jw *w = &c->w;

		jw_open(w, NULL, '{');
		jw_strn(w, "bus", name, nlen);
		jw_u64(w, "bus_id", ev->meta->bus_id);
		jw_u64(w, "generation", ev->meta->generation);
		jw_bool(w, "verify", ev->verify);
		if (ev->verify)
			jw_str(w, "verify_why", why);
		jw_bool(w, "truncated", ev->truncated);
		/* no rule matched: kept for an archive, or a schema discovery sample */
		jw_bool(w, "archive", ev->meta->flags & BPFBUS_META_F_ARCHIVE);
		jw_bool(w, "sample", ev->meta->flags & BPFBUS_META_F_SAMPLE);
		jw_u64(w, "n_rules", ev->meta->n_rules);
		jw_open(w, "rules", '[');
		for (uint32_t i = 0; i < ev->n_ids; i++)
			jw_u64(w, NULL, ev->rule_ids[i]);
		jw_close(w, ']');
		jw_u64(w, "queue", ev->queue);
		jw_u64(w, "frame_len", ev->frame_len);
		if (ev->body)
			jw_strn(w, "body", (const char *)ev->body, ev->body_len);
		jw_close(w, '}');
		jw_flush(w);
	} else {
		printf("bus %.*s", (int)nlen, name);
		if (ev->verify)
			printf(" VERIFY(%s)", why);
		if (ev->truncated)
			printf(" TRUNCATED");
		if (ev->meta->flags & BPFBUS_META_F_ARCHIVE)
			printf(" ARCHIVE");
		if (ev->meta->flags & BPFBUS_META_F_SAMPLE)
			printf(" SAMPLE");
		printf(" gen %u rules [", ev->meta->generation);
		for (uint32_t i = 0; i < ev->n_ids; i++)
			printf("%s%u", i ? "," : "", ev->rule_ids[i]);
		printf("%s] body %.*s\n", ev->truncated ? ",..." : "",
		       ev->body ? (int)ev->body_len : 0, ev->body ? (const char *)ev->body : "");
		fflush(stdout);
	}
	return c->want && c->seen >= c->want;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int do_capture(int argc, char **argv)
{
	struct bb_dp_opts o = { .handoff = BPFBUS_HANDOFF_XSK };
	struct cap c = { .buses_fd = -1 };
	const char *ifname = NULL;
	double timeout = 0;
	bool generic = false;
	unsigned long long v;
	struct bb_link link;
	struct bb_dp *dp = NULL;
	struct bb_rx *rx = NULL;
	int err, ret = EXIT_FAIL;

	if (argc >= 1 && !strcmp(argv[0], "help"))
		return capture_help(0, NULL);
	for (int i = 0; i < argc; i += 2) {
		if (i + 1 >= argc) {
			p_err("capture: '%s' needs a value", argv[i]);
			return EXIT_INVALID;
		}
		const char *key = argv[i], *val = argv[i + 1];

		if (is_prefix(key, "iface") || !strcmp(key, "dev")) {
			ifname = val;
		} else if (is_prefix(key, "count")) {
			if (!parse_num(val, 1, UINT64_MAX, &v)) {
				p_err("count must be a positive number, not '%s'", val);
				return EXIT_INVALID;
			}
			c.want = v;
		} else if (is_prefix(key, "timeout")) {
			char *end;

			timeout = strtod(val, &end);
			if (*end || !(timeout > 0)) {
				p_err("timeout must be a positive number of seconds, not '%s'",
				      val);
				return EXIT_INVALID;
			}
		} else {
			err = attach_keyword(key, val, &generic, &o);
			if (err < 0)
				return EXIT_INVALID;
			if (!err) {
				p_err("capture: unknown keyword '%s'", key);
				capture_help(0, NULL);
				return EXIT_INVALID;
			}
		}
	}
	if (!ifname) {
		p_err("capture: which interface? (iface IFACE)");
		return EXIT_INVALID;
	}
	err = bb_link_get(ifname, &link);
	if (err) {
		p_err("no interface '%s'%s%s", ifname, err == -ENODEV ? "" : ": ",
		      err == -ENODEV ? "" : strerror(-err));
		return EXIT_FAIL;
	}
	if (!link.up)
		fprintf(stderr, "bpfbus: note: %s is down\n", link.name);

	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	if (bb_dp_open(&dp, &o))
		goto out;
	if (bb_dp_attach(dp, link.ifindex, generic))
		goto out;
	c.buses_fd = bb_dp_map_fd(dp, BPFBUS_MAP_BUSES);
	if (o.handoff == BPFBUS_HANDOFF_RINGBUF)
		err = bb_rx_open_ringbuf(&rx, bb_dp_map_fd(dp, BPFBUS_MAP_RING));
	else
		err = bb_rx_open_xsk(&rx, link.name, bb_dp_map_fd(dp, BPFBUS_MAP_XSKS),
				     bb_dp_map_fd(dp, BPFBUS_MAP_RING), NULL);
	if (err) {
		p_err("cannot open the %s receiver on %s: %s",
		      o.handoff == BPFBUS_HANDOFF_RINGBUF ? "ring-buffer" : "AF_XDP", link.name,
		      strerror(-err));
		goto out;
	}
	fprintf(stderr, "bpfbus: capturing on %s (%s, %s)%s\n", link.name,
		generic ? "generic" : "native",
		o.handoff == BPFBUS_HANDOFF_RINGBUF ? "ring buffer" : "AF_XDP",
		c.want ? "" : "; ^C to stop");

	jw_init(&c.w, pretty_output);
	double deadline = timeout > 0 ? now_s() + timeout : 0;

	while (!stop && !(c.want && c.seen >= c.want)) {
		int wait_ms = 200;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0)
				break;
			if (left * 1000 < wait_ms)
				wait_ms = (int)(left * 1000) + 1;
		}
		err = bb_rx_poll(rx, wait_ms, on_event, &c);
		if (err < 0 && err != -EINTR) {
			p_err("receive failed: %s", strerror(-err));
			goto out;
		}
	}
	jw_free(&c.w);

	struct bb_rx_stats st;

	bb_rx_stats(rx, &st);
	fprintf(stderr, "bpfbus: %" PRIu64 " events", c.seen);
	if (st.bad_meta || st.rx_dropped || st.rx_ring_full)
		fprintf(stderr,
			" (%" PRIu64 " without metadata, %" PRIu64 " dropped, %" PRIu64
			" ring full)",
			st.bad_meta, st.rx_dropped, st.rx_ring_full);
	fprintf(stderr, "\n");
	ret = c.want && c.seen < c.want ? EXIT_FAIL : EXIT_OK;
out:
	bb_rx_close(rx);
	if (dp && bb_dp_detach(dp))
		ret = EXIT_FAIL;
	bb_dp_close(dp);
	return ret;
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus link`: attach the XDP datapath to interfaces (libxdp), detach it,
 * show what is attached where.
 */
#include "args.h"
#include "datapath.h"
#include "jsonw.h"
#include "main.h"
#include "netlink.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int link_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus link attach IFACE [mode { native | generic }] [handoff { xsk | "
		"ringbuf }]\n"
		"                          [port PORT]\n"
		"       bpfbus link detach IFACE\n"
		"       bpfbus link show [IFACE]\n"
		"       bpfbus link help\n"
		"\n"
		"attach loads the datapath (maps pinned under %s, or --pin-dir /\n"
		"$BPFBUS_PIN_DIR) and attaches it with libxdp, native mode by default. It stays\n"
		"attached after the command exits. The hand-off mode is fixed at load time.\n",
		bb_pin_dir());
	return EXIT_OK;
}

static int lookup(const char *name, struct bb_link *link)
{
	int err = bb_link_get(name, link);

	if (err == -ENODEV)
		p_err("no interface '%s'", name);
	else if (err)
		p_err("cannot look up interface '%s': %s", name, strerror(-err));
	return err;
}

/*
 * One attach keyword of `link attach` and `capture`: mode, handoff, port.
 * Returns 1 when handled, 0 when @key is not one, -1 on a bad value (reported).
 */
int attach_keyword(const char *key, const char *val, bool *generic, struct bb_dp_opts *o)
{
	unsigned long long v;

	if (is_prefix(key, "mode")) {
		if (is_prefix(val, "native"))
			*generic = false;
		else if (is_prefix(val, "generic") || !strcmp(val, "skb"))
			*generic = true;
		else
			goto bad;
	} else if (is_prefix(key, "handoff")) {
		if (is_prefix(val, "xsk") || !strcmp(val, "af_xdp"))
			o->handoff = BPFBUS_HANDOFF_XSK;
		else if (is_prefix(val, "ringbuf"))
			o->handoff = BPFBUS_HANDOFF_RINGBUF;
		else
			goto bad;
	} else if (is_prefix(key, "port")) {
		if (!parse_num(val, 1, 65535, &v))
			goto bad;
		o->port = v;
	} else {
		return 0;
	}
	return 1;
bad:
	p_err("bad value '%s' for '%s' (mode native|generic, handoff xsk|ringbuf, port 1..65535)",
	      val, key);
	return -1;
}

static int do_attach(int argc, char **argv)
{
	struct bb_dp_opts o = { .handoff = BPFBUS_HANDOFF_XSK };
	bool generic = false;
	struct bb_link link;
	struct bb_dp *dp;
	int err;

	if (argc < 1) {
		p_err("link attach: which interface?");
		return EXIT_INVALID;
	}
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			p_err("link attach: '%s' needs a value", argv[i]);
			return EXIT_INVALID;
		}
		err = attach_keyword(argv[i], argv[i + 1], &generic, &o);
		if (err < 0)
			return EXIT_INVALID;
		if (!err) {
			p_err("link attach: unknown keyword '%s'", argv[i]);
			return EXIT_INVALID;
		}
	}
	if (lookup(argv[0], &link))
		return EXIT_FAIL;
	if (bb_dp_open(&dp, &o))
		return EXIT_FAIL;
	err = bb_dp_attach(dp, link.ifindex, generic);
	if (!err)
		bb_dp_keep_attached(dp);
	bb_dp_close(dp);
	if (err)
		return EXIT_FAIL;
	if (json_output) {
		struct jw w;

		jw_init(&w, pretty_output);
		jw_open(&w, NULL, '{');
		jw_str(&w, "ifname", link.name);
		jw_u64(&w, "ifindex", link.ifindex);
		jw_str(&w, "mode", generic ? "generic" : "native");
		jw_str(&w, "handoff", o.handoff == BPFBUS_HANDOFF_RINGBUF ? "ringbuf" : "xsk");
		jw_u64(&w, "port", o.port ? o.port : BPFBUS_DEFAULT_PORT);
		jw_str(&w, "pin_dir", bb_pin_dir());
		jw_close(&w, '}');
		jw_flush(&w);
		jw_free(&w);
	}
	if (!link.up)
		fprintf(stderr, "bpfbus: note: %s is down\n", link.name);
	return EXIT_OK;
}

static int do_detach(int argc, char **argv)
{
	struct bb_link link;
	int err;

	if (argc != 1) {
		p_err("usage: bpfbus link detach IFACE");
		return EXIT_INVALID;
	}
	if (lookup(argv[0], &link))
		return EXIT_FAIL;
	err = bb_xdp_detach_ifindex(link.ifindex);
	if (err == -ENOENT) {
		p_err("%s: the bpfbus XDP program is not attached", link.name);
		return EXIT_FAIL;
	}
	if (err) {
		p_err("%s: detach failed: %s", link.name, strerror(-err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

struct show_ctx {
	struct jw *w;
	const char *only;
	int shown;
	int err;
};

static int show_one(const struct bb_link *link, void *arg)
{
	struct show_ctx *c = arg;
	struct bb_xdp_info xi;
	int err;

	if (c->only && strcmp(c->only, link->name))
		return 0;
	err = bb_xdp_query(link->ifindex, &xi);
	if (err) {
		p_err("%s: cannot query XDP: %s", link->name, strerror(-err));
		c->err = err;
		return 0;
	}
	if (!c->only && !xi.n_progs)
		return 0;
	c->shown++;
	if (c->w) {
		struct jw *w = c->w;

		jw_open(w, NULL, '{');
		jw_u64(w, "ifindex", link->ifindex);
		jw_str(w, "ifname", link->name);
		jw_str(w, "operstate", link->operstate);
		jw_bool(w, "up", link->up);
		jw_u64(w, "rx_queues", link->rx_queues);
		jw_bool(w, "bpfbus", xi.ours);
		if (xi.n_progs) {
			jw_str(w, "mode", xi.mode);
			jw_bool(w, "dispatcher", xi.dispatcher);
		}
		jw_open(w, "progs", '[');
		for (int i = 0; i < xi.n_progs; i++) {
			jw_open(w, NULL, '{');
			jw_u64(w, "id", xi.ids[i]);
			jw_str(w, "name", xi.names[i]);
			jw_close(w, '}');
		}
		jw_close(w, ']');
		jw_close(w, '}');
		return 0;
	}
	printf("%d: %s: state %s%s rx_queues %u", link->ifindex, link->name, link->operstate,
	       link->up ? "" : " (admin down)", link->rx_queues);
	if (!xi.n_progs) {
		printf("  xdp none\n");
		return 0;
	}
	printf("  xdp %s %s\n", xi.mode, xi.dispatcher ? "dispatcher" : "single");
	for (int i = 0; i < xi.n_progs; i++)
		printf("\tprog id %u name %s%s\n", xi.ids[i], xi.names[i],
		       strcmp(xi.names[i], BPFBUS_PROG_NAME) ? "" : "  (bpfbus)");
	return 0;
}

static int do_show(int argc, char **argv)
{
	struct show_ctx c = { .only = argc > 0 ? argv[0] : NULL };
	struct jw w;
	struct bb_link link;
	int err;

	if (argc > 1) {
		p_err("usage: bpfbus link show [IFACE]");
		return EXIT_INVALID;
	}
	if (c.only && lookup(c.only, &link))
		return EXIT_FAIL;
	if (json_output) {
		jw_init(&w, pretty_output);
		jw_open(&w, NULL, '[');
		c.w = &w;
	}
	err = bb_link_foreach(show_one, &c);
	if (json_output) {
		jw_close(&w, ']');
		jw_flush(&w);
		jw_free(&w);
	}
	if (err) {
		p_err("cannot list interfaces: %s", strerror(-err));
		return EXIT_FAIL;
	}
	return c.err ? EXIT_FAIL : EXIT_OK;
}

int do_link(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "attach", do_attach }, { "detach", do_detach }, { "show", do_show },
		{ "list", do_show },	 { "help", link_help },	  { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, link_help);
}

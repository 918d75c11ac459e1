// SPDX-License-Identifier: BSD-2-Clause
/* `bpfbus daemon`: bpfbusd's own state (status, counters) and reload. */
#include "ctl_client.h"
#include "json.h"
#include "main.h"
#include "strbuf.h"

#include <stdio.h>

static int daemon_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "Usage: bpfbus daemon status\n"
			"       bpfbus daemon reload\n"
			"       bpfbus daemon help\n"
			"\n"
			"status prints bpfbusd's intake and delivery counters; reload makes it\n"
			"read its object model from the state directory again (as SIGHUP).\n");
	return EXIT_OK;
}

static void print_status(const struct json_value *r)
{
	for (size_t i = 0; i < r->u.obj.n; i++) {
		const struct json_member *m = &r->u.obj.members[i];
		struct strbuf sb = STRBUF_INIT;

		if (m->value->type == JSON_STRING)
			sb_add(&sb, m->value->u.str.s, m->value->u.str.len);
		else
			json_write(&sb, m->value);
		printf("%.*s: %s\n", (int)m->key_len, m->key, sb.buf);
		sb_free(&sb);
	}
}

static int simple_op(int argc, const char *op, ctl_print_fn print)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc) {
		p_err("usage: bpfbus daemon %s", op);
		return EXIT_INVALID;
	}
	sb_printf(&req, "{\"op\":\"%s\"}", op);
	rc = ctl_call(&req, print);
	sb_free(&req);
	return rc;
}

static int daemon_status(int argc, char **argv)
{
	(void)argv;
	return simple_op(argc, "status", print_status);
}

static int daemon_reload(int argc, char **argv)
{
	(void)argv;
	return simple_op(argc, "reload", NULL);
}

int do_daemon(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "status", daemon_status },
		{ "reload", daemon_reload },
		{ "help", daemon_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, daemon_help);
}

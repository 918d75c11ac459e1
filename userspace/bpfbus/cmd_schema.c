// SPDX-License-Identifier: BSD-2-Clause
/* `bpfbus schema`: the schemas bpfbusd discovered (docs/eventbridge.md, "Schema discovery"). */
#include "args.h"
#include "ctl_client.h"
#include "eb_common.h"
#include "json.h"
#include "main.h"
#include "strbuf.h"

#include <stdio.h>
#include <string.h>

static int schema_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "Usage: bpfbus schema list [source SOURCE]\n"
			"       bpfbus schema show SOURCE DETAIL-TYPE [version N]\n"
			"       bpfbus schema discovery [BUS { start | stop }]\n"
			"       bpfbus schema help\n"
			"\n"
			"bpfbusd infers an OpenAPI 3 schema per event source and detail-type from\n"
			"the events it takes in and keeps a new version each time the shape\n"
			"changes. show prints the latest version, or version N. Each event bus\n"
			"has a discoverer, started unless stopped: discovery starts or stops\n"
			"BUS's, and lists them all.\n");
	return EXIT_OK;
}

static void print_time(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);
	char t[EB_TIME_LEN] = "-";

	if (v && v->type == JSON_NUMBER && v->u.num.d > 0)
		eb_time_format((int64_t)v->u.num.d / 1000, t);
	printf("%s", t);
}

static void print_list(const struct json_value *list)
{
	for (size_t i = 0; i < list->u.arr.n; i++) {
		const struct json_value *s = list->u.arr.items[i];

		printf("%s  %s  version %s (%s kept)  created ", json_get(s, "source")->u.str.s,
		       json_get(s, "detail_type")->u.str.s, json_get(s, "version")->u.num.raw,
		       json_get(s, "versions")->u.num.raw);
		print_time(s, "created_ms");
		printf("  last seen ");
		print_time(s, "last_seen_ms");
		printf("\n");
	}
}

static void print_schema(const struct json_value *s)
{
	printf("%s  %s  version %s  created ", json_get(s, "source")->u.str.s,
	       json_get(s, "detail_type")->u.str.s, json_get(s, "version")->u.num.raw);
	print_time(s, "created_ms");
	printf("\n");
	pretty_output = true;
	ctl_print_json(json_get(s, "content"));
}

static int schema_list(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc && !(argc == 2 && is_prefix(argv[0], "source"))) {
		p_err("usage: bpfbus schema list [source SOURCE]");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":\"schema.list\"");
	if (argc)
		ctl_add_str(&req, "source", argv[1], false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, print_list);
	sb_free(&req);
	return rc;
}

static int schema_show(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT;
	unsigned long long version = 0;
	int rc;

	if (!(argc == 2 || (argc == 4 && is_prefix(argv[2], "version") &&
			    parse_num(argv[3], 1, 1ULL << 40, &version)))) {
		p_err("usage: bpfbus schema show SOURCE DETAIL-TYPE [version N]");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":\"schema.describe\"");
	ctl_add_str(&req, "source", argv[0], false);
	ctl_add_str(&req, "detail_type", argv[1], false);
	if (version)
		sb_printf(&req, ",\"version\":%llu", version);
	sb_addc(&req, '}');
	rc = ctl_call(&req, print_schema);
	sb_free(&req);
	return rc;
}

static void print_discoverers(const struct json_value *list)
{
	for (size_t i = 0; i < list->u.arr.n; i++)
		printf("%s  %s\n", json_get(list->u.arr.items[i], "bus")->u.str.s,
		       json_get(list->u.arr.items[i], "state")->u.str.s);
}

static int schema_discovery(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc && !(argc == 2 && (!strcmp(argv[1], "start") || !strcmp(argv[1], "stop")))) {
		p_err("usage: bpfbus schema discovery [BUS { start | stop }]");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":\"schema.discovery\"");
	if (argc) {
		ctl_add_str(&req, "bus", argv[0], false);
		ctl_add_str(&req, "state", strcmp(argv[1], "stop") ? "STARTED" : "STOPPED", false);
	}
	sb_addc(&req, '}');
	rc = ctl_call(&req, print_discoverers);
	sb_free(&req);
	return rc;
}

int do_schema(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "list", schema_list }, { "show", schema_show }, { "discovery", schema_discovery },
		{ "help", schema_help }, { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, schema_help);
}

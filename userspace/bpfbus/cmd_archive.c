// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus archive` and `bpfbus replay`: EventBridge archives and replays in
 * bpfbusd (docs/archives.md), through the control ops archive.* and replay.*.
 */
#include "args.h"
#include "ctl_client.h"
#include "eb_common.h"
#include "json.h"
#include "main.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int archive_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus archive create NAME [bus BUS] [pattern { file FILE | JSON }]\n"
		"                             [retention DAYS] [description TEXT]\n"
		"       bpfbus archive update NAME [pattern { file FILE | JSON | none }]\n"
		"                             [retention DAYS] [description TEXT]\n"
		"       bpfbus archive { delete | show } NAME\n"
		"       bpfbus archive list [bus BUS] [prefix PREFIX]\n"
		"       bpfbus archive help\n"
		"\n"
		"An archive keeps every event of its bus (default 'default') that its\n"
		"pattern matches (every event without one) for DAYS days (0, the default:\n"
		"forever). Replay it with 'bpfbus replay start'. Needs bpfbusd.\n");
	return EXIT_OK;
}

static int replay_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus replay start NAME archive ARCHIVE from TIME to TIME\n"
		"                           [destination BUS] [rule RULE]... [description TEXT]\n"
		"       bpfbus replay { cancel | show } NAME\n"
		"       bpfbus replay list [archive ARCHIVE] [state STATE] [prefix PREFIX]\n"
		"       bpfbus replay help\n"
		"\n"
		"start sends the archived events whose time is in [from, to) back to the\n"
		"archive's bus (the only destination allowed), to every rule or only the\n"
		"RULEs named (names on that bus, or rule ARNs). TIME is RFC 3339\n"
		"(2026-01-02T03:04:05Z) or seconds since the epoch. Needs bpfbusd.\n");
	return EXIT_OK;
}

/* RFC 3339, or seconds since the epoch (fractions to the millisecond). */
static bool parse_time(const char *s, long long *ms)
{
	int64_t v;
	char *end;
	double secs;

	if (!eb_time_parse(s, strlen(s), &v)) {
		*ms = v;
		return true;
	}
	secs = strtod(s, &end);
	if (end == s || *end || secs < 0 || secs > 1e13)
		return false;
	*ms = (long long)(secs * 1000 + 0.5);
	return true;
}

static const char *str_of(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

static long long num_of(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);

	return v && v->type == JSON_NUMBER ? (long long)v->u.num.d : 0;
}

static void print_time(const char *label, long long ms)
{
	char t[EB_TIME_LEN];

	if (!ms)
		return;
	eb_time_format(ms / 1000, t);
	printf("  %s %s", label, t);
}

static void print_archive(const struct json_value *a)
{
	const char *p = str_of(a, "pattern"), *desc = str_of(a, "description");

	printf("%s  bus %s  %s  events %lld  bytes %lld  retention %lld days", str_of(a, "name"),
	       str_of(a, "bus"), str_of(a, "state"), num_of(a, "event_count"),
	       num_of(a, "size_bytes"), num_of(a, "retention_days"));
	print_time("created", num_of(a, "created_ms"));
	printf("\n\tpattern %s\n", p ? p : "(every event)");
	if (desc)
		printf("\tdescription %s\n", desc);
}

static void print_archives(const struct json_value *list)
{
	for (size_t i = 0; i < list->u.arr.n; i++)
		print_archive(list->u.arr.items[i]);
}

static void print_replay(const struct json_value *r)
{
	const struct json_value *rules = json_get(r, "rules");
	const char *reason = str_of(r, "reason");

	printf("%s  archive %s  %s  delivered %lld", str_of(r, "name"), str_of(r, "archive"),
	       str_of(r, "state"), num_of(r, "delivered"));
	print_time("last", num_of(r, "last_replayed_ms"));
	printf("\n\tevents");
	print_time("from", num_of(r, "start_ms"));
	print_time("to", num_of(r, "end_ms"));
	printf("\n\treplay");
	print_time("started", num_of(r, "replay_start_ms"));
	print_time("ended", num_of(r, "replay_end_ms"));
	printf("\n\tdestination %s\n", str_of(r, "destination"));
	for (size_t i = 0; rules && i < rules->u.arr.n; i++)
		printf("\trule %s\n", rules->u.arr.items[i]->u.str.s);
	if (reason)
		printf("\treason %s\n", reason);
}

static void print_replays(const struct json_value *list)
{
	for (size_t i = 0; i < list->u.arr.n; i++)
		print_replay(list->u.arr.items[i]);
}

/* {"op": OP, "name": NAME} */
static int name_op(int argc, char **argv, const char *op, ctl_print_fn print)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc != 1) {
		p_err("usage: bpfbus %.*s %s NAME", (int)(strchr(op, '.') - op), op,
		      strchr(op, '.') + 1);
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":");
	json_write_string(&req, op, strlen(op));
	ctl_add_str(&req, "name", argv[0], false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, print);
	sb_free(&req);
	return rc;
}

/*
 * Keyword arguments "KEY VALUE..." into the request: each of @keys is
 * "keyword=field" (a string), "keyword=field#" (a number) or
 * "keyword=field@" (a time, as milliseconds). "pattern" reads a file after
 * "file"; "rule" (repeatable) adds to the array "rules".
 */
static int keyword_args(int argc, char **argv, const char *const *keys, struct strbuf *req,
			const char *cmd)
{
	struct strbuf rules = STRBUF_INIT;
	int rc = EXIT_INVALID;

	for (int i = 0; i < argc; i += 2) {
		const char *k = argv[i], *field = NULL;
		size_t flen = 0;
		char type = 0;

		for (const char *const *kk = keys; *kk; kk++) {
			const char *eq = strchr(*kk, '=');
			char word[32];

			snprintf(word, sizeof(word), "%.*s", (int)(eq - *kk), *kk);
			if (is_prefix(k, word)) {
				field = eq + 1;
				flen = strcspn(field, "#@");
				type = field[flen];
				break;
			}
		}
		if (!field) {
			p_err("%s: unknown keyword '%s'", cmd, k);
			goto out;
		}
		if (i + 1 >= argc) {
			p_err("%s: '%s' needs a value", cmd, k);
			goto out;
		}
		const char *v = argv[i + 1];
		unsigned long long n;
		long long ms;

		if (type == '#') {
			if (!parse_num(v, 0, 2147483647, &n)) {
				p_err("%s: %s is a whole number, not '%s'", cmd, k, v);
				goto out;
			}
			sb_printf(req, ",\"%.*s\":%llu", (int)flen, field, n);
		} else if (type == '@') {
			if (!parse_time(v, &ms)) {
				p_err("%s: %s is RFC 3339 or seconds since the epoch, not '%s'",
				      cmd, k, v);
				goto out;
			}
			sb_printf(req, ",\"%.*s\":%lld", (int)flen, field, ms);
		} else if (!strcmp(field, "rules")) {
			sb_addc(&rules, rules.len ? ',' : '[');
			json_write_string(&rules, v, strlen(v));
		} else if (!strcmp(field, "pattern") && is_prefix(v, "file") && i + 2 < argc) {
			size_t len;
			char *text = read_file(argv[i + 2], &len);

			if (!text) {
				rc = EXIT_FAIL;
				goto out;
			}
			sb_adds(req, ",\"pattern\":");
			json_write_string(req, text, len);
			free(text);
			i++;
		} else {
			if (!strcmp(field, "pattern") && !strcmp(v, "none"))
				v = "";
			sb_printf(req, ",\"%s\":", field);
			json_write_string(req, v, strlen(v));
		}
	}
	if (rules.len) {
		sb_adds(req, ",\"rules\":");
		sb_add(req, rules.buf, rules.len);
		sb_addc(req, ']');
	}
	rc = EXIT_OK;
out:
	sb_free(&rules);
	return rc;
}

static int object_call(int argc, char **argv, const char *op, const char *const *keys, bool named,
		       ctl_print_fn print)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (named && argc < 1) {
		p_err("usage: bpfbus %s NAME ... (bpfbus %.*s help)", op,
		      (int)(strchr(op, '.') - op), op);
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":");
	json_write_string(&req, op, strlen(op));
	if (named)
		ctl_add_str(&req, "name", argv[0], false);
	rc = keyword_args(argc - named, argv + named, keys, &req, op);
	if (rc == EXIT_OK) {
		sb_addc(&req, '}');
		rc = ctl_call(&req, print);
	}
	sb_free(&req);
	return rc;
}

static int archive_create(int argc, char **argv)
{
	static const char *const keys[] = { "bus=bus", "pattern=pattern",
					    "retention=retention_days#", "description=description",
					    NULL };

	return object_call(argc, argv, "archive.create", keys, true, print_archive);
}

static int archive_update(int argc, char **argv)
{
	static const char *const keys[] = { "pattern=pattern", "retention=retention_days#",
					    "description=description", NULL };

	return object_call(argc, argv, "archive.update", keys, true, print_archive);
}

static int archive_delete(int argc, char **argv)
{
	return name_op(argc, argv, "archive.delete", NULL);
}

static int archive_show(int argc, char **argv)
{
	return name_op(argc, argv, "archive.describe", print_archive);
}

static int archive_list(int argc, char **argv)
{
	static const char *const keys[] = { "bus=bus", "prefix=prefix", NULL };

	return object_call(argc, argv, "archive.list", keys, false, print_archives);
}

int do_archive(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "create", archive_create },
		{ "update", archive_update },
		{ "delete", archive_delete },
		{ "list", archive_list },
		{ "show", archive_show },
		{ "help", archive_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, archive_help);
}

static int replay_start(int argc, char **argv)
{
	static const char *const keys[] = { "archive=archive", "from=start_ms@",
					    "to=end_ms@",      "destination=destination",
					    "rule=rules",      NULL };

	return object_call(argc, argv, "replay.start", keys, true, print_replay);
}

static int replay_cancel(int argc, char **argv)
{
	return name_op(argc, argv, "replay.cancel", print_replay);
}

static int replay_show(int argc, char **argv)
{
	return name_op(argc, argv, "replay.describe", print_replay);
}

static int replay_list(int argc, char **argv)
{
	static const char *const keys[] = { "archive=archive", "state=state", "prefix=prefix",
					    NULL };

	return object_call(argc, argv, "replay.list", keys, false, print_replays);
}

int do_replay(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "start", replay_start }, { "cancel", replay_cancel }, { "list", replay_list },
		{ "show", replay_show },   { "help", replay_help },	{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, replay_help);
}

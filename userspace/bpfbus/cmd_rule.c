// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus rule`: rules of the object model (model.h). add, delete, enable,
 * disable, describe and list ask bpfbusd; load and clear go through bpfbusd
 * when it runs, else edit the model file and compile it into the pinned
 * kernel tables themselves (rules_dp.c). `rule show` reads the pinned maps.
 */
#include "args.h"
#include "ctl_client.h"
#include "json.h"
#include "model.h"
#include "strbuf.h"
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
		"Usage: bpfbus rule add NAME [bus BUS] pattern { file FILE | JSON }\n"
		"                       [state { enabled | disabled }]\n"
		"                       [description TEXT] [schedule EXPR]\n"
		"                       [target KIND ADDRESS [id ID] [dlq QUEUE] [input JSON]\n"
		"                               [input-path PATH] [input-transformer FILE]\n"
		"                               [retry-attempts N] [max-event-age SECONDS]\n"
		"                               [message-group-id GROUP]]...\n"
		"       bpfbus rule { delete | enable | disable | describe } NAME [bus BUS]\n"
		"       bpfbus rule list [bus BUS]\n"
		"       bpfbus rule load bus BUS file FILE\n"
		"       bpfbus rule clear bus BUS\n"
		"       bpfbus rule show [bus BUS]\n"
		"       bpfbus rule help\n"
		"\n"
		"add, delete, enable, disable, describe and list ask bpfbusd (BUS defaults to\n"
		"'default'; a rule has at most 5 targets). KIND ADDRESS is queue QUEUE,\n"
		"topic TOPIC, bus BUS, http URL or udp HOST:PORT; a target's id defaults\n"
		"to its address (KIND-N when that is no valid id). load replaces a bus's rules "
		"with\n"
		"a rule file ({\"rule-name\": pattern, ...}) and clear removes them: through\n"
		"bpfbusd when it runs, else in the object model in $BPFBUS_STATE_DIR\n"
		"(default %s) and the pinned tables in %s directly. show lists the\n"
		"rules in the kernel with their counters, without the daemon.\n",
		bb_state_dir(), bb_pin_dir());
	return EXIT_OK;
}

/* Parse "bus NAME [file FILE]". */
static bool bus_file_args(int argc, char **argv, const char **bus, const char **file)
{
	*bus = NULL;
	if (file)
		*file = NULL;
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

static void print_reload(const struct json_value *r)
{
	const struct json_value *g = json_get(r, "generation"), *n = json_get(r, "rules");

	if (g && n && g->type == JSON_NUMBER && n->type == JSON_NUMBER)
		printf("generation %s: %s rules\n", g->u.num.raw, n->u.num.raw);
}

/* Without the daemon: the model file, then the pinned tables. */
static int load_local(const char *bus, const char *text, size_t len, const char *file)
{
	struct bb_model m;
	struct bb_reload r;
	char err[1200];
	int rc = EXIT_FAIL;

	if (bb_model_load(bb_state_dir(), &m, err, sizeof(err))) {
		p_err("%s", err);
		return EXIT_FAIL;
	}
	struct bb_mbus *b = bb_model_bus(&m, bus);

	if (!b)
		b = bb_model_add_bus(&m, bus, BPFBUS_BUS_EVENT);
	if (bb_model_set_rulefile(b, text, len, err, sizeof(err))) {
		p_err("%s: %s", file, err);
		rc = EXIT_INVALID;
	} else if (bb_rules_reload(bb_pin_dir(), &m, &r, NULL, err, sizeof(err)) ||
		   bb_model_save(bb_state_dir(), &m, err, sizeof(err))) {
		p_err("%s", err);
	} else {
		if (json_output)
			printf("{\"generation\":%u,\"rules\":%zu,\"buses\":%zu}\n", r.gen,
			       r.n_rules, r.n_buses);
		else
			printf("generation %u: %zu rules on %zu buses\n", r.gen, r.n_rules,
			       r.n_buses);
		rc = EXIT_OK;
	}
	bb_model_free(&m);
	return rc;
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

static int load_or_clear(const char *bus, const char *text, size_t len, const char *file)
{
	if (ctl_daemon_running()) {
		struct strbuf req = STRBUF_INIT;
		int rc;

		sb_adds(&req, "{\"op\":");
		sb_adds(&req, text ? "\"rule.load\"" : "\"rule.clear\"");
		ctl_add_str(&req, "bus", bus, false);
		if (text) {
			sb_adds(&req, ",\"text\":");
			json_write_string(&req, text, len);
		}
		sb_addc(&req, '}');
		rc = ctl_call(&req, print_reload);
		sb_free(&req);
		return rc;
	}
	int lock, rc = EXIT_FAIL;

	if (!ctl_local_begin(text ? "rule load" : "rule clear", &lock))
		return EXIT_FAIL;
	if (bus_exists(bus) >= 0)
		rc = load_local(bus, text ? text : "{}", text ? len : 2, file);
	ctl_local_end(lock);
	return rc;
}

static int rule_load(int argc, char **argv)
{
	const char *bus, *file;
	size_t len;

	if (!bus_file_args(argc, argv, &bus, &file) || !file) {
		p_err("usage: bpfbus rule load bus NAME file FILE");
		return EXIT_INVALID;
	}
	char *text = read_file(file, &len);

	if (!text)
		return EXIT_FAIL;
	int rc = load_or_clear(bus, text, len, file);

	free(text);
	return rc;
}

static int rule_clear(int argc, char **argv)
{
	const char *bus;

	if (!bus_file_args(argc, argv, &bus, NULL)) {
		p_err("usage: bpfbus rule clear bus NAME");
		return EXIT_INVALID;
	}
	return load_or_clear(bus, NULL, 0, NULL);
}

/* The value of member @key as text, or NULL. */
static const char *str_of(const struct json_value *o, const char *key)
{
	const struct json_value *v = json_get(o, key);

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

/* printf(@fmt, value) when string member @key is there. */
static void print_opt(const struct json_value *o, const char *key, const char *fmt)
	__attribute__((format(printf, 3, 0)));
static void print_opt(const struct json_value *o, const char *key, const char *fmt)
{
	const char *v = str_of(o, key);

	if (v)
		printf(fmt, v);
}

static void print_target(const struct json_value *t)
{
	static const char *const kinds[] = { "queue", "topic", "bus", "http", "udp" };
	const struct json_value *tr = json_get(t, "input_transformer");

	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (str_of(t, kinds[k]))
			printf("\ttarget %s: %s %s", str_of(t, "id"), kinds[k],
			       str_of(t, kinds[k]));
	print_opt(t, "dlq", " dlq %s");
	print_opt(t, "input", " input %s");
	print_opt(t, "input_path", " input-path %s");
	print_opt(t, "message_group_id", " message-group-id %s");
	if (tr) {
		struct strbuf sb = STRBUF_INIT;

		json_write(&sb, tr);
		printf(" input-transformer %s", sb.buf);
		sb_free(&sb);
	}
	for (const char *const *n =
		     (const char *const[]){ "retry_attempts", "max_event_age", NULL };
	     *n; n++) {
		const struct json_value *v = json_get(t, *n);

		if (v && v->type == JSON_NUMBER)
			printf(" %s %s", *n, v->u.num.raw);
	}
	putchar('\n');
}

static void print_rule(const struct json_value *r)
{
	const struct json_value *t = json_get(r, "targets");

	printf("%s/%s  %s\n", str_of(r, "bus"), str_of(r, "name"), str_of(r, "state"));
	print_opt(r, "pattern", "\tpattern %s\n");
	print_opt(r, "schedule", "\tschedule %s\n");
	print_opt(r, "description", "\tdescription %s\n");
	for (size_t i = 0; t && i < t->u.arr.n; i++)
		print_target(t->u.arr.items[i]);
}

static void print_rules(const struct json_value *list)
{
	for (size_t i = 0; i < list->u.arr.n; i++)
		print_rule(list->u.arr.items[i]);
}

/*
 * "target KIND ADDRESS [option VALUE]..." at argv[*i] into a target object
 * of @req (the @n-th); *i is left on its last word. EXIT_OK or the error's status.
 */
static int target_arg(int argc, char **argv, int *i, struct strbuf *req, int n)
{
	static const char *const kinds[] = { "queue", "topic", "bus", "http", "udp" };
	static const char *const opts[][2] = {
		{ "id", "id" },
		{ "dlq", "dlq" },
		{ "input", "input" },
		{ "input-path", "input_path" },
		{ "input-transformer", NULL }, /* FILE: an object */
		{ "retry-attempts", "retry_attempts" },
		{ "max-event-age", "max_event_age" },
		{ "message-group-id", "message_group_id" },
	};
	const char *kind = NULL, *addr, *id;
	size_t k;

	for (k = 0; *i + 2 < argc && k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (!strcmp(argv[*i + 1], kinds[k]))
			kind = kinds[k];
	if (!kind) {
		p_err("a target is 'target { queue | topic | bus | http | udp } ADDRESS "
		      "[id ID] ...'");
		return EXIT_INVALID;
	}
	addr = id = argv[*i + 2];
	*i += 2;
	sb_adds(req, n ? ",{" : "{");
	ctl_add_str(req, kind, addr, true);
	for (bool more = true; more && *i + 2 < argc;) {
		more = false;
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			const char *v = argv[*i + 2];

			if (strcmp(argv[*i + 1], opts[k][0]))
				continue;
			more = true;
			*i += 2;
			if (!strcmp(opts[k][0], "id")) {
				id = v;
			} else if (!opts[k][1]) {
				size_t len;
				char *text = read_file(v, &len);

				if (!text)
					return EXIT_FAIL;
				struct json_doc *doc = json_parse(text, len, true);

				free(text);
				if (json_doc_error(doc) ||
				    json_doc_root(doc)->type != JSON_OBJECT) {
					p_err("%s: %s", v,
					      json_doc_error(doc) ? json_doc_error(doc)
								  : "an input transformer is a "
								    "JSON object");
					json_doc_free(doc);
					return EXIT_INVALID;
				}
				sb_adds(req, ",\"input_transformer\":");
				json_write(req, json_doc_root(doc));
				json_doc_free(doc);
			} else if (!strcmp(opts[k][1], "retry_attempts") ||
				   !strcmp(opts[k][1], "max_event_age")) {
				if (strspn(v, "0123456789") != strlen(v) || !*v || strlen(v) > 9) {
					p_err("%s is a whole number, not '%s'", opts[k][0], v);
					return EXIT_INVALID;
				}
				sb_printf(req, ",\"%s\":%s", opts[k][1], v);
			} else {
				ctl_add_str(req, opts[k][1], v, false);
			}
			break;
		}
	}
	char made[32], msg[200];

	/* an address that is no valid id (a URL, HOST:PORT) gives "http-1", ... */
	if (id == addr && bb_model_check_name("target", addr, msg, sizeof(msg))) {
		snprintf(made, sizeof(made), "%s-%d", kind, n + 1);
		id = made;
	}
	ctl_add_str(req, "id", id, false);
	sb_addc(req, '}');
	return EXIT_OK;
}

static int rule_add(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT, opts = STRBUF_INIT;
	const char *bus = NULL, *state = NULL;
	char *pattern = NULL;
	int n_targets = 0, rc = EXIT_INVALID;
	size_t len;

	if (argc < 1) {
		p_err("usage: bpfbus rule add NAME [bus BUS] pattern { file FILE | JSON } ...");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":\"rule.put\"");
	ctl_add_str(&req, "name", argv[0], false);
	sb_adds(&req, ",\"targets\":[");
	for (int i = 1; i < argc; i++) {
		const char *k = argv[i];

		if (i + 1 >= argc) {
			p_err("rule add: '%s' needs a value", k);
			goto out;
		}
		if (is_prefix(k, "bus")) {
			bus = argv[++i];
		} else if (is_prefix(k, "state")) {
			const char *v = argv[++i];

			state = is_prefix(v, "enabled")	   ? "ENABLED"
				: is_prefix(v, "disabled") ? "DISABLED"
							   : NULL;
			if (!state) {
				p_err("state is enabled or disabled, not '%s'", v);
				goto out;
			}
		} else if (is_prefix(k, "pattern")) {
			free(pattern);
			if (is_prefix(argv[i + 1], "file") && i + 2 < argc) {
				pattern = read_file(argv[i + 2], &len);
				if (!pattern) {
					rc = EXIT_FAIL;
					goto out;
				}
				i += 2;
			} else {
				pattern = xstrndup(argv[i + 1], strlen(argv[i + 1]));
				i++;
			}
		} else if (is_prefix(k, "description") || is_prefix(k, "schedule")) {
			ctl_add_str(&opts, is_prefix(k, "description") ? "description" : "schedule",
				    argv[++i], false);
		} else if (is_prefix(k, "target")) {
			int r = target_arg(argc, argv, &i, &req, n_targets++);

			if (r != EXIT_OK) {
				rc = r;
				goto out;
			}
		} else {
			p_err("rule add: unknown keyword '%s'", k);
			goto out;
		}
	}
	sb_addc(&req, ']');
	if (pattern) {
		sb_adds(&req, ",\"pattern\":");
		json_write_string(&req, pattern, strlen(pattern));
	} else if (!opts.len) {
		p_err("rule add: which pattern? (pattern file FILE | pattern JSON)");
		goto out;
	}
	if (opts.len)
		sb_add(&req, opts.buf, opts.len);
	if (bus)
		ctl_add_str(&req, "bus", bus, false);
	if (state)
		ctl_add_str(&req, "state", state, false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, NULL);
out:
	free(pattern);
	sb_free(&req);
	sb_free(&opts);
	return rc;
}

/* "NAME [bus BUS]" -> {"op": OP, "name": NAME, "bus": BUS} */
static int name_bus_op(int argc, char **argv, const char *op, ctl_print_fn print)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc != 1 && !(argc == 3 && is_prefix(argv[1], "bus"))) {
		p_err("usage: bpfbus rule %s NAME [bus BUS]", op + 5);
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":");
	json_write_string(&req, op, strlen(op));
	ctl_add_str(&req, "name", argv[0], false);
	if (argc == 3)
		ctl_add_str(&req, "bus", argv[2], false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, print);
	sb_free(&req);
	return rc;
}

static int rule_delete(int argc, char **argv)
{
	return name_bus_op(argc, argv, "rule.delete", NULL);
}

static int rule_enable(int argc, char **argv)
{
	return name_bus_op(argc, argv, "rule.enable", NULL);
}

static int rule_disable(int argc, char **argv)
{
	return name_bus_op(argc, argv, "rule.disable", NULL);
}

static int rule_describe(int argc, char **argv)
{
	return name_bus_op(argc, argv, "rule.describe", print_rule);
}

static int rule_list(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc && !(argc == 2 && is_prefix(argv[0], "bus"))) {
		p_err("usage: bpfbus rule list [bus BUS]");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{\"op\":\"rule.list\"");
	if (argc)
		ctl_add_str(&req, "bus", argv[1], false);
	sb_addc(&req, '}');
	rc = ctl_call(&req, print_rules);
	sb_free(&req);
	return rc;
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
		struct bpfbus_rule_stats st = { 0 };

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
		{ "add", rule_add },
		{ "delete", rule_delete },
		{ "enable", rule_enable },
		{ "disable", rule_disable },
		{ "describe", rule_describe },
		{ "list", rule_list },
		{ "load", rule_load },
		{ "clear", rule_clear },
		{ "show", rule_show },
		{ "help", rule_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, rule_help);
}

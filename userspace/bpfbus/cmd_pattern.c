// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus pattern` and `bpfbus filter-policy`: the reference matcher on the
 * command line, one case at a time or as a JSON-lines batch, with
 * EventBridge's TestEventPattern and SNS's error behaviour.
 */
#include "bpfbus/datapath.h"
#include "json.h"
#include "kdatapath.h"
#include "kengine.h"
#include "main.h"
#include "rulefile.h"
#include "ruleset.h"
#include "strbuf.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The envelope fields TestEventPattern requires of an event. */
static const char *const envelope[] = {"id",   "account", "source",
				       "time", "region",  "detail-type"};

#define EVENT_INVALID "Parameter Event is not valid."

enum result { R_ERROR = -1, R_NO = 0, R_MATCH = 1 };

enum engine { ENGINE_USER, ENGINE_KERNEL, ENGINE_BOTH };

/*
 * The engine in use and what it did: the kernel's own verdict for the last
 * case (before any userspace help), and totals over a batch.
 */
static struct {
	enum engine engine;
	struct kengine *k;
	bool datapath; /* filter policies: SNS datagrams through the XDP datapath */
	struct kdp *kdp;
	int kv; /* enum kverdict of the last case, -1 when the kernel did not run */
	uint32_t verify_why; /* its VERIFY reason bits */
	bool disagree;
	enum result user;
	size_t cases, decided, verify, pass, disagreements;
} eng = {.kv = -1};

/*
 * Tally the kernel's answer @kr against the userspace one. The kernel's
 * answer stands when it decided (match or drop); VERIFY and PASS are
 * answered by the userspace result @user, as the daemon will.
 */
static enum result judge_kernel(const struct kresult *kr, enum result user)
{
	eng.kv = (int)kr->verdict;
	eng.verify_why = kr->verify;
	eng.cases++;
	if (kr->verdict == KV_VERIFY) {
		eng.verify++;
		return user;
	}
	if (kr->verdict == KV_PASS) {
		eng.pass++;
		return user;
	}
	eng.decided++;
	enum result k = kr->verdict == KV_MATCH ? R_MATCH : R_NO;

	if (k != user) {
		eng.disagree = true;
		eng.disagreements++;
	}
	return eng.engine == ENGINE_BOTH ? user : k;
}

static bool kernel_wanted(enum result user)
{
	eng.kv = -1;
	eng.disagree = false;
	eng.user = user;
	return eng.engine != ENGINE_USER && user != R_ERROR;
}

/* With the kernel engine, run the compiled ruleset over @event in the kernel too. */
static enum result with_kernel(const struct bb_ruleset *rs, const char *event, size_t len,
			       enum result user, struct bb_error *err)
{
	struct kresult kr;
	char msg[256];

	if (!kernel_wanted(user))
		return user;
	if (kengine_load(eng.k, rs, msg, sizeof(msg)) < 0 ||
	    kengine_match(eng.k, event, len, &kr) < 0) {
		snprintf(err->msg, sizeof(err->msg), "kernel engine: %s", msg);
		return R_ERROR;
	}
	return judge_kernel(&kr, user);
}

/*
 * With the kernel engine, publish the SNS message (@attrs, possibly none,
 * and @message) to a topic holding @rs's policy, as a real datagram through
 * the XDP datapath.
 */
static enum result with_datapath(const struct bb_ruleset *rs, const char *attrs, size_t attrs_len,
				 const char *message, size_t message_len, enum result user,
				 struct bb_error *err)
{
	struct kresult kr;
	char msg[256];
	int e;

	if (!kernel_wanted(user))
		return user;
	if (kdp_load(eng.kdp, rs, msg, sizeof(msg)) < 0) {
		snprintf(err->msg, sizeof(err->msg), "kernel engine: %s", msg);
		return R_ERROR;
	}
	e = kdp_send(eng.kdp, attrs, attrs_len, message, message_len, &kr);
	if (e < 0) {
		snprintf(err->msg, sizeof(err->msg), "kernel engine: %s",
			 e == -E2BIG ? "the datagram is larger than a BPF_PROG_TEST_RUN frame"
				     : strerror(-e));
		return R_ERROR;
	}
	return judge_kernel(&kr, user);
}

struct eval_case {
	const char *name; /* "pattern" or "filter-policy" */
	/* pattern test */
	const char *pattern, *event;
	size_t pattern_len, event_len;
	/* filter-policy test */
	const char *policy, *attrs, *message;
	size_t policy_len, attrs_len, message_len;
	enum bb_scope scope;
	enum bb_policy_api api;
};

static bool event_is_valid(const char *ev, size_t len)
{
	struct json_doc *doc = json_parse(ev, len, true);
	const struct json_value *root = json_doc_root(doc);
	bool ok = root && root->type == JSON_OBJECT;

	for (size_t i = 0; ok && i < sizeof(envelope) / sizeof(*envelope); i++)
		ok = json_get(root, envelope[i]) != NULL;
	json_doc_free(doc);
	return ok;
}

static enum result eval_pattern(const struct eval_case *c, struct bb_error *err)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	enum result r = R_ERROR;

	if (bb_ruleset_add_pattern(rs, "pattern", c->pattern, c->pattern_len,
				   err) < 0)
		goto out;
	if (!event_is_valid(c->event, c->event_len)) {
		snprintf(err->msg, sizeof(err->msg), EVENT_INVALID);
		goto out;
	}
	bb_ruleset_compile(rs);
	struct bb_match_ctx *ctx = bb_match_ctx_new(rs);
	const uint32_t *ids;
	int n = bb_match_event(ctx, c->event, c->event_len, &ids, err);

	bb_match_ctx_free(ctx);
	if (n < 0)
		snprintf(err->msg, sizeof(err->msg), EVENT_INVALID);
	else
		r = with_kernel(rs, c->event, c->event_len, n > 0 ? R_MATCH : R_NO, err);
out:
	bb_ruleset_free(rs);
	return r;
}

/* SNS requires a Message: the one sent when a case gives none. */
#define PLACEHOLDER_MESSAGE "{}"

static enum result eval_policy(const struct eval_case *c, struct bb_error *err)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	enum result r = R_ERROR;

	if (bb_ruleset_add_policy(rs, "policy", c->policy, c->policy_len,
				  c->scope, c->api, err) < 0)
		goto out;
	bb_ruleset_compile(rs);
	r = R_NO;
	struct bb_match_ctx *ctx = bb_match_ctx_new(rs);
	const uint32_t *ids;
	int n = 0;
	/* nothing published (a policy alone) is no match, in both engines */
	bool published = (c->scope == BB_SCOPE_MESSAGE_BODY && c->message) ||
			 (c->scope == BB_SCOPE_MESSAGE_ATTRIBUTES && c->attrs);

	if (c->scope == BB_SCOPE_MESSAGE_BODY && c->message) {
		/* an SNS message body is filtered only when it is a JSON object */
		if (json_is_object(c->message, c->message_len))
			n = bb_match_event(ctx, c->message, c->message_len,
					   &ids, NULL);
	} else if (c->scope == BB_SCOPE_MESSAGE_ATTRIBUTES && c->attrs) {
		n = bb_match_attributes(ctx, c->attrs, c->attrs_len, &ids, err);
		if (n < 0)
			r = R_ERROR;
	}
	if (n > 0)
		r = R_MATCH;
	if (r != R_ERROR && published)
		r = with_datapath(rs, c->attrs, c->attrs ? c->attrs_len : 0,
				  c->message ? c->message : PLACEHOLDER_MESSAGE,
				  c->message ? c->message_len : strlen(PLACEHOLDER_MESSAGE), r,
				  err);
	bb_match_ctx_free(ctx);
out:
	bb_ruleset_free(rs);
	return r;
}

static bool parse_scope(const char *s, enum bb_scope *out)
{
	if (!strcmp(s, "MessageAttributes"))
		*out = BB_SCOPE_MESSAGE_ATTRIBUTES;
	else if (!strcmp(s, "MessageBody"))
		*out = BB_SCOPE_MESSAGE_BODY;
	else
		return false;
	return true;
}

static bool parse_api(const char *s, enum bb_policy_api *out)
{
	if (!strcmp(s, "Subscribe"))
		*out = BB_API_SUBSCRIBE;
	else if (!strcmp(s, "SetSubscriptionAttributes"))
		*out = BB_API_SET_SUBSCRIPTION_ATTRIBUTES;
	else
		return false;
	return true;
}

/* ---- batch ------------------------------------------------------------- */

/*
 * A document field given either as JSON (object/array, re-serialised with
 * number spellings kept) or as a string holding the text. The text lives in
 * @sb or in the parsed document.
 */
static bool doc_text(const struct json_value *v, struct strbuf *sb,
		     const char **text, size_t *len)
{
	if (!v)
		return false;
	if (v->type == JSON_STRING) {
		*text = v->u.str.s;
		*len = v->u.str.len;
		return true;
	}
	sb_reset(sb);
	json_write(sb, v);
	*text = sb->buf;
	*len = sb->len;
	return true;
}

/* "kernel": the XDP program's own verdict; with both engines, the userspace
 * answer and whether the two disagree. */
static void add_kernel_fields(struct strbuf *out)
{
	if (eng.kv < 0)
		return;
	sb_printf(out, ", \"kernel\": \"%s\"", kverdict_name((enum kverdict)eng.kv));
	if (eng.kv == KV_VERIFY) {
		char why[256];

		kverify_reasons(eng.verify_why, why, sizeof(why));
		sb_printf(out, ", \"verify\": \"%s\"", why);
	}
	if (eng.engine == ENGINE_BOTH)
		sb_printf(out, ", \"user\": %s", eng.user == R_MATCH ? "true" : "false");
	if (eng.disagree)
		sb_adds(out, ", \"disagree\": true");
}

static void print_result(const struct json_value *id, enum result r,
			 const struct bb_error *err)
{
	struct strbuf out = STRBUF_INIT;

	sb_adds(&out, "{\"id\": ");
	if (id)
		json_write(&out, id);
	else
		sb_adds(&out, "null");
	if (r == R_ERROR) {
		sb_adds(&out, ", \"error\": ");
		json_write_string(&out, err->msg, strlen(err->msg));
		if (err->path[0]) {
			/* not part of AWS's message: where the problem is */
			sb_adds(&out, ", \"path\": ");
			json_write_string(&out, err->path, strlen(err->path));
		}
	} else {
		sb_adds(&out, r == R_MATCH ? ", \"match\": true"
					   : ", \"match\": false");
		add_kernel_fields(&out);
	}
	sb_addc(&out, '}');
	puts(out.buf);
	sb_free(&out);
}

static enum result batch_pattern_line(const struct json_value *line,
				      struct eval_case *c, struct strbuf *a,
				      struct strbuf *b, struct bb_error *err)
{
	if (!doc_text(json_get(line, "pattern"), a, &c->pattern,
		      &c->pattern_len)) {
		snprintf(err->msg, sizeof(err->msg),
			 "line has no \"pattern\" (an object or a string)");
		return R_ERROR;
	}
	if (!doc_text(json_get(line, "event"), b, &c->event, &c->event_len)) {
		snprintf(err->msg, sizeof(err->msg),
			 "line has no \"event\" (an object or a string)");
		return R_ERROR;
	}
	return eval_pattern(c, err);
}

static enum result batch_policy_line(const struct json_value *line,
				     struct eval_case *c, struct strbuf *a,
				     struct strbuf *b, struct bb_error *err)
{
	const struct json_value *scope = json_get(line, "scope");
	const struct json_value *api = json_get(line, "api");
	const struct json_value *msg = json_get(line, "message");

	c->scope = BB_SCOPE_MESSAGE_ATTRIBUTES;
	c->api = BB_API_SET_SUBSCRIPTION_ATTRIBUTES;
	c->attrs = c->message = NULL;
	if (!doc_text(json_get(line, "policy"), a, &c->policy,
		      &c->policy_len)) {
		snprintf(err->msg, sizeof(err->msg),
			 "line has no \"policy\" (an object or a string)");
		return R_ERROR;
	}
	if (scope && (scope->type != JSON_STRING ||
		      !parse_scope(scope->u.str.s, &c->scope))) {
		snprintf(err->msg, sizeof(err->msg),
			 "\"scope\" must be \"MessageAttributes\" or "
			 "\"MessageBody\"");
		return R_ERROR;
	}
	if (api && (api->type != JSON_STRING ||
		    !parse_api(api->u.str.s, &c->api))) {
		snprintf(err->msg, sizeof(err->msg),
			 "\"api\" must be \"Subscribe\" or "
			 "\"SetSubscriptionAttributes\"");
		return R_ERROR;
	}
	doc_text(json_get(line, "attributes"), b, &c->attrs, &c->attrs_len);
	if (msg && msg->type == JSON_STRING) {
		c->message = msg->u.str.s;
		c->message_len = msg->u.str.len;
	} else if (msg) {
		doc_text(msg, b, &c->message, &c->message_len);
	}
	return eval_policy(c, err);
}

/* After a batch with the kernel engine: how much the kernel decided alone. */
static int report_engine(void)
{
	if (eng.engine == ENGINE_USER)
		return EXIT_OK;
	fprintf(stderr,
		"kernel engine: %zu cases run, %zu decided in the kernel (%.1f%%), %zu verify, "
		"%zu pass, %zu disagreements with the userspace matcher\n",
		eng.cases, eng.decided, eng.cases ? 100.0 * (double)eng.decided / (double)eng.cases : 0.0,
		eng.verify, eng.pass, eng.disagreements);
	return eng.disagreements ? EXIT_FAIL : EXIT_OK;
}

typedef enum result (*batch_line_fn)(const struct json_value *line,
				     struct eval_case *c, struct strbuf *a,
				     struct strbuf *b, struct bb_error *err);

static int run_batch(const char *path, batch_line_fn fn)
{
	size_t len;
	char *text = read_file(path, &len);

	if (!text)
		return EXIT_FAIL;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char *p = text, *end = text + len;

	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (strspn(p, " \t\r") < n) {
			struct json_doc *doc = json_parse(p, n, true);
			const struct json_value *line = json_doc_root(doc);
			struct eval_case c = {0};
			struct bb_error err = {"", ""};
			enum result r;

			eng.kv = -1;
			eng.disagree = false;
			if (!line || line->type != JSON_OBJECT) {
				snprintf(err.msg, sizeof(err.msg),
					 "malformed batch line: %s",
					 line ? "not a JSON object"
					      : json_doc_error(doc));
				r = R_ERROR;
			} else {
				r = fn(line, &c, &a, &b, &err);
			}
			print_result(line ? json_get(line, "id") : NULL, r,
				     &err);
			json_doc_free(doc);
		}
		p += n + 1;
	}
	fflush(stdout);
	sb_free(&a);
	sb_free(&b);
	free(text);
	return report_engine();
}

/* ---- single cases ------------------------------------------------------ */

static int report_single(enum result r, const struct bb_error *err)
{
	if (r == R_ERROR) {
		if (json_output) {
			struct strbuf sb = STRBUF_INIT;

			sb_adds(&sb, "{\"error\":");
			json_write_string(&sb, err->msg, strlen(err->msg));
			if (err->path[0]) {
				sb_adds(&sb, ",\"path\":");
				json_write_string(&sb, err->path,
						  strlen(err->path));
			}
			sb_addc(&sb, '}');
			puts(sb.buf);
			sb_free(&sb);
		} else {
			fprintf(stderr, "%s\n", err->msg);
			if (err->path[0])
				fprintf(stderr, "  at field: %s\n", err->path);
		}
		return EXIT_INVALID;
	}
	if (json_output) {
		struct strbuf sb = STRBUF_INIT;

		sb_printf(&sb, "{\"match\": %s", r == R_MATCH ? "true" : "false");
		add_kernel_fields(&sb);
		sb_addc(&sb, '}');
		puts(sb.buf);
		sb_free(&sb);
	} else {
		printf("%s\n", r == R_MATCH ? "true" : "false");
		if (eng.kv >= 0)
			fprintf(stderr, "kernel: %s%s\n", kverdict_name((enum kverdict)eng.kv),
				eng.disagree ? " (disagrees with the userspace matcher)" : "");
	}
	return eng.disagree ? EXIT_FAIL : EXIT_OK;
}

static bool check_engine(const char *engine)
{
	char msg[256];

	if (!strcmp(engine, "user")) {
		eng.engine = ENGINE_USER;
		return true;
	}
	if (!strcmp(engine, "kernel"))
		eng.engine = ENGINE_KERNEL;
	else if (!strcmp(engine, "both"))
		eng.engine = ENGINE_BOTH;
	else {
		p_err("unknown engine '%s' (engines: user, kernel, both)", engine);
		return false;
	}
	/* filter policies run through the XDP datapath as SNS datagrams to a
	 * topic; patterns through the matcher program */
	if (eng.datapath)
		eng.kdp = kdp_open(BPFBUS_BUS_TOPIC, "filter-policy-test", 1, msg, sizeof(msg));
	else
		eng.k = kengine_open(msg, sizeof(msg));
	if (!eng.k && !eng.kdp) {
		p_err("%s", msg);
		return false;
	}
	return true;
}

enum { OPT_PATTERN = 1, OPT_EVENT, OPT_BATCH, OPT_ENGINE, OPT_POLICY,
       OPT_SCOPE, OPT_ATTRS, OPT_MESSAGE, OPT_API };

static const struct option case_opts[] = {
	{"pattern", required_argument, NULL, OPT_PATTERN},
	{"event", required_argument, NULL, OPT_EVENT},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"engine", required_argument, NULL, OPT_ENGINE},
	{"policy", required_argument, NULL, OPT_POLICY},
	{"scope", required_argument, NULL, OPT_SCOPE},
	{"attributes", required_argument, NULL, OPT_ATTRS},
	{"message", required_argument, NULL, OPT_MESSAGE},
	{"api", required_argument, NULL, OPT_API},
	{NULL, 0, NULL, 0},
};

struct case_args {
	const char *pattern, *event, *batch, *engine, *policy, *scope,
		*attrs, *message, *api;
};

static bool parse_case_args(int argc, char **argv, struct case_args *a)
{
	int c;

	memset(a, 0, sizeof(*a));
	a->engine = "user";
	optind = 0; /* reset getopt for the subcommand's argv */
	while ((c = getopt_long(argc + 1, argv - 1, "", case_opts, NULL)) != -1) {
		switch (c) {
		case OPT_PATTERN: a->pattern = optarg; break;
		case OPT_EVENT: a->event = optarg; break;
		case OPT_BATCH: a->batch = optarg; break;
		case OPT_ENGINE: a->engine = optarg; break;
		case OPT_POLICY: a->policy = optarg; break;
		case OPT_SCOPE: a->scope = optarg; break;
		case OPT_ATTRS: a->attrs = optarg; break;
		case OPT_MESSAGE: a->message = optarg; break;
		case OPT_API: a->api = optarg; break;
		default: return false;
		}
	}
	if (optind < argc + 1) {
		p_err("unexpected argument '%s'", argv[optind - 1]);
		return false;
	}
	return check_engine(a->engine);
}

static int pattern_test(int argc, char **argv)
{
	struct case_args a;

	if (!parse_case_args(argc, argv, &a))
		return EXIT_INVALID;
	if (a.batch)
		return run_batch(a.batch, batch_pattern_line);
	if (!a.pattern || !a.event) {
		p_err("pattern test needs --pattern P --event E, or --batch FILE");
		return EXIT_INVALID;
	}
	struct eval_case c = {.pattern = a.pattern,
			      .pattern_len = strlen(a.pattern),
			      .event = a.event,
			      .event_len = strlen(a.event)};
	struct bb_error err = {"", ""};

	return report_single(eval_pattern(&c, &err), &err);
}

static int policy_test(int argc, char **argv)
{
	struct case_args a;

	eng.datapath = true;
	if (!parse_case_args(argc, argv, &a))
		return EXIT_INVALID;
	if (a.batch)
		return run_batch(a.batch, batch_policy_line);
	struct eval_case c = {.scope = BB_SCOPE_MESSAGE_ATTRIBUTES,
			      .api = BB_API_SET_SUBSCRIPTION_ATTRIBUTES};

	if (!a.policy) {
		p_err("filter-policy test needs --policy P, or --batch FILE");
		return EXIT_INVALID;
	}
	if (a.scope && !parse_scope(a.scope, &c.scope)) {
		p_err("--scope must be MessageAttributes or MessageBody");
		return EXIT_INVALID;
	}
	if (a.api && !parse_api(a.api, &c.api)) {
		p_err("--api must be Subscribe or SetSubscriptionAttributes");
		return EXIT_INVALID;
	}
	c.policy = a.policy;
	c.policy_len = strlen(a.policy);
	if (a.attrs) {
		c.attrs = a.attrs;
		c.attrs_len = strlen(a.attrs);
	}
	if (a.message) {
		c.message = a.message;
		c.message_len = strlen(a.message);
	}
	struct bb_error err = {"", ""};

	return report_single(eval_policy(&c, &err), &err);
}

/* ---- pattern match: many rules against many events ---------------------- */

static int pattern_match(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[0], "rules") || strcmp(argv[2], "events")) {
		p_err("usage: bpfbus pattern match rules FILE events FILE");
		return EXIT_INVALID;
	}
	size_t rlen, elen;
	char *rules = read_file(argv[1], &rlen);
	char *events = rules ? read_file(argv[3], &elen) : NULL;
	int ret = EXIT_INVALID;

	if (!events) {
		free(rules);
		return EXIT_FAIL;
	}
	struct rulefile rf;
	struct bb_ruleset *rs = bb_ruleset_new();
	struct strbuf sb = STRBUF_INIT;
	char msg[512];

	if (rulefile_parse(rules, rlen, &rf, msg, sizeof(msg)) < 0) {
		p_err("%s: %s", argv[1], msg);
		goto out;
	}
	for (size_t i = 0; i < rf.n; i++) {
		struct bb_error err;

		if (bb_ruleset_add_pattern(rs, rf.rules[i].name,
					   rf.rules[i].pattern,
					   rf.rules[i].pattern_len, &err) < 0) {
			p_err("%s: rule '%s': %s", argv[1], rf.rules[i].name,
			      err.msg);
			goto out;
		}
	}
	bb_ruleset_compile(rs);
	struct bb_match_ctx *ctx = bb_match_ctx_new(rs);
	char *p = events, *end = events + elen;

	for (size_t lineno = 1; p < end; lineno++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const uint32_t *ids;
		struct bb_error err;

		if (strspn(p, " \t\r") >= n) {
			p += n + 1;
			continue;
		}
		int k = bb_match_event(ctx, p, n, &ids, &err);

		sb_reset(&sb);
		if (json_output) {
			sb_printf(&sb, "{\"line\":%zu,", lineno);
			if (k < 0) {
				sb_adds(&sb, "\"error\":");
				json_write_string(&sb, err.msg, strlen(err.msg));
			} else {
				sb_adds(&sb, "\"rules\":[");
				for (int i = 0; i < k; i++) {
					const char *name =
						bb_ruleset_rule_name(rs, ids[i]);
					if (i)
						sb_addc(&sb, ',');
					json_write_string(&sb, name, strlen(name));
				}
				sb_addc(&sb, ']');
			}
			sb_addc(&sb, '}');
		} else if (k < 0) {
			sb_printf(&sb, "event %zu: error: %s", lineno, err.msg);
		} else {
			sb_printf(&sb, "event %zu:", lineno);
			for (int i = 0; i < k; i++)
				sb_printf(&sb, " %s", bb_ruleset_rule_name(rs, ids[i]));
			if (k == 0)
				sb_adds(&sb, " (no rule matches)");
		}
		puts(sb.buf);
		p += n + 1;
	}
	bb_match_ctx_free(ctx);
	ret = EXIT_OK;
out:
	sb_free(&sb);
	bb_ruleset_free(rs);
	rulefile_free(&rf);
	free(rules);
	free(events);
	return ret;
}

static int pattern_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus pattern test --pattern P --event E [--engine user]\n"
		"       bpfbus pattern test --batch FILE [--engine user]\n"
		"       bpfbus pattern match rules FILE events FILE\n"
		"       bpfbus pattern help\n"
		"\n"
		"FILE may be '-' for stdin. Batch lines: "
		"{\"id\": ..., \"pattern\": P, \"event\": E}\n");
	return EXIT_OK;
}

static int policy_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus filter-policy test --policy P\n"
		"                [--scope MessageAttributes|MessageBody]\n"
		"                [--attributes A | --message M]\n"
		"                [--api Subscribe|SetSubscriptionAttributes]\n"
		"       bpfbus filter-policy test --batch FILE\n"
		"       bpfbus filter-policy help\n");
	return EXIT_OK;
}

int do_pattern(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{"test", pattern_test},
		{"match", pattern_match},
		{"help", pattern_help},
		{NULL, NULL},
	};

	int r = cmd_select(cmds, argc, argv, pattern_help);

	kengine_close(eng.k);
	eng.k = NULL;
	return r;
}

int do_filter_policy(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{"test", policy_test},
		{"help", policy_help},
		{NULL, NULL},
	};

	int r = cmd_select(cmds, argc, argv, policy_help);

	kdp_close(eng.kdp);
	eng.kdp = NULL;
	return r;
}

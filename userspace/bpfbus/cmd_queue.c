// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus queue`: SQS queues through bpfbusd. Each command becomes one SQS
 * action in the AWS JSON 1.0 request shape, sent as {"op": "sqs", ...} and
 * run by the daemon's SQS dispatcher (the one SQS layer); -j prints SQS's
 * JSON 1.0 response.
 */
#include "args.h"
#include "ctl_client.h"
#include "json.h"
#include "main.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int queue_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus queue create NAME [attr NAME=VALUE]... [tag KEY=VALUE]...\n"
		"       bpfbus queue { delete | purge | url | tags } NAME\n"
		"       bpfbus queue list [prefix PREFIX]\n"
		"       bpfbus queue attributes NAME [name ATTRIBUTE]...\n"
		"       bpfbus queue set-attributes NAME attr NAME=VALUE...\n"
		"       bpfbus queue send NAME body BODY [attr NAME=TYPE:VALUE]... [delay "
		"SECONDS]\n"
		"                         [group ID] [dedup ID]\n"
		"       bpfbus queue receive NAME [max N] [wait SECONDS] [visibility SECONDS]\n"
		"                            [attempt ID]\n"
		"       bpfbus queue delete-message NAME HANDLE\n"
		"       bpfbus queue change-visibility NAME HANDLE SECONDS\n"
		"       bpfbus queue tag NAME KEY=VALUE...\n"
		"       bpfbus queue untag NAME KEY...\n"
		"       bpfbus queue stats NAME\n"
		"       bpfbus queue call ACTION JSON\n"
		"       bpfbus queue help\n"
		"\n"
		"Every command is one SQS action run by bpfbusd on its queue store; 'call'\n"
		"sends any action with a JSON 1.0 request of your own (SendMessageBatch,\n"
		"StartMessageMoveTask, ...). -j prints SQS's JSON response.\n");
	return EXIT_OK;
}

/* A request being built: {"op":"sqs","action":A,"request":{...}} */
struct rq {
	struct strbuf sb;
	bool first;
};

static void rq_begin(struct rq *r, const char *action)
{
	memset(r, 0, sizeof(*r));
	sb_adds(&r->sb, "{\"op\":\"sqs\",\"action\":");
	json_write_string(&r->sb, action, strlen(action));
	sb_adds(&r->sb, ",\"request\":{");
	r->first = true;
}

static void rq_key(struct rq *r, const char *key)
{
	if (!r->first)
		sb_addc(&r->sb, ',');
	r->first = false;
	json_write_string(&r->sb, key, strlen(key));
	sb_addc(&r->sb, ':');
}

static void rq_str(struct rq *r, const char *key, const char *val)
{
	rq_key(r, key);
	json_write_string(&r->sb, val, strlen(val));
}

/* @raw is JSON text (a number, an object built below). */
static void rq_raw(struct rq *r, const char *key, const char *raw)
{
	rq_key(r, key);
	sb_adds(&r->sb, raw);
}

static int rq_send(struct rq *r, ctl_print_fn print)
{
	sb_adds(&r->sb, "}}");
	int rc = ctl_call(&r->sb, print);

	sb_free(&r->sb);
	return rc;
}

/* Append "K":"V" of "K=V" to an object being built in @obj; false without '='. */
static bool add_kv(struct strbuf *obj, const char *kv)
{
	const char *eq = strchr(kv, '=');

	if (!eq || eq == kv) {
		p_err("'%s' is not NAME=VALUE", kv);
		return false;
	}
	sb_addc(obj, obj->len > 1 ? ',' : ' ');
	json_write_string(obj, kv, (size_t)(eq - kv));
	sb_addc(obj, ':');
	json_write_string(obj, eq + 1, strlen(eq + 1));
	return true;
}

/* "NAME=TYPE:VALUE" -> "NAME":{"DataType":TYPE,"StringValue"|"BinaryValue":VALUE} */
static bool add_msg_attr(struct strbuf *obj, const char *spec)
{
	const char *eq = strchr(spec, '='), *colon = eq ? strchr(eq, ':') : NULL;

	if (!eq || !colon || eq == spec || colon == eq + 1) {
		p_err("a message attribute is NAME=TYPE:VALUE (String, Number, Binary), not '%s'",
		      spec);
		return false;
	}
	sb_addc(obj, obj->len > 1 ? ',' : ' ');
	json_write_string(obj, spec, (size_t)(eq - spec));
	sb_adds(obj, ":{\"DataType\":");
	json_write_string(obj, eq + 1, (size_t)(colon - eq - 1));
	sb_adds(obj, strncmp(eq + 1, "Binary", 6) ? ",\"StringValue\":" : ",\"BinaryValue\":");
	json_write_string(obj, colon + 1, strlen(colon + 1));
	sb_addc(obj, '}');
	return true;
}

/* A decimal argument for an SQS integer parameter, as JSON. */
static bool num_arg(const char *what, const char *s, unsigned long long max, char *buf, size_t len)
{
	unsigned long long v;

	if (!parse_num(s, 0, max, &v)) {
		p_err("%s must be a number from 0 to %llu, not '%s'", what, max, s);
		return false;
	}
	snprintf(buf, len, "%llu", v);
	return true;
}

/* ---- printers --------------------------------------------------------------- */

static const char *str_of(const struct json_value *o, const char *key)
{
	const struct json_value *v = o ? json_get(o, key) : NULL;

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

static void print_url(const struct json_value *r)
{
	const char *u = str_of(r, "QueueUrl");

	if (u)
		printf("%s\n", u);
}

static void print_urls(const struct json_value *r)
{
	const struct json_value *l = json_get(r, "QueueUrls");

	for (size_t i = 0; l && l->type == JSON_ARRAY && i < l->u.arr.n; i++)
		if (l->u.arr.items[i]->type == JSON_STRING)
			printf("%s\n", l->u.arr.items[i]->u.str.s);
}

/* Every string member of object @key as "\tname value" lines. */
static void print_map(const struct json_value *r, const char *key, const char *indent)
{
	const struct json_value *m = json_get(r, key);

	for (size_t i = 0; m && m->type == JSON_OBJECT && i < m->u.obj.n; i++) {
		const struct json_member *e = &m->u.obj.members[i];
		struct strbuf sb = STRBUF_INIT;

		if (e->value->type == JSON_STRING)
			sb_add(&sb, e->value->u.str.s, e->value->u.str.len);
		else
			json_write(&sb, e->value);
		printf("%s%.*s %s\n", indent, (int)e->key_len, e->key, sb.buf);
		sb_free(&sb);
	}
}

static void print_attributes(const struct json_value *r)
{
	print_map(r, "Attributes", "");
}

static void print_tags(const struct json_value *r)
{
	print_map(r, "Tags", "");
}

static void print_sent(const struct json_value *r)
{
	const char *id = str_of(r, "MessageId"), *seq = str_of(r, "SequenceNumber");

	if (id)
		printf("%s%s%s\n", id, seq ? " sequence " : "", seq ? seq : "");
}

static void print_messages(const struct json_value *r)
{
	const struct json_value *l = json_get(r, "Messages");

	for (size_t i = 0; l && l->type == JSON_ARRAY && i < l->u.arr.n; i++) {
		const struct json_value *m = l->u.arr.items[i];

		printf("message %s\n\treceipt-handle %s\n\tbody %s\n", str_of(m, "MessageId"),
		       str_of(m, "ReceiptHandle"), str_of(m, "Body"));
		print_map(m, "Attributes", "\t");
		const struct json_value *ma = json_get(m, "MessageAttributes");

		for (size_t j = 0; ma && ma->type == JSON_OBJECT && j < ma->u.obj.n; j++) {
			const struct json_value *a = ma->u.obj.members[j].value;
			const char *v = str_of(a, "StringValue");

			printf("\tattr %.*s=%s:%s\n", (int)ma->u.obj.members[j].key_len,
			       ma->u.obj.members[j].key, str_of(a, "DataType"),
			       v ? v : str_of(a, "BinaryValue"));
		}
	}
}

/* ---- commands ---------------------------------------------------------------- */

static int need(int argc, int n, const char *usage)
{
	if (argc < n) {
		p_err("usage: bpfbus queue %s", usage);
		return -1;
	}
	return 0;
}

static int q_create(int argc, char **argv)
{
	struct strbuf attrs = STRBUF_INIT, tags = STRBUF_INIT;
	struct rq r;
	int rc = EXIT_INVALID;

	if (need(argc, 1, "create NAME [attr NAME=VALUE]... [tag KEY=VALUE]..."))
		return EXIT_INVALID;
	sb_addc(&attrs, '{');
	sb_addc(&tags, '{');
	rq_begin(&r, "CreateQueue");
	rq_str(&r, "QueueName", argv[0]);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			p_err("'%s' needs a value", argv[i]);
			goto out;
		}
		if (is_prefix(argv[i], "attr") || is_prefix(argv[i], "attribute")) {
			if (!add_kv(&attrs, argv[i + 1]))
				goto out;
		} else if (is_prefix(argv[i], "tag")) {
			if (!add_kv(&tags, argv[i + 1]))
				goto out;
		} else {
			p_err("queue create: unknown keyword '%s'", argv[i]);
			goto out;
		}
	}
	sb_addc(&attrs, '}');
	sb_addc(&tags, '}');
	if (attrs.len > 2)
		rq_raw(&r, "Attributes", attrs.buf);
	if (tags.len > 2)
		rq_raw(&r, "tags", tags.buf);
	rc = rq_send(&r, print_url);
out:
	if (rc == EXIT_INVALID)
		sb_free(&r.sb);
	sb_free(&attrs);
	sb_free(&tags);
	return rc;
}

/* Commands that take only the queue: {"QueueUrl": NAME}. */
static int queue_only(int argc, char **argv, const char *action, ctl_print_fn print)
{
	struct rq r;

	if (argc != 1) {
		p_err("usage: bpfbus queue COMMAND NAME (%s)", action);
		return EXIT_INVALID;
	}
	rq_begin(&r, action);
	rq_str(&r, !strcmp(action, "GetQueueUrl") ? "QueueName" : "QueueUrl", argv[0]);
	return rq_send(&r, print);
}

static int q_delete(int argc, char **argv)
{
	return queue_only(argc, argv, "DeleteQueue", NULL);
}

static int q_purge(int argc, char **argv)
{
	return queue_only(argc, argv, "PurgeQueue", NULL);
}

static int q_url(int argc, char **argv)
{
	return queue_only(argc, argv, "GetQueueUrl", print_url);
}

static int q_tags(int argc, char **argv)
{
	return queue_only(argc, argv, "ListQueueTags", print_tags);
}

static int q_list(int argc, char **argv)
{
	struct rq r;

	if (argc && !(argc == 2 && is_prefix(argv[0], "prefix"))) {
		p_err("usage: bpfbus queue list [prefix PREFIX]");
		return EXIT_INVALID;
	}
	rq_begin(&r, "ListQueues");
	if (argc)
		rq_str(&r, "QueueNamePrefix", argv[1]);
	return rq_send(&r, print_urls);
}

static int q_attributes(int argc, char **argv)
{
	struct strbuf names = STRBUF_INIT;
	struct rq r;

	if (need(argc, 1, "attributes NAME [name ATTRIBUTE]..."))
		return EXIT_INVALID;
	sb_addc(&names, '[');
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || !is_prefix(argv[i], "name")) {
			p_err("usage: bpfbus queue attributes NAME [name ATTRIBUTE]...");
			sb_free(&names);
			return EXIT_INVALID;
		}
		if (names.len > 1)
			sb_addc(&names, ',');
		json_write_string(&names, argv[i + 1], strlen(argv[i + 1]));
	}
	if (names.len == 1)
		sb_adds(&names, "\"All\"");
	sb_addc(&names, ']');
	rq_begin(&r, "GetQueueAttributes");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_raw(&r, "AttributeNames", names.buf);
	sb_free(&names);
	return rq_send(&r, print_attributes);
}

static int q_set_attributes(int argc, char **argv)
{
	struct strbuf attrs = STRBUF_INIT;
	struct rq r;

	if (need(argc, 3, "set-attributes NAME attr NAME=VALUE..."))
		return EXIT_INVALID;
	sb_addc(&attrs, '{');
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc || !is_prefix(argv[i], "attr") || !add_kv(&attrs, argv[i + 1])) {
			if (i + 1 >= argc || !is_prefix(argv[i], "attr"))
				p_err("usage: bpfbus queue set-attributes NAME attr NAME=VALUE...");
			sb_free(&attrs);
			return EXIT_INVALID;
		}
	}
	sb_addc(&attrs, '}');
	rq_begin(&r, "SetQueueAttributes");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_raw(&r, "Attributes", attrs.buf);
	sb_free(&attrs);
	return rq_send(&r, NULL);
}

static int q_send(int argc, char **argv)
{
	struct strbuf attrs = STRBUF_INIT;
	const char *body = NULL;
	char num[24];
	struct rq r;
	int rc = EXIT_INVALID;

	if (need(argc, 3, "send NAME body BODY [attr NAME=TYPE:VALUE]..."))
		return EXIT_INVALID;
	rq_begin(&r, "SendMessage");
	rq_str(&r, "QueueUrl", argv[0]);
	sb_addc(&attrs, '{');
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			p_err("'%s' needs a value", k);
			goto out;
		}
		if (is_prefix(k, "body"))
			body = v;
		else if (is_prefix(k, "attr") || is_prefix(k, "attribute")) {
			if (!add_msg_attr(&attrs, v))
				goto out;
		} else if (is_prefix(k, "delay")) {
			if (!num_arg("delay", v, 900, num, sizeof(num)))
				goto out;
			rq_raw(&r, "DelaySeconds", num);
		} else if (is_prefix(k, "group"))
			rq_str(&r, "MessageGroupId", v);
		else if (is_prefix(k, "dedup"))
			rq_str(&r, "MessageDeduplicationId", v);
		else {
			p_err("queue send: unknown keyword '%s'", k);
			goto out;
		}
	}
	if (!body) {
		p_err("queue send: which message? (body BODY)");
		goto out;
	}
	rq_str(&r, "MessageBody", body);
	sb_addc(&attrs, '}');
	if (attrs.len > 2)
		rq_raw(&r, "MessageAttributes", attrs.buf);
	rc = rq_send(&r, print_sent);
out:
	if (rc == EXIT_INVALID)
		sb_free(&r.sb);
	sb_free(&attrs);
	return rc;
}

static int q_receive(int argc, char **argv)
{
	char num[24];
	struct rq r;

	if (need(argc, 1, "receive NAME [max N] [wait SECONDS] [visibility SECONDS]"))
		return EXIT_INVALID;
	rq_begin(&r, "ReceiveMessage");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_raw(&r, "AttributeNames", "[\"All\"]");
	rq_raw(&r, "MessageAttributeNames", "[\"All\"]");
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		const char *key = is_prefix(k, "max")	       ? "MaxNumberOfMessages"
				  : is_prefix(k, "wait")       ? "WaitTimeSeconds"
				  : is_prefix(k, "visibility") ? "VisibilityTimeout"
				  : is_prefix(k, "attempt")    ? "ReceiveRequestAttemptId"
							       : NULL;

		if (!v || !key) {
			p_err(!v ? "'%s' needs a value" : "queue receive: unknown keyword '%s'", k);
			sb_free(&r.sb);
			return EXIT_INVALID;
		}
		if (!strcmp(key, "ReceiveRequestAttemptId"))
			rq_str(&r, key, v);
		else if (num_arg(k, v, 43200, num, sizeof(num)))
			rq_raw(&r, key, num);
		else {
			sb_free(&r.sb);
			return EXIT_INVALID;
		}
	}
	return rq_send(&r, print_messages);
}

static int q_delete_message(int argc, char **argv)
{
	struct rq r;

	if (argc != 2) {
		p_err("usage: bpfbus queue delete-message NAME HANDLE");
		return EXIT_INVALID;
	}
	rq_begin(&r, "DeleteMessage");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_str(&r, "ReceiptHandle", argv[1]);
	return rq_send(&r, NULL);
}

static int q_change_visibility(int argc, char **argv)
{
	char num[24];
	struct rq r;

	if (argc != 3) {
		p_err("usage: bpfbus queue change-visibility NAME HANDLE SECONDS");
		return EXIT_INVALID;
	}
	if (!num_arg("visibility timeout", argv[2], 43200, num, sizeof(num)))
		return EXIT_INVALID;
	rq_begin(&r, "ChangeMessageVisibility");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_str(&r, "ReceiptHandle", argv[1]);
	rq_raw(&r, "VisibilityTimeout", num);
	return rq_send(&r, NULL);
}

static int q_tag(int argc, char **argv)
{
	struct strbuf tags = STRBUF_INIT;
	struct rq r;

	if (need(argc, 2, "tag NAME KEY=VALUE..."))
		return EXIT_INVALID;
	sb_addc(&tags, '{');
	for (int i = 1; i < argc; i++)
		if (!add_kv(&tags, argv[i])) {
			sb_free(&tags);
			return EXIT_INVALID;
		}
	sb_addc(&tags, '}');
	rq_begin(&r, "TagQueue");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_raw(&r, "Tags", tags.buf);
	sb_free(&tags);
	return rq_send(&r, NULL);
}

static int q_untag(int argc, char **argv)
{
	struct strbuf keys = STRBUF_INIT;
	struct rq r;

	if (need(argc, 2, "untag NAME KEY..."))
		return EXIT_INVALID;
	sb_addc(&keys, '[');
	for (int i = 1; i < argc; i++) {
		if (i > 1)
			sb_addc(&keys, ',');
		json_write_string(&keys, argv[i], strlen(argv[i]));
	}
	sb_addc(&keys, ']');
	rq_begin(&r, "UntagQueue");
	rq_str(&r, "QueueUrl", argv[0]);
	rq_raw(&r, "TagKeys", keys.buf);
	sb_free(&keys);
	return rq_send(&r, NULL);
}

/* "sent 3" ... one counter a line, then the ages of first receives. */
static void print_stats(const struct json_value *r)
{
	const struct json_value *age = json_get(r, "first_receive_age");
	const struct json_value *n = age ? json_get(age, "count") : NULL;
	const struct json_value *sum = age ? json_get(age, "sum_seconds") : NULL;

	for (size_t i = 0; i < r->u.obj.n; i++) {
		const struct json_member *m = &r->u.obj.members[i];

		if (m->value->type == JSON_NUMBER)
			printf("%-14s %s\n", m->key, m->value->u.num.raw);
	}
	if (n && sum && n->type == JSON_NUMBER && sum->type == JSON_NUMBER)
		printf("%-14s %s first receives, %s s in all\n", "age", n->u.num.raw,
		       sum->u.num.raw);
}

/* stats NAME: what /metrics shows of the queue (the daemon's counters since it started). */
static int q_stats(int argc, char **argv)
{
	struct strbuf req = STRBUF_INIT;
	int rc;

	if (argc != 1) {
		p_err("usage: bpfbus queue stats NAME");
		return EXIT_INVALID;
	}
	sb_adds(&req, "{");
	ctl_add_str(&req, "op", "queue.stats", true);
	ctl_add_str(&req, "queue", argv[0], false);
	sb_adds(&req, "}");
	rc = ctl_call(&req, print_stats);
	sb_free(&req);
	return rc;
}

/* call ACTION JSON: any action, the request as given (checked to be an object). */
static int q_call(int argc, char **argv)
{
	if (argc != 2) {
		p_err("usage: bpfbus queue call ACTION JSON");
		return EXIT_INVALID;
	}
	return ctl_call_json("sqs", argv[0], "request", argv[1]);
}

int do_queue(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "create", q_create },
		{ "delete", q_delete },
		{ "list", q_list },
		{ "url", q_url },
		{ "attributes", q_attributes },
		{ "set-attributes", q_set_attributes },
		{ "send", q_send },
		{ "receive", q_receive },
		{ "delete-message", q_delete_message },
		{ "change-visibility", q_change_visibility },
		{ "purge", q_purge },
		{ "tag", q_tag },
		{ "untag", q_untag },
		{ "tags", q_tags },
		{ "stats", q_stats },
		{ "call", q_call },
		{ "help", queue_help },
		{ NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, queue_help);
}

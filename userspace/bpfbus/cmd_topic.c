// SPDX-License-Identifier: BSD-2-Clause
/*
 * `bpfbus topic` and `bpfbus subscription`: SNS through bpfbusd. Each
 * command becomes one SNS action with botocore's flattened query parameters
 * (Attributes.entry.N.key, MessageAttributes.entry.N.Value.DataType, ...),
 * sent as {"op": "sns", "action": A, "params": {...}} and run by the
 * daemon's SNS dispatcher, the one the HTTP API uses; -j prints the action's
 * result as JSON. A topic may be named by its name or ARN, a queue endpoint
 * by its name or ARN: the daemon completes names.
 */
#include "args.h"
#include "ctl_client.h"
#include "json.h"
#include "main.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int topic_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus topic create NAME [attr NAME=VALUE]... [tag KEY=VALUE]...\n"
		"       bpfbus topic { delete | show | tags } TOPIC\n"
		"       bpfbus topic list [next TOKEN]\n"
		"       bpfbus topic set-attr TOPIC NAME=VALUE\n"
		"       bpfbus topic publish TOPIC message TEXT [subject TEXT]\n"
		"                            [attr NAME=TYPE:VALUE]... [group ID] [dedup ID]\n"
		"                            [structure json]\n"
		"       bpfbus topic tag TOPIC KEY=VALUE...\n"
		"       bpfbus topic untag TOPIC KEY...\n"
		"       bpfbus topic call ACTION JSON\n"
		"       bpfbus topic help\n"
		"\n"
		"TOPIC is a topic name or ARN. Every command is one SNS action run by\n"
		"bpfbusd; 'call' sends any action with parameters of your own, as a JSON\n"
		"object of botocore's query parameter names and string values. -j prints\n"
		"SNS's result as JSON. See also 'bpfbus subscription help'.\n");
	return EXIT_OK;
}

static int sub_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr,
		"Usage: bpfbus subscription create TOPIC PROTOCOL ENDPOINT [attr NAME=VALUE]...\n"
		"       bpfbus subscription { delete | show } SUBSCRIPTION-ARN\n"
		"       bpfbus subscription list [topic TOPIC] [next TOKEN]\n"
		"       bpfbus subscription set-attr SUBSCRIPTION-ARN NAME=VALUE\n"
		"       bpfbus subscription confirm TOPIC TOKEN\n"
		"       bpfbus subscription help\n"
		"\n"
		"PROTOCOL is sqs (ENDPOINT: a queue name or ARN), http, https (a URL) or\n"
		"udp (HOST:PORT). Attributes: FilterPolicy, FilterPolicyScope,\n"
		"RawMessageDelivery, RedrivePolicy, DeliveryPolicy (docs/topics.md).\n");
	return EXIT_OK;
}

/* ---- requests ---------------------------------------------------------------- */

/* {"op":"sns","action":A,"params":{...}} being built. */
struct rq {
	struct strbuf sb;
	size_t nparams;
	unsigned attrs, tags, keys, msg_attrs; /* entries of each list so far */
};

static void rq_begin(struct rq *r, const char *action)
{
	memset(r, 0, sizeof(*r));
	sb_adds(&r->sb, "{\"op\":\"sns\",\"action\":");
	json_write_string(&r->sb, action, strlen(action));
	sb_adds(&r->sb, ",\"params\":{");
}

static void rq_param(struct rq *r, const char *name, const char *val, size_t len)
{
	if (r->nparams++)
		sb_addc(&r->sb, ',');
	json_write_string(&r->sb, name, strlen(name));
	sb_addc(&r->sb, ':');
	json_write_string(&r->sb, val, len);
}

static void rq_str(struct rq *r, const char *name, const char *val)
{
	rq_param(r, name, val, strlen(val));
}

/* PREFIX.N.KEYNAME=key and PREFIX.N.VALNAME=value from "KEY=VALUE"; false without '='. */
static bool rq_pair(struct rq *r, const char *prefix, unsigned n, const char *keyname,
		    const char *valname, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char name[96];

	if (!eq || eq == kv) {
		p_err("'%s' is not NAME=VALUE", kv);
		return false;
	}
	snprintf(name, sizeof(name), "%s.%u.%s", prefix, n, keyname);
	rq_param(r, name, kv, (size_t)(eq - kv));
	snprintf(name, sizeof(name), "%s.%u.%s", prefix, n, valname);
	rq_str(r, name, eq + 1);
	return true;
}

static bool rq_attr(struct rq *r, const char *kv)
{
	return rq_pair(r, "Attributes.entry", ++r->attrs, "key", "value", kv);
}

static bool rq_tag(struct rq *r, const char *kv)
{
	return rq_pair(r, "Tags.member", ++r->tags, "Key", "Value", kv);
}

/* "NAME=TYPE:VALUE" as MessageAttributes.entry.N.{Name,Value.DataType,Value.*Value}. */
static bool rq_msg_attr(struct rq *r, const char *spec)
{
	const char *eq = strchr(spec, '='), *colon = eq ? strchr(eq, ':') : NULL;
	char name[96], type[64];
	unsigned n = ++r->msg_attrs;

	if (!eq || !colon || eq == spec || colon == eq + 1 ||
	    (size_t)(colon - eq - 1) >= sizeof(type)) {
		p_err("a message attribute is NAME=TYPE:VALUE (String, String.Array, Number, "
		      "Binary as base64), not '%s'",
		      spec);
		return false;
	}
	snprintf(type, sizeof(type), "%.*s", (int)(colon - eq - 1), eq + 1);
	snprintf(name, sizeof(name), "MessageAttributes.entry.%u.Name", n);
	rq_param(r, name, spec, (size_t)(eq - spec));
	snprintf(name, sizeof(name), "MessageAttributes.entry.%u.Value.DataType", n);
	rq_str(r, name, type);
	snprintf(name, sizeof(name), "MessageAttributes.entry.%u.Value.%s", n,
		 strncmp(type, "Binary", 6) ? "StringValue" : "BinaryValue");
	rq_str(r, name, colon + 1);
	return true;
}

static int rq_send(struct rq *r, ctl_print_fn print)
{
	sb_adds(&r->sb, "}}");
	int rc = ctl_call(&r->sb, print);

	sb_free(&r->sb);
	return rc;
}

static int rq_abandon(struct rq *r)
{
	sb_free(&r->sb);
	return EXIT_INVALID;
}

/* ---- printers ------------------------------------------------------------------ */

static const char *str_of(const struct json_value *o, const char *key)
{
	const struct json_value *v = o ? json_get(o, key) : NULL;

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

static void print_field(const struct json_value *r, const char *key)
{
	const char *v = str_of(r, key);

	if (v)
		printf("%s\n", v);
}

static void print_next(const struct json_value *r)
{
	const char *t = str_of(r, "NextToken");

	if (t)
		printf("next-token %s\n", t);
}

static void print_topic_arn(const struct json_value *r)
{
	print_field(r, "TopicArn");
}

static void print_sub_arn(const struct json_value *r)
{
	print_field(r, "SubscriptionArn");
}

static void print_topics(const struct json_value *r)
{
	const struct json_value *l = json_get(r, "Topics");

	for (size_t i = 0; l && l->type == JSON_ARRAY && i < l->u.arr.n; i++)
		print_field(l->u.arr.items[i], "TopicArn");
	print_next(r);
}

static void print_subs(const struct json_value *r)
{
	const struct json_value *l = json_get(r, "Subscriptions");

	for (size_t i = 0; l && l->type == JSON_ARRAY && i < l->u.arr.n; i++) {
		const struct json_value *s = l->u.arr.items[i];

		printf("%s\n\ttopic %s\n\tprotocol %s\n\tendpoint %s\n",
		       str_of(s, "SubscriptionArn"), str_of(s, "TopicArn"), str_of(s, "Protocol"),
		       str_of(s, "Endpoint"));
	}
	print_next(r);
}

static void print_attributes(const struct json_value *r)
{
	const struct json_value *m = json_get(r, "Attributes");

	for (size_t i = 0; m && m->type == JSON_OBJECT && i < m->u.obj.n; i++) {
		const struct json_value *v = m->u.obj.members[i].value;

		printf("%.*s %s\n", (int)m->u.obj.members[i].key_len, m->u.obj.members[i].key,
		       v->type == JSON_STRING ? v->u.str.s : "");
	}
}

static void print_tags(const struct json_value *r)
{
	const struct json_value *l = json_get(r, "Tags");

	for (size_t i = 0; l && l->type == JSON_ARRAY && i < l->u.arr.n; i++)
		printf("%s=%s\n", str_of(l->u.arr.items[i], "Key"),
		       str_of(l->u.arr.items[i], "Value") ?: "");
}

static void print_published(const struct json_value *r)
{
	const char *id = str_of(r, "MessageId"), *seq = str_of(r, "SequenceNumber");

	if (id)
		printf("%s%s%s\n", id, seq ? " sequence " : "", seq ? seq : "");
}

/* ---- topic commands ------------------------------------------------------------ */

static int t_create(int argc, char **argv)
{
	struct rq r;

	if (argc < 1) {
		p_err("usage: bpfbus topic create NAME [attr NAME=VALUE]... [tag KEY=VALUE]...");
		return EXIT_INVALID;
	}
	rq_begin(&r, "CreateTopic");
	rq_str(&r, "Name", argv[0]);
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc) {
			p_err("'%s' needs a value", argv[i]);
			return rq_abandon(&r);
		}
		if (is_prefix(argv[i], "attr") || is_prefix(argv[i], "attribute")) {
			if (!rq_attr(&r, argv[i + 1]))
				return rq_abandon(&r);
		} else if (is_prefix(argv[i], "tag")) {
			if (!rq_tag(&r, argv[i + 1]))
				return rq_abandon(&r);
		} else {
			p_err("topic create: unknown keyword '%s'", argv[i]);
			return rq_abandon(&r);
		}
	}
	return rq_send(&r, print_topic_arn);
}

/* Commands of one argument: ACTION with PARAM=argv[0]. */
static int one_arg(int argc, char **argv, const char *usage, const char *action, const char *param,
		   ctl_print_fn print)
{
	struct rq r;

	if (argc != 1) {
		p_err("usage: bpfbus %s", usage);
		return EXIT_INVALID;
	}
	rq_begin(&r, action);
	rq_str(&r, param, argv[0]);
	return rq_send(&r, print);
}

static int t_delete(int argc, char **argv)
{
	return one_arg(argc, argv, "topic delete TOPIC", "DeleteTopic", "TopicArn", NULL);
}

static int t_show(int argc, char **argv)
{
	return one_arg(argc, argv, "topic show TOPIC", "GetTopicAttributes", "TopicArn",
		       print_attributes);
}

static int t_tags(int argc, char **argv)
{
	return one_arg(argc, argv, "topic tags TOPIC", "ListTagsForResource", "ResourceArn",
		       print_tags);
}

/* list [topic TOPIC] [next TOKEN] for @action; @topic_ok: the topic keyword is allowed. */
static int list(int argc, char **argv, const char *action, bool topic_ok, ctl_print_fn print)
{
	struct rq r;

	rq_begin(&r, action);
	for (int i = 0; i < argc; i += 2) {
		bool topic = topic_ok && is_prefix(argv[i], "topic");

		if (i + 1 >= argc || (!topic && !is_prefix(argv[i], "next"))) {
			p_err("usage: bpfbus %s list %s[next TOKEN]",
			      topic_ok ? "subscription" : "topic",
			      topic_ok ? "[topic TOPIC] " : "");
			return rq_abandon(&r);
		}
		if (topic) {
			sb_free(&r.sb);
			rq_begin(&r, "ListSubscriptionsByTopic");
		}
		rq_str(&r, topic ? "TopicArn" : "NextToken", argv[i + 1]);
	}
	return rq_send(&r, print);
}

static int t_list(int argc, char **argv)
{
	return list(argc, argv, "ListTopics", false, print_topics);
}

/* set-attr ARN NAME=VALUE: AttributeName, AttributeValue. */
static int set_attr(int argc, char **argv, const char *object, const char *action,
		    const char *param)
{
	const char *eq = argc == 2 ? strchr(argv[1], '=') : NULL;
	struct rq r;

	if (!eq || eq == argv[1]) {
		p_err("usage: bpfbus %s set-attr %s NAME=VALUE", object,
		      !strcmp(object, "topic") ? "TOPIC" : "SUBSCRIPTION-ARN");
		return EXIT_INVALID;
	}
	rq_begin(&r, action);
	rq_str(&r, param, argv[0]);
	rq_param(&r, "AttributeName", argv[1], (size_t)(eq - argv[1]));
	rq_str(&r, "AttributeValue", eq + 1);
	return rq_send(&r, NULL);
}

static int t_set_attr(int argc, char **argv)
{
	return set_attr(argc, argv, "topic", "SetTopicAttributes", "TopicArn");
}

static int t_publish(int argc, char **argv)
{
	const char *message = NULL;
	struct rq r;

	if (argc < 3) {
		p_err("usage: bpfbus topic publish TOPIC message TEXT [subject TEXT] "
		      "[attr NAME=TYPE:VALUE]... [group ID] [dedup ID] [structure json]");
		return EXIT_INVALID;
	}
	rq_begin(&r, "Publish");
	rq_str(&r, "TopicArn", argv[0]);
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v) {
			p_err("'%s' needs a value", k);
			return rq_abandon(&r);
		}
		if (is_prefix(k, "message"))
			message = v;
		else if (is_prefix(k, "subject"))
			rq_str(&r, "Subject", v);
		else if (is_prefix(k, "attr") || is_prefix(k, "attribute")) {
			if (!rq_msg_attr(&r, v))
				return rq_abandon(&r);
		} else if (is_prefix(k, "group"))
			rq_str(&r, "MessageGroupId", v);
		else if (is_prefix(k, "dedup"))
			rq_str(&r, "MessageDeduplicationId", v);
		else if (is_prefix(k, "structure"))
			rq_str(&r, "MessageStructure", v);
		else {
			p_err("topic publish: unknown keyword '%s'", k);
			return rq_abandon(&r);
		}
	}
	if (!message) {
		p_err("topic publish: which message? (message TEXT)");
		return rq_abandon(&r);
	}
	rq_str(&r, "Message", message);
	return rq_send(&r, print_published);
}

static int t_tag(int argc, char **argv)
{
	struct rq r;

	if (argc < 2) {
		p_err("usage: bpfbus topic tag TOPIC KEY=VALUE...");
		return EXIT_INVALID;
	}
	rq_begin(&r, "TagResource");
	rq_str(&r, "ResourceArn", argv[0]);
	for (int i = 1; i < argc; i++)
		if (!rq_tag(&r, argv[i]))
			return rq_abandon(&r);
	return rq_send(&r, NULL);
}

static int t_untag(int argc, char **argv)
{
	char name[64];
	struct rq r;

	if (argc < 2) {
		p_err("usage: bpfbus topic untag TOPIC KEY...");
		return EXIT_INVALID;
	}
	rq_begin(&r, "UntagResource");
	rq_str(&r, "ResourceArn", argv[0]);
	for (int i = 1; i < argc; i++) {
		snprintf(name, sizeof(name), "TagKeys.member.%u", ++r.keys);
		rq_str(&r, name, argv[i]);
	}
	return rq_send(&r, NULL);
}

/* call ACTION JSON: any action with the parameters given (an object of strings). */
static int t_call(int argc, char **argv)
{
	if (argc != 2) {
		p_err("usage: bpfbus topic call ACTION JSON");
		return EXIT_INVALID;
	}
	return ctl_call_json("sns", argv[0], "params", argv[1]);
}

int do_topic(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "create", t_create }, { "delete", t_delete },	    { "list", t_list },
		{ "show", t_show },	{ "set-attr", t_set_attr }, { "publish", t_publish },
		{ "tag", t_tag },	{ "untag", t_untag },	    { "tags", t_tags },
		{ "call", t_call },	{ "help", topic_help },	    { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, topic_help);
}

/* ---- subscription commands ------------------------------------------------------ */

static int s_create(int argc, char **argv)
{
	struct rq r;

	if (argc < 3 || argc % 2 == 0) {
		p_err("usage: bpfbus subscription create TOPIC PROTOCOL ENDPOINT "
		      "[attr NAME=VALUE]...");
		return EXIT_INVALID;
	}
	rq_begin(&r, "Subscribe");
	rq_str(&r, "TopicArn", argv[0]);
	rq_str(&r, "Protocol", argv[1]);
	rq_str(&r, "Endpoint", argv[2]);
	rq_str(&r, "ReturnSubscriptionArn", "true");
	for (int i = 3; i < argc; i += 2) {
		if (!is_prefix(argv[i], "attr") && !is_prefix(argv[i], "attribute")) {
			p_err("subscription create: unknown keyword '%s'", argv[i]);
			return rq_abandon(&r);
		}
		if (!rq_attr(&r, argv[i + 1]))
			return rq_abandon(&r);
	}
	return rq_send(&r, print_sub_arn);
}

static int s_delete(int argc, char **argv)
{
	return one_arg(argc, argv, "subscription delete SUBSCRIPTION-ARN", "Unsubscribe",
		       "SubscriptionArn", NULL);
}

static int s_show(int argc, char **argv)
{
	return one_arg(argc, argv, "subscription show SUBSCRIPTION-ARN",
		       "GetSubscriptionAttributes", "SubscriptionArn", print_attributes);
}

static int s_list(int argc, char **argv)
{
	return list(argc, argv, "ListSubscriptions", true, print_subs);
}

static int s_set_attr(int argc, char **argv)
{
	return set_attr(argc, argv, "subscription", "SetSubscriptionAttributes", "SubscriptionArn");
}

static int s_confirm(int argc, char **argv)
{
	struct rq r;

	if (argc != 2) {
		p_err("usage: bpfbus subscription confirm TOPIC TOKEN");
		return EXIT_INVALID;
	}
	rq_begin(&r, "ConfirmSubscription");
	rq_str(&r, "TopicArn", argv[0]);
	rq_str(&r, "Token", argv[1]);
	return rq_send(&r, print_sub_arn);
}

int do_subscription(int argc, char **argv)
{
	static const struct cmd cmds[] = {
		{ "create", s_create },	    { "delete", s_delete },
		{ "list", s_list },	    { "show", s_show },
		{ "set-attr", s_set_attr }, { "confirm", s_confirm },
		{ "help", sub_help },	    { NULL, NULL },
	};

	return cmd_select(cmds, argc, argv, sub_help);
}

// SPDX-License-Identifier: BSD-2-Clause
/*
 * The object model's file (userspace/lib/model.h): an objects.json of the
 * first format (queue targets as {"id","queue","dlq"}) still loads; every
 * target kind with its input, retry policy and dead-letter queue, rules with
 * schedules, descriptions and tags, and buses with tags survive a save and a
 * load unchanged; damaged files and bad targets are refused with errors that
 * say where; bb_target_check gives PutTargets' errors.
 */
#include "eb_common.h"
#include "flatdir.h"
#include "json.h"
#include "model.h"
#include "strbuf.h"
#include "../harness.h"

static const char *old_file =
	"{\"version\":1,\"buses\":[\n"
	"{\"name\":\"default\",\"kind\":\"event\",\"rules\":[]},\n"
	"{\"name\":\"orders\",\"kind\":\"event\",\"rules\":[\n"
	" {\"name\":\"eu\",\"pattern\":\"{\\\"source\\\":[\\\"eu\\\"]}\",\"state\":\"ENABLED\","
	"\"targets\":[{\"id\":\"q1\",\"queue\":\"q1\"},{\"id\":\"t2\",\"queue\":\"q2\","
	"\"dlq\":\"dead\"}]}]}\n"
	"]}\n";

TEST(old_file_loads_as_queue_targets)
{
	struct bb_model m;
	char err[300];

	ASSERT_EQ(0, bb_model_from_json(old_file, strlen(old_file), &m, err, sizeof(err)));
	struct bb_mbus *b = bb_model_bus(&m, "orders");

	ASSERT_NE_NULL(b);
	struct bb_rule *r = bb_model_rule(b, "eu");

	ASSERT_NE_NULL(r);
	EXPECT_TRUE(r->enabled);
	EXPECT_STREQ("{\"source\":[\"eu\"]}", r->pattern);
	EXPECT_NULL(r->schedule);
	ASSERT_EQ(2, r->n_targets);
	EXPECT_EQ(BB_TARGET_QUEUE, r->targets[0].kind);
	EXPECT_STREQ("q1", r->targets[0].addr);
	EXPECT_NULL(r->targets[0].dlq);
	EXPECT_NULL(r->targets[0].input);
	EXPECT_EQ(BB_RETRY_ATTEMPTS_MAX, r->targets[0].retry_attempts);
	EXPECT_EQ(BB_EVENT_AGE_MAX, r->targets[0].max_event_age_s);
	EXPECT_EQ(BB_TARGET_QUEUE, r->targets[1].kind);
	EXPECT_STREQ("t2", r->targets[1].id);
	EXPECT_STREQ("q2", r->targets[1].addr);
	EXPECT_STREQ("dead", r->targets[1].dlq);

	/* written back, the old targets keep their old spelling */
	struct strbuf sb = STRBUF_INIT;

	bb_model_to_json(&m, &sb);
	EXPECT_STREQ(old_file, sb.buf);
	sb_free(&sb);
	bb_model_free(&m);
}

/* A model with every kind of target and every optional field. */
static void full_model(struct bb_model *m)
{
	struct bb_mbus *b;
	struct bb_rule r = { .name = "all",
			     .pattern = "{\"source\":[\"x\"]}",
			     .enabled = false,
			     .description = "every kind" };
	static const char *const addrs[] = { "q", "t", "other", "http://127.0.0.1:8080/in",
					     "127.0.0.1:4791" };

	memset(m, 0, sizeof(*m));
	b = bb_model_add_bus(m, "default", 0);
	bb_model_add_bus(m, "other", 0);
	bb_tags_set(&bb_model_bus(m, "other")->tags, "team", "a");
	bb_model_bus(m, "other")->discovery_stopped = true;
	b = bb_model_bus(m, "default");
	for (int k = 0; k < BB_TARGET_KINDS; k++) {
		struct bb_target *t = &r.targets[r.n_targets++];
		char id[16];

		bb_target_init(t);
		snprintf(id, sizeof(id), "t%d", k);
		t->id = xstrndup(id, strlen(id));
		t->kind = k;
		t->addr = xstrndup(addrs[k], strlen(addrs[k]));
	}
	r.targets[0].dlq = xstrndup("dead", 4);
	r.targets[0].input = xstrndup("{\"a\":1}", 7);
	r.targets[1].input_path = xstrndup("$.detail", 8);
	r.targets[3].input_transformer =
		xstrndup("{\"InputPathsMap\":{\"s\":\"$.source\"},\"InputTemplate\":\"<s>\"}", 56);
	free(r.targets[0].addr);
	r.targets[0].addr = xstrndup("q.fifo", 6);
	r.targets[0].message_group_id = xstrndup("g1", 2);
	r.targets[4].retry_attempts = 0;
	r.targets[4].max_event_age_s = 60;
	bb_tags_set(&r.tags, "k", "v");
	bb_model_put_rule(b, &r, false);
	for (int i = 0; i < r.n_targets; i++)
		bb_target_free(&r.targets[i]);
	bb_tags_free(&r.tags);
	struct bb_rule s = { .name = "tick", .schedule = "rate(5 minutes)", .enabled = true };

	bb_model_put_rule(b, &s, false);
}

TEST(every_field_round_trips_through_the_file)
{
	struct bb_model m, back;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	char dir[64], err[300];

	ASSERT_NE_NULL(flatdir_make(dir, sizeof(dir), "model"));
	full_model(&m);
	ASSERT_EQ(0, bb_model_save(dir, &m, err, sizeof(err)));
	ASSERT_EQ(0, bb_model_load(dir, &back, err, sizeof(err)));
	bb_model_to_json(&m, &a);
	bb_model_to_json(&back, &b);
	EXPECT_STREQ(a.buf, b.buf);

	const struct bb_rule *r = bb_model_rule(bb_model_bus(&back, "default"), "all");

	ASSERT_NE_NULL(r);
	EXPECT_FALSE(r->enabled);
	EXPECT_STREQ("every kind", r->description);
	EXPECT_STREQ("v", bb_tags_get(&r->tags, "k"));
	ASSERT_EQ(BB_TARGET_KINDS, r->n_targets);
	for (int k = 0; k < BB_TARGET_KINDS; k++)
		EXPECT_EQ(k, r->targets[k].kind);
	EXPECT_STREQ("http://127.0.0.1:8080/in", r->targets[BB_TARGET_HTTP].addr);
	EXPECT_STREQ("{\"a\":1}", r->targets[0].input);
	EXPECT_STREQ("q.fifo", r->targets[0].addr);
	EXPECT_STREQ("g1", r->targets[0].message_group_id);
	EXPECT_STREQ("$.detail", r->targets[1].input_path);
	EXPECT_STREQ("{\"InputPathsMap\":{\"s\":\"$.source\"},\"InputTemplate\":\"<s>\"}",
		     r->targets[3].input_transformer);
	EXPECT_EQ(0, r->targets[4].retry_attempts);
	EXPECT_EQ(60, r->targets[4].max_event_age_s);
	const struct bb_rule *s = bb_model_rule(bb_model_bus(&back, "default"), "tick");

	ASSERT_NE_NULL(s);
	EXPECT_NULL(s->pattern);
	EXPECT_STREQ("rate(5 minutes)", s->schedule);
	EXPECT_STREQ("a", bb_tags_get(&bb_model_bus(&back, "other")->tags, "team"));
	EXPECT_TRUE(bb_model_bus(&back, "other")->discovery_stopped);
	EXPECT_FALSE(bb_model_bus(&back, "default")->discovery_stopped);
	EXPECT_NE_NULL(strstr(a.buf, "\"discovery\":false"));
	sb_free(&a);
	sb_free(&b);
	bb_model_free(&m);
	bb_model_free(&back);
	flatdir_remove(dir);
}

FIXTURE(damaged)
{
	char err[300];
};

FIXTURE_VARIANT(damaged)
{
	const char *target; /* the one target of rule r on bus default */
	const char *want; /* in the error */
};

FIXTURE_VARIANT_ADD(damaged, no_address){ "{\"id\":\"a\"}", "exactly one of" };
FIXTURE_VARIANT_ADD(damaged, two_addresses){ "{\"id\":\"a\",\"queue\":\"q\",\"bus\":\"b\"}",
					     "exactly one of" };
FIXTURE_VARIANT_ADD(damaged, no_id){ "{\"queue\":\"q\"}", "missing \"id\"" };
FIXTURE_VARIANT_ADD(damaged,
		    retry_out_of_range){ "{\"id\":\"a\",\"queue\":\"q\",\"retry_attempts\":186}",
					 "\"retry_attempts\" must be" };
FIXTURE_VARIANT_ADD(damaged, age_too_short){ "{\"id\":\"a\",\"queue\":\"q\",\"max_event_age\":59}",
					     "\"max_event_age\" must be" };
FIXTURE_VARIANT_ADD(damaged, transformer_not_object){
	"{\"id\":\"a\",\"queue\":\"q\",\"input_transformer\":\"x\"}", "must be an object"
};
FIXTURE_VARIANT_ADD(damaged, address_not_string){ "{\"id\":\"a\",\"http\":5}", "\"http\"" };

FIXTURE_SETUP(damaged)
{
}

FIXTURE_TEARDOWN(damaged)
{
}

TEST_F(damaged, refused_with_where)
{
	struct strbuf sb = STRBUF_INIT;
	struct bb_model m;

	sb_printf(&sb,
		  "{\"buses\":[{\"name\":\"default\",\"kind\":\"event\",\"rules\":[{\"name\":"
		  "\"r\",\"pattern\":\"{}\",\"state\":\"ENABLED\",\"targets\":[%s]}]}]}",
		  variant->target);
	ASSERT_EQ(-1, bb_model_from_json(sb.buf, sb.len, &m, self->err, sizeof(self->err)));
	TH_LOG("%s", self->err);
	EXPECT_NE_NULL(strstr(self->err, "bus default, rule 0"));
	EXPECT_NE_NULL(strstr(self->err, variant->want));
	EXPECT_EQ(0, m.n_buses);
	sb_free(&sb);
}

FIXTURE(check)
{
	struct bb_target t;
	struct eb_error e;
};

FIXTURE_VARIANT(check)
{
	int kind;
	const char *addr;
	const char *input, *input_path, *transformer;
	int retry, age;
	const char *want; /* NULL: valid */
	const char *group; /* SqsParameters.MessageGroupId */
	const char *dlq; /* DeadLetterConfig */
};

FIXTURE_VARIANT_ADD(check, queue){ BB_TARGET_QUEUE, "orders", .retry = 185, .age = 86400 };
FIXTURE_VARIANT_ADD(check, fifo_queue){ BB_TARGET_QUEUE, "o.fifo", .retry = 0, .age = 60,
					.group = "g" };
/* datagrams carry their groups: PutTargets alone insists on SqsParameters */
FIXTURE_VARIANT_ADD(check, fifo_queue_without_group){ BB_TARGET_QUEUE, "o.fifo", .retry = 0,
						      .age = 60 };
FIXTURE_VARIANT_ADD(check, group_on_a_standard_queue){
	BB_TARGET_QUEUE, "o",	       .retry = 0,
	.age = 60,	 .group = "g", .want = "is for FIFO queue and FIFO topic targets only"
};
FIXTURE_VARIANT_ADD(check, fifo_topic){ BB_TARGET_TOPIC, "t.fifo", .retry = 0, .age = 60,
					.group = "g" };
FIXTURE_VARIANT_ADD(check, group_on_a_standard_topic){
	BB_TARGET_TOPIC, "t",	       .retry = 0,
	.age = 60,	 .group = "g", .want = "is for FIFO queue and FIFO topic targets only"
};
FIXTURE_VARIANT_ADD(check,
		    fifo_dead_letter_queue){ BB_TARGET_QUEUE,
					     "q",
					     .retry = 0,
					     .age = 60,
					     .dlq = "d.fifo",
					     .want = "SQS FIFO is not supported by Dead Letter "
						     "Queues." };
FIXTURE_VARIANT_ADD(check, http){ BB_TARGET_HTTP, "http://h:1/p?q", .retry = 1, .age = 60 };
FIXTURE_VARIANT_ADD(check, udp){ BB_TARGET_UDP, "127.0.0.1:4790", .retry = 1, .age = 60 };
FIXTURE_VARIANT_ADD(check, udp6){ BB_TARGET_UDP, "[::1]:4790", .retry = 1, .age = 60 };
FIXTURE_VARIANT_ADD(check, bus){ BB_TARGET_BUS, "other", .retry = 1, .age = 60 };
FIXTURE_VARIANT_ADD(check, https){ BB_TARGET_HTTP, "https://h/", .retry = 1, .age = 60 };
FIXTURE_VARIANT_ADD(check, ftp_refused){ BB_TARGET_HTTP, "ftp://h/", .retry = 1, .age = 60,
					 .want = "is an http:// or https:// URL" };
FIXTURE_VARIANT_ADD(check, http_port_refused){ BB_TARGET_HTTP, "http://h:65536/", .retry = 1,
					       .age = 60, .want = "is an http:// or https:// URL" };
FIXTURE_VARIANT_ADD(check, udp_no_port){ BB_TARGET_UDP, "127.0.0.1", .retry = 1, .age = 60,
					 .want = "HOST:PORT" };
FIXTURE_VARIANT_ADD(check, queue_bad_name){ BB_TARGET_QUEUE, "a/b", .retry = 1, .age = 60,
					    .want = "is a name of letters" };
FIXTURE_VARIANT_ADD(check, retry_186){ BB_TARGET_QUEUE, "q", .retry = 186, .age = 60,
				       .want = "MaximumRetryAttempts must be" };
FIXTURE_VARIANT_ADD(check, age_86401){ BB_TARGET_QUEUE, "q", .retry = 0, .age = 86401,
				       .want = "MaximumEventAgeInSeconds" };
FIXTURE_VARIANT_ADD(check, input_not_json){
	BB_TARGET_QUEUE, "q",	    .input = "{",
	.retry = 0,	 .age = 60, .want = "Input for target t is not a valid JSON text."
};
FIXTURE_VARIANT_ADD(check, two_inputs){
	BB_TARGET_QUEUE,
	"q",
	.input = "{}",
	.input_path = "$.detail",
	.retry = 0,
	.age = 60,
	.want = "Only one of Input, InputPath, or InputTransformer must be provided for target t."
};
FIXTURE_VARIANT_ADD(check, transformer_bad_placeholder){
	BB_TARGET_QUEUE,
	"q",
	.transformer = "{\"InputPathsMap\":{\"a\":\"$.source\"},\"InputTemplate\":\"<b>\"}",
	.retry = 0,
	.age = 60,
	.want = "InputTemplate for target t contains invalid placeholder b."
};
FIXTURE_VARIANT_ADD(check, transformer_good){
	BB_TARGET_QUEUE, "q",
	.transformer = "{\"InputPathsMap\":{\"a\":\"$.source\"},\"InputTemplate\":\"<a>\"}",
	.retry = 0, .age = 60
};

FIXTURE_SETUP(check)
{
	bb_target_init(&self->t);
	self->t.id = "t";
	self->t.kind = variant->kind;
	self->t.addr = (char *)variant->addr;
	self->t.input = (char *)variant->input;
	self->t.input_path = (char *)variant->input_path;
	self->t.input_transformer = (char *)variant->transformer;
	self->t.retry_attempts = variant->retry;
	self->t.max_event_age_s = variant->age;
	self->t.message_group_id = (char *)variant->group;
	self->t.dlq = (char *)variant->dlq;
}

FIXTURE_TEARDOWN(check)
{
}

TEST_F(check, put_targets_rules)
{
	int r = bb_target_check(&self->t, &self->e);

	if (!variant->want) {
		EXPECT_EQ(0, r);
		if (r)
			TH_LOG("%s", self->e.message);
		return;
	}
	ASSERT_EQ(-1, r);
	TH_LOG("%s", self->e.message);
	EXPECT_STREQ("ValidationException", self->e.code);
	EXPECT_NE_NULL(strstr(self->e.message, variant->want));
}

TEST(discovery_must_be_a_boolean)
{
	static const char text[] = "{\"buses\":[{\"name\":\"default\",\"kind\":\"event\","
				   "\"discovery\":\"off\",\"rules\":[]}]}";
	struct bb_model m;
	char err[300];

	ASSERT_EQ(-1, bb_model_from_json(text, strlen(text), &m, err, sizeof(err)));
	EXPECT_STREQ("bus default: \"discovery\" must be true or false", err);
}

TEST(tags_set_replace_remove)
{
	struct bb_tags t = { 0 };

	bb_tags_set(&t, "a", "1");
	bb_tags_set(&t, "b", "2");
	bb_tags_set(&t, "a", "3");
	EXPECT_EQ(2, t.n);
	EXPECT_STREQ("3", bb_tags_get(&t, "a"));
	EXPECT_TRUE(bb_tags_remove(&t, "a"));
	EXPECT_FALSE(bb_tags_remove(&t, "a"));
	EXPECT_NULL(bb_tags_get(&t, "a"));
	EXPECT_STREQ("2", bb_tags_get(&t, "b"));
	bb_tags_free(&t);
}

TEST(arns_as_aws_shapes_them)
{
	char buf[200];

	eb_rule_arn(buf, sizeof(buf), "eu-west-1", "123456789012", "default", "r");
	EXPECT_STREQ("arn:aws:events:eu-west-1:123456789012:rule/r", buf);
	eb_rule_arn(buf, sizeof(buf), "eu-west-1", "123456789012", "orders", "r");
	EXPECT_STREQ("arn:aws:events:eu-west-1:123456789012:rule/orders/r", buf);
	eb_bus_arn(buf, sizeof(buf), "eu-west-1", "123456789012", "orders");
	EXPECT_STREQ("arn:aws:events:eu-west-1:123456789012:event-bus/orders", buf);
}

TEST_HARNESS_MAIN

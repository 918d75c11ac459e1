// SPDX-License-Identifier: BSD-2-Clause
/*
 * PutEvents entries (userspace/lib/eb_event.h): the envelope they become,
 * per-entry errors, request-level errors, and the time helpers.
 */
#include "eb_event.h"
#include "json.h"
#include "../harness.h"

#define NOW_MS 1700000000123LL /* 2023-11-14T22:13:20.123Z */

static bool only_orders(void *ctx, const char *name)
{
	(void)ctx;
	return !strcmp(name, "default") || !strcmp(name, "orders");
}

static const struct eb_env env = { .account = "123456789012",
				   .region = "eu-west-1",
				   .bus_exists = only_orders };

static int put(const char *body, struct eb_put_batch *b, struct eb_error *err)
{
	return eb_put_events_prepare(body, strlen(body), &env, NOW_MS, b, err);
}

static const char *str_of(const struct json_value *obj, const char *key)
{
	const struct json_value *v = json_get(obj, key);

	return v && v->type == JSON_STRING ? v->u.str.s : NULL;
}

TEST(envelope_fields_in_eventbridge_order)
{
	struct eb_put_batch b;
	struct eb_error err;
	const char *body = "{\"Entries\":[{\"Source\":\"com.shop\",\"DetailType\":\"Order Placed\","
			   "\"Detail\":\"{ \\\"id\\\" : 7, \\\"total\\\": 12.50, \\\"tags\\\": "
			   "[\\\"a\\\"] }\","
			   "\"Resources\":[\"arn:aws:s3:::b1\",\"arn:aws:s3:::b2\"],"
			   "\"Time\":1447277394}]}";

	ASSERT_EQ(0, put(body, &b, &err));
	ASSERT_EQ(1, b.n);
	EXPECT_EQ(0, b.failed);
	ASSERT_TRUE(b.entries[0].ok);
	const char *id = b.entries[0].event_id;

	/* A version 4 UUID. */
	EXPECT_EQ(36, strlen(id));
	EXPECT_EQ('4', id[14]);
	EXPECT_TRUE(strchr("89ab", id[19]) != NULL);
	char want[512];

	snprintf(want, sizeof(want),
		 "{\"version\":\"0\",\"id\":\"%s\",\"detail-type\":\"Order Placed\","
		 "\"source\":\"com.shop\",\"account\":\"123456789012\","
		 "\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"eu-west-1\","
		 "\"resources\":[\"arn:aws:s3:::b1\",\"arn:aws:s3:::b2\"],"
		 "\"detail\":{\"id\":7,\"total\":12.50,\"tags\":[\"a\"]}}",
		 id);
	EXPECT_STREQ(want, b.entries[0].event.buf);
	EXPECT_STREQ("default", b.entries[0].bus_name);
	EXPECT_NULL(b.entries[0].trace_header);
	EXPECT_EQ(1447277394, b.entries[0].time_s);
	eb_put_batch_free(&b);
}

TEST(ids_are_unique)
{
	struct eb_put_batch b;
	struct eb_error err;
	const char *e = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\"}";
	char body[256];

	snprintf(body, sizeof(body), "{\"Entries\":[%s,%s,%s]}", e, e, e);
	ASSERT_EQ(0, put(body, &b, &err));
	ASSERT_EQ(3, b.n);
	EXPECT_STRNE(b.entries[0].event_id, b.entries[1].event_id);
	EXPECT_STRNE(b.entries[1].event_id, b.entries[2].event_id);
	EXPECT_STRNE(b.entries[0].event_id, b.entries[2].event_id);
	eb_put_batch_free(&b);
}

FIXTURE(when)
{
	struct eb_put_batch b;
};

FIXTURE_VARIANT(when)
{
	const char *time; /* the Time member, "" for none */
	const char *want;
};

FIXTURE_VARIANT_ADD(when, absent_is_ingestion){ .time = "", .want = "2023-11-14T22:13:20Z" };
FIXTURE_VARIANT_ADD(when, null_is_ingestion){ .time = ",\"Time\":null",
					      .want = "2023-11-14T22:13:20Z" };
FIXTURE_VARIANT_ADD(when, fraction_truncated){ .time = ",\"Time\":1447277394.999",
					       .want = "2015-11-11T21:29:54Z" };
FIXTURE_VARIANT_ADD(when, rfc3339_string){ .time = ",\"Time\":\"2024-02-29T23:59:59.5Z\"",
					   .want = "2024-02-29T23:59:59Z" };
FIXTURE_VARIANT_ADD(when, offset_string){ .time = ",\"Time\":\"2024-03-01T01:00:00+02:00\"",
					  .want = "2024-02-29T23:00:00Z" };
FIXTURE_VARIANT_ADD(when, epoch_zero){ .time = ",\"Time\":0", .want = "1970-01-01T00:00:00Z" };

FIXTURE_SETUP(when)
{
	char body[256];
	struct eb_error err;

	snprintf(body, sizeof(body),
		 "{\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\"%s}]}",
		 variant->time);
	ASSERT_EQ(0, put(body, &self->b, &err));
}

FIXTURE_TEARDOWN(when)
{
	eb_put_batch_free(&self->b);
}

TEST_F(when, event_time)
{
	struct json_doc *d =
		json_parse(self->b.entries[0].event.buf, self->b.entries[0].event.len, true);

	ASSERT_NULL(json_doc_error(d));
	EXPECT_STREQ(variant->want, str_of(json_doc_root(d), "time"));
	json_doc_free(d);
}

/* ------------------------------------------------------------ per-entry errors */

FIXTURE(entry_error)
{
	struct eb_put_batch b;
};

FIXTURE_VARIANT(entry_error)
{
	const char *entry;
	const char *code;
	const char *message;
};

FIXTURE_VARIANT_ADD(entry_error, no_source){
	.entry = "{\"DetailType\":\"t\",\"Detail\":\"{}\"}",
	.code = "InvalidArgument",
	.message = "Parameter Source is not valid. Reason: Source is a required argument.",
};
FIXTURE_VARIANT_ADD(entry_error, empty_source){
	.entry = "{\"Source\":\"\",\"DetailType\":\"t\",\"Detail\":\"{}\"}",
	.code = "InvalidArgument",
	.message = "Parameter Source is not valid. Reason: Source is a required argument.",
};
FIXTURE_VARIANT_ADD(entry_error, no_detail_type){
	.entry = "{\"Source\":\"s\",\"Detail\":\"{}\"}",
	.code = "InvalidArgument",
	.message = "Parameter DetailType is not valid. Reason: DetailType is a required argument.",
};
FIXTURE_VARIANT_ADD(entry_error, no_detail){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\"}",
	.code = "InvalidArgument",
	.message = "Parameter Detail is not valid. Reason: Detail is a required argument.",
};
FIXTURE_VARIANT_ADD(entry_error, detail_not_json){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{oops}\"}",
	.code = "MalformedDetail",
	.message = "Detail is malformed.",
};
FIXTURE_VARIANT_ADD(entry_error, detail_array){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"[1,2]\"}",
	.code = "MalformedDetail",
	.message = "Detail is malformed.",
};
FIXTURE_VARIANT_ADD(entry_error, detail_string){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"\\\"x\\\"\"}",
	.code = "MalformedDetail",
	.message = "Detail is malformed.",
};
FIXTURE_VARIANT_ADD(entry_error, detail_trailing){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{} {}\"}",
	.code = "MalformedDetail",
	.message = "Detail is malformed.",
};
FIXTURE_VARIANT_ADD(entry_error, aws_source){
	.entry = "{\"Source\":\"aws.ec2\",\"DetailType\":\"t\",\"Detail\":\"{}\"}",
	.code = "NotAuthorizedForSourceException",
	.message = "Not authorized for the source.",
};
FIXTURE_VARIANT_ADD(entry_error, unknown_bus){
	.entry = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\",\"EventBusName\":"
		 "\"nope\"}",
	.code = "ResourceNotFoundException",
	.message = "Event bus nope does not exist.",
};

FIXTURE_SETUP(entry_error)
{
	char body[512];
	struct eb_error err;
	const char *good = "{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\"}";

	/* The bad entry sits between two good ones, which still succeed. */
	snprintf(body, sizeof(body), "{\"Entries\":[%s,%s,%s]}", good, variant->entry, good);
	ASSERT_EQ(0, put(body, &self->b, &err));
}

FIXTURE_TEARDOWN(entry_error)
{
	eb_put_batch_free(&self->b);
}

TEST_F(entry_error, reported_on_its_entry_only)
{
	ASSERT_EQ(3, self->b.n);
	EXPECT_EQ(1, self->b.failed);
	EXPECT_TRUE(self->b.entries[0].ok);
	EXPECT_TRUE(self->b.entries[2].ok);
	EXPECT_FALSE(self->b.entries[1].ok);
	EXPECT_STREQ(variant->code, self->b.entries[1].error_code);
	EXPECT_STREQ(variant->message, self->b.entries[1].error_message);
	EXPECT_EQ(0, self->b.entries[1].event.len);
}

/* ------------------------------------------------------------ request errors */

static char *repeat_entries(int n)
{
	struct strbuf sb = STRBUF_INIT;

	sb_adds(&sb, "{\"Entries\":[");
	for (int i = 0; i < n; i++)
		sb_printf(&sb, "%s{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\"}",
			  i ? "," : "");
	sb_adds(&sb, "]}");
	return sb.buf;
}

static char *sized_entry(size_t detail_pad, size_t source_len, const char *extra)
{
	struct strbuf sb = STRBUF_INIT;

	sb_adds(&sb, "{\"Entries\":[{\"Source\":\"");
	for (size_t i = 0; i < source_len; i++)
		sb_addc(&sb, 's');
	sb_adds(&sb, "\",\"DetailType\":\"t\",\"Detail\":\"{\\\"p\\\":\\\"");
	for (size_t i = 0; i < detail_pad; i++)
		sb_addc(&sb, 'x');
	sb_printf(&sb, "\\\"}\"%s}]}", extra);
	return sb.buf;
}

static void expect_request_error(const char *body, const char *code, const char *message)
{
	struct eb_put_batch b;
	struct eb_error err;

	EXPECT_EQ(-1, put(body, &b, &err));
	EXPECT_STREQ(code, err.code);
	EXPECT_STREQ(message, err.message);
	EXPECT_EQ(0, b.n);
	EXPECT_NULL(b.entries);
}

TEST(ten_entries_pass_eleven_fail)
{
	struct eb_put_batch b;
	struct eb_error err;
	char *ten = repeat_entries(10), *eleven = repeat_entries(11), *none = repeat_entries(0);

	ASSERT_EQ(0, put(ten, &b, &err));
	EXPECT_EQ(10, b.n);
	eb_put_batch_free(&b);
	expect_request_error(eleven, "ValidationException",
			     "1 validation error detected: Value '[...]' at 'entries' failed to "
			     "satisfy constraint: Member must have length less than or equal to "
			     "10");
	expect_request_error(none, "ValidationException",
			     "1 validation error detected: Value '[...]' at 'entries' failed to "
			     "satisfy constraint: Member must have length greater than or equal "
			     "to 1");
	expect_request_error("{}", "ValidationException",
			     "1 validation error detected: Value null at 'entries' failed to "
			     "satisfy constraint: Member must not be null");
	free(ten);
	free(eleven);
	free(none);
}

TEST(size_limit_is_256_kib_as_eventbridge_counts)
{
	struct eb_put_batch b;
	struct eb_error err;
	/* Source 1 + DetailType 1 + Detail {"p":"..."} (8 + pad) + Time 14. */
	size_t pad = EB_PUT_EVENTS_MAX_SIZE - 1 - 1 - 8 - 14;
	char *at = sized_entry(pad, 1, ",\"Time\":1");
	char *over = sized_entry(pad + 1, 1, ",\"Time\":1");

	ASSERT_EQ(0, put(at, &b, &err));
	EXPECT_EQ(1, b.n);
	EXPECT_TRUE(b.entries[0].ok);
	eb_put_batch_free(&b);
	expect_request_error(over, "ValidationException",
			     "Total size of the entries in the request is over the limit.");
	free(at);
	free(over);
}

TEST(length_constraints_are_all_reported)
{
	char *body = sized_entry(0, 257, ",\"TraceHeader\":\"t\"");
	struct eb_put_batch b;
	struct eb_error err;

	expect_request_error(body, "ValidationException",
			     "1 validation error detected: Value "
			     "'ssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss...'"
			     " at 'entries.1.member.source' failed to satisfy constraint: Member "
			     "must have length less than or equal to 256");
	free(body);
	body = sized_entry(0, 256, ",\"EventBusName\":\"bad name!\"");
	ASSERT_EQ(-1, put(body, &b, &err));
	EXPECT_STREQ("ValidationException", err.code);
	EXPECT_TRUE(strstr(err.message,
			   "at 'entries.1.member.eventBusName' failed to satisfy "
			   "constraint: Member must satisfy regular expression") != NULL);
	free(body);
	struct strbuf sb = STRBUF_INIT;

	sb_adds(&sb, "{\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"");
	for (int i = 0; i < 129; i++)
		sb_addc(&sb, 'd');
	sb_adds(&sb,
		"\",\"Detail\":\"{}\"},{\"Source\":\"s\",\"DetailType\":\"t\",\"TraceHeader\":\"");
	for (int i = 0; i < 501; i++)
		sb_addc(&sb, 'h');
	sb_adds(&sb, "\"}]}");
	ASSERT_EQ(-1, put(sb.buf, &b, &err));
	EXPECT_TRUE(!strncmp(err.message, "2 validation errors detected: Value 'ddd", 40));
	EXPECT_TRUE(strstr(err.message, "'entries.1.member.detailType'") != NULL);
	EXPECT_TRUE(strstr(err.message, "; Value 'hhh") != NULL);
	EXPECT_TRUE(strstr(err.message, "'entries.2.member.traceHeader'") != NULL);
	sb_free(&sb);
}

TEST(wrong_types_are_serialization_errors)
{
	expect_request_error(
		"{\"Entries\":[{\"Source\":5,\"DetailType\":\"t\",\"Detail\":\"{}\"}]}",
		"SerializationException", "Entries[0].Source must be a string, not a number");
	expect_request_error("{\"Entries\":[{\"Source\":\"s\",\"Resources\":\"r\"}]}",
			     "SerializationException",
			     "Entries[0].Resources must be an array, not a string");
	expect_request_error("{\"Entries\":[{\"Source\":\"s\",\"Resources\":[1]}]}",
			     "SerializationException",
			     "Entries[0].Resources[0] must be a string, not a number");
	expect_request_error(
		"{\"Entries\":[{\"Source\":\"s\",\"Time\":\"yesterday\"}]}",
		"SerializationException",
		"Entries[0].Time is not a valid timestamp (epoch seconds or RFC 3339)");
	expect_request_error(
		"{\"Entries\":[{\"Source\":\"s\",\"Time\":-1}]}", "SerializationException",
		"Entries[0].Time is not a valid timestamp (epoch seconds or RFC 3339)");
	expect_request_error("{\"Entries\":{}}", "SerializationException",
			     "Entries must be an array, not an object");
	expect_request_error("{\"Entries\":[7]}", "SerializationException",
			     "Entries[0] must be an object, not a number");
	expect_request_error("[]", "SerializationException",
			     "The request body is not a JSON object");
	struct eb_put_batch b;
	struct eb_error err;

	ASSERT_EQ(-1, put("{\"Entries\":[", &b, &err));
	EXPECT_STREQ("SerializationException", err.code);
	/* Jackson: the end of input inside the open array */
	EXPECT_STREQ("The request body is not valid JSON: Unexpected end-of-input: expected close "
		     "marker for Array",
		     err.message);
}

TEST(bus_arn_trace_header_and_null_resources)
{
	struct eb_put_batch b;
	struct eb_error err;
	const char *body =
		"{\"Entries\":[{\"Source\":\"s\",\"DetailType\":\"t\",\"Detail\":\"{}\","
		"\"EventBusName\":\"arn:aws:events:eu-west-1:123456789012:event-bus/orders\","
		"\"TraceHeader\":\"Root=1-5759e988-bd862e3fe1be46a994272793\","
		"\"Resources\":[null,\"r\"]}]}";

	ASSERT_EQ(0, put(body, &b, &err));
	ASSERT_TRUE(b.entries[0].ok);
	EXPECT_STREQ("orders", b.entries[0].bus_name);
	EXPECT_STREQ("Root=1-5759e988-bd862e3fe1be46a994272793", b.entries[0].trace_header);
	EXPECT_TRUE(strstr(b.entries[0].event.buf, "\"resources\":[\"r\"]") != NULL);
	eb_put_batch_free(&b);
	EXPECT_STREQ("orders", eb_bus_name_of("orders"));
	EXPECT_STREQ("a/b.c-d_e", eb_bus_name_of("a/b.c-d_e"));
	EXPECT_NULL(eb_bus_name_of("arn:aws:events:eu-west-1:123456789012:event-bus/"));
	EXPECT_NULL(eb_bus_name_of("has space"));
	EXPECT_NULL(eb_bus_name_of(""));
}

TEST(envelope_with_replay_name)
{
	struct strbuf sb = STRBUF_INIT;
	const char *res[] = { "arn:r" };

	eb_envelope_write(&sb, &(struct eb_envelope){ .id = "i",
						      .detail_type = "d\"q",
						      .source = "s",
						      .account = "1",
						      .time_s = 0,
						      .region = "r",
						      .resources = res,
						      .n_resources = 1,
						      .replay_name = "rp" });
	EXPECT_STREQ("{\"version\":\"0\",\"id\":\"i\",\"detail-type\":\"d\\\"q\",\"source\":\"s\","
		     "\"account\":\"1\",\"time\":\"1970-01-01T00:00:00Z\",\"region\":\"r\","
		     "\"resources\":[\"arn:r\"],\"detail\":{},\"replay-name\":\"rp\"}",
		     sb.buf);
	sb_free(&sb);
}

TEST(time_parse_and_format)
{
	int64_t ms;
	char out[EB_TIME_LEN];

	ASSERT_EQ(0, eb_time_parse("2000-02-29T12:00:00Z", 20, &ms));
	EXPECT_EQ(951825600000LL, ms);
	eb_time_format(ms / 1000, out);
	EXPECT_STREQ("2000-02-29T12:00:00Z", out);
	EXPECT_EQ(-1, eb_time_parse("2100-02-29T12:00:00Z", 20, &ms)); /* not a leap year */
	EXPECT_EQ(-1, eb_time_parse("2023-04-31T00:00:00Z", 20, &ms));
	EXPECT_EQ(-1, eb_time_parse("2023-01-01T24:00:00Z", 20, &ms));
	EXPECT_EQ(-1, eb_time_parse("2023-01-01T00:00:00", 19, &ms));
	EXPECT_EQ(-1, eb_time_parse("2023-01-01T00:00:00Zx", 21, &ms));
	ASSERT_EQ(0, eb_time_parse("1969-12-31T23:59:59.250Z", 24, &ms));
	EXPECT_EQ(-750, ms);
	ASSERT_EQ(0, eb_time_parse("2023-01-01t00:00:00-01:30", 25, &ms));
	EXPECT_EQ(1672536600000LL, ms);
	eb_time_format(4102444799, out);
	EXPECT_STREQ("2099-12-31T23:59:59Z", out);
}

TEST_HARNESS_MAIN

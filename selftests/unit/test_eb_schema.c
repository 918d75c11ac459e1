// SPDX-License-Identifier: BSD-2-Clause
/*
 * Schema discovery (eb_schema.h): inferred types, required properties as the
 * intersection of what was seen, new versions exactly when the shape changes,
 * arrays, the depth bound, writing and reading back, the OpenAPI document.
 */
#include "eb_schema.h"
#include "json.h"
#include "strbuf.h"
#include "../harness.h"

#include <string.h>

/* Observe @event (JSON text); the answer of eb_schema_observe. */
static int see(struct eb_schema *s, const char *event)
{
	struct json_doc *d = json_parse(event, strlen(event), true);
	int r = eb_schema_observe(s, json_doc_root(d));

	json_doc_free(d);
	return r;
}

/* The schema as JSON Schema text, in @sb. */
static const char *shape(const struct eb_schema *s, struct strbuf *sb)
{
	sb_reset(sb);
	eb_schema_write(s, sb);
	return sb->buf;
}

TEST(types_of_a_first_event)
{
	struct eb_schema *s = eb_schema_new();
	struct strbuf sb = STRBUF_INIT;

	EXPECT_EQ(1, see(s, "{\"a\":1,\"b\":1.5,\"c\":\"x\",\"d\":true,\"e\":null,\"f\":[1,2],"
			    "\"g\":{\"h\":\"y\"}}"));
	EXPECT_STREQ("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
		     "\"b\":{\"type\":\"number\"},\"c\":{\"type\":\"string\"},"
		     "\"d\":{\"type\":\"boolean\"},\"e\":{\"type\":\"null\"},"
		     "\"f\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}},"
		     "\"g\":{\"type\":\"object\",\"properties\":{\"h\":{\"type\":\"string\"}},"
		     "\"required\":[\"h\"]}},"
		     "\"required\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\"]}",
		     shape(s, &sb));
	sb_free(&sb);
	eb_schema_free(s);
}

TEST(versions_change_exactly_when_the_shape_does)
{
	struct eb_schema *s = eb_schema_new();
	struct strbuf sb = STRBUF_INIT;

	EXPECT_EQ(1, see(s, "{\"n\":1,\"s\":\"a\"}"));
	/* same shape, other values */
	EXPECT_EQ(0, see(s, "{\"s\":\"b\",\"n\":2}"));
	/* a new property: added, not required (the first event lacked it) */
	EXPECT_EQ(1, see(s, "{\"n\":3,\"s\":\"c\",\"x\":true}"));
	EXPECT_STREQ("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"},"
		     "\"s\":{\"type\":\"string\"},\"x\":{\"type\":\"boolean\"}},"
		     "\"required\":[\"n\",\"s\"]}",
		     shape(s, &sb));
	/* a property missing: no longer required */
	EXPECT_EQ(1, see(s, "{\"n\":4}"));
	EXPECT_EQ(0, see(s, "{\"n\":5}"));
	/* integer then number: number; number then integer: no change */
	EXPECT_EQ(1, see(s, "{\"n\":5.5}"));
	EXPECT_EQ(0, see(s, "{\"n\":6}"));
	/* a second type: both */
	EXPECT_EQ(1, see(s, "{\"n\":\"seven\"}"));
	EXPECT_STREQ("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":[\"number\","
		     "\"string\"]},\"s\":{\"type\":\"string\"},\"x\":{\"type\":\"boolean\"}},"
		     "\"required\":[\"n\"]}",
		     shape(s, &sb));
	sb_free(&sb);
	eb_schema_free(s);
}

TEST(array_items_merge)
{
	struct eb_schema *s = eb_schema_new();
	struct strbuf sb = STRBUF_INIT;

	EXPECT_EQ(1, see(s, "{\"l\":[{\"a\":1},{\"a\":2,\"b\":\"x\"}]}"));
	EXPECT_STREQ("{\"type\":\"object\",\"properties\":{\"l\":{\"type\":\"array\",\"items\":"
		     "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\"},"
		     "\"b\":{\"type\":\"string\"}},\"required\":[\"a\"]}}},\"required\":[\"l\"]}",
		     shape(s, &sb));
	EXPECT_EQ(0, see(s, "{\"l\":[]}"));
	sb_free(&sb);
	eb_schema_free(s);
}

TEST(depth_is_bounded)
{
	struct eb_schema *s = eb_schema_new();
	struct strbuf ev = STRBUF_INIT, sb = STRBUF_INIT;

	for (int i = 0; i < 100; i++)
		sb_adds(&ev, "{\"a\":");
	sb_adds(&ev, "1");
	for (int i = 0; i < 100; i++)
		sb_addc(&ev, '}');
	EXPECT_EQ(1, see(s, ev.buf));
	shape(s, &sb);
	/* EB_SCHEMA_MAX_DEPTH levels of objects, then nothing deeper */
	size_t objects = 0;

	for (const char *p = sb.buf; (p = strstr(p, "\"object\"")); p++)
		objects++;
	EXPECT_EQ(EB_SCHEMA_MAX_DEPTH, objects);
	sb_free(&ev);
	sb_free(&sb);
	eb_schema_free(s);
}

TEST(written_and_read_back)
{
	struct eb_schema *s = eb_schema_new(), *back;
	struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
	struct eb_error err;

	see(s, "{\"n\":1,\"l\":[1,\"x\"],\"o\":{\"p\":null}}");
	see(s, "{\"n\":2.5}");
	shape(s, &a);
	struct json_doc *d = json_parse(a.buf, a.len, true);

	back = eb_schema_read(json_doc_root(d), &err);
	ASSERT_NE_NULL(back);
	EXPECT_STREQ(a.buf, shape(back, &b));
	/* and it goes on merging where it was */
	EXPECT_EQ(0, see(back, "{\"n\":3}"));
	EXPECT_EQ(1, see(back, "{\"n\":3,\"new\":1}"));
	json_doc_free(d);
	eb_schema_free(back);
	d = json_parse("{\"type\":\"banana\"}", 17, true);
	EXPECT_NULL(eb_schema_read(json_doc_root(d), &err));
	json_doc_free(d);
	sb_free(&a);
	sb_free(&b);
	eb_schema_free(s);
}

TEST(openapi_document)
{
	struct eb_schema *s = eb_schema_new();
	struct strbuf sb = STRBUF_INIT;

	see(s, "{\"source\":\"shop\",\"detail-type\":\"order placed\",\"detail\":{\"id\":7}}");
	eb_schema_openapi(s, "shop", "order placed", &sb);
	EXPECT_STREQ("{\"openapi\":\"3.0.0\",\"info\":{\"version\":\"1.0.0\",\"title\":\"order "
		     "placed\"},"
		     "\"paths\":{},\"components\":{\"schemas\":{\"AWSEvent\":{\"type\":\"object\","
		     "\"properties\":{\"detail\":{\"$ref\":\"#/components/schemas/OrderPlaced\"},"
		     "\"detail-type\":{\"type\":\"string\"},\"source\":{\"type\":\"string\"}},"
		     "\"required\":[\"detail\",\"detail-type\",\"source\"],"
		     "\"x-amazon-events-source\":[\"shop\"],"
		     "\"x-amazon-events-detail-type\":[\"order placed\"]},"
		     "\"OrderPlaced\":{\"type\":\"object\",\"properties\":{\"id\":{\"type\":"
		     "\"integer\"}},"
		     "\"required\":[\"id\"]}}}}",
		     sb.buf);
	sb_reset(&sb);
	eb_schema_openapi(s, "shop", "1 + 1", &sb);
	EXPECT_NE_NULL(strstr(sb.buf, "\"#/components/schemas/Detail11\""));
	sb_free(&sb);
	eb_schema_free(s);
}

TEST_HARNESS_MAIN

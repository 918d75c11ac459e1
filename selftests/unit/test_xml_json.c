// SPDX-License-Identifier: BSD-2-Clause
/*
 * Query-protocol XML as JSON (xml_json.h): the shapes the control socket's
 * `sns` op gives the CLI, entities, and malformed documents refused with the
 * byte offset of the problem.
 */
#include "../harness.h"
#include "strbuf.h"
#include "xml_json.h"

#include <string.h>

static const char *const lists[] = { "Topics", NULL };
static const char *const maps[] = { "Attributes", NULL };
static const struct xml_json_shapes shapes = { lists, maps };

struct xj_case {
	const char *xml, *json;
};

static const struct xj_case cases[] = {
	{ "<a>text</a>", "{\"a\":\"text\"}" },
	{ "<?xml version=\"1.0\"?>\n<R xmlns=\"x\"><B>1</B><C/></R>",
	  "{\"R\":{\"B\":\"1\",\"C\":\"\"}}" },
	{ "<R><Topics><member><TopicArn>a</TopicArn></member><member><TopicArn>b</TopicArn>"
	  "</member></Topics></R>",
	  "{\"R\":{\"Topics\":[{\"TopicArn\":\"a\"},{\"TopicArn\":\"b\"}]}}" },
	{ "<R><Attributes><entry><key>k</key><value>v &lt;&amp;&gt; &quot;q&quot;</value></entry>"
	  "</Attributes></R>",
	  "{\"R\":{\"Attributes\":{\"k\":\"v <&> \\\"q\\\"\"}}}" },
	{ "<R><Topics></Topics><Attributes/><Other></Other></R>",
	  "{\"R\":{\"Topics\":[],\"Attributes\":{},\"Other\":\"\"}}" },
	{ "<a>&#233;&#x1F600;&apos;</a>", "{\"a\":\"\xc3\xa9\xf0\x9f\x98\x80'\"}" },
	{ "<a><!-- note --><b>x</b></a>", "{\"a\":{\"b\":\"x\"}}" },
};

TEST(shapes_and_entities)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		char err[200] = "";

		EXPECT_EQ(0, xml_to_json(cases[i].xml, strlen(cases[i].xml), &shapes, &out, err,
					 sizeof(err)));
		EXPECT_STREQ(cases[i].json, out.buf);
		if (*err)
			TH_LOG("case %zu: %s", i, err);
		sb_free(&out);
	}
}

TEST(malformed_documents_are_refused)
{
	static const struct {
		const char *xml, *why;
	} bad[] = {
		{ "", "expected an element" },
		{ "<a>x</b>", "end tag does not match" },
		{ "<a>x", "unterminated element" },
		{ "<a>&bogus;</a>", "unknown entity" },
		{ "<a>&#0;</a>", "unknown entity" },
		{ "<a b=c>x</a>", "malformed attribute" },
		{ "<a>x</a>trailing", "text after the root element" },
		{ "<?xml", "unterminated declaration" },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct strbuf out = STRBUF_INIT;
		char err[200] = "";

		EXPECT_EQ(-1, xml_to_json(bad[i].xml, strlen(bad[i].xml), NULL, &out, err,
					  sizeof(err)));
		if (!strstr(err, bad[i].why) || !strstr(err, "at byte"))
			TH_LOG("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
		EXPECT_TRUE(strstr(err, bad[i].why) != NULL);
		sb_free(&out);
	}
}

TEST(nesting_is_bounded)
{
	struct strbuf xml = STRBUF_INIT, out = STRBUF_INIT;
	char err[200];

	for (int i = 0; i < 100; i++)
		sb_adds(&xml, "<a>");
	for (int i = 0; i < 100; i++)
		sb_adds(&xml, "</a>");
	EXPECT_EQ(-1, xml_to_json(xml.buf, xml.len, NULL, &out, err, sizeof(err)));
	EXPECT_TRUE(strstr(err, "nested too deeply") != NULL);
	sb_free(&xml);
	sb_free(&out);
}

TEST_HARNESS_MAIN

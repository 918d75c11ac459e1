// SPDX-License-Identifier: BSD-2-Clause
/* Unit tests of the control-plane JSON parser (userspace/lib/json.h). */
#include "json.h"
#include "strbuf.h"
#include "../harness.h"

static struct json_doc *parse(const char *s)
{
	return json_parse(s, strlen(s), true);
}

/* ------------------------------------------------------------ scalars */

FIXTURE(scalar)
{
	struct json_doc *doc;
};

FIXTURE_VARIANT(scalar)
{
	const char *text;
	enum json_type type;
	const char *raw; /* numbers: spelling kept */
	double d;
	bool is_int;
};

FIXTURE_VARIANT_ADD(scalar, null){ .text = "null", .type = JSON_NULL };
FIXTURE_VARIANT_ADD(scalar, true_){ .text = " true ", .type = JSON_TRUE };
FIXTURE_VARIANT_ADD(scalar, false_){ .text = "\n\tfalse\r\n", .type = JSON_FALSE };
FIXTURE_VARIANT_ADD(scalar,
		    zero){ .text = "0", .type = JSON_NUMBER, .raw = "0", .d = 0, .is_int = true };
FIXTURE_VARIANT_ADD(scalar, neg_int){
	.text = "-42", .type = JSON_NUMBER, .raw = "-42", .d = -42, .is_int = true
};
FIXTURE_VARIANT_ADD(scalar,
		    decimal){ .text = "2.50", .type = JSON_NUMBER, .raw = "2.50", .d = 2.5 };
FIXTURE_VARIANT_ADD(scalar,
		    exp){ .text = "-0.5e+3", .type = JSON_NUMBER, .raw = "-0.5e+3", .d = -500 };
FIXTURE_VARIANT_ADD(scalar,
		    exp_upper){ .text = "1E2", .type = JSON_NUMBER, .raw = "1E2", .d = 100 };
FIXTURE_VARIANT_ADD(scalar,
		    exp_neg){ .text = "25e-2", .type = JSON_NUMBER, .raw = "25e-2", .d = 0.25 };
FIXTURE_VARIANT_ADD(scalar, big){
	.text = "12345678901234567890",
	.type = JSON_NUMBER,
	.raw = "12345678901234567890",
	.d = 12345678901234567890.0,
	.is_int = true,
};
FIXTURE_VARIANT_ADD(scalar, neg_zero){ .text = "-0.0", .type = JSON_NUMBER, .raw = "-0.0", .d = 0 };

FIXTURE_SETUP(scalar)
{
	self->doc = parse(variant->text);
	ASSERT_NE_NULL(self->doc);
}

FIXTURE_TEARDOWN(scalar)
{
	json_doc_free(self->doc);
}

TEST_F(scalar, parses)
{
	struct json_value *v = json_doc_root(self->doc);

	ASSERT_NULL(json_doc_error(self->doc));
	ASSERT_NE_NULL(v);
	ASSERT_EQ(variant->type, v->type);
	if (v->type != JSON_NUMBER)
		return;
	EXPECT_STREQ(variant->raw, v->u.num.raw);
	EXPECT_EQ(strlen(variant->raw), v->u.num.raw_len);
	EXPECT_TRUE(v->u.num.d == variant->d);
	EXPECT_EQ(variant->is_int, v->u.num.is_int);
}

/* ------------------------------------------------------------ strings */

FIXTURE(string)
{
	struct json_doc *doc;
};

FIXTURE_VARIANT(string)
{
	const char *text;
	const char *want;
	size_t want_len;
};

#define STR_CASE(name, t, w)                                    \
	FIXTURE_VARIANT_ADD(string, name)                       \
	{                                                       \
		.text = t, .want = w, .want_len = sizeof(w) - 1 \
	}

STR_CASE(plain, "\"hello\"", "hello");
STR_CASE(empty, "\"\"", "");
STR_CASE(simple_escapes, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", "a\"b\\c/d\b\f\n\r\t");
STR_CASE(u_ascii, "\"\\u0041\\u0062\"", "Ab");
STR_CASE(u_latin1, "\"caf\\u00e9\"", "caf\xc3\xa9");
STR_CASE(u_latin1_upper_hex, "\"caf\\u00E9\"", "caf\xc3\xa9");
STR_CASE(u_3byte, "\"\\u20ac\"", "\xe2\x82\xac");
STR_CASE(u_surrogate_pair, "\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80");
STR_CASE(u_surrogate_pair_max, "\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf");
STR_CASE(u_nul, "\"a\\u0000b\"", "a\0b");
STR_CASE(raw_utf8, "\"\xc3\xa9t\xc3\xa9\"", "\xc3\xa9t\xc3\xa9");
STR_CASE(lone_high_surrogate, "\"\\ud800x\"", "\xed\xa0\x80x");

FIXTURE_SETUP(string)
{
	self->doc = parse(variant->text);
}

FIXTURE_TEARDOWN(string)
{
	json_doc_free(self->doc);
}

TEST_F(string, unescapes)
{
	struct json_value *v = json_doc_root(self->doc);

	ASSERT_NULL(json_doc_error(self->doc));
	ASSERT_NE_NULL(v);
	ASSERT_EQ(JSON_STRING, v->type);
	ASSERT_EQ(variant->want_len, v->u.str.len);
	EXPECT_EQ(0, memcmp(variant->want, v->u.str.s, variant->want_len));
	EXPECT_EQ(0, v->u.str.s[v->u.str.len]); /* NUL-terminated */
}

TEST_F(string, json_unescape_agrees)
{
	const char *t = variant->text;
	size_t n = strlen(t) - 2;
	char out[64];

	ASSERT_LT(n, sizeof(out));
	EXPECT_EQ((long)variant->want_len, json_unescape(t + 1, n, out));
	EXPECT_EQ(0, memcmp(variant->want, out, variant->want_len));
}

TEST(json_unescape_rejects_bad_escapes)
{
	char out[16];

	EXPECT_EQ(-1, json_unescape("\\x", 2, out));
	EXPECT_EQ(-1, json_unescape("\\u12", 4, out));
	EXPECT_EQ(-1, json_unescape("\\u12g4", 6, out));
	EXPECT_EQ(-1, json_unescape("a\\", 2, out));
}

/* ------------------------------------------------------ containers */

TEST(nested_containers)
{
	const char *t = "{\"a\": [1, {\"b\": [true, null]}, []], \"c\": {}}";
	struct json_doc *doc = parse(t);
	struct json_value *r = json_doc_root(doc), *a, *b;

	ASSERT_NULL(json_doc_error(doc));
	ASSERT_EQ(JSON_OBJECT, r->type);
	ASSERT_EQ(2, r->u.obj.n);
	a = json_get(r, "a");
	ASSERT_NE_NULL(a);
	ASSERT_EQ(JSON_ARRAY, a->type);
	ASSERT_EQ(3, a->u.arr.n);
	EXPECT_EQ(JSON_NUMBER, a->u.arr.items[0]->type);
	b = json_get(a->u.arr.items[1], "b");
	ASSERT_NE_NULL(b);
	ASSERT_EQ(2, b->u.arr.n);
	EXPECT_EQ(JSON_TRUE, b->u.arr.items[0]->type);
	EXPECT_EQ(JSON_NULL, b->u.arr.items[1]->type);
	EXPECT_EQ(JSON_ARRAY, a->u.arr.items[2]->type);
	EXPECT_EQ(0, a->u.arr.items[2]->u.arr.n);
	EXPECT_EQ(JSON_OBJECT, json_get(r, "c")->type);
	EXPECT_EQ(0, json_get(r, "c")->u.obj.n);
	EXPECT_NULL(json_get(r, "zz"));
	EXPECT_NULL(json_get(a, "a")); /* not an object */
	json_doc_free(doc);
}

TEST(duplicate_keys_last_value_first_position)
{
	struct json_doc *doc = parse("{\"a\": 1, \"b\": 2, \"a\": 3, \"c\": 4, \"b\": \"x\"}");
	struct json_value *r = json_doc_root(doc);

	ASSERT_NULL(json_doc_error(doc));
	ASSERT_EQ(3, r->u.obj.n);
	EXPECT_STREQ("a", r->u.obj.members[0].key);
	EXPECT_STREQ("3", r->u.obj.members[0].value->u.num.raw);
	EXPECT_STREQ("b", r->u.obj.members[1].key);
	EXPECT_EQ(JSON_STRING, r->u.obj.members[1].value->type);
	EXPECT_STREQ("x", r->u.obj.members[1].value->u.str.s);
	EXPECT_STREQ("c", r->u.obj.members[2].key);
	json_doc_free(doc);
}

TEST(duplicate_keys_compare_unescaped)
{
	struct json_doc *doc = parse("{\"\\u0061\": 1, \"a\": 2}");
	struct json_value *r = json_doc_root(doc);

	ASSERT_NULL(json_doc_error(doc));
	ASSERT_EQ(1, r->u.obj.n);
	EXPECT_STREQ("2", r->u.obj.members[0].value->u.num.raw);
	json_doc_free(doc);
}

TEST(all_keys_keeps_every_occurrence_in_order)
{
	const char *t = "{\"a\": 1, \"b\": 2, \"a\": {\"c\": 3}} trailing";
	struct json_doc *doc = json_parse_all_keys(t, strlen(t));
	struct json_value *r = json_doc_root(doc);

	ASSERT_NULL(json_doc_error(doc));
	ASSERT_EQ(3, r->u.obj.n);
	EXPECT_STREQ("a", r->u.obj.members[0].key);
	EXPECT_STREQ("1", r->u.obj.members[0].value->u.num.raw);
	EXPECT_STREQ("b", r->u.obj.members[1].key);
	EXPECT_STREQ("a", r->u.obj.members[2].key);
	EXPECT_EQ(JSON_OBJECT, r->u.obj.members[2].value->type);
	/* json_get sees the first occurrence */
	EXPECT_STREQ("1", json_get(r, "a")->u.num.raw);
	json_doc_free(doc);
}

/* With a source description the unclosed container is located, the
 * column in UTF-16 units from 1 on its own line. */
TEST(sourced_errors_are_located)
{
	static const struct {
		const char *text, *msg;
	} cases[] = {
		{ "{\"a\": 1", "Unexpected end-of-input: expected close marker for Object (start marker "
			       "at [Source: S; line: 1, column: 1])" },
		{ "{\"a\":\n  [\"\xc3\xa9\", \"\xf0\x9f\x9a\x80\", [2",
		  "Unexpected end-of-input: expected close marker for Array (start marker at "
		  "[Source: S; line: 2, column: 15])" },
		{ "{\"a\": [\"\xf0\x9f\x9a\x80\", 1}", "Unexpected close marker '}': expected ']' "
						    "(for Array starting at [Source: S; line: 1, "
						    "column: 7])" },
		{ "\r\n  {\"a\": 1]", "Unexpected close marker ']': expected '}' (for Object starting "
				    "at [Source: S; line: 2, column: 3])" },
		{ "{\"a\": 1,", "Unexpected end-of-input within/between Object entries" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct json_doc *d = json_parse_with(cases[i].text, strlen(cases[i].text),
						     &(struct json_parse_opts){ .source = "S" });

		EXPECT_STREQ(cases[i].msg, json_doc_error(d));
		json_doc_free(d);
	}
}

static char *nest(int depth, char open, char close)
{
	char *s = xmalloc(2 * (size_t)depth + 1);

	memset(s, open, (size_t)depth);
	memset(s + depth, close, (size_t)depth);
	s[2 * depth] = 0;
	return s;
}

TEST(nesting_limit)
{
	char *ok = nest(1000, '[', ']'), *bad = nest(1001, '[', ']');
	struct json_doc *d1 = parse(ok), *d2 = parse(bad);

	EXPECT_NULL(json_doc_error(d1));
	EXPECT_NE_NULL(json_doc_root(d1));
	EXPECT_STREQ("Document nesting depth (1001) exceeds the maximum allowed "
		     "(1000, from `StreamReadConstraints.getMaxNestingDepth()`)",
		     json_doc_error(d2));
	EXPECT_NULL(json_doc_root(d2));
	json_doc_free(d1);
	json_doc_free(d2);
	free(ok);
	free(bad);
}

TEST(nesting_limit_objects)
{
	struct strbuf sb = STRBUF_INIT;
	struct json_doc *d;

	for (int i = 0; i < 1001; i++)
		sb_adds(&sb, "{\"k\":");
	sb_adds(&sb, "1");
	for (int i = 0; i < 1001; i++)
		sb_addc(&sb, '}');
	d = parse(sb.buf);
	EXPECT_STREQ("Document nesting depth (1001) exceeds the maximum allowed "
		     "(1000, from `StreamReadConstraints.getMaxNestingDepth()`)",
		     json_doc_error(d));
	json_doc_free(d);
	sb_free(&sb);
}

TEST(trailing_content)
{
	const char *t = "{\"a\":1} x";
	struct json_doc *lax = json_parse(t, strlen(t), false);
	struct json_doc *strict = json_parse(t, strlen(t), true);

	EXPECT_NULL(json_doc_error(lax));
	EXPECT_NE_NULL(json_doc_root(lax));
	EXPECT_NE_NULL(json_doc_error(strict));
	EXPECT_NULL(json_doc_root(strict));
	json_doc_free(lax);
	json_doc_free(strict);
}

TEST(not_nul_terminated)
{
	const char t[] = { '[', '1', ',', '2', ']', '9', '9' };
	struct json_doc *d = json_parse(t, 5, true);
	struct json_value *r = json_doc_root(d);

	ASSERT_NULL(json_doc_error(d));
	ASSERT_EQ(2, r->u.arr.n);
	EXPECT_STREQ("2", r->u.arr.items[1]->u.num.raw);
	json_doc_free(d);
}

/* ------------------------------------------------------------ errors */

FIXTURE(error)
{
	struct json_doc *doc;
};

FIXTURE_VARIANT(error)
{
	const char *text;
	const char *msg;
};

FIXTURE_VARIANT_ADD(error, not_json){
	.text = "this is not json",
	.msg = "Unrecognized token 'this': was expecting (JSON String, Number, "
	       "Array, Object or token 'null', 'true' or 'false')",
};
FIXTURE_VARIANT_ADD(error, single_quotes){
	.text = "{'a': 1}",
	.msg = "Unexpected character (''' (code 39)): was expecting "
	       "double-quote to start field name",
};
/* Jackson's end-of-input and closing-bracket errors (ParserBase._handleEOF,
 * _skipAfterComma2, _reportMismatchedEndMarker); json_parse leaves out the
 * location, json_parse_with adds it (sourced_errors_are_located) */
FIXTURE_VARIANT_ADD(error, unterminated_object){
	.text = "{\"a\": 1",
	.msg = "Unexpected end-of-input: expected close marker for Object",
};
FIXTURE_VARIANT_ADD(error, unterminated_object_after_comma){
	.text = "{\"a\": 1,",
	.msg = "Unexpected end-of-input within/between Object entries",
};
FIXTURE_VARIANT_ADD(error, unterminated_object_after_colon){
	.text = "{\"a\": ",
	.msg = "Unexpected end-of-input within/between Object entries",
};
FIXTURE_VARIANT_ADD(error, unterminated_array){
	.text = "[1, 2",
	.msg = "Unexpected end-of-input: expected close marker for Array",
};
FIXTURE_VARIANT_ADD(error, unterminated_inner_array_second_line){
	.text = "{\"a\":\n  [\"\u00e9\", \"\xc3\xa9\", 2",
	.msg = "Unexpected end-of-input: expected close marker for Array",
};
FIXTURE_VARIANT_ADD(error, unterminated_array_after_comma){
	.text = "[1, ",
	.msg = "Unexpected end-of-input within/between Array entries",
};
FIXTURE_VARIANT_ADD(error, mismatched_close_array){
	.text = "{\"a\": [\"\xf0\x9f\x9a\x80\", 1}",
	.msg = "Unexpected close marker '}': expected ']'",
};
FIXTURE_VARIANT_ADD(error, mismatched_close_object){
	.text = "  {\"a\": 1]",
	.msg = "Unexpected close marker ']': expected '}'",
};
FIXTURE_VARIANT_ADD(error, closer_for_a_value){
	.text = "{\"a\": }",
	.msg = "Unexpected character ('}' (code 125)): expected a value",
};
FIXTURE_VARIANT_ADD(error, unterminated_string){
	.text = "\"abc",
	.msg = "Unexpected end-of-input: was expecting closing quote for a "
	       "string value",
};
FIXTURE_VARIANT_ADD(error, empty){
	.text = "",
	.msg = "No content to map due to end-of-input",
};
FIXTURE_VARIANT_ADD(error, missing_colon){
	.text = "{\"a\" 1}",
	.msg = "Unexpected character ('1' (code 49)): was expecting a colon "
	       "to separate field name and value",
};
FIXTURE_VARIANT_ADD(error, missing_comma){
	.text = "{\"a\": 1 \"b\": 2}",
	.msg = "Unexpected character ('\"' (code 34)): was expecting comma to "
	       "separate Object entries",
};
FIXTURE_VARIANT_ADD(error, leading_zero){
	.text = "01",
	.msg = "Invalid numeric value: Leading zeroes not allowed",
};
FIXTURE_VARIANT_ADD(error, bad_escape){
	.text = "\"a\\qb\"",
	.msg = "Unrecognized character escape 'q' (code 113)",
};
FIXTURE_VARIANT_ADD(error, ctrl_char){
	.text = "\"a\tb\"",
	.msg = "Illegal unquoted character ((CTRL-CHAR, code 9)): has to be "
	       "escaped using backslash to be included in string value",
};
FIXTURE_VARIANT_ADD(error, bad_literal){
	.text = "[tru]",
	.msg = "Unrecognized token 'tru': was expecting (JSON String, Number, "
	       "Array, Object or token 'null', 'true' or 'false')",
};

FIXTURE_SETUP(error)
{
	self->doc = parse(variant->text);
}

FIXTURE_TEARDOWN(error)
{
	json_doc_free(self->doc);
}

TEST_F(error, message)
{
	EXPECT_STREQ(variant->msg, json_doc_error(self->doc));
	EXPECT_NULL(json_doc_root(self->doc));
}

/* The grammar check (json_is_object) refuses what the parser refuses. */
TEST_F(error, grammar_check_refuses_too)
{
	EXPECT_FALSE(json_is_object(variant->text, strlen(variant->text)));
}

/* json_is_object is the parser without the document: on valid objects,
 * other valid documents and thousands of byte-level mutations of an event
 * it must answer exactly what parsing and looking at the root answers. */
static bool parsed_object(const char *text, size_t len)
{
	struct json_doc *d = json_parse(text, len, true);
	const struct json_value *root = json_doc_root(d);
	bool ok = root && root->type == JSON_OBJECT;

	json_doc_free(d);
	return ok;
}

TEST(grammar_check_agrees_with_the_parser)
{
	static const char *const docs[] = {
		"{}", " {\"a\": [1, 2.5e-3, -0, true, false, null, {}]} ", "[{}]", "\"s\"",
		"{\"a\": \"\\ud83d\\ude80\"}", "{\"a\": \"\\ud83d\"}", "{\"a\": 1}x",
		"{\"a\": 1,}", "{\"a\": [1,]}", "{\"a\":01}", "{\"a\":-}", "{\"a\":1.}",
		"{\"a\":1e}", "{\"a\":truex}", "{\"a\"\t:\r\n1}", "{\"a\":1,\"a\":2}",
	};
	const char *event = "{\"version\":\"0\",\"id\":\"e1\",\"detail-type\":\"t\","
			    "\"detail\":{\"s\":\"a\\\"b\\u00e9\",\"n\":[1,-2.5e3,0.25],"
			    "\"o\":{\"t\":true,\"f\":false,\"z\":null,\"e\":[]}}}";
	static const char alphabet[] = "{}[]\",:\\ tfn0-.e1u";
	char buf[256];
	size_t n = strlen(event);
	unsigned int seed = 12345, agree = 0, objects = 0;

	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++)
		EXPECT_EQ(parsed_object(docs[i], strlen(docs[i])),
			  json_is_object(docs[i], strlen(docs[i])));
	ASSERT_LT(n, sizeof(buf));
	for (int round = 0; round < 20000; round++) {
		size_t len = n;

		memcpy(buf, event, n);
		for (int k = 0; k < 1 + round % 3 && len > 0; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % len;

			seed = seed * 1103515245u + 12345u;
			switch ((seed >> 8) % 3) {
			case 0: /* replace a byte */
				buf[at] = alphabet[(seed >> 12) % (sizeof(alphabet) - 1)];
				break;
			case 1: /* delete a byte */
				memmove(buf + at, buf + at + 1, len - at - 1);
				len--;
				break;
			default: /* cut the document */
				len = at;
				break;
			}
		}
		bool want = parsed_object(buf, len);

		agree += want == json_is_object(buf, len);
		objects += want;
	}
	EXPECT_EQ(20000u, agree);
	EXPECT_GT(objects, 100u); /* the mutations left some valid objects */
}

/* -------------------------------------------------------- json_write */

FIXTURE(write)
{
	struct strbuf a, b;
};

FIXTURE_VARIANT(write)
{
	const char *text;
	const char *compact;
};

FIXTURE_VARIANT_ADD(write, scalars){
	.text = "[ 1, 2.50, -3e2, true, false, null ]",
	.compact = "[1,2.50,-3e2,true,false,null]",
};
FIXTURE_VARIANT_ADD(write, object){
	.text = "{ \"a\" : { \"b\" : [ ] }, \"c\" : { } }",
	.compact = "{\"a\":{\"b\":[]},\"c\":{}}",
};
FIXTURE_VARIANT_ADD(write, escapes){
	.text = "[\"q\\\"b\\\\s\\/n\\nt\\tc\\u0001\\u00e9\"]",
	.compact = "[\"q\\\"b\\\\s/n\\nt\\tc\\u0001\xc3\xa9\"]",
};
FIXTURE_VARIANT_ADD(write, duplicate_key){
	.text = "{\"a\":1,\"b\":2,\"a\":[3]}",
	.compact = "{\"a\":[3],\"b\":2}",
};
FIXTURE_VARIANT_ADD(write, nul_in_key){
	.text = "{\"k\\u0000\":\"\\u0000\"}",
	.compact = "{\"k\\u0000\":\"\\u0000\"}",
};

FIXTURE_SETUP(write)
{
	self->a = (struct strbuf)STRBUF_INIT;
	self->b = (struct strbuf)STRBUF_INIT;
}

FIXTURE_TEARDOWN(write)
{
	sb_free(&self->a);
	sb_free(&self->b);
}

TEST_F(write, round_trip)
{
	struct json_doc *d1 = parse(variant->text), *d2;

	ASSERT_NULL(json_doc_error(d1));
	json_write(&self->a, json_doc_root(d1));
	json_doc_free(d1);
	EXPECT_STREQ(variant->compact, self->a.buf);
	d2 = json_parse(self->a.buf, self->a.len, true);
	ASSERT_NULL(json_doc_error(d2));
	json_write(&self->b, json_doc_root(d2));
	json_doc_free(d2);
	EXPECT_STREQ(self->a.buf, self->b.buf);
}

TEST(write_string_escapes)
{
	struct strbuf sb = STRBUF_INIT;

	json_write_string(&sb, "a\"\\\x1f\0z", 6);
	EXPECT_STREQ("\"a\\\"\\\\\\u001f\\u0000z\"", sb.buf);
	sb_free(&sb);
}

TEST_HARNESS_MAIN

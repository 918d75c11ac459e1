// SPDX-License-Identifier: BSD-2-Clause
/*
 * Target input (userspace/lib/eb_transform.h): the AWS documentation's
 * examples (selftests/data/eb-transform-examples.json), Input, InputPath,
 * JSON paths, quoting and escaping, missing paths, reserved variables and
 * PutTargets' validation errors.
 */
#include "eb_transform.h"
#include "json.h"
#include "../harness.h"

static const struct eb_input_ctx ctx = {
	.rule_arn = "arn:aws:events:eu-west-1:123456789012:rule/r1",
	.rule_name = "r1",
	.ingestion_ms = 1447277395500LL, /* 2015-11-11T21:29:55.5Z */
};

static const char *event =
	"{\"version\":\"0\",\"id\":\"e1\",\"detail-type\":\"T\",\"source\":\"s\","
	"\"account\":\"123456789012\",\"time\":\"2015-11-11T21:29:54Z\",\"region\":\"eu-west-1\","
	"\"resources\":[\"arn:r0\",\"arn:r1\"],\"detail\":{\"state\":\"RUNNING\",\"n\":12.50,"
	"\"ok\":true,\"none\":null,\"q\":\"say \\\"hi\\\" \\\\ bye\",\"obj\":{\"a\":[1,2]},"
	"\"list\":[{\"name\":\"x\"},{\"name\":\"y\"},{\"other\":1}],\"dash-key\":\"d\"}}";

/* Apply a spec to the event above; returns the output (caller frees) or NULL. */
static char *run(const struct eb_input_spec *spec, struct eb_error *err)
{
	struct eb_input *in = eb_input_compile(spec, err);
	struct strbuf out = STRBUF_INIT;

	if (!in)
		return NULL;
	if (eb_input_apply(in, event, strlen(event), &ctx, &out, err)) {
		sb_free(&out);
		out.buf = NULL;
	}
	eb_input_free(in);
	return out.buf ? out.buf : xstrndup("", 0);
}

static char *transform(const char *template, const struct eb_input_var *vars, size_t n)
{
	struct eb_error err;
	char *out = run(&(struct eb_input_spec){ .target_id = "t1",
						 .has_transformer = true,
						 .paths_map = vars,
						 .n_paths = n,
						 .input_template = template },
			&err);

	if (!out)
		TH_LOG("error: %s", err.message);
	return out;
}

#define EXPECT_OUT(want, got)             \
	do {                              \
		char *got_ = (got);       \
		EXPECT_STREQ(want, got_); \
		free(got_);               \
	} while (0)

/* ------------------------------------------------------------ AWS examples */

TEST(aws_documentation_examples)
{
	char path[512];
	const char *src = getenv("SRCTREE");
	size_t len;

	snprintf(path, sizeof(path), "%s/selftests/data/eb-transform-examples.json",
		 src ? src : ".");
	char *text = read_whole_file(path, &len);

	ASSERT_NE_NULL(text);
	struct json_doc *doc = json_parse(text, len, true);
	const struct json_value *root = json_doc_root(doc);

	ASSERT_NE_NULL(root);
	const struct json_value *cases = json_get(root, "cases");

	ASSERT_EQ(11, cases->u.arr.n);
	for (size_t i = 0; i < cases->u.arr.n; i++) {
		const struct json_value *c = cases->u.arr.items[i];
		const struct json_value *paths = json_get(c, "paths") ?: json_get(root, "paths");
		const struct json_value *detail = json_get(c, "event_detail");
		struct eb_input_var vars[8];
		struct strbuf ev = STRBUF_INIT, out = STRBUF_INIT;
		struct eb_error err;

		for (size_t k = 0; k < paths->u.obj.n; k++)
			vars[k] = (struct eb_input_var){ paths->u.obj.members[k].key,
							 paths->u.obj.members[k].value->u.str.s };
		json_write(&ev, json_get(root, "event"));
		if (detail) { /* swap the detail for the case's own */
			sb_reset(&ev);
			sb_adds(&ev, "{\"source\":\"s\",\"detail\":");
			json_write(&ev, detail);
			sb_addc(&ev, '}');
		}
		struct eb_input *in = eb_input_compile(
			&(struct eb_input_spec){
				.target_id = "t",
				.has_transformer = true,
				.paths_map = vars,
				.n_paths = paths->u.obj.n,
				.input_template = json_get(c, "template")->u.str.s,
			},
			&err);
		const struct eb_input_ctx dctx = {
			.rule_arn = json_get(root, "rule_arn")->u.str.s,
			.rule_name = json_get(root, "rule_name")->u.str.s,
		};

		TH_LOG("case: %s", json_get(c, "name")->u.str.s);
		ASSERT_NE_NULL(in);
		EXPECT_EQ(0, eb_input_apply(in, ev.buf, ev.len, &dctx, &out, &err));
		EXPECT_STREQ(json_get(c, "want")->u.str.s, out.buf);
		eb_input_free(in);
		sb_free(&ev);
		sb_free(&out);
	}
	json_doc_free(doc);
	free(text);
}

/* ------------------------------------------------------------ Input, InputPath */

TEST(no_input_fields_pass_the_event)
{
	struct eb_error err;

	EXPECT_OUT(event, run(&(struct eb_input_spec){ .target_id = "t" }, &err));
}

TEST(constant_input_is_minified)
{
	struct eb_error err;

	EXPECT_OUT("{\"a\":[1,2.0],\"b\":\"x\"}",
		   run(&(struct eb_input_spec){ .target_id = "t",
						.input = " { \"a\" : [1, 2.0], \"b\":\"x\" } " },
		       &err));
	EXPECT_OUT("\"just a string\"",
		   run(&(struct eb_input_spec){ .target_id = "t", .input = "\"just a string\"" },
		       &err));
}

FIXTURE(input_path)
{
	char *out;
};

FIXTURE_VARIANT(input_path)
{
	const char *path;
	const char *want;
};

FIXTURE_VARIANT_ADD(input_path, root){ .path = "$", .want = NULL };
FIXTURE_VARIANT_ADD(input_path, object){ .path = "$.detail.obj", .want = "{\"a\":[1,2]}" };
FIXTURE_VARIANT_ADD(input_path, string){ .path = "$.detail.state", .want = "\"RUNNING\"" };
FIXTURE_VARIANT_ADD(input_path, number_spelling){ .path = "$.detail.n", .want = "12.50" };
FIXTURE_VARIANT_ADD(input_path, index){ .path = "$.resources[1]", .want = "\"arn:r1\"" };
FIXTURE_VARIANT_ADD(input_path, index_then_key){ .path = "$.detail.list[1].name", .want = "\"y\"" };
FIXTURE_VARIANT_ADD(input_path, nested_index){ .path = "$.detail.obj.a[0]", .want = "1" };
FIXTURE_VARIANT_ADD(input_path, wildcard){ .path = "$.detail.list[*].name",
					   .want = "[\"x\",\"y\"]" };
FIXTURE_VARIANT_ADD(input_path, dot_wildcard){ .path = "$.resources.*",
					       .want = "[\"arn:r0\",\"arn:r1\"]" };
FIXTURE_VARIANT_ADD(input_path, dash_key){ .path = "$.detail.dash-key", .want = "\"d\"" };
FIXTURE_VARIANT_ADD(input_path, detail_type){ .path = "$.detail-type", .want = "\"T\"" };
FIXTURE_VARIANT_ADD(input_path, missing_is_null){ .path = "$.detail.nope", .want = "null" };
FIXTURE_VARIANT_ADD(input_path, index_out_of_range){ .path = "$.resources[7]", .want = "null" };
FIXTURE_VARIANT_ADD(input_path, key_on_array){ .path = "$.resources.x", .want = "null" };
FIXTURE_VARIANT_ADD(input_path, wildcard_no_match){ .path = "$.detail.list[*].zzz",
						    .want = "null" };

FIXTURE_SETUP(input_path)
{
	struct eb_error err;

	self->out =
		run(&(struct eb_input_spec){ .target_id = "t", .input_path = variant->path }, &err);
	ASSERT_NE_NULL(self->out);
}

FIXTURE_TEARDOWN(input_path)
{
	free(self->out);
}

TEST_F(input_path, selects)
{
	EXPECT_STREQ(variant->want ? variant->want : event, self->out);
}

/* ------------------------------------------------------------ templates */

static const struct eb_input_var vars[] = {
	{ "state", "$.detail.state" },	{ "n", "$.detail.n" },
	{ "ok", "$.detail.ok" },	{ "none", "$.detail.none" },
	{ "q", "$.detail.q" },		{ "obj", "$.detail.obj" },
	{ "missing", "$.detail.nope" }, { "names", "$.detail.list[*].name" },
	{ "r0", "$.resources[0]" },
};
#define NV (sizeof(vars) / sizeof(*vars))

TEST(json_template_values_outside_quotes_are_json)
{
	EXPECT_OUT("{\"s\":\"RUNNING\",\"n\":12.50,\"ok\":true,\"none\":null,\"missing\":null,"
		   "\"obj\":{\"a\":[1,2]},\"names\":[\"x\",\"y\"],\"q\":\"say \\\"hi\\\" \\\\ "
		   "bye\",\"r0\":\"arn:r0\"}",
		   transform("{\"s\": <state>, \"n\": <n>, \"ok\": <ok>, \"none\": <none>, "
			     "\"missing\": <missing>, \"obj\": <obj>, \"names\": <names>, "
			     "\"q\": <q>, \"r0\": <r0>}",
			     vars, NV));
}

TEST(json_template_values_inside_quotes_are_escaped_text)
{
	EXPECT_OUT("{\"m\":\"s=RUNNING n=12.50 ok=true none=null missing= obj={\\\"a\\\":[1,2]} "
		   "q=say \\\"hi\\\" \\\\ bye\"}",
		   transform("{\"m\": \"s=<state> n=<n> ok=<ok> none=<none> missing=<missing> "
			     "obj=<obj> q=<q>\"}",
			     vars, NV));
}

TEST(string_template_values_are_bare_text)
{
	EXPECT_OUT("\"s=RUNNING n=12.50 ok=true none=null missing= obj={\"a\":[1,2]} "
		   "names=[\"x\",\"y\"]\"",
		   transform("\"s=<state> n=<n> ok=<ok> none=<none> missing=<missing> obj=<obj> "
			     "names=<names>\"",
			     vars, NV));
	/* EventBridge does not escape a string value in a string template. */
	EXPECT_OUT("q=say \"hi\" \\ bye", transform("q=<q>", vars, NV));
}

TEST(reserved_variables)
{
	EXPECT_OUT("{\"arn\":\"arn:aws:events:eu-west-1:123456789012:rule/r1\",\"name\":\"r1\","
		   "\"at\":\"2015-11-11T21:29:55Z\",\"text\":\"r1 at 2015-11-11T21:29:55Z\"}",
		   transform("{\"arn\": <aws.events.rule-arn>, \"name\": <aws.events.rule-name>, "
			     "\"at\": <aws.events.event.ingestion-time>, "
			     "\"text\": \"<aws.events.rule-name> at "
			     "<aws.events.event.ingestion-time>\"}",
			     NULL, 0));
	struct strbuf want = STRBUF_INIT;

	sb_printf(&want, "{\"event\":%s}", event);
	EXPECT_OUT(want.buf, transform("{\"event\": <aws.events.event.json>}", NULL, 0));
	sb_free(&want);
	EXPECT_OUT("{\"e\":{\"version\":\"0\",\"id\":\"e1\",\"detailType\":\"T\",\"source\":\"s\","
		   "\"account\":\"123456789012\",\"time\":\"2015-11-11T21:29:54Z\","
		   "\"region\":\"eu-west-1\",\"resources\":[\"arn:r0\",\"arn:r1\"]}}",
		   transform("{\"e\":<aws.events.event>}", NULL, 0));
}

TEST(text_that_is_not_a_placeholder_stays)
{
	EXPECT_OUT("1 < 2 and <> and <a b> are RUNNING",
		   transform("1 < 2 and <> and <a b> are <state>", vars, NV));
	EXPECT_OUT("{\"t\":\"<<RUNNING>>\"}", transform("{\"t\": \"<<<state>>>\"}", vars, NV));
}

TEST(same_variable_many_times)
{
	EXPECT_OUT("{\"a\":[\"RUNNING\",\"RUNNING\"],\"b\":\"RUNNING/RUNNING\"}",
		   transform("{\"a\":[<state>,<state>],\"b\":\"<state>/<state>\"}", vars, NV));
}

/* ------------------------------------------------------------ validation */

FIXTURE(invalid)
{
	struct eb_error err;
};

FIXTURE_VARIANT(invalid)
{
	struct eb_input_spec spec;
	const char *message;
};

static const struct eb_input_var bad_key_dot[] = { { "a.b", "$.x" } };
static const struct eb_input_var bad_key_aws[] = { { "AWSThing", "$.x" } };
static const struct eb_input_var bad_key_empty[] = { { "", "$.x" } };
static const struct eb_input_var bad_path_bracket[] = { { "k", "$['detail']" } };
static const struct eb_input_var bad_path_nodollar[] = { { "k", "detail.state" } };
static const struct eb_input_var bad_path_trailing_dot[] = { { "k", "$.detail." } };
static const struct eb_input_var ok_k[] = { { "k", "$.detail" } };

FIXTURE_VARIANT_ADD(invalid, input_and_path){
	.spec = { .target_id = "t1", .input = "{}", .input_path = "$" },
	.message = "Only one of Input, InputPath, or InputTransformer must be provided for target "
		   "t1.",
};
FIXTURE_VARIANT_ADD(invalid, path_and_transformer){
	.spec = { .target_id = "t1",
		  .input_path = "$",
		  .has_transformer = true,
		  .input_template = "\"x\"" },
	.message = "Only one of Input, InputPath, or InputTransformer must be provided for target "
		   "t1.",
};
FIXTURE_VARIANT_ADD(invalid, input_not_json){
	.spec = { .target_id = "t1", .input = "{\"a\":" },
	.message = "Input for target t1 is not a valid JSON text.",
};
FIXTURE_VARIANT_ADD(invalid, input_path_bracket){
	.spec = { .target_id = "t1", .input_path = "$['detail']" },
	.message = "InputPath for target t1 is not a valid JSON path: unexpected '[' at offset 1 "
		   "(use dot notation, array indices and *).",
};
FIXTURE_VARIANT_ADD(invalid, input_path_no_dollar){
	.spec = { .target_id = "t1", .input_path = "detail" },
	.message = "InputPath for target t1 is not a valid JSON path: it must start with $.",
};
FIXTURE_VARIANT_ADD(invalid, key_with_dot){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_key_dot,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid key a.b: keys match "
		   "[A-Za-z0-9_-]+, are at most 256 characters and do not start with AWS.",
};
FIXTURE_VARIANT_ADD(invalid, key_aws){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_key_aws,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid key AWSThing: keys match "
		   "[A-Za-z0-9_-]+, are at most 256 characters and do not start with AWS.",
};
FIXTURE_VARIANT_ADD(invalid, key_empty){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_key_empty,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid key : keys match "
		   "[A-Za-z0-9_-]+, are at most 256 characters and do not start with AWS.",
};
FIXTURE_VARIANT_ADD(invalid, map_bracket_path){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_path_bracket,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid JSON path for key k: unexpected "
		   "'[' at offset 1 (use dot notation, array indices and *).",
};
FIXTURE_VARIANT_ADD(invalid, map_path_no_dollar){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_path_nodollar,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid JSON path for key k: it must start "
		   "with $.",
};
FIXTURE_VARIANT_ADD(invalid, map_path_trailing_dot){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = bad_path_trailing_dot,
		  .n_paths = 1,
		  .input_template = "\"x\"" },
	.message = "InputPathsMap for target t1 has an invalid JSON path for key k: expected a "
		   "name after '.' at offset 9.",
};
FIXTURE_VARIANT_ADD(invalid, undefined_placeholder){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = ok_k,
		  .n_paths = 1,
		  .input_template = "\"<k> and <other>\"" },
	.message = "InputTemplate for target t1 contains invalid placeholder other.",
};
FIXTURE_VARIANT_ADD(invalid, template_not_json){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = ok_k,
		  .n_paths = 1,
		  .input_template = "{\"a\": <k>," },
	/* Jackson: the end of input after a comma */
	.message = "Invalid InputTemplate for target t1 : Unexpected end-of-input within/between "
		   "Object entries",
};
FIXTURE_VARIANT_ADD(invalid, placeholder_as_key){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .paths_map = ok_k,
		  .n_paths = 1,
		  .input_template = "{<k>: 1}" },
	.message = "Invalid InputTemplate for target t1 : Unexpected character ('n' (code 110)): "
		   "was expecting double-quote to start field name",
};
FIXTURE_VARIANT_ADD(invalid, event_in_string){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .input_template = "{\"a\": \"<aws.events.event>\"}" },
	.message = "InputTemplate for target t1 uses <aws.events.event> inside a string; it can "
		   "only be the value of a JSON field.",
};
FIXTURE_VARIANT_ADD(invalid, event_json_in_string_template){
	.spec = { .target_id = "t1",
		  .has_transformer = true,
		  .input_template = "\"e=<aws.events.event.json>\"" },
	.message = "InputTemplate for target t1 uses <aws.events.event.json> inside a string; it "
		   "can only be the value of a JSON field.",
};
FIXTURE_VARIANT_ADD(invalid, empty_template){
	.spec = { .target_id = "t1", .has_transformer = true, .input_template = "" },
	.message = "InputTemplate for target t1 must be 1 to 8192 characters long.",
};
FIXTURE_VARIANT_ADD(invalid, missing_template){
	.spec = { .target_id = "t1", .has_transformer = true },
	.message = "InputTemplate for target t1 must be 1 to 8192 characters long.",
};

FIXTURE_SETUP(invalid)
{
}

FIXTURE_TEARDOWN(invalid)
{
}

TEST_F(invalid, rejected_at_compile)
{
	EXPECT_NULL(eb_input_compile(&variant->spec, &self->err));
	EXPECT_STREQ("ValidationException", self->err.code);
	EXPECT_STREQ(variant->message, self->err.message);
}

TEST(limits)
{
	struct eb_input_var many[EB_PATHS_MAP_MAX + 1];
	char names[EB_PATHS_MAP_MAX + 1][8];
	struct eb_error err;
	struct eb_input *in;

	for (int i = 0; i <= EB_PATHS_MAP_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "v%d", i);
		many[i] = (struct eb_input_var){ names[i], "$.detail.state" };
	}
	in = eb_input_compile(&(struct eb_input_spec){ .target_id = "t",
						       .has_transformer = true,
						       .paths_map = many,
						       .n_paths = 100,
						       .input_template = "\"<v0>-<v99>\"" },
			      &err);
	ASSERT_NE_NULL(in);
	struct strbuf out = STRBUF_INIT;

	EXPECT_EQ(0, eb_input_apply(in, event, strlen(event), &ctx, &out, &err));
	EXPECT_STREQ("\"RUNNING-RUNNING\"", out.buf);
	sb_free(&out);
	eb_input_free(in);
	EXPECT_NULL(eb_input_compile(&(struct eb_input_spec){ .target_id = "t",
							      .has_transformer = true,
							      .paths_map = many,
							      .n_paths = 101,
							      .input_template = "\"x\"" },
				     &err));
	EXPECT_STREQ("InputPathsMap for target t has 101 entries; at most 100 are allowed.",
		     err.message);
	char *big = xcalloc(EB_TEMPLATE_MAX + 2, 1);

	memset(big, 'x', EB_TEMPLATE_MAX + 1);
	EXPECT_NULL(eb_input_compile(&(struct eb_input_spec){ .target_id = "t",
							      .has_transformer = true,
							      .input_template = big },
				     &err));
	EXPECT_STREQ("InputTemplate for target t must be 1 to 8192 characters long.", err.message);
	free(big);
}

TEST(compile_from_put_targets_json)
{
	const char *t = "{\"Id\":\"q1\",\"Arn\":\"arn:aws:sqs:eu-west-1:123456789012:q\","
			"\"InputTransformer\":{\"InputPathsMap\":{\"st\":\"$.detail.state\"},"
			"\"InputTemplate\":\"{\\\"s\\\": <st>}\"}}";
	struct json_doc *d = json_parse(t, strlen(t), true);
	struct eb_error err;
	struct eb_input *in = eb_input_compile_json(json_doc_root(d), &err);
	struct strbuf out = STRBUF_INIT;

	ASSERT_NE_NULL(in);
	EXPECT_EQ(0, eb_input_apply(in, event, strlen(event), &ctx, &out, &err));
	EXPECT_STREQ("{\"s\":\"RUNNING\"}", out.buf);
	sb_free(&out);
	eb_input_free(in);
	json_doc_free(d);
	t = "{\"Id\":\"q2\",\"InputTransformer\":{\"InputPathsMap\":{\"st\":5},"
	    "\"InputTemplate\":\"x\"}}";
	d = json_parse(t, strlen(t), true);
	EXPECT_NULL(eb_input_compile_json(json_doc_root(d), &err));
	EXPECT_STREQ("InputPathsMap for target q2: the value of key st must be a string.",
		     err.message);
	json_doc_free(d);
}

TEST(apply_rejects_a_non_object_event)
{
	struct eb_error err;
	struct eb_input *in = eb_input_compile(&(struct eb_input_spec){ .target_id = "t" }, &err);
	struct strbuf out = STRBUF_INIT;

	ASSERT_NE_NULL(in);
	EXPECT_EQ(-1, eb_input_apply(in, "[1]", 3, &ctx, &out, &err));
	EXPECT_STREQ("The event is not a JSON object", err.message);
	sb_free(&out);
	eb_input_free(in);
}

TEST_HARNESS_MAIN

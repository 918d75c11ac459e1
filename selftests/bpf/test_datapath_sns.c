// SPDX-License-Identifier: BSD-2-Clause
/*
 * SNS topics in bpf/bpfbus.bpf.c under BPF_PROG_TEST_RUN, table-driven: one
 * topic holds MessageAttributes-scope and MessageBody-scope policies side by
 * side; each case publishes a real wire datagram (attributes and Message)
 * and states the program's verdict, the exact set of policies it matched
 * and, for VERIFY, the reason. Every case the kernel decides is also checked
 * against the userspace matcher (bb_match_sns). A topic with 10,000
 * policies loads and decides in the kernel.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfbus/attrs.h"
#include "bpfbus/datapath.h"
#include "kdatapath.h"
#include "ruleset.h"
#include "strbuf.h"
#include "../harness.h"

#define TOPIC "orders-topic"
#define TOPIC_ID 3

struct policy {
	enum bb_scope scope;
	const char *text;
};

#define A BB_SCOPE_MESSAGE_ATTRIBUTES
#define B BB_SCOPE_MESSAGE_BODY

/* One topic; rule id = index. */
static const struct policy policies[] = {
	/* 0 */ { A, "{\"store\": [\"example_corp\"]}" },
	/* 1 */ { A, "{\"store\": [{\"prefix\": \"ex\"}]}" },
	/* 2 */ { A, "{\"store\": [{\"suffix\": \"corp\"}]}" },
	/* 3 */ { A, "{\"store\": [{\"equals-ignore-case\": \"EXAMPLE_CORP\"}]}" },
	/* 4 */ { A, "{\"store\": [{\"anything-but\": [\"example_corp\", \"other\"]}]}" },
	/* 5 */ { A, "{\"price\": [{\"numeric\": [\">\", 10, \"<=\", 100]}]}" },
	/* 6 */ { A, "{\"price\": [{\"exists\": false}]}" },
	/* 7 */ { A, "{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}]}" },
	/* 8 */ { A, "{\"store\": [{\"exists\": true}], \"kind\": [\"a\"]}" },
	/* 9 */ { B, "{\"store\": [\"example_corp\"]}" },
	/* 10 */ { B, "{\"n\": [{\"numeric\": [\">\", 5]}]}" },
	/* 11 */ { A, "{\"store\": [{\"anything-but\": {\"prefix\": \"ex\"}}]}" },
	/* 12 */ { A, "{\"price\": [300]}" },
	/* 13 */ { A, "{\"a.b\": [\"dotted\"]}" },
};

#define N_POLICIES (sizeof(policies) / sizeof(*policies))
#define IDS(...) ((1u << N_POLICIES) | __VA_ARGS__) /* bit N_POLICIES: set given */
#define BIT(i) (1u << (i))

struct sns_case {
	const char *name;
	const char *attrs; /* NULL: no attributes section */
	const char *message;
	enum kverdict verdict;
	uint32_t ids; /* MATCH: exactly these policies */
	uint32_t verify; /* VERIFY: this reason bit */
};

static const struct sns_case cases[] = {
	{ "exact prefix suffix eic", "{\"store\":{\"Type\":\"String\",\"Value\":\"example_corp\"}}",
	  "hi", KV_MATCH, IDS(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6)), 0 },
	{ "Value before Type, extra member",
	  "{\"store\":{\"Value\":\"example_corp\",\"Type\":\"String\",\"Extra\":\"1\"}}", "hi",
	  KV_MATCH, IDS(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6)), 0 },
	{ "a custom String label",
	  "{\"store\":{\"Type\":\"String.id\",\"Value\":\"example_corp\"}}", "hi", KV_MATCH,
	  IDS(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6)), 0 },
	{ "equals-ignore-case, anything-but, body scope",
	  "{\"store\":{\"Type\":\"String\",\"Value\":\"Example_Corp\"}}",
	  "{\"store\":\"example_corp\"}", KV_MATCH,
	  IDS(BIT(3) | BIT(4) | BIT(6) | BIT(9) | BIT(11)), 0 },
	/* without attributes no attribute-scope policy matches (SNS "Key
	 * matching"), not even exists:false (6): the kernel hands that over */
	{ "body fields never satisfy attribute policies", "{}",
	  "{\"store\":\"example_corp\",\"n\":1}", KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_NONE },
	{ "no attributes section at all", NULL, "{\"n\":6}", KV_VERIFY, 0,
	  BPFBUS_VERIFY_ATTR_NONE },
	{ "an attributes object of blanks", " {\n } ", "x", KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_NONE },
	{ "numeric range, body numeric", "{\"price\":{\"Type\":\"Number\",\"Value\":\"50\"}}",
	  "{\"n\":7}", KV_MATCH, IDS(BIT(5) | BIT(10)), 0 },
	{ "a Number in exponent form", "{\"price\":{\"Type\":\"Number\",\"Value\":\"3e2\"}}",
	  "plain text", KV_MATCH, IDS(BIT(12)), 0 },
	{ "a Number label", "{\"price\":{\"Type\":\"Number.usd\",\"Value\":\"300.0\"}}", "x",
	  KV_MATCH, IDS(BIT(12)), 0 },
	{ "a Number that is not one is a string",
	  "{\"price\":{\"Type\":\"Number\",\"Value\":\"abc\"}}", "x", KV_DROP, 0, 0 },
	{ "cidr", "{\"ip\":{\"Type\":\"String\",\"Value\":\"10.0.0.7\"}}", "x", KV_MATCH,
	  IDS(BIT(6) | BIT(7)), 0 },
	{ "cidr outside",
	  "{\"ip\":{\"Type\":\"String\",\"Value\":\"10.0.1.7\"},"
	  "\"price\":{\"Type\":\"Number\",\"Value\":\"1\"}}",
	  "x", KV_DROP, 0, 0 },
	{ "Binary is no attribute for policies",
	  "{\"price\":{\"Type\":\"Binary\",\"Value\":\"AAA=\"}}", "x", KV_MATCH, IDS(BIT(6)), 0 },
	{ "an unknown Type is no attribute either",
	  "{\"price\":{\"Type\":\"Numbers\",\"Value\":\"300\"}}", "x", KV_MATCH, IDS(BIT(6)), 0 },
	{ "exists and a second key",
	  "{\"kind\":{\"Type\":\"String\",\"Value\":\"a\"},"
	  "\"store\":{\"Type\":\"String\",\"Value\":\"zzz\"}}",
	  "x", KV_MATCH, IDS(BIT(4) | BIT(6) | BIT(8) | BIT(11)), 0 },
	{ "names are case-sensitive",
	  "{\"Store\":{\"Type\":\"String\",\"Value\":\"example_corp\"}}", "x", KV_MATCH,
	  IDS(BIT(6)), 0 },
	{ "a dotted name", "{\"a.b\":{\"Type\":\"String\",\"Value\":\"dotted\"}}", "x", KV_MATCH,
	  IDS(BIT(6) | BIT(13)), 0 },
	{ "an escaped Value is decoded",
	  "{\"store\":{\"Type\":\"String\",\"Value\":\"example\\u005fcorp\"}}", "x", KV_MATCH,
	  IDS(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(6)), 0 },
	{ "unused attributes of any shape are skipped",
	  "{\"other\":{\"Type\":\"String.Array\",\"Value\":\"[1]\"},\"x\":{\"Type\":\"Binary\","
	  "\"Value\":\"AA==\"}}",
	  "x", KV_MATCH, IDS(BIT(6)), 0 },
	/* String.Array: each element a value of the attribute, in one array */
	{ "String.Array of strings",
	  "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"[\\\"example_corp\\\", "
	  "\\\"x\\\"]\"}}",
	  "x", KV_MATCH, IDS(BIT(0) | BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(6) | BIT(11)), 0 },
	{ "String.Array of numbers",
	  "{\"price\":{\"Type\":\"String.Array\",\"Value\":\"[5, 3e2]\"}}", "x", KV_MATCH,
	  IDS(BIT(12)), 0 },
	{ "String.Array of literals and blanks",
	  "{\"kind\":{\"Type\":\"String.Array\",\"Value\":\" [ true, null ,\\\"a\\\" ] \"},"
	  "\"store\":{\"Type\":\"String\",\"Value\":\"x\"}}",
	  "x", KV_MATCH, IDS(BIT(4) | BIT(6) | BIT(8) | BIT(11)), 0 },
	{ "an empty String.Array", "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"[]\"}}", "x",
	  KV_MATCH, IDS(BIT(6)), 0 },
	{ "a String.Array that is not JSON is no attribute",
	  "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"['example_corp']\"}}", "x", KV_MATCH,
	  IDS(BIT(6)), 0 },
	{ "a String.Array with a trailing comma is no attribute",
	  "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"[\\\"example_corp\\\",]\"}}", "x",
	  KV_MATCH, IDS(BIT(6)), 0 },
	/* VERIFY: the kernel asks userspace, with the reason */
	{ "nested arrays in a String.Array",
	  "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"[[\\\"example_corp\\\"]]\"}}", "x",
	  KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_TYPE },
	{ "an escape inside a String.Array string",
	  "{\"store\":{\"Type\":\"String.Array\",\"Value\":\"[\\\"a\\\\n\\\"]\"}}", "x", KV_VERIFY,
	  0, BPFBUS_VERIFY_ATTR_TYPE },
	{ "an escaped Type", "{\"store\":{\"Type\":\"Strin\\u0067\",\"Value\":\"x\"}}", "x",
	  KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_TYPE },
	{ "a duplicated attribute",
	  "{\"store\":{\"Type\":\"String\",\"Value\":\"a\"},"
	  "\"store\":{\"Type\":\"String\",\"Value\":\"b\"}}",
	  "x", KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_SHAPE },
	{ "a duplicated Value", "{\"store\":{\"Type\":\"String\",\"Value\":\"a\",\"Value\":\"b\"}}",
	  "x", KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_SHAPE },
	{ "no Type", "{\"store\":{\"Value\":\"example_corp\"}}", "x", KV_VERIFY, 0,
	  BPFBUS_VERIFY_ATTR_SHAPE },
	{ "no Value", "{\"store\":{\"Type\":\"String\"}}", "x", KV_VERIFY, 0,
	  BPFBUS_VERIFY_ATTR_SHAPE },
	{ "a Value that is not a string", "{\"price\":{\"Type\":\"Number\",\"Value\":300}}", "x",
	  KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_SHAPE },
	{ "a value right at the attribute", "{\"store\":\"example_corp\"}", "x", KV_VERIFY, 0,
	  BPFBUS_VERIFY_ATTR_SHAPE },
	{ "attributes in an array", "{\"store\":[{\"Type\":\"String\",\"Value\":\"x\"}]}", "x",
	  KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_SHAPE },
	{ "a Number with blanks", "{\"price\":{\"Type\":\"Number\",\"Value\":\" 50\"}}", "x",
	  KV_VERIFY, 0, BPFBUS_VERIFY_ATTR_NUMBER },
	/* malformed attributes: the slow path, where the daemon refuses them */
	{ "attributes not JSON", "{\"store\":", "x", KV_PASS, 0, 0 },
	{ "attributes not an object", "[1]", "x", KV_PASS, 0, 0 },
};

static struct bb_ruleset *topic_ruleset(const struct policy *p, size_t n)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_error err;

	for (size_t i = 0; i < n; i++)
		if (bb_ruleset_add_policy(rs, "p", p[i].text, strlen(p[i].text), p[i].scope,
					  BB_API_SUBSCRIBE, &err) != (int)i) {
			TH_LOG("policy %zu: %s", i, err.msg);
			bb_ruleset_free(rs);
			return NULL;
		}
	bb_ruleset_compile(rs);
	return rs;
}

static struct kdp *open_topic(int *skip)
{
	char err[256];
	struct kdp *k = kdp_open(BPFBUS_BUS_TOPIC, TOPIC, TOPIC_ID, err, sizeof(err));

	*skip = !k && strstr(err, "CAP_BPF");
	if (!k)
		TH_LOG("%s", err);
	return k;
}

static uint32_t id_bits(const uint32_t *ids, size_t n)
{
	uint32_t bits = 1u << N_POLICIES;

	for (size_t i = 0; i < n; i++)
		bits |= ids[i] < N_POLICIES ? 1u << ids[i] : 0;
	return bits;
}

TEST(topic_cases)
{
	int skip;
	struct kdp *k = open_topic(&skip);

	if (skip)
		SKIP("BPF not permitted (euid %u): run as root or with CAP_BPF", geteuid());
	ASSERT_NE_NULL(k);
	struct bb_ruleset *rs = topic_ruleset(policies, N_POLICIES);
	char err[256];

	ASSERT_NE_NULL(rs);
	ASSERT_EQ(0, kdp_load(k, rs, err, sizeof(err)));
	struct bb_match_ctx *ctx = bb_match_ctx_new(rs);

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct sns_case *c = &cases[i];
		size_t alen = c->attrs ? strlen(c->attrs) : 0;
		struct kresult r;

		TH_LOG("case %zu: %s", i, c->name);
		ASSERT_EQ(0, kdp_send(k, c->attrs, alen, c->message, strlen(c->message), &r));
		EXPECT_EQ(c->verdict, r.verdict);
		if (c->verdict == KV_MATCH)
			EXPECT_EQ(c->ids, id_bits(r.ids, r.n_ids));
		if (c->verdict == KV_VERIFY)
			EXPECT_EQ(c->verify, r.verify & c->verify);
		if (r.verdict != KV_MATCH && r.verdict != KV_DROP)
			continue;
		/* what the kernel decided is what the reference decides */
		const uint32_t *ids;
		int n = bb_match_sns(ctx, c->attrs, alen, c->message, strlen(c->message), &ids,
				     NULL);

		ASSERT_GE(n, 0);
		EXPECT_EQ(id_bits(ids, (size_t)n), id_bits(r.ids, r.n_ids));
	}
	bb_match_ctx_free(ctx);
	bb_ruleset_free(rs);
	kdp_close(k);
}

/*
 * 10,000 subscriptions' policies on one topic, both scopes and several
 * operators over 100 attribute names and 100 body fields: the tables load,
 * and the kernel decides publishes by itself, exactly as the reference.
 */
TEST_TIMEOUT(topic_10000_policies, 600)
{
	enum { N = 10000, NAMES = 100 };
	struct policy *p = calloc(N, sizeof(*p));
	char **text = calloc(N, sizeof(*text));
	int skip;

	ASSERT_NE_NULL(p);
	ASSERT_NE_NULL(text);
	for (int i = 0; i < N; i++) {
		struct strbuf sb = STRBUF_INIT;

		switch (i % 4) {
		case 0:
			sb_printf(&sb, "{\"a%d\": [\"v%d\"]}", i % NAMES, i);
			break;
		case 1:
			sb_printf(&sb, "{\"a%d\": [{\"prefix\": \"v%d\"}]}", i % NAMES, i / 10);
			break;
		case 2:
			sb_printf(&sb, "{\"n%d\": [{\"numeric\": [\">=\", %d]}]}", i % NAMES, i);
			break;
		default:
			sb_printf(&sb, "{\"b%d\": [\"v%d\"]}", i % NAMES, i);
			break;
		}
		text[i] = sb.buf;
		p[i] = (struct policy){ i % 4 == 3 ? B : A, text[i] };
	}
	struct kdp *k = open_topic(&skip);

	if (skip)
		SKIP("BPF not permitted (euid %u): run as root or with CAP_BPF", geteuid());
	ASSERT_NE_NULL(k);
	struct bb_ruleset *rs = topic_ruleset(p, N);
	char err[256];

	ASSERT_NE_NULL(rs);
	ASSERT_EQ(N, (int)bb_ruleset_rule_count(rs));
	ASSERT_EQ(0, kdp_load(k, rs, err, sizeof(err)));
	struct bb_match_ctx *ctx = bb_match_ctx_new(rs);
	static const struct {
		const char *attrs, *message;
		int at_least; /* matched policies */
	} pubs[] = {
		/* policy 4000 (exact), the prefixes "v40", "v400" (1, 4001, ...) */
		{ "{\"a0\":{\"Type\":\"String\",\"Value\":\"v4000\"}}", "hello", 1 },
		/* every numeric policy of n2 up to 5000 */
		{ "{\"n2\":{\"Type\":\"Number\",\"Value\":\"5000\"}}", "{\"b3\":\"v3\"}", 2 },
		/* body scope only */
		{ "{}", "{\"b7\":\"v9907\"}", 1 },
		/* nothing */
		{ "{\"zz\":{\"Type\":\"String\",\"Value\":\"v1\"}}", "{\"b7\":\"v1\"}", 0 },
	};

	for (size_t i = 0; i < sizeof(pubs) / sizeof(*pubs); i++) {
		struct kresult r;
		const uint32_t *ids;
		size_t alen = strlen(pubs[i].attrs), mlen = strlen(pubs[i].message);

		TH_LOG("publish %zu: %s %s", i, pubs[i].attrs, pubs[i].message);
		ASSERT_EQ(0, kdp_send(k, pubs[i].attrs, alen, pubs[i].message, mlen, &r));
		EXPECT_EQ(pubs[i].at_least ? KV_MATCH : KV_DROP, r.verdict);
		int n = bb_match_sns(ctx, pubs[i].attrs, alen, pubs[i].message, mlen, &ids, NULL);

		ASSERT_GE(n, pubs[i].at_least);
		ASSERT_EQ((size_t)n, r.n_ids);
		/* the same ids, in any order */
		uint8_t *seen = calloc(N, 1);

		ASSERT_NE_NULL(seen);
		for (int j = 0; j < n; j++)
			seen[ids[j]] = 1;
		for (size_t j = 0; j < r.n_ids; j++)
			EXPECT_EQ(1, r.ids[j] < N ? seen[r.ids[j]] : 0);
		free(seen);
	}
	bb_match_ctx_free(ctx);
	bb_ruleset_free(rs);
	kdp_close(k);
	for (int i = 0; i < N; i++)
		free(text[i]);
	free(text);
	free(p);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: BSD-2-Clause
/* The reference matcher through its public API (userspace/lib/ruleset.h). */
#include "ruleset.h"
#include "strbuf.h"
#include "../harness.h"

#define MAXP 10
#define MAXE 14

struct ev_case {
	const char *event;
	unsigned want; /* bit i: pattern i matches */
};

/* Adds @pats, compiles, matches each event and compares the id set. */
static void run_table(struct th_meta *_metadata, const char *const *pats, const struct ev_case *evs)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_match_ctx *ctx;
	int ids[MAXP];
	size_t np = 0;
	struct bb_error err;

	(void)_metadata;
	for (; np < MAXP && pats[np]; np++) {
		char name[16];

		snprintf(name, sizeof(name), "r%zu", np);
		err.msg[0] = 0;
		ids[np] = bb_ruleset_add_pattern(rs, name, pats[np], strlen(pats[np]), &err);
		if (ids[np] < 0)
			TH_LOG("pattern %zu %s: %s", np, pats[np], err.msg);
		ASSERT_LE(0, ids[np]);
	}
	ASSERT_EQ(0, bb_ruleset_compile(rs));
	EXPECT_EQ(np, bb_ruleset_rule_count(rs));
	ctx = bb_match_ctx_new(rs);
	ASSERT_NE_NULL(ctx);
	for (size_t e = 0; e < MAXE && evs[e].event; e++) {
		const uint32_t *got;
		int n = bb_match_event(ctx, evs[e].event, strlen(evs[e].event), &got, &err);
		unsigned mask = 0;

		if (n < 0) {
			TH_LOG("event %s: error %s", evs[e].event, err.msg);
			EXPECT_LE(0, n);
			continue;
		}
		for (int i = 0; i < n; i++) {
			size_t p = 0;

			while (p < np && (uint32_t)ids[p] != got[i])
				p++;
			EXPECT_LT(p, np);
			if (mask & (1u << p))
				TH_LOG("event %s: rule %zu reported twice", evs[e].event, p);
			EXPECT_EQ(0, mask & (1u << p));
			mask |= 1u << p;
		}
		if (mask != evs[e].want) {
			TH_LOG("event %s: want rules 0x%x, got 0x%x", evs[e].event, evs[e].want,
			       mask);
			EXPECT_EQ(evs[e].want, mask);
		}
	}
	bb_match_ctx_free(ctx);
	bb_ruleset_free(rs);
}

FIXTURE(table)
{
	int unused;
};

FIXTURE_VARIANT(table)
{
	const char *pats[MAXP + 1];
	struct ev_case evs[MAXE + 1];
};

FIXTURE_VARIANT_ADD(table, strings) {
	.pats = {
		"{\"source\": [\"aws.ec2\"]}",
		"{\"source\": [{\"prefix\": \"aws.\"}]}",
		"{\"source\": [{\"suffix\": \".ec2\"}]}",
		"{\"source\": [{\"equals-ignore-case\": \"AWS.Ec2\"}]}",
		"{\"source\": [{\"wildcard\": \"aws.*2\"}]}",
		"{\"source\": [\"aws.s3\", \"aws.ec2\"]}",
	},
	.evs = {
		{ "{\"source\": \"aws.ec2\"}", 0x3f },
		{ "{\"source\": \"AWS.EC2\"}", 0x08 },
		{ "{\"source\": \"aws.s3\"}", 0x22 },
		{ "{\"source\": \"x.ec2\"}", 0x04 },
		{ "{\"source\": \"aws.\"}", 0x02 },
		{ "{\"source\": \"aws.2\"}", 0x12 },
		{ "{\"other\": \"aws.ec2\"}", 0 },
		{ "{\"source\": [\"x\", \"aws.ec2\"]}", 0x3f },
		{ "{\"source\": \"aws.ec2x\"}", 0x02 },
		{ "{\"source\": \"\\u0061ws.ec2\"}", 0x3f }, /* escaped in the event */
		{ "{\"source\": 1}", 0 },
		{ "{}", 0 },
	},
};

FIXTURE_VARIANT_ADD(table, numeric) {
	.pats = {
		"{\"n\": [{\"numeric\": [\">\", 0, \"<=\", 5]}]}",
		"{\"n\": [{\"numeric\": [\"=\", 5]}]}",
		"{\"n\": [5]}",
		"{\"n\": [{\"numeric\": [\"<\", 0]}]}",
		"{\"n\": [{\"numeric\": [\">=\", -1.5, \"<\", 0.25]}]}",
		"{\"n\": [\"5\"]}",
	},
	.evs = {
		{ "{\"n\": 5}", 0x07 },
		{ "{\"n\": 5.0}", 0x07 },
		{ "{\"n\": 0.5e1}", 0x07 },
		{ "{\"n\": 0}", 0x10 },
		{ "{\"n\": -0}", 0x10 },
		{ "{\"n\": -1}", 0x18 },
		{ "{\"n\": -1.5}", 0x18 },
		{ "{\"n\": -1.50001}", 0x08 },
		{ "{\"n\": 0.25}", 0x01 },
		{ "{\"n\": 5.00001}", 0 },
		{ "{\"n\": \"5\"}", 0x20 },
		{ "{\"n\": [7, 3]}", 0x01 },
		{ "{\"n\": null}", 0 },
	},
};

FIXTURE_VARIANT_ADD(table, cidr_exists) {
	.pats = {
		"{\"ip\": [{\"cidr\": \"10.0.0.0/24\"}]}",
		"{\"ip\": [{\"cidr\": \"2001:db8::/32\"}]}",
		"{\"ip\": [{\"exists\": true}]}",
		"{\"ip\": [{\"exists\": false}]}",
		"{\"ip\": [{\"cidr\": \"10.0.0.5/24\"}]}",
		"{\"ip\": [{\"exists\": false}], \"x\": [1]}",
	},
	.evs = {
		{ "{\"ip\": \"10.0.0.1\"}", 0x05 },
		{ "{\"ip\": \"10.0.0.5\"}", 0x15 },
		{ "{\"ip\": \"10.0.0.255\"}", 0x15 },
		{ "{\"ip\": \"10.0.1.0\"}", 0x04 },
		{ "{\"ip\": \"9.255.255.255\"}", 0x04 },
		{ "{\"ip\": \"2001:db8:ffff::1\"}", 0x06 },
		{ "{\"ip\": \"2001:db9::\"}", 0x04 },
		{ "{\"ip\": \"garbage\"}", 0x04 },
		{ "{\"x\": 1}", 0x28 },
		{ "{\"x\": 1, \"ip\": 5}", 0x04 },
		{ "{\"ip\": {\"a\": 1}}", 0x08 }, /* exists applies to leaves */
		{ "{\"ip\": []}", 0x08 },
		{ "{\"ip\": [\"1.1.1.1\", \"10.0.0.9\"]}", 0x15 },
		{ "{}", 0x08 },
	},
};

FIXTURE_VARIANT_ADD(table, anything_but) {
	.pats = {
		"{\"s\": [{\"anything-but\": \"a\"}]}",
		"{\"s\": [{\"anything-but\": [\"a\", \"b\"]}]}",
		"{\"s\": [{\"anything-but\": {\"prefix\": \"a\"}}]}",
		"{\"s\": [{\"anything-but\": {\"suffix\": \"z\"}}]}",
		"{\"s\": [{\"anything-but\": {\"equals-ignore-case\": [\"A\", \"B\"]}}]}",
		"{\"n\": [{\"anything-but\": [1, 2]}]}",
		"{\"s\": [{\"anything-but\": {\"wildcard\": \"a*z\"}}]}",
	},
	.evs = {
		{ "{\"s\": \"a\"}", 0x48 },
		{ "{\"s\": \"b\"}", 0x4d },
		{ "{\"s\": \"A\"}", 0x4f },
		{ "{\"s\": \"abz\"}", 0x13 },
		{ "{\"s\": \"c\"}", 0x5f },
		{ "{\"n\": 3}", 0x20 },
		{ "{\"n\": 1.0}", 0 },
		{ "{\"n\": [1, 2]}", 0 },
		{ "{\"n\": [1, 4]}", 0x20 },
		{ "{\"s\": [\"a\", \"c\"]}", 0x5f },
		{ "{\"s\": [\"a\", \"A\"]}", 0x4f },
		{ "{}", 0 },
	},
};

FIXTURE_VARIANT_ADD(table, or_nested_dotted) {
	.pats = {
		"{\"detail\": {\"state\": [\"running\"]}}",
		"{\"detail.state\": [\"running\"]}",
		"{\"$or\": [{\"a\": [\"1\"]}, {\"b\": [{\"prefix\": \"x\"}]}]}",
		"{\"source\": [\"s\"], \"$or\": [{\"detail\": {\"state\": [\"running\"]}}, "
		"{\"detail\": {\"n\": [{\"numeric\": [\">\", 10]}]}}]}",
		"{\"a\": {\"b\": {\"c\": [true]}}}",
		"{\"z\": [null]}",
	},
	.evs = {
		{ "{\"detail\": {\"state\": \"running\"}}", 0x03 },
		{ "{\"detail.state\": \"running\"}", 0x03 },
		{ "{\"a\": \"1\"}", 0x04 },
		{ "{\"b\": \"xy\"}", 0x04 },
		{ "{\"a\": \"1\", \"b\": \"xy\"}", 0x04 },
		{ "{\"a\": \"2\", \"b\": \"yx\"}", 0 },
		{ "{\"source\": \"s\", \"detail\": {\"n\": 11}}", 0x08 },
		{ "{\"source\": \"s\", \"detail\": {\"state\": \"running\", \"n\": 11}}", 0x0b },
		{ "{\"source\": \"t\", \"detail\": {\"n\": 11}}", 0 },
		{ "{\"source\": \"s\", \"detail\": {\"state\": \"stopped\", \"n\": 10}}", 0 },
		{ "{\"a\": {\"b\": {\"c\": true}}}", 0x10 },
		{ "{\"a\": {\"b\": {\"c\": \"true\"}}}", 0 },
		{ "{\"z\": null}", 0x20 },
		{ "{\"z\": \"null\"}", 0 },
	},
};

FIXTURE_VARIANT_ADD(table, arrays) {
	.pats = {
		"{\"tags\": [\"x\"]}",
		"{\"r\": {\"type\": [\"A\"], \"name\": [\"n1\"]}}",
		"{\"a\": [\"1\"], \"b\": [\"2\"]}",
		"{\"x\": {\"k\": [\"1\"]}, \"y\": {\"k\": [\"2\"]}}",
		"{\"r\": {\"type\": [\"A\"], \"s\": {\"v\": [\"1\"]}}}",
	},
	.evs = {
		{ "{\"tags\": [\"a\", \"x\"]}", 0x01 },
		{ "{\"tags\": []}", 0 },
		{ "{\"tags\": [[\"x\"]]}", 0x01 },
		{ "{\"r\": [{\"type\": \"A\", \"name\": \"n2\"}, {\"type\": \"B\", \"name\": \"n1\"}]}", 0 },
		{ "{\"r\": [{\"type\": \"B\", \"name\": \"n2\"}, {\"type\": \"A\", \"name\": \"n1\"}]}", 0x02 },
		{ "{\"r\": {\"type\": [\"B\", \"A\"], \"name\": [\"n1\"]}}", 0x02 },
		{ "{\"a\": [\"0\", \"1\"], \"b\": [\"2\", \"3\"]}", 0x04 },
		{ "{\"x\": [{\"k\": \"0\"}, {\"k\": \"1\"}], \"y\": [{\"k\": \"2\"}]}", 0x08 },
		{ "{\"x\": [{\"k\": \"2\"}], \"y\": [{\"k\": \"1\"}]}", 0 },
		{ "{\"r\": [{\"type\": \"A\", \"s\": [{\"v\": \"2\"}]}, {\"type\": \"B\", \"s\": [{\"v\": \"1\"}]}]}", 0 },
		{ "{\"r\": [{\"type\": \"A\", \"s\": [{\"v\": \"2\"}, {\"v\": \"1\"}]}]}", 0x10 },
		{ "{\"r\": [{\"type\": \"B\"}, {\"type\": \"A\", \"s\": {\"v\": \"1\"}}]}", 0x10 },
	},
};

FIXTURE_SETUP(table)
{
}

FIXTURE_TEARDOWN(table)
{
}

TEST_F(table, matches)
{
	run_table(_metadata, variant->pats, variant->evs);
}

/* --------------------------------------------------- malformed events */

FIXTURE(bad_event)
{
	struct bb_ruleset *rs;
	struct bb_match_ctx *ctx;
};

FIXTURE_VARIANT(bad_event)
{
	const char *event;
};

FIXTURE_VARIANT_ADD(bad_event, empty){ .event = "" };
FIXTURE_VARIANT_ADD(bad_event, array){ .event = "[{\"a\": \"1\"}]" };
FIXTURE_VARIANT_ADD(bad_event, string){ .event = "\"a\"" };
FIXTURE_VARIANT_ADD(bad_event, number){ .event = "1" };
FIXTURE_VARIANT_ADD(bad_event, truncated){ .event = "{\"a\": \"1\"" };
FIXTURE_VARIANT_ADD(bad_event, truncated_string){ .event = "{\"a\": \"1" };
FIXTURE_VARIANT_ADD(bad_event, missing_value){ .event = "{\"a\": }" };
FIXTURE_VARIANT_ADD(bad_event, not_json){ .event = "this is not json" };
FIXTURE_VARIANT_ADD(bad_event, single_quotes){ .event = "{'a': '1'}" };
FIXTURE_VARIANT_ADD(bad_event, leading_zero){
	.event = "{\"a\": 01}",
};
FIXTURE_VARIANT_ADD(bad_event, bare_decimal_point){
	.event = "{\"a\": 1.}",
};
FIXTURE_VARIANT_ADD(bad_event, no_integer_part){
	.event = "{\"a\": -.5}",
};
FIXTURE_VARIANT_ADD(bad_event, bad_escape){ .event = "{\"a\": \"\\q\"}" };

FIXTURE_SETUP(bad_event)
{
	const char *p = "{\"a\": [\"1\", {\"exists\": false}]}";

	self->rs = bb_ruleset_new();
	ASSERT_LE(0, bb_ruleset_add_pattern(self->rs, "r", p, strlen(p), NULL));
	ASSERT_EQ(0, bb_ruleset_compile(self->rs));
	self->ctx = bb_match_ctx_new(self->rs);
}

FIXTURE_TEARDOWN(bad_event)
{
	bb_match_ctx_free(self->ctx);
	bb_ruleset_free(self->rs);
}

TEST_F(bad_event, rejected)
{
	const uint32_t *ids;
	struct bb_error err = { "", "" };
	int n = bb_match_event(self->ctx, variant->event, strlen(variant->event), &ids, &err);

	EXPECT_EQ(-1, n);
	EXPECT_NE(0, err.msg[0]);
	/* and the context still works afterwards */
	EXPECT_EQ(1, bb_match_event(self->ctx, "{\"a\":\"1\"}", 9, &ids, NULL));
	EXPECT_EQ(-1,
		  bb_match_event(self->ctx, variant->event, strlen(variant->event), &ids, NULL));
}

/* --------------------------------------------------- compile errors */

FIXTURE(bad_pattern)
{
	struct bb_ruleset *rs;
};

FIXTURE_VARIANT(bad_pattern)
{
	const char *pattern;
	const char *reason;
};

FIXTURE_VARIANT_ADD(bad_pattern, not_json){
	.pattern = "this is not json",
	.reason = "Unrecognized token 'this': was expecting (JSON String, Number, Array, "
		  "Object or token 'null', 'true' or 'false')",
};
FIXTURE_VARIANT_ADD(bad_pattern, array){ .pattern = "[1]", .reason = "Filter is not an object" };
FIXTURE_VARIANT_ADD(bad_pattern, string){ .pattern = "\"a\"", .reason = "Filter is not an object" };
FIXTURE_VARIANT_ADD(bad_pattern, empty_array){
	.pattern = "{\"a\": []}",
	.reason = "Empty arrays are not allowed",
};
FIXTURE_VARIANT_ADD(bad_pattern, empty_object){
	.pattern = "{}",
	.reason = "Empty objects are not allowed",
};
FIXTURE_VARIANT_ADD(bad_pattern, scalar_value){
	.pattern = "{\"a\": \"x\"}",
	.reason = "\"a\" must be an object or an array",
};
FIXTURE_VARIANT_ADD(bad_pattern, unknown_operator){
	.pattern = "{\"a\": [{\"foo\": 1}]}",
	.reason = "Unrecognized match type foo",
};
FIXTURE_VARIANT_ADD(bad_pattern, bottom_top){
	.pattern = "{\"a\": [{\"numeric\": [\">\", 5, \"<\", 1]}]}",
	.reason = "Bottom must be less than top",
};
FIXTURE_VARIANT_ADD(bad_pattern, wildcard){
	.pattern = "{\"a\": [{\"wildcard\": \"a**\"}]}",
	.reason = "Consecutive wildcard characters at pos 2",
};
FIXTURE_VARIANT_ADD(bad_pattern, cidr){
	.pattern = "{\"a\": [{\"cidr\": \"10.0.0.1/33\"}]}",
	.reason = "IPv4 mask bits must be < 32",
};
FIXTURE_VARIANT_ADD(bad_pattern, or_one_branch){
	.pattern = "{\"$or\": [{\"a\": [\"1\"]}]}",
	.reason = "There must have at least 2 Objects in $or relationship.",
};

FIXTURE_SETUP(bad_pattern)
{
	self->rs = bb_ruleset_new();
}

FIXTURE_TEARDOWN(bad_pattern)
{
	bb_ruleset_free(self->rs);
}

TEST_F(bad_pattern, reason)
{
	struct bb_error err = { "", "" };
	char want[BB_ERR_MAX];

	snprintf(want, sizeof(want), "Event pattern is not valid. Reason: %s", variant->reason);
	EXPECT_EQ(-1, bb_ruleset_add_pattern(self->rs, "bad", variant->pattern,
					     strlen(variant->pattern), &err));
	EXPECT_STREQ(want, err.msg);
	EXPECT_EQ(0, bb_ruleset_rule_count(self->rs));
}

/* --------------------------------------------------- SNS attributes */

TEST(match_attributes)
{
	static const char *const pols[] = {
		"{\"store\": [\"example_corp\"]}",
		"{\"price\": [{\"numeric\": [\">=\", 100]}]}",
		"{\"price\": [100]}",
		"{\"colors\": [\"red\"]}",
		"{\"store\": [{\"prefix\": \"ex\"}], \"colors\": [{\"anything-but\": \"blue\"}]}",
	};
	static const struct ev_case atts[] = {
		{ "{\"store\": {\"Type\": \"String\", \"Value\": \"example_corp\"}}", 0x01 },
		{ "{\"price\": {\"Type\": \"Number\", \"Value\": \"100\"}}", 0x06 },
		{ "{\"price\": {\"Type\": \"Number\", \"Value\": \"1.0E2\"}}", 0x06 },
		{ "{\"price\": {\"Type\": \"Number\", \"Value\": \"99.5\"}}", 0 },
		{ "{\"price\": {\"Type\": \"String\", \"Value\": \"100\"}}", 0 },
		{ "{\"colors\": {\"Type\": \"String.Array\", \"Value\": \"[\\\"blue\\\", "
		  "\\\"red\\\"]\"}}",
		  0x08 },
		{ "{\"colors\": {\"Type\": \"String\", \"Value\": \"[\\\"red\\\"]\"}}", 0 },
		{ "{\"store\": {\"Type\": \"String\", \"Value\": \"ex\"}, "
		  "\"colors\": {\"Type\": \"String.Array\", \"Value\": \"[\\\"blue\\\", "
		  "\\\"green\\\"]\"}}",
		  0x10 },
		{ "{\"store\": {\"Type\": \"String\", \"Value\": \"ex\"}, "
		  "\"colors\": {\"Type\": \"String.Array\", \"Value\": \"[\\\"blue\\\"]\"}}",
		  0 },
		{ "{\"bin\": {\"Type\": \"Binary\", \"Value\": \"AAEC\"}}", 0 },
		{ NULL, 0 },
	};
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_match_ctx *ctx;
	struct bb_error err;
	int ids[8];
	size_t np = sizeof(pols) / sizeof(pols[0]);

	for (size_t i = 0; i < np; i++) {
		ids[i] = bb_ruleset_add_policy(rs, "p", pols[i], strlen(pols[i]),
					       BB_SCOPE_MESSAGE_ATTRIBUTES,
					       BB_API_SET_SUBSCRIPTION_ATTRIBUTES, &err);
		if (ids[i] < 0)
			TH_LOG("%s: %s", pols[i], err.msg);
		ASSERT_LE(0, ids[i]);
	}
	ASSERT_EQ(0, bb_ruleset_compile(rs));
	ctx = bb_match_ctx_new(rs);
	for (size_t e = 0; atts[e].event; e++) {
		const uint32_t *got;
		int n = bb_match_attributes(ctx, atts[e].event, strlen(atts[e].event), &got, &err);
		unsigned mask = 0;

		ASSERT_LE(0, n);
		for (int i = 0; i < n; i++)
			for (size_t p = 0; p < np; p++)
				if ((uint32_t)ids[p] == got[i])
					mask |= 1u << p;
		if (mask != atts[e].want)
			TH_LOG("attributes %s: want 0x%x got 0x%x", atts[e].event, atts[e].want,
			       mask);
		EXPECT_EQ(atts[e].want, mask);
	}
	{
		const uint32_t *got;
		const char *bad[] = { "[]", "{\"a\": 1}", "{\"a\": {\"Type\": \"String\"}}", "{" };

		for (size_t i = 0; i < 4; i++)
			EXPECT_EQ(-1, bb_match_attributes(ctx, bad[i], strlen(bad[i]), &got, &err));
	}
	bb_match_ctx_free(ctx);
	bb_ruleset_free(rs);
}

/* ------------------------------------------------------------ scale */

#define SCALE_N 20000

TEST_TIMEOUT(scale_exact_and_prefix, 120)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_match_ctx *ctx;
	int32_t *kind = xcalloc(2 * SCALE_N + 1, sizeof(*kind)); /* id -> +i exact, -i-1 prefix */
	uint8_t *want = xcalloc(2 * SCALE_N, 1);
	struct strbuf sb = STRBUF_INIT;
	unsigned seed = 12345;
	int bad = 0;

	for (int i = 0; i < SCALE_N; i++) {
		int id;

		sb_reset(&sb);
		sb_printf(&sb, "{\"detail\": {\"key\": [\"k%d\"]}}", i);
		id = bb_ruleset_add_pattern(rs, "e", sb.buf, sb.len, NULL);
		ASSERT_EQ(2 * i, id);
		sb_reset(&sb);
		sb_printf(&sb, "{\"detail\": {\"key\": [{\"prefix\": \"k%d\"}]}}", i);
		id = bb_ruleset_add_pattern(rs, "p", sb.buf, sb.len, NULL);
		ASSERT_EQ(2 * i + 1, id);
	}
	ASSERT_EQ(0, bb_ruleset_compile(rs));
	ASSERT_EQ(2 * SCALE_N, bb_ruleset_rule_count(rs));
	ctx = bb_match_ctx_new(rs);
	for (int s = 0; s < 300 && bad < 5; s++) {
		char val[32];
		const uint32_t *got;
		int n;

		seed = seed * 1103515245u + 12345u;
		switch (s % 4) {
		case 0:
			snprintf(val, sizeof(val), "k%u", (seed >> 8) % SCALE_N);
			break;
		case 1:
			snprintf(val, sizeof(val), "k%u", (seed >> 8) % (10 * SCALE_N));
			break;
		case 2:
			snprintf(val, sizeof(val), "k%ux", (seed >> 8) % SCALE_N);
			break;
		default:
			snprintf(val, sizeof(val), "%c%u", s & 4 ? 'k' : 'j', (seed >> 8) % 100);
			break;
		}
		memset(want, 0, 2 * SCALE_N);
		for (int i = 0; i < SCALE_N; i++) {
			char r[16];
			int rl = snprintf(r, sizeof(r), "k%d", i);

			want[2 * i] = !strcmp(r, val);
			want[2 * i + 1] = !strncmp(r, val, (size_t)rl);
		}
		sb_reset(&sb);
		sb_printf(&sb, "{\"id\": %d, \"detail\": {\"other\": [1, 2], \"key\": \"%s\"}}", s,
			  val);
		n = bb_match_event(ctx, sb.buf, sb.len, &got, NULL);
		ASSERT_LE(0, n);
		for (int i = 0; i < n; i++) {
			ASSERT_LT(got[i], 2 * SCALE_N);
			if (want[got[i]] != 1) {
				TH_LOG("event %s: unexpected or repeated rule %u", val, got[i]);
				bad++;
			}
			want[got[i]] = 2;
		}
		for (int i = 0; i < 2 * SCALE_N; i++)
			if (want[i] == 1) {
				TH_LOG("event %s: rule %d missing", val, i);
				bad++;
			}
	}
	EXPECT_EQ(0, bad);
	sb_free(&sb);
	free(kind);
	free(want);
	bb_match_ctx_free(ctx);
	bb_ruleset_free(rs);
}

/* ------------------------------------------------ differential test */

#define N_PATS 300
#define N_EVENTS 300

static uint64_t rs_state = 0x243F6A8885A308D3ULL;

static uint32_t rnd(uint32_t n)
{
	rs_state ^= rs_state >> 12;
	rs_state ^= rs_state << 25;
	rs_state ^= rs_state >> 27;
	return (uint32_t)(((rs_state * 0x2545F4914F6CDD1DULL) >> 33) % n);
}

static const char *const strs[] = { "x", "xy", "yx", "y", "z", "xz", "X" };
static const int nums[] = { 0, 1, 2, 5, 10 };
#define NSTRS (sizeof(strs) / sizeof(strs[0]))
#define NNUMS (sizeof(nums) / sizeof(nums[0]))

static void gen_matcher(struct strbuf *sb)
{
	switch (rnd(10)) {
	case 0:
		sb_printf(sb, "\"%s\"", strs[rnd(NSTRS)]);
		break;
	case 1:
		sb_printf(sb, "%d", nums[rnd(NNUMS)]);
		break;
	case 2:
		sb_printf(sb, "{\"prefix\": \"%s\"}", strs[rnd(NSTRS)]);
		break;
	case 3:
		sb_printf(sb, "{\"suffix\": \"%s\"}", strs[rnd(NSTRS)]);
		break;
	case 4: {
		int a = nums[rnd(NNUMS)], b;

		do
			b = nums[rnd(NNUMS)];
		while (b <= a && a != 10);
		if (a == 10)
			sb_printf(sb, "{\"numeric\": [\">=\", 10]}");
		else
			sb_printf(sb, "{\"numeric\": [\"%s\", %d, \"%s\", %d]}",
				  rnd(2) ? ">" : ">=", a, rnd(2) ? "<" : "<=", b);
		break;
	}
	case 5:
		sb_printf(sb, "{\"numeric\": [\"=\", %d]}", nums[rnd(NNUMS)]);
		break;
	case 6:
		sb_printf(sb, "{\"anything-but\": \"%s\"}", strs[rnd(NSTRS)]);
		break;
	case 7:
		sb_printf(sb, "{\"anything-but\": [%d, %d]}", nums[rnd(NNUMS)], nums[rnd(NNUMS)]);
		break;
	case 8:
		sb_printf(sb, "{\"anything-but\": {\"prefix\": \"%s\"}}", strs[rnd(NSTRS)]);
		break;
	default:
		sb_printf(sb, "{\"equals-ignore-case\": \"%s\"}", strs[rnd(NSTRS)]);
		break;
	}
}

/* Paths: a, b.c, b.d, e. Writes the fields of one branch (no braces). */
static void gen_fields(struct strbuf *sb)
{
	static const char *const keys[] = { "a", "b.c", "b.d", "e" };
	unsigned used = 0;
	int n = 1 + rnd(3), first = 1, b_open = 0;

	for (int i = 0; i < n; i++)
		used |= 1u << rnd(4);
	for (int k = 0; k < 4; k++) {
		if (!(used & (1u << k)))
			continue;
		int nested = k == 1 || k == 2;

		if (nested && !b_open) {
			sb_printf(sb, "%s\"b\": {", first ? "" : ", ");
			b_open = 1;
			first = 1;
		} else if (!nested && b_open) {
			sb_addc(sb, '}');
			b_open = 0;
		}
		sb_printf(sb, "%s\"%s\": [", first ? "" : ", ", nested ? keys[k] + 2 : keys[k]);
		first = 0;
		if (rnd(8) == 0) {
			sb_printf(sb, "{\"exists\": %s}", rnd(2) ? "true" : "false");
		} else {
			int m = 1 + rnd(2);

			for (int j = 0; j < m; j++) {
				if (j)
					sb_adds(sb, ", ");
				gen_matcher(sb);
			}
		}
		sb_addc(sb, ']');
	}
	if (b_open)
		sb_addc(sb, '}');
}

static void gen_pattern(struct strbuf *sb)
{
	sb_reset(sb);
	sb_addc(sb, '{');
	if (rnd(4) == 0) {
		int nb = 2 + rnd(2);

		sb_adds(sb, "\"$or\": [");
		for (int b = 0; b < nb; b++) {
			sb_adds(sb, b ? ", {" : "{");
			gen_fields(sb);
			sb_addc(sb, '}');
		}
		sb_addc(sb, ']');
	} else {
		gen_fields(sb);
	}
	sb_addc(sb, '}');
}

static void gen_scalar(struct strbuf *sb)
{
	switch (rnd(8)) {
	case 0:
		sb_adds(sb, "null");
		break;
	case 1:
		sb_adds(sb, rnd(2) ? "true" : "false");
		break;
	case 2:
	case 3:
		sb_printf(sb, "%d%s", nums[rnd(NNUMS)], rnd(3) ? "" : ".0");
		break;
	default:
		sb_printf(sb, "\"%s\"", strs[rnd(NSTRS)]);
		break;
	}
}

static void gen_value(struct strbuf *sb)
{
	if (rnd(3) == 0) {
		int n = rnd(4);

		sb_addc(sb, '[');
		for (int i = 0; i < n; i++) {
			if (i)
				sb_adds(sb, ", ");
			gen_scalar(sb);
		}
		sb_addc(sb, ']');
	} else {
		gen_scalar(sb);
	}
}

static void gen_b_object(struct strbuf *sb)
{
	int first = 1;

	sb_addc(sb, '{');
	if (rnd(4)) {
		sb_adds(sb, "\"c\": ");
		gen_value(sb);
		first = 0;
	}
	if (rnd(4)) {
		sb_adds(sb, first ? "\"d\": " : ", \"d\": ");
		gen_value(sb);
	}
	sb_addc(sb, '}');
}

static void gen_event(struct strbuf *sb)
{
	sb_reset(sb);
	sb_adds(sb, "{\"unused\": {\"q\": [1, {\"r\": 2}]}");
	if (rnd(4)) {
		sb_adds(sb, ", \"a\": ");
		gen_value(sb);
	}
	switch (rnd(4)) {
	case 0:
		break;
	case 1:
		sb_adds(sb, ", \"b\": ");
		gen_b_object(sb);
		break;
	case 2: {
		int n = 1 + rnd(3);

		sb_adds(sb, ", \"b\": [");
		for (int i = 0; i < n; i++) {
			if (i)
				sb_adds(sb, ", ");
			gen_b_object(sb);
		}
		sb_addc(sb, ']');
		break;
	}
	default:
		sb_adds(sb, ", \"b.c\": ");
		gen_value(sb);
		break;
	}
	if (rnd(4)) {
		sb_adds(sb, ", \"e\": ");
		gen_value(sb);
	}
	sb_addc(sb, '}');
}

TEST_TIMEOUT(differential_shared_vs_alone, 120)
{
	struct bb_ruleset *all = bb_ruleset_new();
	struct bb_ruleset **one = xcalloc(N_PATS, sizeof(*one));
	struct bb_match_ctx **one_ctx = xcalloc(N_PATS, sizeof(*one_ctx));
	struct bb_match_ctx *all_ctx;
	char **pats = xcalloc(N_PATS, sizeof(*pats));
	uint8_t *in_all = xcalloc(N_PATS, 1);
	struct strbuf sb = STRBUF_INIT;
	struct bb_error err;
	int bad = 0, hits = 0;

	for (int i = 0; i < N_PATS; i++) {
		gen_pattern(&sb);
		pats[i] = xstrndup(sb.buf, sb.len);
		if (bb_ruleset_add_pattern(all, "r", sb.buf, sb.len, &err) != i) {
			TH_LOG("pattern %s: %s", sb.buf, err.msg);
			ASSERT_TRUE(0);
		}
		one[i] = bb_ruleset_new();
		ASSERT_EQ(0, bb_ruleset_add_pattern(one[i], "r", sb.buf, sb.len, &err));
		ASSERT_EQ(0, bb_ruleset_compile(one[i]));
		one_ctx[i] = bb_match_ctx_new(one[i]);
	}
	ASSERT_EQ(0, bb_ruleset_compile(all));
	all_ctx = bb_match_ctx_new(all);
	for (int e = 0; e < N_EVENTS && bad < 10; e++) {
		const uint32_t *ids;
		int n;

		gen_event(&sb);
		n = bb_match_event(all_ctx, sb.buf, sb.len, &ids, &err);
		if (n < 0)
			TH_LOG("event %s: %s", sb.buf, err.msg);
		ASSERT_LE(0, n);
		memset(in_all, 0, N_PATS);
		for (int i = 0; i < n; i++) {
			ASSERT_LT(ids[i], N_PATS);
			EXPECT_EQ(0, in_all[ids[i]]);
			in_all[ids[i]] = 1;
		}
		hits += n;
		for (int p = 0; p < N_PATS; p++) {
			const uint32_t *ids1;
			int n1 = bb_match_event(one_ctx[p], sb.buf, sb.len, &ids1, NULL);

			ASSERT_LE(0, n1);
			ASSERT_GE(1, n1);
			if (n1 != in_all[p] && bad++ < 10)
				TH_LOG("event %s\n  pattern %s\n  alone: %d, in the full ruleset: "
				       "%d",
				       sb.buf, pats[p], n1, in_all[p]);
		}
	}
	EXPECT_EQ(0, bad);
	EXPECT_LT(N_EVENTS, hits); /* the grammar does produce matches */
	for (int i = 0; i < N_PATS; i++) {
		bb_match_ctx_free(one_ctx[i]);
		bb_ruleset_free(one[i]);
		free(pats[i]);
	}
	free(one);
	free(one_ctx);
	free(pats);
	free(in_all);
	sb_free(&sb);
	bb_match_ctx_free(all_ctx);
	bb_ruleset_free(all);
}

/* Errors name the field at fault, beside AWS's own message. */
TEST(error_names_the_field)
{
	struct bb_ruleset *rs = bb_ruleset_new();
	struct bb_error err = { "", "" };
	const char *p = "{\"detail\": {\"state\": [{\"numeric\": [\">\", 5, \"<\", 1]}]}}";

	EXPECT_EQ(-1, bb_ruleset_add_pattern(rs, "r", p, strlen(p), &err));
	EXPECT_STREQ("Event pattern is not valid. Reason: Bottom must be less than top", err.msg);
	EXPECT_STREQ("detail.state", err.path);
	p = "{\"a\": {}}";
	EXPECT_EQ(-1, bb_ruleset_add_pattern(rs, "r", p, strlen(p), &err));
	EXPECT_STREQ("a", err.path);
	p = "[1]";
	EXPECT_EQ(-1, bb_ruleset_add_pattern(rs, "r", p, strlen(p), &err));
	EXPECT_STREQ("", err.path);
	bb_ruleset_free(rs);
}

TEST_HARNESS_MAIN
